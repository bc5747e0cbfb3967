use super::*;

#[test]
fn every_class_of_coxa_is_coded_with_its_side() {
    for (id, label) in coxa_core::labels::COXA_CLASSES {
        let (l, code, left) = coded_label(id).unwrap_or_else(|| panic!("{label} has no SNOMED code"));
        assert_eq!(l, label);
        assert!(code.chars().all(|c| c.is_ascii_digit()), "{label}: {code}");
        assert_eq!(
            left,
            if label.ends_with("_left") {
                Some(true)
            } else if label.ends_with("_right") {
                Some(false)
            } else {
                None
            }
        );
    }
    assert_eq!(coded_label(78), Some(("hip_right", "118645006", Some(false))));
    assert_eq!(coded_label(25), Some(("sacrum", "54735007", None)));
    assert_eq!(coded_label(1), None);
}

#[test]
fn stable_uids_are_valid_and_depend_on_every_part() {
    let a = stable_uid(&[b"seg", b"1.2.3", b"x"]);
    assert_eq!(a, stable_uid(&[b"seg", b"1.2.3", b"x"]));
    assert_ne!(a, stable_uid(&[b"seg", b"1.2.3", b"y"]));
    assert_ne!(stable_uid(&[b"ab", b"c"]), stable_uid(&[b"a", b"bc"]));
    assert!(a.len() <= 64 && a.starts_with("2.25.") && a[5..].chars().all(|c| c.is_ascii_digit()) && !a[5..].starts_with('0'));
}

#[test]
fn dates_are_gregorian() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(19_723), (2024, 1, 1));
    assert_eq!(civil_from_days(20_510), (2026, 2, 26));
}

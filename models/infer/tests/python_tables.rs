//! The training recipe's dataset script (`python/nnunet_dataset.py`) carries coxa's class table
//! in Python: it must stay the table of `coxa_core::labels::COXA_CLASSES`, in the same order
//! (the order numbers the nnU-Net classes).

#[test]
fn the_dataset_script_has_coxas_classes() {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/nnunet_dataset.py")).unwrap();
    let start = text.find("COXA_CLASSES = [").expect("the table in the script");
    let table = &text[start..start + text[start..].find(']').unwrap()];
    let entries: Vec<(u16, String)> = table
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix('(')?.strip_suffix("),")?;
            let (id, name) = l.split_once(", ")?;
            Some((id.parse().ok()?, name.trim_matches('"').to_string()))
        })
        .collect();
    let want: Vec<(u16, String)> = coxa_core::labels::COXA_CLASSES.iter().map(|(i, n)| (*i, n.to_string())).collect();
    assert_eq!(entries, want);
}

//! The classical lesion search on a real CT (TotalSegmentator's example: 3 mm voxels, abdomen to
//! proximal femurs, a screw in the left proximal femur) with lesions inserted by the test at known
//! places; the sites, the lesions' published CT numbers and the scoring are in
//! `support/lesion_trials.rs`. The issue's figures (80 % of lesions at <= 2 false positives
//! per CT, <= 2 on the clean CT) hold on these trials (45 of 54 lesions; 80 % is 43.2). The
//! settings were chosen on other trials (seeds 100-111, sites moved by up to 4 mm; the
//! `lesion_sweep` example), so these trials are held out; on more held-out trials (200-205 and
//! 300-311, moved by up to 4 mm) the figure is 85.2 % and 82.4 %.

#[path = "support/lesion_trials.rs"]
mod lesion_trials;

use coxa_diagnostics::lesions::{LesionSettings, detect};

/// The screw in the left femur is not called a lesion: its surroundings are left out and said so.
#[test]
fn metal_is_left_out_not_called_blastic() {
    let c = lesion_trials::case();
    let d = detect(&c.ct, &c.bones, &c.names, &LesionSettings::default()).unwrap();
    assert!(d.not_searched.iter().any(|(b, ml)| b == "femur_left" && *ml > 1.0), "the screw's surroundings are left out: {:?}", d.not_searched);
    assert!(d.lesions.iter().all(|l| l.bone != "femur_left"), "{:?}", d.lesions);
    assert!(d.lesions.iter().all(|l| l.mean_hu < 2500.0));
}

/// The issue's figures: at least 80 % of the inserted lesions found at their places (centres
/// within 5 mm), at most 2 false positives per CT, at most 2 on the clean CT. On these trials
/// (held out: the settings were chosen on trials 100-111): 83.3 % (lytic 19/27, blastic
/// 26/27), 0.5 false positives per CT, none on the clean CT, centres within 2.6 mm. Each kind
/// also keeps a floor of its own (blastic 80 %, lytic 60 %), so that one kind cannot carry the
/// other.
#[test]
fn inserted_lesions_are_found_within_the_issue_figures() {
    let c = lesion_trials::case();
    let s = LesionSettings::default();
    let clean = detect(&c.ct, &c.bones, &c.names, &s).unwrap();
    assert!(clean.lesions.len() <= 2, "{} on the clean CT: {:?}", clean.lesions.len(), clean.lesions);
    let f = lesion_trials::figures(&c, &s, 6);
    eprintln!("{f:?}");
    assert!(f.false_positives as f64 / 6.0 <= 2.0, "{} false positives over 6 CTs", f.false_positives);
    assert!(f.max_error_mm() <= 5.0, "centre errors {:?}", f.errors_mm);
    assert!(f.sensitivity() >= 0.8, "sensitivity {:.2} (lytic {}/{}, blastic {}/{})", f.sensitivity(), f.found_lytic, f.lytic, f.found_blastic, f.blastic);
    assert!(f.found_blastic as f64 >= 0.8 * f.blastic as f64, "blastic {}/{}", f.found_blastic, f.blastic);
    assert!(f.found_lytic as f64 >= 0.6 * f.lytic as f64, "lytic {}/{}", f.found_lytic, f.lytic);
}

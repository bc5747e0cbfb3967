//! The stage on the built-in and the shared gait2392.

use super::*;

fn model() -> Option<PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
    if p.exists() {
        Some(p)
    } else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", p.display());
        eprintln!("note: skipping, {} is not here", p.display());
        None
    }
}

/// The CT's muscles of a left hip: the left gluteus medius at half the right's volume, both
/// gluteus maximus cut by the scan. The built-in model runs (no `model`), the record compares
/// generic and personalised strength, and the weak medius raises the abductors' demand.
#[test]
fn strength_from_the_ct_is_reported_generic_against_personalised() {
    let m = |name: &str, volume_cm3: f64, lean_fraction: f64, cut_by_scan: bool| coxa_core::anatomy_record::MuscleRecord {
        name: name.into(),
        volume_cm3,
        lean_fraction,
        cut_by_scan,
        fat_fraction: 1.0 - lean_fraction,
        label: 0,
        mean_hu: 40.0,
        n_voxels: 1000,
        sd_hu: 20.0,
        side: None,
    };
    let anatomy = [
        m("gluteus_medius_left", 120.0, 0.95, false),
        m("gluteus_medius_right", 240.0, 0.95, false),
        m("gluteus_maximus_left", 300.0, 0.9, true),
        m("gluteus_maximus_right", 350.0, 0.9, true),
        m("autochthon_left", 500.0, 0.9, true),
        m("gluteus_minimus_left", 2.0, 0.0, false),
    ];
    let ct = ct_muscles(&anatomy, true);
    assert_eq!(ct[0].len(), 2, "operated (left) side: medius and maximus; autochthon has no model line, the all-fat minimus no strength");
    let gmax = ct[0].iter().find(|m| m.class == "gluteus_maximus").unwrap();
    assert!(gmax.cut_by_scan && (gmax.other_side_lean_volume_cm3.unwrap() - 315.0).abs() < 1e-9);
    let input = MskInput { model: None, body_weight_n: 700.0, activities: vec!["one-leg-stance".into()], geometry: MskGeometry::Landmarks, walking_hip_moment: None };
    let frame = PelvicFrame::aligned_with_lps(nalgebra::Point3::origin());
    let r = run(&input, Some(180.0), &frame, &HipChange::default(), true, &ct, None).unwrap().0;
    assert!(r.model.as_deref().unwrap().contains("built into coxa"), "{:?}", r.model);
    let s = r.strength.as_ref().expect("strength from the CT");
    assert_eq!(s.lines.len(), 12, "3 medius + 3 maximus lines per side");
    assert!(s.lines.iter().any(|l| l.muscle == "glut_med1_r" && l.ct_class == "gluteus_medius_left" && l.source == "volume"));
    assert!(s.lines.iter().any(|l| l.muscle == "glut_max1_l" && l.ct_class == "gluteus_maximus_right" && l.source == "generic_times_side_ratio"));
    for c in ["gluteus_minimus_left", "iliopsoas_left", "gluteus_minimus_right", "iliopsoas_right"] {
        assert!(s.classes_not_measured.iter().any(|x| x == c), "{c}: {:?}", s.classes_not_measured);
    }
    let e = &s.effect[0];
    eprintln!("{e:?}, max abduction moment {:?} N m", s.max_abduction_moment_nm);
    assert!(e.abductor_demand_percent[1] > e.abductor_demand_percent[0] + 5.0, "{e:?}");
    assert!(s.max_abduction_moment_nm[1] < s.max_abduction_moment_nm[0]);
    assert_eq!(r.activities[0].native.magnitude_percent_bw, e.hcf_percent_bw[1], "the activities are the personalised model's");
}

/// More offset lengthens the abductors' lever and lowers the hip load; less offset the
/// opposite (the surgeon's question: does the plan weaken the abductors?).
#[test]
fn offset_moves_the_abductor_lever_and_the_hip_load() {
    let Some(m) = model() else { return };
    let input = MskInput { model: Some(m), body_weight_n: 700.0, activities: vec!["one-leg-stance".into()], geometry: MskGeometry::Landmarks, walking_hip_moment: None };
    let frame = PelvicFrame::aligned_with_lps(nalgebra::Point3::origin());
    let run_with = |offset: f64| run(&input, Some(180.0), &frame, &HipChange { offset_change_mm: offset, ..HipChange::default() }, false, &Default::default(), None).unwrap().0;
    let (plus, minus) = (run_with(5.0), run_with(-5.0));
    let arm = |v: &MskRecord| (v.abductors.native.mean_moment_arm_mm, v.abductors.planned.mean_moment_arm_mm);
    let hcf = |v: &MskRecord| (v.activities[0].native.magnitude_percent_bw, v.activities[0].planned.magnitude_percent_bw);
    eprintln!("abductor arm native {} mm; +5 mm offset {} mm; -5 mm offset {} mm", arm(&plus).0, arm(&plus).1, arm(&minus).1);
    eprintln!("one-leg stance native {} %BW; +5 {} %BW; -5 {} %BW", hcf(&plus).0, hcf(&plus).1, hcf(&minus).1);
    assert!((30.0..90.0).contains(&arm(&plus).0));
    assert!(arm(&plus).1 > arm(&plus).0 + 2.0 && arm(&minus).1 < arm(&minus).0 - 2.0);
    assert!(hcf(&plus).1 < hcf(&plus).0 && hcf(&minus).1 > hcf(&minus).0);
    assert!((150.0..600.0).contains(&hcf(&plus).0));
    // A head distance no pelvis has is refused.
    let e = run(&input, Some(30.0), &frame, &HipChange::default(), false, &Default::default(), None).unwrap_err().to_string();
    assert!(e.contains("femoral head distance"), "{e}");
}

/// `[msk] walking_hip_moment`: the walking force balances the measured moments (recorded
/// beside the force, as the posture's are without them) and drops with a smaller abductor
/// moment; one-leg stance keeps its posture's.
#[test]
fn walking_balances_the_measured_hip_moments() {
    let input = |w| MskInput { model: None, body_weight_n: 700.0, activities: vec!["one-leg-stance".into(), "walking".into()], geometry: MskGeometry::Landmarks, walking_hip_moment: w };
    let frame = PelvicFrame::aligned_with_lps(nalgebra::Point3::origin());
    let run_with = |w| run(&input(w), Some(180.0), &frame, &HipChange::default(), false, &Default::default(), None).unwrap().0;
    let posture = run_with(None);
    let given = run_with(Some(hcf::WalkingHipMoment { abductor_n_m_per_kg: 0.5, extensor_n_m_per_kg: 0.3 }));
    let (p, g) = (&posture.activities[1], &given.activities[1]);
    assert_eq!(g.activity, "walking");
    assert_eq!((g.native.net_hip_moment_n_m_per_kg[0], g.native.net_hip_moment_n_m_per_kg[1]), (0.5, 0.3));
    assert_eq!(g.planned.net_hip_moment_n_m_per_kg[..2], [0.5, 0.3]);
    assert!(p.native.net_hip_moment_n_m_per_kg[0] > 0.7, "the posture's abductor moment: {:?}", p.native.net_hip_moment_n_m_per_kg);
    assert!(g.native.magnitude_percent_bw < p.native.magnitude_percent_bw - 20.0, "{} against {}", g.native.magnitude_percent_bw, p.native.magnitude_percent_bw);
    assert_eq!(posture.activities[0], given.activities[0], "one-leg stance is not walking");
}

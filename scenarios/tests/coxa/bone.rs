//! Bone quality and the simulated radiograph (issue 22) as a user runs them: `anatomy.json`'s
//! `bone_density` and `fixation` on the real CT (its left femur holds a lag screw), and
//! `coxa xray` on the real CT with the real-CT demo's plan, to PNG and DICOM.

use std::path::Path;

use crate::cases::{coxa, ok, read_json};
use crate::common::shared_data;

/// The real CT with TotalSegmentator's labels: the internal calibration's fat and muscle, the
/// right femur's vBMD and aBMD beside the cited normal ranges, the left femur (screw) flagged
/// and not measured.
#[test]
fn real_ct_bone_density() {
    // `coxa anatomy --ct --labels`, run once for every test that reads it.
    let Some((out, _)) = crate::cases::anatomy_real_ct_with_labels() else { return };
    let j = read_json(&out.join("anatomy.json"));
    let bd = j["bone_density"].as_array().expect("bone_density");
    assert_eq!(bd.len(), 2);
    let side = |s: &str| bd.iter().find(|e| e["side"] == s).unwrap();
    let (left, right) = (side("left"), side("right"));
    eprintln!(
        "right: {}\ncalibration: {}",
        serde_json::json!({"vbmd": right["vbmd_mg_cm3"], "abmd": right["abmd_g_cm2"], "t": right["t_score"], "yam": right["yam_percent"], "category": right["category"], "flags": right["flags"], "notes": right["notes"]}),
        right["calibration"]
    );
    // The screw: flagged, nothing measured.
    assert_eq!(left["flags"], serde_json::json!(["metal"]));
    assert_eq!(left["measured"], false);
    assert!(left["abmd_g_cm2"]["neck"].is_null() && left["vbmd_mg_cm3"]["neck"].is_null() && left["category"].is_null());
    assert!(j["warnings"].to_string().contains("femur_left bone density: metal"));
    // The calibration: fat and muscle where they are in a CT, a gain near 1 HU per mg/cm³.
    let cal = &right["calibration"];
    let refs = cal["references"].as_array().unwrap();
    let hu = |t: &str| refs.iter().find(|r| r["tissue"] == t).unwrap()["median_hu"].as_f64().unwrap();
    assert!((-150.0..-60.0).contains(&hu("fat")) && (20.0..80.0).contains(&hu("muscle")), "{cal}");
    let slope = cal["slope_hu_per_mg_cm3"].as_f64().unwrap();
    assert!((0.7..1.3).contains(&slope), "{cal}");
    // The right femur: measured at the neck (the scan ends near the lesser trochanter, so it is
    // flagged cut and has no total hip), within physiological bounds, with the normal ranges.
    assert_eq!(right["measured"], true);
    assert_eq!(right["flags"], serde_json::json!(["cut"]));
    let abmd = right["abmd_g_cm2"]["neck"].as_f64().unwrap();
    let vbmd = right["vbmd_mg_cm3"]["neck"].as_f64().unwrap();
    assert!((0.2..1.4).contains(&abmd) && (50.0..700.0).contains(&vbmd), "aBMD {abmd} vBMD {vbmd}");
    let t = right["t_score"]["neck"].as_f64().unwrap();
    assert!((t - (abmd - 0.858) / 0.120).abs() < 0.02);
    assert!(right["normal_ranges"]["abmd_young_adult_g_cm2"]["neck"]["mean"].as_f64() == Some(0.858));
    assert!(right["category"].is_string() && right["yam_percent"]["neck"].is_number());
    // Fixation: one entry per femur, with its rule.
    assert_eq!(j["fixation"].as_array().unwrap().len(), 2);
}

/// `coxa xray` on the real CT with the demo's plan: a PNG and a DICOM DX image, the measures
/// beside them, the calibration ball's magnification equal to the geometry's, the cup measured
/// on the image; an existing output or a bad view is refused with exit status 2.
#[test]
fn xray_of_the_real_ct_with_its_plan() {
    let (Some(ct), Some(seg)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else { return };
    let Some(case) = crate::cases::demo_real_ct() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("ap.png");
    let base = |out: &Path, extra: &[&str]| {
        let mut a = vec!["xray", "--ct", ct.to_str().unwrap(), "--labels", seg.to_str().unwrap(), "--plan", case.to_str().unwrap(), "--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        coxa(&a)
    };
    ok(&base(&png, &["--align", "pelvis", "--centre", "hip"]));
    let m = read_json(&png.with_extension("json"));
    let plan = read_json(&case.join("plan.json"));
    // The plan's case has its landmarks: the view uses them, and says the labels went unused.
    assert_eq!(m["landmarks"], "the plan's case (anatomy/landmarks.json)");
    assert!(m["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with("--labels was not used")), "{}", m["warnings"]);
    eprintln!("{}", serde_json::to_string_pretty(&serde_json::json!({"ball": m["calibration_ball"], "cup": m["cup"], "lld": m["leg_length_difference_mm"], "sides": m["sides"]})).unwrap());
    let mag = m["calibration_ball"]["magnification"].as_f64().unwrap();
    let geo = m["geometry"]["magnification_at_hips"].as_f64().unwrap();
    assert!((mag / geo - 1.0).abs() < 0.01, "ball {mag} vs geometry {geo}");
    let inc = m["cup"]["inclination_on_radiograph_deg"].as_f64().unwrap();
    let planned = plan["cup"]["radiographic_inclination_deg"].as_f64().unwrap();
    // Aligned with the anterior pelvic plane and centred on the cup, the image's rows are the
    // pelvic transverse axis: the cup's angle to them is the plan's radiographic inclination
    // (Murray's definition is this projection). To the teardrop line, as a surgeon measures, it
    // differs by that line's tilt (coxa approximates each teardrop by the lowest rim point).
    let to_rows = m["cup"]["inclination_to_image_horizontal_deg"].as_f64().unwrap();
    let tilt = m["cup"]["teardrop_line_tilt_deg"].as_f64().unwrap();
    assert!((to_rows - planned).abs() < 1.0, "cup to the image's rows {to_rows} vs plan {planned}");
    assert!((inc - planned).abs() < 3.0, "cup on the radiograph {inc} vs plan {planned}");
    assert!(((inc - to_rows).abs() - tilt).abs() < 0.01, "to the teardrop line {inc}, to the rows {to_rows}, the line's tilt {tilt}");
    // Centred between the hips (an AP pelvis) the cup lies about 100 mm off the central ray:
    // the divergent beam tilts its rim on the image by about a degree.
    let pelvis_png = tmp.path().join("ap_pelvis.png");
    ok(&base(&pelvis_png, &["--align", "pelvis"]));
    let off_centre = read_json(&pelvis_png.with_extension("json"))["cup"]["inclination_to_image_horizontal_deg"].as_f64().unwrap();
    eprintln!("cup to the rows: centred on it {to_rows:.2} deg, off centre {off_centre:.2} deg, plan {planned}");
    assert!((off_centre - planned).abs() < 2.0 && (off_centre - to_rows).abs() > 0.2, "off centre {off_centre}, centred {to_rows}, plan {planned}");
    let dcm = tmp.path().join("ap_table.dcm");
    ok(&base(&dcm, &[]));
    let out = coxa(&["inspect", dcm.to_str().unwrap(), "--json"]);
    ok(&out);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["size"][0], 1024, "{info}");
    // Refusals: the PNG exists; an unknown view.
    let again = base(&png, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = base(&tmp.path().join("x.png"), &["--view", "oblique"]);
    assert_eq!(bad.status.code(), Some(2));
    let lat = tmp.path().join("lat.png");
    ok(&base(&lat, &["--view", "lateral-hip"]));
    assert!(lat.is_file());
}

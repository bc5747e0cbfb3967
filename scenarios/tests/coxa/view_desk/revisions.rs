//! Saved revisions against coxa plan: every earlier plan kept, the desk reopening on the revision, and the combined anteversion of a revision equal to coxa plan's with the same angles.

use super::*;

/// Save as a library call on a copy of the demo case: an earlier plan in the way is never
/// overwritten; a saved revision is what the viewer shows when the case is opened again; the
/// next save keeps the revision in `plans/` and counts on.
#[test]
fn save_keeps_every_earlier_plan_and_reopens_on_the_revision() -> Result<()> {
    use coxa_viewer::revision::{CaseStamp, current_controls, save};
    let tmp = tempfile::tempdir()?;
    let case = tmp.path().join("case");
    copy_case(crate::cases::demo_phantom(), &case);
    let (_, _, live) = coxa_viewer::load_case(&case, coxa_viewer::LoadOptions { ct: false, muscles: false, live: true })?;
    let (live, automatic) = live.expect("the demo's live model");
    let c0 = live.base_controls();
    let original = std::fs::read(case.join("plan.json"))?;
    // Something else at plans/automatic.json when the case is opened: refused, nothing written.
    std::fs::create_dir_all(case.join("plans"))?;
    std::fs::write(case.join("plans/automatic.json"), b"{}")?;
    let stamp = CaseStamp::take(&case)?;
    let e = live.evaluate(&coxa_viewer::Controls { stem_anteversion_deg: c0.stem_anteversion_deg + 5.0, ..c0 })?;
    let err = save(&case, &stamp, &automatic, &e, None).unwrap_err().to_string();
    assert!(err.contains("plans/automatic.json exists and differs") && err.contains("nothing was saved"), "{err}");
    assert_eq!(std::fs::read(case.join("plan.json"))?, original);
    assert_eq!(std::fs::read(case.join("plans/automatic.json"))?, b"{}");
    std::fs::remove_file(case.join("plans/automatic.json"))?;
    // Saved twice: revision 1 kept in plans/, plan.json revision 2; opened again, the viewer's
    // controls are revision 2's.
    let stamp = CaseStamp::take(&case)?;
    let saved = save(&case, &stamp, &automatic, &e, None)?;
    assert_eq!(saved.number, 1);
    assert_eq!(current_controls(&case, &c0), e.controls);
    // The automatic plan's cup measured by the desk: the plan's own coverage and medial wall.
    let auto_bone = automatic.bone.expect("the demo has bones");
    let auto_plan: Value = serde_json::from_slice(&original)?;
    assert_eq!(auto_plan["cup"]["coverage"].as_f64(), Some((auto_bone.coverage * 1e4).round() / 1e4), "coverage as planned");
    assert_eq!(auto_plan["cup"]["medial_wall_mm"].as_f64(), Some((auto_bone.medial_wall_mm * 100.0).round() / 100.0), "medial wall as planned");
    // Revision 2: the cup 2 mm medial and the next stem size up.
    let sizes = live.stem_sizes();
    let k = sizes.iter().position(|z| (z.0 - c0.stem_size).abs() < 1e-9).expect("the plan's size");
    let up = sizes.get(k + 1).or_else(|| sizes.get(k - 1)).expect("a neighbouring size").clone();
    let e2 = live.evaluate(&coxa_viewer::Controls { cup_shift_mm: [2.0, 0.0, 0.0], stem_size: up.0, ..e.controls })?;
    let saved2 = save(&case, &saved.stamp, &automatic, &e2, None)?;
    assert_eq!(saved2.number, 2);
    assert_eq!(std::fs::read(case.join("plans/automatic.json"))?, original);
    assert_eq!(read_json(&case.join("plans/revision-1.json"))["revision"]["number"], 1);
    assert_eq!(current_controls(&case, &c0), e2.controls);
    let plan = read_json(&case.join("plan.json"));
    let auto = read_json(&case.join("plans/automatic.json"));
    // The cup moved 2 mm medially in the pelvic frame: its centre moved 2 mm.
    let d: f64 = (0..3).map(|k| (plan["cup"]["centre_lps_mm"][k].as_f64().unwrap() - auto["cup"]["centre_lps_mm"][k].as_f64().unwrap()).powi(2)).sum::<f64>().sqrt();
    assert!((d - 2.0).abs() < 0.02, "the cup centre moved {d} mm");
    assert!(plan["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("coverage and medial wall are measured for the new cup")), "the note says what was measured again");
    // The medial wall measured again: 2 mm thinner for a cup 2 mm medial (the ray's steps are 0.25 mm).
    let wall = |p: &Value| p["cup"]["medial_wall_mm"].as_f64().unwrap();
    eprintln!("medial wall {} -> {} mm, coverage {} -> {}", wall(&auto), wall(&plan), auto["cup"]["coverage"], plan["cup"]["coverage"]);
    assert!((wall(&auto) - wall(&plan) - 2.0).abs() <= 0.3, "medial wall {} -> {} mm", wall(&auto), wall(&plan));
    assert_eq!(plan["revision"]["effect"]["medial_wall_mm"]["to"].as_f64(), Some(wall(&plan)));
    // The stem size: label, offset and the sizing table's choice; the head centre moved by the offsets' difference.
    assert_eq!(plan["stem"]["size"].as_str(), Some(up.1.as_str()));
    assert_eq!(plan["stem"]["offset_mm"].as_f64(), Some(up.2));
    let chosen: Vec<&str> = plan["stem"]["size_options"].as_array().unwrap().iter().filter(|o| o["chosen"] == true).map(|o| o["size"].as_str().unwrap()).collect();
    assert_eq!(chosen, [up.1.as_str()], "the sizing table (down, planned, up) marks the surgeon's size");
    let d_offset = (up.2 - sizes[k].2).abs();
    let moved = (e2.placement.head_centre_on_femur_lps_mm - e.placement.head_centre_on_femur_lps_mm).norm();
    assert!((moved - d_offset).abs() < 1e-9, "head moved {moved} mm for offsets {d_offset} mm apart");
    let changed: Vec<&str> = plan["revision"]["changed"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert!(changed.contains(&"stem_size") && changed.contains(&"cup_shift_medial_mm"), "{changed:?}");
    // A stale stamp (the case saved since): refused.
    let err = save(&case, &stamp, &automatic, &e, None).unwrap_err().to_string();
    assert!(err.contains("changed on disk since the viewer opened the case"), "{err}");
    assert_eq!(read_json(&case.join("plan.json"))["revision"]["number"], 2);
    Ok(())
}

/// Issue 60: a saved revision and `coxa plan` with the same choices fixed give the same combined
/// anteversion, each through `coxa_core::CombinedAnteversion`. The desk case on the real
/// CT (cup 45/15 radiographic, stem anteversion 15 deg): `plan.json` carries Widmer's
/// 15 + 0.7 x 15 = 25.5 deg (it carried 27.27, the automatic value moved by 1.0 x the stem
/// change), the report's placement the plain sum, operative cup + stem (Murray 1993:
/// atan(tan 15 / cos 45) = 20.75 deg, + 15 = 35.75 deg), and `coxa plan --cup-inclination-deg 45
/// 45 --cup-anteversion-deg 15 15 --stem-anteversion-deg 15 15` writes the same two numbers.
#[test]
fn saved_revision_has_coxa_plans_combined_anteversion() -> Result<()> {
    use coxa_viewer::revision::{CaseStamp, save};
    let Some(shared) = crate::cases::demo_real_ct() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let case = tmp.path().join("case");
    copy_case(shared, &case);
    let (_, _, live) = coxa_viewer::load_case(&case, coxa_viewer::LoadOptions { ct: false, muscles: false, live: true })?;
    let (live, automatic) = live.expect("the real CT's live model");
    let c0 = live.base_controls();
    let e = live.evaluate(&coxa_viewer::Controls { cup_inclination_deg: 45.0, cup_anteversion_deg: 15.0, stem_anteversion_deg: 15.0, ..c0 })?;
    // What a save costs now that it hashes every file the manifest lists and builds the case
    // beside it (issue 61): printed, not asserted (speed goals live in benches/desk.rs).
    let t = std::time::Instant::now();
    let stamp = CaseStamp::take(&case)?;
    let hashed_s = t.elapsed().as_secs_f64();
    save(&case, &stamp, &automatic, &e, Some(&coxa_scenarios::revision::save_hook()))?;
    let listed = read_json(&case.join("manifest.json"))["files"].as_array().map(|f| (f.len(), f.iter().filter_map(|x| x["bytes"].as_u64()).sum::<u64>())).unwrap_or_default();
    eprintln!("real-CT case, {} files, {:.1} MB: stamp {hashed_s:.2} s, save with the hook {:.2} s (this build's profile)", listed.0, listed.1 as f64 / 1e6, t.elapsed().as_secs_f64() - hashed_s);
    let (plan, report) = (read_json(&case.join("plan.json")), read_json(&case.join("report.json")));
    let side = report["side"].as_str().unwrap();

    let ct = crate::common::shared_data("totalseg/example_ct.nii.gz").expect("the real CT made the case");
    let fixed = tmp.path().join("fixed");
    let angles = ["--cup-inclination-deg", "45", "45", "--cup-anteversion-deg", "15", "15", "--stem-anteversion-deg", "15", "15"];
    let mut args = vec!["plan", "--ct", ct.to_str().unwrap(), "--side", side, "--out", fixed.to_str().unwrap()];
    args.extend(angles);
    ok(&coxa(&args));
    let (planned, planned_report) = (read_json(&fixed.join("plan.json")), read_json(&fixed.join("report.json")));

    let s = if side == "left" { coxa_core::Side::Left } else { coxa_core::Side::Right };
    let cup = coxa_core::CupAngles { definition: coxa_core::CupAngleDefinition::Radiographic, inclination: coxa_core::Angle::from_deg(45.0), anteversion: coxa_core::Angle::from_deg(15.0) };
    let want = coxa_core::CombinedAnteversion::of(&cup, s, coxa_core::Angle::from_deg(15.0));
    assert!((want.widmer_deg - 25.5).abs() < 1e-9 && (want.plain_sum_deg - 35.754).abs() < 1e-3, "{want:?}");
    let (r2, r4) = (|v: f64| (v * 100.0).round() / 100.0, |v: f64| (v * 1e4).round() / 1e4);
    eprintln!(
        "combined anteversion: revision {} / {}, coxa plan {} / {} (Widmer / plain sum)",
        plan["combined_anteversion_deg"], report["placement"]["combined_anteversion_deg"], planned["combined_anteversion_deg"], planned_report["placement"]["combined_anteversion_deg"]
    );
    for (what, p, r) in [("the revision", &plan, &report), ("coxa plan", &planned, &planned_report)] {
        assert_eq!(p["combined_anteversion_deg"].as_f64(), Some(r2(want.widmer_deg)), "{what}: plan.json's Widmer");
        assert_eq!(p["objective"]["combined_anteversion_deg"].as_f64(), Some(r4(want.widmer_deg)), "{what}: the objective's Widmer");
        assert_eq!(r["placement"]["combined_anteversion_deg"].as_f64(), Some(r2(want.plain_sum_deg)), "{what}: report.json's plain sum");
        assert_eq!(p["stem"]["anteversion_deg"].as_f64(), Some(15.0), "{what}");
    }
    // The printed labels name the definitions.
    let html = std::fs::read_to_string(case.join("report.html"))?;
    for label in [coxa_core::CombinedAnteversion::WIDMER_LABEL, coxa_core::CombinedAnteversion::PLAIN_SUM_LABEL] {
        assert!(html.contains(label), "report.html prints {label}");
    }
    Ok(())
}

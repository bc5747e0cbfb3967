//! `coxa plan` as a user runs it on the real bones of ../shared/data/vsd_bones: plan.json with
//! the keys, the same input giving the same bytes, refusals leaving everything as it was.

use anyhow::Result;

use crate::cases::coxa;

use crate::common::shared_data;

#[test]
fn plan_from_bone_surfaces_writes_plan_json_deterministically() -> Result<()> {
    let Some(dir) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let m = |n: &str, f: &str| format!("{n}={}", dir.join(f).display());
    let meshes = [m("hip_right", "z013_Hip_R.stl"), m("femur_right", "z013_Femur_R.stl"), m("hip_left", "z013_Hip_L.stl"), m("femur_left", "z013_Femur_L.stl")];
    let run = |out: &str| {
        let mut args: Vec<&str> = vec!["plan", "--side", "right", "--grid-step-deg", "5", "--out", out, "--json"];
        for x in &meshes {
            args.extend(["--mesh", x.as_str()]);
        }
        coxa(&args)
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let out = run(a.to_str().unwrap());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    for k in ["outer_diameter_mm", "radiographic_inclination_deg", "radiographic_anteversion_deg", "centre_lps_mm"] {
        assert!(!v["cup"][k].is_null(), "cup.{k} missing");
    }
    assert!(v["head"]["diameter_mm"].as_f64().is_some());
    assert!(v["stem"]["size"].as_str().is_some() && v["stem"]["anteversion_deg"].as_f64().is_some());
    for d in ["radiographic", "operative", "anatomic"] {
        assert!(v["cup"]["angles_deg"][d]["inclination_deg"].as_f64().is_some(), "{d}");
    }
    assert!(v["leg_length_change_mm"].as_f64().is_some() && v["offset_change_mm"].as_f64().is_some());
    assert!(v["objective"]["total"].as_f64().is_some() && v["objective"]["penalties"].is_object());
    let motions = v["motions"].as_array().unwrap();
    for n in ["flexion", "extension", "abduction", "adduction", "internal_rotation_90_flexion", "external_rotation_0_flexion", "sit_to_stand", "posterior_dislocation"] {
        let mm = motions.iter().find(|x| x["name"] == n).unwrap_or_else(|| panic!("{n} missing"));
        assert!(mm["limit_deg"].as_f64().is_some() && mm["contact"].as_str().is_some(), "{mm}");
    }
    // Leg length and offset within 2 mm of the targets (the left hip).
    let err = |k: &str| (v[k].as_f64().unwrap() - v["targets"][k].as_f64().unwrap()).abs();
    assert!(err("leg_length_change_mm") <= 2.0 && err("offset_change_mm") <= 2.0, "{}", v["targets"]);
    // The same input -> the same bytes.
    let out_b = run(b.to_str().unwrap());
    assert!(out_b.status.success());
    assert_eq!(std::fs::read(a.join("plan.json"))?, std::fs::read(b.join("plan.json"))?);
    // An existing folder is refused and left as it was.
    let before = std::fs::read(a.join("plan.json"))?;
    let again = run(a.to_str().unwrap());
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists") && stderr.lines().count() == 1, "{stderr}");
    assert_eq!(std::fs::read(a.join("plan.json"))?, before);
    Ok(())
}

#[test]
fn plan_refuses_bad_input_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (vec!["plan", "--out", o, "--mesh", "femur_right=/nonexistent.stl", "--mesh", "hip_right=/nonexistent2.stl"], "nonexistent"),
        (vec!["plan", "--out", o, "--cup-anteversion-deg", "NaN", "20"], "cup-anteversion-deg"),
        (vec!["plan", "--out", o, "--side", "middle"], "--side"),
    ] {
        let r = coxa(&args);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle) && stderr.lines().count() == 1, "{args:?}: {stderr}");
        assert!(!out.exists());
    }
}

/// From the real CT with TotalSegmentator's labels (../shared/data/totalseg): a complete plan
/// and the anatomy stage's output beside it. This CT stops 20 mm below the lesser trochanters
/// (no shaft, no condyles), so the femoral shaft is a guess and the condylar line predicted by the
/// shape model (without one, a guess too): the plan says so in its notes.
#[test]
fn plan_from_the_real_ct_is_complete_and_flags_the_short_femur() -> Result<()> {
    let (Some(ct), Some(labels)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("ct_plan");
    // Issue 58: `-q` on a terminal shows nothing but the result (the whole screen is plan.json).
    let r = crate::cases::coxa_on_terminal(&[
        "plan",
        "-q",
        "--ct",
        ct.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--side",
        "right",
        "--grid-step-deg",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stdout));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).map_err(|e| anyhow::anyhow!("with -q the terminal shows only plan.json: {e}: {}", String::from_utf8_lossy(&r.stdout)))?;
    assert!(out.join("plan.json").exists() && out.join("anatomy/anatomy.json").exists() && out.join("anatomy/meshes/hip_right.stl").exists());
    assert!(v["cup"]["outer_diameter_mm"].as_f64().is_some_and(|d| (40.0..=70.0).contains(&d)));
    assert_eq!(v["motions"].as_array().map(Vec::len), Some(14));
    let notes = v["notes"].to_string();
    assert!(notes.contains("shaft axis is uncertain") && notes.contains("unreliable"), "{notes}");
    // Issue 14: with the shape model installed the condylar line and the anteversion are predicted.
    if crate::shape_plan::model_installed() {
        assert_eq!(v["stem"]["native_femoral_anteversion_source"], "predicted", "{}", v["stem"]);
        assert!(notes.contains("PREDICTED") && !notes.contains("fallback x axis"), "{notes}");
    }
    Ok(())
}

/// Issue 41: `coxa plan --ct` plans a patient: the case folder `coxa demo --ct` (a `coxa run`
/// case) writes, with the same plan.json byte for byte and the same report but for the names;
/// the report, its pictures (one at a limiting motion's first contact among them) and the
/// manifest included; nothing left beside it. A plan that fails leaves no folder at all.
/// Issue 58: run on a terminal, it shows its stages as it goes, then its result; piped, a refusal
/// is its one line and nothing else.
#[test]
fn plan_from_a_ct_writes_the_whole_case_folder() -> Result<()> {
    let (Some(ct), Some(demo)) = (shared_data("totalseg/example_ct.nii.gz"), crate::cases::demo_real_ct()) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("patient");
    let r = crate::cases::coxa_on_terminal(&["plan", "--ct", ct.to_str().unwrap(), "--side", "right", "--out", out.to_str().unwrap()]);
    let screen = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{screen}");
    let at = |needle: &str| screen.find(needle).unwrap_or_else(|| panic!("the terminal shows {needle:?}: {screen}"));
    // The stages in their order, each as it begins, then the result.
    let order = [at("input"), at("anatomy (segmentation, surfaces, landmarks)"), at("range of motion over"), at("pictures"), at("report"), at(&format!("wrote {}", out.display()))];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "stages in order, then the result: {screen}");
    assert_eq!(std::fs::read(out.join("plan.json"))?, std::fs::read(demo.join("plan.json"))?, "plan.json as coxa demo --ct writes it");
    // And the time each was planned (issue 60).
    let names = |v: &mut serde_json::Value| {
        v["case"] = serde_json::Value::Null;
        v["scenario"] = serde_json::Value::Null;
        v["planned_utc"] = serde_json::Value::Null;
    };
    let (mut a, mut b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_slice(&std::fs::read(out.join("report.json"))?)?, serde_json::from_slice(&std::fs::read(demo.join("report.json"))?)?);
    names(&mut a);
    names(&mut b);
    assert_eq!(a, b, "report.json as coxa demo --ct writes it, the case's and scenario's names apart");
    for f in ["report.html", "report.pdf", "report.json", "pictures/hip_ap.png", "pictures/xray_ap.png", "model.json", "inputs.json", "case.json", "anatomy/anatomy.json", "implants/stem.stl"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let contact: Vec<_> = std::fs::read_dir(out.join("pictures"))?.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.starts_with("contact_")).collect();
    assert!(!contact.is_empty(), "a picture of the tightest motion at its first contact");
    let manifest = std::fs::read_to_string(out.join("manifest.json"))?;
    for f in ["report.pdf", "plan.json", &format!("pictures/{}", contact[0])] {
        assert!(manifest.contains(&format!("\"{f}\"")), "the manifest lists {f}");
    }
    let beside: Vec<_> = std::fs::read_dir(tmp.path())?.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    assert_eq!(beside, ["patient"], "only the case folder, no scratch beside it");

    // A CT that is not one: one line, exit 2, no folder and no scratch.
    let bad = tmp.path().join("not_a_ct.nii.gz");
    std::fs::write(&bad, b"not a NIfTI file")?;
    let failed = tmp.path().join("failed");
    let r = coxa(&["plan", "--ct", bad.to_str().unwrap(), "--side", "right", "--out", failed.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let beside: Vec<_> = std::fs::read_dir(tmp.path())?.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.contains("failed")).collect();
    assert!(beside.is_empty(), "{beside:?}");
    Ok(())
}

/// Issue 41: the report's decision gives the cup angles in the definition the surgeon names
/// (`--cup-definition`), recorded in report.json; plan.json keeps all three.
#[test]
fn plan_report_gives_the_cup_angles_in_the_chosen_definition() -> Result<()> {
    let Some(dir) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("op");
    let (hip, femur) = (format!("hip_right={}", dir.join("z013_Hip_R.stl").display()), format!("femur_right={}", dir.join("z013_Femur_R.stl").display()));
    let r = coxa(&["plan", "--mesh", &hip, "--mesh", &femur, "--grid-step-deg", "5", "--cup-definition", "operative", "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json"))?)?;
    assert_eq!(report["cup_definition"], "operative");
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("plan.json"))?)?;
    let op = &plan["cup"]["angles_deg"]["operative"];
    let html = std::fs::read_to_string(out.join("report.html"))?;
    let want = format!("{:.1}°", op["inclination_deg"].as_f64().unwrap());
    let decision = &html[..html.find("Where the hip impinges").or_else(|| html.find("Range of motion per motion")).unwrap()];
    assert!(decision.contains("operative definition") && decision.contains(&want), "page 1 gives the operative angles ({want})");
    // The planning desk opens in the plan's definition (issue 60).
    #[cfg(feature = "window")]
    {
        let (case, _, _) = coxa_viewer::load_case(&out, coxa_viewer::LoadOptions { ct: false, muscles: false, live: false })?;
        assert_eq!(case.cup_definition, Some(coxa_core::CupAngleDefinition::Operative));
    }
    Ok(())
}

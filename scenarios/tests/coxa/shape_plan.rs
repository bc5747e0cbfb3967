//! Issue 14, part 5: a femur imaged without its condyles is planned on the shape model's
//! prediction. `coxa plan` on the vsd bones with the left femur cut 50 mm below its lesser
//! trochanter: with the LLP26 model the femoral frame's rotation (neck axis, condylar line) is the
//! predicted femur's about the femur's own (assumed neutral) shaft, plan.json and the report say
//! "predicted" with the SD, and the stem version rests on it; with `--shape-model none` today's
//! assumption and warning stay.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use coxa_core::{PatientLandmarks, Side, Source};

use crate::cases::{ok, read_json};
use crate::common::{shared_data, workspace_root};

/// Whether the LLP26 model is installed where `coxa` run from the workspace finds it (outside CI
/// a missing install makes the prediction branch of a test a note; in CI it is installed).
pub fn model_installed() -> bool {
    // Issue 42: the model ships inside coxa, so it is always there.
    let found = coxa_shape::locate::locate_llp26(&[&workspace_root()]).is_some();
    assert!(found, "the LLP26 copy bundled in models/shape/llp26 is missing");
    found
}

/// Where the femur is cut, mm below its lesser trochanter. At 30 mm coxa's landmarks on this left
/// femur's 88 mm stub find no shaft below the trochanters and fit the head to the wrong surface
/// (radius 29 mm), so the socket search fails; at 50 mm the stub is a plausible hip CT's.
const CUT_BELOW_LT_MM: f64 = 50.0;

/// The vsd left femur cut [`CUT_BELOW_LT_MM`] below its lesser trochanter, written as STL; and
/// coxa's anteversion of the whole femur.
fn proximal_left_femur(vsd: &Path, out: &Path) -> Result<(PathBuf, f64)> {
    let full = coxa_io::mesh::read_stl(&vsd.join("z013_Femur_L.stl"))?;
    let l = coxa_anatomy::landmarks::femur_landmarks(&full, Side::Left)?;
    let measured = l.anteversion_deg.context("the full femur has condyles")?;
    let u = l.shaft_axis.direction_lps;
    let level = l.lesser_trochanter.lps_mm.coords.dot(&u) - CUT_BELOW_LT_MM;
    let keep: Vec<bool> = full.vertices().iter().map(|p| p.coords.dot(&u) >= level).collect();
    // The triangles wholly above the cut, over their own vertices only.
    let mut index = vec![u32::MAX; keep.len()];
    let mut vertices = Vec::new();
    let mut tris = Vec::new();
    for t in full.triangles().iter().filter(|t| t.iter().all(|&i| keep[i as usize])) {
        tris.push(t.map(|i| {
            let i = i as usize;
            if index[i] == u32::MAX {
                index[i] = vertices.len() as u32;
                vertices.push(full.vertices()[i]);
            }
            index[i]
        }));
    }
    let stl = out.join("proximal_left.stl");
    coxa_io::mesh::write_stl(&coxa_core::Mesh::new(vertices, tris)?, &stl)?;
    Ok((stl, measured))
}

#[test]
fn plan_of_a_proximal_femur_uses_the_predicted_frame() -> Result<()> {
    let Some(vsd) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let (femur, measured) = proximal_left_femur(&vsd, tmp.path())?;
    let mesh = |name: &str, file: &Path| format!("{name}={}", file.display());
    let meshes = [mesh("hip_left", &vsd.join("z013_Hip_L.stl")), mesh("hip_right", &vsd.join("z013_Hip_R.stl")), mesh("femur_left", &femur)];
    let plan = |out: &Path, extra: &[&str]| -> Result<serde_json::Value> {
        let mut args = vec!["plan", "--side", "left", "--grid-step-deg", "10", "--out", out.to_str().unwrap(), "--json"];
        for m in &meshes {
            args.extend(["--mesh", m.as_str()]);
        }
        args.extend_from_slice(extra);
        let r = Command::new(env!("CARGO_BIN_EXE_coxa")).current_dir(workspace_root()).args(&args).output()?;
        ok(&r);
        Ok(serde_json::from_slice(&r.stdout)?)
    };

    // Without a model: today's assumption and its warning.
    let none = plan(&tmp.path().join("none"), &["--shape-model", "none"])?;
    let notes = none["notes"].to_string();
    assert!(notes.contains("fallback x axis"), "{notes}");
    assert_eq!(none["stem"]["native_femoral_anteversion_source"], "not measured", "{}", none["stem"]);
    assert!(none["stem"]["native_femoral_anteversion_sd_deg"].is_null() && none["combined_anteversion_sd_deg"].is_null());

    if !model_installed() {
        eprintln!("note: the shape model is not installed (scripts/setup); the predicted plan is not tested");
        return Ok(());
    }
    let t0 = std::time::Instant::now();
    let predicted = plan(&tmp.path().join("predicted"), &[])?;
    eprintln!("plan with the prediction (debug): {:.1} s", t0.elapsed().as_secs_f64());
    let stem = &predicted["stem"];
    assert_eq!(stem["native_femoral_anteversion_source"], "predicted", "{stem}");
    let av = stem["native_femoral_anteversion_deg"].as_f64().context("a predicted native anteversion")?;
    let sd = stem["native_femoral_anteversion_sd_deg"].as_f64().context("its SD")?;
    assert!(sd > 0.5 && sd < 20.0, "SD {sd}");
    assert_eq!(stem["anteversion_sd_deg"].as_f64(), Some(sd));
    let combined_sd = predicted["combined_anteversion_sd_deg"].as_f64().context("combined SD")?;
    assert!((combined_sd - 0.7 * sd).abs() < 1e-9, "Widmer's combined anteversion carries 0.7 of the stem's SD");
    let notes = predicted["notes"].to_string();
    assert!(notes.contains("PREDICTED") && !notes.contains("fallback x axis"), "{notes}");
    // The prediction against coxa's measurement on the whole femur (tests/tests/shape_femur.rs
    // measured +1.5 deg on this femur; the issue aims for < 5 deg).
    eprintln!(
        "left femur cut 50 mm below the LT: native anteversion predicted {av:.1} +- {sd:.1} deg, measured on the whole femur {measured:.1} deg; stem version {} (without the model {}), combined {} +- {combined_sd:.1} (without {})",
        stem["anteversion_deg"], none["stem"]["anteversion_deg"], predicted["combined_anteversion_deg"], none["combined_anteversion_deg"]
    );
    assert!((av - measured).abs() < 5.0, "predicted {av:.1} vs measured {measured:.1}");
    Ok(())
}

/// The same in a scenario (the pipeline): the anatomy stage's landmarks carry the predicted
/// frame (source "predicted", condyles present), plan.json and report.html say "predicted" with
/// the SD.
#[test]
fn scenario_case_of_a_proximal_femur_reports_the_prediction() -> Result<()> {
    let Some(vsd) = shared_data("vsd_bones") else { return Ok(()) };
    if !model_installed() {
        eprintln!("note: the shape model is not installed (scripts/setup); skipped");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let (femur, _) = proximal_left_femur(&vsd, tmp.path())?;
    let file = tmp.path().join("s.toml");
    std::fs::write(
        &file,
        format!(
            "schema_version = 1\noutput_dir = \"out\"\n[[cases]]\nname = \"z013\"\nside = \"left\"\nmeshes = {{ hip_left = {:?}, hip_right = {:?}, femur_left = {:?} }}\n[report]\npictures = false\nsafe_zone_map = false\n",
            vsd.join("z013_Hip_L.stl").display().to_string(),
            vsd.join("z013_Hip_R.stl").display().to_string(),
            femur.display().to_string()
        ),
    )?;
    let r = Command::new(env!("CARGO_BIN_EXE_coxa")).current_dir(workspace_root()).args(["run", file.to_str().unwrap(), "--quiet"]).output()?;
    ok(&r);
    let case = tmp.path().join("out/cases/z013");
    let l: PatientLandmarks = serde_json::from_str(&std::fs::read_to_string(case.join("anatomy/landmarks.json"))?)?;
    let f = l.femur(Side::Left).context("femur")?;
    assert!(f.posterior_condyles.is_some() && f.anteversion_deg.is_some());
    // The shaft keeps its assumption (a stub pins its direction poorly), the rotation is predicted.
    assert_eq!((f.shaft_axis.source, f.neck_axis.source), (Source::Assumed, Source::Predicted));
    assert!(l.notes.iter().any(|n| n.starts_with("femur_left:") && n.contains("assumed in neutral")), "{:?}", l.notes);
    // The predicted femoral frame against the one of the whole femur (the CT's frame is shared).
    let full = coxa_anatomy::landmarks::femur_landmarks(&coxa_io::mesh::read_stl(&vsd.join("z013_Femur_L.stl"))?, Side::Left)?;
    let (pf, tf) = (f.femoral_frame()?, full.femoral_frame()?);
    let axis_error = |k: usize| pf.femur_from_lps.matrix().row(k).transpose().angle(&tf.femur_from_lps.matrix().row(k).transpose()).to_degrees();
    eprintln!("predicted femoral frame vs the whole femur's: mechanical axis {:.1} deg, condylar (x) axis {:.1} deg apart", axis_error(2), axis_error(0));
    // The Slicer markups flag the predicted condyles and leave out the knee points a stub lacks.
    let fcsv = std::fs::read_to_string(case.join("anatomy/landmarks/femur_left.fcsv"))?;
    assert!(fcsv.contains("PREDICTED medial posterior condyle") && fcsv.contains("PREDICTED lateral posterior condyle"), "{fcsv}");
    assert!(!fcsv.contains("MEC_L") && !fcsv.contains("P2_L"), "knee points read off a stub: {fcsv}");
    let anatomy = read_json(&case.join("anatomy/anatomy.json"));
    assert!(anatomy["landmark_files"]["notes"].to_string().contains("PREDICTED by the shape model"), "{}", anatomy["landmark_files"]);
    let plan = read_json(&case.join("plan.json"));
    assert_eq!(plan["stem"]["native_femoral_anteversion_source"], "predicted");
    let html = std::fs::read_to_string(case.join("report.html"))?;
    assert!(html.contains("PREDICTED femoral frame, SD") && html.contains("(predicted, SD"), "the report does not say predicted");
    Ok(())
}

//! The `[msk]` stage's bone geometry (issue 20, part 2) as a user runs it: `geometry = "bones"`
//! registers the model's pelvis and femurs onto the case's own bone surfaces; the record and
//! the report say so, with the residuals; a scenario that cannot have the model's bone surfaces
//! is refused at load time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Result;
use serde_json::Value;

use crate::cases::{coxa, ok, read_json};
use crate::common::shared_data;

/// The demo phantom (a left hip, so the bones are mirrored onto the model's right leg) with
/// `[msk]` on gait2392 from ../shared/data/opensim (its Geometry folder beside it).
fn scenario(dir: &Path, name: &str, model: &Path, msk_extra: &str) -> Result<std::path::PathBuf> {
    let text = format!(
        "schema_version = 1\nname = \"{name}\"\n\n[[cases]]\nname = \"p\"\nphantom = true\nside = \"left\"\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\nstem_anteversion_deg = 15\n\n[rom]\nstanding_tilt_deg = 0\nsitting_extra_tilt_deg = 20\n\n[report]\npictures = false\nsafe_zone_map = false\n\n[msk]\nmodel = {:?}\nbody_weight_n = 700\n{msk_extra}",
        model.display().to_string()
    );
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text)?;
    Ok(file)
}

/// The phantom's case run with `geometry = "bones"` and with landmark scaling (made once per
/// test run; None without gait2392 in ../shared/data): the temporary folder and the two case
/// folders (`cases/p` of each run).
pub fn phantom_msk_runs() -> Option<&'static (tempfile::TempDir, PathBuf, PathBuf)> {
    let model = shared_data("opensim/gait2392_thelen2003muscle.osim")?;
    static RUNS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    Some(RUNS.get_or_init(|| {
        let tmp = crate::cases::fixture_tempdir();
        let bones = scenario(tmp.path(), "bones", &model, "geometry = \"bones\"\n").unwrap();
        let landmarks = scenario(tmp.path(), "landmarks", &model, "").unwrap();
        let (b, l) = (tmp.path().join("bones"), tmp.path().join("landmarks"));
        for (file, out) in [(&bones, &b), (&landmarks, &l)] {
            ok(&coxa(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--yes"]));
        }
        (tmp, b.join("cases/p"), l.join("cases/p"))
    }))
}

/// `geometry = "bones"` on the phantom: every bone registered within a few millimetres, the
/// record says "bones", and both activities' hip force is finite, plausible and not the
/// landmark-scaled model's.
#[test]
fn msk_geometry_from_the_case_bones() -> Result<()> {
    let Some((_, bones_case, scaled_case)) = phantom_msk_runs() else { return Ok(()) };
    let (bones, scaled) = (read_json(&bones_case.join("report.json")), read_json(&scaled_case.join("report.json")));
    let html = std::fs::read_to_string(bones_case.join("report.html")).unwrap_or_default();
    let g = &bones["msk"]["geometry"];
    eprintln!("registration: {g}");
    assert_eq!(g["source"], "bones");
    assert_eq!(scaled["msk"]["geometry"]["source"], "landmarks");
    let registered = g["bones"].as_array().expect("bones");
    let bodies: Vec<&str> = registered.iter().map(|b| b["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["pelvis", "femur_r", "femur_l"]);
    // (the phantom's pelvis is a simplified shape: about 3 mm RMS from gait2392's; its femurs
    // below 1 mm)
    for (b, rms_bound_mm) in registered.iter().zip([4.0, 1.5, 1.5]) {
        let (rms, max, scale) = (b["rms_mm"].as_f64().unwrap(), b["max_mm"].as_f64().unwrap(), b["scale"].as_f64().unwrap());
        assert!(rms < rms_bound_mm && max < 20.0, "{b}");
        assert!((0.8..1.25).contains(&scale), "{b}");
    }
    assert!(g["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("hip_r: centre at the measured femoral head centre")), "{g}");
    for b in &registered[1..] {
        assert!(b["head_centre_offset_mm"].as_f64().unwrap() < 5.0, "the warped head lands on the measured centre: {b}");
    }
    assert_eq!(bones["msk"]["pelvis_scale"], registered[0]["scale"]);
    let hcf = |r: &Value, i: usize, state: &str| r["msk"]["activities"][i][state]["magnitude_percent_bw"].as_f64().unwrap();
    for (i, activity) in ["one-leg-stance", "walking"].iter().enumerate() {
        assert_eq!(bones["msk"]["activities"][i]["activity"], *activity);
        let (b, s) = (hcf(&bones, i, "native"), hcf(&scaled, i, "native"));
        eprintln!("{activity}: registered {b} %BW, landmark-scaled {s} %BW; planned {} against {}", hcf(&bones, i, "planned"), hcf(&scaled, i, "planned"));
        assert!(b.is_finite() && (100.0..800.0).contains(&b), "{activity} {b}");
        assert!(hcf(&bones, i, "planned").is_finite());
        // The force vector, not only its size: walking's magnitudes came within 0.1 %BW of each
        // other (366.08 and 366.16) with forces 24 %BW apart.
        let f = |r: &Value| -> Vec<f64> { r["msk"]["activities"][i]["native"]["force_femur_percent_bw"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
        let apart = f(&bones).iter().zip(f(&scaled)).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
        assert!(apart > 1.0, "{activity}: registration changes the force ({b} vs {s} %BW, {apart:.1} %BW apart)");
    }
    assert!(bones["msk"]["method"].as_str().unwrap().contains("registered onto the case's bone surfaces"));
    // askama writes an apostrophe as &#39;.
    assert!(html.contains("registered onto the patient&#39;s bone surfaces") && html.contains("<td>femur_r</td>"), "the report shows the geometry");
    Ok(())
}

/// `geometry = "bones"` with the built-in model (no bone surfaces) and an unknown geometry are
/// refused when the scenario is read: exit status 2, one line naming the fix.
#[test]
fn msk_geometry_bones_without_surfaces_is_refused() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    for (extra, needle) in [("geometry = \"bones\"\n", "bone_geometry = \"DIR\""), ("geometry = \"mesh\"\n", "use \"landmarks\" or \"bones\"")] {
        let text = format!(
            "schema_version = 1\n[[cases]]\nname = \"p\"\nphantom = true\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\nstem_anteversion_deg = 15\n[msk]\nbody_weight_n = 700\n{extra}"
        );
        let file = tmp.path().join("s.toml");
        std::fs::write(&file, text)?;
        let out = coxa(&["run", file.to_str().unwrap(), "--out", tmp.path().join("o").to_str().unwrap(), "--quiet", "--yes"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("msk.geometry") && lines[0].contains(needle), "{stderr}");
        assert!(!tmp.path().join("o").exists(), "nothing written");
    }
    Ok(())
}

/// `coxa hcf` reads its landmark files through `coxa_io::markups` (issue 40): the same points as
/// a Slicer 5 `.mrk.json`, an LPS `.fcsv` and a RAS `.fcsv` (`# CoordinateSystem = RAS`
/// honoured: x and y negated) give the same force, bit for bit, also when the pelvis and the
/// femur come in different formats. A reader that ignored the RAS header would see the femur's
/// hip centre of a RAS file on the other side of the origin from the pelvis's of an LPS file,
/// and `coxa hcf` refuses such a pair (the two files of different scans).
#[test]
fn hcf_landmarks_read_alike_from_mrk_json_lps_and_ras_fcsv() -> Result<()> {
    use coxa_io::markups::{read_markups, write_fcsv, write_mrk_json};
    let Some(lm) = shared_data("orthoload/Landmarks") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    // H2R's points (an LPS file) written three ways per bone.
    let write_three = |bone: &str| -> Result<[std::path::PathBuf; 3]> {
        let points = read_markups(&lm.join(format!("H2R_{bone}Landmarks.fcsv")))?;
        let (json, lps, ras) = (tmp.path().join(format!("{bone}.mrk.json")), tmp.path().join(format!("{bone}_lps.fcsv")), tmp.path().join(format!("{bone}_ras.fcsv")));
        write_mrk_json(&points, &json)?;
        write_fcsv(&points, &lps)?;
        let mut text = String::from("# Markups fiducial file version = 4.11\n# CoordinateSystem = RAS\n# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\n");
        for (k, c) in points.iter().enumerate() {
            text.push_str(&format!("vtkMRMLMarkupsFiducialNode_{k},{},{},{},0,0,0,1,1,0,1,{},,\n", -c.lps_mm.x, -c.lps_mm.y, c.lps_mm.z, c.label));
        }
        std::fs::write(&ras, text)?;
        assert_eq!(read_markups(&ras)?, points.iter().map(|c| coxa_io::markups::ControlPoint { description: String::new(), ..c.clone() }).collect::<Vec<_>>());
        Ok([json, lps, ras])
    };
    let (pelvis, femur) = (write_three("Pelvis")?, write_three("Femur")?);
    let force = |p: &Path, f: &Path| -> Value {
        let out =
            coxa(&["hcf", "--pelvis-landmarks", p.to_str().unwrap(), "--femur-landmarks", f.to_str().unwrap(), "--side", "R", "--body-weight-n", "767", "--activity", "one-leg-stance", "--json"]);
        ok(&out);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["hcf_percent_bw"].clone()
    };
    let reference = force(&pelvis[1], &femur[1]);
    let magnitude = reference.as_array().unwrap().iter().map(|x| x.as_f64().unwrap().powi(2)).sum::<f64>().sqrt();
    assert!((150.0..450.0).contains(&magnitude), "one-leg stance of H2R: {reference}");
    for (name, p, f) in
        [(".mrk.json", &pelvis[0], &femur[0]), ("RAS .fcsv", &pelvis[2], &femur[2]), ("LPS pelvis, RAS femur", &pelvis[1], &femur[2]), ("RAS pelvis, .mrk.json femur", &pelvis[2], &femur[0])]
    {
        assert_eq!(force(p, f), reference, "{name} against the LPS .fcsv");
    }
    // The RAS femur read as if it were LPS (its header dropped) no longer matches the pelvis.
    let ignored = tmp.path().join("femur_header_dropped.fcsv");
    std::fs::write(&ignored, std::fs::read_to_string(&femur[2])?.replace("# CoordinateSystem = RAS\n", ""))?;
    let out =
        coxa(&["hcf", "--pelvis-landmarks", pelvis[1].to_str().unwrap(), "--femur-landmarks", ignored.to_str().unwrap(), "--side", "R", "--body-weight-n", "767", "--activity", "one-leg-stance"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HJC"), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

//! Files for 3D Slicer and OpenSim (issue 18, part 5), each opened in its reference reader.

use std::path::Path;

use anyhow::Result;

use crate::cases::{coxa, ok};
use crate::common::shared_data;

fn json_of(out: &std::process::Output) -> serde_json::Value {
    ok(out);
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Labelled points of an `.fcsv` file (columns 2-4 and 12).
fn fcsv(path: &Path) -> Vec<(String, [f64; 3])> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[11].to_string(), [1, 2, 3].map(|i| c[i].parse::<f64>().unwrap()))
        })
        .collect()
}

/// `coxa anatomy ... --out A && coxa hcf --pelvis-landmarks A/landmarks/pelvis.fcsv
/// --femur-landmarks A/landmarks/femur_X.fcsv` runs end to end on real full femurs (the issue's
/// "what must hold"); the markups carry anatomy.json's head centres exactly, the `.mrk.json` the
/// same points as the `.fcsv`, and both hips give a physiological, nearly equal force.
#[test]
fn anatomy_landmarks_feed_hcf() -> Result<()> {
    let (Some(dir), Some(model)) = (shared_data("vsd_bones"), shared_data("opensim/gait2392_thelen2003muscle.osim")) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let a = tmp.path().join("A");
    let m = |n: &str, f: &str| format!("{n}={}", dir.join(f).display());
    let meshes = [m("femur_left", "z013_Femur_L.stl"), m("femur_right", "z013_Femur_R.stl"), m("hip_left", "z013_Hip_L.stl"), m("hip_right", "z013_Hip_R.stl")];
    let mut cli = vec!["anatomy", "--out", a.to_str().unwrap(), "--json"];
    for x in &meshes {
        cli.extend(["--mesh", x.as_str()]);
    }
    let anatomy = json_of(&coxa(&cli));
    let lm = a.join("landmarks");
    let pelvis = fcsv(&lm.join("pelvis.fcsv"));
    let mut magnitudes = Vec::new();
    for (side, s) in [("left", "L"), ("right", "R")] {
        let femur = fcsv(&lm.join(format!("femur_{side}.fcsv")));
        let labels: Vec<&str> = femur.iter().map(|(l, _)| l.as_str()).collect();
        for need in ["HJC", "P1", "P2", "MPC", "LPC", "MEC", "LEC"] {
            assert!(labels.contains(&format!("{need}_{s}").as_str()), "femur_{side}.fcsv lacks {need}_{s}: {labels:?}");
        }
        // The head centre of anatomy.json, bit for bit, in both files.
        let head = anatomy["femoral_heads"].as_array().unwrap().iter().find(|h| h["side"] == side).unwrap();
        let centre: Vec<f64> = head["centre_lps_mm"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let hjc = format!("HJC_{s}");
        assert_eq!(femur.iter().find(|(l, _)| *l == hjc).unwrap().1.to_vec(), centre);
        assert_eq!(pelvis.iter().find(|(l, _)| *l == hjc).unwrap().1.to_vec(), centre);
        // The .mrk.json holds the same points, in LPS.
        let mrk: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(lm.join(format!("femur_{side}.mrk.json")))?)?;
        let node = &mrk["markups"][0];
        assert_eq!(node["type"], "Fiducial");
        assert_eq!(node["coordinateSystem"], "LPS");
        let cps = node["controlPoints"].as_array().unwrap();
        assert_eq!(cps.len(), femur.len());
        for (cp, (l, p)) in cps.iter().zip(&femur) {
            assert_eq!(cp["label"].as_str().unwrap(), l);
            let q: Vec<f64> = cp["position"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(q, p.to_vec());
        }
        // The chain.
        let pf = lm.join("pelvis.fcsv");
        let ff = lm.join(format!("femur_{side}.fcsv"));
        let hcf = json_of(&coxa(&[
            "hcf",
            "--pelvis-landmarks",
            pf.to_str().unwrap(),
            "--femur-landmarks",
            ff.to_str().unwrap(),
            "--side",
            s,
            "--body-weight-n",
            "760",
            "--activity",
            "one-leg-stance",
            "--model",
            model.to_str().unwrap(),
            "--json",
        ]));
        let f: Vec<f64> = hcf["hcf_percent_bw"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let mag = hcf["magnitude_percent_bw"].as_f64().unwrap();
        // Down the femur and lateral, in the range of one-leg stance (OrthoLoad: about 230-290 %BW).
        assert!(f[2] < 0.0 && f[0] > 0.0 && (150.0..450.0).contains(&mag), "{side}: {hcf}");
        magnitudes.push(mag);
    }
    // One cadaver's two hips: nearly the same force.
    assert!((magnitudes[0] - magnitudes[1]).abs() < 0.1 * magnitudes[0], "{magnitudes:?}");
    Ok(())
}

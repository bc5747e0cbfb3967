//! Side by side with pyradiomics-bhklab 3.1.4: every feature of every case in
//! `fixtures/pyradiomics_features.json` (made by `peer/pyradiomics_features.py` on pyradiomics'
//! test images and the real CT with TotalSegmentator's labels) within 1e-4 relative, except the
//! features named in `KNOWN_DIFFERENCES` (each with its reason and bound); a case pyradiomics
//! refuses must be refused here too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use coxa_core::{LabelMap, Volume};
use coxa_diagnostics::{Params, extract};

const REL_TOL: f64 = 1e-4;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_image(path: &Path) -> anyhow::Result<Volume> {
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".nrrd") || name.ends_with(".nhdr") { coxa_io::nrrd::read_volume(path)? } else { coxa_io::nifti::read_volume(path)? })
}

fn read_mask(path: &Path) -> anyhow::Result<LabelMap> {
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".nrrd") || name.ends_with(".nhdr") { coxa_io::nrrd::read_label_map(path)? } else { coxa_io::nifti::read_label_map(path)? })
}

/// Relative difference with an absolute floor for values near zero.
fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    (a - b).abs() / a.abs().max(b.abs()).max(1e-9)
}

/// Class of a feature name (`original_glcm_Contrast` -> `glcm`).
fn class(name: &str) -> &str {
    name.split('_').nth(1).unwrap_or("")
}

#[test]
fn every_feature_equals_pyradiomics() -> anyhow::Result<()> {
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyradiomics_features.json"))?)?;
    let allowed: BTreeMap<&str, f64> = coxa_diagnostics::KNOWN_DIFFERENCES.iter().map(|(n, _, bound)| (*n, *bound)).collect();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut checked = 0usize;
    for case in fixture["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let image = root().join(case["image"].as_str().expect("image"));
        let mask = root().join(case["mask"].as_str().expect("mask"));
        if !image.exists() {
            eprintln!("{name}: {} missing, skipped", image.display());
            continue;
        }
        let params = Params::from_yaml(&case["params"].to_string())?;
        let got = extract(&read_image(&image)?, &read_mask(&mask)?, &params);
        match (case["error"].as_str(), got) {
            (Some(err), Ok(_)) => failures.push(format!("{name}: pyradiomics refused ({err}) but coxa computed features")),
            (Some(err), Err(e)) => report.push(format!("{name}: both refuse: pyradiomics `{}` / coxa `{e}`", err.lines().next().unwrap_or(""))),
            (None, Err(e)) => failures.push(format!("{name}: coxa refused: {e}")),
            (None, Ok(got)) => {
                let want: Vec<(String, f64)> = case["features"].as_array().expect("features").iter().map(|f| (f[0].as_str().expect("name").to_string(), f[1].as_f64().unwrap_or(f64::NAN))).collect();
                let got_names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
                let want_names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
                if got_names != want_names {
                    failures.push(format!("{name}: feature names/order differ:\n coxa {got_names:?}\n pyrad {want_names:?}"));
                    continue;
                }
                let mut worst: BTreeMap<&str, (f64, &str)> = BTreeMap::new();
                for ((n, g), (_, w)) in got.iter().zip(&want) {
                    checked += 1;
                    // pyradiomics' MeshVolume can come out negative (see KNOWN_DIFFERENCES); coxa's is the enclosed volume.
                    let w = if (n.ends_with("_MeshVolume") || n.ends_with("_SurfaceVolumeRatio")) && *w < 0.0 { -w } else { *w };
                    let d = if g.is_nan() && w.is_nan() { 0.0 } else { rel(*g, w) };
                    let e = worst.entry(class(n)).or_insert((0.0, ""));
                    if d > e.0 || d.is_nan() {
                        *e = (d, n);
                    }
                    let feature = n.split_once('_').map_or(n.as_str(), |x| x.1);
                    let bound = allowed.get(feature).copied().unwrap_or(REL_TOL);
                    if d.is_nan() || d > bound {
                        failures.push(format!("{name}: {n} coxa {g} pyradiomics {w} (relative {d:.2e})"));
                    }
                }
                let summary: Vec<String> = worst.iter().map(|(c, (d, n))| format!("{c} {d:.1e} ({})", n.rsplit('_').next().unwrap_or(""))).collect();
                report.push(format!("{name}: max relative difference per class: {}", summary.join(", ")));
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(checked > 500, "only {checked} features compared");
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    Ok(())
}

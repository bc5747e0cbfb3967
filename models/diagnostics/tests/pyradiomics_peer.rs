//! Side by side with pyradiomics-bhklab 3.1.4: every feature of every case in
//! `fixtures/pyradiomics_features.json` (the original image) and
//! `fixtures/pyradiomics_filtered.json` (LoG and wavelet image types), both made by
//! `peer/pyradiomics_features.py` on pyradiomics' test images and the real CT with
//! TotalSegmentator's labels, within 1e-4 relative, except the features named in
//! `KNOWN_DIFFERENCES` (each with its reason and bound); a case pyradiomics refuses must be
//! refused here too.

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

/// Image type of a feature name (`original_glcm_Contrast` -> `original`).
fn image_type(name: &str) -> &str {
    name.split('_').next().unwrap_or("")
}

#[test]
fn every_feature_equals_pyradiomics() -> anyhow::Result<()> {
    compare("pyradiomics_features.json", 500)
}

#[test]
fn every_log_and_wavelet_feature_equals_pyradiomics() -> anyhow::Result<()> {
    compare("pyradiomics_filtered.json", 6000)
}

/// Compares every case of `fixture` (in `tests/fixtures`); at least `min_checked` features.
fn compare(fixture: &str, min_checked: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture))?;
    let fixture: serde_json::Value = serde_json::from_str(&text)?;
    // The parameters again with their keys in the file's order (serde_json sorts them): the
    // image types are computed, and named, in the parameter file's order.
    let ordered: serde_norway::Value = serde_norway::from_str(&text)?;
    let ordered_params: Vec<String> = ordered["cases"].as_sequence().expect("cases").iter().map(|c| serde_norway::to_string(&c["params"])).collect::<Result<_, _>>()?;
    let allowed: BTreeMap<&str, f64> = coxa_diagnostics::KNOWN_DIFFERENCES.iter().map(|(n, _, bound)| (*n, *bound)).collect();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let mut checked = 0usize;
    for (case, params_text) in fixture["cases"].as_array().expect("cases").iter().zip(&ordered_params) {
        let name = case["name"].as_str().expect("name");
        let image = root().join(case["image"].as_str().expect("image"));
        let mask = root().join(case["mask"].as_str().expect("mask"));
        if !image.exists() {
            eprintln!("{name}: {} missing, skipped", image.display());
            continue;
        }
        let params = Params::from_yaml(params_text)?;
        let t0 = std::time::Instant::now();
        let got = extract(&read_image(&image)?, &read_mask(&mask)?, &params);
        eprintln!("{name}: {:.2} s", t0.elapsed().as_secs_f64());
        match (case["error"].as_str(), got) {
            (Some(err), Ok(_)) => failures.push(format!("{name}: pyradiomics refused ({err}) but coxa computed features")),
            (Some(err), Err(e)) => report.push(format!("{name}: both refuse: pyradiomics `{}` / coxa `{e}`", err.lines().next().unwrap_or(""))),
            (None, Err(e)) => failures.push(format!("{name}: coxa refused: {e}")),
            (None, Ok(got)) => {
                let want: Vec<(String, f64)> = case["features"].as_array().expect("features").iter().map(|f| (f[0].as_str().expect("name").to_string(), f[1].as_f64().unwrap_or(f64::NAN))).collect();
                let got_names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
                let want_names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
                if got_names != want_names {
                    let at = got_names.iter().zip(&want_names).position(|(a, b)| a != b).unwrap_or(got_names.len().min(want_names.len()));
                    failures.push(format!(
                        "{name}: feature names/order differ from #{at}: coxa {:?} ({} features), pyradiomics {:?} ({} features)",
                        got_names.get(at),
                        got_names.len(),
                        want_names.get(at),
                        want_names.len()
                    ));
                    continue;
                }
                let mut worst: BTreeMap<&str, (f64, &str)> = BTreeMap::new();
                for ((n, g), (_, w)) in got.iter().zip(&want) {
                    checked += 1;
                    // pyradiomics' MeshVolume can come out negative (crate docs); coxa reports its magnitude.
                    let w = if (n.ends_with("_MeshVolume") || n.ends_with("_SurfaceVolumeRatio")) && *w < 0.0 { -w } else { *w };
                    let d = if g.is_nan() && w.is_nan() { 0.0 } else { rel(*g, w) };
                    let e = worst.entry(image_type(n)).or_insert((0.0, ""));
                    if d > e.0 || d.is_nan() {
                        *e = (d, n);
                    }
                    let feature = n.split_once('_').map_or(n.as_str(), |x| x.1);
                    let bound = allowed.get(feature).copied().unwrap_or(REL_TOL);
                    if d.is_nan() || d > bound {
                        failures.push(format!("{name}: {n} coxa {g} pyradiomics {w} (relative {d:.2e})"));
                    }
                }
                let summary: Vec<String> = worst.iter().map(|(c, (d, n))| format!("{c} {d:.1e} ({})", n.split_once('_').map_or("", |x| x.1))).collect();
                report.push(format!("{name}: max relative difference per image type: {}", summary.join(", ")));
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > min_checked, "only {checked} features compared");
    Ok(())
}

/// The Python with pyradiomics: `$COXA_PYTHON`, else the repository's `.venv`; `None` (the test
/// skipped with a note) where it cannot import radiomics, a failure in CI.
fn pyradiomics_python() -> Option<PathBuf> {
    let python = std::env::var_os("COXA_PYTHON").map(PathBuf::from).unwrap_or_else(|| root().join(".venv/bin/python"));
    if std::process::Command::new(&python).args(["-c", "import radiomics"]).output().is_ok_and(|o| o.status.success()) {
        return Some(python);
    }
    assert!(std::env::var("CI").map_or(true, |v| v != "true" && v != "1"), "{} cannot import radiomics; run scripts/setup", python.display());
    eprintln!("note: skipping, {} cannot import radiomics", python.display());
    None
}

/// pyradiomics' marching cubes, cube by cube: every one of the 254 configurations of a single
/// 2 x 2 x 2 cube (the corners inside set by the configuration's bits), on two unequal spacings,
/// through pyradiomics' C extension (`cShape.calculate_coefficients`, run here) and through
/// coxa's derived triangulation: the same surface area and the same signed volume to rounding
/// (1e-12 of the cube's area and volume: some configurations enclose no volume). A single
/// triangle cut differently changes both by a few per cent.
#[test]
fn every_single_cube_equals_pyradiomics() -> anyhow::Result<()> {
    let Some(python) = pyradiomics_python() else { return Ok(()) };
    let spacings = [[1.0, 1.37, 1.91], [2.5, 0.7, 0.93]];
    let masks: Vec<Vec<u8>> = (1..255u32).map(|c| (0..8).map(|k| ((c >> k) & 1) as u8).collect()).collect();
    let script = "import sys, json, numpy\n\
                  from radiomics import cShape\n\
                  masks, spacings = json.load(sys.stdin)\n\
                  out = []\n\
                  for sp in spacings:\n    \
                      for m in masks:\n        \
                          a, v, _ = cShape.calculate_coefficients(numpy.array(m, dtype=bool).reshape(2, 2, 2), numpy.array(sp))\n        \
                          out.append([a, v])\n\
                  print(json.dumps(out))\n";
    let mut child = std::process::Command::new(&python).args(["-c", script]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn()?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(serde_json::to_string(&(&masks, &spacings))?.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    assert!(out.status.success(), "pyradiomics: {}", String::from_utf8_lossy(&out.stderr));
    let peer: Vec<[f64; 2]> = serde_json::from_slice(&out.stdout)?;
    assert_eq!(peer.len(), masks.len() * spacings.len());
    let mut failures = Vec::new();
    for (s, sp) in spacings.iter().enumerate() {
        for (n, m) in masks.iter().enumerate() {
            // The mask's bits are corners in [z, y, x] order: bit k is corner (k >> 2, k >> 1 & 1, k & 1).
            let mask: Vec<bool> = m.iter().map(|&b| b == 1).collect();
            let (area, volume) = coxa_diagnostics::features::shape::marching_cubes(&mask, [2, 2, 2], *sp);
            let [pa, pv] = peer[s * masks.len() + n];
            let cube_mm3 = sp[0] * sp[1] * sp[2];
            if rel(area, pa) > 1e-12 || (volume - pv).abs() > 1e-12 * cube_mm3.max(pv.abs()) {
                failures.push(format!("configuration {:#010b}, spacing {sp:?}: area coxa {area} pyradiomics {pa}, volume coxa {volume} pyradiomics {pv}", n + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cubes differ:\n{}", failures.len(), peer.len(), failures.join("\n"));
    Ok(())
}

//! `coxa radiomics` as a user runs it: the real CT with TotalSegmentator's labels into a CSV whose
//! values equal pyradiomics' (run live beside it, every feature within 1e-4, the mesh features
//! included), a JSON file, a constant image giving pyradiomics' values, and bad input (a label
//! absent, an empty mask, a mask on another grid, an existing output) giving exit status 2, one
//! clear line and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
mod stage;

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "warn").output().expect("coxa runs")
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("coxa-radiomics-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The real CT and TotalSegmentator's labels, or `None` (test skipped) where the data are absent.
fn real_ct() -> Option<(PathBuf, PathBuf)> {
    let (ct, seg) = (data("totalseg/example_ct.nii.gz"), data("totalseg/example_seg_fast_force_split.nii.gz"));
    if ct.exists() {
        Some((ct, seg))
    } else {
        eprintln!("{} missing: skipped", ct.display());
        None
    }
}

/// `coxa radiomics --image IMAGE --mask MASK EXTRA... --out OUT`.
fn radiomics(image: &Path, mask: &Path, extra: &[&str], out: &Path) -> Output {
    let mut args = vec!["radiomics", "--image", s(image), "--mask", s(mask)];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", s(out)]);
    coxa(&args)
}

/// pyradiomics-bhklab run here on `image` and `mask` with its defaults (original image, 107
/// features) for each label: `{label: {feature: value}}`, or `None` (test skipped) without the
/// peer Python.
fn pyradiomics_live(image: &Path, mask: &Path, labels: &[u16]) -> Option<serde_json::Value> {
    let py = crate::common::peer_python()?;
    let script = "import sys, json, logging, radiomics\n\
                  from radiomics import featureextractor\n\
                  radiomics.setVerbosity(logging.ERROR)\n\
                  out = {}\n\
                  for label in sys.argv[3:]:\n    \
                      ext = featureextractor.RadiomicsFeatureExtractor({'imageType': {'Original': {}}, 'setting': {'label': int(label)}})\n    \
                      r = ext.execute(sys.argv[1], sys.argv[2])\n    \
                      out[label] = {k: float(v) for k, v in r.items() if not k.startswith('diagnostics_')}\n\
                  print(json.dumps(out))\n";
    let mut cmd = Command::new(&py);
    cmd.args(["-c", script, s(image), s(mask)]);
    for l in labels {
        cmd.arg(l.to_string());
    }
    let peer = cmd.output().expect("python runs");
    assert!(peer.status.success(), "pyradiomics: {}", String::from_utf8_lossy(&peer.stderr));
    Some(serde_json::from_slice(&peer.stdout).expect("pyradiomics' JSON"))
}

/// Relative difference with a floor for values near zero.
fn relative(a: f64, b: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / a.abs().max(b.abs()).max(1e-9) }
}

/// Issue 42: all 107 default features of hip_left and gluteus_medius_left through `coxa
/// radiomics` equal pyradiomics-bhklab 3.1.4 run live on the same files within 1e-4 relative,
/// the mesh features (SurfaceArea, MeshVolume, Sphericity, SurfaceVolumeRatio) included: coxa
/// cuts the marching cubes as pyradiomics' table does.
#[test]
fn csv_of_two_labels_equals_pyradiomics() {
    let Some((ct, seg)) = real_ct() else { return };
    let dir = scratch("csv");
    let out = dir.join("features.csv");
    let o = radiomics(&ct, &seg, &["--label", "77", "--label", "gluteus_medius_left"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 3, "header and two rows");
    assert_eq!(&lines[0][..3], ["image", "label", "label_name"]);
    assert_eq!(lines[0].len(), 3 + 107);
    let Some(peer) = pyradiomics_live(&ct, &seg, &[77, 82]) else { return };
    let mut worst = (0.0f64, String::new());
    for (row, label, name) in [(1, "77", "hip_left"), (2, "82", "gluteus_medius_left")] {
        assert_eq!((lines[row][1], lines[row][2]), (label, name));
        let want = peer[label].as_object().unwrap_or_else(|| panic!("pyradiomics has no label {label}"));
        assert_eq!(want.len(), 107, "pyradiomics' default features");
        for (h, v) in lines[0].iter().zip(&lines[row]).skip(3) {
            let g: f64 = v.parse().unwrap();
            let w = want.get(*h).and_then(serde_json::Value::as_f64).unwrap_or_else(|| panic!("pyradiomics has no {h}"));
            let d = relative(g, w);
            assert!(d <= 1e-4, "{name} {h}: coxa {g} pyradiomics {w} (relative {d:.1e})");
            if d > worst.0 {
                worst = (d, format!("{name} {h}"));
            }
        }
    }
    eprintln!("hip_left and gluteus_medius_left: 214 features, worst relative difference {:.1e} ({})", worst.0, worst.1);
    // JSON, and never an overwrite
    let json = dir.join("features.json");
    let o = radiomics(&ct, &seg, &["--label", "hip_left"], &json);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["$schema"], "radiomics.schema.json");
    assert_eq!(v["rows"][0]["label"], 77);
    assert_eq!(v["rows"][0]["features"].as_object().unwrap().len(), 107);
    let before = std::fs::read(&out).unwrap();
    let o = radiomics(&ct, &seg, &["--label", "77"], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_exit_2_with_the_cause_and_write_nothing() {
    let Some((ct, seg)) = real_ct() else { return };
    let dir = scratch("bad");
    let out = dir.join("f.csv");
    let fails = |mask: &Path, extra: &[&str], why: &str| {
        let o = radiomics(&ct, mask, extra, &out);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(why), "{extra:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "nothing written");
    };
    // a label absent (as pyradiomics: "Label (90) not present in mask")
    fails(&seg, &["--label", "90"], "label 90 is not present");
    // a mask on another grid
    let other = data("totalseg/example_seg_dicom.nii.gz");
    fails(&other, &["--label", "1"], "grids differ");
    // an empty mask
    let labels = coxa_io::nifti::read_label_map(&seg).unwrap();
    let (grid, arr, classes) = labels.into_parts();
    let empty = dir.join("empty.nii.gz");
    coxa_io::nifti::write_label_map(&coxa_core::LabelMap::new(grid, arr.mapv(|_| 0), classes).unwrap(), &empty).unwrap();
    fails(&empty, &[], "empty");
    // a ROI too small for pyradiomics' minimumROISize
    let params = dir.join("p.yaml");
    std::fs::write(&params, "setting:\n  minimumROISize: 100\n").unwrap();
    fails(&seg, &["--label", "33", "--params", s(&params)], "minimumROISize");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn constant_image_gives_pyradiomics_values() {
    let Some((ct, seg)) = real_ct() else { return };
    let dir = scratch("const");
    let v = coxa_io::nifti::read_volume(&ct).unwrap();
    let (grid, arr) = v.into_parts();
    let constant = dir.join("const.nii.gz");
    coxa_io::nifti::write_volume(&coxa_core::Volume::new(grid, arr.mapv(|_| 40.0)).unwrap(), &constant).unwrap();
    let out = dir.join("f.json");
    let o = radiomics(&constant, &seg, &["--label", "77"], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let f = &v["rows"][0]["features"];
    // pyradiomics-bhklab 3.1.4 on the same constant image: Correlation 1, MCC 1, Imc1 0, Imc2 0,
    // Coarseness 1e6, Variance 0 (every value finite).
    for (name, want) in [
        ("original_glcm_Correlation", 1.0),
        ("original_glcm_MCC", 1.0),
        ("original_glcm_Imc1", 0.0),
        ("original_glcm_Imc2", 0.0),
        ("original_ngtdm_Coarseness", 1e6),
        ("original_firstorder_Variance", 0.0),
        ("original_firstorder_Mean", 40.0),
    ] {
        let got = f[name].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{name}: {got} vs {want}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `o` exited with status 2 and one line holding every `needle`, and `out` was not written.
fn refused(o: &Output, out: &Path, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(needles.iter().all(|n| err.contains(n)), "{needles:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!out.exists(), "nothing written");
}

/// pyradiomics' features of one case of the LoG/wavelet fixture, by name.
fn pyradiomics_filtered(case: &str) -> Vec<(String, f64)> {
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/diagnostics/tests/fixtures/pyradiomics_filtered.json")).unwrap()).unwrap();
    let c = f["cases"].as_array().unwrap().iter().find(|c| c["name"] == case).expect("fixture case");
    c["features"].as_array().unwrap().iter().map(|x| (x[0].as_str().unwrap().to_string(), x[1].as_f64().unwrap())).collect()
}

/// `row`'s features (columns from `first`) against pyradiomics' `want`, names and values.
fn assert_row_equals(header: &[&str], row: &[&str], first: usize, want: &[(String, f64)], what: &str) {
    assert_eq!(header.len() - first, want.len(), "{what}: feature count");
    for (k, (n, w)) in want.iter().enumerate() {
        assert_eq!(header[first + k], n, "{what}: column {k}");
        let g: f64 = row[first + k].parse().unwrap();
        assert!((g - w).abs() <= 1e-4 * w.abs().max(1e-9), "{what} {n}: coxa {g} pyradiomics {w}");
    }
}

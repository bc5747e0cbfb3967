//! `coxa radiomics` as a user runs it: the real CT with TotalSegmentator's labels into a CSV whose
//! values equal pyradiomics' (run live beside it, every feature within 1e-4, the mesh features
//! included), a JSON file, a constant image giving pyradiomics' values, and bad input (a label
//! absent, an empty mask, a mask on another grid, an existing output) giving exit status 2, one
//! clear line and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

#[test]
fn scenario_batch_gives_one_row_per_case_and_structure_equal_to_pyradiomics() {
    let Some((ct, seg)) = real_ct() else { return };
    let dir = scratch("batch");
    // pyradiomics' parameters of the fixture case ct_hip_left_log_wavelet (original, LoG, wavelet)
    let params = dir.join("params.yaml");
    std::fs::write(&params, "imageType:\n  Original: {}\n  LoG: {sigma: [3, 5.0]}\n  Wavelet: {}\n").unwrap();
    let scenario = dir.join("cohort.toml");
    std::fs::write(
        &scenario,
        format!(
            "schema_version = 1\n[[cases]]\nname = \"p01\"\nct = \"{ct}\"\nlabels = \"{seg}\"\n\n[[cases]]\nname = \"p02\"\nct = \"{ct}\"\nlabels = \"{seg}\"\n\n[[cases]]\nname = \"demo\"\nphantom = true\n",
            ct = s(&ct),
            seg = s(&seg)
        ),
    )
    .unwrap();
    let out = dir.join("all.csv");
    let o = coxa(&["radiomics", "--scenario", s(&scenario), "--label", "hip_left", "--params", s(&params), "--out", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("case demo: no CT"), "the case without a CT is named");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 3, "header and one row per case and structure");
    assert_eq!(&lines[0][..4], ["case", "image", "label", "label_name"]);
    let want = pyradiomics_filtered("ct_hip_left_log_wavelet");
    for (row, case) in [(1, "p01"), (2, "p02")] {
        assert_eq!(&lines[row][..4], [case, "example_ct.nii.gz", "77", "hip_left"]);
        assert_row_equals(&lines[0], &lines[row], 4, &want, case);
    }
    // a case without labels and without a finished run: exit 2, the case and the fix named
    let bare = dir.join("bare.toml");
    std::fs::write(&bare, format!("schema_version = 1\n[[cases]]\nname = \"p03\"\nct = \"{}\"\n", s(&ct))).unwrap();
    let out2 = dir.join("bare.csv");
    refused(&coxa(&["radiomics", "--scenario", s(&bare), "--out", s(&out2)]), &out2, &["case p03", "coxa run"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn scenario_stage_writes_each_case_and_the_run_table() {
    let dir = scratch("stage");
    let scenario = dir.join("stage.toml");
    std::fs::write(
        &scenario,
        "schema_version = 1\noutput_dir = \"out\"\n[[cases]]\nname = \"phantom\"\nphantom = true\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n\n[report]\nhtml = false\nsafe_zone_map = false\npictures = false\n\n[radiomics]\nlabels = [\"hip_right\", \"femur_right\"]\n",
    )
    .unwrap();
    let o = coxa(&["run", s(&scenario), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let case = dir.join("out/cases/phantom");
    let stage = std::fs::read_to_string(case.join("radiomics.csv")).unwrap();
    let lines: Vec<&str> = stage.lines().collect();
    assert_eq!(lines.len(), 3, "header and the two structures:\n{stage}");
    assert!(lines[0].starts_with("case,image,label,label_name,original_shape_Elongation"), "{}", lines[0]);
    assert!(lines[1].starts_with("phantom,phantom_ct.nii.gz,78,hip_right,") && lines[2].starts_with("phantom,phantom_ct.nii.gz,76,femur_right,"), "{stage}");
    // the same values as `coxa radiomics` on the case's CT and its anatomy label map
    let single = dir.join("single.csv");
    let o = coxa(&[
        "radiomics",
        "--image",
        s(&case.join("input/phantom_ct.nii.gz")),
        "--mask",
        s(&case.join("anatomy/labels.nii.gz")),
        "--label",
        "hip_right",
        "--label",
        "femur_right",
        "--out",
        s(&single),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let single = std::fs::read_to_string(&single).unwrap();
    for (a, b) in lines.iter().zip(single.lines()).skip(1) {
        let values = |l: &str| l.split(',').skip_while(|f| !f.contains('_')).skip(1).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(values(a), values(b));
    }
    // the case summary names the file, the run's table holds the case's rows
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cases"][0]["radiomics"]["file"], "radiomics.csv", "{summary}");
    assert_eq!(std::fs::read_to_string(dir.join("out/radiomics.csv")).unwrap(), stage);
    // the merge of a sharded run rebuilds the run's table from the finished cases
    std::fs::remove_file(dir.join("out/radiomics.csv")).unwrap();
    let o = coxa(&["run", s(&scenario), "--merge", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("out/radiomics.csv")).unwrap(), stage);
    // a structure coxa does not know is a scenario error with its line
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n[radiomics]\nlabels = [\"hip_middle\"]\n").unwrap();
    let o = coxa(&["run", s(&bad), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("line 6") && err.contains("radiomics.labels") && err.contains("hip_middle"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `[radiomics] model = CARD`: the stage runs the tabular model on each structure; its
/// probabilities are the ones `coxa radiomics --model` gives on the same CT and label map, and
/// they reach the case summary, report.json and report.html with the model named as a test model.
#[test]
fn the_stage_runs_a_prognosis_model_into_the_report() {
    let dir = scratch("stage_model");
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/models/prognosis_test.toml");
    let scenario = dir.join("stage.toml");
    std::fs::write(
        &scenario,
        format!(
            "schema_version = 1\noutput_dir = \"out\"\n[[cases]]\nname = \"phantom\"\nphantom = true\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n\n[report]\nsafe_zone_map = false\npictures = false\n\n[radiomics]\nlabels = [\"hip_right\", \"femur_right\"]\nmodel = {:?}\n",
            s(&card)
        ),
    )
    .unwrap();
    let o = coxa(&["run", s(&scenario), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let case = dir.join("out/cases/phantom");
    let stage = std::fs::read_to_string(case.join("radiomics.csv")).unwrap();
    let header: Vec<&str> = stage.lines().next().unwrap().split(',').collect();
    let n = header.len();
    assert_eq!(&header[n - 2..], ["probability_class_0", "probability_class_1"]);
    // the same probabilities as the command on the case's CT and label map
    let single = dir.join("single.csv");
    let o = radiomics(&case.join("input/phantom_ct.nii.gz"), &case.join("anatomy/labels.nii.gz"), &["--label", "hip_right", "--label", "femur_right", "--model", s(&card)], &single);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let probs = |text: &str| text.lines().skip(1).map(|l| l.split(',').rev().take(2).map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>()).collect::<Vec<_>>();
    let want = probs(&std::fs::read_to_string(&single).unwrap());
    assert_eq!(probs(&stage), want);
    assert!(want.iter().all(|p| (p[0] + p[1] - 1.0).abs() < 1e-5), "{want:?}");
    // the report: typed record, and the HTML section naming the test model
    let report: coxa_core::CaseReport = serde_json::from_str(&std::fs::read_to_string(case.join("report.json")).unwrap()).unwrap();
    let rad = report.radiomics.expect("report.json has the radiomics record");
    let m = rad.model.expect("and the model");
    assert!(m.test_model && m.name == "prognosis-test" && m.classes == ["class_0", "class_1"], "{m:?}");
    let names: Vec<&str> = rad.structures.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["hip_right", "femur_right"]);
    for (st, w) in rad.structures.iter().zip(&want) {
        assert_eq!(st.probabilities.iter().rev().copied().collect::<Vec<_>>(), *w, "{st:?}");
        assert!(st.volume_ml.is_some_and(|v| v > 10.0) && st.mean_hu.is_some_and(|v| v > 100.0), "{st:?}");
    }
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("<h2>Radiomics</h2>") && html.contains("P(class_1)") && html.contains("TEST MODEL, NOT FOR CLINICAL USE"), "the report's radiomics section");
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap()).unwrap();
    assert!(summary["cases"][0]["radiomics"]["model"].as_str().is_some_and(|m| m.contains("prognosis-test") && m.contains("TEST")), "{summary}");
    // a card that is not a model is a scenario error with its line, before any case runs
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, format!("schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n[radiomics]\nmodel = {:?}\n", s(&scenario))).unwrap();
    let o = coxa(&["run", s(&bad), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("line 6") && err.contains("radiomics.model"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_prognosis_model_adds_its_probabilities_and_missing_features_are_named() {
    let Some((ct, seg)) = real_ct() else { return };
    let dir = scratch("model");
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/models");
    let card = models.join("prognosis_test.toml");
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(models.join("prognosis_test_expected.json")).unwrap()).unwrap();
    let out = dir.join("p.csv");
    let o = radiomics(&ct, &seg, &["--label", "hip_left", "--model", s(&card)], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("TEST model"), "the test model says so");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let n = lines[0].len();
    assert_eq!(&lines[0][n - 2..], ["probability_class_0", "probability_class_1"]);
    // the first expected row is pyradiomics' hip_left through scikit-learn and onnxruntime
    for (k, col) in [(0, n - 2), (1, n - 1)] {
        let got: f64 = lines[1][col].parse().unwrap();
        let ort = expected["onnxruntime_probabilities"][0][k].as_f64().unwrap();
        let skl = expected["sklearn_probabilities"][0][k].as_f64().unwrap();
        assert!((got - ort).abs() <= 1e-6 && (got - skl).abs() <= 1e-5, "class {k}: coxa {got}, onnxruntime {ort}, scikit-learn {skl}");
    }
    // a table without a feature the card names: exit 2, one line naming it
    let params = dir.join("glcm.yaml");
    std::fs::write(&params, "featureClass:\n  glcm:\n").unwrap();
    let out2 = dir.join("q.csv");
    refused(&radiomics(&ct, &seg, &["--label", "77", "--params", s(&params), "--model", s(&card)], &out2), &out2, &["original_firstorder_Mean", "prognosis_test.toml"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// coxa's own masks: its bone segmentation of the real CT (the `coxa demo --ct` case's
/// `anatomy/labels.nii.gz`: both hip bones and femurs) through `coxa radiomics`, and through
/// pyradiomics-bhklab run side by side on the same two files with its defaults: every feature
/// within 1e-4 relative, the mesh features included.
#[test]
fn coxa_masks_of_the_real_ct_equal_pyradiomics_side_by_side() {
    let Some(case) = crate::cases::demo_real_ct() else { return };
    let ct = data("totalseg/example_ct.nii.gz");
    let mask = case.join("anatomy/labels.nii.gz");
    let dir = scratch("coxa_masks");
    let out = dir.join("coxa.csv");
    let labels = [("hip_left", 77), ("femur_left", 75), ("hip_right", 78), ("femur_right", 76)];
    let mut extra = Vec::new();
    for (n, _) in &labels {
        extra.extend(["--label", n]);
    }
    let o = radiomics(&ct, &mask, &extra, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let ids: Vec<u16> = labels.iter().map(|(_, l)| *l).collect();
    let Some(peer) = pyradiomics_live(&ct, &mask, &ids) else { return };
    let (mut checked, mut worst, mut failures) = (0usize, (0.0f64, String::new()), Vec::new());
    for (line, (name, label)) in lines.zip(labels) {
        let row: Vec<&str> = line.split(',').collect();
        assert_eq!(row[1], label.to_string(), "{line}");
        let want = peer[label.to_string()].as_object().unwrap_or_else(|| panic!("pyradiomics has no {name}"));
        for (h, v) in header.iter().zip(&row).skip(3) {
            let got: f64 = v.parse().unwrap();
            let w = want.get(*h).and_then(serde_json::Value::as_f64).unwrap_or_else(|| panic!("pyradiomics has no {h}"));
            // pyradiomics' signed mesh volume (coxa_diagnostics' crate docs): coxa gives its magnitude
            let w = if (h.ends_with("_MeshVolume") || h.ends_with("_SurfaceVolumeRatio")) && w < 0.0 { -w } else { w };
            let rel = relative(got, w);
            checked += 1;
            if rel > 1e-4 {
                failures.push(format!("{name} {h}: coxa {got}, pyradiomics {w} ({rel:.1e} > 1e-4)"));
            } else if rel > worst.0 {
                worst = (rel, format!("{name} {h}"));
            }
        }
    }
    eprintln!("coxa's masks vs pyradiomics: {checked} features, worst {:.1e} ({})", worst.0, worst.1);
    assert!(checked >= 4 * 100, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(dir).unwrap();
}

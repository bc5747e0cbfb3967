//! The radiomics stage in scenarios: one row per case and structure, a prognosis model in the report, coxa's masks of the real CT.

use super::*;

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

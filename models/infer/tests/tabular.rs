//! The tabular test model (`tests/models/prognosis_test.*`, made by `make_tabular_model.py`: a
//! scikit-learn StandardScaler + LogisticRegression trained on synthetic data, exported by
//! skl2onnx) run through coxa-infer: its probabilities equal scikit-learn's and onnxruntime's
//! (Python) side by side; a wrong card or a missing feature is an error naming it.

use std::path::{Path, PathBuf};

use coxa_infer::TabularModel;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models")
}

#[test]
fn probabilities_equal_scikit_learn_and_onnxruntime() -> anyhow::Result<()> {
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(models().join("prognosis_test_expected.json"))?)?;
    let mut model = TabularModel::load(&models().join("prognosis_test.toml"))?;
    assert!(model.card().test_model, "the card says it is a test model");
    assert!(model.card().description.contains("TEST MODEL"));
    let features: Vec<String> = expected["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
    assert_eq!(model.card().input.features, features);
    let rows: Vec<Vec<f32>> = expected["inputs"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()).collect();
    let got = model.predict(&rows)?;
    let (mut worst_skl, mut worst_ort) = (0.0f64, 0.0f64);
    for (i, g) in got.iter().enumerate() {
        for (c, p) in g.iter().enumerate() {
            let skl = expected["sklearn_probabilities"][i][c].as_f64().unwrap();
            let ort = expected["onnxruntime_probabilities"][i][c].as_f64().unwrap();
            worst_skl = worst_skl.max((p - skl).abs());
            worst_ort = worst_ort.max((p - ort).abs());
        }
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    }
    eprintln!("{} rows: max |coxa - scikit-learn| {worst_skl:.2e}, max |coxa - onnxruntime (Python)| {worst_ort:.2e}", rows.len());
    assert!(worst_ort <= 1e-6, "onnxruntime: {worst_ort}");
    assert!(worst_skl <= 1e-5, "scikit-learn (float64): {worst_skl}");
    // features picked from a table by name; a missing one is named
    let table: Vec<(String, f64)> = features.iter().enumerate().map(|(i, f)| (f.clone(), f64::from(rows[0][i]))).rev().collect();
    assert_eq!(model.row_from(&table)?, rows[0]);
    let err = model.row_from(&table[1..]).unwrap_err().to_string();
    assert!(err.contains(&features[0]) && err.contains("prognosis_test.toml"), "{err}");
    Ok(())
}

#[test]
fn a_wrong_card_is_named() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let card = std::fs::read_to_string(models().join("prognosis_test.toml"))?;
    std::fs::copy(models().join("prognosis_test.onnx"), dir.path().join("prognosis_test.onnx"))?;
    for (edit, want) in [
        (card.replace("name = \"features\"", "name = \"x\""), "no input named \"x\""),
        (card.replace("task = \"tabular-classification\"", "task = \"segmentation\""), "task"),
        (card.replace("sha256 = \"", "sha256 = \"0"), "SHA-256"),
    ] {
        let p = dir.path().join("card.toml");
        std::fs::write(&p, edit)?;
        let err = TabularModel::load(&p).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
    Ok(())
}

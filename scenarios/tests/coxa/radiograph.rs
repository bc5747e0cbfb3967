//! `coxa radiograph` (issue 22 part 4) as a user runs it, on coxa's own simulated radiograph of
//! the real CT (`coxa xray ... --out ap.dcm`, a 16-bit DX) and on a MONOCHROME1 copy of it written
//! with pydicom: the pixels coxa reads equal pydicom's, the spacing at the patient is the
//! detector's over the file's magnification, and the three X-ray test models' outputs equal
//! onnxruntime (Python) run on pydicom's pixels with the same preprocessing written with Pillow.
//! A 16-bit PNG of the same image with `--pixel-spacing-mm` gives the same predictions.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::cases::{coxa, ok, read_json};
use crate::common::{peer_python, shared_data};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn card(name: &str) -> PathBuf {
    root().join(format!("models/infer/tests/models/{name}.toml"))
}

fn f32s(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// pydicom's modality and presentation values of `file` (radiograph_peer.py dump).
fn pydicom_dump(py: &Path, file: &Path) -> (Vec<f32>, Vec<f32>) {
    let prefix = file.with_extension("peer");
    let out = Command::new(py).arg(root().join("models/io/tests/radiograph_peer.py")).arg("dump").arg(file).arg(&prefix).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let peer_file = |what: &str| PathBuf::from(format!("{}.{what}.f32", prefix.display()));
    (f32s(&peer_file("values")), f32s(&peer_file("presentation")))
}

/// onnxruntime (Python) with the Pillow/numpy preprocessing on `presentation` (rows x cols).
fn peer_output(py: &Path, card: &Path, presentation: &[f32], rows: usize, cols: usize, spacing: [f64; 2]) -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("img.f32");
    std::fs::write(&raw, presentation.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let out = Command::new(py)
        .arg(root().join("models/infer/tests/peer_xray.py"))
        .arg(card)
        .arg(&raw)
        .args([rows.to_string(), cols.to_string(), spacing[0].to_string(), spacing[1].to_string()])
        .arg(dir.path().join("x.f32"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    j["output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn radiograph_models_on_coxa_drr_equal_pydicom_and_onnxruntime() {
    let (Some(ct), Some(seg)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else { return };
    let Some(py) = peer_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dcm = tmp.path().join("ap.dcm");
    ok(&coxa(&["xray", "--ct", ct.to_str().unwrap(), "--labels", seg.to_str().unwrap(), "--size", "512", "--pixel-mm", "0.8", "--out", dcm.to_str().unwrap()]));
    // A MONOCHROME1 copy: stored values inverted, the window moved with them, INVERSE shape.
    let mono1 = tmp.path().join("ap_mono1.dcm");
    let code = format!(
        "import pydicom, numpy as np\nds = pydicom.dcmread({:?})\na = ds.pixel_array.astype(np.int64)\nds.PixelData = (65535 - a).astype('<u2').tobytes()\n\
         s, b = float(ds.RescaleSlope), float(ds.RescaleIntercept)\nds.WindowCenter = str(round(65535 * s + 2 * b - float(ds.WindowCenter) + 1, 4))\n\
         ds.PhotometricInterpretation = 'MONOCHROME1'\nds.PresentationLUTShape = 'INVERSE'\nds.save_as({:?})\n",
        dcm.display().to_string(),
        mono1.display().to_string()
    );
    assert!(Command::new(&py).args(["-c", &code]).status().unwrap().success());
    let models = ["xray_fracture_test", "xray_kl_test", "xray_bmd_test"];
    let mut results = Vec::new();
    for file in [&dcm, &mono1] {
        let xr = coxa_io::radiograph::read_radiograph(file, &coxa_io::radiograph::RadiographOptions::new()).unwrap();
        let (values, pres) = pydicom_dump(&py, file);
        let dv = max_abs(xr.values.as_slice().unwrap(), &values);
        let dp = max_abs(xr.presentation.as_slice().unwrap(), &pres);
        eprintln!("{}: {}x{} {}: max |coxa - pydicom| values {dv:.2e}, presentation {dp:.2e}", file.file_name().unwrap().to_string_lossy(), xr.info.cols, xr.info.rows, xr.info.photometric);
        assert!(dv <= 1e-3 && dp <= 1e-6, "values {dv}, presentation {dp}");
        // coxa xray's window is the image's range in output units (mm of water): the picture
        // spans black to white.
        let (lo, hi) = xr.presentation.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(lo < 0.01 && hi > 0.99, "presentation range {lo}..{hi}");
        let out = file.with_extension("models.json");
        let mut args = vec!["radiograph".to_string(), "--image".into(), file.display().to_string(), "--out".into(), out.display().to_string()];
        for m in models {
            args.extend(["--model".into(), card(m).display().to_string()]);
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = coxa(&a);
        ok(&o);
        assert!(String::from_utf8_lossy(&o.stdout).contains("TEST MODEL"));
        let r = read_json(&out);
        let sp = &r["image"]["spacing"];
        let m = sp["magnification"].as_f64().unwrap();
        assert_eq!(sp["detector_mm"][0].as_f64(), Some(0.8));
        assert!((sp["patient_mm"][0].as_f64().unwrap() - 0.8 / m).abs() < 1e-9 && m > 1.05 && m < 1.5, "{sp}");
        assert_eq!(r["image"]["info"]["modality"], "DX");
        let (rows, cols) = (xr.info.rows, xr.info.cols);
        for (k, name) in models.iter().enumerate() {
            let pm = &r["models"][k];
            assert_eq!((pm["model"].as_str(), pm["version"].as_str(), pm["test_model"].as_bool()), (Some(*name), Some("0.1.0"), Some(true)));
            let plane = pm["plane"].as_str().unwrap();
            let s = if plane == "patient" { sp["patient_mm"].clone() } else { sp["detector_mm"].clone() };
            let spacing = [s[0].as_f64().unwrap(), s[1].as_f64().unwrap()];
            let peer = peer_output(&py, &card(name), &pres, rows, cols, spacing);
            let ours: Vec<f64> = pm["raw_output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let d = ours.iter().zip(&peer).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            eprintln!("  {name} ({plane}): coxa {ours:.5?} onnxruntime {peer:.5?}: max diff {d:.2e}");
            assert!(d <= 1e-5, "{name}: {d}");
        }
        assert!(r["models"][2]["bone_density"]["neck_abmd"]["yam_percent"].is_number());
        results.push(r);
    }
    // The MONOCHROME1 copy shows the same picture: the predictions agree to the window's rounding.
    let raw = |m: &Value| -> Vec<f64> { m["raw_output"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    for (k, (ma, mb)) in results[0]["models"].as_array().unwrap().iter().zip(results[1]["models"].as_array().unwrap()).enumerate() {
        let (a, b) = (raw(ma), raw(mb));
        let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs() / x.abs().max(1.0)).fold(0.0, f64::max);
        eprintln!("MONOCHROME2 vs MONOCHROME1 copy, model {k}: relative difference {d:.2e}");
        assert!(d < 1e-3, "{a:?} vs {b:?}");
    }
    // A 16-bit PNG of the presentation values with the spacing and magnification given: the
    // same predictions to the 16-bit quantisation.
    let png = tmp.path().join("ap16.png");
    let code = format!(
        "import numpy as np; from PIL import Image\np = np.fromfile({:?}, dtype='<f4').reshape({}, {})\nImage.fromarray(np.round(p * 65535).astype(np.uint16)).save({:?})\n",
        dcm.with_extension("peer.presentation.f32").display().to_string(),
        results[0]["image"]["info"]["rows"],
        results[0]["image"]["info"]["cols"],
        png.display().to_string()
    );
    assert!(Command::new(&py).args(["-c", &code]).status().unwrap().success());
    let m = results[0]["image"]["spacing"]["magnification"].as_f64().unwrap().to_string();
    let out = tmp.path().join("png.json");
    ok(&coxa(&[
        "radiograph",
        "--image",
        png.to_str().unwrap(),
        "--pixel-spacing-mm",
        "0.8",
        "--magnification",
        &m,
        "--model",
        card("xray_bmd_test").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = read_json(&out);
    let (a, b) = (r["models"][0]["raw_output"][0].as_f64().unwrap(), results[0]["models"][2]["raw_output"][0].as_f64().unwrap());
    eprintln!("PNG vs DICOM, neck_abmd: {a:.6} vs {b:.6}");
    assert!((a - b).abs() < 1e-4);
    // Without a model: the radiograph described (no patient identity in the record).
    let describe = tmp.path().join("describe.json");
    ok(&coxa(&["radiograph", "--image", mono1.to_str().unwrap(), "--out", describe.to_str().unwrap()]));
    let d = read_json(&describe);
    assert_eq!(d["models"].as_array().map(Vec::len), Some(0));
    assert_eq!(d["image"]["info"]["photometric"], "MONOCHROME1");
    assert_eq!(d["image"]["info"]["inverted"], true);
    assert!(!std::fs::read_to_string(&describe).unwrap().contains("PatientName"));
    // The records match their schemas: `coxa radiograph`'s (radiograph.schema.json) and `coxa
    // xray`'s measures beside its image (xray.schema.json).
    let schemas = root().join("schemas");
    let pairs = vec![
        (schemas.join("radiograph.schema.json"), dcm.with_extension("models.json")),
        (schemas.join("radiograph.schema.json"), describe.clone()),
        (schemas.join("radiograph.schema.json"), out.clone()),
        (schemas.join("xray.schema.json"), dcm.with_extension("json")),
    ];
    for (_, f) in &pairs {
        assert_eq!(read_json(f)["$schema"].as_str(), pairs.iter().find(|(_, g)| g == f).and_then(|(s, _)| s.file_name()).and_then(|n| n.to_str()), "{}", f.display());
    }
    if let Some(bad) = crate::records::invalid(&py, &pairs, tmp.path()) {
        assert!(bad.is_empty(), "records that do not match their schema: {bad:?}");
    }
    // Refusals: the output exists; a PNG without its spacing.
    let again = coxa(&["radiograph", "--image", dcm.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    let no = coxa(&["radiograph", "--image", png.to_str().unwrap(), "--out", tmp.path().join("x.json").to_str().unwrap()]);
    assert_eq!(no.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no.stderr).contains("--pixel-spacing-mm"));
}

/// The demonstration BMD model (`models/infer/demo`, trained on DRRs of variants of the real CT)
/// through the whole user path: `coxa xray --centre hip --side right` of the unmodified real CT, then
/// `coxa radiograph --model bmd_drr_demo.toml`. Its prediction lands within the model's held-out
/// mean absolute error (0.050 g/cm2) of the neck aBMD `coxa anatomy` measures on the same CT: the
/// command line feeds the model what it was trained on. (Not a claim about other patients.)
#[test]
fn demonstration_bmd_model_on_the_real_ct_drr() {
    let (Some(ct), Some(seg)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let anatomy = tmp.path().join("anatomy");
    ok(&coxa(&["anatomy", "--ct", ct.to_str().unwrap(), "--labels", seg.to_str().unwrap(), "--out", anatomy.to_str().unwrap()]));
    let a = read_json(&anatomy.join("anatomy.json"));
    let right = a["bone_density"].as_array().unwrap().iter().find(|d| d["side"] == "right").unwrap();
    let measured = right["abmd_g_cm2"]["neck"].as_f64().unwrap();
    let dcm = tmp.path().join("hip.dcm");
    ok(&coxa(&["xray", "--ct", ct.to_str().unwrap(), "--labels", seg.to_str().unwrap(), "--centre", "hip", "--side", "right", "--pixel-mm", "0.8", "--size", "256", "--out", dcm.to_str().unwrap()]));
    let out = tmp.path().join("bmd.json");
    let card = root().join("models/infer/demo/bmd_drr_demo.toml");
    ok(&coxa(&["radiograph", "--image", dcm.to_str().unwrap(), "--model", card.to_str().unwrap(), "--out", out.to_str().unwrap()]));
    let r = read_json(&out);
    let m = &r["models"][0];
    assert_eq!((m["model"].as_str(), m["test_model"].as_bool()), (Some("bmd-drr-demo"), Some(true)));
    assert!(m["description"].as_str().unwrap().contains("DEMONSTRATION") && m["description"].as_str().unwrap().contains("NOT FOR CLINICAL USE"));
    let predicted = m["values"][0]["value"].as_f64().unwrap();
    eprintln!("demonstration model on the real CT's DRR: {predicted:.4} g/cm2; coxa anatomy's CT-based neck aBMD {measured:.4} g/cm2; YAM {} %", m["bone_density"]["neck_abmd"]["yam_percent"]);
    assert!((predicted - measured).abs() < 0.05, "{predicted} vs {measured}");
}

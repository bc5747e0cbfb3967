//! X-ray image models (issue 22 part 4) through coxa-infer, side by side with the peer
//! (`peer_xray.py`: the preprocessing written with Pillow and numpy, the network run by
//! onnxruntime in Python) on the same radiographs: the model input equals the peer's and the
//! output equals onnxruntime's, for every card path (spacing and stretch resizing, shrinking and
//! enlarging, crop and pad, fixed / z-score / no normalisation, 1 and 3 channels, probabilities,
//! logits and regression). The test models are made by `make_xray_models.py`.

use crate::common;

use std::path::Path;
use std::process::Command;

use coxa_infer::image::{ImageCard, preprocess};
use coxa_infer::{Error, ImageModel};
use ndarray::Array2;

use crate::common::{Rng, card, edited_card, max_differences, peer_python, read_f32_le, runtime_ready};

/// A radiograph-like test image: a smooth background, a bright "bone" band and noise.
fn image(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = Rng(seed);
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        let x = c as f64 / cols as f64;
        let y = r as f64 / rows as f64;
        let band = if (x - 0.3 - 0.2 * y).abs() < 0.08 { 0.5 } else { 0.0 };
        (0.2 + 0.3 * y + band + 0.1 * rng.next_f64()).min(1.0) as f32
    })
}

struct Peer {
    input: Vec<f32>,
    output: Vec<f64>,
    resized: [usize; 2],
    offset: [i64; 2],
}

fn peer(python: &Path, card: &Path, img: &Array2<f32>, spacing: Option<[f64; 2]>) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let (rows, cols) = img.dim();
    let raw = dir.path().join("img.f32");
    std::fs::write(&raw, img.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let out = dir.path().join("x.f32");
    let s = spacing.unwrap_or([0.0, 0.0]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer_xray.py");
    let o = Command::new(python).arg(script).arg(card).arg(&raw).arg(rows.to_string()).arg(cols.to_string()).arg(s[0].to_string()).arg(s[1].to_string()).arg(&out).output().unwrap();
    assert!(o.status.success(), "peer: {}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = |k: &str| j[k].as_array().unwrap().clone();
    Peer {
        input: read_f32_le(&out),
        output: v("output").iter().map(|x| x.as_f64().unwrap()).collect(),
        resized: [v("resized")[0].as_u64().unwrap() as usize, v("resized")[1].as_u64().unwrap() as usize],
        offset: [v("offset")[0].as_i64().unwrap(), v("offset")[1].as_i64().unwrap()],
    }
}

/// Every card path against the peer: the model input within 2e-6 (float32 rounding of the
/// filter sums), the output within 1e-5 of onnxruntime (Python) on that input.
#[test]
fn image_models_equal_pillow_numpy_and_onnxruntime() {
    let Some(python) = peer_python() else { return };
    if !runtime_ready() {
        return;
    }
    // (model, image rows x cols, spacing mm): shrink and crop, enlarge and pad, anisotropic,
    // stretch, odd sizes.
    let cases: [(&str, usize, usize, Option<[f64; 2]>); 7] = [
        ("xray_fracture_test", 300, 200, Some([0.42, 0.42])),
        ("xray_fracture_test", 41, 37, Some([1.0, 1.0])),
        ("xray_fracture_test", 64, 80, Some([2.0, 2.0])),
        ("xray_bmd_test", 257, 311, Some([0.35, 0.3])),
        ("xray_bmd_test", 20, 90, Some([1.9, 1.2])),
        ("xray_kl_test", 333, 129, None),
        ("xray_kl_test", 12, 17, None),
    ];
    let (mut worst_in, mut worst_out) = (0f32, 0f64);
    for (n, (name, rows, cols, spacing)) in cases.into_iter().enumerate() {
        let img = image(rows, cols, 7 + n as u64);
        let mut model = ImageModel::load(&card(name)).unwrap();
        assert!(model.card().test_model && model.card().description.contains("TEST MODEL"));
        let (x, pre) = preprocess(model.card(), img.view(), spacing).unwrap();
        let p = peer(&python, &card(name), &img, spacing);
        assert_eq!(pre.resized_size, p.resized, "{name} {rows}x{cols}");
        assert_eq!(pre.offset_px, p.offset, "{name} {rows}x{cols}");
        let (d_in, scale) = max_differences(x.iter(), &p.input);
        let got = model.predict(img.view(), spacing).unwrap();
        let d_out = got.raw_output.iter().zip(&p.output).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        eprintln!("{name} {rows}x{cols} -> {:?} offset {:?}: input max |coxa - Pillow/numpy| {d_in:.2e} (values up to {scale:.2}), output max |coxa - onnxruntime| {d_out:.2e}", p.resized, p.offset);
        worst_in = worst_in.max(d_in / scale.max(1.0));
        worst_out = worst_out.max(d_out);
        assert!(d_in <= 2e-6 * scale.max(1.0), "{name}: input differs by {d_in}");
        assert!(d_out <= 1e-5, "{name}: output differs by {d_out}");
        match model.card().output.kind.as_str() {
            "values" => assert_eq!(got.values.as_ref().unwrap().len(), 2),
            _ => {
                let probs = got.probabilities.as_ref().unwrap();
                assert!((probs.iter().map(|c| c.probability).sum::<f64>() - 1.0).abs() < 1e-6);
                let best = probs.iter().max_by(|a, b| a.probability.total_cmp(&b.probability)).unwrap();
                assert_eq!(got.predicted_class.as_deref(), Some(best.name.as_str()));
            }
        }
    }
    eprintln!("worst: input {worst_in:.2e}, output {worst_out:.2e}");
}

/// The logits model: coxa's softmax of the network's logits equals the softmax computed from
/// onnxruntime's logits; the prediction carries the card's name, version and test flag.
#[test]
fn logits_become_probabilities_and_the_card_is_named() {
    if !runtime_ready() {
        return;
    }
    let mut model = ImageModel::load(&card("xray_kl_test")).unwrap();
    let img = image(100, 120, 3);
    let p = model.predict(img.view(), None).unwrap();
    let m = p.raw_output.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = p.raw_output.iter().map(|v| (v - m).exp()).sum();
    for (c, raw) in p.probabilities.as_ref().unwrap().iter().zip(&p.raw_output) {
        assert!((c.probability - (raw - m).exp() / z).abs() < 1e-12);
    }
    assert_eq!((p.model.as_str(), p.version.as_str(), p.test_model), ("xray_kl_test", "0.1.0", true));
    assert_eq!(p.sha256.len(), 64);
}

/// A wrong card, wrong weights or an image without the spacing the card needs: errors that name
/// the cause.
#[test]
fn wrong_cards_and_inputs_are_named() {
    if !runtime_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (edit, want) in [
        (("rows = 32", "rows = 31"), "the card says [N, 1, 31, 32]"),
        (("name = \"image\"", "name = \"x\""), "no input named \"x\""),
        (("sha256 = \"", "sha256 = \"f"), "64 hex digits"),
        (("pixel_spacing_mm = 2.0\n", ""), "input.pixel_spacing_mm"),
        (("kind = \"probabilities\"", "kind = \"values\""), "output.kind"),
        (("classes = [\"no fracture\", \"fracture\"]", "classes = [\"a\", \"b\", \"c\"]"), "the output has 2 columns; the card names 3"),
        (("scheme = \"fixed\"", "scheme = \"robust\""), "unknown variant"),
    ] {
        let p = edited_card(dir.path(), "xray_fracture_test", |t| t.replace(edit.0, edit.1));
        let err = ImageModel::load(&p).unwrap_err().to_string();
        assert!(err.contains(want), "{edit:?}: {err}");
    }
    // Another model's weights under this card: the SHA-256 differs.
    std::os::unix::fs::symlink(common::models_dir().join("xray_bmd_test.onnx"), dir.path().join("xray_bmd_test.onnx")).unwrap();
    let p = edited_card(dir.path(), "xray_fracture_test", |t| t.replace("xray_fracture_test.onnx", "xray_bmd_test.onnx"));
    assert!(matches!(ImageModel::load(&p), Err(Error::Sha256Mismatch { .. })));
    // The card needs a spacing the image does not have.
    let c = ImageCard::read(&card("xray_bmd_test")).unwrap();
    let err = preprocess(&c, image(40, 40, 1).view(), None).unwrap_err().to_string();
    assert!(err.contains("1.5 mm") && err.contains("Patient"), "{err}");
}

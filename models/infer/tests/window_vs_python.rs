//! The sliding window (steps, padding, Gaussian weighting, mirroring) against nnU-Net v2's own
//! algorithm transcribed to numpy + Python onnxruntime (`tests/nnunet_window.py`), on the conv3
//! test model, whose 3x3x3 kernel makes every tile border, overlap and flip show.

use std::process::Command;

use coxa_infer::{InferenceOptions, Model, SessionConfig, WindowOptions, predict};
use ndarray::Array4;

use crate::common::{Rng, card, max_differences, models_dir, peer_python, read_f32_le, runtime_ready};

#[test]
fn window_equals_nnunet_algorithm_in_python() {
    if !runtime_ready() {
        return;
    }
    let Some(py) = peer_python() else { return };
    let mut model = Model::load(&card("conv3"), &SessionConfig { intra_threads: 1, ..Default::default() }).unwrap();
    let mut rng = Rng(99);
    // [C, k, j, i]: larger than the 32 patch (overlapping tiles, uneven steps), and smaller along
    // two axes (zero padding, odd difference).
    for (shape, mirror) in [([1, 40, 37, 45], vec![]), ([1, 40, 37, 45], vec![0, 1, 2]), ([1, 21, 40, 29], vec![1, 2])] {
        let image = Array4::from_shape_fn(shape, |_| (rng.next_f64() * 4.0 - 2.0) as f32);
        let options = InferenceOptions { mirror_axes: mirror.clone(), window: WindowOptions { batch_size: 2, ..Default::default() }, ..Default::default() };
        let (ours, _, members, _) = predict(&mut model, image.view(), &options).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let (inp, out) = (dir.path().join("in.f32"), dir.path().join("out.f32"));
        std::fs::write(&inp, image.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let mirror_arg = if mirror.is_empty() { "none".to_string() } else { mirror.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",") };
        let o = Command::new(&py)
            .arg(models_dir().parent().unwrap().join("nnunet_window.py"))
            .arg(models_dir().join("conv3.onnx"))
            .arg(&inp)
            .arg(shape.map(|s| s.to_string()).join(","))
            .arg("32,32,32")
            .arg("0.5")
            .arg(&mirror_arg)
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "nnU-Net reference failed: {}", String::from_utf8_lossy(&o.stderr));
        let theirs = read_f32_le(&out);
        let (max_diff, max_abs) = max_differences(ours.iter(), &theirs);
        println!("{shape:?} mirror {mirror:?} ({members} members): max |coxa - nnU-Net algorithm| = {max_diff:e}, logits up to {max_abs}");
        assert!(max_diff <= 1e-5 * max_abs.max(1.0), "{shape:?} {mirror:?}: {max_diff}");
    }
}

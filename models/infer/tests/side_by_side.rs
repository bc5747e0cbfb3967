//! (a) The Rust runner's output equals Python onnxruntime's on the same model and input, run
//! side by side (the test calls the venv's Python with `tests/peer_ort.py`).

use std::process::Command;

use coxa_infer::{Model, SessionConfig};
use ndarray::Array5;

use crate::common::{Rng, card, max_differences, models_dir, peer_python, read_f32_le, runtime_ready};

/// Max |rust - python| for model `name` on a seeded input of `shape`.
fn compare(name: &str, shape: [usize; 5], scale: f32) -> f32 {
    let py = peer_python().expect("checked by the caller");
    let mut rng = Rng(15 + name.len() as u64);
    let x = Array5::from_shape_fn(shape, |_| ((rng.next_f64() * 2.0 - 1.0) as f32) * scale);
    let config = SessionConfig { intra_threads: 1, ..Default::default() };
    let mut model = Model::load(&card(name), &config).unwrap();
    let ours = model.run(x.view()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("in.f32"), dir.path().join("out.f32"));
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&inp, bytes).unwrap();
    let shape_arg = shape.map(|s| s.to_string()).join(",");
    let o = Command::new(&py)
        .arg(models_dir().parent().unwrap().join("peer_ort.py"))
        .arg(models_dir().join(format!("{name}.onnx")))
        .args([&model.card().input.name, &model.card().output.name])
        .arg(&inp)
        .arg(&shape_arg)
        .arg(&out)
        .arg("1")
        .arg(if model.card().output.stochastic { "disable" } else { "all" })
        .output()
        .unwrap();
    assert!(o.status.success(), "peer failed: {}", String::from_utf8_lossy(&o.stderr));
    let theirs = read_f32_le(&out);
    let (max, max_abs) = max_differences(ours.iter(), &theirs);
    println!("{name}: output {:?}, max |rust - python| = {max:e} (outputs up to {max_abs})", ours.shape());
    max
}

#[test]
fn runner_equals_python_onnxruntime() {
    if !runtime_ready() || peer_python().is_none() {
        return;
    }
    // Bit-for-bit on all three: same library, same settings, one thread.
    assert_eq!(compare("threshold3", [2, 1, 12, 16, 20], 3.0), 0.0);
    assert_eq!(compare("conv3", [3, 1, 9, 10, 11], 2.0), 0.0);
    // The dropout model: a fresh session on each side starts the generator from the model's seed,
    // so even the random masks are the same.
    // (Both sides run it unoptimised: ONNX Runtime's optimiser would drop the Dropout.)
    assert_eq!(compare("mc_dropout", [1, 1, 8, 8, 8], 2.0), 0.0);
}

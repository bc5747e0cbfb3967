//! coxa's sliding window against ONNX Runtime alone, in whatever profile this is built with
//! (`cargo run --release -p coxa-infer --example overhead [-- RUNS [CARD]]`): the nnU-Net test export
//! (tests/nnunet) on a 46 x 52 x 36 CT at its 2 mm spacing, fold 0, no mirroring, float16 sums,
//! one ONNX Runtime thread; then the same 18 tiles through `Model::run_fold` alone. The two
//! alternate (RUNS rounds, default 15), so that a change of the machine's load hits both; it
//! prints the medians and the median of the paired ratios, with the uncertainty (the default)
//! and without it (`InferenceOptions::uncertainty = false`: nnUNetPredictor's own work), and
//! labels only (`probabilities = false` too: no probability map, no softmax), and what `coxa
//! segment` runs (the uncertainty, no probability map), over
//! three baselines: the bare session (output read where ONNX Runtime wrote it), `Model::run_fold`
//! (output copied; the earlier figures' baseline), and the session plus a sequential softmax and
//! argmax (a peer: work any pipeline on ONNX Runtime does besides the session). The CT is synthetic (the ratio does
//! not depend on the values); the criterion bench `cargo bench -p coxa-benches --bench infer`
//! measures the same on the committed CT. With CARD, that model on a synthetic CT of one patch
//! at its spacing (one tile, no mirroring).

use std::path::Path;
use std::time::Instant;

use coxa_core::{Grid, Volume};
use coxa_infer::window::tile_starts;
use coxa_infer::{InferenceOptions, Model, SessionConfig, segment};
use nalgebra::{Matrix3, Vector3};
use ndarray::{Array3, Axis, s};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(15), |a| a.parse())?;
    let card = std::env::args().nth(2).map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nnunet/card.toml"), std::path::PathBuf::from);
    let mut model = Model::load(&card, &SessionConfig { intra_threads: 1, ..Default::default() })?;
    // The nnU-Net test export: 46 x 52 x 36 voxels (18 tiles); another card: one patch.
    let [pi, pj, pk] = model.card().input.patch_size_ijk;
    let (ni, nj, nk) = if std::env::args().nth(2).is_some() { (pi, pj, pk) } else { (46usize, 52usize, 36usize) };
    let hu = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| if (i * 7 + j * 3 + k) % 11 < 5 { -900.0 } else { 40.0 + ((i * j + k) % 700) as f32 });
    let grid = Grid::new([ni, nj, nk], Vector3::from(model.card().input.target_spacing_mm_ijk), Vector3::zeros(), Matrix3::identity())?;
    let ct = Volume::new(grid, hu)?;
    let mut options = InferenceOptions::for_card(model.card(), false);
    if model.folds() > 1 {
        options.folds = vec![0];
    }
    let image = coxa_infer::segment::normalise(&ct.hu(), &model.card().input.normalisation);
    let patch = model.card().patch_size_kji();
    let starts: Vec<Vec<usize>> = (0..3).map(|a| tile_starts(image.shape()[a], patch[a], 0.5)).collect();
    let mut tiles = Vec::new();
    for &k in &starts[0] {
        for &j in &starts[1] {
            for &i in &starts[2] {
                tiles.push(image.slice(s![k..k + patch[0], j..j + patch[1], i..i + patch[2]]).to_owned().insert_axis(Axis(0)).insert_axis(Axis(0)));
            }
        }
    }
    let mut plain = options.clone();
    plain.uncertainty = false;
    // Labels only: no uncertainty and no probability map (`InferenceOptions::probabilities`).
    let mut labels_only = plain.clone();
    labels_only.probabilities = false;
    // What `coxa segment` and the pipeline run: the uncertainty, no probability map (they write
    // the labels and the uncertainty, never the probabilities).
    let mut product = options.clone();
    product.probabilities = false;
    let classes = model.card().output.classes.len();
    // The peer's softmax runs once over the whole output volume (as numpy's after a window).
    let logits = ndarray::Array5::from_shape_fn((1, classes, nk, nj, ni), |(_, c, k, j, i)| ((c * 31 + k * 7 + j * 3 + i) % 17) as f32 * 0.5 - 4.0);
    let _ = segment(&mut model, &ct, &options)?;
    let _ = segment(&mut model, &ct, &plain)?;
    let _ = segment(&mut model, &ct, &labels_only)?;
    let _ = segment(&mut model, &ct, &product)?;
    // Per run: coxa with and without the uncertainty; the tiles through ONNX Runtime with the
    // output copied out (`Model::run_fold`, the baseline of the earlier figures), read in place
    // (`Model::run_fold_with`: the session's own time), and read in place plus a plain sequential
    // softmax and argmax over an output volume of the CT's size (the least any ONNX Runtime
    // pipeline must add).
    let (mut whole, mut bare, mut copied, mut session, mut peer) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // ONNX Runtime's own time inside coxa's segment (with, without the uncertainty).
    let (mut inside, mut inside_plain) = (Vec::new(), Vec::new());
    let (mut labels, mut products) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let seg = std::hint::black_box(segment(&mut model, &ct, &options)?);
        whole.push(t.elapsed().as_secs_f64());
        inside.push(seg.timing.network_s);
        drop(seg);
        let t = Instant::now();
        for x in &tiles {
            let _ = std::hint::black_box(model.run_fold(0, x.view())?);
        }
        copied.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let seg = std::hint::black_box(segment(&mut model, &ct, &plain)?);
        bare.push(t.elapsed().as_secs_f64());
        inside_plain.push(seg.timing.network_s);
        drop(seg);
        let t = Instant::now();
        let _ = std::hint::black_box(segment(&mut model, &ct, &labels_only)?);
        labels.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let _ = std::hint::black_box(segment(&mut model, &ct, &product)?);
        products.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for x in &tiles {
            model.run_fold_with(0, x.view(), |y| std::hint::black_box(y[[0, 0, 0, 0, 0]]))?;
        }
        session.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for x in &tiles {
            model.run_fold_with(0, x.view(), |y| std::hint::black_box(y[[0, 0, 0, 0, 0]]))?;
        }
        let _ = std::hint::black_box(softmax_argmax(logits.view(), classes));
        peer.push(t.elapsed().as_secs_f64());
    }
    let ratio = |a: &[f64], b: &[f64]| 100.0 * (median(a.iter().zip(b).map(|(x, y)| x / y).collect()) - 1.0);
    println!(
        "{} tiles, {runs} alternating runs, medians: coxa segment {:.1} ms with the uncertainty, {:.1} ms without; ONNX Runtime alone {:.1} ms (output read in place), {:.1} ms (output copied, Model::run_fold), {:.1} ms with a sequential softmax + argmax",
        tiles.len(),
        median(whole.clone()) * 1e3,
        median(bare.clone()) * 1e3,
        median(session.clone()) * 1e3,
        median(copied.clone()) * 1e3,
        median(peer.clone()) * 1e3,
    );
    println!(
        "inside coxa's segment, ONNX Runtime's calls took {:.1} ms with the uncertainty, {:.1} ms without (medians); segment over its own ONNX Runtime calls (median of the per-call ratios): {:+.1} % / {:+.1} %",
        median(inside.clone()) * 1e3,
        median(inside_plain.clone()) * 1e3,
        100.0 * (median(whole.iter().zip(&inside).map(|(w, n)| w / n).collect()) - 1.0),
        100.0 * (median(bare.iter().zip(&inside_plain).map(|(w, n)| w / n).collect()) - 1.0),
    );
    println!("labels only (no uncertainty, no probability map): {:.1} ms, over the session {:+.1} %", median(labels.clone()) * 1e3, ratio(&labels, &session));
    println!("coxa segment's own run (the uncertainty, no probability map): {:.1} ms, over the session {:+.1} %", median(products.clone()) * 1e3, ratio(&products, &session));
    println!(
        "overhead (median of paired ratios), with / without the uncertainty: over the session {:+.1} % / {:+.1} %; over run_fold (copied output) {:+.1} % / {:+.1} %; over the session + softmax + argmax peer {:+.1} % / {:+.1} %; load {}",
        ratio(&whole, &session),
        ratio(&bare, &session),
        ratio(&whole, &copied),
        ratio(&bare, &copied),
        ratio(&whole, &peer),
        ratio(&bare, &peer),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    Ok(())
}

/// A plain softmax over the classes and its argmax, voxel by voxel on one thread, into new
/// buffers (what numpy's `exp(x - max) / sum` and `argmax` give a Python pipeline).
fn softmax_argmax(y: ndarray::ArrayView5<'_, f32>, classes: usize) -> (Vec<f32>, Vec<u8>) {
    let y = y.as_standard_layout();
    let ys = y.as_slice().expect("standard layout");
    let n = ys.len() / classes;
    let (mut p, mut labels) = (vec![0f32; ys.len()], vec![0u8; n]);
    for v in 0..n {
        let m = (0..classes).map(|c| ys[c * n + v]).fold(f32::NEG_INFINITY, f32::max);
        let mut s = 0.0;
        for c in 0..classes {
            let e = (ys[c * n + v] - m).exp();
            p[c * n + v] = e;
            s += e;
        }
        let mut best = 0;
        for c in 0..classes {
            p[c * n + v] /= s;
            if p[c * n + v] > p[best * n + v] {
                best = c;
            }
        }
        labels[v] = best as u8;
    }
    (p, labels)
}

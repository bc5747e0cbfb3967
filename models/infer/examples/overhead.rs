//! coxa's sliding window against ONNX Runtime alone, in whatever profile this is built with
//! (`cargo run --release -p coxa-infer --example overhead [-- RUNS [CARD]]`): the nnU-Net test export
//! (tests/nnunet) on a 46 x 52 x 36 CT at its 2 mm spacing, fold 0, no mirroring, float16 sums,
//! one ONNX Runtime thread; then the same 18 tiles through `Model::run_fold` alone. The two
//! alternate (RUNS pairs, default 15), so that a change of the machine's load hits both; it
//! prints the medians and the median of the pairs' ratios, with the uncertainty (the default)
//! and without it (`InferenceOptions::uncertainty = false`: nnUNetPredictor's own work). The CT is synthetic (the ratio does
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
    let _ = segment(&mut model, &ct, &options)?;
    let _ = segment(&mut model, &ct, &plain)?;
    let (mut whole, mut bare, mut ort, mut ratios, mut bare_ratios) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let _ = std::hint::black_box(segment(&mut model, &ct, &options)?);
        let w = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for x in &tiles {
            let _ = std::hint::black_box(model.run_fold(0, x.view())?);
        }
        let o = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = std::hint::black_box(segment(&mut model, &ct, &plain)?);
        let b = t.elapsed().as_secs_f64();
        whole.push(w);
        bare.push(b);
        ort.push(o);
        ratios.push(w / o);
        bare_ratios.push(b / o);
    }
    let (w, b, o, r, rb) = (median(whole), median(bare), median(ort), median(ratios), median(bare_ratios));
    println!(
        "coxa segment (fold 0, no mirror, {} tiles): median {:.1} ms with the uncertainty, {:.1} ms without; ONNX Runtime alone on the same tiles: median {:.1} ms; overhead (median of {runs} paired ratios) {:+.1} % with the uncertainty, {:+.1} % without",
        tiles.len(),
        w * 1e3,
        b * 1e3,
        o * 1e3,
        100.0 * (r - 1.0),
        100.0 * (rb - 1.0)
    );
    Ok(())
}

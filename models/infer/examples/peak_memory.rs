//! Peak memory of a whole segmentation of a 512 x 512 x 300 CT (0.8 x 0.8 x 1 mm, synthetic
//! values) with the nnU-Net test export (2 mm, 3 classes, fold 0, no mirroring): nnU-Net's
//! order-3 resampling to 2 mm, the window with the uncertainty, the order-1 resampling of the
//! logits and maps back. Run under `/usr/bin/time -v` for the peak resident set:
//! `cargo build -p coxa-infer --example peak_memory && /usr/bin/time -v target/debug/examples/peak_memory`.

use std::path::Path;

use coxa_core::{Grid, Volume};
use coxa_infer::{InferenceOptions, Model, SessionConfig, segment};
use nalgebra::{Matrix3, Vector3};
use ndarray::Array3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nnunet/card.toml");
    let mut model = Model::load(&card, &SessionConfig { intra_threads: 1, ..Default::default() })?;
    let (ni, nj, nk) = (512usize, 512usize, 300usize);
    let hu = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        let (x, y) = (i as f32 - 256.0, j as f32 - 256.0);
        if x * x + y * y > 230.0 * 230.0 {
            -1000.0
        } else if (x - 60.0).powi(2) + y * y < 900.0 {
            700.0 + (k % 7) as f32 * 20.0
        } else {
            40.0
        }
    });
    let grid = Grid::new([ni, nj, nk], Vector3::new(0.8, 0.8, 1.0), Vector3::zeros(), Matrix3::identity())?;
    let ct = Volume::new(grid, hu)?;
    let mut options = InferenceOptions::for_card(model.card(), false);
    options.folds = vec![0];
    options.window.batch_size = 4;
    let seg = segment(&mut model, &ct, &options)?;
    println!("{} members, {:.1} s total, {:.1} s in ONNX Runtime ({} calls)", seg.members, seg.total_s, seg.timing.network_s, seg.timing.network_calls);
    Ok(())
}

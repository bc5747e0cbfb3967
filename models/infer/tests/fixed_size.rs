//! Graphs exported with a fixed size. A fixed batch larger than one must take every call full,
//! so the last call of an odd count is filled (with copies of its last item, whose outputs are
//! dropped):
//! - the segmentation TEST model threshold3_batch2 (threshold3 with a batch of 2) gives
//!   threshold3's labels for every tile count and batch asked for;
//! - the image-translation TEST graph translation_fixed (`[2, 1, 36, 40]` in and out,
//!   `t2 = 2 ct`) runs a CT of 36 x 40 slices whatever its slice count, with the values the
//!   graph's formula gives; smaller slices in the middle of its canvas, cropped back; and refuses
//!   larger slices on one line naming both sizes.

use coxa_infer::translation::{TranslationModel, TranslationOptions};
use coxa_infer::{InferenceOptions, Model, SessionConfig, WindowOptions, segment};

use crate::common::{card, runtime_ready, threshold_label, volume};

#[test]
fn a_fixed_batch_segmentation_model_fills_its_last_batch() {
    if !runtime_ready() {
        return;
    }
    let mut model = Model::load(&card("threshold3_batch2"), &SessionConfig { intra_threads: 1, ..SessionConfig::default() }).unwrap();
    assert_eq!(model.max_batch(), Some(2));
    // At the card's 4 mm and 32-voxel patches: 50 x 45 x 40 voxels make 3 x 2 x 2 = 12 tiles,
    // 6 calls; 50 x 20 x 20 make 3 tiles, 2 calls (the last holds one tile and a copy), 4 with
    // a mirror (each member's tiles in calls of their own); 20 x 20 x 20 make 1 tile, one call
    // per member. Batches of 1, 3 and 4 asked for; the graph's 2 run.
    for (size, mirror, batch, calls) in [([50, 45, 40], vec![], 1, 6), ([50, 20, 20], vec![], 4, 2), ([50, 20, 20], vec![2], 3, 4), ([20, 20, 20], vec![], 1, 1), ([20, 20, 20], vec![0, 1], 4, 4)] {
        let ct = volume(size, 4.0, |i, j, k| -1200.0 + 23.0 * i as f32 + 31.0 * j as f32 + 17.0 * k as f32);
        let options = InferenceOptions { mirror_axes: mirror.clone(), window: WindowOptions { batch_size: batch, ..Default::default() }, ..Default::default() };
        let seg = segment(&mut model, &ct, &options).unwrap();
        let want = ct.hu().mapv(threshold_label);
        let wrong = seg.labels.labels().iter().zip(want.iter()).filter(|(a, b)| a != b).count();
        assert_eq!(wrong, 0, "{size:?} mirror {mirror:?} batch {batch}: {wrong} voxels differ from the thresholds");
        assert_eq!(seg.members, 1 << mirror.len());
        assert_eq!(seg.timing.network_calls, calls, "{size:?} mirror {mirror:?}: calls of 2 tiles");
    }
}

/// A CT of `rows` x 40 voxels a slice and `slices` slices: HU rising along every axis, within
/// and beyond the card's clip range.
fn ct(rows: usize, slices: usize) -> coxa_core::Volume {
    volume([40, rows, slices], 3.0, |i, j, k| -1100.0 + 30.0 * i as f32 + 20.0 * j as f32 + 150.0 * k as f32)
}

#[test]
fn a_fixed_size_graph_runs_every_slice_count_pads_smaller_slices_and_refuses_larger() {
    if !runtime_ready() {
        return;
    }
    let mut model = TranslationModel::load(&card("translation_fixed"), &SessionConfig { intra_threads: 1, ..SessionConfig::default() }).unwrap();
    for slices in [1, 2, 7] {
        let ct = ct(36, slices);
        let t = model.translate(&ct, &TranslationOptions { batch: 4, ..Default::default() }).unwrap();
        assert_eq!(t.values.dim(), (slices, 36, 40));
        assert_eq!(t.timing.calls, slices.div_ceil(2), "{slices} slices in batches of the graph's 2");
        assert_eq!(t.canvas, None, "slices of the graph's own size are fed as they are");
        let worst = formula_off(&ct, &t.values);
        assert!(worst < 1e-3, "{slices} slices: largest difference from the graph's formula {worst}");
    }
    // Smaller slices (33 x 31, and 36 x 40 less one row) in the middle of the graph's canvas on
    // air: every voxel of the CT gets the formula's value, so the crop is where the slice was.
    for (rows, cols) in [(33, 31), (35, 40)] {
        let ct = volume([cols, rows, 3], 3.0, |i, j, k| -1100.0 + 30.0 * i as f32 + 20.0 * j as f32 + 150.0 * k as f32);
        let t = model.translate(&ct, &TranslationOptions::default()).unwrap();
        assert_eq!(t.values.dim(), (3, rows, cols));
        assert_eq!(t.timing.calls, 2);
        assert_eq!(t.canvas, Some([36, 40]), "the canvas is recorded");
        assert!(formula_off(&ct, &t.values) < 1e-3, "{rows} x {cols}: largest difference from the graph's formula {}", formula_off(&ct, &t.values));
    }
    for (rows, cols) in [(37, 40), (36, 41)] {
        let ct = volume([cols, rows, 3], 3.0, |_, _, _| 0.0);
        let e = model.translate(&ct, &TranslationOptions::default()).unwrap_err().to_string();
        assert!(e.contains(&format!("takes slices of 36 rows x 40 columns; the CT's are {rows} x {cols}, larger: crop")), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

/// The largest difference of `values` from the graph's formula on `ct`: the card's affines (HU
/// clipped to -1000..1500 onto -1..1, the graph doubles it, -1..1 maps onto 0..1000).
fn formula_off(ct: &coxa_core::Volume, values: &ndarray::Array3<f32>) -> f64 {
    let hu = ct.hu();
    values
        .indexed_iter()
        .map(|(kji, v)| {
            let x = 2.0 * (f64::from(hu[kji]).clamp(-1000.0, 1500.0) + 1000.0) / 2500.0 - 1.0;
            (f64::from(*v) - (2.0 * x + 1.0) * 500.0).abs()
        })
        .fold(0.0, f64::max)
}

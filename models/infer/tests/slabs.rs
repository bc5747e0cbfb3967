//! Several members of a slice-wise model run slab by slab (coxa's lesion TEST model with its
//! mirror along i, on a CT smaller than its patch: `segment` finishes each slice as its members
//! come back) against the members' sliding windows run one by one: the mean output bit for bit,
//! and the probabilities, labels, predictive entropy and disagreement against the same quantities
//! computed in float64 from those windows.

use std::path::Path;

use coxa_core::{Grid, Volume};
use coxa_infer::segment::{normalise, predict_full};
use coxa_infer::window::{WindowTiming, sliding_window_fold};
use coxa_infer::{InferenceOptions, Model, SessionConfig, segment};
use nalgebra::{Matrix3, Vector3};
use ndarray::{Array3, Axis};

/// Softmax of one voxel's logits, float64.
fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn entropy(p: &[f64]) -> f64 {
    -p.iter().map(|&q| if q > 0.0 { q * q.ln() } else { 0.0 }).sum::<f64>()
}

#[test]
fn slabs_equal_the_members_windows() {
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/lesion_test.toml");
    let mut model = Model::load(&card, &SessionConfig { intra_threads: 1, ..Default::default() }).unwrap();
    // 6 slices of 70 x 90 voxels at the card's 3 mm (padded to its 128 x 128 patch): air, soft
    // tissue, dense and thin bone, and dark holes in it.
    let (nk, nj, ni) = (6usize, 70usize, 90usize);
    let hu = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        let (dj, di) = (j as f32 - 35.0, i as f32 - 45.0 + k as f32);
        let r = (dj * dj + di * di).sqrt();
        if r > 33.0 {
            -1000.0
        } else if r < 6.0 + k as f32 {
            -40.0 + (i % 5) as f32 * 30.0
        } else if r < 16.0 {
            300.0 + ((i * 7 + j * 3 + k) % 11) as f32 * 90.0
        } else {
            40.0
        }
    });
    let grid = Grid::new([ni, nj, nk], Vector3::new(3.0, 3.0, 3.0), Vector3::zeros(), Matrix3::identity()).unwrap();
    let ct = Volume::new(grid, hu.clone()).unwrap();
    let options = InferenceOptions::for_card(model.card(), true);
    assert_eq!(options.mirror_axes, vec![2], "the card mirrors along i");
    let image = normalise(&hu, &model.card().input.normalisation);
    let image = image.view().insert_axis(Axis(0));
    let mut timing = WindowTiming::default();
    let plain = sliding_window_fold(&mut model, 0, image, [false; 3], &options.window, &mut timing).unwrap();
    let mirrored = sliding_window_fold(&mut model, 0, image, [false, false, true], &options.window, &mut timing).unwrap();
    // segment's members' sum and mean: the first member, plus the second, times 1/2.
    let mut mean = plain.clone();
    mean += &mirrored;
    mean.mapv_inplace(|v| v * 0.5);
    let p = predict_full(&mut model, image, &options).unwrap();
    assert_eq!((p.members, p.timing.network_calls), (2, 2 * nk));
    assert_eq!(p.output.shape(), mean.shape());
    let differ = p.output.iter().zip(&mean).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    assert_eq!(differ, 0, "{differ} mean logits differ from the two windows' mean");
    let seg = segment(&mut model, &ct, &options).unwrap();
    assert_eq!(seg.members, 2);
    // `segment` on the CT's own grid fills the tiles from the CT's rows, normalised as they are
    // read; `predict_full` from the normalised image: the same bits.
    let bits = |a: &ndarray::Array3<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&seg.entropy_nats), bits(&p.entropy_nats), "entropy from the CT's rows");
    assert_eq!(bits(&seg.disagreement_nats), bits(&p.disagreement_nats), "disagreement from the CT's rows");
    let classes = mean.shape()[0];
    let (mut worst_p, mut worst_h, mut worst_mi, mut lesion_voxels) = (0f64, 0f64, 0f64, 0usize);
    for ((k, j, i), &label) in seg.labels.labels().indexed_iter() {
        let logits = |a: &ndarray::Array4<f32>| (0..classes).map(|c| f64::from(a[[c, k, j, i]])).collect::<Vec<_>>();
        let pm = softmax(&logits(&mean));
        for (c, &q) in pm.iter().enumerate() {
            worst_p = worst_p.max((f64::from(seg.probabilities[[c, k, j, i]]) - q).abs());
        }
        let mut order: Vec<usize> = (0..classes).collect();
        order.sort_by(|&a, &b| pm[b].total_cmp(&pm[a]));
        if pm[order[0]] - pm[order[1]] > 1e-5 {
            assert_eq!(usize::from(label), order[0], "voxel {k} {j} {i}: label {label}, probabilities {pm:?}");
        }
        lesion_voxels += usize::from(label != 0);
        let (p0, p1) = (softmax(&logits(&plain)), softmax(&logits(&mirrored)));
        let pbar: Vec<f64> = p0.iter().zip(&p1).map(|(a, b)| (a + b) / 2.0).collect();
        let h = entropy(&pbar);
        let mi = (h - (entropy(&p0) + entropy(&p1)) / 2.0).max(0.0);
        worst_h = worst_h.max((f64::from(seg.entropy_nats[[k, j, i]]) - h).abs());
        worst_mi = worst_mi.max((f64::from(seg.disagreement_nats[[k, j, i]]) - mi).abs());
    }
    println!("{lesion_voxels} lesion voxels; worst |difference| from float64: probabilities {worst_p:e}, entropy {worst_h:e}, disagreement {worst_mi:e}");
    assert!(worst_p < 1e-6 && worst_h < 1e-5 && worst_mi < 1e-5, "probabilities {worst_p}, entropy {worst_h}, disagreement {worst_mi}");
    // Four slices a call (the 6 slices in groups of 4 and 2; each group's sums hold several
    // slices): the same bits as one slice a call.
    let mut batched = options.clone();
    batched.window.batch_size = 4;
    let p4 = predict_full(&mut model, image, &batched).unwrap();
    assert_eq!(p4.timing.network_calls, 2 * 2);
    let same = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
    assert!(same(p4.output.as_slice().unwrap(), p.output.as_slice().unwrap()), "batched mean logits");
    let seg4 = segment(&mut model, &ct, &batched).unwrap();
    assert_eq!(seg4.labels.labels(), seg.labels.labels());
    for (a, b, what) in [(&seg4.entropy_nats, &seg.entropy_nats, "entropy"), (&seg4.disagreement_nats, &seg.disagreement_nats, "disagreement")] {
        assert!(same(a.as_slice().unwrap(), b.as_slice().unwrap()), "batched {what}");
    }
    assert!(same(seg4.probabilities.as_slice().unwrap(), seg.probabilities.as_slice().unwrap()), "batched probabilities");
    // Four members (mirrors along j and i: the middle members add to the sums), with and without
    // the uncertainty: the mean of the four windows, bit for bit, and the same labels.
    let mut four = options.clone();
    four.mirror_axes = vec![1, 2];
    let flips = coxa_infer::window::mirror_members(&four.mirror_axes);
    assert_eq!(flips.len(), 4);
    let mut sum = sliding_window_fold(&mut model, 0, image, flips[0], &four.window, &mut timing).unwrap();
    for &flip in &flips[1..] {
        sum += &sliding_window_fold(&mut model, 0, image, flip, &four.window, &mut timing).unwrap();
    }
    sum.mapv_inplace(|v| v * 0.25);
    let p_four = predict_full(&mut model, image, &four).unwrap();
    assert_eq!(p_four.members, 4);
    assert!(same(p_four.output.as_slice().unwrap(), sum.as_slice().unwrap()), "the four members' mean logits");
    let seg_four = segment(&mut model, &ct, &four).unwrap();
    four.uncertainty = false;
    let seg_plain = segment(&mut model, &ct, &four).unwrap();
    assert_eq!(seg_plain.labels.labels(), seg_four.labels.labels());
    assert!(same(seg_plain.probabilities.as_slice().unwrap(), seg_four.probabilities.as_slice().unwrap()), "probabilities without the uncertainty");
    assert!(seg_plain.entropy_nats.is_empty() && !seg_four.entropy_nats.is_empty());
    let apart = plain.iter().zip(&mirrored).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(apart > 1e-2, "the two members' logits differ (by up to {apart}), so the mean is not one member's");
}

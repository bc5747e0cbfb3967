//! nnU-Net's resampling (`coxa_infer::resample`) against scikit-image's `resize` and scipy's
//! `map_coordinates` called as nnU-Net v2 calls them (`tests/peer_resample.py`, a transcription of
//! `resample_data_or_seg` around the same library calls): order 3 and order 1 over the whole
//! volume, the separate-z rule along k and along i with order_z 0 (including scipy's round-half-up
//! of a 2:1 reduction) and 1, upsampling and downsampling. Equal within 1e-12 of the data's range
//! in float64, and equal after nnU-Net's cast to float32 (at most one float32 step apart).

use std::process::Command;

use coxa_infer::resample::{Resampling, compute_new_shape, resample_channel};
use ndarray::Array3;

use crate::common::{Rng, peer_python_importing};

#[test]
fn resampling_equals_skimage_and_scipy_as_nnunet_calls_them() {
    let Some(py) = peer_python_importing("numpy, scipy, skimage") else { return };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("peer_resample.py");
    let mut rng = Rng(1515);
    let r = |order, order_z, force| Resampling { order, order_z, force_separate_z: force };
    // (shape [k, j, i], current spacing, new spacing, resampling, what it exercises)
    type Case = ([usize; 3], [f64; 3], [f64; 3], Resampling, &'static str);
    let cases: [Case; 7] = [
        ([9, 13, 11], [2.5, 1.75, 1.5], [2.0, 2.0, 2.0], r(3, 0, None), "order 3, whole volume, up and down"),
        ([11, 11, 10], [2.0, 2.0, 2.0], [2.5, 1.75, 1.5], r(1, 0, None), "order 1, whole volume"),
        ([6, 14, 12], [6.5, 1.6, 1.6], [2.0, 2.0, 2.0], r(3, 0, None), "separate z along k (current), order_z 0, up"),
        ([12, 9, 10], [2.0, 2.0, 2.0], [4.0, 1.0, 1.0], r(1, 0, None), "separate z along k (new), 2:1 in k: ties"),
        ([10, 12, 5], [1.2, 1.2, 5.0], [2.0, 2.0, 2.0], r(3, 1, None), "separate z along i, order_z 1"),
        ([8, 10, 9], [2.5, 1.6, 1.6], [2.0, 2.0, 2.0], r(3, 0, Some(true)), "forced separate z"),
        ([7, 8, 9], [1.0, 1.0, 1.0], [1.0, 0.999, 1.0], r(3, 0, None), "equal shapes: no resampling"),
    ];
    for (shape, cur, new, res, what) in cases {
        let x = Array3::from_shape_fn(shape, |(k, j, i)| ((k as f64 * 0.7).sin() * 300.0 + (j * i) as f64 + rng.next_f64() * 80.0 - 40.0) as f32);
        let new_shape = compute_new_shape(shape, cur, new);
        let ours = resample_channel(x.view(), new_shape, cur, new, &res);
        assert_eq!(ours.shape(), &new_shape[..], "{what}");

        let dir = tempfile::tempdir().unwrap();
        let (inp, out) = (dir.path().join("in.f32"), dir.path().join("out.f64"));
        std::fs::write(&inp, x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let list = |v: &[f64]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",");
        let force = res.force_separate_z.map_or("none".to_string(), |f| f.to_string());
        let o = Command::new(&py)
            .arg(&script)
            .arg(&inp)
            .arg(shape.map(|s| s.to_string()).join(","))
            .arg(list(&cur))
            .arg(list(&new))
            .arg(new_shape.map(|s| s.to_string()).join(","))
            .arg(res.order.to_string())
            .arg(res.order_z.to_string())
            .arg(force)
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "peer failed: {}", String::from_utf8_lossy(&o.stderr));
        let theirs: Vec<f64> = std::fs::read(&out).unwrap().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(theirs.len(), ours.len(), "{what}");
        let range = x.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
        let max = ours.iter().zip(&theirs).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        let f32_differ = ours.iter().zip(&theirs).filter(|(a, b)| **a as f32 != **b as f32).count();
        let f32_step = ours.iter().zip(&theirs).all(|(a, b)| (*a as f32 == *b as f32) || (*a as f32).to_bits().abs_diff((*b as f32).to_bits()) == 1);
        println!(
            "{what}: {shape:?} -> {new_shape:?} ({}): max |coxa - scipy| {max:.2e} (data up to {range:.0}), float32 casts differ at {f32_differ} of {}",
            String::from_utf8_lossy(&o.stdout).trim(),
            ours.len()
        );
        assert!(max <= 1e-12 * range, "{what}: differs by {max}");
        assert!(f32_step, "{what}: a float32 cast is more than one step away");
    }
}

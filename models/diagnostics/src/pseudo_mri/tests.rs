use coxa_core::{Grid, Volume};
use nalgebra::{Matrix3, Vector3};
use ndarray::Array3;

use super::*;

/// A body of fat with a block of muscle, air around, on a rotated grid.
fn body() -> Volume {
    let (nk, nj, ni) = (8usize, 30usize, 30usize);
    let mut hu = Array3::<f32>::from_elem((nk, nj, ni), -1000.0);
    for ((_, j, i), v) in hu.indexed_iter_mut() {
        if (3..27).contains(&j) && (3..27).contains(&i) {
            *v = if i >= 15 { 50.0 } else { -110.0 };
        }
    }
    let grid = Grid::new([ni, nj, nk], Vector3::new(1.0, 1.2, 3.0), Vector3::new(-10.0, 4.0, 7.5), Matrix3::new(0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0)).unwrap();
    Volume::new(grid, hu).unwrap()
}

#[test]
fn fat_is_bright_muscle_dark_air_black_and_the_border_blends() {
    let ct = body();
    let seq = Sequence::default();
    let p = model_free(&ct, &seq).unwrap();
    assert_eq!(p.image.grid(), ct.grid());
    let at = |i: usize| p.image.hu_at([4, 15, i]);
    let (air, fat, muscle) = (at(0), at(8), at(22));
    assert_eq!(air, 0.0);
    // Pure fat at -110 HU is 100 % fat with a trace of air (10/900).
    let fat_want = ((1.0 - 10.0 / 900.0) * seq.signal(Tissue::Fat) * SCALE).round() as f32;
    assert_eq!(fat, fat_want);
    // Muscle at 50 HU: soft tissue with a trace of cancellous bone (10/260).
    let m = (1.0 - 10.0 / 260.0) * seq.signal(Tissue::SoftTissue) + 10.0 / 260.0 * seq.signal(Tissue::Cancellous);
    assert_eq!(muscle, (m * SCALE).round() as f32);
    assert!(fat > 5.0 * muscle, "fat {fat} muscle {muscle}");
    // Across the fat|muscle border (between i = 14 and 15) the signal steps down gradually: the
    // two voxels beside the border lie strictly between the pure values.
    let (a, b) = (at(14), at(15));
    assert!(fat > a && a > b && b > muscle, "{fat} {a} {b} {muscle}");
    assert!(!p.record.canal.found);
    // The weights sum to one voxel each.
    let total: f64 = p.record.tissues.iter().map(|t| t.volume_fraction).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    // Deterministic.
    assert_eq!(model_free(&ct, &seq).unwrap().image, p.image);
}

#[test]
fn the_anchor_weights_are_linear_partial_volumes() {
    assert_eq!(anchor_weights(-2000.0), [1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(anchor_weights(-30.0), [0.0, 0.5, 0.5, 0.0, 0.0]);
    assert_eq!(anchor_weights(40.0), [0.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(anchor_weights(750.0), [0.0, 0.0, 0.0, 0.5, 0.5]);
    assert_eq!(anchor_weights(3000.0), [0.0, 0.0, 0.0, 0.0, 1.0]);
    for h in [-1500.0, -700.0, -45.0, 10.0, 200.0, 999.0] {
        let w = anchor_weights(h);
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6 && w.iter().all(|&x| (0.0..=1.0).contains(&x)), "{h}: {w:?}");
        // The mixture has the voxel's HU.
        let mix: f32 = w.iter().zip(ANCHORS_HU).map(|(w, (a, _))| w * a).sum();
        if (-1000.0..=1200.0).contains(&h) {
            assert!((mix - h).abs() < 1e-3, "{h}: {mix}");
        }
    }
}

#[test]
fn bad_volumes_are_refused_with_their_reason() {
    let ct = body();
    let (grid, mut hu) = ct.clone().into_parts();
    hu[[2, 3, 4]] = f32::NAN;
    let e = model_free(&Volume::new(grid.clone(), hu).unwrap(), &Sequence::default()).unwrap_err();
    assert!(matches!(e, PseudoMriError::NonFinite { nan: 1, infinite: 0 }), "{e}");
    // An MR-like volume: no air.
    let mr = Volume::new(grid, Array3::from_elem((8, 30, 30), 300.0)).unwrap();
    let e = model_free(&mr, &Sequence::default()).unwrap_err();
    assert!(e.to_string().contains("not HU-like"), "{e}");
    // Four slices.
    let thin = Grid::axis_aligned([30, 30, 4], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
    let e = model_free(&Volume::new(thin, Array3::from_elem((4, 30, 30), -1000.0)).unwrap(), &Sequence::default()).unwrap_err();
    assert!(matches!(e, PseudoMriError::TooSmall([30, 30, 4])), "{e}");
    let e = model_free(&ct, &Sequence { te_ms: 0.0, ..Sequence::default() }).unwrap_err();
    assert!(e.to_string().contains("TE 0 ms"), "{e}");
}

#[test]
fn the_slice_axis_follows_the_head_foot_direction() {
    assert_eq!(slice_axis(body().grid()), 0);
    let g = Grid::new([5, 5, 5], Vector3::repeat(1.0), Vector3::zeros(), Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0)).unwrap();
    // Index axis 1 (j) runs along z: array axis 1.
    assert_eq!(slice_axis(&g), 1);
}

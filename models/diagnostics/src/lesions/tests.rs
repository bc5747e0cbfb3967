//! Unit tests of the search on synthetic bones.

use std::collections::BTreeMap;

use coxa_core::{Grid, Volume};
use nalgebra::Vector3;
use ndarray::Array3;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::insert::{Inserted, insert};
use super::search::half_sample_mode;
use super::*;

/// A 60 mm bone cube (label 7, "vertebrae_L3") of 150 HU with 15 HU noise in soft tissue.
fn phantom() -> (Volume, Array3<u16>, BTreeMap<u16, String>) {
    let n = 40;
    let grid = Grid::axis_aligned([n, n, n], Vector3::new(2.0, 2.0, 2.0), Vector3::zeros()).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let inside = |k: usize, j: usize, i: usize| [k, j, i].iter().all(|v| (5..35).contains(v));
    let hu = Array3::from_shape_fn((n, n, n), |(k, j, i)| {
        let base = if inside(k, j, i) { 150.0 } else { 40.0 };
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        (base + 15.0 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    });
    let bones = Array3::from_shape_fn((n, n, n), |(k, j, i)| if inside(k, j, i) { 7 } else { 0 });
    (Volume::new(grid, hu).unwrap(), bones, BTreeMap::from([(7, "vertebrae_L3".to_string())]))
}

#[test]
fn half_sample_mode_finds_the_dense_value_not_the_median() {
    // 45 values near 100, 55 spread thinly over 300..1380: the median lies in the spread, the
    // mode at the dense cluster.
    let mut v: Vec<f32> = (0..45).map(|i| 100.0 + (i % 7) as f32 - 3.0).chain((0..55).map(|i| 300.0 + 20.0 * i as f32)).collect();
    let mode = half_sample_mode(&mut v);
    assert!((mode - 100.0).abs() <= 3.0, "{mode}");
    assert!(median(&mut v) > 300.0);
}

#[test]
fn depth_is_the_distance_to_the_surface() {
    let grid = Grid::axis_aligned([9, 9, 9], Vector3::new(1.0, 2.0, 3.0), Vector3::zeros()).unwrap();
    let bones = Array3::from_shape_fn((9, 9, 9), |(k, j, i)| u16::from([k, j, i].iter().all(|v| (1..8).contains(v))));
    let d = depth_mm(&bones, &grid);
    assert_eq!(d[[0, 0, 0]], 0.0);
    // The centre (4,4,4) is 4 voxels from the outside along i (1 mm), 4 along j, 4 along k: 4 mm.
    assert!((d[[4, 4, 4]] - 4.0).abs() < 1e-5, "{}", d[[4, 4, 4]]);
    assert!((d[[1, 4, 4]] - 3.0).abs() < 1e-5, "k: 1 voxel of 3 mm: {}", d[[1, 4, 4]]);
}

#[test]
fn a_clean_bone_has_no_lesion_and_inserted_ones_are_found_with_their_kind() {
    let (ct, bones, names) = phantom();
    let s = LesionSettings::default();
    let clean = detect(&ct, &bones, &names, &s).unwrap();
    assert!(clean.lesions.is_empty(), "{:?}", clean.lesions);
    let mut ct2 = ct.clone();
    let at = |i: f64, j: f64, k: f64| ct.grid().voxel_to_lps(Vector3::new(i, j, k));
    let lytic = Inserted { centre_lps_mm: at(14.0, 14.0, 14.0), diameter_mm: 12.0, hu: 30.0, kind: Kind::Lytic };
    let blastic = Inserted { centre_lps_mm: at(25.0, 25.0, 25.0), diameter_mm: 10.0, hu: 700.0, kind: Kind::Blastic };
    insert(&mut ct2, &lytic, 10.0, 1);
    insert(&mut ct2, &blastic, 10.0, 2);
    let d = detect(&ct2, &bones, &names, &s).unwrap();
    assert_eq!(d.lesions.len(), 2, "{:?}", d.lesions);
    for t in [&lytic, &blastic] {
        let l = d.lesions.iter().find(|l| l.kind == t.kind).unwrap();
        let err = (Vector3::from(l.centre_lps_mm) - t.centre_lps_mm.coords).norm();
        assert!(err < 2.0, "{:?} centre off by {err} mm", t.kind);
        let truth_ml = std::f64::consts::PI / 6.0 * t.diameter_mm.powi(3) / 1000.0;
        assert!(l.volume_ml > 0.3 * truth_ml && l.volume_ml < 3.0 * truth_ml, "{:?} {} ml vs {truth_ml}", t.kind, l.volume_ml);
        assert!(l.probability > 0.5 && l.bone == "vertebrae_L3");
        assert!(d.map.iter().filter(|v| **v == l.id).count() > 0);
    }
}

#[test]
fn bad_inputs_are_errors() {
    let (ct, bones, names) = phantom();
    let s = LesionSettings::default();
    assert_eq!(detect(&ct, &Array3::zeros(bones.dim()), &names, &s).unwrap_err(), LesionError::NoBone);
    assert!(matches!(detect(&ct, &Array3::zeros((3, 3, 3)), &names, &s), Err(LesionError::GridMismatch(..))));
    let grid = Grid::axis_aligned([10, 10, 3], Vector3::new(1.0, 1.0, 1.0), Vector3::zeros()).unwrap();
    let thin = Volume::new(grid, Array3::zeros((3, 10, 10))).unwrap();
    assert_eq!(detect(&thin, &Array3::ones((3, 10, 10)), &names, &s).unwrap_err(), LesionError::TooFewSlices(3));
}

#[test]
fn the_threshold_mask_holds_the_phantom_bone() {
    let (ct, bones, _) = phantom();
    let (mask, names) = threshold_bone_mask(&ct, 2500.0);
    assert_eq!(names[&1], "bone");
    // 150 HU trabecular bone is below 200 HU: only noise voxels pass; a 300 HU cube is found.
    let mut dense = ct.clone();
    dense.hu_mut().zip_mut_with(&bones, |v, b| {
        if *b != 0 {
            *v += 250.0
        }
    });
    let (mask2, _) = threshold_bone_mask(&dense, 2500.0);
    let inside = bones.iter().filter(|b| **b != 0).count();
    let got = mask2.iter().zip(&bones).filter(|(m, b)| **m == 1 && **b != 0).count();
    assert!(got as f64 > 0.99 * inside as f64, "{got} of {inside}");
    assert!(mask.iter().filter(|m| **m == 1).count() < inside);
}

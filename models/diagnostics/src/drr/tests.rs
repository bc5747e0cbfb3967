//! Unit tests of the DRR.

use super::*;
use coxa_core::Grid;
use nalgebra::Matrix3;
use rand::{Rng, SeedableRng};

/// A small CT of random attenuation on a grid flipped like a RAS NIfTI (LPS directions
/// diag(-1, -1, 1)), with anisotropic voxels.
fn random_ct() -> Volume {
    let (ni, nj, nk) = (47usize, 39usize, 33usize);
    let grid = Grid::new([ni, nj, nk], Vector3::new(1.7, 1.9, 2.5), Vector3::new(40.0, 37.0, -41.0), Matrix3::from_diagonal(&Vector3::new(-1.0, -1.0, 1.0))).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let hu = ndarray::Array3::from_shape_fn((nk, nj, ni), |_| rng.random_range(-1000.0f32..2000.0));
    Volume::new(grid, hu).unwrap()
}

/// Issue 45: NaN or infinite voxels (a float image made by a caller; the readers refuse such
/// files) are refused by count, never integrated into a radiograph; and so are they by
/// radiomics, whose GLCM indexed out of bounds on NaN, and by the density calibration.
#[test]
fn issue_45_non_finite_voxels_are_refused_by_count() {
    let mut ct = random_ct();
    ct.hu_mut()[[3, 4, 5]] = f32::NAN;
    ct.hu_mut()[[6, 7, 8]] = f32::INFINITY;
    ct.hu_mut()[[6, 7, 9]] = f32::NEG_INFINITY;
    assert_eq!(ct.non_finite_counts(), (1, 2));
    let e = DrrVolume::new(&ct).unwrap_err();
    assert_eq!(e.to_string(), "the CT has 3 voxels that are not numbers (1 NaN, 2 infinite); replace them (e.g. with -1024, air) first");
    let labels = ndarray::Array3::from_shape_fn(ct.hu().raw_dim(), |(k, j, i)| u16::from((2..9).contains(&k) && (2..9).contains(&j) && (2..9).contains(&i)));
    let mask = coxa_core::LabelMap::new(ct.grid().clone(), labels, coxa_core::ClassTable::new()).unwrap();
    let mut params = crate::Params::default();
    params.settings.label = 1;
    let e = crate::extract(&ct, &mask, &params).unwrap_err();
    assert!(matches!(e, crate::Error::NonFiniteImage { nan: 1, infinite: 2 }), "{e}");
    let e = crate::density::sample_tissues(&ct, None, None, &crate::density::CalibrationSettings::default()).unwrap_err();
    assert!(matches!(e, crate::density::DensityError::NonFinite { nan: 1, infinite: 2 }), "{e}");
    // Finite but no CT's: values spanning 2e38 asked for 8e36 gray levels, an allocation that
    // aborted the process (found by fuzz_float_image); now refused before allocating.
    ct.hu_mut()[[3, 4, 5]] = 0.0;
    ct.hu_mut()[[6, 7, 9]] = 0.0;
    ct.hu_mut()[[6, 7, 8]] = 1e38;
    ct.hu_mut()[[6, 7, 7]] = -1e38;
    let e = crate::extract(&ct, &mask, &params).unwrap_err();
    assert!(matches!(e, crate::Error::TooLarge { .. }) && e.to_string().contains("gray levels (the ROI's values span -1.000e38 to 1.000e38)"), "{e}");
}

#[test]
fn weights_made_in_place_equal_the_copied_ones() {
    let ct = random_ct();
    // The weights by their formula, voxel by voxel in [k, j, i] order.
    let formula: Vec<f32> = ct.hu().iter().map(|&h| (1.0 + h / 1000.0).max(0.0)).collect();
    let copied = DrrVolume::new(&ct).unwrap();
    // The same CT in column-major memory: not the readers' layout, the weights keep the order.
    let fortran = {
        let mut a = ndarray::Array3::<f32>::zeros(ndarray::ShapeBuilder::f(ct.hu().raw_dim()));
        a.assign(&*ct.hu());
        DrrVolume::from_volume(Volume::new(ct.grid().clone(), a).unwrap()).unwrap()
    };
    let mut body = Vec::new();
    for ((k, j, i), &h) in ct.hu().indexed_iter() {
        if h > -299.5 && (i + j * 47 + k * 47 * 39) % 3 == 0 {
            body.push(ct.grid().voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)));
        }
    }
    let in_place = DrrVolume::from_volume(ct).unwrap();
    let (copied_w, in_place_w, fortran_w) = (weights(&copied), weights(&in_place), weights(&fortran));
    assert!(copied_w.iter().zip(&in_place_w).all(|(a, b)| a.to_bits() == b.to_bits()) && copied_w.len() == in_place_w.len());
    assert!(formula.iter().zip(&in_place_w).all(|(a, b)| a.to_bits() == b.to_bits()) && formula.len() == in_place_w.len());
    assert!(formula.iter().zip(&fortran_w).all(|(a, b)| a.to_bits() == b.to_bits()) && formula.len() == fortran_w.len());
    assert_eq!((in_place.size, in_place.lps_from_voxel), (copied.size, copied.lps_from_voxel));
    let mut seen = Vec::new();
    in_place.for_each_voxel_above(0.7005, |[i, j, k]| {
        if (i + j * 47 + k * 47 * 39) % 3 == 0 {
            seen.push(in_place.voxel_to_lps([i, j, k]));
        }
    });
    assert_eq!(seen.len(), body.len());
    assert!(seen.iter().zip(&body).all(|(a, b)| (a - b).norm() < 1e-9));
}

/// Both casts of every pixel, the plane-by-plane one only where the geometry allows it.
fn both(vol: &DrrVolume, g: &XrayGeometry) -> (Option<Vec<f32>>, Vec<f32>) {
    match &vol.w {
        Weights::Made(w) => both_with(vol, w, &EMPTY_TABLE, g),
        Weights::Hu(w, t) => both_with(vol, w, t, g),
    }
}

fn both_with<T: Sample>(vol: &DrrVolume, w: &[T], t: &HuWeights, g: &XrayGeometry) -> (Option<Vec<f32>>, Vec<f32>) {
    let caster = Caster::new(vol, w, t, g);
    let mut tiled = vec![0f32; g.cols * g.rows];
    caster.tiled(&mut tiled);
    let parallel = caster.parallel_axes().map(|axes| {
        let mut out = vec![0f32; g.cols * g.rows];
        caster.parallel(&axes, &mut out);
        out
    });
    (parallel, tiled)
}

/// The plane-by-plane cast of a detector parallel to the planes sums the same samples in
/// the same order as the tiled one: the same values, bit for bit, including rays that
/// enter or leave through the grid's sides (a detector wider than the CT's shadow, off
/// centre) and band and tile edges (sizes that are not multiples of 32 or 64).
#[test]
fn parallel_cast_equals_the_tiled_cast() {
    let vol = DrrVolume::new(&random_ct()).unwrap();
    for (centre, cols, rows, pixel) in [(Point3::new(0.0, 0.0, 0.0), 150, 131, 0.9), (Point3::new(-23.0, 5.0, 17.0), 203, 77, 0.55), (Point3::new(5.0, -3.0, -2.0), 64, 420, 0.3)] {
        let g = ap_pelvis(centre, Vector3::x(), Vector3::z(), 40.0, 700.0, cols, rows, pixel).unwrap();
        let (parallel, tiled) = both(&vol, &g);
        let parallel = parallel.expect("an AP view in the CT's axes is parallel to its planes");
        let hit = tiled.iter().filter(|&&v| v > 0.0).count();
        assert!(hit > cols * rows / 4 && hit < cols * rows, "{hit} of {} rays hit: the edges are not exercised", cols * rows);
        let differ = parallel.iter().zip(&tiled).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "{differ} of {} pixels differ", tiled.len());
    }
}

/// Every weight, whatever the storage.
fn weights(v: &DrrVolume) -> Vec<f32> {
    match &v.w {
        Weights::Made(w) => w.clone(),
        Weights::Hu(h, t) => h.iter().map(|&h| h.w(t)).collect(),
    }
}

/// Issue 17: an integer CT kept as `i16` is cast from its HU sample by sample (no `f32`
/// weights) and gives the same pictures, bit for bit, as the same CT in `f32`, in the
/// parallel and the tiled casts, and the same body outline.
#[test]
fn an_i16_ct_projects_as_its_f32_copy() {
    let f = random_ct();
    let ints = f.hu().mapv(|v| v.round() as i16);
    let (as_f32, as_i16) = (Volume::new(f.grid().clone(), ints.mapv(f32::from)).unwrap(), Volume::from_i16(f.grid().clone(), ints).unwrap());
    let (a, b) = (DrrVolume::from_volume(as_f32).unwrap(), DrrVolume::from_volume(as_i16).unwrap());
    assert!(matches!((&a.w, &b.w), (Weights::Made(_), Weights::Hu(..))));
    assert!(weights(&a).iter().zip(&weights(&b)).all(|(x, y)| x.to_bits() == y.to_bits()));
    let ap = ap_pelvis(Point3::new(-23.0, 5.0, 17.0), Vector3::x(), Vector3::z(), 40.0, 700.0, 203, 77, 0.55).unwrap();
    let lateral = lateral_hip(Point3::origin(), Side::Right, 100.0, 700.0, 100, 100, 0.8).unwrap();
    for g in [ap, lateral] {
        let (pa, ta) = both(&a, &g);
        let (pb, tb) = both(&b, &g);
        assert!(ta.iter().filter(|&&v| v > 0.0).count() > 100);
        assert!(ta.iter().zip(&tb).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(pa.is_some(), pb.is_some());
        if let (Some(pa), Some(pb)) = (pa, pb) {
            assert!(pa.iter().zip(&pb).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        assert_eq!(a.project(&g), b.project(&g));
    }
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    a.for_each_voxel_above(0.7005, |ijk| sa.push(ijk));
    b.for_each_voxel_above(0.7005, |ijk| sb.push(ijk));
    assert!(!sa.is_empty() && sa == sb);
}

/// A phantom with smooth and sharp structures: a water ellipsoid (partial volume at its
/// skin) holding two bone balls and a bone rod, in air, on a flipped anisotropic grid.
pub(super) fn phantom_ct() -> Volume {
    let (ni, nj, nk) = (90usize, 70usize, 60usize);
    let grid = Grid::new([ni, nj, nk], Vector3::new(1.1, 1.3, 1.7), Vector3::new(49.0, 45.0, -50.0), Matrix3::from_diagonal(&Vector3::new(-1.0, -1.0, 1.0))).unwrap();
    let hu = ndarray::Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
        let body = ((p.x / 42.0).powi(2) + (p.y / 34.0).powi(2) + (p.z / 44.0).powi(2)).sqrt();
        let skin = (1.0 - (body - 1.0) * 20.0).clamp(0.0, 1.0) as f32;
        let bone = [Point3::new(-15.0, 3.0, 8.0), Point3::new(17.0, -6.0, -12.0)].iter().any(|c| (p - c).norm() < 9.0) || (p.x.hypot(p.y + 10.0) < 4.0 && p.z.abs() < 30.0);
        if bone { 1200.0 } else { -1000.0 + 1040.0 * skin }
    });
    Volume::new(grid, hu).unwrap()
}

/// The oblique cast of `g` (through its virtual detector), if the geometry allows it.
fn oblique_of(vol: &DrrVolume, g: &XrayGeometry) -> Option<Vec<f32>> {
    let Weights::Made(w) = &vol.w else { unreachable!("f32 phantoms") };
    let mut out = vec![0f32; g.cols * g.rows];
    oblique::cast(&Caster::new(vol, w, &EMPTY_TABLE, g), &mut out).then_some(out)
}

/// The line integral of the CT's trilinear interpolant (0 outside the grid) from the source
/// to pixel `(col, row)`, sampled every 0.02 mm (the trapezoid rule): the reference the casts
/// approximate, as the numpy peer of `tests/drr.rs` computes it.
fn brute_force(vol: &DrrVolume, w: &[f32], g: &XrayGeometry, col: usize, row: usize) -> f64 {
    let [ni, nj, nk] = vol.size;
    let at = |i: usize, j: usize, k: usize| f64::from(w[(k * nj + j) * ni + i]);
    let trilinear = |p: Vector3<f64>| -> f64 {
        let top = [(ni - 1) as f64, (nj - 1) as f64, (nk - 1) as f64];
        if (0..3).any(|a| p[a] < 0.0 || p[a] > top[a]) {
            return 0.0;
        }
        let f = p.map(|x| x.floor());
        let (i, j, k) = ((f.x as usize).min(ni - 2), (f.y as usize).min(nj - 2), (f.z as usize).min(nk - 2));
        let (u, v, t) = (p.x - i as f64, p.y - j as f64, p.z - k as f64);
        let plane = |k: usize| (at(i, j, k) * (1.0 - u) + at(i + 1, j, k) * u) * (1.0 - v) + (at(i, j + 1, k) * (1.0 - u) + at(i + 1, j + 1, k) * u) * v;
        plane(k) * (1.0 - t) + plane(k + 1) * t
    };
    let (a, b) = (g.source_lps_mm, g.pixel_lps(col as f64, row as f64));
    let len = (b - a).norm();
    let n = (len / 0.02).ceil() as usize;
    let mut sum = 0.0;
    for s in 0..=n {
        let p = vol.voxel_from_lps.transform_point(&(a + (b - a) * (s as f64 / n as f64))).coords;
        sum += trilinear(p) * if s == 0 || s == n { 0.5 } else { 1.0 };
    }
    sum * len / n as f64
}

/// Issue 42: a tilted AP and lateral views (the beam's dominant axis along the CT's rows:
/// its planes are sagittal, its columns strided) are cast through a virtual detector. Against
/// the exact line integral of the CT's trilinear interpolant, on every 5th ray through more
/// than 20 mm of water equivalent, they are within 1 % (the numpy peer's bound in
/// `tests/drr.rs`), as the tile-by-tile cast is; the detector cutting through the CT stops
/// the rays there too. `project` takes this cast; a steep cone keeps the tiled cast.
#[test]
fn oblique_views_equal_the_tiled_cast() {
    let vol = DrrVolume::new(&phantom_ct()).unwrap();
    let tilt = nalgebra::Rotation3::from_axis_angle(&Vector3::z_axis(), 0.14) * nalgebra::Rotation3::from_axis_angle(&Vector3::x_axis(), 0.1);
    let tilted = ap_pelvis(Point3::new(3.0, 0.0, -2.0), tilt * Vector3::x(), tilt * Vector3::z(), 40.0, 700.0, 160, 150, 0.7).unwrap();
    let lateral = lateral_hip(Point3::new(-10.0, 0.0, 5.0), Side::Right, 100.0, 700.0, 150, 140, 0.8).unwrap();
    let left = lateral_hip(Point3::new(12.0, 4.0, 0.0), Side::Left, 100.0, 900.0, 131, 97, 1.1).unwrap();
    // The detector 20 mm beyond the centre: inside the body.
    let cut = lateral_hip(Point3::origin(), Side::Right, 20.0, 700.0, 120, 120, 0.8).unwrap();
    let w = weights(&vol);
    for (name, g) in [("tilted", tilted), ("lateral", lateral), ("left lateral", left), ("cut", cut)] {
        let (parallel, tiled) = both(&vol, &g);
        assert!(parallel.is_none(), "{name}");
        let oblique = oblique_of(&vol, &g).unwrap_or_else(|| panic!("{name}: cast obliquely"));
        assert_eq!(vol.project(&g).as_slice().unwrap(), oblique.as_slice(), "{name}: project casts obliquely");
        let (mut n, mut worst, mut worst_tiled) = (0usize, 0.0f64, 0.0f64);
        for k in (0..g.cols * g.rows).step_by(5) {
            let exact = brute_force(&vol, &w, &g, k % g.cols, k / g.cols);
            if exact > 20.0 {
                n += 1;
                worst = worst.max((f64::from(oblique[k]) - exact).abs() / exact);
                worst_tiled = worst_tiled.max((f64::from(tiled[k]) - exact).abs() / exact);
            }
        }
        eprintln!("{name}: {n} rays, worst relative difference to the exact integral {worst:.2e} (the tiled cast: {worst_tiled:.2e})");
        assert!(n > g.cols * g.rows / 25, "{name}: {n} rays through the body");
        assert!(worst < 0.01, "{name}: worst relative difference {worst}");
    }
    let steep = ap_pelvis(Point3::origin(), Vector3::x(), Vector3::z(), 40.0, 150.0, 400, 400, 0.8).unwrap();
    assert!(oblique_of(&vol, &steep).is_none(), "a steep cone is cast tile by tile");
    let (_, tiled) = both(&vol, &steep);
    assert_eq!(vol.project(&steep).as_slice().unwrap(), tiled.as_slice());
}

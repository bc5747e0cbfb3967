use std::f64::consts::PI;

use coxa_core::{ClassTable, Grid, LabelMap, Mesh};
use nalgebra::{Matrix3, Point3, Rotation3, Vector3};
use ndarray::Array3;

use super::*;

/// A mask of the voxels whose centre is within `r` mm of `c` (LPS), and its voxel volume, mm³.
fn ball(grid: &Grid, c: Point3<f64>, r: f64) -> (Array3<bool>, f64) {
    let [nk, nj, ni] = grid.shape_kji();
    let m = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| (grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)) - c).norm() <= r);
    let voxel = grid.spacing_mm().product();
    let n = m.iter().filter(|&&b| b).count();
    (m, n as f64 * voxel)
}

fn iso_grid() -> Grid {
    Grid::axis_aligned([50, 50, 50], Vector3::repeat(1.0), Vector3::new(-24.5, -24.7, -24.3)).unwrap()
}

fn oblique_grid() -> Grid {
    let rot = Rotation3::from_euler_angles(0.4, -0.3, 0.9);
    let spacing = Vector3::new(0.7, 0.9, 1.6);
    let size = [70, 56, 32];
    // Centre the grid on (10, -20, 300).
    let half = Vector3::new(size[0] as f64 - 1.0, size[1] as f64 - 1.0, size[2] as f64 - 1.0).component_mul(&spacing) * 0.5;
    let origin = Vector3::new(10.0, -20.0, 300.0) - rot * half;
    Grid::new(size, spacing, origin, *rot.matrix()).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Every vertex's triangles form one disk (a single cycle of opposite edges).
fn is_vertex_manifold(m: &Mesh) -> bool {
    let mut opp: Vec<Vec<(u32, u32)>> = vec![Vec::new(); m.vertices().len()];
    for t in m.triangles() {
        for e in 0..3 {
            opp[t[e] as usize].push((t[(e + 1) % 3], t[(e + 2) % 3]));
        }
    }
    opp.iter().all(|ring| {
        if ring.is_empty() {
            return true;
        }
        let mut cur = ring[0].1;
        for _ in 1..ring.len() {
            match ring.iter().find(|(a, _)| *a == cur) {
                Some(&(_, b)) => cur = b,
                None => return false,
            }
        }
        cur == ring[0].0
    })
}

/// Centroid of the enclosed volume.
fn volume_centroid(m: &Mesh) -> Point3<f64> {
    let (mut v, mut c) = (0.0, Vector3::zeros());
    for t in 0..m.triangles().len() {
        let [a, b, d] = m.corners(t);
        let w = a.coords.dot(&b.coords.cross(&d.coords)) / 6.0;
        v += w;
        c += (a.coords + b.coords + d.coords) * (w / 4.0);
    }
    Point3::from(c / v)
}

fn check_closed(m: &Mesh, what: &str) {
    assert!(m.is_watertight(), "{what}: not watertight");
    assert!(is_vertex_manifold(m), "{what}: not vertex-manifold");
    assert!(m.signed_volume_mm3() > 0.0, "{what}: normals point inward");
}

#[test]
fn sphere_on_unit_grid() {
    let g = iso_grid();
    let r = 20.0;
    let (mask, voxel_volume) = ball(&g, Point3::origin(), r);
    let exact = 4.0 / 3.0 * PI * r.powi(3);
    let raw = mesh_from_mask(mask.view(), &g, &SurfaceOptions::raw()).unwrap();
    check_closed(&raw, "raw");
    let smooth = mesh_from_mask(mask.view(), &g, &SurfaceOptions::raw().with_smoothing_iterations(20)).unwrap();
    check_closed(&smooth, "smoothed");
    let default = mesh_from_mask(mask.view(), &g, &SurfaceOptions::default()).unwrap();
    check_closed(&default, "default");
    let (vr, vs, vd) = (raw.signed_volume_mm3(), smooth.signed_volume_mm3(), default.signed_volume_mm3());
    eprintln!("voxels {voxel_volume} exact {exact:.1} raw {vr:.1} smoothed {vs:.1} default {vd:.1} ({} -> {} triangles)", raw.triangles().len(), default.triangles().len());
    for (v, what) in [(vr, "raw"), (vs, "smoothed"), (vd, "default")] {
        assert!(rel(v, voxel_volume) < 0.01, "{what}: {v} vs voxel count {voxel_volume}");
        assert!(rel(v, exact) < 0.01, "{what}: {v} vs 4/3 pi r^3 {exact}");
    }
    assert!(rel(vs, vr) < 0.01, "smoothing changed the volume from {vr} to {vs}");
    // Smoothing brings the surface closer to the true sphere.
    let rms = |m: &Mesh| (m.vertices().iter().map(|p| (p.coords.norm() - r).powi(2)).sum::<f64>() / m.vertices().len() as f64).sqrt();
    eprintln!("RMS distance to the sphere: raw {:.3} smoothed {:.3} default {:.3} mm", rms(&raw), rms(&smooth), rms(&default));
    assert!(rms(&smooth) < rms(&raw));
    // Decimation to 10 %.
    let dec = mesh_from_mask(mask.view(), &g, &SurfaceOptions::default().with_decimation(Decimation::KeepRatio(0.1))).unwrap();
    check_closed(&dec, "decimated");
    assert!(dec.triangles().len() <= raw.triangles().len() / 10 + 1, "{} triangles", dec.triangles().len());
    assert!(rel(dec.signed_volume_mm3(), vs) < 0.01, "decimation: {} vs {vs}", dec.signed_volume_mm3());
    // No flipped face: every face normal points away from the centre.
    for t in 0..dec.triangles().len() {
        let [a, b, c] = dec.corners(t);
        assert!(dec.face_normal_scaled(t).dot(&((a.coords + b.coords + c.coords) / 3.0)) > 0.0, "face {t} is flipped");
    }
    assert!(rel(dec.signed_volume_mm3(), exact) < 0.01);
}

#[test]
fn sphere_on_anisotropic_oblique_grid() {
    let g = oblique_grid();
    let c = Point3::new(10.0, -20.0, 300.0) + Vector3::new(0.3, -0.2, 0.1);
    let r = 20.0;
    let (mask, voxel_volume) = ball(&g, c, r);
    let exact = 4.0 / 3.0 * PI * r.powi(3);
    let raw = mesh_from_mask(mask.view(), &g, &SurfaceOptions::raw()).unwrap();
    check_closed(&raw, "raw");
    let m = mesh_from_mask(mask.view(), &g, &SurfaceOptions::default()).unwrap();
    check_closed(&m, "default");
    let (vr, v) = (raw.signed_volume_mm3(), m.signed_volume_mm3());
    eprintln!("oblique: voxels {voxel_volume:.1} exact {exact:.1} raw {vr:.1} default {v:.1}");
    assert!(rel(vr, voxel_volume) < 0.01 && rel(v, voxel_volume) < 0.01 && rel(v, exact) < 0.01);
    assert!(rel(v, vr) < 0.01);
    // The surface is where the sphere is, in LPS.
    let centre = volume_centroid(&m);
    assert!((centre - c).norm() < 0.2, "centroid {centre} vs {c}");
    let dec = mesh_from_mask(mask.view(), &g, &SurfaceOptions::default().with_decimation(Decimation::KeepRatio(0.1))).unwrap();
    check_closed(&dec, "decimated");
    assert!(rel(dec.signed_volume_mm3(), exact) < 0.01);
}

#[test]
fn mirrored_grid_gives_mirrored_outward_mesh() {
    // An off-centre, asymmetric blob.
    let g = Grid::axis_aligned([24, 20, 18], Vector3::new(1.0, 1.2, 1.5), Vector3::new(3.0, -4.0, 5.0)).unwrap();
    let mask = Array3::from_shape_fn((18, 20, 24), |(k, j, i)| {
        let (x, y, z) = (i as f64 - 9.0, j as f64 - 10.0, k as f64 - 8.0);
        x * x / 36.0 + y * y / 49.0 + z * z / 25.0 <= 1.0 || (i > 14 && i < 20 && j > 8 && j < 12 && k > 6 && k < 10)
    });
    let mut d = Matrix3::identity();
    d[(0, 0)] = -1.0;
    let flipped = Grid::new(g.size(), g.spacing_mm(), Vector3::new(-3.0, -4.0, 5.0), d).unwrap();
    for opts in [SurfaceOptions::raw(), SurfaceOptions::default()] {
        let a = mesh_from_mask(mask.view(), &g, &opts).unwrap();
        let b = mesh_from_mask(mask.view(), &flipped, &opts).unwrap();
        check_closed(&a, "original");
        check_closed(&b, "mirrored");
        assert!((a.signed_volume_mm3() - b.signed_volume_mm3()).abs() < 1e-9 * a.signed_volume_mm3());
        // b is a mirrored: same vertex set with x negated.
        let mirror = Matrix4::from_diagonal(&nalgebra::Vector4::new(-1.0, 1.0, 1.0, 1.0));
        let am = a.transformed(&mirror);
        let key = |p: &Point3<f64>| [p.x, p.y, p.z].map(|c| (c * 1e6).round() as i64);
        let mut va: Vec<_> = am.vertices().iter().map(key).collect();
        let mut vb: Vec<_> = b.vertices().iter().map(key).collect();
        va.sort_unstable();
        vb.sort_unstable();
        assert_eq!(va, vb);
    }
}
use nalgebra::Matrix4;

#[test]
fn random_masks_are_closed_manifolds() {
    // Noise exercises every ambiguous configuration, specks and diagonal contacts.
    let g = Grid::axis_aligned([12, 11, 10], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
    let mut seed = 12345u64;
    for density in [0.1, 0.3, 0.5, 0.7, 0.9] {
        for _ in 0..6 {
            let mask = Array3::from_shape_fn((10, 11, 12), |_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 33) as f64 / (1u64 << 31) as f64) < density
            });
            let n = mask.iter().filter(|&&b| b).count() as f64;
            let m = mesh_from_mask(mask.view(), &g, &SurfaceOptions::raw()).unwrap();
            check_closed(&m, &format!("noise {density}"));
            // Closed pieces: at least the octahedra (1/6 mm³ per voxel); joined diagonal contacts
            // add bridges, a little beyond the voxel count in noise.
            let v = m.signed_volume_mm3();
            assert!(v > n / 6.0 - 1e-9 && v <= 1.1 * n, "volume {v} for {n} voxels");
            let s = mesh_from_mask(mask.view(), &g, &SurfaceOptions::default().with_decimation(Decimation::KeepRatio(0.3))).unwrap();
            assert!(s.is_watertight() && is_vertex_manifold(&s), "smoothed+decimated noise {density}");
        }
    }
}

#[test]
fn every_single_cube_configuration() {
    let g = Grid::axis_aligned([2, 2, 2], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
    for case in 1..256usize {
        let mask = Array3::from_shape_fn((2, 2, 2), |(k, j, i)| case >> (i + 2 * j + 4 * k) & 1 == 1);
        let m = mesh_from_mask(mask.view(), &g, &SurfaceOptions::raw()).unwrap();
        check_closed(&m, &format!("case {case:#010b}"));
    }
}

#[test]
fn labels_volume_border_and_errors() {
    let g = Grid::axis_aligned([6, 5, 4], Vector3::new(1.0, 2.0, 3.0), Vector3::zeros()).unwrap();
    // A label filling the whole volume: closed at the border, volume = box of voxel centres + half voxels.
    let all = Array3::from_elem((4, 5, 6), 7u16);
    let map = LabelMap::new(g.clone(), all, ClassTable::new()).unwrap();
    let m = mesh_from_labels(&map, 7, &SurfaceOptions::raw()).unwrap();
    check_closed(&m, "full volume");
    // The box, minus the chamfered edges and corners.
    assert!(m.signed_volume_mm3() < 6.0 * 10.0 * 12.0 && m.signed_volume_mm3() > 0.8 * 6.0 * 10.0 * 12.0);
    let err = mesh_from_labels(&map, 75, &SurfaceOptions::default()).unwrap_err();
    assert!(matches!(err, SurfaceError::EmptyMask { label: Some(75) }), "{err}");
    assert!(err.to_string().contains("label 75"), "{err}");
    let empty = Array3::from_elem((4, 5, 6), false);
    assert!(matches!(mesh_from_mask(empty.view(), &g, &SurfaceOptions::default()), Err(SurfaceError::EmptyMask { label: None })));
    let wrong = Array3::from_elem((5, 4, 6), true);
    assert!(matches!(mesh_from_mask(wrong.view(), &g, &SurfaceOptions::default()), Err(SurfaceError::ShapeMismatch { .. })));
    for bad in [
        SurfaceOptions::default().with_taubin(f64::NAN, 0.1),
        SurfaceOptions::default().with_taubin(0.5, 1.5),
        SurfaceOptions::default().with_decimation(Decimation::KeepRatio(0.0)),
        SurfaceOptions::default().with_decimation(Decimation::Triangles(2)),
    ] {
        assert!(matches!(mesh_from_labels(&map, 7, &bad), Err(SurfaceError::InvalidOptions { .. })), "{bad:?}");
    }
}

#[test]
fn several_labels_at_once_and_largest_component() {
    let g = Grid::axis_aligned([30, 20, 20], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
    let labels = Array3::from_shape_fn((20, 20, 30), |(k, j, i)| {
        let d = |c: [f64; 3]| ((i as f64 - c[0]).powi(2) + (j as f64 - c[1]).powi(2) + (k as f64 - c[2]).powi(2)).sqrt();
        if d([8.0, 10.0, 10.0]) <= 6.0 {
            1
        } else if d([22.0, 10.0, 10.0]) <= 5.0 || (i == 28 && j == 2 && k == 2) {
            2
        } else {
            0
        }
    });
    let map = LabelMap::new(g, labels, ClassTable::new()).unwrap();
    let opts = SurfaceOptions::raw();
    let all = meshes_from_labels(&map, &[2, 1, 9, 2], &opts);
    assert_eq!(all.len(), 4);
    assert!(matches!(all[2], Err(SurfaceError::EmptyMask { label: Some(9) })));
    assert_eq!(all[3].as_ref().unwrap(), all[0].as_ref().unwrap());
    let one = mesh_from_labels(&map, 1, &opts).unwrap();
    assert_eq!(all[1].as_ref().unwrap(), &one);
    let two = all[0].as_ref().unwrap();
    let kept = mesh_from_labels(&map, 2, &opts.clone().with_keep_largest_component(true)).unwrap();
    // The speck is an octahedron of 1/6 mm³ and 8 triangles.
    assert_eq!(two.triangles().len(), kept.triangles().len() + 8);
    assert!((two.signed_volume_mm3() - kept.signed_volume_mm3() - 1.0 / 6.0).abs() < 1e-9);
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let g = iso_grid();
    let (mask, _) = ball(&g, Point3::new(1.0, 2.0, -3.0), 15.0);
    let a = mesh_from_mask(mask.view(), &g, &SurfaceOptions::default()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = pool.install(|| mesh_from_mask(mask.view(), &g, &SurfaceOptions::default()).unwrap());
    assert_eq!(a, b);
}

#[test]
fn errors_are_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<SurfaceError>();
}

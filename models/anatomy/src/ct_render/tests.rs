use nalgebra::{Point3, Vector3};
use ndarray::Array3;

use coxa_core::{Mesh, Side};

use super::joint::{migration_direction, place_femur};
use super::scanner::gaussian_blur;
use super::sets::{Role, Subject, TEST_SEED_BASE, test_set, tuning_set};
use super::*;

/// A closed, outward UV sphere.
fn sphere(c: Point3<f64>, r: f64, n: usize) -> Mesh {
    let mut v = vec![c + Vector3::z() * r];
    for a in 1..n {
        let th = std::f64::consts::PI * a as f64 / n as f64;
        for b in 0..2 * n {
            let ph = std::f64::consts::PI * b as f64 / n as f64;
            v.push(c + Vector3::new(th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()) * r);
        }
    }
    v.push(c - Vector3::z() * r);
    let ring = |a: usize, b: usize| (1 + (a - 1) * 2 * n + b % (2 * n)) as u32;
    let last = (v.len() - 1) as u32;
    let mut f = Vec::new();
    for b in 0..2 * n {
        f.push([0, ring(1, b), ring(1, b + 1)]);
        f.push([last, ring(n - 1, b + 1), ring(n - 1, b)]);
        for a in 1..n - 1 {
            f.push([ring(a, b), ring(a + 1, b), ring(a + 1, b + 1)]);
            f.push([ring(a, b), ring(a + 1, b + 1), ring(a, b + 1)]);
        }
    }
    Mesh::new(v, f).unwrap()
}

/// A ball of bone of radius `outer` about `c_out` with a spherical cavity of radius `inner`
/// about `c_in` (the cavity's surface facing inwards): a closed outward surface.
fn hollow(c_in: Point3<f64>, inner: f64, c_out: Point3<f64>, outer: f64) -> Mesh {
    let (mut v, mut f) = sphere(c_out, outer, 60).into_parts();
    let (vi, fi) = sphere(c_in, inner, 60).into_parts();
    let n = v.len() as u32;
    v.extend(vi);
    f.extend(fi.into_iter().map(|[a, b, c]| [a + n, c + n, b + n]));
    Mesh::new(v, f).unwrap()
}

fn sharp(spacing_mm: [f64; 3]) -> RenderSpec {
    RenderSpec { spacing_mm, psf_fwhm_mm: [0.0, 0.0], noise_sd_hu: 0.0, ..RenderSpec::default() }
}

/// Voxel count and centroid (LPS) of `label`.
fn count_and_centroid(r: &RenderedCt, label: u16) -> (usize, Point3<f64>) {
    let g = r.labels.grid();
    let (mut n, mut s) = (0usize, Vector3::zeros());
    for ((k, j, i), &l) in r.labels.labels().indexed_iter() {
        if l == label {
            n += 1;
            s += g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)).coords;
        }
    }
    (n, Point3::from(s / n.max(1) as f64))
}

fn hu_at(r: &RenderedCt, p: Point3<f64>) -> f32 {
    let g = r.ct.grid();
    let v = g.lps_to_voxel(&p);
    r.ct.hu()[[v.z.round() as usize, v.y.round() as usize, v.x.round() as usize]]
}

#[test]
fn a_sharp_sphere_has_its_volume_centre_and_tissues() {
    let c = Point3::new(3.3, -7.1, 12.4);
    let m = sphere(c, 20.0, 80);
    let spec = sharp([0.8, 0.8, 1.0]);
    let r = render_ct(&[SourceBone { label: 25, mesh: &m }], &spec).unwrap();
    let (n, centroid) = count_and_centroid(&r, 25);
    let vol = n as f64 * 0.8 * 0.8 * 1.0;
    assert!((vol / m.signed_volume_mm3() - 1.0).abs() < 0.01, "{vol} vs {}", m.signed_volume_mm3());
    // Centre within a tenth of a voxel.
    assert!((centroid - c).abs().iter().zip([0.08, 0.08, 0.1]).all(|(d, t)| *d < t), "{centroid} vs {c}");
    // No tilt: the identity.
    assert!((r.truth.ct_from_source.to_homogeneous() - nalgebra::Matrix4::identity()).norm() < 1e-12);
    // Exact tissue values without blur and noise.
    let t = Tissue::default();
    assert_eq!(hu_at(&r, c), t.trabecular_hu);
    assert_eq!(hu_at(&r, c + Vector3::x() * 19.4), t.cortical_hu);
    assert_eq!(hu_at(&r, c + Vector3::x() * 25.0), t.muscle_hu);
    assert_eq!(hu_at(&r, c - Vector3::y() * (20.0 + t.soft_tissue_mm - 8.0)), t.fat_hu);
    assert_eq!(hu_at(&r, c - Vector3::y() * (20.0 + t.soft_tissue_mm - 1.0)), t.skin_hu);
    assert_eq!(hu_at(&r, c - Vector3::y() * (20.0 + t.soft_tissue_mm + 5.0)), t.air_hu);
    // The grid is the spec's.
    let sp = r.ct.grid().spacing_mm();
    assert_eq!([sp.x, sp.y, sp.z], [0.8, 0.8, 1.0]);
}

#[test]
fn the_joint_space_is_the_requested_width() {
    // A ball of 20 mm in a concentric socket of 23 mm: the dome gap is 3 mm; moving the ball
    // s mm towards the dome leaves 3 - s, so 1.5 mm needs s = 1.5 along the migration direction.
    let c = Point3::new(90.0, 0.0, 0.0);
    // The socket is a cavity in a ball of bone: a hollow sphere, its inner surface facing inwards.
    let (ball, socket) = (sphere(c, 20.0, 60), hollow(c, 23.0, c, 60.0));
    let kept = place_femur(&ball, &socket, Side::Left, c, 20.0, None).unwrap();
    assert_eq!(kept.shift_mm, Vector3::zeros());
    assert!((kept.dome_gap_mm - 3.0).abs() < 0.02, "{kept:?}");
    for w in [0.0, 1.5, 2.5] {
        let p = place_femur(&ball, &socket, Side::Left, c, 20.0, Some(w)).unwrap();
        assert!((p.dome_gap_mm - w).abs() < 0.01, "{w}: {p:?}");
        assert!((p.shift_mm - migration_direction(Side::Left) * (3.0 - w)).norm() < 0.03, "{w}: {p:?}");
        assert!((p.min_gap_mm - w).abs() < 0.03, "{w}: {p:?}");
    }
    // Widened, the ball is scaled about its centre: (23 - 4.5) / 20 = 0.925, no move, and the
    // space is 4.5 mm all round (every placed vertex 18.5 mm from the centre).
    let p = place_femur(&ball, &socket, Side::Left, c, 20.0, Some(4.5)).unwrap();
    assert!((p.dome_gap_mm - 4.5).abs() < 0.01 && (p.scale - 0.925).abs() < 1e-3 && p.shift_mm == Vector3::zeros(), "{p:?}");
    assert!((p.min_gap_mm - 4.5).abs() < 0.02, "{p:?}");
    let placed = ball.transformed(&p.transform());
    let d: Vec<f64> = placed.vertices().iter().map(|v| (v - c).norm()).collect();
    let (lo, hi) = (d.iter().copied().fold(f64::INFINITY, f64::min), d.iter().copied().fold(0.0, f64::max));
    assert!(hi - lo < 1e-9 && (lo - 18.5).abs() < 0.01, "gap from {} to {} mm", 23.0 - hi, 23.0 - lo);
    // Superolateral: up and to the patient's own side.
    assert!(migration_direction(Side::Left).x > 0.0 && migration_direction(Side::Right).x < 0.0 && migration_direction(Side::Right).z > 0.9);
    assert!(place_femur(&ball, &socket, Side::Left, c, 20.0, Some(15.5)).is_err(), "a gap of 15.5 mm is out of reach");
}

#[test]
fn a_femur_that_would_enter_the_hip_bone_is_refused() {
    // A ball of 20 mm in a socket of 23 mm whose centre is 3.5 mm anterior of the ball's: the
    // ball is 0.5 mm into the anterior wall. Kept, or narrowed superolaterally (which moves it
    // across that wall, not away from it), the placement is a collision and is refused.
    let c = Point3::new(90.0, 0.0, 0.0);
    let v = -Vector3::y();
    let ball = sphere(c, 20.0, 60);
    let socket = hollow(c + v * 3.5, 23.0, c, 60.0);
    for w in [None, Some(0.5)] {
        let e = place_femur(&ball, &socket, Side::Left, c, 20.0, w).unwrap_err();
        assert!(e.contains("enters the hip bone by 0.5") && e.contains("collision"), "{w:?}: {e}");
    }
    // Widened to 4.5 mm in the dome (its narrowest point at the cone's edge on the far side,
    // w.v = -1/2): 400 k^2 + 70 k + 12.25 = 18.5^2 gives k = 0.825; the narrowest gap is then
    // 23 - 3.5 - 20 k = 3 mm, opposite the offset.
    // A head widened below the smallest adult radius is refused too: a ball of 17 mm in a
    // concentric socket of 20 mm needs 14.5 / 17 for 5.5 mm, a head of 14.5 mm.
    let (small, small_socket) = (sphere(c, 17.0, 60), hollow(c, 20.0, c, 60.0));
    assert!(place_femur(&small, &small_socket, Side::Left, c, 17.0, Some(4.0)).is_ok());
    let e = place_femur(&small, &small_socket, Side::Left, c, 17.0, Some(5.5)).unwrap_err();
    assert!(e.contains("a head of 14.5 mm radius"), "{e}");
    let p = place_femur(&ball, &socket, Side::Left, c, 20.0, Some(4.5)).unwrap();
    assert!((p.scale - 0.825).abs() < 2e-3 && (p.dome_gap_mm - 4.5).abs() < 0.02 && (p.min_gap_mm - 3.0).abs() < 0.05, "{p:?}");
}

#[test]
fn the_tilt_moves_a_known_point_where_the_transform_says() {
    let (a, b) = (Point3::new(-60.0, 0.0, 0.0), Point3::new(60.0, 10.0, -30.0));
    let (ma, mb) = (sphere(a, 15.0, 60), sphere(b, 12.0, 60));
    let spec = RenderSpec { tilt_deg: [8.0, -10.0, 6.0], ..sharp([0.9, 0.9, 1.0]) };
    let r = render_ct(&[SourceBone { label: 25, mesh: &ma }, SourceBone { label: 77, mesh: &mb }], &spec).unwrap();
    let t = r.truth.ct_from_source;
    // The rotation is the spec's: 10 deg about y alone would turn x by 10 deg; here the angle of the composed rotation is within the sum.
    assert!(t.rotation.angle().to_degrees() > 10.0 && t.rotation.angle().to_degrees() < 24.0);
    for (label, src, mesh) in [(25u16, a, &ma), (77, b, &mb)] {
        let (_, centroid) = count_and_centroid(&r, label);
        let want = t * src;
        assert!((centroid - want).norm() < 0.1, "{label}: {centroid} vs {want}");
        // The posed surface is the source surface moved by the transform.
        let posed = &r.truth.posed_bones.iter().find(|(l, _)| *l == label).unwrap().1;
        for (p, q) in posed.vertices().iter().zip(mesh.vertices()) {
            assert!((p - t * q).norm() < 1e-9);
        }
    }
}

#[test]
fn blur_preserves_the_mean_and_has_the_stated_width() {
    // An impulse on a 1 mm grid blurred with FWHM 2.3548 mm (sigma 1 mm) in-plane and 4.7096 mm
    // (sigma 2 mm) along z: sum 1, variance 1 and 4 mm^2.
    let (n, m) = (21usize, 31usize);
    let mut a = Array3::<f32>::zeros((m, n, n));
    a[[15, 10, 10]] = 1000.0;
    let f = (8.0 * 2f64.ln()).sqrt();
    gaussian_blur(&mut a, [1.0, 1.0, 1.0], [f, f, 2.0 * f]);
    let sum: f64 = a.iter().map(|x| f64::from(*x)).sum();
    assert!((sum - 1000.0).abs() < 1e-2, "{sum}");
    let var = |axis: usize, c: f64| a.indexed_iter().map(|((k, j, i), x)| f64::from(*x) * ([i, j, k][axis] as f64 - c).powi(2)).sum::<f64>() / sum;
    assert!((var(0, 10.0) - 1.0).abs() < 0.01, "{}", var(0, 10.0));
    assert!((var(1, 10.0) - 1.0).abs() < 0.01, "{}", var(1, 10.0));
    assert!((var(2, 15.0) - 4.0).abs() < 0.02, "{}", var(2, 15.0));
    // A constant stays constant (edges replicate).
    let mut b = Array3::<f32>::from_elem((5, 6, 7), 42.0);
    gaussian_blur(&mut b, [0.8, 0.8, 1.25], [1.0, 1.0, 1.25]);
    assert!(b.iter().all(|x| (x - 42.0).abs() < 1e-3));
}

#[test]
fn renders_are_deterministic_and_the_noise_has_its_sd() {
    let m = sphere(Point3::origin(), 15.0, 40);
    let bones = [SourceBone { label: 25, mesh: &m }];
    // Air at -500 HU here, so that the 12-bit range's floor (-1024) does not clip the noise.
    let tissue = Tissue { air_hu: -500.0, ..Tissue::default() };
    let spec = RenderSpec { psf_fwhm_mm: [0.0, 0.0], noise_sd_hu: 30.0, seed: 7, tissue, ..RenderSpec::default() };
    let (r1, r2) = (render_ct(&bones, &spec).unwrap(), render_ct(&bones, &spec).unwrap());
    assert_eq!(r1.ct, r2.ct);
    assert_eq!(r1.labels, r2.labels);
    let r3 = render_ct(&bones, &RenderSpec { seed: 8, ..spec.clone() }).unwrap();
    assert_ne!(r1.ct, r3.ct);
    // Air voxels have SD 30 HU about -500.
    let air: Vec<f64> = r1.ct.hu().iter().map(|x| f64::from(*x)).filter(|x| *x < -300.0).collect();
    let mean = air.iter().sum::<f64>() / air.len() as f64;
    let sd = (air.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / air.len() as f64).sqrt();
    assert!(air.len() > 50_000 && (mean + 500.0).abs() < 0.5 && (sd / 30.0 - 1.0).abs() < 0.02, "{} voxels, mean {mean}, sd {sd}", air.len());
}

#[test]
fn bad_specs_are_refused() {
    let m = sphere(Point3::origin(), 10.0, 10);
    let bones = [SourceBone { label: 25, mesh: &m }];
    let bad = [
        RenderSpec { tilt_deg: [0.0, 12.0, 0.0], ..RenderSpec::default() },
        RenderSpec { spacing_mm: [0.05, 0.8, 1.0], ..RenderSpec::default() },
        RenderSpec { joint_space_mm: [Some(-1.0), None], ..RenderSpec::default() },
        RenderSpec { noise_sd_hu: f64::NAN, ..RenderSpec::default() },
        RenderSpec { metal: Some(Side::Left), ..RenderSpec::default() },
    ];
    for s in bad {
        assert!(matches!(render_ct(&bones, &s), Err(RenderError::Invalid(_))), "{s:?}");
    }
    assert!(matches!(render_ct(&[], &RenderSpec::default()), Err(RenderError::Invalid(_))));
    let big = sphere(Point3::origin(), 400.0, 10);
    let e = render_ct(&[SourceBone { label: 25, mesh: &big }], &RenderSpec { spacing_mm: [0.3, 0.3, 0.3], ..RenderSpec::default() }).unwrap_err();
    assert!(matches!(e, RenderError::TooLarge { .. }), "{e}");
}

#[test]
fn the_sets_are_apart_and_the_test_set_covers_the_clinical_grids() {
    let (test, tuning) = (test_set(), tuning_set());
    assert!(test.len() >= 20);
    assert!(test.iter().all(|c| c.role == Role::Test && c.spec.seed >= TEST_SEED_BASE));
    assert!(tuning.iter().all(|c| c.role == Role::Tuning && c.spec.seed < TEST_SEED_BASE));
    for c in &tuning {
        assert!(!test.iter().any(|t| t.subject == c.subject), "{} shares its subject with the test set", c.name);
    }
    assert!(test.iter().any(|c| c.subject == Subject::Z013));
    let slices: Vec<f64> = test.iter().map(|c| c.spec.spacing_mm[2]).collect();
    for s in [0.6, 0.8, 1.0, 1.25] {
        assert!(slices.contains(&s), "no {s} mm slices");
    }
    let inplane = test.iter().map(|c| c.spec.spacing_mm[0]);
    assert!(inplane.clone().any(|x| x <= 0.6) && inplane.clone().any(|x| x >= 0.98) && inplane.clone().all(|x| (0.6..=0.98).contains(&x)));
    assert!(test.iter().any(|c| c.spec.extent == Extent::FullLength) && test.iter().any(|c| c.spec.extent == Extent::CutBelowTrochanters));
    let joints = || test.iter().flat_map(|c| c.spec.joint_space_mm.into_iter().flatten());
    assert!(joints().any(|w| (4.0..=5.0).contains(&w)) && joints().any(|w| w <= 2.0));
    assert!(test.iter().any(|c| c.spec.tilt_deg.iter().any(|t| t.abs() >= 10.0)) && test.iter().all(|c| c.spec.tilt_deg.iter().all(|t| t.abs() <= 10.0)));
    assert!(test.iter().filter(|c| c.spec.metal.is_some()).count() >= 3);
    let mut names: Vec<&str> = test.iter().chain(&tuning).map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), test.len() + tuning.len());
}

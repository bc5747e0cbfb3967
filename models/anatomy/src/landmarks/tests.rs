//! Analytic phantoms with exact answers.

use approx::assert_relative_eq;
use nalgebra::{Matrix4, Point3, Rotation3, Vector3, Vector4};

use coxa_core::{Angle, CupAngleDefinition, CupAngles, Mesh, Side};

use super::{acetabulum_landmarks, femur_landmarks};

/// Appends a closed UV sphere (outward) to `v`/`t`.
fn sphere(v: &mut Vec<Point3<f64>>, t: &mut Vec<[u32; 3]>, c: Point3<f64>, r: f64, inward: bool) {
    let (nlat, nlon) = (60u32, 120u32);
    let base = v.len() as u32;
    v.push(c + Vector3::new(0.0, 0.0, r));
    for i in 1..nlat {
        let th = std::f64::consts::PI * f64::from(i) / f64::from(nlat);
        for j in 0..nlon {
            let ph = std::f64::consts::TAU * f64::from(j) / f64::from(nlon);
            v.push(c + r * Vector3::new(th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()));
        }
    }
    v.push(c - Vector3::new(0.0, 0.0, r));
    let ring = |i: u32, j: u32| base + 1 + (i - 1) * nlon + (j % nlon);
    let south = base + 1 + (nlat - 1) * nlon;
    let mut push = |a: u32, b: u32, c: u32| t.push(if inward { [a, c, b] } else { [a, b, c] });
    for j in 0..nlon {
        push(base, ring(1, j), ring(1, j + 1));
        push(south, ring(nlat - 1, j + 1), ring(nlat - 1, j));
        for i in 1..nlat - 1 {
            push(ring(i, j), ring(i + 1, j), ring(i + 1, j + 1));
            push(ring(i, j), ring(i + 1, j + 1), ring(i, j + 1));
        }
    }
}

/// Appends a closed tube (outward, capped) from `a` to `b`.
fn tube(v: &mut Vec<Point3<f64>>, t: &mut Vec<[u32; 3]>, a: Point3<f64>, b: Point3<f64>, r: f64) {
    let (n_around, n_along) = (72u32, 80u32);
    let axis = (b - a).normalize();
    let e1 = axis.cross(&Vector3::new(0.3, 0.5, 0.8)).normalize();
    let e2 = axis.cross(&e1);
    let base = v.len() as u32;
    for k in 0..=n_along {
        let p = a + (b - a) * (f64::from(k) / f64::from(n_along));
        for j in 0..n_around {
            let ph = std::f64::consts::TAU * f64::from(j) / f64::from(n_around);
            v.push(p + r * (e1 * ph.cos() + e2 * ph.sin()));
        }
    }
    let id = |k: u32, j: u32| base + k * n_around + (j % n_around);
    for k in 0..n_along {
        for j in 0..n_around {
            t.push([id(k, j), id(k, j + 1), id(k + 1, j + 1)]);
            t.push([id(k, j), id(k + 1, j + 1), id(k + 1, j)]);
        }
    }
    let (ca, cb) = (v.len() as u32, v.len() as u32 + 1);
    v.push(a);
    v.push(b);
    for j in 0..n_around {
        t.push([ca, id(0, j + 1), id(0, j)]);
        t.push([cb, id(n_along, j), id(n_along, j + 1)]);
    }
}

/// A left femur: head sphere (r 22) on an 80 mm neck tube (r 13) at neck-shaft angle `nsa_deg`,
/// on a 240 mm shaft tube along z; the neck turned `av_deg` anterior about the shaft. The parts
/// are separate closed surfaces; the neck is long enough that no neck-search plane (up to 1.9
/// head radii) reaches the shaft's surface, which a real, single bone surface would not have inside.
fn femur_phantom(centre: Point3<f64>, nsa_deg: f64, av_deg: f64) -> (Mesh, Vector3<f64>) {
    let (mut v, mut t) = (Vec::new(), Vec::new());
    // Neck direction from head to trochanter, for a left femur (lateral = +x, posterior = +y).
    let nsa = nsa_deg.to_radians();
    let av = av_deg.to_radians();
    let horizontal = Vector3::new(av.cos(), av.sin(), 0.0); // towards lateral, turned posterior: head points anterior
    let d = (horizontal * nsa.sin() - Vector3::z() * nsa.cos()).normalize();
    let d = Vector3::new(d.x, d.y, -d.z.abs());
    sphere(&mut v, &mut t, centre, 22.0, false);
    let neck_end = centre + d * 80.0;
    tube(&mut v, &mut t, centre, neck_end, 13.0);
    tube(&mut v, &mut t, neck_end, neck_end - Vector3::new(0.0, 0.0, 240.0), 15.0);
    // Greater trochanter: a ball lateral of the shaft, its top 5 mm above the head centre.
    let gt = Point3::new(neck_end.x + 8.0, neck_end.y, centre.z - 5.0);
    sphere(&mut v, &mut t, gt, 10.0, false);
    (Mesh::new(v, t).unwrap(), d)
}

#[test]
fn femur_phantom_head_neck_and_angle_are_exact() {
    let c = Point3::new(-230.0, 280.0, -590.0);
    for (nsa, av) in [(130.0, 15.0), (125.0, 0.0), (140.0, 25.0)] {
        let (mesh, d) = femur_phantom(c, nsa, av);
        let f = femur_landmarks(&mesh, Side::Left).unwrap();
        assert!((f.head_centre.lps_mm - c).norm() < 0.1, "centre {:?}", f.head_centre.lps_mm);
        assert!((f.head_radius_mm - 22.0).abs() < 0.1, "radius {}", f.head_radius_mm);
        let err_deg = f.neck_axis.direction_lps.angle(&d).to_degrees();
        assert!(err_deg < 1.0, "neck axis {err_deg:.2} deg off");
        let got = f.neck_shaft_angle_deg.expect("neck and shaft measured");
        assert!((got - nsa).abs() < 1.0, "NSA {got} vs {nsa}");
        assert!(f.anteversion_deg.is_none(), "no condyles in the phantom");
        let shaft_tilt_deg = f.shaft_axis.direction_lps.angle(&Vector3::z()).to_degrees();
        assert!(shaft_tilt_deg < 0.5, "shaft axis {shaft_tilt_deg:.2} deg off");
        // The tip is the most proximal point along the estimated shaft axis: a tilt of that
        // estimate by delta moves it over the 10 mm ball by about 10 delta.
        assert!((f.greater_trochanter.lps_mm.z - (c.z + 5.0)).abs() < 0.5, "GT tip {:?}", f.greater_trochanter.lps_mm);
    }
}

/// Issue 45: a "femur" whose head sphere is far beyond any adult's (a CT without hips gave a
/// 3,577 mm head with exit 0) is an error naming the radius, which `coxa anatomy` prints as a
/// warning on the terminal and in the report.
#[test]
fn issue_45_a_head_outside_the_adult_range_is_refused() {
    let (mesh, _) = femur_phantom(Point3::new(40.0, 10.0, 100.0), 130.0, 15.0);
    // The radius the message gives, mm.
    let radius = |msg: &str| -> f64 { msg.split("radius of ").nth(1).and_then(|r| r.split(" mm").next()).and_then(|r| r.parse().ok()).unwrap_or(f64::NAN) };
    // The phantom scaled by 3 about the origin: a 66 mm head (its trochanter ball, 30 mm, is no
    // adult head either).
    let e = femur_landmarks(&mesh.transformed(&Matrix4::new_scaling(3.0)), Side::Left).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("femur_left") && msg.contains("femoral head") && msg.contains("outside the 15-40 mm"), "{msg}");
    assert!((radius(&msg) - 66.0).abs() < 1.0, "{msg}");
    // At half size (an 11 mm head) too.
    let msg = femur_landmarks(&mesh.transformed(&Matrix4::new_scaling(0.5)), Side::Left).unwrap_err().to_string();
    assert!((radius(&msg) - 11.0).abs() < 1.0, "{msg}");
}

#[test]
fn mirrored_femur_gives_mirrored_landmarks() {
    let (mesh, _) = femur_phantom(Point3::new(40.0, 10.0, 100.0), 128.0, 12.0);
    let mirror = Matrix4::from_diagonal(&Vector4::new(-1.0, 1.0, 1.0, 1.0));
    let left = femur_landmarks(&mesh, Side::Left).unwrap();
    let right = femur_landmarks(&mesh.transformed(&mirror), Side::Right).unwrap();
    let m = |p: Point3<f64>| Point3::new(-p.x, p.y, p.z);
    assert_relative_eq!(right.head_centre.lps_mm, m(left.head_centre.lps_mm), epsilon = 1e-6);
    assert_relative_eq!(right.head_radius_mm, left.head_radius_mm, epsilon = 1e-9);
    assert_relative_eq!(right.neck_shaft_angle_deg.unwrap(), left.neck_shaft_angle_deg.unwrap(), epsilon = 1e-6);
    assert_relative_eq!(right.greater_trochanter.lps_mm, m(left.greater_trochanter.lps_mm), epsilon = 1e-6);
}

/// A cup-shaped shell (inner concave hemisphere r, outer r + 8, flat rim) opening along `axis`.
fn socket_phantom(centre: Point3<f64>, r: f64, axis: Vector3<f64>) -> Mesh {
    let (v, t) = {
        let (nlat, nlon) = (45u32, 144u32);
        let (mut v, mut t) = (Vec::new(), Vec::new());
        // Local frame: z = -axis (the pole, deep in the socket).
        let z = -axis.normalize();
        let x = z.cross(&Vector3::new(0.2, 0.9, 0.1)).normalize();
        let y = z.cross(&x);
        let at = |rad: f64, th: f64, ph: f64| centre + rad * (x * (th.sin() * ph.cos()) + y * (th.sin() * ph.sin()) + z * th.cos());
        for (k, rad) in [r, r + 8.0].into_iter().enumerate() {
            v.push(centre + z * rad);
            for i in 1..=nlat {
                let th = std::f64::consts::FRAC_PI_2 * f64::from(i) / f64::from(nlat);
                for j in 0..nlon {
                    v.push(at(rad, th, std::f64::consts::TAU * f64::from(j) / f64::from(nlon)));
                }
            }
            let base = (k as u32) * (1 + nlat * nlon);
            let id = |i: u32, j: u32| base + 1 + (i - 1) * nlon + (j % nlon);
            let inner = k == 0;
            let mut push = |a: u32, b: u32, c: u32| t.push(if inner { [a, c, b] } else { [a, b, c] });
            for j in 0..nlon {
                push(base, id(1, j), id(1, j + 1));
                for i in 1..nlat {
                    push(id(i, j), id(i + 1, j), id(i + 1, j + 1));
                    push(id(i, j), id(i + 1, j + 1), id(i, j + 1));
                }
            }
        }
        // Rim annulus joining the inner and outer equators.
        let inner_eq = |j: u32| 1 + (nlat - 1) * nlon + (j % nlon);
        let outer_eq = |j: u32| (1 + nlat * nlon) + 1 + (nlat - 1) * nlon + (j % nlon);
        for j in 0..nlon {
            t.push([inner_eq(j), outer_eq(j + 1), outer_eq(j)]);
            t.push([inner_eq(j), inner_eq(j + 1), outer_eq(j + 1)]);
        }
        (v, t)
    };
    Mesh::new(v, t).unwrap()
}

#[test]
fn socket_phantom_centre_radius_and_angles_are_exact() {
    let c = Point3::new(-380.0, 310.0, -585.0);
    for side in [Side::Left, Side::Right] {
        for (ri, ra) in [(40.0, 15.0), (50.0, 25.0), (35.0, 5.0)] {
            let want = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(ri), anteversion: Angle::from_deg(ra) };
            let mesh = socket_phantom(c, 25.0, want.axis(side));
            for seed in [None, Some((c + Vector3::new(1.5, -1.0, 0.5), 24.0))] {
                let a = acetabulum_landmarks(&mesh, side, seed).unwrap();
                assert!((a.centre.lps_mm - c).norm() < 0.1, "{side:?} centre {:?}", a.centre.lps_mm);
                assert!((a.radius_mm - 25.0).abs() < 0.1, "radius {}", a.radius_mm);
                let got = CupAngles::from_axis(&a.opening_axis_lps, side, CupAngleDefinition::Radiographic).unwrap();
                assert!((got.inclination.deg() - ri).abs() < 0.2, "{side:?} RI {} vs {ri}", got.inclination.deg());
                assert!((got.anteversion.deg() - ra).abs() < 0.2, "{side:?} RA {} vs {ra}", got.anteversion.deg());
            }
        }
    }
}

#[test]
fn too_small_surfaces_are_errors() {
    let tiny = Mesh::new(vec![Point3::origin(), Point3::new(1.0, 0.0, 0.0), Point3::new(0.0, 1.0, 0.0)], vec![[0, 1, 2]]).unwrap();
    assert!(femur_landmarks(&tiny, Side::Left).is_err());
    assert!(acetabulum_landmarks(&tiny, Side::Left, None).is_err());
    let _ = Rotation3::<f64>::identity();
}

/// Issue 16 (deadlines): a surface past the landmark searches' budget is refused with the
/// budget and the fix, before any search: a "femur" 5 m long (it was cut into ~10^6 shaft
/// sections) and a surface with more vertices than [`super::MAX_VERTICES`].
#[test]
fn issue_16_surfaces_past_the_search_budget_are_refused() {
    let (mut v, mut t) = (Vec::new(), Vec::new());
    tube(&mut v, &mut t, Point3::new(0.0, 0.0, 0.0), Point3::new(0.0, 0.0, 5000.0), 14.0);
    let long = Mesh::new(v, t).unwrap();
    let e = femur_landmarks(&long, Side::Left).unwrap_err();
    assert!(matches!(e, super::LandmarkError::OverBudget { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "femur_left: the surface is 5000 mm long, more than the 1000 mm the shaft search covers; the landmark search gives up here: check that it is a femur in millimetres (--mesh-units) without far stray vertices"
    );
    let n = super::MAX_VERTICES + 1;
    let many: Vec<Point3<f64>> = (0..n).map(|i| Point3::new((i % 1000) as f64 * 0.01, (i / 1000 % 1000) as f64 * 0.01, (i / 1_000_000) as f64)).collect();
    let huge = Mesh::new(many, vec![[0, 1, 1000]]).unwrap();
    for e in [femur_landmarks(&huge, Side::Right).unwrap_err(), acetabulum_landmarks(&huge, Side::Right, None).unwrap_err()] {
        assert!(e.to_string().contains(&format!("the surface has {n} vertices, more than the budget of {}", super::MAX_VERTICES)) && e.to_string().contains("decimate"), "{e}");
    }
}

/// The sections over the triangles a plane may cut ([`super::femur`]'s `Spans`) are exactly the
/// sections over every triangle: the same loops, areas and centroids, bit for bit, at planes
/// through the head, the neck, the shaft and at a vertex's exact level, along a tilted direction.
#[test]
fn sections_over_the_spanned_triangles_equal_those_over_all() {
    let c = Point3::new(-230.0, 280.0, -590.0);
    let (mesh, d) = femur_phantom(c, 130.0, 15.0);
    let all: Vec<usize> = (0..mesh.triangles().len()).collect();
    let vertex_level = (mesh.vertices()[7] - c).dot(&d);
    let mut compared = 0;
    for n in [d, Vector3::z(), Vector3::new(0.3, -0.2, 1.0).normalize()] {
        let spans = super::femur::Spans::new(&mesh, &all, &c, &n);
        for t in [-30.0, 0.0, 5.5, 22.0, 40.0, 80.0, -120.0, vertex_level] {
            let origin = c + n * t;
            let cut = spans.cut_at(t);
            assert!(cut.len() < all.len() / 2, "a plane cuts few of the {} triangles, not {}", all.len(), cut.len());
            let (full, spanned) = (super::femur::section_loops(&mesh, &all, &origin, &n), super::femur::section_loops(&mesh, &cut, &origin, &n));
            assert_eq!(format!("{full:?}"), format!("{spanned:?}"), "plane at {t} mm along {n:?}");
            compared += usize::from(!full.is_empty());
        }
    }
    assert!(compared >= 12, "the planes cut the bone: {compared} non-empty sections compared");
}

//! Tests of the bone geometry: the field against the exact transform of the whole grid, the
//! transform against brute force, the clusters against a linear search.

use super::*;
use approx::assert_relative_eq;

/// A closed box mesh (outward triangles).
fn cuboid(lo: [f64; 3], hi: [f64; 3]) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
    let v = (0..8).map(|i| Point3::new(if i & 1 == 0 { lo[0] } else { hi[0] }, if i & 2 == 0 { lo[1] } else { hi[1] }, if i & 4 == 0 { lo[2] } else { hi[2] })).collect();
    let t = vec![[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]];
    (v, t)
}

#[test]
fn box_field_is_exact_at_the_surface_and_a_lower_bound_away_from_it() {
    let (v, t) = cuboid([10.0, -20.0, -20.0], [30.0, 20.0, 20.0]);
    let f = DistanceField::from_mesh(&v, &t, 40.0, 1.0, 0.0);
    // A voxel centre one voxel outside the face (the solid's first voxels are at x = 10.5).
    assert_relative_eq!(f.at(&Vector3::new(9.5, 0.5, 0.5)), 0.5, epsilon = 1e-6);
    // Farther out, a lower bound within the blocks' 3√3 + 2 voxels of the distance.
    for (p, exact) in [(Vector3::new(0.0, 0.0, 0.0), 10.0), (Vector3::new(35.0, 25.0, 0.0), 50f64.sqrt())] {
        let d = f.at(&p);
        assert!(d <= exact && d >= exact - 3.0 * 3f64.sqrt() - 2.0, "{p:?}: {d} against {exact}");
    }
    assert!(f.at(&Vector3::new(12.0, 0.0, 0.0)) < 0.0);
    assert!(f.at(&Vector3::new(20.0, 0.0, 0.0)) < 0.0);
    assert!(f.at(&Vector3::new(100.0, 0.0, 0.0)).is_infinite());
    // Carving removes the solid near the origin.
    let carved = DistanceField::from_mesh(&v, &t, 40.0, 1.0, 15.0);
    assert!(carved.at(&Vector3::new(12.0, 0.0, 0.0)) > 0.0);
    assert!(carved.at(&Vector3::new(20.0, 0.0, 0.0)) < 0.0);
}

/// The field as it was built before: the exact transforms of the whole grid, inside and out.
fn exact_field(vertices: &[Point3<f64>], triangles: &[[u32; 3]], half_mm: f64, h: f64, carve_radius_mm: f64) -> DistanceField {
    let n = ((2.0 * half_mm / h).ceil() as usize).max(2);
    let solid = carved_solid(vertices, triangles, half_mm, h, n, carve_radius_mm);
    let inside: Vec<bool> = (0..n * n * n).map(|q| solid.get(q % n, q / n % n, q / (n * n))).collect();
    let outside: Vec<bool> = inside.iter().map(|b| !b).collect();
    let (to_inside, to_outside) = (edt_3d(&inside, n), edt_3d(&outside, n));
    let d = (0..n * n * n)
        .map(|q| {
            let sq = |x: u32| if x == FAR { f64::INFINITY } else { f64::from(x).sqrt() };
            let v = if inside[q] { -(sq(to_outside[q]) - 0.5) } else { sq(to_inside[q]) - 0.5 };
            convert::mm_to_f32((v * h).min(4.0 * half_mm))
        })
        .collect();
    DistanceField { half_mm, voxel_mm: h, n, d }
}

/// A closed, star-shaped bumpy ball (outward triangles) of mean radius `r` at `c`.
fn bumpy_ball(c: Vector3<f64>, r: f64) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
    let (nu, nv) = (48usize, 24usize);
    let mut v = vec![Point3::from(c + Vector3::new(0.0, 0.0, r)), Point3::from(c - Vector3::new(0.0, 0.0, r))];
    for j in 1..nv {
        let th = std::f64::consts::PI * j as f64 / nv as f64;
        for i in 0..nu {
            let ph = std::f64::consts::TAU * i as f64 / nu as f64;
            let rr = r * (1.0 + 0.18 * (3.0 * ph).sin() * (2.0 * th).sin() + 0.1 * (5.0 * th).cos());
            v.push(Point3::from(c + rr * Vector3::new(th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos())));
        }
    }
    let at = |j: usize, i: usize| (2 + (j - 1) * nu + i % nu) as u32;
    let mut t = Vec::new();
    for i in 0..nu {
        t.push([0, at(1, i), at(1, i + 1)]);
        t.push([1, at(nv - 1, i + 1), at(nv - 1, i)]);
        for j in 1..nv - 1 {
            t.push([at(j, i), at(j + 1, i), at(j + 1, i + 1)]);
            t.push([at(j, i), at(j + 1, i + 1), at(j, i + 1)]);
        }
    }
    (v, t)
}

/// Against the exact transforms of the whole grid, on a carved bumpy ball at voxels of 1
/// and 0.7 mm (an odd count of voxels a side, so the last blocks are partial): the same
/// sign everywhere, the same value where the surface crosses a cell (|d| under half a
/// voxel), and outside never more than the exact value, so that a query finds the same
/// contact and skips no cluster the exact field would test.
#[test]
fn field_decides_as_the_exact_transform_does() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let (v, t) = bumpy_ball(Vector3::new(18.0, 6.0, -4.0), 24.0);
    for (h, carve) in [(1.0, 21.0), (0.7, 0.0)] {
        let fast = DistanceField::from_mesh(&v, &t, 45.0, h, carve);
        let exact = exact_field(&v, &t, 45.0, h, carve);
        let (mut near, mut out) = (0, 0);
        for _ in 0..40_000 {
            let p = Vector3::new(rng.random_range(-45.0..45.0), rng.random_range(-45.0..45.0), rng.random_range(-45.0..45.0));
            let (a, e) = (fast.at(&p), exact.at(&p));
            assert_eq!(a < 0.0, e < 0.0, "sign at {p:?}: {a} against {e}");
            if e.abs() < 0.5 * h {
                assert_eq!(a, e, "at {p:?}, next to the surface");
                near += 1;
            }
            if e >= 0.0 {
                assert!(a <= e, "at {p:?}: {a} above the exact {e}");
                out += 1;
            }
        }
        assert!(near > 200 && out > 20_000, "the points sample the surface ({near}) and the outside ({out})");
        // Every voxel: the same where either field is within a voxel and a half of zero.
        for (q, (&a, &e)) in fast.d.iter().zip(&exact.d).enumerate() {
            if e.abs() <= (1.5 * h) as f32 {
                assert_eq!(a, e, "voxel {q}");
            }
        }
    }
}

/// The separable integer transform is the brute-force minimum over every seed, exactly, on
/// random seeds of several densities (and none at all).
#[test]
fn squared_distance_transform_is_exact() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (n, density) in [(9usize, 0.0), (9, 0.02), (12, 0.1), (13, 0.5), (7, 1.0), (16, 0.005)] {
        let seed: Vec<bool> = (0..n * n * n).map(|_| rng.random_bool(density)).collect();
        let g = edt_3d(&seed, n);
        let at = |q: usize| (q % n, (q / n) % n, q / (n * n));
        for (q, &got) in g.iter().enumerate() {
            let (x, y, z) = at(q);
            let brute = (0..n * n * n)
                .filter(|&p| seed[p])
                .map(|p| {
                    let (a, b, c) = at(p);
                    (x.abs_diff(a).pow(2) + y.abs_diff(b).pow(2) + z.abs_diff(c).pow(2)) as u32
                })
                .min()
                .unwrap_or(FAR);
            assert_eq!(got, brute, "n {n}, density {density}, voxel {q}");
        }
    }
}

#[test]
fn clusters_find_the_same_points_as_brute_force() {
    let pts: Vec<Vector3<f64>> = (0..2000)
        .map(|i| {
            let a = i as f64 * 0.37;
            Vector3::new(40.0 * a.sin(), 30.0 * (1.3 * a).cos(), (i % 97) as f64 - 48.0)
        })
        .collect();
    let c = PointClusters::new(&pts, 6.0);
    assert_eq!(c.points.len(), pts.len());
    let target = Vector3::new(10.0, 5.0, 3.0);
    let hit = |q: &Vector3<f64>| (q - target).norm() < 4.0;
    let may = |q: &Vector3<f64>, r: f64| (q - target).norm() < 4.0 + r;
    let found = c.find(|p| *p, may, hit);
    assert_eq!(found.is_some(), pts.iter().any(hit));
}

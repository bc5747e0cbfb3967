//! Closed triangle meshes of solids of revolution (with an azimuth-dependent profile).

use coxa_core::Mesh;
use nalgebra::Point3;

/// A closed mesh swept around the z axis: `profile(phi)` gives `(r, z)` points that start and
/// end on the axis (`r == 0`) and have the same count for every azimuth `phi` (radians, from +x
/// towards +y). `n_az` azimuth steps. Triangles are oriented outward (the signed volume decides).
pub(crate) fn revolve(n_az: usize, profile: impl Fn(f64) -> Vec<[f64; 2]>) -> Mesh {
    let profiles: Vec<Vec<[f64; 2]>> = (0..n_az).map(|j| profile(std::f64::consts::TAU * j as f64 / n_az as f64)).collect();
    let m = profiles[0].len();
    let first = profiles[0][0];
    let last = profiles[0][m - 1];
    let mut v = vec![Point3::new(0.0, 0.0, first[1]), Point3::new(0.0, 0.0, last[1])];
    // Ring vertices for profile points 1..m-1.
    for (j, p) in profiles.iter().enumerate() {
        let phi = std::f64::consts::TAU * j as f64 / n_az as f64;
        for q in &p[1..m - 1] {
            v.push(Point3::new(q[0] * phi.cos(), q[0] * phi.sin(), q[1]));
        }
    }
    let ring = m - 2;
    let idx = |j: usize, k: usize| (2 + (j % n_az) * ring + (k - 1)) as u32;
    let mut t = Vec::with_capacity(2 * n_az * m);
    for j in 0..n_az {
        t.push([0, idx(j, 1), idx(j + 1, 1)]);
        for k in 1..ring {
            let (a, b, c, d) = (idx(j, k), idx(j + 1, k), idx(j + 1, k + 1), idx(j, k + 1));
            t.push([a, c, b]);
            t.push([a, d, c]);
        }
        t.push([1, idx(j + 1, ring), idx(j, ring)]);
    }
    let mesh = Mesh::new(v, t).expect("indices are in range and points finite");
    if mesh.signed_volume_mm3() < 0.0 {
        let (v, t) = mesh.into_parts();
        Mesh::new(v, t.into_iter().map(|[a, b, c]| [a, c, b]).collect()).expect("same indices")
    } else {
        mesh
    }
}

/// Points of a circular arc in the (r, z) half-plane: radius `radius`, latitude from `from` to
/// `to` (radians above the z = 0 plane), `n` segments (n + 1 points).
pub(crate) fn arc(radius: f64, from: f64, to: f64, n: usize) -> impl Iterator<Item = [f64; 2]> {
    (0..=n).map(move |i| {
        let a = from + (to - from) * i as f64 / n as f64;
        [radius * a.cos(), radius * a.sin()]
    })
}

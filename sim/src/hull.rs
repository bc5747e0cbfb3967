//! A 3D convex hull in f64 (quickhull, Barber et al. 1996) for the fast contact path's point
//! sets ([`crate::fast_contact`]).
//!
//! Written here rather than taken from parry3d: parry's f32 quickhull zeroes a workspace as
//! long as the whole input at every step (`fix_silhouette_topology`), so on the 70,000-120,000
//! nearly co-spherical points of a liner's band (15,000-28,000 of them hull vertices) it is
//! quadratic: about 0.3 s of a 144-segment liner's 0.5 s preparation and most of a 720-segment
//! liner's 12 s, and in f32 it sometimes gives up early. This one keeps each face's outside
//! points and touches only the faces a new vertex sees. It returns `None` where rounding makes
//! the region a new vertex sees not a disc (or the input is flat); the caller then falls back
//! to parry3d's hull.
//!
//! A point within [`EPS`] (relative to the input's extent) of the hull is treated as inside.

use nalgebra::Vector3;

/// Distance below which a point counts as on a face, relative to the largest coordinate.
pub const EPS: f64 = 1e-12;

struct Face {
    v: [u32; 3],
    n: Vector3<f64>,
    off: f64,
    /// The face across edge `i` (`v[i] -> v[i + 1]`).
    adj: [u32; 3],
    alive: bool,
    outside: Vec<u32>,
}

impl Face {
    #[inline]
    fn dist(&self, p: &Vector3<f64>) -> f64 {
        self.n.dot(p) - self.off
    }
}

fn plane(p: &[Vector3<f64>], v: [u32; 3]) -> Option<(Vector3<f64>, f64)> {
    let [a, b, c] = v.map(|i| p[i as usize]);
    let n = (b - a).cross(&(c - a)).try_normalize(0.0)?;
    Some((n, n.dot(&a)))
}

/// The convex hull of `p`: its triangles (indices into `p`, counter-clockwise seen from
/// outside). `None` for fewer than 4 points, a flat input, or where rounding breaks the
/// algorithm (see the module docs).
pub fn convex_hull(p: &[Vector3<f64>]) -> Option<Vec<[u32; 3]>> {
    if p.len() < 4 || p.len() > u32::MAX as usize {
        return None;
    }
    let scale = p.iter().map(|q| q.amax()).fold(0.0, f64::max);
    if !scale.is_finite() || scale == 0.0 {
        return None;
    }
    let eps = EPS * scale;
    // The first tetrahedron: the extremes along the axis of largest spread, the point farthest
    // from their line, the point farthest from their plane.
    let mut best = (0.0, 0, 0);
    for k in 0..3 {
        let (lo, hi) = p.iter().enumerate().fold((0, 0), |(lo, hi), (i, q)| (if q[k] < p[lo][k] { i } else { lo }, if q[k] > p[hi][k] { i } else { hi }));
        let s = p[hi][k] - p[lo][k];
        if s > best.0 {
            best = (s, lo, hi);
        }
    }
    let (a, b) = (best.1, best.2);
    let ab = (p[b] - p[a]).try_normalize(0.0)?;
    let c = (0..p.len()).max_by(|&i, &j| {
        let d = |k: usize| (p[k] - p[a] - ab * ab.dot(&(p[k] - p[a]))).norm_squared();
        d(i).total_cmp(&d(j))
    })?;
    let (n0, _) = plane(p, [a as u32, b as u32, c as u32])?;
    let d = (0..p.len()).max_by(|&i, &j| n0.dot(&(p[i] - p[a])).abs().total_cmp(&n0.dot(&(p[j] - p[a])).abs()))?;
    if n0.dot(&(p[d] - p[a])).abs() <= eps {
        return None;
    }
    let (a, b, c, d) = (a as u32, b as u32, c as u32, d as u32);
    // Orient so that d lies below abc.
    let base = if n0.dot(&(p[d as usize] - p[a as usize])) > 0.0 { [a, c, b] } else { [a, b, c] };
    let [a, b, c] = base;
    // Faces abc, abd', ... each counter-clockwise from outside; adjacency by shared edges.
    let tris = [[a, b, c], [a, d, b], [b, d, c], [c, d, a]];
    let mut faces: Vec<Face> = Vec::with_capacity(p.len().min(1 << 20) * 2);
    for t in tris {
        let (n, off) = plane(p, t)?;
        faces.push(Face { v: t, n, off, adj: [u32::MAX; 3], alive: true, outside: Vec::new() });
    }
    link_all(&mut faces);
    if faces.iter().any(|f| f.adj.contains(&u32::MAX)) {
        return None;
    }
    // Outside sets.
    for (i, q) in p.iter().enumerate() {
        if let Some(f) = faces.iter_mut().find(|f| f.dist(q) > eps) {
            f.outside.push(i as u32);
        }
    }
    let mut stack: Vec<u32> = (0..4).filter(|&f| !faces[f as usize].outside.is_empty()).collect();
    let mut visible: Vec<u32> = Vec::new();
    let mut horizon: Vec<(u32, u32, u32, usize)> = Vec::new();
    let mut mark: Vec<u32> = vec![u32::MAX; faces.len()];
    let mut dfs: Vec<(u32, usize, usize)> = Vec::new();
    let mut round = 0u32;
    while let Some(f0) = stack.pop() {
        let f0u = f0 as usize;
        if !faces[f0u].alive || faces[f0u].outside.is_empty() {
            continue;
        }
        round += 1;
        let apex = *faces[f0u].outside.iter().max_by(|&&i, &&j| faces[f0u].dist(&p[i as usize]).total_cmp(&faces[f0u].dist(&p[j as usize])))?;
        let q = p[apex as usize];
        // The faces the apex sees and the horizon, in order (depth first over edges).
        visible.clear();
        horizon.clear();
        mark.resize(faces.len(), u32::MAX);
        mark[f0u] = round;
        visible.push(f0);
        dfs.clear();
        dfs.push((f0, 0, 0));
        while let Some(top) = dfs.last_mut() {
            let (f, first, k) = *top;
            if k == if f == f0 { 3 } else { 2 } {
                dfs.pop();
                continue;
            }
            top.2 += 1;
            let e = (first + k + usize::from(f != f0)) % 3;
            let g = faces[f as usize].adj[e];
            let gu = g as usize;
            if mark[gu] == round {
                continue;
            }
            // g's edge back to f.
            let ge = (0..3).find(|&j| faces[gu].adj[j] == f)?;
            if faces[gu].dist(&q) > eps {
                mark[gu] = round;
                visible.push(g);
                dfs.push((g, ge, 0));
            } else {
                let fv = faces[f as usize].v;
                horizon.push((fv[e], fv[(e + 1) % 3], g, ge));
            }
        }
        // The horizon must be one closed loop.
        let m = horizon.len();
        if m < 3 || (0..m).any(|i| horizon[i].1 != horizon[(i + 1) % m].0) {
            return None;
        }
        let first_new = faces.len() as u32;
        for (i, &(ha, hb, g, ge)) in horizon.iter().enumerate() {
            let t = [ha, hb, apex];
            let (n, off) = plane(p, t)?;
            let id = first_new + i as u32;
            let adj = [g, first_new + ((i + 1) % m) as u32, first_new + ((i + m - 1) % m) as u32];
            faces[g as usize].adj[ge] = id;
            faces.push(Face { v: t, n, off, adj, alive: true, outside: Vec::new() });
        }
        mark.resize(faces.len(), u32::MAX);
        // Hand the seen faces' outside points to the new faces.
        for &f in &visible {
            let fu = f as usize;
            faces[fu].alive = false;
            let pts = std::mem::take(&mut faces[fu].outside);
            for i in pts {
                if i == apex {
                    continue;
                }
                let x = &p[i as usize];
                if let Some(nf) = (first_new as usize..faces.len()).find(|&nf| faces[nf].dist(x) > eps) {
                    faces[nf].outside.push(i);
                }
            }
        }
        stack.extend((first_new..faces.len() as u32).filter(|&nf| !faces[nf as usize].outside.is_empty()));
    }
    Some(faces.iter().filter(|f| f.alive).map(|f| f.v).collect())
}

/// Links the faces' `adj` by their shared (opposite) edges.
fn link_all(faces: &mut [Face]) {
    for i in 0..faces.len() {
        for e in 0..3 {
            let (a, b) = (faces[i].v[e], faces[i].v[(e + 1) % 3]);
            for (j, g) in faces.iter().enumerate() {
                if j != i && (0..3).any(|k| g.v[k] == b && g.v[(k + 1) % 3] == a) {
                    faces[i].adj[e] = j as u32;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::Vector3;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::convex_hull;

    /// The hull of random points: every point lies inside every face (to rounding), the hull
    /// is closed (each edge used once each way), and the points on a sphere are all vertices.
    #[test]
    fn hull_contains_every_point_and_is_closed() {
        let mut rng = StdRng::seed_from_u64(3);
        for sphere in [false, true] {
            let p: Vec<Vector3<f64>> = (0..5000)
                .map(|_| {
                    let v = Vector3::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
                    if sphere { v.normalize() } else { v }
                })
                .collect();
            let t = convex_hull(&p).expect("a hull");
            let mut edges = std::collections::HashSet::new();
            for f in &t {
                let [a, b, c] = f.map(|i| p[i as usize]);
                let n = (b - a).cross(&(c - a)).normalize();
                assert!(p.iter().all(|q| n.dot(&(q - a)) <= 1e-9), "a point outside a face");
                for e in 0..3 {
                    assert!(edges.insert((f[e], f[(e + 1) % 3])), "an edge used twice the same way");
                }
            }
            assert!(edges.iter().all(|&(a, b)| edges.contains(&(b, a))), "an open hull");
            let mut verts: Vec<u32> = t.iter().flatten().copied().collect();
            verts.sort_unstable();
            verts.dedup();
            // Euler: V - E + F = 2.
            assert_eq!(verts.len() as i64 - edges.len() as i64 / 2 + t.len() as i64, 2);
            if sphere {
                assert_eq!(verts.len(), p.len());
            }
        }
        // Flat input: no hull.
        assert!(convex_hull(&[Vector3::x(), Vector3::y(), Vector3::zeros(), Vector3::new(1.0, 1.0, 0.0)]).is_none());
    }
}

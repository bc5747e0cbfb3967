//! Quadric error metric edge collapse (Garland & Heckbert 1997) that keeps a closed manifold.
//!
//! - Each vertex carries the sum of the area-weighted squared-distance quadrics of its faces.
//! - An edge collapses to the point minimising the summed quadric, regularised towards the edge
//!   midpoint (so flat and cylindrical regions stay well posed).
//! - Collapses run in passes (as meshoptimizer does): every edge's cost is computed (in
//!   parallel) and sorted; edges are then collapsed cheapest first, skipping any edge next to a
//!   collapse already made in this pass (its cost is stale), up to the number still needed and no
//!   further than 1.5 times the cost of the edge at that rank. Deterministic: ties sort by vertex.
//! - A collapse is refused when it would break the surface: the link condition (the two ends
//!   share exactly the two opposite vertices of their common triangles, Dey et al. 1999), an
//!   opposite vertex of degree 3 (it would become a sliver pair), or any surviving triangle whose
//!   normal turns by more than [`MAX_NORMAL_TURN_COS`] (no flipped or folded faces).

use nalgebra::{Matrix3, Point3, Vector3};
use rayon::prelude::*;

/// Smallest allowed cosine between a triangle's normal before and after a collapse
/// (0.2: turns of more than about 78° are refused; a flip is a turn of more than 90°).
const MAX_NORMAL_TURN_COS: f64 = 0.2;
/// Regularisation of the optimal-point solve, relative to the quadric's trace.
const REGULARISE: f64 = 1e-3;

#[derive(Clone, Copy, Default)]
struct Quadric {
    a: [f64; 6], // xx xy xz yy yz zz
    b: [f64; 3],
    c: f64,
}

impl Quadric {
    fn plane(n: Vector3<f64>, d: f64, w: f64) -> Self {
        Self { a: [n.x * n.x * w, n.x * n.y * w, n.x * n.z * w, n.y * n.y * w, n.y * n.z * w, n.z * n.z * w], b: [n.x * d * w, n.y * d * w, n.z * d * w], c: d * d * w }
    }
    fn add(&mut self, o: &Self) {
        for k in 0..6 {
            self.a[k] += o.a[k];
        }
        for k in 0..3 {
            self.b[k] += o.b[k];
        }
        self.c += o.c;
    }
    fn matrix(&self) -> Matrix3<f64> {
        let a = &self.a;
        Matrix3::new(a[0], a[1], a[2], a[1], a[3], a[4], a[2], a[4], a[5])
    }
    fn eval(&self, p: &Vector3<f64>) -> f64 {
        let b = Vector3::from(self.b);
        (p.dot(&(self.matrix() * p)) + 2.0 * b.dot(p) + self.c).max(0.0)
    }
    /// The minimiser of `Q(p) + eps |p - m|^2`.
    fn optimum(&self, m: &Vector3<f64>) -> Option<Vector3<f64>> {
        let a = self.matrix();
        let eps = REGULARISE * a.trace().max(f64::MIN_POSITIVE);
        let lhs = a + Matrix3::identity() * eps;
        let rhs = -Vector3::from(self.b) + m * eps;
        lhs.cholesky().map(|c| c.solve(&rhs)).filter(|p| p.iter().all(|x| x.is_finite()))
    }
}

struct State {
    pos: Vec<Vector3<f64>>,
    quad: Vec<Quadric>,
    tris: Vec<[u32; 3]>,
    tri_alive: Vec<bool>,
    vtris: Vec<Vec<u32>>,
    v_alive: Vec<bool>,
    /// Pass in which a vertex was last next to a collapse.
    lock: Vec<u32>,
    /// Scratch rings.
    ring_u: Vec<u32>,
    ring_v: Vec<u32>,
}

/// Collapses edges of a closed, manifold, outward mesh until at most `target` triangles remain
/// (or no edge can collapse without breaking the surface). Returns the new mesh.
pub(crate) fn decimate(vertices: &[Point3<f64>], triangles: &[[u32; 3]], target: usize) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
    if triangles.len() <= target || vertices.is_empty() {
        return (vertices.to_vec(), triangles.to_vec());
    }
    // Work relative to the centroid, for precision far from the origin.
    let centre: Vector3<f64> = vertices.iter().map(|p| p.coords).sum::<Vector3<f64>>() / vertices.len() as f64;
    let pos: Vec<Vector3<f64>> = vertices.iter().map(|p| p.coords - centre).collect();
    let mut quad = vec![Quadric::default(); pos.len()];
    let mut vtris = vec![Vec::with_capacity(6); pos.len()];
    for (t, tri) in triangles.iter().enumerate() {
        let [a, b, c] = tri.map(|i| pos[i as usize]);
        let n2 = (b - a).cross(&(c - a));
        let area2 = n2.norm();
        if area2 > 0.0 {
            let n = n2 / area2;
            let q = Quadric::plane(n, -n.dot(&a), 0.5 * area2);
            for &i in tri {
                quad[i as usize].add(&q);
            }
        }
        for &i in tri {
            vtris[i as usize].push(t as u32);
        }
    }
    let mut s = State {
        pos,
        quad,
        tris: triangles.to_vec(),
        tri_alive: vec![true; triangles.len()],
        vtris,
        v_alive: vec![true; vertices.len()],
        lock: vec![0; vertices.len()],
        ring_u: Vec::new(),
        ring_v: Vec::new(),
    };
    let mut alive = triangles.len();
    let mut pass = 0u32;
    while alive > target {
        pass += 1;
        // Each undirected edge once: a closed manifold has it as (a, b) in one triangle and (b, a)
        // in the other.
        let state = &s;
        let mut edges: Vec<(f64, u32, u32)> = (0..s.tris.len())
            .into_par_iter()
            .filter(|&t| state.tri_alive[t])
            .flat_map_iter(|t| {
                let tri = state.tris[t];
                (0..3).filter_map(move |e| {
                    let (a, b) = (tri[e], tri[(e + 1) % 3]);
                    (a < b).then(|| (state.target(a as usize, b as usize).1, a, b))
                })
            })
            .collect();
        if edges.is_empty() {
            break;
        }
        edges.par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then_with(|| (x.1, x.2).cmp(&(y.1, y.2))));
        let goal = (alive - target).div_ceil(2);
        // Edges ranked below `window` are always tried; beyond it, only while within 1.5 times
        // the cost at `window`. Refused collapses widen the window (their slot is not used).
        let mut window = goal;
        let mut done = 0;
        for (rank, &(cost, u, v)) in edges.iter().enumerate() {
            if done >= goal || (rank >= window && cost > 1.5 * edges[window.min(edges.len() - 1)].0) {
                break;
            }
            let (u, v) = (u as usize, v as usize);
            if s.lock[u] == pass || s.lock[v] == pass {
                continue;
            }
            if s.try_collapse(u, v, pass) {
                alive -= 2;
                done += 1;
            } else {
                window += 1;
            }
        }
        if done == 0 {
            break;
        }
    }
    // Compact.
    let mut map = vec![u32::MAX; s.pos.len()];
    let mut out_v = Vec::new();
    for (i, p) in s.pos.iter().enumerate() {
        if s.v_alive[i] && !s.vtris[i].is_empty() {
            map[i] = out_v.len() as u32;
            out_v.push(Point3::from(p + centre));
        }
    }
    let out_t = s.tris.iter().zip(&s.tri_alive).filter(|(_, a)| **a).map(|(t, _)| t.map(|i| map[i as usize])).collect();
    (out_v, out_t)
}

impl State {
    fn target(&self, u: usize, v: usize) -> (Vector3<f64>, f64) {
        let mut q = self.quad[u];
        q.add(&self.quad[v]);
        let mid = (self.pos[u] + self.pos[v]) * 0.5;
        let mut best = (mid, q.eval(&mid));
        let candidates = [q.optimum(&mid), Some(self.pos[u]), Some(self.pos[v])];
        for p in candidates.into_iter().flatten() {
            let e = q.eval(&p);
            if e < best.1 {
                best = (p, e);
            }
        }
        best
    }

    /// The one-ring of `v` into `out`, sorted.
    fn ring(vtris: &[Vec<u32>], tris: &[[u32; 3]], v: usize, out: &mut Vec<u32>) {
        out.clear();
        out.extend(vtris[v].iter().flat_map(|&t| tris[t as usize]).filter(|&w| w as usize != v));
        out.sort_unstable();
        out.dedup();
    }

    fn try_collapse(&mut self, u: usize, v: usize, pass: u32) -> bool {
        let (uu, vv) = (u as u32, v as u32);
        let mut shared = [0u32; 2];
        let mut n_shared = 0;
        for &t in &self.vtris[u] {
            if self.tris[t as usize].contains(&vv) {
                if n_shared == 2 {
                    return false;
                }
                shared[n_shared] = t;
                n_shared += 1;
            }
        }
        if n_shared != 2 {
            return false;
        }
        let opposite = shared.map(|t| *self.tris[t as usize].iter().find(|&&w| w != uu && w != vv).expect("a triangle has 3 distinct corners"));
        if opposite[0] == opposite[1] {
            return false;
        }
        Self::ring(&self.vtris, &self.tris, u, &mut self.ring_u);
        Self::ring(&self.vtris, &self.tris, v, &mut self.ring_v);
        let common = self.ring_u.iter().filter(|w| self.ring_v.binary_search(w).is_ok()).count();
        if common != 2 {
            return false;
        }
        if opposite.iter().any(|&w| self.vtris[w as usize].len() <= 3) {
            return false;
        }
        let (p, _) = self.target(u, v);
        // No surviving triangle may flip or fold.
        for &t in self.vtris[u].iter().chain(&self.vtris[v]) {
            if shared.contains(&t) {
                continue;
            }
            let tri = self.tris[t as usize];
            let old = tri.map(|i| self.pos[i as usize]);
            let new = tri.map(|i| if i == uu || i == vv { p } else { self.pos[i as usize] });
            let n_old = (old[1] - old[0]).cross(&(old[2] - old[0]));
            let n_new = (new[1] - new[0]).cross(&(new[2] - new[0]));
            let (lo, ln) = (n_old.norm(), n_new.norm());
            if ln <= 1e-12 * (new[1] - new[0]).norm_squared().max(f64::MIN_POSITIVE) || n_old.dot(&n_new) < MAX_NORMAL_TURN_COS * lo * ln {
                return false;
            }
        }
        // Collapse v into u at p.
        self.pos[u] = p;
        let qv = self.quad[v];
        self.quad[u].add(&qv);
        for &t in &shared {
            self.tri_alive[t as usize] = false;
        }
        for &w in &opposite {
            self.vtris[w as usize].retain(|t| !shared.contains(t));
        }
        self.vtris[u].retain(|t| !shared.contains(t));
        let mut moved = std::mem::take(&mut self.vtris[v]);
        moved.retain(|t| !shared.contains(t));
        for &t in &moved {
            for i in &mut self.tris[t as usize] {
                if *i == vv {
                    *i = uu;
                }
            }
        }
        self.vtris[u].extend_from_slice(&moved);
        self.v_alive[v] = false;
        // The new ring of u is the union of the old rings: lock it for the rest of this pass.
        for &w in self.ring_u.iter().chain(&self.ring_v) {
            self.lock[w as usize] = pass;
        }
        self.lock[u] = pass;
        true
    }
}

//! Distance from points to a triangle surface, for surface errors.
//!
//! Hand-written (a bounding-box tree over the triangles, median split on the longest axis, and
//! Ericson's closest point on a triangle) rather than pulling parry3d into a model crate; the
//! tests check it against brute force.
//!
//! The bone registration asks about 1.5 million nearest points per patient, and its results
//! are kept to the last bit, ties between equally near triangles included (the first in the
//! tree's depth-first, nearer-child-first order wins; a hint only bounds the search). So the
//! tree and its order are fixed, and the speed comes from the memory layout and the order of
//! the queries: each inner node holds its children's boxes and each leaf its triangles' boxes
//! side by side (the distances in paired lanes, one node read per visit), and
//! [`Surface::par_hinted`] runs a batch of queries in the order of their hints in the tree, so
//! that one query after another reads the same nodes from the cache.

use nalgebra::{Point3, Vector3};
use rayon::prelude::*;

/// The closest point on a triangle (coxa-core's, shared with the anatomy crate's renderer).
pub use coxa_core::closest_on_triangle;

/// A triangle surface prepared for nearest-point queries.
#[derive(Debug, Clone)]
pub struct Surface {
    tris: Vec<[Point3<f64>; 3]>,
    /// The face (index into the faces given) of each triangle in `tris`.
    ids: Vec<[u32; 4]>,
    /// For each face given, its slot in `tris` (`u32::MAX` for a skipped face).
    slot: Vec<u32>,
    /// The tree's inner nodes, each parent before its children.
    inner: Vec<Inner>,
    /// The tree's leaves, with their triangles' boxes.
    leaves: Vec<Leaf>,
    /// The root ([`Child`]) and its box; None for an empty surface.
    root: Option<(Child, Point3<f64>, Point3<f64>)>,
}

/// The nearest surface point to a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// Distance, mm.
    pub distance_mm: f64,
    /// The point.
    pub point: Point3<f64>,
    /// The face (index into the faces the surface was built from).
    pub face: usize,
    /// Barycentric weights of the face's three corners.
    pub weights: [f64; 3],
}

/// A node of the tree as its parent holds it: an inner node (index into `inner`) or a leaf
/// (index into `leaves`).
#[derive(Debug, Clone, Copy)]
enum Child {
    Inner(u32),
    Leaf(u32),
}

/// An inner node: its two children and their boxes. The boxes are stored in the parent, axis
/// by axis with the two children side by side (`lo[axis][child]`), so that a visit reads one
/// node and computes both children's distances in paired lanes (SSE2) instead of reading two
/// nodes; the tree, the distances and so the order of the search are those of one box per node.
#[derive(Debug, Clone)]
struct Inner {
    lo: [[f64; 2]; 3],
    hi: [[f64; 2]; 3],
    child: [Child; 2],
}

/// A leaf: triangles `start..end` (at most [`LEAF`]) and their bounding boxes, axis by axis with
/// the triangles side by side (`lo[axis][k]` for triangle `start + k`; unused lanes empty): a
/// far triangle in a near leaf is passed over for a box test instead of a closest-point test,
/// and the leaf's box distances are computed together in paired lanes.
#[derive(Debug, Clone)]
struct Leaf {
    lo: [[f64; LEAF]; 3],
    hi: [[f64; LEAF]; 3],
    start: u32,
    end: u32,
}

/// Triangles per leaf: 4 tested fewer triangles per query than 8 (the nearest-point queries of
/// bone registration spent more time in triangle tests than in boxes).
const LEAF: usize = 4;

impl Surface {
    /// The surface of `faces` over `vertices` (indices must be in range: faces naming a missing
    /// vertex are skipped).
    pub fn new(vertices: &[Point3<f64>], faces: &[[u32; 3]]) -> Self {
        let ids: Vec<[u32; 4]> = faces.iter().enumerate().filter(|(_, f)| f.iter().all(|&i| (i as usize) < vertices.len())).map(|(k, f)| [f[0], f[1], f[2], k as u32]).collect();
        let tris = ids.iter().map(|f| [vertices[f[0] as usize], vertices[f[1] as usize], vertices[f[2] as usize]]).collect();
        let mut s = Self { tris, ids, slot: Vec::new(), inner: Vec::new(), leaves: Vec::new(), root: None };
        if !s.tris.is_empty() {
            // The tree orders a permutation of the triangles in place (one array for all
            // levels), then the triangles are laid out in its order.
            // Each triangle's box and split keys (the sums of its corners' coordinates) are
            // computed once, not once per level.
            let mut perm: Vec<u32> = (0..s.tris.len() as u32).collect();
            let tbox: Vec<[Point3<f64>; 2]> = s.tris.iter().map(tri_box).collect();
            let keys: Vec<[f64; 3]> = s.tris.iter().map(|t| [0, 1, 2].map(|a| t[0][a] + t[1][a] + t[2][a])).collect();
            s.root = Some(s.split(&mut perm, 0, &tbox, &keys));
            s.tris = perm.iter().map(|&i| s.tris[i as usize]).collect();
            s.ids = perm.iter().map(|&i| s.ids[i as usize]).collect();
            for leaf in &mut s.leaves {
                leaf.fill(&s.tris);
            }
        }
        s.slot = vec![u32::MAX; faces.len()];
        for (i, f) in s.ids.iter().enumerate() {
            s.slot[f[3] as usize] = i as u32;
        }
        s
    }

    /// The box around triangle boxes.
    fn bounds<'a>(boxes: impl Iterator<Item = &'a [Point3<f64>; 2]>) -> (Point3<f64>, Point3<f64>) {
        let mut lo = Point3::from(Vector3::repeat(f64::INFINITY));
        let mut hi = Point3::from(Vector3::repeat(f64::NEG_INFINITY));
        for [l, h] in boxes {
            lo = lo.inf(l);
            hi = hi.sup(h);
        }
        (lo, hi)
    }

    /// Builds the node for the triangles `order` (indices into `tris`, `tbox` and `keys`; they
    /// start at `start` in the final layout), sorted in place by the split; returns the node
    /// and its box. A leaf's triangle boxes are filled in once the triangles are laid out.
    fn split(&mut self, order: &mut [u32], start: usize, tbox: &[[Point3<f64>; 2]], keys: &[[f64; 3]]) -> (Child, Point3<f64>, Point3<f64>) {
        let (lo, hi) = Self::bounds(order.iter().map(|&i| &tbox[i as usize]));
        if order.len() <= LEAF {
            self.leaves.push(Leaf { lo: [[f64::INFINITY; LEAF]; 3], hi: [[f64::NEG_INFINITY; LEAF]; 3], start: start as u32, end: (start + order.len()) as u32 });
            return (Child::Leaf((self.leaves.len() - 1) as u32), lo, hi);
        }
        let id = self.inner.len();
        self.inner.push(Inner { lo: [[0.0; 2]; 3], hi: [[0.0; 2]; 3], child: [Child::Inner(0); 2] });
        let axis = (hi - lo).imax();
        let mid = order.len() / 2;
        order.select_nth_unstable_by(mid, |&a, &b| keys[a as usize][axis].total_cmp(&keys[b as usize][axis]));
        let (left_order, right_order) = order.split_at_mut(mid);
        let left = self.split(left_order, start, tbox, keys);
        let right = self.split(right_order, start + mid, tbox, keys);
        self.inner[id] = Inner::new(left, right);
        (Child::Inner(id as u32), lo, hi)
    }

    /// The box of a node (from its triangles' boxes, or its children's).
    fn child_box(&self, c: Child) -> (Point3<f64>, Point3<f64>) {
        match c {
            Child::Leaf(k) => self.leaves[k as usize].bounds(),
            Child::Inner(k) => {
                let n = &self.inner[k as usize];
                (Point3::from(n.lo.map(|l| l[0].min(l[1]))), Point3::from(n.hi.map(|h| h[0].max(h[1]))))
            }
        }
    }

    /// The same surface with its vertices moved to `vertices` (same faces): the tree is kept
    /// and its boxes recomputed, much faster than building it again. Tighter after small moves.
    pub fn refit(&mut self, vertices: &[Point3<f64>]) {
        for (t, f) in self.tris.iter_mut().zip(&self.ids) {
            *t = [vertices[f[0] as usize], vertices[f[1] as usize], vertices[f[2] as usize]];
        }
        for leaf in &mut self.leaves {
            leaf.fill(&self.tris);
        }
        // Children are pushed after their parent: refit from the back.
        for k in (0..self.inner.len()).rev() {
            let [a, b] = self.inner[k].child;
            let ((alo, ahi), (blo, bhi)) = (self.child_box(a), self.child_box(b));
            self.inner[k] = Inner::new((a, alo, ahi), (b, blo, bhi));
        }
        if let Some((c, _, _)) = self.root {
            let (lo, hi) = self.child_box(c);
            self.root = Some((c, lo, hi));
        }
    }

    /// The nearest surface point to `p` (`None` for an empty surface).
    pub fn nearest(&self, p: &Point3<f64>) -> Option<Nearest> {
        self.nearest_from(p, None)
    }

    /// [`Self::nearest`], starting from face `hint` (e.g. the previous answer for a point that
    /// moved a little): its distance bounds the search, which then visits far fewer boxes.
    pub fn nearest_from(&self, p: &Point3<f64>, hint: Option<usize>) -> Option<Nearest> {
        self.search(p, hint, f64::INFINITY).map(|(i, q, d2)| self.answer(i, q, d2))
    }

    /// [`Self::nearest_from`] no farther than `max_mm`: `None` when no surface point is within
    /// it. A point far from the surface costs a few boxes instead of a search of the whole
    /// tree; for uses that drop farther matches anyway (ICP with a match distance).
    pub fn nearest_within(&self, p: &Point3<f64>, hint: Option<usize>, max_mm: f64) -> Option<Nearest> {
        // The bound is widened by a rounding margin here and applied exactly below.
        let bound = max_mm * max_mm * (1.0 + 1e-12);
        self.search(p, hint, bound).map(|(i, q, d2)| self.answer(i, q, d2)).filter(|m| m.distance_mm <= max_mm)
    }

    fn answer(&self, i: usize, q: Point3<f64>, d2: f64) -> Nearest {
        Nearest { distance_mm: d2.sqrt(), point: q, face: self.ids[i][3] as usize, weights: barycentric(&q, &self.tris[i]) }
    }

    /// The nearest triangle (slot), point and squared distance, among those closer than
    /// `sqrt(bound)`. Depth first, nearer child first, each box's distance computed once (kept
    /// on the stack with the far child). The stack holds at most one box per inner level, and
    /// the median split of at most 2^32 triangles into leaves of [`LEAF`] has fewer than 32
    /// (the stack is zeroed on every query: no larger than needed).
    fn search(&self, p: &Point3<f64>, hint: Option<usize>, bound: f64) -> Option<(usize, Point3<f64>, f64)> {
        let (mut best, mut at) = (bound, None);
        // The hint's slot, closest point and squared distance (usize::MAX: none).
        let mut hinted = (usize::MAX, Point3::origin(), 0.0);
        if let Some(i) = hint.and_then(|h| self.slot.get(h)).map(|&i| i as usize).filter(|&i| i < self.tris.len()) {
            // The hint only bounds the search (slightly widened, so that the tree finds it or
            // an equally near triangle again and ties break as without a hint).
            let q = closest_on_triangle(p, &self.tris[i]);
            let d2 = (q - p).norm_squared();
            best = best.min(d2 * (1.0 + 1e-12) + 1e-300);
            hinted = (i, q, d2);
        }
        let (root, lo, hi) = self.root?;
        let mut stack = [(Child::Inner(0), 0.0f64); 32];
        let mut top = 0;
        let (mut node, mut d) = (root, box_dist2(p, &lo, &hi));
        loop {
            if d < best {
                match node {
                    Child::Leaf(k) => {
                        let leaf = &self.leaves[k as usize];
                        for (i, box_d2) in (leaf.start as usize..leaf.end as usize).zip(leaf.dist2(p)) {
                            // The triangle's box is no nearer than the triangle: a box beyond
                            // the best so far (with a margin for the rounding of the closest
                            // point, so that no triangle the test below would take is passed
                            // over) rules the triangle out.
                            if box_d2 > best * (1.0 + 1e-9) + 1e-15 {
                                continue;
                            }
                            // The hint's triangle is not computed again.
                            let (q, d2) = if i == hinted.0 {
                                (hinted.1, hinted.2)
                            } else {
                                let q = closest_on_triangle(p, &self.tris[i]);
                                (q, (q - p).norm_squared())
                            };
                            if d2 < best {
                                best = d2;
                                at = Some((i, q));
                            }
                        }
                    }
                    Child::Inner(k) => {
                        let n = &self.inner[k as usize];
                        let [da, db] = n.dist2(p);
                        // Nearer first (on a tie the second child, as the search always did).
                        let ((near, dn), (far, df)) = if da < db { ((n.child[0], da), (n.child[1], db)) } else { ((n.child[1], db), (n.child[0], da)) };
                        if df < best {
                            stack[top] = (far, df);
                            top += 1;
                        }
                        (node, d) = (near, dn);
                        continue;
                    }
                }
            }
            // The next box on the stack still nearer than the best so far.
            loop {
                if top == 0 {
                    return at.map(|(i, q)| (i, q, best));
                }
                top -= 1;
                (node, d) = stack[top];
                if d < best {
                    break;
                }
            }
        }
    }

    /// `query(i)` for every `i` in `0..hints.len()` (a query of point `i` starting from face
    /// `hints[i]`), in parallel, answers in `i`'s order. The queries run in the order of their
    /// hints' triangles in the tree (those without a hint last): queries run one after the other
    /// then read the same boxes and triangles, which stay in the cache, instead of jumping over a
    /// tree larger than the cache. Each answer is its query's alone, so they are the same in any
    /// order and on any number of threads.
    pub fn par_hinted<T: Copy + Send + Sync>(&self, hints: &[Option<usize>], query: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        let place = |h: &Option<usize>| h.and_then(|h| self.slot.get(h)).map_or(u32::MAX, |&s| s);
        let mut order: Vec<u64> = hints.iter().enumerate().map(|(i, h)| (u64::from(place(h)) << 32) | i as u64).collect();
        order.sort_unstable();
        let answers: Vec<T> = order.par_iter().map(|&k| query((k & u64::from(u32::MAX)) as usize)).collect();
        let mut at = vec![0u32; hints.len()];
        for (n, &k) in order.iter().enumerate() {
            at[(k & u64::from(u32::MAX)) as usize] = n as u32;
        }
        at.iter().map(|&n| answers[n as usize]).collect()
    }

    /// The distance from `p` to the surface (infinite for an empty surface).
    pub fn distance(&self, p: &Point3<f64>) -> f64 {
        self.nearest(p).map_or(f64::INFINITY, |m| m.distance_mm)
    }
}

impl Inner {
    /// The node of two children with their boxes.
    fn new((a, alo, ahi): (Child, Point3<f64>, Point3<f64>), (b, blo, bhi): (Child, Point3<f64>, Point3<f64>)) -> Self {
        Self { lo: [0, 1, 2].map(|k| [alo[k], blo[k]]), hi: [0, 1, 2].map(|k| [ahi[k], bhi[k]]), child: [a, b] }
    }

    /// The squared distances from `p` to the two children's boxes.
    fn dist2(&self, p: &Point3<f64>) -> [f64; 2] {
        lanes_dist2(&self.lo, &self.hi, p)
    }
}

impl Leaf {
    /// Its triangles' boxes from `tris`.
    fn fill(&mut self, tris: &[[Point3<f64>; 3]]) {
        for (k, t) in tris[self.start as usize..self.end as usize].iter().enumerate() {
            let [lo, hi] = tri_box(t);
            for a in 0..3 {
                self.lo[a][k] = lo[a];
                self.hi[a][k] = hi[a];
            }
        }
    }

    /// The box around its triangles.
    fn bounds(&self) -> (Point3<f64>, Point3<f64>) {
        let mut lo = Point3::from(Vector3::repeat(f64::INFINITY));
        let mut hi = Point3::from(Vector3::repeat(f64::NEG_INFINITY));
        for k in 0..(self.end - self.start) as usize {
            lo = lo.inf(&Point3::new(self.lo[0][k], self.lo[1][k], self.lo[2][k]));
            hi = hi.sup(&Point3::new(self.hi[0][k], self.hi[1][k], self.hi[2][k]));
        }
        (lo, hi)
    }

    /// The squared distances from `p` to its triangles' boxes (unused lanes give infinity).
    fn dist2(&self, p: &Point3<f64>) -> [f64; LEAF] {
        lanes_dist2(&self.lo, &self.hi, p)
    }
}

/// A triangle's bounding box: lowest and highest corner.
fn tri_box(t: &[Point3<f64>; 3]) -> [Point3<f64>; 2] {
    [t[0].inf(&t[1]).inf(&t[2]), t[0].sup(&t[1]).sup(&t[2])]
}

/// The squared distances from `p` to `N` boxes stored axis by axis side by side (`lo[axis][k]`
/// for box `k`): [`box_dist2`]'s operations, lane by lane, so LLVM keeps the lanes in vector
/// registers. Used for an inner node's two children and a leaf's triangles.
fn lanes_dist2<const N: usize>(lo: &[[f64; N]; 3], hi: &[[f64; N]; 3], p: &Point3<f64>) -> [f64; N] {
    let mut sum = [0.0; N];
    for a in 0..3 {
        for (k, s) in sum.iter_mut().enumerate() {
            let (below, above) = (lo[a][k] - p[a], p[a] - hi[a][k]);
            let d = if below > 0.0 { below } else { 0.0 };
            let d = if above > d { above } else { d };
            *s += d * d;
        }
    }
    sum
}

/// The squared distance from `p` to the box `lo`..`hi` (0 inside). Comparisons instead of
/// `f64::max`, whose NaN rule costs several instructions per call: the coordinates are finite
/// here, and a zero of either sign squares to the same +0, so the value is `max`'s.
fn box_dist2(p: &Point3<f64>, lo: &Point3<f64>, hi: &Point3<f64>) -> f64 {
    let axis = |a: usize| {
        let (below, above) = (lo[a] - p[a], p[a] - hi[a]);
        let d = if below > 0.0 { below } else { 0.0 };
        let d = if above > d { above } else { d };
        d * d
    };
    axis(0) + axis(1) + axis(2)
}

/// Barycentric weights of a point `q` of triangle `t` (least squares for a degenerate one).
fn barycentric(q: &Point3<f64>, t: &[Point3<f64>; 3]) -> [f64; 3] {
    let (v0, v1, v2) = (t[1] - t[0], t[2] - t[0], q - t[0]);
    let (d00, d01, d11, d20, d21) = (v0.dot(&v0), v0.dot(&v1), v1.dot(&v1), v2.dot(&v0), v2.dot(&v1));
    let den = d00 * d11 - d01 * d01;
    if den.abs() <= f64::EPSILON * d00 * d11 {
        return [1.0, 0.0, 0.0];
    }
    let v = (d11 * d20 - d01 * d21) / den;
    let w = (d00 * d21 - d01 * d20) / den;
    [1.0 - v - w, v, w]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With any hint (right, wrong, missing) and with a distance bound, the answer is brute
    /// force's; beyond the bound there is none.
    #[test]
    fn hints_and_bounds_keep_the_nearest_point() {
        // A wavy sheet of 40 x 40 quads.
        let n = 40;
        let v: Vec<Point3<f64>> = (0..n * n).map(|k| Point3::new((k % n) as f64, (k / n) as f64, 2.0 * ((k % n) as f64 * 0.3).sin())).collect();
        let mut f = Vec::new();
        for y in 0..n - 1 {
            for x in 0..n - 1 {
                let k = (y * n + x) as u32;
                f.push([k, k + 1, k + n as u32 + 1]);
                f.push([k, k + n as u32 + 1, k + n as u32]);
            }
        }
        let s = Surface::new(&v, &f);
        let brute = |p: &Point3<f64>| f.iter().map(|t| (closest_on_triangle(p, &t.map(|i| v[i as usize])) - p).norm()).fold(f64::INFINITY, f64::min);
        for k in 0..200 {
            let p = Point3::new((k * 7 % 45) as f64 * 0.9 - 2.0, (k * 13 % 43) as f64 * 0.95 - 1.5, (k % 11) as f64 - 5.0);
            let truth = brute(&p);
            for hint in [None, Some(0), Some(k * 17 % f.len()), Some(f.len() + 3)] {
                let m = s.nearest_from(&p, hint).unwrap();
                assert!((m.distance_mm - truth).abs() < 1e-12, "hint {hint:?}: {} vs {truth}", m.distance_mm);
                assert!(((m.point - p).norm() - truth).abs() < 1e-12);
                for max in [0.5, 2.0, 8.0] {
                    match s.nearest_within(&p, hint, max) {
                        Some(w) => assert!(truth <= max && (w.distance_mm - truth).abs() < 1e-12, "within {max}: {} vs {truth}", w.distance_mm),
                        None => assert!(truth > max, "within {max}: none, but {truth}"),
                    }
                }
            }
        }
    }
}

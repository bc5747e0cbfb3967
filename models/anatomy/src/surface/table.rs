//! The marching-cubes case table, built (once) from a rule rather than typed in.
//!
//! # Cube numbering
//! Corner `c` of a cube sits at `(c & 1, (c >> 1) & 1, (c >> 2) & 1)` (`dx, dy, dz`). Edges:
//! `0..4` run along x at `(dy, dz) = (e & 1, e >> 1)`, `4..8` along y at `(dx, dz)`, `8..12` along
//! z at `(dx, dy)`. The case index has bit `c` set when corner `c` is inside the mask.
//!
//! # How a case is triangulated
//! 1. On each of the six faces the iso-contour is drawn as in marching squares. The one ambiguous
//!    face (two diagonal corners inside, two outside) is decided by a fixed rule that depends on
//!    the face's four corners only, so the two cubes sharing a face always agree: the two inside
//!    corners are *joined* (the segments cut off the outside corners). A binary mask puts the
//!    bilinear saddle exactly at the iso-level, so no asymptotic decider can choose here; joining
//!    gives the foreground 18-connectivity and the background 6-connectivity (a consistent
//!    digital-topology pair), keeps one-voxel-thick oblique plates as closed slabs of the right
//!    volume instead of chains of octahedra, and matches a bone cortex better than splitting it.
//! 2. Each segment is oriented so that the inside lies on its left seen from outside the mask;
//!    every crossed edge then has exactly one outgoing and one incoming segment, and the segments
//!    chain into closed loops on the cube's boundary.
//! 3. Each loop (3 to 7 vertices) is spanned by a disk: the minimum-area triangulation of the
//!    loop polygon (vertices of a binary mask are always edge midpoints, so the geometry is known
//!    here), never using a diagonal whose two ends lie on a common cube face (that edge could also
//!    be made by the neighbouring cube). Every loop of the 256 cases has such a triangulation
//!    (checked by a test).
//!
//! Every triangle edge is then either a face segment, shared with exactly one triangle of the
//! neighbouring cube and traversed the other way, or an interior diagonal owned by one loop: the
//! surface is closed, oriented and 2-manifold (edges and vertices) by construction, with no
//! interior tunnels (a loop is always a disk).

use std::sync::OnceLock;

use nalgebra::Vector3;

/// Corner `c` position in the unit cube.
fn corner(c: usize) -> Vector3<f64> {
    Vector3::new((c & 1) as f64, ((c >> 1) & 1) as f64, ((c >> 2) & 1) as f64)
}

/// The two corners of edge `e`, in increasing order.
pub(crate) const EDGE_CORNERS: [[usize; 2]; 12] = [
    [0, 1],
    [2, 3],
    [4, 5],
    [6, 7], // along x
    [0, 2],
    [1, 3],
    [4, 6],
    [5, 7], // along y
    [0, 4],
    [1, 5],
    [2, 6],
    [3, 7], // along z
];

/// Midpoint of edge `e` in the unit cube.
pub(crate) fn edge_midpoint(e: usize) -> Vector3<f64> {
    let [a, b] = EDGE_CORNERS[e];
    (corner(a) + corner(b)) * 0.5
}

/// The six faces: corners in cyclic order and the outward normal of the face.
const FACES: [([usize; 4], [f64; 3]); 6] = [
    ([0, 2, 6, 4], [-1.0, 0.0, 0.0]),
    ([1, 3, 7, 5], [1.0, 0.0, 0.0]),
    ([0, 1, 5, 4], [0.0, -1.0, 0.0]),
    ([2, 3, 7, 6], [0.0, 1.0, 0.0]),
    ([0, 1, 3, 2], [0.0, 0.0, -1.0]),
    ([4, 5, 7, 6], [0.0, 0.0, 1.0]),
];

fn edge_between(a: usize, b: usize) -> usize {
    let (a, b) = (a.min(b), a.max(b));
    EDGE_CORNERS.iter().position(|&e| e == [a, b]).expect("face corners are cube-edge neighbours")
}

/// Bit set of the faces edge `e` lies on.
fn faces_of_edge(e: usize) -> u8 {
    let [a, b] = EDGE_CORNERS[e];
    FACES.iter().enumerate().filter(|(_, (c, _))| c.contains(&a) && c.contains(&b)).fold(0, |m, (f, _)| m | (1 << f))
}

/// The triangulation of one case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Case {
    /// Triangles (cube edge ids, counter-clockwise from outside), one group per loop.
    pub patches: Vec<Vec<[u8; 3]>>,
}

/// The 256 cases.
pub(crate) fn cases() -> &'static [Case; 256] {
    static TABLE: OnceLock<Box<[Case; 256]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let v: Vec<Case> = (0..256).map(build_case).collect();
        v.into_boxed_slice().try_into().expect("256 cases")
    })
}

/// Flat, cache-friendly form of [`cases`] for the extraction loop: for case `c`,
/// `tris[start[c]..start[c + 1]]` are its triangles.
pub(crate) struct FlatTable {
    /// Triangle start per case (257 entries).
    pub start: [u16; 257],
    /// All triangles (cube edge ids).
    pub tris: Vec<[u8; 3]>,
}

pub(crate) fn flat() -> &'static FlatTable {
    static FLAT: OnceLock<FlatTable> = OnceLock::new();
    FLAT.get_or_init(|| {
        let mut start = [0u16; 257];
        let mut tris = Vec::new();
        for (c, case) in cases().iter().enumerate() {
            start[c] = tris.len() as u16;
            for p in &case.patches {
                tris.extend_from_slice(p);
            }
        }
        start[256] = tris.len() as u16;
        FlatTable { start, tris }
    })
}

fn build_case(case: usize) -> Case {
    let inside = |c: usize| case & (1 << c) != 0;
    // next[e] = the edge the oriented contour goes to from edge e.
    let mut next = [usize::MAX; 12];
    for (corners, n) in FACES {
        let n = Vector3::from(n);
        let crossing: Vec<(usize, usize)> = (0..4).filter(|&k| inside(corners[k]) != inside(corners[(k + 1) % 4])).map(|k| (k, edge_between(corners[k], corners[(k + 1) % 4]))).collect();
        // Segments as (edge a, edge b, vector pointing to the inside side).
        let mut segments = Vec::new();
        match crossing.len() {
            0 => {}
            2 => {
                let (ins, outs): (Vec<usize>, Vec<usize>) = corners.iter().partition(|&&c| inside(c));
                let centroid = |s: &[usize]| s.iter().map(|&c| corner(c)).sum::<Vector3<f64>>() / s.len() as f64;
                segments.push((crossing[0].1, crossing[1].1, centroid(&ins) - centroid(&outs)));
            }
            4 => {
                // Ambiguous: join the inside corners, cut off each outside corner.
                for k in 0..4 {
                    if !inside(corners[k]) {
                        let before = edge_between(corners[(k + 3) % 4], corners[k]);
                        let after = edge_between(corners[k], corners[(k + 1) % 4]);
                        let mid = (edge_midpoint(before) + edge_midpoint(after)) * 0.5;
                        segments.push((before, after, mid - corner(corners[k])));
                    }
                }
            }
            _ => unreachable!("a square has an even number of sign changes"),
        }
        for (a, b, w) in segments {
            // Inside on the left seen from outside the mask: the direction is along n × w.
            let d = edge_midpoint(b) - edge_midpoint(a);
            let (from, to) = if n.cross(&w).dot(&d) > 0.0 { (a, b) } else { (b, a) };
            debug_assert_eq!(next[from], usize::MAX, "case {case}: edge {from} leaves twice");
            next[from] = to;
        }
    }
    let mut patches = Vec::new();
    let mut seen = [false; 12];
    for e0 in 0..12 {
        if next[e0] == usize::MAX || seen[e0] {
            continue;
        }
        let mut lp = Vec::new();
        let mut e = e0;
        while !seen[e] {
            seen[e] = true;
            lp.push(e);
            e = next[e];
        }
        debug_assert_eq!(e, e0, "case {case}: contour does not close");
        patches.push(triangulate(&lp));
    }
    Case { patches }
}

/// Minimum-area triangulation of the loop without diagonals between edges on a common face (a
/// plain fan if there were none, which no case needs: see the tests).
fn triangulate(lp: &[usize]) -> Vec<[u8; 3]> {
    let n = lp.len();
    if n == 3 {
        return vec![[lp[0] as u8, lp[1] as u8, lp[2] as u8]];
    }
    let p: Vec<Vector3<f64>> = lp.iter().map(|&e| edge_midpoint(e)).collect();
    let faces: Vec<u8> = lp.iter().map(|&e| faces_of_edge(e)).collect();
    let adjacent = |a: usize, b: usize| (a + 1) % n == b || (b + 1) % n == a;
    let ok = |a: usize, b: usize| adjacent(a, b) || faces[a] & faces[b] == 0;
    let area = |a: usize, b: usize, c: usize| 0.5 * (p[b] - p[a]).cross(&(p[c] - p[a])).norm();
    // cost[a][b]: best triangulation of the sub-polygon a..=b (b > a), with chord (a, b).
    let inf = f64::INFINITY;
    let mut cost = vec![vec![inf; n]; n];
    let mut split = vec![vec![usize::MAX; n]; n];
    for a in 0..n - 1 {
        cost[a][a + 1] = 0.0;
    }
    for len in 2..n {
        for a in 0..n - len {
            let b = a + len;
            if !ok(a, b) {
                continue;
            }
            for m in a + 1..b {
                let c = cost[a][m] + cost[m][b] + area(a, m, b);
                // Strictly better only, so that ties resolve to the lowest split (deterministic).
                if c < cost[a][b] - 1e-12 {
                    cost[a][b] = c;
                    split[a][b] = m;
                }
            }
        }
    }
    if !cost[0][n - 1].is_finite() {
        return (1..n - 1).map(|k| [lp[0] as u8, lp[k] as u8, lp[k + 1] as u8]).collect();
    }
    let mut tris = Vec::with_capacity(n - 2);
    let mut stack = vec![(0, n - 1)];
    while let Some((a, b)) = stack.pop() {
        if b - a < 2 {
            continue;
        }
        let m = split[a][b];
        tris.push([lp[a] as u8, lp[m] as u8, lp[b] as u8]);
        stack.push((a, m));
        stack.push((m, b));
    }
    tris
}

/// Volume of `{f >= 1/2}` inside the unit cube, per case, where `f` is the trilinear interpolant
/// of the corner values (1 inside, 0 outside): the continuous shape whose iso-surface marching
/// cubes approximates with chords. For each `(x, y)` the interpolant is linear in `z`, so the
/// `z` extent is exact; `(x, y)` is integrated by the midpoint rule on a 256 x 256 grid (error
/// below 1e-5 of a voxel; complementary cases add to exactly 1).
pub(crate) fn case_volumes() -> &'static [f64; 256] {
    static VOLUMES: OnceLock<[f64; 256]> = OnceLock::new();
    VOLUMES.get_or_init(|| {
        const N: usize = 256;
        let mut v = [0.0; 256];
        for case in 0..128usize {
            let val = |c: usize| f64::from((case >> c & 1) as u8);
            let mut sum = 0.0;
            for a in 0..N {
                let x = (a as f64 + 0.5) / N as f64;
                for b in 0..N {
                    let y = (b as f64 + 0.5) / N as f64;
                    let bilinear = |z: usize| {
                        let c = |dx: usize, dy: usize| val(dx | dy << 1 | z << 2);
                        c(0, 0) * (1.0 - x) * (1.0 - y) + c(1, 0) * x * (1.0 - y) + c(0, 1) * (1.0 - x) * y + c(1, 1) * x * y
                    };
                    // f(z) = f0 + (f1 - f0) z; length of {z in [0, 1] : f(z) >= 1/2}.
                    let (f0, f1) = (bilinear(0), bilinear(1));
                    sum += if f1 == f0 {
                        if f0 >= 0.5 { 1.0 } else { 0.0 }
                    } else {
                        let t = ((0.5 - f0) / (f1 - f0)).clamp(0.0, 1.0);
                        if f1 > f0 { 1.0 - t } else { t }
                    };
                }
            }
            v[case] = sum / (N * N) as f64;
            v[255 - case] = 1.0 - v[case];
        }
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complementary_and_trivial_cases() {
        let t = cases();
        assert!(t[0].patches.is_empty());
        assert!(t[255].patches.is_empty());
        // One corner: one triangle whose normal points away from the corner.
        for c in 0..8 {
            let tr = &t[1 << c].patches[0];
            assert_eq!(tr.len(), 1);
            let [a, b, d] = tr[0].map(|e| edge_midpoint(e as usize));
            let n = (b - a).cross(&(d - a));
            assert!(n.dot(&(a - corner(c))) > 0.0, "corner {c}: normal points inward");
        }
    }

    #[test]
    fn trilinear_volumes() {
        let v = case_volumes();
        assert_eq!(v[0], 0.0);
        assert_eq!(v[255], 1.0);
        // Half the cube: the interpolant is 1 - z, the region z <= 1/2.
        assert!((v[0b0000_1111] - 0.5).abs() < 1e-12);
        // One corner: P(UVW >= 1/2) for uniform U, V, W; -ln of each is Exp(1), their sum
        // Gamma(3, 1): 1 - (1 + s + s^2/2) e^-s at s = ln 2.
        let l = std::f64::consts::LN_2;
        assert!((v[1] - (0.5 - l / 2.0 - l * l / 4.0)).abs() < 1e-5, "{}", v[1]);
        // Symmetric cases agree.
        for c in 0..8 {
            assert!((v[1 << c] - v[1]).abs() < 1e-9);
        }
    }

    #[test]
    fn every_case_has_edge_manifold_closed_loops() {
        // Within a case, each crossed edge appears in exactly one loop, and every directed
        // boundary segment of a loop is used by exactly one triangle.
        for (c, case) in cases().iter().enumerate() {
            let crossed = (0..12).filter(|&e| {
                let [a, b] = EDGE_CORNERS[e];
                (c >> a & 1) != (c >> b & 1)
            });
            let mut used = [0; 12];
            for p in &case.patches {
                let mut l: Vec<u8> = p.iter().flatten().copied().collect();
                l.sort_unstable();
                l.dedup();
                // A disk: a loop of n vertices in n - 2 triangles.
                assert_eq!(p.len(), l.len() - 2, "case {c:#010b}");
                // No diagonal joins two edges of a common face unless it is a contour segment,
                // i.e. the minimum-area triangulation existed (no fallback fan was used).
                for t in p {
                    for k in 0..3 {
                        let (a, b) = (t[k] as usize, t[(k + 1) % 3] as usize);
                        let boundary = p.iter().filter(|s| s.contains(&(a as u8)) && s.contains(&(b as u8))).count() == 1;
                        assert!(boundary || faces_of_edge(a) & faces_of_edge(b) == 0, "case {c:#010b}: diagonal {a}-{b} on a face");
                    }
                }
                for e in l {
                    used[e as usize] += 1;
                }
            }
            for e in crossed {
                assert_eq!(used[e], 1, "case {c:#010b}: edge {e}");
            }
        }
    }
}

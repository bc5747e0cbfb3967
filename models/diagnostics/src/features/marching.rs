//! The 256 marching-cubes cases of pyradiomics' mesh (its `cshape.c` C extension), derived here
//! from the cube's geometry rather than copied from its lookup table.
//!
//! # What pyradiomics does
//! A 2 x 2 x 2 cube of mask voxels has 256 inside/outside configurations. pyradiomics' table
//! (Lorensen and Cline's marching cubes as Bourke and Bloyd tabulated it) lists the triangles of
//! the 128 configurations with the corner `(z+1, y+1, x)` outside; a configuration with that
//! corner inside is looked up as its complement and its volume counted with the opposite sign.
//! Vertices sit at the midpoints of the cube's edges. Area and volume add up triangle by
//! triangle, so a triangle that differs changes both; only the choice of diagonals in the
//! non-planar polygons matters (a planar polygon's area does not depend on how it is cut).
//!
//! # How the cases are derived here
//! 1. **Loops.** On each face of the cube the crossing edges are joined around each run of
//!    inside corners, so diagonal inside corners of an ambiguous face are kept apart (the
//!    complement then joins them, as in pyradiomics); the face segments are chained into
//!    oriented loops (outward normals). These are exactly the polygons of pyradiomics' table
//!    (checked for all 128 configurations).
//! 2. **Triangles.** Planar loops (3 and 4 vertices, and the regular hexagon around a corner and
//!    its three neighbours) are fanned from their first vertex. The non-planar ones come in four
//!    kinds, each cut as the table cuts it:
//!    - **pentagon** around three corners `L` on one face (inside or outside): a fan from the
//!      loop's vertex on the edge leaving the face at the end of `L` that comes first when `L` is
//!      walked counter-clockwise about the face's outward normal (in the index frame `z, y, x`).
//!      One configuration (corners `(0,0,1) (0,1,0) (1,0,0) (1,0,1)`) is cut from the other end;
//!    - **heptagon** around five inside corners: a fan from the vertex on the edge that joins the
//!      lone outside corner (the one with no outside neighbour) to its inside neighbour that
//!      touches no other outside corner;
//!    - **hexagon** around two outside corners diagonal on a face (six inside): a fan from the
//!      vertex on the edge perpendicular to that face at the outside corner that is not
//!      `(1, 1, 0)`;
//!    - **hexagon** around a "snake" of four inside corners (a path of three edges along three
//!      axes): the central triangle of alternate vertices plus three ears. The snake is carried
//!      onto itself by a half turn that swaps its two central triangles, so nothing in the cube's
//!      geometry picks one: the table's choice (the central triangle holds the outside edge of
//!      the middle corner in [`SNAKE_MIDDLES`]) was found by measuring pyradiomics' C extension
//!      on each single-cube configuration with unequal spacing, and the one pentagon exception the
//!      same way. The side-by-side test (`tests/pyradiomics_peer.rs`,
//!      `every_single_cube_equals_pyradiomics`) measures all 254 configurations again.
//!
//! So the triangles equal pyradiomics' for every configuration: area and signed volume of each
//! single cube agree to rounding with any spacing, and with them `SurfaceArea`, `MeshVolume`,
//! `Sphericity` and `SurfaceVolumeRatio`.

use std::sync::OnceLock;

/// One marching-cubes case: triangles as triples of edge ids (outward), and the volume sign.
pub(crate) struct Case {
    pub(crate) triangles: Vec<[u8; 3]>,
    pub(crate) sign: f64,
}

/// Corner `c` of a cube at offset `[dz, dy, dx]`: its index bits are its coordinates.
pub(crate) fn corner(c: usize) -> [usize; 3] {
    [(c >> 2) & 1, (c >> 1) & 1, c & 1]
}

/// The corner `(1, 1, 0)`: pyradiomics' table holds the configurations with it outside.
const FLIP_CORNER: usize = 6;

/// The snake configurations (inside corners as a bit set, [`corner`] numbering) and the middle
/// corner whose outside edge lies in the central triangle pyradiomics' table cuts (see the
/// module docs: measured, not derivable from the geometry).
const SNAKE_MIDDLES: [(u8, usize); 12] = [
    (0b0001_1011, 1),
    (0b0001_1101, 0),
    (0b0010_0111, 1),
    (0b0010_1110, 1),
    (0b0011_1010, 1),
    (0b0011_0101, 0),
    (0b1000_1011, 3),
    (0b1000_1101, 2),
    (0b1010_0011, 1),
    (0b1010_1100, 3),
    (0b1011_0001, 4),
    (0b1011_1000, 7),
];

/// The pentagon configuration the table cuts from the other end of its `L` (module docs).
const PENTAGON_OTHER_END: u8 = 0b0011_0110;

/// The 256 cases and the 12 edges (corner pairs, lower corner first) they refer to.
pub(crate) type Cases = (Vec<Case>, Vec<(usize, usize)>);

/// The cases, derived once.
pub(crate) fn cases() -> &'static Cases {
    static CASES: OnceLock<Cases> = OnceLock::new();
    CASES.get_or_init(|| {
        let cube = Cube::new();
        let table = (0..256usize)
            .map(|config| {
                let flipped = config & (1 << FLIP_CORNER) != 0;
                let set = if flipped { !config & 0xff } else { config };
                let triangles = cube.loops(set).iter().flat_map(|lp| cube.triangulate(set, lp)).collect();
                Case { triangles, sign: if flipped { -1.0 } else { 1.0 } }
            })
            .collect();
        (table, cube.edges)
    })
}

/// The cube's edges and faces.
struct Cube {
    edges: Vec<(usize, usize)>,
    /// The six faces, corners counter-clockwise seen from outside.
    faces: Vec<[usize; 4]>,
}

impl Cube {
    fn new() -> Self {
        let mut edges = Vec::new();
        for a in 0..8usize {
            for b in a + 1..8 {
                if (a ^ b).count_ones() == 1 {
                    edges.push((a, b));
                }
            }
        }
        let mut faces = Vec::new();
        for a in 0..3 {
            let (u, v) = ((a + 1) % 3, (a + 2) % 3);
            for side in 0..2 {
                let uv: [(usize, usize); 4] = if side == 1 { [(0, 0), (1, 0), (1, 1), (0, 1)] } else { [(0, 0), (0, 1), (1, 1), (1, 0)] };
                faces.push(uv.map(|(cu, cv)| {
                    let mut c = [0; 3];
                    c[a] = side;
                    c[u] = cu;
                    c[v] = cv;
                    c[0] * 4 + c[1] * 2 + c[2]
                }));
            }
        }
        Self { edges, faces }
    }

    /// The id of the edge joining corners `a` and `b`.
    fn edge(&self, a: usize, b: usize) -> u8 {
        self.edges.iter().position(|e| *e == (a.min(b), a.max(b))).expect("cube edge") as u8
    }

    /// The oriented loops of crossing edges of the configuration `set` (inside corners as bits).
    fn loops(&self, set: usize) -> Vec<Vec<u8>> {
        let mut next = [u8::MAX; 12];
        for f in &self.faces {
            let ins: Vec<bool> = f.iter().map(|c| set & (1 << c) != 0).collect();
            if ins.iter().all(|b| *b) || !ins.iter().any(|b| *b) {
                continue;
            }
            for k in 0..4 {
                if ins[k] && !ins[(k + 3) % 4] {
                    let mut m = k;
                    while ins[(m + 1) % 4] {
                        m = (m + 1) % 4;
                    }
                    next[self.edge(f[(k + 3) % 4], f[k]) as usize] = self.edge(f[m], f[(m + 1) % 4]);
                }
            }
        }
        let mut seen = [false; 12];
        let mut loops = Vec::new();
        for s in 0..12 {
            if next[s] == u8::MAX || seen[s] {
                continue;
            }
            let mut lp = vec![s as u8];
            seen[s] = true;
            let mut e = next[s];
            while e as usize != s {
                seen[e as usize] = true;
                lp.push(e);
                e = next[e as usize];
            }
            loops.push(lp);
        }
        loops
    }

    /// Twice the position of the midpoint of edge `e` (integers).
    fn mid2(&self, e: u8) -> [i64; 3] {
        let (a, b) = self.edges[e as usize];
        let (ca, cb) = (corner(a), corner(b));
        [0, 1, 2].map(|k| (ca[k] + cb[k]) as i64)
    }

    /// The axis edge `e` runs along (0 z, 1 y, 2 x).
    fn axis(&self, e: u8) -> usize {
        let (a, b) = self.edges[e as usize];
        2 - (a ^ b).trailing_zeros() as usize
    }

    /// Whether the loop's vertices lie in one plane.
    fn planar(&self, lp: &[u8]) -> bool {
        let p: Vec<[i64; 3]> = lp.iter().map(|&e| self.mid2(e)).collect();
        let sub = |a: [i64; 3], b: [i64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        let cross = |a: [i64; 3], b: [i64; 3]| [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
        let dot = |a: [i64; 3], b: [i64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        let Some(n) = (2..p.len()).map(|i| cross(sub(p[1], p[0]), sub(p[i], p[0]))).find(|n| *n != [0, 0, 0]) else { return true };
        p.iter().all(|q| dot(sub(*q, p[0]), n) == 0)
    }

    /// The triangles of loop `lp` of configuration `set`, as pyradiomics' table cuts it.
    fn triangulate(&self, set: usize, lp: &[u8]) -> Vec<[u8; 3]> {
        let at = |e: u8| lp.iter().position(|&x| x == e).expect("edge of the loop");
        let apex = if lp.len() <= 4 || self.planar(lp) {
            0
        } else {
            match (lp.len(), set.count_ones()) {
                (5, _) => at(self.pentagon_apex(set, lp)),
                (7, _) => at(self.heptagon_apex(set)),
                (6, 6) => at(self.hexagon_apex(set)),
                (6, 4) => return self.snake(set, lp),
                _ => unreachable!("marching cubes: a loop of {} vertices in configuration {set:#010b}", lp.len()),
            }
        };
        let n = lp.len();
        (1..n - 1).map(|i| [lp[apex], lp[(apex + i) % n], lp[(apex + i + 1) % n]]).collect()
    }

    /// The pentagon's fan vertex: the edge leaving the face at the first end (counter-clockwise
    /// about the outward normal) of the three same-side corners on the face.
    fn pentagon_apex(&self, set: usize, lp: &[u8]) -> u8 {
        let inside = |c: usize| set & (1 << c) != 0;
        // The axis three of the five edges run along: perpendicular to the L's face.
        let pax = (0..3).find(|&a| lp.iter().filter(|&&e| self.axis(e) == a).count() == 3).expect("a pentagon has 3 parallel edges");
        let in_face = *lp.iter().find(|&&e| self.axis(e) != pax).expect("and 2 in its face");
        let s = corner(self.edges[in_face as usize].0)[pax];
        let face: Vec<usize> = (0..8).filter(|&c| corner(c)[pax] == s).collect();
        let side = face.iter().filter(|&&c| inside(c)).count() == 3;
        let l: Vec<usize> = face.into_iter().filter(|&c| inside(c) == side).collect();
        let adjacent = |a: usize, b: usize| (a ^ b).count_ones() == 1;
        let elbow = *l.iter().find(|&&c| l.iter().all(|&o| o == c || adjacent(c, o))).expect("an L has an elbow");
        let ends: Vec<usize> = l.iter().copied().filter(|&c| c != elbow).collect();
        // Counter-clockwise about the outward normal: (end0 - centre) x (elbow - centre) along it.
        let centre2 = {
            let mut c = [1i64; 3];
            c[pax] = 2 * s as i64;
            c
        };
        let rel = |c: usize| {
            let p = corner(c);
            [0, 1, 2].map(|k| 2 * p[k] as i64 - centre2[k])
        };
        let (a, e) = (rel(ends[0]), rel(elbow));
        let cross = [a[1] * e[2] - a[2] * e[1], a[2] * e[0] - a[0] * e[2], a[0] * e[1] - a[1] * e[0]];
        let outward = if s == 1 { 1 } else { -1 };
        let mut first = if cross[pax] * outward > 0 { ends[0] } else { ends[1] };
        if set == PENTAGON_OTHER_END as usize {
            first = if first == ends[0] { ends[1] } else { ends[0] };
        }
        self.edge(first, first ^ (4 >> pax))
    }

    /// The heptagon's fan vertex: the edge from the lone outside corner to its inside
    /// neighbour that touches no other outside corner.
    fn heptagon_apex(&self, set: usize) -> u8 {
        let outside: Vec<usize> = (0..8).filter(|&c| set & (1 << c) == 0).collect();
        let adjacent = |a: usize, b: usize| (a ^ b).count_ones() == 1;
        let lone = *outside.iter().find(|&&c| outside.iter().all(|&o| !adjacent(c, o))).expect("a lone outside corner");
        let far = [1, 2, 4].map(|b| lone ^ b).into_iter().find(|&n| outside.iter().all(|&o| o == lone || !adjacent(n, o))).expect("a neighbour away from the others");
        self.edge(lone, far)
    }

    /// The fan vertex of the hexagon around two outside corners diagonal on a face: the edge
    /// perpendicular to that face at the corner that is not [`FLIP_CORNER`].
    fn hexagon_apex(&self, set: usize) -> u8 {
        let outside: Vec<usize> = (0..8).filter(|&c| set & (1 << c) == 0).collect();
        let other = *outside.iter().find(|&&c| c != FLIP_CORNER).expect("two outside corners");
        let shared = !(outside[0] ^ outside[1]) & 7;
        self.edge(other, other ^ shared)
    }

    /// A snake's hexagon: the central triangle of alternate vertices holding the outside edge
    /// of the middle corner in [`SNAKE_MIDDLES`], and the three ears around it.
    fn snake(&self, set: usize, lp: &[u8]) -> Vec<[u8; 3]> {
        let middle = SNAKE_MIDDLES.iter().find(|(s, _)| *s as usize == set).map(|(_, m)| *m).expect("a measured snake");
        let out = [1, 2, 4].map(|b| middle ^ b).into_iter().find(|&n| set & (1 << n) == 0).expect("a middle corner has one outside neighbour");
        let e = self.edge(middle, out);
        let k = lp.iter().position(|&x| x == e).expect("the middle's edge is on the loop");
        let r: Vec<u8> = (0..6).map(|i| lp[(k + i) % 6]).collect();
        vec![[r[0], r[2], r[4]], [r[0], r[1], r[2]], [r[2], r[3], r[4]], [r[4], r[5], r[0]]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every configuration is cut: each loop into `n - 2` triangles of its own vertices, none
    /// degenerate, and the measured snakes and the pentagon exception all name configurations
    /// of their kind.
    #[test]
    fn every_configuration_is_cut_into_its_loops() {
        let cube = Cube::new();
        let (table, edges) = cases();
        assert_eq!((table.len(), edges.len()), (256, 12));
        for (config, case) in table.iter().enumerate() {
            let set = if config & (1 << FLIP_CORNER) != 0 { !config & 0xff } else { config };
            let loops = cube.loops(set);
            let want: usize = loops.iter().map(|l| l.len() - 2).sum();
            assert_eq!(case.triangles.len(), want, "configuration {config:#010b}");
            for t in &case.triangles {
                let lp = loops.iter().find(|l| l.contains(&t[0])).expect("a loop holds the vertex");
                assert!(t.iter().all(|e| lp.contains(e)) && t[0] != t[1] && t[1] != t[2] && t[0] != t[2], "configuration {config:#010b}: {t:?}");
            }
            assert_eq!(case.sign, if set == config { 1.0 } else { -1.0 });
        }
        for (set, middle) in SNAKE_MIDDLES {
            let set = set as usize;
            assert!(set & (1 << FLIP_CORNER) == 0 && set.count_ones() == 4 && set & (1 << middle) != 0);
            assert!(cube.loops(set).iter().any(|l| l.len() == 6 && !cube.planar(l)), "{set:#010b} is a snake");
        }
        let p = PENTAGON_OTHER_END as usize;
        assert!(cube.loops(p).iter().any(|l| l.len() == 5));
    }

    /// The four kinds of non-planar loop and no other: 36 pentagons, 12 snakes, 3 hexagons
    /// around two outside corners and 9 heptagons in the 128 configurations of the table.
    #[test]
    fn the_non_planar_loops_are_of_four_kinds() {
        let cube = Cube::new();
        let mut kinds = std::collections::BTreeMap::new();
        for set in (0..256usize).filter(|s| s & (1 << FLIP_CORNER) == 0) {
            for lp in cube.loops(set).iter().filter(|l| !cube.planar(l)) {
                *kinds.entry((lp.len(), set.count_ones())).or_insert(0) += 1;
            }
        }
        let pentagons: usize = kinds.iter().filter(|((n, _), _)| *n == 5).map(|(_, c)| c).sum();
        assert_eq!(pentagons, 36);
        assert_eq!((kinds.get(&(6, 4)), kinds.get(&(6, 6)), kinds.get(&(7, 5))), (Some(&12), Some(&3), Some(&9)));
        assert_eq!(kinds.keys().filter(|(n, _)| *n != 5).count(), 3, "{kinds:?}");
    }
}

//! Fast neck-liner contact for user implant parts: what does not change between poses is
//! precomputed once per cup and neck pair, and each pose query is answered against it in
//! about a tenth of a microsecond instead of parry3d's 150 us mesh test.
//!
//! Everything turns about the head centre (the origin of both the liner and the stem frame), so
//! whether the neck meets the liner depends on the pose only through a rotation. The fast path:
//!
//! 1. **The neck's angular profile.** For each radius `ρ` (a 0.005 mm grid, interpolated
//!    linearly between), the neck hull's
//!    section by the sphere of radius `ρ` is bounded by two caps about the neck axis (+z of the
//!    stem frame): an outer cap `ψ⁺(ρ)`, the largest angle from the axis of any hull point at that
//!    radius (exact for the polytope: the extremes of each hull triangle's circle and edge
//!    crossings), and an inner cap `ψ⁻(ρ)`, the largest cap that lies inside the hull whatever
//!    the neck's roll (exact: each face plane `n·y <= c` allows `ψ <= angle(n, z) - acos(c/ρ)`).
//!    For a round neck the two agree (a 96-gon hull: 0.003 mm apart).
//! 2. **The liner's band**: the liner triangles the neck can reach (outside its smallest radius),
//!    sampled with edges no longer than [`BAND_SPACING_MM`]. A sample `x` (radius `ρ`, direction
//!    `u`) lies inside a cap about the posed neck axis `d` iff `u·d >= cos ψ(ρ)`, i.e. iff
//!    `p·d >= 1` with `p = u / cos ψ(ρ)`. So "some sample inside the cap" is the *support
//!    function* of the point set `{p}` at `d` compared with 1.
//! 3. **Two convex hulls** of those points (one for `ψ⁺`, one for `ψ⁻`, the f64 quickhull of
//!    `hull.rs`, parry3d's f32 one where it fails)
//!    answer the support function by hill climbing over hull vertices from a start vertex looked
//!    up in a 6 x 48 x 48 cube map of directions: a handful of dot products per query.
//!
//! A query (the rotation stem -> liner) then reads: a band sample inside the inner cap is
//! certain contact (that point of the liner surface lies inside the neck hull); no sample inside
//! the outer cap is no contact (up to the sampling, below); in between, the sample found is
//! within `ρ (ψ⁺ - ψ⁻)` of the hull, and when that is at most [`ENVELOPE_TOLERANCE_MM`] it
//! counts as contact, otherwise (a neck that is not round: its roll matters) the caller runs
//! parry3d's exact test. Sampling misses at most the sag of the neck's surface over a sample
//! spacing, `h² / (8 r)` (0.003 mm for a 6 mm neck radius at 0.4 mm): [`TOLERANCE_MM`] states
//! the whole tolerance against parry3d's exact test.
//!
//! Written here rather than taken from a crate: parry3d's BVH cannot prune a neck that sits
//! inside a concave cup (docs/STACK.md: 174 us per pose), and no crate offers a support-function
//! index for a point set. The final contact point of a sweep comes from parry3d's exact contact
//! query on the liner triangles next to the point found here ([`FastPair::exact_contact_near`]).

use std::collections::HashMap;

use nalgebra::{Matrix3, Vector3};
use parry3d::math::{Pose, Vector};
use parry3d::shape::{ConvexPolyhedron, Triangle};
use rayon::prelude::*;

use crate::convert::{mm_to_f32, vector_from_sim, vector_to_sim};

/// Radius step of the neck's angular profile, mm.
const PROFILE_STEP_MM: f64 = 0.005;
/// Longest edge of the triangles the liner's band is sampled with, mm.
pub const BAND_SPACING_MM: f64 = 0.4;
/// Where the outer and inner caps of the neck lie at most this far apart (mm, along the
/// sphere), the outer cap decides contact; farther apart, parry3d's exact test decides.
pub const ENVELOPE_TOLERANCE_MM: f64 = 0.01;
/// The fast path agrees with parry3d's exact test except where the parts are within this
/// distance of touching, mm: [`ENVELOPE_TOLERANCE_MM`] plus the sampling sag and the profile
/// grid (see the module docs). Checked on 10,000 random poses in the tests.
pub const TOLERANCE_MM: f64 = 0.02;
/// How far (in `p·d`, about 1e-6 mm at the rim) a point may lie outside the f32 hull.
const HULL_SLACK: f64 = 1e-6;
/// Cube-map cells per face edge for the hill climb's start vertices.
const SEED_CELLS: usize = 48;
/// Radius of the liner patch searched for the exact contact point, mm.
const PATCH_MM: f64 = 0.3;

/// The answer of the fast path at one pose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The neck touches the liner; a liner point (liner frame, mm) inside or within
    /// [`TOLERANCE_MM`] of the neck.
    Contact(Vector3<f64>),
    /// Clear.
    Free,
    /// Too close to call from the caps (a neck that is not round): ask parry3d; the liner point
    /// nearest to contact (liner frame, mm).
    Unsure(Vector3<f64>),
}

/// The neck's angular profile about +z: outer and inner cap angles per radius (NaN: none).
struct NeckProfile {
    rho0: f64,
    outer: Vec<f64>,
    inner: Vec<f64>,
}

/// A hull triangle's corners, outward unit normal and plane offset.
type HullTriangle = ([Vector3<f64>; 3], Vector3<f64>, f64);

/// Triangles of a convex hull with outward unit normals and plane offsets.
fn hull_triangles(hull: &ConvexPolyhedron) -> Vec<HullTriangle> {
    let (pts, idx) = hull.to_trimesh();
    let pts: Vec<Vector3<f64>> = pts.into_iter().map(vector_from_sim).collect();
    let centroid = pts.iter().sum::<Vector3<f64>>() / pts.len().max(1) as f64;
    idx.iter()
        .filter_map(|t| {
            let [a, b, c] = t.map(|i| pts[i as usize]);
            let mut n = (b - a).cross(&(c - a)).try_normalize(1e-12)?;
            if n.dot(&(a - centroid)) < 0.0 {
                n = -n;
            }
            Some(([a, b, c], n, n.dot(&a)))
        })
        .collect()
}

/// The smallest distance of a point of the triangle `t` from the origin.
fn min_norm(t: &[Vector3<f64>; 3]) -> f64 {
    let [a, b, c] = t;
    if let Some(n) = (b - a).cross(&(c - a)).try_normalize(1e-18) {
        let foot = n * n.dot(a);
        if inside_triangle(&foot, t) {
            return foot.norm();
        }
    }
    [(a, b), (b, c), (c, a)]
        .iter()
        .map(|(p, q)| {
            let e = *q - *p;
            let s = if e.norm_squared() > 0.0 { (-p.dot(&e) / e.norm_squared()).clamp(0.0, 1.0) } else { 0.0 };
            (*p + e * s).norm()
        })
        .fold(f64::INFINITY, f64::min)
}

fn inside_triangle(p: &Vector3<f64>, [a, b, c]: &[Vector3<f64>; 3]) -> bool {
    let (v0, v1, v2) = (b - a, c - a, p - a);
    let (d00, d01, d11, d20, d21) = (v0.dot(&v0), v0.dot(&v1), v1.dot(&v1), v2.dot(&v0), v2.dot(&v1));
    let den = d00 * d11 - d01 * d01;
    if den.abs() < 1e-18 {
        return false;
    }
    let v = (d11 * d20 - d01 * d21) / den;
    let w = (d00 * d21 - d01 * d20) / den;
    v >= -1e-9 && w >= -1e-9 && v + w <= 1.0 + 1e-9
}

impl NeckProfile {
    /// The profile's grid for the hull triangles `tris` (stem frame) over radii `lo..=hi`:
    /// its first radius and number of radii; `None` where the hull does not reach.
    fn grid(tris: &[HullTriangle], lo: f64, hi: f64) -> Option<(f64, usize)> {
        let min_r = tris.iter().map(|t| t.2.abs()).fold(f64::INFINITY, f64::min);
        let max_r = tris.iter().flat_map(|t| t.0.iter().map(|p| p.norm())).fold(0.0, f64::max);
        let (lo, hi) = (lo.max(min_r - PROFILE_STEP_MM), hi.min(max_r + PROFILE_STEP_MM));
        if hi.is_nan() || lo.is_nan() || hi <= lo {
            return None;
        }
        Some((lo, ((hi - lo) / PROFILE_STEP_MM).ceil() as usize + 2))
    }
    /// The profile of the hull triangles `tris` on the grid `(lo, n)` ([`NeckProfile::grid`]),
    /// computed at the radii `need_mm` (and two grid steps either side); NaN elsewhere (never
    /// read: no liner sample lies there).
    fn new(tris: &[HullTriangle], (lo, n): (f64, usize), need_mm: (f64, f64)) -> Self {
        let z = Vector3::z();
        let rho = |k: usize| lo + k as f64 * PROFILE_STEP_MM;
        let grid_k = |r: f64| ((r - lo) / PROFILE_STEP_MM).max(0.0);
        let ka = (grid_k(need_mm.0).floor() as usize).saturating_sub(2).min(n - 1);
        let kb = ((grid_k(need_mm.1).ceil() as usize).saturating_add(2)).min(n - 1);
        // Outer: the smallest cos(angle from +z) of any hull point at radius rho.
        // Triangles in parallel, each into its own copy of the slots, merged by the minimum
        // (exact: the minimum does not depend on the order).
        let min_cos = tris.par_iter().fold(
            || vec![f64::INFINITY; n],
            |mut min_cos, (t, nrm, c)| {
                // No point of the triangle lies nearer the centre than `min_norm` (less 1e-6 mm for
                // the rounding of the tests below): radii below it cannot change the slot.
                let k0 = (((c.abs().max(min_norm(t) - 1e-6) - lo) / PROFILE_STEP_MM).floor().max(0.0)) as usize;
                let k0 = k0.max(ka);
                let tmax = t.iter().map(|p| p.norm()).fold(0.0, f64::max);
                let k1 = (((tmax - lo) / PROFILE_STEP_MM).ceil().max(0.0) as usize).min(kb);
                let ap = z - nrm * nrm.z;
                let ap_n = ap.norm();
                for (k, slot) in min_cos.iter_mut().enumerate().take(k1 + 1).skip(k0) {
                    let r = rho(k);
                    let mut best = *slot;
                    if c.abs() <= r {
                        let rc = (r * r - c * c).sqrt();
                        let centre = nrm * *c;
                        let y = if ap_n > 1e-12 { centre - ap * (rc / ap_n) } else { centre };
                        if inside_triangle(&y, t) {
                            best = best.min(y.z / r);
                        }
                    }
                    for (p, q) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
                        let e = q - p;
                        let (aa, bb, cc) = (e.norm_squared(), 2.0 * p.dot(&e), p.norm_squared() - r * r);
                        let disc = bb * bb - 4.0 * aa * cc;
                        if aa < 1e-18 || disc < 0.0 {
                            continue;
                        }
                        let sq = disc.sqrt();
                        for s in [(-bb + sq) / (2.0 * aa), (-bb - sq) / (2.0 * aa)] {
                            if (0.0..=1.0).contains(&s) {
                                best = best.min((p + e * s).z / r);
                            }
                        }
                    }
                    *slot = best;
                }
                min_cos
            },
        );
        let min_cos = min_cos.reduce(
            || vec![f64::INFINITY; n],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x = x.min(y));
                a
            },
        );
        let outer = min_cos.iter().map(|&c| if c.is_finite() { c.clamp(-1.0, 1.0).acos() } else { f64::NAN }).collect();
        // Inner: the largest cap inside every face plane.
        let tilt: Vec<f64> = tris.iter().map(|(_, nrm, _)| nrm.z.clamp(-1.0, 1.0).acos()).collect();
        let inner = (0..n)
            .into_par_iter()
            .map(|k| {
                if k < ka || k > kb {
                    return f64::NAN;
                }
                let r = rho(k);
                let mut psi = f64::INFINITY;
                for ((_, _, c), tilt) in tris.iter().zip(&tilt) {
                    if *c >= r {
                        continue;
                    }
                    if *c < -r {
                        return f64::NAN;
                    }
                    psi = psi.min(tilt - (c / r).acos());
                }
                if psi >= 0.0 && psi.is_finite() { psi } else { f64::NAN }
            })
            .collect();
        Self { rho0: lo, outer, inner }
    }
    /// Outer and inner cap angles at radius `r`, interpolated linearly between the grid radii
    /// around it (a kink of the profile between two radii 0.005 mm apart moves a cap by less
    /// than 0.001 mm); NaN where the hull does not reach (the outer cap: where neither radius
    /// reaches; the inner: where either has none).
    fn at(&self, r: f64) -> (f64, f64) {
        let g = (r - self.rho0) / PROFILE_STEP_MM;
        if g.is_nan() || g < 0.0 || g >= (self.outer.len() - 1) as f64 {
            return (f64::NAN, f64::NAN);
        }
        let k = g as usize;
        let f = g - k as f64;
        let lerp = |a: f64, b: f64| a + (b - a) * f;
        let (o0, o1) = (self.outer[k], self.outer[k + 1]);
        let outer = if o0.is_nan() {
            o1
        } else if o1.is_nan() {
            o0
        } else {
            lerp(o0, o1)
        };
        let inner = lerp(self.inner[k], self.inner[k + 1]);
        (outer, inner)
    }
}

/// Points covering the triangle `t` at most [`BAND_SPACING_MM`] apart along its edges: a grid
/// along the shortest edge and the edge after it (so a long thin triangle gets few points), and
/// the third edge.
fn sample_triangle(t: &[Vector3<f64>; 3], out: &mut Vec<Vector3<f64>>) {
    let len = |i: usize| (t[(i + 1) % 3] - t[i]).norm();
    let k = (0..3).min_by(|&i, &j| len(i).total_cmp(&len(j))).unwrap_or(0);
    let (a, b, c) = (t[k], t[(k + 1) % 3], t[(k + 2) % 3]);
    let n = |l: f64| ((l / BAND_SPACING_MM).ceil() as usize).max(1);
    let (n1, n2, n3) = (n((b - a).norm()), n((c - a).norm()), n((c - b).norm()));
    out.clear();
    for i in 0..=n1 {
        for j in 0..=n2 {
            let (s, u) = (i as f64 / n1 as f64, j as f64 / n2 as f64);
            if j == 0 {
                out.push(edge_point(&a, &b, i, n1));
            } else if i == 0 {
                out.push(edge_point(&a, &c, j, n2));
            } else if s + u <= 1.0 + 1e-12 {
                out.push(a + (b - a) * s + (c - a) * u);
            }
        }
    }
    out.extend((1..n3).map(|i| edge_point(&b, &c, i, n3)));
}

/// The point `i / n` of the way along the edge `p`-`q`, computed the same way (bit for bit) from
/// either end, and exactly `p` or `q` at the ends: the triangles on either side of an edge then
/// give the same points, which the sampling keeps once.
fn edge_point(p: &Vector3<f64>, q: &Vector3<f64>, i: usize, n: usize) -> Vector3<f64> {
    let key = |v: &Vector3<f64>| [v.x.to_bits(), v.y.to_bits(), v.z.to_bits()];
    let (p, q, i) = if key(p) <= key(q) { (p, q, i) } else { (q, p, n - i) };
    match i {
        0 => *p,
        _ if i == n => *q,
        _ => p + (q - p) * (i as f64 / n as f64),
    }
}

/// A hasher for the bit patterns of sample coordinates (a multiply-rotate mix, as rustc's
/// FxHash): the dedup of a liner's 100,000+ samples spent more time in SipHash than in
/// sampling. Not for untrusted keys.
#[derive(Default)]
struct BitsHasher(u64);

impl std::hash::Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// A point tagged with the band sample it stands for.
type Tagged = (Vector3<f64>, u32);

/// A convex hull of points, queried for its support function by hill climbing.
struct SupportHull {
    p: Vec<Vector3<f64>>,
    /// The band sample each hull vertex came from.
    sample: Vec<u32>,
    nbr_start: Vec<u32>,
    nbr: Vec<u32>,
    seed: Vec<u32>,
}

fn cube_cell(d: &Vector3<f64>) -> usize {
    let a = d.abs();
    let (axis, m) = if a.x >= a.y && a.x >= a.z {
        (0, a.x)
    } else if a.y >= a.z {
        (1, a.y)
    } else {
        (2, a.z)
    };
    let face = 2 * axis + usize::from(d[axis] < 0.0);
    let (u, v) = match axis {
        0 => (d.y, d.z),
        1 => (d.x, d.z),
        _ => (d.x, d.y),
    };
    let cell = |c: f64| (((c / m + 1.0) * 0.5 * SEED_CELLS as f64) as usize).min(SEED_CELLS - 1);
    (face * SEED_CELLS + cell(u)) * SEED_CELLS + cell(v)
}

fn cube_centre(i: usize) -> Vector3<f64> {
    let (face, rest) = (i / (SEED_CELLS * SEED_CELLS), i % (SEED_CELLS * SEED_CELLS));
    let c = |k: usize| (k as f64 + 0.5) / SEED_CELLS as f64 * 2.0 - 1.0;
    let (u, v) = (c(rest / SEED_CELLS), c(rest % SEED_CELLS));
    let s = if face % 2 == 0 { 1.0 } else { -1.0 };
    match face / 2 {
        0 => Vector3::new(s, u, v),
        1 => Vector3::new(u, s, v),
        _ => Vector3::new(u, v, s),
    }
    .normalize()
}

impl SupportHull {
    /// The hull of `points` (each tagged with its sample index); `None` if quickhull fails or
    /// the points are flat.
    fn new(points: &[(Vector3<f64>, u32)]) -> Option<Self> {
        if points.len() < 4 {
            return None;
        }
        // The f64 hull ([`crate::hull`]); where rounding defeats it, parry3d's in f32.
        let pts: Vec<Vector3<f64>> = points.iter().map(|(p, _)| *p).collect();
        let (src, tris) = match crate::hull::convex_hull(&pts) {
            Some(tris) => {
                let mut src: Vec<usize> = tris.iter().flatten().map(|&i| i as usize).collect();
                src.sort_unstable();
                src.dedup();
                let mut at = vec![u32::MAX; points.len()];
                for (k, &i) in src.iter().enumerate() {
                    at[i] = k as u32;
                }
                (src, tris.into_iter().map(|t| t.map(|i| at[i as usize])).collect::<Vec<_>>())
            }
            None => Self::parry_hull(points)?,
        };
        let mut adj: Vec<Vec<u32>> = vec![Vec::new(); src.len()];
        for t in &tris {
            for (a, b) in [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])] {
                adj[a as usize].push(b);
                adj[b as usize].push(a);
            }
        }
        let mut nbr_start = vec![0u32];
        let mut nbr = Vec::new();
        for mut a in adj {
            a.sort_unstable();
            a.dedup();
            nbr.extend(a);
            nbr_start.push(nbr.len() as u32);
        }
        let mut hull = Self { p: src.iter().map(|&i| points[i].0).collect(), sample: src.iter().map(|&i| points[i].1).collect(), nbr_start, nbr, seed: Vec::new() };
        let n_cells = 6 * SEED_CELLS * SEED_CELLS;
        let mut seed = Vec::with_capacity(n_cells);
        let mut v = 0;
        for i in 0..n_cells {
            // Each row starts from the row before's first cell (its neighbour), not the last.
            if i % SEED_CELLS == 0 && i % (SEED_CELLS * SEED_CELLS) != 0 {
                v = seed[i - SEED_CELLS] as usize;
            }
            v = hull.climb(&cube_centre(i), v).1;
            seed.push(v as u32);
        }
        hull.seed = seed;
        Some(hull)
    }
    /// parry3d's (f32) hull of `points`: the points of its vertices (indices into `points`)
    /// and its triangles (indices into those).
    fn parry_hull(points: &[(Vector3<f64>, u32)]) -> Option<(Vec<usize>, Vec<[u32; 3]>)> {
        let f32s: Vec<Vector> = points.iter().map(|(p, _)| vector_to_sim(p)).collect();
        let by_bits: HashMap<[u32; 3], usize> = f32s.iter().enumerate().map(|(i, v)| ([v.x.to_bits(), v.y.to_bits(), v.z.to_bits()], i)).collect();
        let (verts, tris) = parry3d::transformation::try_convex_hull(&f32s).ok()?;
        if tris.is_empty() {
            return None;
        }
        let src: Vec<usize> = verts.iter().map(|v| by_bits.get(&[v.x.to_bits(), v.y.to_bits(), v.z.to_bits()]).copied()).collect::<Option<_>>()?;
        Some((src, tris))
    }
    /// The hull of `points`, checked against brute force ([`SupportHull::agrees_with_brute_force`]).
    /// Quickhull in f32 sometimes gives up early on many nearly co-spherical points (a liner's
    /// bearing); the points are then shuffled (seeded) and the hull made again, up to 4 times.
    fn checked(points: &mut [(Vector3<f64>, u32)]) -> Option<Self> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..4 {
            if let Some(h) = Self::new(points).filter(|h| h.agrees_with_brute_force(points)) {
                return Some(h);
            }
            // Fisher-Yates with a xorshift generator: deterministic across runs.
            for i in (1..points.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                points.swap(i, (state % (i as u64 + 1)) as usize);
            }
        }
        None
    }
    fn climb(&self, d: &Vector3<f64>, mut v: usize) -> (f64, usize) {
        let mut best = self.p[v].dot(d);
        loop {
            let mut next = v;
            for &n in &self.nbr[self.nbr_start[v] as usize..self.nbr_start[v + 1] as usize] {
                let s = self.p[n as usize].dot(d);
                if s > best {
                    best = s;
                    next = n as usize;
                }
            }
            if next == v {
                return (best, v);
            }
            v = next;
        }
    }
    /// Whether the climb reaches the maximum over all `points` in 64 spread directions, and
    /// reaches (or passes) every point in that point's own direction (so no point lies
    /// outside the hull or behind a climb that stops early).
    fn agrees_with_brute_force(&self, points: &[(Vector3<f64>, u32)]) -> bool {
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let n_dirs = 64;
        let spread = (0..n_dirs)
            .map(|i| {
                let z = 1.0 - 2.0 * (i as f64 + 0.5) / f64::from(n_dirs);
                let r = (1.0 - z * z).sqrt();
                let d = Vector3::new(r * (golden * f64::from(i)).cos(), r * (golden * f64::from(i)).sin(), z);
                let brute = points.iter().map(|(p, _)| p.dot(&d)).fold(f64::NEG_INFINITY, f64::max);
                brute - self.support(&d).0
            })
            .fold(0.0, f64::max);
        let own = points
            .iter()
            .filter_map(|(p, _)| {
                let d = p.try_normalize(1e-12)?;
                Some(p.dot(&d) - self.support(&d).0)
            })
            .fold(0.0, f64::max);
        let worst = spread.max(own);
        if std::env::var_os("COXA_DEBUG_HULL").is_some() {
            eprintln!("hull of {} points, {} vertices: worst deficit {worst:e}", points.len(), self.p.len());
        }
        // f32 quickhull (the fallback): points within its rounding (1e-7) of the hull may be
        // left inside.
        worst <= HULL_SLACK
    }
    /// `max p·d` over the hull and the band sample that attains it.
    #[inline]
    fn support(&self, d: &Vector3<f64>) -> (f64, u32) {
        let (s, v) = self.climb(d, self.seed[cube_cell(d)] as usize);
        (s, self.sample[v])
    }
}

/// A neck hull's points for parry3d's GJK and EPA: the same support point as parry3d's
/// `ConvexPolyhedron` (the first point of largest `p·dir` in f32, the dot product summed in the
/// same order), found in two passes over coordinate arrays that the compiler vectorises (the
/// largest value, then the first point that has it) instead of one branchy pass.
struct NeckSupport {
    xyz: [Vec<f32>; 3],
    points: Vec<Vector>,
}

impl NeckSupport {
    fn new(hull: &ConvexPolyhedron) -> Self {
        let points = hull.points().to_vec();
        Self { xyz: [points.iter().map(|p| p.x).collect(), points.iter().map(|p| p.y).collect(), points.iter().map(|p| p.z).collect()], points }
    }
}

impl parry3d::shape::SupportMap for NeckSupport {
    #[inline]
    fn local_support_point(&self, dir: Vector) -> Vector {
        const LANES: usize = 8;
        let [x, y, z] = &self.xyz;
        let mut lanes = [f32::NEG_INFINITY; LANES];
        for ((cx, cy), cz) in x.chunks_exact(LANES).zip(y.chunks_exact(LANES)).zip(z.chunks_exact(LANES)) {
            for l in 0..LANES {
                let d = (cx[l] * dir.x) + (cy[l] * dir.y) + (cz[l] * dir.z);
                lanes[l] = if d > lanes[l] { d } else { lanes[l] };
            }
        }
        let tail = x.len() - x.len() % LANES;
        let mut best = lanes.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
        for i in tail..x.len() {
            let d = (x[i] * dir.x) + (y[i] * dir.y) + (z[i] * dir.z);
            best = if d > best { d } else { best };
        }
        // parry3d's loop keeps the first of equal values; a NaN direction gives point 0.
        let first = x.iter().zip(y).zip(z).position(|((a, b), c)| (a * dir.x) + (b * dir.y) + (c * dir.z) == best).unwrap_or(0);
        self.points[first]
    }
}

/// A user liner and a neck hull prepared for fast contact queries (see the module docs).
pub struct FastPair {
    /// Band samples, liner frame, mm.
    samples: Vec<Vector3<f64>>,
    /// `ρ (ψ⁺ - ψ⁻)` per sample, mm (infinite without an inner cap).
    spread_mm: Vec<f32>,
    outer: Option<SupportHull>,
    inner: Option<SupportHull>,
    /// Band triangles (liner frame) and a 2 mm grid over them for the exact contact point.
    band: Vec<[Vector3<f64>; 3]>,
    grid: HashMap<[i32; 3], Vec<u32>>,
    hull: NeckSupport,
    /// Whether the caps answer queries (false: quickhull failed or the neck is too wide, so
    /// every query goes to parry3d).
    fast: bool,
}

impl std::fmt::Debug for FastPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPair").field("samples", &self.samples.len()).field("band_triangles", &self.band.len()).field("fast", &self.is_fast()).finish()
    }
}

const GRID_MM: f64 = 2.0;

fn grid_key(p: &Vector3<f64>) -> [i32; 3] {
    [(p.x / GRID_MM).floor() as i32, (p.y / GRID_MM).floor() as i32, (p.z / GRID_MM).floor() as i32]
}

impl FastPair {
    /// Prepares `liner` (vertices and triangles, liner frame, mm) against `hull` (stem frame).
    pub fn new(vertices: &[nalgebra::Point3<f64>], triangles: &[[u32; 3]], hull: &ConvexPolyhedron) -> Self {
        let corners = |t: &[u32; 3]| t.map(|i| vertices[i as usize].coords);
        let liner_max = vertices.iter().map(|p| p.coords.norm()).fold(0.0, f64::max);
        let hull_tris = hull_triangles(hull);
        let grid = NeckProfile::grid(&hull_tris, 0.0, liner_max + 1.0);
        let reach = grid.map_or(f64::INFINITY, |g| g.0);
        // The band: triangles with some point beyond the neck's smallest radius.
        let band: Vec<[Vector3<f64>; 3]> = triangles.iter().map(corners).filter(|c| c.iter().any(|p| p.norm() >= reach)).collect();
        // The profile where the band lies.
        let need = band.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), t| (lo.min(min_norm(t)), t.iter().fold(hi, |h, p| h.max(p.norm()))));
        let profile = grid.map(|g| NeckProfile::new(&hull_tris, g, need));
        let mut grid: HashMap<[i32; 3], Vec<u32>> = HashMap::new();
        for (i, t) in band.iter().enumerate() {
            let lo = grid_key(&t[0].inf(&t[1]).inf(&t[2]));
            let hi = grid_key(&t[0].sup(&t[1]).sup(&t[2]));
            for x in lo[0]..=hi[0] {
                for y in lo[1]..=hi[1] {
                    for z in lo[2]..=hi[2] {
                        grid.entry([x, y, z]).or_default().push(i as u32);
                    }
                }
            }
        }
        let mut pair = Self { samples: Vec::new(), spread_mm: Vec::new(), outer: None, inner: None, band, grid, hull: NeckSupport::new(hull), fast: true };
        let Some(profile) = profile else { return pair };
        // Samples: every band triangle subdivided to edges <= BAND_SPACING_MM.
        let mut seen: std::collections::HashSet<[u64; 3], std::hash::BuildHasherDefault<BitsHasher>> = std::collections::HashSet::default();
        let mut buf = Vec::new();
        let (mut outer_pts, mut inner_pts): (Vec<Tagged>, Vec<Tagged>) = (Vec::new(), Vec::new());
        let mut usable = true;
        for t in &pair.band {
            sample_triangle(t, &mut buf);
            for &x in &buf {
                if !seen.insert([x.x.to_bits(), x.y.to_bits(), x.z.to_bits()]) {
                    continue;
                }
                let r = x.norm();
                let (po, pi) = profile.at(r);
                if po.is_nan() || r < 1e-9 {
                    continue;
                }
                if po > 85f64.to_radians() {
                    // A neck this wide near the head is no neck: leave it to parry3d.
                    usable = false;
                }
                let k = pair.samples.len() as u32;
                let u = x / r;
                outer_pts.push((u / po.cos(), k));
                if !pi.is_nan() {
                    inner_pts.push((u / pi.cos(), k));
                }
                pair.spread_mm.push(if pi.is_nan() { f32::INFINITY } else { mm_to_f32(r * (po - pi)) });
                pair.samples.push(x);
            }
        }
        if usable {
            // The two hulls are independent: made side by side.
            (pair.outer, pair.inner) = rayon::join(|| SupportHull::checked(&mut outer_pts), || SupportHull::checked(&mut inner_pts));
            if pair.inner.is_none() && !inner_pts.is_empty() {
                pair.outer = None;
            }
        }
        // Without reachable samples the neck never meets the liner; otherwise the hull must exist.
        pair.fast = outer_pts.is_empty() || pair.outer.is_some();
        pair
    }
    /// Whether queries take the fast path (false: every query needs parry3d).
    pub fn is_fast(&self) -> bool {
        self.fast
    }
    /// Band samples (liner frame, mm).
    pub fn n_samples(&self) -> usize {
        self.samples.len()
    }
    /// Contact at the rotation `m` (stem frame -> liner frame).
    #[inline]
    pub fn classify(&self, m: &Matrix3<f64>) -> Verdict {
        let Some(outer) = &self.outer else {
            // No band point is reachable by the neck (never contact), or no fast path.
            return if self.fast { Verdict::Free } else { Verdict::Unsure(Vector3::zeros()) };
        };
        let d: Vector3<f64> = m.column(2).into();
        if let Some(inner) = &self.inner {
            let (s, k) = inner.support(&d);
            if s >= 1.0 {
                return Verdict::Contact(self.samples[k as usize]);
            }
        }
        let (s, k) = outer.support(&d);
        if s < 1.0 {
            return Verdict::Free;
        }
        let x = self.samples[k as usize];
        if f64::from(self.spread_mm[k as usize]) <= ENVELOPE_TOLERANCE_MM { Verdict::Contact(x) } else { Verdict::Unsure(x) }
    }
    /// parry3d's exact contact between the neck hull posed by `m` and the liner triangles within
    /// 0.3 mm of `near` (liner frame): the deepest contact's point on the liner, if any.
    pub fn exact_contact_near(&self, m: &Matrix3<f64>, near: &Vector3<f64>) -> Option<Vector3<f64>> {
        let lo = grid_key(&near.add_scalar(-PATCH_MM));
        let hi = grid_key(&near.add_scalar(PATCH_MM));
        let mut cand: Vec<u32> = Vec::new();
        for x in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                for z in lo[2]..=hi[2] {
                    if let Some(v) = self.grid.get(&[x, y, z]) {
                        cand.extend(v);
                    }
                }
            }
        }
        cand.sort_unstable();
        cand.dedup();
        let pose = Pose::from_rotation(crate::convert::rotation_to_parry(&nalgebra::Rotation3::from_matrix_unchecked(*m)));
        let mut best: Option<(f32, Vector)> = None;
        for i in cand {
            let t = &self.band[i as usize];
            // Only triangles that reach into the patch, and of those only the ones parry3d
            // finds intersecting get the (costlier) contact query.
            let (lo, hi) = (t[0].inf(&t[1]).inf(&t[2]), t[0].sup(&t[1]).sup(&t[2]));
            let gap = (lo - near).sup(&(near - hi)).sup(&Vector3::zeros());
            if gap.norm() > PATCH_MM {
                continue;
            }
            let tri = Triangle::new(vector_to_sim(&t[0]), vector_to_sim(&t[1]), vector_to_sim(&t[2]));
            // What parry3d::query::{intersection_test, contact} do for a triangle against a
            // convex polyhedron (both support maps), with the neck's faster support function.
            let pos12 = Pose::IDENTITY.inv_mul(&pose);
            if !parry3d::query::details::intersection_test_support_map_support_map(&pos12, &tri, &self.hull) {
                continue;
            }
            let contact = parry3d::query::details::contact_support_map_support_map(&pos12, &tri, &self.hull, 0.0).map(|mut k| {
                k.transform_by_mut(&Pose::IDENTITY, &pose);
                k
            });
            if let Some(k) = contact
                && best.is_none_or(|(d, _)| k.dist < d)
            {
                best = Some((k.dist, k.point1));
            }
        }
        best.map(|(_, p)| vector_from_sim(p))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use coxa_core::{Angle, Mesh, Side};
    use coxa_implants::{UserGeometry, UserPartKind};
    use nalgebra::{Point3, Rotation3, Vector3};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::TOLERANCE_MM;
    use crate::tests::{construct, radiographic};
    use crate::user_parts::{UserCup, UserStem};
    use crate::{HipModel, JointAngles};

    /// A stem whose neck is an elliptic cylinder (semi-axes `a_mm` x `b_mm`, +z the neck), the
    /// CCD angle 132 deg: a neck that is not round, so its roll matters.
    fn oval_stem(a_mm: f64, b_mm: f64, head_r: f64) -> UserStem {
        let n = 64;
        let mut v = Vec::new();
        for s in [head_r - 3.0, 34.0] {
            for k in 0..n {
                let t = std::f64::consts::TAU * k as f64 / n as f64;
                v.push(Point3::new(a_mm * t.cos(), b_mm * t.sin(), s));
            }
        }
        let mut tris = Vec::new();
        for k in 0..n as u32 {
            let k1 = (k + 1) % n as u32;
            tris.push([k, k1, n as u32 + k1]);
            tris.push([k, n as u32 + k1, n as u32 + k]);
        }
        let mesh = Mesh::new(v, tris).unwrap();
        let a = (180.0f64 - 132.0).to_radians();
        let frame = UserGeometry {
            part: UserPartKind::Stem,
            mesh_path: PathBuf::from("oval.stl"),
            centre_mm: Point3::origin(),
            axis: Vector3::z(),
            diameter_mm: 2.0 * b_mm,
            reference_axis: Some(Vector3::new(a.sin(), 0.0, a.cos())),
        };
        UserStem::new(&mesh, &frame, head_r).unwrap()
    }

    /// Seeded poses over the whole range of motion (flexion -40..140, abduction -60..70,
    /// internal rotation -90..90 deg) and as many within 0.1 deg of the neck-liner boundary
    /// (found along random rays by bisection, then moved by up to 0.1 deg).
    fn poses(model: &HipModel, n: usize, seed: u64) -> Vec<Rotation3<f64>> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(n);
        let angles = |rng: &mut StdRng| [rng.random_range(-40.0..140.0), rng.random_range(-60.0..70.0), rng.random_range(-90.0..90.0)];
        let rot = |a: [f64; 3]| JointAngles::from_deg(a[0], a[1], a[2]).rotation(model.side());
        while out.len() < n / 2 {
            out.push(rot(angles(&mut rng)));
        }
        while out.len() < n {
            let a = angles(&mut rng);
            let dir = Vector3::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)).normalize();
            let at = |t: f64| rot([a[0] + dir.x * t, a[1] + dir.y * t, a[2] + dir.z * t]);
            let (c0, c1) = (model.contact(&at(0.0)).is_some(), model.contact(&at(60.0)).is_some());
            if c0 == c1 {
                continue;
            }
            let (mut lo, mut hi) = (0.0, 60.0);
            for _ in 0..30 {
                let m = 0.5 * (lo + hi);
                if model.contact(&at(m)).is_some() == c0 { lo = m } else { hi = m }
            }
            out.push(at(lo + rng.random_range(-0.1..0.1)));
        }
        out
    }

    /// The fast path against parry3d's exact test: every disagreement lies within
    /// `TOLERANCE_MM` of touching (parry's distance, or its penetration depth). Returns the
    /// number of disagreements.
    fn agrees_with_parry(model: &HipModel, poses: &[Rotation3<f64>], label: &str) -> usize {
        let mut differ = Vec::new();
        let mut contacts = 0;
        for p in poses {
            let fast = model.contact(p).is_some();
            let exact = model.implant_implant_exact(p).unwrap();
            contacts += usize::from(exact);
            if fast != exact {
                let d = model.implant_implant_distance_mm(p).unwrap();
                differ.push((fast, exact, d));
            }
        }
        let worst = differ.iter().map(|d| d.2.abs()).fold(0.0, f64::max);
        eprintln!("{label}: {} poses, {contacts} in contact by parry3d, {} disagree (largest |distance| {worst:.4} mm)", poses.len(), differ.len());
        for (fast, exact, d) in &differ {
            assert!(d.abs() <= TOLERANCE_MM, "{label}: fast {fast}, parry {exact}, parry distance {d} mm");
        }
        differ.len()
    }

    /// The check: 10,000 random poses, half of them within 0.1 deg of touching, for the
    /// catalog liners as user cups with the catalog neck, and for a round and an oval user neck.
    #[test]
    fn fast_path_equals_parry_on_10000_random_poses() {
        let c = construct(32.0, "neutral");
        let cup = Arc::new(UserCup::from_liner(&c.liner).unwrap());
        let build = |b: crate::HipModelBuilder| b.cup(radiographic(40.0, 20.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
        let m = build(HipModel::builder(Side::Right, c.clone()).user_cup(cup.clone()));
        assert!(m.implant_fast_path());
        agrees_with_parry(&m, &poses(&m, 10_000, 7), "catalog liner and neck");
        let lip = construct(32.0, "elevated rim 4 mm posterosuperior");
        let m = build(HipModel::builder(Side::Right, lip.clone()).user_cup(Arc::new(UserCup::from_liner(&lip.liner).unwrap())));
        agrees_with_parry(&m, &poses(&m, 2_000, 8), "elevated liner");
        let oval = build(HipModel::builder(Side::Right, c.clone()).user_cup(cup).user_stem(Arc::new(oval_stem(7.0, 5.0, 16.0))));
        agrees_with_parry(&oval, &poses(&oval, 2_000, 9), "oval neck 14 x 10 mm");
    }
}

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

mod support_hull;

use support_hull::*;

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
mod tests;

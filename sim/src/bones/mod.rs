//! Bone collision geometry: a signed distance field of the pelvis and clustered surface points
//! of the femur, both in the hip frame (pelvic axes, origin at the hip centre, mm).
//!
//! Why not triangle-triangle tests: a pose query must cost microseconds (docs/STACK.md measured
//! 30-170 us for a parry mesh-mesh intersection near a concave cup). Instead the pelvis is a
//! grid of signed distances (of a voxelised solid, inside decided by ray parity, so the mesh
//! must be closed) and the femur a set of surface points in bounding-sphere clusters; a cluster
//! whose centre is farther from the pelvis than its radius (plus one voxel) is skipped whole.
//! Accuracy: the surface is resolved to about half a voxel.
//!
//! A query reads the field's sign (a point inside the bone) and, for the cluster test, a value
//! that must not exceed the distance. So the field is exact where the surface crosses a cell
//! and a lower bound elsewhere ([`DistanceField::from_mesh`]): the same contacts as the exact
//! transform of the whole grid, which a change of the cup's centre or size on the planning desk
//! could not afford (0.5 s against the 100 ms a control change is allowed).

use nalgebra::{Point3, Vector3};

use crate::convert;

/// A signed distance field on a cubic grid centred at the hip centre: negative inside the bone.
#[derive(Debug, Clone)]
pub struct DistanceField {
    /// Half-width of the box, mm.
    half_mm: f64,
    /// Voxel size, mm.
    voxel_mm: f64,
    /// Voxels per axis.
    n: usize,
    /// Signed distance at voxel centres, mm (x fastest).
    d: Vec<f32>,
}

/// "No seed" in the squared-distance transforms (larger than any squared distance on a grid of
/// up to 2500 voxels a side, 3 x 2500² < 2^25).
const FAR: u32 = u32::MAX;

/// One-dimensional squared Euclidean distance transform (Felzenszwalb & Huttenlocher 2012): for
/// every `q`, `min_p (q - p)² + f[p]` over the `p` with `f[p] != FAR` (`FAR` when there is none).
///
/// In integers: the parabolas' intersections `s = (f_q + q² - f_p - p²) / (2 (q - p))` are kept
/// as fractions and compared by cross-multiplication, so the lower envelope is exact (the values
/// are sums of squared voxel counts, exact in any arithmetic; a floating-point intersection
/// only costs a division per step).
fn edt_1d(f: &[u32], out: &mut [u32], v: &mut [usize], z: &mut [(i64, i64)]) {
    // z[k] = num / den (den > 0); z[0] = -inf, z[k + 1] = +inf are marked by den = 0 and the sign.
    const NEG_INF: (i64, i64) = (-1, 0);
    const POS_INF: (i64, i64) = (1, 0);
    // a <= b for fractions with infinities.
    let le = |a: (i64, i64), b: (i64, i64)| match (a.1, b.1) {
        (0, 0) => a.0 <= b.0,
        (0, _) => a.0 < 0,
        (_, 0) => b.0 > 0,
        _ => a.0 * b.1 <= b.0 * a.1,
    };
    let Some(first) = f.iter().position(|&x| x != FAR) else {
        out.iter_mut().for_each(|o| *o = FAR);
        return;
    };
    let key = |q: usize| i64::from(f[q]) + (q * q) as i64;
    let mut k = 0usize;
    v[0] = first;
    z[0] = NEG_INF;
    z[1] = POS_INF;
    for (q, &fq) in f.iter().enumerate().skip(first + 1) {
        if fq == FAR {
            continue;
        }
        loop {
            let p = v[k];
            let s = (key(q) - key(p), 2 * (q - p) as i64);
            if k > 0 && le(s, z[k]) {
                k -= 1;
            } else {
                k += 1;
                v[k] = q;
                z[k] = s;
                z[k + 1] = POS_INF;
                break;
            }
        }
    }
    let mut k = 0;
    for (q, o) in out.iter_mut().enumerate() {
        // z[k + 1] < q
        while !le((q as i64, 1), z[k + 1]) {
            k += 1;
        }
        let d = q.abs_diff(v[k]) as u64;
        *o = u32::try_from(d * d + u64::from(f[v[k]])).unwrap_or(FAR);
    }
}

/// Squared distance along a row of a binary seed: `(q - nearest seed)²`, `FAR` without seeds.
fn nearest_seed_1d(seed: &[bool], out: &mut [u32]) {
    let mut last: Option<usize> = None;
    for (q, (&s, o)) in seed.iter().zip(out.iter_mut()).enumerate() {
        if s {
            last = Some(q);
        }
        *o = last.map_or(FAR, |p| ((q - p) * (q - p)) as u32);
    }
    let mut next: Option<usize> = None;
    for q in (0..seed.len()).rev() {
        if seed[q] {
            next = Some(q);
        }
        if let Some(p) = next {
            out[q] = out[q].min(((p - q) * (p - q)) as u32);
        }
    }
}

/// Squared distance (in voxels²) from every voxel to the nearest voxel with `seed == true`
/// (`FAR` when there is none); `n³` voxels, x fastest.
///
/// Separable: the rows along x (nearest seed), then the columns along y within each z slab,
/// then along z, each column gathered into a buffer a slab or a plane at a time so that the
/// strided axes are read and written in rows (the z axis' stride is `n²`).
fn edt_3d(seed: &[bool], n: usize) -> Vec<u32> {
    let mut g = vec![FAR; n * n * n];
    for (row, s) in g.chunks_exact_mut(n).zip(seed.chunks_exact(n)) {
        nearest_seed_1d(s, row);
    }
    let (mut f, mut out, mut v, mut z) = (vec![0u32; n], vec![0u32; n], vec![0usize; n], vec![(0i64, 0i64); n + 1]);
    let mut plane = vec![0u32; n * n];
    // Along y: slab k holds rows j (stride n); column i gathered from it.
    for slab in g.chunks_exact_mut(n * n) {
        for i in 0..n {
            for j in 0..n {
                f[j] = slab[j * n + i];
            }
            edt_1d(&f, &mut out, &mut v, &mut z);
            for j in 0..n {
                slab[j * n + i] = out[j];
            }
        }
    }
    // Along z: for each j, the plane (k, i) gathered row by row, transposed to (i, k).
    for j in 0..n {
        for k in 0..n {
            let row = &g[k * n * n + j * n..k * n * n + j * n + n];
            for (i, &x) in row.iter().enumerate() {
                plane[i * n + k] = x;
            }
        }
        for i in 0..n {
            let col = &mut plane[i * n..i * n + n];
            f.copy_from_slice(col);
            edt_1d(&f, col, &mut v, &mut z);
        }
        for k in 0..n {
            let row = &mut g[k * n * n + j * n..k * n * n + j * n + n];
            for (i, x) in row.iter_mut().enumerate() {
                *x = plane[i * n + k];
            }
        }
    }
    g
}

/// A solid of voxels as bits: the row along x at `(j, k)` in `w` words (bit `i % 64` of word
/// `i / 64`), rows `k * n + j`.
#[derive(Debug, Clone)]
struct Solid {
    n: usize,
    w: usize,
    words: Vec<u64>,
}

impl Solid {
    fn empty(n: usize) -> Self {
        let w = n.div_ceil(64);
        Self { n, w, words: vec![0; n * n * w] }
    }
    fn row(&self, j: usize, k: usize) -> &[u64] {
        let s = (k * self.n + j) * self.w;
        &self.words[s..s + self.w]
    }
    fn set(&mut self, i: usize, j: usize, k: usize, v: bool) {
        let word = &mut self.words[(k * self.n + j) * self.w + i / 64];
        if v { *word |= 1 << (i % 64) } else { *word &= !(1 << (i % 64)) }
    }
    #[cfg(test)]
    fn get(&self, i: usize, j: usize, k: usize) -> bool {
        self.row(j, k)[i / 64] >> (i % 64) & 1 == 1
    }
    /// The voxels of the grid not in the solid.
    fn complement(&self) -> Self {
        let tail = self.n % 64;
        let mut words: Vec<u64> = self.words.iter().map(|x| !x).collect();
        if tail != 0 {
            words.chunks_exact_mut(self.w).for_each(|r| r[self.w - 1] &= (1u64 << tail) - 1);
        }
        Self { n: self.n, w: self.w, words }
    }
    /// The rows at `(j + dj, k + dk)` for the offsets given that lie in the grid, OR'ed into `out`.
    fn or_rows(&self, j: usize, k: usize, offsets: &[(isize, isize)], out: &mut [u64]) {
        out.fill(0);
        for &(dj, dk) in offsets {
            let (Some(jj), Some(kk)) = (j.checked_add_signed(dj), k.checked_add_signed(dk)) else { continue };
            if jj < self.n && kk < self.n {
                out.iter_mut().zip(self.row(jj, kk)).for_each(|(o, x)| *o |= x);
            }
        }
    }
}

/// `r` moved one voxel either way along x, OR'ed into `out` (bit i set when bit i - 1 or i + 1 is).
fn or_shifted(r: &[u64], out: &mut [u64]) {
    let w = r.len();
    for q in 0..w {
        let from_below = (r[q] << 1) | if q > 0 { r[q - 1] >> 63 } else { 0 };
        let from_above = (r[q] >> 1) | if q + 1 < w { r[q + 1] << 63 } else { 0 };
        out[q] |= from_below | from_above;
    }
}

/// The voxels of row `(j, k)` with a voxel of `seeds` among their 26 neighbours, by squared
/// distance: `l[0]` at 1 (a face), `l[1]` at 2 (an edge), `l[2]` at 3 voxels² (a corner); each
/// mask holds the voxels at that distance or nearer (`scratch`: two rows of words).
fn near_levels(seeds: &Solid, j: usize, k: usize, l: &mut [Vec<u64>; 3], scratch: &mut [Vec<u64>; 2]) {
    const FACES: [(isize, isize); 4] = [(-1, 0), (1, 0), (0, -1), (0, 1)];
    const EDGES: [(isize, isize); 4] = [(-1, -1), (1, -1), (-1, 1), (1, 1)];
    let [faces, edges] = scratch;
    seeds.or_rows(j, k, &FACES, faces);
    seeds.or_rows(j, k, &EDGES, edges);
    let [l1, l2, l3] = l;
    // Distance 1: along x in the row itself, or the rows beside it in y or z.
    l1.copy_from_slice(faces);
    or_shifted(seeds.row(j, k), l1);
    // Distance √2: one step in x off those rows, or the diagonal rows.
    l2.copy_from_slice(edges);
    or_shifted(faces, l2);
    l2.iter_mut().zip(l1.iter()).for_each(|(a, b)| *a |= b);
    // Distance √3: one step in x off the diagonal rows.
    l3.copy_from_slice(l2);
    or_shifted(edges, l3);
}

/// The solid voxels of the closed surface on the grid of [`DistanceField::from_mesh`], less the
/// ball of `carve_radius_mm` around the origin. Inside is decided by ray parity along z, the
/// columns nudged off the voxel centres by an irrational fraction so that no ray passes exactly
/// through an edge or a vertex.
fn carved_solid(vertices: &[Point3<f64>], triangles: &[[u32; 3]], half_mm: f64, h: f64, n: usize, carve_radius_mm: f64) -> Solid {
    let coord = |i: usize| -half_mm + (i as f64 + 0.5) * h;
    let (ex, ey) = (h * 1.234_567e-4, h * 2.718_281e-4);
    let mut hits: Vec<Vec<f64>> = vec![Vec::new(); n * n];
    for t in triangles {
        let [a, b, c] = t.map(|i| vertices[i as usize]);
        let lo_x = a.x.min(b.x).min(c.x);
        let hi_x = a.x.max(b.x).max(c.x);
        let lo_y = a.y.min(b.y).min(c.y);
        let hi_y = a.y.max(b.y).max(c.y);
        let i0 = (((lo_x + half_mm) / h - 0.5).floor().max(0.0)) as usize;
        let i1 = (((hi_x + half_mm) / h - 0.5).ceil().max(0.0) as usize).min(n - 1);
        let j0 = (((lo_y + half_mm) / h - 0.5).floor().max(0.0)) as usize;
        let j1 = (((hi_y + half_mm) / h - 0.5).ceil().max(0.0) as usize).min(n - 1);
        if lo_x > half_mm || hi_x < -half_mm || lo_y > half_mm || hi_y < -half_mm {
            continue;
        }
        let det = (b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y);
        if det.abs() < 1e-18 {
            continue;
        }
        for j in j0..=j1 {
            for i in i0..=i1 {
                let (x, y) = (coord(i) + ex, coord(j) + ey);
                let u = ((x - a.x) * (c.y - a.y) - (c.x - a.x) * (y - a.y)) / det;
                let v = ((b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y)) / det;
                if u >= 0.0 && v >= 0.0 && u + v <= 1.0 {
                    hits[j * n + i].push(a.z + u * (b.z - a.z) + v * (c.z - a.z));
                }
            }
        }
    }
    let mut solid = Solid::empty(n);
    for j in 0..n {
        for i in 0..n {
            let col = &mut hits[j * n + i];
            col.sort_by(f64::total_cmp);
            for pair in col.chunks_exact(2) {
                let k0 = ((pair[0] + half_mm) / h - 0.5).ceil().max(0.0) as usize;
                let k1 = ((pair[1] + half_mm) / h - 0.5).floor();
                if k1 < 0.0 {
                    continue;
                }
                for k in k0..=(k1 as usize).min(n - 1) {
                    solid.set(i, j, k, true);
                }
            }
        }
    }
    // The ball: only the voxels of its bounding cube are looked at.
    let r2 = carve_radius_mm * carve_radius_mm;
    let lo = (((half_mm - carve_radius_mm) / h - 0.5).floor().max(0.0) as usize).min(n);
    let hi = ((((half_mm + carve_radius_mm) / h - 0.5).ceil().max(0.0) as usize) + 1).min(n);
    for k in lo..hi {
        for j in lo..hi {
            for i in lo..hi {
                if coord(i).powi(2) + coord(j).powi(2) + coord(k).powi(2) < r2 {
                    solid.set(i, j, k, false);
                }
            }
        }
    }
    solid
}

/// Voxels per block side of the far field's lower bound.
const BLOCK: usize = 4;

/// The exact squared distance transform (in blocks²) of the blocks of [`BLOCK`]³ voxels holding
/// a solid voxel, and the blocks per axis. A voxel of block `b` lies at least
/// `BLOCK |b - b'| - (BLOCK - 1) √3` voxels from any voxel of block `b'`, so this bounds every
/// voxel's distance to the solid from below.
fn block_sq(solid: &Solid, n: usize) -> (Vec<u32>, usize) {
    let m = n.div_ceil(BLOCK);
    let mut occupied = vec![false; m * m * m];
    let offsets: Vec<(isize, isize)> = (0..BLOCK as isize).flat_map(|a| (0..BLOCK as isize).map(move |b| (a, b))).collect();
    let mut rows = vec![0u64; solid.w];
    for bk in 0..m {
        for bj in 0..m {
            solid.or_rows(BLOCK * bj, BLOCK * bk, &offsets, &mut rows);
            let row = &mut occupied[(bk * m + bj) * m..(bk * m + bj + 1) * m];
            for (q, &x) in rows.iter().enumerate().filter(|(_, x)| **x != 0) {
                for bit in (0..64).filter(|b| x >> b & 1 == 1) {
                    row[(q * 64 + bit) / BLOCK] = true;
                }
            }
        }
    }
    (edt_3d(&occupied, m), m)
}

impl DistanceField {
    /// The field of the closed triangle surface (`vertices` in the hip frame, mm) on a cube of
    /// half-width `half_mm` and voxel `voxel_mm`, with the ball of radius `carve_radius_mm`
    /// around the origin removed from the solid (the reamed acetabulum).
    ///
    /// Only what a query needs is exact (the module docs say how a query uses the field): a
    /// voxel's distance to the nearest voxel of the other state when that one is among its 26
    /// neighbours (1, 2 or 3 voxels²), which fixes the field in every cell the surface crosses
    /// and so its sign everywhere; elsewhere inside the bone -1.5 voxels, and outside a lower
    /// bound of the distance (from the exact transform of 4x4x4-voxel blocks), which keeps the
    /// cluster test conservative. A query therefore finds the contact the exact transform of
    /// the whole grid finds (tested against it) at a fraction of the cost: the planning desk
    /// prepares the pelvis again, after a change of the cup's centre or size, within the 100 ms
    /// a control change is allowed (issue 41).
    pub fn from_mesh(vertices: &[Point3<f64>], triangles: &[[u32; 3]], half_mm: f64, voxel_mm: f64, carve_radius_mm: f64) -> Self {
        use rayon::prelude::*;
        let n = ((2.0 * half_mm / voxel_mm).ceil() as usize).max(2);
        let h = voxel_mm;
        let cap = 4.0 * half_mm;
        let inside = carved_solid(vertices, triangles, half_mm, h, n, carve_radius_mm);
        let outside = inside.complement();
        let (blocks, m) = block_sq(&inside, n);
        // As the exact field has it: (√s - 0.5) voxels outside, -(√s - 0.5) inside, capped.
        let value = |v: f64| convert::mm_to_f32((v * h).min(cap));
        let out_at: [f32; 3] = [1.0f64, 2.0, 3.0].map(|s| value(s.sqrt() - 0.5));
        let in_at: [f32; 4] = [1.0f64, 2.0, 3.0, 4.0].map(|s| value(-(s.sqrt() - 0.5)));
        // Far outside, per block: at least 2 voxels (no solid among the 26 neighbours) and the
        // blocks' bound.
        let far: Vec<f32> = blocks
            .par_iter()
            .map(|&b| {
                let lower = if b == FAR { f64::INFINITY } else { BLOCK as f64 * f64::from(b).sqrt() - (BLOCK - 1) as f64 * 3f64.sqrt() };
                value(lower.max(2.0) - 0.5)
            })
            .collect();
        let mut d = vec![0f32; n * n * n];
        let w = inside.w;
        d.par_chunks_mut(n).enumerate().for_each_init(
            || ([vec![0u64; w], vec![0u64; w], vec![0u64; w]], [vec![0u64; w], vec![0u64; w], vec![0u64; w]], [vec![0u64; w], vec![0u64; w]]),
            |(to_in, to_out, scratch), (r, row)| {
                let (j, k) = (r % n, r / n);
                near_levels(&inside, j, k, to_in, scratch);
                near_levels(&outside, j, k, to_out, scratch);
                let solid = inside.row(j, k);
                let far_row = &far[(k / BLOCK * m + j / BLOCK) * m..(k / BLOCK * m + j / BLOCK + 1) * m];
                for (q, chunk) in row.chunks_mut(64).enumerate() {
                    if solid[q] == 0 && to_in[2][q] == 0 {
                        chunk.iter_mut().enumerate().for_each(|(b, x)| *x = far_row[(q * 64 + b) / BLOCK]);
                        continue;
                    }
                    for (b, x) in chunk.iter_mut().enumerate() {
                        let level = |l: &[Vec<u64>; 3]| l.iter().position(|m| m[q] >> b & 1 == 1);
                        *x = if solid[q] >> b & 1 == 1 { in_at[level(to_out).unwrap_or(3)] } else { level(to_in).map_or(far_row[(q * 64 + b) / BLOCK], |s| out_at[s]) };
                    }
                }
            },
        );
        Self { half_mm, voxel_mm: h, n, d }
    }
    /// Voxel size, mm.
    pub fn voxel_mm(&self) -> f64 {
        self.voxel_mm
    }
    /// Signed distance at `p` (hip frame, mm), trilinear; `+inf` outside the box.
    #[inline]
    pub fn at(&self, p: &Vector3<f64>) -> f64 {
        let h = self.voxel_mm;
        let n = self.n;
        let g = |c: f64| (c + self.half_mm) / h - 0.5;
        let (gx, gy, gz) = (g(p.x), g(p.y), g(p.z));
        let lim = (n - 1) as f64;
        if !(gx >= 0.0 && gy >= 0.0 && gz >= 0.0 && gx < lim && gy < lim && gz < lim) {
            return f64::INFINITY;
        }
        let (i, j, k) = (gx as usize, gy as usize, gz as usize);
        let (fx, fy, fz) = (gx - i as f64, gy - j as f64, gz - k as f64);
        let o = k * n * n + j * n + i;
        let v = |q: usize| f64::from(self.d[q]);
        let (nn, n2) = (n, n * n);
        let c00 = v(o) * (1.0 - fx) + v(o + 1) * fx;
        let c10 = v(o + nn) * (1.0 - fx) + v(o + nn + 1) * fx;
        let c01 = v(o + n2) * (1.0 - fx) + v(o + n2 + 1) * fx;
        let c11 = v(o + n2 + nn) * (1.0 - fx) + v(o + n2 + nn + 1) * fx;
        let c0 = c00 * (1.0 - fy) + c10 * fy;
        let c1 = c01 * (1.0 - fy) + c11 * fy;
        c0 * (1.0 - fz) + c1 * fz
    }
}

/// Points in bounding-sphere clusters, grouped again into super-clusters.
#[derive(Debug, Clone, Default)]
pub struct PointClusters {
    /// All points, cluster by cluster.
    pub points: Vec<Vector3<f64>>,
    /// Clusters: centre, radius, range into `points`.
    pub clusters: Vec<(Vector3<f64>, f64, std::ops::Range<usize>)>,
    /// Super-clusters: centre, radius, range into `clusters`.
    pub supers: Vec<(Vector3<f64>, f64, std::ops::Range<usize>)>,
}

fn bucket<T: Clone>(items: &[T], pos: impl Fn(&T) -> Vector3<f64>, cell_mm: f64) -> Vec<Vec<T>> {
    let mut map: std::collections::BTreeMap<(i64, i64, i64), Vec<T>> = std::collections::BTreeMap::new();
    for it in items {
        let p = pos(it);
        let key = ((p.x / cell_mm).floor() as i64, (p.y / cell_mm).floor() as i64, (p.z / cell_mm).floor() as i64);
        map.entry(key).or_default().push(it.clone());
    }
    map.into_values().collect()
}

fn sphere_of(points: impl Iterator<Item = (Vector3<f64>, f64)> + Clone) -> (Vector3<f64>, f64) {
    let (sum, cnt) = points.clone().fold((Vector3::zeros(), 0.0), |(s, c), (p, _)| (s + p, c + 1.0));
    let centre = sum / cnt;
    let r = points.map(|(p, r)| (p - centre).norm() + r).fold(0.0, f64::max);
    (centre, r)
}

impl PointClusters {
    /// Clusters of `points` (bucketed in `cell_mm` cubes, super-clusters in 4x larger cubes).
    pub fn new(points: &[Vector3<f64>], cell_mm: f64) -> Self {
        let mut out = Self::default();
        let groups = bucket(points, |p| *p, cell_mm);
        let mut clusters = Vec::new();
        for g in groups {
            let (c, r) = sphere_of(g.iter().map(|p| (*p, 0.0)));
            let start = out.points.len();
            out.points.extend(g);
            clusters.push((c, r, start..out.points.len()));
        }
        for sg in bucket(&clusters, |c| c.0, 4.0 * cell_mm) {
            let (c, r) = sphere_of(sg.iter().map(|(c, r, _)| (*c, *r)));
            let start = out.clusters.len();
            out.clusters.extend(sg);
            out.supers.push((c, r, start..out.clusters.len()));
        }
        out
    }
    /// The first point (moved by `map`) for which `hit` holds, skipping clusters whose moved
    /// centre fails `may_hit(centre, radius)`. Returns the moved point.
    #[inline]
    pub fn find(&self, map: impl Fn(&Vector3<f64>) -> Vector3<f64>, may_hit: impl Fn(&Vector3<f64>, f64) -> bool, hit: impl Fn(&Vector3<f64>) -> bool) -> Option<Vector3<f64>> {
        for (sc, sr, cr) in &self.supers {
            if !may_hit(&map(sc), *sr) {
                continue;
            }
            for (c, r, pr) in &self.clusters[cr.clone()] {
                if !may_hit(&map(c), *r) {
                    continue;
                }
                for p in &self.points[pr.clone()] {
                    let q = map(p);
                    if hit(&q) {
                        return Some(q);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;

//! Bone collision geometry: a signed distance field of the pelvis and clustered surface points
//! of the femur, both in the hip frame (pelvic axes, origin at the hip centre, mm).
//!
//! Why not triangle-triangle tests: a pose query must cost microseconds (docs/STACK.md measured
//! 30-170 us for a parry mesh-mesh intersection near a concave cup). Instead the pelvis is a
//! grid of signed distances (exact Euclidean distance transform of a voxelised solid, inside
//! decided by ray parity, so the mesh must be closed) and the femur a set of surface points in
//! bounding-sphere clusters; a cluster whose centre is farther from the pelvis than its radius
//! (plus one voxel) is skipped whole. Accuracy: the surface is resolved to about half a voxel.

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

impl DistanceField {
    /// The field of the closed triangle surface (`vertices` in the hip frame, mm) on a cube of
    /// half-width `half_mm` and voxel `voxel_mm`, with the ball of radius `carve_radius_mm`
    /// around the origin removed from the solid (the reamed acetabulum).
    pub fn from_mesh(vertices: &[Point3<f64>], triangles: &[[u32; 3]], half_mm: f64, voxel_mm: f64, carve_radius_mm: f64) -> Self {
        let n = ((2.0 * half_mm / voxel_mm).ceil() as usize).max(2);
        let h = voxel_mm;
        let coord = |i: usize| -half_mm + (i as f64 + 0.5) * h;
        // Ray parity along z for every (i, j) column; columns nudged off the voxel centres by
        // an irrational fraction so that no ray passes exactly through an edge or a vertex.
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
        let mut inside = vec![false; n * n * n];
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
                        inside[k * n * n + j * n + i] = true;
                    }
                }
            }
        }
        let r2 = carve_radius_mm * carve_radius_mm;
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    if coord(i).powi(2) + coord(j).powi(2) + coord(k).powi(2) < r2 {
                        inside[k * n * n + j * n + i] = false;
                    }
                }
            }
        }
        let outside: Vec<bool> = inside.iter().map(|b| !b).collect();
        let (to_inside, to_outside) = rayon::join(|| edt_3d(&inside, n), || edt_3d(&outside, n));
        let d = (0..n * n * n)
            .map(|q| {
                let sq = |x: u32| if x == FAR { f64::INFINITY } else { f64::from(x).sqrt() };
                let v = if inside[q] { -(sq(to_outside[q]) - 0.5) } else { sq(to_inside[q]) - 0.5 };
                // Far from any bone (no inside voxel in the box) the distance is unbounded.
                convert::mm_to_f32((v * h).min(4.0 * half_mm))
            })
            .collect();
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
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// A closed box mesh (outward triangles).
    fn cuboid(lo: [f64; 3], hi: [f64; 3]) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
        let v = (0..8).map(|i| Point3::new(if i & 1 == 0 { lo[0] } else { hi[0] }, if i & 2 == 0 { lo[1] } else { hi[1] }, if i & 4 == 0 { lo[2] } else { hi[2] })).collect();
        let t = vec![[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]];
        (v, t)
    }

    #[test]
    fn box_distances_are_euclidean_within_half_a_voxel() {
        let (v, t) = cuboid([10.0, -20.0, -20.0], [30.0, 20.0, 20.0]);
        let f = DistanceField::from_mesh(&v, &t, 40.0, 1.0, 0.0);
        // Outside in front of a face, outside off an edge, inside near a face, inside centre.
        assert_relative_eq!(f.at(&Vector3::new(0.0, 0.0, 0.0)), 10.0, epsilon = 0.5);
        assert_relative_eq!(f.at(&Vector3::new(35.0, 25.0, 0.0)), 50f64.sqrt(), epsilon = 0.5);
        assert_relative_eq!(f.at(&Vector3::new(12.0, 0.0, 0.0)), -2.0, epsilon = 0.5);
        assert_relative_eq!(f.at(&Vector3::new(20.0, 0.0, 0.0)), -10.0, epsilon = 0.5);
        assert!(f.at(&Vector3::new(100.0, 0.0, 0.0)).is_infinite());
        // Carving removes the solid near the origin.
        let carved = DistanceField::from_mesh(&v, &t, 40.0, 1.0, 15.0);
        assert!(carved.at(&Vector3::new(12.0, 0.0, 0.0)) > 0.0);
        assert!(carved.at(&Vector3::new(20.0, 0.0, 0.0)) < 0.0);
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
}

//! The support hull of the femoral neck: a convex support map of the neck's profile for parry's GJK, and its cells.

use super::*;

/// A convex hull of points, queried for its support function by hill climbing.
pub(super) struct SupportHull {
    p: Vec<Vector3<f64>>,
    /// The band sample each hull vertex came from.
    sample: Vec<u32>,
    nbr_start: Vec<u32>,
    nbr: Vec<u32>,
    seed: Vec<u32>,
}

pub(super) fn cube_cell(d: &Vector3<f64>) -> usize {
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

pub(super) fn cube_centre(i: usize) -> Vector3<f64> {
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
    pub(super) fn new(points: &[(Vector3<f64>, u32)]) -> Option<Self> {
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
    pub(super) fn parry_hull(points: &[(Vector3<f64>, u32)]) -> Option<(Vec<usize>, Vec<[u32; 3]>)> {
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
    pub(super) fn checked(points: &mut [(Vector3<f64>, u32)]) -> Option<Self> {
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
    pub(super) fn climb(&self, d: &Vector3<f64>, mut v: usize) -> (f64, usize) {
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
    pub(super) fn agrees_with_brute_force(&self, points: &[(Vector3<f64>, u32)]) -> bool {
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
    pub(super) fn support(&self, d: &Vector3<f64>) -> (f64, u32) {
        let (s, v) = self.climb(d, self.seed[cube_cell(d)] as usize);
        (s, self.sample[v])
    }
}

/// A neck hull's points for parry3d's GJK and EPA: the same support point as parry3d's
/// `ConvexPolyhedron` (the first point of largest `p·dir` in f32, the dot product summed in the
/// same order), found in two passes over coordinate arrays that the compiler vectorises (the
/// largest value, then the first point that has it) instead of one branchy pass.
pub(super) struct NeckSupport {
    xyz: [Vec<f32>; 3],
    points: Vec<Vector>,
}

impl NeckSupport {
    pub(super) fn new(hull: &ConvexPolyhedron) -> Self {
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

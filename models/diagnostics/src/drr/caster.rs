//! The ray caster: rays in voxel space and the casts plane by plane, through a virtual detector
//! and tile by tile (the parent module's docs, "Ray sum").

use nalgebra::{Point3, Vector3};

use rayon::prelude::*;

use super::*;

pub(super) mod oblique;
mod planes;
mod steep;

/// One ray in voxel space: in-plane coordinates `r0 + q dr`, `c0 + q dc` at plane `q` of the
/// dominant axis; inside the grid and between source and detector for planes `lo..=hi`
/// (fractional); `step_mm` is the ray's length per plane.
pub(super) struct Ray {
    pub(super) r0: f64,
    pub(super) dr: f64,
    pub(super) c0: f64,
    pub(super) dc: f64,
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) step_mm: f64,
}

impl Ray {
    /// Steeper than 1:2 to the planes: sampled trilinearly several times per plane.
    pub(super) fn steep(&self) -> bool {
        self.dr.abs().max(self.dc.abs()) > 0.5
    }
    /// The whole planes the ray samples, `q0..=q1` (empty when `q0 > q1`).
    pub(super) fn planes(&self, nm: usize) -> (usize, usize) {
        (self.lo.ceil() as usize, (self.hi.floor() as usize).min(nm - 1))
    }
}

/// The per-row and per-column ray coefficients of a detector parallel to the planes (the real
/// one, or the virtual one of an oblique view).
pub(super) struct ParallelAxes {
    /// Per row: `(r0, dr)`.
    pub(super) rows: Vec<(f64, f64)>,
    /// Per column: `(c0, dc)`.
    pub(super) cols: Vec<(f64, f64)>,
    /// Where the rays end.
    pub(super) ends: Ends,
    /// Samples per plane step: 1 (Joseph's, on whole planes), or more for rays steeper than
    /// half a voxel per plane along the rows (`m - 1` trilinear samples between planes, the
    /// columns taken at the planes' own positions: the rows' slope is the steep one).
    pub(super) m: usize,
    /// Per row, the columns `lo..hi` whose rays are needed (a virtual detector's rows need
    /// only what the real detector's pixels land near); `None`: all.
    pub(super) needed: Option<Vec<(usize, usize)>>,
}

/// Where the rays of a plane-by-plane cast end.
pub(super) enum Ends {
    /// At the detector's pixels: every ray between the source and the detector, planes `lo..=hi`.
    Detector {
        /// `(lo, hi)`.
        between: (f64, f64),
    },
    /// At the pixels of a virtual detector in a plane of the volume ([`oblique`]); each ray
    /// stops where it meets the real detector's plane.
    Virtual(oblique::Virtual),
}

/// The ray sum of one volume in one geometry (Joseph's method, see the module docs). The grid
/// has at least 2 voxels along every axis ([`DrrVolume::new`] refuses others).
pub(super) struct Caster<'a, T: Sample> {
    pub(super) w: &'a [T],
    /// The weights of `i16` samples (unused for `f32` weights).
    pub(super) table: &'a HuWeights,
    pub(super) g: &'a XrayGeometry,
    pub(super) voxel_from_lps: &'a nalgebra::Matrix4<f64>,
    pub(super) lps_from_voxel: &'a nalgebra::Matrix4<f64>,
    /// The source in voxel indices.
    pub(super) s: Vector3<f64>,
    /// The dominant axis (planes), the in-plane row and column axes.
    pub(super) ax: usize,
    pub(super) ra: usize,
    pub(super) ca: usize,
    /// Sizes and strides along them.
    pub(super) nm: usize,
    pub(super) nr: usize,
    pub(super) nc: usize,
    pub(super) sm: usize,
    pub(super) sr: usize,
    pub(super) sc: usize,
    /// Largest lower corner index of a bilinear cell, and the last index, per in-plane axis.
    pub(super) rmax: f32,
    pub(super) cmax: f32,
    pub(super) rtop: f32,
    pub(super) ctop: f32,
}

impl<'a, T: Sample> Caster<'a, T> {
    pub(super) fn new(vol: &'a DrrVolume, w: &'a [T], table: &'a HuWeights, g: &'a XrayGeometry) -> Self {
        let m = &vol.voxel_from_lps;
        let s = m.transform_point(&g.source_lps_mm).coords;
        // The dominant axis: the one the central ray crosses most planes of.
        let centre = g.pixel_lps((g.cols as f64 - 1.0) / 2.0, (g.rows as f64 - 1.0) / 2.0);
        let dc = m.transform_point(&centre).coords - s;
        let ax = (0..3).max_by(|&a, &b| dc[a].abs().total_cmp(&dc[b].abs())).unwrap_or(2);
        let (ra, ca) = match ax {
            0 => (2, 1),
            1 => (2, 0),
            _ => (1, 0),
        };
        let strides = [1usize, vol.size[0], vol.size[0] * vol.size[1]];
        let (nm, nr, nc) = (vol.size[ax], vol.size[ra], vol.size[ca]);
        Self {
            w,
            table,
            g,
            voxel_from_lps: m,
            lps_from_voxel: &vol.lps_from_voxel,
            s,
            ax,
            ra,
            ca,
            nm,
            nr,
            nc,
            sm: strides[ax],
            sr: strides[ra],
            sc: strides[ca],
            rmax: (nr - 2) as f32,
            cmax: (nc - 2) as f32,
            rtop: (nr - 1) as f32,
            ctop: (nc - 1) as f32,
        }
    }

    pub(super) fn to_vox(&self, p: &Point3<f64>) -> Vector3<f64> {
        self.voxel_from_lps.transform_point(p).coords
    }

    /// The in-plane coefficients `(r0, dr, c0, dc)` of the ray to pixel `(col, row)`, the
    /// pixel in voxel indices and in LPS; `None` when the ray runs within the source's plane.
    pub(super) fn coefficients(&self, col: usize, row: usize) -> Option<([f64; 4], Vector3<f64>, Point3<f64>)> {
        let p = self.g.pixel_lps(col as f64, row as f64);
        let pv = self.to_vox(&p);
        let d = pv - self.s;
        if d[self.ax].abs() < 1e-9 {
            return None;
        }
        let dr = d[self.ra] / d[self.ax];
        let dc = d[self.ca] / d[self.ax];
        Some(([self.s[self.ra] - self.s[self.ax] * dr, dr, self.s[self.ca] - self.s[self.ax] * dc, dc], pv, p))
    }

    /// Planes `(lo, hi)` where in-plane coordinate `x0 + q dx` lies within `0..=n-1`.
    pub(super) fn inside(x0: f64, dx: f64, n: usize) -> (f64, f64) {
        let top = (n - 1) as f64;
        if dx.abs() < 1e-12 {
            if (0.0..=top).contains(&x0) { (f64::NEG_INFINITY, f64::INFINITY) } else { (1.0, 0.0) }
        } else {
            let (a, b) = ((0.0 - x0) / dx, (top - x0) / dx);
            (a.min(b), a.max(b))
        }
    }

    /// The ray to pixel `(col, row)`; `None` when it misses the grid.
    pub(super) fn ray(&self, col: usize, row: usize) -> Option<Ray> {
        let ([r0, dr, c0, dc], pv, p) = self.coefficients(col, row)?;
        let pv = pv[self.ax];
        let step_mm = (p - self.g.source_lps_mm).norm() / (pv - self.s[self.ax]).abs();
        // Planes where the ray is inside the grid, between source and detector.
        let (mut lo, mut hi) = (0.0f64, (self.nm - 1) as f64);
        for (a, b) in [Self::inside(r0, dr, self.nr), Self::inside(c0, dc, self.nc)] {
            lo = lo.max(a);
            hi = hi.min(b);
        }
        lo = lo.max(self.s[self.ax].min(pv));
        hi = hi.min(self.s[self.ax].max(pv));
        (lo <= hi).then_some(Ray { r0, dr, c0, dc, lo, hi, step_mm })
    }

    /// Bilinear value in plane `q` at in-plane coordinates (r, c).
    pub(super) fn bilinear(&self, q: usize, r: f32, c: f32) -> f32 {
        let w = self.w;
        let (r, c) = (r.clamp(0.0, self.rtop), c.clamp(0.0, self.ctop));
        let (rf, cf) = (floor_nonneg(r).min(self.rmax), floor_nonneg(c).min(self.cmax));
        let (fr, fc) = (r - rf, c - cf);
        let base = q * self.sm + rf as usize * self.sr + cf as usize * self.sc;
        let t = self.table;
        let (a, b) = (w[base].w(t), w[base + self.sc].w(t));
        let (cc, dd) = (w[base + self.sr].w(t), w[base + self.sr + self.sc].w(t));
        let top = a + (b - a) * fc;
        let bot = cc + (dd - cc) * fc;
        top + (bot - top) * fr
    }

    /// Trilinear value of a ray at a fractional plane position.
    pub(super) fn at(&self, ray: &Ray, qf: f64) -> f32 {
        let q = (qf.max(0.0) as usize).min(self.nm - 2);
        let a = (qf - q as f64).clamp(0.0, 1.0) as f32;
        let (r, c) = ((ray.r0 + qf * ray.dr) as f32, (ray.c0 + qf * ray.dc) as f32);
        let v0 = self.bilinear(q, r, c);
        v0 + (self.bilinear(q + 1, r, c) - v0) * a
    }

    /// A steep ray's integral: trilinear samples, 4 per voxel crossed, so that it integrates
    /// the same trilinear interpolant.
    pub(super) fn steep_sum(&self, ray: &Ray) -> f32 {
        let n_sub = (4.0 * ray.dr.abs().max(ray.dc.abs())).ceil();
        let n = ((ray.hi - ray.lo) * n_sub).ceil().max(1.0) as usize;
        let h = (ray.hi - ray.lo) / n as f64;
        let mut acc = 0.5 * (self.at(ray, ray.lo) + self.at(ray, ray.hi));
        for k in 1..n {
            acc += self.at(ray, ray.lo + k as f64 * h);
        }
        (f64::from(acc) * h * ray.step_mm) as f32
    }

    /// A ray's integral from `a`, the sum of its bilinear samples on the whole planes
    /// `q0..=q1`: the trapezoid rule between planes, and the part-steps from the entry to the
    /// first plane and from the last plane to the exit. 0 when it crosses no whole plane.
    pub(super) fn finish(&self, ray: &Ray, a: f32) -> f32 {
        self.finish_m(ray, a, 1)
    }

    /// [`Caster::finish`] for `a` summed over `m` samples per plane step (the whole planes and
    /// `m - 1` between each pair): the trapezoid rule of step `1 / m`.
    pub(super) fn finish_m(&self, ray: &Ray, a: f32, m: usize) -> f32 {
        let (q0, q1) = ray.planes(self.nm);
        if q0 > q1 {
            return 0.0;
        }
        let (r0, dr, c0, dc) = (ray.r0 as f32, ray.dr as f32, ray.c0 as f32, ray.dc as f32);
        let sample = |q: usize| self.bilinear(q, r0 + q as f32 * dr, c0 + q as f32 * dc);
        let (f0, f1) = (sample(q0), sample(q1));
        let m = m as f32;
        let mut t = a / m - 0.5 * (f0 + f1) / m;
        // The part-steps, where the ray does not enter or leave on a whole plane (a lateral
        // view's rays mostly do: a sample fewer to look up).
        if (q0 as f64) > ray.lo {
            t += 0.5 * (q0 as f64 - ray.lo) as f32 * (self.at(ray, ray.lo) + f0);
        }
        if ray.hi > q1 as f64 {
            t += 0.5 * (ray.hi - q1 as f64) as f32 * (f1 + self.at(ray, ray.hi));
        }
        t * ray.step_mm as f32
    }

    /// Any geometry: tiles of `TILE_ROWS x TILE_COLS` rays, in parallel over bands of rows,
    /// planes outermost inside a tile: the tile's rays sample the same few cache lines of a
    /// plane together, then move on.
    pub(super) fn tiled(&self, out: &mut [f32]) {
        const TILE_ROWS: usize = 4;
        const TILE_COLS: usize = 64;
        let (cols, w) = (self.g.cols, self.w);
        out.par_chunks_mut(cols * TILE_ROWS).enumerate().for_each(|(band, chunk)| {
            let row0 = band * TILE_ROWS;
            let band_rows = chunk.len() / cols;
            for col0 in (0..cols).step_by(TILE_COLS) {
                let tile_cols = TILE_COLS.min(cols - col0);
                let rays: Vec<Option<Ray>> = (0..band_rows).flat_map(|dr_| (0..tile_cols).map(move |dc_| (col0 + dc_, row0 + dr_))).map(|(c, r)| self.ray(c, r)).collect();
                let mut sums: Vec<f32> = rays.iter().map(|r| r.as_ref().filter(|r| r.steep()).map_or(0.0, |r| self.steep_sum(r))).collect();
                // The others: Joseph's samples on whole planes, planes outermost.
                let planes: Vec<(usize, usize, f32, f32, f32, f32)> = rays
                    .iter()
                    .map(|r| match r.as_ref().filter(|r| !r.steep()) {
                        Some(r) => {
                            let (q0, q1) = r.planes(self.nm);
                            (q0, q1, r.r0 as f32, r.dr as f32, r.c0 as f32, r.dc as f32)
                        }
                        None => (1, 0, 0.0, 0.0, 0.0, 0.0),
                    })
                    .collect();
                let q_first = planes.iter().filter(|p| p.0 <= p.1).map(|p| p.0).min();
                let q_last = planes.iter().filter(|p| p.0 <= p.1).map(|p| p.1).max();
                if let (Some(qa), Some(qb)) = (q_first, q_last) {
                    let mut acc = vec![0f32; rays.len()];
                    for q in qa..=qb {
                        let qf = q as f32;
                        let plane = &w[q * self.sm..];
                        for (a, &(q0, q1, r0, dr, c0, dc)) in acc.iter_mut().zip(&planes) {
                            if q >= q0 && q <= q1 {
                                // Inside the grid by construction (q0..=q1): no clamping but
                                // against rounding at the edges.
                                let (r, c) = ((r0 + qf * dr).max(0.0), (c0 + qf * dc).max(0.0));
                                let (rf, cf) = (floor_nonneg(r).min(self.rmax), floor_nonneg(c).min(self.cmax));
                                let (fr, fc) = (r - rf, c - cf);
                                let base = rf as usize * self.sr + cf as usize * self.sc;
                                let t = self.table;
                                let (p00, p01, p10, p11) = (plane[base].w(t), plane[base + self.sc].w(t), plane[base + self.sr].w(t), plane[base + self.sr + self.sc].w(t));
                                let top = p00 + (p01 - p00) * fc;
                                let bot = p10 + (p11 - p10) * fc;
                                *a += top + (bot - top) * fr;
                            }
                        }
                    }
                    for ((sum, a), ray) in sums.iter_mut().zip(acc).zip(&rays) {
                        if let Some(ray) = ray.as_ref().filter(|r| !r.steep()) {
                            *sum = self.finish(ray, a);
                        }
                    }
                }
                for dr_ in 0..band_rows {
                    chunk[dr_ * cols + col0..dr_ * cols + col0 + tile_cols].copy_from_slice(&sums[dr_ * tile_cols..(dr_ + 1) * tile_cols]);
                }
            }
        });
    }

    /// The per-row and per-column coefficients when the detector is parallel to the planes,
    /// its columns along the contiguous in-plane axis and its rows along the other, and no ray
    /// is steep; `None` otherwise. Parallel means the detector's directions have no component
    /// (beyond 1e-9 voxel per pixel) along the axes they must not move along.
    pub(super) fn parallel_axes(&self) -> Option<ParallelAxes> {
        if self.sc != 1 {
            return None;
        }
        let m = self.voxel_from_lps;
        let (u, v) = (m.transform_vector(&(self.g.u * self.g.pixel_mm)), m.transform_vector(&(self.g.v * self.g.pixel_mm)));
        let tol = 1e-9;
        if u[self.ax].abs() > tol || u[self.ra].abs() > tol || v[self.ax].abs() > tol || v[self.ca].abs() > tol {
            return None;
        }
        let rows: Option<Vec<(f64, f64)>> = (0..self.g.rows).map(|r| self.coefficients(0, r).map(|(k, ..)| (k[0], k[1]))).collect();
        let cols: Option<Vec<(f64, f64)>> = (0..self.g.cols).map(|c| self.coefficients(c, 0).map(|(k, ..)| (k[2], k[3]))).collect();
        let (rows, cols) = (rows?, cols?);
        if rows.iter().chain(&cols).any(|&(_, d)| d.abs() > 0.5) {
            return None;
        }
        let pv = self.to_vox(&self.g.origin_lps_mm)[self.ax];
        let between = (self.s[self.ax].min(pv), self.s[self.ax].max(pv));
        Some(ParallelAxes { rows, cols, ends: Ends::Detector { between }, m: 1, needed: None })
    }

    /// The planes `(lo, hi)` between the source and the end of the ray to pixel `(col, row)`
    /// and the ray's length per plane, mm.
    pub(super) fn ray_end(&self, ends: &Ends, col: usize, row: usize) -> ((f64, f64), f64) {
        let (p, between) = match ends {
            Ends::Detector { between } => (self.g.pixel_lps(col as f64, row as f64), *between),
            Ends::Virtual(v) => v.ray_end(self, col, row),
        };
        let d = self.to_vox(&p)[self.ax] - self.s[self.ax];
        (between, (p - self.g.source_lps_mm).norm() / d.abs())
    }
}

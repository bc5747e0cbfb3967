//! The plane-by-plane cast ([`Caster::parallel`]): a detector parallel to the volume's planes
//! (the real one of an AP view, or the virtual one of an oblique view, [`super::oblique`]).
//!
//! Every plane maps onto the detector by a scale and a shift per axis, so the bilinear samples
//! of all rays in a plane separate into an interpolation along the plane's rows for every
//! detector column (the plane's *lines*), then one between two of those lines for every
//! detector row: the same samples as [`Caster::tiled`] at a fraction of its index arithmetic,
//! in contiguous loops. Rays sampled `m > 1` times per plane step take a fixed combination of a
//! few lines per detector row ([`steep`]). In parallel over bands of 32 detector rows.
//!
//! Planes whose columns are contiguous in memory (axial and coronal: an AP view, tilted or
//! not) are read in place, each band running through all planes. A lateral view's planes are
//! sagittal: their columns lie `ni` voxels apart, so read in place every sample pulls its own
//! cache line, and each band would pull the whole of every plane it crosses through the cache
//! again. There the bands run together through blocks of [`BLOCK_PLANES`] planes, copied once
//! per block into contiguous lines (each cache line of the CT read once, as a whole): a copy of
//! `BLOCK_PLANES` planes, not of the CT.

use rayon::prelude::*;

use super::{Caster, ParallelAxes, Ray, Sample, floor_nonneg, steep};

/// Detector rows per band.
const BAND_ROWS: usize = 32;

/// Planes per block of a cast from strided planes: two cache lines of `f32` (the copy, 32 x
/// rows x columns `f32`, is 20 MB for a 512 x 512 x 300 CT).
const BLOCK_PLANES: usize = 32;

/// Most rays whose bands run together through the blocks of planes: 4 Mi rays, 150 MB of
/// state (the 1024 x 1263 virtual detector of a 1024 x 1024 lateral view is one group); 4096
/// in the unit tests, so that their small views run in several groups.
const GROUP_RAYS: usize = if cfg!(test) { 1 << 12 } else { 1 << 22 };

/// One band's running state: its rays' whole planes (`q0s..=q1s`, empty when `q0 > q1`), each
/// row's planes, the sums so far and scratch.
struct Band {
    row0: usize,
    rows: usize,
    q0s: Vec<i32>,
    q1s: Vec<i32>,
    row_planes: Vec<(i32, i32)>,
    /// The columns some ray of the band samples (all others miss).
    span: std::ops::Range<usize>,
    acc: Vec<f32>,
    lines: Vec<f32>,
    /// Per row: its lower line and fraction (m = 1) or its kernel (m > 1) in the current plane.
    cells: Vec<Option<(usize, f32)>>,
    kernels: Vec<Option<steep::Kernel>>,
    /// Per column: the lower column and fraction in the current plane.
    cf: Vec<usize>,
    fc: Vec<f32>,
}

impl Band {
    /// The planes some ray of the band samples, `(first, last)`.
    fn planes(&self) -> Option<(usize, usize)> {
        let qa = self.row_planes.iter().map(|p| p.0).min().unwrap_or(i32::MAX);
        let qb = self.row_planes.iter().map(|p| p.1).max().unwrap_or(i32::MIN);
        (qa <= qb).then_some((qa as usize, qb as usize))
    }
}

/// Where a plane's rows are read: the volume in place, or a block's contiguous copy
/// (`[row][plane][column]`, from plane `q0`, `planes` of them).
enum Source<'s> {
    InPlace,
    Block { data: &'s [f32], q0: usize, planes: usize },
}

impl<T: Sample> Caster<'_, T> {
    /// The rays of the band of `rows` detector rows from `row0`.
    pub(in crate::drr) fn band_rays(&self, axes: &ParallelAxes, col_inside: &[(f64, f64)], row0: usize, rows: usize) -> Vec<Option<Ray>> {
        let nm = self.nm;
        let mut rays = Vec::with_capacity(rows * axes.cols.len());
        for (row, &(r0, dr)) in (row0..).zip(&axes.rows[row0..row0 + rows]) {
            let (rlo, rhi) = Self::inside(r0, dr, self.nr);
            let needed = axes.needed.as_ref().map_or(0..axes.cols.len(), |n| n[row].0..n[row].1);
            for (col, (&(c0, dc), &(clo, chi))) in axes.cols.iter().zip(col_inside).enumerate() {
                if !needed.contains(&col) {
                    rays.push(None);
                    continue;
                }
                let (between, step_mm) = self.ray_end(&axes.ends, col, row);
                let lo = 0f64.max(rlo).max(clo).max(between.0);
                let hi = ((nm - 1) as f64).min(rhi).min(chi).min(between.1);
                rays.push((lo <= hi).then_some(Ray { r0, dr, c0, dc, lo, hi, step_mm }));
            }
        }
        rays
    }

    /// The running state of the band of `rays` (from detector row `row0`).
    fn band(&self, rays: &[Option<Ray>], cols: usize, row0: usize) -> Band {
        let rows = rays.len() / cols.max(1);
        let (q0s, q1s): (Vec<i32>, Vec<i32>) = rays
            .iter()
            .map(|r| match r {
                Some(r) => {
                    let (q0, q1) = r.planes(self.nm);
                    (q0 as i32, q1 as i32)
                }
                None => (1, 0),
            })
            .unzip();
        // Per row: the planes some ray of the row samples.
        let row_planes: Vec<(i32, i32)> =
            q0s.chunks(cols).zip(q1s.chunks(cols)).map(|(a, b)| a.iter().zip(b).filter(|(q0, q1)| q0 <= q1).fold((i32::MAX, i32::MIN), |(lo, hi), (&q0, &q1)| (lo.min(q0), hi.max(q1)))).collect();
        let span = (0..rays.len())
            .filter(|&i| q0s[i] <= q1s[i])
            .fold(None, |s: Option<(usize, usize)>, i| {
                let c = i % cols;
                Some(s.map_or((c, c + 1), |(lo, hi)| (lo.min(c), hi.max(c + 1))))
            })
            .map_or(0..0, |(lo, hi)| lo..hi);
        Band { row0, rows, q0s, q1s, row_planes, span, acc: vec![0f32; rows * cols], lines: Vec::new(), cells: vec![None; rows], kernels: vec![None; rows], cf: vec![0; cols], fc: vec![0.0; cols] }
    }

    /// The integrals of the band's rays from their sums.
    fn finish_band(&self, out: &mut [f32], rays: &[Option<Ray>], acc: &[f32], m: usize) {
        for ((o, ray), &a) in out.iter_mut().zip(rays).zip(acc) {
            *o = ray.as_ref().map_or(0.0, |r| self.finish_m(r, a - self.tent_ends(r, m), m));
        }
    }

    /// The part of a ray's row tents (`m > 1`, [`steep`]) that falls before its first plane and
    /// after its last: [`steep::Kernel`]'s sums include it, the ray's integral does not.
    pub(in crate::drr) fn tent_ends(&self, ray: &Ray, m: usize) -> f32 {
        let (q0, q1) = ray.planes(self.nm);
        if q0 > q1 || m < 2 {
            return 0.0;
        }
        steep::end_correction(|q, r, c| self.bilinear(q, r, c), (q0, q1), (ray.r0 as f32, ray.dr as f32, ray.c0 as f32, ray.dc as f32), m)
    }

    /// Every row of planes `q0..q0 + planes` (`planes <= BLOCK_PLANES`), as [`Source::Block`]
    /// holds them. By tiles of 16 columns: 16 independent reads of a row's run of planes (the
    /// memory's latency overlapped), then whole cache lines written per plane.
    fn fill_block(&self, q0: usize, planes: usize, block: &mut Vec<f32>) {
        const TILE: usize = 16;
        let nc = self.nc;
        block.resize(self.nr * planes * nc, 0.0);
        block.par_chunks_mut(planes * nc).enumerate().for_each(|(k, rows)| {
            let mut tile = [[0f32; BLOCK_PLANES]; TILE];
            for j0 in (0..nc).step_by(TILE) {
                let n = TILE.min(nc - j0);
                for (j, t) in (j0..j0 + n).zip(tile.iter_mut()) {
                    let src = &self.w[q0 * self.sm + k * self.sr + j * self.sc..][..planes];
                    for (t, &v) in t.iter_mut().zip(src) {
                        *t = v.w(self.table);
                    }
                }
                for (p, dst) in rows.chunks_mut(nc).enumerate() {
                    for (d, t) in dst[j0..j0 + n].iter_mut().zip(&tile) {
                        *d = t[p];
                    }
                }
            }
        });
    }

    /// The detector of `axes` cast plane by plane into `out` (`rows x cols` of it).
    pub(in crate::drr) fn parallel(&self, axes: &ParallelAxes, out: &mut [f32]) {
        let (cols, m) = (axes.cols.len(), axes.m);
        let col_inside: Vec<(f64, f64)> = axes.cols.iter().map(|&(c0, dc)| Self::inside(c0, dc, self.nc)).collect();
        if self.sc == 1 {
            // Each band through all planes, in place.
            out.par_chunks_mut(cols * BAND_ROWS).enumerate().for_each(|(b, chunk)| {
                let rays = self.band_rays(axes, &col_inside, b * BAND_ROWS, chunk.len() / cols);
                let mut band = self.band(&rays, cols, b * BAND_ROWS);
                if let Some((qa, qb)) = band.planes() {
                    (qa..=qb).for_each(|q| self.band_plane(axes, &mut band, q, &Source::InPlace));
                }
                self.finish_band(chunk, &rays, &band.acc, m);
            });
            return;
        }
        // Bands together through blocks of planes copied contiguous, in groups of bands of at
        // most GROUP_RAYS rays (their state, 36 bytes a ray, is held through all planes).
        let group_rows = (GROUP_RAYS / cols.max(1) / BAND_ROWS).max(1) * BAND_ROWS;
        for (g, out) in out.chunks_mut(group_rows * cols).enumerate() {
            self.blocks(axes, &col_inside, g * group_rows, out);
        }
    }

    /// The rows from `row0` of the detector of `axes` whose columns are strided in memory, into
    /// `out`: all their bands through blocks of [`BLOCK_PLANES`] planes copied contiguous.
    fn blocks(&self, axes: &ParallelAxes, col_inside: &[(f64, f64)], row0: usize, out: &mut [f32]) {
        let (cols, m) = (axes.cols.len(), axes.m);
        let rows = out.len() / cols.max(1);
        // Each band's state, and its rays' plane ranges and lengths per plane (not whole rays:
        // 24 bytes a ray, the rest is the detector's row and column coefficients).
        let (mut bands, ends): (Vec<Band>, Vec<Vec<[f64; 3]>>) = (0..rows.div_ceil(BAND_ROWS))
            .into_par_iter()
            .map(|b| {
                let rays = self.band_rays(axes, col_inside, row0 + b * BAND_ROWS, BAND_ROWS.min(rows - b * BAND_ROWS));
                let ends = rays.iter().map(|r| r.as_ref().map_or([1.0, 0.0, 0.0], |r| [r.lo, r.hi, r.step_mm])).collect();
                (self.band(&rays, cols, row0 + b * BAND_ROWS), ends)
            })
            .unzip();
        let spans: Vec<(usize, usize)> = bands.iter().filter_map(Band::planes).collect();
        if let (Some(qa), Some(qb)) = (spans.iter().map(|p| p.0).min(), spans.iter().map(|p| p.1).max()) {
            let mut block = Vec::new();
            for q0 in (qa - qa % BLOCK_PLANES..=qb).step_by(BLOCK_PLANES) {
                let planes = BLOCK_PLANES.min(self.nm - q0);
                self.fill_block(q0, planes, &mut block);
                let source = Source::Block { data: &block, q0, planes };
                bands.par_iter_mut().for_each(|band| (q0.max(qa)..(q0 + planes).min(qb + 1)).for_each(|q| self.band_plane(axes, band, q, &source)));
            }
        }
        out.par_chunks_mut(cols * BAND_ROWS).zip(bands).zip(ends).for_each(|((chunk, band), ends)| {
            let rays: Vec<Option<Ray>> = ends
                .iter()
                .enumerate()
                .map(|(i, &[lo, hi, step_mm])| {
                    let ((r0, dr), (c0, dc)) = (axes.rows[band.row0 + i / cols], axes.cols[i % cols]);
                    (lo <= hi).then_some(Ray { r0, dr, c0, dc, lo, hi, step_mm })
                })
                .collect();
            self.finish_band(chunk, &rays, &band.acc, m);
        });
    }

    /// Adds plane `q`'s samples to the sums of `band`'s rays.
    fn band_plane(&self, axes: &ParallelAxes, band: &mut Band, q: usize, source: &Source<'_>) {
        let (cols, m, qi, qf) = (axes.cols.len(), axes.m, q as i32, q as f32);
        let band_axes = &axes.rows[band.row0..band.row0 + band.rows];
        let (cells, kernels) = (&mut band.cells, &mut band.kernels);
        cells.fill(None);
        kernels.fill(None);
        let (mut kmin, mut kmax) = (usize::MAX, 0usize);
        for (i, (&(r0, dr), &(lo, hi))) in band_axes.iter().zip(&band.row_planes).enumerate() {
            if !(lo <= qi && qi <= hi) {
                continue;
            }
            let rq = r0 as f32 + qf * dr as f32;
            if m == 1 {
                let r = rq.max(0.0);
                let f = floor_nonneg(r).min(self.rmax);
                cells[i] = Some((f as usize, r - f));
                (kmin, kmax) = (kmin.min(f as usize), kmax.max(f as usize + 1));
            } else if let Some(kn) = steep::Kernel::new(rq, dr as f32, m, self.rtop, self.rmax) {
                // Always: the oblique cast's slopes keep a tent within MAX_LINES lines.
                (kmin, kmax) = (kmin.min(kn.k), kmax.max(kn.k + kn.n - 1));
                kernels[i] = Some(kn);
            }
        }
        if kmin > kmax {
            return;
        }
        // The plane's lines: along its rows, at every detector column.
        let cs = band.span.clone();
        let (cf, fc) = (&mut band.cf[cs.clone()], &mut band.fc[cs.clone()]);
        for ((cf, fc), &(c0, dc)) in cf.iter_mut().zip(fc.iter_mut()).zip(&axes.cols[cs.clone()]) {
            let c = (c0 as f32 + qf * dc as f32).max(0.0);
            let f = floor_nonneg(c).min(self.cmax);
            (*cf, *fc) = (f as usize, c - f);
        }
        let lines = &mut band.lines;
        lines.resize((kmax - kmin + 1) * cols, 0.0);
        for (k, line) in (kmin..=kmax).zip(lines.chunks_mut(cols)) {
            let line = &mut line[cs.clone()];
            match source {
                Source::InPlace => {
                    let row = &self.w[q * self.sm + k * self.sr..];
                    for ((l, &i), &f) in line.iter_mut().zip(cf.iter()).zip(fc.iter()) {
                        let (p0, p1) = (row[i].w(self.table), row[i + 1].w(self.table));
                        *l = p0 + (p1 - p0) * f;
                    }
                }
                Source::Block { data, q0, planes } => {
                    let row = &data[(k * planes + q - q0) * self.nc..][..self.nc];
                    for ((l, &i), &f) in line.iter_mut().zip(cf.iter()).zip(fc.iter()) {
                        let (p0, p1) = (row[i], row[i + 1]);
                        *l = p0 + (p1 - p0) * f;
                    }
                }
            }
        }
        // Between lines, at every ray of an active detector row.
        let (q0s, q1s, acc) = (&band.q0s, &band.q1s, &mut band.acc);
        for (i, (cell, kernel)) in cells.iter().zip(kernels.iter()).enumerate() {
            let span = i * cols + cs.start..i * cols + cs.end;
            if let Some(kn) = kernel {
                kn.add(&mut acc[span.clone()], lines, kmin, cols, cs.clone(), (&q0s[span.clone()], &q1s[span]), qi);
                continue;
            }
            let Some((k, fr)) = *cell else { continue };
            let (top, bot) = (&lines[(k - kmin) * cols..(k - kmin + 1) * cols][cs.clone()], &lines[(k + 1 - kmin) * cols..(k + 2 - kmin) * cols][cs.clone()]);
            for ((((a, &t), &b), &q0), &q1) in acc[span.clone()].iter_mut().zip(top).zip(bot).zip(&q0s[span.clone()]).zip(&q1s[span]) {
                let v = t + (b - t) * fr;
                *a += if q0 <= qi && qi <= q1 { v } else { 0.0 };
            }
        }
    }
}

//! A box of voxels cut from a grid: flat indexing `v = (k * nj + j) * ni + i` and voxel -> LPS.

use coxa_core::Grid;
use rayon::prelude::*;

/// A sub-box of a [`Grid`] with flat indexing and the voxel -> LPS map.
#[derive(Debug, Clone)]
pub(crate) struct Lattice {
    /// Voxels per axis, `[ni, nj, nk]`.
    pub dims: [usize; 3],
    /// Spacing per index axis, mm.
    pub spacing_mm: [f64; 3],
    /// Index of this box's voxel (0, 0, 0) in the full grid, `[i, j, k]`.
    pub offset: [usize; 3],
    /// LPS position of this box's voxel (0, 0, 0), mm.
    origin_lps_mm: [f64; 3],
    /// LPS step of one voxel along each index axis, mm (`steps[axis][xyz]`).
    steps: [[f64; 3]; 3],
}

impl Lattice {
    /// The box `lo..hi` (`[i, j, k]`, `hi` exclusive) of `grid`.
    pub fn crop(grid: &Grid, lo: [usize; 3], hi: [usize; 3]) -> Self {
        let s = grid.spacing_mm();
        let d = grid.direction();
        let mut steps = [[0.0; 3]; 3];
        for (a, step) in steps.iter_mut().enumerate() {
            for (x, c) in step.iter_mut().enumerate() {
                *c = d[(x, a)] * s[a];
            }
        }
        let o = grid.voxel_to_lps(nalgebra::Vector3::new(lo[0] as f64, lo[1] as f64, lo[2] as f64));
        Self { dims: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]], spacing_mm: [s[0], s[1], s[2]], offset: lo, origin_lps_mm: [o.x, o.y, o.z], steps }
    }

    /// An axis-aligned lattice at the origin (for tests).
    #[cfg(test)]
    pub fn test(dims: [usize; 3], spacing_mm: [f64; 3]) -> Self {
        let mut steps = [[0.0; 3]; 3];
        for a in 0..3 {
            steps[a][a] = spacing_mm[a];
        }
        Self { dims, spacing_mm, offset: [0; 3], origin_lps_mm: [0.0; 3], steps }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }
    /// Flat index of `(i, j, k)`.
    #[inline]
    pub fn idx(&self, i: usize, j: usize, k: usize) -> usize {
        (k * self.dims[1] + j) * self.dims[0] + i
    }
    /// `[i, j, k]` of flat index `v`.
    #[inline]
    pub fn ijk(&self, v: usize) -> [usize; 3] {
        let [ni, nj, _] = self.dims;
        [v % ni, (v / ni) % nj, v / (ni * nj)]
    }
    /// LPS position of voxel `v`, mm.
    #[inline]
    pub fn lps(&self, v: usize) -> [f64; 3] {
        let ijk = self.ijk(v);
        let mut p = self.origin_lps_mm;
        for (a, &n) in ijk.iter().enumerate() {
            for (x, c) in p.iter_mut().enumerate() {
                *c += n as f64 * self.steps[a][x];
            }
        }
        p
    }
    /// Continuous `[i, j, k]` of LPS point `p`, mm (the inverse of [`Lattice::lps`] for a grid
    /// with orthogonal axes, as CTs have).
    pub fn index_of(&self, p: [f64; 3]) -> [f64; 3] {
        let d = [p[0] - self.origin_lps_mm[0], p[1] - self.origin_lps_mm[1], p[2] - self.origin_lps_mm[2]];
        let mut x = [0.0; 3];
        for (a, xa) in x.iter_mut().enumerate() {
            let s = &self.steps[a];
            *xa = (d[0] * s[0] + d[1] * s[1] + d[2] * s[2]) / (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
        }
        x
    }
    /// Length of the box diagonal, mm (larger than any distance inside it).
    pub fn diagonal_mm(&self) -> f64 {
        (0..3).map(|a| (self.dims[a] as f64 * self.spacing_mm[a]).powi(2)).sum::<f64>().sqrt()
    }
    /// The index axis that runs closest to the patient's superior-inferior (LPS z) axis.
    pub fn axial_axis(&self) -> usize {
        (0..3).max_by(|&a, &b| (self.steps[a][2] / self.spacing_mm[a]).abs().total_cmp(&(self.steps[b][2] / self.spacing_mm[b]).abs())).unwrap_or(2)
    }
    /// Calls `f(w)` for every neighbour `w` of `v` in the box (26-connectivity when `full`, else 6).
    #[inline]
    pub fn for_neighbours(&self, v: usize, full: bool, mut f: impl FnMut(usize)) {
        let [i, j, k] = self.ijk(v);
        let [ni, nj, nk] = self.dims;
        if !full {
            if i > 0 {
                f(v - 1);
            }
            if i + 1 < ni {
                f(v + 1);
            }
            if j > 0 {
                f(v - ni);
            }
            if j + 1 < nj {
                f(v + ni);
            }
            if k > 0 {
                f(v - ni * nj);
            }
            if k + 1 < nk {
                f(v + ni * nj);
            }
            return;
        }
        let (k0, k1) = (k.saturating_sub(1), (k + 1).min(nk - 1));
        let (j0, j1) = (j.saturating_sub(1), (j + 1).min(nj - 1));
        let (i0, i1) = (i.saturating_sub(1), (i + 1).min(ni - 1));
        for kk in k0..=k1 {
            for jj in j0..=j1 {
                let row = (kk * nj + jj) * ni;
                for ii in i0..=i1 {
                    let w = row + ii;
                    if w != v {
                        f(w);
                    }
                }
            }
        }
    }
}

impl Lattice {
    /// The sub-box `lo..hi` (`[i, j, k]` in this lattice, `hi` exclusive).
    pub fn sub(&self, lo: [usize; 3], hi: [usize; 3]) -> Self {
        let mut origin = self.origin_lps_mm;
        for (n, step) in lo.iter().zip(&self.steps) {
            for (c, s) in origin.iter_mut().zip(step) {
                *c += *n as f64 * s;
            }
        }
        Self {
            dims: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]],
            spacing_mm: self.spacing_mm,
            offset: [self.offset[0] + lo[0], self.offset[1] + lo[1], self.offset[2] + lo[2]],
            origin_lps_mm: origin,
            steps: self.steps,
        }
    }

    /// Flat index in `parent` of this box's voxel `v` (this box a [`Lattice::sub`] of `parent`,
    /// or of a box inside it).
    #[inline]
    pub fn index_in(&self, parent: &Lattice, v: usize) -> usize {
        let [i, j, k] = self.ijk(v);
        parent.idx(i + self.offset[0] - parent.offset[0], j + self.offset[1] - parent.offset[1], k + self.offset[2] - parent.offset[2])
    }
}

/// Bounding box `[lo, hi)` of the voxels where `inside` holds, grown by `margin` and clipped.
pub(crate) fn bounding_box(lat: &Lattice, inside: impl Fn(usize) -> bool + Sync, margin: usize) -> ([usize; 3], [usize; 3]) {
    let (lo, hi) = (0..lat.len())
        .into_par_iter()
        .filter(|&v| inside(v))
        .fold(
            || ([usize::MAX; 3], [0usize; 3]),
            |(mut lo, mut hi), v| {
                let ijk = lat.ijk(v);
                for a in 0..3 {
                    lo[a] = lo[a].min(ijk[a]);
                    hi[a] = hi[a].max(ijk[a] + 1);
                }
                (lo, hi)
            },
        )
        .reduce(
            || ([usize::MAX; 3], [0usize; 3]),
            |(l1, h1), (l2, h2)| {
                let mut lo = l1;
                let mut hi = h1;
                for a in 0..3 {
                    lo[a] = lo[a].min(l2[a]);
                    hi[a] = hi[a].max(h2[a]);
                }
                (lo, hi)
            },
        );
    let mut l = [0; 3];
    let mut h = [0; 3];
    for a in 0..3 {
        l[a] = lo[a].saturating_sub(margin);
        h[a] = (hi[a] + margin).min(lat.dims[a]);
    }
    (l, h)
}

//! The working grid (issue 42): a CT finer than the segmentation needs is segmented on a coarser
//! grid, and its labels are carried back onto the CT's grid.
//!
//! The bone segmentation's smallest features (a femoral head's joint space, an ilium's cortex,
//! the sacroiliac seam) span some millimetres; a CT with 0.3 mm slices gives it ten times the
//! voxels (time and memory) and nothing it can use. Along each axis whose spacing `s` is at most
//! two thirds of [`SegmentOptions::working_voxel_mm`](super::SegmentOptions::working_voxel_mm)
//! `w`, `f = round(w / s)` voxels are merged into one (their mean HU); other axes are kept. The
//! coarse grid holds `floor(n / f)` voxels along such an axis, each the mean of its `f` CT
//! voxels; its centre is the mean of theirs, so it lies in the CT's frame exactly (same
//! direction, spacing `f s`). The last `n mod f` CT voxels join the last coarse voxel.
//!
//! Back on the CT's grid each voxel takes the label (and boundary distance) of the coarse voxel
//! it lies in. The bone surfaces are meshed from the coarse labels
//! ([`BoneSegmentation::working_labels`](super::BoneSegmentation::working_labels)): meshing the
//! carried-back labels would draw the coarse voxels' steps. Class counts and metal are counted
//! on the CT's grid, from its own HU.
//!
//! The mean over `f` voxels is a box filter: it lowers noise by `sqrt(f)` and blurs edges by less
//! than one coarse voxel, which the segmentation's own smoothing (a Gaussian of 0.7 voxel) and
//! closing (3 mm) exceed.

use coxa_core::{Grid, HuValue, LabelMap, Volume};

use super::{BoneSegmentation, SegmentError, SegmentOptions};
use nalgebra::Vector3;
use ndarray::Array3;
use rayon::prelude::*;

/// How a CT's grid is coarsened: voxels merged per axis, `[i, j, k]`, and the coarse grid.
#[derive(Debug, Clone)]
pub(super) struct Working {
    /// CT voxels per coarse voxel along each axis, `[fi, fj, fk]`.
    pub factors: [usize; 3],
    /// The coarse grid.
    pub grid: Grid,
}

impl Working {
    /// The working grid of `grid` for a working voxel of `w` mm, or `None` when no axis is fine
    /// enough to merge (the CT is segmented on its own grid).
    pub fn of(grid: &Grid, w: f64) -> Option<Self> {
        let s = grid.spacing_mm();
        let size = grid.size();
        let mut factors = [1usize; 3];
        for a in 0..3 {
            if s[a] > 0.0 && s[a] <= w * 2.0 / 3.0 {
                // At least 3 coarse voxels remain, as the segmentation needs.
                factors[a] = ((w / s[a]).round() as usize).clamp(1, (size[a] / 3).max(1));
            }
        }
        if factors == [1; 3] {
            return None;
        }
        let coarse_size = [size[0] / factors[0], size[1] / factors[1], size[2] / factors[2]];
        let spacing = Vector3::new(s[0] * factors[0] as f64, s[1] * factors[1] as f64, s[2] * factors[2] as f64);
        // The first coarse voxel's centre: the mean of its CT voxels' centres.
        let first = Vector3::new((factors[0] - 1) as f64 / 2.0, (factors[1] - 1) as f64 / 2.0, (factors[2] - 1) as f64 / 2.0);
        let origin = grid.voxel_to_lps(first).coords;
        let grid = Grid::new(coarse_size, spacing, origin, grid.direction()).ok()?;
        Some(Self { factors, grid })
    }

    /// The coarse voxel index along axis `a` of CT voxel index `n`.
    #[inline]
    fn coarse(&self, a: usize, n: usize) -> usize {
        (n / self.factors[a]).min(self.grid.size()[a] - 1)
    }

    /// The coarse CT: each voxel the mean HU of the CT voxels it merges (`flat` in `[k, j, i]`
    /// order on the CT's grid of `size`).
    pub fn mean_hu<T: HuValue>(&self, size: [usize; 3], flat: &[T]) -> Volume {
        let [ci, cj, ck] = self.grid.size();
        let [fi, fj, fk] = self.factors;
        let (ni, nj) = (size[0], size[1]);
        let w = 1.0 / (fi * fj * fk) as f32;
        let mut out = vec![0.0f32; ck * cj * ci];
        out.par_chunks_mut(ci * cj).enumerate().for_each(|(k, plane)| {
            for j in 0..cj {
                for i in 0..ci {
                    let mut sum = 0.0f32;
                    for kk in k * fk..(k + 1) * fk {
                        for jj in j * fj..(j + 1) * fj {
                            let row = (kk * nj + jj) * ni;
                            sum += flat[row + i * fi..row + (i + 1) * fi].iter().map(|&v| v.hu_f32()).sum::<f32>();
                        }
                    }
                    plane[j * ci + i] = sum * w;
                }
            }
        });
        let out = Array3::from_shape_vec([ck, cj, ci], out).unwrap_or_else(|_| unreachable!("ck * cj * ci values"));
        // The grid's size and the array's shape agree by construction.
        Volume::new(self.grid.clone(), out).unwrap_or_else(|_| unreachable!("the coarse array has the coarse grid's shape"))
    }

    /// `coarse` (on the working grid) carried onto `fine` (the CT's grid): each CT voxel takes
    /// the value of the coarse voxel it lies in.
    pub fn carry_back<T: Copy + Default + Send + Sync>(&self, coarse: &Array3<T>, fine: &Grid) -> Array3<T> {
        let [ni, nj, nk] = fine.size();
        let mut out = vec![T::default(); nk * nj * ni];
        let ci: Vec<usize> = (0..ni).map(|i| self.coarse(0, i)).collect();
        out.par_chunks_mut(ni * nj).enumerate().for_each(|(k, plane)| {
            let ck = self.coarse(2, k);
            for j in 0..nj {
                let cj = self.coarse(1, j);
                for i in 0..ni {
                    plane[j * ni + i] = coarse[[ck, cj, ci[i]]];
                }
            }
        });
        Array3::from_shape_vec([nk, nj, ni], out).unwrap_or_else(|_| unreachable!("nk * nj * ni values"))
    }
}

/// Voxels of each label id in `map` and the metal among them (`hu >= t_metal`, `flat` on the
/// map's grid): `(voxels, metal)` indexed by label id; index 0 (the background) counts every
/// metal voxel of the volume, in one pass.
pub(super) fn count_on<T: HuValue>(map: &LabelMap, flat: &[T], t_metal: f32) -> Vec<(usize, usize)> {
    let labels = map.labels();
    let slice = labels.as_slice().unwrap_or_default();
    slice
        .par_iter()
        .zip(flat.par_iter())
        .fold(
            || vec![(0usize, 0usize); 256],
            |mut acc, (&l, &v)| {
                let metal = v.hu_f32() >= t_metal;
                acc[0].1 += usize::from(metal);
                if l != 0 && usize::from(l) < acc.len() {
                    acc[usize::from(l)].0 += 1;
                    acc[usize::from(l)].1 += usize::from(metal);
                }
                acc
            },
        )
        .reduce(
            || vec![(0, 0); 256],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    x.0 += y.0;
                    x.1 += y.1;
                }
                a
            },
        )
}

/// [`segment_bones`](super::segment_bones) of the CT `flat` (on `grid`) on the working grid `w`:
/// the coarse CT segmented, its labels and boundary distances carried back, classes and metal
/// counted on the CT's grid.
pub(super) fn segment<T: HuValue>(w: &Working, grid: &Grid, flat: &[T], opts: &SegmentOptions) -> Result<BoneSegmentation, SegmentError> {
    let coarse = w.mean_hu(grid.size(), flat);
    let coarse_flat = match coarse.voxels() {
        coxa_core::Voxels::F32(a) => a.as_slice().unwrap_or_default(),
        coxa_core::Voxels::I16(_) => unreachable!("the coarse CT is built as f32"),
    };
    let mut seg = super::segment_flat(&w.grid, coarse_flat, opts)?;
    drop(coarse);
    let fine = w.carry_back(seg.labels.labels(), grid);
    let classes = seg.labels.classes().clone();
    let working = std::mem::replace(&mut seg.labels, LabelMap::new(grid.clone(), fine, classes).map_err(|source| SegmentError::Geometry { source })?);
    seg.boundary_distance_mm = seg.boundary_distance_mm.map(|u| w.carry_back(&u, grid));
    let voxel_mm3: f64 = grid.spacing_mm().iter().product();
    let counted = count_on(&seg.labels, flat, opts.metal_threshold_hu);
    for c in &mut seg.counts {
        let (voxels, metal) = counted.get(c.id as usize).copied().unwrap_or_default();
        c.voxels = voxels;
        c.volume_mm3 = voxels as f64 * voxel_mm3;
        c.metal_voxels = metal;
    }
    seg.metal_voxels = counted[0].1;
    seg.working_labels = Some(working);
    Ok(seg)
}

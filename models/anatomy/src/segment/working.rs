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
//! A CT interpolated from a coarser series (the `knots` module) is worked on along each
//! interpolated axis at the series' own voxels, recovered from the interpolation, when they are
//! coarser than the merge: the fine voxels between them hold nothing the series does not, so
//! the segmentation sees the series itself. Back on the CT's grid each voxel takes the label of
//! the nearest knot. Such a CT is named in the warnings.
//!
//! The mean over `f` voxels is a box filter: it lowers noise by `sqrt(f)` and blurs edges by less
//! than one coarse voxel, which the segmentation's own smoothing (a Gaussian of 0.7 voxel) and
//! closing (3 mm) exceed.

use coxa_core::{Grid, HuValue, LabelMap, Volume};

use super::knots::{self, Knots};
use super::{BoneSegmentation, SegmentError, SegmentOptions};
use nalgebra::Vector3;
use ndarray::Array3;
use rayon::prelude::*;

/// How one axis of the CT maps onto the working grid.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum AxisMap {
    /// Kept as it is.
    Keep,
    /// `f` voxels merged into one (their mean).
    Merge(usize),
    /// The knots of an interpolated CT (the `knots` module).
    Knots(Knots),
}

/// How a CT's grid is coarsened: each axis's map and the coarse grid.
#[derive(Debug, Clone)]
pub(super) struct Working {
    /// The map of each axis, `[i, j, k]`.
    pub axes: [AxisMap; 3],
    /// The coarse grid.
    pub grid: Grid,
    /// Each CT voxel's coarse voxel, per axis.
    index: [Vec<usize>; 3],
}

impl Working {
    /// The working grid of the CT `flat` on `grid` for a working voxel of `w` mm, or `None` when
    /// no axis is fine enough to merge and none is interpolated (the CT is segmented on its own
    /// grid). `w = 0` always gives `None`; `source_grid` false looks for no knots.
    pub fn of<T: HuValue>(grid: &Grid, flat: &[T], w: f64, source_grid: bool) -> Option<Self> {
        if w <= 0.0 {
            return None;
        }
        let s = grid.spacing_mm();
        let size = grid.size();
        let mut axes = [AxisMap::Keep, AxisMap::Keep, AxisMap::Keep];
        for (a, map) in axes.iter_mut().enumerate() {
            let mut factor = 1usize;
            if s[a] > 0.0 && s[a] <= w * 2.0 / 3.0 {
                // At least 3 coarse voxels remain, as the segmentation needs.
                factor = ((w / s[a]).round() as usize).clamp(1, (size[a] / 3).max(1));
            }
            *map = match source_grid.then(|| knots::find(flat, size, a)).flatten() {
                // The knots, when they are coarser than the merge would be: the fine voxels
                // between them hold nothing.
                Some(k) if k.step > factor as f64 && k.count >= 3 => AxisMap::Knots(k),
                _ if factor > 1 => AxisMap::Merge(factor),
                _ => AxisMap::Keep,
            };
        }
        if axes.iter().all(|m| *m == AxisMap::Keep) {
            return None;
        }
        let mut coarse_size = size;
        let mut spacing = s;
        let mut first = Vector3::zeros();
        let index: [Vec<usize>; 3] = std::array::from_fn(|a| match &axes[a] {
            AxisMap::Keep => (0..size[a]).collect(),
            AxisMap::Merge(f) => {
                coarse_size[a] = size[a] / f;
                spacing[a] = s[a] * *f as f64;
                // The first coarse voxel's centre: the mean of its CT voxels' centres.
                first[a] = (f - 1) as f64 / 2.0;
                (0..size[a]).map(|n| (n / f).min(coarse_size[a] - 1)).collect()
            }
            AxisMap::Knots(k) => {
                coarse_size[a] = k.count;
                spacing[a] = s[a] * k.step;
                first[a] = k.first;
                (0..size[a]).map(|n| k.nearest(n)).collect()
            }
        });
        let origin = grid.voxel_to_lps(first).coords;
        let grid = Grid::new(coarse_size, spacing, origin, grid.direction()).ok()?;
        Some(Self { axes, grid, index })
    }

    /// The interpolated axes' source spacing, mm, `[i, j, k]` (`None` where an axis is not
    /// interpolated).
    pub fn knot_spacing_mm(&self) -> Option<[Option<f64>; 3]> {
        let s = self.grid.spacing_mm();
        let out: [Option<f64>; 3] = std::array::from_fn(|a| matches!(self.axes[a], AxisMap::Knots(_)).then_some(s[a]));
        out.iter().any(Option::is_some).then_some(out)
    }

    /// The coarse CT: each voxel the mean HU of the CT voxels it merges, or a knot's recovered
    /// value (`flat` in `[k, j, i]` order on the CT's grid of `size`).
    pub fn mean_hu<T: HuValue>(&self, size: [usize; 3], flat: &[T]) -> Volume {
        let values = if self.axes.iter().any(|m| matches!(m, AxisMap::Knots(_))) { self.by_axes(size, flat) } else { self.box_mean(size, flat) };
        let [ci, cj, ck] = self.grid.size();
        let out = Array3::from_shape_vec([ck, cj, ci], values).unwrap_or_else(|_| unreachable!("ck * cj * ci values"));
        // The grid's size and the array's shape agree by construction.
        Volume::new(self.grid.clone(), out).unwrap_or_else(|_| unreachable!("the coarse array has the coarse grid's shape"))
    }

    /// Merged voxels only: the mean of each block, in one pass.
    fn box_mean<T: HuValue>(&self, size: [usize; 3], flat: &[T]) -> Vec<f32> {
        let [ci, cj, ck] = self.grid.size();
        // Only merged and kept axes here (no knots).
        let [fi, fj, fk] = std::array::from_fn(|a| if let AxisMap::Merge(f) = self.axes[a] { f } else { 1 });
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
        out
    }

    /// Each axis's linear map applied in turn (`k`, `j`, `i`): a knot axis's recovery, a merged
    /// axis's mean. An integer CT's source was integer HU: the recovered values are rounded, after
    /// undoing a truncating conversion (`knots::truncated`) where the CT shows one, unless every
    /// knot lies on a voxel (whose integer value truncation left as it was).
    fn by_axes<T: HuValue>(&self, size: [usize; 3], flat: &[T]) -> Vec<f32> {
        let integer = std::any::TypeId::of::<T>() == std::any::TypeId::of::<i16>();
        let on_voxels = self.axes.iter().all(|m| match m {
            AxisMap::Knots(k) => k.on_voxels(),
            AxisMap::Keep => true,
            AxisMap::Merge(_) => false,
        });
        let truncated = integer && !on_voxels && knots::truncated(flat);
        let read = |v: T| {
            let v = v.hu_f32();
            if truncated { v + 0.5 * v.signum() * f32::from(v != 0.0) } else { v }
        };
        let mut current: Option<(Vec<f32>, [usize; 3])> = None;
        for a in [2, 1, 0] {
            let n = size[a];
            let taps: Vec<Vec<(usize, f32)>> = match &self.axes[a] {
                AxisMap::Keep => continue,
                AxisMap::Merge(f) => (0..n / f).map(|c| (c * f..(c + 1) * f).map(|n| (n, 1.0 / *f as f32)).collect()).collect(),
                AxisMap::Knots(k) => k.taps(n),
            };
            current = Some(match &current {
                None => knots::apply(flat, size, a, &taps, read),
                Some((values, sz)) => knots::apply(values, *sz, a, &taps, |v| v),
            });
        }
        let mut values = current.map(|(v, _)| v).unwrap_or_else(|| flat.iter().map(|&v| read(v)).collect());
        if integer {
            values.par_iter_mut().for_each(|v| *v = v.round());
        }
        values
    }

    /// `coarse` (on the working grid) carried onto `fine` (the CT's grid): each CT voxel takes
    /// the value of the coarse voxel it lies in (a knot axis: the nearest knot).
    pub fn carry_back<T: Copy + Default + Send + Sync>(&self, coarse: &Array3<T>, fine: &Grid) -> Array3<T> {
        let [ni, nj, nk] = fine.size();
        let mut out = vec![T::default(); nk * nj * ni];
        let [ci, cj, ck] = &self.index;
        out.par_chunks_mut(ni * nj).enumerate().for_each(|(k, plane)| {
            let ck = ck[k];
            for j in 0..nj {
                let cj = cj[j];
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
    if let Some(spacing) = w.knot_spacing_mm() {
        let axes: Vec<String> = ["i", "j", "k"].iter().zip(spacing).filter_map(|(name, s)| s.map(|s| format!("{name} {s:.2} mm"))).collect();
        seg.warnings.push(format!(
            "the CT was interpolated from a coarser series ({}): its finer voxels hold nothing more, so the bones were segmented \
             on that series' grid; what it does not resolve (a joint space of one such voxel) stays unresolved",
            axes.join(", ")
        ));
    }
    Ok(seg)
}

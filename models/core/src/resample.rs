//! Resampling onto another voxel spacing: trilinear for HU, nearest neighbour for labels.

use nalgebra::Vector3;
use ndarray::Array3;

use crate::{Error, Grid, LabelMap, Result, Volume};

/// Most voxels a resampled volume or label map may have (issue 16): 2^30, 4 GiB of f32 HU.
/// A CT of 512 x 512 x 2000 slices resampled to 1 mm is about 0.4 G voxels; a spacing far finer
/// than the source's (a typo, or a model card's 0.001 mm) would ask for terabytes, so the size
/// is checked before anything is allocated.
pub const MAX_RESAMPLED_VOXELS: u64 = 1 << 30;

/// The grid covering the same extent as `grid` with voxels of `spacing_mm`: same origin and
/// direction, `floor(extent / spacing) + 1` voxels per axis, extent = (size - 1) * old spacing.
///
/// # Errors
/// An invalid spacing ([`Error::InvalidSpacing`]), or a grid of more than
/// [`MAX_RESAMPLED_VOXELS`] ([`Error::TooLarge`], before anything is allocated).
pub fn grid_with_spacing(grid: &Grid, spacing_mm: Vector3<f64>) -> Result<Grid> {
    let old = grid.spacing_mm();
    let size = grid.size();
    if spacing_mm.iter().any(|s| !s.is_finite() || *s <= 0.0) {
        return Err(Error::InvalidSpacing { spacing_mm: spacing_mm.into() });
    }
    let mut new_size = [0usize; 3];
    let mut count: f64 = 1.0;
    for a in 0..3 {
        let extent = (size[a] - 1) as f64 * old[a];
        let n = (extent / spacing_mm[a] + 1e-9).floor() + 1.0;
        count *= n;
        new_size[a] = n.min(u64::MAX as f64) as usize;
    }
    if count > MAX_RESAMPLED_VOXELS as f64 {
        return Err(Error::TooLarge {
            what: format!("resampling the {size:?} grid at {:?} mm to {:?} mm", old.as_slice(), spacing_mm.as_slice()),
            count: count as u64,
            unit: "voxels",
            limit: MAX_RESAMPLED_VOXELS,
            fix: "choose a coarser spacing (or crop the volume first)".into(),
        });
    }
    Grid::new(new_size, spacing_mm, grid.origin_lps_mm(), grid.direction())
}

/// Continuous source index of target voxel `(i, j, k)` along one axis: same origin and
/// direction, so only the spacing ratio matters.
fn source_coords(n_new: usize, ratio: f64) -> Vec<(usize, usize, f32)> {
    (0..n_new)
        .map(|i| {
            let x = i as f64 * ratio;
            let i0 = x.floor() as usize;
            (i0, i0 + 1, (x - i0 as f64) as f32)
        })
        .collect()
}

impl Volume {
    /// This volume resampled to `spacing_mm` by trilinear interpolation, over the same extent
    /// (see [`grid_with_spacing`]).
    pub fn resampled(&self, spacing_mm: Vector3<f64>) -> Result<Volume> {
        let grid = grid_with_spacing(self.grid(), spacing_mm)?;
        let [ni, nj, nk] = grid.size();
        let old = self.grid().spacing_mm();
        let (ci, cj, ck) = (source_coords(ni, spacing_mm[0] / old[0]), source_coords(nj, spacing_mm[1] / old[1]), source_coords(nk, spacing_mm[2] / old[2]));
        fn trilinear<T: crate::HuValue>(hu: &Array3<T>, n: [usize; 3], c: [&[(usize, usize, f32)]; 3]) -> Array3<f32> {
            let [ni, nj, nk] = n;
            let [ci, cj, ck] = c;
            let (sk, sj, si) = hu.dim();
            let at = |k: usize, j: usize, i: usize| -> f32 { hu[[k.min(sk - 1), j.min(sj - 1), i.min(si - 1)]].hu_f32() };
            Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
                let ((k0, k1, fk), (j0, j1, fj), (i0, i1, fi)) = (ck[k], cj[j], ci[i]);
                let lerp = |a: f32, b: f32, t: f32| if t == 0.0 { a } else { a + (b - a) * t };
                let plane = |kk: usize| lerp(lerp(at(kk, j0, i0), at(kk, j0, i1), fi), lerp(at(kk, j1, i0), at(kk, j1, i1), fi), fj);
                lerp(plane(k0), if fk == 0.0 { 0.0 } else { plane(k1) }, fk)
            })
        }
        let out = crate::with_hu!(self, |a| trilinear(a, [ni, nj, nk], [&ci, &cj, &ck]));
        Volume::new(grid, out)
    }
}

impl LabelMap {
    /// This label map resampled to `spacing_mm` by nearest neighbour, over the same extent.
    pub fn resampled(&self, spacing_mm: Vector3<f64>) -> Result<LabelMap> {
        let grid = grid_with_spacing(self.grid(), spacing_mm)?;
        let [ni, nj, nk] = grid.size();
        let [si, sj, sk] = self.grid().size();
        let old = self.grid().spacing_mm();
        let near = |n: usize, ratio: f64, max: usize| -> Vec<usize> { (0..n).map(|i| ((i as f64 * ratio).round() as usize).min(max - 1)).collect() };
        let (ii, jj, kk) = (near(ni, spacing_mm[0] / old[0], si), near(nj, spacing_mm[1] / old[1], sj), near(nk, spacing_mm[2] / old[2], sk));
        let l = self.labels();
        let out = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| l[[kk[k], jj[j], ii[i]]]);
        LabelMap::new(grid, out, self.classes().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClassTable;
    use approx::assert_relative_eq;

    #[test]
    fn trilinear_is_exact_on_a_linear_field_and_keeps_the_extent() {
        let rot = nalgebra::Rotation3::from_euler_angles(0.1, 0.2, -0.3);
        let g = Grid::new([11, 9, 7], Vector3::new(1.5, 2.0, 3.0), Vector3::new(10.0, -5.0, 2.0), *rot.matrix()).unwrap();
        let f = |p: nalgebra::Point3<f64>| (2.0 * p.x - 3.0 * p.y + 0.5 * p.z) as f32;
        let hu = Array3::from_shape_fn((7, 9, 11), |(k, j, i)| f(g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64))));
        let v = Volume::new(g.clone(), hu).unwrap();
        let r = v.resampled(Vector3::new(1.0, 1.0, 1.0)).unwrap();
        assert_eq!(r.grid().size(), [16, 17, 19]); // 15 mm, 16 mm, 18 mm extents at 1 mm
        assert_relative_eq!(r.grid().origin_lps_mm(), g.origin_lps_mm());
        for ((k, j, i), val) in r.hu().indexed_iter() {
            let want = f(r.grid().voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)));
            assert!((val - want).abs() < 1e-3, "({i},{j},{k}): {val} vs {want}");
        }
    }

    /// Issue 16: a spacing far finer than the source's is refused before allocating, naming the
    /// budget and the fix; the same volume at a sane spacing resamples.
    #[test]
    fn a_resampled_grid_over_the_budget_is_refused_before_allocating() {
        let g = Grid::axis_aligned([512, 512, 300], Vector3::new(0.8, 0.8, 1.0), Vector3::zeros()).unwrap();
        let e = grid_with_spacing(&g, Vector3::new(0.01, 0.01, 0.01)).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::TooLarge { limit, .. } if limit == MAX_RESAMPLED_VOXELS), "{text}");
        assert!(text.starts_with("resampling the [512, 512, 300] grid at [0.8, 0.8, 1.0] mm to [0.01, 0.01, 0.01] mm would have"), "{text}");
        assert!(text.ends_with(&format!("more than the budget of {MAX_RESAMPLED_VOXELS}; choose a coarser spacing (or crop the volume first)")), "{text}");
        assert_eq!(grid_with_spacing(&g, Vector3::new(1.0, 1.0, 1.0)).unwrap().size(), [409, 409, 300]);
        // A spacing of 1e-300 overflows every count; still an error, not a panic or a wrap.
        assert!(matches!(grid_with_spacing(&g, Vector3::new(1e-300, 1.0, 1.0)), Err(Error::TooLarge { .. })));
        assert!(matches!(grid_with_spacing(&g, Vector3::new(0.0, 1.0, 1.0)), Err(Error::InvalidSpacing { .. })));
        // Through the volume's own method: nothing is allocated before the refusal.
        let v = Volume::new(Grid::axis_aligned([64, 64, 64], Vector3::new(1.0, 1.0, 1.0), Vector3::zeros()).unwrap(), Array3::zeros((64, 64, 64))).unwrap();
        assert!(matches!(v.resampled(Vector3::new(0.01, 0.01, 0.01)), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn nearest_neighbour_keeps_label_values() {
        let g = Grid::axis_aligned([4, 1, 1], Vector3::new(3.0, 1.0, 1.0), Vector3::zeros()).unwrap();
        let m = LabelMap::new(g, Array3::from_shape_vec((1, 1, 4), vec![0, 75, 76, 77]).unwrap(), ClassTable::new()).unwrap();
        let r = m.resampled(Vector3::new(1.0, 1.0, 1.0)).unwrap();
        // x = 0..9 mm: nearest of 0, 3, 6, 9 mm (ties round away from zero).
        assert_eq!(r.labels().iter().copied().collect::<Vec<_>>(), vec![0, 0, 75, 75, 75, 76, 76, 76, 77, 77]);
    }
}

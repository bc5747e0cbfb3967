//! CT volumes: Hounsfield units on a voxel grid.

use ndarray::Array3;

use crate::{Error, Grid, Result};

/// A CT volume: Hounsfield units (after the modality LUT) on a [`Grid`].
///
/// The array is indexed `[k, j, i]` (see the crate docs). HU are stored as `f32`, which holds
/// every 16-bit stored value times an integer slope exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    grid: Grid,
    hu: Array3<f32>,
}

/// Summary statistics of a volume's voxel values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HuStats {
    /// Smallest value, HU.
    pub min_hu: f64,
    /// Largest value, HU.
    pub max_hu: f64,
    /// Sum over all voxels, HU (accumulated in `f64`).
    pub sum_hu: f64,
    /// Mean value, HU.
    pub mean_hu: f64,
}

impl Volume {
    /// A volume from a grid and an array of shape `grid.shape_kji()`.
    pub fn new(grid: Grid, hu: Array3<f32>) -> Result<Self> {
        check_shape(&grid, hu.shape())?;
        Ok(Self { grid, hu })
    }
    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }
    /// The HU array, indexed `[k, j, i]`.
    pub fn hu(&self) -> &Array3<f32> {
        &self.hu
    }
    /// The HU array, mutable (the grid stays fixed).
    pub fn hu_mut(&mut self) -> &mut Array3<f32> {
        &mut self.hu
    }
    /// Splits into grid and array.
    pub fn into_parts(self) -> (Grid, Array3<f32>) {
        (self.grid, self.hu)
    }
    /// HU at integer voxel `(i, j, k)`, or `None` outside the grid.
    pub fn get(&self, i: usize, j: usize, k: usize) -> Option<f32> {
        self.hu.get([k, j, i]).copied()
    }
    /// Minimum, maximum, sum and mean of the voxel values. NaN voxels are counted in neither.
    pub fn stats(&self) -> HuStats {
        let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0usize);
        for &v in self.hu.iter() {
            let v = f64::from(v);
            if v.is_nan() {
                continue;
            }
            min = min.min(v);
            max = max.max(v);
            sum += v;
            n += 1;
        }
        HuStats { min_hu: min, max_hu: max, sum_hu: sum, mean_hu: if n > 0 { sum / n as f64 } else { f64::NAN } }
    }
}

pub(crate) fn check_shape(grid: &Grid, shape: &[usize]) -> Result<()> {
    let want = grid.shape_kji();
    if shape != want {
        let mut array_shape = [0; 3];
        for (a, s) in array_shape.iter_mut().zip(shape) {
            *a = *s;
        }
        return Err(Error::ShapeMismatch { array_shape, size: grid.size() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    #[test]
    fn shape_must_match_grid() {
        let g = Grid::axis_aligned([4, 3, 2], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        assert!(Volume::new(g.clone(), Array3::zeros((2, 3, 4))).is_ok());
        assert!(matches!(Volume::new(g, Array3::zeros((4, 3, 2))), Err(Error::ShapeMismatch { .. })));
    }

    #[test]
    fn stats_are_exact_on_small_integers() {
        let g = Grid::axis_aligned([2, 2, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        let v = Volume::new(g, Array3::from_shape_vec((1, 2, 2), vec![-1000.0, 0.0, 40.0, 1500.0]).unwrap()).unwrap();
        let s = v.stats();
        assert_eq!((s.min_hu, s.max_hu, s.sum_hu, s.mean_hu), (-1000.0, 1500.0, 540.0, 135.0));
        assert_eq!(v.get(1, 1, 0), Some(1500.0));
        assert_eq!(v.get(2, 0, 0), None);
    }
}

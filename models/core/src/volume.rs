//! CT volumes: Hounsfield units on a voxel grid.

use std::borrow::Cow;

use ndarray::Array3;

use crate::{Error, Grid, Result};

/// A CT volume: Hounsfield units (after the modality LUT) on a [`Grid`].
///
/// The array is indexed `[k, j, i]` (see the crate docs). The values are kept in the type they
/// came in where that type holds them exactly ([`Voxels`]): a CT whose stored values and integer
/// rescale give HU within the 16-bit range is kept as `i16` (half the memory of `f32`), anything
/// else (a fractional slope, float data, results of a computation) as `f32`, which holds every
/// 16-bit stored value times an integer slope exactly. Both give the same HU as `f32`:
/// [`Volume::hu`] converts an `i16` volume on the fly; code on a hot path matches on
/// [`Volume::voxels`] and runs generic over [`HuValue`], with no copy.
///
/// Equality compares the grid and the HU values, whatever the storage.
#[derive(Debug, Clone)]
pub struct Volume {
    grid: Grid,
    voxels: Voxels,
}

/// How a [`Volume`]'s HU are stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Voxels {
    /// Integer HU within -32768..=32767: a CT as the scanner stores it (2 bytes a voxel).
    I16(Array3<i16>),
    /// Any HU (4 bytes a voxel).
    F32(Array3<f32>),
}

/// A type a volume's HU are stored in: `i16` or `f32`, read as `f32` exactly.
pub trait HuValue: Copy + Send + Sync + Into<f32> + 'static {
    /// The value in HU as `f32` (exact).
    fn hu_f32(self) -> f32;
}
impl HuValue for i16 {
    #[inline]
    fn hu_f32(self) -> f32 {
        f32::from(self)
    }
}
impl HuValue for f32 {
    #[inline]
    fn hu_f32(self) -> f32 {
        self
    }
}

/// Calls `$body` with `$a` bound to the volume's array, whatever its element type (generic code
/// over [`HuValue`]).
#[macro_export]
macro_rules! with_hu {
    ($vol:expr, |$a:ident| $body:expr) => {
        match $vol.voxels() {
            $crate::Voxels::I16($a) => $body,
            $crate::Voxels::F32($a) => $body,
        }
    };
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
    /// A volume from a grid and an `f32` array of shape `grid.shape_kji()`.
    pub fn new(grid: Grid, hu: Array3<f32>) -> Result<Self> {
        Self::from_voxels(grid, Voxels::F32(hu))
    }
    /// A volume from a grid and an `i16` array of shape `grid.shape_kji()` (integer HU).
    pub fn from_i16(grid: Grid, hu: Array3<i16>) -> Result<Self> {
        Self::from_voxels(grid, Voxels::I16(hu))
    }
    /// A volume from a grid and its stored voxels.
    pub fn from_voxels(grid: Grid, voxels: Voxels) -> Result<Self> {
        let shape = match &voxels {
            Voxels::I16(a) => a.shape(),
            Voxels::F32(a) => a.shape(),
        };
        check_shape(&grid, shape)?;
        Ok(Self { grid, voxels })
    }
    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }
    /// The stored voxels, in their own type.
    pub fn voxels(&self) -> &Voxels {
        &self.voxels
    }
    /// Bytes a voxel takes in memory: 2 for `i16`, 4 for `f32`.
    pub fn bytes_per_voxel(&self) -> usize {
        match &self.voxels {
            Voxels::I16(_) => 2,
            Voxels::F32(_) => 4,
        }
    }
    /// The HU array as `f32`, indexed `[k, j, i]`: borrowed for an `f32` volume, a converted copy
    /// for an `i16` one (4 bytes a voxel; on a hot path match on [`Volume::voxels`] instead).
    pub fn hu(&self) -> Cow<'_, Array3<f32>> {
        match &self.voxels {
            Voxels::F32(a) => Cow::Borrowed(a),
            Voxels::I16(a) => Cow::Owned(a.mapv(f32::from)),
        }
    }
    /// The HU array, mutable (the grid stays fixed); an `i16` volume becomes `f32` first.
    pub fn hu_mut(&mut self) -> &mut Array3<f32> {
        if let Voxels::I16(a) = &self.voxels {
            self.voxels = Voxels::F32(a.mapv(f32::from));
        }
        match &mut self.voxels {
            Voxels::F32(a) => a,
            Voxels::I16(_) => unreachable!("converted above"),
        }
    }
    /// Splits into grid and `f32` array (an `i16` volume is converted).
    pub fn into_parts(self) -> (Grid, Array3<f32>) {
        let hu = match self.voxels {
            Voxels::F32(a) => a,
            Voxels::I16(a) => a.mapv(f32::from),
        };
        (self.grid, hu)
    }
    /// Splits into grid and stored voxels.
    pub fn into_voxels(self) -> (Grid, Voxels) {
        (self.grid, self.voxels)
    }
    /// HU at integer voxel `(i, j, k)`, or `None` outside the grid.
    pub fn get(&self, i: usize, j: usize, k: usize) -> Option<f32> {
        with_hu!(self, |a| a.get([k, j, i]).map(|&v| v.hu_f32()))
    }
    /// HU at voxel `[k, j, i]` (array order). Panics outside the grid, as indexing does.
    #[inline]
    pub fn hu_at(&self, kji: [usize; 3]) -> f32 {
        with_hu!(self, |a| a[kji].hu_f32())
    }
    /// How many voxels are NaN and how many infinite: `(nan, infinite)`. An `i16` volume has
    /// none; an `f32` one (a float NIfTI or NRRD, a computed image) may, and such voxels hold no
    /// HU: readers refuse them and the stages that take a volume from a caller check them.
    pub fn non_finite_counts(&self) -> (usize, usize) {
        match &self.voxels {
            Voxels::I16(_) => (0, 0),
            Voxels::F32(a) => a.iter().filter(|v| !v.is_finite()).fold((0, 0), |(nan, inf), v| if v.is_nan() { (nan + 1, inf) } else { (nan, inf + 1) }),
        }
    }
    /// Minimum, maximum, sum and mean of the voxel values. NaN voxels are counted in neither.
    pub fn stats(&self) -> HuStats {
        fn of<T: HuValue>(a: &Array3<T>) -> HuStats {
            let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0usize);
            for &v in a.iter() {
                let v = f64::from(v.hu_f32());
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
        with_hu!(self, |a| of(a))
    }
}

impl PartialEq for Volume {
    fn eq(&self, other: &Self) -> bool {
        self.grid == other.grid
            && match (&self.voxels, &other.voxels) {
                (Voxels::I16(a), Voxels::I16(b)) => a == b,
                (Voxels::F32(a), Voxels::F32(b)) => a == b,
                (Voxels::I16(a), Voxels::F32(b)) | (Voxels::F32(b), Voxels::I16(a)) => a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(&x, &y)| f32::from(x) == y),
            }
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

    #[test]
    fn an_i16_volume_reads_as_the_same_hu() {
        let g = Grid::axis_aligned([3, 2, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
        let ints = Array3::from_shape_vec((1, 2, 3), vec![-1024i16, -1, 0, 40, 3071, i16::MAX]).unwrap();
        let a = Volume::from_i16(g.clone(), ints.clone()).unwrap();
        let b = Volume::new(g.clone(), ints.mapv(f32::from)).unwrap();
        assert_eq!((a.bytes_per_voxel(), b.bytes_per_voxel()), (2, 4));
        assert_eq!(a, b);
        assert_eq!(*a.hu(), *b.hu());
        assert_eq!(a.stats(), b.stats());
        assert_eq!(a.get(1, 1, 0), Some(3071.0));
        assert_eq!(a.hu_at([0, 1, 1]), 3071.0);
        let mut c = Volume::new(g.clone(), ints.mapv(f32::from) + 0.5).unwrap();
        assert_ne!(a, c);
        c.hu_mut().mapv_inplace(|v| v - 0.5);
        assert_eq!(a, c);
        let mut d = a.clone();
        d.hu_mut()[[0, 0, 0]] = 0.25;
        assert_eq!(d.bytes_per_voxel(), 4);
        assert_eq!(d.get(0, 0, 0), Some(0.25));
        assert!(Volume::from_i16(g, Array3::zeros((2, 2, 2))).is_err());
    }
}

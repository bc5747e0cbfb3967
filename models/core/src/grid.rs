//! Voxel grid geometry: which patient point each voxel centre sits at.

use nalgebra::{Matrix3, Matrix4, Point3, Vector3};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Tolerance on `D^T D - I` for a direction matrix to count as orthonormal. Direction cosines in
/// DICOM files are often written with 6 decimals, so this is looser than machine precision.
const ORTHONORMAL_TOL: f64 = 1e-4;

/// The geometry of a voxel grid in the DICOM patient frame (LPS, mm), as ITK and SimpleITK
/// define it: the centre of voxel `(i, j, k)` is at
///
/// `p = origin + D * diag(spacing) * (i, j, k)`
///
/// where column `c` of the direction matrix `D` is the unit vector of index axis `c` in LPS.
/// For a DICOM slice, column 0 is the row direction (ImageOrientationPatient[0..3], the way `i`
/// runs along a row), column 1 the column direction, column 2 the slice stacking direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    size: [usize; 3],
    spacing_mm: Vector3<f64>,
    origin_lps_mm: Vector3<f64>,
    direction: Matrix3<f64>,
}

impl Grid {
    /// A grid of `size` voxels (`[i, j, k]`), checked: spacings finite and > 0, origin finite,
    /// direction orthonormal, no empty axis.
    pub fn new(size: [usize; 3], spacing_mm: Vector3<f64>, origin_lps_mm: Vector3<f64>, direction: Matrix3<f64>) -> Result<Self> {
        if size.contains(&0) {
            return Err(Error::EmptyGrid { size });
        }
        if spacing_mm.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(Error::InvalidSpacing { spacing_mm: spacing_mm.into() });
        }
        if origin_lps_mm.iter().any(|o| !o.is_finite()) {
            return Err(Error::InvalidOrigin { origin_lps_mm: origin_lps_mm.into() });
        }
        let deviation = if direction.iter().all(|d| d.is_finite()) { (direction.transpose() * direction - Matrix3::identity()).abs().max() } else { f64::INFINITY };
        if deviation > ORTHONORMAL_TOL {
            return Err(Error::NonOrthonormalDirection { direction: row_major(&direction), deviation });
        }
        Ok(Self { size, spacing_mm, origin_lps_mm, direction })
    }

    /// An axis-aligned grid (identity direction).
    pub fn axis_aligned(size: [usize; 3], spacing_mm: Vector3<f64>, origin_lps_mm: Vector3<f64>) -> Result<Self> {
        Self::new(size, spacing_mm, origin_lps_mm, Matrix3::identity())
    }

    /// Voxels per axis, `[i, j, k]` (SimpleITK `GetSize` order).
    pub fn size(&self) -> [usize; 3] {
        self.size
    }
    /// Shape of a voxel array on this grid, `[k, j, i]`.
    pub fn shape_kji(&self) -> [usize; 3] {
        [self.size[2], self.size[1], self.size[0]]
    }
    /// Number of voxels.
    pub fn n_voxels(&self) -> usize {
        self.size.iter().product()
    }
    /// Distance between voxel centres along each index axis, mm.
    pub fn spacing_mm(&self) -> Vector3<f64> {
        self.spacing_mm
    }
    /// Centre of voxel `(0, 0, 0)` in LPS, mm.
    pub fn origin_lps_mm(&self) -> Vector3<f64> {
        self.origin_lps_mm
    }
    /// Direction matrix; column `c` is the LPS unit vector of index axis `c`.
    pub fn direction(&self) -> Matrix3<f64> {
        self.direction
    }
    /// Direction matrix flattened row by row, as SimpleITK's `GetDirection`.
    pub fn direction_row_major(&self) -> [f64; 9] {
        row_major(&self.direction)
    }

    /// The homogeneous transform taking continuous voxel indices `(i, j, k, 1)` to LPS mm.
    pub fn lps_from_voxel(&self) -> Matrix4<f64> {
        let m = self.direction * Matrix3::from_diagonal(&self.spacing_mm);
        let mut a = m.to_homogeneous();
        a.fixed_view_mut::<3, 1>(0, 3).copy_from(&self.origin_lps_mm);
        a
    }
    /// The inverse of [`Grid::lps_from_voxel`].
    pub fn voxel_from_lps(&self) -> Matrix4<f64> {
        let inv_spacing = self.spacing_mm.map(|s| 1.0 / s);
        let m = Matrix3::from_diagonal(&inv_spacing) * self.direction.transpose();
        let mut a = m.to_homogeneous();
        a.fixed_view_mut::<3, 1>(0, 3).copy_from(&(-(m * self.origin_lps_mm)));
        a
    }
    /// LPS position (mm) of the continuous voxel index `ijk`.
    pub fn voxel_to_lps(&self, ijk: Vector3<f64>) -> Point3<f64> {
        Point3::from(self.origin_lps_mm + self.direction * ijk.component_mul(&self.spacing_mm))
    }
    /// Continuous voxel index of the LPS point `p` (mm).
    pub fn lps_to_voxel(&self, p: &Point3<f64>) -> Vector3<f64> {
        (self.direction.transpose() * (p.coords - self.origin_lps_mm)).component_div(&self.spacing_mm)
    }

    /// Whether `other` describes the same voxels to within `tol_mm` (size exact; origin, spacing
    /// and direction-scaled axes within the tolerance).
    pub fn same_as(&self, other: &Grid, tol_mm: f64) -> bool {
        self.size == other.size
            && (self.spacing_mm - other.spacing_mm).abs().max() <= tol_mm
            && (self.origin_lps_mm - other.origin_lps_mm).abs().max() <= tol_mm
            && (self.direction - other.direction).abs().max() <= tol_mm
    }

    /// Checks that `other` is the same grid (see [`Grid::same_as`]), naming what differs.
    pub fn check_same(&self, other: &Grid, tol_mm: f64) -> Result<()> {
        if self.same_as(other, tol_mm) {
            return Ok(());
        }
        let what = if self.size != other.size {
            format!("size {:?} vs {:?}", self.size, other.size)
        } else if (self.spacing_mm - other.spacing_mm).abs().max() > tol_mm {
            format!("spacing {:?} vs {:?} mm", self.spacing_mm.as_slice(), other.spacing_mm.as_slice())
        } else if (self.origin_lps_mm - other.origin_lps_mm).abs().max() > tol_mm {
            format!("origin {:?} vs {:?} mm", self.origin_lps_mm.as_slice(), other.origin_lps_mm.as_slice())
        } else {
            format!("direction {:?} vs {:?}", self.direction_row_major(), other.direction_row_major())
        };
        Err(Error::GridMismatch { what })
    }
}

fn row_major(m: &Matrix3<f64>) -> [f64; 9] {
    let mut out = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[3 * r + c] = m[(r, c)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn oblique() -> Grid {
        let rot = nalgebra::Rotation3::from_euler_angles(0.3, -0.2, 1.1);
        Grid::new([7, 5, 3], Vector3::new(0.7, 0.9, 2.5), Vector3::new(-10.0, 20.0, 300.0), *rot.matrix()).unwrap()
    }

    #[test]
    fn voxel_lps_round_trip() {
        let g = oblique();
        let ijk = Vector3::new(1.5, -2.0, 7.25);
        let p = g.voxel_to_lps(ijk);
        assert_relative_eq!(g.lps_to_voxel(&p), ijk, epsilon = 1e-12);
        let h = g.voxel_from_lps() * g.lps_from_voxel();
        assert_relative_eq!(h, Matrix4::identity(), epsilon = 1e-12);
        let q = g.lps_from_voxel() * ijk.push(1.0);
        assert_relative_eq!(q.xyz(), p.coords, epsilon = 1e-12);
    }

    #[test]
    fn rejects_bad_geometry() {
        let d = Matrix3::identity();
        assert!(matches!(Grid::new([1, 1, 0], Vector3::repeat(1.0), Vector3::zeros(), d), Err(Error::EmptyGrid { .. })));
        assert!(matches!(Grid::new([1, 1, 1], Vector3::new(1.0, 0.0, 1.0), Vector3::zeros(), d), Err(Error::InvalidSpacing { .. })));
        assert!(matches!(Grid::new([1, 1, 1], Vector3::repeat(1.0), Vector3::new(f64::NAN, 0.0, 0.0), d), Err(Error::InvalidOrigin { .. })));
        let mut sheared = d;
        sheared[(0, 2)] = 0.3;
        assert!(matches!(Grid::new([1, 1, 1], Vector3::repeat(1.0), Vector3::zeros(), sheared), Err(Error::NonOrthonormalDirection { .. })));
    }

    #[test]
    fn direction_row_major_matches_simpleitk_order() {
        let mut d = Matrix3::zeros();
        d[(0, 1)] = 1.0; // index axis j runs along +x
        d[(1, 0)] = 1.0; // index axis i runs along +y
        d[(2, 2)] = -1.0;
        let g = Grid::new([2, 2, 2], Vector3::repeat(1.0), Vector3::zeros(), d).unwrap();
        assert_eq!(g.direction_row_major(), [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0]);
    }
}

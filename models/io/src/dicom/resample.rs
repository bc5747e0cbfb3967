//! Explicit resampling of an irregular series onto a regular grid (only when the user asks).
//!
//! Each output voxel centre is placed in patient space, projected into the two input slices that
//! bracket it along the slice normal (each with its own position, size and pixel spacing, so
//! gaps, uneven spacing, gantry tilt and mixed image sizes are all handled the same way),
//! sampled bilinearly in each, and blended linearly along the normal. Points outside an input
//! slice take the series' minimum value.

use nalgebra::Vector3;
use ndarray::Array3;
use rayon::prelude::*;

use coxa_core::Grid;

use super::scan::SliceHeader;

/// For each output slice: the two bracketing input slices and the weight of the second.
#[derive(Debug, Clone)]
pub(crate) struct ResamplePlan {
    brackets: Vec<(usize, usize, f64)>,
    default_pixel_spacing: [f64; 2],
}

fn position(s: &SliceHeader) -> Vector3<f64> {
    Vector3::from(s.ipp.unwrap_or([0.0; 3]))
}

impl ResamplePlan {
    /// `slices` sorted along the normal of `grid` (column 2 of its direction).
    pub fn new(slices: &[SliceHeader], grid: &Grid, default_pixel_spacing: [f64; 2]) -> Self {
        let normal = grid.direction().column(2).into_owned();
        let d: Vec<f64> = slices.iter().map(|s| position(s).dot(&normal)).collect();
        let d0 = grid.origin_lps_mm().dot(&normal);
        let dz = grid.spacing_mm()[2];
        let brackets = (0..grid.size()[2])
            .map(|k| {
                let dk = d0 + k as f64 * dz;
                // First input slice at or beyond dk.
                let b = d.partition_point(|x| *x < dk).min(d.len() - 1);
                let a = b.saturating_sub(1);
                if a == b || d[b] - d[a] <= 0.0 {
                    (b, b, 0.0)
                } else {
                    let t = ((dk - d[a]) / (d[b] - d[a])).clamp(0.0, 1.0);
                    (a, b, t)
                }
            })
            .collect();
        Self { brackets, default_pixel_spacing }
    }

    /// The output volume from the decoded input slices (HU, `rows * cols` each, row-major).
    pub fn execute(&self, slices: &[SliceHeader], data: &[Vec<f32>], grid: &Grid) -> Array3<f32> {
        let fill = data.iter().flat_map(|s| s.iter().copied()).fold(f32::INFINITY, f32::min);
        let fill = if fill.is_finite() { fill } else { 0.0 };
        let [ni, nj, nk] = grid.size();
        let dir = grid.direction();
        let (row, col, normal) = (dir.column(0).into_owned(), dir.column(1).into_owned(), dir.column(2).into_owned());
        let sp = grid.spacing_mm();
        let origin = grid.origin_lps_mm();
        let mut out = vec![0f32; ni * nj * nk];
        out.par_chunks_mut(ni * nj).enumerate().for_each(|(k, plane)| {
            let (a, b, t) = self.brackets[k];
            let centre = origin + normal * (k as f64 * sp[2]);
            for j in 0..nj {
                for i in 0..ni {
                    let p = centre + row * (i as f64 * sp[0]) + col * (j as f64 * sp[1]);
                    let va = self.sample(&slices[a], &data[a], &p, &row, &col, fill);
                    let v = if t > 0.0 {
                        let vb = self.sample(&slices[b], &data[b], &p, &row, &col, fill);
                        va * (1.0 - t) + vb * t
                    } else {
                        va
                    };
                    plane[j * ni + i] = v as f32;
                }
            }
        });
        Array3::from_shape_vec((nk, nj, ni), out).expect("plane sizes follow the grid")
    }

    /// Bilinear value of slice `s` at the projection of `p` into its plane.
    fn sample(&self, s: &SliceHeader, px: &[f32], p: &Vector3<f64>, row: &Vector3<f64>, col: &Vector3<f64>, fill: f32) -> f64 {
        let ps = s.pixel_spacing.unwrap_or(self.default_pixel_spacing);
        let local = p - position(s);
        let u = local.dot(row) / ps[1]; // column index
        let v = local.dot(col) / ps[0]; // row index
        let (cols, rows) = (s.cols as usize, s.rows as usize);
        if !(u > -0.5 && v > -0.5 && u < cols as f64 - 0.5 && v < rows as f64 - 0.5) {
            return f64::from(fill);
        }
        let u = u.clamp(0.0, (cols - 1) as f64);
        let v = v.clamp(0.0, (rows - 1) as f64);
        let (u0, v0) = (u.floor() as usize, v.floor() as usize);
        let (u1, v1) = ((u0 + 1).min(cols - 1), (v0 + 1).min(rows - 1));
        let (fu, fv) = (u - u0 as f64, v - v0 as f64);
        let at = |r: usize, c: usize| f64::from(px[r * cols + c]);
        let top = at(v0, u0) * (1.0 - fu) + at(v0, u1) * fu;
        let bottom = at(v1, u0) * (1.0 - fu) + at(v1, u1) * fu;
        top * (1.0 - fv) + bottom * fv
    }
}

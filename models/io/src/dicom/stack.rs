//! Slice stacking: sort along the normal, check the series forms a regular grid, build the grid.

use nalgebra::{Matrix3, Vector3};

use coxa_core::Grid;

use super::DicomError;
use super::resample::ResamplePlan;
use super::scan::{Series, SliceHeader};
use crate::{Error, Result};

/// Positions closer than this along the normal are the same position, mm.
const SAME_POSITION_MM: f64 = 1e-3;
/// Largest deviation of one gap from the mean gap that still counts as regular: the larger of
/// this (mm; positions are often written with 2-3 decimals) and [`SPACING_REL_TOL`] of the gap.
const SPACING_ABS_TOL_MM: f64 = 0.01;
/// See [`SPACING_ABS_TOL_MM`].
const SPACING_REL_TOL: f64 = 1e-3;
/// Largest in-plane drift of a slice position off the normal through the first slice, mm.
const TILT_TOL_MM: f64 = 0.02;
/// Direction cosines and pixel spacings closer than this are equal.
const EQUAL_TOL: f64 = 1e-4;

/// How to turn the series into a volume.
#[derive(Debug)]
pub(crate) struct StackPlan {
    /// Slices in stacking order.
    pub slices: Vec<SliceHeader>,
    /// The output grid.
    pub grid: Grid,
    /// `None`: slice `k` of the output is file `k`. `Some`: resample (see [`ResamplePlan`]).
    pub resample: Option<ResamplePlan>,
    pub warnings: Vec<String>,
}

fn bad_orientation(s: &SliceHeader, why: &str) -> Error {
    DicomError::BadTag { path: s.path.clone(), tag_name: "ImageOrientationPatient", value: format!("{:?}", s.iop), why: why.to_string() }.into()
}

/// Plans the volume of `series`: sorting, checks and grid; `resample` allows an explicit
/// resampling of an irregular series instead of an error.
pub(crate) fn plan(series: &Series, resample: bool) -> Result<StackPlan> {
    let key = &series.key;
    let mut warnings = Vec::new();
    let mut slices = series.slices.clone();
    if let Some(s) = slices.iter().find(|s| s.frames > 1 && s.frame.is_none()) {
        return Err(DicomError::MultiFrame { path: s.path.clone(), frames: s.frames }.into());
    }
    let first = slices[0].clone();
    // One modality for the whole series: an MR slice among CT slices would be stacked into the
    // CT and its values read as HU (issue 61).
    if let Some(s) = slices.iter().find(|s| !s.modality.eq_ignore_ascii_case(&first.modality)) {
        let why = format!("the series mixes modalities ({} here, {} in {}): remove the files that do not belong to the series", s.modality, first.modality, first.path.display());
        return Err(DicomError::BadTag { path: s.path.clone(), tag_name: "Modality", value: s.modality.clone(), why }.into());
    }

    // Orientation: one for the whole series, orthonormal.
    let iop = match first.iop {
        Some(iop) => iop,
        None if slices.len() == 1 => {
            warnings.push("ImageOrientationPatient missing: assumed axial (1,0,0,0,1,0)".to_string());
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        }
        None => {
            return Err(DicomError::MissingTag { path: first.path.clone(), tag_name: "ImageOrientationPatient", tag: "(0020,0037)".into() }.into());
        }
    };
    let row = Vector3::new(iop[0], iop[1], iop[2]);
    let col = Vector3::new(iop[3], iop[4], iop[5]);
    if (row.norm() - 1.0).abs() > 1e-3 || (col.norm() - 1.0).abs() > 1e-3 {
        return Err(bad_orientation(&first, "direction cosines are not unit vectors"));
    }
    if row.dot(&col).abs() > 1e-3 {
        return Err(bad_orientation(&first, "row and column directions are not perpendicular"));
    }
    let row = row.normalize();
    let col = (col - row * row.dot(&col)).normalize();
    let normal = row.cross(&col);
    for s in &slices {
        let o = s.iop.unwrap_or(iop);
        if o.iter().zip(iop).any(|(a, b)| (a - b).abs() > EQUAL_TOL) {
            return Err(inconsistent(
                key,
                "ImageOrientationPatient",
                &first,
                s,
                format!("{iop:?}"),
                format!("{o:?}"),
                ": the series mixes orientations (a localizer?); remove the odd files or pick another series",
            ));
        }
    }

    // Positions: sorted along the normal.
    if slices.len() > 1 {
        if let Some(s) = slices.iter().find(|s| s.ipp.is_none()) {
            return Err(DicomError::MissingTag { path: s.path.clone(), tag_name: "ImagePositionPatient", tag: "(0020,0032)".into() }.into());
        }
    } else if first.ipp.is_none() {
        warnings.push("ImagePositionPatient missing: origin set to (0, 0, 0)".to_string());
    }
    let pos = |s: &SliceHeader| Vector3::from(s.ipp.unwrap_or([0.0; 3]));
    slices.sort_by(|a, b| pos(a).dot(&normal).total_cmp(&pos(b).dot(&normal)));
    let d: Vec<f64> = slices.iter().map(|s| pos(s).dot(&normal)).collect();
    for w in 0..slices.len().saturating_sub(1) {
        if d[w + 1] - d[w] < SAME_POSITION_MM {
            return Err(DicomError::DuplicatePosition { series: key.clone(), a: slices[w].path.clone(), b: slices[w + 1].path.clone(), position_mm: d[w] }.into());
        }
    }

    // In-plane geometry: one image size and pixel spacing, or resample.
    let mut needs_resample: Vec<String> = Vec::new();
    let ps0 = match first.pixel_spacing {
        Some(ps) if ps.iter().all(|x| *x > 0.0) => ps,
        Some(ps) => {
            return Err(DicomError::BadTag { path: first.path.clone(), tag_name: "PixelSpacing", value: format!("{ps:?}"), why: "spacings must be > 0".into() }.into());
        }
        None => {
            warnings.push("PixelSpacing missing: assumed 1 mm".to_string());
            [1.0, 1.0]
        }
    };
    for s in &slices {
        if (s.rows, s.cols) != (first.rows, first.cols) {
            if !resample {
                return Err(inconsistent(
                    key,
                    "image size",
                    &first,
                    s,
                    format!("{}x{}", first.cols, first.rows),
                    format!("{}x{}", s.cols, s.rows),
                    "; rerun with --resample to resample every slice onto the first slice's grid",
                ));
            }
            needs_resample.push("mixed image sizes".into());
            break;
        }
    }
    for s in &slices {
        let ps = s.pixel_spacing.unwrap_or(ps0);
        if ps.iter().zip(ps0).any(|(a, b)| (a - b).abs() > EQUAL_TOL) {
            if !resample {
                return Err(inconsistent(key, "PixelSpacing", &first, s, format!("{ps0:?}"), format!("{ps:?}"), "; rerun with --resample to resample every slice onto the first slice's grid"));
            }
            needs_resample.push("mixed pixel spacings".into());
            break;
        }
    }

    // Stacking: along the normal (no tilt), evenly spaced (no gap).
    let n = slices.len();
    let slice_spacing_mm = if n > 1 { (d[n - 1] - d[0]) / (n - 1) as f64 } else { SINGLE_SLICE_SPACING_MM };
    let mut regular_mm = slice_spacing_mm;
    if n > 1 {
        let p0 = pos(&slices[0]);
        let drift = slices
            .iter()
            .map(|s| {
                let v = pos(s) - p0;
                (v - normal * v.dot(&normal)).norm()
            })
            .fold(0.0, f64::max);
        if drift > TILT_TOL_MM {
            let v = pos(&slices[n - 1]) - p0;
            let tilt_deg = v.angle(&normal).to_degrees();
            if !resample {
                return Err(DicomError::GantryTilt { series: key.clone(), tilt_deg }.into());
            }
            needs_resample.push(format!("gantry tilt of {tilt_deg:.2} deg"));
        }
        let gaps: Vec<f64> = d.windows(2).map(|w| w[1] - w[0]).collect();
        let mut sorted = gaps.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let tol = SPACING_ABS_TOL_MM.max(SPACING_REL_TOL * median);
        let (worst, dev) = gaps.iter().enumerate().map(|(i, g)| (i, (g - slice_spacing_mm).abs())).max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, 0.0));
        if dev > tol {
            regular_mm = median;
            let n_missing: f64 = gaps.iter().map(|g| (g / median).round() - 1.0).filter(|m| *m > 0.0).sum();
            let missing = if n_missing >= 1.0 { format!(", probably {n_missing:.0} missing slice(s)") } else { String::new() };
            if !resample {
                return Err(DicomError::IrregularSpacing {
                    series: key.clone(),
                    min_mm: sorted[0],
                    max_mm: sorted[sorted.len() - 1],
                    detail: format!("{} and {}", slices[worst].path.display(), slices[worst + 1].path.display()),
                    missing,
                    regular_mm: median,
                }
                .into());
            }
            needs_resample.push(format!("irregular slice spacing {:.3}..{:.3} mm{missing}", sorted[0], sorted[sorted.len() - 1]));
        }
    }

    let direction = Matrix3::from_columns(&[row, col, normal]);
    let (nk, dz) = if needs_resample.is_empty() { (n, slice_spacing_mm) } else { (((d[n - 1] - d[0]) / regular_mm).round() as usize + 1, regular_mm) };
    let grid = Grid::new([first.cols as usize, first.rows as usize, nk], Vector3::new(ps0[1], ps0[0], dz), pos(&slices[0]), direction)
        .map_err(|source| Error::Geometry { path: first.path.clone(), source })?;
    crate::sanity::check_grid(&grid, &first.path)?;
    if needs_resample.is_empty() {
        if let Some(t) = slices.iter().filter_map(|s| s.gantry_tilt_deg).find(|t| t.abs() > 1e-3) {
            warnings.push(format!("GantryDetectorTilt is {t} deg but the slice positions run along the normal: the scanner already corrected the tilt"));
        }
        return Ok(StackPlan { slices, grid, resample: None, warnings });
    }
    let message =
        format!("resampled series {key} ({}) onto a regular grid of {nk} slices {dz:.3} mm apart (bilinear in-plane, linear along the normal), as --resample asked", needs_resample.join(", "));
    tracing::warn!("{message}");
    warnings.push(message);
    let plan = ResamplePlan::new(&slices, &grid, ps0);
    Ok(StackPlan { slices, grid, resample: Some(plan), warnings })
}

/// Slice spacing given to a lone slice, mm. Nothing measures it (SliceThickness is the
/// reconstructed thickness, not a spacing); SimpleITK/GDCM also report 1 mm.
const SINGLE_SLICE_SPACING_MM: f64 = 1.0;

fn inconsistent(series: &str, what: &'static str, a: &SliceHeader, b: &SliceHeader, first: String, other: String, fix: &'static str) -> Error {
    DicomError::Inconsistent { series: series.to_string(), what, first: format!("{first} in {}", a.path.display()), other: format!("{other} in {}", b.path.display()), fix }.into()
}

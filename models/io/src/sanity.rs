//! Plausibility of what a CT reader returns: a grid a scanner can make, values a CT can hold.
//!
//! These checks catch corrupt headers that are still well-formed numbers (a spacing of 1e30 mm
//! passes every "finite and > 0" test, but makes later stages index out of their arrays), so that
//! no later stage sees such a volume.

use std::path::Path;

use coxa_core::{Grid, HuValue, Volume};

use crate::{Error, Result};

/// Smallest voxel spacing accepted, mm (1 micrometre; micro-CT goes down to a few).
pub const MIN_SPACING_MM: f64 = 1e-3;
/// Largest voxel spacing accepted, mm (clinical CT slices are at most about 10 mm apart).
pub const MAX_SPACING_MM: f64 = 100.0;
/// Largest extent of the image along one axis, mm (10 m: far beyond any body).
pub const MAX_EXTENT_MM: f64 = 1e4;
/// Largest distance of the origin from the scanner's origin, mm (100 m).
pub const MAX_ORIGIN_MM: f64 = 1e5;

/// Checks that `grid` is a grid a scanner can make (spacing, extent, origin within the ranges
/// above), naming the axis and value that is not.
pub(crate) fn check_grid(grid: &Grid, path: &Path) -> Result<()> {
    let bad = |what: String| Err(Error::ImplausibleGrid { path: path.to_path_buf(), what });
    let spacing = grid.spacing_mm();
    let size = grid.size();
    for (a, axis) in ["i", "j", "k"].iter().enumerate() {
        let s = spacing[a];
        if !(MIN_SPACING_MM..=MAX_SPACING_MM).contains(&s) {
            return bad(format!("the voxel spacing along {axis} is {s:.3e} mm, outside the {MIN_SPACING_MM}..{MAX_SPACING_MM} mm a CT can have"));
        }
        let extent = s * size[a] as f64;
        if extent > MAX_EXTENT_MM {
            return bad(format!("the image is {extent:.0} mm long along {axis} ({} voxels of {s} mm), more than the {MAX_EXTENT_MM} mm accepted", size[a]));
        }
    }
    let origin = grid.origin_lps_mm();
    if origin.iter().any(|o| o.abs() > MAX_ORIGIN_MM) {
        return bad(format!("the origin is at {:?} mm, more than {MAX_ORIGIN_MM} mm from the scanner's origin", origin.as_slice()));
    }
    Ok(())
}

/// Refuses a volume with NaN or infinite voxels ([`Error::NonFiniteVoxels`], counting them):
/// every reader of float images calls it, so no stage (radiomics, DRR, density, segmentation)
/// sees such a value.
pub(crate) fn check_finite(volume: &Volume, path: &Path) -> Result<()> {
    match volume.non_finite_counts() {
        (0, 0) => Ok(()),
        (nan, infinite) => Err(Error::NonFiniteVoxels { path: path.to_path_buf(), nan, infinite, total: volume.grid().size().iter().product() }),
    }
}

/// Checks a volume handed over in memory (the Python package's arrays) as a CT file's volume is
/// checked when read: a grid a scanner can make, finite voxels and, unless `any_modality`, some
/// air as every CT of a hip holds. `what` names the volume in the error ("the CT given in memory").
///
/// # Errors
/// [`Error::ImplausibleGrid`], [`Error::NonFiniteVoxels`] or [`Error::NotCt`], naming `what`.
pub fn check_ct_in_memory(volume: &Volume, what: &Path, any_modality: bool) -> Result<()> {
    check_grid(volume.grid(), what)?;
    check_finite(volume, what)?;
    match not_ct_like(volume) {
        Some(why) if !any_modality => Err(Error::NotCt { path: what.to_path_buf(), what: why }),
        _ => Ok(()),
    }
}

/// HU below which a voxel is air (or the padding outside the reconstruction circle).
const AIR_HU: f32 = -500.0;
/// Smallest fraction of air voxels in a CT of the hip: the air around the body, in the bowel and
/// the padding outside the field of view are always far more than this.
const MIN_AIR_FRACTION: f64 = 1e-3;

/// `None` when `volume` looks like a CT (some air, below [`AIR_HU`]), else why it does not.
///
/// Every CT of a hip holds air (around the body, in the bowel, the padding outside the
/// reconstruction circle); an MR volume (real MR intensities are >= about -50), a CT whose rescale
/// was lost (stored values 0..4095) or a crop inside the body holds none. Cost: a pass over the
/// voxels until enough air is found (in a CT, usually within the first slice's padding).
pub(crate) fn not_ct_like(volume: &Volume) -> Option<String> {
    // The air voxels counted up to `needed`: `None` once that many are found.
    fn air_count<T: HuValue>(hu: &ndarray::Array3<T>, needed: f64) -> Option<usize> {
        let mut air = 0usize;
        for &v in hu.iter() {
            if v.hu_f32() < AIR_HU {
                air += 1;
                if air as f64 >= needed {
                    return None;
                }
            }
        }
        Some(air)
    }
    let n = volume.grid().size().iter().product::<usize>();
    let needed = MIN_AIR_FRACTION * n as f64;
    if needed <= 0.0 {
        return None;
    }
    let air = coxa_core::with_hu!(volume, |a| air_count(a, needed))?;
    let s = volume.stats();
    Some(format!(
        "only {air} of {n} voxels are below {AIR_HU} HU (values {:.0}..{:.0}): no air, so these are not CT Hounsfield units \
         (an MR image, a CT without its rescale, or a crop inside the body)",
        s.min_hu, s.max_hu
    ))
}

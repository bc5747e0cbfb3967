//! One slice's header: what stacking and grouping need of each file (or each frame of an Enhanced
//! CT), and the rescale's plausible range.

use std::path::{Path, PathBuf};

use super::{DicomError, PatientIdentity};
use crate::{Error, Result};

/// The header fields of one file that stacking and grouping need.
#[derive(Debug, Clone)]
pub(crate) struct SliceHeader {
    pub path: PathBuf,
    pub series_uid: String,
    pub study_uid: String,
    pub sop_uid: String,
    pub frame_of_reference_uid: String,
    pub modality: String,
    pub series_number: Option<i64>,
    pub ipp: Option<[f64; 3]>,
    pub iop: Option<[f64; 6]>,
    /// PixelSpacing as written: [row spacing (between rows), column spacing (between columns)].
    pub pixel_spacing: Option<[f64; 2]>,
    pub rows: u32,
    pub cols: u32,
    pub frames: u32,
    /// The frame of a multi-frame file this slice is (Enhanced CT: `dicom/enhanced.rs`), `None`
    /// for a classic one-slice file.
    pub frame: Option<u32>,
    pub gantry_tilt_deg: Option<f64>,
    pub transfer_syntax: String,
    pub patient: PatientIdentity,
    /// BitsAllocated (8, 16 or 32).
    pub bits_allocated: u16,
    /// Length of the file, bytes (what opening it for decoding reads into memory).
    pub file_len: u64,
    /// Where the pixels can be read straight from the file (uncompressed 16-bit slices that
    /// dicom-pixeldata would decode the same way), else `None` (the general decoder).
    pub native: Option<super::native::NativePixels>,
}

/// Largest |RescaleSlope| accepted: CT stores HU with slope 1 (sometimes 0.5..2); a slope of
/// 1000 would already turn 12-bit values into millions of HU.
pub const MAX_RESCALE_SLOPE: f64 = 1000.0;
/// Smallest |RescaleSlope| accepted.
pub const MIN_RESCALE_SLOPE: f64 = 1e-6;
/// Largest |RescaleIntercept| accepted, HU (CT uses about -1024 or -8192).
pub const MAX_RESCALE_INTERCEPT_HU: f64 = 1e5;

/// Checks a slope and an intercept read (absent: `None`) against the ranges above.
pub(crate) fn check_rescale_values(path: &Path, slope: Option<f64>, intercept: Option<f64>) -> Result<()> {
    if let Some(slope) = slope
        && !(MIN_RESCALE_SLOPE..=MAX_RESCALE_SLOPE).contains(&slope.abs())
    {
        return Err(bad_tag(
            path,
            "RescaleSlope",
            slope,
            format!(
                "HU = stored x slope + intercept needs a slope of magnitude {MIN_RESCALE_SLOPE:e}..{MAX_RESCALE_SLOPE} (CT uses 1); \
                 this one would make every voxel {}; the export is broken, re-export the series",
                if slope == 0.0 { "the same value" } else { "an absurd HU" }
            ),
        ));
    }
    if let Some(inter) = intercept
        && inter.abs() > MAX_RESCALE_INTERCEPT_HU
    {
        return Err(bad_tag(path, "RescaleIntercept", inter, format!("a CT intercept is within +-{MAX_RESCALE_INTERCEPT_HU:e} HU (usually -1024); re-export the series")));
    }
    Ok(())
}

pub(crate) fn bad_tag(path: &Path, tag_name: &'static str, value: impl std::fmt::Debug, why: impl Into<String>) -> Error {
    DicomError::BadTag { path: path.to_path_buf(), tag_name, value: format!("{value:?}"), why: why.into() }.into()
}

//! Extraction settings (pyradiomics' `setting` keys) and the image types. The parameter file that
//! sets them is read in [`crate::params`]; this file is below the features and the filters, which
//! read the settings, and uses neither.

use crate::{Error, Result};

/// The feature classes in pyradiomics' output order (shape first, then the others as
/// pyradiomics discovers its modules).
pub const FEATURE_CLASSES: [&str; 7] = ["shape", "firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm"];

/// How `resampledPixelSpacing` interpolates the image (the mask is always nearest neighbour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolator {
    /// `sitkNearestNeighbor`.
    NearestNeighbor,
    /// `sitkLinear`.
    Linear,
    /// `sitkBSpline` (pyradiomics' default): cubic B-spline, as ITK's `BSplineInterpolateImageFunction`.
    BSpline,
}

/// How `resegmentRange` is read (pyradiomics' `resegmentMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResegmentMode {
    /// The range is in image units.
    Absolute,
    /// The range is a fraction of the ROI's maximum.
    Relative,
    /// The range is in standard deviations around the ROI's mean.
    Sigma,
}

/// An image type (filter) features are computed on.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageType {
    /// The image itself (`original_` prefix).
    Original,
    /// Laplacian of Gaussian at each sigma in mm (`log-sigma-S-mm-3D_` prefix).
    LoG {
        /// Sigmas, mm, each with its text as pyradiomics prints it in the prefix (Python's
        /// `str(sigma)` with `.` as `-`: `1-0` for `1.0`, `3` for `3`).
        sigma_mm: Vec<(f64, String)>,
    },
    /// Undecimated (stationary) wavelet decomposition (`wavelet-LLH_` ... prefixes).
    Wavelet {
        /// Wavelet name (pyradiomics' default `coif1`).
        wavelet: String,
        /// Levels of decomposition features are computed on (`level`, default 1).
        level: usize,
        /// Levels applied before the first one kept (`start_level`, default 0).
        start_level: usize,
    },
}

/// Settings of one extraction, with pyradiomics' defaults (`RadiomicsFeatureExtractor._getDefaultSettings`
/// and the feature classes' own defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Label value of the ROI in the mask (`label`, default 1).
    pub label: u32,
    /// Bin width of the discretisation (`binWidth`, default 25).
    pub bin_width: f64,
    /// Fixed bin count instead of a width (`binCount`, default none).
    pub bin_count: Option<usize>,
    /// Voxels outside this range are removed from the texture/first-order ROI (`resegmentRange`).
    pub resegment_range: Option<Vec<f64>>,
    /// How `resegment_range` is read (`resegmentMode`, default absolute).
    pub resegment_mode: ResegmentMode,
    /// Shape computed on the resegmented mask too (`resegmentShape`, default false).
    pub resegment_shape: bool,
    /// Fewest dimensions with more than one voxel (`minimumROIDimensions`, default 2).
    pub minimum_roi_dimensions: usize,
    /// The ROI must have more voxels than this (`minimumROISize`, default none).
    pub minimum_roi_size: Option<usize>,
    /// Resample image and mask to this spacing, mm, `[x, y, z]` (`resampledPixelSpacing`); 0 keeps an axis.
    pub resampled_pixel_spacing_mm: Option<[f64; 3]>,
    /// Interpolator of the image when resampling (`interpolator`, default `sitkBSpline`).
    pub interpolator: Interpolator,
    /// Voxels of margin kept around the ROI when resampling (`padDistance`, default 5).
    pub pad_distance: usize,
    /// GLCM/GLDM/NGTDM neighbour distances (`distances`, default `[1]`; only 1 is implemented).
    pub distances: Vec<usize>,
    /// GLCM counts both directions (`symmetricalGLCM`, default true).
    pub symmetrical_glcm: bool,
    /// GLDM dependence threshold (`gldm_a`, default 0).
    pub gldm_a: f64,
    /// Added to the intensities of Energy, TotalEnergy and RootMeanSquared (`voxelArrayShift`, default 0).
    pub voxel_array_shift: f64,
    /// Tolerance of the image/mask geometry comparison (`geometryTolerance`, default 1e-16 relative
    /// as SimpleITK's coordinate tolerance).
    pub geometry_tolerance: Option<f64>,
    /// Resample the mask onto the image grid when the geometries differ (`correctMask`, default false).
    pub correct_mask: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            label: 1,
            bin_width: 25.0,
            bin_count: None,
            resegment_range: None,
            resegment_mode: ResegmentMode::Absolute,
            resegment_shape: false,
            minimum_roi_dimensions: 2,
            minimum_roi_size: None,
            resampled_pixel_spacing_mm: None,
            interpolator: Interpolator::BSpline,
            pad_distance: 5,
            distances: vec![1],
            symmetrical_glcm: true,
            gldm_a: 0.0,
            voxel_array_shift: 0.0,
            geometry_tolerance: None,
            correct_mask: false,
        }
    }
}

impl Settings {
    /// Checks the settings can be honoured.
    pub fn validate(&self) -> Result<()> {
        let s = self;
        if !(s.bin_width.is_finite() && s.bin_width > 0.0) {
            return Err(Error::Params(format!("binWidth {} must be > 0", s.bin_width)));
        }
        if s.bin_count == Some(0) {
            return Err(Error::Params("binCount must be >= 1".into()));
        }
        if s.distances != [1] {
            return Err(Error::Params(format!("distances {:?}: only [1] is implemented", s.distances)));
        }
        if let Some(r) = &s.resegment_range
            && (r.is_empty() || r.len() > 2 || r.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::Params(format!("resegmentRange {r:?}: one or two finite values")));
        }
        if let Some(sp) = s.resampled_pixel_spacing_mm
            && sp.iter().any(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(Error::Params(format!("resampledPixelSpacing {sp:?}: three values >= 0 (0 keeps the axis)")));
        }
        Ok(())
    }
}

fn f64_list(v: &serde_norway::Value) -> Option<Vec<f64>> {
    match v {
        serde_norway::Value::Sequence(s) => s.iter().map(|x| x.as_f64()).collect(),
        serde_norway::Value::Number(n) => n.as_f64().map(|x| vec![x]),
        _ => None,
    }
}

/// Applies one `setting` key of a parameter file to `s`; an unknown key or an unimplemented value is an
/// error naming the key.
pub(crate) fn apply_setting(s: &mut Settings, key: &str, v: &serde_norway::Value) -> Result<()> {
    let bad = |what: &str| Error::Params(format!("setting {key}: {what}"));
    let num = || v.as_f64().ok_or_else(|| bad("a number"));
    let uint = || v.as_u64().map(|x| x as usize).ok_or_else(|| bad("a whole number >= 0"));
    let flag = || v.as_bool().ok_or_else(|| bad("true or false"));
    let is_null = v.is_null();
    match key {
        "label" => s.label = u32::try_from(uint()?).map_err(|_| bad("a label value"))?,
        "binWidth" => s.bin_width = num()?,
        "binCount" => s.bin_count = if is_null { None } else { Some(uint()?) },
        "resegmentRange" => s.resegment_range = if is_null { None } else { Some(f64_list(v).ok_or_else(|| bad("a list of numbers"))?) },
        "resegmentMode" => {
            s.resegment_mode = match v.as_str() {
                Some("absolute") => ResegmentMode::Absolute,
                Some("relative") => ResegmentMode::Relative,
                Some("sigma") => ResegmentMode::Sigma,
                _ => return Err(bad("absolute, relative or sigma")),
            }
        }
        "resegmentShape" => s.resegment_shape = flag()?,
        "minimumROIDimensions" => s.minimum_roi_dimensions = uint()?,
        "minimumROISize" => s.minimum_roi_size = if is_null { None } else { Some(uint()?) },
        "resampledPixelSpacing" => {
            s.resampled_pixel_spacing_mm = if is_null {
                None
            } else {
                let l = f64_list(v).ok_or_else(|| bad("a list of three numbers"))?;
                let a: [f64; 3] = l.try_into().map_err(|_| bad("a list of three numbers"))?;
                Some(a)
            }
        }
        "interpolator" => {
            s.interpolator = match v.as_str().or_else(|| v.as_u64().map(|_| "")) {
                Some("sitkNearestNeighbor") => Interpolator::NearestNeighbor,
                Some("sitkLinear") => Interpolator::Linear,
                Some("sitkBSpline") => Interpolator::BSpline,
                _ => {
                    return Err(bad("sitkNearestNeighbor, sitkLinear or sitkBSpline (others are not implemented)"));
                }
            }
        }
        "padDistance" => s.pad_distance = uint()?,
        "distances" => {
            s.distances = match v {
                serde_norway::Value::Sequence(q) => q.iter().map(|x| x.as_u64().map(|d| d as usize)).collect::<Option<_>>().ok_or_else(|| bad("a list of whole numbers"))?,
                _ => return Err(bad("a list of whole numbers")),
            }
        }
        "symmetricalGLCM" => s.symmetrical_glcm = flag()?,
        "gldm_a" => s.gldm_a = num()?,
        "voxelArrayShift" => s.voxel_array_shift = num()?,
        "geometryTolerance" => s.geometry_tolerance = if is_null { None } else { Some(num()?) },
        "correctMask" => s.correct_mask = flag()?,
        // Settings pyradiomics has that change nothing here (logging, diagnostics output).
        "additionalInfo" | "enableCExtensions" | "preCrop" => {}
        "normalize" | "force2D" => {
            if flag()? {
                return Err(bad("true is not implemented; remove it or set false"));
            }
        }
        "normalizeScale" | "removeOutliers" | "force2Ddimension" => {
            if !is_null && key != "force2Ddimension" && key != "normalizeScale" {
                return Err(bad("not implemented; remove it"));
            }
        }
        "weightingNorm" => {
            if !is_null {
                return Err(bad("not implemented; remove it"));
            }
        }
        // Filter settings read by the image types.
        "sigma" | "wavelet" | "level" | "start_level" => {}
        other => {
            return Err(Error::Params(format!("setting {other}: unknown to coxa (pyradiomics' names are case-sensitive)")));
        }
    }
    Ok(())
}

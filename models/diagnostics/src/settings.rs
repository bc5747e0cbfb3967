//! Extraction settings and pyradiomics' parameter file (YAML).
//!
//! The file format is pyradiomics' (`imageType`, `featureClass`, `setting`); a researcher's
//! existing file runs unchanged as long as it asks for what coxa implements. A key coxa does not
//! know, or a value it does not implement (e.g. `normalize: true`, `force2D: true`), is an error
//! naming the key, never silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

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

/// Everything an extraction needs: settings, image types and the enabled features.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Settings.
    pub settings: Settings,
    /// Image types, in the file's order (default: original only).
    pub image_types: Vec<ImageType>,
    /// Enabled feature classes; `None` as the list means all of the class's (non-deprecated)
    /// features, as pyradiomics' `featureClass: {glcm: }`.
    pub feature_classes: BTreeMap<String, Option<Vec<String>>>,
    /// Each image type's own settings (`imageType: {LoG: {binWidth: 5}}`), applied over
    /// `settings` for that image type as pyradiomics does; parallel to `image_types`.
    custom: Vec<Vec<(String, serde_norway::Value)>>,
}

impl Default for Params {
    /// pyradiomics' defaults: the original image, every feature class, every feature.
    fn default() -> Self {
        Self { settings: Settings::default(), image_types: vec![ImageType::Original], feature_classes: FEATURE_CLASSES.iter().map(|c| ((*c).to_string(), None)).collect(), custom: vec![Vec::new()] }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamFile {
    #[serde(rename = "imageType")]
    image_type: Option<serde_norway::Mapping>,
    #[serde(rename = "featureClass")]
    feature_class: Option<BTreeMap<String, Option<Vec<String>>>>,
    setting: Option<BTreeMap<String, serde_norway::Value>>,
    #[serde(rename = "voxelSetting")]
    voxel_setting: Option<serde_norway::Value>,
}

impl Params {
    /// Parses a pyradiomics parameter file (YAML or JSON).
    pub fn from_yaml(text: &str) -> Result<Self> {
        let file: ParamFile = serde_norway::from_str(text).map_err(|e| Error::Params(format!("not a pyradiomics parameter file: {e}")))?;
        if file.voxel_setting.is_some() {
            return Err(Error::Params("voxelSetting: voxel-based extraction is not implemented; remove the section".into()));
        }
        let mut p = Params::default();
        let global = file.setting.unwrap_or_default();
        if let Some(types) = file.image_type {
            // In the file's order: pyradiomics computes (and names) the image types in it.
            p.image_types.clear();
            p.custom.clear();
            for (name, custom) in types {
                let name = name.as_str().ok_or_else(|| Error::Params("imageType: names must be text (Original, LoG, Wavelet)".into()))?.to_string();
                let custom: Vec<(String, serde_norway::Value)> = match custom {
                    serde_norway::Value::Null => Vec::new(),
                    serde_norway::Value::Mapping(m) => m
                        .into_iter()
                        .map(|(k, v)| k.as_str().map(|k| (k.to_string(), v)).ok_or_else(|| Error::Params(format!("imageType {name}: setting names must be text"))))
                        .collect::<Result<_>>()?,
                    _ => return Err(Error::Params(format!("imageType {name}: a mapping of settings (or {{}}) is expected"))),
                };
                // pyradiomics merges the global settings with the image type's own ones.
                let get = |k: &str| custom.iter().find(|(n, _)| n == k).map(|(_, v)| v).or_else(|| global.get(k));
                p.image_types.push(image_type(&name, get)?);
                let mut check = Settings::default();
                for (k, v) in &custom {
                    apply_setting(&mut check, k, v).map_err(|e| Error::Params(format!("imageType {name}: {e}")))?;
                }
                p.custom.push(custom);
            }
            if p.image_types.is_empty() {
                p.image_types.push(ImageType::Original);
                p.custom.push(Vec::new());
            }
        }
        if let Some(classes) = file.feature_class
            && !classes.is_empty()
        {
            p.feature_classes.clear();
            for (class, features) in classes {
                if class == "shape2D" {
                    // pyradiomics computes shape2D only with force2D, which coxa does not implement.
                    continue;
                }
                if !FEATURE_CLASSES.contains(&class.as_str()) {
                    return Err(Error::Params(format!("featureClass {class}: unknown; known: {}", FEATURE_CLASSES.join(", "))));
                }
                if let Some(names) = &features {
                    for n in names {
                        if !crate::features::feature_names(&class).contains(&n.as_str()) {
                            return Err(Error::Params(format!("featureClass {class}: no feature {n}")));
                        }
                    }
                }
                p.feature_classes.insert(class, features);
            }
        }
        for (key, value) in &global {
            apply_setting(&mut p.settings, key, value)?;
        }
        Ok(p)
    }

    /// The settings image type `index` (of `image_types`) is computed with: `settings` with the
    /// image type's own settings applied over them.
    pub fn settings_for(&self, index: usize) -> Result<Settings> {
        let mut s = self.settings.clone();
        for (k, v) in self.custom.get(index).map(Vec::as_slice).unwrap_or_default() {
            apply_setting(&mut s, k, v)?;
        }
        Ok(s)
    }

    /// Replaces the image types (each with no settings of its own).
    pub fn set_image_types(&mut self, types: Vec<ImageType>) {
        self.custom = vec![Vec::new(); types.len()];
        self.image_types = types;
    }

    /// Checks the settings can be honoured.
    pub fn validate(&self) -> Result<()> {
        self.settings.validate()
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

fn image_type<'a>(name: &str, get: impl Fn(&str) -> Option<&'a serde_norway::Value>) -> Result<ImageType> {
    let whole = |k: &str, default: usize| -> Result<usize> {
        match get(k) {
            None => Ok(default),
            Some(v) => v.as_u64().map(|x| x as usize).ok_or_else(|| Error::Params(format!("imageType {name}: {k} must be a whole number >= 0"))),
        }
    };
    match name {
        "Original" => Ok(ImageType::Original),
        "LoG" => {
            let sigma_mm = match get("sigma") {
                Some(serde_norway::Value::Sequence(s)) => s.iter().map(sigma).collect::<Option<Vec<_>>>(),
                Some(v) => sigma(v).map(|s| vec![s]),
                None => Some(Vec::new()),
            }
            .ok_or_else(|| Error::Params("imageType LoG: sigma must be a list of numbers (mm)".into()))?;
            Ok(ImageType::LoG { sigma_mm })
        }
        "Wavelet" => {
            let wavelet = match get("wavelet") {
                None => "coif1".to_string(),
                Some(v) => v.as_str().ok_or_else(|| Error::Params("imageType Wavelet: wavelet must be a name (coif1, haar, ...)".into()))?.to_string(),
            };
            crate::filters::wavelet::filter(&wavelet)?;
            let level = whole("level", 1)?;
            if level == 0 {
                return Err(Error::Params("imageType Wavelet: level must be >= 1".into()));
            }
            Ok(ImageType::Wavelet { wavelet, level, start_level: whole("start_level", 0)? })
        }
        other => Err(Error::Params(format!("imageType {other}: not implemented (Original, LoG, Wavelet are)"))),
    }
}

/// A sigma with its text as Python's `str()` prints it, `.` replaced by `-` (pyradiomics' name).
fn sigma(v: &serde_norway::Value) -> Option<(f64, String)> {
    let serde_norway::Value::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        return Some((i as f64, i.to_string()));
    }
    let x = n.as_f64()?;
    let text = if x.fract() == 0.0 && x.abs() < 1e16 { format!("{x:.1}") } else { format!("{x}") };
    Some((x, text.replace('.', "-")))
}

fn f64_list(v: &serde_norway::Value) -> Option<Vec<f64>> {
    match v {
        serde_norway::Value::Sequence(s) => s.iter().map(|x| x.as_f64()).collect(),
        serde_norway::Value::Number(n) => n.as_f64().map(|x| vec![x]),
        _ => None,
    }
}

fn apply_setting(s: &mut Settings, key: &str, v: &serde_norway::Value) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pyradiomics_file_reads_and_unknown_keys_are_named() {
        let p = Params::from_yaml("imageType:\n  Original: {}\nfeatureClass:\n  glcm:\n  firstorder: [Mean, Median]\nsetting:\n  binWidth: 10\n  label: 77\n  resegmentRange: [-200, 2000]\n").unwrap();
        assert_eq!(p.settings.bin_width, 10.0);
        assert_eq!(p.settings.label, 77);
        assert_eq!(p.settings.resegment_range, Some(vec![-200.0, 2000.0]));
        assert_eq!(p.feature_classes.len(), 2);
        assert_eq!(p.feature_classes["firstorder"], Some(vec!["Mean".to_string(), "Median".to_string()]));
        let e = Params::from_yaml("setting:\n  binwidth: 10\n").unwrap_err().to_string();
        assert!(e.contains("binwidth"), "{e}");
        let e = Params::from_yaml("featureClass:\n  glcm: [Nope]\n").unwrap_err().to_string();
        assert!(e.contains("Nope"), "{e}");
        let e = Params::from_yaml("setting:\n  normalize: true\n").unwrap_err().to_string();
        assert!(e.contains("normalize"), "{e}");
    }

    #[test]
    fn image_types_keep_the_file_order_their_names_and_own_settings() {
        let p = Params::from_yaml("imageType:\n  Wavelet: {binWidth: 10, level: 2}\n  LoG: {sigma: [1.0, 3, 0.5]}\n  Original: {}\nsetting:\n  binWidth: 5\n").unwrap();
        assert_eq!(p.image_types.len(), 3);
        assert_eq!(p.image_types[0], ImageType::Wavelet { wavelet: "coif1".into(), level: 2, start_level: 0 });
        let ImageType::LoG { sigma_mm } = &p.image_types[1] else { panic!("{:?}", p.image_types[1]) };
        let names: Vec<&str> = sigma_mm.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["1-0", "3", "0-5"]);
        assert_eq!(p.image_types[2], ImageType::Original);
        assert_eq!(p.settings_for(0).unwrap().bin_width, 10.0);
        assert_eq!(p.settings_for(1).unwrap().bin_width, 5.0);
        // a global sigma reaches LoG, as pyradiomics merges the settings
        let p = Params::from_yaml("imageType:\n  LoG: {}\nsetting:\n  sigma: [2.0]\n").unwrap();
        assert_eq!(p.image_types[0], ImageType::LoG { sigma_mm: vec![(2.0, "2-0".into())] });
        let e = Params::from_yaml("imageType:\n  Wavelet: {wavelet: bior9.9}\n").unwrap_err().to_string();
        assert!(e.contains("bior9.9") && e.contains("coif1"), "{e}");
        let e = Params::from_yaml("imageType:\n  LoG: {sigma: [1.0], binwidth: 3}\n").unwrap_err().to_string();
        assert!(e.contains("LoG") && e.contains("binwidth"), "{e}");
        let e = Params::from_yaml("imageType:\n  Square: {}\n").unwrap_err().to_string();
        assert!(e.contains("Square"), "{e}");
    }
}

//! pyradiomics' parameter file (YAML): the settings ([`crate::settings`]), the image types and the
//! enabled features.
//!
//! The file format is pyradiomics' (`imageType`, `featureClass`, `setting`); a researcher's
//! existing file runs unchanged as long as it asks for what coxa implements. A key coxa does not
//! know, or a value it does not implement (e.g. `normalize: true`, `force2D: true`), is an error
//! naming the key, never silently ignored. Feature and wavelet names are checked against the
//! features and filters themselves, so this file sits above them.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::settings::{FEATURE_CLASSES, ImageType, Settings, apply_setting};
use crate::{Error, Result};

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

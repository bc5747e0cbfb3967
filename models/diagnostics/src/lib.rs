//! Radiomics for coxa: pyradiomics' feature classes with its definitions, defaults and names;
//! and bone quality and radiographs: [`density`] (phantomless CT bone density of the proximal
//! femur, CT-based DXA), [`fixation`] (a cited cemented/cementless suggestion) and [`drr`]
//! (simulated radiographs in a real X-ray geometry).
//!
//! [`extract`] takes a CT ([`coxa_core::Volume`]), a label map ([`coxa_core::LabelMap`]) on the
//! same grid and [`Params`] (pyradiomics' parameter file, [`Params::from_yaml`]) and returns the
//! features in pyradiomics' order and with its names (`original_firstorder_Mean`,
//! `original_glcm_Contrast`, ...). The pipeline is pyradiomics' `RadiomicsFeatureExtractor.execute`
//! for segment-based extraction:
//!
//! 1. the label is looked up in the mask (an empty mask or an absent label is an error, as in
//!    pyradiomics);
//! 2. image and mask must share their geometry (pyradiomics' check, [`Error::GeometryMismatch`]);
//! 3. optional resampling (`resampledPixelSpacing`): the mask by nearest neighbour, the image by
//!    `interpolator` onto pyradiomics' cropped output grid;
//! 4. the ROI check (`minimumROIDimensions`, `minimumROISize`, a single voxel);
//! 5. optional resegmentation (`resegmentRange`, `resegmentMode`), checked again;
//! 6. shape on the (not resegmented) mask, then first order and the texture classes on the image
//!    cropped to the ROI's bounding box, discretised by `binWidth` (bins anchored at a multiple of
//!    the width, `numpy.digitize` semantics) or `binCount` (`numpy.histogram` edges).
//!
//! # Equality with pyradiomics
//! The side-by-side test (`tests/pyradiomics_peer.rs`) compares every feature with
//! pyradiomics-bhklab 3.1.4 on pyradiomics' own test images and on a real CT with
//! TotalSegmentator's hip, femur and muscle labels, to 1e-4 relative. Known differences are
//! listed in [`KNOWN_DIFFERENCES`] with their reason.
//!
//! # Why hand-written
//! No Rust crate computes radiomics features; the matrices (GLCM, GLRLM, GLSZM, GLDM, NGTDM) and
//! the marching-cubes surface are written here from pyradiomics' documented definitions, in
//! parallel over feature classes and directions with rayon.

pub mod density;
pub mod drr;
mod error;
pub mod features;
pub mod fixation;
mod roi;
mod settings;

use coxa_core::{LabelMap, Volume};
use rayon::prelude::*;

pub use error::{Error, Result};
pub use features::feature_names;
pub use settings::{FEATURE_CLASSES, ImageType, Interpolator, Params, ResegmentMode, Settings};

/// Features where coxa and pyradiomics may differ by more than 1e-4 relative: `(class_Feature,
/// reason, largest relative difference allowed)`. The side-by-side test allows exactly these.
pub const KNOWN_DIFFERENCES: &[(&str, &str, f64)] =
    &[("shape_SurfaceArea", MESH_REASON, 2e-2), ("shape_MeshVolume", MESH_REASON, 2e-2), ("shape_Sphericity", MESH_REASON, 2e-2), ("shape_SurfaceVolumeRatio", MESH_REASON, 2e-2)];

/// Why the mesh features differ from pyradiomics.
const MESH_REASON: &str = "the marching-cubes triangulation of non-planar loops (5 or more vertices) is built here, \
     not pyradiomics' lookup table, so area and volume differ (measured up to 1.5e-2 relative on brain1, 4e-3 on the CT's \
     bones and muscles); pyradiomics also reports a negative MeshVolume (and SurfaceVolumeRatio) for some ROIs \
     (prostate_1: -52.8 mm³) where coxa reports the enclosed volume, positive";

/// One extraction's result: `(name, value)` in pyradiomics' order.
pub type FeatureVector = Vec<(String, f64)>;

/// Computes the enabled features of `params` for the label `params.settings.label` of `mask` on
/// `image`.
pub fn extract(image: &Volume, mask: &LabelMap, params: &Params) -> Result<FeatureVector> {
    params.validate()?;
    let s = &params.settings;
    for t in &params.image_types {
        if *t != ImageType::Original {
            return Err(Error::Params(format!("imageType {t:?}: not implemented yet (Original is)")));
        }
    }
    let prepared = roi::prepare(image, mask, s)?;
    let enabled = |class: &str| params.feature_classes.get(class);
    let mut out = FeatureVector::new();
    if let Some(names) = enabled("shape") {
        let shape_mask = if s.resegment_shape { &prepared.roi_mask } else { &prepared.label_mask };
        let values = features::shape::compute(shape_mask, prepared.dims, prepared.spacing_zyx_mm);
        push(&mut out, "original", "shape", names.as_deref(), values);
    }
    let texture: Vec<&str> = FEATURE_CLASSES[1..].iter().copied().filter(|c| enabled(c).is_some()).collect();
    if !texture.is_empty() {
        let levels = roi::discretize(&prepared.values, &prepared.roi_mask, s)?;
        let results: Vec<(&str, Vec<(&'static str, f64)>)> = texture
            .par_iter()
            .map(|class| {
                let v = match *class {
                    "firstorder" => features::firstorder::compute(&prepared, &levels, s),
                    "glcm" => features::glcm::compute(&prepared, &levels, s),
                    "gldm" => features::gldm::compute(&prepared, &levels, s),
                    "glrlm" => features::glrlm::compute(&prepared, &levels),
                    "glszm" => features::glszm::compute(&prepared, &levels),
                    "ngtdm" => features::ngtdm::compute(&prepared, &levels),
                    _ => unreachable!("FEATURE_CLASSES"),
                };
                (*class, v)
            })
            .collect();
        for (class, values) in results {
            push(&mut out, "original", class, enabled(class).and_then(|n| n.as_deref()), values);
        }
    }
    Ok(out)
}

fn push(out: &mut FeatureVector, image_type: &str, class: &str, only: Option<&[String]>, values: Vec<(&'static str, f64)>) {
    for (name, v) in values {
        if only.is_none_or(|o| o.iter().any(|n| n == name)) {
            out.push((format!("{image_type}_{class}_{name}"), v));
        }
    }
}

//! Radiomics for coxa: pyradiomics' feature classes with its definitions, defaults and names;
//! and bone quality and radiographs: [`density`] (phantomless CT bone density of the proximal
//! femur, CT-based DXA), [`fixation`] (a cited cemented/cementless suggestion), [`drr`]
//! (simulated radiographs in a real X-ray geometry) and [`pseudo_mri`] (a pseudo T2-weighted MR
//! image from a CT).
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
//!    the width, `numpy.digitize` semantics) or `binCount` (`numpy.histogram` edges);
//! 7. the same classes on each filtered image type (`imageType: {LoG: {sigma: [...]}, Wavelet: {}}`,
//!    [`filters`]): the whole (resampled) image is filtered as pyradiomics filters it, then cut to
//!    the same box and ROI; each image type may carry its own settings (e.g. `binWidth`).
//!
//! # Equality with pyradiomics
//! The side-by-side test (`tests/pyradiomics_peer.rs`) compares every feature with
//! pyradiomics-bhklab 3.1.4 on pyradiomics' own test images and on a real CT with
//! TotalSegmentator's hip, femur and muscle labels, to 1e-4 relative; the mesh features follow
//! pyradiomics' own marching-cubes triangulation (`features/marching.rs`), checked cube by cube
//! against its C extension. Known differences would be listed in [`KNOWN_DIFFERENCES`] with their
//! reason; there are none. One sign differs by choice: pyradiomics' mesh is not closed (a cube is
//! cut as its complement when its corner `(z+1, y+1, x)` is inside), so on masks of scattered
//! voxels its signed `MeshVolume` (and `SurfaceVolumeRatio`) can come out negative (the prostate
//! phantom's label 1: -52.8 mm³); coxa reports the magnitude.
//!
//! # Why hand-written
//! No Rust crate computes radiomics features; the matrices (GLCM, GLRLM, GLSZM, GLDM, NGTDM) and
//! the marching-cubes surface are written here from pyradiomics' documented definitions, in
//! parallel over feature classes and directions with rayon.

pub mod density;
pub mod drr;
mod error;
pub mod features;
pub mod filters;
pub mod fixation;
pub mod lesions;
mod params;
pub mod pseudo_mri;
mod roi;
mod settings;

use coxa_core::{LabelMap, Volume};
use rayon::prelude::*;

pub use error::{Error, Result};
pub use features::feature_names;
pub use params::Params;
pub use settings::{FEATURE_CLASSES, ImageType, Interpolator, ResegmentMode, Settings};

/// Features where coxa and pyradiomics may differ by more than 1e-4 relative: `(class_Feature,
/// reason, largest relative difference allowed)`. The side-by-side test allows exactly these.
/// None since the mesh features follow pyradiomics' own triangulation (issue 42).
pub const KNOWN_DIFFERENCES: &[(&str, &str, f64)] = &[];

/// One extraction's result: `(name, value)` in pyradiomics' order.
pub type FeatureVector = Vec<(String, f64)>;

/// Computes the enabled features of `params` for the label `params.settings.label` of `mask` on
/// `image`: shape once (`original_shape_*`), then the other classes on every image type in
/// `params.image_types` (the original, each LoG sigma, each wavelet decomposition), in that order.
///
/// As in pyradiomics, a LoG sigma the image is too small for (a side under 4 voxels or under
/// `ceil(sigma / spacing) + 1`) or a sigma <= 0 yields no features (pyradiomics logs a warning).
pub fn extract(image: &Volume, mask: &LabelMap, params: &Params) -> Result<FeatureVector> {
    params.validate()?;
    let (nan, infinite) = image.non_finite_counts();
    if nan + infinite > 0 {
        return Err(Error::NonFiniteImage { nan, infinite });
    }
    let s = &params.settings;
    let filtered = params.image_types.iter().any(|t| *t != ImageType::Original);
    let (prepared, source) = roi::prepare(image, mask, s, filtered)?;
    let enabled = |class: &str| params.feature_classes.get(class);
    let mut out = FeatureVector::new();
    if let Some(names) = enabled("shape") {
        let shape_mask = if s.resegment_shape { &prepared.roi_mask } else { &prepared.label_mask };
        let values = features::shape::compute(shape_mask, prepared.dims, prepared.spacing_zyx_mm);
        push(&mut out, "original", "shape", names.as_deref(), values);
    }
    let texture: Vec<&str> = FEATURE_CLASSES[1..].iter().copied().filter(|c| enabled(c).is_some()).collect();
    if texture.is_empty() {
        return Ok(out);
    }
    // Every image the texture classes run on: (prefix, settings, values in the ROI box).
    let mut images: Vec<(String, Settings, Option<Vec<f64>>)> = Vec::new();
    for (i, t) in params.image_types.iter().enumerate() {
        let ts = params.settings_for(i)?;
        ts.validate()?;
        match t {
            ImageType::Original => images.push(("original".into(), ts, None)),
            ImageType::LoG { sigma_mm } => {
                let src = source.as_ref().expect("source kept for filters");
                for (sigma, text) in sigma_mm {
                    if filters::log::applies(src.size, src.spacing_mm, *sigma) {
                        images.push((format!("log-sigma-{text}-mm-3D"), ts.clone(), Some(filters::log::log_box(src, *sigma))));
                    }
                }
            }
            ImageType::Wavelet { wavelet, level, start_level } => {
                let src = source.as_ref().expect("source kept for filters");
                for (name, values) in filters::wavelet::wavelet_boxes(src, wavelet, *level, *start_level)? {
                    images.push((name, ts.clone(), Some(values)));
                }
            }
        }
    }
    let results: Vec<FeatureVector> = images
        .par_iter()
        .map(|(prefix, ts, values)| {
            let filtered;
            let p = match values {
                None => &prepared,
                Some(v) => {
                    filtered = roi::Prepared { values: v.clone(), ..prepared.clone() };
                    &filtered
                }
            };
            let levels = roi::discretize(&p.values, &p.roi_mask, ts)?;
            let per_class: Vec<(&str, Vec<(&'static str, f64)>)> = texture
                .par_iter()
                .map(|class| {
                    let v = match *class {
                        "firstorder" => features::firstorder::compute(p, &levels, ts),
                        "glcm" => features::glcm::compute(p, &levels, ts),
                        "gldm" => features::gldm::compute(p, &levels, ts),
                        "glrlm" => features::glrlm::compute(p, &levels),
                        "glszm" => features::glszm::compute(p, &levels),
                        "ngtdm" => features::ngtdm::compute(p, &levels),
                        _ => unreachable!("FEATURE_CLASSES"),
                    };
                    (*class, v)
                })
                .collect();
            let mut fv = FeatureVector::new();
            for (class, values) in per_class {
                push(&mut fv, prefix, class, enabled(class).and_then(|n| n.as_deref()), values);
            }
            Ok(fv)
        })
        .collect::<Result<_>>()?;
    out.extend(results.into_iter().flatten());
    Ok(out)
}

fn push(out: &mut FeatureVector, image_type: &str, class: &str, only: Option<&[String]>, values: Vec<(&'static str, f64)>) {
    for (name, v) in values {
        if only.is_none_or(|o| o.iter().any(|n| n == name)) {
            out.push((format!("{image_type}_{class}_{name}"), v));
        }
    }
}

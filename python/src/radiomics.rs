//! `coxa.radiomics` on the library (issue 58): pyradiomics' features of an image's labels
//! (`coxa_case::radiomics::table`, what `coxa radiomics --image --mask` computes), the image and
//! the mask handed over as arrays in memory or read from files as the program reads them; the
//! record returned as JSON text, the one `coxa radiomics --out FILE.json` writes. Nothing is
//! written and no command line is built.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::{Failure, LabelsIn, VolumeIn, guarded, to_py};

/// What the record names an image or mask handed over in memory by (a file is named by its path).
const IN_MEMORY: &str = "(in memory)";

/// The features of the image's labels as `coxa radiomics` computes them, as the JSON text of its
/// record. The image is `image` (an array) or `image_path` (read as `--image` is: NRRD, or any
/// modality coxa reads); the mask `mask` (an array with its class table) or `mask_path` (NIfTI
/// or NRRD). `labels` are label values or coxa's class names (empty: every label of the mask);
/// `params` a pyradiomics parameter file (YAML); `model` a tabular model's card whose class
/// probabilities are added to each row.
#[pyfunction]
#[pyo3(signature = (*, image = None, image_path = None, mask = None, mask_path = None, labels = Vec::new(), params = None, model = None))]
#[allow(clippy::too_many_arguments, reason = "one keyword argument per option of `coxa radiomics`, as Python calls it")]
pub fn radiomics<'py>(
    py: Python<'py>,
    image: Option<VolumeIn<'py>>,
    image_path: Option<PathBuf>,
    mask: Option<LabelsIn<'py>>,
    mask_path: Option<PathBuf>,
    labels: Vec<String>,
    params: Option<PathBuf>,
    model: Option<PathBuf>,
) -> PyResult<String> {
    // The arrays copied out of Python while the GIL is held.
    let image = image.map(|v| crate::volume_of(v, "the image")).transpose().map_err(to_py)?;
    let mask = mask.map(|m| crate::label_map_of(m, "the mask")).transpose().map_err(to_py)?;
    guarded(py, || {
        let (image, image_name) = match (image, &image_path) {
            (Some(v), None) => (v, IN_MEMORY.to_string()),
            (None, Some(p)) => (coxa_case::radiomics::read_image(p).map_err(anyhow::Error::from)?, p.display().to_string()),
            _ => return Err(Failure::Argument("give the image once: as an array (a Volume) or as a file".into())),
        };
        let (mask, mask_name) = match (mask, &mask_path) {
            (Some(m), None) => (m, IN_MEMORY.to_string()),
            (None, Some(p)) => (coxa_case::radiomics::read_mask(p).map_err(anyhow::Error::from)?, p.display().to_string()),
            _ => return Err(Failure::Argument("give the mask once: as an array (a LabelMap) or as a file".into())),
        };
        let params = match &params {
            Some(p) => coxa_case::radiomics::read_params(p).map_err(|e| anyhow::Error::from(e).context(format!("params {}", p.display())))?,
            None => Default::default(),
        };
        let mut tables = vec![coxa_case::radiomics::table(&image, &image_name, &mask, &mask_name, &labels, &params).map_err(anyhow::Error::from)?];
        if let Some(card) = &model {
            coxa_case::radiomics::apply_model(card, &mut tables).map_err(anyhow::Error::from)?;
        }
        Ok(coxa_case::radiomics::json(&tables).map_err(anyhow::Error::from)?)
    })
}

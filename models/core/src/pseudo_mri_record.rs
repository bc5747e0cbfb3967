//! What a case's report and summary say of its pseudo-MRI (issue 43: a pseudo T2-weighted image
//! made from the CT, the scenario's `[pseudo_mri]` stage).

use serde::{Deserialize, Serialize};

/// The `[pseudo_mri]` stage's result, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PseudoMriSummary {
    /// The stage's folder in the case (`pseudo_mri`).
    pub folder: String,
    /// The image, relative to the case folder (`pseudo_mri/pseudo_t2.nii.gz`).
    pub image: String,
    /// How it was made (`model-free`, or a model's name).
    pub method: String,
    /// The simulated spin echo's repetition time, ms.
    pub tr_ms: f64,
    /// Its echo time, ms.
    pub te_ms: f64,
    /// Whether the spinal canal was found.
    pub canal_found: bool,
    /// Its length, mm (0 when not found).
    pub canal_length_mm: f64,
    /// Each tissue class and its pure-voxel value in the image (`1000 S`).
    pub tissue_values: Vec<(String, f64)>,
    /// What the image is and is not for.
    pub note: String,
}

//! A scenario's sections resolved to typed values ([`ReportSettings`], [`PseudoMriStage`],
//! [`LesionsStage`]): what the stages read, so that nothing after the checks reads the TOML as
//! written, and a scenario made in code (`coxa plan`, the Python package) needs no TOML at all.

use std::path::PathBuf;

use coxa_core::CupAngleDefinition;

/// `[report]`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSettings {
    /// Write `report.html` (and the PDF) per case.
    pub html: bool,
    /// A cup-angle safe-zone map (ROM over a grid of cup angles) in the report.
    pub safe_zone_map: bool,
    /// The report's pictures and its simulated radiograph (the implants' STL files are written
    /// either way).
    pub pictures: bool,
    /// The definition page 1 gives the cup angles in (`None`: radiographic).
    pub cup_definition: Option<CupAngleDefinition>,
}

impl Default for ReportSettings {
    /// As a scenario without `[report]`: HTML, safe-zone map and pictures, radiographic angles.
    fn default() -> Self {
        Self { html: true, safe_zone_map: true, pictures: true, cup_definition: None }
    }
}

/// `[pseudo_mri]`, resolved: the model-free sequence, or a learned model's card with its
/// sampling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PseudoMriStage {
    /// Repetition time of the simulated spin echo, ms (`None`: the sequence's default).
    pub tr_ms: Option<f64>,
    /// Its echo time, ms (`None`: the default).
    pub te_ms: Option<f64>,
    /// An image-translation model's card, resolved (the learned path).
    pub model: Option<PathBuf>,
    /// With `model`: network calls per slice (`None`: the card's).
    pub steps: Option<u32>,
    /// With `model`: the noise's seed (`None`: the card's).
    pub seed: Option<u64>,
}

/// `[lesions]`, resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LesionsStage {
    /// A lesion model's card, resolved (`None`: the classical search alone).
    pub model: Option<PathBuf>,
    /// With `model`: the probability above which a voxel is a lesion (`None`: the card's).
    pub threshold: Option<f64>,
}

//! What a case's report and summary say of its bone lesion candidates (issue 43: the classical
//! search of `coxa lesions`, the scenario's `[lesions]` stage).

use serde::{Deserialize, Serialize};

/// How the `[lesions]` stage's warning of a lesion in the operated side's hip bone or femur
/// begins; the report lists these warnings among the plan's caveats.
pub const OPERATED_SIDE_WARNING: &str = "Bone lesion candidate in the operated side's";

/// One lesion candidate, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LesionLine {
    /// Its value in the lesions' label map.
    pub id: u16,
    /// `lytic`, `blastic` or `mixed`.
    pub kind: String,
    /// The bone's name (`vertebrae_L3`, `hip_left`, ...).
    pub bone: String,
    /// Volume, ml.
    pub volume_ml: f64,
    /// Centre, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// The search's score, 0.5..1 (a monotone score of the departure, not a probability).
    pub score: f64,
    /// Whether it lies in the operated side's hip bone or femur (a caveat of the plan).
    pub operated_side: bool,
}

/// The `[lesions]` stage's result, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LesionsSummary {
    /// The stage's folder in the case (`lesions`).
    pub folder: String,
    /// How they were found (the classical search; no learned model).
    pub method: String,
    /// The candidates, largest departure first.
    pub lesions: Vec<LesionLine>,
    /// Bones (by name) left out near metal, with the volume left out, ml.
    pub not_searched: Vec<(String, f64)>,
    /// What the search can and cannot find.
    pub limits: String,
}

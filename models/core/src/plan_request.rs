//! What `coxa plan` was asked (`request.json`, issue 60): its inputs and options as typed
//! values, so that the case can be planned again by the same code with some choices changed.
//! The planning desk's Save does exactly that: it plans the case again with the surgeon's
//! choices fixed ([`FixedChoicesRequest`]), and the revision is the case that `coxa plan`
//! writes with those choices, not the automatic plan patched.
//!
//! Paths are absolute, or relative to the case folder for inputs written inside it (a CT
//! handed over in memory is written as `input/ct.nii.gz`). Like `inputs.json`, the record is
//! kept out of the report: folder names may carry a patient's name.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{CupAngleDefinition, InputMesh, Side};

/// `coxa plan`'s inputs and options, as given (every option at its value, defaults included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanRequest {
    /// The case's name (`--case-name`, or the `--out` folder's name).
    pub case_name: String,
    /// The CT (`--ct`): a DICOM folder or file, or a NIfTI file.
    pub ct: Option<PathBuf>,
    /// Its label map (`--labels`).
    pub labels: Option<PathBuf>,
    /// Bone surfaces (`--mesh NAME=FILE`).
    pub meshes: Vec<InputMesh>,
    /// Their length unit (`--mesh-units`), as given.
    pub mesh_units: Option<String>,
    /// The operated side (`--side`; `None`: the only femur given).
    pub side: Option<Side>,
    /// Head diameter, mm (`--head-mm`).
    pub head_mm: Option<f64>,
    /// Liners considered (`--liner`).
    pub liners: Vec<String>,
    /// Cup inclination range, radiographic, deg (`--cup-inclination-deg`).
    pub cup_inclination_deg: [f64; 2],
    /// Cup anteversion range, radiographic, deg (`--cup-anteversion-deg`).
    pub cup_anteversion_deg: [f64; 2],
    /// Stem anteversion range, deg (`--stem-anteversion-deg`; `None`: around the native version).
    pub stem_anteversion_deg: Option<[f64; 2]>,
    /// Standing posterior pelvic tilt, deg (`--pelvic-tilt-deg`).
    pub pelvic_tilt_deg: f64,
    /// Sitting tilt beyond standing, deg (`--sitting-extra-tilt-deg`).
    pub sitting_extra_tilt_deg: f64,
    /// Grid step of the cup angles, deg (`--grid-step-deg`).
    pub grid_step_deg: f64,
    /// Implant catalog folder (`--catalog`; `None`: the built-in catalog).
    pub catalog: Option<PathBuf>,
    /// The report's cup-angle definition (`--cup-definition`).
    pub cup_definition: CupAngleDefinition,
    /// The shape model (`--shape-model`: a path, `none`, or `None` for the default search).
    pub shape_model: Option<String>,
    /// Choices fixed by the surgeon.
    pub fixed: FixedChoicesRequest,
}

/// The implant choices a surgeon fixed (`coxa plan --cup-mm`, `--cup-shift-mm`,
/// `--stem-series`, `--stem-size`, `--head-offset-mm`; the desk's revision); each `None` is
/// the planner's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FixedChoicesRequest {
    /// Shell outer diameter, mm.
    pub cup_mm: Option<f64>,
    /// Cup centre moved from the sizing's, pelvic frame, mm: medial, superior, anterior.
    pub cup_shift_mm: Option<[f64; 3]>,
    /// Stem series (catalog name).
    pub stem_series: Option<String>,
    /// Stem size (catalog label).
    pub stem_size: Option<String>,
    /// Head neck-length offset, mm.
    pub head_offset_mm: Option<f64>,
}

//! Plain data types of coxa: CT volumes, label maps, voxel grids, units and frames, and the
//! typed results the stages hand each other (landmarks, the plan's placement, ROM scores).
//!
//! This crate does no I/O and pulls in neither DICOM nor ONNX, so that `coxa-planner` and
//! `coxa-sim` can depend on it cheaply. Readers and writers live in `coxa-io`.
//!
//! # Conventions
//! - Lengths in millimetres, angles in radians, `f64` for geometry. A raw number carries its unit in
//!   its name (`_mm`, `_hu`, `_deg`).
//! - Patient coordinates are DICOM LPS (PS3.3 C.7.6.2.1.1): +x towards the patient's left, +y
//!   posterior, +z superior.
//! - Voxel arrays are indexed `[k, j, i]` (slice, row, column; `i` varies fastest in memory), the
//!   layout of a stacked DICOM series and of SimpleITK's `GetArrayFromImage`. Sizes are given in
//!   the order `[i, j, k]`, as SimpleITK's `GetSize`.

pub mod anatomy_record;
mod bone;
pub mod canal;
pub mod case_inputs;
pub mod combined;
pub mod contact_names;
pub mod dysplasia;
mod error;
mod frames;
mod grid;
pub mod hcf_record;
pub mod labels;
pub mod landmarks;
pub mod lesions_record;
mod mesh;
pub mod picture;
pub mod plan;
pub mod plan_intervals;
pub mod plan_ranges;
pub mod plan_record;
pub mod plan_request;
pub mod provenance;
pub mod pseudo_mri_record;
pub mod report;
mod resample;
pub mod rng;
mod side;
mod units;
mod volume;

pub use anatomy_record::AnatomyRecord;
pub use bone::Bone;
pub use canal::{CanalLevel, DorrType, FemoralCanal};
pub use case_inputs::{CaseInputs, InputMesh};
pub use combined::CombinedAnteversion;
pub use contact_names::{ContactAnatomy, ContactStructures, name_contact};
pub use error::{Error, Result};
pub use frames::{CupAngleDefinition, CupAngles, FemoralFrame, PelvicFrame};
pub use grid::Grid;
pub use hcf_record::{HcfMotionRecord, HcfRecord};
pub use labels::{ClassTable, LabelMap};
pub use landmarks::{AcetabulumLandmarks, AxisLandmark, FemurLandmarks, HipAnatomy, Landmark, OrthoLoadFemur, PatientLandmarks, PelvisLandmarks, Quality, Source};
pub use mesh::{Mesh, closest_on_triangle};
pub use plan::{CaseModel, FirstContact, ImplantPlacement, MotionInfo, MotionScore, PlanPosture, PostureTilts, RomQuery, RomScore, RomScorer, ScoreError};
pub use plan_record::PlanRecord;
pub use plan_request::{FixedChoicesRequest, PlanRequest};
pub use report::{CaseReport, CupAnglesDeg, RomRecord};
pub use resample::{MAX_RESAMPLED_VOXELS, grid_with_spacing};
pub use side::Side;
pub use units::{Angle, MM_PER_M, m_to_mm, mm_to_m};
pub use volume::{HuStats, HuValue, Volume, Voxels};

/// The types most users of this crate need.
pub mod prelude {
    pub use crate::{Angle, ClassTable, CupAngleDefinition, CupAngles, FemoralFrame, Grid, HuStats, LabelMap, Mesh, PelvicFrame, Side, Volume};
}

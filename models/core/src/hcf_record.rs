//! The records `coxa hcf --json` prints: the hip contact force of one activity of one hip from
//! landmark files ([`HcfRecord`]), or over a measured motion ([`HcfMotionRecord`]).
//!
//! What the command shares with a case's musculoskeletal stage (`[msk]`, [`crate::report::MskRecord`])
//! is the stage's records, written by the same stage function: the abductors before and after
//! the plan ([`AbductorRecord`]), the strength from the CT ([`MskStrengthRecord`]) and the bone
//! geometry ([`MskGeometryRecord`]). `coxa hcf` writes them unrounded; a case's report rounds
//! them for people. Fields are in alphabetical order, as the command printed them before they
//! were typed.

use serde::{Deserialize, Serialize};

use crate::report::{AbductorRecord, MskGeometryRecord, MskStrengthRecord, NativePlanned};

/// `coxa hcf`'s record of one activity of one hip, from landmark files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HcfRecord {
    /// The abductors' mean moment arm and maximum abduction moment before (`native`) and after
    /// (`planned`) the plan.
    pub abductors: NativePlanned<AbductorRecord>,
    /// `one-leg-stance`, `walking` or `sit-to-stand`.
    pub activity: String,
    /// Sit-to-stand: every step of the activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub along: Option<Vec<RisingStepRecord>>,
    /// Body weight, N.
    pub body_weight_n: f64,
    /// The personalised model written for OpenSim (`--export-osim`), if asked.
    pub exported_osim: Option<String>,
    /// The frame of `hcf_percent_bw`, for people.
    pub frame: String,
    /// With `--bones`: the model's bones registered onto the patient's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<MskGeometryRecord>,
    /// The force of the acetabulum on the femoral head in the OrthoLoad femoral frame, % body
    /// weight (the peak's for sit-to-stand).
    pub hcf_percent_bw: [f64; 3],
    /// Its magnitude, % body weight.
    pub magnitude_percent_bw: f64,
    /// The model that ran: its path, or the built-in model with its credit.
    pub model: String,
    /// The landmark scaling's factor per body (null when the bones were registered).
    pub model_scale_factors: Option<Vec<ScaleFactorRecord>>,
    /// The posture(s) written as an OpenSim motion (`--motion-mot`), if asked.
    pub motion_mot: Option<String>,
    /// The muscles pulling more than 0.5 N.
    pub muscle_forces_n: Vec<MuscleForceRecord>,
    /// The net internal hip moments the muscles balanced.
    pub net_hip_moment_n_m_per_kg: NetHipMomentRecord,
    /// What the solve could not do within its budget; absent normally.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The distance of the pelvis landmarks' hip centres, mm.
    pub patient_hip_centre_distance_mm: f64,
    /// The plan as given.
    pub plan: HcfPlanRecord,
    /// The rapier3d check that the solved forces hold the posture (static activities without
    /// measured hip moments), else null.
    pub posture_check: Option<PostureCheckRecord>,
    /// The moment the reserve actuators added at the hip, N m.
    pub reserve_moment_n_m: f64,
    /// `L` or `R`.
    pub side: String,
    /// The stance hip's angles (flexion, adduction, rotation), deg.
    pub stance_hip_angles_deg: [f64; 3],
    /// With `--muscles`: the strength from the CT, generic against personalised (on the planned
    /// hip, the one whose force is reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<MskStrengthRecord>,
}

/// One step of rising from a chair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RisingStepRecord {
    /// The ankle angle solved for balance, deg.
    pub ankle_deg: f64,
    /// Whether the centre of mass is above the foot.
    pub balanced: bool,
    /// The force in the OrthoLoad frame, % body weight.
    pub hcf_percent_bw: [f64; 3],
    /// Whether the muscles hold the posture without reserve actuators.
    pub held: bool,
    /// Hip flexion, deg.
    pub hip_flexion_deg: f64,
    /// Knee flexion, deg.
    pub knee_flexion_deg: f64,
    /// The force's magnitude, % body weight.
    pub magnitude_percent_bw: f64,
    /// From seat-off (0) to standing (1).
    pub progress: f64,
}

/// One body's scale factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScaleFactorRecord {
    /// The model's body.
    pub body: String,
    /// Its (uniform) scale factor.
    pub factor: f64,
}

/// One muscle's force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MuscleForceRecord {
    /// The force, N.
    pub force_n: f64,
    /// The model's muscle.
    pub muscle: String,
}

/// The net internal hip moments the stance hip's muscles balanced, N m per kg of body mass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NetHipMomentRecord {
    /// Abductor moment.
    pub abductor: f64,
    /// Extensor moment.
    pub extensor: f64,
    /// External rotator moment.
    pub external_rotator: f64,
    /// The frame, for people.
    pub frame: String,
    /// Where the moments come from: the posture, or measured ones given.
    pub source: String,
}

/// The plan as `coxa hcf` was given it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HcfPlanRecord {
    /// Centre-of-rotation shift: anterior, superior, lateral, mm.
    pub cor_shift_anterior_superior_lateral_mm: [f64; 3],
    /// Leg-length change, mm.
    pub leg_length_change_mm: f64,
    /// Offset change, mm.
    pub offset_change_mm: f64,
}

/// The rapier3d multibody check of a posture under the solved forces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PostureCheckRecord {
    /// The checked degrees of freedom.
    pub dofs: Vec<String>,
    /// The largest residual, % body weight x height.
    pub max_percent_bw_height: f64,
    /// How, for people.
    pub method: String,
    /// The residual generalised forces, N m, per degree of freedom.
    pub residual_n_m: Vec<f64>,
}

/// `coxa hcf --motion`'s record: the hip contact force over a measured motion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HcfMotionRecord {
    /// Body weight, N.
    pub body_weight_n: f64,
    /// The largest force in the first half of the longest stance phase.
    pub first_peak: Option<MotionPeakRecord>,
    /// The frame of the forces, for people.
    pub frame: String,
    /// Frames computed.
    pub frames: usize,
    /// Frames whose loads needed reserve actuators above 1 N m.
    pub frames_needing_reserves: usize,
    /// The ground reactions' file name.
    pub grf: String,
    /// The inverse dynamics written (`--id-sto`), if asked.
    pub id_sto: Option<String>,
    /// The coordinates' low-pass cutoff, Hz.
    pub lowpass_hz: Option<f64>,
    /// Coordinates of the model the motion does not have (kept at their defaults).
    pub missing_coordinates: Vec<String>,
    /// The model that ran.
    pub model: String,
    /// The motion's file name.
    pub motion: String,
    /// Whether the muscles' force-velocity curve was used.
    pub muscle_velocity: bool,
    /// The force per frame written (`--out`), if asked.
    pub out: Option<String>,
    /// Whether the muscles' passive fibre force was added to the loads.
    pub passive_fibre_force: bool,
    /// The largest force in stance.
    pub peak: Option<MotionPeakRecord>,
    /// The force plates and the bodies they load.
    pub plates: Vec<PlateRecord>,
    /// The largest force in the second half of the longest stance phase.
    pub second_peak: Option<MotionPeakRecord>,
    /// `L` or `R`.
    pub side: String,
    /// Frames in stance on the hip's leg.
    pub stance_frames: usize,
}

/// The force at one frame of a motion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MotionPeakRecord {
    /// The force in the model's femur frame, % body weight.
    pub hcf_femur_percent_bw: [f64; 3],
    /// Its magnitude, % body weight.
    pub magnitude_percent_bw: f64,
    /// The frame's time, s.
    pub time_s: f64,
}

/// A force plate and the body it loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlateRecord {
    /// The body.
    pub body: String,
    /// The plate's force columns' prefix.
    pub force: String,
}

//! The plan record: what `plan.json` is, typed. The plan stage (`coxa plan`, and the pipeline's
//! planned point) builds one [`PlanRecord`] from the planner's typed [`Plan`](../../coxa_planner)
//! and writes it once; `report.json` carries the same value, and the report, the PDF, the PACS
//! SR, `coxa xray` and the viewer read its fields.
//!
//! Numbers are rounded as they are written (0.01 mm and deg, 1e-4 for fractions and objective
//! terms, 0.1 deg for motion limits); the planner's unrounded values stay in its `Plan`.
//!
//! Fields are declared in alphabetical order: `plan.json` was assembled as an untyped JSON object
//! (serde_json sorts its keys), and this keeps its bytes. Fields added by later steps only when
//! they apply (the shape model's prediction, the fixation suggestion) are skipped when absent, as
//! they were.

use serde::{Deserialize, Serialize};

use crate::Side;

/// A value standing and one sitting (the plan's and the ROM's pelvic tilts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StandingSitting {
    /// Sitting.
    pub sitting: f64,
    /// Standing.
    pub standing: f64,
}

/// Inclination and anteversion, deg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CupAnglePair {
    /// Anteversion, deg.
    pub anteversion_deg: f64,
    /// Inclination, deg.
    pub inclination_deg: f64,
}

/// How the plan's numbers are defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanConventions {
    /// The cup angle definitions.
    pub cup_angles: String,
    /// What the functional angles are.
    pub functional_angles: String,
    /// How joint angles are defined.
    pub joint_angles: String,
    /// How leg length and offset are measured.
    pub leg_length_offset: String,
    /// The LPS frame.
    pub lps: String,
    /// The pelvic frame used (anterior pelvic plane, or the fallback taken).
    pub pelvic_frame: String,
}

/// The cup in Murray's (1993) three definitions, deg (0.01).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CupDefinitions {
    /// Anatomic.
    pub anatomic: CupAnglePair,
    /// Operative.
    pub operative: CupAnglePair,
    /// Radiographic.
    pub radiographic: CupAnglePair,
}

/// The bony socket as the cup sizing saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SocketRecord {
    /// Fossa vertices left out of the sphere fit.
    pub fossa_vertices: usize,
    /// Native head diameter, mm (`None`: no femur).
    pub head_diameter_mm: Option<f64>,
    /// Joint space: the median distance of the lunate surface from the head's sphere, mm.
    pub joint_space_mm: Option<f64>,
    /// Whether the input resolved the joint space (a sphere gap of at least 1 mm).
    pub joint_space_resolved: bool,
    /// Lunate-surface vertices the sphere is fitted to.
    pub lunate_vertices: usize,
    /// Diameter of the sphere fitted to the lunate surface, mm.
    pub measured_diameter_mm: f64,
    /// The rim's anterior-posterior extent, mm.
    pub rim_ap_diameter_mm: Option<f64>,
    /// Diameter of the circle through the rim points, mm.
    pub rim_diameter_mm: f64,
    /// The diameter the shell is sized to, mm.
    pub sizing_diameter_mm: f64,
    /// Where the sizing diameter comes from (`measured`, `head_plus_assumed_joint_space`).
    pub source: String,
    /// The socket sphere's radius minus the head sphere's, mm: the gap the sizing rule judges
    /// (`None`: no femur; absent in plans written before issue 42).
    #[serde(default)]
    pub sphere_gap_mm: Option<f64>,
}

/// One shell size at the planned centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CupSizeOptionRecord {
    /// Whether this is the planned size.
    pub chosen: bool,
    /// Coverage at radiographic 40/15, fraction.
    pub coverage_40_15: f64,
    /// Last reamer, mm.
    pub last_reamer_mm: f64,
    /// Bone left medial to the shell, mm.
    pub medial_wall_mm: f64,
    /// What changes against the planned size.
    pub note: String,
    /// Shell outer diameter, mm.
    pub outer_diameter_mm: f64,
    /// Reamed beyond the bony socket, mm.
    pub over_socket_mm: f64,
    /// The series' press fit, mm.
    pub press_fit_mm: f64,
    /// Shell minus the rim's AP diameter, mm.
    pub rim_fit_mm: Option<f64>,
}

/// The planned cup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanCupRecord {
    /// Native acetabular diameter, mm.
    pub acetabular_diameter_mm: f64,
    /// The cup in the three definitions, pelvic frame.
    pub angles_deg: CupDefinitions,
    /// Cup axis, LPS (1e-4).
    pub axis_lps: [f64; 3],
    /// Cup axis, pelvic frame (1e-4).
    pub axis_pelvic: [f64; 3],
    /// The shell series.
    pub catalog: Option<String>,
    /// Cup centre, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Cup centre, pelvic frame mm.
    pub centre_pelvic_mm: [f64; 3],
    /// Coverage of the planned cup, fraction.
    pub coverage: f64,
    /// The cup relative to the sitting body (`None`: undefined there).
    pub functional_sitting_deg: Option<CupDefinitions>,
    /// The cup relative to the standing body.
    pub functional_standing_deg: Option<CupDefinitions>,
    /// Last reamer, mm.
    pub last_reamer_mm: f64,
    /// Bone medial to the shell, mm.
    pub medial_wall_mm: f64,
    /// Medial shift of the centre from the native one, mm.
    pub medialisation_mm: f64,
    /// Native centre of rotation, LPS mm.
    pub native_centre_lps_mm: [f64; 3],
    /// Shell outer diameter, mm.
    pub outer_diameter_mm: f64,
    /// Radiographic anteversion, deg.
    pub radiographic_anteversion_deg: f64,
    /// Radiographic inclination, deg.
    pub radiographic_inclination_deg: f64,
    /// Coverage at radiographic 40/15, fraction.
    pub reference_coverage_40_15: f64,
    /// The sizes down, planned and up.
    pub size_options: Vec<CupSizeOptionRecord>,
    /// The sizing rule, in words.
    pub size_rule: String,
    /// The bony socket.
    pub socket: SocketRecord,
    /// The radiographic teardrop's inferior tip of the operated side, pelvic frame mm
    /// (`coxa_anatomy::landmarks::teardrop`, an approximation of a radiographic landmark on the
    /// hip bone's AP shadow); absent when the obturator foramen is not in reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardrop_pelvic_mm: Option<[f64; 3]>,
}

/// The planned head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanHeadRecord {
    /// The head series.
    pub catalog: Option<String>,
    /// Head centre in the cup, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Head centre on the femur as imaged, LPS mm.
    pub centre_on_femur_lps_mm: [f64; 3],
    /// Diameter, mm.
    pub diameter_mm: f64,
    /// Neck-length offset, mm.
    pub neck_length_offset_mm: f64,
}

/// The planned liner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanLinerRecord {
    /// The liner's catalog name.
    pub catalog: String,
    /// Its opening's shape (`hemispherical`, `elevated_rim`, `chamfered`).
    pub geometry: Option<String>,
}

/// One motion's limit in the plan (as [`MotionRecord`](crate::report::MotionRecord), with the
/// margin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanMotionRecord {
    /// `none`, `implant`, `bone` or `mixed`.
    pub contact: String,
    /// First contact, LPS mm (0.01).
    pub contact_point_lps_mm: Option<[f64; 3]>,
    /// Limit, deg (0.1).
    pub limit_deg: f64,
    /// Limit minus requirement, deg (0.1; daily-life motions).
    pub margin_deg: Option<f64>,
    /// The motion's name.
    pub name: String,
    /// Which parts touched.
    pub parts: Option<String>,
    /// The posture's posterior pelvic tilt, deg.
    pub pelvic_tilt_deg: f64,
    /// `standing` or `sitting`.
    pub posture: String,
    /// What the daily-life activity needs, deg.
    pub required_deg: Option<f64>,
    /// Whether the start posture is already in contact.
    pub start_in_contact: bool,
    /// The structures that touch, named by anatomy ([`crate::name_contact`]); absent without a
    /// contact, without the landmarks to name it, and in records written before issue 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structures: Option<crate::ContactStructures>,
}

/// The objective's penalties.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PenaltiesRecord {
    /// Combined-anteversion target.
    pub combined_target: f64,
    /// Coverage.
    pub coverage: f64,
    /// Leg length.
    pub leg_length: f64,
    /// Offset.
    pub offset: f64,
    /// Safe zone.
    pub safe_zone: f64,
}

/// The planner's objective terms (1e-4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObjectiveRecord {
    /// Combined anteversion, Widmer's (radiographic cup + 0.7 x stem), deg.
    pub combined_anteversion_deg: f64,
    /// Distance to the combined-anteversion target, deg.
    pub combined_target_distance_deg: f64,
    /// Coverage, fraction.
    pub coverage: f64,
    /// Leg-length error, mm.
    pub leg_length_error_mm: f64,
    /// Offset error, mm.
    pub offset_error_mm: f64,
    /// The penalties.
    pub penalties: PenaltiesRecord,
    /// Mean daily-life margin, deg.
    pub rom_mean_margin_deg: f64,
    /// Smallest daily-life margin, deg.
    pub rom_min_margin_deg: f64,
    /// The ROM term, deg.
    pub rom_term_deg: f64,
    /// The motion with the smallest margin.
    pub rom_worst_motion: String,
    /// Excess beyond the safe zone, deg.
    pub safe_zone_excess_deg: f64,
    /// The total.
    pub total: f64,
}

/// One point of the Pareto front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ParetoRecord {
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// Head neck-length offset, mm.
    pub head_offset_mm: f64,
    /// Liner.
    pub liner: String,
    /// Its objective.
    pub objective: ObjectiveRecord,
    /// Radiographic anteversion, deg.
    pub radiographic_anteversion_deg: f64,
    /// Radiographic inclination, deg.
    pub radiographic_inclination_deg: f64,
    /// Stem series and size.
    pub stem: String,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
}

/// How the optimiser searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchRecord {
    /// Cup anteversion range, deg.
    pub anteversion_range_deg: [f64; 2],
    /// Candidates evaluated.
    pub evaluated: usize,
    /// Candidates that failed.
    pub failed: usize,
    /// Coarse grid step, deg.
    pub grid_step_deg: f64,
    /// Cup inclination range, deg.
    pub inclination_range_deg: [f64; 2],
    /// The motions scored.
    pub motions: Vec<String>,
    /// Refinement step, deg.
    pub refine_step_deg: f64,
    /// The stem versions searched, deg (equal ends: the version was fixed; by default the native
    /// version +- the planner's window; `None` in plans written before issue 60: the native
    /// version unless the surgeon gave a range).
    pub stem_anteversion_range_deg: Option<[f64; 2]>,
}

/// One daily-life motion's margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MotionMarginRecord {
    /// Limit minus the required angle, deg (0.1; negative: short of the need).
    pub margin_deg: f64,
    /// The motion.
    pub motion: String,
}

/// The candidate of the searched space that comes closest to every daily-life need when the
/// plan misses one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClosestChangeRecord {
    /// What differs from the plan, one item a choice.
    pub changes: Vec<String>,
    /// Cup anteversion, radiographic, deg.
    pub cup_anteversion_deg: f64,
    /// Cup inclination, radiographic, deg.
    pub cup_inclination_deg: f64,
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// Its smallest margin over the needs, deg (0.1).
    pub min_margin_deg: f64,
    /// Its objective (1e-4; the plan's is higher or equal).
    pub objective: f64,
    /// The needs it still misses.
    pub short: Vec<MotionMarginRecord>,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
}

/// The plan against the daily-life needs (the motions of the search).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DailyLifeRecord {
    /// When the plan misses a need: the candidate that comes closest (`None`: the plan meets
    /// every need, or nothing in the searched space comes closer).
    pub closest: Option<ClosestChangeRecord>,
    /// Every need met.
    pub met: bool,
    /// The plan's smallest margin, deg (0.1).
    pub min_margin_deg: f64,
    /// The needs the plan misses.
    pub short: Vec<MotionMarginRecord>,
    /// One sentence for the report's first page.
    pub summary: String,
}

/// The femoral canal widths the stem was sized in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanCanalRecord {
    /// Canal width at the distal level, mm.
    pub distal_canal_mm: Option<f64>,
    /// The distal level below the lesser trochanter, mm.
    pub distal_level_mm: Option<f64>,
    /// Outer width at the distal level, mm.
    pub distal_outer_mm: Option<f64>,
    /// How the levels are defined.
    pub levels: String,
    /// Canal width at the lesser trochanter, mm.
    pub proximal_canal_mm: f64,
    /// Outer width at the lesser trochanter, mm.
    pub proximal_outer_mm: f64,
}

/// A stem series' canal-fill rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StemRuleRecord {
    /// Largest fill by the tip's width below the rule level.
    pub distal_fill_max: f64,
    /// The fill aimed at, fraction: `[min, max]`.
    pub fill_band: [f64; 2],
    /// The rule's level above the lesser trochanter, mm.
    pub level_above_lt_mm: f64,
    /// Whether the canal is imaged at the rule's level (if not, the size is a placeholder).
    pub rule_level_imaged: bool,
    /// The rule in words.
    pub text: String,
}

/// The planned size of one stem series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeriesSizeRecord {
    /// The series.
    pub series: String,
    /// Its size by the rule (`None`: none fits).
    pub size: Option<String>,
}

/// `stem.sizing`: the canal used and the planned series' rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StemSizingRecord {
    /// ML canal width by height above the lesser trochanter, `[height mm, width mm]`.
    pub canal_ml_mm_by_height_above_lt: Vec<[f64; 2]>,
    /// Where the canal comes from (`ct_cortical_bone`, or an estimate).
    pub canal_source: String,
    /// Head centre above the lesser trochanter, mm.
    pub head_above_lesser_trochanter_mm: f64,
    /// Notes of the canal and of the planned series' sizing.
    pub notes: Vec<String>,
    /// The planned series' rule.
    pub rule: Option<StemRuleRecord>,
    /// Every series' size by its rule.
    pub sizes_by_series: Vec<SeriesSizeRecord>,
}

/// One size of the planned stem series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StemSizeOptionRecord {
    /// Whether this is the planned size.
    pub chosen: bool,
    /// Canal fill at the rule level, fraction (1e-4).
    pub fill: Option<f64>,
    /// Largest fill by the tip's width below the rule level, fraction (1e-4).
    pub max_distal_fill: Option<f64>,
    /// Where that largest fill is, above the lesser trochanter, mm.
    pub max_distal_fill_above_lt_mm: Option<f64>,
    /// Body ML width at the rule level, mm.
    pub ml_width_mm: f64,
    /// What changes against the planned size.
    pub note: String,
    /// The size's offset, mm.
    pub offset_mm: f64,
    /// The size's name.
    pub size: String,
    /// The tip's height above the lesser trochanter, mm.
    pub tip_above_lt_mm: f64,
    /// Canal width at the tip, mm.
    pub tip_canal_mm: Option<f64>,
    /// Tip ML width, mm.
    pub tip_ml_width_mm: f64,
}

/// A femur's fixation suggestion: the anatomy stage's (`anatomy.json`'s `fixation`), and in the
/// plan (`stem.fixation`) with what the planner did with it (`note`, `planned_series_fixation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FixationRecord {
    /// Criteria that could not be measured.
    pub missing: Vec<String>,
    /// What the plan did with the suggestion (in the plan only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The planned series' fixation (in the plan only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_series_fixation: Option<String>,
    /// Criteria that speak for cemented fixation.
    pub reasons: Vec<String>,
    /// The rule, cited.
    pub rule: String,
    /// The femur's side.
    pub side: Side,
    /// `cemented` or `cementless` (`None`: nothing measured).
    pub suggestion: Option<String>,
    /// Criteria within the cementless range.
    pub within: Vec<String>,
}

/// The planned stem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanStemRecord {
    /// Stem anteversion, deg.
    pub anteversion_deg: f64,
    /// What the anteversion is measured against, when not a measured condylar line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anteversion_reference: Option<String>,
    /// SD of the stem anteversion, deg, when the native version is predicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anteversion_sd_deg: Option<f64>,
    /// The canal widths.
    pub canal: PlanCanalRecord,
    /// The stem series.
    pub catalog: String,
    /// Neck-shaft angle, deg.
    pub ccd_deg: Option<f64>,
    /// The bone's fixation suggestion (from a CT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixation: Option<FixationRecord>,
    /// Native femoral anteversion, deg.
    pub native_femoral_anteversion_deg: Option<f64>,
    /// Its SD, deg, when predicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_femoral_anteversion_sd_deg: Option<f64>,
    /// `measured`, `predicted` or `not measured`.
    #[serde(default)]
    pub native_femoral_anteversion_source: String,
    /// The size's offset, mm.
    pub offset_mm: Option<f64>,
    /// Seating depth, mm.
    pub seat_mm: f64,
    /// The planned size.
    pub size: String,
    /// The planned series' sizes down, planned and up.
    pub size_options: Vec<StemSizeOptionRecord>,
    /// The canal used and the rule.
    pub sizing: StemSizingRecord,
}

/// Leg-length and offset targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetsRecord {
    /// Where they come from.
    pub from: String,
    /// Leg-length change target, mm.
    pub leg_length_change_mm: f64,
    /// Offset change target, mm.
    pub offset_change_mm: f64,
}

/// The plan of one hip (`plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanRecord {
    /// Anterior change of the femur, mm.
    pub anterior_change_mm: f64,
    /// Combined anteversion, Widmer's: radiographic cup + 0.7 x stem anteversion
    /// ([`crate::CombinedAnteversion::widmer_deg`]), deg.
    pub combined_anteversion_deg: f64,
    /// Its SD, deg, when the native version is predicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined_anteversion_sd_deg: Option<f64>,
    /// How the numbers are defined.
    pub conventions: PlanConventions,
    /// The coxa version that wrote it.
    pub coxa_version: String,
    /// The cup.
    pub cup: PlanCupRecord,
    /// Whether the plan meets every daily-life need, and if not the change that comes closest
    /// (`None` in plans written before issue 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_life: Option<DailyLifeRecord>,
    /// The head.
    pub head: PlanHeadRecord,
    /// The 90 % intervals of the plan's numbers and the sizes' probabilities (issue 59; `None`
    /// in plans written before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<crate::plan_intervals::PlanIntervalsRecord>,
    /// Leg-length change, mm.
    pub leg_length_change_mm: f64,
    /// The liner.
    pub liner: PlanLinerRecord,
    /// Every motion's limit.
    pub motions: Vec<PlanMotionRecord>,
    /// What the planner worked around or the surgeon should know.
    pub notes: Vec<String>,
    /// The objective of the plan.
    pub objective: ObjectiveRecord,
    /// Offset change, mm.
    pub offset_change_mm: f64,
    /// The Pareto front.
    pub pareto: Vec<ParetoRecord>,
    /// The postures' pelvic tilts, deg.
    pub pelvic_tilt_deg: StandingSitting,
    /// How far the operated femur is imaged below its head centre along the shaft axis, mm,
    /// when the CT ends within the 100 mm of the head the range-of-motion model uses (issue 60):
    /// a motion that ends without contact may then be stopped by femur the CT does not show.
    /// Absent when the femur reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rom_femur_imaged_mm: Option<f64>,
    /// How the optimiser searched.
    pub search: SearchRecord,
    /// The operated side.
    pub side: Side,
    /// The stem.
    pub stem: PlanStemRecord,
    /// Leg-length and offset targets.
    pub targets: TargetsRecord,
}

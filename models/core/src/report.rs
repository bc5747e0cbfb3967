//! The case report: what the stages found and decided for one case, typed. The pipeline builds one
//! [`CaseReport`] from the stages' typed outputs and writes it as `report.json` (one
//! serialisation); the HTML report is made from the same value and the viewer reads it back.
//!
//! The range of motion ([`RomRecord`]) is the ROM stage's output as every consumer sees it: the
//! sweep table, the safe-zone map, the case summary, `coxa rom` and `rom/*.json`.
//!
//! Fields are declared in alphabetical order: the JSON keeps the key order it had when it was
//! assembled by hand (serde_json sorts an untyped object's keys), so `report.json` did not change.
//! The anatomy and the plan are the typed records of their own files ([`AnatomyRecord`],
//! `anatomy/anatomy.json`; [`PlanRecord`], `plan.json`), the same values. The case's input
//! description and the phantom's truth are the user's scenario input and the phantom's own
//! record (`input/phantom_truth.json`), carried as JSON.

pub use crate::lesions_record::{LesionLine, LesionsSummary};
pub use crate::pseudo_mri_record::PseudoMriSummary;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan_record::PlanMotionRecord;
pub use crate::plan_record::{CupAnglePair, StandingSitting};
use crate::{AnatomyRecord, CupAngleDefinition, CupAngles, PlanRecord, Side};

/// Cup angles in the three definitions of Murray (1993), deg: `[inclination, anteversion]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CupAnglesDeg {
    /// Anatomic.
    pub anatomic: [f64; 2],
    /// Operative.
    pub operative: [f64; 2],
    /// Radiographic.
    pub radiographic: [f64; 2],
}

impl CupAnglesDeg {
    /// The three definitions of one orientation, `f` giving it in each.
    pub fn of(f: impl Fn(CupAngleDefinition) -> CupAngles) -> Self {
        let g = |d| {
            let a = f(d);
            [a.inclination.deg(), a.anteversion.deg()]
        };
        Self { radiographic: g(CupAngleDefinition::Radiographic), operative: g(CupAngleDefinition::Operative), anatomic: g(CupAngleDefinition::Anatomic) }
    }

    /// The angles of `definition`.
    pub fn get(&self, definition: CupAngleDefinition) -> [f64; 2] {
        match definition {
            CupAngleDefinition::Radiographic => self.radiographic,
            CupAngleDefinition::Operative => self.operative,
            CupAngleDefinition::Anatomic => self.anatomic,
        }
    }
}

/// The implants a ROM run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RomImplants {
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// Head neck-length offset, mm.
    pub head_offset_mm: f64,
    /// Liner name, or `user cup`.
    pub liner: String,
    /// Neck diameter, mm.
    pub neck_diameter_mm: f64,
    /// Shell outer diameter, mm.
    pub shell_outer_diameter_mm: f64,
    /// `catalog` or `user stem`.
    pub stem: String,
    /// Stem neck-shaft (CCD) angle, deg.
    pub stem_ccd_deg: f64,
    /// From the head's gauge point along the stem's neck to its shoulder, mm (the catalog stem's;
    /// absent for a user stem and in records written before issue 60): where the neck is cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem_neck_length_mm: Option<f64>,
}

/// One motion's limit as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MotionRecord {
    /// `none`, `implant`, `bone` or `mixed` (the first contact's kind).
    pub contact: String,
    /// Where the first contact is, LPS mm of the pelvis as imaged (0.01 mm).
    pub contact_point_lps_mm: Option<[f64; 3]>,
    /// The driven angle at the last pose free of contact, deg (0.1 deg).
    pub limit_deg: f64,
    /// The motion's name.
    pub name: String,
    /// Which parts touched (e.g. `neck-liner_rim`).
    pub parts: Option<String>,
    /// Posterior pelvic tilt of the posture, deg.
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

impl MotionRecord {
    /// Limit minus requirement, deg (daily-life motions only).
    pub fn margin_deg(&self) -> Option<f64> {
        Some(self.limit_deg - self.required_deg?)
    }
}

impl From<&PlanMotionRecord> for MotionRecord {
    fn from(m: &PlanMotionRecord) -> Self {
        Self {
            contact: m.contact.clone(),
            contact_point_lps_mm: m.contact_point_lps_mm,
            limit_deg: m.limit_deg,
            name: m.name.clone(),
            parts: m.parts.clone(),
            pelvic_tilt_deg: m.pelvic_tilt_deg,
            posture: m.posture.clone(),
            required_deg: m.required_deg,
            start_in_contact: m.start_in_contact,
            structures: m.structures.clone(),
        }
    }
}

/// The range of motion of one hip: the ROM stage's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RomRecord {
    /// Cup orientation relative to the sitting body, deg.
    pub cup_functional_sitting_deg: CupAnglesDeg,
    /// Cup orientation relative to the standing body, deg.
    pub cup_functional_standing_deg: CupAnglesDeg,
    /// Cup orientation in the pelvic frame, deg.
    pub cup_pelvic_deg: CupAnglesDeg,
    /// The implants.
    pub implants: RomImplants,
    /// How the joint angles are defined.
    pub joint_angles: String,
    /// Every motion's limit.
    pub motions: Vec<MotionRecord>,
    /// Oscillation angle of the implant pair, deg (0.01 deg).
    pub oscillation_angle_deg: f64,
    /// Which frame the cup angles are in.
    pub pelvic_frame: String,
    /// The postures' pelvic tilts, deg.
    pub pelvic_tilt_deg: StandingSitting,
    /// The operated side.
    pub side: Side,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
}

impl RomRecord {
    /// The smallest margin (limit - required) over the daily-life motions, deg.
    pub fn min_adl_margin_deg(&self) -> Option<f64> {
        self.motions.iter().filter_map(MotionRecord::margin_deg).min_by(f64::total_cmp)
    }

    /// The motion called `name`.
    pub fn motion(&self, name: &str) -> Option<&MotionRecord> {
        self.motions.iter().find(|m| m.name == name)
    }
}

/// Where the implants of the report's primary sweep point are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlacementRecord {
    /// Combined anteversion, the plain sum: operative cup + stem anteversion
    /// ([`crate::CombinedAnteversion::plain_sum_deg`]), deg.
    pub combined_anteversion_deg: f64,
    /// The cup in each definition (`radiographic`, `operative`, `anatomic`), 0.01 deg.
    pub cup_angles: BTreeMap<String, CupAnglePair>,
    /// Cup centre, LPS mm (0.01 mm).
    pub cup_centre_lps_mm: [f64; 3],
    /// The implants.
    pub implants: RomImplants,
    /// Planned by the optimiser or fixed by the scenario.
    pub source: String,
    /// Stem anteversion, deg (0.01 deg).
    pub stem_anteversion_deg: f64,
}

/// One motion of a sweep row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepMotion {
    /// First contact's kind.
    pub contact: String,
    /// Limit, deg.
    pub limit_deg: f64,
    /// Name.
    pub name: String,
}

/// One sweep point of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepRow {
    /// Cup anteversion, deg (in the point's definition).
    pub cup_anteversion_deg: f64,
    /// Cup inclination, deg.
    pub cup_inclination_deg: f64,
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// The point's label.
    pub label: String,
    /// Liner.
    pub liner: String,
    /// Smallest daily-life margin, deg.
    pub min_adl_margin_deg: Option<f64>,
    /// Every motion's limit.
    pub motions: Vec<SweepMotion>,
    /// Standing pelvic tilt, deg.
    pub standing_tilt_deg: f64,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
}

/// Lewinnek's zone, deg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LewinnekZone {
    /// Anteversion range.
    pub anteversion: [f64; 2],
    /// Inclination range.
    pub inclination: [f64; 2],
}

/// Every motion over a grid of radiographic cup angles around the primary point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SafeZoneMap {
    /// The grid's anteversions, deg.
    pub anteversions_deg: Vec<f64>,
    /// The angles' definition.
    pub definition: String,
    /// The grid's inclinations, deg.
    pub inclinations_deg: Vec<f64>,
    /// Lewinnek's zone.
    pub lewinnek_deg: LewinnekZone,
    /// Each cell's motion limits (`[inclination][anteversion]`, name -> deg).
    pub limits_deg: Vec<Vec<BTreeMap<String, f64>>>,
    /// Each cell's smallest daily-life margin, deg.
    pub min_adl_margin_deg: Vec<Vec<Option<f64>>>,
}

/// A picture of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PictureRecord {
    /// File, relative to the case folder.
    pub file: String,
    /// Camera view (`pelvis_ap`, `hip_ap`, `hip_lateral`, `hip_superior`).
    pub view: String,
}

/// The abductors' lever, one state of the hip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AbductorRecord {
    /// Maximum abduction moment, N m (0.1).
    pub max_moment_nm: f64,
    /// Force-weighted mean moment arm, mm (0.1).
    pub mean_moment_arm_mm: f64,
}

/// The hip contact force of one activity, one state of the hip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HipLoadRecord {
    /// Force of the acetabulum on the head in the model's femur frame, % body weight (0.1).
    pub force_femur_percent_bw: [f64; 3],
    /// Its magnitude, % body weight (0.1).
    pub magnitude_percent_bw: f64,
    /// Every muscle's force, N (0.01 N; for OpenSim's `.sto`).
    #[serde(default)]
    pub muscle_forces_n: BTreeMap<String, f64>,
    /// The net internal hip moments the muscles balanced, `[abductor, extensor, external
    /// rotator]`, N m per kg of body mass (0.001), pelvis frame: the posture's, or walking's
    /// measured ones when the scenario gives them.
    #[serde(default)]
    pub net_hip_moment_n_m_per_kg: [f64; 3],
}

/// A value before and after the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NativePlanned<T> {
    /// The native hip.
    pub native: T,
    /// The planned hip.
    pub planned: T,
}

/// One activity's hip load before and after the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityLoadRecord {
    /// `one-leg-stance` or `walking`.
    pub activity: String,
    /// The native hip.
    pub native: HipLoadRecord,
    /// The planned hip.
    pub planned: HipLoadRecord,
}

/// The plan's change of the hip as the musculoskeletal model takes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MskChangeRecord {
    /// Hip-centre shift in the model's pelvis axes (x anterior, y up, z right), mm (0.1).
    pub cor_shift_model_pelvis_mm: [f64; 3],
    /// Leg-length change, mm.
    pub leg_length_change_mm: f64,
    /// Offset change, mm.
    pub offset_change_mm: f64,
}

/// One model muscle line's maximum isometric force, generic and from the patient's CT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StrengthLineRecord {
    /// The model muscle (the operated hip is the model's right side, `_r`).
    pub muscle: String,
    /// The CT class it was given from (e.g. `gluteus_medius_left`).
    pub ct_class: String,
    /// Generic model, N (0.1).
    pub generic_n: f64,
    /// Personalised, N (0.1).
    pub personalised_n: f64,
    /// `volume` (lean volume / optimal fibre length x specific tension), `generic_times_side_ratio`
    /// (the class is cut by the scan: the generic force times the left/right lean-volume
    /// ratio) or `generic_cut` (cut, other side unknown: generic).
    pub source: String,
}

/// The same hip, generic and personalised strength, in one activity (see [`MskStrengthRecord::effect`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StrengthEffectRecord {
    /// `one-leg-stance` or `walking`.
    pub activity: String,
    /// Hip contact force magnitude, % body weight (0.1): generic, personalised.
    pub hcf_percent_bw: [f64; 2],
    /// Summed force of the operated hip's abductors (gluteus medius, minimus, tensor fasciae
    /// latae), N (0.1): generic, personalised.
    pub abductor_force_n: [f64; 2],
    /// Their summed force over their summed maximum isometric force (the demand), % (0.1):
    /// generic, personalised.
    pub abductor_demand_percent: [f64; 2],
    /// The hip contact force in the patient's OrthoLoad femoral frame, % body weight: generic,
    /// personalised (when the femur's OrthoLoad landmarks were given: `coxa hcf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcf_orthoload_percent_bw: Option<[[f64; 3]; 2]>,
}

/// The patient's muscle strength from the CT (issue 20) and its effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MskStrengthRecord {
    /// How the forces were made.
    pub method: String,
    /// Specific tension, N/cm².
    pub specific_tension_n_per_cm2: f64,
    /// Every personalised line, both sides.
    pub lines: Vec<StrengthLineRecord>,
    /// CT classes the label map did not have (their lines keep the generic force).
    pub classes_not_measured: Vec<String>,
    /// Muscles crossing the operated hip with no CT counterpart (generic force kept).
    pub no_ct_counterpart: Vec<String>,
    /// Generic against personalised, per activity: the native hip in a case's report, the planned
    /// hip in `coxa hcf` (which solves only that one).
    pub effect: Vec<StrengthEffectRecord>,
    /// Generic against personalised maximum abduction moment of the operated hip, N m (0.1).
    pub max_abduction_moment_nm: [f64; 2],
}

/// One bone of the model registered onto the patient's surface (`[msk] geometry = "bones"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BoneRegistrationRecord {
    /// The model's body (`pelvis`, `femur_r`, `femur_l`; the operated side is the model's right).
    pub body: String,
    /// The similarity's scale (patient size / generic size).
    pub scale: f64,
    /// Registered template to the patient's surface: RMS distance, mm.
    pub rms_mm: f64,
    /// Mean distance, mm.
    pub mean_mm: f64,
    /// Largest distance, mm.
    pub max_mm: f64,
    /// The patient's surface to the registered template: RMS distance, mm.
    pub patient_to_template_rms_mm: f64,
    /// The displacement field's smoothing (warp against registered vertices), RMS mm.
    pub field_rms_mm: f64,
    /// Warped generic head centre to the measured one, mm (femurs).
    pub head_centre_offset_mm: Option<f64>,
    /// The template's vertices (reports before 2026-12: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_vertices: Option<usize>,
    /// Of them, the ones registered onto the patient's surface (reports before 2026-12: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_vertices: Option<usize>,
}

/// Which bone geometry the musculoskeletal model got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MskGeometryRecord {
    /// `landmarks` (the pelvis scaled by the femoral head distance) or `bones` (the model's
    /// pelvis and femurs registered onto the case's bone surfaces).
    pub source: String,
    /// With `bones`: each registered bone's residuals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bones: Vec<BoneRegistrationRecord>,
    /// With `bones`: what could not be carried exactly, and the joint centres' sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The musculoskeletal stage's output: the abductors and the hip load before and after the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MskRecord {
    /// The model's bone geometry: landmark scaling or registration onto the patient's bones
    /// (absent in reports of coxa before 2026-11: landmarks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<MskGeometryRecord>,
    /// The abductors' lever.
    pub abductors: NativePlanned<AbductorRecord>,
    /// Each activity's hip contact force.
    pub activities: Vec<ActivityLoadRecord>,
    /// Body weight, N.
    pub body_weight_n: f64,
    /// The change applied.
    pub change: MskChangeRecord,
    /// How the model was made and solved.
    pub method: String,
    /// The model's file name.
    pub model: Option<String>,
    /// The pelvis' scale factor (None: not scaled).
    pub pelvis_scale: Option<f64>,
    /// The patient's muscle strength from the CT, when the case has muscle labels; then
    /// `abductors` and `activities` are those of the personalised model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<MskStrengthRecord>,
}

/// The report of one case (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseReport {
    /// The anatomy stage's record (`anatomy/anatomy.json`).
    pub anatomy: AnatomyRecord,
    /// The case's name.
    pub case: String,
    /// The definition the report's decision gives the cup angles in (Murray 1993), as the
    /// surgeon chose it (`[report] cup_definition`, `coxa plan --cup-definition`); absent: the
    /// radiographic one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cup_definition: Option<crate::CupAngleDefinition>,
    /// The coxa version that wrote it.
    pub coxa_version: String,
    /// What the case was made from (file names only).
    pub input: Value,
    /// The musculoskeletal stage's loads before and after, if it ran.
    pub msk: Option<MskRecord>,
    /// The built-in phantom's truth, if the case is the phantom.
    pub phantom_truth: Option<Value>,
    /// The pictures.
    pub pictures: Vec<PictureRecord>,
    /// The primary point's placement.
    pub placement: PlacementRecord,
    /// When the plan on this report was made, UTC, RFC 3339 to the second (`coxa plan`/`coxa
    /// run`: when the report was written; a revision: its save time); absent in reports written
    /// before issue 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_utc: Option<String>,
    /// The plan's revision: 0 for the automatic plan, N for the surgeon's N-th revision saved in
    /// `coxa view` (plan.json's `revision.number`).
    #[serde(default)]
    pub revision: u64,
    /// The plan (`plan.json`), if the primary point was planned.
    pub plan: Option<PlanRecord>,
    /// The radiomics stage's result, if it ran (absent from the file otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radiomics: Option<RadiomicsRecord>,
    /// A learned model's segmentation of the case's CT with its uncertainty, if one ran
    /// (absent from the file otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<SegmentationRecord>,
    /// The pseudo-MRI made from the CT, if the `[pseudo_mri]` stage ran (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_mri: Option<PseudoMriSummary>,
    /// The bone lesion candidates, if the `[lesions]` stage ran (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesions: Option<LesionsSummary>,
    /// The primary point's range of motion.
    pub rom: RomRecord,
    /// The safe-zone map, if asked for.
    pub safe_zone: Option<SafeZoneMap>,
    /// The scenario's name.
    pub scenario: String,
    /// The operated side.
    pub side: Side,
    /// Every sweep point.
    pub sweep: Vec<SweepRow>,
    /// What the user should know.
    pub warnings: Vec<String>,
}

/// Predictive entropy above which a learned segmentation is called uncertain, nats: the entropy
/// of a voxel split 90 % / 10 % between two classes (0.9 ln 1/0.9 + 0.1 ln 1/0.1 = 0.3251). The
/// report flags a structure whose mean is above it; the viewer tints the voxels above it.
pub const UNCERTAIN_ENTROPY_NATS: f64 = 0.325;

/// A learned model's segmentation of the case's CT (`anatomy/segment.json`), summarised: per
/// structure its volume and mean uncertainty, flagged where the model is unsure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SegmentationRecord {
    /// The model's name (its card's).
    pub model: String,
    /// The model's version.
    pub version: String,
    /// The card says this is a test model (never for clinical use).
    pub test_model: bool,
    /// Members averaged (folds x mirrors x Monte Carlo passes).
    pub members: usize,
    /// The uncertainty map (predictive entropy, nats), relative to the case folder.
    pub uncertainty_file: String,
    /// The model's label map, relative to the case folder.
    pub labels_file: String,
    /// A structure is flagged when its mean uncertainty is above this, nats.
    pub flag_threshold_nats: f64,
    /// Why that threshold.
    pub flag_rule: String,
    /// What the case did with the model's labels.
    pub use_note: String,
    /// Every structure the model segments (background left out).
    pub structures: Vec<SegmentedStructure>,
}

/// One structure of a [`SegmentationRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SegmentedStructure {
    /// Structure name (the card's).
    pub name: String,
    /// Label id in the label map.
    pub label: u16,
    /// Volume, ml.
    pub volume_ml: f64,
    /// Mean predictive entropy over its voxels, nats (none when it has no voxels).
    pub mean_uncertainty_nats: Option<f64>,
    /// Mean disagreement of the members (mutual information) over its voxels, nats.
    pub mean_disagreement_nats: Option<f64>,
    /// Its mean uncertainty is above the record's threshold, or it has no voxels.
    pub flagged: bool,
}

/// The radiomics stage's result: the case's `radiomics.csv` (every feature) summarised, and the
/// prognosis model's probabilities per structure when the stage ran one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RadiomicsRecord {
    /// The case's table, in the case folder.
    pub file: String,
    /// Features per structure in the table (without the model's columns).
    pub features: usize,
    /// The structures, in the table's order.
    pub structures: Vec<RadiomicsStructure>,
    /// The model run on each structure's features, if any.
    pub model: Option<RadiomicsModel>,
}

/// One structure's row of the radiomics table, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RadiomicsStructure {
    /// Structure name (coxa's class table).
    pub name: String,
    /// Label value in the label map.
    pub label: u32,
    /// pyradiomics' `original_shape_VoxelVolume`, ml (when computed).
    pub volume_ml: Option<f64>,
    /// pyradiomics' `original_firstorder_Mean`: the mean intensity, HU for a CT (when computed).
    pub mean_hu: Option<f64>,
    /// The model's class probabilities, in [`RadiomicsModel::classes`]' order (empty without one).
    pub probabilities: Vec<f64>,
}

/// The tabular model the radiomics stage ran, as its card names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RadiomicsModel {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Whether its card says it is a test model (not for clinical use).
    pub test_model: bool,
    /// The card's description.
    pub description: String,
    /// The features it reads, by pyradiomics name.
    pub features: Vec<String>,
    /// Its classes.
    pub classes: Vec<String>,
}

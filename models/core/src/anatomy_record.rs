//! The anatomy record: what `anatomy/anatomy.json` is, typed. The anatomy stage builds one
//! [`AnatomyRecord`] from what it found (landmarks, canals, density, muscles, files) and writes
//! it once; `report.json` carries the same value and the report reads its fields.
//!
//! It describes the stage's typed outputs for people and other tools (landmarks in both frames,
//! with their quality and source); the later stages use the typed outputs themselves
//! ([`PatientLandmarks`](crate::PatientLandmarks), [`FemoralCanal`](crate::FemoralCanal)), not this.
//!
//! Fields are declared in alphabetical order: `anatomy.json` was assembled as an untyped JSON
//! object (serde_json sorts its keys), and this keeps its bytes. What only a CT (or a label map
//! with muscles) gives is skipped when absent, as it was.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan_record::FixationRecord;
use crate::{CupAngleDefinition, DorrType, Quality, Side, Source};

/// How the record's numbers are defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AnatomyConventions {
    /// Angle units and definitions.
    pub angles: String,
    /// The LPS frame.
    pub lps: String,
    /// The pelvic frame.
    pub pelvic_frame: String,
}

/// The CT the anatomy was found on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CtRecord {
    /// DICOM files read (0 for NIfTI/NRRD).
    pub n_files: usize,
    /// Voxels `[i, j, k]`.
    pub size: [usize; 3],
    /// Voxel spacing, mm.
    pub spacing_mm: [f64; 3],
}

/// A point landmark in both frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LandmarkRecord {
    /// LPS mm.
    pub lps_mm: [f64; 3],
    /// What was worked around.
    pub note: Option<String>,
    /// Pelvic frame mm (`None`: no pelvic frame).
    pub pelvic_mm: Option<[f64; 3]>,
    /// How well it is determined.
    pub quality: Quality,
    /// Measured, predicted or assumed.
    pub source: Source,
}

/// An axis landmark in both frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AxisRecord {
    /// Unit direction, LPS.
    pub direction_lps: [f64; 3],
    /// Unit direction, pelvic frame.
    pub direction_pelvic: Option<[f64; 3]>,
    /// What was worked around.
    pub note: Option<String>,
    /// A point on it, LPS mm.
    pub point_lps_mm: [f64; 3],
    /// How well it is determined.
    pub quality: Quality,
    /// Measured, predicted or assumed.
    pub source: Source,
}

/// A femoral head's fitted sphere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FemoralHeadRecord {
    /// Centre, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Centre, pelvic frame mm.
    pub centre_pelvic_mm: Option<[f64; 3]>,
    /// RMS of the sphere fit, mm.
    pub fit_rms_mm: f64,
    /// CT voxels above the metal threshold inside the head (from a CT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metal_voxels_inside: Option<usize>,
    /// How well the centre is determined.
    pub quality: Quality,
    /// Radius, mm.
    pub radius_mm: f64,
    /// The side.
    pub side: Side,
}

/// The posterior condyles, LPS mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CondylesRecord {
    /// Lateral condyle.
    pub lateral: [f64; 3],
    /// Medial condyle.
    pub medial: [f64; 3],
}

/// The shape model's prediction of a femur's rotation (condyles not imaged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AnteversionPredictionRecord {
    /// The femoral offset (head centre to shaft axis) of the predicted whole femur, mm; absent
    /// where the femur is not imaged far enough below the lesser trochanter for it (issue 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub femoral_offset_mm: Option<f64>,
    /// Its SD, mm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub femoral_offset_sd_mm: Option<f64>,
    /// RMS of the fit to the imaged femur, mm.
    pub fit_rms_mm: f64,
    /// How the femoral frame is made from the prediction.
    pub frame: String,
    /// How far the imaged femur reaches below the predicted femur's lesser trochanter, mm
    /// (negative: it stops above it); the neck-shaft angle and the offset are predicted from
    /// 30 mm on (`coxa_shape::gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`, issue 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imaged_below_lesser_trochanter_mm: Option<f64>,
    /// The shape model.
    pub model: String,
    /// Posterior samples the SD is taken over.
    pub n_posterior_samples: usize,
    /// Angle of the predicted shaft from the pelvic superior axis, deg.
    pub shaft_from_superior_deg: Option<f64>,
}

/// A femur's landmarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FemurRecord {
    /// How the anteversion is defined.
    pub anteversion_definition: String,
    /// Femoral anteversion, deg.
    pub anteversion_deg: Option<f64>,
    /// The shape model's prediction, when the condyles are not imaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anteversion_prediction: Option<AnteversionPredictionRecord>,
    /// The prediction's SD, deg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anteversion_sd_deg: Option<f64>,
    /// `measured`, `predicted` or `not measured`.
    #[serde(default)]
    pub anteversion_source: String,
    /// Greater trochanter.
    pub greater_trochanter: LandmarkRecord,
    /// Head centre.
    pub head_centre: LandmarkRecord,
    /// Head radius, mm.
    pub head_radius_mm: f64,
    /// Lesser trochanter.
    pub lesser_trochanter: LandmarkRecord,
    /// Neck axis.
    pub neck_axis: AxisRecord,
    /// Neck-shaft angle, deg.
    pub neck_shaft_angle_deg: Option<f64>,
    /// The neck-shaft angle's SD, deg, when predicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neck_shaft_angle_sd_deg: Option<f64>,
    /// `predicted` when the shape model predicted the neck-shaft angle (the shaft below the
    /// imaged femur missing); absent when measured or not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neck_shaft_angle_source: Option<String>,
    /// Posterior condyles.
    pub posterior_condyles_lps_mm: Option<CondylesRecord>,
    /// Shaft axis.
    pub shaft_axis: AxisRecord,
    /// The side.
    pub side: Side,
}

/// An acetabulum's fitted socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcetabulumRecord {
    /// Socket centre.
    pub centre: LandmarkRecord,
    /// RMS of the sphere fit, mm.
    pub fit_rms_mm: f64,
    /// Dysplasia and osteoarthritis measures (issue 62; absent without a pelvic frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dysplasia: Option<crate::dysplasia::DysplasiaRecord>,
    /// Rim points found.
    pub n_rim_points: usize,
    /// Opening axis, LPS.
    pub opening_axis_lps: [f64; 3],
    /// Socket radius, mm.
    pub radius_mm: f64,
    /// A point of the rim plane, LPS mm.
    pub rim_plane_point_lps_mm: [f64; 3],
    /// The side.
    pub side: Side,
}

/// The pelvic frame's origin and axes in LPS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameRecord {
    /// Origin, LPS mm.
    pub origin_lps_mm: [f64; 3],
    /// +x, LPS.
    pub x_axis_lps: [f64; 3],
    /// +y, LPS.
    pub y_axis_lps: [f64; 3],
    /// +z, LPS.
    pub z_axis_lps: [f64; 3],
}

/// A native acetabulum's orientation in one definition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NativeAnglesRecord {
    /// Anteversion, deg.
    pub anteversion_deg: f64,
    /// Murray's definition.
    pub definition: CupAngleDefinition,
    /// Inclination, deg.
    pub inclination_deg: f64,
    /// The side.
    pub side: Side,
}

/// The pelvis' landmarks and frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PelvisRecord {
    /// Left ASIS.
    pub asis_left: LandmarkRecord,
    /// Right ASIS.
    pub asis_right: LandmarkRecord,
    /// The pelvic frame.
    pub frame: FrameRecord,
    /// The native acetabula's angles, every side and definition.
    pub native_acetabular_angles: Vec<NativeAnglesRecord>,
    /// Left pubic tubercle.
    pub pubic_tubercle_left: LandmarkRecord,
    /// Right pubic tubercle.
    pub pubic_tubercle_right: LandmarkRecord,
}

/// One level of a femoral canal (0.01 mm, HU to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CanalLevelRecord {
    /// Height above the lesser trochanter, mm.
    pub above_lesser_trochanter_mm: f64,
    /// AP canal width, mm.
    pub ap_canal_mm: f64,
    /// AP outer width, mm.
    pub ap_outer_mm: f64,
    /// Mean HU inside the canal.
    pub canal_hu: f64,
    /// Canal centre, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// ML canal width, mm.
    pub ml_canal_mm: f64,
    /// ML outer width, mm.
    pub ml_outer_mm: f64,
}

/// A femoral canal measured on the CT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CanalRecord {
    /// Calcar-isthmus ratio.
    pub calcar_isthmus_ratio: Option<f64>,
    /// Canal-calcar ratio.
    pub canal_calcar_ratio: Option<f64>,
    /// Canal flare index.
    pub canal_flare_index: Option<f64>,
    /// Cortical index.
    pub cortical_index: Option<f64>,
    /// Cortical thickness index (the cortical index, by its other name).
    pub cortical_thickness_index: Option<f64>,
    /// 100 mm below the lesser trochanter.
    pub dorr_level_100mm_below_lt: Option<CanalLevelRecord>,
    /// Dorr's type.
    pub dorr_type: Option<DorrType>,
    /// The isthmus.
    pub isthmus: Option<CanalLevelRecord>,
    /// Whether the isthmus is imaged.
    pub isthmus_imaged: bool,
    /// At the lesser trochanter.
    pub lesser_trochanter: Option<CanalLevelRecord>,
    /// Levels with metal, mm.
    pub metal_levels_mm: Vec<f64>,
    /// 20 mm above the lesser trochanter.
    pub metaphysis_20mm_above_lt: Option<CanalLevelRecord>,
    /// How the canal is measured.
    pub method: String,
    /// What was worked around.
    pub notes: Vec<String>,
    /// Every level measured.
    pub profile: Vec<CanalLevelRecord>,
    /// How well it is determined.
    pub quality: Quality,
    /// The side.
    pub side: Side,
}

/// A value at the femoral neck, the trochanter and the total hip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegionsRecord {
    /// Femoral neck.
    pub neck: Option<f64>,
    /// Total hip.
    pub total_hip: Option<f64>,
    /// Trochanter.
    pub trochanter: Option<f64>,
}

/// A value at the femoral neck and the total hip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NeckTotalRecord {
    /// Femoral neck.
    pub neck: Option<f64>,
    /// Total hip.
    pub total_hip: Option<f64>,
}

/// A reference tissue of the internal calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReferenceTissueRecord {
    /// Its nominal equivalent density, mg/cm³.
    pub equivalent_mg_cm3: f64,
    /// Interquartile range, HU.
    pub iqr_hu: f64,
    /// Median, HU.
    pub median_hu: f64,
    /// Where its voxels come from.
    pub source: String,
    /// The tissue.
    pub tissue: String,
    /// Voxels.
    pub voxels: usize,
}

/// The internal (phantomless) density calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CalibrationRecord {
    /// What the equivalent densities are.
    pub equivalent_densities: String,
    /// Intercept, HU.
    pub intercept_hu: f64,
    /// How it is made.
    pub method: String,
    /// The reference tissues.
    pub references: Vec<ReferenceTissueRecord>,
    /// Slope, HU per mg/cm³.
    pub slope_hu_per_mg_cm3: f64,
}

/// A reference mean and SD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MeanSdRecord {
    /// Mean.
    pub mean: f64,
    /// Mean ± 2 SD.
    pub mean_pm_2sd: [f64; 2],
    /// SD.
    pub sd: f64,
}

/// Young-adult aBMD references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AbmdReferenceRecord {
    /// Femoral neck, g/cm².
    pub neck: MeanSdRecord,
    /// The reference population.
    pub source: String,
    /// Total hip, g/cm².
    pub total_hip: MeanSdRecord,
}

/// The cited normal ranges beside a density.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NormalRangesRecord {
    /// Young-adult aBMD.
    pub abmd_young_adult_g_cm2: AbmdReferenceRecord,
    /// T-score categories.
    pub t_score: String,
    /// About vBMD.
    pub vbmd: String,
    /// YAM categories.
    pub yam_percent: String,
    /// The YAM reference.
    pub yam_reference: String,
}

/// One femur's bone density.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BoneDensityRecord {
    /// Areal BMD, g/cm² (0.001).
    pub abmd_g_cm2: RegionsRecord,
    /// Projected areas, cm² (0.01).
    pub area_cm2: RegionsRecord,
    /// The calibration.
    pub calibration: CalibrationRecord,
    /// Japanese category.
    pub category: Option<String>,
    /// What kept a region from being measured (`metal`, `cut`).
    pub flags: Vec<String>,
    /// Whether any aBMD was measured.
    pub measured: bool,
    /// Neck box centre from the head centre, mm.
    pub neck_box_centre_from_head_mm: Option<f64>,
    /// Neck width, mm.
    pub neck_width_mm: Option<f64>,
    /// The cited normal ranges.
    pub normal_ranges: NormalRangesRecord,
    /// What was worked around.
    pub notes: Vec<String>,
    /// The side.
    pub side: Side,
    /// T-scores.
    pub t_score: NeckTotalRecord,
    /// Volumetric BMD, mg/cm³ (0.1).
    pub vbmd_mg_cm3: RegionsRecord,
    /// WHO category.
    pub who_category: Option<String>,
    /// Percent of the young-adult mean.
    pub yam_percent: NeckTotalRecord,
}

/// A muscle's measures on the CT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MuscleRecord {
    /// Whether the scan cuts it.
    pub cut_by_scan: bool,
    /// Fat fraction.
    pub fat_fraction: f64,
    /// Its label id.
    pub label: u16,
    /// Lean fraction.
    pub lean_fraction: f64,
    /// Mean HU.
    pub mean_hu: f64,
    /// Voxels.
    pub n_voxels: usize,
    /// Class name.
    pub name: String,
    /// SD of HU.
    pub sd_hu: f64,
    /// Its side.
    pub side: Option<Side>,
    /// Volume, cm³.
    pub volume_cm3: f64,
}

/// A muscle's left-right asymmetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MuscleAsymmetryRecord {
    /// Fat fraction difference, percentage points.
    pub fat_fraction_difference_pp: f64,
    /// The muscle.
    pub muscle: String,
    /// Volume asymmetry, %.
    pub volume_asymmetry_percent: f64,
}

/// A label id and its class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LabelClassRecord {
    /// Id.
    pub id: u16,
    /// Class name.
    pub name: String,
}

/// A label id's voxel count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LabelCountRecord {
    /// Id.
    pub id: u16,
    /// Voxels.
    pub n: usize,
}

/// The label map's files for 3D Slicer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlicerFilesRecord {
    /// Colour table.
    pub colour_table: String,
    /// Segmentation.
    pub segmentation: String,
}

/// The label map written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LabelsRecord {
    /// Its classes.
    pub classes: Vec<LabelClassRecord>,
    /// The file.
    pub file: String,
    /// The 3D Slicer files.
    pub slicer: SlicerFilesRecord,
    /// Voxels per id.
    pub voxels: Vec<LabelCountRecord>,
}

/// One bone's landmark files for 3D Slicer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MarkupFilesRecord {
    /// Slicer's legacy `.fcsv`.
    pub fcsv: String,
    /// The landmarks' labels, in file order.
    pub labels: Vec<String>,
    /// Slicer's `.mrk.json`.
    pub mrk_json: String,
}

/// An entry of `landmark_files`: a bone's files, or (under `notes`) what is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum LandmarkFilesEntry {
    /// A bone's files.
    Files(MarkupFilesRecord),
    /// The notes.
    Notes(Vec<String>),
}

/// The anatomy of one case (`anatomy/anatomy.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AnatomyRecord {
    /// Every acetabulum found.
    pub acetabula: Vec<AcetabulumRecord>,
    /// Each femur's density (from a CT with a label map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bone_density: Option<Vec<BoneDensityRecord>>,
    /// How the numbers are defined.
    pub conventions: AnatomyConventions,
    /// The coxa version that wrote it.
    pub coxa_version: String,
    /// The CT (none from surfaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct: Option<CtRecord>,
    /// The HU range counted as fat in the muscles (from a CT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fat_hu_range: Option<[f32; 2]>,
    /// The femoral canals (from a CT).
    pub femoral_canals: Vec<CanalRecord>,
    /// Every femoral head found.
    pub femoral_heads: Vec<FemoralHeadRecord>,
    /// Every femur's landmarks.
    pub femurs: Vec<FemurRecord>,
    /// Each femur's fixation suggestion.
    pub fixation: Vec<FixationRecord>,
    /// The label map written (from a CT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelsRecord>,
    /// The landmark files by bone, and `notes`.
    pub landmark_files: BTreeMap<String, LandmarkFilesEntry>,
    /// The bone surfaces written, by class name.
    pub meshes: BTreeMap<String, String>,
    /// Left-right asymmetry of the hip muscles (from a CT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muscle_asymmetry: Option<Vec<MuscleAsymmetryRecord>>,
    /// The muscles' measures (from a CT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muscles: Option<Vec<MuscleRecord>>,
    /// The pelvis (`None`: no anterior pelvic plane).
    pub pelvis: Option<PelvisRecord>,
    /// What the stage worked around or could not find.
    pub warnings: Vec<String>,
}

impl AnatomyRecord {
    /// The femur of `side`.
    pub fn femur(&self, side: Side) -> Option<&FemurRecord> {
        self.femurs.iter().find(|f| f.side == side)
    }

    /// The fitted head of `side`.
    pub fn femoral_head(&self, side: Side) -> Option<&FemoralHeadRecord> {
        self.femoral_heads.iter().find(|f| f.side == side)
    }
}

//! Mirrors of the records assembled as JSON where they are written: the simulated radiograph's
//! measures (`crate::xray`, built up piece by piece as the measures are found) and the
//! phantoms' truth (`crate::pipeline`, `crate::shape_phantom`). The types exist for their
//! schemas only; the end-to-end test validates the files written against them
//! (`scenarios/tests/coxa/records.rs`), so a mirror that drifts fails there.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// `pictures/xray_ap.json`, `coxa xray`'s `<image>.json`: a simulated radiograph's geometry, its
/// calibration ball and, on an AP view, the measures a surgeon templates with.
#[derive(Serialize, JsonSchema)]
pub struct XrayFile {
    /// `ap-pelvis` or `lateral-hip`.
    pub view: String,
    /// `table` (the CT's axes) or `pelvis` (the anterior pelvic plane).
    pub align: String,
    /// Where the central ray goes: `pelvis` or `hip`.
    pub centre: String,
    /// Where the landmarks came from.
    pub landmarks: String,
    /// The projection's geometry.
    pub geometry: XrayGeometryFile,
    /// The calibration ball and the magnification it gives.
    pub calibration_ball: CalibrationBallFile,
    /// What may make the measures wrong.
    pub warnings: Vec<String>,
    /// Why the AP measures are missing, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measures_note: Option<String>,
    /// The teardrop line (AP view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teardrop_line: Option<TeardropLineFile>,
    /// Each femur's measures, by side (`left`, `right`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sides: Option<BTreeMap<String, XraySideFile>>,
    /// The leg length difference on the radiograph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg_length_difference_mm: Option<LegLengthFile>,
    /// The planned cup as the radiograph shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cup: Option<XrayCupFile>,
    /// The plan's changes on the radiograph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<XrayPlannedFile>,
}

/// The projection of an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct XrayGeometryFile {
    /// Source to detector, mm.
    pub source_to_image_mm: f64,
    /// Source to the hips, mm.
    pub source_to_hips_mm: f64,
    /// Magnification at the hips.
    pub magnification_at_hips: f64,
    /// Detector pixel size, mm.
    pub imager_pixel_spacing_mm: f64,
    /// Detector columns.
    pub columns: usize,
    /// Detector rows.
    pub rows: usize,
    /// The source, LPS mm.
    pub source_lps_mm: [f64; 3],
    /// Pixel (0, 0), LPS mm.
    pub pixel_0_0_lps_mm: [f64; 3],
    /// Along a row, LPS.
    pub column_direction_lps: [f64; 3],
    /// Down a column, LPS.
    pub row_direction_lps: [f64; 3],
}

/// The calibration ball of an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct CalibrationBallFile {
    /// Its diameter, mm.
    pub diameter_mm: f64,
    /// Its centre on the image, pixels.
    pub centre_px: [f64; 2],
    /// Its diameter measured on the image (null when not measured).
    pub measured_diameter_px: Option<f64>,
    /// The magnification it gives.
    pub magnification: Option<f64>,
    /// mm per pixel at the hips.
    pub mm_per_pixel_at_hips: Option<f64>,
}

/// The teardrop line of an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct TeardropLineFile {
    /// The right teardrop, pixels.
    pub right_px: [f64; 2],
    /// The left teardrop, pixels.
    pub left_px: [f64; 2],
    /// How the teardrops were found.
    pub note: String,
}

/// One femur's measures in an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct XraySideFile {
    /// The lesser trochanter below the teardrop line, mm.
    pub lesser_trochanter_below_teardrop_line_mm: f64,
    /// The femoral offset, mm (null when the shaft is not on the image).
    pub femoral_offset_mm: Option<f64>,
    /// The head centre to the midline, mm.
    pub head_centre_to_midline_mm: f64,
    /// The head centre, pixels.
    pub head_centre_px: [f64; 2],
}

/// The leg length difference of an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct LegLengthFile {
    /// Right minus left, mm (null without both femurs).
    pub right_minus_left: Option<f64>,
    /// The definition.
    pub definition: String,
}

/// The planned cup of an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct XrayCupFile {
    /// To the teardrop line, deg.
    pub inclination_on_radiograph_deg: f64,
    /// To the image's rows, deg.
    pub inclination_to_image_horizontal_deg: f64,
    /// The teardrop line to the image's rows, deg.
    pub teardrop_line_tilt_deg: f64,
    /// The plan's radiographic inclination, deg.
    pub plan_radiographic_inclination_deg: f64,
    /// How to read the angles.
    pub note: String,
}

/// The plan's changes in an [`XrayFile`].
#[derive(Serialize, JsonSchema)]
pub struct XrayPlannedFile {
    /// The leg length difference after the plan, mm.
    pub leg_length_difference_mm: Option<f64>,
    /// The operated side's offset change, mm.
    pub operated_offset_change_mm: f64,
}

/// `input/phantom_truth.json`: the known geometry of the built-in hip phantom (one value for
/// both hips) or of a realistic phantom from the shape model (a value per side).
#[derive(Serialize, JsonSchema)]
pub struct PhantomTruthFile {
    /// What the phantom is.
    pub description: String,
    /// `shape_model` for a realistic phantom; absent for the built-in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The shape model's shape (`mean`, a training subject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
    /// The shape model it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The femoral head centres, LPS mm.
    pub head_centres_lps_mm: Sides<[f64; 3]>,
    /// The femoral head radius, mm.
    pub head_radius_mm: OneOrSides<f64>,
    /// The acetabula's radiographic inclination and anteversion, deg.
    pub acetabulum_radiographic_deg: OneOrSides<Option<RadiographicDeg>>,
    /// The neck-shaft angle, deg.
    pub neck_shaft_angle_deg: OneOrSides<Option<f64>>,
    /// The femoral neck anteversion, deg.
    pub neck_anteversion_deg: OneOrSides<Option<f64>>,
    /// The acetabular centres, LPS mm (realistic phantom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acetabulum_centres_lps_mm: Option<Sides<[f64; 3]>>,
    /// The acetabular radii, mm (realistic phantom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acetabulum_radius_mm: Option<Sides<f64>>,
    /// The anterior superior iliac spines, LPS mm (realistic phantom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asis_lps_mm: Option<Sides<[f64; 3]>>,
    /// The pubic tubercles, LPS mm (realistic phantom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pubic_tubercles_lps_mm: Option<Sides<[f64; 3]>>,
    /// The femurs' scale to the pelvis (realistic phantom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub femur_scale: Option<f64>,
    /// The joint space left between head and socket, mm (realistic phantom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint_space_mm: Option<f64>,
    /// The CT's voxel size, mm.
    pub voxel_mm: f64,
}

/// A value of each side.
#[derive(Serialize, JsonSchema)]
pub struct Sides<T> {
    /// The left side's.
    pub left: T,
    /// The right side's.
    pub right: T,
}

/// One value for both sides, or one per side.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrSides<T> {
    /// Both sides alike.
    One(T),
    /// Each side's.
    Sides(Sides<T>),
}

/// Radiographic cup or acetabulum angles, deg.
#[derive(Serialize, JsonSchema)]
pub struct RadiographicDeg {
    /// Inclination, deg.
    pub inclination: f64,
    /// Anteversion, deg.
    pub anteversion: f64,
}

/// `coxa radiograph --out FILE.json`: the learned X-ray models' predictions on one radiograph
/// (assembled by the program's `coxa radiograph`).
#[derive(Serialize, JsonSchema)]
pub struct RadiographFile {
    /// coxa's version (with its revision and build).
    pub coxa_version: String,
    /// The radiograph read.
    pub image: RadiographImageFile,
    /// What was noticed and worked around on reading it.
    pub warnings: Vec<String>,
    /// One prediction per model: the card's name, version, task, `test_model`, SHA-256, the
    /// probabilities or values, the raw output, the preprocessing, and the bone density readings
    /// (T-score, YAM %) of a density model.
    pub models: Vec<serde_json::Value>,
}

/// The radiograph of a [`RadiographFile`] (no patient identity).
#[derive(Serialize, JsonSchema)]
pub struct RadiographImageFile {
    /// The file given.
    pub file: String,
    /// What the file said: format, modality, view, size.
    pub info: serde_json::Value,
    /// The pixel spacing at the detector and at the patient.
    pub spacing: serde_json::Value,
}

/// `input/shape_sample.json`: a virtual or training subject of a population drawn from the shape
/// models (assembled in `crate::population`).
#[derive(Serialize, JsonSchema)]
pub struct ShapeSampleFile {
    /// How the subject was made.
    pub description: String,
    /// The subject's number (from 1).
    pub subject: usize,
    /// `random` (virtual subjects) or `training` (the models' training subjects).
    pub subjects: String,
    /// LLP26's training femur paired with a training pelvis (null for a virtual subject).
    pub femur_training_subject: Option<usize>,
    /// The population's seed.
    pub seed: u64,
    /// Which draw gave a subject coxa found landmarks on (0: the first).
    pub draw: u32,
    /// The pelvis model.
    pub pelvis_model: ShapeModelFile,
    /// The femur model.
    pub femur_model: ShapeModelFile,
    /// The pelvis's mode weights, in standard deviations.
    pub pelvis_mode_weights_sd: Vec<f64>,
    /// The femur's mode weights, in standard deviations.
    pub femur_mode_weights_sd: Vec<f64>,
    /// The joint space the femurs were placed for, mm.
    pub joint_space_mm: f64,
    /// Each socket's radius before the head was placed, mm.
    pub socket_radius_without_head_mm: Sides<f64>,
    /// The femurs' scale.
    pub femur_scale: f64,
    /// Each placed femur.
    pub femurs: Vec<ShapeSampleFemurFile>,
}

/// A shape model named in a [`ShapeSampleFile`].
#[derive(Serialize, JsonSchema)]
pub struct ShapeModelFile {
    /// Where the model comes from.
    pub source: String,
    /// Its licence.
    pub licence: String,
    /// Its modes.
    pub n_modes: usize,
}

/// A placed femur of a [`ShapeSampleFile`].
#[derive(Serialize, JsonSchema)]
pub struct ShapeSampleFemurFile {
    /// `left` or `right`.
    pub side: String,
    /// The head radius in the model, mm.
    pub head_radius_model_mm: f64,
    /// The head radius after scaling, mm.
    pub head_radius_mm: f64,
    /// The neck-shaft angle, deg.
    pub neck_shaft_angle_deg: Option<f64>,
    /// The femoral anteversion, deg.
    pub anteversion_deg: Option<f64>,
    /// The placed head centre, LPS mm.
    pub head_centre_lps_mm: [f64; 3],
    /// The joint space measured about the placed head, mm.
    pub joint_space_mm: f64,
}

/// `<run>/failed/<case>.json`: why a case of a run failed (assembled in `crate::run`).
#[derive(Serialize, JsonSchema)]
pub struct FailedFile {
    /// The case's name.
    pub case: String,
    /// The error, outermost first.
    pub error: Vec<String>,
}

//! The scenario file as written: the TOML schema (serde types that keep each value's span, so that
//! errors name the line) and the words it uses (`left`/`right`, the cup-angle definitions).
//!
//! [`crate::scenario`] describes the format, reads a file into these types and checks and resolves
//! them into a [`crate::scenario::Scenario`]; the stages that own a section ([`crate::population`],
//! [`crate::radiomics`], [`crate::scenario_checks`]) read their part of it from here. This file
//! uses none of them, so the schema and its readers depend one way (docs/DESIGN.md, no file
//! circles).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// The only schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A finite number (NaN and infinities are refused while parsing, so the error has a line).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Finite(pub f64);

impl<'de> Deserialize<'de> for Finite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Finite;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a finite number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Finite, E> {
                Ok(Finite(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Finite, E> {
                Ok(Finite(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Finite, E> {
                if v.is_finite() { Ok(Finite(v)) } else { Err(E::custom(format!("{v} is not a finite number: give a finite value"))) }
            }
        }
        d.deserialize_any(V)
    }
}

/// One value or a list of values (a sweep).
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let conv = |v: toml::Value| T::deserialize(v).map_err(|e| D::Error::custom(e.message().trim().to_string()));
        match toml::Value::deserialize(d)? {
            toml::Value::Array(a) if a.is_empty() => Err(D::Error::custom("an empty list: give at least one value")),
            toml::Value::Array(a) => a.into_iter().map(conv).collect::<Result<Vec<T>, D::Error>>().map(OneOrMany),
            v => conv(v).map(|x| OneOrMany(vec![x])),
        }
    }
}

/// The scenario as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Must be [`SCHEMA_VERSION`].
    pub schema_version: Spanned<u32>,
    /// A name for the report.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Where results go (relative to the file). Default `<file stem>-results` beside it.
    #[serde(default)]
    pub output_dir: Option<Spanned<PathBuf>>,
    /// The cases.
    #[serde(default)]
    pub cases: Vec<CaseSpec>,
    /// A folder of cases: each subfolder is a case named after it, holding `ct.nii.gz`,
    /// `ct.nii` or a DICOM folder `ct/`, optionally `labels.nii.gz`, or bone surfaces
    /// `hip_left.stl`, `femur_right.stl`, ...
    #[serde(default)]
    pub cases_dir: Option<Spanned<PathBuf>>,
    /// Virtual subjects drawn from shape models ([`crate::population`]).
    #[serde(default)]
    pub cases_from_shape_model: Option<ShapeCasesSpec>,
    /// Implant choices.
    #[serde(default)]
    pub implants: ImplantsSection,
    /// Fixed placement (angles given); without it the planner optimises.
    #[serde(default)]
    pub placement: Option<PlacementSection>,
    /// Planner constraints (used when there is no `[placement]`).
    #[serde(default)]
    pub plan: PlanSection,
    /// Range of motion.
    #[serde(default)]
    pub rom: RomSection,
    /// The report.
    #[serde(default)]
    pub report: ReportSection,
    /// Musculoskeletal stage: the abductors and the hip load before and after the plan.
    #[serde(default)]
    pub msk: Option<MskSection>,
    /// Radiomics stage: pyradiomics' features of the case's bones and muscles.
    #[serde(default)]
    pub radiomics: Option<RadiomicsSection>,
    /// Pseudo-MRI stage: the CT as a pseudo T2-weighted image (`pseudo_mri/`).
    #[serde(default)]
    pub pseudo_mri: Option<PseudoMriSection>,
    /// Bone lesion stage: metastasis candidates on the CT (`lesions/` in each case folder).
    #[serde(default)]
    pub lesions: Option<LesionsSection>,
    /// Implant designs compared in one run (`[[designs]]`): every case is planned (or run at
    /// the fixed placement) with each design's catalog, the designs the outermost sweep axis.
    #[serde(default)]
    pub designs: Vec<DesignSpec>,
}

/// `[[designs]]`: one implant design of a comparison.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignSpec {
    /// The design's name (letters, digits, `-`, `_`, `.`): the first part of its sweep points'
    /// labels, so of its rows in the cohort tables.
    pub name: Spanned<String>,
    /// A folder of catalog TOML files (parametric series, stem sizes with their own STL);
    /// without it the built-in catalog.
    #[serde(default)]
    pub catalog: Option<Spanned<PathBuf>>,
    /// An engineer's own cup (frame file), with `[placement]` only.
    #[serde(default)]
    pub user_cup: Option<Spanned<PathBuf>>,
    /// An engineer's own stem (frame file), with `[placement]` only.
    #[serde(default)]
    pub user_stem: Option<Spanned<PathBuf>>,
}

/// `[msk]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MskSection {
    /// An OpenSim model with gait2392's names (e.g. gait2392_thelen2003muscle.osim); default the
    /// built-in gait2392 (CC BY 3.0).
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
    /// Body weight, N.
    pub body_weight_n: Spanned<Finite>,
    /// `one-leg-stance` and/or `walking`. Default both.
    #[serde(default)]
    pub activities: Option<Spanned<Vec<String>>>,
    /// The model's bone geometry: `landmarks` (default: the pelvis scaled by the femoral head
    /// distance) or `bones` (the model's pelvis and femurs registered onto the case's bone
    /// surfaces, `coxa_msk::bone_geometry`).
    #[serde(default)]
    pub geometry: Option<Spanned<String>>,
    /// With `geometry = "bones"`: the model's Geometry folder (its bones' .vtp surfaces);
    /// default the `Geometry` folder beside `model` (the built-in model has none).
    #[serde(default)]
    pub bone_geometry: Option<Spanned<PathBuf>>,
    /// With `walking` among the activities: the measured net hip moments at the first peak of
    /// walking, `[abductor, extensor]` in N m per kg of body mass (a gait laboratory's inverse
    /// dynamics), instead of the quasi-static posture's estimate (`coxa_msk::hcf`).
    #[serde(default)]
    pub walking_hip_moment: Option<Spanned<[Finite; 2]>>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Name (also the case's output folder): letters, digits, `-`, `_`, `.`.
    pub name: Spanned<String>,
    /// A CT (NIfTI file, DICOM file or folder).
    #[serde(default)]
    pub ct: Option<Spanned<PathBuf>>,
    /// A label map on the CT's grid (TotalSegmentator ids).
    #[serde(default)]
    pub labels: Option<Spanned<PathBuf>>,
    /// Bone surfaces by name (hip_left, hip_right, femur_left, femur_right, sacrum), LPS mm.
    #[serde(default)]
    pub meshes: Option<BTreeMap<String, Spanned<PathBuf>>>,
    /// Units of the mesh files (`mm`, `cm`, `m`, `in`) when they are not millimetres; without
    /// it coxa refuses meshes whose bone sizes fit another unit.
    #[serde(default)]
    pub mesh_units: Option<Spanned<String>>,
    /// `true`: the built-in hip phantom CT (what `coxa demo` runs).
    #[serde(default)]
    pub phantom: Option<bool>,
    /// With `phantom = true`: `"mean"` or `"training-K"` voxelises the phantom from that shape of
    /// the installed LLP26 shape model instead of the built-in geometric phantom.
    #[serde(default)]
    pub phantom_shape: Option<Spanned<String>>,
    /// A learned segmentation model's card (TOML, relative to the scenario) for a CT or phantom
    /// case: the anatomy stage takes its labels (as `coxa anatomy --model`), so its muscles feed
    /// the muscle measures and the `[msk]` stage's strength. Needs ONNX Runtime.
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
    /// What the anatomy stage takes from `model`: `"all"` (default: bones and muscles) or
    /// `"muscles"` (the model's muscles, coxa's classical bones).
    #[serde(default)]
    pub model_use: Option<Spanned<String>>,
    /// Operated side, `left` or `right`. Default right.
    #[serde(default)]
    pub side: Option<Spanned<String>>,
    /// A study on a PACS instead of a file: `pacs = { server = "dicom://AET@host:port", study =
    /// "1.2..." }`; `coxa run` pulls it into `<results>/pacs/<case>/` and plans on the series
    /// `coxa pacs pull` chooses.
    #[serde(default)]
    pub pacs: Option<PacsCaseSpec>,
}

/// A case's study on a PACS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacsCaseSpec {
    /// `http(s)://host:port/dicom-web` or `dicom://AET@host:port`.
    pub server: Spanned<String>,
    /// StudyInstanceUID.
    pub study: Spanned<String>,
}

/// `[implants]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplantsSection {
    /// A folder of catalog TOML files instead of the built-in catalog.
    #[serde(default)]
    pub catalog: Option<Spanned<PathBuf>>,
    /// Head diameter(s), mm. With `[placement]` default 32; else the planner chooses.
    #[serde(default)]
    pub head_diameter_mm: Option<Spanned<OneOrMany<Finite>>>,
    /// Head neck-length offset(s), mm. Default 0.
    #[serde(default)]
    pub head_offset_mm: Option<Spanned<OneOrMany<Finite>>>,
    /// Liner(s): catalog liner names (hemispherical, elevated_rim, chamfered, ...).
    #[serde(default)]
    pub liner: Option<Spanned<OneOrMany<String>>>,
    /// Stem size(s) in the catalog's first stem series (with `[placement]`; default "3").
    #[serde(default)]
    pub stem_size: Option<Spanned<OneOrMany<String>>>,
    /// An engineer's own cup: its frame file (TOML with part = "cup" naming its STL).
    #[serde(default)]
    pub user_cup: Option<Spanned<PathBuf>>,
    /// An engineer's own stem: its frame file (part = "stem").
    #[serde(default)]
    pub user_stem: Option<Spanned<PathBuf>>,
}

/// `[placement]`: fixed angles (a sweep where lists are given).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementSection {
    /// Cup inclination(s), deg, in `cup_definition`.
    pub cup_inclination_deg: Spanned<OneOrMany<Finite>>,
    /// Cup anteversion(s), deg, in `cup_definition`.
    pub cup_anteversion_deg: Spanned<OneOrMany<Finite>>,
    /// `radiographic` (default), `operative` or `anatomic` (Murray 1993).
    #[serde(default)]
    pub cup_definition: Option<Spanned<String>>,
    /// Stem anteversion(s), deg. Default 15.
    #[serde(default)]
    pub stem_anteversion_deg: Option<Spanned<OneOrMany<Finite>>>,
}

/// `[plan]`: the optimiser's constraints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    /// Allowed radiographic cup inclination, deg, `[min, max]` (exactly two numbers).
    #[serde(default, deserialize_with = "range_of_two")]
    pub cup_inclination_range_deg: Option<Spanned<[Finite; 2]>>,
    /// Allowed radiographic cup anteversion, deg, `[min, max]` (exactly two numbers).
    #[serde(default, deserialize_with = "range_of_two")]
    pub cup_anteversion_range_deg: Option<Spanned<[Finite; 2]>>,
    /// The step of the optimiser's grid over both cup angles, deg (`coxa plan --grid-step-deg`;
    /// default 2.5, within 0.5..=20). A cohort run coarser is faster; the best grid point is
    /// refined at 0.25 deg either way.
    #[serde(default)]
    pub grid_step_deg: Option<Spanned<Finite>>,
}

/// `[rom]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RomSection {
    /// Motions to sweep (names from `coxa rom`); default all.
    #[serde(default)]
    pub motions: Option<Spanned<Vec<String>>>,
    /// Posterior pelvic tilt standing, deg (a sweep if a list). Default 0.
    #[serde(default)]
    pub standing_tilt_deg: Option<Spanned<OneOrMany<Finite>>>,
    /// Additional posterior tilt sitting, deg. Default 20.
    #[serde(default)]
    pub sitting_extra_tilt_deg: Option<Spanned<Finite>>,
}

/// `[report]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Write `report.html` per case. Default true.
    #[serde(default = "yes")]
    pub html: bool,
    /// A cup-angle safe-zone map (ROM over a grid of cup angles) in the report. Default true.
    #[serde(default = "yes")]
    pub safe_zone_map: bool,
    /// Patient name and ID in the report (from DICOM). Default false.
    #[serde(default)]
    pub show_phi: bool,
    /// The report's four pictures (drawn on the CPU, in every build) and its simulated
    /// radiograph. Default true; `false` skips them (cohort runs that need only the numbers).
    /// The placed implants' STL files are written either way.
    #[serde(default = "yes")]
    pub pictures: bool,
    /// The definition the decision gives the cup angles in: radiographic (default), operative or
    /// anatomic (Murray 1993).
    #[serde(default)]
    pub cup_definition: Option<Spanned<String>>,
}

impl Default for ReportSection {
    fn default() -> Self {
        Self { html: true, safe_zone_map: true, show_phi: false, pictures: true, cup_definition: None }
    }
}

fn yes() -> bool {
    true
}

/// `cases_from_shape_model` as written in a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeCasesSpec {
    /// `random` (default: `n` subjects drawn with `seed`) or `training` (the models' own training
    /// subjects, from the pelvis atlas and LLP26's `projectedWeights`).
    #[serde(default)]
    pub subjects: Option<Spanned<String>>,
    /// How many random subjects (1..=100,000); with `subjects = "training"`, at most this many
    /// training subjects (default all).
    #[serde(default)]
    pub n: Option<Spanned<i64>>,
    /// The random seed (0 or more); needed for random subjects, unused for training subjects.
    #[serde(default)]
    pub seed: Option<Spanned<i64>>,
    /// A coxa pelvis model (`.ssm` with parts `hip_left`, `hip_right`, optionally `sacrum`), or the
    /// pelvis atlas folder (`LeftHip<id>_cpd.vtk`, `RightHip<id>_cpd.vtk`, `Sacrum<id>_cpd.vtk`,
    /// in it or in its `surface/`), built when the scenario is read.
    pub pelvis_model: Spanned<PathBuf>,
    /// The `musculoskeletal/models` folder of `musculoskeletal-models` 0.2.4; default the
    /// installed one.
    #[serde(default)]
    pub femur_model: Option<Spanned<PathBuf>>,
    /// Operated side of every case (`left`/`right`, default right).
    #[serde(default)]
    pub side: Option<Spanned<String>>,
    /// Joint space, mm (0.5..=6, default 3).
    #[serde(default)]
    pub joint_space_mm: Option<Spanned<Finite>>,
    /// Draw only the first modes of each model (1 or more; default all).
    #[serde(default)]
    pub n_modes: Option<Spanned<i64>>,
}

/// `[lesions]` in a scenario: the classical bone-lesion search with its defaults, or a learned
/// model's (the stage is [`crate::stages::lesions`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LesionsSection {
    /// A lesion model's card (`task = "lesion-segmentation"`), relative to the scenario: the
    /// learned path of `coxa lesions --model` instead of the classical search.
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
    /// With `model`: the lesion probability from which a voxel is lesion (default 0.5).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// `[radiomics]` in a scenario, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiomicsSection {
    /// A pyradiomics parameter file (YAML), relative to the scenario; default pyradiomics' defaults.
    #[serde(default)]
    pub params: Option<Spanned<PathBuf>>,
    /// Structures by coxa/TotalSegmentator name or label value; default coxa's bones and hip
    /// muscles ([`coxa_core::labels::COXA_CLASSES`]) present in the label map.
    #[serde(default)]
    pub labels: Option<Spanned<Vec<toml::Value>>>,
    /// A tabular model's card (e.g. a prognosis model), relative to the scenario: run on each
    /// structure's features; its probabilities go into the table and the report.
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
}

/// `[pseudo_mri]` in a scenario, as written ([`crate::stages::pseudo_mri`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudoMriSection {
    /// Repetition time of the simulated spin echo, ms (default 4000).
    #[serde(default)]
    pub tr_ms: Option<f64>,
    /// Its echo time, ms (default 100).
    #[serde(default)]
    pub te_ms: Option<f64>,
    /// An image-translation model's card (`task = "image-translation"`), relative to the
    /// scenario: the learned path of `coxa pseudo-mri --model` instead of the model-free one.
    #[serde(default)]
    pub model: Option<Spanned<PathBuf>>,
    /// With `model`: its network calls per slice (default: the card's `sampling.steps`).
    #[serde(default)]
    pub steps: Option<u32>,
    /// With `model`: the noise's seed (default: the card's `sampling.seed`).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// Deserializes `[min, max]`, refusing any other number of values (serde's fixed arrays would
/// take the first two of a longer list without a word).
pub fn range_of_two<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Spanned<[Finite; 2]>>, D::Error> {
    use serde::de::Error;
    let list = Spanned::<Vec<Finite>>::deserialize(d)?;
    let span = list.span();
    match list.get_ref().as_slice() {
        [a, b] => Ok(Some(Spanned::new(span, [*a, *b]))),
        other => Err(D::Error::custom(format!(
            "a range is exactly two numbers [min, max], but {} {} given; for several values use a sweep under [placement], for a range write e.g. [30, 50]",
            other.len(),
            if other.len() == 1 { "was" } else { "were" }
        ))),
    }
}

/// `left`/`right` (or `l`/`r`).
pub fn parse_side(s: &str) -> Option<coxa_core::Side> {
    match s.to_ascii_lowercase().as_str() {
        "left" | "l" => Some(coxa_core::Side::Left),
        "right" | "r" => Some(coxa_core::Side::Right),
        _ => None,
    }
}

/// `radiographic`/`operative`/`anatomic`.
pub fn parse_definition(s: &str) -> Option<coxa_core::CupAngleDefinition> {
    match s.to_ascii_lowercase().as_str() {
        "radiographic" => Some(coxa_core::CupAngleDefinition::Radiographic),
        "operative" => Some(coxa_core::CupAngleDefinition::Operative),
        "anatomic" => Some(coxa_core::CupAngleDefinition::Anatomic),
        _ => None,
    }
}

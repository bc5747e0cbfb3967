//! The record files coxa writes and their JSON Schemas (issue 44): every record carries the
//! name of its schema (`"$schema": "<record>.schema.json"`, a file of the repository's
//! `schemas/`), the schema version and its provenance (coxa's version and git revision, the
//! models, runtime and shape models used: [`coxa_core::provenance`]), beside its own fields
//! ([`crate::stamp`] writes it).
//!
//! The schemas are generated from the records' Rust types with `schemars` ([`schemas`]); the
//! committed files in `schemas/` are checked against them by `scenarios/tests/schemas.rs`, and
//! `cargo run -p coxa-scenarios --example schemas` (`scripts/schemas`) writes them.
//!
//! A few records are assembled as JSON objects where they are written (the segmentation's, the
//! lesions', the run's summary, the radiograph's measures, the phantoms' truth); their schemas
//! come from types that mirror them ([`SummaryFile`], [`SegmentFile`], [`LesionsFile`],
//! [`PseudoMriFile`], here; [`XrayFile`], [`PhantomTruthFile`], [`RadiographFile`],
//! [`ShapeSampleFile`], [`FailedFile`] in `records/mirrors.rs`), and the
//! end-to-end test validates every JSON file of a run against its schema, so that a mirror
//! cannot drift.

use std::path::Path;

use schemars::{JsonSchema, generate::SchemaSettings};
use serde::Serialize;
use serde_json::Value;

use coxa_core::provenance::{SCHEMA_VERSION, Stamped};

use crate::stamp::schema_file;

mod mirrors;
pub use mirrors::{FailedFile, PhantomTruthFile, RadiographFile, ShapeSampleFile, XrayFile};

/// One kind of record file.
pub struct RecordKind {
    /// Its name: the schema is `<name>.schema.json`.
    pub name: &'static str,
    /// Where coxa writes it, for the book.
    pub files: &'static str,
    /// What it holds, for the book and the schema's description.
    pub about: &'static str,
    schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

fn schema_of<T: JsonSchema + 'static>(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    g.root_schema_for::<Stamped<'static, T>>()
}

/// Every record coxa writes, by name.
pub const RECORDS: &[RecordKind] = &[
    RecordKind {
        name: "anatomy",
        files: "`<case>/anatomy/anatomy.json`, `coxa anatomy`'s `anatomy.json`",
        about: "the anatomy stage's measures: landmarks, axes, femora, acetabula, canals, density, muscles",
        schema: schema_of::<coxa_core::AnatomyRecord>,
    },
    RecordKind {
        name: "landmarks",
        files: "`<case>/anatomy/landmarks.json`, `coxa anatomy`'s `landmarks.json`",
        about: "every landmark the later stages used, unrounded (LPS mm): femora, acetabula, pelvis",
        schema: schema_of::<coxa_core::PatientLandmarks>,
    },
    RecordKind {
        name: "plan",
        files: "`<case>/plan.json`, `<case>/plans/<point>.json`, `coxa plan`'s plan",
        about: "a planned hip: implants, sizes, placement, leg length and offset, ROM",
        schema: schema_of::<coxa_core::PlanRecord>,
    },
    RecordKind { name: "rom", files: "`<case>/rom/<point>.json`", about: "one sweep point's range of motion: every motion's limit and first contact", schema: schema_of::<coxa_core::RomRecord> },
    RecordKind { name: "report", files: "`<case>/report.json`", about: "the case report: plan, sweep, ROM, safe zone, muscles, pictures, warnings", schema: schema_of::<coxa_core::CaseReport> },
    RecordKind {
        name: "request",
        files: "`<case>/request.json` (a case `coxa plan` wrote)",
        about: "what `coxa plan` was asked: its inputs, options and the choices the surgeon fixed, so that the planning desk plans the case again with the surgeon's choices",
        schema: schema_of::<coxa_core::PlanRequest>,
    },
    RecordKind { name: "inputs", files: "`<case>/inputs.json`", about: "where the case's inputs are (the CT or bone surfaces)", schema: schema_of::<coxa_core::CaseInputs> },
    RecordKind { name: "case", files: "`<case>/case.json`", about: "a finished case's summary line", schema: schema_of::<crate::summary::CaseSummary> },
    RecordKind { name: "summary", files: "`<run>/summary.json`, `<run>/summary-<n>.json`", about: "a run's summary: every case's line, or why it is not done", schema: schema_of::<SummaryFile> },
    RecordKind { name: "manifest", files: "`<case>/manifest.json`", about: "every file of a finished case with its size and SHA-256", schema: schema_of::<crate::manifest::Manifest> },
    RecordKind {
        name: "segment",
        files: "`<case>/anatomy/segment.json`, `coxa segment`'s `segment.json`",
        about: "a learned segmentation: the model, the runtime, the structures and their uncertainty",
        schema: schema_of::<SegmentFile>,
    },
    RecordKind {
        name: "pseudo_mri",
        files: "`<case>/pseudo_mri/pseudo_mri.json`, `coxa pseudo-mri`'s",
        about: "a pseudo-T2 image made from the CT: the method, its tissues and values",
        schema: schema_of::<PseudoMriFile>,
    },
    RecordKind {
        name: "radiomics",
        files: "`coxa radiomics --out FILE.json`",
        about: "radiomics features: one row per image (per case) and label, the features named as pyradiomics names them",
        schema: schema_of::<RadiomicsFile>,
    },
    RecordKind { name: "lesions", files: "`<case>/lesions/lesions.json`, `coxa lesions`'s", about: "bone lesions found in the CT: kind, bone, volume, place", schema: schema_of::<LesionsFile> },
    RecordKind {
        name: "model",
        files: "`<case>/model.json`",
        about: "what the viewer's live planning rebuilds the hip model from: placement, tilts, motions, implants' origin, the operated hip's landmarks",
        schema: schema_of::<coxa_core::CaseModel>,
    },
    RecordKind {
        name: "xray",
        files: "`<case>/pictures/xray_ap.json`, `coxa xray`'s `<image>.json`",
        about: "a simulated radiograph's geometry, calibration ball and templating measures",
        schema: schema_of::<XrayFile>,
    },
    RecordKind {
        name: "phantom_truth",
        files: "`<case>/input/phantom_truth.json`",
        about: "a phantom's known geometry, to compare with what coxa found on its CT",
        schema: schema_of::<PhantomTruthFile>,
    },
    RecordKind {
        name: "radiograph",
        files: "`coxa radiograph --out FILE.json`",
        about: "the learned X-ray models' predictions on one radiograph: class probabilities, values, bone density readings",
        schema: schema_of::<RadiographFile>,
    },
    RecordKind {
        name: "shape_sample",
        files: "`<case>/input/shape_sample.json` (a population case)",
        about: "a subject drawn from the shape models: its models, mode weights, femurs and joint space",
        schema: schema_of::<ShapeSampleFile>,
    },
    RecordKind { name: "failed", files: "`<run>/failed/<case>.json`", about: "why a case of a run failed", schema: schema_of::<FailedFile> },
    RecordKind { name: "run", files: "`<run>/run.json`", about: "which scenario a results folder holds", schema: schema_of::<RunFile> },
    RecordKind {
        name: "pacs",
        files: "`coxa pacs pull`'s `pacs.json`",
        about: "what a pull received from the PACS and the series chosen to plan on",
        schema: schema_of::<crate::pacs::record::PullRecord>,
    },
];

/// Every record's JSON Schema (draft 2020-12): (file name, text), in [`RECORDS`]' order.
///
/// # Panics
/// A schema that does not serialise (a bug in coxa).
pub fn schemas() -> Vec<(String, String)> {
    RECORDS
        .iter()
        .map(|k| {
            let mut g = SchemaSettings::draft2020_12().into_generator();
            let schema = (k.schema)(&mut g);
            let mut v = serde_json::to_value(schema).expect("a schema serialises");
            let file = schema_file(k.name);
            if let Some(o) = v.as_object_mut() {
                o.insert("$id".into(), Value::from(file.clone()));
                o.insert("title".into(), Value::from(format!("coxa {} record", k.name)));
                o.insert("description".into(), Value::from(format!("{}: {}. Written as {}.", k.name, k.about, k.files)));
                if let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("$schema".into(), serde_json::json!({"description": "this record's schema file (in coxa's schemas/)", "const": file}));
                    props.insert("schema_version".into(), serde_json::json!({"description": "the schema version the record was written with", "const": SCHEMA_VERSION}));
                }
            }
            (file, serde_json::to_string_pretty(&v).expect("a schema serialises") + "\n")
        })
        .collect()
}

/// `summary.json`: written as a JSON object by `coxa run` and `coxa merge` (a mirror of it).
#[derive(Serialize, JsonSchema)]
pub struct SummaryFile {
    /// The scenario's name (null when it has none).
    pub scenario: Option<String>,
    /// Every case: its summary with `status` `done`, or its state and why.
    pub cases: Vec<SummaryCase>,
    /// `coxa run`: the cases finished by this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_now: Option<Vec<String>>,
    /// `coxa run`: the cases skipped (already done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Vec<String>>,
    /// `coxa run`: the cases that failed, with why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Vec<FailedCase>>,
    /// `coxa merge`: the cases in each state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Value>,
}

/// A row of `summary.json`.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SummaryCase {
    /// A finished case.
    Done {
        /// The case's summary.
        #[serde(flatten)]
        summary: Box<crate::summary::CaseSummary>,
        /// `done`.
        status: String,
    },
    /// A case not done.
    NotDone {
        /// The case's name.
        case: String,
        /// `failed`, `damaged`, `incomplete` or `missing`.
        status: String,
        /// Why, when known.
        error: Option<String>,
    },
}

/// A failed case in `summary.json`.
#[derive(Serialize, JsonSchema)]
pub struct FailedCase {
    /// The case's name.
    pub case: String,
    /// Why it failed.
    pub error: String,
}

/// `segment.json`: the learned segmentation's record (assembled in [`crate::segment`]).
#[derive(Serialize, JsonSchema)]
pub struct SegmentFile {
    /// The model: card, name, version, SHA-256 of its weights, how it was run.
    pub model: Value,
    /// The ONNX Runtime library used.
    pub onnx_runtime: Option<Value>,
    /// The ensemble's members.
    pub members: Value,
    /// The uncertainty map and how to read it.
    pub uncertainty: Value,
    /// The label map written.
    pub labels: String,
    /// Every structure: label, voxels, volume, mean uncertainty.
    pub structures: Vec<Value>,
    /// Time taken, s.
    pub seconds: Value,
}

/// `pseudo_mri.json` (assembled in [`crate::pseudo_mri`]).
#[derive(Serialize, JsonSchema)]
pub struct PseudoMriFile {
    /// coxa's version.
    pub coxa_version: String,
    /// What the image is and is not.
    pub note: String,
    /// The image file.
    pub image: String,
    /// The CT it was made from (no patient identity).
    pub ct: Value,
    /// The image's grid.
    pub grid: Value,
    /// `model-free` (the relaxation model) or `learned` (`--model`: an image-to-image model).
    pub method: String,
    /// The learned model, when one was used: name, version, SHA-256 of its weights, test model
    /// or not, task, card file, description.
    pub model: Option<Value>,
    /// The model-free method's record: the simulated sequence, the tissues and their values
    /// (null for a learned image).
    pub model_free: Option<Value>,
    /// How a learned image was made: steps, seed, noise generator, batch, a fixed-size graph's
    /// canvas (null when the slices were fed as they are), the inputs fed, the input and output
    /// scaling, the sequence the model imitates (absent for the model-free).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<Value>,
    /// A learned image's time, s: ONNX Runtime's own (`onnx_runtime`), the whole translation
    /// (`translation`), the command (`command`), and the network calls (absent for the
    /// model-free).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<Value>,
    /// The DICOM series written, if any.
    pub dicom: Option<Value>,
}

/// `lesions.json` (assembled in [`crate::lesions`]).
#[derive(Serialize, JsonSchema)]
pub struct LesionsFile {
    /// coxa's version (with its revision and build).
    pub coxa_version: String,
    /// How the lesions were found.
    pub method: String,
    /// The CT's file name.
    pub ct: String,
    /// Where the bones' label map came from.
    pub bones: String,
    /// The search's settings.
    pub settings: Value,
    /// What `slices` means.
    pub slices: String,
    /// What `probability` means.
    pub probability: String,
    /// What the search cannot find.
    pub limits: String,
    /// The bones searched and the volume searched in each (their core: deep enough and away
    /// from metal), ml (the classical path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub searched: Option<Vec<Value>>,
    /// Each bone's reference density.
    pub references: Vec<Value>,
    /// Bone not searched, with why.
    pub not_searched: Vec<Value>,
    /// Every lesion found: kind, bone, volume, place.
    pub lesions: Vec<Value>,
    /// The learned path (`--model`): the model (name, version, SHA-256, `test_model`, task, card).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Value>,
    /// The learned path: the lesions found in each bone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lesions_per_bone: Option<Value>,
    /// The learned path: time in the whole segmentation and in ONNX Runtime, s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<Value>,
    /// The learned path: the uncertainty map and how to read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<Value>,
}

/// The schema files of `dir` that differ from [`schemas`] (missing, or of other text), and the
/// `*.schema.json` files in `dir` that no record has; empty when `dir` is current.
pub fn stale_schemas(dir: &Path) -> Vec<String> {
    let want = schemas();
    let mut stale: Vec<String> = want.iter().filter(|(f, t)| std::fs::read_to_string(dir.join(f)).ok().as_ref() != Some(t)).map(|(f, _)| f.clone()).collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".schema.json") && !want.iter().any(|(f, _)| *f == n) {
                stale.push(n);
            }
        }
    }
    stale.sort();
    stale
}

/// `coxa radiomics --out FILE.json`: one row per image and label (`radiomics.schema.json`).
#[derive(Serialize, JsonSchema)]
pub struct RadiomicsFile {
    /// One row per image (per case, in a scenario) and label.
    pub rows: Vec<RadiomicsRow>,
}

/// One row of [`RadiomicsFile`].
#[derive(Serialize, JsonSchema)]
pub struct RadiomicsRow {
    /// The scenario's case, when the table is a scenario's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Every feature, named as pyradiomics names it (null where not finite).
    pub features: std::collections::BTreeMap<String, Option<f64>>,
    /// The image's name.
    pub image: String,
    /// The label.
    pub label: u32,
    /// coxa's name of the label, empty when it has none.
    pub label_name: String,
}

/// `run.json`: which scenario a results folder holds (`run.schema.json`). The fields keep the
/// order the file had when it was assembled as JSON (sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct RunFile {
    /// The coxa version that created the folder.
    pub coxa_version: String,
    /// FNV-1a of the scenario file's text (16 hex digits): a folder holds one scenario's results.
    pub scenario_fingerprint: String,
    /// The scenario file's name.
    pub scenario_file: Option<String>,
}

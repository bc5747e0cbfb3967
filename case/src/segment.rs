//! `coxa segment`: a CT segmented by a learned model ([`coxa_infer`], ONNX Runtime) into a new
//! folder: `labels.nii.gz` (the card's label ids), `uncertainty.nii.gz` (predictive entropy in
//! nats, float32, the same grid) and `segment.json` (the model, its card, the runtime, and per
//! structure its voxels, volume in ml and mean uncertainty). `coxa anatomy --model CARD` runs the
//! same segmentation and feeds its labels to the anatomy stage (bones and muscles by the card's
//! class names), writing `uncertainty.nii.gz` and `segment.json` beside `anatomy.json`.
//!
//! Every failure is one error line naming the cause and the fix (exit status 2): no ONNX
//! Runtime, a card that is not valid, weights that do not match their card, a model for another
//! modality, an existing output folder.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::Context;
use coxa_core::Volume;
use coxa_infer::{InferenceOptions, Model, Segmentation, SessionConfig};
use serde_json::{Value, json};

/// How a model is run (`coxa segment`, `coxa anatomy --model`, `coxa lesions --model`, a
/// scenario's model stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRun {
    /// Skip mirroring test-time augmentation (8x faster for 3 axes; less uncertainty information).
    /// Default false.
    pub no_mirror: bool,
    /// Only these folds of an ensemble card (0-based). Default: empty, every fold.
    pub folds: Vec<usize>,
    /// Monte Carlo dropout passes (models whose card says stochastic = true). Default 1.
    pub mc_passes: usize,
    /// Patches per network call. Default 1.
    pub batch: usize,
    /// ONNX Runtime threads. Default: every core.
    pub threads: Option<usize>,
}

impl Default for ModelRun {
    fn default() -> Self {
        Self { no_mirror: false, folds: Vec::new(), mc_passes: 1, batch: 1, threads: None }
    }
}

/// A segmentation and what made it.
pub struct ModelSegmentation {
    /// The result on the CT's grid.
    pub seg: Segmentation,
    /// `segment.json`.
    pub json: Value,
    /// The card's model name.
    pub model_name: String,
    /// The card says this is a test model (never for clinical use).
    pub test_model: bool,
    /// The card's model version.
    pub version: String,
    /// The card's output classes (names, label ids, coxa classes).
    pub classes: Vec<coxa_infer::card::ClassSpec>,
}

/// Which of a model's structures the anatomy stage takes (`coxa anatomy --model-use`, a
/// scenario case's `model_use`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ModelUse {
    /// Bones and muscles from the model.
    #[default]
    All,
    /// The model's muscles only; the bones from coxa's classical segmentation (for a model whose
    /// bones are too coarse for landmarks, such as coxa's phantom test model).
    Muscles,
}

impl ModelUse {
    /// Parses `all` / `muscles` (scenario files).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "muscles" => Some(Self::Muscles),
            _ => None,
        }
    }
}

/// Loads the card's model and segments `ct` with it.
pub fn segment_ct(ct: &Volume, card: &Path, run: &ModelRun) -> crate::Result<ModelSegmentation> {
    let mut model = Model::load(card, &session_config(run)).with_context(|| format!("--model {}", card.display()))?;
    if model.card().task != "segmentation" {
        bail!("--model {}: the card's task is {:?}, not \"segmentation\"; this model marks bone lesions: run it with `coxa lesions --model`", card.display(), model.card().task);
    }
    segment_with(&mut model, &card.display().to_string(), ct, run)
}

pub(crate) fn session_config(run: &ModelRun) -> SessionConfig {
    let mut config = SessionConfig::default();
    if let Some(t) = run.threads {
        config.intra_threads = t.max(1);
    }
    config
}

/// Segments `ct` with `model` (its card named `card` in `segment.json`).
fn segment_with(model: &mut Model, card: &str, ct: &Volume, run: &ModelRun) -> crate::Result<ModelSegmentation> {
    let mut options = InferenceOptions::for_card(model.card(), !run.no_mirror);
    options.folds = run.folds.clone();
    options.mc_passes = run.mc_passes.max(1);
    options.window.batch_size = run.batch.max(1);
    // coxa writes the labels and the uncertainty, never the probability map: not kept (softmax
    // models then take the labels as the argmax of the mean logits, which is the softmax's).
    options.probabilities = false;
    let seg = coxa_infer::segment(model, ct, &options).with_context(|| format!("segmenting with {card}"))?;
    let c = model.card();
    let library = coxa_infer::runtime::runtime().map(|r| r.library().clone()).ok();
    let structures: Vec<Value> = seg
        .summary
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "label": s.label,
                "voxels": s.voxels,
                "volume_ml": s.volume_ml,
                "mean_uncertainty_nats": if s.mean_entropy_nats.is_finite() { json!(s.mean_entropy_nats) } else { Value::Null },
                "mean_disagreement_nats": if s.mean_disagreement_nats.is_finite() { json!(s.mean_disagreement_nats) } else { Value::Null },
                "flagged_uncertain": s.label != 0 && s.uncertain(),
            })
        })
        .collect();
    let json = json!({
        "model": {
            "card": card,
            "name": c.name,
            "version": c.version,
            "test_model": c.test_model,
            "note": if c.test_model { "a TEST model: not validated, never for clinical use" } else { "" },
            "sha256": c.sha256,
            "folds_run": if options.folds.is_empty() { (0..model.folds()).collect::<Vec<_>>() } else { options.folds.clone() },
            "mirror_axes": options.mirror_axes,
            "mc_passes": options.mc_passes,
            "nnunet_float16_accumulation": c.nnunet.as_ref().map(|n| n.float16_accumulation),
        },
        "onnx_runtime": library.map(|l| json!({"library": l.path.display().to_string(), "version": l.version, "found_by": l.how})),
        "members": seg.members,
        "uncertainty": {
            "file": "uncertainty.nii.gz",
            "measure": "predictive entropy of the members' mean probabilities (folds x mirrors x MC passes), nats; 0 where every member is certain and agrees, at most ln(classes)",
            "max_nats": (c.output.classes.len() as f64).ln(),
            "disagreement": "mean_disagreement_nats per structure: the members' mutual information H(mean p) - mean H(p), 0 where every member gives the same probabilities",
            "flag_threshold_nats": coxa_infer::segment::UNCERTAIN_MEAN_ENTROPY_NATS,
            "flag_rule": coxa_infer::segment::UNCERTAIN_RULE,
        },
        "labels": "labels.nii.gz",
        "structures": structures,
        "seconds": { "total": seg.total_s, "onnx_runtime": seg.timing.network_s, "network_calls": seg.timing.network_calls },
    });
    Ok(ModelSegmentation { seg, json, model_name: c.name.clone(), test_model: c.test_model, version: c.version.clone(), classes: c.output.classes.clone() })
}

/// coxa's phantom segmentation TEST model (`models/infer/phantom/`, trained on phantoms by
/// `train_phantom_seg.py`), built into the program.
const PHANTOM_MODEL_CARD: &str = include_str!("../../models/infer/phantom/phantom_seg_test.toml");
const PHANTOM_MODEL_ONNX: &[u8] = include_bytes!("../../models/infer/phantom/phantom_seg_test.onnx");

/// The phantom (`ct`) segmented by coxa's built-in test model, for the report's uncertainty
/// section: the segmentation (its label map, uncertainty and record `segment.json`, which the
/// case writer writes as `anatomy/model_labels.nii.gz`, `uncertainty.nii.gz` and `segment.json`:
/// `crate::case_writer::write_model_segmentation`) and the report's record.
/// `Ok(Err(note))`, a one-line note, when ONNX Runtime is not found: the case then runs as
/// without a model. The case's own labels are not replaced (`use_note` says so).
pub fn phantom_with_test_model(ct: &Volume) -> crate::Result<Result<(ModelSegmentation, coxa_core::report::SegmentationRecord), String>> {
    if let Err(e) = coxa_infer::runtime::runtime() {
        let why = e.to_string();
        let first = why.split(". ").next().unwrap_or(&why);
        return Ok(Err(format!("the phantom was not segmented by coxa's test model: {first} (pip install onnxruntime==1.31.1, or set ORT_DYLIB_PATH)")));
    }
    let run = ModelRun::default();
    let weights = vec![(PathBuf::from("built-in/phantom_seg_test.onnx"), PHANTOM_MODEL_ONNX.to_vec())];
    let mut model = Model::from_memory(PHANTOM_MODEL_CARD, Path::new("built-in/phantom_seg_test.toml"), weights, &session_config(&run)).context("coxa's built-in phantom test model")?;
    let mut m = segment_with(&mut model, "built-in: models/infer/phantom/phantom_seg_test.toml", ct, &run)?;
    m.json["labels"] = json!(PHANTOM_MODEL_LABELS);
    let record =
        segmentation_record(&m, "anatomy/", PHANTOM_MODEL_LABELS, "shown for its uncertainty only: the case's anatomy used coxa's classical bone segmentation and the phantom's own muscle labels");
    Ok(Ok((m, record)))
}

/// The file name of the phantom's segmentation by the test model, in the case's `anatomy/`.
pub const PHANTOM_MODEL_LABELS: &str = "model_labels.nii.gz";

/// The report's record of a segmentation whose files are in `prefix` (relative to the case folder).
pub fn segmentation_record(m: &ModelSegmentation, prefix: &str, labels: &str, use_note: &str) -> coxa_core::report::SegmentationRecord {
    let opt = |v: f64| v.is_finite().then_some(v);
    coxa_core::report::SegmentationRecord {
        model: m.model_name.clone(),
        version: m.version.clone(),
        test_model: m.test_model,
        members: m.seg.members,
        uncertainty_file: format!("{prefix}uncertainty.nii.gz"),
        labels_file: format!("{prefix}{labels}"),
        flag_threshold_nats: coxa_infer::segment::UNCERTAIN_MEAN_ENTROPY_NATS,
        flag_rule: coxa_infer::segment::UNCERTAIN_RULE.to_string(),
        use_note: use_note.to_string(),
        structures: m
            .seg
            .summary
            .iter()
            .filter(|s| s.label != 0)
            .map(|s| coxa_core::report::SegmentedStructure {
                name: s.name.clone(),
                label: s.label,
                volume_ml: s.volume_ml,
                mean_uncertainty_nats: opt(s.mean_entropy_nats),
                mean_disagreement_nats: opt(s.mean_disagreement_nats),
                flagged: s.uncertain(),
            })
            .collect(),
    }
}

/// The coxa class of each of the card's classes (background left out): `coxa_class` when the
/// card gives one, else the coxa class with the card's `totalseg_id`, else the card's name (which
/// the anatomy stage keeps as it is when coxa does not know it). A `coxa_class` coxa does not
/// know is an error naming coxa's classes.
pub fn coxa_class_names(classes: &[coxa_infer::card::ClassSpec]) -> crate::Result<Vec<(u16, String)>> {
    let coxa = coxa_anatomy::labels::coxa_classes();
    let mut out = Vec::new();
    for c in classes.iter().filter(|c| c.label != 0) {
        let name = match (&c.coxa_class, c.totalseg_id.and_then(|id| coxa.name(id))) {
            (Some(n), _) if coxa.id(n).is_some() => n.clone(),
            (Some(n), _) => {
                let known: Vec<&str> = coxa.iter().map(|(_, n)| n).collect();
                bail!("the card's class {:?} has coxa_class {n:?}, which is not a coxa class; use one of {}", c.name, known.join(", "))
            }
            (None, Some(n)) => n.to_string(),
            (None, None) => c.name.clone(),
        };
        out.push((c.label, name));
    }
    Ok(out)
}

/// The model's labels as the anatomy stage takes them: named by coxa's classes
/// ([`coxa_class_names`]); with [`ModelUse::Muscles`] the model's bones are cleared (background), so
/// that the anatomy stage takes the bones from coxa's own segmentation.
pub fn given_labels(m: &ModelSegmentation, origin: String, model_use: ModelUse) -> crate::Result<crate::anatomy::GivenLabels> {
    let names = coxa_class_names(&m.classes).with_context(|| origin.clone())?;
    let is_bone = |name: &str| coxa_core::Bone::from_name(name).is_some();
    let dropped: Vec<u16> = names.iter().filter(|(_, n)| model_use == ModelUse::Muscles && is_bone(n)).map(|(l, _)| *l).collect();
    let mut map = m.seg.labels.clone();
    if !dropped.is_empty() {
        let (grid, mut ids, classes) = map.into_parts();
        ids.mapv_inplace(|l| if dropped.contains(&l) { 0 } else { l });
        map = coxa_core::LabelMap::new(grid, ids, classes)?;
    }
    let mut classes = coxa_core::ClassTable::new();
    for (label, name) in names.into_iter().filter(|(l, _)| !dropped.contains(l)) {
        classes.insert(label, name);
    }
    Ok(crate::anatomy::GivenLabels { map, classes, origin })
}

/// `coxa anatomy --ct CT --model CARD`: segments the CT with the model, then runs the anatomy
/// stage on its labels (in memory, named by coxa's classes through the card, [`given_labels`])
/// as it runs on a label map given with `--labels` and `--label-names`, and writes
/// `uncertainty.nii.gz` and `segment.json` beside `anatomy.json`. The model's muscles feed the
/// muscle measures (and so the `[msk]` stage's strength), its bones the surfaces and landmarks
/// (with [`ModelUse::Muscles`], coxa's classical bones instead).
pub fn anatomy_with_model(source: crate::anatomy::AnatomySource, card: &Path, out: &Path, run: &ModelRun, model_use: ModelUse) -> crate::Result<coxa_core::AnatomyRecord> {
    Ok(anatomy_full_with_model(source, card, out, run, model_use)?.0.record)
}

/// [`anatomy_with_model`], returning the anatomy stage's whole result, the segmentation and the
/// CT (read once here: segmented, then the anatomy stage on the same volume).
pub fn anatomy_full_with_model(
    source: crate::anatomy::AnatomySource,
    card: &Path,
    out: &Path,
    run: &ModelRun,
    model_use: ModelUse,
) -> crate::Result<(crate::anatomy::AnatomyResult, ModelSegmentation, crate::anatomy::LoadedCt)> {
    let crate::anatomy::AnatomySource::Ct { ct, dicom, any_modality, .. } = &source else {
        bail!("--model needs --ct: a model segments a CT, not bone surfaces");
    };
    if out.exists() {
        bail!("{} already exists; coxa anatomy writes into a new folder and never overwrites: choose another --out", out.display());
    }
    // The card's classes map to coxa's before any work is done.
    let origin = format!("--model {}", card.display());
    let card_read = coxa_infer::ModelCard::read(card).with_context(|| origin.clone())?;
    coxa_class_names(&card_read.output.classes).with_context(|| origin.clone())?;
    let loaded = crate::stages::input::open_ct(ct, dicom, *any_modality).with_context(|| format!("--ct {}", ct.display()))?;
    let m = segment_ct(&loaded.volume, card, run)?;
    // The model's labels go to the anatomy stage in memory, on the CT's grid, named by coxa's classes.
    let given = given_labels(&m, origin, model_use)?;
    let source = crate::anatomy::AnatomySource::Ct { ct: ct.clone(), labels: None, label_names: None, dicom: dicom.clone(), any_modality: *any_modality };
    let result = crate::stages::anatomy::run_on(&source, Some(&loaded), Some(given))?;
    crate::case_writer::write_anatomy(out, &result)?;
    crate::case_writer::write_uncertainty(out, &m.seg, &m.json)?;
    Ok((result, m, loaded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_infer::card::ClassSpec;

    fn class(name: &str, label: u16, totalseg_id: Option<u16>, coxa_class: Option<&str>) -> ClassSpec {
        ClassSpec { name: name.into(), label, totalseg_id, coxa_class: coxa_class.map(str::to_string) }
    }

    #[test]
    fn card_classes_map_to_coxa_classes() {
        let classes = [
            class("background", 0, None, None),
            class("GluteusMed_L", 1, None, Some("gluteus_medius_left")),
            class("Sacrum", 2, Some(25), None),
            class("femur_right", 76, None, None),
            class("bladder", 3, Some(21), None),
            // coxa_class wins over totalseg_id.
            class("x", 4, Some(75), Some("iliopsoas_right")),
        ];
        let names = coxa_class_names(&classes).unwrap();
        let want: Vec<(u16, String)> = [(1, "gluteus_medius_left"), (2, "sacrum"), (76, "femur_right"), (3, "bladder"), (4, "iliopsoas_right")].into_iter().map(|(l, n)| (l, n.to_string())).collect();
        assert_eq!(names, want);
        let err = coxa_class_names(&[class("Psoas", 1, None, Some("psoas_left"))]).unwrap_err().to_string();
        assert!(err.contains("\"psoas_left\"") && err.contains("not a coxa class") && err.contains("iliopsoas_left"), "{err}");
    }
}

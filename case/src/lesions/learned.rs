//! Bone lesions (`coxa lesions --model CARD`, a case's learned lesions stage) marked by a learned model ([`coxa_infer`], ONNX
//! Runtime; a card with `task = "lesion-segmentation"`, slice-wise or 3D), grouped into lesions
//! within bone ([`coxa_diagnostics::lesions::learned`]). Writes, into a new folder, what the
//! classical path writes (`lesions.json` with the same lesion fields, `lesions.nii.gz`, and for a
//! DICOM CT `lesions_seg.dcm`) and the model's per-voxel maps: `lesions_probability.nii.gz` (the
//! lesion probability, float32, the CT's grid) and `lesions_uncertainty.nii.gz` (the predictive
//! entropy of its members, nats, as `coxa segment`'s `uncertainty.nii.gz`).
//!
//! Refusals (one line, exit status 2, nothing written): a card of another task, with missing
//! weights, weights whose SHA-256 is not the card's, a graph that does not match the card (e.g.
//! its input channels), a first class that is not background; a non-CT input, a CT of fewer than
//! 5 slices, an empty bone mask.

use std::collections::BTreeMap;
use std::path::Path;

use crate::bail;
use crate::error::Context;
use coxa_core::{ClassTable, LabelMap, Volume};
use coxa_diagnostics::lesions::learned::{LearnedLesion, LearnedSettings, bone_region, lesions_from_probability};
use coxa_infer::card::Activation;
use coxa_infer::{InferenceOptions, Model, Segmentation};
use ndarray::{Array3, Axis};
use serde_json::{Value, json};

use super::{JSON, MAP, file_name};

/// The lesion probability map's file name.
pub const PROBABILITY: &str = "lesions_probability.nii.gz";

/// The uncertainty map's file name.
pub const UNCERTAINTY: &str = "lesions_uncertainty.nii.gz";

/// The task of lesion cards.
pub const TASK: &str = "lesion-segmentation";

/// A learned search's result: the model and its segmentation, the lesions, their label map and
/// the lesion probability per voxel.
pub struct LearnedSearch {
    /// The model.
    pub model: Model,
    /// Its segmentation of the CT (probabilities, uncertainty, timing).
    pub seg: Segmentation,
    /// The lesions found.
    pub found: Vec<LearnedLesion>,
    /// Their label map on the CT's grid.
    map: LabelMap,
    /// The lesion probability per voxel, on the CT's grid.
    probability: Volume,
    /// The settings used.
    settings: LearnedSettings,
}

/// The lesions the model of `card` marks in `ct` within the bones of `bones` (label map on the
/// CT's grid, named by `names`); for the command and the `[lesions]` stage.
///
/// # Errors
/// The card's and the model's refusals, a failed run.
pub fn search(ct: &Volume, bones: &Array3<u16>, names: &BTreeMap<u16, String>, card: &Path, run: &crate::segment::ModelRun, settings: LearnedSettings) -> crate::Result<LearnedSearch> {
    let mut model = load(card, run)?;
    let mut options = InferenceOptions::for_card(model.card(), !run.no_mirror);
    options.folds = run.folds.clone();
    options.mc_passes = run.mc_passes.max(1);
    options.window.batch_size = run.batch.max(1);
    let seg = coxa_infer::segment(&mut model, ct, &options).with_context(|| format!("--model {}: running the model", card.display()))?;
    let (probability, kinds) = lesion_probability(&model, &seg);
    let region = bone_region(bones);
    let kind_views = kinds.as_ref().map(|(a, b)| (a.view(), b.view()));
    let (found, map) = lesions_from_probability(ct, probability.view(), kind_views, &region, names, &settings);
    let classes: ClassTable = found.iter().map(|l| (l.id, format!("lesion_{}_{}", l.id, l.kind))).collect();
    let map = LabelMap::new(ct.grid().clone(), map, classes)?;
    let probability = Volume::new(ct.grid().clone(), probability)?;
    Ok(LearnedSearch { model, seg, found, map, probability, settings })
}

/// Writes `lesions.json`, `lesions.nii.gz` and the probability and uncertainty maps of `s` into
/// the existing folder `dir`; `ct_name` and `bones_from` say what was searched.
///
/// # Errors
/// A file cannot be written (or exists).
pub fn write(dir: &Path, ct: &Volume, s: &LearnedSearch, ct_name: &str, bones_from: &str) -> crate::Result<()> {
    coxa_io::nifti::write_label_map(&s.map, &dir.join(MAP))?;
    coxa_io::nifti::write_volume(&s.probability, &dir.join(PROBABILITY))?;
    coxa_io::nifti::write_volume(&Volume::new(ct.grid().clone(), s.seg.entropy_nats.clone())?, &dir.join(UNCERTAINTY))?;
    let rec = record(&s.model, &s.seg, &s.found, ct_name, bones_from, &s.settings);
    let text = crate::stamp::text("lesions", &rec)? + "\n";
    crate::atomic::write_new(&dir.join(JSON), text.as_bytes())
}

/// The record's `method` for `s`.
pub fn method(s: &LearnedSearch) -> String {
    method_of(&s.model, &s.settings)
}

/// What the record's `method` says of a model and its settings.
fn method_of(model: &Model, s: &LearnedSettings) -> String {
    let c = model.card();
    let test = if c.test_model { ", a TEST model (not for clinical use)" } else { "" };
    format!("learned: model {} {} (sha256 {}){test}; lesions are 26-connected voxels of lesion probability >= {} within the bone region", c.name, c.version, c.sha256.join("+"), s.threshold)
}

/// What the record's `limits` says of a model: its card's own account of its validation.
pub fn limits(model: &Model) -> String {
    let c = model.card();
    format!("as good as the model: {}", if c.description.is_empty() { "its card says nothing of its validation" } else { c.description.as_str() })
}

/// Loads a lesion card's model; refuses other tasks and cards whose first class is not background.
pub fn load(card: &Path, run: &crate::segment::ModelRun) -> crate::Result<Model> {
    let model = Model::load(card, &crate::segment::session_config(run)).with_context(|| format!("--model {}", card.display()))?;
    let c = model.card();
    if c.task != TASK {
        bail!("--model {}: the card's task is {:?}, not {TASK:?}; coxa lesions runs lesion models only (an anatomy model goes to `coxa segment`)", card.display(), c.task);
    }
    let first = &c.output.classes[0];
    if c.output.activation == Activation::Softmax && (first.label != 0 || first.name != "background") {
        bail!("--model {}: the card's first class is {:?} (label {}); a lesion model's first class is \"background\", label 0, and its others lesions", card.display(), first.name, first.label);
    }
    Ok(model)
}

/// The lytic and blastic probabilities per voxel.
type KindMaps = (Array3<f32>, Array3<f32>);

/// The lesion probability per voxel (softmax: 1 - background; sigmoid: the most probable
/// channel) and, when the card names `lytic` and `blastic` classes, their probabilities.
fn lesion_probability(model: &Model, seg: &Segmentation) -> (Array3<f32>, Option<KindMaps>) {
    let c = model.card();
    let pr = &seg.probabilities;
    let p = match c.output.activation {
        Activation::Softmax => pr.index_axis(Axis(0), 0).mapv(|b| (1.0 - b).clamp(0.0, 1.0)),
        Activation::Sigmoid => pr.map_axis(Axis(0), |v| v.iter().copied().fold(0.0f32, f32::max)),
    };
    let channel = |name: &str| c.output.classes.iter().position(|k| k.name == name);
    let kinds = match (channel("lytic"), channel("blastic")) {
        (Some(a), Some(b)) => Some((pr.index_axis(Axis(0), a).to_owned(), pr.index_axis(Axis(0), b).to_owned())),
        _ => None,
    };
    (p, kinds)
}

/// The model as `lesions.json`'s `model` names it.
pub fn model_record(model: &Model) -> Value {
    let c = model.card();
    json!({
        "name": c.name,
        "version": c.version,
        "sha256": c.sha256.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>().join("+"),
        "test_model": c.test_model,
        "task": c.task,
        "card": file_name(model.card_path()),
        "description": c.description,
        "slice_wise": c.slice_wise(),
    })
}

fn record(model: &Model, seg: &Segmentation, found: &[LearnedLesion], ct_name: &str, bones_from: &str, s: &LearnedSettings) -> Value {
    let per_bone: BTreeMap<&str, usize> = found.iter().fold(BTreeMap::new(), |mut m, l| {
        *m.entry(l.bone.as_str()).or_default() += 1;
        m
    });
    json!({
        "coxa_version": crate::stamp::version(),
        "method": method_of(model, s),
        "model": model_record(model),
        "ct": ct_name,
        "bones": bones_from,
        "settings": {"threshold": s.threshold, "min_volume_ml": s.min_volume_ml, "members": seg.members, "bone_region": "the bone mask with each bone's holes filled per axial slice"},
        "slices": "the first and last slice (k index, 0-based, of the CT's grid) a lesion spans",
        "probability": format!("the lesion's peak lesion probability as the model gives it ({PROBABILITY}: per voxel; calibrated only as far as the model's training makes it)"),
        "limits": limits(model),
        "references": [],
        "not_searched": [],
        "lesions_per_bone": per_bone,
        "seconds": {"segmentation": seg.total_s, "onnx_runtime": seg.timing.network_s, "network_calls": seg.timing.network_calls},
        "uncertainty": {"file": UNCERTAINTY, "unit": "nats", "what": "predictive entropy of the members' mean probabilities (mirrors x folds x Monte Carlo passes)", "members": seg.members},
        "lesions": found,
    })
}

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

use anyhow::{Context, bail};
use clap::Args;
use coxa_core::Volume;
use coxa_infer::{InferenceOptions, Model, Segmentation, SessionConfig};
use serde_json::{Value, json};

/// Arguments of `coxa segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// The CT: a DICOM folder or file, or a .nii/.nii.gz file.
    #[arg(long)]
    pub ct: PathBuf,
    /// The model card (TOML) beside its .onnx weights; see the README's "Learned segmentation".
    #[arg(long)]
    pub model: PathBuf,
    /// The output folder; it must not exist yet (coxa never overwrites).
    #[arg(long)]
    pub out: PathBuf,
    /// How the model is run.
    #[command(flatten)]
    pub run: ModelRunArgs,
}

/// How the model is run (shared by `coxa segment` and `coxa anatomy --model`).
#[derive(Debug, Clone, Args)]
pub struct ModelRunArgs {
    /// Skip mirroring test-time augmentation (8x faster for 3 axes; less uncertainty information).
    #[arg(long)]
    pub no_mirror: bool,
    /// Only these folds of an ensemble card (0-based; repeat). Default: every fold.
    #[arg(long = "fold", value_name = "K")]
    pub folds: Vec<usize>,
    /// Monte Carlo dropout passes (models whose card says stochastic = true).
    #[arg(long, default_value_t = 1)]
    pub mc_passes: usize,
    /// Patches per network call.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// ONNX Runtime threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Default for ModelRunArgs {
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
}

/// Loads the card's model and segments `ct` with it.
pub fn segment_ct(ct: &Volume, card: &Path, run: &ModelRunArgs) -> anyhow::Result<ModelSegmentation> {
    let mut model = Model::load(card, &session_config(run)).with_context(|| format!("--model {}", card.display()))?;
    segment_with(&mut model, &card.display().to_string(), ct, run)
}

fn session_config(run: &ModelRunArgs) -> SessionConfig {
    let mut config = SessionConfig::default();
    if let Some(t) = run.threads {
        config.intra_threads = t.max(1);
    }
    config
}

/// Segments `ct` with `model` (its card named `card` in `segment.json`).
fn segment_with(model: &mut Model, card: &str, ct: &Volume, run: &ModelRunArgs) -> anyhow::Result<ModelSegmentation> {
    let mut options = InferenceOptions::for_card(model.card(), !run.no_mirror);
    options.folds = run.folds.clone();
    options.mc_passes = run.mc_passes.max(1);
    options.window.batch_size = run.batch.max(1);
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
    Ok(ModelSegmentation { seg, json, model_name: c.name.clone(), test_model: c.test_model, version: c.version.clone() })
}

/// coxa's phantom segmentation TEST model (`models/infer/phantom/`, trained on phantoms by
/// `train_phantom_seg.py`), built into the program.
const PHANTOM_MODEL_CARD: &str = include_str!("../../models/infer/phantom/phantom_seg_test.toml");
const PHANTOM_MODEL_ONNX: &[u8] = include_bytes!("../../models/infer/phantom/phantom_seg_test.onnx");

/// The phantom's CT segmented by coxa's built-in test model into `anatomy_dir` (which exists):
/// `model_labels.nii.gz`, `uncertainty.nii.gz` and `segment.json`, and the report's record.
/// `Ok(Err(note))`, a one-line note, when ONNX Runtime is not found: the case then runs as
/// without a model. The case's own labels are not replaced (`use_note` says so).
pub fn phantom_with_test_model(ct: &Volume, anatomy_dir: &Path) -> anyhow::Result<Result<coxa_core::report::SegmentationRecord, String>> {
    if let Err(e) = coxa_infer::runtime::runtime() {
        let why = e.to_string();
        let first = why.split(". ").next().unwrap_or(&why);
        return Ok(Err(format!("the phantom was not segmented by coxa's test model: {first} (pip install onnxruntime==1.31.1, or set ORT_DYLIB_PATH)")));
    }
    let run = ModelRunArgs::default();
    let weights = vec![(PathBuf::from("built-in/phantom_seg_test.onnx"), PHANTOM_MODEL_ONNX.to_vec())];
    let mut model = Model::from_memory(PHANTOM_MODEL_CARD, Path::new("built-in/phantom_seg_test.toml"), weights, &session_config(&run)).context("coxa's built-in phantom test model")?;
    let m = segment_with(&mut model, "built-in: models/infer/phantom/phantom_seg_test.toml", ct, &run)?;
    coxa_io::nifti::write_label_map(&m.seg.labels, &anatomy_dir.join("model_labels.nii.gz"))?;
    let mut m = m;
    m.json["labels"] = json!("model_labels.nii.gz");
    write_uncertainty(anatomy_dir, &m)?;
    Ok(Ok(segmentation_record(&m, "anatomy/", "model_labels.nii.gz", "shown for its uncertainty only: the case's anatomy used coxa's classical bone segmentation and the phantom's own muscle labels")))
}

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

/// Writes `uncertainty.nii.gz` and `segment.json` into `dir` (which exists).
pub fn write_uncertainty(dir: &Path, m: &ModelSegmentation) -> anyhow::Result<()> {
    let grid = m.seg.labels.grid().clone();
    let unc = Volume::new(grid, m.seg.entropy_nats.clone()).context("uncertainty map")?;
    coxa_io::nifti::write_volume(&unc, &dir.join("uncertainty.nii.gz"))?;
    crate::atomic::write_new(&dir.join("segment.json"), serde_json::to_string_pretty(&m.json)?.as_bytes())?;
    Ok(())
}

/// The card's classes as the anatomy stage's class table (background left out).
pub fn class_table(m: &ModelSegmentation) -> coxa_core::ClassTable {
    let mut t = coxa_core::ClassTable::new();
    for s in m.seg.summary.iter().filter(|s| s.label != 0) {
        t.insert(s.label, s.name.as_str());
    }
    t
}

/// Runs `coxa segment`.
pub fn cli(args: &SegmentArgs) -> anyhow::Result<()> {
    if args.out.exists() {
        bail!("{} already exists; coxa segment writes into a new folder and never overwrites: choose another --out", args.out.display());
    }
    let ct = coxa_io::open(&args.ct, &coxa_io::OpenOptions::default()).with_context(|| format!("--ct {}", args.ct.display()))?.volume;
    let m = segment_ct(&ct, &args.model, &args.run)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    coxa_io::nifti::write_label_map(&m.seg.labels, &args.out.join("labels.nii.gz"))?;
    write_uncertainty(&args.out, &m)?;
    println!("wrote {} (labels.nii.gz, uncertainty.nii.gz, segment.json)", args.out.display());
    if m.test_model {
        println!("note: {} is a TEST model, not validated; never use its labels clinically", m.model_name);
    }
    for s in &m.seg.summary {
        if s.label != 0 {
            let flag = if s.uncertain() { "  UNCERTAIN" } else { "" };
            println!("{:28} {:10.1} ml  mean uncertainty {:.3} nats{flag}", s.name, s.volume_ml, s.mean_entropy_nats);
        }
    }
    Ok(())
}

/// `coxa anatomy --ct CT --model CARD`: segments the CT with the model, then runs the anatomy
/// stage on its labels (in memory, named by the card's classes) as it runs on a label map given
/// with `--labels` and `--label-names`, and writes `uncertainty.nii.gz` and `segment.json` beside `anatomy.json`.
pub fn anatomy_with_model(source: crate::anatomy::AnatomySource, card: &Path, out: &Path, run: &ModelRunArgs) -> anyhow::Result<coxa_core::AnatomyRecord> {
    let crate::anatomy::AnatomySource::Ct { ct, dicom, any_modality, .. } = source else {
        bail!("--model needs --ct: a model segments a CT, not bone surfaces");
    };
    if out.exists() {
        bail!("{} already exists; coxa anatomy writes into a new folder and never overwrites: choose another --out", out.display());
    }
    let options = coxa_io::OpenOptions::new().with_dicom(dicom.clone()).with_any_modality(any_modality);
    let volume = coxa_io::open(&ct, &options).with_context(|| format!("--ct {}", ct.display()))?.volume;
    let m = segment_ct(&volume, card, run)?;
    // The model's labels go to the anatomy stage in memory, on the CT's grid, named by the card.
    let given = crate::anatomy::GivenLabels { map: m.seg.labels.clone(), classes: class_table(&m), origin: format!("--model {}", card.display()) };
    let source = crate::anatomy::AnatomySource::Ct { ct, labels: None, label_names: None, dicom, any_modality };
    let report = crate::anatomy::run_given(&source, given, out)?;
    write_uncertainty(out, &m)?;
    Ok(report)
}

//! `coxa segment`: a CT segmented by a learned model into a new folder (labels.nii.gz,
//! uncertainty.nii.gz, segment.json); the work is [`coxa_case::segment`]'s.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use coxa_case::segment::{ModelRun, ModelUse, segment_ct};

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

/// How the model is run (shared by `coxa segment`, `coxa anatomy --model` and `coxa lesions --model`).
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

impl ModelRunArgs {
    /// The library's value of these flags.
    pub fn to_run(&self) -> ModelRun {
        ModelRun { no_mirror: self.no_mirror, folds: self.folds.clone(), mc_passes: self.mc_passes, batch: self.batch, threads: self.threads }
    }
}

/// Which of a model's structures the anatomy stage takes (`coxa anatomy --model-use`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelUseArg {
    /// Bones and muscles from the model.
    #[default]
    All,
    /// The model's muscles only; the bones from coxa's classical segmentation (for a model whose
    /// bones are too coarse for landmarks, such as coxa's phantom test model).
    Muscles,
}

impl From<ModelUseArg> for ModelUse {
    fn from(a: ModelUseArg) -> Self {
        match a {
            ModelUseArg::All => ModelUse::All,
            ModelUseArg::Muscles => ModelUse::Muscles,
        }
    }
}

/// Runs `coxa segment`.
pub fn cli(args: &SegmentArgs) -> anyhow::Result<()> {
    if args.out.exists() {
        bail!("{} already exists; coxa segment writes into a new folder and never overwrites: choose another --out", args.out.display());
    }
    let ct = coxa_io::open(&args.ct, &coxa_io::OpenOptions::default()).with_context(|| format!("--ct {}", args.ct.display()))?.volume;
    let stages = super::progress::Stages::start("coxa segment");
    stages.stage("learned segmentation");
    let m = segment_ct(&ct, &args.model, &args.run.to_run())?;
    stages.finish();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    coxa_case::case_writer::write_model_segmentation(&args.out, &m.seg, &m.json, "labels.nii.gz")?;
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

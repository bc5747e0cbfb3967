//! `coxa pseudo-mri`: a pseudo T2-weighted MR image made from a CT into a new folder
//! (`pseudo_t2.nii.gz`, `pseudo_mri.json`, and for a DICOM CT or with `--dicom` an MR series in
//! `dicom/`); the image and its files are [`coxa_case::pseudo_mri`]'s, with `--model CARD` a
//! learned model's ([`learned`]).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use coxa_case::pseudo_mri::{IMAGE, NOTE, RECORD, ct_json, make, write};
use coxa_diagnostics::pseudo_mri::Sequence;
use serde_json::Value;

pub mod learned;

/// Arguments of `coxa pseudo-mri`.
#[derive(Debug, Args)]
pub struct PseudoMriArgs {
    /// The CT: DICOM folder or file, or NIfTI.
    #[arg(long)]
    pub ct: PathBuf,
    /// Repetition time of the simulated spin echo, ms.
    #[arg(long, default_value_t = 4000.0)]
    pub tr_ms: f64,
    /// Echo time of the simulated spin echo, ms.
    #[arg(long, default_value_t = 100.0)]
    pub te_ms: f64,
    /// Also write a DICOM MR series (`dicom/`) for the PACS; the default for a DICOM CT. Needs a
    /// DICOM CT (the series it is derived from and whose study it joins).
    #[arg(long)]
    pub dicom: bool,
    /// Write no DICOM series, even for a DICOM CT.
    #[arg(long, conflicts_with = "dicom")]
    pub no_dicom: bool,
    /// A learned image-to-image model's card (TOML, `task = "image-translation"`) beside its
    /// .onnx weights: the pseudo-MRI is the model's, slice by slice, instead of the model-free
    /// relaxation model's (--tr-ms and --te-ms are then the card's). Needs ONNX Runtime.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --model: the noise seed of a stepped graph (default: the card's sampling.seed); the
    /// same seed gives the same image bit for bit.
    #[arg(long, requires = "model")]
    pub seed: Option<u64>,
    /// With --model: network calls per slice (default: the card's sampling.steps; 1 for a
    /// one-pass generator).
    #[arg(long, requires = "model")]
    pub steps: Option<u32>,
    /// With --model: ONNX Runtime threads (default: every core).
    #[arg(long, requires = "model")]
    pub threads: Option<usize>,
    /// The folder to write; must not exist.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `coxa pseudo-mri`; returns the record written.
pub fn run(args: &PseudoMriArgs) -> Result<Value> {
    if args.out.exists() {
        bail!("{} already exists; coxa pseudo-mri writes into a new folder and never overwrites: choose another --out", args.out.display());
    }
    let stages = super::progress::Stages::start("coxa pseudo-mri");
    if let Some(card) = &args.model {
        stages.stage("learned image translation");
        return learned::run(args, card);
    }
    stages.stage("pseudo-MRI");
    let seq = Sequence { tr_ms: args.tr_ms, te_ms: args.te_ms, ..Sequence::default() };
    seq.check().map_err(|e| anyhow::anyhow!("--tr-ms/--te-ms: {e}"))?;
    let origin = format!("--ct {}", args.ct.display());
    let loaded = super::open_ct(&args.ct, "pseudo-mri")?;
    let is_dicom = matches!(loaded.source, coxa_io::SourceKind::Dicom(_));
    if args.dicom && !is_dicom {
        bail!("--dicom: {} is not a DICOM series; a DICOM MR series is derived from a DICOM CT (its study, frame of reference and images): give the CT's DICOM folder", args.ct.display());
    }
    let pm = make(&loaded.volume, &seq, &origin)?;
    let write_dicom = is_dicom && !args.no_dicom;
    let ct = ct_json(&args.ct, &loaded);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let dicom = if write_dicom { Some(coxa_case::pseudo_mri::dicom::write(&args.ct, &args.out.join("dicom"), &pm, &seq, NOTE)?) } else { None };
    Ok(write(&args.out, &pm, ct, dicom)?)
}

/// `coxa pseudo-mri` as the command line runs it.
pub fn cli(args: &PseudoMriArgs) -> Result<()> {
    let r = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    if r["method"] == "learned" {
        let m = &r["model"];
        let l = &r["learned"];
        let test = if m["test_model"] == true { " (a TEST model, not for clinical use)" } else { "" };
        println!(
            "wrote {} ({IMAGE}, {RECORD}{}): learned model {} {}{test}, {} step(s), seed {}",
            args.out.display(),
            if r["dicom"].is_null() { "" } else { ", dicom/" },
            m["name"].as_str().unwrap_or_default(),
            m["version"].as_str().unwrap_or_default(),
            l["steps"],
            l["seed"]
        );
        println!("note: {NOTE}");
        return Ok(());
    }
    let canal = &r["model_free"]["canal"];
    let canal_line = if canal["found"] == true { format!("spinal canal found over {} mm ({} slices)", canal["length_mm"], canal["slices"]) } else { "no spinal canal found".to_string() };
    let seq = &r["model_free"]["sequence"];
    println!("wrote {} ({IMAGE}, {RECORD}{}): spin echo TR {} ms, TE {} ms; {canal_line}", args.out.display(), if r["dicom"].is_null() { "" } else { ", dicom/" }, seq["tr_ms"], seq["te_ms"]);
    println!("note: {NOTE}");
    Ok(())
}

//! `coxa pseudo-mri`: a pseudo T2-weighted MR image made from a CT (issue 43), for when an MRI
//! cannot be taken. Model-free ([`coxa_diagnostics::pseudo_mri`]: tissue classes from the HU and
//! the spinal canal found inside the vertebral ring, mapped to the spin-echo signal of published
//! relaxation values at a recorded TR/TE, blended at tissue borders).
//!
//! With `--model CARD`, a learned image-to-image model instead ([`learned`]).
//!
//! Writes into a new folder: `pseudo_t2.nii.gz` (on the CT's grid: same size, spacing, origin and
//! direction; int16, `1000 S`), `pseudo_mri.json` (the record: the CT read, the grid, the
//! sequence, each tissue's relaxation values, source and signal, the canal found) and, for a
//! DICOM CT or with `--dicom`, `dicom/`: an MR Image Storage series in the CT's study
//! ([`coxa_pacs::pseudo_mr`]). The patient's identity goes only into those DICOM objects.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use coxa_core::Volume;
use coxa_diagnostics::pseudo_mri::{self, PseudoMri, Sequence};
use serde_json::{Value, json};

pub mod learned;

/// What every pseudo-MRI output says of itself.
pub const NOTE: &str = "pseudo-MRI derived from CT by coxa; not for diagnosis alone";
/// The image's file name.
pub const IMAGE: &str = "pseudo_t2.nii.gz";
/// The record's file name.
pub const RECORD: &str = "pseudo_mri.json";

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

/// The grid as the record states it (SimpleITK's conventions: size i, j, k; direction row-major).
pub fn grid_json(v: &Volume) -> Value {
    let g = v.grid();
    json!({
        "size": g.size(),
        "spacing_mm": g.spacing_mm().as_slice(),
        "origin_lps_mm": g.origin_lps_mm().as_slice(),
        "direction": g.direction_row_major(),
    })
}

/// The model-free pseudo-MRI of `ct` at `seq`, its CT named `origin` in errors.
pub fn make(ct: &Volume, seq: &Sequence, origin: &str) -> Result<PseudoMri> {
    pseudo_mri::model_free(ct, seq).with_context(|| origin.to_string())
}

/// Writes `pseudo_t2.nii.gz` and `pseudo_mri.json` into the existing folder `dir`; `ct` describes
/// the CT read (no patient identity). Returns the record.
pub fn write(dir: &Path, pm: &PseudoMri, ct: Value, dicom: Option<Value>) -> Result<Value> {
    coxa_io::nifti::write_volume(&pm.image, &dir.join(IMAGE)).with_context(|| format!("writing {}", dir.join(IMAGE).display()))?;
    let record = json!({
        "coxa_version": env!("CARGO_PKG_VERSION"),
        "note": NOTE,
        "image": IMAGE,
        "ct": ct,
        "grid": grid_json(&pm.image),
        "method": "model-free",
        "model": Value::Null,
        "model_free": pm.record,
        "dicom": dicom,
    });
    crate::stamp::write(&dir.join(RECORD), "pseudo_mri", &record)?;
    Ok(record)
}

/// Runs `coxa pseudo-mri`; returns the record written.
pub fn run(args: &PseudoMriArgs) -> Result<Value> {
    if args.out.exists() {
        bail!("{} already exists; coxa pseudo-mri writes into a new folder and never overwrites: choose another --out", args.out.display());
    }
    if let Some(card) = &args.model {
        return learned::run(args, card);
    }
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
    let dicom = if write_dicom { Some(crate::cli::pseudo_mri_dicom::write(&args.ct, &args.out.join("dicom"), &pm, &seq, NOTE)?) } else { None };
    write(&args.out, &pm, ct, dicom)
}

/// What the record says of the CT read (no patient identity).
pub fn ct_json(path: &Path, loaded: &coxa_io::Loaded) -> Value {
    json!({
        "file": path.display().to_string(),
        "format": match &loaded.source { coxa_io::SourceKind::Dicom(_) => "DICOM", coxa_io::SourceKind::Nifti => "NIfTI", _ => "NRRD" },
        "files": loaded.n_files,
        "series_uid": match &loaded.source { coxa_io::SourceKind::Dicom(s) => json!(s.series_uid), _ => Value::Null },
        "warnings": loaded.warnings,
    })
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

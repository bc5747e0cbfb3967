//! `coxa radiomics`: pyradiomics' features ([`coxa_diagnostics`]) of one image and the labels of
//! a label map, into a CSV (one row per image and label: `image`, `label`, `label_name`, then one
//! column per feature named as pyradiomics names it) or JSON file.
//!
//! Every failure is an error (exit status 2) naming the label and the cause: an empty mask, a
//! label absent, a mask on another grid, a ROI too small; a feature that comes out NaN or
//! infinite is an error naming it, never a NaN silently written into the table. Nothing is
//! written unless every label succeeds, and an existing output file is never replaced.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use coxa_core::{LabelMap, Volume};
use coxa_diagnostics::{FeatureVector, Params, extract};
use rayon::prelude::*;

/// Arguments of `coxa radiomics`.
#[derive(Debug, Args)]
pub struct RadiomicsArgs {
    /// The image: NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), a DICOM file or folder.
    #[arg(long)]
    pub image: PathBuf,
    /// The label map on the image's grid (NIfTI or NRRD), e.g. TotalSegmentator's output.
    #[arg(long)]
    pub mask: PathBuf,
    /// A label to compute, by value (77) or by coxa/TotalSegmentator name (hip_left); repeat for
    /// several. Default: every label in the mask.
    #[arg(long = "label", value_name = "N|NAME")]
    pub labels: Vec<String>,
    /// pyradiomics parameter file (YAML); default: pyradiomics' defaults (original image, all
    /// feature classes, binWidth 25).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Output file, .csv or .json (must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

fn read_image(path: &Path) -> anyhow::Result<Volume> {
    if coxa_io::nrrd::is_nrrd_path(path) {
        return Ok(coxa_io::nrrd::read_volume(path)?);
    }
    let opts = coxa_io::OpenOptions::new().with_any_modality(true);
    Ok(coxa_io::open(path, &opts)?.volume)
}

fn read_mask(path: &Path) -> anyhow::Result<LabelMap> {
    if coxa_io::nrrd::is_nrrd_path(path) {
        Ok(coxa_io::nrrd::read_label_map(path)?)
    } else if coxa_io::nifti::is_nifti_path(path) {
        Ok(coxa_io::nifti::read_label_map(path)?)
    } else {
        bail!("--mask {}: a NIfTI (.nii, .nii.gz) or NRRD (.nrrd) label map is expected", path.display())
    }
}

/// Runs the command.
pub fn cli(args: &RadiomicsArgs) -> anyhow::Result<()> {
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext != "csv" && ext != "json" {
        bail!("--out {}: the file must end in .csv or .json", args.out.display());
    }
    if args.out.exists() {
        bail!("{} already exists; coxa never overwrites files: choose a new path or remove it", args.out.display());
    }
    let params = match &args.params {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("--params {}: cannot read it", p.display()))?;
            Params::from_yaml(&text).with_context(|| format!("--params {}", p.display()))?
        }
        None => Params::default(),
    };
    let image = read_image(&args.image)?;
    let mask = read_mask(&args.mask)?;
    let names = coxa_anatomy::labels::coxa_classes();
    let labels: Vec<u32> = if args.labels.is_empty() {
        mask.counts().keys().filter(|l| **l != 0).map(|l| u32::from(*l)).collect()
    } else {
        args.labels
            .iter()
            .map(|l| match l.parse::<u32>() {
                Ok(n) => Ok(n),
                Err(_) => names.id(l).map(u32::from).ok_or_else(|| {
                    let known: Vec<&str> = names.iter().map(|(_, n)| n).collect();
                    anyhow::anyhow!("--label {l}: not a number nor a known name ({})", known.join(", "))
                }),
            })
            .collect::<anyhow::Result<_>>()?
    };
    if labels.is_empty() {
        bail!("{}: the mask is empty (no voxel is labelled): nothing to compute", args.mask.display());
    }
    let rows: Vec<(u32, FeatureVector)> = labels
        .par_iter()
        .map(|&label| {
            let mut p = params.clone();
            p.settings.label = label;
            let f = extract(&image, &mask, &p).with_context(|| format!("{}", args.mask.display()))?;
            let bad: Vec<&str> = f.iter().filter(|(_, v)| !v.is_finite()).map(|(n, _)| n.as_str()).collect();
            if !bad.is_empty() {
                bail!("label {label}: {} not finite (the ROI is degenerate for them): {}; disable them with featureClass in --params", bad.len(), bad.join(", "));
            }
            Ok((label, f))
        })
        .collect::<anyhow::Result<_>>()?;
    let image_name = args.image.display().to_string();
    let label_name = |l: u32| u16::try_from(l).ok().and_then(|l| names.name(l)).unwrap_or("").to_string();
    let text = if ext == "csv" {
        let mut s = String::from("image,label,label_name");
        for (n, _) in &rows[0].1 {
            write!(s, ",{n}")?;
        }
        s.push('\n');
        for (label, f) in &rows {
            write!(s, "{},{label},{}", csv_field(&image_name), label_name(*label))?;
            for (_, v) in f {
                write!(s, ",{v}")?;
            }
            s.push('\n');
        }
        s
    } else {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(label, f)| {
                let features: serde_json::Map<String, serde_json::Value> = f.iter().map(|(n, v)| (n.clone(), serde_json::json!(v))).collect();
                serde_json::json!({"image": image_name, "label": label, "label_name": label_name(*label), "features": features})
            })
            .collect();
        serde_json::to_string_pretty(&list)? + "\n"
    };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("wrote {} ({} label(s), {} features each)", args.out.display(), rows.len(), rows[0].1.len());
    Ok(())
}

/// A CSV field, quoted when it holds a comma, quote or newline.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

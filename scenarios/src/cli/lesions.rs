//! `coxa lesions`: bone metastasis candidates on a CT into a new folder (`lesions.json`,
//! `lesions.nii.gz`, and for a DICOM CT `lesions_seg.dcm`); the search and the files are
//! [`coxa_case::lesions`]'s (classical, or with `--model` a learned model: [`learned`]). Every
//! refusal (not a CT, too few slices, no bone, a label map on another grid, an existing folder) is
//! one line and exit status 2, with nothing written.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use coxa_case::lesions::{JSON, MAP, file_name, read_labels, search, summary_lines, write, write_seg};

pub mod learned;

/// Arguments of `coxa lesions`.
#[derive(Debug, Args)]
pub struct LesionsArgs {
    /// The CT: a DICOM folder or file, or a NIfTI/NRRD file (must be a CT, in HU).
    #[arg(long)]
    pub ct: PathBuf,
    /// A label map on the CT's grid whose bones are searched (TotalSegmentator ids: vertebrae,
    /// sacrum, hips, femurs, ribs, ...). Without it, a whole-skeleton threshold mask (HU >= 200,
    /// closed by one voxel) is searched as one bone.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The label map's class file (JSON `{"25": "sacrum", ...}`); default TotalSegmentator's v2 ids.
    #[arg(long, requires = "labels")]
    pub label_names: Option<PathBuf>,
    /// The output folder; it must not exist yet (coxa never overwrites).
    #[arg(long)]
    pub out: PathBuf,
    /// A learned lesion model's card (TOML, `task = "lesion-segmentation"`) beside its .onnx
    /// weights: lesions are the model's marked voxels within bone instead of the classical
    /// search's; also writes lesions_probability.nii.gz and lesions_uncertainty.nii.gz. Needs ONNX Runtime.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --model: a voxel is lesion where its lesion probability is at least this (default 0.5).
    #[arg(long, requires = "model")]
    pub threshold: Option<f64>,
    /// How the model is run (with --model).
    #[command(flatten)]
    pub run: super::segment::ModelRunArgs,
}

/// Runs `coxa lesions` as the command line does: [`run`], then its lines printed.
pub fn cli(args: &LesionsArgs) -> anyhow::Result<()> {
    for line in run(args)? {
        println!("{line}");
    }
    Ok(())
}

/// Runs `coxa lesions` without printing: the classical path, or the learned one with `--model`
/// ([`learned`]), into the new folder `--out`. Returns the lines the command line
/// prints (the files written, one line per lesion).
///
/// # Errors
/// The program's refusals: the output exists, the CT or the labels cannot be read, a bad card.
pub fn run(args: &LesionsArgs) -> anyhow::Result<Vec<String>> {
    if args.out.exists() {
        bail!("{} already exists; coxa lesions writes into a new folder and never overwrites: choose another --out", args.out.display());
    }
    let stages = super::progress::Stages::start("coxa lesions");
    match &args.model {
        Some(card) => {
            stages.stage("learned lesion search");
            learned::run(args, card)
        }
        None => {
            stages.stage("lesion search");
            classical(args)
        }
    }
}

/// The classical path (see the module docs).
fn classical(args: &LesionsArgs) -> anyhow::Result<Vec<String>> {
    let loaded = super::open_ct(&args.ct, "lesions")?;
    let is_dicom = matches!(loaded.source, coxa_io::SourceKind::Dicom(_));
    let ct = loaded.volume;
    let labels = match &args.labels {
        Some(p) => Some(read_labels(p, args.label_names.as_deref(), &ct)?),
        None => None,
    };
    let (detection, bones_from) = search(&ct, labels.as_ref().map(|(m, n)| (m, n)), args.labels.as_deref())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    write(&args.out, &ct, &detection, &file_name(&args.ct), &bones_from)?;
    let seg = if is_dicom { write_seg(&args.ct, &args.out)? } else { None };
    let mut lines = vec![format!("wrote {} ({JSON}, {MAP}{}): {} lesion candidate(s)", args.out.display(), seg.map_or(String::new(), |s| format!(", {s}")), detection.lesions.len())];
    lines.extend(summary_lines(&detection));
    Ok(lines)
}

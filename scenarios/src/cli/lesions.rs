//! `coxa lesions`: bone metastasis candidates on a CT ([`coxa_diagnostics::lesions`], the
//! classical path: no weights; with `--model`, a learned model: [`learned`]), into a new folder: `lesions.json` (one record per lesion) and
//! `lesions.nii.gz` (a label map of the lesions on the CT's grid: 0 none, else the lesion's id).
//! The bones come from `--labels` (TotalSegmentator ids, names from `--label-names` or
//! TotalSegmentator's v2 table) or, without, from a threshold mask. When the CT is a DICOM series
//! and a lesion is found, `lesions_seg.dcm` too: the lesions as a DICOM SEG in the CT's study
//! ([`coxa_pacs::lesion_seg`], for `coxa pacs push` or any viewer). Every refusal (not a CT, too
//! few slices, no bone, a label map on another grid, an existing folder) is one line and exit
//! status 2, with nothing written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use coxa_core::{ClassTable, LabelMap, Volume};
use coxa_diagnostics::lesions::{self, Detection, LesionSettings};
use ndarray::Array3;

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
    pub run: crate::segment::ModelRunArgs,
}

/// The file names in the output folder (and a case's `lesions/`).
pub const JSON: &str = "lesions.json";
/// See [`JSON`].
pub const MAP: &str = "lesions.nii.gz";

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
    match &args.model {
        Some(card) => learned::run(args, card),
        None => classical(args),
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

/// The SEG's file name in the output folder.
pub const SEG: &str = "lesions_seg.dcm";

/// Writes the lesions of `dir` (as [`write`] wrote them) as a DICOM SEG derived from the DICOM CT
/// `ct` (a folder, or a file whose folder holds the series) into `dir`; `None` without a lesion.
pub fn write_seg(ct: &Path, dir: &Path) -> anyhow::Result<Option<&'static str>> {
    let folder = if ct.is_dir() { ct.to_path_buf() } else { ct.parent().map(Path::to_path_buf).unwrap_or_default() };
    let src = coxa_pacs::results::Source::read(&folder).with_context(|| format!("--ct {}: reading the CT series for the lesions' DICOM SEG", ct.display()))?;
    let Some(seg) = coxa_pacs::lesion_seg::build_lesion_seg(&src, dir).context("the lesions' DICOM SEG")? else { return Ok(None) };
    crate::atomic::write_new(&dir.join(SEG), &seg.bytes)?;
    Ok(Some(SEG))
}

/// A path's file name only (folder names may carry a patient's name).
pub fn file_name(p: &Path) -> String {
    p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

/// Reads a label map that must lie on `ct`'s grid, with its class names.
pub fn read_labels(path: &Path, names: Option<&Path>, ct: &Volume) -> anyhow::Result<(Array3<u16>, BTreeMap<u16, String>)> {
    let map: LabelMap =
        if coxa_io::nrrd::is_nrrd_path(path) { coxa_io::nrrd::read_label_map(path) } else { coxa_io::nifti::read_label_map(path) }.with_context(|| format!("--labels {}", path.display()))?;
    ct.grid().check_same(map.grid(), coxa_anatomy::labels::GRID_TOLERANCE_MM).with_context(|| format!("--labels {}: not on the CT's grid; resample it onto the CT first", path.display()))?;
    let names: BTreeMap<u16, String> = match names {
        Some(p) => {
            let text = coxa_io::read_text_bounded(p, coxa_io::Bound::TEXT).with_context(|| format!("--label-names {}", p.display()))?;
            let table: ClassTable = coxa_anatomy::labels::parse_class_table(&text).with_context(|| format!("--label-names {}", p.display()))?;
            table.iter().map(|(id, n)| (id, n.to_string())).collect()
        }
        None => lesions::totalseg_bone_names(),
    };
    Ok(lesions::bones_of(&map, &names))
}

/// Runs the classical search on the label map's bones (`labels`, read from `labels_path`) or on a
/// threshold mask; returns what it found and where the bones came from.
pub fn search(ct: &Volume, labels: Option<(&Array3<u16>, &BTreeMap<u16, String>)>, labels_path: Option<&Path>) -> anyhow::Result<(Detection, String)> {
    let settings = LesionSettings::default();
    let (owned, bones_from);
    let (bones, names) = match labels {
        Some((b, n)) => {
            bones_from = format!("label map {}", labels_path.map(file_name).unwrap_or_default());
            if !b.iter().any(|l| *l != 0) {
                bail!(
                    "the label map{} holds no bone (TotalSegmentator's vertebrae, sacrum, hips, femurs, ribs...): give a label map with bones, or none for a threshold mask",
                    labels_path.map(|p| format!(" {}", p.display())).unwrap_or_default()
                );
            }
            (b, n)
        }
        None => {
            owned = lesions::threshold_bone_mask(ct, settings.metal_hu);
            bones_from = format!("threshold mask (HU >= {} closed by one voxel)", lesions::BONE_THRESHOLD_HU);
            (&owned.0, &owned.1)
        }
    };
    let d = lesions::detect(ct, bones, names, &settings).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((d, bones_from))
}

/// The JSON record of a search.
pub fn record(d: &Detection, ct_name: &str, bones_from: &str) -> serde_json::Value {
    let s = LesionSettings::default();
    serde_json::json!({
        "coxa_version": crate::view::VERSION,
        "method": "classical: departure of smoothed HU from each bone's healthy interior (half-sample mode, clipped MAD) or, for lytic lesions, from the median of a 12-18 mm shell around each voxel (soft tissue, homogeneous); no learned model",
        "ct": ct_name,
        "bones": bones_from,
        "settings": s,
        "slices": "the first and last slice (k index, 0-based, of the CT's grid) a lesion spans",
        "probability": "a monotone score of the departure, 1/(1+exp(-(peak |z| - seed z of its kind))), not a calibrated probability",
        "limits": format!("only bone deeper than {} mm from its surface is searched; lytic lesions in the hips and femurs (bones that mix fatty and dense marrow) are mostly missed (3-4 of 9 inserted ones found); lytic lesions of 8-11 mm are often missed", s.core_depth_mm),
        "references": d.references.iter().map(|(b, hu)| serde_json::json!({"bone": b, "reference_hu": hu})).collect::<Vec<_>>(),
        "not_searched": d.not_searched.iter().map(|(b, ml)| serde_json::json!({"bone": b, "volume_ml": ml, "why": format!("within {} mm of metal (> {} HU)", s.metal_margin_mm, s.metal_hu)})).collect::<Vec<_>>(),
        "lesions": d.lesions,
    })
}

/// Writes `lesions.json` and `lesions.nii.gz` into `dir` (which exists).
pub fn write(dir: &Path, ct: &Volume, d: &Detection, ct_name: &str, bones_from: &str) -> anyhow::Result<()> {
    let mut classes = ClassTable::new();
    for l in &d.lesions {
        classes.insert(l.id, format!("lesion_{}_{}", l.id, serde_json::to_value(l.kind)?.as_str().unwrap_or("")));
    }
    let map = LabelMap::new(ct.grid().clone(), d.map.clone(), classes)?;
    coxa_io::nifti::write_label_map(&map, &dir.join(MAP))?;
    let text = crate::stamp::text("lesions", &record(d, ct_name, bones_from))? + "\n";
    std::fs::write(dir.join(JSON), text).with_context(|| format!("cannot write {}", dir.join(JSON).display()))?;
    Ok(())
}

/// One line per lesion and per bone left out.
pub fn summary_lines(d: &Detection) -> Vec<String> {
    let mut out: Vec<String> = d
        .lesions
        .iter()
        .map(|l| {
            let c = l.centre_lps_mm;
            format!(
                "  {} {:?} in {}: {:.2} ml at LPS ({:.0}, {:.0}, {:.0}) mm, slices {}-{}, score {:.2}",
                l.id, l.kind, l.bone, l.volume_ml, c[0], c[1], c[2], l.slices[0], l.slices[1], l.probability
            )
        })
        .collect();
    for (b, ml) in &d.not_searched {
        out.push(format!("  note: {ml:.1} ml of {b} near metal was not searched"));
    }
    out
}

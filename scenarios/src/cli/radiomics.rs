//! `coxa radiomics`: pyradiomics' features of one image and the labels of a label map, into a CSV
//! or JSON file; with `--scenario`, of every case of a scenario (one row per case and structure, a
//! `case` column first). The extraction and the tables are the radiomics stage's
//! ([`coxa_case::radiomics`]); this command reads scenarios, which hold that stage, so it sits above
//! both (docs/DESIGN.md, no file circles).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use coxa_diagnostics::Params;

use coxa_case::radiomics::{Table, apply_model, csv, features, json, label_values, model_line, read_image, read_mask, read_params, same_columns, table};

/// Arguments of `coxa radiomics`.
#[derive(Debug, Args)]
pub struct RadiomicsArgs {
    /// The image: NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr), a DICOM file or folder.
    #[arg(long, required_unless_present = "scenario", conflicts_with = "scenario")]
    pub image: Option<PathBuf>,
    /// The label map on the image's grid (NIfTI or NRRD), e.g. TotalSegmentator's output.
    #[arg(long, required_unless_present = "scenario", conflicts_with = "scenario")]
    pub mask: Option<PathBuf>,
    /// Every case of this scenario instead of one image: its CT with its `labels` (or, for a case
    /// without, the label map of its finished run, `<output_dir>/cases/NAME/anatomy/labels.nii.gz`).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// A label to compute, by value (77) or by coxa/TotalSegmentator name (hip_left); repeat for
    /// several. Default: every label in the mask.
    #[arg(long = "label", value_name = "N|NAME")]
    pub labels: Vec<String>,
    /// pyradiomics parameter file (YAML); default: pyradiomics' defaults (original image, all
    /// feature classes, binWidth 25).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// A tabular model's card (`task = "tabular-classification"`, e.g. a prognosis model): its
    /// features are taken from each row by name and its class probabilities added as columns
    /// `probability_<class>`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output file, .csv or .json (must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs the command as the command line does: [`run`], then its lines printed.
pub fn cli(args: &RadiomicsArgs) -> anyhow::Result<()> {
    for line in run(args)? {
        println!("{line}");
    }
    Ok(())
}

/// Runs the command without printing: the lines the command line prints (cases passed over, the
/// model applied, the file written).
///
/// # Errors
/// The program's refusals: an output that exists, unreadable inputs, an empty mask, a bad card.
pub fn run(args: &RadiomicsArgs) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let ext = args.out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext != "csv" && ext != "json" {
        bail!("--out {}: the file must end in .csv or .json", args.out.display());
    }
    if args.out.exists() {
        bail!("{} already exists; coxa never overwrites files: choose a new path or remove it", args.out.display());
    }
    let params = match &args.params {
        Some(p) => read_params(p).with_context(|| format!("--params {}", p.display()))?,
        None => Params::default(),
    };
    let tables: Vec<Table> = match (&args.scenario, &args.image, &args.mask) {
        (Some(file), _, _) => batch(file, &args.labels, &params, &mut lines)?,
        (None, Some(image_path), Some(mask_path)) => {
            let (image, mask) = (read_image(image_path)?, read_mask(mask_path)?);
            vec![table(&image, &image_path.display().to_string(), &mask, &mask_path.display().to_string(), &args.labels, &params)?]
        }
        _ => bail!("give --image and --mask, or --scenario"),
    };
    let mut tables = tables;
    if let Some(card) = &args.model {
        let m = apply_model(card, &mut tables)?;
        lines.push(format!("{}: probabilities of {} added", model_line(&m), m.classes.join(", ")));
    }
    let text = if ext == "csv" { csv(&tables)? } else { json(&tables)? };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("cannot write {}", args.out.display()))?;
    let n: usize = tables.iter().map(|t| t.rows.len()).sum();
    let width = tables.iter().find_map(|t| t.rows.first()).map_or(0, |r| r.1.len());
    lines.push(format!("wrote {} ({n} row(s), {width} features each)", args.out.display()));
    Ok(lines)
}

/// `--scenario`: every case with a CT, on its labels or its finished run's label map.
fn batch(file: &Path, asked: &[String], params: &Params, lines: &mut Vec<String>) -> anyhow::Result<Vec<Table>> {
    let scn = coxa_case::scenario::Scenario::load(file)?;
    let mut tables = Vec::new();
    for case in &scn.cases {
        let coxa_case::scenario::CaseInput::Ct { ct, labels } = &case.input else {
            lines.push(format!("case {}: no CT (surfaces, phantom or PACS input): no radiomics", case.name));
            continue;
        };
        let run_labels = scn.output_dir.join("cases").join(&case.name).join("anatomy").join("labels.nii.gz");
        let mask_path = match labels {
            Some(l) => l.clone(),
            None if run_labels.exists() => run_labels,
            None => bail!("case {}: no label map: give `labels` in the scenario, or run it first (coxa run) so that {} exists", case.name, run_labels.display()),
        };
        let image = read_image(ct).with_context(|| format!("case {}", case.name))?;
        let mask = read_mask(&mask_path).with_context(|| format!("case {}", case.name))?;
        let labels = label_values(asked, &mask)?;
        let rows = features(&image, &mask, &labels, params).with_context(|| format!("case {}", case.name))?;
        // File names only: folder names may carry a patient's name.
        let image_name = ct.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        tables.push(Table { case: Some(case.name.clone()), image: image_name, rows });
    }
    if tables.is_empty() {
        bail!("{}: no case has a CT: nothing to compute", file.display());
    }
    same_columns(tables.iter().filter_map(|t| t.rows.first().map(|r| (format!("case {}", t.case.as_deref().unwrap_or("")), &r.1))))?;
    Ok(tables)
}

//! pyradiomics' features ([`coxa_diagnostics`]) of an image's labels, as the `[radiomics]` scenario
//! stage and for `coxa radiomics` (the program's `coxa radiomics`): the stage writes `radiomics.csv` into
//! each case folder (the CT with the label map of coxa's anatomy stage: the bones coxa segments,
//! the muscles of the case's labels) and `radiomics.csv` beside the run's summary; with `model =
//! "CARD.toml"` it runs a tabular model (e.g. a prognosis model) on each structure's features too,
//! adds its probabilities to the table and hands them to the report ([`RadiomicsRecord`]). The
//! tables are one row per image and label: `image`, `label`, `label_name` (a `case` column first
//! for a scenario), then one column per feature named as pyradiomics names it.
//!
//! Every failure is an error (exit status 2) naming the label and the cause: an empty mask, a
//! label absent, a mask on another grid, a ROI too small; a feature that comes out NaN or
//! infinite is an error naming it, never a NaN silently written into the table. Nothing is
//! written unless every label succeeds, and an existing output file is never replaced.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::Context;
use coxa_core::report::{RadiomicsModel, RadiomicsRecord, RadiomicsStructure};
use coxa_core::{LabelMap, Volume};
use coxa_diagnostics::{FeatureVector, Params, extract};
use rayon::prelude::*;

pub use crate::scenario_file::RadiomicsSection;

/// An image for radiomics: NRRD, or what [`coxa_io::open`] reads (any modality).
///
/// # Errors
/// The reader's.
pub fn read_image(path: &Path) -> crate::Result<Volume> {
    if coxa_io::nrrd::is_nrrd_path(path) {
        return Ok(coxa_io::nrrd::read_volume(path)?);
    }
    let opts = coxa_io::OpenOptions::new().with_any_modality(true);
    Ok(coxa_io::open(path, &opts)?.volume)
}

/// A label map for radiomics: NRRD or NIfTI.
///
/// # Errors
/// Another format; the reader's.
pub fn read_mask(path: &Path) -> crate::Result<LabelMap> {
    if coxa_io::nrrd::is_nrrd_path(path) {
        Ok(coxa_io::nrrd::read_label_map(path)?)
    } else if coxa_io::nifti::is_nifti_path(path) {
        Ok(coxa_io::nifti::read_label_map(path)?)
    } else {
        bail!("--mask {}: a NIfTI (.nii, .nii.gz) or NRRD (.nrrd) label map is expected", path.display())
    }
}

/// The features of some labels of one image: `(label, features)` per label.
pub type Rows = Vec<(u32, FeatureVector)>;

/// The rows of one image (of one case, in a scenario).
pub struct Table {
    /// The case (a scenario's), else none.
    pub case: Option<String>,
    /// The image's name.
    pub image: String,
    /// Its rows.
    pub rows: Rows,
}

/// pyradiomics' parameter file (YAML).
///
/// # Errors
/// It cannot be read or parsed.
pub fn read_params(path: &Path) -> crate::Result<Params> {
    let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).context("cannot read it")?;
    Ok(Params::from_yaml(&text)?)
}

/// `--label` values and names as label values; every label of the mask when none is given.
pub fn label_values(asked: &[String], mask: &LabelMap) -> crate::Result<Vec<u32>> {
    if asked.is_empty() {
        return Ok(mask.counts().keys().filter(|l| **l != 0).map(|l| u32::from(*l)).collect());
    }
    let names = coxa_core::labels::coxa_classes();
    asked
        .iter()
        .map(|l| match l.parse::<u32>() {
            Ok(n) => Ok(n),
            Err(_) => names.id(l).map(u32::from).ok_or_else(|| {
                let known: Vec<&str> = names.iter().map(|(_, n)| n).collect();
                crate::err!("--label {l}: not a number nor a known name ({})", known.join(", "))
            }),
        })
        .collect()
}

/// The table of one image and its mask (`image_name` and `mask_name` as the record and the
/// errors name them: a file's path, or what was handed over in memory): the labels `asked`
/// (values or coxa's class names; empty: every label of the mask), each label's features.
/// What `coxa radiomics --image --mask` and the Python package's `coxa.radiomics` compute.
///
/// # Errors
/// An unknown label name, an empty mask, or [`features`]' errors (named by the mask).
pub fn table(image: &Volume, image_name: &str, mask: &LabelMap, mask_name: &str, asked: &[String], params: &Params) -> crate::Result<Table> {
    let labels = label_values(asked, mask)?;
    if labels.is_empty() {
        bail!("{mask_name}: the mask is empty (no voxel is labelled): nothing to compute");
    }
    let rows = features(image, mask, &labels, params).with_context(|| mask_name.to_string())?;
    Ok(Table { case: None, image: image_name.to_string(), rows })
}

/// The features of every label, in parallel; a feature that is not finite, or a label whose
/// features are not the first label's (a LoG sigma pyradiomics skips on a small ROI), is an error.
pub fn features(image: &Volume, mask: &LabelMap, labels: &[u32], params: &Params) -> crate::Result<Rows> {
    let rows: Rows = labels
        .par_iter()
        .map(|&label| {
            let mut p = params.clone();
            p.settings.label = label;
            let f = extract(image, mask, &p)?;
            let bad: Vec<&str> = f.iter().filter(|(_, v)| !v.is_finite()).map(|(n, _)| n.as_str()).collect();
            if !bad.is_empty() {
                bail!("label {label}: {} not finite (the ROI is degenerate for them): {}; disable them with featureClass in --params", bad.len(), bad.join(", "));
            }
            Ok((label, f))
        })
        .collect::<crate::Result<_>>()?;
    same_columns(rows.iter().map(|(l, f)| (format!("label {l}"), f)))?;
    Ok(rows)
}

/// Every row must have the same features in the same order (one table).
pub fn same_columns<'a>(mut rows: impl Iterator<Item = (String, &'a FeatureVector)>) -> crate::Result<()> {
    let Some((first_name, first)) = rows.next() else { return Ok(()) };
    for (name, f) in rows {
        if f.len() != first.len() || f.iter().zip(first).any(|(a, b)| a.0 != b.0) {
            let missing: Vec<&str> = first.iter().filter(|(n, _)| !f.iter().any(|(m, _)| m == n)).map(|(n, _)| n.as_str()).take(3).collect();
            bail!(
                "{name} has {} features, {first_name} {} (e.g. {} missing): a LoG sigma is skipped where the image is too small for it, as in pyradiomics; compute these labels separately or drop that sigma",
                f.len(),
                first.len(),
                missing.join(", ")
            );
        }
    }
    Ok(())
}

/// Runs the tabular model of `card` on every row and appends its class probabilities as the
/// columns `probability_<class>`; returns the model as its card names it.
pub fn apply_model(card: &Path, tables: &mut [Table]) -> crate::Result<RadiomicsModel> {
    let mut model = coxa_infer::TabularModel::load(card)?;
    let classes = model.card().output.classes.clone();
    for t in tables.iter_mut() {
        let inputs: Vec<Vec<f32>> = t.rows.iter().map(|(_, f)| model.row_from(f)).collect::<Result<_, _>>()?;
        let probs = model.predict(&inputs)?;
        for ((_, f), p) in t.rows.iter_mut().zip(probs) {
            for (c, v) in classes.iter().zip(p) {
                f.push((format!("{PROBABILITY}{c}"), v));
            }
        }
    }
    let c = model.card();
    Ok(RadiomicsModel { name: c.name.clone(), version: c.version.clone(), test_model: c.test_model, description: c.description.clone(), features: c.input.features.clone(), classes })
}

/// The prefix of a model's probability columns.
const PROBABILITY: &str = "probability_";

/// "model NAME VERSION (a TEST model, not for clinical use)".
pub fn model_line(m: &RadiomicsModel) -> String {
    format!("model {} {}{}", m.name, m.version, if m.test_model { " (a TEST model, not for clinical use)" } else { "" })
}

fn label_name(l: u32) -> String {
    u16::try_from(l).ok().and_then(|l| coxa_core::labels::coxa_classes().name(l).map(str::to_string)).unwrap_or_default()
}

/// The CSV: `[case,]image,label,label_name`, then the features.
pub fn csv(tables: &[Table]) -> crate::Result<String> {
    let with_case = tables.iter().any(|t| t.case.is_some());
    let mut header: Vec<String> = if with_case { vec!["case".into()] } else { vec![] };
    header.extend(["image", "label", "label_name"].map(String::from));
    header.extend(tables.iter().find_map(|t| t.rows.first()).into_iter().flat_map(|first| first.1.iter().map(|(n, _)| n.clone())));
    let mut rows = vec![header];
    for t in tables {
        for (label, f) in &t.rows {
            let case = with_case.then(|| t.case.clone().unwrap_or_default());
            let fixed = [t.image.clone(), label.to_string(), label_name(*label)];
            rows.push(case.into_iter().chain(fixed).chain(f.iter().map(|(_, v)| v.to_string())).collect());
        }
    }
    Ok(coxa_io::table::csv_text(&rows)?)
}

/// The tables as JSON.
///
/// # Errors
/// Serialisation.
pub fn json(tables: &[Table]) -> crate::Result<String> {
    let rows = tables
        .iter()
        .flat_map(|t| {
            t.rows.iter().map(|(label, f)| crate::records::RadiomicsRow {
                case: t.case.clone(),
                features: f.iter().map(|(n, v)| (n.clone(), Some(*v).filter(|v| v.is_finite()))).collect(),
                image: t.image.clone(),
                label: *label,
                label_name: label_name(*label),
            })
        })
        .collect();
    Ok(crate::stamp::text("radiomics", &crate::records::RadiomicsFile { rows })? + "\n")
}

/// The radiomics stage, checked: its parameters and structures.
#[derive(Debug, Clone, PartialEq)]
pub struct RadiomicsStage {
    /// Extraction parameters.
    pub params: Params,
    /// Label values; empty: coxa's classes present in the case's label map.
    pub labels: Vec<u32>,
    /// The tabular model's card, if any (checked on load: a valid tabular card).
    pub model: Option<PathBuf>,
}

/// A scenario error of the stage: the span, the field and why.
type StageError = (Option<std::ops::Range<usize>>, &'static str, String);

impl RadiomicsStage {
    /// Checks `[radiomics]` (`params`: the resolved parameter file; `model`: the resolved card).
    pub fn new(section: &RadiomicsSection, params: Option<&Path>, model: Option<PathBuf>) -> Result<Self, StageError> {
        if let (Some(card), Some(spanned)) = (&model, &section.model) {
            coxa_infer::TabularModel::load(card).map_err(|e| (Some(spanned.span()), "radiomics.model", format!("{}: {e}", card.display())))?;
        }
        let span = section.params.as_ref().map(toml::Spanned::span);
        let params = match params {
            Some(p) => read_params(p).map_err(|e| (span, "radiomics.params", format!("{}: {e:#}", p.display())))?,
            None => Params::default(),
        };
        let names = coxa_core::labels::coxa_classes();
        let mut labels = Vec::new();
        if let Some(list) = &section.labels {
            let bad = |why: String| (Some(list.span()), "radiomics.labels", why);
            for v in list.get_ref() {
                let l = match v {
                    toml::Value::Integer(i) => u32::try_from(*i).ok().filter(|l| *l > 0 && *l <= u32::from(u16::MAX)).ok_or_else(|| bad(format!("{i} is not a label value (1..=65535)")))?,
                    toml::Value::String(n) => names.id(n).map(u32::from).ok_or_else(|| {
                        let known: Vec<&str> = names.iter().map(|(_, n)| n).collect();
                        bad(format!("{n:?} is not a structure coxa knows ({}); give a label value for others", known.join(", ")))
                    })?,
                    other => return Err(bad(format!("{other}: give structure names or label values"))),
                };
                labels.push(l);
            }
            if labels.is_empty() {
                return Err(bad("an empty list: give at least one structure, or remove `labels`".into()));
            }
        }
        Ok(Self { params, labels, model })
    }

    /// Runs the stage on a case: the CT (`image`, the file's name for the table) and the anatomy
    /// stage's label map, in memory, with the model's probabilities when the stage has one.
    /// Returns the report's record and the table (`radiomics.csv`, [`STAGE_CSV`], which the case
    /// writer writes).
    pub fn run(&self, image: &Volume, mask: &LabelMap, image_name: &str, case: &str) -> crate::Result<(RadiomicsRecord, String)> {
        let labels: Vec<u32> = if self.labels.is_empty() {
            let present = mask.counts();
            coxa_core::labels::COXA_CLASSES.iter().map(|(id, _)| *id).filter(|id| present.get(id).is_some_and(|n| *n > 0)).map(u32::from).collect()
        } else {
            self.labels.clone()
        };
        if labels.is_empty() {
            bail!("radiomics: the anatomy stage's label map (anatomy/labels.nii.gz) holds none of coxa's bones and muscles; name the structures in [radiomics] labels");
        }
        let rows = features(image, mask, &labels, &self.params).context("radiomics")?;
        let n_features = rows.first().map_or(0, |r| r.1.len());
        let mut tables = [Table { case: Some(case.to_string()), image: image_name.to_string(), rows }];
        let model = self.model.as_ref().map(|card| apply_model(card, &mut tables).with_context(|| format!("radiomics model {}", card.display()))).transpose()?;
        let table = csv(&tables)?;
        let value = |f: &FeatureVector, name: &str| f.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        let structures = tables[0]
            .rows
            .iter()
            .map(|(l, f)| RadiomicsStructure {
                name: label_name(*l),
                label: *l,
                volume_ml: value(f, "original_shape_VoxelVolume").map(|v| v / 1000.0),
                mean_hu: value(f, "original_firstorder_Mean"),
                probabilities: f.iter().filter(|(n, _)| n.starts_with(PROBABILITY)).map(|(_, v)| *v).collect(),
            })
            .collect();
        Ok((RadiomicsRecord { file: STAGE_CSV.to_string(), features: n_features, structures, model }, table))
    }
}

/// The case summary's `radiomics`: the file, the structures, the feature count and the model.
pub fn summary(r: &RadiomicsRecord) -> crate::summary::RadiomicsSummary {
    crate::summary::RadiomicsSummary { features: r.features, file: r.file.clone(), model: r.model.as_ref().map(model_line), structures: r.structures.iter().map(|s| s.name.clone()).collect() }
}

/// The stage's file in a case folder and beside the run's summary.
pub const STAGE_CSV: &str = "radiomics.csv";

/// The run's `radiomics.csv`: every finished case's rows (their CSVs, one header), when the
/// stage ran. Cases whose columns differ (another parameter file in an earlier run) are an error.
pub fn combine(out: &Path, cases: &[String]) -> crate::Result<()> {
    let mut header: Option<String> = None;
    let mut text = String::new();
    for name in cases {
        let p = out.join("cases").join(name).join(STAGE_CSV);
        let Ok(t) = std::fs::read_to_string(&p) else { continue };
        // The rows as written (a quoted field may hold a line break).
        let (h, rows) = t.split_once('\n').unwrap_or((&t, ""));
        let h = h.to_string();
        match &header {
            None => {
                text.push_str(&h);
                text.push('\n');
                header = Some(h);
            }
            Some(first) if *first != h => bail!("{}: its columns differ from the other cases' (another radiomics parameter file?); rerun the case", p.display()),
            Some(_) => {}
        }
        text.push_str(rows);
    }
    if header.is_some() {
        crate::atomic::replace_own(&out.join(STAGE_CSV), text.as_bytes())?;
    }
    Ok(())
}

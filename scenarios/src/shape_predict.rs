//! Femoral anteversion predicted from a shape model when the CT stops above the knee (issue 14).
//!
//! When coxa's landmarks find no condyles on a femur, the LLP26 adult femur model (GIAS3,
//! `musculoskeletal-models` 0.2.4, read where pip installed it) is fitted to the imaged proximal
//! femur ([`coxa_shape::predict::predict_from_partial`]) and the anteversion measured on the
//! predicted whole femur, with its SD over 30 posterior samples. anatomy.json then gives
//! `anteversion_deg` with `anteversion_source = "predicted"` and `anteversion_sd_deg`.
//!
//! The choice of model is process-wide, like `--max-memory`: `coxa anatomy --shape-model
//! PATH|none` sets it ([`set_choice`]); the default looks for the installed package (a `.venv`
//! walked up from the working directory and from the program, or `COXA_PYTHON_SITE`) and, without
//! it, keeps the old behaviour: anteversion not measured, with the warning.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use coxa_anatomy::landmarks::{FemurLandmarks, femur_landmarks};
use coxa_core::{Mesh, Side};
use coxa_shape::gias::{self, Llp26Part};

/// Which shape model predicts unseen parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeModelChoice {
    /// The installed LLP26 model if found, else none (default).
    Auto,
    /// No prediction.
    None,
    /// The `musculoskeletal/models` folder of an installed `musculoskeletal-models` package.
    Path(PathBuf),
}

static CHOICE: OnceLock<ShapeModelChoice> = OnceLock::new();

/// Sets the process-wide choice (first call wins).
pub fn set_choice(choice: ShapeModelChoice) {
    let _ = CHOICE.set(choice);
}

/// Parses `--shape-model PATH|none`.
pub fn parse_choice(arg: &str) -> ShapeModelChoice {
    if arg.eq_ignore_ascii_case("none") { ShapeModelChoice::None } else { ShapeModelChoice::Path(PathBuf::from(arg)) }
}

/// The LLP26 folder to use, or `None` (no model chosen or found).
///
/// # Errors
/// A chosen path that does not hold the model.
fn model_dir() -> Result<Option<PathBuf>, String> {
    match CHOICE.get().unwrap_or(&ShapeModelChoice::Auto) {
        ShapeModelChoice::None => Ok(None),
        ShapeModelChoice::Path(p) => llp26_dir(p, "--shape-model").map(Some).map_err(|e| format!("{e} or none")),
        ShapeModelChoice::Auto => Ok(installed_llp26(&[])),
    }
}

/// The `musculoskeletal/models` folder of `p` (that folder itself, or a `site-packages` folder
/// holding it).
///
/// # Errors
/// One line naming `what` (the option or field) when `p` holds no `shape_models/LLP26_rigid.pc`.
pub fn llp26_dir(p: &Path, what: &str) -> Result<PathBuf, String> {
    let dir = if p.join("shape_models").exists() { p.to_path_buf() } else { p.join(gias::LLP26_DIR) };
    if dir.join("shape_models/LLP26_rigid.pc").exists() {
        Ok(dir)
    } else {
        Err(format!(
            "{what} {}: no shape_models/LLP26_rigid.pc there; give the musculoskeletal/models folder of musculoskeletal-models 0.2.4 (pip install --no-deps musculoskeletal-models==0.2.4)",
            p.display()
        ))
    }
}

/// The installed LLP26 folder: a `.venv` walked up from each of `starts`, the working directory
/// and the program, or `COXA_PYTHON_SITE`.
pub fn installed_llp26(starts: &[&Path]) -> Option<PathBuf> {
    let mut all: Vec<PathBuf> = starts.iter().map(|p| p.to_path_buf()).collect();
    all.extend(std::env::current_dir());
    all.extend(std::env::current_exe());
    all.iter().find_map(|s| gias::find_installed(s, gias::LLP26_DIR))
}

/// A predicted anteversion.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedAnteversion {
    /// On the predicted whole femur, deg.
    pub anteversion_deg: f64,
    /// SD over the posterior samples, deg.
    pub sd_deg: f64,
    /// RMS distance of the imaged surface to the fitted model, mm.
    pub fit_rms_mm: f64,
    /// The model's provenance.
    pub model: String,
}

/// Predicts the anteversion of `side`'s femur `mesh` (whose landmarks `f` have none) when a
/// model is chosen or installed; `Ok(None)` without one.
///
/// # Errors
/// A one-line reason (model files broken, fit failed), for a warning.
pub fn predict_anteversion(mesh: &Mesh, side: Side, f: &FemurLandmarks) -> Result<Option<PredictedAnteversion>, String> {
    if f.anteversion_deg.is_some() {
        return Ok(None);
    }
    let Some(dir) = model_dir()? else {
        return Ok(None);
    };
    predict_with(&dir, mesh, side, f).map(Some)
}

fn predict_with(dir: &Path, mesh: &Mesh, side: Side, f: &FemurLandmarks) -> Result<PredictedAnteversion, String> {
    let model = gias::llp26(dir, side == Side::Right, &[Llp26Part::Femur], 22).map_err(|e| format!("shape model: {e}"))?;
    let mean = Mesh::new(model.instance(&[]).map_err(|e| e.to_string())?, model.faces().to_vec()).map_err(|e| e.to_string())?;
    let head_model = femur_landmarks(&mean, side).map_err(|e| format!("shape model mean: {e}"))?.head_centre.lps_mm;
    let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
    let p = coxa_shape::predict::predict_from_partial(&model, mesh, &head_model, &f.head_centre.lps_mm, &measure, 30, 14).map_err(|e| format!("shape model fit: {e}"))?;
    let anteversion_deg = p.angle.ok_or("the predicted femur has no measurable condyles")?;
    Ok(PredictedAnteversion { anteversion_deg, sd_deg: p.angle_sd().unwrap_or(f64::NAN), fit_rms_mm: p.fit.rms_mm, model: model.info().provenance.source.clone() })
}

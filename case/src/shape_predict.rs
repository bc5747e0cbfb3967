//! Femoral anteversion predicted from a shape model when the CT stops above the knee (issue 14).
//!
//! When coxa's landmarks find no condyles on a femur, the LLP26 adult femur model (GIAS3,
//! `musculoskeletal-models` 0.2.4; shipped inside coxa, or an installed copy) is fitted to the
//! imaged proximal femur ([`coxa_shape::predict::predict_from_partial_measures`]) and the
//! anteversion measured on the predicted whole femur. Where the imaged femur reaches
//! [`gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`] below the lesser trochanter but not the shaft below
//! (a proximal femur, issue 42), the predicted femur's neck-shaft angle and offset are given too,
//! flagged predicted with their SDs (posterior samples and a model-error term calibrated by
//! leave-one-out, as the anteversion's). Its SD combines the SD over 30 posterior samples of the mode weights
//! with the model's own error, calibrated by leave-one-out over LLP26's 26 training subjects
//! ([`gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`]): the posterior alone covered only a fraction
//! of the held-out errors. anatomy.json then gives
//! `anteversion_deg` with `anteversion_source = "predicted"` and `anteversion_sd_deg`.
//!
//! The choice of model is process-wide, like `--max-memory`: `coxa anatomy --shape-model
//! PATH|none` sets it ([`set_choice`]); the default ([`coxa_shape::locate::locate_llp26`]) takes
//! an installed package (`COXA_PYTHON_SITE`, a `.venv` walked up from the working directory and
//! from the program, the `python3` on `PATH`), else the copy that ships inside coxa
//! (`models/shape/llp26`, MPL-2.0). Only with `none` (or the bundled copy removed) the old
//! behaviour stays: anteversion not measured, with the warning.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use coxa_anatomy::landmarks::{FemurLandmarks, femur_landmarks};
use coxa_core::anatomy_record::{AnteversionPredictionRecord, FemurRecord};
use coxa_core::plan_record::PlanRecord;
use coxa_core::{AxisLandmark, Mesh, PatientLandmarks, Side, Source};
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
pub fn model_dir() -> Result<Option<PathBuf>, String> {
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
        Err(format!("{what} {}: no shape_models/LLP26_rigid.pc there; give the musculoskeletal/models folder of musculoskeletal-models 0.2.4, or coxa's own models/shape/llp26", p.display()))
    }
}

/// The LLP26 folder to use by default: an installed copy (`COXA_PYTHON_SITE`, a `.venv` walked
/// up from each of `starts`, the working directory and the program, the `python3` on `PATH`),
/// else the one bundled with coxa ([`coxa_shape::locate::locate_llp26`]).
pub fn installed_llp26(starts: &[&Path]) -> Option<PathBuf> {
    let mut all: Vec<PathBuf> = starts.iter().map(|p| p.to_path_buf()).collect();
    all.extend(std::env::current_dir());
    all.extend(std::env::current_exe());
    let refs: Vec<&Path> = all.iter().map(PathBuf::as_path).collect();
    coxa_shape::locate::locate_llp26(&refs).map(|l| l.dir)
}

/// A predicted anteversion.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedAnteversion {
    /// On the predicted whole femur, deg.
    pub anteversion_deg: f64,
    /// The predictive SD, deg: the posterior samples' SD and the model's own error
    /// ([`gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`], calibrated by leave-one-out over LLP26's
    /// training subjects) in quadrature.
    pub sd_deg: f64,
    /// The SD over the posterior samples alone (the mode weights' uncertainty), deg.
    pub posterior_sd_deg: f64,
    /// RMS distance of the imaged surface to the fitted model, mm.
    pub fit_rms_mm: f64,
    /// The fit's rounds, and whether it converged before its budget (issue 16: a fit that stops
    /// at its budget is used, and said so).
    pub fit_rounds: usize,
    /// See `fit_rounds`.
    pub fit_converged: bool,
    /// The model's provenance.
    pub model: String,
    /// coxa's landmarks on the predicted whole femur (in the CT's frame): its shaft and neck axes
    /// and posterior condyles stand in for the ones the CT did not show.
    pub femur: FemurLandmarks,
    /// How far the imaged femur reaches below the predicted femur's lesser trochanter, mm
    /// (negative: it stops above it).
    pub imaged_below_lt_mm: f64,
    /// The predicted femur's neck-shaft angle, deg, and its predictive SD (the posterior samples'
    /// and [`gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`] in quadrature): given only where the
    /// imaged femur reaches [`gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`] below the lesser
    /// trochanter (issue 42).
    pub neck_shaft: Option<(f64, f64)>,
    /// The predicted femur's offset (head centre to shaft axis), mm, and its SD
    /// ([`gias::LLP26_FEMUR_OFFSET_MODEL_SD_MM`]); as `neck_shaft`.
    pub offset: Option<(f64, f64)>,
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
    // One landmark search per bone gives the anteversion, the neck-shaft angle and the offset.
    let measure = |m: &Mesh| match femur_landmarks(m, side) {
        Ok(l) => vec![l.anteversion_deg, l.neck_shaft_angle_deg, Some(l.offset_mm())],
        Err(_) => vec![None; 3],
    };
    let p = coxa_shape::predict::predict_from_partial_measures(&model, mesh, &head_model, &f.head_centre.lps_mm, &measure, 30, 14, &coxa_shape::SurfaceFitOptions::default())
        .map_err(|e| format!("shape model fit: {e}"))?;
    let anteversion_deg = p.angle.ok_or("the predicted femur has no measurable condyles")?;
    let femur = femur_landmarks(&p.mesh, side).map_err(|e| format!("the predicted femur: {e}"))?;
    if femur.posterior_condyles.is_none() {
        return Err("the predicted femur has no measurable condyles".into());
    }
    let u = femur.shaft_axis.direction_lps.normalize();
    let lowest = mesh.vertices().iter().map(|q| q.coords.dot(&u)).fold(f64::INFINITY, f64::min);
    let imaged_below_lt_mm = femur.lesser_trochanter.lps_mm.coords.dot(&u) - lowest;
    // Predicted only where the imaged femur's own shaft gives none (a measured one stays).
    let reaches = imaged_below_lt_mm >= gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM && f.neck_shaft_angle_deg.is_none();
    let with_sd = |k: usize, model_sd: f64| p.measures.get(k).filter(|_| reaches).and_then(|m| Some((m.value?, m.sd_with(model_sd)?)));
    Ok(PredictedAnteversion {
        imaged_below_lt_mm,
        neck_shaft: with_sd(1, gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG),
        offset: with_sd(2, gias::LLP26_FEMUR_OFFSET_MODEL_SD_MM),
        anteversion_deg,
        sd_deg: p.angle_sd_with(gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG).unwrap_or(f64::NAN),
        posterior_sd_deg: p.angle_sd().unwrap_or(f64::NAN),
        fit_rms_mm: p.fit.rms_mm,
        fit_rounds: p.fit.iterations,
        fit_converged: p.fit.converged,
        model: model.info().provenance.source.clone(),
        femur,
    })
}

/// What the shape model did for one femur whose condyles were not imaged.
#[derive(Debug, Clone)]
pub struct FemurPrediction {
    /// The femur's side.
    pub side: Side,
    /// The prediction; `Ok(None)` without a model; `Err` with the reason it failed.
    pub outcome: Result<Option<PredictedAnteversion>, String>,
    /// Angle between the predicted shaft axis and the pelvic superior axis (the CT's without the
    /// anterior pelvic plane), deg: a short stub constrains the shaft's direction weakly.
    pub shaft_from_superior_deg: Option<f64>,
}

/// Above this angle between the predicted whole femur's shaft and the pelvic superior axis, deg,
/// the anatomy stage warns: a supine CT shows the femur near neutral, so a larger angle more likely
/// means a poor fit of the short imaged femur than the patient's posture.
pub const SHAFT_WARNING_DEG: f64 = 20.0;

/// For every femur of `found` imaged without its condyles, predicts the whole femur with the
/// shape model (when one is chosen or installed) and lets the prediction stand in for the
/// rotation the CT did not show. The femur keeps its shaft axis (measured, or the neutral
/// assumption of `assume_neutral_short_femur` with its note): a stub of a proximal femur pins the
/// head and neck well but the shaft's direction poorly (on the example CT, cut 20 mm below the
/// lesser trochanters, the predicted shafts lie 25° and 34° from the pelvic superior axis, not
/// likely for a supine scan), so flexion and adduction stay as they were. What the condyles would
/// give is taken from the prediction: the neck axis becomes the predicted femur's (through the
/// measured head centre, [`Source::Predicted`], a note giving the anteversion's SD), the posterior
/// condyles are placed on the shaft axis at the predicted femur's length below the head, along
/// the predicted condylar line seen along that axis (so coxa's femoral frame keeps the shaft as
/// its +z and takes the predicted condylar line as its +x), and the anteversion is the predicted
/// one. So the stem version and the combined anteversion of a plan rest on the prediction instead
/// of the CT's x axis. Without a model nothing changes (today's behaviour and warning).
pub fn apply_predictions(bones: &[(coxa_core::Bone, Mesh)], found: &mut PatientLandmarks) -> Vec<FemurPrediction> {
    let mut out = Vec::new();
    let superior = found.pelvis.as_ref().map_or(nalgebra::Vector3::z(), |p| p.frame.vector_to_lps(&nalgebra::Vector3::z()));
    for f in &mut found.femurs {
        if f.anteversion_deg.is_some() || f.posterior_condyles.is_some() {
            continue;
        }
        let Some((_, mesh)) = bones.iter().find(|(b, _)| *b == coxa_core::Bone::femur(f.side)) else { continue };
        let outcome = predict_anteversion(mesh, f.side, f);
        let shaft_from_superior_deg = outcome.as_ref().ok().and_then(Option::as_ref).map(|p| p.femur.shaft_axis.direction_lps.angle(&superior).to_degrees());
        if let Ok(Some(p)) = &outcome {
            adopt(f, p);
        }
        out.push(FemurPrediction { side: f.side, outcome, shaft_from_superior_deg });
    }
    out
}

/// Whether femur `f`'s posterior condyles are the shape model's prediction rather than measured:
/// [`apply_predictions`] sets them together with a neck axis of [`Source::Predicted`] (coxa's
/// landmarks never give a predicted neck axis otherwise). Exports flag such condyles.
pub fn condyles_predicted(f: &FemurLandmarks) -> bool {
    f.posterior_condyles.is_some() && f.neck_axis.source == Source::Predicted
}

/// The prediction `p` standing in for the rotation of femur `f` (see [`apply_predictions`]).
fn adopt(f: &mut FemurLandmarks, p: &PredictedAnteversion) {
    let note = format!(
        "predicted by the shape model ({}) from the imaged proximal femur (fit RMS {:.1} mm): anteversion {:.1} deg, SD {:.1} deg (posterior {:.1}, model error {:.1} by leave-one-out)",
        p.model,
        p.fit_rms_mm,
        p.anteversion_deg,
        p.sd_deg,
        p.posterior_sd_deg,
        gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG
    );
    let Some(pk) = p.femur.posterior_condyles else { return };
    let head = f.head_centre.lps_mm;
    let knee = nalgebra::center(&pk[0], &pk[1]);
    let mut u = f.shaft_axis.direction_lps.normalize();
    if u.dot(&(head - knee)) < 0.0 {
        u = -u;
    }
    let line = pk[1] - pk[0];
    let Some(across) = (line - u * line.dot(&u)).try_normalize(1e-9) else { return };
    let on_axis = head - u * (head - knee).norm();
    let half = 0.5 * line.norm();
    f.posterior_condyles = Some([on_axis - across * half, on_axis + across * half]);
    f.neck_axis = AxisLandmark { point_lps_mm: head, direction_lps: p.femur.neck_axis.direction_lps, quality: p.femur.neck_axis.quality, source: Source::Predicted, note: Some(note) };
    f.anteversion_deg = Some(p.anteversion_deg);
}

/// anatomy.json's account of the predictions: `femurs[i].anteversion_source` (`measured`,
/// `predicted` or `not measured`), and for a prediction `anteversion_sd_deg` and
/// `anteversion_prediction`; one warning per femur without condyles.
pub fn annotate_femurs(predictions: &[FemurPrediction], femurs: &mut [FemurRecord], warnings: &mut Vec<String>) {
    for j in femurs.iter_mut() {
        let side = j.side.as_str();
        let Some(p) = predictions.iter().find(|p| p.side == j.side) else {
            j.anteversion_source = (if j.anteversion_deg.is_some_and(f64::is_finite) { "measured" } else { "not measured" }).to_string();
            continue;
        };
        match &p.outcome {
            Ok(Some(a)) => {
                j.anteversion_deg = Some(a.anteversion_deg);
                j.anteversion_source = "predicted".to_string();
                j.anteversion_sd_deg = Some(a.sd_deg);
                j.anteversion_prediction = Some(AnteversionPredictionRecord {
                    femoral_offset_mm: a.offset.map(|o| o.0),
                    femoral_offset_sd_mm: a.offset.map(|o| o.1),
                    imaged_below_lesser_trochanter_mm: Some(a.imaged_below_lt_mm),
                    model: a.model.clone(),
                    fit_rms_mm: a.fit_rms_mm,
                    n_posterior_samples: 30,
                    frame: "the femur keeps its shaft axis (measured or assumed); the neck axis is the predicted femur's (source: predicted) and the posterior condyles are put on the shaft axis along the predicted condylar line, so the plan's femoral frame takes the predicted rotation".to_string(),
                    shaft_from_superior_deg: p.shaft_from_superior_deg,
                });
                warnings.push(format!(
                    "femur_{side}: condyles not imaged: anteversion {:.1} deg (SD {:.1}) and the condylar line PREDICTED by the shape model from the imaged proximal femur, not measured",
                    a.anteversion_deg, a.sd_deg
                ));
                if let Some((nsa, sd)) = a.neck_shaft.filter(|_| j.neck_shaft_angle_deg.is_none()) {
                    j.neck_shaft_angle_deg = Some(nsa);
                    j.neck_shaft_angle_sd_deg = Some(sd);
                    j.neck_shaft_angle_source = Some("predicted".to_string());
                    warnings.push(format!(
                        "femur_{side}: shaft not imaged below {:.0} mm under the lesser trochanter: neck-shaft angle {nsa:.1} deg (SD {sd:.1}){} PREDICTED by the shape model, not measured",
                        a.imaged_below_lt_mm,
                        a.offset.map_or(String::new(), |(o, osd)| format!(" and offset {o:.1} mm (SD {osd:.1})"))
                    ));
                }
                if !a.fit_converged {
                    warnings.push(format!(
                        "femur_{side}: the shape-model fit stopped at its budget of {} rounds before converging (surface RMS {:.1} mm): the predicted anteversion is less certain than its SD says",
                        a.fit_rounds, a.fit_rms_mm
                    ));
                }
                if let Some(d) = p.shaft_from_superior_deg.filter(|d| *d > SHAFT_WARNING_DEG) {
                    warnings.push(format!(
                        "femur_{side}: the predicted whole femur's shaft lies {d:.0} deg from the pelvic superior axis (a supine CT shows the femur near neutral): the short imaged femur constrains the prediction poorly; its shaft is not used, check its anteversion"
                    ));
                }
            }
            Ok(None) => {
                j.anteversion_source = "not measured".to_string();
                warnings.push(format!(
                    "femur_{side}: condyles not imaged: anteversion not measured (no shape model: --shape-model none, or coxa's bundled models/shape/llp26 is missing; pass --shape-model PATH)"
                ));
            }
            Err(e) => {
                j.anteversion_source = "not measured".to_string();
                warnings.push(format!("femur_{side}: condyles not imaged and the shape-model prediction failed: {e}"));
            }
        }
    }
}

/// The operated femur's predicted anteversion in a plan (`plan.json`): `stem.native_femoral_
/// anteversion_source` (`measured`, `predicted` or `not measured`), and for a prediction its SD
/// (`native_femoral_anteversion_sd_deg`), the SD the stem version and the combined anteversion
/// inherit (they are measured about the predicted condylar line), and a note. `femurs` is
/// anatomy.json's `femurs` (as [`annotate_femurs`] left it).
pub fn add_prediction_to_plan(plan: &mut PlanRecord, femurs: &[FemurRecord], side: Side) {
    let f = femurs.iter().find(|f| f.side == side);
    let source = match f.map(|f| f.anteversion_source.as_str()).filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => (if plan.stem.native_femoral_anteversion_deg.is_some_and(f64::is_finite) { "measured" } else { "not measured" }).to_string(),
    };
    plan.stem.native_femoral_anteversion_source = source.clone();
    if source != "predicted" {
        return;
    }
    let sd = f.and_then(|f| f.anteversion_sd_deg).filter(|v| v.is_finite());
    plan.stem.native_femoral_anteversion_sd_deg = sd;
    plan.stem.anteversion_sd_deg = sd;
    // Widmer's combined anteversion (cup + 0.7 x stem) inherits 0.7 of the stem's SD.
    let k = coxa_core::CombinedAnteversion::WIDMER_STEM_FACTOR;
    plan.combined_anteversion_sd_deg = sd.map(|v| k * v);
    plan.stem.anteversion_reference = Some("the predicted posterior condylar line (shape model), not a measured one".to_string());
    plan.notes.push(format!(
        "condyles not imaged: the condylar line and the native anteversion ({} deg, SD {} deg) are PREDICTED by the shape model; the stem anteversion (SD {} deg) and Widmer's combined anteversion (SD {} deg) rest on that prediction",
        f.and_then(|f| f.anteversion_deg).filter(|v| v.is_finite()).map_or("?".into(), |v| format!("{v:.1}")),
        sd.map_or("?".into(), |v| format!("{v:.1}")),
        sd.map_or("?".into(), |v| format!("{v:.1}")),
        sd.map_or("?".into(), |v| format!("{:.1}", k * v))
    ));
}

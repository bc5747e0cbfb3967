//! A case's OpenSim model (issue 44, item 4): what the `[msk]` stage solved, written into the
//! case's `opensim/` folder so that a researcher opens it in OpenSim and re-runs coxa's hip force.
//!
//! `opensim/model.osim` is the patient's model as `coxa hcf --export-osim` writes it (the
//! patient's sides; fitted, the CT's strength, the plan applied on the operated side, weighing
//! the patient); beside it the one-leg stance's set-ups (`crate::opensim_setup`: `.mot`,
//! ExternalLoads, actuators, StaticOptimization and JointReaction set-ups, coxa's own force) when
//! the stage solved one-leg stance. With `[msk] geometry = "bones"` the pelvis and femurs show
//! the patient's own surfaces (`model_<body>_patient.stl`) and the planned implants are attached
//! as display geometry (`model_<part>_implant.stl`): shell and liner on the pelvis, head, neck
//! and stem on the operated femur, each mapped into its body's frame by the registration's
//! frames (the same map as the bones'). The femoral parts are placed on the femur as imaged:
//! coxa's hip model holds them with the head at the cup centre, so they are moved by the
//! imaged femoral head centre minus the cup centre first.
//!
//! With landmark scaling (`geometry = "landmarks"`, the default) the model has no map from the
//! CT into its bodies (the generic pelvis is only scaled, not placed on the patient's), so the
//! bodies keep the model's generic surfaces and the implants are not attached; the case's
//! warnings say so. A left hip is registered a second time unmirrored for the export (the solve
//! registered its mirror image onto the model's right leg), as `coxa hcf` does.

use std::path::Path;

use crate::error::{Context, Result};
use coxa_core::Mesh;
use coxa_msk::bone_geometry::{self, BodyFrame, GenericBones, PatientBones};
use coxa_msk::hcf::HcfResult;
use coxa_msk::osim::{self, MeshGeometry};
use coxa_msk::personalise::{self, ImplantChange};
use coxa_msk::strength::{self, CtMuscle};

use super::{CaseBones, LoadedModel, MskActivity, MskSolution};

/// The model's file name in a case's `opensim/` folder.
pub const MODEL_FILE: &str = "model.osim";

/// What the case writer needs to write a case's OpenSim model.
#[derive(Debug, Clone)]
pub struct CaseOsim {
    /// The model read (its text is kept for everything coxa does not model).
    pub loaded: LoadedModel,
    /// The patient's model: the patient's sides, the plan, the patient's weight.
    pub model: osim::Model,
    /// The model coxa solved (the operated hip on its right leg) and its one-leg stance, when
    /// solved: the set-ups.
    pub stance: Option<(osim::Model, HcfResult)>,
    /// The operated hip is the left one.
    pub left: bool,
    /// The registered bodies' frames in the CT (LPS mm); empty with landmark scaling.
    pub frames: Vec<BodyFrame>,
    /// The patient's bone surfaces by body (LPS mm).
    pub bones: Vec<(&'static str, Mesh)>,
}

/// The patient's model of an exported solve: `fitted` (the patient's sides) with the CT's
/// strength (`ct`: `[operated side, other side]`) on the patient's sides, the plan (`change`, on
/// the operated side in the patient's sides) and every body's mass scaled alike to the body
/// weight (the set-ups' ground reaction is the body weight; the mass ratios coxa's loads use
/// stay the model's).
///
/// # Errors
/// A muscle or joint the personalisation does not find.
pub fn patient_model(fitted: &osim::Model, ct: Option<&[Vec<CtMuscle>; 2]>, left: bool, change: &ImplantChange, body_weight_n: f64) -> Result<osim::Model> {
    let (op, other) = if left { ("l", "r") } else { ("r", "l") };
    let base = match ct.filter(|c| c.iter().any(|m| !m.is_empty())) {
        Some(ct) => {
            let (m, _) = strength::strength_from_ct(fitted, op, &ct[0], strength::SPECIFIC_TENSION_N_PER_CM2)?;
            strength::strength_from_ct(&m, other, &ct[1], strength::SPECIFIC_TENSION_N_PER_CM2)?.0
        }
        None => fitted.clone(),
    };
    let mut export = personalise::apply_implant_change(&base, op, change)?;
    let k = body_weight_n / (export.total_mass_kg() * export.gravity_m_s2.norm());
    export.bodies.iter_mut().for_each(|b| b.mass_kg *= k);
    Ok(export)
}

/// What [`case_osim`] takes from the stage's run.
pub(super) struct CaseExport<'a> {
    pub loaded: LoadedModel,
    pub solution: &'a MskSolution,
    pub body_weight_n: f64,
    pub ct: &'a [Vec<CtMuscle>; 2],
    pub left: bool,
    /// The plan on the operated side, the patient's sides (not mirrored).
    pub change: ImplantChange,
    /// With bone registration: the model's bones and the case's.
    pub registered: Option<(&'a GenericBones, CaseBones<'a>)>,
}

/// The case's OpenSim model from the stage's solution (module docs).
pub(super) fn case_osim(e: CaseExport) -> Result<CaseOsim> {
    let CaseExport { loaded, solution, body_weight_n, ct, left, change, registered } = e;
    let (fitted, frames, bones) = match registered {
        Some((generic, case)) => {
            let (pelvis, right, left_femur) = case.surfaces(false)?;
            let (fitted, frames) = match (&solution.geometry, left) {
                (Some(g), false) => (solution.fitted.clone(), g.frames.clone()),
                _ => {
                    let patient = PatientBones { pelvis: &pelvis, femur_right: right.as_ref(), femur_left: left_femur.as_ref(), landmarks: case.pelvis_landmarks(false)? };
                    let (m, report) = bone_geometry::register_model(&loaded.model, generic, &patient, &bone_geometry::WarpOptions::default())
                        .context("registering the model onto the patient's bones (unmirrored, for the OpenSim export)")?;
                    (m, report.frames)
                }
            };
            let mut bones = vec![("pelvis", pelvis)];
            bones.extend(right.map(|m| ("femur_r", m)));
            bones.extend(left_femur.map(|m| ("femur_l", m)));
            (fitted, frames, bones)
        }
        None => (solution.fitted.clone(), Vec::new(), Vec::new()),
    };
    let model = patient_model(&fitted, Some(ct), left, &change, body_weight_n)?;
    let stance = solution.activities.iter().find(|a| a.activity == MskActivity::OneLegStance).map(|a| (solution.planned.clone(), a.planned.result.clone()));
    Ok(CaseOsim { loaded, model, stance, left, frames, bones })
}

/// The body a placed implant part belongs to: the cup's parts to the pelvis, the rest to the
/// operated femur.
fn implant_body(part: &str, left: bool) -> &'static str {
    match (part, left) {
        ("shell" | "liner" | "cup", _) => "pelvis",
        (_, true) => "femur_l",
        (_, false) => "femur_r",
    }
}

/// The implant's mesh file for a model exported as `STEM.osim`.
pub fn implant_mesh_file(stem: &str, part: &str) -> String {
    format!("{stem}_{part}_implant.stl")
}

/// Writes `dir/opensim/model.osim` with its set-ups, the patient's bones and the placed implants
/// (`implants`: the case's `implants/` meshes, LPS mm, the femoral parts with the head at the cup
/// centre; `femoral_shift_mm`: the imaged femoral head centre minus the cup centre, which puts
/// them on the femur as imaged). The files written (relative to `dir`) and what the case's
/// warnings should say.
///
/// # Errors
/// A file that exists, I/O, a model the writer refuses.
pub fn write(dir: &Path, osim: &CaseOsim, implants: &[(&str, Mesh)], femoral_shift_mm: &nalgebra::Vector3<f64>) -> Result<(Vec<String>, Vec<String>)> {
    let sub = dir.join("opensim");
    std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
    let out = sub.join(MODEL_FILE);
    let stem = MODEL_FILE.trim_end_matches(".osim");
    let mut notes = Vec::new();
    let surfaces: Vec<(&str, &Mesh)> = osim.bones.iter().map(|(b, m)| (*b, m)).collect();
    let mut meshes = crate::opensim_setup::write_patient_meshes(&out, &osim.frames, &surfaces)?;
    let mut written: Vec<String> = meshes.iter().map(|(b, _)| crate::opensim_setup::patient_mesh_file(stem, b)).collect();
    if osim.frames.is_empty() {
        notes.push("opensim/model.osim: the bodies keep the model's generic bone surfaces and the planned implants are not attached: with [msk] geometry = \"landmarks\" the model is only scaled, so nothing maps the CT into its bodies (use geometry = \"bones\")".to_string());
    } else {
        for (part, mesh) in implants {
            let body = implant_body(part, osim.left);
            let Some(frame) = osim.frames.iter().find(|f| f.body == body) else {
                notes.push(format!("opensim/model.osim: the implant's {part} is not attached: the case has no {body} surface registered"));
                continue;
            };
            let shift = if body == "pelvis" { nalgebra::Vector3::zeros() } else { *femoral_shift_mm };
            let in_body = Mesh::new(mesh.vertices().iter().map(|p| frame.to_body_m(&(p + shift))).collect(), mesh.triangles().to_vec()).with_context(|| format!("the implant's {part}"))?;
            let file = implant_mesh_file(stem, part);
            coxa_io::mesh::write_stl(&in_body, &sub.join(&file))?;
            written.push(file.clone());
            let colour = if *part == "liner" { [0.93, 0.93, 0.88] } else { [0.62, 0.64, 0.68] };
            let geometry = MeshGeometry { name: format!("{part}_implant"), mesh_file: file, colour };
            match meshes.iter_mut().find(|(b, _)| b == body) {
                Some((_, list)) => list.push(geometry),
                None => meshes.push((body.to_string(), vec![geometry])),
            }
        }
    }
    osim.loaded.export_with_meshes(&osim.model, &meshes, &out)?;
    written.push(MODEL_FILE.to_string());
    match &osim.stance {
        Some((solved, result)) => {
            let input = crate::opensim_setup::SetupInput { model: solved, result, activity: "one-leg-stance", left: osim.left };
            written.extend(crate::opensim_setup::write(&out, &input)?.iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())));
        }
        None => notes.push("opensim/model.osim: no OpenSim set-ups, the [msk] stage did not solve one-leg stance (the still posture OpenSim's static optimisation re-runs)".to_string()),
    }
    Ok((written.into_iter().map(|f| format!("opensim/{f}")).collect(), notes))
}

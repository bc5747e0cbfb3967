//! `coxa hcf`: the hip contact force of one-leg stance or walking for a patient, from 3D Slicer
//! landmark files, in the OrthoLoad femoral frame (Bergmann 2016).
//!
//! ```text
//! coxa hcf --pelvis-landmarks P.fcsv --femur-landmarks F.mrk.json --side L|R --body-weight-n 760
//!          --activity one-leg-stance|walking|sit-to-stand [--model gait2392.osim] [--json]
//!          [--offset-change-mm -5] [--leg-length-change-mm 4] [--cor-shift-mm 0,2,-3]
//!          [--export-osim planned.osim] [--muscles anatomy.json]
//!          [--bones anatomy/meshes [--bone-geometry opensim/Geometry]]
//! ```
//! With `--bones` the model's pelvis and femurs are registered onto the patient's bone surfaces
//! (`coxa_msk::bone_geometry`; the JSON's `geometry` gives the registration residuals)
//! instead of scaled by landmarks; without it (the default) landmark scaling is used.
//! With `--muscles` (the `anatomy.json` of `coxa anatomy` on a CT with muscle labels, or just its
//! `muscles` array) the model's gluteus maximus, medius, minimus, iliacus and psoas get the
//! patient's strength from their CT volumes and lean fractions (`coxa_msk::strength`, as the
//! `[msk]` stage does; the operated side on the model's right leg), and the force is that of the
//! personalised model; the output's `strength` compares it with the generic model (hip force,
//! abductor force and demand) and lists each line's generic and personalised maximum force.
//! With a plan (offset, leg length, centre-of-rotation shift) the force is that of the planned
//! hip, and the abductors' mean moment arm and maximum abduction moment are reported before and
//! after the plan; `--export-osim` writes the personalised model (scaled, plan applied on the
//! patient's side) for OpenSim.
//! The force is the one the acetabulum exerts on the femoral head, in % body weight, in the
//! femoral frame of the issue: origin at the head centre; `+z` from P2 (intercondylar notch) to
//! P1 (the neck-axis point nearest the shaft axis); `+y` anterior along `z x (MPC -> LPC)`;
//! `+x = y x z` (lateral for a right femur); a left femur is mirrored to a right one first.
//! The musculoskeletal model (an OpenSim .osim with gait2392's names, e.g.
//! `gait2392_thelen2003muscle.osim`) is `--model`, else `$COXA_OSIM_MODEL`, else the built-in
//! gait2392 (CC BY 3.0, `coxa_osim::embedded`); the output names the model that ran. It is scaled to the
//! patient first: the pelvis by the distance of the hip centres (HJC_L, HJC_R of the pelvis
//! landmarks), the femurs by the femur's length (HJC to the epicondyles' midpoint). The method
//! and the postures are in `coxa_msk::hcf`.
//!
//! The landmark files are 3D Slicer markups read by `coxa_io::markups`: `.fcsv` (LPS, or RAS
//! when its header says `# CoordinateSystem = RAS`) or Slicer 5's `.mrk.json`.
//!
//! The command runs the musculoskeletal stage of a case (`coxa_case::msk_stage::solve`, the
//! planned hip only) and prints its record, `coxa_core::HcfRecord` (`--json`):
//! `{"hcf_percent_bw": [x, y, z], "magnitude_percent_bw": m, ...}`; with `--motion`,
//! `coxa_core::HcfMotionRecord`.
//!
//! ```text
//! coxa hcf --motion IK.mot --grf GRF.mot --body-weight-n 720 [--grf-body calcn_r]
//!          [--grf-body-1 calcn_l] [--side L|R] [--model subject01.osim] [--lowpass-hz 6]
//!          [--start-s 0.6 --end-s 1.3] [--isometric] [--no-passive-force] [--out hcf.sto] [--id-sto id.sto] [--json]
//! ```
//! `--activity walking --walking-hip-moment ABD,EXT` takes the patient's measured net hip
//! moments at the first peak (N m/kg, from a gait laboratory) instead of the quasi-static
//! posture's estimate; the JSON's `net_hip_moment_n_m_per_kg` gives the moments the muscles
//! balanced in every activity.
//! With `--motion` the force is computed over a measured motion (`coxa_msk::motion`: the
//! whole model's inverse dynamics with the plates' loads, then per frame the right leg's static
//! optimisation and the reaction on the femoral head) on the model as given (no landmarks: scale
//! it in OpenSim first); `--side L` mirrors the trial onto the model's right leg. `--out` gets
//! the force per frame (femur frame, N and %BW; and the net hip moments, N m/kg), the JSON the largest force in stance (`peak`)
//! and the largest in each half of the longest stance phase (`first_peak`, `second_peak`).

mod args;
mod landmarks;
mod motion;
mod print;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use coxa_core::hcf_record::{HcfPlanRecord, MuscleForceRecord, NetHipMomentRecord, PostureCheckRecord, RisingStepRecord, ScaleFactorRecord};
use coxa_core::{HcfMotionRecord, HcfRecord, OrthoLoadFemur, Side, mm_to_m};
use coxa_msk::bone_geometry::{GenericBones, PatientBones, PelvisPoints};
use coxa_msk::hcf::{self, HcfResult};
use coxa_msk::osim::{Model, Storage};
use coxa_msk::personalise::{self, ImplantChange};
use coxa_msk::strength::{self, CtMuscle};
use coxa_msk::{RightFemur, bone_geometry};
use nalgebra::{Point3, Vector3};
use serde::Serialize;

pub use crate::cli::side::SideArg;
pub use args::{ActivityArg, HcfArgs};

use coxa_case::msk_stage::{Fit, LoadedModel, MskActivity, MskRun, MskSolution, Precision, solve};
use landmarks::run_landmarks;

/// `--walking-hip-moment ABD,EXT` read and checked (walking only).
fn walking_hip_moment(args: &HcfArgs, activity: ActivityArg) -> Result<Option<hcf::WalkingHipMoment>> {
    let Some(t) = &args.walking_hip_moment else { return Ok(None) };
    if activity != ActivityArg::Walking {
        bail!("--walking-hip-moment {t}: only with --activity walking");
    }
    let v: Vec<f64> =
        t.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().with_context(|| format!("--walking-hip-moment {t}: write ABDUCTOR,EXTENSOR in N m per kg, e.g. 0.6,0.3"))?;
    let [a, e] = v[..] else { bail!("--walking-hip-moment {t}: give two numbers, ABDUCTOR,EXTENSOR in N m per kg of body mass, e.g. 0.6,0.3") };
    hcf::WalkingHipMoment::new(a, e).map(Some).map_err(|why| anyhow::anyhow!("--walking-hip-moment {t}: {why}"))
}

/// A file that must not exist yet (coxa never overwrites): checked before the work.
fn new_file(path: &Option<PathBuf>, flag: &str) -> Result<()> {
    if let Some(p) = path
        && p.exists()
    {
        bail!("{flag} {}: the file exists already; coxa never overwrites, choose a new name", p.display());
    }
    Ok(())
}

/// The model file: `--model`, else `$COXA_OSIM_MODEL`, else none (the built-in gait2392).
fn model_path(args: &HcfArgs) -> Option<PathBuf> {
    args.model.clone().or_else(|| std::env::var_os("COXA_OSIM_MODEL").map(PathBuf::from))
}

/// What `coxa hcf` found: the force of an activity from landmark files, or over a motion.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum HcfOutput {
    /// From landmark files (`--pelvis-landmarks`, `--femur-landmarks`, `--activity`).
    Landmarks(Box<HcfRecord>),
    /// Over a measured motion (`--motion`).
    Motion(Box<HcfMotionRecord>),
}

/// The labelled points of a 3D Slicer markups file (`.fcsv`, LPS or RAS, or `.mrk.json`), LPS mm.
fn read_landmarks(path: &Path) -> Result<Vec<(String, Vector3<f64>)>> {
    let points = coxa_io::markups::read_markups(path).with_context(|| format!("cannot read the landmark file {}", path.display()))?;
    Ok(points.into_iter().map(|c| (c.label, c.lps_mm.coords)).collect())
}

/// The muscle records of `--muscles`: an anatomy.json's `muscles`, or a bare array of them.
fn read_muscles(path: &Path) -> Result<Vec<coxa_core::anatomy_record::MuscleRecord>> {
    let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).with_context(|| format!("cannot read the muscle measures {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("--muscles {}: not JSON; give the anatomy.json of coxa anatomy", path.display()))?;
    let list = match v.get("muscles") {
        Some(serde_json::Value::Null) | None if !v.is_array() => bail!("--muscles {}: no `muscles` in it; run coxa anatomy on a CT with muscle labels (e.g. TotalSegmentator's)", path.display()),
        Some(m) => m.clone(),
        None => v,
    };
    serde_json::from_value(list).with_context(|| format!("--muscles {}: `muscles` is not a list of coxa anatomy's muscle records", path.display()))
}

/// The CT muscle classes of `--muscles`, `[operated side, other side]` (None without it).
fn ct_of(args: &HcfArgs, side: Side) -> Result<Option<[Vec<CtMuscle>; 2]>> {
    let Some(path) = &args.muscles else { return Ok(None) };
    let ct = coxa_case::msk_stage::ct_muscles(&read_muscles(path)?, side == Side::Left);
    if ct.iter().all(Vec::is_empty) {
        let classes: Vec<&str> = strength::CT_TO_MODEL.iter().map(|(c, _)| *c).collect();
        bail!("--muscles {}: none of its muscles is one coxa maps to the model ({}, with _left/_right and a volume); check the file", path.display(), classes.join(", "));
    }
    Ok(Some(ct))
}

/// The plan of `--offset-change-mm`, `--leg-length-change-mm` and `--cor-shift-mm`, checked.
fn plan_of(args: &HcfArgs) -> Result<HcfPlanRecord> {
    for (what, v) in [("--offset-change-mm", args.offset_change_mm), ("--leg-length-change-mm", args.leg_length_change_mm)] {
        if !(v.is_finite() && v.abs() <= 40.0) {
            bail!("{what} {v}: give a change within -40..40 mm");
        }
    }
    let cor = match &args.cor_shift_mm {
        None => [0.0; 3],
        Some(t) => {
            let v: Vec<f64> =
                t.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().with_context(|| format!("--cor-shift-mm {t}: write ANTERIOR,SUPERIOR,LATERAL in mm, e.g. 0,2,-3"))?;
            if v.len() != 3 || v.iter().any(|x| !(x.is_finite() && x.abs() <= 40.0)) {
                bail!("--cor-shift-mm {t}: three numbers within -40..40 mm, e.g. 0,2,-3");
            }
            [v[0], v[1], v[2]]
        }
    };
    Ok(HcfPlanRecord { cor_shift_anterior_superior_lateral_mm: cor, leg_length_change_mm: args.leg_length_change_mm, offset_change_mm: args.offset_change_mm })
}

/// The plan on a leg whose lateral direction is the model's `lateral_sign` z (1: the right leg).
fn change_for(plan: &HcfPlanRecord, lateral_sign: f64) -> ImplantChange {
    let cor = plan.cor_shift_anterior_superior_lateral_mm;
    ImplantChange {
        cor_shift_pelvis_m: mm_to_m(Vector3::new(cor[0], cor[1], lateral_sign * cor[2])),
        offset_change_m: mm_to_m(plan.offset_change_mm),
        leg_length_change_m: mm_to_m(plan.leg_length_change_mm),
    }
}

/// The pelvic points that place the generic pelvis, mirrored (x -> -x, left <-> right) when
/// `mirror`.
fn pelvis_points(pelvis: &[(String, Vector3<f64>)], file: &Path, mirror: bool) -> Result<PelvisPoints> {
    let find = |name: &str| pelvis.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)).map(|(_, p)| *p);
    let need = |name: &str| find(name).with_context(|| format!("{}: --bones needs the pelvis landmark {name} (hip centres, both ASISs and a pubic tubercle)", file.display()));
    let pubis = match (find("PT_L"), find("PT_R")) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => need("MP")?,
    };
    let m = |v: Vector3<f64>| Point3::new(if mirror { -v.x } else { v.x }, v.y, v.z);
    let (l, r) = if mirror { ("R", "L") } else { ("L", "R") };
    Ok(PelvisPoints {
        hjc_left: m(need(&format!("HJC_{l}"))?),
        hjc_right: m(need(&format!("HJC_{r}"))?),
        asis_left: m(need(&format!("ASIS_{l}"))?),
        asis_right: m(need(&format!("ASIS_{r}"))?),
        pubis: m(pubis),
    })
}

/// What registering the model onto the patient's bones (`--bones`) takes, the operated side on
/// the model's right leg when `mirror`.
struct Bones {
    generic: GenericBones,
    pelvis: coxa_core::Mesh,
    right: Option<coxa_core::Mesh>,
    left: Option<coxa_core::Mesh>,
    points: PelvisPoints,
}

impl Bones {
    fn read(loaded: &LoadedModel, args: &HcfArgs, dir: &Path, pelvis: &[(String, Vector3<f64>)], mirror: bool) -> Result<Self> {
        let generic = coxa_case::msk_stage::generic_bones(loaded, model_path(args).as_deref(), args.bone_geometry.as_deref())?;
        let [pelvis_mesh, right, left] = coxa_case::msk_stage::patient_bones(dir, mirror)?;
        let points = pelvis_points(pelvis, args.pelvis_landmarks.as_deref().unwrap_or(Path::new("--pelvis-landmarks")), mirror)?;
        Ok(Self { generic, pelvis: pelvis_mesh.context("no pelvis surface")?, right, left, points })
    }

    fn patient(&self) -> PatientBones<'_> {
        PatientBones { pelvis: &self.pelvis, femur_right: self.right.as_ref(), femur_left: self.left.as_ref(), landmarks: self.points }
    }

    fn fit(&self) -> Fit<'_> {
        Fit::Registered { generic: &self.generic, patient: self.patient() }
    }
}

/// Computes the hip contact force; the record.
pub fn run(args: &HcfArgs) -> Result<HcfOutput> {
    let side = args.side.map_or(Side::Right, Side::from);
    if !(args.body_weight_n.is_finite() && (100.0..5000.0).contains(&args.body_weight_n)) {
        bail!("--body-weight-n {}: give the body weight in newtons (100..5000), e.g. 760 for 77.5 kg", args.body_weight_n);
    }
    if let Some(m) = &args.motion {
        return Ok(HcfOutput::Motion(Box::new(motion::run_motion(args, m, side)?)));
    }
    Ok(HcfOutput::Landmarks(Box::new(run_landmarks(args, side)?)))
}

/// `--export-osim`: the personalised model (fitted, the CT's strength, the plan) with the
/// patient's sides, for OpenSim.
#[allow(clippy::too_many_arguments, reason = "the pieces of one run of the command")]
fn export(
    loaded: &LoadedModel,
    args: &HcfArgs,
    pelvis: &[(String, Vector3<f64>)],
    side: Side,
    ct: Option<&[Vec<CtMuscle>; 2]>,
    solution: &MskSolution,
    plan: &HcfPlanRecord,
    out: &Path,
) -> Result<()> {
    let sign = if side == Side::Left { -1.0 } else { 1.0 };
    // The export carries the patient's sides: a left hip's registration is redone unmirrored,
    // and the CT's strength goes on the patient's sides. The patient's own bone surfaces (unmirrored)
    // become the registered bodies' display geometry.
    let patient = args.bones.as_deref().map(|dir| Bones::read(loaded, args, dir, pelvis, false)).transpose()?;
    let unmirrored = match (&patient, side == Side::Left) {
        (Some(b), true) => Some(bone_geometry::register_model(&loaded.model, &b.generic, &b.patient(), &bone_geometry::WarpOptions::default())?),
        _ => None,
    };
    let frames = unmirrored.as_ref().map(|u| &u.1).or(solution.geometry.as_ref()).map(|g| g.frames.clone()).unwrap_or_default();
    let fitted = unmirrored.map_or_else(|| solution.fitted.clone(), |u| u.0);
    let export = coxa_case::msk_stage::export::patient_model(&fitted, ct, side == Side::Left, &change_for(plan, sign), args.body_weight_n)?;
    let meshes = match &patient {
        Some(b) => {
            let mut surfaces = vec![("pelvis", &b.pelvis)];
            surfaces.extend(b.right.as_ref().map(|m| ("femur_r", m)));
            surfaces.extend(b.left.as_ref().map(|m| ("femur_l", m)));
            coxa_case::opensim_setup::write_patient_meshes(out, &frames, &surfaces)?
        }
        None => Vec::new(),
    };
    Ok(loaded.export_with_meshes(&export, &meshes, out)?)
}

/// `coxa hcf`: prints the force (or JSON with `--json`).
pub fn cli(args: &HcfArgs) -> Result<()> {
    let output = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(());
    }
    match &output {
        HcfOutput::Landmarks(r) => print::landmarks(r),
        HcfOutput::Motion(r) => print::motion(r),
    }
    Ok(())
}

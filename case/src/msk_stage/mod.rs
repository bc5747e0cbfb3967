//! The musculoskeletal stage (`[msk]` in a scenario, and `coxa hcf`): what the plan does to the
//! abductors and to the hip load, on an OpenSim model. One function solves it for both front
//! doors ([`solve`]); a case's report records it as [`MskRecord`] ([`run`]), `coxa hcf` as
//! `coxa_core::HcfRecord`, through the same record builders ([`MskSolution::abductors_record`],
//! [`MskSolution::strength_record`], [`MskSolution::geometry_record`]).
//!
//! The model (`[msk] model`, e.g. `../shared/data/opensim/gait2392_thelen2003muscle.osim`;
//! without it the built-in gait2392, CC BY 3.0, named with its credit in the record) is fitted to
//! the patient ([`Fit`]): in a case scaled at the pelvis by the patient's distance between the
//! femoral head centres (a hip CT does not image the knee, so the femur keeps the model's
//! length), or registered onto the case's bones; `coxa hcf` scales pelvis and femurs by its
//! landmark files. The plan moves the hip centre on the pelvis (the cup centre's shift from the
//! native centre) and the femoral attachments (offset and leg-length change). The operated hip
//! is the model's right hip (a left hip is mirrored). Reported before and after the plan: the
//! abductors' force-weighted mean moment arm and maximum abduction moment, and the hip contact
//! force of each activity.
//!
//! When the case's label map has muscles (`anatomy.json`'s `muscles`: gluteus maximus, medius,
//! minimus, iliopsoas), the model's maximum isometric forces come from the patient's lean muscle
//! volumes (`coxa_msk::strength`: both sides, the operated one on the model's right leg),
//! and the record's `strength` compares generic and personalised strength: every line's force,
//! and per activity the hip contact force and the abductors' force and demand.

pub mod export;
mod model;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::error::{Context, Result};
use coxa_core::report::{
    AbductorRecord, ActivityLoadRecord, BoneRegistrationRecord, HipLoadRecord, MskChangeRecord, MskGeometryRecord, MskRecord, MskStrengthRecord, NativePlanned, StrengthEffectRecord,
    StrengthLineRecord,
};
use coxa_core::{PelvicFrame, m_to_mm, mm_to_m};
use coxa_msk::bone_geometry::{self, GenericBones, GeometryReport, PatientBones};
use coxa_msk::hcf::{self, Activity, HcfResult, WalkingHipMoment};
use coxa_msk::personalise::{self, AbductorReport, ImplantChange};
use coxa_msk::rising::{Rising, rising_from_chair};
use coxa_msk::strength::{self, CtMuscle, StrengthReport, StrengthSource};
use coxa_msk::{RightFemur, osim};
use nalgebra::Vector3;

pub use model::{CaseBones, LoadedModel, generic_bones, patient_bones};

/// Steps of rising from a chair (every 5 % of the motion).
pub const RISING_STEPS: usize = 20;

/// The model's bone geometry in the `[msk]` stage.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum MskGeometry {
    /// The pelvis scaled by the femoral head distance (the default).
    #[default]
    Landmarks,
    /// The model's pelvis and femurs registered onto the case's bone surfaces
    /// (`coxa_msk::bone_geometry`).
    Bones {
        /// The model's Geometry folder (its bones' .vtp surfaces).
        bone_geometry: PathBuf,
    },
}

/// What the stage needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MskInput {
    /// The .osim model; None: the built-in gait2392.
    pub model: Option<PathBuf>,
    /// Body weight, N.
    pub body_weight_n: f64,
    /// Activities: `one-leg-stance`, `walking`.
    pub activities: Vec<String>,
    /// The model's bone geometry.
    pub geometry: MskGeometry,
    /// Walking's measured net hip moments (`[msk] walking_hip_moment`); None: the posture's.
    pub walking_hip_moment: Option<WalkingHipMoment>,
}

/// The planned change of the hip: cup centre shift (LPS, mm), offset and leg-length change (mm).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HipChange {
    /// Planned minus native cup centre, LPS mm.
    pub cor_shift_lps_mm: Vector3<f64>,
    /// Offset change, mm (+: more lateral femur).
    pub offset_change_mm: f64,
    /// Leg-length change, mm (+: longer).
    pub leg_length_change_mm: f64,
}

/// An activity whose hip contact force the stage solves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MskActivity {
    /// Static one-leg stance on the operated leg.
    OneLegStance,
    /// Level walking at the first peak of the hip force (quasi-static).
    Walking,
    /// Rising from a chair, quasi-static, from seat-off to standing ([`RISING_STEPS`] steps;
    /// the peak of the steps balanced and held by the muscles is the force).
    SitToStand,
}

impl MskActivity {
    /// `one-leg-stance`, `walking` or `sit-to-stand`.
    pub fn name(self) -> &'static str {
        match self {
            MskActivity::OneLegStance => "one-leg-stance",
            MskActivity::Walking => "walking",
            MskActivity::SitToStand => "sit-to-stand",
        }
    }
}

/// How the generic model is fitted to the patient.
#[derive(Debug, Clone, Copy)]
pub enum Fit<'a> {
    /// Not fitted: the generic model.
    Generic,
    /// Bodies scaled uniformly by these factors (`(body, factors)`, as
    /// `coxa_msk::personalise::scale_bodies` takes them).
    Scaled(&'a [(String, Vector3<f64>)]),
    /// The generic bones registered onto the patient's (`coxa_msk::bone_geometry`).
    Registered {
        /// The model's bone surfaces.
        generic: &'a GenericBones,
        /// The patient's, the operated side on the model's right leg.
        patient: PatientBones<'a>,
    },
}

/// One run of the stage.
#[derive(Debug, Clone, Copy)]
pub struct MskRun<'a> {
    /// The generic model.
    pub model: &'a osim::Model,
    /// Body weight, N.
    pub body_weight_n: f64,
    /// The activities.
    pub activities: &'a [MskActivity],
    /// Walking's measured net hip moments; None: the posture's.
    pub walking_hip_moment: Option<WalkingHipMoment>,
    /// How the model is fitted to the patient.
    pub fit: Fit<'a>,
    /// The operated femur's OrthoLoad points: the forces are then also given in its OrthoLoad frame.
    pub femur: Option<&'a RightFemur>,
    /// The plan, on the model's right leg.
    pub change: ImplantChange,
    /// The CT muscle classes `[operated side, other side]` ([`ct_muscles`]; both empty: generic
    /// strength).
    pub ct: &'a [Vec<CtMuscle>; 2],
    /// Whether the native hip's force is solved too (a case's report), or only the planned
    /// hip's (`coxa hcf`).
    pub native: bool,
}

/// One activity's force.
#[derive(Debug, Clone)]
pub struct Solved {
    /// The solution (sit-to-stand: its peak).
    pub result: HcfResult,
    /// Sit-to-stand: the whole activity.
    pub rising: Option<Rising>,
}

/// One activity solved.
#[derive(Debug, Clone)]
pub struct ActivitySolution {
    /// The activity.
    pub activity: MskActivity,
    /// The native hip (when [`MskRun::native`]).
    pub native: Option<Solved>,
    /// The planned hip.
    pub planned: Solved,
    /// With the CT's strength: the compared hip (the native one when solved, else the planned
    /// one) with the generic strength.
    pub generic: Option<Solved>,
}

/// What the stage found.
#[derive(Debug, Clone)]
pub struct MskSolution {
    /// The model fitted to the patient, generic strength.
    pub fitted: osim::Model,
    /// The registration onto the patient's bones ([`Fit::Registered`]).
    pub geometry: Option<GeometryReport>,
    /// The fitted model with the patient's strength from the CT (the fitted one without it): the
    /// native hip.
    pub native: osim::Model,
    /// The native model with the plan applied.
    pub planned: osim::Model,
    /// The strength from the CT, `[operated side, other side]`.
    pub strength: Option<[StrengthReport; 2]>,
    /// The generic model of the strength comparison (the fitted model, planned when the native
    /// hip is not solved).
    pub generic_compared: Option<osim::Model>,
    /// The abductors, native and planned.
    pub abductors: [AbductorReport; 2],
    /// Each activity's force.
    pub activities: Vec<ActivitySolution>,
}

/// Solves the stage (see the module docs).
///
/// # Errors
/// A model or fit the solver refuses, a registration that fails, a posture the muscles cannot
/// hold.
pub fn solve(run: &MskRun) -> Result<MskSolution> {
    let (fitted, geometry) = match run.fit {
        Fit::Generic => (run.model.clone(), None),
        Fit::Scaled(factors) => {
            let refs: Vec<(&str, Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
            (personalise::scale_bodies(run.model, &refs)?, None)
        }
        Fit::Registered { generic, patient } => {
            let (m, report) = bone_geometry::register_model(run.model, generic, &patient, &bone_geometry::WarpOptions::default()).context("registering the model onto the patient's bones")?;
            (m, Some(report))
        }
    };
    // The patient's strength from the CT: operated side on the model's right leg.
    let (native, strength) = if run.ct.iter().any(|c| !c.is_empty()) {
        let (m, r_op) = strength::strength_from_ct(&fitted, "r", &run.ct[0], strength::SPECIFIC_TENSION_N_PER_CM2)?;
        let (m, r_other) = strength::strength_from_ct(&m, "l", &run.ct[1], strength::SPECIFIC_TENSION_N_PER_CM2)?;
        (m, Some([r_op, r_other]))
    } else {
        (fitted.clone(), None)
    };
    let planned = personalise::apply_implant_change(&native, "r", &run.change)?;
    let abductors = [personalise::abductor_report(&native, "r")?, personalise::abductor_report(&planned, "r")?];
    let generic_compared = match (&strength, run.native) {
        (None, _) => None,
        (Some(_), true) => Some(fitted.clone()),
        (Some(_), false) => Some(personalise::apply_implant_change(&fitted, "r", &run.change)?),
    };
    let mut activities = Vec::with_capacity(run.activities.len());
    for &activity in run.activities {
        let native = if run.native { Some(solve_activity(run, &native, activity)?) } else { None };
        let generic = generic_compared.as_ref().map(|g| solve_activity(run, g, activity)).transpose()?;
        let planned = solve_activity(run, &planned, activity)?;
        activities.push(ActivitySolution { activity, native, planned, generic });
    }
    Ok(MskSolution { fitted, geometry, native, planned, strength, generic_compared, abductors, activities })
}

/// One activity on one model.
fn solve_activity(run: &MskRun, model: &osim::Model, activity: MskActivity) -> Result<Solved> {
    let static_activity = match activity {
        MskActivity::OneLegStance => Activity::OneLegStance,
        MskActivity::Walking => Activity::Walking,
        MskActivity::SitToStand => {
            let rising = rising_from_chair(model, run.body_weight_n, run.femur, &hcf::HcfOptions::default(), coxa_sim::rom::seat_off_hip_deg(), RISING_STEPS)?;
            let peak = rising.peak().context("no step of rising from a chair is balanced quasi-statically and held by this model's muscles")?.result.clone();
            return Ok(Solved { result: peak, rising: Some(rising) });
        }
    };
    let moment = if activity == MskActivity::Walking { run.walking_hip_moment } else { None };
    let result = hcf::hip_contact_force_with(model, static_activity, run.body_weight_n, run.femur, &hcf::HcfOptions::new().with_walking_hip_moment(moment))?;
    // A search that ran out of its budget (issue 16) is said in the run's log.
    for note in &result.notes {
        tracing::warn!(activity = %activity.name(), "{note}");
    }
    Ok(Solved { result, rising: None })
}

/// How a record's numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// As computed (`coxa hcf`).
    Full,
    /// Rounded for people, each to its unit's step (a case's report).
    Report,
}

impl Precision {
    fn round(self, v: f64, digits: i32) -> f64 {
        match self {
            Precision::Full => v,
            Precision::Report => round(v, digits),
        }
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

impl MskSolution {
    /// The abductors before and after the plan.
    pub fn abductors_record(&self, p: Precision) -> NativePlanned<AbductorRecord> {
        let record = |a: &AbductorReport| AbductorRecord { mean_moment_arm_mm: p.round(m_to_mm(a.mean_moment_arm_m), 1), max_moment_nm: p.round(a.max_moment_n_m, 1) };
        NativePlanned { native: record(&self.abductors[0]), planned: record(&self.abductors[1]) }
    }

    /// The bone geometry: the registration's residuals, or landmark scaling.
    pub fn geometry_record(&self, p: Precision) -> MskGeometryRecord {
        let Some(r) = &self.geometry else { return MskGeometryRecord { source: "landmarks".into(), bones: Vec::new(), notes: Vec::new() } };
        MskGeometryRecord {
            source: "bones".into(),
            bones: r
                .bones
                .iter()
                .map(|b| BoneRegistrationRecord {
                    body: b.body.clone(),
                    scale: p.round(b.scale, 4),
                    rms_mm: p.round(b.rms_mm, 2),
                    mean_mm: p.round(b.mean_mm, 2),
                    max_mm: p.round(b.max_mm, 2),
                    patient_to_template_rms_mm: p.round(b.patient_to_template_rms_mm, 2),
                    field_rms_mm: p.round(b.field_rms_mm, 2),
                    head_centre_offset_mm: b.origin_offset_mm.map(|v| p.round(v, 2)),
                    template_vertices: Some(b.template_vertices),
                    registered_vertices: Some(b.registered_vertices),
                })
                .collect(),
            notes: r
                .joint_centres
                .iter()
                .map(|(j, how)| format!("joint {j}: centre {}", if *how == "measured" { "at the measured femoral head centre" } else { how }))
                .chain(r.notes.iter().cloned())
                .collect(),
        }
    }

    /// The strength from the CT against the generic strength, on the compared hip (the native
    /// one when solved, else the planned one); None without the CT's strength. `side_is_left`:
    /// the operated side (it names the CT classes).
    ///
    /// # Errors
    /// When the generic model's abductors cannot be reported.
    pub fn strength_record(&self, side_is_left: bool, p: Precision) -> Result<Option<MskStrengthRecord>> {
        let Some(reports) = &self.strength else { return Ok(None) };
        let sides = if side_is_left { ["left", "right"] } else { ["right", "left"] };
        let lines = reports
            .iter()
            .zip(sides)
            .flat_map(|(r, s)| {
                r.lines.iter().map(move |l| StrengthLineRecord {
                    muscle: l.muscle.clone(),
                    ct_class: format!("{}_{s}", l.ct_class),
                    generic_n: p.round(l.generic_n, 1),
                    personalised_n: p.round(l.personalised_n, 1),
                    source: match l.source {
                        StrengthSource::Volume => "volume",
                        StrengthSource::GenericTimesSideRatio => "generic_times_side_ratio",
                        StrengthSource::GenericCut => "generic_cut",
                    }
                    .into(),
                })
            })
            .collect();
        let compared = if self.activities.iter().any(|a| a.native.is_some()) { &self.native } else { &self.planned };
        let effect = self
            .activities
            .iter()
            .filter_map(|a| {
                let generic = a.generic.as_ref()?;
                let personalised = a.native.as_ref().unwrap_or(&a.planned);
                let g = abductor_demand(self.generic_compared.as_ref()?, &generic.result);
                let d = abductor_demand(compared, &personalised.result);
                let vector = |r: &HcfResult| r.force_orthoload_percent_bw.map(|v| [v.x, v.y, v.z]);
                Some(StrengthEffectRecord {
                    activity: a.activity.name().into(),
                    hcf_percent_bw: [generic.result.magnitude_percent_bw, personalised.result.magnitude_percent_bw].map(|v| p.round(v, 1)),
                    abductor_force_n: [g.0, d.0].map(|v| p.round(v, 1)),
                    abductor_demand_percent: [g.1, d.1].map(|v| p.round(v, 1)),
                    hcf_orthoload_percent_bw: vector(&generic.result).zip(vector(&personalised.result)).map(|(a, b)| [a, b]),
                })
            })
            .collect();
        let moment = |m: &osim::Model| personalise::abductor_report(m, "r").map(|a| p.round(a.max_moment_n_m, 1));
        Ok(Some(MskStrengthRecord {
            method: format!(
                "maximum isometric force = lean volume (volume x share of voxels at -29..150 HU) / optimal fibre length x {} N/cm² (Arnold et al. 2010), a CT class's volume shared among its model lines by their generic volumes; a class cut by the scan's edge keeps its generic force times the left/right lean-volume ratio; muscles without a CT class keep the generic force",
                strength::SPECIFIC_TENSION_N_PER_CM2
            ),
            specific_tension_n_per_cm2: strength::SPECIFIC_TENSION_N_PER_CM2,
            lines,
            classes_not_measured: reports.iter().zip(sides).flat_map(|(r, s)| r.classes_not_measured.iter().map(move |c| format!("{c}_{s}"))).collect(),
            no_ct_counterpart: reports[0].no_ct_counterpart.clone(),
            effect,
            max_abduction_moment_nm: [moment(&self.fitted)?, moment(&self.native)?],
        }))
    }
}

/// The CT muscle classes of both sides from the anatomy record's `muscles` (coxa's / TotalSegmentator's
/// class names, e.g. `gluteus_medius_left`): `[operated side, other side]`, the operated side
/// going to the model's right leg (a left hip is mirrored). Classes without a model counterpart
/// are left out (see `coxa_msk::strength`).
pub fn ct_muscles(muscles: &[coxa_core::anatomy_record::MuscleRecord], side_is_left: bool) -> [Vec<CtMuscle>; 2] {
    let measures: Vec<(String, bool, f64, f64, bool)> = muscles
        .iter()
        .filter_map(|m| {
            let (class, left) = match (m.name.strip_suffix("_left"), m.name.strip_suffix("_right")) {
                (Some(c), _) => (c, true),
                (_, Some(c)) => (c, false),
                _ => return None,
            };
            strength::CT_TO_MODEL.iter().any(|(c, _)| *c == class).then_some(())?;
            let (v, lean) = (m.volume_cm3, m.lean_fraction);
            // A label without lean voxels has no strength to model: left out, so its lines
            // keep the generic force and the record names the class as not measured.
            (v.is_finite() && lean.is_finite() && v > 0.0 && lean > 0.0).then_some(())?;
            Some((class.to_string(), left, v, lean, m.cut_by_scan))
        })
        .collect();
    let side = |left: bool| -> Vec<CtMuscle> {
        measures
            .iter()
            .filter(|m| m.1 == left)
            .map(|(class, _, v, lean, cut)| CtMuscle {
                class: class.clone(),
                volume_cm3: *v,
                lean_fraction: *lean,
                cut_by_scan: *cut,
                other_side_lean_volume_cm3: measures.iter().find(|o| o.0 == *class && o.1 != left).map(|o| o.2 * o.3),
            })
            .collect()
    };
    [side(side_is_left), side(!side_is_left)]
}

fn is_abductor(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["glut_med", "glut_min", "glmed", "glmin", "tfl"].iter().any(|p| n.starts_with(p)) && n.ends_with("_r")
}

/// Summed force (N) and demand (summed force over summed maximum isometric force, %) of the
/// model's right abductors in a solution.
fn abductor_demand(model: &osim::Model, r: &HcfResult) -> (f64, f64) {
    let force: f64 = r.muscle_forces_n.iter().filter(|(n, _)| is_abductor(n)).map(|(_, f)| f).sum();
    let max: f64 = model.muscles.iter().filter(|m| is_abductor(&m.name)).map(|m| m.max_isometric_force_n).sum();
    (force, 100.0 * force / max.max(1e-9))
}

fn activity(name: &str) -> Result<MskActivity> {
    match name {
        "one-leg-stance" => Ok(MskActivity::OneLegStance),
        "walking" => Ok(MskActivity::Walking),
        other => crate::bail!("[msk] activity {other:?}: use one-leg-stance or walking"),
    }
}

/// The hip load record of a case's report (rounded for people).
fn hip_load_record(r: &HcfResult) -> HipLoadRecord {
    let v = r.force_femur_percent_bw;
    let m = r.net_hip_moment;
    HipLoadRecord {
        magnitude_percent_bw: round(r.magnitude_percent_bw, 1),
        force_femur_percent_bw: [v.x, v.y, v.z].map(|x| round(x, 1)),
        muscle_forces_n: r.muscle_forces_n.iter().map(|(n, f)| (n.clone(), round(*f, 2))).collect(),
        net_hip_moment_n_m_per_kg: [m.abductor_n_m_per_kg, m.extensor_n_m_per_kg, m.external_rotator_n_m_per_kg].map(|x| round(x, 3)),
    }
}

/// What the registration onto a case's bones borrows: the model's bones; the case's pelvis, femur
/// on the model's right and on its left leg; the points that place the pelvis; the case's bones.
type CaseRegistration<'a> = (GenericBones, coxa_core::Mesh, Option<coxa_core::Mesh>, Option<coxa_core::Mesh>, bone_geometry::PelvisPoints, CaseBones<'a>);

/// Runs the stage of a case. `head_distance_mm`: between the two femoral head centres (None:
/// no scaling); `frame`: the pelvic frame (for the cup centre's shift in the model's pelvis
/// axes); `ct`: the CT muscle classes `[operated side, other side]` ([`ct_muscles`]; both
/// empty: generic strength); `bones`: the case's bone surfaces and landmarks, needed with
/// `geometry = "bones"`. With the record, what the case's OpenSim model is written from
/// ([`export`]).
pub fn run(
    input: &MskInput,
    head_distance_mm: Option<f64>,
    frame: &PelvicFrame,
    change: &HipChange,
    side_is_left: bool,
    ct: &[Vec<CtMuscle>; 2],
    bones: Option<CaseBones>,
) -> Result<(MskRecord, export::CaseOsim)> {
    let loaded = LoadedModel::load(input.model.as_deref()).context("[msk] model")?;
    let model = &loaded.model;
    let hip_width_m = {
        let hip = |n: &str| model.joints.iter().find(|j| j.name == n).map(|j| j.parent.translation_m);
        match (hip("hip_r"), hip("hip_l")) {
            (Some(r), Some(l)) => (r - l).norm(),
            _ => crate::bail!("[msk] model {}: no hip_r/hip_l joints (use a gait2392-style model)", loaded.label),
        }
    };
    let activities = input.activities.iter().map(|a| activity(a)).collect::<Result<Vec<_>>>()?;
    // Cup centre shift into the model's pelvis axes (x anterior, y up, z right); a left hip is
    // mirrored onto the right one (z flips).
    let p = frame.vector_to_pelvic(&change.cor_shift_lps_mm);
    let mirror = if side_is_left { -1.0 } else { 1.0 };
    let shift_m = mm_to_m(Vector3::new(-p.y, p.z, -p.x * mirror));
    let planned_change = ImplantChange { cor_shift_pelvis_m: shift_m, offset_change_m: mm_to_m(change.offset_change_mm), leg_length_change_m: mm_to_m(change.leg_length_change_mm) };
    // What the fit borrows.
    let pelvis_scale: [(String, Vector3<f64>); 1];
    let mut case_bones: Option<CaseRegistration> = None;
    let (fit, scale) = match (&input.geometry, head_distance_mm) {
        (MskGeometry::Bones { bone_geometry: dir }, _) => {
            let b = bones.context("[msk] geometry = \"bones\" needs the case's bone surfaces (hip_left, hip_right, sacrum, femurs); use geometry = \"landmarks\"")?;
            let generic = generic_bones(&loaded, input.model.as_deref(), Some(dir)).context("[msk] geometry = \"bones\"")?;
            let (pelvis, right, left) = b.surfaces(side_is_left)?;
            let (generic, pelvis, right, left, points, _) = &*case_bones.insert((generic, pelvis, right, left, b.pelvis_landmarks(side_is_left)?, b));
            (Fit::Registered { generic, patient: PatientBones { pelvis, femur_right: right.as_ref(), femur_left: left.as_ref(), landmarks: *points } }, None)
        }
        (MskGeometry::Landmarks, Some(d)) => {
            let s = mm_to_m(d) / hip_width_m;
            crate::ensure!((0.6..1.6).contains(&s), "[msk] the pelvis would scale by {s:.2}: the femoral head distance {d:.0} mm does not fit a human pelvis");
            pelvis_scale = [("pelvis".into(), Vector3::repeat(s))];
            (Fit::Scaled(&pelvis_scale), Some(s))
        }
        (MskGeometry::Landmarks, None) => (Fit::Generic, None),
    };
    let solution = solve(&MskRun {
        model,
        body_weight_n: input.body_weight_n,
        activities: &activities,
        walking_hip_moment: input.walking_hip_moment,
        fit,
        femur: None,
        change: planned_change,
        ct,
        native: true,
    })?;
    // A registered pelvis' scale is the registration's (as the record gives it).
    let scale = match &solution.geometry {
        Some(g) => g.bones.iter().find(|b| b.body == "pelvis").map(|b| round(b.scale, 4)),
        None => scale,
    };
    let registered = solution.geometry.is_some();
    let strength = solution.strength_record(side_is_left, Precision::Report)?;
    let mut loads = Vec::with_capacity(solution.activities.len());
    for a in &solution.activities {
        let native = a.native.as_ref().context("the stage solves the native hip of a case")?;
        loads.push(ActivityLoadRecord { activity: a.activity.name().into(), native: hip_load_record(&native.result), planned: hip_load_record(&a.planned.result) });
    }
    let model_name = if input.model.is_some() { loaded.file_name.clone() } else { format!("{} ({})", loaded.file_name, loaded.label) };
    // The OpenSim model on the patient's sides: the cup centre's shift not mirrored.
    let patient_change = ImplantChange { cor_shift_pelvis_m: mm_to_m(Vector3::new(-p.y, p.z, -p.x)), ..planned_change };
    let osim = export::case_osim(export::CaseExport {
        loaded,
        solution: &solution,
        body_weight_n: input.body_weight_n,
        ct,
        left: side_is_left,
        change: patient_change,
        registered: case_bones.as_ref().map(|c| (&c.0, c.5)),
    })?;
    let record = MskRecord {
        geometry: Some(solution.geometry_record(Precision::Report)),
        model: Some(model_name),
        body_weight_n: input.body_weight_n,
        pelvis_scale: scale,
        method: format!(
            "{}{}; plan applied as a hip-centre shift and moved femoral attachments; static optimisation (sum of squared activations); force of the acetabulum on the head in the model's femur frame, % body weight",
            if registered {
                "generic pelvis and femurs registered onto the case's bone surfaces (similarity ICP, non-rigid surface registration, Gaussian displacement field): attachments, via points, wrap objects and hip centres carried (see geometry)"
            } else {
                "generic model scaled at the pelvis by the femoral head distance (the femur keeps its length)"
            },
            if strength.is_some() { ", muscle strength from the CT (see strength)" } else { ", generic muscle strength (no muscle labels)" }
        ),
        change: MskChangeRecord {
            cor_shift_model_pelvis_mm: [shift_m.x, shift_m.y, shift_m.z].map(|v| round(m_to_mm(v), 1)),
            offset_change_mm: change.offset_change_mm,
            leg_length_change_mm: change.leg_length_change_mm,
        },
        abductors: solution.abductors_record(Precision::Report),
        activities: loads,
        strength,
    };
    Ok((record, osim))
}

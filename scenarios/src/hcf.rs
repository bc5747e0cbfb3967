//! `coxa hcf`: the hip contact force of one-leg stance or walking for a patient, from 3D Slicer
//! landmark files, in the OrthoLoad femoral frame (Bergmann 2016).
//!
//! ```text
//! coxa hcf --pelvis-landmarks P.fcsv --femur-landmarks F.fcsv --side L|R --body-weight-n 760
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
//! JSON: `{"hcf_percent_bw": [x, y, z], "magnitude_percent_bw": m, ...}`.
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

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use coxa_core::{OrthoLoadFemur, Side, mm_to_m};
use coxa_msk::RightFemur;
use coxa_msk::hcf::{self, Activity};
use coxa_msk::personalise;

/// The activity of `coxa hcf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivityArg {
    /// Static one-leg stance on the operated leg.
    OneLegStance,
    /// Level walking, the first peak of the hip force (quasi-static).
    Walking,
    /// Rising from a chair, quasi-static, from seat-off to standing (`coxa_msk::rising`):
    /// the force along it (`along` in the JSON); the peak of the steps that are balanced and
    /// held by the muscles is the reported force.
    SitToStand,
}

/// Arguments of `coxa hcf`.
#[derive(Debug, Clone, Args)]
pub struct HcfArgs {
    /// Pelvis landmarks, a 3D Slicer markups file (.fcsv, mm) with HJC_L and HJC_R.
    #[arg(long, required_unless_present = "motion")]
    pub pelvis_landmarks: Option<PathBuf>,
    /// Femur landmarks (.fcsv, mm) with HJC, P1, P2, MPC, LPC, MEC, LEC (suffix _L/_R allowed).
    #[arg(long, required_unless_present = "motion")]
    pub femur_landmarks: Option<PathBuf>,
    /// The femur's side: L or R (with `--motion`: the hip whose force is computed, default R).
    #[arg(long, required_unless_present = "motion")]
    pub side: Option<String>,
    /// Body weight, N.
    #[arg(long)]
    pub body_weight_n: f64,
    /// The activity.
    #[arg(long, value_enum, required_unless_present = "motion")]
    pub activity: Option<ActivityArg>,
    /// The OpenSim model (.osim, gait2392 names); default `$COXA_OSIM_MODEL`, else the built-in
    /// gait2392 (Delp et al. 1990, CC BY 3.0).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Planned change of femoral offset, mm (+: the femur moves laterally from the head centre).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub offset_change_mm: f64,
    /// Planned change of leg length, mm (+: longer leg).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub leg_length_change_mm: f64,
    /// Planned shift of the centre of rotation (cup centre) as ANTERIOR,SUPERIOR,LATERAL mm,
    /// e.g. 0,2,-3 for 2 mm up and 3 mm medial.
    #[arg(long, value_name = "A,S,L", allow_hyphen_values = true)]
    pub cor_shift_mm: Option<String>,
    /// Also write the personalised (scaled and planned) model as an OpenSim .osim file, with the
    /// plan on the patient's side; the file must not exist.
    #[arg(long)]
    pub export_osim: Option<PathBuf>,
    /// Also write every muscle's force as an OpenSim storage file (.sto: one row at time 0, N);
    /// the file must not exist.
    #[arg(long)]
    pub forces_sto: Option<PathBuf>,
    /// The patient's muscle measures for the strength from the CT: an `anatomy.json` of
    /// `coxa anatomy` (its `muscles`: volumes, lean fractions, `_left`/`_right` classes), or a
    /// JSON array of those records.
    #[arg(long)]
    pub muscles: Option<PathBuf>,
    /// Also write the activity's posture(s) as an OpenSim motion (.mot: every coordinate of the
    /// planned model, degrees; one row, or the steps of sit-to-stand); the file must not exist.
    #[arg(long)]
    pub motion_mot: Option<PathBuf>,
    /// The patient's bone surfaces: the `meshes` folder of `coxa anatomy` (hip_left.stl,
    /// hip_right.stl, sacrum.stl and the femurs, in the landmarks' LPS mm frame). The model's
    /// pelvis and femurs are then registered onto them (`coxa_msk::bone_geometry`: muscle
    /// attachments, wrap objects and hip centres carried to the patient's bones) instead of
    /// scaled by landmarks; the pelvis landmarks must then have ASIS_L, ASIS_R and PT_L/PT_R.
    #[arg(long)]
    pub bones: Option<PathBuf>,
    /// With `--bones`: the model's Geometry folder (its bones' .vtp surfaces); default the
    /// `Geometry` folder beside `--model` (needed with the built-in model).
    #[arg(long)]
    pub bone_geometry: Option<PathBuf>,
    /// A measured motion instead of a quasi-static activity: an OpenSim inverse-kinematics
    /// `.mot` (coordinates over time) of `--model` as it is (scale it in OpenSim first), with
    /// `--grf`; the force per frame goes to `--out` (`coxa_msk::motion`).
    #[arg(long, requires = "grf", conflicts_with_all = ["pelvis_landmarks", "femur_landmarks", "activity", "bones", "muscles", "export_osim", "cor_shift_mm", "motion_mot", "forces_sto", "walking_hip_moment"])]
    pub motion: Option<PathBuf>,
    /// With `--motion`: the ground reactions, OpenSim's external-loads `.mot` (ground_force_vx..,
    /// ground_force_px.., ground_torque_x.., N, m, N m, in ground; a second plate `1_`-prefixed).
    #[arg(long, requires = "motion")]
    pub grf: Option<PathBuf>,
    /// With `--motion`: the body the first plate (`ground_force_*`) loads.
    #[arg(long, default_value = "calcn_r")]
    pub grf_body: String,
    /// With `--motion`: the body the second plate (`1_ground_force_*`) loads, when the file has
    /// it; default the other foot's calcaneus.
    #[arg(long)]
    pub grf_body_1: Option<String>,
    /// With `--motion`: low-pass filter the coordinates at this cutoff, Hz (4th-order zero-lag
    /// Butterworth; e.g. 6 for measured gait); default none.
    #[arg(long)]
    pub lowpass_hz: Option<f64>,
    /// With `--motion`: only frames from this time on, s.
    #[arg(long, allow_hyphen_values = true)]
    pub start_s: Option<f64>,
    /// With `--motion`: only frames up to this time, s.
    #[arg(long, allow_hyphen_values = true)]
    pub end_s: Option<f64>,
    /// With `--motion`: muscles at their isometric strength (no force-velocity curve).
    #[arg(long, requires = "motion")]
    pub isometric: bool,
    /// With `--motion`: leave the muscles' passive fibre force out of the static optimisation,
    /// as OpenSim's StaticOptimization does (default: added to the loads). For models scaled
    /// without rescaling their fibre and tendon slack lengths, whose stretched fibres would
    /// otherwise pull with forces no muscle activation can undo.
    #[arg(long, requires = "motion")]
    pub no_passive_force: bool,
    /// With `--motion`: write the hip contact force per frame as an OpenSim .sto (femur frame,
    /// N and % body weight, magnitude, largest reserve, stance); the file must not exist.
    #[arg(long, requires = "motion")]
    pub out: Option<PathBuf>,
    /// With `--motion`: write the inverse dynamics (every coordinate's generalised force, as
    /// OpenSim's InverseDynamicsTool names them) as a .sto; the file must not exist.
    #[arg(long, requires = "motion")]
    pub id_sto: Option<PathBuf>,
    /// With `--activity walking`: the patient's measured net internal hip moments at the first
    /// peak of the hip force (about 17 % of the gait cycle, from a gait laboratory's inverse
    /// dynamics) as ABDUCTOR,EXTENSOR in N m per kg of body mass, e.g. 0.6,0.3. They replace the
    /// quasi-static posture's estimate (about 0.8-0.9 abductor), which dominates the walking
    /// force: about 20 %BW per 0.1 N m/kg (README, "What the walking force rests on").
    #[arg(long, value_name = "ABD,EXT", allow_hyphen_values = true)]
    pub walking_hip_moment: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

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

/// `coxa hcf --motion IK.mot --grf GRF.mot`: the hip contact force over a measured motion.
fn run_motion(args: &HcfArgs, motion_path: &Path, side: Side) -> Result<Value> {
    use coxa_msk::motion::{ExternalLoad, MotionOptions, generalised_forces_table, hip_contact_force_over_motion, mirror_left_to_right, motion_force_table, other_side};
    let grf_path = args.grf.as_deref().context("--motion needs --grf GRF.mot (the ground reactions of the same trial)")?;
    new_file(&args.out, "--out")?;
    new_file(&args.id_sto, "--id-sto")?;
    if let (Some(a), Some(b)) = (args.start_s, args.end_s)
        && (a >= b || !a.is_finite() || !b.is_finite())
    {
        bail!("--start-s {a} --end-s {b}: the start must come before the end");
    }
    // The tables are read whole and held as numbers (a few times the text's bytes): a file
    // beyond an eighth of the memory limit is refused before it is read.
    let limit = coxa_io::Limits::new().max_bytes / 8;
    for (flag, p) in [("--motion", motion_path), ("--grf", grf_path)] {
        if let Ok(m) = std::fs::metadata(p)
            && m.len() > limit
        {
            bail!("{flag} {}: {} MB, more than a motion table may take here ({} MB); cut the trial to the frames wanted, or raise --max-memory", p.display(), m.len() >> 20, limit >> 20);
        }
    }
    let motion = coxa_msk::osim::Storage::read(motion_path).with_context(|| format!("--motion {}: give OpenSim's inverse kinematics output (.mot)", motion_path.display()))?;
    let grf = coxa_msk::osim::Storage::read(grf_path).with_context(|| format!("--grf {}: give the trial's ground reactions (.mot)", grf_path.display()))?;
    let mut plates = vec![ExternalLoad::plate(&args.grf_body, "")];
    if grf.column("1_ground_force_vx").is_some() {
        plates.push(ExternalLoad::plate(&args.grf_body_1.clone().unwrap_or_else(|| other_side(&args.grf_body)), "1_"));
    } else if let Some(b) = &args.grf_body_1 {
        bail!("--grf-body-1 {b}: {} has no second plate (no 1_ground_force_vx column)", grf_path.display());
    }
    // A left hip: the trial mirrored onto the model's right leg.
    let (motion, grf) = if side == Side::Left { mirror_left_to_right(&motion, &grf) } else { (motion, grf) };
    if side == Side::Left {
        plates.iter_mut().for_each(|p| p.body = other_side(&p.body));
    }
    let model_path = model_path(args);
    let loaded = crate::msk_stage::LoadedModel::load(model_path.as_deref())?;
    let model = &loaded.model;
    for p in &plates {
        if model.body_index(&p.body).is_none() {
            bail!("--grf-body {}: not a body of the model {}; name the body the plate loads (e.g. calcn_r)", p.body, loaded.file_name);
        }
    }
    let options = MotionOptions::new()
        .with_lowpass_hz(args.lowpass_hz)
        .with_time_range_s(if args.start_s.is_some() || args.end_s.is_some() { Some((args.start_s.unwrap_or(f64::NEG_INFINITY), args.end_s.unwrap_or(f64::INFINITY))) } else { None })
        .with_muscle_velocity(!args.isometric)
        .with_hcf(hcf::HcfOptions::new().with_passive_fibre_force(!args.no_passive_force));
    let hcf =
        hip_contact_force_over_motion(model, &motion, &grf, &plates, args.body_weight_n, &options).with_context(|| format!("--motion {} with --grf {}", motion_path.display(), grf_path.display()))?;
    if let Some(out) = &args.out {
        motion_force_table(&hcf).write(out)?;
    }
    if let Some(out) = &args.id_sto {
        // The hip force's frames keep their inverse dynamics: no second pass over the motion.
        generalised_forces_table(model, hcf.frames.iter().map(|f| (f.time_s, f.generalised_forces.as_slice()))).write(out)?;
    }
    let frame = |f: Option<&coxa_msk::motion::MotionFrame>| {
        f.map(|f| {
            let v = f.result.force_femur_percent_bw;
            json!({"time_s": f.time_s, "hcf_femur_percent_bw": [v.x, v.y, v.z], "magnitude_percent_bw": f.result.magnitude_percent_bw})
        })
    };
    let (first, second) = hcf.stance_peaks();
    let file = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok(json!({
        "motion": file(motion_path),
        "grf": file(grf_path),
        "plates": plates.iter().map(|p| json!({"body": p.body, "force": p.force_identifier})).collect::<Vec<_>>(),
        "side": if side == Side::Left { "L" } else { "R" },
        "model": loaded.label,
        "body_weight_n": args.body_weight_n,
        "frame": "the model's femur_r frame (a left femur mirrored to a right one), force of the acetabulum on the femoral head",
        "frames": hcf.frames.len(),
        "stance_frames": hcf.frames.iter().filter(|f| f.stance).count(),
        "frames_needing_reserves": hcf.frames.iter().filter(|f| !coxa_msk::motion::balanced(&f.result)).count(),
        "lowpass_hz": args.lowpass_hz,
        "muscle_velocity": !args.isometric,
        "passive_fibre_force": !args.no_passive_force,
        "missing_coordinates": hcf.missing_coordinates,
        "peak": frame(hcf.peak()),
        "first_peak": frame(first),
        "second_peak": frame(second),
        "out": args.out.as_ref().map(|p| p.display().to_string()),
        "id_sto": args.id_sto.as_ref().map(|p| p.display().to_string()),
    }))
}

/// The pelvic landmarks that place the generic pelvis, mirrored (x -> -x, left <-> right) when
/// `mirror`.
fn pelvis_landmarks(pelvis: &[(String, nalgebra::Vector3<f64>)], file: &Path, mirror: bool) -> Result<coxa_msk::bone_geometry::PelvisPoints> {
    let find = |name: &str| pelvis.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)).map(|(_, p)| *p);
    let need = |name: &str| find(name).with_context(|| format!("{}: --bones needs the pelvis landmark {name} (hip centres, both ASISs and a pubic tubercle)", file.display()));
    let pubis = match (find("PT_L"), find("PT_R")) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => need("MP")?,
    };
    let m = |v: nalgebra::Vector3<f64>| nalgebra::Point3::new(if mirror { -v.x } else { v.x }, v.y, v.z);
    let (l, r) = if mirror { ("R", "L") } else { ("L", "R") };
    Ok(coxa_msk::bone_geometry::PelvisPoints {
        hjc_left: m(need(&format!("HJC_{l}"))?),
        hjc_right: m(need(&format!("HJC_{r}"))?),
        asis_left: m(need(&format!("ASIS_{l}"))?),
        asis_right: m(need(&format!("ASIS_{r}"))?),
        pubis: m(pubis),
    })
}

/// The model registered onto the patient's bones (`--bones`), mirrored when `mirror`.
fn registered(
    loaded: &crate::msk_stage::LoadedModel,
    model_path: Option<&Path>,
    args: &HcfArgs,
    dir: &Path,
    pelvis: &[(String, nalgebra::Vector3<f64>)],
    mirror: bool,
) -> Result<(coxa_msk::osim::Model, coxa_msk::bone_geometry::GeometryReport)> {
    use coxa_msk::bone_geometry as bg;
    let generic = crate::msk_stage::generic_bones(loaded, model_path, args.bone_geometry.as_deref())?;
    let [pelvis_mesh, right, left] = crate::msk_stage::patient_bones(dir, mirror)?;
    let pelvis_mesh = pelvis_mesh.context("no pelvis surface")?;
    let patient = bg::PatientBones {
        pelvis: &pelvis_mesh,
        femur_right: right.as_ref(),
        femur_left: left.as_ref(),
        landmarks: pelvis_landmarks(pelvis, args.pelvis_landmarks.as_deref().unwrap_or(Path::new("--pelvis-landmarks")), mirror)?,
    };
    Ok(bg::register_model(&loaded.model, &generic, &patient, &bg::WarpOptions::default())?)
}

fn geometry_json(r: &coxa_msk::bone_geometry::GeometryReport) -> Value {
    json!({
        "method": "generic pelvis and femurs registered onto the patient's bone surfaces (similarity ICP, coxa_shape::register, Gaussian displacement field; coxa_msk::bone_geometry)",
        "bones": r.bones.iter().map(|b| json!({
            "body": b.body, "scale": b.scale, "registered_vertices": b.registered_vertices, "template_vertices": b.template_vertices,
            "rms_mm": b.rms_mm, "mean_mm": b.mean_mm, "max_mm": b.max_mm, "patient_to_template_rms_mm": b.patient_to_template_rms_mm,
            "field_rms_mm": b.field_rms_mm, "warped_head_centre_to_measured_mm": b.origin_offset_mm,
        })).collect::<Vec<_>>(),
        "joint_centres": r.joint_centres.iter().map(|(j, how)| json!({"joint": j, "source": how})).collect::<Vec<_>>(),
        "notes": r.notes,
    })
}

/// The force of one activity: its solution (the peak for sit-to-stand) and, for sit-to-stand,
/// the whole activity.
fn solve(
    model: &coxa_msk::osim::Model,
    activity: ActivityArg,
    body_weight_n: f64,
    femur: &RightFemur,
    walking_moment: Option<hcf::WalkingHipMoment>,
) -> Result<(hcf::HcfResult, Option<coxa_msk::rising::Rising>)> {
    let options = hcf::HcfOptions::new().with_walking_hip_moment(walking_moment);
    let one = |a: Activity| hcf::hip_contact_force_with(model, a, body_weight_n, Some(femur), &options).map(|r| (r, None));
    Ok(match activity {
        ActivityArg::OneLegStance => one(Activity::OneLegStance)?,
        ActivityArg::Walking => one(Activity::Walking)?,
        ActivityArg::SitToStand => {
            let rising = coxa_msk::rising::rising_from_chair(model, body_weight_n, Some(femur), &hcf::HcfOptions::default(), coxa_sim::rom::seat_off_hip_deg(), RISING_STEPS)?;
            let peak = rising.peak().context("no step of rising from a chair is balanced quasi-statically and held by this model's muscles")?.result.clone();
            (peak, Some(rising))
        }
    })
}

/// Steps of `--activity sit-to-stand` (every 5 % of the motion).
const RISING_STEPS: usize = 20;

fn activity_name(a: ActivityArg) -> &'static str {
    match a {
        ActivityArg::OneLegStance => "one-leg-stance",
        ActivityArg::Walking => "walking",
        ActivityArg::SitToStand => "sit-to-stand",
    }
}

/// The muscle records of `--muscles`: an anatomy.json's `muscles`, or a bare array of them.
fn read_muscles(path: &Path) -> Result<Vec<coxa_core::anatomy_record::MuscleRecord>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the muscle measures {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("--muscles {}: not JSON; give the anatomy.json of coxa anatomy", path.display()))?;
    let list = match v.get("muscles") {
        Some(Value::Null) | None if !v.is_array() => bail!("--muscles {}: no `muscles` in it; run coxa anatomy on a CT with muscle labels (e.g. TotalSegmentator's)", path.display()),
        Some(m) => m.clone(),
        None => v,
    };
    serde_json::from_value(list).with_context(|| format!("--muscles {}: `muscles` is not a list of coxa anatomy's muscle records", path.display()))
}

/// The labelled points of a 3D Slicer markups file (`.fcsv`, LPS or RAS, or `.mrk.json`), LPS mm.
fn read_landmarks(path: &Path) -> Result<Vec<(String, nalgebra::Vector3<f64>)>> {
    let points = coxa_io::markups::read_markups(path).with_context(|| format!("cannot read the landmark file {}", path.display()))?;
    Ok(points.into_iter().map(|c| (c.label, c.lps_mm.coords)).collect())
}

/// Computes the hip contact force; the JSON report.
pub fn run(args: &HcfArgs) -> Result<Value> {
    let side = match args.side.as_deref().unwrap_or("R").to_ascii_uppercase().as_str() {
        "L" | "LEFT" => Side::Left,
        "R" | "RIGHT" => Side::Right,
        s => bail!("--side {s}: use L or R"),
    };
    if !(args.body_weight_n.is_finite() && (100.0..5000.0).contains(&args.body_weight_n)) {
        bail!("--body-weight-n {}: give the body weight in newtons (100..5000), e.g. 760 for 77.5 kg", args.body_weight_n);
    }
    if let Some(m) = &args.motion {
        return run_motion(args, m, side);
    }
    let (Some(pelvis_landmarks), Some(femur_landmarks), Some(activity)) = (&args.pelvis_landmarks, &args.femur_landmarks, args.activity) else {
        bail!("give --pelvis-landmarks, --femur-landmarks and --activity (or --motion IK.mot --grf GRF.mot for a measured motion)");
    };
    let walking_moment = walking_hip_moment(args, activity)?;
    let model_path = model_path(args);
    let pelvis = read_landmarks(pelvis_landmarks)?;
    let find = |name: &str| pelvis.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)).map(|(_, p)| *p);
    let (Some(hl), Some(hr)) = (find("HJC_L"), find("HJC_R")) else {
        bail!("{}: the pelvis landmarks need HJC_L and HJC_R (both hip centres)", pelvis_landmarks.display());
    };
    let femur_points = read_landmarks(femur_landmarks)?;
    crate::landmark_check::check(&pelvis, &femur_points, side).with_context(|| format!("{} with {}", pelvis_landmarks.display(), femur_landmarks.display()))?;
    // The landmarks are checked before the (larger) model is read.
    let loaded = crate::msk_stage::LoadedModel::load(model_path.as_deref())?;
    let model = &loaded.model;
    let femur = OrthoLoadFemur::from_labels(femur_points.iter().map(|(l, p)| (l.as_str(), nalgebra::Point3::from(*p))), side)
        .map_err(anyhow::Error::from)
        .and_then(|f| Ok(RightFemur::new(&f, side)?))
        .with_context(|| format!("{}", femur_landmarks.display()))?;
    // The model scaled to the patient: pelvis by the hip centres' distance, femurs by length.
    let factors = personalise::landmark_scale_factors(model, (hl - hr).norm(), &femur)?;
    let refs: Vec<(&str, nalgebra::Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
    // With --bones: registered onto the patient's bones (the operated side on the model's
    // right leg), else scaled by landmarks.
    let (scaled, geometry) = match &args.bones {
        Some(dir) => {
            let (m, rep) = registered(&loaded, model_path.as_deref(), args, dir, &pelvis, side == Side::Left)?;
            (m, Some(rep))
        }
        None => (personalise::scale_bodies(model, &refs)?, None),
    };
    // The plan: on the model's right leg (where the force is computed; a left femur is
    // mirrored) and, for the export, on the patient's side.
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
    let change_for = |lateral_sign: f64| personalise::ImplantChange {
        cor_shift_pelvis_m: mm_to_m(nalgebra::Vector3::new(cor[0], cor[1], lateral_sign * cor[2])),
        offset_change_m: mm_to_m(args.offset_change_mm),
        leg_length_change_m: mm_to_m(args.leg_length_change_mm),
    };
    // The patient's strength from the CT (operated side on the model's right leg, the other on
    // its left; the export keeps the patient's sides).
    let ct = match &args.muscles {
        None => None,
        Some(path) => {
            let records = read_muscles(path)?;
            let ct = crate::msk_stage::ct_muscles(&records, side == Side::Left);
            if ct.iter().all(Vec::is_empty) {
                let classes: Vec<&str> = coxa_msk::strength::CT_TO_MODEL.iter().map(|(c, _)| *c).collect();
                bail!("--muscles {}: none of its muscles is one coxa maps to the model ({}, with _left/_right and a volume); check the file", path.display(), classes.join(", "));
            }
            Some(ct)
        }
    };
    let personalise_sides = |m: &coxa_msk::osim::Model, ct: &[Vec<coxa_msk::strength::CtMuscle>; 2], patient_left: bool| -> Result<(coxa_msk::osim::Model, [coxa_msk::strength::StrengthReport; 2])> {
        let (op, other) = if patient_left { ("l", "r") } else { ("r", "l") };
        let (m, a) = coxa_msk::strength::strength_from_ct(m, op, &ct[0], coxa_msk::strength::SPECIFIC_TENSION_N_PER_CM2)?;
        let (m, b) = coxa_msk::strength::strength_from_ct(&m, other, &ct[1], coxa_msk::strength::SPECIFIC_TENSION_N_PER_CM2)?;
        Ok((m, [a, b]))
    };
    let (generic, scaled, strength_reports) = match &ct {
        None => (None, scaled, None),
        Some(ct) => {
            let (m, reports) = personalise_sides(&scaled, ct, false)?;
            (Some(scaled), m, Some(reports))
        }
    };
    let planned = personalise::apply_implant_change(&scaled, "r", &change_for(1.0))?;
    let before = personalise::abductor_report(&scaled, "r")?;
    let after = personalise::abductor_report(&planned, "r")?;
    if let Some(out) = &args.export_osim {
        let (side_code, sign) = if side == Side::Left { ("l", -1.0) } else { ("r", 1.0) };
        // The export carries the patient's sides: personalise the generic scaled model with the
        // operated side on the patient's side.
        let unmirrored = match (&args.bones, side == Side::Left) {
            (Some(dir), true) => Some(registered(&loaded, model_path.as_deref(), args, dir, &pelvis, false)?.0),
            _ => None,
        };
        let base = match (&generic, &ct, &unmirrored) {
            (_, Some(ct), Some(u)) => personalise_sides(u, ct, true)?.0,
            (_, None, Some(u)) => u.clone(),
            (Some(g), Some(ct), None) => personalise_sides(g, ct, side == Side::Left)?.0,
            _ => scaled.clone(),
        };
        let export = personalise::apply_implant_change(&base, side_code, &change_for(sign))?;
        loaded.export(&export, out)?;
    }
    let (r, rising) = solve(&planned, activity, args.body_weight_n, &femur, walking_moment)?;
    // Generic against personalised strength, same plan and posture rules.
    let strength = match (&generic, strength_reports) {
        (Some(g), Some(reports)) => {
            let g_planned = personalise::apply_implant_change(g, "r", &change_for(1.0))?;
            let (rg, _) = solve(&g_planned, activity, args.body_weight_n, &femur, walking_moment)?;
            let (ga, pa) = (crate::msk_stage::abductor_demand(&g_planned, &rg), crate::msk_stage::abductor_demand(&planned, &r));
            let sides = if side == Side::Left { ["left", "right"] } else { ["right", "left"] };
            let lines: Vec<Value> = reports
                .iter()
                .zip(sides)
                .flat_map(|(rep, s)| {
                    rep.lines.iter().map(move |l| json!({"muscle": l.muscle, "ct_class": format!("{}_{s}", l.ct_class), "generic_n": l.generic_n, "personalised_n": l.personalised_n, "source": format!("{:?}", l.source)}))
                })
                .collect();
            let gf = rg.force_orthoload_percent_bw.context("the OrthoLoad frame needs femur landmarks")?;
            Some(json!({
                "method": format!("maximum isometric force = lean volume / optimal fibre length x {} N/cm² (coxa_msk::strength); muscles without a CT class keep the generic force", coxa_msk::strength::SPECIFIC_TENSION_N_PER_CM2),
                "generic": {"hcf_percent_bw": [gf.x, gf.y, gf.z], "magnitude_percent_bw": gf.norm(), "abductor_force_n": ga.0, "abductor_demand_percent": ga.1},
                "personalised": {"magnitude_percent_bw": r.magnitude_percent_bw, "abductor_force_n": pa.0, "abductor_demand_percent": pa.1},
                "lines": lines,
                "classes_not_measured": reports.iter().zip(sides).flat_map(|(rep, s)| rep.classes_not_measured.iter().map(move |c| format!("{c}_{s}"))).collect::<Vec<_>>(),
                "no_ct_counterpart": reports[0].no_ct_counterpart,
            }))
        }
        _ => None,
    };
    let f = r.force_orthoload_percent_bw.context("the OrthoLoad frame needs femur landmarks")?;
    // One row per posture: the static activity's, or every step of sit-to-stand.
    let postures: Vec<(f64, &hcf::HcfResult)> = match &rising {
        Some(rising) => rising.steps.iter().map(|s| (s.progress * coxa_msk::rising::RISING_DURATION_S, &s.result)).collect(),
        None => vec![(0.0, &r)],
    };
    if let Some(path) = &args.forces_sto {
        // Muscles in the order of the first posture, then any later one adds (0 N where absent).
        let mut names: Vec<String> = Vec::new();
        for (_, p) in &postures {
            for (n, _) in &p.muscle_forces_n {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        let mut t = coxa_msk::osim::Storage::new("muscle_forces", false, names.clone());
        t.comments = vec![format!("coxa_activity={}", activity_name(activity)), "coxa_units=N".into()];
        for (time, p) in &postures {
            t.rows.push((*time, names.iter().map(|n| p.muscle_forces_n.iter().find(|(m, _)| m == n).map_or(0.0, |(_, f)| *f)).collect()));
        }
        t.write(path)?;
    }
    if let Some(path) = &args.motion_mot {
        coxa_msk::rising::coordinates_motion(&planned, activity_name(activity), postures.iter().map(|(t, p)| (*t, p.coordinates.as_slice()))).write(path)?;
    }
    // The solved forces hold the posture: a rapier3d multibody of the stance leg and upper body,
    // loaded by them, stays at rest up to this residual (the static activities: the check
    // loads the upper body as one-leg stance and walking do, not as two-legged rising).
    // (Not with measured walking moments: the muscles then balance those, not the posture's.)
    let check = match (&rising, walking_moment) {
        (None, None) => Some(coxa_msk::posture::check_posture_rapier(&planned, &r, args.body_weight_n, None)?),
        _ => None,
    };
    let mut report = json!({
        "hcf_percent_bw": [f.x, f.y, f.z],
        "magnitude_percent_bw": f.norm(),
        "frame": "OrthoLoad femoral frame (Bergmann 2016): origin head centre, +z P2->P1, +y anterior, +x lateral (right femur; left mirrored)",
        "side": if side == Side::Left { "L" } else { "R" },
        "activity": activity_name(activity),
        "body_weight_n": args.body_weight_n,
        "model": loaded.label,
        "stance_hip_angles_deg": r.hip_angles_deg,
        "net_hip_moment_n_m_per_kg": {
            "abductor": r.net_hip_moment.abductor_n_m_per_kg,
            "extensor": r.net_hip_moment.extensor_n_m_per_kg,
            "external_rotator": r.net_hip_moment.external_rotator_n_m_per_kg,
            "frame": "pelvis (internal moments of the stance hip's muscles on the pelvis)",
            "source": if walking_moment.is_some() { "given (--walking-hip-moment): abductor and extensor; about the vertical from the posture" } else { "the quasi-static posture" },
        },
        "reserve_moment_n_m": r.reserve_n_m.norm(),
        "posture_check": check.map(|check| json!({
            "method": "rapier3d multibody (stance leg + upper body) at the posture, loaded by the solved forces, one step from rest: residual generalised forces",
            "dofs": check.dofs,
            "residual_n_m": check.residual_n_m,
            "max_percent_bw_height": check.max_percent_bw_height,
        })),
        "patient_hip_centre_distance_mm": (hl - hr).norm(),
        "model_scale_factors": factors.iter().map(|(b, f)| json!({"body": b, "factor": f.x})).collect::<Vec<_>>(),
        "plan": {"offset_change_mm": args.offset_change_mm, "leg_length_change_mm": args.leg_length_change_mm, "cor_shift_anterior_superior_lateral_mm": cor},
        "abductors": {
            "mean_moment_arm_mm": {"before": 1000.0 * before.mean_moment_arm_m, "after": 1000.0 * after.mean_moment_arm_m},
            "max_abduction_moment_n_m": {"before": before.max_moment_n_m, "after": after.max_moment_n_m},
        },
        "exported_osim": args.export_osim.as_ref().map(|p| p.display().to_string()),
        "muscle_forces_n": r.muscle_forces_n.iter().filter(|(_, f)| *f > 0.5).map(|(n, f)| json!({"muscle": n, "force_n": f})).collect::<Vec<_>>(),
    });
    if let Some(st) = strength {
        report["strength"] = st;
    }
    if let Some(g) = &geometry {
        report["geometry"] = geometry_json(g);
        report["model_scale_factors"] = Value::Null;
    }
    if let Some(rising) = &rising {
        report["along"] = json!(rising
            .steps
            .iter()
            .map(|s| {
                let o = s.result.force_orthoload_percent_bw.unwrap_or_default();
                json!({"progress": s.progress, "hip_flexion_deg": s.hip_deg[0], "knee_flexion_deg": s.knee_flexion_deg, "ankle_deg": s.ankle_deg, "balanced": s.balanced, "held": s.held, "hcf_percent_bw": [o.x, o.y, o.z], "magnitude_percent_bw": s.result.magnitude_percent_bw})
            })
            .collect::<Vec<_>>());
    }
    report["motion_mot"] = json!(args.motion_mot.as_ref().map(|p| p.display().to_string()));
    // What the solve could not do within its budget (issue 16); absent normally.
    if !r.notes.is_empty() {
        report["notes"] = json!(r.notes);
    }
    Ok(report)
}

/// `coxa hcf`: prints the force (or JSON with `--json`).
pub fn cli(args: &HcfArgs) -> Result<()> {
    let report = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.motion.is_some() {
        println!(
            "hip contact force over {} ({} frames, {} in stance on the hip's leg), % body weight, femur frame",
            report["motion"].as_str().unwrap_or("?"),
            report["frames"],
            report["stance_frames"]
        );
        for (label, key) in [("peak", "peak"), ("first stance peak", "first_peak"), ("second stance peak", "second_peak")] {
            let p = &report[key];
            if let Some(m) = p["magnitude_percent_bw"].as_f64() {
                let v = |i: usize| p["hcf_femur_percent_bw"][i].as_f64().unwrap_or(f64::NAN);
                println!("  {label:<18} {m:7.1} at {:.3} s  ({:.1}, {:.1}, {:.1})", p["time_s"].as_f64().unwrap_or(f64::NAN), v(0), v(1), v(2));
            }
        }
        if report["frames_needing_reserves"].as_u64().unwrap_or(0) > 0 {
            println!("note: {} frames needed reserve actuators above 1 N m (the muscles could not balance the loads there)", report["frames_needing_reserves"]);
        }
        println!("model: {}", report["model"].as_str().unwrap_or("?"));
        if let Some(p) = report["out"].as_str() {
            println!("wrote {p}");
        }
        return Ok(());
    }
    let v = |i: usize| report["hcf_percent_bw"][i].as_f64().unwrap_or(f64::NAN);
    println!("hip contact force on the femoral head ({}), % body weight", report["activity"].as_str().unwrap_or("?"));
    println!("  x (lateral)  {:8.1}\n  y (anterior) {:8.1}\n  z (proximal) {:8.1}\n  magnitude    {:8.1}", v(0), v(1), v(2), report["magnitude_percent_bw"].as_f64().unwrap_or(f64::NAN));
    println!("frame: {}", report["frame"].as_str().unwrap_or(""));
    println!("model: {}", report["model"].as_str().unwrap_or("?"));
    for note in report["notes"].as_array().into_iter().flatten() {
        println!("note: {}", note.as_str().unwrap_or(""));
    }
    let ab = &report["abductors"];
    let g = |a: &str, b: &str| ab[a][b].as_f64().unwrap_or(f64::NAN);
    println!(
        "abductors (gluteus medius, minimus, tensor fasciae latae): mean moment arm {:.1} -> {:.1} mm, maximum abduction moment {:.1} -> {:.1} N m (before -> after the plan)",
        g("mean_moment_arm_mm", "before"),
        g("mean_moment_arm_mm", "after"),
        g("max_abduction_moment_n_m", "before"),
        g("max_abduction_moment_n_m", "after")
    );
    if let Some(res) = report["posture_check"]["max_percent_bw_height"].as_f64() {
        println!("posture check (rapier3d multibody under the solved forces): largest residual {res:.4} % body weight x height");
    }
    for s in report["along"].as_array().into_iter().flatten() {
        let g = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  progress {:.2}: hip {:5.1}, knee {:5.1}, ankle {:5.1} deg -> {:6.1} %BW{}",
            g("progress"),
            g("hip_flexion_deg"),
            g("knee_flexion_deg"),
            g("ankle_deg"),
            g("magnitude_percent_bw"),
            match (s["balanced"] == true, s["held"] == true) {
                (true, true) => "",
                (false, _) => " (not balanced quasi-statically)",
                (true, false) => " (needs reserve actuators)",
            }
        );
    }
    let st = &report["strength"];
    if !st.is_null() {
        let g = |a: &str, b: &str| st[a][b].as_f64().unwrap_or(f64::NAN);
        println!(
            "strength from the CT: hip force {:.1} (generic) -> {:.1} %BW (personalised); abductor force {:.0} -> {:.0} N, demand {:.1} -> {:.1} %",
            g("generic", "magnitude_percent_bw"),
            g("personalised", "magnitude_percent_bw"),
            g("generic", "abductor_force_n"),
            g("personalised", "abductor_force_n"),
            g("generic", "abductor_demand_percent"),
            g("personalised", "abductor_demand_percent")
        );
        for l in st["lines"].as_array().into_iter().flatten() {
            println!(
                "  {:<14} {:<24} {:7.1} -> {:7.1} N",
                l["muscle"].as_str().unwrap_or("?"),
                l["ct_class"].as_str().unwrap_or("?"),
                l["generic_n"].as_f64().unwrap_or(f64::NAN),
                l["personalised_n"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    if let Some(p) = report["exported_osim"].as_str() {
        println!("wrote {p}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_msk::osim;

    #[test]
    fn a_shorter_offset_weakens_the_abductors_and_the_model_exports() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if !model.exists() {
            eprintln!("note: skipping, {} is not here", model.display());
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("planned.osim");
        let mut a = args("R", Some(model));
        a.offset_change_mm = -6.0;
        a.cor_shift_mm = Some("0,0,-3".into());
        a.export_osim = Some(out.clone());
        let v = run(&a).unwrap();
        let ab = &v["abductors"]["mean_moment_arm_mm"];
        // -6 mm offset, +3 mm from the medialised centre: about 2.5 mm shorter.
        assert!(ab["after"].as_f64().unwrap() < ab["before"].as_f64().unwrap() - 2.0, "{v}");
        // The solved forces hold the posture of the planned model (rapier3d check).
        let residual = v["posture_check"]["max_percent_bw_height"].as_f64().unwrap();
        assert!(residual < 0.05, "posture residual {residual} %BW*height");
        let exported = osim::read_osim(&out).unwrap();
        assert!(exported.muscles.len() == 92);
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("already exists"), "{e}");
        a.cor_shift_mm = Some("1,2".into());
        a.export_osim = None;
        assert!(run(&a).unwrap_err().to_string().contains("--cor-shift-mm"));
    }

    /// `--bones`: the vsd subject's bones through `coxa anatomy`, then gait2392 registered onto
    /// them for each hip (the left mirrored onto the model's right leg, exported on the
    /// patient's sides): residuals reported, the force solved, the export loads.
    #[test]
    fn bones_register_the_model_on_both_sides() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
        let model = data.join("opensim/gait2392_thelen2003muscle.osim");
        if !model.exists() || !data.join("vsd_bones").exists() {
            eprintln!("note: skipping, the vsd bones or gait2392 are not here");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let list = [("femur_left", "Femur_L"), ("femur_right", "Femur_R"), ("hip_left", "Hip_L"), ("hip_right", "Hip_R"), ("sacrum", "Sacrum")]
            .map(|(n, f)| (n.to_string(), data.join(format!("vsd_bones/z013_{f}.stl"))))
            .to_vec();
        let anatomy = tmp.path().join("anatomy");
        crate::anatomy::run(&crate::anatomy::AnatomySource::Meshes(list, None), &anatomy).unwrap();
        for side in ["R", "L"] {
            let mut a = args(side, Some(model.clone()));
            a.pelvis_landmarks = Some(anatomy.join("landmarks/pelvis.fcsv"));
            a.femur_landmarks = Some(anatomy.join(format!("landmarks/femur_{}.fcsv", if side == "R" { "right" } else { "left" })));
            a.bones = Some(anatomy.join("meshes"));
            let out = tmp.path().join(format!("registered_{side}.osim"));
            a.export_osim = Some(out.clone());
            let v = run(&a).unwrap();
            let g = &v["geometry"];
            eprintln!("side {side}: {} %BW; geometry {g}", v["magnitude_percent_bw"]);
            for b in g["bones"].as_array().unwrap() {
                assert!(b["rms_mm"].as_f64().unwrap() < 3.0, "{b}");
            }
            assert_eq!(g["bones"].as_array().unwrap().len(), 3);
            let m = v["magnitude_percent_bw"].as_f64().unwrap();
            assert!((150.0..600.0).contains(&m), "one-leg stance {m} %BW");
            assert_eq!(osim::read_osim(&out).unwrap().muscles.len(), 92);
        }
        // The built-in model has no bone surfaces: a clear error naming the option.
        let mut a = args("R", None);
        a.pelvis_landmarks = Some(anatomy.join("landmarks/pelvis.fcsv"));
        a.femur_landmarks = Some(anatomy.join("landmarks/femur_right.fcsv"));
        a.bones = Some(anatomy.join("meshes"));
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("--bone-geometry"), "{e}");
    }

    /// `--motion`: a standing trial (every coordinate at its default, the body weight under the
    /// right foot) through the built-in gait2392 gives a force per frame in `--out` and its
    /// peak; bad input is one error naming the file and the cause, and `--out` is never
    /// overwritten.
    #[test]
    fn a_measured_motion_gives_the_force_per_frame() {
        let dir = tempfile::tempdir().unwrap();
        let model = osim::embedded::gait2392().unwrap();
        let mut mot = osim::Storage::new("standing", true, model.coordinates.iter().map(|c| c.name.clone()).collect());
        let bw = model.total_mass_kg() * 9.80665;
        let mut grf = osim::Storage::new(
            "grf",
            false,
            ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz"].iter().map(|c| c.to_string()).collect(),
        );
        for k in 0..10 {
            let t = 0.01 * f64::from(k);
            mot.rows.push((t, model.coordinates.iter().map(|c| if c.motion_type == osim::MotionType::Translational { c.default_value } else { c.default_value.to_degrees() }).collect()));
            grf.rows.push((t, vec![0.0, bw, 0.0, 0.0, 0.0, 0.08]));
        }
        let (m, g, out) = (dir.path().join("ik.mot"), dir.path().join("grf.mot"), dir.path().join("hcf.sto"));
        mot.write(&m).unwrap();
        grf.write(&g).unwrap();
        let mut a = args("R", None);
        (a.pelvis_landmarks, a.femur_landmarks, a.activity) = (None, None, None);
        a.body_weight_n = bw;
        (a.motion, a.grf, a.out) = (Some(m.clone()), Some(g.clone()), Some(out.clone()));
        if !built_in_model_runs() {
            return;
        }
        let report = run(&a).unwrap();
        assert_eq!(report["frames"], 10);
        assert_eq!(report["stance_frames"], 10);
        let peak = report["peak"]["magnitude_percent_bw"].as_f64().unwrap_or(f64::NAN);
        // At least the share of the body weight above the hip it carries: standing still, the
        // body above the right hip weighs the whole body less the right leg (the muscles
        // crossing the hip only press the head harder).
        let leg_kg: f64 = model.bodies.iter().filter(|b| ["femur_r", "patella_r", "tibia_r", "talus_r", "calcn_r", "toes_r"].contains(&b.name.as_str())).map(|b| b.mass_kg).sum();
        let above_percent_bw = 100.0 * (1.0 - leg_kg / model.total_mass_kg());
        eprintln!("standing on the right leg: peak {peak:.1} %BW, the body above the hip {above_percent_bw:.1} %BW");
        assert!(leg_kg > 5.0 && peak > 50.0 && peak >= above_percent_bw && peak < 1000.0, "{peak} against {above_percent_bw}");
        let table = osim::Storage::read(&out).unwrap();
        assert_eq!(table.rows.len(), 10);
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("exists already"), "{e}");
        a.out = None;
        std::fs::write(&g, "grf\ntime\tground_force_vx\n0\t1\n").unwrap();
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("grf.mot") && e.contains("endheader"), "{e}");
        a.grf = Some(g.with_extension("missing"));
        assert!(format!("{:#}", run(&a).unwrap_err()).contains("grf.missing"));
        // A table larger than the memory limit allows is refused before it is read (a sparse
        // file: its length is all that is checked).
        let big = dir.path().join("big.mot");
        std::fs::File::create(&big).unwrap().set_len(coxa_io::Limits::new().max_bytes / 8 + 1).unwrap();
        a.grf = Some(big);
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("big.mot") && e.contains("--max-memory"), "{e}");
    }

    fn args(side: &str, model: Option<PathBuf>) -> HcfArgs {
        let lm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/orthoload/Landmarks");
        HcfArgs {
            pelvis_landmarks: Some(lm.join("H2R_PelvisLandmarks.fcsv")),
            femur_landmarks: Some(lm.join("H2R_FemurLandmarks.fcsv")),
            side: Some(side.into()),
            body_weight_n: 767.0,
            activity: Some(ActivityArg::OneLegStance),
            model,
            offset_change_mm: 0.0,
            leg_length_change_mm: 0.0,
            cor_shift_mm: None,
            export_osim: None,
            forces_sto: None,
            muscles: None,
            bones: None,
            bone_geometry: None,
            motion_mot: None,
            motion: None,
            grf: None,
            grf_body: "calcn_r".into(),
            grf_body_1: None,
            lowpass_hz: None,
            start_s: None,
            end_s: None,
            isometric: false,
            no_passive_force: false,
            out: None,
            id_sto: None,
            walking_hip_moment: None,
            json: true,
        }
    }

    /// Whether a run without --model uses the built-in gait2392 (not `$COXA_OSIM_MODEL`); says
    /// why the test is skipped otherwise.
    #[test]
    fn walking_takes_the_patients_measured_hip_moments() {
        if !built_in_model_runs() {
            return;
        }
        let mut a = args("R", None);
        a.activity = Some(ActivityArg::Walking);
        let posture = run(&a).unwrap();
        let moment = |v: &Value, k: &str| v["net_hip_moment_n_m_per_kg"][k].as_f64().unwrap();
        assert_eq!(posture["net_hip_moment_n_m_per_kg"]["source"], "the quasi-static posture");
        assert!(posture["posture_check"].is_object());
        a.walking_hip_moment = Some("0.5,0.3".into());
        let given = run(&a).unwrap();
        assert!((moment(&given, "abductor") - 0.5).abs() < 1e-9 && (moment(&given, "extensor") - 0.3).abs() < 1e-9, "{given}");
        assert!(given["net_hip_moment_n_m_per_kg"]["source"].as_str().unwrap().starts_with("given"));
        assert!(given["posture_check"].is_null(), "the posture's check does not apply to measured moments");
        let mag = |v: &Value| v["magnitude_percent_bw"].as_f64().unwrap();
        assert!(moment(&posture, "abductor") > 0.7 && mag(&given) < mag(&posture) - 20.0, "{} %BW at 0.5 N m/kg against {} at {}", mag(&given), mag(&posture), moment(&posture, "abductor"));
        for bad in ["0.5", "abc,0.3", "60,20", "NaN,0.3"] {
            a.walking_hip_moment = Some(bad.into());
            let e = run(&a).unwrap_err().to_string();
            assert!(e.contains("--walking-hip-moment") && e.contains("N m per kg"), "{bad}: {e}");
        }
        a.activity = Some(ActivityArg::OneLegStance);
        a.walking_hip_moment = Some("0.5,0.3".into());
        assert!(run(&a).unwrap_err().to_string().contains("only with --activity walking"));
    }

    fn built_in_model_runs() -> bool {
        let set = std::env::var_os("COXA_OSIM_MODEL").is_some();
        if set {
            eprintln!("note: skipping, COXA_OSIM_MODEL is set");
        }
        !set
    }

    /// Without --model (and without $COXA_OSIM_MODEL) the built-in gait2392 runs, and the output
    /// says so; it gives the same force as the shared copy of the same model.
    #[test]
    fn runs_without_a_model_on_the_built_in_gait2392() {
        if !built_in_model_runs() {
            return;
        }
        let v = run(&args("R", None)).unwrap();
        let label = v["model"].as_str().unwrap();
        assert!(label.contains("gait2392") && label.contains("built into coxa") && label.contains("CC BY 3.0"), "{label}");
        let tmp = tempfile::tempdir().unwrap();
        let mut a = args("R", None);
        a.export_osim = Some(tmp.path().join("exported.osim"));
        let _ = run(&a).unwrap();
        assert_eq!(osim::read_osim(tmp.path().join("exported.osim")).unwrap().muscles.len(), 92);
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if shared.exists() {
            let w = run(&args("R", Some(shared))).unwrap();
            assert_eq!(v["hcf_percent_bw"], w["hcf_percent_bw"]);
        }
    }

    /// The real CT's muscle measures (TotalSegmentator labels, `coxa anatomy`), as anatomy.json
    /// writes them; `medius_factor` scales the right gluteus medius' volume.
    fn anatomy_json(dir: &Path, medius_factor: f64) -> PathBuf {
        let m = |name: &str, v: f64, lean: f64, cut: bool| json!({"cut_by_scan": cut, "fat_fraction": 1.0 - lean, "label": 1, "lean_fraction": lean, "mean_hu": 40.0, "n_voxels": 1000, "name": name, "sd_hu": 30.0, "side": null, "volume_cm3": v});
        let muscles = json!({"muscles": [
            m("gluteus_maximus_left", 322.8, 0.927, true),
            m("gluteus_maximus_right", 368.7, 0.920, true),
            m("gluteus_medius_left", 239.2, 0.951, false),
            m("gluteus_medius_right", 240.8 * medius_factor, 0.965, false),
            m("gluteus_minimus_left", 68.9, 0.958, false),
            m("gluteus_minimus_right", 71.5, 0.962, false),
            m("iliopsoas_left", 277.7, 0.974, true),
            m("iliopsoas_right", 266.8, 0.988, true),
        ]});
        let path = dir.join(format!("anatomy_{medius_factor}.json"));
        std::fs::write(&path, muscles.to_string()).unwrap();
        path
    }

    /// `--muscles`: the force of the personalised model, compared with the generic one; a halved
    /// gluteus medius on the operated side loads the other abductors and the hip more.
    #[test]
    fn ct_strength_personalises_and_reports_generic_against_personalised() {
        if !built_in_model_runs() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let generic = run(&args("R", None)).unwrap();
        let mut a = args("R", None);
        a.muscles = Some(anatomy_json(tmp.path(), 1.0));
        let full = run(&a).unwrap();
        let st = &full["strength"];
        let g = st["generic"]["magnitude_percent_bw"].as_f64().unwrap();
        assert!((g - generic["magnitude_percent_bw"].as_f64().unwrap()).abs() < 1e-9, "the generic comparison is the run without --muscles");
        assert!((st["personalised"]["magnitude_percent_bw"].as_f64().unwrap() - full["magnitude_percent_bw"].as_f64().unwrap()).abs() < 1e-9);
        let lines = st["lines"].as_array().unwrap();
        let line = |muscle: &str| lines.iter().find(|l| l["muscle"] == muscle).unwrap_or_else(|| panic!("{muscle} in {st}"));
        for m in ["glut_med1_r", "glut_max1_r", "iliacus_r", "psoas_r", "glut_min1_l"] {
            let l = line(m);
            assert!(l["personalised_n"].as_f64().unwrap() > 0.0 && l["personalised_n"] != l["generic_n"], "{l}");
        }
        assert_eq!(line("glut_med1_r")["ct_class"], "gluteus_medius_right");
        eprintln!(
            "H2R one-leg stance, real CT strengths: generic {g:.1} -> personalised {:.1} %BW; abductor demand {:.1} -> {:.1} %",
            full["magnitude_percent_bw"], st["generic"]["abductor_demand_percent"], st["personalised"]["abductor_demand_percent"]
        );
        // The right gluteus medius halved: its lines lose half their force, the hip force rises.
        let mut h = args("R", None);
        h.muscles = Some(anatomy_json(tmp.path(), 0.5));
        let half = run(&h).unwrap();
        let hl = half["strength"]["lines"].as_array().unwrap().iter().find(|l| l["muscle"] == "glut_med1_r").unwrap().clone();
        let ratio = hl["personalised_n"].as_f64().unwrap() / line("glut_med1_r")["personalised_n"].as_f64().unwrap();
        assert!((ratio - 0.5).abs() < 1e-9, "{ratio}");
        assert!(half["magnitude_percent_bw"].as_f64().unwrap() > full["magnitude_percent_bw"].as_f64().unwrap() + 5.0, "{} vs {}", half["magnitude_percent_bw"], full["magnitude_percent_bw"]);
        let force = |v: &Value, p: &str| {
            v["muscle_forces_n"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["muscle"].as_str().unwrap().starts_with(p) && m["muscle"].as_str().unwrap().ends_with("_r"))
                .map(|m| m["force_n"].as_f64().unwrap())
                .sum::<f64>()
        };
        assert!(force(&half, "glut_min") > force(&full, "glut_min"), "gluteus minimus takes over");
        eprintln!(
            "right gluteus medius halved: hip force {:.1} %BW (full volume {:.1}), abductor demand {:.1} %, gluteus minimus {:.0} -> {:.0} N, medius {:.0} -> {:.0} N",
            half["magnitude_percent_bw"].as_f64().unwrap(),
            full["magnitude_percent_bw"].as_f64().unwrap(),
            half["strength"]["personalised"]["abductor_demand_percent"].as_f64().unwrap(),
            force(&full, "glut_min"),
            force(&half, "glut_min"),
            force(&full, "glut_med"),
            force(&half, "glut_med")
        );
        // A file without usable measures is named with the fix.
        let mut bad = args("R", None);
        let empty = tmp.path().join("empty.json");
        std::fs::write(&empty, r#"{"muscles": []}"#).unwrap();
        bad.muscles = Some(empty);
        let e = format!("{:#}", run(&bad).unwrap_err());
        assert!(e.contains("--muscles") && e.contains("gluteus_medius"), "{e}");
        let none = tmp.path().join("none.json");
        std::fs::write(&none, r#"{"landmarks": {}}"#).unwrap();
        bad.muscles = Some(none);
        let e = format!("{:#}", run(&bad).unwrap_err());
        assert!(e.contains("no `muscles`"), "{e}");
    }

    /// `--activity sit-to-stand`: the force along rising from a chair; the reported force is the
    /// peak of the balanced steps; the motion and the muscle forces of every step go to OpenSim
    /// files (one row per step).
    #[test]
    fn sit_to_stand_reports_the_force_along_the_activity() {
        if !built_in_model_runs() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let mut a = args("R", None);
        a.activity = Some(ActivityArg::SitToStand);
        a.motion_mot = Some(tmp.path().join("sit_to_stand.mot"));
        a.forces_sto = Some(tmp.path().join("forces.sto"));
        let v = run(&a).unwrap();
        assert_eq!(v["activity"], "sit-to-stand");
        assert!(v["posture_check"].is_null());
        let along = v["along"].as_array().unwrap();
        assert_eq!(along.len(), RISING_STEPS + 1);
        let peak = along.iter().filter(|s| s["balanced"] == true && s["held"] == true).map(|s| s["magnitude_percent_bw"].as_f64().unwrap()).fold(0.0, f64::max);
        // The reported force is the peak's (in the OrthoLoad frame its magnitude is the same).
        assert!((v["magnitude_percent_bw"].as_f64().unwrap() - peak).abs() < 1e-6, "{} vs {peak}", v["magnitude_percent_bw"]);
        assert!((150.0..400.0).contains(&peak), "{peak}");
        let mot = std::fs::read_to_string(tmp.path().join("sit_to_stand.mot")).unwrap();
        assert!(mot.contains(&format!("nRows={}", RISING_STEPS + 1)) && mot.contains("inDegrees=yes") && mot.contains("knee_angle_r"), "{}", &mot[..300]);
        let sto = std::fs::read_to_string(tmp.path().join("forces.sto")).unwrap();
        assert!(sto.contains(&format!("nRows={}", RISING_STEPS + 1)) && sto.contains("glut_max1_r"));
        // Never over an existing file.
        assert!(run(&a).is_err());
        // One-leg stance writes its one posture.
        let mut o = args("R", None);
        o.motion_mot = Some(tmp.path().join("ols.mot"));
        let _ = run(&o).unwrap();
        assert!(std::fs::read_to_string(tmp.path().join("ols.mot")).unwrap().contains("nRows=1"));
    }

    #[test]
    fn bad_arguments_are_named() {
        let e = run(&args("X", None)).unwrap_err().to_string();
        assert!(e.contains("--side X"), "{e}");
        let mut a = args("R", Some(PathBuf::from("/nonexistent/model.osim")));
        a.body_weight_n = f64::NAN;
        assert!(run(&a).unwrap_err().to_string().contains("--body-weight-n"));
        let e = format!("{:#}", run(&args("R", Some(PathBuf::from("/nonexistent/model.osim")))).unwrap_err());
        assert!(e.contains("/nonexistent/model.osim"), "{e}");
    }

    #[test]
    fn one_leg_stance_json_has_the_issue_fields() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if !model.exists() {
            eprintln!("note: skipping, {} is not here", model.display());
            return;
        }
        let v = run(&args("R", Some(model))).unwrap();
        let f: Vec<f64> = v["hcf_percent_bw"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let m = v["magnitude_percent_bw"].as_f64().unwrap();
        assert_eq!(f.len(), 3);
        assert!((f.iter().map(|x| x * x).sum::<f64>().sqrt() - m).abs() < 1e-9);
        // Down the femur, lateral, in the physiological range.
        assert!(f[2] < 0.0 && f[0] > 0.0 && (150.0..450.0).contains(&m), "{v}");
        // A right femur given as left is mirrored: a different answer, still valid.
        let l = run(&args("L", v["model"].as_str().map(PathBuf::from)));
        assert!(l.is_err(), "H2R's landmarks are labelled _R: asking for the left femur must fail");
    }
}

//! OpenSim 4.6 set-up files that re-run coxa's hip contact force of a static posture (issue 44,
//! item 4): written beside an exported model so that a researcher runs OpenSim's
//! StaticOptimization and JointReaction on the patient's model without edits.
//!
//! For a model exported as `DIR/STEM.osim` and an activity `A` (one-leg stance), in `DIR`:
//! - `STEM_A.mot`: coxa's posture held for 0.1 s (11 identical rows, every coordinate of the
//!   model, degrees, `inDegrees=yes`): OpenSim's splines then give zero velocities and
//!   accelerations, as coxa's quasi-static problem has.
//! - `STEM_A_grf.mot` and `STEM_A_loads.xml`: the ground reaction coxa applies (the body weight,
//!   upward, at coxa's centre of pressure below the whole body's centre of mass; N, m, in
//!   ground) as one `ExternalForce` on the stance calcaneus (OpenSim's usual
//!   `ground_force_v*`, `ground_force_p*`, `ground_torque_*` columns).
//! - `STEM_A_actuators.xml`: what makes OpenSim balance the same equations as coxa with the
//!   same muscles (as `benches/compare_opensim.py` measured it): reserves of 1 N m per unit on
//!   the stance hip's three coordinates, its knee and ankle (coxa's reserves), coxa's passive
//!   knee lock when the stance knee is straight (1000 N m per unit, resisting hyperextension
//!   only), and an ideal actuator of 1e5 N (m) per unit on every other independent coordinate
//!   (it costs about 1e-10 per N m, so it takes that coordinate's equation out of the problem).
//! - `STEM_A_so.xml`: AnalyzeTool with StaticOptimization (the model's muscles, their
//!   force-length-velocity physiology, activation exponent 2); results in `STEM_A_results/`.
//! - `STEM_A_jr.xml`: AnalyzeTool with JointReaction at the stance hip with the
//!   StaticOptimization's forces: the force on the femur, in the femur's frame
//!   (`hip_r_on_femur_r_in_femur_r_f*`), the quantity coxa reports.
//! - `STEM_A_coxa_hcf.sto`: coxa's own hip force under JointReaction's column names (N, one row
//!   per row of the motion), to set beside OpenSim's.
//!
//! Every path inside is relative: run from `DIR`, e.g. `opensim-cmd run-tool STEM_A_so.xml`
//! then `STEM_A_jr.xml`, or in Python `opensim.AnalyzeTool("STEM_A_so.xml").run()`.
//!
//! Only static postures whose ground reaction holds the whole body still (one-leg stance) are
//! written: OpenSim derives the hip moment bottom-up (the ground reaction and the leg's weight),
//! coxa top-down (the upper body's load); they are the same quantity only when the body is in
//! equilibrium. Quasi-static walking applies the first peak's ground reaction (1.15 body
//! weights, braking) to a still posture, which is not in equilibrium, and sit-to-stand is
//! two-legged: their set-ups would compute another force than coxa's.
//! The XML is written by hand (a few fixed elements): OpenSim's own writer is the Python
//! wheel, which coxa does not need to run.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use coxa_msk::hcf::HcfResult;
use coxa_msk::osim::{Model, Storage};

/// The stance leg's coordinates coxa balances (3 at the hip, knee, ankle): reserves of 1 N m.
const EQUATIONS: [&str; 5] = ["hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle"];
/// The strength of the actuators that take every other coordinate out of the problem, N (m).
const FREE_STRENGTH: f64 = 1e5;
/// coxa's passive knee lock, N m per unit (`coxa_msk::hcf`).
const KNEE_LOCK_N_M: f64 = 1000.0;
/// Rows and spacing of the held posture.
const ROWS: usize = 11;
const DT_S: f64 = 0.01;

/// What the set-ups are made of.
pub struct SetupInput<'a> {
    /// The model coxa solved (the stance leg on its right side): its coordinate order.
    pub model: &'a Model,
    /// coxa's solution of the activity.
    pub result: &'a HcfResult,
    /// The activity's name (`one-leg-stance`).
    pub activity: &'a str,
    /// The patient's operated side is the left (the exported model's left leg stands).
    pub left: bool,
}

/// The files [`write`] makes for `stem` and `activity`, in `dir`.
pub fn file_names(stem: &str, activity: &str) -> [String; 7] {
    let p = format!("{stem}_{}", activity.replace('-', "_"));
    [format!("{p}.mot"), format!("{p}_grf.mot"), format!("{p}_loads.xml"), format!("{p}_actuators.xml"), format!("{p}_so.xml"), format!("{p}_jr.xml"), format!("{p}_coxa_hcf.sto")]
}

/// Whether coxa writes set-ups for this activity (a still posture in equilibrium).
pub fn supported(activity: &str) -> bool {
    activity == "one-leg-stance"
}

/// The model's folder and file stem.
fn place(model_path: &Path) -> Result<(&Path, &str, &str)> {
    let dir = model_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let stem = model_path.file_stem().and_then(|s| s.to_str()).context("the exported model's file name is not UTF-8")?;
    let file = model_path.file_name().and_then(|s| s.to_str()).context("the exported model's file name is not UTF-8")?;
    Ok((dir, stem, file))
}

/// Fails when a file [`write`] would make exists already (checked before any work is written).
///
/// # Errors
/// The first such file.
pub fn check_new(model_path: &Path, activity: &str) -> Result<()> {
    if !supported(activity) {
        return Ok(());
    }
    let (dir, stem, _) = place(model_path)?;
    let mut names = file_names(stem, activity).to_vec();
    names.push(format!("{stem}_{}_results", activity.replace('-', "_")));
    if let Some(p) = names.iter().map(|n| dir.join(n)).find(|p| p.exists()) {
        bail!("{} already exists; coxa never overwrites a file: move it away or choose another name for --export-osim", p.display());
    }
    Ok(())
}

/// Writes the set-ups for the model exported as `model_path`; the file names written.
///
/// # Errors
/// An activity without set-ups, a file that exists (coxa never overwrites), I/O.
pub fn write(model_path: &Path, input: &SetupInput) -> Result<Vec<PathBuf>> {
    let SetupInput { model, result, activity, left } = *input;
    if !supported(activity) {
        bail!("OpenSim set-ups are written for one-leg stance only ({activity} is not a still posture in equilibrium, so OpenSim's inverse dynamics would balance another load than coxa's)");
    }
    check_new(model_path, activity)?;
    let (dir, stem, model_file) = place(model_path)?;
    let names = file_names(stem, activity);
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let [mot, grf, loads, actuators, so, jr, coxa_hcf] = &names;
    let s = if left { "l" } else { "r" };
    let (motion, ground) = tables(model, result, activity, left);
    motion.write(&dir.join(mot))?;
    ground.write(&dir.join(grf))?;
    let calcn = format!("calcn_{s}");
    crate::atomic::write_new(&dir.join(loads), external_loads(&calcn, grf).as_bytes())?;
    crate::atomic::write_new(&dir.join(actuators), actuator_set(model, result, left).as_bytes())?;
    let tag = format!("{stem}_{}", activity.replace('-', "_"));
    let results = format!("{tag}_results");
    let end = DT_S * (ROWS - 1) as f64;
    let so_name = format!("{tag}_so");
    let so_analysis = format!(
        "<StaticOptimization name=\"StaticOptimization\"><on>true</on><start_time>0</start_time><end_time>{end}</end_time><step_interval>1</step_interval>\
<in_degrees>true</in_degrees><use_model_force_set>true</use_model_force_set><activation_exponent>2</activation_exponent>\
<use_muscle_physiology>true</use_muscle_physiology><optimizer_convergence_criterion>0.0001</optimizer_convergence_criterion>\
<optimizer_max_iterations>100</optimizer_max_iterations></StaticOptimization>"
    );
    let tool = |name: &str, analysis: &str| analyze_tool(name, model_file, actuators, &results, loads, mot, end, analysis);
    crate::atomic::write_new(&dir.join(so), tool(&so_name, &so_analysis).as_bytes())?;
    let jr_analysis = format!(
        "<JointReaction name=\"JointReaction\"><on>true</on><start_time>0</start_time><end_time>{end}</end_time><step_interval>1</step_interval>\
<in_degrees>true</in_degrees><forces_file>{results}/{so_name}_StaticOptimization_force.sto</forces_file><joint_names>hip_{s}</joint_names>\
<apply_on_bodies>child</apply_on_bodies><express_in_frame>child</express_in_frame></JointReaction>"
    );
    crate::atomic::write_new(&dir.join(jr), tool(&format!("{tag}_jr"), &jr_analysis).as_bytes())?;
    hip_force_table(result, left).write(&dir.join(coxa_hcf))?;
    Ok(paths)
}

/// The held posture and its ground reaction (mirrored onto the left leg when `left`).
fn tables(model: &Model, result: &HcfResult, activity: &str, left: bool) -> (Storage, Storage) {
    let mut motion = coxa_msk::rising::coordinates_motion(model, activity, (0..ROWS).map(|k| (DT_S * k as f64, result.coordinates.as_slice())));
    motion.comments = vec![format!("coxa_activity={activity}"), "coxa_posture=held still for the length of the motion".into()];
    let columns = ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz", "ground_torque_x", "ground_torque_y", "ground_torque_z"];
    let mut ground = Storage::new(format!("{activity}_ground_reaction"), false, columns.iter().map(|c| (*c).to_string()).collect());
    let (f, p) = (result.ground_reaction_n, result.centre_of_pressure_m);
    for k in 0..ROWS {
        ground.rows.push((DT_S * k as f64, vec![f.x, f.y, f.z, p.x, p.y, p.z, 0.0, 0.0, 0.0]));
    }
    if left {
        let (m, g) = coxa_msk::motion::mirror_left_to_right(&motion, &ground);
        // The mirror swaps the sides' columns: back into the model's order.
        let order: Vec<usize> = motion.columns.iter().filter_map(|c| m.columns.iter().position(|x| x == c)).collect();
        motion.rows = m.rows.iter().map(|(t, r)| (*t, order.iter().map(|&k| r[k]).collect())).collect();
        ground = g;
    }
    (motion, ground)
}

/// The ExternalLoads file: one plate's ground reaction on `body`, force and point in ground.
fn external_loads(body: &str, grf: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OpenSimDocument Version=\"40000\">\n<ExternalLoads name=\"ground_reaction\">\n<objects>\n\
<ExternalForce name=\"ground_reaction_{body}\">\n<applied_to_body>{body}</applied_to_body>\n<force_expressed_in_body>ground</force_expressed_in_body>\n\
<point_expressed_in_body>ground</point_expressed_in_body>\n<force_identifier>ground_force_v</force_identifier>\n<point_identifier>ground_force_p</point_identifier>\n\
<torque_identifier>ground_torque_</torque_identifier>\n<data_source_name>{grf}</data_source_name>\n</ExternalForce>\n</objects>\n<groups/>\n\
<datafile>{grf}</datafile>\n</ExternalLoads>\n</OpenSimDocument>\n"
    )
}

/// One `CoordinateActuator`.
fn actuator(name: &str, coordinate: &str, strength: f64, range: (&str, &str)) -> String {
    format!(
        "<CoordinateActuator name=\"{name}\">\n<coordinate>{coordinate}</coordinate>\n<optimal_force>{strength}</optimal_force>\n<min_control>{}</min_control>\n<max_control>{}</max_control>\n</CoordinateActuator>\n",
        range.0, range.1
    )
}

/// The force set added to the model's muscles (module docs).
fn actuator_set(model: &Model, result: &HcfResult, left: bool) -> String {
    let s = if left { "l" } else { "r" };
    let stance: Vec<String> = EQUATIONS.iter().map(|c| format!("{c}_{s}")).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OpenSimDocument Version=\"40000\">\n<ForceSet name=\"coxa_actuators\">\n<objects>\n");
    for c in &stance {
        out.push_str(&actuator(&format!("reserve_{c}"), c, 1.0, ("-Inf", "Inf")));
    }
    // coxa's lock (`coxa_msk::hcf`): on when the knee flexes by less than 1 deg; the knee's
    // flexion sign is the model's (gait2392 flexes it with negative angles).
    let knee = model.coordinates.iter().position(|c| c.name == "knee_angle_r");
    let knee_sign = if knee.is_some_and(|k| model.coordinates[k].range[1] > 1.0) { 1.0 } else { -1.0 };
    if knee.is_some_and(|k| (result.coordinates[k] * knee_sign).to_degrees() < 1.0) {
        let range = if knee_sign > 0.0 { ("0", "1") } else { ("-1", "0") };
        out.push_str(&actuator(&format!("knee_lock_{s}"), &format!("knee_angle_{s}"), KNEE_LOCK_N_M, range));
    }
    for (k, c) in model.coordinates.iter().enumerate() {
        let dependent = model.couplers.iter().any(|cc| cc.dependent == k);
        if !stance.contains(&c.name) && !dependent {
            out.push_str(&actuator(&format!("free_{}", c.name), &c.name, FREE_STRENGTH, ("-Inf", "Inf")));
        }
    }
    out.push_str("</objects>\n<groups/>\n</ForceSet>\n</OpenSimDocument>\n");
    out
}

/// An AnalyzeTool set-up over the held posture with `analysis`.
#[allow(clippy::too_many_arguments, reason = "the set-up's file names, each its own element")]
fn analyze_tool(name: &str, model_file: &str, actuators: &str, results: &str, loads: &str, mot: &str, end: f64, analysis: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OpenSimDocument Version=\"40000\">\n<AnalyzeTool name=\"{name}\">\n<model_file>{model_file}</model_file>\n\
<replace_force_set>false</replace_force_set>\n<force_set_files>{actuators}</force_set_files>\n<results_directory>{results}</results_directory>\n\
<output_precision>12</output_precision>\n<initial_time>0</initial_time>\n<final_time>{end}</final_time>\n\
<solve_for_equilibrium_for_auxiliary_states>false</solve_for_equilibrium_for_auxiliary_states>\n\
<AnalysisSet name=\"Analyses\">\n<objects>\n{analysis}\n</objects>\n<groups/>\n</AnalysisSet>\n\
<ControllerSet name=\"Controllers\">\n<objects/>\n<groups/>\n</ControllerSet>\n<external_loads_file>{loads}</external_loads_file>\n\
<coordinates_file>{mot}</coordinates_file>\n<lowpass_cutoff_frequency_for_coordinates>-1</lowpass_cutoff_frequency_for_coordinates>\n\
</AnalyzeTool>\n</OpenSimDocument>\n"
    )
}

/// coxa's hip force (the acetabulum on the femoral head, the femur's frame, N) under
/// JointReaction's column names; a left femur's frame is the right one mirrored (z).
fn hip_force_table(result: &HcfResult, left: bool) -> Storage {
    let s = if left { "l" } else { "r" };
    let columns = ["fx", "fy", "fz"].map(|a| format!("hip_{s}_on_femur_{s}_in_femur_{s}_{a}")).to_vec();
    let mut t = Storage::new("coxa_hip_contact_force", false, columns);
    t.comments = vec!["coxa_units=N; force of the acetabulum on the femoral head in the femur's frame".into(), format!("coxa_magnitude_percent_bw={}", result.magnitude_percent_bw)];
    let f = result.force_femur_n;
    let z = if left { -f.z } else { f.z };
    for k in 0..ROWS {
        t.rows.push((DT_S * k as f64, vec![f.x, f.y, z]));
    }
    t
}

/// The bodies whose display geometry becomes the patient's own bone surface (with `--bones`).
pub const PATIENT_BODIES: [&str; 3] = ["pelvis", "femur_r", "femur_l"];

/// The mesh file of `body`'s patient surface for a model exported as `STEM.osim`.
pub fn patient_mesh_file(stem: &str, body: &str) -> String {
    format!("{stem}_{body}_patient.stl")
}

/// Fails when a patient mesh file [`write_patient_meshes`] would make exists already.
///
/// # Errors
/// The first such file.
pub fn check_new_meshes(model_path: &Path) -> Result<()> {
    let (dir, stem, _) = place(model_path)?;
    if let Some(p) = PATIENT_BODIES.iter().map(|b| dir.join(patient_mesh_file(stem, b))).find(|p| p.exists()) {
        bail!("{} already exists; coxa never overwrites a file: move it away or choose another name for --export-osim", p.display());
    }
    Ok(())
}

/// Writes each body's patient surface (`surfaces`: body name and the surface in the patient's
/// frame, mm) in that body's personalised frame (`frames`, from the registration; m) as a
/// binary STL beside the model; the meshes to attach to the bodies ([`coxa_msk::osim::set_body_meshes`]).
/// A body without a frame (not registered) keeps its generic geometry.
///
/// # Errors
/// A file that exists, I/O, a mesh that cannot be made.
pub fn write_patient_meshes(model_path: &Path, frames: &[coxa_msk::bone_geometry::BodyFrame], surfaces: &[(&str, &coxa_core::Mesh)]) -> Result<Vec<(String, Vec<coxa_msk::osim::MeshGeometry>)>> {
    let (dir, stem, _) = place(model_path)?;
    let mut out = Vec::new();
    for (body, mesh) in surfaces {
        let Some(frame) = frames.iter().find(|f| f.body == *body) else { continue };
        let vertices = mesh.vertices().iter().map(|p| frame.to_body_m(p)).collect();
        let in_body = coxa_core::Mesh::new(vertices, mesh.triangles().to_vec()).with_context(|| format!("the patient's {body} surface"))?;
        let file = patient_mesh_file(stem, body);
        coxa_io::mesh::write_stl(&in_body, &dir.join(&file))?;
        let geometry = coxa_msk::osim::MeshGeometry { name: format!("{body}_patient"), mesh_file: file, colour: [0.89, 0.85, 0.79] };
        out.push(((*body).to_string(), vec![geometry]));
    }
    Ok(out)
}

//! OpenSim that runs (issue 44, item 4): `coxa hcf --export-osim` writes, beside the patient's
//! model, the posture as a `.mot`, the ground reaction as ExternalLoads and AnalyzeTool set-ups
//! for StaticOptimization and JointReaction; OpenSim 4.6's Python wheel runs them exactly as
//! written (`scenarios/tests/peer/opensim_run_setups.py`), and its hip force is set beside
//! coxa's.

use std::path::Path;

use serde_json::Value;

use crate::cases::{coxa, ok};
use crate::common::shared_data;

/// The Python with OpenSim 4.6 (the venv of scripts/setup); `None` outside CI when missing.
fn opensim_python() -> Option<std::path::PathBuf> {
    let py = crate::common::peer_python()?;
    let ok = std::process::Command::new(&py).args(["-c", "import opensim"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(!crate::common::in_ci(), "opensim is missing from {}; run scripts/setup", py.display());
    eprintln!("note: skipping, opensim is not importable from {}", py.display());
    None
}

/// A table as the peer prints it: its labels and rows.
fn table(v: &Value) -> (Vec<String>, Vec<Vec<f64>>) {
    let labels = v["labels"].as_array().map(|a| a.iter().map(|l| l.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default();
    let rows = v["rows"].as_array().map(|a| a.iter().map(|r| r.as_array().map(|r| r.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()).unwrap_or_default()).collect()).unwrap_or_default();
    (labels, rows)
}

/// The hip force (x, y, z, N) of a JointReaction-named table's row, side `s` (`r` or `l`).
fn hip_force(labels: &[String], row: &[f64], s: &str) -> nalgebra::Vector3<f64> {
    let col = |a: &str| labels.iter().position(|l| l == &format!("hip_{s}_on_femur_{s}_in_femur_{s}_f{a}")).unwrap_or_else(|| panic!("no hip_{s} f{a} in {labels:?}"));
    nalgebra::Vector3::new(row[col("x")], row[col("y")], row[col("z")])
}

/// What OpenSim gave for the set-ups of `model_file` (STEM.osim) in `dir`: the peer's JSON.
fn run_in_opensim(python: &Path, dir: &Path, stem: &str) -> Value {
    let files = files(stem);
    for f in &files {
        assert!(dir.join(f).exists(), "{f} not written");
        // Relative paths only: the folder runs wherever it is moved.
        let text = String::from_utf8_lossy(&std::fs::read(dir.join(f)).unwrap()).into_owned();
        assert!(!text.contains(dir.to_str().unwrap()), "{f} holds an absolute path");
    }
    let peer = std::process::Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/opensim_run_setups.py"))
        .args([dir, Path::new(&files[4]), Path::new(&files[5]), Path::new(&format!("{stem}.osim"))])
        .output()
        .unwrap();
    assert!(peer.status.success(), "OpenSim: {}", String::from_utf8_lossy(&peer.stderr));
    let text = String::from_utf8_lossy(&peer.stdout);
    let v: Value = serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!((v["so_ok"].as_bool(), v["jr_ok"].as_bool()), (Some(true), Some(true)), "{v}");
    v
}

/// The set-up files of a model exported as `STEM.osim` (one-leg stance).
fn files(stem: &str) -> Vec<String> {
    ["", "_grf", "_loads", "_actuators", "_so", "_jr", "_coxa_hcf"].iter().zip([".mot", ".mot", ".xml", ".xml", ".xml", ".xml", ".sto"]).map(|(a, b)| format!("{stem}_one_leg_stance{a}{b}")).collect()
}

/// coxa's and OpenSim's hip force of the set-ups (peer JSON `v`), side `s`, body weight `bw`:
/// magnitudes (%BW) and the angle between them (deg), after checking OpenSim's rows agree.
fn compare(dir: &Path, stem: &str, v: &Value, s: &str, bw: f64, what: &str) -> (f64, f64, f64) {
    let (labels, rows) = table(&v["jr"]);
    assert_eq!(rows.len(), 11, "OpenSim's joint reaction has {} rows", rows.len());
    let t = coxa_msk::osim::Storage::read(&dir.join(&files(stem)[6])).unwrap();
    let ours = hip_force(&t.columns.iter().map(|c| c[..].to_string()).collect::<Vec<_>>(), &t.rows[5].1, s);
    // Every row is the same still posture: OpenSim's rows agree with each other.
    let theirs: Vec<nalgebra::Vector3<f64>> = rows.iter().map(|r| hip_force(&labels, r, s)).collect();
    let spread = theirs.iter().map(|f| (f - theirs[5]).norm()).fold(0.0, f64::max) / bw * 100.0;
    assert!(spread < 1.0, "OpenSim's rows of the still posture differ by {spread} %BW");
    let theirs = theirs[5];
    let (m_coxa, m_osim, angle) = (ours.norm() / bw * 100.0, theirs.norm() / bw * 100.0, ours.angle(&theirs).to_degrees());
    let d = (ours - theirs) / bw * 100.0;
    eprintln!(
        "{what}, hip force on femur_{s} (femur_{s} frame): coxa {m_coxa:.1} %BW, OpenSim {m_osim:.1} %BW (coxa - OpenSim {:+.1}); x/y/z {:+.1}/{:+.1}/{:+.1} %BW; direction {angle:.2} deg",
        m_coxa - m_osim,
        d.x,
        d.y,
        d.z
    );
    (m_coxa, m_osim, angle)
}

/// The bound is the issue-20 work's for the same model and method: coxa's and OpenSim's hip
/// force (StaticOptimization + JointReaction on the femur, the femur's frame) within 30 %BW in
/// magnitude (the worst frame of tests/tests/msk_motion.rs; benches/compare_opensim.py's
/// one-leg stance measured 325 against 342 %BW), OpenSim's the larger (its 0.01 activation
/// floor makes every antagonist pull, and it leaves passive fibre force out), and the
/// directions within 3 deg (that test's RMS bound).
fn assert_agree((m_coxa, m_osim, angle): (f64, f64, f64)) {
    assert!((m_coxa - m_osim).abs() < 30.0, "coxa {m_coxa:.1} %BW, OpenSim {m_osim:.1} %BW");
    assert!(m_osim > m_coxa, "OpenSim's force {m_osim:.1} %BW is below coxa's {m_coxa:.1}: its activation floor should make it the larger");
    assert!(angle < 3.0, "the directions differ by {angle:.2} deg");
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_string()).collect()
}

/// H2R's one-leg stance (OrthoLoad landmarks, gait2392 scaled to them, 767 N) exported with its
/// set-ups; OpenSim runs them unedited from the folder and agrees with coxa ([`assert_agree`]).
#[test]
fn exported_setups_run_in_opensim_and_give_coxa_hip_force() {
    let (Some(model), Some(landmarks)) = (shared_data("opensim/gait2392_thelen2003muscle.osim"), shared_data("orthoload/Landmarks")) else { return };
    let Some(python) = opensim_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("planned.osim");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut args = strings(&["hcf", "--side", "R", "--body-weight-n", "767", "--activity", "one-leg-stance", "--json"]);
    for (flag, p) in [("--pelvis-landmarks", landmarks.join("H2R_PelvisLandmarks.fcsv")), ("--femur-landmarks", landmarks.join("H2R_FemurLandmarks.fcsv")), ("--model", model), ("--export-osim", out)]
    {
        args.extend([flag.to_string(), s(&p)]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = coxa(&argv);
    ok(&run);
    let record: Value = serde_json::from_slice(&run.stdout).unwrap();
    let bw = 767.0;
    let v = run_in_opensim(&python, tmp.path(), "planned");
    // The exported model weighs the patient (the ground reaction is the body weight).
    let mass = v["mass_kg"].as_f64().unwrap();
    assert!((mass * 9.80665 - bw).abs() < 0.01, "the exported model weighs {mass} kg");
    let found = compare(tmp.path(), "planned", &v, "r", bw, "one-leg stance of H2R");
    let magnitude = record["magnitude_percent_bw"].as_f64().unwrap();
    assert!((found.0 - magnitude).abs() < 1e-6, "the table's force {} %BW against the record's {magnitude} %BW", found.0);
    assert_agree(found);
    // coxa never overwrites: a second export into the same folder is refused before any work.
    let again = coxa(&argv);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already exists") && err.trim().lines().count() == 1, "{err}");
}

/// The nearest vertex of a mesh file (m) to `p` (m), mm.
fn nearest_mm(mesh: &Path, p: &nalgebra::Vector3<f64>) -> f64 {
    let m = coxa_io::mesh::read_stl(mesh).unwrap();
    1000.0 * m.vertices().iter().map(|v| (v.coords - p).norm()).fold(f64::INFINITY, f64::min)
}

/// The vsd subject's own bones (z013 through `coxa anatomy --mesh`) as the exported model's
/// pelvis and femurs, for a left hip (registered unmirrored, set-ups on the left leg): OpenSim
/// loads the model with the patient's meshes (files beside it, the bodies' mesh_file naming
/// them), each in its body's frame (the femoral head's surface about a head radius from the
/// hip joint's centre in the femur, the acetabulum's about as far from it in the pelvis: a
/// wrong frame, unit or axis would put them tens to hundreds of mm away), and the set-ups run
/// and agree with coxa as above. Bad input: a femur landmark file without its knee is one line,
/// exit 2.
#[test]
fn exported_model_carries_the_patients_bones() {
    let (Some(model), Some(bones)) = (shared_data("opensim/gait2392_thelen2003muscle.osim"), shared_data("vsd_bones")) else { return };
    let Some(python) = opensim_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let anatomy = tmp.path().join("anatomy");
    let mut args = strings(&["anatomy", "--out", anatomy.to_str().unwrap()]);
    for (name, file) in [("femur_left", "Femur_L"), ("femur_right", "Femur_R"), ("hip_left", "Hip_L"), ("hip_right", "Hip_R"), ("sacrum", "Sacrum")] {
        args.extend(["--mesh".to_string(), format!("{name}={}", bones.join(format!("z013_{file}.stl")).display())]);
    }
    ok(&coxa(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    let dir = tmp.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    let out = dir.join("registered.osim");
    let mut args = strings(&["hcf", "--side", "L", "--body-weight-n", "700", "--activity", "one-leg-stance", "--json"]);
    for (flag, p) in [
        ("--pelvis-landmarks", anatomy.join("landmarks/pelvis.fcsv")),
        ("--femur-landmarks", anatomy.join("landmarks/femur_left.fcsv")),
        ("--model", model),
        ("--bones", anatomy.join("meshes")),
        ("--export-osim", out.clone()),
    ] {
        args.extend([flag.to_string(), p.to_str().unwrap().to_string()]);
    }
    ok(&coxa(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    let v = run_in_opensim(&python, &dir, "registered");
    let geometry: Vec<(String, String)> = v["geometry"].as_array().unwrap().iter().map(|g| (g[0].as_str().unwrap().to_string(), g[1].as_str().unwrap().to_string())).collect();
    let exported = coxa_msk::osim::read_osim(&out).unwrap();
    for body in ["pelvis", "femur_r", "femur_l"] {
        let file = format!("registered_{body}_patient.stl");
        let attached: Vec<&String> = geometry.iter().filter(|(b, _)| b == body).map(|(_, f)| f).collect();
        assert_eq!(attached, [&file], "{body}'s meshes as OpenSim loaded them");
        assert!(dir.join(&file).exists(), "{file} is not beside the model");
    }
    for s in ["r", "l"] {
        let hip = exported.joints.iter().find(|j| j.name == format!("hip_{s}")).unwrap();
        let head = nearest_mm(&dir.join(format!("registered_femur_{s}_patient.stl")), &hip.child.translation_m);
        let cup = nearest_mm(&dir.join("registered_pelvis_patient.stl"), &hip.parent.translation_m);
        eprintln!("hip_{s}: femoral head surface {head:.1} mm from the joint centre in femur_{s}, acetabulum {cup:.1} mm in the pelvis");
        assert!((12.0..30.0).contains(&head) && (12.0..30.0).contains(&cup), "hip_{s}: head {head:.1} mm, acetabulum {cup:.1} mm from the centre");
    }
    assert_agree(compare(&dir, "registered", &v, "l", 700.0, "one-leg stance of z013's left hip, its own bones"));
    // Bad input: the knee-less femur landmarks are refused in one line, exit 2, nothing written.
    let knee_less = tmp.path().join("femur_head_only.fcsv");
    std::fs::write(&knee_less, "# Markups fiducial file version = 4.11\n# CoordinateSystem = LPS\n# columns = id,x,y,z,ow,ox,oy,oz,vis,sel,lock,label,desc,associatedNodeID\nvtkMRMLMarkupsFiducialNode_0,10,20,30,0,0,0,1,1,1,0,HJC_L,,\n").unwrap();
    let k = args.iter().position(|a| a == "--femur-landmarks").unwrap();
    args[k + 1] = knee_less.to_str().unwrap().to_string();
    let k = args.iter().position(|a| a == "--export-osim").unwrap();
    args[k + 1] = dir.join("second.osim").to_str().unwrap().to_string();
    let bad = coxa(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!dir.join("second.osim").exists() && !dir.join("second_pelvis_patient.stl").exists());
}

//! OpenSim that runs (issue 44, item 4): `coxa hcf --export-osim` writes, beside the patient's
//! model, the posture as a `.mot`, the ground reaction as ExternalLoads and AnalyzeTool set-ups
//! for StaticOptimization and JointReaction; OpenSim 4.6's Python wheel runs them exactly as
//! written (`scenarios/tests/peer/opensim_run_setups.py`), and its hip force is set beside
//! coxa's.

use std::path::Path;

use serde_json::Value;

use crate::cases::{coxa, ok};
use crate::common::shared_data;

use crate::exchange::opensim_python;

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

/// The centre of the outermost sphere of a mesh file's vertices (m): a sphere fitted to every
/// vertex, then again to those beyond the fitted radius (a shell's outer surface, not its
/// bearing), twice; a closed sphere (a head) stays as first fitted.
fn outer_sphere_centre(mesh: &Path) -> (nalgebra::Point3<f64>, f64) {
    let m = coxa_io::mesh::read_stl(mesh).unwrap();
    let mut points: Vec<nalgebra::Point3<f64>> = m.vertices().to_vec();
    let mut s = coxa_anatomy::landmarks::fit::fit_sphere(&points).unwrap();
    for _ in 0..2 {
        let outer: Vec<nalgebra::Point3<f64>> = points.iter().filter(|p| (*p - s.centre).norm() >= s.radius_mm).copied().collect();
        if outer.len() < points.len() / 4 {
            break;
        }
        points = outer;
        s = coxa_anatomy::landmarks::fit::fit_sphere(&points).unwrap();
    }
    (s.centre, s.radius_mm)
}

/// A planned case with `[msk] geometry = "bones"` (the phantom's left hip, [`crate::msk::phantom_msk_runs`])
/// writes its OpenSim model into `opensim/`: `model.osim` with the patient's pelvis and femurs
/// and the placed implants as display geometry, and the one-leg stance's set-ups. OpenSim 4.6
/// runs them unedited from the case folder and its hip force agrees with the case's own record
/// ([`assert_agree`]); the loaded model attaches the bones and implants to the right bodies;
/// the head mesh's centre lies on the hip joint's centre in the operated femur as OpenSim
/// places it, and the cup's in the pelvis (within 2 mm: a wrong frame, a missed shift of the
/// femoral parts, a unit or a mirror would put them tens of mm away). With landmark scaling the
/// model and its set-ups are written too, and the case's warnings say why no implant is attached.
#[test]
fn case_opensim_folder_runs_in_opensim_with_the_implants() {
    let Some((_, case, scaled)) = crate::msk::phantom_msk_runs() else { return };
    let Some(python) = opensim_python() else { return };
    let dir = case.join("opensim");
    let report: Value = crate::cases::read_json(&case.join("report.json"));
    let manifest = std::fs::read_to_string(case.join("manifest.json")).unwrap();
    for f in ["opensim/model.osim", "opensim/model_pelvis_patient.stl", "opensim/model_head_implant.stl", "opensim/model_one_leg_stance_so.xml"] {
        assert!(manifest.contains(&format!("\"{f}\"")), "{f} is not in the case's manifest");
    }
    let v = run_in_opensim(&python, &dir, "model");
    let mass = v["mass_kg"].as_f64().unwrap();
    assert!((mass * 9.80665 - 700.0).abs() < 0.01, "the exported model weighs {mass} kg");
    let found = compare(&dir, "model", &v, "l", 700.0, "the phantom case's one-leg stance (left hip, its own bones)");
    let stance = &report["msk"]["activities"].as_array().unwrap().iter().find(|a| a["activity"] == "one-leg-stance").unwrap()["planned"];
    let recorded = stance["magnitude_percent_bw"].as_f64().unwrap();
    assert!((found.0 - recorded).abs() <= 0.05 + 1e-9, "the set-ups' coxa force {} %BW against the case record's {recorded} %BW", found.0);
    assert_agree(found);
    // Bones and implants on their bodies, as OpenSim loaded them.
    let geometry: Vec<(String, String)> = v["geometry"].as_array().unwrap().iter().map(|g| (g[0].as_str().unwrap().to_string(), g[1].as_str().unwrap().to_string())).collect();
    let on = |body: &str| -> Vec<&str> { geometry.iter().filter(|(b, _)| b == body).map(|(_, f)| f.as_str()).collect() };
    eprintln!("pelvis: {:?}; femur_l: {:?}; femur_r: {:?}", on("pelvis"), on("femur_l"), on("femur_r"));
    for (body, files) in [
        ("pelvis", &["model_pelvis_patient.stl", "model_shell_implant.stl", "model_liner_implant.stl"][..]),
        ("femur_l", &["model_femur_l_patient.stl", "model_head_implant.stl", "model_stem_implant.stl"][..]),
        ("femur_r", &["model_femur_r_patient.stl"][..]),
    ] {
        for f in files {
            assert!(on(body).contains(f), "{body} lacks {f}: {:?}", on(body));
            assert!(dir.join(f).exists(), "{f} is not beside the model");
        }
    }
    assert!(on("femur_r").iter().all(|f| !f.contains("implant")), "the implants are on the unoperated femur: {:?}", on("femur_r"));
    let hip = &v["joints"]["hip_l"];
    let at = |k: usize| -> nalgebra::Point3<f64> {
        let p = &hip[k][1];
        nalgebra::Point3::new(p[0].as_f64().unwrap(), p[1].as_f64().unwrap(), p[2].as_f64().unwrap())
    };
    assert_eq!((hip[0][0].as_str(), hip[1][0].as_str()), (Some("pelvis"), Some("femur_l")));
    let (head, head_r) = outer_sphere_centre(&dir.join("model_head_implant.stl"));
    let (cup, cup_r) = outer_sphere_centre(&dir.join("model_shell_implant.stl"));
    let (d_head, d_cup) = (1000.0 * (head - at(1)).norm(), 1000.0 * (cup - at(0)).norm());
    eprintln!(
        "head mesh (radius {:.1} mm) centre {d_head:.2} mm from hip_l's centre in femur_l; shell (outer radius {:.1} mm) centre {d_cup:.2} mm from it in the pelvis",
        head_r * 1000.0,
        cup_r * 1000.0
    );
    assert!((10.0..20.0).contains(&(head_r * 1000.0)) && (20.0..40.0).contains(&(cup_r * 1000.0)), "the meshes are in metres: head {head_r} m, shell {cup_r} m");
    assert!(d_head < 2.0 && d_cup < 2.0, "head {d_head:.2} mm, cup {d_cup:.2} mm from the joint centre");
    // At a fixed placement (no change of the hip) the joint's centre in the femur is the imaged
    // head centre, where the shifted head lands exactly; without the shift the head would sit at
    // the cup centre instead, the shell's distance (0.77 mm on this phantom) away.
    assert!(d_head < 0.25, "the head mesh is {d_head:.2} mm from the femur's hip centre: the femoral parts are not back on the femur as imaged");
    // Landmark scaling: the model and its set-ups, no implants, and the warning says why.
    let scaled_report: Value = crate::cases::read_json(&scaled.join("report.json"));
    let warnings = scaled_report["warnings"].to_string();
    assert!(warnings.contains("implants are not attached") && warnings.contains("geometry = \\\"bones\\\""), "{warnings}");
    for f in files("model") {
        assert!(scaled.join("opensim").join(&f).exists(), "{f} missing with landmark scaling");
    }
    assert!(!scaled.join("opensim/model_head_implant.stl").exists());
}

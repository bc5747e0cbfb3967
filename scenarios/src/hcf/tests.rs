//! `coxa hcf` on the OrthoLoad landmark files, the shared models and the vsd bones.

use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use coxa_msk::osim;
use serde_json::{Value, json};

use super::{ActivityArg, HcfArgs, SideArg};
use coxa_case::msk_stage::RISING_STEPS;
mod activities;

/// `coxa hcf` as JSON, as `--json` prints it.
fn run(args: &HcfArgs) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(super::run(args)?)?)
}

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
    let ab = &v["abductors"];
    // -6 mm offset, +3 mm from the medialised centre: about 2.5 mm shorter.
    assert!(ab["planned"]["mean_moment_arm_mm"].as_f64().unwrap() < ab["native"]["mean_moment_arm_mm"].as_f64().unwrap() - 2.0, "{v}");
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
    coxa_case::anatomy::run(&coxa_case::anatomy::AnatomySource::Meshes(list, None), &anatomy).unwrap();
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
    let mut grf =
        osim::Storage::new("grf", false, ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz"].iter().map(|c| c.to_string()).collect());
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
        side: Some(SideArg::from_str(side, true).expect("L or R")),
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

//! Strength from the CT and the activities beyond one-leg stance (sit to stand), and bad arguments.

use super::*;

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
    let effect = &st["effect"][0];
    let g = effect["hcf_percent_bw"][0].as_f64().unwrap();
    assert!((g - generic["magnitude_percent_bw"].as_f64().unwrap()).abs() < 1e-9, "the generic comparison is the run without --muscles");
    assert!((effect["hcf_percent_bw"][1].as_f64().unwrap() - full["magnitude_percent_bw"].as_f64().unwrap()).abs() < 1e-9);
    let lines = st["lines"].as_array().unwrap();
    let line = |muscle: &str| lines.iter().find(|l| l["muscle"] == muscle).unwrap_or_else(|| panic!("{muscle} in {st}"));
    for m in ["glut_med1_r", "glut_max1_r", "iliacus_r", "psoas_r", "glut_min1_l"] {
        let l = line(m);
        assert!(l["personalised_n"].as_f64().unwrap() > 0.0 && l["personalised_n"] != l["generic_n"], "{l}");
    }
    assert_eq!(line("glut_med1_r")["ct_class"], "gluteus_medius_right");
    eprintln!(
        "H2R one-leg stance, real CT strengths: generic {g:.1} -> personalised {:.1} %BW; abductor demand {:.1} -> {:.1} %",
        full["magnitude_percent_bw"], effect["abductor_demand_percent"][0], effect["abductor_demand_percent"][1]
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
        half["strength"]["effect"][0]["abductor_demand_percent"][1].as_f64().unwrap(),
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

/// `coxa hcf`'s arguments alone, as clap parses them.
#[derive(Debug, Parser)]
pub(super) struct Cli {
    #[command(flatten)]
    hcf: HcfArgs,
}

#[test]
fn bad_arguments_are_named() {
    let parse = |side: &str| Cli::try_parse_from(["hcf", "--pelvis-landmarks", "p.fcsv", "--femur-landmarks", "f.fcsv", "--body-weight-n", "700", "--activity", "walking", "--side", side]);
    let e = parse("X").unwrap_err().to_string();
    assert!(e.contains("--side") && e.contains("'X'"), "{e}");
    for (given, side) in [("L", SideArg::Left), ("r", SideArg::Right), ("left", SideArg::Left), ("RIGHT", SideArg::Right)] {
        assert_eq!(parse(given).unwrap().hcf.side, Some(side), "{given}");
    }
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

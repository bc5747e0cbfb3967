//! The scenario reader's unit tests.

use super::*;

fn load(text: &str) -> Result<Scenario, ScenarioError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hip.stl"), b"solid x\nendsolid x\n").unwrap();
    let p = dir.path().join("s.toml");
    std::fs::write(&p, text).unwrap();
    let r = Scenario::load(&p);
    drop(dir);
    r
}

const OK: &str = "schema_version = 1\n[[cases]]\nname = \"demo\"\nphantom = true\n";

#[test]
fn minimal_scenario_and_sweeps() {
    let s = load(OK).unwrap();
    assert_eq!(s.cases.len(), 1);
    assert_eq!(s.cases[0].input, CaseInput::Phantom);
    assert_eq!(s.sweep.len(), 1);
    assert!(s.output_dir.ends_with("s-results"));
    let s = load(&format!("{OK}[implants]\nhead_diameter_mm = [28, 32, 36]\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = [10, 20]\n[rom]\nstanding_tilt_deg = [0, 10]\n")).unwrap();
    assert_eq!(s.sweep.len(), 3 * 2 * 2);
    assert_eq!(s.sweep[0].head_diameter_mm, Some(28.0));
    assert_eq!(s.sweep[0].placement.unwrap().stem_anteversion_deg, 15.0);
    assert_eq!(s.sweep.iter().map(SweepPoint::label).collect::<std::collections::BTreeSet<_>>().len(), 12, "labels are unique");
    // The angles as given, without the radians' round trip (15 deg, not 14.999999999999998).
    let s = load(&format!("{OK}[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\nstem_anteversion_deg = 12.5\n")).unwrap();
    assert_eq!(s.sweep[0].label(), "inc40_av15_sv12.5_tilt0");
    // `[msk]` without a model: the built-in gait2392.
    let s = load(&format!("{OK}[msk]\nbody_weight_n = 700\n")).unwrap();
    assert_eq!(s.msk.as_ref().map(|m| m.model.clone()), Some(None));
    assert_eq!(s.msk.as_ref().map(|m| m.geometry.clone()), Some(crate::msk_stage::MskGeometry::Landmarks));
}

/// `[msk] geometry`: "bones" needs the model's bone surfaces (a bone_geometry folder, or a
/// model file with its Geometry folder beside it); the built-in model alone is refused.
#[test]
fn msk_geometry_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("Geometry")).unwrap();
    std::fs::write(dir.path().join("m.osim"), "").unwrap();
    let path = dir.path().join("s.toml");
    let load_in = |extra: &str| Scenario::from_text(format!("{OK}[msk]\nbody_weight_n = 700\n{extra}"), &path);
    let geometry = |extra: &str| load_in(extra).unwrap().msk.unwrap().geometry;
    let bones = crate::msk_stage::MskGeometry::Bones { bone_geometry: dir.path().join("Geometry") };
    assert_eq!(geometry("model = \"m.osim\"\ngeometry = \"bones\"\n"), bones);
    assert_eq!(geometry("geometry = \"bones\"\nbone_geometry = \"Geometry\"\n"), bones);
    assert_eq!(geometry("geometry = \"landmarks\"\n"), crate::msk_stage::MskGeometry::Landmarks);
    for (extra, line, says) in [
        ("geometry = \"bones\"\n", 7, "bone_geometry = \"DIR\""),
        ("geometry = \"surfaces\"\n", 7, "use \"landmarks\" or \"bones\""),
        ("bone_geometry = \"Geometry\"\n", 7, "only with geometry = \"bones\""),
        ("geometry = \"bones\"\nbone_geometry = \"nowhere\"\n", 8, "does not exist"),
        ("model = \"nowhere/m.osim\"\n", 7, "does not exist"),
    ] {
        let e = load_in(extra).unwrap_err();
        assert_eq!(e.line, Some(line), "{extra}: {e}");
        assert!(e.message.contains(says), "{extra}: {e}");
    }
    std::fs::remove_dir(dir.path().join("Geometry")).unwrap();
    let e = load_in("model = \"m.osim\"\ngeometry = \"bones\"\n").unwrap_err();
    assert!(e.message.contains("not a folder") && e.message.contains("bone_geometry"), "{e}");
}

/// `[msk] walking_hip_moment`: measured walking moments in N m/kg, only with walking.
#[test]
fn msk_walking_hip_moment_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let load_in = |extra: &str| Scenario::from_text(format!("{OK}[msk]\nbody_weight_n = 700\n{extra}"), &path);
    let m = load_in("walking_hip_moment = [0.6, 0.3]\n").unwrap().msk.unwrap().walking_hip_moment.unwrap();
    assert_eq!((m.abductor_n_m_per_kg, m.extensor_n_m_per_kg), (0.6, 0.3));
    assert_eq!(load_in("").unwrap().msk.unwrap().walking_hip_moment, None);
    for (extra, line, says) in [
        ("walking_hip_moment = [45, 20]\n", 7, "N m per kg"),
        ("activities = [\"one-leg-stance\"]\nwalking_hip_moment = [0.6, 0.3]\n", 8, "not among the activities"),
        ("walking_hip_moment = [0.6]\n", 7, "walking_hip_moment"),
        ("walking_hip_moment = [\"nan\", 0.3]\n", 7, "walking_hip_moment"),
    ] {
        let e = load_in(extra).unwrap_err();
        assert_eq!(e.line, Some(line), "{extra}: {e}");
        assert!(e.to_string().contains(says), "{extra}: {e}");
    }
}

#[test]
fn errors_name_file_line_and_field() {
    let e = load(&format!("{OK}bogus = 3\n")).unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (Some(5), Some("cases[0].bogus")), "{e}");
    assert!(e.to_string().contains("s.toml, line 5, field `cases[0].bogus`"), "{e}");
    let e = load(&format!("{OK}[placement]\ncup_inclination_rad = 0.7\ncup_anteversion_deg = 20\n")).unwrap_err();
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains("wrong unit") && e.message.contains("cup_inclination_deg") && e.message.contains("radians"), "{e}");
    assert_eq!(e.field.as_deref(), Some("placement.cup_inclination_rad"), "{e}");
    let e = load(&format!("{OK}[placement]\ncup_inclination_deg = nan\ncup_anteversion_deg = 20\n")).unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("placement.cup_inclination_deg")), "{e}");
    assert!(e.message.contains("finite"), "{e}");
    let e = load(&format!("{OK}[implants]\nhead_diameter_mm = [28, inf]\n")).unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("implants.head_diameter_mm")), "{e}");
    assert!(e.message.contains("finite"), "{e}");
    let e = load("schema_version = 1\n[[cases]]\nname = \"a\"\nct = \"missing.nii.gz\"\n").unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (Some(4), Some("cases[0].ct")), "{e}");
    assert!(e.message.contains("does not exist"), "{e}");
    let e = load("schema_version = 2\n[[cases]]\nname = \"a\"\nphantom = true\n").unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("schema_version")), "{e}");
    let e = load("schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\nside = \"up\"\n").unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (Some(5), Some("cases[0].side")), "{e}");
    let e = load(&format!("{OK}[rom]\nmotions = [\"flexion\", \"cartwheel\"]\n")).unwrap_err();
    assert!(e.message.contains("cartwheel") && e.line == Some(6), "{e}");
    let e = load(&format!("{OK}[placement]\ncup_inclination_deg = 120\ncup_anteversion_deg = 20\n")).unwrap_err();
    assert!(e.message.contains("out of range") && e.line == Some(6), "{e}");
    let e = load("schema_version = 1\n[[cases]]\nname = \"../x\"\nphantom = true\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("cases[0].name"), "{e}");
    let e = load("schema_version = 1\n").unwrap_err();
    assert!(e.message.contains("no cases"), "{e}");
    let e = load("schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\nmeshes = { hip_right = \"hip.stl\" }\n").unwrap_err();
    assert!(e.message.contains("exactly one input"), "{e}");
    let e = load("schema_version = 1\n[[cases]]\nname = \"a\"\nmeshes = { pelvis = \"hip.stl\" }\n").unwrap_err();
    assert!(e.message.contains("pelvis") && e.line == Some(4), "{e}");
    let e = load("schema_version = \"one\"\n").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
}

#[test]
fn a_case_model_is_checked() {
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/phantom/phantom_seg_test.toml");
    let card = card.display().to_string();
    let s = load(&format!("{OK}model = {card:?}\nmodel_use = \"muscles\"\n")).unwrap();
    assert_eq!(s.cases[0].model, Some(CaseSegmentModel { card: card.clone().into(), muscles_only: true }));
    assert_eq!(load(&format!("{OK}model = {card:?}\n")).unwrap().cases[0].model.as_ref().map(|m| m.muscles_only), Some(false));
    assert_eq!(load(OK).unwrap().cases[0].model, None);
    // (the extra fields, what the error names)
    for (extra, field, says) in [
        ("model_use = \"muscles\"\n".to_string(), "cases[0].model_use", "needs a model"),
        (format!("model = {card:?}\nmodel_use = \"bones\"\n"), "cases[0].model_use", "\"bones\""),
        ("model = \"missing.toml\"\n".to_string(), "cases[0].model", "does not exist"),
        ("model = \"hip.stl\"\n".to_string(), "cases[0].model", "is not valid"),
    ] {
        let e = load(&format!("{OK}{extra}")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.message.contains(says) && e.line.is_some(), "{e}");
    }
    let e = load(&format!("schema_version = 1\n[[cases]]\nname = \"a\"\nmeshes = {{ hip_right = \"hip.stl\" }}\nmodel = {card:?}\n")).unwrap_err();
    assert!(e.message.contains("segments a CT"), "{e}");
}

//! Fuzz targets of issue 61 for the text formats a user writes: scenario TOML files, PACS
//! addresses, desk scripts and STEP parts.

use std::path::Path;

use super::{err, go, root};
use crate::engine::Target;

/// Scenario files (`coxa run FILE.toml`): the TOML, every field's check, the cases and sweeps;
/// read as if from `scenarios/examples/` so that the examples' relative paths resolve. Seeds:
/// the examples and the corpus' broken scenarios.
#[test]
fn fuzz_scenario_toml() {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("scenarios/examples")).unwrap().flatten().map(|e| e.path()).collect();
    paths.extend(std::fs::read_dir(root().join("tests/corpus/files")).unwrap().flatten().map(|e| e.path()).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("scenario_"))));
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")).map(|p| std::fs::read(p).unwrap()).collect();
    assert!(seeds.len() >= 3, "the scenario examples are missing");
    let as_if = root().join("scenarios/examples/fuzz.toml");
    let run = move |p: &Path| -> Result<(), String> {
        let text = coxa_io::read_text_bounded(p, coxa_io::Bound::TEXT).map_err(err)?;
        coxa_case::scenario::Scenario::from_text(text, &as_if).map(|_| ()).map_err(err)
    };
    go(Target { name: "scenario_toml", ext: ".toml", text: true, seeds, run: &run }, 31);
}

/// PACS addresses (`--pacs dicom://AET@host:port`, `https://...`): coxa has no PACS node file;
/// the address is the one text of a PACS node a user writes.
#[test]
fn fuzz_pacs_address() {
    let seeds = vec![b"dicom://ORTHANC@127.0.0.1:4242".to_vec(), b"https://pacs.example.org:8443/dicom-web/".to_vec(), b"dicom://COXA:PACS@[::1]:104".to_vec()];
    let run = |p: &Path| -> Result<(), String> {
        let text = std::fs::read(p).map_err(err)?;
        coxa_pacs::Address::parse(&String::from_utf8_lossy(&text)).map(|a| drop(a.display())).map_err(err)
    };
    go(Target { name: "pacs_address", ext: ".txt", text: true, seeds, run: &run }, 32);
}

/// Desk scripts (`coxa view CASE --script FILE`), read and checked as the desk does before its
/// window opens (coxa-viewer without bevy: its `window` feature is off in this build unless
/// another package of the same build turns it on). Every `set` the script keeps must be in the
/// range `coxa rom` and the scenarios enforce (the desk checks what the command line checks):
/// a value outside it is a crash of this target, not a refusal.
#[test]
fn fuzz_desk_script() {
    use coxa_viewer::script::{Action, Script};
    let seeds = vec![
        b"# every action once\nset cup_inclination_deg 45\nset cup_anteversion_deg 20   # radiographic\nset stem_anteversion_deg 15\nset head_diameter_mm 36\nset neck_length_offset_mm 3.5\nset cup_outer_diameter_mm 52\nset cup_shift_medial_mm -2\nset cup_shift_superior_mm 1.5\nset cup_shift_anterior_mm 0\nset stem_size 4\nview lateral\nview ap\nshow slices\nhide muscles\nshow bones\nhide landmarks\nsave\nundo\nredo\nscreenshot fuzz-never-written.png\nquit\n".to_vec(),
        b"set cup_inclination_deg 40\nsave\nquit\n".to_vec(),
        b"view inlet\nview outlet\nview superior\nscreenshot a.png\nscreenshot b.png\n".to_vec(),
    ];
    let run = |p: &Path| -> Result<(), String> {
        let script = Script::read(p).map_err(err)?;
        for (line, action) in &script.steps {
            if let Action::Set(c, v) = action {
                assert!(c.check(*v).is_ok(), "line {line}: {} {v} was kept outside the plan's range", c.name());
            }
        }
        Ok(())
    };
    go(Target { name: "desk_script", ext: ".txt", text: true, seeds, run: &run }, 34);
}

/// STEP text of a cylinder (radius `r`, height `h`, millimetres) on the z axis, written by
/// truck's modeller, as in the reader's own tests (models/io/src/mesh/step.rs).
fn cylinder(r: f64, h: f64) -> String {
    use truck_modeling::{Point3 as P, Rad, Vector3 as V, builder};
    use truck_stepio::out::{CompleteStepDisplay, StepModel};
    let v = builder::vertex(P::new(r, 0.0, 0.0));
    let circle = builder::rsweep(&v, P::new(0.0, 0.0, 0.0), V::unit_z(), Rad(7.0));
    let disk = builder::try_attach_plane(&[circle]).unwrap();
    let solid = builder::tsweep(&disk, V::new(0.0, 0.0, h));
    CompleteStepDisplay::new(StepModel::from(&solid.compress()), Default::default()).to_string()
}

/// STEP parts (`--user-cup PART.step`): the unit, the parse, the tessellation, the solid check.
/// A panic inside truck that the reader catches is counted apart (`panics_caught`); one that
/// escapes is a crash. Seeds: a cylinder and a box coxa's tests build with truck.
#[test]
fn fuzz_step() {
    let cube = {
        use truck_modeling::{Point3 as P, Vector3 as V, builder};
        use truck_stepio::out::{CompleteStepDisplay, StepModel};
        let v = builder::vertex(P::new(0.0, 0.0, 0.0));
        let e = builder::tsweep(&v, V::unit_x() * 10.0);
        let f = builder::tsweep(&e, V::unit_y() * 10.0);
        let s = builder::tsweep(&f, V::unit_z() * 10.0);
        CompleteStepDisplay::new(StepModel::from(&s.compress()), Default::default()).to_string()
    };
    let seeds = vec![cylinder(10.0, 30.0).into_bytes(), cube.into_bytes()];
    let run = |p: &Path| -> Result<(), String> { coxa_io::mesh::read_mesh(p).map(|_| ()).map_err(err) };
    go(Target { name: "step", ext: ".step", text: true, seeds, run: &run }, 33);
}

/// Issue 61: a STEP part of absurd size (a 1 km cylinder, a radius of 1e400, which reads as
/// infinity) is refused by the reader with an error naming the cause, without a panic inside it
/// (none caught by the reader either: the engine's count of caught panics is 0).
#[test]
fn step_parts_of_absurd_size_are_refused_without_a_panic() {
    let huge = cylinder(1e6, 30.0);
    // A radius no other number of the file has, replaced by 1e400.
    let text = cylinder(12.345, 30.0);
    let infinite = text.replace("12.345", "1.0E400");
    assert_ne!(infinite, text, "the radius was replaced");
    let inputs = vec![huge.into_bytes(), infinite.into_bytes()];
    let d = tempfile::tempdir().unwrap();
    for (k, input) in inputs.iter().enumerate() {
        let p = d.path().join(format!("part{k}.step"));
        std::fs::write(&p, input).unwrap();
        let e = coxa_io::mesh::read_mesh(&p).unwrap_err().to_string();
        assert!(e.contains(&format!("part{k}.step")) && (e.contains("out of range") || e.contains("larger than")), "{e}");
    }
    let run = |p: &Path| -> Result<(), String> { coxa_io::mesh::read_mesh(p).map(|_| ()).map_err(err) };
    crate::engine::quiet_panics();
    let target = Target { name: "step_absurd", ext: ".step", text: true, seeds: Vec::new(), run: &run };
    let report = crate::engine::fuzz_runs(&target, &inputs, std::time::Duration::ZERO, Some(0), 1, &d.path().join("crashes"));
    assert_eq!((report.panics_caught, report.crashes.len()), (0, 0), "{report:?}");
}

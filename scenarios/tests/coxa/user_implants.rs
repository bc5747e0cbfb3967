//! An implant engineer's own geometry through `coxa rom` and a scenario: the catalog's 32 mm
//! liner and its stem's neck written as STL files with frame files give the closed-form
//! model's limits; a scenario runs them through `coxa rom --scenario`.

use std::path::Path;
use std::process::Output;

use anyhow::Result;

use crate::cases::coxa;
use serde_json::Value;

use coxa_implants::Catalog;

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Writes the catalog liner (32 mm head, neutral) and stem 3's neck as user parts into `dir`.
fn write_parts(dir: &Path) -> Result<()> {
    let c = Catalog::builtin()?;
    let spec = c.liner_spec("neutral")?;
    let shell = c.smallest_shell_for(spec, 32.0)?;
    let liner = c.liner(spec, 32.0, &shell)?;
    let stem = c.stem(None, "3")?;
    let construct = coxa_implants::Construct::new(shell, liner.clone(), c.head(32.0, 0.0)?, stem)?;
    coxa_io::mesh::write_stl(&liner.mesh(), &dir.join("liner.stl"))?;
    coxa_io::mesh::write_stl(&construct.neck().mesh(), &dir.join("neck.stl"))?;
    std::fs::write(
        dir.join("cup.toml"),
        "schema_version = 1\npart = \"cup\"\nmesh = \"liner.stl\"\nunits = \"mm\"\ncup_centre_mm = [0.0, 0.0, 0.0]\ncup_axis = [0.0, 0.0, 1.0]\ninner_diameter_mm = 32.0\nsuperior_axis = [1.0, 0.0, 0.0]\n",
    )?;
    let a = (180.0 - stem.ccd.deg()).to_radians();
    std::fs::write(
        dir.join("stem.toml"),
        format!(
            "schema_version = 1\npart = \"stem\"\nmesh = \"neck.stl\"\nunits = \"mm\"\nhead_centre_mm = [0.0, 0.0, 0.0]\nneck_axis = [0.0, 0.0, 1.0]\nneck_diameter_mm = {}\nshaft_axis = [{}, 0.0, {}]\n",
            stem.neck_diameter_mm,
            a.sin(),
            a.cos()
        ),
    )?;
    Ok(())
}

#[test]
fn user_parts_reproduce_the_catalog_model() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_parts(tmp.path())?;
    let flags = ["rom", "--head-mm", "32", "--liner", "neutral", "--cup-inclination-deg", "40", "--cup-anteversion-deg", "20", "--stem-anteversion-deg", "15", "--json"];
    let catalog = json(&coxa(&flags));
    let (cup, stem) = (tmp.path().join("cup.toml"), tmp.path().join("stem.toml"));
    let mut with = flags.to_vec();
    with.extend(["--user-cup", cup.to_str().unwrap(), "--user-stem", stem.to_str().unwrap()]);
    let user = json(&coxa(&with));
    assert_eq!(user["implants"]["liner"], "user cup");
    let (a, b) = (catalog["oscillation_angle_deg"].as_f64().unwrap(), user["oscillation_angle_deg"].as_f64().unwrap());
    eprintln!("oscillation angle: catalog {a} deg, user meshes {b} deg");
    assert!((a - b).abs() < 0.2);
    for (m, u) in catalog["motions"].as_array().unwrap().iter().zip(user["motions"].as_array().unwrap()) {
        let (x, y) = (m["limit_deg"].as_f64().unwrap(), u["limit_deg"].as_f64().unwrap());
        eprintln!("{:32} catalog {x:6.1}  user {y:6.1}", m["name"].as_str().unwrap());
        assert!((x - y).abs() <= 0.3, "{}: {x} vs {y}", m["name"]);
        assert_eq!(m["contact"], u["contact"]);
    }
    // A broken frame file names itself and the field.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "schema_version = 1\npart = \"stem\"\nmesh = \"neck.stl\"\nunits = \"mm\"\nhead_centre_mm = [0.0, 0.0, 0.0]\nneck_axis = [0.0, 0.0, 1.0]\nneck_diameter_mm = 12.0\n",
    )?;
    let mut bad = flags.to_vec();
    let b = tmp.path().join("bad.toml");
    bad.extend(["--user-stem", b.to_str().unwrap()]);
    let out = coxa(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml") && stderr.contains("shaft_axis"), "{stderr}");
    Ok(())
}

#[test]
fn rom_runs_a_scenario_with_user_parts() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_parts(tmp.path())?;
    let file = tmp.path().join("engineer.toml");
    std::fs::write(
        &file,
        "schema_version = 1\nname = \"my cup and stem\"\n[[cases]]\nname = \"phantom\"\nphantom = true\n[implants]\nhead_diameter_mm = 32\nuser_cup = \"cup.toml\"\nuser_stem = \"stem.toml\"\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = [15, 25]\n[report]\nsafe_zone_map = false\n",
    )?;
    let out = coxa(&["rom", "--scenario", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let case = tmp.path().join("engineer-results/cases/phantom");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(case.join("report.json"))?)?;
    assert_eq!(r["placement"]["implants"]["liner"], "user cup");
    assert_eq!(r["placement"]["implants"]["stem"], "user stem");
    assert_eq!(r["sweep"].as_array().unwrap().len(), 2);
    Ok(())
}

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

/// The catalog stem 3's neck (a cylinder) as a CAD part: STEP text written by truck's modeller.
fn neck_step() -> Result<String> {
    use truck_modeling::{Point3 as P, Rad, Vector3 as V, builder};
    let c = Catalog::builtin()?;
    let spec = c.liner_spec("neutral")?;
    let shell = c.smallest_shell_for(spec, 32.0)?;
    let neck = coxa_implants::Construct::new(shell, c.liner(spec, 32.0, &shell)?, c.head(32.0, 0.0)?, c.stem(None, "3")?)?.neck();
    assert_eq!(neck.flare.rad(), 0.0, "a cylinder");
    let v = builder::vertex(P::new(neck.radius_mm, 0.0, neck.start_mm));
    let circle = builder::rsweep(&v, P::new(0.0, 0.0, neck.start_mm), V::unit_z(), Rad(7.0));
    let disk = builder::try_attach_plane(&[circle]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let solid = builder::tsweep(&disk, V::new(0.0, 0.0, neck.end_mm - neck.start_mm));
    Ok(truck_stepio::out::CompleteStepDisplay::new(truck_stepio::out::StepModel::from(&solid.compress()), Default::default()).to_string())
}

/// An engineer's stem given as STEP gives the range of the same stem as STL; a STEP file that is
/// not a solid is refused with one line.
#[test]
fn a_step_part_gives_the_range_of_its_stl() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    write_parts(tmp.path())?;
    let step = neck_step()?;
    std::fs::write(tmp.path().join("neck.step"), &step)?;
    let frame = std::fs::read_to_string(tmp.path().join("stem.toml"))?.replace("neck.stl", "neck.step");
    std::fs::write(tmp.path().join("stem_step.toml"), frame)?;
    let flags = ["rom", "--head-mm", "32", "--liner", "neutral", "--cup-inclination-deg", "40", "--cup-anteversion-deg", "20", "--stem-anteversion-deg", "15", "--json", "--user-stem"];
    let with = |frame: &str| {
        let f = tmp.path().join(frame);
        let mut a = flags.to_vec();
        a.push(f.to_str().unwrap());
        coxa(&a)
    };
    let (stl, cad) = (json(&with("stem.toml")), json(&with("stem_step.toml")));
    for (a, b) in stl["motions"].as_array().unwrap().iter().zip(cad["motions"].as_array().unwrap()) {
        let (x, y) = (a["limit_deg"].as_f64().unwrap(), b["limit_deg"].as_f64().unwrap());
        eprintln!("{:32} STL {x:6.1}  STEP {y:6.1}", a["name"].as_str().unwrap());
        assert!((x - y).abs() <= 0.3, "{}: STL {x} vs STEP {y}", a["name"]);
        assert_eq!(a["contact"], b["contact"]);
    }
    // The same part with its side face dropped from the shell: open, not a solid.
    let shell = step.lines().find(|l| l.contains("CLOSED_SHELL")).expect("a closed shell");
    let (head, list) = shell.split_once(", (").expect("a face list");
    let faces: Vec<&str> = list.trim_end_matches(");").trim_end_matches(')').split(", ").collect();
    std::fs::write(tmp.path().join("neck.step"), step.replace(shell, &format!("{}, ({}));", head.replace("CLOSED_SHELL", "OPEN_SHELL"), faces[..faces.len() - 1].join(", "))))?;
    let out = with("stem_step.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("neck.step") && stderr.contains("is not a solid"), "{stderr}");
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

/// An engineer's stem family of three sizes, each its own STL (the built-in standard-offset
/// series' sizes 1-3 with their necks written as meshes, relabelled S, M, L), in a catalog
/// folder `acme/` beside the built-in liners and heads and the built-in shell series with a
/// cup mesh per size (bearing a 32 mm head); and its parametric twin `twin/` (the same numbers,
/// no meshes). The necks are written as the smallest head (22 mm)
/// leaves them, so that no head of the catalog uncovers a part the mesh lacks. Returns `acme/`.
fn write_family(dir: &Path) -> Result<std::path::PathBuf> {
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/implants/catalog");
    let (cat, twin) = (dir.join("acme"), dir.join("twin"));
    for d in [&cat, &twin] {
        std::fs::create_dir_all(d)?;
        for f in ["shells.toml", "liners.toml", "heads.toml"] {
            std::fs::copy(builtin.join(f), d.join(f))?;
        }
    }
    let c = Catalog::builtin()?;
    let mut series = c.stems[0].clone();
    assert_eq!(series.name, "taper-wedge stem, standard offset");
    series.name = "acme taper-wedge".into();
    series.sizes.truncate(3);
    let a = (180.0 - series.ccd_deg).to_radians();
    let shell = c.shell(52.0)?;
    let mut twin_series = series.clone();
    for ((z, t), label) in series.sizes.iter_mut().zip(&mut twin_series.sizes).zip(["S", "M", "L"]) {
        let stem = c.stem(Some("taper-wedge stem, standard offset"), &z.size)?;
        let construct = coxa_implants::Construct::new(shell, c.liner(c.liner_spec("neutral")?, 22.0, &shell)?, c.head(22.0, 0.0)?, stem)?;
        coxa_io::mesh::write_stl(&construct.neck().mesh(), &cat.join(format!("acme_{label}.stl")))?;
        std::fs::write(
            cat.join(format!("acme_{label}.frame")),
            format!(
                "schema_version = 1\npart = \"stem\"\nmesh = \"acme_{label}.stl\"\nunits = \"mm\"\nhead_centre_mm = [0.0, 0.0, 0.0]\nneck_axis = [0.0, 0.0, 1.0]\nneck_diameter_mm = {}\nshaft_axis = [{}, 0.0, {}]\n",
                z.neck_diameter_mm,
                a.sin(),
                a.cos()
            ),
        )?;
        z.size = label.into();
        z.frame = Some(format!("acme_{label}.frame").into());
        t.size = label.into();
    }
    let write = |d: &Path, s: coxa_implants::catalog::StemFamily| -> Result<()> {
        let file = coxa_implants::CatalogFile { schema_version: 1, shells: vec![], liners: vec![], heads: vec![], stems: vec![s] };
        Ok(std::fs::write(d.join("acme_stems.toml"), toml::to_string(&file)?)?)
    };
    write(&cat, series)?;
    write(&twin, twin_series)?;
    // The cups: acme's shell series has a mesh per size (the catalog's neutral liner for a 32 mm
    // head in that shell, where it fits), the twin the numbers alone.
    let mut shells = c.shells[0].clone();
    let liner = c.liner_spec("neutral")?;
    let mut d = shells.outer_diameter_min_mm;
    while d <= shells.outer_diameter_max_mm + 1e-9 {
        if let Ok(l) = c.liner(liner, 32.0, &c.shell(d)?) {
            coxa_io::mesh::write_stl(&l.mesh(), &cat.join(format!("cup_{d}.stl")))?;
            std::fs::write(
                cat.join(format!("cup_{d}.frame")),
                format!(
                    "schema_version = 1\npart = \"cup\"\nmesh = \"cup_{d}.stl\"\nunits = \"mm\"\ncup_centre_mm = [0.0, 0.0, 0.0]\ncup_axis = [0.0, 0.0, 1.0]\ninner_diameter_mm = 32.0\nsuperior_axis = [1.0, 0.0, 0.0]\n"
                ),
            )?;
            shells.frames.push(coxa_implants::catalog::ShellFrame { outer_diameter_mm: d, frame: format!("cup_{d}.frame").into(), bearing_diameter_mm: 32.0 });
        }
        d += shells.outer_diameter_step_mm;
    }
    assert!(shells.frames.len() >= 10, "{} sizes", shells.frames.len());
    let file = coxa_implants::CatalogFile { schema_version: 1, shells: vec![shells], liners: vec![], heads: vec![], stems: vec![] };
    std::fs::write(cat.join("shells.toml"), toml::to_string(&file)?)?;
    Ok(cat)
}

/// A scenario comparing the built-in catalog with the engineer's family on z013's right hip
/// (planned on a 10 deg grid: the designs are compared, not the search).
fn design_scenario(dir: &Path, bones: &Path) -> Result<std::path::PathBuf> {
    let m = |f: &str| bones.join(f).display().to_string();
    let file = dir.join("designs.toml");
    std::fs::write(
        &file,
        format!(
            "schema_version = 1\noutput_dir = \"results\"\n\n[[cases]]\nname = \"z013\"\nside = \"right\"\nmeshes = {{ hip_right = {:?}, femur_right = {:?}, hip_left = {:?}, femur_left = {:?} }}\n\n[[designs]]\nname = \"standard\"\n\n[[designs]]\nname = \"twin\"\ncatalog = \"twin\"\n\n[[designs]]\nname = \"acme\"\ncatalog = \"acme\"\n\n[plan]\ngrid_step_deg = 10\n\n[implants]\nhead_diameter_mm = 32\n\n[report]\npictures = false\nsafe_zone_map = false\n",
            m("z013_Hip_R.stl"),
            m("z013_Femur_R.stl"),
            m("z013_Hip_L.stl"),
            m("z013_Femur_L.stl")
        ),
    )?;
    Ok(file)
}

#[test]
fn an_engineers_stem_and_cup_families_are_sized_placed_and_swept_against_the_catalog() -> Result<()> {
    let Some(bones) = crate::common::shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    write_family(tmp.path())?;
    let file = design_scenario(tmp.path(), &bones)?;
    crate::cases::ok(&coxa(&["run", file.to_str().unwrap(), "--quiet"]));
    let case = tmp.path().join("results/cases/z013");
    let read = |p: &str| -> Result<Value> { Ok(serde_json::from_str(&std::fs::read_to_string(case.join(p))?)?) };
    // A design's point: its name first (`acme_h32_tilt0`).
    let point = |d: &str| -> Result<String> {
        let names: Vec<String> = std::fs::read_dir(case.join("plans"))?.map(|e| e.map(|e| e.file_name().to_string_lossy().trim_end_matches(".json").to_string())).collect::<Result<_, _>>()?;
        names.into_iter().find(|n| n.starts_with(&format!("{d}_"))).ok_or_else(|| anyhow::anyhow!("no plan of design {d}"))
    };
    let plan = |d: &str| read(&format!("plans/{}.json", point(d)?));
    let (standard, twin, acme) = (plan("standard")?, plan("twin")?, plan("acme")?);
    // The planner sized the engineer's series by its own rule, as it sized the built-in one.
    assert_eq!(acme["stem"]["catalog"], "acme taper-wedge");
    eprintln!("standard: {} size {}; twin: size {}; acme: size {}", standard["stem"]["catalog"], standard["stem"]["size"], twin["stem"]["size"], acme["stem"]["size"]);
    let options: Vec<&str> = acme["stem"]["size_options"].as_array().unwrap().iter().filter_map(|o| o["size"].as_str()).collect();
    assert!(options.iter().all(|s| ["S", "M", "L"].contains(s)), "{options:?}");
    assert_eq!(acme["stem"]["size"], twin["stem"]["size"], "the meshes' family sized otherwise than its numbers' twin");
    if standard["stem"]["catalog"] == "taper-wedge stem, standard offset" {
        // The same numbers as sizes 1-3 of the built-in series: the same size.
        let same = ["1", "2", "3"].iter().position(|s| standard["stem"]["size"] == *s).map(|i| ["S", "M", "L"][i]);
        assert_eq!(acme["stem"]["size"].as_str(), same, "acme sized {} where the built-in series took {}", acme["stem"]["size"], standard["stem"]["size"]);
    }
    // Every candidate was scored on the engineer's meshes: the ROM records say whose stem.
    let rom = |d: &str| read(&format!("rom/{}.json", point(d)?));
    let (rom_s, rom_t, rom_a) = (rom("standard")?, rom("twin")?, rom("acme")?);
    assert_eq!(rom_t["implants"]["stem"], "catalog");
    assert_eq!(rom_a["implants"]["stem"], "user stem");
    // And the cups: the series sized by its numbers (the twin's size), scored on the size's mesh.
    assert_eq!(acme["cup"]["outer_diameter_mm"], twin["cup"]["outer_diameter_mm"], "the meshes' cup series sized otherwise than its twin");
    assert_eq!((acme["head"]["diameter_mm"].as_f64(), twin["head"]["diameter_mm"].as_f64()), (Some(32.0), Some(32.0)));
    assert_eq!(rom_a["implants"]["liner"], "user cup");
    assert_ne!(rom_t["implants"]["liner"], "user cup");
    for k in ["radiographic_inclination_deg", "radiographic_anteversion_deg", "outer_diameter_mm"] {
        eprintln!("cup {k}: standard {} twin {} acme {}", standard["cup"][k], twin["cup"][k], acme["cup"][k]);
    }
    for k in ["diameter_mm", "neck_length_offset_mm"] {
        eprintln!("head {k}: twin {} acme {}", twin["head"][k], acme["head"][k]);
    }
    for (t, a) in rom_t["motions"].as_array().unwrap().iter().zip(rom_a["motions"].as_array().unwrap()) {
        eprintln!("{:32} twin {:6} {:8} acme {:6} {:8}", t["name"].as_str().unwrap(), t["limit_deg"], t["contact"], a["limit_deg"], a["contact"]);
    }
    // At one placement (the twin's plan, fixed) the meshes give the twin's range within 1 deg
    // per motion (measured with the mesh stems and cups: 0.6 deg at most, internal rotation at
    // 90 deg flexion, where the catalog's neck meets bone and the mesh's the liner): the
    // planner's difference above is its optimum moving on a flat objective, not another implant.
    let fixed = tmp.path().join("fixed.toml");
    let text = std::fs::read_to_string(&file)?
        .replace("[[designs]]\nname = \"standard\"\n\n", "")
        .replace("[plan]\ngrid_step_deg = 10\n\n", "")
        .replace(
            "[implants]\nhead_diameter_mm = 32\n\n[report]",
            &format!(
                "[implants]\nstem_size = {}\nhead_diameter_mm = {}\nhead_offset_mm = {}\n\n[placement]\ncup_inclination_deg = {}\ncup_anteversion_deg = {}\nstem_anteversion_deg = {}\n\n[report]",
                twin["stem"]["size"],
                twin["head"]["diameter_mm"],
                twin["head"]["neck_length_offset_mm"],
                twin["cup"]["radiographic_inclination_deg"],
                twin["cup"]["radiographic_anteversion_deg"],
                twin["stem"]["anteversion_deg"]
            ),
        )
        .replace("output_dir = \"results\"", "output_dir = \"fixed\"");
    std::fs::write(&fixed, text)?;
    crate::cases::ok(&coxa(&["run", fixed.to_str().unwrap(), "--quiet"]));
    let roms: Vec<Value> = {
        let mut files: Vec<_> = std::fs::read_dir(tmp.path().join("fixed/cases/z013/rom"))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        files.sort();
        files.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    };
    assert_eq!(roms.len(), 2);
    let (fa, ft) = (&roms[0], &roms[1]);
    assert_eq!((fa["implants"]["stem"].as_str(), ft["implants"]["stem"].as_str()), (Some("user stem"), Some("catalog")));
    assert_eq!(fa["implants"]["liner"], "user cup", "the fixed placement's shell size has its own cup");
    let mut worst = (0.0f64, String::new());
    for (a, t) in fa["motions"].as_array().unwrap().iter().zip(ft["motions"].as_array().unwrap()) {
        let (x, y) = (a["limit_deg"].as_f64().unwrap(), t["limit_deg"].as_f64().unwrap());
        if (x - y).abs() >= worst.0 {
            worst = ((x - y).abs(), a["name"].as_str().unwrap_or_default().to_string());
        }
        assert!((x - y).abs() <= 1.0, "{}: meshes {x} deg, numbers {y} deg at one placement", a["name"]);
    }
    eprintln!("fixed placement ({} mm shell): meshes against numbers at most {:.2} deg apart ({})", ft["implants"]["shell_outer_diameter_mm"], worst.0, worst.1);
    // Side by side in the design table, one row per design and quantity, rates from the ROM files.
    let designs = std::fs::read_to_string(tmp.path().join("results/designs.csv"))?;
    for (point, rom) in [(point("standard")?, &rom_s), (point("twin")?, &rom_t), (point("acme")?, &rom_a)] {
        for m in rom["motions"].as_array().unwrap() {
            let rate = if m["contact"] == "none" { "0.0" } else { "1.0" };
            let quantity = format!("rom_{}_deg", m["name"].as_str().unwrap());
            let row = designs.lines().find(|l| l.starts_with(&format!("{point},{quantity},"))).unwrap_or_else(|| panic!("designs.csv lacks {point} {quantity}"));
            assert!(row.ends_with(&format!(",{rate}")), "{row}: the ROM file's contact is {}", m["contact"]);
        }
    }
    Ok(())
}

#[test]
fn a_family_whose_sizes_overlap_or_whose_mesh_does_not_fit_is_refused() -> Result<()> {
    let Some(bones) = crate::common::shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let cat = write_family(tmp.path())?;
    let file = design_scenario(tmp.path(), &bones)?;
    let stems = cat.join("acme_stems.toml");
    let good = std::fs::read_to_string(&stems)?;
    let refused = |what: &str, needle: &[&str]| {
        let out = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: one line: {stderr}");
        for n in needle {
            assert!(stderr.contains(n), "{what}: {n:?} not in {stderr}");
        }
        assert!(!tmp.path().join("results/cases/z013").exists(), "{what}: a case ran");
    };
    // Size M as wide as size S: the sizes overlap.
    let file_of: coxa_implants::CatalogFile = toml::from_str(&good)?;
    let mut overlap = file_of.clone();
    overlap.stems[0].sizes[1].ml_width_mm = overlap.stems[0].sizes[0].ml_width_mm;
    std::fs::write(&stems, toml::to_string(&overlap)?)?;
    refused("overlapping sizes", &["acme_stems.toml", "sizes[1].ml_width_mm", "overlap"]);
    // Size L's mesh says another neck than the catalog's numbers.
    let mut neck = file_of.clone();
    neck.stems[0].sizes[2].neck_diameter_mm += 1.0;
    std::fs::write(&stems, toml::to_string(&neck)?)?;
    refused("a frame that is not its size", &["acme_L.frame", "neck"]);
    // A cup for a shell size the series does not offer.
    std::fs::write(&stems, &good)?;
    let shells = cat.join("shells.toml");
    let text = std::fs::read_to_string(&shells)?;
    std::fs::write(&shells, text.replacen("outer_diameter_mm = 46.0", "outer_diameter_mm = 47.0", 1))?;
    refused("a cup for a size the series lacks", &["shells.toml", "shells[0].frames[", "47 mm is not a size"]);
    std::fs::write(&shells, &text)?;
    // A frame naming a mesh that is not there.
    std::fs::write(&stems, &good)?;
    std::fs::remove_file(cat.join("acme_M.stl"))?;
    refused("a missing mesh", &["acme_M.stl", "does not exist"]);
    Ok(())
}

//! Files for 3D Slicer and OpenSim (issue 18, part 5), each opened in its reference reader.

use std::path::Path;

use anyhow::Result;

use crate::cases::{coxa, ok};
use crate::common::shared_data;

fn json_of(out: &std::process::Output) -> serde_json::Value {
    ok(out);
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Labelled points of an `.fcsv` file (columns 2-4 and 12).
fn fcsv(path: &Path) -> Vec<(String, [f64; 3])> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[11].to_string(), [1, 2, 3].map(|i| c[i].parse::<f64>().unwrap()))
        })
        .collect()
}

/// `coxa anatomy ... --out A && coxa hcf --pelvis-landmarks A/landmarks/pelvis.fcsv
/// --femur-landmarks A/landmarks/femur_X.fcsv` runs end to end on real full femurs (the issue's
/// "what must hold"); the markups carry anatomy.json's head centres exactly, the `.mrk.json` the
/// same points as the `.fcsv`, and both hips give a physiological, nearly equal force.
#[test]
fn anatomy_landmarks_feed_hcf() -> Result<()> {
    let (Some(dir), Some(model)) = (shared_data("vsd_bones"), shared_data("opensim/gait2392_thelen2003muscle.osim")) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let a = tmp.path().join("A");
    let m = |n: &str, f: &str| format!("{n}={}", dir.join(f).display());
    let meshes = [m("femur_left", "z013_Femur_L.stl"), m("femur_right", "z013_Femur_R.stl"), m("hip_left", "z013_Hip_L.stl"), m("hip_right", "z013_Hip_R.stl")];
    let mut cli = vec!["anatomy", "--out", a.to_str().unwrap(), "--json"];
    for x in &meshes {
        cli.extend(["--mesh", x.as_str()]);
    }
    let anatomy = json_of(&coxa(&cli));
    let lm = a.join("landmarks");
    let pelvis = fcsv(&lm.join("pelvis.fcsv"));
    let mut magnitudes = Vec::new();
    for (side, s) in [("left", "L"), ("right", "R")] {
        let femur = fcsv(&lm.join(format!("femur_{side}.fcsv")));
        let labels: Vec<&str> = femur.iter().map(|(l, _)| l.as_str()).collect();
        for need in ["HJC", "P1", "P2", "MPC", "LPC", "MEC", "LEC"] {
            assert!(labels.contains(&format!("{need}_{s}").as_str()), "femur_{side}.fcsv lacks {need}_{s}: {labels:?}");
        }
        // The head centre of anatomy.json, bit for bit, in both files.
        let head = anatomy["femoral_heads"].as_array().unwrap().iter().find(|h| h["side"] == side).unwrap();
        let centre: Vec<f64> = head["centre_lps_mm"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let hjc = format!("HJC_{s}");
        assert_eq!(femur.iter().find(|(l, _)| *l == hjc).unwrap().1.to_vec(), centre);
        assert_eq!(pelvis.iter().find(|(l, _)| *l == hjc).unwrap().1.to_vec(), centre);
        // The .mrk.json holds the same points, in LPS.
        let mrk: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(lm.join(format!("femur_{side}.mrk.json")))?)?;
        let node = &mrk["markups"][0];
        assert_eq!(node["type"], "Fiducial");
        assert_eq!(node["coordinateSystem"], "LPS");
        let cps = node["controlPoints"].as_array().unwrap();
        assert_eq!(cps.len(), femur.len());
        for (cp, (l, p)) in cps.iter().zip(&femur) {
            assert_eq!(cp["label"].as_str().unwrap(), l);
            let q: Vec<f64> = cp["position"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(q, p.to_vec());
        }
        // The chain.
        let pf = lm.join("pelvis.fcsv");
        let ff = lm.join(format!("femur_{side}.fcsv"));
        let hcf = json_of(&coxa(&[
            "hcf",
            "--pelvis-landmarks",
            pf.to_str().unwrap(),
            "--femur-landmarks",
            ff.to_str().unwrap(),
            "--side",
            s,
            "--body-weight-n",
            "760",
            "--activity",
            "one-leg-stance",
            "--model",
            model.to_str().unwrap(),
            "--json",
        ]));
        let f: Vec<f64> = hcf["hcf_percent_bw"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let mag = hcf["magnitude_percent_bw"].as_f64().unwrap();
        // Down the femur and lateral, in the range of one-leg stance (OrthoLoad: about 230-290 %BW).
        assert!(f[2] < 0.0 && f[0] > 0.0 && (150.0..450.0).contains(&mag), "{side}: {hcf}");
        magnitudes.push(mag);
    }
    // One cadaver's two hips: nearly the same force.
    assert!((magnitudes[0] - magnitudes[1]).abs() < 0.1 * magnitudes[0], "{magnitudes:?}");
    Ok(())
}

/// OpenSim 4.6's reader on a `.mot`/`.sto` (scenarios/tests/peer/opensim_storage.py): labels,
/// rows and, with a model, the femurs' rotations in ground at each row.
fn opensim_read(python: &Path, file: &Path, model: Option<&Path>) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/opensim_storage.py");
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script).arg(file);
    if let Some(m) = model {
        cmd.arg(m);
    }
    let out = cmd.output().expect("python runs");
    assert!(out.status.success(), "OpenSim could not read {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The Python with OpenSim 4.6 (the venv of scripts/setup); `None` outside CI when missing.
pub(crate) fn opensim_python() -> Option<std::path::PathBuf> {
    let py = crate::common::peer_python()?;
    let ok = std::process::Command::new(&py).args(["-c", "import opensim"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(!crate::common::in_ci(), "opensim is missing from {}; run scripts/setup", py.display());
    eprintln!("note: skipping, opensim is not importable from {}", py.display());
    None
}

/// coxa's femur rotation (femoral frame -> reference, coxa's pelvic axes: x left, y posterior,
/// z superior) in OpenSim's axes (x anterior, y superior, z right): `M R Mᵀ`.
fn in_opensim_axes(r: &nalgebra::Rotation3<f64>) -> nalgebra::Matrix3<f64> {
    let m = nalgebra::Matrix3::new(0.0, -1.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0);
    m * r.matrix() * m.transpose()
}

/// Checks every `.mot` of `rom` (a report's `rom` JSON) in OpenSim: the coordinates read back,
/// and gait2392's femur, moved by them (pelvis tilted), turned exactly as coxa's femur is in the
/// standing body's frame at that row; the last row is the motion's limit.
fn check_mot_files(python: &Path, model: &Path, dir: &Path, rom: &serde_json::Value) {
    let side = if rom["side"] == "left" { coxa_core::Side::Left } else { coxa_core::Side::Right };
    let femur = if side == coxa_core::Side::Left { "femur_l" } else { "femur_r" };
    let defs: Vec<coxa_sim::Motion> = coxa_sim::rom::standard_motions().into_iter().chain(coxa_sim::rom::daily_life_motions()).collect();
    let motions = rom["motions"].as_array().unwrap();
    assert!(motions.len() >= 8);
    let mut worst: f64 = 0.0;
    for m in motions {
        let name = m["name"].as_str().unwrap();
        let def = defs.iter().find(|d| d.name == name).unwrap();
        let read = opensim_read(python, &dir.join(format!("rom_{name}.mot")), Some(model));
        let s = if side == coxa_core::Side::Left { "l" } else { "r" };
        assert_eq!(read["labels"], serde_json::json!(["pelvis_tilt", format!("hip_flexion_{s}"), format!("hip_adduction_{s}"), format!("hip_rotation_{s}")]), "{name}");
        assert_eq!(read["in_degrees"], true);
        let times: Vec<f64> = read["times"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let rots = read["femur_rotation_in_ground"][femur].as_array().unwrap();
        assert_eq!(rots.len(), times.len());
        for (t, r) in times.iter().zip(rots) {
            let alpha = t * coxa_case::exchange::MOT_DEG_PER_S;
            let ours = in_opensim_axes(&def.angles(alpha).rotation(side));
            let theirs: Vec<f64> = r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let theirs = nalgebra::Matrix3::from_row_slice(&theirs);
            worst = worst.max((ours - theirs).abs().max());
        }
        let last = def.driven_deg(times.last().unwrap() * coxa_case::exchange::MOT_DEG_PER_S);
        assert!((last - m["limit_deg"].as_f64().unwrap()).abs() < 1e-6, "{name}: last row at {last}, limit {}", m["limit_deg"]);
    }
    // The written angles have 10 decimals: the rotations agree to far better than 1e-8.
    assert!(worst < 1e-8, "OpenSim's femur differs from coxa's by {worst:e}");
}

/// The ROM motions of a planned case as OpenSim motions (`opensim/rom_*.mot`), opened with
/// OpenSim 4.6 and played on gait2392: its femur turns exactly as coxa's does, for both sides.
#[test]
fn rom_motions_open_in_opensim() -> Result<()> {
    let (Some(python), Some(model)) = (opensim_python(), shared_data("opensim/gait2392_thelen2003muscle.osim")) else { return Ok(()) };
    let case = crate::cases::demo_phantom();
    let report = crate::cases::read_json(&case.join("report.json"));
    check_mot_files(&python, &model, &case.join("opensim"), &report["rom"]);
    // The other side, with the phantom's limits, written by the library.
    let mut left = report["rom"].clone();
    left["side"] = serde_json::json!("left");
    let tmp = tempfile::tempdir()?;
    let typed: coxa_core::RomRecord = serde_json::from_value(left.clone())?;
    for t in coxa_case::exchange::rom_motion_tables(&typed)? {
        t.write(&tmp.path().join(format!("rom_{}.mot", t.name)))?;
    }
    check_mot_files(&python, &model, tmp.path(), &left);
    Ok(())
}

/// `coxa hcf --forces-sto`: the muscle forces of the static optimisation as an OpenSim `.sto`,
/// read by OpenSim 4.6 with the forces `--json` reports.
#[test]
fn muscle_forces_open_in_opensim() -> Result<()> {
    let (Some(python), Some(model), Some(lm)) = (opensim_python(), shared_data("opensim/gait2392_thelen2003muscle.osim"), shared_data("orthoload/Landmarks")) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let sto = tmp.path().join("forces.sto");
    let (p, f) = (lm.join("H2R_PelvisLandmarks.fcsv"), lm.join("H2R_FemurLandmarks.fcsv"));
    let args = [
        "hcf",
        "--pelvis-landmarks",
        p.to_str().unwrap(),
        "--femur-landmarks",
        f.to_str().unwrap(),
        "--side",
        "R",
        "--body-weight-n",
        "767",
        "--activity",
        "one-leg-stance",
        "--model",
        model.to_str().unwrap(),
        "--json",
        "--forces-sto",
        sto.to_str().unwrap(),
    ];
    let hcf = json_of(&coxa(&args));
    let read = opensim_read(&python, &sto, None);
    let labels: Vec<&str> = read["labels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let values: Vec<f64> = read["rows"][0].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(read["times"], serde_json::json!([0.0]));
    assert!(labels.len() >= 40, "every muscle of the model's leg: {labels:?}");
    let listed = hcf["muscle_forces_n"].as_array().unwrap();
    assert!(listed.len() >= 5);
    for m in listed {
        let name = m["muscle"].as_str().unwrap();
        let k = labels.iter().position(|l| *l == name).unwrap_or_else(|| panic!("{name} missing from the .sto"));
        let want = m["force_n"].as_f64().unwrap();
        assert!((values[k] - want).abs() <= 1e-6 * want.abs().max(1.0), "{name}: .sto {} vs JSON {want}", values[k]);
    }
    // Never over an existing file.
    let again = coxa(&args);
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
    Ok(())
}

/// NRRD out and in on the real CT: `coxa anatomy --labels` writes `labels.seg.nrrd` (a 3D
/// Slicer segmentation) and `labels.ctbl`; SimpleITK reads the segmentation with the grid and
/// voxels of `labels.nii.gz`, pynrrd reads its segment names and label values; the CT written
/// as NRRD by coxa_io reads in SimpleITK voxel for voxel; and `coxa anatomy` from the NRRD CT and
/// the `.seg.nrrd` finds the same femoral heads as from the NIfTI files.
#[test]
fn nrrd_and_slicer_segmentation_open_in_simpleitk_and_pynrrd() -> Result<()> {
    let (Some(python), Some(ct)) = (crate::common::peer_python(), shared_data("totalseg/example_ct.nii.gz")) else {
        return Ok(());
    };
    // `coxa anatomy --ct CT --labels SEG --json`, run once for every test that reads it.
    let Some((a, first)) = crate::cases::anatomy_real_ct_with_labels() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let nii = crate::common::sitk_read(&python, &a.join("labels.nii.gz"), false)?;
    let segn = crate::common::sitk_read(&python, &a.join("labels.seg.nrrd"), false)?;
    assert_eq!((nii.size, nii.spacing_mm, nii.origin_lps_mm, nii.direction), (segn.size, segn.spacing_mm, segn.origin_lps_mm, segn.direction));
    assert_eq!(nii.voxels, segn.voxels, "labels.seg.nrrd holds labels.nii.gz's labels");
    // pynrrd: the segments, one per class present, named as anatomy.json names them.
    let script = "import json, sys, nrrd\nh = nrrd.read_header(sys.argv[1])\n\
        segs = {h[f'Segment{n}_Name']: int(h[f'Segment{n}_LabelValue']) for n in range(1000) if f'Segment{n}_Name' in h}\n\
        print(json.dumps({'space': h['space'], 'segments': segs, 'type': h['type']}))";
    let out = std::process::Command::new(&python).args(["-c", script]).arg(a.join("labels.seg.nrrd")).output()?;
    assert!(out.status.success(), "pynrrd: {}", String::from_utf8_lossy(&out.stderr));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(h["space"], "left-posterior-superior");
    let present: Vec<u64> = first["labels"]["voxels"].as_array().unwrap().iter().map(|v| v["id"].as_u64().unwrap()).collect();
    let names: std::collections::BTreeMap<u64, String> = first["labels"]["classes"].as_array().unwrap().iter().map(|c| (c["id"].as_u64().unwrap(), c["name"].as_str().unwrap().to_string())).collect();
    assert_eq!(h["segments"].as_object().unwrap().len(), present.len());
    for id in &present {
        assert_eq!(h["segments"][&names[id]], serde_json::json!(id), "segment {}", names[id]);
    }
    // The colour table: background and one line per class.
    let ctbl = std::fs::read_to_string(a.join("labels.ctbl"))?;
    assert!(ctbl.lines().any(|l| l.starts_with("0 background")));
    for (id, name) in &names {
        assert!(ctbl.lines().any(|l| l.starts_with(&format!("{id} {name} "))), "{id} {name} in labels.ctbl");
    }
    // The CT as NRRD (coxa_io::nrrd::write_volume), read by SimpleITK voxel for voxel.
    let volume = coxa_io::nifti::read_volume(&ct)?;
    let ct_nrrd = tmp.path().join("ct.nrrd");
    coxa_io::nrrd::write_volume(&volume, &ct_nrrd)?;
    let theirs = crate::common::sitk_read(&python, &ct_nrrd, false)?;
    crate::common::assert_grid_matches(volume.grid(), &theirs, 1e-9);
    crate::common::assert_voxels_equal(volume.hu().iter().map(|v| f64::from(*v)), &theirs);
    assert!(coxa_io::nrrd::write_volume(&volume, &ct_nrrd).is_err(), "never overwrites");
    // NRRD in: the same anatomy from the NRRD CT and the Slicer segmentation.
    let b = tmp.path().join("B");
    let second = json_of(&coxa(&["anatomy", "--ct", ct_nrrd.to_str().unwrap(), "--labels", a.join("labels.seg.nrrd").to_str().unwrap(), "--out", b.to_str().unwrap(), "--json"]));
    assert_eq!(first["femoral_heads"], second["femoral_heads"]);
    assert_eq!(first["acetabula"], second["acetabula"]);
    Ok(())
}

/// The PDF report beside the HTML one: read by poppler's pdftotext and pypdf (the reference
/// readers), its text holds
/// every number of the HTML report's text and no other (page footers aside), and every table
/// lies whole on one page.
#[test]
fn pdf_report_has_the_html_numbers_and_whole_tables() -> Result<()> {
    let Some(python) = crate::common::peer_python() else { return Ok(()) };
    let ok = std::process::Command::new(&python).args(["-c", "import pypdf"]).output().is_ok_and(|o| o.status.success())
        && std::process::Command::new("pdftotext").arg("-v").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!crate::common::in_ci(), "pypdf or pdftotext (poppler-utils) is missing; run scripts/setup");
        eprintln!("note: skipping, pypdf or pdftotext is not installed (scripts/setup)");
        return Ok(());
    }
    let case = crate::cases::demo_phantom();
    let pdf = case.join("report.pdf");
    assert!(std::fs::read(&pdf)?.starts_with(b"%PDF-"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/pdf_text.py");
    let out = std::process::Command::new(&python).arg(script).arg(&pdf).arg(case.join("report.html")).output()?;
    assert!(out.status.success(), "pdftotext/pypdf: {}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    eprintln!("report.pdf: {} pages, {} numbers (HTML {})", r["pages"], r["pdf_count"], r["html_count"]);
    assert!(r["html_count"].as_u64().unwrap() > 200, "{r}");
    assert_eq!(r["missing_from_pdf"], serde_json::json!([]), "numbers of the HTML not in the PDF");
    assert_eq!(r["extra_in_pdf"], serde_json::json!([]), "numbers in the PDF not in the HTML");
    for (k, t) in r["tables"].as_array().unwrap().iter().enumerate() {
        assert!(!t["pages_with_all"].as_array().unwrap().is_empty(), "table {k} is split across pages: {t}");
    }
    assert!(r["title"].as_str().unwrap_or_default().contains("phantom"), "{r}");
    Ok(())
}

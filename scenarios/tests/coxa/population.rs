//! Virtual populations (issue 14, part 6): a scenario whose cases are drawn from the atlas pelvis
//! model and the adult LLP26 femur model runs through anatomy, planner, range of motion and report
//! headless; the subjects pass coxa's own landmark plausibility against published adult ranges;
//! the same seed gives the same bytes; bad specifications are one-line exit-2 errors.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use coxa_core::{PatientLandmarks, Side};

use crate::cases::{coxa, ok, read_json};
use crate::common::{shared_data, workspace_root};

/// The LLP26 folder: an installed copy, else the one that ships inside coxa (issue 42).
fn llp26() -> Option<PathBuf> {
    let found = coxa_shape::locate::locate_llp26(&[&workspace_root()]).map(|l| l.dir);
    assert!(found.is_some(), "the LLP26 copy bundled in models/shape/llp26 is missing");
    found
}

fn scenario(dir: &Path, atlas: &Path, body: &str) -> Result<PathBuf> {
    let p = dir.join("population.toml");
    std::fs::write(
        &p,
        format!(
            "schema_version = 1\noutput_dir = \"results\"\n\n[cases_from_shape_model]\npelvis_model = {:?}\n{body}\n\n[report]\npictures = false\nsafe_zone_map = false\n",
            atlas.display().to_string()
        ),
    )?;
    Ok(p)
}

/// Published adult ranges (individual hips) that coxa's landmarks on every subject must fall in:
/// - femoral head radius 19-28 mm (head diameter about 38-56 mm; Noble et al., Clin Orthop 1988;
///   Rubin et al., JBJS Br 1992);
/// - neck-shaft angle 115-140° (124.7 ± 7.4°, Noble 1988; 126.4°, Gilligan et al. 2013);
/// - femoral anteversion −10..40° (mean 8-15°, SD 7-9°; Kingsley & Olmsted 1948, range −20..38°);
/// - native acetabular radiographic inclination 30-60° and anteversion 0-35° (CT of normal adult
///   hips: inclination about 40-50°, anteversion about 15-20° with SD about 5-7°, e.g. Tönnis &
///   Heinecke, JBJS Am 1999; Murray, JBJS Br 1993 for the definitions). These ranges are from
///   the literature as remembered, not re-read here.
const HEAD_RADIUS_MM: (f64, f64) = (19.0, 28.0);
const NECK_SHAFT_DEG: (f64, f64) = (115.0, 140.0);
const FEMORAL_ANTEVERSION_DEG: (f64, f64) = (-10.0, 40.0);
const ACETABULAR_INCLINATION_DEG: (f64, f64) = (30.0, 60.0);
const ACETABULAR_ANTEVERSION_DEG: (f64, f64) = (0.0, 35.0);

fn within(what: &str, v: f64, (lo, hi): (f64, f64)) {
    assert!((lo..=hi).contains(&v), "{what} = {v:.2}, outside the published adult range {lo}..{hi}");
}

/// Three subjects through anatomy, the planner, the range of motion and the report (no pictures,
/// no safe-zone map): each case finishes with a plan and a ROM; coxa's landmarks on the written
/// surfaces lie in the adult ranges; each femoral head sits in its socket with the joint space
/// asked for and the femoral frame on the pelvic frame; the inputs are the same bytes when drawn
/// again.
#[test]
fn population_plans_and_simulates_plausible_subjects() -> Result<()> {
    let (Some(atlas), Some(_)) = (shared_data("pelvis_atlas"), llp26()) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let file = scenario(tmp.path(), &atlas, "n = 3\nseed = 7\njoint_space_mm = 3.0")?;
    let t0 = std::time::Instant::now();
    let run = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
    ok(&run);
    eprintln!("3 subjects through plan + ROM + report (debug): {:.1} s", t0.elapsed().as_secs_f64());
    let cases = tmp.path().join("results").join("cases");
    let scn = coxa_case::scenario::Scenario::load(&file).map_err(anyhow::Error::msg)?;
    assert_eq!(scn.cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["ssm-0001", "ssm-0002", "ssm-0003"]);
    let mut head_radii = Vec::new();
    for case in &scn.cases {
        let mut spaces = Vec::new();
        let dir = cases.join(&case.name);
        let report = read_json(&dir.join("report.json"));
        assert_eq!(report["input"]["kind"], "shape_model_sample", "{}", case.name);
        let plan = read_json(&dir.join("plan.json"));
        assert!(plan["cup"].is_object() && plan["stem"].is_object(), "{}: no cup or stem in the plan", case.name);
        assert!(!report["rom"]["motions"].as_array().context("ROM motions")?.is_empty(), "{}: no ROM", case.name);
        let record = read_json(&dir.join("input/shape_sample.json"));
        assert_eq!(record["subject"].as_u64(), Some(case.name[4..].parse::<u64>()?));

        // coxa's own landmarks, found by the anatomy stage on the written surfaces.
        let l: PatientLandmarks = serde_json::from_str(&std::fs::read_to_string(dir.join("anatomy/landmarks.json"))?)?;
        let anatomy = read_json(&dir.join("anatomy/anatomy.json"));
        let frame = l.frame().context("no anterior pelvic plane on a sampled pelvis")?;
        for side in [Side::Left, Side::Right] {
            let f = l.femur(side).context("femur landmarks")?;
            let a = l.acetabulum(side).context("acetabulum landmarks")?;
            let what = |q: &str| format!("{} {side:?} {q}", case.name);
            within(&what("head radius mm"), f.head_radius_mm, HEAD_RADIUS_MM);
            within(&what("neck-shaft angle deg"), f.neck_shaft_angle_deg.context("neck-shaft angle")?, NECK_SHAFT_DEG);
            within(&what("femoral anteversion deg"), f.anteversion_deg.context("anteversion (the sampled femur has condyles)")?, FEMORAL_ANTEVERSION_DEG);
            let native = anatomy["pelvis"]["native_acetabular_angles"]
                .as_array()
                .and_then(|v| v.iter().find(|x| x["side"] == side.as_str() && x["definition"] == "radiographic"))
                .context("native radiographic acetabular angles")?;
            // The acetabular angles of a sampled pelvis: checked over 16 subjects against the
            // atlas and the published ranges in `population_subjects_are_plausible`.
            // Placed anatomically: the head centre on the socket's, the joint space as asked.
            let gap = (f.head_centre.lps_mm - a.centre.lps_mm).norm();
            assert!(gap < 1.5, "{}: head centre {gap:.2} mm from the acetabulum centre", what(""));
            // coxa's joint space: the lunate surface's median distance from the head's sphere.
            let space = a.joint_space_mm.context("joint space (the head was found)")?;
            assert!((1.0..=5.0).contains(&space), "{}: joint space {space:.2} mm, asked 3", what(""));
            spaces.push(space);
            // Neutral: the femoral frame (coxa-core's) on the pelvic frame.
            let ff = f.femoral_frame()?;
            let fr = ff.femur_from_lps.matrix();
            let pr = frame.pelvic_from_lps();
            let angle = |k: usize| fr.row(k).transpose().angle(&pr.matrix().row(k).transpose()).to_degrees();
            assert!(angle(2) < 3.0 && angle(0) < 5.0, "{}: femoral axes {:.1}/{:.1} deg off the pelvic frame's", what(""), angle(2), angle(0));
            eprintln!(
                "{}: head r {:.1} mm, NSA {:.1}, femoral AV {:.1}, acetabulum {:.1}/{:.1}, joint space {space:.2} mm, head-socket centres {gap:.2} mm, femoral z/x vs pelvic {:.1}/{:.1} deg",
                what(""),
                f.head_radius_mm,
                f.neck_shaft_angle_deg.unwrap_or(f64::NAN),
                f.anteversion_deg.unwrap_or(f64::NAN),
                native["inclination_deg"].as_f64().unwrap(),
                native["anteversion_deg"].as_f64().unwrap(),
                angle(2),
                angle(0)
            );
            head_radii.push(f.head_radius_mm);
        }

        // Both sides together: the scale makes the mean joint space the one asked for.
        let mean_space = spaces.iter().sum::<f64>() / spaces.len() as f64;
        assert!((mean_space - 3.0).abs() < 0.3, "{}: mean joint space {mean_space:.2} mm, asked 3", case.name);

        // Deterministic: the subject drawn again, in this process, is the same bytes.
        let coxa_case::scenario::CaseInput::ShapeSample(sample) = &case.input else { panic!("{}: not a shape sample", case.name) };
        let again = tmp.path().join(format!("again-{}", case.name));
        let files = coxa_case::population::write_case_input(sample, &again)?;
        assert!(files.len() >= 4);
        for (name, path) in &files {
            let first = dir.join("input").join(path.file_name().unwrap());
            assert!(std::fs::read(&first)? == std::fs::read(path)?, "{}: {name} differs when drawn again", case.name);
        }
        // The record too, but for its provenance: the models a process has loaded (`coxa run`'s
        // and this test's differ), coxa_core::provenance.
        let record = |p: &std::path::Path| -> Result<serde_json::Value> { Ok(coxa_core::provenance::unstamped(serde_json::from_str(&std::fs::read_to_string(p)?)?)) };
        assert_eq!(record(&dir.join("input/shape_sample.json"))?, record(&again.join("input/shape_sample.json"))?, "{}: the record differs when drawn again", case.name);
    }
    // Different subjects (not one shape three times).
    // Both femurs of a subject are one bone (mirrored): one head size per subject, and the three
    // subjects differ.
    head_radii.dedup_by(|a, b| (*a - *b).abs() < 0.05);
    assert_eq!(head_radii.len(), 3, "the subjects' heads: {head_radii:?}");
    Ok(())
}

/// Bad population specifications: one line, exit status 2, naming the field; nothing run.
#[test]
fn population_spec_errors_are_one_line() -> Result<()> {
    let Some(atlas) = shared_data("pelvis_atlas") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let junk = tmp.path().join("junk.ssm");
    std::fs::write(&junk, b"not a model")?;
    for (body, pelvis, expect) in [
        ("n = 0\nseed = 1", atlas.clone(), "cases_from_shape_model.n"),
        ("n = 3\nseed = -1", atlas.clone(), "cases_from_shape_model.seed"),
        ("n = 3\nseed = 1", tmp.path().join("missing.ssm"), "cases_from_shape_model.pelvis_model"),
        ("n = 3\nseed = 1\nfemur_model = \"nowhere\"", atlas.clone(), "cases_from_shape_model.femur_model"),
        ("n = 3\nseed = 1\njoint_space_mm = 20", atlas.clone(), "cases_from_shape_model.joint_space_mm"),
        ("n = 3\nseed = 1\nn_modes = 0", atlas.clone(), "cases_from_shape_model.n_modes"),
        ("n = 3\nseed = 1\nsdie = \"left\"", atlas.clone(), "sdie"),
        ("n = 3\nseed = 1", junk.clone(), "COXASSM"),
        ("seed = 1", atlas.clone(), "cases_from_shape_model.n"),
        ("n = 3", atlas.clone(), "cases_from_shape_model.seed"),
        ("subjects = \"all\"", atlas.clone(), "cases_from_shape_model.subjects"),
    ] {
        let dir = tempfile::tempdir_in(tmp.path())?;
        let file = scenario(dir.path(), &pelvis, body)?;
        let out = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{body}: not one line: {err}");
        assert!(err.contains(expect), "{body}: {err} does not name {expect}");
        assert!(!dir.path().join("results").exists(), "{body}: a results folder was made");
        eprintln!("{body:?} -> {}", err.trim());
    }
    Ok(())
}

/// (n, mean, SD, min, max).
fn summary(v: &[f64]) -> (usize, f64, f64, f64, f64) {
    let n = v.len();
    let m = v.iter().sum::<f64>() / n as f64;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n as f64 - 1.0).max(1.0)).sqrt();
    (n, m, sd, v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// Radiographic acetabular inclination and anteversion (deg) and socket radius (mm) of both hips
/// of a pelvis, by coxa's landmarks (no femoral head given).
fn acetabula(hl: &coxa_core::Mesh, hr: &coxa_core::Mesh) -> Result<[[f64; 3]; 2]> {
    use coxa_anatomy::landmarks::{acetabulum_landmarks, pelvis_landmarks};
    let a = [acetabulum_landmarks(hl, Side::Left, None)?, acetabulum_landmarks(hr, Side::Right, None)?];
    let frame = pelvis_landmarks(hl, hr, &a[0], &a[1])?.frame;
    let mut out = [[0.0; 3]; 2];
    for (k, side) in [Side::Left, Side::Right].into_iter().enumerate() {
        let c = coxa_core::CupAngles::from_axis(&frame.vector_to_pelvic(&a[k].opening_axis_lps), side, coxa_core::CupAngleDefinition::Radiographic)?;
        out[k] = [c.inclination.deg(), c.anteversion.deg(), a[k].radius_mm];
    }
    Ok(out)
}

/// 16 subjects of a population (drawn, not planned) against the 30 atlas pelvises they come from
/// and the published adult ranges: coxa's landmarks on the drawn surfaces (as the anatomy stage
/// finds them). At least 90 % of the values in each published range (a ±3 SD draw may reach an
/// edge; the LLP26 femur test uses the same rule), the drawn acetabular angles' mean within one
/// atlas SD of the atlas mean and their SD within a factor of two of the atlas's.
#[test]
fn population_subjects_are_plausible() -> Result<()> {
    let (Some(atlas), Some(femur_model)) = (shared_data("pelvis_atlas"), llp26()) else { return Ok(()) };
    // The atlas's own 30 pelvises.
    let dir = atlas.join("surface");
    let mut ids: Vec<u32> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok()).collect();
    ids.sort_unstable();
    let mut training = [Vec::new(), Vec::new(), Vec::new()];
    for id in &ids {
        let hl = coxa_io::mesh::read_vtk(&dir.join(format!("LeftHip{id}_cpd.vtk")))?;
        let hr = coxa_io::mesh::read_vtk(&dir.join(format!("RightHip{id}_cpd.vtk")))?;
        for hip in acetabula(&hl, &hr)? {
            for q in 0..3 {
                training[q].push(hip[q]);
            }
        }
    }
    // The drawn subjects.
    let mut drawn = [Vec::new(), Vec::new(), Vec::new()];
    let (mut head, mut nsa, mut av, mut space) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for index in 0..16 {
        let sample = coxa_case::population::ShapeSample { pelvis_model: atlas.clone(), femur_model: femur_model.clone(), seed: 11, index, joint_space_mm: 3.0, n_modes: None, training: false };
        let s = coxa_case::population::subject(&sample).map_err(anyhow::Error::msg)?;
        let (found, warnings) = coxa_anatomy::landmarks::find(&coxa_anatomy::landmarks::Bones::named(&s.meshes));
        assert!(warnings.is_empty(), "subject {index}: {warnings:?}");
        let mesh = |n: &str| s.meshes.iter().find(|(m, _)| m == n).map(|(_, m)| m).context("mesh");
        for hip in acetabula(mesh("hip_left")?, mesh("hip_right")?)? {
            for q in 0..3 {
                drawn[q].push(hip[q]);
            }
        }
        for side in [Side::Left, Side::Right] {
            let f = found.femur(side).context("femur")?;
            head.push(f.head_radius_mm);
            nsa.extend(f.neck_shaft_angle_deg);
            av.extend(f.anteversion_deg);
            space.extend(found.acetabulum(side).and_then(|a| a.joint_space_mm));
        }
    }
    eprintln!("quantity                      |   atlas (30 pelvises): n mean SD min max   |   drawn (16 subjects): n mean SD min max   | published adult range");
    let row = |name: &str, t: Option<&[f64]>, d: &[f64], range: (f64, f64)| {
        let f = |v: &[f64]| {
            let (n, m, sd, lo, hi) = summary(v);
            format!("{n:3} {m:6.1} {sd:5.1} {lo:6.1} {hi:6.1}")
        };
        eprintln!("{name:29} | {:40} | {:40} | {}..{}", t.map_or("–".to_string(), f), f(d), range.0, range.1);
    };
    row("acetabular inclination deg", Some(&training[0]), &drawn[0], ACETABULAR_INCLINATION_DEG);
    row("acetabular anteversion deg", Some(&training[1]), &drawn[1], ACETABULAR_ANTEVERSION_DEG);
    row("socket radius mm", Some(&training[2]), &drawn[2], (20.0, 32.0));
    row("femoral head radius mm", None, &head, HEAD_RADIUS_MM);
    row("neck-shaft angle deg", None, &nsa, NECK_SHAFT_DEG);
    row("femoral anteversion deg", None, &av, FEMORAL_ANTEVERSION_DEG);
    row("joint space mm (asked 3)", None, &space, (1.0, 5.0));
    let inside = |v: &[f64], (lo, hi): (f64, f64)| v.iter().filter(|x| (lo..=hi).contains(*x)).count() as f64 / v.len() as f64;
    for (name, v, range) in [
        ("acetabular inclination", &drawn[0], ACETABULAR_INCLINATION_DEG),
        ("acetabular anteversion", &drawn[1], ACETABULAR_ANTEVERSION_DEG),
        ("head radius", &head, HEAD_RADIUS_MM),
        ("neck-shaft angle", &nsa, NECK_SHAFT_DEG),
        ("femoral anteversion", &av, FEMORAL_ANTEVERSION_DEG),
    ] {
        assert_eq!(v.len(), 32, "{name}: measured on {} of 32 hips", v.len());
        assert!(inside(v, range) >= 0.9, "{name}: {v:?} not 90 % inside {range:?}");
    }
    for q in 0..2 {
        let (_, tm, tsd, _, _) = summary(&training[q]);
        let (_, dm, dsd, _, _) = summary(&drawn[q]);
        assert!((dm - tm).abs() < tsd && (0.5..=2.0).contains(&(dsd / tsd)), "acetabular angle {q}: drawn {dm:.1} +- {dsd:.1}, atlas {tm:.1} +- {tsd:.1}");
    }
    let (_, m, _, _, _) = summary(&space);
    assert!((m - 3.0).abs() < 0.3, "mean joint space {m:.2} mm");
    Ok(())
}

/// `coxa shape build` writes the atlas's pelvis model; a population drawn from that file is the
/// population drawn from the atlas folder, byte for byte; an existing output is refused.
#[test]
fn shape_build_writes_the_pelvis_model_populations_draw_from() -> Result<()> {
    let (Some(atlas), Some(femur_model)) = (shared_data("pelvis_atlas"), llp26()) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let ssm = tmp.path().join("pelvis.ssm");
    let out = coxa(&["shape", "build", "--atlas", atlas.to_str().unwrap(), "--out", ssm.to_str().unwrap()]);
    ok(&out);
    let model = coxa_shape::ShapeModel::load(&ssm)?;
    assert_eq!(model.parts().iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["hip_left", "hip_right", "sacrum"]);
    assert_eq!((model.n_vertices(), model.n_modes(), model.info().provenance.n_subjects), (15_000, 29, 30));
    assert_eq!(model.info().provenance.licence, "CC BY 4.0");
    for (name, pelvis_model) in [("file", ssm.clone()), ("atlas", atlas.clone())] {
        let sample = coxa_case::population::ShapeSample { pelvis_model, femur_model: femur_model.clone(), seed: 3, index: 4, joint_space_mm: 3.0, n_modes: Some(10), training: false };
        coxa_case::population::write_case_input(&sample, &tmp.path().join(name))?;
    }
    for f in ["hip_left.stl", "hip_right.stl", "sacrum.stl", "femur_left.stl", "femur_right.stl", "shape_sample.json"] {
        assert!(std::fs::read(tmp.path().join("file/input").join(f))? == std::fs::read(tmp.path().join("atlas/input").join(f))?, "{f} differs");
    }
    let again = coxa(&["shape", "build", "--atlas", atlas.to_str().unwrap(), "--out", ssm.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.code() == Some(2) && err.contains("already exists") && err.trim().lines().count() == 1, "{err}");
    Ok(())
}

/// Cases from the models' own training subjects (`subjects = "training"`): case k is the atlas's
/// pelvis k (its aligned training shape, to round-off) with LLP26's training femur k (modulo 26, from
/// `projectedWeights`), placed as a drawn subject is; the femur keeps that subject's anteversion
/// and neck-shaft angle (placement only scales and turns it). A pelvis `.ssm` file keeps no
/// training subjects: one line, exit 2.
#[test]
fn population_cases_from_training_subjects() -> Result<()> {
    let (Some(atlas), Some(femur_model)) = (shared_data("pelvis_atlas"), llp26()) else { return Ok(()) };
    let (femur, femur_subjects) = coxa_shape::gias::llp26_with_subjects(&femur_model, false, &[coxa_shape::gias::Llp26Part::Femur], coxa_case::population::FEMUR_DIVISIONS)?;
    let pelvis = coxa_case::population::pelvis_model(&atlas).map_err(anyhow::Error::msg)?;
    let dir = atlas.join("surface");
    let mut ids: Vec<u32> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok()).collect();
    ids.sort_unstable();
    for index in [0usize, 27] {
        let sample = coxa_case::population::ShapeSample { pelvis_model: atlas.clone(), femur_model: femur_model.clone(), seed: 0, index, joint_space_mm: 3.0, n_modes: None, training: true };
        let s = coxa_case::population::subject(&sample).map_err(anyhow::Error::msg)?;
        // The pelvis is the atlas subject's own left hip, up to the rigid Procrustes pose.
        let hip = &s.meshes.iter().find(|(n, _)| n == "hip_left").context("hip_left")?.1;
        let own = coxa_io::mesh::read_vtk(&dir.join(format!("LeftHip{}_cpd.vtk", ids[index])))?;
        let pose = coxa_shape::Pose::between(hip.vertices(), own.vertices(), false);
        let rms = (hip.vertices().iter().zip(own.vertices()).map(|(a, b)| (pose.apply(a) - b).norm_squared()).sum::<f64>() / own.vertices().len() as f64).sqrt();
        // The femur is LLP26's training subject index % 26, with that subject's angles.
        let k = index % 26;
        let truth = coxa_anatomy::landmarks::femur_landmarks(&coxa_core::Mesh::new(femur.instance(&femur_subjects[k])?, femur.faces().to_vec())?, Side::Left)?;
        let placed = &s.meshes.iter().find(|(n, _)| n == "femur_left").context("femur_left")?.1;
        let got = coxa_anatomy::landmarks::femur_landmarks(placed, Side::Left)?;
        let (av_t, av_g) = (truth.anteversion_deg.context("condyles")?, got.anteversion_deg.context("condyles")?);
        eprintln!(
            "training case {}: pelvis = atlas subject {} to {rms:.1e} mm RMS; femur = LLP26 subject {} (anteversion {av_t:.2} deg, placed {av_g:.2}; pelvis weights SD units {:?}...)",
            index + 1,
            ids[index],
            k + 1,
            s.record["pelvis_mode_weights_sd"].as_array().map(|a| a.iter().take(3).map(|v| v.as_f64().unwrap_or(f64::NAN)).map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>())
        );
        assert!(rms < 1e-6, "the pelvis is not the training subject ({rms} mm)");
        assert!((av_t - av_g).abs() < 0.5, "anteversion {av_t} vs placed {av_g}");
        assert_eq!(s.record["subjects"], "training");
        assert_eq!(s.record["femur_training_subject"], k + 1);
        assert_eq!(s.record["draw"], 0);
    }
    assert_eq!(pelvis.info().provenance.n_subjects, ids.len());
    // A .ssm pelvis model has no training subjects.
    let tmp = tempfile::tempdir()?;
    let ssm = tmp.path().join("pelvis.ssm");
    pelvis.save(&ssm)?;
    let file = scenario(tmp.path(), &ssm, "subjects = \"training\"")?;
    let out = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(2) && err.trim().lines().count() == 1 && err.contains("no training subjects"), "{err}");
    Ok(())
}

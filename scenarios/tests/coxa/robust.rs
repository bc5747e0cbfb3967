//! Issue 16 at the level of the `coxa` program: batch runs killed at random moments and their
//! finished cases damaged never make a rerun trust a partial result; no patient identity (name,
//! ID, birth date, institution, names inside free-text DICOM fields) reaches any output; bone
//! surfaces in other units or with a stray vertex are refused or cleaned, never planned on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::common::shared_data;

/// `coxa` with no Vulkan driver: nothing these tests run needs one (the report's pictures are
/// drawn on the CPU), and a stray use of the viewer's renderer would fail here.
fn coxa_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coxa"));
    // The plans' clock fixed (SOURCE_DATE_EPOCH, as in slurm.rs): the reports name when they
    // were planned (issue 60), and a rerun must equal the undisturbed run in everything else.
    c.args(args).env("COXA_LOG", "warn").env("VK_ICD_FILENAMES", "/nonexistent/coxa-robust-test.json").env("SOURCE_DATE_EPOCH", "1795000000");
    c
}

fn coxa(args: &[&str]) -> Output {
    coxa_cmd(args).output().expect("coxa runs")
}

fn text(out: &Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// The kill-and-damage test (issue 16): a two-case batch is killed (SIGKILL) at random moments
/// at least 20 times (`COXA_KILLS`), finished cases are damaged between runs (a file truncated,
/// deleted or one byte changed), and the final rerun must give exactly the results of an
/// undisturbed run, having redone every damaged case.
#[test]
fn killed_and_damaged_runs_never_trust_a_partial_result() -> Result<()> {
    let Some(vsd) = shared_data("vsd_bones") else {
        return Ok(());
    };
    let kills: usize = std::env::var("COXA_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let tmp = tempfile::tempdir()?;
    let v = |f: &str| vsd.join(f).display().to_string();
    let scenario = |out: &str| {
        format!(
            "schema_version = 1\noutput_dir = \"{out}\"\n[[cases]]\nname = \"right\"\nmeshes = {{ hip_right = \"{}\", femur_right = \"{}\", hip_left = \"{}\" }}\n[[cases]]\nname = \"left\"\nside = \"left\"\nmeshes = {{ hip_left = \"{}\", femur_left = \"{}\", hip_right = \"{}\" }}\n[implants]\nhead_diameter_mm = [28, 36]\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n[rom]\nmotions = [\"flexion\", \"internal_rotation_90_flexion\", \"extension\"]\n[report]\nsafe_zone_map = false\n",
            v("z013_Hip_R.stl"),
            v("z013_Femur_R.stl"),
            v("z013_Hip_L.stl"),
            v("z013_Hip_L.stl"),
            v("z013_Femur_L.stl"),
            v("z013_Hip_R.stl")
        )
    };
    // The undisturbed reference, timed.
    let reference = tmp.path().join("reference.toml");
    std::fs::write(&reference, scenario("reference"))?;
    let t0 = Instant::now();
    let out = coxa(&["run", reference.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let full = t0.elapsed();
    let expected = |root: &Path, case: &str| read_json(&root.join("cases").join(case).join("case.json"));

    let file = tmp.path().join("batch.toml");
    std::fs::write(&file, scenario("batch"))?;
    let results = tmp.path().join("batch");
    let mut rng = StdRng::seed_from_u64(16);
    let (mut killed, mut finished, mut damaged) = (0usize, 0usize, Vec::<(String, String, &str)>::new());
    // Until `kills` runs were killed mid-run (a run that finishes first counts as finished).
    let mut runs = 0usize;
    while killed < kills && runs < 4 * kills {
        runs += 1;
        // Its messages kept in a file (a pipe nobody reads could fill and stall it).
        let log = tmp.path().join("run.log");
        let mut child = coxa_cmd(&["run", file.to_str().unwrap(), "--quiet"]).stdout(Stdio::null()).stderr(std::fs::File::create(&log)?).spawn()?;
        let at = full.mul_f64(rng.random_range(0.0..1.1));
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break Some(s);
            }
            if start.elapsed() >= at {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        match status {
            Some(s) => {
                assert!(s.success(), "an undisturbed rerun succeeds (run {runs}, after {killed} kills): {}", std::fs::read_to_string(&log).unwrap_or_default());
                finished += 1;
            }
            None => {
                child.kill()?;
                child.wait()?;
                killed += 1;
            }
        }
        // Whatever the moment of the kill, a folder under cases/ is a finished case or a
        // damaged one this test made: never a half-written one.
        for case in ["right", "left"] {
            let dir = results.join("cases").join(case);
            if dir.exists() && !damaged.iter().any(|(c, _, _)| c == case) {
                coxa_case::manifest::verify(&dir).unwrap_or_else(|e| panic!("after a kill, cases/{case} is not a whole case: {e}"));
            }
        }
        // Damage a finished case half of the time, and always when both are whole (else the
        // next run has nothing to do and cannot be killed mid-run).
        let both_whole = ["right", "left"].iter().all(|c| coxa_case::manifest::verify(&results.join("cases").join(c)).is_ok());
        if both_whole || rng.random_bool(0.5) {
            let case = ["right", "left"][rng.random_range(0..2)];
            let dir = results.join("cases").join(case);
            if let Ok(m) = coxa_case::manifest::verify(&dir) {
                let e = &m.files[rng.random_range(0..m.files.len())];
                let p = dir.join(&e.path);
                let how = ["truncated", "deleted", "byte changed", "manifest deleted"][rng.random_range(0..4)];
                match how {
                    "truncated" => std::fs::write(&p, &std::fs::read(&p)?[..(e.bytes / 2) as usize])?,
                    "deleted" => std::fs::remove_file(&p)?,
                    "byte changed" => {
                        let mut b = std::fs::read(&p)?;
                        if b.is_empty() {
                            b.push(b'x');
                        } else {
                            let i = rng.random_range(0..b.len());
                            b[i] ^= 0x20;
                        }
                        std::fs::write(&p, b)?;
                    }
                    _ => std::fs::remove_file(dir.join("manifest.json"))?,
                }
                damaged.push((case.to_string(), e.path.clone(), how));
            }
        }
        // A damaged case stays damaged until a run verifies it; forget it once redone.
        damaged.retain(|(c, _, _)| coxa_case::manifest::verify(&results.join("cases").join(c)).is_err());
    }
    // The final rerun, undisturbed.
    let out = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(results.join("log.jsonl"))?;
    let n_damaged_seen = log.lines().filter(|l| l.contains("\"case_damaged\"")).count();
    let n_partial = log.lines().filter(|l| l.contains("\"run_start\"")).count();
    eprintln!(
        "kill test: {runs} runs, {killed} killed mid-run, {finished} finished before the kill; {n_damaged_seen} damaged cases found and redone; {n_partial} runs started; reference run {:.1} s",
        full.as_secs_f64()
    );
    assert_eq!(killed, kills, "{kills} runs killed mid-run ({runs} runs)");
    for case in ["right", "left"] {
        let dir = results.join("cases").join(case);
        coxa_case::manifest::verify(&dir).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(expected(&results, case), expected(&tmp.path().join("reference"), case), "{case}: the same results as an undisturbed run");
        for f in files_under(&dir) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.contains(".tmp-"), "no temporary file left in a case: {}", f.display());
        }
        // The report equals the reference's but for the scenario's name (its file stem); the
        // sweep table and the case summary byte for byte.
        let ref_dir = tmp.path().join("reference/cases").join(case);
        let unnamed = |p: &Path| {
            let mut v = read_json(p);
            v["scenario"] = Value::Null;
            v
        };
        assert_eq!(unnamed(&dir.join("report.json")), unnamed(&ref_dir.join("report.json")), "{case}/report.json");
        for f in ["rom_sweep.csv", "case.json"] {
            assert!(std::fs::read(dir.join(f))? == std::fs::read(ref_dir.join(f))?, "{case}/{f} differs from the undisturbed run's");
        }
    }
    assert!(!results.join("cases/.right.partial").exists() && !results.join("cases/.left.partial").exists(), "scratch cleared");
    Ok(())
}

/// Identifying values written into the DICOM series of the PHI test.
const PHI: [(&str, &str); 8] = [
    ("PatientBirthDate", "19510203"),
    ("InstitutionName", "St Elsewhere Hospital"),
    ("ReferringPhysicianName", "HOUSE^GREGORY"),
    ("StudyDescription", "Hip CT of Jane Doe for Dr House"),
    ("SeriesDescription", "pelvis JANE DOE followup"),
    ("ProtocolName", "Doe protocol 778899"),
    ("ImageComments", "patient Jane Doe, MRN 778899"),
    ("AccessionNumber", "ACC55443"),
];

/// Strings none of which may appear (any case) in any output unless asked (each specific
/// enough not to occur by chance: "doe" alone is in "does").
const NEEDLES: [&str; 9] = ["jane", "doe^", "pid-0042", "19510203", "elsewhere", "house^gregory", "dr house", "778899", "acc55443"];

/// The parts of an output file that can carry text: a binary STL's 80-byte header, a NIfTI's
/// header and extensions (decompressed), a PNG's chunks other than the pixels; text files whole.
fn text_parts(path: &Path, bytes: &[u8]) -> Vec<u8> {
    let name = path.to_string_lossy();
    if name.ends_with(".stl") && !bytes.starts_with(b"solid") {
        return bytes[..bytes.len().min(80)].to_vec();
    }
    if name.ends_with(".nii.gz") || name.ends_with(".nii") {
        let raw = if name.ends_with(".gz") {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).expect("gzip");
            out
        } else {
            bytes.to_vec()
        };
        let vox_offset = f32::from_le_bytes(raw[108..112].try_into().unwrap()) as usize;
        return raw[..vox_offset.clamp(348, raw.len())].to_vec();
    }
    if name.ends_with(".png") {
        let mut out = Vec::new();
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind = &bytes[at + 4..at + 8];
            let end = (at + 8 + len).min(bytes.len());
            if kind != b"IDAT" {
                out.extend_from_slice(&bytes[at + 8..end]);
            }
            at = end + 4;
        }
        return out;
    }
    if name.ends_with(".html") {
        // The pictures inlined as base64 are the case's own `pictures/*.png`, scanned above as
        // files (their text chunks; pixel data is not text). Their base64 is left out here: any
        // four letters turn up in it by chance (a 400 kB report held "jane" once).
        const DATA: &[u8] = b"data:image/png;base64,";
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        while let Some(p) = bytes[at..].windows(DATA.len()).position(|w| w == DATA) {
            let start = at + p + DATA.len();
            out.extend_from_slice(&bytes[at..start]);
            at = start + bytes[start..].iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')).unwrap_or(bytes.len() - start);
        }
        out.extend_from_slice(&bytes[at..]);
        return out;
    }
    bytes.to_vec()
}

fn leaks(bytes: &[u8]) -> Vec<&'static str> {
    let lower: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
    NEEDLES.iter().copied().filter(|n| lower.windows(n.len()).any(|w| w == n.as_bytes())).collect()
}

/// The PHI test (issue 16): every command on a DICOM series carrying a patient name, ID, birth
/// date, institution and names inside its free-text fields; every output file (JSON, CSV, HTML,
/// logs, STL and NIfTI headers, pictures) and every line printed is scanned for them.
#[test]
fn no_patient_identity_in_any_output() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut spec = coxa_anatomy::phantom::PhantomSpec::default();
    spec.voxel_mm = 2.0;
    let phantom = coxa_anatomy::phantom::hip_phantom(&spec);
    let who = coxa_io::dicom::PatientIdentity { name: Some("DOE^JANE".into()), id: Some("PID-0042".into()), other: PHI.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let ct = tmp.path().join("series1");
    coxa_io::dicom::write_series(&phantom.ct, &ct, &coxa_io::dicom::WriteSeriesOptions::new().with_patient(who.clone()).with_uid_seed(1))?;
    // A folder with two series: the error that lists them must not quote their descriptions.
    let two = tmp.path().join("two");
    coxa_io::dicom::write_series(&phantom.ct, &two.join("a"), &coxa_io::dicom::WriteSeriesOptions::new().with_patient(who.clone()).with_uid_seed(2))?;
    coxa_io::dicom::write_series(&phantom.ct, &two.join("b"), &coxa_io::dicom::WriteSeriesOptions::new().with_patient(who).with_uid_seed(3).with_file_prefix("b_"))?;
    let ct_s = ct.to_str().unwrap();
    let out = |n: &str| tmp.path().join("out").join(n);
    std::fs::create_dir_all(tmp.path().join("out"))?;
    let scn = tmp.path().join("phi.toml");
    std::fs::write(
        &scn,
        format!(
            "schema_version = 1\noutput_dir = \"{}\"\n[[cases]]\nname = \"c1\"\nct = \"series1\"\n[[cases]]\nname = \"c2\"\nct = \"two\"\n[implants]\nhead_diameter_mm = 32\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n[rom]\nmotions = [\"flexion\"]\n[report]\nsafe_zone_map = false\n",
            out("run").display()
        ),
    )?;
    let runs: Vec<(Vec<String>, bool)> = vec![
        (vec!["inspect".into(), ct_s.into()], true),
        (vec!["inspect".into(), ct_s.into(), "--json".into()], true),
        (vec!["inspect".into(), two.to_str().unwrap().into()], false),
        (vec!["anatomy".into(), "--ct".into(), ct_s.into(), "--out".into(), out("anatomy").display().to_string()], true),
        // A 10 deg grid: what is searched is the outputs, not the plan.
        (vec!["plan".into(), "--ct".into(), ct_s.into(), "--side".into(), "right".into(), "--grid-step-deg".into(), "10".into(), "--out".into(), out("plan").display().to_string()], true),
        (vec!["run".into(), scn.display().to_string(), "--quiet".into()], false),
        (vec!["demo".into(), "--ct".into(), ct_s.into(), "--quiet".into(), "--out".into(), out("demo").display().to_string()], true),
    ];
    for (args, should_succeed) in &runs {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let t0 = Instant::now();
        let o = coxa(&a);
        eprintln!("PHI test: coxa {} took {:.1} s", a[0], t0.elapsed().as_secs_f64());
        assert_eq!(o.status.success(), *should_succeed, "{a:?}: {}", text(&o));
        let printed = [o.stdout.clone(), o.stderr.clone()].concat();
        assert!(leaks(&printed).is_empty(), "{a:?} printed {:?}: {}", leaks(&printed), text(&o));
    }
    // The run's failed case is the two-series folder; its error is in failed/c2.json.
    assert!(out("run").join("failed/c2.json").is_file());
    let files = files_under(&tmp.path().join("out"));
    assert!(files.len() > 20, "outputs written: {}", files.len());
    let kinds: std::collections::BTreeSet<String> = files.iter().filter_map(|f| f.extension().map(|e| e.to_string_lossy().into_owned())).collect();
    eprintln!("PHI test: {} output files scanned ({kinds:?})", files.len());
    for f in &files {
        let bytes = text_parts(f, &std::fs::read(f)?);
        assert!(leaks(&bytes).is_empty(), "{} carries {:?}", f.display(), leaks(&bytes));
    }
    // Asked for, inspect shows them.
    let o = coxa(&["inspect", ct_s, "--json", "--show-phi"]);
    let s = String::from_utf8_lossy(&o.stdout).to_lowercase();
    assert!(s.contains("doe^jane") && s.contains("pelvis jane doe followup") && s.contains("19510203"), "{s}");
    assert!(NEEDLES.iter().filter(|n| s.contains(*n)).count() >= 7, "the needles are what the series carries: {s}");
    Ok(())
}

fn ascii_stl(mesh: &coxa_core::Mesh, scale: f64) -> String {
    let mut s = String::from("solid bone\n");
    for t in mesh.triangles() {
        s.push_str("facet normal 0 0 0\nouter loop\n");
        for &i in t {
            let p = mesh.vertices()[i as usize] * scale;
            s.push_str(&format!("vertex {:e} {:e} {:e}\n", p.x, p.y, p.z));
        }
        s.push_str("endloop\nendfacet\n");
    }
    s.push_str("endsolid bone\n");
    s
}

/// Issue 16: bone surfaces in metres gave 0.19 mm acetabula; a stray vertex 1e8 mm away kept
/// `plan` busy past 120 s and 1e4 mm changed the plan. Now: metres refused with the fix,
/// `--mesh-units m` gives the millimetre plan, a stray vertex is dropped and the plan is the
/// clean one.
#[test]
fn mesh_units_and_stray_vertices() -> Result<()> {
    let Some(vsd) = shared_data("vsd_bones") else {
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let hip = coxa_io::mesh::read_mesh(&vsd.join("z013_Hip_R.stl"))?;
    let femur = coxa_io::mesh::read_mesh(&vsd.join("z013_Femur_R.stl"))?;
    let write = |name: &str, m: &coxa_core::Mesh, scale: f64| -> PathBuf {
        let p = tmp.path().join(name);
        std::fs::write(&p, ascii_stl(m, scale)).unwrap();
        p
    };
    let plan = |hip: &Path, femur: &Path, extra: &[&str], out: &str| -> Output {
        let h = format!("hip_right={}", hip.display());
        let f = format!("femur_right={}", femur.display());
        let o = tmp.path().join(out);
        // A 10 deg grid: the three plans are compared with each other, and searched alike.
        let mut args = vec!["plan", "--mesh", &h, "--mesh", &f, "--grid-step-deg", "10", "--out", o.to_str().unwrap()];
        args.extend_from_slice(extra);
        coxa(&args)
    };
    let (hm, fm) = (write("hip_m.stl", &hip, 1e-3), write("femur_m.stl", &femur, 1e-3));
    let o = plan(&hm, &fm, &[], "metres");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("in metres") && err.contains("--mesh-units m"), "{err}");
    assert!(!tmp.path().join("metres").exists(), "nothing written");
    let (hmm, fmm) = (write("hip_mm.stl", &hip, 1.0), write("femur_mm.stl", &femur, 1.0));
    let o = plan(&hmm, &fmm, &[], "clean");
    assert!(o.status.success(), "{}", text(&o));
    let clean = read_json(&tmp.path().join("clean/plan.json"));
    let o = plan(&hm, &fm, &["--mesh-units", "m"], "scaled");
    assert!(o.status.success(), "{}", text(&o));
    let scaled = read_json(&tmp.path().join("scaled/plan.json"));
    let sizes = |v: &Value| (v["stem"]["size"].clone(), v["cup"]["outer_diameter_mm"].clone(), v["head"]["diameter_mm"].clone());
    assert_eq!(sizes(&scaled), sizes(&clean), "metres scaled by --mesh-units m give the millimetre plan's sizes");
    // A stray vertex 1e8 mm away in the femur: dropped, noted, the same plan, quickly.
    let (mut v, mut t) = femur.clone().into_parts();
    v.push(nalgebra::Point3::new(1e8, 0.0, 0.0));
    let k = (v.len() - 1) as u32;
    t.push([t[0][0], t[0][1], k]);
    let stray = write("femur_stray.stl", &coxa_core::Mesh::new(v, t)?, 1.0);
    let t0 = Instant::now();
    let o = plan(&hmm, &stray, &[], "stray");
    assert!(o.status.success(), "{}", text(&o));
    eprintln!("plan with a stray vertex: {:.1} s", t0.elapsed().as_secs_f64());
    let with = read_json(&tmp.path().join("stray/plan.json"));
    assert!(with.to_string().contains("stray vertex"), "the plan notes the dropped vertex");
    assert_eq!(sizes(&with), sizes(&clean), "a dropped stray vertex leaves the plan's sizes as they were");
    assert_eq!(with["cup"]["radiographic_inclination_deg"], clean["cup"]["radiographic_inclination_deg"]);
    assert!(clean["cup"]["radiographic_inclination_deg"].is_number());
    Ok(())
}

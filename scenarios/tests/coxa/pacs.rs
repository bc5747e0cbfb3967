//! `coxa pacs` end to end against a live Orthanc (started by the test, see
//! models/pacs/tests/common): echo, find, pull over DICOMweb, DIMSE C-GET and DIMSE C-MOVE with
//! the planning series chosen, the whole pipeline on the pull folder (no UID typed), push over
//! DICOMweb and again over DIMSE (no duplicate) with the source series found from the case, and
//! no patient identity in any output but the DICOM results; DICOMweb over https with a hospital
//! CA and a bearer token, and its faults through the binary.

#[path = "../../../models/pacs/tests/common/mod.rs"]
mod orthanc;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use orthanc::{ACCESSION, Orthanc, PATIENT_ID, PATIENT_NAME, Setup, Study};

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "info").env_remove("COXA_PACS_TOKEN").output().expect("coxa runs")
}

fn coxa_env(args: &[&str], key: &str, value: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "info").env(key, value).output().expect("coxa runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "coxa failed:\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn fails(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "exit status 2 expected: {}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

fn no_phi(what: &str, text: &str) {
    for phi in [PATIENT_NAME, "Testpatient", PATIENT_ID, ACCESSION] {
        assert!(!text.contains(phi), "{what} shows patient identity {phi:?}: {text}");
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn pacs_find_pull_plan_push_end_to_end() {
    let Some(data) = orthanc::data_dir() else { return };
    let move_port = orthanc::free_port();
    let mut config = serde_json::Map::new();
    config.insert("DicomModalities".into(), serde_json::json!({ "coxa": ["COXA", "127.0.0.1", move_port] }));
    config.insert("DicomAlwaysAllowMove".into(), true.into());
    let Some(server) = Orthanc::start_with(Setup { config, ..Default::default() }) else { return };
    let study = Study::build(&data);
    server.upload(&study.all_files());
    let work = tempfile::tempdir().unwrap();
    let w = |p: &str| work.path().join(p);

    // echo: one line with the round trip, over both protocols.
    for url in [server.dimse(), server.web()] {
        let out = ok(&coxa(&["pacs", "echo", "--server", &url]));
        assert!(out.contains("answered") && out.contains(" ms"), "{out}");
    }

    // find: by patient ID over DICOMweb; identity only with --show-phi.
    let out = ok(&coxa(&["pacs", "find", "--server", &server.web(), "--patient-id", PATIENT_ID, "--series"]));
    assert!(out.contains(&study.study_uid) && out.contains(&study.thin_uid) && out.contains(&study.hips_uid), "{out}");
    no_phi("coxa pacs find", &out);
    let out = ok(&coxa(&["pacs", "find", "--server", &server.dimse(), "--accession", ACCESSION, "--show-phi"]));
    assert!(out.contains(PATIENT_NAME) && out.contains(&study.study_uid), "{out}");

    // pull over DICOMweb, DIMSE C-GET and DIMSE C-MOVE (coxa's storage SCP on the port
    // Orthanc's modality entry names): both CT series each time, the 3 mm series covering the
    // hips chosen over the 2 mm one, the same files.
    let (move_port, web, dimse) = (move_port.to_string(), server.web(), server.dimse());
    let pulls: [(&str, Vec<&str>); 3] =
        [("pull-web", vec!["--server", &web]), ("pull-get", vec!["--server", &dimse]), ("pull-move", vec!["--server", &dimse, "--retrieve", "move", "--move-port", &move_port])];
    for (dir, how) in &pulls {
        let pull_dir = w(dir);
        let mut args = vec!["pacs", "pull", "--study", &study.study_uid, "--out", pull_dir.to_str().unwrap()];
        args.extend(how);
        let out = ok(&coxa(&args));
        no_phi("coxa pacs pull", &out);
        let line = out.lines().find(|l| l.starts_with("planning series:")).unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains(&format!("series {} (112 axial CT slices 3.00 mm apart", study.hips_uid)), "{dir}: {line}");
        assert!(line.contains(&format!("thinner but not covering both hips: {} (2.00 mm)", study.thin_uid)), "{dir}: {line}");
        let record = std::fs::read_to_string(pull_dir.join("pacs.json")).unwrap();
        no_phi("pacs.json", &record);
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        assert_eq!(record["planning"]["series_uid"], study.hips_uid.as_str(), "{dir}");
        let hips_dir = pull_dir.join(record["planning"]["dir"].as_str().unwrap());
        assert_eq!(orthanc::pixel_bytes(&hips_dir), orthanc::pixel_bytes(&study.hips), "{dir}: the planning series bit for bit");
    }
    // Each pull record matches its schema (pacs.schema.json), by Python's jsonschema.
    if let Some(python) = crate::common::peer_python() {
        let schema = crate::common::workspace_root().join("schemas/pacs.schema.json");
        let pairs: Vec<(PathBuf, PathBuf)> = pulls.iter().map(|(dir, _)| (schema.clone(), w(dir).join("pacs.json"))).collect();
        let scratch = tempfile::tempdir().unwrap();
        if let Some(bad) = crate::records::invalid(&python, &pairs, scratch.path()) {
            assert!(bad.is_empty(), "pull records that do not match pacs.schema.json: {bad:?}");
        }
    }

    // The DICOMweb pull folder planned by `coxa plan` (`--ct` the pull folder itself: no series
    // UID typed) and pushed back with no --source (the source series found from the case), over
    // DICOMweb, then again over DIMSE below. The DIMSE pulls hold the same planning series bit
    // for bit (above): planning each of them too (the real CT three times, most of this test's
    // time in CI, issue 58) tested nothing more.
    let before = server.n_instances();
    let mut first_case = None;
    {
        let (dir, push_to) = ("pull-web", &web);
        let case = w(&format!("plan-{dir}"));
        let out = ok(&coxa(&["plan", "--ct", w(dir).to_str().unwrap(), "--side", "right", "--out", case.to_str().unwrap()]));
        no_phi("coxa plan on the pull folder", &out);
        let inputs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case.join("inputs.json")).unwrap()).unwrap();
        assert_eq!(PathBuf::from(inputs["ct"].as_str().unwrap()), std::fs::canonicalize(w(dir)).unwrap().join(&study.hips_uid), "{dir}: inputs.json names the planning series");
        for f in files_under(&case) {
            no_phi(&f.display().to_string(), &String::from_utf8_lossy(&std::fs::read(&f).unwrap()));
        }
        assert!(case.join("report.pdf").is_file() && case.join("anatomy/labels.nii.gz").is_file(), "{dir}: coxa plan writes the whole case folder");
        let keep = w(&format!("keep-{dir}"));
        let out = ok(&coxa(&["pacs", "push", "--server", push_to, case.to_str().unwrap(), "--keep", keep.to_str().unwrap()]));
        no_phi("coxa pacs push", &out);
        let kept = files_under(&keep);
        let n = kept.len();
        assert!(n >= 4, "SEG, SR, PDF and at least one picture: {out}");
        assert!(out.contains(&format!("pushed {n} objects")) && out.contains(&format!("{n} stored")) && out.contains(&study.study_uid), "{out}");
        // In the source study on Orthanc: every object pushed, among them SEG, SR and the PDF.
        let in_study = server.study_instances(&study.study_uid);
        let mut modalities = Vec::new();
        for f in &kept {
            let o = dicom_object::open_file(f).unwrap();
            let text = |tag| o.element(tag).unwrap().to_str().unwrap().trim_end_matches(['\0', ' ']).to_string();
            assert!(in_study.contains(&text(dicom_dictionary_std::tags::SOP_INSTANCE_UID)), "{dir}: {} is in the source study", f.display());
            // The DICOM results carry the patient's identity (and nothing else does).
            assert_eq!(text(dicom_dictionary_std::tags::PATIENT_NAME), PATIENT_NAME);
            assert_eq!(text(dicom_dictionary_std::tags::STUDY_INSTANCE_UID), study.study_uid);
            assert_ne!(text(dicom_dictionary_std::tags::SERIES_INSTANCE_UID), study.hips_uid, "a new series");
            modalities.push(text(dicom_dictionary_std::tags::MODALITY));
        }
        for m in ["SEG", "SR", "DOC"] {
            assert!(modalities.iter().any(|x| x == m), "{dir}: {m} pushed: {modalities:?}");
        }
        let study_modalities = server.study_modalities(&study.study_uid);
        assert!(["SEG", "SR", "DOC"].iter().all(|m| study_modalities.iter().any(|x| x == m)), "{study_modalities:?}");
        first_case.get_or_insert((case, n));
    }
    // The case again over DIMSE (C-STORE): same UIDs, nothing duplicated.
    let (case, n) = first_case.unwrap();
    let after = server.n_instances();
    assert!(after >= before + n, "{before} + {n} <= {after}");
    ok(&coxa(&["pacs", "push", "--server", &dimse, case.to_str().unwrap()]));
    assert_eq!(server.n_instances(), after, "a second push must not duplicate");
    #[cfg(feature = "window")]
    push_sends_the_saved_revision(&case, &dimse, &study.study_uid, &w("keep-revision"));

    // A scenario case that names the study on the PACS: pulled into the results, planned on the
    // chosen series.
    let scn = w("pacs.toml");
    std::fs::write(
        &scn,
        format!(
            "schema_version = 1\nname = \"from the PACS\"\noutput_dir = \"scn-results\"\n\n[[cases]]\nname = \"p1\"\npacs = {{ server = \"{}\", study = \"{}\" }}\nside = \"right\"\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\nstem_anteversion_deg = 15\n",
            server.web(),
            study.study_uid
        ),
    )
    .unwrap();
    let out = ok(&coxa(&["run", scn.to_str().unwrap()]));
    no_phi("coxa run on a PACS case", &out);
    let results = w("scn-results");
    assert!(results.join("cases/p1/case.json").is_file() && results.join("cases/p1/report.html").is_file(), "{out}");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(results.join("pacs/p1/pacs.json")).unwrap()).unwrap();
    assert_eq!(record["planning"]["series_uid"], study.hips_uid.as_str());
    for f in files_under(&results) {
        if f.extension().is_some_and(|e| e == "dcm") {
            continue; // the pulled series itself
        }
        no_phi(&f.display().to_string(), &String::from_utf8_lossy(&std::fs::read(&f).unwrap()));
    }
    // Its case pushed with no --source: the source series found from the case.
    let out = ok(&coxa(&["pacs", "push", "--server", &web, results.join("cases/p1").to_str().unwrap(), "--dry-run"]));
    assert!(out.contains(&format!("for study {}", study.study_uid)), "{out}");
    // A bad server in a scenario is an error naming the line, before anything runs.
    std::fs::write(w("bad.toml"), "schema_version = 1\n[[cases]]\nname = \"p1\"\npacs = { server = \"ftp://x\", study = \"1.2.3\" }\n").unwrap();
    let err = fails(&coxa(&["run", w("bad.toml").to_str().unwrap()]));
    assert!(err.contains("bad PACS address") && err.contains("line 4"), "{err}");

    // Faults: one line each, exit status 2, nothing written as complete.
    let err = fails(&coxa(&["pacs", "pull", "--server", &server.web(), "--study", "1.2.3.999", "--out", w("missing").to_str().unwrap()]));
    assert!(err.contains("study 1.2.3.999 is not on the PACS"), "{err}");
    assert!(!w("missing").join("pacs.json").exists());
    let down = orthanc::free_port();
    let err = fails(&coxa(&["pacs", "find", "--server", &format!("dicom://ORTHANC@127.0.0.1:{down}"), "--patient-id", "X"]));
    assert!(err.contains("cannot reach the PACS"), "{err}");
    let err = fails(&coxa(&["pacs", "find", "--server", "ftp://x"]));
    assert!(err.contains("bad PACS address"), "{err}");
}

/// DICOMweb over https with the hospital's CA and a bearer token, through the binary: with
/// `--ca-bundle` and the token (from `--token-file`, or from COXA_PACS_TOKEN) echo and pull work;
/// a certificate from another CA, no bundle, a wrong or missing token: one line naming the cause
/// and the fix, exit status 2, nothing written, the token never shown.
#[test]
fn pacs_https_ca_bundle_and_token_through_the_binary() {
    let Some(data) = orthanc::data_dir() else { return };
    let work = tempfile::tempdir().unwrap();
    let w = |p: &str| work.path().join(p);
    let (server_pem, ca) = orthanc::make_certificates(work.path(), "hospital");
    let (_, other_ca) = orthanc::make_certificates(work.path(), "other");
    let token = "hospital-token-7f3a";
    let Some(server) = Orthanc::start_with(Setup { tls: Some((server_pem, ca.clone())), token: Some(token.into()), ..Default::default() }) else { return };
    let study = Study::build(&data);
    server.upload(&orthanc::dcm_files(&study.thin));
    std::fs::write(w("token.txt"), format!("{token}\n")).unwrap();
    std::fs::write(w("wrong.txt"), "not-the-token\n").unwrap();
    let web = server.web();
    let (ca_s, other_s, token_s, wrong_s) = (ca.to_str().unwrap(), other_ca.to_str().unwrap(), w("token.txt"), w("wrong.txt"));
    let (token_s, wrong_s) = (token_s.to_str().unwrap(), wrong_s.to_str().unwrap());

    let out = ok(&coxa(&["pacs", "echo", "--server", &web, "--ca-bundle", ca_s, "--token-file", token_s]));
    assert!(out.contains("answered") && !out.contains(token), "{out}");
    let out = ok(&coxa_env(&["pacs", "echo", "--server", &web, "--ca-bundle", ca_s], "COXA_PACS_TOKEN", token));
    assert!(out.contains("answered"), "{out}");
    let pulled = w("pulled");
    let out = ok(&coxa(&["pacs", "pull", "--server", &web, "--ca-bundle", ca_s, "--token-file", token_s, "--study", &study.study_uid, "--out", pulled.to_str().unwrap(), "--no-choose"]));
    no_phi("coxa pacs pull over https", &out);
    assert!(pulled.join("pacs.json").is_file(), "{out}");

    let faults: [(Vec<&str>, &[&str]); 4] = [
        (vec!["--token-file", token_s], &["certificate", "--ca-bundle"]),
        (vec!["--ca-bundle", other_s, "--token-file", token_s], &["certificate", "does not hold the CA"]),
        (vec!["--ca-bundle", ca_s], &["403", "--token-file", "COXA_PACS_TOKEN"]),
        (vec!["--ca-bundle", ca_s, "--token-file", wrong_s], &["403", "wrong.txt"]),
    ];
    let faulty = w("faulty");
    let faulty_s = faulty.to_str().unwrap();
    for (extra, says) in &faults {
        for cmd in [vec!["pacs", "echo", "--server", &web], vec!["pacs", "find", "--server", &web, "--patient-id", PATIENT_ID]] {
            let mut args = cmd.clone();
            args.extend(extra);
            let err = fails(&coxa(&args));
            for s in *says {
                assert!(err.contains(s), "{args:?}: {s:?} in {err}");
            }
            assert!(!err.contains(token), "the token is never shown: {err}");
        }
        let mut args = vec!["pacs", "pull", "--server", &web, "--study", &study.study_uid, "--out", faulty_s];
        args.extend(extra);
        fails(&coxa(&args));
        assert!(!faulty.exists(), "{args:?}: nothing written");
    }
    let err = fails(&coxa(&["pacs", "echo", "--server", &server.dimse(), "--token-file", token_s]));
    assert!(err.contains("DICOMweb"), "{err}");
}

/// The planning desk's Save (the viewer's revision with the program's report hook, as `coxa view`
/// runs it) and then `coxa pacs push`: the PDF that lands in the source study is the revision's
/// report (issue 41: push sends the current plan), and plan.json's revision is what the report says.
#[cfg(feature = "window")]
fn push_sends_the_saved_revision(case: &Path, server: &str, study_uid: &str, keep: &Path) {
    use coxa_viewer::revision::{CaseStamp, save};
    let (_, _, live) = coxa_viewer::load_case(case, coxa_viewer::LoadOptions { ct: false, muscles: false, live: true }).unwrap();
    let (live, automatic) = live.expect("the pulled case's live model");
    let c0 = live.base_controls();
    let e = live.evaluate(&coxa_viewer::Controls { cup_inclination_deg: c0.cup_inclination_deg + 5.0, ..c0 }).unwrap();
    let saved = save(case, &CaseStamp::take(case).unwrap(), &automatic, &e, Some(&coxa_scenarios::revision::save_hook())).unwrap();
    assert_eq!(saved.number, 1);
    let out = ok(&coxa(&["pacs", "push", "--server", server, case.to_str().unwrap(), "--keep", keep.to_str().unwrap()]));
    no_phi("coxa pacs push after a save", &out);
    let report = std::fs::read(case.join("report.pdf")).unwrap();
    let mut pdfs = 0;
    for f in files_under(keep) {
        let o = dicom_object::open_file(&f).unwrap();
        let text = |tag| o.element(tag).unwrap().to_str().unwrap().trim_end_matches(['\0', ' ']).to_string();
        assert_eq!(text(dicom_dictionary_std::tags::STUDY_INSTANCE_UID), study_uid, "into the source study");
        if text(dicom_dictionary_std::tags::MODALITY) == "DOC" {
            let pdf = o.element(dicom_dictionary_std::tags::ENCAPSULATED_DOCUMENT).unwrap().to_bytes().unwrap();
            // The encapsulated document is padded to an even length.
            assert_eq!(&pdf[..report.len()], &report[..], "the pushed PDF is the revision's report.pdf");
            pdfs += 1;
        }
    }
    assert_eq!(pdfs, 1, "one report pushed: {out}");
    let report_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case.join("report.json")).unwrap()).unwrap();
    let shown = report_json["placement"]["cup_angles"]["radiographic"]["inclination_deg"].as_f64().unwrap();
    assert!((shown - (c0.cup_inclination_deg + 5.0)).abs() < 0.01, "report.json shows the revision's inclination: {shown}");
}

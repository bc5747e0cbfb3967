//! `coxa pacs` end to end against a live Orthanc (started by the test, see
//! models/pacs/tests/common): find, pull over DIMSE with the planning series chosen, the whole
//! pipeline on the pulled series, push over DICOMweb and again over DIMSE (no duplicate), and
//! no patient identity in any output but the DICOM results.

#[path = "../../../models/pacs/tests/common/mod.rs"]
mod orthanc;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use orthanc::{ACCESSION, Orthanc, PATIENT_ID, PATIENT_NAME, Study};

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "info").output().expect("coxa runs")
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
    let Some(server) = Orthanc::start() else { return };
    let study = Study::build(&data);
    server.upload(&study.all_files());
    let work = tempfile::tempdir().unwrap();
    let w = |p: &str| work.path().join(p);

    // find: by patient ID over DICOMweb; identity only with --show-phi.
    let out = ok(&coxa(&["pacs", "find", "--server", &server.web(), "--patient-id", PATIENT_ID, "--series"]));
    assert!(out.contains(&study.study_uid) && out.contains(&study.thin_uid) && out.contains(&study.hips_uid), "{out}");
    no_phi("coxa pacs find", &out);
    let out = ok(&coxa(&["pacs", "find", "--server", &server.dimse(), "--accession", ACCESSION, "--show-phi"]));
    assert!(out.contains(PATIENT_NAME) && out.contains(&study.study_uid), "{out}");

    // pull over DIMSE: both CT series, the 3 mm series covering the hips chosen over the 2 mm one.
    let pull_dir = w("pull");
    let out = ok(&coxa(&["pacs", "pull", "--server", &server.dimse(), "--study", &study.study_uid, "--out", pull_dir.to_str().unwrap()]));
    no_phi("coxa pacs pull", &out);
    let line = out.lines().find(|l| l.starts_with("planning series:")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("series {} (112 axial CT slices 3.00 mm apart", study.hips_uid)), "{line}");
    assert!(line.contains(&format!("thinner but not covering both hips: {} (2.00 mm)", study.thin_uid)), "{line}");
    let record = std::fs::read_to_string(pull_dir.join("pacs.json")).unwrap();
    no_phi("pacs.json", &record);
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["planning"]["series_uid"], study.hips_uid.as_str());
    let hips_dir = pull_dir.join(record["planning"]["dir"].as_str().unwrap());

    // The whole pipeline on the pulled series, then a PDF into the case (the PDF report is
    // another helper's; push encapsulates whatever PDF the case holds).
    let demo = w("demo");
    let out = ok(&coxa(&["demo", "--ct", hips_dir.to_str().unwrap(), "--out", demo.to_str().unwrap()]));
    no_phi("coxa demo on the pulled series", &out);
    let case = std::fs::read_dir(demo.join("cases")).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.')).unwrap();
    for f in files_under(&demo) {
        let bytes = std::fs::read(&f).unwrap();
        no_phi(&f.display().to_string(), &String::from_utf8_lossy(&bytes));
    }
    std::fs::write(case.join("report.pdf"), b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n").unwrap();

    // push over DICOMweb (source: the CT named in the case's inputs.json), keep copies.
    let before = server.n_instances();
    let keep = w("keep");
    let out = ok(&coxa(&["pacs", "push", "--server", &server.web(), case.to_str().unwrap(), "--keep", keep.to_str().unwrap()]));
    no_phi("coxa pacs push", &out);
    let kept = files_under(&keep);
    let n = kept.len();
    assert!(n >= 4, "SEG, SR, PDF and at least one picture: {out}");
    assert!(out.contains(&format!("pushed {n} objects")) && out.contains(&format!("{n} stored")) && out.contains(&study.study_uid), "{out}");
    assert_eq!(server.n_instances(), before + n);
    // The DICOM results carry the patient's identity (and nothing else does).
    for f in &kept {
        let o = dicom_object::open_file(f).unwrap();
        assert_eq!(o.element(dicom_dictionary_std::tags::PATIENT_NAME).unwrap().to_str().unwrap().trim_end(), PATIENT_NAME);
        assert_eq!(o.element(dicom_dictionary_std::tags::STUDY_INSTANCE_UID).unwrap().to_str().unwrap().trim_end_matches('\0'), study.study_uid);
    }
    // Again over DIMSE: same UIDs, nothing duplicated.
    ok(&coxa(&["pacs", "push", "--server", &server.dimse(), case.to_str().unwrap()]));
    assert_eq!(server.n_instances(), before + n, "a second push must not duplicate");

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

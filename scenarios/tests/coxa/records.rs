//! Every record a `coxa run` writes validated against its committed JSON Schema (`schemas/`,
//! issue 44) by Python's `jsonschema`, the reference validator: the phantom run with the CT
//! diagnostics' stages ([`crate::cases::diagnostics_phantom`]) and the demo's planned phantom
//! ([`crate::cases::demo_phantom`]) write every kind of record between them (the learned
//! segmentation's only where ONNX Runtime is found); every JSON file of theirs but 3D Slicer's
//! markups is one. `coxa pacs pull`'s `pacs.json` is validated by the PACS test
//! (`crate::pacs`). The validator must also refuse a record of a wrong type, so that the schemas
//! are not vacuous.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::cases::{demo_phantom, diagnostics_phantom};
use crate::common::{in_ci, peer_python, workspace_root};

const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
pairs = json.load(open(sys.argv[1]))
bad = []
validators = {}
for schema_path, record_path in pairs:
    if schema_path not in validators:
        schema = json.load(open(schema_path))
        Draft202012Validator.check_schema(schema)
        validators[schema_path] = Draft202012Validator(schema)
    for e in list(validators[schema_path].iter_errors(json.load(open(record_path))))[:3]:
        bad.append(f"{record_path}: {e.message} at {list(e.absolute_path)}")
print(json.dumps(bad))
"#;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// The validator's complaints about each (schema, record) pair; `None` when Python's
/// `jsonschema` is missing outside CI (in CI it fails).
pub fn invalid(python: &Path, pairs: &[(PathBuf, PathBuf)], tmp: &Path) -> Option<Vec<String>> {
    let ok = Command::new(python).args(["-c", "import jsonschema"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "{} cannot import jsonschema: pip install -r scripts/requirements-peers.txt", python.display());
        eprintln!("note: skipping the schema validation, pip install jsonschema");
        return None;
    }
    let list = tmp.join("pairs.json");
    std::fs::write(&list, serde_json::to_string(pairs).unwrap()).unwrap();
    let out = Command::new(python).args(["-c", VALIDATE, list.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "the validator failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Each file of `files` paired with the schema it names, and the kinds of record among them.
/// Every JSON file coxa writes is a record of this coxa naming its schema, but 3D Slicer's
/// markups, which carry Slicer's own (`@schema`).
fn schema_pairs(files: &[PathBuf]) -> (Vec<(PathBuf, PathBuf)>, std::collections::BTreeSet<String>) {
    let schemas = workspace_root().join("schemas");
    let (mut pairs, mut kinds) = (Vec::new(), std::collections::BTreeSet::new());
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        if f.to_string_lossy().ends_with(".mrk.json") {
            assert!(v["@schema"].as_str().is_some_and(|s| s.contains("markups-schema")), "{}", f.display());
            continue;
        }
        let schema = v.get("$schema").and_then(Value::as_str).unwrap_or_else(|| panic!("{} names no $schema", f.display()));
        assert_eq!(v["provenance"]["git_revision"], coxa_case::stamp::GIT_REVISION, "{}", f.display());
        assert_eq!(v["schema_version"], coxa_core::provenance::SCHEMA_VERSION, "{}", f.display());
        kinds.insert(schema.trim_end_matches(".schema.json").to_string());
        pairs.push((schemas.join(schema), f.clone()));
    }
    (pairs, kinds)
}

/// Every JSON file under `dir` is a record naming its schema and matches it (Python's
/// `jsonschema`; skipped outside CI without it); returns the kinds of record found.
pub fn assert_folder_matches_schemas(dir: &Path) -> std::collections::BTreeSet<String> {
    let mut files = Vec::new();
    json_files(dir, &mut files);
    let (pairs, kinds) = schema_pairs(&files);
    let tmp = tempfile::tempdir().unwrap();
    if let Some(python) = peer_python()
        && let Some(bad) = invalid(&python, &pairs, tmp.path())
    {
        assert!(bad.is_empty(), "records that do not match their schema:\n{}", bad.join("\n"));
    }
    kinds
}

#[test]
fn every_record_of_a_run_matches_its_schema() {
    let Some(python) = peer_python() else { return };
    let out = diagnostics_phantom().join("out");
    // The demo's run folder (its case is `cases/phantom`).
    let demo = demo_phantom().parent().and_then(Path::parent).unwrap();
    let schemas = workspace_root().join("schemas");
    let mut files = Vec::new();
    json_files(&out, &mut files);
    json_files(demo, &mut files);
    // `coxa radiomics`' JSON, of the phantom's left hip bone.
    let tmp = tempfile::tempdir().unwrap();
    let case = out.join("cases/phantom");
    let features = tmp.path().join("features.json");
    let (ct, labels) = (case.join("input/phantom_ct.nii.gz"), case.join("anatomy/labels.nii.gz"));
    crate::cases::ok(&crate::cases::coxa(&["radiomics", "--image", ct.to_str().unwrap(), "--mask", labels.to_str().unwrap(), "--label", "hip_left", "--out", features.to_str().unwrap()]));
    files.push(features);
    let (pairs, kinds) = schema_pairs(&files);
    // Every kind of record the run writes was found, and every record file of the case is one.
    let mut want = vec!["anatomy", "landmarks", "plan", "rom", "report", "inputs", "case", "summary", "manifest", "pseudo_mri", "lesions", "radiomics", "model", "xray", "phantom_truth", "run"];
    if out.join("cases/phantom/anatomy/segment.json").exists() || demo.join("cases/phantom/anatomy/segment.json").exists() {
        want.push("segment");
    }
    for k in &want {
        assert!(kinds.contains(*k), "no {k} record with a $schema among {kinds:?}");
    }
    for root in [&out, demo] {
        for rel in [
            "cases/phantom/report.json",
            "cases/phantom/manifest.json",
            "cases/phantom/anatomy/anatomy.json",
            "summary.json",
            "run.json",
            "cases/phantom/model.json",
            "cases/phantom/input/phantom_truth.json",
        ] {
            assert!(pairs.iter().any(|(_, f)| *f == root.join(rel)), "{} was not validated", root.join(rel).display());
        }
    }
    let Some(bad) = invalid(&python, &pairs, tmp.path()) else { return };
    assert!(bad.is_empty(), "records that do not match their schema:\n{}", bad.join("\n"));
    // The real CT's demo case and the demo of the realistic phantom (its truth one value per side).
    let realistic = assert_folder_matches_schemas(crate::cases::demo_realistic().1.parent().and_then(Path::parent).unwrap());
    assert!(realistic.contains("phantom_truth") && realistic.contains("xray"), "{realistic:?}");
    if let Some(case) = crate::cases::demo_real_ct() {
        let kinds = assert_folder_matches_schemas(case.parent().and_then(Path::parent).unwrap());
        assert!(kinds.contains("anatomy") && kinds.contains("model") && kinds.contains("xray") && kinds.contains("report"), "{kinds:?}");
    }

    // The same validator refuses a plan whose stem seating depth is text and a ROM record without motions.
    let plan_path = demo_phantom().join("plan.json");
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    plan["stem"]["seat_mm"] = Value::from("deep");
    let rom_path = pairs.iter().map(|(_, f)| f).find(|f| f.parent().is_some_and(|d| d.ends_with("rom"))).unwrap();
    let mut rom: Value = serde_json::from_str(&std::fs::read_to_string(rom_path).unwrap()).unwrap();
    rom.as_object_mut().unwrap().remove("motions");
    let (bad_plan, bad_rom) = (tmp.path().join("plan.json"), tmp.path().join("rom.json"));
    std::fs::write(&bad_plan, plan.to_string()).unwrap();
    std::fs::write(&bad_rom, rom.to_string()).unwrap();
    let bad = invalid(&python, &[(schemas.join("plan.schema.json"), bad_plan), (schemas.join("rom.schema.json"), bad_rom)], tmp.path()).unwrap();
    assert!(bad.iter().any(|b| b.contains("plan.json") && b.contains("'deep' is not of type")), "{bad:?}");
    assert!(bad.iter().any(|b| b.contains("rom.json") && b.contains("'motions' is a required property")), "{bad:?}");
}

/// A plan.json of a wrong type fed back to coxa (`coxa pacs push`, which codes the plan's
/// measurements as a DICOM SR) is refused in one line naming the file and the field's place,
/// exit status 2, before anything is sent.
#[test]
fn a_plan_of_a_wrong_type_is_refused_in_one_line() {
    let Some(series) = crate::common::shared_data("totalseg_dicom_uidfixed") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(demo_phantom().join("plan.json")).unwrap()).unwrap();
    plan["stem"]["seat_mm"] = Value::from("deep");
    std::fs::write(case.join("plan.json"), serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let push = || crate::cases::coxa(&["pacs", "push", case.to_str().unwrap(), "--source", series.to_str().unwrap(), "--dry-run", "--server", "http://127.0.0.1:9/dicom-web"]);
    let one_line = |out: &std::process::Output| -> String {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("note: ")).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        lines[0].to_string()
    };
    // Issue 61: records are checked against the case's manifest before their types, and a folder
    // without one cannot be checked.
    let line = one_line(&push());
    assert!(line.contains("no manifest.json") && line.contains("plan.json"), "{line}");
    // With a manifest that lists it as it is, the plan's type is what is refused.
    coxa_case::manifest::write(&case).unwrap();
    let line = one_line(&push());
    assert!(line.contains("plan.json") && line.contains("is not a plan record of this coxa") && line.contains("invalid type: string \"deep\""), "{line}");
}

//! The JSON Schemas of coxa's records (issue 44): the committed files in `schemas/` are the ones
//! the records' types give (`scripts/schemas` rewrites them), the book lists every one, and a
//! record as written names its schema, the schema version and the revision coxa was built from.

use std::path::{Path, PathBuf};

use coxa_case::records;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    let stale = records::stale_schemas(&root().join("schemas"));
    assert!(stale.is_empty(), "schemas/ differs from the records' types in {stale:?}: run scripts/schemas and commit schemas/");
    assert_eq!(records::schemas().len(), records::RECORDS.len());
}

#[test]
fn every_schema_is_a_2020_12_schema_of_an_object_naming_itself() {
    for (file, text) in records::schemas() {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema", "{file}");
        assert_eq!(v["$id"], file.as_str());
        assert_eq!(v["type"], "object", "{file}");
        assert_eq!(v["properties"]["$schema"]["const"], file.as_str());
        let required: Vec<&str> = v["required"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
        for k in ["$schema", "schema_version", "provenance"] {
            assert!(required.contains(&k), "{file} does not require {k}: {required:?}");
        }
    }
}

#[test]
fn the_book_lists_every_schema() {
    let page = std::fs::read_to_string(root().join("docs/book/src/reference/records.md")).unwrap();
    for (file, _) in records::schemas() {
        assert!(page.contains(&format!("schemas/{file}")), "docs/book/src/reference/records.md does not list {file}");
    }
    let summary = std::fs::read_to_string(root().join("docs/book/src/SUMMARY.md")).unwrap();
    assert!(summary.contains("reference/records.md"), "the records page is not in the book's SUMMARY.md");
}

#[test]
fn a_record_names_its_schema_and_the_revision_coxa_was_built_from() {
    let inputs = coxa_core::CaseInputs::Ct { ct: "ct.nii.gz".into(), labels: None };
    let v: serde_json::Value = serde_json::from_str(&coxa_case::stamp::text("inputs", &inputs).unwrap()).unwrap();
    assert_eq!(v["$schema"], "inputs.schema.json");
    assert_eq!(v["schema_version"], coxa_core::provenance::SCHEMA_VERSION);
    assert_eq!(v["provenance"]["git_revision"], coxa_case::stamp::GIT_REVISION);
    assert_eq!(v["provenance"]["coxa_version"], env!("CARGO_PKG_VERSION"));
    // The record's own fields stay where its readers look for them.
    let back: coxa_core::CaseInputs = serde_json::from_value(v).unwrap();
    assert_eq!(back, inputs);
}

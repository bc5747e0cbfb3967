//! Issue 45, bad input second round: what the corpus of broken inputs (`corpus.rs`, exit 2 and
//! one line) cannot say because the command succeeds: a note that must reach the terminal.

use std::process::{Command, Output};

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "warn").output().expect("coxa runs")
}

/// `coxa rom --cup-inclination-deg 0 --cup-anteversion-deg 90` printed seven motions at 0.0 deg
/// with no note while its JSON said `start_in_contact`; the terminal now says it per motion and
/// in a warning line, and the motions the JSON marks are exactly those the text marks.
#[test]
fn issue_45_rom_prints_what_its_json_says() {
    let args = ["rom", "--cup-inclination-deg", "0", "--cup-anteversion-deg", "90"];
    let o = coxa(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let json = coxa(&[&args[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let motions = v["motions"].as_array().unwrap();
    let at_start: Vec<&str> = motions.iter().filter(|m| m["start_in_contact"] == true).map(|m| m["name"].as_str().unwrap()).collect();
    assert!(!at_start.is_empty(), "these angles put the implants in contact at the start: {v}");
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("in contact at the start posture")).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(marked, at_start, "{text}");
    let warning = format!("warning    {} of {} motions start in contact", at_start.len(), motions.len());
    assert!(text.contains(&warning), "{text}");
    // Default angles: no motion starts in contact, no warning.
    let o = coxa(&["rom"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && !text.contains("start in contact") && !text.contains("start posture"), "{text}");
}

/// Issue 61: `coxa inspect` of an MR file labelled its statistics "HU"; the unit now comes from
/// the modality (a CT's values are HU, an MR's have none), on the terminal and in the JSON.
#[test]
fn issue_61_inspect_names_the_unit_of_the_values_by_modality() {
    let files = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/files");
    let mr = files.join("dicom_modality_mr.dcm");
    let o = coxa(&["inspect", mr.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!text.lines().any(|l| l.starts_with("HU")) && text.contains("(MR intensities: no unit, not HU)"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&coxa(&["inspect", mr.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert_eq!((json["modality"].as_str(), json["value_unit"].is_null()), (Some("MR"), true), "{json}");
    let ct = files.join("ct_small.nii.gz");
    let o = coxa(&["inspect", ct.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.lines().any(|l| l.starts_with("HU         min")), "{text}");
}

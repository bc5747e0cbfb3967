//! Fuzz targets for the records coxa reads back (issue 61): plan.json, case.json, inputs.json,
//! manifest.json, lesions.json, pacs.json, report.json, rom records, landmarks.json and
//! anatomy.json, each through the function of coxa that reads it (the PACS push's SR builder,
//! the run's summary row, the source finder, the manifest check, the cohort tables...), or, for
//! the records no library function reads alone, through their typed parse as coxa's readers do
//! it. Seeds: records of a demo case, trimmed (every array to its first two items) and
//! committed as `tests/corpus/fuzz/NAME/seed-*.json`, or written here by coxa itself.

use std::path::{Path, PathBuf};

use super::{err, go, root};
use crate::engine::{Target, corpus};

/// The committed seeds of `name` (`tests/corpus/fuzz/NAME/seed-*`).
pub(crate) fn seeds(name: &str) -> Vec<Vec<u8>> {
    let dir = root().join("tests/corpus/fuzz").join(name);
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).map(|r| r.flatten().map(|e| e.path()).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("seed-"))).collect()).unwrap_or_default();
    paths.sort();
    let out: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(!out.is_empty() || !corpus(&dir).is_empty(), "no seeds in {}", dir.display());
    out
}

/// Asserts that the first seed is read without error (so that the mutations start from a
/// record coxa accepts), then fuzzes.
fn go_valid(target: Target<'_>, seed: u64) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(format!("seed{}", target.ext));
    std::fs::write(&p, &target.seeds[0]).unwrap();
    if let Err(e) = (target.run)(&p) {
        panic!("{}: the seed is refused: {e}", target.name);
    }
    go(target, seed);
}

/// The input file `p` copied to `rel` inside a folder of its own beside it (created once):
/// readers that take a folder and a fixed file name.
fn placed(p: &Path, rel: &str) -> PathBuf {
    let dir = p.with_extension("case");
    let to = dir.join(rel);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).expect("fuzz folder");
    }
    std::fs::copy(p, &to).expect("placing the fuzz input");
    dir
}

/// The pushed source series' headers, as `coxa pacs push` reads them (a two-slice series coxa
/// writes).
fn source() -> coxa_pacs::results::Source {
    let d = tempfile::tempdir().unwrap();
    for (k, s) in super::dicom_slices().iter().take(2).enumerate() {
        std::fs::write(d.path().join(format!("{k}.dcm")), s).unwrap();
    }
    coxa_pacs::results::Source::read(d.path()).unwrap()
}

/// plan.json through `coxa pacs push`'s SR builder (the typed plan, its measurements, the side).
#[test]
fn fuzz_plan_json() {
    let src = source();
    let run = move |p: &Path| -> Result<(), String> { coxa_pacs::results::build_sr(&src, p).map(|_| ()).map_err(err) };
    go_valid(Target { name: "plan_json", ext: ".json", text: true, seeds: seeds("plan_json"), run: &run }, 21);
}

/// case.json through the run's summary table (`SummaryRow::read_done`).
#[test]
fn fuzz_case_json() {
    let run = |p: &Path| -> Result<(), String> {
        let out = placed(p, "cases/c/case.json");
        coxa_case::summary::SummaryRow::read_done(&out, "c").map(|_| ()).ok_or_else(|| "not a case summary".to_string())
    };
    go_valid(Target { name: "case_json", ext: ".json", text: true, seeds: seeds("case_json"), run: &run }, 22);
}

/// inputs.json through the PACS push's source finder (`coxa_case::pacs::source_of`).
#[test]
fn fuzz_inputs_json() {
    let run = |p: &Path| -> Result<(), String> { coxa_case::pacs::source_of(&placed(p, "inputs.json"), None).map(|_| ()).map_err(err) };
    go(Target { name: "inputs_json", ext: ".json", text: true, seeds: seeds("inputs_json"), run: &run }, 23);
}

/// pacs.json (a pull record) through `planning_ct`, which a plan on a pull folder calls.
#[test]
fn fuzz_pacs_json() {
    let seeds = vec![
        br#"{"planning":{"dir":"1.2.3.1","passed_over":[{"series_uid":"1.2.3.2","why":"thinner but not covering both hips"}],"reason":"series 1.2.3.1 (112 axial CT slices 3.00 mm apart)","series_uid":"1.2.3.1"},"series":[{"dir":"1.2.3.1","modality":"CT","n_files":112,"series_number":3,"series_uid":"1.2.3.1"},{"dir":null,"modality":"CT","n_files":160,"series_number":null,"series_uid":"1.2.3.2"}],"server":"dicom://ORTHANC@127.0.0.1:4242","study_uid":"1.2.3"}"#.to_vec(),
    ];
    let run = |p: &Path| -> Result<(), String> {
        let dir = placed(p, "pacs.json");
        std::fs::create_dir_all(dir.join("1.2.3.1")).map_err(err)?;
        coxa_case::pacs::planning_ct(&dir).map(|_| ()).map_err(err)
    };
    go_valid(Target { name: "pacs_json", ext: ".json", text: true, seeds, run: &run }, 24);
}

/// manifest.json through `manifest::verify` on a folder of three files (seed: the manifest coxa
/// writes for them).
#[test]
fn fuzz_manifest_json() {
    let fill = |dir: &Path| {
        std::fs::create_dir_all(dir.join("rom")).unwrap();
        std::fs::write(dir.join("case.json"), b"{\"case\":\"c\"}\n").unwrap();
        std::fs::write(dir.join("rom/x.json"), b"{}\n").unwrap();
        std::fs::write(dir.join("report.html"), b"<html></html>\n").unwrap();
    };
    let d = tempfile::tempdir().unwrap();
    fill(d.path());
    coxa_case::manifest::write(d.path()).unwrap();
    let seeds = vec![std::fs::read(d.path().join(coxa_case::manifest::MANIFEST)).unwrap()];
    let run = move |p: &Path| -> Result<(), String> {
        let dir = p.with_extension("case");
        if !dir.exists() {
            fill(&dir);
        }
        placed(p, coxa_case::manifest::MANIFEST);
        coxa_case::manifest::verify(&dir).map(|_| ()).map_err(err)
    };
    go_valid(Target { name: "manifest_json", ext: ".json", text: true, seeds, run: &run }, 25);
}

/// lesions.json through the lesion SEG's reader (`coxa pacs push`).
#[test]
fn fuzz_lesions_json() {
    let run = |p: &Path| -> Result<(), String> { coxa_pacs::lesion_seg::read_lesions(&placed(p, "lesions.json")).map(|_| ()).map_err(err) };
    go_valid(Target { name: "lesions_json", ext: ".json", text: true, seeds: seeds("lesions_json"), run: &run }, 26);
}

/// report.json (and the sweep's rom records it names) through the cohort tables
/// (`cohort::case_rows`, then `tables`).
#[test]
fn fuzz_report_json() {
    let rom = std::fs::read(root().join("tests/corpus/fuzz/rom_json/seed-demo.json")).expect("the rom seed");
    let run = move |p: &Path| -> Result<(), String> {
        let dir = placed(p, "report.json");
        if !dir.join("rom/tilt0.json").exists() {
            std::fs::create_dir_all(dir.join("rom")).map_err(err)?;
            std::fs::write(dir.join("rom/tilt0.json"), &rom).map_err(err)?;
        }
        let rows = coxa_case::cohort::case_rows(&dir, "c").map_err(err)?;
        coxa_case::cohort::tables(&rows).map(|_| ()).map_err(err)
    };
    go_valid(Target { name: "report_json", ext: ".json", text: true, seeds: seeds("report_json"), run: &run }, 27);
}

/// A rom record (`rom/POINT.json`) through the cohort tables, beside a fixed report.json.
#[test]
fn fuzz_rom_json() {
    let report = std::fs::read(root().join("tests/corpus/fuzz/report_json/seed-demo.json")).expect("the report seed");
    let run = move |p: &Path| -> Result<(), String> {
        let dir = placed(p, "rom/tilt0.json");
        if !dir.join("report.json").exists() {
            std::fs::write(dir.join("report.json"), &report).map_err(err)?;
        }
        let rows = coxa_case::cohort::case_rows(&dir, "c").map_err(err)?;
        coxa_case::cohort::tables(&rows).map(|_| ()).map_err(err)
    };
    go_valid(Target { name: "rom_json", ext: ".json", text: true, seeds: seeds("rom_json"), run: &run }, 28);
}

/// landmarks.json as `coxa xray` and the revision read it (the typed record).
#[test]
fn fuzz_landmarks_json() {
    let run = |p: &Path| -> Result<(), String> {
        let text = coxa_io::read_text_bounded(p, coxa_io::Bound::TEXT).map_err(err)?;
        serde_json::from_str::<coxa_core::PatientLandmarks>(&text).map(|_| ()).map_err(err)
    };
    go_valid(Target { name: "landmarks_json", ext: ".json", text: true, seeds: seeds("landmarks_json"), run: &run }, 29);
}

/// anatomy.json as a stamped record (the typed record, its envelope left aside).
#[test]
fn fuzz_anatomy_json() {
    let run = |p: &Path| -> Result<(), String> {
        let text = coxa_io::read_text_bounded(p, coxa_io::Bound::TEXT).map_err(err)?;
        coxa_core::provenance::from_stamped_str::<coxa_core::AnatomyRecord>(&text).map(|_| ()).map_err(err)
    };
    go_valid(Target { name: "anatomy_json", ext: ".json", text: true, seeds: seeds("anatomy_json"), run: &run }, 30);
}

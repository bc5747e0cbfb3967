//! Records read back from a case folder are checked, not trusted (issue 61): `coxa pacs push`
//! took the side from a plan.json edited after the case finished and sent a DICOM report saying
//! "left hip" for a right-hip case. Every command that reads a finished case's records goes
//! through [`case_records`] first:
//!
//! 1. the case's `manifest.json` (written last by `coxa run`/`coxa plan`, rewritten by the
//!    desk's save of a revision) is verified: every file it lists present, of its size and
//!    SHA-256 ([`crate::manifest::verify`]); a file changed since names itself;
//! 2. every record it lists (`plan.json`, `plans/*.json`, `case.json`, `anatomy/anatomy.json`,
//!    `landmarks.json`, `inputs.json`, `report.json`, `rom/*.json`) is read into coxa's own type
//!    of that record, the types the schemas in `schemas/` are generated from
//!    ([`crate::records`]), and must name its schema (`$schema`): a field that does not fit is
//!    named.
//!
//! A folder with no record of coxa's (a folder of DICOM or label files only) has nothing to
//! check; one with records but no manifest is refused (they cannot be checked).

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::bail;
use crate::error::{Context, Result};
use crate::manifest::{MANIFEST, Manifest};

/// The record kind a case file holds, by its path relative to the case (`/`-separated).
fn kind_of(rel: &str) -> Option<&'static str> {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    match (dir, name) {
        ("", "plan.json") | ("plans", _) => Some("plan"),
        ("", "case.json") => Some("case"),
        ("", "report.json") => Some("report"),
        ("", "inputs.json") => Some("inputs"),
        ("rom", _) => Some("rom"),
        ("anatomy" | "", "anatomy.json") => Some("anatomy"),
        (_, "landmarks.json") => Some("landmarks"),
        _ => None,
    }
    .filter(|_| name.ends_with(".json"))
}

/// Reads `text` into `T`, or says which field of `rel` does not fit.
fn fits<T: DeserializeOwned>(path: &Path, kind: &str, text: &str) -> Result<()> {
    serde_json::from_str::<T>(text).map(drop).with_context(|| format!("{} is not a {kind} record of this coxa ({kind}.schema.json)", path.display()))
}

/// Checks one record file `rel` of the case `dir` against its schema.
fn check_record(dir: &Path, rel: &str, kind: &str) -> Result<()> {
    let path = dir.join(rel);
    let text = coxa_io::read_text_bounded(&path, coxa_io::Bound::TEXT).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let schema = crate::stamp::schema_file(kind);
    if v["$schema"] != serde_json::json!(schema) {
        bail!("{}: its $schema is {}, not {schema:?}: not a {kind} record of this coxa", path.display(), v["$schema"]);
    }
    match kind {
        "plan" => fits::<coxa_core::PlanRecord>(&path, kind, &text),
        "case" => fits::<crate::summary::CaseSummary>(&path, kind, &text),
        "report" => fits::<coxa_core::CaseReport>(&path, kind, &text),
        "inputs" => fits::<coxa_core::CaseInputs>(&path, kind, &text),
        "rom" => fits::<coxa_core::RomRecord>(&path, kind, &text),
        "anatomy" => fits::<coxa_core::AnatomyRecord>(&path, kind, &text),
        _ => fits::<coxa_core::PatientLandmarks>(&path, kind, &text),
    }
}

/// Checks the records of the case folder `dir` (see the module docs) before a command uses them.
/// Returns its manifest, or `None` for a folder that holds no record of coxa's.
///
/// # Errors
/// Records without a manifest; a file changed, resized or missing since the manifest was written
/// (named, with its SHA-256 or size); a record whose `$schema` or fields do not fit (named).
pub fn case_records(dir: &Path) -> Result<Option<Manifest>> {
    if !dir.join(MANIFEST).exists() {
        let any = ["plan.json", "case.json", "report.json", "inputs.json", "anatomy/anatomy.json"].iter().find(|f| dir.join(f).exists());
        if let Some(f) = any {
            bail!("{}: the case has no {MANIFEST}, so its {f} cannot be checked against it; coxa uses only records it can check: plan the case again (coxa plan or coxa run)", dir.display());
        }
        return Ok(None);
    }
    let m = crate::manifest::verify(dir).with_context(|| format!("the records of {} cannot be trusted", dir.display()))?;
    for e in &m.files {
        if let Some(kind) = kind_of(&e.path) {
            check_record(dir, &e.path, kind)?;
        }
    }
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_kinds_by_path() {
        let kinds: Vec<_> =
            ["plan.json", "plans/automatic.json", "rom/p0.json", "anatomy/anatomy.json", "anatomy/landmarks.json", "case.json", "pictures/xray_ap.json", "report.html", "manifest.json"]
                .iter()
                .map(|p| kind_of(p))
                .collect();
        assert_eq!(kinds, [Some("plan"), Some("plan"), Some("rom"), Some("anatomy"), Some("landmarks"), Some("case"), None, None, None]);
    }

    /// An edited file is named by the manifest's hash; records without a manifest are refused;
    /// a folder with no record passes.
    #[test]
    fn edited_or_unverifiable_records_are_refused() {
        let d = tempfile::tempdir().unwrap();
        assert!(case_records(d.path()).unwrap().is_none());
        std::fs::write(d.path().join("plan.json"), b"{}").unwrap();
        let e = format!("{:#}", case_records(d.path()).unwrap_err());
        assert!(e.contains("has no manifest.json") && e.contains("plan.json"), "{e}");
        std::fs::write(d.path().join("labels.txt"), b"x").unwrap();
        std::fs::remove_file(d.path().join("plan.json")).unwrap();
        crate::manifest::write(d.path()).unwrap();
        case_records(d.path()).unwrap();
        std::fs::write(d.path().join("labels.txt"), b"y").unwrap();
        let e = case_records(d.path()).unwrap_err().chain().map(ToString::to_string).collect::<Vec<_>>().join(": ");
        assert!(e.contains("labels.txt has changed since the case finished (SHA-256 differs)"), "{e}");
    }
}

//! `pacs.json`, the record of a `coxa pacs pull` ([`PullRecord`]), and what it lets coxa find
//! without a UID typed: the series to plan on when `--ct` names a pull folder
//! ([`planning_ct`]), and the source series of a case planned on it ([`source_of`]).

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::Context;
use serde::{Deserialize, Serialize};

/// What `coxa pacs pull` pulled and chose: `pacs.json`, written last (a folder holding it is a
/// complete pull), with the records' envelope (`pacs.schema.json`). Fields in alphabetical
/// order: the file's keys come out sorted, as they did when it was assembled by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullRecord {
    /// The series chosen to plan on (absent with `--no-choose`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planning: Option<PlanningSeries>,
    /// Every series pulled.
    pub series: Vec<PulledSeriesRecord>,
    /// The PACS, as coxa reached it.
    pub server: String,
    /// StudyInstanceUID.
    pub study_uid: String,
}

/// One series of a [`PullRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PulledSeriesRecord {
    /// Its folder inside the pull folder.
    pub dir: Option<String>,
    /// Modality.
    pub modality: String,
    /// Instances received.
    pub n_files: usize,
    /// SeriesNumber.
    pub series_number: Option<i64>,
    /// SeriesInstanceUID.
    pub series_uid: String,
}

/// The planning series of a [`PullRecord`] and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanningSeries {
    /// Its folder inside the pull folder.
    pub dir: Option<String>,
    /// Each series not taken, with the reason.
    pub passed_over: Vec<PassedOver>,
    /// One sentence: which series and why.
    pub reason: String,
    /// SeriesInstanceUID.
    pub series_uid: String,
}

/// A series of the study not chosen to plan on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PassedOver {
    /// SeriesInstanceUID.
    pub series_uid: String,
    /// Why it was passed over.
    pub why: String,
}

/// The pull record of `dir`, when `dir` is a complete pull (holds `pacs.json`).
///
/// # Errors
/// `pacs.json` unreadable or not a pull record coxa wrote.
pub fn read_record(dir: &Path) -> crate::Result<Option<PullRecord>> {
    let path = dir.join("pacs.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = coxa_io::read_text_bounded(&path, coxa_io::Bound::TEXT).with_context(|| format!("reading {}", path.display()))?;
    let record = coxa_core::provenance::from_stamped_str::<PullRecord>(&text).with_context(|| format!("{} is not a pull record coxa wrote; move the folder away", path.display()))?;
    Ok(Some(record))
}

/// The CT to open for `ct`: when `ct` is a folder `coxa pacs pull` wrote (it holds `pacs.json`),
/// the series folder the pull chose to plan on; else `ct` itself.
///
/// # Errors
/// A pull without a planning series (`--no-choose`), or whose series folder is gone.
pub fn planning_ct(ct: &Path) -> crate::Result<PathBuf> {
    let Some(record) = read_record(ct)? else { return Ok(ct.to_path_buf()) };
    let Some(dir) = record.planning.as_ref().and_then(|p| p.dir.as_deref()) else {
        bail!("{} is a `coxa pacs pull` folder without a planning series (pulled with --no-choose): give one of its series folders instead", ct.display());
    };
    let series = ct.join(dir);
    if !series.is_dir() {
        bail!("{}: the planning series folder {dir} that pacs.json names is missing; pull the study again into a new folder", ct.display());
    }
    Ok(series)
}

/// The source series of a case: `--source`, else the CT named in the case's inputs.json; either
/// may be a series folder or a pull folder (then the series the pull chose to plan on).
///
/// # Errors
/// No inputs.json, a CT that is not a DICOM folder, or a pull folder without its series.
pub fn source_of(case: &Path, given: Option<&Path>) -> crate::Result<PathBuf> {
    if let Some(s) = given {
        return planning_ct(s);
    }
    let inputs = case.join("inputs.json");
    let text = coxa_io::read_text_bounded(&inputs, coxa_io::Bound::TEXT)
        .with_context(|| format!("{} has no inputs.json naming its CT; give the series it was planned on with --source DIR", case.display()))?;
    let v: coxa_core::CaseInputs = serde_json::from_str(&text).with_context(|| format!("{} is not a case's inputs.json", inputs.display()))?;
    match v.ct().map(|ct| if ct.is_absolute() { ct.to_path_buf() } else { case.join(ct) }) {
        Some(ct) if ct.is_dir() => planning_ct(&ct),
        _ => bail!("the case's CT (inputs.json) is not a DICOM folder; give the DICOM series it was planned on with --source DIR"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(planning: Option<&str>) -> PullRecord {
        PullRecord {
            planning: planning.map(|dir| PlanningSeries { dir: Some(dir.into()), passed_over: Vec::new(), reason: "r".into(), series_uid: dir.into() }),
            series: Vec::new(),
            server: "dicom://ORTHANC@127.0.0.1:4242".into(),
            study_uid: "1.2.3".into(),
        }
    }

    /// `--ct pulled/` opens the series pull chose; a case planned on it (its inputs.json naming
    /// the series folder or the pull folder) gives push that series; the faults name the fix.
    #[test]
    fn a_pull_folder_stands_for_its_planning_series() {
        let d = tempfile::tempdir().unwrap();
        let pulled = d.path().join("pulled");
        std::fs::create_dir_all(pulled.join("1.2.3.9")).unwrap();
        std::fs::create_dir_all(pulled.join("1.2.3.8")).unwrap();
        assert_eq!(planning_ct(&pulled).unwrap(), pulled, "no pacs.json: the folder itself");
        // As `coxa pacs pull` writes it (with the records' envelope), and as it did before.
        std::fs::write(pulled.join("pacs.json"), crate::stamp::text("pacs", &record(Some("1.2.3.9"))).unwrap()).unwrap();
        assert_eq!(planning_ct(&pulled).unwrap(), pulled.join("1.2.3.9"));
        std::fs::write(pulled.join("pacs.json"), serde_json::to_vec(&record(Some("1.2.3.9"))).unwrap()).unwrap();
        assert_eq!(planning_ct(&pulled).unwrap(), pulled.join("1.2.3.9"));
        for named in [pulled.clone(), pulled.join("1.2.3.9")] {
            let case = d.path().join(format!("case-{}", named.file_name().unwrap().to_string_lossy()));
            std::fs::create_dir_all(&case).unwrap();
            let inputs = coxa_core::CaseInputs::Ct { ct: named.clone(), labels: None };
            std::fs::write(case.join("inputs.json"), serde_json::to_vec(&inputs).unwrap()).unwrap();
            assert_eq!(source_of(&case, None).unwrap(), pulled.join("1.2.3.9"), "{}", named.display());
            assert_eq!(source_of(&case, Some(&pulled.join("1.2.3.8"))).unwrap(), pulled.join("1.2.3.8"), "--source wins");
        }
        std::fs::write(pulled.join("pacs.json"), serde_json::to_vec(&record(None)).unwrap()).unwrap();
        let e = planning_ct(&pulled).unwrap_err().to_string();
        assert!(e.contains("without a planning series") && e.contains("--no-choose"), "{e}");
        std::fs::write(pulled.join("pacs.json"), serde_json::to_vec(&record(Some("1.2.3.7"))).unwrap()).unwrap();
        let e = planning_ct(&pulled).unwrap_err().to_string();
        assert!(e.contains("1.2.3.7") && e.contains("missing"), "{e}");
        std::fs::write(pulled.join("pacs.json"), b"{}").unwrap();
        let e = format!("{:#}", planning_ct(&pulled).unwrap_err());
        assert!(e.contains("not a pull record"), "{e}");
    }

    /// The typed record writes the bytes the hand-assembled JSON wrote (sorted keys, nulls kept,
    /// no `planning` with `--no-choose`), and reads back equal.
    #[test]
    fn pull_record_keeps_pacs_json_bytes() {
        let series = [("1.2.3.1", Some("1.2.3.1"), Some(3), 112), ("1.2.3.2", None, None, 160)];
        let hand_series: Vec<serde_json::Value> =
            series.iter().map(|(uid, dir, number, n)| json!({ "series_uid": uid, "modality": "CT", "series_number": number, "n_files": n, "dir": dir })).collect();
        let mut hand = json!({ "server": "dicom://ORTHANC@127.0.0.1:4242", "study_uid": "1.2.3", "series": hand_series });
        let mut typed = PullRecord {
            planning: None,
            series: series
                .iter()
                .map(|(uid, dir, number, n)| PulledSeriesRecord { dir: dir.map(str::to_string), modality: "CT".into(), n_files: *n, series_number: *number, series_uid: (*uid).into() })
                .collect(),
            server: "dicom://ORTHANC@127.0.0.1:4242".into(),
            study_uid: "1.2.3".into(),
        };
        assert_eq!(serde_json::to_string_pretty(&typed).unwrap(), serde_json::to_string_pretty(&hand).unwrap());
        hand["planning"] = json!({
            "series_uid": "1.2.3.1",
            "dir": "1.2.3.1",
            "reason": "series 1.2.3.1 (112 axial CT slices 3.00 mm apart)",
            "passed_over": [{ "series_uid": "1.2.3.2", "why": "thinner but not covering both hips" }],
        });
        typed.planning = Some(PlanningSeries {
            dir: Some("1.2.3.1".into()),
            passed_over: vec![PassedOver { series_uid: "1.2.3.2".into(), why: "thinner but not covering both hips".into() }],
            reason: "series 1.2.3.1 (112 axial CT slices 3.00 mm apart)".into(),
            series_uid: "1.2.3.1".into(),
        });
        let text = serde_json::to_string_pretty(&typed).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&hand).unwrap());
        assert_eq!(serde_json::from_str::<PullRecord>(&text).unwrap(), typed);
    }
}

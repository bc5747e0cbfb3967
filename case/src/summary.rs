//! The case summary: what the pipeline hands `coxa run` for each finished case ([`CaseSummary`],
//! written as the case's `case.json`), and the rows `summary.json`, `summary.csv` and
//! `index.html` are made of ([`SummaryRow`]). JSON is written only at the edge: `case.json` from
//! the typed summary, `summary.json` from the typed rows.
//!
//! Fields are declared in alphabetical order: the files were assembled as untyped JSON objects
//! (serde_json sorts their keys), and this keeps their bytes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use coxa_core::Side;
use coxa_core::report::CupAnglePair;

/// The radiomics stage's account of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RadiomicsSummary {
    /// Features per structure.
    pub features: usize,
    /// The case's table (`radiomics.csv`).
    pub file: String,
    /// The model run on each structure, named with its version (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The structures computed.
    pub structures: Vec<String>,
}

/// One finished case (`case.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseSummary {
    /// The case's name.
    pub case: String,
    /// The primary point's cup, radiographic, deg (0.01).
    pub cup_radiographic_deg: Option<CupAnglePair>,
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// The plan's leg-length change, mm (planned cases).
    pub leg_length_change_mm: Option<f64>,
    /// The lesions stage's count of bone lesion candidates, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesions: Option<usize>,
    /// The primary point's smallest daily-life margin, deg.
    pub min_adl_margin_deg: Option<f64>,
    /// The plan's offset change, mm (planned cases).
    pub offset_change_mm: Option<f64>,
    /// The pseudo-MRI stage's line, when it ran: its image, TR/TE and the canal found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_mri: Option<String>,
    /// The radiomics stage's account, when it ran.
    pub radiomics: Option<RadiomicsSummary>,
    /// Shell outer diameter, mm.
    pub shell_outer_diameter_mm: f64,
    /// The operated side.
    pub side: Side,
    /// Sweep points run.
    pub sweep_points: usize,
    /// Warnings in the report.
    pub warnings: usize,
}

/// A row of the run's summary: a finished case, or one that is not with why.
#[derive(Debug, Clone, PartialEq)]
pub enum SummaryRow {
    /// A finished case (status `done`).
    Done(CaseSummary),
    /// A case not done: `failed`, `damaged`, `incomplete` or `missing`.
    NotDone {
        /// The case's name.
        case: String,
        /// Its state.
        status: &'static str,
        /// Why (`None`: not known).
        error: Option<String>,
    },
}

impl SummaryRow {
    /// The row of a finished case: its `case.json` (status `done`); `None` when that file is
    /// missing or not a case summary.
    pub fn read_done(out: &std::path::Path, name: &str) -> Option<Self> {
        let text = std::fs::read_to_string(out.join("cases").join(name).join("case.json")).ok()?;
        Some(Self::Done(serde_json::from_str::<CaseSummary>(&text).ok()?))
    }

    /// The row of a failed case.
    pub fn failed(name: &str, error: Option<&str>) -> Self {
        Self::NotDone { case: name.to_string(), status: "failed", error: error.map(str::to_string) }
    }

    /// The row as `summary.json` writes it: the case summary with `"status": "done"`, or the
    /// case, its state and why.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Done(s) => {
                let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
                v["status"] = json!("done");
                v
            }
            Self::NotDone { case, status, error } => json!({"case": case, "status": status, "error": error}),
        }
    }

    /// The case's name.
    pub fn case(&self) -> &str {
        match self {
            Self::Done(s) => &s.case,
            Self::NotDone { case, .. } => case,
        }
    }

    /// `done`, or the state of a case not done.
    pub fn status(&self) -> &str {
        match self {
            Self::Done(_) => "done",
            Self::NotDone { status, .. } => status,
        }
    }

    /// The finished case's summary.
    pub fn done(&self) -> Option<&CaseSummary> {
        match self {
            Self::Done(s) => Some(s),
            Self::NotDone { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `case.json` and the summary rows keep the key order of the hand-built JSON they replace
    /// (serde_json's sorted keys), so the files' bytes are unchanged.
    #[test]
    fn rows_serialise_as_the_untyped_json_did() {
        let s = CaseSummary {
            case: "c01".into(),
            cup_radiographic_deg: Some(CupAnglePair { inclination_deg: 40.0, anteversion_deg: 20.0 }),
            head_diameter_mm: 36.0,
            leg_length_change_mm: Some(1.25),
            lesions: Some(2),
            min_adl_margin_deg: None,
            offset_change_mm: Some(-0.5),
            pseudo_mri: None,
            radiomics: Some(RadiomicsSummary { features: 107, file: "radiomics.csv".into(), model: None, structures: vec!["femur_left".into()] }),
            shell_outer_diameter_mm: 54.0,
            side: Side::Left,
            sweep_points: 3,
            warnings: 2,
        };
        let typed = serde_json::to_string_pretty(&s).unwrap();
        let untyped: Value = serde_json::from_str(&typed).unwrap();
        assert_eq!(typed, serde_json::to_string_pretty(&untyped).unwrap());
        assert_eq!(serde_json::from_str::<CaseSummary>(&typed).unwrap(), s);
        let row = SummaryRow::Done(s).to_json();
        assert_eq!(row["status"], "done");
        assert_eq!(row["side"], "left");
        let failed = SummaryRow::NotDone { case: "c02".into(), status: "failed", error: None }.to_json();
        assert_eq!(serde_json::to_string(&failed).unwrap(), r#"{"case":"c02","error":null,"status":"failed"}"#);
    }
}

//! `coxa run SCENARIO --merge`: the summary of a results folder from whatever finished, for
//! runs split into shards ([`crate::shard`]) or stopped half way.
//!
//! Every case of the scenario is classified from the folder alone ([`classify`]):
//! - `done`: `cases/NAME` whose files all match its `manifest.json` (the only state accepted);
//! - `damaged`: `cases/NAME` with a file missing, truncated or changed (not accepted; the next
//!   run moves it aside and redoes it);
//! - `failed`: `failed/NAME.json` (the error chain);
//! - `incomplete`: only `cases/.NAME.partial` (a task killed, timed out, or still running);
//! - `missing`: nothing at all (never started).
//!
//! It writes `summary.json`, `summary.csv` and `index.html` (each replaced atomically; nothing
//! else is touched, no temporary is removed, so it may run while shards still work). The rows of
//! done and failed cases are the ones a one-machine `coxa run` writes, so a merged summary of a
//! complete sharded run equals the one-machine summary's `cases`. Running it twice gives the same
//! files. Temporaries left by killed writers (`.NAME.tmp-PID-N`) and unfinished case folders are
//! listed as half-written and never read.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::Result;
use serde_json::{Value, json};

use crate::summary::SummaryRow;

use crate::atomic::{TMP_MARK, replace_own};
use crate::scenario::Scenario;

/// What the results folder holds for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseState {
    /// Finished; every file matches the manifest.
    Done,
    /// A finished folder that no longer matches its manifest (why).
    Damaged(String),
    /// Failed (the error chain, joined).
    Failed(String),
    /// Started, not finished (only `cases/.NAME.partial`).
    Incomplete,
    /// Never started.
    Missing,
}

impl CaseState {
    /// `done`, `damaged`, `failed`, `incomplete` or `missing`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Damaged(_) => "damaged",
            Self::Failed(_) => "failed",
            Self::Incomplete => "incomplete",
            Self::Missing => "missing",
        }
    }
}

/// The state of case `name` in the results folder `out`.
pub fn classify(out: &Path, name: &str) -> CaseState {
    let done = out.join("cases").join(name);
    if done.is_dir() {
        return match crate::manifest::verify(&done) {
            Ok(_) => CaseState::Done,
            Err(e) => CaseState::Damaged(format!("{e:#}")),
        };
    }
    let failed = out.join("failed").join(format!("{name}.json"));
    if let Some(v) = std::fs::read_to_string(&failed).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        let chain: Vec<String> = v["error"].as_array().into_iter().flatten().filter_map(|e| e.as_str().map(str::to_string)).collect();
        return CaseState::Failed(chain.join(": "));
    }
    if out.join("cases").join(format!(".{name}.partial")).exists() {
        return CaseState::Incomplete;
    }
    CaseState::Missing
}

/// Files and folders that writers left unfinished: `.NAME.tmp-*` temporaries in the folder,
/// `failed/` and the case folders' tops, and `cases/.NAME.partial` folders. Relative paths, sorted.
pub fn half_written(out: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in [out.to_path_buf(), out.join("failed"), out.join("cases")] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with('.') && (n.contains(TMP_MARK) || n.ends_with(".partial")) {
                found.push(e.path().strip_prefix(out).unwrap_or(&e.path()).to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// What a merge found.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The results folder.
    pub out: PathBuf,
    /// Every case with its state, in scenario order.
    pub states: Vec<(String, CaseState)>,
    /// Unfinished files and folders (never read).
    pub half_written: Vec<String>,
    /// The `summary.json` written.
    pub summary: Value,
}

impl Merged {
    /// Names of the cases in `state` (by [`CaseState::name`]).
    pub fn cases_in(&self, state: &str) -> Vec<&str> {
        self.states.iter().filter(|(_, s)| s.name() == state).map(|(n, _)| n.as_str()).collect()
    }
}

/// Builds `summary.json`, `summary.csv` and `index.html` of `out` from what finished.
///
/// # Errors
/// `out` is not a results folder of `scn`, or cannot be written.
pub fn merge(scn: &Scenario, out: &Path) -> Result<Merged> {
    if !out.join("run.json").is_file() {
        bail!("{} is not a coxa results folder (no run.json): nothing to merge; run the scenario (or its shards) first", out.display());
    }
    crate::run::prepare_out(scn, out)?;
    let states: Vec<(String, CaseState)> = scn.cases.iter().map(|c| (c.name.clone(), classify(out, &c.name))).collect();
    let mut rows = Vec::new();
    for (name, state) in &states {
        rows.push(match state {
            CaseState::Done => SummaryRow::read_done(out, name).unwrap_or_else(|| SummaryRow::failed(name, Some("case.json is unreadable although the manifest matches"))),
            CaseState::Failed(e) => SummaryRow::failed(name, Some(e)),
            CaseState::Damaged(why) => SummaryRow::NotDone { case: name.clone(), status: "damaged", error: Some(why.clone()) },
            CaseState::Incomplete => SummaryRow::NotDone { case: name.clone(), status: "incomplete", error: Some("started, not finished (a task killed, out of time, or still running)".into()) },
            CaseState::Missing => SummaryRow::NotDone { case: name.clone(), status: "missing", error: Some("not run yet".into()) },
        });
    }
    let names_in = |want: &str| states.iter().filter(|(_, s)| s.name() == want).map(|(n, _)| json!(n)).collect::<Vec<_>>();
    let half = half_written(out);
    let summary = json!({
        "scenario": scn.name,
        "cases": rows.iter().map(SummaryRow::to_json).collect::<Vec<_>>(),
        "merged": {
            "done": states.iter().filter(|(_, s)| *s == CaseState::Done).count(),
            "failed": names_in("failed"),
            "damaged": names_in("damaged"),
            "incomplete": names_in("incomplete"),
            "missing": names_in("missing"),
            "half_written": half,
        },
    });
    replace_own(&out.join("summary.json"), crate::stamp::text("summary", &summary)?.as_bytes())?;
    replace_own(&out.join("summary.csv"), crate::run::summary_csv(&rows)?.as_bytes())?;
    let done: Vec<&str> = rows.iter().filter_map(|r| r.done().map(|c| c.case.as_str())).collect();
    let (long, designs) = crate::cohort::of_run(out, &done)?;
    replace_own(&out.join(crate::cohort::LONG), long.as_bytes())?;
    replace_own(&out.join(crate::cohort::DESIGNS), designs.as_bytes())?;
    replace_own(&out.join("index.html"), crate::run::index_html(scn, &rows, &designs)?.as_bytes())?;
    // The run's radiomics table from the finished cases, in scenario order (as a one-machine run
    // writes it when every case is done).
    if scn.radiomics.is_some() {
        let done: Vec<String> = states.iter().filter(|(_, s)| *s == CaseState::Done).map(|(n, _)| n.clone()).collect();
        crate::radiomics::combine(out, &done)?;
    }
    Ok(Merged { out: out.to_path_buf(), states, half_written: half, summary })
}

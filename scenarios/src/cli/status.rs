//! `coxa status RESULTS`: each case of a results folder as done, failed, running, queued,
//! stopped (killed or out of time) or missing, from the folder ([`coxa_case::merge::classify`]) and
//! Slurm (`squeue` for what is queued or running, `sacct` where accounting is on, and the task
//! logs' `CANCELLED ... DUE TO TIME LIMIT` lines where it is off).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::cli::submit::{Submission, read_submissions, squeue};
use coxa_case::merge::{CaseState, classify};

/// Arguments of `coxa status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The results folder.
    pub results: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// How each task of an array job ended: (task id, Slurm state).
type TaskStates = Vec<(usize, String)>;

/// How a finished (or vanished) array task ended, per task id, from `sacct` (`None`: no answer).
fn sacct(job: &str) -> Option<TaskStates> {
    let out = Command::new("sacct").args(["-n", "-P", "-X", "-j", job, "-o", "JobID,State"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<(usize, String)> = text
        .lines()
        .filter_map(|l| {
            let (id, state) = l.split_once('|')?;
            let task = id.split_once('_')?.1.parse().ok()?;
            Some((task, state.split_whitespace().next().unwrap_or(state).to_string()))
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}

/// How a task ended, from the last line Slurm wrote into its log.
fn from_log(log: &Path) -> Option<&'static str> {
    let text = std::fs::read_to_string(log).ok()?;
    let last = text.lines().rev().find(|l| l.contains("***") && l.contains("CANCELLED"))?;
    Some(if last.contains("TIME LIMIT") { "TIMEOUT" } else { "CANCELLED" })
}

/// Each case's status as JSON: `{"results", "cases": [{"case", "state", "task", "slurm"}], "counts", "notes"}`.
///
/// # Errors
/// `results` is not a coxa results folder.
pub fn status(results: &Path) -> Result<Value> {
    if !results.join("run.json").is_file() {
        bail!("{} is not a coxa results folder (no run.json)", results.display());
    }
    let subs = read_submissions(results);
    let mut notes = Vec::new();
    // The case names: from the submissions, else from the folder.
    let mut names: Vec<String> = subs.last().map(|s| s.all_cases.clone()).unwrap_or_default();
    if names.is_empty() {
        for (dir, strip) in [("cases", ""), ("failed", ".json")] {
            for e in std::fs::read_dir(results.join(dir)).into_iter().flatten().flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let n = n.strip_suffix(".partial").and_then(|n| n.strip_prefix('.')).map_or(n.clone(), str::to_string);
                let n = n.strip_suffix(strip).unwrap_or(&n).to_string();
                if !n.starts_with('.') && !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names.sort();
        notes.push("no submission recorded: cases listed from the folder (cases that never started are not known)".to_string());
    }
    let queue = if subs.iter().any(|s| s.array_job.is_some()) {
        match squeue() {
            Ok(q) => Some(q),
            Err(e) => {
                notes.push(format!("squeue: {e:#}"));
                None
            }
        }
    } else {
        None
    };
    let mut sacct_cache: Vec<(String, Option<TaskStates>)> = Vec::new();
    let mut rows = Vec::new();
    for name in &names {
        let state = classify(results, name);
        // The latest submission that ran this case.
        let sub: Option<&Submission> = subs.iter().rev().find(|s| s.task_of(name).is_some());
        let (mut shown, mut task, mut slurm) = (state.name().to_string(), None, None::<String>);
        if let Some(s) = sub {
            let t = s.task_of(name).unwrap_or(0);
            task = s.array_job.as_ref().map(|a| format!("{a}_{t}"));
            if let Some(a) = &s.array_job {
                let queued = queue.as_ref().and_then(|q| q.iter().find(|(id, k, _)| id == a && (*k == Some(t) || k.is_none())).map(|(_, _, st)| st.clone()));
                let ended = || {
                    if !sacct_cache.iter().any(|(j, _)| j == a) {
                        sacct_cache.push((a.clone(), sacct(a)));
                    }
                    let acct = sacct_cache.iter().find(|(j, _)| j == a).and_then(|(_, r)| r.as_ref()).and_then(|r| r.iter().find(|(k, _)| *k == t).map(|(_, st)| st.clone()));
                    acct.or_else(|| from_log(&results.join(&s.dir).join("logs").join(format!("task-{t}.log"))).map(str::to_string))
                };
                slurm = queued.clone().or_else(ended);
                if !matches!(state, CaseState::Done | CaseState::Failed(_)) {
                    shown = match (queued.as_deref(), slurm.as_deref()) {
                        (Some("RUNNING" | "COMPLETING"), _) => "running".into(),
                        (Some(_), _) => "queued".into(),
                        (None, Some("TIMEOUT")) => format!("{} (task out of time)", state.name()),
                        (None, Some("CANCELLED")) => format!("{} (task cancelled)", state.name()),
                        _ => shown,
                    };
                }
            }
        }
        rows.push(json!({"case": name, "state": shown, "task": task, "slurm": slurm}));
    }
    if subs.iter().any(|s| s.array_job.is_some()) && sacct_cache.iter().all(|(_, r)| r.is_none()) && !sacct_cache.is_empty() {
        notes.push("sacct gave no answer (accounting off?): ended tasks are read from their logs".to_string());
    }
    let mut counts = serde_json::Map::new();
    for r in &rows {
        let key = r["state"].as_str().unwrap_or("?").split(' ').next().unwrap_or("?").to_string();
        let n = counts.get(&key).and_then(Value::as_u64).unwrap_or(0) + 1;
        counts.insert(key, json!(n));
    }
    Ok(json!({"results": results.display().to_string(), "cases": rows, "counts": counts, "submissions": subs.len(), "notes": notes}))
}

/// `coxa status`.
///
/// # Errors
/// As [`status`].
pub fn cli(args: &StatusArgs) -> Result<()> {
    let s = status(&args.results)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("{:<24} {:<34} {:<12} slurm", "case", "state", "task");
    for r in s["cases"].as_array().into_iter().flatten() {
        println!("{:<24} {:<34} {:<12} {}", r["case"].as_str().unwrap_or("?"), r["state"].as_str().unwrap_or("?"), r["task"].as_str().unwrap_or("-"), r["slurm"].as_str().unwrap_or("-"));
    }
    let counts: Vec<String> = s["counts"].as_object().into_iter().flatten().map(|(k, v)| format!("{v} {k}")).collect();
    println!("{}", counts.join(", "));
    for n in s["notes"].as_array().into_iter().flatten() {
        println!("note: {}", n.as_str().unwrap_or_default());
    }
    Ok(())
}

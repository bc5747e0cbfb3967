//! `coxa run SCENARIO`: every case of a scenario, in parallel, into a results folder.
//!
//! Layout of the results folder (created if missing; coxa never overwrites in it):
//! ```text
//! OUT/run.json            the scenario's fingerprint, coxa's version
//! OUT/scenario.toml       the scenario as run
//! OUT/log.jsonl           structured log: one JSON object per event (appended by every run)
//! OUT/cases/NAME/         a finished case (report.html, report.json, anatomy/, rom/, pictures/)
//! OUT/failed/NAME.json    a case that failed: the error chain (removed when a rerun succeeds)
//! OUT/summary.json, OUT/summary-N.json, OUT/summary-N.csv   one row per case (N: the run)
//! OUT/index.html          every case with its status and a link to its report
//! ```
//! A case is written into `cases/.NAME.partial`, every file whole or not at all
//! ([`crate::atomic`]); when it is complete its `manifest.json` (every file with size and
//! SHA-256, [`crate::manifest`]) is written last and the folder renamed to `cases/NAME`.
//! Rerunning the same scenario into the same folder skips a finished case only when its files
//! match its manifest; a damaged one (a file missing, truncated or changed) is moved aside to
//! `cases/.NAME.damaged-N` and redone. Another scenario is refused.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use crate::bail;
use crate::error::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::summary::SummaryRow;

use crate::atomic::write_new;
use crate::pipeline;
use crate::scenario::{Case, Scenario};

/// FNV-1a, 64 bit: the scenario's fingerprint (stable across builds and platforms).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The structured log: JSON lines, appended, shared by the parallel cases.
struct RunLog {
    file: Mutex<std::fs::File>,
    t0: Instant,
}

impl RunLog {
    fn open(path: &Path) -> Result<Self> {
        // A run killed mid-line left a partial last line: moved aside, never appended to (issue 45).
        let aside = coxa_io::jsonl::set_aside_partial_last_line(path).with_context(|| format!("repairing {}", path.display()))?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
        let log = Self { file: Mutex::new(file), t0: Instant::now() };
        if let Some(to) = aside {
            log.event(None, "log_repaired", json!({"why": "the last line was cut (a killed run)", "moved_to": to.file_name().map(|n| n.to_string_lossy().into_owned())}));
        }
        Ok(log)
    }
    fn event(&self, case: Option<&str>, event: &str, extra: Value) {
        // Seconds since the run started, and the wall clock (UTC, RFC 3339) to line the events
        // up with a scheduler's and a PACS's logs.
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut v = json!({"t_s": (self.t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0, "time": time, "event": event});
        if let Some(c) = case {
            v["case"] = json!(c);
        }
        if let Value::Object(m) = extra {
            for (k, x) in m {
                v[k] = x;
            }
        }
        tracing::info!(target: "coxa::run", "{v}");
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{v}");
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The results folder.
    pub out: PathBuf,
    /// Cases run now and finished.
    pub finished: Vec<String>,
    /// Cases skipped because an earlier run finished them.
    pub skipped: Vec<String>,
    /// Cases that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// `summary.json`.
    pub summary: Value,
}

/// Runs `scn` into `out` (default: the scenario's `output_dir`).
///
/// # Errors
/// The results folder belongs to another scenario or cannot be written. A failing case is
/// not an error of the run: it is recorded and the other cases finish.
pub fn run(scn: &Scenario, out: Option<&Path>, show_progress: bool) -> Result<RunOutcome> {
    run_selected(scn, out, show_progress, &Selection::default())
}

/// Which cases a run does, and where it logs (see [`crate::shard`]).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these cases (scenario order is kept); `None`: every case.
    pub cases: Option<Vec<String>>,
    /// A shard of a larger run: only its own files are written (no summary, no index, no
    /// clearing of other processes' temporaries), and it logs into `logs/shard-I-of-N[-jobJ].jsonl`.
    pub shard: Option<crate::shard::Shard>,
}

/// Creates the results folder of `scn` (its `run.json` and `scenario.toml`) or checks that an
/// existing one belongs to the same scenario. Several processes may do this at once (the shards
/// of a job array): the first one creates the files, the others find them.
///
/// # Errors
/// The folder holds another scenario's results, or is not a coxa results folder.
pub fn prepare_out(scn: &Scenario, out: &Path) -> Result<()> {
    let text = scn.text.as_deref().unwrap_or_default();
    let fingerprint = format!("{:016x}", fnv1a(text.as_bytes()));
    let run_json = out.join("run.json");
    // A file or folder of the user's at a case's scratch path refuses the run before it writes.
    for case in &scn.cases {
        let dir = out.join("cases");
        let partial = dir.join(format!(".{}.partial", case.name));
        if !renamed_too_late(&partial) {
            coxa_io::scratch::check_unfinished(&partial, &dir.join(&case.name))?;
        }
    }
    if !run_json.exists() {
        // Only coxa's own entries (another shard creating the folder right now) may be there.
        let foreign = |e: std::fs::DirEntry| {
            let n = e.file_name().to_string_lossy().into_owned();
            !n.starts_with('.') && !["cases", "failed", "logs", "slurm", "scenario.toml"].contains(&n.as_str())
        };
        if out.exists() && std::fs::read_dir(out).map(|mut d| d.any(|e| e.is_ok_and(foreign))).unwrap_or(true) {
            bail!("{} exists and is not a coxa results folder (no readable run.json): choose another output folder", out.display());
        }
        std::fs::create_dir_all(out.join("cases")).with_context(|| format!("creating {}", out.display()))?;
        let meta = crate::stamp::text(
            "run",
            &crate::records::RunFile {
                coxa_version: env!("CARGO_PKG_VERSION").into(),
                scenario_file: scn.file.file_name().map(|n| n.to_string_lossy().into_owned()),
                scenario_fingerprint: fingerprint.clone(),
            },
        )?;
        // Another shard may have created it in the meantime: then it is checked below.
        if write_new(&out.join("scenario.toml"), text.as_bytes()).is_ok() {
            let _ = write_new(&run_json, meta.as_bytes());
        }
        // Wait briefly for the other process's run.json (written right after its scenario.toml).
        for _ in 0..50 {
            if run_json.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let prev: Value = std::fs::read_to_string(&run_json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .with_context(|| format!("{} exists and is not a coxa results folder (no readable run.json): choose another output folder", out.display()))?;
    if prev["scenario_fingerprint"] != json!(fingerprint) {
        bail!(
            "{} holds the results of another scenario ({}); coxa never overwrites results: choose another output folder, or run the same scenario file to finish it",
            out.display(),
            prev["scenario_file"].as_str().unwrap_or("?")
        );
    }
    std::fs::create_dir_all(out.join("cases"))?;
    std::fs::create_dir_all(out.join("failed"))?;
    Ok(())
}

/// Peak resident memory of this process so far (Linux `VmHWM`), bytes; `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs the cases of `scn` that `selection` picks into `out` (default: the scenario's
/// `output_dir`). Without a shard it ends with the summary and index of every case; a shard
/// leaves them to `coxa run --merge` ([`crate::merge`]).
///
/// # Errors
/// As [`run`]; a selected case the scenario does not have.
pub fn run_selected(scn: &Scenario, out: Option<&Path>, show_progress: bool, selection: &Selection) -> Result<RunOutcome> {
    let out = out.map_or_else(|| scn.output_dir.clone(), Path::to_path_buf);
    prepare_out(scn, &out)?;
    let mut cases: Vec<&Case> = match &selection.cases {
        Some(names) => {
            if let Some(unknown) = names.iter().find(|n| !scn.cases.iter().any(|c| &c.name == *n)) {
                bail!("case {unknown:?} is not in {}: the case list belongs to another scenario", scn.file.display());
            }
            scn.cases.iter().filter(|c| names.contains(&c.name)).collect()
        }
        None => scn.cases.iter().collect(),
    };
    let log_path = match &selection.shard {
        Some(shard) => {
            cases = shard.slice(&cases);
            std::fs::create_dir_all(out.join("logs"))?;
            // Per shard and per Slurm array job, so a resubmission's shards keep their own logs.
            let job = std::env::var("SLURM_ARRAY_JOB_ID").map_or_else(|_| String::new(), |j| format!("-job{j}"));
            out.join("logs").join(format!("shard-{}-of-{}{job}.jsonl", shard.index, shard.count))
        }
        None => {
            // Only a whole run may clear temporaries: a shard's neighbours may be writing theirs.
            for d in [out.clone(), out.join("failed")] {
                crate::atomic::remove_temporaries(&d);
            }
            out.join("log.jsonl")
        }
    };
    let log = RunLog::open(&log_path)?;
    let shard_json = selection.shard.map(|s| json!({"index": s.index, "count": s.count, "slurm_job": std::env::var("SLURM_JOB_ID").ok(), "slurm_array_job": std::env::var("SLURM_ARRAY_JOB_ID").ok(), "slurm_array_task": std::env::var("SLURM_ARRAY_TASK_ID").ok(), "slurm_restart_count": std::env::var("SLURM_RESTART_COUNT").ok()}));
    log.event(
        None,
        "run_start",
        json!({"cases": cases.len(), "sweep_points": scn.sweep.len(), "coxa_version": env!("CARGO_PKG_VERSION"), "shard": shard_json, "threads": rayon::current_num_threads()}),
    );

    let catalog = match &scn.catalog {
        Some(dir) => coxa_implants::Catalog::load_dir(dir)?,
        None => coxa_implants::Catalog::builtin()?,
    };
    let multi = if show_progress { MultiProgress::new() } else { MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden()) };
    let overall = multi.add(ProgressBar::new(cases.len() as u64));
    overall.set_style(ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} cases {elapsed}").unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
    overall.set_prefix("run");

    enum Status {
        Done,
        Skipped,
        Failed(String),
    }
    let statuses: Vec<(String, Status)> = cases
        .par_iter()
        .map(|&case| {
            let done_dir = out.join("cases").join(&case.name);
            if done_dir.exists() {
                // Trusted only when every file matches its manifest; else moved aside and redone.
                match crate::manifest::verify(&done_dir) {
                    Ok(_) => {
                        log.event(Some(&case.name), "case_skipped", json!({"why": "finished by an earlier run (manifest verified)"}));
                        overall.inc(1);
                        return (case.name.clone(), Status::Skipped);
                    }
                    Err(why) => match move_aside(&done_dir) {
                        Ok(to) => log.event(Some(&case.name), "case_damaged", json!({"why": why.to_string(), "moved_to": to.strip_prefix(&out).unwrap_or(&to).to_string_lossy(), "action": "redone"})),
                        Err(e) => {
                            overall.inc(1);
                            return (case.name.clone(), Status::Failed(format!("{why}; moving it aside failed: {e}")));
                        }
                    },
                }
            }
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(ProgressStyle::with_template("{prefix:>10} {spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            bar.set_prefix(case.name.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            let t0 = Instant::now();
            let result = run_one(scn, case, &catalog, &out, &|msg: &str| {
                bar.set_message(msg.to_string());
                log.event(Some(&case.name), "stage", json!({"stage": msg}));
            });
            bar.finish_and_clear();
            overall.inc(1);
            match result {
                Ok(()) => {
                    let _ = std::fs::remove_file(out.join("failed").join(format!("{}.json", case.name)));
                    log.event(Some(&case.name), "case_done", json!({"seconds": t0.elapsed().as_secs_f64(), "sweep_points": scn.sweep.len(), "peak_rss_bytes": peak_rss_bytes()}));
                    (case.name.clone(), Status::Done)
                }
                Err(e) => {
                    let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
                    let msg = chain.join(": ");
                    log.event(Some(&case.name), "case_failed", json!({"error": chain}));
                    let f = out.join("failed").join(format!("{}.json", case.name));
                    let _ = std::fs::remove_file(&f);
                    let _ = crate::stamp::write(&f, "failed", &crate::records::FailedFile { case: case.name.clone(), error: chain });
                    (case.name.clone(), Status::Failed(msg))
                }
            }
        })
        .collect();
    overall.finish_and_clear();
    if selection.shard.is_some() {
        let (mut finished, mut skipped, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for (name, st) in statuses {
            match st {
                Status::Done => finished.push(name),
                Status::Skipped => skipped.push(name),
                Status::Failed(e) => failed.push((name, e)),
            }
        }
        log.event(None, "run_done", json!({"finished": finished.len(), "skipped": skipped.len(), "failed": failed.len()}));
        return Ok(RunOutcome { out, finished, skipped, failed, summary: Value::Null });
    }

    // Summary of every finished case (this run's and earlier ones').
    let mut rows = Vec::new();
    let (mut finished, mut skipped, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for (name, st) in statuses {
        match st {
            Status::Done => finished.push(name.clone()),
            Status::Skipped => skipped.push(name.clone()),
            Status::Failed(e) => failed.push((name.clone(), e)),
        }
        rows.push(match crate::summary::SummaryRow::read_done(&out, &name) {
            Some(r) => r,
            None => crate::summary::SummaryRow::failed(&name, failed.iter().find(|(n, _)| *n == name).map(|(_, e)| e.as_str())),
        });
    }
    let summary = json!({"scenario": scn.name, "cases": rows.iter().map(SummaryRow::to_json).collect::<Vec<_>>(), "finished_now": finished, "skipped": skipped, "failed": failed.iter().map(|(n, e)| json!({"case": n, "error": e})).collect::<Vec<_>>()});
    // A new summary per run (never overwritten): summary.json is the latest, earlier ones are kept numbered.
    let summary_text = crate::stamp::text("summary", &summary)?;
    let mut n = 1;
    while out.join(format!("summary-{n}.json")).exists() {
        n += 1;
    }
    write_new(&out.join(format!("summary-{n}.json")), summary_text.as_bytes())?;
    write_new(&out.join(format!("summary-{n}.csv")), summary_csv(&rows)?.as_bytes())?;
    // The latest summary and the index page are regenerated each run (atomically; the numbered
    // summaries keep every run's).
    let done: Vec<&str> = rows.iter().filter_map(|r| r.done().map(|c| c.case.as_str())).collect();
    let (long, designs) = crate::cohort::of_run(&out, &done)?;
    let index = index_html(scn, &rows, &designs)?;
    for (name, text) in [("summary.json", summary_text.clone()), (crate::cohort::LONG, long), (crate::cohort::DESIGNS, designs), ("index.html", index)] {
        let tmp = out.join(format!(".{name}-{n}.tmp"));
        write_new(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, out.join(name))?;
    }
    if scn.radiomics.is_some() {
        crate::radiomics::combine(&out, &scn.cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>())?;
    }
    log.event(None, "run_done", json!({"finished": finished.len(), "skipped": skipped.len(), "failed": failed.len()}));
    Ok(RunOutcome { out, finished, skipped, failed, summary })
}

/// Moves a damaged case folder aside to `cases/.NAME.damaged-N` (never deleted: the user may
/// want to look at it). Returns where it went.
fn move_aside(dir: &Path) -> Result<PathBuf> {
    let name = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let parent = dir.parent().unwrap_or(dir);
    let mut n = 1;
    while parent.join(format!(".{name}.damaged-{n}")).exists() {
        n += 1;
    }
    let to = parent.join(format!(".{name}.damaged-{n}"));
    std::fs::rename(dir, &to).with_context(|| format!("moving the damaged {} to {}", dir.display(), to.display()))?;
    Ok(to)
}

/// A page over every case of the run: status, cup angles, head, smallest daily-life margin,
/// and a link to each case's report (written by coxa-report).
pub(crate) fn index_html(scn: &Scenario, rows: &[SummaryRow], designs: &str) -> Result<String> {
    let rows: Vec<coxa_report::IndexRow> = rows
        .iter()
        .map(|r| {
            let c = r.done();
            coxa_report::IndexRow {
                case: r.case().to_string(),
                status: r.status().to_string(),
                error: match r {
                    SummaryRow::NotDone { error, .. } => error.clone(),
                    SummaryRow::Done(_) => None,
                },
                side: c.map(|c| c.side.as_str().to_string()),
                cup_radiographic_deg: c.and_then(|c| c.cup_radiographic_deg).map(|a| [a.inclination_deg, a.anteversion_deg]),
                head_diameter_mm: c.map(|c| c.head_diameter_mm),
                min_adl_margin_deg: c.and_then(|c| c.min_adl_margin_deg),
                warnings: c.map(|c| c.warnings),
            }
        })
        .collect();
    let mut doc = coxa_report::index_document(scn.name.as_deref().unwrap_or("coxa run"), &rows);
    crate::cohort::link_tables(&mut doc, designs);
    Ok(coxa_report::html::render(&doc)?)
}

pub(crate) fn summary_csv(rows: &[SummaryRow]) -> Result<String> {
    let header = "case,status,side,cup_inclination_deg,cup_anteversion_deg,head_diameter_mm,min_adl_margin_deg,warnings,error".split(',').map(String::from).collect();
    // Numbers as serde_json prints them in the JSON, absent fields empty.
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    let num = |v: Option<f64>| v.map(Value::from).filter(|v| !v.is_null()).map_or(String::new(), |v| v.to_string());
    let mut table: Vec<Vec<String>> = vec![header];
    for r in rows {
        let c = r.done();
        let cup = c.and_then(|c| c.cup_radiographic_deg);
        let error = match r {
            SummaryRow::NotDone { error, .. } => error.as_deref(),
            SummaryRow::Done(_) => None,
        };
        table.push(vec![
            text(Some(r.case())),
            text(Some(r.status())),
            text(c.map(|c| c.side.as_str())),
            num(cup.map(|a| a.inclination_deg)),
            num(cup.map(|a| a.anteversion_deg)),
            num(c.map(|c| c.head_diameter_mm)),
            num(c.and_then(|c| c.min_adl_margin_deg)),
            c.map_or(String::new(), |c| c.warnings.to_string()),
            text(error),
        ]);
    }
    Ok(coxa_io::table::csv_text(&table)?)
}

/// The file that marks a folder as coxa's own unfinished case (see [`coxa_io::scratch`]: only
/// such a folder is ever removed by coxa).
pub use coxa_io::scratch::UNFINISHED_MARK;

/// Clears `partial`, the unfinished folder of the case that will be `done`, when an interrupted
/// run of the same case left it; nothing when there is none ([`coxa_io::scratch::clear_unfinished`]).
///
/// # Errors
/// `partial` exists without coxa's mark for `done` (something else's: never removed, the line
/// names it), or it cannot be removed.
pub fn clear_unfinished(partial: &Path, done: &Path) -> Result<()> {
    if renamed_too_late(partial) {
        return std::fs::remove_dir_all(partial).with_context(|| format!("removing {}", partial.display()));
    }
    Ok(coxa_io::scratch::clear_unfinished(partial, done)?)
}

/// Whether `partial` is a whole case whose last step, the rename to its name, never came: its
/// mark already removed, its manifest written before that ([`case_into`]) and true. Killed in that
/// moment, a run left such a folder, and every later run refused it as not coxa's (issue 16's
/// kill test).
fn renamed_too_late(partial: &Path) -> bool {
    partial.symlink_metadata().is_ok_and(|m| m.is_dir()) && !partial.join(UNFINISHED_MARK).exists() && crate::manifest::verify(partial).is_ok()
}

/// One case into `out/cases/.NAME.partial`, renamed to `out/cases/NAME` when complete. A
/// panic inside the stages is caught and reported as the case's failure.
fn run_one(scn: &Scenario, case: &Case, catalog: &coxa_implants::Catalog, out: &Path, progress: pipeline::Progress<'_>) -> Result<()> {
    let partial = out.join("cases").join(format!(".{}.partial", case.name));
    // Left by an interrupted run of this case: removed only with coxa's mark for it inside.
    clear_unfinished(&partial, &out.join("cases").join(&case.name))?;
    let pulled;
    let case = match &case.input {
        crate::scenario::CaseInput::Pacs { server, study } => {
            pulled = crate::pacs::resolve_case(case, server, study, &out.join("pacs").join(&case.name))?;
            &pulled
        }
        _ => case,
    };
    case_into(scn, case, catalog, &partial, &out.join("cases").join(&case.name), progress).map(drop)
}

/// One case into the new folder `partial`, renamed to `done` when complete (so a folder named
/// `done` is always a whole case): the stages, `case.json` and the manifest. A panic inside the
/// stages is caught and reported as the case's failure.
///
/// # Errors
/// A stage's error; `partial` exists; the rename fails.
pub fn case_into(scn: &Scenario, case: &Case, catalog: &coxa_implants::Catalog, partial: &Path, done: &Path, progress: pipeline::Progress<'_>) -> Result<pipeline::CaseOutcome> {
    coxa_io::scratch::start_unfinished(partial, done)?;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pipeline::run_case(scn, case, catalog, partial, progress)));
    let outcome = match r {
        Ok(r) => r?,
        Err(p) => {
            let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "unknown".into());
            return Err(crate::Error::failed(format!("internal error (a bug in coxa, please report it): {what}")));
        }
    };
    // The mark goes last (the manifest leaves it out): a folder without it is always a whole case.
    crate::stamp::write(&partial.join("case.json"), "case", &outcome.summary)?;
    crate::manifest::write(partial).context("the case's manifest")?;
    coxa_io::scratch::finish_unfinished(partial)?;
    std::fs::rename(partial, done).with_context(|| format!("moving {} to {}", partial.display(), done.display()))?;
    Ok(outcome)
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    /// `summary.csv` keeps a case's name and error as they are, read back by the csv crate (issue
    /// 40: it turned `"` into `'`); a name that needs no quotes is written bare.
    #[test]
    fn summary_csv_reads_back_quotes_commas_and_line_breaks() {
        let error = "reading \"ct.nii\": no such file,\nfix the path";
        let rows = [SummaryRow::failed("p, \"7\"", Some(error)), SummaryRow::failed("p8", None)];
        let text = summary_csv(&rows).unwrap();
        assert!(text.ends_with("\np8,failed,,,,,,,\n"), "{text}");
        let back: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes()).records().collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((&back[0][0], &back[0][1], &back[0][8]), ("p, \"7\"", "failed", error));
    }
}

#[cfg(test)]
mod unfinished_tests {
    use super::*;

    /// A run killed after its case's mark was removed and before the rename left a whole case at
    /// the scratch path: the next run clears it (issue 16's kill test met it: every later run
    /// refused the folder). A folder without the mark that is not a whole case is still refused.
    #[test]
    fn a_whole_case_left_before_its_rename_is_cleared() {
        let d = tempfile::tempdir().unwrap();
        let (partial, done) = (d.path().join(".a.partial"), d.path().join("a"));
        coxa_io::scratch::start_unfinished(&partial, &done).unwrap();
        std::fs::write(partial.join("plan.json"), b"{}").unwrap();
        crate::manifest::write(&partial).unwrap();
        coxa_io::scratch::finish_unfinished(&partial).unwrap();
        clear_unfinished(&partial, &done).unwrap();
        assert!(!partial.exists());
        std::fs::create_dir(&partial).unwrap();
        std::fs::write(partial.join("plan.json"), b"{}").unwrap();
        crate::manifest::write(&partial).unwrap();
        std::fs::write(partial.join("plan.json"), b"{ }").unwrap();
        assert!(clear_unfinished(&partial, &done).is_err());
        assert!(partial.join("plan.json").exists());
    }
}

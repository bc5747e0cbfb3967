//! `coxa submit SCENARIO --slurm`: the scenario as a Slurm job array over shards
//! ([`coxa_case::shard`]) plus a merge job ([`coxa_case::merge`]) that runs after it.
//!
//! What it does, in order:
//! 1. creates (or checks) the results folder, and refuses while an earlier submission for the
//!    folder is still queued or running (`squeue`), so no case runs twice at once;
//! 2. lists the cases that are not done ([`coxa_case::merge::classify`]: missing, incomplete,
//!    failed, damaged) into `OUT/slurm/submit-K/cases.txt`: a first submission lists every case,
//!    a resubmission exactly the unfinished and failed ones;
//! 3. derives the time and memory per task from the measured per-case cost in the run logs
//!    (`case_done` events: seconds and peak resident memory) or, before anything was measured,
//!    from coxa's estimate ([`coxa_case::estimate`]); `--time` and `--mem` override;
//! 4. writes `array.sbatch` (`--array=0-(N-1)`, task `I` runs `coxa run SCENARIO --out OUT
//!    --shard I/N --cases-file cases.txt`, log `logs/task-I.log`, requeueable) and
//!    `merge.sbatch` (`coxa run SCENARIO --merge`, log `logs/merge.log`), submits them with
//!    `sbatch --parsable` (the merge with `--dependency=afterany:ARRAY`), prints the job ids and
//!    appends the submission to `OUT/slurm/submissions.jsonl` (read by `coxa status`).
//!
//! Compute nodes have no display or Vulkan, and need none: coxa draws the report's pictures on
//! the CPU. The tasks say whether the scenario draws them (`[report] pictures = false` switches
//! them off).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use coxa_case::merge::{CaseState, classify};
use coxa_case::scenario::Scenario;

/// Arguments of `coxa submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The scenario file (TOML, schema_version = 1).
    pub scenario: PathBuf,
    /// Submit to Slurm (`sbatch`); the only scheduler so far (others can drive `coxa run
    /// --shard I/N` and `coxa run --merge` themselves).
    #[arg(long, required = true)]
    pub slurm: bool,
    /// Results folder instead of the scenario's `output_dir` (on a file system every node sees).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Tasks in the array (default: one per case to run, at most 64).
    #[arg(long, value_name = "N")]
    pub array_size: Option<usize>,
    /// Time limit per task in Slurm's form (`30`, `1:30:00`, `2-00:00:00`); default from the
    /// measured per-case cost.
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per task in Slurm's form (`2G`, `800M`); default from the measured peak.
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Cores per task (cases of a task run in parallel on them).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: usize,
    /// The coxa program the nodes run (default: this one).
    #[arg(long)]
    pub coxa: Option<PathBuf>,
    /// Write the scripts and print what would be submitted, without `sbatch`.
    #[arg(long)]
    pub dry_run: bool,
}

/// One submission, as `OUT/slurm/submissions.jsonl` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// 1, 2, ... per results folder.
    pub submission: usize,
    /// The array job's id (`None`: a dry run).
    pub array_job: Option<String>,
    /// The merge job's id.
    pub merge_job: Option<String>,
    /// Tasks in the array.
    pub tasks: usize,
    /// The cases submitted, in scenario order (task `I` runs positions `I, I + tasks, ...`).
    pub cases: Vec<String>,
    /// Every case of the scenario.
    pub all_cases: Vec<String>,
    /// The submission's folder, relative to the results folder.
    pub dir: String,
    /// Time limit per task.
    pub time: String,
    /// Memory per task.
    pub mem: String,
    /// Where time and memory came from.
    pub cost_source: String,
}

impl Submission {
    /// The task of this submission that runs `case`, if it was submitted.
    pub fn task_of(&self, case: &str) -> Option<usize> {
        self.cases.iter().position(|c| c == case).map(|p| p % self.tasks.max(1))
    }
}

/// The submissions made for the results folder `out`, oldest first.
pub fn read_submissions(out: &Path) -> Vec<Submission> {
    std::fs::read_to_string(out.join("slurm").join("submissions.jsonl")).map(|t| t.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()).unwrap_or_default()
}

/// Jobs Slurm still holds: (array or job id, task id if an array task, state), from `squeue`.
///
/// # Errors
/// `squeue` cannot run.
pub fn squeue() -> Result<Vec<(String, Option<usize>, String)>> {
    // -r: one line per array task, pending ones too (without it they come as one `A_[2-3]` line).
    let out = Command::new("squeue").args(["-h", "-r", "-o", "%F|%K|%T|%i"]).output().context("running squeue (is Slurm installed and SLURM_CONF set?)")?;
    if !out.status.success() {
        bail!("squeue failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f.len() == 4).then(|| (f[0].to_string(), f[1].parse().ok(), f[2].to_string()))
        })
        .collect())
}

/// The measured cost of one case: (seconds, peak resident bytes, how many cases measured).
fn measured_cost(out: &Path) -> Option<(f64, f64, usize)> {
    let mut logs = vec![out.join("log.jsonl")];
    logs.extend(std::fs::read_dir(out.join("logs")).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "jsonl")));
    let (mut secs, mut peak, mut n) = (0.0f64, 0.0f64, 0usize);
    for l in logs.iter().filter_map(|p| std::fs::read_to_string(p).ok()).flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>()) {
        let Ok(v) = serde_json::from_str::<Value>(&l) else { continue };
        if v["event"] == "case_done"
            && let Some(s) = v["seconds"].as_f64()
        {
            secs = secs.max(s);
            peak = peak.max(v["peak_rss_bytes"].as_f64().unwrap_or(0.0));
            n += 1;
        }
    }
    (n > 0).then_some((secs, peak, n))
}

/// Slurm's `H:MM:SS`.
fn slurm_time(seconds: f64) -> String {
    let s = seconds.ceil().max(60.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Time and memory per task for `per_task` cases run `cpus` at a time, with where they came from.
fn requests(scn: &Scenario, out: &Path, per_task: usize, cpus: usize) -> (String, String, String) {
    let (case_s, peak_bytes, source) = match measured_cost(out) {
        Some((s, p, n)) => (s, if p > 0.0 { p } else { 600e6 }, format!("measured: slowest of {n} finished case(s) {s:.1} s, peak {:.0} MB", p / 1e6)),
        None => {
            let e = coxa_case::estimate::Estimate::of(scn, 1);
            (e.seconds / scn.cases.len().max(1) as f64, e.memory_bytes, "coxa's estimate (no case measured yet in this folder)".to_string())
        }
    };
    // Twice the slowest case per case in the task (nodes differ, the load varies), plus two
    // minutes to start and to verify finished cases.
    let rounds = per_task.div_ceil(cpus.max(1)) as f64;
    let time = slurm_time(rounds * case_s * 2.0 + 120.0);
    // The peak of a process running `cpus` cases at a time, with half again for safety.
    let mem_mb = ((peak_bytes * 1.5 * cpus.max(1) as f64) / 1e6).ceil().max(256.0) as u64;
    (time, format!("{mem_mb}M"), source)
}

/// Which build `coxa` is (the bracketed part of its `--version`, see [`crate::view::BUILD`]).
/// Runs it, so a `--coxa` that does not start is refused here rather than in every task.
fn build_of(coxa: &Path) -> Result<String> {
    if std::env::current_exe().ok().as_deref() == Some(coxa) {
        return Ok(crate::view::BUILD.to_string());
    }
    let o = std::process::Command::new(coxa).arg("--version").output().with_context(|| format!("--coxa {}: it does not start", coxa.display()))?;
    let text = String::from_utf8_lossy(&o.stdout);
    match text.split_once('(').and_then(|(_, b)| b.trim_end().strip_suffix(')')) {
        Some(build) if o.status.success() && text.starts_with("coxa ") => Ok(build.to_string()),
        _ => bail!("--coxa {}: `--version` printed {:?}, not coxa's \"coxa VERSION (BUILD)\"; give the path of a coxa program", coxa.display(), text.trim()),
    }
}

/// The array script's comment on the build its tasks run and on pictures.
fn build_note(build: &str, pictures: bool) -> String {
    let mut note = if build.starts_with("headless") {
        format!("# Tasks run the headless coxa ({build}): nodes need no Vulkan, no display.\n")
    } else {
        format!(
            "# Tasks run the window coxa ({build}).\n# Nodes without Vulkan or a display need no more, but a headless coxa is smaller and starts no GPU probe:\n# `cargo build --release -p coxa-scenarios --no-default-features`, then `coxa submit --coxa target/release/coxa`.\n"
        )
    };
    note.push_str(if pictures {
        "# The scenario draws pictures: on nodes without a GPU they cost most of a case's time;\n# set [report] pictures = false for cohort runs.\n"
    } else {
        "# Headless: pictures switched off by the scenario ([report] pictures = false).\n"
    });
    note
}

/// A path as the value of an `#SBATCH` line. sbatch reads these lines itself, not through a
/// shell: a double-quoted value may hold spaces, a backslash escapes the next character, and an
/// unescaped `#` starts a comment. In `--output` file names `%` starts a pattern (`%a`, the
/// array index), so a literal one is `%%`.
fn sbatch_value(p: &Path, pattern: bool) -> String {
    let mut v = String::from("\"");
    for c in p.to_string_lossy().chars() {
        match c {
            '\\' | '"' | '#' => v.extend(['\\', c]),
            '%' if pattern => v.push_str("%%"),
            _ => v.push(c),
        }
    }
    v.push('"');
    v
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
}

/// `coxa submit`.
///
/// # Errors
/// The scenario or the folder is refused, an earlier submission is still running, or `sbatch`
/// fails.
pub fn cli(args: &SubmitArgs) -> Result<()> {
    let scn = Scenario::load(&args.scenario)?;
    let out = args.out.clone().unwrap_or_else(|| scn.output_dir.clone());
    let coxa = match &args.coxa {
        Some(c) => std::fs::canonicalize(c).with_context(|| format!("--coxa {}", c.display()))?,
        None => std::env::current_exe().context("finding the coxa program")?,
    };
    let build = build_of(&coxa)?;
    coxa_case::run::prepare_out(&scn, &out)?;
    // The tasks start in this folder (`--chdir`), with the paths as given: their messages then
    // read as a one-machine run's from here.
    let cwd = std::env::current_dir().context("the current folder")?;
    let scenario_file = args.scenario.clone();
    if args.cpus_per_task == 0 {
        bail!("--cpus-per-task 0: a task needs at least one core");
    }

    let earlier = read_submissions(&out);
    if !args.dry_run && !earlier.is_empty() {
        let ours: Vec<&String> = earlier.iter().flat_map(|s| s.array_job.iter().chain(s.merge_job.iter())).collect();
        let active: Vec<String> = squeue()?.into_iter().filter(|(id, _, _)| ours.contains(&id)).map(|(id, t, st)| t.map_or_else(|| format!("{id} {st}"), |t| format!("{id}_{t} {st}"))).collect();
        if !active.is_empty() {
            bail!("an earlier submission for {} is still queued or running ({}); wait for it (`coxa status {}`) or scancel it, then submit again", out.display(), active.join(", "), out.display());
        }
    }

    let to_run: Vec<String> = scn.cases.iter().filter(|c| classify(&out, &c.name) != CaseState::Done).map(|c| c.name.clone()).collect();
    if to_run.is_empty() {
        println!("every case of {} is done in {}: nothing to submit (`coxa run {} --merge --out {}` rebuilds the summary)", scn.file.display(), out.display(), scn.file.display(), out.display());
        return Ok(());
    }
    let tasks = args.array_size.unwrap_or(64).clamp(1, to_run.len());
    let per_task = to_run.len().div_ceil(tasks);
    let (time, mem, cost_source) = requests(&scn, &out, per_task, args.cpus_per_task);
    let time = args.time.clone().unwrap_or(time);
    let mem = args.mem.clone().unwrap_or(mem);

    let k = earlier.iter().map(|s| s.submission).max().unwrap_or(0) + 1;
    let rel = format!("slurm/submit-{k}");
    let dir = out.join(&rel);
    std::fs::create_dir_all(dir.join("logs"))?;
    let cases_file = dir.join("cases.txt");
    coxa_case::atomic::write_new(&cases_file, format!("# cases of submission {k}, scenario order; task I runs lines I, I+{tasks}, ...\n{}\n", to_run.join("\n")).as_bytes())?;
    let pictures_note = build_note(&build, scn.report.pictures);
    let partition = args.partition.as_ref().map_or_else(String::new, |p| format!("#SBATCH --partition={p}\n"));
    let name = scn.file.file_stem().map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    // `%a` is Slurm's array index: the folder is escaped, the pattern is not.
    let logs = sbatch_value(&dir.join("logs"), true);
    let task_log = format!("{}/task-%a.log\"", &logs[..logs.len() - 1]);
    let array = format!(
        "#!/bin/bash\n# coxa submit: the cases of {scn_name} in {tasks} shards (submission {k}).\n{pictures_note}#SBATCH --job-name=coxa-{name}\n#SBATCH --array=0-{last}\n#SBATCH --cpus-per-task={cpus}\n#SBATCH --time={time}\n#SBATCH --mem={mem}\n{partition}#SBATCH --chdir={cwd}\n#SBATCH --output={log}\n#SBATCH --open-mode=append\n#SBATCH --requeue\nexport RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\necho \"coxa shard $SLURM_ARRAY_TASK_ID/{tasks} on $(hostname) (job $SLURM_JOB_ID, restart ${{SLURM_RESTART_COUNT:-0}}): $({coxa} --version)\"\nexec {coxa} run {scn_file} --out {out} --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\" --cases-file {cases} --quiet --yes\n",
        scn_name = scn.file.display(),
        last = tasks - 1,
        cpus = args.cpus_per_task,
        log = task_log,
        coxa = quote(&coxa),
        scn_file = quote(&scenario_file),
        out = quote(&out),
        cases = quote(&cases_file),
        cwd = sbatch_value(&cwd, false),
    );
    let merge = format!(
        "#!/bin/bash\n# coxa submit: the merge of submission {k} (summary.json, summary.csv, index.html from what finished).\n#SBATCH --job-name=coxa-{name}-merge\n#SBATCH --cpus-per-task=1\n#SBATCH --time=0:30:00\n#SBATCH --mem=1000M\n{partition}#SBATCH --chdir={cwd}\n#SBATCH --output={log}\n#SBATCH --open-mode=append\nexec {coxa} run {scn_file} --out {out} --merge\n",
        log = sbatch_value(&dir.join("logs").join("merge.log"), true),
        coxa = quote(&coxa),
        scn_file = quote(&scenario_file),
        out = quote(&out),
        cwd = sbatch_value(&cwd, false),
    );
    coxa_case::atomic::write_new(&dir.join("array.sbatch"), array.as_bytes())?;
    coxa_case::atomic::write_new(&dir.join("merge.sbatch"), merge.as_bytes())?;

    let (array_job, merge_job, merge_error) = if args.dry_run {
        (None, None, None)
    } else {
        let a = sbatch(&[], &dir.join("array.sbatch"))?;
        // The array runs even if the merge cannot be submitted: it is recorded either way, so a
        // resubmission waits for it.
        match sbatch(&[format!("--dependency=afterany:{a}")], &dir.join("merge.sbatch")) {
            Ok(m) => (Some(a), Some(m), None),
            Err(e) => (Some(a), None, Some(e)),
        }
    };
    let sub = Submission {
        submission: k,
        array_job: array_job.clone(),
        merge_job: merge_job.clone(),
        tasks,
        cases: to_run.clone(),
        all_cases: scn.cases.iter().map(|c| c.name.clone()).collect(),
        dir: rel,
        time: time.clone(),
        mem: mem.clone(),
        cost_source: cost_source.clone(),
    };
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(out.join("slurm").join("submissions.jsonl"))?;
    writeln!(f, "{}", serde_json::to_string(&sub)?)?;
    f.sync_all()?;

    if let Some(e) = merge_error {
        bail!("array job {} submitted, but not its merge: {e:#}; run `coxa run {} --merge --out {}` when it has ended", array_job.unwrap_or_default(), scn.file.display(), out.display());
    }
    let done = scn.cases.len() - to_run.len();
    println!("{} case(s) to run ({} done already) in {tasks} task(s) of up to {per_task} case(s); per task --time={time} --mem={mem} ({cost_source})", to_run.len(), done);
    for line in pictures_note.lines() {
        println!("{}", line.trim_start_matches("# "));
    }
    match (&array_job, &merge_job) {
        (Some(a), Some(m)) => {
            println!("array job {a} (tasks {a}_0 .. {a}_{})", tasks - 1);
            println!("merge job {m} (after the array)");
        }
        _ => println!("dry run: scripts in {} (nothing submitted)", dir.display()),
    }
    println!("logs in {}; `coxa status {}` shows each case", dir.join("logs").display(), out.display());
    Ok(())
}

/// `sbatch --parsable [extra] SCRIPT`: the job id.
fn sbatch(extra: &[String], script: &Path) -> Result<String> {
    let out = Command::new("sbatch").arg("--parsable").args(extra).arg(script).output().context("running sbatch (is Slurm installed and SLURM_CONF set?)")?;
    if !out.status.success() {
        bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch {} printed no job id ({:?})", script.display(), text.trim());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbatch_values_keep_spaces_hashes_and_percents() {
        let p = Path::new("/data/run 1/c#2/50%/a\"b\\c");
        assert_eq!(sbatch_value(p, true), r#""/data/run 1/c\#2/50%%/a\"b\\c""#);
        assert_eq!(sbatch_value(p, false), r#""/data/run 1/c\#2/50%/a\"b\\c""#);
    }

    #[test]
    fn task_of_follows_the_shard_slices() {
        let cases: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        let s = Submission {
            submission: 1,
            array_job: None,
            merge_job: None,
            tasks: 4,
            cases: cases.clone(),
            all_cases: cases.clone(),
            dir: String::new(),
            time: String::new(),
            mem: String::new(),
            cost_source: String::new(),
        };
        let refs: Vec<&String> = cases.iter().collect();
        for t in 0..4 {
            for c in (coxa_case::shard::Shard { index: t, count: 4 }).slice(&refs) {
                assert_eq!(s.task_of(c), Some(t));
            }
        }
        assert_eq!(s.task_of("other"), None);
        assert_eq!(slurm_time(59.0), "0:01:00");
        assert_eq!(slurm_time(3725.2), "1:02:06");
    }
}

//! A single-node Slurm started by the test: array jobs, the build the tasks run, and faults resubmitted.

use super::*;

/// The local Slurm of this test: `scripts/slurm-local start` into a temporary folder, stopped
/// (its three daemons, by pid) when dropped.
pub(super) struct LocalSlurm {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl LocalSlurm {
    pub(super) fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-local")
    }

    pub(super) fn start() -> Option<Self> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let have = Command::new("sh").args(["-c", "command -v slurmctld && command -v munged"]).output().is_ok_and(|o| o.status.success());
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !have || !root {
            assert!(!ci, "Slurm is needed in CI: scripts/setup installs slurm-wlm and munge, and the test runs as root");
            eprintln!("note: Slurm not installed or not root: the Slurm test is skipped (scripts/setup installs slurm-wlm and munge)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(Self::script()).arg("start").arg(dir.path()).output().unwrap();
        let s = Self { conf: dir.path().join("slurm.conf"), dir };
        assert!(out.status.success(), "the local Slurm did not start: {}", text(&out));
        Some(s)
    }

    pub(super) fn cmd(&self, prog: &str, args: &[&str]) -> Output {
        Command::new(prog).args(args).env("SLURM_CONF", &self.conf).output().unwrap()
    }

    /// squeue rows `JOBID STATE` (array tasks as `A_I`).
    pub(super) fn queue(&self) -> Vec<(String, String)> {
        // -r: one line per array task, pending ones too (not `1_[2-3]`).
        let o = self.cmd("squeue", &["-h", "-r", "-o", "%i %T"]);
        String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string()))).collect()
    }

    pub(super) fn state_of(&self, id: &str) -> Option<String> {
        self.queue().into_iter().find(|(i, _)| i == id).map(|(_, s)| s)
    }

    /// Waits until job `id` has left the queue.
    pub(super) fn wait_gone(&self, id: &str, limit: Duration) {
        let t0 = Instant::now();
        while self.queue().iter().any(|(i, _)| i == id || i.starts_with(&format!("{id}_"))) {
            assert!(t0.elapsed() < limit, "job {id} still queued after {limit:?}: {:?}", self.queue());
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

impl Drop for LocalSlurm {
    fn drop(&mut self) {
        let _ = Command::new(Self::script()).arg("stop").arg(self.dir.path()).output();
    }
}

/// `coxa submit --dry-run` writes the scripts without Slurm: the array script and the output
/// name the build of coxa the tasks run (its `--version`), each task logs that line, and a
/// `--coxa` that is not a coxa program is refused before anything is written.
#[test]
fn submit_names_the_build_its_tasks_run() -> Result<()> {
    let Some(vsd) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let s = cohort(dir, &vsd, 3).to_str().unwrap().to_string();
    let version = text(&coxa_in(dir, &["--version"], &[]));
    let build = version.trim().strip_prefix("coxa ").and_then(|v| v.split_once(" (")).map(|(_, b)| b.strip_suffix(')').unwrap()).unwrap_or_else(|| panic!("coxa --version: {version}"));
    assert!(build.starts_with("window build") || build.starts_with("headless build"), "{build}");
    // The version names the git revision it was built from (issue 44).
    let head = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output()?;
    if head.status.success() {
        let rev = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert!(version.starts_with(&format!("coxa {}+{rev} (", env!("CARGO_PKG_VERSION"))), "{version} names the revision {rev}");
    }

    // Not a coxa: refused, nothing written.
    for (bad, why) in [("/bin/true", "`--version` printed"), ("no-such-coxa", "no-such-coxa")] {
        let o = coxa_in(dir, &["submit", &s, "--slurm", "--dry-run", "--out", "out", "--coxa", bad], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(why) && text(&o).lines().filter(|l| l.starts_with("error")).count() == 1, "{}", text(&o));
        assert!(!dir.join("out/slurm").exists(), "nothing written for --coxa {bad}");
    }

    let o = coxa_in(dir, &["submit", &s, "--slurm", "--dry-run", "--out", "out"], &[]);
    ok(&o);
    let script = std::fs::read_to_string(dir.join("out/slurm/submit-1/array.sbatch"))?;
    let said = text(&o);
    assert!(script.contains(&format!("({build})")) && said.contains(&format!("({build})")), "the script and the output name the build:\n{script}\n{said}");
    if build.starts_with("window") {
        assert!(said.contains("--no-default-features") && script.contains("--no-default-features"), "says how to get the headless build: {said}");
    }
    // The task's first log line carries the version of the coxa it runs.
    assert!(script.contains(&format!("$('{}' --version)", env!("CARGO_BIN_EXE_coxa"))), "{script}");
    // The script runs as it stands: the version line and the shard's command, here without Slurm.
    let first = script.lines().find(|l| l.starts_with("echo ")).unwrap();
    let o = Command::new("bash").args(["-c", first]).env("SLURM_ARRAY_TASK_ID", "0").env("SLURM_JOB_ID", "7").output()?;
    assert!(String::from_utf8_lossy(&o.stdout).contains(version.trim()), "{}", text(&o));
    Ok(())
}

/// `coxa submit`'s job ids from its output: (array job, merge job).
pub(super) fn job_ids(out: &Output) -> (String, String) {
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = |prefix: &str| t.lines().find_map(|l| l.strip_prefix(prefix)).and_then(|r| r.split_whitespace().next()).unwrap_or_else(|| panic!("no {prefix:?} in {t}")).to_string();
    (id("array job "), id("merge job "))
}

/// The cases of task `t` of `tasks` over `cases`.
pub(super) fn slice(cases: &[String], t: usize, tasks: usize) -> Vec<String> {
    cases.iter().skip(t).step_by(tasks).cloned().collect()
}

pub(super) fn waits_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The pid of the `coxa` process running shard `shard` of the scenario file `scenario`.
pub(super) fn shard_pid(scenario: &str, shard: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let has = |w: &[&str]| args.windows(2).any(|p| p[0] == w[0] && p[1] == w[1]);
        (has(&["--shard", shard]) && args.iter().any(|a| a == scenario)).then_some(pid)
    })
}

/// The issue's Slurm test: a scenario of 20 cases as an array of 4 tasks on a real Slurm, with
/// faults (task 1 scancel'ed mid-run, case 5 failing, task 2 out of time, a finished case
/// damaged afterwards): the merge reports each and accepts nothing half-written; the
/// resubmission runs exactly the unfinished cases (one of its tasks requeued mid-run); the final
/// merged summary equals the one-machine `coxa run`'s, with byte-identical case folders.
#[test]
fn slurm_array_with_faults_resubmits_to_the_one_machine_result() -> Result<()> {
    let Some(slurm) = LocalSlurm::start() else { return Ok(()) };
    let Some((tmp, s)) = cohort_with_reference(20) else { return Ok(()) };
    let (dir, s) = (tmp.path(), s.as_str());
    let env = [("SLURM_CONF", slurm.conf.as_path())];
    // The results folder's name has a space, a `#` and a `%`, which sbatch's own reading of
    // `#SBATCH` lines would otherwise split, cut or expand.
    let cluster = "cluster run #1 (50%)";
    let out = dir.join(cluster);
    let all: Vec<String> = read_json(&dir.join("one/summary.json"))["cases"].as_array().unwrap().iter().map(|c| c["case"].as_str().unwrap().to_string()).collect();
    assert_eq!(all.len(), 20);

    // Submission 1: 4 tasks of 5 cases.
    let sub = coxa_in(dir, &["submit", s, "--slurm", "--out", cluster, "--array-size", "4"], &env);
    ok(&sub);
    eprintln!("{}", text(&sub));
    let (array, merge) = job_ids(&sub);
    assert!(text(&sub).contains("pictures switched off by the scenario"), "the tasks say they are headless");
    // Task 2 gets one minute (Slurm's smallest limit).
    let upd = slurm.cmd("scontrol", &["update", &format!("JobId={array}_2"), "TimeLimit=1"]);
    assert!(upd.status.success(), "scontrol update: {}", text(&upd));
    let done = |c: &String| out.join("cases").join(c).join("manifest.json").is_file();
    // Watched together from the submission on (task 2 may start, and on an idle machine finish
    // its five cases within seconds, while task 1 is still on its first case):
    // - task 1 is cancelled once its first case is done;
    // - task 2 hangs (stopped, as on a stalled node) as soon as its coxa starts, and so runs out
    //   of time.
    let t1 = slice(&all, 1, 4);
    let t2 = slice(&all, 2, 4);
    let task2 = format!("{array}_2");
    let t0 = Instant::now();
    let (mut cancelled, mut stopped, mut seen2) = (false, false, false);
    while !(cancelled && stopped) {
        assert!(t0.elapsed() < Duration::from_secs(900), "after 900 s: task 1 cancelled {cancelled}, task 2 stopped {stopped}; queue {:?}", slurm.queue());
        if !cancelled && t1.iter().any(done) {
            ok(&slurm.cmd("scancel", &[&format!("{array}_1")]));
            cancelled = true;
        }
        if !stopped {
            if let Some(pid) = shard_pid(s, "2/4") {
                ok(&Command::new("kill").args(["-STOP", &pid.to_string()]).output()?);
                eprintln!("task 2's coxa (pid {pid}) stopped {:?} after the submission", t0.elapsed());
                stopped = true;
            } else if slurm.state_of(&task2).is_some() {
                seen2 = true;
            } else if seen2 {
                // Gone without its coxa seen: only right if it ran out of its minute before
                // coxa started (a very loaded machine); anything else is this test's failure.
                let log = std::fs::read_to_string(out.join("slurm/submit-1/logs/task-2.log")).unwrap_or_default();
                assert!(log.contains("TIME LIMIT"), "task 2 ended before its coxa was seen: {log}");
                stopped = true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    slurm.wait_gone(&merge, Duration::from_secs(1200));

    // The merge job's report: what finished, the failure, the stopped tasks' cases.
    let log1 = std::fs::read_to_string(out.join("slurm/submit-1/logs/merge.log"))?;
    eprintln!("{log1}");
    let summary = read_json(&out.join("summary.json"));
    let state = |c: &str| summary["cases"].as_array().unwrap().iter().find(|r| r["case"] == c).unwrap()["status"].as_str().unwrap().to_string();
    assert_eq!(state("c05-broken"), "failed");
    assert!(log1.contains("FAILED     c05-broken"), "{log1}");
    let unfinished1: Vec<String> = all.iter().filter(|c| !done(c)).cloned().collect();
    let t1_left: Vec<&String> = t1.iter().filter(|c| !done(c) && *c != "c05-broken").collect();
    let t2_left: Vec<&String> = t2.iter().filter(|c| !done(c)).collect();
    assert!(!t1_left.is_empty() && !t2_left.is_empty(), "the cancelled and the timed-out task left cases: {unfinished1:?}");
    for c in t1_left.iter().chain(&t2_left) {
        assert!(["incomplete", "missing"].contains(&state(c).as_str()), "{c}: {}", state(c));
        assert!(log1.contains(c.as_str()), "the merge names {c}: {log1}");
    }
    // Everything the merge calls done is whole and equals the one-machine case.
    for c in all.iter().filter(|c| state(c) == "done") {
        assert_same_case(&dir.join("one/cases").join(c), &out.join("cases").join(c));
    }
    for (task, why) in [(1, "CANCELLED"), (2, "TIME LIMIT")] {
        let log = std::fs::read_to_string(out.join(format!("slurm/submit-1/logs/task-{task}.log")))?;
        assert!(log.contains(why), "task {task}'s log says {why}: {log}");
    }
    // coxa status: the cancelled and the timed-out tasks' cases, the failed one.
    let st = coxa_in(dir, &["status", cluster], &env);
    ok(&st);
    let st = text(&st);
    eprintln!("{st}");
    assert!(t1_left.iter().all(|c| st.lines().any(|l| l.starts_with(c.as_str()) && l.contains("task cancelled"))), "{st}");
    assert!(t2_left.iter().all(|c| st.lines().any(|l| l.starts_with(c.as_str()) && l.contains("task out of time"))), "{st}");
    assert!(st.lines().any(|l| l.starts_with("c05-broken") && l.contains("failed")), "{st}");

    // A finished case damaged afterwards (a truncated ROM file) is not accepted either.
    let victim = all.iter().find(|c| done(c) && !t1.contains(c) && !t2.contains(c)).unwrap().clone();
    let rom = out.join("cases").join(&victim).join("report.json");
    let bytes = std::fs::read(&rom)?;
    std::fs::write(&rom, &bytes[..bytes.len() - 10])?;
    let m = coxa_in(dir, &["run", s, "--out", cluster, "--merge"], &env);
    assert!(text(&m).contains(&format!("DAMAGED    {victim}")), "{}", text(&m));

    // Submission 2: exactly the unfinished, failed and damaged cases; its task 0 is requeued mid-run.
    let mut expected: Vec<String> = unfinished1.clone();
    expected.push(victim.clone());
    expected.sort();
    let finished_before: Vec<(String, std::time::SystemTime)> =
        all.iter().filter(|c| !expected.contains(c)).map(|c| (c.clone(), std::fs::metadata(out.join("cases").join(c).join("manifest.json")).unwrap().modified().unwrap())).collect();
    let sub2 = coxa_in(dir, &["submit", s, "--slurm", "--out", cluster, "--array-size", "4"], &env);
    ok(&sub2);
    eprintln!("{}", text(&sub2));
    assert!(text(&sub2).contains("measured: slowest of"), "time and memory from the measured cost: {}", text(&sub2));
    let listed: Vec<String> = std::fs::read_to_string(out.join("slurm/submit-2/cases.txt"))?.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(String::from).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "the resubmission lists exactly the unfinished cases");
    let (array2, merge2) = job_ids(&sub2);
    // Task 0 of the resubmission is requeued (`scontrol requeue`) while it runs, after its first
    // case: it starts again, skips what it finished, and redoes the rest.
    let t0_cases = slice(&listed, 0, 4.min(listed.len()));
    let t0_log = out.join(format!("logs/shard-0-of-4-job{array2}.jsonl"));
    let ended_in_log = || std::fs::read_to_string(&t0_log).map_or(0, |t| t.matches("\"case_done\"").count() + t.matches("\"case_failed\"").count());
    let mut requeued = false;
    if t0_cases.len() >= 2 {
        waits_for("submission 2 task 0 running past its first case", Duration::from_secs(900), || {
            (slurm.state_of(&format!("{array2}_0")).as_deref() == Some("RUNNING") && ended_in_log() >= 1) || ended_in_log() >= t0_cases.len()
        });
        if ended_in_log() < t0_cases.len() {
            let rq = slurm.cmd("scontrol", &["requeue", &format!("{array2}_0")]);
            assert!(rq.status.success(), "scontrol requeue: {}", text(&rq));
            requeued = true;
        }
    }
    slurm.wait_gone(&merge2, Duration::from_secs(1200));
    let log2 = std::fs::read_to_string(out.join("slurm/submit-2/logs/merge.log"))?;
    eprintln!("{log2}");

    // The resubmission ran exactly those cases; the others were not touched.
    let mut ran: BTreeSet<String> = BTreeSet::new();
    for e in std::fs::read_dir(out.join("logs"))?.flatten() {
        if e.file_name().to_string_lossy().ends_with(&format!("-job{array2}.jsonl")) {
            for l in std::fs::read_to_string(e.path())?.lines() {
                let v: Value = serde_json::from_str(l)?;
                if v["event"] == "case_done" || v["event"] == "case_failed" {
                    ran.insert(v["case"].as_str().unwrap().to_string());
                }
            }
        }
    }
    assert_eq!(ran.into_iter().collect::<Vec<_>>(), expected, "submission 2 ran exactly the unfinished cases");
    // The requeued task ran twice (Slurm's restart count 1 the second time).
    let task0 = std::fs::read_to_string(&t0_log)?;
    let restarts: Vec<Value> = task0.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|v| v["event"] == "run_start").map(|v| v["shard"]["slurm_restart_count"].clone()).collect();
    eprintln!("submission 2 task 0: requeued {requeued}, run starts with restart counts {restarts:?}");
    if requeued {
        assert_eq!(restarts.len(), 2, "the requeued task started twice: {task0}");
    }
    for (c, t) in &finished_before {
        assert_eq!(std::fs::metadata(out.join("cases").join(c).join("manifest.json"))?.modified()?, *t, "{c} was not redone");
    }
    // The final merged summary is the one-machine run's; every case folder the same bytes.
    let (ms, os) = (read_json(&out.join("summary.json")), read_json(&dir.join("one/summary.json")));
    assert_eq!(ms["cases"], os["cases"], "merged summary == one-machine summary");
    assert_eq!(std::fs::read_to_string(out.join("summary.csv"))?, std::fs::read_to_string(dir.join("one/summary-1.csv"))?);
    for c in all.iter().filter(|c| *c != "c05-broken") {
        assert_same_case(&dir.join("one/cases").join(c), &out.join("cases").join(c));
    }
    assert!(log2.contains("19 of 20 cases done") && log2.contains("FAILED     c05-broken"), "{log2}");
    Ok(())
}

//! Cohorts beyond one machine (issue 19): `coxa run --shard I/N` and `--merge` as plain
//! processes, and `coxa submit --slurm` / `coxa status` on a real single-node Slurm (Debian's
//! slurm-wlm + munge) that the test starts on localhost with all its state in a temporary folder
//! (`scripts/slurm-local`) and stops afterwards.
//!
//! Where Slurm is not installed or the test is not root: in CI a failure, elsewhere a note and a
//! skip (`scripts/setup` installs Slurm).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;

use crate::cases::{ok, read_json};
use crate::common::shared_data;
mod local_slurm;

/// A scenario of `n` cases over the vsd patient's bones (right and left hips alternately, case 5
/// a broken STL), planned by the optimiser on a 10 deg grid (what is tested is where the cases
/// run and how their results merge, not the search: a quarter of the default grid's candidates),
/// pictures off (array tasks are headless).
fn cohort(dir: &Path, vsd: &Path, n: usize) -> PathBuf {
    std::fs::write(dir.join("broken_femur.stl"), "this is not an STL file\n").unwrap();
    let v = |f: &str| vsd.join(f).display().to_string();
    let mut s = String::from("schema_version = 1\nname = \"cohort\"\noutput_dir = \"one\"\n");
    for i in 0..n {
        s.push_str(&if i == 5 {
            format!("[[cases]]\nname = \"c{i:02}-broken\"\nmeshes = {{ hip_right = \"{}\", femur_right = \"broken_femur.stl\" }}\n", v("z013_Hip_R.stl"))
        } else if i % 2 == 0 {
            format!(
                "[[cases]]\nname = \"c{i:02}-right\"\nmeshes = {{ hip_right = \"{}\", femur_right = \"{}\", hip_left = \"{}\" }}\n",
                v("z013_Hip_R.stl"),
                v("z013_Femur_R.stl"),
                v("z013_Hip_L.stl")
            )
        } else {
            format!(
                "[[cases]]\nname = \"c{i:02}-left\"\nside = \"left\"\nmeshes = {{ hip_left = \"{}\", femur_left = \"{}\", hip_right = \"{}\" }}\n",
                v("z013_Hip_L.stl"),
                v("z013_Femur_L.stl"),
                v("z013_Hip_R.stl")
            )
        });
    }
    s.push_str("[plan]\ngrid_step_deg = 10\n[rom]\nmotions = [\"flexion\", \"internal_rotation_90_flexion\", \"extension\", \"external_rotation_0_flexion\"]\n[report]\nsafe_zone_map = false\npictures = false\n");
    let file = dir.join("cohort.toml");
    std::fs::write(&file, s).unwrap();
    file
}

/// A temporary folder with the `n`-case cohort and its one-machine run in `one/` (which the
/// broken case fails); `None` where the bone surfaces are not here (outside CI).
fn cohort_with_reference(n: usize) -> Option<(tempfile::TempDir, String)> {
    let vsd = shared_data("vsd_bones")?;
    let tmp = tempfile::tempdir().unwrap();
    let s = cohort(tmp.path(), &vsd, n).to_str().unwrap().to_string();
    let one = coxa_in(tmp.path(), &["run", &s, "--out", "one", "--quiet"], &[]);
    assert_eq!(one.status.code(), Some(1), "the broken case fails the run (exit status 1: the work ran, some failed): {}", text(&one));
    Some((tmp, s))
}

/// The plans' time of these runs (`SOURCE_DATE_EPOCH`, seconds): the reports name when their
/// plan was made (issue 60), so runs compared byte for byte share one clock.
const FIXED_CLOCK: &str = "1795000000";

/// `coxa ARGS` in `cwd` with extra environment, at [`FIXED_CLOCK`].
fn coxa_in(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coxa"));
    c.current_dir(cwd).args(args).env("SOURCE_DATE_EPOCH", FIXED_CLOCK);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("coxa runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Every file under `dir` (relative path -> bytes), dot-folders included.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The first line that differs between two files' texts, in each (a few lines of context).
fn first_difference(x: &[u8], y: &[u8]) -> (String, String) {
    let (a, b) = (String::from_utf8_lossy(x), String::from_utf8_lossy(y));
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let k = la.iter().zip(&lb).position(|(p, q)| p != q).unwrap_or(la.len().min(lb.len()));
    let around = |l: &[&str]| l[k.saturating_sub(3)..(k + 3).min(l.len())].join("\n");
    (around(&la), around(&lb))
}

/// Case folders of `a` and `b` hold the same files, byte for byte (plans, ROM, reports, manifests).
fn assert_same_case(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ta), names(&tb), "{} and {} hold other files", a.display(), b.display());
    for ((n, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{} differs between {} and {}:\n{}\n---\n{}", n, a.display(), b.display(), first_difference(x, y).0, first_difference(x, y).1);
    }
    assert!(ta.iter().any(|(n, _)| n == "plan.json"), "{} has its plan", a.display());
}

/// Shards as plain processes (any scheduler): two shards at once into one folder write only
/// their own cases and logs, no summary; started again (a requeue) they change nothing; the
/// merge equals a one-machine run and is idempotent; a half-written case is not accepted.
#[test]
fn shards_share_a_folder_and_merge_to_the_one_machine_run() -> Result<()> {
    let Some((tmp, s)) = cohort_with_reference(6) else { return Ok(()) };
    let (dir, s) = (tmp.path(), s.as_str());

    // Two shards of two at once, into one folder.
    let spawn = |i: usize| {
        Command::new(env!("CARGO_BIN_EXE_coxa")).current_dir(dir).env("SOURCE_DATE_EPOCH", FIXED_CLOCK).args(["run", s, "--out", "sharded", "--quiet", "--shard", &format!("{i}/2")]).output().unwrap()
    };
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| spawn(0));
        let b = sc.spawn(|| spawn(1));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.status.code(), Some(0), "shard 0 (cases 0, 2, 4): {}", text(&a));
    assert_eq!(b.status.code(), Some(1), "shard 1 holds the broken case 5 (exit status 1): {}", text(&b));
    let sharded = dir.join("sharded");
    for f in ["summary.json", "index.html", "log.jsonl", "summary.csv"] {
        assert!(!sharded.join(f).exists(), "a shard wrote {f}");
    }
    // Each shard ran exactly its slice and logged into its own file.
    let done_in = |log: &str| -> BTreeSet<String> {
        std::fs::read_to_string(sharded.join("logs").join(log))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["event"] == "case_done")
            .map(|v| v["case"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(done_in("shard-0-of-2.jsonl"), ["c00-right", "c02-right", "c04-right"].map(String::from).into());
    assert_eq!(done_in("shard-1-of-2.jsonl"), ["c01-left", "c03-left"].map(String::from).into());

    // Started again (a requeue): everything verified and skipped, nothing rewritten.
    let before = tree(&sharded.join("cases"));
    let again = coxa_in(dir, &["run", s, "--out", "sharded", "--quiet", "--shard", "0/2"], &[]);
    ok(&again);
    assert!(text(&again).matches("skipped").count() == 3, "{}", text(&again));
    assert_eq!(tree(&sharded.join("cases")), before, "a requeued shard changes nothing");

    // The merge: the one-machine summary's rows and CSV, twice the same bytes.
    let m1 = coxa_in(dir, &["run", s, "--out", "sharded", "--merge"], &[]);
    assert_eq!(m1.status.code(), Some(1), "one case failed: the work ran, some of it failed (exit status 1, issue 58): {}", text(&m1));
    assert!(text(&m1).contains("FAILED     c05-broken") && text(&m1).contains("half-written (ignored): cases/.c05-broken.partial"), "{}", text(&m1));
    let first = std::fs::read(sharded.join("summary.json"))?;
    let _ = coxa_in(dir, &["run", s, "--out", "sharded", "--merge"], &[]);
    assert_eq!(std::fs::read(sharded.join("summary.json"))?, first, "the merge is idempotent");
    let (ms, os) = (read_json(&sharded.join("summary.json")), read_json(&dir.join("one/summary.json")));
    assert_eq!(ms["cases"], os["cases"]);
    assert_eq!(std::fs::read_to_string(sharded.join("summary.csv"))?, std::fs::read_to_string(dir.join("one/summary-1.csv"))?);
    for c in ["c00-right", "c01-left", "c02-right", "c03-left", "c04-right"] {
        assert_same_case(&dir.join("one/cases").join(c), &sharded.join("cases").join(c));
    }

    // A case whose file was cut short is not accepted: damaged, not done.
    let plan = sharded.join("cases/c03-left/plan.json");
    let bytes = std::fs::read(&plan)?;
    std::fs::write(&plan, &bytes[..bytes.len() / 2])?;
    let m2 = coxa_in(dir, &["run", s, "--out", "sharded", "--merge"], &[]);
    assert!(text(&m2).contains("DAMAGED    c03-left") && text(&m2).contains("plan.json"), "{}", text(&m2));
    let ms = read_json(&sharded.join("summary.json"));
    assert_eq!(ms["merged"]["damaged"], serde_json::json!(["c03-left"]));
    assert_eq!(ms["cases"][3]["status"], "damaged");
    Ok(())
}

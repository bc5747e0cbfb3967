//! The corpus of broken inputs (issue 16, `tests/corpus/cases.toml`): every case through the
//! `coxa` program gives exit status 2, exactly its documented error line, no panic or backtrace,
//! nothing on stdout and nothing written. `COXA_BLESS=1` rewrites the expected lines (review the
//! diff). Also reports the peak memory of each refusal (the child's maximum RSS).

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
struct Case {
    name: String,
    args: Vec<String>,
    error: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct Cases {
    case: Vec<Case>,
}

/// Peak RSS of the finished children of this process, kB (getrusage RUSAGE_CHILDREN, read from
/// `/proc/self/stat` is not available; `time`-style: use /usr/bin/time when present).
fn max_rss_kb(args: &[String], dir: &Path) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = Command::new(time).arg("-f").arg("MAXRSS %M").arg(env!("CARGO_BIN_EXE_coxa")).args(args).current_dir(dir).env("COXA_LOG", "warn").output().ok()?;
    String::from_utf8_lossy(&out.stderr).lines().find_map(|l| l.strip_prefix("MAXRSS ").and_then(|v| v.trim().parse().ok()))
}

#[test]
fn every_corpus_case_gives_its_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let list = root.join("cases.toml");
    let text = std::fs::read_to_string(&list).unwrap();
    let mut cases: Cases = toml::from_str(&text).unwrap();
    let files = root.join("files");
    let bless = std::env::var("COXA_BLESS").is_ok();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (n, case) in cases.case.iter_mut().enumerate() {
        let out_dir = tmp.path().join(format!("out{n}"));
        let args: Vec<String> = case.args.iter().map(|a| a.replace("{out}", &out_dir.display().to_string())).collect();
        let before: Vec<_> = std::fs::read_dir(&files).unwrap().flatten().map(|e| e.file_name()).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_coxa")).args(&args).current_dir(&files).env("COXA_LOG", "warn").env("RUST_BACKTRACE", "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).replace(&out_dir.display().to_string(), "{out}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let after: Vec<_> = std::fs::read_dir(&files).unwrap().flatten().map(|e| e.file_name()).collect();
        let rss = max_rss_kb(&args, &files).map_or("-".into(), |k| format!("{:.1} MB", k as f64 / 1024.0));
        eprintln!("{:45} exit {:?}, peak RSS {rss}: {}", case.name, out.status.code(), lines.first().copied().unwrap_or(""));
        let mut why = Vec::new();
        if out.status.code() != Some(2) {
            why.push(format!("exit status {:?}", out.status.code()));
        }
        if !out.stdout.is_empty() {
            why.push(format!("stdout: {}", String::from_utf8_lossy(&out.stdout)));
        }
        if lines.len() != 1 || stderr.contains("panicked") || stderr.contains("stack backtrace") {
            why.push(format!("not one clean line: {stderr}"));
        }
        if out_dir.exists() {
            why.push("wrote its output folder".into());
        }
        if before.len() != after.len() {
            why.push("wrote into the corpus folder".into());
        }
        let line = lines.first().copied().unwrap_or("").to_string();
        if bless {
            case.error = line;
        } else if line != case.error {
            why.push(format!("error line differs:\n  expected: {}\n  got:      {line}", case.error));
        }
        if !why.is_empty() {
            failures.push(format!("{}: {}", case.name, why.join("; ")));
        }
    }
    if bless {
        let header: String = text.lines().take_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
        std::fs::write(&list, format!("{header}\n{}", toml::to_string(&cases).unwrap())).unwrap();
    }
    assert!(failures.is_empty(), "{} of {} corpus cases fail:\n{}", failures.len(), cases.case.len(), failures.join("\n"));
    eprintln!("{} corpus cases: exit 2 with their documented line", cases.case.len());
}

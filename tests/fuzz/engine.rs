//! A bounded, seeded, in-process mutation fuzzer for coxa's readers (issue 16).
//!
//! Why this and not AFL++ or libFuzzer: `cargo fuzz` needs a nightly toolchain (sanitizer
//! flags), and none can be downloaded here; `cargo afl` builds AFL++ from C sources and runs the
//! targets as separate processes with `afl-fuzz`, which is neither a few minutes in `cargo test`
//! nor possible without the `afl` crate's build of AFL++ on every CI machine. This engine is
//! plain stable Rust, runs inside `cargo test`, and replays every committed crash first:
//! - inputs start from real seeds (../shared/data) and small files coxa writes itself;
//! - each input gets 1-4 stacked mutations: bit flips, interesting bytes and little-endian
//!   integers (0, -1, 0x7fff, 0xffff, i32/u32 limits, 2^31, 2^32-1), truncation, chunk delete /
//!   duplicate / random insert, splices of two inputs, and for text formats number-token
//!   replacement (nan, inf, -0, 1e308, 1e-320, huge integers) and line delete / duplicate;
//! - feedback without coverage instrumentation: an input whose outcome (ok, or its error message
//!   with the digits removed) has not been seen before joins the pool that later inputs mutate,
//!   so every new error path found becomes a seed for the next;
//! - a crash is a panic (caught with `catch_unwind`), an execution over 1 s (a hang) or a
//!   process abort (the whole test dies: the input is on disk in the crash folder first).
//!
//! It is not coverage-guided, so it finds less per execution than AFL++ would; its strength is
//! that it runs everywhere the tests run. Budget: `COXA_FUZZ_SECONDS` per target (default 8).

#![allow(dead_code, reason = "each test binary uses part of the engine")]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One fuzz target.
pub struct Target<'a> {
    /// Name (crash files and the report).
    pub name: &'static str,
    /// Extension of the file the input is written to (`.nii.gz`, `.stl`, ...).
    pub ext: &'static str,
    /// Text format: adds the token and line mutations.
    pub text: bool,
    /// Seed inputs.
    pub seeds: Vec<Vec<u8>>,
    /// Runs the reader on the file; `Err` (a clean refusal) and `Ok` are both fine.
    pub run: &'a (dyn Fn(&Path) -> Result<(), String> + Sync),
}

/// What a fuzz run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Target name.
    pub name: &'static str,
    /// Inputs executed.
    pub executions: u64,
    /// Accepted inputs.
    pub ok: u64,
    /// Distinct outcomes (ok, error kinds) seen.
    pub outcomes: usize,
    /// Crashes and hangs, each saved to a file.
    pub crashes: Vec<(PathBuf, String)>,
    /// Slowest execution.
    pub slowest: Duration,
    /// Wall time.
    pub wall: Duration,
}

const INTERESTING_8: [u8; 6] = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_32: [u32; 10] = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
const TOKENS: [&str; 14] = ["nan", "inf", "-inf", "-0", "0", "-1", "1e308", "1e-320", "99999999999999999999", "4294967296", "65535", "-2147483649", "\"\"", "[]"];

fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, pool: &[Vec<u8>], text: bool) {
    let n_ops = rng.random_range(1..=4);
    for _ in 0..n_ops {
        let len = data.len();
        let op = rng.random_range(0..if text { 11 } else { 8 });
        match op {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = INTERESTING_8[rng.random_range(0..INTERESTING_8.len())];
            }
            2 if len >= 4 => {
                let i = rng.random_range(0..=len - 4);
                let v = INTERESTING_32[rng.random_range(0..INTERESTING_32.len())];
                let bytes = if rng.random_bool(0.5) { v.to_le_bytes() } else { v.to_be_bytes() };
                let w = [1usize, 2, 4][rng.random_range(0..3)];
                data[i..i + w].copy_from_slice(&bytes[..w]);
            }
            3 if len > 0 => data.truncate(rng.random_range(0..len)),
            4 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..=64.min(len - a))).min(len);
                data.drain(a..b);
            }
            5 if len > 0 && len < 4 << 20 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..=256)).min(len);
                let chunk = data[a..b].to_vec();
                let at = rng.random_range(0..=len);
                data.splice(at..at, chunk);
            }
            6 if !pool.is_empty() => {
                let other = &pool[rng.random_range(0..pool.len())];
                if !other.is_empty() && len > 0 {
                    let cut = rng.random_range(0..len);
                    let from = rng.random_range(0..other.len());
                    data.truncate(cut);
                    data.extend_from_slice(&other[from..]);
                }
            }
            7 => {
                let at = rng.random_range(0..=len);
                let k = rng.random_range(1..=16);
                let r: Vec<u8> = (0..k).map(|_| rng.random()).collect();
                data.splice(at..at, r);
            }
            8 => {
                // Replace a number token.
                let starts: Vec<usize> = (0..len).filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_alphanumeric())).collect();
                if let Some(&s) = starts.get(rng.random_range(0..starts.len().max(1))) {
                    let mut e = s;
                    while e < len && (data[e].is_ascii_digit() || b".eE+-".contains(&data[e])) {
                        e += 1;
                    }
                    let t = TOKENS[rng.random_range(0..TOKENS.len())];
                    data.splice(s..e, t.bytes());
                }
            }
            9 | 10 => {
                let lines: Vec<usize> = std::iter::once(0).chain((0..len).filter(|&i| data[i] == b'\n').map(|i| i + 1)).filter(|&i| i < len).collect();
                if !lines.is_empty() {
                    let a = lines[rng.random_range(0..lines.len())];
                    let b = data[a..].iter().position(|&c| c == b'\n').map_or(len, |p| a + p + 1);
                    if op == 9 {
                        data.drain(a..b);
                    } else {
                        let line = data[a..b].to_vec();
                        data.splice(b..b, line);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The outcome's kind: "ok", or the error with digits removed (so sizes do not count as new).
fn kind(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => e.chars().filter(|c| !c.is_ascii_digit()).take(120).collect(),
    }
}

/// Runs one input, catching panics; the crash description if it crashed or hung.
fn execute(target: &Target<'_>, file: &Path, data: &[u8]) -> (Result<(), String>, Duration, Option<String>) {
    let _ = std::fs::remove_file(file);
    std::fs::write(file, data).expect("writing the fuzz input");
    let t0 = Instant::now();
    FUZZING.with(|f| f.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (target.run)(file)));
    FUZZING.with(|f| f.set(false));
    let dt = t0.elapsed();
    match r {
        Ok(res) if dt > Duration::from_secs(1) => (res, dt, Some(format!("hang: {:.2} s", dt.as_secs_f64()))),
        Ok(res) => (res, dt, None),
        Err(p) => {
            let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "panic".into());
            (Err(what.clone()), dt, Some(format!("panic: {what}")))
        }
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// Replays `corpus` (committed crash cases) and then fuzzes `target` for `budget`. Crashing
/// inputs are written to `crash_dir/NAME-HASH.ext` before they run (an abort leaves them there).
pub fn fuzz(target: &Target<'_>, corpus: &[Vec<u8>], budget: Duration, seed: u64, crash_dir: &Path) -> Report {
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join(format!("input{}", target.ext));
    std::fs::create_dir_all(crash_dir).expect("crash dir");
    let pending = crash_dir.join(format!(".{}-running{}", target.name, target.ext));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = Report { name: target.name, ..Report::default() };
    let mut seen: HashSet<String> = HashSet::new();
    let mut pool: Vec<Vec<u8>> = target.seeds.clone();
    let t0 = Instant::now();
    let mut run_one = |data: Vec<u8>, report: &mut Report, pool: &mut Vec<Vec<u8>>| {
        // The input on disk first: if it aborts the process, it is found here.
        let _ = std::fs::File::create(&pending).and_then(|mut f| f.write_all(&data));
        let (res, dt, crash) = execute(target, &file, &data);
        report.executions += 1;
        report.ok += u64::from(res.is_ok());
        report.slowest = report.slowest.max(dt);
        if let Some(why) = crash {
            let keep = crash_dir.join(format!("{}-{:016x}{}", target.name, fnv(&data), target.ext));
            let _ = std::fs::write(&keep, &data);
            report.crashes.push((keep, why));
        }
        if seen.insert(kind(&res)) && pool.len() < 512 {
            pool.push(data);
        }
    };
    for c in corpus.iter().chain(target.seeds.iter()) {
        run_one(c.clone(), &mut report, &mut pool);
    }
    while t0.elapsed() < budget {
        let mut data = pool[rng.random_range(0..pool.len())].clone();
        mutate(&mut rng, &mut data, &pool, target.text);
        run_one(data, &mut report, &mut pool);
    }
    let _ = std::fs::remove_file(&pending);
    report.outcomes = seen.len();
    report.wall = t0.elapsed();
    report
}

/// Seconds per target: `COXA_FUZZ_SECONDS`, default `default_s`.
pub fn budget(default_s: f64) -> Duration {
    Duration::from_secs_f64(std::env::var("COXA_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_s))
}

/// Every file of `dir` (committed crash cases of a target), sorted.
pub fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).map(|r| r.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect()).unwrap_or_default();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Peak resident memory of this process so far, bytes (VmHWM).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map_or(0, |k| k * 1024)
}

/// One line per report, and panics listing every crash.
pub fn check(report: &Report) {
    println!(
        "fuzz {:12} {:>9} executions in {:6.1} s ({:>7.0}/s), {:>6} accepted, {:>4} distinct outcomes, slowest {:7.1} ms, {} crash(es), peak RSS {} MB",
        report.name,
        report.executions,
        report.wall.as_secs_f64(),
        report.executions as f64 / report.wall.as_secs_f64().max(1e-9),
        report.ok,
        report.outcomes,
        report.slowest.as_secs_f64() * 1e3,
        report.crashes.len(),
        peak_rss_bytes() >> 20
    );
    assert!(report.crashes.is_empty(), "{}: crashes (inputs saved; commit each into tests/corpus/fuzz/{} once fixed): {:#?}", report.name, report.name, report.crashes);
}

thread_local! {
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once) a panic hook that stays silent for panics inside a fuzz execution (they are
/// counted and reported) and prints every other panic as usual.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !FUZZING.with(std::cell::Cell::get) {
                default(info);
            }
        }));
    });
}

//! A seeded, in-process, coverage-guided mutation fuzzer for coxa's readers (issue 16), on
//! stable Rust.
//!
//! **Coverage.** The fuzz build (`scripts/fuzz`) compiles coxa's crates and the parsers they
//! read with (dicom-*, roxmltree, toml) with LLVM's SanitizerCoverage, which stable rustc
//! exposes as `-C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=3
//! -C llvm-args=-sanitizer-coverage-inline-8bit-counters` (added per crate by
//! `scripts/fuzz-rustc`, a `RUSTC_WRAPPER`). Every edge of the control-flow graph gets an 8-bit
//! hit counter; LLVM registers the counter array at start-up by calling
//! `__sanitizer_cov_8bit_counters_init`, which this module defines. Around each execution the
//! engine clears the counters and afterwards folds them into AFL's hit-count buckets (1, 2, 3,
//! 4-7, 8-15, 16-31, 32-127, 128+); an input that reaches a new (edge, bucket) pair joins the
//! pool that later inputs are mutated from, and is saved to `target/fuzz-corpus/TARGET/` (read
//! back as seeds by the next run). In an ordinary build (`cargo test`) nothing is instrumented,
//! the counter map is empty, and the engine falls back to outcome feedback: an input whose
//! outcome (ok, or its error message with the digits removed) is new joins the pool (at most
//! 512). Error messages quote the input, so outcome feedback alone would keep nearly every
//! mutant; the fuzz build keeps inputs by coverage only (and still counts distinct outcomes).
//!
//! **Why this and not cargo-fuzz or cargo-afl** (decided on this machine, 2026-11-24, by what
//! works in a few minutes): cargo-fuzz needs a nightly toolchain (`-Z sanitizer`) and the issue
//! asks for stable Rust. cargo-afl (afl.rs) builds AFL++ and its LLVM plugin for rustc's LLVM at
//! install time and runs each target as a forked process under `afl-fuzz` (Debian's afl++ is
//! 4.04c, not the version afl.rs pins); that is a second, long-running tool outside `cargo
//! test`, so the bounded CI run would need a second harness. It was not tried. libFuzzer is not
//! shipped with stable Rust. SanitizerCoverage is the instrumentation libFuzzer and AFL++'s LLVM
//! mode use; reading its counters here keeps one engine for the CI run (plain `cargo test`, no
//! instrumentation, seconds per target) and the long coverage-guided run (`scripts/fuzz`), with
//! no new dependency. What it lacks against libFuzzer: comparison tracing (`trace-cmp`; magic
//! values are found only through the mutation dictionary below) and AddressSanitizer (nightly
//! only; the readers are safe Rust, so memory errors could only be in C dependencies such as
//! openjpeg, which no target here reaches with valid JPEG 2000 data).
//!
//! **Mutations.** Each input gets 1-4 stacked mutations: bit flips, interesting bytes and
//! little/big-endian integers (0, -1, 0x7fff, 0xffff, i32/u32 limits, 2^31, 2^32-1), truncation,
//! chunk delete / duplicate / random insert, splices of two pool inputs, and for text formats
//! number-token replacement (nan, inf, -0, 1e308, 1e-320, huge integers) and line delete /
//! duplicate. Pool entries are chosen by a tournament of two that favours the faster input, so
//! the large real seeds are mutated less often than the small inputs found from them.
//!
//! **What counts as a crash.** A panic (caught with `catch_unwind`); an execution over 1 s (a
//! hang: over 1 s of wall time, then over 1 s of the process's CPU time when run again, so that a
//! loaded machine does not count; the report counts the wall-only ones); or a process abort. Each
//! input is written to a file before it runs (in /dev/shm where there is one; the path is printed
//! on stderr at the start), and a watchdog thread aborts the process after 20 s in one execution
//! (a true hang), leaving that file behind. Mutants are cut to the longest seed's length
//! (libFuzzer's default `-max_len`). The slowest input of a run is kept as
//! `target/fuzz-crashes/TARGET-slowest.EXT` for inspection.
//!
//! **Budget.** `COXA_FUZZ_SECONDS` per target (default 3 s in `cargo test`) and, when set,
//! `COXA_FUZZ_RUNS`: the run ends at whichever comes first.

#![allow(dead_code, reason = "each test binary uses part of the engine")]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Instrumented edges reached at least once (0 in an uninstrumented build).
    pub edges: usize,
    /// Instrumented edges in the binary (0 in an uninstrumented build).
    pub edges_total: usize,
    /// Inputs in the pool at the end (seeds plus the ones kept for new coverage or outcome).
    pub pool: usize,
    /// Crashes and hangs, each saved to a file.
    pub crashes: Vec<(PathBuf, String)>,
    /// Slowest execution (wall time; CPU time for one re-run over 1 s of CPU).
    pub slowest: Duration,
    /// Executions over 1 s of wall time but not of CPU time when re-run (a loaded machine).
    pub slow_wall: u64,
    /// Executions in which the reader caught a panic of its own (a dependency's, turned into an
    /// error; the STEP reader's truck): not a crash, but counted and the first inputs kept.
    pub panics_caught: u64,
    /// Wall time.
    pub wall: Duration,
}

/// SanitizerCoverage's 8-bit edge counters, when the binary was built with them.
#[allow(unsafe_code, reason = "the counters are memory LLVM's instrumentation hands over by raw pointers")]
mod coverage {
    use std::sync::Mutex;

    static REGIONS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

    /// Called by the instrumented code's module constructors (before `main`) with each counter
    /// array.
    ///
    /// # Safety
    /// `start..stop` must be the counter array LLVM allocated; it lives as long as the process.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __sanitizer_cov_8bit_counters_init(start: *mut u8, stop: *mut u8) {
        let (a, b) = (start as usize, stop as usize);
        let mut regions = REGIONS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if a < b && !regions.contains(&(a, b)) {
            regions.push((a, b));
        }
    }

    fn regions() -> Vec<(usize, usize)> {
        REGIONS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Number of counters (edges); 0 when nothing is instrumented.
    pub fn len() -> usize {
        regions().iter().map(|(a, b)| b - a).sum()
    }

    /// Sets every counter to 0.
    pub fn clear() {
        for (a, b) in regions() {
            // SAFETY: the region is the live counter array registered above. Another thread may
            // bump a counter at the same time; a lost count only blurs the feedback.
            unsafe { std::ptr::write_bytes(a as *mut u8, 0, b - a) };
        }
    }

    /// AFL's hit-count bucket of a counter value, as one bit.
    fn bucket(c: u8) -> u8 {
        match c {
            0 => 0,
            1 => 1,
            2 => 2,
            3 => 4,
            4..=7 => 8,
            8..=15 => 16,
            16..=31 => 32,
            32..=127 => 64,
            _ => 128,
        }
    }

    /// Folds the counters into `virgin` (one byte of seen buckets per edge); true if any edge
    /// reached a bucket not seen before.
    pub fn merge(virgin: &mut Vec<u8>) -> bool {
        let mut new = false;
        let mut off = 0;
        for (a, b) in regions() {
            let n = b - a;
            if virgin.len() < off + n {
                virgin.resize(off + n, 0);
            }
            // SAFETY: as in `clear`; read after the execution returned.
            let map = unsafe { std::slice::from_raw_parts(a as *const u8, n) };
            let seen = &mut virgin[off..off + n];
            let mut i = 0;
            while i < n {
                if i + 8 <= n && u64::from_ne_bytes(map[i..i + 8].try_into().unwrap_or([0; 8])) == 0 {
                    i += 8;
                    continue;
                }
                let bk = bucket(map[i]);
                if bk & !seen[i] != 0 {
                    seen[i] |= bk;
                    new = true;
                }
                i += 1;
            }
            off += n;
        }
        new
    }
}

const INTERESTING_8: [u8; 6] = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_32: [u32; 10] = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
const TOKENS: [&str; 14] = ["nan", "inf", "-inf", "-0", "0", "-1", "1e308", "1e-320", "99999999999999999999", "4294967296", "65535", "-2147483649", "\"\"", "[]"];

fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, pool: &[Entry], text: bool) {
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
                let other = &pool[rng.random_range(0..pool.len())].data;
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

/// Start of the running execution, microseconds since `EPOCH` (0: none running); read by the
/// watchdog.
static RUNNING_SINCE_US: AtomicU64 = AtomicU64::new(0);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
/// A single execution longer than this aborts the process (its input is on disk already).
const WATCHDOG: Duration = Duration::from_secs(20);

fn now_us() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

fn start_watchdog() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = now_us();
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let since = RUNNING_SINCE_US.load(Ordering::Relaxed);
                if since != 0 && now_us().saturating_sub(since) > WATCHDOG.as_micros() as u64 {
                    eprintln!("fuzz watchdog: one execution has run over {} s; its input is the file named at the start", WATCHDOG.as_secs());
                    std::process::abort();
                }
            }
        });
    });
}

/// Runs the target on `file` under the watchdog, catching panics; the outcome and wall time.
fn run_guarded(target: &Target<'_>, file: &Path) -> (std::thread::Result<Result<(), String>>, Duration) {
    let t0 = Instant::now();
    RUNNING_SINCE_US.store(now_us().max(1), Ordering::Relaxed);
    PANICS.with(|c| c.set(0));
    FUZZING.with(|f| f.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (target.run)(file)));
    FUZZING.with(|f| f.set(false));
    RUNNING_SINCE_US.store(0, Ordering::Relaxed);
    (r, t0.elapsed())
}

/// Every execution holds this for reading; the CPU-time re-run of a slow one holds it for
/// writing, so that no other target's execution runs in this process meanwhile (`cargo test`
/// runs several fuzz targets at once, and the process's CPU time counts all their threads: a
/// float_image input counted 1.60 s of CPU in a 2.30 s re-run beside another target, a hang).
static EXCLUSIVE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Runs one input, catching panics; the crash description if it crashed or hung.
fn execute(target: &Target<'_>, file: &Path, data: &[u8]) -> (Result<(), String>, Duration, Option<String>) {
    std::fs::write(file, data).expect("writing the fuzz input");
    coverage::clear();
    let shared = EXCLUSIVE.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (r, dt) = run_guarded(target, file);
    drop(shared);
    match r {
        Ok(res) if dt > HANG => {
            // Over a second of wall time on a loaded machine is not yet a hang: run it again,
            // alone among the targets, and count the process's CPU time (all threads: the
            // reader's own rayon workers included).
            let alone = EXCLUSIVE.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            let cpu0 = process_cpu();
            let (_, wall) = run_guarded(target, file);
            let cpu = process_cpu().saturating_sub(cpu0);
            drop(alone);
            let hang = cpu > HANG;
            if !hang {
                SLOW_WALL.with(|c| c.set(c.get() + 1));
            }
            (res, if hang { cpu } else { dt }, hang.then(|| format!("hang: {:.2} s wall, then {:.2} s CPU in {:.2} s wall", dt.as_secs_f64(), cpu.as_secs_f64(), wall.as_secs_f64())))
        }
        Ok(res) => (res, dt, None),
        Err(p) => {
            let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "panic".into());
            (Err(what.clone()), dt, Some(format!("panic: {what}")))
        }
    }
}

/// An execution over this is a hang (the bar).
const HANG: Duration = Duration::from_secs(1);

thread_local! {
    /// Executions that took over [`HANG`] of wall time but not of CPU time (a loaded machine).
    static SLOW_WALL: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// CPU time of this process so far (user + system, all threads; 10 ms resolution).
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// A pool input and how long it took.
struct Entry {
    data: Vec<u8>,
    time: Duration,
}

/// Most inputs the pool keeps; inputs over `POOL_MAX_BYTES` are run but not kept (seeds are).
const POOL_MAX: usize = 20_000;
/// Most inputs the pool keeps in an uninstrumented build (outcome feedback).
const POOL_MAX_UNINSTRUMENTED: usize = 512;
const POOL_MAX_BYTES: usize = 1 << 20;

/// Where new-coverage inputs of `target` are saved (and read back as seeds next time).
pub fn corpus_out(crash_dir: &Path, name: &str) -> PathBuf {
    crash_dir.with_file_name("fuzz-corpus").join(name)
}

/// Replays `corpus` (committed crash cases) and then fuzzes `target` for `budget` (or `runs`
/// executions, whichever ends first). Crashing inputs are written to `crash_dir/NAME-HASH.ext`
/// before they run (an abort leaves them there).
pub fn fuzz(target: &Target<'_>, corpus: &[Vec<u8>], budget: Duration, seed: u64, crash_dir: &Path) -> Report {
    fuzz_runs(target, corpus, budget, runs(), seed, crash_dir)
}

/// [`fuzz`] with an explicit execution cap.
pub fn fuzz_runs(target: &Target<'_>, corpus: &[Vec<u8>], budget: Duration, max_runs: Option<u64>, seed: u64, crash_dir: &Path) -> Report {
    start_watchdog();
    // The counters are process-wide: two targets fuzzing at once would blur each other's feedback.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = if coverage::len() > 0 { Some(ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) } else { None };
    // The input is written once per execution, to memory (/dev/shm) where there is one: on disk
    // the writes cost more system time than most readers take. The file outlives an abort.
    let shm = Path::new("/dev/shm");
    let work = if shm.is_dir() { tempfile::Builder::new().prefix(&format!("coxa-fuzz-{}-", target.name)).tempdir_in(shm) } else { tempfile::tempdir() }.expect("temp dir");
    let file = work.path().join(format!("input{}", target.ext));
    // Printed past the test harness's capture: the place to look if the process aborts.
    let _ = writeln!(std::io::stderr(), "fuzz {}: each input is written to {} before it runs", target.name, file.display());
    std::fs::create_dir_all(crash_dir).expect("crash dir");
    let instrumented = coverage::len() > 0;
    let saved = corpus_out(crash_dir, target.name);
    if instrumented {
        let _ = std::fs::create_dir_all(&saved);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = Report { name: target.name, edges_total: coverage::len(), ..Report::default() };
    let mut seen: HashSet<String> = HashSet::new();
    let mut virgin: Vec<u8> = Vec::new();
    let mut pool: Vec<Entry> = Vec::new();
    let t0 = Instant::now();
    let mut last_status = t0;
    let mut run_one = |data: Vec<u8>, keep_anyway: bool, report: &mut Report, pool: &mut Vec<Entry>| {
        let (res, dt, crash) = execute(target, &file, &data);
        let new_cov = instrumented && coverage::merge(&mut virgin);
        if new_cov {
            report.edges = virgin.iter().filter(|&&v| v != 0).count();
        }
        report.executions += 1;
        report.ok += u64::from(res.is_ok());
        if dt > report.slowest {
            report.slowest = dt;
            let _ = std::fs::write(crash_dir.join(format!("{}-slowest{}", target.name, target.ext)), &data);
        }
        if crash.is_none() && PANICS.with(std::cell::Cell::get) > 0 {
            report.panics_caught += 1;
            if report.panics_caught <= 8 {
                let _ = std::fs::write(crash_dir.join(format!("{}-caught-{:016x}{}", target.name, fnv(&data), target.ext)), &data);
            }
        }
        if let Some(why) = crash {
            let keep = crash_dir.join(format!("{}-{:016x}{}", target.name, fnv(&data), target.ext));
            let _ = std::fs::write(&keep, &data);
            report.crashes.push((keep, why));
        }
        let new_outcome = seen.insert(kind(&res));
        report.outcomes = seen.len();
        // With coverage, new edges decide (error texts quote the input, so nearly every mutant
        // is a "new outcome"); without, new outcomes do, in a small pool.
        let keep = if instrumented { new_cov && pool.len() < POOL_MAX } else { new_outcome && pool.len() < POOL_MAX_UNINSTRUMENTED };
        if keep_anyway || (keep && data.len() <= POOL_MAX_BYTES) {
            if new_cov && !keep_anyway {
                let _ = std::fs::write(saved.join(format!("{:016x}{}", fnv(&data), target.ext)), &data);
            }
            pool.push(Entry { data, time: dt });
        }
    };
    let previous = if instrumented { corpus_dir(&saved) } else { Vec::new() };
    for c in corpus.iter().chain(target.seeds.iter()).chain(previous.iter()) {
        run_one(c.clone(), true, &mut report, &mut pool);
    }
    let max_runs = max_runs.unwrap_or(u64::MAX);
    // As libFuzzer's default -max_len: no mutant longer than the longest seed.
    let max_len = target.seeds.iter().map(Vec::len).max().unwrap_or(4096).max(64);
    while t0.elapsed() < budget && report.executions < max_runs {
        let a = rng.random_range(0..pool.len());
        let b = rng.random_range(0..pool.len());
        let pick = if pool[a].time <= pool[b].time { a } else { b };
        let mut data = pool[pick].data.clone();
        mutate(&mut rng, &mut data, &pool, target.text);
        data.truncate(max_len);
        run_one(data, false, &mut report, &mut pool);
        if report.executions.is_multiple_of(256) && last_status.elapsed() > Duration::from_secs(60) {
            last_status = Instant::now();
            let s = t0.elapsed().as_secs_f64();
            println!(
                "fuzz {} #{} {:.0} s {:.0}/s edges {} pool {} outcomes {} slowest {:.1} ms",
                target.name,
                report.executions,
                s,
                report.executions as f64 / s,
                report.edges,
                pool.len(),
                report.outcomes,
                report.slowest.as_secs_f64() * 1e3
            );
        }
    }
    report.pool = pool.len();
    report.wall = t0.elapsed();
    report.slow_wall = SLOW_WALL.with(std::cell::Cell::get);
    report
}

/// Seconds per target: `COXA_FUZZ_SECONDS`, default `default_s`.
pub fn budget(default_s: f64) -> Duration {
    Duration::from_secs_f64(std::env::var("COXA_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_s))
}

/// Executions per target: `COXA_FUZZ_RUNS`, if set.
pub fn runs() -> Option<u64> {
    std::env::var("COXA_FUZZ_RUNS").ok().and_then(|s| s.parse().ok())
}

fn corpus_dir(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).map(|r| r.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect()).unwrap_or_default();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Every file of `dir` (committed crash cases of a target), sorted.
pub fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    corpus_dir(dir)
}

/// Peak resident memory of this process so far, bytes (VmHWM).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map_or(0, |k| k * 1024)
}

/// One line per report (the engine's summary), and panics listing every crash.
pub fn check(report: &Report) {
    println!(
        "fuzz {:12} {:>9} executions in {:7.1} s ({:>7.0}/s), {:>7} accepted, {:>4} distinct outcomes, edges {}/{}, pool {}, slowest {:7.1} ms, {} over 1 s wall only, {} panic(s) caught inside the reader, {} crash(es), peak RSS {} MB",
        report.name,
        report.executions,
        report.wall.as_secs_f64(),
        report.executions as f64 / report.wall.as_secs_f64().max(1e-9),
        report.ok,
        report.outcomes,
        report.edges,
        report.edges_total,
        report.pool,
        report.slowest.as_secs_f64() * 1e3,
        report.slow_wall,
        report.panics_caught,
        report.crashes.len(),
        peak_rss_bytes() >> 20
    );
    assert!(report.crashes.is_empty(), "{}: crashes (inputs saved; commit each into tests/corpus/fuzz/{} once fixed): {:#?}", report.name, report.name, report.crashes);
}

thread_local! {
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Panics inside the running execution (caught by the reader or by the engine).
    static PANICS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Installs (once) a panic hook that stays silent for panics inside a fuzz execution (they are
/// counted and reported) and prints every other panic as usual.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(std::cell::Cell::get) {
                PANICS.with(|c| c.set(c.get() + 1));
            } else {
                default(info);
            }
        }));
    });
}

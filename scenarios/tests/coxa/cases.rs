//! The case folders every test reads, made once per test run, and the helpers to run `coxa`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::shared_data;

/// Runs the `coxa` binary with `args`.
pub fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).output().expect("coxa runs")
}

/// Runs the `coxa` binary with `args` on a terminal (a pseudo-terminal from util-linux's `script`,
/// as a person at a shell runs it): its standard output and error, mixed as the terminal shows
/// them, are the output's `stdout`.
pub fn coxa_on_terminal(args: &[&str]) -> Output {
    let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
    let command = std::iter::once(env!("CARGO_BIN_EXE_coxa")).chain(args.iter().copied()).map(quote).collect::<Vec<_>>().join(" ");
    Command::new("script").args(["-qefc", &command, "/dev/null"]).output().expect("script runs coxa on a pseudo-terminal")
}

/// `scenario` (a scenario's text) run by `coxa run` in a fresh folder under `dir` is refused when
/// read: exit status 2, one line on stderr containing `cause`, no output folder.
pub fn refused_scenario(dir: &Path, scenario: &str, cause: &str) {
    let bad = tempfile::tempdir_in(dir).unwrap();
    let file = bad.path().join("s.toml");
    std::fs::write(&file, scenario).unwrap();
    let o = coxa(&["run", file.to_str().unwrap(), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{scenario}: {err}");
    assert!(err.contains(cause) && err.trim().lines().count() == 1, "{scenario}: {err}");
    assert!(!bad.path().join("out").exists(), "{scenario}: nothing written");
}

pub fn ok(out: &Output) {
    assert!(out.status.success(), "coxa failed:\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// A JSON file.
pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// Runs `coxa args` as on a clean clone with nothing pip-installed (issue 42): the program linked
/// (or copied) into `dir/bin`, so that no `.venv` lies above it, run in `dir` with no
/// `COXA_PYTHON_SITE`, `VIRTUAL_ENV` or `PYTHONPATH`, `HOME` set to `dir` (no user site-packages)
/// and `PATH` without any folder of a Python virtual environment (a folder holding
/// `pyvenv.cfg` above its `python3`). The source tree the program was built from stays, as in a
/// clone. The link is removed after the run (a leftover link would keep the old program's bytes
/// alive once cargo rebuilds it).
pub fn clean_clone_coxa(dir: &Path, args: &[&str]) -> Output {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin folder");
    let exe = bin.join("coxa");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_coxa"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_coxa"), &exe).expect("coxa copied");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path).filter(|p| !p.parent().is_some_and(|venv| venv.join("pyvenv.cfg").exists())).collect();
    let out = Command::new(&exe)
        .args(args)
        .current_dir(dir)
        .env_remove("COXA_PYTHON_SITE")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .env_remove("PYENV_VERSION")
        .env("HOME", dir)
        .env("PATH", std::env::join_paths(kept).expect("PATH"))
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .expect("coxa runs");
    std::fs::remove_dir_all(&bin).expect("the link removed");
    out
}

/// A fresh folder for a fixture made once per test run and kept in a `static`.
///
/// A `static` is never dropped, so a [`tempfile::TempDir`] kept in one is never removed when the
/// test process ends. These folders lie under `<temp>/coxa-test-fixtures/<pid>`; the first call of
/// a run removes the folders of runs whose process has ended, so one run's fixtures at most stay
/// behind (a run killed midway, or the last run) instead of every run's (about 100 MB each).
pub fn fixture_tempdir() -> tempfile::TempDir {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join("coxa-test-fixtures");
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let pid = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok());
            let alive = pid.is_some_and(|pid| Path::new("/proc").join(pid.to_string()).exists());
            if !alive {
                // Another user's or a live run's folder is left alone; a failed removal only
                // leaves the folder behind, as before.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let mine = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&mine).expect("the fixtures' folder");
        mine
    });
    tempfile::tempdir_in(root).expect("a fixture's folder")
}

/// `coxa demo` with its default phantom as on a clean clone ([`clean_clone_coxa`]), made once per
/// test run: its temporary folder, its case folder and what it printed on stderr.
pub fn demo_realistic() -> &'static (tempfile::TempDir, PathBuf, String) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, String)> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = fixture_tempdir();
        let out = tmp.path().join("demo");
        let run = clean_clone_coxa(tmp.path(), &["demo", "--out", out.to_str().unwrap(), "--quiet"]);
        ok(&run);
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        (tmp, out.join("cases/phantom"), stderr)
    })
}

/// A demo run kept for the whole test run: its temporary folder and its case folder.
pub type Kept = (tempfile::TempDir, PathBuf);

fn demo(ct: Option<&Path>, name: &str) -> Kept {
    demo_with(ct, name, &["--phantom", "simple"])
}

/// [`demo`] with `extra` arguments (the phantom's: `demo` keeps the built-in geometric phantom,
/// which the tests of this suite measure against).
pub fn demo_with(ct: Option<&Path>, name: &str, extra: &[&str]) -> Kept {
    let tmp = fixture_tempdir();
    let out = tmp.path().join("demo");
    let mut args = vec!["demo", "--out", out.to_str().unwrap(), "--quiet"];
    if let Some(ct) = ct {
        args.extend(["--ct", ct.to_str().unwrap()]);
    } else {
        args.extend(extra);
    }
    // As on a server or in a container: no XDG_RUNTIME_DIR. The renderer's libraries must stay
    // quiet there (issue 17): the user sees coxa's output only.
    let run = Command::new(env!("CARGO_BIN_EXE_coxa")).args(&args).env_remove("XDG_RUNTIME_DIR").env_remove("NODEVICE_SELECT").output().expect("coxa runs");
    ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "the demo printed the renderer's noise:\n{stderr}");
    let case = out.join("cases").join(name);
    (tmp, case)
}

/// `coxa demo`'s phantom case folder (made once per test run).
pub fn demo_phantom() -> &'static Path {
    static DIR: OnceLock<Kept> = OnceLock::new();
    &DIR.get_or_init(|| demo(None, "phantom")).1
}

/// `coxa run` of one phantom case with the CT diagnostics' stages (`[lesions]`, `[pseudo_mri]`
/// at TE 90 ms), made once per test run for the stages' tests: its temporary folder, which holds
/// the run's `out/` (the case is `out/cases/phantom`).
pub fn diagnostics_phantom() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = fixture_tempdir();
        let scenario = tmp.path().join("stages.toml");
        std::fs::write(
            &scenario,
            "schema_version = 1\noutput_dir = \"out\"\n[[cases]]\nname = \"phantom\"\nphantom = true\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n\n[report]\nsafe_zone_map = false\npictures = false\n\n[lesions]\n\n[pseudo_mri]\nte_ms = 90\n",
        )
        .unwrap();
        ok(&coxa(&["run", scenario.to_str().unwrap(), "--quiet"]));
        tmp
    })
    .path()
}

/// `coxa demo --ct` on the real CT (../shared/data/totalseg/example_ct.nii.gz), made once per
/// test run; `None` (with a note) where the data is not here outside CI.
pub fn demo_real_ct() -> Option<&'static Path> {
    static DIR: OnceLock<Option<Kept>> = OnceLock::new();
    DIR.get_or_init(|| shared_data("totalseg/example_ct.nii.gz").map(|ct| demo(Some(&ct), "ct"))).as_ref().map(|k| k.1.as_path())
}

/// A `coxa anatomy` run kept for the whole test run: its temporary folder, its output folder and
/// the JSON it printed.
type KeptAnatomy = (tempfile::TempDir, PathBuf, Value);

/// `coxa anatomy --ct CT --labels SEG --out DIR --json` on the real CT with TotalSegmentator's
/// labels (../shared/data/totalseg), made once per test run: the output folder (read it, never
/// write into it) and the JSON printed. `None` where the data is not here outside CI.
pub fn anatomy_real_ct_with_labels() -> Option<(&'static Path, &'static Value)> {
    static DIR: OnceLock<Option<KeptAnatomy>> = OnceLock::new();
    DIR.get_or_init(|| {
        let (ct, seg) = (shared_data("totalseg/example_ct.nii.gz")?, shared_data("totalseg/example_seg_fast_force_split.nii.gz")?);
        let tmp = fixture_tempdir();
        let out = tmp.path().join("case");
        let run = coxa(&["anatomy", "--ct", ct.to_str().unwrap(), "--labels", seg.to_str().unwrap(), "--out", out.to_str().unwrap(), "--json"]);
        ok(&run);
        let printed: Value = serde_json::from_slice(&run.stdout).expect("JSON on stdout");
        Some((tmp, out, printed))
    })
    .as_ref()
    .map(|(_, out, printed)| (out.as_path(), printed))
}

//! Issue 42: a `pip install` into a virtual environment on `PATH` (activated anywhere, not a
//! `.venv` above the working folder) is found. The search runs in a child process of this test
//! binary (its `child_locates_llp26` test) with `PATH` starting at the environment's `bin`, no
//! `COXA_PYTHON_SITE` and a start folder with no `.venv` above it.

use std::path::{Path, PathBuf};
use std::process::Command;

use coxa_shape::locate::{BUNDLED_LLP26_DIR, LLP26_DIR, Origin, locate_llp26};

/// Copies the files of folder `from` into `to` (one level of subfolders, as the LLP26 folder).
fn copy_folder(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_folder(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn a_venv_on_path_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("elsewhere/env");
    let made = Command::new("python3").args(["-m", "venv", "--without-pip"]).arg(&venv).output();
    let Some(_) = made.ok().filter(|o| o.status.success()) else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "python3 -m venv failed: scripts/setup installs python3-venv");
        eprintln!("note: python3 -m venv is not available here; skipped");
        return;
    };
    // The package as pip lays it out: site-packages/musculoskeletal/models/...
    let lib = std::fs::read_dir(venv.join("lib")).unwrap().flatten().next().unwrap().path();
    let site = lib.join("site-packages");
    let dir = site.join(LLP26_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap();
    copy_folder(&root.join(BUNDLED_LLP26_DIR), &dir);
    let start = tmp.path().join("work");
    std::fs::create_dir_all(&start).unwrap();
    let path = std::env::join_paths(std::iter::once(venv.join("bin")).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    let child = |path: &std::ffi::OsStr| {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_locates_llp26", "--ignored", "--nocapture"])
            .env("COXA_TEST_LOCATE_START", &start)
            .env("PATH", path)
            .env_remove("COXA_PYTHON_SITE")
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
        text
    };
    let found = child(&path);
    assert!(found.contains(&format!("FOUND installed (python3 on PATH): {}", dir.display())), "{found}");
    // Without the environment on PATH the copy that ships inside coxa is used.
    let without: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).filter(|p| !p.parent().is_some_and(|v| v.join("pyvenv.cfg").exists())).collect();
    let found = child(&std::env::join_paths(without).unwrap());
    assert!(found.contains("FOUND bundled with coxa"), "{found}");
}

/// Run by [`a_venv_on_path_is_found`] in a child process: prints where LLP26 is found from the
/// start folder it is given.
#[test]
#[ignore = "run by a_venv_on_path_is_found in a child process with its own PATH"]
fn child_locates_llp26() {
    let Some(start) = std::env::var_os("COXA_TEST_LOCATE_START") else { return };
    let l = locate_llp26(&[Path::new(&start)]).expect("found");
    if let Origin::Installed { site, .. } = &l.origin {
        assert!(l.dir.starts_with(site));
    }
    println!("FOUND {}", l.describe());
}

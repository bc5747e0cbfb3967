//! Finding and loading ONNX Runtime (the shared library of the PyPI wheel `onnxruntime==1.31.1`).
//!
//! coxa is built with ort's `load-dynamic` feature: nothing is downloaded at build or run time and
//! the library is found on the machine, in this order:
//! 1. `$ORT_DYLIB_PATH` (a library file; an error if it names nothing);
//! 2. a `.venv` (made by `scripts/setup`) in the current folder or any parent, then in the
//!    executable's folder or any parent: `.venv/lib/python3*/site-packages/onnxruntime/capi/`;
//! 3. the user's Python: where `python3 -c "import onnxruntime"` finds the package.
//!
//! The version is read from the file name (`libonnxruntime.so.1.31.1`) or the wheel's
//! `onnxruntime-1.31.1.dist-info` folder and must be 1.31.x or newer (ort's api-31). ONNX Runtime
//! is loaded once per process; later calls return the same [`Runtime`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::{Error, Result};

/// The ONNX Runtime minor version the `ort` crate is built against (api-31).
pub const REQUIRED_MINOR: u32 = ort::MINOR_VERSION;

/// Where to look for ONNX Runtime; [`RuntimeSearch::from_env`] is what coxa uses.
#[derive(Debug, Clone, Default)]
pub struct RuntimeSearch {
    /// The library file given explicitly (`$ORT_DYLIB_PATH`).
    pub explicit: Option<PathBuf>,
    /// Folders whose ancestors are searched for a `.venv` (the current folder, the executable's).
    pub start_dirs: Vec<PathBuf>,
    /// A Python interpreter to ask where `onnxruntime` is installed (`python3`); `None` skips it.
    pub python: Option<PathBuf>,
}

impl RuntimeSearch {
    /// The default search: `$ORT_DYLIB_PATH`, the current folder and the executable's folder,
    /// then `python3`.
    pub fn from_env() -> Self {
        let explicit = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()).map(PathBuf::from);
        let mut start_dirs = Vec::new();
        if let Ok(d) = std::env::current_dir() {
            start_dirs.push(d);
        }
        if let Some(d) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
            start_dirs.push(d);
        }
        Self { explicit, start_dirs, python: Some(PathBuf::from("python3")) }
    }
}

/// An ONNX Runtime library file found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLibrary {
    /// The library file.
    pub path: PathBuf,
    /// Its version (`1.31.1`), when the file or wheel names it.
    pub version: Option<String>,
    /// How it was found (`ORT_DYLIB_PATH`, `.venv at ...`, `python3`).
    pub how: String,
}

/// Looks for ONNX Runtime as described in the module docs, without loading it. The version is
/// checked when it is known.
pub fn locate(search: &RuntimeSearch) -> Result<FoundLibrary> {
    let mut searched = Vec::new();
    if let Some(p) = &search.explicit {
        if !p.is_file() {
            return Err(Error::RuntimeEnvMissing { path: p.clone() });
        }
        let found = FoundLibrary { path: p.clone(), version: version_from_name(p), how: "ORT_DYLIB_PATH".into() };
        check_version(&found)?;
        return Ok(found);
    }
    searched.push("ORT_DYLIB_PATH (unset)".to_string());
    for start in &search.start_dirs {
        for dir in start.ancestors() {
            let venv = dir.join(".venv");
            if !venv.is_dir() {
                continue;
            }
            searched.push(format!("{}", venv.display()));
            for sp in site_packages(&venv) {
                if let Some(found) = in_package(&sp.join("onnxruntime"), &format!(".venv at {}", venv.display())) {
                    check_version(&found)?;
                    return Ok(found);
                }
            }
        }
        searched.push(format!("no other .venv in {} or its parents", start.display()));
    }
    if let Some(py) = &search.python {
        searched.push(format!("`{} -c \"import onnxruntime\"`", py.display()));
        let out = Command::new(py).args(["-c", "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))"]).output();
        if let Some(out) = out.ok().filter(|o| o.status.success()) {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if let Some(found) = in_package(&dir, &py.display().to_string()) {
                check_version(&found)?;
                return Ok(found);
            }
        }
    }
    Err(Error::RuntimeNotFound { searched: searched.join("; ") })
}

/// `lib/python3*/site-packages` folders of a venv.
fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64"] {
        if let Ok(rd) = std::fs::read_dir(venv.join(lib)) {
            let mut v: Vec<PathBuf> = rd.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("python")).map(|e| e.path().join("site-packages")).filter(|p| p.is_dir()).collect();
            v.sort();
            out.extend(v);
        }
    }
    out
}

/// The library inside an installed `onnxruntime` package folder (`.../onnxruntime`).
fn in_package(pkg: &Path, how: &str) -> Option<FoundLibrary> {
    let capi = pkg.join("capi");
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            n.starts_with("libonnxruntime.so") || n == "libonnxruntime.dylib" || (n.starts_with("libonnxruntime.") && n.ends_with(".dylib")) || n == "onnxruntime.dll"
        })
        .collect();
    // The most specific name first (libonnxruntime.so.1.31.1 before libonnxruntime.so).
    libs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    let path = libs.into_iter().next()?;
    let version = version_from_name(&path).or_else(|| version_from_dist_info(pkg));
    Some(FoundLibrary { path, version, how: how.to_string() })
}

/// `1.31.1` from `libonnxruntime.so.1.31.1` or `libonnxruntime.1.31.1.dylib`.
fn version_from_name(p: &Path) -> Option<String> {
    let n = p.file_name()?.to_string_lossy().into_owned();
    let rest = n.strip_prefix("libonnxruntime.so.").or_else(|| n.strip_prefix("libonnxruntime.").and_then(|r| r.strip_suffix(".dylib")))?;
    let ok = !rest.is_empty() && rest.split('.').all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()));
    ok.then(|| rest.to_string())
}

/// `1.31.1` from a sibling `onnxruntime-1.31.1.dist-info` folder.
fn version_from_dist_info(pkg: &Path) -> Option<String> {
    let sp = pkg.parent()?;
    std::fs::read_dir(sp).ok()?.flatten().find_map(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.strip_prefix("onnxruntime-").and_then(|r| r.strip_suffix(".dist-info")).map(str::to_string)
    })
}

fn check_version(found: &FoundLibrary) -> Result<()> {
    let Some(v) = &found.version else {
        return Ok(());
    };
    let mut parts = v.split('.').map(|s| s.parse::<u32>().ok());
    let (major, minor) = (parts.next().flatten(), parts.next().flatten());
    if major == Some(1) && minor.is_some_and(|m| m >= REQUIRED_MINOR) { Ok(()) } else { Err(Error::RuntimeVersion { path: found.path.clone(), found: v.clone(), required: REQUIRED_MINOR }) }
}

/// ONNX Runtime, loaded and ready to make sessions.
#[derive(Debug)]
pub struct Runtime {
    library: FoundLibrary,
    env: ort::environment::Environment,
}

impl Runtime {
    /// The library file that was loaded, its version and how it was found.
    pub fn library(&self) -> &FoundLibrary {
        &self.library
    }
    /// The ort environment sessions are made in.
    pub fn environment(&self) -> &ort::environment::Environment {
        &self.env
    }
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

/// ONNX Runtime for this process: found with [`RuntimeSearch::from_env`] and loaded on the first
/// call, the same one afterwards.
pub fn runtime() -> Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    load(locate(&RuntimeSearch::from_env())?)
}

/// Loads ONNX Runtime from `found` (first call in the process) or returns the runtime already
/// loaded (a process holds one ONNX Runtime; a later, different path is ignored: see
/// [`Runtime::library`]).
pub fn load(found: FoundLibrary) -> Result<&'static Runtime> {
    let _guard = LOADING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    check_version(&found)?;
    let builder = ort::init_from(&found.path).map_err(|source| Error::RuntimeLoad { path: found.path.clone(), source })?;
    let env = builder.with_name("coxa").with_telemetry(false).build().map_err(|e| Error::ort("creating the ONNX Runtime environment", e))?;
    coxa_core::provenance::note_use(coxa_core::provenance::ModelUse {
        kind: "onnx_runtime".into(),
        name: found.path.file_name().map_or_else(|| found.path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        version: found.version.clone(),
        sha256: file_sha256(&found.path),
    });
    let rt = Runtime { library: found, env };
    Ok(RUNTIME.get_or_init(|| rt))
}

/// SHA-256 of the file at `path` (lower-case hex), read in pieces; `None` when it cannot be read.
fn file_sha256(path: &std::path::Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).ok()?, &mut h).ok()?;
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

//! Files written whole or not at all, and never over an existing file (issue 16).
//!
//! [`write_new`] writes into a temporary file beside the target (`.NAME.tmp-PID-N`), flushes it
//! to disk, then links it to its name and removes the temporary: `link(2)` is atomic and fails
//! when the name exists, so the target either does not exist or is complete, and an existing file
//! is never replaced (a rename would replace it; std has no no-replace rename, and coxa has no
//! unsafe code to call `renameat2`). A run killed mid-write leaves only a `.tmp-` file, which
//! [`remove_temporaries`] clears from coxa's own folders.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::bail;
use crate::error::{Context, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Marker in the names of temporary files.
pub const TMP_MARK: &str = ".tmp-";

fn temporary_for(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}{TMP_MARK}{}-{n}", std::process::id()))
}

/// Writes `bytes` to the new file `path`, atomically (see the module docs).
///
/// # Errors
/// `path` exists, or the folder cannot be written.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        bail!("{} already exists; coxa never overwrites a file: move it away or choose another output folder", path.display());
    }
    let tmp = temporary_for(path);
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked.with_context(|| format!("creating {} (it may exist already: coxa never overwrites)", path.display()))
}

/// Replaces coxa's own regenerated file `path` (e.g. `summary.json`, `index.html`) atomically:
/// written to a temporary, then renamed over the old one. Only for files coxa owns and
/// regenerates each run.
///
/// # Errors
/// The folder cannot be written.
pub fn replace_own(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_for(path);
    write_new(&tmp, bytes)?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Removes the temporary files a killed run left directly in `dir` (coxa's own, by their
/// [`TMP_MARK`] names). Returns how many.
pub fn remove_temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.') && e.file_name().to_string_lossy().contains(TMP_MARK) && e.path().is_file())
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_new(&p, b"{\"x\": 1}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"x\": 1}");
        let e = write_new(&p, b"other").unwrap_err().to_string();
        assert!(e.contains("never overwrites"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"x\": 1}", "the first file is kept");
        replace_own(&dir.path().join("summary.json"), b"1").unwrap();
        replace_own(&dir.path().join("summary.json"), b"2").unwrap();
        assert_eq!(std::fs::read(dir.path().join("summary.json")).unwrap(), b"2");
        // Nothing temporary is left behind; a stale one is cleared.
        std::fs::write(dir.path().join(format!(".b.json{TMP_MARK}1-0")), b"partial").unwrap();
        assert_eq!(remove_temporaries(dir.path()), 1);
        let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.contains(TMP_MARK)), "{names:?}");
    }
}

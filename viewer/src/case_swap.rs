//! A case folder replaced whole or not at all (issue 61): a save builds the new case in a
//! temporary folder beside it, then swaps the two names in one step.
//!
//! 1. A marker file `.NAME.coxa-save-PID.json` is written beside the case `NAME` (coxa's own:
//!    what it is, the case, the folder and the process), then the folder `.NAME.coxa-save-PID`.
//! 2. The folder mirrors the case: every file hard-linked (no data copied; copied where the file
//!    system has no hard links), every folder made anew.
//! 3. The save writes into the mirror only, and only by replacing names (a new file renamed over
//!    the link): a hard-linked file is never opened for writing, so the case's own files are
//!    never changed.
//! 4. Before the swap the case is listed again: a file added, removed or changed since the
//!    mirror was made (its inode, size or time) stops the save.
//! 5. The two folders' names are exchanged atomically: Linux's `renameat2(RENAME_EXCHANGE)`,
//!    through `rustix` (a dependency of the workspace already, by `tempfile`; coxa has no unsafe
//!    code of its own to call it). A plain `rename` cannot replace a non-empty folder, and two
//!    renames (case aside, mirror in) would leave a moment with no case at all.
//! 6. The old case, now under the temporary name, is listed once more: had anything reached it
//!    in between, the names are exchanged back and the save refused. Else it is removed, then
//!    the marker.
//!
//! A save killed at any point leaves the case folder as it was or the new one whole (the
//! exchange is one step), plus at most the temporary folder and its marker: [`clean_leftovers`]
//! removes them at the next save when the marker is coxa's and its process is gone. A
//! `.NAME.coxa-save-*` folder without coxa's marker beside it is never removed: the save is
//! refused, naming it.
//!
//! This is coxa's one rule for temporary folders (`coxa_io::scratch`: removed only when made by
//! this process or marked as coxa's unfinished work of the same target), with the mark kept
//! beside the folder rather than inside (`.coxa-unfinished`, as `coxa plan` and `coxa run` do):
//! the folder becomes the live case by the exchange, so a mark inside would end up in the user's
//! case, and the mark must name the saving process so that a save still running is never cleared.
//!
//! Debug builds only (the tests'): `COXA_TEST_SAVE_PAUSE=POINT` stops the save at a named
//! point (it prints `save paused at POINT (pid N)` on stderr and waits to be killed), and
//! `COXA_TEST_SAVE_FAIL=POINT` makes it fail there as an I/O error would; the points are
//! `marked`, `mirrored`, `written`, `hooked`, `exchanged` and `removed`.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::ViewError;

/// The part of the temporary names after the case's: `.NAME.coxa-save-PID`.
const TAG: &str = ".coxa-save-";
/// What the marker says it is.
const MARKER_KIND: &str = "coxa view save: the temporary folder of a plan revision";

fn save_error(why: String) -> ViewError {
    ViewError::Save { why }
}

fn io_error(path: &Path, source: std::io::Error) -> ViewError {
    ViewError::CaseRead { path: path.to_path_buf(), source }
}

/// Debug builds: stops (`COXA_TEST_SAVE_PAUSE`) or fails (`COXA_TEST_SAVE_FAIL`) at `point`
/// (see the module docs). Release builds: nothing.
pub(crate) fn test_point(point: &str) -> Result<(), ViewError> {
    #[cfg(debug_assertions)]
    {
        if std::env::var("COXA_TEST_SAVE_PAUSE").is_ok_and(|p| p == point) {
            eprintln!("save paused at {point} (pid {})", std::process::id());
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        if std::env::var("COXA_TEST_SAVE_FAIL").is_ok_and(|p| p == point) {
            return Err(save_error(format!("an I/O error at {point} (COXA_TEST_SAVE_FAIL); nothing was saved")));
        }
    }
    let _ = point;
    Ok(())
}

/// The case's folder and its parent and name.
fn parts(case: &Path) -> Result<(PathBuf, String), ViewError> {
    let abs = std::path::absolute(case).map_err(|e| io_error(case, e))?;
    let name = abs.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| save_error(format!("{} is not a folder Save can replace", case.display())))?;
    let parent = abs.parent().map(Path::to_path_buf).ok_or_else(|| save_error(format!("{} has no parent folder to build the new case in", case.display())))?;
    Ok((parent, name))
}

/// Whether process `pid` is running (Linux: `/proc/PID`).
fn alive(pid: u64) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes what a killed save of `case` left beside it (the temporary folder and its marker,
/// when the marker is coxa's and its process is gone); returns how many were removed.
///
/// # Errors
/// A `.NAME.coxa-save-*` entry that is not coxa's (no or another marker), one whose save is
/// still running, or one that cannot be removed: nothing is removed then, and the line names it.
pub fn clean_leftovers(case: &Path) -> Result<usize, ViewError> {
    let (parent, name) = parts(case)?;
    let prefix = format!(".{name}{TAG}");
    let entries = std::fs::read_dir(&parent).map_err(|e| io_error(&parent, e))?;
    let mut folders = Vec::new();
    let mut markers = Vec::new();
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(rest) = n.strip_prefix(&prefix) {
            if let Some(id) = rest.strip_suffix(".json") { markers.push((id.to_string(), e.path())) } else { folders.push((rest.to_string(), e.path())) }
        }
    }
    // Every marker checked first; nothing removed unless all are coxa's.
    let mut ours = BTreeMap::new();
    for (id, path) in &markers {
        let text = coxa_io::read_text_bounded(path, coxa_io::Bound { bytes: 1 << 16, what: "a save marker" }).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let folder = format!("{prefix}{id}");
        if v["kind"] != MARKER_KIND || v["case"] != name.as_str() || v["folder"] != folder.as_str() {
            return Err(save_error(format!("{} is not a marker of coxa's: move it away, then save again", path.display())));
        }
        let pid = v["pid"].as_u64().unwrap_or(0);
        if pid != u64::from(std::process::id()) && alive(pid) {
            return Err(save_error(format!("another coxa view (pid {pid}) is saving this case into {}: wait for it to finish, then save again", parent.join(&folder).display())));
        }
        ours.insert(id.clone(), path.clone());
    }
    for (id, path) in &folders {
        if !ours.contains_key(id) {
            return Err(save_error(format!("{} is in the way and has no marker of coxa's beside it, so it is not removed: move it away, then save again", path.display())));
        }
    }
    let mut removed = 0;
    for (id, marker) in ours {
        let folder = parent.join(format!("{prefix}{id}"));
        if folder.exists() {
            std::fs::remove_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
            removed += 1;
        }
        std::fs::remove_file(&marker).map_err(|e| io_error(&marker, e))?;
    }
    Ok(removed)
}

/// One entry of a listing: kind, inode, size and modification time (ns).
type Listed = BTreeMap<PathBuf, (char, u64, u64, i128)>;

/// Every file, folder and link under `root`, relative, with what identifies its content.
fn listing(root: &Path) -> Result<Listed, ViewError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for e in std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))? {
            let e = e.map_err(|e| io_error(&dir, e))?;
            let r = rel.join(e.file_name());
            let m = std::fs::symlink_metadata(e.path()).map_err(|err| io_error(&e.path(), err))?;
            let kind = if m.is_dir() {
                stack.push(r.clone());
                'd'
            } else if m.file_type().is_symlink() {
                'l'
            } else {
                'f'
            };
            let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
            out.insert(r, (kind, m.ino(), if kind == 'd' { 0 } else { m.len() }, if kind == 'd' { 0 } else { mtime }));
        }
    }
    Ok(out)
}

/// The first difference of two listings, for the message.
fn first_difference(a: &Listed, b: &Listed) -> Option<PathBuf> {
    a.iter().find(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| k.clone()).or_else(|| b.keys().find(|k| !a.contains_key(*k)).cloned())
}

/// A new case being built beside the live one (see the module docs). Dropped before
/// [`Staging::commit`], it removes itself and its marker.
#[derive(Debug)]
pub struct Staging {
    case: PathBuf,
    folder: PathBuf,
    marker: PathBuf,
    mirrored: Listed,
    /// Set once the temporary name holds the old case: `drop` then leaves it alone.
    done: bool,
}

impl Staging {
    /// Writes the marker and mirrors `case` into the temporary folder beside it.
    ///
    /// # Errors
    /// Leftovers in the way ([`clean_leftovers`]), a folder that cannot be written or read.
    pub fn begin(case: &Path) -> Result<Self, ViewError> {
        clean_leftovers(case)?;
        let (parent, name) = parts(case)?;
        let id = std::process::id();
        let folder = parent.join(format!(".{name}{TAG}{id}"));
        let marker = parent.join(format!(".{name}{TAG}{id}.json"));
        let record = json!({"kind": MARKER_KIND, "case": name, "folder": format!(".{name}{TAG}{id}"), "pid": id, "started": chrono::Utc::now().to_rfc3339()});
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&marker).map_err(|e| io_error(&marker, e))?;
            f.write_all(serde_json::to_string_pretty(&record).unwrap_or_default().as_bytes()).and_then(|()| f.sync_all()).map_err(|e| io_error(&marker, e))?;
        }
        let mut s = Self { case: parent.join(&name), folder, marker, mirrored: BTreeMap::new(), done: false };
        test_point("marked")?;
        s.mirrored = listing(&s.case)?;
        std::fs::create_dir(&s.folder).map_err(|e| io_error(&s.folder, e))?;
        let perms = |p: &Path| std::fs::metadata(p).map(|m| m.permissions());
        for (rel, (kind, ..)) in &s.mirrored {
            let (from, to) = (s.case.join(rel), s.folder.join(rel));
            let made = match kind {
                'd' => std::fs::create_dir(&to).and_then(|()| std::fs::set_permissions(&to, perms(&from)?)),
                'l' => std::fs::read_link(&from).and_then(|t| std::os::unix::fs::symlink(t, &to)),
                _ => std::fs::hard_link(&from, &to).or_else(|_| std::fs::copy(&from, &to).map(|_| ())),
            };
            made.map_err(|e| io_error(&to, e))?;
        }
        std::fs::set_permissions(&s.folder, perms(&s.case).map_err(|e| io_error(&s.case, e))?).map_err(|e| io_error(&s.folder, e))?;
        test_point("mirrored")?;
        Ok(s)
    }

    /// The folder to write the new case into.
    pub fn path(&self) -> &Path {
        &self.folder
    }

    /// Swaps the new case in (see the module docs).
    ///
    /// # Errors
    /// The case changed since [`Staging::begin`] (naming the file), or the swap failed; the
    /// case is then as it was.
    pub fn commit(mut self) -> Result<(), ViewError> {
        let (mirrored, case) = (std::mem::take(&mut self.mirrored), self.case.clone());
        let changed = |now: &Listed| first_difference(&mirrored, now).map(|rel| ViewError::Changed { path: case.join(rel) });
        if let Some(e) = changed(&listing(&self.case)?) {
            return Err(e);
        }
        exchange(&self.case, &self.folder)?;
        // The old case is under the temporary name now (never removed by `drop`); the new one is
        // live.
        self.done = true;
        let late = match listing(&self.folder) {
            Ok(now) => changed(&now),
            Err(e) => Some(e),
        };
        if let Some(e) = late {
            // Something reached the old case in between: the names back, the mirror dropped.
            exchange(&self.case, &self.folder)?;
            self.done = false;
            return Err(e);
        }
        test_point("exchanged")?;
        std::fs::remove_dir_all(&self.folder).map_err(|e| io_error(&self.folder, e))?;
        test_point("removed")?;
        std::fs::remove_file(&self.marker).map_err(|e| io_error(&self.marker, e))?;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            // Only what this save made: the mirror (never the live case) and its marker.
            let _ = std::fs::remove_dir_all(&self.folder);
            let _ = std::fs::remove_file(&self.marker);
        }
    }
}

/// Exchanges the names of the folders `a` and `b` in one step.
fn exchange(a: &Path, b: &Path) -> Result<(), ViewError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .map_err(|e| save_error(format!("{} and {} cannot be exchanged ({e}; Save needs Linux 3.15 or later and a file system with RENAME_EXCHANGE); nothing was saved", a.display(), b.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        for (rel, (kind, ..)) in listing(root).unwrap() {
            if kind == 'f' {
                out.insert(rel.clone(), std::fs::read(root.join(&rel)).unwrap());
            }
        }
        out
    }

    #[test]
    fn a_staged_case_is_swapped_in_whole_and_an_abandoned_one_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let case = tmp.path().join("case");
        std::fs::create_dir_all(case.join("implants")).unwrap();
        std::fs::write(case.join("plan.json"), b"old").unwrap();
        std::fs::write(case.join("implants/head.stl"), b"old head").unwrap();
        let before = tree(&case);
        // Abandoned: the case byte for byte as it was, nothing beside it.
        {
            let s = Staging::begin(&case).unwrap();
            std::fs::write(s.path().join("new.json"), b"x").unwrap();
        }
        assert_eq!(tree(&case), before);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "only the case is left");
        // Committed: the new files, the untouched ones the same inode.
        let s = Staging::begin(&case).unwrap();
        let tmp_plan = s.path().join(".plan.json.new");
        std::fs::write(&tmp_plan, b"new").unwrap();
        std::fs::rename(&tmp_plan, s.path().join("plan.json")).unwrap();
        let ino = std::fs::metadata(case.join("implants/head.stl")).unwrap().ino();
        s.commit().unwrap();
        assert_eq!(std::fs::read(case.join("plan.json")).unwrap(), b"new");
        assert_eq!(std::fs::metadata(case.join("implants/head.stl")).unwrap().ino(), ino);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "only the case is left");
        // A file added to the case while the save ran: refused, the file kept.
        let s = Staging::begin(&case).unwrap();
        std::fs::write(case.join("notes.txt"), b"mine").unwrap();
        let e = s.commit().unwrap_err().to_string();
        assert!(e.contains("notes.txt changed on disk"), "{e}");
        assert_eq!(std::fs::read(case.join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn leftovers_are_removed_only_with_coxas_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let case = tmp.path().join("case");
        std::fs::create_dir_all(&case).unwrap();
        // A user's folder with the temporary name: refused, kept.
        let theirs = tmp.path().join(".case.coxa-save-1");
        std::fs::create_dir_all(&theirs).unwrap();
        std::fs::write(theirs.join("x"), b"mine").unwrap();
        let e = clean_leftovers(&case).unwrap_err().to_string();
        assert!(e.contains(".case.coxa-save-1 is in the way and has no marker"), "{e}");
        assert!(theirs.join("x").is_file());
        // A marker that is not coxa's: refused, kept.
        std::fs::write(tmp.path().join(".case.coxa-save-1.json"), b"{}").unwrap();
        let e = clean_leftovers(&case).unwrap_err().to_string();
        assert!(e.contains("is not a marker of coxa's"), "{e}");
        assert!(theirs.join("x").is_file());
        // Coxa's marker of a process that is gone: both removed. (pid 0 is never a process's.)
        let marker = json!({"kind": MARKER_KIND, "case": "case", "folder": ".case.coxa-save-1", "pid": 0});
        std::fs::write(tmp.path().join(".case.coxa-save-1.json"), marker.to_string()).unwrap();
        assert_eq!(clean_leftovers(&case).unwrap(), 1);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "only the case is left");
    }
}

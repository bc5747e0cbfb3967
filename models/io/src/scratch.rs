//! coxa's temporary folders: one rule for all of them (issue 61). Nothing of the user's is ever
//! removed or overwritten, so coxa removes a folder only when
//! - it made the folder itself in this process ([`fresh_dir`]: created new, never over an existing
//!   one; an existing one is refused and left as it is), or
//! - the folder carries coxa's own mark of an interrupted run of the same result
//!   ([`start_unfinished`] writes it first, [`clear_unfinished`] checks it before removing:
//!   `coxa plan --out X`'s `.X.partial`, `coxa run`'s `cases/.NAME.partial`).
//!
//! Anything else at a scratch path (a folder, a file, a link) is refused with one line naming it.
//! The desk's save (`viewer/src/case_swap.rs`) keeps its mark beside its folder instead of
//! inside, because that folder becomes the live case by an exchange of names (a mark inside
//! would end up in the user's case), and its mark holds the saving process's id so that a save
//! still running is never cleared; it follows the same rule otherwise.

use std::path::{Path, PathBuf};

/// The file inside a folder that marks it as coxa's own unfinished result (written first by
/// [`start_unfinished`], removed by [`finish_unfinished`] before the result is complete).
pub const UNFINISHED_MARK: &str = ".coxa-unfinished";

/// Why a scratch folder cannot be made or cleared.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// Something coxa did not make is at a path coxa needs for scratch: never removed.
    #[error("{} exists and is not coxa's {what} (no coxa mark for it): coxa never removes what it did not make; move it away or choose another output", path.display())]
    NotOurs {
        /// What is in the way.
        path: PathBuf,
        /// What coxa wanted to make there.
        what: String,
    },
    /// A file system error.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What coxa was doing.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ScratchError {
    let path = path.to_path_buf();
    move |source| ScratchError::Io { action, path, source }
}

/// Whether anything (a folder, a file, a link, even a dangling one) is at `path`.
fn occupied(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Makes the new folder `path` (its parent made as needed); `what` names it in the error.
///
/// # Errors
/// Anything is at `path` already ([`ScratchError::NotOurs`], left as it is), or the folder cannot
/// be made.
pub fn fresh_dir(path: &Path, what: &str) -> Result<(), ScratchError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    match std::fs::create_dir(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(ScratchError::NotOurs { path: path.to_path_buf(), what: what.to_string() }),
        r => r.map_err(io("create", path)),
    }
}

/// What [`UNFINISHED_MARK`] holds for the result that will be `done` (its name: the unfinished
/// folder is always beside it).
fn unfinished_text(done: &Path) -> String {
    let name = done.file_name().map_or_else(|| done.display().to_string(), |n| n.to_string_lossy().into_owned());
    format!("coxa: the unfinished result {name}; removed when it finishes or when its command runs again\n")
}

/// Makes the new folder `partial` for the result that will be `done` and marks it as coxa's.
///
/// # Errors
/// As [`fresh_dir`]; the mark cannot be written.
pub fn start_unfinished(partial: &Path, done: &Path) -> Result<(), ScratchError> {
    fresh_dir(partial, &format!("unfinished {}", done.display()))?;
    let mark = partial.join(UNFINISHED_MARK);
    std::fs::write(&mark, unfinished_text(done)).map_err(io("write", &mark))
}

/// Removes the mark from `partial` (the result is complete but for its last records).
///
/// # Errors
/// The mark cannot be removed.
pub fn finish_unfinished(partial: &Path) -> Result<(), ScratchError> {
    let mark = partial.join(UNFINISHED_MARK);
    std::fs::remove_file(&mark).map_err(io("remove", &mark))
}

/// Clears `partial`, the unfinished folder of the result that will be `done`, when an interrupted
/// run left it (a folder, not a link, whose [`UNFINISHED_MARK`] names `done`); nothing when there
/// is none.
///
/// # Errors
/// Something else is at `partial` ([`ScratchError::NotOurs`]: never removed), or it cannot be
/// removed.
pub fn clear_unfinished(partial: &Path, done: &Path) -> Result<(), ScratchError> {
    if !occupied(partial) {
        return Ok(());
    }
    check_unfinished(partial, done)?;
    std::fs::remove_dir_all(partial).map_err(io("remove", partial))
}

/// Whether `partial` is coxa's unfinished folder of `done`: a folder (not a link) whose mark
/// names `done`, or one that [`start_unfinished`] was stopped in the middle of making (empty, or
/// holding only the beginning of the mark). Such a folder holds nothing of anyone's.
fn is_unfinished(partial: &Path, done: &Path) -> bool {
    if !partial.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        return false;
    }
    let mark = partial.join(UNFINISHED_MARK);
    let text = mark.symlink_metadata().is_ok_and(|m| m.is_file() && m.len() < 4096).then(|| std::fs::read_to_string(&mark).ok()).flatten();
    let entries = || std::fs::read_dir(partial).map_or(usize::MAX, Iterator::count);
    let expected = unfinished_text(done);
    match text {
        Some(t) if t == expected => true,
        Some(t) => expected.starts_with(&t) && entries() == 1,
        None => entries() == 0,
    }
}

/// Checks, removing nothing, that `partial` is free or coxa's unfinished folder of `done` (for a
/// command that checks all its scratch paths before it writes anything).
///
/// # Errors
/// Something else is at `partial` ([`ScratchError::NotOurs`]).
pub fn check_unfinished(partial: &Path, done: &Path) -> Result<(), ScratchError> {
    if occupied(partial) && !is_unfinished(partial, done) {
        return Err(ScratchError::NotOurs { path: partial.to_path_buf(), what: format!("unfinished {}", done.display()) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_coxas_own_unfinished_folder_is_cleared() {
        let d = tempfile::tempdir().unwrap();
        let done = d.path().join("case");
        let partial = d.path().join(".case.partial");
        clear_unfinished(&partial, &done).unwrap();
        start_unfinished(&partial, &done).unwrap();
        std::fs::write(partial.join("plan.json"), b"{}").unwrap();
        // A second start never reuses it; a clear of the same result removes it.
        assert!(matches!(start_unfinished(&partial, &done), Err(ScratchError::NotOurs { .. })));
        clear_unfinished(&partial, &done).unwrap();
        assert!(!occupied(&partial));
        // Killed while it was being started: an empty folder, or only the beginning of the mark
        // (issue 16's kill test met both: every later run refused the folder as not coxa's).
        std::fs::create_dir(&partial).unwrap();
        clear_unfinished(&partial, &done).unwrap();
        assert!(!occupied(&partial));
        std::fs::create_dir(&partial).unwrap();
        std::fs::write(partial.join(UNFINISHED_MARK), &unfinished_text(&done).as_bytes()[..10]).unwrap();
        clear_unfinished(&partial, &done).unwrap();
        assert!(!occupied(&partial));
        // Another result's mark, no mark, a file, a link: refused, left as they were.
        start_unfinished(&partial, &d.path().join("other")).unwrap();
        assert!(matches!(clear_unfinished(&partial, &done), Err(ScratchError::NotOurs { .. })));
        assert!(partial.join(UNFINISHED_MARK).is_file());
        std::fs::remove_dir_all(&partial).unwrap();
        std::fs::create_dir(&partial).unwrap();
        std::fs::write(partial.join("mine.txt"), b"user").unwrap();
        let e = clear_unfinished(&partial, &done).unwrap_err().to_string();
        assert!(e.contains(".case.partial exists and is not coxa's unfinished") && e.contains("never removes"), "{e}");
        assert_eq!(std::fs::read(partial.join("mine.txt")).unwrap(), b"user");
        std::fs::remove_dir_all(&partial).unwrap();
        std::fs::write(&partial, b"a file").unwrap();
        assert!(clear_unfinished(&partial, &done).is_err() && fresh_dir(&partial, "scratch").is_err());
        assert_eq!(std::fs::read(&partial).unwrap(), b"a file");
        finish_unfinished(&d.path().join("nothing")).unwrap_err();
    }
}

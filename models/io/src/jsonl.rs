//! JSON-lines logs that runs append to: a run killed mid-write leaves a partial last line, and
//! the next run's first line appended to it would make one invalid line of two (issue 45).
//! [`set_aside_partial_last_line`] moves such a tail into a file of its own before appending.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes read per step, backwards from the end, looking for the last newline.
const STEP: u64 = 64 * 1024;

/// When the file at `path` exists and does not end with a newline, moves its partial last line
/// (the bytes after the last `\n`, or the whole file if it has none) into `<path>.partial-N`
/// (the first N from 1 not taken) and truncates `path` to its complete lines. Returns where the
/// tail went, `None` when there was nothing to do (no file, an empty one, or a last line
/// complete). Nothing is lost: the tail is written and synced before `path` is cut.
///
/// # Errors
/// The I/O errors of reading, writing the tail, or truncating.
pub fn set_aside_partial_last_line(path: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut file = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    let _ = file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // The start of the partial line: one past the last newline, or 0.
    let mut end = len;
    let mut keep = 0u64;
    let mut buf = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(STEP);
        buf.resize((end - start) as usize, 0);
        let _ = file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    let (aside, mut out) = (1u32..)
        .map(|n| {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".partial-{n}"));
            PathBuf::from(name)
        })
        .find_map(|p| match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => Some(Ok((p, f))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(e) => Some(Err(e)),
        })
        .unwrap_or_else(|| Err(std::io::Error::other("no free name for the partial line")))?;
    let _ = file.seek(SeekFrom::Start(keep))?;
    let _ = std::io::copy(&mut (&mut file).take(len - keep), &mut out)?;
    out.sync_all()?;
    file.set_len(keep)?;
    file.sync_all()?;
    out.flush()?;
    Ok(Some(aside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_line_is_moved_aside_and_complete_files_are_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log.jsonl");
        assert_eq!(set_aside_partial_last_line(&p).unwrap(), None, "no file");
        std::fs::write(&p, "{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert_eq!(set_aside_partial_last_line(&p).unwrap(), None, "complete");
        std::fs::write(&p, "{\"a\":1}\n{\"b\":2}\n{\"event\":\"case_st").unwrap();
        let aside = set_aside_partial_last_line(&p).unwrap().unwrap();
        assert_eq!(aside, d.path().join("log.jsonl.partial-1"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(std::fs::read_to_string(&aside).unwrap(), "{\"event\":\"case_st");
        // A file of one partial line, longer than a read step, and a second repair's own name.
        let long = "x".repeat(200_000);
        std::fs::write(&p, &long).unwrap();
        assert_eq!(set_aside_partial_last_line(&p).unwrap().unwrap(), d.path().join("log.jsonl.partial-2"));
        assert_eq!(std::fs::read(&p).unwrap().len(), 0);
        assert_eq!(std::fs::read_to_string(d.path().join("log.jsonl.partial-2")).unwrap(), long);
    }
}

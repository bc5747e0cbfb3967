//! Catalog and frame files read whole, bounded (issue 45): a TOML file the user names (or a
//! `*.toml` in a catalog folder) is read only up to [`MAX_TEXT_BYTES`], so a wrong path such as
//! `/dev/zero` or a multi-gigabyte file is refused at once instead of filling the memory.
//!
//! Written here rather than through `coxa_io::read_bounded`: the planner and the simulator use
//! this crate and must not reach `coxa-io` (the crate layering, `tests/tests/layering.rs`), and
//! a catalog needs no `--max-memory` of its own: 16 MiB is a thousand times the largest catalog.

use std::io::Read;
use std::path::Path;

use crate::error::{ImplantError, Result};

/// The most a catalog or frame file may hold: 16 MiB.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

/// Reads the UTF-8 text of `path`, refusing a file (or a stream) longer than [`MAX_TEXT_BYTES`]
/// before reading more than one byte past it.
pub(crate) fn text(path: &Path) -> Result<String> {
    let err = |source| ImplantError::Read { path: path.to_path_buf(), source };
    let too_large = || {
        err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, format!("the file goes on beyond the {} MiB a catalog or frame file may have at most; is it the right file?", MAX_TEXT_BYTES >> 20)))
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    if meta.is_file() && meta.len() > MAX_TEXT_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_BYTES + 1).read_to_end(&mut bytes).map_err(err)?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| err(std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error with its causes, as the command line prints it.
    fn chain(e: &ImplantError) -> String {
        let mut s = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            s.push_str(&format!(": {c}"));
            cause = c.source();
        }
        s
    }

    #[test]
    fn a_stream_without_end_is_refused_after_the_bound() {
        let e = chain(&text(Path::new("/dev/zero")).unwrap_err());
        assert!(e.contains("/dev/zero") && e.contains("16 MiB"), "{e}");
    }

    #[test]
    fn a_large_file_is_refused_from_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.toml");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_TEXT_BYTES + 1).unwrap();
        assert!(chain(&text(&p).unwrap_err()).contains("16 MiB"));
        std::fs::write(&p, "schema_version = 1\n").unwrap();
        assert_eq!(text(&p).unwrap(), "schema_version = 1\n");
    }
}

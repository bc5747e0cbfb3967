//! A zip archive of DICOM files as CT input (issue 63): how studies leave a PACS's web viewer, a
//! research archive or an e-mail. The archive's files are unpacked into a temporary folder (the
//! DICOM reader reads each slice at its offset in its file) that is removed when the read is
//! done, and the folder is read as any other.
//!
//! Checked before anything is written: at most [`MAX_MEMBERS`] members; no encrypted member;
//! every member's declared size within [`crate::limits::MAX_DEFLATE_RATIO`] times its compressed size
//! (deflate cannot expand more: a zip bomb lies about one or the other); the declared sizes
//! together within the memory limit (a CT that fits it unpacks within it). While unpacking, a
//! member that yields more bytes than it declares is refused. Members are written under numbered
//! names (never the archive's own paths: a member named `../x` stays inside the folder), and
//! macOS's resource forks (`__MACOSX/`) are left out. The zip crate reads the archive (stored
//! and deflated members).

use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::{Error, Limits, Result};

/// Most members an archive may hold (a full-length thin-slice CT is a few thousand files).
pub const MAX_MEMBERS: usize = 100_000;

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Archive { path: path.to_path_buf(), why: why.into() }
}

/// Whether `path` is a zip archive (its first bytes are a zip's local header or an empty
/// archive's end record).
pub fn is_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06")
}

/// Unpacks the zip archive at `path` into a new temporary folder (removed when the returned value
/// is dropped).
///
/// # Errors
/// [`Error::Archive`]: not a readable zip, too many members, an encrypted member, a member
/// larger than it declares or than deflate can expand its bytes to; [`Error::TooMuchMemory`]:
/// the members together beyond `limits`; the folder cannot be made or written.
pub fn unpack(path: &Path, limits: &Limits) -> Result<tempfile::TempDir> {
    let file = std::fs::File::open(path).map_err(|source| Error::Unreadable { path: path.to_path_buf(), source })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(path, format!("not a readable zip archive ({e})")))?;
    if archive.len() > MAX_MEMBERS {
        return Err(bad(path, format!("{} members, more than the {MAX_MEMBERS} a CT series needs", archive.len())));
    }
    let mut total = 0u64;
    for i in 0..archive.len() {
        let m = member(&mut archive, i, path)?;
        let (size, packed) = (m.size(), m.compressed_size());
        if m.encrypted() {
            return Err(bad(path, format!("member {} is encrypted: unpack it with its password first", i + 1)));
        }
        if size > packed.saturating_mul(crate::limits::MAX_DEFLATE_RATIO).saturating_add(1024) {
            return Err(bad(path, format!("member {} declares {size} bytes from {packed} packed ones, more than deflate can give: a damaged archive or a zip bomb", i + 1)));
        }
        total = total.saturating_add(size);
    }
    limits.check(path, || format!("the {} members of a zip archive", archive.len()), total)?;
    let dir = tempfile::Builder::new().prefix("coxa-zip-").tempdir().map_err(|source| Error::Unreadable { path: std::env::temp_dir(), source })?;
    let mut buf = vec![0u8; 1 << 16];
    for i in 0..archive.len() {
        let mut m = member(&mut archive, i, path)?;
        let name = m.name().map(|n| n.into_owned()).unwrap_or_default();
        if m.is_dir() || name.starts_with("__MACOSX/") {
            continue;
        }
        let declared = m.size();
        let out_path = dir.path().join(format!("{:06}", i + 1));
        let write_err = |source| Error::Unreadable { path: out_path.clone(), source };
        let mut out = std::fs::File::create(&out_path).map_err(write_err)?;
        let mut written = 0u64;
        loop {
            let n = m.read(&mut buf).map_err(|e| bad(path, format!("member {} ({name}) cannot be unpacked ({e})", i + 1)))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > declared {
                return Err(bad(path, format!("member {} ({name}) holds more than the {declared} bytes it declares: a damaged archive or a zip bomb", i + 1)));
            }
            out.write_all(&buf[..n]).map_err(write_err)?;
        }
    }
    Ok(dir)
}

fn member<'a, R: Read + Seek>(archive: &'a mut zip::ZipArchive<R>, i: usize, path: &Path) -> Result<zip::read::ZipFile<'a, R>> {
    archive.by_index(i).map_err(|e| bad(path, format!("member {} cannot be read ({e})", i + 1)))
}

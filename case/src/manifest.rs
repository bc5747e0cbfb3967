//! The manifest of a finished case (issue 16): every file of the case folder with its size and
//! SHA-256, written last, so a rerun trusts a case only when every file is there, whole and
//! unchanged. A missing manifest, a missing, truncated or changed file makes the case damaged:
//! `coxa run` moves it aside (never deletes it) and redoes it.
//!
//! `manifest.json`: `{"manifest_version": 1, "files": [{"path": "report.json", "bytes": 1234,
//! "sha256": "..."}, ...]}`, paths relative to the case folder with `/`, sorted.

use std::io::Read;
use std::path::Path;

use crate::bail;
use crate::error::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's file name in a case folder.
pub const MANIFEST: &str = "manifest.json";

/// One file of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Path relative to the case folder, `/`-separated.
    pub path: String,
    /// Size, bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// A case's manifest (its envelope, `crate::records`, beside: unknown fields are read past).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Manifest {
    /// 1.
    pub manifest_version: u32,
    /// Every file but the manifest itself.
    pub files: Vec<Entry>,
}

fn sha256_of(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

fn files_under(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap_or(&p).components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
                if rel != MANIFEST && rel != coxa_io::scratch::UNFINISHED_MARK {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Hashes every file under `dir` and writes `dir/manifest.json` (atomically, new).
///
/// # Errors
/// A file cannot be read, or the manifest cannot be written.
pub fn write(dir: &Path) -> Result<Manifest> {
    let mut files = Vec::new();
    for rel in files_under(dir)? {
        let (bytes, sha256) = sha256_of(&dir.join(&rel)).with_context(|| format!("hashing {}", dir.join(&rel).display()))?;
        files.push(Entry { path: rel, bytes, sha256 });
    }
    let m = Manifest { manifest_version: 1, files };
    crate::stamp::write(&dir.join(MANIFEST), "manifest", &m)?;
    Ok(m)
}

/// Checks `dir` against its manifest: every listed file present, of its size and hash.
///
/// # Errors
/// What is wrong, naming the file: no or unreadable manifest, a missing, resized or changed file.
pub fn verify(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).with_context(|| format!("{} is missing or unreadable (the case did not finish, or was written by an older coxa)", path.display()))?;
    let m: Manifest = serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    if m.manifest_version != 1 || m.files.is_empty() {
        bail!("{}: unknown manifest version {} or no files", path.display(), m.manifest_version);
    }
    for e in &m.files {
        if e.path.split('/').any(|c| c == ".." || c.is_empty()) {
            bail!("{}: file {:?} is outside the case", path.display(), e.path);
        }
        let p = dir.join(&e.path);
        let len = std::fs::metadata(&p).map(|m| m.len()).with_context(|| format!("{} is missing", p.display()))?;
        if len != e.bytes {
            bail!("{} has {len} bytes, the manifest says {}", p.display(), e.bytes);
        }
        let (_, sha) = sha256_of(&p).with_context(|| format!("reading {}", p.display()))?;
        if sha != e.sha256 {
            bail!("{} has changed since the case finished (SHA-256 differs)", p.display());
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_of_any_kind_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("rom")).unwrap();
        std::fs::write(d.join("case.json"), b"{\"case\": \"a\"}").unwrap();
        std::fs::write(d.join("rom/x.json"), b"[1, 2, 3]").unwrap();
        let m = write(d).unwrap();
        assert_eq!(m.files.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["case.json", "rom/x.json"]);
        verify(d).unwrap();
        // Same size, one byte changed.
        std::fs::write(d.join("rom/x.json"), b"[1, 2, 4]").unwrap();
        assert!(verify(d).unwrap_err().to_string().contains("has changed"));
        std::fs::write(d.join("rom/x.json"), b"[1, 2, 3]").unwrap();
        // Truncated.
        std::fs::write(d.join("case.json"), b"{\"case\"").unwrap();
        assert!(verify(d).unwrap_err().to_string().contains("bytes"));
        std::fs::write(d.join("case.json"), b"{\"case\": \"a\"}").unwrap();
        verify(d).unwrap();
        // Missing file, then missing manifest.
        std::fs::remove_file(d.join("rom/x.json")).unwrap();
        assert!(verify(d).unwrap_err().to_string().contains("missing"));
        std::fs::remove_file(d.join(MANIFEST)).unwrap();
        assert!(verify(d).unwrap_err().to_string().contains("missing or unreadable"));
    }
}

//! Writing result files: never over a file that exists (coxa never overwrites a user's file).

use std::path::Path;

use anyhow::{Context, Result};

/// Writes a new file (never overwrites).
///
/// # Errors
/// The file exists already, or cannot be created or written.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

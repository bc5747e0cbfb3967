//! Shared by the anatomy crate's integration tests.

use std::path::{Path, PathBuf};

/// `../shared/data/<rel>` beside the repository, or `None` with a note when it is not there
/// (outside CI; in CI its absence fails).
pub fn data(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(std::env::var_os("CI").is_none(), "CI: {} is missing", p.display());
    eprintln!("note: skipping, {} is not here", p.display());
    None
}

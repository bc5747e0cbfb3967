//! What the criterion benchmarks in `benches/benches/` share: where the workspace, the reference
//! data (`../shared/data`) and the generated bench inputs (`target/bench-data`) are, and the
//! [`bench!`] name of a benchmark.

use std::path::{Path, PathBuf};

/// A benchmark's id under its bench file's module path (`anatomy::labels_1mm_surfaces_landmarks`),
/// so that ids of different files never clash in criterion's reports.
#[macro_export]
macro_rules! bench {
    ($name:literal) => {
        concat!(module_path!(), "::", $name)
    };
}

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ has a parent").to_path_buf()
}

/// `shared/data/REL` beside the repository or in a folder further up (git worktrees), when it
/// is there.
pub fn find_shared_data(rel: &str) -> Option<PathBuf> {
    workspace().ancestors().skip(1).map(|a| a.join("shared/data").join(rel)).find(|p| p.exists())
}

/// [`find_shared_data`], else where it would be beside the repository (for the note that says
/// it is missing).
pub fn shared_data(rel: &str) -> PathBuf {
    find_shared_data(rel).unwrap_or_else(|| workspace().join("../shared/data").join(rel))
}

/// A bone surface of the vsd subject z013 (`Hip_L`, `Femur_R`, ...), `shared/data/vsd_bones`.
pub fn z013(bone: &str) -> PathBuf {
    shared_data(&format!("vsd_bones/z013_{bone}.stl"))
}

/// `target/bench-data`, where benchmarks write the inputs they generate (created if missing).
pub fn bench_data() -> PathBuf {
    let d = workspace().join("target/bench-data");
    std::fs::create_dir_all(&d).expect("target/bench-data can be created");
    d
}

//! No source file over 600 lines, and none of the program crate's (`scenarios/`, the `coxa`
//! binary and its tests) over 400 (issue 58, docs/TESTING.md "Rules"): a file that grows past the
//! limit is split by what it does (a child module per concern), not by cutting it in halves.
//!
//! Every `.rs` file under the workspace root is counted, build outputs, virtual environments and
//! hidden folders excepted.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::common::workspace_root;

/// The limit for every source file, lines.
const MAX_LINES: usize = 600;
/// The limit for the program crate's files (`scenarios/`), lines: the program only parses,
/// calls the library and prints.
const MAX_PROGRAM_LINES: usize = 400;

/// Every `.rs` file below `dir`, skipping build outputs, virtual environments and hidden folders.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules" || name == "venv") {
                rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The files over their limit: (path relative to the root, lines, limit).
fn oversized(root: &Path) -> Result<Vec<(String, usize, usize)>> {
    let mut files = Vec::new();
    rust_files(root, &mut files)?;
    let mut over = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root)?.to_string_lossy().into_owned();
        let lines = std::fs::read_to_string(&f).with_context(|| format!("reading {rel}"))?.lines().count();
        let limit = if rel.starts_with("scenarios/") { MAX_PROGRAM_LINES } else { MAX_LINES };
        if lines > limit {
            over.push((rel, lines, limit));
        }
    }
    over.sort();
    Ok(over)
}

#[test]
fn no_source_file_over_its_limit() -> Result<()> {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files)?;
    // The walk reached the crates (this file among them), not an empty folder.
    assert!(files.len() > 300 && files.iter().any(|f| f.ends_with("tests/tests/file_sizes.rs")), "{} files found under {}", files.len(), root.display());
    let over = oversized(&root)?;
    let list: String = over.iter().map(|(f, n, limit)| format!("  {f}: {n} lines (limit {limit})\n")).collect();
    assert!(over.is_empty(), "{} source file(s) over the line limit (docs/TESTING.md): split them by concern\n{list}", over.len());
    Ok(())
}

#[test]
fn the_size_check_counts_lines_and_knows_the_program_limit() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let write = |rel: &str, lines: usize| -> Result<()> {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap())?;
        Ok(std::fs::write(p, "//\n".repeat(lines))?)
    };
    write("models/a/src/ok.rs", MAX_LINES)?;
    write("models/a/src/big.rs", MAX_LINES + 1)?;
    write("scenarios/src/cli/ok.rs", MAX_PROGRAM_LINES)?;
    write("scenarios/src/cli/big.rs", MAX_PROGRAM_LINES + 1)?;
    write("target/debug/build/generated.rs", 5 * MAX_LINES)?;
    write(".venv/lib/x.rs", 5 * MAX_LINES)?;
    let over = oversized(dir.path())?;
    let names: Vec<&str> = over.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(names, ["models/a/src/big.rs", "scenarios/src/cli/big.rs"]);
    assert_eq!((over[0].1, over[1].1), (MAX_LINES + 1, MAX_PROGRAM_LINES + 1));
    Ok(())
}

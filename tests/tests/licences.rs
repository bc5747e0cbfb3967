//! The licence files at the root (issue 44, item 2): coxa's own licence is what every crate's
//! manifest says (`MIT OR Apache-2.0`, both texts at the root), `CITATION.cff` names the same
//! version and licence, and the root `LICENSE` lists every third-party folder of the repository:
//! a folder that brings its own licence, notice, attribution or source file (data, models,
//! fonts, fixtures) must appear in the table.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::common::workspace_root;

/// The files that mark a folder as third-party content.
fn is_licence_file(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let (stem, ext) = upper.split_once('.').unwrap_or((&upper, ""));
    let text = matches!(ext, "" | "MD" | "TXT");
    text && (matches!(stem, "LICENSE" | "LICENCE" | "NOTICE" | "ATTRIBUTION" | "OFL" | "COPYING") || (stem == "SOURCE" && ext == "TXT"))
}

/// The repository's files (git's list: the build output and ignored files are not the repository).
fn tracked(root: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("git").args(["ls-files", "-z"]).current_dir(root).output().context("git ls-files")?;
    anyhow::ensure!(out.status.success(), "git ls-files: {}", String::from_utf8_lossy(&out.stderr));
    Ok(out.stdout.split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| PathBuf::from(String::from_utf8_lossy(s).into_owned())).collect())
}

#[test]
fn every_third_party_folder_is_in_the_licence_table() -> Result<()> {
    let root = workspace_root();
    let licence = std::fs::read_to_string(root.join("LICENSE"))?;
    let files = tracked(&root)?;
    let mut folders: Vec<String> = files
        .iter()
        .filter(|p| p.parent().is_some_and(|d| !d.as_os_str().is_empty()) && p.file_name().and_then(|n| n.to_str()).is_some_and(is_licence_file))
        .filter_map(|p| p.parent().and_then(|d| d.to_str()).map(str::to_string))
        .collect();
    folders.sort();
    folders.dedup();
    assert!(folders.len() >= 4, "the LLP26 model, gait2392, the fonts and the IBSI fixture at least: {folders:?}");
    let missing: Vec<&String> = folders.iter().filter(|f| !licence.contains(&format!("{f}/"))).collect();
    assert!(missing.is_empty(), "LICENSE's third-party table does not list {missing:?}: add a row naming the folder, its licence and its notice");
    for f in ["LICENSE-APACHE", "LICENSE-MIT", "CITATION.cff"] {
        assert!(files.iter().any(|p| p == Path::new(f)), "{f} at the repository root");
    }
    assert!(std::fs::read_to_string(root.join("LICENSE-APACHE"))?.contains("Apache License") && std::fs::read_to_string(root.join("LICENSE-MIT"))?.contains("Permission is hereby granted"));
    Ok(())
}

#[test]
fn manifest_and_citation_agree_on_version_and_licence() -> Result<()> {
    let root = workspace_root();
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml"))?)?;
    let package = &manifest["workspace"]["package"];
    let (version, license) = (package["version"].as_str().context("version")?, package["license"].as_str().context("license")?);
    assert_eq!(license, "MIT OR Apache-2.0");
    let cff = std::fs::read_to_string(root.join("CITATION.cff"))?;
    assert!(cff.starts_with("cff-version: 1.2.0"), "a CFF 1.2 file");
    assert!(cff.contains(&format!("\nversion: \"{version}\"")), "CITATION.cff names version {version}");
    assert!(cff.contains(&format!("\nlicense: \"{license}\"")), "CITATION.cff names the licence {license}");
    Ok(())
}

//! The Python package's build reuses the workspace's compiled dependencies (issue 58, CI time).
//!
//! `pip install` (maturin) builds `coxa-python` alone, and cargo resolves the features of its
//! dependencies over that package only, while the workspace's build (clippy, the tests) resolves
//! them over every member, bevy and the test crates included. A dependency built with other
//! features is another artifact to cargo, and everything above it is compiled again: `libc` with
//! one feature more recompiled nearly every crate, 405 s of `scripts/test-python`. The package's
//! manifest pins those features (python/Cargo.toml, "Feature pins"); this test fails when the
//! two sets drift apart (a dependency updated, a feature added), naming the crates and their
//! features in the workspace, so that the pins can be set again.
//!
//! `coxa-scenarios` itself differs by design (the package takes it without the window) and is
//! not counted; nor is `coxa-python`, which the workspace's test build does not compile.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::common::workspace_root;

/// Every package of `cargo tree` with its features, one line each (`name vX.Y.Z [f1,f2]`).
fn tree(args: &[&str]) -> Result<BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo).current_dir(workspace_root()).args(["tree", "--offline", "--prefix", "none", "-f", "{p} [{f}]"]).args(args).output().context("cargo tree runs")?;
    ensure!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?.lines().map(|l| l.trim_end_matches(" (*)").to_string()).collect())
}

#[test]
fn pip_builds_the_dependencies_with_the_workspaces_features() -> Result<()> {
    let workspace = tree(&["--workspace", "--features", "coxa-scenarios/heavy-tests", "-e", "normal,dev,build"])?;
    // As scripts/test-python builds it: with STEP asked for (the workspace's build has it; the
    // default wheel leaves it out, issue 63).
    let python = tree(&["-p", "coxa-python", "--features", "step", "-e", "normal,build"])?;
    let ours = |l: &&String| !l.starts_with("coxa-scenarios ") && !l.starts_with("coxa-python ");
    let differ: Vec<&String> = python.iter().filter(ours).filter(|l| !workspace.contains(*l)).collect();
    // For each crate that differs, the workspace's variants: what the pins must say.
    let wanted: Vec<&String> = differ.iter().filter_map(|l| l.split(" [").next()).flat_map(|name| workspace.iter().filter(move |w| w.split(" [").next() == Some(name))).collect();
    ensure!(
        differ.is_empty(),
        "coxa-python's build would compile {} dependencies with features other than the workspace's, and everything above them again; \
         set the pins in python/Cargo.toml (\"Feature pins\") to the workspace's features.\npython: {differ:#?}\nworkspace: {wanted:#?}",
        differ.len()
    );
    // The check sees the package's tree at all (a renamed package would pass an empty set).
    ensure!(python.iter().any(|l| l.starts_with("pyo3 ")) && python.len() > 100, "coxa-python's tree: {} packages", python.len());
    Ok(())
}

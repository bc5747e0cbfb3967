//! The envelope of every record coxa writes (issue 44): the name of its JSON Schema, the schema
//! version and its provenance ([`coxa_core::provenance`]) beside the record's own fields. The
//! schemas themselves are listed in [`crate::records`].

use std::path::Path;

use crate::error::Result;
use serde::Serialize;

use coxa_core::provenance::{Provenance, SCHEMA_VERSION, Stamped};

/// The schema file of record `name`.
pub fn schema_file(name: &str) -> String {
    format!("{name}.schema.json")
}

/// The git revision this coxa was built from (12 hex digits, or `unknown` outside a git
/// checkout: `case/build.rs`).
pub const GIT_REVISION: &str = env!("COXA_GIT_REVISION");

/// What the headless build (no window) says it is; the library itself never draws a window.
pub const HEADLESS_BUILD: &str = "headless build: no coxa view, pictures drawn by the CPU rasteriser";

/// The build's description, set once by the program ([`set_build`]).
static BUILD: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Names the build this library runs in (the program's window build says so at start); without
/// it, [`HEADLESS_BUILD`]. Only the first call counts.
pub fn set_build(description: &'static str) {
    let _ = BUILD.set(description);
}

/// The build's description ([`set_build`], else [`HEADLESS_BUILD`]).
pub fn build() -> &'static str {
    BUILD.get().copied().unwrap_or(HEADLESS_BUILD)
}

/// `coxa --version`: the package version with the git revision built (`+` and 12 hex digits,
/// semver build metadata; `+unknown` outside a git checkout), then [`build`] in brackets.
pub fn version() -> String {
    format!("{}+{GIT_REVISION} ({})", env!("CARGO_PKG_VERSION"), build())
}

/// The provenance of a record written now by this coxa.
pub fn provenance() -> Provenance {
    Provenance::now(env!("CARGO_PKG_VERSION"), GIT_REVISION)
}

/// The record `record` of kind `name` (one of [`crate::records::RECORDS`]) as written: pretty JSON with its envelope.
///
/// # Errors
/// The record does not serialise (a map with non-string keys).
pub fn text<T: Serialize>(name: &str, record: &T) -> Result<String> {
    let file = schema_file(name);
    let p = provenance();
    Ok(serde_json::to_string_pretty(&Stamped { schema: &file, schema_version: SCHEMA_VERSION, provenance: &p, record })?)
}

/// Writes `record` of kind `name` as the new file `path` ([`crate::atomic::write_new`]).
///
/// # Errors
/// The file exists or cannot be written.
pub fn write<T: Serialize>(path: &Path, name: &str, record: &T) -> Result<()> {
    crate::atomic::write_new(path, text(name, record)?.as_bytes())
}

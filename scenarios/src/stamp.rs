//! The envelope of every record coxa writes (issue 44): the name of its JSON Schema, the schema
//! version and its provenance ([`coxa_core::provenance`]) beside the record's own fields. The
//! schemas themselves are listed in [`crate::records`].

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use coxa_core::provenance::{Provenance, SCHEMA_VERSION, Stamped};

/// The schema file of record `name`.
pub fn schema_file(name: &str) -> String {
    format!("{name}.schema.json")
}

/// The provenance of a record written now by this coxa.
pub fn provenance() -> Provenance {
    // The revision `coxa --version` names (scenarios/build.rs), read here rather than from
    // `crate::view` so that the record writers do not depend on the viewer's module.
    Provenance::now(env!("CARGO_PKG_VERSION"), env!("COXA_GIT_REVISION"))
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

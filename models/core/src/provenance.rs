//! Provenance of the records coxa writes (issue 44): which program wrote a record (its version
//! and git revision) and which learned models, runtimes and shape models it had used, each with
//! its version and SHA-256; and the envelope every record file carries: the name of its JSON
//! Schema (`"$schema"`, a file of the repository's `schemas/`) and the schema version.
//!
//! The models used are noted, process-wide, by whoever loads one ([`note_use`]); a record lists
//! those noted before it was written ([`Provenance::now`]), sorted, so a record is the same
//! from run to run. In one `coxa run` whose cases use different models (a learned model for one
//! case and not for another), a case's records may also name a model another case had loaded
//! before them: the list says what the process had loaded, not what this case needed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the records' schemas: raised when a record changes in a way an older reader
/// would misread (a field renamed, removed or of another type); new optional fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// One model, runtime or shape model a record's numbers came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ModelUse {
    /// `onnx_model`, `onnx_runtime` or `shape_model`.
    pub kind: String,
    /// Its name (a model card's name, the runtime library's file name, a shape model's name).
    pub name: String,
    /// Its version, when it states one.
    pub version: Option<String>,
    /// SHA-256 of its file (lower-case hex; for a model of several weights files, of each,
    /// joined by `+`), or null when it was not read from a file (built into coxa).
    pub sha256: Option<String>,
}

/// Who wrote a record and from what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    /// coxa's version (the package version).
    pub coxa_version: String,
    /// The git revision coxa was built from (12 hex digits), `unknown` outside a checkout.
    pub git_revision: String,
    /// Every model, runtime and shape model used, sorted; empty when none was.
    pub models: Vec<ModelUse>,
}

static USED: Mutex<BTreeSet<ModelUse>> = Mutex::new(BTreeSet::new());

/// Notes that this process used `model` (once; noting it again changes nothing).
pub fn note_use(model: ModelUse) {
    USED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(model);
}

/// Every model noted so far, sorted.
pub fn used() -> Vec<ModelUse> {
    USED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().cloned().collect()
}

impl Provenance {
    /// The provenance of a record written now by coxa `coxa_version` built from `git_revision`.
    pub fn now(coxa_version: &str, git_revision: &str) -> Self {
        Self { coxa_version: coxa_version.to_string(), git_revision: git_revision.to_string(), models: used() }
    }
}

/// A record as written: the envelope (`$schema`, `schema_version`, `provenance`) beside the
/// record's own fields (flattened: the record's readers read the file as before).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Stamped<'a, T> {
    /// The record's JSON Schema: a file name in coxa's `schemas/` folder.
    #[serde(rename = "$schema")]
    pub schema: &'a str,
    /// [`SCHEMA_VERSION`] when the record was written.
    pub schema_version: u32,
    /// Who wrote the record and from what.
    pub provenance: &'a Provenance,
    /// The record.
    #[serde(flatten)]
    pub record: &'a T,
}

/// The envelope's keys ([`Stamped`]): `$schema`, `schema_version` and `provenance`.
pub const ENVELOPE_KEYS: [&str; 3] = ["$schema", "schema_version", "provenance"];

/// A record file's own fields: `v` without the envelope's keys, for a reader that refuses
/// unknown fields (`#[serde(deny_unknown_fields)]`). A record written before the envelope comes
/// back unchanged.
pub fn unstamped(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        for k in ENVELOPE_KEYS {
            o.remove(k);
        }
    }
    v
}

/// Reads the record file text `text` as a `T`, envelope left aside ([`unstamped`]).
///
/// # Errors
/// The text is not JSON, or not a `T` (serde's message).
pub fn from_stamped_str<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_value(unstamped(serde_json::from_str(text)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_record_keeps_its_fields_beside_the_envelope() {
        #[derive(Serialize)]
        struct R {
            a: u32,
        }
        let p = Provenance { coxa_version: "0.1.0".into(), git_revision: "abc".into(), models: vec![] };
        let v = serde_json::to_value(Stamped { schema: "r.schema.json", schema_version: SCHEMA_VERSION, provenance: &p, record: &R { a: 3 } }).unwrap();
        assert_eq!(v["$schema"], "r.schema.json");
        assert_eq!(unstamped(v.clone()), serde_json::json!({"a": 3}), "the envelope's keys alone are removed");
        assert_eq!(v["a"], 3);
        assert_eq!(v["provenance"]["git_revision"], "abc");
    }
}

//! Errors of the implant catalog and of implant constructs.

use std::path::PathBuf;

/// Why an implant file, part or construct is not usable.
///
/// Every variant names the file (or the part) and the field, and says what would fix it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ImplantError {
    /// A catalog or frame file could not be read.
    #[error("cannot read implant file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid TOML for its schema (unknown field, wrong type, missing field).
    #[error("implant file {origin}: {source}")]
    Parse {
        /// The file (or the label of an in-memory text).
        origin: String,
        /// The TOML parser's error (its message names the line and column).
        #[source]
        source: Box<toml::de::Error>,
    },
    /// The file's schema version is not one this build reads.
    #[error("implant file {origin}: schema_version {found} is not supported (this build reads {supported}); update coxa or convert the file")]
    SchemaVersion {
        /// The file.
        origin: String,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A field has a value outside its valid range, or fields contradict each other.
    #[error("implant file {origin}: {field}: {why}")]
    Invalid {
        /// The file.
        origin: String,
        /// The field, as a path (`liners[1].rim_height_mm`).
        field: String,
        /// What is wrong and what is allowed.
        why: String,
    },
    /// A requested part is not in the catalog.
    #[error("no {kind} {wanted} in the catalog; available: {available}")]
    NotInCatalog {
        /// Which kind of part (shell, liner, head, stem).
        kind: &'static str,
        /// What was asked for.
        wanted: String,
        /// What the catalog offers.
        available: String,
    },
    /// The parts of a construct do not fit together.
    #[error("the implants do not fit: {why}")]
    DoesNotFit {
        /// Which dimensions clash, with numbers.
        why: String,
    },
    /// A part dimension given directly (not from a file) is invalid.
    #[error("{part}: {field} = {value} is invalid: {why}")]
    InvalidPart {
        /// The part.
        part: &'static str,
        /// The field.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What is allowed.
        why: &'static str,
    },
}

/// Result with [`ImplantError`].
pub type Result<T, E = ImplantError> = std::result::Result<T, E>;

//! The error of `coxa-shape`.

use std::path::PathBuf;

/// Anything that can go wrong building, reading, writing or fitting a shape model.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// A model file cannot be read or written.
    #[error("{path}: {action} failed ({source}); check the path and its permissions")]
    Io {
        /// The file.
        path: PathBuf,
        /// `"reading"` or `"writing"`.
        action: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing would replace an existing file.
    #[error("{path} already exists; coxa never overwrites files: choose a new path or remove it")]
    WouldOverwrite {
        /// The existing file.
        path: PathBuf,
    },
    /// A model file is not a valid coxa shape model.
    #[error("{path}: not a valid coxa shape model file: {why}; re-export it with coxa-shape")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A model file whose arrays do not make a model (the model's own error kept as the source).
    #[error("{path}: not a valid coxa shape model file: {source}; re-export it with coxa-shape")]
    BadModel {
        /// The file.
        path: PathBuf,
        /// Why the arrays do not make a model.
        #[source]
        source: Box<ShapeError>,
    },
    /// A model file of another format version.
    #[error("{path}: shape model format version {found}, this coxa reads version {supported}; rebuild or convert the model")]
    Version {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The header of a model file is not the expected JSON.
    #[error("{path}: the JSON header does not parse ({source}); the file is corrupt or not a coxa shape model")]
    Header {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The model parts do not agree (sizes, indices, non-finite values).
    #[error("invalid shape model: {why}")]
    InvalidModel {
        /// What is inconsistent.
        why: String,
    },
    /// The model's header cannot be serialised (serde_json's error kept as the source).
    #[error("invalid shape model: the header does not serialise: {source}")]
    HeaderWrite {
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// A compressed member of a model file cannot be inflated (the I/O error kept as the source).
    #[error("{path}: not a valid coxa shape model file: {member}: deflate stream broken ({source}); re-export it with coxa-shape")]
    Deflate {
        /// The file.
        path: PathBuf,
        /// The zip member.
        member: String,
        /// flate2's error.
        #[source]
        source: std::io::Error,
    },
    /// A mesh made from the model is not valid (coxa-core's error kept as the source).
    #[error("invalid input: {what}: {source}")]
    Mesh {
        /// Which mesh.
        what: &'static str,
        /// Why it was refused.
        #[source]
        source: coxa_core::Error,
    },
    /// The shapes, points or options given are not usable.
    #[error("invalid input: {why}")]
    Input {
        /// What is wrong and what to do.
        why: String,
    },
}

/// Result with this crate's [`ShapeError`].
pub type Result<T, E = ShapeError> = std::result::Result<T, E>;

pub(crate) fn input(why: impl Into<String>) -> ShapeError {
    ShapeError::Input { why: why.into() }
}

//! NRRD errors: each names the file, the cause, and what to do.
//!
//! A leaf: [`crate::Error`] wraps it, and nothing here uses the rest of the crate (no file circle).

use std::path::PathBuf;

/// What is wrong with an NRRD file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NrrdError {
    /// Not an NRRD header.
    #[error("{path}: not an NRRD file (it does not start with NRRD000)")]
    NotNrrd {
        /// The file.
        path: PathBuf,
    },
    /// A header field is missing, malformed or asks for something not supported.
    #[error("{path}: NRRD header field `{field}`: {what}")]
    Header {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong.
        what: String,
    },
    /// The header's sizes do not shape the data (ndarray's error kept as the source).
    #[error("{path}: NRRD header field `sizes`: {source}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// ndarray's error.
        #[source]
        source: ndarray::ShapeError,
    },
    /// The data are shorter than the header announces.
    #[error("{path}: the data hold {have} bytes but the header announces {need}; the file is truncated")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes available (after decompression).
        have: u64,
        /// Bytes announced.
        need: u64,
    },
    /// A label map voxel is not an integer in 0..=65535.
    #[error("{path}: voxel {index:?} holds {value}, not a label (an integer in 0..=65535)")]
    NotALabel {
        /// The file.
        path: PathBuf,
        /// Voxel `[i, j, k]`.
        index: [usize; 3],
        /// The value.
        value: f64,
    },
}

//! Mesh file errors: each names the file and what is wrong.
//!
//! A leaf: [`crate::Error`] wraps it, and nothing here uses the rest of the crate (no file circle).

use std::path::PathBuf;

/// A mesh file problem. Every variant names the file and what is wrong.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MeshFileError {
    /// The extension is none of the mesh formats coxa knows.
    #[error("{path}: unknown mesh file type; coxa reads .stl, .ply, .obj, legacy .vtk, .vtp and STEP (.step, .stp) files and writes .stl, .ply, .obj, .vtp and .glb")]
    BadExtension {
        /// The file.
        path: PathBuf,
    },
    /// The file is shorter than its header says (or longer, for binary STL).
    #[error("{path}: {format} file is truncated or corrupt: {why}; re-export or re-download it")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// `"binary STL"`, `"PLY"`, ...
        format: &'static str,
        /// What was expected and what was found.
        why: String,
    },
    /// The contents do not parse.
    #[error("{path}: not a valid {format} file: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// `"ASCII STL"`, `"PLY"`, ...
        format: &'static str,
        /// What is wrong, with the line or element where it was found.
        why: String,
    },
    /// A valid file that coxa does not read (e.g. a PLY without `x`, `y`, `z`).
    #[error("{path}: {why}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is missing and what to do.
        why: String,
    },
    /// The triangles name vertices that do not exist, or a coordinate is not finite.
    #[error("{path}: the file parses but is not a valid mesh: {source}")]
    InvalidMesh {
        /// The file.
        path: PathBuf,
        /// What [`Mesh::new`](coxa_core::Mesh::new) found.
        #[source]
        source: coxa_core::Error,
    },
    /// The mesh cannot be stored in this format (nothing was written).
    #[error("{path}: cannot store this mesh: {why}")]
    NotRepresentable {
        /// The file that was to be written.
        path: PathBuf,
        /// Why, and what to do.
        why: String,
    },
}

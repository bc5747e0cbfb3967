//! Automatic landmarks and frames from bone surfaces (LPS mm), each with a quality flag.
//!
//! They work on any surface: meshes from coxa's own segmentation of a CT, or STL files. The
//! pelvic frame is `coxa_core::PelvicFrame`; native acetabular angles are given in all three of
//! Murray's definitions.

pub mod canal;
mod femur;
pub mod fit;
mod orthoload;
mod patient;
mod pelvis;
#[cfg(test)]
mod tests;

use nalgebra::{Point3, Vector3};

pub use canal::femoral_canal;
pub use coxa_core::canal::{CanalLevel, DorrType, FemoralCanal};
pub use coxa_core::landmarks::{AcetabulumLandmarks, AxisLandmark, FemurLandmarks, HipAnatomy, Landmark, PatientLandmarks, PelvisLandmarks, Quality, Source};
pub use femur::femur_landmarks;
pub use orthoload::{OrthoLoadFemur, orthoload_femur};
pub use patient::{Bones, assume_neutral_short_femur, find, hip_anatomy};
pub use pelvis::{acetabulum_landmarks, pelvis_landmarks};

/// Why a landmark set cannot be computed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LandmarkError {
    /// The surface is too small to hold the structure.
    #[error("{structure}: the surface has {n} vertices, too few for landmarks (need >= {min}); is it the right bone?")]
    TooFewVertices {
        /// Which structure.
        structure: String,
        /// Vertices found.
        n: usize,
        /// Vertices needed.
        min: usize,
    },
    /// A required landmark could not be found.
    #[error("{structure}: cannot find the {what}: {why}")]
    NotFound {
        /// Which structure.
        structure: String,
        /// Which landmark.
        what: &'static str,
        /// Why.
        why: String,
    },
}

/// Per-vertex positions and unit normals of a mesh, the input of every detector here.
pub(crate) struct Surface {
    pub p: Vec<Point3<f64>>,
    pub n: Vec<Vector3<f64>>,
}

impl Surface {
    pub fn new(mesh: &coxa_core::Mesh) -> Self {
        Self { p: mesh.vertices().to_vec(), n: mesh.vertex_normals() }
    }
}

/// Component of `v` perpendicular to the unit vector `u`, normalised (or `None` if parallel).
pub(crate) fn perpendicular(v: &Vector3<f64>, u: &Vector3<f64>) -> Option<Vector3<f64>> {
    (v - u * v.dot(u)).try_normalize(1e-9)
}

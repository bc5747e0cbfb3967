//! Automatic landmarks and frames from bone surfaces (LPS mm), each with a quality flag.
//!
//! They work on any surface: meshes from coxa's own segmentation of a CT, or STL files. The
//! pelvic frame is `coxa_core::PelvicFrame`; native acetabular angles are given in all three of
//! Murray's definitions.

pub mod canal;
pub mod dysplasia;
mod femur;
pub mod fit;
mod orthoload;
mod patient;
mod pelvis;
pub mod teardrop;
#[cfg(test)]
mod tests;
pub mod uncertainty;

use nalgebra::{Point3, Vector3};

pub use canal::femoral_canal;
pub use coxa_core::canal::{CanalLevel, DorrType, FemoralCanal};
pub use coxa_core::landmarks::{AcetabulumLandmarks, AxisLandmark, FemurLandmarks, HipAnatomy, Landmark, OrthoLoadFemur, PatientLandmarks, PelvisLandmarks, Quality, Source};
pub use dysplasia::{HipSurfaces, dysplasia};
pub use femur::{MAX_FEMUR_MM, femur_landmarks};
pub use orthoload::orthoload_femur;
pub use patient::{Bones, assume_neutral_short_femur, find, hip_anatomy};
pub use pelvis::{acetabulum_landmarks, pelvis_landmarks};
pub use teardrop::teardrop_pelvic_mm;
pub use uncertainty::{FitUncertainty, head_fit_uncertainty, socket_fit_uncertainty};

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
    /// The surface is larger than the landmark searches' budget (issue 16: every search has a
    /// bounded cost and says so when it gives up).
    #[error("{structure}: {what}; the landmark search gives up here: {fix}")]
    OverBudget {
        /// Which structure.
        structure: String,
        /// What is too large, with the budget.
        what: String,
        /// How to fix the input.
        fix: &'static str,
    },
    /// A frame cannot be built from the landmarks found (coxa-core's error kept as the source).
    #[error("{structure}: cannot find the {what}: {source}")]
    Frame {
        /// Which structure.
        structure: String,
        /// Which landmark or frame.
        what: &'static str,
        /// Why the frame was refused (boxed: coxa-core's error is large).
        #[source]
        source: Box<coxa_core::Error>,
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

/// Most vertices a surface may have for the landmark searches (issue 16: bounded cost). Their
/// cost is linear in the vertices (the socket's Hough vote keeps 17 votes per vertex, about
/// 0.6 GB at this budget); coxa's own surfaces of a 1 mm CT have about 10^5 per bone.
pub const MAX_VERTICES: usize = 4_000_000;

/// Refuses a surface over [`MAX_VERTICES`].
pub(crate) fn check_budget(structure: &str, mesh: &coxa_core::Mesh) -> Result<(), LandmarkError> {
    let n = mesh.vertices().len();
    if n > MAX_VERTICES {
        return Err(LandmarkError::OverBudget {
            structure: structure.into(),
            what: format!("the surface has {n} vertices, more than the budget of {MAX_VERTICES}"),
            fix: "decimate it (0.5-1 mm edges are plenty) and try again",
        });
    }
    Ok(())
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

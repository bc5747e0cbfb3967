//! Automatic landmarks and frames from bone surfaces (LPS mm), each with a quality flag.
//!
//! They work on any surface: meshes from coxa's own segmentation of a CT, or STL files. The
//! pelvic frame is `coxa_core::PelvicFrame`; native acetabular angles are given in all three of
//! Murray's definitions.

pub mod canal;
pub mod fit;
mod femur;
mod pelvis;
#[cfg(test)]
mod tests;

use nalgebra::{Point3, Vector3};
use serde::Serialize;

pub use canal::{CanalLevel, DorrType, FemoralCanal, femoral_canal};
pub use femur::{FemurLandmarks, femur_landmarks};
pub use pelvis::{AcetabulumLandmarks, PelvisLandmarks, acetabulum_landmarks, pelvis_landmarks};

/// How far a landmark can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// Found with a fit or criterion inside its expected range.
    Good,
    /// Found, but a check failed (see the note): look at it before using it.
    Uncertain,
}

/// A point landmark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Landmark {
    /// Position, LPS mm.
    pub lps_mm: Point3<f64>,
    /// Trust.
    pub quality: Quality,
    /// Why it is uncertain, or how it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Landmark {
    pub(crate) fn good(lps_mm: Point3<f64>) -> Self {
        Self { lps_mm, quality: Quality::Good, note: None }
    }
    pub(crate) fn checked(lps_mm: Point3<f64>, problem: Option<String>) -> Self {
        let quality = if problem.is_some() { Quality::Uncertain } else { Quality::Good };
        Self { lps_mm, quality, note: problem }
    }
}

/// An axis: a point on it and a unit direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisLandmark {
    /// A point on the axis, LPS mm.
    pub point_lps_mm: Point3<f64>,
    /// Unit direction, LPS (its sense is stated where the axis is defined).
    pub direction_lps: Vector3<f64>,
    /// Trust.
    pub quality: Quality,
    /// Why it is uncertain, or how it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

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

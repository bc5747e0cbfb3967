//! Musculoskeletal simulation on OpenSim models: kinematics, muscle paths with wrapping, moment
//! arms, static optimisation and the hip contact force.
//!
//! # Units
//! Everything in this module is SI (m, kg, N, s) and radians, as in OpenSim and the .osim files
//! (`coxa-osim`), so muscle and inertia parameters keep their literature values. Patient data
//! in coxa's millimetres is converted where it enters, by [`mm_to_m`] and
//! [`length_mm_to_m`] (the OrthoLoad frame uses only landmark directions, which are
//! unit-free; the hip-centre distance and femur length are converted in
//! [`personalise::landmark_scale_factors`]); plan changes are given
//! to [`personalise::ImplantChange`] in metres (the `coxa hcf` command converts its `_mm`
//! options). Everything returned to people is in newtons, % body weight, mm or degrees with the
//! unit in the name.
//!
//! - [`kinematics`]: body poses from coordinates (`CustomJoint` spatial transforms, couplers).
//! - [`path`]: muscle-tendon length, path geometry and moment arms (`-dL/dq`, as OpenSim's
//!   `MomentArmSolver`), with cylinder and sphere ([`wrap`]), ellipsoid ([`wrap_ellipsoid`]) and
//!   torus ([`wrap_torus`]) wrapping.
//! - [`muscle`]: Hill-type force-length-velocity curves (Thelen 2003, Millard 2012).
//! - [`bone_geometry`]: the generic bones registered onto the patient's (CT surfaces), muscle
//!   attachments, wrap objects and joint centres carried with them.
//! - [`personalise`]: scaling to landmarks, implant changes of the hip centre, abductor report.
//! - [`posture`]: a rapier3d multibody check that a solution's forces hold its posture.
//! - [`strength`]: maximum isometric forces from the patient's CT muscle volumes.
//! - [`rising`]: the hip contact force along rising from a chair, and the activity as an
//!   OpenSim motion.
//! - [`motion`]: inverse dynamics over a measured motion with ground reactions (OpenSim `.mot`
//!   files), and the hip contact force per frame.
//! - [`static_opt`]: static optimisation (minimum summed squared activation).
//! - [`hcf`]: the hip contact force of a posture, in the OrthoLoad femoral frame.
//! - [`landmarks`]: the femoral landmarks of the OrthoLoad frame; [`fcsv`]: the files they come in.

pub mod bone_geometry;
pub mod fcsv;
pub mod hcf;
pub mod kinematics;
pub mod landmarks;
pub mod motion;
pub mod muscle;
pub mod path;
pub mod personalise;
pub mod posture;
pub mod rising;
pub mod static_opt;
pub mod strength;
pub mod wrap;
pub mod wrap_ellipsoid;
pub mod wrap_torus;

pub use coxa_osim as osim;
pub use kinematics::{Kinematics, apply_couplers, clamp_coordinates};
pub use landmarks::FemurLandmarks;
pub use path::{PathGeometry, PathNode, moment_arms, muscle_path};

/// Why a musculoskeletal computation cannot be done.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MskError {
    /// The model cannot be simulated as it is.
    #[error("the model cannot be simulated: {what}")]
    Model {
        /// What is wrong and how to fix it.
        what: String,
    },
    /// A name given by the caller is not in the model.
    #[error("'{name}' is not a {kind} of the model; check the spelling (names are case-sensitive)")]
    UnknownName {
        /// What kind of thing (body, coordinate, muscle).
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A muscle wraps over a shape coxa does not wrap yet.
    #[error(
        "muscle {muscle} wraps over {wrap_object}, a shape coxa cannot wrap (coxa wraps WrapCylinder, WrapSphere, WrapEllipsoid and WrapTorus); set the wrap object inactive or replace it with one of these"
    )]
    UnsupportedWrap {
        /// The muscle.
        muscle: String,
        /// The wrap object.
        wrap_object: String,
    },
    /// A number given is NaN, infinite or out of range.
    #[error("{what} = {value} is invalid: {why}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// Its value.
        value: f64,
        /// What is allowed.
        why: String,
    },
    /// The muscles cannot produce the joint moments the posture needs.
    #[error("static optimisation failed: {why}")]
    Infeasible {
        /// Which moments could not be balanced, and by how much.
        why: String,
    },
    /// Landmarks are missing or degenerate.
    #[error("landmarks: {why}")]
    Landmarks {
        /// What is missing and how to fix it.
        why: String,
    },
}

/// Result with [`MskError`].
pub type Result<T, E = MskError> = std::result::Result<T, E>;

/// Whether the muscle's path has a point on `pelvis` and one on a body of the leg whose hip is
/// `side` (`"r"` or `"l"`: femur, tibia or patella of that side).
pub fn crosses_hip(model: &coxa_osim::Model, muscle: &coxa_osim::Muscle, side: &str) -> bool {
    let name = |b: usize| model.bodies[b].name.as_str();
    let leg = [format!("femur_{side}"), format!("tibia_{side}"), format!("patella_{side}")];
    muscle.path_points.iter().any(|p| name(p.body) == "pelvis") && muscle.path_points.iter().any(|p| leg.iter().any(|l| l == name(p.body)))
}

/// A position or displacement in millimetres (landmark files) in metres (the solver).
pub fn mm_to_m(v: nalgebra::Vector3<f64>) -> nalgebra::Vector3<f64> {
    v / 1000.0
}

/// A length in millimetres in metres.
pub fn length_mm_to_m(v: f64) -> f64 {
    v / 1000.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::MskError>();
    }
}

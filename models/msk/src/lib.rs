//! Musculoskeletal simulation on OpenSim models: kinematics, muscle paths with wrapping, moment
//! arms, static optimisation and the hip contact force.
//!
//! The OpenSim models themselves (reading, writing, the built-in gait2392) are `coxa-osim`'s;
//! the generic bones are registered onto the patient's with `coxa-shape`. This crate knows
//! nothing of implants, range of motion or contact (`coxa-sim`): a plan reaches it as a change
//! of the hip centre, offset and leg length ([`personalise::ImplantChange`]).
//!
//! # Units
//! Everything in this crate is SI (m, kg, N, s) and radians, as in OpenSim and the .osim files
//! (`coxa-osim`), so muscle and inertia parameters keep their literature values. Patient data
//! in coxa's millimetres is converted where it enters, by `coxa_core::mm_to_m` (and back by
//! `coxa_core::m_to_mm`; the OrthoLoad frame uses only landmark directions, which are
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
//! - [`landmarks`]: the femoral landmarks of the OrthoLoad frame (`coxa_core::OrthoLoadFemur`,
//!   read from 3D Slicer markups by `coxa_io::markups`) mirrored to the model's right leg.

pub mod bone_geometry;
mod error;
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
pub use error::{MskError, Result};
pub use kinematics::{Kinematics, apply_couplers, clamp_coordinates};
pub use landmarks::RightFemur;
pub use path::{PathGeometry, PathNode, moment_arms, muscle_path};

/// The types most users of this crate need.
pub mod prelude {
    pub use crate::hcf::{Activity, HcfOptions, HcfResult, hip_contact_force, hip_contact_force_with};
    pub use crate::personalise::{ImplantChange, abductor_report, apply_implant_change, scale_bodies};
    pub use crate::{Kinematics, MskError, RightFemur, moment_arms, muscle_path, osim};
}

/// Whether the muscle's path has a point on `pelvis` and one on a body of the leg whose hip is
/// `side` (`"r"` or `"l"`: femur, tibia or patella of that side).
pub fn crosses_hip(model: &coxa_osim::Model, muscle: &coxa_osim::Muscle, side: &str) -> bool {
    let name = |b: usize| model.bodies[b].name.as_str();
    let leg = [format!("femur_{side}"), format!("tibia_{side}"), format!("patella_{side}")];
    muscle.path_points.iter().any(|p| name(p.body) == "pelvis") && muscle.path_points.iter().any(|p| leg.iter().any(|l| l == name(p.body)))
}

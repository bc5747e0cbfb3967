//! Range of motion, impingement (parry3d) and dislocation dynamics (rapier3d) of an implanted hip.
//! The musculoskeletal model is `coxa-msk`.
//!
//! This crate is the single place where coxa's mm/f64 geometry becomes the solvers' f32
//! ([`convert`]); collision geometry stays in millimetres.
//!
//! - [`joint`]: the hip joint angle convention (defined once).
//! - [`model`]: the hip model: bones (optional) and placed implants; a pose query returns the
//!   first contact (implant-implant, implant-bone or bone-bone) and where.
//! - [`rom`]: standard motions and daily-life paths swept to first contact under the pelvic
//!   tilt of each posture, limits to 0.1 deg.
//! - [`bones`]: the bone collision geometry (pelvis distance field, femur point clusters).
//! - [`user_parts`]: an implant engineer's own cup and stem (STL + frame file) in the model.
//! - [`fast_contact`]: their neck-liner contact at the catalog's speed: per-pair precomputation
//!   (the neck's angular profile, support hulls of the liner's band), parry3d where it cannot
//!   decide and for the final contact point.
//!
//! - [`dislocation`]: dislocation dynamics with rapier3d: the femur (head and neck, no bones yet)
//!   as a dynamic body loaded into the cup and driven past impingement; lift-out, resisting
//!   moment, jump distance. The drive prescribes the rotation, so the head levers out over the
//!   rim it impinges on (clinically it leaves over the opposite rim): see the module docs.

pub mod bones;
pub mod convert;
pub mod dislocation;
mod error;
pub mod fast_contact;
mod hull;
pub mod joint;
pub mod model;
pub mod rom;
pub mod score;
pub mod user_parts;

pub use dislocation::{Dislocation, DislocationOptions, DislocationSample, LoadDirection};
pub use error::{Result, SimError};
pub use joint::JointAngles;
pub use model::{BoneGeometry, BoneOptions, Contact, ContactKind, FemurBone, HipModel, HipModelBuilder, PelvisBone};
pub use rom::{Motion, MotionLimit, PelvicTilts, Posture, RomReport, SweepOptions};
#[cfg(test)]
mod tests;

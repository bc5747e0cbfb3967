//! OpenSim models (.osim, OpenSim 4 format) for coxa: plain data types, a reader and a writer.
//!
//! [`read_osim`] reads what gait2392 and the Rajagopal models use: bodies, joints (`CustomJoint`
//! with its `SpatialTransform`, `PinJoint`, `WeldJoint`, `UniversalJoint`, `SliderJoint`,
//! `BallJoint`, `FreeJoint`), coordinates, coordinate couplers (the knee's coupled
//! coordinates), muscles (`Thelen2003Muscle`, `Millard2012EquilibriumMuscle`, and the common
//! parameters of any other muscle) with their path points (fixed, conditional, moving) and path
//! wraps, and wrap objects (sphere, cylinder, ellipsoid, torus). Functions (`SimmSpline`, ...)
//! evaluate exactly as OpenSim 4.6 evaluates them ([`Function`]).
//!
//! # Units
//! The model keeps the file's units: SI (m, kg, N, s) and radians, the units of OpenSim and of
//! coxa's musculoskeletal solver. Conversion to coxa's millimetres happens at the solver's edges
//! (`coxa-msk`), never here.
//!
//! [`embedded::gait2392`] is the built-in default model (OpenSim's gait2392, CC BY 3.0).
//!
//! [`Storage`] reads and writes OpenSim's `.mot` (motions) and `.sto` (results, e.g. muscle forces) tables.
//!
//! Bad input never panics: every problem is an [`OsimError`] naming the file and the element.

pub mod embedded;
mod error;
mod function;
mod model;
mod read;
mod storage;
mod write;

pub use error::{OsimError, Result};
pub use function::{Function, Spline};
pub use model::{
    Body, BodyIndex, CoordIndex, Coordinate, CoordinateCoupler, FixedFrame, Joint, JointKind, MillardParams, Model, MotionType, Muscle, MuscleModel, PathPoint, PathPointKind, PathWrap,
    SpatialTransform, ThelenParams, TransformAxis, WrapMethod, WrapObject, WrapShape, body_fixed_xyz, xyz_from_rotation,
};
pub use read::{BodyMesh, body_meshes, parse_osim, read_osim};
pub use storage::Storage;
pub use write::{MeshGeometry, set_body_meshes, update_osim, write_osim_update};

/// The types most users of this crate need.
pub mod prelude {
    pub use crate::{Model, Muscle, OsimError, read_osim};
}

#[cfg(test)]
mod tests;

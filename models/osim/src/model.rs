//! The plain data of an OpenSim model, with names resolved to indices.
//!
//! Units are the file's: SI (m, kg, N, s) and radians, as OpenSim writes them; every field
//! carries its unit in its name or doc comment. Nothing here converts to coxa's millimetres:
//! the musculoskeletal solver (`coxa-msk`) works in SI too.

use nalgebra::{Rotation3, Vector3};

use crate::function::Function;

/// Index of a body in [`Model::bodies`]; 0 is always the ground.
pub type BodyIndex = usize;
/// Index of a coordinate in [`Model::coordinates`].
pub type CoordIndex = usize;

/// An OpenSim model: bodies, joints with their coordinates, coordinate couplers, muscles and
/// wrap objects.
#[derive(Debug, Clone)]
pub struct Model {
    /// The model's name (`<Model name="...">`).
    pub name: String,
    /// The `Version` attribute of `<OpenSimDocument>` (40000 for OpenSim 4.0 files).
    pub document_version: u32,
    /// Gravity in the ground frame, m/s^2.
    pub gravity_m_s2: Vector3<f64>,
    /// Bodies; `bodies[0]` is the ground (mass 0).
    pub bodies: Vec<Body>,
    /// Joints, in file order (each joins a parent frame to a child frame).
    pub joints: Vec<Joint>,
    /// All coordinates of all joints, in joint order.
    pub coordinates: Vec<Coordinate>,
    /// Coordinate coupler constraints (e.g. the patella's knee angle driven by the knee angle).
    pub couplers: Vec<CoordinateCoupler>,
    /// Muscles of the force set, in file order (other forces are left out).
    pub muscles: Vec<Muscle>,
    /// Wrap objects of all bodies.
    pub wrap_objects: Vec<WrapObject>,
}

impl Model {
    /// The body called `name`.
    pub fn body_index(&self, name: &str) -> Option<BodyIndex> {
        self.bodies.iter().position(|b| b.name == name)
    }

    /// The coordinate called `name`.
    pub fn coordinate_index(&self, name: &str) -> Option<CoordIndex> {
        self.coordinates.iter().position(|c| c.name == name)
    }

    /// The muscle called `name`.
    pub fn muscle(&self, name: &str) -> Option<&Muscle> {
        self.muscles.iter().find(|m| m.name == name)
    }

    /// Default values of all coordinates (radians or metres), in [`Model::coordinates`] order.
    pub fn default_coordinates(&self) -> Vec<f64> {
        self.coordinates.iter().map(|c| c.default_value).collect()
    }

    /// Total mass of all bodies, kg.
    pub fn total_mass_kg(&self) -> f64 {
        self.bodies.iter().map(|b| b.mass_kg).sum()
    }
}

/// A rigid body.
#[derive(Debug, Clone)]
pub struct Body {
    /// Its name.
    pub name: String,
    /// Mass, kg.
    pub mass_kg: f64,
    /// Centre of mass in the body frame, m.
    pub mass_center_m: Vector3<f64>,
    /// Inertia about the centre of mass `[Ixx, Iyy, Izz, Ixy, Ixz, Iyz]`, kg m^2.
    pub inertia_kg_m2: [f64; 6],
}

/// A frame fixed to a body: the body and the frame's pose in it.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedFrame {
    /// Name of the frame (the body's name for a body frame).
    pub name: String,
    /// The body it is fixed to.
    pub body: BodyIndex,
    /// Origin in the body frame, m.
    pub translation_m: Vector3<f64>,
    /// The rotation from this frame to the body frame (from OpenSim's `orientation`, body-fixed
    /// X-Y-Z angles, composed along chains of offset frames).
    pub rotation: Rotation3<f64>,
}

impl FixedFrame {
    /// The body frame itself.
    pub fn body_frame(name: &str, body: BodyIndex) -> Self {
        Self { name: name.to_string(), body, translation_m: Vector3::zeros(), rotation: Rotation3::identity() }
    }

    /// The frame's orientation in its body as body-fixed X-Y-Z angles, rad.
    pub fn orientation_rad(&self) -> Vector3<f64> {
        xyz_from_rotation(&self.rotation)
    }
}

/// Body-fixed X-Y-Z angles of a rotation (inverse of [`body_fixed_xyz`]).
pub fn xyz_from_rotation(r: &Rotation3<f64>) -> Vector3<f64> {
    let m = r.matrix();
    // R = Rx(a) Ry(b) Rz(c): m02 = sin b, m12 = -sin a cos b, m22 = cos a cos b,
    // m01 = -cos b sin c, m00 = cos b cos c.
    let b = m[(0, 2)].clamp(-1.0, 1.0).asin();
    let a = (-m[(1, 2)]).atan2(m[(2, 2)]);
    let c = (-m[(0, 1)]).atan2(m[(0, 0)]);
    Vector3::new(a, b, c)
}

/// The rotation of body-fixed X-Y-Z angles: `Rx(a) * Ry(b) * Rz(c)`.
pub fn body_fixed_xyz(angles: Vector3<f64>) -> Rotation3<f64> {
    Rotation3::from_axis_angle(&Vector3::x_axis(), angles.x) * Rotation3::from_axis_angle(&Vector3::y_axis(), angles.y) * Rotation3::from_axis_angle(&Vector3::z_axis(), angles.z)
}

/// A joint between a parent frame and a child frame.
#[derive(Debug, Clone)]
pub struct Joint {
    /// Its name.
    pub name: String,
    /// The kind of joint, as written in the file.
    pub kind: JointKind,
    /// The parent frame (on the parent body).
    pub parent: FixedFrame,
    /// The child frame (on the child body).
    pub child: FixedFrame,
    /// Its coordinates, as indices into [`Model::coordinates`], in the joint's order.
    pub coordinates: Vec<CoordIndex>,
    /// How the child frame moves in the parent frame. For `CustomJoint` this is the file's
    /// `SpatialTransform`; other joint kinds are given their equivalent transform.
    pub transform: SpatialTransform,
}

/// The kinds of joint the reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    /// `CustomJoint`: a `SpatialTransform` of up to six functions of the coordinates.
    Custom,
    /// `PinJoint`: rotation about the common z axis.
    Pin,
    /// `WeldJoint`: no motion.
    Weld,
    /// `UniversalJoint`: rotation about x, then about the new y.
    Universal,
    /// `SliderJoint`: translation along the common x axis.
    Slider,
    /// `BallJoint`: body-fixed X-Y-Z rotations.
    Ball,
    /// `FreeJoint`: body-fixed X-Y-Z rotations and translations in the parent.
    Free,
}

impl JointKind {
    /// The element name in the file.
    pub fn tag(self) -> &'static str {
        match self {
            JointKind::Custom => "CustomJoint",
            JointKind::Pin => "PinJoint",
            JointKind::Weld => "WeldJoint",
            JointKind::Universal => "UniversalJoint",
            JointKind::Slider => "SliderJoint",
            JointKind::Ball => "BallJoint",
            JointKind::Free => "FreeJoint",
        }
    }
}

/// OpenSim's `SpatialTransform`: three rotations, applied body-fixed in order about their axes,
/// then three translations along their axes in the parent frame.
#[derive(Debug, Clone)]
pub struct SpatialTransform {
    /// `rotation1..3`.
    pub rotations: [TransformAxis; 3],
    /// `translation1..3`.
    pub translations: [TransformAxis; 3],
}

/// One axis of a [`SpatialTransform`].
#[derive(Debug, Clone)]
pub struct TransformAxis {
    /// The coordinates the function takes (empty: a constant; one: the usual case).
    pub coordinates: Vec<CoordIndex>,
    /// The unit axis (normalised by the reader).
    pub axis: Vector3<f64>,
    /// The function of the coordinate giving the angle (rad) or displacement (m).
    pub function: Function,
}

impl TransformAxis {
    /// The axis's value for the coordinate values `q` (NaN if `q` lacks the coordinate).
    pub fn value(&self, q: &[f64]) -> f64 {
        match self.coordinates.first() {
            Some(&c) => self.function.value(q.get(c).copied().unwrap_or(f64::NAN)),
            None => self.function.value(0.0),
        }
    }
}

/// How a coordinate moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotionType {
    /// An angle, rad.
    Rotational,
    /// A distance, m.
    Translational,
    /// Drives both rotations and translations, or through non-identity functions.
    Coupled,
}

/// A generalised coordinate.
#[derive(Debug, Clone)]
pub struct Coordinate {
    /// Its name.
    pub name: String,
    /// The joint it belongs to (index into [`Model::joints`]).
    pub joint: usize,
    /// Default value (rad or m).
    pub default_value: f64,
    /// Range `[min, max]` (rad or m).
    pub range: [f64; 2],
    /// Whether the value is clamped to the range.
    pub clamped: bool,
    /// Whether it is locked at its default value.
    pub locked: bool,
    /// Rotational, translational or coupled (how the joint uses it).
    pub motion_type: MotionType,
}

/// `CoordinateCouplerConstraint`: `dependent = function(independent)`.
#[derive(Debug, Clone)]
pub struct CoordinateCoupler {
    /// Its name.
    pub name: String,
    /// The independent coordinate.
    pub independent: CoordIndex,
    /// The dependent coordinate.
    pub dependent: CoordIndex,
    /// The function (already multiplied by `scale_factor`).
    pub function: Function,
    /// Whether the constraint is enforced.
    pub enforced: bool,
}

/// The muscle model of a muscle.
#[derive(Debug, Clone, PartialEq)]
pub enum MuscleModel {
    /// `Thelen2003Muscle`.
    Thelen2003(ThelenParams),
    /// `Millard2012EquilibriumMuscle`.
    Millard2012(MillardParams),
    /// Another muscle class (only its common parameters are read).
    Other(String),
}

/// Parameters of the Thelen 2003 curves (defaults: OpenSim's).
#[derive(Debug, Clone, PartialEq)]
pub struct ThelenParams {
    /// Tendon strain at maximum isometric force (default 0.04).
    pub fmax_tendon_strain: f64,
    /// Passive fibre strain at maximum isometric force (default 0.6).
    pub fmax_muscle_strain: f64,
    /// Shape of the active force-length Gaussian (default 0.45).
    pub kshape_active: f64,
    /// Exponential shape of the passive force-length curve (default 4).
    pub kshape_passive: f64,
    /// Force-velocity shape factor (default 0.25).
    pub af: f64,
    /// Maximum normalised lengthening force (default 1.4).
    pub flen: f64,
}

impl Default for ThelenParams {
    fn default() -> Self {
        Self { fmax_tendon_strain: 0.04, fmax_muscle_strain: 0.6, kshape_active: 0.45, kshape_passive: 4.0, af: 0.25, flen: 1.4 }
    }
}

/// Parameters of the Millard 2012 curves that coxa uses (defaults: OpenSim's).
#[derive(Debug, Clone, PartialEq)]
pub struct MillardParams {
    /// `ActiveForceLengthCurve/min_norm_active_fiber_length` (default 0.47 - 0.0259).
    pub min_norm_active_fiber_length: f64,
    /// `ActiveForceLengthCurve/transition_norm_fiber_length` (default 0.73).
    pub transition_norm_fiber_length: f64,
    /// `ActiveForceLengthCurve/max_norm_active_fiber_length` (default 1.8123).
    pub max_norm_active_fiber_length: f64,
    /// `ActiveForceLengthCurve/shallow_ascending_slope` (default 0.8616).
    pub shallow_ascending_slope: f64,
    /// `ActiveForceLengthCurve/minimum_value` (default 0.1).
    pub minimum_value: f64,
    /// `FiberForceLengthCurve/strain_at_zero_force` (default 0).
    pub fiber_strain_at_zero_force: f64,
    /// `FiberForceLengthCurve/strain_at_one_norm_force` (default 0.7).
    pub fiber_strain_at_one_norm_force: f64,
    /// `TendonForceLengthCurve/strain_at_one_norm_force` (default 0.049).
    pub tendon_strain_at_one_norm_force: f64,
    /// `ForceVelocityCurve/max_eccentric_velocity_force_multiplier` (default 1.4).
    pub max_eccentric_velocity_force_multiplier: f64,
    /// `ignore_tendon_compliance` (default false).
    pub ignore_tendon_compliance: bool,
}

impl Default for MillardParams {
    fn default() -> Self {
        Self {
            min_norm_active_fiber_length: 0.47 - 0.0259,
            transition_norm_fiber_length: 0.73,
            max_norm_active_fiber_length: 1.8123,
            shallow_ascending_slope: 0.8616,
            minimum_value: 0.1,
            fiber_strain_at_zero_force: 0.0,
            fiber_strain_at_one_norm_force: 0.7,
            tendon_strain_at_one_norm_force: 0.049,
            max_eccentric_velocity_force_multiplier: 1.4,
            ignore_tendon_compliance: false,
        }
    }
}

/// A muscle: its Hill-type parameters and its path.
#[derive(Debug, Clone)]
pub struct Muscle {
    /// Its name.
    pub name: String,
    /// The muscle model and its curve parameters.
    pub model: MuscleModel,
    /// Maximum isometric force, N.
    pub max_isometric_force_n: f64,
    /// Optimal fibre length, m.
    pub optimal_fiber_length_m: f64,
    /// Tendon slack length, m.
    pub tendon_slack_length_m: f64,
    /// Pennation angle at optimal fibre length, rad.
    pub pennation_angle_at_optimal_rad: f64,
    /// Maximum contraction velocity, optimal fibre lengths per second.
    pub max_contraction_velocity: f64,
    /// Whether the muscle applies force (`appliesForce`, default true).
    pub applies_force: bool,
    /// Path points in order.
    pub path_points: Vec<PathPoint>,
    /// Wrap objects this path wraps over, in order.
    pub path_wraps: Vec<PathWrap>,
}

/// A point of a muscle path.
#[derive(Debug, Clone)]
pub struct PathPoint {
    /// Its name.
    pub name: String,
    /// The body it is on (locations are in this body's frame).
    pub body: BodyIndex,
    /// Location in the body frame, m (for a moving point: where its functions are missing).
    pub location_m: Vector3<f64>,
    /// Fixed, conditional or moving.
    pub kind: PathPointKind,
}

/// The kinds of path point.
#[derive(Debug, Clone)]
pub enum PathPointKind {
    /// `PathPoint`: fixed in the body.
    Fixed,
    /// `ConditionalPathPoint`: part of the path only while `coordinate` is within `range`
    /// (see [`PathPoint::is_active`]).
    Conditional {
        /// The coordinate.
        coordinate: CoordIndex,
        /// `[min, max]`, inclusive (rad or m).
        range: [f64; 2],
    },
    /// `MovingPathPoint`: each location component a function of a coordinate.
    Moving {
        /// x component: coordinate and function (None: `location_m.x`).
        x: Option<(CoordIndex, Box<Function>)>,
        /// y component.
        y: Option<(CoordIndex, Box<Function>)>,
        /// z component.
        z: Option<(CoordIndex, Box<Function>)>,
    },
}

impl PathPoint {
    /// Whether the point is part of the path for the coordinate values `q`. A conditional
    /// point is active within its range widened by 1e-5 (rad or m) at both ends, as OpenSim's
    /// `ConditionalPathPoint::isActive` has it.
    pub fn is_active(&self, q: &[f64]) -> bool {
        const TOLERANCE: f64 = 1e-5;
        match &self.kind {
            PathPointKind::Conditional { coordinate, range } => {
                let v = q.get(*coordinate).copied().unwrap_or(f64::NAN);
                v >= range[0] - TOLERANCE && v <= range[1] + TOLERANCE
            }
            _ => true,
        }
    }

    /// Location in the body frame for the coordinate values `q`, m (NaN components if `q` lacks
    /// a coordinate a moving point needs).
    pub fn location(&self, q: &[f64]) -> Vector3<f64> {
        match &self.kind {
            PathPointKind::Moving { x, y, z } => {
                let f = |c: &Option<(CoordIndex, Box<Function>)>, d: f64| c.as_ref().map_or(d, |(i, f)| f.value(q.get(*i).copied().unwrap_or(f64::NAN)));
                Vector3::new(f(x, self.location_m.x), f(y, self.location_m.y), f(z, self.location_m.z))
            }
            _ => self.location_m,
        }
    }
}

/// How a path wraps over one wrap object (`PathWrap`).
#[derive(Debug, Clone)]
pub struct PathWrap {
    /// The wrap object (index into [`Model::wrap_objects`]).
    pub wrap_object: usize,
    /// `hybrid`, `midpoint` or `axial` (ellipsoids only).
    pub method: WrapMethod,
    /// Path point range `[first, last]`, 1-based as in the file; `None`: the whole path.
    pub range: Option<[usize; 2]>,
}

/// Ellipsoid wrapping method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapMethod {
    /// `hybrid` (the default).
    Hybrid,
    /// `midpoint`.
    Midpoint,
    /// `axial`.
    Axial,
}

/// A wrap object fixed to a body.
#[derive(Debug, Clone)]
pub struct WrapObject {
    /// Its name.
    pub name: String,
    /// The body it is fixed to.
    pub body: BodyIndex,
    /// Centre in the body frame, m.
    pub translation_m: Vector3<f64>,
    /// Orientation in the body frame, body-fixed X-Y-Z, rad (`xyz_body_rotation`).
    pub xyz_body_rotation_rad: Vector3<f64>,
    /// Which side the path must pass on: `None` for `all`, else axis 0..2 and sign.
    pub quadrant: Option<(usize, f64)>,
    /// Whether it is active.
    pub active: bool,
    /// The shape.
    pub shape: WrapShape,
}

impl WrapObject {
    /// The rotation from the wrap object's frame to its body's frame.
    pub fn rotation(&self) -> Rotation3<f64> {
        body_fixed_xyz(self.xyz_body_rotation_rad)
    }
}

/// The shape of a wrap object.
#[derive(Debug, Clone, PartialEq)]
pub enum WrapShape {
    /// `WrapSphere`.
    Sphere {
        /// Radius, m.
        radius_m: f64,
    },
    /// `WrapCylinder`, axis along its z.
    Cylinder {
        /// Radius, m.
        radius_m: f64,
        /// Length, m.
        length_m: f64,
    },
    /// `WrapEllipsoid`.
    Ellipsoid {
        /// Semi-axes along x, y, z, m.
        dimensions_m: Vector3<f64>,
    },
    /// `WrapTorus`, axis along its z.
    Torus {
        /// Inner radius (of the tube's cross-section), m.
        inner_radius_m: f64,
        /// Outer radius (centre of the torus to the tube's centre), m.
        outer_radius_m: f64,
    },
}

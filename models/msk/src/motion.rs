//! The hip contact force along a measured motion (issue 20, part 5): inverse dynamics of the
//! whole model over an OpenSim inverse-kinematics motion with ground reaction forces, then, per
//! frame, static optimisation of the right leg's muscles and the force of the acetabulum on the
//! femoral head. What OpenSim users do with the InverseDynamicsTool, then the AnalyzeTool with
//! StaticOptimization and JointReaction, in one call.
//!
//! # Input
//! - The motion: an OpenSim `.mot`/`.sto` of coordinate values over time (columns named as the
//!   model's coordinates; `inDegrees=yes` converts every coordinate that is not translational,
//!   as OpenSim's `convertDegreesToRadians` does). A model coordinate the file lacks is an error
//!   ([`MskError::MissingCoordinates`], naming them; issue 45: a missing `hip_flexion_r` taken as
//!   0 gave 586 %BW instead of 381) unless it is locked or set by an enforced coupler: those stay
//!   at their default value (or follow the coupler) and are listed in
//!   [`MotionHcf::missing_coordinates`]. Columns that are not coordinates (markers, errors) are
//!   ignored. Enforced coordinate couplers are applied.
//! - The external loads: OpenSim's `ExternalLoads` layout, one [`ExternalLoad`] per force
//!   plate, each a force `<force_identifier>x|y|z` (N) applied at the point
//!   `<point_identifier>x|y|z` (m) with a free torque `<torque_identifier>x|y|z` (N m; zero if the
//!   columns are absent), all expressed in the ground, applied to a named body (OpenSim's
//!   `force_expressed_in_body` and `point_expressed_in_body` = ground, the usual lab layout:
//!   `ground_force_v*`, `ground_force_p*`, `ground_torque_*`, and `1_`-prefixed for the second
//!   plate). The loads are interpolated linearly to the motion's times.
//!
//! # Derivatives (and why the filter is hand-written)
//! Each coordinate is optionally low-pass filtered ([`MotionOptions::lowpass_hz`]: a
//! second-order Butterworth filter run forward and backward, i.e. fourth order with no lag,
//! Winter's standard for marker kinematics, the ends padded by reflection), then interpolated by
//! a natural cubic spline (coxa_osim's [`Spline::natural`], the one model files use;
//! continuous second derivative; outside the frames it continues as a straight line). OpenSim's InverseDynamicsTool fits
//! quintic GCV splines instead and filters with its own IIR filter, so on measured data the two
//! differ where the data are noisy and near the ends; on smooth data they agree (see the
//! comparison in `tests/tests/msk_motion.rs`). Every body's centre-of-mass acceleration and
//! angular velocity and acceleration (ground frame) are central differences in time of its pose
//! along the spline (step [`TIME_STEP_S`]), so no second derivatives of the joint functions are
//! needed; the filter and the differences are a few lines, no crate needed.
//!
//! # Inverse dynamics
//! The generalised force of coordinate `i` is, by virtual work over every body `b` (mass `m_b`,
//! centre of mass `c_b`, inertia `I_b` about it in the ground frame, angular velocity `w_b`):
//! `Q_i = sum_b [ m_b (a_b - g) . dc_b/dq_i + (I_b alpha_b + w_b x I_b w_b) . dtheta_b/dq_i ]`
//! `- sum_loads [ F . dp/dq_i + T . dtheta/dq_i ]`, the Jacobians by central differences of the
//! forward kinematics (step 1e-6 rad or m, couplers applied, so a coupled coordinate's force is
//! carried by its independent coordinate). `Q` is what the actuators must add for the motion:
//! OpenSim's `<coordinate>_moment` / `_force` of the InverseDynamicsTool, the pelvis' six being
//! its residuals.
//!
//! # The hip contact force per frame
//! The right leg (`femur_r` and everything distal of it) is the free body, loaded bottom-up:
//! its weight, its bodies' inertia and the external loads applied to it. Its equations give
//! the load the hip must transmit (`W = sum_leg m_b (a_b - g) - F_ext`, with its moment about
//! the hip centre), which [`super::hcf`]'s `balance` hands to the right leg's muscles together
//! with the generalised forces of the knee and ankle from the inverse dynamics (the same five
//! equations as the quasi-static activities: three hip moments, knee, ankle). Each muscle's
//! force per unit activation is its force-length-velocity capacity at the frame's muscle-tendon
//! length and lengthening speed ([`MotionOptions::muscle_velocity`]), its passive force is
//! added as a load (unless [`HcfOptions::passive_fibre_force`] is off, as in OpenSim's
//! StaticOptimization: a model scaled without rescaling its fibre and tendon slack lengths
//! stretches fibres into a passive force no activation can undo). The force of the acetabulum on the femoral head is the leg's equation
//! solved for the joint's reaction: bottom-up, as Simbody's mobiliser reaction (OpenSim's
//! JointReaction) is. A left stance is mirrored onto the model's right leg
//! ([`mirror_left_to_right`]): the model must be left-right symmetric, as gait2392 is.
//!
//! # Units
//! SI inside (m, kg, s, N, rad), as the rest of [`super`]; the force tables give N and % body
//! weight with the unit in each column's name.

use std::collections::HashMap;

use coxa_osim::{Model, MotionType, Spline, Storage};
use nalgebra::{Isometry3, Matrix3, Point3, UnitQuaternion, Vector3};

use super::hcf::{HcfOptions, HcfResult, Loads, balance, subtree};
use super::kinematics::{Kinematics, apply_couplers, perturbed};
use super::path::muscle_path;
use super::{MskError, Result};

mod over_motion;

pub use over_motion::*;

/// Time step of the central differences along the splined motion, s.
pub const TIME_STEP_S: f64 = 1e-4;
/// Coordinate step of the virtual-work Jacobians, rad or m.
const Q_STEP: f64 = 1e-6;
/// Time step of the muscle-tendon lengthening speeds, s (wrapping makes path lengths only
/// piecewise smooth, so a wider step than for the bodies).
const MUSCLE_TIME_STEP_S: f64 = 1e-3;
/// Vertical load on the right leg above which a frame counts as stance, N.
pub const STANCE_THRESHOLD_N: f64 = 20.0;

/// One force plate of OpenSim's `ExternalLoads`: which columns hold its force, point and
/// torque (each followed by `x`, `y`, `z`; expressed in the ground) and the body it loads.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalLoad {
    /// The body the load is applied to, e.g. `calcn_r`.
    pub body: String,
    /// Prefix of the force columns, e.g. `ground_force_v` (N).
    pub force_identifier: String,
    /// Prefix of the point columns, e.g. `ground_force_p` (m, ground).
    pub point_identifier: String,
    /// Prefix of the free-torque columns, e.g. `ground_torque_` (N m; zero if absent).
    pub torque_identifier: String,
}

impl ExternalLoad {
    /// The usual lab layout of plate `prefix` (`""` for the first, `"1_"` for the second):
    /// `{prefix}ground_force_v*`, `{prefix}ground_force_p*`, `{prefix}ground_torque_*` on `body`.
    pub fn plate(body: &str, prefix: &str) -> Self {
        Self { body: body.to_string(), force_identifier: format!("{prefix}ground_force_v"), point_identifier: format!("{prefix}ground_force_p"), torque_identifier: format!("{prefix}ground_torque_") }
    }
}

/// Options of [`inverse_dynamics`] and [`hip_contact_force_over_motion`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct MotionOptions {
    /// Low-pass cutoff of the coordinates, Hz (default `None`: no filtering; OpenSim's tools
    /// offer 6 Hz for measured gait).
    pub lowpass_hz: Option<f64>,
    /// Only frames within `[start, end]`, s (default `None`: every frame where both the motion
    /// and the loads have data).
    pub time_range_s: Option<(f64, f64)>,
    /// Scale each muscle's force per unit activation by the force-velocity curve at the
    /// frame's lengthening speed (default true, as OpenSim's StaticOptimization with
    /// `use_muscle_physiology`); false: isometric.
    pub muscle_velocity: bool,
    /// The static optimisation's options (posture search options do not apply: the posture
    /// is the measured one).
    pub hcf: HcfOptions,
}

impl Default for MotionOptions {
    fn default() -> Self {
        Self { lowpass_hz: None, time_range_s: None, muscle_velocity: true, hcf: HcfOptions::default() }
    }
}

impl MotionOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`MotionOptions::lowpass_hz`].
    pub fn with_lowpass_hz(mut self, hz: Option<f64>) -> Self {
        self.lowpass_hz = hz;
        self
    }

    /// Sets [`MotionOptions::time_range_s`].
    pub fn with_time_range_s(mut self, range: Option<(f64, f64)>) -> Self {
        self.time_range_s = range;
        self
    }

    /// Sets [`MotionOptions::muscle_velocity`].
    pub fn with_muscle_velocity(mut self, on: bool) -> Self {
        self.muscle_velocity = on;
        self
    }

    /// Sets [`MotionOptions::hcf`].
    pub fn with_hcf(mut self, hcf: HcfOptions) -> Self {
        self.hcf = hcf;
        self
    }
}

/// An external load at one frame, ground frame.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedLoad {
    /// The body it acts on.
    pub body: usize,
    /// Force, N.
    pub force_n: Vector3<f64>,
    /// Point of application, m.
    pub point_m: Vector3<f64>,
    /// Free torque, N m.
    pub torque_n_m: Vector3<f64>,
}

/// A body's motion at one frame, ground frame.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyMotion {
    /// Centre of mass, m.
    pub com_m: Vector3<f64>,
    /// Its acceleration, m/s^2.
    pub com_acc_m_s2: Vector3<f64>,
    /// Angular velocity, rad/s.
    pub omega_rad_s: Vector3<f64>,
    /// Angular acceleration, rad/s^2.
    pub alpha_rad_s2: Vector3<f64>,
    /// Inertia about the centre of mass in the ground frame, kg m^2.
    pub inertia_kg_m2: Matrix3<f64>,
}

/// The inverse dynamics of one frame.
#[derive(Debug, Clone)]
pub struct IdFrame {
    /// Time, s.
    pub time_s: f64,
    /// Coordinate values (rad or m), model order, couplers applied.
    pub coordinates: Vec<f64>,
    /// Their time derivatives (rad/s or m/s), from the splines.
    pub speeds: Vec<f64>,
    /// Their second derivatives (rad/s^2 or m/s^2), from the splines.
    pub accelerations: Vec<f64>,
    /// Generalised forces, N m or N, model order (see the module docs).
    pub generalised_forces: Vec<f64>,
    /// Every body's pose (`ground_from_body`).
    pub poses: Vec<Isometry3<f64>>,
    /// Every body's motion.
    pub bodies: Vec<BodyMotion>,
    /// The external loads.
    pub loads: Vec<AppliedLoad>,
}

/// Second-order Butterworth low-pass filter at `cutoff_hz` run forward and backward over
/// samples `dt_s` apart, the ends padded by odd reflection (so a trend passes unchanged).
pub fn lowpass_butterworth(x: &[f64], dt_s: f64, cutoff_hz: f64) -> Vec<f64> {
    let n = x.len();
    if n < 3 {
        return x.to_vec();
    }
    // Bilinear transform with pre-warping.
    let wc = (std::f64::consts::PI * cutoff_hz * dt_s).tan();
    let k1 = std::f64::consts::SQRT_2 * wc;
    let k2 = wc * wc;
    let a0 = 1.0 + k1 + k2;
    let (b0, b1, b2) = (k2 / a0, 2.0 * k2 / a0, k2 / a0);
    let (a1, a2) = (2.0 * (k2 - 1.0) / a0, (1.0 - k1 + k2) / a0);
    let pad = (n - 1).min(3 * ((1.0 / (cutoff_hz * dt_s)).ceil() as usize).max(6));
    let mut s = Vec::with_capacity(n + 2 * pad);
    s.extend((1..=pad).rev().map(|k| 2.0 * x[0] - x[k]));
    s.extend_from_slice(x);
    s.extend((1..=pad).map(|k| 2.0 * x[n - 1] - x[n - 1 - k]));
    let run = |v: &mut Vec<f64>| {
        let (mut x1, mut x2, mut y1, mut y2) = (v[0], v[0], v[0], v[0]);
        for e in v.iter_mut() {
            let y = b0 * *e + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1;
            x1 = *e;
            y2 = y1;
            y1 = y;
            *e = y;
        }
    };
    run(&mut s);
    s.reverse();
    run(&mut s);
    s.reverse();
    s[pad..pad + n].to_vec()
}

fn bad_input(what: &str, why: String) -> MskError {
    MskError::InvalidInput { what: what.into(), value: f64::NAN, why }
}

/// Times (s), one series per model coordinate (rad or m), and the coordinates the file lacks.
type Series = (Vec<f64>, Vec<Vec<f64>>, Vec<String>);

/// The model's coordinates over the motion's times, rad or m, and the coordinates the file
/// lacks.
fn coordinate_series(model: &Model, motion: &Storage) -> Result<Series> {
    if motion.rows.len() < 4 {
        return Err(bad_input("motion", format!("{} rows: a motion needs at least 4 frames for its velocities and accelerations", motion.rows.len())));
    }
    let times: Vec<f64> = motion.rows.iter().map(|r| r.0).collect();
    let mut series = Vec::with_capacity(model.coordinates.len());
    let mut missing = Vec::new();
    let mut any = false;
    for c in &model.coordinates {
        match motion.column(&c.name) {
            Some(k) => {
                any = true;
                let scale = if motion.in_degrees && c.motion_type != MotionType::Translational { std::f64::consts::PI / 180.0 } else { 1.0 };
                series.push(motion.rows.iter().map(|r| r.1[k] * scale).collect());
            }
            None => {
                missing.push(c.name.clone());
                series.push(vec![c.default_value; times.len()]);
            }
        }
    }
    if !any {
        return Err(bad_input("motion", "no column is named as a coordinate of the model: give the model the motion was made for (OpenSim's inverse kinematics output)".into()));
    }
    // A column no coordinate reads (a typo, another model's coordinate) would be ignored in silence (issue 61).
    let unknown: Vec<String> = motion.columns.iter().filter(|c| !model.coordinates.iter().any(|m| &m.name == *c)).cloned().collect();
    if !unknown.is_empty() {
        return Err(MskError::UnknownColumns { names: unknown });
    }
    // Locked coordinates keep their default; an enforced coupler sets its dependent one.
    let free: Vec<String> = missing
        .iter()
        .filter(|name| model.coordinates.iter().enumerate().any(|(k, c)| &c.name == *name && !c.locked && !model.couplers.iter().any(|cp| cp.enforced && cp.dependent == k)))
        .cloned()
        .collect();
    if !free.is_empty() {
        return Err(MskError::MissingCoordinates { names: free });
    }
    Ok((times, series, missing))
}

/// The external loads' columns, checked.
struct LoadColumns {
    body: usize,
    force: [usize; 3],
    point: [usize; 3],
    torque: Option<[usize; 3]>,
}

fn load_columns(model: &Model, grf: &Storage, loads: &[ExternalLoad]) -> Result<Vec<LoadColumns>> {
    let mut out = Vec::with_capacity(loads.len());
    for l in loads {
        let body = model.body_index(&l.body).ok_or_else(|| MskError::UnknownName { kind: "body", name: l.body.clone() })?;
        let cols = |prefix: &str| -> Option<[usize; 3]> { Some([grf.column(&format!("{prefix}x"))?, grf.column(&format!("{prefix}y"))?, grf.column(&format!("{prefix}z"))?]) };
        let need = |prefix: &str| {
            cols(prefix).ok_or_else(|| {
                bad_input("ground reaction file", format!("no columns {prefix}x, {prefix}y, {prefix}z (OpenSim's external loads layout: ground_force_vx.. , ground_force_px.., ground_torque_x..)"))
            })
        };
        out.push(LoadColumns { body, force: need(&l.force_identifier)?, point: need(&l.point_identifier)?, torque: cols(&l.torque_identifier) });
    }
    Ok(out)
}

/// The loads at time `t`, linearly interpolated (held at the ends).
fn loads_at(grf: &Storage, cols: &[LoadColumns], t: f64) -> Vec<AppliedLoad> {
    let k = grf.rows.partition_point(|r| r.0 <= t);
    let value = |c: usize| -> f64 {
        if k == 0 {
            grf.rows[0].1[c]
        } else if k >= grf.rows.len() {
            grf.rows[grf.rows.len() - 1].1[c]
        } else {
            let ((t0, v0), (t1, v1)) = (&grf.rows[k - 1], &grf.rows[k]);
            let w = (t - t0) / (t1 - t0);
            v0[c] + w * (v1[c] - v0[c])
        }
    };
    let v3 = |c: [usize; 3]| Vector3::new(value(c[0]), value(c[1]), value(c[2]));
    cols.iter().map(|c| AppliedLoad { body: c.body, force_n: v3(c.force), point_m: v3(c.point), torque_n_m: c.torque.map_or_else(Vector3::zeros, v3) }).collect()
}

/// The splined (and optionally filtered) coordinates of a motion.
struct Splined {
    times: Vec<f64>,
    /// Natural cubic splines (coxa_osim's, as OpenSim's `NaturalCubicSpline`).
    splines: Vec<Spline>,
    missing: Vec<String>,
}

impl Splined {
    fn new(model: &Model, motion: &Storage, options: &MotionOptions) -> Result<Self> {
        let (times, mut series, missing) = coordinate_series(model, motion)?;
        if let Some(hz) = options.lowpass_hz {
            let dt = (times[times.len() - 1] - times[0]) / (times.len() - 1) as f64;
            if !(hz.is_finite() && hz > 0.0 && hz < 0.5 / dt) {
                return Err(MskError::InvalidInput { what: "low-pass cutoff (Hz)".into(), value: hz, why: format!("must be above 0 and below half the motion's sampling rate ({:.1} Hz)", 0.5 / dt) });
            }
            let uneven = times.windows(2).any(|w| ((w[1] - w[0]) - dt).abs() > 0.01 * dt);
            if uneven {
                return Err(bad_input("motion", "the frames are not evenly spaced in time: filtering needs a constant sampling rate; resample the motion or leave out the filter".into()));
            }
            for s in &mut series {
                *s = lowpass_butterworth(s, dt, hz);
            }
        }
        let splines = series.into_iter().map(|s| Spline::natural(times.clone(), s)).collect();
        Ok(Self { times, splines, missing })
    }

    /// Coordinate values at `t` with the couplers applied.
    fn q(&self, model: &Model, t: f64) -> Vec<f64> {
        let mut q: Vec<f64> = self.splines.iter().map(|s| s.value(t)).collect();
        apply_couplers(model, &mut q);
        q
    }
}

fn inertia_matrix(i: &[f64; 6]) -> Matrix3<f64> {
    Matrix3::new(i[0], i[3], i[4], i[3], i[1], i[5], i[4], i[5], i[2])
}

/// `log(R1 R0^T)`: the rotation from `r0` to `r1` as a vector in the ground frame, rad.
fn rotation_between(r1: &UnitQuaternion<f64>, r0: &UnitQuaternion<f64>) -> Vector3<f64> {
    (r1 * r0.inverse()).scaled_axis()
}

/// The inverse dynamics of one frame at time `t`.
fn id_frame(model: &Model, kin: &Kinematics, splined: &Splined, grf: &Storage, cols: &[LoadColumns], t: f64) -> IdFrame {
    let h = TIME_STEP_S;
    let poses_at: Vec<Vec<Isometry3<f64>>> = (-2..=2).map(|k| kin.body_poses(model, &splined.q(model, t + f64::from(k) * h))).collect();
    let com = |p: &[Isometry3<f64>], b: usize| p[b].transform_point(&Point3::from(model.bodies[b].mass_center_m)).coords;
    let q = splined.q(model, t);
    let poses = poses_at[2].clone();
    let bodies: Vec<BodyMotion> = (0..model.bodies.len())
        .map(|b| {
            let rot = |k: usize| poses_at[k][b].rotation;
            let r = poses[b].rotation.to_rotation_matrix();
            BodyMotion {
                com_m: com(&poses, b),
                com_acc_m_s2: (com(&poses_at[3], b) - 2.0 * com(&poses, b) + com(&poses_at[1], b)) / (h * h),
                omega_rad_s: rotation_between(&rot(3), &rot(1)) / (2.0 * h),
                alpha_rad_s2: (rotation_between(&rot(4), &rot(2)) - rotation_between(&rot(2), &rot(0))) / (4.0 * h * h),
                inertia_kg_m2: r.matrix() * inertia_matrix(&model.bodies[b].inertia_kg_m2) * r.matrix().transpose(),
            }
        })
        .collect();
    let loads = loads_at(grf, cols, t);
    let g = model.gravity_m_s2;
    let mut generalised = Vec::with_capacity(model.coordinates.len());
    let local_points: Vec<Point3<f64>> = loads.iter().map(|l| poses[l.body].inverse_transform_point(&Point3::from(l.point_m))).collect();
    // Each body's inertial force and moment (with gravity), the same for every coordinate.
    let inertial: Vec<(usize, Vector3<f64>, Vector3<f64>)> = model
        .bodies
        .iter()
        .zip(&bodies)
        .enumerate()
        .filter(|(_, (body, _))| body.mass_kg > 0.0)
        .map(|(b, (body, bm))| (b, body.mass_kg * (bm.com_acc_m_s2 - g), bm.inertia_kg_m2 * bm.alpha_rad_s2 + bm.omega_rad_s.cross(&(bm.inertia_kg_m2 * bm.omega_rad_s))))
        .collect();
    for c in 0..model.coordinates.len() {
        let (qp, qm) = perturbed(model, &q, c, Q_STEP);
        let (pp, pm) = (kin.body_poses(model, &qp), kin.body_poses(model, &qm));
        let mut tau = 0.0;
        for (b, force, euler) in &inertial {
            let dc = (com(&pp, *b) - com(&pm, *b)) / (2.0 * Q_STEP);
            let dth = rotation_between(&pp[*b].rotation, &pm[*b].rotation) / (2.0 * Q_STEP);
            tau += force.dot(&dc) + euler.dot(&dth);
        }
        for (l, p) in loads.iter().zip(&local_points) {
            let dp = (pp[l.body].transform_point(p) - pm[l.body].transform_point(p)) / (2.0 * Q_STEP);
            let dth = rotation_between(&pp[l.body].rotation, &pm[l.body].rotation) / (2.0 * Q_STEP);
            tau -= l.force_n.dot(&dp) + l.torque_n_m.dot(&dth);
        }
        generalised.push(tau);
    }
    let (speeds, accelerations) = splined.splines.iter().map(|s| (s.derivative(t), s.second_derivative(t))).unzip();
    IdFrame { time_s: t, coordinates: q, speeds, accelerations, generalised_forces: generalised, poses, bodies, loads }
}

/// The frames of the motion that the loads cover (and within the options' time range).
fn frame_times(splined: &Splined, grf: &Storage, options: &MotionOptions) -> Result<Vec<f64>> {
    let (g0, g1) = (grf.rows.first().map_or(f64::NAN, |r| r.0), grf.rows.last().map_or(f64::NAN, |r| r.0));
    let (r0, r1) = options.time_range_s.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    let eps = 1e-9;
    let times: Vec<f64> = splined.times.iter().copied().filter(|&t| t >= g0 - eps && t <= g1 + eps && t >= r0 - eps && t <= r1 + eps).collect();
    if times.is_empty() {
        return Err(bad_input(
            "time range",
            format!(
                "no frame of the motion ({:.3}..{:.3} s) lies where the ground reactions have data ({g0:.3}..{g1:.3} s) and within the time range asked for; check that the two files belong together",
                splined.times[0],
                splined.times[splined.times.len() - 1]
            ),
        ));
    }
    Ok(times)
}

/// The inverse dynamics of every frame of `motion` (see the module docs), with the external
/// `loads` read from `grf`.
///
/// # Errors
/// [`MskError::MissingCoordinates`] for a motion without a free coordinate of the model;
/// [`MskError::UnknownColumns`] for columns that are no coordinate of the model;
/// [`MskError::InvalidInput`] for a motion with fewer than 4 frames or no column of the model,
/// ground reactions without the loads' columns, a bad filter cutoff, no frame with loads;
/// [`MskError::UnknownName`] for a load's body not in the model; those of [`Kinematics::new`].
pub fn inverse_dynamics(model: &Model, motion: &Storage, grf: &Storage, loads: &[ExternalLoad], options: &MotionOptions) -> Result<Vec<IdFrame>> {
    let (kin, splined, cols, times) = prepare(model, motion, grf, loads, options)?;
    Ok(times.into_iter().map(|t| id_frame(model, &kin, &splined, grf, &cols, t)).collect())
}

/// What both entry points need: the model's kinematics, the splined motion, the loads' columns
/// (checked) and the frames' times.
fn prepare(model: &Model, motion: &Storage, grf: &Storage, loads: &[ExternalLoad], options: &MotionOptions) -> Result<(Kinematics, Splined, Vec<LoadColumns>, Vec<f64>)> {
    let kin = Kinematics::new(model)?;
    let splined = Splined::new(model, motion, options)?;
    let cols = load_columns(model, grf, loads)?;
    if grf.rows.is_empty() {
        return Err(bad_input("ground reaction file", "it has no rows".into()));
    }
    let times = frame_times(&splined, grf, options)?;
    Ok((kin, splined, cols, times))
}

/// The inverse dynamics as OpenSim's InverseDynamicsTool writes it: `time`, then per
/// coordinate `<name>_moment` (rotational) or `<name>_force` (translational), N m or N, from
/// each frame's time and generalised forces (of [`inverse_dynamics`]'s frames, or of
/// [`hip_contact_force_over_motion`]'s, which keep theirs).
pub fn generalised_forces_table<'a>(model: &Model, frames: impl IntoIterator<Item = (f64, &'a [f64])>) -> Storage {
    let columns = model.coordinates.iter().map(|c| format!("{}_{}", c.name, if c.motion_type == MotionType::Translational { "force" } else { "moment" })).collect();
    let mut t = Storage::new("Inverse Dynamics Generalized Forces", false, columns);
    t.rows = frames.into_iter().map(|(time, q)| (time, q.to_vec())).collect();
    t
}

#[cfg(test)]
mod tests;

//! Dislocation dynamics (rapier3d): the femur, loaded into the cup, driven past impingement
//! until the head levers out over the rim.
//!
//! # Physical setup
//! - **World**: the hip frame of [`HipModel`] (pelvic axes, origin at the cup centre), in mm,
//!   kg and s (`length_unit = 10`, docs/STACK.md); force unit 1 mN, torque unit 1 uN m (see
//!   [`crate::convert`]). No gravity; all contacts frictionless (a polished head on
//!   polyethylene, mu ~ 0.05, is neglected).
//! - **Cup** (fixed body): the liner as a triangle mesh (96 azimuths) in the liner frame: a
//!   seat ring of the inner sphere at [`DislocationOptions::band_depth`] below the face plane,
//!   the rim zone of the inner sphere from 6 deg below the face plane up to the rim
//!   (hemispherical, chamfered or with its elevated lip), the rim's top face out to the liner's
//!   outer radius and a short outer wall. A head that lifts out of a same-radius sphere touches
//!   it only on the rim, so the deeper socket never matters once the head moves (and leaving it
//!   out keeps the contact count, and the run time, low); the seat ring holds the seated head
//!   as a conical seat (it sinks by about twice the clearance, 0.2 mm by default).
//! - **Femur** (dynamic body, origin at the head centre, axes of the femoral frame): the head,
//!   a ball of the head radius minus [`DislocationOptions::clearance_mm`], and the neck of the
//!   construct (a cylinder, or the convex hull of its frustum when it flares); massless
//!   colliders, the body's mass a 10 kg leg at the head centre (so the load acts through the
//!   head centre). Bones are not included (implant-implant lever-out only).
//! - **Drive**: a kinematic driver body at the hip centre turns along the [`Motion`] (joint
//!   angles relative to the standing body, the pelvis tilted by the motion's posture, as in
//!   [`crate::rom`]); a joint locks the femur's *rotation* to the driver's and leaves its
//!   translation free. The femur's orientation is thus prescribed, and its centre goes where
//!   the load and the contacts put it: seated until the neck meets the rim, then levered out.
//!   The joint carries a pure moment: the moment the hip resists the drive with.
//! - **Load**: a constant compressive joint load of [`DislocationOptions::joint_load_n`] at the
//!   head centre, pushing the head into the cup along [`LoadDirection`].
//!
//! # What is reported
//! Per step: the drive angle, the *lift-out* (distance of the head centre from the cup centre,
//! mm) and the *resisting moment* (the drive moment's component about the instantaneous drive
//! axis, N m, positive when the hip resists). Events: the first neck-liner contact
//! (impingement), the resisting moment 1 deg of drive past it and its peak, and the
//! *dislocation*: once the head centre has risen half a head radius, the first step at which
//! the resisting moment has fallen below 5 % of its peak — the head has rolled over the rim and
//! the hip no longer resists (the usual definition of FE dislocation studies: the moment peaks,
//! then collapses). The *jump distance* found is the head centre's largest rise along the cup
//! axis from its seat up to then; its geometric value [`jump_distance_mm`] is one head radius
//! above the highest rim point (the face plane of a hemispherical liner, the lip of an elevated
//! one, the bevel of a chamfered one). For a load along the cup axis this is the jump distance
//! of Sariali et al. (2009, Acta Orthop 80:277), `R cos(alpha)` with `alpha = 0`.
//!
//! # The closed form (hemispherical liner, the simple case)
//! Neck (radius `r`) swinging in a plane through the cup axis, head radius `R`, load along the
//! cup axis, clearance neglected. The neck meets the rim at `theta_i = acos(r / R)` from the
//! cup axis (half the oscillation angle). Driven on by `psi`, the neck at
//! `phi = theta_i + psi` presses on the rim point `Q` (in the face plane, at `R` from the
//! centre); a same-radius head can leave the socket only along the axis (any sideways move at
//! height `t` is limited to `t^2 / 2R`), so its centre rises along the axis to the height `t`
//! at which the neck's surface passes through `Q`: `R cos(phi) + t sin(phi) = r`, i.e.
//!
//! `t(psi) = (r - R cos(theta_i + psi)) / sin(theta_i + psi)` ([`lever_lift_mm`]).
//!
//! By virtual work the drive moment is `F dt/dpsi = F (R - r cos phi) / sin^2 phi`
//! ([`lever_moment_nm`]): `F R` at impingement, dipping slightly and back to `F R` when the neck
//! lies in the face plane (`phi = 90 deg`). Past that the neck points below the face plane, the
//! load slides the head along the neck onto the rim point `Q`, and the head rolls over `Q` until
//! its centre stands one head radius above the rim: the rise along the cup axis at dislocation
//! is the head radius, the jump distance of Sariali et al. for a load along the cup axis.
//! Larger heads lever out later, against more moment, with a longer jump.
//!
//! # Known limit: which rim the head leaves over
//! With the rotation prescribed about the hip centre, the head rolls out over the rim the neck
//! presses on ([`Dislocation::exit_side_cosine`] about +0.7 in the posterior position); in a
//! clinical dislocation it leaves over the opposite rim. A rotational spring drive (soft about
//! the driven axis, stiff about the others, translation free) was tried and followed the same
//! path (peak moments within 10 %, the same exit side), so the cause is not the rigid lock but
//! what the model leaves out: the soft tissue and the femur's own pivot on the rim under a
//! physiological, non-axial joint load. Report moments and jump distances as comparisons
//! between constructs, not as predictions of the dislocation direction.

use coxa_core::{Angle, CupAngleDefinition};
use nalgebra::{Matrix3, Rotation3, Unit, Vector3};
use rapier3d::prelude::*;
use serde::Serialize;

use crate::convert::{NEWTON_METRES_PER_SIM_TORQUE, force_to_sim, pose_to_sim, vector_from_sim, vector_to_sim};
use crate::error::finite_in;
use crate::joint::pelvis_tilt_rotation;
use crate::rom::{Motion, PelvicTilts, SweepOptions};
use crate::{HipModel, Result, SimError};

/// Direction of the compressive joint load (the force the cup exerts on the head is its
/// opposite; the load pushes the head into the cup).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum LoadDirection {
    /// Along the cup axis, into the cup.
    CupAxis,
    /// The cup axis turned by this angle about the unit axis given in the hip frame (pelvic
    /// axes), still pushing into the cup: `(axis, angle)`.
    TiltedFromCupAxis([f64; 3], Angle),
    /// Pushing the head along this direction of the hip frame (pelvic axes; normalised). It
    /// must point into the cup (negative along the cup axis).
    Hip([f64; 3]),
}

/// Options of a dislocation simulation; every default is stated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DislocationOptions {
    /// Compressive joint load, N. Default 300 (about 0.4 x body weight: a seated or supine hip
    /// under muscle tone; walking loads are 2-3 x body weight).
    pub joint_load_n: f64,
    /// Direction of the load. Default [`LoadDirection::CupAxis`].
    pub load: LoadDirection,
    /// The drive starts this far before the impingement angle of the ROM sweep, deg. Default 3.
    pub start_before_impingement_deg: f64,
    /// The drive stops this far past it if the head has not dislocated, deg. Default 100.
    pub max_past_impingement_deg: f64,
    /// Drive speed, deg/s. Default 20 (slow enough that inertia is negligible: quasi-static).
    pub drive_rate_deg_per_s: f64,
    /// Time step, s. Default 1/200.
    pub dt_s: f64,
    /// Radial head-liner clearance, mm. Default 0.1.
    pub clearance_mm: f64,
    /// Depth of the modelled liner band below the face plane (latitude). Default 30 deg.
    pub band_depth: Angle,
}

impl Default for DislocationOptions {
    fn default() -> Self {
        Self {
            joint_load_n: 300.0,
            load: LoadDirection::CupAxis,
            start_before_impingement_deg: 3.0,
            max_past_impingement_deg: 100.0,
            drive_rate_deg_per_s: 20.0,
            dt_s: 1.0 / 200.0,
            clearance_mm: 0.1,
            band_depth: Angle::from_deg(30.0),
        }
    }
}

impl DislocationOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// With a joint load, N.
    pub fn with_joint_load_n(mut self, n: f64) -> Self {
        self.joint_load_n = n;
        self
    }
    /// With a load direction.
    pub fn with_load(mut self, load: LoadDirection) -> Self {
        self.load = load;
        self
    }
    /// With a drive speed, deg/s.
    pub fn with_drive_rate_deg_per_s(mut self, r: f64) -> Self {
        self.drive_rate_deg_per_s = r;
        self
    }
    /// With a time step, s.
    pub fn with_dt_s(mut self, dt: f64) -> Self {
        self.dt_s = dt;
        self
    }
    /// With a radial clearance, mm.
    pub fn with_clearance_mm(mut self, c: f64) -> Self {
        self.clearance_mm = c;
        self
    }
    /// With the largest drive past impingement, deg.
    pub fn with_max_past_impingement_deg(mut self, d: f64) -> Self {
        self.max_past_impingement_deg = d;
        self
    }
}

/// One recorded step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DislocationSample {
    /// The driven angle ([`Motion::driven_deg`]), deg.
    pub drive_deg: f64,
    /// Distance of the head centre from the cup centre, mm.
    pub lift_out_mm: f64,
    /// Head centre in the hip frame, mm.
    pub head_centre_hip_mm: [f64; 3],
    /// Moment the hip resists the drive with, about the drive axis, N m.
    pub resisting_moment_nm: f64,
    /// Whether the neck touches the liner.
    pub neck_contact: bool,
}

/// The outcome of one simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dislocation {
    /// The motion's name.
    pub motion: &'static str,
    /// The load, N.
    pub joint_load_n: f64,
    /// The load direction (pushing the head), hip frame.
    pub load_direction_hip: [f64; 3],
    /// Impingement limit of the (parry3d) ROM sweep, driven angle, deg.
    pub rom_limit_deg: f64,
    /// First neck-liner contact in the dynamics, driven angle, deg.
    pub impingement_deg: Option<f64>,
    /// Resisting moment 1 deg of drive past the first neck contact, N m.
    pub moment_at_impingement_nm: Option<f64>,
    /// Largest resisting moment between impingement and dislocation (or the end), N m.
    pub peak_moment_nm: Option<f64>,
    /// Driven angle at the peak moment, deg.
    pub peak_moment_deg: Option<f64>,
    /// Driven angle at which the head has levered out: the first step, after the head centre
    /// has risen half a head radius, at which the resisting moment has fallen below 5 % of its
    /// peak (the head is over the rim; the hip no longer resists), deg; `None` if it stayed in
    /// up to the end of the drive.
    pub dislocation_deg: Option<f64>,
    /// The head centre's largest rise along the cup axis from its seat up to dislocation, mm:
    /// the jump distance the simulation found.
    pub jump_distance_mm: Option<f64>,
    /// The geometric jump distance of this liner and head ([`jump_distance_mm`]), mm.
    pub geometric_jump_distance_mm: f64,
    /// Lift-out at dislocation, mm.
    pub lift_out_at_dislocation_mm: Option<f64>,
    /// Largest lift-out reached (up to dislocation), mm.
    pub max_lift_out_mm: f64,
    /// Where the neck first met the liner (hip frame), mm.
    pub impingement_point_hip_mm: Option<[f64; 3]>,
    /// Over which rim the head left: the cosine between the head centre's sideways
    /// displacement (in the face plane) at dislocation and the direction of the impingement
    /// point; about +1 when the head rolls over the impinging rim (what this prescribed drive
    /// gives, see the module docs), -1 when it leaves over the opposite rim (the clinical
    /// picture).
    pub exit_side_cosine: Option<f64>,
    /// Every step.
    pub samples: Vec<DislocationSample>,
    /// Solver steps taken.
    pub steps: usize,
}

/// The jump distance of a construct, mm: how far the head centre must rise along the cup axis
/// for its sphere to clear the rim — the head radius plus the height of the highest rim point
/// above the face plane (0 for a hemispherical liner, the lip height of an elevated one, minus
/// `R sin(chamfer)` for a chamfered one).
pub fn jump_distance_mm(construct: &coxa_implants::Construct) -> f64 {
    let r = construct.head.diameter_mm / 2.0;
    let highest = (0..720).map(|j| construct.liner.rim.latitude(std::f64::consts::TAU * j as f64 / 720.0, r)).fold(f64::NEG_INFINITY, f64::max);
    r + r * highest.sin()
}

/// The closed-form lift of the head centre along the cup axis, mm, when a neck of radius
/// `neck_radius_mm` levers a head of radius `head_radius_mm` out of a hemispherical liner,
/// driven `past` impingement in a plane through the cup axis (module docs):
/// `(r - R cos(theta_i + psi)) / sin(theta_i + psi)`, `theta_i = acos(r / R)`.
pub fn lever_lift_mm(head_radius_mm: f64, neck_radius_mm: f64, past: Angle) -> f64 {
    let phi = (neck_radius_mm / head_radius_mm).acos() + past.rad();
    (neck_radius_mm - head_radius_mm * phi.cos()) / phi.sin()
}

/// The closed-form resisting moment of that lever, N m: by virtual work the drive moment is
/// the load times the rate of lift, `F dt/dpsi = F (R - r cos phi) / sin^2 phi` with
/// `phi = theta_i + psi` (equal to `F R` at impingement and when the neck lies in the face
/// plane, `phi = 90 deg`). Valid up to `phi = 90 deg`; beyond it the head rolls over the rim.
pub fn lever_moment_nm(joint_load_n: f64, head_radius_mm: f64, neck_radius_mm: f64, past: Angle) -> f64 {
    let phi = (neck_radius_mm / head_radius_mm).acos() + past.rad();
    joint_load_n * (head_radius_mm - neck_radius_mm * phi.cos()) / phi.sin().powi(2) / 1000.0
}

/// The liner frame of `model` (rows: its axes in the hip frame), as `HipModel` builds it.
fn liner_from_hip(model: &HipModel) -> Matrix3<f64> {
    let side = model.side();
    let s = side.lateral_sign();
    let z = model.cup_angles(CupAngleDefinition::Radiographic).axis(side);
    let x = (Vector3::z() - z * z.z).try_normalize(1e-6).unwrap_or_else(|| (Vector3::y() - z * z.y).normalize());
    let mut y = z.cross(&x);
    if y.y < 0.0 || (y.y.abs() < 1e-9 && y.x * s > 0.0) {
        y = -y;
    }
    Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()])
}

/// The neck direction (head -> stem) in the femoral frame, as `HipModel` builds it.
fn neck_dir_femoral(model: &HipModel) -> Vector3<f64> {
    let s = model.side().lateral_sign();
    let femoral = model.femoral_frame();
    let shaft = (femoral.femur_from_lps * femoral.shaft_axis_lps).normalize();
    let medial = (Vector3::x() * -s - shaft * (shaft.x * -s)).normalize();
    let ccd = model.construct().stem.ccd.rad();
    let to_head = -shaft * ccd.cos() + medial * ccd.sin();
    let turn = Rotation3::from_axis_angle(&Unit::new_normalize(shaft), s * model.stem_anteversion().rad());
    -(turn * to_head)
}

/// The liner band (module docs) in the liner frame: vertices (mm) and triangles. Two strips
/// of the inner sphere: the seat ring (`depth` to `depth` - 3 deg below the face) and the rim
/// zone (6 deg below the face up to the rim), then the rim's top face and a short outer wall.
fn liner_band(model: &HipModel, depth: Angle) -> (Vec<Vector3<f64>>, Vec<[u32; 3]>) {
    let liner = &model.construct().liner;
    let r = liner.inner_diameter_mm / 2.0;
    let ro = liner.outer_diameter_mm / 2.0;
    const AZIMUTHS: usize = 96;
    const RIM_ROWS: usize = 6;
    let low = 6f64.to_radians();
    let mut v = Vec::new();
    for j in 0..AZIMUTHS {
        let phi = std::f64::consts::TAU * j as f64 / AZIMUTHS as f64;
        let (c, s) = (phi.cos(), phi.sin());
        let top = liner.rim.latitude(phi, r);
        let on_sphere = |lat: f64| [r * lat.cos(), r * lat.sin()];
        let mut profile = vec![on_sphere(-depth.rad()), on_sphere(-depth.rad() + 3f64.to_radians())];
        profile.extend((0..=RIM_ROWS).map(|k| on_sphere(-low + (top + low) * k as f64 / RIM_ROWS as f64)));
        let h = r * top.sin();
        profile.push([ro, h]);
        profile.push([ro, h.min(0.0) - 5.0]);
        v.extend(profile.iter().map(|[rho, z]| Vector3::new(rho * c, rho * s, *z)));
    }
    let per = RIM_ROWS + 5;
    let mut t = Vec::new();
    for j in 0..AZIMUTHS {
        let (a, b) = (j * per, ((j + 1) % AZIMUTHS) * per);
        // Skip the gap between the seat ring (points 0-1) and the rim zone (from point 2).
        for k in (0..per - 1).filter(|&k| k != 1) {
            let idx = |base: usize, kk: usize| (base + kk) as u32;
            t.push([idx(a, k), idx(b, k), idx(b, k + 1)]);
            t.push([idx(a, k), idx(b, k + 1), idx(a, k + 1)]);
        }
    }
    (v, t)
}

/// Simulates `motion` on `model` (implants only) with pelvic `tilts` until the head dislocates
/// or the drive ends (module docs).
///
/// Errors: invalid options (NaN or out of range); a construct whose head does not fit its
/// liner; a motion that does not impinge (nothing to lever against) or starts in contact.
pub fn simulate(model: &HipModel, motion: &Motion, tilts: &PelvicTilts, opts: &DislocationOptions) -> Result<Dislocation> {
    finite_in("joint_load_n", opts.joint_load_n, 1.0, 10_000.0)?;
    finite_in("start_before_impingement_deg", opts.start_before_impingement_deg, 0.0, 90.0)?;
    finite_in("max_past_impingement_deg", opts.max_past_impingement_deg, 1.0, 180.0)?;
    finite_in("drive_rate_deg_per_s", opts.drive_rate_deg_per_s, 0.1, 1000.0)?;
    finite_in("dt_s", opts.dt_s, 1e-5, 0.02)?;
    finite_in("band_depth (deg)", opts.band_depth.deg(), 5.0, 85.0)?;
    let c = model.construct();
    let r = c.head.diameter_mm / 2.0;
    if (c.liner.inner_diameter_mm - c.head.diameter_mm).abs() > 1e-6 {
        return Err(coxa_implants::ImplantError::DoesNotFit {
            why: format!("the {} mm head does not fit the liner's {} mm bore; use a liner made for the head", c.head.diameter_mm, c.liner.inner_diameter_mm),
        }
        .into());
    }
    finite_in("clearance_mm", opts.clearance_mm, 0.01, r * 0.1)?;
    let side = model.side();
    let l_from_h = liner_from_hip(model);
    let cup_axis = l_from_h.row(2).transpose();
    let f = match opts.load {
        LoadDirection::CupAxis => cup_axis,
        LoadDirection::TiltedFromCupAxis(axis, angle) => {
            let a = Vector3::from(axis);
            finite_in("load tilt (deg)", angle.deg(), -80.0, 80.0)?;
            let a = a.try_normalize(1e-9).filter(|a| a.iter().all(|x| x.is_finite())).ok_or_else(|| SimError::InvalidInput {
                what: "load tilt axis".into(),
                value: a.norm(),
                why: "must be a finite non-zero vector".into(),
            })?;
            Rotation3::from_axis_angle(&Unit::new_unchecked(a), angle.rad()) * cup_axis
        }
        LoadDirection::Hip(d) => {
            let d = Vector3::from(d);
            let d = d.try_normalize(1e-9).filter(|d| d.iter().all(|x| x.is_finite())).ok_or_else(|| SimError::InvalidInput {
                what: "load direction".into(),
                value: d.norm(),
                why: "must be a finite non-zero vector".into(),
            })?;
            if d.dot(&cup_axis) >= -0.1 {
                return Err(SimError::InvalidInput {
                    what: "load direction along the cup axis".into(),
                    value: d.dot(&cup_axis),
                    why: "the load must push the head into the cup (within 84 deg of the cup axis, inwards)".into(),
                });
            }
            -d
        }
    };
    // `f`: unit, out of the cup; the load pushes along -f.
    let tilt = tilts.of(motion.posture);
    let pelvis = pelvis_tilt_rotation(tilt).inverse();
    let orient = |alpha: f64| pelvis * motion.angles(alpha).rotation(side);
    let i_drive = (0..3).max_by(|&a, &b| motion.drive[a].abs().total_cmp(&motion.drive[b].abs())).unwrap_or(0);
    let speed = motion.drive[i_drive].abs();
    if speed.is_nan() || speed <= 0.0 {
        return Err(SimError::InvalidInput { what: format!("motion {} drive", motion.name), value: speed, why: "the motion must drive an angle".into() });
    }
    let limit = crate::rom::sweep(model, motion, tilts, &SweepOptions::default());
    if limit.start_in_contact {
        return Err(SimError::InvalidInput { what: format!("motion {}", motion.name), value: limit.limit_deg, why: "starts in contact; choose a start posture free of impingement".into() });
    }
    if limit.contact.is_none() {
        return Err(SimError::InvalidInput {
            what: format!("motion {}", motion.name),
            value: limit.limit_deg,
            why: format!("does not impinge up to {} deg, so nothing levers the head out; extend max_deg", motion.max_deg),
        });
    }
    let alpha_limit = (limit.limit_deg - motion.driven_deg(0.0)) / speed;
    let alpha0 = (alpha_limit - opts.start_before_impingement_deg / speed).max(0.0);
    let alpha_end = alpha_limit + opts.max_past_impingement_deg / speed;

    // World.
    let mut world = PhysicsWorld::new();
    world.gravity = Vector::ZERO;
    let p = &mut world.integration_parameters;
    p.dt = opts.dt_s as f32;
    p.length_unit = 10.0;
    p.normalized_prediction_distance = 0.002;
    p.num_solver_iterations = SOLVER_SUBSTEPS;
    let hip_from_liner = Rotation3::from_matrix_unchecked(l_from_h.transpose());
    let (bv, bt) = liner_band(model, opts.band_depth);
    let band = ColliderBuilder::trimesh(bv.iter().map(vector_to_sim).collect(), bt).map_err(|source| SimError::Collider { what: "liner band mesh", source })?.friction(0.0).build();
    let cup = world.insert_body(RigidBodyBuilder::fixed().pose(pose_to_sim(&hip_from_liner, &Vector3::zeros())));
    let cup_collider = world.insert_collider(band, Some(cup));
    let r0 = orient(alpha0);
    let femur = world.insert_body(
        RigidBodyBuilder::dynamic()
            .pose(pose_to_sim(&r0, &Vector3::zeros()))
            .additional_mass_properties(MassProperties::new(Vector::ZERO, LEG_MASS_KG, Vector::splat(LEG_INERTIA_KG_MM2)))
            .linear_damping(5.0)
            .angular_damping(5.0)
            .can_sleep(false),
    );
    let density = 0.0_f32;
    world.insert_collider(ColliderBuilder::ball((r - opts.clearance_mm) as f32).density(density).friction(0.0).build(), Some(femur));
    let neck = c.neck();
    let d = neck_dir_femoral(model);
    let neck_collider = {
        let to_d = Rotation3::rotation_between(&Vector3::y(), &d).unwrap_or_else(|| Rotation3::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI));
        let mid = d * (0.5 * (neck.start_mm + neck.end_mm));
        let half = 0.5 * (neck.end_mm - neck.start_mm);
        let builder = if neck.flare.rad() == 0.0 {
            ColliderBuilder::cylinder(half as f32, neck.radius_mm as f32)
        } else {
            let pts: Vec<Vector> = (0..64)
                .flat_map(|k| {
                    let t = std::f64::consts::TAU * k as f64 / 64.0;
                    [(-half, neck.radius_at(neck.start_mm)), (half, neck.radius_at(neck.end_mm))].map(|(y, rr)| vector_to_sim(&Vector3::new(rr * t.cos(), y, rr * t.sin())))
                })
                .collect();
            ColliderBuilder::convex_hull(&pts).ok_or_else(|| SimError::InvalidInput { what: "neck".into(), value: neck.radius_mm, why: "its convex hull is degenerate".into() })?
        };
        world.insert_collider(builder.position(pose_to_sim(&to_d, &mid)).density(density).friction(0.0).build(), Some(femur))
    };
    let driver = world.insert_body(RigidBodyBuilder::kinematic_position_based().pose(pose_to_sim(&r0, &Vector3::zeros())));
    let joint = world.insert_impulse_joint(driver, femur, GenericJointBuilder::new(JointAxesMask::ANG_AXES).build());
    let load = force_to_sim(opts.joint_load_n, &-f);

    let step = |world: &mut PhysicsWorld, rot: &Rotation3<f64>| {
        world.bodies[driver].set_next_kinematic_rotation(crate::convert::rotation_to_parry(rot));
        let b = &mut world.bodies[femur];
        b.reset_forces(false);
        b.add_force(load, true);
        world.step();
    };
    // Settle the head into its seat.
    let settle = (0.1 / opts.dt_s).ceil() as usize;
    for _ in 0..settle {
        step(&mut world, &r0);
    }
    let centre = |w: &PhysicsWorld| vector_from_sim(w.bodies[femur].translation());
    let seat = centre(&world);
    let (mut rise, mut peak) = (0.0_f64, 0.0_f64);
    let dalpha = opts.drive_rate_deg_per_s * opts.dt_s / speed;
    let n_steps = ((alpha_end - alpha0) / dalpha).ceil() as usize;
    let mut out = Dislocation {
        motion: motion.name,
        joint_load_n: opts.joint_load_n,
        load_direction_hip: (-f).into(),
        rom_limit_deg: limit.limit_deg,
        impingement_deg: None,
        moment_at_impingement_nm: None,
        peak_moment_nm: None,
        peak_moment_deg: None,
        dislocation_deg: None,
        jump_distance_mm: None,
        geometric_jump_distance_mm: jump_distance_mm(c),
        lift_out_at_dislocation_mm: None,
        max_lift_out_mm: seat.norm(),
        impingement_point_hip_mm: None,
        exit_side_cosine: None,
        samples: Vec::with_capacity(n_steps),
        steps: settle,
    };
    for k in 1..=n_steps {
        let alpha = alpha0 + dalpha * k as f64;
        let rot = orient(alpha);
        step(&mut world, &rot);
        out.steps += 1;
        let cpos = centre(&world);
        // Drive axis (hip frame) and the joint's moment on the femur.
        let w = (orient(alpha + 1e-3) * rot.inverse()).scaled_axis().normalize();
        let imp = world.impulse_joints.get(joint).map_or([0.0; 6], |j| j.impulses);
        let m_local = Vector3::new(f64::from(imp[3]), f64::from(imp[4]), f64::from(imp[5]));
        let m_hip = rot * m_local * (DRIVE_MOMENT_SIGN * SOLVER_SUBSTEPS as f64 / (2.0 * opts.dt_s) * NEWTON_METRES_PER_SIM_TORQUE);
        let neck_contact = world.contact_pair(neck_collider, cup_collider).is_some_and(|p| p.total_impulse().length() > 0.0);
        let sample = DislocationSample { drive_deg: motion.driven_deg(alpha), lift_out_mm: cpos.norm(), head_centre_hip_mm: cpos.into(), resisting_moment_nm: m_hip.dot(&w), neck_contact };
        out.samples.push(sample);
        if neck_contact && out.impingement_deg.is_none() {
            out.impingement_deg = Some(sample.drive_deg);
            out.impingement_point_hip_mm = world.contact_pair(neck_collider, cup_collider).and_then(|p| {
                let m = p.manifolds().iter().find(|m| !m.points.is_empty())?;
                // The point on the cup, in the band's frame (the liner frame).
                let on_cup = if p.collider1 == cup_collider { m.points[0].local_p1 } else { m.points[0].local_p2 };
                Some((hip_from_liner * vector_from_sim(on_cup)).into())
            });
        }
        if out.impingement_deg.is_none() {
            continue;
        }
        out.max_lift_out_mm = out.max_lift_out_mm.max(sample.lift_out_mm);
        rise = rise.max((cpos - seat).dot(&cup_axis));
        peak = peak.max(sample.resisting_moment_nm);
        // Out: the head has risen at least half its radius and the hip no longer resists.
        if rise > 0.5 * r && sample.resisting_moment_nm <= 0.05 * peak {
            out.dislocation_deg = Some(sample.drive_deg);
            out.jump_distance_mm = Some(rise);
            out.lift_out_at_dislocation_mm = Some(sample.lift_out_mm);
            out.exit_side_cosine = out.impingement_point_hip_mm.and_then(|q| {
                let side = |v: Vector3<f64>| (v - cup_axis * v.dot(&cup_axis)).try_normalize(1e-6);
                Some(side(cpos - seat)?.dot(&side(Vector3::from(q))?))
            });
            break;
        }
    }
    // Moments.
    if let Some(imp_deg) = out.impingement_deg {
        let i_imp = out.samples.iter().position(|s| s.neck_contact).unwrap_or(0);
        out.moment_at_impingement_nm = out.samples[i_imp..].iter().find(|s| (s.drive_deg - imp_deg).abs() >= 1.0).map(|s| s.resisting_moment_nm);
        if let Some(s) = out.samples[i_imp..].iter().max_by(|a, b| a.resisting_moment_nm.total_cmp(&b.resisting_moment_nm)) {
            out.peak_moment_nm = Some(s.resisting_moment_nm);
            out.peak_moment_deg = Some(s.drive_deg);
        }
    }
    Ok(out)
}

/// Mass of the femur body, kg, placed at the head centre (the colliders are massless): the leg
/// the hip carries (thigh, shank and foot, ~15 % of body weight), so that the load and the
/// contacts act on a realistic inertia and the load acts through the head centre.
const LEG_MASS_KG: f32 = 10.0;
/// Its rotational inertia about the head centre, kg mm^2 (irrelevant: the rotation is driven).
const LEG_INERTIA_KG_MM2: f32 = 1.0e5;

/// Solver substeps per step (rapier's `num_solver_iterations`).
const SOLVER_SUBSTEPS: usize = 4;

/// Sign that turns the joint's stored angular impulse into the moment the drive applies to the
/// femur. Its scale, `substeps / (2 dt)`, was found empirically (the stored impulse scaled as
/// `2 / substeps` for 2, 4 and 8 substeps) and is checked against the load's virtual work by
/// the test `simple_case_matches_the_closed_forms`.
const DRIVE_MOMENT_SIGN: f64 = -1.0;

#[cfg(test)]
mod tests;

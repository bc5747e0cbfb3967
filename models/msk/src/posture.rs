//! An independent check, in rapier3d, that the forces of a hip contact force solution
//! ([`super::hcf`]) hold the posture.
//!
//! # Method
//! The stance leg and the upper body become a rapier3d multibody at the solved posture, at rest:
//! - the femur is the fixed root (as in [`super::hcf`], whose hip equations balance the upper
//!   body and whose knee and ankle equations move the distal bodies);
//! - the upper body (every body not in the stance leg: pelvis, trunk, the other leg), welded at
//!   its posture, hangs on the femur by a spherical joint at the hip centre (3 dofs);
//! - the shank (tibia and any body between it and the talus) by a screw joint on the knee's
//!   instantaneous screw (from the model's knee coordinate and its couplers: gait2392's knee
//!   translates with its angle, Rajagopal's also turns about other axes): a turn about the axis
//!   and a slide along it, tied by a rapier dof coupling (slide = pitch x turn);
//! - the foot (talus, calcaneus, toes, welded: subtalar and toes are not checked, as in
//!   [`super::hcf`]) by a screw joint on the ankle's;
//! - a body on the femur that the knee angle moves through a coupler (Rajagopal's patella) by a
//!   screw joint on its own instantaneous screw, its turn tied to the knee's by a dof coupling.
//!
//! Each checked coordinate's residual is the generalised force along its coupled motion (the
//! couplings' constraint forces do no work along it). The screws are the first-order motion at
//! the posture, which is all a residual at rest needs.
//!
//! Each segment gets the summed mass and inertia of its bodies. Gravity is off; the loads are
//! those of the solution: every body's share `-m_b / m * GRF` at its centre of mass, the ground
//! reaction at its centre of pressure on the foot, each muscle's tension along every straight
//! piece of its path, applied at the path's points (and wrap tangent points) on their bodies as
//! OpenSim applies a path's tension, and the hip contact force (the femur pushed by the
//! acetabulum, the upper body by the head). One step from rest gives the generalised
//! accelerations `qdd`; the residual is the generalised force that would hold the posture,
//! `M qdd` (N m), with `M` the multibody's mass matrix (taken from rapier's factorisation).
//!
//! The joints carry the hip contact force anyway, so the force balance of the upper body is not
//! tested (it holds by construction of the contact force): the check is about moments.
//!
//! # Units
//! SI inside; rapier in metres, kilograms and seconds (`length_unit` 1), f32. There are no
//! colliders, so the f32 metre-scale trouble of parry's distance queries (docs/STACK.md) does not
//! arise here.

use std::collections::HashSet;

use coxa_osim::Model;
use nalgebra::{Matrix3, Point3, Vector3};
use rapier3d::prelude::*;

use super::hcf::{HcfResult, subtree};
use super::kinematics::{Kinematics, apply_couplers};
use super::path::muscle_path;
use super::{MskError, Result};

/// An SI vector (m, N, N m) as rapier's f32 vector (the posture check runs in SI).
fn si_to_sim(v: &Vector3<f64>) -> rapier3d::math::Vector {
    rapier3d::math::Vector::new(v.x as f32, v.y as f32, v.z as f32)
}

/// Standing height over the height of the hip centre (Winter 2009, greater trochanter at
/// 0.530 of the height): the height used to scale [`PostureResidual::max_percent_bw_height`]
/// when none is given.
const HEIGHT_PER_HIP_HEIGHT: f64 = 1.0 / 0.530;

/// The time step of the check, s.
const DT_S: f64 = 1e-3;

/// What the rapier3d check found: the generalised forces missing to hold the posture. The
/// solved forces leave what the static optimisation gave its reserve actuators
/// ([`HcfResult::reserve_n_m`], [`HcfResult::distal_reserve_n_m`]), the approximations named in
/// the [module docs](self) and f32 rounding.
#[derive(Debug, Clone)]
pub struct PostureResidual {
    /// Names of the checked degrees of freedom: `hip_x`, `hip_y`, `hip_z` (moment on the upper
    /// body about the hip centre along the ground axes), `knee`, `ankle`.
    pub dofs: Vec<String>,
    /// Generalised accelerations after one step from rest, rad/s^2.
    pub accelerations_rad_s2: Vec<f64>,
    /// Residual generalised forces `M qdd`, N m (what a reserve actuator would add).
    pub residual_n_m: Vec<f64>,
    /// Largest residual magnitude (the hip's as the norm of its 3-vector), N m.
    pub max_n_m: f64,
    /// The same in % body weight x height.
    pub max_percent_bw_height: f64,
    /// The height used, m (estimated from the model's hip height when not given).
    pub height_m: f64,
}

/// The instantaneous screw of `child` relative to the ground when coordinate `c` moves (the
/// parent does not move with it), ground frame.
#[derive(Debug, Clone, Copy)]
struct Screw {
    /// Unit axis.
    axis: Vector3<f64>,
    /// A point on the axis, m.
    point: Vector3<f64>,
    /// Slide along the axis per radian of turn, m/rad.
    pitch_m_per_rad: f64,
    /// Turn per unit of the coordinate, rad.
    rate: f64,
}

fn instantaneous_axis(model: &Model, kin: &Kinematics, q: &[f64], c: usize, child: usize) -> Result<Screw> {
    const H: f64 = 1e-6;
    let (qp, qm) = super::kinematics::perturbed(model, q, c, H);
    let (pp, pm) = (kin.body_poses(model, &qp)[child], kin.body_poses(model, &qm)[child]);
    let dr = (pp.rotation * pm.rotation.inverse()).scaled_axis() / (2.0 * H);
    let dp = (pp.translation.vector - pm.translation.vector) / (2.0 * H);
    let p = 0.5 * (pp.translation.vector + pm.translation.vector);
    let w2 = dr.norm_squared();
    if w2.is_nan() || w2 <= 1e-12 {
        return Err(MskError::Model { what: format!("coordinate {} does not rotate {}", model.coordinates[c].name, model.bodies[child].name) });
    }
    // The velocity field v0 + w x x: a turn about the axis through w x v0 / |w|^2 and a slide
    // along w.
    let v0 = dp - dr.cross(&p);
    Ok(Screw { axis: dr / w2.sqrt(), point: dr.cross(&v0) / w2, pitch_m_per_rad: dr.dot(&v0) / w2, rate: w2.sqrt() })
}

/// A joint that turns about and slides along the screw's axis (free linear and angular x of a
/// frame whose x is the axis, at the axis point, on both bodies: they sit at the identity pose).
fn screw_joint(s: &Screw) -> GenericJoint {
    let frame = Pose::from_parts(si_to_sim(&s.point), Rotation::from_rotation_arc(Vector::X, si_to_sim(&s.axis).normalize()));
    GenericJointBuilder::new(JointAxesMask::LOCKED_REVOLUTE_AXES & !JointAxesMask::LIN_X).local_frame1(frame).local_frame2(frame).build()
}

/// One rigid segment of the check: its bodies, lumped mass properties (ground axes) and the
/// loads on it.
struct Segment {
    mass_kg: f64,
    com_m: Vector3<f64>,
    inertia_kg_m2: Matrix3<f64>,
    force_n: Vector3<f64>,
    /// Moment about the ground origin, N m.
    moment_n_m: Vector3<f64>,
}

impl Segment {
    fn new(model: &Model, bodies: &HashSet<usize>, poses: &[nalgebra::Isometry3<f64>]) -> Self {
        let (mut m, mut c) = (0.0, Vector3::zeros());
        for &b in bodies {
            m += model.bodies[b].mass_kg;
            c += model.bodies[b].mass_kg * poses[b].transform_point(&Point3::from(model.bodies[b].mass_center_m)).coords;
        }
        let c = if m > 0.0 { c / m } else { Vector3::zeros() };
        let mut inertia = Matrix3::zeros();
        for &b in bodies {
            let bd = &model.bodies[b];
            let [xx, yy, zz, xy, xz, yz] = bd.inertia_kg_m2;
            let local = Matrix3::new(xx, xy, xz, xy, yy, yz, xz, yz, zz);
            let r = poses[b].rotation.to_rotation_matrix();
            let d = poses[b].transform_point(&Point3::from(bd.mass_center_m)).coords - c;
            inertia += r * local * r.transpose() + bd.mass_kg * (Matrix3::identity() * d.norm_squared() - d * d.transpose());
        }
        // A massless segment still needs a positive mass matrix; it carries no load of its own.
        if m <= 1e-6 {
            m = 1e-3;
            inertia = Matrix3::identity() * 1e-6;
        }
        Self { mass_kg: m, com_m: c, inertia_kg_m2: inertia, force_n: Vector3::zeros(), moment_n_m: Vector3::zeros() }
    }

    fn push(&mut self, force: Vector3<f64>, at: Vector3<f64>) {
        self.force_n += force;
        self.moment_n_m += at.cross(&force);
    }
}

/// Checks in rapier3d that the forces of `result` (from [`super::hcf::hip_contact_force`] on
/// `model`, with `body_weight_n`) hold its posture, see the [module docs](self). `height_m`
/// scales the residual in % body weight x height; `None` estimates it from the model. The
/// muscle forces are read from `result.muscle_forces_n`, so a caller may change them to see the
/// residual grow.
pub fn check_posture_rapier(model: &Model, result: &HcfResult, body_weight_n: f64, height_m: Option<f64>) -> Result<PostureResidual> {
    if !(body_weight_n.is_finite() && body_weight_n > 0.0) {
        return Err(MskError::InvalidInput { what: "body weight (N)".into(), value: body_weight_n, why: "must be positive".into() });
    }
    if let Some(h) = height_m.filter(|h| !(h.is_finite() && *h > 0.3 && *h < 3.0)) {
        return Err(MskError::InvalidInput { what: "height (m)".into(), value: h, why: "must be between 0.3 and 3 m".into() });
    }
    let q = &result.coordinates;
    if q.len() != model.coordinates.len() {
        return Err(MskError::InvalidInput { what: "number of coordinate values".into(), value: q.len() as f64, why: format!("the model has {} coordinates", model.coordinates.len()) });
    }
    let kin = Kinematics::new(model)?;
    let body = |n: &str| model.body_index(n).ok_or(MskError::UnknownName { kind: "body", name: n.into() });
    let coord = |n: &str| model.coordinate_index(n).ok_or(MskError::UnknownName { kind: "coordinate", name: n.into() });
    let (femur_b, tibia_b, talus_b) = (body("femur_r")?, body("tibia_r")?, body("talus_r")?);
    let (knee_c, ankle_c) = (coord("knee_angle_r")?, coord("ankle_angle_r")?);
    let foot_b = body("calcn_r").unwrap_or(talus_b);
    let hip_joint = model.joints.iter().find(|j| j.child.body == femur_b).ok_or(MskError::Model { what: "femur_r has no parent joint".into() })?;
    let poses = kin.body_poses(model, q);

    // Segments: 0 upper body, 1 femur, 2 shank, 3 foot, 4 a body on the femur that the knee
    // coordinate moves through a coupler (Rajagopal's patella), if any.
    let leg = subtree(model, femur_b);
    let below_knee = subtree(model, tibia_b);
    let foot: HashSet<usize> = subtree(model, talus_b);
    let upper: HashSet<usize> = (0..model.bodies.len()).filter(|b| !leg.contains(b)).collect();
    let mut thigh: HashSet<usize> = leg.difference(&below_knee).copied().collect();
    let shank: HashSet<usize> = below_knee.difference(&foot).copied().collect();
    let coupled = model.joints.iter().filter(|j| j.parent.body == femur_b && j.child.body != tibia_b).map(|j| j.child.body).find(|&b| instantaneous_axis(model, &kin, q, knee_c, b).is_ok());
    let patella: HashSet<usize> = coupled.map(|b| subtree(model, b)).unwrap_or_default();
    thigh.retain(|b| !patella.contains(b));
    let segment_of = |b: usize| {
        if foot.contains(&b) {
            3
        } else if shank.contains(&b) {
            2
        } else if patella.contains(&b) {
            4
        } else if thigh.contains(&b) {
            1
        } else {
            0
        }
    };
    let mut segs: Vec<Segment> = [&upper, &thigh, &shank, &foot, &patella].iter().map(|s| Segment::new(model, s, &poses)).collect();

    // Loads: body shares of the ground reaction, the ground reaction, muscles, hip contact.
    let m_all = model.total_mass_kg();
    let grf = result.ground_reaction_n;
    for (i, bd) in model.bodies.iter().enumerate() {
        let c = poses[i].transform_point(&Point3::from(bd.mass_center_m)).coords;
        segs[segment_of(i)].push(-(bd.mass_kg / m_all) * grf, c);
    }
    segs[segment_of(foot_b)].push(grf, result.centre_of_pressure_m);
    for (name, tension) in &result.muscle_forces_n {
        let muscle = model.muscle(name).ok_or(MskError::UnknownName { kind: "muscle", name: name.clone() })?;
        let path = muscle_path(model, muscle, &poses, q)?;
        for w in path.nodes.windows(2) {
            if w[0].wrap.is_some() && w[0].wrap == w[1].wrap {
                continue;
            }
            let d = w[1].ground_m - w[0].ground_m;
            let n = d.norm();
            if n < 1e-12 {
                continue;
            }
            let u = d / n;
            segs[segment_of(w[0].body)].push(*tension * u, w[0].ground_m);
            segs[segment_of(w[1].body)].push(-*tension * u, w[1].ground_m);
        }
    }
    let hip_centre = (poses[femur_b] * Point3::from(hip_joint.child.translation_m)).coords;
    let hcf_ground = poses[femur_b].rotation * result.force_femur_n;
    segs[1].push(hcf_ground, hip_centre);
    segs[0].push(-hcf_ground, hip_centre);

    // The multibody, every body at the identity pose so that local coordinates are ground ones.
    let mut world = PhysicsWorld::new();
    world.gravity = Vector::ZERO;
    world.integration_parameters.dt = DT_S as f32;
    let mut handles = Vec::with_capacity(4);
    for (k, s) in segs.iter().enumerate() {
        let i = &s.inertia_kg_m2;
        let inertia = rapier3d::math::Matrix::from_cols(si_to_sim(&i.column(0).into_owned()), si_to_sim(&i.column(1).into_owned()), si_to_sim(&i.column(2).into_owned()));
        let mprops = MassProperties::with_inertia_matrix(si_to_sim(&s.com_m), s.mass_kg as f32, inertia);
        // The femur is the fixed root; without a coupled body its empty segment is left fixed.
        let builder = if k == 1 || (k == 4 && coupled.is_none()) { RigidBodyBuilder::fixed() } else { RigidBodyBuilder::dynamic() };
        let mut rb = builder.additional_mass_properties(mprops).can_sleep(false).build();
        // Forces about the segment's centre of mass (rapier's torque reference).
        rb.add_force(si_to_sim(&s.force_n), true);
        rb.add_torque(si_to_sim(&(s.moment_n_m - s.com_m.cross(&s.force_n))), true);
        handles.push(world.insert_body(rb));
    }
    // Knee, ankle and the coupled body move on screws: a turn about the instantaneous axis and
    // a slide along it, `pitch` metres per radian (a rapier dof coupling within the joint); the
    // coupled body turns `ratio` radians per radian of the knee (a coupling between joints).
    let knee = instantaneous_axis(model, &kin, q, knee_c, tibia_b)?;
    let ankle = instantaneous_axis(model, &kin, q, ankle_c, talus_b)?;
    let patella_screw = match coupled {
        Some(b) => Some(instantaneous_axis(model, &kin, q, knee_c, b)?),
        None => None,
    };
    let ratio = patella_screw.map_or(0.0, |p| p.rate / knee.rate);
    let mut joints = vec![
        (handles[1], handles[0], GenericJoint::from(SphericalJointBuilder::new().local_anchor1(si_to_sim(&hip_centre)).local_anchor2(si_to_sim(&hip_centre)))),
        (handles[1], handles[2], screw_joint(&knee)),
        (handles[2], handles[3], screw_joint(&ankle)),
    ];
    if let Some(p) = &patella_screw {
        joints.push((handles[1], handles[4], screw_joint(p)));
    }
    let mut joint_handles = Vec::with_capacity(joints.len());
    for (a, b, j) in joints {
        joint_handles.push(world.insert_multibody_joint(a, b, j).ok_or(MskError::Model { what: "rapier refused a multibody joint of the posture check".into() })?);
    }
    let link = |h: MultibodyJointHandle| world.multibody_joints.get(h).map(|(_, l)| l).ok_or(MskError::Model { what: "a posture check joint vanished".into() });
    let mut couplings = Vec::new();
    // A screw joint's free dofs are its linear x (dof 0, spatial axis 0) and angular x (dof 1,
    // spatial axis 3): slide = pitch * turn.
    for (k, screw) in [(1, knee), (2, ankle)].into_iter().chain(patella_screw.map(|p| (3, p))) {
        let l = link(joint_handles[k])?;
        couplings.push(MultibodyDofCoupling { link1: l, dof1: 1, axis1: 3, link2: l, dof2: 0, axis2: 0, coeff: screw.pitch_m_per_rad as f32, offset: 0.0 });
    }
    if patella_screw.is_some() {
        let (knee_link, patella_link) = (link(joint_handles[1])?, link(joint_handles[3])?);
        couplings.push(MultibodyDofCoupling { link1: knee_link, dof1: 1, axis1: 3, link2: patella_link, dof2: 1, axis2: 3, coeff: ratio as f32, offset: 0.0 });
    }
    {
        let (mb, _) = world.multibody_joints.get_mut(joint_handles[0]).ok_or(MskError::Model { what: "the posture check's multibody vanished".into() })?;
        for c in couplings {
            mb.add_dof_coupling(c);
        }
    }
    world.step();

    let (mb, _) = world.multibody_joints.get(joint_handles[0]).ok_or(MskError::Model { what: "the posture check's multibody vanished".into() })?;
    let n = mb.ndofs();
    let expected = 3 + 2 * (joint_handles.len() - 1);
    if n != expected {
        return Err(MskError::Model { what: format!("the posture check's multibody has {n} degrees of freedom, expected {expected}") });
    }
    // Assembly indices of each joint's dofs (hip 3; knee, ankle, coupled body: slide, turn).
    let mut dofs_of = Vec::with_capacity(joint_handles.len());
    for h in &joint_handles {
        let (_, link_id) = world.multibody_joints.get(*h).ok_or(MskError::Model { what: "a posture check joint vanished".into() })?;
        let l = mb.link(link_id).ok_or(MskError::Model { what: "a posture check link vanished".into() })?;
        dofs_of.push(l.assembly_id()..l.assembly_id() + l.joint().ndofs());
    }
    let qdd_asm = nalgebra::DVector::<f64>::from_iterator(n, mb.generalized_velocity().iter().map(|v| f64::from(*v) / DT_S));
    // M from M^-1 (column by column through rapier's LU), in f64.
    let lu = mb.inv_augmented_mass();
    let mut minv = nalgebra::DMatrix::<f64>::zeros(n, n);
    for j in 0..n {
        let mut e = rapier3d::na::DVector::<f32>::zeros(n);
        e[j] = 1.0;
        let col = lu.solve(&e).ok_or(MskError::Model { what: "the posture check's mass matrix is singular".into() })?;
        for i in 0..n {
            minv[(i, j)] = f64::from(col[i]);
        }
    }
    let m = minv.try_inverse().ok_or(MskError::Model { what: "the posture check's mass matrix is singular".into() })?;
    let tau = &m * &qdd_asm;
    // Each checked coordinate's generalised force along its (coupled) motion: the couplings'
    // own constraint forces do no work along it.
    let screw_tau = |k: usize, pitch: f64| tau[dofs_of[k].start + 1] + pitch * tau[dofs_of[k].start];
    let hip_dofs = dofs_of[0].clone();
    let mut residual_n_m: Vec<f64> = hip_dofs.clone().map(|i| tau[i]).collect();
    let mut knee_tau = screw_tau(1, knee.pitch_m_per_rad);
    if let Some(p) = &patella_screw {
        knee_tau += ratio * screw_tau(3, p.pitch_m_per_rad);
    }
    // The straight knee's passive lock (one-leg stance) is a load the solution relies on: a
    // generalised force on the knee coordinate (per radian of it; the residual is per radian
    // of the tibia's turn, `rate` radians per knee radian), not a muscle.
    knee_tau += result.passive_knee_n_m / knee.rate;
    residual_n_m.push(knee_tau);
    residual_n_m.push(screw_tau(2, ankle.pitch_m_per_rad));
    let mut qdd: Vec<f64> = hip_dofs.map(|i| qdd_asm[i]).collect();
    qdd.push(qdd_asm[dofs_of[1].start + 1]);
    qdd.push(qdd_asm[dofs_of[2].start + 1]);
    let hip = Vector3::new(residual_n_m[0], residual_n_m[1], residual_n_m[2]).norm();
    let max_n_m = hip.max(residual_n_m[3].abs()).max(residual_n_m[4].abs());
    let height_m = match height_m {
        Some(h) => h,
        None => {
            // Hip height above the foot's lowest origin at the default pose.
            let mut q0 = model.default_coordinates();
            apply_couplers(model, &mut q0);
            let p0 = kin.body_poses(model, &q0);
            let hip0 = p0[femur_b] * Point3::from(hip_joint.child.translation_m);
            let sole = foot.iter().map(|&b| p0[b].translation.vector.y).fold(f64::INFINITY, f64::min);
            (hip0.y - sole) * HEIGHT_PER_HIP_HEIGHT
        }
    };
    Ok(PostureResidual {
        dofs: ["hip_x", "hip_y", "hip_z", "knee", "ankle"].iter().map(|s| (*s).to_string()).collect(),
        accelerations_rad_s2: qdd,
        residual_n_m,
        max_n_m,
        max_percent_bw_height: 100.0 * max_n_m / (body_weight_n * height_m),
        height_m,
    })
}

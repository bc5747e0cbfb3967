//! The hip contact force along a whole activity whose motion is known: rising from a chair
//! (sit-to-stand), from seat-off to standing, quasi-static; and the activity as an OpenSim
//! motion (`.mot`) with the force along it (`.sto`).
//!
//! # Why this activity
//! No standard walking cycle (joint angles over the gait cycle) is on this machine: the OpenSim
//! 4.6 wheel ships no models or motions, `../shared/data/opensim` holds models only, and
//! nothing may be downloaded. The motion coxa knows is its own daily-life paths
//! (`coxa_sim::rom::daily_life_motions`); of them only rising from a chair carries the body
//! weight through the hip, and OrthoLoad measured it (the `SU` files of H2R and H3L), so its
//! peak can be compared with the in-vivo force.
//!
//! # The motion
//! - Seat-off: the hip angles (relative to the pelvis, OpenSim's coordinates) are given by the
//!   caller: coxa's are those of its `sit_to_stand` path at its end
//!   (`coxa_sim::rom::seat_off_hip_deg`: 115 deg of flexion in the standing body's frame with
//!   the sitting pelvis tilted 20 deg posterior, i.e. about 95 deg of hip flexion, with its 5 deg
//!   of adduction and internal rotation). The knee is flexed 90 deg (a seat at knee height:
//!   thigh horizontal and shank vertical when sitting).
//! - From seat-off to standing the hip and knee angles go linearly to 0 (progress 0..1), both
//!   legs alike (symmetric rising), the trunk fixed on the pelvis (lumbar angles 0).
//! - Two angles are not prescribed. The pelvis' pitch in the ground follows from the feet being
//!   flat (the calcaneus' long axis horizontal). The ankle angle is free within the angles that
//!   keep the whole body's centre of mass above the foot (between the heel, the calcaneus
//!   origin, and the metatarsophalangeal joint): a quasi-static body is balanced only with its
//!   centre of mass above its base of support. Within that, it is chosen, as the posture search
//!   of [`super::hcf`] chooses a standing person's free parameters, for the least muscular
//!   effort. Where no ankle angle in the model's range balances the body (the real rising is
//!   dynamic at seat-off: momentum carries the centre of mass forward), the step is marked
//!   unbalanced and left out of the peak; so is a step the muscles cannot hold without the
//!   reserve actuators (e.g. Rajagopal 2016 at seat-off, where the dorsiflexed ankle's
//!   passive soleus needs a reserve of about 27 N m).
//!
//! # The loads
//! Both feet carry half the body weight each, vertically, at their centre of pressure below the
//! centre of mass (on the foot's long axis). The right hip's free body is everything not in the right leg (pelvis,
//! trunk, left leg): its load is its weight (each body's share of the subject's weight at its
//! centre of mass) plus the left foot's ground reaction; the right knee and ankle balance the
//! weight of the right leg's bodies and the right foot's ground reaction (virtual work, as in
//! [`super::hcf`]). The muscles of the right leg balance these with least effort
//! ([`super::hcf::HcfOptions`]), and the hip contact force is computed as in [`super::hcf`].
//! Muscles are isometric (no force-velocity), inertia is neglected (quasi-static).

use coxa_osim::{Model, MotionType, Storage};
use nalgebra::{Point3, Vector3};

use super::hcf::{HcfOptions, HcfResult, Loads, balance, subtree};
use super::kinematics::{Kinematics, apply_couplers, clamp_coordinates, perturbed};
use super::landmarks::RightFemur;
use super::{MskError, Result};

/// Knee flexion at seat-off, deg: a seat at knee height (thigh horizontal, shank vertical).
pub const SEAT_OFF_KNEE_FLEXION_DEG: f64 = 90.0;

/// A point on the foot's long axis, as a fraction of the way from the heel (calcaneus origin,
/// 0) to the metatarsophalangeal joint (1); the centre of pressure lies on the line through it
/// along the foot, below the centre of mass.
const CENTRE_OF_PRESSURE_FOOT_FRACTION: f64 = 0.5;

/// Largest reserve moment (hip, knee or ankle) of a step the muscles hold, N m.
pub const HELD_RESERVE_N_M: f64 = 1.0;

/// Seconds per unit of progress in the written motion (rising takes about 1-2 s).
pub const RISING_DURATION_S: f64 = 1.5;

/// One step of the activity.
#[derive(Debug, Clone)]
pub struct RisingStep {
    /// Progress from seat-off (0) to standing (1).
    pub progress: f64,
    /// Right hip coordinates (flexion, adduction, rotation), deg (OpenSim's senses).
    pub hip_deg: [f64; 3],
    /// Knee flexion, deg.
    pub knee_flexion_deg: f64,
    /// Ankle dorsiflexion (the model's `ankle_angle`), deg, solved for balance.
    pub ankle_deg: f64,
    /// Whether the centre of mass is above the foot (heel to metatarsophalangeal joint); false
    /// where no ankle angle in the model's range balances the body quasi-statically.
    pub balanced: bool,
    /// Whether the muscles hold the posture without the reserve actuators (every reserve below
    /// [`HELD_RESERVE_N_M`]).
    pub held: bool,
    /// The hip contact force and muscle forces of the right hip (its posture in
    /// [`HcfResult::coordinates`]).
    pub result: HcfResult,
}

/// The activity: its steps, and the peak of the balanced ones.
#[derive(Debug, Clone)]
pub struct Rising {
    /// The steps, progress increasing.
    pub steps: Vec<RisingStep>,
}

impl Rising {
    /// The largest hip contact force of the steps that are balanced and held by the muscles.
    pub fn peak(&self) -> Option<&RisingStep> {
        self.steps.iter().filter(|s| s.balanced && s.held).max_by(|a, b| a.result.magnitude_percent_bw.total_cmp(&b.result.magnitude_percent_bw))
    }
}

fn index(model: &Model, name: &str) -> Result<usize> {
    model.coordinate_index(name).ok_or(MskError::UnknownName { kind: "coordinate", name: name.into() })
}

fn body(model: &Model, name: &str) -> Result<usize> {
    model.body_index(name).ok_or(MskError::UnknownName { kind: "body", name: name.into() })
}

/// The point of a foot under which the centre of pressure lies, in its calcaneus' frame.
fn cop_in_calcn(model: &Model, calcn: usize) -> Vector3<f64> {
    let mtp = model.joints.iter().find(|j| j.parent.body == calcn).map(|j| j.parent.translation_m).unwrap_or_else(|| Vector3::new(0.18, 0.0, 0.0));
    CENTRE_OF_PRESSURE_FOOT_FRACTION * Vector3::new(mtp.x, 0.0, mtp.z)
}

/// The hip contact force of the right hip along rising from a chair, at `steps` + 1 evenly
/// spaced steps from seat-off to standing, for a subject of `body_weight_n` (see the module
/// docs). `seat_off_hip_deg`: the right hip's coordinates at seat-off (flexion, adduction,
/// rotation; OpenSim's senses, deg; coxa's are `coxa_sim::rom::seat_off_hip_deg`). `femur` maps
/// the forces into the patient's OrthoLoad frame, as in [`super::hcf::hip_contact_force`].
///
/// # Errors
/// A body weight out of 100..5000 N, seat-off angles that are not finite, `steps` outside
/// 1..1000, a model without the gait2392 /
/// Rajagopal names (pelvis, femur, tibia, talus, calcaneus of both sides, their hip, knee and
/// ankle coordinates), or a posture the muscles cannot hold.
pub fn rising_from_chair(model: &Model, body_weight_n: f64, femur: Option<&RightFemur>, options: &HcfOptions, seat_off_hip_deg: [f64; 3], steps: usize) -> Result<Rising> {
    if !(body_weight_n.is_finite() && body_weight_n > 100.0 && body_weight_n < 5000.0) {
        return Err(MskError::InvalidInput { what: "body weight (N)".into(), value: body_weight_n, why: "must be between 100 and 5000 N".into() });
    }
    if let Some(bad) = seat_off_hip_deg.iter().find(|a| !(a.is_finite() && a.abs() <= 180.0)) {
        return Err(MskError::InvalidInput { what: "seat-off hip angle (deg)".into(), value: *bad, why: "must be a finite angle within -180..180 deg".into() });
    }
    if !(1..=1000).contains(&steps) {
        return Err(MskError::InvalidInput { what: "steps of the activity".into(), value: steps as f64, why: "must be 1..1000".into() });
    }
    let kin = Kinematics::new(model)?;
    let seat_off = seat_off_hip_deg;
    let mut out = Vec::with_capacity(steps + 1);
    for k in 0..=steps {
        let s = k as f64 / steps as f64;
        let hip = seat_off.map(|a| a * (1.0 - s));
        let knee = SEAT_OFF_KNEE_FLEXION_DEG * (1.0 - s);
        out.push(step(model, &kin, body_weight_n, femur, options, s, hip, knee)?);
    }
    Ok(Rising { steps: out })
}

/// Everything fixed within one step: the model's indices and the posture but the ankle angle.
struct Setup<'a> {
    model: &'a Model,
    kin: &'a Kinematics,
    body_weight_n: f64,
    femur: Option<&'a RightFemur>,
    options: &'a HcfOptions,
    tilt_i: usize,
    ankle: [usize; 2],
    femur_b: usize,
    calcn: [usize; 2],
    leg: std::collections::HashSet<usize>,
    cop_local: [Vector3<f64>; 2],
}

impl Setup<'_> {
    fn poses(&self, q: &mut [f64]) -> Vec<nalgebra::Isometry3<f64>> {
        clamp_coordinates(self.model, q);
        apply_couplers(self.model, q);
        self.kin.body_poses(self.model, q)
    }

    /// Sets both ankles to `a` (rad) and the pelvis pitch that puts the right foot flat (its
    /// calcaneus' x axis horizontal; in this symmetric sagittal motion the foot's pitch is the
    /// pelvis tilt plus a constant, so Newton with a numerical slope converges in a few steps);
    /// returns the poses.
    fn at_ankle(&self, q: &mut [f64], a: f64) -> Vec<nalgebra::Isometry3<f64>> {
        q[self.ankle[0]] = a;
        q[self.ankle[1]] = a;
        let pitch = |q: &mut [f64]| {
            let x = self.poses(q)[self.calcn[0]].rotation * Vector3::x();
            x.y.atan2(x.x)
        };
        for _ in 0..20 {
            let f = pitch(q);
            if f.abs() < 1e-10 {
                break;
            }
            q[self.tilt_i] += 1e-6;
            let slope = (pitch(q) - f) / 1e-6;
            q[self.tilt_i] -= 1e-6;
            if slope.abs() < 1e-6 {
                break;
            }
            q[self.tilt_i] -= f / slope;
        }
        self.poses(q)
    }

    /// Where the centre of mass lies along the right foot: 0 above the heel, 1 above the
    /// metatarsophalangeal joint.
    fn com_along_foot(&self, poses: &[nalgebra::Isometry3<f64>]) -> f64 {
        let (com, _) = centre_of_mass(self.model, poses);
        let heel = poses[self.calcn[0]].translation.vector.x;
        let mtp = (poses[self.calcn[0]] * Point3::from(self.cop_local[0] / CENTRE_OF_PRESSURE_FOOT_FRACTION)).x;
        (com.x - heel) / (mtp - heel)
    }

    /// The muscles' solution with the centre of pressure below the centre of mass.
    fn solve(&self, q: &[f64], poses: &[nalgebra::Isometry3<f64>]) -> Result<(HcfResult, f64)> {
        let model = self.model;
        let (com, m_all) = centre_of_mass(model, poses);
        if m_all <= 0.0 {
            return Err(MskError::Model { what: "the model has no mass".into() });
        }
        let g_per_kg = self.body_weight_n / m_all;
        let hip_joint = model.joints.iter().find(|j| j.child.body == self.femur_b).ok_or(MskError::Model { what: "femur_r has no parent joint".into() })?;
        let hip_centre = (poses[self.femur_b] * Point3::from(hip_joint.child.translation_m)).coords;
        // Each foot's centre of pressure: below the centre of mass, on the foot's long axis,
        // fixed in the calcaneus for the virtual displacements.
        let cop_local: Vec<Vector3<f64>> = (0..2)
            .map(|side| {
                let p = poses[self.calcn[side]];
                let on_axis = p * Point3::from(self.cop_local[side]);
                p.inverse_transform_point(&Point3::new(com.x, on_axis.y, on_axis.z)).coords
            })
            .collect();
        let cop = |p: &[nalgebra::Isometry3<f64>], side: usize| p[self.calcn[side]].transform_point(&Point3::from(cop_local[side])).coords;
        let grf = Vector3::new(0.0, 0.5 * self.body_weight_n, 0.0);
        let weight = |b: usize| Vector3::new(0.0, -g_per_kg * model.bodies[b].mass_kg, 0.0);
        let centre = |p: &[nalgebra::Isometry3<f64>], b: usize| p[b].transform_point(&Point3::from(model.bodies[b].mass_center_m)).coords;
        let (mut force, mut moment) = (Vector3::zeros(), Vector3::zeros());
        for b in (0..model.bodies.len()).filter(|b| !self.leg.contains(b)) {
            force += weight(b);
            moment += (centre(poses, b) - hip_centre).cross(&weight(b));
        }
        force += grf;
        moment += (cop(poses, 1) - hip_centre).cross(&grf);
        let distal: Vec<usize> = if self.options.distal_equilibrium { ["knee_angle_r", "ankle_angle_r"].iter().filter_map(|n| model.coordinate_index(n)).collect() } else { Vec::new() };
        let mut generalised = Vec::with_capacity(distal.len());
        for &c in &distal {
            const H: f64 = 1e-6;
            let (qp, qm) = perturbed(model, q, c, H);
            let (pp, pm) = (self.kin.body_poses(model, &qp), self.kin.body_poses(model, &qm));
            let mut g: f64 = (0..model.bodies.len()).map(|b| weight(b).dot(&(centre(&pp, b) - centre(&pm, b)))).sum();
            g += grf.dot(&(cop(&pp, 0) - cop(&pm, 0)));
            generalised.push(g / (2.0 * H));
        }
        let loads = Loads { force_n: force, moment_n_m: moment, distal, generalised_n_m: generalised, mt_speed_m_s: std::collections::HashMap::new() };
        let (result, effort) = balance(model, self.kin, self.femur, self.options, q, poses, &self.leg, self.body_weight_n, &loads)?;
        Ok((HcfResult { ground_reaction_n: grf, centre_of_pressure_m: cop(poses, 0), pelvis_tilt_deg: -q[self.tilt_i].to_degrees(), ..result }, effort))
    }
}

#[allow(clippy::too_many_arguments, reason = "the subject, the options and the step's prescribed angles")]
fn step(model: &Model, kin: &Kinematics, body_weight_n: f64, femur: Option<&RightFemur>, options: &HcfOptions, progress: f64, hip_deg: [f64; 3], knee_deg: f64) -> Result<RisingStep> {
    let knee_sign = if model.coordinates.iter().any(|c| c.name == "knee_angle_r" && c.range[1] > 1.0) { 1.0 } else { -1.0 };
    let ankle = [index(model, "ankle_angle_r")?, index(model, "ankle_angle_l")?];
    let femur_b = body(model, "femur_r")?;
    let calcn = [body(model, "calcn_r")?, body(model, "calcn_l")?];
    let setup = Setup {
        model,
        kin,
        body_weight_n,
        femur,
        options,
        tilt_i: index(model, "pelvis_tilt")?,
        ankle,
        femur_b,
        calcn,
        leg: subtree(model, femur_b),
        cop_local: [cop_in_calcn(model, calcn[0]), cop_in_calcn(model, calcn[1])],
    };
    let mut q = model.default_coordinates();
    for c in ["pelvis_tilt", "pelvis_list", "pelvis_rotation", "lumbar_extension", "lumbar_bending", "lumbar_rotation", "subtalar_angle_r", "subtalar_angle_l", "mtp_angle_r", "mtp_angle_l"] {
        if let Some(i) = model.coordinate_index(c) {
            q[i] = 0.0;
        }
    }
    for side in ["r", "l"] {
        for (name, v) in [("hip_flexion", hip_deg[0]), ("hip_adduction", hip_deg[1]), ("hip_rotation", hip_deg[2]), ("knee_angle", knee_sign * knee_deg)] {
            q[index(model, &format!("{name}_{side}"))?] = v.to_radians();
        }
    }
    // The ankle angles whose centre of mass lies above the foot (between heel and
    // metatarsophalangeal joint): the along-foot position grows with dorsiflexion (the body
    // leans forward over the foot), so each end is found by bisection within the model's range.
    let range = model.coordinates[ankle[0]].range;
    let (lo, hi) = (range[0].min(range[1]), range[0].max(range[1]));
    let along = |q: &mut Vec<f64>, a: f64| {
        let p = setup.at_ankle(q, a);
        setup.com_along_foot(&p)
    };
    let (flo, fhi) = (along(&mut q, lo), along(&mut q, hi));
    let crossing = |q: &mut Vec<f64>, target: f64| -> f64 {
        if (flo - target) * (fhi - target) > 0.0 {
            return if (flo - target).abs() < (fhi - target).abs() { lo } else { hi };
        }
        let (mut a, mut b) = (lo, hi);
        for _ in 0..50 {
            let mid = 0.5 * (a + b);
            if (along(q, mid) - target) * (flo - target) > 0.0 {
                a = mid;
            } else {
                b = mid;
            }
        }
        0.5 * (a + b)
    };
    let (a0, a1) = (crossing(&mut q, 0.0), crossing(&mut q, 1.0));
    let (a0, a1) = (a0.min(a1), a0.max(a1));
    // Within that, the ankle angle of least muscular effort (as the posture search of
    // [`super::hcf`] chooses a standing person's free parameters): the effort over a grid, then a
    // compass search from its best point.
    let solve_at = |a: f64| -> Option<((Vec<f64>, HcfResult), f64)> {
        let mut qq = q.clone();
        let p = setup.at_ankle(&mut qq, a);
        setup.solve(&qq, &p).ok().map(|(r, e)| ((qq, r), e))
    };
    const GRID: usize = 7;
    let mut best: Option<(Vec<f64>, Candidate)> = None;
    for k in 0..GRID {
        let a = if a1 > a0 { a0 + (a1 - a0) * k as f64 / (GRID - 1) as f64 } else { a0 };
        if let Some(r) = solve_at(a)
            && best.as_ref().is_none_or(|b| r.1 < b.1.1)
        {
            best = Some((vec![a], r));
        }
    }
    let best = best.ok_or(MskError::Infeasible { why: format!("no ankle angle balances rising at progress {progress:.2}") })?;
    let first = [((a1 - a0) / (GRID - 1) as f64 / 2.0).max(1e-4)];
    let ((x, ((q, result), _)), _) = super::hcf::compass_search(best, &[(a0, a1.max(a0))], &first, super::hcf::POSTURE_SEARCH_ROUNDS, |x| solve_at(x[0]));
    let mut qq = q.clone();
    let poses = setup.at_ankle(&mut qq, x[0]);
    let f = setup.com_along_foot(&poses);
    let balanced = (-1e-3..=1.0 + 1e-3).contains(&f);
    let result = HcfResult { hip_angles_deg: hip_deg, ..result };
    let held = result.reserve_n_m.iter().chain(&result.distal_reserve_n_m).all(|r| r.abs() < HELD_RESERVE_N_M);
    Ok(RisingStep { progress, hip_deg, knee_flexion_deg: knee_deg, ankle_deg: q[ankle[0]].to_degrees(), balanced, held, result })
}

/// A solved ankle angle: the posture's coordinates and solution, and its effort.
type Candidate = ((Vec<f64>, HcfResult), f64);

/// The whole body's centre of mass (ground frame, m) and mass (kg).
fn centre_of_mass(model: &Model, poses: &[nalgebra::Isometry3<f64>]) -> (Vector3<f64>, f64) {
    let (mut c, mut m) = (Vector3::zeros(), 0.0);
    for (i, b) in model.bodies.iter().enumerate() {
        c += b.mass_kg * poses[i].transform_point(&Point3::from(b.mass_center_m)).coords;
        m += b.mass_kg;
    }
    (c / m.max(1e-12), m)
}

/// The activity as an OpenSim motion: every coordinate of `model` (its names; rotational and
/// coupled coordinates in degrees, translations in m, `inDegrees=yes` as OpenSim writes its
/// motions) at each step, [`RISING_DURATION_S`] from seat-off to standing.
pub fn rising_motion(model: &Model, rising: &Rising) -> Storage {
    let mut t = coordinates_motion(model, "sit_to_stand", rising.steps.iter().map(|s| (s.progress * RISING_DURATION_S, s.result.coordinates.as_slice())));
    t.comments.push("coxa_activity=sit_to_stand (quasi-static rising from seat-off to standing; see coxa_msk::rising)".into());
    t.comments.push(format!("coxa_seat_off_knee_flexion_deg={SEAT_OFF_KNEE_FLEXION_DEG}"));
    t
}

/// Postures (`(time_s, coordinates)`, the model's order, rad or m) as an OpenSim motion named
/// `name`: every coordinate of `model` by its name, rotational and coupled ones in degrees,
/// translations in m (`inDegrees=yes`, OpenSim's own convention for motions).
pub fn coordinates_motion<'a>(model: &Model, name: &str, rows: impl Iterator<Item = (f64, &'a [f64])>) -> Storage {
    let columns: Vec<String> = model.coordinates.iter().map(|c| c.name.clone()).collect();
    let mut t = Storage::new(name, true, columns);
    for (time, q) in rows {
        let row = model.coordinates.iter().zip(q).map(|(c, v)| if c.motion_type == MotionType::Translational { *v } else { v.to_degrees() }).collect();
        t.rows.push((time, row));
    }
    t
}

/// The right hip's contact force along the activity as an OpenSim results table (`.sto`): the
/// force of the acetabulum on the femoral head in the model's femur frame (`_femur_` columns)
/// and, when landmarks were given, in the OrthoLoad frame, % body weight; its magnitude; and
/// whether the step is balanced (1) or not (0).
pub fn rising_force_table(rising: &Rising) -> Storage {
    let with_orthoload = rising.steps.iter().all(|s| s.result.force_orthoload_percent_bw.is_some());
    let mut columns: Vec<String> = ["hip_r_femur_x_percent_bw", "hip_r_femur_y_percent_bw", "hip_r_femur_z_percent_bw", "hip_r_magnitude_percent_bw", "balanced"].map(String::from).to_vec();
    if with_orthoload {
        columns.extend(["hip_r_orthoload_x_percent_bw", "hip_r_orthoload_y_percent_bw", "hip_r_orthoload_z_percent_bw"].map(String::from));
    }
    let mut t = Storage::new("hip_contact_force_sit_to_stand", false, columns);
    t.comments = vec!["coxa_units=% body weight; force of the acetabulum on the right femoral head".into()];
    for s in &rising.steps {
        let f = s.result.force_femur_percent_bw;
        let mut row = vec![f.x, f.y, f.z, s.result.magnitude_percent_bw, if s.balanced { 1.0 } else { 0.0 }];
        if let Some(o) = s.result.force_orthoload_percent_bw.filter(|_| with_orthoload) {
            row.extend([o.x, o.y, o.z]);
        }
        t.rows.push((s.progress * RISING_DURATION_S, row));
    }
    t
}

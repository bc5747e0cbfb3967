//! The static solve of one posture: the posture search (compass search over pelvis tilt, trunk lean and offset), the joint-load balance and its pieces.

use super::*;

/// Rounds the posture search may take (issue 16: a bounded cost); it ends in about 10-30.
pub const POSTURE_SEARCH_ROUNDS: usize = 60;

/// Compass search from `best` (its point and value) within `ranges`: each round tries one step
/// either way along each parameter and keeps an improvement; a round without one halves the
/// steps, until they are 1/1000 of `first_step`. At most `max_rounds` rounds; the flag says
/// whether the steps shrank before that (false: it gave up at its budget). `solve` gives `None`
/// where the cost cannot be evaluated (that point is skipped).
pub(crate) fn compass_search<T>(
    mut best: (Vec<f64>, (T, f64)),
    ranges: &[(f64, f64)],
    first_step: &[f64],
    max_rounds: usize,
    solve: impl Fn(&[f64]) -> Option<(T, f64)>,
) -> ((Vec<f64>, (T, f64)), bool) {
    let mut step = first_step.to_vec();
    for _ in 0..max_rounds {
        let mut improved = false;
        for k in 0..ranges.len() {
            for dir in [-1.0, 1.0] {
                let mut x = best.0.clone();
                x[k] = (x[k] + dir * step[k]).clamp(ranges[k].0, ranges[k].1);
                if x == best.0 {
                    continue;
                }
                if let Some(r) = solve(&x)
                    && r.1 < best.1.1 - 1e-12
                {
                    best = (x, r);
                    improved = true;
                }
            }
        }
        if !improved {
            step.iter_mut().for_each(|s| *s *= 0.5);
            if step.iter().zip(first_step).all(|(s, f)| *s <= 1e-3 * f) {
                return (best, true);
            }
        }
    }
    (best, false)
}

/// The free parameters of a posture (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(super) struct Posture {
    /// Anterior pelvic tilt, deg; in one-leg stance the stance femur stays vertical, so the
    /// stance hip flexes by the same angle.
    pub(super) pelvis_tilt_deg: f64,
    /// Sagittal position of the upper body's centre of mass anterior of the stance hip centre, m
    /// (set by the lumbar extension).
    pub(super) trunk_offset_m: f64,
    /// Lateral lean of the trunk (lumbar bending) toward the stance side, deg.
    pub(super) trunk_lean_deg: f64,
}

/// Knee flexion below which the knee counts as straight and locked by its passive structures, deg.
pub(super) const KNEE_LOCK_BELOW_DEG: f64 = 1.0;

/// Strength of the passive knee lock, N m per unit (its cost is that of a muscle of this
/// strength: negligible).
pub(super) const KNEE_LOCK_N_M: f64 = 1000.0;

/// Physiological range of the anterior pelvic tilt in one-leg stance, deg.
pub(super) const PELVIS_TILT_RANGE_DEG: (f64, f64) = (-5.0, 10.0);

/// Largest lateral trunk lean (lumbar bending) either way, deg.
pub(super) const TRUNK_LEAN_RANGE_DEG: f64 = 3.0;

/// Physiological range of the upper body's centre of mass anterior or posterior of the hip centre, m.
pub(super) const TRUNK_OFFSET_RANGE_M: f64 = 0.04;

/// Pelvic obliquity at the first walking peak: the swing side dropped (stance side up), deg.
pub(super) const WALK_PELVIC_OBLIQUITY_DEG: f64 = 4.0;

/// Pelvic rotation at the first walking peak: the stance side forward, deg.
pub(super) const WALK_PELVIC_ROTATION_DEG: f64 = 3.0;

/// Abduction of the swing hip at the first walking peak (around its toe-off), deg, relative to
/// the pelvis: taken from the same gait kinematics as the pelvis angles.
pub(super) const WALK_SWING_HIP_ABDUCTION_DEG: f64 = 4.0;

/// The hip contact force in one posture and its effort (the static optimisation's cost).
pub(super) fn solve_at(model: &Model, kin: &Kinematics, activity: Activity, body_weight_n: f64, femur: Option<&RightFemur>, options: &HcfOptions, posture: Posture) -> Result<(HcfResult, f64)> {
    let body = |n: &str| model.body_index(n).ok_or(MskError::UnknownName { kind: "body", name: n.into() });
    let femur_b = body("femur_r")?;
    let talus_b = body("talus_r").or_else(|_| body("tibia_r"))?;
    let hip_joint = model.joints.iter().find(|j| j.child.body == femur_b).ok_or(MskError::Model { what: "femur_r has no parent joint".into() })?;
    let hip_coords = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r"].map(|n| model.coordinate_index(n));
    let [Some(ci_flex), Some(ci_add), Some(ci_rot)] = hip_coords else {
        return Err(MskError::UnknownName { kind: "coordinate", name: "hip_flexion_r / hip_adduction_r / hip_rotation_r".into() });
    };
    let leg = subtree(model, femur_b);

    // The posture.
    let mut q = model.default_coordinates();
    for c in ["pelvis_tilt", "pelvis_list", "pelvis_rotation", "lumbar_extension", "lumbar_bending", "lumbar_rotation"] {
        set(model, &mut q, c, 0.0);
    }
    let (grf_bw, stance) = match activity {
        Activity::OneLegStance => {
            set(model, &mut q, "hip_flexion_l", 30.0);
            set(model, &mut q, "knee_angle_l", if model.coordinates.iter().any(|c| c.name == "knee_angle_l" && c.range[1] > 1.0) { 60.0 } else { -60.0 });
            (Vector3::new(0.0, 1.0, 0.0), [0.0, f64::NAN, 0.0, 0.0])
        }
        Activity::Walking => {
            set(model, &mut q, "hip_flexion_l", -10.0);
            set(model, &mut q, "knee_angle_l", if model.coordinates.iter().any(|c| c.name == "knee_angle_l" && c.range[1] > 1.0) { 40.0 } else { -40.0 });
            (Vector3::new(-0.2, 1.15, -0.05), [20.0, 7.0, 0.0, 15.0])
        }
    };
    // gait2392 flexes the knee with negative angles, Rajagopal with positive ones.
    let knee_sign = if model.coordinates.iter().any(|c| c.name == "knee_angle_r" && c.range[1] > 1.0) { 1.0 } else { -1.0 };
    let stance = match activity {
        Activity::OneLegStance => [stance[0] + posture.pelvis_tilt_deg, stance[1], stance[2], stance[3]],
        Activity::Walking => stance,
    };
    set(model, &mut q, "pelvis_tilt", -posture.pelvis_tilt_deg);
    if activity == Activity::Walking {
        // Positive pelvis_list (about the ground's anterior axis, right-handed: up turns toward
        // +z) drops the right (stance) side, so the stance side up is a negative list;
        // positive pelvis_rotation (about the vertical) brings the right side forward.
        set(model, &mut q, "pelvis_list", -WALK_PELVIC_OBLIQUITY_DEG);
        set(model, &mut q, "pelvis_rotation", WALK_PELVIC_ROTATION_DEG);
        set(model, &mut q, "hip_adduction_l", -WALK_SWING_HIP_ABDUCTION_DEG);
    }
    // Positive lumbar bending tilts the trunk toward +z, the stance (right) side. Walking: the
    // lumbar spine bends against the pelvic obliquity, so that the trunk stays upright in the
    // ground (its lean is then relative to the vertical).
    let against_obliquity = if activity == Activity::Walking { WALK_PELVIC_OBLIQUITY_DEG } else { 0.0 };
    set(model, &mut q, "lumbar_bending", posture.trunk_lean_deg + against_obliquity);
    q[ci_flex] = stance[0].to_radians();
    q[ci_rot] = stance[2].to_radians();
    set(model, &mut q, "knee_angle_r", knee_sign * stance[3]);
    let pose_with = |q: &mut Vec<f64>, add_deg: f64| {
        q[ci_add] = add_deg.to_radians();
        clamp_coordinates(model, q);
        apply_couplers(model, q);
        kin.body_poses(model, q)
    };
    let add_deg = if stance[1].is_nan() {
        // One-leg stance: the stance hip adduction that puts the centre of mass above the ankle.
        let offset = |q: &mut Vec<f64>, a: f64| {
            let p = pose_with(q, a);
            let (all, _, _, _) = centres_of_mass(model, &p, &leg);
            all.z - p[talus_b].translation.vector.z
        };
        let (mut lo, mut hi) = (-15.0, 25.0);
        let (flo, fhi) = (offset(&mut q, lo), offset(&mut q, hi));
        if flo.signum() == fhi.signum() {
            return Err(MskError::Model { what: "no stance hip adduction within -15..25 deg puts the centre of mass above the stance foot".into() });
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if offset(&mut q, mid).signum() == flo.signum() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    } else {
        stance[1]
    };
    // Trunk upright over the hip: the lumbar extension that puts the upper body's centre of
    // mass above the stance hip centre in the sagittal plane (quiet standing posture).
    if let Some(ci_lumbar) = model.coordinate_index("lumbar_extension") {
        let sagittal = |q: &mut Vec<f64>, e: f64| {
            q[ci_lumbar] = e.to_radians();
            let p = pose_with(q, add_deg);
            let (_, up, _, _) = centres_of_mass(model, &p, &leg);
            let h = (p[femur_b] * Point3::from(hip_joint.child.translation_m)).coords;
            up.x - h.x - posture.trunk_offset_m
        };
        let (mut lo, mut hi) = (-30.0, 30.0);
        let flo = sagittal(&mut q, lo);
        if flo.signum() != sagittal(&mut q, hi).signum() {
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if sagittal(&mut q, mid).signum() == flo.signum() {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        q[ci_lumbar] = (0.5 * (lo + hi)).to_radians();
    }
    let poses = pose_with(&mut q, add_deg);
    let (_, c_up, m_all, m_up) = centres_of_mass(model, &poses, &leg);
    if m_all <= 0.0 {
        return Err(MskError::Model { what: "the model has no mass".into() });
    }
    let hip_centre = (poses[femur_b] * Point3::from(hip_joint.child.translation_m)).coords;
    // Load on the upper body: its share of the ground reaction, reversed (N).
    let w_eff = -(m_up / m_all) * body_weight_n * grf_bw;
    let mut load_moment = (c_up - hip_centre).cross(&w_eff);
    if let (Activity::Walking, Some(m)) = (activity, options.walking_hip_moment) {
        // The measured frontal and sagittal moments replace the posture's (pelvis frame); the
        // moment about the vertical stays the posture's.
        let to_ground = pelvis_rotation(model, &poses);
        let mass = body_weight_n / model.gravity_m_s2.norm();
        let mut local = to_ground.inverse() * load_moment;
        local.x = -m.abductor_n_m_per_kg * mass;
        local.z = -m.extensor_n_m_per_kg * mass;
        load_moment = to_ground * local;
    }

    // Equilibrium of the stance leg's distal joints too (knee, ankle), so that two-joint
    // muscles pay at the knee and ankle for what they do at the hip: generalised forces of the
    // loads (each body's share -m_b/m GRF at its centre of mass, the GRF at the centre of
    // pressure below the centre of mass) by virtual work.
    let distal: Vec<usize> = if options.distal_equilibrium { ["knee_angle_r", "ankle_angle_r"].iter().filter_map(|n| model.coordinate_index(n)).collect() } else { Vec::new() };
    let grf = body_weight_n * grf_bw;
    let foot_b = body("calcn_r").unwrap_or(talus_b);
    let (c_all, _, _, _) = centres_of_mass(model, &poses, &leg);
    // Centre of pressure: standing still, below the centre of mass; at the first walking peak
    // (foot flat, loading response), below the ankle centre.
    let cop_above = match activity {
        Activity::OneLegStance => c_all,
        Activity::Walking => poses[talus_b].translation.vector,
    };
    let cop_local = poses[foot_b].inverse_transform_point(&Point3::new(cop_above.x, poses[foot_b].translation.vector.y, cop_above.z));
    let loads_at = |qq: &[f64]| -> Vec<Vector3<f64>> {
        let p = kin.body_poses(model, qq);
        let mut v: Vec<Vector3<f64>> = model.bodies.iter().enumerate().map(|(i, bd)| p[i].transform_point(&Point3::from(bd.mass_center_m)).coords).collect();
        v.push(p[foot_b].transform_point(&cop_local).coords);
        v
    };
    let mut q_ext = Vec::with_capacity(distal.len());
    for &c in &distal {
        const H: f64 = 1e-6;
        let (qp, qm) = crate::kinematics::perturbed(model, &q, c, H);
        let (lp, lm) = (loads_at(&qp), loads_at(&qm));
        let mut g = 0.0;
        for (i, bd) in model.bodies.iter().enumerate() {
            g += (-(bd.mass_kg / m_all) * grf).dot(&(lp[i] - lm[i])) / (2.0 * H);
        }
        g += grf.dot(&(lp[model.bodies.len()] - lm[model.bodies.len()])) / (2.0 * H);
        q_ext.push(g);
    }

    let loads = Loads { force_n: w_eff, moment_n_m: load_moment, distal, generalised_n_m: q_ext, mt_speed_m_s: std::collections::HashMap::new() };
    let (result, effort) = balance(model, kin, femur, options, &q, &poses, &leg, body_weight_n, &loads)?;
    Ok((
        HcfResult {
            hip_angles_deg: [stance[0], add_deg, stance[2]],
            ground_reaction_n: grf,
            centre_of_pressure_m: poses[foot_b].transform_point(&cop_local).coords,
            pelvis_tilt_deg: posture.pelvis_tilt_deg,
            trunk_offset_m: posture.trunk_offset_m,
            trunk_lean_deg: posture.trunk_lean_deg,
            ..result
        },
        effort,
    ))
}

/// The loads a posture puts on the stance (right) leg's muscles.
pub(crate) struct Loads {
    /// The external load on the free body (everything not in the right leg), N (ground frame).
    pub force_n: Vector3<f64>,
    /// Its moment about the right hip centre, N m.
    pub moment_n_m: Vector3<f64>,
    /// The distal coordinates balanced too (right knee, ankle), indices into the coordinates.
    pub distal: Vec<usize>,
    /// The loads' generalised forces at `distal`, N m (virtual work).
    pub generalised_n_m: Vec<f64>,
    /// Muscle-tendon lengthening speeds by muscle name, m/s, for the force-velocity curve
    /// (a muscle not named is isometric: every quasi-static posture leaves this empty).
    pub mt_speed_m_s: std::collections::HashMap<String, f64>,
}

/// The muscles of the right leg balancing `loads` in the posture `q` (poses `poses`, right
/// leg's bodies `leg`) with least effort, and the force of the acetabulum on the right femoral
/// head. The posture-describing fields of the result (hip angles, ground reaction, centre of
/// pressure, pelvis tilt, trunk offset and lean) are left at zero for the caller.
#[allow(clippy::too_many_arguments, reason = "the posture and its loads, each from a different caller's solve; a struct would only rename them")]
pub(crate) fn balance(
    model: &Model,
    kin: &Kinematics,
    femur: Option<&RightFemur>,
    options: &HcfOptions,
    q: &[f64],
    poses: &[nalgebra::Isometry3<f64>],
    leg: &HashSet<usize>,
    body_weight_n: f64,
    loads: &Loads,
) -> Result<(HcfResult, f64)> {
    let femur_b = model.body_index("femur_r").ok_or(MskError::UnknownName { kind: "body", name: "femur_r".into() })?;
    let hip_joint = model.joints.iter().find(|j| j.child.body == femur_b).ok_or(MskError::Model { what: "femur_r has no parent joint".into() })?;
    let hip_centre = (poses[femur_b] * Point3::from(hip_joint.child.translation_m)).coords;
    let knee_sign = if model.coordinates.iter().any(|c| c.name == "knee_angle_r" && c.range[1] > 1.0) { 1.0 } else { -1.0 };
    let (w_eff, load_moment, distal, q_ext) = (loads.force_n, loads.moment_n_m, &loads.distal, &loads.generalised_n_m);
    // Muscles of the stance leg: unit-tension force and moment on the upper body (muscles
    // crossing the hip), moment arms about the distal coordinates.
    let mut names = Vec::new();
    let mut unit_force = Vec::new();
    let mut unit_moment = Vec::new();
    let mut distal_arms = Vec::new();
    let mut active = Vec::new();
    let mut passive = Vec::new();
    let mut volumes = Vec::new();
    for m in model.muscles.iter().filter(|m| m.applies_force && m.path_points.iter().any(|p| leg.contains(&p.body)) && (options.distal_equilibrium || crosses_hip(model, m, "r"))) {
        let (path, arms) = moment_arms(model, kin, m, q, distal)?;
        let (mut f, mut mo) = (Vector3::zeros(), Vector3::zeros());
        if crosses_hip(model, m, "r") {
            for w in path.nodes.windows(2) {
                if w[0].wrap.is_some() && w[0].wrap == w[1].wrap {
                    continue;
                }
                let (a_up, b_up) = (!leg.contains(&w[0].body), !leg.contains(&w[1].body));
                if a_up == b_up {
                    continue;
                }
                let d = w[1].ground_m - w[0].ground_m;
                let n = d.norm();
                if n < 1e-12 {
                    continue;
                }
                let u = d / n;
                let (p, force) = if a_up { (w[0].ground_m, u) } else { (w[1].ground_m, -u) };
                f += force;
                mo += (p - hip_centre).cross(&force);
            }
        }
        if mo.norm() < 1e-9 && arms.iter().all(|r| r.abs() < 1e-6) {
            continue;
        }
        let cap = capacity(m, path.length_m, loads.mt_speed_m_s.get(&m.name).copied().unwrap_or(0.0));
        names.push(m.name.clone());
        unit_force.push(f);
        unit_moment.push(mo);
        distal_arms.push(arms);
        active.push(cap.active_n);
        passive.push(if options.passive_fibre_force { cap.passive_n } else { 0.0 });
        volumes.push(m.max_isometric_force_n * m.optimal_fiber_length_m);
    }
    let n = names.len();
    let rows = 3 + distal.len();
    // A straight knee (one-leg stance) is held against hyperextension by its passive
    // structures (posterior capsule, cruciate and collateral ligaments): a one-sided, strong
    // and so nearly free actuator at the knee that can only resist hyperextension.
    let knee_row = model.coordinate_index("knee_angle_r").and_then(|c| distal.iter().position(|&d| d == c));
    let knee_lock = match knee_row {
        Some(k) if options.passive_knee_lock && (q[distal[k]] * knee_sign).to_degrees() < KNEE_LOCK_BELOW_DEG => Some(3 + k),
        _ => None,
    };
    // Joint-load-aware criterion: three more unknowns, the hip contact force in body weights
    // (ground frame), tied to the muscles by three more rows (N): sum u_i F_i - BW f = -W.
    let jl = options.joint_load_weight > 0.0;
    let rows = rows + if jl { 3 } else { 0 };
    let n_lock = usize::from(knee_lock.is_some());
    let mut a = DMatrix::zeros(rows, n + n_lock + if jl { 3 } else { 0 });
    if let Some(row) = knee_lock {
        a[(row, n)] = knee_sign * KNEE_LOCK_N_M;
    }
    let mut b = DVector::zeros(rows);
    let f_row = 3 + distal.len();
    if jl {
        for k in 0..3 {
            a[(f_row + k, n + n_lock + k)] = -body_weight_n;
            b[f_row + k] = -w_eff[k];
            for i in 0..n {
                a[(f_row + k, i)] = unit_force[i][k] * active[i];
                b[f_row + k] -= unit_force[i][k] * passive[i];
            }
        }
    }
    for k in 0..3 {
        b[k] = -load_moment[k];
    }
    for (k, g) in q_ext.iter().enumerate() {
        b[3 + k] = -g;
    }
    for i in 0..n {
        for k in 0..3 {
            a[(k, i)] = unit_moment[i][k] * active[i];
            b[k] -= unit_moment[i][k] * passive[i];
        }
        for (k, r) in distal_arms[i].iter().enumerate() {
            a[(3 + k, i)] = r * active[i];
            b[3 + k] -= r * passive[i];
        }
    }
    let p = options.activation_exponent;
    let (sol, weights) = if options.volume_weighted || jl {
        // Weights normalised to a mean of 1 over the muscles; the knee lock costs as before.
        let mut w: Vec<f64> = if options.volume_weighted {
            let mean = volumes.iter().sum::<f64>() / n.max(1) as f64;
            volumes.iter().map(|v| v / mean).collect()
        } else {
            vec![1.0; n]
        };
        w.resize(n + n_lock, 1.0);
        if jl {
            w.resize(a.ncols(), options.joint_load_weight);
            let free: Vec<bool> = (0..a.ncols()).map(|i| i >= n + n_lock).collect();
            (static_opt::solve_weighted_free(&a, &b, 1.0, &w, &free)?, w)
        } else {
            (static_opt::solve_weighted(&a, &b, 1.0, p, &w)?, w)
        }
    } else {
        (static_opt::solve_with_exponent(&a, &b, 1.0, p)?, vec![1.0; a.ncols()])
    };
    let joint_load_cost: f64 = if jl { (0..3).map(|k| options.joint_load_weight * sol.activations[n + n_lock + k].powi(2)).sum() } else { 0.0 };
    let effort = sol.activations[..n].iter().zip(&weights).map(|(v, w)| w * v.powf(p)).sum::<f64>() + sol.reserve[..3 + distal.len()].iter().map(|v| v * v).sum::<f64>() + joint_load_cost;
    let r_femur = poses[femur_b].rotation.to_rotation_matrix();
    let mut force = w_eff;
    let mut muscle_forces_n = Vec::with_capacity(n);
    let mut contributions = vec![Contribution { name: UPPER_BODY_LOAD.into(), activation: 1.0, force_femur_n: r_femur.inverse() * w_eff }];
    for i in 0..n {
        let t = sol.activations[i] * active[i] + passive[i];
        force += unit_force[i] * t;
        muscle_forces_n.push((names[i].clone(), t));
        contributions.push(Contribution { name: names[i].clone(), activation: sol.activations[i], force_femur_n: r_femur.inverse() * (unit_force[i] * t) });
    }
    let force_femur_n = r_femur.inverse() * force;
    let pct = 100.0 / body_weight_n;
    let orthoload_from_femur = match femur {
        Some(lm) => {
            // The model femur's anatomical frame, from its knee centre and flexion axis.
            let knee_joint = model.joints.iter().find(|j| j.parent.body == femur_b).ok_or(MskError::Model { what: "femur_r has no child joint (knee)".into() })?;
            let mut q0 = model.default_coordinates();
            apply_couplers(model, &mut q0);
            let p0 = kin.body_poses(model, &q0);
            let knee_in_femur = p0[femur_b].inverse() * p0[knee_joint.child.body] * Point3::from(knee_joint.child.translation_m);
            let hip_in_femur = hip_joint.child.translation_m;
            let y = unit(hip_in_femur - knee_in_femur.coords, "model femur axis")?;
            let zf = Vector3::z();
            let z = unit(zf - zf.dot(&y) * y, "model femur z")?;
            let x = y.cross(&z);
            let a_m = Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]);
            let (a_p, _) = if options.posterior_condylar_mapping { lm.anatomical_axes_posterior_condyles()? } else { lm.anatomical_axes()? };
            let e = lm.orthoload_axes()?;
            Some(e * a_p.transpose() * a_m)
        }
        None => None,
    };
    let force_orthoload_percent_bw = orthoload_from_femur.map(|t| t * force_femur_n * pct);
    Ok((
        HcfResult {
            force_femur_n,
            force_femur_percent_bw: force_femur_n * pct,
            force_orthoload_percent_bw,
            magnitude_percent_bw: force.norm() * pct,
            muscle_forces_n,
            reserve_n_m: Vector3::new(sol.reserve[0], sol.reserve[1], sol.reserve[2]),
            distal_reserve_n_m: sol.reserve[3..3 + distal.len()].to_vec(),
            hip_angles_deg: [0.0; 3],
            coordinates: q.to_vec(),
            ground_reaction_n: Vector3::zeros(),
            centre_of_pressure_m: Vector3::zeros(),
            pelvis_tilt_deg: 0.0,
            trunk_offset_m: 0.0,
            trunk_lean_deg: 0.0,
            effort,
            passive_knee_n_m: if knee_lock.is_some() { sol.activations[n] * knee_sign * KNEE_LOCK_N_M } else { 0.0 },
            notes: Vec::new(),
            contributions,
            orthoload_from_femur,
            net_hip_moment: {
                let local = pelvis_rotation(model, poses).inverse() * (-load_moment) / (body_weight_n / model.gravity_m_s2.norm());
                NetHipMoment { abductor_n_m_per_kg: local.x, extensor_n_m_per_kg: local.z, external_rotator_n_m_per_kg: local.y }
            },
        },
        effort,
    ))
}

/// The rotation from the pelvis frame to the ground (the identity for a model without a body
/// named `pelvis`).
pub(super) fn pelvis_rotation(model: &Model, poses: &[nalgebra::Isometry3<f64>]) -> nalgebra::UnitQuaternion<f64> {
    model.body_index("pelvis").and_then(|b| poses.get(b)).map(|p| p.rotation).unwrap_or_else(nalgebra::UnitQuaternion::identity)
}

//! The hip contact force over a whole motion: frame by frame, its table, and the left side mirrored onto the right model.

use super::*;

/// The hip contact force of one frame of a motion.
#[derive(Debug, Clone)]
pub struct MotionFrame {
    /// Time, s.
    pub time_s: f64,
    /// The static optimisation and the force on the femoral head. Of the fields describing a
    /// quasi-static posture, `coordinates` holds the frame's and `ground_reaction_n` the
    /// external force on the right leg (N, ground); the others are zero.
    pub result: HcfResult,
    /// The frame's generalised forces (inverse dynamics), N m or N, model order.
    pub generalised_forces: Vec<f64>,
    /// Whether the right leg carries more than [`STANCE_THRESHOLD_N`] upward.
    pub stance: bool,
}

/// The hip contact force over a motion.
#[derive(Debug, Clone)]
pub struct MotionHcf {
    /// Per frame.
    pub frames: Vec<MotionFrame>,
    /// Body weight, N.
    pub body_weight_n: f64,
    /// Locked or coupled model coordinates the motion lacks (held at their default values or set
    /// by their coupler; a free one missing is [`MskError::MissingCoordinates`]).
    pub missing_coordinates: Vec<String>,
}

impl MotionHcf {
    /// The frame of the largest force among the stance frames whose muscles balanced the loads
    /// without reserves above 1 N m (None if there is none).
    pub fn peak(&self) -> Option<&MotionFrame> {
        self.frames.iter().filter(|f| f.stance && balanced(&f.result)).max_by(|a, b| a.result.magnitude_percent_bw.total_cmp(&b.result.magnitude_percent_bw))
    }

    /// The largest force in the first and in the second half (by time) of the longest run of
    /// stance frames: the two peaks of a walking stance phase (the loading response and the
    /// push-off). Frames needing reserves above 1 N m count too (read their reserve in the
    /// table).
    pub fn stance_peaks(&self) -> (Option<&MotionFrame>, Option<&MotionFrame>) {
        let (mut best, mut start) = ((0, 0), None);
        for (k, f) in self.frames.iter().enumerate() {
            match (f.stance, start) {
                (true, None) => start = Some(k),
                (false, Some(s)) => {
                    if k - s > best.1 - best.0 {
                        best = (s, k);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start
            && self.frames.len() - s > best.1 - best.0
        {
            best = (s, self.frames.len());
        }
        let run = &self.frames[best.0..best.1];
        if run.is_empty() {
            return (None, None);
        }
        let mid = 0.5 * (run[0].time_s + run[run.len() - 1].time_s);
        let first = run.iter().filter(|f| f.time_s <= mid).max_by(|a, b| a.result.magnitude_percent_bw.total_cmp(&b.result.magnitude_percent_bw));
        let second = run.iter().filter(|f| f.time_s > mid).max_by(|a, b| a.result.magnitude_percent_bw.total_cmp(&b.result.magnitude_percent_bw));
        (first, second)
    }
}

/// Whether the muscles balanced the loads without reserves above 1 N m.
pub fn balanced(r: &HcfResult) -> bool {
    r.reserve_n_m.norm() < 1.0 && r.distal_reserve_n_m.iter().all(|v| v.abs() < 1.0)
}

/// The hip contact force on the right femoral head over `motion` for a subject of
/// `body_weight_n` (see the module docs). `loads` are the external loads of `grf`.
///
/// # Errors
/// Those of [`inverse_dynamics`]; [`MskError::InvalidInput`] for a body weight outside
/// 100..5000 N; [`MskError::UnknownName`] when the model has no `femur_r`, `knee_angle_r` or
/// `ankle_angle_r`; those of the static optimisation.
pub fn hip_contact_force_over_motion(model: &Model, motion: &Storage, grf: &Storage, loads: &[ExternalLoad], body_weight_n: f64, options: &MotionOptions) -> Result<MotionHcf> {
    if !(body_weight_n.is_finite() && body_weight_n > 100.0 && body_weight_n < 5000.0) {
        return Err(MskError::InvalidInput { what: "body weight (N)".into(), value: body_weight_n, why: "must be between 100 and 5000 N".into() });
    }
    let (kin, splined, cols, times) = prepare(model, motion, grf, loads, options)?;
    let femur_b = model.body_index("femur_r").ok_or(MskError::UnknownName { kind: "body", name: "femur_r".into() })?;
    let hip_joint = model.joints.iter().find(|j| j.child.body == femur_b).ok_or(MskError::Model { what: "femur_r has no parent joint".into() })?;
    let leg = subtree(model, femur_b);
    let distal: Vec<usize> = if options.hcf.distal_equilibrium {
        ["knee_angle_r", "ankle_angle_r"].iter().map(|n| model.coordinate_index(n).ok_or(MskError::UnknownName { kind: "coordinate", name: (*n).into() })).collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let leg_muscles: Vec<&coxa_osim::Muscle> = model.muscles.iter().filter(|m| m.applies_force && m.path_points.iter().any(|p| leg.contains(&p.body))).collect();
    let mut frames = Vec::new();
    for t in times {
        let f = id_frame(model, &kin, &splined, grf, &cols, t);
        let hip = (f.poses[femur_b] * Point3::from(hip_joint.child.translation_m)).coords;
        let (mut force, mut moment, mut external) = (Vector3::zeros(), Vector3::zeros(), Vector3::zeros());
        for &b in &leg {
            let (body, bm) = (&model.bodies[b], &f.bodies[b]);
            let inertial = body.mass_kg * (bm.com_acc_m_s2 - model.gravity_m_s2);
            force += inertial;
            moment += (bm.com_m - hip).cross(&inertial) + bm.inertia_kg_m2 * bm.alpha_rad_s2 + bm.omega_rad_s.cross(&(bm.inertia_kg_m2 * bm.omega_rad_s));
        }
        for l in f.loads.iter().filter(|l| leg.contains(&l.body)) {
            force -= l.force_n;
            moment -= (l.point_m - hip).cross(&l.force_n) + l.torque_n_m;
            external += l.force_n;
        }
        let mut speeds = HashMap::new();
        if options.muscle_velocity {
            let (qp, qm) = (splined.q(model, t + MUSCLE_TIME_STEP_S), splined.q(model, t - MUSCLE_TIME_STEP_S));
            let (pp, pm) = (kin.body_poses(model, &qp), kin.body_poses(model, &qm));
            for m in &leg_muscles {
                let v = (muscle_path(model, m, &pp, &qp)?.length_m - muscle_path(model, m, &pm, &qm)?.length_m) / (2.0 * MUSCLE_TIME_STEP_S);
                let _ = speeds.insert(m.name.clone(), v);
            }
        }
        let loads = Loads { force_n: force, moment_n_m: moment, distal: distal.clone(), generalised_n_m: distal.iter().map(|&c| -f.generalised_forces[c]).collect(), mt_speed_m_s: speeds };
        let (mut result, _) = balance(model, &kin, None, &options.hcf, &f.coordinates, &f.poses, &leg, body_weight_n, &loads)?;
        result.ground_reaction_n = external;
        let up = -model.gravity_m_s2.normalize();
        frames.push(MotionFrame { time_s: t, stance: external.dot(&up) > STANCE_THRESHOLD_N, result, generalised_forces: f.generalised_forces });
    }
    Ok(MotionHcf { frames, body_weight_n, missing_coordinates: splined.missing })
}

/// The hip contact force over the motion as an OpenSim `.sto`: per frame the force of the
/// acetabulum on the right femoral head in the femur frame (N and % body weight), its
/// magnitude (% body weight), the largest reserve moment (N m: near zero where the muscles
/// sufficed), whether the frame is stance (1) or swing (0), and the net internal hip moments
/// the muscles balanced (abductor, extensor, external rotator; N m per kg of body mass, pelvis
/// frame: [`HcfResult::net_hip_moment`]).
pub fn motion_force_table(hcf: &MotionHcf) -> Storage {
    let columns = [
        "hip_on_femur_r_in_femur_r_fx_n",
        "hip_on_femur_r_in_femur_r_fy_n",
        "hip_on_femur_r_in_femur_r_fz_n",
        "hip_on_femur_r_in_femur_r_fx_percent_bw",
        "hip_on_femur_r_in_femur_r_fy_percent_bw",
        "hip_on_femur_r_in_femur_r_fz_percent_bw",
        "magnitude_percent_bw",
        "max_reserve_n_m",
        "stance",
        "net_hip_abductor_moment_n_m_per_kg",
        "net_hip_extensor_moment_n_m_per_kg",
        "net_hip_external_rotator_moment_n_m_per_kg",
    ];
    let mut t = Storage::new("HipContactForce", false, columns.iter().map(|c| c.to_string()).collect());
    t.comments.push(format!("body_weight_n={}", hcf.body_weight_n));
    t.comments.push("Units are S.I. units (second, meters, Newtons, ...); percent_bw columns in % body weight".into());
    for f in &hcf.frames {
        let r = &f.result;
        let reserve = r.distal_reserve_n_m.iter().fold(r.reserve_n_m.amax(), |a, v| a.max(v.abs()));
        let mut v: Vec<f64> = r.force_femur_n.iter().chain(r.force_femur_percent_bw.iter()).copied().collect();
        let m = r.net_hip_moment;
        v.extend([r.magnitude_percent_bw, reserve, if f.stance { 1.0 } else { 0.0 }, m.abductor_n_m_per_kg, m.extensor_n_m_per_kg, m.external_rotator_n_m_per_kg]);
        t.rows.push((f.time_s, v));
    }
    t
}

/// The other side's name of a body or coordinate named OpenSim's way (`calcn_r` <-> `calcn_l`,
/// `hip_flexion_l` <-> `hip_flexion_r`); a name without a side stays.
pub fn other_side(name: &str) -> String {
    if let Some(s) = name.strip_suffix("_l") {
        format!("{s}_r")
    } else if let Some(s) = name.strip_suffix("_r") {
        format!("{s}_l")
    } else {
        name.to_string()
    }
}

/// Coordinates of a gait2392-like model whose sign flips in a left-right mirror (rotations
/// about the anterior or vertical axis, translation along the lateral axis).
pub(super) const MIRROR_NEGATED: [&str; 5] = ["pelvis_list", "pelvis_rotation", "pelvis_tz", "lumbar_bending", "lumbar_rotation"];

/// A left stance mirrored onto the right leg: the motion's `_l` and `_r` columns swapped and
/// the coordinates about the anterior and vertical axes negated ([`MIRROR_NEGATED`]); the ground
/// reactions' z components negated (force and point: a vector mirrored in the sagittal plane
/// `z = 0`) and their torques' x and y (an axial vector). Works for left-right symmetric
/// models whose legs use the same sign conventions (gait2392, Rajagopal).
pub fn mirror_left_to_right(motion: &Storage, grf: &Storage) -> (Storage, Storage) {
    let mut m = motion.clone();
    m.columns = motion.columns.iter().map(|c| other_side(c)).collect();
    for (k, c) in m.columns.iter().enumerate() {
        if MIRROR_NEGATED.contains(&c.as_str()) {
            m.rows.iter_mut().for_each(|r| r.1[k] = -r.1[k]);
        }
    }
    let mut g = grf.clone();
    for (k, c) in grf.columns.iter().enumerate() {
        let flip = (c.contains("force_v") || c.contains("force_p")) && c.ends_with('z') || c.contains("torque_") && (c.ends_with('x') || c.ends_with('y'));
        if flip {
            g.rows.iter_mut().for_each(|r| r.1[k] = -r.1[k]);
        }
    }
    (m, g)
}

//! Muscle paths against OpenSim (sphere, ellipsoid and torus wraps; a personalised model exported), and the solved forces held by rapier's multibody.

use super::*;

/// Personalisation (issue 6, items 3 and 6): gait2392 scaled to subject H2R's landmarks, the
/// femoral attachments moved by a plan (offset -5 mm, leg length +4 mm, centre of rotation 3 mm
/// medial and 2 mm up), the change of abductor lever arm and strength reported; then exported
/// to .osim, read by OpenSim 4.6, which gives the same lengths and moment arms.
#[test]
fn personalised_model_exports_to_opensim_with_the_same_moment_arms() -> Result<()> {
    use coxa_msk::personalise::{ImplantChange, abductor_report, apply_implant_change, landmark_scale_factors, scale_bodies};
    let (Some(model_path), Some(dir)) = (shared_data("opensim/gait2392_thelen2003muscle.osim"), shared_data("orthoload/Landmarks")) else { return Ok(()) };
    let model = osim::read_osim(&model_path)?;
    let (femur, width_mm) = orthoload_landmarks(&dir.join("H2R_PelvisLandmarks.fcsv"), &dir.join("H2R_FemurLandmarks.fcsv"), Side::Right)?;
    let factors = landmark_scale_factors(&model, width_mm, &femur)?;
    eprintln!("scale factors from H2R landmarks: {:?}", factors.iter().map(|(b, f)| (b.as_str(), f.x)).collect::<Vec<_>>());
    let refs: Vec<(&str, nalgebra::Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
    let scaled = scale_bodies(&model, &refs)?;
    let change = ImplantChange { cor_shift_pelvis_m: nalgebra::Vector3::new(0.0, 0.002, -0.003), offset_change_m: -0.005, leg_length_change_m: 0.004 };
    let planned = apply_implant_change(&scaled, "r", &change)?;

    let before = abductor_report(&scaled, "r")?;
    let after = abductor_report(&planned, "r")?;
    eprintln!(
        "abductors: mean moment arm {:.1} -> {:.1} mm, maximum abduction moment {:.1} -> {:.1} N m",
        1000.0 * before.mean_moment_arm_m,
        1000.0 * after.mean_moment_arm_m,
        before.max_moment_n_m,
        after.max_moment_n_m
    );
    // A 5 mm shorter offset and a medialised centre shorten the abductors' lever arm.
    assert!(after.mean_moment_arm_m < before.mean_moment_arm_m - 0.002, "{before:?} -> {after:?}");
    assert!(after.max_moment_n_m < before.max_moment_n_m);
    // Scaling to a larger subject lengthens the lever arm in proportion.
    let base = abductor_report(&model, "r")?;
    let k = factors[0].1.x;
    assert!((before.mean_moment_arm_m / base.mean_moment_arm_m - k).abs() < 0.15 * k, "pelvis factor {k}: {} -> {}", base.mean_moment_arm_m, before.mean_moment_arm_m);

    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("gait2392_H2R_planned.osim");
    osim::write_osim_update(&model_path, &planned, &out)?;
    assert!(osim::write_osim_update(&model_path, &planned, &out).is_err(), "never overwrite");
    let back = osim::read_osim(&out)?;
    let kin = Kinematics::new(&planned)?;
    let kin_back = Kinematics::new(&back)?;
    let mut q = planned.default_coordinates();
    q[planned.coordinate_index("hip_flexion_r").context("coord")?] = 0.4;
    for m in planned.muscles.iter().filter(|m| crosses_hip(&planned, m, "r")) {
        let ci = planned.coordinate_index("hip_adduction_r").context("coord")?;
        let (p1, a1) = moment_arms(&planned, &kin, m, &q, &[ci])?;
        let (p2, a2) = moment_arms(&back, &kin_back, back.muscle(&m.name).context("muscle")?, &q, &[ci])?;
        assert!((p1.length_m - p2.length_m).abs() < 1e-12 && (a1[0] - a2[0]).abs() < 1e-9, "{}: the exported model differs from the one in memory", m.name);
    }
    let (len, ma, _, _) = compare_with_opensim(&out, "r", &hip_grid())?;
    assert!(len < 1.0 && ma < 1.0, "exported model vs OpenSim: length RMS {len} mm, moment arm RMS {ma} mm");
    Ok(())
}

/// Sphere wrapping against OpenSim: gait2392 with three spheres added on the right femur (one
/// free, two with quadrants), each near the path of one gluteus maximus part, so that the
/// paths wrap in some poses of the grid and not in others.
#[test]
fn sphere_wrapping_matches_opensim() -> Result<()> {
    let Some(model_path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let wraps = [("glut_max1_r", "hybrid"), ("glut_max2_r", "hybrid"), ("glut_max3_r", "hybrid")];
    let quadrants = ["all", "-x", "+z"];
    let (_tmp, path) = gait2392_with_wraps(&model_path, &wraps, |k, c| {
        format!(
            "<WrapSphere name=\"test_wrap{k}\"><active>true</active><xyz_body_rotation>0.1 0.2 0.3</xyz_body_rotation><translation>{} {} {}</translation><quadrant>{}</quadrant><radius>0.012</radius></WrapSphere>",
            c.x, c.y, c.z, quadrants[k]
        )
    })?;
    // The spheres are wrapped over in part of the grid.
    let (per_muscle, poses) = wrapped_poses(&path, &wraps.map(|w| w.0))?;
    let (wrapped, total): (usize, usize) = (per_muscle.iter().sum(), poses * wraps.len());
    eprintln!("sphere wraps in {wrapped} of {total} muscle-poses");
    assert!(wrapped > 10 && wrapped < total, "{wrapped} of {total}");
    let (len, ma, _, _) = compare_with_opensim(&path, "r", &hip_grid())?;
    assert!(len < 1.0 && ma < 1.0, "spheres: length RMS {len} mm, moment arm RMS {ma} mm");
    Ok(())
}

/// The solved muscle forces hold the one-leg-stance posture: an independent check by virtual
/// work on the stance leg (muscle tension times `-dL/dq`, the loads of the leg's bodies, the
/// ground reaction at its centre of pressure) about every coordinate of the stance leg; the
/// static optimisation balanced moments on the upper body instead.
#[test]
fn one_leg_stance_muscle_forces_hold_the_posture() -> Result<()> {
    let Some(model_path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let model = osim::read_osim(&model_path)?;
    let kin = Kinematics::new(&model)?;
    let bw = 760.0;
    let r = coxa_msk::hcf::hip_contact_force(&model, Activity::OneLegStance, bw, None)?;
    let q = &r.coordinates;
    let foot = model.body_index("calcn_r").context("calcn_r")?;
    let poses = kin.body_poses(&model, q);
    let cop_local = poses[foot].inverse_transform_point(&nalgebra::Point3::from(r.centre_of_pressure_m));
    let m_all = model.total_mass_kg();
    let names = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r", "knee_angle_r", "ankle_angle_r"];
    let coords: Vec<usize> = names.iter().map(|c| model.coordinate_index(c).context("coord")).collect::<Result<_>>()?;
    let mut residual = vec![0.0; coords.len()];
    for (name, t) in &r.muscle_forces_n {
        let (_, arms) = moment_arms(&model, &kin, model.muscle(name).context("muscle")?, q, &coords)?;
        for (k, a) in arms.iter().enumerate() {
            residual[k] += t * a;
        }
        if std::env::var_os("COXA_DEBUG_HCF").is_some() {
            eprintln!("    {name:14} {t:8.1} N  moments {:?}", arms.iter().map(|a| format!("{:+.2}", t * a)).collect::<Vec<_>>());
        }
    }
    let h = 1e-6;
    for (k, &c) in coords.iter().enumerate() {
        let (mut qp, mut qm) = (q.clone(), q.clone());
        qp[c] += h;
        qm[c] -= h;
        let (pp, pm) = (kin.body_poses(&model, &qp), kin.body_poses(&model, &qm));
        let mut g = 0.0;
        for (i, b) in model.bodies.iter().enumerate() {
            let c = nalgebra::Point3::from(b.mass_center_m);
            g += (-(b.mass_kg / m_all) * r.ground_reaction_n).dot(&((pp[i] * c) - (pm[i] * c))) / (2.0 * h);
        }
        g += r.ground_reaction_n.dot(&((pp[foot] * cop_local) - (pm[foot] * cop_local))) / (2.0 * h);
        // The straight knee's passive structures.
        if names[k] == "knee_angle_r" {
            g += r.passive_knee_n_m;
        }
        residual[k] += g;
        if std::env::var_os("COXA_DEBUG_HCF").is_some() {
            eprintln!("    load generalised force {}: {g:+.2} N m", names[k]);
        }
    }
    eprintln!("one-leg stance, residual generalised forces (N m): {}", names.iter().zip(&residual).map(|(n, v)| format!("{n} {v:+.4}")).collect::<Vec<_>>().join(", "));
    for (n, v) in names.iter().zip(&residual) {
        assert!(v.abs() < 0.5, "{n}: the solved forces leave {v} N m unbalanced");
    }
    Ok(())
}

/// The issue's rapier3d check: the stance leg and upper body as a rapier3d multibody at the
/// solved posture, loaded by the solution's forces, stay at rest (small residual); with the
/// muscle forces halved they clearly do not.
#[test]
fn rapier_multibody_holds_the_solved_posture() -> Result<()> {
    let Some(model_path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let model = osim::read_osim(&model_path)?;
    let bw = 760.0;
    solved_forces_hold_and_halved_do_not(&model, "gait2392", bw)?;
    // Bad input is a clear error, not a panic.
    let r = coxa_msk::hcf::hip_contact_force(&model, Activity::OneLegStance, bw, None)?;
    assert!(check_posture_rapier(&model, &r, f64::NAN, None).is_err());
    assert!(check_posture_rapier(&model, &r, bw, Some(-1.0)).is_err());
    let mut short = r.clone();
    short.coordinates.pop();
    assert!(check_posture_rapier(&model, &short, bw, None).is_err());
    let mut unknown = r;
    unknown.muscle_forces_n.push(("no_such_muscle".into(), 10.0));
    assert!(check_posture_rapier(&model, &unknown, bw, None).unwrap_err().to_string().contains("no_such_muscle"));
    Ok(())
}

/// The rapier3d check in one-leg stance and walking: with the solved forces the residual is what
/// the static optimisation gave its reserve actuators (and small); with the muscle forces
/// halved it is large.
pub(super) fn solved_forces_hold_and_halved_do_not(model: &osim::Model, name: &str, bw: f64) -> Result<()> {
    for activity in [Activity::OneLegStance, Activity::Walking] {
        let r = coxa_msk::hcf::hip_contact_force(model, activity, bw, None)?;
        let solved = check_posture_rapier(model, &r, bw, None)?;
        let mut halved = r.clone();
        for (_, t) in &mut halved.muscle_forces_n {
            *t *= 0.5;
        }
        let perturbed = check_posture_rapier(model, &halved, bw, None)?;
        let fmt = |p: &PostureResidual| p.dofs.iter().zip(&p.residual_n_m).map(|(n, v)| format!("{n} {v:+.3}")).collect::<Vec<_>>().join(", ");
        eprintln!("{name} {activity:?} (height {:.2} m): solved residual {:.3} N m = {:.4} %BW*h [{}]", solved.height_m, solved.max_n_m, solved.max_percent_bw_height, fmt(&solved));
        eprintln!("{name} {activity:?}: muscle forces halved: residual {:.1} N m = {:.3} %BW*h [{}]", perturbed.max_n_m, perturbed.max_percent_bw_height, fmt(&perturbed));
        assert!(solved.max_percent_bw_height < 0.05, "{name} {activity:?}: the solved forces leave {} N m", solved.max_n_m);
        // What is left is what the static optimisation gave its reserve actuators.
        let reserve: Vec<f64> = r.reserve_n_m.iter().chain(&r.distal_reserve_n_m).copied().collect();
        for (k, (v, res)) in solved.residual_n_m.iter().zip(&reserve).enumerate() {
            assert!((v + res).abs() < 0.01, "{name} {activity:?} {}: residual {v} N m, reserve {res} N m", solved.dofs[k]);
        }
        assert!(perturbed.max_percent_bw_height > 1.0 && perturbed.max_n_m > 50.0 * solved.max_n_m.max(0.01), "{name} {activity:?}: halving the muscle forces left only {} N m", perturbed.max_n_m);
    }
    Ok(())
}

/// gait2392 with one wrap object added on the right femur per `(muscle, xml)` pair, placed 4 mm
/// off the middle of the muscle's pelvis-femur segment at hip flexion 0.3 rad; `xml(k, centre)`
/// gives the wrap object's element (named `test_wrap{k}`). Returns the temporary folder (keep
/// it alive) and the edited model's path.
pub(super) fn gait2392_with_wraps(model_path: &Path, wraps: &[(&str, &str)], xml: impl Fn(usize, nalgebra::Vector3<f64>) -> String) -> Result<(tempfile::TempDir, std::path::PathBuf)> {
    let text = std::fs::read_to_string(model_path)?;
    let model = osim::read_osim(model_path)?;
    let kin = Kinematics::new(&model)?;
    let femur = model.body_index("femur_r").context("femur_r")?;
    let mut q = model.default_coordinates();
    q[model.coordinate_index("hip_flexion_r").context("coord")?] = 0.3;
    let poses = kin.body_poses(&model, &q);
    let mut objects = String::new();
    let mut edited = text.clone();
    for (k, (muscle, method)) in wraps.iter().enumerate() {
        let m = model.muscle(muscle).context("muscle")?;
        let path = coxa_msk::muscle_path(&model, m, &poses, &q)?;
        let w = path.nodes.windows(2).find(|w| w[0].body != w[1].body).context("segment")?;
        let mid = 0.5 * (w[0].ground_m + w[1].ground_m);
        let dir = (w[1].ground_m - w[0].ground_m).normalize();
        let off = dir.cross(&nalgebra::Vector3::y()).normalize() * 0.004;
        let centre = poses[femur].inverse_transform_point(&nalgebra::Point3::from(mid + off)).coords;
        objects.push_str(&xml(k, centre));
        let start = edited.find(&format!("<Thelen2003Muscle name=\"{muscle}\">")).context("muscle element")?;
        let at = start + edited[start..].find("<PathWrapSet>").context("PathWrapSet")?;
        let o = at + edited[at..].find("<objects />").context("objects")?;
        edited.replace_range(
            o..o + "<objects />".len(),
            &format!("<objects><PathWrap name=\"pw{k}\"><wrap_object>test_wrap{k}</wrap_object><method>{method}</method><range>-1 -1</range></PathWrap></objects>"),
        );
    }
    let body = edited.find("<Body name=\"femur_r\">").context("femur_r")?;
    let at = body + edited[body..].find("<WrapObjectSet").context("WrapObjectSet")?;
    let o = at + edited[at..].find("<objects />").context("objects")?;
    edited.replace_range(o..o + "<objects />".len(), &format!("<objects>{objects}</objects>"));
    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("gait2392_wraps.osim");
    std::fs::write(&path, edited)?;
    Ok((tmp, path))
}

/// At how many poses of [`hip_grid`] each of `muscles`' paths wraps over a wrap object, and the
/// number of poses.
pub(super) fn wrapped_poses(path: &Path, muscles: &[&str]) -> Result<(Vec<usize>, usize)> {
    let model = osim::read_osim(path)?;
    let kin = Kinematics::new(&model)?;
    let coords: Vec<usize> = ["hip_flexion_r", "hip_adduction_r", "hip_rotation_r"].iter().map(|c| model.coordinate_index(c).context("coord")).collect::<Result<_>>()?;
    let mut wrapped = vec![0; muscles.len()];
    let grid = hip_grid();
    for pose in &grid {
        let mut q = model.default_coordinates();
        for (c, v) in coords.iter().zip(&pose[..3]) {
            q[*c] = v.to_radians();
        }
        let poses = kin.body_poses(&model, &q);
        for (k, m) in muscles.iter().enumerate() {
            let p = coxa_msk::muscle_path(&model, model.muscle(m).context("muscle")?, &poses, &q)?;
            wrapped[k] += usize::from(p.nodes.iter().any(|n| n.wrap.is_some()));
        }
    }
    Ok((wrapped, grid.len()))
}

/// Ellipsoid wrapping against OpenSim: gait2392 with four ellipsoids added on the right femur,
/// one per gluteus maximus part and one on the gluteus medius, covering the three methods
/// (hybrid, midpoint, axial) and free and quadrant-constrained wrapping, so that the paths wrap
/// in some poses of the issue's grid and not in others.
#[test]
fn ellipsoid_wrapping_matches_opensim() -> Result<()> {
    let Some(model_path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let wraps = [("glut_max1_r", "hybrid"), ("glut_max2_r", "midpoint"), ("glut_max3_r", "axial"), ("glut_med2_r", "hybrid")];
    let quadrants = ["all", "-x", "+z", "-y"];
    let dims = ["0.012 0.02 0.03", "0.02 0.012 0.016", "0.01 0.014 0.025", "0.015 0.03 0.012"];
    let (_tmp, path) = gait2392_with_wraps(&model_path, &wraps, |k, c| {
        format!(
            "<WrapEllipsoid name=\"test_wrap{k}\"><active>true</active><xyz_body_rotation>0.1 0.2 0.3</xyz_body_rotation><translation>{} {} {}</translation><quadrant>{}</quadrant><dimensions>{}</dimensions></WrapEllipsoid>",
            c.x, c.y, c.z, quadrants[k], dims[k]
        )
    })?;
    let muscles: Vec<&str> = wraps.iter().map(|w| w.0).collect();
    let (wrapped, poses) = wrapped_poses(&path, &muscles)?;
    eprintln!("ellipsoid wraps per muscle ({poses} poses each): {:?}", muscles.iter().zip(&wrapped).collect::<Vec<_>>());
    // Every ellipsoid (each method, free and constrained) is wrapped over in part of the grid.
    for (m, w) in muscles.iter().zip(&wrapped) {
        assert!(*w >= 5 && *w < poses, "{m} wraps in {w} of {poses} poses");
    }
    let all: usize = wrapped.iter().sum();
    assert!(all > muscles.len() * poses / 5, "{all} of {} muscle-poses", muscles.len() * poses);
    let (len, ma, _, _) = compare_with_opensim(&path, "r", &hip_grid())?;
    assert!(len < 1.0 && ma < 1.0, "ellipsoids: length RMS {len} mm, moment arm RMS {ma} mm");
    Ok(())
}

/// Torus wrapping against OpenSim: gait2392 with four tori added on the right femur, one per
/// gluteus maximus part and one on the gluteus medius, each with its axis along the muscle's
/// pelvis-femur segment (at hip flexion 0.3 rad) and the segment passing through the hole 5 mm
/// inside the tube's centre circle, so that the paths wrap over the tube's inner side in some
/// poses of the issue's grid and not in others.
#[test]
fn torus_wrapping_matches_opensim() -> Result<()> {
    let Some(model_path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let wraps = [("glut_max1_r", "hybrid"), ("glut_max2_r", "hybrid"), ("glut_max3_r", "hybrid"), ("glut_med2_r", "hybrid")];
    let quadrants = ["all", "-x", "all", "all"];
    let radii = [(0.01, 0.03), (0.012, 0.03), (0.008, 0.025), (0.01, 0.03)];
    // The segments' directions and the centres of the tori, in the femur frame.
    let model = osim::read_osim(&model_path)?;
    let kin = Kinematics::new(&model)?;
    let femur = model.body_index("femur_r").context("femur_r")?;
    let mut q = model.default_coordinates();
    q[model.coordinate_index("hip_flexion_r").context("coord")?] = 0.3;
    let poses = kin.body_poses(&model, &q);
    let mut frames = Vec::new();
    for (k, (muscle, _)) in wraps.iter().enumerate() {
        let path = coxa_msk::muscle_path(&model, model.muscle(muscle).context("muscle")?, &poses, &q)?;
        let w = path.nodes.windows(2).find(|w| w[0].body != w[1].body).context("segment")?;
        let inv = poses[femur].inverse();
        let (a, b) = (inv.transform_point(&nalgebra::Point3::from(w[0].ground_m)).coords, inv.transform_point(&nalgebra::Point3::from(w[1].ground_m)).coords);
        let z = (b - a).normalize();
        let x = z.cross(&nalgebra::Vector3::y()).normalize();
        let y = z.cross(&x);
        let r = nalgebra::Matrix3::from_columns(&[x, y, z]);
        // Body-fixed X-Y-Z angles of r = Rx(a) Ry(b) Rz(c).
        let angles = [(-r[(1, 2)]).atan2(r[(2, 2)]), r[(0, 2)].asin(), (-r[(0, 1)]).atan2(r[(0, 0)])];
        // The segment passes 5 mm inside the centre circle, on the torus's -x side.
        let centre = 0.5 * (a + b) + x * (radii[k].1 - 0.005);
        frames.push((angles, centre));
    }
    let (_tmp, path) = gait2392_with_wraps(&model_path, &wraps, |k, _| {
        let ([ax, ay, az], c) = frames[k];
        format!(
            "<WrapTorus name=\"test_wrap{k}\"><active>true</active><xyz_body_rotation>{ax} {ay} {az}</xyz_body_rotation><translation>{} {} {}</translation><quadrant>{}</quadrant><inner_radius>{}</inner_radius><outer_radius>{}</outer_radius></WrapTorus>",
            c.x, c.y, c.z, quadrants[k], radii[k].0, radii[k].1
        )
    })?;
    let muscles: Vec<&str> = wraps.iter().map(|w| w.0).collect();
    let (wrapped, poses_n) = wrapped_poses(&path, &muscles)?;
    eprintln!("torus wraps per muscle ({poses_n} poses each): {:?}", muscles.iter().zip(&wrapped).collect::<Vec<_>>());
    for (m, w) in muscles.iter().zip(&wrapped) {
        assert!(*w >= 5 && *w < poses_n, "{m} wraps in {w} of {poses_n} poses");
    }
    let (len, ma, _, _) = compare_with_opensim(&path, "r", &hip_grid())?;
    assert!(len < 1.0 && ma < 1.0, "tori: length RMS {len} mm, moment arm RMS {ma} mm");
    Ok(())
}

/// The rapier3d check on Rajagopal 2016, whose knee turns about several axes and translates
/// with its angle and whose patella hangs on the femur and moves with the knee angle through a
/// coupler: screw joints tied by rapier dof couplings. The residual left is what the static
/// optimisation gave its reserve actuators.
#[test]
fn rapier_multibody_check_on_rajagopal_with_its_coupled_patella() -> Result<()> {
    let Some(model_path) = shared_data("opensim/Rajagopal/Rajagopal2016.osim") else { return Ok(()) };
    let model = osim::read_osim(&model_path)?;
    let bw = 760.0;
    solved_forces_hold_and_halved_do_not(&model, "Rajagopal", bw)
}

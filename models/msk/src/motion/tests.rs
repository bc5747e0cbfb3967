use super::*;

#[test]
fn spline_and_filter_keep_smooth_signals() {
    let t: Vec<f64> = (0..101).map(|k| 0.01 * f64::from(k)).collect();
    let w = 2.0 * std::f64::consts::PI;
    let y: Vec<f64> = t.iter().map(|&x| (w * x).sin()).collect();
    let s = Spline::natural(t.clone(), y.clone());
    // Away from the natural ends the spline's derivatives are the sine's to 0.1 %.
    for &x in &[0.25, 0.333, 0.5, 0.77] {
        let (v, d, dd) = (s.value(x), s.derivative(x), s.second_derivative(x));
        assert!((v - (w * x).sin()).abs() < 1e-5, "{x}");
        assert!((d - w * (w * x).cos()).abs() < 1e-3 * w, "{x}: {d}");
        assert!((dd + w * w * (w * x).sin()).abs() < 1e-3 * w * w, "{x}: {dd}");
    }
    // A 1 Hz sine through a 6 Hz filter: unchanged within 0.2 %; a 30 Hz ripple on it
    // is cut to below 3 %.
    let noisy: Vec<f64> = t.iter().map(|&x| (w * x).sin() + 0.1 * (30.0 * w * x).sin()).collect();
    let f = lowpass_butterworth(&noisy, 0.01, 6.0);
    let worst = f.iter().zip(&y).skip(10).take(80).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 0.003 + 0.1 * 0.03, "{worst}");
    let clean = lowpass_butterworth(&y, 0.01, 6.0);
    assert!(clean.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) < 2e-3);
}

/// A pendulum: a 2 kg point-like rod on a pin at the ground's origin, swinging about z.
/// Its generalised force is `I theta'' + m g l sin(theta)` (exactly), with the force of a
/// load at its tip `-F . dp/dtheta`.
#[test]
fn inverse_dynamics_of_a_pendulum() {
    // The model file is shared with the `.mot` fuzz target (tests/fuzz/main.rs).
    let xml = include_str!("../../tests/fixtures/pendulum.osim");
    let model = coxa_osim::parse_osim(xml, std::path::Path::new("pendulum.osim")).unwrap();
    let mut motion = Storage::new("m", false, vec!["theta".into()]);
    let mut grf = Storage::new("g", false, ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz"].iter().map(|s| s.to_string()).collect());
    let w = 3.0;
    for k in 0..201 {
        let t = 0.005 * f64::from(k);
        motion.rows.push((t, vec![0.4 * (w * t).sin()]));
        // 10 N along +x at the rod's tip (0, -1, 0 in the rod), moving with it.
        let th = 0.4 * (w * t).sin();
        grf.rows.push((t, vec![10.0, 0.0, 0.0, th.sin(), -th.cos(), 0.0]));
    }
    let frames = inverse_dynamics(&model, &motion, &grf, &[ExternalLoad::plate("rod", "")], &MotionOptions::default()).unwrap();
    assert_eq!(frames.len(), 201);
    let mut worst: f64 = 0.0;
    for f in frames.iter().skip(20).take(160) {
        let t = f.time_s;
        let (th, thdd) = (0.4 * (w * t).sin(), -0.4 * w * w * (w * t).sin());
        // Inertia about the pin: I_zz + m l^2.
        let exact = (0.1 + 2.0 * 0.25) * thdd + 2.0 * 9.80665 * 0.5 * th.sin() - 10.0 * th.cos();
        worst = worst.max((f.generalised_forces[0] - exact).abs());
    }
    assert!(worst < 2e-3, "pendulum generalised force off by {worst} N m");
}

/// Issue 45: a motion without `hip_flexion_r` gave 586 %BW instead of 381 with exit 0 (the
/// coordinate taken as its default); now it is an error naming it. Locked coordinates the
/// file lacks stay at their default.
#[test]
fn issue_45_a_missing_free_coordinate_is_an_error_naming_it() {
    let model = coxa_osim::embedded::gait2392().unwrap();
    let locked: Vec<&str> = model.coordinates.iter().filter(|c| c.locked).map(|c| c.name.as_str()).collect();
    let kept: Vec<String> = model.coordinates.iter().map(|c| c.name.clone()).filter(|n| n != "hip_flexion_r" && !locked.contains(&n.as_str())).collect();
    let mut motion = Storage::new("ik", true, kept.clone());
    let mut grf = Storage::new("g", false, ["ground_force_vx", "ground_force_vy", "ground_force_vz", "ground_force_px", "ground_force_py", "ground_force_pz"].iter().map(|s| s.to_string()).collect());
    for k in 0..10 {
        let t = 0.01 * f64::from(k);
        motion.rows.push((t, vec![0.0; kept.len()]));
        grf.rows.push((t, vec![0.0, 700.0, 0.0, 0.0, 0.0, 0.08]));
    }
    let loads = [ExternalLoad::plate("calcn_r", "")];
    let e = inverse_dynamics(&model, &motion, &grf, &loads, &MotionOptions::default()).unwrap_err();
    assert!(matches!(&e, MskError::MissingCoordinates { names } if names == &["hip_flexion_r"]), "{e}");
    assert_eq!(
        e.to_string(),
        "the motion has no column for 1 coordinate(s) of the model: hip_flexion_r; a missing coordinate is never taken as its default (the force would be wrong, not refused): give the inverse kinematics output of this model (OpenSim writes every coordinate) or add the column"
    );
    // With the column (locked coordinates still absent) the motion is taken.
    motion.columns.push("hip_flexion_r".into());
    for r in &mut motion.rows {
        r.1.push(10.0);
    }
    let frames = inverse_dynamics(&model, &motion, &grf, &loads, &MotionOptions::default()).unwrap();
    assert_eq!(frames.len(), 10);
}

#[test]
fn mirror_swaps_sides_and_flips_lateral_components() {
    let mut m = Storage::new("ik", true, vec!["hip_flexion_l".into(), "pelvis_list".into(), "pelvis_tx".into()]);
    m.rows.push((0.0, vec![20.0, 3.0, 0.5]));
    let mut g = Storage::new("grf", false, vec!["1_ground_force_vz".into(), "ground_force_py".into(), "ground_torque_x".into(), "ground_torque_y".into(), "ground_torque_z".into()]);
    g.rows.push((0.0, vec![5.0, 1.0, 2.0, 3.0, 4.0]));
    let (mm, gg) = mirror_left_to_right(&m, &g);
    assert_eq!(mm.columns, vec!["hip_flexion_r", "pelvis_list", "pelvis_tx"]);
    assert_eq!(mm.rows[0].1, vec![20.0, -3.0, 0.5]);
    assert_eq!(gg.rows[0].1, vec![-5.0, 1.0, -2.0, -3.0, 4.0]);
}

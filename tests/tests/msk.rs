//! Musculoskeletal simulation (issue 6): the .osim reader on gait2392 and Rajagopal, muscle
//! paths and moment arms side by side with OpenSim 4.6 (`tests/peers/opensim_moment_arms.py`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use coxa_core::{OrthoLoadFemur, Side};
use coxa_io::markups::read_markups;
use coxa_msk::RightFemur;
use coxa_msk::hcf::{Activity, HcfOptions, hip_contact_force_with};
use coxa_msk::osim::{self, JointKind, MuscleModel, PathPointKind};
use coxa_msk::posture::{PostureResidual, check_posture_rapier};
use coxa_msk::{Kinematics, apply_couplers, clamp_coordinates, crosses_hip, moment_arms};

use crate::common::{shared_data, workspace_root};

/// The Python with OpenSim 4.6: `$COXA_PYTHON` or `.venv/bin/python`. Outside CI a missing
/// OpenSim skips the comparison with a note; in CI (`CI=true`) it fails.
/// A subject's OrthoLoad landmark files (3D Slicer markups, LPS or RAS): the femur's points
/// mirrored to a right femur, and the distance of the pelvis's hip centres, mm.
pub(crate) fn orthoload_landmarks(pelvis: &Path, femur: &Path, side: Side) -> Result<(RightFemur, f64)> {
    let points = read_markups(femur)?;
    let femur = RightFemur::new(&OrthoLoadFemur::from_labels(points.iter().map(|c| (c.label.as_str(), c.lps_mm)), side)?, side)?;
    let pelvis = read_markups(pelvis)?;
    let hjc = |n: &str| pelvis.iter().find(|c| c.label == n).map(|c| c.lps_mm).context("pelvis HJC");
    Ok((femur, (hjc("HJC_L")? - hjc("HJC_R")?).norm()))
}

pub(crate) fn opensim_python() -> Option<std::path::PathBuf> {
    let py = std::env::var_os("COXA_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let ok = Command::new(&py).args(["-c", "import opensim"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "OpenSim is missing: {} cannot import opensim; run scripts/setup (scripts/requirements-peers.txt pins opensim==4.6)", py.display());
    eprintln!("note: skipping the OpenSim comparison, run scripts/setup to install opensim");
    None
}

#[test]
fn reads_gait2392_and_rajagopal() -> Result<()> {
    let Some(dir) = shared_data("opensim") else { return Ok(()) };
    let thelen = osim::read_osim(dir.join("gait2392_thelen2003muscle.osim"))?;
    assert_eq!(thelen.bodies.len(), 13, "ground and 12 bodies");
    assert_eq!(thelen.joints.len(), 12);
    assert_eq!(thelen.coordinates.len(), 23, "gait2392 has 23 degrees of freedom");
    assert_eq!(thelen.muscles.len(), 92);
    assert!(thelen.muscles.iter().all(|m| matches!(m.model, MuscleModel::Thelen2003(_))));
    let gmed = thelen.muscle("glut_med1_r").context("glut_med1_r")?;
    assert_eq!(gmed.max_isometric_force_n, 819.0);
    assert_eq!(gmed.optimal_fiber_length_m, 0.0535);
    let knee = thelen.joints.iter().find(|j| j.name == "knee_r").context("knee_r")?;
    assert!(matches!(knee.transform.translations[0].function, osim::Function::SimmSpline(_)), "the knee translates along a SimmSpline of the knee angle");
    let n_cond = thelen.muscles.iter().flat_map(|m| &m.path_points).filter(|p| matches!(p.kind, PathPointKind::Conditional { .. })).count();
    let n_moving = thelen.muscles.iter().flat_map(|m| &m.path_points).filter(|p| matches!(p.kind, PathPointKind::Moving { .. })).count();
    assert_eq!((n_cond, n_moving), (26, 8));

    let millard = osim::read_osim(dir.join("gait2392_millard2012muscle.osim"))?;
    assert_eq!(millard.muscles.len(), 92);
    assert!(millard.muscles.iter().all(|m| matches!(m.model, MuscleModel::Millard2012(_))));

    for name in ["Rajagopal/Rajagopal2016.osim", "Rajagopal/RajagopalLaiUhlrich2023.osim"] {
        let raj = osim::read_osim(dir.join(name))?;
        assert_eq!(raj.muscles.len(), 80, "{name}");
        assert_eq!(raj.couplers.len(), 2, "{name}: the patellae follow the knee angles");
        assert!(raj.joints.iter().any(|j| j.kind == JointKind::Pin) && raj.joints.iter().any(|j| j.kind == JointKind::Universal), "{name}");
        let n_wraps: usize = raj.muscles.iter().map(|m| m.path_wraps.len()).sum();
        assert!(n_wraps >= 40, "{name}: {n_wraps} path wraps");
        assert!(raj.wrap_objects.iter().all(|w| matches!(w.shape, osim::WrapShape::Cylinder { .. })), "{name}");
    }
    Ok(())
}

#[test]
fn osim_errors_name_the_file() {
    let e = osim::read_osim("/nonexistent/model.osim").unwrap_err().to_string();
    assert!(e.contains("/nonexistent/model.osim"), "{e}");
}

/// Per-muscle comparison with OpenSim over a grid of hip angles; returns the worst RMS (mm) of
/// lengths and of moment arms, and how many muscle-poses wrapped over a wrap object.
/// Returns the worst per-muscle RMS of length and moment arm (mm), the muscle-poses that wrapped,
/// and the largest moment-arm difference (mm).
pub(crate) fn compare_with_opensim(model_path: &Path, side: &str, grid: &[[f64; 4]]) -> Result<(f64, f64, usize, f64)> {
    let Some(py) = opensim_python() else { return Ok((0.0, 0.0, usize::MAX, 0.0)) };
    let model = osim::read_osim(model_path)?;
    let kin = Kinematics::new(&model)?;
    let grid_json = serde_json::to_string(grid)?;
    let out = Command::new(&py).arg(workspace_root().join("tests/peers/opensim_moment_arms.py")).arg(model_path).arg(side).arg(&grid_json).output()?;
    ensure!(out.status.success(), "OpenSim failed: {}", String::from_utf8_lossy(&out.stderr));
    let want: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let names: Vec<String> = want["muscles"].as_array().context("muscles")?.iter().filter_map(|v| v.as_str().map(String::from)).collect();
    let ours: Vec<String> = model.muscles.iter().filter(|m| crosses_hip(&model, m, side)).map(|m| m.name.clone()).collect();
    assert_eq!(ours, names, "the hip-crossing muscles");
    let coord_names = [format!("hip_flexion_{side}"), format!("hip_adduction_{side}"), format!("hip_rotation_{side}")];
    let coords: Vec<usize> = coord_names.iter().map(|c| model.coordinate_index(c).context("hip coordinate")).collect::<Result<_>>()?;
    let knee = model.coordinate_index(&format!("knee_angle_{side}")).context("knee coordinate")?;

    // Body poses first: a wrong joint convention shows here before it shows in the muscles.
    let mut max_pose_err: f64 = 0.0;
    let mut qs = Vec::new();
    for (k, pose) in grid.iter().enumerate() {
        let mut q = model.default_coordinates();
        for (c, v) in coords.iter().chain([&knee]).zip(pose) {
            q[*c] = v.to_radians();
        }
        clamp_coordinates(&model, &mut q);
        apply_couplers(&model, &mut q);
        // OpenSim's assembler moves the coordinates by up to ~1e-4 rad when a coupler or a clamp
        // is involved (its tolerance); take its values so that both sides see the same pose.
        let mut max_q_diff: f64 = 0.0;
        for (i, c) in model.coordinates.iter().enumerate() {
            let v = want["coordinates"][k][&c.name].as_f64().context("coordinate value")?;
            max_q_diff = max_q_diff.max((q[i] - v).abs());
            q[i] = v;
        }
        assert!(max_q_diff < 1e-3, "pose {pose:?}: OpenSim assembled coordinates {max_q_diff} rad away from ours");
        let poses = kin.body_poses(&model, &q);
        for b in ["pelvis", &format!("femur_{side}"), &format!("tibia_{side}")] {
            let m = &want["bodies"][b][k];
            let x = poses[model.body_index(b).context("body")?].to_homogeneous();
            for r in 0..3 {
                for c in 0..4 {
                    let w = m[4 * r + c].as_f64().context("matrix")?;
                    max_pose_err = max_pose_err.max((x[(r, c)] - w).abs());
                }
            }
        }
        qs.push(q);
    }
    eprintln!("{}: largest difference of body poses to OpenSim {:.2e}", model_path.display(), max_pose_err);
    assert!(max_pose_err < 1e-9, "body poses differ from OpenSim by {max_pose_err}");

    eprintln!("{:14} {:>9} {:>9} {:>9} {:>9}   (RMS vs OpenSim 4.6, mm)", "muscle", "length", "flexion", "adduction", "rotation");
    let (mut worst_len, mut worst_ma) = (0.0f64, 0.0f64);
    let mut wrapped = 0;
    let (mut max_len, mut max_ma) = (0.0f64, 0.0f64);
    for name in &names {
        let muscle = model.muscle(name).context("muscle")?;
        let mut se = [0.0f64; 4];
        for (k, q) in qs.iter().enumerate() {
            let (path, ma) = moment_arms(&model, &kin, muscle, q, &coords)?;
            wrapped += usize::from(path.nodes.iter().any(|n| n.wrap.is_some()));
            let wl = want["length_m"][name][k].as_f64().context("length")?;
            se[0] += (path.length_m - wl).powi(2);
            // COXA_DEBUG_WRAP=1 prints the poses where the lengths differ, with coxa's path.
            if std::env::var_os("COXA_DEBUG_WRAP").is_some() && (path.length_m - wl).abs() > 1e-6 {
                eprintln!("    {name} pose {:?}: length {:.6} m, OpenSim {wl:.6} m, wrap nodes {}", grid[k], path.length_m, path.nodes.iter().filter(|n| n.wrap.is_some()).count());
                for n in &path.nodes {
                    eprintln!("      {:?} wrap {:?} {:.6}", n.ground_m.as_slice(), n.wrap, n.wrap_length_m);
                }
            }
            max_len = max_len.max(1000.0 * (path.length_m - wl).abs());
            for (i, cn) in coord_names.iter().enumerate() {
                let w = want["moment_arm_m"][name][cn][k].as_f64().context("moment arm")?;
                se[i + 1] += (ma[i] - w).powi(2);
                max_ma = max_ma.max(1000.0 * (ma[i] - w).abs());
            }
        }
        let rms: Vec<f64> = se.iter().map(|s| 1000.0 * (s / qs.len() as f64).sqrt()).collect();
        eprintln!("{:14} {:9.2e} {:9.2e} {:9.2e} {:9.2e}", name, rms[0], rms[1], rms[2], rms[3]);
        worst_len = worst_len.max(rms[0]);
        worst_ma = worst_ma.max(rms[1]).max(rms[2]).max(rms[3]);
    }
    eprintln!(
        "worst RMS: length {worst_len:.2e} mm, moment arm {worst_ma:.2e} mm over {} poses; largest difference: length {max_len:.2e} mm, moment arm {max_ma:.2e} mm; {wrapped} muscle-poses wrapped",
        qs.len()
    );
    Ok((worst_len, worst_ma, wrapped, max_ma))
}

/// The grid of the issue, coarse: flexion -30..90 (5), adduction -30..20 (4), rotation -30..30
/// (3) degrees; the knee straight.
pub(crate) fn hip_grid() -> Vec<[f64; 4]> {
    let mut g = Vec::new();
    for f in [-30.0, 0.0, 30.0, 60.0, 90.0] {
        for a in [-30.0, -13.0, 3.0, 20.0] {
            for r in [-30.0, 0.0, 30.0] {
                g.push([f, a, r, 0.0]);
            }
        }
    }
    g
}

/// Hip flexion and knee flexion together (`knee_sign` -1 for gait2392, whose knee flexes with
/// negative angles, +1 for Rajagopal): the knee's spline translations, moving path points,
/// conditional path points and (Rajagopal) the patella's coupled coordinate all move.
fn hip_knee_grid(knee_sign: f64) -> Vec<[f64; 4]> {
    let mut g = Vec::new();
    for f in [-20.0, 10.0, 45.0, 80.0] {
        for k in [5.0, 25.0, 50.0, 75.0, 100.0] {
            g.push([f, 5.0, 10.0, knee_sign * k]);
        }
    }
    g
}

#[test]
fn gait2392_hip_moment_arms_and_lengths_match_opensim() -> Result<()> {
    let Some(path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let (len, ma, _, _) = compare_with_opensim(&path, "r", &hip_grid())?;
    assert!(len < 1.0, "length RMS {len} mm");
    assert!(ma < 1.0, "moment arm RMS {ma} mm");
    Ok(())
}

#[test]
fn gait2392_and_rajagopal_with_the_knee_flexed_match_opensim() -> Result<()> {
    for (name, sign) in [("opensim/gait2392_thelen2003muscle.osim", -1.0), ("opensim/Rajagopal/Rajagopal2016.osim", 1.0)] {
        let Some(path) = shared_data(name) else { return Ok(()) };
        let (len, ma, _, _) = compare_with_opensim(&path, "r", &hip_knee_grid(sign))?;
        assert!(len < 1.0, "{name}: length RMS {len} mm");
        assert!(ma < 1.0, "{name}: moment arm RMS {ma} mm");
    }
    Ok(())
}

#[test]
fn rajagopal_hip_moment_arms_and_lengths_match_opensim_with_wrapping() -> Result<()> {
    let Some(path) = shared_data("opensim/Rajagopal/Rajagopal2016.osim") else { return Ok(()) };
    let (len, ma, wrapped, _) = compare_with_opensim(&path, "r", &hip_grid())?;
    assert!(len < 1.0, "length RMS {len} mm");
    assert!(ma < 1.0, "moment arm RMS {ma} mm");
    assert!(wrapped >= 100, "the cylinders must come into play: {wrapped} muscle-poses wrapped");
    Ok(())
}

/// `Weight_N` and the three `HJF_pBW` of an OrthoLoad force file.
fn orthoload_force(path: &Path) -> Result<(f64, [f64; 3])> {
    let text = std::fs::read_to_string(path)?;
    let values = |tag: &str| -> Vec<f64> { text.split(&format!("<{tag}>")).skip(1).filter_map(|s| s.split(&format!("</{tag}>")).next()).filter_map(|v| v.trim().parse().ok()).collect() };
    let w = values("Weight_N");
    let f = values("HJF_pBW");
    ensure!(w.len() == 1 && f.len() == 3, "{}: expected Weight_N and 3 HJF_pBW", path.display());
    Ok((w[0], [f[0], f[1], f[2]]))
}

/// Hip contact force against the in-vivo forces of the three OrthoLoad patients (one-leg
/// stance and the first walking peak): magnitude and direction errors per subject, printed.
/// The measured forces act on the femoral head, in the Bergmann 2016 femur frame (+x lateral,
/// +y anterior, +z superior; left femurs mirrored), as HipJointForceModel's
/// `createOrthoLoadForceData.m` labels them; OLS is the mean over the middle 50 % of the stance
/// plateau, LW the mean over +-2.5 % of the cycle around the first peak.
/// Every case must stay in the physiological range, and the medians of the default options
/// must not get worse than where they stand (a regression bound, a few %BW and degrees above
/// the current medians; issue 6 aims at a median < 15 %BW and < 5 deg, which coxa does not
/// reach yet), and must beat the fixed posture.
#[test]
fn hip_contact_force_vs_orthoload_in_vivo() -> Result<()> {
    let Some(dir) = shared_data("orthoload") else { return Ok(()) };
    for name in ["gait2392_thelen2003muscle.osim", "Rajagopal/Rajagopal2016.osim"] {
        let Some(model_path) = shared_data(&format!("opensim/{name}")) else { return Ok(()) };
        let model = osim::read_osim(&model_path)?;
        let variants = [
            ("default: hip, knee and ankle equilibrium, posture of least effort", HcfOptions::new()),
            ("posture search without lateral trunk lean", HcfOptions::new().with_lateral_trunk_lean(false)),
            ("fixed posture (pelvis untilted, trunk upright)", HcfOptions::new().with_optimise_posture(false)),
            ("hip equilibrium only", HcfOptions::new().with_distal_equilibrium(false)),
            ("cubed activations (endurance criterion)", HcfOptions::new().with_activation_exponent(3.0)),
        ];
        let mut medians = Vec::new();
        for (label, options) in &variants {
            eprintln!("{name}, {label}");
            medians.push(hcf_vs_orthoload(&model, &dir, options)?);
        }
        // (median |magnitude error| %BW, median direction error deg) of the default options.
        // Issue 20 part 3 corrected the walking pelvic obliquity's sign (the stance side was
        // dropped): the walking errors grew, so did these bounds (were (55, 16) and (74, 13.5)
        // over 49.6 / 14.8 and 69.9 / 12.0; now 73.9 / 14.8 and 78.6 / 11.8).
        let bound = if name.starts_with("gait2392") { (78.0, 16.0) } else { (82.0, 13.5) };
        let (mag, angle) = medians[0];
        assert!(mag < bound.0 && angle < bound.1, "{name}: median errors {mag:.1} %BW / {angle:.1} deg, regression bound {bound:?}");
        assert!(mag < medians[2].0 - 5.0, "{name}: the posture of least effort ({mag:.1} %BW) must beat the fixed posture ({:.1} %BW)", medians[2].0);
    }
    // Rajagopal with Lai et al. 2017's and Uhlrich et al. 2022's changes (abductor paths fitted
    // to MRI): the default options only. Issue 20 measured 51.7 %BW / 11.3 deg (4th of 6), the
    // best of the three models in magnitude and direction; 63.2 / 11.2 after the walking
    // obliquity's sign correction (issue 20 part 3).
    if let Some(model_path) = shared_data("opensim/Rajagopal/RajagopalLaiUhlrich2023.osim") {
        eprintln!("RajagopalLaiUhlrich2023, default");
        let (mag, angle) = hcf_vs_orthoload(&osim::read_osim(&model_path)?, &dir, &HcfOptions::new())?;
        assert!(mag < 67.0 && angle < 12.5, "RajagopalLaiUhlrich2023: median errors {mag:.1} %BW / {angle:.1} deg, regression bound (67, 12.5)");
    }
    Ok(())
}

/// Prints the per-case comparison; returns the median |magnitude error| (%BW) and the median
/// direction error (deg).
fn hcf_vs_orthoload(model: &osim::Model, dir: &Path, options: &HcfOptions) -> Result<(f64, f64)> {
    let mut mag_err = Vec::new();
    let mut dir_err = Vec::new();
    eprintln!("{:4} {:4} {:>26} {:>26} {:>8} {:>8}", "subj", "act", "coxa [x y z] %BW", "in vivo [x y z] %BW", "|F| err", "angle");
    for (subject, side) in [("H1L", Side::Left), ("H2R", Side::Right), ("H3L", Side::Left)] {
        let landmarks = |bone: &str| dir.join(format!("Landmarks/{subject}_{bone}Landmarks.fcsv"));
        let (femur, width_mm) = orthoload_landmarks(&landmarks("Pelvis"), &landmarks("Femur"), side)?;
        // The model scaled to the subject (pelvis by the hip centres' distance, femur by its
        // length), as `coxa hcf` does.
        let factors = coxa_msk::personalise::landmark_scale_factors(model, width_mm, &femur)?;
        let refs: Vec<(&str, nalgebra::Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
        let scaled = coxa_msk::personalise::scale_bodies(model, &refs)?;
        let model = &scaled;
        for (act, activity) in [("OLS", Activity::OneLegStance), ("LW", Activity::Walking)] {
            let (bw, want) = orthoload_force(&dir.join(format!("Forces/{subject}_{act}.xml")))?;
            let r = hip_contact_force_with(model, activity, bw, Some(&femur), options)?;
            let got = r.force_orthoload_percent_bw.context("OrthoLoad frame")?;
            let want = nalgebra::Vector3::from(want);
            let e_mag = got.norm() - want.norm();
            let angle = (got.dot(&want) / (got.norm() * want.norm())).clamp(-1.0, 1.0).acos().to_degrees();
            eprintln!(
                "{subject:4} {act:4} [{:7.1} {:7.1} {:7.1}] [{:7.1} {:7.1} {:7.1}] {:+8.1} {:8.1}   stance hip {:.1?} deg, pelvis tilt {:.1} deg, trunk {:+.0} mm lean {:+.1} deg, effort {:.3}, reserve {:.2} N m",
                got.x,
                got.y,
                got.z,
                want.x,
                want.y,
                want.z,
                e_mag,
                angle,
                r.hip_angles_deg,
                r.pelvis_tilt_deg,
                1000.0 * r.trunk_offset_m,
                r.trunk_lean_deg,
                r.effort,
                r.reserve_n_m.norm()
            );
            // Physiological range: 150..450 %BW, pointing down the femur, muscles sufficient.
            assert!((150.0..450.0).contains(&got.norm()), "{subject} {act}: |F| = {} %BW", got.norm());
            assert!(got.z < -0.8 * got.norm(), "{subject} {act}: the force must push the head down the femur: {got}");
            assert!(r.reserve_n_m.norm() < 1.0, "{subject} {act}: the muscles cannot hold the posture (reserve {} N m)", r.reserve_n_m.norm());
            assert!(r.distal_reserve_n_m.iter().all(|v| v.abs() < 1.0), "{subject} {act}: knee/ankle reserve {:?} N m", r.distal_reserve_n_m);
            if std::env::var_os("COXA_DEBUG_HCF").is_some() {
                for (n, f) in &r.muscle_forces_n {
                    if *f > 1.0 {
                        eprintln!("    {n:14} {f:8.1} N");
                    }
                }
            }
            mag_err.push(e_mag.abs());
            dir_err.push(angle);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m, d) = (median(&mut mag_err), median(&mut dir_err));
    eprintln!("median |magnitude error| {m:.1} %BW, median direction error {d:.1} deg over {} cases", dir_err.len());
    Ok((m, d))
}

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
fn solved_forces_hold_and_halved_do_not(model: &osim::Model, name: &str, bw: f64) -> Result<()> {
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
fn gait2392_with_wraps(model_path: &Path, wraps: &[(&str, &str)], xml: impl Fn(usize, nalgebra::Vector3<f64>) -> String) -> Result<(tempfile::TempDir, std::path::PathBuf)> {
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
fn wrapped_poses(path: &Path, muscles: &[&str]) -> Result<(Vec<usize>, usize)> {
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

/// The posture search (one-leg stance: pelvic tilt, sagittal trunk position, lateral lean;
/// walking: lateral lean) stays inside its documented box and never costs more effort than the
/// fixed posture it starts from; the straight knee's passive lock only resists hyperextension
/// (a flexing generalised force; gait2392 flexes the knee with negative angles) and only in
/// one-leg stance.
#[test]
fn posture_of_least_effort_stays_in_range_and_costs_no_more() -> Result<()> {
    let Some(model_path) = shared_data("opensim/gait2392_thelen2003muscle.osim") else { return Ok(()) };
    let model = osim::read_osim(&model_path)?;
    for activity in [Activity::OneLegStance, Activity::Walking] {
        let free = hip_contact_force_with(&model, activity, 760.0, None, &HcfOptions::new())?;
        let fixed = hip_contact_force_with(&model, activity, 760.0, None, &HcfOptions::new().with_optimise_posture(false))?;
        eprintln!(
            "{activity:?}: effort {:.3} (fixed {:.3}), pelvis tilt {:.1} deg, trunk {:+.0} mm, lean {:+.1} deg, passive knee {:+.1} N m",
            free.effort,
            fixed.effort,
            free.pelvis_tilt_deg,
            1000.0 * free.trunk_offset_m,
            free.trunk_lean_deg,
            free.passive_knee_n_m
        );
        assert!(free.effort <= fixed.effort + 1e-9, "{activity:?}: {} > {}", free.effort, fixed.effort);
        assert!((-5.0..=10.0).contains(&free.pelvis_tilt_deg) && free.trunk_offset_m.abs() <= 0.04 + 1e-12 && free.trunk_lean_deg.abs() <= 3.0 + 1e-12);
        assert_eq!((fixed.pelvis_tilt_deg, fixed.trunk_offset_m, fixed.trunk_lean_deg), (0.0, 0.0, 0.0));
        match activity {
            Activity::OneLegStance => assert!(free.passive_knee_n_m <= 0.0, "the lock may only flex the knee: {}", free.passive_knee_n_m),
            Activity::Walking => {
                assert_eq!(free.passive_knee_n_m, 0.0, "the walking knee is flexed, not locked");
                assert_eq!((free.pelvis_tilt_deg, free.trunk_offset_m), (0.0, 0.0), "walking keeps pelvis and sagittal trunk");
                // Loading response: the swing side dropped by 4 deg (positive pelvis_list drops
                // the right side, so the right stance side up is -4), the stance side 3 deg
                // forward, the lumbar spine bent against the obliquity (trunk upright + lean).
                let coord = |n: &str| model.coordinate_index(n).map(|i| free.coordinates[i].to_degrees());
                assert!((coord("pelvis_list").context("pelvis_list")? + 4.0).abs() < 1e-9 && (coord("pelvis_rotation").context("pelvis_rotation")? - 3.0).abs() < 1e-9);
                assert!((coord("lumbar_bending").context("lumbar_bending")? - 4.0 - free.trunk_lean_deg).abs() < 1e-9);
                // The stance hip centre is the higher one.
                let kin = coxa_msk::Kinematics::new(&model)?;
                let poses = kin.body_poses(&model, &free.coordinates);
                let hip = |b: &str| -> Result<f64> {
                    let bi = model.body_index(b).context("femur")?;
                    let j = model.joints.iter().find(|j| j.child.body == bi).context("hip joint")?;
                    Ok((poses[bi] * nalgebra::Point3::from(j.child.translation_m)).y)
                };
                let rise = hip("femur_r")? - hip("femur_l")?;
                assert!((0.005..0.02).contains(&rise), "the stance (right) hip centre must be 0.17 m x sin 4 deg above the swing one: {rise} m");
                // The swing hip abducted by 4 deg (the same published kinematics).
                assert!((coord("hip_adduction_l").context("hip_adduction_l")? + 4.0).abs() < 1e-9);
            }
        }
        let off = hip_contact_force_with(&model, activity, 760.0, None, &HcfOptions::new().with_passive_knee_lock(false).with_optimise_posture(false))?;
        assert_eq!(off.passive_knee_n_m, 0.0);
    }
    Ok(())
}

/// Issue 20, part 5: the hip contact force along a whole activity whose motion is known,
/// rising from a chair (quasi-static, `coxa_msk::rising`), on the built-in gait2392 and
/// written as an OpenSim motion. OpenSim 4.6 plays the `.mot` on the same model (its own
/// degrees-to-radians rule): every coordinate equals coxa's, its centre of mass equals coxa's
/// and lies above the right foot (heel to metatarsophalangeal joint) in every step, and the
/// foot is flat. The force: no reserve needed, highest near seat-off, lowest standing, and
/// never below the share of body weight the hip must carry.
#[test]
fn rising_from_a_chair_plays_in_opensim_and_loads_the_hip_most_at_seat_off() -> Result<()> {
    use coxa_msk::rising::{rising_force_table, rising_from_chair, rising_motion};
    use coxa_sim::rom::seat_off_hip_deg;
    let model = osim::embedded::gait2392()?;
    let bw = 760.0;
    let rising = rising_from_chair(&model, bw, None, &HcfOptions::default(), seat_off_hip_deg(), 10)?;
    assert_eq!(rising.steps.len(), 11);
    // The seat-off hip angles are those of coxa's sit_to_stand path at its end: about 95 deg
    // of flexion relative to the sitting pelvis (115 deg in the standing body's frame, the
    // pelvis tilted 20 deg back).
    let seat_off = seat_off_hip_deg();
    assert!((seat_off[0] - 95.0).abs() < 2.0, "{seat_off:?}");
    let mags: Vec<f64> = rising.steps.iter().map(|s| s.result.magnitude_percent_bw).collect();
    eprintln!("rising from a chair, gait2392, hip force %BW along progress 0..1: {:.0?}", mags);
    eprintln!("ankle deg: {:.1?}", rising.steps.iter().map(|s| s.ankle_deg).collect::<Vec<_>>());
    for s in &rising.steps {
        assert!(s.balanced && s.held, "progress {}: not balanced or not held", s.progress);
        assert!(
            s.result.reserve_n_m.norm() < 1.0 && s.result.distal_reserve_n_m.iter().all(|r| r.abs() < 1.0),
            "progress {}: reserves {:?} {:?}",
            s.progress,
            s.result.reserve_n_m,
            s.result.distal_reserve_n_m
        );
    }
    let upper_share = {
        let leg: f64 = ["femur_r", "tibia_r", "talus_r", "calcn_r", "toes_r", "patella_r"].iter().filter_map(|b| model.body_index(b)).map(|b| model.bodies[b].mass_kg).sum();
        let all: f64 = model.bodies.iter().map(|b| b.mass_kg).sum();
        // Half the weight above both hips (pelvis and trunk).
        50.0 * (all - 2.0 * leg) / all
    };
    assert!(mags.iter().all(|&m| m > upper_share), "{mags:?} against {upper_share}");
    let peak = rising.peak().context("a balanced step")?;
    assert!(peak.progress <= 0.2, "the peak is near seat-off: {}", peak.progress);
    assert!(mags[0] > 2.0 * mags[10], "{mags:?}");

    let tmp = tempfile::tempdir()?;
    let mot = tmp.path().join("sit_to_stand.mot");
    rising_motion(&model, &rising).write(&mot)?;
    rising_force_table(&rising).write(&tmp.path().join("hip_contact_force_sit_to_stand.sto"))?;
    let Some(python) = opensim_python() else { return Ok(()) };
    let model_file = workspace_root().join("models/osim/models/gait2392/gait2392_thelen2003muscle.osim");
    let calcn = model.body_index("calcn_r").context("calcn_r")?;
    let mtp = model.joints.iter().find(|j| j.parent.body == calcn).context("mtp joint")?.parent.translation_m;
    let script = workspace_root().join("tests/peers/opensim_motion.py");
    let out = Command::new(&python).arg(&script).arg(&model_file).arg(&mot).arg("calcn_r").args([mtp.x, mtp.y, mtp.z].map(|v| v.to_string())).output()?;
    ensure!(out.status.success(), "OpenSim: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let read: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or_default())?;
    let rows = read["coordinates"].as_array().context("coordinates")?;
    assert_eq!(rows.len(), rising.steps.len());
    let kin = Kinematics::new(&model)?;
    let (mut worst_q, mut worst_com, mut worst_flat): (f64, f64, f64) = (0.0, 0.0, 0.0);
    for (k, s) in rising.steps.iter().enumerate() {
        for (c, v) in model.coordinates.iter().zip(&s.result.coordinates) {
            let theirs = rows[k][&c.name].as_f64().with_context(|| format!("{} in OpenSim's state", c.name))?;
            worst_q = worst_q.max((theirs - v).abs());
        }
        let v3 = |v: &serde_json::Value| nalgebra::Vector3::new(v[0].as_f64().unwrap_or(f64::NAN), v[1].as_f64().unwrap_or(f64::NAN), v[2].as_f64().unwrap_or(f64::NAN));
        let (com, origin, station, x_axis) = (v3(&read["com"][k]), v3(&read["origin"][k]), v3(&read["station"][k]), v3(&read["x_axis"][k]));
        // coxa's centre of mass in the same posture.
        let poses = kin.body_poses(&model, &s.result.coordinates);
        let mut ours = nalgebra::Vector3::zeros();
        let mut m = 0.0;
        for (i, b) in model.bodies.iter().enumerate() {
            ours += b.mass_kg * poses[i].transform_point(&nalgebra::Point3::from(b.mass_center_m)).coords;
            m += b.mass_kg;
        }
        worst_com = worst_com.max((ours / m - com).norm());
        worst_flat = worst_flat.max(x_axis.y.abs());
        let along = (com.x - origin.x) / (station.x - origin.x);
        assert!((-1e-3..=1.001).contains(&along), "step {k}: OpenSim's centre of mass is not above the foot ({along:.3} of heel to MTP)");
    }
    eprintln!("OpenSim vs coxa along rising: coordinates {worst_q:.1e} (rad or m), centre of mass {worst_com:.1e} m, foot pitch sin {worst_flat:.1e}");
    // The .mot has 10 decimals of degrees.
    assert!(worst_q < 1e-9, "coordinates differ by {worst_q}");
    assert!(worst_com < 1e-8, "centres of mass differ by {worst_com} m");
    assert!(worst_flat < 1e-6, "the foot is not flat in OpenSim: {worst_flat}");
    Ok(())
}

/// Measured walking moments (`HcfOptions::walking_hip_moment`): given the posture's own net hip
/// moments back, the force is the posture's; a smaller measured abductor moment (a slower,
/// more cautious gait) unloads the abductors and the hip; the result reports the moments the
/// muscles balanced; a moment outside walking, not finite or in N m instead of N m/kg is refused.
#[test]
fn walking_with_measured_hip_moments() -> Result<()> {
    use coxa_msk::hcf::WalkingHipMoment;
    let model = osim::embedded::gait2392()?;
    let bw = 760.0;
    let fixed = HcfOptions::new().with_optimise_posture(false);
    let own = hip_contact_force_with(&model, Activity::Walking, bw, None, &fixed)?;
    let m = own.net_hip_moment;
    eprintln!(
        "walking, the posture's net hip moments: abductor {:.3}, extensor {:.3}, external rotator {:.3} N m/kg; {:.1} %BW",
        m.abductor_n_m_per_kg, m.extensor_n_m_per_kg, m.external_rotator_n_m_per_kg, own.magnitude_percent_bw
    );
    // The quasi-static estimate (README): an abductor moment of 0.8-0.9 N m/kg, extension 0.3.
    ensure!((0.6..1.2).contains(&m.abductor_n_m_per_kg) && (0.1..0.6).contains(&m.extensor_n_m_per_kg), "{m:?}");
    let given = |abd: f64, ext: f64| {
        hip_contact_force_with(&model, Activity::Walking, bw, None, &fixed.clone().with_walking_hip_moment(Some(WalkingHipMoment { abductor_n_m_per_kg: abd, extensor_n_m_per_kg: ext })))
    };
    let same = given(m.abductor_n_m_per_kg, m.extensor_n_m_per_kg)?;
    ensure!((same.force_femur_n - own.force_femur_n).norm() < 1e-6 * own.force_femur_n.norm(), "{} against {}", same.force_femur_n, own.force_femur_n);
    let slow = given(m.abductor_n_m_per_kg - 0.3, m.extensor_n_m_per_kg)?;
    ensure!(
        (slow.net_hip_moment.abductor_n_m_per_kg - (m.abductor_n_m_per_kg - 0.3)).abs() < 1e-9 && (slow.net_hip_moment.extensor_n_m_per_kg - m.extensor_n_m_per_kg).abs() < 1e-9,
        "{:?}",
        slow.net_hip_moment
    );
    ensure!((slow.net_hip_moment.external_rotator_n_m_per_kg - m.external_rotator_n_m_per_kg).abs() < 1e-9, "the moment about the vertical stays the posture's");
    let abductors = |r: &coxa_msk::hcf::HcfResult| r.muscle_forces_n.iter().filter(|(n, _)| n.starts_with("glut_med") || n.starts_with("glut_min")).map(|(_, f)| f).sum::<f64>();
    eprintln!("abductor moment {:.2} N m/kg: {:.1} %BW, abductors {:.0} N (posture's: {:.0} N)", m.abductor_n_m_per_kg - 0.3, slow.magnitude_percent_bw, abductors(&slow), abductors(&own));
    ensure!(slow.magnitude_percent_bw < own.magnitude_percent_bw - 40.0, "0.3 N m/kg less abduction must unload the hip: {} against {}", slow.magnitude_percent_bw, own.magnitude_percent_bw);
    ensure!(abductors(&slow) < 0.8 * abductors(&own));
    // One-leg stance reports its moments too (it has no measured moment to take).
    let ols = hip_contact_force_with(&model, Activity::OneLegStance, bw, None, &HcfOptions::new())?;
    ensure!((0.5..1.5).contains(&ols.net_hip_moment.abductor_n_m_per_kg), "{:?}", ols.net_hip_moment);
    let moment = Some(WalkingHipMoment { abductor_n_m_per_kg: 0.6, extensor_n_m_per_kg: 0.3 });
    let e = hip_contact_force_with(&model, Activity::OneLegStance, bw, None, &HcfOptions::new().with_walking_hip_moment(moment)).unwrap_err().to_string();
    ensure!(e.contains("walking only"), "{e}");
    for (abd, ext) in [(f64::NAN, 0.3), (0.6, f64::INFINITY), (45.0, 0.3)] {
        let e = given(abd, ext).unwrap_err().to_string();
        ensure!(e.contains("N m per kg"), "{e}");
    }
    Ok(())
}

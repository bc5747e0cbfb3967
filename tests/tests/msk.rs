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
mod paths_and_balance;

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

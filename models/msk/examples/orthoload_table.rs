//! Prints the hip contact force against the in-vivo OrthoLoad forces (H1L, H2R, H3L; one-leg
//! stance and walking) per subject and activity, with the medians, and the peak of rising from a
//! chair against the stand-up (SU) measurements, for each model given (default:
//! the built-in gait2392, and Rajagopal 2016 and Rajagopal-Lai-Uhlrich 2023 from
//! `../shared/data/opensim`), each scaled to the subject's landmarks as `coxa hcf` does. The
//! regression test with the same method is `tests/tests/msk.rs`; this is the measuring tool.
//!
//! ```text
//! cargo run -p coxa-msk --example orthoload_table [--release] -- [MODEL.osim ...]
//! ```
//! `COXA_HCF_HIP_ONLY=1` switches to hip equilibrium only, `COXA_HCF_VOLUME_WEIGHTED=1` to the
//! muscle-volume-weighted criterion, `COXA_HCF_EXPONENT=3` to cubed activations,
//! `COXA_HCF_JOINT_LOAD=W` to the joint-load-aware criterion `sum a^2 + W (|F| / BW)^2`.
//! `COXA_HCF_PCA_MAPPING=1` maps the femur by its posterior condyles instead of its epicondyles.
//! `COXA_HCF_WALKING_HIP_MOMENT=ABD,EXT` (N m/kg) gives walking measured net hip moments
//! ([`HcfOptions::walking_hip_moment`]) instead of the posture's; `COXA_HCF_WALKING_SWEEP=1`
//! prints the walking errors over a range of abductor moments (the sensitivity in the README).
//! `COXA_HCF_DECOMPOSE=1` prints each case's hip contact force taken apart per muscle (and the
//! upper body's load) in the OrthoLoad frame, with each muscle's activation and the direction of
//! its pull relative to the femur's axis.

use std::path::{Path, PathBuf};

use coxa_core::{OrthoLoadFemur, Side};
use coxa_io::markups::read_markups;
use coxa_msk::hcf::{Activity, HcfOptions, UPPER_BODY_LOAD, WalkingHipMoment, hip_contact_force_with};
use coxa_msk::personalise::{landmark_scale_factors, scale_bodies};
use coxa_msk::rising::rising_from_chair;
use coxa_msk::{RightFemur, osim};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn orthoload_force(path: &Path) -> Res<(f64, [f64; 3])> {
    let text = std::fs::read_to_string(path)?;
    let values = |tag: &str| -> Vec<f64> { text.split(&format!("<{tag}>")).skip(1).filter_map(|s| s.split(&format!("</{tag}>")).next()).filter_map(|v| v.trim().parse().ok()).collect() };
    let (w, f) = (values("Weight_N"), values("HJF_pBW"));
    if w.len() != 1 || f.len() != 3 {
        return Err(format!("{}: expected Weight_N and 3 HJF_pBW", path.display()).into());
    }
    Ok((w[0], [f[0], f[1], f[2]]))
}

/// Magnitude error (%BW) and direction error (deg) of `got` against `want`.
fn errors(got: nalgebra::Vector3<f64>, want: nalgebra::Vector3<f64>) -> (f64, f64) {
    (got.norm() - want.norm(), (got.dot(&want) / (got.norm() * want.norm())).clamp(-1.0, 1.0).acos().to_degrees())
}

/// The three OrthoLoad subjects here and their operated sides.
const SUBJECTS: [(&str, Side); 3] = [("H1L", Side::Left), ("H2R", Side::Right), ("H3L", Side::Left)];

/// The subject's femur landmarks and the model scaled to the subject's landmarks, as `coxa hcf`
/// scales it.
fn scaled_to(dir: &Path, model: &osim::Model, subject: &str, side: Side) -> Res<(RightFemur, osim::Model)> {
    let points = read_markups(&dir.join(format!("Landmarks/{subject}_FemurLandmarks.fcsv")))?;
    let femur = RightFemur::new(&OrthoLoadFemur::from_labels(points.iter().map(|c| (c.label.as_str(), c.lps_mm)), side)?, side)?;
    let pelvis = read_markups(&dir.join(format!("Landmarks/{subject}_PelvisLandmarks.fcsv")))?;
    let hjc = |n: &str| pelvis.iter().find(|c| c.label == n).map(|c| c.lps_mm).ok_or("pelvis HJC");
    let factors = landmark_scale_factors(model, (hjc("HJC_L")? - hjc("HJC_R")?).norm(), &femur)?;
    let refs: Vec<(&str, nalgebra::Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
    Ok((femur, scale_bodies(model, &refs)?))
}

/// Walking errors per model and subject over measured abductor moments 0.3..1.0 N m/kg (the
/// extensor moment kept at the posture's), against the posture's own estimate.
fn walking_sweep(data: &Path, models: &[(String, osim::Model)], options: &HcfOptions) -> Res<()> {
    let dir = data.join("orthoload");
    let abductor = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    println!(
        "walking: magnitude error %BW / direction error deg at a given net hip abductor moment (N m/kg; extensor moment the posture's)\n| model | subject | posture's abd / ext N m/kg | posture's errors | {} |\n|---|---|---|---|{}",
        abductor.map(|a| format!("{a:.1}")).join(" | "),
        "---|".repeat(abductor.len())
    );
    for (label, model) in models {
        for (subject, side) in SUBJECTS {
            let (femur, scaled) = scaled_to(&dir, model, subject, side)?;
            let (bw, want) = orthoload_force(&dir.join(format!("Forces/{subject}_LW.xml")))?;
            let want = nalgebra::Vector3::from(want);
            let solve = |o: &HcfOptions| -> Res<(String, coxa_msk::hcf::NetHipMoment)> {
                let r = hip_contact_force_with(&scaled, Activity::Walking, bw, Some(&femur), o)?;
                let (e, angle) = errors(r.force_orthoload_percent_bw.ok_or("frame")?, want);
                Ok((format!("{e:+.0} / {angle:.1}"), r.net_hip_moment))
            };
            let (own, posture) = solve(options)?;
            let ext = posture.extensor_n_m_per_kg;
            let cells = abductor.iter().map(|&a| solve(&options.clone().with_walking_hip_moment(Some(WalkingHipMoment::new(a, ext)?))).map(|e| e.0)).collect::<Res<Vec<_>>>()?;
            println!("| {label} | {subject} | {:.2} / {ext:.2} | {own} | {} |", posture.abductor_n_m_per_kg, cells.join(" | "));
        }
    }
    Ok(())
}

fn main() -> Res<()> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut models: Vec<(String, osim::Model)> = Vec::new();
    if args.is_empty() {
        models.push(("gait2392 (built in)".into(), osim::embedded::gait2392()?));
        for f in ["Rajagopal/Rajagopal2016.osim", "Rajagopal/RajagopalLaiUhlrich2023.osim"] {
            let p = data.join("opensim").join(f);
            models.push((f.into(), osim::read_osim(&p)?));
        }
    } else {
        for a in &args {
            models.push((a.clone(), osim::read_osim(PathBuf::from(a))?));
        }
    }
    let env = |k: &str| std::env::var_os(k).is_some();
    let exponent = std::env::var("COXA_HCF_EXPONENT").ok().and_then(|v| v.parse().ok()).unwrap_or(2.0);
    let options = HcfOptions::new()
        .with_distal_equilibrium(!env("COXA_HCF_HIP_ONLY"))
        .with_volume_weighted(env("COXA_HCF_VOLUME_WEIGHTED"))
        .with_activation_exponent(exponent)
        .with_posterior_condylar_mapping(env("COXA_HCF_PCA_MAPPING"))
        .with_joint_load_weight(std::env::var("COXA_HCF_JOINT_LOAD").ok().and_then(|v| v.parse().ok()).unwrap_or(0.0));
    let walking_moment = match std::env::var("COXA_HCF_WALKING_HIP_MOMENT") {
        Ok(v) => {
            let x: Vec<f64> = v.split(',').map(|t| t.trim().parse::<f64>()).collect::<Result<_, _>>()?;
            let [abd, ext] = x[..] else { return Err("COXA_HCF_WALKING_HIP_MOMENT=ABD,EXT (N m/kg)".into()) };
            Some(WalkingHipMoment { abductor_n_m_per_kg: abd, extensor_n_m_per_kg: ext })
        }
        Err(_) => None,
    };
    if env("COXA_HCF_WALKING_SWEEP") {
        return walking_sweep(&data, &models, &options);
    }
    let dir = data.join("orthoload");
    // Time of one patient: scaling, strength from CT volumes (the example CT's gluteus medius and
    // minimus, both sides), one-leg stance and walking (the benchmark is
    // `benches/benches/msk.rs`, `personalise_one_leg_stance_walking`).
    if let Some((label, model)) = models.first() {
        use coxa_msk::strength::{CtMuscle, SPECIFIC_TENSION_N_PER_CM2, strength_from_ct};
        let ct = |v: f64| vec![CtMuscle { class: "gluteus_medius".into(), volume_cm3: v, lean_fraction: 0.95, cut_by_scan: false, other_side_lean_volume_cm3: None }];
        let t0 = std::time::Instant::now();
        let scaled = scale_bodies(model, &[("pelvis", nalgebra::Vector3::repeat(1.05))])?;
        let (m, _) = strength_from_ct(&scaled, "r", &ct(239.2), SPECIFIC_TENSION_N_PER_CM2)?;
        let (m, _) = strength_from_ct(&m, "l", &ct(240.8), SPECIFIC_TENSION_N_PER_CM2)?;
        let _ = hip_contact_force_with(&m, Activity::OneLegStance, 760.0, None, &options)?;
        let _ = hip_contact_force_with(&m, Activity::Walking, 760.0, None, &options)?;
        println!("{label}: personalisation + one-leg stance + walking for one patient {:.1} ms", 1000.0 * t0.elapsed().as_secs_f64());
    }
    for (label, model) in &models {
        println!(
            "\n{label}\n| subject | activity | coxa [x y z] %BW | in vivo [x y z] %BW | magnitude error %BW | direction error deg | net hip moment abd / ext / ext. rot. N m/kg |\n|---|---|---|---|---|---|---|"
        );
        let (mut mags, mut dirs) = (Vec::new(), Vec::new());
        let mut rising_rows = Vec::new();
        for (subject, side) in SUBJECTS {
            let (femur, scaled) = scaled_to(&dir, model, subject, side)?;
            for (act, activity) in [("OLS", Activity::OneLegStance), ("LW", Activity::Walking)] {
                let (bw, want) = orthoload_force(&dir.join(format!("Forces/{subject}_{act}.xml")))?;
                let options = if activity == Activity::Walking { options.clone().with_walking_hip_moment(walking_moment) } else { options.clone() };
                let r = hip_contact_force_with(&scaled, activity, bw, Some(&femur), &options)?;
                let got = r.force_orthoload_percent_bw.ok_or("frame")?;
                let want = nalgebra::Vector3::from(want);
                let (e, angle) = errors(got, want);
                let m = r.net_hip_moment;
                println!(
                    "| {subject} | {act} | {:.1} {:.1} {:.1} | {:.1} {:.1} {:.1} | {e:+.1} | {angle:.1} | {:.2} / {:.2} / {:.2} |",
                    got.x, got.y, got.z, want.x, want.y, want.z, m.abductor_n_m_per_kg, m.extensor_n_m_per_kg, m.external_rotator_n_m_per_kg
                );
                if std::env::var_os("COXA_HCF_DECOMPOSE").is_some()
                    && let Some(t) = r.orthoload_from_femur
                {
                    let pct = 100.0 / bw;
                    let mut parts: Vec<(String, f64, nalgebra::Vector3<f64>)> =
                        r.contributions.iter().map(|c| (c.name.clone(), c.activation, t * c.force_femur_n * pct)).filter(|(_, _, v)| v.norm() > 2.0).collect();
                    parts.sort_by(|a, b| b.2.norm().total_cmp(&a.2.norm()));
                    eprintln!("  {subject} {act}: part | activation | [x y z] %BW | |F| %BW | pull from the femur axis: sagittal (+ anterior), frontal (+ lateral) deg");
                    for (name, act_, v) in &parts {
                        eprintln!("    {name:16} {act_:5.2} [{:7.1} {:7.1} {:7.1}] {:6.1} {:+6.1} {:+6.1}", v.x, v.y, v.z, v.norm(), v.y.atan2(-v.z).to_degrees(), v.x.atan2(-v.z).to_degrees());
                    }
                    // Both forces in the ground frame of the posture (x anterior, y up, z toward
                    // the stance side), and the femur's shaft axis there.
                    let kin = coxa_msk::Kinematics::new(&scaled)?;
                    let poses = kin.body_poses(&scaled, &r.coordinates);
                    let fi = scaled.body_index("femur_r").ok_or("femur_r")?;
                    let to_ground = poses[fi].rotation.to_rotation_matrix().matrix() * t.try_inverse().ok_or("frame")?;
                    let (g_coxa, g_vivo, shaft) = (to_ground * got, to_ground * want, to_ground * nalgebra::Vector3::z());
                    let tilt = |v: nalgebra::Vector3<f64>| (v.x.atan2(-v.y).to_degrees(), v.z.atan2(-v.y).to_degrees());
                    eprintln!(
                        "    ground frame: coxa [{:.0} {:.0} {:.0}] (anterior {:+.1}, toward the stance side {:+.1} deg from vertical), in vivo [{:.0} {:.0} {:.0}] ({:+.1}, {:+.1} deg); femur shaft axis (up) {:+.1}, {:+.1} deg",
                        g_coxa.x,
                        g_coxa.y,
                        g_coxa.z,
                        tilt(g_coxa).0,
                        tilt(g_coxa).1,
                        g_vivo.x,
                        g_vivo.y,
                        g_vivo.z,
                        tilt(g_vivo).0,
                        tilt(g_vivo).1,
                        tilt(-shaft).0,
                        tilt(-shaft).1
                    );
                    // Heights of the hip centres (pelvis obliquity) and the stance femur's
                    // mechanical axis in the ground.
                    let centre = |b: &str| -> Res<nalgebra::Vector3<f64>> {
                        let bi = scaled.body_index(b).ok_or("body")?;
                        let j = scaled.joints.iter().find(|j| j.child.body == bi).ok_or("joint")?;
                        Ok((poses[bi] * nalgebra::Point3::from(j.child.translation_m)).coords)
                    };
                    let (hr, hl, kr) = (centre("femur_r")?, centre("femur_l")?, centre("tibia_r")?);
                    let mech = kr - hr;
                    eprintln!(
                        "    right (stance) hip centre {:+.1} mm above the left; stance femur's hip-knee line: anterior {:+.1}, toward the stance side {:+.1} deg",
                        1000.0 * (hr.y - hl.y),
                        tilt(mech).0,
                        tilt(mech).1
                    );
                    // Groups by name prefix.
                    let groups = [
                        ("gluteus medius", &["glut_med", "glmed"][..]),
                        ("gluteus minimus", &["glut_min", "glmin"]),
                        ("gluteus maximus", &["glut_max", "glmax"]),
                        ("tensor fasciae latae", &["tfl"]),
                        ("iliopsoas", &["iliacus", "psoas", "iliopsoas"]),
                        ("rectus femoris", &["rect_fem", "recfem"]),
                        ("hamstrings", &["semimem", "semiten", "bifemlh", "bflh", "bifemsh", "bfsh"]),
                        ("adductors", &["add_", "addbrev", "addlong", "addmag", "pect", "grac"]),
                        ("piriformis + ext. rotators", &["peri", "pirif", "gem", "quad_fem", "quadfem"]),
                        ("sartorius", &["sar"]),
                        (UPPER_BODY_LOAD, &[UPPER_BODY_LOAD]),
                    ];
                    let mut rest = nalgebra::Vector3::zeros();
                    let mut line = Vec::new();
                    for (g, prefixes) in groups {
                        let v: nalgebra::Vector3<f64> = parts.iter().filter(|(n, _, _)| prefixes.iter().any(|p| n.starts_with(p))).map(|p| p.2).sum();
                        line.push(format!("{g} [{:.0} {:.0} {:.0}]", v.x, v.y, v.z));
                    }
                    for (n, _, v) in &parts {
                        if !groups.iter().any(|(_, ps)| ps.iter().any(|p| n.starts_with(p))) {
                            rest += v;
                        }
                    }
                    eprintln!("    groups %BW: {}; other [{:.0} {:.0} {:.0}]", line.join(", "), rest.x, rest.y, rest.z);
                }
                if std::env::var_os("COXA_DEBUG_HCF").is_some() {
                    let mut f: Vec<_> = r.muscle_forces_n.iter().filter(|(_, f)| *f > 20.0).collect();
                    f.sort_by(|a, b| b.1.total_cmp(&a.1));
                    eprintln!("    {}", f.iter().map(|(n, f)| format!("{n} {f:.0}")).collect::<Vec<_>>().join(", "));
                    // The abductors' moment arms (abduction positive, mm) in the solved posture.
                    let kin = coxa_msk::Kinematics::new(&scaled)?;
                    let add = scaled.coordinate_index("hip_adduction_r").ok_or("hip_adduction_r")?;
                    let arms: Vec<String> = scaled
                        .muscles
                        .iter()
                        .filter(|m| ["glut_med", "glmed", "glut_min", "glmin", "tfl"].iter().any(|p| m.name.starts_with(p)) && m.name.ends_with("_r"))
                        .map(|m| coxa_msk::moment_arms(&scaled, &kin, m, &r.coordinates, &[add]).map(|(_, a)| format!("{} {:.1}", m.name, -1000.0 * a[0])))
                        .collect::<Result<_, _>>()?;
                    eprintln!("    abduction moment arms mm: {}", arms.join(", "));
                    eprintln!(
                        "    hip {:.1?} deg, tilt {:.1}, trunk {:+.0} mm, lean {:+.1} deg, knee lock {:.1} N m",
                        r.hip_angles_deg,
                        r.pelvis_tilt_deg,
                        1000.0 * r.trunk_offset_m,
                        r.trunk_lean_deg,
                        r.passive_knee_n_m
                    );
                }
                mags.push(e.abs());
                dirs.push(angle);
            }
            // Rising from a chair (stand-up, SU): the peak of the balanced steps of the
            // quasi-static activity against the in-vivo peak (H2R and H3L have it).
            let su = dir.join(format!("Forces/{subject}_SU.xml"));
            if su.exists() {
                let (bw, want) = orthoload_force(&su)?;
                let rising = rising_from_chair(&scaled, bw, Some(&femur), &options, coxa_sim::rom::seat_off_hip_deg(), 20)?;
                let peak = rising.peak().ok_or("no balanced step held by the muscles")?;
                let got = peak.result.force_orthoload_percent_bw.ok_or("frame")?;
                let want = nalgebra::Vector3::from(want);
                let (_, angle) = errors(got, want);
                let balanced = rising.steps.iter().filter(|s| s.balanced).count();
                let held = rising.steps.iter().filter(|s| s.held).count();
                rising_rows.push(format!(
                    "| {subject} | SU | {:.1} {:.1} {:.1} | {:.1} {:.1} {:.1} | {:+.1} | {angle:.1} | peak at progress {:.2} (hip {:.0}, knee {:.0}, ankle {:.0} deg); of {} steps {balanced} balanced, {held} held without reserves |",
                    got.x,
                    got.y,
                    got.z,
                    want.x,
                    want.y,
                    want.z,
                    got.norm() - want.norm(),
                    peak.progress,
                    peak.hip_deg[0],
                    peak.knee_flexion_deg,
                    peak.ankle_deg,
                    rising.steps.len()
                ));
                if std::env::var_os("COXA_DEBUG_HCF").is_some() {
                    for st in &rising.steps {
                        let mut f: Vec<_> = st.result.muscle_forces_n.iter().filter(|(_, f)| *f > 50.0).collect();
                        f.sort_by(|a, b| b.1.total_cmp(&a.1));
                        eprintln!(
                            "    SU {subject} s {:.2} hip {:.0} knee {:.0} ankle {:.1} balanced {} |F| {:.0} %BW reserves {:.1?} {:.1?}: {}",
                            st.progress,
                            st.hip_deg[0],
                            st.knee_flexion_deg,
                            st.ankle_deg,
                            st.balanced,
                            st.result.magnitude_percent_bw,
                            st.result.reserve_n_m,
                            st.result.distal_reserve_n_m,
                            f.iter().take(8).map(|(n, f)| format!("{n} {f:.0}")).collect::<Vec<_>>().join(", ")
                        );
                    }
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            0.5 * (v[v.len() / 2 - 1] + v[v.len() / 2])
        };
        let (m4, d4) = (mags.clone(), dirs.clone());
        let fourth = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!("median |magnitude error| {:.1} %BW (4th of 6: {:.1}), median direction error {:.1} deg (4th of 6: {:.1})", median(&mut mags), fourth(m4), median(&mut dirs), fourth(d4));
        println!(
            "\nrising from a chair (quasi-static, peak of the balanced steps the muscles hold; not in the medians)\n| subject | activity | coxa [x y z] %BW | in vivo [x y z] %BW | magnitude error %BW | direction error deg | peak |\n|---|---|---|---|---|---|---|"
        );
        for r in &rising_rows {
            println!("{r}");
        }
    }
    Ok(())
}

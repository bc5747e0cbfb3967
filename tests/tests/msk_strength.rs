//! Muscle strength from the CT (issue 20): the real CT's TotalSegmentator muscles turned into
//! the maximum isometric forces of gait2392 and Rajagopal, and what that does to one-leg stance.

use anyhow::{Context, Result};

use coxa_anatomy::muscles::{self, MuscleMeasure};
use coxa_core::{ClassTable, Side};
use coxa_io::nifti;
use coxa_msk::hcf::{Activity, HcfResult, hip_contact_force};
use coxa_msk::osim;
use coxa_msk::strength::{CtMuscle, SPECIFIC_TENSION_N_PER_CM2, StrengthSource, strength_from_ct};

use crate::common::shared_data;

fn other(side: Side) -> Side {
    if side == Side::Left { Side::Right } else { Side::Left }
}

fn ct_side(measures: &[MuscleMeasure], side: Side) -> Vec<CtMuscle> {
    let suffix = |s: Side| if s == Side::Left { "_left" } else { "_right" };
    measures
        .iter()
        .filter_map(|m| {
            let class = m.name.strip_suffix(suffix(side))?;
            let other = measures.iter().find(|o| o.name == format!("{class}{}", suffix(other(side))));
            Some(CtMuscle {
                class: class.to_string(),
                volume_cm3: m.volume_cm3,
                lean_fraction: m.lean_fraction,
                cut_by_scan: m.cut_by_scan,
                other_side_lean_volume_cm3: other.map(|o| o.volume_cm3 * o.lean_fraction),
            })
        })
        .collect()
}

fn abductors(model: &osim::Model, r: &HcfResult) -> (f64, f64) {
    let is = |n: &str| ["glut_med", "glut_min", "glmed", "glmin", "tfl"].iter().any(|p| n.starts_with(p)) && n.ends_with("_r");
    let f: f64 = r.muscle_forces_n.iter().filter(|(n, _)| is(n)).map(|(_, f)| f).sum();
    let max: f64 = model.muscles.iter().filter(|m| is(&m.name)).map(|m| m.max_isometric_force_n).sum();
    (f, 100.0 * f / max)
}

/// The real CT with TotalSegmentator's muscles: personalised forces of both models, the
/// left/right asymmetry carried into them, and their effect on the hip force and the abductors'
/// demand in one-leg stance on either leg (each leg in turn on the model's right side).
#[test]
fn real_ct_muscles_personalise_both_models() -> Result<()> {
    let (Some(ct_path), Some(seg_path), Some(names), Some(raj)) = (
        shared_data("totalseg/example_ct.nii.gz"),
        shared_data("totalseg/example_seg_fast_force_split.nii.gz"),
        shared_data("totalseg/labels_total_v2.json"),
        shared_data("opensim/Rajagopal/Rajagopal2016.osim"),
    ) else {
        return Ok(());
    };
    let ct = nifti::read_volume(&ct_path)?;
    let mut seg = nifti::read_label_map(&seg_path)?;
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&names)?)?;
    let classes: ClassTable = j.as_object().context("labels json")?.iter().filter_map(|(k, v)| Some((k.parse::<u16>().ok()?, v.as_str()?.to_string()))).collect();
    seg.set_classes(classes);
    let (measures, asym) = muscles::muscle_measures(&ct, &seg)?;
    for m in &measures {
        eprintln!("{:22} {:6.1} cm3  lean {:5.1} %  lean volume {:6.1} cm3  cut by the scan: {}", m.name, m.volume_cm3, 100.0 * m.lean_fraction, m.volume_cm3 * m.lean_fraction, m.cut_by_scan);
    }
    let gmax = asym.iter().find(|a| a.muscle == "gluteus_maximus").context("gluteus maximus asymmetry")?;
    eprintln!("gluteus maximus volume left vs right {:+.1} %", gmax.volume_asymmetry_percent);
    assert!((-16.0..-10.0).contains(&gmax.volume_asymmetry_percent), "{gmax:?}");
    // This CT ends inside gluteus maximus and iliopsoas (both reach its lowest slice); medius and
    // minimus lie inside it.
    let cut = |n: &str| measures.iter().find(|m| m.name == n).map(|m| m.cut_by_scan);
    assert_eq!((cut("gluteus_maximus_left"), cut("iliopsoas_right"), cut("gluteus_medius_left"), cut("gluteus_minimus_right")), (Some(true), Some(true), Some(false), Some(false)));

    let models = [("gait2392 (built in)", osim::embedded::gait2392()?), ("Rajagopal 2016", osim::read_osim(&raj)?)];
    for (label, generic) in &models {
        let mut per_side = Vec::new();
        for side in [Side::Left, Side::Right] {
            let (m, op) = strength_from_ct(generic, "r", &ct_side(&measures, side), SPECIFIC_TENSION_N_PER_CM2)?;
            let (personal, other) = strength_from_ct(&m, "l", &ct_side(&measures, other(side)), SPECIFIC_TENSION_N_PER_CM2)?;
            assert_eq!(op.lines.len(), 11, "{label}: 3 + 3 + 3 gluteal lines, iliacus, psoas");
            assert!(op.classes_not_measured.is_empty() && other.lines.len() == 11);
            eprintln!("{label}, {side:?} leg on the model's right side: maximum isometric forces, generic -> personalised (N)");
            for l in &op.lines {
                eprintln!("  {:12} {:18} {:7.1} -> {:7.1}  ({:?})", l.muscle, l.ct_class, l.generic_n, l.personalised_n, l.source);
                let want = if l.ct_class == "gluteus_maximus" || l.ct_class == "iliopsoas" { StrengthSource::GenericTimesSideRatio } else { StrengthSource::Volume };
                assert_eq!(l.source, want, "{}", l.muscle);
            }
            eprintln!("  no CT counterpart (generic force kept): {}", op.no_ct_counterpart.join(" "));
            let class_sum = |c: &str| op.lines.iter().filter(|l| l.ct_class == c).map(|l| (l.generic_n, l.personalised_n)).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            let (g_med, p_med) = class_sum("gluteus_medius");
            assert!((500.0..6000.0).contains(&p_med), "{label}: gluteus medius {p_med:.0} N (generic {g_med:.0})");
            let (g, p) = (hip_contact_force(generic, Activity::OneLegStance, 750.0, None)?, hip_contact_force(&personal, Activity::OneLegStance, 750.0, None)?);
            let (ga, pa) = (abductors(generic, &g), abductors(&personal, &p));
            eprintln!(
                "  one-leg stance on the {side:?} leg: hip force {:.1} -> {:.1} %BW; abductor force {:.0} -> {:.0} N, demand {:.1} -> {:.1} % of their maximum",
                g.magnitude_percent_bw, p.magnitude_percent_bw, ga.0, pa.0, ga.1, pa.1
            );
            assert!((150.0..500.0).contains(&p.magnitude_percent_bw) && p.reserve_n_m.norm() < 1.0, "{label} {side:?}: {} %BW, reserve {} N m", p.magnitude_percent_bw, p.reserve_n_m.norm());
            per_side.push((op, p.magnitude_percent_bw, pa));
        }
        // The asymmetry reaches the forces: the left gluteus maximus lines are weaker than the
        // right by the lean-volume ratio (both cut at the same level of the same scan).
        let gmax_sum = |k: usize| per_side[k].0.lines.iter().filter(|l| l.ct_class == "gluteus_maximus").map(|l| l.personalised_n).sum::<f64>();
        let ratio = gmax_sum(0) / gmax_sum(1);
        let lean = |n: &str| measures.iter().find(|m| m.name == n).map(|m| m.volume_cm3 * m.lean_fraction).unwrap_or(f64::NAN);
        eprintln!("{label}: gluteus maximus force left / right {ratio:.3} ({:+.1} %)", 100.0 * (ratio - 1.0));
        let want = lean("gluteus_maximus_left") / lean("gluteus_maximus_right");
        assert!((ratio - want).abs() < 1e-9 * want, "{label}: {ratio} against the lean-volume ratio {want}");
        eprintln!("{label}: one-leg stance hip force left leg {:.1} %BW, right leg {:.1} %BW; abductor demand {:.1} % / {:.1} %", per_side[0].1, per_side[1].1, per_side[0].2.1, per_side[1].2.1);
    }
    Ok(())
}

/// The personalised model (the built-in gait2392 scaled to OrthoLoad subject H2R's landmarks,
/// strength from the real CT's muscles, a plan applied) exported to .osim: OpenSim 4.6 loads it
/// and gives the same hip moment arms as coxa (largest difference < 1e-6 mm over the issue's hip
/// grid) and the same maximum isometric forces.
#[test]
fn personalised_model_exports_and_opensim_agrees() -> Result<()> {
    use coxa_msk::personalise::{ImplantChange, apply_implant_change, landmark_scale_factors, scale_bodies};
    let (Some(ct_path), Some(seg_path), Some(names), Some(dir)) =
        (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz"), shared_data("totalseg/labels_total_v2.json"), shared_data("orthoload/Landmarks"))
    else {
        return Ok(());
    };
    let Some(py) = crate::msk::opensim_python() else { return Ok(()) };
    let ct = nifti::read_volume(&ct_path)?;
    let mut seg = nifti::read_label_map(&seg_path)?;
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&names)?)?;
    seg.set_classes(j.as_object().context("labels json")?.iter().filter_map(|(k, v)| Some((k.parse::<u16>().ok()?, v.as_str()?.to_string()))).collect());
    let (measures, _) = muscles::muscle_measures(&ct, &seg)?;
    let model = osim::embedded::gait2392()?;
    let (femur, width_mm) = crate::msk::orthoload_landmarks(&dir.join("H2R_PelvisLandmarks.fcsv"), &dir.join("H2R_FemurLandmarks.fcsv"), Side::Right)?;
    let factors = landmark_scale_factors(&model, width_mm, &femur)?;
    let refs: Vec<(&str, nalgebra::Vector3<f64>)> = factors.iter().map(|(b, f)| (b.as_str(), *f)).collect();
    let scaled = scale_bodies(&model, &refs)?;
    let (m, _) = strength_from_ct(&scaled, "r", &ct_side(&measures, Side::Right), SPECIFIC_TENSION_N_PER_CM2)?;
    let (m, _) = strength_from_ct(&m, "l", &ct_side(&measures, Side::Left), SPECIFIC_TENSION_N_PER_CM2)?;
    let personal = apply_implant_change(&m, "r", &ImplantChange { cor_shift_pelvis_m: nalgebra::Vector3::new(0.0, 0.002, -0.003), offset_change_m: -0.005, leg_length_change_m: 0.004 })?;
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("gait2392_personalised.osim");
    std::fs::write(&out, osim::update_osim(osim::embedded::GAIT2392_OSIM, "built-in gait2392", &personal)?)?;
    let (len, ma, _, max_ma) = crate::msk::compare_with_opensim(&out, "r", &crate::msk::hip_grid())?;
    eprintln!("personalised gait2392 in OpenSim 4.6: worst RMS length {len:.2e} mm, moment arm {ma:.2e} mm, largest moment-arm difference {max_ma:.2e} mm");
    assert!(len < 1e-6 && max_ma < 1e-6, "OpenSim differs: length RMS {len} mm, largest moment-arm difference {max_ma} mm");
    // OpenSim reads the personalised maximum isometric forces.
    let script =
        "import json, sys, opensim as o\nm = o.Model(sys.argv[1])\nms = m.getMuscles()\nprint(json.dumps({ms.get(i).getName(): ms.get(i).getMaxIsometricForce() for i in range(ms.getSize())}))";
    let run = std::process::Command::new(&py).args(["-c", script]).arg(&out).output()?;
    anyhow::ensure!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let forces: serde_json::Value = serde_json::from_slice(run.stdout.rsplit(|b| *b == b'\n').find(|l| l.starts_with(b"{")).context("OpenSim's output")?)?;
    let mut changed = 0;
    for mu in &personal.muscles {
        let f = forces[&mu.name].as_f64().with_context(|| format!("{} in OpenSim", mu.name))?;
        assert!((f - mu.max_isometric_force_n).abs() <= 1e-9 * f.abs().max(1.0), "{}: OpenSim {f} N, coxa {} N", mu.name, mu.max_isometric_force_n);
        changed += usize::from((mu.max_isometric_force_n - model.muscle(&mu.name).map_or(0.0, |g| g.max_isometric_force_n)).abs() > 1e-6);
    }
    assert_eq!(changed, 22, "11 lines per side personalised");
    Ok(())
}

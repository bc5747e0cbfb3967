//! `coxa hcf --motion IK.mot --grf GRF.mot`: the hip contact force over a measured motion
//! (`coxa_msk::motion`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use coxa_core::Side;
use coxa_core::hcf_record::{HcfMotionRecord, MotionPeakRecord, PlateRecord};
use coxa_msk::hcf;

use super::{HcfArgs, model_path, new_file};
use coxa_case::msk_stage::LoadedModel;

/// `coxa hcf --motion IK.mot --grf GRF.mot`: the hip contact force over a measured motion.
pub(super) fn run_motion(args: &HcfArgs, motion_path: &Path, side: Side) -> Result<HcfMotionRecord> {
    use coxa_msk::motion::{ExternalLoad, MotionOptions, generalised_forces_table, hip_contact_force_over_motion, mirror_left_to_right, motion_force_table, other_side};
    let grf_path = args.grf.as_deref().context("--motion needs --grf GRF.mot (the ground reactions of the same trial)")?;
    new_file(&args.out, "--out")?;
    new_file(&args.id_sto, "--id-sto")?;
    if let (Some(a), Some(b)) = (args.start_s, args.end_s)
        && (a >= b || !a.is_finite() || !b.is_finite())
    {
        bail!("--start-s {a} --end-s {b}: the start must come before the end");
    }
    // The tables are read whole and held as numbers (a few times the text's bytes): a file
    // beyond an eighth of the memory limit is refused before it is read.
    let limit = coxa_io::Limits::new().max_bytes / 8;
    for (flag, p) in [("--motion", motion_path), ("--grf", grf_path)] {
        if let Ok(m) = std::fs::metadata(p)
            && m.len() > limit
        {
            bail!("{flag} {}: {} MB, more than a motion table may take here ({} MB); cut the trial to the frames wanted, or raise --max-memory", p.display(), m.len() >> 20, limit >> 20);
        }
    }
    let motion = coxa_msk::osim::Storage::read(motion_path).with_context(|| format!("--motion {}: give OpenSim's inverse kinematics output (.mot)", motion_path.display()))?;
    let grf = coxa_msk::osim::Storage::read(grf_path).with_context(|| format!("--grf {}: give the trial's ground reactions (.mot)", grf_path.display()))?;
    let mut plates = vec![ExternalLoad::plate(&args.grf_body, "")];
    if grf.column("1_ground_force_vx").is_some() {
        plates.push(ExternalLoad::plate(&args.grf_body_1.clone().unwrap_or_else(|| other_side(&args.grf_body)), "1_"));
    } else if let Some(b) = &args.grf_body_1 {
        bail!("--grf-body-1 {b}: {} has no second plate (no 1_ground_force_vx column)", grf_path.display());
    }
    // A left hip: the trial mirrored onto the model's right leg.
    let (motion, grf) = if side == Side::Left { mirror_left_to_right(&motion, &grf) } else { (motion, grf) };
    if side == Side::Left {
        plates.iter_mut().for_each(|p| p.body = other_side(&p.body));
    }
    let model_path = model_path(args);
    let loaded = LoadedModel::load(model_path.as_deref())?;
    let model = &loaded.model;
    for p in &plates {
        if model.body_index(&p.body).is_none() {
            bail!("--grf-body {}: not a body of the model {}; name the body the plate loads (e.g. calcn_r)", p.body, loaded.file_name);
        }
    }
    let options = MotionOptions::new()
        .with_lowpass_hz(args.lowpass_hz)
        .with_time_range_s(if args.start_s.is_some() || args.end_s.is_some() { Some((args.start_s.unwrap_or(f64::NEG_INFINITY), args.end_s.unwrap_or(f64::INFINITY))) } else { None })
        .with_muscle_velocity(!args.isometric)
        .with_hcf(hcf::HcfOptions::new().with_passive_fibre_force(!args.no_passive_force));
    let hcf =
        hip_contact_force_over_motion(model, &motion, &grf, &plates, args.body_weight_n, &options).with_context(|| format!("--motion {} with --grf {}", motion_path.display(), grf_path.display()))?;
    if let Some(out) = &args.out {
        motion_force_table(&hcf).write(out)?;
    }
    if let Some(out) = &args.id_sto {
        // The hip force's frames keep their inverse dynamics: no second pass over the motion.
        generalised_forces_table(model, hcf.frames.iter().map(|f| (f.time_s, f.generalised_forces.as_slice()))).write(out)?;
    }
    let frame = |f: Option<&coxa_msk::motion::MotionFrame>| {
        f.map(|f| {
            let v = f.result.force_femur_percent_bw;
            MotionPeakRecord { hcf_femur_percent_bw: [v.x, v.y, v.z], magnitude_percent_bw: f.result.magnitude_percent_bw, time_s: f.time_s }
        })
    };
    let (first, second) = hcf.stance_peaks();
    let file = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok(HcfMotionRecord {
        body_weight_n: args.body_weight_n,
        first_peak: frame(first),
        frame: "the model's femur_r frame (a left femur mirrored to a right one), force of the acetabulum on the femoral head".into(),
        frames: hcf.frames.len(),
        frames_needing_reserves: hcf.frames.iter().filter(|f| !coxa_msk::motion::balanced(&f.result)).count(),
        grf: file(grf_path),
        id_sto: args.id_sto.as_ref().map(|p| p.display().to_string()),
        lowpass_hz: args.lowpass_hz,
        missing_coordinates: hcf.missing_coordinates.clone(),
        model: loaded.label,
        motion: file(motion_path),
        muscle_velocity: !args.isometric,
        out: args.out.as_ref().map(|p| p.display().to_string()),
        passive_fibre_force: !args.no_passive_force,
        peak: frame(hcf.peak()),
        plates: plates.iter().map(|p| PlateRecord { body: p.body.clone(), force: p.force_identifier.clone() }).collect(),
        second_peak: frame(second),
        side: if side == Side::Left { "L" } else { "R" }.into(),
        stance_frames: hcf.frames.iter().filter(|f| f.stance).count(),
    })
}

//! `coxa hcf` from landmarks: the model scaled or registered on the patient's landmarks, its force and the tables written.

use super::*;

/// `coxa hcf` from landmark files: the musculoskeletal stage on the planned hip.
pub(super) fn run_landmarks(args: &HcfArgs, side: Side) -> Result<HcfRecord> {
    let (Some(pelvis_landmarks), Some(femur_landmarks), Some(activity_arg)) = (&args.pelvis_landmarks, &args.femur_landmarks, args.activity) else {
        bail!("give --pelvis-landmarks, --femur-landmarks and --activity (or --motion IK.mot --grf GRF.mot for a measured motion)");
    };
    let activity = MskActivity::from(activity_arg);
    let walking_moment = walking_hip_moment(args, activity_arg)?;
    if let Some(out) = &args.export_osim {
        coxa_case::opensim_setup::check_new(out, activity.name())?;
        if args.bones.is_some() {
            coxa_case::opensim_setup::check_new_meshes(out)?;
        }
    }
    let pelvis = read_landmarks(pelvis_landmarks)?;
    let find = |name: &str| pelvis.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)).map(|(_, p)| *p);
    let (Some(hl), Some(hr)) = (find("HJC_L"), find("HJC_R")) else {
        bail!("{}: the pelvis landmarks need HJC_L and HJC_R (both hip centres)", pelvis_landmarks.display());
    };
    let femur_points = read_landmarks(femur_landmarks)?;
    coxa_case::landmark_check::check(&pelvis, &femur_points, side).with_context(|| format!("{} with {}", pelvis_landmarks.display(), femur_landmarks.display()))?;
    // The landmarks are checked before the (larger) model is read.
    let loaded = LoadedModel::load(model_path(args).as_deref())?;
    let femur = OrthoLoadFemur::from_labels(femur_points.iter().map(|(l, p)| (l.as_str(), Point3::from(*p))), side)
        .map_err(anyhow::Error::from)
        .and_then(|f| Ok(RightFemur::new(&f, side)?))
        .with_context(|| format!("{}", femur_landmarks.display()))?;
    // The model scaled to the patient: pelvis by the hip centres' distance, femurs by length;
    // with --bones registered onto the patient's bones instead (the operated side on the
    // model's right leg).
    let factors = personalise::landmark_scale_factors(&loaded.model, (hl - hr).norm(), &femur)?;
    let bones = args.bones.as_deref().map(|dir| Bones::read(&loaded, args, dir, &pelvis, side == Side::Left)).transpose()?;
    // The plan on the model's right leg (where the force is computed; a left femur is mirrored).
    let plan = plan_of(args)?;
    // The patient's strength from the CT (operated side on the model's right leg, the other on
    // its left).
    let ct = ct_of(args, side)?;
    let solution = solve(&MskRun {
        model: &loaded.model,
        body_weight_n: args.body_weight_n,
        activities: &[activity],
        walking_hip_moment: walking_moment,
        fit: bones.as_ref().map_or(Fit::Scaled(&factors), Bones::fit),
        femur: Some(&femur),
        change: change_for(&plan, 1.0),
        ct: ct.as_ref().unwrap_or(&Default::default()),
        native: false,
    })?;
    if let Some(out) = &args.export_osim {
        export(&loaded, args, &pelvis, side, ct.as_ref(), &solution, &plan, out)?;
        if coxa_case::opensim_setup::supported(activity.name()) {
            let input = coxa_case::opensim_setup::SetupInput { model: &solution.planned, result: &solution.activities[0].planned.result, activity: activity.name(), left: side == Side::Left };
            let _ = coxa_case::opensim_setup::write(out, &input)?;
        }
    }
    let solved = &solution.activities[0].planned;
    let r = &solved.result;
    write_tables(args, activity, &solution.planned, solved.rising.as_ref(), r)?;
    // The solved forces hold the posture: a rapier3d multibody of the stance leg and upper body,
    // loaded by them, stays at rest up to this residual (the static activities: the check
    // loads the upper body as one-leg stance and walking do, not as two-legged rising).
    // (Not with measured walking moments: the muscles then balance those, not the posture's.)
    let posture_check = match (&solved.rising, walking_moment) {
        (None, None) => {
            let check = coxa_msk::posture::check_posture_rapier(&solution.planned, r, args.body_weight_n, None)?;
            Some(PostureCheckRecord {
                dofs: check.dofs,
                max_percent_bw_height: check.max_percent_bw_height,
                method: "rapier3d multibody (stance leg + upper body) at the posture, loaded by the solved forces, one step from rest: residual generalised forces".into(),
                residual_n_m: check.residual_n_m,
            })
        }
        _ => None,
    };
    let f = r.force_orthoload_percent_bw.context("the OrthoLoad frame needs femur landmarks")?;
    let display = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    Ok(HcfRecord {
        abductors: solution.abductors_record(Precision::Full),
        activity: activity.name().into(),
        along: solved.rising.as_ref().map(|rising| {
            rising
                .steps
                .iter()
                .map(|s| {
                    let o = s.result.force_orthoload_percent_bw.unwrap_or_default();
                    RisingStepRecord {
                        ankle_deg: s.ankle_deg,
                        balanced: s.balanced,
                        hcf_percent_bw: [o.x, o.y, o.z],
                        held: s.held,
                        hip_flexion_deg: s.hip_deg[0],
                        knee_flexion_deg: s.knee_flexion_deg,
                        magnitude_percent_bw: s.result.magnitude_percent_bw,
                        progress: s.progress,
                    }
                })
                .collect()
        }),
        body_weight_n: args.body_weight_n,
        exported_osim: display(&args.export_osim),
        frame: "OrthoLoad femoral frame (Bergmann 2016): origin head centre, +z P2->P1, +y anterior, +x lateral (right femur; left mirrored)".into(),
        geometry: solution.geometry.is_some().then(|| solution.geometry_record(Precision::Full)),
        hcf_percent_bw: [f.x, f.y, f.z],
        magnitude_percent_bw: f.norm(),
        model: loaded.label.clone(),
        model_scale_factors: bones.is_none().then(|| factors.iter().map(|(b, f)| ScaleFactorRecord { body: b.clone(), factor: f.x }).collect()),
        motion_mot: display(&args.motion_mot),
        muscle_forces_n: r.muscle_forces_n.iter().filter(|(_, f)| *f > 0.5).map(|(n, f)| MuscleForceRecord { force_n: *f, muscle: n.clone() }).collect(),
        net_hip_moment_n_m_per_kg: NetHipMomentRecord {
            abductor: r.net_hip_moment.abductor_n_m_per_kg,
            extensor: r.net_hip_moment.extensor_n_m_per_kg,
            external_rotator: r.net_hip_moment.external_rotator_n_m_per_kg,
            frame: "pelvis (internal moments of the stance hip's muscles on the pelvis)".into(),
            source: if walking_moment.is_some() { "given (--walking-hip-moment): abductor and extensor; about the vertical from the posture" } else { "the quasi-static posture" }.into(),
        },
        // What the solve could not do within its budget (issue 16); absent normally.
        notes: r.notes.clone(),
        patient_hip_centre_distance_mm: (hl - hr).norm(),
        plan,
        posture_check,
        reserve_moment_n_m: r.reserve_n_m.norm(),
        side: if side == Side::Left { "L" } else { "R" }.into(),
        stance_hip_angles_deg: r.hip_angles_deg,
        strength: solution.strength_record(side == Side::Left, Precision::Full)?,
    })
}

/// `--forces-sto` and `--motion-mot`: the muscle forces and the posture(s) of the activity (one
/// row, or every step of sit-to-stand) as OpenSim files.
pub(super) fn write_tables(args: &HcfArgs, activity: MskActivity, planned: &Model, rising: Option<&coxa_msk::rising::Rising>, r: &HcfResult) -> Result<()> {
    let postures: Vec<(f64, &HcfResult)> = match rising {
        Some(rising) => rising.steps.iter().map(|s| (s.progress * coxa_msk::rising::RISING_DURATION_S, &s.result)).collect(),
        None => vec![(0.0, r)],
    };
    if let Some(path) = &args.forces_sto {
        // Muscles in the order of the first posture, then any later one adds (0 N where absent).
        let mut names: Vec<String> = Vec::new();
        for (_, p) in &postures {
            for (n, _) in &p.muscle_forces_n {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        let mut t = Storage::new("muscle_forces", false, names.clone());
        t.comments = vec![format!("coxa_activity={}", activity.name()), "coxa_units=N".into()];
        for (time, p) in &postures {
            t.rows.push((*time, names.iter().map(|n| p.muscle_forces_n.iter().find(|(m, _)| m == n).map_or(0.0, |(_, f)| *f)).collect()));
        }
        t.write(path)?;
    }
    if let Some(path) = &args.motion_mot {
        coxa_msk::rising::coordinates_motion(planned, activity.name(), postures.iter().map(|(t, p)| (*t, p.coordinates.as_slice()))).write(path)?;
    }
    Ok(())
}

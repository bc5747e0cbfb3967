//! The femur predicted from part of it (the pelvis, hip and knee, a proximal stub), and the measures surgeons read from it (issue 42).

use super::*;

pub(super) fn unseen_surface_error(pred: &Mesh, truth: &Mesh, up: &nalgebra::Vector3<f64>, cut_level: f64) -> (f64, f64) {
    let (ts, ps) = (coxa_shape::surface::Surface::new(truth.vertices(), truth.triangles()), coxa_shape::surface::Surface::new(pred.vertices(), pred.triangles()));
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let below = |p: &&Point3<f64>| p.coords.dot(up) < cut_level;
    (mean(pred.vertices().iter().filter(below).map(|p| ts.distance(p)).collect()), mean(truth.vertices().iter().filter(below).map(|p| ps.distance(p)).collect()))
}

/// Issue 14: the joint pose and shape steps (`SurfaceFitOptions::joint_steps`) against the default
/// alternating steps, the whole prediction (`predict_from_partial_with`) on all 26 held-out LLP26
/// femurs and on both vsd femurs, each cut 30 mm below the lesser trochanter. Measured when
/// written (debug build): leave-one-out unseen surface error mean 6.99 -> 5.55 mm (median 7.31 ->
/// 4.04), unseen RMS vertex error 17.7 -> 12.9 mm, anteversion error RMS 4.98 -> 4.00 deg,
/// converged 0 -> 8 of 26; vsd left 3.34 -> 8.61 mm / +1.6 -> +4.8 deg, right 8.81 -> 10.89 mm /
/// -10.8 -> -8.1 deg: the converged fit bends the modes to the real stub and predicts a femur
/// 16-23 mm shorter than the alternating fit (and than the truth), so the joint steps stay
/// opt-in (README, "Joint steps on the whole leave-one-out").
#[test]
#[ignore = "a measurement: 2 x 26 leave-one-out fits and 4 vsd predictions, about 10 min in a debug build; run with --ignored"]
fn joint_steps_on_the_leave_one_out_and_vsd() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let joint = coxa_shape::SurfaceFitOptions { joint_steps: true, ..Default::default() };
    let alternating = coxa_shape::SurfaceFitOptions::default();
    let (model, subjects) = gias::llp26_with_subjects(&dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let measure = |m: &Mesh| femur_landmarks(m, Side::Left).ok().and_then(|l| l.anteversion_deg);
    // Per subject and fit: unseen surface error (mm), anteversion error (deg), converged.
    type Row = (usize, [(f64, f64, bool); 2]);
    let one = |s: usize| -> Result<Row> {
        let c = held_out(&model, &subjects, s, 30.0)?;
        let truth = c.truth.anteversion_deg.context("a training femur has condyles")?;
        let mut out = [(0.0, 0.0, false); 2];
        for (o, options) in out.iter_mut().zip([&alternating, &joint]) {
            let p = coxa_shape::predict::predict_from_partial_with(&c.model, &c.partial, &c.head_model, &c.head_target, &measure, 0, 7, options)?;
            let (e, _) = unseen_surface_error(&p.mesh, &c.full, &c.up, c.cut_level);
            *o = (e, p.angle.context("the predicted femur has condyles")? - truth, p.fit.converged);
        }
        Ok((s, out))
    };
    let rows = on_two_threads(subjects.len(), &one)?;
    let mut stats = Vec::new();
    for (f, name) in ["alternating", "joint"].iter().enumerate() {
        let e: Vec<f64> = rows.iter().map(|r| r.1[f].0).collect();
        let av: Vec<f64> = rows.iter().map(|r| r.1[f].1).collect();
        let converged = rows.iter().filter(|r| r.1[f].2).count();
        let mean = e.iter().sum::<f64>() / e.len() as f64;
        let av_rms = (av.iter().map(|x| x * x).sum::<f64>() / av.len() as f64).sqrt();
        eprintln!("leave-one-out, {name:11}: unseen surface error mean {mean:.2} mm, median {:.2} mm; anteversion error RMS {av_rms:.2} deg; converged {converged} of {}", median(&e), rows.len());
        stats.push((mean, av_rms, converged));
    }
    // On the held-out LLP26 femurs the joint steps predict better and converge more often.
    assert!(stats[1].0 < stats[0].0 && stats[1].1 < stats[0].1 && stats[1].2 > stats[0].2, "{stats:?}");

    let Some(vsd) = crate::common::shared_data("vsd_bones") else {
        return Ok(());
    };
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], 22)?;
        let head_model = femur_landmarks(&part_mesh(&model, &format!("femur_{}", side.as_str()), model.mean())?, side)?.head_centre.lps_mm;
        let head_target = femur_landmarks(&partial, side)?.head_centre.lps_mm;
        let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
        let mut lengths = Vec::new();
        for (name, options) in [("alternating", &alternating), ("joint", &joint)] {
            let p = coxa_shape::predict::predict_from_partial_with(&model, &partial, &head_model, &head_target, &measure, 0, 7, options)?;
            let (e, e_back) = unseen_surface_error(&p.mesh, &full, &u, cut_level);
            let av = p.angle.context("the predicted femur has condyles")? - truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
            eprintln!(
                "vsd {side:?}, {name:11}: unseen surface error {e:.2} mm (true -> predicted {e_back:.2}), anteversion error {av:+.1} deg, length {:.0} mm (true {:.0}), fit RMS {:.2} mm, converged {} in {} rounds",
                extent(&p.mesh, &u),
                extent(&full, &u),
                p.fit.rms_mm,
                p.fit.converged,
                p.fit.iterations
            );
            // Both match the imaged part.
            assert!(p.fit.rms_mm < 1.5, "{side:?} {name}: fit RMS {:.2} mm", p.fit.rms_mm);
            lengths.push(extent(&p.mesh, &u));
        }
        // Why the joint steps are not the default: on the real femurs they shorten the prediction.
        assert!(lengths[1] < lengths[0] - 5.0, "{side:?}: lengths {lengths:?}");
    }
    Ok(())
}

/// What the right vsd femur's error is made of (issue 14: 8.8 mm unseen surface error, -10.8 deg
/// anteversion error at a 30 mm cut). The model's mean femur is registered onto each whole vsd
/// femur (correspondence); the prediction's unseen vertices are compared with it before and after
/// a rigid realignment of the whole predicted femur (the rotation split into a twist about the
/// shaft axis and a tilt of it), with scale, and against the model's best fit to the whole
/// registered femur (what the model can represent at all). Measured when written: right, unseen
/// RMS vertex error 18.4 mm, 6.0 mm after a rigid realignment whose rotation is 8.9 deg (twist
/// +8.5, tilt 2.7), 4.0 mm with scale 0.974 (the prediction 2.6 % too long), 2.2 mm for the
/// whole-femur fit, whose anteversion is 22.5 deg against 27.9 on the registered femur and whose
/// Mahalanobis distance is 5.34 (a typical subject's is about 5); left 8.7, 5.8 (0.8 deg), 4.1
/// (scale 0.977), 2.2 mm, Mahalanobis 5.57.
#[test]
fn vsd_prediction_error_decomposed() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], LOO_DIVISIONS)?;
        let (r, head_model) = mean_registered_onto(&model, &full, &truth, side)?;
        let reg = r.vertices;
        let av_reg = femur_landmarks(&Mesh::new(reg.clone(), model.faces().to_vec())?, side)?.anteversion_deg.context("registered condyles")?;
        let whole = model.fit(&reg, &coxa_shape::FitOptions::default())?;
        let av_whole = femur_landmarks(&Mesh::new(whole.shape.clone(), model.faces().to_vec())?, side)?.anteversion_deg.context("fitted condyles")?;
        let head_target = femur_landmarks(&partial, side)?.head_centre.lps_mm;
        let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
        let p = coxa_shape::predict::predict_from_partial(&model, &partial, &head_model, &head_target, &measure, 0, 7)?;
        let unseen: Vec<usize> = (0..reg.len()).filter(|&v| reg[v].coords.dot(&u) < cut_level).collect();
        let err = |x: &[Point3<f64>]| rms(&unseen.iter().map(|&v| (x[v] - reg[v]).norm()).collect::<Vec<_>>());
        let rigid = coxa_shape::Pose::between(&p.fit.shape, &reg, false);
        let scaled = coxa_shape::Pose::between(&p.fit.shape, &reg, true);
        let moved = |pose: &coxa_shape::Pose| p.fit.shape.iter().map(|q| pose.apply(q)).collect::<Vec<_>>();
        let turn = rigid.rotation.scaled_axis();
        let (twist, tilt) = (turn.dot(&u).to_degrees(), (turn - u * turn.dot(&u)).norm().to_degrees());
        let (e, e_rigid, e_scaled, e_whole) = (err(&p.fit.shape), err(&moved(&rigid)), err(&moved(&scaled)), err(&whole.shape));
        eprintln!(
            "{side:?}: unseen RMS vertex error {e:.1} mm; after a rigid realignment of the whole femur {e_rigid:.1} mm (rotation {:.1} deg: twist about the shaft {twist:+.1}, tilt {tilt:.1}); with scale {e_scaled:.1} mm (scale {:.3}); the model's fit to the whole femur {e_whole:.1} mm",
            rigid.rotation.angle().to_degrees(),
            scaled.scale
        );
        eprintln!("  anteversion: whole femur {av_true:.1} deg, registered mean {av_reg:.1}, the model's whole-femur fit {av_whole:.1}, predicted {:.1}", p.angle.context("predicted condyles")?);
        // How far out the femur lies in the model: the whole-femur fit's Mahalanobis distance
        // (a typical subject's is about the root of the number of modes).
        let mahalanobis = |b: &[f64]| b.iter().zip(model.variances()).map(|(w, l)| w * w / l).sum::<f64>().sqrt();
        eprintln!(
            "  Mahalanobis distance: whole-femur fit {:.2}, prediction {:.2} ({} modes: a typical subject about {:.1})",
            mahalanobis(&whole.weights),
            mahalanobis(&p.fit.weights),
            model.n_modes(),
            (model.n_modes() as f64).sqrt()
        );
        // The model represents the whole femur closely; the prediction's error is mostly pose
        // and size of the unseen part, which a stub leaves to the prior.
        assert!(e_whole < 3.0 && e_scaled < e_rigid && e_rigid < e, "{side:?}: {e:.1} {e_rigid:.1} {e_scaled:.1} {e_whole:.1}");
        if right {
            // Right: most of the error is a twist about the shaft (the femur's torsion), and even
            // the model's whole-femur fit misses the 28 deg anteversion by more than 4 deg.
            assert!(e_rigid < 0.5 * e && twist.abs() > 2.0 * tilt && (av_whole - av_reg).abs() > 4.0, "twist {twist:.1}, tilt {tilt:.1}, anteversion {av_whole:.1} vs {av_reg:.1}");
        }
    }
    Ok(())
}

/// Issue 14, a measurement: does the pelvis, which every hip CT images, tell more about the unseen
/// femur than the stub alone? LLP26's joint model of the pelvis and one femur (its subjects' hips in
/// their CT poses) is fitted to the vsd pelvis (both hip bones and the sacrum) plus the femur cut 30 mm
/// below the lesser trochanter, and its femur part compared with the femur-only model's prediction
/// (same divisions, same steps). Measured when written (debug, 13 divisions): femur only, left
/// 3.19 mm / +1.5 deg / 430 mm long (true 419), right 8.85 mm / -10.7 deg / 433 mm (true 420); with
/// the pelvis, left 8.44 mm / +5.8 deg / 459 mm, right 168 mm / -6.9 deg / 454 mm (fit RMS 2.5-2.7
/// mm against 1.0-1.4). One rigid pose for the pelvis and the femur holds the femur where LLP26's
/// subjects held theirs in their CTs; the cadaver's hips are posed otherwise, so the modes bend to
/// reach them, and the femur comes out longer and, on the right, misplaced. An articulated fit
/// (the femur with its own pose) was not tried because the pelvis points the wrong way anyway: the
/// joint model fitted to the vsd pelvis alone gives a femur 455-461 mm long with a 22.1 mm head
/// (true 419-420 mm, 19.6-20.1 mm): by LLP26's pelvis-femur covariation this cadaver's pelvis is
/// large for its femurs.
#[test]
#[ignore = "a measurement (issue 14): 4 predictions, 2 with the pelvis, about half a minute in a debug build; run with --ignored"]
fn femur_predicted_with_the_pelvis() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let mut pelvis_v = Vec::new();
    let mut pelvis_f: Vec<[u32; 3]> = Vec::new();
    for file in ["z013_Hip_L.stl", "z013_Hip_R.stl", "z013_Sacrum.stl"] {
        let m = coxa_io::mesh::read_stl(&vsd.join(file))?;
        let o = pelvis_v.len() as u32;
        pelvis_v.extend_from_slice(m.vertices());
        pelvis_f.extend(m.triangles().iter().map(|t| t.map(|i| i + o)));
    }
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial: stub, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
        let mut errors = Vec::new();
        let head_target = femur_landmarks(&stub, side)?.head_centre.lps_mm;
        let name = format!("femur_{}", side.as_str());
        let mut v = pelvis_v.clone();
        let mut f = pelvis_f.clone();
        let o = v.len() as u32;
        v.extend_from_slice(stub.vertices());
        f.extend(stub.triangles().iter().map(|t| t.map(|i| i + o)));
        let with_pelvis = Mesh::new(v, f)?;
        for (label, parts, target) in [("femur only", &[Llp26Part::Femur][..], &stub), ("pelvis + femur", &[Llp26Part::Femur, Llp26Part::Pelvis][..], &with_pelvis)] {
            let model = gias::llp26(&dir, right, parts, LOO_DIVISIONS)?;
            let flat = |m: &Mesh| m.vertices().iter().flat_map(|p| [p.x, p.y, p.z]).collect::<Vec<f64>>();
            let femur_of = |m: &Mesh| part_mesh(&model, &name, &flat(m));
            let head_model = femur_landmarks(&part_mesh(&model, &name, model.mean())?, side)?.head_centre.lps_mm;
            let measure = |m: &Mesh| femur_of(m).ok().and_then(|fm| femur_landmarks(&fm, side).ok()).and_then(|l| l.anteversion_deg);
            let t0 = std::time::Instant::now();
            let p = coxa_shape::predict::predict_from_partial(&model, target, &head_model, &head_target, &measure, 0, 7)?;
            let femur = femur_of(&p.mesh)?;
            let (e, e_back) = unseen_surface_error(&femur, &full, &u, cut_level);
            eprintln!(
                "vsd {side:?}, {label:14}: unseen surface error {e:.2} mm (true -> predicted {e_back:.2}), anteversion error {:+.1} deg, length {:.0} mm (true {:.0}), fit RMS {:.2} mm, inliers {:.0} %, {} rounds, {:.0} s",
                p.angle.map_or(f64::NAN, |a| a - av_true),
                extent(&femur, &u),
                extent(&full, &u),
                p.fit.rms_mm,
                100.0 * p.fit.inlier_fraction,
                p.fit.iterations,
                t0.elapsed().as_secs_f64()
            );
            errors.push(e);
            if parts.len() == 2 {
                // What the pelvis alone says of the femur: the joint model fitted to the pelvis only.
                let pel = Mesh::new(pelvis_v.clone(), pelvis_f.clone())?;
                let fit = model.fit_surface(pel.vertices(), pel.area_mm2(), &p.fit.pose, &coxa_shape::SurfaceFitOptions::default())?;
                let femur = Mesh::new(fit.shape.clone(), model.faces().to_vec())?;
                let femur = femur_of(&femur)?;
                let l = femur_landmarks(&femur, side)?;
                eprintln!(
                    "  the joint model fitted to the pelvis alone: its femur {:.0} mm long (along the true shaft axis), anteversion {:?}, head radius {:.1} mm (true {:.1}); pelvis fit RMS {:.2} mm",
                    extent(&femur, &u),
                    l.anteversion_deg,
                    l.head_radius_mm,
                    truth.head_radius_mm,
                    fit.rms_mm
                );
            }
        }
        // The finding: a single pose for the pelvis and the femur predicts the unseen femur worse.
        assert!(errors[1] > errors[0], "{side:?}: with the pelvis {:.2} mm, femur only {:.2} mm", errors[1], errors[0]);
    }
    Ok(())
}

/// Per input (stub only, stub + knee): surface error (mm), anteversion error (deg), length (mm).
pub(super) type HipKnee = [(f64, f64, f64); 2];

/// One femur predicted from its proximal stub alone and from the stub plus its distal end (a
/// femoral-version CT protocol: the hip and a few slices through the knee). Returns per input the
/// mean surface error of the predicted vertices between the two imaged parts (predicted -> true,
/// mm), the anteversion error of the predicted femur (deg) and its length (mm).
#[expect(clippy::too_many_arguments, reason = "the femur, its frame and the model's anchor")]
pub(super) fn hip_and_knee_errors(model: &ShapeModel, full: &Mesh, side: Side, up: &nalgebra::Vector3<f64>, cut_level: f64, knee_mm: f64, head_model: &Point3<f64>, av_true: f64) -> Result<HipKnee> {
    let bottom = full.vertices().iter().map(|p| p.coords.dot(up)).fold(f64::INFINITY, f64::min);
    let knee_level = bottom + knee_mm;
    let stub = keep_triangles(full, |p| p.coords.dot(up) >= cut_level)?;
    let hip_and_knee = keep_triangles(full, |p| {
        let h = p.coords.dot(up);
        h >= cut_level || h <= knee_level
    })?;
    let head_target = femur_landmarks(&stub, side)?.head_centre.lps_mm;
    let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
    let truth = coxa_shape::surface::Surface::new(full.vertices(), full.triangles());
    let mut out = [(0.0, 0.0, 0.0); 2];
    for (o, target) in out.iter_mut().zip([&stub, &hip_and_knee]) {
        let p = coxa_shape::predict::predict_from_partial(model, target, head_model, &head_target, &measure, 0, 7)?;
        let between: Vec<f64> = p
            .mesh
            .vertices()
            .iter()
            .filter(|q| {
                let h = q.coords.dot(up);
                h < cut_level && h > knee_level
            })
            .map(|q| truth.distance(q))
            .collect();
        let e = between.iter().sum::<f64>() / between.len().max(1) as f64;
        *o = (e, p.angle.context("the predicted femur has condyles")? - av_true, extent(&p.mesh, up));
    }
    Ok(out)
}

/// Issue 14's surface anchor (about 1.8 mm, Zhang and Besier 2017: "a partial proximal femur
/// surface ... in combination with morphometric and landmark data") under two inputs: the stub
/// alone (a hip CT; the pipeline's case) and the stub plus the distal 40 mm of the femur (a
/// femoral-version protocol that adds slices through the knee). Both vsd femurs and the 26
/// held-out LLP26 femurs (13 divisions), cut 30 mm below the lesser trochanter; the error is over
/// the part between the imaged ones in both inputs, so the two are compared on the same vertices.
#[test]
#[ignore = "a measurement (issue 14): 2 x 28 predictions, several minutes in a debug build; run with --ignored"]
fn femur_predicted_from_hip_and_knee() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    const KNEE_MM: f64 = 40.0;
    let mut vsd_rows = Vec::new();
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], 22)?;
        let head_model = femur_landmarks(&part_mesh(&model, &format!("femur_{}", side.as_str()), model.mean())?, side)?.head_centre.lps_mm;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
        let r = hip_and_knee_errors(&model, &full, side, &u, cut_level, KNEE_MM, &head_model, av_true)?;
        for (label, (e, av, len)) in ["stub only", "stub + knee"].iter().zip(r) {
            eprintln!("vsd {side:?}, {label:11}: surface error between the imaged parts {e:.2} mm, anteversion error {av:+.1} deg, length {len:.0} mm (true {:.0})", extent(&full, &u));
        }
        vsd_rows.push(r);
    }
    let (model, subjects) = gias::llp26_with_subjects(&dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let one = |s: usize| -> Result<HipKnee> {
        let c = held_out(&model, &subjects, s, 30.0)?;
        let av_true = c.truth.anteversion_deg.context("a training femur has condyles")?;
        hip_and_knee_errors(&c.model, &c.full, Side::Left, &c.up, c.cut_level, KNEE_MM, &c.head_model, av_true)
    };
    let rows = on_two_threads(subjects.len(), &one)?;
    let mut means = [0.0; 2];
    for (k, label) in ["stub only", "stub + knee"].iter().enumerate() {
        let e: Vec<f64> = rows.iter().map(|r| r[k].0).collect();
        let av: Vec<f64> = rows.iter().map(|r| r[k].1).collect();
        means[k] = e.iter().sum::<f64>() / e.len() as f64;
        let av_rms = (av.iter().map(|x| x * x).sum::<f64>() / av.len() as f64).sqrt();
        let av_max = av.iter().map(|x| x.abs()).fold(0.0, f64::max);
        eprintln!(
            "leave-one-out, {label:11}: surface error between the imaged parts mean {:.2} mm, median {:.2} mm, max {:.2} mm; anteversion error RMS {av_rms:.2} deg (max {av_max:.1})",
            means[k],
            median(&e),
            e.iter().copied().fold(0.0, f64::max)
        );
    }
    // The knee's slices pin the length and the torsion the stub cannot show: the error between
    // the imaged parts falls on the held-out femurs and on both vsd femurs.
    assert!(means[1] < means[0], "leave-one-out: stub + knee {:.2} mm, stub only {:.2} mm", means[1], means[0]);
    for (r, (_, side, _)) in vsd_rows.iter().zip(VSD_FEMURS) {
        assert!(r[1].0 < r[0].0, "vsd {side:?}: stub + knee {:.2} mm, stub only {:.2} mm", r[1].0, r[0].0);
    }
    Ok(())
}

/// Issue 42: how far below its top a proximal femur is imaged (the stub of the issue's held-out
/// femurs), mm along the whole femur's shaft axis.
pub(super) const PROXIMAL_MM: f64 = 130.0;

/// The level `PROXIMAL_MM` below the most proximal point of `full` along `up`.
pub(super) fn below_top(full: &Mesh, up: &nalgebra::Vector3<f64>) -> f64 {
    full.vertices().iter().map(|p| p.coords.dot(up)).fold(f64::NEG_INFINITY, f64::max) - PROXIMAL_MM
}

/// One femur cut and predicted: per quantity (anteversion, neck-shaft angle, offset) the whole
/// femur's value, the value the pipeline gives (`coxa anatomy`: the stub's own neck-shaft angle
/// and offset where its shaft is measured, else the prediction's) and its posterior SD (`None`
/// where measured), and how far the stub reaches below the whole femur's lesser trochanter.
pub(super) struct ProximalCase {
    name: String,
    truth: [f64; 3],
    given: [f64; 3],
    posterior_sd: [Option<f64>; 3],
    below_lt_mm: f64,
}

#[expect(clippy::too_many_arguments, reason = "the femur, its frame and the model's anchor")]
pub(super) fn proximal_case(
    name: String,
    model: &ShapeModel,
    full: &Mesh,
    truth: &FemurLandmarks,
    side: Side,
    head_model: &Point3<f64>,
    up: &nalgebra::Vector3<f64>,
    cut_level: f64,
) -> Result<ProximalCase> {
    let (partial, _) = cut_above(full, up, cut_level)?;
    let stub = femur_landmarks(&partial, side)?;
    let p = coxa_shape::predict::predict_from_partial_measures(model, &partial, head_model, &stub.head_centre.lps_mm, &|m| femur_measures(m, side), 30, 14, &coxa_shape::SurfaceFitOptions::default())?;
    let whole = femur_measures(full, side);
    let pick = |v: &[Option<f64>]| -> Result<[f64; 3]> { Ok([v[0].context("anteversion")?, v[1].context("neck-shaft angle")?, v[2].context("offset")?]) };
    let predicted = pick(&p.measures.iter().map(|m| m.value).collect::<Vec<_>>())?;
    let sd = [0, 1, 2].map(|k| p.measures[k].sd());
    let (given, posterior_sd) = match stub.neck_shaft_angle_deg {
        Some(nsa) => ([predicted[0], nsa, stub.offset_mm()], [sd[0], None, None]),
        None => (predicted, sd),
    };
    Ok(ProximalCase { name, truth: pick(&whole)?, given, posterior_sd, below_lt_mm: truth.lesser_trochanter.lps_mm.coords.dot(up) - cut_level })
}

/// The held-out femurs cut at `cut_level` and predicted: LLP26's 26 training subjects (each by the
/// model of the other 25, turned by up to 10 deg) and, with `vsd`, both vsd femurs.
pub(super) fn proximal_cases(dir: &std::path::Path, vsd: Option<&std::path::Path>, cut_level: &CutLevel<'_>) -> Result<Vec<ProximalCase>> {
    let (model, subjects) = gias::llp26_with_subjects(dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let mut cases = on_two_threads(subjects.len(), &|s| {
        let c = held_out_cut(&model, &subjects, s, cut_level)?;
        proximal_case(format!("LLP26 subject {s:2}"), &c.model, &c.full, &c.truth, Side::Left, &c.head_model, &c.up, c.cut_level)
    })?;
    for (right, side, file) in VSD_FEMURS.iter().filter(|_| vsd.is_some()) {
        let model = gias::llp26(dir, *right, &[Llp26Part::Femur], 22)?;
        let full = coxa_io::mesh::read_stl(&vsd.context("vsd")?.join(file))?;
        let truth = femur_landmarks(&full, *side)?;
        let up = truth.shaft_axis.direction_lps;
        let head_model = femur_landmarks(&Mesh::new(model.instance(&[])?, model.faces().to_vec())?, *side)?.head_centre.lps_mm;
        let level = cut_level(&full, &truth, &up);
        cases.push(proximal_case(format!("vsd {file}"), &model, &full, &truth, *side, &head_model, &up, level)?);
    }
    Ok(cases)
}

/// Per quantity over `cases`: the errors and posterior SDs of the predicted ones, the model-error
/// SD they calibrate, and (with `stored`) how many errors lie within 1 and 2 predictive SDs.
pub(super) fn calibration(label: &str, cases: &[ProximalCase], k: usize, stored: f64) -> Result<(f64, f64, f64)> {
    let pairs: Vec<(f64, f64)> = cases.iter().filter_map(|c| Some((c.given[k] - c.truth[k], c.posterior_sd[k]?))).collect();
    let (e, s): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let sigma = coxa_shape::predict::model_error_sd(&e, &s).context("errors")?;
    let within = |m: f64| pairs.iter().filter(|(x, si)| x.abs() <= m * si.hypot(stored)).count() as f64 / pairs.len() as f64;
    let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
    eprintln!(
        "  {label}: {} predicted, error RMS {rms:.2}, max {:.2}; model error SD calibrated {sigma:.2} (stored {stored:.2}): {:.0} % within 1 SD, {:.0} % within 2 SD",
        pairs.len(),
        e.iter().fold(0.0f64, |a, x| a.max(x.abs())),
        100.0 * within(1.0),
        100.0 * within(2.0)
    );
    Ok((sigma, within(1.0), within(2.0)))
}

/// Issue 42: the neck-shaft angle, anteversion and offset of a femur imaged only to 130 mm below
/// its top (the neck and the proximal shaft, 57-73 mm below the lesser trochanter; coxa's own
/// landmarks give no neck-shaft angle there), predicted through the LLP26 model as `coxa anatomy`
/// does, against coxa's measurement on the whole femur: the 26 held-out LLP26 femurs and both vsd
/// femurs. The model-error terms of the neck-shaft angle's and the offset's SDs
/// (`gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`, `..._OFFSET_MODEL_SD_MM`) are calibrated at the
/// shortest stub they are given for (`gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`, 30 mm below the
/// lesser trochanter, in llp26_leave_one_out_calibrates_the_anteversion_sd), where the errors
/// are larger (RMS 2.8 deg and 3.1 mm against 2.2 deg and 2.2 mm here).
///
/// Measured when written (debug build, 2.3 min): neck-shaft angle within 5 deg on all 28 (RMS
/// 2.2 deg, worst -4.5; one stub, subject 13, has a measured one, within 0.1 deg); anteversion
/// within 5 deg on 20 of 28 (RMS 5.4 deg; the vsd right femur -12.3, whose torsion lies 2 SD above
/// LLP26's mean: the proximal femur carries little of the torsion, issue 14); the SDs cover the
/// errors (neck-shaft 74 % / 100 % within 1 / 2 SD, anteversion 71 % / 89 %, offset 89 % / 100 %).
#[test]
fn issue_42_neck_shaft_angle_and_anteversion_from_the_proximal_130_mm() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let cases = proximal_cases(&dir, Some(&vsd), &|full, _, up| below_top(full, up))?;
    eprintln!("femur cut {PROXIMAL_MM} mm below its top | below the LT mm | anteversion true/given/error/posterior SD | neck-shaft | offset mm");
    for c in &cases {
        let q = |k: usize| format!("{:6.1} {:6.1} {:+5.1} {}", c.truth[k], c.given[k], c.given[k] - c.truth[k], c.posterior_sd[k].map_or("measured".into(), |s| format!("{s:.1}")));
        eprintln!("{} | {:.0} | {} | {} | {}", c.name, c.below_lt_mm, q(0), q(1), q(2));
    }
    let stored = [gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG, gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG, gias::LLP26_FEMUR_OFFSET_MODEL_SD_MM];
    let names = ["anteversion deg", "neck-shaft angle deg", "offset mm"];
    for k in 0..3 {
        eprintln!("{}:", names[k]);
        let (at_130, w1, w2) = calibration(&format!("cut {PROXIMAL_MM} mm below the top"), &cases, k, stored[k])?;
        // The SDs cover the errors (68 % within 1 SD expected of a calibrated SD, 28 cases: at
        // least 50 %; 95 % within 2 SD: at least 85 %): the stored terms, calibrated on the
        // shorter stubs (llp26_leave_one_out_calibrates_the_anteversion_sd), are no smaller than
        // what these errors ask, to 10 %.
        assert!(w1 >= 0.5 && w2 >= 0.85, "{}: {:.0} % / {:.0} % within 1 / 2 SD", names[k], 100.0 * w1, 100.0 * w2);
        assert!(at_130 <= 1.1 * stored[k], "{}: the errors at {PROXIMAL_MM} mm ask {at_130:.2}, stored {:.2}", names[k], stored[k]);
    }
    // The issue's requirement on the neck-shaft angle: within 5 deg of the whole femur's on every
    // held-out femur; the stub reaches the lesser trochanter's gate on every one.
    for c in &cases {
        assert!((c.given[1] - c.truth[1]).abs() < 5.0, "{}: neck-shaft {:.1} vs {:.1}", c.name, c.given[1], c.truth[1]);
        assert!(c.below_lt_mm >= gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM, "{}: {:.0} mm below the LT", c.name, c.below_lt_mm);
    }
    // Anteversion: within 5 deg where the femur's torsion lies near the model's mean; the
    // prediction beats guessing the population mean (the subjects' own spread) over the
    // leave-one-out, as at 30 mm below the lesser trochanter (issue 14).
    let loo: Vec<&ProximalCase> = cases.iter().filter(|c| c.name.starts_with("LLP26")).collect();
    let mean = loo.iter().map(|c| c.truth[0]).sum::<f64>() / loo.len() as f64;
    let spread = (loo.iter().map(|c| (c.truth[0] - mean).powi(2)).sum::<f64>() / (loo.len() - 1) as f64).sqrt();
    let rms = (loo.iter().map(|c| (c.given[0] - c.truth[0]).powi(2)).sum::<f64>() / loo.len() as f64).sqrt();
    let within5 = cases.iter().filter(|c| (c.given[0] - c.truth[0]).abs() < 5.0).count();
    eprintln!("anteversion within 5 deg on {within5} of {}; leave-one-out RMS {rms:.2} deg against the subjects' spread {spread:.2} deg", cases.len());
    assert!(rms < spread, "{rms:.2} vs {spread:.2}");
    Ok(())
}

//! Leave-one-out calibration of the LLP26 femur model's spreads (anteversion, vertices), and the fits' budgets.

use super::*;

/// One leave-one-out prediction: (true anteversion, predicted, posterior SD, unseen-part mean
/// surface error mm).
pub(super) struct LooCase {
    truth_deg: f64,
    predicted_deg: f64,
    posterior_sd_deg: f64,
    unseen_mm: f64,
}

/// The leave-one-out at the pipeline's cut, 30 mm below the lesser trochanter
/// ([`gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`]): LLP26's femur model, its 26 training subjects'
/// weights, and per subject the held-out cut and its prediction (30 posterior samples measured
/// with coxa's femur landmarks, seed 7). Computed once, on two threads, for the three tests that
/// read it (the anteversion calibration, the vertex calibration at 30 mm, the fits' budget): the
/// prediction's fit does not depend on the samples or the measure
/// (`predict_from_partial_measures` fits first, then samples), so each test reads the fit it
/// computed itself before, bit for bit, at a third of the cost.
pub(super) struct Loo30 {
    model: ShapeModel,
    subjects: Vec<Vec<f64>>,
    rows: Vec<(HeldOut, coxa_shape::predict::Prediction)>,
}

/// [`Loo30`] (rows in the subjects' order), computed by the first test that asks.
pub(super) fn loo_30mm(dir: &std::path::Path) -> Result<&'static Loo30> {
    static LOO: std::sync::OnceLock<Result<Loo30, String>> = std::sync::OnceLock::new();
    let computed = LOO.get_or_init(|| {
        let compute = || -> Result<Loo30> {
            let (model, subjects) = gias::llp26_with_subjects(dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
            let one = |s: usize| -> Result<(usize, HeldOut, coxa_shape::predict::Prediction)> {
                let c = held_out(&model, &subjects, s, gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM)?;
                let p = coxa_shape::predict::predict_from_partial_measures(&c.model, &c.partial, &c.head_model, &c.head_target, &|m| femur_measures(m, Side::Left), 30, 7, &Default::default())?;
                Ok((s, c, p))
            };
            let mut rows = on_two_threads(subjects.len(), &one)?;
            rows.sort_by_key(|r| r.0);
            let rows = rows.into_iter().map(|(_, c, p)| (c, p)).collect();
            Ok(Loo30 { model, subjects, rows })
        };
        compute().map_err(|e| format!("{e:#}"))
    });
    computed.as_ref().map_err(|e| anyhow::anyhow!("the 30 mm leave-one-out: {e}"))
}

/// The LLP26 femur's training subjects (from `projectedWeights`), each left out in turn: the
/// model rebuilt from the other 25, the subject's own femur (turned by up to 10 deg about each axis)
/// cut 30 mm below its lesser trochanter, the whole femur predicted from the cut, and the
/// predicted anteversion against coxa's measurement on the subject's whole femur. The errors
/// calibrate the model-error term of the predicted SD
/// ([`coxa_shape::gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`]): with it, about 68 % of the
/// held-out errors must lie within 1 SD. Issue 42: the same predictions calibrate the terms of the
/// neck-shaft angle and the offset (`gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`,
/// `..._OFFSET_MODEL_SD_MM`; 30 mm below the lesser trochanter is the shortest stub they are given
/// for, `gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`, and the errors are largest there), over the
/// subjects whose stub has no neck-shaft angle of its own.
#[test]
fn llp26_leave_one_out_calibrates_the_anteversion_sd() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let side = Side::Left;
    let t0 = std::time::Instant::now();
    let loo = loo_30mm(&dir)?;
    let (model, subjects) = (&loo.model, &loo.subjects);
    assert_eq!(subjects.len(), 26, "LLP26 has 26 training subjects");
    // The subjects' weights have the model's variances (GIAS3 divides by S - 1) and mean 0.
    for k in 0..5 {
        let v = subjects.iter().map(|b| b[k] * b[k]).sum::<f64>() / 25.0;
        let m = subjects.iter().map(|b| b[k]).sum::<f64>() / 26.0;
        assert!((v / model.variances()[k] - 1.0).abs() < 0.01 && m.abs() < 0.01 * model.variances()[k].sqrt(), "mode {k}: variance {v} vs {}, mean {m}", model.variances()[k]);
    }
    let mut cases = Vec::new();
    let (mut vertex_rms, mut vertex_sd) = (Vec::new(), Vec::new());
    // Neck-shaft angle and offset: (error, posterior SD) of each subject where predicted.
    let mut neck: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for (s, (c, p)) in loo.rows.iter().enumerate() {
        let truth_deg = c.truth.anteversion_deg.context("a training femur has condyles")?;
        let (full, u, cut_level) = (&c.full, c.up, c.cut_level);
        if femur_landmarks(&c.partial, side)?.neck_shaft_angle_deg.is_none() {
            let truth = femur_measures(full, side);
            for k in 0..2 {
                if let (Some(v), Some(t), Some(sd)) = (p.measures[k + 1].value, truth[k + 1], p.measures[k + 1].sd()) {
                    neck[k].push((v - t, sd));
                }
            }
        }
        let predicted_deg = p.angle.context("the predicted femur has condyles")?;
        let true_surface = coxa_shape::surface::Surface::new(full.vertices(), full.triangles());
        let unseen: Vec<f64> = p.mesh.vertices().iter().filter(|q| q.coords.dot(&u) < cut_level).map(|q| true_surface.distance(q)).collect();
        let unseen_mm = unseen.iter().sum::<f64>() / unseen.len().max(1) as f64;
        // The per-vertex SD over the unseen part against the real vertex error there (the
        // subject's own vertices: the left-out femur is in correspondence with the model).
        let below: Vec<usize> = (0..full.vertices().len()).filter(|&v| full.vertices()[v].coords.dot(&u) < cut_level).collect();
        let nb = below.len().max(1) as f64;
        vertex_rms.push((below.iter().map(|&v| (p.fit.shape[v] - full.vertices()[v]).norm_squared()).sum::<f64>() / nb).sqrt());
        vertex_sd.push((below.iter().map(|&v| p.fit.sd_mm[v].powi(2)).sum::<f64>() / nb).sqrt());
        let case = LooCase { truth_deg, predicted_deg, posterior_sd_deg: p.angle_sd().unwrap_or(f64::NAN), unseen_mm };
        eprintln!(
            "subject {s:2}: anteversion {truth_deg:5.1} deg, predicted {predicted_deg:5.1} (error {:+5.1}), posterior SD {:.1}; unseen part {unseen_mm:.2} mm; fit RMS {:.2} mm, converged {}",
            predicted_deg - truth_deg,
            case.posterior_sd_deg,
            p.fit.rms_mm,
            p.fit.converged
        );
        cases.push(case);
    }
    let e: Vec<f64> = cases.iter().map(|c| c.predicted_deg - c.truth_deg).collect();
    let s: Vec<f64> = cases.iter().map(|c| c.posterior_sd_deg).collect();
    let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
    let max = e.iter().copied().fold(0.0, |a: f64, x| a.max(x.abs()));
    let bias = e.iter().sum::<f64>() / e.len() as f64;
    let sigma_m = coxa_shape::predict::model_error_sd(&e, &s).context("errors")?;
    let within = |extra: f64| e.iter().zip(&s).filter(|(x, si)| x.abs() <= si.hypot(extra)).count() as f64 / e.len() as f64;
    let stored = gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG;
    let unseen = cases.iter().map(|c| c.unseen_mm).sum::<f64>() / cases.len() as f64;
    let spread = {
        let m = cases.iter().map(|c| c.truth_deg).sum::<f64>() / cases.len() as f64;
        (cases.iter().map(|c| (c.truth_deg - m).powi(2)).sum::<f64>() / (cases.len() - 1) as f64).sqrt()
    };
    eprintln!("LLP26 leave-one-out, 26 subjects cut 30 mm below the LT ({:.0} s):", t0.elapsed().as_secs_f64());
    eprintln!("  anteversion error: RMS {rms:.1} deg, max {max:.1} deg, bias {bias:+.1} deg (the subjects' own anteversion SD {spread:.1} deg)");
    eprintln!("  posterior SD alone: median {:.1} deg, covers {:.0} % of the errors within 1 SD", median(&s), 100.0 * within(0.0));
    eprintln!(
        "  model error SD from the errors: {sigma_m:.1} deg (stored {stored:.1}); with it {:.0} % within 1 SD, {:.0} % within 2 SD",
        100.0 * within(stored),
        100.0 * e.iter().zip(&s).filter(|(x, si)| x.abs() <= 2.0 * si.hypot(stored)).count() as f64 / e.len() as f64
    );
    eprintln!(
        "  unseen part (below the cut): mean surface error {unseen:.2} mm; RMS vertex error {:.2} mm against an RMS predicted vertex SD of {:.2} mm (median over subjects)",
        median(&vertex_rms),
        median(&vertex_sd)
    );
    // The prediction beats guessing the population mean (the subjects' own spread).
    assert!(rms < spread, "LOO RMS {rms:.1} deg is not below the population spread {spread:.1} deg");
    // The stored constant is this calibration (to within 10 %), and with it the SD covers the
    // held-out errors as a 1-SD interval should (68 % expected; 26 cases: 50-85 %).
    assert!((stored / sigma_m - 1.0).abs() < 0.1, "recalibrate: {sigma_m:.2} deg, stored {stored:.2}");
    let covered = within(stored);
    assert!((0.5..=0.85).contains(&covered), "{:.0} % of the errors within 1 SD", 100.0 * covered);
    // Without the model term the posterior SD alone covers far fewer: that is what was wrong.
    assert!(within(0.0) < covered);
    // Issue 42: the neck-shaft angle's and the offset's terms are this calibration (to 10 %).
    for (k, (name, stored)) in [("neck-shaft angle deg", gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG), ("offset mm", gias::LLP26_FEMUR_OFFSET_MODEL_SD_MM)].into_iter().enumerate() {
        let (e, s): (Vec<f64>, Vec<f64>) = neck[k].iter().copied().unzip();
        let sigma = coxa_shape::predict::model_error_sd(&e, &s).context("errors")?;
        let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
        let within = |m: f64| neck[k].iter().filter(|(x, si)| x.abs() <= m * si.hypot(stored)).count() as f64 / e.len() as f64;
        eprintln!(
            "  {name}: {} predicted, error RMS {rms:.2}, max {:.2}; model error SD {sigma:.2} (stored {stored:.2}): {:.0} % within 1 SD, {:.0} % within 2 SD",
            e.len(),
            e.iter().fold(0.0f64, |a, x| a.max(x.abs())),
            100.0 * within(1.0),
            100.0 * within(2.0)
        );
        assert!((stored / sigma - 1.0).abs() < 0.1, "{name}: recalibrate to {sigma:.2}, stored {stored:.2}");
    }
    Ok(())
}

/// One held-out vertex: its distance below the cut (mm along the shaft; negative: imaged), its
/// error (predicted minus true, mm) and its posterior SD (mm).
pub(super) struct VertexCase {
    below_mm: f64,
    error_mm: f64,
    sd_mm: f64,
}

/// Leave-one-out over LLP26's training femurs as in
/// [`llp26_leave_one_out_calibrates_the_anteversion_sd`] (the same turns, cuts `cut_mm` below the
/// lesser trochanter, the same fit; at 30 mm the shared [`loo_30mm`]), every vertex's error
/// against its posterior SD; and per subject whether the fit converged and its rounds. Two
/// threads.
/// One held-out subject's vertices, and whether its fit converged in how many rounds.
pub(super) type HeldOutVertices = (Vec<VertexCase>, (bool, usize));

/// Every held-out subject's vertices, and per subject whether its fit converged in how many rounds.
pub(super) type LooVertices = (Vec<VertexCase>, Vec<(bool, usize)>);

pub(super) fn loo_vertices(dir: &std::path::Path, cut_mm: f64) -> Result<LooVertices> {
    let of = |c: &HeldOut, p: &coxa_shape::predict::Prediction| -> HeldOutVertices {
        let cases = (0..c.full.vertices().len())
            .map(|v| VertexCase { below_mm: c.cut_level - c.full.vertices()[v].coords.dot(&c.up), error_mm: (p.fit.shape[v] - c.full.vertices()[v]).norm(), sd_mm: p.fit.sd_mm[v] })
            .collect();
        (cases, (p.fit.converged, p.fit.iterations))
    };
    let rows: Vec<HeldOutVertices> = if cut_mm == gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM {
        loo_30mm(dir)?.rows.iter().map(|(c, p)| of(c, p)).collect()
    } else {
        let (model, subjects) = gias::llp26_with_subjects(dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
        let one = |s: usize| -> Result<HeldOutVertices> {
            let c = held_out(&model, &subjects, s, cut_mm)?;
            let p = coxa_shape::predict::predict_from_partial(&c.model, &c.partial, &c.head_model, &c.head_target, &|_| None, 0, 7)?;
            Ok(of(&c, &p))
        };
        on_two_threads(subjects.len(), &one)?
    };
    let (mut cases, mut fits) = (Vec::new(), Vec::new());
    for (c, f) in rows {
        cases.extend(c);
        fits.push(f);
    }
    Ok((cases, fits))
}

/// Why the surface fits stop at their 40-round budget (issue 14): on 8 held-out LLP26 femurs cut
/// 30 mm below the lesser trochanter, the pipeline's fit's per-round weight change and pose move,
/// and a fit from its final pose with a budget of 200 rounds: the rounds it then takes and the
/// unseen part's RMS vertex error before and after. Measured when written: the weight change
/// falls steadily (about 5e-2 SD at round 5, 1e-2 at round 30; the test asks 1e-3) while the pose
/// still moves the far femur by 0.05-0.4 mm a round: the alternating pose and shape steps creep
/// along a direction a stub hardly constrains (a turn about the head against shape modes), not
/// an oscillation. Given 200 rounds, 2 of 8 converge; the unseen error falls on 7 of 8 (mean
/// 15.5 -> 13.6 mm) and rises on one (16.5 -> 21.1 mm). The opt-in joint pose and shape steps
/// are compared from the same pose (below).
#[test]
fn llp26_fits_converge_slowly_within_their_budget() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let loo = loo_30mm(&dir)?;
    // (subject, the pipeline fit's trace, the longer fit converged, its rounds, unseen RMS vertex
    // error of both; the joint-step fit's unseen error, whether it converged, the fit RMS of the
    // joint and of the pipeline's fit)
    type Row = (usize, Vec<(f64, f64)>, bool, usize, f64, f64, (f64, bool, f64, f64));
    let one = |s: usize| -> Result<Row> {
        let (c, p) = &loo.rows[s];
        let long = c.model.fit_surface(c.partial.vertices(), c.area_mm2, &p.fit.pose, &coxa_shape::SurfaceFitOptions { max_iterations: 200, rigid_rounds: 0, ..Default::default() })?;
        let joint = c.model.fit_surface(c.partial.vertices(), c.area_mm2, &p.fit.pose, &coxa_shape::SurfaceFitOptions { rigid_rounds: 0, joint_steps: true, ..Default::default() })?;
        let unseen: Vec<usize> = (0..c.full.vertices().len()).filter(|&v| c.full.vertices()[v].coords.dot(&c.up) < c.cut_level).collect();
        let rms = |shape: &[Point3<f64>]| (unseen.iter().map(|&v| (shape[v] - c.full.vertices()[v]).norm_squared()).sum::<f64>() / unseen.len().max(1) as f64).sqrt();
        eprintln!(
            "  subject {s:2}: joint steps from the same pose: converged {} in {} rounds, unseen RMS vertex error {:.2} mm, fit RMS {:.2} mm (alternating {:.2}), last steps {:?}",
            joint.converged,
            joint.iterations,
            rms(&joint.shape),
            joint.rms_mm,
            p.fit.rms_mm,
            joint.trace.iter().rev().take(2).collect::<Vec<_>>()
        );
        Ok((s, p.fit.trace.clone(), long.converged, long.iterations, rms(&p.fit.shape), rms(&long.shape), (rms(&joint.shape), joint.converged, joint.rms_mm, p.fit.rms_mm)))
    };
    let picks: Vec<usize> = (0..loo.rows.len()).step_by(3).take(8).collect();
    let picks = &picks;
    let halves: Vec<Result<Vec<_>>> =
        std::thread::scope(|sc| [0, 1].map(|h| sc.spawn(move || picks.iter().skip(h).step_by(2).map(|&s| one(s)).collect::<Result<Vec<_>>>())).map(|t| t.join().expect("a thread panicked")).into());
    let mut rows = Vec::new();
    for h in halves {
        rows.extend(h?);
    }
    rows.sort_by_key(|r| r.0);
    eprintln!("subject | shape round: weight change (SD) / pose move (mm) at rounds 1, 5, 10, 20, 30 | continued 200: converged, rounds | unseen RMS vertex error 40 -> continued (mm)");
    for (s, trace, conv, rounds, e40, elong, _) in &rows {
        let at = |i: usize| trace.get(i - 1).map_or("-".to_string(), |(c, m)| format!("{c:.1e}/{m:.2}"));
        eprintln!("  {s:2} | {} {} {} {} {} | {conv} {rounds} | {e40:.2} -> {elong:.2}", at(1), at(5), at(10), at(20), at(30));
    }
    let n = rows.len() as f64;
    let (m40, mlong) = (rows.iter().map(|r| r.4).sum::<f64>() / n, rows.iter().map(|r| r.5).sum::<f64>() / n);
    eprintln!("  mean unseen RMS vertex error: {m40:.2} mm at 40 rounds, {mlong:.2} mm with up to 200 more");
    // Converging, slowly: each fit's weight change falls from round 5 to round 30 and none met the test in 40.
    for (s, trace, ..) in &rows {
        assert!(trace.len() == 30 && trace[29].0 < trace[4].0 && trace[29].0 > 1e-3, "subject {s}: {trace:?}");
    }
    // The budget costs accuracy: with more rounds the unseen part is predicted better on average.
    assert!(mlong < m40, "{mlong:.2} vs {m40:.2} mm");
    // Joint pose and shape steps (opt-in, `SurfaceFitOptions::joint_steps`) from the same pose, in
    // the same 40 rounds: measured when written, 3 of 8 converge (in 21-29 rounds), the unseen
    // error falls to a mean of 12.3 mm (better on 7 of 8) and the imaged part fits closer on all.
    let mjoint = rows.iter().map(|r| r.6.0).sum::<f64>() / n;
    let joint_converged = rows.iter().filter(|r| r.6.1).count();
    eprintln!("  joint steps, 40 rounds: {joint_converged} of {} converged, mean unseen RMS vertex error {mjoint:.2} mm", rows.len());
    assert!(mjoint < mlong && joint_converged >= 2, "joint steps: {mjoint:.2} mm, {joint_converged} converged");
    assert!(rows.iter().all(|r| r.6.2 <= r.6.3 + 0.01), "the joint fit matches the imaged part at least as closely");
    Ok(())
}

/// Per band of [`gias::LLP26_FEMUR_VERTEX_BANDS_MM`]: the vertices' σ_m ([`coxa_shape::predict::model_error_sd`]),
/// RMS error, RMS posterior SD, and the fractions within 1 and 2 SD without and with `stored`.
pub(super) fn vertex_bands(cases: &[VertexCase], stored: &[f64]) -> Vec<[f64; 8]> {
    let nb = gias::LLP26_FEMUR_VERTEX_BANDS_MM.len();
    (0..nb)
        .map(|b| {
            let in_band: Vec<&VertexCase> = cases.iter().filter(|c| gias::vertex_band(c.below_mm) == b).collect();
            let e: Vec<f64> = in_band.iter().map(|c| c.error_mm).collect();
            let s: Vec<f64> = in_band.iter().map(|c| c.sd_mm).collect();
            let n = e.len().max(1) as f64;
            let within = |k: f64, m: f64| e.iter().zip(&s).filter(|(x, si)| **x <= k * si.hypot(m)).count() as f64 / n;
            let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
            [coxa_shape::predict::model_error_sd(&e, &s).unwrap_or(f64::NAN), rms(&e), rms(&s), within(1.0, 0.0), within(2.0, 0.0), within(1.0, stored[b]), within(2.0, stored[b]), e.len() as f64]
        })
        .collect()
}

/// The per-vertex SD of a predicted femur, calibrated like the anteversion SD: leave-one-out over
/// LLP26's 26 training femurs cut 30 mm below the lesser trochanter; per band of distance below
/// the cut, the model-error SD σ_m that makes the pooled vertex errors' |e|²/SD² average 1
/// ([`gias::LLP26_FEMUR_VERTEX_MODEL_SD_MM`], which must be this recomputation within 10 %). For an
/// isotropic Gaussian error of that SD, |e| lies within 1 SD with probability 61 % and within
/// 2 SD with 99 % (χ² with 3 degrees of freedom): coverage is reported against those. The same at
/// a 20 mm cut (the real CT's stub): the stored values must still hold there (the pooled
/// |e|²/SD² of the unseen part within 0.7-1.5), or σ_m must depend on the visible length.
#[test]
fn llp26_leave_one_out_calibrates_the_vertex_sd() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let stored = gias::LLP26_FEMUR_VERTEX_MODEL_SD_MM;
    let bands = gias::LLP26_FEMUR_VERTEX_BANDS_MM;
    let mut ratios = Vec::new();
    for cut_mm in [30.0, 20.0] {
        let t0 = std::time::Instant::now();
        let (cases, fits) = loo_vertices(&dir, cut_mm)?;
        let table = vertex_bands(&cases, &stored);
        let converged = fits.iter().filter(|f| f.0).count();
        eprintln!(
            "LLP26 leave-one-out, cut {cut_mm} mm below the LT ({:.0} s; {converged} of {} fits converged, rounds {:?}):",
            t0.elapsed().as_secs_f64(),
            fits.len(),
            fits.iter().map(|f| f.1).collect::<Vec<_>>()
        );
        eprintln!("  band below the cut (mm) | vertices | sigma_m | RMS error | RMS posterior SD | within 1/2 SD posterior | within 1/2 SD with stored");
        for (b, row) in table.iter().enumerate() {
            let lo = if b == 0 { f64::NEG_INFINITY } else { bands[b - 1] };
            eprintln!(
                "  {lo:>6.0}..{:<6.0} | {:6.0} | {:5.2} (stored {:5.2}) | {:5.2} | {:5.2} | {:3.0} % / {:3.0} % | {:3.0} % / {:3.0} %",
                bands[b],
                row[7],
                row[0],
                stored[b],
                row[1],
                row[2],
                100.0 * row[3],
                100.0 * row[4],
                100.0 * row[5],
                100.0 * row[6]
            );
        }
        // The unseen part as a whole: mean |e|²/SD² with the stored term (1 when calibrated).
        let unseen: Vec<&VertexCase> = cases.iter().filter(|c| c.below_mm >= 0.0).collect();
        let ratio = unseen.iter().map(|c| c.error_mm.powi(2) / (c.sd_mm.powi(2) + gias::llp26_femur_vertex_model_sd_mm(c.below_mm).powi(2))).sum::<f64>() / unseen.len() as f64;
        let frac = |k: f64, with: bool| {
            unseen.iter().filter(|c| c.error_mm <= k * if with { c.sd_mm.hypot(gias::llp26_femur_vertex_model_sd_mm(c.below_mm)) } else { c.sd_mm }).count() as f64 / unseen.len() as f64
        };
        eprintln!(
            "  unseen part: mean |e|^2/SD^2 {ratio:.2} with the stored term; within 1/2 SD: posterior alone {:.0} % / {:.0} %, with the stored term {:.0} % / {:.0} % (Gaussian: 61 % / 99 %)",
            100.0 * frac(1.0, false),
            100.0 * frac(2.0, false),
            100.0 * frac(1.0, true),
            100.0 * frac(2.0, true)
        );
        ratios.push((ratio, table, [frac(1.0, false), frac(2.0, false), frac(1.0, true), frac(2.0, true)]));
    }
    // Both cuts are printed before anything is asserted.
    let (_, table, cover) = &ratios[0];
    for (b, row) in table.iter().enumerate() {
        assert!((stored[b] - row[0]).abs() <= 0.1 * row[0].max(0.1), "band {b}: recalibrate: {:.2} mm, stored {:.2}", row[0], stored[b]);
    }
    // Calibrated, the unseen part's coverage is near the Gaussian's; the posterior alone was far below it.
    assert!(cover[2] > 0.45 && cover[3] > 0.85, "coverage {:.2} / {:.2}", cover[2], cover[3]);
    assert!(cover[0] < cover[2] && cover[1] < cover[3]);
    let ratios: Vec<f64> = ratios.iter().map(|r| r.0).collect();
    // At 30 mm the stored terms are the calibration; at 20 mm they must still fit.
    assert!((0.85..=1.15).contains(&ratios[0]) && (0.7..=1.5).contains(&ratios[1]), "mean |e|^2/SD^2 at 30 / 20 mm: {ratios:?}");
    Ok(())
}

/// coxa's landmarks on stubs of both vsd femurs cut 10-60 mm below the lesser trochanter: the
/// head centre and radius as on the whole femur (issue 14: at 30 mm the left stub's head was
/// fitted to the trochanteric surface, radius 29 mm, 38 mm away).
#[test]
fn short_stub_heads_are_found() -> Result<()> {
    let Some(vsd) = crate::common::shared_data("vsd_bones") else {
        return Ok(());
    };
    let mut failures = Vec::new();
    for (side, file) in [(Side::Left, "z013_Femur_L.stl"), (Side::Right, "z013_Femur_R.stl")] {
        let full = coxa_io::mesh::read_stl(&vsd.join(file))?;
        let truth = femur_landmarks(&full, side)?;
        let u = truth.shaft_axis.direction_lps;
        for below in [10.0, 20.0, 30.0, 40.0, 60.0] {
            let (stub, _) = cut_above(&full, &u, truth.lesser_trochanter.lps_mm.coords.dot(&u) - below)?;
            let l = match femur_landmarks(&stub, side) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{side:?} cut {below:2.0} mm below the LT ({:.0} mm stub): {e}", extent(&stub, &u));
                    failures.push(format!("{side:?} {below} mm: {e}"));
                    continue;
                }
            };
            let d = (l.head_centre.lps_mm - truth.head_centre.lps_mm).norm();
            eprintln!(
                "{side:?} cut {below:2.0} mm below the LT ({:.0} mm stub): head {d:.2} mm from the whole femur's, radius {:.1} vs {:.1} mm, RMS {:.2} mm",
                extent(&stub, &u),
                l.head_radius_mm,
                truth.head_radius_mm,
                l.head_fit_rms_mm
            );
            if !(d < 2.0 && (l.head_radius_mm - truth.head_radius_mm).abs() < 1.0) {
                failures.push(format!("{side:?} {below} mm: head {d:.1} mm off"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    Ok(())
}

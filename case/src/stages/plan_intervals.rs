//! The plan's intervals (issue 59, item 3): the planner's inputs' uncertainty from the anatomy
//! stage's fits, each with its origin ([`input_uncertainty`]), carried through the plan by
//! `coxa_planner::intervals`, and written as `plan.json`'s `intervals` ([`intervals_record`]).
//!
//! **Where each SD comes from.**
//! - The femoral heads' and the socket's centres and radii: their sphere fits' standard errors
//!   from the residuals (`coxa_anatomy::landmarks::uncertainty`), the fitted patch counted as
//!   independent points one correlation length apart: the CT's largest voxel spacing (the
//!   surface is a blurred image's isosurface, its errors shared over about a voxel), or for
//!   surfaces given as meshes their mean edge length.
//! - The lesser trochanters (no fit: the most posteromedial surface point): a point read to one
//!   correlation length (SD `ℓ/√12`, a uniform error over a voxel) on a surface as noisy as the
//!   head's fit residual (RMS), combined: `√(ℓ²/12 + rms²)` per axis.
//! - A fit the surface no longer gives back (fewer than 5 vertices on its shell): its RMS
//!   residual per axis, said so.
//! - **Surfaces from a CT** (coxa's own segmentation): the fits' residual errors are only part
//!   of it; the CT path's own error (the bone threshold on a blurred edge, the joint-space
//!   split) is added in quadrature, [`CtPathError`], calibrated on the tuning renders of
//!   `coxa_anatomy::ct_render` (the held-apart test renders only measured:
//!   `models/anatomy/tests/ct_render_intervals.rs`). Surfaces given as meshes carry the fits'
//!   errors alone (the surfaces are the user's own).

use coxa_anatomy::landmarks::uncertainty::{FitUncertainty, head_fit_uncertainty, mean_edge_mm, socket_fit_uncertainty};
use coxa_core::Mesh;
use coxa_core::plan_intervals::{InputUncertaintyRecord, IntervalRecord, MarginIntervalRecord, PlanIntervalsRecord, SizeProbabilityRecord};
use coxa_planner::intervals::PlanIntervals;
use coxa_planner::{InputUncertainty, Interval, PlanAnatomy};

/// The CT path's own error beyond the sphere fits' residuals, SD, mm (per LPS axis for centres),
/// added in quadrature to the fits' standard errors for surfaces from a CT (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtPathError {
    /// Femoral head centre, per axis.
    pub head_centre_mm: f64,
    /// Femoral head radius.
    pub head_radius_mm: f64,
    /// Socket centre, per axis.
    pub socket_centre_mm: f64,
    /// Socket radius.
    pub socket_radius_mm: f64,
}

/// [`CtPathError`] as calibrated (see [`CT_PATH_ERROR_SOURCE`]).
pub const CT_PATH_ERROR: CtPathError = CtPathError { head_centre_mm: 0.8, head_radius_mm: 1.3, socket_centre_mm: 0.7, socket_radius_mm: 0.4 };

/// Where [`CT_PATH_ERROR`] comes from: on the tuning renders (`ct_render::sets::tuning_set`, the
/// first cases of the set, 2026-11-28: 8 hips of 5 CTs, two hips whose head failed grossly
/// (radius +10 and +13 mm, centre 17-42 mm off) left out), the method of moments per kind
/// (`SD² = mean(error²) - mean(fit SE²)`, the three axes pooled), rounded up to 0.1 mm: 0.79,
/// 1.30, 0.67, 0.43 mm. A gross failure is no noise: it is flagged instead
/// ([`plausibility_warnings`]).
pub const CT_PATH_ERROR_SOURCE: &str =
    "the CT path's error on the tuning renders of coxa's test-CT generator, method of moments over 7-8 hips whose head did not fail grossly (models/anatomy/tests/ct_render_intervals.rs)";

/// Adult femoral head radii, mm (head diameters about 38-56 mm: Noble et al., Clin Orthop 1988;
/// Rubin et al., JBJS Br 1992), as `coxa_anatomy`'s landmarks use them.
pub const ADULT_HEAD_RADIUS_MM: (f64, f64) = (19.0, 28.0);

/// What the intervals cannot hold, said first on page 1: a femoral head outside the adult range
/// is the mark of a segmentation that merged the head with the socket wall (issue 59: radii of
/// 27-31 mm for true 21 mm heads), an error no fit's residuals show.
pub fn plausibility_warnings(anatomy: &PlanAnatomy) -> Vec<String> {
    let (lo, hi) = ADULT_HEAD_RADIUS_MM;
    let r = anatomy.operated.femur.head_radius_mm;
    if (lo..=hi).contains(&r) {
        return Vec::new();
    }
    vec![format!(
        "the femoral head's sphere has a radius of {r:.1} mm, outside adult heads ({lo}-{hi} mm): the bones may be segmented wrongly (head and socket merged), and then no interval here holds: check the head on the images"
    )]
}

/// The correlation length of the bone surfaces, mm: the CT's largest voxel spacing when the
/// surfaces come from a CT (`ct_spacing_mm`), else the operated femur's mean edge length.
pub fn correlation_length_mm(ct_spacing_mm: Option<[f64; 3]>, femur: &Mesh) -> f64 {
    ct_spacing_mm.map_or_else(|| mean_edge_mm(femur), |s| s.iter().copied().fold(0.0, f64::max))
}

/// The planner's inputs' uncertainty for `anatomy` (module docs); `other_femur`: the other hip's
/// femur surface, when imaged; `ell_mm`: [`correlation_length_mm`].
pub fn input_uncertainty(anatomy: &PlanAnatomy, other_femur: Option<&Mesh>, ell_mm: f64, ct: Option<&CtPathError>) -> InputUncertainty {
    let mut origins = Vec::new();
    let mut fit = |what: &str, u: Option<FitUncertainty>, rms: f64| -> ([f64; 3], f64) {
        match u {
            Some(u) => {
                origins.push(format!("{what}: {}", u.origin));
                (u.centre_sd_mm, u.radius_sd_mm)
            }
            None => {
                origins.push(format!("{what}: its fitted vertices are not found again on the surface; its RMS residual ({rms:.2} mm) is taken as the SD"));
                ([rms; 3], rms)
            }
        }
    };
    let f = &anatomy.operated.femur;
    let a = &anatomy.operated.acetabulum;
    let (head_c, head_r) = fit("operated femoral head", head_fit_uncertainty(&anatomy.femur, f, ell_mm), f.head_fit_rms_mm);
    let (sock_c, sock_r) = fit("operated socket", socket_fit_uncertainty(&anatomy.pelvis, a, ell_mm), a.fit_rms_mm);
    let other = match (&anatomy.contralateral, other_femur) {
        (Some(o), Some(m)) => fit("other femoral head", head_fit_uncertainty(m, &o.femur, ell_mm), o.femur.head_fit_rms_mm).0,
        (Some(o), None) => fit("other femoral head", None, o.femur.head_fit_rms_mm).0,
        _ => [0.0; 3],
    };
    let landmark_sd_mm = (ell_mm * ell_mm / 12.0 + f.head_fit_rms_mm.powi(2)).sqrt();
    let add = |v: f64, sys: f64| v.hypot(sys);
    let (head_c, head_r, sock_c, sock_r, other) = match ct {
        Some(e) => {
            origins.push(format!(
                "surfaces from the CT: the CT path's own error added in quadrature (head centre {} mm per axis, radius {} mm; socket centre {} mm, radius {} mm: {CT_PATH_ERROR_SOURCE})",
                e.head_centre_mm, e.head_radius_mm, e.socket_centre_mm, e.socket_radius_mm
            ));
            (
                head_c.map(|v| add(v, e.head_centre_mm)),
                add(head_r, e.head_radius_mm),
                sock_c.map(|v| add(v, e.socket_centre_mm)),
                add(sock_r, e.socket_radius_mm),
                if anatomy.contralateral.is_some() { other.map(|v| add(v, e.head_centre_mm)) } else { other },
            )
        }
        None => (head_c, head_r, sock_c, sock_r, other),
    };
    origins.push(format!(
        "lesser trochanters: an extreme surface point, no fit: read to one correlation length ({ell_mm:.2} mm, SD ℓ/√12) on a surface as noisy as the head fit's RMS ({:.2} mm): {landmark_sd_mm:.2} mm per axis",
        f.head_fit_rms_mm
    ));
    InputUncertainty { head_centre_sd_mm: head_c, head_radius_sd_mm: head_r, socket_centre_sd_mm: sock_c, socket_radius_sd_mm: sock_r, other_head_centre_sd_mm: other, landmark_sd_mm, origins }
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn interval(i: &Interval) -> IntervalRecord {
    IntervalRecord { value: r2(i.value), low: r2(i.low), high: r2(i.high) }
}

fn sizes(s: &[coxa_planner::SizeProbability]) -> Vec<SizeProbabilityRecord> {
    s.iter().map(|p| SizeProbabilityRecord { size: p.size.clone(), probability: r3(p.probability) }).collect()
}

/// `plan.json`'s `intervals`, rounded as written (0.01 mm and deg, probabilities to 0.001).
pub fn intervals_record(iv: &PlanIntervals) -> PlanIntervalsRecord {
    let u = &iv.inputs;
    PlanIntervalsRecord {
        inputs: InputUncertaintyRecord {
            head_centre_sd_mm: u.head_centre_sd_mm.map(r3),
            head_radius_sd_mm: r3(u.head_radius_sd_mm),
            socket_centre_sd_mm: u.socket_centre_sd_mm.map(r3),
            socket_radius_sd_mm: r3(u.socket_radius_sd_mm),
            other_head_centre_sd_mm: u.other_head_centre_sd_mm.map(r3),
            landmark_sd_mm: r3(u.landmark_sd_mm),
            canal_width_sd_mm: iv.canal_width_sd_mm.map(r3),
            origins: u.origins.clone(),
        },
        shell: sizes(&iv.shell),
        shell_beyond_catalog: r3(iv.shell_beyond_catalog),
        stem: iv.stem.as_deref().map(sizes),
        cup_inclination_deg: interval(&iv.cup_inclination_deg),
        cup_anteversion_deg: interval(&iv.cup_anteversion_deg),
        stem_anteversion_deg: interval(&iv.stem_anteversion_deg),
        combined_widmer_deg: interval(&iv.combined_widmer_deg),
        combined_plain_sum_deg: interval(&iv.combined_plain_sum_deg),
        leg_length_change_mm: interval(&iv.leg_length_change_mm),
        offset_change_mm: interval(&iv.offset_change_mm),
        margins: iv.margins.iter().map(|m| MarginIntervalRecord { motion: m.motion.clone(), margin_deg: interval(&m.margin_deg) }).collect(),
        objective_sd: (iv.objective_sd * 1e4).round() / 1e4,
        near_best_candidates: iv.near_best_candidates,
        draws: iv.draws[0],
        failed_draws: iv.draws[1],
        seed: iv.seed,
        method: iv.method.clone(),
        warnings: iv.warnings.clone(),
    }
}

/// The intervals as `coxa plan` prints them: what is too uncertain for a decision first, then
/// the sizes' probabilities and every 90 % interval, one line each.
pub fn summary_lines(iv: &PlanIntervalsRecord) -> Vec<String> {
    use coxa_core::plan_intervals::size_words;
    let mut out: Vec<String> = iv.warnings.iter().map(|w| format!("UNCERTAIN  {w}")).collect();
    out.push(format!("90 % intervals ({} landmark draws, seed {}; plan.json `intervals` says how):", iv.draws, iv.seed));
    out.push(format!("  shell {}", size_words(&iv.shell, "mm")));
    if let Some(s) = &iv.stem {
        out.push(format!("  stem size {}", size_words(s, "")));
    }
    out.push(format!("  cup inclination (radiographic) {}", iv.cup_inclination_deg.words("deg")));
    out.push(format!("  cup anteversion (radiographic) {}", iv.cup_anteversion_deg.words("deg")));
    out.push(format!("  stem anteversion {}", iv.stem_anteversion_deg.words("deg")));
    out.push(format!("  combined anteversion, Widmer {}; plain sum {}", iv.combined_widmer_deg.words("deg"), iv.combined_plain_sum_deg.words("deg")));
    out.push(format!("  leg length change {}", iv.leg_length_change_mm.signed_words("mm")));
    out.push(format!("  offset change {}", iv.offset_change_mm.signed_words("mm")));
    out.extend(iv.margins.iter().map(|m| format!("  margin {} {}", m.motion, m.margin_deg.signed_words("deg"))));
    out
}

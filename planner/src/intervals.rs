//! Intervals on the numbers a surgeon acts on (issue 59, item 3): the shell and the stem as sizes
//! with probabilities, the angles, leg length, offset and every daily-life margin with 90 %
//! intervals, and what is too uncertain for a decision.
//!
//! **The inputs' uncertainty** ([`InputUncertainty`], filled by the caller from what the anatomy
//! stage computed, each with its origin written down): the standard deviations of the femoral
//! head's centre and radius and of the bony socket's centre and radius (from their sphere fits),
//! and of the other landmarks leg length and offset are measured from (the lesser trochanters, the
//! other hip's head). The canal's is read here from the canal itself ([`canal_width_sd_mm`]).
//!
//! **How they reach the plan.**
//! - **Shell** ([`shell_probabilities`]): exactly, by the sizing rule. The socket the shell is
//!   sized to is `S = max(M, H + 2a)` (`M` the socket's diameter, `H` the head's, `a` the
//!   cartilage allowance: [`crate::cup`]), so with `M` and `H` independent and normal
//!   `P(S <= t) = Φ((t - m)/σ_M) Φ((t - h - 2a)/σ_H)`; the rule takes the smallest catalog size
//!   `>= round(S) + allowance`, so `P(shell <= size) = P(S < n + 0.5)` with `n` the largest whole
//!   millimetre `<= size - allowance`. No sampling: the probabilities are the rule's own.
//! - **Stem** ([`stem_probabilities`]): every canal width moved by one common `δ ~ N(0, σ_w)`
//!   (an endosteal edge found a little out or in along the whole canal), the series' rule applied
//!   ([`crate::stem_fill::size_family`]); the size only grows with `δ`, so the `δ` where it changes
//!   are found by bisection and the probabilities are normal masses between them.
//! - **Leg length, offset, margins, the objective**: a small seeded sample ([`DRAWS`] draws,
//!   seed [`SEED`]) of perturbed landmarks (every SD above, independent per LPS axis). Each draw
//!   rebuilds the planned femoral reconstruction (same stem, head offset, seat and version) on the
//!   perturbed landmarks, moves the femur against the pelvis by the socket's and the head's
//!   errors and scores the planned placement once at full resolution: [`DRAWS`] range-of-motion
//!   queries (in parallel), against the 5,000-20,000 of the search. A sample, not derivatives, because the margins are not smooth
//!   in the landmarks (a contact jumps from one part of the bone to another). The interval is the
//!   plan's own value ± 1.645 SD of the draws (normal, 90 %): [`DRAWS`] draws give its SD to about
//!   ±15 %, which an empirical 5-95 % range of so few would not.
//! - **Angles**: the plan's own flatness. The objective's uncertainty is 1.645 SD of its total
//!   over the draws; every candidate the search already scored ([`crate::Plan::candidates`])
//!   whose objective lies within it of the best is as good as the plan given what is known, and
//!   each angle's interval is the range of those candidates' angles (nothing scored again).
//!
//! **Not carried** (said in [`PlanIntervals::method`]): the pelvic frame's own uncertainty (the
//! anterior pelvic plane's landmarks), the shaft axis', the cortical ratio of the outer-width
//! canal rule, and the segmentation's systematic errors that a fit's residuals cannot see.

use coxa_core::rng::SplitMix64;
use coxa_core::{Angle, CombinedAnteversion, CupAngleDefinition, CupAngles, ImplantPlacement, RomQuery, RomScorer};
use coxa_implants::Catalog;
use coxa_implants::catalog::StemFamily;
use nalgebra::{Point3, Vector3};
use rayon::prelude::*;
use serde::Serialize;

use crate::cup::shell_sizes;
use crate::error::{PlanError, Result, check};
use crate::input::{PlanAnatomy, PlanOptions};
use crate::objective::objective;
use crate::optimise::Plan;
use crate::stem::{reconstruct, targets};
use crate::stem_fill::{CanalWidths, size_family};

pub use coxa_core::plan_intervals::Z90;
/// Perturbed draws scored per plan.
pub const DRAWS: usize = 24;
/// Seed of the draws (fixed: the same plan gives the same intervals).
pub const SEED: u64 = 59;

/// How uncertain the planner's inputs are: standard deviations, mm, per LPS axis for points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputUncertainty {
    /// The operated femoral head's centre (its sphere fit), per LPS axis, mm.
    pub head_centre_sd_mm: [f64; 3],
    /// The operated femoral head's radius (its sphere fit), mm.
    pub head_radius_sd_mm: f64,
    /// The operated socket's centre (the lunate sphere fit), per LPS axis, mm.
    pub socket_centre_sd_mm: [f64; 3],
    /// The operated socket's radius (the lunate sphere fit), mm.
    pub socket_radius_sd_mm: f64,
    /// The other hip's head centre, per LPS axis, mm (0 without one).
    pub other_head_centre_sd_mm: [f64; 3],
    /// Every other point landmark leg length and offset are measured from (both lesser
    /// trochanters), per axis, mm.
    pub landmark_sd_mm: f64,
    /// Where each comes from, one line each.
    pub origins: Vec<String>,
}

impl InputUncertainty {
    /// Inputs taken as exact: the intervals are then the objective's flatness alone.
    pub fn exact(origin: &str) -> Self {
        Self {
            head_centre_sd_mm: [0.0; 3],
            head_radius_sd_mm: 0.0,
            socket_centre_sd_mm: [0.0; 3],
            socket_radius_sd_mm: 0.0,
            other_head_centre_sd_mm: [0.0; 3],
            landmark_sd_mm: 0.0,
            origins: vec![origin.to_string()],
        }
    }

    /// Checks every SD (finite, 0 to 50 mm).
    pub fn validate(&self) -> Result<()> {
        let all = self.head_centre_sd_mm.iter().chain(&self.socket_centre_sd_mm).chain(&self.other_head_centre_sd_mm).chain([&self.head_radius_sd_mm, &self.socket_radius_sd_mm, &self.landmark_sd_mm]);
        for v in all {
            check("input uncertainty (SD, mm)", *v, 0.0, 50.0)?;
        }
        Ok(())
    }
}

/// A value and its 90 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The plan's value.
    pub value: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Interval {
    /// `value ± Z90 sd`.
    pub fn normal(value: f64, sd: f64) -> Self {
        Self { value, low: value - Z90 * sd, high: value + Z90 * sd }
    }
    /// `high - low`.
    pub fn width(&self) -> f64 {
        self.high - self.low
    }
}

/// One size and how likely the rule picks it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeProbability {
    /// Size label (a shell's outer diameter in mm; a stem's catalog label).
    pub size: String,
    /// Probability, 0-1.
    pub probability: f64,
}

/// A daily-life motion's margin and its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MotionInterval {
    /// Motion name.
    pub motion: String,
    /// Its margin (limit minus need), deg.
    pub margin_deg: Interval,
}

/// The plan's intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanIntervals {
    /// The inputs' uncertainty used.
    pub inputs: InputUncertainty,
    /// The canal widths' SD, mm (`None`: fewer than three evenly spaced levels).
    pub canal_width_sd_mm: Option<f64>,
    /// Shell sizes with a probability of at least 0.001, ascending.
    pub shell: Vec<SizeProbability>,
    /// Probability that the socket needs a shell beyond the catalog's largest.
    pub shell_beyond_catalog: f64,
    /// The planned stem series' sizes with a probability of at least 0.001 (`None`: the size is
    /// not determined, the canal not imaged at the rule's level, or no canal SD).
    pub stem: Option<Vec<SizeProbability>>,
    /// Cup inclination, radiographic, deg.
    pub cup_inclination_deg: Interval,
    /// Cup anteversion, radiographic, deg.
    pub cup_anteversion_deg: Interval,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: Interval,
    /// Combined anteversion, Widmer's (radiographic cup + 0.7 x stem), deg: its range over the
    /// same candidates as the angles'.
    pub combined_widmer_deg: Interval,
    /// Combined anteversion, the plain sum (operative cup + stem), deg: likewise.
    pub combined_plain_sum_deg: Interval,
    /// Leg-length change, mm.
    pub leg_length_change_mm: Interval,
    /// Offset change, mm.
    pub offset_change_mm: Interval,
    /// Every motion with a need.
    pub margins: Vec<MotionInterval>,
    /// SD of the objective's total over the draws.
    pub objective_sd: f64,
    /// Scored candidates within 1.645 objective SDs of the best.
    pub near_best_candidates: usize,
    /// Draws scored, and of them refused by the scorer.
    pub draws: [usize; 2],
    /// The draws' seed.
    pub seed: u64,
    /// How the intervals were made, and what they leave out.
    pub method: String,
    /// Where an interval is too wide for a decision (page 1 prints these first).
    pub warnings: Vec<String>,
}

/// `P(X <= t)` for `X ~ N(mean, sd)`; a step at `mean` for `sd = 0`.
pub fn normal_cdf(t: f64, mean: f64, sd: f64) -> f64 {
    if sd <= 0.0 {
        return if t >= mean { 1.0 } else { 0.0 };
    }
    0.5 * erfc(-(t - mean) / (sd * std::f64::consts::SQRT_2))
}

/// The complementary error function (Chebyshev fit, fractional error below 1.2e-7: Press et al.,
/// Numerical Recipes, 2nd ed., 6.2, `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68 + t * (0.374_091_96 + t * (0.096_784_18 + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let a = t * poly.exp();
    if x >= 0.0 { a } else { 2.0 - a }
}

/// Probabilities of every size of `sizes` (ascending outer diameters, mm) under the shell rule
/// (module docs): the socket's diameter `socket_mm ~ N(.., sd)`, the head's `head_mm` (`None`: no
/// femur), the cartilage allowance and the reaming allowance, mm. Returns one probability per
/// size and the probability beyond the largest; they sum to 1.
pub fn shell_probabilities(sizes: &[f64], socket_mm: (f64, f64), head_mm: Option<(f64, f64)>, cartilage_mm: f64, ream_mm: f64) -> (Vec<f64>, f64) {
    let f = |t: f64| normal_cdf(t, socket_mm.0, socket_mm.1) * head_mm.map_or(1.0, |(h, sd)| normal_cdf(t, h + 2.0 * cartilage_mm, sd));
    let at_most: Vec<f64> = sizes.iter().map(|s| f((s - ream_mm + 1e-9).floor() + 0.5)).collect();
    let p = at_most.iter().enumerate().map(|(k, c)| c - if k == 0 { 0.0 } else { at_most[k - 1] }).collect();
    (p, 1.0 - at_most.last().copied().unwrap_or(0.0))
}

/// The canal widths' SD, mm, from their level-to-level roughness: with independent errors of SD
/// `σ` at each level, a second difference of evenly spaced levels has SD `σ √6`; the median
/// absolute second difference (x 1.4826, the normal's MAD factor) keeps the canal's real
/// curvature (its metaphyseal flare) from counting. `None` below three evenly spaced levels.
pub fn canal_width_sd_mm(canal: &CanalWidths) -> Option<f64> {
    let l = &canal.levels;
    let mut d: Vec<f64> = l.windows(3).filter(|w| ((w[0][0] - w[1][0]) - (w[1][0] - w[2][0])).abs() < 1e-6).map(|w| (w[0][1] - 2.0 * w[1][1] + w[2][1]).abs()).collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let n = d.len();
    let median = if n % 2 == 1 { d[n / 2] } else { 0.5 * (d[n / 2 - 1] + d[n / 2]) };
    Some(1.4826 * median / 6f64.sqrt())
}

/// Probabilities of the sizes of `fam` when every canal width moves by one `δ ~ N(0, sd_mm)`
/// (module docs), in the series' order; they sum to 1. `None` when the canal is not imaged at the
/// rule's level (the size is not determined).
pub fn stem_probabilities(canal: &CanalWidths, fam: &StemFamily, sd_mm: f64) -> Result<Option<Vec<f64>>> {
    let size_at = |delta: f64| -> Result<Option<usize>> {
        let shifted = CanalWidths { levels: canal.levels.iter().map(|x| [x[0], (x[1] + delta).max(0.1)]).collect(), ..canal.clone() };
        let s = size_family(&shifted, fam)?;
        Ok(s.rule_level_imaged.then_some(s.size_index))
    };
    let Some(k0) = size_at(0.0)? else { return Ok(None) };
    let mut p = vec![0.0; fam.sizes.len()];
    if sd_mm <= 0.0 {
        p[k0] = 1.0;
        return Ok(Some(p));
    }
    // The size at z = -6 ... 6 SD in 0.05 SD steps; each change located by bisection.
    let zs: Vec<f64> = (0..=240).map(|i| -6.0 + 0.05 * f64::from(i)).collect();
    let mut sizes = Vec::with_capacity(zs.len());
    for z in &zs {
        sizes.push(size_at(z * sd_mm)?.unwrap_or(k0));
    }
    let mut last_z = f64::NEG_INFINITY;
    for i in 1..zs.len() {
        if sizes[i] == sizes[i - 1] {
            continue;
        }
        let (mut lo, mut hi) = (zs[i - 1], zs[i]);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if size_at(mid * sd_mm)?.unwrap_or(k0) == sizes[i - 1] {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let z = 0.5 * (lo + hi);
        p[sizes[i - 1]] += normal_cdf(z, 0.0, 1.0) - normal_cdf(last_z, 0.0, 1.0);
        last_z = z;
    }
    if let Some(&k) = sizes.last() {
        p[k] += 1.0 - normal_cdf(last_z, 0.0, 1.0);
    }
    Ok(Some(p))
}

/// A normal error with standard deviation `sd` per axis (x, y, z drawn in that order).
fn normal_vector(rng: &mut SplitMix64, sd: [f64; 3]) -> Vector3<f64> {
    Vector3::new(sd[0] * rng.normal(), sd[1] * rng.normal(), sd[2] * rng.normal())
}

/// Sample SD (n - 1); 0 below two values.
fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// The fewest sizes holding at least 90 % of the probability, most likely first.
pub fn ninety_percent_set(p: &[SizeProbability]) -> Vec<SizeProbability> {
    let mut sorted: Vec<&SizeProbability> = p.iter().collect();
    sorted.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    let mut out = Vec::new();
    let mut sum = 0.0;
    for s in sorted {
        if sum >= 0.9 {
            break;
        }
        sum += s.probability;
        out.push(s.clone());
    }
    out
}

/// The intervals of `plan` (made by [`crate::plan`] from `anatomy`, `catalog`, `scorer` and
/// `options`) given the inputs' uncertainty `u` (module docs).
///
/// # Errors
/// An SD out of range, or a plan whose stem is not in the catalog.
pub fn plan_intervals(anatomy: &PlanAnatomy, catalog: &Catalog, scorer: &dyn RomScorer, options: &PlanOptions, plan: &Plan, u: &InputUncertainty) -> Result<PlanIntervals> {
    u.validate()?;
    let k = &plan.placement;
    let fam = catalog.stems.iter().find(|s| s.name == k.stem_family).ok_or_else(|| PlanError::NoFit { why: format!("the planned stem series {} is not in the catalog", k.stem_family) })?;
    let size = fam.sizes.iter().find(|z| z.size == k.stem_size).ok_or_else(|| PlanError::NoFit { why: format!("the planned stem size {} is not in series {}", k.stem_size, fam.name) })?;
    let mut warnings = Vec::new();

    // Shell, exactly by the rule.
    let sizes = shell_sizes(catalog);
    let socket = &plan.cup.socket;
    let head = socket.head_diameter_mm.map(|h| (h, 2.0 * u.head_radius_sd_mm));
    let (p, beyond) = shell_probabilities(&sizes, (socket.measured_diameter_mm, 2.0 * u.socket_radius_sd_mm), head, options.sizing.assumed_joint_space_mm, options.sizing.ream_allowance_mm);
    let shell: Vec<SizeProbability> = sizes.iter().zip(&p).filter(|(_, p)| **p >= 1e-3).map(|(s, p)| SizeProbability { size: format!("{s}"), probability: *p }).collect();
    let set = ninety_percent_set(&shell);
    if set.len() >= 3 {
        warnings.push(format!("the shell is not decided: {} sizes ({} mm) are needed to hold 90 % of the probability", set.len(), set.iter().map(|s| s.size.as_str()).collect::<Vec<_>>().join(", ")));
    }

    // Stem, by its series' rule.
    let canal_sd = canal_width_sd_mm(&plan.stem_sizing.canal);
    let stem = match canal_sd {
        Some(s) => stem_probabilities(&plan.stem_sizing.canal, fam, s)?
            .map(|p| fam.sizes.iter().zip(&p).filter(|(_, p)| **p >= 1e-3).map(|(z, p)| SizeProbability { size: z.size.clone(), probability: *p }).collect::<Vec<_>>()),
        None => None,
    };
    if let Some(set) = stem.as_deref().map(ninety_percent_set).filter(|s| s.len() >= 3) {
        warnings.push(format!("the stem size is not decided: {} sizes ({}) are needed to hold 90 % of the probability", set.len(), set.iter().map(|s| s.size.as_str()).collect::<Vec<_>>().join(", ")));
    }

    // The draws.
    let query = RomQuery { motions: plan.rom.motions.iter().map(|m| m.name.clone()).collect(), tilts: plan.tilts, resolution_deg: 0.05, margin_cap_deg: None };
    let mut anat = anatomy.clone();
    let mut rng = SplitMix64(SEED);
    let base_cup = Point3::from(plan.cup.centre_lps_mm);
    let f0 = &plan.femoral;
    let ccd = Angle::from_deg(fam.ccd_deg);
    let l = [u.landmark_sd_mm; 3];
    // The draws are made in order (one generator), then scored in parallel, results in order.
    let mut draws = Vec::with_capacity(DRAWS);
    for _ in 0..DRAWS {
        anat.operated.femur.head_centre.lps_mm = anatomy.operated.femur.head_centre.lps_mm + normal_vector(&mut rng, u.head_centre_sd_mm);
        anat.operated.femur.lesser_trochanter.lps_mm = anatomy.operated.femur.lesser_trochanter.lps_mm + normal_vector(&mut rng, l);
        if let (Some(o), Some(o0)) = (anat.contralateral.as_mut(), anatomy.contralateral.as_ref()) {
            o.femur.head_centre.lps_mm = o0.femur.head_centre.lps_mm + normal_vector(&mut rng, u.other_head_centre_sd_mm);
            o.femur.lesser_trochanter.lps_mm = o0.femur.lesser_trochanter.lps_mm + normal_vector(&mut rng, l);
        }
        let e_cup = normal_vector(&mut rng, u.socket_centre_sd_mm);
        let f = reconstruct(&anat, &(base_cup + e_cup), &fam.name, &size.size, ccd, size.offset_mm, f0.head_offset_mm, f0.seat_mm, f0.stem_anteversion);
        let t = targets(&anat);
        // The socket's error moves the cup, and the femur with it, against the pelvis. The
        // scorer is given the femur's move alone (the cup kept, the head on the femur moved the
        // other way): the same femur against the same pelvis, and the pelvis' prepared distance
        // field reused (a new cup centre would prepare a new one, 32 MB, for every draw). What
        // this leaves out: the cup's own rim against the bone moving by the socket's error.
        let head = Point3::from(f.head_centre_on_femur_lps_mm) - e_cup;
        draws.push((ImplantPlacement { head_centre_on_femur_lps_mm: head, ..k.clone() }, f, t));
    }
    let scored: Vec<_> = draws.par_iter().map(|(p, f, t)| scorer.score(p, &query).ok().map(|rom| (objective(&rom, p, f, t, plan.objective.coverage, options).total, rom))).collect();
    let (mut ll, mut off, mut totals, mut failed) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
    let mut margins: Vec<Vec<f64>> = vec![Vec::new(); plan.rom.motions.len()];
    for ((_, f, _), s) in draws.iter().zip(scored) {
        let Some((total, rom)) = s else {
            failed += 1;
            continue;
        };
        totals.push(total);
        ll.push(f.leg_length_change_mm);
        off.push(f.offset_change_mm);
        for (i, m) in rom.motions.iter().enumerate() {
            if let (Some(g), Some(v)) = (m.margin_deg(), margins.get_mut(i)) {
                v.push(g);
            }
        }
    }

    // The plan's flatness.
    let objective_sd = sd(&totals);
    let best = plan.objective.total;
    let near: Vec<_> = plan.candidates.iter().filter(|c| c.total >= best - Z90 * objective_sd - 1e-9).collect();
    let range = |value: f64, get: &dyn Fn(&crate::ScoredAngles) -> f64| {
        let (lo, hi) = near.iter().map(|c| get(c)).fold((value, value), |(lo, hi), v| (lo.min(v), hi.max(v)));
        Interval { value, low: lo, high: hi }
    };
    let radio = k.cup.to_definition(CupAngleDefinition::Radiographic, k.side);
    let cup_inclination_deg = range(radio.inclination.deg(), &|c| c.inclination_deg);
    let cup_anteversion_deg = range(radio.anteversion.deg(), &|c| c.anteversion_deg);
    let stem_anteversion_deg = range(k.stem_anteversion.deg(), &|c| c.stem_anteversion_deg);
    // Combined anteversion in both of coxa's definitions, over the same candidates (each its own
    // cup and stem version): the range the angles' flatness gives it.
    let combined = |c: &crate::ScoredAngles| {
        let cup = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(c.inclination_deg), anteversion: Angle::from_deg(c.anteversion_deg) };
        CombinedAnteversion::of(&cup, k.side, Angle::from_deg(c.stem_anteversion_deg))
    };
    let planned = CombinedAnteversion::of(&k.cup, k.side, k.stem_anteversion);
    let combined_widmer_deg = range(planned.widmer_deg, &|c| combined(c).widmer_deg);
    let combined_plain_sum_deg = range(planned.plain_sum_deg, &|c| combined(c).plain_sum_deg);
    let sz = &options.safe_zone;
    for (what, i, (lo, hi)) in [("cup inclination", &cup_inclination_deg, sz.inclination), ("cup anteversion", &cup_anteversion_deg, sz.anteversion)] {
        let half = 0.5 * (hi.deg() - lo.deg());
        if i.width() > half + 1e-9 {
            warnings.push(format!(
                "the {what} is not decided: candidates from {:.1} to {:.1} deg are as good as the plan within the objective's uncertainty, wider than the safe zone's half-width ({half:.0} deg)",
                i.low, i.high
            ));
        }
    }
    let leg_length_change_mm = Interval::normal(f0.leg_length_change_mm, sd(&ll));
    let offset_change_mm = Interval::normal(f0.offset_change_mm, sd(&off));
    let tol = options.sizing.restore_tolerance_mm;
    for (what, i) in [("leg length", &leg_length_change_mm), ("offset", &offset_change_mm)] {
        if 0.5 * i.width() > tol {
            warnings.push(format!("the {what} change is uncertain by ±{:.1} mm (90 %), more than the {tol} mm it is restored to", 0.5 * i.width()));
        }
    }
    let margins: Vec<MotionInterval> =
        plan.rom.motions.iter().zip(&margins).filter_map(|(m, v)| m.margin_deg().map(|g| MotionInterval { motion: m.name.clone(), margin_deg: Interval::normal(g, sd(v)) })).collect();
    for m in margins.iter().filter(|m| m.margin_deg.value >= 0.0 && m.margin_deg.low < 0.0) {
        warnings.push(format!("{} may fall short of its need: margin {:.1} deg, 90 % down to {:.1} deg", m.motion, m.margin_deg.value, m.margin_deg.low));
    }
    let method = format!(
        "shell: the sizing rule applied to normal socket and head diameters (exact); stem: the series' rule with every canal width moved by one normal shift (exact, by bisection); leg length, offset, margins and the objective: {DRAWS} seeded draws (seed {SEED}) of perturbed landmarks, each scored once at full resolution, interval = plan value ± 1.645 SD; angles: the range of the {} scored candidates within 1.645 objective SDs ({:.2}) of the best. Not carried: the pelvic frame's and the shaft axis' uncertainty, the outer-width canal rule's cortical ratio, and segmentation errors a fit's residuals do not show",
        near.len(),
        Z90 * objective_sd
    );
    Ok(PlanIntervals {
        inputs: u.clone(),
        canal_width_sd_mm: canal_sd,
        shell,
        shell_beyond_catalog: beyond,
        stem,
        cup_inclination_deg,
        cup_anteversion_deg,
        stem_anteversion_deg,
        combined_widmer_deg,
        combined_plain_sum_deg,
        leg_length_change_mm,
        offset_change_mm,
        margins,
        objective_sd,
        near_best_candidates: near.len(),
        draws: [DRAWS, failed],
        seed: SEED,
        method,
        warnings,
    })
}

#[cfg(test)]
#[path = "tests_intervals.rs"]
mod tests;

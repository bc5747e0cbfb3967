//! The objective: impingement-free margin over the motion set, leg length, offset, coverage
//! and the safe zone, in degrees of margin (larger is better).
//!
//! ```text
//! total = rom_term - w_ll |LL error| - w_off |offset error|
//!         - w_cov max(0, target - coverage) x 100 - w_sz safe-zone excess - w_ct combined-target distance
//! ```
//! Each motion's margin is its limit minus the activity's required angle, capped at
//! [`crate::PlanOptions::margin_cap_deg`]; `rom_term` is their ordered weighted average with rank
//! weights 1, r, r², ... (`r` = [`crate::Weights::rom_rank_ratio`]) from the worst margin up: the
//! worst margin counts most (maximin), and when it cannot be moved (a bone-on-bone limit no cup
//! angle changes) the next worst still steer the search (leximin-like). The safe-zone excess is
//! how far (deg, Euclidean over the two radiographic angles) the cup lies outside
//! [`crate::SafeZone`]. The combined target (radiographic inclination 40 deg, cup + 0.7 x stem
//! anteversion 37 deg; Widmer and Zurfluh 2004) only breaks ties (a small weight).

use coxa_core::{CupAngleDefinition, ImplantPlacement, RomScore};
use serde::Serialize;

use crate::input::PlanOptions;
use crate::stem::{FemoralReconstruction, Targets};

/// The objective's terms of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveTerms {
    /// The objective (deg of margin equivalent; larger is better).
    pub total: f64,
    /// Worst motion margin (capped), deg.
    pub rom_min_margin_deg: f64,
    /// Mean motion margin (capped), deg.
    pub rom_mean_margin_deg: f64,
    /// Ordered weighted average of the margins (rank weights 1, r, r², ... from the worst), deg.
    pub rom_term: f64,
    /// The motion with the worst margin.
    pub rom_worst_motion: String,
    /// Leg-length change minus its target, mm.
    pub leg_length_error_mm: f64,
    /// Offset change minus its target, mm.
    pub offset_error_mm: f64,
    /// Host-bone coverage of the shell, fraction.
    pub coverage: f64,
    /// Distance outside the safe zone, deg (0 inside).
    pub safe_zone_excess_deg: f64,
    /// Combined anteversion, Widmer's: cup (radiographic) + 0.7 x stem anteversion (Widmer and
    /// Zurfluh 2004; [`coxa_core::CombinedAnteversion`]), deg.
    pub combined_anteversion_deg: f64,
    /// Penalty of the leg-length error, deg.
    pub leg_length_penalty: f64,
    /// Penalty of the offset error, deg.
    pub offset_penalty: f64,
    /// Penalty of the coverage shortfall, deg.
    pub coverage_penalty: f64,
    /// Penalty of the safe-zone excess, deg.
    pub safe_zone_penalty: f64,
    /// Distance from the combined target (inclination 40, combined anteversion 37), deg.
    pub combined_target_distance_deg: f64,
    /// Its penalty (a tie-break), deg.
    pub combined_target_penalty: f64,
}

fn outside(v: f64, lo: f64, hi: f64) -> f64 {
    (lo - v).max(0.0) + (v - hi).max(0.0)
}

/// The terms of a scored candidate.
pub fn objective(score: &RomScore, p: &ImplantPlacement, f: &FemoralReconstruction, targets: &Targets, coverage: f64, options: &PlanOptions) -> ObjectiveTerms {
    let w = &options.weights;
    let cap = options.margin_cap_deg;
    let mut margins: Vec<(f64, &str)> = score.motions.iter().filter_map(|m| m.margin_deg().map(|g| (g.min(cap), m.name.as_str()))).collect();
    margins.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (min, worst) = margins.first().map_or((0.0, ""), |&(g, n)| (g, n));
    let mean = if margins.is_empty() { 0.0 } else { margins.iter().map(|m| m.0).sum::<f64>() / margins.len() as f64 };
    let rom_term = margins.iter().enumerate().map(|(k, m)| m.0 * w.rom_rank_ratio.powi(k as i32)).sum::<f64>();
    let ll = f.leg_length_change_mm - targets.leg_length_change_mm;
    let off = f.offset_change_mm - targets.offset_change_mm;
    let r = p.cup.to_definition(CupAngleDefinition::Radiographic, p.side);
    let sz = &options.safe_zone;
    let ei = outside(r.inclination.deg(), sz.inclination.0.deg(), sz.inclination.1.deg());
    let ea = outside(r.anteversion.deg(), sz.anteversion.0.deg(), sz.anteversion.1.deg());
    let excess = ei.hypot(ea);
    let shortfall_pct = (options.sizing.coverage_target - coverage).max(0.0) * 100.0;
    let (pl, po, pc, ps) = (w.leg_length_per_mm * ll.abs(), w.offset_per_mm * off.abs(), w.coverage_per_pct * shortfall_pct, w.safe_zone_per_deg * excess);
    let combined = coxa_core::combined::widmer_deg(r.anteversion, p.stem_anteversion);
    let target_distance = (r.inclination.deg() - 40.0).hypot(combined - 37.0);
    let pt = w.combined_target_per_deg * target_distance;
    ObjectiveTerms {
        total: rom_term - pl - po - pc - ps - pt,
        rom_min_margin_deg: min,
        rom_mean_margin_deg: mean,
        rom_term,
        rom_worst_motion: worst.to_string(),
        leg_length_error_mm: ll,
        offset_error_mm: off,
        coverage,
        safe_zone_excess_deg: excess,
        combined_anteversion_deg: combined,
        leg_length_penalty: pl,
        offset_penalty: po,
        coverage_penalty: pc,
        safe_zone_penalty: ps,
        combined_target_distance_deg: target_distance,
        combined_target_penalty: pt,
    }
}

//! Whether a plan meets every daily-life need, and when it does not, the candidate of the
//! searched space that comes closest, named by what it changes (issue 60: "stem anteversion
//! 15 deg meets all but ...", not only the red margin).
//!
//! The needs are the motions the search takes its margin over (the scorer's daily-life motions by
//! default), each met when its limit reaches its required angle. The plan's margins are its own
//! full-resolution range of motion. Among every candidate the optimiser scored, the closest is:
//! when some candidate meets every need, the one that changes the fewest kinds of choice (stem
//! version; cup angles; liner, head or femoral option), then has the best objective; otherwise
//! the one with the largest smallest margin, then the fewest kinds changed. It is re-scored at
//! 0.05 deg, uncapped, so its margins are as exact as the plan's.

use coxa_core::{RomQuery, RomScore, ScoreError};
use serde::Serialize;

use crate::objective::ObjectiveTerms;
use crate::space::{Choice, PlanSpace};

/// One motion's margin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MotionMargin {
    /// The motion.
    pub motion: String,
    /// Limit minus required angle, deg (negative: short of the need).
    pub margin_deg: f64,
}

/// A candidate of the searched space other than the plan, and what it gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosestChange {
    /// What differs from the plan, one item a choice, e.g. "stem anteversion 15.0 deg (planned 4.4 deg)".
    pub changes: Vec<String>,
    /// Its smallest margin over the needs, deg (full resolution).
    pub min_margin_deg: f64,
    /// The needs it still misses.
    pub short: Vec<MotionMargin>,
    /// Its objective (the plan's is higher or equal).
    pub objective: f64,
    /// Cup inclination, radiographic, deg.
    pub inclination_deg: f64,
    /// Cup anteversion, radiographic, deg.
    pub anteversion_deg: f64,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
}

/// The plan against the daily-life needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyLife {
    /// Every need met by the plan.
    pub met: bool,
    /// The plan's smallest margin over the needs, deg (full resolution).
    pub min_margin_deg: f64,
    /// The needs the plan misses.
    pub short: Vec<MotionMargin>,
    /// When the plan misses a need: the candidate that comes closest (`None`: none of the
    /// searched space does better than the plan).
    pub closest: Option<ClosestChange>,
    /// One sentence for the report's first page.
    pub summary: String,
}

/// The margins of `rom` over `needs`, in the order of `needs`.
fn margins(rom: &RomScore, needs: &[String]) -> Vec<MotionMargin> {
    needs.iter().filter_map(|n| rom.motions.iter().find(|m| &m.name == n).and_then(|m| m.margin_deg()).map(|g| MotionMargin { motion: n.clone(), margin_deg: g })).collect()
}

fn min_of(m: &[MotionMargin]) -> f64 {
    m.iter().map(|x| x.margin_deg).fold(f64::INFINITY, f64::min)
}

fn short_of(m: &[MotionMargin]) -> Vec<MotionMargin> {
    m.iter().filter(|x| x.margin_deg < 0.0).cloned().collect()
}

fn list(short: &[MotionMargin]) -> String {
    short.iter().map(|m| format!("{} ({:+.1} deg)", m.motion.replace('_', " "), m.margin_deg)).collect::<Vec<_>>().join(", ")
}

/// What `c` changes against the plan `p`, in words. The femoral option is solved at each stem
/// version ([`PlanSpace::femoral`]): a stem and head offset that follow from a new stem version
/// (the same rank) are said with it, not as a change of their own.
fn changes(space: &PlanSpace<'_>, p: &Choice, c: &Choice) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (&space.combos[p.combo], &space.combos[c.combo]);
    let stem_moved = (c.stem_anteversion_deg - p.stem_anteversion_deg).abs() > 1e-9;
    let femoral = match (space.femoral(p), space.femoral(c)) {
        (Some(x), Some(y)) if x.stem_family != y.stem_family || x.stem_size != y.stem_size || x.head_offset_mm != y.head_offset_mm => Some((x, y)),
        _ => None,
    };
    let follows = stem_moved && a.femoral_rank == b.femoral_rank;
    if stem_moved {
        let with = match (&femoral, follows) {
            (Some((_, y)), true) => format!(", with {} size {} and a {:+} mm head to restore leg length and offset", y.stem_family, y.stem_size, y.head_offset_mm),
            _ => String::new(),
        };
        out.push(format!("stem anteversion {:.1} deg (planned {:.1} deg{with})", c.stem_anteversion_deg, p.stem_anteversion_deg));
    }
    if (c.inclination_deg - p.inclination_deg).abs() > 1e-9 || (c.anteversion_deg - p.anteversion_deg).abs() > 1e-9 {
        out.push(format!("cup {:.1}/{:.1} deg radiographic (planned {:.1}/{:.1} deg)", c.inclination_deg, c.anteversion_deg, p.inclination_deg, p.anteversion_deg));
    }
    if a.head_mm != b.head_mm {
        out.push(format!("head {} mm (planned {} mm)", b.head_mm, a.head_mm));
    }
    if a.liner != b.liner {
        out.push(format!("liner {} (planned {})", b.liner, a.liner));
    }
    if let Some((x, y)) = femoral.filter(|_| !follows) {
        out.push(format!("{} size {} with a {:+} mm head (planned {} size {}, {:+} mm)", y.stem_family, y.stem_size, y.head_offset_mm, x.stem_family, x.stem_size, x.head_offset_mm));
    }
    out
}

/// Kinds of choice `c` changes against `p`: stem version, cup angles, the combination.
fn kinds(p: &Choice, c: &Choice) -> usize {
    usize::from((c.stem_anteversion_deg - p.stem_anteversion_deg).abs() > 1e-9)
        + usize::from((c.inclination_deg - p.inclination_deg).abs() > 1e-9 || (c.anteversion_deg - p.anteversion_deg).abs() > 1e-9)
        + usize::from(c.combo != p.combo)
}

/// The plan (choice `plan`, full-resolution `rom`) against the needs of `space`'s query, and the
/// closest candidate among `all`.
///
/// Besides the scored candidates, the plan with one choice changed is scored (each stem version
/// of the grid at `step`; each other combination), so that a single change is found even when
/// the plan's refined angles lie off the grid.
pub(crate) fn daily_life(space: &PlanSpace<'_>, all: &[Evaluated], plan: &Choice, rom: &RomScore, step: f64) -> Result<DailyLife, ScoreError> {
    let needs = &space.query.motions;
    let mine = margins(rom, needs);
    let min = min_of(&mine);
    let short = short_of(&mine);
    if short.is_empty() {
        let summary = format!("meets every daily-life need (smallest margin {min:+.1} deg)");
        return Ok(DailyLife { met: true, min_margin_deg: min, short, closest: None, summary });
    }
    let plan_total = all.iter().find(|e| e.choice == *plan).map_or(f64::NAN, |e| e.terms.total);
    let mut single: Vec<Choice> = space.stem_grid(step).into_iter().map(|v| Choice { stem_anteversion_deg: v, ..*plan }).collect();
    single.extend((0..space.combos.len()).map(|combo| Choice { combo, ..*plan }));
    single.retain(|c| c != plan && space.exists(c) && !all.iter().any(|e| e.choice.key() == c.key()));
    let extra: Vec<Evaluated> = single.into_iter().filter_map(|c| space.evaluate(&c).ok().map(|terms| Evaluated { choice: c, terms })).collect();
    // Ranked on the search's margins (capped, 0.5 deg), then confirmed at full resolution.
    let rank = |e: &Evaluated| -> (bool, f64, f64) {
        let m = e.terms.rom_min_margin_deg;
        let k = kinds(plan, &e.choice) as f64;
        if m >= 0.0 { (true, -k, e.terms.total) } else { (false, m, -k) }
    };
    let better = |a: (bool, f64, f64), b: (bool, f64, f64)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2));
    let best = all.iter().chain(&extra).filter(|e| e.choice != *plan).fold(None::<&Evaluated>, |b, e| match b {
        Some(x) if better(rank(x), rank(e)).is_ge() => Some(x),
        _ => Some(e),
    });
    let what = list(&short);
    let Some(best) = best.filter(|e| e.terms.rom_min_margin_deg > min) else {
        let summary = format!("short of {what}; no candidate of the searched space comes closer");
        return Ok(DailyLife { met: false, min_margin_deg: min, short, closest: None, summary });
    };
    let q = RomQuery { motions: needs.clone(), tilts: space.query.tilts, resolution_deg: 0.05, margin_cap_deg: None };
    let placement = space.placement(&best.choice).ok_or_else(|| ScoreError::new("the closest candidate has no femoral option at its stem version"))?;
    let theirs = margins(&space.scorer.score(&placement, &q)?, needs);
    let c_short = short_of(&theirs);
    let c_min = min_of(&theirs);
    let ch = changes(space, plan, &best.choice);
    let gives = if c_short.is_empty() { format!("meets every daily-life need (smallest margin {c_min:+.1} deg)") } else { format!("meets all but {}", list(&c_short)) };
    let summary = format!("short of {what}; {} {gives}, objective {:.1} against the plan's {:.1}", ch.join(" and "), best.terms.total, plan_total);
    let c = &best.choice;
    let closest = ClosestChange {
        changes: ch,
        min_margin_deg: c_min,
        short: c_short,
        objective: best.terms.total,
        inclination_deg: c.inclination_deg,
        anteversion_deg: c.anteversion_deg,
        stem_anteversion_deg: c.stem_anteversion_deg,
        head_diameter_mm: space.combos[c.combo].head_mm,
    };
    Ok(DailyLife { met: false, min_margin_deg: min, short, closest: Some(closest), summary })
}

/// A scored candidate (the optimiser's record of each one it scored).
pub(crate) struct Evaluated {
    pub(crate) choice: Choice,
    pub(crate) terms: ObjectiveTerms,
}

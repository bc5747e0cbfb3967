//! The optimiser: the declared space of [`PlanSpace`] (cup inclination and anteversion, stem
//! version, liner x head x femoral option) searched for the best candidate of the objective.
//!
//! **The search and its tolerance.** (1) An exhaustive grid at
//! [`crate::PlanOptions::grid_step`] over every dimension of the space (every combination, every
//! stem version of the range, every inclination and anteversion, both ends included): the plan is
//! never worse than the best of that grid. (2) A pattern search from the [`SEEDS`] best local
//! maxima of the grid (a grid point no worse than any of its 3^d neighbours within its
//! combination), each step trying every neighbour of the full stencil (8 with the stem version
//! fixed, 26 with it searched: diagonals included, so a ridge along which two motions trade, such
//! as cup anteversion against stem version, does not stall it), halving the step from half the
//! grid step to [`crate::PlanOptions::refine_step`]. Stated tolerance: the plan's objective is the
//! best of the coarse grid or better, and within 0.5 % of the best of an exhaustive grid at half
//! the step (tested on the phantom of the planner's tests and on the z013 bones,
//! `tests/tests/plan_grid.rs`). Every candidate is scored by [`PlanSpace::evaluate`].
//!
//! Determinism: candidates are generated in a fixed order, scored in parallel (rayon) into a
//! vector in that order, and every choice breaks ties by that order; no floating-point sum
//! depends on the thread schedule. The same input gives the same plan, bit for bit.

use std::collections::BTreeMap;

use coxa_core::{ImplantPlacement, PostureTilts, RomQuery, RomScore, RomScorer, ScoreError};
use coxa_implants::Catalog;
use rayon::prelude::*;
use serde::Serialize;

use crate::closest::{DailyLife, Evaluated, daily_life};
use crate::cup::CupSizing;
use crate::error::{PlanError, Result};
use crate::input::{PlanAnatomy, PlanOptions};
use crate::objective::ObjectiveTerms;
use crate::space::{Choice, PlanSpace};
use crate::stem::{CanalProfile, FemoralReconstruction, Targets};
use crate::stem_fill::StemSizing;

/// Pattern searches started from the best local maxima of the grid.
pub const SEEDS: usize = 4;
/// Most grid candidates one plan scores (each is a range-of-motion query). The default search is
/// about 12,000-20,000 with the stem version searched (+- 10 deg at 2.5 deg); past this budget
/// the plan is refused before anything is scored, naming the grid's dimensions (issue 16: every
/// search is bounded).
pub const MAX_GRID_CANDIDATES: usize = 250_000;
/// Most candidates the pattern search scores after the grid (a few thousand in practice); past
/// it the refinement stops, and the plan says so in its notes.
pub const MAX_REFINE_CANDIDATES: usize = 20_000;

/// One point of the Pareto set (radiographic cup angles, pelvic frame).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParetoPoint {
    /// Cup inclination, radiographic, deg.
    pub inclination_deg: f64,
    /// Cup anteversion, radiographic, deg.
    pub anteversion_deg: f64,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
    /// Head diameter, mm.
    pub head_diameter_mm: f64,
    /// Liner.
    pub liner: String,
    /// Stem series.
    pub stem_family: String,
    /// Stem size.
    pub stem_size: String,
    /// Head offset, mm.
    pub head_offset_mm: f64,
    /// The objective's terms.
    pub objective: ObjectiveTerms,
}

/// A plan: the best candidate, how the sizes were found, its range of motion and the trade-offs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The planned placement (cup angles radiographic, pelvic frame).
    pub placement: ImplantPlacement,
    /// Cup size and centre.
    pub cup: CupSizing,
    /// The femoral canal.
    pub canal: CanalProfile,
    /// Fitted stem size index (0-based) of the catalog's first series.
    pub stem_size_index: usize,
    /// Every stem series sized by canal fill (its catalog rule), with the sizing tables.
    pub stem_sizing: StemSizing,
    /// Leg-length and offset targets.
    pub targets: Targets,
    /// The femoral reconstruction planned.
    pub femoral: FemoralReconstruction,
    /// The objective's terms of the plan.
    pub objective: ObjectiveTerms,
    /// Every motion of the scorer at full resolution (0.05 deg), uncapped, at the plan's tilts.
    pub rom: RomScore,
    /// The motions the margin is taken over.
    pub search_motions: Vec<String>,
    /// Pelvic tilts used.
    pub tilts: PostureTilts,
    /// The stem versions searched, deg (equal ends: the version was fixed).
    pub stem_anteversion_range_deg: [f64; 2],
    /// Non-dominated candidates (ROM term, coverage, leg-length + offset penalty, safe-zone
    /// excess, distance from the combined target), best objective first; the plan is the first.
    pub pareto: Vec<ParetoPoint>,
    /// Whether the plan meets every daily-life need, and if not the change that comes closest.
    pub daily_life: DailyLife,
    /// Candidates scored.
    pub evaluated: usize,
    /// Of them, on the exhaustive grid.
    pub grid_candidates: usize,
    /// Candidates the scorer refused.
    pub failed: usize,
    /// What could not be satisfied.
    pub notes: Vec<String>,
    /// Every candidate scored (grid and pattern search), in the order scored: its angles and
    /// objective. Not written (`plan.json` has the Pareto set); the plan's intervals read the
    /// objective's flatness from it ([`crate::intervals`]) without scoring anything again.
    #[serde(skip)]
    pub candidates: Vec<ScoredAngles>,
}

/// One scored candidate's angles (cup radiographic, pelvic frame) and objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredAngles {
    /// Cup inclination, radiographic, deg.
    pub inclination_deg: f64,
    /// Cup anteversion, radiographic, deg.
    pub anteversion_deg: f64,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
    /// The objective's total.
    pub total: f64,
}

/// Which candidates were scored (index into the evaluated list; `usize::MAX` for a failure).
#[derive(Default)]
struct Book {
    seen: BTreeMap<(usize, [i64; 3]), usize>,
    failed: usize,
    first_error: Option<ScoreError>,
}

impl Book {
    /// Scores the candidates of `batch` not seen before (in parallel, results in order) and
    /// returns the index of each candidate of `batch` in `all` (`None`: the scorer refused it).
    fn run(&mut self, space: &PlanSpace<'_>, batch: Vec<Choice>, all: &mut Vec<Evaluated>) -> Vec<Option<usize>> {
        let mut fresh: Vec<Choice> = Vec::new();
        let mut queued = std::collections::BTreeSet::new();
        for c in &batch {
            if self.seen.contains_key(&c.key()) || !queued.insert(c.key()) {
                continue;
            }
            // Not a point of the space (a femoral rank its stem version does not have): skipped,
            // not a scorer failure.
            if space.exists(c) {
                fresh.push(*c);
            } else {
                let _ = self.seen.insert(c.key(), usize::MAX);
            }
        }
        let results: Vec<std::result::Result<ObjectiveTerms, ScoreError>> = fresh.par_iter().map(|c| space.evaluate(c)).collect();
        for (c, r) in fresh.iter().zip(results) {
            match r {
                Ok(terms) => {
                    let _ = self.seen.insert(c.key(), all.len());
                    all.push(Evaluated { choice: *c, terms });
                }
                Err(e) => {
                    self.failed += 1;
                    let _ = self.first_error.get_or_insert(e);
                    let _ = self.seen.insert(c.key(), usize::MAX);
                }
            }
        }
        batch.iter().map(|c| self.seen.get(&c.key()).copied().filter(|&i| i != usize::MAX)).collect()
    }
}

/// `a` dominates `b`: no worse in every Pareto objective, better in one.
fn dominates<const N: usize>(a: &[f64; N], b: &[f64; N]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// The grid points (indices into the grid's choices, in its order) no worse than any of their
/// 3^d neighbours of the same combination, best first (ties by grid order). `dims`: combinations,
/// stem versions, inclinations, anteversions; `total[i]`: the objective of grid point `i`
/// (`None`: refused by the scorer).
fn local_maxima(dims: [usize; 4], total: &[Option<f64>]) -> Vec<usize> {
    let [_, ns, ni, na] = dims;
    let at = |s: usize, i: usize, a: usize| (s * ni + i) * na + a;
    let mut out: Vec<usize> = Vec::new();
    for (idx, t) in total.iter().enumerate() {
        let Some(t) = *t else { continue };
        let (a, rest) = (idx % na, idx / na);
        let (i, rest) = (rest % ni, rest / ni);
        let (s, combo) = (rest % ns, rest / ns);
        let base = combo * ns * ni * na;
        let mut best = true;
        'n: for ds in -1i64..=1 {
            for di in -1i64..=1 {
                for da in -1i64..=1 {
                    let (s2, i2, a2) = (s as i64 + ds, i as i64 + di, a as i64 + da);
                    if (ds, di, da) == (0, 0, 0) || s2 < 0 || i2 < 0 || a2 < 0 || s2 >= ns as i64 || i2 >= ni as i64 || a2 >= na as i64 {
                        continue;
                    }
                    if total[base + at(s2 as usize, i2 as usize, a2 as usize)].is_some_and(|u| u > t) {
                        best = false;
                        break 'n;
                    }
                }
            }
        }
        if best {
            out.push(idx);
        }
    }
    out.sort_by(|&x, &y| total[y].unwrap_or(f64::NEG_INFINITY).total_cmp(&total[x].unwrap_or(f64::NEG_INFINITY)).then(x.cmp(&y)));
    out
}

/// Plans the hip of `anatomy` with implants of `catalog`, scoring range of motion through `scorer`.
pub fn plan(anatomy: &PlanAnatomy, catalog: &Catalog, scorer: &dyn RomScorer, options: &PlanOptions) -> Result<Plan> {
    let space = PlanSpace::new(anatomy, catalog, scorer, options)?;
    let mut notes = space.notes.clone();

    // 1. The exhaustive coarse grid, counted before the candidates are made (the finest grid
    // would not fit in memory).
    let step = options.grid_step.deg();
    let (n_wanted, dims) = space.grid_size(step);
    if n_wanted > MAX_GRID_CANDIDATES {
        return Err(PlanError::SearchTooLarge {
            candidates: n_wanted,
            limit: MAX_GRID_CANDIDATES,
            dimensions: format!("{} inclinations x {} anteversions x {} stem versions x {} head, liner and stem combinations at a {step} deg grid step", dims[2], dims[3], dims[1], dims[0]),
        });
    }
    let cands = space.grid_choices(step);
    let n_grid = cands.len();
    let mut book = Book::default();
    let mut all: Vec<Evaluated> = Vec::new();
    let found = book.run(&space, cands, &mut all);
    if all.is_empty() {
        return Err(PlanError::NoFeasibleCandidate { n: n_grid, first: book.first_error });
    }
    let totals: Vec<Option<f64>> = found.iter().map(|i| i.map(|i| all[i].terms.total)).collect();

    // 2. Pattern search from the best local maxima of the grid.
    let (ri, ra, rs) = (space.inclination_deg, space.anteversion_deg, space.stem_anteversion_deg);
    let stem_searched = space.stem_searched();
    let mut over_budget = false;
    'seeds: for seed in local_maxima(dims, &totals).into_iter().take(SEEDS) {
        let Some(mut at) = found[seed] else { continue };
        let mut s = step / 2.0;
        while s >= options.refine_step.deg() - 1e-12 {
            if book.seen.len() >= n_grid + MAX_REFINE_CANDIDATES {
                over_budget = true;
                break 'seeds;
            }
            let c = all[at].choice;
            let mut nb = Vec::new();
            for ds in if stem_searched { [-1.0, 0.0, 1.0].as_slice() } else { [0.0].as_slice() } {
                for di in [-1.0, 0.0, 1.0] {
                    for da in [-1.0, 0.0, 1.0] {
                        if (*ds, di, da) != (0.0, 0.0, 0.0) {
                            nb.push(Choice {
                                inclination_deg: (c.inclination_deg + di * s).clamp(ri.0, ri.1),
                                anteversion_deg: (c.anteversion_deg + da * s).clamp(ra.0, ra.1),
                                stem_anteversion_deg: (c.stem_anteversion_deg + ds * s).clamp(rs.0, rs.1),
                                ..c
                            });
                        }
                    }
                }
            }
            let found = book.run(&space, nb, &mut all);
            let better = found.into_iter().flatten().filter(|&i| all[i].terms.total > all[at].terms.total + 1e-9).fold(None::<usize>, |b, i| match b {
                Some(j) if all[j].terms.total >= all[i].terms.total => Some(j),
                _ => Some(i),
            });
            match better {
                Some(i) => at = i,
                None => s /= 2.0,
            }
        }
    }
    if over_budget {
        notes.push(format!("the pattern search stopped at its budget of {MAX_REFINE_CANDIDATES} candidates after the {n_grid}-candidate grid: the plan is the best found so far"));
    }

    // 3. The best, its full report, the Pareto set.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[b].terms.total.total_cmp(&all[a].terms.total).then(a.cmp(&b)));
    let mut front: Vec<(usize, [f64; 5])> = Vec::new();
    for &i in &order {
        let t = &all[i].terms;
        let obj = [t.rom_term, t.coverage, -(t.leg_length_penalty + t.offset_penalty), -t.safe_zone_excess_deg, -t.combined_target_distance_deg];
        if front.iter().any(|(_, f)| dominates(f, &obj) || f == &obj) {
            continue;
        }
        front.retain(|(_, f)| !dominates(&obj, f));
        front.push((i, obj));
    }
    let mut pareto_idx: Vec<usize> = front.into_iter().map(|(i, _)| i).collect();
    pareto_idx.sort_by(|&a, &b| all[b].terms.total.total_cmp(&all[a].terms.total).then(a.cmp(&b)));
    // The total rises with every Pareto objective, so the best of the front is a best overall,
    // and one no other candidate dominates.
    let best = &all[pareto_idx[0]];
    let scored = || PlanError::NoFit { why: "the best candidate has no femoral option at its stem version (a bug: every scored candidate has one)".into() };
    let femoral = space.femoral(&best.choice).ok_or_else(scored)?;
    let placement = space.placement(&best.choice).ok_or_else(scored)?;
    let full = RomQuery { motions: space.motions.iter().map(|m| m.name.clone()).collect(), tilts: options.tilts, resolution_deg: 0.05, margin_cap_deg: None };
    let rom = scorer.score(&placement, &full)?;
    let stuck = rom.motions.iter().filter(|m| m.start_in_contact).count();
    if stuck > 0 {
        notes.push(format!(
            "{stuck} of {} motions start in contact: the planned femur overlaps the pelvis; check the landmarks (femoral shaft axis, head and acetabular centres) before trusting this plan",
            rom.motions.len()
        ));
    }
    let daily_life = daily_life(&space, &all, &best.choice, &rom, step)?;
    let pareto = pareto_idx
        .into_iter()
        .take(options.pareto_max)
        .filter_map(|i| {
            let e = &all[i];
            let f = space.femoral(&e.choice)?;
            let k = &space.combos[e.choice.combo];
            Some(ParetoPoint {
                inclination_deg: e.choice.inclination_deg,
                anteversion_deg: e.choice.anteversion_deg,
                stem_anteversion_deg: e.choice.stem_anteversion_deg,
                head_diameter_mm: k.head_mm,
                liner: k.liner.clone(),
                stem_family: f.stem_family,
                stem_size: f.stem_size,
                head_offset_mm: f.head_offset_mm,
                objective: e.terms.clone(),
            })
        })
        .collect();
    Ok(Plan {
        placement,
        stem_size_index: space.stem_sizing.size_indices()[0],
        cup: space.cup.clone(),
        canal: space.canal.clone(),
        stem_sizing: space.stem_sizing.clone(),
        targets: space.targets,
        femoral,
        objective: best.terms.clone(),
        rom,
        search_motions: space.query.motions.clone(),
        tilts: options.tilts,
        stem_anteversion_range_deg: [rs.0, rs.1],
        pareto,
        daily_life,
        evaluated: all.len(),
        grid_candidates: n_grid,
        failed: book.failed,
        notes,
        candidates: all
            .iter()
            .map(|e| ScoredAngles { inclination_deg: e.choice.inclination_deg, anteversion_deg: e.choice.anteversion_deg, stem_anteversion_deg: e.choice.stem_anteversion_deg, total: e.terms.total })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::grid;

    #[test]
    fn grid_includes_both_ends() {
        assert_eq!(grid(30.0, 55.0, 2.5).len(), 11);
        assert_eq!(grid(0.0, 7.0, 3.0), vec![0.0, 3.0, 6.0, 7.0]);
        assert_eq!(grid(5.0, 5.0, 1.0), vec![5.0]);
    }

    #[test]
    fn dominance() {
        assert!(dominates(&[1.0, 1.0, 0.0, 0.0], &[1.0, 0.5, 0.0, 0.0]));
        assert!(!dominates(&[1.0, 1.0, 0.0, 0.0], &[1.0, 1.0, 0.0, 0.0]));
        assert!(!dominates(&[2.0, 0.0, 0.0, 0.0], &[1.0, 1.0, 0.0, 0.0]));
    }

    /// Four peaks in one combination and one in another: each found, best first; a plateau's
    /// points all count; a refused point is no neighbour.
    #[test]
    fn local_maxima_of_the_grid() {
        // dims: 2 combinations x 1 stem x 3 inclinations x 4 anteversions.
        let t = |v: [f64; 12]| v.map(Some).to_vec();
        let mut total = t([1.0, 5.0, 1.0, 3.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 4.0]);
        total.extend(t([0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
        assert_eq!(local_maxima([2, 1, 3, 4], &total), vec![17, 1, 11, 3, 8, 15, 19, 23], "the zeros of combination 2 away from its peak are a plateau");
        total[17] = None;
        let m = local_maxima([2, 1, 3, 4], &total);
        assert_eq!(m.len(), 4 + 11, "combination 2 is a plateau of zeros around the refused point: {m:?}");
        assert_eq!(&m[..4], &[1, 11, 3, 8]);
    }
}

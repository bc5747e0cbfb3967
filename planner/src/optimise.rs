//! The optimiser: sizes from the anatomy, then a grid over cup angles, head sizes, liners and
//! femoral reconstructions (and stem anteversion when asked), refined by a compass search,
//! scored through a [`RomScorer`]; the best plan and the Pareto set.
//!
//! Determinism: candidates are generated in a fixed order, scored in parallel (rayon) into a
//! vector in that order, and every choice breaks ties by that order; no floating-point sum
//! depends on the thread schedule. The same input gives the same plan, bit for bit.

use std::collections::BTreeMap;

use coxa_core::{Angle, CupAngleDefinition, CupAngles, ImplantPlacement, PostureTilts, RomQuery, RomScore, RomScorer, ScoreError};
use coxa_implants::Catalog;
use nalgebra::Point3;
use rayon::prelude::*;
use serde::Serialize;

use crate::cup::{CoverageMap, CupSizing, size_cup};
use crate::error::{PlanError, Result};
use crate::input::{PlanAnatomy, PlanOptions};
use crate::objective::{ObjectiveTerms, objective};
use crate::stem::{CanalProfile, FemoralReconstruction, Targets, canal_profile, femoral_options, reconstruct};
use crate::stem_fill::{StemSizing, size_stems};

/// Smallest head considered unless the surgeon fixes one, mm (smaller heads dislocate easily).
const MIN_HEAD_MM: f64 = 28.0;
/// Compass searches started from the best grid candidates.
const SEEDS: usize = 3;
/// Most grid candidates one plan scores (each is a range-of-motion query). The default search is
/// about 2,500 (7,000 with the stem version searched); past this budget the plan is refused
/// before anything is scored, naming the grid's dimensions (issue 16: every search is bounded).
pub const MAX_GRID_CANDIDATES: usize = 250_000;
/// Most candidates the compass refinement scores after the grid (a few hundred in practice);
/// past it the refinement stops, and the plan says so in its notes.
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
    /// Non-dominated candidates (ROM term, coverage, leg-length + offset penalty, safe-zone
    /// excess, distance from the combined target), best objective first; the plan is the first.
    pub pareto: Vec<ParetoPoint>,
    /// Candidates scored.
    pub evaluated: usize,
    /// Candidates the scorer refused.
    pub failed: usize,
    /// What could not be satisfied.
    pub notes: Vec<String>,
}

/// A candidate: discrete choices by index, angles in degrees (radiographic cup).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cand {
    combo: usize,
    inc: f64,
    av: f64,
    stem: f64,
}

impl Cand {
    fn key(&self) -> (usize, [u64; 3]) {
        (self.combo, [self.inc, self.av, self.stem].map(|v| ((v * 1e6).round() as i64) as u64))
    }
}

/// Discrete choices: liner, head, femoral option.
#[derive(Debug, Clone)]
struct Combo {
    liner: String,
    head_mm: f64,
    femoral: FemoralReconstruction,
    ccd: Angle,
    offset_mm: f64,
}

struct Evaluated {
    cand: Cand,
    terms: ObjectiveTerms,
}

struct Ctx<'a> {
    anatomy: &'a PlanAnatomy,
    scorer: &'a dyn RomScorer,
    options: &'a PlanOptions,
    combos: Vec<Combo>,
    coverage: CoverageMap,
    cup_centre: Point3<f64>,
    shell_mm: f64,
    targets: Targets,
    query: RomQuery,
    stem_search: bool,
}

impl Ctx<'_> {
    fn femoral(&self, c: &Cand) -> FemoralReconstruction {
        let k = &self.combos[c.combo];
        if !self.stem_search {
            return k.femoral.clone();
        }
        reconstruct(self.anatomy, &self.cup_centre, &k.femoral.stem_family, &k.femoral.stem_size, k.ccd, k.offset_mm, k.femoral.head_offset_mm, k.femoral.seat_mm, Angle::from_deg(c.stem))
    }
    /// The placement of a candidate. With a stem-anteversion search the femur is placed (for
    /// bone collision) at the head centre of the nominal version: a new head centre would cost
    /// a new bone geometry (~0.4 s, ~30 MB) per version tried, so the few millimetres the head
    /// moves with the version are left out of the bone collision; they count in leg length and
    /// offset, and the neck follows the version.
    fn placement(&self, c: &Cand) -> ImplantPlacement {
        let k = &self.combos[c.combo];
        let f = self.femoral(c);
        ImplantPlacement {
            side: self.anatomy.side,
            cup: CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(c.inc), anteversion: Angle::from_deg(c.av) },
            cup_centre_lps_mm: self.cup_centre,
            shell_outer_diameter_mm: self.shell_mm,
            liner: k.liner.clone(),
            head_diameter_mm: k.head_mm,
            head_offset_mm: f.head_offset_mm,
            stem_family: f.stem_family.clone(),
            stem_size: f.stem_size.clone(),
            stem_anteversion: Angle::from_deg(c.stem),
            head_centre_on_femur_lps_mm: Point3::from(k.femoral.head_centre_on_femur_lps_mm),
        }
    }
    fn evaluate(&self, c: &Cand) -> std::result::Result<Evaluated, ScoreError> {
        let p = self.placement(c);
        let score = self.scorer.score(&p, &self.query)?;
        let f = self.femoral(c);
        let coverage = self.coverage.coverage(&p.cup.axis(self.anatomy.side));
        let terms = objective(&score, &p, &f, &self.targets, coverage, self.options);
        Ok(Evaluated { cand: *c, terms })
    }
}

/// Which candidates were scored (index into the evaluated list; `usize::MAX` for a failure).
#[derive(Default)]
struct Book {
    seen: BTreeMap<(usize, [u64; 3]), usize>,
    failed: usize,
    first_error: Option<ScoreError>,
}

impl Book {
    /// Scores the candidates of `batch` not seen before (in parallel, results in order) and
    /// returns the index of each candidate of `batch` in `all` (`None`: the scorer refused it).
    fn run(&mut self, ctx: &Ctx<'_>, batch: Vec<Cand>, all: &mut Vec<Evaluated>) -> Vec<Option<usize>> {
        let mut fresh: Vec<Cand> = Vec::new();
        for c in &batch {
            if !self.seen.contains_key(&c.key()) && !fresh.iter().any(|f| f.key() == c.key()) {
                fresh.push(*c);
            }
        }
        let results: Vec<std::result::Result<Evaluated, ScoreError>> = fresh.par_iter().map(|c| ctx.evaluate(c)).collect();
        for (c, r) in fresh.iter().zip(results) {
            match r {
                Ok(e) => {
                    let _ = self.seen.insert(c.key(), all.len());
                    all.push(e);
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

fn grid(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let n = ((hi - lo) / step + 1e-9).floor().max(0.0) as usize;
    let mut v: Vec<f64> = (0..=n).map(|k| lo + k as f64 * step).collect();
    if hi - v[v.len() - 1] > 1e-9 {
        v.push(hi);
    }
    v
}

/// `a` dominates `b`: no worse in every Pareto objective, better in one.
fn dominates<const N: usize>(a: &[f64; N], b: &[f64; N]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Plans the hip of `anatomy` with implants of `catalog`, scoring range of motion through `scorer`.
pub fn plan(anatomy: &PlanAnatomy, catalog: &Catalog, scorer: &dyn RomScorer, options: &PlanOptions) -> Result<Plan> {
    options.validate()?;
    let rules = &options.sizing;
    let mut notes = Vec::new();

    // 1. Cup size and centre.
    let (cup, coverage) = size_cup(anatomy, catalog, rules)?;
    notes.extend(cup.notes.iter().cloned());
    let cup_centre = Point3::from(cup.centre_lps_mm);
    let shell = catalog.shell(cup.outer_diameter_mm)?;

    // 2. Stem size and femoral reconstructions.
    for (what, axis) in [("shaft", &anatomy.operated.femur.shaft_axis), ("neck", &anatomy.operated.femur.neck_axis)] {
        if axis.quality == coxa_core::Quality::Uncertain {
            notes.push(format!("the femoral {what} axis is uncertain ({}): stem size, version, leg length and offset are unreliable", axis.note.as_deref().unwrap_or("no note")));
        }
    }
    let canal = canal_profile(anatomy, rules)?;
    let stem_sizing = size_stems(anatomy, catalog, rules)?;
    notes.extend(stem_sizing.canal.notes.iter().cloned());
    notes.extend(stem_sizing.families.iter().flat_map(|f| f.notes.iter().cloned()));
    let size_indices = stem_sizing.size_indices();
    let size_index = size_indices[0];
    let targets = crate::stem::targets(anatomy);
    if anatomy.contralateral.is_some() && !targets.from_contralateral {
        notes.push("the other hip is imaged but a femoral shaft is not, so leg length and offset cannot be compared between the sides: the native hip's are restored instead".into());
    }
    // The native version of the stem placement: the head stays on its native azimuth.
    let native_version = crate::stem::native_stem_version(anatomy).deg();
    if !(-10.0..=40.0).contains(&native_version) {
        notes.push(format!("native stem version {native_version:.1} deg lies outside -10..40 deg: clamped"));
    }
    let native_version = native_version.clamp(-10.0, 40.0);
    if anatomy.operated.femur.anteversion_deg.is_none() {
        notes.push("condyles not imaged: stem anteversion relative to the femoral frame's fallback x axis (LPS x), not the condylar line".into());
    }
    let nominal_version = match options.stem_anteversion {
        Some((lo, hi)) => native_version.clamp(lo.deg(), hi.deg()),
        None => native_version,
    };
    let w = &options.weights;
    let mut fem = femoral_options(anatomy, catalog, rules, &size_indices, &cup_centre, Angle::from_deg(nominal_version), &targets, w.leg_length_per_mm.max(1e-3), w.offset_per_mm.max(1e-3))?;
    let within = |f: &FemoralReconstruction| {
        (f.leg_length_change_mm - targets.leg_length_change_mm).abs() <= rules.restore_tolerance_mm && (f.offset_change_mm - targets.offset_change_mm).abs() <= rules.restore_tolerance_mm
    };
    if fem.iter().any(|(_, f)| within(f)) {
        fem.retain(|(_, f)| within(f));
    } else {
        notes.push(format!("no stem and head offset restores leg length and offset within {} mm; the closest are searched", rules.restore_tolerance_mm));
    }

    // 3. Discrete combinations: liner x head x femoral option. A shell size with the engineer's
    // own cup (its series' `frames`) bears one head: its frame's bearing diameter.
    let bearing = catalog.shell_frame(shell.outer_diameter_mm).map(|z| z.bearing_diameter_mm);
    if let Some(b) = bearing {
        notes.push(format!("the {} mm shell is the engineer's own cup (its mesh); it bears a {b} mm head only", shell.outer_diameter_mm));
    }
    let mut combos = Vec::new();
    for liner_name in &options.liners {
        let spec = catalog.liner_spec(liner_name)?;
        let mut heads: Vec<f64> = catalog.heads.iter().flat_map(|h| h.diameters_mm.iter().copied()).collect();
        // Largest first: between candidates of equal objective the larger head (the larger
        // jump distance) is kept.
        heads.sort_by(|a, b| b.total_cmp(a));
        heads.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let heads: Vec<f64> = match options.head_diameter_mm {
            Some(d) => vec![d],
            None => heads.into_iter().filter(|d| *d >= MIN_HEAD_MM).collect(),
        };
        for h in heads {
            if catalog.liner(spec, h, &shell).is_err() || bearing.is_some_and(|b| (b - h).abs() > 1e-6) {
                continue;
            }
            for (_, f) in fem.iter().take(options.femoral_options) {
                let famspec = catalog.stems.iter().find(|s| s.name == f.stem_family);
                let (ccd, offset_mm) =
                    famspec.and_then(|s| s.sizes.iter().find(|z| z.size == f.stem_size).map(|z| (Angle::from_deg(s.ccd_deg), z.offset_mm))).unwrap_or((Angle::from_deg(130.0), 40.0));
                combos.push(Combo { liner: liner_name.clone(), head_mm: h, femoral: f.clone(), ccd, offset_mm });
            }
        }
    }
    if combos.is_empty() {
        let own = bearing.map_or(String::new(), |b| format!(" (its own cup bears a {b} mm head; the catalog's heads must include it)"));
        return Err(PlanError::NoFit { why: format!("no head of {:?} fits a {} mm shell with liner(s) {:?}{own}", options.head_diameter_mm, shell.outer_diameter_mm, options.liners) });
    }

    // 4. The query.
    let infos = scorer.motions();
    let motions: Vec<String> = match &options.motions {
        Some(m) => m.clone(),
        None => infos.iter().filter(|m| m.daily_life).map(|m| m.name.clone()).collect(),
    };
    if motions.is_empty() {
        return Err(PlanError::InvalidOption { what: "motions".into(), value: "[]".into(), why: "the scorer offers no daily-life motion; name the motions to optimise".into() });
    }
    let query = RomQuery { motions: motions.clone(), tilts: options.tilts, resolution_deg: options.resolution_deg, margin_cap_deg: Some(options.margin_cap_deg) };
    let stem_search = options.stem_anteversion.is_some();
    let ctx = Ctx { anatomy, scorer, options, combos, coverage, cup_centre, shell_mm: shell.outer_diameter_mm, targets, query, stem_search };

    // 5. The grid.
    let step = options.grid_step.deg();
    let incs = grid(options.inclination.0.deg(), options.inclination.1.deg(), step);
    let avs = grid(options.anteversion.0.deg(), options.anteversion.1.deg(), step);
    let stems = match options.stem_anteversion {
        Some((lo, hi)) => grid(lo.deg(), hi.deg(), step),
        None => vec![nominal_version],
    };
    // Counted before the candidates are made (the finest grid would not fit in memory).
    let n_wanted = ctx.combos.len().saturating_mul(stems.len()).saturating_mul(incs.len()).saturating_mul(avs.len());
    if n_wanted > MAX_GRID_CANDIDATES {
        return Err(PlanError::SearchTooLarge {
            candidates: n_wanted,
            limit: MAX_GRID_CANDIDATES,
            dimensions: format!(
                "{} inclinations x {} anteversions x {} stem versions x {} head, liner and stem combinations at a {step} deg grid step",
                incs.len(),
                avs.len(),
                stems.len(),
                ctx.combos.len()
            ),
        });
    }
    let mut cands = Vec::new();
    for combo in 0..ctx.combos.len() {
        for &stem in &stems {
            for &inc in &incs {
                for &av in &avs {
                    cands.push(Cand { combo, inc, av, stem });
                }
            }
        }
    }
    let n_grid = cands.len();
    let mut book = Book::default();
    let mut all: Vec<Evaluated> = Vec::new();
    let _ = book.run(&ctx, cands, &mut all);
    if all.is_empty() {
        return Err(PlanError::NoFeasibleCandidate { n: n_grid, first: book.first_error });
    }

    // 6. Compass search from the best grid candidates.
    let best_of = |all: &[Evaluated]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..all.len()).collect();
        idx.sort_by(|&a, &b| all[b].terms.total.total_cmp(&all[a].terms.total).then(a.cmp(&b)));
        idx
    };
    let clamp = |v: f64, (lo, hi): (Angle, Angle)| v.clamp(lo.deg(), hi.deg());
    let seeds: Vec<usize> = best_of(&all).into_iter().take(SEEDS).collect();
    let mut over_budget = false;
    'seeds: for seed in seeds {
        let mut at = seed;
        let mut s = step / 2.0;
        while s >= options.refine_step.deg() - 1e-12 {
            if book.seen.len() >= n_grid + MAX_REFINE_CANDIDATES {
                over_budget = true;
                break 'seeds;
            }
            let c = all[at].cand;
            let mut nb = vec![
                Cand { inc: clamp(c.inc + s, options.inclination), ..c },
                Cand { inc: clamp(c.inc - s, options.inclination), ..c },
                Cand { av: clamp(c.av + s, options.anteversion), ..c },
                Cand { av: clamp(c.av - s, options.anteversion), ..c },
            ];
            if let Some(r) = options.stem_anteversion {
                nb.push(Cand { stem: clamp(c.stem + s, r), ..c });
                nb.push(Cand { stem: clamp(c.stem - s, r), ..c });
            }
            let found = book.run(&ctx, nb, &mut all);
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
        notes.push(format!("the compass refinement stopped at its budget of {MAX_REFINE_CANDIDATES} candidates after the {n_grid}-candidate grid: the plan is the best found so far"));
    }

    // 7. The best, its full report, the Pareto set.
    let order = best_of(&all);
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
    let placement = ctx.placement(&best.cand);
    let femoral = ctx.femoral(&best.cand);
    let full = RomQuery { motions: infos.iter().map(|m| m.name.clone()).collect(), tilts: options.tilts, resolution_deg: 0.05, margin_cap_deg: None };
    let rom = scorer.score(&placement, &full)?;
    let stuck = rom.motions.iter().filter(|m| m.start_in_contact).count();
    if stuck > 0 {
        notes.push(format!(
            "{stuck} of {} motions start in contact: the planned femur overlaps the pelvis; check the landmarks (femoral shaft axis, head and acetabular centres) before trusting this plan",
            rom.motions.len()
        ));
    }
    let pareto = pareto_idx
        .into_iter()
        .take(options.pareto_max)
        .map(|i| {
            let e = &all[i];
            let f = ctx.femoral(&e.cand);
            ParetoPoint {
                inclination_deg: e.cand.inc,
                anteversion_deg: e.cand.av,
                stem_anteversion_deg: e.cand.stem,
                head_diameter_mm: ctx.combos[e.cand.combo].head_mm,
                liner: ctx.combos[e.cand.combo].liner.clone(),
                stem_family: f.stem_family,
                stem_size: f.stem_size,
                head_offset_mm: f.head_offset_mm,
                objective: e.terms.clone(),
            }
        })
        .collect();
    Ok(Plan {
        placement,
        cup,
        canal,
        stem_size_index: size_index,
        stem_sizing,
        targets,
        femoral,
        objective: best.terms.clone(),
        rom,
        search_motions: motions,
        tilts: options.tilts,
        pareto,
        evaluated: all.len(),
        failed: book.failed,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

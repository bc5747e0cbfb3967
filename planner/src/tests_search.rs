//! Issue 60: the best plan in the space searched. A landscape like the real CT's (a bone limit
//! that only a stem version away from the native one clears), the stem version searched by
//! default, the optimiser against an exhaustive grid of the same space at half the step, one
//! evaluator for a fixed and a searched stem version, and the change that comes closest when the
//! plan misses a daily-life need.

use std::time::Instant;

use coxa_core::{Angle, CupAngleDefinition, FirstContact, ImplantPlacement, MotionInfo, MotionScore, RomQuery, RomScore, RomScorer, ScoreError, Side};
use coxa_implants::Catalog;
use rayon::prelude::*;

use crate::space::{Choice, PlanSpace};
use crate::tests::{Analytic, NATIVE_VERSION, options, synthetic};
use crate::{PlanOptions, plan};

/// [`Analytic`]'s two daily-life motions with a bone limit on the posterior one: outside the stem
/// versions `basin` it is `outside - 0.3 |stem - native|` deg of margin (a bone-on-bone contact no
/// cup angle moves, least bad at the native version, so a local search from there stays there);
/// inside, `inside`. `anterior_in_basin`: the anterior margin's cap inside the basin.
struct Basin {
    inner: Analytic,
    basin: (f64, f64),
    outside: f64,
    inside: f64,
    anterior_in_basin: f64,
}

impl RomScorer for Basin {
    fn motions(&self) -> Vec<MotionInfo> {
        self.inner.motions()
    }
    fn score(&self, p: &ImplantPlacement, q: &RomQuery) -> Result<RomScore, ScoreError> {
        let mut s = self.inner.score(p, q)?;
        let v = p.stem_anteversion.deg();
        let inside = (self.basin.0..=self.basin.1).contains(&v);
        for m in &mut s.motions {
            let req = m.required_deg.unwrap_or(0.0);
            let cap = if m.name == "posterior" {
                Some(if inside { self.inside } else { self.outside - 0.3 * (v - NATIVE_VERSION).abs() })
            } else if m.name == "anterior" && inside {
                Some(self.anterior_in_basin)
            } else {
                None
            };
            if let Some(c) = cap
                && m.limit_deg > req + c
            {
                *m = MotionScore { limit_deg: req + c, contact: Some(FirstContact::BoneBone), contact_parts: Some("femur-pelvis".into()), ..m.clone() };
            }
        }
        Ok(s)
    }
}

/// The default space narrowed to one head (32 mm) and one femoral option a stem version, so that
/// a debug build plans it in a second or two (the planner is compiled at opt-level 0 in dev).
fn small() -> PlanOptions {
    options().with_head_diameter_mm(32.0).with_femoral_options(1)
}

fn basin(inside: f64, outside: f64, anterior_in_basin: f64) -> Basin {
    Basin { inner: Analytic { inclination: 42.0, combined: 27.3, stem: None }, basin: (14.0, 20.0), outside, inside, anterior_in_basin }
}

/// The best objective of the exhaustive grid at `step` over the whole space of `o`, and its size.
fn grid_best(scorer: &dyn RomScorer, o: &PlanOptions, step: f64) -> (f64, usize) {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let space = PlanSpace::new(&a, &c, scorer, o).unwrap();
    let choices = space.grid_choices(step);
    let best = choices.par_iter().map(|c| space.evaluate(c).map_or(f64::NEG_INFINITY, |t| t.total)).reduce(|| f64::NEG_INFINITY, f64::max);
    (best, choices.len())
}

/// Issue 60, the real CT's failure in miniature: at the native version (12 deg) a bone limit
/// leaves the posterior motion 4 deg short whatever the cup; stem versions 14-20 deg clear it.
/// The default search (native +- 10 deg) finds that region and meets every need; the native
/// version alone cannot, and says no candidate of its space comes closer.
#[test]
fn issue_60_the_stem_version_that_clears_the_bone_is_found_by_default() {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let scorer = basin(6.0, -4.0, 30.0);
    let p = plan(&a, &c, &scorer, &small()).unwrap();
    let v = p.placement.stem_anteversion.deg();
    let [lo, hi] = p.stem_anteversion_range_deg;
    assert!((lo - (NATIVE_VERSION - 10.0)).abs() < 1e-9 && (hi - (NATIVE_VERSION + 10.0)).abs() < 1e-9, "{lo}..{hi}");
    assert!((14.0..=20.0).contains(&v), "stem {v}");
    assert!(p.daily_life.met && p.daily_life.closest.is_none() && p.objective.rom_min_margin_deg > 0.0, "{:?}", p.daily_life);
    assert!(p.daily_life.summary.starts_with("meets every daily-life need"), "{}", p.daily_life.summary);
    let native = plan(&a, &c, &scorer, &small().with_native_stem_version()).unwrap();
    assert!((native.placement.stem_anteversion.deg() - NATIVE_VERSION).abs() < 1e-9);
    assert!(!native.daily_life.met && native.daily_life.closest.is_none(), "{:?}", native.daily_life);
    assert_eq!(native.daily_life.short.len(), 1);
    assert!((native.daily_life.short[0].margin_deg + 4.0).abs() < 1e-9, "{:?}", native.daily_life.short);
    assert!(native.daily_life.summary.contains("posterior (-4.0 deg); no candidate of the searched space comes closer"), "{}", native.daily_life.summary);
    assert!(p.objective.total > native.objective.total + 5.0);
}

/// When the objective prefers a plan that misses a need (its other motion's margin counts too),
/// the plan names the change that comes closest: here the stem version alone, with the plan's
/// cup, leaves the posterior motion 1 deg short instead of 2, at a lower objective.
#[test]
fn issue_60_the_closest_change_is_named() {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let scorer = basin(-1.0, -2.0, 0.0);
    let p = plan(&a, &c, &scorer, &small()).unwrap();
    let d = &p.daily_life;
    assert!(!d.met && (d.min_margin_deg + 2.0).abs() < 1e-9, "{d:?}");
    assert!((p.placement.stem_anteversion.deg() - NATIVE_VERSION).abs() < 1e-9, "the bone is least short at the native version");
    let k = d.closest.as_ref().expect("a closer candidate");
    assert_eq!(k.changes.len(), 1, "{k:?}");
    assert!(k.changes[0].starts_with("stem anteversion") && (14.0..=20.0).contains(&k.stem_anteversion_deg), "{k:?}");
    assert!((k.min_margin_deg + 1.0).abs() < 1e-9 && k.short.len() == 1 && k.short[0].motion == "posterior", "{k:?}");
    assert!(k.objective < p.objective.total);
    assert!(d.summary.contains("meets all but posterior (-1.0 deg)"), "{}", d.summary);
    eprintln!("{}", d.summary);
}

/// One evaluator: the plan fixed at stem 15 deg and the default search's space evaluated at the
/// same choice give the same femur (head centre, seat), the same placement and the same
/// objective, bit for bit. (Before issue 60 the search collided every version with the femur
/// at the nominal version's head centre and seat.)
#[test]
fn issue_60_a_fixed_stem_version_and_the_search_agree() {
    let a = synthetic();
    let c = Catalog::builtin().unwrap();
    let scorer = basin(6.0, -4.0, 30.0);
    let fixed_o = small().with_stem_anteversion(Angle::from_deg(15.0), Angle::from_deg(15.0));
    let fixed = plan(&a, &c, &scorer, &fixed_o).unwrap();
    let o = small();
    let space = PlanSpace::new(&a, &c, &scorer, &o).unwrap();
    let pl = &fixed.placement;
    let combo = space
        .combos
        .iter()
        .position(|k| k.head_mm == pl.head_diameter_mm && k.liner == pl.liner && k.femoral_rank == 0)
        .expect("the fixed plan's combination is in the searched space (one femoral option: rank 0)");
    // The plan is the first of its Pareto set, which keeps the angles as searched.
    let (inc, av) = (fixed.pareto[0].inclination_deg, fixed.pareto[0].anteversion_deg);
    let r = pl.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    assert!((r.inclination.deg() - inc).abs() < 1e-9 && (r.anteversion.deg() - av).abs() < 1e-9);
    let choice = Choice { combo, inclination_deg: inc, anteversion_deg: av, stem_anteversion_deg: 15.0 };
    assert_eq!(space.femoral(&choice), Some(fixed.femoral.clone()));
    assert_eq!(space.placement(&choice).as_ref(), Some(pl));
    assert_eq!(space.evaluate(&choice).unwrap(), fixed.objective);
}

/// Plans with `o` and checks the plan against the exhaustive grid of its space at half the step:
/// within 0.5 % of the grid's best (or above it).
fn against_the_grid(name: &str, scorer: &dyn RomScorer, o: &PlanOptions) {
    let (a, c) = (synthetic(), Catalog::builtin().unwrap());
    let t = Instant::now();
    let p = plan(&a, &c, scorer, o).unwrap();
    let t_plan = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (best, n) = grid_best(scorer, o, o.grid_step.deg() / 2.0);
    eprintln!("{name}: plan {:.4} ({} candidates, {t_plan:.2} s), grid best {best:.4} ({n} candidates, {:.2} s)", p.objective.total, p.evaluated, t.elapsed().as_secs_f64());
    assert!(p.objective.total >= best - 0.005 * best.abs(), "{name}: plan {} against the grid's {best}", p.objective.total);
    assert!(n > 4 * p.evaluated, "{name}: the grid ({n}) is larger than the search ({})", p.evaluated);
}

/// The optimiser against the exhaustive grid of its own space at half its step (1.25 deg over cup
/// inclination 30-55, anteversion 0-35 and stem version 2-22 deg) on the landscape with the bone
/// basin, one head and one femoral option a stem version.
#[test]
fn issue_60_the_plan_is_within_half_a_percent_of_the_exhaustive_grid() {
    against_the_grid("bone basin, 32 mm head", &basin(6.0, -4.0, 30.0), &small());
}

/// The same over the whole default space (every head, three femoral options a stem version), on
/// the smooth landscape and on the bone basin.
#[test]
#[ignore = "two exhaustive grids of 155,000 candidates: about 5 min in the debug build on a loaded 2-core machine; run with `cargo test -p coxa-planner -- --ignored issue_60`"]
fn issue_60_the_plan_is_within_half_a_percent_of_the_exhaustive_grid_default_space() {
    against_the_grid("smooth", &Analytic { inclination: 41.2, combined: 27.3, stem: Some(17.0) }, &options());
    against_the_grid("bone basin", &basin(6.0, -4.0, 30.0), &options());
}

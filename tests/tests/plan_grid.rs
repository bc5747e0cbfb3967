//! Issue 60, the best plan in the space searched, on the real bones of z013 (right hip, the left
//! as reference) with the simulator as scorer: the optimiser's objective against the best of an
//! exhaustive grid of its own space at a finer step, every candidate scored by the planner's one
//! evaluator (`PlanSpace::evaluate`). The real CT has the same test in the `coxa` binary's
//! tests (`scenarios/tests/coxa/plan_grid.rs`: it needs coxa's segmentation).

use std::time::Instant;

use anyhow::Result;

use coxa_core::Angle;
use coxa_implants::Catalog;
use coxa_planner::{PlanOptions, PlanSpace, plan};

use crate::common::check_plan_against_grid;
use crate::plan::case;

/// Plans with `o` and checks the plan against the exhaustive grid at the step over `finer`.
fn check(o: &PlanOptions, finer: f64, label: &str) -> Result<()> {
    let Some((anatomy, scorer)) = case() else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let t = Instant::now();
    let p = plan(&anatomy, &catalog, &scorer, o)?;
    let t_plan = t.elapsed().as_secs_f64();
    let space = PlanSpace::new(&anatomy, &catalog, &scorer, o)?;
    check_plan_against_grid(label, &p, t_plan, &space, o.grid_step.deg() / finer);
    Ok(())
}

/// Always run: a smaller space (head 32 mm, one femoral option a stem version, cup 35-50 / 5-30
/// deg, stem native +- 5 deg, 5 deg grid) against its exhaustive grid at 1.25 deg (at 2.5 deg
/// the grid, 385 points, was under twice the plan's 214 candidates).
#[test]
fn vsd_plan_is_within_half_a_percent_of_the_exhaustive_grid_small() -> Result<()> {
    let o = PlanOptions::new()
        .with_head_diameter_mm(32.0)
        .with_femoral_options(1)
        .with_inclination(Angle::from_deg(35.0), Angle::from_deg(50.0))
        .with_anteversion(Angle::from_deg(5.0), Angle::from_deg(30.0))
        .with_stem_version_window(Angle::from_deg(5.0))
        .with_grid_step(Angle::from_deg(5.0))
        .with_refine_step(Angle::from_deg(0.5));
    check(&o, 4.0, "z013, small space")
}

/// The default space (every head, three femoral options a stem version, cup 30-55 / 0-35 deg,
/// stem native +- 10 deg, 2.5 deg grid) against its exhaustive grid at 1.25 deg. Measured
/// 2026-11-29 in a release build (21 s): plan 11.4620 (stem 11.68 deg), grid best 11.4315 over
/// 40,194 points: the plan is above the grid's best; it is short of anterior dislocation by
/// 1.3 deg and no candidate of the space comes closer.
#[test]
#[ignore = "about 100,000 range-of-motion queries with bones: many minutes in the dev profile; run with `cargo test -p coxa-tests --test e2e -- --ignored plan_grid::`"]
fn vsd_plan_is_within_half_a_percent_of_the_exhaustive_grid_default() -> Result<()> {
    check(&PlanOptions::new(), 2.0, "z013, default space")
}

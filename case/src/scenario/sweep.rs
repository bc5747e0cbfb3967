//! A scenario's sweep: every combination of the lists under `[implants]`, `[placement]` and
//! `[rom]` (ranges checked), in a fixed order, and the motions asked for.

use coxa_core::plan_ranges::PlanValue;
use coxa_planner::GRID_STEP_RANGE_DEG;
use toml::Spanned;

use super::{Checker, Placement, ScenarioError, SweepPoint};
use crate::scenario_file::{Finite, OneOrMany, ScenarioFile, parse_definition};

/// The sweep points of `raw`: designs x heads x offsets x liners x stems x placements x tilts.
pub(super) fn sweep(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Vec<SweepPoint>, ScenarioError> {
    let list = |v: &Option<Spanned<OneOrMany<Finite>>>| -> Vec<f64> { v.as_ref().map(|s| s.get_ref().0.iter().map(|f| f.0).collect()).unwrap_or_default() };
    // The plan's ranges: the ones `coxa rom`, the desk and a saved revision are checked against.
    let check_range = |v: &Option<Spanned<OneOrMany<Finite>>>, field: &str, what: PlanValue| -> Result<(), ScenarioError> {
        if let Some(s) = v {
            for f in &s.get_ref().0 {
                what.check(f.0).map_err(|e| cx.err(cx.at(s.span()), Some(field), e.to_string()))?;
            }
        }
        Ok(())
    };
    let im = &raw.implants;
    check_range(&im.head_diameter_mm, "implants.head_diameter_mm", PlanValue::HeadDiameterMm)?;
    check_range(&im.head_offset_mm, "implants.head_offset_mm", PlanValue::HeadOffsetMm)?;
    let heads: Vec<Option<f64>> = if im.head_diameter_mm.is_some() { list(&im.head_diameter_mm).into_iter().map(Some).collect() } else { vec![None] };
    let offsets = if im.head_offset_mm.is_some() { list(&im.head_offset_mm) } else { vec![0.0] };
    let liners: Vec<Option<String>> = im.liner.as_ref().map_or(vec![None], |l| l.get_ref().0.iter().cloned().map(Some).collect());
    let stems: Vec<Option<String>> = im.stem_size.as_ref().map_or(vec![None], |l| l.get_ref().0.iter().cloned().map(Some).collect());
    let placements: Vec<Option<Placement>> = match &raw.placement {
        None => vec![None],
        Some(p) => {
            let def = match &p.cup_definition {
                None => coxa_core::CupAngleDefinition::Radiographic,
                Some(d) => parse_definition(d.get_ref())
                    .ok_or_else(|| cx.err(cx.at(d.span()), Some("placement.cup_definition"), format!("{:?}: use radiographic, operative or anatomic (Murray 1993)", d.get_ref())))?,
            };
            let inc = Some(p.cup_inclination_deg.clone());
            let av = Some(p.cup_anteversion_deg.clone());
            check_range(&inc, "placement.cup_inclination_deg", PlanValue::CupInclinationDeg)?;
            check_range(&av, "placement.cup_anteversion_deg", PlanValue::CupAnteversionDeg)?;
            check_range(&p.stem_anteversion_deg, "placement.stem_anteversion_deg", PlanValue::StemAnteversionDeg)?;
            let stems_av = if p.stem_anteversion_deg.is_some() { list(&p.stem_anteversion_deg) } else { vec![15.0] };
            let mut out = Vec::new();
            for i in list(&inc) {
                for a in list(&av) {
                    for s in &stems_av {
                        out.push(Some(Placement {
                            cup: coxa_core::CupAngles { definition: def, inclination: coxa_core::Angle::from_deg(i), anteversion: coxa_core::Angle::from_deg(a) },
                            stem_anteversion_deg: *s,
                        }));
                    }
                }
            }
            out
        }
    };
    check_range(&raw.rom.standing_tilt_deg, "rom.standing_tilt_deg", PlanValue::StandingTiltDeg)?;
    let tilts = if raw.rom.standing_tilt_deg.is_some() { list(&raw.rom.standing_tilt_deg) } else { vec![0.0] };
    let sitting_extra = raw.rom.sitting_extra_tilt_deg.as_ref().map_or(20.0, |s| s.get_ref().0);
    if let Some(s) = &raw.rom.sitting_extra_tilt_deg {
        PlanValue::SittingExtraTiltDeg.check(s.get_ref().0).map_err(|e| cx.err(cx.at(s.span()), Some("rom.sitting_extra_tilt_deg"), e.to_string()))?;
    }
    for (field, r) in [("plan.cup_inclination_range_deg", &raw.plan.cup_inclination_range_deg), ("plan.cup_anteversion_range_deg", &raw.plan.cup_anteversion_range_deg)] {
        if let Some(r) = r {
            let [a, b] = *r.get_ref();
            if a.0 > b.0 {
                return Err(cx.err(cx.at(r.span()), Some(field), format!("[{}, {}]: the minimum is above the maximum", a.0, b.0)));
            }
        }
    }
    if let Some(g) = &raw.plan.grid_step_deg {
        let step = g.get_ref().0;
        if !(GRID_STEP_RANGE_DEG.0..=GRID_STEP_RANGE_DEG.1).contains(&step) {
            return Err(cx.err(
                cx.at(g.span()),
                Some("plan.grid_step_deg"),
                format!("{step} deg is out of range {}..={} (the optimiser's grid step over the cup angles)", GRID_STEP_RANGE_DEG.0, GRID_STEP_RANGE_DEG.1),
            ));
        }
    }
    let designs: Vec<Option<String>> = if raw.designs.is_empty() { vec![None] } else { raw.designs.iter().map(|d| Some(d.name.get_ref().clone())).collect() };
    let mut sweep = Vec::new();
    for d in &designs {
        for h in &heads {
            for o in &offsets {
                for l in &liners {
                    for z in &stems {
                        for p in &placements {
                            for t in &tilts {
                                sweep.push(SweepPoint {
                                    design: d.clone(),
                                    head_diameter_mm: *h,
                                    head_offset_mm: *o,
                                    liner: l.clone(),
                                    stem_size: z.clone(),
                                    placement: *p,
                                    standing_tilt_deg: *t,
                                    sitting_extra_tilt_deg: sitting_extra,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(sweep)
}

/// The motions asked for by name (`[rom] motions`; empty: all), checked against the simulator's.
pub(super) fn motions(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Vec<String>, ScenarioError> {
    Ok(match &raw.rom.motions {
        None => Vec::new(),
        Some(m) => {
            let known: Vec<&str> = coxa_sim::rom::all_motions().iter().map(|m| m.name).collect();
            for name in m.get_ref() {
                if !known.contains(&name.as_str()) {
                    return Err(cx.err(cx.at(m.span()), Some("rom.motions"), format!("unknown motion {name:?}; known: {}", known.join(", "))));
                }
            }
            m.get_ref().clone()
        }
    })
}

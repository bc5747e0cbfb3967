//! The planner on the real bones of one subject (../shared/data/vsd_bones, z013, right hip
//! planned, left hip as the contralateral reference) with the simulator as its ROM scorer:
//! a complete plan, the sizing rules, leg length and offset, ROM reproduced by re-running the
//! simulator, byte-identical JSON, and the spinopelvic-mobility trend (issue 5).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use nalgebra::Matrix4;

use coxa_anatomy::landmarks::hip_anatomy;
use coxa_anatomy::landmarks::{acetabulum_landmarks, femur_landmarks};
use coxa_core::{Angle, CupAngleDefinition, Mesh, PostureTilts, Side};
use coxa_implants::Catalog;
use coxa_planner::{HipLandmarks, PlanAnatomy, PlanOptions, plan};
use coxa_sim::rom::{self, PelvicTilts, SweepOptions};
use coxa_sim::score::{ScorerBones, SimScorer};
use coxa_sim::{BoneGeometry, BoneOptions, HipModel};

use crate::common::shared_data;

fn bone(name: &str) -> Option<Mesh> {
    shared_data(&format!("vsd_bones/z013_{name}.stl")).map(|p| coxa_io::mesh::read_stl(&p).expect("readable STL"))
}

/// The right hip of z013 to plan, the left as reference, and the simulator as scorer.
pub(crate) fn case() -> Option<(PlanAnatomy, SimScorer)> {
    let (hl, hr, fl, fr) = (bone("Hip_L")?, bone("Hip_R")?, bone("Femur_L")?, bone("Femur_R")?);
    Some(case_of(Side::Right, hr, hl, fr, fl))
}

/// The mirror image of z013 (x -> -x): its left hip is the right hip above.
fn mirrored_case() -> Option<(PlanAnatomy, SimScorer)> {
    let m = |x: Mesh| x.transformed(&Matrix4::from_diagonal(&nalgebra::Vector4::new(-1.0, 1.0, 1.0, 1.0)));
    let (hl, hr, fl, fr) = (bone("Hip_L")?, bone("Hip_R")?, bone("Femur_L")?, bone("Femur_R")?);
    Some(case_of(Side::Left, m(hr), m(hl), m(fr), m(fl)))
}

/// `side`'s hip (`hip`, `femur`) planned against the other (`other_hip`, `other_femur`).
fn case_of(side: Side, hr: Mesh, hl: Mesh, fr: Mesh, fl: Mesh) -> (PlanAnatomy, SimScorer) {
    let hip = hip_anatomy(side, &hr, Some(&hl), &fr).unwrap();
    assert!(hip.frame_is_app);
    let other_femur = femur_landmarks(&fl, side.opposite()).unwrap();
    let other_acetabulum = acetabulum_landmarks(&hl, side.opposite(), Some((other_femur.head_centre.lps_mm, other_femur.head_radius_mm))).unwrap();
    let frame_of = |f: &coxa_anatomy::landmarks::FemurLandmarks| f.femoral_frame().unwrap().femur_from_lps;
    let anatomy = PlanAnatomy {
        side,
        frame: hip.frame,
        pelvis: hr.clone(),
        femur: fr.clone(),
        operated: HipLandmarks { acetabulum: hip.acetabulum.clone(), femur: hip.femur.clone(), femur_from_lps: frame_of(&hip.femur) },
        contralateral: Some(HipLandmarks { acetabulum: other_acetabulum, femur: other_femur.clone(), femur_from_lps: frame_of(&other_femur) }),
        canal: None,
    };
    let scorer = SimScorer::with_bones(Catalog::builtin().unwrap(), hip.frame, ScorerBones { pelvis: hr, femur: fr, femur_landmarks: hip.femur, options: BoneOptions::default() });
    (anatomy, scorer)
}

/// A coarser search than the default (5 deg grid, refined to 0.5 deg) to keep the test short.
fn options() -> PlanOptions {
    PlanOptions::new().with_grid_step(Angle::from_deg(5.0)).with_refine_step(Angle::from_deg(0.5)).with_femoral_options(2)
}

#[test]
fn vsd_plan_is_complete_sized_restored_and_reproducible() -> Result<()> {
    let Some((anatomy, scorer)) = case() else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let t = Instant::now();
    let p = plan(&anatomy, &catalog, &scorer, &options())?;
    eprintln!("plan in {:.1} s (dev profile), {} candidates, {} bone geometries", t.elapsed().as_secs_f64(), p.evaluated, scorer.prepared_bones());
    let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    eprintln!(
        "cup {} mm (acetabulum {:.1} mm, rule {:.1} mm), centre medialised {:.1} mm, wall {:.1} mm, coverage {:.0} % (reference {:.0} %)",
        p.cup.outer_diameter_mm,
        p.cup.acetabular_diameter_mm,
        p.cup.rule_diameter_mm,
        p.cup.medialisation_mm,
        p.cup.medial_wall_mm,
        100.0 * p.objective.coverage,
        100.0 * p.cup.reference_coverage
    );
    eprintln!(
        "cup RI {:.2} RA {:.2}, stem {} {} AV {:.1}, head {} mm offset {} mm, seat {:.1} mm",
        r.inclination.deg(),
        r.anteversion.deg(),
        p.placement.stem_family,
        p.placement.stem_size,
        p.placement.stem_anteversion.deg(),
        p.placement.head_diameter_mm,
        p.placement.head_offset_mm,
        p.femoral.seat_mm
    );
    eprintln!("canal {:?}", p.canal);
    eprintln!("targets {:?}; LL {:.2} mm, offset {:.2} mm", p.targets, p.femoral.leg_length_change_mm, p.femoral.offset_change_mm);
    eprintln!("objective {:?}", p.objective);
    eprintln!("notes {:?}; pareto {}", p.notes, p.pareto.len());

    // Complete: every scorer motion, sizes from the catalog.
    assert_eq!(p.rom.motions.len(), rom::all_motions().len());
    assert!(p.targets.from_contralateral);
    // Cup size within one size (2 mm) of the acetabular diameter rule (diameter + 2 mm).
    let rule = 2.0 * anatomy.operated.acetabulum.radius_mm + 2.0;
    assert!((p.cup.outer_diameter_mm - rule).abs() <= 2.0, "{} vs {rule}", p.cup.outer_diameter_mm);
    // Leg length and offset restored within 2 mm of the target (the other hip).
    assert!(p.objective.leg_length_error_mm.abs() <= 2.0, "{:?}", p.objective);
    assert!(p.objective.offset_error_mm.abs() <= 2.0, "{:?}", p.objective);
    // The angles lie in the searched ranges.
    assert!((30.0..=55.0).contains(&r.inclination.deg()) && (0.0..=35.0).contains(&r.anteversion.deg()));

    // Every reported ROM reproduced by re-running the simulator on the planned pose, built here
    // from the plan alone (catalog parts, femur moved to the planned head centre).
    let pl = &p.placement;
    let spec = catalog.liner_spec(&pl.liner)?;
    let shell = catalog.shell(pl.shell_outer_diameter_mm)?;
    let construct = coxa_implants::Construct::new(
        shell,
        catalog.liner(spec, pl.head_diameter_mm, &shell)?,
        catalog.head(pl.head_diameter_mm, pl.head_offset_mm)?,
        catalog.stem(Some(&pl.stem_family), &pl.stem_size)?,
    )?;
    let shift = pl.head_centre_on_femur_lps_mm - anatomy.operated.femur.head_centre.lps_mm;
    let femur = anatomy.femur.transformed(&Matrix4::new_translation(&-shift));
    let bones = BoneGeometry::new(&anatomy.pelvis, &femur, &anatomy.operated.femur, &anatomy.frame, pl.cup_centre_lps_mm, &construct, &BoneOptions::default())?;
    let model = HipModel::builder(Side::Right, construct).cup(pl.cup).stem_anteversion(pl.stem_anteversion).bones(Arc::new(bones)).build()?;
    let tilts = PelvicTilts { standing: p.tilts.standing, sitting: p.tilts.sitting };
    let again = rom::report(&model, &rom::all_motions(), &tilts, &SweepOptions::default());
    for (a, b) in p.rom.motions.iter().zip(&again.motions) {
        eprintln!(
            "  {:<30} {:>6.1} deg (rerun {:>6.1})  {:<16} margin {:?}",
            a.name,
            a.limit_deg,
            b.limit_deg,
            a.contact.map_or("none", |c| c.as_str()),
            a.margin_deg().map(|m| (m * 10.0).round() / 10.0)
        );
        assert_eq!(a.name, b.name);
        assert!((a.limit_deg - b.limit_deg).abs() <= 0.1, "{}: plan {} rerun {}", a.name, a.limit_deg, b.limit_deg);
        assert_eq!(a.contact.map(|c| c.as_str()), b.contact.map(|c| c.kind.as_str()), "{}", a.name);
    }

    // Same input -> byte-identical plan JSON (a fresh scorer: nothing cached).
    let (_, fresh) = case().expect("data present");
    let q = plan(&anatomy, &catalog, &fresh, &options())?;
    assert_eq!(serde_json::to_string(&p)?, serde_json::to_string(&q)?);
    Ok(())
}

/// Spinopelvic mobility: the pelvis tilting back 0 (stiff spine) to 30 deg on sitting down. A
/// stiff spine leaves the sitting cup closed in flexion, so the optimiser should open it: more
/// cup anteversion for less tilt change. Asserted where the cup decides (implants alone, on this
/// subject's frames and sizes); with the bones the table is reported: on z013 the limits that
/// bind are bone on bone, which no cup angle moves (see the printed worst motions).
#[test]
fn vsd_stiff_spine_calls_for_more_cup_anteversion() -> Result<()> {
    let Some((anatomy, bones)) = case() else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let alone = SimScorer::implants_only(catalog.clone(), anatomy.frame, Some(anatomy.operated.femur.femoral_frame()?));
    let mut rows = Vec::new();
    for (label, scorer) in [("implants alone", &alone), ("with bones", &bones)] {
        for change in [0.0, 10.0, 20.0, 30.0] {
            let o = options().with_femoral_options(1).with_tilts(PostureTilts::from_change(Angle::from_deg(0.0), Angle::from_deg(change)));
            let p = plan(&anatomy, &catalog, scorer, &o)?;
            let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
            eprintln!(
                "{label:<14} tilt change {change:>4.0} deg: cup RI {:>5.2} RA {:>5.2}, head {} mm, combined {:>5.1}, worst margin {:>5.1} ({}), rom term {:>5.1}, objective {:>5.2}",
                r.inclination.deg(),
                r.anteversion.deg(),
                p.placement.head_diameter_mm,
                p.objective.combined_anteversion_deg,
                p.objective.rom_min_margin_deg,
                p.objective.rom_worst_motion,
                p.objective.rom_term,
                p.objective.total
            );
            if label == "implants alone" {
                rows.push((change, r.anteversion.deg(), p.objective.rom_min_margin_deg));
            }
        }
    }
    // The stiff spine (0 deg) gets at least as much cup anteversion as every mobile one, and
    // strictly more than the most mobile (30 deg); anteversion never rises with mobility.
    assert!(rows.windows(2).all(|w| w[0].1 >= w[1].1 - 1e-9), "{rows:?}");
    assert!(rows[0].1 > rows[3].1, "{rows:?}");
    Ok(())
}

/// The implants-only scorer agrees with the bones scorer that bones only take range away.
#[test]
fn vsd_bones_only_take_range_away_from_the_plan() -> Result<()> {
    let Some((anatomy, scorer)) = case() else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let p = plan(&anatomy, &catalog, &scorer, &options().with_femoral_options(1).with_head_diameter_mm(32.0))?;
    let alone = SimScorer::implants_only(catalog, anatomy.frame, Some(anatomy.operated.femur.femoral_frame()?));
    let q = coxa_core::RomQuery { motions: p.rom.motions.iter().map(|m| m.name.clone()).collect(), tilts: p.tilts, resolution_deg: 0.05, margin_cap_deg: None };
    let a = coxa_core::RomScorer::score(&alone, &p.placement, &q)?;
    for (b, i) in p.rom.motions.iter().zip(&a.motions) {
        assert!(b.limit_deg <= i.limit_deg + 1e-9, "{}: bones {} > implants alone {}", b.name, b.limit_deg, i.limit_deg);
    }
    Ok(())
}

/// Mirror invariance: the mirror image of the subject, planned on the left, gets the same sizes
/// and (to the search's resolution) the same angles, leg length and offset.
#[test]
fn vsd_mirrored_anatomy_gets_the_mirrored_plan() -> Result<()> {
    let (Some((a, sa)), Some((b, sb))) = (case(), mirrored_case()) else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let o = options().with_femoral_options(1);
    let (p, q) = (plan(&a, &catalog, &sa, &o)?, plan(&b, &catalog, &sb, &o)?);
    let (rp, rq) = (p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right), q.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Left));
    eprintln!(
        "right: RI {:.2} RA {:.2} LL {:.2} off {:.2}; mirrored left: RI {:.2} RA {:.2} LL {:.2} off {:.2}",
        rp.inclination.deg(),
        rp.anteversion.deg(),
        p.femoral.leg_length_change_mm,
        p.femoral.offset_change_mm,
        rq.inclination.deg(),
        rq.anteversion.deg(),
        q.femoral.leg_length_change_mm,
        q.femoral.offset_change_mm
    );
    assert_eq!(
        (p.cup.outer_diameter_mm, p.placement.head_diameter_mm, &p.placement.stem_size, &p.placement.stem_family),
        (q.cup.outer_diameter_mm, q.placement.head_diameter_mm, &q.placement.stem_size, &q.placement.stem_family)
    );
    assert!((rp.inclination.deg() - rq.inclination.deg()).abs() <= 1.0 && (rp.anteversion.deg() - rq.anteversion.deg()).abs() <= 1.0);
    assert!((p.femoral.leg_length_change_mm - q.femoral.leg_length_change_mm).abs() < 0.5 && (p.femoral.offset_change_mm - q.femoral.offset_change_mm).abs() < 0.5);
    assert!((p.placement.stem_anteversion.deg() - q.placement.stem_anteversion.deg()).abs() < 0.5);
    Ok(())
}

/// The optimiser against exhaustive search on the simulator's own (non-smooth) landscape:
/// implants alone on this subject's frames, coverage out of the objective; every placement of
/// a 0.5 deg grid over the whole angle range scored the same way. The plan must reach the grid's
/// best objective, and unless it beats it (off the grid), lie within 1 deg of one of its best
/// placements.
#[test]
fn vsd_optimiser_matches_exhaustive_search() -> Result<()> {
    let Some((anatomy, _)) = case() else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let alone = SimScorer::implants_only(catalog.clone(), anatomy.frame, Some(anatomy.operated.femur.femoral_frame()?));
    let mut w = coxa_planner::Weights::default();
    w.coverage_per_pct = 0.0;
    let o = PlanOptions::new().with_femoral_options(1).with_head_diameter_mm(32.0).with_weights(w);
    let p = plan(&anatomy, &catalog, &alone, &o)?;
    let q = coxa_core::RomQuery { motions: p.search_motions.clone(), tilts: p.tilts, resolution_deg: o.resolution_deg, margin_cap_deg: Some(o.margin_cap_deg) };
    let mut best = (f64::NEG_INFINITY, Vec::new());
    for i in 0..=50 {
        for a in 0..=70 {
            let (inc, av) = (30.0 + 0.5 * f64::from(i), 0.5 * f64::from(a));
            let mut pl = p.placement.clone();
            pl.cup = coxa_core::CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(inc), anteversion: Angle::from_deg(av) };
            let s = coxa_core::RomScorer::score(&alone, &pl, &q)?;
            let t = coxa_planner::objective::objective(&s, &pl, &p.femoral, &p.targets, p.objective.coverage, &o).total;
            if t > best.0 + 1e-9 {
                best = (t, vec![(inc, av)]);
            } else if (t - best.0).abs() <= 1e-9 {
                best.1.push((inc, av));
            }
        }
    }
    let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    let near = best.1.iter().map(|(i, a)| (i - r.inclination.deg()).hypot(a - r.anteversion.deg())).fold(f64::INFINITY, f64::min);
    eprintln!(
        "plan RI {:.2} RA {:.2} objective {:.4}; exhaustive best {:.4} at {:?} ({} candidates in the plan)",
        r.inclination.deg(),
        r.anteversion.deg(),
        p.objective.total,
        best.0,
        best.1,
        p.evaluated
    );
    assert!(p.objective.total >= best.0 - 1e-6, "plan {} < exhaustive {}", p.objective.total, best.0);
    assert!(p.objective.total > best.0 + 1e-6 || near <= 1.0, "plan {:.2}/{:.2} is {near:.2} deg from the nearest exhaustive optimum {:?}", r.inclination.deg(), r.anteversion.deg(), best.1);
    Ok(())
}

/// A stem-anteversion search: the stem version found within its range, one pelvis field (the
/// costly part of the bone geometry) however many versions are tried; the resected femur
/// (milliseconds) is placed at each version's own head centre (issue 60).
#[test]
fn vsd_stem_anteversion_search_shares_the_bones() -> Result<()> {
    let Some((anatomy, scorer)) = case() else { return Ok(()) };
    let catalog = Catalog::builtin()?;
    let o = options().with_femoral_options(1).with_head_diameter_mm(32.0).with_stem_anteversion(Angle::from_deg(5.0), Angle::from_deg(30.0));
    let p = plan(&anatomy, &catalog, &scorer, &o)?;
    let r = p.placement.cup.to_definition(CupAngleDefinition::Radiographic, Side::Right);
    eprintln!(
        "stem search: stem {:.2} deg, cup RI {:.2} RA {:.2}, combined {:.1}, {} candidates, {} bone geometries",
        p.placement.stem_anteversion.deg(),
        r.inclination.deg(),
        r.anteversion.deg(),
        p.objective.combined_anteversion_deg,
        p.evaluated,
        scorer.prepared_bones()
    );
    assert!((5.0..=30.0).contains(&p.placement.stem_anteversion.deg()));
    assert_eq!(scorer.prepared_bones(), 1);
    Ok(())
}

/// The left hip of z013 planned against the right: it needs a longer leg and less offset at
/// once, which the standard stems cannot give; the reduced-offset series (135 deg) comes
/// closest. Cup size by the rule, leg length within 2 mm. The canal fill rule (60 mm below the
/// lesser trochanter) fits size 3, whose reduced-offset body has 2 mm more offset than size 2:
/// the offset is restored within 5 mm only (it was within 2 mm with size 2).
#[test]
fn vsd_left_hip_is_restored_too() -> Result<()> {
    let (Some(hl), Some(hr), Some(fl), Some(fr)) = (bone("Hip_L"), bone("Hip_R"), bone("Femur_L"), bone("Femur_R")) else { return Ok(()) };
    let (anatomy, scorer) = case_of(Side::Left, hl, hr, fl, fr);
    let p = plan(&anatomy, &Catalog::builtin()?, &scorer, &options())?;
    eprintln!(
        "left: cup {} mm, stem {} {}, head offset {} mm, LL {:.2} (target {:.2}), offset {:.2} (target {:.2})",
        p.cup.outer_diameter_mm,
        p.placement.stem_family,
        p.placement.stem_size,
        p.placement.head_offset_mm,
        p.femoral.leg_length_change_mm,
        p.targets.leg_length_change_mm,
        p.femoral.offset_change_mm,
        p.targets.offset_change_mm
    );
    let rule = 2.0 * anatomy.operated.acetabulum.radius_mm + 2.0;
    assert!((p.cup.outer_diameter_mm - rule).abs() <= 2.0, "{} vs {rule}", p.cup.outer_diameter_mm);
    assert!(p.placement.stem_family.contains("reduced offset"), "{}", p.placement.stem_family);
    assert!(p.objective.leg_length_error_mm.abs() <= 2.0 && p.objective.offset_error_mm.abs() <= 5.0, "{:?}", p.objective);
    Ok(())
}

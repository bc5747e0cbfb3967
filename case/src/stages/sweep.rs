//! The plan and range-of-motion stages over a scenario's sweep: for every sweep point the
//! implants and their placement (planned by the optimiser, or fixed by the scenario) and the
//! range of motion; the record from which the viewer rebuilds the first point's hip model; the
//! safe-zone map around it. Writes no file (the case writer does, [`crate::case_writer::write_sweep`]).

use std::path::Path;

use crate::bail;
use crate::error::{Context, Result};
use rayon::prelude::*;

use coxa_core::report::{LewinnekZone, SafeZoneMap};
use coxa_core::{Angle, Bone, CupAngleDefinition, CupAngles, RomRecord, Side};
use coxa_implants::Catalog;
use coxa_sim::rom::{self, PelvicTilts};

use super::Progress;
use super::anatomy::AnatomyResult;
use crate::rom::{HipBones, ImplantChoice, rom_record};
use crate::scenario::{Case, Placement, Scenario, SweepPoint};

/// Default implants when a fixed placement leaves them open.
const DEFAULT_HEAD_MM: f64 = 32.0;
const DEFAULT_LINER: &str = "hemispherical";
const DEFAULT_STEM: &str = "3";

/// Safe-zone map grid: radiographic inclination and anteversion, deg.
pub const SAFE_ZONE_INCLINATIONS_DEG: [f64; 6] = [30.0, 35.0, 40.0, 45.0, 50.0, 55.0];
/// See [`SAFE_ZONE_INCLINATIONS_DEG`].
pub const SAFE_ZONE_ANTEVERSIONS_DEG: [f64; 9] = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0];
/// Lewinnek's safe zone (radiographic): inclination 40 ± 10, anteversion 15 ± 10 deg.
pub const LEWINNEK_DEG: [f64; 4] = [5.0, 25.0, 30.0, 50.0];

/// What every sweep point of a case shares.
#[derive(Clone, Copy)]
pub struct SweepInputs<'a> {
    /// The scenario.
    pub scn: &'a Scenario,
    /// The case.
    pub case: &'a Case,
    /// The implant catalog.
    pub catalog: &'a Catalog,
    /// The anatomy stage's result.
    pub anatomy: &'a AnatomyResult,
    /// The motions asked for.
    pub motions: &'a [rom::Motion],
}

/// The motions of the scenario (`[rom] motions`; all when it names none).
pub fn motions(scn: &Scenario) -> Vec<rom::Motion> {
    let all = rom::all_motions();
    if scn.motions.is_empty() { all } else { all.into_iter().filter(|m| scn.motions.iter().any(|n| n == m.name)).collect() }
}

/// Every sweep point of the case in the scenario's order: planned or fixed, with its range of
/// motion; only the first keeps its hip model ([`PointResult::geometry`]). What was worked
/// around goes to `warnings`.
///
/// # Errors
/// A point's implants, plan or range of motion failing, with the point named.
pub fn sweep(inputs: &SweepInputs<'_>, progress: Progress<'_>, warnings: &mut Vec<String>) -> Result<Vec<PointResult>> {
    let SweepInputs { scn, case, anatomy, motions, .. } = *inputs;
    let mut results: Vec<PointResult> = Vec::new();
    let mut bone_cache: BoneCache = Vec::new();
    for point in &scn.sweep {
        let tilts = point.tilts();
        // A design's own catalog and parts (`[[designs]]`); else the scenario's.
        let design = point.design.as_ref().and_then(|n| scn.designs.iter().find(|d| d.name == *n));
        let inputs = SweepInputs { catalog: design.map_or(inputs.catalog, |d| &d.catalog), ..*inputs };
        let user = design.map_or((scn.user_cup.as_deref(), scn.user_stem.as_deref()), |d| (d.user_cup.as_deref(), d.user_stem.as_deref()));
        let result = match point.placement {
            None => {
                progress(&format!("planning {}", point.label()));
                planned_point(scn, case, inputs.catalog, anatomy, point, &tilts, motions)?
            }
            Some(placement) => fixed_point(&inputs, point, placement, &tilts, user, &mut bone_cache, results.is_empty(), warnings)?,
        };
        keep_point(&mut results, result);
    }
    Ok(results)
}

/// The hip bones prepared for a construct, by the construct's shell and neck cut.
type BoneCache = Vec<([u64; 2], Option<HipBones>)>;

/// A sweep point with the scenario's fixed placement: its implants (defaults where the scenario
/// leaves them open) on the native centre, and its range of motion. `first`: the case's first
/// point (which notes missing bones).
#[allow(clippy::too_many_arguments, reason = "one sweep point's plain inputs")]
fn fixed_point(
    inputs: &SweepInputs<'_>,
    point: &SweepPoint,
    placement: Placement,
    tilts: &PelvicTilts,
    (user_cup, user_stem): (Option<&Path>, Option<&Path>),
    bone_cache: &mut BoneCache,
    first: bool,
    warnings: &mut Vec<String>,
) -> Result<PointResult> {
    let SweepInputs { case, catalog, anatomy, motions, .. } = *inputs;
    let choice = ImplantChoice {
        head_mm: point.head_diameter_mm.unwrap_or(DEFAULT_HEAD_MM),
        head_offset_mm: point.head_offset_mm,
        neck_mm: None,
        liner: point.liner.clone().unwrap_or_else(|| DEFAULT_LINER.into()),
        shell_mm: None,
        stem_size: point.stem_size.clone().unwrap_or_else(|| DEFAULT_STEM.into()),
    };
    let construct = choice.construct(catalog).with_context(|| format!("implants of sweep point {}", point.label()))?;
    // The bone geometry depends on the construct only through the reamed shell and the neck
    // cut: sweep points that share them share it (preparing it takes ~0.4 s).
    let key = [construct.shell.outer_diameter_mm.to_bits(), construct.neck().end_mm.to_bits()];
    let bones = match bone_cache.iter().find(|(k, _)| *k == key) {
        Some((_, b)) => b.clone(),
        None => {
            let b = hip_bones(anatomy, case.side, &construct).context("hip bones for the range of motion")?;
            bone_cache.push((key, b.clone()));
            b
        }
    };
    if first && bones.is_none() {
        warnings.push(format!("no hip_{0} and femur_{0} surfaces (or their landmarks): range of motion of the implants alone", case.side.as_str()));
    }
    let stem_av = Angle::from_deg(placement.stem_anteversion_deg);
    // A stem size with its own STL (the catalog's `frame`) is that stem, unless the design
    // names a user stem of its own.
    let size_frame = catalog.stems.first().and_then(|f| f.sizes.iter().find(|z| z.size == choice.stem_size)).and_then(|z| z.frame.clone());
    // Likewise a shell size with its own cup, which bears one head size.
    let shell_frame = catalog.shell_frame(construct.shell.outer_diameter_mm);
    if user_cup.is_none()
        && let Some(z) = shell_frame
        && (z.bearing_diameter_mm - choice.head_mm).abs() > 1e-6
    {
        bail!(
            "sweep point {}: the {} mm shell's own cup ({}) bears a {} mm head, not {} mm; give head_diameter_mm = {}",
            point.label(),
            z.outer_diameter_mm,
            z.frame.display(),
            z.bearing_diameter_mm,
            choice.head_mm,
            z.bearing_diameter_mm
        );
    }
    let user = crate::rom::UserParts::load(user_cup.or(shell_frame.map(|z| z.frame.as_path())), user_stem.or(size_frame.as_deref()), choice.head_mm)?;
    let (model, rom) =
        rom_record(case.side, &construct, &choice.liner, placement.cup, stem_av, tilts, bones.as_ref(), &user, motions).with_context(|| format!("range of motion at {}", point.label()))?;
    Ok(PointResult {
        point: point.clone(),
        rom,
        choice,
        cup: placement.cup,
        stem_anteversion: stem_av,
        plan: None,
        geometry: Some(Box::new(PointGeometry { user, model, source: ModelSource::Fixed { construct: Box::new(construct), bones: bones.map(Box::new) } })),
    })
}

/// The bones of the operated side with their landmarks (the anatomy stage's), if the anatomy has them.
fn hip_bones(anatomy: &AnatomyResult, side: Side, construct: &coxa_implants::Construct) -> Result<Option<HipBones>> {
    match (anatomy.bone(Bone::hip(side)), anatomy.bone(Bone::femur(side)), anatomy.landmarks.hip(side)) {
        (Some(h), Some(f), Some(landmarks)) => Ok(Some(HipBones::new(landmarks, h.clone(), f.clone(), construct)?)),
        _ => Ok(None),
    }
}

/// The result of one sweep point.
pub struct PointResult {
    /// The sweep point.
    pub point: SweepPoint,
    /// Its range of motion (`rom/<label>.json`).
    pub rom: RomRecord,
    /// Its implants.
    pub choice: ImplantChoice,
    /// Its cup angles.
    pub cup: CupAngles,
    /// Its stem anteversion.
    pub stem_anteversion: Angle,
    /// The plan, when the point was planned.
    pub plan: Option<PlannedPoint>,
    /// The hip model and what it was built from: kept for the primary (first) point only, whose
    /// pictures, safe-zone map, viewer model and musculoskeletal stage need it. The other
    /// points' are dropped once their range of motion is known, so that a sweep's memory does
    /// not grow with its points (bones and implants are about 1.4 MB per point).
    pub geometry: Option<Box<PointGeometry>>,
}

/// A sweep point's hip model and its sources.
pub struct PointGeometry {
    /// The user's implant parts, if any.
    pub user: crate::rom::UserParts,
    /// The hip model.
    pub model: coxa_sim::HipModel,
    /// How to rebuild the model with other cup angles (the safe-zone map).
    pub source: ModelSource,
}

/// A planned sweep point: the planner's typed plan and its record (`plan.json`, the report's plan).
pub struct PlannedPoint {
    /// The planner's plan.
    pub plan: coxa_planner::Plan,
    /// Its record (`plan.json`).
    pub record: coxa_core::PlanRecord,
}

/// Where a sweep point's hip model comes from.
pub enum ModelSource {
    /// Fixed placement: catalog construct on the native centre (with the bones, if any).
    Fixed {
        /// The catalog construct.
        construct: Box<coxa_implants::Construct>,
        /// The bones prepared for it, when the case has them.
        bones: Option<Box<HipBones>>,
    },
    /// Planned: the planner's placement through the simulator's scorer, on the landmarks `anatomy`.
    Planned {
        /// The simulator as the planner's scorer.
        scorer: Box<coxa_sim::score::SimScorer>,
        /// The planned placement.
        placement: coxa_core::ImplantPlacement,
        /// The pelvic frame used, in words.
        frame_note: &'static str,
        /// The operated hip's landmarks the plan used.
        anatomy: Box<coxa_core::HipAnatomy>,
    },
}

impl PointResult {
    /// The range of motion with the cup at `cup` instead, everything else as at this point
    /// (whose geometry is `geo`).
    fn rom_with_cup(&self, geo: &PointGeometry, side: Side, cup: CupAngles, tilts: &PelvicTilts, motions: &[rom::Motion]) -> Result<RomRecord> {
        match &geo.source {
            ModelSource::Fixed { construct, bones } => Ok(rom_record(side, construct, &self.choice.liner, cup, self.stem_anteversion, tilts, bones.as_deref(), &geo.user, motions)?.1),
            ModelSource::Planned { scorer, placement, frame_note, anatomy } => {
                let mut p = placement.clone();
                p.cup = cup;
                let model = scorer.model(&p).context("the hip model with the cup moved")?;
                let naming = Some((coxa_core::ContactAnatomy::from(&**anatomy), p.head_centre_on_femur_lps_mm));
                Ok(crate::rom::rom_record_of(&model, &self.choice.liner, tilts, &geo.user, motions, frame_note, naming))
            }
        }
    }
}

/// Adds a sweep point's result; only the first keeps its geometry ([`PointResult::geometry`]).
fn keep_point(results: &mut Vec<PointResult>, mut r: PointResult) {
    if !results.is_empty() {
        r.geometry = None;
    }
    results.push(r);
}

/// The record (`model.json`) from which the viewer rebuilds the primary point's hip model.
pub fn case_model(scn: &Scenario, case: &Case, catalog: &Catalog, primary: &PointResult, geo: &PointGeometry, motions: &[rom::Motion]) -> coxa_core::CaseModel {
    let (placement, bones, anatomy) = match &geo.source {
        ModelSource::Planned { placement, anatomy, .. } => (placement.clone(), true, Some(anatomy.as_ref().clone())),
        ModelSource::Fixed { construct, bones } => {
            let centre = geo.model.hip_centre_lps_mm();
            let placement = coxa_core::ImplantPlacement {
                side: case.side,
                cup: primary.cup,
                cup_centre_lps_mm: centre,
                shell_outer_diameter_mm: construct.shell.outer_diameter_mm,
                liner: primary.choice.liner.clone(),
                head_diameter_mm: primary.choice.head_mm,
                head_offset_mm: primary.choice.head_offset_mm,
                // `ImplantChoice::construct` takes the catalog's first stem series.
                stem_family: catalog.stems.first().map(|s| s.name.clone()).unwrap_or_default(),
                stem_size: primary.choice.stem_size.clone(),
                stem_anteversion: primary.stem_anteversion,
                head_centre_on_femur_lps_mm: bones.as_ref().map_or(centre, |b| b.anatomy.femur.head_centre.lps_mm),
            };
            (placement, bones.is_some(), bones.as_ref().map(|b| b.anatomy.clone()))
        }
    };
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    coxa_core::CaseModel {
        model_version: coxa_core::CaseModel::MODEL_VERSION,
        placement,
        tilts: coxa_core::PostureTilts { standing: Angle::from_deg(primary.point.standing_tilt_deg), sitting: Angle::from_deg(primary.point.standing_tilt_deg + primary.point.sitting_extra_tilt_deg) },
        motions: motions.iter().map(|m| m.name.to_string()).collect(),
        catalog_dir: scn.catalog.as_deref().map(abs),
        bones,
        anatomy,
        user_cup: scn.user_cup.as_deref().map(abs),
        user_stem: scn.user_stem.as_deref().map(abs),
    }
}

/// The planner on one sweep point: surgeon constraints from the scenario and the point.
#[allow(clippy::too_many_arguments, reason = "one stage's plain inputs")]
fn planned_point(scn: &Scenario, case: &Case, catalog: &Catalog, anatomy: &AnatomyResult, point: &SweepPoint, tilts: &PelvicTilts, motions: &[rom::Motion]) -> Result<PointResult> {
    // The anatomy stage's landmarks; what it assumed is among its warnings already.
    let (mut plan_anatomy, hip, frame_note, notes) = super::plan::plan_anatomy(case.side, &anatomy.landmarks, &anatomy.bones)?;
    plan_anatomy.canal = anatomy.canal(case.side);
    let mut options = scn.plan_options.clone().with_tilts(coxa_core::PostureTilts { standing: tilts.standing, sitting: tilts.sitting });
    if let Some(h) = point.head_diameter_mm {
        options = options.with_head_diameter_mm(h);
    }
    if let Some(l) = &point.liner {
        options = options.with_liners(vec![l.clone()]);
    }
    let scorer = super::plan::scorer(&plan_anatomy, catalog)?;
    let mut plan = coxa_planner::plan(&plan_anatomy, catalog, &scorer, &options).with_context(|| format!("planning {}", point.label()))?;
    plan.notes.splice(0..0, anatomy.input_notes.iter().cloned().chain(notes));
    let mut record = super::plan::plan_record(&plan, &plan_anatomy, catalog, frame_note, &options);
    // The intervals (issue 59): the inputs' uncertainty from the fits, carried through the plan.
    // The CT's grid (its label map is dropped before the sweep; the record keeps the spacing).
    let ct_spacing = anatomy.record.ct.as_ref().map(|c| c.spacing_mm);
    let ell = super::plan_intervals::correlation_length_mm(ct_spacing, &plan_anatomy.femur);
    let ct_error = ct_spacing.map(|_| super::plan_intervals::CT_PATH_ERROR);
    let uncertainty = super::plan_intervals::input_uncertainty(&plan_anatomy, anatomy.bone(coxa_core::Bone::femur(case.side.opposite())), ell, ct_error.as_ref());
    let intervals = coxa_planner::intervals::plan_intervals(&plan_anatomy, catalog, &scorer, &options, &plan, &uncertainty).with_context(|| format!("the intervals of {}", point.label()))?;
    let mut iv = super::plan_intervals::intervals_record(&intervals);
    iv.warnings.splice(0..0, super::plan_intervals::plausibility_warnings(&plan_anatomy));
    record.intervals = Some(iv);
    crate::bone::add_fixation_to_plan(&mut record, &anatomy.record.fixation, case.side);
    crate::shape_predict::add_prediction_to_plan(&mut record, &anatomy.record.femurs, case.side);
    let placement = plan.placement.clone();
    let model = scorer.model(&placement).context("the planned hip")?;
    let choice = ImplantChoice {
        head_mm: placement.head_diameter_mm,
        head_offset_mm: placement.head_offset_mm,
        neck_mm: None,
        liner: placement.liner.clone(),
        shell_mm: Some(placement.shell_outer_diameter_mm),
        stem_size: placement.stem_size.clone(),
    };
    // A stem or shell size with its own geometry was scored on it: the record says so.
    let user = crate::rom::UserParts { cup: scorer.user_cup(&placement)?, stem: scorer.user_stem(&placement)? };
    let rom = crate::rom::rom_record_of(&model, &choice.liner, tilts, &user, motions, frame_note, Some((plan_anatomy.contact_anatomy(), placement.head_centre_on_femur_lps_mm)));
    Ok(PointResult {
        point: point.clone(),
        rom,
        choice,
        cup: placement.cup,
        stem_anteversion: placement.stem_anteversion,
        plan: Some(PlannedPoint { plan, record }),
        geometry: Some(Box::new(PointGeometry { user, model, source: ModelSource::Planned { scorer: Box::new(scorer), placement, frame_note, anatomy: Box::new(hip) } })),
    })
}

/// The safe-zone map around the primary point (`geo` its geometry): every motion over a grid of
/// radiographic cup angles, the rest unchanged.
///
/// # Errors
/// A cell's range of motion failing.
pub fn safe_zone(primary: &PointResult, geo: &PointGeometry, side: Side, motions: &[rom::Motion]) -> Result<SafeZoneMap> {
    let tilts = primary.point.tilts();
    let cells: Vec<(usize, usize)> = (0..SAFE_ZONE_INCLINATIONS_DEG.len()).flat_map(|i| (0..SAFE_ZONE_ANTEVERSIONS_DEG.len()).map(move |a| (i, a))).collect();
    let roms: Vec<Result<RomRecord>> = cells
        .par_iter()
        .map(|&(i, a)| {
            let cup =
                CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(SAFE_ZONE_INCLINATIONS_DEG[i]), anteversion: Angle::from_deg(SAFE_ZONE_ANTEVERSIONS_DEG[a]) };
            primary.rom_with_cup(geo, side, cup, &tilts, motions)
        })
        .collect();
    let mut grid = vec![vec![None; SAFE_ZONE_ANTEVERSIONS_DEG.len()]; SAFE_ZONE_INCLINATIONS_DEG.len()];
    let mut limits = vec![vec![std::collections::BTreeMap::new(); SAFE_ZONE_ANTEVERSIONS_DEG.len()]; SAFE_ZONE_INCLINATIONS_DEG.len()];
    for ((i, a), r) in cells.iter().zip(roms) {
        let r = r?;
        grid[*i][*a] = r.min_adl_margin_deg();
        limits[*i][*a] = r.motions.iter().map(|x| (x.name.clone(), x.limit_deg)).collect();
    }
    Ok(SafeZoneMap {
        definition: "radiographic (Murray 1993), pelvic frame".into(),
        inclinations_deg: SAFE_ZONE_INCLINATIONS_DEG.to_vec(),
        anteversions_deg: SAFE_ZONE_ANTEVERSIONS_DEG.to_vec(),
        min_adl_margin_deg: grid,
        limits_deg: limits,
        lewinnek_deg: LewinnekZone { inclination: [LEWINNEK_DEG[2], LEWINNEK_DEG[3]], anteversion: [LEWINNEK_DEG[0], LEWINNEK_DEG[1]] },
    })
}

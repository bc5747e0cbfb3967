//! One case through every stage: input -> anatomy -> implants and placement (planned or
//! fixed, for every sweep point) -> range of motion -> safe-zone map -> pictures -> report.
//!
//! The only place the stages are chained (docs/DESIGN.md: a stage never reaches back). Writes into a
//! folder the caller made for the case; returns the case summary that `coxa run` collects.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nalgebra::{Point3, Vector3};
use rayon::prelude::*;
use serde_json::{Value, json};

use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_core::report::{CupAnglePair, LewinnekZone, PictureRecord, PlacementRecord, SafeZoneMap, SweepMotion, SweepRow};
use coxa_core::{Angle, CaseReport, CupAngleDefinition, CupAngles, Mesh, RomRecord, Side};
use coxa_implants::Catalog;
use coxa_sim::rom::{self, PelvicTilts};

use crate::anatomy::{AnatomyResult, AnatomySource};
use crate::atomic::write_new;
use crate::render::{PlanScene, png, report_pictures};
use crate::rom::{HipBones, ImplantChoice, rom_record};
use crate::scenario::{Case, CaseInput, Scenario, SweepPoint};

/// Progress callback: a short message per step.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

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

/// Writes the case's input files and returns what the anatomy stage reads. The phantom gets
/// `input/phantom_ct.nii.gz`, its muscle labels (bones removed: coxa segments them itself)
/// and `input/phantom_truth.json`; the realistic phantom also its exact surfaces
/// (`input/phantom_<bone>.stl`).
fn prepare_input(case: &Case, dir: &Path) -> Result<(AnatomySource, Option<Value>)> {
    Ok(match &case.input {
        CaseInput::Ct { ct, labels } => (AnatomySource::Ct { ct: ct.clone(), labels: labels.clone(), label_names: None, dicom: Default::default(), any_modality: false }, None),
        // `coxa run` pulls the study first (crate::pacs::resolve_case).
        CaseInput::Pacs { study, .. } => bail!("case {}: study {study} was not pulled from its PACS before planning", case.name),
        CaseInput::Meshes(list) => {
            if list.is_empty() {
                bail!("case {}: no input found (a case folder needs ct.nii.gz, ct.nii, a DICOM folder ct/, or bone surfaces such as hip_right.stl and femur_right.stl)", case.name);
            }
            (AnatomySource::Meshes(list.clone(), case.mesh_units), None)
        }
        CaseInput::ShapeSample(sample) => (AnatomySource::Meshes(crate::population::write_case_input(sample, dir)?, Some(coxa_anatomy::bone_check::LengthUnit::Mm)), None),
        CaseInput::Phantom => {
            let spec = PhantomSpec::default();
            let p = hip_phantom(&spec);
            let input = dir.join("input");
            std::fs::create_dir_all(&input)?;
            let ct = input.join("phantom_ct.nii.gz");
            coxa_io::nifti::write_volume(&p.ct, &ct)?;
            let (grid, mut ids, classes) = p.labels.clone().into_parts();
            ids.mapv_inplace(|l| if crate::anatomy::BONES.iter().any(|(b, _)| *b == l) { 0 } else { l });
            let muscles = input.join("phantom_muscles.nii.gz");
            coxa_io::nifti::write_label_map(&coxa_core::LabelMap::new(grid, ids, classes)?, &muscles)?;
            let t = &p.truth;
            let pt = |q: &Point3<f64>| [q.x, q.y, q.z];
            let truth = json!({
                "description": "the built-in hip phantom: spherical heads in hemispherical sockets at known angles; its LPS axes are its pelvic frame",
                "head_centres_lps_mm": {"left": pt(&t.head_centres_lps_mm[0]), "right": pt(&t.head_centres_lps_mm[1])},
                "head_radius_mm": t.head_radius_mm,
                "acetabulum_radiographic_deg": {"inclination": spec.acetabulum_deg.0, "anteversion": spec.acetabulum_deg.1},
                "neck_shaft_angle_deg": spec.neck_shaft_deg,
                "neck_anteversion_deg": spec.neck_anteversion_deg,
                "voxel_mm": spec.voxel_mm,
            });
            write_new(&input.join("phantom_truth.json"), serde_json::to_string_pretty(&truth)?.as_bytes())?;
            // With a model the phantom's muscles come from the model (its exact ones stay in input/ for comparison).
            let labels = case.model.is_none().then_some(muscles);
            (AnatomySource::Ct { ct, labels, label_names: None, dicom: Default::default(), any_modality: false }, Some(truth))
        }
        CaseInput::ShapePhantom { model, shape } => {
            let p =
                crate::shape_phantom::build(model, *shape, &coxa_anatomy::mesh_phantom::MeshPhantomSpec::default()).map_err(|e| anyhow::anyhow!("case {}: the realistic phantom: {e}", case.name))?;
            let input = dir.join("input");
            std::fs::create_dir_all(&input)?;
            let ct = input.join("phantom_ct.nii.gz");
            coxa_io::nifti::write_volume(&p.ct, &ct)?;
            let (grid, mut ids, classes) = p.labels.into_parts();
            ids.mapv_inplace(|l| if crate::anatomy::BONES.iter().any(|(b, _)| *b == l) { 0 } else { l });
            let muscles = input.join("phantom_muscles.nii.gz");
            coxa_io::nifti::write_label_map(&coxa_core::LabelMap::new(grid, ids, classes)?, &muscles)?;
            write_new(&input.join("phantom_truth.json"), serde_json::to_string_pretty(&p.truth)?.as_bytes())?;
            // The exact surfaces the truth was measured on, to compare with the CT's.
            for (name, mesh) in &p.bones {
                coxa_io::mesh::write_stl(mesh, &input.join(format!("phantom_{name}.stl")))?;
            }
            let labels = case.model.is_none().then_some(muscles);
            (AnatomySource::Ct { ct, labels, label_names: None, dicom: Default::default(), any_modality: false }, Some(p.truth))
        }
    })
}

/// The bones of the operated side with their landmarks (the anatomy stage's), if the anatomy has them.
fn hip_bones(anatomy: &AnatomyResult, side: Side, construct: &coxa_implants::Construct) -> Result<Option<HipBones>> {
    let own = side.as_str();
    match (anatomy.mesh(&format!("hip_{own}")), anatomy.mesh(&format!("femur_{own}")), anatomy.landmarks.hip(side)) {
        (Some(h), Some(f), Some(landmarks)) => Ok(Some(HipBones::new(landmarks, h.clone(), f.clone(), construct)?)),
        _ => Ok(None),
    }
}

/// The result of one sweep point.
struct PointResult {
    point: SweepPoint,
    rom: RomRecord,
    choice: ImplantChoice,
    cup: CupAngles,
    stem_anteversion: Angle,
    /// The plan, when the point was planned.
    plan: Option<PlannedPoint>,
    /// The hip model and what it was built from: kept for the primary (first) point only, whose
    /// pictures, safe-zone map, viewer model and musculoskeletal stage need it. The other
    /// points' are dropped once their range of motion is known, so that a sweep's memory does
    /// not grow with its points (bones and implants are about 1.4 MB per point).
    geometry: Option<Box<PointGeometry>>,
}

/// A sweep point's hip model and its sources.
struct PointGeometry {
    user: crate::rom::UserParts,
    model: coxa_sim::HipModel,
    /// How to rebuild the model with other cup angles (the safe-zone map).
    source: ModelSource,
}

/// A planned sweep point: the planner's typed plan and its record (`plan.json`, the report's plan).
struct PlannedPoint {
    plan: coxa_planner::Plan,
    record: coxa_core::PlanRecord,
}

/// Where a sweep point's hip model comes from.
enum ModelSource {
    /// Fixed placement: catalog construct on the native centre (with the bones, if any).
    Fixed { construct: Box<coxa_implants::Construct>, bones: Option<Box<HipBones>> },
    /// Planned: the planner's placement through the simulator's scorer, on the landmarks `anatomy`.
    Planned { scorer: Box<coxa_sim::score::SimScorer>, placement: coxa_core::ImplantPlacement, frame_note: &'static str, anatomy: Box<coxa_core::HipAnatomy> },
}

impl PointResult {
    /// The range of motion with the cup at `cup` instead, everything else as at this point
    /// (whose geometry is `geo`).
    fn rom_with_cup(&self, geo: &PointGeometry, side: Side, cup: CupAngles, tilts: &PelvicTilts, motions: &[rom::Motion]) -> Result<RomRecord> {
        match &geo.source {
            ModelSource::Fixed { construct, bones } => Ok(rom_record(side, construct, &self.choice.liner, cup, self.stem_anteversion, tilts, bones.as_deref(), &geo.user, motions)?.1),
            ModelSource::Planned { scorer, placement, frame_note, .. } => {
                let mut p = placement.clone();
                p.cup = cup;
                let model = scorer.model(&p).context("the hip model with the cup moved")?;
                Ok(crate::rom::rom_record_of(&model, &self.choice.liner, tilts, &geo.user, motions, frame_note))
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
fn case_model(scn: &Scenario, case: &Case, catalog: &Catalog, primary: &PointResult, geo: &PointGeometry, motions: &[rom::Motion]) -> coxa_core::CaseModel {
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
        schema_version: coxa_core::CaseModel::SCHEMA_VERSION,
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
    let (mut plan_anatomy, hip, frame_note, notes) = crate::plan::plan_anatomy(case.side, &anatomy.landmarks, &anatomy.meshes)?;
    plan_anatomy.canal = anatomy.canal(case.side);
    let mut options = coxa_planner::PlanOptions::new().with_tilts(coxa_core::PostureTilts { standing: tilts.standing, sitting: tilts.sitting });
    if let Some(h) = point.head_diameter_mm {
        options = options.with_head_diameter_mm(h);
    }
    if let Some(l) = &point.liner {
        options = options.with_liners(vec![l.clone()]);
    }
    if let Some(r) = &scn.raw.plan.cup_inclination_range_deg {
        let [a, b] = *r.get_ref();
        options = options.with_inclination(Angle::from_deg(a.0), Angle::from_deg(b.0));
    }
    if let Some(r) = &scn.raw.plan.cup_anteversion_range_deg {
        let [a, b] = *r.get_ref();
        options = options.with_anteversion(Angle::from_deg(a.0), Angle::from_deg(b.0));
    }
    let scorer = crate::plan::scorer(&plan_anatomy, catalog);
    let mut plan = coxa_planner::plan(&plan_anatomy, catalog, &scorer, &options).with_context(|| format!("planning {}", point.label()))?;
    plan.notes.splice(0..0, notes);
    let mut record = crate::plan::plan_record(&plan, &plan_anatomy, catalog, frame_note, &options);
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
    let user = crate::rom::UserParts::default();
    let rom = crate::rom::rom_record_of(&model, &choice.liner, tilts, &user, motions, frame_note);
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

/// Runs `case` of `scn` into `dir` (which exists and is empty). Returns the case summary.
///
/// # Errors
/// Any stage's error, with the stage named.
pub fn run_case(scn: &Scenario, case: &Case, catalog: &Catalog, dir: &Path, progress: Progress<'_>) -> Result<crate::summary::CaseSummary> {
    progress("input");
    let (source, truth) = prepare_input(case, dir).context("preparing the input")?;
    // Where the inputs are (for `coxa view`, which shows the CT): kept out of the report,
    // since folder names may carry a patient's name.
    // Inputs written into the case folder (the phantom's) are named relative to it: the
    // folder is renamed when the case finishes.
    let abs = |p: &PathBuf| match p.strip_prefix(dir) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).to_string_lossy().into_owned(),
    };
    let inputs = match &source {
        AnatomySource::Ct { ct, labels, .. } => json!({"ct": abs(ct), "labels": labels.as_ref().map(abs)}),
        AnatomySource::Meshes(list, _) => json!({"meshes": list.iter().map(|(n, p)| json!({"name": n, "file": abs(p)})).collect::<Vec<_>>()}),
    };
    write_new(&dir.join("inputs.json"), serde_json::to_string_pretty(&inputs)?.as_bytes())?;
    progress("anatomy (segmentation, surfaces, landmarks)");
    // A case's learned model segments its CT for the anatomy stage (its muscles feed the muscle
    // measures and the [msk] stage); without one the phantom is also segmented by coxa's built-in
    // test model (when ONNX Runtime is found), for the uncertainty map and the report's section
    // only: the case keeps its own labels.
    let (anatomy, model_segmentation) = match &case.model {
        Some(m) => {
            progress("anatomy (learned segmentation, surfaces, landmarks)");
            let model_use = if m.muscles_only { crate::segment::ModelUse::Muscles } else { crate::segment::ModelUse::All };
            let (anatomy, seg) = crate::segment::anatomy_full_with_model(source.clone(), &m.card, &dir.join("anatomy"), &Default::default(), model_use)
                .with_context(|| format!("anatomy with the model {}", m.card.display()))?;
            let note = if m.muscles_only {
                "the case's anatomy used this model's muscles (muscle measures, muscle strength) and coxa's classical bone segmentation"
            } else {
                "the case's anatomy used this model's labels: bones (surfaces, landmarks) and muscles (muscle measures, muscle strength)"
            };
            (anatomy, Some(crate::segment::segmentation_record(&seg, "anatomy/", "labels.nii.gz", note)))
        }
        None => {
            progress("anatomy (segmentation, surfaces, landmarks)");
            (crate::anatomy::run_full(&source, &dir.join("anatomy")).context("anatomy")?, None)
        }
    };
    let mut warnings: Vec<String> = anatomy.warnings.clone();
    let segmentation = match (&case.input, &source, model_segmentation) {
        (_, _, Some(record)) => Some(record),
        (CaseInput::Phantom, AnatomySource::Ct { ct, .. }, None) => {
            progress("phantom segmented by coxa's test model");
            let volume = coxa_io::open(ct, &coxa_io::OpenOptions::default())?.volume;
            match crate::segment::phantom_with_test_model(&volume, &dir.join("anatomy"))? {
                Ok(record) => Some(record),
                Err(note) => {
                    warnings.push(note);
                    None
                }
            }
        }
        _ => None,
    };
    let radiomics = match (&scn.radiomics, &source) {
        (None, _) => None,
        (Some(stage), AnatomySource::Ct { ct, .. }) if dir.join("anatomy").join("labels.nii.gz").exists() => {
            progress("radiomics");
            Some(stage.run(ct, &dir.join("anatomy").join("labels.nii.gz"), &case.name, dir)?)
        }
        (Some(_), _) => {
            warnings.push("radiomics: no features, this case has no CT with a label map (bone surfaces as input)".into());
            None
        }
    };

    let motions: Vec<rom::Motion> = {
        let all = rom::all_motions();
        if scn.motions.is_empty() { all } else { all.into_iter().filter(|m| scn.motions.iter().any(|n| n == m.name)).collect() }
    };

    // Every sweep point: implants, placement, ROM.
    progress(&format!("range of motion over {} sweep point(s)", scn.sweep.len()));
    let mut results: Vec<PointResult> = Vec::new();
    let mut bone_cache: Vec<([u64; 2], Option<HipBones>)> = Vec::new();
    for point in &scn.sweep {
        let tilts = PelvicTilts { standing: Angle::from_deg(point.standing_tilt_deg), sitting: Angle::from_deg(point.standing_tilt_deg + point.sitting_extra_tilt_deg) };
        let Some(placement) = point.placement else {
            progress(&format!("planning {}", point.label()));
            keep_point(&mut results, planned_point(scn, case, catalog, &anatomy, point, &tilts, &motions)?);
            continue;
        };
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
                let b = hip_bones(&anatomy, case.side, &construct).context("hip bones for the range of motion")?;
                bone_cache.push((key, b.clone()));
                b
            }
        };
        if results.is_empty() && bones.is_none() {
            warnings.push(format!("no hip_{0} and femur_{0} surfaces (or their landmarks): range of motion of the implants alone", case.side.as_str()));
        }
        let stem_av = Angle::from_deg(placement.stem_anteversion_deg);
        let user = crate::rom::UserParts::load(scn.user_cup.as_deref(), scn.user_stem.as_deref(), choice.head_mm)?;
        let (model, rom) =
            rom_record(case.side, &construct, &choice.liner, placement.cup, stem_av, &tilts, bones.as_ref(), &user, &motions).with_context(|| format!("range of motion at {}", point.label()))?;
        keep_point(
            &mut results,
            PointResult {
                point: point.clone(),
                rom,
                choice,
                cup: placement.cup,
                stem_anteversion: stem_av,
                plan: None,
                geometry: Some(Box::new(PointGeometry { user, model, source: ModelSource::Fixed { construct: Box::new(construct), bones: bones.map(Box::new) } })),
            },
        );
    }
    std::fs::create_dir_all(dir.join("rom"))?;
    if results.iter().any(|r| r.plan.is_some()) {
        std::fs::create_dir_all(dir.join("plans"))?;
        for r in &results {
            if let Some(p) = &r.plan {
                write_new(&dir.join("plans").join(format!("{}.json", r.point.label())), serde_json::to_string_pretty(&p.record)?.as_bytes())?;
            }
        }
        if let Some(p) = &results[0].plan {
            write_new(&dir.join("plan.json"), serde_json::to_string_pretty(&p.record)?.as_bytes())?;
        }
    }
    let mut csv: Vec<Vec<String>> = vec![
        "label,head_diameter_mm,head_offset_mm,liner,stem_size,cup_inclination_deg,cup_anteversion_deg,cup_definition,stem_anteversion_deg,standing_tilt_deg,sitting_tilt_deg,oscillation_angle_deg,min_adl_margin_deg"
            .split(',')
            .map(String::from)
            .chain(motions.iter().flat_map(|m| [format!("{}_deg", m.name), format!("{}_contact", m.name)]))
            .collect(),
    ];
    for r in &results {
        write_new(&dir.join("rom").join(format!("{}.json", r.point.label())), serde_json::to_string_pretty(&r.rom)?.as_bytes())?;
        csv.push(
            [
                r.point.label(),
                r.choice.head_mm.to_string(),
                r.choice.head_offset_mm.to_string(),
                r.choice.liner.to_string(),
                r.choice.stem_size.to_string(),
                r.cup.inclination.deg().to_string(),
                r.cup.anteversion.deg().to_string(),
                definition_name(r.cup.definition).to_string(),
                r.stem_anteversion.deg().to_string(),
                r.rom.pelvic_tilt_deg.standing.to_string(),
                r.rom.pelvic_tilt_deg.sitting.to_string(),
                r.rom.oscillation_angle_deg.to_string(),
                r.rom.min_adl_margin_deg().map_or(String::new(), |v| format!("{v:.1}")),
            ]
            .into_iter()
            .chain(r.rom.motions.iter().flat_map(|m| [m.limit_deg.to_string(), m.contact.to_string()]))
            .collect(),
        );
    }
    write_new(&dir.join("rom_sweep.csv"), coxa_io::table::csv_text(&csv)?.as_bytes())?;
    let primary = &results[0];
    let Some(geo) = primary.geometry.as_deref() else { bail!("the first sweep point of case {} kept no hip model (a bug in coxa; please report it)", case.name) };
    // What the viewer's live planning needs to rebuild this hip model.
    let case_model = case_model(scn, case, catalog, primary, geo, &motions);
    write_new(&dir.join("model.json"), serde_json::to_string_pretty(&case_model)?.as_bytes())?;

    // Safe-zone map around the primary point: every motion over a grid of radiographic cup
    // angles, the rest unchanged.
    let safe_zone = if scn.raw.report.safe_zone_map {
        progress("safe-zone map");
        let tilts = PelvicTilts { standing: Angle::from_deg(primary.point.standing_tilt_deg), sitting: Angle::from_deg(primary.point.standing_tilt_deg + primary.point.sitting_extra_tilt_deg) };
        let cells: Vec<(usize, usize)> = (0..SAFE_ZONE_INCLINATIONS_DEG.len()).flat_map(|i| (0..SAFE_ZONE_ANTEVERSIONS_DEG.len()).map(move |a| (i, a))).collect();
        let roms: Vec<Result<RomRecord>> = cells
            .par_iter()
            .map(|&(i, a)| {
                let cup = CupAngles {
                    definition: CupAngleDefinition::Radiographic,
                    inclination: Angle::from_deg(SAFE_ZONE_INCLINATIONS_DEG[i]),
                    anteversion: Angle::from_deg(SAFE_ZONE_ANTEVERSIONS_DEG[a]),
                };
                primary.rom_with_cup(geo, case.side, cup, &tilts, &motions)
            })
            .collect();
        let mut grid = vec![vec![None; SAFE_ZONE_ANTEVERSIONS_DEG.len()]; SAFE_ZONE_INCLINATIONS_DEG.len()];
        let mut limits = vec![vec![std::collections::BTreeMap::new(); SAFE_ZONE_ANTEVERSIONS_DEG.len()]; SAFE_ZONE_INCLINATIONS_DEG.len()];
        for ((i, a), r) in cells.iter().zip(roms) {
            let r = r?;
            grid[*i][*a] = r.min_adl_margin_deg();
            limits[*i][*a] = r.motions.iter().map(|x| (x.name.clone(), x.limit_deg)).collect();
        }
        Some(SafeZoneMap {
            definition: "radiographic (Murray 1993), pelvic frame".into(),
            inclinations_deg: SAFE_ZONE_INCLINATIONS_DEG.to_vec(),
            anteversions_deg: SAFE_ZONE_ANTEVERSIONS_DEG.to_vec(),
            min_adl_margin_deg: grid,
            limits_deg: limits,
            lewinnek_deg: LewinnekZone { inclination: [LEWINNEK_DEG[2], LEWINNEK_DEG[3]], anteversion: [LEWINNEK_DEG[0], LEWINNEK_DEG[1]] },
        })
    } else {
        None
    };

    // Abductors and hip load before and after the plan.
    let msk = match &scn.msk {
        None => None,
        Some(input) => {
            progress("musculoskeletal model");
            let heads = [Side::Left, Side::Right].map(|side| anatomy.landmarks.femur(side).map(|f| f.head_centre.lps_mm));
            let head_distance = match heads {
                [Some(l), Some(r)] => Some((l - r).norm()),
                _ => None,
            };
            let change = match &primary.plan {
                Some(p) => {
                    let (cup, f) = (&p.plan.cup, &p.plan.femoral);
                    crate::msk_stage::HipChange {
                        cor_shift_lps_mm: Vector3::from(cup.centre_lps_mm) - Vector3::from(cup.native_centre_lps_mm),
                        offset_change_mm: f.offset_change_mm,
                        leg_length_change_mm: f.leg_length_change_mm,
                    }
                }
                None => crate::msk_stage::HipChange::default(),
            };
            Some(
                crate::msk_stage::run(
                    input,
                    head_distance,
                    geo.model.pelvic_frame(),
                    &change,
                    case.side == Side::Left,
                    &crate::msk_stage::ct_muscles(anatomy.record.muscles.as_deref().unwrap_or_default(), case.side == Side::Left),
                    Some(crate::msk_stage::CaseBones { meshes: &anatomy.meshes, landmarks: &anatomy.landmarks }),
                )
                .context("musculoskeletal stage")?,
            )
        }
    };

    // Pictures of the primary point.
    let mut pictures = if scn.raw.report.pictures {
        progress("pictures");
        pictures(&anatomy, &geo.model, &case_model.placement, case.side, &dir.join("pictures"))?
    } else {
        write_implants(&geo.model, dir)?;
        warnings.push("no pictures: switched off by the scenario ([report] pictures = false)".to_string());
        Vec::new()
    };
    // The plan on a simulated AP pelvis radiograph (issue 22), for a planned case with a CT.
    if scn.raw.report.pictures
        && let (AnatomySource::Ct { ct, .. }, Some(plan)) = (&source, primary.plan.as_ref())
    {
        progress("simulated radiograph");
        match crate::xray::report_picture(ct, &anatomy.landmarks, &plan.record, &dir.join("pictures")) {
            Ok(png) => pictures.push(("radiograph (simulated AP pelvis)".into(), png)),
            Err(e) => warnings.push(format!("no simulated radiograph: {e:#}")),
        }
    }

    let cup_angles: std::collections::BTreeMap<String, CupAnglePair> = [CupAngleDefinition::Radiographic, CupAngleDefinition::Operative, CupAngleDefinition::Anatomic]
        .iter()
        .map(|d| {
            let c = geo.model.cup_angles(*d);
            (definition_name(*d).to_string(), CupAnglePair { inclination_deg: round2(c.inclination.deg()), anteversion_deg: round2(c.anteversion.deg()) })
        })
        .collect();
    let radiographic = cup_angles.get("radiographic").copied();
    let centre = geo.model.hip_centre_lps_mm();
    let report = CaseReport {
        coxa_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scn.raw.name.clone().unwrap_or_else(|| scn.file.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned())),
        case: case.name.clone(),
        side: case.side,
        input: input_json(&case.input),
        phantom_truth: truth,
        anatomy: anatomy.record.clone(),
        placement: PlacementRecord {
            source: if primary.plan.is_some() { "planned by coxa's optimiser (sizes, angles, leg length and offset; see the plan)" } else { "fixed by the scenario" }.to_string(),
            cup_angles,
            cup_centre_lps_mm: [centre.x, centre.y, centre.z].map(round2),
            stem_anteversion_deg: round2(primary.stem_anteversion.deg()),
            combined_anteversion_deg: round2(geo.model.cup_angles(CupAngleDefinition::Operative).anteversion.deg() + primary.stem_anteversion.deg()),
            implants: primary.rom.implants.clone(),
        },
        plan: primary.plan.as_ref().map(|p| p.record.clone()),
        radiomics: radiomics.clone(),
        segmentation,
        msk,
        rom: primary.rom.clone(),
        sweep: results
            .iter()
            .map(|r| SweepRow {
                label: r.point.label(),
                head_diameter_mm: r.choice.head_mm,
                liner: r.choice.liner.clone(),
                cup_inclination_deg: r.cup.inclination.deg(),
                cup_anteversion_deg: r.cup.anteversion.deg(),
                stem_anteversion_deg: round2(r.stem_anteversion.deg()),
                standing_tilt_deg: r.point.standing_tilt_deg,
                min_adl_margin_deg: r.rom.min_adl_margin_deg(),
                motions: r.rom.motions.iter().map(|x| SweepMotion { name: x.name.clone(), limit_deg: x.limit_deg, contact: x.contact.clone() }).collect(),
            })
            .collect(),
        safe_zone,
        pictures: pictures.iter().map(|(name, path)| PictureRecord { view: name.clone(), file: path.strip_prefix(dir).unwrap_or(path).to_string_lossy().into_owned() }).collect(),
        warnings,
    };
    write_new(&dir.join("report.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    let _ = crate::exchange::write_opensim(dir, &report)?;
    if scn.raw.report.html {
        progress("report");
        let doc = coxa_report::case_document(&report, coxa_report::read_pictures(&report, dir)?, &coxa_report::CaseOptions::default());
        write_new(&dir.join("report.html"), coxa_report::html::render(&doc)?.as_bytes())?;
        write_new(&dir.join("report.pdf"), &coxa_report::pdf::render(&doc).context("the PDF report")?.bytes)?;
    }
    Ok(crate::summary::CaseSummary {
        case: case.name.clone(),
        side: case.side,
        sweep_points: results.len(),
        min_adl_margin_deg: primary.rom.min_adl_margin_deg(),
        cup_radiographic_deg: radiographic,
        head_diameter_mm: primary.choice.head_mm,
        shell_outer_diameter_mm: geo.model.construct().shell.outer_diameter_mm,
        leg_length_change_mm: primary.plan.as_ref().map(|p| p.record.leg_length_change_mm),
        offset_change_mm: primary.plan.as_ref().map(|p| p.record.offset_change_mm),
        warnings: report.warnings.len(),
        radiomics: radiomics.as_ref().map(crate::radiomics::summary),
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `radiographic` / `operative` / `anatomic`.
pub fn definition_name(d: CupAngleDefinition) -> &'static str {
    match d {
        CupAngleDefinition::Radiographic => "radiographic",
        CupAngleDefinition::Operative => "operative",
        CupAngleDefinition::Anatomic => "anatomic",
    }
}

fn input_json(input: &CaseInput) -> Value {
    // File names only: folder names may carry a patient's name.
    let name = |p: &PathBuf| p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
    match input {
        CaseInput::Ct { ct, labels } => json!({"kind": "ct", "ct": name(ct), "labels": labels.as_ref().map(name)}),
        CaseInput::Meshes(list) => json!({"kind": "meshes", "meshes": list.iter().map(|(n, p)| json!({"name": n, "file": name(p)})).collect::<Vec<_>>()}),
        CaseInput::Phantom => json!({"kind": "phantom"}),
        CaseInput::ShapePhantom { shape, .. } => json!({"kind": "shape_phantom", "shape": shape.name()}),
        CaseInput::ShapeSample(s) => json!({"kind": "shape_model_sample", "subject": s.index + 1, "seed": s.seed, "record": "input/shape_sample.json"}),
        CaseInput::Pacs { study, .. } => json!({"kind": "pacs", "study": study}),
    }
}

/// Side of each of the report's pictures, pixels.
const PICTURE_PX: usize = 480;

/// The report's four pictures ([`crate::render`]): the bones translucent, the implants, and the
/// operated femur placed so that the planned head sits in the cup.
fn pictures(anatomy: &AnatomyResult, model: &coxa_sim::HipModel, placement: &coxa_core::ImplantPlacement, side: Side, out: &Path) -> Result<Vec<(String, PathBuf)>> {
    std::fs::create_dir_all(out)?;
    let implants = write_implants(model, out.parent().unwrap_or(out))?;
    let scene = PlanScene { bones: &anatomy.meshes, implants: &implants, side, hip_centre_lps_mm: model.hip_centre_lps_mm(), head_on_femur_lps_mm: placement.head_centre_on_femur_lps_mm };
    let mut files = Vec::new();
    for (view, pic) in report_pictures(&scene, PICTURE_PX) {
        let path = out.join(format!("{}.png", view.as_str()));
        write_new(&path, &png(&pic)?)?;
        files.push((view.as_str().to_string(), path));
    }
    Ok(files)
}

/// The placed implants as STL (LPS mm) in `case_dir/implants`, for the viewer and other tools.
fn write_implants(model: &coxa_sim::HipModel, case_dir: &Path) -> Result<Vec<(&'static str, Mesh)>> {
    let implants = model.implant_meshes_lps();
    let implant_dir = case_dir.join("implants");
    std::fs::create_dir_all(&implant_dir)?;
    for (name, mesh) in &implants {
        coxa_io::mesh::write_stl(mesh, &implant_dir.join(format!("{name}.stl")))?;
    }
    Ok(implants)
}

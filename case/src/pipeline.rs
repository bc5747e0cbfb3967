//! One case through every stage: input -> anatomy -> implants and placement (planned or
//! fixed, for every sweep point) -> range of motion -> safe-zone map -> musculoskeletal model ->
//! pictures -> report.
//!
//! The only place the stages ([`crate::stages`]) are chained (docs/DESIGN.md: a stage never
//! reaches back); the case writer ([`crate::case_writer`]) writes their results into a folder the
//! caller made for the case. Returns the case summary that `coxa run` collects.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use nalgebra::Point3;
use serde_json::{Value, json};

use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_core::report::{PictureRecord, RadiomicsRecord, SegmentationRecord};
use coxa_core::{CaseInputs, InputMesh, LabelMap, Volume};
use coxa_implants::Catalog;

use crate::anatomy::{AnatomyResult, AnatomySource, LoadedCt};
use crate::atomic::write_new;
use crate::case_writer;
use crate::memo::AnatomyMemo;
use crate::scenario::{Case, CaseInput, Scenario};
use crate::stages::{self, report::ReportParts, sweep::SweepInputs};

pub use crate::stages::Progress;

/// What a phantom hands the anatomy stage in memory: its CT and its muscle labels, so that
/// nothing the case writes into `input/` is read back.
struct Preloaded {
    ct: LoadedCt,
    labels: Option<crate::anatomy::GivenLabels>,
}

/// A phantom's CT and muscle labels (bones cleared: coxa segments them itself) written into
/// `input/` for the record and the viewer, and kept in memory for the anatomy stage: the
/// source naming the files, and what the stage takes in memory. `with_labels`: the muscles are
/// the case's labels (not when a learned model gives them).
fn phantom_input(ct: Volume, labels: LabelMap, dir: &Path, with_labels: bool) -> Result<(AnatomySource, Preloaded)> {
    let input = dir.join("input");
    std::fs::create_dir_all(&input)?;
    let ct_file = input.join("phantom_ct.nii.gz");
    coxa_io::nifti::write_volume(&ct, &ct_file)?;
    let (grid, mut ids, _) = labels.into_parts();
    ids.mapv_inplace(|l| if coxa_core::Bone::from_label_id(l).is_some() { 0 } else { l });
    // As a label file is read: no class table in the map, coxa's class names by id.
    let muscles = coxa_core::LabelMap::new(grid, ids, coxa_core::ClassTable::new())?;
    let muscles_file = input.join("phantom_muscles.nii.gz");
    coxa_io::nifti::write_label_map(&muscles, &muscles_file)?;
    let given = with_labels.then(|| crate::anatomy::GivenLabels { classes: crate::stages::anatomy::classes_by_id(&muscles), map: muscles, origin: "the phantom's muscle labels".into() });
    let source = AnatomySource::Ct { ct: ct_file, labels: with_labels.then_some(muscles_file), label_names: None, dicom: Default::default(), any_modality: false };
    Ok((source, Preloaded { ct: LoadedCt { volume: ct, n_files: 1, warnings: Vec::new() }, labels: given }))
}

/// A CT (and label map) given in memory ([`crate::scenario::InMemoryCt`]): checked as a CT file
/// is when read, written into `input/` (`ct.nii.gz`, `labels.nii.gz`) for the record and the
/// viewer, and kept in memory for the anatomy stage, which checks the label map as it checks
/// `--labels` (on the CT's grid, known sides) and names it by its class table as it names a
/// file's (its own table, else TotalSegmentator's ids).
fn volume_input(v: &crate::scenario::InMemoryCt, dir: &Path) -> Result<(AnatomySource, Preloaded)> {
    coxa_io::sanity::check_ct_in_memory(&v.ct, Path::new("the CT given in memory"), false)?;
    let input = dir.join("input");
    std::fs::create_dir_all(&input)?;
    let ct_file = input.join(crate::scenario::InMemoryCt::CT_FILE);
    coxa_io::nifti::write_volume(&v.ct, &ct_file)?;
    let labels_file = match &v.labels {
        Some(map) => {
            let file = input.join(crate::scenario::InMemoryCt::LABELS_FILE);
            coxa_io::nifti::write_label_map(map, &file)?;
            Some(file)
        }
        None => None,
    };
    let given = v.labels.as_deref().map(crate::anatomy::GivenLabels::in_memory);
    let source = AnatomySource::Ct { ct: ct_file, labels: labels_file, label_names: None, dicom: Default::default(), any_modality: false };
    Ok((source, Preloaded { ct: LoadedCt { volume: Volume::clone(&v.ct), n_files: 1, warnings: Vec::new() }, labels: given }))
}

/// Writes the case's input files and returns what the anatomy stage reads: the source, the
/// phantom's truth, and what a phantom hands over in memory. The phantom gets
/// `input/phantom_ct.nii.gz`, its muscle labels (bones removed: coxa segments them itself)
/// and `input/phantom_truth.json`; the realistic phantom also its exact surfaces
/// (`input/phantom_<bone>.stl`).
fn prepare_input(case: &Case, dir: &Path) -> Result<(AnatomySource, Option<Value>, Option<Preloaded>)> {
    Ok(match &case.input {
        // A `coxa pacs pull` folder stands for the series the pull chose to plan on.
        CaseInput::Ct { ct, labels } => {
            (AnatomySource::Ct { ct: crate::pacs::planning_ct(ct)?, labels: labels.clone(), label_names: None, dicom: Default::default(), any_modality: false }, None, None)
        }
        CaseInput::Volume(v) => {
            let (source, preloaded) = volume_input(v, dir)?;
            (source, None, Some(preloaded))
        }
        // `coxa run` pulls the study first (crate::pacs::resolve_case).
        CaseInput::Pacs { study, .. } => bail!("case {}: study {study} was not pulled from its PACS before planning", case.name),
        CaseInput::Meshes(list) => {
            if list.is_empty() {
                bail!("case {}: no input found (a case folder needs ct.nii.gz, ct.nii, a DICOM folder ct/, or bone surfaces such as hip_right.stl and femur_right.stl)", case.name);
            }
            (AnatomySource::Meshes(list.clone(), case.mesh_units), None, None)
        }
        CaseInput::ShapeSample(sample) => (AnatomySource::Meshes(crate::population::write_case_input(sample, dir)?, Some(coxa_anatomy::bone_check::LengthUnit::Mm)), None, None),
        CaseInput::Phantom => {
            let spec = PhantomSpec::default();
            let p = hip_phantom(&spec);
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
            // With a model the phantom's muscles come from the model (its exact ones stay in input/ for comparison).
            let (source, preloaded) = phantom_input(p.ct, p.labels, dir, case.model.is_none())?;
            crate::stamp::write(&dir.join("input").join("phantom_truth.json"), "phantom_truth", &truth)?;
            (source, Some(truth), Some(preloaded))
        }
        CaseInput::ShapePhantom { model, shape } => {
            let p = crate::shape_phantom::build(model, *shape, &coxa_anatomy::mesh_phantom::MeshPhantomSpec::default()).map_err(|e| crate::err!("case {}: the realistic phantom: {e}", case.name))?;
            let (source, preloaded) = phantom_input(p.ct, p.labels, dir, case.model.is_none())?;
            let input = dir.join("input");
            crate::stamp::write(&input.join("phantom_truth.json"), "phantom_truth", &p.truth)?;
            // The exact surfaces the truth was measured on, to compare with the CT's.
            for (name, mesh) in &p.bones {
                coxa_io::mesh::write_stl(mesh, &input.join(format!("phantom_{name}.stl")))?;
            }
            (source, Some(p.truth), Some(preloaded))
        }
    })
}

/// `inputs.json`: where the inputs are (for `coxa view`, which shows the CT), kept out of the
/// report, since folder names may carry a patient's name.
fn inputs_record(source: &AnatomySource, dir: &Path) -> CaseInputs {
    // Inputs written into the case folder (the phantom's) are named relative to it: the
    // folder is renamed when the case finishes.
    let abs = |p: &PathBuf| match p.strip_prefix(dir) {
        Ok(rel) => PathBuf::from(rel.to_string_lossy().into_owned()),
        Err(_) => PathBuf::from(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).to_string_lossy().into_owned()),
    };
    match source {
        AnatomySource::Ct { ct, labels, .. } => CaseInputs::Ct { ct: abs(ct), labels: labels.as_ref().map(abs) },
        AnatomySource::Meshes(list, _) => CaseInputs::Meshes { meshes: list.iter().map(|(n, p)| InputMesh { name: n.clone(), file: abs(p) }).collect() },
    }
}

/// Finds and keeps in `memo` the anatomy of `case` ahead of its run (the desk does this when it
/// opens a case, so that its first save is quick). Inputs a memo does not keep (a learned model's
/// segmentation, a phantom, a CT in memory, a population draw, a PACS study) are left alone.
///
/// # Errors
/// The input's or the anatomy stage's.
pub fn warm(memo: &AnatomyMemo, case: &Case) -> Result<()> {
    if case.model.is_some() {
        return Ok(());
    }
    match &case.input {
        CaseInput::Ct { .. } | CaseInput::Meshes(_) => {
            let (source, _, _) = prepare_input(case, &std::env::temp_dir())?;
            memo.anatomy(&source).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// The anatomy stage of `case` (with its learned model, if any) written into `dir/anatomy`:
/// the result, the CT (read once, for the later stages) and the segmentation's record.
fn anatomy(
    case: &Case,
    source: &AnatomySource,
    preloaded: Option<Preloaded>,
    memo: Option<&AnatomyMemo>,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<(AnatomyResult, Option<LoadedCt>, Option<SegmentationRecord>)> {
    progress("anatomy (segmentation, surfaces, landmarks)");
    // A case's learned model segments its CT for the anatomy stage (its muscles feed the muscle
    // measures and the [msk] stage); without one the phantom is also segmented by coxa's built-in
    // test model (when ONNX Runtime is found), for the uncertainty map and the report's section
    // only: the case keeps its own labels.
    // The CT is read once, here, and every later stage takes it (and the label map) in memory.
    Ok(match &case.model {
        Some(m) => {
            progress("anatomy (learned segmentation, surfaces, landmarks)");
            let model_use = if m.muscles_only { crate::segment::ModelUse::Muscles } else { crate::segment::ModelUse::All };
            let (anatomy, seg, ct) = crate::segment::anatomy_full_with_model(source.clone(), &m.card, &dir.join("anatomy"), &Default::default(), model_use)
                .with_context(|| format!("anatomy with the model {}", m.card.display()))?;
            let note = if m.muscles_only {
                "the case's anatomy used this model's muscles (muscle measures, muscle strength) and coxa's classical bone segmentation"
            } else {
                "the case's anatomy used this model's labels: bones (surfaces, landmarks) and muscles (muscle measures, muscle strength)"
            };
            (anatomy, Some(ct), Some(crate::segment::segmentation_record(&seg, "anatomy/", "labels.nii.gz", note)))
        }
        None => {
            progress("anatomy (segmentation, surfaces, landmarks)");
            let (anatomy, ct) = match (memo, preloaded) {
                (Some(memo), None) => {
                    let (anatomy, ct) = memo.anatomy(source).context("anatomy")?;
                    case_writer::write_anatomy(&dir.join("anatomy"), &anatomy)?;
                    (anatomy, ct)
                }
                (_, preloaded) => {
                    let (labels, ct) = preloaded.map_or((None, None), |p| (p.labels, Some(p.ct)));
                    crate::anatomy::run_keeping_ct(source, labels, ct, &dir.join("anatomy")).context("anatomy")?
                }
            };
            (anatomy, ct, None)
        }
    })
}

/// The phantom's segmentation by coxa's test model (for its uncertainty map and the report's
/// section; the case keeps its own labels), or the case model's record; what failed goes to `warnings`.
fn segmentation(case: &Case, ct: Option<&LoadedCt>, model: Option<SegmentationRecord>, dir: &Path, progress: Progress<'_>, warnings: &mut Vec<String>) -> Result<Option<SegmentationRecord>> {
    Ok(match (&case.input, ct, model) {
        (_, _, Some(record)) => Some(record),
        (CaseInput::Phantom, Some(ct), None) => {
            progress("phantom segmented by coxa's test model");
            match crate::segment::phantom_with_test_model(&ct.volume)? {
                Ok((m, record)) => {
                    case_writer::write_model_segmentation(&dir.join("anatomy"), &m.seg, &m.json, crate::segment::PHANTOM_MODEL_LABELS)?;
                    Some(record)
                }
                Err(note) => {
                    warnings.push(note);
                    None
                }
            }
        }
        _ => None,
    })
}

/// The radiomics stage on the CT and the anatomy stage's label map (both in memory): its record
/// and its table (`radiomics.csv`); none without a `[radiomics]` section, a note without a CT.
fn radiomics(
    scn: &Scenario,
    case: &Case,
    source: &AnatomySource,
    ct: Option<&LoadedCt>,
    anatomy: &AnatomyResult,
    progress: Progress<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<(RadiomicsRecord, String)>> {
    Ok(match (&scn.radiomics, source, ct, &anatomy.labels) {
        (None, ..) => None,
        (Some(stage), AnatomySource::Ct { ct: ct_path, .. }, Some(ct), Some(labels)) => {
            progress("radiomics");
            let image = ct_path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
            Some(stage.run(&ct.volume, labels, &image, &case.name)?)
        }
        (Some(_), ..) => {
            warnings.push("radiomics: no features, this case has no CT with a label map (bone surfaces as input)".into());
            None
        }
    })
}

/// What a case's run gives its caller besides the folder: the summary `coxa run` collects, and
/// the primary point's plan (none for a fixed placement), which `coxa plan` prints.
#[derive(Debug)]
pub struct CaseOutcome {
    /// The case's row of the run's summary.
    pub summary: crate::summary::CaseSummary,
    /// plan.json of the primary sweep point, when it was planned.
    pub plan: Option<coxa_core::PlanRecord>,
}

/// Runs `case` of `scn` into `dir` (which exists and is empty): the stages in order, each
/// result typed and kept in memory (the CT read once), every file written by the case writer.
///
/// # Errors
/// Any stage's error, with the stage named.
pub fn run_case(scn: &Scenario, case: &Case, catalog: &Catalog, dir: &Path, progress: Progress<'_>) -> Result<CaseOutcome> {
    progress("input");
    let (source, truth, preloaded) = prepare_input(case, dir).context("preparing the input")?;
    let (mut anatomy, mut ct, model_segmentation) = anatomy(case, &source, preloaded, scn.anatomy_memo.as_deref(), dir, progress)?;
    case_writer::write_bone_formats(&dir.join("anatomy").join("meshes"), &anatomy.bones, &scn.mesh_formats)?;
    // Written after the anatomy stage, so that their provenance names the models it used, as
    // every later record's does, whether or not the anatomy was found earlier in this process
    // (the desk's re-plan, [`AnatomyMemo`]).
    let inputs = inputs_record(&source, dir);
    case_writer::write_inputs(dir, &inputs)?;
    if let Some(request) = &scn.request {
        // A CT handed over in memory is the one written into the case.
        let mut request = request.clone();
        if let (None, true, CaseInputs::Ct { ct, labels }) = (&request.ct, request.meshes.is_empty(), &inputs) {
            request.ct = Some(ct.clone());
            request.labels.clone_from(labels);
        }
        crate::stamp::write(&dir.join("request.json"), "request", &request)?;
    }
    let mut warnings: Vec<String> = anatomy.warnings.clone();
    let segmentation = segmentation(case, ct.as_ref(), model_segmentation, dir, progress, &mut warnings)?;
    let radiomics = match radiomics(scn, case, &source, ct.as_ref(), &anatomy, progress, &mut warnings)? {
        Some((record, table)) => {
            write_new(&dir.join(crate::radiomics::STAGE_CSV), table.as_bytes())?;
            Some(record)
        }
        None => None,
    };
    let (pseudo_mri, pseudo_mri_picture) = stages::pseudo_mri::in_case(scn.pseudo_mri.as_ref(), ct.as_ref().map(|c| &c.volume), dir, progress, &mut warnings)?.unzip();
    let mut lesions = None;
    if let Some(search) = &scn.lesions {
        match (&source, ct.as_ref(), &anatomy.labels) {
            (AnatomySource::Ct { ct: ct_path, .. }, Some(ct), Some(labels)) => {
                progress("bone lesions");
                let learned = search.model.as_deref().map(|card| (card, search.threshold));
                lesions = Some(stages::lesions::run(&ct.volume, labels, &crate::lesions::file_name(ct_path), case.side, learned, dir, &mut warnings)?);
            }
            _ => warnings.push("lesions: not searched, this case has no CT with a label map (bone surfaces as input)".into()),
        }
    }
    // What no later stage needs is not held through the sweep: the label map, and the CT unless
    // the simulated radiograph (pictures of a planned primary point) will project it.
    anatomy.labels = None;
    if !(scn.report.pictures && scn.sweep.first().is_some_and(|p| p.placement.is_none())) {
        ct = None;
    }

    // Every sweep point: implants, placement, ROM.
    let motions = stages::sweep::motions(scn);
    progress(&format!("range of motion over {} sweep point(s)", scn.sweep.len()));
    let results = stages::sweep::sweep(&SweepInputs { scn, case, catalog, anatomy: &anatomy, motions: &motions }, progress, &mut warnings)?;
    case_writer::write_sweep(dir, &results, &motions)?;
    let primary = &results[0];
    let Some(geo) = primary.geometry.as_deref() else { bail!("the first sweep point of case {} kept no hip model (a bug in coxa; please report it)", case.name) };
    // What the viewer's live planning needs to rebuild this hip model.
    let case_model = stages::sweep::case_model(scn, case, catalog, primary, geo, &motions);
    crate::stamp::write(&dir.join("model.json"), "model", &case_model)?;
    let safe_zone = if scn.report.safe_zone_map {
        progress("safe-zone map");
        Some(stages::sweep::safe_zone(primary, geo, case.side, &motions)?)
    } else {
        None
    };
    let (msk, msk_osim) = match &scn.msk {
        None => (None, None),
        Some(input) => {
            progress("musculoskeletal model");
            let (record, osim) = stages::msk::run(input, &anatomy, primary, geo, case.side).context("musculoskeletal stage")?;
            (Some(record), Some(osim))
        }
    };

    // Pictures of the primary point, and the plan on a simulated AP pelvis radiograph (issue 22)
    // for a planned case with a CT.
    let implants = geo.model.implant_meshes_lps();
    case_writer::write_implants(dir, &implants, &anatomy.bones, &scn.mesh_formats)?;
    if let Some(osim) = &msk_osim {
        warnings.extend(case_writer::write_osim_model(dir, osim, &geo.model, &implants)?);
    }
    let (mut pictures, mut radiograph_measures) = (Vec::new(), None);
    if scn.report.pictures {
        progress("pictures");
        pictures = stages::pictures::pictures(&anatomy, &geo.model, &implants, &case_model.placement, case.side)?;
        pictures.extend(stages::pictures::contact_pictures(&anatomy, &geo.model, &implants, &case_model.placement, case.side, &primary.rom, &motions, &primary.point.tilts())?);
        if let (Some(ct), Some(plan)) = (ct.take(), primary.plan.as_ref()) {
            progress("simulated radiograph");
            match stages::pictures::radiograph(ct.volume, &anatomy.landmarks, &plan.record) {
                Ok((picture, measures)) => {
                    pictures.push(picture);
                    radiograph_measures = Some(measures);
                }
                Err(e) => warnings.push(format!("no simulated radiograph: {e:#}")),
            }
        }
    } else {
        warnings.push("no pictures: switched off by the scenario ([report] pictures = false)".to_string());
    }
    pictures.extend(pseudo_mri_picture);
    case_writer::write_pictures(dir, &pictures)?;
    if let Some(measures) = &radiograph_measures {
        crate::stamp::write(&dir.join("pictures").join("xray_ap.json"), "xray", measures)?;
    }

    let parts = ReportParts {
        truth,
        radiomics,
        segmentation,
        safe_zone,
        msk,
        pseudo_mri,
        lesions,
        pictures: pictures.iter().map(|p| PictureRecord { view: p.view.clone(), file: p.file.clone() }).collect(),
        warnings,
    };
    let report = stages::report::case_report(scn, case, &anatomy, &results, geo, parts);
    if scn.report.html {
        progress("report");
    }
    case_writer::write_report(dir, &report, &pictures, scn.report.html)?;
    Ok(CaseOutcome { summary: stages::report::summary(case, &results, geo, &report), plan: primary.plan.as_ref().map(|p| p.record.clone()) })
}

//! The scenario side of the viewer's Save (`coxa view`, [`coxa_viewer::revision`]): once the
//! viewer has written the new plan revision (`plan.json`, the earlier plan kept in `plans/`, the
//! revision's `implants/*.stl`), everything else that follows from the plan is rebuilt:
//!
//! - the report's four pictures (`pictures/<view>.png`, [`coxa_case::render::report_pictures`]) and,
//!   when the case has one, the plan on the simulated AP radiograph (`pictures/xray_ap.png`);
//! - the report: `report.json` (its `plan`, `placement` and ROM table the revision's), and
//!   `report.html` / `report.pdf` when the case has them; the case's summary `case.json`;
//! - `manifest.json` (every file's SHA-256), so that `coxa pacs push` sends the current plan.
//!
//! The folder given is the new case the viewer is building beside the live one
//! ([`coxa_viewer::case_swap`]), whose files are hard links to the live case's: files are written
//! into a staging folder inside it, then renamed over the old names (a linked file is never
//! opened for writing), and the viewer swaps the whole folder in once this has succeeded. A
//! failure here leaves the live case as it was. The sweep's own records (`rom/`,
//! `rom_sweep.csv`, `plans/<point>.json`) stay the automatic plan's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;

use coxa_core::report::{CaseReport, CupAnglesDeg, MotionRecord};
use coxa_core::{Angle, CombinedAnteversion, CupAngleDefinition, CupAngles, Mesh, PlanRecord};
use coxa_viewer::live::Evaluation;
use coxa_viewer::revision::SaveHook;

use crate::replan::{files_under, move_into, plans_again, read_request, replan};
use coxa_case::memo::AnatomyMemo;
use coxa_case::render::{PlanScene, png, report_pictures};
use coxa_case::stages::pictures::Picture;

/// Side of each of the report's pictures, pixels (as the pictures stage draws them).
const PICTURE_PX: usize = 480;

/// The implant parts by their file stems.
const PARTS: [&str; 5] = ["shell", "liner", "head", "neck", "stem"];

/// The hook `coxa view` gives the viewer: a save of a case `coxa plan` wrote plans it again
/// ([`crate::replan::replan`]), its anatomy found once per hook ([`AnatomyMemo`]); other cases are rebuilt from
/// the desk's revision ([`rebuild`]).
pub fn save_hook() -> SaveHook {
    hook_with(Arc::new(AnatomyMemo::new()))
}

/// [`save_hook`] for the case `dir` the desk opens: when it is a case `coxa plan` wrote, its
/// anatomy is found in the background now (the CT read and segmented once), so that the first
/// save plans at once. A failure there is left for the save to meet and say.
pub fn desk_save_hook(dir: &Path) -> SaveHook {
    let memo = Arc::new(AnatomyMemo::new());
    if let Some(case) = plans_again(dir).then(|| read_request(dir).ok()).flatten().and_then(|r| crate::cli::plan_request::request_case(&r).ok()) {
        let warm = Arc::clone(&memo);
        let _ = std::thread::Builder::new().name("coxa-desk-anatomy".into()).spawn(move || {
            if let Err(e) = coxa_case::pipeline::warm(&warm, &case) {
                tracing::info!("the desk's anatomy ahead of a save: {e:#}");
            }
        });
    }
    hook_with(memo)
}

fn hook_with(memo: Arc<AnatomyMemo>) -> SaveHook {
    SaveHook(Arc::new(move |dir: &Path, plan: &Value, e: &Evaluation| {
        let r = if plans_again(dir) { replan(dir, plan, e, Some(Arc::clone(&memo))) } else { rebuild(dir, plan) };
        r.map_err(|e| format!("{e:#}"))
    }))
}

fn read_stls(dir: &Path) -> Result<Vec<(String, Mesh)>> {
    let mut v = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(v) };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("stl"))).collect();
    paths.sort();
    for p in paths {
        let name = p.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        v.push((name, coxa_io::mesh::read_mesh(&p)?));
    }
    Ok(v)
}

/// The four pictures of the plan `plan` of the case `dir` (bones from `anatomy/meshes`, the
/// implants the viewer wrote).
fn pictures(dir: &Path, plan: &PlanRecord) -> Result<Vec<Picture>> {
    let bones: Vec<(coxa_core::Bone, Mesh)> = read_stls(&dir.join("anatomy").join("meshes"))?.into_iter().filter_map(|(n, m)| coxa_core::Bone::from_name(&n).map(|b| (b, m))).collect();
    let implants: Vec<(&'static str, Mesh)> = read_stls(&dir.join("implants"))?.into_iter().filter_map(|(n, m)| PARTS.iter().find(|p| **p == n).map(|p| (*p, m))).collect();
    let [x, y, z] = plan.head.centre_lps_mm;
    let [hx, hy, hz] = plan.head.centre_on_femur_lps_mm;
    let scene = PlanScene { bones: &bones, implants: &implants, side: plan.side, hip_centre_lps_mm: [x, y, z].into(), head_on_femur_lps_mm: [hx, hy, hz].into() };
    report_pictures(&scene, PICTURE_PX).into_iter().map(|(view, pic)| Ok(Picture { view: view.as_str().to_string(), file: format!("pictures/{}.png", view.as_str()), png: png(&pic)? })).collect()
}

/// `report` with the revision's plan, placement and ROM table.
fn revised_report(mut report: CaseReport, plan: &PlanRecord, revision: &Value) -> CaseReport {
    let a = &plan.cup.angles_deg;
    for (name, pair) in [("radiographic", &a.radiographic), ("operative", &a.operative), ("anatomic", &a.anatomic)] {
        report.placement.cup_angles.insert(name.to_string(), *pair);
    }
    report.placement.cup_centre_lps_mm = plan.cup.centre_lps_mm;
    report.placement.stem_anteversion_deg = plan.stem.anteversion_deg;
    // The placement's is the plain sum (operative cup + stem), of the revision's own cup and stem
    // (issue 60: it was given the plan's Widmer value).
    let radio = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(a.radiographic.inclination_deg), anteversion: Angle::from_deg(a.radiographic.anteversion_deg) };
    let combined = CombinedAnteversion::of(&radio, plan.side, Angle::from_deg(plan.stem.anteversion_deg));
    report.placement.combined_anteversion_deg = (combined.plain_sum_deg * 100.0).round() / 100.0;
    report.placement.source = format!("plan revision {} (coxa view)", revision["number"]);
    // Page 1, the title and the PDF's date name the revision and its save time.
    report.revision = revision["number"].as_u64().unwrap_or(0);
    report.planned_utc = revision["time"].as_str().map(str::to_string).or(report.planned_utc);
    for implants in [&mut report.placement.implants, &mut report.rom.implants] {
        implants.head_diameter_mm = plan.head.diameter_mm;
        implants.head_offset_mm = plan.head.neck_length_offset_mm;
        implants.shell_outer_diameter_mm = plan.cup.outer_diameter_mm;
    }
    let pair = |p: &coxa_core::plan_record::CupAnglePair| [p.inclination_deg, p.anteversion_deg];
    report.rom.cup_pelvic_deg = CupAnglesDeg { radiographic: pair(&a.radiographic), operative: pair(&a.operative), anatomic: pair(&a.anatomic) };
    report.rom.stem_anteversion_deg = plan.stem.anteversion_deg;
    for (to, from) in [(&mut report.rom.cup_functional_standing_deg, &plan.cup.functional_standing_deg), (&mut report.rom.cup_functional_sitting_deg, &plan.cup.functional_sitting_deg)] {
        if let Some(f) = from {
            *to = CupAnglesDeg { radiographic: pair(&f.radiographic), operative: pair(&f.operative), anatomic: pair(&f.anatomic) };
        }
    }
    if let Some(o) = revision["oscillation_angle_deg"].as_f64() {
        report.rom.oscillation_angle_deg = o;
    }
    report.rom.motions = plan.motions.iter().map(MotionRecord::from).collect();
    report.plan = Some(plan.clone());
    report.warnings.push(format!("plan revision {} by the surgeon in coxa view: the placement and ROM are the revision's; the sweep table is the automatic plan's", revision["number"]));
    report
}

/// Rebuilds what follows from the plan (see the module docs); the files rewritten, relative.
///
/// # Errors
/// A plan.json this coxa cannot read, a picture or report that cannot be made or written.
pub fn rebuild(dir: &Path, plan_json: &Value) -> Result<Vec<String>> {
    let plan: PlanRecord = serde_json::from_value(plan_json.clone()).context("the revised plan.json is not a plan record of this coxa")?;
    // The plan's ranges, as `coxa rom`, the scenarios and the desk check them.
    coxa_core::plan_ranges::check_plan(&plan).map_err(|(field, e)| anyhow::anyhow!("the revised plan.json's {field}: {e}"))?;
    let staging = dir.join(format!(".revision{}{}", coxa_case::atomic::TMP_MARK, std::process::id()));
    // Made new here (anything already there is refused, never removed), so it is removed after.
    coxa_io::scratch::fresh_dir(&staging, "staging folder of a revision")?;
    let result = (|| -> Result<Vec<String>> {
        let mut pics = pictures(dir, &plan)?;
        let mut measures = None;
        if dir.join("pictures").join("xray_ap.png").is_file()
            && let Some((p, m)) = radiograph(dir, &plan)?
        {
            pics.push(p);
            measures = Some(m);
        }
        coxa_case::case_writer::write_pictures(&staging, &pics)?;
        if let Some(m) = measures {
            coxa_case::stamp::write(&staging.join("pictures").join("xray_ap.json"), "xray", &m)?;
        }
        if let Some(summary) = revised_summary(dir, &plan)? {
            // Stamped anew: the revised summary is this coxa's record.
            coxa_case::stamp::write(&staging.join("case.json"), "case", &coxa_core::provenance::unstamped(summary))?;
        }
        let report_path = dir.join("report.json");
        if report_path.is_file() {
            let report: CaseReport = serde_json::from_str(&std::fs::read_to_string(&report_path)?).with_context(|| format!("{} is not a case report of this coxa", report_path.display()))?;
            let report = revised_report(report, &plan, &plan_json["revision"]);
            // Every picture the report shows, the rebuilt ones and the rest as they are.
            let mut all: Vec<Picture> = Vec::new();
            for p in &report.pictures {
                let file = p.file.clone();
                match pics.iter().find(|q| q.file == file) {
                    Some(q) => all.push(Picture { view: q.view.clone(), file, png: q.png.clone() }),
                    None => all.push(Picture { view: file.clone(), png: std::fs::read(dir.join(&file)).unwrap_or_default(), file }),
                }
            }
            coxa_case::case_writer::write_report(&staging, &report, &all, dir.join("report.html").is_file())?;
        }
        move_into(&staging, &files_under(&staging)?, dir)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    let mut files = result?;
    let manifest = dir.join(coxa_case::manifest::MANIFEST);
    if manifest.is_file() {
        // The old manifest kept in memory (a copy in the folder would be hashed into the new one).
        let old = std::fs::read(&manifest)?;
        std::fs::remove_file(&manifest)?;
        if let Err(e) = coxa_case::manifest::write(dir) {
            let _ = coxa_case::atomic::write_new(&manifest, &old);
            return Err(e.into());
        }
        files.push(coxa_case::manifest::MANIFEST.to_string());
    }
    Ok(files)
}

/// The case's one-line summary (`case.json`) with the revision's numbers, when it has one.
fn revised_summary(dir: &Path, plan: &PlanRecord) -> Result<Option<Value>> {
    let path = dir.join("case.json");
    if !path.is_file() {
        return Ok(None);
    }
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?).with_context(|| format!("{} is not JSON", path.display()))?;
    let r = &plan.cup.angles_deg.radiographic;
    v["cup_radiographic_deg"] = serde_json::json!({"anteversion_deg": r.anteversion_deg, "inclination_deg": r.inclination_deg});
    v["head_diameter_mm"] = plan.head.diameter_mm.into();
    v["shell_outer_diameter_mm"] = plan.cup.outer_diameter_mm.into();
    v["leg_length_change_mm"] = plan.leg_length_change_mm.into();
    v["offset_change_mm"] = plan.offset_change_mm.into();
    v["min_adl_margin_deg"] = plan.motions.iter().filter_map(|m| m.margin_deg).min_by(f64::total_cmp).map_or(Value::Null, Value::from);
    Ok(Some(v))
}

/// The plan on the case's simulated AP radiograph and its measures, when the CT and landmarks
/// are there.
fn radiograph(dir: &Path, plan: &PlanRecord) -> Result<Option<(Picture, Value)>> {
    let inputs: coxa_core::CaseInputs = serde_json::from_str(&std::fs::read_to_string(dir.join("inputs.json"))?)?;
    let Some(ct) = inputs.ct() else { return Ok(None) };
    let ct = if ct.is_absolute() { ct.to_path_buf() } else { dir.join(ct) };
    let lm: coxa_core::PatientLandmarks = serde_json::from_str(&std::fs::read_to_string(dir.join("anatomy").join("landmarks.json"))?)?;
    let volume = coxa_io::open(&ct, &coxa_io::OpenOptions::new())?.volume;
    Ok(Some(coxa_case::stages::pictures::radiograph(volume, &lm, plan)?))
}

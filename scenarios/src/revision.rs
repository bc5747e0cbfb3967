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
use coxa_viewer::revision::{AUTOMATIC_MODEL, SaveHook};

use coxa_case::pipeline::AnatomyMemo;
use coxa_case::render::{PlanScene, png, report_pictures};
use coxa_case::stages::pictures::Picture;

/// What `coxa plan` was asked, in a case it wrote.
const REQUEST: &str = "request.json";

/// The request of the case `dir` with the surgeon's choices of `e` fixed: every cup angle, the
/// shell, the cup shift, the stem series, size and version, the head and its neck length.
fn fixed_request(dir: &Path, e: &Evaluation) -> Result<coxa_core::PlanRequest> {
    let mut r = read_request(dir)?;
    // The revision is planned from the case's own inputs: one that is gone is said, with the fix.
    let inputs = r.ct.iter().chain(&r.labels).cloned().chain(r.meshes.iter().map(|m| m.file.clone()));
    for f in inputs {
        anyhow::ensure!(f.exists(), "the case's input {} (request.json) is not there, and the desk plans the revision from it: put it back, then save again", f.display());
    }
    let (c, p) = (&e.controls, &e.placement);
    r.cup_inclination_deg = [c.cup_inclination_deg; 2];
    r.cup_anteversion_deg = [c.cup_anteversion_deg; 2];
    r.stem_anteversion_deg = Some([c.stem_anteversion_deg; 2]);
    r.head_mm = Some(p.head_diameter_mm);
    r.liners = vec![p.liner.clone()];
    r.fixed = coxa_core::FixedChoicesRequest {
        cup_mm: Some(p.shell_outer_diameter_mm),
        cup_shift_mm: Some(c.cup_shift_mm),
        stem_series: Some(p.stem_family.clone()),
        stem_size: Some(p.stem_size.clone()),
        head_offset_mm: Some(p.head_offset_mm),
    };
    Ok(r)
}

/// The case's `request.json`, its inputs inside the case (a CT handed over in memory) named
/// with the case's folder.
fn read_request(dir: &Path) -> Result<coxa_core::PlanRequest> {
    let path = dir.join(REQUEST);
    let text = coxa_io::read_text_bounded(&path, coxa_io::Bound::TEXT).with_context(|| format!("reading {}", path.display()))?;
    let mut r: coxa_core::PlanRequest = serde_json::from_str(&text).with_context(|| format!("{} is not a request of this coxa", path.display()))?;
    for f in [&mut r.ct, &mut r.labels].into_iter().flatten() {
        if f.is_relative() {
            *f = dir.join(&*f);
        }
    }
    Ok(r)
}

/// The revision's effect on ROM, coverage, medial wall, leg length and offset, from the
/// automatic plan's record to the revision's (both planned by the planner).
fn effect(auto: &PlanRecord, plan: &PlanRecord) -> Value {
    let r1 = |v: f64| (v * 10.0).round() / 10.0;
    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let r4 = |v: f64| (v * 1e4).round() / 1e4;
    let rom: Vec<Value> = plan
        .motions
        .iter()
        .filter_map(|m| {
            let a = auto.motions.iter().find(|x| x.name == m.name)?;
            Some(serde_json::json!({"motion": m.name, "from_deg": r1(a.limit_deg), "to_deg": r1(m.limit_deg), "change_deg": r1(m.limit_deg - a.limit_deg)}))
        })
        .collect();
    let change = |a: f64, b: f64, r: &dyn Fn(f64) -> f64| serde_json::json!({"from": r(a), "to": r(b), "change": r(b - a)});
    serde_json::json!({
        "rom": rom,
        "coverage": change(auto.cup.coverage, plan.cup.coverage, &r4),
        "medial_wall_mm": change(auto.cup.medial_wall_mm, plan.cup.medial_wall_mm, &r2),
        "leg_length_change_mm": r2(plan.leg_length_change_mm - auto.leg_length_change_mm),
        "offset_change_mm": r2(plan.offset_change_mm - auto.offset_change_mm),
    })
}

/// A save of a case `coxa plan` wrote (issue 60: one evaluator): the case planned again by
/// `coxa plan`'s own code with the surgeon's choices fixed ([`fixed_request`]) into a scratch
/// folder, its files then put in place of the case's: plan.json with the desk's `revision` block
/// (its effect measured between the two plan records), the report naming the revision; the
/// earlier plans in `plans/` and the automatic plan's model (`model.automatic.json`, where the
/// desk starts from) are kept. Every other file is the one `coxa plan` writes with the same
/// choices fixed.
pub fn replan(dir: &Path, plan_json: &Value, e: &Evaluation, memo: Option<Arc<AnatomyMemo>>) -> Result<Vec<String>> {
    let request = fixed_request(dir, e)?;
    if let Some(m) = &request.shape_model {
        coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
    }
    let name = dir.file_name().map_or_else(|| "case".into(), |n| n.to_string_lossy().into_owned());
    let parent = dir.parent().unwrap_or(Path::new("."));
    let scratch = parent.join(format!(".{name}.replan{}{}", coxa_case::atomic::TMP_MARK, std::process::id()));
    let result = (|| -> Result<Vec<String>> {
        crate::cli::plan::run_request(&request, &scratch, None, None, memo).context("planning the revision again with the surgeon's choices fixed")?;
        let revision = &plan_json["revision"];
        // plan.json: the planner's record with the revision block, its effect the two records'.
        let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(scratch.join("plan.json"))?)?;
        let record: PlanRecord = serde_json::from_value(coxa_core::provenance::unstamped(plan.clone())).context("the re-planned plan.json")?;
        let auto_path = dir.join("plans").join("automatic.json");
        let auto: PlanRecord =
            serde_json::from_value(coxa_core::provenance::unstamped(serde_json::from_str(&std::fs::read_to_string(&auto_path)?)?)).with_context(|| format!("{}", auto_path.display()))?;
        let mut block = revision.clone();
        block["effect"] = effect(&auto, &record);
        if let Some(o) = block.as_object_mut() {
            o.remove("oscillation_angle_deg");
            o.insert("planned_by".into(), Value::from("coxa plan's planner, every choice fixed to the surgeon's (request.json)"));
        }
        plan["revision"] = block;
        std::fs::remove_file(scratch.join("plan.json"))?;
        coxa_case::atomic::write_new(&scratch.join("plan.json"), serde_json::to_string_pretty(&plan)?.as_bytes())?;
        // The report names the revision and its time (page 1, title, PDF metadata).
        let report_path = scratch.join("report.json");
        if report_path.is_file() {
            let mut report: CaseReport = serde_json::from_value(coxa_core::provenance::unstamped(serde_json::from_str(&std::fs::read_to_string(&report_path)?)?))?;
            report.revision = revision["number"].as_u64().unwrap_or(0);
            report.planned_utc = revision["time"].as_str().map(str::to_string).or(report.planned_utc);
            let pictures: Vec<Picture> =
                report.pictures.iter().map(|p| Ok(Picture { view: p.view.clone(), file: p.file.clone(), png: std::fs::read(scratch.join(&p.file))? })).collect::<Result<_>>()?;
            let html = scratch.join("report.html").is_file();
            // Written again by the report writer: the report's files and its OpenSim tables.
            for f in ["report.json", "report.html", "report.pdf"] {
                let _ = std::fs::remove_file(scratch.join(f));
            }
            for f in std::fs::read_dir(scratch.join("opensim")).into_iter().flatten().flatten() {
                let n = f.file_name().to_string_lossy().into_owned();
                if (n.starts_with("rom_") && n.ends_with(".mot")) || n.ends_with(".sto") {
                    std::fs::remove_file(f.path())?;
                }
            }
            coxa_case::case_writer::write_report(&scratch, &report, &pictures, html)?;
        }
        // The automatic plan's model stays where the desk starts from.
        if !dir.join(AUTOMATIC_MODEL).is_file() {
            std::fs::copy(dir.join("model.json"), scratch.join(AUTOMATIC_MODEL))?;
        }
        for f in files_under(dir)? {
            let rel = f.to_string_lossy().replace('\\', "/");
            if (rel == AUTOMATIC_MODEL || rel.starts_with("plans/automatic") || rel.starts_with("plans/revision-")) && !scratch.join(&f).exists() {
                if let Some(p) = scratch.join(&f).parent() {
                    std::fs::create_dir_all(p)?;
                }
                std::fs::hard_link(dir.join(&f), scratch.join(&f)).or_else(|_| std::fs::copy(dir.join(&f), scratch.join(&f)).map(|_| ()))?;
            }
        }
        std::fs::remove_file(scratch.join(coxa_case::manifest::MANIFEST))?;
        coxa_case::manifest::write(&scratch)?;
        // The case becomes the scratch's files: every file replaced or removed, none kept.
        let new_files = files_under(&scratch)?;
        for f in files_under(dir)? {
            if !new_files.contains(&f) {
                std::fs::remove_file(dir.join(&f))?;
            }
        }
        move_into(&scratch, &new_files, dir)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Side of each of the report's pictures, pixels (as the pictures stage draws them).
const PICTURE_PX: usize = 480;

/// The implant parts by their file stems.
const PARTS: [&str; 5] = ["shell", "liner", "head", "neck", "stem"];

/// The hook `coxa view` gives the viewer: a save of a case `coxa plan` wrote plans it again
/// ([`replan`]), its anatomy found once per hook ([`AnatomyMemo`]); other cases are rebuilt from
/// the desk's revision ([`rebuild`]).
pub fn save_hook() -> SaveHook {
    hook_with(Arc::new(AnatomyMemo::new()))
}

/// [`save_hook`] for the case `dir` the desk opens: when it is a case `coxa plan` wrote, its
/// anatomy is found in the background now (the CT read and segmented once), so that the first
/// save plans at once. A failure there is left for the save to meet and say.
pub fn desk_save_hook(dir: &Path) -> SaveHook {
    let memo = Arc::new(AnatomyMemo::new());
    if let Some(case) = read_request(dir).ok().and_then(|r| crate::cli::plan::request_case(&r).ok()) {
        let warm = Arc::clone(&memo);
        let _ = std::thread::Builder::new().name("coxa-desk-anatomy".into()).spawn(move || {
            if let Err(e) = warm.warm(&case) {
                tracing::info!("the desk's anatomy ahead of a save: {e:#}");
            }
        });
    }
    hook_with(memo)
}

fn hook_with(memo: Arc<AnatomyMemo>) -> SaveHook {
    SaveHook(Arc::new(move |dir: &Path, plan: &Value, e: &Evaluation| {
        let r = if dir.join(REQUEST).is_file() { replan(dir, plan, e, Some(Arc::clone(&memo))) } else { rebuild(dir, plan) };
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

/// Renames `files` (relative) of the folder `from` over the same names in `to`; the names moved,
/// `/`-separated.
fn move_into(from: &Path, files: &[PathBuf], to: &Path) -> Result<Vec<String>> {
    for rel in files {
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(from.join(rel), &target).with_context(|| format!("replacing {}", target.display()))?;
    }
    Ok(files.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect())
}

/// Every file under `root`, relative.
fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel))? {
            let e = e?;
            let r = rel.join(e.file_name());
            if e.file_type()?.is_dir() { stack.push(r) } else { out.push(r) }
        }
    }
    out.sort();
    Ok(out)
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

//! The planning desk's Save of a case `coxa plan` wrote (issue 60, "one evaluator"): the case
//! planned again by `coxa plan`'s own code ([`crate::cli::plan_request::run_request`]) with every
//! choice fixed to the surgeon's, so that the revision is, file for file, the case `coxa plan`
//! writes with those choices; only the revision's own parts differ (plan.json's `revision`
//! block, the report's revision mark and time, the kept plans). Cases without a request, or with
//! their CT inside the case, keep the older route (`revision::rebuild`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;

use coxa_case::memo::AnatomyMemo;
use coxa_case::stages::pictures::Picture;
use coxa_core::PlanRecord;
use coxa_core::report::CaseReport;
use coxa_viewer::live::Evaluation;
use coxa_viewer::revision::AUTOMATIC_MODEL;

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

/// Whether a save of the case `dir` plans it again ([`replan`]): it holds `request.json` whose
/// inputs are files outside the case. A CT handed over in memory (the Python package's
/// `coxa.plan(ct=...)`) lives inside the case (`input/ct.nii.gz`), where a re-plan, reading it
/// as a file, would write a case that names the save's temporary folder and lacks it: such a case
/// keeps the older route (`revision::rebuild`). An unreadable request is re-planned, so that the save
/// says why it cannot be read.
pub(crate) fn plans_again(dir: &Path) -> bool {
    let path = dir.join(REQUEST);
    if !path.is_file() {
        return false;
    }
    let text = coxa_io::read_text_bounded(&path, coxa_io::Bound::TEXT).unwrap_or_default();
    serde_json::from_str::<coxa_core::PlanRequest>(&text).map_or(true, |r| r.ct.iter().chain(&r.labels).all(|p| p.is_absolute()))
}

/// The case's `request.json`, its inputs inside the case (a CT handed over in memory) named
/// with the case's folder.
pub(crate) fn read_request(dir: &Path) -> Result<coxa_core::PlanRequest> {
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
        crate::cli::plan_request::run_request(&request, &scratch, None, None, memo, &[]).context("planning the revision again with the surgeon's choices fixed")?;
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
            for f in ["report.json", "report.html", "report.pdf"] {
                let _ = std::fs::remove_file(scratch.join(f));
            }
            coxa_case::case_writer::write_report_documents(&scratch, &report, &pictures, html)?;
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

/// Renames `files` (relative) of the folder `from` over the same names in `to`; the names moved,
/// `/`-separated.
pub(crate) fn move_into(from: &Path, files: &[PathBuf], to: &Path) -> Result<Vec<String>> {
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
pub(crate) fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
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

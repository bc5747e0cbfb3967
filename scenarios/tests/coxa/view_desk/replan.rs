//! Issue 60, "one evaluator": the desk's Save on a case `coxa plan` wrote plans the case again
//! with `coxa plan`'s own code, every choice fixed to the surgeon's. A scripted revision (cup
//! 45/15 radiographic, stem anteversion 15, head one size up, the shell that bears it; save)
//! must equal, file for file and byte for byte, the case that `coxa plan` writes when given
//! those choices on its command line (read back from the revision's `request.json`), pictures
//! and implants included. Only the revision itself may differ: plan.json's `revision` block,
//! the report's revision number and time (report.json, the title and page 1 of report.html and
//! report.pdf), the manifest's hashes of those files, and the plans kept in `plans/`.
//! On the built-in phantom's CT, the vsd z013 bone surfaces and the real CT.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, ensure};
use serde_json::Value;

use super::{have_xvfb, view_script};
use crate::cases::{coxa, ok, read_json};
use crate::common::shared_data;

/// Files only the revised case has: the plans it keeps.
const KEPT: [&str; 2] = ["plans/automatic.json", "model.automatic.json"];

/// Every file under `root`, relative, `/`-separated.
fn files(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(r);
            } else {
                out.insert(r.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

/// `coxa plan`'s command line for a request (`request.json`): the inputs, every option and the
/// fixed choices, as a user would type them.
fn plan_args(r: &Value, out: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec!["plan".into(), "--out".into(), out.display().to_string(), "--case-name".into(), r["case_name"].as_str().unwrap().into()];
    let mut flag = |name: &str, values: Vec<String>| {
        a.push(format!("--{name}"));
        a.extend(values);
    };
    let num = |v: &Value| format!("{:?}", v.as_f64().unwrap());
    let text = |v: &Value| v.as_str().unwrap().to_string();
    for (key, name) in [("ct", "ct"), ("labels", "labels"), ("side", "side"), ("catalog", "catalog"), ("shape_model", "shape-model"), ("cup_definition", "cup-definition")] {
        if !r[key].is_null() {
            flag(name, vec![text(&r[key])]);
        }
    }
    for m in r["meshes"].as_array().unwrap() {
        flag("mesh", vec![format!("{}={}", text(&m["name"]), text(&m["file"]))]);
    }
    for l in r["liners"].as_array().unwrap() {
        flag("liner", vec![text(l)]);
    }
    for (key, name) in [("head_mm", "head-mm"), ("pelvic_tilt_deg", "pelvic-tilt-deg"), ("sitting_extra_tilt_deg", "sitting-extra-tilt-deg"), ("grid_step_deg", "grid-step-deg")] {
        if !r[key].is_null() {
            flag(name, vec![num(&r[key])]);
        }
    }
    for (key, name) in [("cup_inclination_deg", "cup-inclination-deg"), ("cup_anteversion_deg", "cup-anteversion-deg"), ("stem_anteversion_deg", "stem-anteversion-deg")] {
        if let Some(v) = r[key].as_array() {
            flag(name, v.iter().map(num).collect());
        }
    }
    let f = &r["fixed"];
    for (key, name) in [("cup_mm", "cup-mm"), ("head_offset_mm", "head-offset-mm")] {
        if !f[key].is_null() {
            flag(name, vec![num(&f[key])]);
        }
    }
    if let Some(v) = f["cup_shift_mm"].as_array() {
        flag("cup-shift-mm", v.iter().map(num).collect());
    }
    for (key, name) in [("stem_series", "stem-series"), ("stem_size", "stem-size")] {
        if !f[key].is_null() {
            flag(name, vec![text(&f[key])]);
        }
    }
    a
}

/// A record without the keys that name the revision or when it was written.
fn without(mut v: Value, keys: &[&str]) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// The lines of `a` and `b` that differ, where a line naming the revision (its number and
/// time: "planned ... UTC · revision N") is the revision's own and not counted.
fn other_lines(a: &str, b: &str) -> Vec<(String, String)> {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut diff: Vec<(String, String)> =
        la.iter().zip(&lb).filter(|(x, y)| x != y && !(x.contains("revision") && y.contains("revision") && x.contains("UTC"))).map(|(x, y)| (x.to_string(), y.to_string())).collect();
    if la.len() != lb.len() {
        diff.push((format!("{} lines", la.len()), format!("{} lines", lb.len())));
    }
    diff
}

fn pdf_text(p: &Path) -> String {
    // Text in reading order, spaces collapsed: `-layout` spaces the columns by the page's
    // widest line, which the footer's revision mark changes.
    let out = Command::new("pdftotext").arg(p).arg("-").output().expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success(), "pdftotext {}", p.display());
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

/// Every difference between the revised case `desk` and the case `coxa plan` wrote with the
/// same choices fixed, beside the revision's own (see the module docs).
fn differences(desk: &Path, fixed: &Path) -> Vec<String> {
    let (a, b) = (files(desk), files(fixed));
    let mut out = Vec::new();
    for f in a.symmetric_difference(&b) {
        if !KEPT.contains(&f.as_str()) {
            out.push(format!("{f}: only in {}", if a.contains(f) { "the revision" } else { "coxa plan's case" }));
        }
    }
    for f in a.intersection(&b) {
        let (x, y) = (std::fs::read(desk.join(f)).unwrap(), std::fs::read(fixed.join(f)).unwrap());
        if x == y {
            continue;
        }
        let same = match f.as_str() {
            "plan.json" => without(read_json(&desk.join(f)), &["revision"]) == read_json(&fixed.join(f)),
            "report.json" => without(read_json(&desk.join(f)), &["revision", "planned_utc"]) == without(read_json(&fixed.join(f)), &["revision", "planned_utc"]),
            "report.html" => other_lines(&String::from_utf8_lossy(&x), &String::from_utf8_lossy(&y)).is_empty(),
            "report.pdf" => other_lines(&pdf_text(&desk.join(f)), &pdf_text(&fixed.join(f))).is_empty(),
            "manifest.json" => {
                let entries = |p: &Path| -> Vec<Value> {
                    read_json(&p.join(f))["files"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|e| !matches!(e["path"].as_str().unwrap(), "plan.json" | "report.json" | "report.html" | "report.pdf") && !KEPT.contains(&e["path"].as_str().unwrap()))
                        .cloned()
                        .collect()
                };
                entries(desk) == entries(fixed)
            }
            _ => false,
        };
        if !same {
            out.push(format!("{f}: differs"));
        }
    }
    out
}

/// `coxa plan` with `input` into `dir/auto`; the desk's scripted revision of a copy; `coxa plan`
/// with the revision's choices; their differences beside the revision's own.
fn desk_against_coxa_plan(dir: &Path, input: &[String]) -> Result<Vec<String>> {
    let auto = dir.join("auto");
    let mut args: Vec<&str> = vec!["plan", "--out", auto.to_str().unwrap()];
    args.extend(input.iter().map(String::as_str));
    ok(&coxa(&args));
    let plan = read_json(&auto.join("plan.json"));
    // Head one size up (the catalog's 22-40 mm), in a shell that bears it with the 4 mm liner
    // (3 mm wall): the surgeon's step up.
    let head = plan["head"]["diameter_mm"].as_f64().unwrap();
    let up = [22.0, 28.0, 32.0, 36.0, 40.0].into_iter().find(|h| *h > head + 0.5).unwrap_or(head);
    let shell = plan["cup"]["outer_diameter_mm"].as_f64().unwrap().max(up + 14.0);
    let desk = dir.join("case");
    super::copy_case(&auto, &desk);
    let script = format!("set cup_inclination_deg 45\nset cup_anteversion_deg 15\nset stem_anteversion_deg 15\nset cup_outer_diameter_mm {shell}\nset head_diameter_mm {up}\nsave\nquit\n");
    let out = view_script(&desk, dir, "revise", &script);
    ok(&out);
    let revised = read_json(&desk.join("plan.json"));
    ensure!(revised["revision"]["number"] == 1, "{}", String::from_utf8_lossy(&out.stderr));
    // The revision is the surgeon's plan, planned.
    let r = &revised["cup"]["angles_deg"]["radiographic"];
    ensure!((r["inclination_deg"].as_f64(), r["anteversion_deg"].as_f64()) == (Some(45.0), Some(15.0)), "{r}");
    ensure!(revised["stem"]["anteversion_deg"].as_f64() == Some(15.0) && revised["head"]["diameter_mm"].as_f64() == Some(up) && revised["cup"]["outer_diameter_mm"].as_f64() == Some(shell));
    let fixed = dir.join("fixed");
    let args = plan_args(&read_json(&desk.join("request.json")), &fixed);
    ok(&coxa(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    Ok(differences(&desk, &fixed))
}

#[test]
fn a_saved_revision_is_the_case_coxa_plan_writes_with_the_same_choices() -> Result<()> {
    if !have_xvfb() {
        return Ok(());
    }
    let phantom = crate::cases::demo_phantom().join("input");
    let mut inputs: Vec<(&str, Vec<String>)> = vec![(
        "the built-in phantom's CT",
        ["--ct", &phantom.join("phantom_ct.nii.gz").display().to_string(), "--labels", &phantom.join("phantom_muscles.nii.gz").display().to_string(), "--side", "right"].map(String::from).to_vec(),
    )];
    if let Some(vsd) = shared_data("vsd_bones") {
        let m = |n: &str, f: &str| ["--mesh".to_string(), format!("{n}={}", vsd.join(f).display())];
        let mut a: Vec<String> = [m("hip_right", "z013_Hip_R.stl"), m("femur_right", "z013_Femur_R.stl"), m("hip_left", "z013_Hip_L.stl"), m("femur_left", "z013_Femur_L.stl")].concat();
        a.extend(["--side".into(), "right".into()]);
        inputs.push(("the z013 bone surfaces", a));
    }
    if let Some(ct) = shared_data("totalseg/example_ct.nii.gz") {
        inputs.push(("the real CT", vec!["--ct".into(), ct.display().to_string(), "--side".into(), "right".into()]));
    }
    let mut failed = Vec::new();
    for (what, input) in &inputs {
        let tmp = tempfile::tempdir()?;
        let d = desk_against_coxa_plan(tmp.path(), input)?;
        eprintln!("{what}: {} difference(s) beside the revision's own", d.len());
        if !d.is_empty() {
            failed.push(format!("{what}: {d:?}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    Ok(())
}

/// Bad input: the CT a `coxa plan` case was planned from is gone when the desk saves: one line
/// naming the file and the fix, exit status 2, the case byte for byte as it was.
#[test]
fn a_save_without_the_cases_ct_is_refused_in_one_line() -> Result<()> {
    if !have_xvfb() {
        return Ok(());
    }
    let phantom = crate::cases::demo_phantom().join("input");
    let tmp = tempfile::tempdir()?;
    let ct = tmp.path().join("ct.nii.gz");
    std::fs::copy(phantom.join("phantom_ct.nii.gz"), &ct)?;
    let case = tmp.path().join("case");
    ok(&coxa(&["plan", "--ct", ct.to_str().unwrap(), "--side", "right", "--out", case.to_str().unwrap()]));
    let before: Vec<(String, Vec<u8>)> = files(&case).into_iter().map(|f| (f.clone(), std::fs::read(case.join(&f)).unwrap())).collect();
    std::fs::remove_file(&ct)?;
    let out = view_script(&case, tmp.path(), "gone", "set cup_inclination_deg 45\nsave\nquit\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let said: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(said[0].contains(&format!("{} (request.json) is not there", ct.display())) && said[0].contains("put it back, then save again"), "{}", said[0]);
    let after: Vec<(String, Vec<u8>)> = files(&case).into_iter().map(|f| (f.clone(), std::fs::read(case.join(&f)).unwrap())).collect();
    assert!(before == after, "the case is as it was");
    Ok(())
}

/// A case planned from a CT handed over in memory (the Python package's `coxa.plan(ct=...)`):
/// its CT lives inside the case (`input/ct.nii.gz`, `request.json` naming it relatively), so a
/// save keeps the older route instead of re-planning from a file in the save's temporary folder:
/// the revision is written, the case's CT stays, `inputs.json` still names it inside the case.
#[test]
fn a_case_planned_from_memory_keeps_its_ct_through_a_save() -> Result<()> {
    use coxa_viewer::revision::{CaseStamp, save};
    let phantom = crate::cases::demo_phantom().join("input");
    let ct = coxa_io::open(&phantom.join("phantom_ct.nii.gz"), &coxa_io::OpenOptions::new())?.volume;
    let tmp = tempfile::tempdir()?;
    let case = tmp.path().join("memory");
    let mut args = coxa_scenarios::cli::plan::PlanArgs::with_out(case.clone())?;
    args.side = Some(coxa_scenarios::cli::side::SideArg::Right);
    let memory = coxa_case::scenario::InMemoryCt { ct: std::sync::Arc::new(ct), labels: None };
    coxa_scenarios::cli::plan::run_with(&args, Some(memory), None)?;
    ensure!(read_json(&case.join("request.json"))["ct"] == "input/ct.nii.gz", "{}", read_json(&case.join("request.json"))["ct"]);
    let (_, _, live) = coxa_viewer::load_case(&case, coxa_viewer::LoadOptions { ct: false, muscles: false, live: true })?;
    let (live, automatic) = live.expect("the case's live model");
    let c0 = live.base_controls();
    let e = live.evaluate(&coxa_viewer::Controls { cup_inclination_deg: c0.cup_inclination_deg + 3.0, ..c0 })?;
    let saved = save(&case, &CaseStamp::take(&case)?, &automatic, &e, Some(&coxa_scenarios::revision::save_hook()))?;
    ensure!(saved.number == 1);
    ensure!(case.join("input/ct.nii.gz").is_file(), "the case keeps its CT");
    ensure!(read_json(&case.join("inputs.json"))["ct"] == "input/ct.nii.gz");
    ensure!(!case.join("model.automatic.json").exists(), "not re-planned");
    coxa_case::manifest::verify(&case)?;
    Ok(())
}

//! Issue 60: page 1 names the case and carries the measures surgeons plan by. Read with poppler
//! (pdftotext, pdfinfo) and pypdf: the case's name, the plan's date and time and its revision in
//! the title, the footers and the PDF's metadata; combined anteversion in both definitions (the
//! numbers of `coxa_core::CombinedAnteversion`), the neck resection level or why it is not
//! given, the centre of rotation against the teardrop and the other hip, the daily-life result;
//! at most five caveats on page 1, each once, in a surgeon's words, of the operated side; no
//! sentence twice in the report. `--case-name` with any characters: text, never a path.

use std::path::Path;
use std::process::Command;

use anyhow::Result;
use coxa_core::{Angle, CombinedAnteversion, CupAngleDefinition, CupAngles, Side};
use serde_json::Value;

use super::{html_text, pdftotext, pypdf_read, readers, squash};
use crate::cases::{coxa, read_json};
use crate::common::shared_data;

/// The caveats of page 1: the bullets of its "Caveats that change the plan" box, as text.
fn page_one_caveats(page1: &str) -> Vec<String> {
    let Some(at) = page1.find("Caveats that change the plan") else { return Vec::new() };
    let mut items: Vec<String> = Vec::new();
    for line in page1[at..].lines().skip(1) {
        let l = line.trim();
        if l.contains(" · page ") {
            break;
        }
        if let Some(rest) = l.strip_prefix('•') {
            items.push(rest.trim().to_string());
        } else if let Some(last) = items.last_mut().filter(|_| !l.is_empty()) {
            last.push(' ');
            last.push_str(l);
        }
    }
    items
}

/// The report's sentences of eight words or more (HTML text split at `. `), each with its count.
fn repeated_sentences(text: &str) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for s in text.split(". ").map(str::trim).filter(|s| s.split_whitespace().count() >= 8) {
        match seen.iter_mut().find(|(x, _)| x == s) {
            Some((_, n)) => *n += 1,
            None => seen.push((s.to_string(), 1)),
        }
    }
    seen.into_iter().filter(|(_, n)| *n > 1).collect()
}

/// Page 1 of `case`'s PDF against its report.json: what issue 60 asks of it. Returns page 1's
/// text.
fn check_page_one(case: &Path, python: &Path) -> String {
    let r = read_json(&case.join("report.json"));
    let pdf = case.join("report.pdf");
    let raw = pdftotext(&pdf, 1, 1);
    let page1 = squash(&raw);
    let name = r["case"].as_str().unwrap();
    let planned = r["planned_utc"].as_str().expect("report.json records when the plan was made");
    let when = format!("planned {} UTC", &planned.replacen('T', " ", 1)[..16]);
    let revision = format!("revision {}", r["revision"].as_u64().expect("report.json records the revision"));
    // Title (the heading above the decision), footer, and the PDF's metadata.
    let first = squash(&raw[..raw.find("The decision").expect("page 1 holds the decision")]).to_lowercase();
    for want in [format!("case {name}"), when.clone(), revision.clone()] {
        assert!(first.contains(&want.to_lowercase()), "page 1's title lacks {want:?}: {first:?}");
        let footer = raw.lines().rev().find(|l| l.contains(" · page 1 of ")).map(squash).unwrap_or_default();
        assert!(footer.contains(&want), "page 1's footer lacks {want:?}: {footer:?}");
    }
    let meta = pypdf_read(python, &pdf);
    let title = meta["title"].as_str().unwrap_or_default();
    assert!(title.contains(&format!("case {name}")) && title.contains(&when) && title.contains(&revision), "the PDF's metadata title: {title:?}");
    let info = Command::new("pdfinfo").arg("-isodates").arg(&pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let created = info.lines().find(|l| l.starts_with("CreationDate:")).unwrap_or_default();
    assert!(created.contains(&planned[..19]), "the PDF's creation date is the plan's ({planned}): {created:?}");

    // Combined anteversion, both definitions, as CombinedAnteversion computes them.
    let radio = &r["placement"]["cup_angles"]["radiographic"];
    let cup = CupAngles {
        definition: CupAngleDefinition::Radiographic,
        inclination: Angle::from_deg(radio["inclination_deg"].as_f64().unwrap()),
        anteversion: Angle::from_deg(radio["anteversion_deg"].as_f64().unwrap()),
    };
    let side = if r["side"] == "left" { Side::Left } else { Side::Right };
    let c = CombinedAnteversion::of(&cup, side, Angle::from_deg(r["placement"]["stem_anteversion_deg"].as_f64().unwrap()));
    // The label may wrap in its cell: its first words and the value share a line, and the
    // whole label is on the page.
    for (label, v) in [(CombinedAnteversion::WIDMER_LABEL, c.widmer_deg), (CombinedAnteversion::PLAIN_SUM_LABEL, c.plain_sum_deg)] {
        let head = &label[..label.find(" (").unwrap_or(label.len())];
        let line = raw.lines().find(|l| l.contains(head)).unwrap_or_else(|| panic!("page 1 lacks {head:?}"));
        assert!(line.contains(&format!(" {v:.1}°")), "page 1 gives {head} as {v:.1}°: {line:?}");
        assert!(page1.contains(&label[head.len()..].trim().to_string()), "page 1 names the definition: {label:?}");
    }
    // The resection level: a number above the lesser trochanter, or why not.
    // (Each a row of the measures' table: its label's first line and its value share a line.)
    let row = |label: &str, values: &[&str]| raw.lines().any(|l| l.contains(label) && values.iter().any(|v| l.contains(v)));
    assert!(row("neck resection level", &["mm above the lesser trochanter", "not given"]), "the resection level, or why it is not given: {page1}");
    // The centre of rotation against the teardrop where coxa finds one (plan.json's
    // cup.teardrop_pelvic_mm), else why not; and against the other hip.
    let teardrop = if r["plan"]["cup"]["teardrop_pelvic_mm"].is_array() { "horizontal" } else { "teardrop not detected" };
    assert!(row("centre of rotation against the", &[teardrop]) && page1.contains("teardrop"), "{teardrop}: {page1}");
    assert!(row("centre of rotation against the", &["horizontal", "not given"]) && page1.contains("other hip"), "{page1}");
    // Daily life as plan.json's daily_life says.
    let dl = &r["plan"]["daily_life"];
    if dl["met"] == true {
        assert!(page1.contains("Daily life: every need met"), "{page1}");
    } else {
        assert!(page1.contains("Daily life: short of"), "{page1}");
        if let Some(ch) = dl["closest"]["changes"].as_array() {
            let first = ch.first().and_then(Value::as_str).unwrap_or_default();
            assert!(page1.contains("Closest change:") && page1.contains(first), "the change that comes closest: {first:?}");
        }
    }
    // At most five caveats, each once, in a surgeon's words, of the operated side.
    let caveats = page_one_caveats(&raw);
    eprintln!("{} caveats on page 1:\n{caveats:#?}", caveats.len());
    assert!(caveats.len() <= 5, "{caveats:#?}");
    let other = side.opposite().as_str();
    for (k, it) in caveats.iter().enumerate() {
        assert!(!caveats[..k].contains(it), "said twice: {it:?}");
        assert!(!it.contains('_') && !it.contains("cortical ratio"), "an internal name: {it:?}");
        assert!(!it.contains(&format!("{other} femur")) && !it.contains(&format!("{other} hip")), "the other side's: {it:?}");
    }
    // No sentence twice in the report (HTML and PDF hold the same text).
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    let twice = repeated_sentences(&html_text(&html));
    assert!(twice.is_empty(), "sentences said more than once: {twice:#?}");
    raw
}

/// The real CT's report (`coxa demo --ct`, made once per run): page 1 as issue 60 asks.
#[test]
fn real_ct_page_one_names_the_case_and_the_measures() -> Result<()> {
    let Some(case) = crate::cases::demo_real_ct() else { return Ok(()) };
    let Some(python) = readers() else { return Ok(()) };
    let page1 = check_page_one(case, &python);
    eprintln!("page 1 of the real CT's PDF:\n{page1}");
    let r = read_json(&case.join("report.json"));
    assert_eq!((r["case"].as_str(), r["revision"].as_u64()), (Some("ct"), Some(0)));
    Ok(())
}

/// `--case-name`: a name with path characters and several scripts is the report's text, escaped
/// in the HTML, and writes nothing outside `--out`; an empty, blank, multi-line or 10 kB name is
/// refused with one line and exit status 2, nothing written. Planned on z013's right hip (a
/// coarse grid: the report is what is tested).
#[test]
fn case_name_is_text_never_a_path() -> Result<()> {
    let Some(dir) = shared_data("vsd_bones") else { return Ok(()) };
    let Some(python) = readers() else { return Ok(()) };
    // `..` of the case folder is `inner`, whose `..` is the test's own folder: both watched.
    let tmp = tempfile::tempdir()?;
    let inner = tmp.path().join("inner");
    std::fs::create_dir(&inner)?;
    let out = inner.join("op");
    let (hip, femur) = (format!("hip_right={}", dir.join("z013_Hip_R.stl").display()), format!("femur_right={}", dir.join("z013_Femur_R.stl").display()));
    let plan = |name: &str, out: &Path| coxa(&["plan", "--mesh", &hip, "--mesh", &femur, "--grid-step-deg", "10", "--case-name", name, "--out", out.to_str().unwrap()]);
    let long = "x".repeat(10_000);
    for bad in ["", "   ", "a\nb", long.as_str()] {
        let r = plan(bad, &out);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{bad:.20?}: {err}");
        assert!(err.contains("--case-name") && err.trim().lines().count() == 1, "{bad:.20?}: {err}");
        assert_eq!(std::fs::read_dir(&inner)?.count(), 0, "{bad:.20?}: nothing written");
    }
    let name = "../x/a/b Müller 股骨 <b>&";
    let r = plan(name, &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let names = |d: &Path| std::fs::read_dir(d).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).collect::<Vec<_>>();
    assert_eq!(names(&inner), ["op"], "only the case folder");
    assert_eq!(names(tmp.path()), ["inner"], "nothing above it");
    let r = read_json(&out.join("report.json"));
    assert_eq!(r["case"], name);
    let html = std::fs::read_to_string(out.join("report.html"))?;
    assert!(html.contains("case ../x/a/b Müller 股骨 &#60;b&#62;&#38;") && !html.contains("<b>&"), "the name escaped in the HTML");
    let page1 = check_page_one(&out, &python);
    eprintln!("page 1 of z013's right hip:\n{page1}");
    Ok(())
}

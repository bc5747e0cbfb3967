//! The report as the surgeon reads it (issues 40 and 41): any case name in any language, in the
//! PDF's title with every font embedded (pypdf, poppler's pdffonts); HTML that shows a name
//! holding `<script>` as text; page 1 of the real CT's PDF (poppler's pdftotext and pdftoppm)
//! and the top of its HTML (headless Chromium) leading with the decision; no warning said twice.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde_json::Value;

use crate::cases::{coxa, ok, read_json};

mod page1;
use crate::common::{in_ci, peer_python};

/// poppler-utils' tools and pypdf, or `None` with a note (a failure in CI).
fn readers() -> Option<PathBuf> {
    let python = peer_python()?;
    let ok = Command::new(&python).args(["-c", "import pypdf"]).output().is_ok_and(|o| o.status.success())
        && ["pdftotext", "pdffonts", "pdftoppm"].iter().all(|t| Command::new(t).arg("-v").output().is_ok_and(|o| o.status.success()));
    if !ok {
        assert!(!in_ci(), "pypdf or poppler-utils (pdftotext, pdffonts, pdftoppm) is missing; run scripts/setup");
        eprintln!("note: skipping, pypdf or poppler-utils is not installed (scripts/setup)");
        return None;
    }
    Some(python)
}

/// A phantom case with a fixed placement and no pictures (quick), in a scenario named `name`:
/// the case folder.
fn named_run(dir: &Path, name: &str) -> PathBuf {
    let scenario = dir.join("named.toml");
    let text = format!(
        "schema_version = 1\nname = {}\noutput_dir = \"out\"\n[[cases]]\nname = \"phantom\"\nphantom = true\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n\n[report]\nsafe_zone_map = false\npictures = false\n",
        toml_string(name)
    );
    std::fs::write(&scenario, text).unwrap();
    ok(&coxa(&["run", scenario.to_str().unwrap(), "--quiet"]));
    dir.join("out/cases/phantom")
}

/// The scenario name of the named run: four scripts (Latin with diacritics, a dash, Greek, CJK)
/// and markup (a script element, an ampersand, quotes).
const NAME: &str = "Ærø – Müller ñ Ωμέγα 山田 <script>alert(1)</script> & \"x\"";

/// [`NAME`] as the report's HTML escapes it.
const NAME_HTML: &str = "Ærø – Müller ñ Ωμέγα 山田 &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;x&#34;";

/// One run named [`NAME`], made once per test run for the report's name tests (a phantom case
/// costs about a minute): its temporary folder, which holds the run's `out/`, and the case folder.
fn named_case() -> &'static (tempfile::TempDir, PathBuf) {
    static RUN: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = crate::cases::fixture_tempdir();
        let case = named_run(tmp.path(), NAME);
        (tmp, case)
    })
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// pypdf's reading of a PDF (`tests/peer/pdf_fonts.py`).
fn pypdf_read(python: &Path, pdf: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/pdf_fonts.py");
    let out = Command::new(python).arg(script).arg(pdf).output().unwrap();
    assert!(out.status.success(), "pypdf: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// poppler's pdffonts: each font's name and whether it is embedded (its `emb` column, the fifth
/// from the right: a long name pushes the columns right).
fn pdffonts(pdf: &Path) -> Vec<(String, bool)> {
    let out = Command::new("pdffonts").arg(pdf).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.lines().next().is_some_and(|h| h.contains("emb sub uni object ID")), "pdffonts' columns: {text}");
    text.lines()
        .skip(2)
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first().copied().unwrap_or_default().to_string(), w.len() >= 6 && w[w.len() - 5] == "yes")
        })
        .collect()
}

/// poppler's pdftotext of pages `first..=last` (`-layout`: a table's row on one line), UTF-8.
fn pdftotext(pdf: &Path, first: usize, last: usize) -> String {
    let out = Command::new("pdftotext").args(["-layout", "-enc", "UTF-8", "-f", &first.to_string(), "-l", &last.to_string()]).arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A PNG file as RGB rows.
fn decode_png(p: &Path) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap())).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    (info.width, info.height, buf[..info.buffer_size()].chunks(step).flat_map(|p| [p[0], p[1], p[2]]).collect())
}

/// Words separated by single spaces.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Issue 40: a case name in four scripts is the PDF's title, read back by pypdf from page 1 and
/// the metadata, every font embedded (pypdf and pdffonts agree); no character printed as `?`.
#[test]
fn any_language_in_the_pdf_title_with_embedded_fonts() {
    let Some(python) = readers() else { return };
    let name = NAME;
    let case = &named_case().1;
    let pdf = case.join("report.pdf");
    let r = pypdf_read(&python, &pdf);
    eprintln!("pypdf: title {:?}, {} pages, fonts {}", r["title"], r["pages"], r["fonts"]);
    assert!(r["title"].as_str().unwrap_or_default().contains(name), "the metadata title: {}", r["title"]);
    let page1 = r["page1"].as_str().unwrap();
    // The title may wrap: its first three lines.
    let head = squash(&page1.lines().filter(|l| !l.trim().is_empty()).take(3).collect::<Vec<_>>().join(" "));
    assert!(head.contains(name), "page 1 starts with the title holding the name: {head:?}");
    assert!(!head.contains('?') && !page1.contains('\u{fffd}'), "no character replaced: {page1}");
    let fonts = r["fonts"].as_array().unwrap();
    assert!(fonts.len() >= 3, "Noto Sans regular and bold, and a CJK font for 山田: {fonts:?}");
    assert!(fonts.iter().all(|f| f["embedded"] == true), "every font embedded (pypdf): {fonts:?}");
    let poppler = pdffonts(&pdf);
    assert!(!poppler.is_empty() && poppler.iter().all(|(_, emb)| *emb), "every font embedded (pdffonts): {poppler:?}");
    assert!(poppler.iter().any(|(n, _)| n.contains("CJK")), "山田 from a CJK font: {poppler:?}");
    // The HTML carries the name as it is (UTF-8), title and heading.
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    // Issue 60: the case first, then the scenario, the plan's time and its revision.
    assert!(html.contains(&format!("<title>coxa: case phantom ({NAME_HTML}) · planned ")) && html.contains(&format!("<h1>Case phantom ({NAME_HTML})</h1>")));
}

/// Issue 60: page 1 of the demo's PDF gives the centre of rotation against the teardrop, the
/// numbers of its plan.json (the cup's centre against the teardrop's tip, pelvic frame).
#[test]
fn page_one_gives_the_centre_of_rotation_against_the_teardrop() {
    let Some(_python) = readers() else { return };
    let case = crate::cases::demo_phantom();
    let plan = read_json(&case.join("plan.json"));
    let xyz = |v: &Value| -> Vec<f64> { v.as_array().expect("a point").iter().map(|x| x.as_f64().unwrap()).collect() };
    let (t, c) = (xyz(&plan["cup"]["teardrop_pelvic_mm"]), xyz(&plan["cup"]["centre_pelvic_mm"]));
    let lateral = if plan["side"] == "right" { -1.0 } else { 1.0 };
    let (h, v) = (lateral * (c[0] - t[0]), c[2] - t[2]);
    eprintln!("demo: the cup's centre {h:.1} mm lateral of and {v:.1} mm above the teardrop's tip");
    // An adult hip centre lies 20-45 mm lateral of the teardrop and within 30 mm above its tip.
    assert!((20.0..=45.0).contains(&h) && (0.0..=30.0).contains(&v), "{h} {v}");
    let page1 = squash(&pdftotext(&case.join("report.pdf"), 1, 1));
    // The cell may wrap between its two numbers (pdftotext reads the table row by row).
    let (first, second) = (format!("horizontal {h:.1} mm, vertical"), format!(" {v:.1}"));
    let at = page1.find(&first).unwrap_or_else(|| panic!("page 1 lacks {first:?}: {page1}"));
    assert!(page1[at..].contains(&second) && page1.contains("centre of rotation against the"), "page 1 lacks {second:?} after {first:?}: {page1}");
}

/// Issue 40: a scenario called `<script>alert(1)</script>` is text in the report and in the
/// run's index page, never a script.
#[test]
fn a_name_holding_a_script_is_text() {
    let (tmp, case) = named_case();
    for page in [case.join("report.html"), tmp.path().join("out/index.html")] {
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(!html.contains("<script"), "{}: a script element", page.display());
        // The name as text: escaped where it is shown (the title, and the report's heading).
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;x&#34;"), "{}", page.display());
    }
}

fn decode_entities(s: &str) -> String {
    s.replace("&#60;", "<").replace("&#62;", ">").replace("&#34;", "\"").replace("&#39;", "'").replace("&#38;", "&")
}

/// Markup without its tags, entities decoded.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut tag = false;
    for c in s.chars() {
        match c {
            '<' => tag = true,
            '>' => {
                tag = false;
                out.push(' ');
            }
            _ if !tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
}

/// The text a reader sees in an HTML report (style and title left out), words separated by
/// single spaces. Inline elements (`<b>`) are joined without a space.
fn html_text(html: &str) -> String {
    let body = &html[html.find("<body>").unwrap_or(0)..];
    squash(&strip_tags(&body.replace("<b>", "").replace("</b>", "")))
}

/// The warnings boxes' items of an HTML report, as text.
fn warning_items(html: &str) -> Vec<String> {
    html.split("<div class=\"warn\">")
        .skip(1)
        .flat_map(|b| {
            let list = &b[..b.find("</div>").unwrap_or(b.len())];
            list.split("<li>").skip(1).map(|li| squash(&strip_tags(&li[..li.find("</li>").unwrap_or(li.len())].replace("<b>", "").replace("</b>", "")))).collect::<Vec<_>>()
        })
        .collect()
}

/// The PDF's text, page footers left out, words separated by single spaces.
fn pdf_text_without_footers(pdf: &Path, footer: &str) -> String {
    let text = pdftotext(pdf, 1, 999);
    let pages: Vec<String> = text.split('\u{c}').map(|p| p.lines().filter(|l| !(l.contains(footer) && l.contains(" · page "))).collect::<Vec<_>>().join("\n")).collect();
    squash(&pages.join("\n").replace('•', " "))
}

/// Issue 41: page 1 of the real CT's PDF holds the decision: shell and stem sizes, both cup
/// angles in the named definition, leg length and offset change, the range-of-motion margins
/// coloured as the bars; Chromium shows the same at the top of the HTML; no warning sentence
/// appears twice in either, and every warning of report.json is in them.
#[test]
fn real_ct_report_leads_with_the_decision() -> Result<()> {
    let Some(case) = crate::cases::demo_real_ct() else { return Ok(()) };
    let Some(_python) = readers() else { return Ok(()) };
    let r = read_json(&case.join("report.json"));
    let plan = &r["plan"];
    let pdf = case.join("report.pdf");
    let page1 = squash(&pdftotext(&pdf, 1, 1));
    eprintln!("page 1 of the PDF:\n{page1}");
    let f1 = |v: &Value| format!("{:.1}", v.as_f64().unwrap());
    let shell = format!("{:.0} mm", plan["cup"]["outer_diameter_mm"].as_f64().unwrap());
    let stem = format!("{} size {}", plan["stem"]["catalog"].as_str().unwrap(), plan["stem"]["size"].as_str().unwrap());
    let signed = |v: &Value| format!("{:+.1} mm", v.as_f64().unwrap());
    for (what, want) in [
        ("shell size", format!("acetabular shell {shell}")),
        ("stem size", format!("stem {stem}")),
        ("cup inclination", format!("cup inclination, radiographic {}°", f1(&plan["cup"]["radiographic_inclination_deg"]))),
        ("cup anteversion", format!("cup anteversion, radiographic {}°", f1(&plan["cup"]["radiographic_anteversion_deg"]))),
        ("the definition", "radiographic definition (Murray 1993)".to_string()),
        ("leg length change", format!("leg length change {}", signed(&plan["leg_length_change_mm"]))),
        ("offset change", format!("offset change {}", signed(&plan["offset_change_mm"]))),
        ("the margins", "Range of motion against daily life".to_string()),
    ] {
        assert!(page1.contains(&want), "page 1 lacks the {what}: {want:?}");
    }
    // Issue 60: each daily-life motion's first contact is named by the structures that touch;
    // one that ends free of contact on this femur, which the CT cuts at the trochanters, says
    // that it holds for the imaged femur only.
    let cut = plan["rom_femur_imaged_mm"].as_f64().expect("the CT ends within the model's reach of the head");
    for m in r["rom"]["motions"].as_array().unwrap().iter().filter(|m| m["required_deg"].is_number()) {
        let want = match m["structures"].as_object() {
            Some(s) => format!("{} against {}", s["femoral"].as_str().unwrap(), s["pelvic"].as_str().unwrap()),
            None => {
                assert_eq!(m["contact"], "none", "every contact is named: {m}");
                format!("none on the imaged femur (the CT ends {cut:.0} mm below the head centre)")
            }
        };
        assert!(page1.contains(&want), "page 1 says what touches in {}: {want:?}", m["name"]);
    }
    // pdftoppm draws page 1: the margins' colours (red below the need, green above) are on it.
    let tmp = tempfile::tempdir()?;
    let out = Command::new("pdftoppm").args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"]).arg(&pdf).arg(tmp.path().join("page1")).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w, h, rgb) = decode_png(&tmp.path().join("page1.png"));
    let motions = r["rom"]["motions"].as_array().unwrap();
    let short = motions.iter().any(|m| m["required_deg"].is_number() && m["limit_deg"].as_f64() < m["required_deg"].as_f64());
    let (green, red) = (crate::run::count_near(&rgb, [0x5c, 0xb8, 0x5c], 12), crate::run::count_near(&rgb, [0xd9, 0x53, 0x4f], 12));
    eprintln!("page 1 at 60 dpi: {w}x{h}, margin cells green {green} px, red {red} px");
    assert!(green > 100, "the green margin cells are drawn on page 1");
    assert_eq!(red > 50, short, "a red cell exactly when a daily-life motion falls short");

    // The same at the top of the HTML, in headless Chromium.
    let html = std::fs::read_to_string(case.join("report.html"))?;
    // After the decision, the motions that limit the plan at their first contact (the contact
    // a magenta ball), then every motion's limit against its need.
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s:?} is not in report.html"));
    assert!(at("Range of motion against daily life") < at("Where the hip impinges") && at("Where the hip impinges") < at("Range of motion per motion"));
    let pictures: Vec<&str> = r["pictures"].as_array().unwrap().iter().filter_map(|p| p["file"].as_str()).filter(|f| f.starts_with("pictures/contact_")).collect();
    assert!(!pictures.is_empty() && pictures.len() <= 3, "{pictures:?}");
    for p in &pictures {
        let (_, _, rgb) = decode_png(&case.join(p));
        // Magenta, pale where translucent bone lies in front: red high, blue well above green
        // (bone, head, shell and liner are not).
        let magenta = rgb.chunks(3).filter(|c| c[0] > 200 && i32::from(c[2]) > i32::from(c[1]) + 30).count();
        eprintln!("{p}: {magenta} magenta px");
        assert!(magenta > 20, "{p}: the first contact is marked");
    }
    if let Some(chrome) = crate::run::chromium() {
        let (_, _, top) = crate::run::screenshot(&chrome, &case.join("report.html"), &tmp.path().join("top.png"), 1200, 1000);
        let green = crate::run::count_near(&top, [0x5c, 0xb8, 0x5c], 8);
        eprintln!("top 1000 px of report.html in Chromium: margin cells green {green} px");
        assert!(green > 1000, "the decision's margins are at the top of the HTML");
    }

    // Every warning said once: each item of the warnings boxes appears once in the HTML's and
    // once in the PDF's text; every sentence of report.json's warnings is in one item, naming
    // its structure; sentences said of several structures are grouped.
    let items = warning_items(&html);
    let raw: Vec<&str> = r["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    // The intervals' warnings (a number too uncertain for a decision) lead page 1 as items too.
    let uncertain: Vec<&str> = plan["intervals"]["warnings"].as_array().map(|w| w.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    eprintln!("{} warnings in report.json, {} plan notes and {} interval warnings, {} items in the report", raw.len(), plan["notes"].as_array().unwrap().len(), uncertain.len(), items.len());
    assert!(items.len() < raw.len() + plan["notes"].as_array().unwrap().len() + uncertain.len(), "grouped: {items:#?}");
    for s in &uncertain {
        assert_eq!(items.iter().filter(|it| it.contains(s)).count(), 1, "the interval warning {s:?} is one item of the report");
    }
    let footer = format!("case {} ({})", r["case"].as_str().unwrap(), r["scenario"].as_str().unwrap());
    let (html_words, pdf_words) = (html_text(&html), pdf_text_without_footers(&pdf, &footer));
    for it in &items {
        let (in_html, in_pdf) = (html_words.matches(it.as_str()).count(), pdf_words.matches(it.as_str()).count());
        assert_eq!((in_html, in_pdf), (1, 1), "{it:?} appears {in_html} times in the HTML's text, {in_pdf} times in the PDF's");
    }
    for s in &raw {
        let (head, rest) = s.split_once(": ").unwrap_or(("", s));
        let found: Vec<&String> = items.iter().filter(|it| it.contains(s) || (it.contains(rest) && it[..it.find(rest).unwrap_or(0)].contains(head))).collect();
        assert!(!found.is_empty(), "the warning {s:?} is not in the report");
    }
    Ok(())
}

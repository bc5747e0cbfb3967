//! Renders a case folder's report again from its `report.json` and pictures, into another
//! folder, and says how long the HTML and the PDF took:
//!
//! `cargo run --release -p coxa-report --example render -- CASE_DIR OUT_DIR [REPEATS]`

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(case), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: render CASE_DIR OUT_DIR [REPEATS]");
    };
    let repeats: u32 = args.next().map_or(Ok(1), |s| s.parse())?;
    let case = std::path::Path::new(&case);
    let report: coxa_core::CaseReport = serde_json::from_str(&std::fs::read_to_string(case.join("report.json"))?)?;
    let pictures = coxa_report::read_pictures(&report, case)?;
    let doc = coxa_report::case_document(&report, pictures, &coxa_report::CaseOptions::for_report(&report));
    let t = Instant::now();
    let mut html = String::new();
    for _ in 0..repeats {
        html = coxa_report::html::render(&doc)?;
    }
    let html_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(repeats);
    let t = Instant::now();
    let mut pdf = None;
    for _ in 0..repeats {
        pdf = Some(coxa_report::pdf::render(&doc)?);
    }
    let pdf_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(repeats);
    let pdf = pdf.expect("at least one repeat");
    std::fs::create_dir_all(&out)?;
    std::fs::write(std::path::Path::new(&out).join("report.html"), &html)?;
    std::fs::write(std::path::Path::new(&out).join("report.pdf"), &pdf.bytes)?;
    println!("report.html {} bytes, {html_ms:.1} ms; report.pdf {} bytes, {} pages, {pdf_ms:.1} ms (mean of {repeats}); no font for {:?}", html.len(), pdf.bytes.len(), pdf.pages, pdf.missing_glyphs);
    Ok(())
}

//! The cohort tables of a run (issue 44): `long.csv`, one row per case, sweep point (design) and
//! quantity (implant sizes, cup and stem angles, leg length and offset, every motion's ROM with
//! its limiting contact, the hip force of each activity), and `designs.csv`, each design's
//! statistics over the finished cases (median, 5th and 95th percentiles, and for a motion the
//! share of cases whose range ends at a contact, the impingement rate). Both are read back from
//! the finished cases' records (`report.json`, `rom/<point>.json`, `plans/<point>.json`), so a
//! run resumed or merged gives the same tables as one run; they are rewritten with the summary.
//!
//! Percentiles interpolate linearly between order statistics: numpy's default
//! (`numpy.percentile(x, q)`), the radiomics features' own function.

use std::path::Path;

use crate::error::{Context, Result};

use coxa_core::{CaseReport, PlanRecord, RomRecord};
use coxa_diagnostics::features::firstorder::percentile;

/// The long table's file name.
pub const LONG: &str = "long.csv";
/// The designs table's file name.
pub const DESIGNS: &str = "designs.csv";

/// One value of one case at one design.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The case.
    pub case: String,
    /// The sweep point's label (the design).
    pub point: String,
    /// What is measured (`head_diameter_mm`, `rom_flexion_deg`, ...).
    pub quantity: String,
    /// Its value.
    pub value: f64,
    /// For a motion: its first contact (`none`, `implant`, `bone`, `mixed`); else empty.
    pub contact: String,
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a record of this coxa", path.display()))
}

/// The rows of the finished case `case` in `dir`, in sweep order.
///
/// # Errors
/// A record missing or not of this coxa.
pub fn case_rows(dir: &Path, case: &str) -> Result<Vec<Row>> {
    let report: CaseReport = read(&dir.join("report.json"))?;
    let mut rows = Vec::new();
    for (i, point) in report.sweep.iter().enumerate() {
        let mut push = |quantity: &str, value: f64, contact: &str| {
            if value.is_finite() {
                rows.push(Row { case: case.to_string(), point: point.label.clone(), quantity: quantity.to_string(), value, contact: contact.to_string() });
            }
        };
        let rom: RomRecord = read(&dir.join("rom").join(format!("{}.json", point.label)))?;
        push("head_diameter_mm", rom.implants.head_diameter_mm, "");
        push("head_offset_mm", rom.implants.head_offset_mm, "");
        push("shell_outer_diameter_mm", rom.implants.shell_outer_diameter_mm, "");
        push("cup_inclination_deg", rom.cup_pelvic_deg.radiographic[0], "");
        push("cup_anteversion_deg", rom.cup_pelvic_deg.radiographic[1], "");
        push("stem_anteversion_deg", rom.stem_anteversion_deg, "");
        push("oscillation_angle_deg", rom.oscillation_angle_deg, "");
        let plan = dir.join("plans").join(format!("{}.json", point.label));
        if plan.is_file() {
            let plan: PlanRecord = read(&plan)?;
            if let Ok(size) = plan.stem.size.parse::<f64>() {
                push("stem_size", size, "");
            }
            push("leg_length_change_mm", plan.leg_length_change_mm, "");
            push("offset_change_mm", plan.offset_change_mm, "");
        }
        for m in &rom.motions {
            push(&format!("rom_{}_deg", m.name), m.limit_deg, &m.contact);
        }
        // The musculoskeletal stage runs on the primary (first) point.
        if let (0, Some(msk)) = (i, &report.msk) {
            for a in &msk.activities {
                push(&format!("hip_force_{}_percent_bw", a.activity.replace('-', "_")), a.planned.magnitude_percent_bw, "");
            }
        }
    }
    Ok(rows)
}

/// A number as the tables print it: shortest round-trip text (serde_json's).
fn num(v: f64) -> String {
    serde_json::Value::from(v).to_string()
}

/// The two tables of `rows`: (`long.csv`, `designs.csv`).
///
/// # Errors
/// The CSV writer fails (it does not on memory).
pub fn tables(rows: &[Row]) -> Result<(String, String)> {
    let mut long = csv::Writer::from_writer(Vec::new());
    long.write_record(["case", "point", "quantity", "value", "contact"])?;
    for r in rows {
        long.write_record([r.case.as_str(), &r.point, &r.quantity, &num(r.value), &r.contact])?;
    }
    // The rows of each design and quantity, in the order they first appear (one pass).
    let mut groups: Vec<((&str, &str), Vec<&Row>)> = Vec::new();
    let mut index: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    for r in rows {
        let key = (r.point.as_str(), r.quantity.as_str());
        let g = *index.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(r);
    }
    let mut designs = csv::Writer::from_writer(Vec::new());
    designs.write_record(["point", "quantity", "cases", "median", "p5", "p95", "impingement_rate"])?;
    for ((point, quantity), of) in groups {
        let mut x: Vec<f64> = of.iter().map(|r| r.value).collect();
        x.sort_by(f64::total_cmp);
        let rate = if quantity.starts_with("rom_") { num(of.iter().filter(|r| r.contact != "none").count() as f64 / of.len() as f64) } else { String::new() };
        designs.write_record([point, quantity, &of.len().to_string(), &num(percentile(&x, 50.0)), &num(percentile(&x, 5.0)), &num(percentile(&x, 95.0)), &rate])?;
    }
    let text = |w: csv::Writer<Vec<u8>>| -> Result<String> { Ok(String::from_utf8(w.into_inner().map_err(|e| crate::err!("{e}"))?)?) };
    Ok((text(long)?, text(designs)?))
}

/// The tables of the finished cases `cases` of the run folder `out`.
///
/// # Errors
/// A finished case's record missing or not of this coxa.
pub fn of_run(out: &Path, cases: &[&str]) -> Result<(String, String)> {
    let mut rows = Vec::new();
    for c in cases {
        rows.extend(case_rows(&out.join("cases").join(c), c)?);
    }
    tables(&rows)
}

/// Links the run's tables from its index page, with a chart of each design's impingement rate
/// per motion from `designs` (`designs.csv`'s text).
pub fn link_tables(doc: &mut coxa_report::Document, designs: &str) {
    doc.push(coxa_report::Block::Heading { level: 2, text: "Tables".into() });
    for (file, what) in [
        ("summary.csv", "one row per case"),
        (LONG, "one row per case, design (sweep point) and quantity: sizes, angles, leg length, offset, each motion's range with its limiting contact, hip force per activity"),
        (DESIGNS, "each design's median, 5th and 95th percentile over the cases, and each motion's impingement rate"),
    ] {
        doc.push(coxa_report::Block::Paragraph(coxa_report::Text::link(file, file).and(format!(": {what}"))));
    }
    let mut bars = Vec::new();
    for r in csv::Reader::from_reader(designs.as_bytes()).records().flatten() {
        let (Some(point), Some(quantity), Some(rate)) = (r.get(0), r.get(1), r.get(6).and_then(|v| v.parse::<f64>().ok())) else { continue };
        let motion = quantity.trim_start_matches("rom_").trim_end_matches("_deg").replace('_', " ");
        let colour = if rate > 0.5 {
            coxa_report::Rgb(200, 60, 50)
        } else if rate > 0.0 {
            coxa_report::Rgb(230, 160, 40)
        } else {
            coxa_report::Rgb(70, 150, 80)
        };
        bars.push(coxa_report::plot::Bar { label: format!("{point}: {motion}"), value: 100.0 * rate, target: None, colour, note: format!("{:.0} %", 100.0 * rate) });
    }
    if !bars.is_empty() {
        let title = "Impingement rate: the share of cases whose range of the motion ends at a contact, per design".to_string();
        doc.push(coxa_report::Block::Plot(coxa_report::plot::Plot::Bars { title, bars, max: 100.0, unit: " %".into() }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_numpys_linear_ones() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        // numpy.percentile([1, 2, 3, 4, 10], [5, 50, 95]) = [1.2, 3.0, 8.8]
        assert!((percentile(&x, 5.0) - 1.2).abs() < 1e-12);
        assert_eq!(percentile(&x, 50.0), 3.0);
        assert!((percentile(&x, 95.0) - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
    }

    #[test]
    fn a_design_counts_the_cases_whose_motion_ends_at_a_contact() {
        let row = |case: &str, value: f64, contact: &str| Row { case: case.into(), point: "p1".into(), quantity: "rom_flexion_deg".into(), value, contact: contact.into() };
        let (long, designs) = tables(&[row("a", 110.0, "implant"), row("b", 120.0, "none"), row("c", 100.0, "bone"), row("d", 130.0, "none")]).unwrap();
        assert_eq!(long.lines().count(), 5);
        assert_eq!(designs.lines().nth(1), Some("p1,rom_flexion_deg,4,115.0,101.5,128.5,0.5"));
    }
}

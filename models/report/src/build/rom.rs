//! The range of motion: each motion's limit against what daily life needs (the plot after the
//! decision), then every motion's first contact, the safe-zone map over the cup angles, the
//! range of motion against cup anteversion, and the sweep.

use coxa_core::CaseReport;

use super::fmt::{f, pt3, words};
use crate::document::{Block, Cell, CellStyle, Document, MarginBand, Rgb, Table};
use crate::plot::{Bar, Plot, Series};

/// Appends the plot of every motion's limit against its daily-life need.
pub fn push_overview(d: &mut Document, r: &CaseReport) {
    let bars: Vec<Bar> = r
        .rom
        .motions
        .iter()
        .map(|m| Bar { label: words(&m.name), value: m.limit_deg, target: m.required_deg, colour: MarginBand::of(m.margin_deg()).colour(), note: format!("{:.1}° {}", m.limit_deg, m.contact) })
        .collect();
    d.push(Block::Heading { level: 2, text: "Range of motion per motion".into() });
    d.push(Block::Plot(Plot::Bars { title: "Limit of each motion (tick: what the activity needs)".into(), bars, max: 180.0, unit: "°".into() }));
    d.push(Block::Note(
        "Bars: red below the daily-life need, amber within 10° of it, green 10° or more above it, grey where daily life sets no need; text: the limit and the first contact's kind.".into(),
    ));
}

/// The safe-zone map and the range of motion against cup anteversion at the plan's inclination.
fn safe_zone(d: &mut Document, r: &CaseReport) {
    let Some(sz) = &r.safe_zone else { return };
    let (incs, avs) = (&sz.inclinations_deg, &sz.anteversions_deg);
    let plan = r.placement.cup_angles.get("radiographic");
    let (plan_inc, plan_av) = (plan.map(|c| c.inclination_deg), plan.map(|c| c.anteversion_deg));
    d.push(Block::Heading { level: 2, text: "Cup angles: safe-zone map".into() });
    d.push(Block::Note("Each cell: the smallest margin (limit minus need, deg) over the daily-life motions for that radiographic cup inclination and anteversion, everything else as planned. Dashed: Lewinnek's zone (40±10°, 15±10°).".into()));
    d.push(Block::Plot(Plot::Heatmap {
        title: "Smallest daily-life margin (deg)".into(),
        x_label: "cup anteversion, radiographic (deg)".into(),
        y_label: "cup inclination (deg)".into(),
        xs: avs.clone(),
        ys: incs.clone(),
        values: sz.min_adl_margin_deg.clone(),
        lo: -10.0,
        hi: 20.0,
        zone_name: "safe zone".into(),
        zone: Some([5.0, 25.0, 30.0, 50.0]),
        mark: plan_av.zip(plan_inc),
    }));
    // ROM vs anteversion at the inclination nearest the plan's.
    let Some(pi) = plan_inc else { return };
    let Some(ii) = (0..incs.len()).min_by(|&a, &b| (incs[a] - pi).abs().total_cmp(&(incs[b] - pi).abs())) else { return };
    let names = ["flexion", "internal_rotation_90_flexion", "extension", "external_rotation_0_flexion"];
    let colours = [Rgb(0x1f, 0x77, 0xb4), Rgb(0xd6, 0x27, 0x28), Rgb(0x2c, 0xa0, 0x2c), Rgb(0x94, 0x67, 0xbd)];
    let series: Vec<Series> = names
        .iter()
        .zip(colours)
        .map(|(n, colour)| Series {
            name: words(n),
            colour,
            points: avs.iter().enumerate().map(|(ia, a)| (*a, sz.limits_deg.get(ii).and_then(|row| row.get(ia)).and_then(|cell| cell.get(*n)).copied())).collect(),
        })
        .filter(|s| s.points.iter().any(|p| p.1.is_some()))
        .collect();
    if !series.is_empty() {
        d.push(Block::Plot(Plot::Lines {
            title: format!("Range of motion vs cup anteversion at {:.0}° inclination", incs[ii]),
            x_label: "cup anteversion, radiographic (deg)".into(),
            y_label: "limit (deg)".into(),
            series,
            mark_x: plan_av,
        }));
    }
}

/// What touches first: the structures named by anatomy ("femoral neck against anterior
/// acetabular rim"), else the simulator's kind and parts, else `none`, said to hold for the
/// imaged femur alone when the CT ends within the model's reach (the plan's
/// `rom_femur_imaged_mm`).
pub fn touching(m: &coxa_core::report::MotionRecord, r: &CaseReport) -> String {
    match (&m.structures, &m.parts) {
        (Some(s), _) => s.phrase(),
        (None, Some(p)) => format!("{} ({p})", m.contact),
        (None, None) => match r.plan.as_ref().and_then(|p| p.rom_femur_imaged_mm) {
            Some(d) if m.contact == "none" => format!("none on the imaged femur (the CT ends {d:.0} mm below the head centre)"),
            _ => m.contact.clone(),
        },
    }
}

/// Appends every motion's limit and first contact, the safe-zone map and the sweep.
pub fn push_details(d: &mut Document, r: &CaseReport) {
    d.push(Block::Heading { level: 2, text: "Range of motion and first contact".into() });
    let mut t = Table::with_header(["motion", "posture (tilt)", "limit", "needed", "margin", "first contact", "what touches", "where (LPS mm)"]);
    for m in &r.rom.motions {
        let margin = m.margin_deg();
        t.row([
            Cell::new(m.name.clone()),
            Cell::new(format!("{} ({}°)", m.posture, f(m.pelvic_tilt_deg, 0))),
            Cell::new(format!("{}°", f(m.limit_deg, 1))),
            Cell::new(m.required_deg.map_or("–".into(), |q| format!("{q:.0}°"))),
            Cell::styled(margin.map_or("–".into(), |x| format!("{x:+.1}°")), if margin.is_some_and(|x| x < 0.0) { CellStyle::Bad } else { CellStyle::Good }),
            Cell::new(m.contact.clone()),
            Cell::new(Some(touching(m, r)).filter(|s| s != "none").unwrap_or_else(|| "–".into())),
            Cell::new(m.contact_point_lps_mm.as_ref().map_or_else(|| "–".to_string(), pt3)),
        ]);
    }
    d.push(Block::Table(t));
    safe_zone(d, r);
    if r.sweep.len() > 1 {
        d.push(Block::Heading { level: 2, text: format!("Sweep ({} points)", r.sweep.len()) });
        let mut t = Table::with_header(["point", "head", "liner", "inclination", "anteversion", "stem", "standing tilt", "smallest daily-life margin"]);
        for s in &r.sweep {
            t.row([
                s.label.clone(),
                format!("{} mm", f(s.head_diameter_mm, 0)),
                s.liner.clone(),
                format!("{}°", f(s.cup_inclination_deg, 1)),
                format!("{}°", f(s.cup_anteversion_deg, 1)),
                format!("{}°", f(s.stem_anteversion_deg, 1)),
                format!("{}°", f(s.standing_tilt_deg, 0)),
                s.min_adl_margin_deg.map_or("–".into(), |m| format!("{m:+.1}°")),
            ]);
        }
        d.push(Block::Table(t));
    }
}

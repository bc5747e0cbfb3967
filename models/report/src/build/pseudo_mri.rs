//! The report's pseudo-MRI section (issue 43, the `[pseudo_mri]` stage): what was made, with what
//! sequence, each tissue's value, whether the spinal canal was found, and the middle slice, CT
//! beside pseudo-MRI.

use coxa_core::CaseReport;

use crate::document::{Block, Document, Figure, Table, Text};

/// The picture of the middle slice, as the case folder names it.
pub const PICTURE: &str = "pictures/pseudo_mri.png";

/// Appends the section when the stage ran.
pub fn push(d: &mut Document, r: &CaseReport, figures: Vec<Figure>) {
    let Some(pm) = &r.pseudo_mri else { return };
    d.push(Block::Heading { level: 2, text: "Pseudo-MRI (T2-weighted, from the CT)".into() });
    d.push(Block::Note(
        Text::bold(format!("{}.", pm.note)).and(" It shows the CT's tissues in an MR-like contrast; it cannot show what the CT does not (oedema, cord signal change, ligament tears)."),
    ));
    let canal = if pm.canal_found { format!("found over {:.0} mm", pm.canal_length_mm) } else { "not found".to_string() };
    let mut rows = vec![
        ("image".into(), Text::default().and_code(pm.image.clone())),
        ("method".into(), Text::plain(pm.method.clone())),
        ("sequence".into(), Text::plain(format!("spin echo, TR {} ms, TE {} ms", pm.tr_ms, pm.te_ms))),
    ];
    // A learned model's image has no tissue classes nor canal search of coxa's own.
    if pm.method == "model-free" {
        rows.push(("spinal canal".into(), Text::plain(canal)));
    }
    d.push(Block::KeyValue(rows));
    if !pm.tissue_values.is_empty() {
        let mut t = Table::with_header(["tissue", "value (1000 S)"]);
        for (name, v) in &pm.tissue_values {
            t.row([Text::plain(name.replace('_', " ")), Text::plain(format!("{v:.0}"))]);
        }
        d.push(Block::Table(t));
    }
    if !figures.is_empty() {
        d.push(Block::Figures(figures));
    }
}

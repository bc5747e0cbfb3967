//! The index page of a run (`index.html`): one row per case with its status, side, cup angles,
//! head, smallest daily-life margin and warnings, the case's name linking to its report.

use crate::build::fmt::numo;
use crate::document::{Block, Cell, CellStyle, Document, Table, Text};

/// One case of a run, as the index shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// The case's name (its folder under `cases/`).
    pub case: String,
    /// `done`, or the state of a case not done (`failed`, `damaged`, ...).
    pub status: String,
    /// Why a case is not done.
    pub error: Option<String>,
    /// The operated side (`left`/`right`), finished cases.
    pub side: Option<String>,
    /// Cup inclination and anteversion, radiographic, deg.
    pub cup_radiographic_deg: Option<[f64; 2]>,
    /// Head diameter, mm.
    pub head_diameter_mm: Option<f64>,
    /// Smallest daily-life margin, deg.
    pub min_adl_margin_deg: Option<f64>,
    /// Warnings in the case's report.
    pub warnings: Option<usize>,
}

/// The index page of the run `name`.
pub fn index_document(name: &str, rows: &[IndexRow]) -> Document {
    let mut d = Document::new(name);
    d.push(Block::Heading { level: 1, text: name.to_string() });
    d.push(Block::Paragraph(Text::plain(format!("{} cases; patient names and IDs are not shown.", rows.len()))));
    let mut t = Table::with_header(["case", "status", "side", "cup inclination / anteversion (radiographic)", "head", "smallest daily-life margin", "warnings"]).id("cases");
    for r in rows {
        let done = r.status == "done";
        let (case, status) = if done {
            (Cell::new(Text::link(r.case.clone(), format!("cases/{}/report.html", r.case))), Cell::new("done"))
        } else {
            (Cell::new(r.case.clone()), Cell::styled(format!("{}: {}", r.status, r.error.as_deref().unwrap_or("")), CellStyle::Bad))
        };
        let cup = r.cup_radiographic_deg;
        t.row([
            case,
            status,
            Cell::new(r.side.clone().unwrap_or_default()),
            Cell::new(format!("{} / {}", numo(cup.map(|c| c[0]), 1), numo(cup.map(|c| c[1]), 1))),
            Cell::new(numo(r.head_diameter_mm, 0)),
            Cell::new(numo(r.min_adl_margin_deg, 1)),
            Cell::new(numo(r.warnings.map(|w| w as f64), 0)),
        ]);
    }
    d.push(Block::Table(t));
    d
}

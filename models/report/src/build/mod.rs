//! The case report as a [`Document`], built from the typed [`CaseReport`] (`report.json`'s value)
//! and the case's pictures. The order is the surgeon's: first the decision (implants and sizes,
//! cup angles in the plan's definition, leg length and offset, the range-of-motion margins
//! against daily life, the caveats that change the plan), then the motions that limit the plan
//! at their first contact (pictures), then the range of motion per motion
//! against what daily life needs, the other warnings, and then the details (everything the
//! report holds: the plan's reasoning, hip load, pictures, every motion, the safe-zone map, the
//! sweep, anatomy, bone quality, muscles, radiomics, segmentation, conventions).

mod anatomy;
pub mod caveats;
mod decision;
pub(crate) mod fmt;
mod lesions;
pub mod measures;
mod msk;
mod plan;
mod pseudo_mri;
mod rom;

use std::path::Path;

use coxa_core::{CaseReport, CupAngleDefinition};

use crate::document::{Block, Document, Figure, Text};
use crate::error::{Error, Result};

/// How the case document is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaseOptions {
    /// The definition the decision gives the cup angles in (Murray 1993). Default: radiographic,
    /// the definition of the plan's top-level cup fields.
    pub cup_definition: CupAngleDefinition,
}

impl Default for CaseOptions {
    fn default() -> Self {
        Self { cup_definition: CupAngleDefinition::Radiographic }
    }
}

impl CaseOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The options a report asks for (its `cup_definition`).
    pub fn for_report(r: &CaseReport) -> Self {
        Self::new().with_cup_definition(r.cup_definition.unwrap_or(CupAngleDefinition::Radiographic))
    }

    /// Gives the decision's cup angles in `d`.
    pub fn with_cup_definition(mut self, d: CupAngleDefinition) -> Self {
        self.cup_definition = d;
        self
    }
}

/// The file name prefix of a picture of a motion at its first contact
/// (`pictures/contact_<motion>.png`): shown after the decision, not among the plan's views.
pub const CONTACT_PICTURE_PREFIX: &str = "pictures/contact_";

/// The report's pictures, read from the case folder `dir` in the report's order, captioned
/// with their view.
///
/// # Errors
/// A picture the report lists that cannot be read.
pub fn read_pictures(r: &CaseReport, dir: &Path) -> Result<Vec<Figure>> {
    r.pictures
        .iter()
        .map(|p| {
            let path = dir.join(&p.file);
            let png = std::fs::read(&path).map_err(|source| Error::ReadPicture { path: path.clone(), source })?;
            Ok(Figure { png, caption: fmt::words(&p.view) })
        })
        .collect()
}

/// The report's pictures from their PNG bytes in memory (`pngs`: each picture's file as the
/// report names it, and its bytes), in the report's order, captioned with their view: what
/// [`read_pictures`] reads from a case folder, for the writer that has just made them.
///
/// # Errors
/// A picture the report lists that is not among `pngs`.
pub fn figures(r: &CaseReport, pngs: &[(&str, &[u8])]) -> Result<Vec<Figure>> {
    r.pictures
        .iter()
        .map(|p| {
            let (_, png) = pngs
                .iter()
                .find(|(file, _)| *file == p.file)
                .ok_or_else(|| Error::ReadPicture { path: p.file.clone().into(), source: std::io::Error::new(std::io::ErrorKind::NotFound, "the case made no such picture") })?;
            Ok(Figure { png: png.to_vec(), caption: fmt::words(&p.view) })
        })
        .collect()
}

/// The case as the report's title and page footers name it: the case's name, when it was
/// planned (UTC, to the minute) and the plan's revision (0: the automatic plan).
pub fn identity(r: &CaseReport) -> String {
    format!("case {} ({}) · {}", r.case, r.scenario, when_and_revision(r))
}

/// When the plan was made (UTC, to the minute) and its revision.
fn when_and_revision(r: &CaseReport) -> String {
    let when = r.planned_utc.as_deref().map_or_else(|| "date not recorded".to_string(), |t| format!("planned {} UTC", t.replacen('T', " ", 1).get(..16).unwrap_or(t)));
    let revision = if r.revision == 0 { "revision 0 (automatic plan)".to_string() } else { format!("revision {} (surgeon's)", r.revision) };
    format!("{when} · {revision}")
}

/// The report of one case.
pub fn case_document(r: &CaseReport, pictures: Vec<Figure>, opts: &CaseOptions) -> Document {
    let id = identity(r);
    let mut d = Document::new(format!("coxa: {id}"));
    d.footer = id.clone();
    d.created_utc = r.planned_utc.clone();
    // The case's name first, on a line of its own (a long name wraps there, not mid-date).
    d.push(Block::Heading { level: 1, text: format!("Case {} ({})", r.case, r.scenario) });
    d.push(Block::Paragraph(Text::bold(format!("Total hip arthroplasty plan · {}", when_and_revision(r)))));
    d.push(Block::Note(Text::plain(format!("{} hip · input: {} · coxa {} · patient name and ID are not shown", r.side.as_str(), fmt::text(&r.input["kind"]), r.coxa_version))));

    // What the surgeon decides on, then the range of motion against daily life, then the
    // warnings that do not change the plan.
    let notes: &[String] = r.plan.as_ref().map_or(&[], |p| &p.notes[..]);
    let (mut caveats, mut others) = crate::warnings::split_caveats(&r.warnings, notes);
    lesions::to_caveats(&mut caveats, &mut others);
    let (first, detail, other_hip) = caveats::page_one(r, caveats);
    decision::push(&mut d, r, opts, first);
    // Page 1 is the decision alone; the caveats' own sentences follow.
    d.push(Block::PageBreak);
    if !detail.is_empty() {
        d.push(Block::Warnings { title: "Caveats in detail (operated side)".into(), items: detail });
    }
    if !other_hip.is_empty() {
        d.push(Block::Warnings { title: "The other hip".into(), items: other_hip });
    }
    // The motions that limit the plan at their first contact, then every motion's limit.
    let (contacts, pictures): (Vec<_>, Vec<_>) = r.pictures.iter().zip(pictures).partition(|(p, _)| p.file.starts_with(CONTACT_PICTURE_PREFIX));
    let (pseudo_mri_figures, pictures): (Vec<_>, Vec<_>) = pictures.into_iter().partition(|(p, _)| p.file == pseudo_mri::PICTURE);
    let (contacts, pictures): (Vec<Figure>, Vec<Figure>) = (contacts.into_iter().map(|(_, f)| f).collect(), pictures.into_iter().map(|(_, f)| f).collect());
    if !contacts.is_empty() {
        d.push(Block::Heading { level: 2, text: "Where the hip impinges".into() });
        d.push(Block::Note("The daily-life motions that limit the plan (short of their need or within 10° of it, and at least the tightest), each with the femur at its limit and the first contact marked by a magenta ball.".into()));
        d.push(Block::Figures(contacts));
    }
    rom::push_overview(&mut d, r);
    if !others.is_empty() {
        d.push(Block::Warnings { title: "Warnings".into(), items: others });
    }

    // The details.
    plan::push_placement(&mut d, r);
    if let Some(pl) = &r.plan {
        plan::push_reasoning(&mut d, pl);
    }
    if let Some(mk) = &r.msk {
        msk::push(&mut d, mk);
    }
    if !pictures.is_empty() {
        d.push(Block::Heading { level: 2, text: "The plan in 3D".into() });
        d.push(Block::Note("Bones translucent, implants opaque: shell grey, liner blue, head red, neck dark grey.".into()));
        d.push(Block::Figures(pictures));
    }
    rom::push_details(&mut d, r);
    anatomy::push(&mut d, r);
    pseudo_mri::push(&mut d, r, pseudo_mri_figures.into_iter().map(|(_, f)| f).collect());
    lesions::push(&mut d, r);
    d.push(Block::Heading { level: 2, text: "Conventions".into() });
    d.push(Block::Note("Coordinates: DICOM patient frame LPS (+x left, +y posterior, +z superior), mm. Pelvic frame: anterior pelvic plane (ASIS and pubic tubercles). Cup angles: Murray (1993) definitions, named where given. Joint angles: flexion about the pelvic mediolateral axis, abduction about the floating axis, rotation about the femoral mechanical axis; the pelvis tilted per posture. Daily-life needs are illustrative round numbers from the literature, not norms.".into()));
    d
}

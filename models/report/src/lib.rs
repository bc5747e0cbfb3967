//! coxa's case report: one document model, two renderings.
//!
//! - [`Document`] ([`document`]) is what a report says: headings, paragraphs, notes, warnings,
//!   key-value blocks, tables with coloured cells, PNG pictures with captions and vector plots
//!   ([`plot`]).
//! - [`case_document`] builds it from the typed case report ([`coxa_core::CaseReport`], what
//!   `report.json` holds) and the case's pictures ([`read_pictures`]); [`index_document`] builds the
//!   run's index page from its rows.
//! - [`html`] renders it through askama templates (compiled and type-checked with the crate;
//!   every value auto-escaped, so a case called `<script>` is text); plots become inline SVG
//!   written by the same templates, pictures PNG data URIs.
//! - [`pdf`] renders it with krilla (the PDF library of typst): A4 pages, text in embedded,
//!   subsetted fonts (the bundled Noto Sans for Latin, Greek and Cyrillic; the system's fonts,
//!   character by character, for the rest), tables kept whole or split with their header
//!   repeated, plots drawn as vector paths.

pub mod build;
pub mod document;
mod error;
pub mod html;
pub mod index;
pub mod pdf;
pub mod plot;
pub mod warnings;

pub use build::{CaseOptions, case_document, figures, read_pictures};
pub use document::{Block, Cell, CellStyle, Document, Figure, MarginBand, Rgb, Span, SpanStyle, Table, Text, Warning};
pub use error::{Error, Result};
pub use index::{IndexRow, index_document};

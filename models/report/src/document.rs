//! The document model: what a report says, before it is HTML or PDF. A [`Document`] is a list of
//! [`Block`]s (headings, paragraphs, notes, warnings, key-value blocks, tables, pictures and
//! plots); both renderers walk the same list, so the HTML and the PDF hold the same text and
//! numbers.

use crate::plot::Plot;
pub use crate::plot::Rgb;

/// A whole report: its title (the HTML `<title>`, the PDF's metadata and page footers) and its
/// blocks in reading order.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's title.
    pub title: String,
    /// The footer of every PDF page, before `· page N of M` (the title when empty).
    pub footer: String,
    /// When the document's content was made, UTC, RFC 3339 (`2026-11-27T17:41:27Z`): the PDF's
    /// creation date. `None`: no date in the metadata.
    pub created_utc: Option<String>,
    /// The blocks, in reading order.
    pub blocks: Vec<Block>,
}

impl Document {
    /// An empty document called `title`.
    pub fn new(title: impl Into<String>) -> Self {
        let title = title.into();
        Self { footer: title.clone(), title, created_utc: None, blocks: Vec::new() }
    }

    /// Appends a block.
    pub fn push(&mut self, b: Block) {
        self.blocks.push(b);
    }

    /// Every piece of text the document shows, in reading order (plots' labels included): what a
    /// reader of either rendering reads.
    pub fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for b in &self.blocks {
            b.texts(&mut out);
        }
        out
    }
}

/// How a run of text is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanStyle {
    /// Plain text.
    #[default]
    Plain,
    /// Bold.
    Bold,
    /// A file or field name (monospaced in HTML, plain in the PDF).
    Code,
}

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The text (any Unicode; escaped by the HTML renderer).
    pub text: String,
    /// How it is set.
    pub style: SpanStyle,
    /// A link target relative to the page (HTML only; the PDF shows the text).
    pub href: Option<String>,
}

/// Text made of runs: a paragraph, a cell, a list item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<Span>);

impl Text {
    /// Plain text.
    pub fn plain(s: impl Into<String>) -> Self {
        Self::default().and(s)
    }

    /// Bold text.
    pub fn bold(s: impl Into<String>) -> Self {
        Self::default().and_bold(s)
    }

    /// A link to `href` (relative to the page).
    pub fn link(s: impl Into<String>, href: impl Into<String>) -> Self {
        Self(vec![Span { text: s.into(), style: SpanStyle::Plain, href: Some(href.into()) }])
    }

    fn with(mut self, s: impl Into<String>, style: SpanStyle) -> Self {
        self.0.push(Span { text: s.into(), style, href: None });
        self
    }

    /// Appends plain text.
    pub fn and(self, s: impl Into<String>) -> Self {
        self.with(s, SpanStyle::Plain)
    }

    /// Appends bold text.
    pub fn and_bold(self, s: impl Into<String>) -> Self {
        self.with(s, SpanStyle::Bold)
    }

    /// Appends a file or field name.
    pub fn and_code(self, s: impl Into<String>) -> Self {
        self.with(s, SpanStyle::Code)
    }

    /// The text without its styles.
    pub fn to_plain(&self) -> String {
        self.0.iter().map(|s| s.text.as_str()).collect()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self::plain(s)
    }
}

/// How far a range of motion is from what a daily activity needs: the colours of the report's
/// ROM bars and margin cells (red below the need, amber within 10 deg of it, green above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginBand {
    /// Below what the activity needs (margin < 0).
    Short,
    /// Within 10 deg above it.
    Close,
    /// 10 deg or more above it.
    Clear,
    /// No daily-life need for this motion.
    NoNeed,
}

impl MarginBand {
    /// The band of a margin, deg (`None`: no need).
    pub fn of(margin_deg: Option<f64>) -> Self {
        match margin_deg {
            Some(m) if m < 0.0 => Self::Short,
            Some(m) if m < 10.0 => Self::Close,
            Some(_) => Self::Clear,
            None => Self::NoNeed,
        }
    }

    /// Its colour (the bar's fill).
    pub fn colour(self) -> Rgb {
        match self {
            Self::Short => Rgb(0xd9, 0x53, 0x4f),
            Self::Close => Rgb(0xf0, 0xad, 0x4e),
            Self::Clear => Rgb(0x5c, 0xb8, 0x5c),
            Self::NoNeed => Rgb(0x7a, 0x8c, 0xa3),
        }
    }

    /// Its CSS class name.
    pub fn class(self) -> &'static str {
        match self {
            Self::Short => "m-short",
            Self::Close => "m-close",
            Self::Clear => "m-clear",
            Self::NoNeed => "m-none",
        }
    }
}

/// How a table cell is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellStyle {
    /// Plain.
    #[default]
    Plain,
    /// A good value, green text (a margin at or above the need).
    Good,
    /// A bad value, red text (a margin below the need).
    Bad,
    /// Filled with a margin band's colour (the decision's compact ROM table).
    Margin(MarginBand),
}

/// A table cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Its text.
    pub text: Text,
    /// How it is set.
    pub style: CellStyle,
}

impl Cell {
    /// A plain cell.
    pub fn new(t: impl Into<Text>) -> Self {
        Self { text: t.into(), style: CellStyle::Plain }
    }

    /// A cell with a style.
    pub fn styled(t: impl Into<Text>, style: CellStyle) -> Self {
        Self { text: t.into(), style }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<Text> for Cell {
    fn from(t: Text) -> Self {
        Self::new(t)
    }
}

/// A table: a header row (may be empty) and body rows. The PDF keeps a table that fits on a
/// page whole, and repeats the header when a longer one is split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// An anchor for links and tests (`id` in HTML).
    pub id: Option<String>,
    /// The header cells (none: no header row).
    pub header: Vec<Cell>,
    /// The body rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with this header.
    pub fn with_header<I: IntoIterator<Item = S>, S: Into<Cell>>(header: I) -> Self {
        Self { id: None, header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// A table without a header row.
    pub fn headless() -> Self {
        Self::default()
    }

    /// Sets the anchor.
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_string());
        self
    }

    /// Appends a row.
    pub fn row<I: IntoIterator<Item = S>, S: Into<Cell>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }
}

/// A PNG picture with its caption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// The caption (also the HTML `alt`).
    pub caption: String,
}

/// A warning: what happened (the cause), which structures it touches, and what it means for the
/// plan. The report's warnings are sentences today; [`crate::warnings::group`] gathers a sentence
/// said of several structures into one warning naming them. A later source may fill the cause,
/// the structures and the consequence apart (issue 41).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The cause, one sentence.
    pub cause: String,
    /// The structures affected (bones, stages), in the order first named; empty when the cause
    /// names them itself.
    pub structures: Vec<String>,
    /// What it means for the plan, when known apart from the cause.
    pub consequence: Option<String>,
}

impl Warning {
    /// The warning as one line: `structures: cause; consequence`.
    pub fn line(&self) -> String {
        // Names that hold a comma (`taper-wedge stem, high offset`) are set apart by semicolons.
        let sep = if self.structures.iter().any(|s| s.contains(',')) { "; " } else { ", " };
        let mut s = if self.structures.is_empty() { self.cause.clone() } else { format!("{}: {}", self.structures.join(sep), self.cause) };
        if let Some(c) = &self.consequence {
            s.push_str(" — ");
            s.push_str(c);
        }
        s
    }
}

/// One block of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading, level 1 (the title) to 3.
    Heading {
        /// 1, 2 or 3.
        level: u8,
        /// Its text.
        text: String,
    },
    /// A paragraph.
    Paragraph(Text),
    /// A side note (smaller, grey): sources, methods, definitions.
    Note(Text),
    /// A boxed list of warnings under a title.
    Warnings {
        /// The box's title.
        title: String,
        /// The warnings.
        items: Vec<Warning>,
    },
    /// A bulleted list.
    List(Vec<Text>),
    /// Labelled values, one per line (a two-column table without a header).
    KeyValue(Vec<(String, Text)>),
    /// A table.
    Table(Table),
    /// Pictures, two per row.
    Figures(Vec<Figure>),
    /// A vector chart.
    Plot(Plot),
    /// The next block starts a new page in the PDF (and when the HTML is printed).
    PageBreak,
}

impl Block {
    fn texts(&self, out: &mut Vec<String>) {
        match self {
            Self::Heading { text, .. } => out.push(text.clone()),
            Self::Paragraph(t) | Self::Note(t) => out.push(t.to_plain()),
            Self::Warnings { title, items } => {
                out.push(title.clone());
                out.extend(items.iter().map(Warning::line));
            }
            Self::List(items) => out.extend(items.iter().map(Text::to_plain)),
            Self::KeyValue(kv) => {
                for (k, v) in kv {
                    out.push(k.clone());
                    out.push(v.to_plain());
                }
            }
            Self::Table(t) => out.extend(t.header.iter().chain(t.rows.iter().flatten()).map(|c| c.text.to_plain())),
            Self::Figures(f) => out.extend(f.iter().map(|f| f.caption.clone())),
            Self::Plot(p) => out.extend(crate::plot::scene(p).texts()),
            Self::PageBreak => {}
        }
    }
}

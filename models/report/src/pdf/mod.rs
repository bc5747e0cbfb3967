//! A [`Document`] as a PDF on A4 pages, drawn natively from the document with krilla (the PDF
//! library of typst): text in embedded, subsetted fonts (any language: see [`fonts`]), tables
//! with their cell colours, pictures as images, plots as vector paths. A heading stays with the
//! start of what follows it; a table that fits on a page is never split (a longer one is split
//! between rows, its header repeated); a plot or a row of pictures is never split. Every page
//! ends with `footer · page N of M`.
//!
//! A character that no font of the machine has is drawn as the font's empty box, and the PDF
//! says so at its top (naming the code points and the fix) instead of printing `?`.

mod draw;
mod fonts;
mod layout;

use crate::document::{Block, Document, Warning};
use crate::error::{Error, Result};

use layout::{Op, Placed, Unit};

/// Page size, pt (A4).
const PAGE: (f32, f32) = (595.28, 841.89);
const LEFT: f32 = 40.0;
const TOP: f32 = 40.0;
const BOTTOM: f32 = 800.0;

/// A rendered PDF.
#[derive(Debug, Clone)]
pub struct Pdf {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Pages.
    pub pages: usize,
    /// Characters of the document no font on this machine has (drawn as empty boxes).
    pub missing_glyphs: Vec<char>,
}

/// Puts laid-out blocks on pages.
struct Pager {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pager {
    fn new() -> Self {
        Self { pages: vec![Vec::new()], y: TOP }
    }

    fn at_top(&self) -> bool {
        self.y <= TOP + 1e-3
    }

    fn new_page(&mut self) {
        if !self.at_top() || self.pages.last().is_some_and(|p| !p.is_empty()) {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    /// Room for `h` pt on this page, else a new page.
    fn ensure(&mut self, h: f32) {
        if self.y + h > BOTTOM && !self.at_top() {
            self.new_page();
        }
    }

    fn put(&mut self, u: &Unit) {
        let page = self.pages.last_mut().expect("a page");
        page.extend(u.ops.iter().map(|o| o.shifted(LEFT, self.y)));
        self.y += u.height;
    }

    fn space(&mut self, s: f32) {
        if !self.at_top() {
            self.y += s;
        }
    }

    fn flow(&mut self, space_before: f32, units: &[Unit], frame: Option<layout::Frame>) {
        self.space(space_before);
        let Some(fr) = frame else {
            for u in units {
                self.ensure(u.height);
                self.put(u);
            }
            return;
        };
        // A framed flow: the frame is drawn behind the part on each page.
        let mut k = 0;
        while k < units.len() {
            self.ensure(units[k].height + 2.0 * fr.pad);
            let start = self.y;
            let at = self.pages.last().map_or(0, Vec::len);
            self.y += fr.pad;
            let mut placed = 0;
            while k < units.len() && (placed == 0 || self.y + units[k].height + fr.pad <= BOTTOM) {
                let inner = Unit { height: units[k].height, ops: units[k].ops.iter().map(|o| o.shifted(fr.pad, 0.0)).collect() };
                self.put(&inner);
                k += 1;
                placed += 1;
            }
            self.y += fr.pad;
            let rect = Op::Rect { x: LEFT, y: start, w: layout::WIDTH, h: self.y - start, fill: Some(fr.fill), stroke: Some(layout::Stroke::solid(fr.border, 0.8)) };
            self.pages.last_mut().expect("a page").insert(at, rect);
            if k < units.len() {
                self.new_page();
            }
        }
    }

    fn table(&mut self, space_before: f32, header: Option<&Unit>, rows: &[Unit]) {
        self.space(space_before);
        let head_h = header.map_or(0.0, |h| h.height);
        let total = head_h + rows.iter().map(|r| r.height).sum::<f32>();
        // Kept whole when it fits on a page.
        if total <= BOTTOM - TOP {
            self.ensure(total);
        } else {
            self.ensure(head_h + rows.first().map_or(0.0, |r| r.height));
        }
        if let Some(h) = header {
            self.put(h);
        }
        for r in rows {
            if self.y + r.height > BOTTOM {
                self.new_page();
                if let Some(h) = header {
                    self.put(h);
                }
            }
            self.put(r);
        }
    }
}

/// The height that must follow a heading on its page: all of a table that fits on a page, else
/// the next block's first unit.
fn lead(p: &Placed) -> f32 {
    match p {
        Placed::Flow { units, frame, .. } => units.first().map_or(0.0, |u| u.height) + frame.map_or(0.0, |f| 2.0 * f.pad),
        Placed::Table { header, rows, .. } => {
            let head = header.as_ref().map_or(0.0, |h| h.height);
            let total = head + rows.iter().map(|r| r.height).sum::<f32>();
            if total <= BOTTOM - TOP { total } else { head + rows.first().map_or(0.0, |r| r.height) }
        }
        Placed::Heading { unit, .. } => unit.height,
        Placed::PageBreak => 0.0,
    }
}

/// The warning a PDF starts with when some characters have no font here.
fn missing_glyphs_warning(missing: &[char]) -> Block {
    let codes = missing.iter().map(|c| format!("U+{:04X}", u32::from(*c))).collect::<Vec<_>>().join(", ");
    Block::Warnings {
        title: "This PDF cannot show every character".into(),
        items: vec![Warning {
            cause: format!("no font on the machine that made it has {codes}"),
            structures: Vec::new(),
            consequence: Some(
                "they are drawn as empty boxes; the HTML report shows them. Install fonts that have them (e.g. Debian's fonts-noto-core and fonts-noto-cjk) and make the report again".into(),
            ),
        }],
    }
}

/// The document as a PDF.
///
/// # Errors
/// A picture that is not a PNG file, or krilla refusing the document.
pub fn render(doc: &Document) -> Result<Pdf> {
    let mut fonts = fonts::Fonts::new()?;
    // Which characters have no font: known before the layout, so the PDF can say so first.
    for t in doc.texts().iter().chain([&doc.title, &doc.footer]) {
        let _ = fonts.runs(t, false);
        let _ = fonts.runs(t, true);
    }
    let missing: Vec<char> = fonts.missing().iter().copied().collect();
    if !missing.is_empty() {
        tracing::warn!("the PDF report has no font for {} character(s) ({:?}): drawn as empty boxes; install fonts-noto-core / fonts-noto-cjk", missing.len(), missing);
    }
    let warning = (!missing.is_empty()).then(|| missing_glyphs_warning(&missing));

    let figures: Vec<&crate::Figure> = doc.blocks.iter().flat_map(|b| if let Block::Figures(f) = b { f.iter().collect() } else { Vec::new() }).collect();
    let images =
        figures.iter().map(|f| krilla::image::Image::from_png(f.png.clone().into(), true).map_err(|reason| Error::Picture { caption: f.caption.clone(), reason })).collect::<Result<Vec<_>>>()?;
    let sizes: Vec<(u32, u32)> = images.iter().map(krilla::image::Image::size).collect();

    // Lay out every block, the missing-glyph warning after the title.
    let mut blocks: Vec<&Block> = doc.blocks.iter().collect();
    if let Some(w) = &warning {
        let at = blocks.iter().position(|b| !matches!(b, Block::Heading { level: 1, .. } | Block::Note(_))).unwrap_or(blocks.len());
        blocks.insert(at, w);
    }
    let mut placed = Vec::with_capacity(blocks.len());
    let mut figure_index = 0;
    for b in &blocks {
        placed.push(layout::block(&mut fonts, b, figure_index, &sizes));
        if let Block::Figures(f) = b {
            figure_index += f.len();
        }
    }

    let mut pager = Pager::new();
    for (k, p) in placed.iter().enumerate() {
        match p {
            Placed::Heading { space_before, unit } => {
                pager.space(*space_before);
                pager.ensure(unit.height + placed.get(k + 1).map_or(0.0, lead));
                pager.put(unit);
            }
            Placed::Flow { space_before, units, frame } => pager.flow(*space_before, units, *frame),
            Placed::Table { space_before, header, rows } => pager.table(*space_before, header.as_ref(), rows),
            Placed::PageBreak => pager.new_page(),
        }
    }
    let mut pages = pager.pages;
    if pages.len() > 1 && pages.last().is_some_and(Vec::is_empty) {
        pages.pop();
    }
    let n = pages.len();
    let footer = if doc.footer.is_empty() { &doc.title } else { &doc.footer };
    for (k, page) in pages.iter_mut().enumerate() {
        let label = format!("{footer} · page {} of {n}", k + 1);
        let style = layout::Style { size: 7.5, ..layout::Style::NOTE };
        let w = fonts.width(&label, false) * style.size;
        page.push(Op::Text { x: (PAGE.0 - w) / 2.0, y: PAGE.1 - 22.0, text: label, bold: false, size: style.size, colour: style.colour, vertical: false });
    }
    let bytes = draw::pdf(&mut fonts, &pages, &images, &doc.title, doc.created_utc.as_deref())?;
    Ok(Pdf { bytes, pages: n, missing_glyphs: missing })
}

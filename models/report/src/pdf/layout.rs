//! Blocks laid out for the page: text wrapped into lines, tables into rows, plots and pictures
//! scaled to the text width. Each block becomes [`Unit`]s (a line, a table row, a plot) with
//! drawing operations relative to the unit's top left; the pager in `mod.rs` puts them on pages.
//! This is a small layout engine of our own: krilla draws glyphs, paths and images but does not
//! lay out text (typst does that above it, too large to pull in for a report).

use crate::document::{Block, CellStyle, Figure, Rgb, SpanStyle, Table, Text};
use crate::plot::{Anchor, Pen, Scene, Shape};

use super::fonts::Fonts;

/// Text width of the page, pt.
pub const WIDTH: f32 = 515.0;

pub const INK: Rgb = Rgb(0x22, 0x22, 0x22);
const GREY: Rgb = Rgb(0x55, 0x55, 0x55);
const RULE: Rgb = Rgb(0xcc, 0xcc, 0xdd);

/// A line's paint, pt.
#[derive(Debug, Clone, Copy)]
pub struct Stroke {
    pub colour: Rgb,
    pub width: f32,
    /// Dash and gap lengths (`None`: solid).
    pub dash: Option<(f32, f32)>,
}

impl Stroke {
    /// A solid line.
    pub fn solid(colour: Rgb, width: f32) -> Self {
        Self { colour, width, dash: None }
    }
}

/// A drawing operation, pt, y down.
#[derive(Debug, Clone)]
pub enum Op {
    /// Text on a baseline; `vertical` turns it to read bottom up about its start.
    Text { x: f32, y: f32, text: String, bold: bool, size: f32, colour: Rgb, vertical: bool },
    /// A rectangle.
    Rect { x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb>, stroke: Option<Stroke> },
    /// Connected segments.
    Line { points: Vec<(f32, f32)>, stroke: Stroke },
    /// An outlined circle.
    Circle { cx: f32, cy: f32, r: f32, colour: Rgb, width: f32 },
    /// Picture `index` of the document's figures.
    Image { index: usize, x: f32, y: f32, w: f32, h: f32 },
}

impl Op {
    /// The operation moved by (dx, dy).
    pub fn shifted(&self, dx: f32, dy: f32) -> Self {
        match self.clone() {
            Self::Text { x, y, text, bold, size, colour, vertical } => Self::Text { x: x + dx, y: y + dy, text, bold, size, colour, vertical },
            Self::Rect { x, y, w, h, fill, stroke } => Self::Rect { x: x + dx, y: y + dy, w, h, fill, stroke },
            Self::Line { points, stroke } => Self::Line { points: points.into_iter().map(|(x, y)| (x + dx, y + dy)).collect(), stroke },
            Self::Circle { cx, cy, r, colour, width } => Self::Circle { cx: cx + dx, cy: cy + dy, r, colour, width },
            Self::Image { index, x, y, w, h } => Self::Image { index, x: x + dx, y: y + dy, w, h },
        }
    }
}

/// A piece of a block that is never split: a line of text, a table row, a plot.
#[derive(Debug, Clone, Default)]
pub struct Unit {
    /// Its height, pt.
    pub height: f32,
    /// What it draws, relative to its top left.
    pub ops: Vec<Op>,
}

/// How a block's units go on pages.
#[derive(Debug, Clone)]
pub enum Placed {
    /// Units that may go on different pages (lines of a paragraph), space above the first.
    Flow { space_before: f32, units: Vec<Unit>, frame: Option<Frame> },
    /// A table: kept on one page when it fits one, else split between rows with its header
    /// repeated.
    Table { space_before: f32, header: Option<Unit>, rows: Vec<Unit> },
    /// A heading: on the same page as the start of the next block.
    Heading { space_before: f32, unit: Unit },
    /// What follows starts a new page.
    PageBreak,
}

/// A box drawn behind the part of a flow on each page (the warnings).
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub fill: Rgb,
    pub border: Rgb,
    pub pad: f32,
}

/// Text set in one size and colour.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub size: f32,
    pub colour: Rgb,
    pub bold: bool,
    pub leading: f32,
}

impl Style {
    pub const BODY: Self = Self { size: 9.5, colour: INK, bold: false, leading: 1.3 };
    pub const NOTE: Self = Self { size: 8.3, colour: GREY, bold: false, leading: 1.3 };
    pub const CELL: Self = Self { size: 8.0, colour: INK, bold: false, leading: 1.25 };

    fn line_height(self) -> f32 {
        self.size * self.leading
    }
}

/// Chinese, Japanese and Korean text may break between any two characters.
fn breaks_anywhere(c: char) -> bool {
    matches!(c, '\u{2e80}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}' | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}' | '\u{20000}'..='\u{3ffff}')
}

/// A word with the spaces after it, and its style.
struct Atom {
    text: String,
    bold: bool,
}

fn atoms(t: &Text, style: Style) -> Vec<Atom> {
    let mut out = Vec::new();
    for s in &t.0 {
        let bold = style.bold || s.style == SpanStyle::Bold;
        let mut cur = String::new();
        let mut in_space = false;
        for c in s.text.chars() {
            let split = (in_space && !c.is_whitespace()) || breaks_anywhere(c) || cur.chars().last().is_some_and(breaks_anywhere);
            if split && !cur.is_empty() {
                out.push(Atom { text: std::mem::take(&mut cur), bold });
            }
            in_space = c.is_whitespace();
            cur.push(if c == '\n' || c == '\t' { ' ' } else { c });
        }
        if !cur.is_empty() {
            out.push(Atom { text: cur, bold });
        }
    }
    out
}

/// `t` wrapped to `width` pt: each line's pieces `(x, text, bold)`.
pub fn wrap(fonts: &mut Fonts, t: &Text, style: Style, width: f32) -> Vec<Vec<(f32, String, bool)>> {
    let mut lines: Vec<Vec<(f32, String, bool)>> = vec![Vec::new()];
    let mut x = 0.0_f32;
    let push = |lines: &mut Vec<Vec<(f32, String, bool)>>, x: &mut f32, text: &str, bold: bool, w: f32| {
        let line = lines.last_mut().expect("at least one line");
        match line.last_mut() {
            Some(last) if last.2 == bold => last.1.push_str(text),
            _ => line.push((*x, text.to_string(), bold)),
        }
        *x += w;
    };
    for a in atoms(t, style) {
        let word = a.text.trim_end();
        let w_word = fonts.width(word, a.bold) * style.size;
        let w_all = fonts.width(&a.text, a.bold) * style.size;
        if x > 0.0 && x + w_word > width {
            lines.push(Vec::new());
            x = 0.0;
        }
        if w_word <= width || word.is_empty() {
            push(&mut lines, &mut x, &a.text, a.bold, w_all);
            continue;
        }
        // A word longer than the line: cut it between characters.
        for c in a.text.chars() {
            let cw = fonts.width(&c.to_string(), a.bold) * style.size;
            if x > 0.0 && x + cw > width && !c.is_whitespace() {
                lines.push(Vec::new());
                x = 0.0;
            }
            push(&mut lines, &mut x, &c.to_string(), a.bold, cw);
        }
    }
    for l in &mut lines {
        if let Some(last) = l.last_mut() {
            last.1.truncate(last.1.trim_end().len());
        }
    }
    lines.retain(|l| l.iter().any(|p| !p.1.is_empty()));
    lines
}

/// The units of `t`, one per line, starting at `indent`.
fn text_units(fonts: &mut Fonts, t: &Text, style: Style, indent: f32, width: f32) -> Vec<Unit> {
    let lh = style.line_height();
    wrap(fonts, t, style, width - indent)
        .into_iter()
        .map(|pieces| Unit {
            height: lh,
            ops: pieces.into_iter().map(|(x, text, bold)| Op::Text { x: indent + x, y: style.size * 1.05, text, bold, size: style.size, colour: style.colour, vertical: false }).collect(),
        })
        .collect()
}

/// Items with a bullet before each.
fn bulleted(fonts: &mut Fonts, items: &[Text], style: Style, width: f32) -> Vec<Unit> {
    let mut out = Vec::new();
    for it in items {
        let mut lines = text_units(fonts, it, style, 11.0, width);
        if let Some(first) = lines.first_mut() {
            first.ops.push(Op::Text { x: 2.0, y: style.size * 1.05, text: "•".into(), bold: false, size: style.size, colour: style.colour, vertical: false });
        }
        if let Some(last) = lines.last_mut() {
            last.height += 2.0;
        }
        out.extend(lines);
    }
    out
}

const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 2.5;

fn cell_colours(s: CellStyle) -> (Option<Rgb>, Rgb) {
    match s {
        CellStyle::Plain => (None, INK),
        CellStyle::Good => (None, Rgb(0x22, 0xaa, 0x77)),
        CellStyle::Bad => (None, Rgb(0xcc, 0x33, 0x33)),
        CellStyle::Margin(b) => (Some(b.colour()), if matches!(b, crate::MarginBand::Close) { INK } else { Rgb(0xff, 0xff, 0xff) }),
    }
}

/// Column widths as a browser's automatic table layout gives them: each column's widest unbroken
/// line when the table fits; else a column that needs less than an even share of the width left
/// keeps its line, and the others share the rest in proportion to their lines (never below their
/// longest word).
fn column_widths(fonts: &mut Fonts, t: &Table, width: f32) -> Vec<f32> {
    let n = t.header.len().max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
    let (mut natural, mut least) = (vec![0.0_f32; n], vec![0.0_f32; n]);
    for (r, row) in std::iter::once(&t.header).chain(&t.rows).enumerate() {
        for (i, c) in row.iter().enumerate() {
            let style = Style { bold: r == 0 && !t.header.is_empty(), ..Style::CELL };
            for a in atoms(&c.text, style) {
                least[i] = least[i].max(fonts.width(a.text.trim_end(), a.bold).min(14.0) * style.size);
            }
            let whole: f32 = atoms(&c.text, style).iter().map(|a| fonts.width(&a.text, a.bold)).sum::<f32>() * style.size;
            natural[i] = natural[i].max(whole);
        }
    }
    let pad = 2.0 * CELL_PAD_X + 0.5;
    let (natural, least): (Vec<f32>, Vec<f32>) = (natural.iter().map(|w| w + pad).collect(), least.iter().map(|w| w + pad).collect());
    if natural.iter().sum::<f32>() <= width {
        return natural;
    }
    let mut out: Vec<Option<f32>> = vec![None; n];
    loop {
        let open: Vec<usize> = (0..n).filter(|&i| out[i].is_none()).collect();
        let left = width - out.iter().flatten().sum::<f32>();
        let fair = left / open.len().max(1) as f32;
        let narrow: Vec<usize> = open.iter().copied().filter(|&i| natural[i] <= fair).collect();
        if narrow.is_empty() {
            let want: f32 = open.iter().map(|&i| natural[i]).sum();
            for &i in &open {
                out[i] = Some((left * natural[i] / want.max(1e-3)).max(least[i]));
            }
            break;
        }
        for i in narrow {
            out[i] = Some(natural[i]);
        }
    }
    out.into_iter().map(|w| w.unwrap_or(0.0)).collect()
}

fn table_row(fonts: &mut Fonts, cells: &[crate::Cell], widths: &[f32], header: bool) -> Unit {
    let style = Style { bold: header, ..Style::CELL };
    let laid: Vec<Vec<Unit>> = cells.iter().zip(widths).map(|(c, w)| text_units(fonts, &c.text, Style { colour: cell_colours(c.style).1, ..style }, 0.0, w - 2.0 * CELL_PAD_X)).collect();
    let lines = laid.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let height = lines as f32 * style.line_height() + 2.0 * CELL_PAD_Y;
    let mut ops = Vec::new();
    let mut x = 0.0;
    for (i, w) in widths.iter().enumerate() {
        let fill = if header { Some(Rgb(0xee, 0xee, 0xff)) } else { cells.get(i).and_then(|c| cell_colours(c.style).0) };
        ops.push(Op::Rect { x, y: 0.0, w: *w, h: height, fill, stroke: Some(Stroke::solid(RULE, 0.6)) });
        if let Some(lines) = laid.get(i) {
            for (k, l) in lines.iter().enumerate() {
                ops.extend(l.ops.iter().map(|o| o.shifted(x + CELL_PAD_X, CELL_PAD_Y + k as f32 * style.line_height())));
            }
        }
        x += w;
    }
    Unit { height, ops }
}

/// A plot's shapes as operations, scaled by `k`.
pub fn scene_ops(s: &Scene, k: f32, fonts: &mut Fonts) -> Vec<Op> {
    let p = |v: f64| v as f32 * k;
    let pen = |pen: &Pen| Stroke { colour: pen.colour, width: pen.width as f32 * k, dash: pen.dash.map(|(a, b)| (a as f32 * k, b as f32 * k)) };
    s.shapes
        .iter()
        .map(|sh| match sh {
            Shape::Rect { x, y, w, h, fill, stroke, .. } => Op::Rect { x: p(*x), y: p(*y), w: p(*w), h: p(*h), fill: *fill, stroke: stroke.as_ref().map(pen) },
            Shape::Line { points, pen: pe, .. } => Op::Line { points: points.iter().map(|(x, y)| (p(*x), p(*y))).collect(), stroke: pen(pe) },
            Shape::Circle { cx, cy, r, pen: pe } => Op::Circle { cx: p(*cx), cy: p(*cy), r: p(*r), colour: pe.colour, width: pe.width as f32 * k },
            Shape::Text { x, y, text, size, bold, colour, anchor, vertical } => {
                let size = p(*size);
                let w = fonts.width(text, *bold) * size;
                let shift = match anchor {
                    Anchor::Start => 0.0,
                    Anchor::Middle => w / 2.0,
                    Anchor::End => w,
                };
                // A vertical text's anchor moves it along y (it reads bottom up).
                let (x, y) = if *vertical { (p(*x), p(*y) + shift) } else { (p(*x) - shift, p(*y)) };
                Op::Text { x, y, text: text.clone(), bold: *bold, size, colour: *colour, vertical: *vertical }
            }
        })
        .collect()
}

/// Pictures two per row, each with its caption.
fn figures(fonts: &mut Fonts, figs: &[Figure], first_index: usize, sizes: &[(u32, u32)]) -> Vec<Unit> {
    let gap = 12.0;
    let w = (WIDTH - gap) / 2.0;
    let cap = Style { size: 7.5, ..Style::NOTE };
    figs.chunks(2)
        .enumerate()
        .map(|(row, pair)| {
            let mut ops = Vec::new();
            let mut height: f32 = 0.0;
            for (k, f) in pair.iter().enumerate() {
                let index = first_index + 2 * row + k;
                let (pw, ph) = sizes.get(index).copied().unwrap_or((1, 1));
                let h = w * ph as f32 / pw.max(1) as f32;
                let x = k as f32 * (w + gap);
                ops.push(Op::Image { index, x, y: 0.0, w, h });
                ops.push(Op::Rect { x, y: 0.0, w, h, fill: None, stroke: Some(Stroke::solid(RULE, 0.6)) });
                let mut y = h + 2.0;
                for l in text_units(fonts, &Text::plain(f.caption.clone()), cap, 0.0, w) {
                    ops.extend(l.ops.iter().map(|o| o.shifted(x, y)));
                    y += l.height;
                }
                height = height.max(y + 8.0);
            }
            Unit { height, ops }
        })
        .collect()
}

/// The heading's size and the space above it.
fn heading(fonts: &mut Fonts, level: u8, text: &str) -> Placed {
    let (size, before) = match level {
        1 => (16.0, 0.0),
        2 => (12.5, 14.0),
        _ => (10.5, 8.0),
    };
    let style = Style { size, colour: INK, bold: true, leading: 1.25 };
    let lines = text_units(fonts, &Text::plain(text), style, 0.0, WIDTH);
    let mut unit = Unit::default();
    for l in lines {
        unit.ops.extend(l.ops.iter().map(|o| o.shifted(0.0, unit.height)));
        unit.height += l.height;
    }
    if level == 2 {
        unit.ops.push(Op::Line { points: vec![(0.0, unit.height + 1.0), (WIDTH, unit.height + 1.0)], stroke: Stroke::solid(RULE, 1.5) });
        unit.height += 4.0;
    }
    unit.height += 2.0;
    Placed::Heading { space_before: before, unit }
}

/// Lays out one block. `figure_index` is the index of the block's first picture among all the
/// document's pictures, `sizes` their pixel sizes.
pub fn block(fonts: &mut Fonts, b: &Block, figure_index: usize, sizes: &[(u32, u32)]) -> Placed {
    let flow = |units, space_before| Placed::Flow { space_before, units, frame: None };
    match b {
        Block::Heading { level, text } => heading(fonts, *level, text),
        Block::Paragraph(t) => flow(text_units(fonts, t, Style::BODY, 0.0, WIDTH), 5.0),
        Block::Note(t) => flow(text_units(fonts, t, Style::NOTE, 0.0, WIDTH), 4.0),
        Block::List(items) => flow(bulleted(fonts, items, Style::BODY, WIDTH), 4.0),
        Block::Warnings { title, items } => {
            let pad = 6.0;
            let mut units = text_units(fonts, &Text::bold(title.clone()), Style::BODY, 0.0, WIDTH - 2.0 * pad);
            let lines: Vec<Text> = items.iter().map(crate::html::warning_text).collect();
            units.extend(bulleted(fonts, &lines, Style { size: 8.2, leading: 1.25, ..Style::BODY }, WIDTH - 2.0 * pad));
            Placed::Flow { space_before: 8.0, units, frame: Some(Frame { fill: Rgb(0xff, 0xf4, 0xd6), border: Rgb(0xe0, 0xb8, 0x4a), pad }) }
        }
        Block::KeyValue(kv) => {
            let mut t = Table::headless();
            for (k, v) in kv {
                t.row([crate::Cell::new(k.as_str()), crate::Cell::new(v.clone())]);
            }
            table(fonts, &t)
        }
        Block::Table(t) => table(fonts, t),
        Block::Figures(f) => flow(figures(fonts, f, figure_index, sizes), 6.0),
        Block::Plot(p) => {
            let s = crate::plot::scene(p);
            let k = (WIDTH / s.width as f32).min(1.0);
            flow(vec![Unit { height: s.height as f32 * k + 4.0, ops: scene_ops(&s, k, fonts) }], 6.0)
        }
        Block::PageBreak => Placed::PageBreak,
    }
}

fn table(fonts: &mut Fonts, t: &Table) -> Placed {
    let widths = column_widths(fonts, t, WIDTH);
    let header = (!t.header.is_empty()).then(|| table_row(fonts, &t.header, &widths, true));
    let rows = t.rows.iter().map(|r| table_row(fonts, r, &widths, false)).collect();
    Placed::Table { space_before: 6.0, header, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_and_cjk_anywhere() {
        let mut f = Fonts::new().unwrap();
        let t = Text::plain("one two three four five six seven eight nine ten");
        let lines = wrap(&mut f, &t, Style::BODY, 80.0);
        assert!(lines.len() > 2, "{lines:?}");
        let rejoined: Vec<String> = lines.iter().map(|l| l.iter().map(|p| p.1.as_str()).collect()).collect();
        assert_eq!(rejoined.join(" "), "one two three four five six seven eight nine ten", "no word is cut or lost");
        for l in &lines {
            let (x, s, b) = l.last().unwrap();
            assert!(x + f.width(s, *b) * Style::BODY.size <= 80.0 + 1e-3, "{l:?}");
        }
        // A bold word in the middle is its own piece on its line.
        let lines = wrap(&mut f, &Text::plain("a ").and_bold("b").and(" c"), Style::BODY, 500.0);
        assert_eq!(lines[0].iter().map(|p| (p.1.as_str(), p.2)).collect::<Vec<_>>(), [("a ", false), ("b", true), (" c", false)]);
    }
}

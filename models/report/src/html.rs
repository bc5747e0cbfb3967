//! A [`Document`] as one self-contained HTML page: inline CSS, inline SVG plots, PNG pictures as
//! data URIs; no script, no network.
//!
//! The page is written by askama from `templates/page.html`. askama compiles the template with
//! the crate (a field renamed here fails the build, not a report) and escapes every value it
//! inserts (HTML escaping is on for `.html` templates): a case called `<script>` is shown as
//! text. Plots are laid out once by [`crate::plot::scene`] and written as SVG elements by the
//! same template; only their numbers are formatted here.

use askama::Template;
use base64::Engine as _;

use crate::document::{Block, CellStyle, Document, SpanStyle, Table, Text, Warning};
use crate::error::Result;
use crate::plot::{Pen, Shape, scene};

const CSS: &str = ".page-break{break-after:page}body{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:2px solid #ccd;padding-bottom:3px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccd;padding:3px 8px;text-align:left;font-size:13px}
th{background:#eef}.kv th{background:none;font-weight:normal}.warn{background:#fff4d6;border:1px solid #e0b84a;padding:8px 12px;margin:10px 0}.sub{color:#555}
.pics{display:grid;grid-template-columns:repeat(2,1fr);gap:12px}.pics figure{margin:0}.pics img{width:100%;border:1px solid #ccd}
figcaption{font-size:12px;color:#555}.ok{color:#2a7}.bad{color:#c33}
.m-short{background:#d9534f;color:#fff}.m-close{background:#f0ad4e}.m-clear{background:#5cb85c;color:#fff}.m-none{background:#7a8ca3;color:#fff}
.warn li{font-size:14px;margin:2px 0}";

/// A pen as SVG attributes.
struct SvgPen {
    colour: String,
    width: String,
    dash: Option<String>,
}

impl From<Pen> for SvgPen {
    fn from(p: Pen) -> Self {
        Self { colour: p.colour.hex(), width: format!("{}", p.width), dash: p.dash.map(|(a, b)| format!("{a} {b}")) }
    }
}

/// A plot's shape with its numbers formatted (0.1 px).
enum SvgShape<'a> {
    Rect { x: String, y: String, w: String, h: String, fill: String, stroke: Option<SvgPen>, class: Option<&'static str> },
    Path { d: String, stroke: SvgPen, class: Option<&'static str> },
    Circle { cx: String, cy: String, r: String, stroke: SvgPen },
    Text { x: String, y: String, size: String, bold: bool, fill: String, anchor: &'static str, rotate: Option<String>, text: &'a str },
}

struct Svg<'a> {
    width: String,
    height: String,
    shapes: Vec<SvgShape<'a>>,
}

struct HFigure<'a> {
    caption: &'a str,
    data: String,
}

enum HBlock<'a> {
    Heading { level: u8, text: &'a str },
    Paragraph(&'a Text),
    Note(&'a Text),
    Warnings { title: &'a str, items: Vec<Text> },
    List(&'a [Text]),
    KeyValue(&'a [(String, Text)]),
    Table(&'a Table),
    Figures(Vec<HFigure<'a>>),
    Plot(Svg<'a>),
    PageBreak,
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    title: &'a str,
    css: &'static str,
    blocks: Vec<HBlock<'a>>,
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

fn svg<'a>(s: &'a crate::plot::Scene) -> Svg<'a> {
    let shapes = s
        .shapes
        .iter()
        .map(|x| match x {
            Shape::Rect { x, y, w, h, fill, stroke, role } => {
                SvgShape::Rect { x: px(*x), y: px(*y), w: px(*w), h: px(*h), fill: fill.map_or_else(|| "none".to_string(), |c| c.hex()), stroke: stroke.map(SvgPen::from), class: *role }
            }
            Shape::Line { points, pen, role } => {
                let d = points.iter().enumerate().map(|(i, (x, y))| format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" })).collect::<Vec<_>>().join(" ");
                SvgShape::Path { d, stroke: SvgPen::from(*pen), class: *role }
            }
            Shape::Circle { cx, cy, r, pen } => SvgShape::Circle { cx: px(*cx), cy: px(*cy), r: px(*r), stroke: SvgPen::from(*pen) },
            Shape::Text { x, y, text, size, bold, colour, anchor, vertical } => SvgShape::Text {
                x: px(*x),
                y: px(*y),
                size: format!("{size}"),
                bold: *bold,
                fill: colour.hex(),
                anchor: anchor.svg(),
                rotate: vertical.then(|| format!("rotate(-90 {x:.1} {y:.1})")),
                text,
            },
        })
        .collect();
    Svg { width: format!("{}", s.width), height: format!("{}", s.height), shapes }
}

/// A warning as a line with its structures in bold.
pub(crate) fn warning_text(w: &Warning) -> Text {
    let line = w.line();
    if w.structures.is_empty() {
        return Text::plain(line);
    }
    let (names, rest) = line.split_at(line.len() - w.cause.len() - w.consequence.as_ref().map_or(0, |c| c.len() + " — ".len()));
    Text::bold(names.trim_end_matches(": ")).and(": ").and(rest)
}

/// The document as an HTML page.
///
/// # Errors
/// The template engine failed (not expected: the template is checked when coxa is built).
pub fn render(doc: &Document) -> Result<String> {
    let scenes: Vec<_> = doc.blocks.iter().map(|b| if let Block::Plot(p) = b { Some(scene(p)) } else { None }).collect();
    let blocks = doc
        .blocks
        .iter()
        .zip(&scenes)
        .map(|(b, s)| match b {
            Block::Heading { level, text } => HBlock::Heading { level: (*level).clamp(1, 6), text },
            Block::Paragraph(t) => HBlock::Paragraph(t),
            Block::Note(t) => HBlock::Note(t),
            Block::Warnings { title, items } => HBlock::Warnings { title, items: items.iter().map(warning_text).collect() },
            Block::List(items) => HBlock::List(items),
            Block::KeyValue(kv) => HBlock::KeyValue(kv),
            Block::Table(t) => HBlock::Table(t),
            Block::Figures(f) => HBlock::Figures(f.iter().map(|f| HFigure { caption: &f.caption, data: base64::engine::general_purpose::STANDARD.encode(&f.png) }).collect()),
            Block::Plot(_) => HBlock::Plot(svg(s.as_ref().expect("a plot's scene is laid out above"))),
            Block::PageBreak => HBlock::PageBreak,
        })
        .collect();
    let mut html = Page { title: &doc.title, css: CSS, blocks }.render()?;
    html.push('\n');
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Cell, Figure};
    use crate::plot::{Bar, Plot};

    #[test]
    fn every_value_is_escaped_and_the_page_is_self_contained() {
        let evil = "<script>alert(1)</script> & \"quotes\"";
        let mut d = Document::new(evil);
        d.push(Block::Heading { level: 1, text: evil.into() });
        d.push(Block::Paragraph(Text::plain(evil).and_bold("b").and_code("c.csv")));
        let mut t = Table::with_header(["a"]).id(evil);
        t.row([Cell::new(evil)]);
        d.push(Block::Table(t));
        d.push(Block::Figures(vec![Figure { png: vec![1, 2, 3], caption: evil.into() }]));
        d.push(Block::Plot(Plot::Bars {
            title: evil.into(),
            bars: vec![Bar { label: evil.into(), value: 1.0, target: None, colour: crate::Rgb(1, 2, 3), note: String::new() }],
            max: 10.0,
            unit: "°".into(),
        }));
        d.push(Block::Warnings { title: "Warnings".into(), items: vec![Warning { cause: evil.into(), structures: vec!["femur_left".into()], consequence: None }] });
        d.push(Block::List(vec![Text::plain(evil)]));
        d.push(Block::KeyValue(vec![(evil.into(), Text::plain("v"))]));
        let h = render(&d).unwrap();
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("\"quotes\""), "quotes escaped");
        assert_eq!(h.matches("&#60;script&#62;alert(1)&#60;/script&#62;").count(), 12, "title, heading, paragraph, id, cell, alt, caption, plot title, bar label, warning, list item, key: {h}");
        assert!(h.contains("<b>b</b><code>c.csv</code>") && h.contains("data:image/png;base64,AQID") && h.contains("<b>femur_left</b>: "));
    }
}

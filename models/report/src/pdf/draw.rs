//! Pages of drawing operations written with krilla.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke, StrokeDash};
use krilla::surface::Surface;

use super::PAGE;
use super::fonts::Fonts;
use super::layout::{self, Op};
use crate::document::Rgb;
use crate::error::{Error, Result};

fn colour(c: Rgb) -> rgb::Color {
    rgb::Color::new(c.0, c.1, c.2)
}

fn fill(c: Rgb) -> Fill {
    Fill { paint: colour(c).into(), opacity: NormalizedF32::ONE, rule: FillRule::NonZero }
}

fn stroke(s: layout::Stroke) -> Stroke {
    Stroke { paint: colour(s.colour).into(), width: s.width, dash: s.dash.map(|(a, b)| StrokeDash { array: vec![a, b], offset: 0.0 }), ..Stroke::default() }
}

/// A circle as four cubic Béziers.
fn circle(cx: f32, cy: f32, r: f32) -> Option<krilla::geom::Path> {
    const K: f32 = 0.552_284_8;
    let mut pb = PathBuilder::new();
    pb.move_to(cx + r, cy);
    pb.cubic_to(cx + r, cy + K * r, cx + K * r, cy + r, cx, cy + r);
    pb.cubic_to(cx - K * r, cy + r, cx - r, cy + K * r, cx - r, cy);
    pb.cubic_to(cx - r, cy - K * r, cx - K * r, cy - r, cx, cy - r);
    pb.cubic_to(cx + K * r, cy - r, cx + r, cy - K * r, cx + r, cy);
    pb.close();
    pb.finish()
}

fn text(s: &mut Surface<'_>, fonts: &mut Fonts, x: f32, y: f32, t: &str, bold: bool, size: f32) {
    let mut cx = x;
    for run in fonts.runs(t, bold) {
        let glyphs = fonts.shape(run.face, &run.text);
        let advance: f32 = glyphs.iter().map(|g| g.x_advance).sum::<f32>() * size;
        s.draw_glyphs(Point::from_xy(cx, y), &glyphs, fonts.font(run.face), &run.text, size, false);
        cx += advance;
    }
}

fn op(s: &mut Surface<'_>, fonts: &mut Fonts, images: &[Image], o: &Op) {
    match o {
        Op::Text { x, y, text: t, bold, size, colour: c, vertical } => {
            s.set_stroke(None);
            s.set_fill(Some(fill(*c)));
            if *vertical {
                s.push_transform(&Transform::from_row(0.0, -1.0, 1.0, 0.0, *x, *y));
                text(s, fonts, 0.0, 0.0, t, *bold, *size);
                s.pop();
            } else {
                text(s, fonts, *x, *y, t, *bold, *size);
            }
        }
        Op::Rect { x, y, w, h, fill: f, stroke: st } => {
            let Some(r) = Rect::from_xywh(*x, *y, w.max(0.01), h.max(0.01)) else { return };
            let mut pb = PathBuilder::new();
            pb.push_rect(r);
            let Some(path) = pb.finish() else { return };
            s.set_fill(f.map(fill));
            s.set_stroke(st.map(stroke));
            s.draw_path(&path);
        }
        Op::Line { points, stroke: st } => {
            let mut pb = PathBuilder::new();
            for (i, (x, y)) in points.iter().enumerate() {
                if i == 0 {
                    pb.move_to(*x, *y);
                } else {
                    pb.line_to(*x, *y);
                }
            }
            let Some(path) = pb.finish() else { return };
            s.set_fill(None);
            s.set_stroke(Some(stroke(*st)));
            s.draw_path(&path);
        }
        Op::Circle { cx, cy, r, colour: c, width } => {
            let Some(path) = circle(*cx, *cy, *r) else { return };
            s.set_fill(None);
            s.set_stroke(Some(stroke(layout::Stroke::solid(*c, *width))));
            s.draw_path(&path);
        }
        Op::Image { index, x, y, w, h } => {
            let (Some(img), Some(size)) = (images.get(*index), Size::from_wh(*w, *h)) else { return };
            s.push_transform(&Transform::from_translate(*x, *y));
            s.draw_image(img.clone(), size);
            s.pop();
        }
    }
}

/// `2026-11-27T17:41:27Z` (RFC 3339, UTC, as coxa writes it) as the PDF's date; `None` for
/// anything else.
pub fn pdf_date(rfc3339_utc: &str) -> Option<krilla::metadata::DateTime> {
    let b = rfc3339_utc.as_bytes();
    let shape = b.len() == 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z';
    if !shape {
        return None;
    }
    let n = |r: std::ops::Range<usize>| rfc3339_utc.get(r).and_then(|s| s.parse::<u16>().ok());
    let small = |r: std::ops::Range<usize>, hi: u16| n(r).filter(|v| *v <= hi).and_then(|v| u8::try_from(v).ok());
    let (y, mo, d, h, mi, s) = (n(0..4)?, small(5..7, 12)?, small(8..10, 31)?, small(11..13, 23)?, small(14..16, 59)?, small(17..19, 59)?);
    (mo >= 1 && d >= 1).then(|| krilla::metadata::DateTime::new(y).month(mo).day(d).hour(h).minute(mi).second(s).utc_offset_hour(0).utc_offset_minute(0))
}

/// The pages as a PDF file titled `title`, created at `created_utc` (RFC 3339, UTC).
pub fn pdf(fonts: &mut Fonts, pages: &[Vec<Op>], images: &[Image], title: &str, created_utc: Option<&str>) -> Result<Vec<u8>> {
    let mut doc = krilla::Document::new();
    let settings = PageSettings::from_wh(PAGE.0, PAGE.1).ok_or_else(|| Error::Pdf("the page size".into()))?;
    for ops in pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        for o in ops {
            op(&mut s, fonts, images, o);
        }
        s.finish();
        page.finish();
    }
    let mut meta = Metadata::new().title(title.to_string()).creator("coxa".to_string()).producer(concat!("coxa ", env!("CARGO_PKG_VERSION"), " (krilla)").to_string());
    if let Some(date) = created_utc.and_then(pdf_date) {
        meta = meta.creation_date(date);
    }
    doc.set_metadata(meta);
    doc.finish().map_err(|e| Error::Pdf(format!("{e:?}")))
}

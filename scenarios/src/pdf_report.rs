//! The case report as PDF (issue 18, part 4): the same content as `report.html`, printable on
//! A4, with page breaks that keep a table (and a plot, a picture pair, a heading with what
//! follows it) whole.
//!
//! The PDF is made from the report's own HTML, so the two never differ: coxa's HTML uses a
//! small, fixed set of elements (headings, paragraphs, lists, tables, figures with PNG data
//! URIs, inline SVG plots of rectangles, lines, polylines, circles and text). A tokenizer for
//! that subset (our own output, not arbitrary HTML) and a layout of blocks on pages are written
//! here; the PDF objects are written with `pdf-writer` (typst's low-level writer). Text is set
//! in the standard Helvetica fonts (WinAnsi encoding), so any PDF reader extracts it; no font
//! file is embedded and no browser is needed.
//!
//! Page breaks: a table that fits on one page is never split (it moves to the next page); a
//! table longer than a page is split between rows and its header row repeated. A heading moves
//! with the first block after it; a plot or a row of pictures is never split.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

// ---------------------------------------------------------------------------------------------
// HTML subset -> blocks

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Start(String, HashMap<String, String>, bool),
    End(String),
    Text(String),
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let Some(e) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..e];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some(' '),
            _ => entity.strip_prefix("#x").and_then(|h| u32::from_str_radix(h, 16).ok()).or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok())).and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn tokenize(html: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!") {
            let e = after.find('>').context("an unterminated <! in the report HTML")?;
            rest = &after[e + 1..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let e = after.find('>').context("an unterminated end tag in the report HTML")?;
            out.push(Token::End(after[..e].trim().to_ascii_lowercase()));
            rest = &after[e + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            // A start tag: name, then attributes name="value" (values may hold '>').
            let name_end = after.find(|c: char| c.is_whitespace() || c == '>' || c == '/').context("a bad tag in the report HTML")?;
            let name = after[..name_end].to_ascii_lowercase();
            let mut attrs = HashMap::new();
            let mut s = &after[name_end..];
            let self_closing;
            loop {
                s = s.trim_start();
                if let Some(r) = s.strip_prefix("/>") {
                    self_closing = true;
                    s = r;
                    break;
                }
                if let Some(r) = s.strip_prefix('>') {
                    self_closing = false;
                    s = r;
                    break;
                }
                let eq = s.find(|c: char| c == '=' || c.is_whitespace() || c == '>' || c == '/').context("a bad attribute in the report HTML")?;
                let key = s[..eq].to_ascii_lowercase();
                s = &s[eq..];
                if let Some(r) = s.strip_prefix("=\"") {
                    let q = r.find('"').context("an unterminated attribute value in the report HTML")?;
                    let _ = attrs.insert(key, unescape(&r[..q]));
                    s = &r[q + 1..];
                } else {
                    let _ = attrs.insert(key, String::new());
                    if s.starts_with('/') && !s.starts_with("/>") {
                        s = &s[1..];
                    }
                }
            }
            // Raw text elements: their content is not markup.
            if (name == "style" || name == "script" || name == "title") && !self_closing {
                let close = format!("</{name}>");
                let e = s.find(&close).with_context(|| format!("no {close} in the report HTML"))?;
                if name == "title" {
                    out.push(Token::Start(name.clone(), attrs, false));
                    out.push(Token::Text(unescape(&s[..e])));
                    out.push(Token::End(name));
                }
                rest = &s[e + close.len()..];
                continue;
            }
            out.push(Token::Start(name, attrs, self_closing));
            rest = s;
        } else {
            let e = rest.find('<').unwrap_or(rest.len());
            out.push(Token::Text(unescape(&rest[..e])));
            rest = &rest[e..];
        }
    }
    Ok(out)
}

/// An RGB colour, 0..1.
type Rgb = [f32; 3];

const BLACK: Rgb = [0.13, 0.13, 0.13];
const GREY: Rgb = [0.33, 0.33, 0.33];

fn parse_colour(s: &str) -> Option<Rgb> {
    let s = s.trim();
    let hex = s.strip_prefix('#')?;
    let v: Vec<u8> = match hex.len() {
        3 => hex.chars().map(|c| c.to_digit(16).map(|d| (d * 17) as u8)).collect::<Option<_>>()?,
        6 => (0..3).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect::<Option<_>>()?,
        _ => return None,
    };
    Some([f32::from(v[0]) / 255.0, f32::from(v[1]) / 255.0, f32::from(v[2]) / 255.0])
}

fn named_colour(s: &str) -> Option<Rgb> {
    match s.trim() {
        "none" | "transparent" => None,
        "black" => Some([0.0; 3]),
        "white" => Some([1.0; 3]),
        "red" => Some([0.85, 0.2, 0.2]),
        "green" => Some([0.2, 0.6, 0.2]),
        "blue" => Some([0.2, 0.3, 0.8]),
        "grey" | "gray" => Some([0.5; 3]),
        other => parse_colour(other),
    }
}

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    text: String,
    bold: bool,
    colour: Rgb,
}

#[derive(Debug, Clone, PartialEq)]
struct Cell {
    runs: Vec<Run>,
    header: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum SvgItem {
    Rect { x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb>, stroke: Option<Rgb>, width: f32 },
    Line { points: Vec<(f32, f32)>, closed: bool, fill: Option<Rgb>, stroke: Option<Rgb>, width: f32 },
    Circle { cx: f32, cy: f32, r: f32, fill: Option<Rgb>, stroke: Option<Rgb>, width: f32 },
    Text { x: f32, y: f32, size: f32, bold: bool, anchor: u8, fill: Rgb, text: String },
}

#[derive(Debug, Clone, PartialEq)]
struct Picture {
    png: Vec<u8>,
    caption: Vec<Run>,
}

#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(u8, String),
    Para { runs: Vec<Run>, size: f32, warn: bool, bullet: bool },
    Table(Vec<Vec<Cell>>),
    Svg { width: f32, height: f32, items: Vec<SvgItem> },
    Pictures(Vec<Picture>),
}

fn attr_f(a: &HashMap<String, String>, k: &str) -> f32 {
    a.get(k).and_then(|v| v.trim().trim_end_matches("px").parse::<f32>().ok()).filter(|v| v.is_finite()).unwrap_or(0.0)
}

fn svg_paint(a: &HashMap<String, String>, key: &str, default: Option<Rgb>) -> Option<Rgb> {
    match a.get(key) {
        Some(v) => named_colour(v),
        None => default,
    }
}

fn path_points(d: &str) -> (Vec<(f32, f32)>, bool) {
    let mut pts = Vec::new();
    let mut closed = false;
    let cleaned: String = d.chars().map(|c| if c == ',' { ' ' } else { c }).collect();
    let mut nums: Vec<f32> = Vec::new();
    for tok in cleaned.split_whitespace() {
        let (cmd, num) = match tok.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => (Some(c), &tok[1..]),
            _ => (None, tok),
        };
        if cmd == Some('Z') || cmd == Some('z') {
            closed = true;
        }
        if let Ok(v) = num.parse::<f32>() {
            nums.push(v);
            if nums.len() == 2 {
                pts.push((nums[0], nums[1]));
                nums.clear();
            }
        }
    }
    (pts, closed)
}

/// Blocks of the report HTML (the subset `crate::report` writes) and the document title.
fn blocks(html: &str) -> Result<(String, Vec<Block>)> {
    let tokens = tokenize(html)?;
    let mut out = Vec::new();
    let mut title = String::from("coxa report");
    let mut runs: Vec<Run> = Vec::new();
    let mut bold = 0usize;
    let mut colour_stack: Vec<Rgb> = vec![BLACK];
    let mut in_warn = false;
    let mut div_stack: Vec<String> = Vec::new();
    let mut table: Option<Vec<Vec<Cell>>> = None;
    let mut cell_header: Option<bool> = None;
    let mut heading: Option<u8> = None;
    let mut pictures: Option<Vec<Picture>> = None;
    let mut picture_png: Option<Vec<u8>> = None;
    let mut para_size = 9.5;
    let mut i = 0;
    let flush_para = |runs: &mut Vec<Run>, out: &mut Vec<Block>, size: f32, warn: bool, bullet: bool| {
        if runs.iter().any(|r| !r.text.trim().is_empty()) {
            out.push(Block::Para { runs: std::mem::take(runs), size, warn, bullet });
        }
        runs.clear();
    };
    while i < tokens.len() {
        match &tokens[i] {
            Token::Text(t) => {
                let colour = *colour_stack.last().unwrap_or(&BLACK);
                runs.push(Run { text: t.clone(), bold: bold > 0 || cell_header == Some(true), colour });
            }
            Token::Start(name, a, self_closing) => {
                let class = a.get("class").map(String::as_str).unwrap_or("");
                match name.as_str() {
                    "title" => {
                        if let Some(Token::Text(t)) = tokens.get(i + 1) {
                            title = t.clone();
                        }
                        i += 2;
                    }
                    "h1" | "h2" | "h3" => {
                        flush_para(&mut runs, &mut out, para_size, in_warn, false);
                        heading = Some(name.as_bytes()[1] - b'0');
                    }
                    "b" | "strong" => bold += 1,
                    "p" | "li" | "figcaption" | "span" | "td" | "th" => {
                        if name == "p" || name == "li" {
                            flush_para(&mut runs, &mut out, para_size, in_warn, false);
                        }
                        let c = match class {
                            "sub" => Some(GREY),
                            "ok" => parse_colour("#2a7"),
                            "bad" => parse_colour("#c33"),
                            _ => None,
                        };
                        colour_stack.push(c.unwrap_or(*colour_stack.last().unwrap_or(&BLACK)));
                        if name == "figcaption" {
                            para_size = 8.0;
                        }
                        if name == "td" || name == "th" {
                            cell_header = Some(name == "th");
                            runs.clear();
                        }
                    }
                    "br" => runs.push(Run { text: "\n".into(), bold: false, colour: BLACK }),
                    "div" => {
                        flush_para(&mut runs, &mut out, para_size, in_warn, false);
                        div_stack.push(class.to_string());
                        if class == "warn" {
                            in_warn = true;
                        }
                        if class == "pics" {
                            pictures = Some(Vec::new());
                        }
                    }
                    "table" => {
                        flush_para(&mut runs, &mut out, para_size, in_warn, false);
                        table = Some(Vec::new());
                    }
                    "tr" => {
                        if let Some(t) = table.as_mut() {
                            t.push(Vec::new());
                        }
                    }
                    "img" => {
                        let src = a.get("src").map(String::as_str).unwrap_or("");
                        let data = src.strip_prefix("data:image/png;base64,").with_context(|| format!("a picture that is not an embedded PNG ({})", src.chars().take(40).collect::<String>()))?;
                        picture_png = Some(base64_decode(data).context("a picture's base64 data is broken")?);
                        if pictures.is_none() {
                            // A lone picture: a block of its own.
                            out.push(Block::Pictures(vec![Picture { png: picture_png.take().unwrap_or_default(), caption: Vec::new() }]));
                        }
                    }
                    "svg" => {
                        flush_para(&mut runs, &mut out, para_size, in_warn, false);
                        let (mut w, mut h) = (attr_f(a, "width"), attr_f(a, "height"));
                        if let Some(vb) = a.get("viewbox") {
                            let v: Vec<f32> = vb.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                            if v.len() == 4 {
                                (w, h) = (v[2], v[3]);
                            }
                        }
                        let base_size = a.get("font-size").and_then(|v| v.parse().ok()).unwrap_or(12.0);
                        let mut items = Vec::new();
                        let mut j = i + 1;
                        while j < tokens.len() && tokens[j] != Token::End("svg".into()) {
                            if let Token::Start(el, b, _) = &tokens[j] {
                                let width = b.get("stroke-width").and_then(|v| v.parse().ok()).unwrap_or(1.0);
                                match el.as_str() {
                                    "rect" => items.push(SvgItem::Rect {
                                        x: attr_f(b, "x"),
                                        y: attr_f(b, "y"),
                                        w: attr_f(b, "width"),
                                        h: attr_f(b, "height"),
                                        fill: svg_paint(b, "fill", Some([0.0; 3])),
                                        stroke: svg_paint(b, "stroke", None),
                                        width,
                                    }),
                                    "line" => items.push(SvgItem::Line {
                                        points: vec![(attr_f(b, "x1"), attr_f(b, "y1")), (attr_f(b, "x2"), attr_f(b, "y2"))],
                                        closed: false,
                                        fill: None,
                                        stroke: svg_paint(b, "stroke", None),
                                        width,
                                    }),
                                    "polyline" | "polygon" | "path" => {
                                        let (points, closed) =
                                            if el == "path" { path_points(b.get("d").map(String::as_str).unwrap_or("")) } else { path_points(b.get("points").map(String::as_str).unwrap_or("")) };
                                        items.push(SvgItem::Line {
                                            points,
                                            closed: closed || el == "polygon",
                                            fill: svg_paint(b, "fill", Some([0.0; 3])),
                                            stroke: svg_paint(b, "stroke", None),
                                            width,
                                        });
                                    }
                                    "circle" => items.push(SvgItem::Circle {
                                        cx: attr_f(b, "cx"),
                                        cy: attr_f(b, "cy"),
                                        r: attr_f(b, "r"),
                                        fill: svg_paint(b, "fill", Some([0.0; 3])),
                                        stroke: svg_paint(b, "stroke", None),
                                        width,
                                    }),
                                    "text" => {
                                        let mut text = String::new();
                                        let mut k = j + 1;
                                        while k < tokens.len() && tokens[k] != Token::End("text".into()) {
                                            if let Token::Text(t) = &tokens[k] {
                                                text.push_str(t);
                                            }
                                            k += 1;
                                        }
                                        items.push(SvgItem::Text {
                                            x: attr_f(b, "x"),
                                            y: attr_f(b, "y"),
                                            size: b.get("font-size").and_then(|v| v.parse().ok()).unwrap_or(base_size),
                                            bold: b.get("font-weight").is_some_and(|w| w == "bold"),
                                            anchor: match b.get("text-anchor").map(String::as_str) {
                                                Some("middle") => 1,
                                                Some("end") => 2,
                                                _ => 0,
                                            },
                                            fill: svg_paint(b, "fill", Some(BLACK)).unwrap_or(BLACK),
                                            text,
                                        });
                                        j = k;
                                    }
                                    _ => {}
                                }
                            }
                            j += 1;
                        }
                        if w > 0.0 && h > 0.0 {
                            out.push(Block::Svg { width: w, height: h, items });
                        }
                        i = j;
                    }
                    _ => {}
                }
                let _ = self_closing;
            }
            Token::End(name) => match name.as_str() {
                "h1" | "h2" | "h3" => {
                    let text: String = runs.iter().map(|r| r.text.as_str()).collect();
                    runs.clear();
                    if let Some(level) = heading.take() {
                        out.push(Block::Heading(level, text.trim().to_string()));
                    }
                }
                "b" | "strong" => bold = bold.saturating_sub(1),
                "p" | "li" => {
                    let _ = colour_stack.pop();
                    flush_para(&mut runs, &mut out, para_size, in_warn, name == "li");
                }
                "span" => {
                    let _ = colour_stack.pop();
                }
                "figcaption" => {
                    let _ = colour_stack.pop();
                    para_size = 9.5;
                    if let (Some(p), Some(png)) = (pictures.as_mut(), picture_png.take()) {
                        p.push(Picture { png, caption: std::mem::take(&mut runs) });
                    }
                    runs.clear();
                }
                "figure" => {
                    if let (Some(p), Some(png)) = (pictures.as_mut(), picture_png.take()) {
                        p.push(Picture { png, caption: Vec::new() });
                    }
                }
                "td" | "th" => {
                    let _ = colour_stack.pop();
                    if let Some(row) = table.as_mut().and_then(|t| t.last_mut()) {
                        row.push(Cell { runs: std::mem::take(&mut runs), header: name == "th" });
                    }
                    runs.clear();
                    cell_header = None;
                }
                "table" => {
                    if let Some(t) = table.take() {
                        let t: Vec<Vec<Cell>> = t.into_iter().filter(|r| !r.is_empty()).collect();
                        if !t.is_empty() {
                            out.push(Block::Table(t));
                        }
                    }
                }
                "div" => {
                    flush_para(&mut runs, &mut out, para_size, in_warn, false);
                    match div_stack.pop().as_deref() {
                        Some("warn") => in_warn = false,
                        Some("pics") => {
                            if let Some(p) = pictures.take().filter(|p| !p.is_empty()) {
                                out.push(Block::Pictures(p));
                            }
                        }
                        _ => {}
                    }
                }
                "body" => flush_para(&mut runs, &mut out, para_size, in_warn, false),
                _ => {}
            },
        }
        i += 1;
    }
    flush_para(&mut runs, &mut out, para_size, in_warn, false);
    Ok((title, out))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed: &[u8] = {
        let n = bytes.iter().rev().take_while(|&&c| c == b'=').count();
        &bytes[..bytes.len() - n]
    };
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.chunks(4) {
        let mut n = 0u32;
        for (k, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * k);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Text: WinAnsi encoding and Helvetica's widths (Adobe's AFM, 1/1000 em)

/// Helvetica and Helvetica-Bold advance widths of ASCII 32..=126.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611,
    778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833,
    556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611,
    778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889,
    611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// A character in WinAnsi (bytes) with its width in 1/1000 em; characters WinAnsi lacks are
/// spelled in ASCII (`≤` as `<=`, `→` as `->`), anything else becomes `?`.
fn winansi(c: char, bold: bool) -> Vec<(u8, u16)> {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let ascii = |s: &str| s.bytes().map(|b| (b, table[usize::from(b - 32)])).collect::<Vec<_>>();
    match c {
        ' '..='~' => ascii(&c.to_string()),
        '\u{a0}' => ascii(" "),
        '°' => vec![(0xB0, 400)],
        '±' => vec![(0xB1, 584)],
        '²' => vec![(0xB2, 333)],
        '³' => vec![(0xB3, 333)],
        'µ' | 'μ' => vec![(0xB5, if bold { 611 } else { 556 })],
        '·' => vec![(0xB7, 278)],
        '×' => vec![(0xD7, 584)],
        '–' => vec![(0x96, 556)],
        '—' => vec![(0x97, 1000)],
        '‘' => vec![(0x91, if bold { 278 } else { 222 })],
        '’' => vec![(0x92, if bold { 278 } else { 222 })],
        '“' => vec![(0x93, 500)],
        '”' => vec![(0x94, 500)],
        '•' => vec![(0x95, 350)],
        '…' => vec![(0x85, 1000)],
        'é' => vec![(0xE9, 556)],
        'è' => vec![(0xE8, 556)],
        'ä' => vec![(0xE4, 556)],
        'ö' => vec![(0xF6, if bold { 611 } else { 556 })],
        'ü' => vec![(0xFC, if bold { 611 } else { 556 })],
        '−' => ascii("-"),
        '≤' => ascii("<="),
        '≥' => ascii(">="),
        '→' => ascii("->"),
        '←' => ascii("<-"),
        '≈' => ascii("~"),
        '⁻' => ascii("-"),
        '¹' => vec![(0xB9, 333)],
        _ => ascii("?"),
    }
}

fn encode(s: &str, bold: bool) -> (Vec<u8>, f32) {
    let mut bytes = Vec::with_capacity(s.len());
    let mut w = 0u32;
    for c in s.chars() {
        for (b, cw) in winansi(c, bold) {
            bytes.push(b);
            w += u32::from(cw);
        }
    }
    (bytes, w as f32 / 1000.0)
}

fn text_width(s: &str, bold: bool, size: f32) -> f32 {
    encode(s, bold).1 * size
}

/// A word (or a piece of one) with its style.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    bold: bool,
    colour: Rgb,
    space_before: bool,
}

/// Lines of styled words wrapped to `width` at `size`.
fn wrap(runs: &[Run], width: f32, size: f32) -> Vec<Vec<Word>> {
    let mut words: Vec<Word> = Vec::new();
    let mut pending_space = false;
    let mut forced_breaks = Vec::new();
    for r in runs {
        if r.text == "\n" {
            forced_breaks.push(words.len());
            continue;
        }
        let mut cur = String::new();
        for c in r.text.chars() {
            if c.is_whitespace() {
                if !cur.is_empty() {
                    words.push(Word { text: std::mem::take(&mut cur), bold: r.bold, colour: r.colour, space_before: pending_space });
                }
                pending_space = true;
            } else {
                if cur.is_empty() && !words.is_empty() && !pending_space {
                    // Glued to the previous run's word (e.g. "<b>a</b>b").
                }
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            words.push(Word { text: cur, bold: r.bold, colour: r.colour, space_before: pending_space });
            pending_space = false;
        }
    }
    let space = |w: &Word| if w.space_before { text_width(" ", w.bold, size) } else { 0.0 };
    let mut lines: Vec<Vec<Word>> = vec![Vec::new()];
    let mut x = 0.0;
    for (k, mut w) in words.into_iter().enumerate() {
        if forced_breaks.contains(&k) && !lines.last().is_some_and(Vec::is_empty) {
            lines.push(Vec::new());
            x = 0.0;
        }
        let ww = text_width(&w.text, w.bold, size);
        let sp = if lines.last().is_some_and(Vec::is_empty) { 0.0 } else { space(&w) };
        if x + sp + ww > width && !lines.last().is_some_and(Vec::is_empty) {
            lines.push(Vec::new());
            x = 0.0;
            w.space_before = false;
        } else {
            x += sp;
        }
        // A word longer than the line: broken by characters.
        if ww > width {
            let mut piece = String::new();
            for c in w.text.chars() {
                let next = format!("{piece}{c}");
                if text_width(&next, w.bold, size) + x > width && !piece.is_empty() {
                    lines.last_mut().unwrap_or(&mut Vec::new()).push(Word { text: std::mem::take(&mut piece), ..w.clone() });
                    lines.push(Vec::new());
                    x = 0.0;
                    w.space_before = false;
                    piece.push(c);
                } else {
                    piece = next;
                }
            }
            x += text_width(&piece, w.bold, size);
            if let Some(l) = lines.last_mut() {
                l.push(Word { text: piece, ..w });
            }
            continue;
        }
        x += ww;
        if let Some(l) = lines.last_mut() {
            l.push(w);
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

// ---------------------------------------------------------------------------------------------
// Pages

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 42.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const TOP: f32 = PAGE_H - MARGIN;
const BOTTOM: f32 = MARGIN + 18.0;
const TABLE_SIZE: f32 = 8.0;
const CELL_PAD: f32 = 3.5;

struct Image {
    name: String,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    alpha: Option<Vec<u8>>,
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
    images: Vec<Image>,
    /// Images used per page (index into `images`).
    page_images: Vec<Vec<usize>>,
}

impl Writer {
    fn new() -> Self {
        Self { pages: vec![Content::new()], y: TOP, images: Vec::new(), page_images: vec![Vec::new()] }
    }
    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page")
    }
    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.page_images.push(Vec::new());
        self.y = TOP;
    }
    /// Starts a new page unless `height` fits below the cursor (or the page is empty).
    fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM && self.y < TOP - 1.0 {
            self.new_page();
        }
    }
    fn text(&mut self, x: f32, y: f32, s: &str, bold: bool, size: f32, colour: Rgb) {
        let (bytes, _) = encode(s, bold);
        let c = self.page();
        let _ = c.set_fill_rgb(colour[0], colour[1], colour[2]);
        let _ = c.begin_text();
        let _ = c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
        let _ = c.next_line(x, y);
        let _ = c.show(Str(&bytes));
        let _ = c.end_text();
    }
    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        let c = self.page();
        let _ = c.set_fill_rgb(colour[0], colour[1], colour[2]);
        let _ = c.rect(x, y, w, h);
        let _ = c.fill_nonzero();
    }
    fn stroke_line(&mut self, pts: &[(f32, f32)], colour: Rgb, width: f32) {
        if pts.len() < 2 {
            return;
        }
        let c = self.page();
        let _ = c.set_stroke_rgb(colour[0], colour[1], colour[2]);
        let _ = c.set_line_width(width);
        let _ = c.move_to(pts[0].0, pts[0].1);
        for p in &pts[1..] {
            let _ = c.line_to(p.0, p.1);
        }
        let _ = c.stroke();
    }
    /// Writes wrapped lines at the cursor's left `x`, top at `top`; returns the height used.
    fn lines(&mut self, lines: &[Vec<Word>], x: f32, top: f32, size: f32) -> f32 {
        let leading = size * 1.3;
        for (k, line) in lines.iter().enumerate() {
            let base = top - size - k as f32 * leading + 0.2 * size;
            let mut cx = x;
            for w in line {
                if w.space_before {
                    cx += text_width(" ", w.bold, size);
                }
                self.text(cx, base, &w.text, w.bold, size, w.colour);
                cx += text_width(&w.text, w.bold, size);
            }
        }
        lines.len() as f32 * leading
    }
}

fn lines_height(n: usize, size: f32) -> f32 {
    n as f32 * size * 1.3
}

/// Column widths of a table: natural widths when they fit, else shrunk towards each column's
/// longest word.
fn column_widths(rows: &[Vec<Cell>]) -> Vec<f32> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut natural = vec![0.0f32; n];
    let mut minimal = vec![0.0f32; n];
    for row in rows {
        for (k, c) in row.iter().enumerate() {
            let text: String = c.runs.iter().map(|r| r.text.as_str()).collect();
            let bold = c.header || c.runs.iter().any(|r| r.bold);
            natural[k] = natural[k].max(text_width(text.trim(), bold, TABLE_SIZE) + 2.0 * CELL_PAD + 1.0);
            let longest = text.split_whitespace().map(|w| text_width(w, bold, TABLE_SIZE)).fold(0.0, f32::max);
            minimal[k] = minimal[k].max(longest.min(CONTENT_W / 3.0) + 2.0 * CELL_PAD + 1.0);
        }
    }
    let total: f32 = natural.iter().sum();
    if total <= CONTENT_W {
        return natural;
    }
    let min_total: f32 = minimal.iter().sum();
    if min_total >= CONTENT_W {
        return minimal.iter().map(|m| m * CONTENT_W / min_total).collect();
    }
    let extra = CONTENT_W - min_total;
    let want: f32 = natural.iter().zip(&minimal).map(|(a, b)| a - b).sum();
    natural.iter().zip(&minimal).map(|(a, b)| b + (a - b) * extra / want.max(1e-3)).collect()
}

/// Laid-out rows: per row its cells' lines and its height.
fn table_rows(rows: &[Vec<Cell>], widths: &[f32]) -> Vec<(Vec<Vec<Vec<Word>>>, f32)> {
    rows.iter()
        .map(|row| {
            let cells: Vec<Vec<Vec<Word>>> = row.iter().zip(widths).map(|(c, w)| wrap(&c.runs, w - 2.0 * CELL_PAD, TABLE_SIZE)).collect();
            let h = cells.iter().map(|l| lines_height(l.len().max(1), TABLE_SIZE)).fold(0.0, f32::max) + 2.0 * CELL_PAD;
            (cells, h)
        })
        .collect()
}

fn draw_row(w: &mut Writer, row: &[Cell], laid: &[Vec<Vec<Word>>], widths: &[f32], height: f32) {
    let top = w.y;
    let mut x = MARGIN;
    for (k, width) in widths.iter().enumerate() {
        if row.get(k).is_some_and(|c| c.header) {
            w.fill_rect(x, top - height, *width, height, [0.933, 0.933, 1.0]);
        }
        if let Some(lines) = laid.get(k) {
            let _ = w.lines(lines, x + CELL_PAD, top - CELL_PAD, TABLE_SIZE);
        }
        let border = [0.8, 0.8, 0.867];
        w.stroke_line(&[(x, top), (x + width, top), (x + width, top - height), (x, top - height), (x, top)], border, 0.5);
        x += width;
    }
    w.y -= height;
}

fn draw_table(w: &mut Writer, rows: &[Vec<Cell>]) {
    let widths = column_widths(rows);
    let laid = table_rows(rows, &widths);
    let total: f32 = laid.iter().map(|(_, h)| h).sum::<f32>() + 8.0;
    let page_room = TOP - BOTTOM;
    if total <= page_room {
        // Kept whole: on this page if it fits, else on the next.
        w.ensure(total);
    } else {
        w.ensure(laid.first().map_or(0.0, |r| r.1) * 2.0);
    }
    let header = rows.first().is_some_and(|r| r.iter().all(|c| c.header));
    w.y -= 4.0;
    for (k, (row, (cells, h))) in rows.iter().zip(&laid).enumerate() {
        if w.y - h < BOTTOM {
            w.new_page();
            if header && k > 0 {
                draw_row(w, &rows[0], &laid[0].0, &widths, laid[0].1);
            }
        }
        draw_row(w, row, cells, &widths, *h);
    }
    w.y -= 4.0;
}

fn draw_svg(w: &mut Writer, width: f32, height: f32, items: &[SvgItem]) {
    let s = (CONTENT_W / width).min(1.0);
    let h = height * s;
    w.ensure(h + 6.0);
    let (x0, top) = (MARGIN, w.y - 3.0);
    let map = |x: f32, y: f32| (x0 + x * s, top - y * s);
    for item in items {
        match item {
            SvgItem::Rect { x, y, w: rw, h: rh, fill, stroke, width: lw } => {
                let (px, py) = map(*x, *y + *rh);
                if let Some(f) = fill {
                    w.fill_rect(px, py, rw * s, rh * s, *f);
                }
                if let Some(c) = stroke {
                    w.stroke_line(&[(px, py), (px + rw * s, py), (px + rw * s, py + rh * s), (px, py + rh * s), (px, py)], *c, lw * s);
                }
            }
            SvgItem::Line { points, closed, fill, stroke, width: lw } => {
                let mut pts: Vec<(f32, f32)> = points.iter().map(|(x, y)| map(*x, *y)).collect();
                if *closed && let Some(first) = pts.first().copied() {
                    pts.push(first);
                }
                if let (Some(f), true) = (fill, *closed && pts.len() > 2) {
                    let c = w.page();
                    let _ = c.set_fill_rgb(f[0], f[1], f[2]);
                    let _ = c.move_to(pts[0].0, pts[0].1);
                    for p in &pts[1..] {
                        let _ = c.line_to(p.0, p.1);
                    }
                    let _ = c.close_path();
                    let _ = c.fill_nonzero();
                }
                if let Some(c) = stroke {
                    w.stroke_line(&pts, *c, lw * s);
                }
            }
            SvgItem::Circle { cx, cy, r, fill, stroke, width: lw } => {
                let (px, py) = map(*cx, *cy);
                let r = r * s;
                let k = 0.552_284_8 * r;
                let c = w.page();
                let _ = c.move_to(px + r, py);
                let _ = c.cubic_to(px + r, py + k, px + k, py + r, px, py + r);
                let _ = c.cubic_to(px - k, py + r, px - r, py + k, px - r, py);
                let _ = c.cubic_to(px - r, py - k, px - k, py - r, px, py - r);
                let _ = c.cubic_to(px + k, py - r, px + r, py - k, px + r, py);
                let _ = c.close_path();
                match (fill, stroke) {
                    (Some(f), Some(st)) => {
                        let _ = c.set_fill_rgb(f[0], f[1], f[2]).set_stroke_rgb(st[0], st[1], st[2]).set_line_width(lw * s);
                        let _ = c.fill_nonzero_and_stroke();
                    }
                    (Some(f), None) => {
                        let _ = c.set_fill_rgb(f[0], f[1], f[2]);
                        let _ = c.fill_nonzero();
                    }
                    (None, Some(st)) => {
                        let _ = c.set_stroke_rgb(st[0], st[1], st[2]).set_line_width(lw * s);
                        let _ = c.stroke();
                    }
                    (None, None) => {
                        let _ = c.end_path();
                    }
                }
            }
            SvgItem::Text { x, y, size, bold, anchor, fill, text } => {
                let size = size * s;
                let tw = text_width(text, *bold, size);
                let (px, py) = map(*x, *y);
                let px = match anchor {
                    1 => px - tw / 2.0,
                    2 => px - tw,
                    _ => px,
                };
                w.text(px, py, text, *bold, size, *fill);
            }
        }
    }
    w.y = top - h - 3.0;
}

fn decode_png(bytes: &[u8], name: String) -> Result<Image> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("a report picture is not a PNG")?;
    let (width, height) = (reader.info().width, reader.info().height);
    if u64::from(width) * u64::from(height) > 64 << 20 {
        bail!("a report picture of {width} x {height} pixels is too large for the PDF");
    }
    let mut buf = vec![0u8; reader.output_buffer_size().context("a report picture's size overflows")?];
    let frame = reader.next_frame(&mut buf).context("a report picture's PNG data is broken")?;
    let data = &buf[..frame.buffer_size()];
    let n = (width * height) as usize;
    let (rgb, alpha) = match frame.color_type {
        png::ColorType::Rgb => (data.to_vec(), None),
        png::ColorType::Rgba => (data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(), Some(data.chunks_exact(4).map(|p| p[3]).collect())),
        png::ColorType::Grayscale => (data.iter().flat_map(|&g| [g, g, g]).collect(), None),
        png::ColorType::GrayscaleAlpha => (data.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0]]).collect(), Some(data.chunks_exact(2).map(|p| p[1]).collect())),
        png::ColorType::Indexed => bail!("an indexed PNG was not expanded"),
    };
    let rgb: Vec<u8> = rgb;
    if rgb.len() != 3 * n {
        bail!("a report picture decodes to {} bytes for {width} x {height} pixels", rgb.len());
    }
    Ok(Image { name, width, height, rgb, alpha: alpha.filter(|a: &Vec<u8>| a.iter().any(|&v| v < 255)) })
}

fn draw_pictures(w: &mut Writer, pics: &[Picture]) -> Result<()> {
    let gap = 10.0;
    let per_row = if pics.len() > 1 { 2 } else { 1 };
    let cell_w = if per_row == 2 { (CONTENT_W - gap) / 2.0 } else { CONTENT_W * 0.7 };
    for row in pics.chunks(per_row) {
        let mut decoded = Vec::new();
        for p in row {
            let index = w.images.len() + decoded.len();
            decoded.push(decode_png(&p.png, format!("Im{}", index + 1))?);
        }
        let heights: Vec<f32> = decoded.iter().zip(row).map(|(im, p)| cell_w * im.height as f32 / im.width.max(1) as f32 + 4.0 + lines_height(wrap(&p.caption, cell_w, 8.0).len(), 8.0)).collect();
        let row_h = heights.iter().copied().fold(0.0, f32::max) + 8.0;
        w.ensure(row_h);
        let top = w.y - 4.0;
        for (k, (im, p)) in decoded.into_iter().zip(row).enumerate() {
            let x = MARGIN + k as f32 * (cell_w + gap);
            let ih = cell_w * im.height as f32 / im.width.max(1) as f32;
            let name = im.name.clone();
            let index = w.images.len();
            w.images.push(im);
            let page = w.page_images.len() - 1;
            w.page_images[page].push(index);
            {
                let c = w.page();
                let _ = c.save_state();
                let _ = c.transform([cell_w, 0.0, 0.0, ih, x, top - ih]);
                let _ = c.x_object(Name(name.as_bytes()));
                let _ = c.restore_state();
            }
            w.stroke_line(&[(x, top), (x + cell_w, top), (x + cell_w, top - ih), (x, top - ih), (x, top)], [0.8, 0.8, 0.867], 0.5);
            let caption = wrap(&p.caption, cell_w, 8.0);
            let _ = w.lines(&caption, x, top - ih - 2.0, 8.0);
        }
        w.y -= row_h;
    }
    Ok(())
}

/// Height a block needs at least at the top of a page (for keeping a heading with it).
fn lead_height(b: &Block) -> f32 {
    match b {
        Block::Heading(..) => 30.0,
        Block::Para { runs, size, .. } => lines_height(wrap(runs, CONTENT_W, *size).len().min(3), *size),
        Block::Table(rows) => {
            let widths = column_widths(rows);
            let total: f32 = table_rows(rows, &widths).iter().map(|(_, h)| h).sum::<f32>() + 8.0;
            if total <= TOP - BOTTOM { total } else { 60.0 }
        }
        Block::Svg { width, height, .. } => height * (CONTENT_W / width).min(1.0) + 6.0,
        Block::Pictures(_) => 200.0,
    }
}

/// The report as PDF bytes, from the report's HTML (see the module docs).
///
/// # Errors
/// HTML outside coxa's subset (an unterminated tag), a picture that is not an embedded PNG.
pub fn pdf_from_html(html: &str) -> Result<Vec<u8>> {
    let (title, blocks) = blocks(html)?;
    let mut w = Writer::new();
    for (k, b) in blocks.iter().enumerate() {
        match b {
            Block::Heading(level, text) => {
                let size = match level {
                    1 => 15.0,
                    2 => 12.5,
                    _ => 10.5,
                };
                let lines = wrap(&[Run { text: text.clone(), bold: true, colour: BLACK }], CONTENT_W, size);
                let h = lines_height(lines.len(), size) + if *level <= 2 { 12.0 } else { 6.0 };
                let next = blocks.get(k + 1).map_or(0.0, lead_height);
                w.ensure(h + next);
                w.y -= if *level <= 2 { 8.0 } else { 4.0 };
                let top = w.y;
                let used = w.lines(&lines, MARGIN, top, size);
                w.y -= used + 2.0;
                if *level == 2 {
                    w.stroke_line(&[(MARGIN, w.y), (MARGIN + CONTENT_W, w.y)], [0.8, 0.8, 0.867], 1.2);
                    w.y -= 3.0;
                }
            }
            Block::Para { runs, size, warn, bullet } => {
                let indent = if *bullet { 10.0 } else { 0.0 };
                let lines = wrap(runs, CONTENT_W - indent - if *warn { 12.0 } else { 0.0 }, *size);
                let leading = size * 1.3;
                // Paragraph lines may split across pages (a paragraph is not a table).
                let mut start = 0;
                while start < lines.len() {
                    w.ensure(leading + 2.0);
                    let fit = (((w.y - BOTTOM) / leading).floor() as usize).max(1);
                    let end = (start + fit).min(lines.len());
                    let h = lines_height(end - start, *size) + 3.0;
                    let pad = if *warn { 6.0 } else { 0.0 };
                    if *warn {
                        w.fill_rect(MARGIN, w.y - h, CONTENT_W, h, [1.0, 0.957, 0.839]);
                    }
                    if *bullet && start == 0 {
                        w.text(MARGIN + pad, w.y - size + 0.2 * size - 1.5, "•", false, *size, BLACK);
                    }
                    let top = w.y - 1.5;
                    let _ = w.lines(&lines[start..end], MARGIN + indent + pad, top, *size);
                    w.y -= h;
                    start = end;
                }
                w.y -= 2.0;
            }
            Block::Table(rows) => draw_table(&mut w, rows),
            Block::Svg { width, height, items } => draw_svg(&mut w, *width, *height, items),
            Block::Pictures(p) => draw_pictures(&mut w, p)?,
        }
    }
    write_pdf(w, &title)
}

fn write_pdf(mut w: Writer, title: &str) -> Result<Vec<u8>> {
    let n = w.pages.len();
    // Footer: the page number of every page.
    for (k, c) in w.pages.iter_mut().enumerate() {
        let label = format!("{title} · page {} of {n}", k + 1);
        let (bytes, tw) = encode(&label, false);
        let _ = c.set_fill_rgb(0.45, 0.45, 0.45);
        let _ = c.begin_text();
        let _ = c.set_font(Name(b"F1"), 7.5);
        let _ = c.next_line(PAGE_W - MARGIN - tw * 7.5, MARGIN - 8.0);
        let _ = c.show(Str(&bytes));
        let _ = c.end_text();
    }
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, tree, info, f1, f2) = (alloc(), alloc(), alloc(), alloc(), alloc());
    let page_ids: Vec<(Ref, Ref)> = (0..n).map(|_| (alloc(), alloc())).collect();
    let image_ids: Vec<(Ref, Option<Ref>)> = w.images.iter().map(|im| (alloc(), im.alpha.as_ref().map(|_| alloc()))).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().map(|(p, _)| *p)).count(n as i32);
    pdf.document_info(info).title(TextStr(title)).creator(TextStr("coxa")).producer(TextStr(concat!("coxa ", env!("CARGO_PKG_VERSION"), " (pdf-writer)")));
    pdf.type1_font(f1).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(f2).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    let pages = std::mem::take(&mut w.pages);
    for (k, ((page_id, content_id), content)) in page_ids.iter().zip(pages).enumerate() {
        let mut page = pdf.page(*page_id);
        let _ = page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content_id);
        let mut res = page.resources();
        let _ = res.fonts().pair(Name(b"F1"), f1).pair(Name(b"F2"), f2);
        if !w.page_images[k].is_empty() {
            let mut xo = res.x_objects();
            for &i in &w.page_images[k] {
                let _ = xo.pair(Name(w.images[i].name.as_bytes()), image_ids[i].0);
            }
            xo.finish();
        }
        res.finish();
        page.finish();
        let data = deflate(&content.finish());
        let _ = pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
    }
    for (im, (id, mask)) in w.images.iter().zip(&image_ids) {
        let data = deflate(&im.rgb);
        let mut x = pdf.image_xobject(*id, &data);
        let _ = x.filter(Filter::FlateDecode);
        let _ = x.width(im.width as i32).height(im.height as i32).bits_per_component(8);
        x.color_space().device_rgb();
        if let Some(m) = mask {
            let _ = x.s_mask(*m);
        }
        x.finish();
        if let (Some(m), Some(a)) = (mask, &im.alpha) {
            let data = deflate(a);
            let mut s = pdf.image_xobject(*m, &data);
            let _ = s.filter(Filter::FlateDecode);
            let _ = s.width(im.width as i32).height(im.height as i32).bits_per_component(8);
            s.color_space().device_gray();
            s.finish();
        }
    }
    Ok(pdf.finish())
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_subset_becomes_blocks() {
        let html = "<!DOCTYPE html><html><head><title>T &amp; U</title><style>td{x:1}</style></head><body><h2>Plan</h2><p class=\"sub\">a <b>bold</b> word</p>\
            <table><tr><th>part</th><th>size</th></tr><tr><td>cup</td><td class=\"ok\">52 mm</td></tr></table>\
            <svg viewBox=\"0 0 100 50\" width=\"100\" height=\"50\"><rect x=\"1\" y=\"2\" width=\"3\" height=\"4\" fill=\"#f00\"/><text x=\"5\" y=\"6\" text-anchor=\"end\">40°</text></svg></body></html>";
        let (title, b) = blocks(html).unwrap();
        assert_eq!(title, "T & U");
        assert_eq!(b[0], Block::Heading(2, "Plan".into()));
        let Block::Para { runs, .. } = &b[1] else { panic!("{:?}", b[1]) };
        assert_eq!(runs.iter().map(|r| r.text.as_str()).collect::<String>(), "a bold word");
        assert!(runs[1].bold && !runs[0].bold && runs[0].colour == GREY);
        let Block::Table(rows) = &b[2] else { panic!() };
        assert_eq!(rows.len(), 2);
        assert!(rows[0][0].header && !rows[1][1].header);
        assert_eq!(rows[1][1].runs[0].text, "52 mm");
        let Block::Svg { items, .. } = &b[3] else { panic!() };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[1], SvgItem::Text { anchor: 2, text, .. } if text == "40°"));
        assert_eq!(base64_decode(&crate::report::base64(b"coxa pdf!")).unwrap(), b"coxa pdf!");
        assert!(pdf_from_html(html).unwrap().starts_with(b"%PDF-"));
    }

    #[test]
    fn a_table_that_fits_a_page_is_never_split() {
        // Filler pushes the cursor near the bottom; the table then starts on page 2, whole.
        let filler: String = (0..48).map(|k| format!("<p>line {k}</p>")).collect();
        let rows: String = (0..12).map(|k| format!("<tr><td>row {k}</td><td>{k}</td></tr>")).collect();
        let html = format!("<html><body>{filler}<table><tr><th>a</th><th>b</th></tr>{rows}</table></body></html>");
        let (_, b) = blocks(&html).unwrap();
        let mut w = Writer::new();
        for x in &b {
            match x {
                Block::Table(r) => {
                    let before = w.pages.len();
                    assert_eq!(before, 1, "the filler fills most of page 1");
                    draw_table(&mut w, r);
                    assert_eq!(w.pages.len(), before + 1, "the table moved to a new page");
                }
                Block::Para { runs, size, .. } => {
                    let l = wrap(runs, CONTENT_W, *size);
                    w.ensure(lines_height(l.len(), *size));
                    w.y -= lines_height(l.len(), *size) + 2.0;
                }
                _ => {}
            }
        }
        // A table longer than a page splits between rows, repeating its header.
        let rows: String = (0..120).map(|k| format!("<tr><td>row {k}</td><td>{k}</td></tr>")).collect();
        let (_, b) = blocks(&format!("<table><tr><th>a</th><th>b</th></tr>{rows}</table>")).unwrap();
        let Block::Table(r) = &b[0] else { panic!() };
        let mut w = Writer::new();
        draw_table(&mut w, r);
        assert!(w.pages.len() >= 2);
    }
}

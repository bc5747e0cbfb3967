//! The PDF's fonts: the bundled Noto Sans (Latin, Greek, Cyrillic; `fonts/`, SIL OFL 1.1) first,
//! its mathematical signs (`≤`, `≥`, which Noto Sans lacks) from the bundled Noto Sans Math; then,
//! character by character, a font of the system that has the glyph (found with fontdb;
//! Chinese, Japanese and Korean from `fonts-noto-cjk`). A character no font has is recorded, so
//! the PDF can say so; it is drawn as the font's empty box, never as `?`.
//!
//! Text is shaped with rustybuzz (krilla's own shaper) so that what is measured for the layout
//! is what is drawn. krilla embeds each font once, subsetted to the glyphs used.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use krilla::Data;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use rustybuzz::ttf_parser;

use crate::error::{Error, Result};

const REGULAR: &[u8] = include_bytes!("../../fonts/NotoSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../../fonts/NotoSans-Bold.ttf");
const MATH: &[u8] = include_bytes!("../../fonts/NotoSansMath-Regular.ttf");
/// The bundled math face's index in [`Fonts`].
const MATH_FACE: usize = 2;

/// Families tried first for characters the bundled fonts lack, in this order; then every other
/// face of the system, sans-serif and upright first.
const PREFERRED: [&str; 8] = ["Noto Sans", "DejaVu Sans", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR", "Noto Sans CJK HK", "Noto Sans Symbols"];

/// One font face: its bytes (for shaping) and krilla's handle (for drawing).
struct Face {
    data: Data,
    index: u32,
    font: Font,
    upem: f32,
}

impl Face {
    fn new(data: Data, index: u32) -> Option<Self> {
        let font = Font::new(data.clone(), index)?;
        let upem = font.units_per_em();
        Some(Self { data, index, font, upem })
    }

    fn has(&self, c: char) -> bool {
        ttf_parser::Face::parse(self.data.as_ref(), self.index).ok().and_then(|f| f.glyph_index(c)).is_some()
    }
}

/// A run of text in one face.
pub(crate) struct Run {
    /// The face (an index into [`Fonts`]).
    pub face: usize,
    /// The run's text.
    pub text: String,
}

/// The fonts of one PDF.
pub(crate) struct Fonts {
    faces: Vec<Face>,
    /// The face of each character met, by (character, bold).
    chosen: HashMap<(char, bool), usize>,
    /// The system's faces (loaded when a character is not in the bundled fonts).
    system: Option<(fontdb::Database, Vec<fontdb::ID>, Vec<fontdb::ID>)>,
    loaded: HashMap<fontdb::ID, usize>,
    /// Whether a face has a character's glyph (parsing the face for each lookup is slow).
    covers: HashMap<(usize, char), bool>,
    /// Shaped text by face: measured for the layout, then drawn.
    shaped: HashMap<(usize, String), Vec<KrillaGlyph>>,
    widths: HashMap<(String, bool), f32>,
    missing: BTreeSet<char>,
}

/// Combining marks stay in the face of the character they sit on.
fn combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}' | '\u{200c}' | '\u{200d}')
}

/// The system's faces in the order they are tried: preferred families first, then sans-serif,
/// upright faces of the weight asked for; ties by family name and file for a stable choice.
fn ranked(db: &fontdb::Database, bold: bool) -> Vec<fontdb::ID> {
    let want = if bold { 700 } else { 400 };
    let mut faces: Vec<(u32, String, String, u32, fontdb::ID)> = db
        .faces()
        .map(|f| {
            let family = f.families.first().map_or_else(String::new, |x| x.0.clone());
            let preferred = PREFERRED.iter().position(|p| *p == family).map_or(100, |i| i as u32);
            let penalty = u32::from(f.monospaced) * 50 + u32::from(family.contains("Serif")) * 20 + u32::from(f.style != fontdb::Style::Normal) * 30 + u32::from(f.weight.0.abs_diff(want)) / 100;
            let path = match &f.source {
                fontdb::Source::File(p) | fontdb::Source::SharedFile(p, _) => p.display().to_string(),
                fontdb::Source::Binary(_) => String::new(),
            };
            (preferred * 1000 + penalty, family, path, f.index, f.id)
        })
        .collect();
    faces.sort_by(|a, b| (a.0, &a.1, &a.2, a.3).cmp(&(b.0, &b.1, &b.2, b.3)));
    faces.into_iter().map(|f| f.4).collect()
}

impl Fonts {
    /// The bundled regular (face 0), bold (face 1) and math (face 2) fonts.
    pub fn new() -> Result<Self> {
        let regular = Face::new(Data::from(REGULAR), 0).ok_or(Error::BundledFont { name: "NotoSans-Regular.ttf" })?;
        let bold = Face::new(Data::from(BOLD), 0).ok_or(Error::BundledFont { name: "NotoSans-Bold.ttf" })?;
        let math = Face::new(Data::from(MATH), 0).ok_or(Error::BundledFont { name: "NotoSansMath-Regular.ttf" })?;
        Ok(Self {
            faces: vec![regular, bold, math],
            chosen: HashMap::new(),
            system: None,
            loaded: HashMap::new(),
            covers: HashMap::new(),
            shaped: HashMap::new(),
            widths: HashMap::new(),
            missing: BTreeSet::new(),
        })
    }

    /// Characters no font here has, in code point order.
    pub fn missing(&self) -> &BTreeSet<char> {
        &self.missing
    }

    /// Whether face `i` has a glyph for `c`.
    fn has(&mut self, i: usize, c: char) -> bool {
        *self.covers.entry((i, c)).or_insert_with(|| self.faces[i].has(c))
    }

    /// krilla's handle of face `i`.
    pub fn font(&self, i: usize) -> Font {
        self.faces[i].font.clone()
    }

    /// The face for `c` (bold or regular): the bundled one, else the first system face with the
    /// glyph; the bundled one (with its empty box) when none has it, and `c` is recorded missing.
    fn face_for(&mut self, c: char, bold: bool) -> usize {
        let base = usize::from(bold);
        if c.is_whitespace() || c.is_control() || self.has(base, c) {
            return base;
        }
        if self.has(MATH_FACE, c) {
            return MATH_FACE;
        }
        if let Some(&i) = self.chosen.get(&(c, bold)) {
            return i;
        }
        let i = self.system_face(c, bold).unwrap_or_else(|| {
            self.missing.insert(c);
            base
        });
        self.chosen.insert((c, bold), i);
        i
    }

    fn system_face(&mut self, c: char, bold: bool) -> Option<usize> {
        let (db, regular, heavy) = self.system.get_or_insert_with(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            let (r, b) = (ranked(&db, false), ranked(&db, true));
            (db, r, b)
        });
        let order = if bold { &*heavy } else { &*regular };
        let id = *order.iter().find(|id| db.with_face_data(**id, |data, index| ttf_parser::Face::parse(data, index).ok().and_then(|f| f.glyph_index(c)).is_some()).unwrap_or(false))?;
        if let Some(&i) = self.loaded.get(&id) {
            return Some(i);
        }
        let (bytes, index) = db.with_face_data(id, |data, index| (data.to_vec(), index))?;
        let face = Face::new(Data::from(Arc::new(bytes)), index)?;
        tracing::debug!(family = ?db.face(id).and_then(|f| f.families.first()).map(|f| f.0.clone()), "PDF font fallback for {c:?}");
        self.faces.push(face);
        self.loaded.insert(id, self.faces.len() - 1);
        Some(self.faces.len() - 1)
    }

    /// `text` cut into runs of one face each.
    pub fn runs(&mut self, text: &str, bold: bool) -> Vec<Run> {
        let mut out: Vec<Run> = Vec::new();
        for c in text.chars() {
            let face = match out.last() {
                // A space or a combining mark stays in the run before it, when that face has it.
                Some(last) if (combining(c) || c == ' ') && self.has(last.face, c) => last.face,
                _ => self.face_for(c, bold),
            };
            match out.last_mut() {
                Some(last) if last.face == face => last.text.push(c),
                _ => out.push(Run { face, text: c.to_string() }),
            }
        }
        out
    }

    /// The glyphs of `text` in face `i` (advances per em), shaped by rustybuzz.
    pub fn shape(&mut self, i: usize, text: &str) -> Vec<KrillaGlyph> {
        if let Some(g) = self.shaped.get(&(i, text.to_string())) {
            return g.clone();
        }
        let glyphs = self.shape_anew(i, text);
        self.shaped.insert((i, text.to_string()), glyphs.clone());
        glyphs
    }

    fn shape_anew(&self, i: usize, text: &str) -> Vec<KrillaGlyph> {
        let f = &self.faces[i];
        let Some(face) = rustybuzz::Face::from_slice(f.data.as_ref(), f.index) else { return Vec::new() };
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let out = rustybuzz::shape(&face, &[], buffer);
        let infos = out.glyph_infos();
        let positions = out.glyph_positions();
        // A glyph's text runs from its cluster to the next cluster (in either direction).
        let mut clusters: Vec<usize> = infos.iter().map(|x| x.cluster as usize).collect();
        clusters.sort_unstable();
        clusters.dedup();
        (0..out.len())
            .map(|k| {
                let (info, pos) = (infos[k], positions[k]);
                let start = info.cluster as usize;
                let end = clusters.iter().copied().find(|&c| c > start).unwrap_or(text.len());
                KrillaGlyph::new(
                    GlyphId::new(info.glyph_id),
                    pos.x_advance as f32 / f.upem,
                    pos.x_offset as f32 / f.upem,
                    pos.y_offset as f32 / f.upem,
                    pos.y_advance as f32 / f.upem,
                    start..end,
                    None,
                )
            })
            .collect()
    }

    /// The advance of `text` at 1 pt.
    pub fn width(&mut self, text: &str, bold: bool) -> f32 {
        if let Some(w) = self.widths.get(&(text.to_string(), bold)) {
            return *w;
        }
        let runs = self.runs(text, bold);
        let w = runs.iter().map(|r| self.shape(r.face, &r.text).iter().map(|g| g.x_advance).sum::<f32>()).sum();
        self.widths.insert((text.to_string(), bold), w);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_greek_cyrillic_are_bundled_and_shaped() {
        let mut f = Fonts::new().unwrap();
        for (s, bold) in [("Ærø – Müller ñ Ωμέγα", false), ("Привет, 40°±3", true)] {
            let runs = f.runs(s, bold);
            assert_eq!(runs.len(), 1, "{s}: one run in the bundled font");
            assert_eq!(runs[0].face, usize::from(bold));
            assert!(f.shape(runs[0].face, s).iter().all(|g| g.glyph_id.to_u32() != 0), "{s}: every glyph found");
        }
        // Signs Noto Sans lacks come from the bundled Noto Sans Math, not from the system.
        let runs = f.runs("≤ -10", false);
        assert_eq!(runs.iter().map(|r| (r.face, r.text.as_str())).collect::<Vec<_>>(), [(MATH_FACE, "≤"), (0, " -10")]);
        assert!(f.system.is_none(), "the system's fonts were not needed");
        assert!(f.missing().is_empty());
        // Noto Sans: "ii" is narrower than "MM" at any size.
        assert!(f.width("ii", false) < f.width("MM", false));
        assert!(f.width("MM", true) > f.width("MM", false), "bold is wider");
    }
}

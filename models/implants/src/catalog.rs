//! The open implant catalog: one TOML file per product family.
//!
//! A file holds any of the arrays `[[shells]]`, `[[liners]]`, `[[heads]]`, `[[stems]]` (see the
//! files in this crate's `catalog/` folder for documented examples) and `schema_version = 1`.
//! Loading runs in two steps: parse ([`CatalogFile::parse`], unknown fields refused) and
//! [`CatalogFile::validate`] (ranges and consistency, errors naming file and field).

use std::path::Path;

use coxa_core::Angle;
use coxa_core::plan_ranges::PlanValue;
use serde::{Deserialize, Serialize};

use crate::parts::{Head, Liner, Rim, Shell, Stem};
use crate::{ImplantError, Result};

/// The catalog schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One catalog file (one product family, or a few related ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Schema version; must be [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Acetabular shell size series.
    #[serde(default)]
    pub shells: Vec<ShellFamily>,
    /// Liners.
    #[serde(default)]
    pub liners: Vec<LinerSpec>,
    /// Femoral head series.
    #[serde(default)]
    pub heads: Vec<HeadFamily>,
    /// Femoral stem size series.
    #[serde(default)]
    pub stems: Vec<StemFamily>,
}

/// A press-fit hemispherical shell series. Frame: origin at the hemisphere's centre, +z along
/// the cup axis out of the opening, face in the plane z = 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellFamily {
    /// Product name.
    pub name: String,
    /// Smallest outer diameter, mm.
    pub outer_diameter_min_mm: f64,
    /// Largest outer diameter, mm.
    pub outer_diameter_max_mm: f64,
    /// Step between sizes, mm.
    pub outer_diameter_step_mm: f64,
    /// Metal wall thickness, mm (inner diameter = outer - 2 x wall).
    pub wall_thickness_mm: f64,
    /// Press fit of the series: the last reamer is this much smaller than the shell's outer
    /// diameter, mm [1: the usual 1 mm under-ream of a hemispherical press-fit shell; dual-
    /// radius or flared rims ask for less, some cementless series for 2].
    #[serde(default = "default_press_fit_mm")]
    pub press_fit_mm: f64,
    /// The engineer's own cup geometry per size (one STL + frame per size; a user catalog's
    /// series only): the planner sizes the series by its numbers, scores a size that has a frame
    /// on its mesh, and pairs it only with a head of the frame's bearing diameter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<ShellFrame>,
}

/// One shell size's own geometry: its outer diameter and the cup frame file (`part = "cup"`,
/// see [`crate::user`]; a path relative to the catalog file), checked on loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellFrame {
    /// The size, mm (one of the series').
    pub outer_diameter_mm: f64,
    /// The cup frame file.
    pub frame: std::path::PathBuf,
    /// The bearing (head) diameter the frame declares, mm: set on loading (not in the file).
    #[serde(skip)]
    pub bearing_diameter_mm: f64,
}

fn default_press_fit_mm() -> f64 {
    1.0
}

impl ShellFamily {
    /// Whether `outer_diameter_mm` is one of the series' sizes.
    pub fn has_size(&self, outer_diameter_mm: f64) -> bool {
        let k = (outer_diameter_mm - self.outer_diameter_min_mm) / self.outer_diameter_step_mm;
        outer_diameter_mm >= self.outer_diameter_min_mm - 1e-9 && outer_diameter_mm <= self.outer_diameter_max_mm + 1e-9 && (k - k.round()).abs() < 1e-6
    }
}

/// The shape of a liner's opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinerGeometry {
    /// A hemisphere: the rim is the inner sphere's equator.
    Hemispherical,
    /// A lip raised above the face plane over part of the rim.
    ElevatedRim,
    /// The rim edge bevelled: contact happens below the face plane.
    Chamfered,
}

/// A liner. Frame: as the shell (origin at the head centre, +z out of the opening); +x is the
/// face direction the placement calls superior, +y turns from it towards posterior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinerSpec {
    /// Product name (unique in the catalog).
    pub name: String,
    /// Opening shape.
    pub geometry: LinerGeometry,
    /// Thinnest wall allowed between head and shell, mm.
    pub min_thickness_mm: f64,
    /// Elevated rim: height of the lip above the face plane, mm.
    #[serde(default)]
    pub rim_height_mm: Option<f64>,
    /// Elevated rim: arc of the face over which the lip has full height, deg.
    #[serde(default)]
    pub rim_arc_deg: Option<f64>,
    /// Elevated rim: arc over which the lip falls to the face on each side, deg (default 30).
    #[serde(default)]
    pub rim_transition_deg: Option<f64>,
    /// Elevated rim: centre of the lip measured in the face from +x (superior) towards +y
    /// (posterior), deg.
    #[serde(default)]
    pub rim_orientation_deg: Option<f64>,
    /// Chamfered: angle below the face plane of the contact edge, deg.
    #[serde(default)]
    pub chamfer_deg: Option<f64>,
}

/// A femoral head series. Frame: origin at the head centre, +z along the neck from the head
/// towards the stem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadFamily {
    /// Product name.
    pub name: String,
    /// Available diameters, mm.
    pub diameters_mm: Vec<f64>,
    /// Available neck-length offsets, mm (head centre moved along the neck away from the stem).
    pub neck_length_offsets_mm: Vec<f64>,
}

/// Cross-section of a stem's neck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeckSection {
    /// Circular (a cylinder, or a cone with `neck_flare_deg`).
    Circular,
}

/// A femoral stem series. Frame: origin at the taper's gauge point, +z along the neck axis from
/// the head towards the stem, shaft axis in the x-z plane (distal direction
/// `(sin ccd, 0, -cos ccd)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StemFamily {
    /// Product name.
    pub name: String,
    /// Caput-collum-diaphyseal angle between the neck (towards the head) and the shaft (distal), deg.
    pub ccd_deg: f64,
    /// Trunnion taper name (e.g. "12/14"); informative.
    pub trunnion: String,
    /// Neck cross-section.
    pub neck_section: NeckSection,
    /// Half-angle by which the neck widens from the head towards the shoulder, deg (default 0).
    #[serde(default)]
    pub neck_flare_deg: f64,
    /// How the series is sized by canal fill (required).
    pub size_rule: StemSizeRule,
    /// The sizes, smallest body first.
    pub sizes: Vec<StemSize>,
}

/// How a stem series is sized by canal fill (used by `coxa_planner`'s stem sizing): the fill is
/// the body's mediolateral width over the endosteal mediolateral canal width at a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StemSizeRule {
    /// Level the fill is judged at: height above the lesser trochanter along the shaft axis, mm,
    /// from -100 to 0 (0: the lesser trochanter; -60: the metadiaphyseal level where a
    /// taper-wedge's fill predicts its subsidence).
    pub level_above_lt_mm: f64,
    /// The fill aimed at at that level, fraction of the canal: at least this...
    pub fill_min: f64,
    /// ...and at most this (the planned size is the largest at most this).
    pub fill_max: f64,
    /// Largest fill of the canal by the tip's width (`tip_ml_width_mm`) at any level between
    /// the rule's level and the tip: a wedge wider than the canal below hangs up there
    /// (usually 1).
    pub distal_fill_max: f64,
}

/// One stem size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StemSize {
    /// Size label.
    pub size: String,
    /// Perpendicular distance from the head centre (0 mm offset) to the shaft axis, mm.
    pub offset_mm: f64,
    /// From the head centre along the neck to the stem shoulder, mm.
    pub neck_length_mm: f64,
    /// Neck diameter next to the head, mm.
    pub neck_diameter_mm: f64,
    /// Body width mediolateral at the size rule's level (seat 0, a 0 mm head), mm.
    pub ml_width_mm: f64,
    /// Body width mediolateral at the tip, mm.
    pub tip_ml_width_mm: f64,
    /// From the head centre's level (0 mm head offset) down the shaft axis to the tip, mm.
    pub length_mm: f64,
    /// The engineer's own geometry of this size: a user frame file (`part = "stem"`, see
    /// [`crate::user`]) naming its STL, relative to the catalog file. The planner sizes the
    /// series by the numbers above and scores every candidate's range of motion on this mesh;
    /// loading checks that the frame's neck diameter and neck-shaft angle are the size's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<std::path::PathBuf>,
}

fn positive(origin: &str, field: String, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 { Ok(()) } else { Err(ImplantError::Invalid { origin: origin.into(), field, why: format!("{v} must be a finite number > 0") }) }
}

fn in_range(origin: &str, field: String, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && (lo..=hi).contains(&v) { Ok(()) } else { Err(ImplantError::Invalid { origin: origin.into(), field, why: format!("{v} is outside {lo}..={hi}") }) }
}

impl CatalogFile {
    /// Parses a file's text; `origin` (its path) labels errors. Does not validate ranges.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let file: Self = toml::from_str(text).map_err(|e| ImplantError::Parse { origin: origin.into(), source: Box::new(e) })?;
        if file.schema_version != SCHEMA_VERSION {
            return Err(ImplantError::SchemaVersion { origin: origin.into(), found: file.schema_version, supported: SCHEMA_VERSION });
        }
        Ok(file)
    }

    /// Checks every value's range and the consistency of related fields.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let invalid = |field: String, why: String| ImplantError::Invalid { origin: origin.into(), field, why };
        for (i, s) in self.shells.iter().enumerate() {
            let f = |n: &str| format!("shells[{i}].{n}");
            let (lo, hi) = PlanValue::ShellOuterDiameterMm.range();
            in_range(origin, f("outer_diameter_min_mm"), s.outer_diameter_min_mm, lo, hi)?;
            in_range(origin, f("outer_diameter_max_mm"), s.outer_diameter_max_mm, s.outer_diameter_min_mm, hi)?;
            positive(origin, f("outer_diameter_step_mm"), s.outer_diameter_step_mm)?;
            in_range(origin, f("wall_thickness_mm"), s.wall_thickness_mm, 0.5, 10.0)?;
            in_range(origin, f("press_fit_mm"), s.press_fit_mm, 0.0, 4.0)?;
        }
        for (i, l) in self.liners.iter().enumerate() {
            let f = |n: &str| format!("liners[{i}].{n}");
            in_range(origin, f("min_thickness_mm"), l.min_thickness_mm, 0.5, 20.0)?;
            let elevated = [("rim_height_mm", l.rim_height_mm), ("rim_arc_deg", l.rim_arc_deg), ("rim_orientation_deg", l.rim_orientation_deg), ("rim_transition_deg", l.rim_transition_deg)];
            let stray = |allowed: &[&str]| -> Result<()> {
                for (n, v) in elevated.iter().chain([("chamfer_deg", l.chamfer_deg)].iter()) {
                    if v.is_some() && !allowed.contains(n) {
                        return Err(invalid(f(n), format!("is not a field of a {:?} liner; remove it or change `geometry`", l.geometry)));
                    }
                }
                Ok(())
            };
            match l.geometry {
                LinerGeometry::Hemispherical => stray(&[])?,
                LinerGeometry::Chamfered => {
                    stray(&["chamfer_deg"])?;
                    let c = l.chamfer_deg.ok_or_else(|| invalid(f("chamfer_deg"), "missing: a chamfered liner needs it".into()))?;
                    in_range(origin, f("chamfer_deg"), c, 0.0, 30.0)?;
                }
                LinerGeometry::ElevatedRim => {
                    stray(&["rim_height_mm", "rim_arc_deg", "rim_orientation_deg", "rim_transition_deg"])?;
                    for (n, v) in &elevated[..3] {
                        if v.is_none() {
                            return Err(invalid(f(n), "missing: an elevated-rim liner needs rim_height_mm, rim_arc_deg and rim_orientation_deg".into()));
                        }
                    }
                    in_range(origin, f("rim_height_mm"), l.rim_height_mm.unwrap_or_default(), 0.0, 10.0)?;
                    in_range(origin, f("rim_arc_deg"), l.rim_arc_deg.unwrap_or_default(), 0.0, 360.0)?;
                    in_range(origin, f("rim_orientation_deg"), l.rim_orientation_deg.unwrap_or_default(), -360.0, 360.0)?;
                    if let Some(t) = l.rim_transition_deg {
                        in_range(origin, f("rim_transition_deg"), t, 0.0, 90.0)?;
                    }
                    if l.rim_arc_deg.unwrap_or_default() + 2.0 * l.rim_transition_deg.unwrap_or(30.0) > 360.0 {
                        return Err(invalid(f("rim_arc_deg"), "the arc plus twice the transition exceeds 360 deg".into()));
                    }
                }
            }
        }
        for (i, h) in self.heads.iter().enumerate() {
            if h.diameters_mm.is_empty() {
                return Err(invalid(format!("heads[{i}].diameters_mm"), "is empty; list at least one diameter".into()));
            }
            for (k, d) in h.diameters_mm.iter().enumerate() {
                let (lo, hi) = PlanValue::HeadDiameterMm.range();
                in_range(origin, format!("heads[{i}].diameters_mm[{k}]"), *d, lo, hi)?;
            }
            for (k, o) in h.neck_length_offsets_mm.iter().enumerate() {
                let (lo, hi) = PlanValue::HeadOffsetMm.range();
                in_range(origin, format!("heads[{i}].neck_length_offsets_mm[{k}]"), *o, lo, hi)?;
            }
        }
        for (i, s) in self.stems.iter().enumerate() {
            let f = |n: &str| format!("stems[{i}].{n}");
            in_range(origin, f("ccd_deg"), s.ccd_deg, 90.0, 160.0)?;
            in_range(origin, f("neck_flare_deg"), s.neck_flare_deg, 0.0, 20.0)?;
            if s.sizes.is_empty() {
                return Err(invalid(f("sizes"), "is empty; list at least one size".into()));
            }
            for (k, z) in s.sizes.iter().enumerate() {
                let g = |n: &str| format!("stems[{i}].sizes[{k}].{n}");
                if s.sizes[..k].iter().any(|y| y.size == z.size) {
                    return Err(invalid(g("size"), format!("{:?} is listed twice; the sizes of a series overlap, give each a distinct label", z.size)));
                }
                in_range(origin, g("offset_mm"), z.offset_mm, 10.0, 80.0)?;
                in_range(origin, g("neck_diameter_mm"), z.neck_diameter_mm, 4.0, 30.0)?;
                in_range(origin, g("neck_length_mm"), z.neck_length_mm, 5.0, 80.0)?;
                in_range(origin, g("ml_width_mm"), z.ml_width_mm, 5.0, 70.0)?;
                in_range(origin, g("tip_ml_width_mm"), z.tip_ml_width_mm, 2.0, z.ml_width_mm)?;
                in_range(origin, g("length_mm"), z.length_mm, 40.0, 400.0)?;
                if k > 0 && z.ml_width_mm <= s.sizes[k - 1].ml_width_mm {
                    return Err(invalid(
                        g("ml_width_mm"),
                        format!(
                            "{} mm is not wider than the size before ({} mm): the sizes overlap; list sizes smallest body first, each wider than the last",
                            z.ml_width_mm,
                            s.sizes[k - 1].ml_width_mm
                        ),
                    ));
                }
            }
            let r = &s.size_rule;
            in_range(origin, f("size_rule.level_above_lt_mm"), r.level_above_lt_mm, -100.0, 0.0)?;
            in_range(origin, f("size_rule.fill_min"), r.fill_min, 0.3, 1.0)?;
            in_range(origin, f("size_rule.fill_max"), r.fill_max, r.fill_min, 1.1)?;
            in_range(origin, f("size_rule.distal_fill_max"), r.distal_fill_max, 0.3, 1.2)?;
        }
        Ok(())
    }
}

/// All families of a catalog folder (or of the built-in files).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Shell series.
    pub shells: Vec<ShellFamily>,
    /// Liners.
    pub liners: Vec<LinerSpec>,
    /// Head series.
    pub heads: Vec<HeadFamily>,
    /// Stem series.
    pub stems: Vec<StemFamily>,
}

/// The built-in catalog files (this crate's `catalog/` folder), by name.
const BUILTIN: [(&str, &str); 4] = [
    ("catalog/shells.toml", include_str!("../catalog/shells.toml")),
    ("catalog/liners.toml", include_str!("../catalog/liners.toml")),
    ("catalog/heads.toml", include_str!("../catalog/heads.toml")),
    ("catalog/stems.toml", include_str!("../catalog/stems.toml")),
];

impl Catalog {
    /// The catalog shipped with coxa (`models/implants/catalog/*.toml`).
    pub fn builtin() -> Result<Self> {
        let mut c = Self::default();
        for (origin, text) in BUILTIN {
            c.add_text(text, origin)?;
        }
        Ok(c)
    }

    /// Every `*.toml` file of `dir` (sorted by name), parsed and validated. Stem sizes with
    /// their own geometry (`frame`) get the frame file's path resolved against the catalog
    /// file's folder, and the frame checked against the size ([`crate::user::check_stem_frame`]).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let read = |path: &Path, source| ImplantError::Read { path: path.to_path_buf(), source };
        let mut paths: Vec<_> = std::fs::read_dir(dir).map_err(|e| read(dir, e))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        paths.sort();
        let mut c = Self::default();
        for p in paths {
            let text = crate::read::text(&p)?;
            let origin = p.display().to_string();
            let mut f = CatalogFile::parse(&text, &origin)?;
            let base = p.parent().unwrap_or(Path::new("."));
            for (i, s) in f.shells.iter_mut().enumerate() {
                let inner = |outer: f64| outer - 2.0 * s.wall_thickness_mm;
                let (family, sizes) = (s.clone(), &mut s.frames);
                for (k, z) in sizes.iter_mut().enumerate() {
                    z.frame = base.join(&z.frame);
                    let bad = |why: String| ImplantError::Invalid { origin: origin.clone(), field: format!("shells[{i}].frames[{k}]"), why };
                    if !family.has_size(z.outer_diameter_mm) {
                        return Err(bad(format!("{} mm is not a size of the series {:?}", z.outer_diameter_mm, family.name)));
                    }
                    let g = crate::user::check_cup_frame(&z.frame, inner(z.outer_diameter_mm)).map_err(bad)?;
                    z.bearing_diameter_mm = g.diameter_mm;
                }
                if let Some(k) = (1..sizes.len()).find(|&k| sizes[..k].iter().any(|z| (z.outer_diameter_mm - sizes[k].outer_diameter_mm).abs() < 1e-9)) {
                    return Err(ImplantError::Invalid {
                        origin: origin.clone(),
                        field: format!("shells[{i}].frames[{k}]"),
                        why: format!("a second frame for the {} mm size", sizes[k].outer_diameter_mm),
                    });
                }
            }
            for (i, s) in f.stems.iter_mut().enumerate() {
                for (k, z) in s.sizes.iter_mut().enumerate() {
                    if let Some(frame) = &mut z.frame {
                        *frame = base.join(&*frame);
                    }
                    if let Some(frame) = &z.frame {
                        crate::user::check_stem_frame(frame, s.ccd_deg, z.neck_diameter_mm).map_err(|why| ImplantError::Invalid {
                            origin: origin.clone(),
                            field: format!("stems[{i}].sizes[{k}].frame"),
                            why,
                        })?;
                    }
                }
            }
            c.add_file(f, &origin)?;
        }
        Ok(c)
    }

    /// Parses, validates and adds one file's families; liner names must stay unique.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<()> {
        let f = CatalogFile::parse(text, origin)?;
        self.add_file(f, origin)
    }

    /// Validates and adds one parsed file's families. Names must stay unique (liners, stem
    /// series), and no two shell series may offer the same diameter: which of them a planned
    /// size came from would be a guess.
    fn add_file(&mut self, f: CatalogFile, origin: &str) -> Result<()> {
        f.validate(origin)?;
        let taken = |field: String, why: String| ImplantError::Invalid { origin: origin.into(), field, why };
        if let Some(i) = f.shells.iter().position(|s| s.frames.iter().any(|z| z.bearing_diameter_mm <= 0.0)) {
            return Err(taken(format!("shells[{i}].frames"), "a size's own geometry is read from a catalog folder (--catalog DIR), where its frame file is found".into()));
        }
        for (i, l) in f.liners.iter().enumerate() {
            if self.liners.iter().any(|m| m.name == l.name) {
                return Err(taken(format!("liners[{i}].name"), format!("{:?} is already in the catalog", l.name)));
            }
        }
        for (i, s) in f.stems.iter().enumerate() {
            if self.stems.iter().chain(&f.stems[..i]).any(|m| m.name == s.name) {
                return Err(taken(format!("stems[{i}].name"), format!("{:?} is already in the catalog; give each stem series its own name", s.name)));
            }
        }
        for (i, s) in f.shells.iter().enumerate() {
            let n = ((s.outer_diameter_max_mm - s.outer_diameter_min_mm) / s.outer_diameter_step_mm).round() as usize;
            let sizes = (0..=n).map(|k| s.outer_diameter_min_mm + k as f64 * s.outer_diameter_step_mm);
            if let Some((od, other)) = sizes.filter_map(|od| self.shells.iter().chain(&f.shells[..i]).find(|o| o.has_size(od)).map(|o| (od, o))).next() {
                return Err(taken(
                    format!("shells[{i}]"),
                    format!(
                        "the series {:?} overlaps {:?} (both offer {od} mm): a planned shell's series would be a guess; keep one series per diameter, or put the other in its own design",
                        s.name, other.name
                    ),
                ));
            }
        }
        self.shells.extend(f.shells);
        self.liners.extend(f.liners);
        self.heads.extend(f.heads);
        self.stems.extend(f.stems);
        Ok(())
    }

    /// The smallest shell of any series whose inner diameter holds a liner of `liner` for a head
    /// of `head_diameter_mm` (at the liner's minimum thickness).
    pub fn smallest_shell_for(&self, liner: &LinerSpec, head_diameter_mm: f64) -> Result<Shell> {
        let need = head_diameter_mm + 2.0 * liner.min_thickness_mm;
        let mut best: Option<Shell> = None;
        for s in &self.shells {
            let n = ((s.outer_diameter_max_mm - s.outer_diameter_min_mm) / s.outer_diameter_step_mm).round() as usize;
            for k in 0..=n {
                let od = s.outer_diameter_min_mm + k as f64 * s.outer_diameter_step_mm;
                if od - 2.0 * s.wall_thickness_mm >= need - 1e-9 && best.as_ref().is_none_or(|b| od < b.outer_diameter_mm) {
                    best = Some(Shell::new(od, s.wall_thickness_mm)?);
                }
            }
        }
        best.ok_or_else(|| ImplantError::DoesNotFit {
            why: format!("no shell in the catalog holds a {head_diameter_mm} mm head in a liner of {} mm wall (needs an inner diameter >= {need} mm)", liner.min_thickness_mm),
        })
    }

    /// The first series that has a shell of exactly `outer_diameter_mm`.
    pub fn shell_family(&self, outer_diameter_mm: f64) -> Option<&ShellFamily> {
        self.shells.iter().find(|s| s.has_size(outer_diameter_mm))
    }

    /// A shell of exactly `outer_diameter_mm` from any series.
    pub fn shell(&self, outer_diameter_mm: f64) -> Result<Shell> {
        if let Some(s) = self.shell_family(outer_diameter_mm) {
            return Shell::new(outer_diameter_mm, s.wall_thickness_mm);
        }
        let available = self.shells.iter().map(|s| format!("{}-{} mm in {} mm steps", s.outer_diameter_min_mm, s.outer_diameter_max_mm, s.outer_diameter_step_mm)).collect::<Vec<_>>().join(", ");
        Err(ImplantError::NotInCatalog { kind: "shell", wanted: format!("{outer_diameter_mm} mm"), available })
    }

    /// The engineer's own cup of shell size `outer_diameter_mm` (its series' `frames`), if the
    /// size has one.
    pub fn shell_frame(&self, outer_diameter_mm: f64) -> Option<&ShellFrame> {
        self.shell_family(outer_diameter_mm)?.frames.iter().find(|z| (z.outer_diameter_mm - outer_diameter_mm).abs() < 1e-9)
    }

    /// The liner named `name`, or the first of `geometry` when `name` is a geometry keyword
    /// (`hemispherical`, `elevated_rim`, `chamfered`).
    pub fn liner_spec(&self, name: &str) -> Result<&LinerSpec> {
        let by_geometry = |g: LinerGeometry| self.liners.iter().find(|l| l.geometry == g);
        let hit = self.liners.iter().find(|l| l.name == name).or_else(|| match name {
            "hemispherical" | "neutral" => by_geometry(LinerGeometry::Hemispherical),
            "elevated_rim" | "elevated" => by_geometry(LinerGeometry::ElevatedRim),
            "chamfered" => by_geometry(LinerGeometry::Chamfered),
            _ => None,
        });
        hit.ok_or_else(|| ImplantError::NotInCatalog {
            kind: "liner",
            wanted: format!("{name:?}"),
            available: self.liners.iter().map(|l| format!("{:?}", l.name)).chain(["hemispherical", "elevated_rim", "chamfered"].map(String::from)).collect::<Vec<_>>().join(", "),
        })
    }

    /// A liner of `spec` for a head of `head_diameter_mm` in `shell`.
    pub fn liner(&self, spec: &LinerSpec, head_diameter_mm: f64, shell: &Shell) -> Result<Liner> {
        let rim = match spec.geometry {
            LinerGeometry::Hemispherical => Rim::Hemispherical,
            LinerGeometry::Chamfered => Rim::Chamfered { chamfer: Angle::from_deg(spec.chamfer_deg.unwrap_or_default()) },
            LinerGeometry::ElevatedRim => Rim::Elevated {
                height_mm: spec.rim_height_mm.unwrap_or_default(),
                arc: Angle::from_deg(spec.rim_arc_deg.unwrap_or_default()),
                transition: Angle::from_deg(spec.rim_transition_deg.unwrap_or(30.0)),
                orientation: Angle::from_deg(spec.rim_orientation_deg.unwrap_or_default()),
            },
        };
        let liner = Liner::new(head_diameter_mm, shell.inner_diameter_mm(), rim)?;
        if liner.thickness_mm() < spec.min_thickness_mm - 1e-9 {
            return Err(ImplantError::DoesNotFit {
                why: format!(
                    "liner {:?} for a {head_diameter_mm} mm head in a {} mm shell is {:.1} mm thick, below its minimum {} mm; choose a larger shell or a smaller head",
                    spec.name,
                    shell.outer_diameter_mm,
                    liner.thickness_mm(),
                    spec.min_thickness_mm
                ),
            });
        }
        Ok(liner)
    }

    /// A head of `diameter_mm` with `neck_length_offset_mm` from any series.
    pub fn head(&self, diameter_mm: f64, neck_length_offset_mm: f64) -> Result<Head> {
        let hit = self.heads.iter().any(|h| h.diameters_mm.iter().any(|d| (d - diameter_mm).abs() < 1e-6) && h.neck_length_offsets_mm.iter().any(|o| (o - neck_length_offset_mm).abs() < 1e-6));
        if !hit {
            let available = self.heads.iter().map(|h| format!("{}: diameters {:?} mm, offsets {:?} mm", h.name, h.diameters_mm, h.neck_length_offsets_mm)).collect::<Vec<_>>().join("; ");
            return Err(ImplantError::NotInCatalog { kind: "head", wanted: format!("{diameter_mm} mm, offset {neck_length_offset_mm} mm"), available });
        }
        Head::new(diameter_mm, neck_length_offset_mm)
    }

    /// Size `size` of the stem series `family` (by name; `None` takes the first series).
    pub fn stem(&self, family: Option<&str>, size: &str) -> Result<Stem> {
        let fam = match family {
            Some(n) => self.stems.iter().find(|s| s.name == n),
            None => self.stems.first(),
        };
        let list = || self.stems.iter().map(|s| format!("{:?} sizes {:?}", s.name, s.sizes.iter().map(|z| z.size.as_str()).collect::<Vec<_>>())).collect::<Vec<_>>().join("; ");
        let fam = fam.ok_or_else(|| ImplantError::NotInCatalog { kind: "stem", wanted: format!("{family:?}"), available: list() })?;
        let z = fam.sizes.iter().find(|z| z.size == size).ok_or_else(|| ImplantError::NotInCatalog { kind: "stem", wanted: format!("{:?} size {size:?}", fam.name), available: list() })?;
        Stem::new(Angle::from_deg(fam.ccd_deg), z.offset_mm, z.neck_length_mm, z.neck_diameter_mm, Angle::from_deg(fam.neck_flare_deg))
    }
}

#[cfg(test)]
mod tests;

//! Scenario files: what `coxa run` does, declared in TOML.
//!
//! A scenario chains the stages for one or more cases (patients): input (a CT, bone surfaces or
//! the built-in phantom), anatomy, implants and their placement (planned by the optimiser, or
//! fixed), range of motion under standing and sitting pelvic tilts, and the report. Lists in
//! `[implants]`, `[placement]` and `[rom]` are sweeps: every combination is run for every case.
//!
//! Rules (docs/DESIGN.md): `schema_version = 1`; unknown fields are errors; every number carries its unit
//! in its name (`_mm`, `_deg`, `_n`); paths are relative to the scenario file; NaN and infinities
//! are refused. Every error names the file, the line and the field.
//!
//! ```toml
//! schema_version = 1
//! name = "right hip, three patients"
//! output_dir = "results/right-hips"        # default: "<file stem>-results" beside the file
//!
//! [[cases]]
//! name = "p01"
//! ct = "p01/ct.nii.gz"                     # or: meshes = { hip_right = "...", femur_right = "..." }
//! labels = "p01/seg.nii.gz"                # optional (TotalSegmentator ids), e.g. for muscles
//! # model = "models/hip.toml"              # or: a learned model's card segments the CT (muscles
//! # model_use = "muscles"                  #  and bones, or "muscles" only); not with labels
//! side = "right"
//!
//! [implants]
//! head_diameter_mm = [28, 32, 36]          # a sweep
//! liner = "hemispherical"
//!
//! [placement]                              # fixed angles (else [plan] optimises them)
//! cup_inclination_deg = 40
//! cup_anteversion_deg = [10, 20, 30]
//! stem_anteversion_deg = 15
//!
//! [rom]
//! standing_tilt_deg = [0, 10]
//! sitting_extra_tilt_deg = 20
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;

mod cases;
pub mod designs;
mod in_memory;
mod sections;
mod settings;
mod sweep;

pub use crate::scenario_file::{
    CaseSpec, Finite, ImplantsSection, MskSection, OneOrMany, PacsCaseSpec, PlacementSection, PlanSection, ReportSection, RomSection, SCHEMA_VERSION, ScenarioFile, parse_definition, parse_side,
};
pub use in_memory::InMemoryCt;
pub use settings::{LesionsStage, PseudoMriStage, ReportSettings};

/// A scenario error: the file, the line (1-based) and the field, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The scenario file.
    pub file: PathBuf,
    /// Line of the offending value, 1-based, when known.
    pub line: Option<usize>,
    /// The field (dotted path), when known.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
        }
        if let Some(k) = &self.field {
            write!(f, ", field `{k}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Where a case's input comes from, resolved against the scenario file.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseInput {
    /// A CT with an optional label map.
    Ct {
        /// The CT.
        ct: PathBuf,
        /// Its label map.
        labels: Option<PathBuf>,
    },
    /// Bone surfaces by name.
    Meshes(Vec<(String, PathBuf)>),
    /// The built-in phantom.
    Phantom,
    /// The realistic phantom voxelised from the installed LLP26 shape model
    /// ([`crate::shape_phantom`]).
    ShapePhantom {
        /// The `musculoskeletal/models` folder.
        model: PathBuf,
        /// The mean or a training subject.
        shape: crate::shape_phantom::PhantomShape,
    },
    /// A virtual subject of a shape-model population, drawn when the case runs.
    ShapeSample(Box<crate::population::ShapeSample>),
    /// A CT handed over in memory (the Python package's `coxa.plan(ct=Volume)`), with an optional
    /// label map on its grid ([`InMemoryCt`]).
    Volume(Box<InMemoryCt>),
    /// A study on a PACS, pulled when the case runs.
    Pacs {
        /// The server address.
        server: String,
        /// StudyInstanceUID.
        study: String,
    },
}

/// A case, checked and resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Name (its output folder).
    pub name: String,
    /// Input.
    pub input: CaseInput,
    /// Operated side.
    pub side: coxa_core::Side,
    /// Units of the mesh files, when given (`None`: millimetres, checked from the bone sizes).
    pub mesh_units: Option<coxa_anatomy::bone_check::LengthUnit>,
    /// A learned model segments the case's CT (`model` in the case).
    pub model: Option<CaseSegmentModel>,
}

/// A case's learned segmentation model (`model`, `model_use` of a case).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSegmentModel {
    /// The model card (TOML), resolved against the scenario file.
    pub card: PathBuf,
    /// Only the model's muscles (`model_use = "muscles"`): the bones from coxa's segmentation.
    pub muscles_only: bool,
}

/// Fixed placement of one sweep point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Cup angles.
    pub cup: coxa_core::CupAngles,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
}

/// One combination of the swept values.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// The design's name (`[[designs]]`; None: the scenario's one catalog).
    pub design: Option<String>,
    /// Head diameter, mm (None: the planner chooses).
    pub head_diameter_mm: Option<f64>,
    /// Head offset, mm.
    pub head_offset_mm: f64,
    /// Liner name (None: the catalog's default, hemispherical).
    pub liner: Option<String>,
    /// Stem size.
    pub stem_size: Option<String>,
    /// Fixed placement (None: planned).
    pub placement: Option<Placement>,
    /// Standing posterior pelvic tilt, deg.
    pub standing_tilt_deg: f64,
    /// Sitting extra tilt, deg.
    pub sitting_extra_tilt_deg: f64,
}

impl SweepPoint {
    /// The posterior pelvic tilts of the point's postures (sitting: standing plus the extra).
    pub fn tilts(&self) -> coxa_sim::rom::PelvicTilts {
        let deg = coxa_core::Angle::from_deg;
        coxa_sim::rom::PelvicTilts { standing: deg(self.standing_tilt_deg), sitting: deg(self.standing_tilt_deg + self.sitting_extra_tilt_deg) }
    }

    /// A short label, e.g. `head32_av20_tilt0`.
    pub fn label(&self) -> String {
        // Angles are kept in radians: 15 deg comes back as 14.999999999999998. A label shows the
        // value to a millionth, as the scenario gave it.
        let n = |v: f64| {
            let r = (v * 1e6).round() / 1e6;
            format!("{}", if r == 0.0 { 0.0 } else { r })
        };
        let mut s = Vec::new();
        if let Some(d) = &self.design {
            s.push(d.clone());
        }
        if let Some(h) = self.head_diameter_mm {
            s.push(format!("head{}", n(h)));
        }
        if self.head_offset_mm != 0.0 {
            s.push(format!("off{}", n(self.head_offset_mm)));
        }
        if let Some(l) = &self.liner {
            s.push(l.clone());
        }
        if let Some(z) = &self.stem_size {
            s.push(format!("stem{z}"));
        }
        if let Some(p) = &self.placement {
            s.push(format!("inc{}_av{}_sv{}", n(p.cup.inclination.deg()), n(p.cup.anteversion.deg()), n(p.stem_anteversion_deg)));
        }
        s.push(format!("tilt{}", n(self.standing_tilt_deg)));
        s.join("_")
    }
}

/// A parsed, checked scenario: cases and sweep points, paths resolved, every section a typed
/// value (nothing reads the TOML as written after the checks).
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from (for a scenario made in code, the path its relative paths and the
    /// default output folder would resolve against).
    pub file: PathBuf,
    /// Its `name` (`None`: the report names it after the file's stem).
    pub name: Option<String>,
    /// Its text as read, for the run's fingerprint and the results folder's `scenario.toml`
    /// (`None` for a scenario made in code, [`Scenario::of_case`]).
    pub text: Option<String>,
    /// Output folder.
    pub output_dir: PathBuf,
    /// Cases in order.
    pub cases: Vec<Case>,
    /// Sweep points (cartesian product of every list), in a fixed order.
    pub sweep: Vec<SweepPoint>,
    /// Motions by name (empty: all).
    pub motions: Vec<String>,
    /// A catalog folder.
    pub catalog: Option<PathBuf>,
    /// The designs compared (`[[designs]]`; empty: the one catalog and user parts above, which
    /// otherwise are the first design's).
    pub designs: Vec<designs::Design>,
    /// The user cup's frame file.
    pub user_cup: Option<PathBuf>,
    /// The user stem's frame file.
    pub user_stem: Option<PathBuf>,
    /// The musculoskeletal stage.
    pub msk: Option<crate::msk_stage::MskInput>,
    /// The radiomics stage.
    pub radiomics: Option<crate::radiomics::RadiomicsStage>,
    /// The pseudo-MRI stage (`[pseudo_mri]`).
    pub pseudo_mri: Option<PseudoMriStage>,
    /// The bone-lesion search (`[lesions]`).
    pub lesions: Option<LesionsStage>,
    /// What the report holds (`[report]`).
    pub report: ReportSettings,
    /// The planner's constraints for a planned sweep point, before the point's own choices
    /// (head, liner, tilts): `[plan]`'s cup ranges, or `coxa plan`'s flags.
    pub plan_options: coxa_planner::PlanOptions,
    /// What `coxa plan` was asked, written into the case as `request.json` (none for a
    /// scenario file's cases).
    pub request: Option<coxa_core::PlanRequest>,
    /// The anatomy found once and reused by the cases of the same input (the planning desk's
    /// re-plans, [`crate::memo::AnatomyMemo`]); none: each case finds its own.
    pub anatomy_memo: Option<std::sync::Arc<crate::memo::AnatomyMemo>>,
    /// The formats the case's bone and implant meshes are written in besides STL, which every
    /// case folder holds (coxa's viewer and revisions read it): `--mesh-format`; empty by default.
    pub mesh_formats: Vec<coxa_io::mesh::MeshFormat>,
}

/// The settings of a scenario of one case made in code ([`Scenario::of_case`]): what `coxa
/// plan`'s flags give, each a value as a scenario file's sections would resolve to.
#[derive(Debug, Clone)]
pub struct OneCaseSettings {
    /// The scenario's name (the report's "scenario").
    pub name: String,
    /// The path relative paths and the default output folder resolve against (no file is read).
    pub file: PathBuf,
    /// An implant catalog folder (`None`: the built-in catalog).
    pub catalog: Option<PathBuf>,
    /// What the report holds.
    pub report: ReportSettings,
    /// The standing pelvic tilt, deg (`[rom] standing_tilt_deg`, one value).
    pub standing_tilt_deg: f64,
    /// The sitting tilt beyond standing, deg (`[rom] sitting_extra_tilt_deg`).
    pub sitting_extra_tilt_deg: f64,
    /// The planner's constraints.
    pub plan_options: coxa_planner::PlanOptions,
    /// What `coxa plan` was asked (`request.json`).
    pub request: Option<coxa_core::PlanRequest>,
    /// The anatomy kept from an earlier case of the same input.
    pub anatomy_memo: Option<std::sync::Arc<crate::memo::AnatomyMemo>>,
    /// The meshes' formats besides STL (`--mesh-format`).
    pub mesh_formats: Vec<coxa_io::mesh::MeshFormat>,
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The dotted key whose value (or key) is at byte `at`: the `[table]` above it and the key on
/// its line (`[[cases]]` tables as `cases[n]`).
fn field_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split_once('=').map(|(k, _)| k.trim()).filter(|k| !k.is_empty() && !k.starts_with('['))?;
    let mut table = String::new();
    let mut n_cases = 0usize;
    for l in text[..line_start].lines() {
        let l = l.trim();
        if l.starts_with("[[") {
            let name = l.trim_matches(['[', ']']).trim();
            n_cases += usize::from(name == "cases");
            table = if name == "cases" { format!("cases[{}]", n_cases - 1) } else { name.to_string() };
        } else if l.starts_with('[') {
            table = l.trim_matches(['[', ']']).trim().to_string();
        }
    }
    Some(if table.is_empty() { key.to_string() } else { format!("{table}.{key}") })
}

/// Field names that end in a unit, and what the unit is.
const UNITS: [(&str, &str); 8] =
    [("_mm", "millimetres"), ("_cm", "centimetres"), ("_m", "metres"), ("_deg", "degrees"), ("_rad", "radians"), ("_n", "newtons"), ("_kg", "kilograms"), ("_in", "inches")];

/// Every field name the schema knows (for the wrong-unit hint).
const KNOWN_FIELDS: [&str; 27] = [
    "schema_version",
    "name",
    "description",
    "output_dir",
    "cases",
    "cases_dir",
    "ct",
    "labels",
    "meshes",
    "mesh_units",
    "phantom",
    "phantom_shape",
    "model",
    "model_use",
    "side",
    "catalog",
    "head_diameter_mm",
    "head_offset_mm",
    "liner",
    "stem_size",
    "cup_inclination_deg",
    "cup_anteversion_deg",
    "stem_anteversion_deg",
    "standing_tilt_deg",
    "sitting_extra_tilt_deg",
    "cup_inclination_range_deg",
    "body_weight_n",
];

/// `cup_inclination_rad` -> "wrong unit: ... write `cup_inclination_deg` (degrees)".
fn unit_hint(unknown: &str) -> Option<String> {
    let (stem, unit) = UNITS.iter().find_map(|(suffix, unit)| unknown.strip_suffix(suffix).map(|s| (s, *unit)))?;
    let known = KNOWN_FIELDS.iter().find(|k| UNITS.iter().any(|(s, _)| k.strip_suffix(s) == Some(stem)))?;
    let known_unit = UNITS.iter().find(|(s, _)| known.ends_with(s)).map_or("", |(_, u)| *u);
    Some(format!("wrong unit: `{unknown}` is in {unit}, but coxa takes this value as `{known}` in {known_unit}; convert it and rename the field"))
}

impl Scenario {
    /// Reads and checks a scenario file.
    ///
    /// # Errors
    /// A [`ScenarioError`] naming the file, line and field: unreadable file, TOML syntax,
    /// unknown field (with a hint when only the unit differs), wrong type, NaN, wrong schema
    /// version, a missing input file, a bad case name or side, an unknown motion.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).map_err(|e| ScenarioError {
            file: path.to_path_buf(),
            line: None,
            field: None,
            message: format!("cannot read the scenario file ({e})"),
        })?;
        Self::from_text(text, path)
    }

    /// Parses and checks scenario `text` as if read from `path` (relative paths resolve
    /// against its folder).
    ///
    /// # Errors
    /// As [`Scenario::load`].
    pub fn from_text(text: String, path: &Path) -> Result<Self, ScenarioError> {
        Self::checked(text, path)
    }

    /// A scenario of the one `case` made in code (`coxa plan`, the Python package): no TOML, the
    /// settings given as values and checked as a scenario file's are (the tilts against the
    /// plan's ranges); one sweep point, planned by the optimiser, every motion.
    ///
    /// # Errors
    /// A tilt out of its range, named by its scenario field.
    pub fn of_case(case: Case, settings: OneCaseSettings) -> Result<Self, ScenarioError> {
        let err = |field: &str, message: String| ScenarioError { file: settings.file.clone(), line: None, field: Some(field.to_string()), message };
        coxa_core::plan_ranges::PlanValue::StandingTiltDeg.check(settings.standing_tilt_deg).map_err(|e| err("rom.standing_tilt_deg", e.to_string()))?;
        coxa_core::plan_ranges::PlanValue::SittingExtraTiltDeg.check(settings.sitting_extra_tilt_deg).map_err(|e| err("rom.sitting_extra_tilt_deg", e.to_string()))?;
        let point = SweepPoint {
            design: None,
            head_diameter_mm: None,
            head_offset_mm: 0.0,
            liner: None,
            stem_size: None,
            placement: None,
            standing_tilt_deg: settings.standing_tilt_deg,
            sitting_extra_tilt_deg: settings.sitting_extra_tilt_deg,
        };
        let base = settings.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let output_dir = base.join(format!("{}-results", settings.file.file_stem().map_or("scenario".into(), |s| s.to_string_lossy())));
        Ok(Self {
            file: settings.file,
            name: Some(settings.name),
            text: None,
            output_dir,
            cases: vec![case],
            sweep: vec![point],
            motions: Vec::new(),
            catalog: settings.catalog,
            designs: Vec::new(),
            user_cup: None,
            user_stem: None,
            msk: None,
            radiomics: None,
            pseudo_mri: None,
            lesions: None,
            report: settings.report,
            plan_options: settings.plan_options,
            request: settings.request,
            anatomy_memo: settings.anatomy_memo,
            mesh_formats: settings.mesh_formats,
        })
    }

    /// `text` parsed and checked: its cases and every section as typed values.
    fn checked(text: String, path: &Path) -> Result<Self, ScenarioError> {
        let raw = parse(&text, path)?;
        let cx = Checker { text: &text, path, base: path.parent().map(Path::to_path_buf).unwrap_or_default() };
        let cases = cases::cases(&cx, &raw)?;
        crate::scenario_checks::contradictions(&raw).map_err(|(span, field, message)| cx.err(span.and_then(|s| cx.at(s)), Some(field), message))?;
        let sweep = sweep::sweep(&cx, &raw)?;
        let motions = sweep::motions(&cx, &raw)?;
        let output_dir = match &raw.output_dir {
            Some(d) => cx.resolve(d, "output_dir", false)?,
            None => cx.base.join(format!("{}-results", path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy()))),
        };
        let mut catalog = raw.implants.catalog.as_ref().map(|c| cx.resolve(c, "implants.catalog", true)).transpose()?;
        let mut user_cup = raw.implants.user_cup.as_ref().map(|c| cx.resolve(c, "implants.user_cup", true)).transpose()?;
        let mut user_stem = raw.implants.user_stem.as_ref().map(|c| cx.resolve(c, "implants.user_stem", true)).transpose()?;
        let designs = designs::designs(&cx, &raw)?;
        if let Some(first) = designs.first() {
            (catalog, user_cup, user_stem) = (first.catalog_dir.clone(), first.user_cup.clone(), first.user_stem.clone());
        }
        let msk = sections::msk(&cx, &raw)?;
        let radiomics = sections::radiomics(&cx, &raw)?;
        let pseudo_mri = sections::pseudo_mri(&cx, &raw)?;
        let lesions = sections::lesions(&cx, &raw)?;
        let report = sections::report(&cx, &raw)?;
        let plan_options = sections::plan_options(&raw);
        Ok(Self {
            file: path.to_path_buf(),
            name: raw.name,
            text: Some(text),
            output_dir,
            cases,
            sweep,
            motions,
            catalog,
            designs,
            user_cup,
            user_stem,
            msk,
            radiomics,
            pseudo_mri,
            lesions,
            report,
            plan_options,
            request: None,
            anatomy_memo: None,
            mesh_formats: Vec::new(),
        })
    }
}

/// The scenario's TOML parsed (the field of a syntax or type error named, with the unit hint)
/// and its schema version checked.
fn parse(text: &str, path: &Path) -> Result<ScenarioFile, ScenarioError> {
    let err = |line: Option<usize>, field: Option<&str>, message: String| ScenarioError { file: path.to_path_buf(), line, field: field.map(str::to_string), message };
    let raw: ScenarioFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        let msg = e.message().trim().to_string();
        // "unknown field `x`, expected ..." -> name the field, add the unit hint.
        let unknown = msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next()).map(str::to_string);
        let field = e.span().and_then(|s| field_at(text, s.start)).or_else(|| unknown.clone());
        let message = match unknown.as_deref().and_then(unit_hint) {
            Some(h) => h,
            None => msg,
        };
        err(line, field.as_deref(), message)
    })?;
    let at = |s: std::ops::Range<usize>| Some(line_of(text, s.start));
    if *raw.schema_version.get_ref() != SCHEMA_VERSION {
        return Err(err(
            at(raw.schema_version.span()),
            Some("schema_version"),
            format!("schema version {} is not one this coxa reads ({SCHEMA_VERSION}); rewrite the file for schema {SCHEMA_VERSION}", raw.schema_version.get_ref()),
        ));
    }
    Ok(raw)
}

/// What the checks of a scenario need: its text (for line numbers), its file and its folder
/// (relative paths resolve against it).
struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    base: PathBuf,
}

impl Checker<'_> {
    /// An error at `line` in `field`.
    fn err(&self, line: Option<usize>, field: Option<&str>, message: String) -> ScenarioError {
        ScenarioError { file: self.path.to_path_buf(), line, field: field.map(str::to_string), message }
    }

    /// The line of a span.
    fn at(&self, s: std::ops::Range<usize>) -> Option<usize> {
        Some(line_of(self.text, s.start))
    }

    /// `p` against the scenario's folder; `must_exist`: an error when it does not.
    fn resolve(&self, p: &Spanned<PathBuf>, field: &str, must_exist: bool) -> Result<PathBuf, ScenarioError> {
        let full = self.base.join(p.get_ref());
        if must_exist && !full.exists() {
            return Err(self.err(self.at(p.span()), Some(field), format!("{} does not exist (paths are relative to the scenario file)", full.display())));
        }
        Ok(full)
    }
}

#[cfg(test)]
mod tests;

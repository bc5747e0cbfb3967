//! `coxa plan`: implant sizes and placement of a total hip, optimised for impingement-free
//! daily-life motion, leg length and offset, with the simulator as the planner's ROM scorer.
//!
//! ```text
//! coxa plan --mesh hip_right=HR.stl --mesh femur_right=FR.stl [--mesh hip_left=HL.stl --mesh femur_left=FL.stl]
//!           [--side left|right] --out DIR [--case-name NAME] [--json]
//! coxa plan --ct CT [--labels SEG.nii.gz] [--side left|right] --out DIR [--case-name NAME] [--json]
//! ```
//! Writes the case folder `coxa run` writes for a case (issue 41): `anatomy/`, `plan.json`,
//! `rom/`, `pictures/`, `report.json`, `report.html`, `report.pdf`, `implants/`, `model.json`,
//! `inputs.json`, `case.json` and `manifest.json`; `DIR` must not exist yet and appears only
//! when complete. Cup angles are searched and reported in the **radiographic** definition
//! (Murray 1993) in the pelvic frame (anterior pelvic plane when both hip bones are given) and
//! reported in all three definitions; joint angles and motions are `coxa rom`'s.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;

use coxa_case::scenario::InMemoryCt;
use serde_json::Value;

use coxa_core::{FixedChoicesRequest, InputMesh, PlanRecord, PlanRequest, Side};

pub use coxa_case::stages::plan::{plan_anatomy, plan_record, scorer};

/// Arguments of `coxa plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A bone surface as NAME=FILE (STL or PLY, LPS mm): hip_left, hip_right, femur_left,
    /// femur_right. The operated side needs its hip bone and femur; the other hip bone adds the
    /// anterior pelvic plane, the other femur (with it) the leg-length and offset reference.
    #[arg(long = "mesh", value_name = "NAME=FILE", conflicts_with = "ct")]
    pub meshes: Vec<String>,
    /// Units of the --mesh files when they are not millimetres: mm, cm, m or in (without it,
    /// meshes whose bone sizes fit another unit are refused).
    #[arg(long, value_name = "UNIT", value_parser = coxa_case::bone_input::parse_units, requires = "meshes")]
    pub mesh_units: Option<coxa_anatomy::bone_check::LengthUnit>,
    /// A CT (DICOM folder or file, NIfTI) instead of meshes: bones segmented (or taken from
    /// --labels), surfaces and landmarks as `coxa anatomy` makes them, kept in DIR/anatomy/.
    #[arg(long)]
    pub ct: Option<PathBuf>,
    /// A label map on the CT's grid (TotalSegmentator ids) for --ct, a folder of one mask per class
    /// named by its file (TotalSegmentator's default output), or a DICOM SEG of the CT.
    #[arg(long, requires = "ct")]
    pub labels: Option<PathBuf>,
    /// Operated side; default: the side of the only femur given (required with two femurs or a CT).
    #[arg(long, ignore_case = true)]
    pub side: Option<super::side::SideArg>,
    /// The output folder; it must not exist yet (coxa never overwrites).
    #[arg(long)]
    pub out: PathBuf,
    /// The case's name on the report (title, page footers, PDF metadata) and in case.json;
    /// default: the `--out` folder's name. Any script, at most 200 characters on one line; it is
    /// text only, never part of a file name.
    #[arg(long, value_name = "NAME")]
    pub case_name: Option<String>,
    /// Fixed head diameter, mm (default: the optimiser chooses among the catalog's heads >= 28 mm).
    #[arg(long)]
    pub head_mm: Option<f64>,
    /// Liner(s) to consider: a catalog liner name or hemispherical, elevated_rim, chamfered. Repeat for several.
    #[arg(long = "liner", default_value = "neutral")]
    pub liners: Vec<String>,
    /// Cup inclination range, radiographic, deg.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], default_values_t = [30.0, 55.0], allow_negative_numbers = true)]
    pub cup_inclination_deg: Vec<f64>,
    /// Cup anteversion range, radiographic, deg.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], default_values_t = [0.0, 35.0], allow_negative_numbers = true)]
    pub cup_anteversion_deg: Vec<f64>,
    /// Stem anteversion range to search, deg (default: the native version, which keeps the head on
    /// its native azimuth about the shaft axis).
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], allow_negative_numbers = true)]
    pub stem_anteversion_deg: Option<Vec<f64>>,
    /// Posterior pelvic tilt standing, deg (0: anterior pelvic plane vertical).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub pelvic_tilt_deg: f64,
    /// Additional posterior tilt sitting, deg (spinopelvic mobility: 20-30 normal, 0-10 a stiff spine).
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub sitting_extra_tilt_deg: f64,
    /// Coarse grid step of the angle search, deg.
    #[arg(long, default_value_t = 2.5)]
    pub grid_step_deg: f64,
    /// A folder of catalog TOML files instead of the built-in catalog.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// The definition the report's decision gives the cup angles in (Murray 1993); the search
    /// ranges above stay radiographic.
    #[arg(long, value_enum, default_value = "radiographic")]
    pub cup_definition: super::rom::CupDefinitionArg,
    /// Print plan.json to stdout as well.
    #[arg(long)]
    pub json: bool,
    /// Fix the shell's outer diameter, mm (a catalog size; the planning desk's cup size).
    #[arg(long, value_name = "MM")]
    pub cup_mm: Option<f64>,
    /// Move the cup centre from the one the sizing chose, pelvic frame, mm: medial, superior,
    /// anterior (the planning desk's cup shift).
    #[arg(long, num_args = 3, value_names = ["MEDIAL", "SUPERIOR", "ANTERIOR"], allow_negative_numbers = true)]
    pub cup_shift_mm: Option<Vec<f64>>,
    /// Fix the stem series (its catalog name).
    #[arg(long, value_name = "NAME")]
    pub stem_series: Option<String>,
    /// Fix the stem size (its catalog label).
    #[arg(long, value_name = "SIZE")]
    pub stem_size: Option<String>,
    /// Fix the head's neck-length offset, mm (a catalog value).
    #[arg(long, value_name = "MM", allow_negative_numbers = true)]
    pub head_offset_mm: Option<f64>,
    /// The shape model that predicts a femur whose condyles are not imaged (its frame and
    /// anteversion then come from the predicted whole femur): the musculoskeletal/models folder of
    /// musculoskeletal-models 0.2.4, or `none`. Default: the installed package if found.
    #[arg(long, value_name = "PATH|none")]
    pub shape_model: Option<String>,
    /// The meshes' formats (`--mesh-format`).
    #[command(flatten)]
    pub meshes_out: super::MeshFormatArgs,
}

/// The case `coxa plan` plans: the CT or the bone surfaces, and the operated side (from
/// `--side`, or the only femur given).
/// The most characters a case name may have (a title and footer line of the report).
pub const CASE_NAME_MAX_CHARS: usize = 200;

/// The case's name: `--case-name` checked (not empty, one line, at most
/// [`CASE_NAME_MAX_CHARS`]), else the `--out` folder's name.
///
/// # Errors
/// A name that is empty, too long or holds a control character, with the fix.
pub fn case_name(args: &PlanArgs) -> Result<String> {
    let Some(name) = &args.case_name else {
        return args.out.file_name().map(|n| n.to_string_lossy().into_owned()).with_context(|| format!("--out {}: name a folder", args.out.display()));
    };
    let n = name.chars().count();
    ensure!(!name.trim().is_empty(), "--case-name is empty: give the case a name, or leave the option out to name it after the --out folder");
    ensure!(n <= CASE_NAME_MAX_CHARS, "--case-name is {n} characters long: give at most {CASE_NAME_MAX_CHARS}");
    ensure!(!name.chars().any(char::is_control), "--case-name holds a control character (a line break, tab or escape): give the name on one line of printable text");
    Ok(name.clone())
}

/// A path as given, made absolute against the working folder (the request is read again from
/// the case folder, elsewhere).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

impl PlanArgs {
    /// What `coxa plan` is asked: the flags as typed values, paths absolute (`request.json`).
    ///
    /// # Errors
    /// A case name or `--mesh` that is not well formed.
    pub fn request(&self) -> Result<PlanRequest> {
        let meshes = if self.meshes.is_empty() { Vec::new() } else { coxa_case::bone_input::parse_mesh_args(&self.meshes, &coxa_case::bone_input::HIP_BONES)? };
        let two = |v: &[f64]| -> Result<[f64; 2]> { <[f64; 2]>::try_from(v).map_err(|_| anyhow::anyhow!("takes MIN MAX")) };
        Ok(PlanRequest {
            case_name: case_name(self)?,
            ct: self.ct.as_deref().map(absolute),
            labels: self.labels.as_deref().map(absolute),
            meshes: meshes.into_iter().map(|(name, file)| InputMesh { name, file: absolute(&file) }).collect(),
            mesh_units: self.mesh_units.map(|u| u.name().to_string()),
            side: self.side.map(Side::from),
            head_mm: self.head_mm,
            liners: self.liners.clone(),
            cup_inclination_deg: two(&self.cup_inclination_deg).context("--cup-inclination-deg")?,
            cup_anteversion_deg: two(&self.cup_anteversion_deg).context("--cup-anteversion-deg")?,
            stem_anteversion_deg: self.stem_anteversion_deg.as_deref().map(two).transpose().context("--stem-anteversion-deg")?,
            pelvic_tilt_deg: self.pelvic_tilt_deg,
            sitting_extra_tilt_deg: self.sitting_extra_tilt_deg,
            grid_step_deg: self.grid_step_deg,
            catalog: self.catalog.as_deref().map(absolute),
            cup_definition: self.cup_definition.into(),
            shape_model: self.shape_model.clone(),
            fixed: FixedChoicesRequest {
                cup_mm: self.cup_mm,
                cup_shift_mm: self.cup_shift_mm.as_deref().map(|v| <[f64; 3]>::try_from(v).map_err(|_| anyhow::anyhow!("--cup-shift-mm takes MEDIAL SUPERIOR ANTERIOR"))).transpose()?,
                stem_series: self.stem_series.clone(),
                stem_size: self.stem_size.clone(),
                head_offset_mm: self.head_offset_mm,
            },
        })
    }
}

impl PlanArgs {
    /// `coxa plan --out OUT` with every other option at the program's default: where the Python
    /// package's typed call starts (its keyword arguments then set the fields; the defaults stay
    /// the parser's, written once above).
    ///
    /// # Errors
    /// None in practice (the one option given is a path); the parser's error otherwise.
    pub fn with_out(out: PathBuf) -> Result<Self> {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            plan: PlanArgs,
        }
        use clap::Parser;
        Ok(Defaults::try_parse_from([std::ffi::OsString::from("coxa-plan"), "--out".into(), out.into_os_string()])?.plan)
    }
}

/// Runs `coxa plan`: the whole case folder `coxa run` writes for a case (anatomy, plan.json,
/// range of motion, pictures, report.html and report.pdf, implants, manifest), into a new
/// folder `DIR` that appears only when complete. Returns plan.json's record.
pub fn run(args: &PlanArgs) -> Result<PlanRecord> {
    run_with(args, None, None)
}

/// [`run`] with the CT (and label map) given in memory instead of `--ct` (`memory`), and the
/// stages told to `listener` as they start (besides the terminal's progress): the Python
/// package's `coxa.plan(ct=Volume, progress=...)`, with no file written outside `--out` and no
/// command line.
pub fn run_with(args: &PlanArgs, memory: Option<InMemoryCt>, listener: Option<coxa_case::stages::Progress<'_>>) -> Result<PlanRecord> {
    case_name(args)?;
    if args.out.exists() {
        bail!("{} already exists; coxa plan writes into a new folder and never overwrites: choose another --out", args.out.display());
    }
    super::plan_request::run_request(&args.request()?, &args.out, memory, listener, None, &args.meshes_out.mesh_format)
}

/// `coxa plan` as the command line runs it: the plan, then plan.json (`--json`) or a summary.
pub fn cli(args: &PlanArgs) -> Result<()> {
    if let Some(m) = &args.shape_model {
        coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
    }
    let v = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("wrote {}: report.html, report.pdf, plan.json, pictures, implants", args.out.display());
    let c = &v.cup;
    // As the JSON writes it (`52.0`; `null` when not finite).
    let show = |x: f64| Value::from(x).to_string();
    println!(
        "cup   {} mm, radiographic inclination {} deg, anteversion {} deg, centre {} mm (LPS), coverage {:.0} %",
        show(c.outer_diameter_mm),
        show(c.radiographic_inclination_deg),
        show(c.radiographic_anteversion_deg),
        serde_json::to_string(&c.centre_lps_mm)?,
        100.0 * c.coverage
    );
    println!("head  {} mm, neck-length offset {} mm; liner \"{}\"", show(v.head.diameter_mm), show(v.head.neck_length_offset_mm), v.liner.catalog);
    println!(
        "stem  \"{}\" size \"{}\", anteversion {} deg; {} {} deg",
        v.stem.catalog,
        v.stem.size,
        show(v.stem.anteversion_deg),
        coxa_core::CombinedAnteversion::WIDMER_LABEL,
        show(v.combined_anteversion_deg)
    );
    println!("leg length {} mm (target {}), offset {} mm (target {})", show(v.leg_length_change_mm), show(v.targets.leg_length_change_mm), show(v.offset_change_mm), show(v.targets.offset_change_mm));
    println!("{:34} {:>9} {:>9}  first contact", "motion", "limit deg", "margin");
    for m in &v.motions {
        let margin = m.margin_deg.filter(|x| x.is_finite()).map_or(String::new(), |x| format!("{x:.1}"));
        println!("{:34} {:>9.1} {:>9}  {}", m.name, m.limit_deg, margin, m.contact);
    }
    if let Some([lo, hi]) = v.search.stem_anteversion_range_deg {
        println!("stem versions searched {} to {} deg", show(lo), show(hi));
    }
    if let Some(d) = &v.daily_life {
        println!("daily life: {}", d.summary);
    }
    for n in &v.notes {
        println!("note  {n}");
    }
    for line in v.intervals.as_ref().map(coxa_case::stages::plan_intervals::summary_lines).unwrap_or_default() {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        plan: PlanArgs,
    }

    fn parse(extra: &[&str]) -> PlanArgs {
        Cli::parse_from(std::iter::once("coxa-plan").chain(extra.iter().copied())).plan
    }

    /// `--case-name` defaults to the `--out` folder's name; any script or path character is
    /// accepted as text; an empty, blank, multi-line or over-long name is refused naming the option.
    #[test]
    fn case_names() {
        assert_eq!(case_name(&parse(&["--out", "/tmp/cases/Müller"])).unwrap(), "Müller");
        for ok in ["../x", "a/b", "Müller 股骨", "<b>&"] {
            assert_eq!(case_name(&parse(&["--out", "o", "--case-name", ok])).unwrap(), ok);
        }
        let long = "x".repeat(CASE_NAME_MAX_CHARS + 1);
        for bad in ["", "  ", "a\nb", "a\tb", long.as_str()] {
            let e = case_name(&parse(&["--out", "o", "--case-name", bad])).unwrap_err().to_string();
            assert!(e.starts_with("--case-name") && !e.contains('\n'), "{e}");
        }
        assert!(case_name(&parse(&["--out", "o", "--case-name", &"é".repeat(CASE_NAME_MAX_CHARS)])).is_ok(), "characters, not bytes");
    }

    #[test]
    fn bad_flags_are_clear_errors_and_nothing_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("p");
        let o = out.to_str().unwrap();
        let e = run(&parse(&["--out", o, "--cup-inclination-deg", "50", "40"])).unwrap_err().to_string();
        assert!(e.contains("MIN"), "{e}");
        let e = run(&parse(&["--out", o, "--head-mm", "NaN"])).unwrap_err().to_string();
        assert!(e.contains("head-mm"), "{e}");
        let e = run(&parse(&["--out", o, "--mesh", "pelvis=x.stl"])).unwrap_err().to_string();
        assert!(e.contains("hip_right"), "{e}");
        let e = run(&parse(&["--out", o])).unwrap_err().to_string();
        assert!(e.contains("femur"), "{e}");
        assert!(!out.exists());
        let e = run(&parse(&["--out", tmp.path().to_str().unwrap()])).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}

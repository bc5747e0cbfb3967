//! The `coxa` command line: argument parsing and the subcommands. Each command of this folder is
//! one file (its clap arguments, a call into the stages or the library crates, its printing);
//! the older commands still sit beside their code at the crate's root (`rom.rs`, `xray.rs`, ...).

use clap::{Parser, Subcommand};

pub mod anatomy;
pub mod demo;
pub mod inspect;
pub mod lesions;
pub mod pacs;
pub mod plan;
pub mod plan_request;
pub mod progress;
pub mod pseudo_mri;
pub mod radiograph;
pub mod radiomics;
pub mod rom;
pub mod run;
pub mod segment;
pub mod shape;
pub mod side;
pub mod status;
pub mod submit;
pub mod xray;

/// `--mesh-format`, on the commands that write a case's meshes (`anatomy`, `plan`, `run`, `demo`).
#[derive(Debug, Clone, clap::Args)]
pub struct MeshFormatArgs {
    /// The formats the bone and implant meshes are written in, comma-separated (LPS mm): stl
    /// (always written: coxa's viewer reads it), obj, ply and vtp (a file per mesh beside its
    /// STL), glb (a glTF scene: anatomy/meshes/bones.glb, and a planned case's case.glb with the
    /// bones and implants, each in its own node and material).
    #[arg(long = "mesh-format", value_name = "FORMAT,...", value_delimiter = ',', default_value = "stl")]
    pub mesh_format: Vec<coxa_io::mesh::MeshFormat>,
}

impl Default for MeshFormatArgs {
    /// STL only, the flag's default.
    fn default() -> Self {
        Self { mesh_format: vec![coxa_io::mesh::MeshFormat::Stl] }
    }
}

/// Opens the CT a diagnostic command (`coxa lesions`, `coxa pseudo-mri`) reads, its refusals
/// worded for that command: a source that is not a CT names what it is and asks for a CT file or
/// a CT series' folder (coxa_io's wording names `coxa anatomy`'s `--series` and `--any-modality`,
/// which these commands do not have).
///
/// # Errors
/// The reader's, under `--ct PATH`.
pub(crate) fn open_ct(path: &std::path::Path, command: &str) -> anyhow::Result<coxa_io::Loaded> {
    coxa_io::open(path, &coxa_io::OpenOptions::new()).map_err(|e| match e {
        coxa_io::Error::NotCt { path: p, what } => {
            anyhow::anyhow!("--ct {}: {what}, not a CT; coxa {command} needs Hounsfield units from a CT: give a CT file or the folder of one CT series", p.display())
        }
        other => anyhow::Error::new(other).context(format!("--ct {}", path.display())),
    })
}

/// A command-line error of clap's (an unknown flag, a value not among the choices, a missing
/// argument) on one line, as coxa prints every error: clap's lines joined, its usage block left
/// out (`--help` shows it).
pub fn one_line_usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = Vec::new();
    let mut in_usage = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") {
            in_usage = true;
            continue;
        }
        if line.is_empty() {
            in_usage = false;
            continue;
        }
        if !in_usage {
            lines.push(line);
        }
    }
    lines.join(" ")
}

/// `s` as a TOML basic string (the scenario texts `coxa demo` and `coxa plan` make).
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What `coxa --help` says of the exit status (the book's command reference repeats it).
pub const EXIT_STATUS: &str =
    "Exit status: 0 done; 1 the work ran but some of it failed (cases of a run or a merge, an internal error): retry or report; 2 bad input or usage: fix the command or the file it names.";

/// coxa: from a patient's CT to a total hip arthroplasty plan and its simulation.
#[derive(Debug, Parser)]
#[command(name = "coxa", version = crate::view::version(), after_help = EXIT_STATUS)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Most memory one file may make coxa allocate (CT, label map, mesh), e.g. 8G, 512M, 16GiB
    /// or bytes; checked from the file's header before reading. Default: half of the memory
    /// available when coxa starts.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_memory)]
    pub max_memory: Option<u64>,
    /// Quiet: no progress (stages, bars), only the result and errors. Progress is shown only on a
    /// terminal anyway.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log lines on standard error: -v the stages and notes (info), -vv debugging. The
    /// environment variable COXA_LOG (a tracing filter such as `info` or `coxa=debug`) takes
    /// precedence.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// A memory size: a number with an optional unit K, M, G, T (powers of 1000, with or without
/// a trailing B) or KiB, MiB, GiB, TiB (powers of 1024); a bare number is bytes.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a size; write e.g. 8G, 512M or 16GiB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown unit {u:?} in {text:?}; use K, M, G, T (or KiB, MiB, GiB, TiB)")),
    };
    let bytes = value * scale;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("{text:?} is not a usable memory size (at least 1 byte)"));
    }
    Ok(bytes as u64)
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a CT (DICOM folder or file, NIfTI file) and print its geometry and HU statistics.
    Inspect(inspect::InspectArgs),
    /// Anatomy from a CT (segmentation, surfaces, landmarks, frames, muscle measures) or from
    /// bone surfaces: writes anatomy.json, meshes/ and labels.nii.gz into a new folder.
    Anatomy(anatomy::AnatomyArgs),
    /// Range of motion and impingement of an implanted hip (implants alone, or with bone surfaces).
    Rom(rom::RomArgs),
    /// Run a scenario file (TOML): every case in parallel into a results folder, with a
    /// report per case; rerun to finish what failed.
    Run(run::RunArgs),
    /// The whole pipeline on a built-in phantom CT (or --ct PATH) into a new folder with
    /// report.html.
    Demo(demo::DemoArgs),
    /// Plan a total hip: implant sizes and placement optimised for impingement-free daily-life
    /// motion, leg length and offset, from bone surfaces or a CT: writes the case folder (plan.json,
    /// report.html and report.pdf, pictures, implants) into a new folder.
    Plan(plan::PlanArgs),
    /// Shape models: `coxa shape build --atlas DIR --out pelvis.ssm` builds the pelvis model that
    /// virtual populations (`cases_from_shape_model` in a scenario) draw from.
    Shape(shape::ShapeArgs),
    /// Hip contact force of one-leg stance or walking (static optimisation on an OpenSim model)
    /// in the OrthoLoad femoral frame, from 3D Slicer landmark files.
    Hcf(crate::hcf::HcfArgs),
    /// Render a case folder's bones and planned implants with the bevy viewer (headless:
    /// --screenshot OUT.png).
    View(crate::view::ViewArgs),
    /// pyradiomics' radiomics features of an image's labels into a CSV or JSON file.
    Radiomics(crate::cli::radiomics::RadiomicsArgs),
    /// A simulated radiograph (AP pelvis or lateral hip) of a CT, the plan's implants on it.
    Xray(xray::XrayArgs),
    /// A plain radiograph (CR/DX DICOM, or PNG with --pixel-spacing-mm) read, and X-ray models
    /// (model cards: fracture, bone density, OA grade) run on it: one JSON record.
    Radiograph(crate::cli::radiograph::RadiographArgs),
    /// Submit a scenario to a cluster: a Slurm job array over shards and a merge job after it;
    /// resubmitting submits only the unfinished and failed cases.
    Submit(crate::cli::submit::SubmitArgs),
    /// Each case of a results folder: done, failed, running, queued, stopped or missing (from
    /// the folder and Slurm).
    Status(crate::cli::status::StatusArgs),
    /// Segment a CT with a learned model (ONNX, a model card): labels.nii.gz, uncertainty.nii.gz
    /// and segment.json into a new folder.
    Segment(segment::SegmentArgs),
    /// Bone metastasis candidates on a CT (classical: departures from each bone's healthy
    /// density): lesions.json and lesions.nii.gz into a new folder.
    Lesions(lesions::LesionsArgs),
    /// The hospital's PACS over DICOMweb or DIMSE: find studies, pull a CT study, push a case's
    /// results back as DICOM (SEG, SR, PDF, secondary capture).
    Pacs(pacs::PacsArgs),
    /// A pseudo T2-weighted MR image made from a CT (tissue classes mapped to spin-echo signal):
    /// pseudo_t2.nii.gz and pseudo_mri.json (and a DICOM MR series for a DICOM CT) into a new
    /// folder. Not for diagnosis alone.
    PseudoMri(crate::cli::pseudo_mri::PseudoMriArgs),
}

/// The one line the program prints for `e` (after `error: `): the message and every cause it
/// does not already quote, newlines folded (`main.rs`, and the Python package's exceptions).
pub fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg.replace('\n', " ")
}

/// The program's exit status for `e`: the kind of the outermost [`coxa_case::Error`] in its
/// chain (1: the work ran but some of it failed; 2: bad input), else 2 (the program's own
/// refusals are of the input or the usage).
pub fn exit_status(e: &anyhow::Error) -> u8 {
    e.chain().find_map(|c| c.downcast_ref::<coxa_case::Error>()).map_or(coxa_case::ErrorKind::Input, coxa_case::Error::kind).exit_status()
}

/// Runs a parsed command line, printing to stdout. Errors are returned for `main` to report.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(max) = cli.max_memory {
        coxa_io::Limits::set_process_max_bytes(max);
    }
    match cli.command {
        Command::Inspect(args) => inspect::cli(&args),
        Command::Anatomy(args) => anatomy::cli(&args),
        Command::Rom(args) => rom::cli(&args),
        Command::Run(args) => run::cli(&args),
        Command::Demo(args) => demo::cli(&args),
        Command::Plan(args) => plan::cli(&args),
        Command::Shape(args) => shape::cli(&args),
        Command::Hcf(args) => crate::hcf::cli(&args),
        Command::View(args) => crate::view::run(&args),
        Command::Radiomics(args) => crate::cli::radiomics::cli(&args),
        Command::Xray(args) => xray::cli(&args),
        Command::Radiograph(args) => crate::cli::radiograph::cli(&args),
        Command::Submit(args) => crate::cli::submit::cli(&args),
        Command::Status(args) => crate::cli::status::cli(&args),
        Command::Segment(args) => segment::cli(&args),
        Command::Pacs(args) => pacs::cli(&args),
        Command::PseudoMri(args) => crate::cli::pseudo_mri::cli(&args),
        Command::Lesions(args) => lesions::cli(&args),
    }
}

#[cfg(test)]
mod parse_memory_tests {
    use super::parse_memory;

    #[test]
    fn memory_sizes_parse_with_decimal_and_binary_units() {
        assert_eq!(parse_memory("8G"), Ok(8_000_000_000));
        assert_eq!(parse_memory("512M"), Ok(512_000_000));
        assert_eq!(parse_memory("16GiB"), Ok(16 << 30));
        assert_eq!(parse_memory("1.5gb"), Ok(1_500_000_000));
        assert_eq!(parse_memory("4096"), Ok(4096));
        assert!(parse_memory("12X").unwrap_err().contains("unknown unit"));
        assert!(parse_memory("0").is_err());
        assert!(parse_memory("G").is_err());
        assert!(parse_memory("1e30").is_err());
    }
}

#[cfg(test)]
mod usage_error_tests {
    use clap::Parser;

    use super::side::SideArg;
    use super::{Cli, Command, one_line_usage_error};

    /// Issue 40: `--side` is a value clap checks; what it refuses is said on one line, the
    /// choices named, and L/R are still taken.
    #[test]
    fn a_bad_side_is_one_line_naming_the_choices() {
        let e = Cli::try_parse_from(["coxa", "plan", "--side", "middle", "--out", "x"]).unwrap_err();
        let line = one_line_usage_error(&e);
        assert!(!line.contains('\n') && line.contains("'middle'") && line.contains("--side") && line.contains("left, right"), "{line}");
        assert!(!line.contains("Usage:"), "{line}");
        let e = Cli::try_parse_from(["coxa", "plan", "--no-such-flag"]).unwrap_err();
        assert!(one_line_usage_error(&e).contains("--no-such-flag"));
        for (given, side) in [("L", SideArg::Left), ("right", SideArg::Right), ("R", SideArg::Right), ("LEFT", SideArg::Left)] {
            let cli = Cli::try_parse_from(["coxa", "plan", "--side", given, "--out", "x"]).unwrap();
            let Command::Plan(p) = cli.command else { panic!("plan") };
            assert_eq!(p.side, Some(side), "{given}");
        }
    }
}

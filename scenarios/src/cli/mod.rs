//! The `coxa` command line: argument parsing and the subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use coxa_io::dicom::ReadOptions;
use coxa_io::{Loaded, OpenOptions, SourceKind};

/// coxa: from a patient's CT to a total hip arthroplasty plan and its simulation.
#[derive(Debug, Parser)]
#[command(name = "coxa", version = crate::view::VERSION, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Most memory one file may make coxa allocate (CT, label map, mesh), e.g. 8G, 512M, 16GiB
    /// or bytes; checked from the file's header before reading. Default: half of the memory
    /// available when coxa starts.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_memory)]
    pub max_memory: Option<u64>,
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
    Inspect(InspectArgs),
    /// Anatomy from a CT (segmentation, surfaces, landmarks, frames, muscle measures) or from
    /// bone surfaces: writes anatomy.json, meshes/ and labels.nii.gz into a new folder.
    Anatomy(AnatomyArgs),
    /// Range of motion and impingement of an implanted hip (implants alone, or with bone surfaces).
    Rom(crate::rom::RomArgs),
    /// Run a scenario file (TOML): every case in parallel into a results folder, with a
    /// report per case; rerun to finish what failed.
    Run(RunArgs),
    /// The whole pipeline on a built-in phantom CT (or --ct PATH) into a new folder with
    /// report.html.
    Demo(crate::demo::DemoArgs),
    /// Plan a total hip: implant sizes and placement optimised for impingement-free daily-life
    /// motion, leg length and offset, from bone surfaces or a CT: writes plan.json into a new folder.
    Plan(crate::plan::PlanArgs),
    /// Shape models: `coxa shape build --atlas DIR --out pelvis.ssm` builds the pelvis model that
    /// virtual populations (`cases_from_shape_model` in a scenario) draw from.
    Shape(crate::population::ShapeArgs),
    /// Hip contact force of one-leg stance or walking (static optimisation on an OpenSim model)
    /// in the OrthoLoad femoral frame, from 3D Slicer landmark files.
    Hcf(crate::hcf::HcfArgs),
    /// Render a case folder's bones and planned implants with the bevy viewer (headless:
    /// --screenshot OUT.png).
    View(crate::view::ViewArgs),
    /// pyradiomics' radiomics features of an image's labels into a CSV or JSON file.
    Radiomics(crate::radiomics_cli::RadiomicsArgs),
    /// A simulated radiograph (AP pelvis or lateral hip) of a CT, the plan's implants on it.
    Xray(crate::xray::XrayArgs),
    /// A plain radiograph (CR/DX DICOM, or PNG with --pixel-spacing-mm) read, and X-ray models
    /// (model cards: fracture, bone density, OA grade) run on it: one JSON record.
    Radiograph(crate::radiograph::RadiographArgs),
    /// Submit a scenario to a cluster: a Slurm job array over shards and a merge job after it;
    /// resubmitting submits only the unfinished and failed cases.
    Submit(crate::submit::SubmitArgs),
    /// Each case of a results folder: done, failed, running, queued, stopped or missing (from
    /// the folder and Slurm).
    Status(crate::status::StatusArgs),
    /// Segment a CT with a learned model (ONNX, a model card): labels.nii.gz, uncertainty.nii.gz
    /// and segment.json into a new folder.
    Segment(crate::segment::SegmentArgs),
    /// The hospital's PACS over DICOMweb or DIMSE: find studies, pull a CT study, push a case's
    /// results back as DICOM (SEG, SR, PDF, secondary capture).
    Pacs(crate::pacs::PacsArgs),
}

/// Arguments of `coxa anatomy`.
#[derive(Debug, Args)]
pub struct AnatomyArgs {
    /// The CT: a DICOM folder or file, or a .nii/.nii.gz file.
    #[arg(long, conflicts_with = "mesh", required_unless_present = "mesh")]
    pub ct: Option<PathBuf>,
    /// A label map on the CT's grid (TotalSegmentator ids: bones 25, 75-78; muscles 80-85, 88, 89).
    /// Without one, coxa segments the bones itself; muscles need a label map.
    #[arg(long, requires = "ct")]
    pub labels: Option<PathBuf>,
    /// The label map's class table as JSON ({"1": "femur_left", ...} or [{"id": 1, "name": ...}]),
    /// when its ids are not TotalSegmentator's; classes are then matched to coxa's by name.
    #[arg(long, requires = "labels")]
    pub label_names: Option<PathBuf>,
    /// Segment bones and muscles with a learned model (its card, TOML) instead of coxa's
    /// classical bones; writes uncertainty.nii.gz and segment.json too. Needs ONNX Runtime.
    #[arg(long, requires = "ct", conflicts_with = "labels")]
    pub model: Option<PathBuf>,
    /// What the anatomy stage takes from --model: `all` (bones and muscles) or `muscles` (the
    /// model's muscles, coxa's classical bones: for a model whose bones are too coarse for landmarks).
    #[arg(long, value_enum, default_value_t = crate::segment::ModelUse::All, requires = "model")]
    pub model_use: crate::segment::ModelUse,
    /// A bone surface instead of a CT, as NAME=FILE.stl with NAME one of femur_left, femur_right,
    /// hip_left, hip_right, sacrum (coordinates taken as LPS mm). Repeat for each bone.
    #[arg(long, value_name = "NAME=FILE")]
    pub mesh: Vec<String>,
    /// Units of the --mesh files when they are not millimetres: mm, cm, m or in (without it,
    /// meshes whose bone sizes fit another unit are refused).
    #[arg(long, value_name = "UNIT", value_parser = crate::bone_input::parse_units, requires = "mesh")]
    pub mesh_units: Option<coxa_anatomy::bone_check::LengthUnit>,
    /// The output folder; it must not exist yet (coxa never overwrites).
    #[arg(long)]
    pub out: PathBuf,
    /// The DICOM series to read when the folder holds several.
    #[arg(long)]
    pub series: Option<String>,
    /// Resample an irregular DICOM series explicitly.
    #[arg(long)]
    pub resample: bool,
    /// Print anatomy.json to stdout as well.
    #[arg(long)]
    pub json: bool,
    /// Accept a CT that does not look like one (a Modality other than CT, or a NIfTI without air)
    /// when you know its values are Hounsfield units.
    #[arg(long)]
    pub any_modality: bool,
    /// The shape model that predicts a femur whose condyles are not imaged: the
    /// musculoskeletal/models folder of musculoskeletal-models 0.2.4, or `none`. Default: the
    /// installed package if found (scripts/setup), else no prediction.
    #[arg(long, value_name = "PATH|none")]
    pub shape_model: Option<String>,
}

/// Arguments of `coxa run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML, schema_version = 1).
    pub scenario: PathBuf,
    /// Results folder instead of the scenario's `output_dir`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Start even when the run's estimate (time, memory, disk; printed for large sweeps) is past
    /// a limit.
    #[arg(long)]
    pub yes: bool,
    /// Run only shard I of N (0 <= I < N): cases I, I+N, ... of the scenario (or of
    /// --cases-file); shards share one results folder and never write the same file.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::Shard::parse, conflicts_with = "merge")]
    pub shard: Option<crate::shard::Shard>,
    /// Only the cases named in this file (one per line).
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub cases_file: Option<PathBuf>,
    /// Run nothing: build summary.json, summary.csv and index.html from whatever finished, and
    /// list the cases missing, failed or half-written.
    #[arg(long)]
    pub merge: bool,
}

fn print_outcome(o: &crate::run::RunOutcome) {
    println!("results in {}", o.out.display());
    for c in &o.finished {
        println!("done       {c}  {}", o.out.join("cases").join(c).join("report.html").display());
    }
    for c in &o.skipped {
        println!("skipped    {c} (finished earlier)");
    }
    for (c, e) in &o.failed {
        println!("FAILED     {c}: {e}");
    }
}

fn run_scenario(args: &RunArgs) -> anyhow::Result<()> {
    let scn = crate::scenario::Scenario::load(&args.scenario)?;
    if args.merge {
        return crate::merge::cli(&scn, args.out.as_deref());
    }
    crate::estimate::check(&scn, args.yes)?;
    let selection = crate::run::Selection { cases: args.cases_file.as_deref().map(crate::shard::read_case_list).transpose()?, shard: args.shard };
    let outcome = crate::run::run_selected(&scn, args.out.as_deref(), !args.quiet, &selection)?;
    print_outcome(&outcome);
    if !outcome.failed.is_empty() {
        let of = outcome.finished.len() + outcome.skipped.len() + outcome.failed.len();
        anyhow::bail!("{} of {of} cases failed (see failed/*.json in {}); run the same command again to retry them", outcome.failed.len(), outcome.out.display());
    }
    Ok(())
}

fn demo(args: &crate::demo::DemoArgs) -> anyhow::Result<()> {
    let outcome = crate::demo::demo(args)?;
    print_outcome(&outcome);
    Ok(())
}

/// Arguments of `coxa inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A folder with a DICOM series (searched recursively), a DICOM file, or a .nii/.nii.gz file.
    pub path: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The DICOM series to read when the folder holds several: SeriesInstanceUID, SeriesNumber
    /// or the 1-based index the error listing shows.
    #[arg(long)]
    pub series: Option<String>,
    /// Resample an irregular DICOM series (uneven spacing, missing slices, gantry tilt, mixed
    /// image sizes) onto a regular grid instead of stopping with an error.
    #[arg(long)]
    pub resample: bool,
    /// Include the patient's name, ID and the other identifying fields (birth date, institution,
    /// people's names, and free text such as SeriesDescription that can hold a name) in the
    /// output (left out by default).
    #[arg(long)]
    pub show_phi: bool,
}

/// Runs a parsed command line, printing to stdout. Errors are returned for `main` to report.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(max) = cli.max_memory {
        coxa_io::Limits::set_process_max_bytes(max);
    }
    match cli.command {
        Command::Inspect(args) => inspect(&args),
        Command::Anatomy(args) => anatomy(&args),
        Command::Rom(args) => rom(&args),
        Command::Run(args) => run_scenario(&args),
        Command::Demo(args) => demo(&args),
        Command::Plan(args) => crate::plan::cli(&args),
        Command::Shape(args) => crate::population::cli(&args),
        Command::Hcf(args) => crate::hcf::cli(&args),
        Command::View(args) => crate::view::run(&args),
        Command::Radiomics(args) => crate::radiomics_cli::cli(&args),
        Command::Xray(args) => crate::xray::cli(&args),
        Command::Radiograph(args) => crate::radiograph::cli(&args),
        Command::Submit(args) => crate::submit::cli(&args),
        Command::Status(args) => crate::status::cli(&args),
        Command::Segment(args) => crate::segment::cli(&args),
        Command::Pacs(args) => crate::pacs::cli(&args),
    }
}

fn anatomy(args: &AnatomyArgs) -> anyhow::Result<()> {
    if let Some(m) = &args.shape_model {
        crate::shape_predict::set_choice(crate::shape_predict::parse_choice(m));
    }
    let source = match &args.ct {
        Some(ct) => {
            let mut dicom = ReadOptions::new().with_resample(args.resample);
            if let Some(s) = &args.series {
                dicom = dicom.with_series(s.clone());
            }
            crate::anatomy::AnatomySource::Ct { ct: ct.clone(), labels: args.labels.clone(), label_names: args.label_names.clone(), dicom, any_modality: args.any_modality }
        }
        None => {
            let mut list = Vec::new();
            for m in &args.mesh {
                let Some((name, file)) = m.split_once('=') else {
                    anyhow::bail!("--mesh {m}: expected NAME=FILE.stl, e.g. --mesh femur_left=left_femur.stl");
                };
                list.push((name.to_string(), PathBuf::from(file)));
            }
            crate::anatomy::AnatomySource::Meshes(list, args.mesh_units)
        }
    };
    let report = match &args.model {
        Some(card) => crate::segment::anatomy_with_model(source, card, &args.out, &Default::default(), args.model_use)?,
        None => crate::anatomy::run(&source, &args.out)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("wrote {}", args.out.join("anatomy.json").display());
        for h in &report.femoral_heads {
            println!("femoral head {:5}  centre {} mm  radius {:.1} mm", h.side.as_str(), serde_json::to_string(&h.centre_lps_mm)?, h.radius_mm);
        }
        for w in &report.warnings {
            println!("warning    {w}");
        }
    }
    Ok(())
}

fn rom(args: &crate::rom::RomArgs) -> anyhow::Result<()> {
    if let Some(scenario) = &args.scenario {
        return run_scenario(&RunArgs { scenario: scenario.clone(), out: None, quiet: false, yes: false, shard: None, cases_file: None, merge: false });
    }
    let report = crate::rom::run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("oscillation angle  {:.1} deg", report["oscillation_angle_deg"].as_f64().unwrap_or(f64::NAN));
    println!("{:34} {:>9}  first contact", "motion", "limit deg");
    for m in report["motions"].as_array().into_iter().flatten() {
        let limit = m["limit_deg"].as_f64().map_or("-".to_string(), |v| format!("{v:.1}"));
        let contact = match m["contact"].as_str() {
            Some("none") => "none within the sweep".to_string(),
            Some(c) => c.to_string(),
            None => "-".to_string(),
        };
        println!("{:34} {:>9}  {contact}", m["name"].as_str().unwrap_or("?"), limit);
    }
    Ok(())
}

fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let mut dicom = ReadOptions::new().with_resample(args.resample);
    if let Some(s) = &args.series {
        dicom = dicom.with_series(s.clone());
    }
    // inspect looks at any modality (and names it); the CT stages refuse what is not a CT.
    let loaded = coxa_io::open(&args.path, &OpenOptions::new().with_any_modality(true).with_dicom(dicom))?;
    let report = inspect_report(&loaded, args.show_phi);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

/// The JSON object of `coxa inspect --json`.
pub fn inspect_report(loaded: &Loaded, show_phi: bool) -> serde_json::Value {
    let grid = loaded.volume.grid();
    let stats = loaded.volume.stats();
    let (format, series) = match &loaded.source {
        SourceKind::Dicom(s) => ("dicom", serde_json::to_value(s).unwrap_or_default()),
        SourceKind::Nifti => ("nifti", serde_json::Value::Null),
        SourceKind::Nrrd => ("nrrd", serde_json::Value::Null),
        _ => ("unknown", serde_json::Value::Null),
    };
    let mut report = json!({
        "path_format": format,
        "size": grid.size(),
        "spacing_mm": grid.spacing_mm().as_slice(),
        "origin_lps_mm": grid.origin_lps_mm().as_slice(),
        "direction": grid.direction_row_major(),
        "hu_min": stats.min_hu,
        "hu_max": stats.max_hu,
        "hu_sum": stats.sum_hu,
        "hu_mean": stats.mean_hu,
        "n_files": loaded.n_files,
        "modality": loaded.modality,
        "series": series,
        "warnings": loaded.warnings,
    });
    if show_phi {
        report["patient_name"] = json!(loaded.patient.name);
        report["patient_id"] = json!(loaded.patient.id);
        // Birth date, institution, people's names and the free-text descriptions.
        report["patient_other"] = loaded.patient.other.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>().into();
    }
    report
}

fn print_text(r: &serde_json::Value) {
    let line = |k: &str| r[k].to_string();
    println!("format     {}", r["path_format"].as_str().unwrap_or("?"));
    println!("modality   {}", r["modality"].as_str().unwrap_or("(not stated)"));
    println!("files      {}", line("n_files"));
    println!("size       {} voxels (i, j, k)", line("size"));
    println!("spacing    {} mm", line("spacing_mm"));
    println!("origin     {} mm (LPS)", line("origin_lps_mm"));
    println!("direction  {}", line("direction"));
    println!("HU         min {} max {} sum {} mean {:.2}", line("hu_min"), line("hu_max"), line("hu_sum"), r["hu_mean"].as_f64().unwrap_or(f64::NAN));
    if r.get("patient_name").is_some() {
        println!("patient    name {} id {}", line("patient_name"), line("patient_id"));
        for (k, v) in r["patient_other"].as_object().into_iter().flatten() {
            println!("           {k} {v}");
        }
    }
    for w in r["warnings"].as_array().into_iter().flatten() {
        println!("warning    {}", w.as_str().unwrap_or_default());
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

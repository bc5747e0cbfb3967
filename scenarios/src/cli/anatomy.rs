//! `coxa anatomy`: its arguments, the anatomy stage written into a new folder
//! ([`coxa_case::anatomy`]), and what it prints.

use std::path::PathBuf;

use clap::Args;

use coxa_io::dicom::ReadOptions;

/// Arguments of `coxa anatomy`.
#[derive(Debug, Args)]
pub struct AnatomyArgs {
    /// The CT: a DICOM folder or file, or a .nii/.nii.gz file.
    #[arg(long, conflicts_with = "mesh", required_unless_present = "mesh")]
    pub ct: Option<PathBuf>,
    /// A label map on the CT's grid (TotalSegmentator ids: bones 25, 75-78; muscles 80-85, 88, 89),
    /// a folder of one mask per class named by its file (TotalSegmentator's default output), or a
    /// DICOM SEG of the CT (segments named by their labels). Without one, coxa segments the bones itself; muscles need a label map.
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
    #[arg(long, value_enum, default_value_t = super::segment::ModelUseArg::All, requires = "model")]
    pub model_use: super::segment::ModelUseArg,
    /// A bone surface instead of a CT, as NAME=FILE.stl with NAME one of femur_left, femur_right,
    /// hip_left, hip_right, sacrum (coordinates taken as LPS mm). Repeat for each bone.
    #[arg(long, value_name = "NAME=FILE")]
    pub mesh: Vec<String>,
    /// Units of the --mesh files when they are not millimetres: mm, cm, m or in (without it,
    /// meshes whose bone sizes fit another unit are refused).
    #[arg(long, value_name = "UNIT", value_parser = coxa_case::bone_input::parse_units, requires = "mesh")]
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
    /// The meshes' formats (`--mesh-format`).
    #[command(flatten)]
    pub meshes_out: super::MeshFormatArgs,
}

/// Runs `coxa anatomy` without printing: the record written to `anatomy.json` (without its
/// envelope).
///
/// # Errors
/// The program's refusals: the input cannot be read, the shape model or the card is wrong.
pub fn run(args: &AnatomyArgs) -> anyhow::Result<coxa_core::AnatomyRecord> {
    if let Some(m) = &args.shape_model {
        coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
    }
    let source = match &args.ct {
        Some(ct) => {
            let mut dicom = ReadOptions::new().with_resample(args.resample);
            if let Some(s) = &args.series {
                dicom = dicom.with_series(s.clone());
            }
            coxa_case::anatomy::AnatomySource::Ct { ct: ct.clone(), labels: args.labels.clone(), label_names: args.label_names.clone(), dicom, any_modality: args.any_modality }
        }
        None => {
            let list = coxa_case::bone_input::parse_mesh_args(&args.mesh, &coxa_case::bone_input::bone_names())?;
            coxa_case::anatomy::AnatomySource::Meshes(list, args.mesh_units)
        }
    };
    let stages = super::progress::Stages::start("coxa anatomy");
    let result = match &args.model {
        Some(card) => {
            stages.stage("anatomy (learned segmentation, surfaces, landmarks)");
            coxa_case::segment::anatomy_full_with_model(source, card, &args.out, &Default::default(), args.model_use.into())?.0
        }
        None => {
            stages.stage("anatomy (segmentation, surfaces, landmarks)");
            coxa_case::anatomy::run_full(&source, &args.out)?
        }
    };
    coxa_case::case_writer::write_bone_formats(&args.out.join("meshes"), &result.bones, &args.meshes_out.mesh_format)?;
    Ok(result.record)
}

/// Runs `coxa anatomy` as the command line does: [`run`], then the record (`--json`) or a
/// summary printed.
pub fn cli(args: &AnatomyArgs) -> anyhow::Result<()> {
    let report = run(args)?;
    if args.json {
        // As written to anatomy.json: the record with its envelope (schema, provenance).
        println!("{}", coxa_case::stamp::text("anatomy", &report)?);
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

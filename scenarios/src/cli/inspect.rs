//! `coxa inspect`: a CT's (or any DICOM series') geometry and HU statistics, patient identity
//! left out unless asked.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use coxa_io::dicom::ReadOptions;
use coxa_io::{Loaded, OpenOptions, SourceKind};

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

/// Runs `coxa inspect`.
pub fn cli(args: &InspectArgs) -> anyhow::Result<()> {
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
        "value_unit": value_unit(loaded.modality.as_deref()),
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

/// The unit of the voxel values: HU for a CT (and for a file that states no modality, as a NIfTI
/// CT does: coxa reads those as CT), none for any other modality (MR intensities have no unit).
fn value_unit(modality: Option<&str>) -> Option<&'static str> {
    match modality {
        None => Some("HU"),
        Some(m) if m.eq_ignore_ascii_case("CT") => Some("HU"),
        Some(_) => None,
    }
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
    // The `hu_*` fields hold the voxel values whatever the modality; only a CT's are HU (issue 61).
    let stats = format!("min {} max {} sum {} mean {:.2}", line("hu_min"), line("hu_max"), line("hu_sum"), r["hu_mean"].as_f64().unwrap_or(f64::NAN));
    match r["value_unit"].as_str() {
        Some(unit) => println!("{unit:<10} {stats}"),
        None => println!("values     {stats} ({} intensities: no unit, not HU)", r["modality"].as_str().unwrap_or("?")),
    }
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

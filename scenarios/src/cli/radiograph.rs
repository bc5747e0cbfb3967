//! `coxa radiograph`: a plain radiograph in (CR/DX DICOM, or PNG with `--pixel-spacing-mm`; see
//! `coxa_io::radiograph`), X-ray models run on it (`coxa_infer::image`, one `--model CARD.toml`
//! each: e.g. hip fracture probability, bone mineral density, Kellgren-Lawrence grade), and one
//! JSON record out: what the image is (size, spacing at the detector and at the patient with their
//! sources, photometric, window), and each model's prediction with the card's name, version and
//! test-model flag.
//!
//! A regression target named `neck_abmd` or `total_hip_abmd` in g/cm² also gets its T-score,
//! YAM % and category (the Japanese criteria) against the reference population `coxa anatomy`'s
//! bone density uses (`coxa_diagnostics::density::ReferencePopulation::nhanes3`).

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use clap::Args;
use coxa_diagnostics::density::{ReferencePopulation, japanese_category, who_category};
use coxa_infer::ImageModel;
use coxa_infer::image::Plane;
use coxa_io::radiograph::{RadiographOptions, read_radiograph};
use serde_json::{Value, json};

/// Arguments of `coxa radiograph`.
#[derive(Debug, Args)]
pub struct RadiographArgs {
    /// The radiograph: a CR or DX DICOM file, or a PNG (8 or 16 bit grey) with --pixel-spacing-mm.
    #[arg(long)]
    pub image: PathBuf,
    /// The detector's pixel size, mm (required for PNG; replaces a DICOM file's, with a warning).
    #[arg(long)]
    pub pixel_spacing_mm: Option<f64>,
    /// The radiographic magnification at the patient (source-to-image over source-to-object
    /// distance); replaces the file's EstimatedRadiographicMagnificationFactor.
    #[arg(long)]
    pub magnification: Option<f64>,
    /// An X-ray model's card (TOML, `coxa_infer::image`); repeat for several models.
    #[arg(long = "model", value_name = "CARD.toml")]
    pub models: Vec<PathBuf>,
    /// The JSON record to write; must not exist.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the record on stdout too.
    #[arg(long)]
    pub json: bool,
}

/// T-score, YAM % and category of a regressed areal BMD named `neck_abmd` / `total_hip_abmd`.
fn bmd_reading(name: &str, unit: &str, value: f64) -> Option<Value> {
    let unit_ok = matches!(unit.replace(['²', ' '], "2").as_str(), "g/cm2" | "g_cm2");
    let reference = ReferencePopulation::nhanes3();
    let total_hip = match name {
        "neck_abmd" => false,
        "total_hip_abmd" => true,
        _ => return None,
    };
    if !unit_ok {
        return None;
    }
    let t = reference.t_score(total_hip, value);
    let yam = reference.yam_percent(total_hip, value);
    Some(json!({
        "t_score": t,
        "who_category": who_category(t),
        "yam_percent": yam,
        "japanese_category": japanese_category(yam),
        "reference": reference.name,
        "yam_source": reference.yam_source,
    }))
}

/// Runs `coxa radiograph`; returns the record written.
pub fn run(args: &RadiographArgs) -> Result<Value> {
    ensure!(args.out.extension().and_then(|e| e.to_str()) == Some("json"), "--out {}: name a .json file", args.out.display());
    ensure!(!args.out.exists(), "{} already exists; coxa never overwrites: choose another --out", args.out.display());
    let options = RadiographOptions::new().with_pixel_spacing_mm(args.pixel_spacing_mm).with_magnification(args.magnification);
    let xr = read_radiograph(&args.image, &options)?;
    // Load every model before running any: a bad card fails before work is done.
    let mut models = Vec::new();
    for card in &args.models {
        models.push(ImageModel::load(card).with_context(|| format!("--model {}", card.display()))?);
    }
    let mut predictions = Vec::new();
    for (model, card_path) in models.iter_mut().zip(&args.models) {
        let plane = model.card().input.plane;
        let spacing = match plane {
            Plane::Detector => Some(xr.spacing.detector_mm),
            Plane::Patient => xr.spacing.patient_mm,
        };
        if model.card().input.resize == coxa_infer::image::Resize::Spacing && spacing.is_none() {
            anyhow::bail!(
                "--model {}: the model resamples to pixels at the patient, but the radiograph's spacing there is not known (no calibrated PixelSpacing or magnification); pass --magnification",
                card_path.display()
            );
        }
        let p = model.predict(xr.presentation.view(), spacing).with_context(|| format!("--model {}", card_path.display()))?;
        let mut v = serde_json::to_value(&p)?;
        v["card"] = json!(card_path.display().to_string());
        v["plane"] = json!(plane);
        if let Some(values) = &p.values {
            let readings: serde_json::Map<String, Value> = values.iter().filter_map(|t| bmd_reading(&t.name, &t.unit, t.value).map(|r| (t.name.clone(), r))).collect();
            if !readings.is_empty() {
                v["bone_density"] = Value::Object(readings);
            }
        }
        if p.test_model {
            v["note"] = json!("TEST MODEL: not for clinical use (its card says test_model = true)");
        }
        predictions.push(v);
    }
    let record = json!({
        "coxa_version": coxa_case::stamp::version(),
        "image": {
            "file": args.image.display().to_string(),
            "info": xr.info,
            "spacing": xr.spacing,
        },
        "warnings": xr.warnings,
        "models": predictions,
    });
    coxa_case::stamp::write(&args.out, "radiograph", &record)?;
    Ok(record)
}

/// `coxa radiograph` as the command line runs it.
pub fn cli(args: &RadiographArgs) -> Result<()> {
    let r = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        for m in r["models"].as_array().into_iter().flatten() {
            let what = if let Some(c) = m["predicted_class"].as_str() {
                let p = m["probabilities"].as_array().and_then(|a| a.iter().find(|x| x["name"] == c)).and_then(|x| x["probability"].as_f64()).unwrap_or(f64::NAN);
                format!("{c} (p = {p:.3})")
            } else {
                m["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| format!("{} {:.4} {}", t["name"].as_str().unwrap_or(""), t["value"].as_f64().unwrap_or(f64::NAN), t["unit"].as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let flag = if m["test_model"] == true { " [TEST MODEL: not for clinical use]" } else { "" };
            println!("{} {}: {what}{flag}", m["model"].as_str().unwrap_or(""), m["version"].as_str().unwrap_or(""));
        }
        println!("wrote {}", args.out.display());
    }
    Ok(())
}

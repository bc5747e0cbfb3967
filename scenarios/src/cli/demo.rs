//! `coxa demo`: the whole pipeline on the built-in hip phantom (or on a CT given with `--ct`),
//! with nothing else on the machine, into a new folder with `report.html`. When ONNX Runtime is
//! found, the phantom is also segmented by coxa's built-in test model
//! (`anatomy/model_labels.nii.gz`, `anatomy/uncertainty.nii.gz`, `anatomy/segment.json` and the
//! report's uncertainty section); without it the demo says so in one line and runs as before.
//!
//! **Which phantom.** The phantom is voxelised from the LLP26 shape model's mean shape (pelvis and
//! both femurs, whole, [`coxa_case::shape_phantom`]; the model ships inside coxa, and an installed
//! `musculoskeletal-models` is used first, as `--shape-model` finds it) and its known geometry is
//! coxa's landmarks on the exact surfaces; with `--shape-model none` (or the bundled copy
//! removed), the built-in geometric phantom (spherical heads, cylindrical necks). The
//! demo prints which one it used, and `--phantom simple|mean|training-K` chooses. coxa's test
//! segmentation model was trained on the built-in phantom only: the realistic one is not segmented
//! by it (a note says so).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use coxa_case::run::{RunOutcome, run};
use coxa_case::scenario::Scenario;

/// Arguments of `coxa demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Output folder (must not exist); default `coxa-demo` in the current folder (or
    /// `coxa-demo-2`, ... if that exists).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run the demo on this CT (NIfTI or DICOM) instead of the phantom.
    #[arg(long)]
    pub ct: Option<PathBuf>,
    /// Operated side.
    #[arg(long, default_value = "right", ignore_case = true)]
    pub side: super::side::SideArg,
    /// The phantom: `auto` (the realistic one from the installed shape model's mean, else the
    /// built-in one), `simple` (the built-in geometric phantom), `mean` or `training-K` (K = 1..26:
    /// a training subject of the LLP26 shape model).
    #[arg(long, default_value = "auto", value_name = "auto|simple|mean|training-K")]
    pub phantom: String,
    /// The shape model folder (musculoskeletal/models of musculoskeletal-models 0.2.4) or `none`;
    /// default: the installed package if found.
    #[arg(long, value_name = "PATH|none")]
    pub shape_model: Option<String>,
    /// The meshes' formats (`--mesh-format`).
    #[command(flatten)]
    pub meshes_out: super::MeshFormatArgs,
}

/// The phantom the demo runs on: `None` for the built-in one, else the realistic phantom's shape
/// name; and the line that says which (and why).
///
/// # Errors
/// An unknown `--phantom`, or a realistic one asked for without the model.
pub fn choose_phantom(arg: &str) -> Result<(Option<String>, String)> {
    choose_phantom_with(arg, coxa_case::shape_predict::model_dir().map_err(|e| anyhow::anyhow!(e))?)
}

/// [`choose_phantom`] with the shape model folder found (`dir`, None: none installed or `none`).
///
/// # Errors
/// As [`choose_phantom`].
pub fn choose_phantom_with(arg: &str, dir: Option<PathBuf>) -> Result<(Option<String>, String)> {
    match (arg, dir) {
        ("simple", _) => Ok((None, "phantom: the built-in geometric phantom (--phantom simple)".into())),
        ("auto", None) => Ok((None, "phantom: the built-in geometric phantom (no shape model: --shape-model none, or the LLP26 copy that ships with coxa in models/shape/llp26 is missing)".into())),
        ("auto", Some(d)) => Ok((Some("mean".into()), format!("phantom: realistic, voxelised from the LLP26 shape model's mean shape ({})", coxa_shape::locate::describe_llp26_dir(&d)))),
        (other, dir) => {
            let shape = coxa_case::shape_phantom::PhantomShape::parse(other).map_err(|e| anyhow::anyhow!("--phantom {e}, \"auto\" or \"simple\""))?;
            let d = dir.ok_or_else(|| anyhow::anyhow!("--phantom {other} needs the LLP26 shape model: drop --shape-model none, or give --shape-model PATH"))?;
            Ok((Some(shape.name()), format!("phantom: realistic, voxelised from the LLP26 shape model's {} ({})", shape.name(), coxa_shape::locate::describe_llp26_dir(&d))))
        }
    }
}

/// The demo's scenario text for `ct` (None: the phantom, of `phantom_shape` when given).
pub fn demo_scenario(ct: Option<&Path>, side: &str, phantom_shape: Option<&str>) -> Result<String> {
    let input = match ct {
        None => match phantom_shape {
            None => "phantom = true".to_string(),
            Some(shape) => format!("phantom = true\nphantom_shape = {}", super::toml_string(shape)),
        },
        Some(p) => {
            let abs = std::fs::canonicalize(p).with_context(|| format!("--ct {}", p.display()))?;
            format!("ct = {}", super::toml_string(&abs.to_string_lossy()))
        }
    };
    let name = if ct.is_some() { "ct" } else { "phantom" };
    Ok(format!(
        "# coxa demo\nschema_version = 1\nname = \"coxa demo\"\n\n[[cases]]\nname = \"{name}\"\n{input}\nside = {}\n\n[rom]\nstanding_tilt_deg = 0\nsitting_extra_tilt_deg = 20\n",
        super::toml_string(side)
    ))
}

/// The first of `coxa-demo`, `coxa-demo-2`, ... that does not exist.
fn default_out() -> PathBuf {
    let mut n = 1;
    loop {
        let p = PathBuf::from(if n == 1 { "coxa-demo".to_string() } else { format!("coxa-demo-{n}") });
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// Runs the demo.
///
/// # Errors
/// The output folder exists, the CT cannot be read, a stage fails.
pub fn demo(args: &DemoArgs) -> Result<RunOutcome> {
    let out = args.out.clone().unwrap_or_else(default_out);
    anyhow::ensure!(!out.exists(), "{} already exists; coxa never overwrites: choose another --out", out.display());
    if let Some(m) = &args.shape_model {
        coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
    }
    let (shape, line) = if args.ct.is_none() { choose_phantom(&args.phantom)? } else { (None, String::new()) };
    if !line.is_empty() {
        eprintln!("{line}");
    }
    if args.ct.is_none() && shape.is_none() && coxa_infer::runtime::runtime().is_err() {
        // One line; the case's warnings (report) say the same.
        eprintln!("note: ONNX Runtime not found: the phantom is not segmented by coxa's test model (no anatomy/uncertainty.nii.gz); pip install onnxruntime==1.31.1 or set ORT_DYLIB_PATH");
    }
    let text = demo_scenario(args.ct.as_deref(), coxa_core::Side::from(args.side).as_str(), shape.as_deref())?;
    let mut scn = Scenario::from_text(text, &out.with_extension("toml"))?;
    scn.mesh_formats.clone_from(&args.meshes_out.mesh_format);
    let outcome = run(&scn, Some(&out), !super::progress::quiet() && std::io::IsTerminal::is_terminal(&std::io::stderr()))?;
    if let Some((case, e)) = outcome.failed.first() {
        anyhow::bail!("the demo case {case} failed: {e}");
    }
    Ok(outcome)
}

/// Runs `coxa demo`, printing where each case's report is.
///
/// # Errors
/// As [`demo`].
pub fn cli(args: &DemoArgs) -> Result<()> {
    let outcome = demo(args)?;
    super::run::print_outcome(&outcome);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phantom_is_the_realistic_one_only_with_a_model() {
        let dir = Some(PathBuf::from("/site-packages/musculoskeletal/models"));
        let (shape, line) = choose_phantom_with("auto", None).unwrap();
        assert_eq!(shape, None);
        assert!(line.contains("built-in geometric phantom (no shape model"), "{line}");
        let (shape, line) = choose_phantom_with("auto", dir.clone()).unwrap();
        assert_eq!(shape.as_deref(), Some("mean"));
        assert!(line.starts_with("phantom: realistic") && line.contains("mean shape"), "{line}");
        assert_eq!(choose_phantom_with("simple", dir.clone()).unwrap().0, None);
        assert_eq!(choose_phantom_with("training-3", dir.clone()).unwrap().0.as_deref(), Some("training-03"));
        let e = choose_phantom_with("mean", None).unwrap_err().to_string();
        assert!(e.contains("needs the LLP26 shape model") && e.contains("--shape-model"), "{e}");
        for bad in ["training-0", "training-27", "cartoon"] {
            let e = choose_phantom_with(bad, dir.clone()).unwrap_err().to_string();
            assert!(e.contains("use \"mean\" or \"training-K\""), "{bad}: {e}");
        }
        // The scenario text names the shape only for the realistic phantom.
        assert!(demo_scenario(None, "right", None).unwrap().contains("phantom = true\nside"));
        assert!(demo_scenario(None, "right", Some("mean")).unwrap().contains("phantom = true\nphantom_shape = \"mean\"\n"));
    }
}

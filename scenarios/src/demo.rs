//! `coxa demo`: the whole pipeline on the built-in hip phantom (or on a CT given with `--ct`),
//! with nothing else on the machine, into a new folder with `report.html`. When ONNX Runtime is
//! found, the phantom is also segmented by coxa's built-in test model
//! (`anatomy/model_labels.nii.gz`, `anatomy/uncertainty.nii.gz`, `anatomy/segment.json` and the
//! report's uncertainty section); without it the demo says so in one line and runs as before.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::run::{RunOutcome, run};
use crate::scenario::Scenario;

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
    #[arg(long, default_value = "right")]
    pub side: String,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// The demo's scenario text for `ct` (None: the phantom).
pub fn demo_scenario(ct: Option<&Path>, side: &str) -> Result<String> {
    let input = match ct {
        None => "phantom = true".to_string(),
        Some(p) => {
            let abs = std::fs::canonicalize(p).with_context(|| format!("--ct {}", p.display()))?;
            format!("ct = {}", toml_string(&abs.to_string_lossy()))
        }
    };
    let name = if ct.is_some() { "ct" } else { "phantom" };
    Ok(format!(
        "# coxa demo\nschema_version = 1\nname = \"coxa demo\"\n\n[[cases]]\nname = \"{name}\"\n{input}\nside = {}\n\n[rom]\nstanding_tilt_deg = 0\nsitting_extra_tilt_deg = 20\n",
        toml_string(side)
    ))
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
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
    if args.ct.is_none() && coxa_infer::runtime::runtime().is_err() {
        // One line; the case's warnings (report) say the same.
        eprintln!("note: ONNX Runtime not found: the phantom is not segmented by coxa's test model (no anatomy/uncertainty.nii.gz); pip install onnxruntime==1.31.1 or set ORT_DYLIB_PATH");
    }
    let text = demo_scenario(args.ct.as_deref(), &args.side)?;
    let scn = Scenario::from_text(text, &out.with_extension("toml"))?;
    let outcome = run(&scn, Some(&out), !args.quiet)?;
    if let Some((case, e)) = outcome.failed.first() {
        anyhow::bail!("the demo case {case} failed: {e}");
    }
    Ok(outcome)
}

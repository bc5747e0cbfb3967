//! `coxa view PATH --screenshot OUT.png [--camera NAME]`: a case folder's bones and planned
//! implants rendered by the bevy viewer without a window (GPU or Mesa's software Vulkan).
//! The interactive window is not in this build yet.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use coxa_viewer::{CameraView, case_scene, screenshot};

/// Arguments of `coxa view`.
#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    /// A case folder of `coxa run` or `coxa demo` (…/cases/NAME).
    pub path: PathBuf,
    /// Render one frame into this PNG (must not exist) and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Camera: pelvis_ap, hip_ap, hip_lateral or hip_superior.
    #[arg(long, default_value = "hip_ap")]
    pub camera: String,
    /// Picture width, pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Picture height, pixels.
    #[arg(long, default_value_t = 800)]
    pub height: u32,
}

/// Runs `coxa view`.
pub fn run(args: &ViewArgs) -> Result<()> {
    let camera = CameraView::parse(&args.camera).ok_or_else(|| anyhow::anyhow!("--camera {:?}: use pelvis_ap, hip_ap, hip_lateral or hip_superior", args.camera))?;
    anyhow::ensure!((16..=8192).contains(&args.width) && (16..=8192).contains(&args.height), "--width/--height must lie in 16..=8192 pixels");
    let scene = case_scene(&args.path)?;
    let Some(out) = &args.screenshot else {
        bail!("the interactive viewer window is not in this build yet; render a picture with --screenshot OUT.png");
    };
    screenshot(&scene, camera, args.width, args.height, out)?;
    println!("wrote {}", out.display());
    Ok(())
}

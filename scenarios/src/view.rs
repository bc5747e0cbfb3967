//! `coxa view PATH`: the bevy viewer on a case folder (or a `coxa plan` folder / its plan.json):
//! an interactive window with live re-planning and motion playback, or, with `--screenshot`,
//! one frame rendered without a window (GPU or Mesa's software Vulkan). The case's records are
//! checked against its manifest and their schemas first ([`coxa_case::checked::case_records`]).

use std::path::PathBuf;

#[cfg(feature = "window")]
use std::time::Duration;

use anyhow::Result;
#[cfg(feature = "window")]
use anyhow::ensure;
use clap::Args;

#[cfg(feature = "window")]
use coxa_viewer::window::{self, WindowOptions};
#[cfg(feature = "window")]
use coxa_viewer::{CameraView, LoadOptions, Scene, load_case, screenshot};

/// Arguments of `coxa view`.
#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    /// A case folder of `coxa run` or `coxa demo` (…/cases/NAME), or a `coxa plan` folder.
    pub path: PathBuf,
    /// Render one frame into this PNG (must not exist) without a window and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Camera of --screenshot: pelvis_ap, hip_ap, hip_lateral or hip_superior.
    #[arg(long, default_value = "hip_ap")]
    pub camera: String,
    /// Picture (or window) width, pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Picture (or window) height, pixels.
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// Show the femur at the first contact of this motion (e.g. flexion,
    /// internal_rotation_90_flexion), the contact marked; in the window, play it.
    #[arg(long)]
    pub play: Option<String>,
    /// With --screenshot: draw the CT's slice planes (and muscles) too.
    #[arg(long)]
    pub slices: bool,
    /// Do not read the CT (the window starts faster; no slices, no muscles).
    #[arg(long)]
    pub no_ct: bool,
    /// Window: save a picture of the window into this new PNG once ready, then close.
    #[arg(long)]
    pub window_screenshot: Option<PathBuf>,
    /// Measure: render this many frames without a window (the CT slices and muscles in the
    /// scene) and print the mean time per frame, then exit.
    #[arg(long)]
    pub frame_time: Option<u32>,
    /// Window: close after this many seconds.
    #[arg(long)]
    pub close_after_s: Option<f64>,
    /// Window: run the actions of this file, one a line, once the case is shown: `set NAME VALUE`
    /// (a control as plan.json names it: cup_inclination_deg, cup_anteversion_deg (radiographic),
    /// cup_outer_diameter_mm, cup_shift_medial_mm, cup_shift_superior_mm, cup_shift_anterior_mm,
    /// stem_size, stem_anteversion_deg, head_diameter_mm, neck_length_offset_mm), `view PRESET` (ap, lateral,
    /// superior, inlet, outlet), `show LAYER` / `hide LAYER` (slices, muscles, bones, landmarks),
    /// `save`, `undo`, `redo`, `screenshot FILE`, `quit`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["screenshot", "frame_time"])]
    pub script: Option<PathBuf>,
}

/// Which build this `coxa` is. The headless build (`--no-default-features`, no bevy) is what
/// cluster nodes without Vulkan or a display should run; `coxa submit` reads it from
/// `coxa --version` to say which build its array tasks run.
#[cfg(feature = "window")]
pub const BUILD: &str = "window build: coxa view, pictures drawn by bevy (Vulkan or Mesa's lavapipe), CPU rasteriser where neither starts";
/// See above.
#[cfg(not(feature = "window"))]
pub const BUILD: &str = coxa_case::stamp::HEADLESS_BUILD;

/// `coxa --version` ([`coxa_case::stamp::version`] once the program named its build with
/// [`BUILD`]).
pub fn version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        coxa_case::stamp::set_build(BUILD);
        coxa_case::stamp::version()
    });
    &VERSION
}

/// `coxa view` in a build without the `window` feature (no bevy): says how to get the viewer.
#[cfg(not(feature = "window"))]
pub fn run(_args: &ViewArgs) -> Result<()> {
    anyhow::bail!(
        "this coxa was built without the viewer (headless build, no `window` feature): build it with the default features (`cargo install --path scenarios` or `cargo build --release`) to use `coxa view`"
    )
}

/// Runs `coxa view`.
#[cfg(feature = "window")]
pub fn run(args: &ViewArgs) -> Result<()> {
    let camera = CameraView::parse(&args.camera).ok_or_else(|| anyhow::anyhow!("--camera {:?}: use pelvis_ap, hip_ap, hip_lateral or hip_superior", args.camera))?;
    ensure!((16..=8192).contains(&args.width) && (16..=8192).contains(&args.height), "--width/--height must lie in 16..=8192 pixels");
    if let Some(s) = args.close_after_s {
        ensure!(s.is_finite() && s > 0.0, "--close-after-s must be a positive number of seconds");
    }
    for out in [&args.screenshot, &args.window_screenshot].into_iter().flatten() {
        ensure!(!out.exists(), "{} already exists; coxa never overwrites: choose another file", out.display());
    }
    // Issue 61: the case's records are checked before they are shown or revised, as `pacs push`
    // and `xray --plan` check them: every file against the manifest's hash, every record against
    // its schema (an edited plan.json or bone surface is named here, not drawn and certified).
    let folder = if args.path.is_file() { args.path.parent().unwrap_or(std::path::Path::new(".")) } else { args.path.as_path() };
    coxa_case::checked::case_records(folder)?;
    if let Some(n) = args.frame_time {
        ensure!((1..=10_000).contains(&n), "--frame-time takes a number of frames, 1..=10000");
        let (case, planes, _) = load_case(&args.path, LoadOptions { ct: !args.no_ct, muscles: !args.no_ct, live: false })?;
        let mut scene = Scene::of_case(&case, None);
        scene.slices = planes;
        let triangles: usize = scene.meshes.iter().map(|m| m.mesh.triangles().len()).sum();
        let t = coxa_viewer::frame_time(&scene, camera, args.width, args.height, n);
        println!(
            "{} surfaces ({} muscles, {triangles} triangles), {} slice planes, {}x{}: {:.1} ms per frame",
            scene.meshes.len(),
            case.muscles.len(),
            scene.slices.len(),
            args.width,
            args.height,
            t.as_secs_f64() * 1000.0
        );
        return Ok(());
    }
    if let Some(out) = &args.screenshot {
        let ct = args.slices && !args.no_ct;
        let (case, planes, live) = load_case(&args.path, LoadOptions { ct, muscles: ct, live: args.play.is_some() })?;
        let mut scene = Scene::of_case(&case, live.as_ref().map(|(_, e)| e));
        scene.slices = planes;
        if let Some(name) = &args.play {
            let (_, e) = live.as_ref().ok_or_else(|| anyhow::anyhow!("--play needs the case's hip model: {}", case.notes.join("; ")))?;
            scene.pose_at_limit(e, name)?;
        }
        screenshot(&scene, camera, args.width, args.height, out)?;
        println!("wrote {}", out.display());
        return Ok(());
    }
    // The script is read and checked before anything is loaded: a bad line is said at once.
    let script = args.script.as_deref().map(coxa_viewer::script::Script::read).transpose()?;
    let (case, planes, _) = load_case(&args.path, LoadOptions { ct: !args.no_ct, muscles: !args.no_ct, live: false })?;
    for n in &case.notes {
        eprintln!("note: {n}");
    }
    let options = WindowOptions {
        size: Some((args.width.max(1000), args.height.max(700))),
        play: args.play.clone(),
        screenshot: args.window_screenshot.clone(),
        close_after: args.close_after_s.map(Duration::from_secs_f64),
        script,
        save_hook: Some(crate::revision::desk_save_hook(&args.path)),
    };
    window::run(case, planes, options)?;
    if let Some(out) = &args.window_screenshot {
        println!("wrote {}", out.display());
    }
    Ok(())
}

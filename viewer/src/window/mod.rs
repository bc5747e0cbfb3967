//! The interactive window: orbit camera, on-screen planning controls, motion playback with the
//! first contact highlighted, CT slices and muscles toggled.
//!
//! Mouse: left drag orbits about the hip centre, right drag pans, the wheel zooms. Keys: `Space`
//! plays or stops the selected motion, `S` / `M` / `B` / `L` show or hide the CT slices,
//! muscles, bones and landmarks, `Esc` stops the motion.
//!
//! Re-planning never runs on the render thread: a change of a control queues an evaluation
//! ([`LiveModel::evaluate`]) on bevy's async compute pool; the display keeps the last result
//! until the new one is ready, and changes made meanwhile are folded into one next evaluation.
//!
//! On a software renderer the 3D view is drawn at half the window's resolution per direction
//! and shown stretched, which keeps orbiting usable ([`scale`]; `COXA_VIEW_SCALE` overrides).
//!
//! The window is a set of bevy plugins, one per subsystem, as bevy structures its own: the
//! scene ([`scene::ScenePlugin`]), the scaled view ([`scale::ScalePlugin`]), the orbit camera ([`camera::CameraPlugin`]), the panel and
//! the keys ([`panel::PanelPlugin`]), live planning ([`planning::LivePlanningPlugin`]), motion
//! playback ([`playback::PlaybackPlugin`]) and scripted runs ([`script::ScriptPlugin`]). They
//! share the [`Viewer`] state and run in the order of [`ViewerSystems`] each frame.

mod camera;
mod panel;
mod planning;
mod playback;
mod scale;
mod scene;
mod script;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use bevy::tasks::Task;
use bevy::window::{ExitCondition, WindowResolution};

use crate::case::CaseData;
use crate::live::{Controls, Evaluation, LiveModel};
use crate::{Scene, ViewError, to_bevy};

/// Options of the window.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Window size, logical pixels (default 1280 x 800).
    pub size: Option<(u32, u32)>,
    /// Play this motion at start (by name).
    pub play: Option<String>,
    /// Save a picture of the window into this new PNG once the scene is ready (and, with
    /// `play`, the motion has reached its first contact), then close.
    pub screenshot: Option<PathBuf>,
    /// Close after this long (for scripted runs).
    pub close_after: Option<Duration>,
}

/// Width of the control panel, logical pixels.
pub(super) const PANEL_PX: f32 = 390.0;
/// Playback speed of the driven angle, deg per second.
pub(super) const PLAY_DEG_PER_S: f64 = 45.0;

/// The order the window's systems run in each frame: input first, then the evaluation it
/// queued, then the motion, then the panel's texts, then a scripted run's picture.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ViewerSystems {
    /// The orbit camera follows the mouse.
    Camera,
    /// Buttons and keys change the controls, the motion played and what is shown.
    Input,
    /// Queued controls are evaluated off the render thread; a finished evaluation swaps in.
    Replan,
    /// The femur moves along the motion played.
    Playback,
    /// The panel's texts follow the state.
    Panel,
    /// Scripted runs: the picture, closing.
    Script,
}

/// A motion being played.
#[derive(Debug, Clone, Copy)]
pub(super) struct Playback {
    motion: usize,
    elapsed_s: f64,
}

#[derive(Resource)]
pub(super) struct Viewer {
    case: CaseData,
    live: Option<Arc<LiveModel>>,
    eval: Option<Arc<Evaluation>>,
    controls: Option<Controls>,
    /// Controls changed while an evaluation was running.
    queued: Option<Controls>,
    task: Option<Task<Result<Evaluation, ViewError>>>,
    selected: usize,
    playing: Option<Playback>,
    status: String,
    orbit: camera::Orbit,
    options: WindowOptions,
}

/// Opens the window on `case` (its CT slices and muscles already loaded into it, if wanted)
/// and runs until it is closed.
///
/// # Errors
/// [`ViewError::Exists`] if the screenshot file exists; [`ViewError::Render`] if the scripted
/// screenshot was not written.
pub fn run(case: CaseData, slices: Vec<crate::SlicePlane>, options: WindowOptions) -> Result<(), ViewError> {
    if let Some(out) = &options.screenshot
        && out.exists()
    {
        return Err(ViewError::Exists(out.clone()));
    }
    // The live model: a background thread would only move the wait; it is built here (a few
    // tenths of a second: landmarks on the bone surfaces) so that a failure is said at once.
    let (live, eval, mut status) = match LiveModel::new(&case) {
        Ok(l) => {
            let c = l.base_controls();
            match l.evaluate(&c) {
                Ok(e) => (Some(Arc::new(l)), Some(Arc::new(e)), String::from("Live planning on: change the plan with the buttons")),
                Err(e) => (None, None, format!("{e}")),
            }
        }
        Err(e) => (None, None, format!("{e}")),
    };
    for n in &case.notes {
        status.push_str("\nNote: ");
        status.push_str(n);
    }
    let mut scene = Scene::of_case(&case, eval.as_deref());
    scene.slices = slices;
    let centre = scene.hip_centre_lps_mm.map_or(Vec3::ZERO, |p| to_bevy(&p.coords));
    let lateral = if scene.side_is_left { 1.0 } else { -1.0 };
    let orbit = camera::Orbit { target: centre, yaw: lateral * 0.5, pitch: -0.2, distance: 0.6 };
    let (w, h) = options.size.unwrap_or((1280, 800));
    let selected = options.play.as_ref().and_then(|name| eval.as_ref().and_then(|e| e.motions.iter().position(|m| m.name == name))).unwrap_or(0);
    let playing = options.play.as_ref().and(eval.as_ref()).map(|_| Playback { motion: selected, elapsed_s: 0.0 });
    let shot = options.screenshot.clone();
    let viewer = Viewer { controls: eval.as_ref().map(|e| e.controls), case, live, eval, queued: None, task: None, selected, playing, status, orbit, options };
    let window = Window { title: "coxa - hip plan".into(), resolution: WindowResolution::new(w, h), ..default() };
    let mut app = App::new();
    // No global logger of bevy's own (the host program has one). Pipelines compiled before the first frame: a software renderer takes seconds to compile
    // them, and a scripted picture must not catch a frame without the scene.
    let render = bevy::render::RenderPlugin { synchronous_pipeline_compilation: true, ..default() };
    app.add_plugins(DefaultPlugins.set(WindowPlugin { primary_window: Some(window), exit_condition: ExitCondition::OnPrimaryClosed, ..default() }).set(render).disable::<bevy::log::LogPlugin>());
    crate::lighting(&mut app);
    app.insert_resource(viewer);
    app.configure_sets(Update, (ViewerSystems::Camera, ViewerSystems::Input, ViewerSystems::Replan, ViewerSystems::Playback, ViewerSystems::Panel, ViewerSystems::Script).chain());
    app.add_plugins((scene::ScenePlugin { scene }, scale::ScalePlugin, camera::CameraPlugin, panel::PanelPlugin, planning::LivePlanningPlugin, playback::PlaybackPlugin, script::ScriptPlugin));
    app.run();
    if let Some(out) = shot
        && !out.is_file()
    {
        return Err(ViewError::Render { path: out, why: "the window closed before its picture was saved (is a display and a Vulkan device available? try xvfb-run and mesa-vulkan-drivers)".into() });
    }
    Ok(())
}

//! The interactive window: orbit camera, on-screen planning controls, motion playback with the
//! first contact highlighted, CT slices and muscles toggled.
//!
//! Mouse: left drag orbits, right drag pans, the wheel zooms. Keys: `1` to `5` the camera
//! presets (AP, lateral, superior, inlet, outlet; buttons on the panel too), `Space` plays or
//! stops the selected motion, `S` / `M` / `B` / `L` show or hide the CT slices (off at first,
//! translucent when shown), muscles, bones and landmarks, `Esc` stops the motion, `Ctrl+Z` /
//! `Ctrl+Y` undo and redo a change of the plan, `Ctrl+S` saves it as a new plan revision.
//!
//! The first view is the AP preset framing every bone and implant of the case (the whole
//! pelvis), the patient's right on the screen's left.
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

pub(crate) mod camera;
mod desk;
mod panel;
mod planning;
mod playback;
mod scale;
mod scene;
mod script;
mod surface;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use bevy::tasks::Task;
use bevy::window::{ExitCondition, WindowResolution};

pub use crate::script::Preset;

use crate::case::CaseData;
use crate::live::{Controls, Evaluation, LiveModel};
use crate::revision::{CaseStamp, SaveHook};
use crate::script::Script;
use crate::{Kind, Scene, ViewError, to_bevy};

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
    /// Actions to run, one after the other, once the scene is ready (`--script`).
    pub script: Option<Script>,
    /// The host program's part of Save (report, pictures, manifest).
    pub save_hook: Option<SaveHook>,
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
    /// The evaluation of the case's own (automatic) plan: what the changes are shown against.
    automatic: Option<Arc<Evaluation>>,
    /// Controls before each change (undo), and changes taken back (redo).
    undo: Vec<Controls>,
    redo: Vec<Controls>,
    /// The case's files as opened (or last saved): a save checks them first.
    stamp: Option<CaseStamp>,
    /// The points the presets frame (bones, implants, landmarks), bevy frame.
    frame_points: Arc<Vec<Vec3>>,
    side_is_left: bool,
    /// The definition the cup angles are shown and stepped in.
    definition: coxa_core::CupAngleDefinition,
    /// The last evaluation's failure, for a scripted run.
    eval_error: Option<String>,
    /// A scripted run's failure: the line and why (shared: the app is gone when `run` returns).
    failure: Arc<std::sync::Mutex<Option<(usize, String)>>>,
}

impl Viewer {
    /// The controls shown (the queued ones, else those evaluated).
    fn shown(&self) -> Option<Controls> {
        self.queued.or(self.controls)
    }
    /// Queues `c` for evaluation, remembering the controls before it for undo.
    fn change(&mut self, c: Controls) {
        if let Some(now) = self.shown()
            && now != c
        {
            self.undo.push(now);
            self.redo.clear();
            self.queued = Some(c);
        }
    }
    /// Takes the last change back (`redo = false`) or makes it again; false when there is none.
    fn step_history(&mut self, redo: bool) -> bool {
        let Some(now) = self.shown() else { return false };
        let (from, to) = if redo { (&mut self.redo, &mut self.undo) } else { (&mut self.undo, &mut self.redo) };
        let Some(c) = from.pop() else { return false };
        to.push(now);
        self.queued = Some(c);
        true
    }
    /// The orbit of `preset` for a 3D view of `aspect`.
    fn preset(&self, preset: Preset, aspect: f32) -> camera::Orbit {
        preset.fit(&self.frame_points, self.side_is_left, aspect)
    }
}

/// The points the presets frame, bevy frame: the bones' and implants' vertices (else every
/// surface's; at most about 40 000, each surface's extremes always among them, placed as drawn),
/// the landmarks and the frames' 60 mm axes.
fn frame_points(scene: &Scene) -> Vec<Vec3> {
    let solid: Vec<&crate::SceneMesh> = scene.meshes.iter().filter(|m| m.kind != Kind::Muscle).collect();
    let meshes = if solid.is_empty() { scene.meshes.iter().collect() } else { solid };
    let total: usize = meshes.iter().map(|m| m.mesh.vertices().len()).sum();
    let stride = (total / 40_000).max(1);
    let mut points = Vec::new();
    for m in meshes {
        let place = |p: &nalgebra::Point3<f64>| to_bevy(&m.motion.as_ref().map_or(*p, |r| r.apply(p)).coords);
        let v = m.mesh.vertices();
        points.extend(v.iter().step_by(stride).map(place));
        for axis in 0..3 {
            for p in [v.iter().min_by(|a, b| a[axis].total_cmp(&b[axis])), v.iter().max_by(|a, b| a[axis].total_cmp(&b[axis]))].into_iter().flatten() {
                points.push(place(p));
            }
        }
    }
    // Landmarks (3 mm spheres) and the frames' axes are drawn too.
    for m in &scene.markers {
        let c = to_bevy(&m.lps_mm.coords);
        points.extend([c - Vec3::splat(0.003), c + Vec3::splat(0.003)]);
    }
    for f in &scene.frames {
        points.push(to_bevy(&f.origin_lps_mm.coords));
        points.extend(f.axes_lps.iter().map(|a| to_bevy(&(f.origin_lps_mm.coords + a * 60.0))));
    }
    if points.is_empty() {
        let c = scene.hip_centre_lps_mm.map_or(Vec3::ZERO, |p| to_bevy(&p.coords));
        points.extend([c - Vec3::splat(0.1), c + Vec3::splat(0.1)]);
    }
    points
}

/// Opens the window on `case` (its CT slices and muscles already loaded into it, if wanted)
/// and runs until it is closed.
///
/// # Errors
/// [`ViewError::Exists`] if the screenshot file exists; [`ViewError::Render`] if the scripted
/// screenshot was not written; [`ViewError::Script`] when a scripted action failed (its line
/// and why: a save into a case changed on disk, a size outside the catalog, ...).
pub fn run(case: CaseData, slices: Vec<crate::SlicePlane>, options: WindowOptions) -> Result<(), ViewError> {
    if let Some(out) = &options.screenshot
        && out.exists()
    {
        return Err(ViewError::Exists(out.clone()));
    }
    // The live model: a background thread would only move the wait; it is built here (a few
    // tenths of a second: landmarks on the bone surfaces) so that a failure is said at once.
    let (live, automatic, eval, mut status) = match LiveModel::new(&case) {
        Ok(l) => {
            let c = l.base_controls();
            // The case's current plan: a saved revision's controls, else the automatic plan's.
            let now = crate::revision::current_controls(&case.dir, &c);
            match l.evaluate(&c).and_then(|a| if now == c { Ok((a.clone(), a)) } else { l.evaluate(&now).map(|e| (a, e)) }) {
                Ok((a, e)) => (Some(Arc::new(l)), Some(Arc::new(a)), Some(Arc::new(e)), String::from("Live planning on: change the plan with the buttons")),
                Err(e) => (None, None, None, format!("{e}")),
            }
        }
        Err(e) => (None, None, None, format!("{e}")),
    };
    for n in &case.notes {
        status.push_str("\nNote: ");
        status.push_str(n);
    }
    let mut scene = Scene::of_case(&case, eval.as_deref());
    scene.slices = slices;
    let (w, h) = options.size.unwrap_or((1280, 800));
    let frame_points = Arc::new(frame_points(&scene));
    let aspect = (w as f32 - PANEL_PX).max(1.0) / (h as f32).max(1.0);
    let orbit = Preset::Ap.fit(&frame_points, scene.side_is_left, aspect);
    let stamp = CaseStamp::take(&case.dir)?;
    let script = options.script.clone();
    let failure = Arc::new(std::sync::Mutex::new(None));
    let selected = options.play.as_ref().and_then(|name| eval.as_ref().and_then(|e| e.motions.iter().position(|m| m.name == name))).unwrap_or(0);
    let playing = options.play.as_ref().and(eval.as_ref()).map(|_| Playback { motion: selected, elapsed_s: 0.0 });
    let shot = options.screenshot.clone();
    let cup_definition = case.cup_definition;
    let viewer = Viewer {
        controls: eval.as_ref().map(|e| e.controls),
        automatic,
        case,
        live,
        eval,
        queued: None,
        task: None,
        selected,
        playing,
        status,
        orbit,
        options,
        undo: Vec::new(),
        redo: Vec::new(),
        stamp: Some(stamp),
        frame_points,
        side_is_left: scene.side_is_left,
        // The desk opens in the definition the plan was reported in (issue 60).
        definition: cup_definition.unwrap_or(coxa_core::CupAngleDefinition::Radiographic),
        eval_error: None,
        failure: failure.clone(),
    };
    let window = Window { title: "coxa - hip plan".into(), resolution: WindowResolution::new(w, h), ..default() };
    let mut app = App::new();
    // No global logger of bevy's own (the host program has one). Pipelines compiled before the first frame: a software renderer takes seconds to compile
    // them, and a scripted picture must not catch a frame without the scene.
    let render = bevy::render::RenderPlugin { synchronous_pipeline_compilation: true, ..default() };
    app.add_plugins(DefaultPlugins.set(WindowPlugin { primary_window: Some(window), exit_condition: ExitCondition::OnPrimaryClosed, ..default() }).set(render).disable::<bevy::log::LogPlugin>());
    crate::lighting(&mut app);
    app.insert_resource(viewer);
    app.configure_sets(Update, (ViewerSystems::Camera, ViewerSystems::Input, ViewerSystems::Replan, ViewerSystems::Playback, ViewerSystems::Panel, ViewerSystems::Script).chain());
    app.add_plugins((
        surface::SurfacePlugin,
        scene::ScenePlugin { scene },
        scale::ScalePlugin,
        camera::CameraPlugin,
        panel::PanelPlugin,
        planning::LivePlanningPlugin,
        playback::PlaybackPlugin,
        script::ScriptPlugin,
    ));
    app.add_plugins(desk::DeskPlugin { script: script.clone() });
    app.run();
    let failed = failure.lock().map(|f| f.clone()).unwrap_or(None);
    if let Some((line, why)) = failed {
        return Err(match (script, &shot) {
            (Some(s), _) => ViewError::Script { file: s.file, line, why },
            // The picture of `--window-screenshot` could not be written.
            (None, Some(out)) => ViewError::Render { path: out.clone(), why },
            (None, None) => ViewError::Live { why },
        });
    }
    if let Some(out) = shot
        && !out.is_file()
    {
        return Err(ViewError::Render { path: out, why: "the window closed before its picture was saved (is a display and a Vulkan device available? try xvfb-run and mesa-vulkan-drivers)".into() });
    }
    Ok(())
}

//! The planning desk's actions shared by the panel, the keys and scripts: save, undo and redo,
//! the camera presets, showing a layer; and the scripted run (`--script`), one action at a time
//! once the scene is ready and nothing is being evaluated.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::PrimaryWindow;

use super::{Preset, Viewer, ViewerSystems, camera};
use crate::script::{Action, Layer, Script};
use crate::{ContactItem, Kind, LandmarkItem, SceneItem, SliceItem, ViewError};

/// Runs a script, if there is one.
pub(super) struct DeskPlugin {
    pub(super) script: Option<Script>,
}

impl Plugin for DeskPlugin {
    fn build(&self, app: &mut App) {
        if let Some(s) = &self.script {
            let timing = std::env::var_os("COXA_VIEW_TIMING").is_some_and(|v| v == "1").then(Timing::default);
            app.insert_resource(ScriptRun { file: s.file.clone(), steps: s.steps.clone(), next: 0, frames: 0, wait: Wait::Frames(0), warnings: Vec::new(), timing });
            app.add_systems(Update, run_script.in_set(ViewerSystems::Script));
        }
    }
}

/// What the script waits for before its next action.
#[derive(Debug, Clone)]
enum Wait {
    /// This many frames (a camera or a layer change drawn).
    Frames(u32),
    /// The evaluation queued by the line's `set`, `undo` or `redo`.
    Evaluation(usize),
    /// A picture to be written: its file and the writer's outcome.
    Picture(PathBuf, PictureSlot),
}

/// The outcome of a picture of the window ([`write_picture`]): `None` while it is not taken yet.
pub(super) type PictureSlot = Arc<Mutex<Option<Result<(), String>>>>;

/// An observer that writes the captured window into the new PNG `out` (whole: a temporary file
/// beside it, linked to its name, which must not exist) and puts the outcome into `slot`; a
/// picture that cannot be written is an error the script reports (issue 61: it waited forever).
pub(super) fn write_picture(out: PathBuf, slot: PictureSlot) -> impl FnMut(On<ScreenshotCaptured>) {
    move |shot| {
        let r = encode_png(&shot.image).and_then(|bytes| write_new(&out, &bytes)).map_err(|e| format!("the picture cannot be written to {}: {e}", out.display()));
        if let Ok(mut s) = slot.lock() {
            *s = Some(r);
        }
    }
}

fn encode_png(image: &Image) -> Result<Vec<u8>, String> {
    let rgb = image.clone().try_into_dynamic().map_err(|e| format!("{e}"))?.to_rgb8();
    let (w, h) = rgb.dimensions();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb.as_raw()).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes `bytes` into the new file `out`: a temporary beside it, linked to the name (which
/// fails if it exists: never overwritten), the temporary removed.
fn write_new(out: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let name = out.file_name().map_or_else(|| "picture".into(), |n| n.to_string_lossy().into_owned());
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, out)
    })();
    let _ = std::fs::remove_file(&tmp);
    written.map_err(|e| e.to_string())
}

#[derive(Resource)]
struct ScriptRun {
    file: std::path::PathBuf,
    steps: Vec<(usize, Action)>,
    next: usize,
    frames: u64,
    wait: Wait,
    /// The warnings of the plan last shown ([`crate::live::Evaluation::warnings`]): a warning
    /// is printed by the line that brings it or changes its value, not again by the lines after.
    warnings: Vec<String>,
    /// The window's own timing (`COXA_VIEW_TIMING=1`), printed when the script quits.
    timing: Option<Timing>,
}

/// The window's timing of a script run (issue 60: the desk's speed measured in the window
/// itself): every frame's time, and for each control changed (a `set`, `undo` or `redo`, as a
/// click on the panel) the time until a frame showing its numbers on the panel was drawn: the
/// frame after the one in which the evaluation's result was taken in.
#[derive(Debug, Default)]
struct Timing {
    last_frame: Option<std::time::Instant>,
    frames_ms: Vec<f64>,
    change: Option<(usize, std::time::Instant)>,
    shown: Option<(usize, std::time::Instant)>,
    latencies_ms: Vec<(usize, f64)>,
}

impl Timing {
    /// One frame began.
    fn frame(&mut self) {
        let now = std::time::Instant::now();
        if let Some(t) = self.last_frame {
            self.frames_ms.push(1000.0 * (now - t).as_secs_f64());
        }
        self.last_frame = Some(now);
        // The frame with the new numbers was drawn before this one began.
        if let Some((line, t0)) = self.shown.take() {
            self.latencies_ms.push((line, 1000.0 * (now - t0).as_secs_f64()));
        }
    }

    /// What it measured, one line.
    fn summary(&self) -> String {
        let mut f = self.frames_ms.clone();
        f.sort_by(f64::total_cmp);
        let at = |q: f64| f.get(((f.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
        let changes: Vec<String> = self.latencies_ms.iter().map(|(l, ms)| format!("line {l} {ms:.0} ms")).collect();
        format!(
            "window timing: {} frames, frame time median {:.1} ms, 95th percentile {:.1} ms, max {:.1} ms; a control change to its numbers on the panel: {}",
            f.len(),
            at(0.5),
            at(0.95),
            f.last().copied().unwrap_or(f64::NAN),
            if changes.is_empty() { "none".to_string() } else { changes.join(", ") }
        )
    }
}

/// Saves the plan shown as a new revision of the case (see [`crate::revision`]); the status
/// line says what happened.
///
/// # Errors
/// Nothing to save yet (no live model, an evaluation running), or [`crate::revision::save`]'s.
pub(super) fn save(v: &mut Viewer) -> Result<String, ViewError> {
    let (Some(auto), Some(e)) = (v.automatic.clone(), v.eval.clone()) else {
        return Err(ViewError::Save { why: "live planning is off, so there is no plan to save (see the notes)".into() });
    };
    if v.task.is_some() || v.queued.is_some() {
        return Err(ViewError::Save { why: "the range of motion is still being computed: save again when it is shown".into() });
    }
    let stamp = v.stamp.clone().ok_or_else(|| ViewError::Save { why: "the case's files could not be read when it was opened".into() })?;
    let saved = crate::revision::save(&v.case.dir, &stamp, &auto, &e, v.options.save_hook.as_ref())?;
    v.stamp = Some(saved.stamp);
    let msg = format!("Saved: plan.json is revision {} ({} files written)", saved.number, saved.files.len());
    v.status.clone_from(&msg);
    Ok(msg)
}

/// The save of the panel and the keys: the outcome on the status line.
pub(super) fn save_to_status(v: &mut Viewer) {
    if let Err(e) = save(v) {
        v.status = format!("Not saved: {e}");
    }
}

/// Undo (`redo = false`) or redo on the status line.
pub(super) fn history_to_status(v: &mut Viewer, redo: bool) {
    if !v.step_history(redo) {
        v.status = if redo { "Nothing to redo".into() } else { "Nothing to undo".into() };
    }
}

/// The camera to `preset`, framing the scene in the window's 3D view.
pub(super) fn view(v: &mut Viewer, preset: Preset, window: Option<&Window>) {
    let aspect = window.map_or(1.0, camera::aspect);
    v.orbit = v.preset(preset, aspect);
}

/// Shows or hides a layer.
#[allow(clippy::type_complexity, reason = "a bevy query of what can be hidden")]
pub(super) fn show(layer: Layer, shown: Option<bool>, vis: &mut Query<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Has<LandmarkItem>), Without<ContactItem>>) {
    for (mut visibility, item, is_slice, is_landmark) in vis.iter_mut() {
        let hit = match layer {
            Layer::Slices => is_slice,
            Layer::Landmarks => is_landmark,
            Layer::Muscles => item.is_some_and(|i| i.kind == Kind::Muscle),
            Layer::Bones => item.is_some_and(|i| i.kind == Kind::Bone),
        };
        if hit {
            let on = shown.unwrap_or(*visibility == Visibility::Hidden);
            visibility.set_if_neq(if on { Visibility::Inherited } else { Visibility::Hidden });
        }
    }
}

/// The line of the action last started.
fn line_of(run: &ScriptRun) -> usize {
    run.next.checked_sub(1).and_then(|k| run.steps.get(k)).map_or(0, |(l, _)| *l)
}

/// One step of the script each frame it can: the scene ready (frame 8), nothing evaluating,
/// the last action's wait over.
#[allow(clippy::type_complexity, reason = "bevy queries of the window and of what can be hidden")]
fn run_script(
    mut run: ResMut<ScriptRun>,
    mut v: ResMut<Viewer>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut vis: Query<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Has<LandmarkItem>), Without<ContactItem>>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
) {
    run.frames += 1;
    if let Some(t) = run.timing.as_mut() {
        t.frame();
    }
    if run.frames < 8 || v.task.is_some() || v.queued.is_some() {
        return;
    }
    let fail = |v: &mut Viewer, line: usize, why: String, exit: &mut MessageWriter<AppExit>| {
        if let Ok(mut f) = v.failure.lock() {
            *f = Some((line, why));
        }
        exit.write(AppExit::from_code(2));
    };
    match run.wait.clone() {
        Wait::Frames(n) if n > 0 => {
            run.wait = Wait::Frames(n - 1);
            return;
        }
        Wait::Evaluation(line) => {
            if let Some(e) = v.eval_error.take() {
                fail(&mut v, line, e, &mut exit);
                return;
            }
            // Never silent: a value outside its documented range is said with the line.
            let now = v.eval.as_ref().map(|e| e.warnings()).unwrap_or_default();
            for w in now.iter().filter(|w| !run.warnings.contains(w)) {
                eprintln!("{}:{line}: warning: {w}", run.file.display());
            }
            run.warnings = now;
            if let Some(t) = run.timing.as_mut()
                && let Some(change) = t.change.take()
            {
                t.shown = Some(change);
            }
            // Two frames for the new implants to be drawn.
            run.wait = Wait::Frames(2);
            return;
        }
        Wait::Picture(out, slot) => {
            let outcome = slot.lock().map(|s| s.clone()).unwrap_or_else(|_| Some(Err("the picture writer failed".into())));
            match outcome {
                None => return,
                Some(Ok(())) => println!("wrote {}", out.display()),
                Some(Err(why)) => {
                    fail(&mut v, line_of(&run), why, &mut exit);
                    return;
                }
            }
        }
        Wait::Frames(_) => {}
    }
    run.wait = Wait::Frames(0);
    let Some((line, action)) = run.steps.get(run.next).cloned() else { return };
    run.next += 1;
    let text = |a: &Action| format!("{a:?}");
    match action {
        Action::Set(control, value) => {
            let Some(live) = v.live.clone() else {
                fail(&mut v, line, "live planning is off, so no control can be set (see the notes printed)".into(), &mut exit);
                return;
            };
            let Some(now) = v.shown() else { return };
            let c = control.set(&now, value);
            if let Err(e) = live.check_catalog(&c) {
                fail(&mut v, line, format!("set {} {value}: {e}", control.name()), &mut exit);
                return;
            }
            v.eval_error = None;
            if let Some(t) = run.timing.as_mut() {
                t.change = Some((line, std::time::Instant::now()));
            }
            v.change(c);
            run.wait = Wait::Evaluation(line);
        }
        Action::Undo | Action::Redo => {
            let redo = action == Action::Redo;
            if !v.step_history(redo) {
                fail(&mut v, line, format!("{}: nothing to {}", text(&action).to_lowercase(), if redo { "redo" } else { "undo" }), &mut exit);
                return;
            }
            v.eval_error = None;
            if let Some(t) = run.timing.as_mut() {
                t.change = Some((line, std::time::Instant::now()));
            }
            run.wait = Wait::Evaluation(line);
        }
        Action::Save => match save(&mut v) {
            Ok(msg) => println!("{msg}"),
            Err(e) => fail(&mut v, line, e.to_string(), &mut exit),
        },
        Action::View(p) => {
            view(&mut v, p, window.single().ok());
            run.wait = Wait::Frames(2);
        }
        Action::Show(layer, on) => {
            show(layer, Some(on), &mut vis);
            run.wait = Wait::Frames(2);
        }
        Action::Screenshot(out) => {
            if out.exists() {
                fail(&mut v, line, format!("{} already exists; coxa never overwrites: choose another file", out.display()), &mut exit);
                return;
            }
            let slot = PictureSlot::default();
            commands.spawn(Screenshot::primary_window()).observe(write_picture(out.clone(), slot.clone()));
            run.wait = Wait::Picture(out, slot);
        }
        Action::Quit => {
            if let Some(t) = &run.timing {
                eprintln!("{}", t.summary());
            }
            exit.write(AppExit::Success);
        }
    }
}

//! Scripted runs (`--window-screenshot`, `--close-after-s`): the picture once the scene is ready,
//! closing, and the frame-time report.

use bevy::prelude::*;
use bevy::render::view::screenshot::Screenshot;

use super::desk::{PictureSlot, write_picture};
use super::{Viewer, ViewerSystems};

/// Counts frames; takes the scripted picture; closes.
pub(super) struct ScriptPlugin;

impl Plugin for ScriptPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(FrameStats { frames: 0, started: std::time::Instant::now(), shot: None, steady_from: None });
        app.add_systems(Update, scripted.in_set(ViewerSystems::Script));
    }
}

/// Frame counting for scripted runs, apart from [`Viewer`] so that counting does not mark the
/// viewer's state changed (the panel's texts are rebuilt only when it changes).
#[derive(Resource)]
struct FrameStats {
    frames: u64,
    started: std::time::Instant,
    /// The picture's outcome once it is asked for.
    shot: Option<PictureSlot>,
    /// Frame count and time when the steady state began (frame 5), for the frame-time report.
    steady_from: Option<(u64, std::time::Instant)>,
}

/// Scripted runs: the picture once the scene is ready, and closing.
fn scripted(v: Res<Viewer>, mut f: ResMut<FrameStats>, mut commands: Commands, mut exit: MessageWriter<AppExit>) {
    f.frames += 1;
    if f.frames == 5 {
        f.steady_from = Some((5, std::time::Instant::now()));
    }
    if let Some(out) = v.options.screenshot.clone() {
        let busy = v.task.is_some() || v.queued.is_some();
        match f.shot.clone() {
            None if f.frames >= 8 && !busy => {
                let slot = PictureSlot::default();
                commands.spawn(Screenshot::primary_window()).observe(write_picture(out, slot.clone()));
                f.shot = Some(slot);
            }
            // Written or not: the window closes, and `run` says which (a picture that cannot be
            // written is an error, not a wait).
            Some(slot) if slot.lock().map_or(true, |s| s.is_some()) => {
                if let Some(Err(why)) = slot.lock().ok().and_then(|s| s.clone())
                    && let Ok(mut failure) = v.failure.lock()
                {
                    *failure = Some((0, why));
                }
                exit.write(AppExit::Success);
            }
            _ => {}
        }
    }
    if v.options.close_after.is_some_and(|d| f.started.elapsed() >= d) {
        let t = f.started.elapsed().as_secs_f64();
        let steady = f.steady_from.map(|(n, t0)| (f.frames - n, t0.elapsed().as_secs_f64()));
        eprintln!(
            "window: {} frames in {t:.1} s with start-up; after the first 5 frames {}",
            f.frames,
            steady.filter(|(n, _)| *n > 0).map_or("-".to_string(), |(n, s)| format!("{n} frames, {:.0} ms per frame", 1000.0 * s / n as f64))
        );
        exit.write(AppExit::Success);
    }
}

//! Scripted runs (`--window-screenshot`, `--close-after-s`): the picture once the scene is ready,
//! closing, and the frame-time report.

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};

use super::{Viewer, ViewerSystems};

/// Counts frames; takes the scripted picture; closes.
pub(super) struct ScriptPlugin;

impl Plugin for ScriptPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(FrameStats { frames: 0, started: std::time::Instant::now(), shot_requested: false, steady_from: None });
        app.add_systems(Update, scripted.in_set(ViewerSystems::Script));
    }
}

/// Frame counting for scripted runs, apart from [`Viewer`] so that counting does not mark the
/// viewer's state changed (the panel's texts are rebuilt only when it changes).
#[derive(Resource)]
struct FrameStats {
    frames: u64,
    started: std::time::Instant,
    shot_requested: bool,
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
        if !f.shot_requested && f.frames >= 8 && !busy {
            f.shot_requested = true;
            commands.spawn(Screenshot::primary_window()).observe(save_to_disk(out));
        } else if f.shot_requested && v.options.screenshot.as_ref().is_some_and(|o| o.is_file() && std::fs::metadata(o).is_ok_and(|m| m.len() > 0)) {
            exit.write(AppExit::Success);
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

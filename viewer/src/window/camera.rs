//! The orbit camera: left drag orbits about the hip centre, right drag pans, the wheel zooms.

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;

use super::{PANEL_PX, Viewer, ViewerSystems};

/// The orbit camera follows the mouse (not over the panel).
pub(super) struct CameraPlugin;

impl Plugin for CameraPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, orbit_camera.in_set(ViewerSystems::Camera));
    }
}

/// Orbit camera state (bevy frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Orbit {
    pub(super) target: Vec3,
    pub(super) yaw: f32,
    pub(super) pitch: f32,
    pub(super) distance: f32,
}

impl Orbit {
    pub(super) fn transform(&self) -> Transform {
        let rot = Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0);
        let eye = self.target + rot * Vec3::new(0.0, 0.0, self.distance);
        Transform::from_translation(eye).looking_at(self.target, Vec3::Y)
    }
}

fn orbit_camera(
    mut v: ResMut<Viewer>,
    mut camera: Query<&mut Transform, With<Camera3d>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    window: Query<&Window, With<PrimaryWindow>>,
) {
    let over_panel = window.single().ok().and_then(|w| w.cursor_position()).is_some_and(|p| p.x < PANEL_PX);
    let mut o = v.orbit;
    if !over_panel {
        let d = motion.delta;
        if buttons.pressed(MouseButton::Left) {
            o.yaw -= d.x * 0.008;
            o.pitch = (o.pitch - d.y * 0.008).clamp(-1.5, 1.5);
        }
        if buttons.pressed(MouseButton::Right) {
            let t = o.transform();
            o.target += (t.left() * d.x + t.up() * d.y) * o.distance * 0.002;
        }
        if scroll.delta.y != 0.0 {
            o.distance = (o.distance * (1.0 - 0.1 * scroll.delta.y.signum())).clamp(0.05, 3.0);
        }
    }
    if o != v.orbit {
        v.orbit = o;
    }
    for mut t in &mut camera {
        t.set_if_neq(o.transform());
    }
}

//! The orbit camera: left drag orbits about the target, right drag pans, the wheel zooms; the
//! presets (AP, lateral, superior, inlet, outlet) frame the bones and implants from a
//! radiograph's directions; the 3D view is the window right of the panel (the camera's viewport).
//!
//! The first view is [`Preset::Ap`]: the whole pelvis (every bone of the case and the implants)
//! seen from the front, the patient's right on the screen's left (radiological convention).

use bevy::camera::Viewport;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;

use super::scale::ScaledView;
use super::{PANEL_PX, Viewer, ViewerSystems};
use crate::script::Preset;

/// The orbit camera follows the mouse (not over the panel); the viewport follows the window.
pub(super) struct CameraPlugin;

impl Plugin for CameraPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, (orbit_camera, follow_viewport).chain().in_set(ViewerSystems::Camera));
    }
}

/// Vertical field of view of the 3D camera, rad (bevy's default perspective).
pub(super) const FOV_Y: f32 = std::f32::consts::FRAC_PI_4;

/// Orbit camera state (bevy frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Orbit {
    pub(super) target: Vec3,
    pub(super) yaw: f32,
    pub(super) pitch: f32,
    pub(super) distance: f32,
}

impl Orbit {
    fn rotation(&self) -> Quat {
        Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0)
    }
    pub(super) fn transform(&self) -> Transform {
        let rotation = self.rotation();
        Transform { translation: self.target + rotation * Vec3::new(0.0, 0.0, self.distance), rotation, scale: Vec3::ONE }
    }
}

impl Preset {
    /// Yaw and pitch of the preset (bevy frame; the operated side for the lateral view).
    fn angles(self, side_is_left: bool) -> (f32, f32) {
        use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, PI};
        match self {
            Preset::Ap => (0.0, 0.0),
            Preset::Lateral => (if side_is_left { FRAC_PI_2 } else { -FRAC_PI_2 }, 0.0),
            // Turned half round so that anterior is up on the screen, as the report's superior view.
            Preset::Superior => (PI, -FRAC_PI_2),
            Preset::Inlet => (0.0, -FRAC_PI_4),
            Preset::Outlet => (0.0, FRAC_PI_4),
        }
    }

    /// The orbit that shows every point of `points` (bevy frame) from this preset's direction
    /// in a view of `aspect` (width / height), centred, with a small margin.
    pub(super) fn fit(self, points: &[Vec3], side_is_left: bool, aspect: f32) -> Orbit {
        let (yaw, pitch) = self.angles(side_is_left);
        let (lo, hi) = points.iter().fold((Vec3::splat(f32::MAX), Vec3::splat(f32::MIN)), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        let mut target = if points.is_empty() { Vec3::ZERO } else { (lo + hi) / 2.0 };
        let tan_y = (FOV_Y / 2.0).tan();
        let tan_x = tan_y * aspect.max(0.1);
        const MARGIN: f32 = 1.03;
        // The distance that keeps every point inside; the target then moved so that the points'
        // extent is centred on the screen (a few rounds: perspective makes it inexact).
        let distance = |target: Vec3| {
            let unit = Orbit { target, yaw, pitch, distance: 1.0 }.transform();
            let (right, up, back) = (*unit.right(), *unit.up(), *unit.back());
            let mut d: f32 = 0.05;
            for p in points {
                let c = *p - target;
                let (x, y, z) = (c.dot(right), c.dot(up), c.dot(back));
                d = d.max(z + MARGIN * x.abs() / tan_x).max(z + MARGIN * y.abs() / tan_y);
            }
            (d, right, up, back)
        };
        for _ in 0..3 {
            let (d, right, up, back) = distance(target);
            let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
            for p in points {
                let c = *p - target;
                let depth = (d - c.dot(back)).max(1e-4);
                let (x, y) = (c.dot(right) / (depth * tan_x), c.dot(up) / (depth * tan_y));
                (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
            }
            if points.is_empty() {
                break;
            }
            target += right * ((x0 + x1) / 2.0 * d * tan_x) + up * ((y0 + y1) / 2.0 * d * tan_y);
        }
        Orbit { target, yaw, pitch, distance: distance(target).0 }
    }
}

/// The 3D view's rectangle in the camera's target, physical pixels: the window right of the
/// panel, at the scaled view's fraction when it is drawn scaled.
pub(super) fn viewport(window: &Window, scale: f32) -> Viewport {
    let s = window.scale_factor() * scale;
    let (w, h) = (((window.physical_width() as f32) * scale).round() as u32, ((window.physical_height() as f32) * scale).round() as u32);
    let x0 = ((PANEL_PX * s).round() as u32).min(w.saturating_sub(1));
    Viewport { physical_position: UVec2::new(x0, 0), physical_size: UVec2::new((w - x0).max(1), h.max(1)), depth: 0.0..1.0 }
}

/// Width / height of the 3D view.
pub(super) fn aspect(window: &Window) -> f32 {
    let w = (window.width() - PANEL_PX).max(1.0);
    w / window.height().max(1.0)
}

/// Keeps the 3D camera's viewport on the window right of the panel.
fn follow_viewport(mut cameras: Query<&mut Camera, With<Camera3d>>, window: Query<&Window, With<PrimaryWindow>>, scaled: Option<Res<ScaledView>>) {
    let Ok(w) = window.single() else { return };
    let want = viewport(w, scaled.map_or(1.0, |s| s.scale));
    for mut c in &mut cameras {
        if c.viewport.as_ref().is_none_or(|v| v.physical_position != want.physical_position || v.physical_size != want.physical_size) {
            c.viewport = Some(want.clone());
        }
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
            o.pitch = (o.pitch - d.y * 0.008).clamp(-std::f32::consts::FRAC_PI_2, std::f32::consts::FRAC_PI_2);
        }
        if buttons.pressed(MouseButton::Right) {
            let t = o.transform();
            o.target += (t.left() * d.x + t.up() * d.y) * o.distance * 0.002;
        }
        if scroll.delta.y != 0.0 {
            o.distance = (o.distance * (1.0 - 0.1 * scroll.delta.y.signum())).clamp(0.05, 5.0);
        }
    }
    if o != v.orbit {
        v.orbit = o;
    }
    for mut t in &mut camera {
        t.set_if_neq(o.transform());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Projects `p` with the orbit's camera: normalised device x, y (the view is -1..1).
    fn ndc(o: &Orbit, p: Vec3, aspect: f32) -> (f32, f32) {
        let t = o.transform();
        let c = p - t.translation;
        let depth = c.dot(*t.forward());
        let tan_y = (FOV_Y / 2.0).tan();
        (c.dot(*t.right()) / depth / (tan_y * aspect), c.dot(*t.up()) / depth / tan_y)
    }

    #[test]
    fn every_preset_shows_the_whole_box_and_fills_it() {
        let (lo, hi) = (Vec3::new(-0.15, -0.12, -0.08), Vec3::new(0.14, 0.10, 0.09));
        let box_corners: Vec<Vec3> = (0..8).map(|k| Vec3::new([lo.x, hi.x][k & 1], [lo.y, hi.y][(k >> 1) & 1], [lo.z, hi.z][(k >> 2) & 1])).collect();
        for aspect in [0.8, 1.1, 1.6] {
            for p in Preset::ALL {
                let o = p.fit(&box_corners, false, aspect);
                let corners: Vec<(f32, f32)> = box_corners.iter().map(|c| ndc(&o, *c, aspect)).collect();
                // Centred: the extents' middle on the screen's centre.
                let (x0, x1) = corners.iter().fold((f32::MAX, f32::MIN), |(a, b), c| (a.min(c.0), b.max(c.0)));
                let (y0, y1) = corners.iter().fold((f32::MAX, f32::MIN), |(a, b), c| (a.min(c.1), b.max(c.1)));
                assert!(((x0 + x1) / 2.0).abs() < 0.05 && ((y0 + y1) / 2.0).abs() < 0.05, "{p:?} at aspect {aspect}: off centre {x0}..{x1}, {y0}..{y1}");
                let reach = corners.iter().map(|(x, y)| x.abs().max(y.abs())).fold(0.0, f32::max);
                assert!(reach <= 1.0, "{p:?} at aspect {aspect}: a corner outside the view ({reach})");
                assert!(reach > 0.9, "{p:?} at aspect {aspect}: the box is framed tightly ({reach})");
            }
        }
        // AP: the patient's right (LPS -x, bevy -x) on the screen's left, superior up.
        let o = Preset::Ap.fit(&box_corners, false, 1.0);
        assert!(ndc(&o, Vec3::new(-0.1, 0.0, 0.0), 1.0).0 < 0.0 && ndc(&o, Vec3::new(0.0, 0.05, 0.0), 1.0).1 > 0.0);
        // Lateral of a right hip: the eye on the patient's right; superior: anterior (bevy +z) up.
        assert!(Preset::Lateral.fit(&box_corners, false, 1.0).transform().translation.x < lo.x);
        assert!(Preset::Lateral.fit(&box_corners, true, 1.0).transform().translation.x > hi.x);
        let o = Preset::Superior.fit(&box_corners, false, 1.0);
        assert!(o.transform().translation.y > hi.y && ndc(&o, Vec3::new(0.0, 0.0, 0.05), 1.0).1 > 0.0);
        // Inlet from above the front, outlet from below it.
        assert!(Preset::Inlet.fit(&box_corners, false, 1.0).transform().translation.y > hi.y);
        assert!(Preset::Outlet.fit(&box_corners, false, 1.0).transform().translation.y < lo.y);
        assert_eq!(Preset::ALL.map(|p| Preset::parse(p.name())), Preset::ALL.map(Some));
    }
}

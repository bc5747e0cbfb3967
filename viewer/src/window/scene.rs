//! The scene: bones, muscles, implants, landmarks and slices, the camera and the lights.
//!
//! The first view shows the bones and implants only: the CT's slice planes and the muscles are
//! there, hidden, until asked for (`S`, `M`, the panel's toggles); shown, the planes are
//! translucent so that the bones and implants behind them stay visible.

use bevy::prelude::*;

use super::Viewer;
use crate::{Kind, Scene, SceneItem, SliceItem, spawn_scene};

/// Opacity of a shown CT slice plane in the window.
const SLICE_ALPHA: f32 = 0.6;

/// Spawns the case's scene at start-up.
pub(super) struct ScenePlugin {
    /// What to show.
    pub scene: Scene,
}

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        let scene = self.scene.clone();
        app.add_systems(Startup, move |world: &mut World| spawn(world, &scene));
    }
}

fn spawn(world: &mut World, scene: &Scene) {
    spawn_scene(world, scene);
    hide_overlays(world);
    super::surface::shade(world);
    let orbit = world.resource::<Viewer>().orbit;
    let scale = super::scale::scale_for(world.get_resource::<bevy::render::renderer::RenderAdapterInfo>());
    if scale < 1.0 {
        eprintln!("note: the 3D view is drawn at {:.0} % of the window's pixels (software renderer, or COXA_VIEW_SCALE); COXA_VIEW_SCALE=1 draws it in full", 100.0 * scale);
    }
    let target = super::scale::target(world, scale);
    // No tone mapping (nor its dithering): a full-view pass less on a software renderer; the
    // bones' and muscles' colours are final (`surface.wgsl`).
    let mut camera = world.spawn((
        Camera3d::default(),
        crate::msaa_or(bevy::render::view::Msaa::Off),
        bevy::core_pipeline::tonemapping::Tonemapping::None,
        bevy::core_pipeline::tonemapping::DebandDither::Disabled,
        Projection::from(PerspectiveProjection { near: 0.005, far: 20.0, ..default() }),
        orbit.transform(),
    ));
    if let Some(target) = target {
        camera.insert(target);
    }
    world.spawn((DirectionalLight { illuminance: 5000.0, ..default() }, Transform::from_xyz(-1.0, 1.5, 2.0).looking_at(Vec3::ZERO, Vec3::Y)));
    world.spawn((DirectionalLight { illuminance: 2500.0, ..default() }, Transform::from_xyz(1.0, 0.5, -2.0).looking_at(Vec3::ZERO, Vec3::Y)));
}

/// Hides the slice planes and the muscles, and makes the planes translucent for when they are shown.
fn hide_overlays(world: &mut World) {
    let mut q = world.query::<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Option<&MeshMaterial3d<StandardMaterial>>)>();
    let mut materials = Vec::new();
    for (mut vis, item, is_slice, material) in q.iter_mut(world) {
        if is_slice || item.is_some_and(|i| i.kind == Kind::Muscle) {
            *vis = Visibility::Hidden;
        }
        if is_slice && let Some(m) = material {
            materials.push(m.0.clone());
        }
    }
    let mut assets = world.resource_mut::<Assets<StandardMaterial>>();
    for h in materials {
        if let Some(mut m) = assets.get_mut(&h) {
            m.base_color = m.base_color.with_alpha(SLICE_ALPHA);
            m.alpha_mode = AlphaMode::Blend;
        }
    }
}

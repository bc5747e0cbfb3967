//! The scene: bones, muscles, implants, landmarks and slices, the camera and the lights.

use bevy::prelude::*;

use super::Viewer;
use crate::{Scene, spawn_scene};

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
    let orbit = world.resource::<Viewer>().orbit;
    let scale = super::scale::scale_for(world.get_resource::<bevy::render::renderer::RenderAdapterInfo>());
    if scale < 1.0 {
        eprintln!("note: the 3D view is drawn at {:.0} % of the window's pixels (software renderer, or COXA_VIEW_SCALE); COXA_VIEW_SCALE=1 draws it in full", 100.0 * scale);
    }
    let target = super::scale::target(world, scale);
    let mut camera =
        world.spawn((Camera3d::default(), crate::msaa_or(bevy::render::view::Msaa::Off), Projection::from(PerspectiveProjection { near: 0.005, far: 20.0, ..default() }), orbit.transform()));
    if let Some(target) = target {
        camera.insert(target);
    }
    world.spawn((DirectionalLight { illuminance: 5000.0, ..default() }, Transform::from_xyz(-1.0, 1.5, 2.0).looking_at(Vec3::ZERO, Vec3::Y)));
    world.spawn((DirectionalLight { illuminance: 2500.0, ..default() }, Transform::from_xyz(1.0, 0.5, -2.0).looking_at(Vec3::ZERO, Vec3::Y)));
}

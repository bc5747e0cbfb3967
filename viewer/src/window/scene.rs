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
    world.spawn((Camera3d::default(), crate::msaa_or(bevy::render::view::Msaa::Off), Projection::from(PerspectiveProjection { near: 0.005, far: 20.0, ..default() }), orbit.transform()));
    world.spawn((DirectionalLight { illuminance: 5000.0, ..default() }, Transform::from_xyz(-1.0, 1.5, 2.0).looking_at(Vec3::ZERO, Vec3::Y)));
    world.spawn((DirectionalLight { illuminance: 2500.0, ..default() }, Transform::from_xyz(1.0, 0.5, -2.0).looking_at(Vec3::ZERO, Vec3::Y)));
}

//! The window's shading of the bones and muscles (issue 60): the frame time on a software
//! renderer.
//!
//! Bones and muscles are drawn translucent so that the implants show through them. With bevy's
//! physically based material, both faces of every translucent layer were lit per fragment by
//! two lights: on Mesa's lavapipe (every fragment on the CPU) that was most of a 110 ms frame of
//! the real-CT case at 1280 x 800. In the window these surfaces therefore get
//! [`SurfaceMaterial`]: the faces towards the eye only, and a diffuse light from the eye and one
//! key light in a few lines of WGSL (`surface.wgsl`). The implants keep bevy's material (they
//! are small on the screen and metal), and the report's pictures, rendered by
//! [`crate::screenshot`], keep it for everything.

use bevy::pbr::{Material, MaterialPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::AsBindGroup;
use bevy::shader::ShaderRef;

use crate::{Kind, SceneItem};

/// The shader, embedded in the binary (`embedded_asset!`).
const SHADER: &str = "embedded://coxa_viewer/window/surface.wgsl";

/// A translucent surface's colour and opacity, lit in `surface.wgsl`; back faces culled (the
/// mesh pipeline's default).
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub(super) struct SurfaceMaterial {
    /// Linear RGB and opacity.
    #[uniform(0)]
    colour: LinearRgba,
    alpha_mode: AlphaMode,
}

impl Material for SurfaceMaterial {
    fn fragment_shader() -> ShaderRef {
        SHADER.into()
    }

    fn alpha_mode(&self) -> AlphaMode {
        self.alpha_mode
    }
}

/// Registers the material and its shader.
pub(super) struct SurfacePlugin;

impl Plugin for SurfacePlugin {
    fn build(&self, app: &mut App) {
        bevy::asset::embedded_asset!(app, "surface.wgsl");
        app.add_plugins(MaterialPlugin::<SurfaceMaterial>::default());
    }
}

/// Gives the bones and muscles spawned by [`crate::spawn_scene`] the window's material, in
/// their colour and opacity.
pub(super) fn shade(world: &mut World) {
    let mut q = world.query::<(Entity, &SceneItem, &MeshMaterial3d<StandardMaterial>)>();
    let found: Vec<(Entity, Handle<StandardMaterial>)> = q.iter(world).filter(|(_, i, _)| matches!(i.kind, Kind::Bone | Kind::Muscle)).map(|(e, _, m)| (e, m.0.clone())).collect();
    for (entity, handle) in found {
        let Some(m) = world.resource::<Assets<StandardMaterial>>().get(&handle).cloned() else { continue };
        let surface = world.resource_mut::<Assets<SurfaceMaterial>>().add(SurfaceMaterial { colour: m.base_color.to_linear(), alpha_mode: m.alpha_mode });
        world.entity_mut(entity).remove::<MeshMaterial3d<StandardMaterial>>().insert(MeshMaterial3d(surface));
    }
}

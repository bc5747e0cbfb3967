//! The 3D view drawn at a fraction of the window's pixels when the renderer is software.
//!
//! Mesa's lavapipe runs every fragment shader on the CPU: a frame's cost grows with the pixels
//! drawn, and at 1280 x 800 the real-CT case took 0.33 s a frame (issue 17), too slow to orbit.
//! On a CPU adapter the 3D camera therefore renders into an image of half the window's size in
//! each direction (a quarter of the pixels), which a full-window UI image shows stretched
//! (linear filtering) behind the panel; the panel and its text stay at full resolution on a 2D
//! camera of their own. A GPU keeps drawing the 3D view straight into the window.
//!
//! `COXA_VIEW_SCALE` (0.1 to 1) sets the fraction on any adapter; 1 draws at full resolution.

use bevy::camera::RenderTarget;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureFormat};
use bevy::render::renderer::RenderAdapterInfo;
use bevy::window::{PrimaryWindow, WindowResized};

/// The image the 3D camera renders into when it is drawn scaled.
#[derive(Resource)]
pub(super) struct ScaledView {
    /// Fraction of the window's physical pixels, per direction.
    pub(super) scale: f32,
    image: Handle<Image>,
}

/// Keeps the scaled view's image the size of the window.
pub(super) struct ScalePlugin;

impl Plugin for ScalePlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, follow_window);
    }
}

/// The fraction the 3D view is drawn at: `COXA_VIEW_SCALE` when set to a number in 0.1..=1,
/// else one half on a CPU adapter and 1 on a GPU.
pub(super) fn scale_for(adapter: Option<&RenderAdapterInfo>) -> f32 {
    if let Some(s) = std::env::var("COXA_VIEW_SCALE").ok().and_then(|s| s.trim().parse::<f32>().ok()).filter(|s| (0.1..=1.0).contains(s)) {
        return s;
    }
    if adapter.is_some_and(|a| a.device_type == wgpu_types::DeviceType::Cpu) { 0.5 } else { 1.0 }
}

/// The render target of the window's 3D camera: the window itself at full scale, else a new
/// image of the scaled size, shown by a full-window image node on a 2D camera that also carries
/// the UI (at full scale the UI has a 2D camera of its own too).
pub(super) fn target(world: &mut World, scale: f32) -> Option<RenderTarget> {
    if scale >= 1.0 {
        // The panel on a camera of its own over the 3D view (whose viewport leaves the panel's
        // strip of the window undrawn).
        world.spawn((Camera2d, Camera { order: 1, clear_color: ClearColorConfig::None, ..default() }, bevy::render::view::Msaa::Off, IsDefaultUiCamera));
        return None;
    }
    let physical = world.query_filtered::<&Window, With<PrimaryWindow>>().single(world).map(|w| UVec2::new(w.physical_width(), w.physical_height())).unwrap_or(UVec2::new(1280, 800));
    let mut image = Image::new_target_texture(1, 1, TextureFormat::Rgba8UnormSrgb, None);
    image.resize(scaled(physical, scale));
    let handle = world.resource_mut::<Assets<Image>>().add(image);
    world.spawn((Camera2d, Camera { order: 1, ..default() }, bevy::render::view::Msaa::Off, IsDefaultUiCamera));
    world.spawn((ImageNode::new(handle.clone()), Node { position_type: PositionType::Absolute, width: Val::Percent(100.0), height: Val::Percent(100.0), ..default() }, GlobalZIndex(-1)));
    world.insert_resource(ScaledView { scale, image: handle.clone() });
    Some(RenderTarget::Image(handle.into()))
}

/// The image size for a window of `physical` pixels.
fn scaled(physical: UVec2, scale: f32) -> Extent3d {
    let side = |p: u32| ((p as f32 * scale).round() as u32).max(1);
    Extent3d { width: side(physical.x), height: side(physical.y), depth_or_array_layers: 1 }
}

/// A resized window gets an image of its new scaled size.
fn follow_window(view: Option<Res<ScaledView>>, mut resized: MessageReader<WindowResized>, windows: Query<&Window, With<PrimaryWindow>>, mut images: ResMut<Assets<Image>>) {
    let Some(view) = view else { return };
    if resized.read().count() == 0 {
        return;
    }
    let Ok(w) = windows.single() else { return };
    let size = scaled(UVec2::new(w.physical_width(), w.physical_height()), view.scale);
    if let Some(mut image) = images.get_mut(&view.image)
        && image.texture_descriptor.size != size
    {
        image.resize(size);
    }
}

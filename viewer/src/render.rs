//! What needs bevy outside the window: the bevy frame, bevy's meshes and materials of a
//! [`Scene`], its entities, and pictures rendered without a window (`screenshot`,
//! `frame_time`). Feature `window`.

use std::path::{Path, PathBuf};

use bevy::asset::RenderAssetUsages;
use bevy::camera::{RenderTarget, ScalingMode};
use bevy::image::Image;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::ExitCondition;
use nalgebra::{Matrix3, Vector3};

use crate::{BACKGROUND, CONTACT, CameraView, Framing, Group, Kind, Look, MARKER, RigidMotion, Scene, SceneMesh, SlicePlane, ViewError, picture};

/// LPS mm -> bevy world (metres, +y up): `(x, z, -y) / 1000`.
pub fn to_bevy(p: &Vector3<f64>) -> Vec3 {
    Vec3::new(p.x as f32, p.z as f32, -p.y as f32) / 1000.0
}

/// A rigid motion of LPS as a bevy transform (the same motion in bevy's frame).
pub fn transform_of(m: &RigidMotion) -> Transform {
    // bevy = Q · LPS / 1000 with Q = [[1,0,0],[0,0,1],[0,-1,0]] (a proper rotation).
    let q = Matrix3::new(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0);
    let rb = q * m.m * q.transpose();
    let rot = nalgebra::Rotation3::from_matrix(&rb);
    let uq = nalgebra::UnitQuaternion::from_rotation_matrix(&rot);
    let rotation = Quat::from_xyzw(uq.i as f32, uq.j as f32, uq.k as f32, uq.w as f32);
    let translation = to_bevy(&m.centre.coords) - rotation * to_bevy(&m.pivot.coords);
    Transform { translation, rotation, scale: Vec3::ONE }
}

/// The camera of `view` on `scene`: coxa-core's framing (the report's pictures use the same),
/// over the scene's bones and implants.
fn framing(scene: &Scene, view: CameraView) -> Framing {
    let bounds = picture::bounds(scene.meshes.iter().filter(|m| m.kind != Kind::Muscle).map(|m| &m.mesh));
    let side = if scene.side_is_left { coxa_core::Side::Left } else { coxa_core::Side::Right };
    picture::framing(view, bounds, scene.hip_centre_lps_mm, scene.contact_lps_mm, side)
}

fn bevy_mesh(m: &coxa_core::Mesh) -> Mesh {
    let positions: Vec<[f32; 3]> = m.vertices().iter().map(|p| to_bevy(&p.coords).to_array()).collect();
    let normals: Vec<[f32; 3]> = m.vertex_normals().iter().map(|n| to_bevy(n).normalize_or_zero().to_array()).collect();
    let indices: Vec<u32> = m.triangles().iter().flat_map(|t| t.iter().copied()).collect();
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_indices(Indices::U32(indices))
}

/// A textured quad on a slice plane.
fn slice_mesh(s: &SlicePlane) -> Mesh {
    let c = s.corners_lps_mm.map(|p| to_bevy(&p.coords).to_array());
    let n = (Vec3::from(c[1]) - Vec3::from(c[0])).cross(Vec3::from(c[2]) - Vec3::from(c[0])).normalize_or_zero().to_array();
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, c.to_vec())
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, vec![n; 4])
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, vec![[0.0f32, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        .with_inserted_indices(Indices::U32(vec![0, 1, 2, 2, 1, 3]))
}

fn material_of(look: Look) -> StandardMaterial {
    let [r, g, b, a] = look.rgba;
    StandardMaterial {
        base_color: Color::srgba(r, g, b, a),
        alpha_mode: if a < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque },
        double_sided: a < 1.0,
        cull_mode: if a < 1.0 { None } else { Some(bevy::render::render_resource::Face::Back) },
        perceptual_roughness: 0.6,
        ..default()
    }
}

/// Tags of the entities [`spawn_scene`] makes, for the window's systems.
#[derive(Component, Debug, Clone)]
pub struct SceneItem {
    /// What moves it.
    pub group: Group,
    /// What it is.
    pub kind: Kind,
    /// Its name.
    pub name: String,
}

/// A CT slice plane entity.
#[derive(Component, Debug, Clone, Copy)]
pub struct SliceItem;

/// The landmark and frame entities.
#[derive(Component, Debug, Clone, Copy)]
pub struct LandmarkItem;

/// The first-contact marker.
#[derive(Component, Debug, Clone, Copy)]
pub struct ContactItem;

/// Spawns one surface.
pub fn spawn_mesh(world: &mut World, m: &SceneMesh) -> Entity {
    let mesh = world.resource_mut::<Assets<Mesh>>().add(bevy_mesh(&m.mesh));
    let material = world.resource_mut::<Assets<StandardMaterial>>().add(material_of(m.look));
    let t = m.motion.as_ref().map_or(Transform::IDENTITY, transform_of);
    world.spawn((Mesh3d(mesh), MeshMaterial3d(material), t, SceneItem { group: m.group, kind: m.kind, name: m.name.clone() })).id()
}

/// Spawns everything of `scene` (surfaces, landmarks, frames, slices, the contact marker) into
/// `world`.
pub fn spawn_scene(world: &mut World, scene: &Scene) {
    for m in &scene.meshes {
        spawn_mesh(world, m);
    }
    let sphere = |world: &mut World, r_mm: f32| world.resource_mut::<Assets<Mesh>>().add(Sphere::new(r_mm / 1000.0).mesh().ico(2).unwrap_or_else(|_| Sphere::new(r_mm / 1000.0).mesh().uv(16, 8)));
    let marker_mesh = sphere(world, 3.0);
    let marker_mat = world.resource_mut::<Assets<StandardMaterial>>().add(material_of(MARKER));
    for m in &scene.markers {
        world.spawn((Mesh3d(marker_mesh.clone()), MeshMaterial3d(marker_mat.clone()), Transform::from_translation(to_bevy(&m.lps_mm.coords)), LandmarkItem));
    }
    // Frames: three 60 mm bars (x red, y green, z blue).
    for f in &scene.frames {
        for (k, colour) in [[0.85, 0.1, 0.1, 1.0], [0.1, 0.7, 0.1, 1.0], [0.1, 0.2, 0.9, 1.0]].into_iter().enumerate() {
            let axis = to_bevy(&f.axes_lps[k]).normalize_or_zero();
            let bar = world.resource_mut::<Assets<Mesh>>().add(Cuboid::new(0.0015, 0.060, 0.0015));
            let mat = world.resource_mut::<Assets<StandardMaterial>>().add(material_of(Look { rgba: colour }));
            let origin = to_bevy(&f.origin_lps_mm.coords);
            let rotation = Quat::from_rotation_arc(Vec3::Y, axis);
            world.spawn((Mesh3d(bar), MeshMaterial3d(mat), Transform { translation: origin + axis * 0.030, rotation, scale: Vec3::ONE }, LandmarkItem));
        }
    }
    for s in &scene.slices {
        let image =
            Image::new(Extent3d { width: s.width, height: s.height, depth_or_array_layers: 1 }, TextureDimension::D2, s.rgba.clone(), TextureFormat::Rgba8UnormSrgb, RenderAssetUsages::default());
        let tex = world.resource_mut::<Assets<Image>>().add(image);
        let mesh = world.resource_mut::<Assets<Mesh>>().add(slice_mesh(s));
        let mat = world.resource_mut::<Assets<StandardMaterial>>().add(StandardMaterial { base_color_texture: Some(tex), unlit: true, double_sided: true, cull_mode: None, ..default() });
        world.spawn((Mesh3d(mesh), MeshMaterial3d(mat), Transform::IDENTITY, SliceItem));
    }
    // The contact marker is drawn over everything translucent (last, by its depth bias) so
    // that the bone it sits in does not veil it.
    let contact_mesh = sphere(world, 5.0);
    let [r, g, b, _] = CONTACT.rgba;
    let contact_mat =
        world.resource_mut::<Assets<StandardMaterial>>().add(StandardMaterial { base_color: Color::srgba(r, g, b, 1.0), unlit: true, alpha_mode: AlphaMode::Blend, depth_bias: 1.0e6, ..default() });
    let (t, vis) = match &scene.contact_lps_mm {
        Some(p) => (Transform::from_translation(to_bevy(&p.coords)), Visibility::Visible),
        None => (Transform::IDENTITY, Visibility::Hidden),
    };
    world.spawn((Mesh3d(contact_mesh), MeshMaterial3d(contact_mat), t, vis, ContactItem));
}

/// Renders `scene` from `view` into a new PNG `out` (`width` x `height`), without a window.
///
/// # Errors
/// [`ViewError::Exists`] if `out` exists; [`ViewError::Render`] when nothing was written (no
/// GPU and no software Vulkan: install Mesa's `mesa-vulkan-drivers`).
pub fn screenshot(scene: &Scene, view: CameraView, width: u32, height: u32, out: &Path) -> Result<(), ViewError> {
    screenshots(scene, &[(view, out.to_path_buf())], width, height)
}

/// Renders `scene` from several cameras into new PNG files, one app for all (the pipelines are
/// compiled once).
///
/// # Errors
/// As [`screenshot`].
pub fn screenshots(scene: &Scene, views: &[(CameraView, PathBuf)], width: u32, height: u32) -> Result<(), ViewError> {
    for (_, out) in views {
        if out.exists() {
            return Err(ViewError::Exists(out.clone()));
        }
    }
    let (mut app, cameras) = headless_app(scene, views.iter().map(|(v, _)| *v).collect(), width, height);
    // Pump frames; the screenshot is read back and written a couple of frames later.
    for _ in 0..3 {
        app.update();
    }
    for ((_, out), (_, handle)) in views.iter().zip(&cameras) {
        // Owned: the observer outlives this call.
        let path: PathBuf = out.clone();
        app.world_mut().spawn(Screenshot::image(handle.clone())).observe(save_to_disk(path));
    }
    let written = |out: &PathBuf| out.is_file() && std::fs::metadata(out).is_ok_and(|m| m.len() > 0);
    for _ in 0..40 {
        app.update();
        if views.iter().all(|(_, out)| written(out)) {
            // One more frame so the writer has finished.
            app.update();
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let missing = views.iter().find(|(_, out)| !written(out)).map_or_else(PathBuf::new, |(_, o)| o.clone());
    Err(ViewError::Render { path: missing, why: "the renderer produced no frame (is a Vulkan device available? install mesa-vulkan-drivers for software rendering)".into() })
}

/// Mean time per frame of `scene` from `view` at `width` x `height`, over `frames` frames after
/// three warm-up frames (pipelines compiled): what a window would redraw at.
pub fn frame_time(scene: &Scene, view: CameraView, width: u32, height: u32, frames: u32) -> std::time::Duration {
    let (mut app, _) = headless_app(scene, vec![view], width, height);
    for _ in 0..3 {
        app.update();
    }
    let t0 = std::time::Instant::now();
    for _ in 0..frames.max(1) {
        app.update();
    }
    t0.elapsed() / frames.max(1)
}

/// Multisampling of a camera: `COXA_VIEW_MSAA` = 1, 2, 4 or 8 samples, else `default`.
/// Software rendering (lavapipe) spends three quarters of a frame on 4x multisampling (real-CT
/// case, 1280 x 800: 1.28 s per frame with it, 0.33 s without), so the window renders without
/// it by default and the pictures (the report's) with it.
pub fn msaa_or(default: bevy::render::view::Msaa) -> bevy::render::view::Msaa {
    use bevy::render::view::Msaa;
    match std::env::var("COXA_VIEW_MSAA").ok().as_deref() {
        Some("1") => Msaa::Off,
        Some("2") => Msaa::Sample2,
        Some("4") => Msaa::Sample4,
        Some("8") => Msaa::Sample8,
        _ => default,
    }
}

/// Ambient light and the background.
pub(crate) fn lighting(app: &mut App) {
    app.insert_resource(ClearColor(Color::srgb(BACKGROUND[0], BACKGROUND[1], BACKGROUND[2])));
    app.insert_resource(GlobalAmbientLight { color: Color::WHITE, brightness: 600.0, ..default() });
}

/// The headless app: the scene, a light, one orthographic camera per view rendering into an image.
fn headless_app(scene: &Scene, views: Vec<CameraView>, width: u32, height: u32) -> (App, Vec<(CameraView, Handle<Image>)>) {
    let render_plugin = RenderPlugin { synchronous_pipeline_compilation: true, ..default() };
    let window_plugin = WindowPlugin { primary_window: None, exit_condition: ExitCondition::DontExit, ..default() };
    let mut app = App::new();
    // No event loop (it would claim the main thread) and no global logger (the host program has its own).
    app.add_plugins(DefaultPlugins.set(window_plugin).set(render_plugin).disable::<bevy::winit::WinitPlugin>().disable::<bevy::log::LogPlugin>());
    lighting(&mut app);
    app.finish();
    app.cleanup();
    let world = app.world_mut();
    spawn_scene(world, scene);
    let mut cameras = Vec::new();
    for (k, view) in views.into_iter().enumerate() {
        let Framing { centre, half_mm, eye_dir, up } = framing(scene, view);
        let c = to_bevy(&centre.coords);
        let eye = to_bevy(&(centre.coords + eye_dir * 1000.0));
        let up_b = to_bevy(&up);
        if k == 0 {
            // Light from over the first camera's shoulder.
            world.spawn((DirectionalLight { illuminance: 6000.0, ..default() }, Transform::from_translation(eye + up_b * 0.3).looking_at(c, up_b)));
        }
        // The camera: orthographic, `half_mm` above and below the centre, into an image.
        let mut image = Image::new_target_texture(width, height, TextureFormat::Rgba8UnormSrgb, None);
        image.asset_usage = RenderAssetUsages::RENDER_WORLD;
        let handle = world.resource_mut::<Assets<Image>>().add(image);
        let projection = Projection::from(OrthographicProjection {
            scaling_mode: ScalingMode::FixedVertical { viewport_height: (2.0 * half_mm / 1000.0) as f32 },
            near: -10.0,
            far: 10.0,
            ..OrthographicProjection::default_3d()
        });
        world.spawn((
            Camera3d::default(),
            msaa_or(bevy::render::view::Msaa::Sample4),
            RenderTarget::Image(handle.clone().into()),
            projection,
            Transform::from_translation(c + (eye - c).normalize() * 1.0).looking_at(c, up_b),
        ));
        cameras.push((view, handle));
    }
    (app, cameras)
}

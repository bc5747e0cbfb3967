//! The 3D viewer (bevy): a case's bones and planned implants, rendered by bevy's PBR renderer.
//!
//! Built so far: the scene of a case folder (`coxa run` / `coxa demo` output: the bone
//! surfaces in `anatomy/meshes/`, the placed implants in `implants/`), and a headless
//! screenshot of it from a named camera ([`screenshot`]): no window, the GPU or Mesa's
//! software Vulkan (lavapipe) on a machine without one. Not yet: the interactive window, ROM
//! playback, live re-planning, CT slice planes.
//!
//! # Frames
//! Everything coxa computes is in LPS mm (+x left, +y posterior, +z superior). The one
//! conversion to bevy's frame (right-handed, +y up) is [`to_bevy`]: bevy `(x, y, z)` = LPS
//! `(x, z, -y)` in metres. Seen from bevy's default camera direction (-z) the picture is a
//! radiograph's AP view: superior up, the patient's left on the right.

use std::path::{Path, PathBuf};

use bevy::asset::RenderAssetUsages;
use bevy::camera::{RenderTarget, ScalingMode};
use bevy::image::Image;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::render_resource::TextureFormat;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::ExitCondition;
use nalgebra::{Point3, Vector3};

/// What can go wrong.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The case folder lacks what the viewer shows.
    #[error("{path}: {why}")]
    Case {
        /// The folder or file.
        path: PathBuf,
        /// What is missing and how to get it.
        why: String,
    },
    /// A mesh file could not be read.
    #[error(transparent)]
    Io(#[from] coxa_io::Error),
    /// The picture was not produced.
    #[error("no picture was rendered into {path}: {why}")]
    Render {
        /// The output file.
        path: PathBuf,
        /// Why (e.g. no Vulkan device).
        why: String,
    },
    /// The output exists (coxa never overwrites).
    #[error("{0} already exists; coxa never overwrites: choose another file")]
    Exists(PathBuf),
}

/// How a mesh is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// sRGB colour and alpha (below 1: blended, both faces drawn).
    pub rgba: [f32; 4],
}

/// One surface of the scene, LPS mm.
#[derive(Debug, Clone)]
pub struct SceneMesh {
    /// Name (file stem: `femur_right`, `shell`, ...).
    pub name: String,
    /// The surface.
    pub mesh: coxa_core::Mesh,
    /// How it is drawn.
    pub look: Look,
}

/// What the viewer shows.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// The surfaces.
    pub meshes: Vec<SceneMesh>,
    /// The hip (cup) centre, LPS mm, if known: the centre of the hip cameras.
    pub hip_centre_lps_mm: Option<Point3<f64>>,
    /// The operated side, if known (`left`/`right`): the lateral camera's side.
    pub side_is_left: bool,
}

/// Bone colour (translucent, so the implants show through).
pub const BONE: Look = Look { rgba: [0.84, 0.80, 0.70, 0.45] };
/// Implant colours.
pub const SHELL: Look = Look { rgba: [0.59, 0.63, 0.69, 1.0] };
/// Liner.
pub const LINER: Look = Look { rgba: [0.24, 0.47, 0.86, 1.0] };
/// Head.
pub const HEAD: Look = Look { rgba: [0.78, 0.24, 0.20, 1.0] };
/// Neck and stem.
pub const STEM: Look = Look { rgba: [0.47, 0.49, 0.53, 1.0] };
/// Background (sRGB).
pub const BACKGROUND: [f32; 3] = [0.98, 0.98, 0.97];

fn stl_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("stl"))).collect()).unwrap_or_default();
    v.sort();
    v
}

/// The scene of a case folder: `anatomy/meshes/*.stl` (bones) and `implants/*.stl`.
///
/// # Errors
/// [`ViewError::Case`] when the folder has neither; [`ViewError::Io`] for an unreadable mesh.
pub fn case_scene(dir: &Path) -> Result<Scene, ViewError> {
    if !dir.is_dir() {
        return Err(ViewError::Case { path: dir.to_path_buf(), why: "not a folder; give a case folder of `coxa run` or `coxa demo` (…/cases/NAME)".into() });
    }
    let mut scene = Scene::default();
    for p in stl_files(&dir.join("anatomy").join("meshes")) {
        let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        scene.meshes.push(SceneMesh { name, mesh: coxa_io::mesh::read_mesh(&p)?, look: BONE });
    }
    for p in stl_files(&dir.join("implants")) {
        let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let look = match name.as_str() {
            "shell" => SHELL,
            "liner" => LINER,
            "head" => HEAD,
            _ => STEM,
        };
        scene.meshes.push(SceneMesh { name, mesh: coxa_io::mesh::read_mesh(&p)?, look });
    }
    if scene.meshes.is_empty() {
        return Err(ViewError::Case { path: dir.to_path_buf(), why: "no anatomy/meshes/*.stl and no implants/*.stl: not a case folder of `coxa run` or `coxa demo`".into() });
    }
    if let Some(head) = scene.meshes.iter().find(|m| m.name == "head") {
        scene.hip_centre_lps_mm = Some(head.mesh.vertex_centroid());
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("report.json"))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
    {
        scene.side_is_left = v["side"] == "left";
    }
    Ok(scene)
}

/// LPS mm -> bevy world (metres, +y up): `(x, z, -y) / 1000`.
pub fn to_bevy(p: &Vector3<f64>) -> Vec3 {
    Vec3::new(p.x as f32, p.z as f32, -p.y as f32) / 1000.0
}

/// The named cameras.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraView {
    /// The whole scene from the front (AP radiograph orientation).
    PelvisAp,
    /// The hip from the front.
    HipAp,
    /// The hip from its lateral side.
    HipLateral,
    /// The hip from above.
    HipSuperior,
}

impl CameraView {
    /// From `pelvis_ap`, `hip_ap`, `hip_lateral`, `hip_superior`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pelvis_ap" | "ap" => Some(Self::PelvisAp),
            "hip_ap" => Some(Self::HipAp),
            "hip_lateral" | "lateral" => Some(Self::HipLateral),
            "hip_superior" | "superior" => Some(Self::HipSuperior),
            _ => None,
        }
    }
}

/// Centre and half-height (mm) a camera frames, and its eye direction and up (LPS).
fn framing(scene: &Scene, view: CameraView) -> (Point3<f64>, f64, Vector3<f64>, Vector3<f64>) {
    let all: Vec<Point3<f64>> = scene.meshes.iter().flat_map(|m| m.mesh.vertices().iter().copied()).collect();
    let (lo, hi) = all.iter().fold((Point3::from(Vector3::repeat(f64::INFINITY)), Point3::from(Vector3::repeat(f64::NEG_INFINITY))), |(lo, hi), p| (lo.inf(p), hi.sup(p)));
    let centre = if all.is_empty() { Point3::origin() } else { nalgebra::center(&lo, &hi) };
    let hip = scene.hip_centre_lps_mm.unwrap_or(centre);
    // Eye direction: from the scene towards the eye.
    let anterior = -Vector3::y();
    let lateral = Vector3::x() * if scene.side_is_left { 1.0 } else { -1.0 };
    match view {
        CameraView::PelvisAp => (centre, 0.55 * (hi - lo).x.max((hi - lo).z).max(1.0), anterior, Vector3::z()),
        CameraView::HipAp => (hip, 60.0, anterior, Vector3::z()),
        CameraView::HipLateral => (hip, 60.0, lateral, Vector3::z()),
        CameraView::HipSuperior => (hip, 60.0, Vector3::z(), anterior),
    }
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

/// Renders `scene` from `view` into a new PNG `out` (`width` x `height`), without a window.
///
/// # Errors
/// [`ViewError::Exists`] if `out` exists; [`ViewError::Render`] when nothing was written (no
/// GPU and no software Vulkan: install Mesa's `mesa-vulkan-drivers`).
pub fn screenshot(scene: &Scene, view: CameraView, width: u32, height: u32, out: &Path) -> Result<(), ViewError> {
    if out.exists() {
        return Err(ViewError::Exists(out.to_path_buf()));
    }
    let (mut app, handle) = headless_app(scene, view, width, height);
    // Pump frames; the screenshot is read back and written a couple of frames later.
    for _ in 0..3 {
        app.update();
    }
    // Owned: the observer outlives this call.
    let path: PathBuf = out.to_path_buf();
    app.world_mut().spawn(Screenshot::image(handle)).observe(save_to_disk(path));
    for _ in 0..30 {
        app.update();
        if out.is_file() && std::fs::metadata(out).is_ok_and(|m| m.len() > 0) {
            // One more frame so the writer has finished.
            app.update();
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(ViewError::Render { path: out.to_path_buf(), why: "the renderer produced no frame (is a Vulkan device available? install mesa-vulkan-drivers for software rendering)".into() })
}

/// Mean time per frame of `scene` from `view` at `width` x `height`, over `frames` frames after
/// three warm-up frames (pipelines compiled): what a window would redraw at.
pub fn frame_time(scene: &Scene, view: CameraView, width: u32, height: u32, frames: u32) -> std::time::Duration {
    let (mut app, _) = headless_app(scene, view, width, height);
    for _ in 0..3 {
        app.update();
    }
    let t0 = std::time::Instant::now();
    for _ in 0..frames.max(1) {
        app.update();
    }
    t0.elapsed() / frames.max(1)
}

/// The headless app: the scene, a light, an orthographic camera rendering into an image.
fn headless_app(scene: &Scene, view: CameraView, width: u32, height: u32) -> (App, Handle<Image>) {
    let (centre, half_mm, eye_dir, up) = framing(scene, view);
    let render_plugin = RenderPlugin { synchronous_pipeline_compilation: true, ..default() };
    let window_plugin = WindowPlugin { primary_window: None, exit_condition: ExitCondition::DontExit, ..default() };
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(window_plugin).set(render_plugin));
    app.insert_resource(ClearColor(Color::srgb(BACKGROUND[0], BACKGROUND[1], BACKGROUND[2])));
    app.insert_resource(GlobalAmbientLight { color: Color::WHITE, brightness: 600.0, ..default() });
    app.finish();
    app.cleanup();
    let world = app.world_mut();
    // The scene.
    for m in &scene.meshes {
        let mesh = world.resource_mut::<Assets<Mesh>>().add(bevy_mesh(&m.mesh));
        let [r, g, b, a] = m.look.rgba;
        let material = StandardMaterial {
            base_color: Color::srgba(r, g, b, a),
            alpha_mode: if a < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque },
            double_sided: a < 1.0,
            cull_mode: if a < 1.0 { None } else { Some(bevy::render::render_resource::Face::Back) },
            perceptual_roughness: 0.6,
            ..default()
        };
        let material = world.resource_mut::<Assets<StandardMaterial>>().add(material);
        world.spawn((Mesh3d(mesh), MeshMaterial3d(material), Transform::IDENTITY));
    }
    // Light from over the camera's shoulder.
    let c = to_bevy(&centre.coords);
    let eye = to_bevy(&(centre.coords + eye_dir * 1000.0));
    let up_b = to_bevy(&up);
    world.spawn((DirectionalLight { illuminance: 6000.0, ..default() }, Transform::from_translation(eye + up_b * 0.3).looking_at(c, up_b)));
    // The camera: orthographic, `half_mm` above and below the centre, into an image.
    let mut image = Image::new_target_texture(width, height, TextureFormat::Rgba8UnormSrgb, None);
    image.asset_usage = RenderAssetUsages::RENDER_WORLD;
    let handle = world.resource_mut::<Assets<Image>>().add(image);
    let projection = Projection::from(OrthographicProjection { scaling_mode: ScalingMode::FixedVertical { viewport_height: (2.0 * half_mm / 1000.0) as f32 }, near: -10.0, far: 10.0, ..OrthographicProjection::default_3d() });
    world.spawn((Camera3d::default(), RenderTarget::Image(handle.clone().into()), projection, Transform::from_translation(c + (eye - c).normalize() * 1.0).looking_at(c, up_b)));
    (app, handle)
}

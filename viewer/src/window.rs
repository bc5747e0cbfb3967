//! The interactive window: orbit camera, on-screen planning controls, motion playback with the
//! first contact highlighted, CT slices and muscles toggled.
//!
//! Mouse: left drag orbits about the hip centre, right drag pans, the wheel zooms. Keys: `Space`
//! plays or stops the selected motion, `S` / `M` / `B` / `L` show or hide the CT slices,
//! muscles, bones and landmarks, `Esc` stops the motion.
//!
//! Re-planning never runs on the render thread: a change of a control queues an evaluation
//! ([`LiveModel::evaluate`]) on bevy's async compute pool; the display keeps the last result
//! until the new one is ready, and changes made meanwhile are folded into one next evaluation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::tasks::futures::check_ready;
use bevy::tasks::{AsyncComputeTaskPool, Task};
use bevy::window::{ExitCondition, PrimaryWindow, WindowResolution};

use crate::case::{CaseData, RomLine};
use crate::live::{Controls, Evaluation, LiveModel};
use crate::{ContactItem, Group, Kind, LandmarkItem, Scene, SceneItem, SceneMesh, SliceItem, ViewError, implant_look, spawn_mesh, spawn_scene, to_bevy, transform_of};

/// Options of the window.
#[derive(Debug, Clone, Default)]
pub struct WindowOptions {
    /// Window size, logical pixels (default 1280 x 800).
    pub size: Option<(u32, u32)>,
    /// Play this motion at start (by name).
    pub play: Option<String>,
    /// Save a picture of the window into this new PNG once the scene is ready (and, with
    /// `play`, the motion has reached its first contact), then close.
    pub screenshot: Option<PathBuf>,
    /// Close after this long (for scripted runs).
    pub close_after: Option<Duration>,
}

/// Width of the control panel, logical pixels.
const PANEL_PX: f32 = 390.0;
/// Playback speed of the driven angle, deg per second.
const PLAY_DEG_PER_S: f64 = 45.0;

/// What the controls change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Knob {
    CupInclination,
    CupAnteversion,
    StemVersion,
    Head,
    Neck,
}

impl Knob {
    const ALL: [Knob; 5] = [Knob::CupInclination, Knob::CupAnteversion, Knob::StemVersion, Knob::Head, Knob::Neck];
    fn label(self, c: &Controls) -> String {
        match self {
            Knob::CupInclination => format!("Cup inclination {:.1} deg (radiographic)", c.cup_inclination_deg),
            Knob::CupAnteversion => format!("Cup anteversion {:.1} deg (radiographic)", c.cup_anteversion_deg),
            Knob::StemVersion => format!("Stem anteversion {:.1} deg", c.stem_anteversion_deg),
            Knob::Head => format!("Head {:.0} mm", c.head_diameter_mm),
            Knob::Neck => format!("Neck length {:+.1} mm", c.head_offset_mm),
        }
    }
}

#[derive(Component, Clone, Copy)]
struct KnobButton(Knob, f64);
#[derive(Component, Clone, Copy)]
struct KnobText(Knob);
#[derive(Component, Clone, Copy)]
struct MotionButton(usize);
#[derive(Component, Clone, Copy)]
struct MotionText(usize);
#[derive(Component)]
struct StatusText;
#[derive(Component)]
struct Toggle(Kind2);
#[derive(Component)]
struct ResetButton;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind2 {
    Slices,
    Muscles,
    Bones,
    Landmarks,
}

/// A motion being played.
#[derive(Debug, Clone, Copy)]
struct Playback {
    motion: usize,
    elapsed_s: f64,
}

#[derive(Resource)]
struct Viewer {
    case: CaseData,
    live: Option<Arc<LiveModel>>,
    eval: Option<Arc<Evaluation>>,
    controls: Option<Controls>,
    /// Controls changed while an evaluation was running.
    queued: Option<Controls>,
    task: Option<Task<Result<Evaluation, ViewError>>>,
    selected: usize,
    playing: Option<Playback>,
    status: String,
    orbit: Orbit,
    options: WindowOptions,
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

/// Orbit camera state (bevy frame).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Orbit {
    target: Vec3,
    yaw: f32,
    pitch: f32,
    distance: f32,
}

impl Orbit {
    fn transform(&self) -> Transform {
        let rot = Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0);
        let eye = self.target + rot * Vec3::new(0.0, 0.0, self.distance);
        Transform::from_translation(eye).looking_at(self.target, Vec3::Y)
    }
}

/// Opens the window on `case` (its CT slices and muscles already loaded into it, if wanted)
/// and runs until it is closed.
///
/// # Errors
/// [`ViewError::Exists`] if the screenshot file exists; [`ViewError::Render`] if the scripted
/// screenshot was not written.
pub fn run(case: CaseData, slices: Vec<crate::SlicePlane>, options: WindowOptions) -> Result<(), ViewError> {
    if let Some(out) = &options.screenshot
        && out.exists()
    {
        return Err(ViewError::Exists(out.clone()));
    }
    // The live model: a background thread would only move the wait; it is built here (a few
    // tenths of a second: landmarks on the bone surfaces) so that a failure is said at once.
    let (live, eval, mut status) = match LiveModel::new(&case) {
        Ok(l) => {
            let c = l.base_controls();
            match l.evaluate(&c) {
                Ok(e) => (Some(Arc::new(l)), Some(Arc::new(e)), String::from("Live planning on: change the plan with the buttons")),
                Err(e) => (None, None, format!("{e}")),
            }
        }
        Err(e) => (None, None, format!("{e}")),
    };
    for n in &case.notes {
        status.push_str("\nNote: ");
        status.push_str(n);
    }
    let mut scene = Scene::of_case(&case, eval.as_deref());
    scene.slices = slices;
    let centre = scene.hip_centre_lps_mm.map_or(Vec3::ZERO, |p| to_bevy(&p.coords));
    let lateral = if scene.side_is_left { 1.0 } else { -1.0 };
    let orbit = Orbit { target: centre, yaw: lateral * 0.5, pitch: -0.2, distance: 0.6 };
    let (w, h) = options.size.unwrap_or((1280, 800));
    let selected = options.play.as_ref().and_then(|name| eval.as_ref().and_then(|e| e.motions.iter().position(|m| m.name == name))).unwrap_or(0);
    let playing = options.play.as_ref().and(eval.as_ref()).map(|_| Playback { motion: selected, elapsed_s: 0.0 });
    let shot = options.screenshot.clone();
    let viewer = Viewer {
        controls: eval.as_ref().map(|e| e.controls),
        case,
        live,
        eval,
        queued: None,
        task: None,
        selected,
        playing,
        status,
        orbit,
        options,
    };
    let window = Window { title: "coxa - hip plan".into(), resolution: WindowResolution::new(w, h), ..default() };
    let mut app = App::new();
    // No global logger of bevy's own (the host program has one). Pipelines compiled before the first frame: a software renderer takes seconds to compile
    // them, and a scripted picture must not catch a frame without the scene.
    let render = bevy::render::RenderPlugin { synchronous_pipeline_compilation: true, ..default() };
    app.add_plugins(DefaultPlugins.set(WindowPlugin { primary_window: Some(window), exit_condition: ExitCondition::OnPrimaryClosed, ..default() }).set(render).disable::<bevy::log::LogPlugin>());
    crate::lighting(&mut app);
    app.insert_resource(viewer);
    app.insert_resource(FrameStats { frames: 0, started: std::time::Instant::now(), shot_requested: false, steady_from: None });
    app.add_systems(Startup, move |world: &mut World| setup(world, &scene));
    app.add_systems(Update, (orbit_camera, buttons, keys, replan, playback, labels, scripted).chain());
    app.run();
    if let Some(out) = shot
        && !out.is_file()
    {
        return Err(ViewError::Render { path: out, why: "the window closed before its picture was saved (is a display and a Vulkan device available? try xvfb-run and mesa-vulkan-drivers)".into() });
    }
    Ok(())
}

fn setup(world: &mut World, scene: &Scene) {
    spawn_scene(world, scene);
    let orbit = world.resource::<Viewer>().orbit;
    world.spawn((Camera3d::default(), crate::msaa_or(bevy::render::view::Msaa::Off), Projection::from(PerspectiveProjection { near: 0.005, far: 20.0, ..default() }), orbit.transform()));
    world.spawn((DirectionalLight { illuminance: 5000.0, ..default() }, Transform::from_xyz(-1.0, 1.5, 2.0).looking_at(Vec3::ZERO, Vec3::Y)));
    world.spawn((DirectionalLight { illuminance: 2500.0, ..default() }, Transform::from_xyz(1.0, 0.5, -2.0).looking_at(Vec3::ZERO, Vec3::Y)));
    // The panel.
    let v = world.resource::<Viewer>();
    let controls = v.controls;
    let rom: Vec<String> = match &v.eval {
        Some(e) => (0..e.motions.len()).map(|k| motion_label(e, k)).collect(),
        None => v.case.rom.iter().map(rom_line_label).collect(),
    };
    let can_play = v.eval.is_some();
    let font = |size: f32| TextFont { font_size: FontSize::Px(size), ..default() };
    let button = |w: f32| (Button, Node { width: Val::Px(w), height: Val::Px(22.0), justify_content: JustifyContent::Center, align_items: AlignItems::Center, margin: UiRect::right(Val::Px(4.0)), ..default() }, BackgroundColor(Color::srgb(0.25, 0.27, 0.32)));
    let mut commands = world.commands();
    commands
        .spawn((
            Node { width: Val::Px(PANEL_PX), height: Val::Percent(100.0), flex_direction: FlexDirection::Column, padding: UiRect::all(Val::Px(8.0)), row_gap: Val::Px(3.0), overflow: Overflow::clip(), ..default() },
            BackgroundColor(Color::srgb(0.08, 0.09, 0.11)),
        ))
        .with_children(|p| {
            p.spawn((Text::new("coxa - plan"), font(18.0), TextColor(Color::WHITE)));
            if let Some(c) = controls {
                for knob in Knob::ALL {
                    p.spawn(Node { flex_direction: FlexDirection::Row, align_items: AlignItems::Center, ..default() }).with_children(|row| {
                        row.spawn((button(26.0), KnobButton(knob, -1.0))).with_children(|b| {
                            b.spawn((Text::new("-"), font(14.0), TextColor(Color::WHITE)));
                        });
                        row.spawn((button(26.0), KnobButton(knob, 1.0))).with_children(|b| {
                            b.spawn((Text::new("+"), font(14.0), TextColor(Color::WHITE)));
                        });
                        row.spawn((Text::new(knob.label(&c)), font(13.0), TextColor(Color::srgb(0.9, 0.9, 0.9)), KnobText(knob)));
                    });
                }
                p.spawn((button(140.0), ResetButton)).with_children(|b| {
                    b.spawn((Text::new("Back to the plan"), font(13.0), TextColor(Color::WHITE)));
                });
            }
            p.spawn((Text::new(if can_play { "Range of motion (click to play):" } else { "Range of motion (as recorded):" }), font(14.0), TextColor(Color::srgb(0.7, 0.85, 1.0))));
            for (k, label) in rom.into_iter().enumerate() {
                p.spawn((Button, Node { min_height: Val::Px(17.0), align_items: AlignItems::Center, ..default() }, BackgroundColor(Color::NONE), MotionButton(k))).with_children(|b| {
                    b.spawn((Text::new(label), font(11.5), TextColor(Color::srgb(0.9, 0.9, 0.9)), MotionText(k)));
                });
            }
            p.spawn(Node { flex_direction: FlexDirection::Row, margin: UiRect::top(Val::Px(4.0)), ..default() }).with_children(|row| {
                for (label, t) in [("Slices", Kind2::Slices), ("Muscles", Kind2::Muscles), ("Bones", Kind2::Bones), ("Landmarks", Kind2::Landmarks)] {
                    row.spawn((button(78.0), Toggle(t))).with_children(|b| {
                        b.spawn((Text::new(label), font(12.0), TextColor(Color::WHITE)));
                    });
                }
            });
            p.spawn((Text::new(""), font(12.0), TextColor(Color::srgb(1.0, 0.85, 0.5)), StatusText));
        });
}

fn rom_line_label(l: &RomLine) -> String {
    let parts = l.parts.as_deref().map_or(String::new(), |p| format!(" ({p})"));
    format!("{} {:.1} deg{}", l.name, l.limit_deg, parts)
}

fn motion_label(e: &Evaluation, k: usize) -> String {
    let l = &e.limits[k];
    let contact = l.contact.as_ref().map_or_else(|| " free".to_string(), |c| format!(" {}", c.parts));
    let need = l.required_deg.map_or(String::new(), |r| format!(" / needs {r:.0} deg"));
    format!("{} {:.1} deg{}{}", l.name, l.limit_deg, need, contact)
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

/// The next catalog value from `list` in direction `dir` (±1) after `now`.
fn step_in(list: &[f64], now: f64, dir: f64) -> f64 {
    if dir > 0.0 { list.iter().copied().find(|&x| x > now + 1e-6).unwrap_or(now) } else { list.iter().rev().copied().find(|&x| x < now - 1e-6).unwrap_or(now) }
}

#[allow(clippy::type_complexity, reason = "a bevy query of the buttons")]
fn buttons(
    mut v: ResMut<Viewer>,
    knobs: Query<(&Interaction, &KnobButton), Changed<Interaction>>,
    motions: Query<(&Interaction, &MotionButton), Changed<Interaction>>,
    toggles: Query<(&Interaction, &Toggle), Changed<Interaction>>,
    reset: Query<&Interaction, (Changed<Interaction>, With<ResetButton>)>,
    mut vis: Query<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Has<LandmarkItem>), Without<ContactItem>>,
) {
    for (i, k) in &knobs {
        if *i != Interaction::Pressed {
            continue;
        }
        let (Some(live), Some(mut c)) = (v.live.clone(), v.queued.or(v.controls)) else { continue };
        match k.0 {
            Knob::CupInclination => c.cup_inclination_deg = (c.cup_inclination_deg + k.1).clamp(20.0, 70.0),
            Knob::CupAnteversion => c.cup_anteversion_deg = (c.cup_anteversion_deg + k.1).clamp(-10.0, 50.0),
            Knob::StemVersion => c.stem_anteversion_deg = (c.stem_anteversion_deg + k.1).clamp(-20.0, 50.0),
            Knob::Head => {
                c.head_diameter_mm = step_in(&live.head_diameters_mm(), c.head_diameter_mm, k.1);
                let offsets = live.head_offsets_mm(c.head_diameter_mm);
                if !offsets.iter().any(|o| (o - c.head_offset_mm).abs() < 1e-6) {
                    c.head_offset_mm = offsets.iter().copied().min_by(|a, b| a.abs().total_cmp(&b.abs())).unwrap_or(0.0);
                }
            }
            Knob::Neck => c.head_offset_mm = step_in(&live.head_offsets_mm(c.head_diameter_mm), c.head_offset_mm, k.1),
        }
        v.queued = Some(c);
    }
    for i in &reset {
        if *i == Interaction::Pressed
            && let Some(live) = v.live.clone()
        {
            v.queued = Some(live.base_controls());
        }
    }
    for (i, m) in &motions {
        if *i == Interaction::Pressed && v.eval.is_some() {
            v.selected = m.0;
            v.playing = Some(Playback { motion: m.0, elapsed_s: 0.0 });
        }
    }
    for (i, t) in &toggles {
        if *i != Interaction::Pressed {
            continue;
        }
        toggle(t.0, &mut vis);
    }
}

#[allow(clippy::type_complexity, reason = "a bevy query of what can be hidden")]
fn toggle(what: Kind2, vis: &mut Query<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Has<LandmarkItem>), Without<ContactItem>>) {
    for (mut visibility, item, is_slice, is_landmark) in vis.iter_mut() {
        let hit = match what {
            Kind2::Slices => is_slice,
            Kind2::Landmarks => is_landmark,
            Kind2::Muscles => item.is_some_and(|i| i.kind == Kind::Muscle),
            Kind2::Bones => item.is_some_and(|i| i.kind == Kind::Bone),
        };
        if hit {
            *visibility = if *visibility == Visibility::Hidden { Visibility::Inherited } else { Visibility::Hidden };
        }
    }
}

#[allow(clippy::type_complexity, reason = "a bevy query of what can be hidden")]
fn keys(mut v: ResMut<Viewer>, input: Res<ButtonInput<KeyCode>>, mut vis: Query<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Has<LandmarkItem>), Without<ContactItem>>) {
    if input.just_pressed(KeyCode::Space) && v.eval.is_some() {
        v.playing = match v.playing {
            Some(_) => None,
            None => Some(Playback { motion: v.selected, elapsed_s: 0.0 }),
        };
    }
    if input.just_pressed(KeyCode::Escape) {
        v.playing = None;
    }
    for (key, what) in [(KeyCode::KeyS, Kind2::Slices), (KeyCode::KeyM, Kind2::Muscles), (KeyCode::KeyB, Kind2::Bones), (KeyCode::KeyL, Kind2::Landmarks)] {
        if input.just_pressed(key) {
            toggle(what, &mut vis);
        }
    }
}

/// Starts an evaluation when controls are queued and none runs; swaps a finished one in.
fn replan(world: &mut World) {
    // Most frames have nothing to do: look first, so that the viewer is not marked changed.
    let idle = {
        let v = world.resource::<Viewer>();
        v.task.is_none() && (v.queued.is_none() || v.live.is_none())
    };
    if idle {
        return;
    }
    let mut finished = None;
    {
        let mut v = world.resource_mut::<Viewer>();
        if let Some(task) = v.task.as_mut()
            && let Some(result) = check_ready(task)
        {
            v.task = None;
            finished = Some(result);
        }
        if v.task.is_none()
            && let (Some(c), Some(live)) = (v.queued.take(), v.live.clone())
            && (Some(c) != v.controls || finished.is_some())
        {
            v.status = "Computing the range of motion...".into();
            v.task = Some(AsyncComputeTaskPool::get().spawn(async move { live.evaluate(&c) }));
        }
    }
    match finished {
        Some(Ok(e)) => swap_in(world, e),
        Some(Err(e)) => {
            let mut v = world.resource_mut::<Viewer>();
            v.status = format!("Not possible: {e}");
        }
        None => {}
    }
}

/// Replaces the implants and the femur's rest pose by those of `e`.
fn swap_in(world: &mut World, e: Evaluation) {
    let old: Vec<Entity> = world.query::<(Entity, &SceneItem)>().iter(world).filter(|(_, i)| i.kind == Kind::Implant).map(|(e, _)| e).collect();
    for ent in old {
        world.despawn(ent);
    }
    for (name, mesh) in &e.implants {
        let group = if crate::live::moves_with_femur(name) { Group::FemoralImplant } else { Group::Fixed };
        spawn_mesh(world, &SceneMesh { name: name.clone(), mesh: mesh.clone(), look: implant_look(name), group, kind: Kind::Implant, motion: None });
    }
    let rest = transform_of(&e.femur_as_planned());
    let mut q = world.query::<(&SceneItem, &mut Transform)>();
    for (item, mut t) in q.iter_mut(world) {
        if item.group == Group::Femur {
            t.set_if_neq(rest);
        }
    }
    let mut v = world.resource_mut::<Viewer>();
    let worst = e.limits.iter().filter_map(|l| l.required_deg.map(|r| (l.name, l.limit_deg - r))).min_by(|a, b| a.1.total_cmp(&b.1));
    v.status = match worst {
        Some((name, m)) => format!("Updated. Smallest daily-life margin {m:+.1} deg ({name}); oscillation angle {:.1} deg", e.oscillation_angle_deg),
        None => format!("Updated. Oscillation angle {:.1} deg", e.oscillation_angle_deg),
    };
    v.controls = Some(e.controls);
    if let Some(p) = v.playing.as_mut() {
        p.elapsed_s = 0.0;
    }
    v.eval = Some(Arc::new(e));
}

/// Moves the femur along the playing motion; shows the first contact at the limit.
fn playback(time: Res<Time>, mut v: ResMut<Viewer>, mut items: Query<(&SceneItem, &mut Transform), Without<ContactItem>>, mut contact: Query<(&mut Transform, &mut Visibility), With<ContactItem>>) {
    let Some(e) = v.eval.clone() else { return };
    let scripted = v.options.screenshot.is_some();
    if v.playing.is_none() {
        // At rest: written only when something moved (change detection drives transform
        // propagation and the renderer's uploads).
        let rest = transform_of(&e.femur_as_planned());
        for (item, mut t) in &mut items {
            match item.group {
                Group::Femur => _ = t.set_if_neq(rest),
                Group::FemoralImplant => _ = t.set_if_neq(Transform::IDENTITY),
                Group::Fixed => {}
            }
        }
        for (_, mut vis) in &mut contact {
            vis.set_if_neq(Visibility::Hidden);
        }
        return;
    }
    let Some(p) = v.playing else { return };
    let k = p.motion.min(e.motions.len() - 1);
    let limit = e.limit_alpha(k);
    if p.elapsed_s * PLAY_DEG_PER_S < limit {
        // A scripted picture jumps to the limit; a person watches it move. Held at the limit,
        // nothing is written again.
        let dt = if scripted { 1e6 } else { f64::from(time.delta_secs()) };
        if let Some(p) = v.playing.as_mut() {
            p.elapsed_s += dt;
        }
    }
    let alpha = (v.playing.map_or(0.0, |p| p.elapsed_s) * PLAY_DEG_PER_S).min(limit);
    let (bone, implant) = e.femur_motion(k, alpha);
    let (tb, ti) = (transform_of(&bone), transform_of(&implant));
    for (item, mut t) in &mut items {
        match item.group {
            Group::Femur => _ = t.set_if_neq(tb),
            Group::FemoralImplant => _ = t.set_if_neq(ti),
            Group::Fixed => {}
        }
    }
    let at_limit = alpha >= limit - 1e-9;
    let l = &e.limits[k];
    let point = l.contact.as_ref().filter(|_| at_limit).map(|c| c.point_lps_mm);
    for (mut t, mut vis) in &mut contact {
        match point {
            Some(q) => {
                t.set_if_neq(Transform::from_translation(to_bevy(&q.coords)));
                vis.set_if_neq(Visibility::Visible);
            }
            None => _ = vis.set_if_neq(Visibility::Hidden),
        }
    }
    let status = match (&l.contact, at_limit) {
        (Some(c), true) => format!("{}: first contact at {:.1} deg: {} ({}), marked in magenta", l.name, l.limit_deg, c.parts, c.kind.as_str()),
        (None, true) => format!("{}: no contact up to {:.1} deg", l.name, l.limit_deg),
        _ => format!("{}: {:.1} deg", l.name, e.motions[k].driven_deg(alpha)),
    };
    if v.status != status {
        v.status = status;
    }
}

/// Keeps the panel's texts current.
#[allow(clippy::type_complexity, reason = "bevy queries of the panel's texts")]
fn labels(v: Res<Viewer>, mut knobs: Query<(&mut Text, &KnobText), (Without<MotionText>, Without<StatusText>)>, mut motions: Query<(&mut Text, &MotionText, &mut TextColor), Without<StatusText>>, mut status: Query<&mut Text, With<StatusText>>) {
    if !v.is_changed() {
        return;
    }
    let shown = v.queued.or(v.controls);
    if let Some(c) = shown {
        for (mut t, k) in &mut knobs {
            let s = k.0.label(&c);
            if **t != s {
                **t = s;
            }
        }
    }
    if let Some(e) = &v.eval {
        for (mut t, m, mut colour) in &mut motions {
            if m.0 < e.limits.len() {
                let s = motion_label(e, m.0);
                if **t != s {
                    **t = s;
                }
                let l = &e.limits[m.0];
                let short = l.required_deg.is_some_and(|r| l.limit_deg < r);
                let want = if v.playing.is_some_and(|p| p.motion == m.0) {
                    Color::srgb(1.0, 0.6, 0.95)
                } else if short {
                    Color::srgb(1.0, 0.45, 0.4)
                } else {
                    Color::srgb(0.9, 0.9, 0.9)
                };
                if colour.0 != want {
                    colour.0 = want;
                }
            }
        }
    }
    let mut s = v.status.clone();
    if let Some(e) = &v.eval {
        let p = &e.placement;
        s.push_str(&format!("\nShell {:.0} mm, liner {}, stem {} {}", p.shell_outer_diameter_mm, p.liner, p.stem_family, p.stem_size));
    }
    for mut t in &mut status {
        if **t != s {
            **t = s.clone();
        }
    }
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

//! The control panel (planning controls, the motions, the toggles, the status line) and the keys.

use bevy::prelude::*;

use super::{PANEL_PX, Playback, Viewer, ViewerSystems};
use crate::case::RomLine;
use crate::live::{Controls, Evaluation};
use crate::{ContactItem, Kind, LandmarkItem, SceneItem, SliceItem};

/// The panel, its buttons and the keys.
pub(super) struct PanelPlugin;

impl Plugin for PanelPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn_panel);
        app.add_systems(Update, ((buttons, keys).chain().in_set(ViewerSystems::Input), labels.in_set(ViewerSystems::Panel)));
    }
}

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

/// The control panel: planning controls, the motions, the toggles and the status line.
fn spawn_panel(world: &mut World) {
    // The panel.
    let v = world.resource::<Viewer>();
    let controls = v.controls;
    let rom: Vec<String> = match &v.eval {
        Some(e) => (0..e.motions.len()).map(|k| motion_label(e, k)).collect(),
        None => v.case.rom.iter().map(rom_line_label).collect(),
    };
    let can_play = v.eval.is_some();
    let font = |size: f32| TextFont { font_size: FontSize::Px(size), ..default() };
    let button = |w: f32| {
        (
            Button,
            Node { width: Val::Px(w), height: Val::Px(22.0), justify_content: JustifyContent::Center, align_items: AlignItems::Center, margin: UiRect::right(Val::Px(4.0)), ..default() },
            BackgroundColor(Color::srgb(0.25, 0.27, 0.32)),
        )
    };
    let mut commands = world.commands();
    commands
        .spawn((
            Node {
                width: Val::Px(PANEL_PX),
                height: Val::Percent(100.0),
                flex_direction: FlexDirection::Column,
                padding: UiRect::all(Val::Px(8.0)),
                row_gap: Val::Px(3.0),
                overflow: Overflow::clip(),
                ..default()
            },
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

/// Keeps the panel's texts current.
#[allow(clippy::type_complexity, reason = "bevy queries of the panel's texts")]
fn labels(
    v: Res<Viewer>,
    mut knobs: Query<(&mut Text, &KnobText), (Without<MotionText>, Without<StatusText>)>,
    mut motions: Query<(&mut Text, &MotionText, &mut TextColor), Without<StatusText>>,
    mut status: Query<&mut Text, With<StatusText>>,
) {
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

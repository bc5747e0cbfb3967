//! The control panel (camera presets, save / undo / redo, a control for every planned choice
//! with its change from the automatic plan, the motions, the toggles, the status line) and the
//! keys.

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use coxa_core::plan_ranges::PlanValue;
use coxa_core::{Angle, CupAngleDefinition, CupAngles};

use super::{PANEL_PX, Playback, Preset, Viewer, ViewerSystems, desk};
use crate::case::RomLine;
use crate::live::{Controls, Evaluation, LiveModel};
use crate::script::{Control, Layer};
use crate::{ContactItem, LandmarkItem, SceneItem, SliceItem};

/// The panel, its buttons and the keys.
pub(super) struct PanelPlugin;

impl Plugin for PanelPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn_panel);
        app.add_systems(Update, ((buttons, desk_buttons, keys).chain().in_set(ViewerSystems::Input), labels.in_set(ViewerSystems::Panel)));
    }
}

/// The definition's name on the panel.
fn definition_name(d: CupAngleDefinition) -> &'static str {
    match d {
        CupAngleDefinition::Radiographic => "radiographic",
        CupAngleDefinition::Operative => "operative",
        CupAngleDefinition::Anatomic => "anatomic",
    }
}

/// The cup angles of `c` in definition `d` (inclination, anteversion), deg.
fn cup_in(c: &Controls, d: CupAngleDefinition, v: &Viewer) -> (f64, f64) {
    let side = if v.side_is_left { coxa_core::Side::Left } else { coxa_core::Side::Right };
    let radio = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(c.cup_inclination_deg), anteversion: Angle::from_deg(c.cup_anteversion_deg) };
    let a = radio.to_definition(d, side);
    (a.inclination.deg(), a.anteversion.deg())
}

/// A control's line: its value (cup angles in the chosen definition) and its change from the
/// automatic plan.
fn knob_label(k: Control, c: &Controls, auto: Option<&Controls>, v: &Viewer) -> String {
    let d = v.definition;
    let value = |c: &Controls| match k {
        Control::CupInclination => cup_in(c, d, v).0,
        Control::CupAnteversion => cup_in(c, d, v).1,
        _ => k.get(c),
    };
    let change = auto.map(|a| value(c) - value(a)).filter(|x| x.abs() > 0.05).map_or(String::new(), |x| format!("  [{x:+.1}]"));
    let now = value(c);
    match k {
        Control::CupInclination => format!("Cup inclination {now:.1} deg ({}){change}", definition_name(d)),
        Control::CupAnteversion => format!("Cup anteversion {now:.1} deg ({}){change}", definition_name(d)),
        Control::CupSize => format!("Cup {now:.0} mm{change}"),
        Control::CupShiftMedial => format!("Cup centre medial {now:+.0} mm{change}"),
        Control::CupShiftSuperior => format!("Cup centre superior {now:+.0} mm{change}"),
        Control::CupShiftAnterior => format!("Cup centre anterior {now:+.0} mm{change}"),
        Control::StemAnteversion => format!("Stem anteversion {now:.1} deg{change}"),
        Control::HeadDiameter => format!("Head {now:.0} mm{change}"),
        Control::NeckLength => format!("Neck length {now:+.1} mm{change}"),
        Control::StemSize => {
            let label = v.live.as_ref().and_then(|l| l.stem_sizes().iter().find(|e| (e.0 - now).abs() < 1e-6).map(|e| e.1.clone())).unwrap_or_else(|| format!("{now}"));
            let change = auto.map(|a| k.get(a)).filter(|a| (a - now).abs() > 1e-6).map_or(String::new(), |a| format!("  [was {a}]"));
            format!("Stem size {label}{change}")
        }
    }
}

/// `c` with control `k` stepped once in direction `dir` (±1): angles by a degree (cup angles in
/// the chosen definition), the cup centre by a millimetre, sizes to the catalog's neighbour.
fn stepped(k: Control, mut c: Controls, dir: f64, live: &LiveModel, v: &Viewer) -> Controls {
    match k {
        Control::CupInclination | Control::CupAnteversion => {
            let d = v.definition;
            let (mut inc, mut av) = cup_in(&c, d, v);
            if k == Control::CupInclination {
                inc = PlanValue::CupInclinationDeg.clamp(inc + dir)
            } else {
                av = PlanValue::CupAnteversionDeg.clamp(av + dir)
            }
            let side = if v.side_is_left { coxa_core::Side::Left } else { coxa_core::Side::Right };
            let radio = CupAngles { definition: d, inclination: Angle::from_deg(inc), anteversion: Angle::from_deg(av) }.to_definition(CupAngleDefinition::Radiographic, side);
            // The plan's ranges hold for the radiographic angles the plan keeps: a step that would
            // leave them is not taken.
            if PlanValue::CupInclinationDeg.check(radio.inclination.deg()).is_err() || PlanValue::CupAnteversionDeg.check(radio.anteversion.deg()).is_err() {
                return c;
            }
            c.cup_inclination_deg = radio.inclination.deg();
            c.cup_anteversion_deg = radio.anteversion.deg();
            c
        }
        Control::StemAnteversion => Control::StemAnteversion.set(&c, PlanValue::StemAnteversionDeg.clamp(c.stem_anteversion_deg + dir)),
        Control::CupShiftMedial | Control::CupShiftSuperior | Control::CupShiftAnterior => k.set(&c, PlanValue::CupShiftMm.clamp(k.get(&c) + dir)),
        Control::CupSize => Control::CupSize.set(&c, step_in(&live.cup_diameters_mm(), c.cup_outer_diameter_mm, dir)),
        Control::HeadDiameter => {
            c.head_diameter_mm = step_in(&live.head_diameters_mm(), c.head_diameter_mm, dir);
            let offsets = live.head_offsets_mm(c.head_diameter_mm);
            if !offsets.iter().any(|o| (o - c.head_offset_mm).abs() < 1e-6) {
                c.head_offset_mm = offsets.iter().copied().min_by(|a, b| a.abs().total_cmp(&b.abs())).unwrap_or(0.0);
            }
            c
        }
        Control::NeckLength => Control::NeckLength.set(&c, step_in(&live.head_offsets_mm(c.head_diameter_mm), c.head_offset_mm, dir)),
        Control::StemSize => {
            // The series' neighbour in catalog order (labels need not be numbers).
            let sizes = live.stem_sizes();
            let now = sizes.iter().position(|e| (e.0 - c.stem_size).abs() < 1e-6).unwrap_or(0);
            let next = if dir > 0.0 { (now + 1).min(sizes.len().saturating_sub(1)) } else { now.saturating_sub(1) };
            sizes.get(next).map_or(c, |e| Control::StemSize.set(&c, e.0))
        }
    }
}

#[derive(Component, Clone, Copy)]
struct KnobButton(Control, f64);
#[derive(Component, Clone, Copy)]
struct KnobText(Control);
#[derive(Component, Clone, Copy)]
struct MotionButton(usize);
#[derive(Component, Clone, Copy)]
struct MotionText(usize);
#[derive(Component)]
struct StatusText;
#[derive(Component)]
struct Toggle(Layer);
#[derive(Component)]
struct ResetButton;
#[derive(Component, Clone, Copy)]
struct PresetButton(Preset);
#[derive(Component, Clone, Copy, PartialEq, Eq)]
enum DeskButton {
    Save,
    Undo,
    Redo,
    Definition,
}
#[derive(Component)]
struct DefinitionText;

fn font(size: f32) -> TextFont {
    TextFont { font_size: FontSize::Px(size), ..default() }
}

fn button(w: f32) -> impl Bundle {
    (
        Button,
        Node { width: Val::Px(w), height: Val::Px(20.0), justify_content: JustifyContent::Center, align_items: AlignItems::Center, margin: UiRect::right(Val::Px(4.0)), ..default() },
        BackgroundColor(Color::srgb(0.25, 0.27, 0.32)),
    )
}

fn row() -> Node {
    Node { flex_direction: FlexDirection::Row, align_items: AlignItems::Center, ..default() }
}

/// The control panel: presets, desk buttons, planning controls, the motions, the toggles and
/// the status line.
fn spawn_panel(world: &mut World) {
    let v = world.resource::<Viewer>();
    let controls = v.controls;
    let labels: Vec<String> = controls.map(|c| Control::ALL.iter().map(|&k| knob_label(k, &c, v.automatic.as_ref().map(|a| &a.controls), v)).collect()).unwrap_or_default();
    let rom: Vec<String> = match &v.eval {
        Some(e) => (0..e.motions.len()).map(|k| motion_label(e, k, v.automatic.as_deref())).collect(),
        None => v.case.rom.iter().map(rom_line_label).collect(),
    };
    let can_play = v.eval.is_some();
    let mut commands = world.commands();
    let panel = Node {
        width: Val::Px(PANEL_PX),
        height: Val::Percent(100.0),
        flex_direction: FlexDirection::Column,
        padding: UiRect::all(Val::Px(8.0)),
        row_gap: Val::Px(2.0),
        overflow: Overflow::clip(),
        ..default()
    };
    commands.spawn((panel, BackgroundColor(Color::srgb(0.08, 0.09, 0.11)))).with_children(|p| {
        p.spawn((Text::new("coxa - planning desk"), font(17.0), TextColor(Color::WHITE)));
        p.spawn(row()).with_children(|r| {
            for ((k, preset), w) in Preset::ALL.into_iter().enumerate().zip([44.0, 72.0, 80.0, 62.0, 70.0]) {
                let name = format!("{} {}", k + 1, preset.label());
                r.spawn((button(w), PresetButton(preset))).with_children(|b| {
                    b.spawn((Text::new(name), font(11.5), TextColor(Color::WHITE)));
                });
            }
        });
        if let Some(_c) = controls {
            p.spawn(row()).with_children(|r| {
                for (label, d, w) in [("Save", DeskButton::Save, 60.0), ("Undo", DeskButton::Undo, 60.0), ("Redo", DeskButton::Redo, 60.0)] {
                    r.spawn((button(w), d)).with_children(|b| {
                        b.spawn((Text::new(label), font(12.0), TextColor(Color::WHITE)));
                    });
                }
                r.spawn((button(170.0), DeskButton::Definition)).with_children(|b| {
                    b.spawn((Text::new("Angles: radiographic"), font(12.0), TextColor(Color::WHITE), DefinitionText));
                });
            });
            for (knob, label) in Control::ALL.into_iter().zip(labels) {
                p.spawn(row()).with_children(|r| {
                    for (sign, dir) in [("-", -1.0), ("+", 1.0)] {
                        r.spawn((button(24.0), KnobButton(knob, dir))).with_children(|b| {
                            b.spawn((Text::new(sign), font(13.0), TextColor(Color::WHITE)));
                        });
                    }
                    r.spawn((Text::new(label), font(12.5), TextColor(Color::srgb(0.9, 0.9, 0.9)), KnobText(knob)));
                });
            }
            p.spawn((button(210.0), ResetButton)).with_children(|b| {
                b.spawn((Text::new("Back to the automatic plan"), font(12.0), TextColor(Color::WHITE)));
            });
        }
        p.spawn((
            Text::new(if can_play { "Range of motion [change from the automatic plan] (click to play):" } else { "Range of motion (as recorded):" }),
            font(12.5),
            TextColor(Color::srgb(0.7, 0.85, 1.0)),
        ));
        for (k, label) in rom.into_iter().enumerate() {
            p.spawn((Button, Node { min_height: Val::Px(15.0), align_items: AlignItems::Center, ..default() }, BackgroundColor(Color::NONE), MotionButton(k))).with_children(|b| {
                b.spawn((Text::new(label), font(11.0), TextColor(Color::srgb(0.9, 0.9, 0.9)), MotionText(k)));
            });
        }
        p.spawn(Node { flex_direction: FlexDirection::Row, margin: UiRect::top(Val::Px(3.0)), ..default() }).with_children(|r| {
            for (label, t) in [("Slices", Layer::Slices), ("Muscles", Layer::Muscles), ("Bones", Layer::Bones), ("Landmarks", Layer::Landmarks)] {
                r.spawn((button(78.0), Toggle(t))).with_children(|b| {
                    b.spawn((Text::new(label), font(12.0), TextColor(Color::WHITE)));
                });
            }
        });
        p.spawn((Text::new(""), font(11.5), TextColor(Color::srgb(1.0, 0.85, 0.5)), StatusText));
    });
}

fn rom_line_label(l: &RomLine) -> String {
    let parts = l.parts.as_deref().map_or(String::new(), |p| format!(" ({p})"));
    format!("{} {:.1} deg{}", l.name, l.limit_deg, parts)
}

fn motion_label(e: &Evaluation, k: usize, auto: Option<&Evaluation>) -> String {
    let l = &e.limits[k];
    let contact = l.contact.as_ref().map_or_else(|| " free".to_string(), |c| format!(" {}", c.parts));
    let need = l.required_deg.map_or(String::new(), |r| format!(" / needs {r:.0}"));
    let change = auto.and_then(|a| a.limits.iter().find(|m| m.name == l.name)).map(|m| l.limit_deg - m.limit_deg).filter(|d| d.abs() >= 0.05).map_or(String::new(), |d| format!(" [{d:+.1}]"));
    format!("{} {:.1} deg{change}{need}{contact}", l.name, l.limit_deg)
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
        let (Some(live), Some(c)) = (v.live.clone(), v.shown()) else { continue };
        let next = stepped(k.0, c, k.1, &live, &v);
        v.change(next);
    }
    for i in &reset {
        if *i == Interaction::Pressed
            && let Some(live) = v.live.clone()
        {
            v.change(live.base_controls());
        }
    }
    for (i, m) in &motions {
        if *i == Interaction::Pressed && v.eval.is_some() {
            v.selected = m.0;
            v.playing = Some(Playback { motion: m.0, elapsed_s: 0.0 });
        }
    }
    for (i, t) in &toggles {
        if *i == Interaction::Pressed {
            desk::show(t.0, None, &mut vis);
        }
    }
}

/// The camera presets, save, undo, redo and the angle definition.
fn desk_buttons(
    mut v: ResMut<Viewer>,
    presets: Query<(&Interaction, &PresetButton), Changed<Interaction>>,
    desk_buttons: Query<(&Interaction, &DeskButton), Changed<Interaction>>,
    window: Query<&Window, With<PrimaryWindow>>,
) {
    for (i, p) in &presets {
        if *i == Interaction::Pressed {
            desk::view(&mut v, p.0, window.single().ok());
        }
    }
    for (i, b) in &desk_buttons {
        if *i != Interaction::Pressed {
            continue;
        }
        match b {
            DeskButton::Save => desk::save_to_status(&mut v),
            DeskButton::Undo => desk::history_to_status(&mut v, false),
            DeskButton::Redo => desk::history_to_status(&mut v, true),
            DeskButton::Definition => {
                v.definition = match v.definition {
                    CupAngleDefinition::Radiographic => CupAngleDefinition::Operative,
                    CupAngleDefinition::Operative => CupAngleDefinition::Anatomic,
                    CupAngleDefinition::Anatomic => CupAngleDefinition::Radiographic,
                };
            }
        }
    }
}

#[allow(clippy::type_complexity, reason = "a bevy query of what can be hidden")]
fn keys(
    mut v: ResMut<Viewer>,
    input: Res<ButtonInput<KeyCode>>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut vis: Query<(&mut Visibility, Option<&SceneItem>, Has<SliceItem>, Has<LandmarkItem>), Without<ContactItem>>,
) {
    let ctrl = input.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    if ctrl {
        let shift = input.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
        if input.just_pressed(KeyCode::KeyS) {
            desk::save_to_status(&mut v);
        }
        if input.just_pressed(KeyCode::KeyZ) {
            desk::history_to_status(&mut v, shift);
        }
        if input.just_pressed(KeyCode::KeyY) {
            desk::history_to_status(&mut v, true);
        }
        return;
    }
    if input.just_pressed(KeyCode::Space) && v.eval.is_some() {
        v.playing = match v.playing {
            Some(_) => None,
            None => Some(Playback { motion: v.selected, elapsed_s: 0.0 }),
        };
    }
    if input.just_pressed(KeyCode::Escape) {
        v.playing = None;
    }
    for (key, what) in [(KeyCode::KeyS, Layer::Slices), (KeyCode::KeyM, Layer::Muscles), (KeyCode::KeyB, Layer::Bones), (KeyCode::KeyL, Layer::Landmarks)] {
        if input.just_pressed(key) {
            desk::show(what, None, &mut vis);
        }
    }
    for (key, preset) in [KeyCode::Digit1, KeyCode::Digit2, KeyCode::Digit3, KeyCode::Digit4, KeyCode::Digit5].into_iter().zip(Preset::ALL) {
        if input.just_pressed(key) {
            desk::view(&mut v, preset, window.single().ok());
        }
    }
}

/// Keeps the panel's texts current.
#[allow(clippy::type_complexity, reason = "bevy queries of the panel's texts")]
fn labels(
    v: Res<Viewer>,
    mut knobs: Query<(&mut Text, &KnobText), (Without<MotionText>, Without<StatusText>, Without<DefinitionText>)>,
    mut motions: Query<(&mut Text, &MotionText, &mut TextColor), (Without<StatusText>, Without<DefinitionText>)>,
    mut status: Query<&mut Text, (With<StatusText>, Without<DefinitionText>)>,
    mut definition: Query<&mut Text, With<DefinitionText>>,
) {
    if !v.is_changed() {
        return;
    }
    let set = |t: &mut Text, s: String| {
        if **t != s {
            **t = s;
        }
    };
    let auto = v.automatic.clone();
    if let Some(c) = v.shown() {
        for (mut t, k) in &mut knobs {
            set(&mut t, knob_label(k.0, &c, auto.as_ref().map(|a| &a.controls), &v));
        }
    }
    for mut t in &mut definition {
        set(&mut t, format!("Angles: {}", definition_name(v.definition)));
    }
    if let Some(e) = &v.eval {
        for (mut t, m, mut colour) in &mut motions {
            if m.0 < e.limits.len() {
                set(&mut t, motion_label(e, m.0, auto.as_deref()));
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
        let c = e.combined_anteversion();
        s.push_str(&format!("\nCombined anteversion: Widmer {:.1} deg (radiographic cup + 0.7 x stem), sum {:.1} deg (operative cup + stem)", c.widmer_deg, c.plain_sum_deg));
        s.push_str(&format!("\nFrom the native hip: leg length {:+.1} mm, offset {:+.1} mm", e.leg_length_change_mm, e.offset_change_mm));
        for w in e.warnings() {
            s.push_str(&format!("\nWARNING: {w}"));
        }
        if let Some(a) = &auto {
            if let (Some(b), Some(b0)) = (e.bone, a.bone) {
                s.push_str(&format!(
                    "\nCoverage {:.0} % [{:+.0}], medial wall {:.1} mm [{:+.1}]",
                    100.0 * b.coverage,
                    100.0 * (b.coverage - b0.coverage),
                    b.medial_wall_mm,
                    b.medial_wall_mm - b0.medial_wall_mm
                ));
            }
            s.push_str(&format!(
                "\nFrom the automatic plan: leg length {:+.1} mm, offset {:+.1} mm, oscillation {:+.1} deg",
                e.leg_length_change_mm - a.leg_length_change_mm,
                e.offset_change_mm - a.offset_change_mm,
                e.oscillation_angle_deg - a.oscillation_angle_deg
            ));
        }
    }
    for mut t in &mut status {
        set(&mut t, s.clone());
    }
}

//! Motion playback: the femur moves along the motion to its first contact, marked there.

use bevy::prelude::*;

use super::{PLAY_DEG_PER_S, Viewer, ViewerSystems};
use crate::{ContactItem, Group, SceneItem, to_bevy, transform_of};

/// Plays the selected motion.
pub(super) struct PlaybackPlugin;

impl Plugin for PlaybackPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, playback.in_set(ViewerSystems::Playback));
    }
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

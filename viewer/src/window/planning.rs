//! Live planning: queued controls are evaluated on bevy's async compute pool (never on the
//! render thread); a finished evaluation swaps in its implants, ROM and femur pose.

use std::sync::Arc;

use bevy::prelude::*;
use bevy::tasks::AsyncComputeTaskPool;
use bevy::tasks::futures::check_ready;

use super::{Viewer, ViewerSystems};
use crate::live::Evaluation;
use crate::{Group, Kind, SceneItem, SceneMesh, implant_look, spawn_mesh, transform_of};

/// Re-plans when the controls change.
pub(super) struct LivePlanningPlugin;

impl Plugin for LivePlanningPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, replan.in_set(ViewerSystems::Replan));
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
            v.eval_error = Some(e.to_string());
            // The change did not happen: nothing to undo for it.
            if v.undo.last() == v.controls.as_ref() {
                v.undo.pop();
            }
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

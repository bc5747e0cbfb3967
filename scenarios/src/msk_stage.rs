//! The musculoskeletal stage of a case (`[msk]` in a scenario): what the plan does to the
//! abductors and to the hip load, on an OpenSim model.
//!
//! The model (e.g. `../shared/data/opensim/gait2392_thelen2003muscle.osim`) is scaled at the
//! pelvis by the patient's distance between the femoral head centres (a hip CT does not image
//! the knee, so the femur keeps the model's length). The plan moves the hip centre on the
//! pelvis (the cup centre's shift from the native centre) and the femoral attachments (offset
//! and leg-length change), as `coxa hcf` does. The operated hip is the model's right hip (a
//! left hip is mirrored). Reported before and after the plan: the abductors' force-weighted
//! mean moment arm and maximum abduction moment, and the hip contact force of each activity.

use std::path::PathBuf;

use anyhow::{Context, Result};
use nalgebra::Vector3;
use serde_json::{Value, json};

use coxa_core::PelvicFrame;
use coxa_sim::msk::hcf::{self, Activity};
use coxa_sim::msk::{osim, personalise};

/// What the stage needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MskInput {
    /// The .osim model.
    pub model: PathBuf,
    /// Body weight, N.
    pub body_weight_n: f64,
    /// Activities: `one-leg-stance`, `walking`.
    pub activities: Vec<String>,
}

/// The planned change of the hip: cup centre shift (LPS, mm), offset and leg-length change (mm).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HipChange {
    /// Planned minus native cup centre, LPS mm.
    pub cor_shift_lps_mm: Vector3<f64>,
    /// Offset change, mm (+: more lateral femur).
    pub offset_change_mm: f64,
    /// Leg-length change, mm (+: longer).
    pub leg_length_change_mm: f64,
}

fn activity(name: &str) -> Result<Activity> {
    match name {
        "one-leg-stance" => Ok(Activity::OneLegStance),
        "walking" => Ok(Activity::Walking),
        other => anyhow::bail!("[msk] activity {other:?}: use one-leg-stance or walking"),
    }
}

/// Runs the stage. `head_distance_mm`: between the two femoral head centres (None: no scaling);
/// `frame`: the pelvic frame (for the cup centre's shift in the model's pelvis axes).
pub fn run(input: &MskInput, head_distance_mm: Option<f64>, frame: &PelvicFrame, change: &HipChange, side_is_left: bool) -> Result<Value> {
    let model = osim::read_osim(&input.model).with_context(|| format!("[msk] model {}", input.model.display()))?;
    let hip_width_m = {
        let hip = |n: &str| model.joints.iter().find(|j| j.name == n).map(|j| j.parent.translation_m);
        match (hip("hip_r"), hip("hip_l")) {
            (Some(r), Some(l)) => (r - l).norm(),
            _ => anyhow::bail!("[msk] model {}: no hip_r/hip_l joints (use a gait2392-style model)", input.model.display()),
        }
    };
    let (scaled, scale) = match head_distance_mm {
        Some(d) => {
            let s = d / 1000.0 / hip_width_m;
            anyhow::ensure!((0.6..1.6).contains(&s), "[msk] the pelvis would scale by {s:.2}: the femoral head distance {d:.0} mm does not fit a human pelvis");
            (personalise::scale_bodies(&model, &[("pelvis", Vector3::repeat(s))])?, Some(s))
        }
        None => (model.clone(), None),
    };
    // Cup centre shift into the model's pelvis axes (x anterior, y up, z right); a left hip is
    // mirrored onto the right one (z flips).
    let p = frame.vector_to_pelvic(&change.cor_shift_lps_mm);
    let mirror = if side_is_left { -1.0 } else { 1.0 };
    let shift_m = Vector3::new(-p.y, p.z, -p.x * mirror) / 1000.0;
    let planned_change = personalise::ImplantChange { cor_shift_pelvis_m: shift_m, offset_change_m: change.offset_change_mm / 1000.0, leg_length_change_m: change.leg_length_change_mm / 1000.0 };
    let planned = personalise::apply_implant_change(&scaled, "r", &planned_change)?;
    let abd = |m: &osim::Model| -> Result<Value> {
        let a = personalise::abductor_report(m, "r")?;
        Ok(json!({"mean_moment_arm_mm": (a.mean_moment_arm_m * 1e4).round() / 10.0, "max_moment_nm": (a.max_moment_n_m * 10.0).round() / 10.0}))
    };
    let mut activities = Vec::new();
    for name in &input.activities {
        let act = activity(name)?;
        let f = |m: &osim::Model| -> Result<Value> {
            let r = hcf::hip_contact_force(m, act, input.body_weight_n, None)?;
            let v = r.force_femur_percent_bw;
            let vector = [v.x, v.y, v.z].map(|x| (x * 10.0).round() / 10.0);
            // Every muscle's force (N, 0.01 N), for OpenSim's .sto (crate::exchange).
            let forces: serde_json::Map<String, Value> = r.muscle_forces_n.iter().map(|(n, f)| (n.clone(), json!((f * 100.0).round() / 100.0))).collect();
            Ok(json!({"magnitude_percent_bw": (r.magnitude_percent_bw * 10.0).round() / 10.0, "force_femur_percent_bw": vector, "muscle_forces_n": forces}))
        };
        activities.push(json!({"activity": name, "native": f(&scaled)?, "planned": f(&planned)?}));
    }
    let shift_mm = [shift_m.x, shift_m.y, shift_m.z].map(|v| (v * 1e4).round() / 10.0);
    Ok(json!({
        "model": input.model.file_name().map(|n| n.to_string_lossy()),
        "body_weight_n": input.body_weight_n,
        "pelvis_scale": scale,
        "method": "generic model scaled at the pelvis by the femoral head distance (the femur keeps its length); plan applied as a hip-centre shift and moved femoral attachments; static optimisation (sum of squared activations); force of the acetabulum on the head in the model's femur frame, % body weight",
        "change": {"cor_shift_model_pelvis_mm": shift_mm, "offset_change_mm": change.offset_change_mm, "leg_length_change_mm": change.leg_length_change_mm},
        "abductors": {"native": abd(&scaled)?, "planned": abd(&planned)?},
        "activities": activities,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Option<PathBuf> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/opensim/gait2392_thelen2003muscle.osim");
        if p.exists() {
            Some(p)
        } else {
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{} is missing", p.display());
            eprintln!("note: skipping, {} is not here", p.display());
            None
        }
    }

    /// More offset lengthens the abductors' lever and lowers the hip load; less offset the
    /// opposite (the surgeon's question: does the plan weaken the abductors?).
    #[test]
    fn offset_moves_the_abductor_lever_and_the_hip_load() {
        let Some(m) = model() else { return };
        let input = MskInput { model: m, body_weight_n: 700.0, activities: vec!["one-leg-stance".into()] };
        let frame = PelvicFrame::aligned_with_lps(nalgebra::Point3::origin());
        let run_with = |offset: f64| run(&input, Some(180.0), &frame, &HipChange { offset_change_mm: offset, ..HipChange::default() }, false).unwrap();
        let (plus, minus) = (run_with(5.0), run_with(-5.0));
        let arm = |v: &Value, k: &str| v["abductors"][k]["mean_moment_arm_mm"].as_f64().unwrap();
        let hcf = |v: &Value, k: &str| v["activities"][0][k]["magnitude_percent_bw"].as_f64().unwrap();
        eprintln!("abductor arm native {} mm; +5 mm offset {} mm; -5 mm offset {} mm", arm(&plus, "native"), arm(&plus, "planned"), arm(&minus, "planned"));
        eprintln!("one-leg stance native {} %BW; +5 {} %BW; -5 {} %BW", hcf(&plus, "native"), hcf(&plus, "planned"), hcf(&minus, "planned"));
        assert!((30.0..90.0).contains(&arm(&plus, "native")));
        assert!(arm(&plus, "planned") > arm(&plus, "native") + 2.0 && arm(&minus, "planned") < arm(&minus, "native") - 2.0);
        assert!(hcf(&plus, "planned") < hcf(&plus, "native") && hcf(&minus, "planned") > hcf(&minus, "native"));
        assert!((150.0..600.0).contains(&hcf(&plus, "native")));
        // A head distance no pelvis has is refused.
        let e = run(&input, Some(30.0), &frame, &HipChange::default(), false).unwrap_err().to_string();
        assert!(e.contains("femoral head distance"), "{e}");
    }
}

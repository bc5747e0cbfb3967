//! Personalisation of an OpenSim model: scaling bodies to a patient's landmarks, and moving
//! the femoral attachments with a planned implant (centre-of-rotation shift, offset, leg
//! length), with the change of abductor moment arm and of maximum abductor moment it causes.
//!
//! Scaling follows OpenSim's `ScaleTool` with manual scale factors: locations fixed to a scaled
//! body (path points, moving path point functions, joint frames, joint translation functions
//! expressed in it, wrap objects, the centre of mass) are multiplied by the body's factors;
//! each muscle's optimal fibre length and tendon slack length keep their ratio to the
//! muscle-tendon length in the default pose (OpenSim's `Muscle::extendPostScale`). Masses are
//! kept. Units: SI (m); landmark lengths in mm are converted by [`coxa_core::mm_to_m`].

use coxa_core::mm_to_m;
use coxa_osim::{Function, Model, PathPointKind, Spline, WrapShape};
use nalgebra::Vector3;

use super::kinematics::{Kinematics, apply_couplers};
use super::landmarks::RightFemur;
use super::muscle::capacity;
use super::path::{moment_arms, muscle_path};
use super::{MskError, Result};

fn scale_function(f: &Function, s: f64) -> Function {
    match f {
        Function::Constant(v) => Function::Constant(v * s),
        Function::Linear { slope, intercept } => Function::Linear { slope: slope * s, intercept: intercept * s },
        Function::Polynomial(c) => Function::Polynomial(c.iter().map(|v| v * s).collect()),
        Function::SimmSpline(sp) => Function::SimmSpline(Spline::simm(sp.x.clone(), sp.y.iter().map(|v| v * s).collect())),
        Function::NaturalCubicSpline(sp) => Function::NaturalCubicSpline(Spline::natural(sp.x.clone(), sp.y.iter().map(|v| v * s).collect())),
        Function::PiecewiseLinear { x, y } => Function::PiecewiseLinear { x: x.clone(), y: y.iter().map(|v| v * s).collect() },
        Function::Multiplier { inner, scale } => Function::Multiplier { inner: inner.clone(), scale: scale * s },
    }
}

/// Muscle-tendon lengths of all muscles in the model's default pose, m.
pub fn default_lengths(model: &Model) -> Result<Vec<f64>> {
    let kin = Kinematics::new(model)?;
    let mut q = model.default_coordinates();
    apply_couplers(model, &mut q);
    let poses = kin.body_poses(model, &q);
    model.muscles.iter().map(|m| muscle_path(model, m, &poses, &q).map(|p| p.length_m)).collect()
}

/// Scales bodies by per-axis factors `(body name, [sx, sy, sz])`, as OpenSim's ScaleTool does
/// with manual factors (see the module docs).
pub fn scale_bodies(model: &Model, factors: &[(&str, Vector3<f64>)]) -> Result<Model> {
    let mut s = vec![Vector3::repeat(1.0); model.bodies.len()];
    for (name, f) in factors {
        let b = model.body_index(name).ok_or_else(|| MskError::UnknownName { kind: "body", name: name.to_string() })?;
        if f.iter().any(|v| !(v.is_finite() && *v > 0.05 && *v < 20.0)) {
            return Err(MskError::InvalidInput { what: format!("scale factors of {name}"), value: f.min(), why: "must be finite, within 0.05..20".into() });
        }
        s[b] = *f;
    }
    let before = default_lengths(model)?;
    let one = Vector3::repeat(1.0);
    let f_of = |b: usize| s.get(b).copied().unwrap_or(one);
    let mut out = model.clone();
    for (i, b) in out.bodies.iter_mut().enumerate() {
        b.mass_center_m = b.mass_center_m.component_mul(&f_of(i));
    }
    for j in &mut out.joints {
        j.parent.translation_m = j.parent.translation_m.component_mul(&f_of(j.parent.body));
        j.child.translation_m = j.child.translation_m.component_mul(&f_of(j.child.body));
        // Translations of the spatial transform are expressed in the parent frame (the parent
        // body's axes up to the frame's rotation): scale by the parent body's factors along them.
        let sp = f_of(j.parent.body);
        let rot = j.parent.rotation;
        for a in &mut j.transform.translations {
            let axis_in_body = rot * a.axis;
            let factor = axis_in_body.component_mul(&sp).norm() / axis_in_body.norm();
            if (factor - 1.0).abs() > 1e-15 {
                a.function = scale_function(&a.function, factor);
            }
        }
    }
    for w in &mut out.wrap_objects {
        let f = f_of(w.body);
        w.translation_m = w.translation_m.component_mul(&f);
        let r = w.rotation();
        let along = |v: Vector3<f64>| (r * v).component_mul(&f).norm();
        w.shape = match w.shape.clone() {
            WrapShape::Sphere { radius_m } => WrapShape::Sphere { radius_m: radius_m * (f.x + f.y + f.z) / 3.0 },
            WrapShape::Cylinder { radius_m, length_m } => WrapShape::Cylinder { radius_m: radius_m * 0.5 * (along(Vector3::x()) + along(Vector3::y())), length_m: length_m * along(Vector3::z()) },
            WrapShape::Ellipsoid { dimensions_m } => {
                WrapShape::Ellipsoid { dimensions_m: Vector3::new(dimensions_m.x * along(Vector3::x()), dimensions_m.y * along(Vector3::y()), dimensions_m.z * along(Vector3::z())) }
            }
            WrapShape::Torus { inner_radius_m, outer_radius_m } => {
                let k = (f.x + f.y + f.z) / 3.0;
                WrapShape::Torus { inner_radius_m: inner_radius_m * k, outer_radius_m: outer_radius_m * k }
            }
        };
    }
    for m in &mut out.muscles {
        for p in &mut m.path_points {
            let f = f_of(p.body);
            p.location_m = p.location_m.component_mul(&f);
            if let PathPointKind::Moving { x, y, z } = &mut p.kind {
                for (c, k) in [(x, f.x), (y, f.y), (z, f.z)] {
                    if let Some((_, func)) = c {
                        **func = scale_function(func, k);
                    }
                }
            }
        }
    }
    let after = default_lengths(&out)?;
    keep_fibre_ratios(&mut out, &before, &after);
    Ok(out)
}

/// Each muscle's optimal fibre length and tendon slack length keep their ratio to its
/// muscle-tendon length in the default pose (`before`: the lengths before the change, `after`:
/// after it; OpenSim's `Muscle::extendPostScale`).
pub(crate) fn keep_fibre_ratios(model: &mut Model, before: &[f64], after: &[f64]) {
    for ((m, b), a) in model.muscles.iter_mut().zip(before).zip(after) {
        let ratio = a / b;
        if ratio.is_finite() && ratio > 0.0 {
            m.optimal_fiber_length_m *= ratio;
            m.tendon_slack_length_m *= ratio;
        }
    }
}

/// Model scale factors from a patient's landmarks (mm): the pelvis uniformly by the distance
/// between the hip centres, each femur uniformly by its length (hip centre to the epicondyles'
/// midpoint). Returns `(body, factors)` for [`scale_bodies`].
pub fn landmark_scale_factors(model: &Model, hip_centre_distance_mm: f64, femur: &RightFemur) -> Result<Vec<(String, Vector3<f64>)>> {
    let hip = |n: &str| model.joints.iter().find(|j| j.name == n).ok_or_else(|| MskError::UnknownName { kind: "joint", name: n.into() });
    let model_width_m = (hip("hip_r")?.parent.translation_m - hip("hip_l")?.parent.translation_m).norm();
    let knee = hip("knee_r").or_else(|_| hip("walker_knee_r"))?;
    let kin = Kinematics::new(model)?;
    let mut q = model.default_coordinates();
    apply_couplers(model, &mut q);
    let poses = kin.body_poses(model, &q);
    let femur_b = model.body_index("femur_r").ok_or_else(|| MskError::UnknownName { kind: "body", name: "femur_r".into() })?;
    let knee_centre = poses[femur_b].inverse() * poses[knee.child.body] * nalgebra::Point3::from(knee.child.translation_m);
    let model_femur_m = (knee_centre.coords - hip("hip_r")?.child.translation_m).norm();
    let (_, femur_mm) = femur.anatomical_axes()?;
    let sp = mm_to_m(hip_centre_distance_mm) / model_width_m;
    let sf = mm_to_m(femur_mm) / model_femur_m;
    for (what, v) in [("pelvis scale", sp), ("femur scale", sf)] {
        if !(0.5..2.0).contains(&v) {
            return Err(MskError::Landmarks { why: format!("{what} {v:.2} is implausible; check that the landmark files are in mm and belong together") });
        }
    }
    Ok(vec![("pelvis".into(), Vector3::repeat(sp)), ("femur_r".into(), Vector3::repeat(sf)), ("femur_l".into(), Vector3::repeat(sf))])
}

/// A planned change of the hip's geometry, in the model's femur and pelvis frames, m.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ImplantChange {
    /// Shift of the centre of rotation (cup centre) in the pelvis frame (x anterior, y up,
    /// z right), m.
    pub cor_shift_pelvis_m: Vector3<f64>,
    /// Change of femoral offset: the femur moves laterally (+) away from the head centre, m.
    pub offset_change_m: f64,
    /// Change of leg length: the femur moves distally (+) from the head centre, m.
    pub leg_length_change_m: f64,
}

/// Moves the right hip's joint centre: on the pelvis by the centre-of-rotation shift, and on the
/// femur so that the femoral attachments move laterally by the offset change and distally by
/// the leg length change relative to the head centre.
pub fn apply_implant_change(model: &Model, side: &str, change: &ImplantChange) -> Result<Model> {
    let name = format!("hip_{side}");
    let mut out = model.clone();
    let j = out.joints.iter_mut().find(|j| j.name == name).ok_or_else(|| MskError::UnknownName { kind: "joint", name: name.clone() })?;
    let lateral = if side == "l" { -1.0 } else { 1.0 };
    j.parent.translation_m += change.cor_shift_pelvis_m;
    // Attachments move laterally/distally relative to the head centre = the head centre moves
    // medially/proximally in the femur frame.
    j.child.translation_m += Vector3::new(0.0, change.leg_length_change_m, -lateral * change.offset_change_m);
    Ok(out)
}

/// Abductor lever arms and strength of one hip in the model's default pose.
#[derive(Debug, Clone, PartialEq)]
pub struct AbductorReport {
    /// Per abductor: name, abduction moment arm (m, positive abducts) and maximum isometric
    /// abduction moment (N m) at full activation.
    pub muscles: Vec<(String, f64, f64)>,
    /// Force-weighted mean abduction moment arm, m.
    pub mean_moment_arm_m: f64,
    /// Maximum abduction moment of all abductors together, N m.
    pub max_moment_n_m: f64,
}

/// The abductors (gluteus medius and minimus, tensor fasciae latae) of hip `side` (`"r"`/`"l"`):
/// moment arms about hip adduction (sign flipped: abduction positive) and maximum moments.
pub fn abductor_report(model: &Model, side: &str) -> Result<AbductorReport> {
    let kin = Kinematics::new(model)?;
    let coord = format!("hip_adduction_{side}");
    let ci = model.coordinate_index(&coord).ok_or(MskError::UnknownName { kind: "coordinate", name: coord.clone() })?;
    let mut q = model.default_coordinates();
    apply_couplers(model, &mut q);
    let mut muscles = Vec::new();
    let (mut sum_f, mut sum_fr, mut sum_m) = (0.0, 0.0, 0.0);
    for m in &model.muscles {
        let n = m.name.to_ascii_lowercase();
        let is_abductor = (n.starts_with("glut_med") || n.starts_with("glut_min") || n.starts_with("glmed") || n.starts_with("glmin") || n.starts_with("tfl")) && n.ends_with(&format!("_{side}"));
        if !is_abductor {
            continue;
        }
        let (path, ma) = moment_arms(model, &kin, m, &q, &[ci])?;
        let r_abd = -ma[0];
        let cap = capacity(m, path.length_m, 0.0);
        let f = cap.active_n + cap.passive_n;
        let moment = f * r_abd.max(0.0);
        sum_f += m.max_isometric_force_n;
        sum_fr += m.max_isometric_force_n * r_abd;
        sum_m += moment;
        muscles.push((m.name.clone(), r_abd, moment));
    }
    if muscles.is_empty() {
        return Err(MskError::Model { what: format!("no abductors (glut_med*, glut_min*, tfl*) on side {side}") });
    }
    Ok(AbductorReport { muscles, mean_moment_arm_m: sum_fr / sum_f, max_moment_n_m: sum_m })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_a_function_scales_its_values() {
        let f = Function::SimmSpline(Spline::simm(vec![0.0, 1.0, 2.0, 3.0], vec![1.0, 2.0, 0.0, 1.0]));
        let g = scale_function(&f, 2.0);
        for x in [0.3, 1.7, 2.9] {
            approx::assert_relative_eq!(g.value(x), 2.0 * f.value(x), epsilon = 1e-12);
        }
    }
}

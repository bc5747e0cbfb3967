//! Muscle-tendon paths: active path points, wrapping, length and moment arms (SI units).

use coxa_osim::{Model, Muscle, WrapShape};
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};

use super::kinematics::{Kinematics, apply_couplers};
use super::wrap::{WrapAction, wrap_cylinder, wrap_sphere};
use super::wrap_ellipsoid::wrap_ellipsoid;
use super::wrap_torus::wrap_torus;
use super::{MskError, Result};

/// One point of a muscle's current path: a path point or a wrap tangent point.
#[derive(Debug, Clone, Copy)]
pub struct PathNode {
    /// Position in the ground, m.
    pub ground_m: Vector3<f64>,
    /// The body the point moves with (for a wrap point: the wrap object's body).
    pub body: usize,
    /// For a tangent point: which of the muscle's path wraps made it.
    pub wrap: Option<usize>,
    /// For the second tangent point of a wrap: the length over the surface before it, m.
    pub wrap_length_m: f64,
    /// For a path point: its index in the muscle's path points.
    pub point: Option<usize>,
}

/// A muscle's path at one pose.
#[derive(Debug, Clone)]
pub struct PathGeometry {
    /// The path's points in order, with the wrap tangent points.
    pub nodes: Vec<PathNode>,
    /// Muscle-tendon length, m.
    pub length_m: f64,
}

/// Checks that coxa can wrap this muscle's path (all four OpenSim shapes: cylinders, spheres,
/// ellipsoids and tori). Kept for the error of a shape added later.
pub fn check_wraps(model: &Model, muscle: &Muscle) -> Result<()> {
    for pw in &muscle.path_wraps {
        let wo = &model.wrap_objects[pw.wrap_object];
        if wo.active && !matches!(wo.shape, WrapShape::Cylinder { .. } | WrapShape::Sphere { .. } | WrapShape::Ellipsoid { .. } | WrapShape::Torus { .. }) {
            return Err(MskError::UnsupportedWrap { muscle: muscle.name.clone(), wrap_object: wo.name.clone() });
        }
    }
    Ok(())
}

fn path_length(nodes: &[PathNode]) -> f64 {
    let mut l = 0.0;
    for w in nodes.windows(2) {
        if w[0].wrap.is_some() && w[0].wrap == w[1].wrap {
            l += w[1].wrap_length_m;
        } else {
            l += (w[1].ground_m - w[0].ground_m).norm();
        }
    }
    l
}

/// The muscle's path for body poses `poses` (from [`Kinematics::body_poses`]) and coordinate
/// values `q`, wrapping as OpenSim's `GeometryPath::applyWrapObjects` does.
pub fn muscle_path(model: &Model, muscle: &Muscle, poses: &[Isometry3<f64>], q: &[f64]) -> Result<PathGeometry> {
    check_wraps(model, muscle)?;
    if q.len() != model.coordinates.len() {
        return Err(MskError::InvalidInput { what: "number of coordinate values".into(), value: q.len() as f64, why: format!("the model has {} coordinates", model.coordinates.len()) });
    }
    if muscle.path_points.len() < 2 || muscle.path_points.iter().any(|p| p.body >= poses.len()) {
        return Err(MskError::Model { what: format!("muscle {} needs at least two path points on bodies of the model", muscle.name) });
    }
    if muscle.path_wraps.iter().any(|w| w.wrap_object >= model.wrap_objects.len() || model.wrap_objects[w.wrap_object].body >= poses.len()) {
        return Err(MskError::Model { what: format!("muscle {} wraps over a wrap object that is not in the model", muscle.name) });
    }
    let mut nodes: Vec<PathNode> = muscle
        .path_points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_active(q))
        .map(|(i, p)| PathNode { ground_m: poses[p.body].transform_point(&Point3::from(p.location(q))).coords, body: p.body, wrap: None, wrap_length_m: 0.0, point: Some(i) })
        .collect();
    let n_wraps = muscle.path_wraps.len();
    if n_wraps == 0 {
        let length_m = path_length(&nodes);
        return Ok(PathGeometry { nodes, length_m });
    }
    let mut order: Vec<usize> = (0..n_wraps).collect();
    let mut results = vec![WrapAction::NoWrap; n_wraps];
    let max_iterations = if n_wraps < 2 { 1 } else { 8 };
    let mut last_length = f64::INFINITY;
    'outer: for kk in 0..max_iterations {
        for i in 0..n_wraps {
            results[i] = WrapAction::NoWrap;
            let wi = order[i];
            let pw = &muscle.path_wraps[wi];
            if let Some(j) = nodes.iter().position(|n| n.wrap == Some(wi)) {
                let _ = nodes.remove(j);
                let _ = nodes.remove(j);
            }
            let wo = &model.wrap_objects[pw.wrap_object];
            if !wo.active {
                continue;
            }
            let shape = wo.shape.clone();
            let n_points = muscle.path_points.len();
            let (first, last) = match pw.range {
                Some([a, b]) => (a.saturating_sub(1).min(n_points - 1), b.saturating_sub(1).min(n_points - 1)),
                None => (0, n_points - 1),
            };
            let Some(jfwd) = (first..=last).find(|&j| muscle.path_points[j].is_active(q)) else { break 'outer };
            let Some(jrev) = (first..=last).rev().find(|&j| muscle.path_points[j].is_active(q)) else { break 'outer };
            let (Some(start), Some(end)) = (nodes.iter().position(|n| n.point == Some(jfwd)), nodes.iter().position(|n| n.point == Some(jrev))) else { break 'outer };
            let x_wrap = poses[wo.body] * Isometry3::from_parts(Translation3::from(wo.translation_m), UnitQuaternion::from_rotation_matrix(&wo.rotation()));
            let inv = x_wrap.inverse();
            let mut best: Option<(usize, Vector3<f64>, Vector3<f64>, f64)> = None;
            let mut min_change = f64::INFINITY;
            for pt1 in start..end {
                let pt2 = pt1 + 1;
                let (a, b) = (&nodes[pt1], &nodes[pt2]);
                if a.wrap.is_some() && b.wrap.is_some() && a.wrap == b.wrap {
                    continue;
                }
                let p1 = inv.transform_point(&Point3::from(a.ground_m)).coords;
                let p2 = inv.transform_point(&Point3::from(b.ground_m)).coords;
                let (action, res) = match shape {
                    WrapShape::Cylinder { radius_m, length_m } => wrap_cylinder(&p1, &p2, radius_m, length_m, wo.quadrant, n_wraps == 1),
                    WrapShape::Sphere { radius_m } => wrap_sphere(&p1, &p2, radius_m, wo.quadrant),
                    WrapShape::Ellipsoid { dimensions_m } => wrap_ellipsoid(&p1, &p2, &dimensions_m, wo.quadrant, pw.method),
                    WrapShape::Torus { inner_radius_m, outer_radius_m } => wrap_torus(&p1, &p2, inner_radius_m, outer_radius_m, wo.quadrant, n_wraps == 1),
                };
                results[i] = action;
                let Some(res) = res else { continue };
                match action {
                    WrapAction::Mandatory => {
                        best = Some((pt2, res.r1, res.r2, res.wrap_length_m));
                        break;
                    }
                    WrapAction::Wrapped => {
                        let change = (res.r1 - p1).norm() + res.wrap_length_m + (p2 - res.r2).norm() - (p2 - p1).norm();
                        if change < min_change {
                            min_change = change;
                            best = Some((pt2, res.r1, res.r2, res.wrap_length_m));
                        }
                    }
                    _ => {}
                }
            }
            if let Some((at, r1, r2, wl)) = best {
                let g = |r: Vector3<f64>| x_wrap.transform_point(&Point3::from(r)).coords;
                nodes.insert(at, PathNode { ground_m: g(r1), body: wo.body, wrap: Some(wi), wrap_length_m: 0.0, point: None });
                nodes.insert(at + 1, PathNode { ground_m: g(r2), body: wo.body, wrap: Some(wi), wrap_length_m: wl, point: None });
            }
        }
        let length = path_length(&nodes);
        if (length - last_length).abs() < 0.0005 {
            break;
        }
        last_length = length;
        if kk == 0 && n_wraps > 1 && results[0] == WrapAction::NoWrap && results[1] == WrapAction::InsideRadius {
            order.swap(0, 1);
            if let Some(j) = nodes.iter().position(|n| n.wrap == Some(0)) {
                let _ = nodes.remove(j);
                let _ = nodes.remove(j);
            }
        }
    }
    let length_m = path_length(&nodes);
    Ok(PathGeometry { nodes, length_m })
}

/// Moment arms of a muscle about coordinates, as OpenSim's `MomentArmSolver` defines them: the
/// generalised force of a unit tension along the path, i.e. `-dL/dq` with every path node
/// (path points and wrap tangent points) held fixed on its body. Coupled coordinates follow
/// their independent coordinate. `q` must already satisfy the couplers.
pub fn moment_arms(model: &Model, kin: &Kinematics, muscle: &Muscle, q: &[f64], coords: &[usize]) -> Result<(PathGeometry, Vec<f64>)> {
    if let Some(&c) = coords.iter().find(|&&c| c >= q.len()) {
        return Err(MskError::InvalidInput { what: "coordinate index".into(), value: c as f64, why: format!("the model has {} coordinates", q.len()) });
    }
    let poses = kin.body_poses(model, q);
    let path = muscle_path(model, muscle, &poses, q)?;
    let local: Vec<Vector3<f64>> = path.nodes.iter().map(|n| poses[n.body].inverse_transform_point(&Point3::from(n.ground_m)).coords).collect();
    let frozen_length = |qq: &[f64]| -> f64 {
        let ps = kin.body_poses(model, qq);
        let mut l = 0.0;
        for k in 1..path.nodes.len() {
            let (a, b) = (&path.nodes[k - 1], &path.nodes[k]);
            if a.wrap.is_some() && a.wrap == b.wrap {
                l += b.wrap_length_m;
            } else {
                let pa = ps[a.body].transform_point(&Point3::from(local[k - 1]));
                let pb = ps[b.body].transform_point(&Point3::from(local[k]));
                l += (pb - pa).norm();
            }
        }
        l
    };
    const H: f64 = 1e-6;
    let mut out = Vec::with_capacity(coords.len());
    let mut qq = q.to_vec();
    for &c in coords {
        qq.copy_from_slice(q);
        qq[c] = q[c] + H;
        apply_couplers(model, &mut qq);
        let lp = frozen_length(&qq);
        qq.copy_from_slice(q);
        qq[c] = q[c] - H;
        apply_couplers(model, &mut qq);
        let lm = frozen_length(&qq);
        out.push(-(lp - lm) / (2.0 * H));
    }
    Ok((path, out))
}

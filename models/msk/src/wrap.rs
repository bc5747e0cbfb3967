//! Wrapping of one straight path segment over a wrap object, as OpenSim 4.6 computes it
//! (`WrapObject::wrapPathSegment` and the shapes' `wrapLine`). All points here are in the wrap
//! object's own frame, metres.

use nalgebra::{Matrix3, Rotation3, Vector3};

/// What `wrapLine` decided (OpenSim's `WrapAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapAction {
    /// A point is inside the object: no wrap.
    InsideRadius,
    /// The segment misses the object: no wrap.
    NoWrap,
    /// The segment wraps (a candidate; the shortest change wins).
    Wrapped,
    /// The segment passes through the object: it must wrap.
    Mandatory,
}

/// A wrap of one segment: tangent points and the length over the surface.
#[derive(Debug, Clone, Copy)]
pub struct WrapResult {
    /// First tangent point (object frame), m.
    pub r1: Vector3<f64>,
    /// Second tangent point (object frame), m.
    pub r2: Vector3<f64>,
    /// Length of the path on the surface between r1 and r2, m.
    pub wrap_length_m: f64,
}

/// `DSIGN` of SIMM: +1 for >= 0, else -1.
fn dsign(v: f64) -> i32 {
    if v >= 0.0 { 1 } else { -1 }
}

fn normalize_or_zero(v: Vector3<f64>) -> (Vector3<f64>, f64) {
    let n = v.norm();
    if n > 1e-300 { (v / n, n) } else { (Vector3::zeros(), 0.0) }
}

/// `WrapMath::GetClosestPointOnLineToPoint`: closest point on the line through `line_pt` along
/// `line`, and its parameter.
fn closest_on_line(pt: &Vector3<f64>, line_pt: &Vector3<f64>, line: &Vector3<f64>) -> (Vector3<f64>, f64) {
    let (v1, mag) = normalize_or_zero(pt - line_pt);
    let (v2, mag2) = normalize_or_zero(*line);
    let t = v1.dot(&v2) * mag;
    let p = line_pt + t * v2;
    (p, if mag2 > 0.0 { t / mag2 } else { 0.0 })
}

fn det_rows(a: &Vector3<f64>, b: &Vector3<f64>, c: &Vector3<f64>) -> f64 {
    Matrix3::from_rows(&[a.transpose(), b.transpose(), c.transpose()]).determinant()
}

/// `WrapMath::IntersectLines`: closest points of lines p1-p2 and p3-p4 with their parameters
/// (0 at p1/p3, 1 at p2/p4); `None` if parallel.
fn intersect_lines(p1: &Vector3<f64>, p2: &Vector3<f64>, p3: &Vector3<f64>, p4: &Vector3<f64>) -> Option<(Vector3<f64>, f64, Vector3<f64>, f64)> {
    let (vec1, mag1) = normalize_or_zero(p2 - p1);
    let (vec2, mag2) = normalize_or_zero(p4 - p3);
    let cross = vec1.cross(&vec2);
    let denom = cross.norm_squared();
    if denom.abs() <= 2e-13 || mag1 == 0.0 || mag2 == 0.0 {
        return None;
    }
    let row0 = p3 - p1;
    let t = det_rows(&row0, &vec1, &cross) / denom;
    let p_int2 = p3 + t * vec2;
    let s = det_rows(&row0, &vec2, &cross) / denom;
    let p_int1 = p1 + s * vec1;
    Some((p_int1, s / mag1, p_int2, t / mag2))
}

/// `WrapMath::IntersectLineSegPlane`.
fn intersect_segment_plane(pt1: &Vector3<f64>, pt2: &Vector3<f64>, normal: &Vector3<f64>, d: f64) -> Option<Vector3<f64>> {
    const LINE_EPSILON: f64 = 0.00001;
    let v = pt2 - pt1;
    let dot = v.dot(normal);
    if dot.abs() < LINE_EPSILON {
        return None;
    }
    let t = (-d - normal.dot(pt1)) / dot;
    if !(-LINE_EPSILON..=1.0 + LINE_EPSILON).contains(&t) {
        return None;
    }
    Some(pt1 + t * v)
}

/// `WrapCylinder::wrapLine` for a cylinder of `radius` and `length` along z, centred at the
/// origin; `quadrant` is OpenSim's (axis, sign) constraint. `single_wrap` is true when the path
/// has only this one wrap object (OpenSim then skips the tangency refinement).
pub fn wrap_cylinder(p1: &Vector3<f64>, p2: &Vector3<f64>, radius: f64, length: f64, quadrant: Option<(usize, f64)>, single_wrap: bool) -> (WrapAction, Option<WrapResult>) {
    let p0 = Vector3::new(0.0, 0.0, -1.0);
    let dn = Vector3::new(0.0, 0.0, 1.0);
    let r_sq = radius * radius;
    let dist_sq_to_axis = |p: &Vector3<f64>| (p - closest_on_line(p, &p0, &dn).0).norm_squared();
    if dist_sq_to_axis(p1) < r_sq || dist_sq_to_axis(p2) < r_sq {
        return (WrapAction::InsideRadius, None);
    }
    let (wrap_axis, wrap_sign) = match quadrant {
        Some((a, s)) => (a, if s > 0.0 { 1 } else { -1 }),
        None => (0, 0),
    };
    let constrained = wrap_sign != 0;
    let cyl_start = Vector3::new(0.0, 0.0, -0.5 * length);
    let cyl_end = Vector3::new(0.0, 0.0, 0.5 * length);
    let (near12, t12, near00) = match intersect_lines(p1, p2, &cyl_start, &cyl_end) {
        Some((a, s, b, _)) => (a, s, b),
        None => (Vector3::repeat(f64::NAN), f64::NAN, Vector3::repeat(f64::NAN)),
    };
    let hits = (near12 - near00).norm_squared() < r_sq && t12 > 0.0 && t12 < 1.0;
    let mut action = WrapAction::Wrapped;
    if !constrained {
        if hits {
            action = WrapAction::Mandatory;
        } else {
            return (WrapAction::NoWrap, None);
        }
    }
    let (p11, _) = closest_on_line(p1, &p0, &dn);
    let (p22, _) = closest_on_line(p2, &p0, &dn);
    let candidates = |p: &Vector3<f64>, pa: &Vector3<f64>| -> (Vector3<f64>, Vector3<f64>, f64) {
        let (vv, pd) = normalize_or_zero(p - pa);
        let sin_theta = radius / pd;
        let dist = radius * sin_theta;
        let pp = pa + dist * vv;
        let dist = (r_sq - dist * dist).max(0.0).sqrt();
        let uu = dn.cross(&vv);
        (pp + dist * uu, pp - dist * uu, pd)
    };
    let (r1a, r1b, p11_dist) = candidates(p1, &p11);
    let (r2a, r2b, p22_dist) = candidates(p2, &p22);
    let (mut r1, mut r2);
    let mut far_side_wrap = false;
    let mut long_wrap = false;
    if constrained {
        let on = |v: &Vector3<f64>| dsign(v[wrap_axis]) == wrap_sign;
        if on(p1) || on(p2) {
            if hits {
                action = WrapAction::Mandatory;
            } else if dsign(p1[wrap_axis]) != dsign(p2[wrap_axis]) && dsign(near12[wrap_axis]) != wrap_sign {
                action = WrapAction::Wrapped;
            } else {
                return (WrapAction::NoWrap, None);
            }
        }
        let (r1am, r1bm, r2am, r2bm) = (r1a - p11, r1b - p11, r2a - p22, r2b - p22);
        let ang = |a: &Vector3<f64>, b: &Vector3<f64>| (a.dot(b) / (a.norm() * b.norm())).clamp(-1.0, 1.0).acos();
        let alpha = ang(&r1am, &r2bm);
        let beta = ang(&r1bm, &r2am);
        let choose_b_a = |far: bool| (r1b, r2a, far);
        let choose_a_b = |far: bool| (r1a, r2b, far);
        let (x1, x2, far) = if on(&r1a) && on(&r1b) {
            if on(&r2a) { choose_b_a(alpha <= beta) } else { choose_a_b(alpha > beta) }
        } else if on(&r1a) && !on(&r1b) {
            choose_a_b(alpha > beta)
        } else if (!on(&r1a) && on(&r1b)) || on(&r2a) {
            // r1b on the active side, or neither r1 candidate but r2a is.
            choose_b_a(alpha <= beta)
        } else if on(&r2b) {
            choose_a_b(alpha > beta)
        } else if alpha > beta {
            choose_a_b(true)
        } else {
            choose_b_a(true)
        };
        r1 = x1;
        r2 = x2;
        far_side_wrap = far;
        let sum_musc = (r1 - p1) + (r2 - p2);
        let sum_r = (r1 - p11) + (r2 - p22);
        if sum_r.dot(&sum_musc) < 0.0 {
            long_wrap = true;
        }
    } else {
        let n = |v: Vector3<f64>| normalize_or_zero(v).0;
        let (r1am, r1bm, r2am, r2bm) = (n(r1a - p11), n(r1b - p11), n(r2a - p22), n(r2b - p22));
        let dot1 = r1am.dot(&r2am);
        let dot2 = r1am.dot(&r2bm);
        let dot3 = r1bm.dot(&r2am);
        let dot4 = r1bm.dot(&r2bm);
        (r1, r2) = if dot1 > dot2 && dot1 > dot3 && dot1 > dot4 {
            (r1a, r2a)
        } else if dot2 > dot3 && dot2 > dot4 {
            (r1a, r2b)
        } else if dot3 > dot4 {
            (r1b, r2a)
        } else {
            (r1b, r2b)
        };
    }

    // The apex edge of the cylinder, then slide r1/r2 along their tangency lines to the plane
    // through p1, p2 and the apex.
    let t = p11_dist / (p11_dist + p22_dist);
    let mpt = p1 + t * (p2 - p1);
    let (axispt, _) = closest_on_line(&mpt, &p0, &dn);
    let l1 = normalize_or_zero(p1 - axispt).0;
    let l2 = normalize_or_zero(p2 - axispt).0;
    let plane_normal = normalize_or_zero(l1.cross(&l2)).0;
    let vert1 = normalize_or_zero(dn.cross(&plane_normal)).0;
    let vert2 = normalize_or_zero(plane_normal.cross(&dn)).0;
    let apex1 = axispt + radius * vert1;
    let apex2 = axispt + radius * vert2;
    let d1 = (mpt - apex1).norm_squared();
    let d2 = (mpt - apex2).norm_squared();
    let apex = if far_side_wrap {
        if d1 < d2 { apex2 } else { apex1 }
    } else if d1 < d2 {
        apex1
    } else {
        apex2
    };
    let uu = normalize_or_zero(p1 - apex).0;
    let vv = normalize_or_zero(p2 - apex).0;
    let plane_normal = normalize_or_zero(uu.cross(&vv)).0;
    let d = -p1.dot(&plane_normal);
    if let Some(r1p) = intersect_segment_plane(&(r1 - 10.0 * dn), &(r1 + 10.0 * dn), &plane_normal, d) {
        let (q, _) = closest_on_line(&r1p, &p11, &(p22 - p11));
        if (q - p22).norm_squared() < (p11 - p22).norm_squared() {
            r1 = r1p;
        }
    }
    if let Some(r2p) = intersect_segment_plane(&(r2 - 10.0 * dn), &(r2 + 10.0 * dn), &plane_normal, d) {
        let (q, _) = closest_on_line(&r2p, &p11, &(p22 - p11));
        if (q - p11).norm_squared() < (p22 - p11).norm_squared() {
            r2 = r2p;
        }
    }
    let half = length / 2.0;
    if (r1.z < -half || r1.z > half) && (r2.z < -half || r2.z > half) {
        return (WrapAction::NoWrap, None);
    }
    let wrap_length_m = spiral_length(p1, p2, &mut r1, &mut r2, radius, long_wrap, single_wrap);
    (action, Some(WrapResult { r1, r2, wrap_length_m }))
}

/// `WrapCylinder::_make_spiral_path`: the helix length from r1 to r2 (and, for paths with more
/// than one wrap object, the tangency refinement that slides r1 and r2 along the axis).
///
/// As OpenSim 4.6 has it, the angle from r1 to r2 is signed about the axis (`atan2`), and a
/// far-side wrap takes `2 pi` minus it: where the short way runs clockwise, a far-side wrap goes
/// round more than a full turn.
fn spiral_length(p1: &Vector3<f64>, p2: &Vector3<f64>, r1: &mut Vector3<f64>, r2: &mut Vector3<f64>, radius: f64, far_side: bool, single_wrap: bool) -> f64 {
    const MAX_ITERATIONS: usize = 100;
    let tangency = 0.1f64.to_radians();
    let p0 = Vector3::new(0.0, 0.0, -1.0);
    let dn = Vector3::new(0.0, 0.0, 1.0);
    let sense = if far_side { -1.0 } else { 1.0 };
    let mut iterations = 0;
    loop {
        let (r1a, _) = closest_on_line(r1, &p0, &dn);
        let (r2a, _) = closest_on_line(r2, &p0, &dn);
        let axial_dist = (r2a - r1a).dot(&dn);
        let uu = *r1 - r1a;
        let vv = *r2 - r2a;
        let mut theta = uu.cross(&vv).dot(&dn).atan2(uu.dot(&vv));
        if far_side {
            theta = 2.0 * std::f64::consts::PI - theta;
        }
        let x = radius * theta;
        let length = (x * x + axial_dist * axial_dist).sqrt();
        if single_wrap || iterations >= MAX_ITERATIONS {
            return length;
        }
        let n_seg = ((length / 0.002) as usize).max(1);
        if n_seg < 2 {
            return length;
        }
        // The spiral point one segment in from each end: r1 turned about the axis and moved
        // along it. As in OpenSim, the second is taken from r1 as already adjusted.
        let spiral = |r1: &Vector3<f64>, t: f64| -> Vector3<f64> { Rotation3::from_axis_angle(&Vector3::z_axis(), sense * t * theta) * r1 + dn * (t * axial_dist) };
        let t = 1.0 / n_seg as f64;
        let w1 = spiral(r1, t);
        let a1 = adjust_tangent_point(p1, &dn, r1, &w1, tangency);
        let w2 = spiral(r1, 1.0 - t);
        let a2 = adjust_tangent_point(p2, &dn, r2, &w2, tangency);
        if !(a1 || a2) {
            return length;
        }
        iterations += 1;
    }
}

/// `WrapCylinder::_adjust_tangent_point`.
fn adjust_tangent_point(pt1: &Vector3<f64>, dn: &Vector3<f64>, r1: &mut Vector3<f64>, w1: &Vector3<f64>, threshold: f64) -> bool {
    let pr = normalize_or_zero(*r1 - pt1).0;
    let rw = normalize_or_zero(w1 - *r1).0;
    let alpha = pr.dot(dn).clamp(-1.0, 1.0).acos();
    let omega = rw.dot(dn).clamp(-1.0, 1.0).acos();
    if (alpha - omega).abs() <= threshold {
        return false;
    }
    let (p1a, _) = closest_on_line(pt1, r1, dn);
    let (w1a, _) = closest_on_line(w1, r1, dn);
    if let Some((_, _, p1aw1a_int, _)) = intersect_lines(pt1, w1, &p1a, &w1a) {
        *r1 += 1.5 * (p1aw1a_int - *r1);
        true
    } else {
        false
    }
}

/// `WrapSphere::wrapLine` for a sphere of `radius` at the origin, as OpenSim 4.6 computes it:
/// the straight segment must pass through the sphere; the path runs over the great circle of
/// the tangent points. Kept as OpenSim has it: a far-side wrap (only with a quadrant) gets the
/// negative surface length `-r (2 pi - angle)`, and a segment through the centre, for which
/// OpenSim reuses the previous pose's tangent points, is reported here as no wrap.
pub fn wrap_sphere(p1: &Vector3<f64>, p2: &Vector3<f64>, radius: f64, quadrant: Option<(usize, f64)>) -> (WrapAction, Option<WrapResult>) {
    let (p1m, p2m) = (*p1, *p2);
    if p1m.norm() < radius || p2m.norm() < radius {
        return (WrapAction::InsideRadius, None);
    }
    let ri = p1 - p2;
    let mp = -p2;
    let a = ri.dot(&ri);
    let b = -2.0 * mp.dot(&ri);
    let c = mp.dot(&mp) - radius * radius;
    let disc = b * b - 4.0 * a * c;
    if disc < 0.0 {
        return (WrapAction::NoWrap, None);
    }
    let l1 = (-b + disc.sqrt()) / (2.0 * a);
    let l2 = (-b - disc.sqrt()) / (2.0 * a);
    let between = |l: f64| l > 0.0 && l < 1.0;
    if !between(l1) || !between(l2) || l1 < l2 {
        return (WrapAction::NoWrap, None);
    }
    let p1p2 = normalize_or_zero(p1 - p2).0;
    let np2 = normalize_or_zero(p2m).0;
    let hp2 = p1p2.cross(&np2);
    if hp2.norm() < 0.00001 {
        return (WrapAction::NoWrap, None);
    }
    let n = normalize_or_zero(hp2).0;
    let tangents = |p: &Vector3<f64>| -> (Vector3<f64>, Vector3<f64>) {
        let y = normalize_or_zero(-p).0;
        let z = n.cross(&y);
        let d = p.norm();
        let ang = (radius / d).asin();
        let reach = d * ang.cos();
        // Columns (n, y, z) times the transpose of a rotation about x by +-ang, column 1.
        let (s, c) = ang.sin_cos();
        (p + (c * y - s * z) * reach, p + (c * y + s * z) * reach)
    };
    let (r1a, r1b) = tangents(p1);
    let (r2a, r2b) = tangents(p2);
    let nz = |v: Vector3<f64>| normalize_or_zero(v).0;
    let (r1am, r1bm, r2am, r2bm) = (nz(r1a), nz(r1b), nz(r2a), nz(r2b));
    let j1 = r1am.dot(&r2am);
    let j2 = r1am.dot(&r2bm);
    let j3 = r1bm.dot(&r2am);
    let j4 = r1bm.dot(&r2bm);
    let (mut r1, mut r2) = if j1 > j2 && j1 > j3 && j1 > j4 {
        (r1a, r2a)
    } else if j2 > j3 && j2 > j4 {
        (r1a, r2b)
    } else if j3 > j4 {
        (r1b, r2a)
    } else {
        (r1b, r2b)
    };
    let mut action = WrapAction::Wrapped;
    let mut far_side_wrap = false;
    if let Some((axis, sign)) = quadrant {
        let sign = if sign > 0.0 { 1 } else { -1 };
        let on = |v: &Vector3<f64>| dsign(v[axis]) == sign;
        if on(p1) || on(p2) {
            let (mm, tt) = closest_on_line(&Vector3::zeros(), p1, &p1p2);
            let tt = -tt;
            if mm.norm_squared() < radius * radius && tt > 0.0 && tt < 1.0 {
                action = WrapAction::Mandatory;
            } else if dsign(p1[axis]) != dsign(p2[axis]) && dsign(mm[axis]) != sign {
                action = WrapAction::Wrapped;
            } else {
                return (WrapAction::NoWrap, None);
            }
        }
        if !on(p1) || !on(p2) {
            let mut wrapaxis = Vector3::zeros();
            wrapaxis[axis] = f64::from(sign);
            let sum_musc = nz(-p1 - p2);
            let (r11, r22);
            if r1am.dot(&sum_musc) > r1bm.dot(&sum_musc) {
                (r1, r11) = (r1a, r1b);
            } else {
                (r1, r11) = (r1b, r1a);
            }
            if r2am.dot(&sum_musc) > r2bm.dot(&sum_musc) {
                (r2, r22) = (r2a, r2b);
            } else {
                (r2, r22) = (r2b, r2a);
            }
            let sum_musc = nz((r1 - p1) + (r2 - p2));
            if sum_musc.dot(&wrapaxis) < 0.0 {
                r1 = r11;
                r2 = r22;
            }
            let sum_musc = (r1 - p1) + (r2 - p2);
            let sum_r = r1 + r2;
            if sum_r.dot(&sum_musc) < 0.0 {
                far_side_wrap = true;
            }
        }
    }
    let mut angle = (nz(r1).dot(&nz(r2))).clamp(-1.0, 1.0).acos();
    if far_side_wrap {
        angle = -(2.0 * std::f64::consts::PI - angle);
    }
    (action, Some(WrapResult { r1, r2, wrap_length_m: radius * angle }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn cylinder_wrap_of_a_symmetric_segment_has_the_analytic_length() {
        // Points at (+-d, 0.05, 0) over a cylinder of radius r along z: the path is tangent lines
        // plus the arc between the tangent points.
        let (r, d) = (0.02, 0.1);
        let p1 = Vector3::new(-d, 0.01, 0.0);
        let p2 = Vector3::new(d, 0.01, 0.0);
        let (action, res) = wrap_cylinder(&p1, &p2, r, 0.2, None, true);
        assert_eq!(action, WrapAction::Mandatory);
        let res = res.unwrap();
        let total = (res.r1 - p1).norm() + res.wrap_length_m + (p2 - res.r2).norm();
        // Analytic: the cylinder's circle, two external points p1, p2 (in the plane z = 0).
        let tangent = |p: Vector3<f64>| {
            let dist = p.norm();
            ((dist * dist - r * r).sqrt(), (r / dist).acos())
        };
        let (t1, g1) = tangent(p1);
        let (t2, g2) = tangent(p2);
        let between = (p1.dot(&p2) / (p1.norm() * p2.norm())).acos();
        // The line passes at y = 0.01 > 0, so the short way is over the +y side: the arc
        // between the tangent points spans the angle between p1 and p2 less both tangent angles.
        let arc = r * (between - g1 - g2);
        let want = t1 + t2 + arc;
        assert_relative_eq!(total, want, epsilon = 1e-9);
        assert_relative_eq!(res.r1.x.hypot(res.r1.y), r, epsilon = 1e-12);
    }

    #[test]
    fn sphere_wrap_has_the_analytic_length() {
        // A segment through a sphere, in the plane z = 0: tangent lengths plus the arc.
        let r = 0.03;
        let p1 = Vector3::new(-0.1, 0.01, 0.0);
        let p2 = Vector3::new(0.1, 0.01, 0.0);
        let (action, res) = wrap_sphere(&p1, &p2, r, None);
        assert_eq!(action, WrapAction::Wrapped);
        let res = res.unwrap();
        let total = (res.r1 - p1).norm() + res.wrap_length_m + (p2 - res.r2).norm();
        let d = p1.norm();
        let g = (r / d).acos();
        let between = (p1.dot(&p2) / (d * d)).acos();
        let want = 2.0 * (d * d - r * r).sqrt() + r * (between - 2.0 * g);
        assert_relative_eq!(total, want, epsilon = 1e-12);
        assert_relative_eq!(res.r1.norm(), r, epsilon = 1e-12);
        assert_eq!(wrap_sphere(&p1, &Vector3::new(0.1, 0.2, 0.0), r, None).0, WrapAction::NoWrap);
    }

    #[test]
    fn a_segment_far_from_the_cylinder_does_not_wrap() {
        let (a, _) = wrap_cylinder(&Vector3::new(-0.1, 0.2, 0.0), &Vector3::new(0.1, 0.2, 0.0), 0.02, 0.2, None, true);
        assert_eq!(a, WrapAction::NoWrap);
        let (a, _) = wrap_cylinder(&Vector3::new(-0.01, 0.0, 0.0), &Vector3::new(0.1, 0.2, 0.0), 0.02, 0.2, None, true);
        assert_eq!(a, WrapAction::InsideRadius);
    }
}

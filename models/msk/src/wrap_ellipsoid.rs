//! Wrapping of one straight path segment over an ellipsoid, as OpenSim 4.6 computes it
//! (`WrapEllipsoid::wrapLine`, after SIMM): the wrapping plane is found from a point `c1` on the
//! ellipsoid (the "Frans" axis technique, the "fan" of closest points, or a blend of both, by
//! the path wrap's method), the tangent points are solved in that plane by a damped
//! Gauss-Newton iteration, and the surface length is the polyline of the plane's section,
//! sampled every millimetre. Everything here is in the ellipsoid's own frame, metres; the
//! algorithm itself works on coordinates scaled so that the mean semi-axis is 1, as OpenSim's.
//!
//! OpenSim seeds a few quantities with the previous pose's wrap; they are overwritten before
//! use in every branch but a non-converging closest-point iteration, which starts here from the
//! origin instead.

use coxa_osim::WrapMethod;
use nalgebra::{Matrix4, Vector3, Vector4};

use super::wrap::{WrapAction, WrapResult};

/// 100 % fan below this `|cos|` of the path to the nearest axis (must exceed cos 45 deg).
const MU_BLEND_MIN: f64 = 0.7073;
/// 100 % axis ("Frans") technique above this.
const MU_BLEND_MAX: f64 = 0.9;
const NUM_FAN_SAMPLES: usize = 300;
const SV_BOUNDARY_BLEND: f64 = 0.3;
const ELLIPSOID_TINY: f64 = 1e-8;
/// SIMM's `ROUNDOFF_ERROR` (`EQUAL_WITHIN_ERROR`).
const ROUNDOFF_ERROR: f64 = 2e-13;
/// Sampling of the surface path, m (OpenSim assumes metres).
const DESIRED_SEG_LENGTH_M: f64 = 0.001;

fn dsign(v: f64) -> i32 {
    if v >= 0.0 { 1 } else { -1 }
}

fn normalize(v: Vector3<f64>) -> Vector3<f64> {
    let n = v.norm();
    if n > 1e-300 { v / n } else { Vector3::zeros() }
}

/// Closest point on the ellipse `(x/a)^2 + (y/b)^2 = 1` to `(u, v)` (Eberly, Graphics Gems IV,
/// with SIMM's handling of points near the axes).
fn closest_point_to_ellipse(a: f64, b: f64, u: f64, v: f64) -> (f64, f64) {
    let (a2, b2) = (a * a, b * b);
    let (a2u2, b2v2) = (a2 * u * u, b2 * v * v);
    let near_x = u.abs() <= ROUNDOFF_ERROR;
    let near_y = v.abs() <= ROUNDOFF_ERROR;
    if near_x && near_y {
        return if a < b { (if u < 0.0 { -a } else { a }, v) } else { (u, if v < 0.0 { -b } else { b }) };
    }
    if near_x {
        if a >= b || v.abs() >= b - a2 / b {
            return (u, if v >= 0.0 { b } else { -b });
        }
        let y = b2 * v / (b2 - a2);
        let ydb = y / b;
        return (a * (1.0 - ydb * ydb).abs().sqrt(), y);
    }
    if near_y {
        if b >= a || u.abs() >= a - b2 / a {
            return (if u >= 0.0 { a } else { -a }, v);
        }
        let x = a2 * u / (a2 - b2);
        let xda = x / a;
        return (x, b * (1.0 - xda * xda).abs().sqrt());
    }
    let mut t = if (u / a).powi(2) + (v / b).powi(2) < 1.0 { 0.0 } else { a.max(b) * (u * u + v * v).sqrt() };
    let (mut p, mut q) = (0.0, 0.0);
    for _ in 0..64 {
        p = t + a2;
        q = t + b2;
        let f = p * p * q * q - a2u2 * q * q - b2v2 * p * p;
        if f.abs() < 1e-9 {
            break;
        }
        let fp = 2.0 * (p * q * (p + q) - a2u2 * q - b2v2 * p);
        t -= f / fp;
    }
    (a2 * u / p, b2 * v / q)
}

/// Closest point on the ellipsoid of semi-axes `a` to `uvw`, written into `out` (which keeps its
/// value if the general iteration does not converge, as OpenSim's). `special_axis`: reduce to
/// the ellipse in the plane where that coordinate is held; `None` picks it for points within
/// round-off of a coordinate plane (the narrowest section if several).
fn closest_point(a: &Vector3<f64>, uvw: &Vector3<f64>, special_axis: Option<usize>, out: &mut Vector3<f64>) {
    let special = special_axis.or_else(|| {
        let mut best = None;
        let mut min_sum = f64::INFINITY;
        for i in 0..3 {
            if uvw[i].abs() <= ROUNDOFF_ERROR {
                let sum: f64 = (0..3).filter(|&j| j != i).map(|j| a[j]).sum();
                if min_sum > sum {
                    best = Some(i);
                    min_sum = sum;
                }
            }
        }
        best
    });
    let (u, v, w) = (uvw.x, uvw.y, uvw.z);
    match special {
        Some(0) => {
            let (y, z) = closest_point_to_ellipse(a.y, a.z, v, w);
            *out = Vector3::new(u, y, z);
        }
        Some(1) => {
            let (z, x) = closest_point_to_ellipse(a.z, a.x, w, u);
            *out = Vector3::new(x, v, z);
        }
        Some(_) => {
            let (x, y) = closest_point_to_ellipse(a.x, a.y, u, v);
            *out = Vector3::new(x, y, w);
        }
        None => {
            let (a2, b2, c2) = (a.x * a.x, a.y * a.y, a.z * a.z);
            let (a2u2, b2v2, c2w2) = (a2 * u * u, b2 * v * v, c2 * w * w);
            let mut t = if (u / a.x).powi(2) + (v / a.y).powi(2) + (w / a.z).powi(2) < 1.0 { 0.0 } else { a.x.max(a.y).max(a.z) * (u * u + v * v + w * w).sqrt() };
            for _ in 0..64 {
                let (p, q, r) = (t + a2, t + b2, t + c2);
                let (p2, q2, r2) = (p * p, q * q, r * r);
                let f = p2 * q2 * r2 - a2u2 * q2 * r2 - b2v2 * p2 * r2 - c2w2 * p2 * q2;
                if f.abs() < 1e-9 {
                    *out = Vector3::new(a2 * u / p, b2 * v / q, c2 * w / r);
                    return;
                }
                let (pq, pr, qr) = (p * q, p * r, q * r);
                let fp = 2.0 * (p * q * r * (qr + pr + pq) - a2u2 * qr * (q + r) - b2v2 * pr * (p + r) - c2w2 * pq * (p + q));
                t -= f / fp;
            }
        }
    }
}

/// The four conditions of a tangent point `r1` seen from `p1` in the plane `vs . x + vs4 = 0`
/// (ellipsoid centred at the origin): in the plane, on the surface, and `p1` on the tangent
/// plane at `r1` (with the plane offset `d1` as a fourth unknown).
fn tangent_conditions(r1: &Vector3<f64>, d1: f64, p1: &Vector3<f64>, a: &Vector3<f64>, vs: &Vector3<f64>, vs4: f64) -> Vector4<f64> {
    let nr1 = 2.0 * r1.component_div(&a.component_mul(a));
    Vector4::new(vs.dot(r1) + vs4, r1.component_div(a).norm_squared() - 1.0, nr1.dot(r1) + d1, nr1.dot(p1) + d1)
}

/// `WrapEllipsoid::calcTangentPoint`: moves `r1` (on the ellipsoid, in the plane) until the
/// line from `p1` touches the ellipsoid there. `p1e` is `p1`'s ellipsoid function value.
fn calc_tangent_point(p1e: f64, r1: &mut Vector3<f64>, p1: &Vector3<f64>, a: &Vector3<f64>, vs: &Vector3<f64>, vs4: f64) {
    if p1e.abs() < 0.0001 {
        *r1 = *p1;
        return;
    }
    let a_sq = a.component_mul(a);
    let mut d1 = -(2.0 * r1.component_div(&a_sq)).dot(r1);
    let mut ee = tangent_conditions(r1, d1, p1, a, vs, vs4);
    let mut ssqo = ee.norm_squared();
    let mut ssq = ssqo;
    let mut alpha = 0.01;
    let mut nit = 0;
    while ssq > ELLIPSOID_TINY && nit < 50 {
        nit += 1;
        // Rows: the derivative of each condition (columns) by r1's x, y, z and d1.
        let mut dedth = Matrix4::zeros();
        for i in 0..3 {
            dedth[(i, 0)] = vs[i];
            dedth[(i, 1)] = 2.0 * r1[i] / a_sq[i];
            dedth[(i, 2)] = 2.0 * (2.0 * r1[i]) / a_sq[i];
            dedth[(i, 3)] = 2.0 * p1[i] / a_sq[i];
        }
        dedth[(3, 2)] = 1.0;
        dedth[(3, 3)] = 1.0;
        let pcos = normalize(p1 - *r1).dot(&normalize(*p1));
        let dd = if pcos > 0.1 { 1.0 - pcos.powi(100) } else { 1.0 };
        let v = -(dedth * ee);
        let mut dedth2 = dedth * dedth.transpose();
        let diag = dedth2.diagonal();
        let mut vt = Vector4::zeros();
        let mut nit2 = 0;
        while ssq >= ssqo && nit2 < 1000 {
            for i in 0..4 {
                dedth2[(i, i)] = diag[i] * (1.0 + alpha);
            }
            let inv = dedth2.try_inverse().unwrap_or_else(Matrix4::zeros);
            vt = dd * (inv * v) / 16.0;
            *r1 += vt.fixed_rows::<3>(0);
            d1 += vt[3];
            ee = tangent_conditions(r1, d1, p1, a, vs, vs4);
            ssqo = ssq;
            ssq = ee.norm_squared();
            alpha *= 4.0;
            nit2 += 1;
        }
        alpha /= 8.0;
        let mut fakt = 0.5;
        nit2 = 0;
        while ssq <= ssqo && nit2 < 1000 {
            fakt *= 2.0;
            *r1 += vt.fixed_rows::<3>(0) * fakt;
            d1 += vt[3] * fakt;
            ee = tangent_conditions(r1, d1, p1, a, vs, vs4);
            ssqo = ssq;
            ssq = ee.norm_squared();
            nit2 += 1;
        }
        *r1 -= vt.fixed_rows::<3>(0) * fakt;
        d1 -= vt[3] * fakt;
        ee = tangent_conditions(r1, d1, p1, a, vs, vs4);
        ssq = ee.norm_squared();
        ssqo = ssq;
    }
}

/// `WrapEllipsoid::CalcDistanceOnEllipsoid`: the section of the ellipsoid by the plane
/// `vs . x + vs4 = 0` from `r1` to `r2` (the long way round if `far_side`), as a polyline of
/// about 1 mm segments (at most 499). Returns its points and length (scaled coordinates).
fn distance_on_ellipsoid(r1: &Vector3<f64>, r2: &Vector3<f64>, a: &Vector3<f64>, vs: &Vector3<f64>, vs4: f64, far_side: bool, factor: f64) -> (Vec<Vector3<f64>>, f64) {
    let len_m = (r1 - r2).norm() / factor;
    if len_m < DESIRED_SEG_LENGTH_M {
        return (vec![*r1, *r2], len_m * factor);
    }
    let n_seg = ((len_m / DESIRED_SEG_LENGTH_M) as usize).clamp(1, 499);
    let mut imax = 0;
    for i in 1..3 {
        if vs[i].abs() > vs[imax].abs() {
            imax = i;
        }
    }
    // The plane's crossing of the coordinate axis it is most normal to.
    let mut a0 = Vector3::zeros();
    a0[imax] = -vs4 / vs[imax];
    let ar1 = normalize(r1 - a0);
    let ar2 = normalize(r2 - a0);
    let phi0 = ar1.dot(&ar2).clamp(-1.0, 1.0).acos();
    let dphi = if far_side { -(2.0 * std::f64::consts::PI - phi0) / n_seg as f64 } else { phi0 / n_seg as f64 };
    let vsz = normalize(ar1.cross(&ar2));
    let vsy = vsz.cross(&ar1);
    let f2 = a0.component_div(a);
    let mut pts = Vec::with_capacity(n_seg + 1);
    pts.push(*r1);
    for i in 0..n_seg - 1 {
        let phi = (i + 1) as f64 * dphi;
        let r = ar1 * phi.cos() + vsy * phi.sin();
        let f1 = r.component_div(a);
        let (aa, bb, cc) = (f1.dot(&f1), 2.0 * f1.dot(&f2), f2.dot(&f2) - 1.0);
        let mu3 = (-bb + (bb * bb - 4.0 * aa * cc).sqrt()) / (2.0 * aa);
        pts.push(a0 + mu3 * r);
    }
    pts.push(*r2);
    let length = pts.windows(2).map(|w| (w[1] - w[0]).norm()).sum();
    (pts, length)
}

/// `WrapEllipsoid::wrapLine` for an ellipsoid of semi-axes `dimensions_m` centred at the
/// origin; `quadrant` is OpenSim's (axis, sign) constraint, `method` the path wrap's. A wrap
/// is always mandatory (OpenSim's ellipsoid never reports a mere candidate).
pub fn wrap_ellipsoid(point1: &Vector3<f64>, point2: &Vector3<f64>, dimensions_m: &Vector3<f64>, quadrant: Option<(usize, f64)>, method: WrapMethod) -> (WrapAction, Option<WrapResult>) {
    let factor = 3.0 / dimensions_m.sum();
    let p1 = point1 * factor;
    let p2 = point2 * factor;
    let a = dimensions_m * factor;
    let p1e = p1.component_div(&a).norm_squared() - 1.0;
    let p2e = p2.component_div(&a).norm_squared() - 1.0;
    if p1e < -0.0001 || p2e < -0.0001 {
        return (WrapAction::InsideRadius, None);
    }
    let p1p2 = p1 - p2;
    if (normalize(p1).dot(&normalize(p2)) - 1.0).abs() < 0.0001 {
        return (WrapAction::NoWrap, None);
    }
    // Does the line p1-p2 cross the ellipsoid between them?
    let f1 = p1p2.component_div(&a);
    let f2 = p2.component_div(&a);
    let (aa, bb, cc) = (f1.dot(&f1), 2.0 * f1.dot(&f2), f2.dot(&f2) - 1.0);
    let disc = bb * bb - 4.0 * aa * cc;
    if disc < 0.0 {
        return (WrapAction::NoWrap, None);
    }
    let l1 = (-bb + disc.sqrt()) / (2.0 * aa);
    let l2 = (-bb - disc.sqrt()) / (2.0 * aa);
    let inside = |l: f64| 0.0 < l && l < 1.0;
    if !inside(l1) || !inside(l2) {
        return (WrapAction::NoWrap, None);
    }
    let mut r1 = p2 + l1 * p1p2;
    let mut r2 = p2 + l2 * p1p2;

    // The wrapping plane: through p1, p2 and c1, a point on the ellipsoid.
    let r1r2 = r2 - r1;
    let mut mu = normalize(p1p2).abs();
    let mut t = [0.0; 3];
    let mut t_sv = [Vector3::zeros(); 3];
    let mut t_c1 = [Vector3::zeros(); 3];
    for i in 0..3 {
        // Where the segment crosses the plane of coordinate i = 0 (the "Frans" technique).
        t[i] = -r1[i] / r1r2[i];
        t_sv[i] = r1 + t[i] * r1r2;
        closest_point(&a, &t_sv[i], Some(i), &mut t_c1[i]);
    }
    let mut best = 0;
    for i in 1..3 {
        if mu[i] > mu[best] {
            best = i;
        }
    }
    let mut c1 = Vector3::zeros();
    let mut fan_weight = f64::NEG_INFINITY;
    match method {
        WrapMethod::Hybrid | WrapMethod::Axial => {
            if method == WrapMethod::Hybrid && mu[best] > MU_BLEND_MIN {
                // Fade the axis technique out where its crossing leaves the chord r1-r2.
                let tb = t[best];
                let s = if !(0.0..=1.0).contains(&tb) {
                    0.0
                } else if tb < SV_BOUNDARY_BLEND {
                    tb / SV_BOUNDARY_BLEND
                } else if tb > 1.0 - SV_BOUNDARY_BLEND {
                    (1.0 - tb) / SV_BOUNDARY_BLEND
                } else {
                    1.0
                };
                if s < 1.0 {
                    mu[best] = MU_BLEND_MIN + s * (mu[best] - MU_BLEND_MIN);
                }
            }
            // (OpenSim also keeps the chord point `sv` each technique starts from, for the
            // next pose; nothing here uses it.)
            if method == WrapMethod::Axial || mu[best] > MU_BLEND_MIN {
                c1 = t_c1[best];
            }
            if method == WrapMethod::Hybrid && mu[best] < MU_BLEND_MAX {
                // The fan: the mean direction from the chord's points to their closest points.
                let sv_mid = r1 + 0.5 * r1r2;
                let mut v_sum = Vector3::zeros();
                let mut fan_c1 = t_c1[0];
                for i in 1..NUM_FAN_SAMPLES - 1 {
                    let sv0 = r1 + (i as f64 / NUM_FAN_SAMPLES as f64) * r1r2;
                    closest_point(&a, &sv0, None, &mut fan_c1);
                    v_sum += normalize(fan_c1 - sv0);
                }
                let fan_point = sv_mid + normalize(v_sum);
                if mu[best] <= MU_BLEND_MIN {
                    closest_point(&a, &fan_point, None, &mut c1);
                    fan_weight = 1.0;
                } else {
                    let tt = (mu[best] - MU_BLEND_MIN) / (MU_BLEND_MAX - MU_BLEND_MIN);
                    let mut fan_c1 = t_c1[1];
                    closest_point(&a, &fan_point, None, &mut fan_c1);
                    let blend = tt * c1 + (1.0 - tt) * fan_c1;
                    closest_point(&a, &blend, None, &mut c1);
                    fan_weight = 1.0 - tt;
                }
            }
        }
        WrapMethod::Midpoint => {
            let sv = r1 + 0.5 * (r2 - r1);
            closest_point(&a, &sv, None, &mut c1);
        }
    }
    // Start the tangent points at c1 (axial: only if the crossing is within the chord).
    let use_c1 = method != WrapMethod::Axial || (t[best] > 0.0 && t[best] < 1.0);
    if use_c1 {
        r1 = c1;
        r2 = c1;
    }
    let wrap = quadrant.map(|(axis, s)| (axis, if s > 0.0 { 1 } else { -1 }));
    if let Some((axis, sign)) = wrap
        && dsign(c1[axis]) != sign
    {
        // c1 on the inactive side: mirror it to the active one.
        let orig = c1;
        c1[axis] = -c1[axis];
        r1 = c1;
        r2 = c1;
        // OpenSim tests `fanWeight == -infinity` by `|fanWeight - (-inf)| <= 2e-13`, which is
        // NaN and so never true: an unset fan weight stays -infinity.
        if (fan_weight - f64::NEG_INFINITY).abs() <= ROUNDOFF_ERROR {
            fan_weight = 1.0 - (mu[best] - MU_BLEND_MIN) / (MU_BLEND_MAX - MU_BLEND_MIN);
        }
        fan_weight = fan_weight.min(1.0);
        if fan_weight > 0.0 {
            let bisection = 0.5 * (orig[axis] + c1[axis]);
            c1[axis] += fan_weight * (bisection - c1[axis]);
            let tc1 = c1;
            closest_point(&a, &tc1, None, &mut c1);
        }
    }
    let vs = normalize(p1p2.cross(&(p1 - c1)));
    let vs4 = -vs.dot(&c1);
    calc_tangent_point(p1e, &mut r1, &p1, &a, &vs, vs4);
    calc_tangent_point(p2e, &mut r2, &p2, &a, &vs, vs4);
    let mut far_side = false;
    let (_, length) = loop {
        let (pts, length) = distance_on_ellipsoid(&r1, &r2, &a, &vs, vs4, far_side, factor);
        if wrap.is_some() && pts.len() > 2 && !far_side {
            // A wrong-way wrap (the first or last surface piece turns back towards its end
            // point) goes round the far side instead.
            let (w1, w2) = (pts[1], pts[pts.len() - 2]);
            if normalize(p1 - r1).dot(&normalize(w1 - r1)) > 0.0 || normalize(p2 - r2).dot(&normalize(w2 - r2)) > 0.0 {
                far_side = true;
                continue;
            }
        }
        break (pts, length);
    };
    (WrapAction::Mandatory, Some(WrapResult { r1: r1 / factor, r2: r2 / factor, wrap_length_m: length / factor }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn ellipsoid_with_equal_axes_wraps_like_a_sphere() {
        // A sphere as an ellipsoid: tangent lengths plus the great-circle arc, up to the 1 mm
        // polyline of the surface path (chord error r (1 - cos(h / 2r)) per piece).
        let r = 0.03;
        let p1 = Vector3::new(-0.1, 0.01, 0.002);
        let p2 = Vector3::new(0.1, 0.01, 0.002);
        for method in [WrapMethod::Hybrid, WrapMethod::Midpoint, WrapMethod::Axial] {
            let (action, res) = wrap_ellipsoid(&p1, &p2, &Vector3::repeat(r), None, method);
            assert_eq!(action, WrapAction::Mandatory);
            let res = res.unwrap();
            let total = (res.r1 - p1).norm() + res.wrap_length_m + (p2 - res.r2).norm();
            let (sa, sres) = super::super::wrap::wrap_sphere(&p1, &p2, r, None);
            assert_eq!(sa, WrapAction::Wrapped);
            let s = sres.unwrap();
            let want = (s.r1 - p1).norm() + s.wrap_length_m + (p2 - s.r2).norm();
            assert_relative_eq!(total, want, epsilon = 2e-6);
            assert_relative_eq!(res.r1.norm(), r, epsilon = 1e-6);
        }
        assert_eq!(wrap_ellipsoid(&p1, &Vector3::new(0.1, 0.2, 0.0), &Vector3::repeat(r), None, WrapMethod::Hybrid).0, WrapAction::NoWrap);
        assert_eq!(wrap_ellipsoid(&Vector3::zeros(), &p2, &Vector3::repeat(r), None, WrapMethod::Hybrid).0, WrapAction::InsideRadius);
    }
}

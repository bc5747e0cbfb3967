//! Wrapping of one straight path segment over a torus, as OpenSim 4.6 computes it
//! (`WrapTorus::wrapLine`): find the point of the torus's centre circle "closest" to the
//! segment's line, put a long cylinder of the tube's radius there, tangent to the circle and
//! constrained to the side facing the torus's axis, and wrap over that cylinder
//! ([`super::wrap::wrap_cylinder`]). Everything is in the torus's own frame (axis z), metres.
//!
//! Kept as OpenSim has it:
//! - the closest point is the root of OpenSim's residual, which is the derivative of the
//!   squared distance to a circle of *twice* the centre radius (so not quite the closest
//!   point), found from each end of the segment as MINPACK's `lmdif` (Levenberg-Marquardt,
//!   ftol = xtol = 1e-4, step bound 0.2) would, then projected on the circle; of the two, the
//!   nearer to the circle (or the one on the active side of a quadrant) is used;
//! - a torus wrap is never mandatory: each segment that wraps is a candidate and the one that
//!   lengthens the path least wins.
//!
//! Where the cylinder does not wrap, OpenSim still reports a wrap with the tangent points left
//! unset; coxa reports no wrap.

use nalgebra::{Matrix3, Vector3};

use super::wrap::{WrapAction, WrapResult, wrap_cylinder};

/// Length of the cylinder that stands in for the tube, m (OpenSim's `CYL_LENGTH`).
const CYL_LENGTH_M: f64 = 10000.0;

fn dsign(v: f64) -> i32 {
    if v >= 0.0 { 1 } else { -1 }
}

/// OpenSim's `calcCircleResids` for the line from `a` towards `b` at distance `u` from `a`.
fn circle_residual(a: &Vector3<f64>, b: &Vector3<f64>, radius: f64, u: f64) -> f64 {
    let n = (b - a) / (b - a).norm();
    let c2 = 2.0 * a.dot(&n);
    let c3 = a.x * n.x + a.y * n.y;
    let c4 = n.x * n.x + n.y * n.y;
    let c5 = a.x * a.x + a.y * a.y;
    c2 + 2.0 * u - 2.0 * radius * (2.0 * c4 * u + 2.0 * c3) / (u * u * c4 + 2.0 * c3 * u + c5).sqrt()
}

/// A root of `f` from 0 the way MINPACK's `lmdif` finds it for one residual in one unknown
/// (forward-difference Jacobian, scaling `mode = 1`, `factor = 0.2`, `ftol = xtol = 1e-4`,
/// `gtol = 0`, at most 500 evaluations). The Levenberg-Marquardt parameter is solved exactly
/// for the trust radius (MINPACK's `lmpar` stops within 10 %), which changes the iterates a
/// little but not the root they converge to.
fn lmdif_root(f: impl Fn(f64) -> f64) -> f64 {
    const FACTOR: f64 = 0.2;
    const FTOL: f64 = 1e-4;
    const XTOL: f64 = 1e-4;
    const MAXFEV: usize = 500;
    let eps = f64::EPSILON.sqrt();
    let mut x = 0.0;
    let mut fx = f(x);
    let mut nfev = 1;
    let mut fnorm = fx.abs();
    let (mut delta, mut diag, mut xnorm) = (0.0, 0.0f64, 0.0);
    let mut first = true;
    if !fnorm.is_finite() {
        return x;
    }
    loop {
        let h = if eps * x.abs() == 0.0 { eps } else { eps * x.abs() };
        let j = (f(x + h) - fx) / h;
        nfev += 1;
        if !j.is_finite() {
            return x;
        }
        if first {
            diag = if j == 0.0 { 1.0 } else { j.abs() };
            xnorm = (diag * x).abs();
            delta = if xnorm == 0.0 { FACTOR } else { FACTOR * xnorm };
        }
        // gtol = 0: stop only when the gradient vanishes.
        if fnorm == 0.0 || j == 0.0 {
            return x;
        }
        diag = diag.max(j.abs());
        loop {
            let p_gn = -fx / j;
            // The Levenberg-Marquardt parameter of this step (0: the Gauss-Newton step fits).
            let par = if (diag * p_gn).abs() <= 1.1 * delta { 0.0 } else { ((j * fx).abs() * diag / delta - j * j) / (diag * diag) };
            let p = -j * fx / (j * j + par * diag * diag);
            let pnorm = (diag * p).abs();
            if first {
                delta = delta.min(pnorm);
            }
            let f1 = f(x + p);
            nfev += 1;
            let fnorm1 = f1.abs();
            let actred = if 0.1 * fnorm1 < fnorm { 1.0 - (fnorm1 / fnorm).powi(2) } else { -1.0 };
            let t1 = (j * p).abs() / fnorm;
            let t2 = par.sqrt() * pnorm / fnorm;
            let prered = t1 * t1 + t2 * t2 / 0.5;
            let dirder = -(t1 * t1 + t2 * t2);
            let ratio = if prered != 0.0 { actred / prered } else { 0.0 };
            if ratio <= 0.25 {
                let mut temp = if actred >= 0.0 { 0.5 } else { 0.5 * dirder / (dirder + 0.5 * actred) };
                if 0.1 * fnorm1 >= fnorm || temp < 0.1 {
                    temp = 0.1;
                }
                delta = temp * delta.min(pnorm / 0.1);
            } else if par == 0.0 || ratio >= 0.75 {
                delta = pnorm / 0.5;
            }
            let accepted = ratio >= 1e-4 && fnorm1.is_finite();
            if accepted {
                x += p;
                fx = f1;
                xnorm = (diag * x).abs();
                fnorm = fnorm1;
                first = false;
            }
            if (actred.abs() <= FTOL && prered <= FTOL && 0.5 * ratio <= 1.0) || delta <= XTOL * xnorm || nfev >= MAXFEV || !delta.is_finite() {
                return x;
            }
            if accepted {
                break;
            }
        }
    }
}

/// `WrapTorus::findClosestPoint`: the point of the circle of `radius` in the plane z = 0 to put
/// the cylinder at; `None` when a quadrant rules both candidates out.
fn circle_point(radius: f64, p1: &Vector3<f64>, p2: &Vector3<f64>, quadrant: Option<(usize, i32)>) -> Option<Vector3<f64>> {
    let pass = |a: &Vector3<f64>, b: &Vector3<f64>| {
        let u = lmdif_root(|u| circle_residual(a, b, radius, u));
        a + u * (b - a) / (b - a).norm()
    };
    let a1 = pass(p1, p2);
    let a2 = pass(p2, p1);
    let distance = |a: &Vector3<f64>| (a.norm_squared() + radius * radius - 2.0 * radius * a.x.hypot(a.y)).sqrt();
    let nearer = if distance(&a1) < distance(&a2) { a1 } else { a2 };
    let a = match quadrant {
        Some((axis, sign)) => match (dsign(a1[axis]) == sign, dsign(a2[axis]) == sign) {
            (true, true) => nearer,
            (true, false) => a1,
            (false, true) => a2,
            (false, false) => return None,
        },
        None => nearer,
    };
    let mag = a.x.hypot(a.y);
    // On the torus's axis (or NaN) no point of the circle is nearer than another.
    if mag.is_nan() || mag <= 1e-12 {
        return None;
    }
    Some(Vector3::new(a.x * radius / mag, a.y * radius / mag, 0.0))
}

/// `WrapTorus::wrapLine` for a torus about z centred at the origin, of tube radius
/// `inner_radius_m` and centre-circle radius `outer_radius_m`; `quadrant` is OpenSim's (axis,
/// sign) constraint (of the centre-circle point), `single_wrap` as for
/// [`wrap_cylinder`]. Returns [`WrapAction::Wrapped`] (a candidate) or no wrap.
pub fn wrap_torus(p1: &Vector3<f64>, p2: &Vector3<f64>, inner_radius_m: f64, outer_radius_m: f64, quadrant: Option<(usize, f64)>, single_wrap: bool) -> (WrapAction, Option<WrapResult>) {
    if (p2 - p1).norm() <= 0.0 {
        return (WrapAction::NoWrap, None);
    }
    let quadrant = quadrant.map(|(axis, s)| (axis, if s > 0.0 { 1 } else { -1 }));
    let Some(c) = circle_point(outer_radius_m, p1, p2, quadrant) else { return (WrapAction::NoWrap, None) };
    // The cylinder frame: x from the circle point towards the torus's axis, y = -z of the
    // torus, z (the cylinder's axis) tangent to the circle; origin at the circle point.
    let x = -c / c.norm();
    let y = Vector3::new(0.0, 0.0, -1.0);
    let z = x.cross(&y);
    let r = Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]);
    let t = r * (-c);
    let to_cyl = |v: &Vector3<f64>| r * v + t;
    let from_cyl = |v: &Vector3<f64>| r.transpose() * (v - t);
    match wrap_cylinder(&to_cyl(p1), &to_cyl(p2), inner_radius_m, CYL_LENGTH_M, Some((0, 1.0)), single_wrap) {
        (WrapAction::Wrapped | WrapAction::Mandatory, Some(res)) => (WrapAction::Wrapped, Some(WrapResult { r1: from_cyl(&res.r1), r2: from_cyl(&res.r2), wrap_length_m: res.wrap_length_m })),
        _ => (WrapAction::NoWrap, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn lmdif_root_finds_a_root() {
        let u = lmdif_root(|u| (u - 0.07) * (1.0 + u * u));
        assert_relative_eq!(u, 0.07, epsilon = 1e-8);
    }

    #[test]
    fn a_segment_through_the_hole_wraps_over_the_inner_side_of_the_tube() {
        // Torus R = 0.03, r = 0.01; a segment parallel to the axis at x = 0.025 cuts the tube's
        // inner side (x from 0.02 to 0.04): the path is pushed towards the axis, over a circle
        // of radius r about the tube centre (0.03, 0, 0) in the plane y = 0.
        let (rr, r) = (0.03, 0.01);
        let p1 = Vector3::new(0.025, 0.0, -0.1);
        let p2 = Vector3::new(0.025, 0.0, 0.1);
        let (action, res) = wrap_torus(&p1, &p2, r, rr, None, true);
        assert_eq!(action, WrapAction::Wrapped);
        let res = res.unwrap();
        let total = (res.r1 - p1).norm() + res.wrap_length_m + (p2 - res.r2).norm();
        // Analytic: the 2D wrap of two points at (-0.005, +-0.1) relative to the tube centre
        // over a circle of radius r, on the -x side.
        let d = (0.005f64.powi(2) + 0.1f64.powi(2)).sqrt();
        let tangent = (d * d - r * r).sqrt();
        let between = 2.0 * (0.1f64 / d).asin();
        let arc = r * (between - 2.0 * (r / d).acos());
        assert_relative_eq!(total, 2.0 * tangent + arc, epsilon = 1e-9);
        assert!(res.r1.x < 0.03 && res.r2.x < 0.03);
        // A segment through the middle of the hole misses the tube.
        assert_eq!(wrap_torus(&Vector3::new(0.0, 0.0, -0.1), &Vector3::new(0.001, 0.0, 0.1), r, rr, None, true).0, WrapAction::NoWrap);
    }
}

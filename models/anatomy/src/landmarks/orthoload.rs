//! The femoral points of the OrthoLoad frame (Bergmann et al. 2016) that `coxa hcf` reads from a
//! landmark file: the head centre HJC, P1 (the point of the neck axis nearest the shaft axis),
//! P2 (the intercondylar notch), the posterior condyles MPC/LPC and the epicondyles MEC/LEC.
//!
//! HJC, the axes and the posterior condyles are the femur's landmarks ([`FemurLandmarks`]); the
//! rest is found here on the femur's surface, which must reach the knee (the posterior condyles
//! must have been found):
//! - **P1**: the point of the neck axis closest to the shaft axis (the common perpendicular);
//! - **epicondyles**: the most medial and most lateral surface points of the distal 15 % of the
//!   femur along the condylar line (MPC -> LPC made normal to the shaft axis), the widest points
//!   of the distal femur where the collateral ligaments attach;
//! - **P2**: the intercondylar notch where the trochlear groove meets it, seen from distal: of
//!   the surface points in a strip 6 mm wide midway between the condyles that face distally
//!   (normal within about 70 deg of distal), the most distal one. On the OrthoLoad patients'
//!   hand-picked files P2 lies 4-6 % of the femur's length distal of the epicondyles and 10 %
//!   anterior of the posterior condyles; this point does too (tests/orthoload_points.rs).

use nalgebra::{Point3, Vector3};

use super::{FemurLandmarks, OrthoLoadFemur, Surface, perpendicular};

/// Half the width of the strip between the condyles where the notch is sought, mm.
const NOTCH_HALF_WIDTH_MM: f64 = 3.0;
/// Share of the femur's length, from its distal end, searched for the epicondyles and the notch.
const DISTAL_SHARE: f64 = 0.15;

/// The OrthoLoad points of `femur` on its surface `mesh`; `None` when the knee was not imaged
/// (no posterior condyles) or the distal surface holds no notch or axis lines are parallel.
pub fn orthoload_femur(femur: &FemurLandmarks, mesh: &coxa_core::Mesh) -> Option<OrthoLoadFemur> {
    let [mpc, lpc] = femur.posterior_condyles?;
    let u = femur.shaft_axis.direction_lps.try_normalize(1e-9)?;
    let p1 = closest_on_first(&femur.neck_axis.point_lps_mm, &femur.neck_axis.direction_lps, &femur.shaft_axis.point_lps_mm, &u)?;
    let s = Surface::new(mesh);
    let t = |p: &Point3<f64>| p.coords.dot(&u);
    let (tmin, tmax) = s.p.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(t(p)), b.max(t(p))));
    let distal: Vec<usize> = (0..s.p.len()).filter(|&i| t(&s.p[i]) < tmin + DISTAL_SHARE * (tmax - tmin)).collect();
    if distal.len() < 50 {
        return None;
    }
    // Lateral along the condylar line, normal to the shaft.
    let lateral = perpendicular(&(lpc - mpc), &u)?;
    let along = |i: &usize| s.p[*i].coords.dot(&lateral);
    let lec = s.p[*distal.iter().max_by(|a, b| along(a).total_cmp(&along(b)))?];
    let mec = s.p[*distal.iter().min_by(|a, b| along(a).total_cmp(&along(b)))?];
    let mid = 0.5 * (mpc.coords + lpc.coords).dot(&lateral);
    let p2 =
        distal.iter().filter(|&&i| (s.p[i].coords.dot(&lateral) - mid).abs() < NOTCH_HALF_WIDTH_MM && s.n[i].dot(&-u) > 0.35).min_by(|a, b| t(&s.p[**a]).total_cmp(&t(&s.p[**b]))).map(|&i| s.p[i])?;
    Some(OrthoLoadFemur { hjc: femur.head_centre.lps_mm, p1, p2, mpc, lpc, mec, lec })
}

/// The point of line `a + s d` nearest line `b + t e` (`None` when they are parallel).
fn closest_on_first(a: &Point3<f64>, d: &Vector3<f64>, b: &Point3<f64>, e: &Vector3<f64>) -> Option<Point3<f64>> {
    let w = a - b;
    let (dd, de, ee) = (d.dot(d), d.dot(e), e.dot(e));
    let den = dd * ee - de * de;
    if den.abs() < 1e-12 * dd * ee {
        return None;
    }
    let s = (de * e.dot(&w) - ee * d.dot(&w)) / den;
    Some(a + s * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_perpendicular_of_two_skew_lines() {
        // x axis and a line parallel to y through (3, 0, 5): nearest point on the first is (3, 0, 0).
        let p = closest_on_first(&Point3::new(-2.0, 0.0, 0.0), &Vector3::x(), &Point3::new(3.0, 7.0, 5.0), &Vector3::y()).unwrap();
        assert!((p - Point3::new(3.0, 0.0, 0.0)).norm() < 1e-12, "{p}");
        assert!(closest_on_first(&Point3::origin(), &Vector3::x(), &Point3::new(0.0, 1.0, 0.0), &Vector3::x()).is_none());
    }
}

//! The hip joint of a render: a femur moved against its acetabulum until the joint space in the
//! weight-bearing dome is a given width, and a femur set into a socket that has none (the atlas
//! pelvises).
//!
//! The joint space width here is the radiologists' minimum joint space width of the superior
//! (weight-bearing) joint: the smallest distance from the femoral head's surface to the hip bone's
//! within a 30 deg cone around the superolateral direction. The femur moves along that
//! direction, the usual direction of migration of an arthritic head (Resnick, Am J Roentgenol
//! 124:62, 1975: superolateral migration in most osteoarthritic hips), so the rest of the joint
//! keeps the subject's shape.
//!
//! **Limit (measured on z013):** widening by a translation narrows the other side of the joint.
//! z013's own dome gap is about 2.6 mm; 4.5-5 mm in the dome leaves the head 1.0-1.5 mm inside
//! the medial-inferior wall ([`Placed::min_gap_mm`] negative), so those renders fuse head and
//! socket there: they test a collision, not a normal joint. To do: widen along the acetabular
//! opening axis (or shrink the head) instead, and refuse a negative `min_gap_mm`.

use nalgebra::{Matrix4, Point3, Vector3};

use coxa_core::{Mesh, Side, closest_on_triangle};

use crate::landmarks::{acetabulum_landmarks, femur_landmarks};

/// Half-angle of the weight-bearing dome's cone, deg.
pub const DOME_HALF_ANGLE_DEG: f64 = 30.0;
/// Furthest the femur is moved to reach a width, mm.
pub const MAX_SHIFT_MM: f64 = 12.0;

/// Where a femur was put.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// The femur's move, mm.
    pub shift_mm: Vector3<f64>,
    /// Joint space in the dome after the move, mm.
    pub dome_gap_mm: f64,
    /// Smallest head-to-hip-bone distance in any direction after the move, mm.
    pub min_gap_mm: f64,
}

/// The superolateral direction of migration of `side`'s head (LPS: +x is the patient's left).
pub fn migration_direction(side: Side) -> Vector3<f64> {
    Vector3::new(0.3 * side.lateral_sign(), 0.0, 1.0).normalize()
}

/// Moves `femur` (head centre `c`, radius `r`) along [`migration_direction`] until its dome gap
/// to `hip` is `width_mm` (within 0.01 mm); `None` keeps it where it is (the gaps are measured).
///
/// # Errors
/// The width is not reached within [`MAX_SHIFT_MM`], or the head or the dome has no surface.
pub fn place_femur(femur: &Mesh, hip: &Mesh, side: Side, c: Point3<f64>, r: f64, width_mm: Option<f64>) -> Result<Placed, String> {
    let u = migration_direction(side);
    let cos_dome = DOME_HALF_ANGLE_DEG.to_radians().cos();
    let head: Vec<Point3<f64>> = femur.vertices().iter().copied().filter(|v| (v - c).norm() < r + 3.0).collect();
    let dome: Vec<Point3<f64>> = head.iter().copied().filter(|v| (v - c).normalize().dot(&u) > cos_dome).collect();
    let near: Vec<[Point3<f64>; 3]> = (0..hip.triangles().len()).map(|t| hip.corners(t)).filter(|t| t.iter().any(|p| (p - c).norm() < r + MAX_SHIFT_MM + 25.0)).collect();
    let dome_tris: Vec<[Point3<f64>; 3]> = near.iter().copied().filter(|t| t.iter().any(|p| (p - c).normalize().dot(&u) > (DOME_HALF_ANGLE_DEG + 20.0).to_radians().cos())).collect();
    if dome.is_empty() || dome_tris.is_empty() {
        return Err(format!("hip_{}: no femoral head surface or no acetabular dome near the head at {c:?}", side.as_str()));
    }
    // Signed: negative where the head has passed into the hip bone.
    let gap = |pts: &[Point3<f64>], tris: &[[Point3<f64>; 3]], s: f64| pts.iter().map(|p| signed_distance(&(p + u * s), tris)).fold(f64::INFINITY, f64::min);
    let s = match width_mm {
        None => 0.0,
        Some(w) => {
            let step = 0.5;
            let mut s = -MAX_SHIFT_MM;
            if gap(&dome, &dome_tris, s) <= w {
                return Err(format!("hip_{}: a dome gap of {w} mm is not reached moving the femur {MAX_SHIFT_MM} mm away", side.as_str()));
            }
            while gap(&dome, &dome_tris, s + step) > w {
                s += step;
                if s > MAX_SHIFT_MM {
                    return Err(format!("hip_{}: a dome gap of {w} mm is not reached moving the femur {MAX_SHIFT_MM} mm in", side.as_str()));
                }
            }
            let (mut lo, mut hi) = (s, s + step);
            while hi - lo > 1e-4 {
                let m = 0.5 * (lo + hi);
                if gap(&dome, &dome_tris, m) > w { lo = m } else { hi = m }
            }
            lo
        }
    };
    Ok(Placed { shift_mm: u * s, dome_gap_mm: gap(&dome, &dome_tris, s), min_gap_mm: gap(&head, &near, s) })
}

/// The transform that sets `femur` (of `side`) into `hip`'s socket: its head centre onto the
/// acetabulum's centre and scaled so that its head radius is the acetabulum's less
/// `nominal_gap_mm` (the scale kept within 0.75-1.3). For pelvises without femurs (the atlas):
/// the render then sets the requested joint space.
///
/// # Errors
/// No landmarks on the femur or no acetabulum on the hip bone.
pub fn socket_femur(femur: &Mesh, side: Side, hip: &Mesh, nominal_gap_mm: f64) -> Result<Matrix4<f64>, String> {
    let f = femur_landmarks(femur, side).map_err(|e| format!("femur_{}: {e}", side.as_str()))?;
    let a = acetabulum_landmarks(hip, side, None).map_err(|e| format!("hip_{}: {e}", side.as_str()))?;
    let k = ((a.radius_mm - nominal_gap_mm) / f.head_radius_mm).clamp(0.75, 1.3);
    let (cf, ca) = (f.head_centre.lps_mm.coords, a.centre.lps_mm.coords);
    // p -> ca + k (p - cf)
    let mut m = Matrix4::identity() * k;
    m[(3, 3)] = 1.0;
    let t = ca - cf * k;
    m[(0, 3)] = t.x;
    m[(1, 3)] = t.y;
    m[(2, 3)] = t.z;
    Ok(m)
}

/// Distance from `p` to the nearest of `tris` (an outward surface), negative on its inside (by
/// the nearest triangle's normal).
pub(crate) fn signed_distance(p: &Point3<f64>, tris: &[[Point3<f64>; 3]]) -> f64 {
    let mut best = (f64::INFINITY, 1.0);
    for t in tris {
        let q = closest_on_triangle(p, t);
        let d = (p - q).norm();
        if d < best.0 {
            let n = (t[1] - t[0]).cross(&(t[2] - t[0]));
            best = (d, if (p - q).dot(&n) < 0.0 { -1.0 } else { 1.0 });
        }
    }
    best.0 * best.1
}

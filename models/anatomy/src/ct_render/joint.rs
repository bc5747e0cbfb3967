//! The hip joint of a render: a femur placed against its acetabulum so that the joint space in
//! the weight-bearing dome is a given width, and a femur set into a socket that has none (the
//! atlas pelvises).
//!
//! The joint space width here is the radiologists' minimum joint space width of the superior
//! (weight-bearing) joint: the smallest distance from the femoral head's surface to the hip bone's
//! within a 30 deg cone around the superolateral direction. How a width is made:
//! - **Narrower** than the subject's (arthritic): the femur moves along the superolateral
//!   direction, the usual direction of migration of an arthritic head (Resnick, Am J Roentgenol
//!   124:62, 1975: superolateral migration in most osteoarthritic hips), so the joint narrows in
//!   the dome and the rest keeps the subject's shape.
//! - **Wider** (normal, 4-5 mm: Lequesne et al., Ann Rheum Dis 63:1145, 2004; Jacobsen et al.,
//!   Acta Orthop 75:713, 2004, minimum joint space of normal adult hips about 4 mm): the femur is
//!   scaled down about its head centre. On a head that is a sphere of radius r this widens the
//!   joint by r (1 - k) in every direction, so the space stays as uniform as the subject's (a
//!   normal joint is concentric: its cartilage covers head and lunate surface alike, Kurrat &
//!   Oberländer, J Bone Joint Surg Br 60:46, 1978). A translation away from the dome, as before
//!   2026-11-28, narrowed the other side instead: on z013 it put the head 1.0-1.5 mm into the
//!   medial-inferior wall (measured), a collision and not a joint.
//!
//! **Refused:** a placement whose femur enters the hip bone anywhere near the joint (head, neck
//! and the trochanters within [`JOINT_REACH_MM`] of the head's surface; [`Placed::min_gap_mm`] <
//! 0): its truth would be a collision. [`place_femur`] returns an error naming the hip, the
//! depth and the cause.

use nalgebra::{Matrix4, Point3, Rotation3, Vector3};

use coxa_core::{Mesh, PelvicFrame, Side, closest_on_triangle};

use crate::landmarks::{acetabulum_landmarks, femur_landmarks, pelvis_landmarks};

/// Half-angle of the weight-bearing dome's cone, deg.
pub const DOME_HALF_ANGLE_DEG: f64 = 30.0;
/// Furthest the femur is moved to narrow a joint, mm.
pub const MAX_SHIFT_MM: f64 = 12.0;
/// Smallest scale of the femur to widen a joint (a head of 21 mm then gains 4.2 mm of space).
pub const MIN_SCALE: f64 = 0.8;
/// Smallest femoral head radius a widening may leave, mm: the lower end of the radii coxa's
/// landmarks accept as an adult femoral head (`landmarks::femur::HEAD_RADIUS_LIMITS_MM`, 15-40
/// mm), so a smaller head would be a femur whose truth cannot be measured.
pub const MIN_HEAD_RADIUS_MM: f64 = 15.0;
/// How far beyond the head's sphere the femur must clear the hip bone, mm: the neck, and the
/// trochanters of a small femur.
pub const JOINT_REACH_MM: f64 = 30.0;

/// Where a femur was put: each point `p` to `centre + scale (p - centre) + shift`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// The head centre the scale is about, mm.
    pub centre_mm: Point3<f64>,
    /// The femur's scale about `centre_mm` (1: kept; under 1: a wider joint).
    pub scale: f64,
    /// The femur's move, mm.
    pub shift_mm: Vector3<f64>,
    /// Joint space in the dome after the placement, mm.
    pub dome_gap_mm: f64,
    /// Smallest distance from the femur's head, neck and trochanters (within [`JOINT_REACH_MM`]
    /// of the head's surface) to the hip bone after the placement, mm; negative inside it.
    pub min_gap_mm: f64,
}

impl Placed {
    /// The placement as a 4x4 transform.
    pub fn transform(&self) -> Matrix4<f64> {
        let mut m = Matrix4::identity() * self.scale;
        m[(3, 3)] = 1.0;
        let t = self.centre_mm.coords * (1.0 - self.scale) + self.shift_mm;
        m.fixed_view_mut::<3, 1>(0, 3).copy_from(&t);
        m
    }
}

/// The superolateral direction of migration of `side`'s head (LPS: +x is the patient's left).
pub fn migration_direction(side: Side) -> Vector3<f64> {
    Vector3::new(0.3 * side.lateral_sign(), 0.0, 1.0).normalize()
}

/// Places `femur` (head centre `c`, radius `r`) against `hip` so that its dome gap is `width_mm`
/// (within 0.01 mm): narrower than the subject's by moving it superolaterally, wider by scaling
/// it about `c` (module docs). `None` keeps it where it is (the gaps are measured).
///
/// # Errors
/// The width is not reached within [`MAX_SHIFT_MM`] or [`MIN_SCALE`]; the head or the dome has
/// no surface; or the placed femur enters the hip bone ([`Placed::min_gap_mm`] < 0).
pub fn place_femur(femur: &Mesh, hip: &Mesh, side: Side, c: Point3<f64>, r: f64, width_mm: Option<f64>) -> Result<Placed, String> {
    let u = migration_direction(side);
    let cos_dome = DOME_HALF_ANGLE_DEG.to_radians().cos();
    let head: Vec<Point3<f64>> = femur.vertices().iter().copied().filter(|v| (v - c).norm() < r + 3.0).collect();
    let dome: Vec<Point3<f64>> = head.iter().copied().filter(|v| (v - c).normalize().dot(&u) > cos_dome).collect();
    let near = Tris::new(hip, c, r + JOINT_REACH_MM + MAX_SHIFT_MM + 5.0, None);
    let dome_tris = Tris::new(hip, c, r + MAX_SHIFT_MM + 25.0, Some((u, (DOME_HALF_ANGLE_DEG + 20.0).to_radians().cos())));
    if dome.is_empty() || dome_tris.is_empty() {
        return Err(format!("hip_{}: no femoral head surface or no acetabular dome near the head at {c:?}", side.as_str()));
    }
    let at = |k: f64, s: f64| Placed { centre_mm: c, scale: k, shift_mm: u * s, dome_gap_mm: f64::NAN, min_gap_mm: f64::NAN };
    let dome_gap = |p: &Placed| dome.iter().map(|v| dome_tris.signed_distance(&moved(p, v))).fold(f64::INFINITY, f64::min);
    let own = dome_gap(&at(1.0, 0.0));
    let mut placed = match width_mm {
        None => at(1.0, 0.0),
        // Narrower: the shift s (toward the dome) where the gap falls to w.
        Some(w) if w <= own => {
            let f = |s: f64| w - dome_gap(&at(1.0, s));
            let (s, _) = root(f, 0.0, MAX_SHIFT_MM, 0.5).ok_or_else(|| format!("hip_{}: a dome gap of {w} mm is not reached moving the femur {MAX_SHIFT_MM} mm in", side.as_str()))?;
            at(1.0, s)
        }
        // Wider: the scale k (from 1 down) where the gap rises to w.
        Some(w) => {
            let f = |t: f64| dome_gap(&at(1.0 - t, 0.0)) - w;
            let (_, t) = root(f, 0.0, 1.0 - MIN_SCALE, 0.01)
                .ok_or_else(|| format!("hip_{}: a dome gap of {w} mm is not reached scaling the femur down to {MIN_SCALE} (the subject's is {own:.2} mm)", side.as_str()))?;
            at(1.0 - t, 0.0)
        }
    };
    if r * placed.scale < MIN_HEAD_RADIUS_MM {
        return Err(format!(
            "hip_{}: a dome gap of {:.2} mm needs this femur scaled to {:.3}, a head of {:.1} mm radius, under the {MIN_HEAD_RADIUS_MM} mm of the smallest adult heads: ask for a narrower joint",
            side.as_str(),
            width_mm.unwrap_or(own),
            placed.scale,
            r * placed.scale
        ));
    }
    placed.dome_gap_mm = dome_gap(&placed);
    let reach = r + JOINT_REACH_MM;
    let (min_gap, deepest) =
        femur.vertices().iter().filter(|v| (*v - c).norm() < reach).map(|v| (near.signed_distance(&moved(&placed, v)), *v)).fold((f64::INFINITY, c), |a, b| if b.0 < a.0 { b } else { a });
    placed.min_gap_mm = min_gap;
    if min_gap < 0.0 {
        return Err(format!(
            "hip_{}: the femur placed for a dome gap of {:.2} mm (scale {:.3}, move {:.2} mm) enters the hip bone by {:.2} mm near the joint ({:.1} mm from the head centre, head radius {r:.1} mm): a render of a collision, not of a joint; ask for another width or place the femur otherwise",
            side.as_str(),
            placed.dome_gap_mm,
            placed.scale,
            placed.shift_mm.norm(),
            -min_gap,
            (deepest - c).norm() * placed.scale
        ));
    }
    Ok(placed)
}

/// `v` placed by `p` (without building the matrix).
fn moved(p: &Placed, v: &Point3<f64>) -> Point3<f64> {
    p.centre_mm + (v - p.centre_mm) * p.scale + p.shift_mm
}

/// Where `f`, negative at `lo` and rising, crosses zero in `[lo, hi]`: stepped by `step` from
/// `lo`, then bisected to 1e-5 mm. The bracket `(a, b)`: `f(a) < 0 <= f(b)` (both `lo` when
/// `f(lo) >= 0`). `None` when `f(hi)` is still negative.
fn root(f: impl Fn(f64) -> f64, lo: f64, hi: f64, step: f64) -> Option<(f64, f64)> {
    if f(lo) >= 0.0 {
        return Some((lo, lo));
    }
    let mut a = lo;
    loop {
        let b = (a + step).min(hi);
        if f(b) >= 0.0 {
            let (mut a, mut b) = (a, b);
            while b - a > 1e-5 {
                let m = 0.5 * (a + b);
                if f(m) >= 0.0 { b = m } else { a = m }
            }
            return Some((a, b));
        }
        if b >= hi {
            return None;
        }
        a = b;
    }
}

/// The pelvic frame (anterior pelvic plane) of a pair of hip bones.
///
/// # Errors
/// An acetabulum or the ASIS and pubic tubercles not found.
pub fn pelvic_frame(hip_left: &Mesh, hip_right: &Mesh) -> Result<PelvicFrame, String> {
    let l = acetabulum_landmarks(hip_left, Side::Left, None).map_err(|e| format!("hip_left: {e}"))?;
    let r = acetabulum_landmarks(hip_right, Side::Right, None).map_err(|e| format!("hip_right: {e}"))?;
    Ok(pelvis_landmarks(hip_left, hip_right, &l, &r).map_err(|e| format!("pelvis: {e}"))?.frame)
}

/// Largest move of the femur while seating it in a socket, mm.
pub const SEAT_MAX_MOVE_MM: f64 = 5.0;
/// Largest turn of the femur about its head centre while seating it, deg.
pub const SEAT_MAX_TURN_DEG: f64 = 15.0;

/// The transform that sets `femur` (of `side`, from a subject whose pelvic frame is
/// `femur_frame`) into `hip`'s socket (pelvic frame `hip_frame`), for pelvises without femurs
/// (the atlas); the render then sets the requested joint space. In order:
/// 1. turned so that it keeps its orientation to the anterior pelvic plane, its head centre on
///    the acetabulum's fitted centre, scaled so that its head radius is the acetabulum's less
///    `nominal_gap_mm`;
/// 2. **seated**: moved (at most [`SEAT_MAX_MOVE_MM`], never out of the socket along its opening
///    axis) and turned about the head centre (at most [`SEAT_MAX_TURN_DEG`], a change of the
///    leg's pose) to the pose with the most clearance between the hip bone and the femur near
///    the joint (head, neck, trochanters): a sphere fit of a socket that is not a sphere can put
///    the head into its dome, and another subject's neck can meet the rim;
/// 3. scaled about the head centre so that the head's narrowest gap is `nominal_gap_mm`.
///
/// The scale stays within 0.75-1.3 of the femur's own. Chosen by clearance alone (geometry),
/// never by how a segmenter does on the render.
///
/// # Errors
/// No landmarks on the femur, no acetabulum on the hip bone, or a head that keeps less than
/// `nominal_gap_mm` even at the smallest scale (the render would be a collision).
pub fn socket_femur(femur: &Mesh, side: Side, femur_frame: &PelvicFrame, hip: &Mesh, hip_frame: &PelvicFrame, nominal_gap_mm: f64) -> Result<Matrix4<f64>, String> {
    let f = femur_landmarks(femur, side).map_err(|e| format!("femur_{}: {e}", side.as_str()))?;
    let a = acetabulum_landmarks(hip, side, None).map_err(|e| format!("hip_{}: {e}", side.as_str()))?;
    let k0 = ((a.radius_mm - nominal_gap_mm) / f.head_radius_mm).clamp(0.75, 1.3);
    // LPS of the femur's subject -> its pelvic frame -> LPS of the hip's.
    let rot: Rotation3<f64> = hip_frame.pelvic_from_lps().inverse() * femur_frame.pelvic_from_lps();
    let (cf, ca) = (f.head_centre.lps_mm, a.centre.lps_mm);
    let r = f.head_radius_mm * k0;
    let first = |p: &Point3<f64>| ca + rot * (p - cf) * k0;
    let head: Vec<Point3<f64>> = femur.vertices().iter().filter(|v| (*v - cf).norm() < f.head_radius_mm + 3.0).map(first).collect();
    let joint: Vec<Point3<f64>> = femur.vertices().iter().filter(|v| (*v - cf).norm() < f.head_radius_mm + JOINT_REACH_MM).map(first).collect();
    let near = Tris::new(hip, ca, r + JOINT_REACH_MM + SEAT_MAX_MOVE_MM + 10.0, None);
    if head.is_empty() || near.is_empty() {
        return Err(format!("hip_{}: no femoral head surface or no hip bone near the acetabulum at {ca:?}", side.as_str()));
    }
    // A pose x = (move, turn vector in rad): p -> ca + Rot(turn) (p - ca) + move.
    let pose = |x: &[f64; 6], p: &Point3<f64>| ca + Rotation3::new(Vector3::new(x[3], x[4], x[5])) * (p - ca) + Vector3::new(x[0], x[1], x[2]);
    let out = a.opening_axis_lps;
    let allowed = |x: &[f64; 6]| {
        let t = Vector3::new(x[0], x[1], x[2]);
        t.norm() <= SEAT_MAX_MOVE_MM && t.dot(&out) <= 0.0 && Vector3::new(x[3], x[4], x[5]).norm() <= SEAT_MAX_TURN_DEG.to_radians()
    };
    let clearance = |x: &[f64; 6]| joint.iter().map(|p| near.signed_distance(&pose(x, p))).fold(f64::INFINITY, f64::min);
    // Pattern search: each coordinate up and down, steps halved when none helps.
    let (mut x, mut best) = ([0.0; 6], clearance(&[0.0; 6]));
    let mut step = [1.0, 1.0, 1.0, 3f64.to_radians(), 3f64.to_radians(), 3f64.to_radians()];
    while step[0] > 0.05 {
        let mut moved_any = false;
        for d in 0..6 {
            for sgn in [1.0, -1.0] {
                let mut y = x;
                y[d] += sgn * step[d];
                if allowed(&y) {
                    let c = clearance(&y);
                    if c > best + 1e-6 {
                        (x, best, moved_any) = (y, c, true);
                    }
                }
            }
        }
        if !moved_any {
            step.iter_mut().for_each(|s| *s *= 0.5);
        }
    }
    // The scale about the (seated) head centre that makes the head's narrowest gap nominal.
    let centre = pose(&x, &ca);
    let head_gap = |k: f64| head.iter().map(|p| near.signed_distance(&(centre + (pose(&x, p) - centre) * k))).fold(f64::INFINITY, f64::min);
    let (lo, hi) = (0.75 / k0, 1.3 / k0);
    let k1 = if head_gap(hi) >= nominal_gap_mm {
        hi
    } else if head_gap(lo) < nominal_gap_mm {
        return Err(format!(
            "hip_{}: the femur cannot be seated in this socket: at the smallest scale (head radius {:.1} mm) its head's narrowest gap to the hip bone is {:.2} mm where {nominal_gap_mm} mm is asked (the socket is not a sphere this head fits)",
            side.as_str(),
            f.head_radius_mm * 0.75,
            head_gap(lo)
        ));
    } else {
        let (mut a, mut b) = (lo, hi);
        while b - a > 1e-5 {
            let m = 0.5 * (a + b);
            if head_gap(m) >= nominal_gap_mm { a = m } else { b = m }
        }
        a
    };
    // p -> centre + k1 (pose(first(p)) - centre)
    let turn = Rotation3::new(Vector3::new(x[3], x[4], x[5])) * rot;
    let lin = turn.matrix() * (k0 * k1);
    let t = centre.coords - lin * cf.coords;
    let mut m = Matrix4::identity();
    m.fixed_view_mut::<3, 3>(0, 0).copy_from(&lin);
    m.fixed_view_mut::<3, 1>(0, 3).copy_from(&t);
    Ok(m)
}

/// Triangles of a hip bone near a head, with bounding spheres for a quick rejection.
struct Tris {
    tris: Vec<[Point3<f64>; 3]>,
    /// Centroid and the farthest corner's distance from it.
    bounds: Vec<(Point3<f64>, f64)>,
    /// Every triangle of the mesh with its bounds, for the parity test.
    all: Vec<([Point3<f64>; 3], Point3<f64>, f64)>,
}

/// Centroid and the farthest corner's distance from it.
fn bound(t: &[Point3<f64>; 3]) -> (Point3<f64>, f64) {
    let m = Point3::from((t[0].coords + t[1].coords + t[2].coords) / 3.0);
    (m, t.iter().map(|p| (p - m).norm()).fold(0.0, f64::max))
}

impl Tris {
    /// Triangles of `mesh` with a corner within `reach` of `c` (and, with `cone = (u, cos)`,
    /// a corner within that cone about `u` seen from `c`).
    fn new(mesh: &Mesh, c: Point3<f64>, reach: f64, cone: Option<(Vector3<f64>, f64)>) -> Self {
        let all: Vec<([Point3<f64>; 3], Point3<f64>, f64)> = (0..mesh.triangles().len()).map(|t| mesh.corners(t)).map(|t| (t, bound(&t).0, bound(&t).1)).collect();
        let tris: Vec<[Point3<f64>; 3]> =
            all.iter().map(|a| a.0).filter(|t| t.iter().any(|p| (p - c).norm() < reach)).filter(|t| cone.is_none_or(|(u, cos)| t.iter().any(|p| (p - c).normalize().dot(&u) > cos))).collect();
        let bounds = tris.iter().map(bound).collect();
        Self { tris, bounds, all }
    }
    fn is_empty(&self) -> bool {
        self.tris.is_empty()
    }
    /// Distance from `p` to the nearest triangle, negative inside the surface. The side is
    /// read from the normals of every triangle sharing the nearest point (an edge's or a
    /// corner's pseudo-normal); where that says inside, it is checked by the parity of a ray's
    /// crossings with the whole surface, which does not trust the normals (the atlas surfaces
    /// are open and folded in places, and their normals there point the wrong way).
    fn signed_distance(&self, p: &Point3<f64>) -> f64 {
        let mut best = f64::INFINITY;
        let mut normal = Vector3::zeros();
        let mut at = *p;
        for (t, (m, rad)) in self.tris.iter().zip(&self.bounds) {
            if (p - m).norm() - rad > best + 1e-9 {
                continue;
            }
            let q = closest_on_triangle(p, t);
            let d = (p - q).norm();
            let n = (t[1] - t[0]).cross(&(t[2] - t[0])).normalize();
            if d < best - 1e-9 {
                (best, normal, at) = (d, n, q);
            } else if d <= best + 1e-9 && (q - at).norm() < 1e-6 {
                normal += n;
            }
        }
        if (p - at).dot(&normal) < 0.0 && self.inside_by_parity(p) { -best } else { best }
    }
    /// Whether a ray from `p` (a fixed direction off every axis) crosses the surface an odd
    /// number of times (Möller & Trumbore, J Graph Tools 2:21, 1997).
    fn inside_by_parity(&self, p: &Point3<f64>) -> bool {
        let d = Vector3::new(0.2672, 0.5345, 0.8018).normalize();
        let mut n = 0usize;
        for (t, m, rad) in &self.all {
            let w = m - p;
            let along = w.dot(&d);
            if along < -rad || (w - d * along).norm() > *rad {
                continue;
            }
            let (e1, e2) = (t[1] - t[0], t[2] - t[0]);
            let h = d.cross(&e2);
            let a = e1.dot(&h);
            if a.abs() < 1e-12 {
                continue;
            }
            let s = p - t[0];
            let u = s.dot(&h) / a;
            let q = s.cross(&e1);
            let v = d.dot(&q) / a;
            if u < 0.0 || v < 0.0 || u + v > 1.0 {
                continue;
            }
            if e2.dot(&q) / a > 0.0 {
                n += 1;
            }
        }
        n % 2 == 1
    }
}

//! Dysplasia and osteoarthritis measures of one hip (issue 62): Wiberg's lateral centre-edge
//! angle, Sharp's and Tönnis' angles, the head's extrusion index, Crowe's class and the minimum
//! joint space width, taken in 3D on the bone surfaces.
//!
//! The radiographic measures are read on an AP pelvis; coxa takes them in the pelvic frame's
//! coronal plane (the anterior pelvic plane facing the film, `x` horizontal, `z` vertical; the
//! ASIS line stands in for the inter-teardrop line, to which it is close in a pelvis seen
//! square), on the hip bone's section through the femoral head's centre:
//! - the **roof's lateral edge**: rays from the head's centre, from the vertical outwards in
//!   [`STEP_DEG`] steps, meet the section within [`ROOF_INSIDE_HEAD_MM`] inside to
//!   [`ROOF_BEYOND_HEAD_MM`] beyond the head's sphere while they meet the roof; the last such
//!   ray (gaps up to [`GAP_DEG`] bridged) ends at the edge. Where the ray straight up meets no
//!   roof, the first ray medially that does gives a negative angle;
//! - the **sourcil's medial edge** (the weight-bearing roof's): from the roof's point nearest the
//!   head, medially while the roof stays within [`SOURCIL_RISE_MM`] of that distance (the
//!   joint space widens towards the fossa);
//! - the **teardrop's tip**: [`super::teardrop_pelvic_mm`];
//! - the **socket's version at three heights** (half a head radius above the head's centre, at
//!   it, and half a radius below; coxa's levels): on axial sections, the line from the posterior
//!   to the anterior rim, each rim where rays from the head's axis stop meeting the socket.
//!
//! The joint space is measured where it is narrowest: the distance from each vertex of the
//! femoral head's surface facing the socket (within [`JOINT_CONE_DEG`] of its axis) to the hip
//! bone's surface, its [`JOINT_QUANTILE`] taken. Bone surfaces of a CT sit up to a voxel into
//! the joint space (partial volume), so they read it narrower than a radiograph does, and a
//! segmentation that closes it gives 0: the osteoarthritis grade, whose thresholds are
//! radiographic, is given only where the voxel is at most [`GRADE_VOXEL_MAX_MM`] (or for
//! surfaces given as such) and is not validated against radiographs.
//!
//! Without a femoral head (a pelvis alone) the socket's fitted sphere stands in for the head
//! (said in the notes); Crowe's class and the joint space then are not measured. Written by hand:
//! no crate measures these, and each is a few lines of plane geometry on coxa's own meshes.

use nalgebra::{Point3, Vector2};

use coxa_core::dysplasia::{Coverage, DysplasiaRecord, OaGrade};
use coxa_core::{AcetabulumLandmarks, Mesh, PelvicFrame, Side, closest_on_triangle};

/// Angle step of the ray walks, deg.
pub const STEP_DEG: f64 = 0.5;
/// A ray meets the roof when it meets bone at most this far beyond the head's sphere, mm (the
/// joint space and cartilage are 3-6 mm; the ilium's outer wall past the rim is farther).
pub const ROOF_BEYOND_HEAD_MM: f64 = 10.0;
/// ... and at most this far inside it, mm (a segmentation that closed the joint space puts the
/// socket on the head's own surface).
pub const ROOF_INSIDE_HEAD_MM: f64 = 3.0;
/// The sourcil (the weight-bearing roof): the roof within this of its distance from the head's
/// centre where it is nearest, mm.
pub const SOURCIL_RISE_MM: f64 = 1.0;
/// Gaps in a walk up to this are bridged (a coarse surface's missed triangle), deg.
pub const GAP_DEG: f64 = 2.0;
/// The head's surface facing the socket: within this of the socket's axis, deg.
pub const JOINT_CONE_DEG: f64 = 75.0;
/// The narrowest joint space: this quantile of the head's distances from the socket.
pub const JOINT_QUANTILE: f64 = 0.05;
/// A joint space narrower than this is closed on the surfaces (the segmentation joined head and
/// socket), mm.
pub const CLOSED_JOINT_MM: f64 = 0.5;
/// The coarsest CT voxel the osteoarthritis grade is given on, mm (its thresholds are 2.0 and
/// 2.5 mm).
pub const GRADE_VOXEL_MAX_MM: f64 = 1.0;

/// What one hip's measures are taken from (LPS mm).
#[derive(Debug, Clone, Copy)]
pub struct HipSurfaces<'a> {
    /// The side.
    pub side: Side,
    /// Its hip bone.
    pub hip: &'a Mesh,
    /// Its femur, if imaged.
    pub femur: Option<&'a Mesh>,
    /// Its socket.
    pub acetabulum: &'a AcetabulumLandmarks,
    /// The femoral head's centre and radius, if found.
    pub head: Option<(Point3<f64>, f64)>,
    /// The CT's largest voxel side, mm, when the surfaces were found on a CT.
    pub voxel_mm: Option<f64>,
}

/// The measures of one hip in the pelvic frame `frame`.
pub fn dysplasia(h: &HipSurfaces, frame: &PelvicFrame) -> DysplasiaRecord {
    let s = h.side.lateral_sign();
    let mut notes = Vec::new();
    let (head_lps, r) = h.head.unwrap_or_else(|| {
        notes.push("no femoral head: the socket's fitted sphere stands in for it (no Crowe class, no joint space)".into());
        (h.acetabulum.centre.lps_mm, h.acetabulum.radius_mm)
    });
    let c = frame.point_to_pelvic(&head_lps);
    let to_pelvic = |centre: &Point3<f64>, t: f64, theta: f64| Point3::new(centre.x + s * t * theta.to_radians().sin(), centre.y, centre.z + t * theta.to_radians().cos());

    // The roof's lateral edge, from the head's centre.
    let coronal = section(h.hip, frame, &c, Plane::Coronal, s, 3.0 * r + ROOF_BEYOND_HEAD_MM);
    let roof = |theta: f64| nearest_hit(&coronal, theta).filter(|t| (r - ROOF_INSIDE_HEAD_MM..=r + ROOF_BEYOND_HEAD_MM).contains(t));
    let edge = match roof(0.0) {
        Some(_) => walk(&roof, 0.0, 1.0, 90.0),
        None => first_hit(&roof, -STEP_DEG, -1.0, 60.0),
    };
    if edge.is_none() {
        notes.push("no acetabular roof over the femoral head in the coronal section through its centre: no centre-edge, Sharp or Tönnis angle, no extrusion index".into());
    }
    let lateral_edge = edge.map(|(theta, t)| (theta, to_pelvic(&c, t, theta)));
    let lce_deg = lateral_edge.map(|(theta, _)| theta);
    let extrusion_index_percent = lateral_edge.map(|(_, p)| 100.0 * (r - s * (p.x - c.x)).clamp(0.0, 2.0 * r) / (2.0 * r));

    // The sourcil's medial edge: from where the roof is nearest the head, medially while it
    // stays within [`SOURCIL_RISE_MM`] of that.
    let narrowest = lce_deg.and_then(|l| {
        let n = ((l + 60.0) / STEP_DEG).floor().max(0.0) as usize;
        (0..=n).map(|k| -60.0 + k as f64 * STEP_DEG).filter_map(|th| roof(th).map(|t| (th, t))).min_by(|a, b| a.1.total_cmp(&b.1))
    });
    let sourcil = |limit: f64| move |theta: f64| roof(theta).filter(|t| *t <= limit);
    let medial_edge = narrowest.and_then(|(th, t)| walk(&sourcil(t + SOURCIL_RISE_MM), th, -1.0, 90.0)).map(|(theta, t)| to_pelvic(&c, t, theta));
    if lce_deg.is_some() && medial_edge.is_none() {
        notes.push("no sourcil in the coronal section through the head's centre".into());
    }
    let angle_to = |from: &Point3<f64>, to: &Point3<f64>| (to.z - from.z).atan2(s * (to.x - from.x)).to_degrees();
    let tonnis_deg = medial_edge.zip(lateral_edge).map(|(m, (_, l))| angle_to(&m, &l));

    // The socket's version at three heights (half a head radius above the centre, at it, half
    // below).
    let version = [0.5, 0.0, -0.5].map(|k| version_at(h.hip, frame, &c, r, s, k * r));
    if version.iter().any(Option::is_none) {
        notes.push("the socket's version not found at every height (no rim on one side of an axial section)".into());
    }
    let teardrop = super::teardrop_pelvic_mm(h.hip, frame, h.acetabulum, h.side);
    if teardrop.is_none() {
        notes.push("no teardrop (the obturator foramen not imaged below the socket): no Sharp angle, no Crowe class".into());
    }
    let sharp_deg = teardrop.zip(lateral_edge).map(|(td, (_, l))| angle_to(&td, &l));

    // Crowe: the head's inferior pole stands in for the medial head-neck junction.
    let crowe_subluxation_percent = h.head.and(teardrop).map(|td| 100.0 * ((c.z - r) - td.z).max(0.0) / (2.0 * r));
    let crowe = crowe_subluxation_percent.map(|p| match p {
        p if p < 50.0 => 1,
        p if p < 75.0 => 2,
        p if p <= 100.0 => 3,
        _ => 4,
    });

    let joint = match (h.femur, h.head) {
        (Some(femur), Some((centre, radius))) => min_joint_space(h.hip, femur, &centre, radius, h.acetabulum),
        _ => None,
    };
    if h.head.is_some() && joint.is_none() {
        notes.push("no femoral head surface facing the socket: no joint space".into());
    }
    let closed = joint.is_some_and(|j| j.0 < CLOSED_JOINT_MM);
    if closed {
        notes.push(format!("the joint space is closed on these surfaces (narrowest {:.1} mm: a segmentation that joined head and socket): the roof may follow the head's own outline, so the centre-edge and Tönnis angles are uncertain and not classed", joint.map_or(0.0, |j| j.0)));
    }
    let gradable = h.voxel_mm.is_none_or(|v| v <= GRADE_VOXEL_MAX_MM);
    if let (Some(v), Some(_), false) = (h.voxel_mm, joint, gradable) {
        notes.push(format!("no osteoarthritis grade: the CT's {v:.1} mm voxels are coarser than its 2.0-2.5 mm joint-space thresholds (the joint space is given, to about a voxel)"));
    }
    let p3 = |p: &Point3<f64>| [p.x, p.y, p.z];
    DysplasiaRecord {
        side: h.side,
        lce_deg,
        coverage: lce_deg.filter(|_| !closed).map(Coverage::of_lce),
        sharp_deg,
        tonnis_deg,
        extrusion_index_percent,
        version_cranial_deg: version[0],
        version_central_deg: version[1],
        version_caudal_deg: version[2],
        crowe,
        crowe_subluxation_percent,
        min_joint_space_mm: joint.map(|j| j.0),
        min_joint_space_at_lps_mm: joint.map(|j| p3(&j.1)),
        oa_grade: joint.filter(|_| gradable).map(|j| OaGrade::of_jsw(j.0)),
        lateral_edge_pelvic_mm: lateral_edge.map(|(_, p)| p3(&p)),
        sourcil_medial_edge_pelvic_mm: medial_edge.as_ref().map(p3),
        teardrop_pelvic_mm: teardrop.as_ref().map(p3),
        method: "3D, pelvic frame's coronal plane through the femoral head's centre (x horizontal, z vertical); roof edge by rays from the head's centre meeting bone within 3 mm inside to 10 mm beyond its sphere; sourcil medially from the roof's point nearest the head while within 1 mm of that distance; Crowe from the head's inferior pole above the teardrop over the head's diameter; joint space the 5th percentile of the distances from the head's surface facing the socket to the hip bone".into(),
        notes,
    }
}

/// A segment of a section, in (lateral, superior) mm from its centre.
type Segment = [Vector2<f64>; 2];

/// A plane of the pelvic frame through a centre, with the in-plane axes a section is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plane {
    /// Coronal (normal `y`): (lateral, superior).
    Coronal,
    /// Axial (normal `z`): (lateral, anterior).
    Axial,
}

/// The section of `mesh` by `plane` through `c` (pelvic mm), as segments in the plane's axes
/// (lateral by `s`) from `c`, of the triangles within `reach` of it.
fn section(mesh: &Mesh, frame: &PelvicFrame, c: &Point3<f64>, plane: Plane, s: f64, reach: f64) -> Vec<Segment> {
    let mut out = Vec::new();
    for t in 0..mesh.triangles().len() {
        let q = mesh.corners(t).map(|p| frame.point_to_pelvic(&p));
        if q.iter().all(|p| (p - c).norm() > reach) {
            continue;
        }
        let d = q.map(|p| if plane == Plane::Coronal { p.y - c.y } else { p.z - c.z });
        let mut cut = Vec::with_capacity(2);
        for (i, j) in [(0, 1), (1, 2), (2, 0)] {
            if (d[i] < 0.0) != (d[j] < 0.0) {
                let f = d[i] / (d[i] - d[j]);
                let p = q[i] + (q[j] - q[i]) * f;
                let w = if plane == Plane::Coronal { p.z - c.z } else { c.y - p.y };
                cut.push(Vector2::new(s * (p.x - c.x), w));
            }
        }
        if let [a, b] = cut[..] {
            out.push([a, b]);
        }
    }
    out
}

/// The socket's version at `h` mm above the head's centre `c` (pelvic mm, radius `r`): the angle
/// of the line from the posterior to the anterior rim of the axial section from the sagittal
/// direction, positive when the anterior rim lies medial of the posterior (anteversion). The rims
/// end the walks, anteriorly and posteriorly, of the rays from the head's axis that meet the
/// socket within [`ROOF_INSIDE_HEAD_MM`] inside to [`ROOF_BEYOND_HEAD_MM`] beyond the head's
/// circle at that height, from the ray nearest the medial direction that does.
fn version_at(hip: &Mesh, frame: &PelvicFrame, c: &Point3<f64>, r: f64, s: f64, h: f64) -> Option<f64> {
    let rho = (r * r - h * h).max(0.0).sqrt();
    let at = Point3::new(c.x, c.y, c.z + h);
    let axial = section(hip, frame, &at, Plane::Axial, s, 3.0 * r + ROOF_BEYOND_HEAD_MM);
    // Rays from the anterior direction (0) towards lateral (+90); medial is -90, posterior -180.
    let wall = |theta: f64| nearest_hit(&axial, theta).filter(|t| (rho - ROOF_INSIDE_HEAD_MM..=rho + ROOF_BEYOND_HEAD_MM).contains(t));
    let start = (0..=120).map(|k| f64::from(k) * STEP_DEG).flat_map(|d| [-90.0 + d, -90.0 - d]).find(|&th| wall(th).is_some())?;
    let point = |(theta, t): (f64, f64)| Vector2::new(t * theta.to_radians().sin(), t * theta.to_radians().cos());
    let anterior = point(walk(&wall, start, 1.0, 270.0)?);
    let posterior = point(walk(&wall, start, -1.0, 270.0)?);
    Some((posterior.x - anterior.x).atan2(anterior.y - posterior.y).to_degrees())
}

/// Distance along the ray from the centre at `theta_deg` from the vertical (positive lateral) to
/// the nearest segment it meets.
fn nearest_hit(section: &[Segment], theta_deg: f64) -> Option<f64> {
    let d = Vector2::new(theta_deg.to_radians().sin(), theta_deg.to_radians().cos());
    let cross = |a: &Vector2<f64>, b: &Vector2<f64>| a.x * b.y - a.y * b.x;
    section
        .iter()
        .filter_map(|[p, q]| {
            let e = q - p;
            let den = cross(&d, &e);
            if den.abs() < 1e-12 {
                return None;
            }
            let (t, u) = (cross(p, &e) / den, cross(p, &d) / den);
            (t > 0.0 && (0.0..=1.0).contains(&u)).then_some(t)
        })
        .min_by(f64::total_cmp)
}

/// From `start` (which `hit` meets), in `dir` (+1 lateral, -1 medial) up to `limit_deg` from the
/// vertical: the last angle `hit` meets, with its distance, gaps up to [`GAP_DEG`] bridged.
fn walk(hit: &impl Fn(f64) -> Option<f64>, start: f64, dir: f64, limit_deg: f64) -> Option<(f64, f64)> {
    let mut last = hit(start).map(|t| (start, t))?;
    let mut theta = start;
    loop {
        theta += dir * STEP_DEG;
        if theta.abs() > limit_deg || (theta - last.0).abs() > GAP_DEG + 1e-9 {
            return Some(last);
        }
        if let Some(t) = hit(theta) {
            last = (theta, t);
        }
    }
}

/// The first angle from `start` in `dir`, within `limit_deg` of the vertical, that `hit` meets.
fn first_hit(hit: &impl Fn(f64) -> Option<f64>, start: f64, dir: f64, limit_deg: f64) -> Option<(f64, f64)> {
    (0u32..).map(|k| start + dir * f64::from(k) * STEP_DEG).take_while(|theta| theta.abs() <= limit_deg + 1e-9).find_map(|theta| hit(theta).map(|t| (theta, t)))
}

/// The joint space where it is narrowest: the [`JOINT_QUANTILE`] of the distances from the
/// femur's head surface facing the socket to the hip bone (the least distance alone is one
/// vertex's noise), and where on the head those at or below it lie (their mean, LPS mm).
fn min_joint_space(hip: &Mesh, femur: &Mesh, centre: &Point3<f64>, r: f64, acetabulum: &AcetabulumLandmarks) -> Option<(f64, Point3<f64>)> {
    let into_socket = -acetabulum.opening_axis_lps;
    let cos_cone = JOINT_CONE_DEG.to_radians().cos();
    let near: Vec<[Point3<f64>; 3]> = (0..hip.triangles().len()).map(|t| hip.corners(t)).filter(|c| c.iter().any(|p| (p - centre).norm() <= r + ROOF_BEYOND_HEAD_MM + 5.0)).collect();
    let mut d: Vec<(f64, Point3<f64>)> = femur
        .vertices()
        .iter()
        .filter(|v| {
            let d = *v - centre;
            let n = d.norm();
            n <= r + 3.0 && n > 0.5 * r && d.dot(&into_socket) >= cos_cone * n
        })
        .filter_map(|v| near.iter().map(|t| (closest_on_triangle(v, t) - v).norm()).min_by(f64::total_cmp).map(|d| (d, *v)))
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(|a, b| a.0.total_cmp(&b.0));
    let k = ((d.len() - 1) as f64 * JOINT_QUANTILE).round() as usize;
    let at = d[..=k].iter().fold(nalgebra::Vector3::zeros(), |acc, (_, p)| acc + p.coords) / (k + 1) as f64;
    Some((d[k].0, Point3::from(at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ray straight up meets a horizontal segment above the centre at its height.
    #[test]
    fn rays_meet_the_section_where_it_is() {
        let seg = vec![[Vector2::new(-10.0, 25.0), Vector2::new(10.0, 25.0)]];
        assert!((nearest_hit(&seg, 0.0).unwrap() - 25.0).abs() < 1e-9);
        let t = nearest_hit(&seg, 20.0).unwrap();
        assert!((t * 20f64.to_radians().cos() - 25.0).abs() < 1e-9);
        assert!(nearest_hit(&seg, 60.0).is_none(), "the ray passes beyond the segment's end");
        assert!(nearest_hit(&seg, 180.0).is_none(), "the ray points away");
    }

    /// A roof arc from 40 deg medial to 30 deg lateral: the walk ends at the arc's ends.
    #[test]
    fn the_walk_ends_where_the_roof_ends() {
        let arc: Vec<Segment> = (-80..60)
            .map(|k| {
                let (a, b) = ((f64::from(k) * 0.5).to_radians(), (f64::from(k + 1) * 0.5).to_radians());
                [Vector2::new(27.0 * a.sin(), 27.0 * a.cos()), Vector2::new(27.0 * b.sin(), 27.0 * b.cos())]
            })
            .collect();
        let hit = |theta: f64| nearest_hit(&arc, theta).filter(|t| (t - 27.0).abs() < 1.0);
        let (lat, _) = walk(&hit, 0.0, 1.0, 90.0).unwrap();
        let (med, _) = walk(&hit, 0.0, -1.0, 90.0).unwrap();
        assert!((lat - 30.0).abs() <= STEP_DEG, "{lat}");
        assert!((med + 40.0).abs() <= STEP_DEG, "{med}");
        // Medially from 50 deg lateral (beyond the arc): the first ray meeting it is its end.
        let (first, _) = first_hit(&hit, 50.0, -1.0, 60.0).unwrap();
        assert!((first - 30.0).abs() <= STEP_DEG, "{first}");
        assert!(first_hit(&hit, 50.0, 1.0, 60.0).is_none(), "laterally from 50 deg no ray meets the arc");
    }
}

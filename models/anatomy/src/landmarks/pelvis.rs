//! Pelvic landmarks: acetabular centre, radius, rim plane and opening axis; ASIS and pubic
//! tubercles; the anterior pelvic plane frame and native acetabular angles.

use std::collections::HashMap;

use nalgebra::{Point3, Vector3};

use coxa_core::{CupAngleDefinition, CupAngles, Mesh, PelvicFrame, Side};

use super::femur::{on_shell, refine_sphere, shell_tolerance_mm};
use super::fit::{Sphere, fit_plane};
use super::{AcetabulumLandmarks, Landmark, LandmarkError, PelvisLandmarks, Surface, perpendicular};

/// Radii searched for the acetabulum, mm.
const ACETABULUM_RADII_MM: std::ops::RangeInclusive<u32> = 18..=34;
/// Azimuth bins around the opening axis for rim points.
const RIM_BINS: usize = 48;

fn structure(side: Side) -> String {
    format!("hip_{}", side.as_str())
}

/// Acetabulum of a hip bone surface. `femoral_head` (centre, radius) seeds the search when the
/// femur is known; otherwise the socket is found by sphere-Hough voting along the normals.
pub fn acetabulum_landmarks(mesh: &Mesh, side: Side, femoral_head: Option<(Point3<f64>, f64)>) -> Result<AcetabulumLandmarks, LandmarkError> {
    super::check_budget(&structure(side), mesh)?;
    let s = Surface::new(mesh);
    if s.p.len() < 200 {
        return Err(LandmarkError::TooFewVertices { structure: structure(side), n: s.p.len(), min: 200 });
    }
    let not_found = |why: String| LandmarkError::NotFound { structure: structure(side), what: "acetabulum", why };
    let seed = match femoral_head {
        Some((c, _)) => c,
        None => hough_socket(&s).ok_or_else(|| not_found("no concave spherical region of 18-34 mm radius".into()))?,
    };
    // The socket is concave: its outward normals point towards the centre.
    let seed_r = femoral_head.map_or(26.0, |(_, r)| r + 1.5);
    let sph = seeded_concave_sphere(&s, &seed, seed_r).ok_or_else(|| not_found("the sphere fit did not converge".into()))?;
    let (axis, rim_point, rim) = rim_plane(&s, &sph).ok_or_else(|| not_found("no rim found around the socket".into()))?;
    let n_rim = rim.len();
    let rim_diameter_mm = super::fit::fit_circle_in_plane(&rim, &rim_point, &axis).map_or(f64::NAN, |(_, r)| 2.0 * r);
    let (lunate, n_fossa) = socket_surface(&s, &sph, &axis);
    let joint_space_mm = femoral_head.and_then(|(c, r)| median(lunate.iter().map(|p| (p - c).norm() - r).collect()));
    let problem =
        (!(18.0..=36.0).contains(&sph.radius_mm) || sph.rms_mm > 1.5 || n_rim < RIM_BINS / 3).then(|| format!("socket radius {:.1} mm, RMS {:.2} mm, {n_rim} rim points", sph.radius_mm, sph.rms_mm));
    Ok(AcetabulumLandmarks {
        side,
        centre: Landmark::checked(sph.centre, problem),
        radius_mm: sph.radius_mm,
        fit_rms_mm: sph.rms_mm,
        opening_axis_lps: axis,
        rim_plane_point_lps_mm: rim_point,
        n_rim_points: n_rim,
        rim_points_lps_mm: rim,
        rim_diameter_mm,
        n_lunate_vertices: lunate.len(),
        n_fossa_vertices: n_fossa,
        joint_space_mm,
    })
}

/// The socket's surface split as a surgeon sees it: the lunate (articular) vertices, on the
/// fitted sphere within its shell tolerance and facing its centre, and the number of fossa
/// vertices, facing the centre but deeper than the sphere by more than the tolerance (up to
/// 15 mm), within 60 deg of the pole.
fn socket_surface(s: &Surface, sph: &Sphere, axis: &Vector3<f64>) -> (Vec<Point3<f64>>, usize) {
    let tol = shell_tolerance_mm(sph.radius_mm);
    let mut lunate = Vec::new();
    let mut fossa = 0;
    for (p, n) in s.p.iter().zip(&s.n) {
        let v = p - sph.centre;
        let d = v.norm();
        if -n.dot(&v) <= 0.5 * d {
            continue;
        }
        if on_shell(sph, p, n, false) {
            lunate.push(*p);
        } else if d > sph.radius_mm + tol && d < sph.radius_mm + 15.0 && -v.dot(axis) > 0.5 * d {
            fossa += 1;
        }
    }
    (lunate, fossa)
}

/// Median of the values (`None` when empty).
fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { 0.5 * (v[m - 1] + v[m]) })
}

/// Peak of the votes `p + r n` over the socket radii (2 mm cells centred on multiples of 2 mm,
/// so that a mirrored surface votes into mirrored cells; 3x3x3 summed).
fn hough_socket(s: &Surface) -> Option<Point3<f64>> {
    const CELL: f64 = 2.0;
    let mut votes: HashMap<[i32; 3], f32> = HashMap::new();
    for (p, n) in s.p.iter().zip(&s.n) {
        for r in ACETABULUM_RADII_MM {
            let q = p + n * f64::from(r);
            let key = [(q.x / CELL).round() as i32, (q.y / CELL).round() as i32, (q.z / CELL).round() as i32];
            *votes.entry(key).or_insert(0.0) += 1.0;
        }
    }
    let score = |k: &[i32; 3]| -> f32 {
        let mut sum = 0.0;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    sum += votes.get(&[k[0] + dx, k[1] + dy, k[2] + dz]).copied().unwrap_or(0.0);
                }
            }
        }
        sum
    };
    let best = votes.keys().max_by(|a, b| score(a).total_cmp(&score(b)).then_with(|| b.cmp(a)))?;
    Some(Point3::new(f64::from(best[0]) * CELL, f64::from(best[1]) * CELL, f64::from(best[2]) * CELL))
}

/// A concave sphere around `centre`: start from the vertices at about `r` whose normals point to
/// the centre, then refine.
fn seeded_concave_sphere(s: &Surface, centre: &Point3<f64>, r: f64) -> Option<Sphere> {
    let sel: Vec<Point3<f64>> =
        s.p.iter()
            .zip(&s.n)
            .filter(|(p, n)| {
                let v = *p - centre;
                let d = v.norm();
                (d - r).abs() < 6.0 && -n.dot(&v) > 0.7 * d
            })
            .map(|(p, _)| *p)
            .collect();
    let first = super::fit::fit_sphere(&sel)?;
    // Re-centre on the first fit and refine with the shell test.
    refine_sphere(s, &first.centre, first.radius_mm + 3.0, false).filter(|f| (f.centre - centre).norm() < r)
}

/// Rim plane of the socket: for each azimuth around the current opening axis, the socket vertex
/// farthest from the pole; a plane through them; repeated with the new axis. Azimuth is counted
/// from the superior direction, symmetric bins, so a mirrored socket gives the mirrored rim.
/// The rim plane's normal, a point of it and the rim points.
type Rim = (Vector3<f64>, Point3<f64>, Vec<Point3<f64>>);

fn rim_plane(s: &Surface, sph: &Sphere) -> Option<Rim> {
    let socket: Vec<(Point3<f64>, Vector3<f64>)> = s.p.iter().zip(&s.n).filter(|(p, n)| on_shell(sph, p, n, false)).map(|(p, _)| (*p, (*p - sph.centre).normalize())).collect();
    if socket.len() < 20 {
        return None;
    }
    let mean_dir: Vector3<f64> = socket.iter().map(|(_, d)| *d).sum();
    let mut axis = (-mean_dir).try_normalize(1e-9)?;
    let mut result = None;
    for _ in 0..5 {
        let e1 = perpendicular(&Vector3::z(), &axis).or_else(|| perpendicular(&Vector3::y(), &axis))?;
        let e2 = axis.cross(&e1);
        let mut bins: Vec<Option<(f64, Point3<f64>)>> = vec![None; RIM_BINS];
        for (p, d) in &socket {
            let az = d.dot(&e2).atan2(d.dot(&e1));
            let b = (((az + std::f64::consts::PI) / std::f64::consts::TAU) * RIM_BINS as f64) as usize % RIM_BINS;
            let pole_angle = (-d.dot(&axis)).clamp(-1.0, 1.0).acos(); // 0 at the pole (deep), 90 deg at a hemisphere's rim
            if bins[b].is_none_or(|(a, _)| pole_angle > a) {
                bins[b] = Some((pole_angle, *p));
            }
        }
        let rim: Vec<Point3<f64>> = bins.into_iter().flatten().map(|(_, p)| p).collect();
        let (point, mut normal) = fit_plane(&rim)?;
        if normal.dot(&axis) < 0.0 {
            normal = -normal;
        }
        let converged = (normal - axis).norm() < 1e-9;
        axis = normal;
        result = Some((axis, point, rim));
        if converged {
            break;
        }
    }
    result
}

/// The anterior pelvic plane: both ASIS and pubic tubercles as the most anterior points of
/// their regions, found again in the frame they define until the frame stops turning (the APP
/// is then the plane touching the pelvis anteriorly at those four points).
pub fn pelvis_landmarks(hip_left: &Mesh, hip_right: &Mesh, acetabulum_left: &AcetabulumLandmarks, acetabulum_right: &AcetabulumLandmarks) -> Result<PelvisLandmarks, LandmarkError> {
    super::check_budget(&structure(Side::Left), hip_left)?;
    super::check_budget(&structure(Side::Right), hip_right)?;
    let c_l = acetabulum_left.centre.lps_mm;
    let c_r = acetabulum_right.centre.lps_mm;
    let mut frame = PelvicFrame::aligned_with_lps(nalgebra::center(&c_l, &c_r));
    let mut found = None;
    for _ in 0..20 {
        let mid = frame.point_to_pelvic(&nalgebra::center(&c_l, &c_r)).x;
        let pick = |mesh: &Mesh, c: &Point3<f64>, side: Side| -> Result<(Point3<f64>, Point3<f64>), LandmarkError> {
            let cp = frame.point_to_pelvic(c);
            let half_width = (cp.x - mid).abs();
            let pts = mesh.vertices().iter().map(|p| (*p, frame.point_to_pelvic(p)));
            let asis = pts.clone().filter(|(_, q)| q.z > cp.z + 20.0).min_by(|a, b| a.1.y.total_cmp(&b.1.y)).map(|(p, _)| p);
            let tubercle = pts.filter(|(_, q)| q.z < cp.z - 10.0 && (q.x - mid).abs() < 0.5 * half_width).min_by(|a, b| a.1.y.total_cmp(&b.1.y)).map(|(p, _)| p);
            let nf = |what| LandmarkError::NotFound { structure: structure(side), what, why: "no surface in its region of the pelvis".into() };
            Ok((asis.ok_or_else(|| nf("ASIS"))?, tubercle.ok_or_else(|| nf("pubic tubercle"))?))
        };
        let (asis_l, pt_l) = pick(hip_left, &c_l, Side::Left)?;
        let (asis_r, pt_r) = pick(hip_right, &c_r, Side::Right)?;
        let next = PelvicFrame::from_landmarks(asis_l, asis_r, pt_l, pt_r).map_err(|e| LandmarkError::Frame { structure: "pelvis".into(), what: "anterior pelvic plane", source: Box::new(e) })?;
        let turned = (next.pelvic_from_lps().matrix() - frame.pelvic_from_lps().matrix()).abs().max();
        frame = next;
        found = Some((asis_l, asis_r, pt_l, pt_r));
        if turned < 1e-9 {
            break;
        }
    }
    let (asis_l, asis_r, pt_l, pt_r) = found.expect("the loop runs at least once");
    let asis_dist = (asis_l - asis_r).norm();
    let height = frame.point_to_pelvic(&asis_l).z - frame.point_to_pelvic(&pt_l).z;
    let problem = (!(150.0..=320.0).contains(&asis_dist) || !(40.0..=140.0).contains(&height))
        .then(|| format!("ASIS {asis_dist:.0} mm apart, {height:.0} mm above the pubic tubercles (expected 150-320, 40-140)"));
    let mut acetabular_angles = Vec::new();
    for a in [acetabulum_left, acetabulum_right] {
        let axis = frame.vector_to_pelvic(&a.opening_axis_lps);
        let all = [CupAngleDefinition::Radiographic, CupAngleDefinition::Operative, CupAngleDefinition::Anatomic].into_iter().filter_map(|d| CupAngles::from_axis(&axis, a.side, d).ok()).collect();
        acetabular_angles.push((a.side, all));
    }
    Ok(PelvisLandmarks {
        frame,
        asis_left: Landmark::checked(asis_l, problem.clone()),
        asis_right: Landmark::checked(asis_r, problem.clone()),
        pubic_tubercle_left: Landmark::checked(pt_l, problem.clone()),
        pubic_tubercle_right: Landmark::checked(pt_r, problem),
        acetabular_angles,
    })
}

//! What touches at a range-of-motion limit, named by anatomy (issue 60): "femoral neck against
//! anterior acetabular rim", not "femur-pelvis".
//!
//! The simulator reports which parts touched (`neck-liner_rim`, `neck-pelvis`, `femur-cup`,
//! `femur-pelvis`), the point of contact on the pelvis and the touching point of the femur (or
//! its implant) on the femur as imaged. [`name_contact`] names each side from the landmarks
//! coxa found, by a rule written here once so that every reader (plan, desk, report) gives the
//! same names:
//!
//! **Pelvic side** (in the pelvic frame, about the native acetabulum of the operated side):
//! - a contact with the implant is the cup's rim (`femur-cup`) or the liner's rim (`neck-liner_rim`,
//!   `neck-liner`);
//! - a bone point within [`RIM_REACH_MM`] of the acetabular rim (the circle fitted to the rim
//!   points) is the **anterior, posterior, superior or inferior acetabular rim**, by the larger of
//!   its anterior and superior components from the rim's centre;
//! - a bone point farther out is named by the quadrant it lies in about the acetabular centre,
//!   seen from the side: anterosuperior **AIIS** (within [`AIIS_REACH_MM`] above the centre; the
//!   **ilium** higher), posterosuperior **ilium**, anteroinferior **pubis**, posteroinferior
//!   **ischium**.
//!
//! **Femoral side** (on the femur as imaged):
//! - a contact of the implant's neck is the **prosthetic neck**;
//! - a bone point is named by the nearest of four structures, each by the distance from its
//!   landmark less the structure's typical radius: the **greater trochanter** (its tip), the
//!   **lesser trochanter**, the **femoral neck** (the segment of the neck axis from the head centre
//!   to the point nearest the shaft axis, radius [`NECK_RADIUS_MM`]), and the **femoral shaft**
//!   (the shaft axis below the lesser trochanter, radius [`SHAFT_RADIUS_MM`]).
//!
//! The rule is geometric and coarse on purpose: it names the region a surgeon would look at,
//! not a segmentation of the bone into structures.

use nalgebra::{Point3, Vector3};
use serde::{Deserialize, Serialize};

use crate::{AcetabulumLandmarks, FemurLandmarks, PelvicFrame};

/// A bone point this near the acetabular rim (mm, from the rim circle) is the rim.
pub const RIM_REACH_MM: f64 = 12.0;
/// Anterosuperior bone up to this height above the acetabular centre (mm) is the AIIS.
pub const AIIS_REACH_MM: f64 = 50.0;
/// Typical radius of the femoral neck, mm (its surface is this far from its axis).
pub const NECK_RADIUS_MM: f64 = 14.0;
/// Typical radius of the proximal femoral shaft, mm.
pub const SHAFT_RADIUS_MM: f64 = 14.0;

/// The two structures that touch, femoral side first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContactStructures {
    /// The femur's side: `greater trochanter`, `lesser trochanter`, `femoral neck`, `femoral
    /// shaft` or `prosthetic neck`.
    pub femoral: String,
    /// The pelvis's side: `anterior|posterior|superior|inferior acetabular rim`, `AIIS`, `ilium`,
    /// `pubis`, `ischium`, `cup rim` or `liner rim`.
    pub pelvic: String,
}

impl ContactStructures {
    /// "femoral neck against anterior acetabular rim".
    pub fn phrase(&self) -> String {
        format!("{} against {}", self.femoral, self.pelvic)
    }
}

/// The landmarks a contact is named from: the operated side's acetabulum and femur, in the
/// pelvic frame of the case.
#[derive(Debug, Clone, Copy)]
pub struct ContactAnatomy<'a> {
    /// The pelvic frame.
    pub frame: &'a PelvicFrame,
    /// The operated side's native acetabulum.
    pub acetabulum: &'a AcetabulumLandmarks,
    /// The operated femur.
    pub femur: &'a FemurLandmarks,
}

impl<'a> From<&'a crate::HipAnatomy> for ContactAnatomy<'a> {
    fn from(h: &'a crate::HipAnatomy) -> Self {
        Self { frame: &h.frame, acetabulum: &h.acetabulum, femur: &h.femur }
    }
}

/// The structures that touch at a contact of `parts` (the simulator's `neck-liner_rim`,
/// `neck-liner`, `neck-pelvis`, `femur-cup`, `femur-pelvis`), at `pelvis_point_lps_mm` (the point
/// of contact, LPS of the pelvis as imaged) and `femur_point_lps_mm` (the touching point on the
/// femur as imaged, before the motion). `None` for parts this rule does not know, and for a
/// contact of bone without the landmarks to name it (`anatomy` `None`: implants alone).
pub fn name_contact(parts: &str, pelvis_point_lps_mm: &Point3<f64>, femur_point_lps_mm: &Point3<f64>, anatomy: Option<&ContactAnatomy>) -> Option<ContactStructures> {
    let (femoral_part, pelvic_part) = parts.split_once('-')?;
    let femoral = match femoral_part {
        "neck" => "prosthetic neck",
        "femur" => femoral_structure(femur_point_lps_mm, anatomy?.femur),
        _ => return None,
    };
    let pelvic = match pelvic_part {
        "liner_rim" | "liner" => "liner rim",
        "cup" => "cup rim",
        "pelvis" => pelvic_structure(pelvis_point_lps_mm, anatomy?),
        _ => return None,
    };
    Some(ContactStructures { femoral: femoral.into(), pelvic: pelvic.into() })
}

fn pelvic_structure(q: &Point3<f64>, a: &ContactAnatomy) -> &'static str {
    let acetabulum = a.acetabulum;
    // Anterior and superior components in the pelvic frame.
    let split = |v: &Vector3<f64>| {
        let p = a.frame.vector_to_pelvic(v);
        (-p.y, p.z)
    };
    // The rim circle: its centre, plane normal and radius.
    let n = acetabulum.opening_axis_lps.normalize();
    let w = q - acetabulum.rim_plane_point_lps_mm;
    let height = w.dot(&n);
    let in_plane = w - n * height;
    let from_rim = ((in_plane.norm() - acetabulum.rim_diameter_mm / 2.0).powi(2) + height.powi(2)).sqrt();
    if from_rim <= RIM_REACH_MM {
        let (ant, sup) = split(&in_plane);
        return match (ant.abs() >= sup.abs(), ant >= 0.0, sup >= 0.0) {
            (true, true, _) => "anterior acetabular rim",
            (true, false, _) => "posterior acetabular rim",
            (false, _, true) => "superior acetabular rim",
            (false, _, false) => "inferior acetabular rim",
        };
    }
    let (ant, sup) = split(&(q - acetabulum.centre.lps_mm));
    match (ant >= 0.0, sup >= 0.0) {
        (true, true) if sup <= AIIS_REACH_MM => "AIIS",
        (_, true) => "ilium",
        (true, false) => "pubis",
        (false, false) => "ischium",
    }
}

/// Distance from `p` to the segment `a`-`b`.
fn to_segment(p: &Point3<f64>, a: &Point3<f64>, b: &Point3<f64>) -> f64 {
    let ab = b - a;
    let t = if ab.norm_squared() > 0.0 { ((p - a).dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0) } else { 0.0 };
    (p - (a + ab * t)).norm()
}

/// The point of the line `p + s u` nearest the line `q + t v` (`p` when they are parallel).
fn nearest_on_line(p: &Point3<f64>, u: &Vector3<f64>, q: &Point3<f64>, v: &Vector3<f64>) -> Point3<f64> {
    let (uu, uv, vv) = (u.dot(u), u.dot(v), v.dot(v));
    let w = p - q;
    let den = uu * vv - uv * uv;
    if den.abs() < 1e-9 * uu * vv {
        return *p;
    }
    let s = (uv * v.dot(&w) - vv * u.dot(&w)) / den;
    p + u * s
}

fn femoral_structure(f: &Point3<f64>, femur: &FemurLandmarks) -> &'static str {
    let head = femur.head_centre.lps_mm;
    let shaft_dir = femur.shaft_axis.direction_lps.normalize();
    let neck_dir = femur.neck_axis.direction_lps.normalize();
    // The neck: from the head centre to the point of the neck axis nearest the shaft axis.
    let junction = nearest_on_line(&head, &neck_dir, &femur.shaft_axis.point_lps_mm, &shaft_dir);
    let junction = if (junction - head).dot(&neck_dir) > 0.0 { junction } else { head + neck_dir * 2.0 * NECK_RADIUS_MM };
    // The shaft: the shaft axis from the lesser trochanter's level down.
    let lt = femur.lesser_trochanter.lps_mm;
    let axis = femur.shaft_axis.point_lps_mm;
    let lt_on_shaft = axis + shaft_dir * (lt - axis).dot(&shaft_dir);
    let below = (lt_on_shaft - f).dot(&shaft_dir).max(0.0);
    let shaft = if below > 0.0 { (f - (lt_on_shaft - shaft_dir * below)).norm() } else { f64::INFINITY };
    let candidates = [
        ("greater trochanter", (f - femur.greater_trochanter.lps_mm).norm()),
        ("lesser trochanter", (f - lt).norm()),
        ("femoral neck", to_segment(f, &head, &junction) - NECK_RADIUS_MM),
        ("femoral shaft", shaft - SHAFT_RADIUS_MM),
    ];
    candidates.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).map_or("femur", |c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AxisLandmark, Landmark, Quality, Side, Source};

    fn axis(p: Point3<f64>, d: Vector3<f64>) -> AxisLandmark {
        AxisLandmark { point_lps_mm: p, direction_lps: d.normalize(), quality: Quality::Good, source: Source::Measured, note: None }
    }

    /// A right hip in an upright pelvis (pelvic frame parallel to LPS): the acetabular centre at
    /// (-100, 0, 0), its opening lateral (-x), anterior (-y) and inferior (-z); the femur's head
    /// there, its neck going laterally and down 40 mm to a vertical shaft at x = -140, the greater
    /// trochanter's tip at (-150, 5, 5), the lesser trochanter at (-125, 5, -50).
    fn hip() -> (PelvicFrame, AcetabulumLandmarks, FemurLandmarks) {
        let frame = PelvicFrame::from_landmarks(Point3::new(120.0, 0.0, 60.0), Point3::new(-120.0, 0.0, 60.0), Point3::new(20.0, 0.0, -40.0), Point3::new(-20.0, 0.0, -40.0)).unwrap();
        let centre = Point3::new(-100.0, 0.0, 0.0);
        let opening = Vector3::new(-1.0, -0.4, -0.7).normalize();
        let acetabulum = AcetabulumLandmarks {
            side: Side::Right,
            centre: Landmark::good(centre),
            radius_mm: 25.0,
            fit_rms_mm: 0.5,
            opening_axis_lps: opening,
            rim_plane_point_lps_mm: centre + opening * 5.0,
            n_rim_points: 36,
            rim_points_lps_mm: Vec::new(),
            rim_diameter_mm: 50.0,
            n_lunate_vertices: 100,
            n_fossa_vertices: 10,
            joint_space_mm: None,
        };
        let femur = FemurLandmarks {
            side: Side::Right,
            head_centre: Landmark::good(centre),
            head_radius_mm: 23.0,
            head_fit_rms_mm: 0.4,
            neck_axis: axis(centre, Vector3::new(-1.0, 0.0, -1.0)),
            shaft_axis: axis(Point3::new(-140.0, 0.0, -40.0), Vector3::z()),
            greater_trochanter: Landmark::good(Point3::new(-150.0, 5.0, 5.0)),
            lesser_trochanter: Landmark::good(Point3::new(-125.0, 5.0, -50.0)),
            neck_shaft_angle_deg: Some(135.0),
            posterior_condyles: None,
            anteversion_deg: None,
        };
        (frame, acetabulum, femur)
    }

    fn name(parts: &str, pelvis: [f64; 3], femur: [f64; 3]) -> (String, String) {
        let (frame, acetabulum, f) = hip();
        let a = ContactAnatomy { frame: &frame, acetabulum: &acetabulum, femur: &f };
        let s = name_contact(parts, &Point3::from(pelvis), &Point3::from(femur), Some(&a)).expect("known parts");
        (s.femoral, s.pelvic)
    }

    #[test]
    fn the_rim_is_named_by_its_quadrant() {
        // Points of the rim circle (radius 25 about the rim centre, in its plane), 3 mm off it.
        let (_, acetabulum, _) = hip();
        let n = acetabulum.opening_axis_lps;
        let c = acetabulum.rim_plane_point_lps_mm;
        let on_rim = |towards: Vector3<f64>| {
            let t = (towards - n * towards.dot(&n)).normalize();
            let p = c + t * 25.0 + n * 3.0;
            [p.x, p.y, p.z]
        };
        let femur = [-120.0, 0.0, -20.0];
        assert_eq!(name("neck-pelvis", on_rim(-Vector3::y()), femur).1, "anterior acetabular rim");
        assert_eq!(name("neck-pelvis", on_rim(Vector3::y()), femur).1, "posterior acetabular rim");
        assert_eq!(name("neck-pelvis", on_rim(Vector3::z()), femur).1, "superior acetabular rim");
        assert_eq!(name("neck-pelvis", on_rim(-Vector3::z()), femur).1, "inferior acetabular rim");
    }

    #[test]
    fn bone_beyond_the_rim_is_named_by_its_quadrant_about_the_acetabulum() {
        let femur = [-120.0, 0.0, -20.0];
        // 30 mm medial of the rim's circle, well off it.
        assert_eq!(name("femur-pelvis", [-90.0, -35.0, 30.0], femur).1, "AIIS");
        assert_eq!(name("femur-pelvis", [-90.0, -35.0, 70.0], femur).1, "ilium");
        assert_eq!(name("femur-pelvis", [-90.0, 35.0, 30.0], femur).1, "ilium");
        assert_eq!(name("femur-pelvis", [-80.0, -35.0, -40.0], femur).1, "pubis");
        assert_eq!(name("femur-pelvis", [-80.0, 35.0, -40.0], femur).1, "ischium");
    }

    #[test]
    fn the_femoral_side_is_the_nearest_structure() {
        let pelvis = [-80.0, 35.0, -40.0];
        assert_eq!(name("femur-pelvis", pelvis, [-148.0, 8.0, 0.0]).0, "greater trochanter");
        assert_eq!(name("femur-pelvis", pelvis, [-122.0, 10.0, -52.0]).0, "lesser trochanter");
        // 14 mm off the neck axis halfway along the neck.
        let mid = Point3::new(-120.0, 0.0, -20.0) + Vector3::new(1.0, 0.0, -1.0).normalize() * 14.0;
        assert_eq!(name("femur-pelvis", pelvis, [mid.x, mid.y, mid.z]).0, "femoral neck");
        assert_eq!(name("femur-pelvis", pelvis, [-126.0, 0.0, -110.0]).0, "femoral shaft");
    }

    #[test]
    fn implant_parts_are_named_as_implants() {
        assert_eq!(name("neck-liner_rim", [0.0; 3], [0.0; 3]), ("prosthetic neck".into(), "liner rim".into()));
        assert_eq!(name("neck-liner", [0.0; 3], [0.0; 3]), ("prosthetic neck".into(), "liner rim".into()));
        assert_eq!(name("femur-cup", [0.0; 3], [-148.0, 8.0, 0.0]), ("greater trochanter".into(), "cup rim".into()));
        let (frame, acetabulum, f) = hip();
        let a = ContactAnatomy { frame: &frame, acetabulum: &acetabulum, femur: &f };
        assert_eq!(name_contact("stem-shell", &Point3::origin(), &Point3::origin(), Some(&a)), None);
        // Without landmarks, the implants are named and bone is not.
        assert_eq!(name_contact("neck-liner_rim", &Point3::origin(), &Point3::origin(), None).map(|s| s.phrase()).as_deref(), Some("prosthetic neck against liner rim"));
        assert_eq!(name_contact("neck-pelvis", &Point3::origin(), &Point3::origin(), None), None);
    }
}

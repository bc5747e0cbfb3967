//! Anatomical frames and cup-angle definitions. The pelvic and femoral frames are defined here and
//! nowhere else.

use nalgebra::{Matrix3, Point3, Rotation3, Vector3};
use serde::{Deserialize, Serialize};

use crate::{Angle, Error, Result, Side};

/// The pelvic frame, built from the anterior pelvic plane (APP): the plane through both anterior
/// superior iliac spines (ASIS) and the midpoint of the two pubic tubercles.
///
/// - **Origin**: the midpoint of the two ASIS.
/// - **+x**: from the right ASIS to the left ASIS (towards the patient's left, as LPS x).
/// - **+y**: normal to the APP, pointing posterior (as LPS y).
/// - **+z**: `x × y`, pointing superior (as LPS z). The frame is right-handed (det +1).
///
/// A pelvis whose APP is vertical (coronal) and whose ASIS line is horizontal has a pelvic frame
/// parallel to LPS. Tilting the pelvis changes `pelvic_from_lps`, not the pelvic coordinates of
/// its landmarks. Left/right rule: a structure's side is the sign of its pelvic x (+x = left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PelvicFrame {
    #[schemars(with = "[f64; 3]")]
    origin_lps_mm: Point3<f64>,
    /// Rows are the frame's axes in LPS: `pelvic = R (p - origin)` (nalgebra writes the 3x3
    /// matrix column by column).
    #[schemars(with = "[f64; 9]")]
    pelvic_from_lps: Rotation3<f64>,
}

impl PelvicFrame {
    /// The frame from the two ASIS and the two pubic tubercles (LPS mm).
    pub fn from_landmarks(asis_left: Point3<f64>, asis_right: Point3<f64>, pubic_tubercle_left: Point3<f64>, pubic_tubercle_right: Point3<f64>) -> Result<Self> {
        let x = asis_left - asis_right;
        if x.norm() < 1.0 {
            return Err(Error::InvalidLandmarks { why: "the two ASIS are less than 1 mm apart".into() });
        }
        let x = x.normalize();
        let origin = nalgebra::center(&asis_left, &asis_right);
        let pubis = nalgebra::center(&pubic_tubercle_left, &pubic_tubercle_right);
        // Inferior in-plane direction: from the ASIS midpoint to the pubis, made perpendicular to x.
        let down = pubis - origin;
        let down = down - x * down.dot(&x);
        if down.norm() < 1.0 {
            return Err(Error::InvalidLandmarks { why: "the pubic tubercles lie on the ASIS line: no anterior pelvic plane".into() });
        }
        let z = -down.normalize();
        let y = z.cross(&x);
        let m = Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]);
        Ok(Self { origin_lps_mm: origin, pelvic_from_lps: Rotation3::from_matrix_unchecked(m) })
    }
    /// The frame with origin `origin_lps_mm` and axes parallel to LPS.
    pub fn aligned_with_lps(origin_lps_mm: Point3<f64>) -> Self {
        Self { origin_lps_mm, pelvic_from_lps: Rotation3::identity() }
    }
    /// The same frame tilted about its own x axis by `tilt` (positive = posterior pelvic tilt:
    /// the top of the pelvis moves posterior, the APP faces upward, as when sitting).
    pub fn tilted(&self, tilt: Angle) -> Self {
        // The body turns by R_x(-tilt) in LPS (pelvic +z goes towards LPS +y, posterior), so
        // lps_from_pelvic' = R_x(-tilt) lps_from_pelvic and pelvic_from_lps' = pelvic_from_lps R_x(tilt).
        let about_x = Rotation3::from_axis_angle(&Vector3::x_axis(), tilt.rad());
        Self { origin_lps_mm: self.origin_lps_mm, pelvic_from_lps: self.pelvic_from_lps * about_x }
    }
    /// Origin (ASIS midpoint), LPS mm.
    pub fn origin_lps_mm(&self) -> Point3<f64> {
        self.origin_lps_mm
    }
    /// Rotation taking LPS directions to pelvic directions.
    pub fn pelvic_from_lps(&self) -> Rotation3<f64> {
        self.pelvic_from_lps
    }
    /// A point in pelvic coordinates, mm.
    pub fn point_to_pelvic(&self, p: &Point3<f64>) -> Point3<f64> {
        Point3::from(self.pelvic_from_lps * (p - self.origin_lps_mm))
    }
    /// A pelvic point back in LPS, mm.
    pub fn point_to_lps(&self, p: &Point3<f64>) -> Point3<f64> {
        self.origin_lps_mm + self.pelvic_from_lps.inverse() * p.coords
    }
    /// A direction in pelvic coordinates.
    pub fn vector_to_pelvic(&self, v: &Vector3<f64>) -> Vector3<f64> {
        self.pelvic_from_lps * v
    }
    /// A pelvic direction back in LPS.
    pub fn vector_to_lps(&self, v: &Vector3<f64>) -> Vector3<f64> {
        self.pelvic_from_lps.inverse() * v
    }
}

/// The femoral frame, from femoral landmarks ([`crate::FemurLandmarks::femoral_frame`]).
///
/// - **Origin**: the femoral head centre.
/// - **+z**: the mechanical axis, from the knee (midpoint of the posterior condyles) to the head
///   centre; the anatomical shaft axis when the condyles are not imaged. (The posterior condyles
///   lie ~20 mm behind the knee centre, tilting +z by ~3 deg in the sagittal plane.)
/// - **+x**: along the posterior condylar line towards the patient's left, made perpendicular
///   to +z (LPS +x made perpendicular when the condyles are missing).
/// - **+y**: `z × x` (posterior). Right-handed.
///
/// At zero hip joint angles it is parallel to the pelvic frame (`coxa_sim::joint`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FemoralFrame {
    /// Head centre, LPS mm.
    pub head_centre_lps_mm: Point3<f64>,
    /// Rows: the frame's axes in LPS (`femoral = R (p - origin)`).
    pub femur_from_lps: Rotation3<f64>,
    /// Anatomical shaft axis (proximal), LPS.
    pub shaft_axis_lps: Vector3<f64>,
}

impl FemoralFrame {
    /// The frame of a femur with this head centre, anatomical shaft axis (proximal, LPS) and,
    /// when the knee is imaged, posterior condyles (medial and lateral, LPS mm).
    ///
    /// A femur imaged without its shaft needs `coxa_anatomy::landmarks::assume_neutral_short_femur`
    /// first (the anatomy stage applies it), else its guessed shaft axis makes the frame.
    ///
    /// # Errors
    /// [`Error::InvalidLandmarks`] when the condylar line is parallel to the femoral axis.
    pub fn from_axes(head_centre_lps_mm: Point3<f64>, shaft_axis_lps: &Vector3<f64>, posterior_condyles: Option<[Point3<f64>; 2]>) -> Result<Self> {
        let c = head_centre_lps_mm;
        let shaft = shaft_axis_lps.normalize();
        let (z, x_hint) = match posterior_condyles {
            Some([a, b]) => {
                let z = (c - nalgebra::center(&a, &b)).try_normalize(1e-9).unwrap_or(shaft);
                let line = b - a;
                (z, if line.x >= 0.0 { line } else { -line })
            }
            None => (shaft, Vector3::x()),
        };
        let x =
            (x_hint - z * x_hint.dot(&z)).try_normalize(1e-9).ok_or_else(|| Error::InvalidLandmarks { why: "the condylar line is parallel to the femoral axis; check the femur landmarks".into() })?;
        let y = z.cross(&x);
        let m = Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]);
        Ok(Self { head_centre_lps_mm: c, femur_from_lps: Rotation3::from_matrix_unchecked(m), shaft_axis_lps: shaft })
    }
    /// A frame parallel to LPS at `head_centre_lps_mm` with the shaft along +z (implants alone).
    pub fn aligned(head_centre_lps_mm: Point3<f64>) -> Self {
        Self { head_centre_lps_mm, femur_from_lps: Rotation3::identity(), shaft_axis_lps: Vector3::z() }
    }
}

/// The three definitions of cup inclination and anteversion of Murray (1993), "The definition
/// and measurement of acetabular orientation", J Bone Joint Surg Br 75:228-232.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CupAngleDefinition {
    /// Radiographic: inclination between the longitudinal axis and the cup axis projected on the
    /// coronal plane; anteversion between the cup axis and the coronal plane.
    Radiographic,
    /// Operative: inclination between the cup axis and the sagittal plane; anteversion between
    /// the longitudinal axis and the cup axis projected on the sagittal plane.
    Operative,
    /// Anatomic: inclination between the cup axis and the longitudinal axis; anteversion between
    /// the transverse axis and the cup axis projected on the transverse plane.
    Anatomic,
}

/// Cup (or native acetabulum) orientation in one of Murray's definitions, in the pelvic frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CupAngles {
    /// Which definition the two angles follow.
    pub definition: CupAngleDefinition,
    /// Inclination.
    pub inclination: Angle,
    /// Anteversion (positive: the opening faces anterior).
    pub anteversion: Angle,
}

impl CupAngles {
    /// Angles of the cup axis `axis_pelvic` (a direction out of the cup opening, in the pelvic
    /// frame) on `side`, in `definition`.
    pub fn from_axis(axis_pelvic: &Vector3<f64>, side: Side, definition: CupAngleDefinition) -> Result<Self> {
        let a = axis_pelvic.try_normalize(1e-12).ok_or_else(|| Error::InvalidLandmarks { why: "zero cup axis".into() })?;
        // Lateral, anterior, inferior components of the axis.
        let (lat, ant, inf) = (a.x * side.lateral_sign(), -a.y, -a.z);
        let (inc, av) = match definition {
            CupAngleDefinition::Radiographic => (lat.atan2(inf), ant.clamp(-1.0, 1.0).asin()),
            CupAngleDefinition::Operative => (lat.clamp(-1.0, 1.0).asin(), ant.atan2(inf)),
            CupAngleDefinition::Anatomic => (inf.clamp(-1.0, 1.0).acos(), ant.atan2(lat)),
        };
        Ok(Self { definition, inclination: Angle::from_rad(inc), anteversion: Angle::from_rad(av) })
    }
    /// The unit cup axis in the pelvic frame on `side`.
    pub fn axis(&self, side: Side) -> Vector3<f64> {
        let (i, v) = (self.inclination.rad(), self.anteversion.rad());
        let (lat, ant, inf) = match self.definition {
            CupAngleDefinition::Radiographic => (v.cos() * i.sin(), v.sin(), v.cos() * i.cos()),
            CupAngleDefinition::Operative => (i.sin(), i.cos() * v.sin(), i.cos() * v.cos()),
            CupAngleDefinition::Anatomic => (i.sin() * v.cos(), i.sin() * v.sin(), i.cos()),
        };
        Vector3::new(lat * side.lateral_sign(), -ant, -inf)
    }
    /// The same orientation in another definition.
    pub fn to_definition(&self, definition: CupAngleDefinition, side: Side) -> Self {
        Self::from_axis(&self.axis(side), side, definition).expect("unit axis")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn frame() -> PelvicFrame {
        PelvicFrame::from_landmarks(Point3::new(120.0, -20.0, 100.0), Point3::new(-110.0, -20.0, 100.0), Point3::new(15.0, -20.0, 10.0), Point3::new(-15.0, -20.0, 10.0)).unwrap()
    }

    #[test]
    fn upright_pelvis_frame_is_parallel_to_lps_and_right_handed() {
        let f = frame();
        assert_relative_eq!(*f.pelvic_from_lps().matrix(), Matrix3::identity(), epsilon = 1e-12);
        assert_relative_eq!(f.origin_lps_mm(), Point3::new(5.0, -20.0, 100.0), epsilon = 1e-12);
        let p = Point3::new(3.0, 4.0, 5.0);
        assert_relative_eq!(f.point_to_lps(&f.point_to_pelvic(&p)), p, epsilon = 1e-12);
    }

    /// A femur standing upright in LPS: +z from the condyles to the head, +x along the condylar
    /// line towards the patient's left whichever condyle comes first; a condylar line along the
    /// axis is refused.
    #[test]
    fn femoral_frame_of_an_upright_femur() {
        let head = Point3::new(-80.0, 30.0, 900.0);
        let (medial, lateral) = (Point3::new(-60.0, 50.0, 480.0), Point3::new(-100.0, 50.0, 480.0));
        for condyles in [[medial, lateral], [lateral, medial]] {
            let f = FemoralFrame::from_axes(head, &Vector3::new(0.0, 0.0, 2.0), Some(condyles)).unwrap();
            let m = f.femur_from_lps.matrix();
            assert_relative_eq!(m.determinant(), 1.0, epsilon = 1e-12);
            assert!(m.row(2)[2] > 0.99 && m.row(0)[0] > 0.99, "{m}");
            assert_relative_eq!(f.shaft_axis_lps, Vector3::z(), epsilon = 1e-12);
        }
        let shaft_only = FemoralFrame::from_axes(head, &Vector3::z(), None).unwrap();
        assert_relative_eq!(*shaft_only.femur_from_lps.matrix(), Matrix3::identity(), epsilon = 1e-12);
        let along = [Point3::new(-80.0, 30.0, 480.0), Point3::new(-80.0, 30.0, 500.0)];
        assert!(matches!(FemoralFrame::from_axes(head, &Vector3::z(), Some(along)), Err(Error::InvalidLandmarks { .. })));
    }

    #[test]
    fn frame_follows_a_rotated_pelvis() {
        let r = Rotation3::from_euler_angles(0.2, -0.1, 0.3);
        let mv = |p: Point3<f64>| Point3::from(r * p.coords);
        let f =
            PelvicFrame::from_landmarks(mv(Point3::new(120.0, -20.0, 100.0)), mv(Point3::new(-110.0, -20.0, 100.0)), mv(Point3::new(15.0, -20.0, 10.0)), mv(Point3::new(-15.0, -20.0, 10.0))).unwrap();
        let q = Point3::new(50.0, 30.0, -10.0);
        assert_relative_eq!(f.point_to_pelvic(&mv(q)), frame().point_to_pelvic(&q), epsilon = 1e-9);
        assert_relative_eq!(f.pelvic_from_lps().matrix().determinant(), 1.0, epsilon = 1e-12);
    }

    #[test]
    fn degenerate_landmarks_are_errors() {
        let p = Point3::new(0.0, 0.0, 0.0);
        assert!(PelvicFrame::from_landmarks(p, p, p, p).is_err());
        let a = Point3::new(100.0, 0.0, 0.0);
        let b = Point3::new(-100.0, 0.0, 0.0);
        assert!(PelvicFrame::from_landmarks(a, b, Point3::new(10.0, 0.0, 0.0), Point3::new(-10.0, 0.0, 0.0)).is_err());
    }

    #[test]
    fn radiographic_40_15_known_axis() {
        // RI 40, RA 15 on the left: lateral = cos15 sin40, anterior = sin15, inferior = cos15 cos40.
        let a = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(40.0), anteversion: Angle::from_deg(15.0) };
        let ax = a.axis(Side::Left);
        let (c15, s15, c40, s40) = (15f64.to_radians().cos(), 15f64.to_radians().sin(), 40f64.to_radians().cos(), 40f64.to_radians().sin());
        assert_relative_eq!(ax, Vector3::new(c15 * s40, -s15, -c15 * c40), epsilon = 1e-12);
        assert_relative_eq!(a.axis(Side::Right).x, -ax.x, epsilon = 1e-12);
    }

    #[test]
    fn definitions_convert_both_ways_and_match_murray_formulas() {
        for side in [Side::Left, Side::Right] {
            for (ri, ra) in [(40.0, 15.0), (45.0, 25.0), (30.0, 5.0), (55.0, -10.0)] {
                let r = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(ri), anteversion: Angle::from_deg(ra) };
                let o = r.to_definition(CupAngleDefinition::Operative, side);
                let an = r.to_definition(CupAngleDefinition::Anatomic, side);
                // Murray 1993: tan(OA) = tan(RA) / cos(RI); cos(AI) = cos(RI) cos(RA); tan(AA) = tan(RA) / sin(RI).
                let (ri, ra) = (ri.to_radians(), ra.to_radians());
                assert_relative_eq!(o.anteversion.rad().tan(), ra.tan() / ri.cos(), epsilon = 1e-9);
                assert_relative_eq!(an.inclination.rad().cos(), ri.cos() * ra.cos(), epsilon = 1e-9);
                assert_relative_eq!(an.anteversion.rad().tan(), ra.tan() / ri.sin(), epsilon = 1e-9);
                for back in [o, an] {
                    let rr = back.to_definition(CupAngleDefinition::Radiographic, side);
                    assert_relative_eq!(rr.inclination.rad(), ri, epsilon = 1e-12);
                    assert_relative_eq!(rr.anteversion.rad(), ra, epsilon = 1e-12);
                }
            }
        }
    }

    #[test]
    fn posterior_tilt_raises_the_anterior_face() {
        // Sitting: posterior tilt by 20 deg. A cup axis fixed to the pelvis gains anteversion when
        // measured against the (upright) body frame: its LPS direction turns anterior.
        let f = PelvicFrame::aligned_with_lps(Point3::origin());
        let t = f.tilted(Angle::from_deg(20.0));
        let cup = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(40.0), anteversion: Angle::from_deg(15.0) };
        let top = t.vector_to_lps(&Vector3::z());
        assert!(top.y > 0.3 && top.z > 0.9, "the top of the pelvis moves posterior: {top:?}");
        let axis_lps = t.vector_to_lps(&cup.axis(Side::Left));
        let functional = CupAngles::from_axis(&axis_lps, Side::Left, CupAngleDefinition::Radiographic).unwrap();
        assert!(functional.anteversion.deg() > 15.0 + 10.0, "{}", functional.anteversion.deg());
    }
}

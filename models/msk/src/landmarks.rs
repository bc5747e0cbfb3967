//! The femoral landmarks of the OrthoLoad frame (Bergmann et al. 2016) and of the mapping onto
//! a model's femur: a femur's OrthoLoad points ([`coxa_core::OrthoLoadFemur`]) mirrored to a
//! right femur, the model's leg.

use coxa_core::{OrthoLoadFemur, Side};
use nalgebra::{Matrix3, Vector3};

use super::{MskError, Result};

/// A femur's OrthoLoad points mirrored to a right femur (a left femur's x negated), in mm (any
/// right-handed patient frame), checked to span the OrthoLoad and anatomical frames: what the
/// hip contact force maps into the patient's femoral frame with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RightFemur {
    points: OrthoLoadFemur,
}

impl RightFemur {
    /// The points of a femur on `side`, mirrored to a right femur when `side` is left.
    ///
    /// # Errors
    /// [`MskError::Landmarks`] when the points do not span the frames (coincident or collinear).
    pub fn new(femur: &OrthoLoadFemur, side: Side) -> Result<Self> {
        let points = if side == Side::Left { femur.mirrored() } else { *femur };
        let f = Self { points };
        let _ = f.anatomical_axes()?;
        let _ = f.orthoload_axes()?;
        Ok(f)
    }

    /// The points, as a right femur's.
    pub fn points(&self) -> &OrthoLoadFemur {
        &self.points
    }

    /// The OrthoLoad femoral frame (Bergmann 2016) as rows `x, y, z` (unit vectors in landmark
    /// coordinates): `+z` from P2 to P1; `+y` along `z x (LPC - MPC)` (anterior); `+x = y x z`
    /// (lateral for this right femur). Its origin is the head centre.
    pub fn orthoload_axes(&self) -> Result<Matrix3<f64>> {
        let p = &self.points;
        let z = unit(p.p1 - p.p2, "P1 - P2")?;
        let y = unit(z.cross(&(p.lpc - p.mpc)), "z x (LPC - MPC)")?;
        let x = y.cross(&z);
        Ok(Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]))
    }

    /// An anatomical frame shared with the model's femur, rows `x, y, z`: `y` from the
    /// epicondyles' midpoint to the head centre, `z` along MEC -> LEC made orthogonal to `y`,
    /// `x = y x z` (anterior). Returns the rows and the femur length (mm).
    pub fn anatomical_axes(&self) -> Result<(Matrix3<f64>, f64)> {
        self.axes_with_mediolateral(self.points.lec - self.points.mec, "LEC - MEC")
    }

    /// [`RightFemur::anatomical_axes`] with `z` along the posterior condylar axis
    /// (MPC -> LPC) instead of the epicondylar axis: the axis OrthoLoad's frame uses, and the
    /// one the femur frames of gait2392 and Rajagopal's models follow (their bone meshes'
    /// posterior condyles lie along the femur's `z` within 0.1 and 2.6 deg; the epicondylar
    /// axis is turned outward from it by the condylar twist, 2-7 deg in the OrthoLoad patients).
    pub fn anatomical_axes_posterior_condyles(&self) -> Result<(Matrix3<f64>, f64)> {
        self.axes_with_mediolateral(self.points.lpc - self.points.mpc, "LPC - MPC")
    }

    fn axes_with_mediolateral(&self, ml: Vector3<f64>, what: &str) -> Result<(Matrix3<f64>, f64)> {
        let p = &self.points;
        let knee = 0.5 * (p.mec.coords + p.lec.coords);
        let y = unit(p.hjc.coords - knee, "HJC - knee centre")?;
        let z = unit(ml - ml.dot(&y) * y, what)?;
        let x = y.cross(&z);
        Ok((Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]), (p.hjc.coords - knee).norm()))
    }
}

pub(crate) fn unit(v: Vector3<f64>, what: &str) -> Result<Vector3<f64>> {
    let n = v.norm();
    if n > 1e-9 && n.is_finite() { Ok(v / n) } else { Err(MskError::Landmarks { why: format!("{what} is degenerate (zero or not finite); check the landmark file") }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use nalgebra::Point3;

    /// A right femur's points as a markups file labels them (x, y, z in mm).
    const POINTS: [(&str, [f64; 3]); 7] = [
        ("HJC_R", [0.0, 0.0, 0.0]),
        ("P1_R", [-40.0, 0.0, -60.0]),
        ("P2_R", [-20.0, 0.0, -420.0]),
        ("MPC_R", [5.0, 30.0, -420.0]),
        ("LPC_R", [-45.0, 30.0, -420.0]),
        ("MEC_R", [15.0, 0.0, -410.0]),
        ("LEC_R", [-55.0, 0.0, -410.0]),
    ];

    #[test]
    fn orthoload_frame_of_a_right_femur_and_its_mirror() {
        let pts: Vec<(String, Point3<f64>)> = POINTS.iter().map(|(l, p)| (l.to_string(), Point3::from(*p))).collect();
        fn labelled(pts: &[(String, Point3<f64>)]) -> Vec<(&str, Point3<f64>)> {
            pts.iter().map(|(l, p)| (l.as_str(), *p)).collect()
        }
        let r = RightFemur::new(&OrthoLoadFemur::from_labels(labelled(&pts), Side::Right).unwrap(), Side::Right).unwrap();
        let e = r.orthoload_axes().unwrap();
        assert_relative_eq!(e.determinant(), 1.0, epsilon = 1e-12);
        // +z from P2 to P1 is up here; lateral of this right femur is -x of the points (LPS-like).
        assert!(e.row(2)[2] > 0.99);
        assert!(e.row(0)[0] < -0.9, "x lateral: {e}");
        // The same femur relabelled as left and mirrored (x negated) gives the same frame.
        let left: Vec<(String, Point3<f64>)> = pts.iter().map(|(l, p)| (l.replace("_R", "_L"), Point3::new(-p.x, p.y, p.z))).collect();
        let l = RightFemur::new(&OrthoLoadFemur::from_labels(labelled(&left), Side::Left).unwrap(), Side::Left).unwrap();
        assert_relative_eq!(l.orthoload_axes().unwrap(), e, epsilon = 1e-12);
        assert!(OrthoLoadFemur::from_labels(labelled(&pts[..3]), Side::Right).is_err());
        // Coincident points span no frame.
        let flat = OrthoLoadFemur { p2: r.points().p1, ..*r.points() };
        assert!(matches!(RightFemur::new(&flat, Side::Right), Err(MskError::Landmarks { .. })));
    }
}

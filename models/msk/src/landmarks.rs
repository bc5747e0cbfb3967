//! The femoral landmarks of the OrthoLoad frame (Bergmann et al. 2016) and of the mapping onto
//! a model's femur, picked from labelled points and mirrored to a right femur.

use nalgebra::{Matrix3, Vector3};

use coxa_core::Side;

use super::{MskError, Result};

/// The femoral landmarks the OrthoLoad frame and the model mapping need, mirrored to a right
/// femur, in mm (any right-handed patient frame).
#[derive(Debug, Clone, Copy)]
pub struct FemurLandmarks {
    /// Hip joint (femoral head) centre `HJC`.
    pub hjc: Vector3<f64>,
    /// `P1`: the point of the neck axis nearest the shaft axis.
    pub p1: Vector3<f64>,
    /// `P2`: the intercondylar notch.
    pub p2: Vector3<f64>,
    /// Medial posterior condyle `MPC`.
    pub mpc: Vector3<f64>,
    /// Lateral posterior condyle `LPC`.
    pub lpc: Vector3<f64>,
    /// Medial epicondyle `MEC`.
    pub mec: Vector3<f64>,
    /// Lateral epicondyle `LEC`.
    pub lec: Vector3<f64>,
}

impl FemurLandmarks {
    /// Picks the landmarks by label (`HJC`, `P1`, `P2`, `MPC`, `LPC`, `MEC`, `LEC`, with or
    /// without a `_L`/`_R` suffix) and mirrors a left femur (x negated) to a right one.
    pub fn from_labels(points: &[(String, Vector3<f64>)], side: Side) -> Result<Self> {
        let suffix = match side {
            Side::Left => "_L",
            Side::Right => "_R",
        };
        let get = |name: &str| -> Result<Vector3<f64>> {
            let with = format!("{name}{suffix}");
            points
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(&with))
                .or_else(|| points.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)))
                .map(|(_, p)| *p)
                .ok_or_else(|| MskError::Landmarks { why: format!("the femur landmarks have no {with} (or {name}); the OrthoLoad frame needs HJC, P1, P2, MPC, LPC, MEC and LEC") })
        };
        let mirror = |v: Vector3<f64>| if side == Side::Left { Vector3::new(-v.x, v.y, v.z) } else { v };
        let lm =
            Self { hjc: mirror(get("HJC")?), p1: mirror(get("P1")?), p2: mirror(get("P2")?), mpc: mirror(get("MPC")?), lpc: mirror(get("LPC")?), mec: mirror(get("MEC")?), lec: mirror(get("LEC")?) };
        let _ = lm.anatomical_axes()?;
        let _ = lm.orthoload_axes()?;
        Ok(lm)
    }

    /// The OrthoLoad femoral frame (Bergmann 2016) as rows `x, y, z` (unit vectors in landmark
    /// coordinates): `+z` from P2 to P1; `+y` along `z x (LPC - MPC)` (anterior); `+x = y x z`
    /// (lateral for this right femur). Its origin is the head centre.
    pub fn orthoload_axes(&self) -> Result<Matrix3<f64>> {
        let z = unit(self.p1 - self.p2, "P1 - P2")?;
        let y = unit(z.cross(&(self.lpc - self.mpc)), "z x (LPC - MPC)")?;
        let x = y.cross(&z);
        Ok(Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]))
    }

    /// An anatomical frame shared with the model's femur, rows `x, y, z`: `y` from the
    /// epicondyles' midpoint to the head centre, `z` along MEC -> LEC made orthogonal to `y`,
    /// `x = y x z` (anterior). Returns the rows and the femur length (mm).
    pub fn anatomical_axes(&self) -> Result<(Matrix3<f64>, f64)> {
        self.axes_with_mediolateral(self.lec - self.mec, "LEC - MEC")
    }

    /// [`FemurLandmarks::anatomical_axes`] with `z` along the posterior condylar axis
    /// (MPC -> LPC) instead of the epicondylar axis: the axis OrthoLoad's frame uses, and the
    /// one the femur frames of gait2392 and Rajagopal's models follow (their bone meshes'
    /// posterior condyles lie along the femur's `z` within 0.1 and 2.6 deg; the epicondylar
    /// axis is turned outward from it by the condylar twist, 2-7 deg in the OrthoLoad patients).
    pub fn anatomical_axes_posterior_condyles(&self) -> Result<(Matrix3<f64>, f64)> {
        self.axes_with_mediolateral(self.lpc - self.mpc, "LPC - MPC")
    }

    fn axes_with_mediolateral(&self, ml: Vector3<f64>, what: &str) -> Result<(Matrix3<f64>, f64)> {
        let knee = 0.5 * (self.mec + self.lec);
        let y = unit(self.hjc - knee, "HJC - knee centre")?;
        let z = unit(ml - ml.dot(&y) * y, what)?;
        let x = y.cross(&z);
        Ok((Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()]), (self.hjc - knee).norm()))
    }
}

pub(crate) fn unit(v: Vector3<f64>, what: &str) -> Result<Vector3<f64>> {
    let n = v.norm();
    if n > 1e-9 && n.is_finite() { Ok(v / n) } else { Err(MskError::Landmarks { why: format!("{what} is degenerate (zero or not finite); check the landmark file") }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fcsv::parse_fcsv;
    use approx::assert_relative_eq;

    const FCSV: &str = "# Markups fiducial file version = 4.11\n# CoordinateSystem = RAS\n\
        1,0,0,0,0,0,0,1,1,0,1,HJC_R,,\n2,-40,0,-60,0,0,0,1,1,0,1,P1_R,,\n3,-20,0,-420,0,0,0,1,1,0,1,P2_R,,\n\
        4,5,30,-420,0,0,0,1,1,0,1,MPC_R,,\n5,-45,30,-420,0,0,0,1,1,0,1,LPC_R,,\n6,15,0,-410,0,0,0,1,1,0,1,MEC_R,,\n7,-55,0,-410,0,0,0,1,1,0,1,LEC_R,,\n";

    #[test]
    fn orthoload_frame_of_a_right_femur_and_its_mirror() {
        let pts = parse_fcsv(FCSV).unwrap();
        let r = FemurLandmarks::from_labels(&pts, Side::Right).unwrap();
        let e = r.orthoload_axes().unwrap();
        assert_relative_eq!(e.determinant(), 1.0, epsilon = 1e-12);
        // +z from P2 to P1 is up here; lateral of this right femur is -x of the file (LPS-like).
        assert!(e.row(2)[2] > 0.99);
        assert!(e.row(0)[0] < -0.9, "x lateral: {e}");
        // The same femur relabelled as left and mirrored (x negated) gives the same frame.
        let left: Vec<(String, Vector3<f64>)> = pts.iter().map(|(l, p)| (l.replace("_R", "_L"), Vector3::new(-p.x, p.y, p.z))).collect();
        let l = FemurLandmarks::from_labels(&left, Side::Left).unwrap();
        assert_relative_eq!(l.orthoload_axes().unwrap(), e, epsilon = 1e-12);
        assert!(FemurLandmarks::from_labels(&pts[..3], Side::Right).is_err());
        assert!(parse_fcsv("1,a,b,c,0,0,0,1,1,0,1,X,,").is_err());
    }
}

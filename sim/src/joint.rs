//! The hip joint angle convention, defined here and nowhere else.
//!
//! Angles of the femur relative to a reference frame with the pelvic frame's axes
//! (`coxa_core::PelvicFrame`: +x patient left, +y posterior, +z superior), in the sequence of
//! the ISB recommendation for the hip (Wu et al. 2002, a Grood-Suntay joint coordinate system):
//!
//! 1. **flexion** about the reference x axis (mediolateral): positive moves the knee anterior;
//! 2. **abduction** about the floating anteroposterior axis (the reference y axis after the
//!    flexion): positive moves the knee lateral (away from the midline, on either side);
//! 3. **internal rotation** about the femur's long axis (after both): positive turns the
//!    femur's anterior surface medially.
//!
//! `R = R(−x, flexion) · R(−s·y, abduction) · R(−s·z, internal rotation)`, `s` = +1 on the
//! left and −1 on the right (`Side::lateral_sign`), so the same angles mean the same motion on
//! both sides and mirrored anatomy gives the same numbers. At zero angles the femoral frame
//! (origin the head centre; +z the mechanical axis towards the head; +x along the posterior
//! condylar line towards the patient's left; see [`coxa_core::FemoralFrame`]) is parallel to the
//! reference frame. Extension, adduction and external rotation are the negative angles.
//!
//! Which reference: in a [`crate::Posture`] the reference is the *standing body* (world)
//! frame — the pelvic frame at zero tilt — and the pelvis itself is tilted by the posture's
//! pelvic tilt. The femur's rotation relative to the pelvis is then `R_x(tilt) · R`
//! (posterior tilt is a rotation of the pelvis in the sense of hip flexion, so it takes hip
//! flexion away). With zero tilt, world and pelvic angles coincide.

use coxa_core::{Angle, Side};
use nalgebra::{Rotation3, Unit, Vector3};
use serde::Serialize;

/// Hip joint angles in the convention of this module.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct JointAngles {
    /// Flexion (+) / extension (−).
    pub flexion: Angle,
    /// Abduction (+) / adduction (−).
    pub abduction: Angle,
    /// Internal (+) / external (−) rotation.
    pub internal_rotation: Angle,
}

impl JointAngles {
    /// Angles from degrees `(flexion, abduction, internal rotation)`.
    pub fn from_deg(flexion: f64, abduction: f64, internal_rotation: f64) -> Self {
        Self { flexion: Angle::from_deg(flexion), abduction: Angle::from_deg(abduction), internal_rotation: Angle::from_deg(internal_rotation) }
    }
    /// The femur's rotation (femoral frame -> reference frame) for a hip on `side`.
    pub fn rotation(&self, side: Side) -> Rotation3<f64> {
        let s = side.lateral_sign();
        let about = |axis: Vector3<f64>, a: Angle| Rotation3::from_axis_angle(&Unit::new_normalize(axis), a.rad());
        about(-Vector3::x(), self.flexion) * about(-s * Vector3::y(), self.abduction) * about(-s * Vector3::z(), self.internal_rotation)
    }
    /// The angles of a femur rotation (femoral frame -> reference frame) on `side`; the inverse
    /// of [`JointAngles::rotation`] for abduction within ±90 deg.
    pub fn from_rotation(r: &Rotation3<f64>, side: Side) -> Self {
        // R = Rx(a) Ry(b) Rz(c) with a = -flexion, b = -s abduction, c = -s rotation.
        let m = r.matrix();
        let s = side.lateral_sign();
        let b = m[(0, 2)].clamp(-1.0, 1.0).asin();
        let a = (-m[(1, 2)]).atan2(m[(2, 2)]);
        let c = (-m[(0, 1)]).atan2(m[(0, 0)]);
        Self { flexion: Angle::from_rad(-a), abduction: Angle::from_rad(-s * b), internal_rotation: Angle::from_rad(-s * c) }
    }
}

/// The pelvis's rotation in the world for a posterior pelvic tilt `tilt` (as
/// `coxa_core::PelvicFrame::tilted`): the top of the pelvis moves posterior.
pub fn pelvis_tilt_rotation(tilt: Angle) -> Rotation3<f64> {
    Rotation3::from_axis_angle(&Vector3::x_axis(), -tilt.rad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn each_angle_moves_the_knee_the_named_way() {
        let knee = Vector3::new(0.0, 0.0, -1.0);
        for side in [Side::Left, Side::Right] {
            let s = side.lateral_sign();
            let flex = JointAngles::from_deg(30.0, 0.0, 0.0).rotation(side) * knee;
            assert!(flex.y < -0.4, "flexion moves the knee anterior: {flex:?}");
            let abd = JointAngles::from_deg(0.0, 30.0, 0.0).rotation(side) * knee;
            assert!(abd.x * s > 0.4, "abduction moves the knee lateral: {abd:?}");
            let anterior = Vector3::new(0.0, -1.0, 0.0);
            let ir = JointAngles::from_deg(0.0, 0.0, 30.0).rotation(side) * anterior;
            assert!(ir.x * s < -0.4, "internal rotation turns the front medially: {ir:?}");
        }
    }

    #[test]
    fn angles_round_trip_through_the_rotation() {
        for side in [Side::Left, Side::Right] {
            let j = JointAngles::from_deg(70.0, -20.0, 35.0);
            let k = JointAngles::from_rotation(&j.rotation(side), side);
            assert_relative_eq!(k.flexion.deg(), 70.0, epsilon = 1e-9);
            assert_relative_eq!(k.abduction.deg(), -20.0, epsilon = 1e-9);
            assert_relative_eq!(k.internal_rotation.deg(), 35.0, epsilon = 1e-9);
        }
    }

    #[test]
    fn posterior_tilt_takes_hip_flexion_away() {
        // A thigh flexed 90 deg in the world with the pelvis tilted back 20 deg is flexed 70 deg
        // relative to the pelvis.
        let t = pelvis_tilt_rotation(Angle::from_deg(20.0));
        let rel = t.inverse() * JointAngles::from_deg(90.0, 0.0, 0.0).rotation(Side::Right);
        assert_relative_eq!(rel, JointAngles::from_deg(70.0, 0.0, 0.0).rotation(Side::Right), epsilon = 1e-12);
    }
}

//! Units. Inside coxa angles are radians; degrees appear only where people read or write.
//! Patient geometry is in millimetres; the musculoskeletal model (OpenSim's) in metres: lengths
//! cross between them here ([`mm_to_m`], [`m_to_mm`]) and nowhere else.

use std::ops::{Div, Mul};

use serde::{Deserialize, Serialize};

/// Millimetres per metre.
pub const MM_PER_M: f64 = 1000.0;

/// A length, position or displacement (a number or an nalgebra vector) in mm, in metres.
pub fn mm_to_m<T: Div<f64>>(v: T) -> T::Output {
    v / MM_PER_M
}

/// A length, position or displacement in metres, in mm.
pub fn m_to_mm<T: Mul<f64>>(v: T) -> T::Output {
    v * MM_PER_M
}

/// A plane angle, stored in radians. Build it with [`Angle::from_deg`] or [`Angle::from_rad`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Angle(f64);

impl Angle {
    /// An angle of `deg` degrees.
    pub fn from_deg(deg: f64) -> Self {
        Self(deg.to_radians())
    }
    /// An angle of `rad` radians.
    pub fn from_rad(rad: f64) -> Self {
        Self(rad)
    }
    /// The angle in radians.
    pub fn rad(self) -> f64 {
        self.0
    }
    /// The angle in degrees.
    pub fn deg(self) -> f64 {
        self.0.to_degrees()
    }
}

#[cfg(test)]
mod tests {
    use super::{Angle, m_to_mm, mm_to_m};
    #[test]
    fn millimetres_and_metres_of_numbers_and_vectors() {
        assert_eq!(mm_to_m(1234.5), 1.2345);
        assert_eq!(m_to_mm(0.05), 50.0);
        assert_eq!(mm_to_m(nalgebra::Vector3::new(10.0, -20.0, 3.0)), nalgebra::Vector3::new(0.01, -0.02, 0.003));
    }
    #[test]
    fn degree_round_trip() {
        let a = Angle::from_deg(40.0);
        assert!((a.rad() - 40f64.to_radians()).abs() < 1e-15);
        assert!((a.deg() - 40.0).abs() < 1e-12);
    }
}

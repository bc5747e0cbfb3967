//! Units. Inside coxa angles are radians; degrees appear only where people read or write.

use serde::{Deserialize, Serialize};

/// A plane angle, stored in radians. Build it with [`Angle::from_deg`] or [`Angle::from_rad`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
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
    use super::Angle;
    #[test]
    fn degree_round_trip() {
        let a = Angle::from_deg(40.0);
        assert!((a.rad() - 40f64.to_radians()).abs() < 1e-15);
        assert!((a.deg() - 40.0).abs() < 1e-12);
    }
}

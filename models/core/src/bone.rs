//! The bones coxa segments, measures and plans on, by identity rather than by name: the case's
//! surfaces are keyed by [`Bone`] (issue 40), and the names (`hip_right`, the class names of
//! TotalSegmentator and of the files coxa writes) are made in one place, [`Bone::name`].

use serde::{Deserialize, Serialize};

use crate::Side;

/// A bone of the hip region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bone {
    /// The sacrum.
    Sacrum,
    /// The left femur.
    FemurLeft,
    /// The right femur.
    FemurRight,
    /// The left hip bone (ilium, ischium and pubis).
    HipLeft,
    /// The right hip bone.
    HipRight,
}

impl Bone {
    /// Every bone, in the order of their TotalSegmentator label ids.
    pub const ALL: [Bone; 5] = [Bone::Sacrum, Bone::FemurLeft, Bone::FemurRight, Bone::HipLeft, Bone::HipRight];

    /// The bones of a hip joint pair: both hip bones and both femurs.
    pub const HIP: [Bone; 4] = [Bone::HipLeft, Bone::HipRight, Bone::FemurLeft, Bone::FemurRight];

    /// The class name: `sacrum`, `femur_left`, `femur_right`, `hip_left`, `hip_right`
    /// (TotalSegmentator's, and the file names coxa writes).
    pub const fn name(self) -> &'static str {
        match self {
            Bone::Sacrum => "sacrum",
            Bone::FemurLeft => "femur_left",
            Bone::FemurRight => "femur_right",
            Bone::HipLeft => "hip_left",
            Bone::HipRight => "hip_right",
        }
    }

    /// The label id in TotalSegmentator's (v2) class table.
    pub const fn label_id(self) -> u16 {
        match self {
            Bone::Sacrum => 25,
            Bone::FemurLeft => 75,
            Bone::FemurRight => 76,
            Bone::HipLeft => 77,
            Bone::HipRight => 78,
        }
    }

    /// The bone of class name `name`.
    pub fn from_name(name: &str) -> Option<Bone> {
        Bone::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The bone of TotalSegmentator label id `id`.
    pub fn from_label_id(id: u16) -> Option<Bone> {
        Bone::ALL.into_iter().find(|b| b.label_id() == id)
    }

    /// The hip bone of `side`.
    pub const fn hip(side: Side) -> Bone {
        match side {
            Side::Left => Bone::HipLeft,
            Side::Right => Bone::HipRight,
        }
    }

    /// The femur of `side`.
    pub const fn femur(side: Side) -> Bone {
        match side {
            Side::Left => Bone::FemurLeft,
            Side::Right => Bone::FemurRight,
        }
    }

    /// The side of a paired bone; none for the sacrum.
    pub const fn side(self) -> Option<Side> {
        match self {
            Bone::Sacrum => None,
            Bone::FemurLeft | Bone::HipLeft => Some(Side::Left),
            Bone::FemurRight | Bone::HipRight => Some(Side::Right),
        }
    }

    /// Whether this is a femur.
    pub const fn is_femur(self) -> bool {
        matches!(self, Bone::FemurLeft | Bone::FemurRight)
    }
}

impl std::fmt::Display for Bone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_sides_go_both_ways() {
        for b in Bone::ALL {
            assert_eq!(Bone::from_name(b.name()), Some(b));
            assert_eq!(Bone::from_label_id(b.label_id()), Some(b));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{}\"", b.name()));
        }
        for side in [Side::Left, Side::Right] {
            assert_eq!(Bone::hip(side).side(), Some(side));
            assert!(Bone::femur(side).is_femur() && !Bone::hip(side).is_femur());
            assert_eq!(Bone::femur(side).name(), format!("femur_{}", side.as_str()));
        }
        assert_eq!(Bone::from_name("pelvis"), None);
        assert_eq!(Bone::Sacrum.side(), None);
        assert!(Bone::ALL.windows(2).all(|w| w[0].label_id() < w[1].label_id()));
    }
}

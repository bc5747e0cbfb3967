//! The femoral canal measured on the CT's cortical bone (`coxa_anatomy::landmarks::canal`
//! measures it; the planner sizes stems to it): endosteal widths at the levels a stem fills, the
//! canal flare index (Noble et al. 1988) and the Dorr type (Dorr et al. 1993).
//!
//! Heights are along the femur's shaft axis relative to the lesser trochanter (positive
//! proximal), widths mediolateral (ML) and anteroposterior (AP) in the shaft frame, mm.

use nalgebra::{Point3, Vector3};
use serde::{Deserialize, Serialize};

use crate::{Quality, Side};

/// The canal in one cross-section normal to the shaft axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanalLevel {
    /// Height above the lesser trochanter along the shaft axis, mm (negative: below it).
    pub above_lt_mm: f64,
    /// Canal centre (middle of the four endosteal edges), LPS mm.
    pub centre_lps_mm: Point3<f64>,
    /// Endosteal (canal) width mediolateral, mm.
    pub ml_canal_mm: f64,
    /// Endosteal (canal) width anteroposterior, mm.
    pub ap_canal_mm: f64,
    /// Periosteal (outer) width mediolateral on the same line, mm.
    pub ml_outer_mm: f64,
    /// Periosteal (outer) width anteroposterior on the same line, mm.
    pub ap_outer_mm: f64,
    /// Median HU of the canal at the centre.
    pub canal_hu: f64,
}

/// Dorr's type of the proximal femur (Dorr et al. 1993), from the canal-calcar ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum DorrType {
    /// Canal-calcar ratio < 0.5: thick cortices, a funnel.
    A,
    /// 0.5 - 0.75.
    B,
    /// > 0.75: thin cortices, a wide diaphyseal canal (a stovepipe).
    C,
}

impl DorrType {
    /// The type of a canal-calcar ratio.
    pub fn from_ratio(r: f64) -> Self {
        if r < 0.5 {
            Self::A
        } else if r <= 0.75 {
            Self::B
        } else {
            Self::C
        }
    }
}

/// The femoral canal of one femur, measured on the CT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FemoralCanal {
    /// Which femur.
    pub side: Side,
    /// Unit shaft axis (proximal), LPS.
    pub shaft_direction_lps: Vector3<f64>,
    /// Unit medial direction of the widths, LPS.
    pub ml_direction_lps: Vector3<f64>,
    /// The lesser trochanter level.
    pub lesser_trochanter: Option<CanalLevel>,
    /// 20 mm above the lesser trochanter (Noble's metaphyseal level).
    pub metaphysis: Option<CanalLevel>,
    /// The isthmus: the narrowest ML canal below LT - 20 mm (smoothed profile).
    pub isthmus: Option<CanalLevel>,
    /// Whether the canal widens again below the isthmus found (else the narrowest level is the
    /// last imaged one and the true isthmus may lie further down).
    pub isthmus_imaged: bool,
    /// 100 mm below the lesser trochanter (Dorr's level), when imaged.
    pub dorr_level: Option<CanalLevel>,
    /// Every measured level from LT + 20 mm down, 5 mm apart, proximal first.
    pub profile: Vec<CanalLevel>,
    /// Canal flare index (Noble 1988): ML at LT + 20 / ML at the isthmus.
    pub canal_flare_index: Option<f64>,
    /// Dorr's canal-calcar ratio: ML canal 100 mm below the LT / at the LT.
    pub canal_calcar_ratio: Option<f64>,
    /// Cortical index 100 mm below the LT: (outer - canal) / outer, ML.
    pub cortical_index: Option<f64>,
    /// Dorr type from the canal-calcar ratio.
    pub dorr_type: Option<DorrType>,
    /// Sections (height above the LT, mm) left out because metal lies in them.
    pub metal_levels_mm: Vec<f64>,
    /// Trust: `Uncertain` when metal lies at the stem's levels or the LT level is not measured.
    pub quality: Quality,
    /// What was assumed or could not be measured.
    pub notes: Vec<String>,
}

impl FemoralCanal {
    /// The measured level nearest `above_lt_mm` (within 2.5 mm), if any.
    pub fn level_at(&self, above_lt_mm: f64) -> Option<&CanalLevel> {
        self.profile.iter().filter(|l| (l.above_lt_mm - above_lt_mm).abs() <= 2.5).min_by(|a, b| (a.above_lt_mm - above_lt_mm).abs().total_cmp(&(b.above_lt_mm - above_lt_mm).abs()))
    }
    /// The narrowest ML canal between two heights (inclusive), mm, over the measured levels.
    pub fn narrowest_ml_between(&self, lo_mm: f64, hi_mm: f64) -> Option<&CanalLevel> {
        self.profile.iter().filter(|l| (lo_mm - 1e-9..=hi_mm + 1e-9).contains(&l.above_lt_mm)).min_by(|a, b| a.ml_canal_mm.total_cmp(&b.ml_canal_mm))
    }
    /// The calcar-to-canal-isthmus ratio (after Yeung et al., J Arthroplasty 2006;21:508-513):
    /// ML canal width at the lesser trochanter (the calcar level) / at the isthmus. A wide
    /// proximal canal over a narrow isthmus (a high ratio) is a funnel (Dorr A); a ratio near 1
    /// a stovepipe (Dorr C).
    pub fn calcar_isthmus_ratio(&self) -> Option<f64> {
        match (&self.lesser_trochanter, &self.isthmus) {
            (Some(l), Some(i)) if i.ml_canal_mm > 0.0 => Some(l.ml_canal_mm / i.ml_canal_mm),
            _ => None,
        }
    }
    /// The lowest measured level (height above the LT), mm.
    pub fn lowest_level_mm(&self) -> Option<f64> {
        self.profile.iter().map(|l| l.above_lt_mm).reduce(f64::min)
    }
}

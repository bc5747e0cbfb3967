//! Combined anteversion: the cup's and the stem's anteversion taken together, in the two
//! definitions coxa prints, each computed here and nowhere else.
//!
//! - **Widmer** ([`CombinedAnteversion::widmer_deg`]): cup anteversion in Murray's
//!   **radiographic** definition (pelvic frame) plus 0.7 x the stem anteversion. Widmer and
//!   Zurfluh's range-of-motion model ("Compliant positioning of total hip components for optimal
//!   range of motion", J Orthop Res 2004;22:815-821) gives the largest impingement-free range for
//!   cup anteversion + 0.7 x stem antetorsion = 37.3 deg with a cup inclination of 40-45 deg;
//!   the planner's tie-break target (inclination 40, combined 37) and its objective's
//!   `combined_anteversion_deg` are this number.
//! - **Plain sum** ([`CombinedAnteversion::plain_sum_deg`]): cup anteversion in Murray's
//!   **operative** definition (the cup as the surgeon sees it in theatre) plus the stem
//!   anteversion, the "combined anteversion" of Ranawat's test (Ranawat and Maynard 1991) and of
//!   Dorr's femur-first technique (Dorr et al., Clin Orthop Relat Res 2009;467:119-127: a safe
//!   range of 25-50 deg). Which of Murray's definitions the cup's term takes is coxa's choice,
//!   named in the label ([`CombinedAnteversion::PLAIN_SUM_LABEL`]); the report printed this sum
//!   under that label before this module existed.
//!
//! Both take the same cup (in any definition: it is converted) and the same stem anteversion, so
//! a plan and its revision, the desk and the report give the same two numbers for the same
//! implants.

use serde::Serialize;

use crate::{Angle, CupAngleDefinition, CupAngles, Side};

/// Both combined anteversions of one cup and stem, deg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CombinedAnteversion {
    /// Widmer's: radiographic cup anteversion + 0.7 x stem anteversion, deg.
    pub widmer_deg: f64,
    /// The plain sum: operative cup anteversion + stem anteversion, deg.
    pub plain_sum_deg: f64,
}

impl CombinedAnteversion {
    /// Widmer's weight of the stem anteversion (Widmer and Zurfluh 2004).
    pub const WIDMER_STEM_FACTOR: f64 = 0.7;
    /// The cup definition of Widmer's sum.
    pub const WIDMER_CUP_DEFINITION: CupAngleDefinition = CupAngleDefinition::Radiographic;
    /// The cup definition of the plain sum.
    pub const PLAIN_SUM_CUP_DEFINITION: CupAngleDefinition = CupAngleDefinition::Operative;
    /// The label to print beside [`Self::widmer_deg`].
    pub const WIDMER_LABEL: &'static str = "combined anteversion, Widmer (radiographic cup + 0.7 x stem)";
    /// The label to print beside [`Self::plain_sum_deg`].
    pub const PLAIN_SUM_LABEL: &'static str = "combined anteversion, sum (operative cup + stem)";
    /// Widmer and Zurfluh's optimum of [`Self::widmer_deg`], deg.
    pub const WIDMER_OPTIMUM_DEG: f64 = 37.3;
    /// The safe range of [`Self::plain_sum_deg`], deg (Dorr et al., Clin Orthop Relat Res
    /// 2009;467:119-127).
    pub const PLAIN_SUM_SAFE_DEG: (f64, f64) = (25.0, 50.0);

    /// Both sums for `cup` (any definition, pelvic frame) on `side` and a stem anteversion.
    pub fn of(cup: &CupAngles, side: Side, stem_anteversion: Angle) -> Self {
        let r = cup.to_definition(Self::WIDMER_CUP_DEFINITION, side);
        let o = cup.to_definition(Self::PLAIN_SUM_CUP_DEFINITION, side);
        Self { widmer_deg: widmer_deg(r.anteversion, stem_anteversion), plain_sum_deg: o.anteversion.deg() + stem_anteversion.deg() }
    }
}

/// Widmer's combined anteversion from a **radiographic** cup anteversion and a stem
/// anteversion, deg (for callers that hold the radiographic angle alone; [`CombinedAnteversion::of`]
/// converts any definition).
pub fn widmer_deg(radiographic_cup_anteversion: Angle, stem_anteversion: Angle) -> f64 {
    radiographic_cup_anteversion.deg() + CombinedAnteversion::WIDMER_STEM_FACTOR * stem_anteversion.deg()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cup(definition: CupAngleDefinition, inc: f64, av: f64) -> CupAngles {
        CupAngles { definition, inclination: Angle::from_deg(inc), anteversion: Angle::from_deg(av) }
    }

    /// Issue 60's case: radiographic 45/15, stem 15. Widmer: 15 + 0.7 x 15 = 25.5. The plain sum
    /// takes the operative anteversion, tan(AVop) = tan(AVrad) / cos(INCrad) (Murray 1993), so
    /// atan(tan 15 / cos 45) = 20.754 deg, + 15.
    #[test]
    fn issue_60_cup_45_15_and_stem_15() {
        for side in [Side::Right, Side::Left] {
            let c = CombinedAnteversion::of(&cup(CupAngleDefinition::Radiographic, 45.0, 15.0), side, Angle::from_deg(15.0));
            assert!((c.widmer_deg - 25.5).abs() < 1e-9, "{c:?}");
            let op = (15f64.to_radians().tan() / 45f64.to_radians().cos()).atan().to_degrees();
            assert!((op - 20.754).abs() < 1e-3);
            assert!((c.plain_sum_deg - (op + 15.0)).abs() < 1e-9, "{c:?}");
        }
    }

    /// The cup may come in any definition: the same orientation gives the same two numbers.
    #[test]
    fn any_cup_definition_gives_the_same_numbers() {
        let r = cup(CupAngleDefinition::Radiographic, 40.0, 20.0);
        let want = CombinedAnteversion::of(&r, Side::Left, Angle::from_deg(8.0));
        for d in [CupAngleDefinition::Operative, CupAngleDefinition::Anatomic] {
            let got = CombinedAnteversion::of(&r.to_definition(d, Side::Left), Side::Left, Angle::from_deg(8.0));
            assert!((got.widmer_deg - want.widmer_deg).abs() < 1e-9 && (got.plain_sum_deg - want.plain_sum_deg).abs() < 1e-9, "{d:?}: {got:?} vs {want:?}");
        }
    }

    /// Without cup anteversion both are the stem's share; a stem change moves Widmer's by 0.7 x
    /// and the sum by 1.0 x the change; a cup with no inclination has the same anteversion in
    /// both definitions.
    #[test]
    fn the_stem_share_and_the_limits() {
        let flat = cup(CupAngleDefinition::Radiographic, 40.0, 0.0);
        let c = CombinedAnteversion::of(&flat, Side::Right, Angle::from_deg(10.0));
        assert!((c.widmer_deg - 7.0).abs() < 1e-9 && (c.plain_sum_deg - 10.0).abs() < 1e-9, "{c:?}");
        let r = cup(CupAngleDefinition::Radiographic, 45.0, 15.0);
        let (a, b) = (CombinedAnteversion::of(&r, Side::Right, Angle::from_deg(9.1)), CombinedAnteversion::of(&r, Side::Right, Angle::from_deg(15.0)));
        assert!((b.widmer_deg - a.widmer_deg - 0.7 * 5.9).abs() < 1e-9 && (b.plain_sum_deg - a.plain_sum_deg - 5.9).abs() < 1e-9);
        let upright = CombinedAnteversion::of(&cup(CupAngleDefinition::Radiographic, 0.0, 12.0), Side::Right, Angle::from_deg(0.0));
        assert!((upright.widmer_deg - 12.0).abs() < 1e-9 && (upright.plain_sum_deg - 12.0).abs() < 1e-9, "{upright:?}");
        assert!((widmer_deg(Angle::from_deg(15.0), Angle::from_deg(15.0)) - 25.5).abs() < 1e-12);
    }
}

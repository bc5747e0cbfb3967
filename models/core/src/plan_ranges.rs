//! The ranges a plan's values may take, in one place (issue 61): `coxa rom`'s flags, a scenario's
//! `[implants]`, `[placement]` and `[rom]`, the planning desk's controls (`coxa view`) and a saved
//! revision's `plan.json` are all checked by [`PlanValue::check`], so that the desk accepts
//! nothing the command line refuses.
//!
//! The bounds are wide, "could this be a hip plan at all", not a safe zone (Lewinnek's 40/15
//! +-10 deg is reported, never enforced):
//! - cup inclination 0..=90 deg: an axis from the acetabular plane to the pelvic frame's
//!   vertical (radiographic, Murray 1993); negative or beyond 90 deg is another definition's
//!   number or a typing error;
//! - cup and stem anteversion -45..=90 deg: retroversion beyond 45 deg is no placement a
//!   surgeon plans;
//! - head diameter 12..=60 mm, neck-length offset -15..=15 mm, neck length 4..=30 mm, shell
//!   outer diameter 20..=100 mm: around every catalog's sizes (the catalog itself then says which
//!   sizes exist);
//! - cup centre shift -15..=15 mm per direction from the automatic plan's centre: the desk's
//!   reach (the planner's medialisation is at most 20 mm in all);
//! - standing pelvic tilt -45..=45 deg and the sitting tilt's change -30..=60 deg.

/// A value of a plan that a person gives: a command-line flag, a scenario field, a desk
/// control, a revision's `plan.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanValue {
    /// Cup inclination, deg.
    CupInclinationDeg,
    /// Cup anteversion, deg.
    CupAnteversionDeg,
    /// Stem anteversion, deg.
    StemAnteversionDeg,
    /// Head diameter, mm.
    HeadDiameterMm,
    /// Head neck-length offset, mm.
    HeadOffsetMm,
    /// Neck length, mm.
    NeckLengthMm,
    /// Shell outer diameter, mm.
    ShellOuterDiameterMm,
    /// Cup centre shift from the automatic plan's, per direction, mm.
    CupShiftMm,
    /// Standing pelvic tilt, deg.
    StandingTiltDeg,
    /// The sitting tilt's change from standing, deg.
    SittingExtraTiltDeg,
}

/// A value outside its [`PlanValue`]'s range (or not a finite number): `"{value} is out of
/// range {lo}..={hi}"`, the caller names the field.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{}", if value.is_finite() { format!("{value} is out of range {lo}..={hi}") } else { format!("{value} is not a finite number") })]
pub struct OutOfRange {
    /// The value given.
    pub value: f64,
    /// Lowest allowed.
    pub lo: f64,
    /// Highest allowed.
    pub hi: f64,
}

impl PlanValue {
    /// The allowed range, inclusive: `(lo, hi)` (see the module docs).
    pub const fn range(self) -> (f64, f64) {
        match self {
            PlanValue::CupInclinationDeg => (0.0, 90.0),
            PlanValue::CupAnteversionDeg | PlanValue::StemAnteversionDeg => (-45.0, 90.0),
            PlanValue::HeadDiameterMm => (12.0, 60.0),
            PlanValue::HeadOffsetMm => (-15.0, 15.0),
            PlanValue::NeckLengthMm => (4.0, 30.0),
            PlanValue::ShellOuterDiameterMm => (20.0, 100.0),
            PlanValue::CupShiftMm => (-15.0, 15.0),
            PlanValue::StandingTiltDeg => (-45.0, 45.0),
            PlanValue::SittingExtraTiltDeg => (-30.0, 60.0),
        }
    }

    /// `v` when it is finite and in [`PlanValue::range`].
    ///
    /// # Errors
    /// [`OutOfRange`] otherwise.
    pub fn check(self, v: f64) -> Result<f64, OutOfRange> {
        let (lo, hi) = self.range();
        if v.is_finite() && (lo..=hi).contains(&v) { Ok(v) } else { Err(OutOfRange { value: v, lo, hi }) }
    }

    /// `v` moved into the range (a desk control stepped past its end stops there).
    pub fn clamp(self, v: f64) -> f64 {
        let (lo, hi) = self.range();
        v.clamp(lo, hi)
    }
}

/// Checks the values of a plan record (`plan.json`, e.g. a revision the desk is saving): the cup
/// angles (radiographic, the definition the desk's controls and `coxa rom`'s default use; the
/// other two are the same orientation, whose operative anteversion of a retroverted cup may
/// pass -45 deg), the stem's anteversion, the head and the shell.
///
/// # Errors
/// The first value out of range, with its field (`cup.angles_deg.radiographic.inclination_deg`).
pub fn check_plan(plan: &crate::PlanRecord) -> Result<(), (String, OutOfRange)> {
    let a = &plan.cup.angles_deg;
    let checks = [
        ("cup.angles_deg.radiographic.inclination_deg", PlanValue::CupInclinationDeg, a.radiographic.inclination_deg),
        ("cup.angles_deg.radiographic.anteversion_deg", PlanValue::CupAnteversionDeg, a.radiographic.anteversion_deg),
        ("stem.anteversion_deg", PlanValue::StemAnteversionDeg, plan.stem.anteversion_deg),
        ("head.diameter_mm", PlanValue::HeadDiameterMm, plan.head.diameter_mm),
        ("head.neck_length_offset_mm", PlanValue::HeadOffsetMm, plan.head.neck_length_offset_mm),
        ("cup.outer_diameter_mm", PlanValue::ShellOuterDiameterMm, plan.cup.outer_diameter_mm),
    ];
    for (field, what, v) in checks {
        what.check(v).map_err(|e| (field.to_string(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_61_desk_values_are_refused_with_their_range() {
        assert_eq!(PlanValue::CupInclinationDeg.check(-90.0).unwrap_err().to_string(), "-90 is out of range 0..=90");
        assert_eq!(PlanValue::CupAnteversionDeg.check(-50.0).unwrap_err().to_string(), "-50 is out of range -45..=90");
        assert_eq!(PlanValue::CupInclinationDeg.check(f64::NAN).unwrap_err().to_string(), "NaN is not a finite number");
        assert_eq!(PlanValue::CupInclinationDeg.check(90.0), Ok(90.0));
        assert_eq!(PlanValue::CupAnteversionDeg.check(-45.0), Ok(-45.0));
        assert_eq!(PlanValue::CupShiftMm.clamp(16.0), 15.0);
        assert_eq!(PlanValue::CupInclinationDeg.clamp(-3.0), 0.0);
    }
}

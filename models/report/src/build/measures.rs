//! The measures surgeons plan by, for the report's first page: combined anteversion in both of
//! coxa's definitions (computed by [`CombinedAnteversion`] alone), the neck resection level above
//! the lesser trochanter, the centre of rotation against the teardrop and against the other hip,
//! and the plan against the daily-life needs. A measure whose landmark is missing or not trusted
//! is not given: the page says why instead of printing a number.

use coxa_core::anatomy_record::FemurRecord;
use coxa_core::{Angle, CaseReport, CombinedAnteversion, CupAngleDefinition, CupAngles, Quality, Side, Source};
use nalgebra::Vector3;

/// Both combined anteversions of the report's placement (its radiographic cup, its side and its
/// stem anteversion), `None` when the placement has no radiographic cup angles.
pub fn combined(r: &CaseReport) -> Option<CombinedAnteversion> {
    let c = r.placement.cup_angles.get("radiographic")?;
    let cup = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(c.inclination_deg), anteversion: Angle::from_deg(c.anteversion_deg) };
    Some(CombinedAnteversion::of(&cup, r.side, Angle::from_deg(r.placement.stem_anteversion_deg)))
}

/// The stem placement the resection level is taken from, LPS mm: the prosthetic head centre on
/// the femur as imaged, the femur's shaft axis (a point and a direction), the lesser
/// trochanter, the stem's CCD angle, the neck length from the head's gauge point to the stem's
/// shoulder and the head's neck-length offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StemSeat {
    /// Prosthetic head centre on the femur as imaged, LPS mm.
    pub head_lps_mm: [f64; 3],
    /// A point of the femur's shaft axis, LPS mm.
    pub shaft_point_lps_mm: [f64; 3],
    /// The shaft axis' direction, LPS (either sense).
    pub shaft_direction_lps: [f64; 3],
    /// The lesser trochanter, LPS mm.
    pub lesser_trochanter_lps_mm: [f64; 3],
    /// The stem's neck-shaft (CCD) angle, deg.
    pub ccd_deg: f64,
    /// From the head's gauge point along the neck to the stem's shoulder, mm.
    pub neck_length_mm: f64,
    /// The head's neck-length offset, mm.
    pub head_offset_mm: f64,
}

impl StemSeat {
    /// The neck resection level, mm above the lesser trochanter: the neck is cut at the stem's
    /// shoulder, perpendicular to the stem's neck axis (as coxa's simulator cuts it), and the
    /// level is the height along the shaft axis at which that plane passes the lesser
    /// trochanter (the medial end of the cut, measured from the lesser trochanter towards the
    /// head, as on a template). The stem's neck leaves the shaft axis at the CCD angle in the
    /// plane of the shaft axis and the head centre; the shoulder lies `neck length + head
    /// offset` from the head centre down the neck. `None` when the geometry is degenerate (a
    /// head on the shaft axis, a neck along the shaft's normal plane).
    pub fn level_above_lesser_trochanter_mm(&self) -> Option<f64> {
        let v = |a: [f64; 3]| Vector3::new(a[0], a[1], a[2]);
        let (h, p, lt) = (v(self.head_lps_mm), v(self.shaft_point_lps_mm), v(self.lesser_trochanter_lps_mm));
        let mut u = v(self.shaft_direction_lps).try_normalize(1e-9)?;
        // Proximal: towards the head.
        if u.dot(&(h - p)) < 0.0 {
            u = -u;
        }
        let out = h - p;
        let m = (out - u * out.dot(&u)).try_normalize(1e-9)?;
        let ccd = self.ccd_deg.to_radians();
        // From the stem towards the head.
        let n = m * ccd.sin() - u * ccd.cos();
        let shoulder = h - n * (self.neck_length_mm + self.head_offset_mm);
        let un = u.dot(&n);
        (un.abs() > 1e-6).then(|| (shoulder - lt).dot(&n) / un).filter(|x| x.is_finite())
    }
}

/// The operated femur's record.
fn operated_femur(r: &CaseReport) -> Option<&FemurRecord> {
    r.anatomy.femurs.iter().find(|f| f.side == r.side)
}

/// The neck resection level as page 1 gives it: the value with how it is measured, or why it
/// is not given.
pub fn resection(r: &CaseReport) -> Result<(f64, String), String> {
    let Some(pl) = &r.plan else { return Err("not planned: the placement is fixed by the scenario".into()) };
    let Some(f) = operated_femur(r) else { return Err(format!("not given: the {} femur's landmarks are missing", r.side.as_str())) };
    let lt = &f.lesser_trochanter;
    if lt.quality != Quality::Good || lt.source != Source::Measured {
        let why = lt.note.as_deref().unwrap_or("not found reliably on the imaged femur");
        return Err(format!("not given: the lesser trochanter is uncertain ({why})"));
    }
    let Some(neck_length_mm) = r.placement.implants.stem_neck_length_mm else { return Err("not given: the stem's neck length is not recorded".into()) };
    let seat = StemSeat {
        head_lps_mm: pl.head.centre_on_femur_lps_mm,
        shaft_point_lps_mm: f.shaft_axis.point_lps_mm,
        shaft_direction_lps: f.shaft_axis.direction_lps,
        lesser_trochanter_lps_mm: lt.lps_mm,
        ccd_deg: pl.stem.ccd_deg.unwrap_or(r.placement.implants.stem_ccd_deg),
        neck_length_mm,
        head_offset_mm: pl.head.neck_length_offset_mm,
    };
    let Some(level) = seat.level_above_lesser_trochanter_mm() else { return Err("not given: the stem's neck and the shaft axis do not meet".into()) };
    let assumed = if f.shaft_axis.source == Source::Measured { "" } else { "; the shaft axis is not imaged, so the level is approximate" };
    Ok((level, format!("at the stem's shoulder, perpendicular to its neck, along the shaft axis{assumed}")))
}

/// The neck resection level's standard deviation, mm: the lesser trochanter's (the plan's input
/// uncertainty, per axis) and the femoral head centre's along the shaft axis (the stem is seated
/// on the head centre, so its shoulder moves with it), added in quadrature. `None` without the
/// plan's intervals or the femur.
pub fn resection_sd_mm(r: &CaseReport) -> Option<f64> {
    let u = &r.plan.as_ref()?.intervals.as_ref()?.inputs;
    let d = Vector3::from(operated_femur(r)?.shaft_axis.direction_lps).try_normalize(1e-12)?;
    let along: f64 = (0..3).map(|i| (u.head_centre_sd_mm[i] * d[i]).powi(2)).sum();
    Some((u.landmark_sd_mm.powi(2) + along).sqrt())
}

/// The standard deviation of each component of [`centre_against_other_hip`] (horizontal and
/// vertical alike), mm: the socket centre's (where the cup is centred) and the other femoral
/// head's, each taken as its largest per-axis SD (the pelvic frame's turn from the CT's axes is
/// not carried, so no axis is favoured), added in quadrature. `None` without the plan's intervals.
pub fn centre_sd_mm(r: &CaseReport) -> Option<f64> {
    let u = &r.plan.as_ref()?.intervals.as_ref()?.inputs;
    let largest = |sd: &[f64; 3]| sd.iter().copied().fold(0.0, f64::max);
    Some(largest(&u.socket_centre_sd_mm).hypot(largest(&u.other_head_centre_sd_mm)))
}

/// The planned centre of rotation against the operated side's teardrop, mm: (horizontal,
/// positive lateral of the teardrop's tip; vertical, positive above it), in the pelvic frame.
/// `Err`: why not.
pub fn centre_against_teardrop(r: &CaseReport) -> Result<(f64, f64), String> {
    let Some(pl) = &r.plan else { return Err("not planned".into()) };
    let Some(t) = pl.cup.teardrop_pelvic_mm else {
        return Err("no obturator foramen below the socket in this CT; see the other hip below".into());
    };
    let c = pl.cup.centre_pelvic_mm;
    Ok((r.side.lateral_sign() * (c[0] - t[0]), c[2] - t[2]))
}

/// The planned centre of rotation against the other hip's, mm: (horizontal, positive more
/// lateral; vertical, positive higher), in the pelvic frame, the other hip's femoral-head centre
/// mirrored about the midline (pelvic x = 0). `Err`: why not.
pub fn centre_against_other_hip(r: &CaseReport) -> Result<(f64, f64), String> {
    let Some(pl) = &r.plan else { return Err("not planned".into()) };
    let other = r.side.opposite();
    let Some(head) = r.anatomy.femoral_heads.iter().find(|h| h.side == other) else { return Err(format!("the {} hip is not imaged", other.as_str())) };
    let Some(o) = head.centre_pelvic_mm else { return Err(format!("the {} femoral head has no pelvic-frame position (no anterior pelvic plane)", other.as_str())) };
    let c = pl.cup.centre_pelvic_mm;
    let lateral = |s: Side, x: f64| s.lateral_sign() * x;
    Ok((lateral(r.side, c[0]) - lateral(other, o[0]), c[2] - o[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stem of CCD 135 deg on a vertical shaft through the origin, its head 40 mm medial of the
    /// shaft and 60 mm above the lesser trochanter, which lies on the shaft's medial side: the
    /// neck runs up and medially at 45 deg; the shoulder lies `L + o` = 30 mm down it, at
    /// (40 - 21.21, 60 - 21.21); the cut plane (normal (1, 1)/sqrt 2 in the (medial, up) plane)
    /// meets the line above the trochanter at medial 15 mm where medial + up = 57.57 mm: up
    /// 42.57 mm.
    #[test]
    fn the_level_of_a_45_degree_neck_is_exact() {
        let d = 30.0 / 2f64.sqrt();
        let seat = StemSeat {
            head_lps_mm: [40.0, 5.0, 60.0],
            shaft_point_lps_mm: [0.0, 5.0, -100.0],
            shaft_direction_lps: [0.0, 0.0, -1.0],
            lesser_trochanter_lps_mm: [15.0, 5.0, 0.0],
            ccd_deg: 135.0,
            neck_length_mm: 26.5,
            head_offset_mm: 3.5,
        };
        let want = (40.0 - d) + (60.0 - d) - 15.0;
        let got = seat.level_above_lesser_trochanter_mm().unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        assert!((want - 42.574).abs() < 1e-3);
        // A longer head moves the cut 1 x cos 45 down the neck's length: the level drops by
        // 2 sqrt 2 mm for 2 mm more offset (both shoulder coordinates move by 2 / sqrt 2).
        let longer = StemSeat { head_offset_mm: 5.5, ..seat }.level_above_lesser_trochanter_mm().unwrap();
        assert!((got - longer - 2.0 * 2f64.sqrt()).abs() < 1e-9, "{got} {longer}");
        // A head on the shaft axis has no neck plane.
        assert!(StemSeat { head_lps_mm: [0.0, 5.0, 60.0], ..seat }.level_above_lesser_trochanter_mm().is_none());
    }

    /// A CCD of 90 deg is a horizontal neck: the cut plane is vertical and never passes above the
    /// trochanter; no number.
    #[test]
    fn a_horizontal_neck_gives_no_level() {
        let seat = StemSeat {
            head_lps_mm: [40.0, 0.0, 60.0],
            shaft_point_lps_mm: [0.0, 0.0, 0.0],
            shaft_direction_lps: [0.0, 0.0, 1.0],
            lesser_trochanter_lps_mm: [15.0, 0.0, 0.0],
            ccd_deg: 90.0,
            neck_length_mm: 20.0,
            head_offset_mm: 0.0,
        };
        assert_eq!(seat.level_above_lesser_trochanter_mm(), None);
    }
}

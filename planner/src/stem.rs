//! The femoral reconstruction: where the stem puts the head centre, and the leg length and
//! offset that follow. (The stem's size comes from [`crate::stem_fill`].)
//!
//! **Outer canal profile** ([`CanalProfile`], reported in the plan): mediolateral widths of the
//! femur's cross-sections normal to the shaft axis at the lesser trochanter and
//! [`crate::SizingRules::distal_level_mm`] below it, each measured on the line through the shaft
//! axis along the medial direction, with the outer-width estimate of the canal
//! (x (1 - 2 [`crate::SizingRules::cortical_ratio`])).
//!
//! **Stem placement** (the convention of `coxa_sim`'s hip model): the stem's shaft lies on the
//! femur's anatomical shaft axis; its neck leaves at the CCD angle towards medial, turned about
//! the shaft by the stem anteversion (relative to the femoral frame's +x, the condylar line).
//! The head centre lies `offset_mm + o sin(ccd)` from the shaft axis and, at seat 0, a 0 mm
//! offset head sits at the native head's height; a head offset `o` adds `-o cos(ccd)` of height,
//! the seat (the neck cut moved) adds its own.
//!
//! **Leg length and offset** are compared with the femur at zero joint angles (femoral frame
//! parallel to the pelvic frame) and the head centre in the cup: the femur moves by
//! `D = (cup centre - native head centre) - (prosthetic - native head centre on the femur)`;
//! the leg lengthens by `-D_z` (pelvic inferior) and the offset grows by `D · lateral`. Against
//! the other hip (when imaged) the targets make the lesser trochanter as deep and the shaft
//! axis (at its level) as far from the midline (pelvic x = 0) as on the other side; otherwise
//! the targets are 0 (restore the native hip).

use coxa_core::{Angle, Mesh, PelvicFrame, Side};
use coxa_implants::Catalog;
use nalgebra::{Point3, Rotation3, Unit, Vector3};
use serde::Serialize;

use crate::error::{PlanError, Result};
use crate::input::{HipLandmarks, PlanAnatomy, SizingRules};

/// Mediolateral width of the femur's section by the plane through `point` normal to `u`,
/// measured along `ml` within 2 mm of the line through `point`, mm.
pub(crate) fn section_width(mesh: &Mesh, point: &Point3<f64>, u: &Vector3<f64>, ml: &Vector3<f64>) -> Option<f64> {
    let ap = u.cross(ml);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for t in 0..mesh.triangles().len() {
        let c = mesh.corners(t);
        let h = c.map(|p| (p - point).dot(u));
        for i in 0..3 {
            let j = (i + 1) % 3;
            if (h[i] < 0.0) != (h[j] < 0.0) {
                let s = h[i] / (h[i] - h[j]);
                let q = c[i] + (c[j] - c[i]) * s - point;
                if q.dot(&ap).abs() < 2.0 {
                    lo = lo.min(q.dot(ml));
                    hi = hi.max(q.dot(ml));
                }
            }
        }
    }
    (hi > lo).then_some(hi - lo)
}

/// The femoral canal at the two levels.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CanalProfile {
    /// Outer mediolateral width at the lesser trochanter, mm.
    pub proximal_outer_mm: f64,
    /// Outer mediolateral width at the distal level, mm (`None`: the shaft is not imaged there).
    pub distal_outer_mm: Option<f64>,
    /// Estimated canal width at the lesser trochanter, mm.
    pub proximal_canal_mm: f64,
    /// Estimated canal width at the distal level, mm.
    pub distal_canal_mm: Option<f64>,
    /// The distal level below the lesser trochanter actually measured, mm (less than asked when
    /// the femur is cut short; `None` when no level is imaged).
    pub distal_level_mm: Option<f64>,
}

/// Measures the canal of the operated femur.
pub fn canal_profile(anatomy: &PlanAnatomy, rules: &SizingRules) -> Result<CanalProfile> {
    let f = &anatomy.operated.femur;
    let u = f.shaft_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| PlanError::Anatomy { structure: "femur", why: "zero shaft axis".into() })?;
    let lateral = Vector3::new(anatomy.side.lateral_sign(), 0.0, 0.0);
    let ml = (-lateral - u * (-lateral).dot(&u)).try_normalize(1e-9).ok_or_else(|| PlanError::Anatomy { structure: "femur", why: "the shaft runs left-right".into() })?;
    let a = f.shaft_axis.point_lps_mm;
    let lt_level = a + u * (f.lesser_trochanter.lps_mm - a).dot(&u);
    // At the lesser trochanter; a femur cut just below it (a hip CT) may have no closed
    // section exactly there: the first one up to 20 mm above it is taken.
    let po = (0..=10)
        .find_map(|k| section_width(&anatomy.femur, &(lt_level + u * (2.0 * f64::from(k))), &u, &ml))
        .ok_or_else(|| PlanError::Anatomy { structure: "femur", why: "no cross-section of the femur within 20 mm above the lesser trochanter; is the proximal femur imaged?".into() })?;
    // A femur cut short (a hip CT) has no shaft section at the distal level: the lowest level at
    // least 20 mm below the trochanter (5 mm steps) whose section is at least 10 mm wide (not a
    // sliver at the scan's edge) is used instead; without one the stem is sized proximally only.
    let mut level = rules.distal_level_mm;
    let distal = loop {
        if let Some(w) = section_width(&anatomy.femur, &(lt_level - u * level), &u, &ml).filter(|w| *w >= MIN_SHAFT_WIDTH_MM) {
            break Some(w);
        }
        level -= 5.0;
        if level < 20.0 {
            break None;
        }
    };
    let k = 1.0 - 2.0 * rules.cortical_ratio;
    Ok(CanalProfile { proximal_outer_mm: po, distal_outer_mm: distal, proximal_canal_mm: po * k, distal_canal_mm: distal.map(|d| d * k), distal_level_mm: distal.map(|_| level) })
}

/// Narrowest section that counts as the femoral shaft, mm.
const MIN_SHAFT_WIDTH_MM: f64 = 10.0;

/// Leg-length and offset targets.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Targets {
    /// Leg-length change wanted, mm (positive lengthens).
    pub leg_length_change_mm: f64,
    /// Offset change wanted, mm (positive lateralises the femur).
    pub offset_change_mm: f64,
    /// Whether they come from the other hip (else 0: restore the native hip).
    pub from_contralateral: bool,
}

/// Depth of the lesser trochanter below the pelvic origin and lateral distance of the shaft axis
/// (at its level) from the midline, both with the femur at zero joint angles, mm.
fn leg_measures(frame: &PelvicFrame, side: Side, h: &HipLandmarks) -> (f64, f64) {
    let f = &h.femur;
    let head = frame.point_to_pelvic(&f.head_centre.lps_mm);
    let r = h.femur_from_lps;
    let lt = head + r * (f.lesser_trochanter.lps_mm - f.head_centre.lps_mm);
    let u = f.shaft_axis.direction_lps.normalize();
    let a = f.shaft_axis.point_lps_mm;
    let shaft_at_lt = a + u * (f.lesser_trochanter.lps_mm - a).dot(&u);
    let shaft = head + r * (shaft_at_lt - f.head_centre.lps_mm);
    (-lt.z, side.lateral_sign() * shaft.x)
}

/// The targets: against the other hip when it is imaged and both femoral shafts are measured
/// (a femur cut just below the trochanters has no measurable shaft, so neither its leg length
/// nor its offset can be compared), else 0: restore the native hip.
pub fn targets(anatomy: &PlanAnatomy) -> Targets {
    let measured = |h: &crate::HipLandmarks| h.femur.shaft_axis.quality == coxa_core::Quality::Good;
    match &anatomy.contralateral {
        Some(other) if measured(&anatomy.operated) && measured(other) => {
            let (l_op, o_op) = leg_measures(&anatomy.frame, anatomy.side, &anatomy.operated);
            let (l_ot, o_ot) = leg_measures(&anatomy.frame, anatomy.side.opposite(), other);
            Targets { leg_length_change_mm: l_ot - l_op, offset_change_mm: o_ot - o_op, from_contralateral: true }
        }
        _ => Targets { leg_length_change_mm: 0.0, offset_change_mm: 0.0, from_contralateral: false },
    }
}

/// A femoral reconstruction: which stem and head offset, how deep, and what it gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FemoralReconstruction {
    /// Stem series (catalog name).
    pub stem_family: String,
    /// Stem size label.
    pub stem_size: String,
    /// Head neck-length offset, mm.
    pub head_offset_mm: f64,
    /// Seat relative to the nominal height, mm (positive: proud, a higher neck cut).
    pub seat_mm: f64,
    /// Stem anteversion.
    pub stem_anteversion: Angle,
    /// Prosthetic head centre on the femur as imaged, LPS mm.
    pub head_centre_on_femur_lps_mm: [f64; 3],
    /// Leg-length change, mm (positive lengthens).
    pub leg_length_change_mm: f64,
    /// Offset change, mm (positive lateralises the femur).
    pub offset_change_mm: f64,
    /// Anterior shift of the femur, mm (positive anterior).
    pub anterior_change_mm: f64,
}

/// Geometry of the stem placement in the femoral frame (origin at the native head centre).
struct StemFrame {
    u: Vector3<f64>,
    foot: Vector3<f64>,
    medial0: Vector3<f64>,
}

impl StemFrame {
    fn new(anatomy: &PlanAnatomy) -> Self {
        let f = &anatomy.operated.femur;
        let r = anatomy.operated.femur_from_lps;
        let u = (r * f.shaft_axis.direction_lps).normalize();
        let a = r * (f.shaft_axis.point_lps_mm - f.head_centre.lps_mm);
        let foot = a + u * (-a).dot(&u);
        let s = anatomy.side.lateral_sign();
        // As coxa_sim's hip model: medial = (-s x) made perpendicular to the shaft.
        let medial0 = (Vector3::x() * -s - u * (u.x * -s)).normalize();
        Self { u, foot, medial0 }
    }
    /// Head centre relative to the native head centre, femoral frame.
    fn head(&self, side: Side, ccd: Angle, offset_mm: f64, o: f64, seat: f64, version: Angle) -> Vector3<f64> {
        let turn = version_turn(side, &self.u, version);
        let m = turn * self.medial0;
        self.foot + self.u * (seat - o * ccd.rad().cos()) + m * (offset_mm + o * ccd.rad().sin())
    }
}

/// The stem's turn by `version` about the shaft axis `shaft_direction` (either sense of the axis'
/// frame: femoral or LPS): positive anterior on either side.
pub fn version_turn(side: Side, shaft_direction: &Vector3<f64>, version: Angle) -> Rotation3<f64> {
    Rotation3::from_axis_angle(&Unit::new_normalize(*shaft_direction), side.lateral_sign() * version.rad())
}

/// The planner's stem rule applied as a change to a placed stem (the viewer's live planning): a
/// turn of `d_version` about the shaft axis ([`version_turn`]) carries the head centre and the neck
/// around it, and a head offset `d_head_offset_mm` longer moves the head out along the neck, as
/// the reconstruction's head does (`head = foot + u (seat - o cos ccd) + m (offset + o sin ccd)`).
/// `neck_to_stem_lps`: the neck axis' unit direction from the head toward the stem. Returns the
/// new head centre and neck direction, LPS.
pub fn moved_head(
    side: Side,
    shaft_point_lps_mm: &Point3<f64>,
    shaft_direction_lps: &Vector3<f64>,
    head_centre_lps_mm: &Point3<f64>,
    neck_to_stem_lps: &Vector3<f64>,
    d_version: Angle,
    d_head_offset_mm: f64,
) -> (Point3<f64>, Vector3<f64>) {
    let u = shaft_direction_lps.normalize();
    let foot = shaft_point_lps_mm + u * (head_centre_lps_mm - shaft_point_lps_mm).dot(&u);
    let turn = version_turn(side, &u, d_version);
    let head = foot + turn * (head_centre_lps_mm - foot);
    let neck = turn * neck_to_stem_lps;
    (head - neck * d_head_offset_mm, neck)
}

/// The planner's stem rule for another size of the same series (the viewer's live planning):
/// sizes of a series differ in their offset (the head centre's distance from the shaft axis,
/// catalog `offset_mm`), so the head centre moves away from the shaft axis, perpendicular to it,
/// by `d_stem_offset_mm` (the new size's offset minus the old one's), as the reconstruction's head
/// does (`head = foot + u (seat - o cos ccd) + m (offset + o sin ccd)`); the neck's direction
/// (the series' CCD angle, the version) is unchanged. A head centre on the shaft axis (no
/// direction to move in) is returned as it is.
pub fn resized_head(shaft_point_lps_mm: &Point3<f64>, shaft_direction_lps: &Vector3<f64>, head_centre_lps_mm: &Point3<f64>, d_stem_offset_mm: f64) -> Point3<f64> {
    let u = shaft_direction_lps.normalize();
    let foot = shaft_point_lps_mm + u * (head_centre_lps_mm - shaft_point_lps_mm).dot(&u);
    let out = head_centre_lps_mm - foot;
    match out.try_normalize(1e-9) {
        Some(m) => head_centre_lps_mm + m * d_stem_offset_mm,
        None => *head_centre_lps_mm,
    }
}

/// The stem anteversion that keeps the head on the native head's azimuth about the shaft axis
/// (the native version in the stem placement's convention): the angle about the shaft, from the
/// femoral frame's medial direction to the perpendicular from the shaft axis to the native head
/// centre, positive anterior. It differs from the landmark anteversion (neck axis against the
/// condylar line) by the neck's own offset from the shaft axis.
pub fn native_stem_version(anatomy: &PlanAnatomy) -> Angle {
    let sf = StemFrame::new(anatomy);
    let d = -sf.foot;
    let s = anatomy.side.lateral_sign();
    Angle::from_rad(s * sf.u.dot(&sf.medial0.cross(&d)).atan2(sf.medial0.dot(&d)))
}

/// Builds the reconstruction of one stem, head offset, seat and version with the cup at
/// `cup_centre_lps_mm`.
#[expect(clippy::too_many_arguments, reason = "one plain value per degree of freedom")]
pub fn reconstruct(
    anatomy: &PlanAnatomy,
    cup_centre_lps_mm: &Point3<f64>,
    family: &str,
    size: &str,
    ccd: Angle,
    offset_mm: f64,
    head_offset_mm: f64,
    seat_mm: f64,
    version: Angle,
) -> FemoralReconstruction {
    let sf = StemFrame::new(anatomy);
    let delta = sf.head(anatomy.side, ccd, offset_mm, head_offset_mm, seat_mm, version);
    let f = &anatomy.operated.femur;
    let r = anatomy.operated.femur_from_lps;
    let head_lps = f.head_centre.lps_mm + r.inverse() * delta;
    let frame = &anatomy.frame;
    let d_cup = frame.vector_to_pelvic(&(cup_centre_lps_mm - f.head_centre.lps_mm));
    let d = d_cup - delta;
    FemoralReconstruction {
        stem_family: family.to_string(),
        stem_size: size.to_string(),
        head_offset_mm,
        seat_mm,
        stem_anteversion: version,
        head_centre_on_femur_lps_mm: [head_lps.x, head_lps.y, head_lps.z],
        leg_length_change_mm: -d.z,
        offset_change_mm: anatomy.side.lateral_sign() * d.x,
        anterior_change_mm: -d.y,
    }
}

/// A stem and head offset whose seat is yet to be chosen ([`seated`]).
#[derive(Debug, Clone, Copy)]
pub struct SeatedStem<'a> {
    /// Stem series (catalog name).
    pub family: &'a str,
    /// Stem size label.
    pub size: &'a str,
    /// The series' CCD angle.
    pub ccd: Angle,
    /// The size's offset (head centre from the shaft axis at a 0 mm head), mm.
    pub offset_mm: f64,
    /// Head neck-length offset, mm.
    pub head_offset_mm: f64,
}

/// The reconstruction of `stem` at `version` seated to restore the leg-length target: leg
/// length is linear in the seat, so the seat is solved for the target, clamped to
/// `seat_range_mm` either way and rounded to 0.1 mm. The one rule of the seat: the femoral
/// options and every stem version the optimiser tries use it.
pub fn seated(anatomy: &PlanAnatomy, cup_centre_lps_mm: &Point3<f64>, stem: &SeatedStem<'_>, version: Angle, targets: &Targets, seat_range_mm: f64) -> FemoralReconstruction {
    let at = |seat: f64| reconstruct(anatomy, cup_centre_lps_mm, stem.family, stem.size, stem.ccd, stem.offset_mm, stem.head_offset_mm, seat, version);
    let (l0, l1) = (at(0.0).leg_length_change_mm, at(1.0).leg_length_change_mm);
    let slope = l1 - l0;
    let seat = if slope.abs() > 1e-9 { ((targets.leg_length_change_mm - l0) / slope).clamp(-seat_range_mm, seat_range_mm) } else { 0.0 };
    at((seat * 10.0).round() / 10.0)
}

/// The femoral reconstructions for the fitted stem sizes (`size_indices`: one per catalog
/// series, in catalog order, from [`crate::stem_fill`]), best first: every series, every head offset, the seat (within the seat range) that best restores the leg-length
/// target. Ranked by `w_ll |LL error| + w_off |offset error|` plus a small preference for a 0 mm
/// head offset and a nominal seat.
#[expect(clippy::too_many_arguments, reason = "the anatomy, the catalog and each choice already made")]
pub fn femoral_options(
    anatomy: &PlanAnatomy,
    catalog: &Catalog,
    rules: &SizingRules,
    size_indices: &[usize],
    cup_centre_lps_mm: &Point3<f64>,
    version: Angle,
    targets: &Targets,
    w_ll: f64,
    w_off: f64,
) -> Result<Vec<(f64, FemoralReconstruction)>> {
    let offsets: Vec<f64> = {
        let mut v: Vec<f64> = catalog.heads.iter().flat_map(|h| h.neck_length_offsets_mm.iter().copied()).collect();
        v.sort_by(f64::total_cmp);
        v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        v
    };
    let mut out = Vec::new();
    for (fi, fam) in catalog.stems.iter().enumerate() {
        let Some(z) = size_indices.get(fi).and_then(|&k| fam.sizes.get(k)) else { continue };
        let ccd = Angle::from_deg(fam.ccd_deg);
        for &o in &offsets {
            let stem = SeatedStem { family: &fam.name, size: &z.size, ccd, offset_mm: z.offset_mm, head_offset_mm: o };
            let rec = seated(anatomy, cup_centre_lps_mm, &stem, version, targets, rules.seat_range_mm);
            let cost =
                w_ll * (rec.leg_length_change_mm - targets.leg_length_change_mm).abs() + w_off * (rec.offset_change_mm - targets.offset_change_mm).abs() + 0.05 * o.abs() + 0.05 * rec.seat_mm.abs();
            out.push((cost, rec));
        }
    }
    if out.is_empty() {
        return Err(PlanError::NoFit { why: format!("no stem series of the catalog has the fitted sizes {size_indices:?}") });
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

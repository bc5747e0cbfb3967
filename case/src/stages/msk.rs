//! The musculoskeletal stage of a case: abductors and hip load before and after the plan
//! ([`crate::msk_stage`]), on the case's landmarks, muscles and bones. Writes no file: with the
//! record it returns what the case writer writes the case's OpenSim model from.

use crate::error::Result;
use nalgebra::Vector3;

use coxa_core::Side;
use coxa_core::report::MskRecord;

use super::anatomy::AnatomyResult;
use super::sweep::{PointGeometry, PointResult};
use crate::msk_stage::MskInput;

/// The `[msk]` stage on the primary sweep point (`geo` its geometry): the hip before the plan
/// (the native centre) and after it (the plan's centre shift, offset and leg length; unchanged
/// for a fixed placement); with the record, the case's OpenSim model
/// ([`crate::msk_stage::export::CaseOsim`]).
///
/// # Errors
/// The model or a solve failing.
pub fn run(input: &MskInput, anatomy: &AnatomyResult, primary: &PointResult, geo: &PointGeometry, side: Side) -> Result<(MskRecord, crate::msk_stage::export::CaseOsim)> {
    let heads = [Side::Left, Side::Right].map(|side| anatomy.landmarks.femur(side).map(|f| f.head_centre.lps_mm));
    let head_distance = match heads {
        [Some(l), Some(r)] => Some((l - r).norm()),
        _ => None,
    };
    let change = match &primary.plan {
        Some(p) => {
            let (cup, f) = (&p.plan.cup, &p.plan.femoral);
            crate::msk_stage::HipChange {
                cor_shift_lps_mm: Vector3::from(cup.centre_lps_mm) - Vector3::from(cup.native_centre_lps_mm),
                offset_change_mm: f.offset_change_mm,
                leg_length_change_mm: f.leg_length_change_mm,
            }
        }
        None => crate::msk_stage::HipChange::default(),
    };
    crate::msk_stage::run(
        input,
        head_distance,
        geo.model.pelvic_frame(),
        &change,
        side == Side::Left,
        &crate::msk_stage::ct_muscles(anatomy.record.muscles.as_deref().unwrap_or_default(), side == Side::Left),
        Some(crate::msk_stage::CaseBones { bones: &anatomy.bones, landmarks: &anatomy.landmarks }),
    )
}

//! The pictures stage: the report's four pictures of the primary sweep point, drawn on the CPU
//! ([`crate::render`]), and the plan on a simulated AP pelvis radiograph of the case's CT
//! ([`crate::xray::report_picture`]). Returns PNG bytes; the case writer writes them.

use anyhow::Result;
use serde_json::Value;

use coxa_core::{ImplantPlacement, Mesh, PatientLandmarks, PlanRecord, Side, Volume};

use super::anatomy::AnatomyResult;
use crate::render::{PlanScene, png, report_pictures};

/// Side of each of the report's pictures, pixels.
const PICTURE_PX: usize = 480;

/// One picture of the case.
pub struct Picture {
    /// The view, as the report captions it.
    pub view: String,
    /// Its file, relative to the case folder (`pictures/<view>.png`).
    pub file: String,
    /// The PNG.
    pub png: Vec<u8>,
}

/// The report's four pictures: the bones translucent, the implants (`implants`, placed, LPS mm),
/// and the operated femur placed so that the planned head sits in the cup.
///
/// # Errors
/// A picture that cannot be encoded.
pub fn pictures(anatomy: &AnatomyResult, model: &coxa_sim::HipModel, implants: &[(&'static str, Mesh)], placement: &ImplantPlacement, side: Side) -> Result<Vec<Picture>> {
    let scene = PlanScene { bones: &anatomy.meshes, implants, side, hip_centre_lps_mm: model.hip_centre_lps_mm(), head_on_femur_lps_mm: placement.head_centre_on_femur_lps_mm };
    report_pictures(&scene, PICTURE_PX).into_iter().map(|(view, pic)| Ok(Picture { view: view.as_str().to_string(), file: format!("pictures/{}.png", view.as_str()), png: png(&pic)? })).collect()
}

/// The plan on a simulated AP pelvis radiograph of `ct` (moved in: its last use) with the
/// landmarks `lm` the plan used, and the radiograph's templating measures
/// (`pictures/xray_ap.json`).
///
/// # Errors
/// A CT too thin to project, a plan without its implants.
pub fn radiograph(ct: Volume, lm: &PatientLandmarks, plan: &PlanRecord) -> Result<(Picture, Value)> {
    let (png, measures) = crate::xray::report_picture(ct, lm, plan)?;
    Ok((Picture { view: "radiograph (simulated AP pelvis)".into(), file: "pictures/xray_ap.png".into(), png }, measures))
}

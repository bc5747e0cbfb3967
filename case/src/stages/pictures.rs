//! The pictures stage: the report's four pictures of the primary sweep point and one per
//! limiting motion at its first contact, drawn on the CPU ([`crate::render`]), and the plan on a
//! simulated AP pelvis radiograph of the case's CT ([`crate::xray::report_picture`]). Returns
//! PNG bytes; the case writer writes them.

use crate::error::{Context, Result};
use nalgebra::Point3;
use rayon::prelude::*;
use serde_json::Value;

use coxa_core::picture::CameraView;
use coxa_core::report::MotionRecord;
use coxa_core::{ImplantPlacement, Mesh, PatientLandmarks, PlanRecord, RomRecord, Side, Volume};
use coxa_sim::rom::{self, PelvicTilts};

use super::anatomy::AnatomyResult;
use crate::render::{MotionPose, PlanScene, motion_picture, png, report_pictures};
use coxa_report::build::CONTACT_PICTURE_PREFIX;

/// A daily-life motion within this margin of its need (deg) limits the plan: the report shows
/// it at its first contact.
pub const LIMITING_MARGIN_DEG: f64 = 10.0;

/// At most this many motions are shown at their first contact.
pub const MAX_CONTACT_PICTURES: usize = 3;

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

/// What the pictures of the primary point draw: the case's bones, the placed implants, the
/// operated femur's planned head on the cup centre.
fn plan_scene<'a>(anatomy: &'a AnatomyResult, model: &coxa_sim::HipModel, implants: &'a [(&'static str, Mesh)], placement: &ImplantPlacement, side: Side) -> PlanScene<'a> {
    PlanScene { bones: &anatomy.bones, implants, side, hip_centre_lps_mm: model.hip_centre_lps_mm(), head_on_femur_lps_mm: placement.head_centre_on_femur_lps_mm }
}

/// The report's four pictures: the bones translucent, the implants (`implants`, placed, LPS mm),
/// and the operated femur placed so that the planned head sits in the cup.
///
/// # Errors
/// A picture that cannot be encoded.
pub fn pictures(anatomy: &AnatomyResult, model: &coxa_sim::HipModel, implants: &[(&'static str, Mesh)], placement: &ImplantPlacement, side: Side) -> Result<Vec<Picture>> {
    let scene = plan_scene(anatomy, model, implants, placement, side);
    report_pictures(&scene, PICTURE_PX).into_iter().map(|(view, pic)| Ok(Picture { view: view.as_str().to_string(), file: format!("pictures/{}.png", view.as_str()), png: png(&pic)? })).collect()
}

/// The daily-life motions that limit the plan, smallest margin first: those short of their need
/// or within [`LIMITING_MARGIN_DEG`] of it, and in any case the one with the smallest margin
/// that touched something; at most [`MAX_CONTACT_PICTURES`].
pub fn limiting_motions(rom: &RomRecord) -> Vec<&MotionRecord> {
    let mut touched: Vec<(&MotionRecord, f64)> = rom.motions.iter().filter(|m| m.contact_point_lps_mm.is_some()).filter_map(|m| Some((m, m.margin_deg()?))).collect();
    touched.sort_by(|a, b| a.1.total_cmp(&b.1));
    touched.iter().enumerate().filter(|(i, (_, margin))| *i == 0 || *margin < LIMITING_MARGIN_DEG).map(|(_, (m, _))| *m).take(MAX_CONTACT_PICTURES).collect()
}

/// The camera that shows a motion's contact best: the superior view for rotations (the neck
/// swings in the transverse plane), the AP view for abduction and adduction, the lateral view
/// for flexion, extension and sitting.
fn camera_for(motion: &str) -> CameraView {
    if motion.contains("rotation") || motion.contains("dislocation") {
        CameraView::HipSuperior
    } else if motion.contains("duction") {
        CameraView::HipAp
    } else {
        CameraView::HipLateral
    }
}

/// A contact picture's caption: the motion, what touches (named by anatomy, else the
/// simulator's parts) and the view, e.g. "first contact: adduction, femoral neck against
/// anterior acetabular rim (hip, seen from the front)".
fn contact_caption(m: &MotionRecord, view: CameraView) -> String {
    let what = m.structures.as_ref().map(coxa_core::ContactStructures::phrase).or_else(|| m.parts.clone()).unwrap_or_else(|| m.contact.clone());
    let seen = match view {
        CameraView::PelvisAp => "pelvis, seen from the front",
        CameraView::HipAp => "hip, seen from the front",
        CameraView::HipLateral => "hip, seen from the side",
        CameraView::HipSuperior => "hip, seen from above",
    };
    format!("first contact: {}, {what} ({seen})", m.name)
}

/// A picture of each limiting motion ([`limiting_motions`] of `rom`) at its first contact, the
/// contact marked: `pictures/contact_<motion>.png`, captioned with the motion, what touches
/// and the view ([`contact_caption`]).
///
/// # Errors
/// A motion of the record that is not among `motions`; a picture that cannot be encoded.
#[allow(clippy::too_many_arguments, reason = "one stage's plain inputs")]
pub fn contact_pictures(
    anatomy: &AnatomyResult,
    model: &coxa_sim::HipModel,
    implants: &[(&'static str, Mesh)],
    placement: &ImplantPlacement,
    side: Side,
    rom_record: &RomRecord,
    motions: &[rom::Motion],
    tilts: &PelvicTilts,
) -> Result<Vec<Picture>> {
    let scene = plan_scene(anatomy, model, implants, placement, side);
    let poses = limiting_motions(rom_record)
        .into_iter()
        .map(|m| {
            let motion = motions.iter().find(|x| x.name == m.name).with_context(|| format!("motion {} of the range of motion is not among the case's motions (a bug in coxa)", m.name))?;
            let alpha = if m.start_in_contact { 0.0 } else { motion.alpha_of(m.limit_deg).clamp(0.0, motion.max_deg) };
            let femur_rotation_lps = model.femur_motion_lps(&rom::pose(motion, alpha, tilts, side));
            let contact_lps_mm = m.contact_point_lps_mm.map(|p| Point3::new(p[0], p[1], p[2]));
            Ok((m, MotionPose { femur_rotation_lps, contact_lps_mm, view: camera_for(&m.name) }))
        })
        .collect::<Result<Vec<_>>>()?;
    poses
        .par_iter()
        .map(|(m, pose)| {
            let pic = motion_picture(&scene, pose, PICTURE_PX);
            Ok(Picture { view: contact_caption(m, pose.view), file: format!("{CONTACT_PICTURE_PREFIX}{}.png", m.name), png: png(&pic)? })
        })
        .collect()
}

/// The plan on a simulated AP pelvis radiograph of `ct` (moved in: its last use) with the
/// landmarks `lm` the plan used, and the radiograph's templating measures
/// (`pictures/xray_ap.json`).
///
/// # Errors
/// A CT too thin to project, a plan without its implants.
pub fn radiograph(ct: Volume, lm: &PatientLandmarks, plan: &PlanRecord) -> Result<(Picture, Value)> {
    let (png, measures) = crate::xray::report_picture(ct, lm, plan)?;
    Ok((Picture { view: radiograph_caption(&measures, plan), file: "pictures/xray_ap.png".into(), png }, measures))
}

/// The radiograph's caption (issue 60): the cup inclination measured on the image beside the
/// plan's, the stem's neck-shaft angle, and what each drawn line is (the picture's legend).
fn radiograph_caption(m: &Value, plan: &PlanRecord) -> String {
    let mut parts = vec!["radiograph (simulated AP pelvis, the plan's implants projected)".to_string()];
    if let Some(inc) = m["cup"]["inclination_on_radiograph_deg"].as_f64() {
        parts.push(format!("cup inclination measured on the image {inc:.1}° to the teardrop line (planned {:.1}° radiographic)", plan.cup.radiographic_inclination_deg));
    }
    if let Some(ccd) = plan.stem.ccd_deg {
        parts.push(format!("stem drawn at its {ccd:.0}° neck-shaft angle"));
    }
    let mut legend = Vec::new();
    if !m["teardrop_line"].is_null() {
        legend.push("yellow: the teardrop line (each teardrop the lowest point of the acetabular rim)");
        legend.push("red: the lesser trochanters");
    }
    if !m["sides"].as_object().is_none_or(serde_json::Map::is_empty) {
        legend.push("light blue: the femoral shaft axes");
    }
    if !m["cup"].is_null() {
        legend.push("green: the cup's opening, whose angle to the teardrop line is the inclination measured");
    }
    if !legend.is_empty() {
        parts.push(format!("lines: {}", legend.join("; ")));
    }
    parts.join(" · ")
}

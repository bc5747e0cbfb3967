//! Every landmark of a patient, found once: the femurs first (their heads seed the acetabula),
//! then the acetabula, then the anterior pelvic plane, then what a femur imaged without its
//! shaft is assumed to be. The result ([`PatientLandmarks`]) is what the anatomy stage writes
//! and what the planner, the simulator, the report and the viewer all read.

use nalgebra::{Point3, Vector3};

use coxa_core::{Mesh, PelvicFrame, Side};

use super::{AxisLandmark, FemurLandmarks, HipAnatomy, LandmarkError, PatientLandmarks, Quality, Source, acetabulum_landmarks, femur_landmarks, pelvis_landmarks};

/// The bone surfaces of a patient that landmarks are found on (LPS mm); any may be missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bones<'a> {
    /// Left hip bone.
    pub hip_left: Option<&'a Mesh>,
    /// Right hip bone.
    pub hip_right: Option<&'a Mesh>,
    /// Left femur.
    pub femur_left: Option<&'a Mesh>,
    /// Right femur.
    pub femur_right: Option<&'a Mesh>,
}

impl<'a> Bones<'a> {
    /// The bones among `bones`.
    pub fn of(bones: &'a [(coxa_core::Bone, Mesh)]) -> Self {
        use coxa_core::Bone;
        let get = |b: Bone| bones.iter().find(|(m, _)| *m == b).map(|(_, m)| m);
        Self { hip_left: get(Bone::HipLeft), hip_right: get(Bone::HipRight), femur_left: get(Bone::FemurLeft), femur_right: get(Bone::FemurRight) }
    }
    /// The bones among `meshes` named by coxa's class names (`hip_left`, `femur_right`, ...).
    pub fn named(meshes: &'a [(String, Mesh)]) -> Self {
        let get = |n: &str| meshes.iter().find(|(m, _)| m == n).map(|(_, m)| m);
        Self { hip_left: get("hip_left"), hip_right: get("hip_right"), femur_left: get("femur_left"), femur_right: get("femur_right") }
    }
    /// The hip bone of `side`.
    pub fn hip(&self, side: Side) -> Option<&'a Mesh> {
        match side {
            Side::Left => self.hip_left,
            Side::Right => self.hip_right,
        }
    }
    /// The femur of `side`.
    pub fn femur(&self, side: Side) -> Option<&'a Mesh> {
        match side {
            Side::Left => self.femur_left,
            Side::Right => self.femur_right,
        }
    }
}

/// Finds every landmark on `bones`. Returns them with a warning for each structure whose
/// landmarks could not be found (the others are still given).
pub fn find(bones: &Bones<'_>) -> (PatientLandmarks, Vec<String>) {
    let mut warnings = Vec::new();
    let mut out = PatientLandmarks::default();
    for side in [Side::Left, Side::Right] {
        if let Some(m) = bones.femur(side) {
            match femur_landmarks(m, side) {
                Ok(f) => out.femurs.push(f),
                Err(e) => warnings.push(format!("femur_{}: no landmarks: {e}", side.as_str())),
            }
        }
    }
    for side in [Side::Left, Side::Right] {
        if let Some(m) = bones.hip(side) {
            let head = out.femur(side).map(FemurLandmarks::head);
            match acetabulum_landmarks(m, side, head) {
                Ok(a) => out.acetabula.push(a),
                Err(e) => warnings.push(format!("hip_{}: no acetabulum: {e}", side.as_str())),
            }
        }
    }
    out.pelvis = match (bones.hip_left, bones.hip_right, out.acetabulum(Side::Left), out.acetabulum(Side::Right)) {
        (Some(hl), Some(hr), Some(al), Some(ar)) => match pelvis_landmarks(hl, hr, al, ar) {
            Ok(p) => Some(p),
            Err(e) => {
                warnings.push(format!("no anterior pelvic plane: {e}"));
                None
            }
        },
        _ => {
            warnings.push("the anterior pelvic plane needs both hip bones: landmarks are given in LPS only".into());
            None
        }
    };
    // Only the frame's superior axis matters to the assumption: the CT's without the APP.
    let frame = out.frame().unwrap_or_else(|| PelvicFrame::aligned_with_lps(Point3::origin()));
    let mut notes = Vec::new();
    for f in &mut out.femurs {
        if let Some(mesh) = bones.femur(f.side) {
            notes.extend(assume_neutral_short_femur(f, mesh, &frame));
        }
    }
    out.notes = notes;
    (out, warnings)
}

/// The landmarks of one hip from its own surfaces: `hip` and `femur` of `side`, and the other
/// hip bone for the anterior pelvic plane (without it the frame is the CT's axes at the
/// acetabulum). For tools that have no whole patient (`coxa rom --mesh`); a pipeline takes
/// [`PatientLandmarks::hip`] of [`find`] instead.
///
/// # Errors
/// Any landmark of the hip not found, or no anterior pelvic plane on the two hip bones.
pub fn hip_anatomy(side: Side, hip: &Mesh, other_hip: Option<&Mesh>, femur: &Mesh) -> Result<HipAnatomy, LandmarkError> {
    let mut fl = femur_landmarks(femur, side)?;
    let acetabulum = acetabulum_landmarks(hip, side, Some(fl.head()))?;
    let (frame, frame_is_app) = match other_hip {
        Some(o) => {
            let other = acetabulum_landmarks(o, side.opposite(), None)?;
            let p = match side {
                Side::Left => pelvis_landmarks(hip, o, &acetabulum, &other)?,
                Side::Right => pelvis_landmarks(o, hip, &other, &acetabulum)?,
            };
            (p.frame, true)
        }
        None => (PelvicFrame::aligned_with_lps(acetabulum.centre.lps_mm), false),
    };
    let femur_assumed = assume_neutral_short_femur(&mut fl, femur, &frame);
    Ok(HipAnatomy { side, frame, frame_is_app, acetabulum, femur: fl, femur_assumed })
}

/// A femur imaged without its shaft (a hip CT stopping below the trochanters) has a shaft axis
/// that is a guess (the principal axis of a stub) and a neck axis drawn from it: the femoral
/// frame and every joint angle would follow that guess. Such a femur (shaft axis not `Good`,
/// no condyles) is taken as lying in neutral in the CT instead: its shaft axis along the pelvic
/// superior axis through the centroid of its lowest 10 mm, its neck axis at 130 deg from it
/// towards the head. Both stay flagged uncertain, with [`Source::Assumed`]. Returns what was
/// done (`femur_SIDE: ...`), or `None` when the shaft was measured.
pub fn assume_neutral_short_femur(f: &mut FemurLandmarks, mesh: &Mesh, frame: &PelvicFrame) -> Option<String> {
    if f.shaft_axis.quality == Quality::Good || f.posterior_condyles.is_some() {
        return None;
    }
    let u = frame.vector_to_lps(&Vector3::z());
    let lowest = mesh.vertices().iter().map(|p| p.coords.dot(&u)).fold(f64::INFINITY, f64::min);
    let low: Vec<Vector3<f64>> = mesh.vertices().iter().filter(|p| p.coords.dot(&u) < lowest + 10.0).map(|p| p.coords).collect();
    if low.is_empty() {
        return None;
    }
    let point = Point3::from(low.iter().sum::<Vector3<f64>>() / low.len() as f64);
    let head = f.head_centre.lps_mm;
    let v = point - head;
    let lateral = (v - u * v.dot(&u)).try_normalize(1e-6)?;
    let ccd = 130f64.to_radians();
    let note = format!(
        "{}; shaft not imaged: the femur is assumed in neutral in the CT (shaft along the pelvic superior axis through its lowest section, neck at 130 deg)",
        f.shaft_axis.note.as_deref().unwrap_or("shaft uncertain")
    );
    f.shaft_axis = AxisLandmark { point_lps_mm: point, direction_lps: u, quality: Quality::Uncertain, source: Source::Assumed, note: Some(note.clone()) };
    f.neck_axis = AxisLandmark { point_lps_mm: head, direction_lps: (lateral * ccd.sin() + u * ccd.cos()).normalize(), quality: Quality::Uncertain, source: Source::Assumed, note: Some(note.clone()) };
    f.neck_shaft_angle_deg = None;
    Some(format!("femur_{}: {note}", f.side.as_str()))
}

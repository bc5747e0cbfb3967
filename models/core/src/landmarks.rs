//! Landmarks and frames of a patient's hips: the typed result of the anatomy stage that every
//! later stage (planner, simulator, musculoskeletal model, report, viewer) reads.
//!
//! They are found once (`coxa_anatomy::landmarks::find`) and passed on; nothing downstream finds
//! them again, so the landmarks a report or the viewer shows are the ones the plan used. Each
//! carries its [`Quality`] (can it be trusted) and its [`Source`] (measured on the surface,
//! assumed, or predicted by a shape model).
//!
//! Conventions: LPS millimetres (see the crate docs); the pelvic frame is [`PelvicFrame`].

use nalgebra::{Point3, Vector3};
use serde::{Deserialize, Serialize};

use crate::{CupAngles, Error, FemoralFrame, PelvicFrame, Result, Side};

/// How far a landmark can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// Found with a fit or criterion inside its expected range.
    Good,
    /// Found, but a check failed (see the note): look at it before using it.
    Uncertain,
}

/// Where a landmark's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Measured on the patient's own bone surface.
    #[default]
    Measured,
    /// Not imaged: a documented assumption stands in for it (the note says which).
    Assumed,
    /// Not imaged: predicted from the imaged part by a statistical shape model.
    Predicted,
}

impl Source {
    /// `measured`, `assumed` or `predicted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Measured => "measured",
            Source::Assumed => "assumed",
            Source::Predicted => "predicted",
        }
    }
}

/// A point landmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Landmark {
    /// Position, LPS mm.
    #[schemars(with = "[f64; 3]")]
    pub lps_mm: Point3<f64>,
    /// Trust.
    pub quality: Quality,
    /// Where the value comes from.
    #[serde(default)]
    pub source: Source,
    /// Why it is uncertain, or how it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Landmark {
    /// A measured landmark that passed its checks.
    pub fn good(lps_mm: Point3<f64>) -> Self {
        Self { lps_mm, quality: Quality::Good, source: Source::Measured, note: None }
    }
    /// A measured landmark, [`Quality::Uncertain`] with `problem` as its note when a check failed.
    pub fn checked(lps_mm: Point3<f64>, problem: Option<String>) -> Self {
        let quality = if problem.is_some() { Quality::Uncertain } else { Quality::Good };
        Self { lps_mm, quality, source: Source::Measured, note: problem }
    }
}

/// An axis: a point on it and a unit direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AxisLandmark {
    /// A point on the axis, LPS mm.
    #[schemars(with = "[f64; 3]")]
    pub point_lps_mm: Point3<f64>,
    /// Unit direction, LPS (its sense is stated where the axis is defined).
    #[schemars(with = "[f64; 3]")]
    pub direction_lps: Vector3<f64>,
    /// Trust.
    pub quality: Quality,
    /// Where the value comes from.
    #[serde(default)]
    pub source: Source,
    /// Why it is uncertain, or how it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Landmarks of one femur.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FemurLandmarks {
    /// Which femur.
    pub side: Side,
    /// Centre of the sphere fitted to the head's articular surface.
    pub head_centre: Landmark,
    /// Radius of that sphere, mm.
    pub head_radius_mm: f64,
    /// RMS distance of the head surface from the sphere, mm.
    pub head_fit_rms_mm: f64,
    /// Neck axis through the head centre and the centre of the narrowest neck section;
    /// direction from the head towards the trochanters.
    pub neck_axis: AxisLandmark,
    /// Anatomical shaft axis through the centroids of exact diaphyseal cross-sections (5 mm
    /// apart, from 100 mm below the top to 30 % of the length from the distal end); direction proximal.
    pub shaft_axis: AxisLandmark,
    /// Tip of the greater trochanter (most proximal point lateral to the shaft axis).
    pub greater_trochanter: Landmark,
    /// Lesser trochanter (most posteromedial prominence below the neck).
    pub lesser_trochanter: Landmark,
    /// Angle between neck axis (towards the head) and shaft axis (distal), deg (CCD angle);
    /// `None` unless both axes were measured (a default neck direction or a principal-axis
    /// shaft on a short femur would make it a guess, not a measurement).
    pub neck_shaft_angle_deg: Option<f64>,
    /// Most posterior points of the medial and lateral condyles, when the knee is imaged (the
    /// femur longer than 300 mm and its distal end more than 1.8 times wider than the mid-shaft).
    #[schemars(with = "Option<[[f64; 3]; 2]>")]
    pub posterior_condyles: Option<[Point3<f64>; 2]>,
    /// Femoral anteversion, deg: angle between the neck axis and the posterior condylar line
    /// seen along the shaft axis, positive when the head points anterior. `None` without condyles.
    pub anteversion_deg: Option<f64>,
}

impl FemurLandmarks {
    /// The head centre and radius, the seed of the acetabulum search on the same side.
    pub fn head(&self) -> (Point3<f64>, f64) {
        (self.head_centre.lps_mm, self.head_radius_mm)
    }

    /// Femoral offset, mm: the distance of the head centre from the anatomical shaft axis (the
    /// three-dimensional form of the radiographic offset, which measures it in the plane of the
    /// neck). As reliable as the shaft axis ([`Self::shaft_axis`]'s quality).
    pub fn offset_mm(&self) -> f64 {
        let u = self.shaft_axis.direction_lps.normalize();
        let v = self.head_centre.lps_mm - self.shaft_axis.point_lps_mm;
        (v - u * v.dot(&u)).norm()
    }

    /// The femoral frame of this femur (see [`FemoralFrame`]).
    ///
    /// # Errors
    /// [`Error::InvalidLandmarks`] when the condylar line is parallel to the femoral axis.
    pub fn femoral_frame(&self) -> Result<FemoralFrame> {
        FemoralFrame::from_axes(self.head_centre.lps_mm, &self.shaft_axis.direction_lps, self.posterior_condyles)
    }
}

/// The femoral points of the OrthoLoad frame (Bergmann et al. 2016) of one femur, LPS mm: what
/// `coxa hcf` reads from a landmark file (the labels of [`OrthoLoadFemur::labelled`]) and
/// `coxa anatomy` finds on a full femur (`coxa_anatomy::landmarks::orthoload_femur`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrthoLoadFemur {
    /// Head centre `HJC`.
    #[schemars(with = "[f64; 3]")]
    pub hjc: Point3<f64>,
    /// `P1`: the point of the neck axis nearest the shaft axis.
    #[schemars(with = "[f64; 3]")]
    pub p1: Point3<f64>,
    /// `P2`: the intercondylar notch.
    #[schemars(with = "[f64; 3]")]
    pub p2: Point3<f64>,
    /// Medial posterior condyle `MPC`.
    #[schemars(with = "[f64; 3]")]
    pub mpc: Point3<f64>,
    /// Lateral posterior condyle `LPC`.
    #[schemars(with = "[f64; 3]")]
    pub lpc: Point3<f64>,
    /// Medial epicondyle `MEC`.
    #[schemars(with = "[f64; 3]")]
    pub mec: Point3<f64>,
    /// Lateral epicondyle `LEC`.
    #[schemars(with = "[f64; 3]")]
    pub lec: Point3<f64>,
}

impl OrthoLoadFemur {
    /// `(label, point)` in the order OrthoLoad's files list them, without side suffix.
    pub fn labelled(&self) -> [(&'static str, Point3<f64>); 7] {
        [("HJC", self.hjc), ("P1", self.p1), ("P2", self.p2), ("MPC", self.mpc), ("LPC", self.lpc), ("MEC", self.mec), ("LEC", self.lec)]
    }

    /// The points of the femur on `side` picked by label from labelled points (a markups
    /// file's): `HJC`, `P1`, `P2`, `MPC`, `LPC`, `MEC`, `LEC`, any case, with the side's suffix
    /// (`_L`, `_R`) or, failing that, without one.
    ///
    /// # Errors
    /// [`Error::InvalidLandmarks`] naming the first point missing.
    pub fn from_labels<'a>(points: impl IntoIterator<Item = (&'a str, Point3<f64>)>, side: Side) -> Result<Self> {
        let points: Vec<(&str, Point3<f64>)> = points.into_iter().collect();
        let suffix = match side {
            Side::Left => "_L",
            Side::Right => "_R",
        };
        let get = |name: &str| -> Result<Point3<f64>> {
            let with = format!("{name}{suffix}");
            points
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(&with))
                .or_else(|| points.iter().find(|(l, _)| l.eq_ignore_ascii_case(name)))
                .map(|(_, p)| *p)
                .ok_or_else(|| Error::InvalidLandmarks { why: format!("the femur landmarks have no {with} (or {name}); the OrthoLoad frame needs HJC, P1, P2, MPC, LPC, MEC and LEC") })
        };
        Ok(Self { hjc: get("HJC")?, p1: get("P1")?, p2: get("P2")?, mpc: get("MPC")?, lpc: get("LPC")?, mec: get("MEC")?, lec: get("LEC")? })
    }

    /// The same femur mirrored through the sagittal plane (x negated), as the other side's.
    pub fn mirrored(&self) -> Self {
        let m = |p: Point3<f64>| Point3::new(-p.x, p.y, p.z);
        Self { hjc: m(self.hjc), p1: m(self.p1), p2: m(self.p2), mpc: m(self.mpc), lpc: m(self.lpc), mec: m(self.mec), lec: m(self.lec) }
    }
}

/// The acetabulum of one hip bone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcetabulumLandmarks {
    /// Which side.
    pub side: Side,
    /// Centre of the sphere fitted to the socket, LPS mm.
    pub centre: Landmark,
    /// Radius of that sphere, mm.
    pub radius_mm: f64,
    /// RMS distance of the socket surface from the sphere, mm.
    pub fit_rms_mm: f64,
    /// Unit normal of the rim plane, pointing out of the socket (LPS).
    #[schemars(with = "[f64; 3]")]
    pub opening_axis_lps: Vector3<f64>,
    /// A point of the rim plane (mean of the rim points), LPS mm.
    #[schemars(with = "[f64; 3]")]
    pub rim_plane_point_lps_mm: Point3<f64>,
    /// Number of rim points the plane was fitted to.
    pub n_rim_points: usize,
    /// The rim points (the socket vertex farthest from the pole in each azimuth bin about the
    /// opening axis), LPS mm: the bony edge of the socket the reamer meets.
    #[schemars(with = "Vec<[f64; 3]>")]
    pub rim_points_lps_mm: Vec<Point3<f64>>,
    /// Diameter of the circle fitted to the rim points in the rim plane, mm.
    pub rim_diameter_mm: f64,
    /// Socket vertices on the fitted sphere (the lunate, articular surface), which the sphere
    /// is fitted to.
    pub n_lunate_vertices: usize,
    /// Socket vertices deeper than the sphere by more than its shell tolerance (the acetabular
    /// fossa, left out of the fit).
    pub n_fossa_vertices: usize,
    /// Joint space between this socket and the femoral head the search was given: the median,
    /// over the lunate vertices, of their distance from the head's sphere, mm. `None` when no
    /// head was given. Near 0 when the segmentation closed the joint space (the "socket" is then
    /// the head's surface, not the subchondral bone).
    pub joint_space_mm: Option<f64>,
}

/// Landmarks of the whole pelvis: both ASIS, both pubic tubercles, the pelvic frame (anterior
/// pelvic plane) and the native acetabular angles in Murray's three definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PelvisLandmarks {
    /// The pelvic frame (see [`PelvicFrame`]).
    pub frame: PelvicFrame,
    /// Left ASIS.
    pub asis_left: Landmark,
    /// Right ASIS.
    pub asis_right: Landmark,
    /// Left pubic tubercle.
    pub pubic_tubercle_left: Landmark,
    /// Right pubic tubercle.
    pub pubic_tubercle_right: Landmark,
    /// Native acetabular orientation per side (opening axis in the pelvic frame), in the three definitions.
    pub acetabular_angles: Vec<(Side, Vec<CupAngles>)>,
}

/// Every landmark of a patient's hips, found once by the anatomy stage.
///
/// The femurs are given as the later stages use them: a femur imaged without its shaft carries
/// the neutral-position assumption (its axes [`Source::Assumed`], the reason in `notes`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PatientLandmarks {
    /// The femurs found (left first).
    pub femurs: Vec<FemurLandmarks>,
    /// The acetabula found (left first), each seeded with its femoral head when that was found.
    pub acetabula: Vec<AcetabulumLandmarks>,
    /// The pelvis (anterior pelvic plane), when both hip bones and both acetabula were found.
    pub pelvis: Option<PelvisLandmarks>,
    /// What was assumed, and why (one line each, naming the structure).
    pub notes: Vec<String>,
}

impl PatientLandmarks {
    /// The femur of `side`.
    pub fn femur(&self, side: Side) -> Option<&FemurLandmarks> {
        self.femurs.iter().find(|f| f.side == side)
    }
    /// The acetabulum of `side`.
    pub fn acetabulum(&self, side: Side) -> Option<&AcetabulumLandmarks> {
        self.acetabula.iter().find(|a| a.side == side)
    }
    /// The pelvic frame, when the anterior pelvic plane was found.
    pub fn frame(&self) -> Option<PelvicFrame> {
        self.pelvis.as_ref().map(|p| p.frame)
    }
    /// The landmarks of the hip of `side`: its acetabulum, its femur and the pelvic frame (the
    /// anterior pelvic plane, or LPS-aligned at the acetabulum centre without it). `None` when
    /// the acetabulum or the femur of `side` was not found.
    pub fn hip(&self, side: Side) -> Option<HipAnatomy> {
        let acetabulum = self.acetabulum(side)?.clone();
        let femur = self.femur(side)?.clone();
        let (frame, frame_is_app) = match self.frame() {
            Some(f) => (f, true),
            None => (PelvicFrame::aligned_with_lps(acetabulum.centre.lps_mm), false),
        };
        let prefix = format!("femur_{}:", side.as_str());
        let femur_assumed = self.notes.iter().find(|n| n.starts_with(&prefix)).cloned();
        Some(HipAnatomy { side, frame, frame_is_app, acetabulum, femur, femur_assumed })
    }
}

/// Landmarks of one hip as the simulator and the planner use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HipAnatomy {
    /// Side of the hip.
    pub side: Side,
    /// The pelvic frame: from the anterior pelvic plane when both hip bones are given,
    /// otherwise parallel to LPS (the CT's axes) at the acetabulum centre.
    pub frame: PelvicFrame,
    /// Whether `frame` is the anterior pelvic plane (false: LPS-aligned fallback).
    pub frame_is_app: bool,
    /// The acetabulum of `side`; its centre is the hip (cup) centre.
    pub acetabulum: AcetabulumLandmarks,
    /// The femur of `side`.
    pub femur: FemurLandmarks,
    /// What was assumed about this femur (a shaft not imaged), if anything.
    pub femur_assumed: Option<String>,
}

impl HipAnatomy {
    /// The hip (cup) centre: the native acetabulum centre, LPS mm.
    pub fn hip_centre_lps_mm(&self) -> Point3<f64> {
        self.acetabulum.centre.lps_mm
    }
}

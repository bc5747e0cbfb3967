//! Plan data types and the range-of-motion scoring trait the planner optimises through.
//!
//! The planner (`coxa-planner`) never depends on the simulator (`coxa-sim`): it describes a
//! candidate as an [`ImplantPlacement`] (plain data), asks a [`RomScorer`] for the limit and
//! first contact of each motion, and `coxa-sim` implements the trait (`coxa_sim::score`). The
//! pipeline (`scenarios`) hands the simulator's scorer to the planner.
//!
//! Conventions: millimetres and radians (`Angle`), LPS patient coordinates for positions, the
//! pelvic frame of [`crate::PelvicFrame`] (anterior pelvic plane) for cup angles, whose Murray
//! (1993) definition travels with them in [`CupAngles::definition`]. Joint angles, motions and
//! postures are the simulator's (`coxa_sim::joint`, `coxa_sim::rom`), named here by their names.

use nalgebra::Point3;
use serde::{Deserialize, Serialize};

use crate::{Angle, CupAngles, Side};

/// The posture a motion is performed in; it sets the pelvic tilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanPosture {
    /// Standing (or supine).
    Standing,
    /// Sitting (the pelvis tilts posterior).
    Sitting,
}

/// Posterior pelvic tilt of each posture, relative to the anterior pelvic plane being vertical
/// (positive: the top of the pelvis moves posterior, as `PelvicFrame::tilted`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PostureTilts {
    /// Tilt when standing. Default 0.
    pub standing: Angle,
    /// Tilt when sitting. Default 20 deg (a normal spine tilts the pelvis back 20-30 deg on
    /// sitting down; a stiff spine 0-10 deg).
    pub sitting: Angle,
}

impl Default for PostureTilts {
    fn default() -> Self {
        Self { standing: Angle::from_deg(0.0), sitting: Angle::from_deg(20.0) }
    }
}

impl PostureTilts {
    /// Standing tilt `standing`, sitting tilt `standing + change` (the spinopelvic mobility).
    pub fn from_change(standing: Angle, change: Angle) -> Self {
        Self { standing, sitting: Angle::from_rad(standing.rad() + change.rad()) }
    }
    /// The tilt of `posture`.
    pub fn of(&self, posture: PlanPosture) -> Angle {
        match posture {
            PlanPosture::Standing => self.standing,
            PlanPosture::Sitting => self.sitting,
        }
    }
    /// Sitting minus standing tilt: the pelvic mobility from standing to sitting.
    pub fn change(&self) -> Angle {
        Angle::from_rad(self.sitting.rad() - self.standing.rad())
    }
}

/// What touched first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstContact {
    /// Neck against liner rim.
    ImplantImplant,
    /// Femur against pelvis.
    BoneBone,
    /// Neck against pelvis, or femur against the cup.
    ImplantBone,
}

impl FirstContact {
    /// `implant-implant`, `bone-bone` or `implant-bone` (as `coxa rom` writes them).
    pub fn as_str(self) -> &'static str {
        match self {
            FirstContact::ImplantImplant => "implant-implant",
            FirstContact::BoneBone => "bone-bone",
            FirstContact::ImplantBone => "implant-bone",
        }
    }
}

/// One candidate: implants from the catalog, their sizes and where they sit.
///
/// The femur is placed so that the prosthetic head centre ([`Self::head_centre_on_femur_lps_mm`],
/// a point of the femur as imaged) lies at the cup centre; the femur's joint angles are measured
/// in its femoral frame ([`crate::FemoralFrame`]), which the stem does not change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImplantPlacement {
    /// Operated side.
    pub side: Side,
    /// Cup orientation in the pelvic frame, in the Murray definition it names.
    pub cup: CupAngles,
    /// Cup (shell and head) centre, LPS mm of the pelvis as imaged.
    #[schemars(with = "[f64; 3]")]
    pub cup_centre_lps_mm: Point3<f64>,
    /// Shell outer diameter, mm (a catalog size).
    pub shell_outer_diameter_mm: f64,
    /// Liner: a catalog liner name, or a geometry keyword (`hemispherical`, `elevated_rim`, `chamfered`).
    pub liner: String,
    /// Head diameter, mm (a catalog size).
    pub head_diameter_mm: f64,
    /// Head neck-length offset, mm (a catalog value; positive lengthens the neck).
    pub head_offset_mm: f64,
    /// Stem series, by catalog name.
    pub stem_family: String,
    /// Stem size label within the series.
    pub stem_size: String,
    /// Stem anteversion about the femoral shaft axis relative to the posterior condylar line
    /// (the femoral frame's +x), positive = head anterior.
    pub stem_anteversion: Angle,
    /// Where the stem puts the head centre on the femur, LPS mm of the femur as imaged.
    #[schemars(with = "[f64; 3]")]
    pub head_centre_on_femur_lps_mm: Point3<f64>,
}

/// What a case folder records (`model.json`) so that another tool (the viewer's live planning)
/// can rebuild its hip model without the pipeline: the placement, the tilts and motions swept,
/// where the implants came from, and the landmarks of the operated hip the case used (found
/// once by the anatomy stage; never found again). The bones are the case's
/// `anatomy/meshes/hip_SIDE.stl` and `femur_SIDE.stl`.
///
/// The file carries the envelope of every record (`model.schema.json`, [`crate::provenance`]);
/// its reader leaves the envelope aside ([`crate::provenance::from_stamped_str`]) and refuses
/// any other unknown field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseModel {
    /// Format version of this record: [`CaseModel::MODEL_VERSION`] (the record's
    /// `schema_version` is the envelope's, shared by every record).
    pub model_version: u32,
    /// The implants and where they sit (the first sweep point, or the plan).
    pub placement: ImplantPlacement,
    /// Pelvic tilts of the postures.
    pub tilts: PostureTilts,
    /// The motions swept, by the simulator's names.
    pub motions: Vec<String>,
    /// The implant catalog folder (absolute); `None`: the built-in catalog.
    pub catalog_dir: Option<std::path::PathBuf>,
    /// Whether the bones were in the model (else the implants alone, in a pelvic frame
    /// parallel to LPS at the cup centre).
    pub bones: bool,
    /// The landmarks and pelvic frame of the operated hip the case was planned and swept with
    /// (full precision); present whenever `bones` is.
    pub anatomy: Option<crate::HipAnatomy>,
    /// An engineer's cup frame file, if the case used one (absolute).
    pub user_cup: Option<std::path::PathBuf>,
    /// An engineer's stem frame file, if the case used one (absolute).
    pub user_stem: Option<std::path::PathBuf>,
}

impl CaseModel {
    /// The current format version (3: the version moved from `schema_version` to
    /// `model_version` when the file took the records' envelope).
    pub const MODEL_VERSION: u32 = 3;
}

/// A motion a scorer can sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotionInfo {
    /// Name (`flexion`, `sit_to_stand`, `posterior_dislocation`, ...).
    pub name: String,
    /// Posture (which tilt it is swept under).
    pub posture: PlanPosture,
    /// The angle the activity needs, deg (daily-life paths), in the motion's own sense.
    pub required_deg: Option<f64>,
    /// Whether it is a daily-life path (as opposed to a standard clinical motion).
    pub daily_life: bool,
}

/// What to sweep, under which tilts, how finely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RomQuery {
    /// Motion names (see [`RomScorer::motions`]).
    pub motions: Vec<String>,
    /// Pelvic tilts per posture.
    pub tilts: PostureTilts,
    /// Limits to this resolution, deg (the simulator's full accuracy is 0.1).
    pub resolution_deg: f64,
    /// Stop a motion this far past its required angle, deg (`None`: sweep the whole motion).
    /// A motion stopped there reports that angle as its limit and no contact.
    pub margin_cap_deg: Option<f64>,
}

/// One motion's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotionScore {
    /// Motion name.
    pub name: String,
    /// Posture.
    pub posture: PlanPosture,
    /// Posterior pelvic tilt used, deg.
    pub pelvic_tilt_deg: f64,
    /// Driven angle at the last pose free of contact, deg (the simulator's `limit_deg`).
    pub limit_deg: f64,
    /// What the activity needs, deg.
    pub required_deg: Option<f64>,
    /// Whether the start posture is already in contact.
    pub start_in_contact: bool,
    /// What touched first; `None` if nothing touched within the sweep.
    pub contact: Option<FirstContact>,
    /// Which parts touched (`neck-liner_rim`, `neck-pelvis`, `femur-cup`, `femur-pelvis`).
    pub contact_parts: Option<String>,
    /// Where, LPS mm of the pelvis as imaged.
    pub contact_point_lps_mm: Option<[f64; 3]>,
    /// The touching point of the femur (or its implant's neck) on the femur as imaged, before
    /// the motion, LPS mm: what names the femoral structure ([`crate::name_contact`]).
    #[serde(default)]
    pub contact_femur_point_lps_mm: Option<[f64; 3]>,
}

impl MotionScore {
    /// Limit minus required angle, deg (`None` for a motion without a requirement).
    pub fn margin_deg(&self) -> Option<f64> {
        self.required_deg.map(|r| self.limit_deg - r)
    }
}

/// The limits of the requested motions, in the order asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RomScore {
    /// One entry per requested motion.
    pub motions: Vec<MotionScore>,
}

/// A candidate a scorer could not evaluate (an implant combination the catalog does not have,
/// bones that cannot be prepared, an unknown motion name).
#[derive(Debug, Clone, thiserror::Error)]
#[error("range-of-motion scoring failed: {message}")]
pub struct ScoreError {
    /// What went wrong and how to fix it.
    pub message: String,
    /// The error that caused it, kept for the caller's error chain.
    #[source]
    pub source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl ScoreError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None }
    }

    /// An error caused by `source`, its message as the message.
    pub fn caused_by(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { message: source.to_string(), source: Some(std::sync::Arc::new(source)) }
    }
}

/// Equal when the messages are (the cause is not compared).
impl PartialEq for ScoreError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

/// Range of motion of a candidate placement: implemented by the simulator
/// (`coxa_sim::score::SimScorer`), or by anything else (an analytic model in a test).
///
/// Implementations must be deterministic (the same placement and query give the same score)
/// and thread-safe: the planner calls [`RomScorer::score`] from several threads at once.
pub trait RomScorer: Send + Sync {
    /// The motions this scorer can sweep.
    fn motions(&self) -> Vec<MotionInfo>;
    /// The limits and first contacts of `query.motions` for `placement`.
    fn score(&self, placement: &ImplantPlacement, query: &RomQuery) -> Result<RomScore, ScoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilts_and_margins() {
        let t = PostureTilts::from_change(Angle::from_deg(5.0), Angle::from_deg(20.0));
        assert!((t.of(PlanPosture::Sitting).deg() - 25.0).abs() < 1e-12);
        assert!((t.change().deg() - 20.0).abs() < 1e-12);
        let m = MotionScore {
            name: "sit_to_stand".into(),
            posture: PlanPosture::Sitting,
            pelvic_tilt_deg: 25.0,
            limit_deg: 120.0,
            required_deg: Some(115.0),
            start_in_contact: false,
            contact: Some(FirstContact::BoneBone),
            contact_parts: None,
            contact_point_lps_mm: None,
            contact_femur_point_lps_mm: None,
        };
        assert_eq!(m.margin_deg(), Some(5.0));
        assert_eq!(FirstContact::ImplantBone.as_str(), "implant-bone");
    }

    #[test]
    fn score_error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<ScoreError>();
    }
}

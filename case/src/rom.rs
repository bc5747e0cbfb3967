//! The range of motion of a hip: the implants chosen from the catalog ([`ImplantChoice`]), the
//! engineer's own parts ([`UserParts`]), the bones with their landmarks ([`HipBones`]), and the
//! record of every motion's limit and first contact ([`rom_record`]). `coxa rom` is its command
//! (the program's `coxa rom`); the sweep stage ([`crate::stages::sweep`]) its other user.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Context, Result};

use coxa_core::HipAnatomy;
use coxa_core::report::{MotionRecord, RomImplants, StandingSitting};
use coxa_core::{Angle, CupAngles, Mesh, RomRecord, Side};
use coxa_implants::{Catalog, Construct, Stem};
use coxa_sim::rom::{self, PelvicTilts, SweepOptions};
use coxa_sim::user_parts::{UserCup, UserStem};
use coxa_sim::{BoneGeometry, BoneOptions, HipModel};
use nalgebra::Point3;

/// User implant parts of a ROM run (none: catalog parts only).
#[derive(Debug, Clone, Default)]
pub struct UserParts {
    /// The engineer's cup.
    pub cup: Option<Arc<UserCup>>,
    /// The engineer's stem.
    pub stem: Option<Arc<UserStem>>,
}

impl UserParts {
    /// Reads the frame files (and the STL each names) for a head of `head_mm`. The parts come
    /// from coxa-sim's cache: the same files at every sweep point give the same prepared parts.
    ///
    /// # Errors
    /// Unreadable or invalid frame files or meshes, with the file named.
    pub fn load(cup: Option<&Path>, stem: Option<&Path>, head_mm: f64) -> Result<Self> {
        let read = |frame: &Path| -> Result<(coxa_implants::UserGeometry, Mesh)> {
            let spec = coxa_implants::UserGeometrySpec::read(frame)?;
            let g = spec.validate(&frame.display().to_string(), frame.parent().unwrap_or(Path::new(".")))?;
            let mesh = coxa_io::mesh::read_mesh(&g.mesh_path).with_context(|| format!("the mesh of {}", frame.display()))?;
            Ok((g, mesh))
        };
        let cup = match cup {
            Some(f) => {
                let (g, m) = read(f)?;
                Some(UserCup::shared(&m, &g).with_context(|| format!("user cup {}", f.display()))?)
            }
            None => None,
        };
        let stem = match stem {
            Some(f) => {
                let (g, m) = read(f)?;
                Some(UserStem::shared(&m, &g, head_mm / 2.0).with_context(|| format!("user stem {}", f.display()))?)
            }
            None => None,
        };
        Ok(Self { cup, stem })
    }
}

/// The implants of a ROM run, by catalog choice.
#[derive(Debug, Clone, PartialEq)]
pub struct ImplantChoice {
    /// Head diameter, mm.
    pub head_mm: f64,
    /// Head neck-length offset, mm.
    pub head_offset_mm: f64,
    /// Neck diameter next to the head, mm (default: the stem's).
    pub neck_mm: Option<f64>,
    /// Liner name.
    pub liner: String,
    /// Shell outer diameter, mm (default: the smallest that holds head and liner).
    pub shell_mm: Option<f64>,
    /// Stem size in the catalog's first series.
    pub stem_size: String,
}

impl ImplantChoice {
    /// Builds the construct from `catalog`.
    ///
    /// # Errors
    /// Unknown sizes or liner, parts that do not fit.
    pub fn construct(&self, catalog: &Catalog) -> Result<Construct> {
        let spec = catalog.liner_spec(&self.liner)?;
        let shell = match self.shell_mm {
            Some(d) => catalog.shell(d)?,
            None => catalog.smallest_shell_for(spec, self.head_mm)?,
        };
        let liner = catalog.liner(spec, self.head_mm, &shell)?;
        let head = catalog.head(self.head_mm, self.head_offset_mm)?;
        let mut stem = catalog.stem(None, &self.stem_size)?;
        if let Some(n) = self.neck_mm {
            stem = Stem::new(stem.ccd, stem.offset_mm, stem.neck_length_mm, n, stem.neck_flare)?;
        }
        Ok(Construct::new(shell, liner, head, stem)?)
    }
}

/// The bones of the operated hip, their landmarks and collision geometry (reusable across cup
/// angles: the geometry does not depend on them).
#[derive(Debug, Clone)]
pub struct HipBones {
    /// Landmarks and the pelvic frame.
    pub anatomy: HipAnatomy,
    /// Collision geometry.
    pub geometry: Arc<BoneGeometry>,
    /// The operated side's hip bone.
    pub hip: Mesh,
    /// The operated side's femur.
    pub femur: Mesh,
}

impl HipBones {
    /// The collision geometry of `hip` and `femur` for `construct`, with their landmarks `anatomy`.
    ///
    /// # Errors
    /// Geometry not buildable.
    pub fn new(anatomy: HipAnatomy, hip: Mesh, femur: Mesh, construct: &Construct) -> Result<Self> {
        let geometry = Arc::new(BoneGeometry::new(&hip, &femur, &anatomy.femur, &anatomy.frame, anatomy.hip_centre_lps_mm(), construct, &BoneOptions::default())?);
        Ok(Self { anatomy, geometry, hip, femur })
    }
}

/// Builds the hip model and sweeps `motions`; returns the model and its range of motion.
///
/// # Errors
/// A model that cannot be built (e.g. bones for another construct).
#[allow(clippy::too_many_arguments, reason = "the plain inputs of one ROM run")]
pub fn rom_record(
    side: Side,
    construct: &Construct,
    liner: &str,
    cup: CupAngles,
    stem_anteversion: Angle,
    tilts: &PelvicTilts,
    bones: Option<&HipBones>,
    user: &UserParts,
    motions: &[rom::Motion],
) -> Result<(HipModel, RomRecord)> {
    let mut builder = HipModel::builder(side, construct.clone()).cup(cup).stem_anteversion(stem_anteversion);
    if let Some(c) = &user.cup {
        builder = builder.user_cup(c.clone());
    }
    if let Some(s) = &user.stem {
        builder = builder.user_stem(s.clone());
    }
    if let Some(b) = bones {
        builder = builder.bones(b.geometry.clone());
    }
    let model = builder.build()?;
    let pelvic_frame = bones.map_or(FRAME_NONE, |b| if b.anatomy.frame_is_app { FRAME_APP } else { FRAME_CT });
    let naming = bones.map(|b| (coxa_core::ContactAnatomy::from(&b.anatomy), b.anatomy.femur.head_centre.lps_mm));
    let record = rom_record_of(&model, liner, tilts, user, motions, pelvic_frame, naming);
    Ok((model, record))
}

/// `pelvic_frame` of a ROM run without bones.
pub const FRAME_NONE: &str = "none (implants alone)";
/// `pelvic_frame` from both hip bones.
pub const FRAME_APP: &str = "anterior pelvic plane";
/// `pelvic_frame` from one hip bone.
pub const FRAME_CT: &str = "CT axes (give both hip bones for the anterior pelvic plane)";

/// The range of motion of a built model: every motion swept under `tilts`; `pelvic_frame` says
/// which frame the cup angles are in. Limits are rounded to 0.1 deg, contact points to 0.01 mm
/// and the oscillation angle to 0.01 deg, as written.
///
/// Contacts are named by anatomy ([`coxa_core::name_contact`]) from `naming`: the operated hip's
/// landmarks and the prosthetic head centre on the femur as imaged (LPS mm); without it only
/// contacts between implants are named.
#[allow(clippy::too_many_arguments, reason = "the plain inputs of one ROM run")]
pub fn rom_record_of(
    model: &HipModel,
    liner: &str,
    tilts: &PelvicTilts,
    user: &UserParts,
    motions: &[rom::Motion],
    pelvic_frame: &str,
    naming: Option<(coxa_core::ContactAnatomy, Point3<f64>)>,
) -> RomRecord {
    let construct = model.construct();
    let naming = naming.as_ref().map(|(a, h)| (a, h));
    let report = rom::report(model, motions, tilts, &SweepOptions::default());
    let motions = report
        .motions
        .iter()
        .map(|m| MotionRecord {
            name: m.name.to_string(),
            limit_deg: (m.limit_deg * 10.0).round() / 10.0,
            contact: m.contact.map_or("none", |c| c.kind.as_str()).to_string(),
            parts: m.contact.map(|c| c.parts.to_string()),
            contact_point_lps_mm: m.contact.map(|c| [c.point_lps_mm.x, c.point_lps_mm.y, c.point_lps_mm.z].map(|v| (v * 100.0).round() / 100.0)),
            start_in_contact: m.start_in_contact,
            structures: m.contact.and_then(|c| c.structures(model, naming)),
            posture: m.posture.as_str().to_string(),
            pelvic_tilt_deg: m.pelvic_tilt_deg,
            required_deg: m.required_deg,
        })
        .collect();
    RomRecord {
        side: model.side(),
        implants: RomImplants {
            shell_outer_diameter_mm: construct.shell.outer_diameter_mm,
            liner: if user.cup.is_some() { "user cup" } else { liner }.to_string(),
            stem: if user.stem.is_some() { "user stem" } else { "catalog" }.to_string(),
            head_diameter_mm: construct.head.diameter_mm,
            head_offset_mm: construct.head.neck_length_offset_mm,
            neck_diameter_mm: construct.stem.neck_diameter_mm,
            stem_ccd_deg: user.stem.as_ref().map_or(construct.stem.ccd, |u| u.ccd).deg(),
            stem_neck_length_mm: user.stem.is_none().then_some(construct.stem.neck_length_mm),
        },
        oscillation_angle_deg: (report.oscillation_angle_deg * 100.0).round() / 100.0,
        cup_pelvic_deg: report.cup_pelvic_deg,
        cup_functional_standing_deg: report.cup_functional_standing_deg,
        cup_functional_sitting_deg: report.cup_functional_sitting_deg,
        stem_anteversion_deg: report.stem_anteversion_deg,
        pelvic_frame: pelvic_frame.to_string(),
        pelvic_tilt_deg: StandingSitting { standing: tilts.standing.deg(), sitting: tilts.sitting.deg() },
        joint_angles: JOINT_ANGLES.to_string(),
        motions,
    }
}

/// How the ROM's joint angles are defined (written with every ROM record).
pub const JOINT_ANGLES: &str = "ISB-like: flexion about the pelvic mediolateral axis, abduction about the floating axis, internal rotation about the femoral mechanical axis; relative to the standing body, pelvis tilted per posture";

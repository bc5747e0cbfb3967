//! `coxa rom`: range of motion and impingement of a hip, with implants alone or on bone meshes.
//!
//! ```text
//! coxa rom [--mesh hip_right=H.stl --mesh femur_right=F.stl [--mesh hip_left=L.stl]]
//!          --head-mm 28 --neck-mm 12.25 --liner hemispherical
//!          --cup-inclination-deg 40 --cup-anteversion-deg 20 --stem-anteversion-deg 15
//!          [--pelvic-tilt-deg 0] --json
//! ```
//! Cup angles are in the definition named by `--cup-definition` (default radiographic, Murray
//! 1993) in the pelvic frame; with both hip bones the pelvic frame is the anterior pelvic plane,
//! with one hip bone the CT's axes. Joint angles follow `coxa_sim::joint`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, ValueEnum};
use serde_json::Value;

use coxa_core::HipAnatomy;
use coxa_core::report::{MotionRecord, RomImplants, StandingSitting};
use coxa_core::{Angle, CupAngleDefinition, CupAngles, Mesh, RomRecord, Side};
use coxa_implants::{Catalog, Construct, Stem};
use coxa_sim::rom::{self, PelvicTilts, SweepOptions};
use coxa_sim::user_parts::{UserCup, UserStem};
use coxa_sim::{BoneGeometry, BoneOptions, HipModel};

/// Which of Murray's definitions the cup angles use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CupDefinitionArg {
    /// Radiographic.
    Radiographic,
    /// Operative.
    Operative,
    /// Anatomic.
    Anatomic,
}

impl From<CupDefinitionArg> for CupAngleDefinition {
    fn from(d: CupDefinitionArg) -> Self {
        match d {
            CupDefinitionArg::Radiographic => CupAngleDefinition::Radiographic,
            CupDefinitionArg::Operative => CupAngleDefinition::Operative,
            CupDefinitionArg::Anatomic => CupAngleDefinition::Anatomic,
        }
    }
}

/// Arguments of `coxa rom`.
#[derive(Debug, Clone, Args)]
pub struct RomArgs {
    /// A bone surface as NAME=FILE (STL or PLY, LPS mm): hip_left, hip_right, femur_left,
    /// femur_right. The hip bone and femur of the operated side enable bone impingement; the
    /// other hip bone adds the anterior pelvic plane. Without meshes: implants alone.
    #[arg(long = "mesh", value_name = "NAME=FILE")]
    pub meshes: Vec<String>,
    /// Units of the --mesh files when they are not millimetres: mm, cm, m or in (without it,
    /// meshes whose bone sizes fit another unit are refused, as in `coxa plan` and `coxa anatomy`).
    #[arg(long, value_name = "UNIT", value_parser = crate::bone_input::parse_units, requires = "meshes")]
    pub mesh_units: Option<coxa_anatomy::bone_check::LengthUnit>,
    /// Operated side; default: the side of the meshes given, else right.
    #[arg(long, ignore_case = true)]
    pub side: Option<crate::cli::SideArg>,
    /// Head diameter, mm (from the catalog: 22, 28, 32, 36, 40).
    #[arg(long, default_value_t = 32.0)]
    pub head_mm: f64,
    /// Head neck-length offset, mm (catalog: -3.5, 0, 3.5, 7).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub head_offset_mm: f64,
    /// Neck diameter next to the head, mm; default: the stem's.
    #[arg(long)]
    pub neck_mm: Option<f64>,
    /// Liner: hemispherical, elevated_rim, chamfered, or a catalog liner name.
    #[arg(long, default_value = "hemispherical")]
    pub liner: String,
    /// Shell outer diameter, mm; default: the smallest that holds the head and liner.
    #[arg(long)]
    pub shell_mm: Option<f64>,
    /// Stem size in the first stem series of the catalog.
    #[arg(long, default_value = "3")]
    pub stem_size: String,
    /// A folder of catalog TOML files instead of the built-in catalog.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Cup inclination, deg, in `--cup-definition`.
    #[arg(long, default_value_t = 40.0, allow_negative_numbers = true)]
    pub cup_inclination_deg: f64,
    /// Cup anteversion, deg, in `--cup-definition`.
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub cup_anteversion_deg: f64,
    /// Definition of the cup angles (Murray 1993).
    #[arg(long, value_enum, default_value = "radiographic")]
    pub cup_definition: CupDefinitionArg,
    /// Stem anteversion about the shaft relative to the posterior condylar line, deg.
    #[arg(long, default_value_t = 15.0, allow_negative_numbers = true)]
    pub stem_anteversion_deg: f64,
    /// Posterior pelvic tilt when standing, deg (0: anterior pelvic plane vertical).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub pelvic_tilt_deg: f64,
    /// Additional posterior tilt when sitting, deg.
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub sitting_extra_tilt_deg: f64,
    /// An engineer's own cup (liner): its frame file (TOML, part = "cup", naming its STL).
    #[arg(long, value_name = "FRAME.toml")]
    pub user_cup: Option<PathBuf>,
    /// An engineer's own stem: its frame file (TOML, part = "stem", naming its STL).
    #[arg(long, value_name = "FRAME.toml")]
    pub user_stem: Option<PathBuf>,
    /// Run a scenario file instead (as `coxa run`): every case, sweep and report.
    #[arg(long, value_name = "SCENARIO.toml", conflicts_with_all = ["meshes", "user_cup", "user_stem"])]
    pub scenario: Option<PathBuf>,
    /// Print JSON (the caller prints `run`'s value).
    #[arg(long)]
    pub json: bool,
}

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

/// Checks a command-line number `--name` (finite, in `lo..=hi`).
pub(crate) fn finite(name: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    ensure!(v.is_finite(), "--{name} is {v}: give a finite number");
    ensure!((lo..=hi).contains(&v), "--{name} = {v} is out of range {lo}..={hi}");
    Ok(())
}

/// Runs `coxa rom` and returns its JSON report.
pub fn run(args: &RomArgs) -> Result<Value> {
    finite("head-mm", args.head_mm, 12.0, 60.0)?;
    finite("head-offset-mm", args.head_offset_mm, -15.0, 15.0)?;
    if let Some(n) = args.neck_mm {
        finite("neck-mm", n, 4.0, 30.0)?;
    }
    if let Some(s) = args.shell_mm {
        finite("shell-mm", s, 20.0, 100.0)?;
    }
    finite("cup-inclination-deg", args.cup_inclination_deg, 0.0, 90.0)?;
    finite("cup-anteversion-deg", args.cup_anteversion_deg, -45.0, 90.0)?;
    finite("stem-anteversion-deg", args.stem_anteversion_deg, -45.0, 90.0)?;
    finite("pelvic-tilt-deg", args.pelvic_tilt_deg, -45.0, 45.0)?;
    finite("sitting-extra-tilt-deg", args.sitting_extra_tilt_deg, -30.0, 60.0)?;

    // Meshes by name.
    let meshes = crate::bone_input::parse_mesh_args(&args.meshes, &crate::bone_input::HIP_BONES)?;
    let side = match args.side {
        Some(s) => s.into(),
        None => {
            let left = meshes.iter().any(|(n, _)| n == "femur_left");
            let right = meshes.iter().any(|(n, _)| n == "femur_right");
            ensure!(!(left && right), "femurs of both sides given: choose the operated one with --side");
            if left { Side::Left } else { Side::Right }
        }
    };

    let catalog = match &args.catalog {
        Some(dir) => Catalog::load_dir(dir)?,
        None => Catalog::builtin()?,
    };
    let choice =
        ImplantChoice { head_mm: args.head_mm, head_offset_mm: args.head_offset_mm, neck_mm: args.neck_mm, liner: args.liner.clone(), shell_mm: args.shell_mm, stem_size: args.stem_size.clone() };
    let construct = choice.construct(&catalog)?;
    let cup = CupAngles { definition: args.cup_definition.into(), inclination: Angle::from_deg(args.cup_inclination_deg), anteversion: Angle::from_deg(args.cup_anteversion_deg) };

    // Bones: read and checked together (units, stray vertices) as `plan` and `anatomy` do.
    let mut notes = Vec::new();
    let checked = crate::bone_input::read_bones(&meshes, args.mesh_units, &mut notes)?;
    for n in &notes {
        eprintln!("warning: {n}");
    }
    let read = |name: &str| -> Result<Option<Mesh>> { Ok(checked.iter().find(|(n, _)| n == name).map(|(_, m)| m.clone())) };
    let (own, other) = match side {
        Side::Left => ("left", "right"),
        Side::Right => ("right", "left"),
    };
    let hip = read(&format!("hip_{own}"))?;
    let femur = read(&format!("femur_{own}"))?;
    let other_hip = read(&format!("hip_{other}"))?;
    let bones = match (hip, femur) {
        (Some(hip), Some(femur)) => {
            let anatomy = coxa_anatomy::landmarks::hip_anatomy(side, &hip, other_hip.as_ref(), &femur).context("landmarks of the operated hip")?;
            Some(HipBones::new(anatomy, hip, femur, &construct)?)
        }
        (None, None) => None,
        _ => bail!("bone impingement needs both --mesh hip_{own}=.. and --mesh femur_{own}=..; give both or neither"),
    };
    let tilts = PelvicTilts { standing: Angle::from_deg(args.pelvic_tilt_deg), sitting: Angle::from_deg(args.pelvic_tilt_deg + args.sitting_extra_tilt_deg) };
    let user = UserParts::load(args.user_cup.as_deref(), args.user_stem.as_deref(), args.head_mm)?;
    let (_, record) = rom_record(side, &construct, &choice.liner, cup, Angle::from_deg(args.stem_anteversion_deg), &tilts, bones.as_ref(), &user, &rom::all_motions())?;
    Ok(serde_json::to_value(record)?)
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
    let record = rom_record_of(&model, liner, tilts, user, motions, pelvic_frame);
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
pub fn rom_record_of(model: &HipModel, liner: &str, tilts: &PelvicTilts, user: &UserParts, motions: &[rom::Motion], pelvic_frame: &str) -> RomRecord {
    let construct = model.construct();
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        rom: RomArgs,
    }

    fn parse(extra: &[&str]) -> RomArgs {
        Cli::parse_from(std::iter::once("coxa-rom").chain(extra.iter().copied())).rom
    }

    #[test]
    fn implants_alone_give_the_exact_oscillation_angle_and_the_named_motions() {
        let v =
            run(&parse(&["--head-mm", "28", "--neck-mm", "12.25", "--liner", "hemispherical", "--cup-inclination-deg", "40", "--cup-anteversion-deg", "20", "--stem-anteversion-deg", "15", "--json"]))
                .unwrap();
        let osc = v["oscillation_angle_deg"].as_f64().unwrap();
        assert!((osc - 2.0 * (12.25f64 / 28.0).acos().to_degrees()).abs() < 0.01, "{osc}");
        let names: Vec<&str> = v["motions"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        for n in ["flexion", "extension", "abduction", "adduction", "internal_rotation_90_flexion", "external_rotation_0_flexion"] {
            assert!(names.contains(&n), "{n} missing");
        }
        let flex = &v["motions"][0];
        assert_eq!(flex["contact"], "implant-implant");
        assert_eq!(flex["contact_point_lps_mm"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        let e = run(&parse(&["--cup-anteversion-deg", "NaN"])).unwrap_err().to_string();
        assert!(e.contains("cup-anteversion-deg"), "{e}");
        let e = run(&parse(&["--cup-inclination-deg", "120"])).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        let e = format!("{:#}", run(&parse(&["--head-mm", "30"])).unwrap_err());
        assert!(e.contains("head") && e.contains("28"), "{e}");
        let e = run(&parse(&["--mesh", "pelvis=x.stl"])).unwrap_err().to_string();
        assert!(e.contains("hip_right"), "{e}");
        let e = run(&parse(&["--mesh", "hip_right=x.stl"])).unwrap_err().to_string();
        assert!(e.contains("femur_right") || e.contains("x.stl"), "{e}");
        let e = format!("{:#}", run(&parse(&["--head-mm", "40", "--shell-mm", "44"])).unwrap_err());
        assert!(e.contains("do not fit") || e.contains("thick"), "{e}");
    }

    /// The issue's quick case on the real bones of ../shared/data/vsd_bones (skipped with a note
    /// when the data is not there): bones take range away and name their contacts.
    #[test]
    fn vsd_bones_quick_case() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/vsd_bones");
        if !dir.exists() {
            eprintln!("note: skipping, {} is not here", dir.display());
            return;
        }
        let m = |n: &str, f: &str| format!("{n}={}", dir.join(f).display());
        let (a, b, c) = (m("hip_right", "z013_Hip_R.stl"), m("femur_right", "z013_Femur_R.stl"), m("hip_left", "z013_Hip_L.stl"));
        let flags = ["--head-mm", "28", "--neck-mm", "12.25", "--cup-inclination-deg", "40", "--cup-anteversion-deg", "20", "--stem-anteversion-deg", "15", "--json"];
        let with: Vec<&str> = ["--mesh", &a, "--mesh", &b, "--mesh", &c].into_iter().chain(flags).collect();
        let v = run(&parse(&with)).unwrap();
        let alone = run(&parse(&flags)).unwrap();
        assert_eq!(v["pelvic_frame"], "anterior pelvic plane");
        let kinds: Vec<&str> = v["motions"].as_array().unwrap().iter().map(|m| m["contact"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"bone-bone"), "{kinds:?}");
        eprintln!("{}", serde_json::to_string_pretty(&v["motions"]).unwrap());
        // The bone contact points lie on this subject's pelvis, in its CT coordinates.
        let add = v["motions"].as_array().unwrap().iter().find(|m| m["name"] == "adduction").unwrap();
        assert!(add["contact_point_lps_mm"][0].as_f64().unwrap() < -300.0, "{add}");
        assert!(alone["motions"][0]["limit_deg"].as_f64().is_some());
    }
}

//! `coxa plan`: implant sizes and placement of a total hip, optimised for impingement-free
//! daily-life motion, leg length and offset, with the simulator as the planner's ROM scorer.
//!
//! ```text
//! coxa plan --mesh hip_right=HR.stl --mesh femur_right=FR.stl [--mesh hip_left=HL.stl --mesh femur_left=FL.stl]
//!           [--side left|right] --out DIR [--json]
//! coxa plan --ct CT [--labels SEG.nii.gz] [--side left|right] --out DIR [--json]
//! ```
//! Writes `DIR/plan.json` (and, from a CT, the anatomy stage's output in `DIR/anatomy/`). `DIR`
//! must not exist yet. Cup angles are searched and reported in the **radiographic** definition
//! (Murray 1993) in the pelvic frame (anterior pelvic plane when both hip bones are given) and
//! reported in all three definitions; joint angles and motions are `coxa rom`'s.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;

use crate::rom::{finite, parse_side};
use serde_json::Value;

use coxa_core::plan_record::{
    CupDefinitions, CupSizeOptionRecord, ObjectiveRecord, ParetoRecord, PenaltiesRecord, PlanCanalRecord, PlanConventions, PlanCupRecord, PlanHeadRecord, PlanLinerRecord, PlanMotionRecord,
    PlanRecord, PlanStemRecord, SearchRecord, SocketRecord, TargetsRecord,
};
use coxa_core::report::{CupAnglePair, StandingSitting};
use coxa_core::{Angle, CupAngleDefinition, CupAngles, FemurLandmarks, HipAnatomy, Mesh, PatientLandmarks, PelvicFrame, PostureTilts, Side};
use coxa_implants::Catalog;
use coxa_planner::{HipLandmarks, Plan, PlanAnatomy, PlanOptions};
use coxa_sim::BoneOptions;
use coxa_sim::score::{ScorerBones, SimScorer};

/// Arguments of `coxa plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A bone surface as NAME=FILE (STL or PLY, LPS mm): hip_left, hip_right, femur_left,
    /// femur_right. The operated side needs its hip bone and femur; the other hip bone adds the
    /// anterior pelvic plane, the other femur (with it) the leg-length and offset reference.
    #[arg(long = "mesh", value_name = "NAME=FILE", conflicts_with = "ct")]
    pub meshes: Vec<String>,
    /// Units of the --mesh files when they are not millimetres: mm, cm, m or in (without it,
    /// meshes whose bone sizes fit another unit are refused).
    #[arg(long, value_name = "UNIT", value_parser = crate::bone_input::parse_units, requires = "meshes")]
    pub mesh_units: Option<coxa_anatomy::bone_check::LengthUnit>,
    /// A CT (DICOM folder or file, NIfTI) instead of meshes: bones segmented (or taken from
    /// --labels), surfaces and landmarks as `coxa anatomy` makes them, kept in DIR/anatomy/.
    #[arg(long)]
    pub ct: Option<PathBuf>,
    /// A label map on the CT's grid (TotalSegmentator ids) for --ct.
    #[arg(long, requires = "ct")]
    pub labels: Option<PathBuf>,
    /// Operated side; default: the side of the only femur given (required with two femurs or a CT).
    #[arg(long)]
    pub side: Option<String>,
    /// The output folder; it must not exist yet (coxa never overwrites).
    #[arg(long)]
    pub out: PathBuf,
    /// Fixed head diameter, mm (default: the optimiser chooses among the catalog's heads >= 28 mm).
    #[arg(long)]
    pub head_mm: Option<f64>,
    /// Liner(s) to consider: a catalog liner name or hemispherical, elevated_rim, chamfered. Repeat for several.
    #[arg(long = "liner", default_value = "neutral")]
    pub liners: Vec<String>,
    /// Cup inclination range, radiographic, deg.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], default_values_t = [30.0, 55.0], allow_negative_numbers = true)]
    pub cup_inclination_deg: Vec<f64>,
    /// Cup anteversion range, radiographic, deg.
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], default_values_t = [0.0, 35.0], allow_negative_numbers = true)]
    pub cup_anteversion_deg: Vec<f64>,
    /// Stem anteversion range to search, deg (default: the native version, which keeps the head on
    /// its native azimuth about the shaft axis).
    #[arg(long, num_args = 2, value_names = ["MIN", "MAX"], allow_negative_numbers = true)]
    pub stem_anteversion_deg: Option<Vec<f64>>,
    /// Posterior pelvic tilt standing, deg (0: anterior pelvic plane vertical).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub pelvic_tilt_deg: f64,
    /// Additional posterior tilt sitting, deg (spinopelvic mobility: 20-30 normal, 0-10 a stiff spine).
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub sitting_extra_tilt_deg: f64,
    /// Coarse grid step of the angle search, deg.
    #[arg(long, default_value_t = 2.5)]
    pub grid_step_deg: f64,
    /// A folder of catalog TOML files instead of the built-in catalog.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Print plan.json to stdout as well.
    #[arg(long)]
    pub json: bool,
    /// The shape model that predicts a femur whose condyles are not imaged (its frame and
    /// anteversion then come from the predicted whole femur): the musculoskeletal/models folder of
    /// musculoskeletal-models 0.2.4, or `none`. Default: the installed package if found.
    #[arg(long, value_name = "PATH|none")]
    pub shape_model: Option<String>,
}

/// The anatomy a plan needs, from the patient's landmarks (found once by the anatomy stage) and
/// bone surfaces: the operated hip, the other hip when both its acetabulum and femur were found.
/// Returns it with the operated hip's landmarks it was built on (what `model.json` records for
/// the viewer), a description of the pelvic frame used and what was assumed about the femurs
/// (`coxa_anatomy::landmarks::assume_neutral_short_femur`, already applied to the landmarks).
pub fn plan_anatomy(side: Side, landmarks: &PatientLandmarks, meshes: &[(String, Mesh)]) -> Result<(PlanAnatomy, HipAnatomy, &'static str, Vec<String>)> {
    let own = side.as_str();
    let mesh = |name: String| meshes.iter().find(|(n, _)| *n == name).map(|(_, m)| m);
    let hip = mesh(format!("hip_{own}")).with_context(|| format!("the planner needs the {own} hip bone (hip_{own}): give --mesh hip_{own}=FILE or a CT where it is segmented"))?;
    let femur = mesh(format!("femur_{own}")).with_context(|| format!("the planner needs the {own} femur (femur_{own}): give --mesh femur_{own}=FILE or a CT where it is segmented"))?;
    let operated = landmarks.hip(side).with_context(|| format!("the {own} hip has no landmarks (see the anatomy warnings): the planner needs its acetabulum and femoral head"))?;
    let femoral_frame = |f: &FemurLandmarks| -> Result<nalgebra::Rotation3<f64>> { Ok(f.femoral_frame()?.femur_from_lps) };
    let other = side.opposite();
    let contralateral = match (landmarks.acetabulum(other), landmarks.femur(other)) {
        (Some(a), Some(f)) => Some(HipLandmarks { acetabulum: a.clone(), femur_from_lps: femoral_frame(f)?, femur: f.clone() }),
        _ => None,
    };
    let mut notes: Vec<String> = operated.femur_assumed.iter().cloned().collect();
    if contralateral.is_some() {
        let prefix = format!("femur_{}:", other.as_str());
        notes.extend(landmarks.notes.iter().filter(|n| n.starts_with(&prefix)).cloned());
    }
    let frame_note = if operated.frame_is_app { "anterior pelvic plane" } else { "CT axes at the acetabulum (give both hip bones for the anterior pelvic plane)" };
    let anatomy = PlanAnatomy {
        side,
        frame: operated.frame,
        pelvis: hip.clone(),
        femur: femur.clone(),
        operated: HipLandmarks { acetabulum: operated.acetabulum.clone(), femur_from_lps: femoral_frame(&operated.femur)?, femur: operated.femur.clone() },
        contralateral,
        canal: None,
    };
    Ok((anatomy, operated, frame_note, notes))
}

/// The simulator as the scorer of `anatomy`'s operated hip.
pub fn scorer(anatomy: &PlanAnatomy, catalog: &Catalog) -> SimScorer {
    SimScorer::with_bones(
        catalog.clone(),
        anatomy.frame,
        ScorerBones { pelvis: anatomy.pelvis.clone(), femur: anatomy.femur.clone(), femur_landmarks: anatomy.operated.femur.clone(), options: BoneOptions::default() },
    )
}

/// The planner's options from the flags.
pub fn options(args: &PlanArgs) -> Result<PlanOptions> {
    let pair = |name: &str, v: &[f64], lo: f64, hi: f64| -> Result<(Angle, Angle)> {
        ensure!(v.len() == 2, "--{name} takes MIN MAX");
        finite(name, v[0], lo, hi)?;
        finite(name, v[1], lo, hi)?;
        ensure!(v[0] <= v[1], "--{name} {} {}: MIN must not exceed MAX", v[0], v[1]);
        Ok((Angle::from_deg(v[0]), Angle::from_deg(v[1])))
    };
    let (il, ih) = pair("cup-inclination-deg", &args.cup_inclination_deg, 0.0, 80.0)?;
    let (al, ah) = pair("cup-anteversion-deg", &args.cup_anteversion_deg, -30.0, 60.0)?;
    finite("pelvic-tilt-deg", args.pelvic_tilt_deg, -45.0, 45.0)?;
    finite("sitting-extra-tilt-deg", args.sitting_extra_tilt_deg, -30.0, 60.0)?;
    finite("grid-step-deg", args.grid_step_deg, 0.5, 20.0)?;
    let mut o = PlanOptions::new()
        .with_liners(args.liners.clone())
        .with_inclination(il, ih)
        .with_anteversion(al, ah)
        .with_grid_step(Angle::from_deg(args.grid_step_deg))
        .with_refine_step(Angle::from_deg(0.25f64.min(args.grid_step_deg)))
        .with_tilts(PostureTilts::from_change(Angle::from_deg(args.pelvic_tilt_deg), Angle::from_deg(args.sitting_extra_tilt_deg)));
    if let Some(h) = args.head_mm {
        finite("head-mm", h, 12.0, 60.0)?;
        o = o.with_head_diameter_mm(h);
    }
    if let Some(s) = &args.stem_anteversion_deg {
        let (lo, hi) = pair("stem-anteversion-deg", s, -30.0, 60.0)?;
        o = o.with_stem_anteversion(lo, hi);
    }
    Ok(o)
}

/// Runs `coxa plan`: writes `DIR/plan.json` and returns it.
pub fn run(args: &PlanArgs) -> Result<PlanRecord> {
    let out = &args.out;
    if out.exists() {
        bail!("{} already exists; coxa plan writes into a new folder and never overwrites: choose another --out", out.display());
    }
    let options = options(args)?;
    let catalog = match &args.catalog {
        Some(dir) => Catalog::load_dir(dir)?,
        None => Catalog::builtin()?,
    };
    let side_flag = args.side.as_deref().map(parse_side).transpose()?;
    let mut bone_notes = Vec::new();
    // The bones: from the meshes, or from the CT through the anatomy stage.
    let mut canal = None;
    let mut fixation = Vec::new();
    let femur_records;
    let (meshes, landmarks, warnings, side) = match &args.ct {
        Some(ct) => {
            let side = side_flag.context("--ct: name the operated side with --side left|right")?;
            let source = crate::anatomy::AnatomySource::Ct { ct: ct.clone(), labels: args.labels.clone(), label_names: None, dicom: coxa_io::dicom::ReadOptions::new(), any_modality: false };
            let result = crate::anatomy::run_full(&source, &out.join("anatomy")).with_context(|| format!("anatomy from {}", ct.display()))?;
            canal = result.canal(side);
            fixation = result.record.fixation.clone();
            femur_records = result.record.femurs.clone();
            (result.meshes, result.landmarks, result.warnings, side)
        }
        None => {
            let mut files: Vec<(String, PathBuf)> = Vec::new();
            for m in &args.meshes {
                let (name, path) = m.split_once('=').with_context(|| format!("--mesh {m:?}: write NAME=FILE, e.g. hip_right=pelvis_r.stl"))?;
                ensure!(["hip_left", "hip_right", "femur_left", "femur_right"].contains(&name), "--mesh {name}: unknown name; use hip_left, hip_right, femur_left or femur_right");
                ensure!(!files.iter().any(|(n, _)| n == name), "--mesh {name} given twice");
                files.push((name.to_string(), PathBuf::from(path)));
            }
            let list: Vec<(String, Mesh)> = crate::bone_input::read_bones(&files, args.mesh_units, &mut bone_notes)?;
            let has = |n: &str| list.iter().any(|(m, _)| m == n);
            let side = match side_flag {
                Some(s) => s,
                None => match (has("femur_left"), has("femur_right")) {
                    (true, true) => bail!("femurs of both sides given: choose the operated one with --side"),
                    (true, false) => Side::Left,
                    (false, true) => Side::Right,
                    (false, false) => bail!("no femur given: coxa plan needs --mesh hip_SIDE=.. and --mesh femur_SIDE=.. of the operated side (or --ct)"),
                },
            };
            let (mut landmarks, mut warnings) = coxa_anatomy::landmarks::find(&coxa_anatomy::landmarks::Bones::named(&list));
            // A femur without condyles: the shape model's prediction stands in for its frame.
            let predictions = crate::shape_predict::apply_predictions(&list, &mut landmarks);
            let frame = landmarks.pelvis.as_ref().map(|p| p.frame);
            let mut femurs: Vec<_> = landmarks.femurs.iter().map(|f| crate::anatomy::femur_record(f, frame.as_ref())).collect();
            crate::shape_predict::annotate_femurs(&predictions, &mut femurs, &mut warnings);
            femur_records = femurs;
            (list, landmarks, warnings, side)
        }
    };
    if landmarks.hip(side).is_none() {
        bail!("landmarks of the operated ({}) hip not found: {}", side.as_str(), warnings.join("; "));
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let (mut anatomy, operated, frame_note, assumed) = plan_anatomy(side, &landmarks, &meshes)?;
    anatomy.canal = canal;
    let scorer = scorer(&anatomy, &catalog);
    let mut plan = coxa_planner::plan(&anatomy, &catalog, &scorer, &options)?;
    plan.notes.splice(0..0, bone_notes.into_iter().chain(assumed));
    let mut report = plan_record(&plan, &anatomy, &catalog, frame_note, &options);
    crate::bone::add_fixation_to_plan(&mut report, &fixation, side);
    crate::shape_predict::add_prediction_to_plan(&mut report, &femur_records, side);

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    crate::atomic::write_new(&out.join("plan.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    // For `coxa view` on this folder: the placed implants, where the bones are, and the record
    // from which the viewer rebuilds the hip model.
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let model = scorer.model(&plan.placement).context("the planned hip model")?;
    std::fs::create_dir_all(out.join("implants"))?;
    for (name, mesh) in model.implant_meshes_lps() {
        coxa_io::mesh::write_mesh(&mesh, &out.join("implants").join(format!("{name}.stl")))?;
    }
    let inputs = match &args.ct {
        Some(ct) => serde_json::json!({"ct": abs(ct), "labels": args.labels.as_deref().map(abs)}),
        None => serde_json::json!({"meshes": args.meshes.iter().filter_map(|m| m.split_once('=')).map(|(n, p)| serde_json::json!({"name": n, "file": abs(Path::new(p))})).collect::<Vec<_>>()}),
    };
    crate::atomic::write_new(&out.join("inputs.json"), serde_json::to_string_pretty(&inputs)?.as_bytes())?;
    let record = coxa_core::CaseModel {
        schema_version: coxa_core::CaseModel::SCHEMA_VERSION,
        placement: plan.placement.clone(),
        tilts: plan.tilts,
        motions: plan.rom.motions.iter().map(|m| m.name.clone()).collect(),
        catalog_dir: args.catalog.as_deref().map(abs),
        bones: true,
        anatomy: Some(operated),
        user_cup: None,
        user_stem: None,
    };
    crate::atomic::write_new(&out.join("model.json"), serde_json::to_string_pretty(&record)?.as_bytes())?;
    Ok(report)
}

/// `coxa plan` as the command line runs it: the plan, then plan.json (`--json`) or a summary.
pub fn cli(args: &PlanArgs) -> Result<()> {
    if let Some(m) = &args.shape_model {
        crate::shape_predict::set_choice(crate::shape_predict::parse_choice(m));
    }
    let v = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("wrote {}", args.out.join("plan.json").display());
    let c = &v.cup;
    // As the JSON writes it (`52.0`; `null` when not finite).
    let show = |x: f64| Value::from(x).to_string();
    println!(
        "cup   {} mm, radiographic inclination {} deg, anteversion {} deg, centre {} mm (LPS), coverage {:.0} %",
        show(c.outer_diameter_mm),
        show(c.radiographic_inclination_deg),
        show(c.radiographic_anteversion_deg),
        serde_json::to_string(&c.centre_lps_mm)?,
        100.0 * c.coverage
    );
    println!("head  {} mm, neck-length offset {} mm; liner \"{}\"", show(v.head.diameter_mm), show(v.head.neck_length_offset_mm), v.liner.catalog);
    println!("stem  \"{}\" size \"{}\", anteversion {} deg; combined anteversion {} deg", v.stem.catalog, v.stem.size, show(v.stem.anteversion_deg), show(v.combined_anteversion_deg));
    println!("leg length {} mm (target {}), offset {} mm (target {})", show(v.leg_length_change_mm), show(v.targets.leg_length_change_mm), show(v.offset_change_mm), show(v.targets.offset_change_mm));
    println!("{:34} {:>9} {:>9}  first contact", "motion", "limit deg", "margin");
    for m in &v.motions {
        let margin = m.margin_deg.filter(|x| x.is_finite()).map_or(String::new(), |x| format!("{x:.1}"));
        println!("{:34} {:>9.1} {:>9}  {}", m.name, m.limit_deg, margin, m.contact);
    }
    for n in &v.notes {
        println!("note  {n}");
    }
    Ok(())
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn r4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn p2(p: [f64; 3]) -> [f64; 3] {
    p.map(r2)
}

fn angles_record(a: &CupAngles, side: Side) -> CupDefinitions {
    let g = |d| {
        let x = a.to_definition(d, side);
        CupAnglePair { inclination_deg: r2(x.inclination.deg()), anteversion_deg: r2(x.anteversion.deg()) }
    };
    CupDefinitions { radiographic: g(CupAngleDefinition::Radiographic), operative: g(CupAngleDefinition::Operative), anatomic: g(CupAngleDefinition::Anatomic) }
}

/// The cup relative to the body at posterior pelvic tilt `tilt` (functional angles).
fn functional(a: &CupAngles, side: Side, tilt: Angle) -> Option<CupDefinitions> {
    let axis = coxa_sim::joint::pelvis_tilt_rotation(tilt) * a.axis(side);
    CupAngles::from_axis(&axis, side, CupAngleDefinition::Radiographic).ok().map(|f| angles_record(&f, side))
}

fn objective_record(o: &coxa_planner::ObjectiveTerms) -> ObjectiveRecord {
    ObjectiveRecord {
        total: r4(o.total),
        rom_term_deg: r4(o.rom_term),
        rom_min_margin_deg: r4(o.rom_min_margin_deg),
        rom_mean_margin_deg: r4(o.rom_mean_margin_deg),
        rom_worst_motion: o.rom_worst_motion.clone(),
        leg_length_error_mm: r4(o.leg_length_error_mm),
        offset_error_mm: r4(o.offset_error_mm),
        coverage: r4(o.coverage),
        safe_zone_excess_deg: r4(o.safe_zone_excess_deg),
        combined_anteversion_deg: r4(o.combined_anteversion_deg),
        combined_target_distance_deg: r4(o.combined_target_distance_deg),
        penalties: PenaltiesRecord {
            leg_length: r4(o.leg_length_penalty),
            offset: r4(o.offset_penalty),
            coverage: r4(o.coverage_penalty),
            safe_zone: r4(o.safe_zone_penalty),
            combined_target: r4(o.combined_target_penalty),
        },
    }
}

/// The plan record (`plan.json`), rounded as written.
pub fn plan_record(plan: &Plan, anatomy: &PlanAnatomy, catalog: &Catalog, frame_note: &str, options: &PlanOptions) -> PlanRecord {
    let p = &plan.placement;
    let side = p.side;
    let frame: &PelvicFrame = &anatomy.frame;
    let radio = p.cup.to_definition(CupAngleDefinition::Radiographic, side);
    let axis_pelvic = p.cup.axis(side);
    let axis_lps = frame.vector_to_lps(&axis_pelvic);
    let shell_family = catalog.shells.iter().find(|s| p.shell_outer_diameter_mm >= s.outer_diameter_min_mm - 1e-9 && p.shell_outer_diameter_mm <= s.outer_diameter_max_mm + 1e-9);
    let liner = catalog.liner_spec(&p.liner).ok();
    let head_family = catalog.heads.iter().find(|h| h.diameters_mm.iter().any(|d| (d - p.head_diameter_mm).abs() < 1e-6));
    let stem = catalog.stems.iter().find(|s| s.name == p.stem_family);
    let stem_size = stem.and_then(|s| s.sizes.iter().find(|z| z.size == p.stem_size));
    let motions = plan
        .rom
        .motions
        .iter()
        .map(|m| PlanMotionRecord {
            name: m.name.clone(),
            limit_deg: (m.limit_deg * 10.0).round() / 10.0,
            contact: m.contact.map_or("none", |c| c.as_str()).to_string(),
            parts: m.contact_parts.clone(),
            contact_point_lps_mm: m.contact_point_lps_mm.map(p2),
            start_in_contact: m.start_in_contact,
            posture: crate::stem_report::serde_name(&m.posture),
            pelvic_tilt_deg: r2(m.pelvic_tilt_deg),
            required_deg: m.required_deg,
            margin_deg: m.margin_deg().map(|v| (v * 10.0).round() / 10.0),
        })
        .collect();
    let o = &plan.objective;
    let c = &plan.cup;
    let f = &plan.femoral;
    let head_on_femur = p2([p.head_centre_on_femur_lps_mm.x, p.head_centre_on_femur_lps_mm.y, p.head_centre_on_femur_lps_mm.z]);
    PlanRecord {
        coxa_version: env!("CARGO_PKG_VERSION").to_string(),
        side,
        conventions: PlanConventions {
            lps: "DICOM patient frame: +x patient left, +y posterior, +z superior, mm".into(),
            pelvic_frame: frame_note.into(),
            cup_angles: "Murray (1993) radiographic, operative and anatomic definitions in the pelvic frame; the search and the top-level cup fields are radiographic".into(),
            functional_angles: "the cup relative to the standing body with the pelvis tilted per posture (radiographic definitions)".into(),
            joint_angles: "as coxa rom: flexion about the pelvic mediolateral axis, abduction about the floating axis, internal rotation about the femoral mechanical axis; relative to the standing body, pelvis tilted per posture".into(),
            leg_length_offset: "femur at zero joint angles, head in the cup: leg length + = longer, offset + = femur more lateral; targets from the other hip when imaged, else 0".into(),
        },
        cup: PlanCupRecord {
            catalog: shell_family.map(|s| s.name.clone()),
            outer_diameter_mm: p.shell_outer_diameter_mm,
            last_reamer_mm: c.last_reamer_mm,
            acetabular_diameter_mm: r2(c.acetabular_diameter_mm),
            size_rule: format!(
                "smallest catalog shell >= socket {} mm + {} mm reaming ({} mm); last reamer {} mm under (the series' press fit)",
                r2(c.socket.sizing_diameter_mm),
                options.sizing.ream_allowance_mm,
                r2(c.rule_diameter_mm),
                r2(c.outer_diameter_mm - c.last_reamer_mm)
            ),
            socket: SocketRecord {
                measured_diameter_mm: r2(c.socket.measured_diameter_mm),
                head_diameter_mm: c.socket.head_diameter_mm.map(r2),
                joint_space_mm: c.socket.joint_space_mm.map(r2),
                joint_space_resolved: c.socket.joint_space_resolved,
                sizing_diameter_mm: r2(c.socket.sizing_diameter_mm),
                source: crate::stem_report::serde_name(&c.socket.source),
                sphere_gap_mm: c.socket.sphere_gap_mm.map(r2),
                rim_diameter_mm: r2(c.socket.rim_diameter_mm),
                rim_ap_diameter_mm: c.socket.rim_ap_diameter_mm.map(r2),
                lunate_vertices: c.socket.lunate_fossa_vertices[0],
                fossa_vertices: c.socket.lunate_fossa_vertices[1],
            },
            size_options: c
                .size_options
                .iter()
                .map(|o| CupSizeOptionRecord {
                    outer_diameter_mm: o.outer_diameter_mm,
                    last_reamer_mm: r2(o.last_reamer_mm),
                    press_fit_mm: o.press_fit_mm,
                    coverage_40_15: r4(o.coverage),
                    medial_wall_mm: r2(o.medial_wall_mm),
                    rim_fit_mm: o.rim_fit_mm.map(r2),
                    over_socket_mm: r2(o.over_socket_mm),
                    chosen: o.chosen,
                    note: o.note.clone(),
                })
                .collect(),
            radiographic_inclination_deg: r2(radio.inclination.deg()),
            radiographic_anteversion_deg: r2(radio.anteversion.deg()),
            angles_deg: angles_record(&p.cup, side),
            functional_standing_deg: functional(&p.cup, side, plan.tilts.standing),
            functional_sitting_deg: functional(&p.cup, side, plan.tilts.sitting),
            centre_lps_mm: p2(c.centre_lps_mm),
            centre_pelvic_mm: p2(c.centre_pelvic_mm),
            native_centre_lps_mm: p2(c.native_centre_lps_mm),
            axis_lps: [r4(axis_lps.x), r4(axis_lps.y), r4(axis_lps.z)],
            axis_pelvic: [r4(axis_pelvic.x), r4(axis_pelvic.y), r4(axis_pelvic.z)],
            medialisation_mm: c.medialisation_mm,
            medial_wall_mm: r2(c.medial_wall_mm),
            coverage: r4(o.coverage),
            reference_coverage_40_15: r4(c.reference_coverage),
        },
        liner: PlanLinerRecord { catalog: p.liner.clone(), geometry: liner.map(|l| crate::stem_report::serde_name(&l.geometry)) },
        head: PlanHeadRecord {
            catalog: head_family.map(|h| h.name.clone()),
            diameter_mm: p.head_diameter_mm,
            neck_length_offset_mm: p.head_offset_mm,
            centre_lps_mm: p2(c.centre_lps_mm),
            centre_on_femur_lps_mm: head_on_femur,
        },
        stem: PlanStemRecord {
            catalog: p.stem_family.clone(),
            size: p.stem_size.clone(),
            anteversion_deg: r2(p.stem_anteversion.deg()),
            native_femoral_anteversion_deg: anatomy.operated.femur.anteversion_deg.map(r2),
            ccd_deg: stem.map(|s| s.ccd_deg),
            offset_mm: stem_size.map(|z| z.offset_mm),
            seat_mm: f.seat_mm,
            canal: PlanCanalRecord {
                proximal_outer_mm: r2(plan.canal.proximal_outer_mm),
                distal_outer_mm: plan.canal.distal_outer_mm.map(r2),
                proximal_canal_mm: r2(plan.canal.proximal_canal_mm),
                distal_canal_mm: plan.canal.distal_canal_mm.map(r2),
                distal_level_mm: plan.canal.distal_level_mm,
                levels: format!(
                    "outer widths at the lesser trochanter and {} mm below it (or the lowest imaged level); canal here = outer width x (1 - 2 x {}); the size comes from `sizing`",
                    options.sizing.distal_level_mm, options.sizing.cortical_ratio
                ),
            },
            sizing: crate::stem_report::sizing_record(plan),
            size_options: crate::stem_report::size_options_record(plan),
            // Set by `shape_predict::add_prediction_to_plan` and `bone::add_fixation_to_plan`.
            native_femoral_anteversion_source: String::new(),
            native_femoral_anteversion_sd_deg: None,
            anteversion_sd_deg: None,
            anteversion_reference: None,
            fixation: None,
        },
        combined_anteversion_deg: r2(o.combined_anteversion_deg),
        combined_anteversion_sd_deg: None,
        leg_length_change_mm: r2(f.leg_length_change_mm),
        offset_change_mm: r2(f.offset_change_mm),
        anterior_change_mm: r2(f.anterior_change_mm),
        targets: TargetsRecord {
            leg_length_change_mm: r2(plan.targets.leg_length_change_mm),
            offset_change_mm: r2(plan.targets.offset_change_mm),
            from: (if plan.targets.from_contralateral { "the other hip" } else { "the native hip (no other hip imaged, or a femoral shaft not imaged: see the notes)" }).to_string(),
        },
        pelvic_tilt_deg: StandingSitting { standing: r2(plan.tilts.standing.deg()), sitting: r2(plan.tilts.sitting.deg()) },
        motions,
        objective: objective_record(o),
        pareto: plan
            .pareto
            .iter()
            .map(|q| ParetoRecord {
                radiographic_inclination_deg: r2(q.inclination_deg),
                radiographic_anteversion_deg: r2(q.anteversion_deg),
                stem_anteversion_deg: r2(q.stem_anteversion_deg),
                head_diameter_mm: q.head_diameter_mm,
                liner: q.liner.clone(),
                stem: format!("{} {}", q.stem_family, q.stem_size),
                head_offset_mm: q.head_offset_mm,
                objective: objective_record(&q.objective),
            })
            .collect(),
        search: SearchRecord {
            evaluated: plan.evaluated,
            failed: plan.failed,
            motions: plan.search_motions.clone(),
            grid_step_deg: r2(options.grid_step.deg()),
            refine_step_deg: r2(options.refine_step.deg()),
            inclination_range_deg: [r2(options.inclination.0.deg()), r2(options.inclination.1.deg())],
            anteversion_range_deg: [r2(options.anteversion.0.deg()), r2(options.anteversion.1.deg())],
            stem_anteversion_range_deg: options.stem_anteversion.map(|(a, b)| [r2(a.deg()), r2(b.deg())]),
        },
        notes: plan.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        plan: PlanArgs,
    }

    fn parse(extra: &[&str]) -> PlanArgs {
        Cli::parse_from(std::iter::once("coxa-plan").chain(extra.iter().copied())).plan
    }

    #[test]
    fn bad_flags_are_clear_errors_and_nothing_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("p");
        let o = out.to_str().unwrap();
        let e = run(&parse(&["--out", o, "--cup-inclination-deg", "50", "40"])).unwrap_err().to_string();
        assert!(e.contains("MIN"), "{e}");
        let e = run(&parse(&["--out", o, "--head-mm", "NaN"])).unwrap_err().to_string();
        assert!(e.contains("head-mm"), "{e}");
        let e = run(&parse(&["--out", o, "--mesh", "pelvis=x.stl"])).unwrap_err().to_string();
        assert!(e.contains("hip_right"), "{e}");
        let e = run(&parse(&["--out", o])).unwrap_err().to_string();
        assert!(e.contains("femur"), "{e}");
        assert!(!out.exists());
        let e = run(&parse(&["--out", tmp.path().to_str().unwrap()])).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}

//! The plan stage: the planner's input from the anatomy stage's landmarks and surfaces, the
//! simulator as its range-of-motion scorer, and the plan's record (`plan.json`). Used by `coxa
//! plan` and by the sweep of a scenario ([`super::sweep`]); writes no file.

use crate::error::{Context, Result};

use coxa_core::plan_record::{
    ClosestChangeRecord, CupDefinitions, CupSizeOptionRecord, DailyLifeRecord, MotionMarginRecord, ObjectiveRecord, ParetoRecord, PenaltiesRecord, PlanCanalRecord, PlanConventions, PlanCupRecord,
    PlanHeadRecord, PlanLinerRecord, PlanMotionRecord, PlanRecord, PlanStemRecord, SearchRecord, SocketRecord, TargetsRecord,
};
use coxa_core::report::{CupAnglePair, StandingSitting};
use coxa_core::{Angle, Bone, CombinedAnteversion, CupAngleDefinition, CupAngles, FemurLandmarks, HipAnatomy, Mesh, PatientLandmarks, Side};
use coxa_implants::Catalog;
use coxa_planner::{HipLandmarks, Plan, PlanAnatomy, PlanOptions};
use coxa_sim::BoneOptions;
use coxa_sim::score::{ScorerBones, SimScorer};

/// The anatomy a plan needs, from the patient's landmarks (found once by the anatomy stage) and
/// bone surfaces: the operated hip, the other hip when both its acetabulum and femur were found.
/// Returns it with the operated hip's landmarks it was built on (what `model.json` records for
/// the viewer), a description of the pelvic frame used and what was assumed about the femurs
/// (`coxa_anatomy::landmarks::assume_neutral_short_femur`, already applied to the landmarks).
pub fn plan_anatomy(side: Side, landmarks: &PatientLandmarks, bones: &[(Bone, Mesh)]) -> Result<(PlanAnatomy, HipAnatomy, &'static str, Vec<String>)> {
    let own = side.as_str();
    let mesh = |bone: Bone| bones.iter().find(|(b, _)| *b == bone).map(|(_, m)| m);
    let hip = mesh(Bone::hip(side)).with_context(|| format!("the planner needs the {own} hip bone (hip_{own}): give --mesh hip_{own}=FILE or a CT where it is segmented"))?;
    let femur = mesh(Bone::femur(side)).with_context(|| format!("the planner needs the {own} femur (femur_{own}): give --mesh femur_{own}=FILE or a CT where it is segmented"))?;
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

/// The simulator as the scorer of `anatomy`'s operated hip; stem and shell sizes of the catalog
/// with their own geometry are scored on it.
///
/// # Errors
/// A stem or shell size's frame or STL that cannot be read or does not fit the size.
pub fn scorer(anatomy: &PlanAnatomy, catalog: &Catalog) -> crate::Result<SimScorer> {
    let read = |p: &std::path::Path| coxa_io::mesh::read_mesh(p).map_err(|e| format!("{e:#}"));
    let user_stems = coxa_sim::score::user_stem_sizes(catalog, read)?;
    let user_cups = coxa_sim::score::user_cup_sizes(catalog, read)?;
    Ok(SimScorer::with_bones(
        catalog.clone(),
        anatomy.frame,
        ScorerBones { pelvis: anatomy.pelvis.clone(), femur: anatomy.femur.clone(), femur_landmarks: anatomy.operated.femur.clone(), options: BoneOptions::default() },
    )
    .with_user_stems(user_stems)
    .with_user_cups(user_cups))
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

/// How far the operated femur is imaged below its head centre along the shaft axis (0.1 mm),
/// when that is less than the range-of-motion model's reach (`coxa_sim::BoneOptions`): femur
/// below it could stop a motion the model finds free.
fn femur_imaged_mm(anatomy: &PlanAnatomy) -> Option<f64> {
    let f = &anatomy.operated.femur;
    let (head, up) = (f.head_centre.lps_mm, f.shaft_axis.direction_lps.normalize());
    let depth = anatomy.femur.vertices().iter().map(|v| (head - v).dot(&up)).fold(f64::NEG_INFINITY, f64::max);
    (depth.is_finite() && depth < coxa_sim::BoneOptions::default().reach_mm).then(|| (depth * 10.0).round() / 10.0)
}

/// The plan record (`plan.json`), rounded as written.
pub fn plan_record(plan: &Plan, anatomy: &PlanAnatomy, catalog: &Catalog, frame_note: &str, options: &PlanOptions) -> PlanRecord {
    let p = &plan.placement;
    let side = p.side;
    let liner = catalog.liner_spec(&p.liner).ok();
    let head_family = catalog.heads.iter().find(|h| h.diameters_mm.iter().any(|d| (d - p.head_diameter_mm).abs() < 1e-6));
    let contact_anatomy = anatomy.contact_anatomy();
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
            structures: match (&m.contact_parts, m.contact_point_lps_mm, m.contact_femur_point_lps_mm) {
                (Some(parts), Some(q), Some(f)) => coxa_core::name_contact(parts, &q.into(), &f.into(), Some(&contact_anatomy)),
                _ => None,
            },
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
        cup: cup_record(plan, anatomy, catalog, options),
        liner: PlanLinerRecord { catalog: p.liner.clone(), geometry: liner.map(|l| crate::stem_report::serde_name(&l.geometry)) },
        head: PlanHeadRecord {
            catalog: head_family.map(|h| h.name.clone()),
            diameter_mm: p.head_diameter_mm,
            neck_length_offset_mm: p.head_offset_mm,
            centre_lps_mm: p2(c.centre_lps_mm),
            centre_on_femur_lps_mm: head_on_femur,
        },
        stem: stem_record(plan, anatomy, catalog, options),
        // Set by the sweep (`stages::plan_intervals`): the intervals score the plan again.
        intervals: None,
        combined_anteversion_deg: r2(CombinedAnteversion::of(&p.cup, side, p.stem_anteversion).widmer_deg),
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
        rom_femur_imaged_mm: femur_imaged_mm(anatomy),
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
            stem_anteversion_range_deg: Some(plan.stem_anteversion_range_deg.map(r2)),
        },
        daily_life: Some(daily_life_record(&plan.daily_life)),
        notes: plan.notes.clone(),
    }
}

/// `plan.json`'s daily-life block: margins to 0.1 deg as the motions', the objective to 1e-4.
fn daily_life_record(d: &coxa_planner::DailyLife) -> DailyLifeRecord {
    let r1 = |v: f64| (v * 10.0).round() / 10.0;
    let short = |s: &[coxa_planner::MotionMargin]| s.iter().map(|m| MotionMarginRecord { motion: m.motion.clone(), margin_deg: r1(m.margin_deg) }).collect();
    DailyLifeRecord {
        met: d.met,
        min_margin_deg: r1(d.min_margin_deg),
        short: short(&d.short),
        closest: d.closest.as_ref().map(|c| ClosestChangeRecord {
            changes: c.changes.clone(),
            min_margin_deg: r1(c.min_margin_deg),
            short: short(&c.short),
            objective: r4(c.objective),
            cup_inclination_deg: r2(c.inclination_deg),
            cup_anteversion_deg: r2(c.anteversion_deg),
            stem_anteversion_deg: r2(c.stem_anteversion_deg),
            head_diameter_mm: c.head_diameter_mm,
        }),
        summary: d.summary.clone(),
    }
}

/// `plan.json`'s cup: the shell, its size rule and options, angles in every definition, centre,
/// axis, coverage.
fn cup_record(plan: &Plan, anatomy: &PlanAnatomy, catalog: &Catalog, options: &PlanOptions) -> PlanCupRecord {
    let p = &plan.placement;
    let side = p.side;
    let radio = p.cup.to_definition(CupAngleDefinition::Radiographic, side);
    let axis_pelvic = p.cup.axis(side);
    let axis_lps = anatomy.frame.vector_to_lps(&axis_pelvic);
    let shell_family = catalog.shells.iter().find(|s| p.shell_outer_diameter_mm >= s.outer_diameter_min_mm - 1e-9 && p.shell_outer_diameter_mm <= s.outer_diameter_max_mm + 1e-9);
    let o = &plan.objective;
    let c = &plan.cup;
    let teardrop = coxa_anatomy::landmarks::teardrop_pelvic_mm(&anatomy.pelvis, &anatomy.frame, &anatomy.operated.acetabulum, side);
    PlanCupRecord {
        teardrop_pelvic_mm: teardrop.map(|t| p2([t.x, t.y, t.z])),
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
    }
}

/// `plan.json`'s stem: the series and size, anteversion, the canal and the sizing.
fn stem_record(plan: &Plan, anatomy: &PlanAnatomy, catalog: &Catalog, options: &PlanOptions) -> PlanStemRecord {
    let p = &plan.placement;
    let f = &plan.femoral;
    let stem = catalog.stems.iter().find(|s| s.name == p.stem_family);
    let stem_size = stem.and_then(|s| s.sizes.iter().find(|z| z.size == p.stem_size));
    PlanStemRecord {
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
    }
}

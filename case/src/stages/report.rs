//! The report stage: the case report (`report.json`, [`CaseReport`]) and the case's summary row
//! (`case.json`) from every stage's typed result. Writes no file.

use std::path::PathBuf;

use serde_json::{Value, json};

use coxa_core::report::{CupAnglePair, MskRecord, PictureRecord, PlacementRecord, RadiomicsRecord, SafeZoneMap, SegmentationRecord, SweepMotion, SweepRow};
use coxa_core::{CaseReport, CombinedAnteversion, CupAngleDefinition};

use super::anatomy::AnatomyResult;
use super::sweep::{PointGeometry, PointResult};
use crate::scenario::{Case, CaseInput, InMemoryCt, Scenario};

/// What the report holds besides the anatomy and the sweep: each optional stage's result, the
/// pictures made and every warning.
pub struct ReportParts {
    /// The phantom's truth (`input/phantom_truth.json`), for a phantom.
    pub truth: Option<Value>,
    /// The radiomics stage's record.
    pub radiomics: Option<RadiomicsRecord>,
    /// The learned segmentation's record.
    pub segmentation: Option<SegmentationRecord>,
    /// The safe-zone map.
    pub safe_zone: Option<SafeZoneMap>,
    /// The musculoskeletal stage's record.
    pub msk: Option<MskRecord>,
    /// The pseudo-MRI stage's summary.
    pub pseudo_mri: Option<coxa_core::report::PseudoMriSummary>,
    /// The lesions stage's summary.
    pub lesions: Option<coxa_core::report::LesionsSummary>,
    /// The pictures, as the case folder holds them.
    pub pictures: Vec<PictureRecord>,
    /// What the stages worked around.
    pub warnings: Vec<String>,
}

/// The case report of `case`: the anatomy, the primary (first) sweep point's placement, plan
/// and range of motion (`geo` its geometry), every sweep point, and `parts`.
pub fn case_report(scn: &Scenario, case: &Case, anatomy: &AnatomyResult, results: &[PointResult], geo: &PointGeometry, parts: ReportParts) -> CaseReport {
    let primary = &results[0];
    let cup_angles: std::collections::BTreeMap<String, CupAnglePair> = [CupAngleDefinition::Radiographic, CupAngleDefinition::Operative, CupAngleDefinition::Anatomic]
        .iter()
        .map(|d| {
            let c = geo.model.cup_angles(*d);
            (definition_name(*d).to_string(), CupAnglePair { inclination_deg: round2(c.inclination.deg()), anteversion_deg: round2(c.anteversion.deg()) })
        })
        .collect();
    let centre = geo.model.hip_centre_lps_mm();
    CaseReport {
        coxa_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scn.name.clone().unwrap_or_else(|| scn.file.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned())),
        case: case.name.clone(),
        cup_definition: scn.report.cup_definition,
        side: case.side,
        input: input_json(&case.input),
        phantom_truth: parts.truth,
        anatomy: anatomy.record.clone(),
        planned_utc: Some(planned_utc()),
        revision: 0,
        placement: PlacementRecord {
            source: if primary.plan.is_some() { "planned by coxa's optimiser (sizes, angles, leg length and offset; see the plan)" } else { "fixed by the scenario" }.to_string(),
            cup_angles,
            cup_centre_lps_mm: [centre.x, centre.y, centre.z].map(round2),
            stem_anteversion_deg: round2(primary.stem_anteversion.deg()),
            combined_anteversion_deg: round2(CombinedAnteversion::of(&geo.model.cup_angles(CombinedAnteversion::PLAIN_SUM_CUP_DEFINITION), case.side, primary.stem_anteversion).plain_sum_deg),
            implants: primary.rom.implants.clone(),
        },
        plan: primary.plan.as_ref().map(|p| p.record.clone()),
        radiomics: parts.radiomics,
        segmentation: parts.segmentation,
        pseudo_mri: parts.pseudo_mri,
        lesions: parts.lesions,
        msk: parts.msk,
        rom: primary.rom.clone(),
        sweep: results
            .iter()
            .map(|r| SweepRow {
                label: r.point.label(),
                head_diameter_mm: r.choice.head_mm,
                liner: r.choice.liner.clone(),
                cup_inclination_deg: r.cup.inclination.deg(),
                cup_anteversion_deg: r.cup.anteversion.deg(),
                stem_anteversion_deg: round2(r.stem_anteversion.deg()),
                standing_tilt_deg: r.point.standing_tilt_deg,
                min_adl_margin_deg: r.rom.min_adl_margin_deg(),
                motions: r.rom.motions.iter().map(|x| SweepMotion { name: x.name.clone(), limit_deg: x.limit_deg, contact: x.contact.clone() }).collect(),
            })
            .collect(),
        safe_zone: parts.safe_zone,
        pictures: parts.pictures,
        warnings: parts.warnings,
    }
}

/// The case's row of `coxa run`'s summary (`case.json`).
pub fn summary(case: &Case, results: &[PointResult], geo: &PointGeometry, report: &CaseReport) -> crate::summary::CaseSummary {
    let primary = &results[0];
    crate::summary::CaseSummary {
        case: case.name.clone(),
        side: case.side,
        sweep_points: results.len(),
        min_adl_margin_deg: primary.rom.min_adl_margin_deg(),
        cup_radiographic_deg: report.placement.cup_angles.get("radiographic").copied(),
        head_diameter_mm: primary.choice.head_mm,
        shell_outer_diameter_mm: geo.model.construct().shell.outer_diameter_mm,
        leg_length_change_mm: primary.plan.as_ref().map(|p| p.record.leg_length_change_mm),
        lesions: report.lesions.as_ref().map(|l| l.lesions.len()),
        offset_change_mm: primary.plan.as_ref().map(|p| p.record.offset_change_mm),
        warnings: report.warnings.len(),
        radiomics: report.radiomics.as_ref().map(crate::radiomics::summary),
        pseudo_mri: report.pseudo_mri.as_ref().map(super::pseudo_mri::summary_line),
    }
}

/// Now, UTC, RFC 3339 to the second: the automatic plan's time on its report. Where
/// `SOURCE_DATE_EPOCH` is set (the reproducible-builds convention, seconds since 1970), that time
/// instead, so that a rerun can give the same bytes.
pub fn planned_utc() -> String {
    let fixed = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse::<i64>().ok()).and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    fixed.unwrap_or_else(chrono::Utc::now).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `radiographic` / `operative` / `anatomic`.
pub fn definition_name(d: CupAngleDefinition) -> &'static str {
    match d {
        CupAngleDefinition::Radiographic => "radiographic",
        CupAngleDefinition::Operative => "operative",
        CupAngleDefinition::Anatomic => "anatomic",
    }
}

/// The report's `input`: the kind of input and file names only.
fn input_json(input: &CaseInput) -> Value {
    // File names only: folder names may carry a patient's name.
    let name = |p: &PathBuf| p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
    match input {
        CaseInput::Ct { ct, labels } => json!({"kind": "ct", "ct": name(ct), "labels": labels.as_ref().map(name)}),
        CaseInput::Meshes(list) => json!({"kind": "meshes", "meshes": list.iter().map(|(n, p)| json!({"name": n, "file": name(p)})).collect::<Vec<_>>()}),
        CaseInput::Phantom => json!({"kind": "phantom"}),
        CaseInput::ShapePhantom { shape, .. } => json!({"kind": "shape_phantom", "shape": shape.name()}),
        CaseInput::ShapeSample(s) => json!({"kind": "shape_model_sample", "subject": s.index + 1, "seed": s.seed, "record": "input/shape_sample.json"}),
        // Written into the case's input/ under these names (crate::pipeline).
        CaseInput::Volume(v) => json!({"kind": "ct", "ct": InMemoryCt::CT_FILE, "labels": v.labels.as_ref().map(|_| InMemoryCt::LABELS_FILE)}),
        CaseInput::Pacs { study, .. } => json!({"kind": "pacs", "study": study}),
    }
}

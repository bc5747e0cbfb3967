//! Bone quality in `anatomy.json` and `plan.json`: the femurs' density (`bone_density`, with the
//! internal calibration and the cited normal ranges beside it, `coxa_diagnostics::density`) and
//! the fixation suggestion (`fixation`, `coxa_diagnostics::fixation`).

use coxa_core::anatomy_record::{AbmdReferenceRecord, BoneDensityRecord, CalibrationRecord, MeanSdRecord, NeckTotalRecord, NormalRangesRecord, ReferenceTissueRecord, RegionsRecord};
use coxa_core::plan_record::{FixationRecord, PlanRecord};
use coxa_core::{FemoralCanal, FemurLandmarks, LabelMap, Volume};
use coxa_diagnostics::density::{self, CalibrationSettings, FemurDensity, FemurDensitySettings, ReferencePopulation};
use coxa_diagnostics::fixation;
use nalgebra::{Point3, Vector3};

/// Rounds to `d` decimals.
fn rd(v: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (v * f).round() / f
}

/// The femurs' bone density, `None` for a femur not measured (its reason in `warnings`). The
/// calibration is sampled in the hip region: the box of the femoral heads grown by 120 mm.
pub fn femur_densities(ct: &Volume, map: &LabelMap, femurs: &[FemurLandmarks], warnings: &mut Vec<String>) -> (Option<density::Calibration>, Vec<FemurDensity>) {
    if femurs.is_empty() {
        return (None, Vec::new());
    }
    let mut lo = Vector3::repeat(f64::INFINITY);
    let mut hi = Vector3::repeat(f64::NEG_INFINITY);
    for f in femurs {
        lo = lo.inf(&f.head_centre.lps_mm.coords);
        hi = hi.sup(&f.head_centre.lps_mm.coords);
    }
    let grow = Vector3::repeat(120.0);
    let roi = (Point3::from(lo - grow), Point3::from(hi + grow));
    let cal = match density::internal_calibration(ct, Some(map), Some(roi), &CalibrationSettings::default()) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!("bone density: {e}"));
            return (None, Vec::new());
        }
    };
    let mut out = Vec::new();
    for f in femurs {
        let bone = coxa_core::Bone::femur(f.side);
        let name = bone.name();
        match density::femur_density(ct, map, bone.label_id(), f, &cal, &FemurDensitySettings::default()) {
            Ok(d) => {
                for flag in &d.flags {
                    warnings.push(format!("{name} bone density: {} ({})", flag_str(*flag), d.notes.first().map_or("", String::as_str)));
                }
                out.push(d);
            }
            Err(e) => warnings.push(format!("{name}: no bone density: {e}")),
        }
    }
    (Some(cal), out)
}

fn flag_str(f: density::DensityFlag) -> &'static str {
    match f {
        density::DensityFlag::Metal => "metal in the proximal femur: not measured",
        density::DensityFlag::Cut => "the scan cuts the femur",
    }
}

fn regions(r: &density::Regions, d: i32) -> RegionsRecord {
    let o = |v: Option<f64>| v.map(|x| rd(x, d));
    RegionsRecord { neck: o(r.neck), trochanter: o(r.trochanter), total_hip: o(r.total_hip) }
}

/// `anatomy.json`'s `bone_density`: one entry per femur (side, vbmd_mg_cm3, abmd_g_cm2, t_score,
/// yam_percent, category, flags, ...), each with the calibration and the cited normal ranges.
pub fn bone_density_records(cal: Option<&density::Calibration>, list: &[FemurDensity]) -> Vec<BoneDensityRecord> {
    let Some(cal) = cal else { return Vec::new() };
    let reference = ReferencePopulation::nhanes3();
    let calibration = CalibrationRecord {
        method: cal.method.clone(),
        slope_hu_per_mg_cm3: rd(cal.slope_hu_per_mg_cm3, 4),
        intercept_hu: rd(cal.intercept_hu, 2),
        references: cal
            .references
            .iter()
            .map(|r| ReferenceTissueRecord {
                tissue: r.name.clone(),
                median_hu: rd(r.hu, 1),
                iqr_hu: rd(r.iqr_hu, 1),
                voxels: r.n_voxels,
                source: r.source.clone(),
                equivalent_mg_cm3: r.equivalent_mg_cm3,
            })
            .collect(),
        equivalent_densities: "nominal (coxa's defaults: fat -100, muscle +50 mg/cm3 hydroxyapatite-equivalent); see coxa_diagnostics::density".into(),
    };
    let two_sd = |m: [f64; 2]| [rd(m[0] - 2.0 * m[1], 3), rd(m[0] + 2.0 * m[1], 3)];
    let normal = NormalRangesRecord {
        abmd_young_adult_g_cm2: AbmdReferenceRecord {
            neck: MeanSdRecord { mean: reference.neck_g_cm2[0], sd: reference.neck_g_cm2[1], mean_pm_2sd: two_sd(reference.neck_g_cm2) },
            total_hip: MeanSdRecord { mean: reference.total_hip_g_cm2[0], sd: reference.total_hip_g_cm2[1], mean_pm_2sd: two_sd(reference.total_hip_g_cm2) },
            source: reference.name.clone(),
        },
        t_score: "normal >= -1.0, osteopenia -1.0 to -2.5, osteoporosis <= -2.5 (WHO 1994, Kanis)".into(),
        yam_percent: "normal >= 80 %, low bone mass 70-80 %, osteoporosis <= 70 % (Japanese criteria, Soen et al. 2013)".into(),
        yam_reference: reference.yam_source.clone(),
        vbmd: "no cited normal range for integral hip vBMD is applied (the QCT thresholds of the ACR are for spinal trabecular bone)".into(),
    };
    list.iter()
        .map(|d| BoneDensityRecord {
            side: d.side,
            vbmd_mg_cm3: regions(&d.vbmd_mg_cm3, 1),
            abmd_g_cm2: regions(&d.abmd_g_cm2, 3),
            t_score: NeckTotalRecord { neck: d.t_score.neck.map(|v| rd(v, 2)), total_hip: d.t_score.total_hip.map(|v| rd(v, 2)) },
            yam_percent: NeckTotalRecord { neck: d.yam_percent.neck.map(|v| rd(v, 1)), total_hip: d.yam_percent.total_hip.map(|v| rd(v, 1)) },
            category: d.category.clone(),
            who_category: d.who_category.clone(),
            flags: d.flags.iter().map(crate::stem_report::serde_name).collect(),
            measured: d.abmd_g_cm2.neck.is_some() || d.abmd_g_cm2.total_hip.is_some(),
            area_cm2: regions(&d.area_cm2, 2),
            neck_box_centre_from_head_mm: d.neck_box_centre_mm.map(|v| rd(v, 1)),
            neck_width_mm: d.neck_width_mm.map(|v| rd(v, 1)),
            notes: d.notes.clone(),
            calibration: calibration.clone(),
            normal_ranges: normal.clone(),
        })
        .collect()
}

/// `fixation`: one suggestion per femur from its canal and density.
pub fn fixation_records(canals: &[FemoralCanal], densities: &[FemurDensity], sides: &[coxa_core::Side]) -> Vec<FixationRecord> {
    sides
        .iter()
        .map(|side| {
            let s = fixation::suggest(canals.iter().find(|c| c.side == *side), densities.iter().find(|d| d.side == *side));
            FixationRecord {
                side: *side,
                suggestion: s.suggestion.as_ref().map(crate::stem_report::serde_name),
                reasons: s.reasons,
                within: s.within,
                missing: s.missing,
                rule: s.rule,
                note: None,
                planned_series_fixation: None,
            }
        })
        .collect()
}

/// Adds the operated femur's fixation suggestion (from `anatomy.json`'s `fixation`) to
/// `plan.json`'s `stem.fixation`, with what the planner did with it: every stem series of the
/// built-in catalog is a cementless taper-wedge, so a cemented suggestion cannot change the
/// planned series; it is then a plan note telling the surgeon to choose a cemented stem.
pub fn add_fixation_to_plan(plan: &mut PlanRecord, fixation: &[FixationRecord], side: coxa_core::Side) {
    let Some(entry) = fixation.iter().find(|f| f.side == side).cloned() else { return };
    let cemented = entry.suggestion.as_deref() == Some("cemented");
    let note = if cemented {
        "the bone suggests a cemented stem, but the catalog holds only cementless taper-wedge stems: the size is planned for them; choose a cemented stem (or add one to the catalog) if the surgeon agrees"
    } else if entry.suggestion.is_none() {
        "no criterion was measured (no CT canal or density): the cementless stem is planned without a bone-quality check"
    } else {
        "the bone suits the planned cementless stem"
    };
    if cemented {
        plan.notes.push(format!("fixation: cemented suggested ({})", entry.reasons.join("; ")));
    }
    plan.stem.fixation = Some(FixationRecord { note: Some(note.to_string()), planned_series_fixation: Some("cementless".to_string()), ..entry });
}

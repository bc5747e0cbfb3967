//! The femoral canal and the stem's canal-fill sizing in coxa's outputs: `anatomy.json`'s
//! `femoral_canals`, `plan.json`'s `stem.sizing` and `stem.size_options` (issue 24; the report's
//! stem sizing table is coxa-report's).

use coxa_anatomy::landmarks::{CanalLevel, FemoralCanal};
use coxa_planner::Plan;

use coxa_core::anatomy_record::{CanalLevelRecord, CanalRecord};
use coxa_core::plan_record::{SeriesSizeRecord, StemRuleRecord, StemSizeOptionRecord, StemSizingRecord};

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn level_record(l: &CanalLevel) -> CanalLevelRecord {
    CanalLevelRecord {
        above_lesser_trochanter_mm: r2(l.above_lt_mm),
        centre_lps_mm: [r2(l.centre_lps_mm.x), r2(l.centre_lps_mm.y), r2(l.centre_lps_mm.z)],
        ml_canal_mm: r2(l.ml_canal_mm),
        ap_canal_mm: r2(l.ap_canal_mm),
        ml_outer_mm: r2(l.ml_outer_mm),
        ap_outer_mm: r2(l.ap_outer_mm),
        canal_hu: l.canal_hu.round(),
    }
}

/// `anatomy.json`'s entry for one femur's canal.
pub fn canal_record(c: &FemoralCanal) -> CanalRecord {
    CanalRecord {
        side: c.side,
        method: "endosteal edges on the CT (half way from the canal's HU to the cortex's peak), in the shaft frame: ML = medial perpendicular to the shaft axis, AP = shaft x ML".into(),
        lesser_trochanter: c.lesser_trochanter.as_ref().map(level_record),
        metaphysis_20mm_above_lt: c.metaphysis.as_ref().map(level_record),
        isthmus: c.isthmus.as_ref().map(level_record),
        isthmus_imaged: c.isthmus_imaged,
        dorr_level_100mm_below_lt: c.dorr_level.as_ref().map(level_record),
        canal_flare_index: c.canal_flare_index.map(r2),
        canal_calcar_ratio: c.canal_calcar_ratio.map(r2),
        cortical_index: c.cortical_index.map(r2),
        cortical_thickness_index: c.cortical_index.map(r2),
        calcar_isthmus_ratio: c.calcar_isthmus_ratio().map(r2),
        dorr_type: c.dorr_type,
        metal_levels_mm: c.metal_levels_mm.clone(),
        quality: c.quality,
        notes: c.notes.clone(),
        profile: c.profile.iter().map(level_record).collect(),
    }
}

/// `plan.json`'s `stem.sizing`: the canal used and the planned series' rule.
pub fn sizing_record(plan: &Plan) -> StemSizingRecord {
    let s = &plan.stem_sizing;
    let fam = s.family(&plan.placement.stem_family);
    StemSizingRecord {
        canal_source: serde_name(&s.canal.source),
        canal_ml_mm_by_height_above_lt: s.canal.levels.iter().map(|x| [r2(x[0]), r2(x[1])]).collect(),
        head_above_lesser_trochanter_mm: r2(s.canal.head_above_lt_mm),
        rule: fam.map(|f| StemRuleRecord {
            level_above_lt_mm: f.rule.level_above_lt_mm,
            fill_band: [f.rule.fill_min, f.rule.fill_max],
            distal_fill_max: f.rule.distal_fill_max,
            rule_level_imaged: f.rule_level_imaged,
            text: format!(
                "the largest size whose body fills {:.0}-{:.0} % of the ML canal {} (at most {:.0} %) and whose tip fits the canal down to it",
                100.0 * f.rule.fill_min,
                100.0 * f.rule.fill_max,
                coxa_planner::stem_fill::lt_level_words(f.rule.level_above_lt_mm),
                100.0 * f.rule.fill_max
            ),
        }),
        notes: s.canal.notes.iter().chain(fam.iter().flat_map(|f| f.notes.iter())).cloned().collect(),
        sizes_by_series: s.families.iter().map(|f| SeriesSizeRecord { series: f.family.clone(), size: f.size_options.iter().find(|o| o.chosen).map(|o| o.size.clone()) }).collect(),
    }
}

/// `plan.json`'s `stem.size_options`: the planned series' size down, planned and up.
pub fn size_options_record(plan: &Plan) -> Vec<StemSizeOptionRecord> {
    let Some(f) = plan.stem_sizing.family(&plan.placement.stem_family) else { return Vec::new() };
    f.size_options
        .iter()
        .map(|o| StemSizeOptionRecord {
            size: o.size.clone(),
            ml_width_mm: o.ml_width_mm,
            fill: o.fill.map(|x| (x * 1e4).round() / 1e4),
            max_distal_fill: o.max_distal_fill.map(|d| (d[0] * 1e4).round() / 1e4),
            max_distal_fill_above_lt_mm: o.max_distal_fill.map(|d| r2(d[1])),
            tip_above_lt_mm: r2(o.tip_above_lt_mm),
            tip_ml_width_mm: o.tip_ml_width_mm,
            tip_canal_mm: o.tip_canal_mm.map(r2),
            offset_mm: o.offset_mm,
            chosen: o.chosen,
            note: o.note.clone(),
        })
        .collect()
}

/// The name serde gives a unit variant (`measured`, `ct_cortical_bone`, ...).
pub(crate) fn serde_name<T: serde::Serialize>(t: &T) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

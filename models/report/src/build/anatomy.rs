//! The anatomy: femoral heads, native acetabula, femurs, bone quality (density and fixation),
//! the phantom's known geometry against what was measured, the muscles, radiomics and a learned
//! segmentation with its uncertainty.

use coxa_core::anatomy_record::{AnatomyRecord, RegionsRecord};
use coxa_core::report::{RadiomicsRecord, SegmentationRecord};
use coxa_core::{CaseReport, CupAngleDefinition, Side};
use serde_json::Value;

use super::fmt::{num, numf, numo, pt, pt3, serde_name};
use crate::document::{Block, Document, Table, Text};

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn heads_and_femurs(d: &mut Document, a: &AnatomyRecord) {
    d.push(Block::Heading { level: 2, text: "Anatomy".into() });
    let mut t = Table::with_header(["femoral head", "centre (LPS mm)", "radius", "quality"]);
    for fh in &a.femoral_heads {
        t.row([fh.side.as_str().to_string(), pt3(&fh.centre_lps_mm), format!("{} mm", numf(fh.radius_mm, 1)), serde_name(&fh.quality)]);
    }
    d.push(Block::Table(t));
    if let Some(p) = &a.pelvis {
        let mut t = Table::with_header(["native acetabulum", "definition", "inclination", "anteversion"]);
        for x in &p.native_acetabular_angles {
            t.row([x.side.as_str().to_string(), serde_name(&x.definition), format!("{}°", numf(x.inclination_deg, 1)), format!("{}°", numf(x.anteversion_deg, 1))]);
        }
        d.push(Block::Table(t));
    }
    dysplasia(d, a);
    for fm in &a.femurs {
        let anteversion = match (finite(fm.anteversion_deg), fm.anteversion_source.as_str()) {
            (Some(v), "predicted") => format!("{v:.1}° PREDICTED by the shape model (SD {}; condyles not imaged)", finite(fm.anteversion_sd_deg).map_or("?".into(), |s| format!("{s:.1}°"))),
            (Some(v), _) => format!("{v:.1}°"),
            (None, _) => "not measured (condyles not imaged)".into(),
        };
        let nsa = finite(fm.neck_shaft_angle_deg).map_or("not measured".into(), |v| format!("{v:.1}°"));
        d.push(Block::Paragraph(Text::plain(format!("Femur {}: neck-shaft angle {nsa}, anteversion {anteversion}.", fm.side.as_str()))));
    }
}

/// Each hip's dysplasia and osteoarthritis measures (issue 62), with what was not measured.
fn dysplasia(d: &mut Document, a: &AnatomyRecord) {
    let hips: Vec<_> = a.acetabula.iter().filter_map(|x| x.dysplasia.as_ref()).collect();
    if hips.is_empty() {
        return;
    }
    let deg = |v: Option<f64>| finite(v).map_or("–".into(), |v| format!("{v:.1}°"));
    let mut t =
        Table::with_header(["hip", "centre-edge (Wiberg)", "Sharp", "Tönnis", "extrusion index", "version cranial / central / caudal", "Crowe", "min. joint space", "OA grade"]).id("dysplasia");
    for h in &hips {
        t.row([
            h.side.as_str().to_string(),
            format!("{}{}", deg(h.lce_deg), h.coverage.map_or(String::new(), |c| format!(" ({})", serde_name(&c)))),
            deg(h.sharp_deg),
            deg(h.tonnis_deg),
            finite(h.extrusion_index_percent).map_or("–".into(), |v| format!("{v:.0}%")),
            format!("{} / {} / {}", deg(h.version_cranial_deg), deg(h.version_central_deg), deg(h.version_caudal_deg)),
            h.crowe.zip(h.crowe_subluxation_percent).map_or("–".into(), |(c, p)| format!("{c} ({p:.0}%)")),
            finite(h.min_joint_space_mm).map_or("–".into(), |v| format!("{v:.1} mm")),
            h.oa_grade.map_or("not graded".into(), |g| serde_name(&g)),
        ]);
    }
    d.push(Block::Table(t));
    let notes: Vec<String> = hips.iter().flat_map(|h| h.notes.iter().map(move |n| format!("{}: {n}", h.side.as_str()))).collect();
    d.push(Block::Note(Text::plain(format!(
        "Measured in 3D in the pelvic frame's coronal plane through the femoral head's centre, as an AP radiograph shows them, the version on axial sections half a head radius above the centre, at it and half below (centre-edge below 20° dysplastic, 20-25° borderline, above 40° over-covered: Wiberg 1939, Tannast et al. 2015; Tönnis above 10° dysplastic: Tönnis 1987; Crowe et al. 1979; joint space at most 2.0 mm osteoarthritis, 2.5 mm possible: Jacobsen et al. 2004, Croft et al. 1990). Bone surfaces of a CT read the joint space narrower than a radiograph by up to a voxel.{}",
        if notes.is_empty() { String::new() } else { format!(" {}.", notes.join("; ")) }
    ))));
}

/// Each femur's CT bone density beside its cited normal range, and the fixation suggestion with
/// its reasons. Nothing when the case had no CT.
fn bone_quality(d: &mut Document, a: &AnatomyRecord) {
    let density = a.bone_density.as_deref().unwrap_or_default();
    if density.is_empty() && a.fixation.is_empty() {
        return;
    }
    d.push(Block::Heading { level: 2, text: "Bone quality".into() });
    if !density.is_empty() {
        let mut t = Table::with_header(["femur", "vBMD neck / trochanter / total hip", "aBMD neck / total hip", "T-score neck / total hip", "YAM neck", "category", "flags"]).id("bone-density");
        let three = |r: &RegionsRecord, dg: usize| format!("{} / {} / {}", numo(r.neck, dg), numo(r.trochanter, dg), numo(r.total_hip, dg));
        for b in density {
            let category = [b.who_category.as_deref().map(|c| format!("WHO: {c}")), b.category.as_deref().map(|c| format!("Japanese: {c}"))].into_iter().flatten().collect::<Vec<_>>().join("; ");
            t.row([
                b.side.as_str().to_string(),
                format!("{} mg/cm³", three(&b.vbmd_mg_cm3, 1)),
                format!("{} / {} g/cm²", numo(b.abmd_g_cm2.neck, 3), numo(b.abmd_g_cm2.total_hip, 3)),
                format!("{} / {}", numo(b.t_score.neck, 1), numo(b.t_score.total_hip, 1)),
                finite(b.yam_percent.neck).map_or("–".into(), |v| format!("{v:.0}%")),
                category,
                b.flags.join(", "),
            ]);
        }
        d.push(Block::Table(t));
        if let Some(b) = density.first() {
            let refs = b.calibration.references.iter().map(|r| format!("{} {:.0} HU ({} voxels)", r.tissue, r.median_hu, r.voxels)).collect::<Vec<_>>().join(", ");
            let n = &b.normal_ranges.abmd_young_adult_g_cm2;
            d.push(Block::Note(Text::plain(format!(
                "No phantom: {} ({refs}; {:.3} HU per mg/cm³, intercept {:.1} HU). Young-adult aBMD ({}): neck {:.3} ± {:.3}, total hip {:.3} ± {:.3} g/cm². {}. {}.",
                b.calibration.method,
                b.calibration.slope_hu_per_mg_cm3,
                b.calibration.intercept_hu,
                n.source,
                n.neck.mean,
                n.neck.sd,
                n.total_hip.mean,
                n.total_hip.sd,
                b.normal_ranges.t_score,
                b.normal_ranges.yam_percent
            ))));
        }
        for b in density.iter().filter(|b| !b.notes.is_empty()) {
            d.push(Block::Note(Text::plain(format!("{} femur: {}", b.side.as_str(), b.notes.join("; ")))));
        }
    }
    for fx in &a.fixation {
        let mut t = Text::plain(format!("Fixation, {} femur: ", fx.side.as_str())).and_bold(fx.suggestion.as_deref().unwrap_or("not suggested (nothing measured)"));
        if !fx.reasons.is_empty() {
            t = t.and(format!("; for cemented: {}", fx.reasons.join(", ")));
        }
        if !fx.within.is_empty() {
            t = t.and(format!("; within the cementless range: {}", fx.within.join(", ")));
        }
        if !fx.missing.is_empty() {
            t = t.and(format!("; not measured: {}", fx.missing.join(", ")));
        }
        d.push(Block::Paragraph(t));
    }
    if let Some(fx) = a.fixation.first() {
        d.push(Block::Note(Text::plain(format!("Rule: {}", fx.rule))));
    }
}

/// The phantom's known geometry (its own record, `input/phantom_truth.json`) against what was
/// measured.
fn phantom(d: &mut Document, a: &AnatomyRecord, t: &Value) {
    if !t.is_object() {
        return;
    }
    d.push(Block::Heading { level: 3, text: "Phantom: measured against the known geometry".into() });
    if let Some(desc) = t["description"].as_str() {
        d.push(Block::Note(Text::plain(desc)));
    }
    let mut tab = Table::with_header(["quantity", "known", "measured"]).id("phantom");
    for side in [Side::Left, Side::Right] {
        let m = a.femoral_head(side);
        let s = side.as_str();
        // The built-in phantom gives one value for both sides, the realistic one a value per side.
        let per_side = |v: &Value| if v[s].is_null() { v.clone() } else { v[s].clone() };
        tab.row([format!("{s} head centre (mm)"), pt(&t["head_centres_lps_mm"][s]), m.map_or_else(|| "–".to_string(), |m| pt3(&m.centre_lps_mm))]);
        tab.row([format!("{s} head radius (mm)"), num(&per_side(&t["head_radius_mm"]), 2), numo(m.map(|m| m.radius_mm), 2)]);
        let n = a.pelvis.as_ref().and_then(|p| p.native_acetabular_angles.iter().find(|x| x.side == side && x.definition == CupAngleDefinition::Radiographic));
        let known = per_side(&t["acetabulum_radiographic_deg"]);
        tab.row([
            format!("{s} acetabulum, radiographic (deg)"),
            format!("{} / {}", num(&known["inclination"], 1), num(&known["anteversion"], 1)),
            format!("{} / {}", numo(n.map(|n| n.inclination_deg), 1), numo(n.map(|n| n.anteversion_deg), 1)),
        ]);
    }
    d.push(Block::Table(tab));
}

fn muscles(d: &mut Document, a: &AnatomyRecord) {
    let Some(ms) = a.muscles.as_ref().filter(|m| !m.is_empty()) else { return };
    d.push(Block::Heading { level: 2, text: "Muscles".into() });
    let mut t = Table::with_header(["muscle", "volume", "mean HU", "fat fraction"]);
    for m in ms {
        t.row([m.name.clone(), format!("{} cm³", numf(m.volume_cm3, 1)), numf(m.mean_hu, 0), finite(Some(m.fat_fraction)).map_or("–".into(), |f| format!("{:.1}%", 100.0 * f))]);
    }
    d.push(Block::Table(t));
    if let Some(asym) = &a.muscle_asymmetry {
        let mut t = Table::with_header(["left/right", "volume asymmetry", "fat fraction difference"]);
        for x in asym {
            t.row([x.muscle.clone(), format!("{} %", numf(x.volume_asymmetry_percent, 1)), format!("{} percentage points", numf(x.fat_fraction_difference_pp, 1))]);
        }
        d.push(Block::Table(t));
    }
}

fn radiomics(d: &mut Document, rad: &RadiomicsRecord) {
    d.push(Block::Heading { level: 2, text: "Radiomics".into() });
    d.push(Block::Note(Text::plain(format!("{} features per structure (pyradiomics' definitions) in ", rad.features)).and_code(rad.file.clone()).and(" in the case folder.")));
    let classes = rad.model.as_ref().map_or(&[][..], |m| &m.classes[..]);
    let mut t = Table::with_header(["structure".to_string(), "volume".to_string(), "mean HU".to_string()].into_iter().chain(classes.iter().map(|c| format!("P({c})"))));
    let opt = |v: Option<f64>, dg: usize| v.map_or("–".to_string(), |x| format!("{x:.dg$}"));
    for st in &rad.structures {
        t.row([st.name.clone(), format!("{} ml", opt(st.volume_ml, 1)), opt(st.mean_hu, 0)].into_iter().chain(st.probabilities.iter().map(|p| format!("{p:.3}"))));
    }
    d.push(Block::Table(t));
    if let Some(m) = &rad.model {
        let mut note = if m.test_model { Text::bold("TEST MODEL, NOT FOR CLINICAL USE.").and(" ") } else { Text::default() };
        note = note.and(format!("Model {} {}: {} It reads {}.", m.name, m.version, m.description, m.features.join(", ")));
        d.push(Block::Note(note));
    }
}

fn segmentation(d: &mut Document, seg: &SegmentationRecord) {
    d.push(Block::Heading { level: 2, text: "Learned segmentation and its uncertainty".into() });
    let mut note = if seg.test_model { Text::bold("TEST MODEL, NOT FOR CLINICAL USE.").and(" ") } else { Text::default() };
    note = note
        .and(format!("Model {} {} ({} members); labels in ", seg.model, seg.version, seg.members))
        .and_code(seg.labels_file.clone())
        .and(", per-voxel uncertainty (predictive entropy, nats) in ")
        .and_code(seg.uncertainty_file.clone())
        .and(format!(". {}.", seg.use_note));
    d.push(Block::Note(note));
    let opt = |v: Option<f64>, dg: usize| v.map_or("–".to_string(), |x| format!("{x:.dg$} nats"));
    let mut t = Table::with_header(["structure", "volume", "mean uncertainty", "members' disagreement", ""]);
    for st in &seg.structures {
        t.row([
            Text::plain(st.name.clone()),
            Text::plain(format!("{:.1} ml", st.volume_ml)),
            Text::plain(opt(st.mean_uncertainty_nats, 3)),
            Text::plain(opt(st.mean_disagreement_nats, 4)),
            if st.flagged { Text::bold("uncertain") } else { Text::default() },
        ]);
    }
    d.push(Block::Table(t));
    d.push(Block::Note(Text::plain(format!("A structure is {}.", seg.flag_rule))));
}

/// Appends the anatomy and what was measured on the CT.
pub fn push(d: &mut Document, r: &CaseReport) {
    let a = &r.anatomy;
    heads_and_femurs(d, a);
    bone_quality(d, a);
    phantom(d, a, r.phantom_truth.as_ref().unwrap_or(&Value::Null));
    muscles(d, a);
    if let Some(rad) = &r.radiomics {
        radiomics(d, rad);
    }
    if let Some(seg) = &r.segmentation {
        segmentation(d, seg);
    }
}

//! The abductors and the hip load before and after the plan: the model's bone geometry, the
//! abductors' lever, each activity's hip contact force, and the patient's muscle strength from
//! the CT.

use coxa_core::report::{MskGeometryRecord, MskRecord, MskStrengthRecord};

use super::fmt::{f, words};
use crate::document::{Block, Document, Table, Text};

fn geometry(d: &mut Document, g: Option<&MskGeometryRecord>) {
    match g {
        Some(g) if g.source == "bones" => {
            d.push(Block::Note(
                "Bone geometry: the model's pelvis and femurs registered onto the patient's bone surfaces (muscle attachments, wrap objects and hip centres carried with them).".into(),
            ));
            let mut t = Table::with_header(["model bone", "scale", "surface distance (RMS / largest)", "patient to template (RMS)"]);
            for b in &g.bones {
                t.row([b.body.clone(), format!("{:.3}", b.scale), format!("{:.2} / {:.2} mm", b.rms_mm, b.max_mm), format!("{:.2} mm", b.patient_to_template_rms_mm)]);
            }
            d.push(Block::Table(t));
        }
        _ => d.push(Block::Note("Bone geometry: the generic model scaled by landmarks (the femoral head distance).".into())),
    }
}

fn strength(d: &mut Document, s: &MskStrengthRecord) {
    d.push(Block::Heading { level: 3, text: "Muscle strength from the CT".into() });
    d.push(Block::Note(Text::plain(s.method.clone())));
    let mut t = Table::with_header(["native hip", "generic strength", "patient's strength"]);
    t.row(["maximum abduction moment".to_string(), format!("{:.1} N m", s.max_abduction_moment_nm[0]), format!("{:.1} N m", s.max_abduction_moment_nm[1])]);
    for e in &s.effect {
        let a = &e.activity;
        t.row([format!("hip contact force, {a}"), format!("{:.0} % BW", e.hcf_percent_bw[0]), format!("{:.0} % BW", e.hcf_percent_bw[1])]);
        t.row([
            format!("abductor force, {a}"),
            format!("{:.0} N ({:.1} % of maximum)", e.abductor_force_n[0], e.abductor_demand_percent[0]),
            format!("{:.0} N ({:.1} % of maximum)", e.abductor_force_n[1], e.abductor_demand_percent[1]),
        ]);
    }
    d.push(Block::Table(t));
    let mut l = Table::with_header(["model muscle", "CT class", "generic", "patient", "from"]);
    for x in &s.lines {
        l.row([x.muscle.clone(), x.ct_class.clone(), format!("{:.0} N", x.generic_n), format!("{:.0} N", x.personalised_n), words(&x.source)]);
    }
    d.push(Block::Table(l));
    d.push(Block::Note(Text::plain(format!("Generic strength kept (no CT class): {}.", s.no_ct_counterpart.join(", ")))));
}

/// Appends "Abductors and hip load".
pub fn push(d: &mut Document, mk: &MskRecord) {
    d.push(Block::Heading { level: 2, text: "Abductors and hip load".into() });
    d.push(Block::Note(Text::plain(format!(
        "{} ({}; body weight {} N). {}",
        mk.model.as_deref().unwrap_or("–"),
        mk.pelvis_scale.map_or("not scaled".into(), |s| format!("pelvis scaled by {s:.2}")),
        f(mk.body_weight_n, 0),
        mk.method
    ))));
    geometry(d, mk.geometry.as_ref());
    let mut t = Table::with_header(["", "native", "planned"]);
    let a = &mk.abductors;
    t.row(["abductor moment arm (force-weighted mean)".to_string(), format!("{} mm", f(a.native.mean_moment_arm_mm, 1)), format!("{} mm", f(a.planned.mean_moment_arm_mm, 1))]);
    t.row(["maximum abduction moment".to_string(), format!("{} N m", f(a.native.max_moment_nm, 1)), format!("{} N m", f(a.planned.max_moment_nm, 1))]);
    for x in &mk.activities {
        t.row([format!("hip contact force, {}", x.activity), format!("{} % BW", f(x.native.magnitude_percent_bw, 0)), format!("{} % BW", f(x.planned.magnitude_percent_bw, 0))]);
        t.row([
            format!("net hip abductor moment balanced, {}", x.activity),
            format!("{} N m/kg", f(x.native.net_hip_moment_n_m_per_kg[0], 2)),
            format!("{} N m/kg", f(x.planned.net_hip_moment_n_m_per_kg[0], 2)),
        ]);
    }
    d.push(Block::Table(t));
    d.push(Block::Note(
        Text::plain("Against in-vivo forces of three OrthoLoad patients the same static model overestimates the magnitude (gait2392: one-leg stance +3 to +50 % BW, walking +74 to +109 % BW; direction 6-18 deg): read the change between native and planned, not the absolute value. The walking force follows the net hip abductor moment it balances (about 20 % BW per 0.1 N m/kg); the quasi-static posture's estimate is about 0.8-0.9 N m/kg, above what gait analyses measure at the first peak (about 0.35-0.8): give the patient's measured moments with ")
            .and_code("walking_hip_moment")
            .and(" in ")
            .and_code("[msk]")
            .and("."),
    ));
    if let Some(s) = &mk.strength {
        strength(d, s);
    }
}

#[cfg(test)]
mod tests {
    use coxa_core::report::{AbductorRecord, MskChangeRecord, NativePlanned, StrengthEffectRecord, StrengthLineRecord};

    use super::*;

    /// The strength section names every model line and where its force comes from, in words.
    #[test]
    fn strength_from_the_ct_is_shown_generic_against_personalised() {
        let abd = AbductorRecord { max_moment_nm: 80.0, mean_moment_arm_mm: 50.0 };
        let line = |muscle: &str, source: &str| StrengthLineRecord { muscle: muscle.into(), ct_class: "gluteus_medius_left".into(), generic_n: 800.0, personalised_n: 600.0, source: source.into() };
        let mk = MskRecord {
            geometry: None,
            abductors: NativePlanned { native: abd, planned: abd },
            activities: Vec::new(),
            body_weight_n: 700.0,
            change: MskChangeRecord { cor_shift_model_pelvis_mm: [0.0; 3], leg_length_change_mm: 1.0, offset_change_mm: 2.0 },
            method: "static optimisation".into(),
            model: None,
            pelvis_scale: None,
            strength: Some(MskStrengthRecord {
                method: "lean volume".into(),
                specific_tension_n_per_cm2: 61.0,
                lines: vec![line("glut_med1_r", "volume"), line("glut_max1_l", "generic_times_side_ratio")],
                classes_not_measured: Vec::new(),
                no_ct_counterpart: vec!["psoas_r".into()],
                effect: vec![StrengthEffectRecord {
                    activity: "walking".into(),
                    hcf_percent_bw: [300.0, 320.0],
                    abductor_force_n: [900.0, 950.0],
                    abductor_demand_percent: [40.0, 52.5],
                    hcf_orthoload_percent_bw: None,
                }],
                max_abduction_moment_nm: [80.0, 70.0],
            }),
        };
        let mut d = Document::new("t");
        push(&mut d, &mk);
        let texts = d.texts();
        for want in ["Muscle strength from the CT", "glut_med1_r", "generic times side ratio", "950 N (52.5 % of maximum)", "Generic strength kept (no CT class): psoas_r."] {
            assert!(texts.iter().any(|t| t == want), "{want}: {texts:?}");
        }
        assert!(texts.iter().any(|t| t == "Bone geometry: the generic model scaled by landmarks (the femoral head distance)."));
    }
}

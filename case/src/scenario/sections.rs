//! A scenario's optional stages: `[msk]` (the musculoskeletal model: its model file, body
//! weight, activities, geometry), `[radiomics]` (parameters and model card), `[pseudo_mri]` and
//! `[lesions]`, checked; `[report]`; and the planner's options from `[plan]`.

use super::settings::{LesionsStage, PseudoMriStage, ReportSettings};
use super::{Checker, ScenarioError};
use crate::scenario_file::{ScenarioFile, parse_definition};
use coxa_planner::REFINE_STEP_DEG;
use toml::Spanned;

/// The planner's options from `[plan]` (its ranges were checked by the sweep's checks).
pub(super) fn plan_options(raw: &ScenarioFile) -> coxa_planner::PlanOptions {
    use coxa_core::Angle;
    let mut options = coxa_planner::PlanOptions::new();
    if let Some(r) = &raw.plan.cup_inclination_range_deg {
        let [a, b] = *r.get_ref();
        options = options.with_inclination(Angle::from_deg(a.0), Angle::from_deg(b.0));
    }
    if let Some(r) = &raw.plan.cup_anteversion_range_deg {
        let [a, b] = *r.get_ref();
        options = options.with_anteversion(Angle::from_deg(a.0), Angle::from_deg(b.0));
    }
    if let Some(g) = &raw.plan.grid_step_deg {
        let step = g.get_ref().0;
        options = options.with_grid_step(Angle::from_deg(step)).with_refine_step(Angle::from_deg(REFINE_STEP_DEG.min(step)));
    }
    options
}

/// `[msk]`, checked; none without the section.
pub(super) fn msk(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Option<crate::msk_stage::MskInput>, ScenarioError> {
    Ok(match &raw.msk {
        None => None,
        Some(m) => {
            let model = m.model.as_ref().map(|p| cx.resolve(p, "msk.model", true)).transpose()?;
            let bw = m.body_weight_n.get_ref().0;
            if !(100.0..=5000.0).contains(&bw) {
                return Err(cx.err(cx.at(m.body_weight_n.span()), Some("msk.body_weight_n"), format!("{bw} N is out of range 100..=5000 (a body weight in newtons: kg x 9.81)")));
            }
            let activities = match &m.activities {
                None => vec!["one-leg-stance".to_string(), "walking".to_string()],
                Some(a) => {
                    for x in a.get_ref() {
                        if !["one-leg-stance", "walking"].contains(&x.as_str()) {
                            return Err(cx.err(cx.at(a.span()), Some("msk.activities"), format!("unknown activity {x:?}: use one-leg-stance or walking")));
                        }
                    }
                    a.get_ref().clone()
                }
            };
            let bone_geometry = m.bone_geometry.as_ref().map(|p| cx.resolve(p, "msk.bone_geometry", true)).transpose()?;
            let geometry = match m.geometry.as_ref().map(|g| (g.get_ref().as_str(), g.span())) {
                None | Some(("landmarks", _)) => {
                    if let Some(b) = &m.bone_geometry {
                        return Err(cx.err(cx.at(b.span()), Some("msk.bone_geometry"), "is used only with geometry = \"bones\": add it, or remove bone_geometry".into()));
                    }
                    crate::msk_stage::MskGeometry::Landmarks
                }
                Some(("bones", span)) => {
                    let dir = match (bone_geometry, &model) {
                        (Some(d), _) => d,
                        (None, Some(p)) => p.parent().unwrap_or(cx.base.as_path()).join("Geometry"),
                        (None, None) => {
                            return Err(cx.err(
                                cx.at(span),
                                Some("msk.geometry"),
                                "\"bones\" needs the model's bone surfaces, which the built-in gait2392 lacks: add bone_geometry = \"DIR\" (OpenSim's Geometry folder: pelvis.vtp, femur_r.vtp, ...) or a model file with its Geometry folder beside it".into(),
                            ));
                        }
                    };
                    if !dir.is_dir() {
                        return Err(cx.err(
                            cx.at(span),
                            Some("msk.geometry"),
                            format!(
                                "\"bones\" needs the model's bone surfaces in {}, which is not a folder: add bone_geometry = \"DIR\" (OpenSim's Geometry folder: pelvis.vtp, femur_r.vtp, ...)",
                                dir.display()
                            ),
                        ));
                    }
                    crate::msk_stage::MskGeometry::Bones { bone_geometry: dir }
                }
                Some((other, span)) => return Err(cx.err(cx.at(span), Some("msk.geometry"), format!("unknown geometry {other:?}: use \"landmarks\" or \"bones\""))),
            };
            let walking_hip_moment = match &m.walking_hip_moment {
                None => None,
                Some(w) => {
                    let [a, e] = (*w.get_ref()).map(|x| x.0);
                    if !activities.iter().any(|x| x == "walking") {
                        return Err(cx.err(
                            cx.at(w.span()),
                            Some("msk.walking_hip_moment"),
                            "applies to walking, which is not among the activities: add \"walking\" or remove walking_hip_moment".into(),
                        ));
                    }
                    Some(coxa_msk::hcf::WalkingHipMoment::new(a, e).map_err(|why| cx.err(cx.at(w.span()), Some("msk.walking_hip_moment"), why.to_string()))?)
                }
            };
            Some(crate::msk_stage::MskInput { model, body_weight_n: bw, activities, geometry, walking_hip_moment })
        }
    })
}

/// `[pseudo_mri]`, checked, its model's card resolved (it must exist); `steps` and `seed` need a
/// model, and `steps` is at least 1. None without the section.
pub(super) fn pseudo_mri(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Option<PseudoMriStage>, ScenarioError> {
    let Some(p) = &raw.pseudo_mri else { return Ok(None) };
    let at = || cx.at(p.model.as_ref().map_or(0..0, Spanned::span));
    if p.model.is_none() && (p.steps.is_some() || p.seed.is_some()) {
        return Err(cx.err(None, Some("pseudo_mri"), "steps and seed are a learned model's: give its card as `model`, or leave them out".into()));
    }
    if p.steps == Some(0) {
        return Err(cx.err(at(), Some("pseudo_mri.steps"), "give 1 or more network calls per slice (1 for a one-pass generator)".into()));
    }
    if p.model.is_some() && (p.tr_ms.is_some() || p.te_ms.is_some()) {
        return Err(cx.err(at(), Some("pseudo_mri"), "tr_ms/te_ms: a learned model gives the contrast it was trained on (its card's output.tr_ms and te_ms); leave them out with `model`".into()));
    }
    let model = p.model.as_ref().map(|m| cx.resolve(m, "pseudo_mri.model", true)).transpose()?;
    Ok(Some(PseudoMriStage { tr_ms: p.tr_ms, te_ms: p.te_ms, model, steps: p.steps, seed: p.seed }))
}

/// `[lesions]`, checked, its model's card resolved (it must exist); `threshold` needs a model and
/// lies strictly between 0 and 1. None without the section.
pub(super) fn lesions(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Option<LesionsStage>, ScenarioError> {
    let Some(l) = &raw.lesions else { return Ok(None) };
    match (l.threshold, &l.model) {
        (Some(_), None) => return Err(cx.err(None, Some("lesions.threshold"), "a threshold is a learned model's: give its card as `model`, or leave it out".into())),
        (Some(t), Some(m)) if !(t > 0.0 && t < 1.0) => {
            return Err(cx.err(cx.at(m.span()), Some("lesions.threshold"), format!("{t}: give a lesion probability between 0 and 1 (exclusive), e.g. 0.5")));
        }
        _ => {}
    }
    let model = l.model.as_ref().map(|m| cx.resolve(m, "lesions.model", true)).transpose()?;
    Ok(Some(LesionsStage { model, threshold: l.threshold }))
}

/// `[report]`, its cup-angle definition checked (one of Murray's three).
pub(super) fn report(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<ReportSettings, ScenarioError> {
    let r = &raw.report;
    let cup_definition = match &r.cup_definition {
        None => None,
        Some(d) => Some(
            parse_definition(d.get_ref()).ok_or_else(|| cx.err(cx.at(d.span()), Some("report.cup_definition"), format!("{:?}: use radiographic, operative or anatomic (Murray 1993)", d.get_ref())))?,
        ),
    };
    Ok(ReportSettings { html: r.html, safe_zone_map: r.safe_zone_map, pictures: r.pictures, cup_definition })
}

/// `[radiomics]`, checked; none without the section.
pub(super) fn radiomics(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Option<crate::radiomics::RadiomicsStage>, ScenarioError> {
    Ok(match &raw.radiomics {
        None => None,
        Some(r) => {
            let params = r.params.as_ref().map(|p| cx.resolve(p, "radiomics.params", true)).transpose()?;
            let model = r.model.as_ref().map(|p| cx.resolve(p, "radiomics.model", true)).transpose()?;
            Some(crate::radiomics::RadiomicsStage::new(r, params.as_deref(), model).map_err(|(span, field, why)| cx.err(span.and_then(|s| cx.at(s)), Some(field), why))?)
        }
    })
}

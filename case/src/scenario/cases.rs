//! A scenario's cases: `[[cases]]` (each input checked: a CT, bone surfaces, a phantom, a PACS
//! study; its side, units and segmentation model), `cases_dir` (one case per folder) and
//! `cases_from_shape_model` (a virtual population).

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::{Case, CaseInput, CaseSegmentModel, Checker, ScenarioError, line_of};
use crate::scenario_file::{CaseSpec, ScenarioFile, parse_side};

/// Every case of the scenario, in order: `[[cases]]`, then `cases_dir`'s, then the population's.
pub(super) fn cases(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Vec<Case>, ScenarioError> {
    let mut cases: Vec<Case> = Vec::new();
    for (n, c) in raw.cases.iter().enumerate() {
        cases.push(one_case(cx, n, c, &cases)?);
    }
    if let Some(dir) = &raw.cases_dir {
        let full = cx.resolve(dir, "cases_dir", true)?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&full)
            .map_err(|e| cx.err(cx.at(dir.span()), Some("cases_dir"), format!("cannot list {} ({e})", full.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        entries.sort();
        for d in entries {
            let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if cases.iter().any(|k: &Case| k.name == name) {
                return Err(cx.err(cx.at(dir.span()), Some("cases_dir"), format!("case {name:?} is also listed in [[cases]]")));
            }
            cases.push(Case { input: case_from_folder(&d), side: coxa_core::Side::Right, name, mesh_units: None, model: None });
        }
    }
    if let Some(spec) = &raw.cases_from_shape_model {
        let population = crate::population::resolve(spec, &cx.base).map_err(|(span, field, message)| cx.err(span.and_then(|s| cx.at(s)), Some(field), message))?;
        for (name, sample) in population.subjects {
            if cases.iter().any(|k: &Case| k.name == name) {
                return Err(cx.err(cx.at(spec.pelvis_model.span()), Some("cases_from_shape_model"), format!("case {name:?} is also listed in [[cases]] or cases_dir")));
            }
            cases.push(Case { name, input: CaseInput::ShapeSample(Box::new(sample)), side: population.side, mesh_units: None, model: None });
        }
    }
    if cases.is_empty() {
        return Err(cx.err(None, Some("cases"), "no cases: add [[cases]] entries, cases_dir = \"folder\" or cases_from_shape_model = { ... }".into()));
    }

    Ok(cases)
}

/// `[[cases]]` entry `n`, checked against the cases before it.
fn one_case(cx: &Checker<'_>, n: usize, c: &CaseSpec, cases: &[Case]) -> Result<Case, ScenarioError> {
    let field = |f: &str| format!("cases[{n}].{f}");
    let name = c.name.get_ref().clone();
    if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) || name.starts_with('.') {
        return Err(cx.err(cx.at(c.name.span()), Some(&field("name")), format!("case name {name:?}: use letters, digits, '-', '_' and '.' (it names the case's folder)")));
    }
    if cases.iter().any(|k: &Case| k.name == name) {
        return Err(cx.err(cx.at(c.name.span()), Some(&field("name")), format!("case name {name:?} is used twice")));
    }
    let n_inputs = usize::from(c.ct.is_some()) + usize::from(c.meshes.is_some()) + usize::from(c.phantom == Some(true)) + usize::from(c.pacs.is_some());
    if n_inputs != 1 {
        return Err(cx.err(
            cx.at(c.name.span()),
            Some(&field("ct")),
            format!("case {name:?} needs exactly one input: ct = \"...\", meshes = {{ ... }}, phantom = true or pacs = {{ server, study }} (it has {n_inputs})"),
        ));
    }
    let input = case_input(cx, n, c)?;
    if c.phantom_shape.is_some() && c.phantom != Some(true) {
        return Err(cx.err(cx.at(c.name.span()), Some(&field("phantom_shape")), "phantom_shape chooses the shape of a phantom: give it with phantom = true".into()));
    }
    if c.labels.is_some() && c.ct.is_none() {
        return Err(cx.err(cx.at(c.name.span()), Some(&field("labels")), "labels need a ct".into()));
    }
    let side = match &c.side {
        None => coxa_core::Side::Right,
        Some(s) => parse_side(s.get_ref()).ok_or_else(|| cx.err(cx.at(s.span()), Some(&field("side")), format!("side {:?}: use \"left\" or \"right\"", s.get_ref())))?,
    };
    let mesh_units = match &c.mesh_units {
        None => None,
        Some(_) if c.meshes.is_none() => {
            return Err(cx.err(cx.at(c.name.span()), Some(&field("mesh_units")), "mesh_units applies to bone surfaces (meshes = { ... }); a CT carries its own spacing: remove it".into()));
        }
        Some(u) => Some(
            coxa_anatomy::bone_check::LengthUnit::parse(u.get_ref())
                .ok_or_else(|| cx.err(cx.at(u.span()), Some(&field("mesh_units")), format!("{:?}: use \"mm\", \"cm\", \"m\" or \"in\"", u.get_ref())))?,
        ),
    };
    let model = case_model(cx, n, c)?;
    Ok(Case { name, input, side, mesh_units, model })
}

/// The input of `[[cases]]` entry `n` (exactly one is given, checked before).
fn case_input(cx: &Checker<'_>, n: usize, c: &CaseSpec) -> Result<CaseInput, ScenarioError> {
    let field = |f: &str| format!("cases[{n}].{f}");
    Ok(if let Some(pacs) = &c.pacs {
        if let Err(e) = coxa_pacs::Address::parse(pacs.server.get_ref()) {
            return Err(cx.err(cx.at(pacs.server.span()), Some(&field("pacs.server")), e.to_string()));
        }
        let study = pacs.study.get_ref().trim();
        if study.is_empty() || study.len() > 64 || !study.chars().all(|ch| ch.is_ascii_digit() || ch == '.') {
            return Err(cx.err(cx.at(pacs.study.span()), Some(&field("pacs.study")), format!("{study:?} is not a StudyInstanceUID (digits and dots, at most 64)")));
        }
        CaseInput::Pacs { server: pacs.server.get_ref().clone(), study: study.to_string() }
    } else if let Some(ct) = &c.ct {
        CaseInput::Ct { ct: cx.resolve(ct, &field("ct"), true)?, labels: c.labels.as_ref().map(|l| cx.resolve(l, &field("labels"), true)).transpose()? }
    } else if let Some(m) = &c.meshes {
        let mut list = Vec::new();
        for (k, p) in m {
            if !["hip_left", "hip_right", "femur_left", "femur_right", "sacrum"].contains(&k.as_str()) {
                return Err(cx.err(cx.at(p.span()), Some(&field(&format!("meshes.{k}"))), format!("unknown structure {k:?}: use hip_left, hip_right, femur_left, femur_right or sacrum")));
            }
            list.push((k.clone(), cx.resolve(p, &field(&format!("meshes.{k}")), true)?));
        }
        CaseInput::Meshes(list)
    } else if let Some(shape) = &c.phantom_shape {
        let parsed = crate::shape_phantom::PhantomShape::parse(shape.get_ref()).map_err(|e| cx.err(cx.at(shape.span()), Some(&field("phantom_shape")), e))?;
        let model = match crate::shape_predict::model_dir() {
            Ok(Some(dir)) => dir,
            Ok(None) => {
                return Err(cx.err(
                    cx.at(shape.span()),
                    Some(&field("phantom_shape")),
                    "the realistic phantom needs the LLP26 shape model (coxa's models/shape/llp26, or an installed musculoskeletal-models 0.2.4; remove phantom_shape for the built-in phantom)".into(),
                ));
            }
            Err(e) => return Err(cx.err(cx.at(shape.span()), Some(&field("phantom_shape")), e)),
        };
        CaseInput::ShapePhantom { model, shape: parsed }
    } else {
        CaseInput::Phantom
    })
}

/// The learned segmentation model of `[[cases]]` entry `n`, checked (its card read).
fn case_model(cx: &Checker<'_>, n: usize, c: &CaseSpec) -> Result<Option<CaseSegmentModel>, ScenarioError> {
    let field = |f: &str| format!("cases[{n}].{f}");
    Ok(match (&c.model, &c.model_use) {
        (None, Some(u)) => return Err(cx.err(cx.at(u.span()), Some(&field("model_use")), "model_use needs a model = \"CARD.toml\"".into())),
        (None, None) => None,
        (Some(card), _) if c.ct.is_none() && c.phantom != Some(true) => {
            return Err(cx.err(cx.at(card.span()), Some(&field("model")), "a model segments a CT: give it with ct = \"...\" or phantom = true".into()));
        }
        (Some(card), _) if c.labels.is_some() => {
            return Err(cx.err(cx.at(card.span()), Some(&field("model")), "give either labels or a model, not both (the model makes the label map)".into()));
        }
        (Some(card), u) => {
            let muscles_only = match u.as_ref().map(|u| u.get_ref().as_str()) {
                None | Some("all") => false,
                Some("muscles") => true,
                Some(other) => return Err(cx.err(u.as_ref().map(|u| line_of(cx.text, u.span().start)), Some(&field("model_use")), format!("{other:?}: use \"all\" or \"muscles\""))),
            };
            let card = cx.resolve(card, &field("model"), true)?;
            coxa_infer::ModelCard::read(&card).map_err(|e| cx.err(cx.at(c.model.as_ref().map_or(0..0, Spanned::span)), Some(&field("model")), e.to_string()))?;
            Some(CaseSegmentModel { card, muscles_only })
        }
    })
}

/// A case folder: `ct.nii.gz` / `ct.nii` / `ct/` (+ `labels.nii.gz`), else `<structure>.stl`.
fn case_from_folder(d: &Path) -> CaseInput {
    for ct in ["ct.nii.gz", "ct.nii", "ct"] {
        let p = d.join(ct);
        if p.exists() {
            let labels = d.join("labels.nii.gz");
            return CaseInput::Ct { ct: p, labels: labels.exists().then_some(labels) };
        }
    }
    let meshes: Vec<(String, PathBuf)> =
        ["hip_left", "hip_right", "femur_left", "femur_right", "sacrum"].iter().map(|n| (n.to_string(), d.join(format!("{n}.stl")))).filter(|(_, p)| p.exists()).collect();
    // No input at all is reported when the case runs (the other cases still run).
    CaseInput::Meshes(meshes)
}

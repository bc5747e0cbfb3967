//! `[[designs]]`: implant designs compared in one run. Each design names its own catalog folder
//! (parametric series, stem sizes with their own STL) and, with fixed angles, an engineer's own
//! cup or stem; every case runs with each design, the designs the outermost sweep axis, so a
//! design's rows in the cohort tables (`long.csv`, `designs.csv`) carry its name.
//!
//! A design's catalog is loaded and checked here, when the scenario is read: a series whose
//! sizes overlap, or a stem size whose STL does not fit its numbers, stops the run before any
//! case starts.

use std::path::PathBuf;

use coxa_implants::Catalog;

use super::{Checker, ScenarioError};
use crate::scenario_file::ScenarioFile;

/// One design of a comparison, checked.
#[derive(Debug, Clone)]
pub struct Design {
    /// Its name (unique in the scenario).
    pub name: String,
    /// Its catalog folder (None: the built-in catalog).
    pub catalog_dir: Option<PathBuf>,
    /// Its catalog, loaded.
    pub catalog: Catalog,
    /// An engineer's own cup (frame file).
    pub user_cup: Option<PathBuf>,
    /// An engineer's own stem (frame file).
    pub user_stem: Option<PathBuf>,
}

/// The designs of `raw`, in order (empty when it has none).
pub(super) fn designs(cx: &Checker<'_>, raw: &ScenarioFile) -> Result<Vec<Design>, ScenarioError> {
    let Some(first) = raw.designs.first() else { return Ok(Vec::new()) };
    let im = &raw.implants;
    for (field, span) in
        [("implants.catalog", im.catalog.as_ref().map(|c| c.span())), ("implants.user_cup", im.user_cup.as_ref().map(|c| c.span())), ("implants.user_stem", im.user_stem.as_ref().map(|c| c.span()))]
    {
        if let Some(span) = span {
            return Err(cx.err(
                cx.at(span),
                Some(field),
                "with [[designs]], each design names its own catalog and parts: move this into the designs (a design without `catalog` uses the built-in one)".into(),
            ));
        }
    }
    let mut out: Vec<Design> = Vec::new();
    for (i, d) in raw.designs.iter().enumerate() {
        let field = |f: &str| format!("designs[{i}].{f}");
        let name = d.name.get_ref();
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) || name.starts_with('.') {
            return Err(cx.err(cx.at(d.name.span()), Some(&field("name")), format!("design name {name:?}: use letters, digits, '-', '_' and '.' (it labels the design's sweep points and files)")));
        }
        if out.iter().any(|o| o.name == *name) {
            return Err(cx.err(cx.at(d.name.span()), Some(&field("name")), format!("design {name:?} is named twice; give each design its own name")));
        }
        if raw.placement.is_none()
            && let Some(part) = d.user_cup.as_ref().or(d.user_stem.as_ref())
        {
            return Err(cx.err(
                cx.at(part.span()),
                Some(&field(if d.user_cup.is_some() { "user_cup" } else { "user_stem" })),
                "the planner sizes and places catalog series when there is no [placement]: give the design a catalog folder whose stem sizes name their STL (`frame`), or add [placement] to run this part at fixed angles".into(),
            ));
        }
        let catalog_dir = d.catalog.as_ref().map(|c| cx.resolve(c, &field("catalog"), true)).transpose()?;
        let catalog = match &catalog_dir {
            Some(dir) => Catalog::load_dir(dir),
            None => Catalog::builtin(),
        }
        .map_err(|e| cx.err(d.catalog.as_ref().and_then(|c| cx.at(c.span())), Some(&field("catalog")), e.to_string()))?;
        let user_cup = d.user_cup.as_ref().map(|c| cx.resolve(c, &field("user_cup"), true)).transpose()?;
        let user_stem = d.user_stem.as_ref().map(|c| cx.resolve(c, &field("user_stem"), true)).transpose()?;
        out.push(Design { name: name.clone(), catalog_dir, catalog, user_cup, user_stem });
    }
    debug_assert_eq!(out.first().map(|d| d.name.as_str()), Some(first.name.get_ref().as_str()));
    Ok(out)
}

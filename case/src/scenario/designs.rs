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
    if raw.designs.is_empty() {
        return Ok(Vec::new());
    }
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    const CASE: &str = "schema_version = 1\n[[cases]]\nname = \"demo\"\nphantom = true\n";

    fn load(text: &str, dir: &std::path::Path) -> Result<Scenario, crate::scenario::ScenarioError> {
        let p = dir.join("s.toml");
        std::fs::write(&p, text).unwrap();
        Scenario::load(&p)
    }

    /// Designs are the outermost sweep axis, their names the labels' first part; the first
    /// design's catalog is the scenario's.
    #[test]
    fn designs_sweep_outermost_and_name_their_points() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mine")).unwrap();
        std::fs::write(dir.path().join("mine/stems.toml"), include_str!("../../../models/implants/catalog/stems.toml")).unwrap();
        let text = format!("{CASE}[[designs]]\nname = \"mine\"\ncatalog = \"mine\"\n[[designs]]\nname = \"builtin\"\n[rom]\nstanding_tilt_deg = [0, 10]\n");
        let s = load(&text, dir.path()).unwrap();
        let labels: Vec<String> = s.sweep.iter().map(crate::scenario::SweepPoint::label).collect();
        assert_eq!(labels, ["mine_tilt0", "mine_tilt10", "builtin_tilt0", "builtin_tilt10"]);
        assert_eq!(s.catalog.as_deref(), Some(dir.path().join("mine").as_path()));
        assert_eq!((s.designs[0].catalog.stems.len(), s.designs[0].catalog.shells.len()), (3, 0));
        assert_eq!(s.designs[1].catalog, coxa_implants::Catalog::builtin().unwrap());
    }

    #[test]
    fn bad_designs_are_refused_with_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let err = |extra: &str| load(&format!("{CASE}{extra}"), dir.path()).unwrap_err().to_string();
        let e = err("[[designs]]\nname = \"a\"\n[[designs]]\nname = \"a\"\n");
        assert!(e.contains("designs[1].name") && e.contains("twice"), "{e}");
        let e = err("[[designs]]\nname = \"a b\"\n");
        assert!(e.contains("designs[0].name"), "{e}");
        let e = err("[implants]\ncatalog = \".\"\n[[designs]]\nname = \"a\"\n");
        assert!(e.contains("implants.catalog") && e.contains("each design"), "{e}");
        let e = err("[[designs]]\nname = \"a\"\ncatalog = \"nowhere\"\n");
        assert!(e.contains("designs[0].catalog") && e.contains("does not exist"), "{e}");
        std::fs::write(dir.path().join("stem.toml"), "x").unwrap();
        let e = err("[[designs]]\nname = \"a\"\nuser_stem = \"stem.toml\"\n");
        assert!(e.contains("designs[0].user_stem") && e.contains("[placement]"), "{e}");
        std::fs::create_dir(dir.path().join("bad")).unwrap();
        std::fs::write(dir.path().join("bad/stems.toml"), include_str!("../../../models/implants/catalog/stems.toml").replacen("ml_width_mm = 12.25", "ml_width_mm = 11.0", 1)).unwrap();
        let e = err("[[designs]]\nname = \"a\"\ncatalog = \"bad\"\n");
        assert!(e.contains("designs[0].catalog") && e.contains("stems.toml") && e.contains("overlap"), "{e}");
    }
}

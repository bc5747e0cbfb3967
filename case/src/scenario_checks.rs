//! Scenario fields that contradict each other or would be silently ignored (issue 16).
//!
//! A scenario is a contract: every field a user writes must change what runs. These checks run
//! after parsing and refuse, with the field's line and the fix:
//! - `[plan]` ranges together with `[placement]` (fixed angles leave nothing to optimise, so the
//!   ranges would be ignored);
//! - `implants.stem_size`, `implants.head_offset_mm`, `implants.user_cup` and
//!   `implants.user_stem` without `[placement]` (the planner chooses the stem and the neck and
//!   plans with the catalog's parts, so these would be ignored);
//! - `report.show_phi = true` (run outputs never carry the patient's identity);
//! - a `*_range_deg` that is not exactly two numbers (`[30, 40, 50]` was read as `[30, 40]`;
//!   refused while parsing, by [`range_of_two`] in the schema).

use std::ops::Range;

use toml::Spanned;

use crate::scenario_file::ScenarioFile;
pub use crate::scenario_file::range_of_two;

/// Most sweep points per case a scenario may declare (the product of its lists).
pub const MAX_SWEEP_POINTS: u128 = 1_000_000;

/// A contradiction: where it is (byte span), the field, and what to do.
pub type Contradiction = (Option<Range<usize>>, &'static str, String);

/// The first contradiction or ignored field of `raw`, if any.
///
/// # Errors
/// The contradiction, for the caller to turn into a [`crate::scenario::ScenarioError`].
pub fn contradictions(raw: &ScenarioFile) -> Result<(), Contradiction> {
    let plan_fields = [
        ("plan.cup_inclination_range_deg", raw.plan.cup_inclination_range_deg.as_ref().map(Spanned::span)),
        ("plan.cup_anteversion_range_deg", raw.plan.cup_anteversion_range_deg.as_ref().map(Spanned::span)),
        ("plan.grid_step_deg", raw.plan.grid_step_deg.as_ref().map(Spanned::span)),
    ];
    if raw.placement.is_some() {
        if let Some((field, span)) = plan_fields.iter().find(|(_, s)| s.is_some()) {
            return Err((
                span.clone(),
                field,
                "[plan] sets the optimiser's ranges, but [placement] fixes the angles, so [plan] would be ignored: remove [placement] to let coxa plan within the ranges, or remove [plan] to run the fixed angles".into(),
            ));
        }
    } else {
        let im = &raw.implants;
        let ignored = [
            ("implants.stem_size", im.stem_size.as_ref().map(Spanned::span), "the planner chooses the stem size"),
            ("implants.head_offset_mm", im.head_offset_mm.as_ref().map(Spanned::span), "the planner chooses the neck length (head offset)"),
            ("implants.user_cup", im.user_cup.as_ref().map(Spanned::span), "the planner plans with the catalog's cups"),
            ("implants.user_stem", im.user_stem.as_ref().map(Spanned::span), "the planner plans with the catalog's stems"),
        ];
        if let Some((field, span, why)) = ignored.into_iter().find(|(_, s, _)| s.is_some()) {
            return Err((span, field, format!("{why} when there is no [placement], so this field would be ignored: add [placement] with fixed cup angles to run it, or remove the field")));
        }
    }
    // The sweep is the product of every list: counted before it is built.
    let len = |n: Option<usize>| n.unwrap_or(1).max(1) as u128;
    let im = &raw.implants;
    let mut points = len(im.head_diameter_mm.as_ref().map(|s| s.get_ref().0.len()))
        * len(im.head_offset_mm.as_ref().map(|s| s.get_ref().0.len()))
        * len(im.liner.as_ref().map(|s| s.get_ref().0.len()))
        * len(im.stem_size.as_ref().map(|s| s.get_ref().0.len()))
        * len(raw.rom.standing_tilt_deg.as_ref().map(|s| s.get_ref().0.len()))
        * len(Some(raw.designs.len()));
    if let Some(p) = &raw.placement {
        points *= len(Some(p.cup_inclination_deg.get_ref().0.len())) * len(Some(p.cup_anteversion_deg.get_ref().0.len())) * len(p.stem_anteversion_deg.as_ref().map(|s| s.get_ref().0.len()));
    }
    if points > MAX_SWEEP_POINTS {
        return Err((
            None,
            "implants",
            format!("the lists make a sweep of {points} points per case (every combination), more than coxa runs ({MAX_SWEEP_POINTS}): shorten the lists or split the scenario"),
        ));
    }
    if raw.report.show_phi {
        return Err((
            None,
            "report.show_phi",
            "run outputs (reports, summaries, logs) never carry the patient's identity, so show_phi = true cannot be honoured: remove it (`coxa inspect --show-phi` shows the identity of a CT)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    fn load(text: &str) -> Result<Scenario, crate::scenario::ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, text).unwrap();
        Scenario::load(&p)
    }

    const OK: &str = "schema_version = 1\n[[cases]]\nname = \"demo\"\nphantom = true\n";

    /// Issue 16: `cup_inclination_range_deg = [30, 40, 50]` was read as [30, 40].
    #[test]
    fn issue_16_range_of_three_is_refused_with_its_line() {
        let e = load(&format!("{OK}[plan]\ncup_inclination_range_deg = [30, 40, 50]\n")).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("plan.cup_inclination_range_deg")), "{e}");
        assert!(e.message.contains("exactly two numbers") && e.message.contains("3 were given"), "{e}");
        let e = load(&format!("{OK}[plan]\ncup_anteversion_range_deg = [30]\n")).unwrap_err();
        assert!(e.message.contains("1 was given"), "{e}");
        let s = load(&format!("{OK}[plan]\ncup_inclination_range_deg = [30, 50]\n")).unwrap();
        assert_eq!(s.plan_options, coxa_planner::PlanOptions::new().with_inclination(coxa_core::Angle::from_deg(30.0), coxa_core::Angle::from_deg(50.0)));
        let e = load(&format!("{OK}[plan]\ncup_inclination_range_deg = [30, nan]\n")).unwrap_err();
        assert!(e.message.contains("finite"), "{e}");
    }

    /// Issue 41: the report's cup-angle definition is one of Murray's three, named on its line;
    /// `[plan]`'s ranges reach the planner's options.
    #[test]
    fn report_cup_definition_is_checked_and_plan_ranges_reach_the_planner() {
        let e = load(&format!("{OK}[report]\ncup_definition = \"surgical\"\n")).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("report.cup_definition")), "{e}");
        assert!(e.message.contains("radiographic, operative or anatomic"), "{e}");
        let s = load(&format!("{OK}[report]\ncup_definition = \"Anatomic\"\npictures = false\n")).unwrap();
        assert_eq!(s.report, crate::scenario::ReportSettings { pictures: false, cup_definition: Some(coxa_core::CupAngleDefinition::Anatomic), ..Default::default() });
        let s = load(&format!("{OK}[plan]\ncup_inclination_range_deg = [35, 45]\n")).unwrap();
        let want = coxa_planner::PlanOptions::new().with_inclination(coxa_core::Angle::from_deg(35.0), coxa_core::Angle::from_deg(45.0));
        assert_eq!(s.plan_options, want);
    }

    /// `[plan] grid_step_deg` is `coxa plan --grid-step-deg`: its range, its line, and the
    /// planner's grid and refinement steps.
    #[test]
    fn plan_grid_step_is_checked_and_reaches_the_planner() {
        let s = load(&format!("{OK}[plan]\ngrid_step_deg = 10\n")).unwrap();
        let deg = coxa_core::Angle::from_deg;
        assert_eq!(s.plan_options, coxa_planner::PlanOptions::new().with_grid_step(deg(10.0)).with_refine_step(deg(0.25)));
        let s = load(&format!("{OK}[plan]\ngrid_step_deg = 0.5\n")).unwrap();
        assert_eq!(s.plan_options, coxa_planner::PlanOptions::new().with_grid_step(deg(0.5)).with_refine_step(deg(0.25)));
        for bad in ["0.4", "25", "-1"] {
            let e = load(&format!("{OK}[plan]\ngrid_step_deg = {bad}\n")).unwrap_err();
            assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("plan.grid_step_deg")), "{e}");
            assert!(e.message.contains("out of range 0.5..=20"), "{e}");
        }
        let e = load(&format!("{OK}[plan]\ngrid_step_deg = nan\n")).unwrap_err();
        assert!(e.message.contains("finite"), "{e}");
        let e = load(&format!("{OK}[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n[plan]\ngrid_step_deg = 5\n")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("plan.grid_step_deg"), "{e}");
    }

    /// Issue 16: `[placement]` with `[plan]` silently ignored `[plan]`.
    #[test]
    fn issue_16_placement_with_plan_is_refused() {
        let e = load(&format!("{OK}[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n[plan]\ncup_anteversion_range_deg = [5, 30]\n")).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(9), Some("plan.cup_anteversion_range_deg")), "{e}");
        assert!(e.message.contains("[placement] fixes the angles") && e.message.contains("remove"), "{e}");
    }

    #[test]
    fn fields_the_planner_ignores_are_refused() {
        for (field, text) in [("implants.stem_size", "stem_size = \"2\""), ("implants.head_offset_mm", "head_offset_mm = 4"), ("implants.user_cup", "user_cup = \"s.toml\"")] {
            let e = load(&format!("{OK}[implants]\n{text}\n")).unwrap_err();
            assert_eq!((e.line, e.field.as_deref()), (Some(6), Some(field)), "{e}");
            assert!(e.message.contains("would be ignored") && e.message.contains("[placement]"), "{e}");
        }
        // With [placement] they are used.
        load(&format!("{OK}[implants]\nstem_size = \"2\"\nhead_offset_mm = 4\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n")).unwrap();
        let list = (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let e = load(&format!("{OK}[implants]\nhead_offset_mm = [0]\n[placement]\ncup_inclination_deg = [{list}]\ncup_anteversion_deg = [{list}]\nstem_anteversion_deg = [{list}]\n")).unwrap_err();
        assert!(e.message.contains("8000000 points"), "{e}");
        let e = load(&format!("{OK}[report]\nshow_phi = true\n")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("report.show_phi"), "{e}");
    }
}

#[cfg(test)]
#[path = "../../tests/fuzz/engine.rs"]
mod fuzz_engine;

/// The scenario-file fuzz target (issue 16; the engine and the other readers' targets are in
/// `tests/fuzz/`).
#[cfg(test)]
mod fuzz {
    use std::path::Path;

    use super::fuzz_engine::{Target, budget, check, corpus, fuzz, quiet_panics};

    #[test]
    fn fuzz_scenario_toml() {
        quiet_panics();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seeds: Vec<Vec<u8>> = ["engineer", "researcher", "surgeon"].iter().map(|n| std::fs::read(root.join(format!("../scenarios/examples/{n}.toml"))).unwrap()).collect();
        seeds.push(
            b"schema_version = 1\nname = \"all\"\n[[cases]]\nname = \"p\"\nphantom = true\nside = \"left\"\n[[cases]]\nname = \"m\"\nmeshes = { hip_right = \"h.stl\" }\nmesh_units = \"cm\"\n[implants]\nhead_diameter_mm = [28, 32]\nhead_offset_mm = [0, 3.5]\nliner = [\"hemispherical\", \"elevated_rim\"]\nstem_size = \"3\"\n[placement]\ncup_inclination_deg = [40, 45]\ncup_anteversion_deg = 20\ncup_definition = \"operative\"\nstem_anteversion_deg = 15\n[rom]\nmotions = [\"flexion\"]\nstanding_tilt_deg = [0, 5]\nsitting_extra_tilt_deg = 20\n[report]\nhtml = false\nsafe_zone_map = false\n[msk]\nmodel = \"m.osim\"\nbody_weight_n = 700\n"
                .to_vec(),
        );
        let run = |p: &Path| -> Result<(), String> {
            let text = std::fs::read(p).map_err(|e| e.to_string())?;
            let text = String::from_utf8(text).map_err(|e| e.to_string())?;
            crate::scenario::Scenario::from_text(text, p)
                .map(|s| {
                    let _ = crate::estimate::Estimate::of(&s, 2).line();
                })
                .map_err(|e| e.to_string())
        };
        let corpus = corpus(&root.join("../tests/corpus/fuzz/scenario_toml"));
        let report = fuzz(&Target { name: "scenario_toml", ext: ".toml", text: true, seeds, run: &run }, &corpus, budget(8.0), 13, &root.join("../target/fuzz-crashes"));
        check(&report);
    }
}

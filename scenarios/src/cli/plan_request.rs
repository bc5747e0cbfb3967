//! `coxa plan` from its typed request ([`coxa_core::PlanRequest`], `request.json`): the planner's
//! options, the case and the one-case scenario the request gives, and the run into a new case
//! folder. [`super::plan`] turns the flags into the request; the planning desk's Save runs a
//! case's request again with the surgeon's choices fixed (`crate::revision`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};

use super::rom::{finite, plan_value};
use coxa_case::memo::AnatomyMemo;
use coxa_case::scenario::{Case, CaseInput, InMemoryCt, OneCaseSettings, ReportSettings, Scenario};
use coxa_core::plan_ranges::PlanValue;
use coxa_core::{Angle, PlanRecord, PlanRequest, PostureTilts, Side};
use coxa_implants::Catalog;
use coxa_io::mesh::MeshFormat;
use coxa_planner::{FixedChoices, GRID_STEP_RANGE_DEG, PlanOptions, REFINE_STEP_DEG};

/// The planner's options from the request.
pub fn options(r: &PlanRequest) -> Result<PlanOptions> {
    let pair = |name: &str, v: [f64; 2], lo: f64, hi: f64| -> Result<(Angle, Angle)> {
        finite(name, v[0], lo, hi)?;
        finite(name, v[1], lo, hi)?;
        ensure!(v[0] <= v[1], "--{name} {} {}: MIN must not exceed MAX", v[0], v[1]);
        Ok((Angle::from_deg(v[0]), Angle::from_deg(v[1])))
    };
    let (il, ih) = pair("cup-inclination-deg", r.cup_inclination_deg, 0.0, 80.0)?;
    let (al, ah) = pair("cup-anteversion-deg", r.cup_anteversion_deg, -30.0, 60.0)?;
    plan_value("pelvic-tilt-deg", r.pelvic_tilt_deg, PlanValue::StandingTiltDeg)?;
    plan_value("sitting-extra-tilt-deg", r.sitting_extra_tilt_deg, PlanValue::SittingExtraTiltDeg)?;
    finite("grid-step-deg", r.grid_step_deg, GRID_STEP_RANGE_DEG.0, GRID_STEP_RANGE_DEG.1)?;
    let mut o = PlanOptions::new()
        .with_liners(r.liners.clone())
        .with_inclination(il, ih)
        .with_anteversion(al, ah)
        .with_grid_step(Angle::from_deg(r.grid_step_deg))
        .with_refine_step(Angle::from_deg(REFINE_STEP_DEG.min(r.grid_step_deg)))
        .with_tilts(PostureTilts::from_change(Angle::from_deg(r.pelvic_tilt_deg), Angle::from_deg(r.sitting_extra_tilt_deg)));
    if let Some(h) = r.head_mm {
        plan_value("head-mm", h, PlanValue::HeadDiameterMm)?;
        o = o.with_head_diameter_mm(h);
    }
    if let Some(s) = r.stem_anteversion_deg {
        let (lo, hi) = pair("stem-anteversion-deg", s, -30.0, 60.0)?;
        o = o.with_stem_anteversion(lo, hi);
    }
    let f = &r.fixed;
    if let Some(d) = f.cup_mm {
        plan_value("cup-mm", d, PlanValue::ShellOuterDiameterMm)?;
    }
    if let Some(o) = f.head_offset_mm {
        plan_value("head-offset-mm", o, PlanValue::HeadOffsetMm)?;
    }
    for v in f.cup_shift_mm.iter().flatten() {
        plan_value("cup-shift-mm", *v, PlanValue::CupShiftMm)?;
    }
    for (name, v) in [("stem-series", &f.stem_series), ("stem-size", &f.stem_size)] {
        if let Some(v) = v {
            ensure!(!v.trim().is_empty() && !v.chars().any(char::is_control), "--{name} {v:?}: give the catalog's name on one line");
        }
    }
    Ok(o.with_fixed(FixedChoices {
        shell_outer_diameter_mm: f.cup_mm,
        cup_shift_mm: f.cup_shift_mm,
        stem_series: f.stem_series.clone(),
        stem_size: f.stem_size.clone(),
        head_offset_mm: f.head_offset_mm,
    }))
}

/// The case a request plans (its input, side and name).
///
/// # Errors
/// A request without a usable input or side.
pub fn request_case(r: &PlanRequest) -> Result<Case> {
    plan_case(r, None)
}

fn plan_case(r: &PlanRequest, memory: Option<InMemoryCt>) -> Result<Case> {
    let side_flag = r.side;
    if let Some(memory) = memory {
        ensure!(r.ct.is_none() && r.meshes.is_empty(), "a CT given in memory is the case's only input: give no --ct or --mesh beside it");
        let side = side_flag.context("a CT given in memory: name the operated side (left or right)")?;
        return Ok(Case { name: r.case_name.clone(), input: CaseInput::Volume(Box::new(memory)), side, mesh_units: None, model: None });
    }
    let mesh_units = r.mesh_units.as_deref().map(coxa_case::bone_input::parse_units).transpose().map_err(|e| anyhow::anyhow!("--mesh-units {e}"))?;
    let (input, side) = match &r.ct {
        Some(ct) => {
            let side = side_flag.context("--ct: name the operated side with --side left|right")?;
            (CaseInput::Ct { ct: ct.clone(), labels: r.labels.clone() }, side)
        }
        None => {
            let files: Vec<(String, PathBuf)> = r.meshes.iter().map(|m| (m.name.clone(), m.file.clone())).collect();
            let has = |n: &str| files.iter().any(|(m, _)| m == n);
            let side = match side_flag {
                Some(s) => s,
                None => match (has("femur_left"), has("femur_right")) {
                    (true, true) => bail!("femurs of both sides given: choose the operated one with --side"),
                    (true, false) => Side::Left,
                    (false, true) => Side::Right,
                    (false, false) => bail!("no femur given: coxa plan needs --mesh hip_SIDE=.. and --mesh femur_SIDE=.. of the operated side (or --ct)"),
                },
            };
            for (name, file) in &files {
                ensure!(file.is_file(), "--mesh {name}={}: no such file", file.display());
            }
            (CaseInput::Meshes(files), side)
        }
    };
    Ok(Case { name: r.case_name.clone(), input, side, mesh_units, model: None })
}

/// The scenario `coxa plan` runs its one case in, built as a value (no TOML): the catalog, the
/// report's cup-angle definition and the posture tilts as a scenario file would give them (so
/// that the case folder is `coxa run`'s), the planner's options from the flags.
fn plan_scenario(r: &PlanRequest, out: &Path, case: Case, options: PlanOptions, memo: Option<Arc<AnatomyMemo>>, mesh_formats: &[MeshFormat]) -> Result<Scenario> {
    let catalog = r.catalog.as_ref().map(|dir| std::fs::canonicalize(dir).with_context(|| format!("--catalog {}", dir.display()))).transpose()?;
    let cup_definition = match r.cup_definition {
        coxa_core::CupAngleDefinition::Radiographic => None,
        d => Some(d),
    };
    let settings = OneCaseSettings {
        name: "coxa plan".into(),
        file: out.with_extension("toml"),
        catalog,
        report: ReportSettings { cup_definition, ..ReportSettings::default() },
        standing_tilt_deg: r.pelvic_tilt_deg,
        sitting_extra_tilt_deg: r.sitting_extra_tilt_deg,
        plan_options: options,
        request: Some(r.clone()),
        anatomy_memo: memo,
        mesh_formats: mesh_formats.to_vec(),
    };
    Scenario::of_case(case, settings).map_err(|e| anyhow::anyhow!("{}", e.message))
}

/// [`super::plan::run_with`] on a request (`request.json`, the planning desk's re-plan with the surgeon's
/// choices fixed): the case folder written into the new folder `out`; with `memo`, the anatomy
/// of an earlier run on the same input files is reused (found and kept otherwise); the meshes
/// are written in `mesh_formats` besides STL.
///
/// # Errors
/// `out` exists; the request's values; any stage's error.
pub fn run_request(
    r: &PlanRequest,
    out: &Path,
    memory: Option<InMemoryCt>,
    listener: Option<coxa_case::stages::Progress<'_>>,
    memo: Option<Arc<AnatomyMemo>>,
    mesh_formats: &[MeshFormat],
) -> Result<PlanRecord> {
    if out.exists() {
        bail!("{} already exists; coxa plan writes into a new folder and never overwrites: choose another --out", out.display());
    }
    let options = options(r)?;
    let case = plan_case(r, memory)?;
    let catalog = match &r.catalog {
        Some(dir) => Catalog::load_dir(dir)?,
        None => Catalog::builtin()?,
    };
    let scn = plan_scenario(r, out, case, options, memo, mesh_formats)?;
    let name = out.file_name().with_context(|| format!("--out {}: name a folder", out.display()))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    // Beside the result, so that the rename is within one file system; left by a run that was
    // killed, it is coxa's own scratch.
    let partial = parent.join(format!(".{}.partial", name.to_string_lossy()));
    coxa_case::run::clear_unfinished(&partial, out)?;
    let stages = super::progress::Stages::start("coxa plan");
    let progress = |stage: &str| {
        stages.stage(stage);
        if let Some(listener) = listener {
            listener(stage);
        }
    };
    let outcome = coxa_case::run::case_into(&scn, &scn.cases[0], &catalog, &partial, out, &progress).inspect_err(|_| {
        // A plan that failed leaves nothing behind (best effort: the error said what failed).
        let _ = std::fs::remove_dir_all(&partial);
    })?;
    outcome.plan.context("the case was not planned (a bug in coxa; please report it)")
}

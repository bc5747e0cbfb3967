//! Shared helpers of the end-to-end tests: reference data and peer tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A path inside `../shared/data` (next to the workspace). Outside CI a missing folder skips the
/// test with a printed note (`None`); in CI (`CI=true`) it fails the test loudly.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let p = workspace_root().join("..").join("shared").join("data").join(rel);
    if p.exists() {
        return Some(p);
    }
    // A git worktree elsewhere (e.g. /work/wt/NAME): the nearest `shared/data` further up.
    if let Some(found) = workspace_root().ancestors().skip(2).map(|a| a.join("shared").join("data").join(rel)).find(|q| q.exists()) {
        return Some(found);
    }
    assert!(!in_ci(), "reference data {} is missing; CI must run with ../shared/data beside the repository", p.display());
    eprintln!("note: skipping, reference data {} is not here", p.display());
    None
}

/// coxa's classes as the JSON object `{"id": "name"}` the peer scripts take to name the classes
/// they write (tests/peers/seg_from_labels.py, scenarios' totalseg_outputs.py).
pub fn coxa_class_names_json() -> String {
    let names: serde_json::Map<String, serde_json::Value> = coxa_core::labels::COXA_CLASSES.iter().map(|(id, n)| (id.to_string(), (*n).into())).collect();
    serde_json::Value::Object(names).to_string()
}

/// The Python interpreter with the peer tools (SimpleITK, pydicom, numpy, nibabel): `$COXA_PYTHON`,
/// else `.venv/bin/python` made by `scripts/setup`. Outside CI a missing interpreter skips the
/// test with a note (`None`); in CI it fails the test.
pub fn peer_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("COXA_PYTHON").map(PathBuf::from).unwrap_or_else(|| workspace_root().join(".venv").join("bin").join("python"));
    let ok = Command::new(&candidate).args(["-c", "import SimpleITK, pydicom, numpy"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    assert!(!in_ci(), "peer tools missing: {} cannot import SimpleITK/pydicom/numpy; run scripts/setup", candidate.display());
    eprintln!("note: skipping the peer comparison, run scripts/setup to install SimpleITK and pydicom");
    None
}

/// What SimpleITK reads from an image.
#[derive(Debug)]
pub struct SitkImage {
    /// GetSize.
    pub size: [usize; 3],
    /// GetSpacing, mm.
    pub spacing_mm: [f64; 3],
    /// GetOrigin, LPS mm.
    pub origin_lps_mm: [f64; 3],
    /// GetDirection, row-major.
    pub direction: [f64; 9],
    /// Sum of all voxels (numpy, float64).
    pub hu_sum: f64,
    /// Voxels in `[k, j, i]` order (numpy's), as f64.
    pub voxels: Vec<f64>,
}

/// Reads `path` with SimpleITK (`series`: a DICOM folder through ImageSeriesReader).
pub fn sitk_read(python: &Path, path: &Path, series: bool) -> Result<SitkImage> {
    let dir = tempfile::tempdir()?;
    let raw = dir.path().join("voxels.f64");
    let script = workspace_root().join("tests/peers/sitk_dump.py");
    let mut cmd = Command::new(python);
    let _ = cmd.arg(&script).arg(path).arg("--raw").arg(&raw);
    if series {
        let _ = cmd.arg("--series");
    }
    let out = cmd.output().context("running SimpleITK")?;
    if !out.status.success() {
        bail!("SimpleITK failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    }
    let j: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let arr = |k: &str| -> Vec<f64> { j[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
    let bytes = std::fs::read(&raw)?;
    let voxels = bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
    let size = arr("size");
    Ok(SitkImage {
        size: [size[0] as usize, size[1] as usize, size[2] as usize],
        spacing_mm: arr("spacing_mm").try_into().unwrap(),
        origin_lps_mm: arr("origin_lps_mm").try_into().unwrap(),
        direction: arr("direction").try_into().unwrap(),
        hu_sum: j["hu_sum"].as_f64().unwrap(),
        voxels,
    })
}

/// Asserts that a grid equals SimpleITK's geometry to `tol` (mm, and unitless for direction).
pub fn assert_grid_matches(grid: &coxa_core::Grid, sitk: &SitkImage, tol: f64) {
    assert_eq!(grid.size(), sitk.size, "size");
    let close = |a: &[f64], b: &[f64], what: &str| {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= tol, "{what}: coxa {a:?} vs SimpleITK {b:?} (tolerance {tol})");
        }
    };
    close(grid.spacing_mm().as_slice(), &sitk.spacing_mm, "spacing_mm");
    close(grid.origin_lps_mm().as_slice(), &sitk.origin_lps_mm, "origin_lps_mm");
    close(&grid.direction_row_major(), &sitk.direction, "direction");
}

/// Asserts voxel-for-voxel equality of a `[k, j, i]` array with SimpleITK's voxels.
pub fn assert_voxels_equal(ours: impl IntoIterator<Item = f64>, sitk: &SitkImage) {
    let mut n = 0usize;
    let mut first_bad = None;
    let mut n_bad = 0usize;
    for (idx, (a, b)) in ours.into_iter().zip(&sitk.voxels).enumerate() {
        n += 1;
        if a != *b {
            n_bad += 1;
            first_bad.get_or_insert((idx, a, *b));
        }
    }
    assert_eq!(n, sitk.voxels.len(), "voxel count");
    assert!(n_bad == 0, "{n_bad} of {n} voxels differ from SimpleITK; first at flat index {:?} (coxa, SimpleITK)", first_bad);
}

/// Issue 60: the plan `p` (planned in `t_plan_s`) against the exhaustive grid of its own `space`
/// at `step_deg`, every point scored by the planner's one evaluator on every core: the grid must
/// be a larger search than the plan's, and the plan within 0.5 % of the grid's best objective
/// (or above it). Prints both, as the closing notes quote them.
pub fn check_plan_against_grid(label: &str, p: &coxa_planner::Plan, t_plan_s: f64, space: &coxa_planner::PlanSpace<'_>, step_deg: f64) {
    // The points of the space (a femoral rank a stem version does not have is none).
    let choices: Vec<coxa_planner::Choice> = space.grid_choices(step_deg).into_iter().filter(|c| space.exists(c)).collect();
    let t = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = choices.len().div_ceil(threads).max(1);
    let (best, refused) = std::thread::scope(|s| {
        let parts: Vec<_> = choices
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter().fold((f64::NEG_INFINITY, 0usize), |(b, f), c| match space.evaluate(c) {
                        Ok(t) => (b.max(t.total), f),
                        Err(_) => (b, f + 1),
                    })
                })
            })
            .collect();
        parts.into_iter().map(|h| h.join().expect("a grid thread")).fold((f64::NEG_INFINITY, 0), |(b, f), (b2, f2)| (b.max(b2), f + f2))
    });
    eprintln!(
        "{label}: plan objective {:.4} (stem {:.2} deg, smallest margin {:.1} deg; {} candidates, {} on the grid, {t_plan_s:.1} s); exhaustive grid at {step_deg} deg: best {best:.4} ({} points, {refused} refused, {:.1} s)",
        p.objective.total,
        p.placement.stem_anteversion.deg(),
        p.objective.rom_min_margin_deg,
        p.evaluated,
        p.grid_candidates,
        choices.len(),
        t.elapsed().as_secs_f64()
    );
    eprintln!("{label}: {}", p.daily_life.summary);
    assert!(choices.len() > 2 * p.evaluated, "the grid ({}) is a larger search than the plan's ({})", choices.len(), p.evaluated);
    assert!(p.objective.total >= best - 0.005 * best.abs(), "{label}: plan {} is more than 0.5 % below the exhaustive grid's best {best}", p.objective.total);
}

//! Helpers of coxa-infer's tests: the test models, reference data, the peer Python.

#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use std::path::{Path, PathBuf};
use std::process::Command;

use coxa_core::{Grid, Volume};
use nalgebra::Vector3;
use ndarray::Array3;

/// The committed test models and cards.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("models")
}

/// The card of test model `name`.
pub fn card(name: &str) -> PathBuf {
    models_dir().join(format!("{name}.toml"))
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `shared/data/REL` found by walking up from the crate (the repository's sibling `../shared`).
/// Outside CI a missing file skips with a note (`None`); in CI it fails.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    for dir in Path::new(env!("CARGO_MANIFEST_DIR")).ancestors() {
        let p = dir.join("shared").join("data").join(rel);
        if p.exists() {
            return Some(p);
        }
    }
    assert!(!in_ci(), "reference data shared/data/{rel} is missing; CI must run with ../shared/data beside the repository");
    eprintln!("note: skipping, reference data shared/data/{rel} is not here");
    None
}

/// Whether ONNX Runtime can be found and loaded; outside CI its absence skips with a note.
pub fn runtime_ready() -> bool {
    match coxa_infer::runtime::runtime() {
        Ok(_) => true,
        Err(e) => {
            assert!(!in_ci(), "ONNX Runtime is needed in CI: {e}");
            eprintln!("note: skipping, {e}");
            false
        }
    }
}

/// The peer Python with onnxruntime: `$COXA_PYTHON`, else the first `.venv/bin/python` above the
/// crate. Outside CI its absence skips with a note.
pub fn peer_python() -> Option<PathBuf> {
    peer_python_importing("onnxruntime, numpy")
}

/// The peer Python (as [`peer_python`]) that can import `modules` (e.g. `"scipy, skimage"`).
pub fn peer_python_importing(modules: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> =
        std::env::var_os("COXA_PYTHON").map(|p| vec![PathBuf::from(p)]).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|d| d.join(".venv/bin/python")).collect());
    for c in candidates {
        if Command::new(&c).args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success()) {
            return Some(c);
        }
    }
    assert!(!in_ci(), "peer Python with {modules} is missing; run scripts/setup");
    eprintln!("note: skipping the peer comparison, run scripts/setup to install {modules} in .venv");
    None
}

/// The tests' deterministic generator: coxa's own SplitMix64 (the same sequence bit for bit).
pub use coxa_core::rng::SplitMix64 as Rng;

/// An axis-aligned CT of `size` (`[i, j, k]`) voxels of `spacing_mm` with integer HU from `f`.
pub fn volume(size: [usize; 3], spacing_mm: f64, f: impl Fn(usize, usize, usize) -> f32) -> Volume {
    let g = Grid::axis_aligned(size, Vector3::repeat(spacing_mm), Vector3::new(-30.0, 12.0, 400.0)).unwrap();
    let hu = Array3::from_shape_fn((size[2], size[1], size[0]), |(k, j, i)| f(i, j, k));
    Volume::new(g, hu).unwrap()
}

/// The analytic answer of the threshold3 test model.
pub fn threshold_label(hu: f32) -> u16 {
    if hu < -500.5 {
        0
    } else if hu < 250.5 {
        1
    } else {
        2
    }
}

/// Dice of label `l` between two label arrays.
pub fn dice(a: &Array3<u16>, b: &Array3<u16>, l: u16) -> f64 {
    let (mut inter, mut na, mut nb) = (0usize, 0usize, 0usize);
    for (&x, &y) in a.iter().zip(b.iter()) {
        na += (x == l) as usize;
        nb += (y == l) as usize;
        inter += (x == l && y == l) as usize;
    }
    if na + nb == 0 { 1.0 } else { 2.0 * inter as f64 / (na + nb) as f64 }
}

/// Copies card `name` into `dir` with a link to its weights beside it (weights must lie in the
/// card's folder, issue 45) and `edit` applied to the text.
pub fn edited_card(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(card(name)).unwrap();
    let weights = models_dir().join(format!("{name}.onnx"));
    let link = dir.join(format!("{name}.onnx"));
    if !link.exists() {
        std::os::unix::fs::symlink(&weights, &link).unwrap();
    }
    let out = dir.join(format!("{name}.toml"));
    std::fs::write(&out, edit(text)).unwrap();
    out
}

/// The little-endian f32 values a peer script wrote to `path`.
pub fn read_f32_le(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// The largest |ours - theirs| over paired values (same count asserted) and the largest |theirs|.
pub fn max_differences<'a>(ours: impl IntoIterator<Item = &'a f32>, theirs: &[f32]) -> (f32, f32) {
    let mut n = 0;
    let mut max = 0f32;
    for (a, b) in ours.into_iter().zip(theirs) {
        max = max.max((a - b).abs());
        n += 1;
    }
    assert_eq!(n, theirs.len(), "output size");
    (max, theirs.iter().fold(0f32, |m, v| m.max(v.abs())))
}

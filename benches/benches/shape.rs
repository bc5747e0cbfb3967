//! Shape models on the 30 atlas pelvises (../shared/data/pelvis_atlas, 3 x 5000 vertices each):
//! - `build_pelvis_30`: Procrustes + PCA of the whole-pelvis model (15,000 vertices, 30 subjects);
//! - `partial_fit_sacrum_from_hips`: the sacrum (5000 vertices) predicted with its per-vertex SD
//!   from both hip bones (10,000 known vertices), all 29 modes.
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::Point3;

use coxa_shape::{BuildOptions, FitOptions, build};

macro_rules! bench {
    ($name:literal) => {
        concat!(module_path!(), "::", $name)
    };
}

/// `shared/data/pelvis_atlas/surface` beside the repository or further up (git worktrees).
fn atlas() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().skip(1).map(|a| a.join("shared/data/pelvis_atlas/surface")).find(|p| p.exists())
}

/// Shapes (one point list per subject) and their shared faces.
type Cohort = (Vec<Vec<Point3<f64>>>, Vec<[u32; 3]>);

fn cohort(dir: &Path) -> Option<Cohort> {
    let mut ids: Vec<u32> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok())
        .collect();
    ids.sort_unstable();
    let mut faces = Vec::new();
    let mut shapes = Vec::new();
    for (s, id) in ids.iter().enumerate() {
        let mut x: Vec<Point3<f64>> = Vec::new();
        for bone in ["LeftHip", "RightHip", "Sacrum"] {
            let m = coxa_io::mesh::read_vtk(&dir.join(format!("{bone}{id}_cpd.vtk"))).ok()?;
            if s == 0 {
                let first = x.len() as u32;
                faces.extend(m.triangles().iter().map(|t| t.map(|i| i + first)));
            }
            x.extend_from_slice(m.vertices());
        }
        shapes.push(x);
    }
    Some((shapes, faces))
}

fn shape(c: &mut Criterion) {
    let Some((shapes, faces)) = atlas().and_then(|d| cohort(&d)) else {
        eprintln!("note: ../shared/data/pelvis_atlas missing, shape bench skipped");
        return;
    };
    let mut g = c.benchmark_group("shape");
    let _ = g.sample_size(10);
    let _ = g.bench_function(bench!("build_pelvis_30"), |b| {
        b.iter(|| build(std::hint::black_box(&shapes), faces.clone(), vec![], &BuildOptions::default()).expect("build"))
    });
    // Subject 0 left out, its hips known.
    let model = build(&shapes[1..], faces.clone(), vec![], &BuildOptions::default()).expect("build").model;
    let known: Vec<usize> = (0..10_000).collect();
    let target: Vec<Point3<f64>> = shapes[0][..10_000].to_vec();
    let options = FitOptions { noise_sd_mm: 2.0, ..FitOptions::default() };
    let _ = g.bench_function(bench!("partial_fit_sacrum_from_hips"), |b| {
        b.iter(|| model.fit_partial(&known, std::hint::black_box(&target), &options).expect("fit"))
    });
    g.finish();
}

criterion_group!(benches, shape);
criterion_main!(benches);

//! Shape models on the 30 atlas pelvises (../shared/data/pelvis_atlas, 3 x 5000 vertices each):
//! - `build_pelvis_30`: Procrustes + PCA of the whole-pelvis model (15,000 vertices, 30 subjects);
//! - `partial_fit_sacrum_from_hips`: the sacrum (5000 vertices) predicted with its per-vertex SD
//!   from both hip bones (10,000 known vertices), all 29 modes;
//! - `fit_llp26_femur_to_proximal_femur`: the LLP26 adult femur model evaluated at about 20,000
//!   points (25 modes, installed by scripts/setup) fitted to the vsd left femur cut 30 mm below
//!   its lesser trochanter (about 4,200 points), from the head centres (rigid stage included).
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::Point3;

use coxa_benches::{bench, find_shared_data};
use coxa_shape::{BuildOptions, FitOptions, build};

/// `shared/data/pelvis_atlas/surface` beside the repository or further up (git worktrees).
fn atlas() -> Option<PathBuf> {
    find_shared_data("pelvis_atlas/surface")
}

/// Shapes (one point list per subject) and their shared faces.
type Cohort = (Vec<Vec<Point3<f64>>>, Vec<[u32; 3]>);

fn cohort(dir: &Path) -> Option<Cohort> {
    let mut ids: Vec<u32> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok()).collect();
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
    let _ = g.bench_function(bench!("build_pelvis_30"), |b| b.iter(|| build(std::hint::black_box(&shapes), faces.clone(), vec![], &BuildOptions::default()).expect("build")));
    // Subject 0 left out, its hips known.
    let model = build(&shapes[1..], faces.clone(), vec![], &BuildOptions::default()).expect("build").model;
    let known: Vec<usize> = (0..10_000).collect();
    let target: Vec<Point3<f64>> = shapes[0][..10_000].to_vec();
    let options = FitOptions { noise_sd_mm: 2.0, ..FitOptions::default() };
    let _ = g.bench_function(bench!("partial_fit_sacrum_from_hips"), |b| b.iter(|| model.fit_partial(&known, std::hint::black_box(&target), &options).expect("fit")));
    g.finish();
}

fn femur_fit(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (Some(dir), Some(stl)) = (coxa_shape::gias::find_installed(root, coxa_shape::gias::LLP26_DIR), find_shared_data("vsd_bones/z013_Femur_L.stl")) else {
        eprintln!("note: LLP26 (scripts/setup) or ../shared/data/vsd_bones missing, femur fit bench skipped");
        return;
    };
    let model = coxa_shape::gias::llp26(&dir, false, &[coxa_shape::gias::Llp26Part::Femur], 22).expect("LLP26");
    let full = coxa_io::mesh::read_stl(&stl).expect("vsd femur");
    let side = coxa_core::Side::Left;
    let truth = coxa_anatomy::landmarks::femur_landmarks(&full, side).expect("landmarks");
    let u = truth.shaft_axis.direction_lps;
    let level = truth.lesser_trochanter.lps_mm.coords.dot(&u) - 30.0;
    let keep: Vec<bool> = full.vertices().iter().map(|p| p.coords.dot(&u) >= level).collect();
    let target: Vec<Point3<f64>> = full.vertices().iter().zip(&keep).filter(|(_, k)| **k).map(|(p, _)| *p).collect();
    let area: f64 = (0..full.triangles().len()).filter(|&t| full.triangles()[t].iter().all(|&i| keep[i as usize])).map(|t| full.face_normal_scaled(t).norm() / 2.0).sum();
    let mean: Vec<Point3<f64>> = model.instance(&[]).expect("mean");
    let mean_mesh = coxa_core::Mesh::new(mean, model.faces().to_vec()).expect("mesh");
    let head_m = coxa_anatomy::landmarks::femur_landmarks(&mean_mesh, side).expect("mean landmarks").head_centre.lps_mm;
    let init = coxa_shape::Pose { translation_mm: truth.head_centre.lps_mm - head_m, ..coxa_shape::Pose::identity() };
    eprintln!("femur fit bench: model {} points, {} modes; target {} points", model.n_vertices(), model.n_modes(), target.len());
    let options = coxa_shape::SurfaceFitOptions::default();
    let t0 = std::time::Instant::now();
    let once = model.fit_surface(&target, area, &init, &options).expect("fit");
    eprintln!("one fit: {} rounds, RMS {:.2} mm, {:.2} s", once.iterations, once.rms_mm, t0.elapsed().as_secs_f64());
    let mut g = c.benchmark_group("shape");
    let _ = g.sample_size(10);
    let _ = g.bench_function(bench!("fit_llp26_femur_to_proximal_femur"), |b| b.iter(|| model.fit_surface(std::hint::black_box(&target), area, &init, &options).expect("fit")));
    g.finish();
}

criterion_group!(benches, shape, femur_fit);
criterion_main!(benches);

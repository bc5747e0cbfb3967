//! DRR (coxa-diagnostics::drr): a 1024 x 1024 AP pelvis radiograph of a 512 x 512 x 300 CT
//! (0.8 x 0.8 x 1 mm, a body-shaped water cylinder with a bone ring) on the machine's cores
//! (rayon). `project` is the ray sum alone on a prepared volume; `prepare_and_project` includes
//! converting HU to attenuation.

#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use coxa_core::{Grid, Volume};
use coxa_diagnostics::drr::{DrrVolume, ap_pelvis};
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Point3, Vector3};
use ndarray::Array3;

fn drr(c: &mut Criterion) {
    let (ni, nj, nk) = (512usize, 512usize, 300usize);
    let sp = Vector3::new(0.8, 0.8, 1.0);
    let origin = Vector3::new(-204.4, -204.4, -150.0);
    let grid = Grid::axis_aligned([ni, nj, nk], sp, origin).unwrap();
    let hu = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        let (x, y) = (origin.x + i as f64 * sp.x, origin.y + j as f64 * sp.y);
        let r = ((x / 170.0).powi(2) + (y / 120.0).powi(2)).sqrt();
        let bone = ((x.abs() - 90.0).powi(2) + (y - 10.0).powi(2)).sqrt() < 20.0 + (k % 7) as f64;
        if bone {
            900.0
        } else if r < 1.0 {
            40.0
        } else {
            -1000.0
        }
    });
    let ct = Volume::new(grid, hu).unwrap();
    let vol = DrrVolume::new(&ct);
    let g = ap_pelvis(Point3::new(0.0, 0.0, 0.0), Vector3::x(), Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let mut group = c.benchmark_group("drr");
    group.sample_size(10);
    group.bench_function("project_1024x1024_of_512x512x300", |b| b.iter(|| vol.project(&g)));
    group.bench_function("prepare_and_project_1024x1024_of_512x512x300", |b| b.iter(|| DrrVolume::new(&ct).project(&g)));
    group.finish();
}

criterion_group!(benches, drr);
criterion_main!(benches);

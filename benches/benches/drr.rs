//! DRR (coxa-diagnostics::drr): a 1024 x 1024 AP pelvis radiograph of a 512 x 512 x 300 CT
//! (0.8 x 0.8 x 1 mm, a body-shaped water cylinder with a bone ring) on the machine's cores
//! (rayon). `project` is the ray sum alone on a prepared volume; `prepare_and_project` includes
//! converting HU to attenuation.

#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use coxa_diagnostics::drr::{DrrVolume, ap_pelvis, benchmark_ct};
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Point3, Vector3};

fn drr(c: &mut Criterion) {
    let ct = benchmark_ct(512, 512, 300);
    let vol = DrrVolume::new(&ct).unwrap();
    let g = ap_pelvis(Point3::new(0.0, 0.0, 0.0), Vector3::x(), Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let mut group = c.benchmark_group("drr");
    group.sample_size(10);
    group.bench_function("project_1024x1024_of_512x512x300", |b| b.iter(|| vol.project(&g)));
    group.bench_function("prepare_and_project_1024x1024_of_512x512x300", |b| b.iter(|| DrrVolume::new(&ct).unwrap().project(&g)));
    group.finish();
}

criterion_group!(benches, drr);
criterion_main!(benches);

//! DRR (coxa-diagnostics::drr): 1024 x 1024 radiographs of a 512 x 512 x 300 CT (0.8 x 0.8 x 1 mm,
//! a body-shaped water cylinder with a bone ring) on the machine's cores (rayon). `project` is the
//! ray sum alone on a prepared volume; `prepare_and_project` includes converting HU to
//! attenuation. The AP pelvis in the CT's axes is cast plane by plane; the lateral hip (the beam
//! at 45 deg in the x-z plane) and the AP tilted 8 deg about the long axis and 6 deg about the
//! left-right axis (aligned with a pelvic frame, `coxa xray --align pelvis`) are the other
//! geometries (issue 42: each < 1 s).

#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use coxa_core::Side;
use coxa_diagnostics::drr::{DrrVolume, ap_pelvis, benchmark_ct, lateral_hip};
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Point3, Rotation3, Vector3};

fn drr(c: &mut Criterion) {
    let ct = benchmark_ct(512, 512, 300);
    let vol = DrrVolume::new(&ct).unwrap();
    let g = ap_pelvis(Point3::new(0.0, 0.0, 0.0), Vector3::x(), Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let tilt = Rotation3::from_axis_angle(&Vector3::z_axis(), 8f64.to_radians()) * Rotation3::from_axis_angle(&Vector3::x_axis(), 6f64.to_radians());
    let tilted = ap_pelvis(Point3::new(0.0, 0.0, 0.0), tilt * Vector3::x(), tilt * Vector3::z(), 205.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let lateral = lateral_hip(Point3::new(-90.0, 10.0, 0.0), Side::Right, 300.0, 1150.0, 1024, 1024, 0.42).unwrap();
    let mut group = c.benchmark_group("drr");
    group.sample_size(10);
    group.bench_function("project_1024x1024_of_512x512x300", |b| b.iter(|| vol.project(&g)));
    group.bench_function("prepare_and_project_1024x1024_of_512x512x300", |b| b.iter(|| DrrVolume::new(&ct).unwrap().project(&g)));
    group.bench_function("project_tilted_1024x1024_of_512x512x300", |b| b.iter(|| vol.project(&tilted)));
    group.bench_function("project_lateral_1024x1024_of_512x512x300", |b| b.iter(|| vol.project(&lateral)));
    group.finish();
}

criterion_group!(benches, drr);
criterion_main!(benches);

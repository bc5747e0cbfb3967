//! Reading CT volumes: the real 20-slice JPEG 2000 series, a 300-slice uncompressed 512x512
//! series, the real NIfTI CT, and the 512x512x300 phantom as .nii and .nii.gz.
//! `benches/compare_simpleitk.py` times SimpleITK on the same files and prints the ratios;
//! `benches/io_process.py` times both as whole processes.
//!
//! The 300-slice series and the phantom NIfTI files are generated once (seeded) into
//! `target/bench-data/` (`uncompressed_300/`, `phantom_300.nii`, `phantom_300.nii.gz`).
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::Vector3;
use ndarray::Array3;

use coxa_benches::{bench, bench_data, find_shared_data};
use coxa_core::{Grid, Volume};
use coxa_io::dicom::{self, ReadOptions, WriteSeriesOptions};

/// A 512x512x300 phantom with CT-like values and seeded noise (xorshift).
fn phantom_300() -> Volume {
    let (ni, nj, nk) = (512usize, 512usize, 300usize);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let hu = Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (x, y) = (i as f64 - 256.0, j as f64 - 256.0);
        let r = (x * x + y * y).sqrt() + 0.1 * k as f64;
        let base = if r < 60.0 {
            700.0
        } else if r < 200.0 {
            40.0
        } else {
            -1000.0
        };
        (base + (state % 41) as f64 - 20.0) as f32
    });
    let grid = Grid::axis_aligned([ni, nj, nk], Vector3::new(0.78, 0.78, 1.0), Vector3::new(-200.0, -200.0, -150.0)).expect("valid grid");
    Volume::new(grid, hu).expect("shape follows grid")
}

/// The phantom as an uncompressed DICOM series, written once into target/bench-data.
fn uncompressed_300() -> PathBuf {
    let dir = bench_data().join("uncompressed_300");
    if !dir.join("slice_0299.dcm").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = dicom::write_series(&phantom_300(), &dir, &WriteSeriesOptions::new().with_uid_seed(300)).expect("write bench series");
    }
    dir
}

/// The phantom as a NIfTI file (`name` ends in .nii or .nii.gz), written once into target/bench-data.
fn nifti_300(name: &str) -> PathBuf {
    let f = bench_data().join(name);
    if !f.exists() {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        coxa_io::nifti::write_volume(&phantom_300(), &f).expect("write bench NIfTI");
    }
    f
}

fn volume_io(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    let _ = g.sample_size(10);
    if let Some(dir) = find_shared_data("totalseg_dicom_uidfixed") {
        let _ = g.bench_function(bench!("dicom_jpeg2000_20x512x512"), |b| b.iter(|| dicom::read_series(std::hint::black_box(std::slice::from_ref(&dir)), &ReadOptions::new()).unwrap()));
    }
    let dir = uncompressed_300();
    let _ = g.bench_function(bench!("dicom_uncompressed_300x512x512"), |b| b.iter(|| dicom::read_series(std::hint::black_box(std::slice::from_ref(&dir)), &ReadOptions::new()).unwrap()));
    if let Some(f) = find_shared_data("totalseg/example_ct.nii.gz") {
        let _ = g.bench_function(bench!("nifti_gz_122x101x112"), |b| b.iter(|| coxa_io::nifti::read_volume(std::hint::black_box(&f)).unwrap()));
    }
    let f = nifti_300("phantom_300.nii.gz");
    let _ = g.bench_function(bench!("nifti_gz_512x512x300"), |b| b.iter(|| coxa_io::nifti::read_volume(std::hint::black_box(&f)).unwrap()));
    let f = nifti_300("phantom_300.nii");
    let _ = g.bench_function(bench!("nifti_512x512x300"), |b| b.iter(|| coxa_io::nifti::read_volume(std::hint::black_box(&f)).unwrap()));
    g.finish();
}

criterion_group!(benches, volume_io);
criterion_main!(benches);

//! Radiomics (coxa-diagnostics): all of pyradiomics' default features (107: shape, first order,
//! GLCM, GLRLM, GLSZM, GLDM, NGTDM on the original image, binWidth 25) of hip_left (77) and
//! gluteus_medius_left (82) on the real CT with TotalSegmentator's labels (3 mm voxels), the same
//! on that CT resampled to 1 mm (made by `benches/compare_pyradiomics.py --make-1mm` into
//! `target/bench-data/`: B-spline image, nearest-neighbour labels), and the LoG (sigma 1, 3 mm)
//! and wavelet image types of hip_left (3 mm). pyradiomics-bhklab 3.1.4 on the same inputs:
//! `benches/compare_pyradiomics.py`.

#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use coxa_benches::{bench_data, shared_data};
use coxa_diagnostics::{Params, extract};
use criterion::{Criterion, criterion_group, criterion_main};

fn radiomics(c: &mut Criterion) {
    let ct = shared_data("totalseg/example_ct.nii.gz");
    let seg = shared_data("totalseg/example_seg_fast_force_split.nii.gz");
    if !ct.exists() {
        eprintln!("{} missing: radiomics benchmark skipped", ct.display());
        return;
    }
    let image = coxa_io::nifti::read_volume(&ct).expect("CT");
    let mask = coxa_io::nifti::read_label_map(&seg).expect("labels");
    let mut g = c.benchmark_group("radiomics");
    g.sample_size(20);
    for (name, label) in [("hip_left", 77), ("gluteus_medius_left", 82)] {
        let mut p = Params::default();
        p.settings.label = label;
        g.bench_function(format!("default_features_{name}"), |b| b.iter(|| extract(&image, &mask, &p).expect("features")));
    }
    let mut p = Params::from_yaml("imageType:\n  LoG: {sigma: [1.0, 3.0]}\n  Wavelet: {}\n").expect("params");
    p.settings.label = 77;
    g.sample_size(10);
    g.bench_function("log_wavelet_features_hip_left", |b| b.iter(|| extract(&image, &mask, &p).expect("features")));
    let data = bench_data();
    let (ct1, seg1) = (data.join("ct_1mm.nii.gz"), data.join("seg_1mm.nii.gz"));
    if ct1.exists() && seg1.exists() {
        let image = coxa_io::nifti::read_volume(&ct1).expect("1 mm CT");
        let mask = coxa_io::nifti::read_label_map(&seg1).expect("1 mm labels");
        for (name, label) in [("hip_left", 77), ("gluteus_medius_left", 82)] {
            let mut p = Params::default();
            p.settings.label = label;
            g.bench_function(format!("default_features_{name}_1mm"), |b| b.iter(|| extract(&image, &mask, &p).expect("features")));
        }
    } else {
        eprintln!("{} missing: the 1 mm cases are skipped (make it with `.venv/bin/python benches/compare_pyradiomics.py --make-1mm`)", ct1.display());
    }
    g.finish();
}

criterion_group!(benches, radiomics);
criterion_main!(benches);

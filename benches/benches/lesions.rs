//! The classical bone-lesion search (coxa-diagnostics `lesions::detect`) on the real CT with
//! TotalSegmentator's labels (122x101x112 voxels of 3 mm; vertebrae, sacrum, hips, femurs, ribs),
//! and the threshold bone mask it uses without a label map. Goal: under 2 s on 2 cores.

#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use coxa_benches::shared_data;
use coxa_diagnostics::lesions::{LesionSettings, bones_of, detect, threshold_bone_mask, totalseg_bone_names};
use criterion::{Criterion, criterion_group, criterion_main};

fn lesions(c: &mut Criterion) {
    let ct = shared_data("totalseg/example_ct.nii.gz");
    let seg = shared_data("totalseg/example_seg_fast_force_split.nii.gz");
    if !ct.exists() {
        eprintln!("{} missing: lesions benchmark skipped", ct.display());
        return;
    }
    let image = coxa_io::nifti::read_volume(&ct).expect("CT");
    let labels = coxa_io::nifti::read_label_map(&seg).expect("labels");
    let (bones, names) = bones_of(&labels, &totalseg_bone_names());
    let s = LesionSettings::default();
    let mut g = c.benchmark_group("lesions");
    g.sample_size(10);
    g.bench_function("classical_search_real_ct", |b| b.iter(|| detect(&image, &bones, &names, &s).expect("search")));
    g.bench_function("threshold_mask_and_search_real_ct", |b| {
        b.iter(|| {
            let (mask, names) = threshold_bone_mask(&image, s.metal_hu);
            detect(&image, &mask, &names, &s).expect("search")
        })
    });
    g.finish();
}

criterion_group!(benches, lesions);
criterion_main!(benches);

//! The classical bone-lesion search (coxa-diagnostics `lesions::detect`) on the real CT with
//! TotalSegmentator's labels (122x101x112 voxels of 3 mm; vertebrae, sacrum, hips, femurs, ribs),
//! and the threshold bone mask it uses without a label map. Goal: under 2 s on 2 cores.
//!
//! The learned path's network part (`coxa lesions --model`: coxa_infer::segment with coxa's
//! lesion test model, models/infer/tests/models/lesion_test.toml, mirrored as the command runs
//! it) on the same CT, two ways: the whole segmentation and ONNX Runtime's own time inside it
//! (the sum of its calls, measured in the same runs); goal: the whole under 1.10 x ONNX Runtime's
//! own. Skipped without ONNX Runtime.

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
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/models/lesion_test.toml");
    match coxa_infer::Model::load(&card, &coxa_infer::SessionConfig::default()) {
        Ok(mut model) => {
            let options = coxa_infer::InferenceOptions::for_card(model.card(), true);
            g.bench_function("learned_test_model_whole_real_ct", |b| b.iter(|| coxa_infer::segment(&mut model, &image, &options).expect("segment")));
            g.bench_function("learned_test_model_onnx_runtime_own_real_ct", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| std::time::Duration::from_secs_f64(coxa_infer::segment(&mut model, &image, &options).expect("segment").timing.network_s)).sum())
            });
        }
        Err(e) => eprintln!("note: skipping the learned lesion model: {e}"),
    }
    g.finish();
}

criterion_group!(benches, lesions);
criterion_main!(benches);

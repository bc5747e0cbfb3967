//! The model-free pseudo T2-weighted image (coxa-diagnostics::pseudo_mri, issue 43) of the real
//! CT (`../shared/data/totalseg/example_ct.nii.gz`, 122 x 101 x 112 voxels at 3 mm) on the
//! machine's cores (rayon): the tissue classes, the spinal canal search and the signal (goal:
//! under 1 s on 2 cores). Skipped when the data is not beside the repository.
//!
//! The learned path (`coxa pseudo-mri --model`, coxa_infer::translation) with coxa's test
//! generator (models/infer/tests/models/pseudo_t2_test.toml) on the same CT, two ways: the whole
//! translation (normalising, the calls, mapping the output) and ONNX Runtime's own time inside it
//! (the sum of its `Session::run` calls, measured in the same runs); goal: the whole under 1.10 x
//! ONNX Runtime's own. Skipped without ONNX Runtime.

#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::path::Path;

use coxa_diagnostics::pseudo_mri::{Sequence, model_free};
use coxa_infer::translation::{TranslationModel, TranslationOptions};
use criterion::{Criterion, criterion_group, criterion_main};

fn pseudo_mri(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(path) = root.ancestors().map(|a| a.join("shared/data/totalseg/example_ct.nii.gz")).find(|p| p.exists()) else {
        eprintln!("note: ../shared/data/totalseg/example_ct.nii.gz is not here; skipping");
        return;
    };
    let ct = coxa_io::nifti::read_volume(&path).unwrap();
    let seq = Sequence::default();
    let mut group = c.benchmark_group("pseudo_mri");
    group.sample_size(20);
    group.bench_function("model_free_122x101x112_real_ct", |b| b.iter(|| model_free(&ct, &seq).unwrap()));
    let card = root.join("models/infer/tests/models/pseudo_t2_test.toml");
    match TranslationModel::load(&card, &coxa_infer::SessionConfig::default()) {
        Ok(mut model) => {
            let options = TranslationOptions::default();
            group.bench_function("learned_test_generator_whole_122x101x112", |b| b.iter(|| model.translate(&ct, &options).unwrap()));
            group.bench_function("learned_test_generator_onnx_runtime_own_122x101x112", |b| {
                b.iter_custom(|iters| (0..iters).map(|_| std::time::Duration::from_secs_f64(model.translate(&ct, &options).unwrap().timing.onnx_runtime_s)).sum())
            });
        }
        Err(e) => eprintln!("note: skipping the learned pseudo-MRI: {e}"),
    }
    group.finish();
}

criterion_group!(benches, pseudo_mri);
criterion_main!(benches);

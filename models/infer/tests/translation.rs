//! Image-translation models (coxa_infer::translation) on a small synthetic CT: the stepped noise
//! TEST graph gives the same values whatever the batch, the same bits for the same seed, other
//! values for another seed or step count; the one-pass TEST generator draws no noise and refuses
//! several steps.

use coxa_infer::SessionConfig;
use coxa_infer::translation::{TranslationModel, TranslationOptions};

use crate::common::{card, runtime_ready, volume};

fn ct() -> coxa_core::Volume {
    // A body-like slab: air around, a soft-tissue ellipse with a bone disc inside.
    volume([40, 36, 7], 3.0, |k, j, i| {
        let (x, y) = (i as f32 - 20.0, j as f32 - 18.0);
        if x * x + y * y < 25.0 {
            900.0 + 10.0 * k as f32
        } else if (x / 16.0).powi(2) + (y / 13.0).powi(2) < 1.0 {
            40.0 - 120.0 * f32::from(x > 8.0)
        } else {
            -1000.0
        }
    })
}

fn run(model: &mut TranslationModel, ct: &coxa_core::Volume, seed: u64, steps: u32, batch: usize) -> coxa_infer::translation::Translation {
    model.translate(ct, &TranslationOptions { steps: Some(steps), seed: Some(seed), batch }).unwrap()
}

#[test]
fn stepped_noise_is_per_slice_reproducible_and_batch_independent() {
    if !runtime_ready() {
        return;
    }
    let ct = ct();
    let mut model = TranslationModel::load(&card("translation_steps"), &SessionConfig { intra_threads: 1, ..SessionConfig::default() }).unwrap();
    let a = run(&mut model, &ct, 7, 4, 4);
    assert_eq!(a.values.dim(), (7, 36, 40), "[k, j, i] on the CT's grid");
    assert!(a.draws_noise && a.steps == 4 && a.seed == 7);
    assert_eq!(a.timing.calls, 4 * 2, "two batches (4 + 3 slices), four steps each");
    assert!(a.timing.onnx_runtime_s > 0.0 && a.timing.onnx_runtime_s <= a.timing.translation_s);
    let again = run(&mut model, &ct, 7, 4, 4);
    assert_eq!(a.values, again.values, "the same seed, the same bits");
    for batch in [1, 3, 7] {
        let b = run(&mut model, &ct, 7, 4, batch);
        let max = a.values.iter().zip(b.values.iter()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(max <= 1e-4, "batch {batch}: max difference {max} (1000 S)");
    }
    let other = run(&mut model, &ct, 8, 4, 4);
    let differ = a.values.iter().zip(other.values.iter()).filter(|(x, y)| x != y).count();
    assert!(differ > a.values.len() / 2, "another seed changes most voxels: {differ}");
    // One step: t = 0, no noise added, the state's initial noise scaled by 0.6 remains.
    let one = run(&mut model, &ct, 7, 1, 4);
    assert_ne!(one.values, a.values);
}

#[test]
fn the_one_pass_test_generator_draws_no_noise_and_ignores_the_seed() {
    if !runtime_ready() {
        return;
    }
    let ct = ct();
    let mut model = TranslationModel::load(&card("pseudo_t2_test"), &SessionConfig { intra_threads: 1, ..SessionConfig::default() }).unwrap();
    let a = run(&mut model, &ct, 1, 1, 4);
    let b = run(&mut model, &ct, 2, 1, 4);
    assert!(!a.draws_noise);
    assert_eq!(a.values, b.values);
    assert!(a.values.iter().all(|v| v.is_finite() && (-1.0..=1001.0).contains(v)), "tanh mapped onto 0..1000");
    // Several steps of a one-pass graph are refused.
    let e = model.translate(&ct, &TranslationOptions { steps: Some(3), ..Default::default() }).unwrap_err().to_string();
    assert!(e.contains("state_input"), "{e}");
}

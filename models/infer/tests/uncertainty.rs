//! (d) Uncertainty: the members' disagreement (mutual information) is zero where every member
//! gives the same probabilities and grows with how far apart they are; the Monte Carlo mean
//! converges to the deterministic output; the cost per Monte Carlo sample.

use coxa_infer::segment::normalise;
use coxa_infer::{InferenceOptions, Model, SessionConfig, predict, predict_full, segment};
use ndarray::Axis;

use crate::common::{card, runtime_ready, volume};

fn config() -> SessionConfig {
    SessionConfig { intra_threads: 1, ..Default::default() }
}

/// The card at `path` loaded, with its options for folds `folds` (empty: all) and mirroring.
fn loaded(path: &std::path::Path, folds: &[usize], mirror: bool) -> (Model, InferenceOptions) {
    let model = Model::load(path, &config()).unwrap();
    let mut options = InferenceOptions::for_card(model.card(), mirror);
    options.folds = folds.to_vec();
    (model, options)
}

#[test]
fn disagreement_is_zero_where_members_agree_and_grows_with_their_distance() {
    if !runtime_ready() {
        return;
    }
    // Two folds: p1 = sigmoid(4x) and 1 - p1. x = (i - 20) / 10 along i, so at i = 20 both say 1/2
    // (they agree, yet the prediction is maximally uncertain), and they move apart as |x| grows.
    let mut model = Model::load(&card("disagree"), &config()).unwrap();
    assert_eq!(model.folds(), 2);
    let ct = volume([41, 18, 17], 1.0, |i, _, _| (i as f32 - 20.0) / 10.0);
    let seg = segment(&mut model, &ct, &InferenceOptions::default()).unwrap();
    assert_eq!(seg.members, 2);
    let h = |p: f64| if p <= 0.0 || p >= 1.0 { 0.0 } else { -p * p.ln() - (1.0 - p) * (1.0 - p).ln() };
    let mut last = -1f32;
    for i in 20..41 {
        let mi = seg.disagreement_nats[[8, 9, i]];
        let ent = seg.entropy_nats[[8, 9, i]];
        let x = (i as f64 - 20.0) / 10.0;
        let p = 1.0 / (1.0 + (-4.0 * x).exp());
        let want = std::f64::consts::LN_2 - h(p);
        assert!((f64::from(mi) - want).abs() < 1e-5, "i {i}: disagreement {mi}, expected ln 2 - H(p) = {want}");
        assert!((f64::from(ent) - std::f64::consts::LN_2).abs() < 1e-5, "the mean is 1/2, so the predictive entropy is ln 2: {ent}");
        assert!(mi > last || (i == 20 && mi == 0.0), "grows with the distance: {last} then {mi} at i {i}");
        last = mi;
    }
    assert_eq!(seg.disagreement_nats[[8, 9, 20]], 0.0, "members agree (both 1/2): no disagreement");
    // The mirror image: symmetric.
    assert!((seg.disagreement_nats[[8, 9, 5]] - seg.disagreement_nats[[8, 9, 35]]).abs() < 1e-6);
    println!(
        "disagreement at x = 0, 0.5, 1, 2: {:.4} {:.4} {:.4} {:.4} nats (ln 2 = 0.6931)",
        seg.disagreement_nats[[8, 9, 20]],
        seg.disagreement_nats[[8, 9, 25]],
        seg.disagreement_nats[[8, 9, 30]],
        seg.disagreement_nats[[8, 9, 40]]
    );

    // Identical members: one fold twice. Zero disagreement everywhere, whatever the entropy.
    let mut same = Model::load(&card("disagree"), &config()).unwrap();
    let seg = segment(&mut same, &ct, &InferenceOptions { folds: vec![0, 0], ..Default::default() }).unwrap();
    let max = seg.disagreement_nats.iter().copied().fold(0f32, f32::max);
    assert!(max < 1e-6, "identical members disagree by {max}");
    assert!(seg.entropy_nats.iter().any(|&e| e > 0.6), "while the prediction itself is uncertain");

    // Everywhere the disagreement is at most the predictive entropy (it is a part of it).
    for (a, b) in seg.disagreement_nats.iter().zip(seg.entropy_nats.iter()) {
        assert!(*a <= *b + 1e-6);
    }
}

#[test]
fn monte_carlo_mean_converges_to_the_deterministic_output() {
    if !runtime_ready() {
        return;
    }
    // mc_dropout: logit1 = 40 (d - 1) with d the gate through Dropout(0.5) (0 or 2 where the gate
    // is 1); run deterministically ONNX Runtime drops the Dropout, so the logit is 40 (1 - 1) = 0
    // there: the expectation of the stochastic logit.
    let ct = volume([40, 36, 34], 3.0, |i, _, _| if i < 20 { -200.0 } else { 600.0 });
    let mut det = Model::load(&card("mc_dropout_deterministic"), &config()).unwrap();
    let mut mc = Model::load(&card("mc_dropout"), &config()).unwrap();
    let image = normalise(&ct.hu(), &det.card().input.normalisation).insert_axis(Axis(0));
    let (reference, _, _, _) = predict(&mut det, image.view(), &InferenceOptions::default()).unwrap();
    let gated: Vec<usize> = (0..reference.len_of(Axis(3))).filter(|&i| i >= 21).collect();
    for &i in &gated {
        assert!(reference[[1, 10, 10, i]].abs() < 1e-5, "deterministic logit {} (expected 0)", reference[[1, 10, 10, i]]);
    }
    let mut errors = Vec::new();
    for passes in [1usize, 4, 16, 64] {
        let p = predict_full(&mut mc, image.view(), &InferenceOptions { mc_passes: passes, ..Default::default() }).unwrap();
        let (mut sum, mut n) = (0f64, 0usize);
        for ((c, _, _, i), v) in p.output.indexed_iter() {
            if c == 1 && i >= 21 {
                sum += f64::from((v - reference[[1, 0, 0, i]]).abs());
                n += 1;
            }
        }
        let mean_err = sum / n as f64;
        let per_pass = p.timing.total_s / passes as f64;
        println!(
            "{passes:2} pass(es): mean |MC mean logit - deterministic| {mean_err:.3} (40 / sqrt(n) = {:.3}); {:.4} s per pass ({} network calls per pass)",
            40.0 / (passes as f64).sqrt(),
            per_pass,
            p.timing.network_calls / passes
        );
        errors.push(mean_err);
        // Certain half: every pass agrees, no disagreement.
        let certain = p.disagreement_nats.indexed_iter().filter(|((_, _, i), _)| *i < 19).map(|(_, &v)| v).fold(0f32, f32::max);
        assert!(certain < 1e-6);
    }
    assert!(errors.windows(2).all(|w| w[1] < w[0]), "the MC mean approaches the deterministic output: {errors:?}");
    assert!(errors[3] < 0.25 * errors[0], "64 passes: {} against {} for one", errors[3], errors[0]);
}

/// Without the uncertainty (`InferenceOptions::uncertainty = false`) the probabilities and labels
/// are bit for bit those of a run with it, and the entropy and disagreement maps are empty: on the
/// nnU-Net export (fold 0; both folds mirrored; the anisotropic CT it resamples) and on generic
/// cards (one member; two folds).
#[test]
fn without_uncertainty_the_same_probabilities_and_labels() {
    if !runtime_ready() {
        return;
    }
    let nnunet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("nnunet");
    let open = |f: &str| coxa_io::open(&nnunet.join(f), &coxa_io::OpenOptions::default()).unwrap().volume;
    let (ct, aniso) = (open("ct.nii.gz"), open("ct_aniso.nii.gz"));
    let generic = volume([41, 18, 17], 1.0, |i, j, _| (i as f32 - 20.0) / 10.0 + j as f32 * 0.01);
    let cases = [
        (nnunet.join("card.toml"), &ct, vec![0], false),
        (nnunet.join("card.toml"), &ct, vec![], true),
        (nnunet.join("card.toml"), &aniso, vec![], false),
        (card("threshold3"), &generic, vec![], false),
        (card("disagree"), &generic, vec![], false),
    ];
    for (path, ct, folds, mirror) in cases {
        let (mut model, mut options) = loaded(&path, &folds, mirror);
        let with = segment(&mut model, ct, &options).unwrap();
        options.uncertainty = false;
        let without = segment(&mut model, ct, &options).unwrap();
        let name = &model.card().name;
        assert_eq!(with.probabilities, without.probabilities, "{name}");
        assert_eq!(with.labels.labels(), without.labels.labels(), "{name}");
        assert!(without.entropy_nats.is_empty() && without.disagreement_nats.is_empty(), "{name}");
        assert_eq!(with.entropy_nats.len(), with.labels.labels().len(), "{name}");
        for (a, b) in with.summary.iter().zip(&without.summary) {
            assert_eq!((a.voxels, a.volume_ml), (b.voxels, b.volume_ml), "{name} {}", a.name);
            assert!(b.mean_entropy_nats.is_nan() && b.mean_disagreement_nats.is_nan());
        }
    }
}

/// Labels only (`InferenceOptions::probabilities = false`): no probability map, the labels of
/// the full run (the argmax of the mean logits is the softmax's) and, with the uncertainty, its
/// entropy and disagreement: on the nnU-Net export (fold 0; both folds mirrored; the anisotropic
/// CT it resamples; the CT padded with zeros it crops), coxa's phantom test model on the demo
/// phantom at its 4 mm (one tile, the one-pass path) and at 1.5 mm (resampled), and generic cards.
#[test]
fn labels_only_gives_the_same_labels_without_probabilities() {
    if !runtime_ready() {
        return;
    }
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let nnunet = here.join("tests").join("nnunet");
    let open = |f: &str| coxa_io::open(&nnunet.join(f), &coxa_io::OpenOptions::default()).unwrap().volume;
    let (ct, aniso, crop) = (open("ct.nii.gz"), open("ct_aniso.nii.gz"), open("ct_crop.nii.gz"));
    let mut spec = coxa_anatomy::phantom::PhantomSpec::default();
    let demo = coxa_anatomy::phantom::hip_phantom(&spec).ct;
    spec.voxel_mm = 4.0;
    let coarse = coxa_anatomy::phantom::hip_phantom(&spec).ct;
    let generic = volume([41, 18, 17], 1.0, |i, j, _| (i as f32 - 20.0) / 10.0 + j as f32 * 0.01);
    let phantom = here.join("phantom").join("phantom_seg_test.toml");
    let cases = [
        (nnunet.join("card.toml"), &ct, vec![0], false),
        (nnunet.join("card.toml"), &ct, vec![], true),
        (nnunet.join("card.toml"), &aniso, vec![], false),
        (nnunet.join("card.toml"), &crop, vec![0], false),
        (phantom.clone(), &coarse, vec![], false),
        (phantom, &demo, vec![], false),
        (card("threshold3"), &generic, vec![], false),
        (card("disagree"), &generic, vec![], false),
    ];
    for (path, ct, folds, mirror) in cases {
        let (mut model, mut options) = loaded(&path, &folds, mirror);
        let full = segment(&mut model, ct, &options).unwrap();
        options.probabilities = false;
        let labels_only = segment(&mut model, ct, &options).unwrap();
        options.uncertainty = false;
        let plain = segment(&mut model, ct, &options).unwrap();
        let name = format!("{} on {:?}", model.card().name, ct.grid().size());
        assert!(labels_only.probabilities.is_empty() && plain.probabilities.is_empty(), "{name}");
        assert!(!full.probabilities.is_empty(), "{name}");
        for seg in [&labels_only, &plain] {
            let same = full.labels.labels().iter().zip(seg.labels.labels()).filter(|(a, b)| a == b).count();
            assert!(same * 10_000 >= full.labels.labels().len() * 9_999, "{name}: labels agree on {same} of {} voxels", full.labels.labels().len());
        }
        assert_eq!(full.entropy_nats, labels_only.entropy_nats, "{name}");
        assert_eq!(full.disagreement_nats, labels_only.disagreement_nats, "{name}");
        assert!(plain.entropy_nats.is_empty(), "{name}");
    }
}

//! coxa's own phantom segmentation TEST model (`models/infer/phantom/`, trained by
//! `train_phantom_seg.py` on phantoms other than the demo's) on the demo's phantom
//! (`PhantomSpec::default()`, 1.5 mm), as `coxa demo` runs it: CT normalisation, resampling to
//! 4 mm, the whole phantom in one patch, no mirroring (one member), back to 1.5 mm.
//! Its labels are compared with the phantom's exact labels (Dice per structure), and its
//! uncertainty with its errors: where the model is wrong, the entropy must be high.

use std::path::Path;

use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
use coxa_infer::{InferenceOptions, Model, SessionConfig, segment};

use crate::common::runtime_ready;

fn card() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("phantom").join("phantom_seg_test.toml")
}

#[test]
fn the_test_model_segments_the_demo_phantom() {
    if !runtime_ready() {
        return;
    }
    let phantom = hip_phantom(&PhantomSpec::default());
    let mut model = Model::load(&card(), &SessionConfig::default()).unwrap();
    assert!(model.card().test_model, "the phantom model must say it is a test model");
    assert!(model.card().description.contains("TEST MODEL, NOT FOR CLINICAL USE"));
    let options = InferenceOptions::for_card(model.card(), true);
    assert!(options.mirror_axes.is_empty(), "the card allows no mirroring (the network reads the position)");
    let seg = segment(&mut model, &phantom.ct, &options).unwrap();
    assert_eq!(seg.members, 1);
    let ours = seg.labels.labels();
    let truth = phantom.labels.labels();
    let mut worst = (String::new(), 1.0f64);
    for c in model.card().output.classes.iter().filter(|c| c.label != 0) {
        let (mut both, mut a, mut b) = (0usize, 0usize, 0usize);
        for (&o, &t) in ours.iter().zip(truth.iter()) {
            let (x, y) = (o == c.label, t == c.label);
            both += usize::from(x && y);
            a += usize::from(x);
            b += usize::from(y);
        }
        let dice = 2.0 * both as f64 / (a + b) as f64;
        let s = seg.summary.iter().find(|s| s.label == c.label).unwrap();
        println!(
            "{:22} Dice {dice:.3}  volume {:7.1} ml (truth {:7.1} ml)  mean entropy {:.3} nats, disagreement {:.4} nats",
            c.name,
            s.volume_ml,
            b as f64 * 1.5f64.powi(3) / 1000.0,
            s.mean_entropy_nats,
            s.mean_disagreement_nats
        );
        if dice < worst.1 {
            worst = (c.name.clone(), dice);
        }
    }
    assert!(worst.1 > 0.55, "Dice of {} is {:.3}", worst.0, worst.1);
    // Where the labels are wrong the model is unsure: mean entropy on wrong voxels several
    // times that on right ones.
    let (mut h_right, mut n_right, mut h_wrong, mut n_wrong) = (0f64, 0usize, 0f64, 0usize);
    for ((&o, &t), &h) in ours.iter().zip(truth.iter()).zip(seg.entropy_nats.iter()) {
        if o == t {
            h_right += h as f64;
            n_right += 1;
        } else {
            h_wrong += h as f64;
            n_wrong += 1;
        }
    }
    let (right, wrong) = (h_right / n_right as f64, h_wrong / n_wrong as f64);
    println!("mean entropy: {right:.4} nats on {n_right} right voxels, {wrong:.4} on {n_wrong} wrong ones");
    assert!(wrong > 5.0 * right, "entropy on wrong voxels {wrong} vs right {right}");
}

//! coxa-infer: sliding-window segmentation of the real example CT (122 x 101 x 112 at 3 mm) with
//! the threshold3 test model at 3 mm (no resampling), with and without 8-fold mirroring, and one
//! 32^3 patch through ONNX Runtime alone (the network's share). The printed line gives the
//! window's overhead over ONNX Runtime's own time. Needs ONNX Runtime (scripts/setup) and
//! ../shared/data; skips what is missing.
//!
//! The nnU-Net group: the nnU-Net v2 test export (models/infer/tests/nnunet: PlainConvUNet from a
//! plans file, patch 24 x 32 x 28) on its 46 x 52 x 36 CT, fold 0, without and with mirroring,
//! in nnUNetPredictor's float16 arithmetic, one ONNX Runtime thread, with the uncertainty (the
//! default), without it (`_no_uncertainty`: nnUNetPredictor's own work) and labels only
//! (`_labels_only`: no probability map, `InferenceOptions::probabilities = false`); and the same 18 tiles
//! through ONNX Runtime alone (`nnunet_onnxruntime_only_18_tiles`): coxa's overhead is the ratio.
//! The PyTorch side is `benches/compare_nnunet.py` (nnUNetPredictor on the same CT and weights);
//! `benches/ort_softmax_peer.py` times ONNX Runtime plus numpy's softmax and argmax, the work
//! coxa does beyond ONNX Runtime without the uncertainty.
//!
//! The phantom group: coxa's phantom segmentation test model (a larger network, one 88 x 56 x 80
//! tile) on the phantom at 4 mm, with and without the uncertainty and labels only, and the same
//! tile through ONNX Runtime alone.

#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};

use coxa_benches::{bench, find_shared_data, workspace};
use coxa_infer::window::tile_starts;
use coxa_infer::{InferenceOptions, Model, SessionConfig, WindowOptions, segment};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array5;

/// The threshold3 test card at 3 mm, written to a temporary folder.
fn card_at_3mm(dir: &Path) -> PathBuf {
    let models = workspace().join("models/infer/tests/models");
    let text = std::fs::read_to_string(models.join("threshold3.toml")).unwrap();
    let text = text
        .replace("weights = \"threshold3.onnx\"", &format!("weights = {:?}", models.join("threshold3.onnx").display().to_string()))
        .replace("target_spacing_mm_ijk = [4.0, 4.0, 4.0]", "target_spacing_mm_ijk = [3.0, 3.0, 3.0]");
    let p = dir.join("threshold3.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn infer(c: &mut Criterion) {
    // ../shared/data beside the repository (or beside any folder above it).
    let found = find_shared_data("totalseg/example_ct.nii.gz");
    let Some(ct_path) = found else {
        eprintln!("note: ../shared/data is missing, skipping the inference bench");
        return;
    };
    if let Err(e) = coxa_infer::runtime::runtime() {
        eprintln!("note: skipping the inference bench: {e}");
        return;
    }
    let ct = coxa_io::open(&ct_path, &coxa_io::OpenOptions::default()).unwrap().volume;
    let dir = tempfile_dir();
    let card = card_at_3mm(&dir);
    let config = SessionConfig { intra_threads: 1, ..Default::default() };
    let mut model = Model::load(&card, &config).unwrap();
    let mut g = c.benchmark_group("infer");
    let _ = g.sample_size(10);
    for (name, mirror) in [("example_ct_3mm_no_mirror", vec![]), ("example_ct_3mm_8_mirrors", vec![0, 1, 2])] {
        let options = InferenceOptions { mirror_axes: mirror, window: WindowOptions { batch_size: 4, ..Default::default() }, ..Default::default() };
        let seg = segment(&mut model, &ct, &options).unwrap();
        eprintln!(
            "{name}: {:.3} s total, {:.3} s in ONNX Runtime ({} calls), window overhead {:.3} s",
            seg.total_s,
            seg.timing.network_s,
            seg.timing.network_calls,
            seg.total_s - seg.timing.network_s
        );
        let _ = g.bench_function(format!("{}::{name}", module_path!()), |b| b.iter(|| segment(&mut model, std::hint::black_box(&ct), &options).unwrap()));
    }
    let patch = Array5::<f32>::from_elem((4, 1, 32, 32, 32), 0.3);
    let _ = g.bench_function(bench!("onnxruntime_4_patches_32cubed"), |b| b.iter(|| model.run(std::hint::black_box(patch.view())).unwrap()));
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("coxa-infer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn nnunet(c: &mut Criterion) {
    if let Err(e) = coxa_infer::runtime::runtime() {
        eprintln!("note: skipping the nnU-Net bench: {e}");
        return;
    }
    let dir = workspace().join("models/infer/tests/nnunet");
    let ct = coxa_io::open(&dir.join("ct.nii.gz"), &coxa_io::OpenOptions::default()).unwrap().volume;
    let mut model = Model::load(&dir.join("card.toml"), &SessionConfig { intra_threads: 1, ..Default::default() }).unwrap();
    let mut g = c.benchmark_group("infer");
    let _ = g.sample_size(10);
    // (name, mirroring, uncertainty, probability map)
    let cases = [
        ("nnunet_fold0_no_mirror", false, true, true),
        ("nnunet_fold0_no_mirror_no_uncertainty", false, false, true),
        ("nnunet_fold0_no_mirror_labels_only", false, false, false),
        ("nnunet_fold0_8_mirrors", true, true, true),
    ];
    for (name, mirror, uncertainty, probabilities) in cases {
        let mut options = InferenceOptions::for_card(model.card(), mirror);
        options.folds = vec![0];
        options.uncertainty = uncertainty;
        options.probabilities = probabilities;
        let seg = segment(&mut model, &ct, &options).unwrap();
        eprintln!("{name}: {:.3} s total, {:.3} s in ONNX Runtime ({} calls)", seg.total_s, seg.timing.network_s, seg.timing.network_calls);
        let _ = g.bench_function(format!("{}::{name}", module_path!()), |b| b.iter(|| segment(&mut model, std::hint::black_box(&ct), &options).unwrap()));
    }
    // The same tiles through ONNX Runtime alone (the CT is at the card's spacing and larger than
    // the patch: no resampling, no padding).
    let image = coxa_infer::segment::normalise(&ct.hu(), &model.card().input.normalisation);
    let patch = model.card().patch_size_kji();
    let starts: Vec<Vec<usize>> = (0..3).map(|a| tile_starts(image.shape()[a], patch[a], 0.5)).collect();
    let mut tiles = Vec::new();
    for &k in &starts[0] {
        for &j in &starts[1] {
            for &i in &starts[2] {
                let t = image.slice(ndarray::s![k..k + patch[0], j..j + patch[1], i..i + patch[2]]).to_owned();
                tiles.push(t.insert_axis(ndarray::Axis(0)).insert_axis(ndarray::Axis(0)));
            }
        }
    }
    assert_eq!(tiles.len(), 18);
    let _ = g.bench_function(bench!("nnunet_onnxruntime_only_18_tiles"), |b| {
        b.iter(|| {
            for t in &tiles {
                let _ = std::hint::black_box(model.run_fold(0, t.view()).unwrap());
            }
        })
    });
    g.finish();
}

/// coxa's phantom segmentation test model (models/infer/phantom: fixed 3D feature layers and a
/// per-voxel network, 10 classes, whose 88 x 56 x 80 patch holds the whole phantom) on the demo's
/// phantom already at its 4 mm (one tile, no resampling, no mirroring: one member, the generic
/// path's one-pass case), two ONNX Runtime threads; and the same tile through ONNX Runtime alone.
fn phantom_model(c: &mut Criterion) {
    if let Err(e) = coxa_infer::runtime::runtime() {
        eprintln!("note: skipping the phantom model bench: {e}");
        return;
    }
    let card = workspace().join("models/infer/phantom/phantom_seg_test.toml");
    let mut model = Model::load(&card, &SessionConfig { intra_threads: 2, ..Default::default() }).unwrap();
    let mut spec = coxa_anatomy::phantom::PhantomSpec::default();
    spec.voxel_mm = 4.0;
    let ct = coxa_anatomy::phantom::hip_phantom(&spec).ct;
    let options = InferenceOptions::for_card(model.card(), false);
    let mut g = c.benchmark_group("infer");
    let _ = g.sample_size(10);
    let seg = segment(&mut model, &ct, &options).unwrap();
    eprintln!("phantom model: {:.3} s total, {:.3} s in ONNX Runtime ({} calls)", seg.total_s, seg.timing.network_s, seg.timing.network_calls);
    let _ = g.bench_function(bench!("phantom_model_4mm_1_tile"), |b| b.iter(|| segment(&mut model, std::hint::black_box(&ct), &options).unwrap()));
    let plain = InferenceOptions { uncertainty: false, ..options.clone() };
    let _ = g.bench_function(bench!("phantom_model_4mm_1_tile_no_uncertainty"), |b| b.iter(|| segment(&mut model, std::hint::black_box(&ct), &plain).unwrap()));
    let labels_only = InferenceOptions { probabilities: false, ..plain.clone() };
    let _ = g.bench_function(bench!("phantom_model_4mm_1_tile_labels_only"), |b| b.iter(|| segment(&mut model, std::hint::black_box(&ct), &labels_only).unwrap()));
    // The same padded tile through ONNX Runtime alone.
    let image = coxa_infer::segment::normalise(&ct.hu(), &model.card().input.normalisation);
    let patch = model.card().patch_size_kji();
    let mut tile = Array5::<f32>::zeros((1, 1, patch[0], patch[1], patch[2]));
    let lo: Vec<usize> = (0..3).map(|a| (patch[a] - image.shape()[a]) / 2).collect();
    tile.slice_mut(ndarray::s![0, 0, lo[0]..lo[0] + image.shape()[0], lo[1]..lo[1] + image.shape()[1], lo[2]..lo[2] + image.shape()[2]]).assign(&image);
    let _ = g.bench_function(bench!("phantom_model_onnxruntime_only_1_tile"), |b| b.iter(|| model.run(std::hint::black_box(tile.view())).unwrap()));
    g.finish();
}

criterion_group!(benches, infer, nnunet, phantom_model);
criterion_main!(benches);

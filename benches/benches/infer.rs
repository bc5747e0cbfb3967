//! coxa-infer: sliding-window segmentation of the real example CT (122 x 101 x 112 at 3 mm) with
//! the threshold3 test model at 3 mm (no resampling), with and without 8-fold mirroring, and one
//! 32^3 patch through ONNX Runtime alone (the network's share). The printed line gives the
//! window's overhead over ONNX Runtime's own time. Needs ONNX Runtime (scripts/setup) and
//! ../shared/data; skips what is missing.

#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};

use coxa_infer::{InferenceOptions, Model, SessionConfig, WindowOptions, segment};
use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array5;

macro_rules! bench {
    ($name:literal) => {
        concat!(module_path!(), "::", $name)
    };
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

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
    let found = workspace().ancestors().map(|d| d.join("shared/data/totalseg/example_ct.nii.gz")).find(|p| p.exists());
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

criterion_group!(benches, infer);
criterion_main!(benches);

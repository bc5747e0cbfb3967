//! `coxa lesions --model`: coxa's learned lesion TEST model (models/infer/tests/models/
//! lesion_test.toml, trained by models/infer/python/train_lesion_model.py on lesions inserted into
//! the real example CT) on HELD-OUT trials: lesions drawn by
//! `coxa_diagnostics::lesions::sample` with the held-out seeds (10001..) in the held-out bones
//! (L3, the right hip: no training lesion was ever placed there). The figures it reaches on six
//! of them (seeds 10001..10006, at the default threshold 0.5) are asserted as floors (see
//! [`FLOOR_FOUND`]; all 24 held-out trials are scored by models/infer/python/
//! evaluate_lesion_model.py into lesion_test_metrics.json); the probability map equals Python
//! onnxruntime's on the same slice; and the card refusals, one line each with exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coxa_diagnostics::lesions::sample::{HELD_OUT_BONES, Placed, Sites, truth_map, with_lesions};
use coxa_diagnostics::lesions::{bones_of, depth_mm, totalseg_bone_names};
use nalgebra::Vector3;
use ndarray::{Array3, Axis};

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "warn").output().expect("coxa runs")
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/totalseg").join(rel)
}

use crate::cases::read_json;
use crate::lesions::{p, refused};
use crate::segment::runtime_ready;

fn card() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/models/lesion_test.toml")
}

/// A held-out trial: the CT with its lesions, written to `dir`, and what was inserted.
fn held_out(seed: u64, dir: &Path) -> (PathBuf, coxa_core::Volume, Vec<Placed>) {
    let ct = coxa_io::nifti::read_volume(&data("example_ct.nii.gz")).unwrap();
    let labels = coxa_io::nifti::read_label_map(&data("example_seg_fast_force_split.nii.gz")).unwrap();
    let (bones, names) = bones_of(&labels, &totalseg_bone_names());
    let depth = depth_mm(&bones, ct.grid());
    let placed = Sites::new(&ct, &bones, &names, &depth).draw(&HELD_OUT_BONES, 2, seed);
    let with = with_lesions(&ct, &placed, seed);
    let path = dir.join(format!("held_{seed}.nii.gz"));
    coxa_io::nifti::write_volume(&with, &path).unwrap();
    (path, with, placed)
}

#[derive(Default, Debug)]
struct Score {
    lesions: usize,
    found: usize,
    false_positives: usize,
    errors_mm: Vec<f64>,
    lesion_slices: usize,
    slices_found: usize,
    marked: usize,
    marked_true: usize,
}

/// Adds one run's figures (the definitions of models/infer/python/evaluate_lesion_model.py).
fn score(s: &mut Score, v: &serde_json::Value, map: &Array3<u16>, truth: &Array3<u16>, placed: &[Placed]) {
    let found: Vec<Vector3<f64>> = v["lesions"].as_array().unwrap().iter().map(|l| Vector3::from_iterator(l["centre_lps_mm"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))).collect();
    let mut used = vec![false; found.len()];
    for t in placed {
        s.lesions += 1;
        let near: Vec<(usize, f64)> = found.iter().enumerate().map(|(n, c)| (n, (c - t.lesion.centre_lps_mm.coords).norm())).filter(|(_, d)| *d <= t.lesion.diameter_mm / 2.0 + 5.0).collect();
        if let Some(best) = near.iter().map(|(_, d)| *d).reduce(f64::min) {
            s.found += 1;
            s.errors_mm.push(best);
        }
        near.iter().for_each(|(n, _)| used[*n] = true);
    }
    s.false_positives += used.iter().filter(|u| !**u).count();
    for (m, t) in map.axis_iter(Axis(0)).zip(truth.axis_iter(Axis(0))) {
        let (has, marked) = (t.iter().any(|v| *v != 0), m.iter().any(|v| *v != 0));
        s.lesion_slices += usize::from(has);
        s.slices_found += usize::from(m.iter().zip(t.iter()).any(|(a, b)| *a != 0 && *b != 0));
        s.marked += usize::from(marked);
        s.marked_true += usize::from(marked && has);
    }
}

#[test]
fn the_test_model_finds_held_out_inserted_lesions() {
    if !runtime_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let seg = data("example_seg_fast_force_split.nii.gz");
    let mut s = Score::default();
    for seed in 10_001..=10_006 {
        let (ct_path, ct, placed) = held_out(seed, tmp.path());
        let out = tmp.path().join(format!("out_{seed}"));
        let o = coxa(&["lesions", "--ct", p(&ct_path), "--labels", p(&seg), "--model", p(&card()), "--out", p(&out)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("TEST model"), "the test model is named as one");
        let v = read_json(&out.join("lesions.json"));
        eprintln!("seed {seed}: seconds {}", v["seconds"]);
        assert_eq!(v["model"]["name"], "coxa-lesion-test");
        assert_eq!(v["model"]["test_model"], true);
        assert!(v["method"].as_str().unwrap().starts_with("learned: model coxa-lesion-test"), "{}", v["method"]);
        for l in v["lesions"].as_array().unwrap() {
            for f in ["id", "centre_lps_mm", "volume_ml", "kind", "bone", "probability", "slices"] {
                assert!(!l[f].is_null(), "lesion field {f}: {l}");
            }
        }
        let map = coxa_io::nifti::read_label_map(&out.join("lesions.nii.gz")).unwrap();
        assert!(map.grid().same_as(ct.grid(), 1e-3));
        let any = coxa_io::OpenOptions::new().with_any_modality(true);
        let prob = coxa_io::open(&out.join("lesions_probability.nii.gz"), &any).unwrap().volume;
        let unc = coxa_io::open(&out.join("lesions_uncertainty.nii.gz"), &any).unwrap().volume;
        assert!(prob.grid().same_as(ct.grid(), 1e-3) && unc.grid().same_as(ct.grid(), 1e-3));
        assert!(prob.hu().iter().all(|x| (0.0..=1.0).contains(x)), "probabilities in [0, 1]");
        assert!(unc.hu().iter().all(|x| (0.0..=3f32.ln() + 1e-5).contains(x)), "entropy within [0, ln 3]");
        // Every marked voxel's probability is at least the threshold.
        assert!(map.labels().iter().zip(prob.hu().iter()).all(|(l, q)| *l == 0 || *q >= 0.5));
        score(&mut s, &v, map.labels(), &truth_map(&ct, &placed), &placed);
    }
    // The learned path's records match lesions.schema.json (Python's jsonschema).
    let kinds = crate::records::assert_folder_matches_schemas(tmp.path());
    assert!(kinds.contains("lesions"), "{kinds:?}");
    let sens = s.found as f64 / s.lesions as f64;
    let fp_per_ct = s.false_positives as f64 / 6.0;
    let slice_sens = s.slices_found as f64 / s.lesion_slices as f64;
    let ppv = s.marked_true as f64 / s.marked.max(1) as f64;
    let max_err = s.errors_mm.iter().copied().fold(0.0, f64::max);
    eprintln!("held-out 10001..10006: {s:?}; lesion sensitivity {sens:.2}, FP/CT {fp_per_ct:.2}, per-slice sensitivity {slice_sens:.2}, PPV {ppv:.2}, centre error max {max_err:.1} mm");
    // Floors a regression breaks (the committed model's figures: see the module docs).
    assert_eq!(s.lesions, 12);
    assert!(s.found >= FLOOR_FOUND, "{s:?}");
    assert!(s.false_positives <= CEIL_FALSE_POSITIVES, "{s:?}");
    assert!(slice_sens >= FLOOR_SLICE_SENSITIVITY && ppv >= FLOOR_SLICE_PPV, "{s:?}");
    assert!(max_err <= 5.0, "centres within 5 mm: {:?}", s.errors_mm);
}

/// The committed model finds 9 of these 12 lesions with 59 false positives (9.8 per CT), per
/// slice 43 of 59 lesion slices (0.73) and 45 of 117 marked slices true (PPV 0.38), centres within
/// 3.4 mm; the floors leave one lesion and a few slices of margin for another machine's rounding.
const FLOOR_FOUND: usize = 8;
/// See [`FLOOR_FOUND`].
const CEIL_FALSE_POSITIVES: usize = 65;
/// See [`FLOOR_FOUND`].
const FLOOR_SLICE_SENSITIVITY: f64 = 0.70;
/// See [`FLOOR_FOUND`].
const FLOOR_SLICE_PPV: f64 = 0.35;

/// The lesion probability coxa writes for a slice through a held-out lesion equals Python
/// onnxruntime's on the same HU (normalised, padded and run as the card says), within 1e-5.
#[test]
fn the_probability_equals_python_onnxruntime() {
    if !runtime_ready() {
        return;
    }
    let Some(py) = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join(".venv/bin/python"))
        .find(|c| Command::new(c).args(["-c", "import onnxruntime, numpy"]).output().is_ok_and(|o| o.status.success()))
    else {
        assert!(std::env::var("CI").is_err(), "the peer Python (.venv with onnxruntime) is needed in CI");
        eprintln!("note: skipping the peer comparison, run scripts/setup");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (ct_path, ct, placed) = held_out(10_002, tmp.path());
    let out = tmp.path().join("out");
    let o = coxa(&["lesions", "--ct", p(&ct_path), "--labels", p(&data("example_seg_fast_force_split.nii.gz")), "--model", p(&card()), "--no-mirror", "--out", p(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let prob = coxa_io::open(&out.join("lesions_probability.nii.gz"), &coxa_io::OpenOptions::new().with_any_modality(true)).unwrap().volume;
    let k = ct.grid().lps_to_voxel(&placed[0].lesion.centre_lps_mm)[2].round() as usize;
    let hu = ct.hu();
    let slice = hu.index_axis(Axis(0), k);
    let (rows, cols) = slice.dim();
    let bytes: Vec<u8> = slice.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(tmp.path().join("hu.f32"), bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/peer_lesion.py");
    let o = Command::new(&py).args([p(&script), p(&card()), p(&tmp.path().join("hu.f32")), &format!("{rows},{cols}"), p(&tmp.path().join("p.f32"))]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs: Vec<f32> = std::fs::read(tmp.path().join("p.f32")).unwrap().chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let probs = prob.hu();
    let ours = probs.index_axis(Axis(0), k);
    let max = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let peak = ours.iter().copied().fold(0.0f32, f32::max);
    eprintln!("slice {k}: max |coxa - onnxruntime| = {max:e}, peak probability {peak}; {}", String::from_utf8_lossy(&o.stdout).trim());
    assert_eq!(theirs.len(), rows * cols);
    assert!(peak > 0.5, "the slice through a lesion has a marked voxel");
    assert!(max <= 1e-5, "max difference {max:e}");
}

/// Cards that do not fit and inputs that cannot be searched: one line each, exit status 2,
/// nothing written.
#[test]
fn bad_cards_and_inputs_are_refused_on_one_line() {
    if !runtime_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ct = data("example_ct.nii.gz");
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/models");
    let text = std::fs::read_to_string(card()).unwrap();
    let variant = |name: &str, from: &str, to: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(models.join("lesion_test.onnx"), dir.join("lesion_test.onnx")).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(dir.join("card.toml"), text.replace(from, to)).unwrap();
        dir.join("card.toml")
    };
    let run = |card: &Path| coxa(&["lesions", "--ct", p(&ct), "--model", p(card), "--out", p(&out)]);
    // An anatomy card (another task).
    refused(run(&variant("task", "task = \"lesion-segmentation\"", "task = \"segmentation\"")), &["task", "coxa segment"]);
    // Weights missing.
    refused(run(&variant("missing", "weights = \"lesion_test.onnx\"", "weights = \"absent.onnx\"")), &["absent.onnx"]);
    // A SHA-256 that is not the weights'.
    let sha = text.lines().find(|l| l.starts_with("sha256")).unwrap().to_string();
    refused(run(&variant("sha", &sha, &format!("sha256 = \"{}\"", "0".repeat(64)))), &["SHA-256"]);
    // Input channels the graph does not have.
    refused(run(&variant("channels", "channels = 1", "channels = 3")), &["channels"]);
    // A first class that is not background.
    refused(run(&variant("classes", "name = \"background\"", "name = \"marrow\"")), &["background"]);
    // The anatomy test card given to coxa lesions, and the lesion card given to coxa segment.
    refused(run(&models.join("threshold3.toml")), &["task", "lesion-segmentation"]);
    refused(coxa(&["segment", "--ct", p(&ct), "--model", p(&card()), "--out", p(&out)]), &["coxa lesions --model"]);
    // An MR image.
    refused(coxa(&["lesions", "--ct", p(&data("example_mr_sm.nii.gz")), "--model", p(&card()), "--out", p(&out)]), &["not", "CT"]);
    // A CT of 4 slices.
    let full = coxa_io::nifti::read_volume(&ct).unwrap();
    let g = full.grid();
    let thin =
        coxa_core::Volume::new(coxa_core::Grid::axis_aligned([g.size()[0], g.size()[1], 4], g.spacing_mm(), g.origin_lps_mm()).unwrap(), full.hu().slice(ndarray::s![50..54, .., ..]).to_owned())
            .unwrap();
    let thin_path = tmp.path().join("thin.nii.gz");
    coxa_io::nifti::write_volume(&thin, &thin_path).unwrap();
    refused(coxa(&["lesions", "--ct", p(&thin_path), "--model", p(&card()), "--out", p(&out)]), &["4 slices", "at least 5"]);
    // An empty bone mask: soft tissue only (a slab of the CT with its bone set to 40 HU).
    let soft = coxa_core::Volume::new(g.clone(), full.hu().mapv(|v| if v > 150.0 { 40.0 } else { v })).unwrap();
    let soft_path = tmp.path().join("soft.nii.gz");
    coxa_io::nifti::write_volume(&soft, &soft_path).unwrap();
    refused(coxa(&["lesions", "--ct", p(&soft_path), "--model", p(&card()), "--out", p(&out)]), &["bone mask is empty"]);
    // A threshold outside (0, 1).
    refused(coxa(&["lesions", "--ct", p(&ct), "--model", p(&card()), "--threshold", "1.5", "--out", p(&out)]), &["--threshold"]);
    assert!(!out.exists(), "nothing written");
}

/// `[lesions] model = CARD` in a scenario: the case's `lesions/` holds the learned path's files
/// (the probability map byte for byte the command's on the same CT), the record and the report
/// name the model, and the case's lesion count is the record's; a threshold without a model, or
/// outside (0, 1), is refused before any case runs.
#[test]
fn the_scenario_stage_runs_the_lesion_model() {
    if !runtime_ready() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let text = |section: &str| {
        format!(
            "schema_version = 1\noutput_dir = \"out\"\n[[cases]]\nname = \"phantom\"\nphantom = true\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 20\n\n[report]\nsafe_zone_map = false\npictures = false\n\n[lesions]\n{section}"
        )
    };
    let scenario = tmp.path().join("learned.toml");
    std::fs::write(&scenario, text(&format!("model = {:?}\nthreshold = 0.6\n", p(&card())))).unwrap();
    let o = coxa(&["run", p(&scenario), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let case = tmp.path().join("out/cases/phantom");
    let v = read_json(&case.join("lesions/lesions.json"));
    assert_eq!(v["model"]["card"], "lesion_test.toml");
    assert_eq!(v["settings"]["threshold"].as_f64(), Some(0.6));
    assert_eq!(v["bones"], "the anatomy stage's label map (anatomy/labels.nii.gz)");
    for f in ["lesions.nii.gz", "lesions_probability.nii.gz", "lesions_uncertainty.nii.gz"] {
        assert!(case.join("lesions").join(f).is_file(), "{f}");
    }
    let single = tmp.path().join("single");
    let o = coxa(&["lesions", "--ct", p(&case.join("input/phantom_ct.nii.gz")), "--labels", p(&case.join("anatomy/labels.nii.gz")), "--model", p(&card()), "--out", p(&single)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(case.join("lesions/lesions_probability.nii.gz")).unwrap(), std::fs::read(single.join("lesions_probability.nii.gz")).unwrap(), "the stage's model ran as the command's");
    let n = v["lesions"].as_array().unwrap().len();
    let report = read_json(&case.join("report.json"));
    assert_eq!(report["lesions"]["lesions"].as_array().map(Vec::len), Some(n));
    assert!(report["lesions"]["method"].as_str().is_some_and(|m| m.starts_with("learned: model")), "{}", report["lesions"]["method"]);
    assert_eq!(read_json(&case.join("case.json"))["lesions"], n);
    for (section, cause) in [("threshold = 0.5\n".to_string(), "a threshold is a learned model's"), (format!("model = {:?}\nthreshold = 1.5\n", p(&card())), "between 0 and 1")] {
        crate::cases::refused_scenario(tmp.path(), &text(&section), cause);
    }
}

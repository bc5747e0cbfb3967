//! (c) Cards that do not match their model, a wrong SHA-256, a missing or wrong ONNX Runtime, and
//! options the model cannot take: one clear error each.

use crate::common;

use std::path::PathBuf;

use coxa_infer::runtime::{RuntimeSearch, locate};
use coxa_infer::{Error, InferenceOptions, Model, SessionConfig, segment};

use crate::common::{card, edited_card, runtime_ready, volume};

fn load_edited(name: &str, edit: impl Fn(String) -> String) -> (tempfile::TempDir, Result<Model, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let p = edited_card(dir.path(), name, edit);
    let r = Model::load(&p, &SessionConfig { intra_threads: 1, ..Default::default() });
    (dir, r)
}

#[test]
fn card_mismatches_are_refused_naming_what_differs() {
    if !runtime_ready() {
        return;
    }
    let cases: [(&str, &str, &str); 4] = [
        ("name = \"image\"", "name = \"ct\"", "input is named \"image\", the card says input.name = \"ct\""),
        ("name = \"logits\"", "name = \"probabilities\"", "no output \"probabilities\""),
        ("channels = 1", "channels = 2", "the input has 1 channels, the card says 2"),
        (
            "[[output.classes]]\nname = \"bone\"\nlabel = 2",
            "[[output.classes]]\nname = \"bone\"\nlabel = 2\n\n[[output.classes]]\nname = \"metal\"\nlabel = 3",
            "the output has 3 channels, the card says 4",
        ),
    ];
    for (from, to, want) in cases {
        let (_d, r) = load_edited("threshold3", |t| {
            assert!(t.contains(from), "{from}");
            t.replacen(from, to, 1)
        });
        let e = r.expect_err(want);
        let msg = e.to_string();
        assert!(matches!(e, Error::ModelMismatch { .. }), "{msg}");
        assert!(msg.contains(want) && msg.contains("does not match its card"), "{msg}");
        println!("{msg}");
    }
}

#[test]
fn a_wrong_sha256_is_refused() {
    let (_d, r) = load_edited("threshold3", |t| t.replace("184072f3", "084072f3"));
    let msg = r.expect_err("wrong hash").to_string();
    assert!(msg.contains("have SHA-256 184072f3") && msg.contains("says 084072f3") && msg.contains("update `sha256`"), "{msg}");
    // Changed weights under an unchanged card: same error.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(common::models_dir().join("threshold3.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.path().join("threshold3.onnx"), bytes).unwrap();
    std::fs::copy(card("threshold3"), dir.path().join("threshold3.toml")).unwrap();
    let e = Model::load(&dir.path().join("threshold3.toml"), &SessionConfig::default()).unwrap_err();
    assert!(matches!(e, Error::Sha256Mismatch { .. }), "{e}");
}

#[test]
fn bad_cards_name_the_field() {
    let cases = [
        ("card_version = 1", "card_version = 2", "`card_version` is 2"),
        ("task = \"segmentation\"", "task = \"detection\"", "`task`"),
        ("stochastic = false", "stochastic = false\ntemperature = 2.0", "unknown field `temperature`"),
        ("std_hu = 400.0", "std_hu = 0.0", "`input.normalisation.std_hu` is 0"),
        ("scheme = \"ct\"", "scheme = \"minmax\"", "unknown variant `minmax`"),
        ("patch_size_ijk = [32, 32, 32]", "patch_size_ijk = [32, 0, 32]", "`input.patch_size_ijk`"),
    ];
    for (from, to, want) in cases {
        let (_d, r) = load_edited("threshold3", |t| t.replacen(from, to, 1));
        let msg = r.expect_err(want).to_string();
        assert!(msg.contains(want) && msg.contains("threshold3.toml"), "{want}: {msg}");
    }
    let e = Model::load(&PathBuf::from("/nonexistent/card.toml"), &SessionConfig::default()).unwrap_err();
    assert!(matches!(e, Error::CardRead { .. }) && e.to_string().contains("/nonexistent/card.toml"), "{e}");
}

#[test]
fn a_missing_runtime_says_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let search = RuntimeSearch { explicit: None, start_dirs: vec![empty.path().to_path_buf()], python: Some(PathBuf::from("/nonexistent/python3")) };
    let msg = locate(&search).unwrap_err().to_string();
    assert!(msg.contains("pip install onnxruntime==1.31.1") && msg.contains("ORT_DYLIB_PATH") && msg.contains("/nonexistent/python3"), "{msg}");
    println!("{msg}");
    // ORT_DYLIB_PATH naming nothing.
    let search = RuntimeSearch { explicit: Some(empty.path().join("libonnxruntime.so")), ..Default::default() };
    let e = locate(&search).unwrap_err();
    assert!(matches!(e, Error::RuntimeEnvMissing { .. }), "{e}");
    // An old wheel in a project's .venv: refused by version, before loading.
    let capi = empty.path().join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
    std::fs::create_dir_all(&capi).unwrap();
    std::fs::write(capi.join("libonnxruntime.so.1.20.0"), b"not a library").unwrap();
    let deep = empty.path().join("a/b");
    std::fs::create_dir_all(&deep).unwrap();
    let search = RuntimeSearch { explicit: None, start_dirs: vec![deep], python: None };
    let e = locate(&search).unwrap_err();
    assert!(matches!(e, Error::RuntimeVersion { .. }) && e.to_string().contains("1.20.0") && e.to_string().contains("1.31"), "{e}");
    // The right version in the .venv two folders up is found.
    std::fs::remove_file(capi.join("libonnxruntime.so.1.20.0")).unwrap();
    std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"x").unwrap();
    let found = locate(&RuntimeSearch { explicit: None, start_dirs: vec![empty.path().join("a/b")], python: None }).unwrap();
    assert_eq!(found.path, capi.join("libonnxruntime.so.1.31.1"));
    assert_eq!(found.version.as_deref(), Some("1.31.1"));
}

#[test]
fn options_the_model_cannot_take_are_refused() {
    if !runtime_ready() {
        return;
    }
    let ct = volume([34, 34, 34], 4.0, |_, _, _| 0.0);
    let mut m = Model::load(&card("threshold3"), &SessionConfig::default()).unwrap();
    let e = segment(&mut m, &ct, &InferenceOptions { mc_passes: 4, ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("deterministic") && e.to_string().contains("mc_passes = 1"), "{e}");
    let e = segment(&mut m, &ct, &InferenceOptions { mirror_axes: vec![3], ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("mirror_axes"), "{e}");
    let (_d, r) = load_edited("threshold3", |t| t.replace("modality = \"CT\"", "modality = \"MR\""));
    let e = segment(&mut r.unwrap(), &ct, &InferenceOptions::default()).unwrap_err();
    assert!(e.to_string().contains("takes MR images") && e.to_string().contains("use a CT model"), "{e}");
}

/// Issue 45: a card's weights must lie in the card's folder (`..` or an absolute path is
/// refused before any file is opened; a link placed in the folder is the way to use weights kept
/// elsewhere), and a `coxa_class` coxa does not know is refused by the card itself, so that
/// `coxa segment` refuses it as `coxa anatomy --model` does.
#[test]
fn issue_45_weights_outside_the_card_folder_and_unknown_classes_are_refused() {
    use coxa_infer::card::ModelCard;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(card("threshold3")).unwrap();
    for weights in ["../threshold3.onnx", "/etc/passwd", "sub/../../x.onnx"] {
        let p = dir.path().join("outside.toml");
        std::fs::write(&p, text.replace("weights = \"threshold3.onnx\"", &format!("weights = {weights:?}"))).unwrap();
        let e = ModelCard::read(&p).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "model card {}: field `weights` names {weights}, which is not inside the card's folder; weights must lie in the card's folder (a path relative to it, without `..`): copy the file there, or put a link to it there",
                p.display()
            )
        );
    }
    let p = dir.path().join("class.toml");
    let named = text.replacen("name = \"bone\"", "name = \"bone\"\ncoxa_class = \"psoas_left\"", 1);
    assert_ne!(named, text, "the card has a class named bone");
    std::fs::write(&p, named).unwrap();
    let msg = ModelCard::read(&p).unwrap_err().to_string();
    assert!(msg.contains("field `output.classes.coxa_class` of class \"bone\" is \"psoas_left\", which is not a coxa class; use one of") && msg.contains("iliopsoas_left"), "{msg}");
    // A known class and weights inside the folder (a link to them) are taken.
    std::fs::write(&p, text.replacen("name = \"bone\"", "name = \"bone\"\ncoxa_class = \"femur_left\"", 1)).unwrap();
    assert!(ModelCard::read(&p).is_ok());
}

/// Issue 45: a CT with NaN or infinite voxels handed to the segmentation by a caller (coxa's
/// readers refuse such files) is refused by count before any tile runs.
#[test]
fn issue_45_a_ct_with_non_finite_voxels_is_refused() {
    if !runtime_ready() {
        return;
    }
    let mut model = Model::load(&card("threshold3"), &SessionConfig { intra_threads: 1, ..Default::default() }).unwrap();
    let ct = volume([20, 20, 20], 4.0, |i, j, _| {
        if (i, j) == (3, 4) {
            f32::NAN
        } else if (i, j) == (5, 5) {
            f32::INFINITY
        } else {
            -1000.0
        }
    });
    let e = segment(&mut model, &ct, &InferenceOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), "the CT has 40 voxels that are not numbers (20 NaN, 20 infinite); replace them (e.g. with -1024, air) first");
}

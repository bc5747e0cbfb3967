//! `coxa segment` with an nnU-Net v2 test export (models/infer/tests/nnunet: a real nnU-Net
//! architecture, untrained weights): the three files on the CT's grid, segment.json consistent
//! with the label map, the labels equal to nnUNetPredictor's own on that CT; and each bad input
//! (no runtime, weights that do not match the card, a card that is not valid, a model for another
//! modality, an existing output) one error line with exit status 2 and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn coxa(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coxa"));
    c.args(args).env("COXA_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("coxa runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/tests/nnunet")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("coxa-segment-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Whether ONNX Runtime is here (outside CI its absence skips with a note).
pub(crate) fn runtime_ready() -> bool {
    match coxa_infer::runtime::runtime() {
        Ok(_) => true,
        Err(e) => {
            assert!(std::env::var("CI").is_err(), "ONNX Runtime is needed in CI: {e}");
            eprintln!("note: skipping, {e}");
            false
        }
    }
}

#[test]
fn segment_writes_labels_uncertainty_and_summary_equal_to_nnunet() {
    if !runtime_ready() {
        return;
    }
    let ct_path = fixtures().join("ct.nii.gz");
    let out = scratch("ok");
    let o = coxa(&["segment", "--ct", s(&ct_path), "--model", s(&fixtures().join("card.toml")), "--out", s(&out), "--fold", "0", "--no-mirror", "--batch", "4"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("TEST model"), "the test model is named as one");
    let ct = coxa_io::open(&ct_path, &coxa_io::OpenOptions::default()).unwrap().volume;
    let labels = coxa_io::nifti::read_label_map(&out.join("labels.nii.gz")).unwrap();
    let unc = coxa_io::open(&out.join("uncertainty.nii.gz"), &coxa_io::OpenOptions::new().with_any_modality(true)).unwrap().volume;
    assert!(labels.grid().same_as(ct.grid(), 1e-6) && unc.grid().same_as(ct.grid(), 1e-6), "same grid as the CT");
    let ln3 = 3f32.ln();
    assert!(unc.hu().iter().all(|&h| (0.0..=ln3 + 1e-5).contains(&h)), "entropy within [0, ln 3]");
    // Labels equal nnU-Net's (fold 0, no mirroring) on >= 99.99 % of the voxels.
    let theirs = std::fs::read(fixtures().join("fold0.labels.u8")).unwrap();
    let agree = labels.labels().iter().zip(&theirs).filter(|(a, b)| **a == u16::from(**b)).count();
    assert!(agree as f64 >= 0.9999 * theirs.len() as f64, "labels agree with nnU-Net on {agree} of {}", theirs.len());
    // segment.json: every structure's voxels, volume and mean uncertainty from the written files.
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("segment.json")).unwrap()).unwrap();
    let voxel_ml = ct.grid().spacing_mm().iter().product::<f64>() / 1000.0;
    for st in j["structures"].as_array().unwrap() {
        let l = st["label"].as_u64().unwrap() as u16;
        let (n, hsum) = labels.labels().iter().zip(unc.hu().iter()).filter(|(a, _)| **a == l).fold((0usize, 0f64), |(n, h), (_, &u)| (n + 1, h + f64::from(u)));
        assert_eq!(st["voxels"].as_u64().unwrap() as usize, n, "{st}");
        assert!((st["volume_ml"].as_f64().unwrap() - n as f64 * voxel_ml).abs() < 1e-9, "{st}");
        assert!((st["mean_uncertainty_nats"].as_f64().unwrap() - hsum / n as f64).abs() < 1e-5, "{st}");
    }
    assert_eq!(j["model"]["test_model"], true);
    assert_eq!(j["members"], 1);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn segment_bad_inputs_exit_2_with_one_line_and_write_nothing() {
    if !runtime_ready() {
        return;
    }
    let ct = fixtures().join("ct.nii.gz");
    let dir = scratch("bad");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["card.toml", "fold_0.onnx", "fold_1.onnx"] {
        std::fs::copy(fixtures().join(f), dir.join(f)).unwrap();
    }
    let card = std::fs::read_to_string(dir.join("card.toml")).unwrap();
    std::fs::write(dir.join("mr.toml"), card.replace("modality = \"CT\"", "modality = \"MR\"")).unwrap();
    std::fs::write(dir.join("broken.toml"), card.replace("[input]", "[inptu]")).unwrap();
    let mut bytes = std::fs::read(dir.join("fold_1.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dir.join("changed_1.onnx"), &bytes).unwrap();
    std::fs::write(dir.join("changed.toml"), card.replace("\"fold_1.onnx\"", "\"changed_1.onnx\"")).unwrap();
    let existing = dir.join("existing");
    std::fs::create_dir_all(&existing).unwrap();
    // (what, card, --out, environment, what the error says)
    type Case<'a> = (&'a str, &'a str, &'a Path, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        ("no runtime", "card.toml", &dir.join("out1"), &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")], "ORT_DYLIB_PATH"),
        ("weights not the card's", "changed.toml", &dir.join("out2"), &[], "SHA-256"),
        ("card not valid", "broken.toml", &dir.join("out3"), &[], "is not valid"),
        ("another modality", "mr.toml", &dir.join("out4"), &[], "MR images"),
        ("existing output", "card.toml", &existing, &[], "already exists"),
    ];
    for (what, card, out, env, says) in cases {
        let o = coxa(&["segment", "--ct", s(&ct), "--model", s(&dir.join(card)), "--out", s(out), "--no-mirror", "--fold", "0"], env);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: one line, got {err}");
        println!("{what}: {}", err.trim());
        if out != existing {
            assert!(!out.exists(), "{what}: nothing written");
        } else {
            assert_eq!(std::fs::read_dir(out).unwrap().count(), 0, "the existing folder is untouched");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `coxa anatomy --ct CT --model CARD` end to end with coxa's phantom segmentation TEST model
/// (models/infer/phantom) on the demo's phantom: the model's labels go to the anatomy stage,
/// which writes them with the uncertainty map and segment.json beside anatomy.json. The labels
/// are checked against the phantom's exact ones (Dice per structure). The femoral heads the
/// anatomy stage fits on these coarse labels are printed against the truth (measured: the left
/// head not found, the right one far off and called uncertain by the anatomy stage).
#[test]
fn anatomy_with_the_phantom_test_model_matches_the_phantom() {
    if !runtime_ready() {
        return;
    }
    use coxa_anatomy::phantom::{PhantomSpec, hip_phantom};
    let phantom = hip_phantom(&PhantomSpec::default());
    let dir = scratch("phantom-model");
    std::fs::create_dir_all(&dir).unwrap();
    let ct = dir.join("phantom_ct.nii.gz");
    coxa_io::nifti::write_volume(&phantom.ct, &ct).unwrap();
    let out = dir.join("anatomy");
    // The card with the model's own class names, mapped to coxa's by `coxa_class` (muscles) and
    // by `totalseg_id` (the sacrum), as a card for another tool's model would be written.
    let phantom_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/phantom");
    std::fs::copy(phantom_dir.join("phantom_seg_test.onnx"), dir.join("phantom_seg_test.onnx")).unwrap();
    let mut text = std::fs::read_to_string(phantom_dir.join("phantom_seg_test.toml")).unwrap();
    for (coxa_name, own) in [("gluteus_medius_left", "GluteusMed_L"), ("gluteus_medius_right", "GluteusMed_R"), ("iliopsoas_left", "Iliopsoas_L"), ("iliopsoas_right", "Iliopsoas_R")] {
        text = text.replace(&format!("name = \"{coxa_name}\""), &format!("name = \"{own}\"\ncoxa_class = \"{coxa_name}\""));
    }
    text = text.replace("name = \"sacrum\"", "name = \"Sacrum\"\ntotalseg_id = 25");
    let card = dir.join("renamed.toml");
    std::fs::write(&card, &text).unwrap();
    // A coxa_class coxa does not know: one error line, exit status 2, nothing written.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text.replace("coxa_class = \"iliopsoas_left\"", "coxa_class = \"psoas_left\"")).unwrap();
    let o = coxa(&["anatomy", "--ct", s(&ct), "--model", s(&bad), "--out", s(&dir.join("bad")), "--json"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("psoas_left") && err.contains("not a coxa class") && err.trim().lines().count() == 1, "{err}");
    assert!(!dir.join("bad").exists());
    let o = coxa(&["anatomy", "--ct", s(&ct), "--model", s(&card), "--out", s(&out), "--json"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let labels = coxa_io::nifti::read_label_map(&out.join("labels.nii.gz")).unwrap();
    assert!(labels.grid().same_as(phantom.ct.grid(), 1e-6));
    let truth = phantom.labels.labels();
    for (id, name) in phantom.labels.classes().iter() {
        let (mut both, mut a, mut b) = (0usize, 0usize, 0usize);
        for (&x, &y) in labels.labels().iter().zip(truth.iter()) {
            both += usize::from(x == id && y == id);
            a += usize::from(x == id);
            b += usize::from(y == id);
        }
        let dice = 2.0 * both as f64 / (a + b) as f64;
        println!("{name}: Dice {dice:.3}");
        assert!(dice > 0.6, "{name}: Dice {dice:.3}");
    }
    let seg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("segment.json")).unwrap()).unwrap();
    assert_eq!(seg["model"]["test_model"], true);
    assert_eq!(seg["members"], 1, "no mirroring: one member");
    assert!(out.join("uncertainty.nii.gz").exists());
    let anatomy: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("anatomy.json")).unwrap()).unwrap();
    // The model's muscles, under coxa's names, measured on the written labels.
    let voxel_cm3 = labels.grid().spacing_mm().iter().product::<f64>() / 1000.0;
    let counts = labels.counts();
    let muscles = anatomy["muscles"].as_array().expect("muscles in anatomy.json");
    let names: Vec<&str> = muscles.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gluteus_medius_left", "gluteus_medius_right", "iliopsoas_left", "iliopsoas_right"]);
    for m in muscles {
        let id = m["label"].as_u64().unwrap() as u16;
        assert_eq!(m["n_voxels"].as_u64().unwrap(), counts[&id] as u64, "{m}");
        assert!((m["volume_cm3"].as_f64().unwrap() - counts[&id] as f64 * voxel_cm3).abs() < 1e-9, "{m}");
        let exact = phantom.labels.counts().get(&id).copied().unwrap_or(0) as f64 * voxel_cm3;
        println!("{}: {:.1} cm3 from the model, {exact:.1} cm3 exact", m["name"], m["volume_cm3"]);
    }
    assert!(anatomy["labels"]["classes"].as_array().unwrap().iter().any(|c| c["name"] == "sacrum" && c["id"] == 25), "the sacrum by its TotalSegmentator id");
    // The landmarks on these 4 mm-coarse labels: measured, not asserted close. A head centre more
    // than 5 mm from the truth must be one the anatomy stage itself calls not good.
    for head in anatomy["femoral_heads"].as_array().expect("femoral_heads in anatomy.json") {
        let side = head["side"].as_str().unwrap();
        let c: Vec<f64> = head["centre_lps_mm"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let t = phantom.truth.head_centres_lps_mm[usize::from(side == "right")];
        let err = ((c[0] - t.x).powi(2) + (c[1] - t.y).powi(2) + (c[2] - t.z).powi(2)).sqrt();
        println!("femoral head {side}: {err:.2} mm from the truth, quality {}", head["quality"]);
        assert!(err < 5.0 || head["quality"] != "good", "femoral head {side}: {err:.2} mm from the truth, yet called good");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `coxa demo` with ONNX Runtime present: the phantom is segmented by the built-in test model,
/// `anatomy/uncertainty.nii.gz` and `anatomy/segment.json` are written, and the report has the
/// uncertainty section (every structure with its volume and mean uncertainty, the flag rule, the
/// model marked as a test model), consistent with segment.json.
#[test]
fn the_demo_segments_the_phantom_with_the_test_model() {
    if !runtime_ready() {
        return;
    }
    let case = crate::cases::demo_phantom();
    let anatomy = case.join("anatomy");
    for f in ["model_labels.nii.gz", "uncertainty.nii.gz", "segment.json"] {
        assert!(anatomy.join(f).exists(), "anatomy/{f} missing");
    }
    let seg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(anatomy.join("segment.json")).unwrap()).unwrap();
    let report: coxa_core::CaseReport = serde_json::from_str(&std::fs::read_to_string(case.join("report.json")).unwrap()).unwrap();
    let rec = report.segmentation.expect("the report's segmentation section");
    assert!(rec.test_model);
    assert_eq!(rec.structures.len(), 9);
    for st in &rec.structures {
        let j = seg["structures"].as_array().unwrap().iter().find(|x| x["name"] == st.name.as_str()).unwrap();
        assert_eq!(j["volume_ml"].as_f64(), Some(st.volume_ml));
        assert_eq!(j["mean_uncertainty_nats"].as_f64(), st.mean_uncertainty_nats);
        assert_eq!(st.flagged, st.mean_uncertainty_nats.is_none_or(|h| h > rec.flag_threshold_nats));
    }
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("Learned segmentation and its uncertainty") && html.contains("TEST MODEL, NOT FOR CLINICAL USE"));
    assert!(html.contains("gluteus_medius_left"));
}

/// A scenario case with a learned model (`model`, `model_use = "muscles"`): the model's muscles
/// feed the muscle measures and the `[msk]` stage's strength, as a label map's do. The phantom
/// runs twice in one scenario, with its exact muscle labels and with coxa's phantom TEST model's
/// (bones from coxa's classical segmentation in both, so the hip models are the same): the
/// model's muscles are those of `anatomy/labels.nii.gz` (not the phantom's), their volumes are
/// printed against the exact ones, and every line whose force comes from its CT volume scales
/// with the lean volume of its class between the two cases.
#[test]
fn a_scenario_model_feeds_the_muscle_measures_and_the_msk_stage() {
    if !runtime_ready() {
        return;
    }
    let dir = scratch("scenario-model");
    std::fs::create_dir_all(&dir).unwrap();
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/infer/phantom/phantom_seg_test.toml");
    let scn = format!(
        "schema_version = 1\nname = \"model muscles\"\n\n[[cases]]\nname = \"exact\"\nphantom = true\n\n[[cases]]\nname = \"model\"\nphantom = true\nmodel = {:?}\nmodel_use = \"muscles\"\n\n[placement]\ncup_inclination_deg = 40\ncup_anteversion_deg = 15\nstem_anteversion_deg = 15\n\n[rom]\nstanding_tilt_deg = 0\nsitting_extra_tilt_deg = 20\n\n[report]\npictures = false\nsafe_zone_map = false\n\n[msk]\nbody_weight_n = 700\nactivities = [\"one-leg-stance\"]\n",
        s(&card)
    );
    let file = dir.join("model.toml");
    std::fs::write(&file, scn).unwrap();
    let out = dir.join("results");
    let o = coxa(&["run", s(&file), "--out", s(&out), "--quiet"], &[]);
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let read = |p: PathBuf| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap() };
    let case = |name: &str| out.join("cases").join(name);
    let (exact, model) = (read(case("exact").join("anatomy/anatomy.json")), read(case("model").join("anatomy/anatomy.json")));
    // The model's labels are the anatomy's: its muscles measured on them, not the phantom's.
    let labels = coxa_io::nifti::read_label_map(&case("model").join("anatomy/labels.nii.gz")).unwrap();
    let voxel_cm3 = labels.grid().spacing_mm().iter().product::<f64>() / 1000.0;
    let counts = labels.counts();
    let muscles = |a: &serde_json::Value| -> Vec<(String, f64, f64, u64)> {
        a["muscles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["name"].as_str().unwrap().to_string(), m["volume_cm3"].as_f64().unwrap(), m["lean_fraction"].as_f64().unwrap(), m["label"].as_u64().unwrap()))
            .collect()
    };
    let (me, mm) = (muscles(&exact), muscles(&model));
    let names = |v: &[(String, f64, f64, u64)]| v.iter().map(|m| m.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&mm), ["gluteus_medius_left", "gluteus_medius_right", "iliopsoas_left", "iliopsoas_right"]);
    assert_eq!(names(&me), names(&mm));
    let mut lean_ratio = std::collections::BTreeMap::new();
    for ((name, v_model, lean_model, label), (_, v_exact, lean_exact, _)) in mm.iter().zip(&me) {
        assert!((v_model - counts[&(*label as u16)] as f64 * voxel_cm3).abs() < 1e-9, "{name}: the volume of the written labels");
        println!("{name:22} model {v_model:7.1} cm3 (lean {lean_model:.3})  exact labels {v_exact:7.1} cm3 (lean {lean_exact:.3})");
        assert!(*v_model != *v_exact, "{name}: the model's volume, not the phantom's own");
        assert!((0.5..2.5).contains(&(v_model / v_exact)), "{name}: {v_model} vs {v_exact} cm3");
        let _ = lean_ratio.insert(name.clone(), v_model * lean_model / (v_exact * lean_exact));
    }
    // The report names the model and how its labels were used.
    let report = read(case("model").join("report.json"));
    let seg = &report["segmentation"];
    assert_eq!(seg["test_model"], true);
    assert_eq!(seg["labels_file"], "anatomy/labels.nii.gz");
    assert!(seg["use_note"].as_str().unwrap().contains("muscles"), "{}", seg["use_note"]);
    assert!(case("model").join("anatomy/uncertainty.nii.gz").exists() && case("model").join("anatomy/segment.json").exists());
    // [msk]: each line whose force comes from its CT class's volume in both cases scales with
    // that class's lean volume (the bones, so the scaled model and the split among a class's
    // lines, are the same in both cases).
    let lines = |r: &serde_json::Value| -> Vec<(String, String, f64, String)> {
        r["msk"]["strength"]["lines"]
            .as_array()
            .unwrap_or_else(|| panic!("no msk.strength: {}", r["msk"]))
            .iter()
            .map(|l| (l["muscle"].as_str().unwrap().into(), l["ct_class"].as_str().unwrap().into(), l["personalised_n"].as_f64().unwrap(), l["source"].as_str().unwrap().into()))
            .collect()
    };
    let (le, lm) = (lines(&read(case("exact").join("report.json"))), lines(&report));
    let mut checked = 0;
    for (muscle, class, f_model, source) in &lm {
        let Some((_, _, f_exact, source_exact)) = le.iter().find(|l| &l.0 == muscle && &l.1 == class) else { panic!("{muscle} ({class}) only with the model") };
        if source == "volume" && source_exact == "volume" {
            let r = lean_ratio[class];
            assert!((f_model / f_exact - r).abs() < 2e-3 * r + 0.1 / f_exact, "{muscle} ({class}): {f_model} N vs {f_exact} N, lean volume ratio {r}");
            checked += 1;
        }
    }
    println!("{checked} model lines' strength from the model's muscles");
    assert!(checked >= 4, "lines with their strength from the CT volume: {checked}");
    assert!(lm.iter().any(|l| l.1.starts_with("gluteus_medius")) && lm.iter().any(|l| l.1.starts_with("iliopsoas")));
    let _ = std::fs::remove_dir_all(&dir);
}

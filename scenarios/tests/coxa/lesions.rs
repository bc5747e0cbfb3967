//! `coxa lesions` as a user runs it: the real CT (TotalSegmentator's example) with a sclerotic
//! lesion inserted in L3 (`coxa_diagnostics::lesions::insert`, 654 HU: the mean of untreated
//! osteoblastic metastases, Ulano et al. AJR 2016) found at its place in `lesions.json` and
//! `lesions.nii.gz`; the threshold mask without a label map; and the refusals (exit 2, one line,
//! nothing written): an MR NIfTI, an MR DICOM series, a CT of 3 slices, a label map without bone,
//! a label map on another grid, an existing output folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coxa_core::Volume;
use coxa_diagnostics::lesions::insert::{Inserted, insert};
use coxa_diagnostics::lesions::{Kind, bones_of, depth_mm, totalseg_bone_names};
use coxa_io::dicom::{self, WriteSeriesOptions};
use nalgebra::Vector3;
use ndarray::{Array3, s};

fn coxa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coxa")).args(args).env("COXA_LOG", "warn").output().expect("coxa runs")
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/totalseg").join(rel)
}

pub(crate) fn p(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn refused(out: Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(lines[0].starts_with("error: ") && !stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "stderr lacks {n:?}: {stderr}");
    }
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn an_inserted_sclerotic_lesion_is_found_in_l3() {
    let (ct_path, seg_path) = (data("example_ct.nii.gz"), data("example_seg_fast_force_split.nii.gz"));
    let mut ct = coxa_io::nifti::read_volume(&ct_path).unwrap();
    let labels = coxa_io::nifti::read_label_map(&seg_path).unwrap();
    let (bones, names) = bones_of(&labels, &totalseg_bone_names());
    let l3 = *names.iter().find(|(_, n)| *n == "vertebrae_L3").unwrap().0;
    let depth = depth_mm(&bones, ct.grid());
    let ((k, j, i), _) = depth.indexed_iter().filter(|(idx, _)| bones[*idx] == l3).max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    let centre = ct.grid().voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
    insert(&mut ct, &Inserted { centre_lps_mm: centre, diameter_mm: 12.0, hu: 654.0, kind: Kind::Blastic }, 20.0, 1);
    let tmp = tempfile::tempdir().unwrap();
    let with = tmp.path().join("with_lesion.nii.gz");
    coxa_io::nifti::write_volume(&ct, &with).unwrap();
    let out = tmp.path().join("out");
    let o = coxa(&["lesions", "--ct", p(&with), "--labels", p(&seg_path), "--out", p(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = read_json(&out.join("lesions.json"));
    assert_eq!(v["ct"], "with_lesion.nii.gz");
    let lesions = v["lesions"].as_array().unwrap();
    let found: Vec<&serde_json::Value> = lesions.iter().filter(|l| l["bone"] == "vertebrae_L3" && l["kind"] == "blastic").collect();
    assert_eq!(found.len(), 1, "{lesions:?}");
    let c: Vec<f64> = found[0]["centre_lps_mm"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    let err = (Vector3::new(c[0], c[1], c[2]) - centre.coords).norm();
    assert!(err <= 5.0, "centre {err:.1} mm off");
    let slices = found[0]["slices"].as_array().unwrap();
    assert!(slices[0].as_u64().unwrap() <= k as u64 && k as u64 <= slices[1].as_u64().unwrap());
    // The label map: on the CT's grid, each lesion's voxels its volume.
    let map = coxa_io::nifti::read_label_map(&out.join("lesions.nii.gz")).unwrap();
    assert!(map.grid().same_as(ct.grid(), 1e-3));
    for l in lesions {
        let id = l["id"].as_u64().unwrap() as u16;
        let n = map.labels().iter().filter(|v| **v == id).count();
        assert!((n as f64 * 0.027 - l["volume_ml"].as_f64().unwrap()).abs() < 1e-6, "lesion {id}");
    }
    assert!(v["not_searched"].as_array().unwrap().iter().any(|n| n["bone"] == "femur_left"), "the screw's surroundings: {v}");
    // The same CT without a label map: the threshold mask, one bone.
    let out2 = tmp.path().join("out2");
    let o = coxa(&["lesions", "--ct", p(&with), "--out", p(&out2)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v2 = read_json(&out2.join("lesions.json"));
    assert!(v2["bones"].as_str().unwrap().starts_with("threshold mask"), "{}", v2["bones"]);
    assert!(!out.join("lesions_seg.dcm").exists() && !out2.join("lesions_seg.dcm").exists(), "no SEG from a NIfTI CT");
    // The same CT as a DICOM series: the lesions also as a DICOM SEG of that series (its
    // segments checked against the label map by models/pacs/tests/lesion_seg.rs).
    let series = tmp.path().join("series");
    dicom::write_series(&ct, &series, &WriteSeriesOptions::new().with_uid_seed(43)).unwrap();
    let out3 = tmp.path().join("out3");
    let o = coxa(&["lesions", "--ct", p(&series), "--labels", p(&seg_path), "--out", p(&out3)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("lesions_seg.dcm"), "{}", String::from_utf8_lossy(&o.stdout));
    let seg = dicom_object::open_file(out3.join("lesions_seg.dcm")).unwrap();
    let text = |t| seg.element(t).unwrap().to_str().unwrap().trim_end_matches(['\0', ' ']).to_string();
    assert_eq!(text(dicom_dictionary_std::tags::MODALITY), "SEG");
    let n3 = read_json(&out3.join("lesions.json"))["lesions"].as_array().unwrap().len();
    assert_eq!(seg.element(dicom_dictionary_std::tags::SEGMENT_SEQUENCE).unwrap().items().unwrap().len(), n3, "one segment per lesion");
}

#[test]
fn bad_inputs_are_refused_on_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ct_path = data("example_ct.nii.gz");
    // An MR NIfTI: intensities without air.
    refused(coxa(&["lesions", "--ct", p(&data("example_mr_sm.nii.gz")), "--out", p(&out)]), &["not", "CT"]);
    // An MR DICOM series.
    let ct = coxa_io::nifti::read_volume(&ct_path).unwrap();
    let sub =
        |n: usize| Volume::new(coxa_core::Grid::axis_aligned([122, 101, n], ct.grid().spacing_mm(), ct.grid().origin_lps_mm()).unwrap(), ct.hu().slice(s![40..40 + n, .., ..]).to_owned()).unwrap();
    let series = tmp.path().join("mr");
    let files = dicom::write_series(&sub(6), &series, &WriteSeriesOptions::new().with_uid_seed(5)).unwrap();
    for f in &files {
        let mut b = std::fs::read(f).unwrap();
        let pat = [0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0];
        let at = b.windows(pat.len()).position(|w| w == pat).unwrap() + pat.len();
        b[at..at + 2].copy_from_slice(b"MR");
        std::fs::write(f, b).unwrap();
    }
    refused(coxa(&["lesions", "--ct", p(&series), "--out", p(&out)]), &["Modality MR", "coxa lesions needs Hounsfield units from a CT"]);
    // Three slices.
    let thin = tmp.path().join("thin.nii.gz");
    coxa_io::nifti::write_volume(&sub(3), &thin).unwrap();
    refused(coxa(&["lesions", "--ct", p(&thin), "--out", p(&out)]), &["3 slices", "at least 5"]);
    // A label map without bone.
    let empty = tmp.path().join("empty.nii.gz");
    let map = coxa_core::LabelMap::new(ct.grid().clone(), Array3::zeros((112, 101, 122)), coxa_core::ClassTable::new()).unwrap();
    coxa_io::nifti::write_label_map(&map, &empty).unwrap();
    refused(coxa(&["lesions", "--ct", p(&ct_path), "--labels", p(&empty), "--out", p(&out)]), &["holds no bone"]);
    // A label map on another grid (30 slices).
    refused(coxa(&["lesions", "--ct", p(&ct_path), "--labels", p(&data("example_seg.nii.gz")), "--out", p(&out)]), &["not on the CT's grid"]);
    assert!(!out.exists(), "nothing written");
    // An existing folder is never overwritten.
    std::fs::create_dir(&out).unwrap();
    refused(coxa(&["lesions", "--ct", p(&ct_path), "--out", p(&out)]), &["already exists"]);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

/// The `[lesions]` stage: a phantom case's folder gets `lesions/` (the JSON naming the anatomy
/// stage's label map as the bones, the lesion map on the CT's grid).
#[test]
fn the_scenario_stage_writes_the_case_lesions() {
    let tmp = tempfile::tempdir().unwrap();
    let case = crate::cases::diagnostics_phantom().join("out/cases/phantom");
    let v = read_json(&case.join("lesions/lesions.json"));
    assert_eq!(v["bones"], "the anatomy stage's label map (anatomy/labels.nii.gz)");
    assert!(v["lesions"].is_array() && v["references"].as_array().is_some_and(|r| !r.is_empty()), "{v}");
    let map = coxa_io::nifti::read_label_map(&case.join("lesions/lesions.nii.gz")).unwrap();
    let labels = coxa_io::nifti::read_label_map(&case.join("anatomy/labels.nii.gz")).unwrap();
    assert!(map.grid().same_as(labels.grid(), 1e-3));
    // The report's section and the summary's count say as many lesions as lesions.json.
    let n = v["lesions"].as_array().unwrap().len();
    let report = read_json(&case.join("report.json"));
    assert_eq!(report["lesions"]["lesions"].as_array().map(Vec::len), Some(n), "{}", report["lesions"]);
    assert_eq!(read_json(&case.join("case.json"))["lesions"], n);
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("Bone lesion candidates") && html.contains("not a diagnosis"), "the report's lesion section");
    // A model card that does not exist is a scenario error.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "schema_version = 1\n[[cases]]\nname = \"a\"\nphantom = true\n[lesions]\nmodel = \"x.toml\"\n").unwrap();
    let o = coxa(&["run", p(&bad), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

//! The lesions of `coxa lesions` as a DICOM SEG ([`coxa_pacs::lesion_seg`]), on the real CT
//! written as a DICOM series, checked side by side with highdicom and pydicom
//! (`peers/validate_lesion_seg.py`): each lesion one segment coded as a lesion, its voxels on
//! every source slice equal to the label map's; a case folder's lesions pushed beside its
//! anatomy; and the refusals of a lesions folder whose two
//! files disagree.

mod common;

use std::path::{Path, PathBuf};

use coxa_core::{ClassTable, LabelMap};
use coxa_pacs::lesion_seg::build_lesion_seg;
use coxa_pacs::results::Source;

fn python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|a| a.join("Cargo.lock").is_file()).unwrap();
    let p = root.join(".venv/bin/python");
    let ok = p.is_file() && std::process::Command::new(&p).args(["-c", "import highdicom, pydicom, nibabel"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "CI: .venv with highdicom missing (scripts/setup)");
        eprintln!("note: .venv with highdicom missing; peer check skipped");
    }
    ok.then_some(p)
}

/// A lesions folder on the CT's grid: lesion 1 a 9 mm ball in L3 (label 29), lesion 2 a 12 mm
/// ball in the left hip (label 77), as `coxa lesions` writes them.
fn lesions_folder(data: &Path, dir: &Path, json_ids: &[u16]) {
    let seg = coxa_io::nifti::read_label_map(&data.join("totalseg/example_seg_fast_force_split.nii.gz")).unwrap();
    let centroid = |label: u16| {
        let (mut n, mut acc) = (0.0, [0.0; 3]);
        for ((k, j, i), v) in seg.labels().indexed_iter() {
            if *v == label {
                n += 1.0;
                acc = [acc[0] + k as f64, acc[1] + j as f64, acc[2] + i as f64];
            }
        }
        acc.map(|a| a / n)
    };
    let (c1, c2) = (centroid(29), centroid(77));
    let within = |c: [f64; 3], p: [usize; 3], r_mm: f64| (0..3).map(|a| ((p[a] as f64 - c[a]) * 3.0).powi(2)).sum::<f64>() <= r_mm * r_mm;
    let mut lab = seg.labels().to_owned();
    for ((k, j, i), v) in lab.indexed_iter_mut() {
        let was = *v;
        *v = if was == 29 && within(c1, [k, j, i], 9.0) {
            1
        } else if was == 77 && within(c2, [k, j, i], 12.0) {
            2
        } else {
            0
        };
    }
    let mut classes = ClassTable::new();
    classes.insert(1, "lesion_1_lytic");
    classes.insert(2, "lesion_2_blastic");
    std::fs::create_dir_all(dir).unwrap();
    coxa_io::nifti::write_label_map(&LabelMap::new(seg.grid().clone(), lab, classes).unwrap(), &dir.join("lesions.nii.gz")).unwrap();
    let all = [
        serde_json::json!({"id": 1, "kind": "lytic", "bone": "vertebrae_L3", "volume_ml": 2.9, "probability": 0.93, "centre_lps_mm": [0.0, 0.0, 0.0]}),
        serde_json::json!({"id": 2, "kind": "blastic", "bone": "hip_left", "volume_ml": 6.8, "probability": 0.99, "centre_lps_mm": [0.0, 0.0, 0.0]}),
        serde_json::json!({"id": 3, "kind": "lytic", "bone": "femur_right", "volume_ml": 0.3, "probability": 0.6, "centre_lps_mm": [0.0, 0.0, 0.0]}),
    ];
    let lesions: Vec<_> = json_ids.iter().map(|id| all[usize::from(*id) - 1].clone()).collect();
    std::fs::write(dir.join("lesions.json"), serde_json::to_vec_pretty(&serde_json::json!({"method": "classical", "lesions": lesions})).unwrap()).unwrap();
}

#[test]
fn lesions_become_a_seg_that_highdicom_reads_back_slice_by_slice() {
    let Some(data) = common::data_dir() else { return };
    let work = tempfile::tempdir().unwrap();
    let series = work.path().join("ct");
    let vol = coxa_io::nifti::read_volume(&data.join("totalseg/example_ct.nii.gz")).unwrap();
    coxa_io::dicom::write_series(&vol, &series, &coxa_io::dicom::WriteSeriesOptions::new().with_uid_seed(4343).with_description("hips")).unwrap();
    let src = Source::read(&series).unwrap();
    let dir = work.path().join("lesions");
    lesions_folder(&data, &dir, &[1, 2]);

    let seg = build_lesion_seg(&src, &dir).unwrap().expect("two lesions make a SEG");
    assert_eq!(seg.kind, coxa_pacs::results::Kind::Seg);
    let again = build_lesion_seg(&src, &dir).unwrap().unwrap();
    assert_eq!((&seg.sop_instance, &seg.series_uid), (&again.sop_instance, &again.series_uid), "stable UIDs");
    let anatomy = coxa_pacs::results::build_seg(&src, &data.join("totalseg/example_seg_fast_force_split.nii.gz")).unwrap().unwrap();
    assert_ne!(seg.series_uid, anatomy.series_uid, "the lesions' SEG is a series of its own");
    // A case folder with lesions/: `coxa pacs push` (build_case) sends the lesions' SEG too.
    let case = work.path().join("case");
    std::fs::create_dir_all(case.join("anatomy")).unwrap();
    std::fs::copy(data.join("totalseg/example_seg_fast_force_split.nii.gz"), case.join("anatomy/labels.nii.gz")).unwrap();
    lesions_folder(&data, &case.join("lesions"), &[1, 2]);
    let objects = coxa_pacs::case::build_case(&case, &src).unwrap();
    let segs: Vec<&str> = objects.objects.iter().filter(|o| o.kind == coxa_pacs::results::Kind::Seg).map(|o| o.series_uid.as_str()).collect();
    assert_eq!(segs, [anatomy.series_uid.as_str(), seg.series_uid.as_str()], "{:?}", objects.notes);
    let file = work.path().join("lesions_seg.dcm");
    std::fs::write(&file, &seg.bytes).unwrap();

    let Some(py) = python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/validate_lesion_seg.py");
    let out = std::process::Command::new(py).arg(script).args([file.as_path(), series.as_path(), &dir.join("lesions.nii.gz")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["modality"], "SEG");
    assert_eq!(v["study_uid"], v["source_study_uid"]);
    assert_eq!(v["frame_of_reference_ok"], true);
    let segs = v["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2, "{v}");
    assert_eq!(segs[0]["label"], "lesion 1 lytic vertebrae_L3");
    assert_eq!(segs[1]["label"], "lesion 2 blastic hip_left");
    assert_eq!(segs[1]["laterality"], serde_json::json!(["Left"]));
    assert_eq!(segs[0]["laterality"], serde_json::json!([]));
    for (n, s) in segs.iter().enumerate() {
        assert_eq!(s["type"], serde_json::json!(["52988006", "SCT"]));
        assert_eq!(s["category"], serde_json::json!(["49755003", "SCT"]));
        assert!(s["description"].as_str().unwrap().contains("not a diagnosis"), "{s}");
        let want = &v["per_slice_labels"][(n + 1).to_string()];
        assert_eq!(&s["per_slice"], want, "segment {}: voxels per source slice equal the label map's", n + 1);
        assert!(want.as_array().unwrap().iter().filter(|c| c.as_u64() > Some(0)).count() >= 3, "each lesion spans slices: {want}");
    }
}

#[test]
fn a_lesions_folder_without_lesions_or_with_files_that_disagree() {
    let Some(data) = common::data_dir() else { return };
    let work = tempfile::tempdir().unwrap();
    let series = work.path().join("ct");
    let vol = coxa_io::nifti::read_volume(&data.join("totalseg/example_ct.nii.gz")).unwrap();
    coxa_io::dicom::write_series(&vol, &series, &coxa_io::dicom::WriteSeriesOptions::new().with_uid_seed(4344)).unwrap();
    let src = Source::read(&series).unwrap();
    let none = work.path().join("none");
    lesions_folder(&data, &none, &[]);
    assert!(build_lesion_seg(&src, &none).unwrap().is_none(), "no lesion, no SEG");
    let bad = work.path().join("bad");
    lesions_folder(&data, &bad, &[1, 2, 3]);
    let e = build_lesion_seg(&src, &bad).unwrap_err().to_string();
    assert!(e.contains("lesion 3") && e.contains("not of one search"), "{e}");
    std::fs::write(bad.join("lesions.json"), "{").unwrap();
    let e = build_lesion_seg(&src, &bad).unwrap_err().to_string();
    assert!(e.contains("not a lesions.json"), "{e}");
}

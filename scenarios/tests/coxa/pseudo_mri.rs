//! `coxa pseudo-mri` (issue 43 item 2) as a user runs it: on the real CT (NIfTI) the pseudo T2
//! image lies on the CT's grid as SimpleITK and nibabel read both files, orders the tissues as T2
//! does (nibabel's means over TotalSegmentator's labels), and two runs are byte-identical; on the
//! real DICOM series the MR series pydicom reads is MR Image Storage, DERIVED\SECONDARY, says it
//! is a pseudo-MRI not for diagnosis alone, joins the CT's study and frame of reference, names
//! the CT image of each slice, carries the patient's ID (and only there: not in the JSON), and
//! holds the NIfTI's values at the same geometry (SimpleITK). Bad inputs: one line, exit 2, no
//! folder made.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cases::{coxa, ok, read_json};
use crate::common::{peer_python, shared_data};

pub(crate) fn peer(py: &Path, args: &[&Path]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/pseudo_mri_peer.py");
    let out = Command::new(py).arg(script).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn pseudo_mri_of_the_real_ct_is_on_its_grid_t2_ordered_and_deterministic() {
    let (Some(ct), Some(seg)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let o = coxa(&["pseudo-mri", "--ct", s(&ct), "--out", s(out)]);
        ok(&o);
        assert!(String::from_utf8_lossy(&o.stdout).contains("not for diagnosis alone"));
    }
    for f in ["pseudo_t2.nii.gz", "pseudo_mri.json"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f} differs between two runs");
    }
    assert!(!a.join("dicom").exists(), "a NIfTI CT gets no DICOM series unless asked (and cannot be asked)");
    let r = read_json(&a.join("pseudo_mri.json"));
    assert_eq!(r["image"], "pseudo_t2.nii.gz");
    assert_eq!(r["method"], "model-free");
    assert_eq!((r["model_free"]["sequence"]["tr_ms"].as_f64(), r["model_free"]["sequence"]["te_ms"].as_f64()), (Some(4000.0), Some(100.0)));
    assert_eq!(r["model_free"]["tissues"].as_array().unwrap().len(), 7);
    assert!(r["model_free"]["tissues"].as_array().unwrap().iter().all(|t| t["relaxation"].as_array().unwrap().iter().all(|v| v["source"].as_str().is_some_and(|s| !s.is_empty()))));
    assert_eq!(r["model_free"]["canal"]["found"], true);
    assert_eq!(r["grid"]["size"], serde_json::json!([122, 101, 112]));
    let Some(py) = peer_python() else { return };
    let p = peer(&py, &[Path::new("grid"), &ct, &a.join("pseudo_t2.nii.gz"), &seg]);
    assert_eq!(p["sitk"]["ct"], p["sitk"]["pm"], "SimpleITK: size, spacing, origin, direction");
    assert_eq!(p["nibabel"]["ct"], p["nibabel"]["pm"], "nibabel: shape, affine, zooms");
    assert_eq!(p["sitk"]["pm"]["size"], r["grid"]["size"]);
    assert_eq!(p["sitk"]["pm"]["direction"], r["grid"]["direction"]);
    let m = |k: &str| p["means"][k].as_f64().unwrap();
    eprintln!("nibabel means of pseudo_t2.nii.gz: {}", p["means"]);
    assert!(m("fat") > 2.0 * m("muscle"), "fat brighter than muscle: {}", p["means"]);
    assert!(m("canal") > 2.0 * m("muscle"), "the canal brighter than muscle: {}", p["means"]);
    assert!(m("cortical") < 0.25 * m("muscle") && m("air") < 0.25 * m("muscle"), "cortical bone and air darkest: {}", p["means"]);
    // Another TE changes the image and the record says it.
    let c = tmp.path().join("c");
    ok(&coxa(&["pseudo-mri", "--ct", s(&ct), "--te-ms", "80", "--out", s(&c)]));
    assert_eq!(read_json(&c.join("pseudo_mri.json"))["model_free"]["sequence"]["te_ms"].as_f64(), Some(80.0));
    assert_ne!(std::fs::read(a.join("pseudo_t2.nii.gz")).unwrap(), std::fs::read(c.join("pseudo_t2.nii.gz")).unwrap());
}

#[test]
fn pseudo_mri_of_the_dicom_ct_is_a_derived_mr_series_pydicom_reads() {
    let Some(ct) = shared_data("totalseg_dicom_uidfixed") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pm");
    ok(&coxa(&["pseudo-mri", "--ct", s(&ct), "--out", s(&out)]));
    let r = read_json(&out.join("pseudo_mri.json"));
    assert_eq!(r["dicom"]["files"], 20);
    let Some(py) = peer_python() else { return };
    let p = peer(&py, &[Path::new("dicom"), &ct, &out.join("dicom"), &out.join("pseudo_t2.nii.gz")]);
    let files = p["files"].as_array().unwrap();
    assert_eq!(files.len(), 20);
    let series: std::collections::BTreeSet<&str> = files.iter().map(|f| f["series_uid"].as_str().unwrap()).collect();
    assert_eq!(series.len(), 1, "one series");
    assert_eq!(r["dicom"]["series_uid"].as_str(), series.first().copied());
    for f in files {
        assert_eq!(f["sop_class"], "1.2.840.10008.5.1.4.1.1.4", "MR Image Storage");
        assert_eq!(f["modality"], "MR");
        assert_eq!(f["image_type"], serde_json::json!(["DERIVED", "SECONDARY"]));
        assert!(f["series_description"].as_str().unwrap().contains("pseudo"));
        for k in ["derivation", "comments"] {
            assert!(f[k].as_str().unwrap().contains("pseudo-MRI derived from CT by coxa; not for diagnosis alone"), "{k}: {f}");
        }
        assert!(f["derivation"].as_str().unwrap().contains("spin echo TR 4000 ms, TE 100 ms, relaxation values at 3 T"), "the simulated sequence: {f}");
        assert_eq!(f["study_uid"], p["ct"]["study_uid"]);
        assert_eq!(f["frame_uid"], p["ct"]["frame_uid"]);
        assert_eq!((&f["patient_id"], &f["patient_name"]), (&p["ct"]["patient_id"], &p["ct"]["patient_name"]));
        assert_eq!(f["ref_series"], serde_json::json!([p["ct"]["series_uid"]]));
        assert_eq!((f["tr"].as_f64(), f["te"].as_f64()), (Some(4000.0), Some(100.0)));
        // The source image is the CT image at the same position.
        assert_eq!(f["source"].as_array().unwrap().len(), 1, "{f}");
        assert_eq!(f["source_ipp"][0], f["ipp"]);
        assert_eq!(f["pixels_equal"], true, "{f}");
    }
    assert_eq!(p["mr_geometry"], p["ct_geometry"], "the MR series lies on the CT series' grid (SimpleITK)");
    assert_eq!(p["nii_geometry"], p["ct_geometry"]);
    assert_eq!(p["mr_equals_nii"], true);
    // The patient's ID is in the DICOM objects only.
    let id = p["ct"]["patient_id"].as_str().unwrap();
    assert!(!id.is_empty());
    assert!(!std::fs::read_to_string(out.join("pseudo_mri.json")).unwrap().contains(id));
    // --no-dicom writes none.
    let plain = tmp.path().join("plain");
    ok(&coxa(&["pseudo-mri", "--ct", s(&ct), "--no-dicom", "--out", s(&plain)]));
    assert!(!plain.join("dicom").exists() && read_json(&plain.join("pseudo_mri.json"))["dicom"].is_null());
}

/// Runs `coxa pseudo-mri` expecting a refusal: exit 2, one line naming `cause`, no folder.
pub(crate) fn refused(args: &[&str], out: &Path, cause: &str) {
    let o = coxa(&[&["pseudo-mri"], args, &["--out", s(out)]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(cause), "{args:?}: expected {cause:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "{args:?}: no folder on refusal");
}

#[test]
fn pseudo_mri_refuses_what_is_not_a_ct_in_one_line() {
    let (Some(mr), Some(ct), Some(dcm)) = (shared_data("totalseg/example_mr_sm.nii.gz"), shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg_dicom_uidfixed")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    refused(&["--ct", s(&mr)], &out, "not CT Hounsfield units");
    refused(&["--ct", s(&ct), "--dicom"], &out, "not a DICOM series");
    refused(&["--ct", s(&ct), "--te-ms", "5000"], &out, "TE 5000 ms");
    // An existing folder is refused and left as it was.
    let existing = tmp.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("mine.txt"), "keep").unwrap();
    let o = coxa(&["pseudo-mri", "--ct", s(&ct), "--out", s(&existing)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert_eq!(std::fs::read_dir(&existing).unwrap().count(), 1);
    let Some(py) = peer_python() else { return };
    // A DICOM series whose Modality is MR; a 4-slice CT; a float CT with a NaN voxel.
    let mr_dir = tmp.path().join("mr_dicom");
    let thin = tmp.path().join("thin.nii.gz");
    let nan = tmp.path().join("nan.nii.gz");
    let code = format!(
        "import glob, os, pydicom, nibabel as nib, numpy as np\nos.makedirs({mr:?})\nfor f in sorted(glob.glob({dcm:?} + '/*.dcm')):\n    ds = pydicom.dcmread(f)\n    ds.Modality = 'MR'\n    ds.save_as(os.path.join({mr:?}, os.path.basename(f)))\n\
         im = nib.load({ct:?})\na = np.asanyarray(im.dataobj)\nnib.save(nib.Nifti1Image(a[:, :, 50:54].astype(np.int16), im.affine), {thin:?})\n\
         b = a.astype(np.float32)\nb[60, 50, 50] = np.nan\nnib.save(nib.Nifti1Image(b, im.affine), {nan:?})\n",
        mr = s(&mr_dir),
        dcm = s(&dcm),
        ct = s(&ct),
        thin = s(&thin),
        nan = s(&nan)
    );
    let o = Command::new(&py).args(["-c", &code]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    refused(&["--ct", s(&mr_dir)], &out, "Modality MR");
    refused(&["--ct", s(&mr_dir)], &out, "coxa pseudo-mri needs Hounsfield units from a CT");
    refused(&["--ct", s(&thin)], &out, "at least 5");
    refused(&["--ct", s(&nan)], &out, "NaN");
}

/// `[pseudo_mri]` in a scenario: the case's `pseudo_mri/` holds the image `coxa pseudo-mri` makes
/// of the case's CT (byte for byte) at the section's TE, and the case summary, `summary.json`,
/// `report.json` and `report.html` (a section with the middle slice, CT beside pseudo-MRI) say so.
#[test]
fn the_scenario_stage_writes_the_case_folder_summary_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let run = crate::cases::diagnostics_phantom();
    let case = run.join("out/cases/phantom");
    let r = read_json(&case.join("pseudo_mri/pseudo_mri.json"));
    assert_eq!(r["model_free"]["sequence"]["te_ms"].as_f64(), Some(90.0));
    assert_eq!(r["note"], "pseudo-MRI derived from CT by coxa; not for diagnosis alone");
    let single = tmp.path().join("single");
    ok(&coxa(&["pseudo-mri", "--ct", s(&case.join("input/phantom_ct.nii.gz")), "--te-ms", "90", "--out", s(&single)]));
    assert_eq!(std::fs::read(case.join("pseudo_mri/pseudo_t2.nii.gz")).unwrap(), std::fs::read(single.join("pseudo_t2.nii.gz")).unwrap(), "the stage's image is the command's");
    let ct = coxa_io::nifti::read_volume(&case.join("input/phantom_ct.nii.gz")).unwrap();
    let pm = coxa_io::nifti::read_volume(&case.join("pseudo_mri/pseudo_t2.nii.gz")).unwrap();
    assert_eq!(ct.grid(), pm.grid());
    let line = read_json(&case.join("case.json"))["pseudo_mri"].as_str().unwrap().to_string();
    assert!(line.contains("pseudo_mri/pseudo_t2.nii.gz") && line.contains("TE 90 ms"), "{line}");
    assert_eq!(read_json(&run.join("out/summary.json"))["cases"][0]["pseudo_mri"].as_str(), Some(line.as_str()));
    let report = read_json(&case.join("report.json"));
    assert_eq!(report["pseudo_mri"]["te_ms"].as_f64(), Some(90.0));
    assert_eq!(report["pseudo_mri"]["tissue_values"].as_array().unwrap().len(), 7);
    assert!(case.join("pictures/pseudo_mri.png").is_file());
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("Pseudo-MRI (T2-weighted, from the CT)") && html.contains("not for diagnosis alone"), "report section");
}

//! Issue 63, item 1: what neighbours write, read as it comes. TotalSegmentator's default output
//! (a folder of one mask per class) and its `--ml` label map (the class names in a NIfTI header
//! extension, coxa's classes under other ids), made here by nibabel from the real CT's TotalSegmentator label
//! map, plan the real CT to the same plan.json as the label map itself does.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::cases::{coxa, ok, read_json};
use crate::common::{coxa_class_names_json, peer_python, shared_data};

/// `labels` written by the peer (nibabel) as TotalSegmentator writes its `mode` output
/// (`folder` or `ml`) into `out`, classes named by coxa's table (TotalSegmentator's names), any
/// other id as `label_<id>`; the number of classes.
fn totalseg_output(python: &Path, mode: &str, labels: &Path, out: &Path) -> usize {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/totalseg_outputs.py");
    let run = Command::new(python).arg(script).arg(mode).arg(labels).arg(out).arg(coxa_class_names_json()).output().expect("the peer runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stdout).trim().parse().expect("the number of classes")
}

#[test]
fn totalsegmentators_outputs_plan_as_its_label_map() -> Result<()> {
    let (Some(ct), Some(seg), Some(python)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz"), peer_python()) else {
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let folder = tmp.path().join("segmentations");
    let masks = totalseg_output(&python, "folder", &seg, &folder);
    assert!(masks > 13, "{masks} masks");
    let ml = tmp.path().join("segmentations.nii.gz");
    assert_eq!(totalseg_output(&python, "ml", &seg, &ml), masks);
    let plan = |labels: &Path, name: &str| {
        let out = tmp.path().join(name);
        let args = ["plan", "-q", "--ct", ct.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--side", "right", "--grid-step-deg", "5", "--out", out.to_str().unwrap()];
        ok(&coxa(&args));
        out
    };
    let (from_folder, from_ml, from_map) = (plan(&folder, "folder"), plan(&ml, "ml"), plan(&seg, "map"));
    assert_eq!(std::fs::read(from_folder.join("plan.json"))?, std::fs::read(from_map.join("plan.json"))?, "plan.json byte for byte");
    assert_eq!(std::fs::read(from_ml.join("plan.json"))?, std::fs::read(from_map.join("plan.json"))?, "plan.json byte for byte");
    // coxa's classes hold the same voxels.
    let counts = |case: &Path| -> Vec<(String, u64)> {
        let a = read_json(&case.join("anatomy/anatomy.json"));
        let name = |id: &serde_json::Value| a["labels"]["classes"].as_array().unwrap().iter().find(|c| c["id"] == *id).map(|c| c["name"].as_str().unwrap().to_string());
        let mut v: Vec<(String, u64)> = a["labels"]["voxels"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| Some((name(&c["id"])?, c["n"].as_u64()?)))
            .filter(|(n, _)| coxa_core::labels::COXA_CLASSES.iter().any(|(_, c)| c == n))
            .collect();
        v.sort();
        v
    };
    let known = counts(&from_folder);
    assert_eq!(known.len(), coxa_core::labels::COXA_CLASSES.len(), "{known:?}");
    assert_eq!(known, counts(&from_map));
    assert_eq!(known, counts(&from_ml));

    // Two masks that share voxels: one line, exit status 2, nothing written.
    std::fs::copy(folder.join("femur_left.nii.gz"), folder.join("a_second_femur.nii.gz"))?;
    let out = tmp.path().join("overlap");
    let r = coxa(&["anatomy", "--ct", ct.to_str().unwrap(), "--labels", folder.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("a voxel is in both a_second_femur and femur_left"), "{err}");
    assert!(!out.exists(), "nothing written");
    Ok(())
}

/// Issue 63, item 1: a DICOM SEG and an Enhanced CT (what PACS, other AI products and scanners
/// hand over; made here by highdicom from the real CT's classic slices and its TotalSegmentator
/// label map) plan to the same plan.json as the classic series with the NIfTI label map.
#[test]
fn a_dicom_seg_and_an_enhanced_ct_plan_as_the_classic_series_and_label_map() -> Result<()> {
    let (Some(ct), Some(seg), Some(python)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz"), peer_python()) else {
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let classic = tmp.path().join("classic");
    let _ = coxa_io::dicom::write_series(&coxa_io::nifti::read_volume(&ct)?, &classic, &coxa_io::dicom::WriteSeriesOptions::new().with_uid_seed(7))?;
    let peer = |script: &str, args: &[&std::ffi::OsStr]| {
        let run = Command::new(&python).arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers").join(script)).args(args).output().expect("the peer runs");
        assert!(run.status.success(), "{script}: {}", String::from_utf8_lossy(&run.stderr));
    };
    let enhanced = tmp.path().join("enhanced.dcm");
    peer("enhanced_ct.py", &[classic.as_os_str(), enhanced.as_os_str(), "explicit".as_ref()]);
    let dicom_seg = tmp.path().join("seg.dcm");
    let names = coxa_class_names_json();
    peer("seg_from_labels.py", &[classic.as_os_str(), seg.as_os_str(), dicom_seg.as_os_str(), "binary".as_ref(), names.as_ref()]);
    let plan = |input: &Path, labels: &Path, name: &str| {
        let out = tmp.path().join(name);
        let args = ["plan", "-q", "--ct", input.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--side", "right", "--grid-step-deg", "5", "--out", out.to_str().unwrap()];
        ok(&coxa(&args));
        std::fs::read(out.join("plan.json")).expect("plan.json")
    };
    let reference = plan(&classic, &seg, "from_classic");
    assert!(reference == plan(&classic, &dicom_seg, "seg"), "a DICOM SEG: plan.json byte for byte");
    assert!(reference == plan(&enhanced, &seg, "enhanced"), "an Enhanced CT: plan.json byte for byte");
    Ok(())
}

//! Per-muscle measures on the real CT with TotalSegmentator's muscle labels, side by side with
//! an independent nibabel + numpy computation.

use anyhow::Result;

use coxa_anatomy::muscles;
use coxa_core::ClassTable;
use coxa_io::nifti;

use crate::common::{peer_python, shared_data, workspace_root};

#[test]
fn real_ct_muscle_measures_match_numpy() -> Result<()> {
    let (Some(ct_path), Some(seg_path), Some(names)) =
        (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz"), shared_data("totalseg/labels_total_v2.json"))
    else {
        return Ok(());
    };
    let Some(py) = peer_python() else { return Ok(()) };
    let ct = nifti::read_volume(&ct_path)?;
    let mut seg = nifti::read_label_map(&seg_path)?;
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&names)?)?;
    let classes: ClassTable = j.as_object().unwrap().iter().map(|(k, v)| (k.parse::<u16>().unwrap(), v.as_str().unwrap().to_string())).collect();
    seg.set_classes(classes);
    let (measures, asym) = muscles::muscle_measures(&ct, &seg)?;

    let out = std::process::Command::new(&py).arg(workspace_root().join("tests/peers/muscle_measures.py")).args([&ct_path, &seg_path, &names]).output()?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let want = want.as_object().unwrap();
    assert_eq!(measures.len(), want.len(), "muscles found: {:?}", measures.iter().map(|m| &m.name).collect::<Vec<_>>());
    assert_eq!(measures.len(), 8, "gluteus maximus/medius/minimus and iliopsoas, both sides");
    for m in &measures {
        let w = &want[&m.name];
        eprintln!("{:22} {:7.1} cm3  mean {:6.1} HU  fat {:5.1} %", m.name, m.volume_cm3, m.mean_hu, 100.0 * m.fat_fraction);
        assert_eq!(m.n_voxels as u64, w["n_voxels"].as_u64().unwrap(), "{}", m.name);
        assert!((m.volume_cm3 - w["volume_cm3"].as_f64().unwrap()).abs() < 1e-9, "{}", m.name);
        assert!((m.mean_hu - w["mean_hu"].as_f64().unwrap()).abs() < 1e-6, "{}", m.name);
        assert!((m.fat_fraction - w["fat_fraction"].as_f64().unwrap()).abs() < 1e-12, "{}", m.name);
    }
    for a in &asym {
        eprintln!("{:18} volume L-R {:+.1} %  fat L-R {:+.1} pp", a.muscle, a.volume_asymmetry_percent, a.fat_fraction_difference_pp);
    }
    assert_eq!(asym.len(), 4);
    Ok(())
}

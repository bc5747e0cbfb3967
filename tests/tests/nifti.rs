//! NIfTI-1 against SimpleITK 2.5 (ITK 5.4): the same geometry (qform/sform rules, RAS -> LPS) and
//! the same voxels, on the TotalSegmentator example files, on files nibabel writes with every
//! qform/sform combination (tests/peers/nifti_make.py), and on the files coxa writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use coxa_core::{ClassTable, Grid, LabelMap, Volume};
use coxa_io::nifti;
use nalgebra::{Matrix3, Rotation3, Vector3};
use ndarray::Array3;

use crate::common::{assert_grid_matches, assert_voxels_equal, peer_python, shared_data, sitk_read, workspace_root};

/// Geometry tolerance against SimpleITK (mm; unitless for direction). Both sides compute from the
/// same single-precision header fields, so they agree far better than the 1e-4 asked for.
const GEOMETRY_TOL: f64 = 1e-6;

fn f64s<T: Copy + Into<f64>>(a: &Array3<T>) -> impl Iterator<Item = f64> + '_ {
    a.iter().map(|&v| v.into())
}

#[test]
fn example_ct_matches_simpleitk() -> Result<()> {
    let (Some(py), Some(path)) = (peer_python(), shared_data("totalseg/example_ct.nii.gz")) else { return Ok(()) };
    let vol = nifti::read_volume(&path)?;
    let sitk = sitk_read(&py, &path, false)?;
    assert_eq!(vol.grid().size(), [122, 101, 112]);
    assert_grid_matches(vol.grid(), &sitk, GEOMETRY_TOL);
    assert_voxels_equal(f64s(&vol.hu()), &sitk);
    let h = nifti::read_header(&path)?;
    assert_eq!((h.qform_code, h.sform_code, h.datatype_name()), (0, 2, "int32"));
    Ok(())
}

#[test]
fn example_label_map_matches_simpleitk() -> Result<()> {
    let (Some(py), Some(path)) = (peer_python(), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else {
        return Ok(());
    };
    let map = nifti::read_label_map(&path)?;
    let sitk = sitk_read(&py, &path, false)?;
    assert_grid_matches(map.grid(), &sitk, GEOMETRY_TOL);
    assert_voxels_equal(f64s(map.labels()), &sitk);
    assert_eq!(sitk_pixel_type(&py, &path)?, "8-bit unsigned integer");
    // The femurs and hips the README lists are there.
    let counts = map.counts();
    for id in [75u16, 76, 77, 78] {
        assert!(counts.get(&id).copied().unwrap_or(0) > 1000, "label {id}: {counts:?}");
    }
    // Its class names, in a header extension as TotalSegmentator's `--ml` writes them, are
    // coxa's class table: as nibabel reads the extension and TotalSegmentator's own
    // `load_multilabel_nifti` parses it (the Caret label table's keys and texts).
    let script = "import sys, json, nibabel as nib, xml.etree.ElementTree as ET\n\
                  x = nib.load(sys.argv[1]).header.extensions[0].get_content().decode().strip()\n\
                  print(json.dumps({l.get('Key'): l.text for l in ET.fromstring(x).iter('Label')}))";
    let out = Command::new(&py).args(["-c", script]).arg(&path).output()?;
    ensure!(out.status.success(), "nibabel: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: std::collections::BTreeMap<String, String> = serde_json::from_slice(&out.stdout)?;
    let ours: std::collections::BTreeMap<String, String> = map.classes().iter().map(|(id, n)| (id.to_string(), n.to_string())).collect();
    assert!(theirs.len() > 100 && theirs.get("75").map(String::as_str) == Some("femur_left"), "{theirs:?}");
    assert_eq!(ours, theirs);
    Ok(())
}

/// SimpleITK's pixel type of the image at `path` (`GetPixelIDTypeAsString`).
fn sitk_pixel_type(py: &Path, path: &Path) -> Result<String> {
    let out = Command::new(py).args(["-c", "import sys, SimpleITK as s; print(s.ReadImage(sys.argv[1]).GetPixelIDTypeAsString())"]).arg(path).output()?;
    if !out.status.success() {
        bail!("SimpleITK failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs tests/peers/nifti_make.py into `dir` and returns the files it made with their description.
fn make_peer_files(py: &Path, dir: &Path, ct: Option<&Path>) -> Result<Vec<(PathBuf, String)>> {
    let script = workspace_root().join("tests/peers/nifti_make.py");
    let mut cmd = Command::new(py);
    let _ = cmd.arg(&script).arg(dir);
    if let Some(ct) = ct {
        let _ = cmd.arg("--ct").arg(ct);
    }
    let out = cmd.output().context("running nifti_make.py")?;
    if !out.status.success() {
        bail!("nifti_make.py failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let files =
        list.as_array().context("nifti_make.py prints a JSON list")?.iter().map(|f| (dir.join(f["name"].as_str().unwrap_or_default()), f["what"].as_str().unwrap_or_default().to_string())).collect();
    Ok(files)
}

/// qform-only, sform-only, disagreeing qform/sform (each code pair), sheared sform, left-handed,
/// sform scales unlike pixdim, no transform, metres, scaled int16, float32, uint16, 4D with one
/// volume, big endian; with the example CT also three oblique copies of it.
#[test]
fn qform_sform_rules_match_simpleitk() -> Result<()> {
    let Some(py) = peer_python() else { return Ok(()) };
    let ct = shared_data("totalseg/example_ct.nii.gz");
    let dir = tempfile::tempdir()?;
    let files = make_peer_files(&py, dir.path(), ct.as_deref())?;
    assert!(files.len() >= 20, "{files:?}");
    for (path, what) in &files {
        let vol = nifti::read_volume(path).with_context(|| format!("coxa reading {what}"))?;
        let sitk = sitk_read(&py, path, false)?;
        eprintln!("{}: {what}", path.file_name().unwrap_or_default().to_string_lossy());
        assert_grid_matches(vol.grid(), &sitk, GEOMETRY_TOL);
        assert_voxels_equal(f64s(&vol.hu()), &sitk);
    }
    Ok(())
}

/// Reads `path` with SimpleITK and checks it against what coxa wrote there.
fn check_written(py: &Path, path: &Path, grid: &Grid, voxels: impl IntoIterator<Item = f64>, pixel_type: &str) -> Result<()> {
    let sitk = sitk_read(py, path, false)?;
    assert_grid_matches(grid, &sitk, GEOMETRY_TOL);
    assert_voxels_equal(voxels, &sitk);
    assert_eq!(sitk_pixel_type(py, path)?, pixel_type, "{}", path.display());
    Ok(())
}

fn oblique_grid(size: [usize; 3], left_handed: bool) -> Grid {
    let mut d: Matrix3<f64> = *Rotation3::from_euler_angles(0.3, -0.2, 1.1).matrix();
    if left_handed {
        d.set_column(2, &(-d.column(2)));
    }
    Grid::new(size, Vector3::new(0.8, 0.9765625, 2.5), Vector3::new(-120.5, 35.25, 812.125), d).expect("a valid grid")
}

#[test]
fn simpleitk_reads_what_coxa_writes() -> Result<()> {
    let Some(py) = peer_python() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    for ext in ["nii", "nii.gz"] {
        for left_handed in [false, true] {
            let grid = oblique_grid([11, 9, 7], left_handed);
            let tag = if left_handed { "left" } else { "right" };
            // int16 volume
            let hu = Array3::from_shape_fn((7, 9, 11), |(k, j, i)| (i * 97 + j * 13) as f32 - (k * 211) as f32);
            let vol = Volume::new(grid.clone(), hu)?;
            let p = dir.path().join(format!("ct_{tag}.{ext}"));
            nifti::write_volume(&vol, &p)?;
            check_written(&py, &p, &grid, f64s(&vol.hu()), "16-bit signed integer")?;
            // float32 volume
            let vol = Volume::new(grid.clone(), vol.hu().mapv(|v| v * 0.31 + 0.5))?;
            let p = dir.path().join(format!("float_{tag}.{ext}"));
            nifti::write_volume(&vol, &p)?;
            check_written(&py, &p, &grid, f64s(&vol.hu()), "32-bit float")?;
            // uint16 label map
            let labels = Array3::from_shape_fn((7, 9, 11), |(k, j, i)| ((i * 9973 + j * 7919 + k * 104_729) % 65536) as u16);
            let map = LabelMap::new(grid.clone(), labels, ClassTable::new())?;
            let p = dir.path().join(format!("labels16_{tag}.{ext}"));
            nifti::write_label_map(&map, &p)?;
            check_written(&py, &p, &grid, f64s(map.labels()), "16-bit unsigned integer")?;
        }
    }

    // The real CT and label map, read by coxa, written by coxa, read by SimpleITK.
    let (Some(ct), Some(seg)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else {
        return Ok(());
    };
    let vol = nifti::read_volume(&ct)?;
    let map = nifti::read_label_map(&seg)?;
    for ext in ["nii", "nii.gz"] {
        let p = dir.path().join(format!("example_ct.{ext}"));
        nifti::write_volume(&vol, &p)?;
        check_written(&py, &p, vol.grid(), f64s(&vol.hu()), "16-bit signed integer")?;
        let back = nifti::read_volume(&p)?;
        assert!(back.grid().same_as(vol.grid(), GEOMETRY_TOL) && back.hu() == vol.hu(), "coxa round trip of {}", p.display());

        let p = dir.path().join(format!("example_seg.{ext}"));
        nifti::write_label_map(&map, &p)?;
        check_written(&py, &p, map.grid(), f64s(map.labels()), "8-bit unsigned integer")?;
        let back = nifti::read_label_map(&p)?;
        assert!(back.grid().same_as(map.grid(), GEOMETRY_TOL) && back.labels() == map.labels());
    }
    Ok(())
}

/// NIfTI-2 (issue 63): the example CT and label map written by nibabel as NIfTI-2 (gzip with the
/// label names' extension, plain, and big endian) read as their NIfTI-1 originals: the same grid,
/// every voxel, the class names.
#[test]
fn nifti2_reads_as_its_nifti1_original() -> Result<()> {
    let (Some(py), Some(ct), Some(seg)) = (peer_python(), shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz")) else {
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let two = |src: &Path, name: &str, big: bool| -> Result<PathBuf> {
        let out = tmp.path().join(name);
        let mut cmd = Command::new(&py);
        cmd.arg(workspace_root().join("tests/peers/nifti2_make.py")).arg(src).arg(&out);
        if big {
            cmd.arg("big");
        }
        let o = cmd.output()?;
        ensure!(o.status.success(), "nifti2_make.py: {}", String::from_utf8_lossy(&o.stderr));
        Ok(out)
    };
    let original = nifti::read_volume(&ct)?;
    for (name, big) in [("ct.nii.gz", false), ("ct.nii", false), ("ct_big.nii", true)] {
        let path = two(&ct, name, big)?;
        let h = nifti::read_header(&path)?;
        assert_eq!((h.version, h.big_endian), (2, big), "{name}");
        let back = nifti::read_volume(&path)?;
        assert!(back.grid().same_as(original.grid(), 1e-9), "{name}: {:?} vs {:?}", back.grid(), original.grid());
        assert_eq!(f64s(&back.hu()).collect::<Vec<_>>(), f64s(&original.hu()).collect::<Vec<_>>(), "{name}");
    }
    let map = nifti::read_label_map(&seg)?;
    let back = nifti::read_label_map(&two(&seg, "seg.nii.gz", false)?)?;
    assert!(back.grid().same_as(map.grid(), 1e-9));
    assert_eq!(back.labels(), map.labels());
    assert_eq!(back.classes().iter().collect::<Vec<_>>(), map.classes().iter().collect::<Vec<_>>());
    Ok(())
}

//! DICOM series reading against SimpleITK on real and generated series, and every defect the
//! reader must name instead of returning a wrong volume.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail, ensure};
use nalgebra::{Matrix3, Vector3};
use ndarray::{Array3, s};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};

use coxa_core::{Grid, Volume};
use coxa_io::dicom::{self, DicomError, PatientIdentity, ReadOptions, WriteSeriesOptions};
use coxa_io::{Error, nifti};

use crate::common::{assert_grid_matches, assert_voxels_equal, coxa_class_names_json, peer_python, shared_data, sitk_read, workspace_root};

fn read(dir: &Path, opts: &ReadOptions) -> coxa_io::Result<dicom::DicomSeries> {
    dicom::read_series(&[dir.to_path_buf()], opts)
}

fn voxels(v: &Volume) -> impl Iterator<Item = f64> + '_ {
    (0..v.grid().size().iter().product::<usize>()).map(move |n| {
        let [ni, nj, _] = v.grid().size();
        f64::from(v.get(n % ni, (n / ni) % nj, n / (ni * nj)).expect("inside the grid"))
    })
}

/// The first `n` slices of `v`, on the same grid.
fn first_slices(v: &Volume, n: usize) -> Volume {
    let g = v.grid();
    let [ni, nj, _] = g.size();
    let grid = Grid::new([ni, nj, n], g.spacing_mm(), g.origin_lps_mm(), g.direction()).unwrap();
    Volume::new(grid, v.hu().slice(s![0..n, .., ..]).to_owned()).unwrap()
}

/// A small synthetic volume: HU = 10 k + i (a ramp exact under linear interpolation).
fn ramp(size: [usize; 3], spacing: [f64; 3], origin: [f64; 3]) -> Volume {
    let grid = Grid::axis_aligned(size, Vector3::from(spacing), Vector3::from(origin)).unwrap();
    let hu = Array3::from_shape_fn((size[2], size[1], size[0]), |(k, _j, i)| (10 * k + i) as f32);
    Volume::new(grid, hu).unwrap()
}

/// Writes each slice of `v` as its own file with its own origin (`origins[k]`), all in one series.
fn write_slices_at(v: &Volume, origins: &[Vector3<f64>], dir: &Path, seed: u64) {
    let g = v.grid();
    let [ni, nj, _] = g.size();
    for (k, o) in origins.iter().enumerate() {
        let grid = Grid::new([ni, nj, 1], g.spacing_mm(), *o, g.direction()).unwrap();
        let one = Volume::new(grid, v.hu().slice(s![k..k + 1, .., ..]).to_owned()).unwrap();
        let opts = WriteSeriesOptions::new().with_uid_seed(seed).with_file_prefix(format!("s{k:03}_"));
        let _ = dicom::write_series(&one, dir, &opts).unwrap();
    }
}

fn transcode(python: &Path, src: &Path, out: &Path, syntax: &str) -> Result<()> {
    let o = Command::new(python).arg(workspace_root().join("tests/peers/transcode.py")).args([src, out]).arg(syntax).output()?;
    if !o.status.success() {
        bail!("transcode {syntax}: {}", String::from_utf8_lossy(&o.stderr));
    }
    Ok(())
}

/// The real JPEG 2000 lossless series (empty UIDs) and its UID-fixed copy read exactly as
/// SimpleITK's ImageSeriesReader reads them: geometry to 1e-4 mm, every voxel equal.
#[test]
fn real_jpeg2000_series_equals_simpleitk() -> Result<()> {
    let (Some(raw), Some(fixed)) = (shared_data("totalseg/example_ct_dicom"), shared_data("totalseg_dicom_uidfixed")) else {
        return Ok(());
    };
    let Some(py) = peer_python() else { return Ok(()) };
    for (dir, empty_uids) in [(raw, true), (fixed, false)] {
        let ours = read(&dir, &ReadOptions::new())?;
        let sitk = sitk_read(&py, &dir, true)?;
        assert_grid_matches(ours.volume.grid(), &sitk, 1e-4);
        assert_voxels_equal(voxels(&ours.volume), &sitk);
        assert_eq!(ours.volume.stats().sum_hu, sitk.hu_sum);
        assert_eq!(ours.files.len(), 20);
        let warned = ours.warnings.iter().any(|w| w.contains("empty UIDs"));
        assert_eq!(warned, empty_uids, "{}: warnings {:?}", dir.display(), ours.warnings);
    }
    Ok(())
}

/// Every supported transfer syntax decodes to the same HU as SimpleITK (GDCM) on real CT pixels:
/// exactly for the lossless ones, within one 8-bit step for lossy JPEG baseline; JPEG-LS is named
/// in a clear error.
#[test]
fn transfer_syntaxes_decode_like_simpleitk() -> Result<()> {
    let Some(real) = shared_data("totalseg_dicom_uidfixed") else { return Ok(()) };
    let Some(py) = peer_python() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let src = tmp.path().join("explicit");
    let original = first_slices(&read(&real, &ReadOptions::new())?.volume, 3);
    let _ = dicom::write_series(&original, &src, &WriteSeriesOptions::new().with_uid_seed(1))?;
    let back = read(&src, &ReadOptions::new())?;
    assert_eq!(back.volume.hu(), original.hu(), "explicit VR little endian round trip");

    for syntax in ["implicit", "rle", "jpeg_lossless", "jpeg2000"] {
        let out = tmp.path().join(syntax);
        transcode(&py, &src, &out, syntax)?;
        let ours = read(&out, &ReadOptions::new()).map_err(|e| anyhow::anyhow!("{syntax}: {e}"))?;
        let sitk = sitk_read(&py, &out, true)?;
        assert_grid_matches(ours.volume.grid(), &sitk, 1e-4);
        assert_voxels_equal(voxels(&ours.volume), &sitk);
        assert_eq!(ours.volume.hu(), original.hu(), "{syntax} is lossless");
    }

    let out = tmp.path().join("jpeg_baseline");
    transcode(&py, &src, &out, "jpeg_baseline")?;
    let ours = read(&out, &ReadOptions::new())?;
    let sitk = sitk_read(&py, &out, true)?;
    assert_grid_matches(ours.volume.grid(), &sitk, 1e-4);
    let diffs: Vec<f64> = voxels(&ours.volume).zip(&sitk.voxels).map(|(a, b)| (a - b).abs()).collect();
    let max = diffs.iter().copied().fold(0.0, f64::max);
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    // Lossy JPEG: IDCT implementations may round one 8-bit step (8 HU here) apart.
    assert!(max <= 8.0 && mean < 0.5, "JPEG baseline vs SimpleITK: max {max} HU, mean {mean} HU");

    let out = tmp.path().join("jpegls");
    transcode(&py, &src, &out, "jpegls")?;
    let err = read(&out, &ReadOptions::new()).unwrap_err();
    // The decoder's own error is kept as the cause.
    assert!(matches!(&err, Error::Dicom(DicomError::Decoder { .. })), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "{err}: the decoder's error is not kept");
    assert!(err.to_string().contains("JPEG-LS"), "{err}");
    Ok(())
}

/// A 112-slice series written from the real CT, stored under shuffled names (some in a
/// subfolder) beside non-DICOM files, reads back identical; SimpleITK reads it identically too.
#[test]
fn written_series_reads_back_identical_shuffled_with_stray_files() -> Result<()> {
    let Some(ct) = shared_data("totalseg/example_ct.nii.gz") else { return Ok(()) };
    let vol = nifti::read_volume(&ct)?;
    let tmp = tempfile::tempdir()?;
    let written = tmp.path().join("written");
    let files = dicom::write_series(&vol, &written, &WriteSeriesOptions::new().with_uid_seed(7))?;
    assert_eq!(files.len(), vol.grid().size()[2]);

    let shuffled = tmp.path().join("shuffled");
    std::fs::create_dir_all(shuffled.join("sub"))?;
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(42));
    for (n, k) in order.iter().enumerate() {
        let sub = if n % 3 == 0 { "sub" } else { "" };
        std::fs::rename(&files[*k], shuffled.join(sub).join(format!("IM{n:05}")))?;
    }
    std::fs::write(shuffled.join("README.txt"), "exported by a test\n")?;
    std::fs::write(shuffled.join("sub").join("DICOMDIR.bak"), vec![0u8; 200])?;

    let back = read(&shuffled, &ReadOptions::new())?;
    assert!(back.volume.grid().same_as(vol.grid(), 1e-6), "{:?} vs {:?}", back.volume.grid(), vol.grid());
    assert_eq!(back.volume.hu(), vol.hu());
    assert!(back.warnings.iter().any(|w| w.contains("skipped 2 non-DICOM")), "{:?}", back.warnings);

    if let Some(py) = peer_python() {
        let sitk_all = sitk_read(&py, &written_copy(&shuffled, tmp.path())?, true)?;
        assert_grid_matches(back.volume.grid(), &sitk_all, 1e-4);
        assert_voxels_equal(voxels(&back.volume), &sitk_all);
    }
    Ok(())
}

/// Copies every DICOM file under `dir` (recursively) into one flat folder (SimpleITK's series
/// reader does not recurse).
fn written_copy(dir: &Path, tmp: &Path) -> Result<PathBuf> {
    let flat = tmp.join("flat");
    std::fs::create_dir_all(&flat)?;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("IM")) {
                let _ = std::fs::copy(&p, flat.join(p.file_name().unwrap()))?;
            }
        }
    }
    Ok(flat)
}

/// A missing slice is an error that says so and names --resample; resampling fills the gap by
/// linear interpolation (exact on a ramp) and says it did.
#[test]
fn missing_slice_is_an_error_and_resample_fills_it() -> Result<()> {
    let vol = ramp([16, 8, 6], [0.8, 0.8, 2.5], [-5.0, 10.0, 100.0]);
    let tmp = tempfile::tempdir()?;
    let files = dicom::write_series(&vol, tmp.path(), &WriteSeriesOptions::new().with_uid_seed(3))?;
    std::fs::remove_file(&files[3])?;
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Dicom(DicomError::IrregularSpacing { .. })), "{msg}");
    assert!(msg.contains("1 missing slice") && msg.contains("--resample"), "{msg}");

    let fixed = read(tmp.path(), &ReadOptions::new().with_resample(true))?;
    assert!(fixed.volume.grid().same_as(vol.grid(), 1e-9), "{:?}", fixed.volume.grid());
    assert_eq!(fixed.volume.hu(), vol.hu(), "linear interpolation of a ramp is exact");
    assert!(fixed.warnings.iter().any(|w| w.contains("resampled")), "{:?}", fixed.warnings);
    Ok(())
}

/// Uneven spacing without a missing slice is an error too.
#[test]
fn uneven_spacing_is_an_error() -> Result<()> {
    let vol = ramp([8, 4, 5], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let tmp = tempfile::tempdir()?;
    let z = [0.0, 2.0, 4.6, 6.0, 8.0];
    let origins: Vec<_> = z.iter().map(|z| Vector3::new(0.0, 0.0, *z)).collect();
    write_slices_at(&vol, &origins, tmp.path(), 5);
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    assert!(matches!(err, Error::Dicom(DicomError::IrregularSpacing { .. })), "{err}");
    assert!(err.to_string().contains("1.400 to 2.600 mm"), "{err}");
    Ok(())
}

/// Slice positions that drift sideways (gantry tilt) are an error naming the angle; resampling
/// puts each slice back on a grid along the normal (exact on a ramp in x).
#[test]
fn gantry_tilt_is_an_error_and_resample_straightens_it() -> Result<()> {
    let vol = ramp([16, 4, 5], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let tmp = tempfile::tempdir()?;
    let origins: Vec<_> = (0..5).map(|k| Vector3::new(0.5 * k as f64, 0.0, 2.0 * k as f64)).collect();
    write_slices_at(&vol, &origins, tmp.path(), 9);
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    assert!(matches!(err, Error::Dicom(DicomError::GantryTilt { .. })), "{err}");
    let want_deg = (0.5f64 / 2.0).atan().to_degrees();
    assert!(err.to_string().contains(&format!("{want_deg:.2} deg")), "{err}");

    let fixed = read(tmp.path(), &ReadOptions::new().with_resample(true))?;
    assert_eq!(fixed.volume.grid().size(), [16, 4, 5]);
    assert_eq!(fixed.volume.grid().direction(), Matrix3::identity());
    // Output voxel (i, k) sits at x = i; input slice k holds 10 k + (x - 0.5 k).
    for k in 0..5 {
        for i in 3..16 {
            let want = 10.0 * k as f32 + i as f32 - 0.5 * k as f32;
            let got = fixed.volume.get(i, 2, k).unwrap();
            assert!((got - want).abs() < 1e-4, "voxel ({i}, 2, {k}): {got} vs {want}");
        }
    }
    Ok(())
}

/// Mixed image sizes in one series: an error naming both files; --resample reads it.
#[test]
fn mixed_image_sizes_is_an_error() -> Result<()> {
    let a = ramp([16, 8, 3], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let b = ramp([12, 8, 2], [1.0, 1.0, 2.0], [0.0, 0.0, 6.0]);
    let tmp = tempfile::tempdir()?;
    let _ = dicom::write_series(&a, tmp.path(), &WriteSeriesOptions::new().with_uid_seed(4).with_file_prefix("a_"))?;
    let _ = dicom::write_series(&b, tmp.path(), &WriteSeriesOptions::new().with_uid_seed(4).with_file_prefix("b_"))?;
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Dicom(DicomError::Inconsistent { what: "image size", .. })), "{msg}");
    assert!(msg.contains("16x8") && msg.contains("12x8") && msg.contains("b_0000.dcm"), "{msg}");
    let fixed = read(tmp.path(), &ReadOptions::new().with_resample(true))?;
    assert_eq!(fixed.volume.grid().size(), [16, 8, 5]);
    // Columns 12..16 of the narrower slices lie outside them: the series minimum fills them.
    assert_eq!(fixed.volume.get(15, 0, 4), Some(0.0));
    assert_eq!(fixed.volume.get(5, 0, 4), Some(5.0 + 10.0));
    Ok(())
}

/// Two CT series in one folder: an error listing both; either can be chosen by UID, number or index.
#[test]
fn two_series_need_a_choice() -> Result<()> {
    let a = ramp([4, 4, 3], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let b = ramp([6, 4, 2], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let tmp = tempfile::tempdir()?;
    let _ = dicom::write_series(&a, tmp.path(), &WriteSeriesOptions::new().with_uid_seed(1).with_file_prefix("a_"))?;
    let _ = dicom::write_series(&b, tmp.path(), &WriteSeriesOptions::new().with_uid_seed(2).with_file_prefix("b_"))?;
    let found = dicom::discover(&[tmp.path().to_path_buf()])?;
    let uids: Vec<String> = found.summaries().iter().map(|s| s.series_uid.clone().unwrap()).collect();
    assert_eq!(uids.len(), 2);
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Dicom(DicomError::SeveralSeries { n: 2, .. })), "{msg}");
    assert!(uids.iter().all(|u| msg.contains(u.as_str())) && msg.contains("--series"), "{msg}");
    for (i, uid) in uids.iter().enumerate() {
        let by_uid = read(tmp.path(), &ReadOptions::new().with_series(uid.clone()))?;
        let by_index = read(tmp.path(), &ReadOptions::new().with_series((i + 1).to_string()))?;
        assert_eq!(by_uid.summary.series_uid.as_deref(), Some(uid.as_str()));
        assert_eq!(by_uid.volume.hu(), by_index.volume.hu());
    }
    let err = read(tmp.path(), &ReadOptions::new().with_series("9.9.9")).unwrap_err();
    assert!(matches!(err, Error::Dicom(DicomError::SeriesNotFound { .. })), "{err}");
    Ok(())
}

/// A truncated file is named in the error, whether the cut falls in the header or the pixels.
#[test]
fn truncated_file_is_named() -> Result<()> {
    let vol = ramp([32, 32, 4], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    for keep in [300usize, 1500] {
        let tmp = tempfile::tempdir()?;
        let files = dicom::write_series(&vol, tmp.path(), &WriteSeriesOptions::new().with_uid_seed(6))?;
        let bytes = std::fs::read(&files[2])?;
        std::fs::write(&files[2], &bytes[..keep])?;
        let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&files[2].display().to_string()), "cut at {keep}: {msg}");
        assert!(msg.contains("truncated") || msg.contains("decode"), "cut at {keep}: {msg}");
    }
    Ok(())
}

/// An empty folder, a folder of non-DICOM files, and a non-DICOM file given explicitly.
#[test]
fn no_dicom_is_an_error() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    assert!(matches!(err, Error::Dicom(DicomError::NoDicomFiles { .. })), "{err}");
    std::fs::write(tmp.path().join("notes.txt"), "x")?;
    let err = read(tmp.path(), &ReadOptions::new()).unwrap_err();
    assert!(err.to_string().contains("1 other files skipped"), "{err}");
    let err = dicom::read_series(&[tmp.path().join("notes.txt")], &ReadOptions::new()).unwrap_err();
    assert!(matches!(err, Error::Dicom(DicomError::NotDicom { .. })), "{err}");
    Ok(())
}

/// The patient identity is read (for --show-phi) but never part of the summary.
#[test]
fn patient_identity_is_kept_apart() -> Result<()> {
    let vol = ramp([4, 4, 2], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let tmp = tempfile::tempdir()?;
    let who = PatientIdentity { name: Some("DOE^JANE".into()), id: Some("PID-0042".into()), ..Default::default() };
    let _ = dicom::write_series(&vol, tmp.path(), &WriteSeriesOptions::new().with_patient(who.clone()))?;
    let s = read(tmp.path(), &ReadOptions::new())?;
    assert_eq!((&s.patient.name, &s.patient.id), (&who.name, &who.id));
    // Free text counts as identifying too (issue 16): the writer's SeriesDescription is kept
    // with the identity, not in the summary.
    assert!(s.patient.other.iter().any(|(k, v)| k == "SeriesDescription" && v == "coxa export"), "{:?}", s.patient.other);
    let summary = format!("{:?}", s.summary);
    assert!(!summary.contains("DOE") && !summary.contains("PID-0042"), "{summary}");
    Ok(())
}

/// `src`'s classic slices made one Enhanced CT file by the peer (highdicom's
/// LegacyConvertedEnhancedCTImage): `syntax` as tests/peers/enhanced_ct.py takes it.
fn enhanced_ct(python: &Path, src: &Path, out: &Path, syntax: &str, shuffle_seed: Option<u64>) -> Result<()> {
    let mut c = Command::new(python);
    c.arg(workspace_root().join("tests/peers/enhanced_ct.py")).arg(src).arg(out).arg(syntax).args(shuffle_seed.map(|s| s.to_string()));
    let o = c.output()?;
    if !o.status.success() {
        bail!("enhanced_ct.py {syntax}: {}", String::from_utf8_lossy(&o.stderr));
    }
    Ok(())
}

/// An Enhanced CT (issue 63): the real CT written as classic slices and made one multi-frame file
/// by highdicom, uncompressed (read straight from the file) and RLE with its frames shuffled
/// (decoded once by dicom-pixeldata), reads to the classic series' volume: the same grid, every
/// voxel equal. A frame without its position is named in one line.
#[test]
fn enhanced_ct_reads_as_its_classic_series() -> Result<()> {
    let Some(ct) = shared_data("totalseg/example_ct.nii.gz") else { return Ok(()) };
    let Some(py) = peer_python() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let classic = tmp.path().join("classic");
    let _ = dicom::write_series(&nifti::read_volume(&ct)?, &classic, &WriteSeriesOptions::new().with_uid_seed(7))?;
    let reference = read(&classic, &ReadOptions::new())?;
    for (syntax, shuffle) in [("explicit", None), ("rle", Some(3))] {
        let file = tmp.path().join(format!("{syntax}.dcm"));
        enhanced_ct(&py, &classic, &file, syntax, shuffle)?;
        let back = read(&file, &ReadOptions::new())?;
        assert!(back.volume.grid().same_as(reference.volume.grid(), 1e-6), "{syntax}: {:?} vs {:?}", back.volume.grid(), reference.volume.grid());
        assert_eq!(back.volume.hu(), reference.volume.hu(), "{syntax}");
        assert_eq!((back.files.len(), back.summary.n_files, back.summary.modality.as_str()), (1, 1, "CT"), "{syntax}");
    }
    let damaged = tmp.path().join("damaged.dcm");
    enhanced_ct(&py, &classic, &damaged, "no_position", None)?;
    let err = read(&damaged, &ReadOptions::new()).unwrap_err().to_string();
    assert!(err.contains("ImagePositionPatient") && err.contains("frame 5") && !err.contains('\n'), "{err}");
    Ok(())
}

/// A DICOM SEG (issue 63): the real CT's TotalSegmentator label map written by highdicom as a SEG
/// of the CT's classic series, as BINARY, FRACTIONAL and LABELMAP segmentations, reads back as
/// the same label map: every voxel in the class of the same name. A SEG of another series is
/// refused in one line.
#[test]
fn a_seg_reads_as_its_label_map() -> Result<()> {
    let (Some(ct), Some(seg), Some(py)) = (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz"), peer_python()) else {
        return Ok(());
    };
    let tmp = tempfile::tempdir()?;
    let classic = tmp.path().join("classic");
    let _ = dicom::write_series(&nifti::read_volume(&ct)?, &classic, &WriteSeriesOptions::new().with_uid_seed(7))?;
    let grid = read(&classic, &ReadOptions::new())?.volume.grid().clone();
    let map = nifti::read_label_map(&seg)?;
    let names = coxa_class_names_json();
    let name = |id: u16| coxa_core::labels::COXA_CLASSES.iter().find(|(i, _)| *i == id).map_or_else(|| format!("label_{id}"), |(_, n)| (*n).to_string());
    for kind in ["binary", "fractional", "labelmap"] {
        let file = tmp.path().join(format!("{kind}.dcm"));
        let o = Command::new(&py).arg(workspace_root().join("tests/peers/seg_from_labels.py")).arg(&classic).arg(&seg).arg(&file).arg(kind).arg(&names).output()?;
        if !o.status.success() {
            bail!("seg_from_labels.py {kind}: {}", String::from_utf8_lossy(&o.stderr));
        }
        assert!(dicom::seg::is_seg(&file), "{kind}: {} is a SEG", file.display());
        let slice = std::fs::read_dir(&classic)?.next().expect("a slice")?.path();
        assert!(!dicom::seg::is_seg(&slice), "{}: a CT slice", slice.display());
        let back = dicom::seg::read_label_map(&file, &grid, &coxa_io::Limits::new())?;
        assert!(back.grid().same_as(map.grid(), 1e-3));
        let mut differ = 0usize;
        for (a, b) in back.labels().iter().zip(map.labels().iter()) {
            let want = (*b != 0).then(|| name(*b));
            let got = (*a != 0).then(|| back.classes().name(*a).unwrap_or("?").to_string());
            differ += usize::from(want != got);
        }
        assert_eq!(differ, 0, "{kind}: {differ} voxels in another class");
        assert_eq!(back.classes().id("femur_left"), Some(75), "{kind}: coxa's classes keep their ids");
    }
    // On a grid moved by half a slice: refused, naming the frame.
    let moved = Grid::new(grid.size(), grid.spacing_mm(), grid.origin_lps_mm() + grid.direction().column(2) * 1.5, grid.direction())?;
    let e = dicom::seg::read_label_map(&tmp.path().join("binary.dcm"), &moved, &coxa_io::Limits::new()).unwrap_err().to_string();
    assert!(e.contains("is not on the CT's grid") && !e.contains('\n'), "{e}");
    Ok(())
}

/// A study as hospitals hand it over (issue 63): a CD's folder (a DICOMDIR beside the images,
/// written by pydicom's FileSet) reads as the series, the DICOMDIR skipped with a warning; the
/// folder zipped reads the same; a zip bomb is refused before it is unpacked.
#[test]
fn a_cd_folder_and_its_zip_read_as_the_series() -> Result<()> {
    let (Some(ct), Some(py)) = (shared_data("totalseg/example_ct.nii.gz"), peer_python()) else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let series = tmp.path().join("series");
    let who = PatientIdentity { name: Some("Doe^Jane".into()), id: Some("P-7".into()), other: Vec::new() };
    let _ = dicom::write_series(&first_slices(&nifti::read_volume(&ct)?, 20), &series, &WriteSeriesOptions::new().with_uid_seed(7).with_patient(who))?;
    let (cd, cd_zip, bomb) = (tmp.path().join("cd"), tmp.path().join("study.zip"), tmp.path().join("bomb.zip"));
    let o = Command::new(&py).arg(workspace_root().join("tests/peers/dicom_cd.py")).args([&series, &cd, &cd_zip, &bomb]).arg("300").output()?;
    ensure!(o.status.success(), "dicom_cd.py: {}", String::from_utf8_lossy(&o.stderr));
    let reference = read(&series, &ReadOptions::new())?.volume;
    for source in [&cd, &cd_zip] {
        let loaded = coxa_io::open(source, &coxa_io::OpenOptions::new())?;
        assert!(loaded.volume.grid().same_as(reference.grid(), 1e-9), "{}", source.display());
        assert_eq!(loaded.volume.hu(), reference.hu(), "{}", source.display());
        assert!(loaded.warnings.iter().any(|w| w.contains("skipped 1 DICOM file(s) that are no images")), "{}: {:?}", source.display(), loaded.warnings);
    }
    let limited = coxa_io::OpenOptions::new().with_limits(coxa_io::Limits::new().with_max_bytes(100 << 20));
    let e = coxa_io::open(&bomb, &limited).unwrap_err().to_string();
    assert!(e.contains("bomb.zip") && e.contains("--max-memory") && !e.contains('\n'), "{e}");
    Ok(())
}

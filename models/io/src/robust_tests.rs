//! Regression tests of issue 16 (hostile input): each builds its broken file in a temp folder and
//! checks the exact error. Named after the defect they guard against.

use std::path::{Path, PathBuf};

use coxa_core::{Grid, Volume};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use nalgebra::Vector3;
use ndarray::Array3;

use crate::dicom::{DicomError, ReadOptions, WriteSeriesOptions, read_series, write_series};
use crate::mesh::MeshFileError;
use crate::nifti::{NiftiError, NiftiHeader};
use crate::{Error, Limits, OpenOptions, open};

// ---------------------------------------------------------------- DICOM

/// A 16x12x3 CT series (air around a water block, 0.8 mm pixels, 2 mm slices) in `dir/series`.
fn ct_series(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let grid = Grid::axis_aligned([16, 12, 3], Vector3::new(0.8, 0.8, 2.0), Vector3::new(-5.0, -4.0, 10.0)).unwrap();
    let hu = Array3::from_shape_fn((3, 12, 16), |(_, j, i)| if (3..9).contains(&j) && (4..12).contains(&i) { 0.0 } else { -1000.0 });
    let vol = Volume::new(grid, hu).unwrap();
    let out = dir.join("series");
    let files = write_series(&vol, &out, &WriteSeriesOptions::new().with_uid_seed(16)).unwrap();
    (out, files)
}

/// Rewrites `file` after `edit` changes its data set.
fn edit_dicom(file: &Path, edit: impl FnOnce(&mut dicom_object::DefaultDicomObject)) {
    let mut obj = dicom_object::open_file(file).unwrap();
    edit(&mut obj);
    std::fs::remove_file(file).unwrap();
    obj.write_to_file(file).unwrap();
}

fn put(obj: &mut dicom_object::DefaultDicomObject, tag: dicom_core::Tag, vr: VR, v: PrimitiveValue) {
    let _ = obj.put(DataElement::new(tag, vr, v));
}

fn edit_all(files: &[PathBuf], edit: impl Fn(&mut dicom_object::DefaultDicomObject)) {
    for f in files {
        edit_dicom(f, &edit);
    }
}

/// Where `pattern` starts in `bytes`.
fn find(bytes: &[u8], pattern: &[u8]) -> usize {
    bytes.windows(pattern.len()).position(|w| w == pattern).expect("pattern in file")
}

fn dicom_err(r: crate::Result<impl std::fmt::Debug>) -> DicomError {
    match r {
        Err(Error::Dicom(e)) => e,
        other => panic!("expected a DicomError, got {other:?}"),
    }
}

fn read(dir: &Path) -> crate::Result<crate::dicom::DicomSeries> {
    read_series(&[dir.to_path_buf()], &ReadOptions::new())
}

#[test]
fn the_test_series_reads() {
    let d = tempfile::tempdir().unwrap();
    let (dir, _) = ct_series(d.path());
    let s = read(&dir).unwrap();
    assert_eq!(s.volume.grid().size(), [16, 12, 3]);
    assert_eq!(s.volume.stats().min_hu, -1000.0);
    let loaded = open(&dir, &OpenOptions::new()).unwrap();
    assert_eq!(loaded.modality.as_deref(), Some("CT"));
}

#[test]
fn dicom_pixel_data_announcing_4_gb_is_refused_before_reading() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    let mut bytes = std::fs::read(&files[1]).unwrap();
    // PixelData (7FE0,0010) OW, explicit VR little endian: tag, "OW", 2 reserved, 4-byte length.
    let at = find(&bytes, &[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]) + 8;
    bytes[at..at + 4].copy_from_slice(&0xF000_0000u32.to_le_bytes());
    std::fs::write(&files[1], &bytes).unwrap();
    assert!(bytes.len() < 5000);
    let e = dicom_err(read(&dir));
    assert!(matches!(&e, DicomError::ElementTooLong { path, tag, length: 0xF000_0000, remaining: 384 } if path == &files[1] && tag == "(7FE0,0010)"), "{e}");
    assert!(e.to_string().contains("announces 4026531840 bytes, but only 384 bytes follow"), "{e}");
}

#[test]
fn dicom_header_element_announcing_4_gb_is_refused_before_reading() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_dicom(&files[0], |o| put(o, dicom_core::Tag(0x0011, 0x1010), VR::OB, PrimitiveValue::from(vec![1u8, 2, 3, 4])));
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let at = find(&bytes, &[0x11, 0x00, 0x10, 0x10, b'O', b'B', 0, 0]) + 8;
    bytes[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    std::fs::write(&files[0], &bytes).unwrap();
    let e = dicom_err(read(&dir));
    assert!(matches!(&e, DicomError::ElementTooLong { tag, length: 0xFFFF_FFF0, .. } if tag == "(0011,1010)"), "{e}");
}

/// Found by fuzzing (issue 16): an OF element of 2 bytes made dicom-parser read the rest of the
/// value as the next header, announce hundreds of MB and zero-fill them (a 742-byte file took 4 s
/// and 750 MB). A binary value that is not a whole number of its values is refused first, here
/// built by hand and in the fuzzers' committed inputs.
#[test]
fn dicom_binary_element_of_a_partial_value_is_refused_before_parsing() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_dicom(&files[0], |o| put(o, dicom_core::Tag(0x0011, 0x1010), VR::OB, PrimitiveValue::from(vec![1u8, 2])));
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let at = find(&bytes, &[0x11, 0x00, 0x10, 0x10, b'O', b'B', 0, 0]);
    bytes[at + 4..at + 6].copy_from_slice(b"OF");
    std::fs::write(&files[0], &bytes).unwrap();
    let e = dicom_err(read(&dir));
    assert!(matches!(&e, DicomError::ElementLengthNotWhole { tag, vr: "OF", length: 2, unit: 4, .. } if tag == "(0011,1010)"), "{e}");
    assert!(e.to_string().ends_with("element (0011,1010) (OF) is 2 bytes long, not a whole number of its 4-byte values; the file is corrupt, re-export it"), "{e}");
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/fuzz");
    for target in ["dicom_file", "dicom_folder"] {
        for f in std::fs::read_dir(fuzz.join(target)).unwrap().flatten() {
            let e = dicom_err(open(&f.path(), &OpenOptions::new().with_any_modality(true)));
            // (One announces too long an element before its partial one; one has a sequence item
            // longer than its sequence, one a meta group whose length holds an element of
            // another group: each made dicom-parser zero-fill hundreds of MB or more.)
            assert!(
                matches!(&e, DicomError::ElementLengthNotWhole { .. } | DicomError::ElementTooLong { .. } | DicomError::ElementCrossesItem { .. } | DicomError::MetaGroupLength { .. }),
                "{}: {e}",
                f.path().display()
            );
            if f.file_name() == "dicom_folder-e1ae83ac096352d8.dcm" {
                assert!(e.to_string().contains("group length (0002,0000) does not match it: element (00FE,0001) of another group lies inside the length it announces"), "{e}");
            }
            // The watchdog's find has a short meta group too; the same file with its group length
            // mended is refused for its item longer than its sequence.
            if f.file_name() == "sequence-items-meta-fixed.dcm" {
                assert!(e.to_string().ends_with("element (FFFE,E000) announces 96 bytes, but only 56 bytes are left in the sequence or item holding it; the file is corrupt, re-export it"), "{e}");
            }
        }
    }
}

#[test]
fn dicom_rows_columns_65535_over_small_pixel_data_is_refused_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_all(&files, |o| {
        put(o, tags::ROWS, VR::US, PrimitiveValue::from(65535u16));
        put(o, tags::COLUMNS, VR::US, PrimitiveValue::from(65535u16));
    });
    let e = dicom_err(read(&dir));
    assert!(matches!(&e, DicomError::PixelDataLength { found: 384, expected: 8_589_672_450, .. }), "{e}");
    assert!(e.to_string().contains("65535x65535x1x1x16/8"), "{e}");
}

#[test]
fn dicom_series_over_the_memory_limit_is_refused_before_decoding() {
    let d = tempfile::tempdir().unwrap();
    let (dir, _) = ct_series(d.path());
    // 16x12x3 f32 = 2304 bytes of volume, plus each worker's file and slice.
    let r = read_series(std::slice::from_ref(&dir), &ReadOptions::new().with_limits(Limits::new().with_max_bytes(2000)));
    match r {
        Err(Error::TooMuchMemory { what, limit_bytes: 2000, need_bytes, .. }) => {
            assert!(what.contains("16x12x3 volume") && need_bytes > 2304, "{what} {need_bytes}");
        }
        other => panic!("expected TooMuchMemory, got {other:?}"),
    }
    let e = open(&dir, &OpenOptions::new().with_limits(Limits::new().with_max_bytes(2000))).unwrap_err();
    assert!(e.to_string().contains("--max-memory"), "{e}");
}

#[test]
fn dicom_16_bit_pixels_under_an_8_bit_header_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_all(&files, |o| {
        put(o, tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(8u16));
        put(o, tags::BITS_STORED, VR::US, PrimitiveValue::from(8u16));
        put(o, tags::HIGH_BIT, VR::US, PrimitiveValue::from(7u16));
    });
    let e = dicom_err(read(&dir));
    assert!(matches!(&e, DicomError::PixelDataLength { found: 384, expected: 192, .. }), "{e}");
    assert!(e.to_string().contains("16-bit pixels under an 8-bit header"), "{e}");
}

#[test]
fn dicom_bits_stored_above_bits_allocated_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_all(&files, |o| put(o, tags::BITS_STORED, VR::US, PrimitiveValue::from(17u16)));
    let e = dicom_err(read(&dir));
    assert!(matches!(&e, DicomError::BadTag { tag_name: "BitsStored", .. }), "{e}");
}

#[test]
fn dicom_broken_rescale_is_refused() {
    for (tag, name, value) in [
        (tags::RESCALE_SLOPE, "RescaleSlope", "0"),
        (tags::RESCALE_SLOPE, "RescaleSlope", "NaN"),
        (tags::RESCALE_SLOPE, "RescaleSlope", "inf"),
        (tags::RESCALE_SLOPE, "RescaleSlope", "1e38"),
        (tags::RESCALE_SLOPE, "RescaleSlope", "1\\2"),
        (tags::RESCALE_SLOPE, "RescaleSlope", "abc"),
        (tags::RESCALE_INTERCEPT, "RescaleIntercept", "NaN"),
        (tags::RESCALE_INTERCEPT, "RescaleIntercept", "-1e30"),
    ] {
        let d = tempfile::tempdir().unwrap();
        let (dir, files) = ct_series(d.path());
        edit_dicom(&files[2], |o| put(o, tag, VR::DS, PrimitiveValue::from(value)));
        let e = dicom_err(read(&dir));
        assert!(matches!(&e, DicomError::BadTag { tag_name, path, .. } if *tag_name == name && path == &files[2]), "{value}: {e}");
        assert!(e.to_string().contains("re-export") || e.to_string().contains("number"), "{value}: {e}");
    }
}

#[test]
fn dicom_absurd_pixel_spacing_or_slice_positions_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_all(&files, |o| put(o, tags::PIXEL_SPACING, VR::DS, PrimitiveValue::from("1e30\\1e30")));
    let e = read(&dir).unwrap_err();
    assert!(matches!(&e, Error::ImplausibleGrid { what, .. } if what.contains("1.000e30 mm")), "{e}");

    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    for (k, f) in files.iter().enumerate() {
        let z = format!("0\\0\\{}", k as f64 * 1e20);
        edit_dicom(f, |o| put(o, tags::IMAGE_POSITION_PATIENT, VR::DS, PrimitiveValue::from(z.as_str())));
    }
    let e = read(&dir).unwrap_err();
    assert!(matches!(&e, Error::ImplausibleGrid { what, .. } if what.contains("along k")), "{e}");
}

#[test]
fn dicom_mr_series_is_refused_as_ct_and_named() {
    let d = tempfile::tempdir().unwrap();
    let (dir, files) = ct_series(d.path());
    edit_all(&files, |o| put(o, tags::MODALITY, VR::CS, PrimitiveValue::from("MR")));
    let e = open(&dir, &OpenOptions::new()).unwrap_err();
    assert!(matches!(&e, Error::NotCt { what, .. } if what.contains("Modality MR (magnetic resonance)")), "{e}");
    assert!(e.to_string().contains("--any-modality"), "{e}");
    let loaded = open(&dir, &OpenOptions::new().with_any_modality(true)).unwrap();
    assert_eq!(loaded.modality.as_deref(), Some("MR"));
}

// ---------------------------------------------------------------- NIfTI

fn header(dims: [usize; 3], spacing: [f32; 3]) -> NiftiHeader {
    let mut h = crate::nifti::tests::blank_header();
    h.dims = [dims[0], dims[1], dims[2], 1, 1, 1, 1];
    h.pixdim[1..4].copy_from_slice(&spacing);
    h
}

fn write_nii(path: &Path, h: &NiftiHeader, data: &[u8]) {
    let mut b = h.to_bytes().to_vec();
    b.extend_from_slice(&[0u8; 4]);
    b.extend_from_slice(data);
    if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&b).unwrap();
        std::fs::write(path, e.finish().unwrap()).unwrap();
    } else {
        std::fs::write(path, b).unwrap();
    }
}

/// int16 bytes: air on the first half of the voxels, 40 HU on the rest.
fn ct_bytes(n: usize) -> Vec<u8> {
    (0..n).flat_map(|k| if k < n / 2 { -1000i16 } else { 40 }.to_le_bytes()).collect()
}

#[test]
fn nifti_spacing_1e30_zero_nan_negative_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.nii");
    for bad in [1e30f32, 1e3, 1e-5, 0.0, f32::NAN, -1.0, f32::INFINITY] {
        let _ = std::fs::remove_file(&p);
        write_nii(&p, &header([4, 3, 2], [1.0, bad, 1.0]), &ct_bytes(24));
        let e = crate::nifti::read_volume(&p).unwrap_err();
        let ok = match &e {
            Error::ImplausibleGrid { what, .. } => what.contains("along j"),
            Error::Nifti(NiftiError::BadPixdim { axis: 2, .. }) => true,
            _ => false,
        };
        assert!(ok, "spacing {bad}: {e}");
        assert!(crate::nifti::read_label_map(&p).is_err(), "label map with spacing {bad}");
    }
}

#[test]
fn nifti_nan_or_singular_direction_is_refused() {
    let d = tempfile::tempdir().unwrap();
    for (name, srow_x) in [("nan.nii", [f32::NAN, 0.0, 0.0, 0.0]), ("singular.nii", [0.0, 0.0, 0.0, 0.0])] {
        let p = d.path().join(name);
        let mut h = header([4, 3, 2], [1.0, 1.0, 1.0]);
        h.sform_code = 1;
        h.srow_x = srow_x;
        write_nii(&p, &h, &ct_bytes(24));
        let e = crate::nifti::read_volume(&p).unwrap_err();
        assert!(matches!(e, Error::Nifti(NiftiError::NoOrientation { sform_code: 1, .. })), "{name}: {e}");
    }
    // A NaN qoffset (origin) is not a grid either.
    let p = d.path().join("nan_origin.nii");
    let mut h = header([4, 3, 2], [1.0, 1.0, 1.0]);
    h.sform_code = 1;
    h.srow_y[3] = f32::NAN;
    h.qform_code = 0;
    write_nii(&p, &h, &ct_bytes(24));
    assert!(crate::nifti::read_volume(&p).is_err());
}

#[test]
fn nifti_gzip_bomb_header_is_refused_before_inflating() {
    // 4 KB of gzip cannot inflate to the 17 GB of int16 voxels the header declares.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bomb.nii.gz");
    write_nii(&p, &header([2048, 2048, 2048], [0.1, 0.1, 0.1]), &[0u8; 4096]);
    let e = crate::nifti::read_volume(&p).unwrap_err();
    assert!(matches!(&e, Error::Nifti(NiftiError::GzipCannotHold { expected_bytes: 17_179_869_536, .. })), "{e}");
}

#[test]
fn nifti_real_gzip_bomb_is_refused_by_the_limit_before_inflating() {
    // 64 MB of zeros compress to about 64 KB: the file truly holds them, the limit refuses them.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("zeros.nii.gz");
    let h = header([1024, 1024, 32], [0.5, 0.5, 0.5]);
    write_nii(&p, &h, &vec![0u8; 1024 * 1024 * 32 * 2]);
    assert!(std::fs::metadata(&p).unwrap().len() < 200_000);
    let limits = Limits::new().with_max_bytes(50_000_000);
    let e = crate::nifti::read_volume_with(&p, &limits).unwrap_err();
    // int16 voxels are kept as i16: 2 bytes each (64 MiB) plus the working buffers.
    assert!(matches!(&e, Error::TooMuchMemory { what, need_bytes, .. } if what == "a 1024x1024x32 volume" && *need_bytes > 67_108_864), "{e}");
    assert!(crate::nifti::read_label_map_with(&p, &limits).is_err());
}

#[test]
fn nifti_header_longer_than_the_file_is_refused_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("short.nii");
    write_nii(&p, &header([1000, 1000, 1000], [0.5, 0.5, 0.5]), &ct_bytes(100));
    let e = crate::nifti::read_volume(&p).unwrap_err();
    assert!(matches!(e, Error::Nifti(NiftiError::DataTooShort { expected_bytes: 2_000_000_000, found_bytes: 204, .. })), "{e}");
}

#[test]
fn nifti_volume_without_air_is_refused_as_ct() {
    let d = tempfile::tempdir().unwrap();
    let mr = d.path().join("mr.nii");
    let bytes: Vec<u8> = (0..24i16).flat_map(|k| (k * 30 - 40).to_le_bytes()).collect();
    write_nii(&mr, &header([4, 3, 2], [1.0, 1.0, 1.0]), &bytes);
    let e = open(&mr, &OpenOptions::new()).unwrap_err();
    assert!(matches!(&e, Error::NotCt { what, .. } if what.contains("no air")), "{e}");
    assert!(open(&mr, &OpenOptions::new().with_any_modality(true)).is_ok());
    let ct = d.path().join("ct.nii");
    write_nii(&ct, &header([4, 3, 2], [1.0, 1.0, 1.0]), &ct_bytes(24));
    assert!(open(&ct, &OpenOptions::new()).is_ok());
}

// ---------------------------------------------------------------- meshes

/// Found by fuzzing (issue 16): a second 'vertex' element with two properties was read with the
/// first one's x, y, z positions (a panic: index out of bounds). Every committed fuzz input and a
/// hand-written one are refused with one line.
#[test]
fn ply_declaring_an_element_twice_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("twice.ply");
    std::fs::write(
        &p,
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement vertex 1\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 0 0\n0 1 0\n5 5\n",
    )
    .unwrap();
    let e = crate::mesh::read_mesh(&p).unwrap_err();
    assert!(e.to_string().ends_with("the header declares element 'vertex' twice (element 2 of 2)"), "{e}");
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/fuzz/ply");
    for f in std::fs::read_dir(fuzz).unwrap().flatten() {
        let e = crate::mesh::read_mesh(&f.path()).unwrap_err();
        assert!(matches!(&e, Error::Mesh(MeshFileError::Corrupt { why, .. }) if why.contains("twice")), "{}: {e}", f.path().display());
    }
}

#[test]
fn ply_announcing_more_vertices_than_the_file_holds_is_refused_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    for (name, format) in [("b.ply", "binary_little_endian"), ("a.ply", "ascii")] {
        let p = d.path().join(name);
        let text = format!(
            "ply\nformat {format} 1.0\nelement vertex 4000000000000\nproperty float x\nproperty float y\nproperty float z\n\
             element face 1\nproperty list uchar int vertex_indices\nend_header\n"
        );
        let mut b = text.into_bytes();
        b.extend_from_slice(&[0u8; 64]);
        std::fs::write(&p, b).unwrap();
        let e = crate::mesh::read_mesh(&p).unwrap_err();
        assert!(matches!(&e, Error::Mesh(MeshFileError::Truncated { why, .. }) if why.contains("4000000000000 vertex")), "{name}: {e}");
    }
}

#[test]
fn stl_announcing_more_triangles_than_the_file_holds_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.stl");
    let mut b = vec![0u8; 80];
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    b.extend_from_slice(&[0u8; 100]);
    std::fs::write(&p, b).unwrap();
    let e = crate::mesh::read_mesh(&p).unwrap_err();
    assert!(matches!(&e, Error::Mesh(MeshFileError::Truncated { why, .. }) if why.contains("4294967295 triangles")), "{e}");
}

#[test]
fn stl_with_a_nan_vertex_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("nan.stl");
    let mut b = vec![0u8; 80];
    b.extend_from_slice(&1u32.to_le_bytes());
    let mut facet = [0u8; 50];
    for (k, v) in [0.0f32, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, f32::NAN, 1.0, 0.0].iter().enumerate() {
        facet[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&facet);
    std::fs::write(&p, b).unwrap();
    let e = crate::mesh::read_mesh(&p).unwrap_err();
    assert!(matches!(e, Error::Mesh(MeshFileError::InvalidMesh { .. })), "{e}");
}

#[test]
fn mesh_file_over_the_memory_limit_is_refused_before_reading() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.stl");
    std::fs::write(&p, vec![b' '; 10_000]).unwrap();
    let e = crate::mesh::read_mesh_with(&p, &Limits::new().with_max_bytes(20_000)).unwrap_err();
    assert!(matches!(&e, Error::TooMuchMemory { need_bytes: 30_000, .. }), "{e}");
}

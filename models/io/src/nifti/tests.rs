//! Unit tests of NIfTI read and write: header codec, corrupt files, geometry rules, round trips.

use std::io::Write;
use std::path::{Path, PathBuf};

use coxa_core::{ClassTable, Grid, LabelMap, Volume};
use nalgebra::{Matrix3, Rotation3, Vector3};
use ndarray::Array3;

use super::header::{DATA_OFFSET, HEADER_LEN};
use super::*;
mod frames_and_writes;
mod gzip_reads;

/// A valid little-endian int16 header for a 4x3x2 image, identity sform and qform at 1 mm.
pub(crate) fn blank_header() -> NiftiHeader {
    NiftiHeader {
        version: 1,
        big_endian: false,
        ndim: 3,
        dims: [4, 3, 2, 1, 1, 1, 1],
        datatype: 4,
        bitpix: 16,
        pixdim: [1.0; 8],
        vox_offset: DATA_OFFSET as f32,
        scl_slope: 0.0,
        scl_inter: 0.0,
        qform_code: 0,
        sform_code: 0,
        quatern_b: 0.0,
        quatern_c: 0.0,
        quatern_d: 0.0,
        qoffset_x: 0.0,
        qoffset_y: 0.0,
        qoffset_z: 0.0,
        srow_x: [1.0, 0.0, 0.0, 0.0],
        srow_y: [0.0, 1.0, 0.0, 0.0],
        srow_z: [0.0, 0.0, 1.0, 0.0],
        xyzt_units: 2,
        intent_code: 0,
        descrip: String::new(),
    }
}

fn i16_bytes(n: usize) -> Vec<u8> {
    (0..n as i16).flat_map(|v| (v * 7 - 20).to_le_bytes()).collect()
}

fn write_raw(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn write_gz(path: &Path, bytes: &[u8]) {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    std::fs::write(path, e.finish().unwrap()).unwrap();
}

/// The file of `h` and the little-endian values `data` (`elem` bytes each), every field and
/// value byte-swapped to big endian.
fn big_endian_file(h: &NiftiHeader, data: &[u8], elem: usize) -> Vec<u8> {
    let mut bytes = file_bytes(h, data);
    bytes[0..4].reverse();
    for off in (40..56).step_by(2).chain([68, 70, 72, 252, 254]) {
        bytes[off..off + 2].reverse();
    }
    for off in (76..120).step_by(4).chain((256..328).step_by(4)) {
        bytes[off..off + 4].reverse();
    }
    let offset = h.vox_offset as usize;
    for v in bytes[offset..].chunks_exact_mut(elem) {
        v.reverse();
    }
    bytes
}

/// Header bytes followed by `data`.
fn file_bytes(h: &NiftiHeader, data: &[u8]) -> Vec<u8> {
    let mut b = h.to_bytes().to_vec();
    b.extend_from_slice(data);
    b
}

fn nifti_err(r: crate::Result<impl std::fmt::Debug>) -> NiftiError {
    match r {
        Err(Error::Nifti(e)) => e,
        other => panic!("expected a NiftiError, got {other:?}"),
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn oblique_grid(size: [usize; 3], direction: Matrix3<f64>) -> Grid {
    // Origin and spacing exactly representable in f32, so the round trip can be exact.
    Grid::new(size, Vector3::new(0.75, 0.9765625, 2.5), Vector3::new(-177.9375, 11.3125, 94.25), direction).unwrap()
}

fn rotation() -> Matrix3<f64> {
    *Rotation3::from_euler_angles(0.3, -0.2, 1.1).matrix()
}

#[test]
fn header_round_trips_through_bytes() {
    let mut h = blank_header();
    h.dims = [5, 6, 7, 1, 1, 1, 1];
    h.datatype = 16;
    h.bitpix = 32;
    h.pixdim = [-1.0, 0.5, 0.75, 3.0, 1.0, 1.0, 1.0, 1.0];
    h.scl_slope = 2.0;
    h.scl_inter = -1024.0;
    h.qform_code = 1;
    h.sform_code = 2;
    h.quatern_b = 0.1;
    h.quatern_c = -0.2;
    h.quatern_d = 0.3;
    h.qoffset_x = 1.5;
    h.qoffset_y = -2.5;
    h.qoffset_z = 3.5;
    h.srow_x = [0.1, 0.2, 0.3, 0.4];
    h.srow_y = [0.5, 0.6, 0.7, 0.8];
    h.srow_z = [0.9, 1.0, 1.1, 1.2];
    h.xyzt_units = 10;
    h.intent_code = 1002;
    h.descrip = "TotalSegmentator ✓".to_string();
    let bytes = h.to_bytes();
    assert_eq!(bytes.len(), DATA_OFFSET);
    let back = NiftiHeader::parse(bytes[..HEADER_LEN].try_into().unwrap(), Path::new("x.nii")).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.datatype_name(), "float32");

    // The same header big endian: swap every numeric field.
    let mut be = bytes;
    let swap = |b: &mut [u8; DATA_OFFSET], off: usize, n: usize| b[off..off + n].reverse();
    swap(&mut be, 0, 4);
    for off in (40..56).step_by(2).chain([68, 70, 72, 252, 254]) {
        swap(&mut be, off, 2);
    }
    for off in (76..120).step_by(4).chain((256..328).step_by(4)) {
        swap(&mut be, off, 4);
    }
    let back = NiftiHeader::parse(be[..HEADER_LEN].try_into().unwrap(), Path::new("x.nii")).unwrap();
    assert!(back.big_endian);
    assert_eq!(NiftiHeader { big_endian: false, ..back }, h);
}

#[test]
fn descrip_is_cut_on_a_character_boundary() {
    let mut h = blank_header();
    h.descrip = "é".repeat(60); // 120 bytes
    let back = NiftiHeader::parse(h.to_bytes()[..HEADER_LEN].try_into().unwrap(), Path::new("x.nii")).unwrap();
    assert_eq!(back.descrip, "é".repeat(39)); // 78 bytes <= 79
}

#[test]
fn big_endian_file_reads_like_little_endian() {
    let d = tmp();
    let h = blank_header();
    let data = i16_bytes(24);
    let le = d.path().join("le.nii");
    write_raw(&le, &file_bytes(&h, &data));
    let be = d.path().join("be.nii");
    write_raw(&be, &big_endian_file(&h, &data, 2));
    assert!(read_header(&be).unwrap().big_endian);
    assert_eq!(read_volume(&be).unwrap(), read_volume(&le).unwrap());
}

#[test]
fn corrupt_headers_give_the_right_error() {
    let d = tmp();
    let good = file_bytes(&blank_header(), &i16_bytes(24));
    let case = |name: &str, bytes: &[u8]| {
        let p = d.path().join(name);
        write_raw(&p, bytes);
        (nifti_err(read_volume(&p)), p)
    };

    let mut b = good.clone();
    b[0..4].copy_from_slice(&12345i32.to_le_bytes());
    let (e, p) = case("sizeof.nii", &b);
    assert!(matches!(e, NiftiError::BadSizeofHdr { sizeof_hdr: 12345, .. }), "{e}");
    assert_eq!(e.to_string(), format!("{}: NIfTI header is corrupt: sizeof_hdr is 12345, expected 348 (NIfTI-1) or 540 (NIfTI-2) (truncated or not a NIfTI file)", p.display()));

    let mut b = good.clone();
    b[0..4].copy_from_slice(&540i32.to_le_bytes());
    // A NIfTI-2 size over a NIfTI-1 header: its magic (bytes 4..12) is not n+2; cut inside the
    // 540 bytes, it is truncated.
    b.resize(b.len().max(600), 0);
    let (e, _) = case("n2.nii", &b);
    assert!(matches!(e, NiftiError::BadMagic { .. }), "{e}");
    assert!(matches!(case("n2_short.nii", &b[..400]).0, NiftiError::TruncatedHeader { len: 400, .. }));

    assert!(matches!(case("short.nii", &good[..200]).0, NiftiError::TruncatedHeader { len: 200, .. }));
    assert!(matches!(case("empty.nii", &[]).0, NiftiError::TruncatedHeader { len: 0, .. }));

    let mut b = good.clone();
    b[344..348].copy_from_slice(b"ni1\0");
    assert!(matches!(case("magic.nii", &b).0, NiftiError::BadMagic { ref magic, .. } if magic == "ni1"));

    for ndim in [0i16, 8, -3] {
        let mut b = good.clone();
        b[40..42].copy_from_slice(&ndim.to_le_bytes());
        let (e, _) = case("ndim.nii", &b);
        assert!(matches!(e, NiftiError::BadDimCount { ndim: n, .. } if n == ndim), "{e}");
    }

    let mut b = good.clone();
    b[46..48].copy_from_slice(&0i16.to_le_bytes()); // dim[3] = 0
    assert!(matches!(case("zero.nii", &b).0, NiftiError::BadDim { axis: 3, value: 0, .. }));

    let mut b = good.clone();
    b[70..72].copy_from_slice(&32i16.to_le_bytes()); // complex64
    let (e, _) = case("complex.nii", &b);
    assert!(matches!(e, NiftiError::UnsupportedDatatype { code: 32, name: "complex64", .. }), "{e}");

    for bad in [f32::NAN, 0.0, -1.0, f32::INFINITY] {
        let mut b = good.clone();
        b[84..88].copy_from_slice(&bad.to_le_bytes()); // pixdim[2]
        let (e, _) = case("pixdim.nii", &b);
        assert!(matches!(e, NiftiError::BadPixdim { axis: 2, .. }), "{e}");
    }

    for bad in [0.0f32, 100.0, f32::NAN] {
        let mut b = good.clone();
        b[108..112].copy_from_slice(&bad.to_le_bytes());
        assert!(matches!(case("voxoff.nii", &b).0, NiftiError::BadVoxOffset { .. }));
    }

    let mut b = good.clone();
    b[40..42].copy_from_slice(&4i16.to_le_bytes());
    b[48..50].copy_from_slice(&2i16.to_le_bytes()); // dim[4] = 2
    assert!(matches!(case("4d.nii", &b).0, NiftiError::NotThreeD { .. }));

    let (e, _) = case("short_data.nii", &good[..good.len() - 3]);
    assert!(matches!(e, NiftiError::DataTooShort { expected_bytes: 48, found_bytes: 45, offset: 352, .. }), "{e}");
}

#[test]
fn a_huge_declared_size_is_an_error_not_an_abort() {
    let d = tmp();
    let mut h = blank_header();
    h.dims = [32767, 32767, 32767, 1, 1, 1, 1];
    h.pixdim[1..4].copy_from_slice(&[0.01, 0.01, 0.01]);
    h.datatype = 64;
    let p = d.path().join("huge.nii.gz");
    write_gz(&p, &file_bytes(&h, &[0u8; 64]));
    let e = nifti_err(read_volume(&p));
    assert!(matches!(e, NiftiError::GzipCannotHold { .. }), "{e}");
}

/// Issue 45: a large `.nii.gz` declaring 800 times its size (a zip bomb's ratio; real images
/// compress a few hundred to one at most) is refused before inflating, naming the ratio; with
/// an explicit memory limit only the memory is judged.
#[test]
fn issue_45_an_implausible_gzip_ratio_is_refused_before_inflating() {
    let d = tmp();
    let mut h = blank_header();
    h.dims = [1024, 1024, 1024, 1, 1, 1, 1];
    h.pixdim[1..4].copy_from_slice(&[0.1, 0.1, 0.1]);
    h.datatype = 4; // int16: 2 GiB of voxels
    let p = d.path().join("bomb.nii.gz");
    write_gz(&p, &file_bytes(&h, &[0u8; 64]));
    // Padded to 1/800 of the declared size (trailing bytes after the gzip member).
    let declared = 352 + 2 * 1024u64.pow(3);
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    let len = f.metadata().unwrap().len();
    f.write_all(&vec![0u8; (declared / 800 - len) as usize]).unwrap();
    drop(f);
    let machine = crate::Limits::from_machine();
    let e = nifti_err(read_volume_with(&p, &machine));
    assert!(matches!(e, NiftiError::GzipRatio { max_ratio: 500, .. }), "{e}");
    assert!(e.to_string().contains("2.1 GB of voxel data, 800 times the 2.7 MB gzip file"), "{e}");
    // An explicit limit is the caller's word: the ratio is not judged, the memory is (here
    // a small limit refuses the 2 GiB without allocating them).
    let explicit = crate::Limits::new().with_max_bytes(1 << 20);
    let e = read_volume_with(&p, &explicit).unwrap_err();
    assert!(matches!(e, crate::Error::TooMuchMemory { .. }), "{e}");
}

#[test]
fn truncated_or_corrupt_gzip_gives_gzip_error() {
    let d = tmp();
    let full = d.path().join("full.nii.gz");
    let mut h = blank_header();
    h.dims = [64, 64, 16, 1, 1, 1, 1];
    let data: Vec<u8> = (0..64 * 64 * 16).flat_map(|v: i32| ((v * 37 % 2001) as i16).to_le_bytes()).collect();
    write_gz(&full, &file_bytes(&h, &data));
    let gz = std::fs::read(&full).unwrap();
    assert!(read_volume(&full).is_ok());

    for cut in [gz.len() / 2, gz.len() - 4, 100] {
        let p = d.path().join(format!("cut{cut}.nii.gz"));
        write_raw(&p, &gz[..cut]);
        let e = nifti_err(read_volume(&p));
        assert!(matches!(e, NiftiError::Gzip { .. }), "cut at {cut}: {e}");
    }
    // A flipped byte in the compressed data (CRC or deflate error).
    let mut bad = gz.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    let p = d.path().join("flipped.nii.gz");
    write_raw(&p, &bad);
    assert!(read_volume(&p).is_err());
}

#[test]
fn gzip_is_recognised_by_content_not_name() {
    let d = tmp();
    let bytes = file_bytes(&blank_header(), &i16_bytes(24));
    let a = d.path().join("a.nii");
    let b = d.path().join("b.nii");
    write_raw(&a, &bytes);
    write_gz(&b, &bytes);
    assert_eq!(read_volume(&a).unwrap(), read_volume(&b).unwrap());
}

#[test]
fn missing_file_is_not_found() {
    let d = tmp();
    assert!(matches!(read_volume(&d.path().join("nope.nii.gz")), Err(Error::NotFound { .. })));
}

#[test]
fn scaling_follows_the_standard_and_itk() {
    let d = tmp();
    let data = i16_bytes(24);
    let read = |slope: f32, inter: f32| {
        let mut h = blank_header();
        h.scl_slope = slope;
        h.scl_inter = inter;
        let p = d.path().join(format!("s{}_{}.nii", slope.to_bits(), inter.to_bits()));
        write_raw(&p, &file_bytes(&h, &data));
        read_volume(&p).unwrap().hu().iter().copied().collect::<Vec<f32>>()
    };
    let raw: Vec<f32> = (0..24).map(|v| (v * 7 - 20) as f32).collect();
    assert_eq!(read(0.0, 0.0), raw);
    assert_eq!(read(0.0, 5.0), raw.iter().map(|v| v + 5.0).collect::<Vec<_>>(), "slope 0 means 1; intercept still applies (ITK)");
    assert_eq!(read(f32::NAN, f32::NAN), raw);
    assert_eq!(read(1.0, 0.0), raw);
    assert_eq!(read(0.5, -1024.0), raw.iter().map(|v| v * 0.5 - 1024.0).collect::<Vec<_>>());
}

#[test]
fn every_integer_and_float_datatype_reads() {
    let d = tmp();
    let values = [0.0f64, 1.0, 2.0, 100.0, 127.0, 3.0];
    for (code, bytes) in [
        (2i16, values.iter().map(|&v| v as u8).collect::<Vec<u8>>()),
        (256, values.iter().map(|&v| v as i8 as u8).collect()),
        (4, values.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect()),
        (512, values.iter().flat_map(|&v| (v as u16).to_le_bytes()).collect()),
        (8, values.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect()),
        (768, values.iter().flat_map(|&v| (v as u32).to_le_bytes()).collect()),
        (1024, values.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect()),
        (1280, values.iter().flat_map(|&v| (v as u64).to_le_bytes()).collect()),
        (16, values.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect()),
        (64, values.iter().flat_map(|&v| v.to_le_bytes()).collect()),
    ] {
        let mut h = blank_header();
        h.dims = [3, 2, 1, 1, 1, 1, 1];
        h.datatype = code;
        let p = d.path().join(format!("dt{code}.nii"));
        write_raw(&p, &file_bytes(&h, &bytes));
        let v = read_volume(&p).unwrap();
        assert_eq!(v.hu().iter().map(|&x| f64::from(x)).collect::<Vec<_>>(), values, "datatype {code}");
        let m = read_label_map(&p).unwrap();
        assert_eq!(m.labels().iter().map(|&x| f64::from(x)).collect::<Vec<_>>(), values, "datatype {code}");
    }
}

#[test]
fn error_names_the_file_and_the_fix() {
    let e = NiftiError::DataTooShort { path: "ct.nii".into(), expected_bytes: 10, found_bytes: 4, offset: 352 };
    let s = e.to_string();
    assert!(s.starts_with("ct.nii: ") && s.contains("re-download"), "{s}");
}

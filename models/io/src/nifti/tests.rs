//! Unit tests of NIfTI read and write: header codec, corrupt files, geometry rules, round trips.

use std::io::Write;
use std::path::{Path, PathBuf};

use coxa_core::{ClassTable, Grid, LabelMap, Volume};
use nalgebra::{Matrix3, Rotation3, Vector3};
use ndarray::Array3;

use super::header::{DATA_OFFSET, HEADER_LEN};
use super::*;

/// A valid little-endian int16 header for a 4x3x2 image, identity sform and qform at 1 mm.
pub(crate) fn blank_header() -> NiftiHeader {
    NiftiHeader {
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
    assert_eq!(e.to_string(), format!("{}: NIfTI header is corrupt: sizeof_hdr is 12345, expected 348 (truncated or not a NIfTI-1 file)", p.display()));

    let mut b = good.clone();
    b[0..4].copy_from_slice(&540i32.to_le_bytes());
    assert!(matches!(case("n2.nii", &b).0, NiftiError::Nifti2 { .. }));

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
fn label_map_rejects_non_integers_and_out_of_range_values() {
    let d = tmp();
    let mut h = blank_header();
    h.dims = [3, 2, 1, 1, 1, 1, 1];
    h.datatype = 16;
    let mut vals = [0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
    vals[4] = 2.5;
    let p = d.path().join("frac.nii");
    write_raw(&p, &file_bytes(&h, &vals.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()));
    let e = nifti_err(read_label_map(&p));
    assert!(matches!(e, NiftiError::NotALabel { index: [1, 1, 0], value: 2.5, .. }), "{e}");

    h.datatype = 4;
    let p = d.path().join("neg.nii");
    write_raw(&p, &file_bytes(&h, &[0i16, 1, -1, 3, 4, 5].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()));
    assert!(matches!(nifti_err(read_label_map(&p)), NiftiError::NotALabel { index: [2, 0, 0], .. }));

    // Scaling applies before the check: 3 * 0.5 is not an integer.
    h.scl_slope = 0.5;
    let p = d.path().join("scaled.nii");
    write_raw(&p, &file_bytes(&h, &[0i16, 2, 4, 3, 8, 10].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()));
    assert!(matches!(nifti_err(read_label_map(&p)), NiftiError::NotALabel { index: [0, 1, 0], value: 1.5, .. }));
}

/// Writes header `h` with a zero image of the size it declares and returns the grid coxa reads.
fn grid_of(h: &NiftiHeader) -> crate::Result<Grid> {
    let d = tmp();
    let p = d.path().join("g.nii");
    let n: usize = h.dims.iter().product::<usize>() * (usize::from(h.bitpix.unsigned_abs()) / 8);
    write_raw(&p, &file_bytes(h, &vec![0u8; n]));
    read_volume(&p).map(|v| v.grid().clone())
}

/// RAS affine rows for LPS direction `d`, spacing `s`, origin `o`.
fn ras_rows(d: &Matrix3<f64>, s: [f64; 3], o: [f64; 3]) -> [[f32; 4]; 3] {
    let mut rows = [[0f32; 4]; 3];
    for (r, row) in rows.iter_mut().enumerate() {
        let sign = if r < 2 { -1.0 } else { 1.0 };
        for c in 0..3 {
            row[c] = (sign * d[(r, c)] * s[c]) as f32;
        }
        row[3] = (sign * o[r]) as f32;
    }
    rows
}

#[test]
fn itk_picks_sform_or_qform_by_code() {
    let r1 = rotation();
    let r2 = *Rotation3::from_euler_angles(0.1, 0.5, -0.4).matrix();
    let q = oblique_grid([4, 3, 2], r1);
    let o = geometry::orientation_for(&q);
    let base = |qcode: i16, scode: i16| {
        let mut h = blank_header();
        h.pixdim = o.pixdim;
        [h.quatern_b, h.quatern_c, h.quatern_d] = o.quatern;
        [h.qoffset_x, h.qoffset_y, h.qoffset_z] = o.qoffset;
        [h.srow_x, h.srow_y, h.srow_z] = ras_rows(&r2, [0.75, 0.9765625, 2.5], [10.0, 20.0, 30.0]);
        h.qform_code = qcode;
        h.sform_code = scode;
        h
    };
    let is_q = |g: &Grid| (g.direction() - r1).abs().max() < 1e-6 && (g.origin_lps_mm() - q.origin_lps_mm()).abs().max() < 1e-4;
    let is_s = |g: &Grid| (g.direction() - r2).abs().max() < 1e-6 && (g.origin_lps_mm() - Vector3::new(10.0, 20.0, 30.0)).abs().max() < 1e-4;
    // (qform_code, sform_code) -> which one ITK 5.4 uses (checked against SimpleITK 2.5).
    for (qc, sc, sform) in [(1, 0, false), (0, 1, true), (0, 2, true), (1, 1, true), (1, 2, false), (2, 1, true), (2, 2, false), (1, 3, false), (3, 4, false)] {
        let g = grid_of(&base(qc, sc)).unwrap();
        assert!(if sform { is_s(&g) } else { is_q(&g) }, "qform_code {qc}, sform_code {sc}: {g:?}");
        assert_eq!(g.spacing_mm(), Vector3::new(0.75, 0.9765625, 2.5));
    }
    // Neither: origin 0, identity direction, spacing from pixdim.
    let g = grid_of(&base(0, 0)).unwrap();
    assert_eq!((g.origin_lps_mm(), g.direction()), (Vector3::zeros(), Matrix3::identity()));

    // A sheared sform: the qform if there is one, else an error.
    let mut h = base(1, 1);
    h.srow_x[1] += 0.3;
    assert!(is_q(&grid_of(&h).unwrap()));
    h.qform_code = 0;
    assert!(matches!(nifti_err(grid_of(&h)), NiftiError::NoOrientation { sform_code: 1, .. }));

    // Spacing comes from pixdim even when the sform's columns say otherwise.
    let mut h = base(0, 1);
    h.srow_x[0] *= 2.0;
    h.srow_y[0] *= 2.0;
    h.srow_z[0] *= 2.0;
    let g = grid_of(&h).unwrap();
    assert!(is_s(&g));
    assert_eq!(g.spacing_mm()[0], 0.75);

    // Units: metres scale spacing and origin by 1000.
    let mut h = base(0, 1);
    h.xyzt_units = 1;
    h.pixdim[1..4].copy_from_slice(&[0.00075, 0.0009765625, 0.0025]);
    let g = grid_of(&h).unwrap();
    assert!((g.spacing_mm() - Vector3::new(0.75, 0.9765625, 2.5)).abs().max() < 1e-6);
    assert!((g.origin_lps_mm() - Vector3::new(10e3, 20e3, 30e3)).abs().max() < 1e-1);
}

#[test]
fn qfac_minus_one_flips_the_third_axis() {
    let mut d = rotation();
    d.set_column(2, &(-d.column(2)));
    assert!(d.determinant() < 0.0);
    let g = oblique_grid([4, 3, 2], d);
    let o = geometry::orientation_for(&g);
    assert_eq!(o.pixdim[0], -1.0);
    let mut h = blank_header();
    h.pixdim = o.pixdim;
    [h.quatern_b, h.quatern_c, h.quatern_d] = o.quatern;
    [h.qoffset_x, h.qoffset_y, h.qoffset_z] = o.qoffset;
    h.qform_code = 1;
    let back = grid_of(&h).unwrap();
    assert!((back.direction() - d).abs().max() < 1e-6, "{} vs {d}", back.direction());
}

#[test]
fn two_d_images_get_k_size_one() {
    let d = tmp();
    let mut h = blank_header();
    h.ndim = 2;
    h.dims = [4, 3, 1, 1, 1, 1, 1];
    h.pixdim[3] = 0.0; // unused axis: taken as 1
    let p = d.path().join("2d.nii");
    write_raw(&p, &file_bytes(&h, &i16_bytes(12)));
    let v = read_volume(&p).unwrap();
    assert_eq!(v.grid().size(), [4, 3, 1]);
    assert_eq!(v.grid().spacing_mm()[2], 1.0);
    assert_eq!(v.get(3, 2, 0), Some((11 * 7 - 20) as f32));
}

#[test]
fn four_d_with_one_volume_is_three_d() {
    let mut h = blank_header();
    h.ndim = 5;
    let g = grid_of(&h).unwrap();
    assert_eq!(g.size(), [4, 3, 2]);
}

#[test]
fn volume_round_trip_is_exact_with_an_oblique_direction() {
    let d = tmp();
    let mut reflected = rotation();
    reflected.set_column(0, &(-reflected.column(0)));
    for (name, dir) in [("rot", rotation()), ("refl", reflected)] {
        let grid = oblique_grid([5, 4, 3], dir);
        let ints = Array3::from_shape_fn((3, 4, 5), |(k, j, i)| (i as f32) * 100.0 - (j * k) as f32 * 7.0 - 1024.0);
        let floats = ints.mapv(|v| v * 0.37 + 0.01);
        let mut special = ints.clone();
        special[[0, 0, 0]] = -0.0; // forces float32: int16 would lose the sign
        special[[2, 2, 2]] = 40000.0;
        for (kind, hu, dt) in [("int", ints, 4), ("float", floats, 16), ("special", special, 16)] {
            for ext in ["nii", "nii.gz"] {
                let p = d.path().join(format!("{name}_{kind}.{ext}"));
                let vol = Volume::new(grid.clone(), hu.clone()).unwrap();
                write_volume(&vol, &p).unwrap();
                let h = read_header(&p).unwrap();
                assert_eq!((h.datatype, h.qform_code, h.sform_code, h.vox_offset, h.xyzt_units), (dt, 1, 1, 352.0, 2));
                let back = read_volume(&p).unwrap();
                assert!(back.grid().same_as(&grid, 1e-6), "{p:?}: {:?} vs {grid:?}", back.grid());
                let same = back.hu().iter().zip(hu.iter()).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{p:?}: voxels differ");
                // The qform alone gives the same grid too (for readers that use it).
                let mut qonly = h.clone();
                qonly.sform_code = 0;
                assert!(grid_of(&qonly).unwrap().direction().relative_eq(&dir, 1e-6, 1e-6));
            }
        }
    }
    // NaN is written as it is, but no reader hands it on (issue 45): refused, counted.
    let mut with_nan = Array3::from_elem((3, 4, 5), -1000.0f32);
    with_nan[[1, 1, 1]] = f32::NAN;
    let p = d.path().join("nan.nii.gz");
    write_volume(&Volume::new(oblique_grid([5, 4, 3], rotation()), with_nan).unwrap(), &p).unwrap();
    assert_eq!(read_header(&p).unwrap().datatype, 16);
    let e = read_volume(&p).unwrap_err();
    assert!(matches!(e, crate::Error::NonFiniteVoxels { nan: 1, infinite: 0, total: 60, .. }), "{e}");
}

#[test]
fn origin_round_trip_error_is_single_precision_rounding() {
    let d = tmp();
    let grid = Grid::new([2, 2, 2], Vector3::new(0.7, 0.7, 1.25), Vector3::new(-250.123456789, 180.987654321, -1234.5678), rotation()).unwrap();
    let p = d.path().join("o.nii");
    write_volume(&Volume::new(grid.clone(), Array3::zeros((2, 2, 2))).unwrap(), &p).unwrap();
    let back = read_volume(&p).unwrap();
    let err = (back.grid().origin_lps_mm() - grid.origin_lps_mm()).abs();
    for (e, o) in err.iter().zip(grid.origin_lps_mm().iter()) {
        assert!(*e <= o.abs() * f64::from(f32::EPSILON), "{err:?}");
    }
    assert!(back.grid().same_as(&grid, 1e-4));
}

#[test]
fn label_round_trip_is_bit_exact() {
    let d = tmp();
    let grid = oblique_grid([7, 5, 3], rotation());
    let small = Array3::from_shape_fn((3, 5, 7), |(k, j, i)| ((i * 31 + j * 7 + k * 3) % 256) as u16);
    let large = Array3::from_shape_fn((3, 5, 7), |(k, j, i)| ((i * 9973 + j * 7919 + k * 104_729) % 65536) as u16);
    for (kind, labels, dt) in [("u8", small, 2), ("u16", large, 512)] {
        for ext in ["nii", "nii.gz"] {
            let p = d.path().join(format!("{kind}.{ext}"));
            let classes: ClassTable = [(1u16, "femur_left")].into_iter().collect();
            let map = LabelMap::new(grid.clone(), labels.clone(), classes).unwrap();
            write_label_map(&map, &p).unwrap();
            assert_eq!(read_header(&p).unwrap().datatype, dt);
            let back = read_label_map(&p).unwrap();
            assert_eq!(back.labels(), &labels);
            assert!(back.classes().is_empty());
            assert!(back.grid().same_as(&grid, 1e-6));
        }
    }
}

#[test]
fn write_never_overwrites() {
    let d = tmp();
    let p = d.path().join("exists.nii.gz");
    std::fs::write(&p, b"precious").unwrap();
    let grid = oblique_grid([2, 2, 2], Matrix3::identity());
    let vol = Volume::new(grid.clone(), Array3::zeros((2, 2, 2))).unwrap();
    assert!(matches!(write_volume(&vol, &p), Err(Error::WouldOverwrite { .. })));
    let map = LabelMap::new(grid, Array3::zeros((2, 2, 2)), ClassTable::new()).unwrap();
    assert!(matches!(write_label_map(&map, &p), Err(Error::WouldOverwrite { .. })));
    assert_eq!(std::fs::read(&p).unwrap(), b"precious");
}

#[test]
fn failed_write_leaves_no_file() {
    let d = tmp();
    let grid = oblique_grid([2, 2, 2], Matrix3::identity());
    let vol = Volume::new(grid.clone(), Array3::zeros((2, 2, 2))).unwrap();
    // A folder that does not exist: nothing created.
    let p: PathBuf = d.path().join("no_such_dir").join("x.nii");
    assert!(matches!(write_volume(&vol, &p), Err(Error::Write { .. })));
    // Wrong extension: refused before anything is created.
    let p = d.path().join("x.nrrd");
    assert!(matches!(nifti_err(write_volume(&vol, &p)), NiftiError::BadExtension { .. }));
    assert!(!p.exists());
    // A failure half way: the partial file is removed.
    for name in ["half.nii", "half.nii.gz"] {
        let p = d.path().join(name);
        let h = write::header_for(&grid, header::Datatype::I16, &p).unwrap();
        let r = write::write_file(&p, &h, |w| {
            w.write_all(&[0u8; 4])?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(matches!(r, Err(Error::Write { .. })), "{r:?}");
        assert!(!p.exists(), "{name} left behind");
    }
}

#[test]
fn sizes_beyond_int16_are_refused_on_write() {
    let d = tmp();
    let grid = Grid::axis_aligned([40000, 1, 1], Vector3::repeat(1.0), Vector3::zeros()).unwrap();
    let vol = Volume::new(grid, Array3::zeros((1, 1, 40000))).unwrap();
    let p = d.path().join("wide.nii");
    assert!(matches!(nifti_err(write_volume(&vol, &p)), NiftiError::NotRepresentable { .. }));
    assert!(!p.exists());
}

#[test]
fn nifti_paths_are_recognised_by_name() {
    for (p, yes) in [("a.nii", true), ("a.NII.GZ", true), ("dir/b.nii.gz", true), ("a.nii.bak", false), ("a.gz", false), ("nii", false), ("a.hdr", false)] {
        assert_eq!(is_nifti_path(Path::new(p)), yes, "{p}");
    }
}

#[test]
fn error_names_the_file_and_the_fix() {
    let e = NiftiError::DataTooShort { path: "ct.nii".into(), expected_bytes: 10, found_bytes: 4, offset: 352 };
    let s = e.to_string();
    assert!(s.starts_with("ct.nii: ") && s.contains("re-download"), "{s}");
}

/// Values of every datatype over a volume large enough for the parallel part of the in-place
/// conversion (more than twice its chunk), from a fixed sequence that covers the type's range.
fn stored_values(code: i16, n: usize) -> (Vec<u8>, usize) {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::new();
    let elem = match code {
        2 | 256 => 1,
        4 | 512 => 2,
        8 | 768 | 16 => 4,
        _ => 8,
    };
    for _ in 0..n {
        let r = next();
        match code {
            2 | 256 => out.push(r as u8),
            4 => out.extend_from_slice(&((r % 4096) as i16 - 1024).to_le_bytes()),
            512 => out.extend_from_slice(&(r as u16).to_le_bytes()),
            8 => out.extend_from_slice(&(r as i32).to_le_bytes()),
            768 => out.extend_from_slice(&(r as u32).to_le_bytes()),
            16 => out.extend_from_slice(&((r % 100_000) as f32 * 0.37 - 1000.0).to_le_bytes()),
            _ => out.extend_from_slice(&((r % 100_000) as f64 * 0.37 - 1000.0).to_le_bytes()),
        }
    }
    (out, elem)
}

#[test]
fn whole_gzip_read_equals_the_plain_read_bit_for_bit() {
    let d = tmp();
    let limits = crate::Limits::new();
    for code in [2i16, 256, 4, 512, 8, 768, 16, 64] {
        // Values narrower than 4 bytes reach the parallel part of the conversion (more than
        // twice its chunk); the others are converted chunk by chunk whatever the size.
        let size = if matches!(code, 2 | 256 | 4 | 512) { [130usize, 70, 120] } else { [61, 47, 23] };
        let n = size.iter().product::<usize>();
        for (big_endian, slope, extension) in [(false, 0.0, 0usize), (true, 0.0, 0), (false, 0.5, 48), (true, 2.0, 16)] {
            let mut h = blank_header();
            h.dims = [size[0], size[1], size[2], 1, 1, 1, 1];
            h.datatype = code;
            h.scl_slope = slope;
            h.scl_inter = if slope == 0.0 { 0.0 } else { -3.0 };
            h.vox_offset = (DATA_OFFSET + extension) as f32;
            let (data, elem) = stored_values(code, n);
            let mut padded = vec![0u8; extension];
            padded.extend_from_slice(&data);
            let bytes = if big_endian { big_endian_file(&h, &padded, elem) } else { file_bytes(&h, &padded) };
            let case = format!("datatype {code}, big endian {big_endian}, slope {slope}, extension {extension}");
            let plain = d.path().join("v.nii");
            let gz = d.path().join("v.nii.gz");
            write_raw(&plain, &bytes);
            write_gz(&gz, &bytes);
            let want = read_volume(&plain).unwrap();
            let got = read_volume(&gz).unwrap();
            assert_eq!(got.grid(), want.grid(), "{case}");
            assert!(got.hu().iter().zip(want.hu().iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{case}");
            // The whole-buffer path took it, except for values wider than f32.
            let (header, src) = read::open(&gz).unwrap();
            let layout = read::layout(&header, &gz).unwrap();
            let whole = inflate::read_whole(
                &src,
                &layout,
                &limits,
                &gz,
                |n| vec![0f32; n],
                |b, o, _| {
                    read::decode_f32(layout.datatype, layout.scaling, b, o);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(whole.is_some(), elem <= 4, "{case}");
            if code == 2 || code == 512 {
                let want = read_label_map(&plain);
                let got = read_label_map(&gz);
                match (want, got) {
                    (Ok(w), Ok(g)) => assert_eq!(w.labels(), g.labels(), "{case}"),
                    (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string().replace("v.nii.gz", "v.nii"), "{case}"),
                    (w, g) => panic!("{case}: plain {w:?}, gzip {g:?}"),
                }
            }
            std::fs::remove_file(&plain).unwrap();
            std::fs::remove_file(&gz).unwrap();
        }
    }
}

#[test]
fn several_gzip_members_and_bytes_after_the_voxels_read_as_one_stream() {
    let d = tmp();
    let mut h = blank_header();
    h.dims = [100, 100, 60, 1, 1, 1, 1];
    let (data, _) = stored_values(4, 100 * 100 * 60);
    let bytes = file_bytes(&h, &data);
    let plain = d.path().join("v.nii");
    write_raw(&plain, &bytes);
    let want = read_volume(&plain).unwrap();

    // Two members, split inside the voxels: the whole-buffer path hands it to the stream.
    let split = bytes.len() / 3;
    let mut two = Vec::new();
    for part in [&bytes[..split], &bytes[split..]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        two.extend_from_slice(&e.finish().unwrap());
    }
    let p = d.path().join("two.nii.gz");
    write_raw(&p, &two);
    assert_eq!(read_volume(&p).unwrap(), want);
    let (header, src) = read::open(&p).unwrap();
    let layout = read::layout(&header, &p).unwrap();
    let whole = inflate::read_whole(&src, &layout, &crate::Limits::new(), &p, |n| vec![0f32; n], |_, _, _| Ok(())).unwrap();
    assert!(whole.is_none());

    // Bytes after the voxels, inside the one stream.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[7u8; 1001]);
    let p = d.path().join("longer.nii.gz");
    write_gz(&p, &longer);
    assert_eq!(read_volume(&p).unwrap(), want);
}

#[test]
fn a_bad_label_deep_in_a_whole_gzip_read_is_named_by_its_index() {
    let d = tmp();
    let mut h = blank_header();
    h.dims = [128, 96, 100, 1, 1, 1, 1];
    h.datatype = 2;
    let n = 128 * 96 * 100;
    let mut data = vec![3u8; n];
    let bad = 900_001; // in the parallel part (the first half of a uint8 map to uint16)
    let mut h16 = h.clone();
    h16.datatype = 4;
    let mut data16: Vec<u8> = (0..n).flat_map(|_| 3i16.to_le_bytes()).collect();
    data16[2 * bad..2 * bad + 2].copy_from_slice(&(-2i16).to_le_bytes());
    data[bad] = 9;
    let p = d.path().join("labels.nii.gz");
    write_gz(&p, &file_bytes(&h, &data));
    assert_eq!(read_label_map(&p).unwrap().labels().iter().filter(|&&l| l == 9).count(), 1);
    let p = d.path().join("neg.nii.gz");
    write_gz(&p, &file_bytes(&h16, &data16));
    let want = [bad % 128, (bad / 128) % 96, bad / (128 * 96)];
    assert!(matches!(nifti_err(read_label_map(&p)), NiftiError::NotALabel { index, value: -2.0, .. } if index == want));
}

/// Issue 17: integer data whose values (after an integer scaling) all fit 16 bits is kept as
/// `i16`, 2 bytes a voxel, with exactly the values the `f32` conversion gives; data that does not
/// fit (the values, or a fractional slope, or floats) is `f32`. Plain, whole-gzip (libdeflate,
/// converted in place) and streamed gzip (two members) files alike, on a volume large enough for
/// the parallel parts.
#[test]
fn integer_ct_is_kept_as_i16_with_the_f32_values() {
    let d = tmp();
    let size = [130usize, 70, 120];
    let n = size.iter().product::<usize>();
    // (datatype, slope, intercept, stored values, kept as i16)
    let ct: Vec<i64> = (0..n as i64).map(|i| (i * 7919) % 4096 - 1024).collect();
    let raw12: Vec<i64> = ct.iter().map(|v| v + 1024).collect();
    let cases: [(i16, f32, f32, Vec<i64>, bool); 9] = [
        (4, 0.0, 0.0, ct.clone(), true),
        (4, 1.0, 0.0, ct.clone(), true),
        (512, 1.0, -1024.0, raw12.clone(), true),
        (8, 0.0, 0.0, ct.clone(), true),
        (2, 0.0, 0.0, raw12.iter().map(|v| v % 256).collect(), true),
        (4, 2.0, -3.0, ct.clone(), true),
        (4, 16.0, 0.0, ct.clone(), false),
        (512, 0.0, 0.0, raw12.iter().map(|v| v * 16).collect(), false),
        (4, 0.5, -1024.0, raw12.clone(), false),
    ];
    for (code, slope, inter, values, as_i16) in cases {
        let mut h = blank_header();
        h.dims = [size[0], size[1], size[2], 1, 1, 1, 1];
        h.datatype = code;
        h.scl_slope = slope;
        h.scl_inter = inter;
        let data: Vec<u8> = match code {
            2 => values.iter().map(|&v| v as u8).collect(),
            4 => values.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect(),
            512 => values.iter().flat_map(|&v| (v as u16).to_le_bytes()).collect(),
            _ => values.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect(),
        };
        let case = format!("datatype {code}, slope {slope}, intercept {inter}");
        // The values the f32 conversion gives (ITK's rule), from the stored bytes.
        let layout = {
            let p = d.path().join("ref.nii");
            write_raw(&p, &file_bytes(&h, &data));
            let (header, _) = read::open(&p).unwrap();
            std::fs::remove_file(&p).unwrap();
            read::layout(&header, &p).unwrap()
        };
        let mut want = vec![0f32; n];
        read::decode_f32(layout.datatype, layout.scaling, &data, &mut want);
        let bytes = file_bytes(&h, &data);
        let (plain, gz, two) = (d.path().join("v.nii"), d.path().join("v.nii.gz"), d.path().join("two.nii.gz"));
        write_raw(&plain, &bytes);
        write_gz(&gz, &bytes);
        let mut members = Vec::new();
        for part in [&bytes[..bytes.len() / 3], &bytes[bytes.len() / 3..]] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, part).unwrap();
            members.extend(e.finish().unwrap());
        }
        write_raw(&two, &members);
        for p in [&plain, &gz, &two] {
            let v = read_volume(p).unwrap();
            assert_eq!(v.bytes_per_voxel(), if as_i16 { 2 } else { 4 }, "{case}, {}", p.display());
            assert!(matches!(v.voxels(), coxa_core::Voxels::I16(_)) == as_i16, "{case}");
            assert!(v.hu().iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{case}, {}", p.display());
            std::fs::remove_file(p).unwrap();
        }
    }
}

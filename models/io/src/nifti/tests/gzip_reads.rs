//! Whole-gzip reads against plain reads, gzip members and trailing bytes, and integer CTs kept as i16.

use super::*;

/// Values of every datatype over a volume large enough for the parallel part of the in-place
/// conversion (more than twice its chunk), from a fixed sequence that covers the type's range.
pub(super) fn stored_values(code: i16, n: usize) -> (Vec<u8>, usize) {
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

//! The fast path for uncompressed 16-bit slices: the pixel bytes read straight from the file
//! into the volume, converted to HU on the way.
//!
//! Most CT series are stored uncompressed (explicit or implicit VR little endian), 16 bits a
//! pixel. For those, opening the whole file with dicom-object and decoding it with
//! dicom-pixeldata costs a parse of the full file, three copies of the pixels (the element's
//! value, the decoded frame, the `f32` frame), a 65,536-entry lookup table built per slice, and
//! allocations of each. Here the header walk ([`super::prescan`]) has already found where the
//! pixel value starts, so decoding is one read of `rows x cols x 2` bytes at that offset into a
//! per-thread buffer and one conversion into the slice's place in the volume.
//!
//! Hand-written (a few lines) because no crate reads a DICOM value at a known offset; the
//! values are those dicom-pixeldata 0.10 gives (`to_vec_frame::<f32>` with its default options,
//! i.e. the modality LUT only): the sample masked to BitsStored bits and sign-extended when
//! PixelRepresentation is 1, then `slope * x + intercept` in `f64`, rounded to `f32`. A slice
//! takes this path only where dicom-pixeldata would decode it without error and with this
//! formula ([`native_pixels`]); every other slice (compressed, big endian, 8 or 32 bits, colour,
//! functional groups, an attribute dicom-pixeldata would refuse) takes the general path, with its
//! errors.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use dicom_core::header::HasLength;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

use super::prescan::PixelData;
use crate::{Error, Result};

/// Where and how to read a slice's uncompressed 16-bit little-endian pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NativePixels {
    /// Byte offset of the PixelData value in the file.
    pub offset: u64,
    /// BitsStored (1..=16): the bits of each sample that hold its value.
    pub bits_stored: u16,
    /// PixelRepresentation 1: samples are two's complement.
    pub signed: bool,
    /// RescaleSlope (1 where absent or not a number, as dicom-pixeldata takes it).
    pub slope: f64,
    /// RescaleIntercept (0 where absent or not a number).
    pub intercept: f64,
}

/// Little-endian uncompressed transfer syntaxes: implicit VR, explicit VR.
const NATIVE_LE: [&str; 2] = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"];

/// `Some` when the slice can take the fast path: little-endian native pixel data of
/// `rows x cols` 16-bit samples (one padding byte allowed), one monochrome sample a pixel, one
/// frame, no functional groups, and every attribute dicom-pixeldata requires present and
/// readable the way it reads it.
pub(crate) fn native_pixels(obj: &DefaultDicomObject, transfer_syntax: &str, pixel_data: PixelData, rows: u32, cols: u32) -> Option<NativePixels> {
    let present = |tag| obj.get(tag);
    if present(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).is_some() || present(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).is_some() {
        return None;
    }
    if let Some(e) = present(tags::NUMBER_OF_FRAMES)
        && !e.is_empty()
        && e.to_int::<i32>().ok() != Some(1)
    {
        return None;
    }
    native_frames(obj, transfer_syntax, pixel_data, rows, cols, 1)
}

/// `Some` when `frames` frames of `rows x cols` pixels can be read straight from the file: as
/// [`native_pixels`] asks of one slice, whatever the functional groups (an Enhanced CT's: the
/// caller takes each frame's rescale from them). The offset is the first frame's; the rescale the
/// top level's.
pub(crate) fn native_frames(obj: &DefaultDicomObject, transfer_syntax: &str, pixel_data: PixelData, rows: u32, cols: u32, frames: u32) -> Option<NativePixels> {
    let PixelData::Native { len, offset } = pixel_data else { return None };
    if !NATIVE_LE.contains(&transfer_syntax) {
        return None;
    }
    let expected = u64::from(rows) * u64::from(cols) * u64::from(frames) * 2;
    if len != expected && len != expected + 1 {
        return None;
    }
    let present = |tag| obj.get(tag);
    let u16_of = |tag| present(tag).and_then(|e| e.uint16().ok());
    let (Some(r), Some(c)) = (u16_of(tags::ROWS), u16_of(tags::COLUMNS)) else { return None };
    if (u32::from(r), u32::from(c)) != (rows, cols) {
        return None;
    }
    if u16_of(tags::SAMPLES_PER_PIXEL) != Some(1) || u16_of(tags::BITS_ALLOCATED) != Some(16) || u16_of(tags::HIGH_BIT).is_none() {
        return None;
    }
    let bits_stored = u16_of(tags::BITS_STORED).filter(|b| (1..=16).contains(b))?;
    let signed = match u16_of(tags::PIXEL_REPRESENTATION)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let photometric = present(tags::PHOTOMETRIC_INTERPRETATION)?.string().ok()?.trim_matches(|ch: char| ch.is_whitespace() || ch == '\0').to_string();
    if photometric != "MONOCHROME1" && photometric != "MONOCHROME2" {
        return None;
    }
    if let Some(e) = present(tags::PLANAR_CONFIGURATION)
        && !matches!(e.to_int::<i16>(), Ok(0 | 1))
    {
        return None;
    }
    if let Some(e) = present(tags::VOILUT_FUNCTION)
        && e.string().is_err()
    {
        return None;
    }
    let float_or = |tag, default: f64| present(tag).and_then(|e| e.to_finite_float64().ok()).unwrap_or(default);
    Some(NativePixels { offset, bits_stored, signed, slope: float_or(tags::RESCALE_SLOPE, 1.0), intercept: float_or(tags::RESCALE_INTERCEPT, 0.0) })
}

/// Reads the slice's pixels from `path` into `buf` (reused between slices) and writes their HU
/// into `dst` (`rows * cols` values, row-major).
pub(crate) fn read_into(path: &Path, px: &NativePixels, dst: &mut [f32], buf: &mut Vec<u8>) -> Result<()> {
    read_samples(path, px, dst.len(), buf)?;
    to_hu(buf, px, dst);
    Ok(())
}

/// Reads the `n` 16-bit samples of the slice from `path` into `buf`.
fn read_samples(path: &Path, px: &NativePixels, n: usize, buf: &mut Vec<u8>) -> Result<()> {
    let unreadable = |e| Error::Unreadable { path: path.to_path_buf(), source: e };
    let mut f = File::open(path).map_err(unreadable)?;
    let _ = f.seek(SeekFrom::Start(px.offset)).map_err(unreadable)?;
    buf.resize(n * 2, 0);
    f.read_exact(buf).map_err(unreadable)
}

/// Reads the slice's pixels as [`read_into`] does, into `i16` HU ([`to_i16`]); `Ok(false)` when a
/// value does not fit.
pub(crate) fn read_into_i16(path: &Path, px: &NativePixels, dst: &mut [i16], buf: &mut Vec<u8>) -> Result<bool> {
    read_samples(path, px, dst.len(), buf)?;
    Ok(to_i16(buf, px, dst))
}

/// The integer slope and intercept of a slice whose HU are integers ([`to_hu`]'s exact case),
/// or `None`.
pub(crate) fn integer_rescale(px: &NativePixels) -> Option<(i32, i32)> {
    let (slope, intercept) = (px.slope, px.intercept);
    let negative_zero = intercept == 0.0 && intercept.is_sign_negative();
    let integral = slope.fract() == 0.0 && intercept.fract() == 0.0 && !negative_zero && slope.abs() * 65_536.0 + intercept.abs() <= F32_EXACT_INT;
    integral.then_some((slope as i32, intercept as i32))
}

/// A little-endian sample's value: its low BitsStored bits, sign-extended when signed.
fn sample_value(px: &NativePixels) -> impl Fn(&[u8; 2]) -> i32 + Copy {
    let shift = 32 - u32::from(px.bits_stored);
    let signed = px.signed;
    move |s: &[u8; 2]| {
        let v = u32::from(u16::from_le_bytes(*s)) << shift;
        if signed { (v as i32) >> shift } else { (v >> shift) as i32 }
    }
}

/// Converts little-endian 16-bit samples to `i16` HU with the integer rescale of
/// [`integer_rescale`] (the same values as [`to_hu`]); `false` when a value is outside `i16`
/// or the rescale is not integral.
pub(crate) fn to_i16(bytes: &[u8], px: &NativePixels, dst: &mut [i16]) -> bool {
    let Some((a, b)) = integer_rescale(px) else { return false };
    let (samples, _) = bytes.as_chunks::<2>();
    let value = sample_value(px);
    let mut fits = true;
    for (o, s) in dst.iter_mut().zip(samples) {
        let hu = a * value(s) + b;
        *o = hu as i16;
        fits &= i32::from(*o) == hu;
    }
    fits
}

/// Largest magnitude an `f32` holds every integer up to.
const F32_EXACT_INT: f64 = 16_777_216.0;

/// Converts little-endian 16-bit samples to HU as dicom-pixeldata does (see the module docs).
pub(crate) fn to_hu(bytes: &[u8], px: &NativePixels, dst: &mut [f32]) {
    let (samples, _) = bytes.as_chunks::<2>();
    let value = sample_value(px);
    let (slope, intercept) = (px.slope, px.intercept);
    // (An intercept of -0.0 is left to f64: with a negative slope, -0.0 * ... + -0.0 is -0.0.)
    if let Some((a, b)) = integer_rescale(px) {
        // Integer slope and intercept: `slope * x + intercept` is an integer within 2^24, exact
        // in f64 and in f32 alike, so i32 arithmetic gives the same bits (and vectorises).
        for (o, s) in dst.iter_mut().zip(samples) {
            *o = (a * value(s) + b) as f32;
        }
    } else {
        for (o, s) in dst.iter_mut().zip(samples) {
            *o = (slope * f64::from(value(s)) + intercept) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use coxa_core::{Grid, Volume};
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_pixeldata::PixelDecoder;
    use nalgebra::Vector3;
    use ndarray::Array3;

    use crate::dicom::{ReadOptions, WriteSeriesOptions, discover, read_series, write_series};

    /// A 20x14x4 series written by coxa; `scale` 1 keeps integer HU (slope 1), else a scaled slope.
    fn series(dir: &Path, scale: f32) -> Vec<PathBuf> {
        let grid = Grid::axis_aligned([20, 14, 4], Vector3::new(0.7, 0.7, 1.5), Vector3::new(-5.0, -4.0, 10.0)).unwrap();
        let hu = Array3::from_shape_fn((4, 14, 20), |(k, j, i)| ((i * 131 + j * 17 + k * 7) % 3000) as f32 * scale - 1024.0);
        write_series(&Volume::new(grid, hu).unwrap(), dir, &WriteSeriesOptions::new().with_uid_seed(7)).unwrap()
    }

    /// Reads `dir` and checks every slice against dicom-pixeldata's own decoding, bit for bit;
    /// returns whether every slice took the fast path.
    fn fast_and_equal(dir: &Path) -> bool {
        let found = discover(&[dir.to_path_buf()]).unwrap();
        let fast = found.series[0].slices.iter().all(|s| s.native.is_some());
        let read = read_series(&[dir.to_path_buf()], &ReadOptions::new()).unwrap();
        let hu = read.volume.hu();
        let hu = hu.as_slice().unwrap();
        let per_slice = hu.len() / read.files.len();
        for (k, f) in read.files.iter().enumerate() {
            let obj = dicom_object::open_file(f).unwrap();
            let want: Vec<f32> = obj.decode_pixel_data().unwrap().to_vec_frame(0).unwrap();
            let got = &hu[k * per_slice..(k + 1) * per_slice];
            assert!(want.iter().zip(got).all(|(a, b)| a.to_bits() == b.to_bits()), "slice {k} of {}", dir.display());
        }
        fast
    }

    fn edit(files: &[PathBuf], f: impl Fn(&mut dicom_object::DefaultDicomObject)) {
        for p in files {
            let mut obj = dicom_object::open_file(p).unwrap();
            f(&mut obj);
            std::fs::remove_file(p).unwrap();
            obj.write_to_file(p).unwrap();
        }
    }

    #[test]
    fn uncompressed_series_take_the_fast_path_with_dicom_pixeldata_values() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("plain");
        let _ = series(&plain, 1.0);
        assert!(fast_and_equal(&plain));
        let scaled = tmp.path().join("scaled");
        let _ = series(&scaled, 0.37);
        assert!(fast_and_equal(&scaled));
        // 12 bits stored, unsigned, a non-integer rescale, MONOCHROME1: still the fast path.
        let odd = tmp.path().join("odd");
        let files = series(&odd, 1.0);
        edit(&files, |o| {
            let _ = o.put(DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)));
            let _ = o.put(DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)));
            let _ = o.put(DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16)));
            let _ = o.put(DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("0.5")));
            let _ = o.put(DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, PrimitiveValue::from("MONOCHROME1")));
        });
        assert!(fast_and_equal(&odd));
        // Integer HU within 16 bits are kept as i16 (issue 17); a fractional or overflowing
        // rescale as f32, with dicom-pixeldata's values either way.
        let overflow = tmp.path().join("overflow");
        let files = series(&overflow, 1.0);
        edit(&files, |o| {
            let _ = o.put(DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("20")));
        });
        assert!(fast_and_equal(&overflow));
        let bytes = |dir: &Path| read_series(&[dir.to_path_buf()], &ReadOptions::new()).unwrap().volume.bytes_per_voxel();
        assert_eq!([bytes(&plain), bytes(&scaled), bytes(&odd), bytes(&overflow)], [2, 4, 4, 4]);
        // Without HighBit dicom-pixeldata refuses the slice: the general path must see it.
        let no_high_bit = tmp.path().join("no_high_bit");
        let files = series(&no_high_bit, 1.0);
        edit(&files, |o| {
            let _ = o.remove_element(tags::HIGH_BIT);
        });
        let found = discover(&[no_high_bit]).unwrap();
        assert!(found.series[0].slices.iter().all(|s| s.native.is_none()));
    }

    fn px(bits_stored: u16, signed: bool, slope: f64, intercept: f64) -> NativePixels {
        NativePixels { offset: 0, bits_stored, signed, slope, intercept }
    }

    /// dicom-pixeldata's formula, written out: mask, sign by the table's upper half, rescale.
    fn reference(raw: u16, p: &NativePixels) -> f32 {
        let size = 1u32 << p.bits_stored;
        let v = u32::from(raw) & (size - 1);
        let x = if p.signed && v >= size / 2 { f64::from(v) - f64::from(size) } else { f64::from(v) };
        (p.slope * x + p.intercept) as f32
    }

    #[test]
    fn every_sample_converts_as_dicom_pixeldata_does() {
        let raw: Vec<u16> = (0..=u16::MAX).collect();
        let bytes: Vec<u8> = raw.iter().flat_map(|v| v.to_le_bytes()).collect();
        for p in [
            px(16, true, 1.0, -1024.0),
            px(16, false, 1.0, -1024.0),
            px(12, true, 1.0, 0.0),
            px(12, false, 1.0, -1024.0),
            px(13, true, 2.0, -8192.0),
            px(1, true, 1.0, 0.0),
            px(16, true, 0.5, -1024.0),
            px(16, false, 1000.0, 1e5),
            px(16, true, -3.0, 7.0),
            px(16, true, -1.0, -0.0),
            px(16, true, 1.0, -0.0),
            px(10, false, 0.3, -0.7),
        ] {
            let mut out = vec![0f32; raw.len()];
            to_hu(&bytes, &p, &mut out);
            for (r, o) in raw.iter().zip(&out) {
                assert_eq!(o.to_bits(), reference(*r, &p).to_bits(), "sample {r:#06x} with {p:?}");
            }
        }
    }
}

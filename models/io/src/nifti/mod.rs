//! NIfTI-1 read and write, NIfTI-2 read (`.nii`, `.nii.gz`), with the geometry SimpleITK 2.5 (ITK
//! 5.4) gives.
//!
//! - Reading takes NIfTI-2 too (`sizeof_hdr` 540: 64-bit sizes and offsets, double precision
//!   geometry), into the same [`NiftiHeader`], its double precision fields kept in single
//!   precision: a NIfTI-2 converted from NIfTI-1 (nibabel's `Nifti2Image.from_image`) reads to
//!   the NIfTI-1 original exactly; a genuine double precision affine is rounded as NIfTI-1 would
//!   store it (below).
//! - Reading takes either byte order (told apart by `sizeof_hdr`), gzip by its magic bytes
//!   whatever the name, any scalar integer or float datatype, and 3D images (also 4D and up when
//!   every extra dimension is 1; 1D and 2D images get `k` size 1). Values are scaled by
//!   `scl_slope`/`scl_inter` as ITK does (a slope of 0 or NaN means no scaling).
//! - Speed: an uncompressed `.nii` is read and converted by every core at once, each its own
//!   chunk of the file into its place in the volume; a `.nii.gz` is inflated in one call by
//!   libdeflate into the volume's own memory and converted there ([`inflate`](self::inflate));
//!   what that path cannot take (several gzip members, stored values wider than the result, a
//!   corrupt stream) inflates in a stream, its conversion overlapping on a second thread.
//! - Geometry: NIfTI's world is RAS, coxa's LPS, so x and y are negated. Which of qform and sform
//!   is used, and how, is described in [`geometry`](self#geometry) below.
//! - Writing is little endian, `vox_offset` 352, int16 / float32 volumes and uint8 / uint16 label
//!   maps, qform and sform both set (code 1, scanner anatomical) as ITK writes them, gzip for a
//!   `.nii.gz` name. An existing file is never replaced, and a failed write leaves no file behind.
//!
//! # Geometry
//! ITK 5.4 (`NiftiImageIO::SetImageIOOrientationFromNIfTI`, `itkNiftiImageIO.cxx`) uses the
//! sform when `sform_code > 0`, its 3x3 part is a rotation times per-column scales, and
//! `qform_code == 0` or `sform_code == 1` (or the two transforms agree); else the qform when
//! `qform_code > 0`; with both codes 0, origin 0 and identity direction. Spacing always comes from
//! `pixdim[1..=3]` (scaled to mm by `xyzt_units`), never from the sform's column lengths. A
//! sheared sform without a qform is an error in ITK and here.
//!
//! NIfTI-1 stores geometry in single precision: a written grid reads back with spacing and
//! origin rounded to `f32` (a relative 6e-8, e.g. 1.5e-5 mm at 250 mm) and direction to about 1e-7.
//!
//! # Errors
//! Bad files give a [`NiftiError`] (wrapped in [`crate::Error::Nifti`]) naming the file, the cause
//! and the fix; a missing file gives [`crate::Error::NotFound`], an unreadable one
//! [`crate::Error::Unreadable`], a geometry [`coxa_core::Grid`] rejects [`crate::Error::Geometry`].

pub(crate) mod error;
mod extension;
mod geometry;
mod header;
mod inflate;
mod read;
#[cfg(test)]
pub(crate) mod tests;
mod write;

use std::path::Path;

use coxa_core::{LabelMap, Volume};
use ndarray::Array3;

pub use error::NiftiError;
pub use header::{NiftiHeader, datatype_name};

use crate::{Error, Limits, Result};

/// Whether `path` names a NIfTI file: it ends in `.nii` or `.nii.gz` (any case).
pub fn is_nifti_path(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy().to_lowercase();
        n.ends_with(".nii") || n.ends_with(".nii.gz")
    })
}

/// Reads the header of a `.nii` or `.nii.gz` file (gzip is recognised by content).
///
/// Checks `sizeof_hdr`, `magic` and `dim` only; a header that parses may still describe an image
/// [`read_volume`] refuses (unsupported datatype, several volumes, bad spacing).
pub fn read_header(path: &Path) -> Result<NiftiHeader> {
    let (header, _) = read::open(path)?;
    Ok(header)
}

/// Reads a NIfTI-1 image as a CT volume: any integer or float datatype, scaled by
/// `scl_slope`/`scl_inter` (a slope of 0 means no scaling, as in the standard), on the grid
/// SimpleITK gives for the same file. Integer data with no scaling or an integer one whose
/// values all fit 16 bits (every CT in HU) is kept as `i16`, anything else as `f32`; the values
/// are SimpleITK's either way.
///
/// Memory is limited by [`Limits::new`] (half the machine's available memory); see
/// [`read_volume_with`] to set the limit. A grid no scanner makes (spacing outside
/// 0.001..100 mm, see [`crate::sanity`]) is [`crate::Error::ImplausibleGrid`].
///
/// NIfTI says nothing about modality: whether the values are CT HU is for the caller to judge
/// ([`crate::open`] checks that the volume holds air).
pub fn read_volume(path: &Path) -> Result<Volume> {
    read_volume_with(path, &Limits::new())
}

/// [`read_volume`] with a memory limit: a header whose volume (as `f32`) and buffers would
/// need more than `limits` is [`crate::Error::TooMuchMemory`], before anything is allocated or
/// inflated.
pub fn read_volume_with(path: &Path, limits: &Limits) -> Result<Volume> {
    let (header, src) = read::open(path)?;
    let layout = read::layout(&header, path)?;
    if let Some(map) = read::i16_map(layout.datatype, layout.scaling) {
        if let Some(data) = read_values(src, &layout, limits, path, map)? {
            let array = to_array(&layout.grid, data, path)?;
            return Volume::from_i16(layout.grid, array).map_err(|source| Error::Geometry { path: path.to_path_buf(), source });
        }
        // A value outside i16: read again as f32.
        let (_, src) = read::open(path)?;
        return read_f32(src, layout, limits, path);
    }
    read_f32(src, layout, limits, path)
}

/// The volume as `f32`, converted by [`read::decode_f32`].
fn read_f32(src: read::Source, layout: read::Layout, limits: &Limits, path: &Path) -> Result<Volume> {
    let data = read_values::<f32>(src, &layout, limits, path, ())?.expect("f32 holds every value");
    let array = to_array(&layout.grid, data, path)?;
    let volume = Volume::new(layout.grid, array).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })?;
    crate::sanity::check_finite(&volume, path)?;
    Ok(volume)
}

/// A type the voxels are read into: `f32` always, `i16` when every value fits.
trait Stored: bytemuck::Pod + Default + Send + Sync {
    /// What the conversion needs besides the datatype and scaling.
    type Map: Copy + Sync;
    /// A zeroed vector of `n` values (zeroed by the allocator).
    fn zeroed_vec(n: usize) -> Vec<Self>;
    /// Converts `bytes` into `out`; `false` when a value does not fit.
    fn decode(layout: &read::Layout, map: Self::Map, bytes: &[u8], out: &mut [Self]) -> bool;
}

impl Stored for f32 {
    type Map = ();
    fn zeroed_vec(n: usize) -> Vec<Self> {
        vec![0.0; n]
    }
    fn decode(layout: &read::Layout, (): (), bytes: &[u8], out: &mut [Self]) -> bool {
        read::decode_f32(layout.datatype, layout.scaling, bytes, out);
        true
    }
}

impl Stored for i16 {
    type Map = (i64, i64);
    fn zeroed_vec(n: usize) -> Vec<Self> {
        vec![0; n]
    }
    fn decode(layout: &read::Layout, map: (i64, i64), bytes: &[u8], out: &mut [Self]) -> bool {
        read::decode_i16(layout.datatype, map, bytes, out)
    }
}

/// The voxels as `T`, whole (libdeflate), streamed (gzip) or in parallel chunks (plain); `None`
/// when a value does not fit `T`.
fn read_values<T: Stored>(mut src: read::Source, layout: &read::Layout, limits: &Limits, path: &Path, map: T::Map) -> Result<Option<Vec<T>>> {
    read::check_size(&src, layout, size_of::<T>() as u64, limits, path)?;
    let fits = std::sync::atomic::AtomicBool::new(true);
    let decode = |bytes: &[u8], out: &mut [T]| {
        if !T::decode(layout, map, bytes, out) {
            fits.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let whole = inflate::read_whole(&src, layout, limits, path, T::zeroed_vec, |bytes, out, _| {
        decode(bytes, out);
        Ok(())
    })?;
    let data = if let Some(data) = whole {
        data
    } else if src.is_gzip() {
        // What libdeflate's whole-buffer path does not take streams: inflating and converting
        // overlap (two threads).
        let mut data = with_capacity::<T>(layout.n_voxels, layout, path)?;
        read::stream_voxels(&mut src, layout, path, |bytes, first| {
            data.resize(first + bytes.len() / layout.datatype.size(), T::default());
            decode(bytes, &mut data[first..]);
            Ok(())
        })?;
        data
    } else {
        read::read_plain(&src, layout, path, T::zeroed_vec, decode)?
    };
    Ok(fits.into_inner().then_some(data))
}

/// Reads a NIfTI-1 image as a label map. Every voxel (after scaling) must be an integer in
/// `0..=65535`, else [`NiftiError::NotALabel`] names the first one that is not. The class table
/// is the one a header extension holds (TotalSegmentator's `--ml` label maps: a Caret XML label
/// table), else empty (NIfTI has no standard place for class names).
pub fn read_label_map(path: &Path) -> Result<LabelMap> {
    read_label_map_with(path, &Limits::new())
}

/// [`read_label_map`] with a memory limit (see [`read_volume_with`]).
pub fn read_label_map_with(path: &Path, limits: &Limits) -> Result<LabelMap> {
    let (header, mut src) = read::open(path)?;
    let layout = read::layout(&header, path)?;
    read::check_size(&src, &layout, 2, limits, path)?;
    // Class names in a header extension (TotalSegmentator's `--ml` label maps).
    let classes = extension::label_names(&extension::read(&mut src, &layout, path)?).unwrap_or_default();
    let size = layout.grid.size();
    let not_a_label = |flat: usize, value: f64| {
        let index = [flat % size[0], (flat / size[0]) % size[1], flat / (size[0] * size[1])];
        Error::from(NiftiError::NotALabel { path: path.to_path_buf(), index, value })
    };
    let whole = inflate::read_whole(
        &src,
        &layout,
        limits,
        path,
        |n| vec![0u16; n],
        |bytes, out, first| read::decode_labels(layout.datatype, layout.scaling, bytes, out).map_err(|(k, value)| not_a_label(first + k, value)),
    )?;
    let data = if let Some(data) = whole {
        data
    } else {
        let mut data = with_capacity::<u16>(layout.n_voxels, &layout, path)?;
        read::stream_voxels(&mut src, &layout, path, |bytes, first| {
            data.resize(first + bytes.len() / layout.datatype.size(), 0);
            read::decode_labels(layout.datatype, layout.scaling, bytes, &mut data[first..]).map_err(|(k, value)| not_a_label(first + k, value))
        })?;
        data
    };
    let array = to_array(&layout.grid, data, path)?;
    LabelMap::new(layout.grid, array, classes).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })
}

/// Writes `vol` to `path` (`.nii`, or gzip-compressed `.nii.gz`): int16 when every value is an
/// integer in the int16 range, else float32. Refuses to replace an existing file
/// ([`crate::Error::WouldOverwrite`]) and removes its partial file if writing fails.
pub fn write_volume(vol: &Volume, path: &Path) -> Result<()> {
    coxa_core::with_hu!(vol, |a| write::write_volume(vol.grid(), a, path))
}

/// Writes `map` to `path` (`.nii` or `.nii.gz`) as uint8 when every label is below 256, else
/// uint16. The class table is not stored. Never replaces an existing file.
pub fn write_label_map(map: &LabelMap, path: &Path) -> Result<()> {
    write::write_labels(map.grid(), map.labels(), path)
}

/// An empty vector with room for `n` voxels, or [`NiftiError::TooLarge`] when that much memory
/// cannot be had. Voxels are appended as they are decoded, so a header that claims more data than
/// a (gzip) file holds costs only the memory of the data actually there.
fn with_capacity<T>(n: usize, layout: &read::Layout, path: &Path) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| NiftiError::TooLarge { path: path.to_path_buf(), size: layout.grid.size() })?;
    Ok(v)
}

fn to_array<T>(grid: &coxa_core::Grid, data: Vec<T>, path: &Path) -> Result<Array3<T>> {
    let [k, j, i] = grid.shape_kji();
    let expected = data.len() as u64;
    Array3::from_shape_vec((k, j, i), data).map_err(|_| NiftiError::DataTooShort { path: path.to_path_buf(), expected_bytes: expected, found_bytes: 0, offset: 0 }.into())
}

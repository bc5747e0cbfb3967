//! NIfTI-1 read and write (`.nii`, `.nii.gz`), with the geometry SimpleITK 2.5 (ITK 5.4) gives.
//!
//! - Reading takes either byte order (told apart by `sizeof_hdr`), gzip by its magic bytes
//!   whatever the name, any scalar integer or float datatype, and 3D images (also 4D and up when
//!   every extra dimension is 1; 1D and 2D images get `k` size 1). Values are scaled by
//!   `scl_slope`/`scl_inter` as ITK does (a slope of 0 or NaN means no scaling).
//! - Speed: an uncompressed `.nii` is read and converted by every core at once, each its own
//!   chunk of the file into its place in the volume; a `.nii.gz` inflates serially (gzip has no
//!   independent blocks), its conversion overlapping the inflating on a second thread.
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

mod geometry;
mod header;
mod read;
#[cfg(test)]
pub(crate) mod tests;
mod write;

use std::path::{Path, PathBuf};

use coxa_core::{ClassTable, LabelMap, Volume};
use ndarray::Array3;

pub use header::{NiftiHeader, datatype_name};

use crate::{Error, Limits, Result};

/// A NIfTI problem. Every variant names the file, says what is wrong and what to do.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    /// The file ends inside the 348-byte header.
    #[error(
        "{path}: NIfTI file ends after {len} bytes, inside the 348-byte header (truncated, or not a NIfTI file); \
         re-export or re-download it"
    )]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Bytes present (after decompression).
        len: usize,
    },
    /// `sizeof_hdr` is neither 348 nor 540 in either byte order.
    #[error("{path}: NIfTI header is corrupt: sizeof_hdr is {sizeof_hdr}, expected 348 (truncated or not a NIfTI-1 file)")]
    BadSizeofHdr {
        /// The file.
        path: PathBuf,
        /// `sizeof_hdr` read as little endian.
        sizeof_hdr: i32,
    },
    /// A NIfTI-2 file (`sizeof_hdr` 540).
    #[error(
        "{path}: this is a NIfTI-2 file (sizeof_hdr 540); coxa reads NIfTI-1 only: convert it, \
         e.g. with nibabel `nib.save(nib.Nifti1Image(img.dataobj, img.affine), 'out.nii.gz')`"
    )]
    Nifti2 {
        /// The file.
        path: PathBuf,
    },
    /// `magic` is not `n+1` (single-file NIfTI-1).
    #[error(
        "{path}: NIfTI magic is {magic:?}, expected \"n+1\"; two-file NIfTI (\"ni1\", .hdr/.img) and Analyze 7.5 \
         are not supported: convert to a single .nii or .nii.gz file (e.g. with nibabel or SimpleITK)"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic found, up to its first NUL.
        magic: String,
    },
    /// `dim[0]` is outside 1..=7.
    #[error("{path}: NIfTI header is corrupt: dim[0] is {ndim}, expected 1..=7 (truncated or damaged file)")]
    BadDimCount {
        /// The file.
        path: PathBuf,
        /// `dim[0]` as stored.
        ndim: i16,
    },
    /// A used dimension is zero or negative.
    #[error("{path}: NIfTI header is corrupt: dim[{axis}] is {value}, but every image dimension must be at least 1")]
    BadDim {
        /// The file.
        path: PathBuf,
        /// The index into `dim` (1 = x).
        axis: usize,
        /// The value stored.
        value: i16,
    },
    /// More than one volume (`dim[4..=7]` not all 1).
    #[error(
        "{path}: holds more than one 3D volume (dim[1..=7] = {dims:?}); coxa reads a single volume: \
         extract the one you need first (e.g. nibabel `img.slicer[..., 0]` or `fslroi`)"
    )]
    NotThreeD {
        /// The file.
        path: PathBuf,
        /// `dim[1..=7]`.
        dims: [usize; 7],
    },
    /// A datatype coxa does not read (complex, RGB, binary, float128, unknown).
    #[error(
        "{path}: NIfTI datatype {code} ({name}) is not supported; coxa reads scalar integers (8 to 64 bit) \
         and float32/float64: convert the image, e.g. with nibabel `img.set_data_dtype(np.float32)`"
    )]
    UnsupportedDatatype {
        /// The file.
        path: PathBuf,
        /// `datatype`.
        code: i16,
        /// Its name.
        name: &'static str,
    },
    /// A voxel spacing is zero, negative or not finite.
    #[error(
        "{path}: pixdim[{axis}] is {value}, but the voxel spacing must be finite and > 0 \
         (ITK would silently use 1 mm or mirror the axis): fix the header, e.g. nibabel `header.set_zooms(...)`"
    )]
    BadPixdim {
        /// The file.
        path: PathBuf,
        /// Index into `pixdim` (1 = x).
        axis: usize,
        /// The value stored.
        value: f32,
    },
    /// `vox_offset` points inside the header or is not a number.
    #[error("{path}: NIfTI header is corrupt: vox_offset is {vox_offset}, expected a byte offset of at least 352")]
    BadVoxOffset {
        /// The file.
        path: PathBuf,
        /// The value stored.
        vox_offset: f32,
    },
    /// The declared image is larger than this machine can address.
    #[error("{path}: the header declares {size:?} voxels, more than this machine can hold; the header is probably corrupt")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// `dim[1..=3]`.
        size: [usize; 3],
    },
    /// The file holds fewer voxel bytes than the header declares.
    #[error(
        "{path}: image data is {found_bytes} bytes, but the header declares {expected_bytes} bytes from byte {offset}: \
         the file is truncated; re-export or re-download it"
    )]
    DataTooShort {
        /// The file.
        path: PathBuf,
        /// Bytes the header declares (voxels x bytes per voxel).
        expected_bytes: u64,
        /// Bytes present.
        found_bytes: u64,
        /// Where the data starts (`vox_offset`).
        offset: u64,
    },
    /// A `.nii.gz` too small to inflate to the data its header declares (a corrupt header, or a
    /// "zip bomb" header): refused before inflating anything.
    #[error(
        "{path}: the header declares {expected_bytes} bytes of header and voxel data, but a gzip file of {disk_bytes} bytes \
         cannot inflate to more than 1040 times its size: the header is corrupt (dim or datatype); re-export the image"
    )]
    GzipCannotHold {
        /// The file.
        path: PathBuf,
        /// Length of the `.nii.gz` file, bytes.
        disk_bytes: u64,
        /// Bytes the header declares up to the end of the voxel data.
        expected_bytes: u64,
    },
    /// The gzip stream is corrupt or ends early.
    #[error("{path}: the gzip stream is corrupt or truncated ({source}); re-download or re-compress the file (`gzip -t` checks it)")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// Neither transform gives an orthonormal direction (sheared sform, no qform).
    #[error(
        "{path}: no usable orientation: the sform (sform_code {sform_code}) is sheared or singular and there is no \
         qform (qform_code 0); ITK refuses such files too: resample the image to an orthogonal grid, or set a qform"
    )]
    NoOrientation {
        /// The file.
        path: PathBuf,
        /// `sform_code`.
        sform_code: i16,
    },
    /// A label map voxel that is not an integer in 0..=65535.
    #[error(
        "{path}: voxel (i, j, k) = {index:?} is {value}, not an integer in 0..=65535, so this is not a label map \
         (a CT or probability map?); read it with read_volume, or threshold and round it first"
    )]
    NotALabel {
        /// The file.
        path: PathBuf,
        /// Voxel index `[i, j, k]`.
        index: [usize; 3],
        /// Its value after scaling.
        value: f64,
    },
    /// The name ends neither in `.nii` nor in `.nii.gz`.
    #[error("{path}: a NIfTI file name must end in .nii or .nii.gz; choose such a name")]
    BadExtension {
        /// The path.
        path: PathBuf,
    },
    /// The grid cannot be stored in a NIfTI-1 header.
    #[error("{path}: cannot be written as NIfTI-1: {why}; crop or resample the image first")]
    NotRepresentable {
        /// The path.
        path: PathBuf,
        /// What does not fit.
        why: String,
    },
}

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

/// Reads a NIfTI-1 image as a CT volume: any integer or float datatype, converted to `f32` after
/// `scl_slope`/`scl_inter` (a slope of 0 means no scaling, as in the standard), on the grid
/// SimpleITK gives for the same file.
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
    let (header, mut src) = read::open(path)?;
    let layout = read::layout(&header, path)?;
    read::check_size(&src, &layout, 4, limits, path)?;
    let data = if src.is_gzip() {
        // gzip inflates serially: inflating and converting overlap (two threads).
        let mut data = with_capacity::<f32>(layout.n_voxels, &layout, path)?;
        read::stream_voxels(&mut src, &layout, path, |bytes, first| {
            data.resize(first + bytes.len() / layout.datatype.size(), 0.0);
            read::decode_f32(layout.datatype, layout.scaling, bytes, &mut data[first..]);
            Ok(())
        })?;
        data
    } else {
        read::read_plain_f32(&src, &layout, path)?
    };
    let array = to_array(&layout.grid, data, path)?;
    Volume::new(layout.grid, array).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })
}

/// Reads a NIfTI-1 image as a label map. Every voxel (after scaling) must be an integer in
/// `0..=65535`, else [`NiftiError::NotALabel`] names the first one that is not. The class table is
/// empty (NIfTI has no standard place for class names).
pub fn read_label_map(path: &Path) -> Result<LabelMap> {
    read_label_map_with(path, &Limits::new())
}

/// [`read_label_map`] with a memory limit (see [`read_volume_with`]).
pub fn read_label_map_with(path: &Path, limits: &Limits) -> Result<LabelMap> {
    let (header, mut src) = read::open(path)?;
    let layout = read::layout(&header, path)?;
    read::check_size(&src, &layout, 2, limits, path)?;
    let size = layout.grid.size();
    let mut data = with_capacity::<u16>(layout.n_voxels, &layout, path)?;
    read::stream_voxels(&mut src, &layout, path, |bytes, first| {
        data.resize(first + bytes.len() / layout.datatype.size(), 0);
        read::decode_labels(layout.datatype, layout.scaling, bytes, &mut data[first..]).map_err(|(k, value)| {
            let flat = first + k;
            let index = [flat % size[0], (flat / size[0]) % size[1], flat / (size[0] * size[1])];
            Error::from(NiftiError::NotALabel { path: path.to_path_buf(), index, value })
        })
    })?;
    let array = to_array(&layout.grid, data, path)?;
    LabelMap::new(layout.grid, array, ClassTable::new()).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })
}

/// Writes `vol` to `path` (`.nii`, or gzip-compressed `.nii.gz`): int16 when every value is an
/// integer in the int16 range, else float32. Refuses to replace an existing file
/// ([`crate::Error::WouldOverwrite`]) and removes its partial file if writing fails.
pub fn write_volume(vol: &Volume, path: &Path) -> Result<()> {
    write::write_volume(vol.grid(), vol.hu(), path)
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

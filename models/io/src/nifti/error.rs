//! NIfTI errors: each names the file, the cause, and what to do.
//!
//! A leaf: [`crate::Error`] wraps it, and nothing here uses the rest of the crate (no file circle).

use std::path::PathBuf;

/// A NIfTI problem. Every variant names the file, says what is wrong and what to do.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum NiftiError {
    /// The file ends inside the 348-byte header.
    #[error(
        "{path}: NIfTI file ends after {len} bytes, inside its header (348 bytes, 540 for NIfTI-2; truncated, or not a NIfTI file); \
         re-export or re-download it"
    )]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Bytes present (after decompression).
        len: usize,
    },
    /// `sizeof_hdr` is neither 348 nor 540 in either byte order.
    #[error("{path}: NIfTI header is corrupt: sizeof_hdr is {sizeof_hdr}, expected 348 (NIfTI-1) or 540 (NIfTI-2) (truncated or not a NIfTI file)")]
    BadSizeofHdr {
        /// The file.
        path: PathBuf,
        /// `sizeof_hdr` read as little endian.
        sizeof_hdr: i32,
    },
    /// `magic` is not `n+1` (single-file NIfTI-1).
    #[error(
        "{path}: NIfTI magic is {magic:?}, expected \"n+1\" (or \"n+2\" after a NIfTI-2 header); two-file NIfTI (\"ni1\", .hdr/.img) and Analyze 7.5 \
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
        value: i64,
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
    /// A large `.nii.gz` whose header declares far more data than any real image compresses
    /// from (a "zip bomb", or a corrupt dim): refused before inflating anything, unless the
    /// memory limit was given explicitly (`--max-memory`).
    #[error(
        "{path}: the header declares {} of voxel data, {} times the {} gzip file; real images compress at most about {max_ratio}:1, so the header is corrupt or the file is a decompression bomb: re-export the image (if it is genuine, give --max-memory explicitly to read it)",
        crate::human::human_bytes(*expected_bytes),
        expected_bytes / (*disk_bytes).max(1),
        crate::human::human_bytes(*disk_bytes)
    )]
    GzipRatio {
        /// The file.
        path: PathBuf,
        /// Length of the `.nii.gz` file, bytes.
        disk_bytes: u64,
        /// Bytes the header declares up to the end of the voxel data.
        expected_bytes: u64,
        /// The largest ratio accepted.
        max_ratio: u64,
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

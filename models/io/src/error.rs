//! The error of `coxa-io`.

use std::path::PathBuf;

/// Anything that can go wrong reading or writing a CT volume or label map.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A DICOM problem (see [`crate::dicom::DicomError`]).
    #[error(transparent)]
    Dicom(#[from] crate::dicom::error::DicomError),
    /// A NIfTI problem (see [`crate::nifti::NiftiError`]).
    #[error(transparent)]
    Nifti(#[from] crate::nifti::error::NiftiError),
    /// An NRRD file problem (see [`crate::nrrd::NrrdError`]).
    #[error(transparent)]
    Nrrd(#[from] crate::nrrd::error::NrrdError),
    /// A radiograph problem (see [`crate::radiograph::RadiographError`]).
    #[error(transparent)]
    Radiograph(#[from] crate::radiograph::error::RadiographError),
    /// A mesh file problem (see [`crate::mesh::MeshFileError`]).
    #[error(transparent)]
    Mesh(#[from] crate::mesh::error::MeshFileError),
    /// A 3D Slicer markups file that cannot be read (see [`crate::markups`]).
    #[error("{path}: not a 3D Slicer markups file: {why}")]
    Markups {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the line or field.
        why: String,
    },
    /// The path does not exist.
    #[error("{path}: no such file or folder; check the path")]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// The path exists but cannot be read (permissions, I/O error).
    #[error("{path}: cannot read it ({source}); check its permissions")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than a whole-file read may take ([`crate::read_bounded`]).
    #[error("{path}: {source}")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The error of [`crate::read_bounded`], naming the size and the bound.
        #[source]
        source: std::io::Error,
    },
    /// The file is neither NIfTI nor DICOM.
    #[error("{path}: not a NIfTI (.nii, .nii.gz) or DICOM file (no 'DICM' marker at byte 128)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// Writing would replace an existing file.
    #[error("{path} already exists; coxa never overwrites files: choose a new path or remove it")]
    WouldOverwrite {
        /// The existing file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("cannot write {path}: {source}; check that its folder exists and may be written, or choose another output folder")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the file would need more memory than [`crate::Limits`] allows.
    #[error(
        "{path}: {what} would need {} of memory, more than {} allowed ({limit_source}); \
         the header is probably corrupt, else raise the limit with --max-memory or crop the image",
        crate::human::human_bytes(*need_bytes),
        crate::human::human_bytes(*limit_bytes)
    )]
    TooMuchMemory {
        /// The file (or first file of a series).
        path: PathBuf,
        /// What needs the memory ("a 65535x65535x20 volume").
        what: String,
        /// Bytes it would need.
        need_bytes: u64,
        /// The limit, bytes.
        limit_bytes: u64,
        /// Where the limit came from.
        limit_source: &'static str,
    },
    /// The grid's spacing, extent or origin is outside anything a CT scanner makes.
    #[error("{path}: {what}; the header is corrupt: fix the geometry (or re-export the image)")]
    ImplausibleGrid {
        /// The file (or first file of a series).
        path: PathBuf,
        /// What is out of range, with the value and the accepted range.
        what: String,
    },
    /// A CT was needed but the source is another modality (or not like a CT at all).
    #[error(
        "{path}: {what}, not a CT; coxa needs Hounsfield units from a CT here: choose the CT series \
         (--series) or file, or, if you know the values are HU, pass --any-modality (coxa anatomy)"
    )]
    NotCt {
        /// The file or folder.
        path: PathBuf,
        /// What was found ("the series' Modality is MR").
        what: String,
    },
    /// A float image holds NaN or infinite voxels: values no CT has, that no stage can use.
    #[error(
        "{path}: {} of {total} voxels are not numbers ({nan} NaN, {infinite} infinite); coxa does not guess \
         values for them: replace them (e.g. with -1024, air) and save the image again",
        nan + infinite
    )]
    NonFiniteVoxels {
        /// The file or folder.
        path: PathBuf,
        /// NaN voxels.
        nan: usize,
        /// Infinite voxels.
        infinite: usize,
        /// Voxels in the image.
        total: usize,
    },
    /// The series in a zip archive cannot be read (the cause names the unpacked file: its number
    /// is the member's in the archive).
    #[error("{path} (unpacked): {source}")]
    InArchive {
        /// The archive.
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: Box<Error>,
    },
    /// A zip archive given as a CT that cannot be unpacked safely.
    #[error("{path}: cannot unpack this zip archive: {why}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A DICOM segmentation (SEG) that cannot be read as a label map on the CT's grid.
    #[error("{path}: cannot read this DICOM segmentation as the CT's label map: {why}")]
    Seg {
        /// The SEG file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A folder given as a label map is not one mask per class (TotalSegmentator's layout).
    #[error("{path}: not a folder of one mask per class (TotalSegmentator's layout): {why}")]
    LabelFolder {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The data do not form a valid grid or volume.
    #[error("{path}: {source}")]
    Geometry {
        /// The file or folder the data came from.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: coxa_core::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn errors_are_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
        check::<crate::dicom::DicomError>();
        check::<crate::nifti::NiftiError>();
        check::<crate::mesh::MeshFileError>();
        check::<crate::radiograph::RadiographError>();
    }
}

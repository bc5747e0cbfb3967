//! CT I/O for coxa: DICOM series and NIfTI-1 files in, [`coxa_core::Volume`] and
//! [`coxa_core::LabelMap`] out, always in DICOM LPS millimetres.
//!
//! - [`dicom`]: series discovery, slice stacking and HU conversion (uncompressed, RLE, JPEG,
//!   JPEG 2000), explicit resampling of irregular series, and an uncompressed series writer.
//! - [`nifti`]: NIfTI-1 (`.nii`, `.nii.gz`) read and write, sform/qform as ITK reads them.
//! - [`nrrd`]: NRRD (`.nrrd`, `.nhdr`; raw or gzip) read, space directions/origin to LPS;
//!   written (gzip, LPS), label maps also as 3D Slicer segmentations (`.seg.nrrd`).
//! - [`mesh`]: STL (binary, ASCII) and PLY surface meshes (STL welded on read), legacy VTK
//!   PolyData and VTK XML PolyData (.vtp, ASCII arrays) read with their vertex order kept.
//! - [`colour_table`]: 3D Slicer colour tables (`.ctbl`) for label maps.
//! - [`label_folder`]: a folder of one mask per class (TotalSegmentator's default output) read as
//!   one label map, the classes named by the files.
//! - [`markups`]: 3D Slicer markups (`.fcsv`, `.mrk.json`) written and read, LPS.
//! - [`radiograph`]: plain radiographs (CR/DX DICOM, PNG with a given pixel spacing) with their
//!   presentation values and pixel spacing at the detector and at the patient.
//! - [`table`]: the CSV tables coxa writes, one dialect through the `csv` crate.
//! - [`dicom::stable_uid`]: the one DICOM UID generator (SHA-256), for coxa-pacs too.
//! - [`open`]: one entry point that picks the reader from the path.
//! - [`jsonl`]: JSON-lines logs repaired before appending (a partial last line moved aside).
//! - [`limits`]: how much memory a file may make a reader allocate ([`Limits`]), checked before
//!   allocating.

pub mod colour_table;
pub mod dicom;
mod error;
mod human;
pub mod jsonl;
pub mod label_folder;
pub mod limits;
pub mod markups;
pub mod mesh;
pub mod nifti;
pub mod nrrd;
mod open;
pub mod radiograph;
pub mod sanity;
pub mod scratch;
pub mod table;

pub use error::{Error, Result};
pub use limits::{Bound, Limits, read_bounded, read_text_bounded};
pub use open::{Loaded, OpenOptions, SourceKind, open};

#[cfg(test)]
mod robust_tests;

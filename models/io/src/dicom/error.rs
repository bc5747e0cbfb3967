//! DICOM errors: each names the file or series, the cause, and what to do.

use std::path::PathBuf;

/// A DICOM problem. Every variant names the file or folder it concerns.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// The file has a DICOM marker but cannot be parsed (truncated, corrupt).
    #[error("{path}: cannot read the DICOM file ({source}); the file is truncated or corrupt, re-export it")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: Box<dicom_object::ReadError>,
    },
    /// A DICOM file handed over explicitly has no DICOM marker.
    #[error("{path}: not a DICOM file (no 'DICM' marker at byte 128)")]
    NotDicom {
        /// The file.
        path: PathBuf,
    },
    /// No DICOM file was found.
    #[error("{path}: no DICOM files found{skipped_note}; point at the folder that holds the series")]
    NoDicomFiles {
        /// The folder searched (the first one given).
        path: PathBuf,
        /// ", N other files skipped" or empty.
        skipped_note: String,
    },
    /// A tag the reader needs is missing or unreadable.
    #[error("{path}: {tag_name} {tag} is missing or unreadable; the file cannot be placed in patient space")]
    MissingTag {
        /// The file.
        path: PathBuf,
        /// The tag's keyword.
        tag_name: &'static str,
        /// The tag, as (gggg,eeee).
        tag: String,
    },
    /// A tag has a value the reader cannot use.
    #[error("{path}: {tag_name} has an invalid value {value:?}: {why}")]
    BadTag {
        /// The file.
        path: PathBuf,
        /// The tag's keyword.
        tag_name: &'static str,
        /// The value as found.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// Several series are present and none was chosen.
    #[error("{path}: {n} CT series found, choose one with --series UID|NUMBER|INDEX: {listing}")]
    SeveralSeries {
        /// The folder.
        path: PathBuf,
        /// How many candidate series.
        n: usize,
        /// One entry per series: index, UID, number, description, file count, size.
        listing: String,
    },
    /// The requested series is not there.
    #[error("{path}: no series matches {wanted:?}; available: {listing}")]
    SeriesNotFound {
        /// The folder.
        path: PathBuf,
        /// What the user asked for.
        wanted: String,
        /// The available series.
        listing: String,
    },
    /// A multi-frame image without functional groups (an Enhanced CT has them) cannot be stacked:
    /// nothing says where its frames lie.
    #[error("{path}: multi-frame image with {frames} frames but no per-frame functional groups, so nothing says where each frame lies; export the series as an Enhanced CT or as single-frame images")]
    MultiFrame {
        /// The file.
        path: PathBuf,
        /// NumberOfFrames.
        frames: u32,
    },
    /// Two slices at one position.
    #[error("series {series}: {a} and {b} are both at {position_mm:.3} mm along the slice normal; duplicate or repeated acquisition, remove one (or pick the acquisition with --series)")]
    DuplicatePosition {
        /// The series.
        series: String,
        /// First file.
        a: PathBuf,
        /// Second file.
        b: PathBuf,
        /// Position along the normal, mm.
        position_mm: f64,
    },
    /// The slice spacing is uneven (this includes a missing slice).
    #[error("series {series}: slice spacing is irregular ({min_mm:.3} to {max_mm:.3} mm between {detail}){missing}; rerun with --resample to resample onto a regular {regular_mm:.3} mm grid")]
    IrregularSpacing {
        /// The series.
        series: String,
        /// Smallest gap, mm.
        min_mm: f64,
        /// Largest gap, mm.
        max_mm: f64,
        /// The files around the largest deviation.
        detail: String,
        /// ", probably N missing slice(s)" or empty.
        missing: String,
        /// The spacing a resampling would use, mm.
        regular_mm: f64,
    },
    /// Slice positions do not run along the slice normal.
    #[error("series {series}: slice positions deviate {tilt_deg:.2} deg from the slice normal (gantry tilt); rerun with --resample to resample onto a grid along the normal")]
    GantryTilt {
        /// The series.
        series: String,
        /// Angle between the stacking direction and the normal, degrees.
        tilt_deg: f64,
    },
    /// Slices of one series differ in a property that must be constant.
    #[error("series {series}: {what} differs between slices ({first}, but {other}){fix}")]
    Inconsistent {
        /// The series.
        series: String,
        /// Which property (image size, pixel spacing, orientation, ...).
        what: &'static str,
        /// The first slice's value and file ("16x8 in /a/b.dcm").
        first: String,
        /// A differing value and its file.
        other: String,
        /// What to do.
        fix: &'static str,
    },
    /// An element announces more bytes than the file holds after it (checked before any of it is
    /// read, so a corrupt length costs no memory).
    #[error("{path}: element {tag} announces {length} bytes, but only {remaining} bytes follow in the file; the file is truncated or corrupt, re-export it")]
    ElementTooLong {
        /// The file.
        path: PathBuf,
        /// The element's tag, as (gggg,eeee).
        tag: String,
        /// The announced length, bytes.
        length: u64,
        /// Bytes left in the file after the element's header.
        remaining: u64,
    },
    /// The file meta group's length (0002,0000) disagrees with its elements.
    #[error("{path}: the file meta information's group length (0002,0000) does not match it: {why}; the file is corrupt, re-export it")]
    MetaGroupLength {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        why: String,
    },
    /// An element or item runs past the end of the sequence or item that holds it (dicom-parser
    /// then reads the file differently from its header walk; found by fuzzing, issue 16).
    #[error("{path}: element {tag} announces {length} bytes, but only {remaining} bytes are left in the sequence or item holding it; the file is corrupt, re-export it")]
    ElementCrossesItem {
        /// The file.
        path: PathBuf,
        /// The element's tag, as (gggg,eeee).
        tag: String,
        /// The announced length, bytes.
        length: u64,
        /// Bytes left in the enclosing sequence or item after the element's header.
        remaining: u64,
    },
    /// A binary element's length is not a whole number of its values (dicom-parser then reads
    /// past the value and takes pixel or text bytes as the next header; found by fuzzing, issue 16).
    #[error("{path}: element {tag} ({vr}) is {length} bytes long, not a whole number of its {unit}-byte values; the file is corrupt, re-export it")]
    ElementLengthNotWhole {
        /// The file.
        path: PathBuf,
        /// The element's tag, as (gggg,eeee).
        tag: String,
        /// Its value representation.
        vr: &'static str,
        /// The announced length, bytes.
        length: u32,
        /// Bytes per value of the VR.
        unit: u32,
    },
    /// The native pixel data's length disagrees with Rows, Columns, frames and bits.
    #[error("{path}: PixelData holds {found} bytes, but {layout} = {expected} bytes{hint}; the header does not describe these pixels, re-export the series")]
    PixelDataLength {
        /// The file.
        path: PathBuf,
        /// Bytes present.
        found: u64,
        /// Bytes the header describes.
        expected: u64,
        /// "Rows x Columns x NumberOfFrames x SamplesPerPixel x BitsAllocated/8 = 512x512x1x1x16/8".
        layout: String,
        /// A guess at the cause, or empty.
        hint: String,
    },
    /// The pixels cannot be decoded.
    #[error("{path}: cannot decode pixel data with transfer syntax {transfer_syntax} ({detail}){hint}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Transfer syntax UID and name.
        transfer_syntax: String,
        /// The decoder's message.
        detail: String,
        /// What to do, if anything.
        hint: String,
    },
    /// The decoder failed on the pixels (its error kept as the source).
    #[error("{path}: cannot decode pixel data with transfer syntax {transfer_syntax} ({source}){hint}")]
    Decoder {
        /// The file.
        path: PathBuf,
        /// Transfer syntax UID and name.
        transfer_syntax: String,
        /// The decoder's error.
        #[source]
        source: Box<dicom_pixeldata::Error>,
        /// What to do, if anything.
        hint: String,
    },
    /// A pixel layout the reader does not take (colour, odd bit depth).
    #[error("{path}: {what}; a CT series must be single-sample grayscale (MONOCHROME1/2)")]
    UnsupportedPixels {
        /// The file.
        path: PathBuf,
        /// What was found.
        what: String,
    },
    /// The file meta group of a slice cannot be built (dicom-object's error kept as the source).
    #[error("cannot write a DICOM series to {path}: {source}")]
    WriteMeta {
        /// The target folder.
        path: PathBuf,
        /// dicom-object's error.
        #[source]
        source: Box<dicom_object::WithMetaError>,
    },
    /// A slice file cannot be written (dicom-object's error kept as the source).
    #[error("cannot write a DICOM series to {path}: {}: {source}", file.display())]
    WriteSlice {
        /// The target folder.
        path: PathBuf,
        /// The slice file.
        file: PathBuf,
        /// dicom-object's error.
        #[source]
        source: Box<dicom_object::WriteError>,
    },
    /// The volume cannot be written as DICOM.
    #[error("cannot write a DICOM series to {path}: {why}")]
    WriteSeries {
        /// The target folder.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

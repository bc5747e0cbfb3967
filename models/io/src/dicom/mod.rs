//! DICOM CT series: discovery, slice stacking, HU conversion, explicit resampling, writing.
//!
//! Reading runs in this order:
//! 1. **Discover**: walk the folders (recursively) and take every file with the `DICM` marker at
//!    byte 128; other files are skipped and counted in a warning.
//! 2. **Scan** headers only (up to PixelData), in parallel. Before dicom-object parses a file,
//!    a walk over its element headers checks every announced length against the bytes that
//!    follow (dicom-parser would allocate an element at its announced length first); then
//!    BitsAllocated/BitsStored/PixelRepresentation, the native pixel data's length against
//!    Rows x Columns x frames x bytes, and RescaleSlope/RescaleIntercept (finite, slope
//!    1e-6..1000 in magnitude, intercept within 1e5 HU) are checked.
//! 3. **Group** into series: by SeriesInstanceUID, or, where that is empty (a real-world
//!    defect), by frame of reference, orientation and image size — with a warning.
//! 4. **Pick** the series: the one named in [`ReadOptions::with_series`], else the only CT
//!    series; several CT series without a choice is an error that lists them.
//! 5. **Stack**: sort slices by position along the slice normal `n = row × col` (from
//!    ImageOrientationPatient), take the slice spacing from the positions (never from
//!    SliceThickness), and check that the series forms a regular grid: equal spacing (no missing
//!    slice), positions along the normal (no gantry tilt), one image size, pixel spacing and
//!    orientation. A series that does not is an error naming the defect, unless
//!    [`ReadOptions::with_resample`] asks for an explicit, logged resampling onto a regular grid.
//!    The grid must be one a scanner makes ([`crate::sanity::check_grid`]: spacing 0.001..100
//!    mm, extent up to 10 m).
//! 6. **Check memory**: the volume, each worker's file and slice buffers (and for a resampling
//!    every decoded slice) against [`ReadOptions::limits`], from the headers alone.
//! 7. **Decode** the pixels (uncompressed, deflate, RLE, JPEG baseline/extended/lossless, JPEG
//!    2000) in parallel and apply the modality LUT (RescaleSlope/RescaleIntercept) to get HU.
//!    Uncompressed little-endian 16-bit slices (most CT series) are read straight from the file
//!    into their place in the volume, one read each (`dicom/native.rs`: the same values
//!    as dicom-pixeldata, bit for bit); every other slice goes through dicom-pixeldata.
//!
//! The geometry equals SimpleITK's ImageSeriesReader: origin is the first slice's
//! ImagePositionPatient, direction columns are the row direction, the column direction and the
//! slice normal.

pub mod archive;
pub(crate) mod decode;
pub(crate) mod enhanced;
pub(crate) mod error;
mod native;
pub(crate) mod prescan;
mod resample;
pub(crate) mod scan;
pub mod seg;
mod slice;
mod stack;
mod uid;
mod write;

use std::path::PathBuf;

use coxa_core::Volume;

use crate::Limits;

pub use error::DicomError;
pub use scan::{Discovery, SeriesSummary, discover};
pub use uid::{stable_uid, unique_uid};
pub use write::{WriteSeriesOptions, ds, ds_multi, write_series};

/// Options of [`read_series`]. Built as `ReadOptions::new().with_series("1.2.3").with_resample(true)`.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Which series to read: its SeriesInstanceUID, its SeriesNumber, or its 1-based index in the
    /// listing of the "several series" error. Default `None`: the only CT series.
    pub series: Option<String>,
    /// Resample an irregular series (uneven spacing, missing slices, gantry tilt, mixed image
    /// sizes or pixel spacings) onto a regular grid instead of failing. Default `false`.
    pub resample: bool,
    /// How much memory the read may take; checked (from the headers) before any pixel is decoded.
    /// Default: [`Limits::new`].
    pub limits: Limits,
}

impl ReadOptions {
    /// The defaults: the only CT series, no resampling.
    pub fn new() -> Self {
        Self::default()
    }
    /// Read the series named by UID, SeriesNumber or 1-based index.
    pub fn with_series(mut self, series: impl Into<String>) -> Self {
        self.series = Some(series.into());
        self
    }
    /// Resample irregular series explicitly (logged, and reported in the warnings).
    pub fn with_resample(mut self, resample: bool) -> Self {
        self.resample = resample;
        self
    }
    /// Sets the memory limit (e.g. from `--max-memory`).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Patient identity as found in the files. Never printed or logged unless the user asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientIdentity {
    /// PatientName (0010,0010).
    pub name: Option<String>,
    /// PatientID (0010,0020).
    pub id: Option<String>,
    /// The other identifying fields of [`IDENTIFYING_FIELDS`] that the files fill, as (DICOM
    /// keyword, value): birth date, institution, people's names, accession number, and the
    /// free-text descriptions and comments (which can hold a name: issue 16).
    pub other: Vec<(String, String)>,
}

/// DICOM fields that identify the patient or may (free text written by people), besides
/// PatientName and PatientID: read into [`PatientIdentity::other`], never into a summary,
/// warning or error. (keyword, tag, VR.)
pub const IDENTIFYING_FIELDS: [(&str, dicom_core::Tag, dicom_core::VR); 15] = {
    use dicom_core::VR;
    use dicom_dictionary_std::tags;
    [
        ("PatientBirthDate", tags::PATIENT_BIRTH_DATE, VR::DA),
        ("OtherPatientNames", tags::OTHER_PATIENT_NAMES, VR::PN),
        ("PatientAddress", tags::PATIENT_ADDRESS, VR::LO),
        ("InstitutionName", tags::INSTITUTION_NAME, VR::LO),
        ("InstitutionAddress", tags::INSTITUTION_ADDRESS, VR::ST),
        ("ReferringPhysicianName", tags::REFERRING_PHYSICIAN_NAME, VR::PN),
        ("PerformingPhysicianName", tags::PERFORMING_PHYSICIAN_NAME, VR::PN),
        ("OperatorsName", tags::OPERATORS_NAME, VR::PN),
        ("AccessionNumber", tags::ACCESSION_NUMBER, VR::SH),
        ("StudyDescription", tags::STUDY_DESCRIPTION, VR::LO),
        ("SeriesDescription", tags::SERIES_DESCRIPTION, VR::LO),
        ("ProtocolName", tags::PROTOCOL_NAME, VR::LO),
        ("ImageComments", tags::IMAGE_COMMENTS, VR::LT),
        ("PatientComments", tags::PATIENT_COMMENTS, VR::LT),
        ("AdditionalPatientHistory", tags::ADDITIONAL_PATIENT_HISTORY, VR::LT),
    ]
};

/// A CT series read into a volume.
#[derive(Debug, Clone)]
pub struct DicomSeries {
    /// HU on the series' grid.
    pub volume: Volume,
    /// What the series is (UIDs, modality, description, file count).
    pub summary: SeriesSummary,
    /// The files of the series in slice order (after sorting along the normal; an Enhanced CT is
    /// one file).
    pub files: Vec<PathBuf>,
    /// Everything the reader noticed and worked around, one sentence each.
    pub warnings: Vec<String>,
    /// Patient identity; keep it out of outputs unless asked.
    pub patient: PatientIdentity,
}

/// Reads one CT series from `paths` (folders are searched recursively; files are taken as given).
pub fn read_series(paths: &[PathBuf], options: &ReadOptions) -> crate::Result<DicomSeries> {
    let found = discover(paths)?;
    let mut warnings = found.warnings.clone();
    let series = found.pick(options.series.as_deref())?;
    warnings.extend(series.warnings.iter().cloned());
    let plan = stack::plan(series, options.resample)?;
    warnings.extend(plan.warnings.iter().cloned());
    check_memory(&plan, &options.limits)?;
    let volume = decode::decode_volume(&plan)?;
    let mut files: Vec<PathBuf> = plan.slices.iter().map(|s| s.path.clone()).collect();
    // An Enhanced CT's frames are one file.
    files.dedup();
    Ok(DicomSeries { volume, summary: series.summary(), files, warnings, patient: series.patient.clone() })
}

/// Checks, from the headers alone, that decoding `plan` fits `limits`: the `f32` volume, each
/// worker's file and decoded slice (raw and `f32`), and for a resampling every decoded slice.
fn check_memory(plan: &stack::StackPlan, limits: &Limits) -> crate::Result<()> {
    use crate::limits::product;
    let [ni, nj, nk] = plan.grid.size();
    let volume = product(&[ni as u64, nj as u64, nk as u64, 4]);
    let slice = |s: &scan::SliceHeader| {
        let px = product(&[u64::from(s.rows), u64::from(s.cols)]);
        // The file as read, the decoded samples, and the f32 copy.
        let decoded = if s.frame.is_some() && s.native.is_none() {
            // A compressed multi-frame file is decoded whole, once for all its frames.
            product(&[px, u64::from(s.bits_allocated) / 8, u64::from(s.frames)])
        } else {
            product(&[px, u64::from(s.bits_allocated) / 8])
        };
        // A frame read straight from the file reads its own bytes only.
        let file = if s.frame.is_some() && s.native.is_some() { product(&[px, 2]) } else { s.file_len };
        file.saturating_add(decoded).saturating_add(product(&[px, 4]))
    };
    let largest = plan.slices.iter().map(slice).max().unwrap_or(0);
    let workers = product(&[rayon::current_num_threads() as u64, largest]);
    let kept = if plan.resample.is_some() { plan.slices.iter().map(|s| product(&[u64::from(s.rows), u64::from(s.cols), 4])).fold(0u64, u64::saturating_add) } else { 0 };
    let first = &plan.slices[0];
    limits.check(&first.path, || format!("a {ni}x{nj}x{nk} volume ({} files of {}x{} pixels)", plan.slices.len(), first.cols, first.rows), volume.saturating_add(workers).saturating_add(kept))
}

//! One entry point for every CT source: a DICOM folder, DICOM files, or a NIfTI file.

use std::path::{Path, PathBuf};

use coxa_core::Volume;

use crate::dicom::{self, PatientIdentity, ReadOptions, SeriesSummary};
use crate::{Error, Limits, Result, nifti};

/// Options of [`open`]. DICOM options apply only to DICOM sources.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// How to pick and stack a DICOM series (its `limits` are replaced by [`OpenOptions::limits`]).
    pub dicom: ReadOptions,
    /// How much memory the read may take (every source). Default: [`Limits::new`].
    pub limits: Limits,
    /// Accept a source that is not a CT: a DICOM series whose Modality is not CT, or a NIfTI
    /// volume without air (see [`crate::sanity`]). Default `false`: [`Error::NotCt`].
    pub any_modality: bool,
}

impl OpenOptions {
    /// The defaults: a CT, the machine's memory limit.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the DICOM options.
    pub fn with_dicom(mut self, dicom: ReadOptions) -> Self {
        self.dicom = dicom;
        self
    }
    /// Sets the memory limit (e.g. from `--max-memory`).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Accepts sources that are not CT (e.g. to inspect an MR series).
    pub fn with_any_modality(mut self, any_modality: bool) -> Self {
        self.any_modality = any_modality;
        self
    }
}

/// Where a loaded volume came from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SourceKind {
    /// A DICOM series.
    Dicom(SeriesSummary),
    /// A NIfTI-1 file.
    Nifti,
    /// An NRRD file.
    Nrrd,
}

/// A volume with what is known of its source.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The voxels and grid.
    pub volume: Volume,
    /// The source format and, for DICOM, the series.
    pub source: SourceKind,
    /// Number of files read.
    pub n_files: usize,
    /// Modality where the source says it (NIfTI does not).
    pub modality: Option<String>,
    /// What the reader noticed and worked around.
    pub warnings: Vec<String>,
    /// Patient identity (DICOM only); never print it unless asked.
    pub patient: PatientIdentity,
}

/// Opens `path`: a NIfTI file (`.nii`, `.nii.gz`), an NRRD file (`.nrrd`, `.nhdr`), a DICOM file, or a folder holding a DICOM series.
///
/// The source must be a CT unless [`OpenOptions::any_modality`]: a DICOM series whose Modality
/// is not `CT` is [`Error::NotCt`] naming the modality (an empty Modality is accepted with a
/// warning); NIfTI has no modality field, so a NIfTI volume is refused when fewer than 0.1 % of its
/// voxels are below -500 HU (so is NRRD; no air: an MR image, a CT without its rescale, or a crop inside the
/// body; see [`crate::sanity`]).
pub fn open(path: &Path, options: &OpenOptions) -> Result<Loaded> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        _ => Error::Unreadable { path: path.to_path_buf(), source: e },
    })?;
    if meta.is_file() && nifti::is_nifti_path(path) {
        let volume = nifti::read_volume_with(path, &options.limits)?;
        if !options.any_modality
            && let Some(what) = crate::sanity::not_ct_like(&volume)
        {
            return Err(Error::NotCt { path: path.to_path_buf(), what });
        }
        return Ok(Loaded { volume, source: SourceKind::Nifti, n_files: 1, modality: None, warnings: Vec::new(), patient: PatientIdentity::default() });
    }
    if meta.is_file() && crate::nrrd::is_nrrd_path(path) {
        let volume = crate::nrrd::read_volume_with(path, &options.limits)?;
        if !options.any_modality
            && let Some(what) = crate::sanity::not_ct_like(&volume)
        {
            return Err(Error::NotCt { path: path.to_path_buf(), what });
        }
        return Ok(Loaded { volume, source: SourceKind::Nrrd, n_files: 1, modality: None, warnings: Vec::new(), patient: PatientIdentity::default() });
    }
    if meta.is_file() && !dicom::scan::has_dicm_marker(path)? && !dicom::archive::is_zip(path) {
        return Err(Error::UnknownFormat { path: path.to_path_buf() });
    }
    let dicom_options = options.dicom.clone().with_limits(options.limits);
    // A zip of the series: unpacked into a temporary folder, removed after the read.
    let unpacked = if meta.is_file() && dicom::archive::is_zip(path) { Some(dicom::archive::unpack(path, &options.limits)?) } else { None };
    let series = match &unpacked {
        Some(dir) => dicom::read_series(&[dir.path().to_path_buf()], &dicom_options).map_err(|e| Error::InArchive { path: path.to_path_buf(), source: Box::new(e) })?,
        None => dicom::read_series(&[PathBuf::from(path)], &dicom_options)?,
    };
    drop(unpacked);
    crate::sanity::check_finite(&series.volume, path)?;
    let mut warnings = series.warnings;
    let modality = series.summary.modality.trim();
    if modality.is_empty() {
        warnings.push("Modality (0008,0060) is empty: assumed CT".to_string());
    } else if !options.any_modality && !modality.eq_ignore_ascii_case("CT") {
        return Err(Error::NotCt {
            path: path.to_path_buf(),
            what: format!("the series {} has Modality {modality} ({})", series.summary.series_uid.as_deref().unwrap_or("(no UID)"), modality_name(modality)),
        });
    }
    Ok(Loaded {
        n_files: series.files.len(),
        modality: Some(series.summary.modality.clone()).filter(|m| !m.is_empty()),
        source: SourceKind::Dicom(series.summary),
        volume: series.volume,
        warnings,
        patient: series.patient,
    })
}

/// A reader's name for a DICOM modality code, for messages.
fn modality_name(code: &str) -> &'static str {
    match code.to_ascii_uppercase().as_str() {
        "MR" => "magnetic resonance",
        "PT" => "PET",
        "NM" => "nuclear medicine",
        "US" => "ultrasound",
        "CR" | "DX" => "radiograph",
        "XA" => "angiography",
        "SEG" => "segmentation",
        "RTSTRUCT" | "RTDOSE" | "RTPLAN" => "radiotherapy object",
        "OT" => "other",
        _ => "not CT",
    }
}

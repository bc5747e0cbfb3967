//! One entry point for every CT source: a DICOM folder, DICOM files, or a NIfTI file.

use std::path::{Path, PathBuf};

use coxa_core::Volume;

use crate::dicom::{self, PatientIdentity, ReadOptions, SeriesSummary};
use crate::{Error, Result, nifti};

/// Options of [`open`]. DICOM options apply only to DICOM sources.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// How to pick and stack a DICOM series.
    pub dicom: ReadOptions,
}

impl OpenOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the DICOM options.
    pub fn with_dicom(mut self, dicom: ReadOptions) -> Self {
        self.dicom = dicom;
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

/// Opens `path`: a NIfTI file (`.nii`, `.nii.gz`), a DICOM file, or a folder holding a DICOM series.
pub fn open(path: &Path, options: &OpenOptions) -> Result<Loaded> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        _ => Error::Unreadable { path: path.to_path_buf(), source: e },
    })?;
    if meta.is_file() && nifti::is_nifti_path(path) {
        let volume = nifti::read_volume(path)?;
        return Ok(Loaded {
            volume,
            source: SourceKind::Nifti,
            n_files: 1,
            modality: None,
            warnings: Vec::new(),
            patient: PatientIdentity::default(),
        });
    }
    if meta.is_file() && !dicom::scan::has_dicm_marker(path)? {
        return Err(Error::UnknownFormat { path: path.to_path_buf() });
    }
    let series = dicom::read_series(&[PathBuf::from(path)], &options.dicom)?;
    Ok(Loaded {
        n_files: series.files.len(),
        modality: Some(series.summary.modality.clone()).filter(|m| !m.is_empty()),
        source: SourceKind::Dicom(series.summary),
        volume: series.volume,
        warnings: series.warnings,
        patient: series.patient,
    })
}

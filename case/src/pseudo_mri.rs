//! A pseudo T2-weighted MR image made from a CT (issue 43; `coxa pseudo-mri`, a case's pseudo-MRI stage), for when an MRI
//! cannot be taken. Model-free ([`coxa_diagnostics::pseudo_mri`]: tissue classes from the HU and
//! the spinal canal found inside the vertebral ring, mapped to the spin-echo signal of published
//! relaxation values at a recorded TR/TE, blended at tissue borders).
//!
//! With `--model CARD`, a learned image-to-image model instead ([`learned`]).
//!
//! Writes into a new folder: `pseudo_t2.nii.gz` (on the CT's grid: same size, spacing, origin and
//! direction; int16, `1000 S`), `pseudo_mri.json` (the record: the CT read, the grid, the
//! sequence, each tissue's relaxation values, source and signal, the canal found) and, for a
//! DICOM CT or with `--dicom`, `dicom/`: an MR Image Storage series in the CT's study
//! ([`coxa_pacs::pseudo_mr`]). The patient's identity goes only into those DICOM objects.

use std::path::Path;

use crate::error::{Context, Result};
use coxa_core::Volume;
use coxa_diagnostics::pseudo_mri::{self, PseudoMri, Sequence};
use serde_json::{Value, json};

pub mod dicom;
pub mod learned;

/// What every pseudo-MRI output says of itself.
pub const NOTE: &str = "pseudo-MRI derived from CT by coxa; not for diagnosis alone";

/// The image's file name.
pub const IMAGE: &str = "pseudo_t2.nii.gz";

/// The record's file name.
pub const RECORD: &str = "pseudo_mri.json";

/// The grid as the record states it (SimpleITK's conventions: size i, j, k; direction row-major).
pub fn grid_json(v: &Volume) -> Value {
    let g = v.grid();
    json!({
        "size": g.size(),
        "spacing_mm": g.spacing_mm().as_slice(),
        "origin_lps_mm": g.origin_lps_mm().as_slice(),
        "direction": g.direction_row_major(),
    })
}

/// The model-free pseudo-MRI of `ct` at `seq`, its CT named `origin` in errors.
pub fn make(ct: &Volume, seq: &Sequence, origin: &str) -> Result<PseudoMri> {
    pseudo_mri::model_free(ct, seq).with_context(|| origin.to_string())
}

/// Writes `pseudo_t2.nii.gz` and `pseudo_mri.json` into the existing folder `dir`; `ct` describes
/// the CT read (no patient identity). Returns the record.
pub fn write(dir: &Path, pm: &PseudoMri, ct: Value, dicom: Option<Value>) -> Result<Value> {
    coxa_io::nifti::write_volume(&pm.image, &dir.join(IMAGE)).with_context(|| format!("writing {}", dir.join(IMAGE).display()))?;
    let record = json!({
        "coxa_version": env!("CARGO_PKG_VERSION"),
        "note": NOTE,
        "image": IMAGE,
        "ct": ct,
        "grid": grid_json(&pm.image),
        "method": "model-free",
        "model": Value::Null,
        "model_free": pm.record,
        "dicom": dicom,
    });
    crate::stamp::write(&dir.join(RECORD), "pseudo_mri", &record)?;
    Ok(record)
}

/// What the record says of the CT read (no patient identity).
pub fn ct_json(path: &Path, loaded: &coxa_io::Loaded) -> Value {
    json!({
        "file": path.display().to_string(),
        "format": match &loaded.source { coxa_io::SourceKind::Dicom(_) => "DICOM", coxa_io::SourceKind::Nifti => "NIfTI", _ => "NRRD" },
        "files": loaded.n_files,
        "series_uid": match &loaded.source { coxa_io::SourceKind::Dicom(s) => json!(s.series_uid), _ => Value::Null },
        "warnings": loaded.warnings,
    })
}

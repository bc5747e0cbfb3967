//! The DICOM side of `coxa pseudo-mri`: the pseudo-MRI as an MR series in the CT's study
//! ([`coxa_pacs::pseudo_mr`]), one Part 10 file a slice in `dicom/`.

use std::path::Path;

use crate::error::{Context, Result};
use coxa_core::Volume;
use coxa_diagnostics::pseudo_mri::{PseudoMri, Sequence};
use serde_json::{Value, json};

/// Writes the MR series of `pm` (derived from the DICOM CT `ct`: a folder, or a file whose
/// folder holds the series) into the new folder `dir`, saying `note` of itself; returns what the
/// record says of it.
pub fn write(ct: &Path, dir: &Path, pm: &PseudoMri, seq: &Sequence, note: &str) -> Result<Value> {
    let info = coxa_pacs::pseudo_mr::PseudoMrInfo {
        note: note.to_string(),
        method: "model-free relaxation model".to_string(),
        tr_ms: seq.tr_ms,
        te_ms: seq.te_ms,
        field_t: seq.field_t,
        contrast: coxa_pacs::pseudo_mr::Contrast::Simulated,
    };
    write_image(ct, dir, &pm.image, &info)
}

/// Writes `image` (on the DICOM CT `ct`'s grid, whole numbers 0..65535) as the MR series `info`
/// describes into the new folder `dir`; returns what the record says of it.
pub fn write_image(ct: &Path, dir: &Path, image: &Volume, info: &coxa_pacs::pseudo_mr::PseudoMrInfo) -> Result<Value> {
    let folder = if ct.is_dir() { ct.to_path_buf() } else { ct.parent().map(Path::to_path_buf).unwrap_or_default() };
    let src = coxa_pacs::results::Source::read(&folder).with_context(|| format!("--ct {}: reading the CT series for the DICOM MR series", ct.display()))?;
    let objects = coxa_pacs::pseudo_mr::build(&src, image, info).context("the DICOM MR series")?;
    std::fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (k, o) in objects.iter().enumerate() {
        crate::atomic::write_new(&dir.join(format!("MR{:04}.dcm", k + 1)), &o.bytes)?;
    }
    Ok(json!({
        "folder": "dicom",
        "files": objects.len(),
        "sop_class": "1.2.840.10008.5.1.4.1.1.4 (MR Image Storage)",
        "series_uid": objects.first().map(|o| o.series_uid.clone()),
        "source_series_uid": src.series_uid(),
        "series_description": coxa_pacs::pseudo_mr::SERIES_DESCRIPTION,
    }))
}

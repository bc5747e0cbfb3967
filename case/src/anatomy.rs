//! `coxa anatomy`: CT (or bone surfaces) -> labels, meshes, landmarks, frames, muscle measures,
//! written into a new folder: the input read once ([`crate::stages::input`]), the anatomy stage
//! ([`crate::stages::anatomy`]), the case writer ([`crate::case_writer::write_anatomy`]).

use std::path::Path;

use crate::bail;
use crate::error::Result;
use coxa_core::AnatomyRecord;

pub use crate::stages::anatomy::{AnatomyResult, GivenLabels, run_on};
pub use crate::stages::input::{AnatomySource, LoadedCt};

/// Runs the anatomy stage and writes `anatomy.json`, the meshes (STL) and, from a CT,
/// `labels.nii.gz` into `out`, which must not exist yet. Returns the record written.
pub fn run(source: &AnatomySource, out: &Path) -> Result<AnatomyRecord> {
    Ok(run_full(source, out)?.record)
}

/// [`run`], returning the bone surfaces too.
pub fn run_full(source: &AnatomySource, out: &Path) -> Result<AnatomyResult> {
    run_with(source, None, out)
}

/// [`run_full`] on a CT whose label map is `given` (in memory) instead of the source's `--labels`.
pub fn run_full_given(source: &AnatomySource, given: GivenLabels, out: &Path) -> Result<AnatomyResult> {
    run_with(source, Some(given), out)
}

fn run_with(source: &AnatomySource, given: Option<GivenLabels>, out: &Path) -> Result<AnatomyResult> {
    Ok(run_keeping_ct(source, given, None, out)?.0)
}

/// [`run_full_given`] (`given`: none for the source's own labels), returning the CT too (read
/// once here, unless the caller holds it already: `loaded`, e.g. a phantom made in memory), for
/// the stages after the anatomy.
pub fn run_keeping_ct(source: &AnatomySource, given: Option<GivenLabels>, loaded: Option<LoadedCt>, out: &Path) -> Result<(AnatomyResult, Option<LoadedCt>)> {
    if out.exists() {
        bail!("{} already exists; coxa anatomy writes into a new folder and never overwrites: choose another --out", out.display());
    }
    let ct = match (source, loaded) {
        (AnatomySource::Ct { .. }, Some(loaded)) => Some(loaded),
        (AnatomySource::Ct { ct, dicom, any_modality, .. }, None) => Some(crate::stages::input::open_ct(ct, dicom, *any_modality)?),
        (AnatomySource::Meshes(..), _) => None,
    };
    let result = crate::stages::anatomy::run_on(source, ct.as_ref(), given)?;
    crate::case_writer::write_anatomy(out, &result)?;
    Ok((result, ct))
}

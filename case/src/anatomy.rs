//! `coxa anatomy`: CT (or bone surfaces) -> labels, meshes, landmarks, frames, muscle measures,
//! written into a new folder: the input read once ([`crate::stages::input`]), the anatomy stage
//! ([`crate::stages::anatomy`]), the case writer ([`crate::case_writer::write_anatomy`]).

use std::path::Path;

use crate::bail;
use crate::error::{Context, Result};
use crate::stages::anatomy::AnatomyInput;
use coxa_anatomy::bone_check::LengthUnit;
use coxa_core::{AnatomyRecord, Bone, LabelMap, Mesh, Volume};

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
        (source, _) => source_ct(source)?,
    };
    let result = crate::stages::anatomy::run_on(source, ct.as_ref(), given)?;
    crate::case_writer::write_anatomy(out, &result)?;
    Ok((result, ct))
}

/// What the anatomy stage takes in memory (the Python package's arrays and meshes).
#[derive(Debug)]
pub enum InMemory<'a> {
    /// A CT (HU) and, optionally, a label map on its grid (its own class table, else
    /// TotalSegmentator's ids); `any_modality` accepts a volume that does not look like a CT.
    Ct {
        /// The CT.
        ct: &'a Volume,
        /// Its label map (bones and/or muscles); none: coxa segments the bones.
        labels: Option<&'a LabelMap>,
        /// Accept another modality (as `--any-modality`).
        any_modality: bool,
    },
    /// Bone surfaces by class name (`femur_left`, `hip_right`, ...), LPS, with their units when
    /// given (`None`: mm, checked from the bone sizes).
    Meshes(Vec<(String, Mesh)>, Option<LengthUnit>),
}

/// The anatomy stage on input handed over in memory, nothing written: the CT checked as a CT
/// file is when read (it counts as one file, as a CT given to `coxa plan` in memory does), the
/// label map as `--labels` is (on the CT's grid, known sides), the surfaces as `--mesh` are
/// (names, units, stray vertices). [`crate::case_writer::write_anatomy`] writes the result as
/// `coxa anatomy --out` does.
///
/// # Errors
/// As `coxa anatomy`: a volume that is not a CT, a label map off the grid, an unknown or repeated
/// bone name, bones that fail their checks, a failed segmentation.
pub fn in_memory(input: InMemory<'_>) -> Result<AnatomyResult> {
    match input {
        InMemory::Ct { ct, labels, any_modality } => {
            coxa_io::sanity::check_ct_in_memory(ct, Path::new("the CT given in memory"), any_modality)?;
            let given = labels.map(GivenLabels::in_memory);
            crate::stages::anatomy::run(AnatomyInput::Ct { volume: ct, n_files: 1, labels: crate::stages::anatomy::label_input(given, None, None) }, Vec::new())
        }
        InMemory::Meshes(list, units) => {
            let mut warnings = Vec::new();
            let checked = crate::bone_input::check_meshes(list, &crate::bone_input::bone_names(), units, &mut warnings)?;
            let bones = checked.into_iter().map(|(name, m)| Ok((Bone::from_name(&name).with_context(|| format!("{name}: not a bone (a bug in coxa)"))?, m))).collect::<Result<Vec<_>>>()?;
            let input_notes = warnings.clone();
            Ok(AnatomyResult { input_notes, ..crate::stages::anatomy::run(AnatomyInput::Meshes(bones), warnings)? })
        }
    }
}

/// The anatomy stage on `source` (files: a CT, or bone surfaces) as `coxa anatomy` reads it,
/// nothing written.
///
/// # Errors
/// As [`in_memory`], and the readers'.
pub fn from_files(source: &AnatomySource) -> Result<AnatomyResult> {
    crate::stages::anatomy::run_on(source, source_ct(source)?.as_ref(), None)
}

/// The CT of a CT source, read once (none for bone surfaces).
fn source_ct(source: &AnatomySource) -> Result<Option<LoadedCt>> {
    Ok(match source {
        AnatomySource::Ct { ct, dicom, any_modality, .. } => Some(crate::stages::input::open_ct(ct, dicom, *any_modality)?),
        AnatomySource::Meshes(..) => None,
    })
}

//! The input stage: a case's CT opened **once** (every later stage takes the `&Volume`), or its
//! bone surfaces read and checked. Reads; writes nothing.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use coxa_core::{Bone, Mesh, Volume};

/// Where a case's bones come from: a CT (a file or folder) or bone surface files.
#[derive(Debug, Clone)]
pub enum AnatomySource {
    /// A CT, optionally with a label map on its grid (bones and/or muscles).
    Ct {
        /// The CT: DICOM folder or file, or NIfTI.
        ct: PathBuf,
        /// A label map on the CT's grid (TotalSegmentator ids, or any ids with --label-names).
        labels: Option<PathBuf>,
        /// The label map's class table (JSON), for maps whose ids are not TotalSegmentator's.
        label_names: Option<PathBuf>,
        /// DICOM reading options.
        dicom: coxa_io::dicom::ReadOptions,
        /// Accept a CT source that does not look like a CT (another modality, no air).
        any_modality: bool,
    },
    /// Bone surfaces by TotalSegmentator class name (femur_left, hip_right, ...), LPS, with
    /// their units when given (`None`: mm, checked from the bone sizes).
    Meshes(Vec<(String, PathBuf)>, Option<coxa_anatomy::bone_check::LengthUnit>),
}

/// A CT read once: the volume and what reading it found. Narrower than [`coxa_io::Loaded`] on
/// purpose: the patient's identity stays behind, so no stage can print or write it.
#[derive(Debug)]
pub struct LoadedCt {
    /// The voxels (HU) and grid.
    pub volume: Volume,
    /// Files read (for `anatomy.json`).
    pub n_files: usize,
    /// What the reader noticed and worked around.
    pub warnings: Vec<String>,
}

/// Opens the CT `ct` (DICOM folder or file, NIfTI): the one place a case's CT is read.
///
/// # Errors
/// [`coxa_io::open`]'s: unreadable, not a CT (unless `any_modality`), over the memory limit.
pub fn open_ct(ct: &Path, dicom: &coxa_io::dicom::ReadOptions, any_modality: bool) -> Result<LoadedCt> {
    let options = coxa_io::OpenOptions::new().with_limits(dicom.limits).with_any_modality(any_modality);
    let loaded = coxa_io::open(ct, &options.with_dicom(dicom.clone()))?;
    Ok(LoadedCt { volume: loaded.volume, n_files: loaded.n_files, warnings: loaded.warnings })
}

/// Reads the bone surfaces `list` (names checked against coxa's bones) in their units (`None`:
/// mm, checked from the bone sizes); what was noted goes to `warnings`.
///
/// # Errors
/// An unknown name, a file that cannot be read, bones that fail the checks.
pub fn read_meshes(list: &[(String, PathBuf)], units: Option<coxa_anatomy::bone_check::LengthUnit>, warnings: &mut Vec<String>) -> Result<Vec<(Bone, Mesh)>> {
    for (name, _) in list {
        if Bone::from_name(name).is_none() {
            bail!("--mesh {name}=...: unknown structure {name:?}; use one of sacrum, femur_left, femur_right, hip_left, hip_right");
        }
    }
    let read = crate::bone_input::read_bones(list, units, warnings)?;
    read.into_iter().map(|(name, m)| Ok((Bone::from_name(&name).with_context(|| format!("{name}: not a bone (a bug in coxa)"))?, m))).collect()
}

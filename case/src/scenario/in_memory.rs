//! A case's CT given in memory ([`InMemoryCt`]): the Python package's arrays.

/// A CT and its label map handed over in memory (no file, no command line: the Python package's
/// arrays). The pipeline checks the CT as a CT file is checked when read
/// ([`coxa_io::sanity::check_ct_in_memory`]) and the label map as `--labels` is (on the CT's grid,
/// known sides), plans from memory, and writes both into the case's `input/` (`ct.nii.gz`,
/// `labels.nii.gz`) for the record and the viewer, as it writes a phantom's.
#[derive(Debug, Clone, PartialEq)]
pub struct InMemoryCt {
    /// The CT (HU).
    pub ct: std::sync::Arc<coxa_core::Volume>,
    /// A label map on the CT's grid (TotalSegmentator's ids, or its own class table).
    pub labels: Option<std::sync::Arc<coxa_core::LabelMap>>,
}

impl InMemoryCt {
    /// The CT's file in the case's `input/`.
    pub const CT_FILE: &str = "ct.nii.gz";
    /// The label map's file in the case's `input/`.
    pub const LABELS_FILE: &str = "labels.nii.gz";
}

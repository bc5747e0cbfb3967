//! `inputs.json`: where a case's inputs are, for `coxa view` (which shows the CT) and `coxa pacs
//! push` (which needs the DICOM series the case was planned on). Written by the case writer of
//! `coxa run` / `coxa demo` and by `coxa plan`; read back with the same type.
//!
//! Paths are absolute, except inputs written into the case folder itself (the phantom's), which
//! are relative to it (the folder is renamed when the case finishes). The record is kept out of
//! `report.json`, since folder names may carry a patient's name.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The inputs of a case (`inputs.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum CaseInputs {
    /// A CT, with the label map given beside it (`null` when coxa segmented the bones).
    Ct {
        /// The CT: a DICOM folder or file, or a NIfTI file.
        ct: PathBuf,
        /// The label map on the CT's grid, if one was given.
        labels: Option<PathBuf>,
    },
    /// Bone surfaces, by coxa's bone names.
    Meshes {
        /// One entry per surface, in the order given.
        meshes: Vec<InputMesh>,
    },
}

/// One bone surface of [`CaseInputs::Meshes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputMesh {
    /// The file (STL, PLY, VTK or VTP).
    pub file: PathBuf,
    /// The bone's name (`hip_right`, `femur_left`, ...).
    pub name: String,
}

impl CaseInputs {
    /// The CT, if the case was made from one.
    pub fn ct(&self) -> Option<&std::path::Path> {
        match self {
            CaseInputs::Ct { ct, .. } => Some(ct),
            CaseInputs::Meshes { .. } => None,
        }
    }

    /// The bone surfaces, if the case was made from them.
    pub fn meshes(&self) -> &[InputMesh] {
        match self {
            CaseInputs::Ct { .. } => &[],
            CaseInputs::Meshes { meshes } => meshes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_in_the_field_order_of_the_files() {
        let ct = CaseInputs::Ct { ct: "/data/ct".into(), labels: None };
        let text = serde_json::to_string(&ct).unwrap();
        assert_eq!(text, r#"{"ct":"/data/ct","labels":null}"#);
        assert_eq!(serde_json::from_str::<CaseInputs>(&text).unwrap(), ct);
        let meshes = CaseInputs::Meshes { meshes: vec![InputMesh { file: "/b/h.stl".into(), name: "hip_right".into() }] };
        let text = serde_json::to_string(&meshes).unwrap();
        assert_eq!(text, r#"{"meshes":[{"file":"/b/h.stl","name":"hip_right"}]}"#);
        assert_eq!(serde_json::from_str::<CaseInputs>(&text).unwrap(), meshes);
        assert_eq!(meshes.ct(), None);
        assert_eq!(ct.meshes(), &[]);
    }
}

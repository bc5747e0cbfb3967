//! The bone lesion candidates of `coxa lesions` (its `lesions.nii.gz` and `lesions.json`) as a
//! DICOM SEG in the source study: one segment per lesion, coded as SNOMED CT 52988006 "Lesion"
//! (CID 7159, Lesion Segmentation Types) in the category 49755003 "Morphologically Altered
//! Structure": candidates of a classical search, not diagnosed metastases, so not 14799000
//! "Neoplasm, Secondary". The segment's label says its number, kind and bone (`lesion 1 lytic
//! vertebrae_L3`); its description the volume, score and that it is a candidate. Built by the
//! same SEG writer as the anatomy's ([`crate::results`]); its UIDs are stable in the same way,
//! under their own key.

use std::path::Path;

use serde::Deserialize;

use crate::error::io;
use crate::results::{ResultObject, SegSeries, Segment, Source, seg_object};
use crate::{Error, Result};

/// The file names of a lesions folder (`coxa lesions --out`, a case's `lesions/`).
pub const MAP: &str = "lesions.nii.gz";
/// See [`MAP`].
pub const JSON: &str = "lesions.json";

/// What the SEG takes of one lesion of `lesions.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct LesionEntry {
    /// Its value in `lesions.nii.gz`.
    pub id: u16,
    /// lytic, blastic or mixed.
    pub kind: String,
    /// The bone's name.
    pub bone: String,
    /// Volume, ml.
    pub volume_ml: f64,
    /// The search's score (not a calibrated probability).
    pub probability: f64,
}

#[derive(Deserialize)]
struct Record {
    lesions: Vec<LesionEntry>,
}

/// Reads the lesions of `dir/lesions.json`.
pub fn read_lesions(dir: &Path) -> Result<Vec<LesionEntry>> {
    let path = dir.join(JSON);
    let text = std::fs::read_to_string(&path).map_err(io("read", &path))?;
    let r: Record = serde_json::from_str(&text).map_err(|e| Error::Case { path: path.clone(), why: format!("not a lesions.json of coxa lesions: {e}") })?;
    Ok(r.lesions)
}

/// Builds the lesions' SEG from `dir` (`lesions.nii.gz` on the source series' grid and
/// `lesions.json`); `None` when there is no lesion.
pub fn build_lesion_seg(src: &Source, dir: &Path) -> Result<Option<ResultObject>> {
    let lesions = read_lesions(dir)?;
    if lesions.is_empty() {
        return Ok(None);
    }
    let path = dir.join(MAP);
    let bytes = std::fs::read(&path).map_err(io("read", &path))?;
    let map = coxa_io::nifti::read_label_map(&path)?;
    let present: std::collections::BTreeSet<u16> = map.labels().iter().copied().filter(|&v| v != 0).collect();
    if let Some(l) = lesions.iter().find(|l| !present.contains(&l.id)) {
        return Err(Error::Case { path, why: format!("lesion {} of {JSON} has no voxel in {MAP}: the two files are not of one search", l.id) });
    }
    let left = |bone: &str| {
        if bone.ends_with("_left") {
            Some(true)
        } else if bone.ends_with("_right") {
            Some(false)
        } else {
            None
        }
    };
    let segments: Vec<Segment> = lesions
        .iter()
        .map(|l| Segment {
            id: l.id,
            label: format!("lesion {} {} {}", l.id, l.kind, l.bone),
            description: Some(format!("{} bone lesion candidate, {:.2} ml, score {:.2} (classical search, not a diagnosis)", l.kind, l.volume_ml, l.probability)),
            category: ("49755003", "SCT", "Morphologically Altered Structure"),
            type_code: ("52988006", "SCT", "Lesion"),
            left: left(&l.bone),
        })
        .collect();
    let series =
        SegSeries { key: "lesion-seg", series_number: 9106, description: "coxa bone lesion candidates", content_label: "COXA_LESIONS", content_description: "bone lesion candidates found by coxa" };
    seg_object(src, &map, &path, &bytes, &segments, &series).map(Some)
}

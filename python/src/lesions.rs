//! `coxa.lesions` on the library (issue 58): bone metastasis candidates on a CT
//! (`coxa_case::lesions::search`, what `coxa lesions` runs on the classical path), the CT and the
//! label map handed over as arrays in memory or read from files as the program reads them; the
//! record (`lesions.json`'s text) and the lesions' label map handed back. With `out` (a new
//! folder), the files `coxa lesions --out` writes, by the library's writer. No command line is
//! built and, without `out`, nothing is written.

use std::path::{Path, PathBuf};

use numpy::PyArray3;
use pyo3::prelude::*;

use coxa_case::lesions::{IN_MEMORY, bones_for_search, file_name, json_text, lesion_map, read_class_table, read_label_file, search, write, write_seg};

use crate::{Failure, LabelsIn, VolumeIn, guarded, to_py};

/// [`lesions`]' answer: `lesions.json`'s text, and the lesions' label map (`[k, j, i]`, uint16),
/// its spacing, origin, direction and class table (id, name).
type LesionParts<'py> = (String, Bound<'py, PyArray3<u16>>, [f64; 3], [f64; 3], [f64; 9], Vec<(u16, String)>);

/// The lesion search of `coxa lesions` (classical). The CT is `ct` (an array, checked as a CT
/// file is when read) or `ct_path` (read as the program reads `--ct`); the bones come from
/// `labels` (an array) or `labels_path` (as `--labels`), their ids named by the class file
/// `label_names` (default TotalSegmentator's v2 ids), else from a threshold mask. With `out` (a
/// new folder), `lesions.json`, `lesions.nii.gz` and, for a DICOM CT file or folder,
/// `lesions_seg.dcm` are written there.
#[pyfunction]
#[pyo3(signature = (*, ct = None, ct_path = None, labels = None, labels_path = None, label_names = None, out = None))]
pub fn lesions<'py>(
    py: Python<'py>,
    ct: Option<VolumeIn<'py>>,
    ct_path: Option<PathBuf>,
    labels: Option<LabelsIn<'py>>,
    labels_path: Option<PathBuf>,
    label_names: Option<PathBuf>,
    out: Option<PathBuf>,
) -> PyResult<LesionParts<'py>> {
    // The arrays copied out of Python while the GIL is held.
    let given_ct = ct.map(|v| crate::volume_of(v, "the CT")).transpose().map_err(to_py)?;
    let given_labels = labels.map(|m| crate::label_map_of(m, "the label map")).transpose().map_err(to_py)?;
    let (text, map) = guarded(py, || {
        crate::refuse_existing_out(out.as_deref(), "lesions")?;
        let (ct, ct_name, dicom) = match (given_ct, &ct_path) {
            (Some(v), None) => {
                coxa_io::sanity::check_ct_in_memory(&v, Path::new("the CT given in memory"), false)?;
                (v, IN_MEMORY.to_string(), false)
            }
            (None, Some(path)) => {
                let loaded = coxa_io::open(path, &coxa_io::OpenOptions::default()).map_err(anyhow::Error::from).map_err(|e| e.context(format!("ct {}", path.display())))?;
                let dicom = matches!(loaded.source, coxa_io::SourceKind::Dicom(_));
                (loaded.volume, file_name(path), dicom)
            }
            _ => return Err(Failure::Argument("give the CT once: as an array (a Volume) or as a file".into())),
        };
        if label_names.is_some() && given_labels.is_none() && labels_path.is_none() {
            return Err(Failure::Argument("label_names names the ids of a label map: give labels too".into()));
        }
        let table_what = label_names.as_ref().map(|p| format!("label_names {}", p.display())).unwrap_or_default();
        let table = label_names.as_deref().map(|p| read_class_table(p, &table_what)).transpose().map_err(anyhow::Error::from)?;
        let map = match (given_labels, &labels_path) {
            (Some(m), None) => Some((m, "the label map given in memory".to_string())),
            (None, Some(p)) => Some((read_label_file(p).map_err(anyhow::Error::from)?, format!("labels {}", p.display()))),
            (None, None) => None,
            (Some(_), Some(_)) => return Err(Failure::Argument("give the label map once: as an array (a LabelMap) or as a file".into())),
        };
        let bones = map.map(|(m, what)| bones_for_search(m, table.as_ref().map(|t| (t, table_what.as_str())), &ct, &what)).transpose().map_err(anyhow::Error::from)?;
        let (detection, bones_from) = search(&ct, bones.as_ref().map(|(b, n)| (b, n)), labels_path.as_deref()).map_err(anyhow::Error::from)?;
        if let Some(out) = &out {
            // What `coxa lesions --out` writes, by the same writers.
            std::fs::create_dir_all(out).map_err(|e| anyhow::anyhow!("creating {}: {e}", out.display()))?;
            write(out, &ct, &detection, &ct_name, &bones_from).map_err(anyhow::Error::from)?;
            if let (true, Some(p)) = (dicom, &ct_path) {
                write_seg(p, out).map_err(anyhow::Error::from)?;
            }
        }
        let text = json_text(&detection, &ct_name, &bones_from).map_err(anyhow::Error::from)?;
        Ok((text, lesion_map(&ct, &detection).map_err(anyhow::Error::from)?))
    })?;
    let (ids, spacing, origin, direction, classes) = crate::label_parts(py, map);
    Ok((text, ids, spacing, origin, direction, classes))
}

//! `coxa.anatomy` on the library (issue 58): the anatomy stage as `coxa anatomy` runs it (coxa's
//! bone segmentation or a given label map, surfaces, landmarks), the CT, its label map and the
//! bone surfaces handed over in memory or read from files as the program reads them, the records
//! and the label map handed back; with `out`, the folder `coxa anatomy --out` writes, by the
//! library's writer (`coxa_case::case_writer::write_anatomy`). No command line, no scratch file.
//! (A learned model, `model=`, still runs through the program's parser: see the package.)

use std::path::PathBuf;

use numpy::PyArray3;
use pyo3::prelude::*;

use coxa_case::anatomy::{AnatomySource, InMemory};
use coxa_core::{LabelMap, Volume};
use coxa_io::dicom::ReadOptions;

use crate::meshes::{MeshGiven, MeshIn};
use crate::{Failure, LabelsIn, VolumeIn, guarded, to_py};

/// The label map handed back: ids, spacing, origin, direction, class table.
type LabelsOut<'py> = (Bound<'py, PyArray3<u16>>, [f64; 3], [f64; 3], [f64; 9], Vec<(u16, String)>);
/// [`anatomy`]'s answer: anatomy.json's and landmarks.json's text (as the files hold them) and
/// the label map the surfaces were made from (none from surfaces).
type AnatomyOut<'py> = (String, String, Option<LabelsOut<'py>>);

/// Where the anatomy comes from, copied out of Python.
enum Input {
    Memory { ct: Box<Volume>, labels: Option<LabelMap>, any_modality: bool },
    Meshes(Vec<MeshGiven>, Option<coxa_case::bone_input::LengthUnit>),
    Files(AnatomySource),
}

/// The anatomy as `coxa anatomy` finds it. The input is one of: `ct` (an array, with `labels` an
/// array or none), `ct_path` (a file or DICOM folder, with `labels_path` and `label_names`, and
/// `series` / `resample` for DICOM), or `meshes` (each a file or arrays). `any_modality`,
/// `mesh_units` and `shape_model` are the flags of the same name. With `out` (a new folder), the
/// program's files are written there too.
#[pyfunction]
#[pyo3(signature = (
    *, ct = None, ct_path = None, labels = None, labels_path = None, label_names = None, meshes = Vec::new(), mesh_units = None,
    any_modality = false, series = None, resample = false, shape_model = None, out = None
))]
#[allow(clippy::too_many_arguments, reason = "one keyword argument per option of `coxa anatomy`, as Python calls it")]
pub fn anatomy<'py>(
    py: Python<'py>,
    ct: Option<VolumeIn<'py>>,
    ct_path: Option<PathBuf>,
    labels: Option<LabelsIn<'py>>,
    labels_path: Option<PathBuf>,
    label_names: Option<PathBuf>,
    meshes: Vec<MeshIn<'py>>,
    mesh_units: Option<String>,
    any_modality: bool,
    series: Option<String>,
    resample: bool,
    shape_model: Option<String>,
    out: Option<PathBuf>,
) -> PyResult<AnatomyOut<'py>> {
    let input = (|| -> Result<Input, Failure> {
        let units = mesh_units.as_deref().map(|u| coxa_case::bone_input::parse_units(u).map_err(|e| Failure::Argument(format!("mesh_units={u:?}: {e}")))).transpose()?;
        let has_ct = ct.is_some() || ct_path.is_some();
        if has_ct != meshes.is_empty() {
            return Err(Failure::Argument("give a CT (an array or a file) or bone surfaces (meshes), one of the two".into()));
        }
        if units.is_some() && meshes.is_empty() {
            return Err(Failure::Argument("mesh_units is for bone surfaces: give meshes".into()));
        }
        if label_names.is_some() && labels_path.is_none() {
            return Err(Failure::Argument("label_names names the ids of a label map file: give labels as a file".into()));
        }
        if !meshes.is_empty() {
            return Ok(Input::Meshes(crate::meshes::copied(meshes)?, units));
        }
        match (ct, ct_path) {
            (Some(ct), None) => {
                if labels_path.is_some() {
                    return Err(Failure::Argument("a label map file goes with a CT file: give labels as a LabelMap with a CT array".into()));
                }
                let ct = crate::volume_of(ct, "the CT")?;
                let labels = labels.map(|m| crate::label_map_of(m, "the label map")).transpose()?;
                Ok(Input::Memory { ct: Box::new(ct), labels, any_modality })
            }
            (None, Some(path)) => {
                if labels.is_some() {
                    return Err(Failure::Argument("labels given as an array need the CT as an array too (ct=Volume)".into()));
                }
                let mut dicom = ReadOptions::new().with_resample(resample);
                if let Some(s) = series {
                    dicom = dicom.with_series(s);
                }
                Ok(Input::Files(AnatomySource::Ct { ct: path, labels: labels_path, label_names, dicom, any_modality }))
            }
            _ => Err(Failure::Argument("give the CT once: as an array (a Volume) or as a file".into())),
        }
    })()
    .map_err(to_py)?;
    let result = guarded(py, || {
        if let Some(m) = &shape_model {
            coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
        }
        crate::refuse_existing_out(out.as_deref(), "anatomy")?;
        let result = match input {
            Input::Memory { ct, labels, any_modality } => coxa_case::anatomy::in_memory(InMemory::Ct { ct: &ct, labels: labels.as_ref(), any_modality }),
            Input::Meshes(given, units) => coxa_case::anatomy::in_memory(InMemory::Meshes(crate::meshes::read(given)?, units)),
            Input::Files(source) => coxa_case::anatomy::from_files(&source),
        }
        .map_err(anyhow::Error::from)?;
        if let Some(out) = &out {
            coxa_case::case_writer::write_anatomy(out, &result).map_err(anyhow::Error::from)?;
        }
        let record = coxa_case::stamp::text("anatomy", &result.record).map_err(anyhow::Error::from)?;
        let landmarks = coxa_case::stamp::text("landmarks", &result.landmarks).map_err(anyhow::Error::from)?;
        Ok((record, landmarks, result.labels))
    })?;
    let (record, landmarks, labels) = result;
    let labels = labels.map(|map| crate::label_parts(py, map));
    Ok((record, landmarks, labels))
}

//! `coxa.segment` on the library (issue 58): a CT segmented by a learned model
//! (`coxa_case::segment::segment_ct`, what `coxa segment` runs), the CT handed over as an array
//! in memory or read from a file as the program reads it, the label map and the uncertainty
//! handed back as arrays; with `out`, the folder `coxa segment --out` writes (by the library's
//! writer, `coxa_case::case_writer::write_model_segmentation`).

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray3};
use pyo3::prelude::*;

use coxa_case::segment::ModelRun;

use crate::{Failure, VolumeIn, guarded, to_py};

/// [`segment`]'s answer: the labels (`[k, j, i]`, uint16), spacing, origin, direction, the
/// class table (id, name), the uncertainty (entropy, nats, float32, same grid), `segment.json`
/// (JSON text) and whether the card says it is a test model.
type SegmentParts<'py> = (Bound<'py, PyArray3<u16>>, [f64; 3], [f64; 3], [f64; 9], Vec<(u16, String)>, Bound<'py, PyArray3<f32>>, String, bool);

/// Segments a CT with the model `card` as `coxa segment` does. The CT is `ct` (an array in
/// memory, checked as a CT file is when read) or `ct_path` (read as the program reads `--ct`).
/// The run's options are `coxa segment`'s flags (`folds` is `--fold` repeated); left out, the
/// program's defaults. With `out` (a new folder), its files are written too.
#[pyfunction]
#[pyo3(signature = (card, *, ct = None, ct_path = None, out = None, no_mirror = false, folds = Vec::new(), mc_passes = None, batch = None, threads = None))]
#[allow(clippy::too_many_arguments, reason = "one keyword argument per option of `coxa segment`, as Python calls it")]
pub fn segment<'py>(
    py: Python<'py>,
    card: PathBuf,
    ct: Option<VolumeIn<'py>>,
    ct_path: Option<PathBuf>,
    out: Option<PathBuf>,
    no_mirror: bool,
    folds: Vec<usize>,
    mc_passes: Option<usize>,
    batch: Option<usize>,
    threads: Option<usize>,
) -> PyResult<SegmentParts<'py>> {
    let given = ct.map(|v| crate::volume_of(v, "the CT")).transpose().map_err(to_py)?;
    let defaults = ModelRun::default();
    let run = ModelRun { no_mirror, folds, mc_passes: mc_passes.unwrap_or(defaults.mc_passes), batch: batch.unwrap_or(defaults.batch), threads };
    let m = guarded(py, || {
        crate::refuse_existing_out(out.as_deref(), "segment")?;
        let ct = match (given, &ct_path) {
            (Some(v), None) => {
                coxa_io::sanity::check_ct_in_memory(&v, std::path::Path::new("the CT given in memory"), false)?;
                v
            }
            (None, Some(path)) => coxa_io::open(path, &coxa_io::OpenOptions::default()).map_err(anyhow::Error::from).map_err(|e| e.context(format!("ct {}", path.display())))?.volume,
            _ => return Err(Failure::Argument("give the CT once: as an array (a Volume) or as a file".into())),
        };
        let m = coxa_case::segment::segment_ct(&ct, &card, &run).map_err(anyhow::Error::from)?;
        if let Some(out) = &out {
            // What `coxa segment --out` writes, by the same writer.
            std::fs::create_dir_all(out).map_err(|e| anyhow::anyhow!("creating {}: {e}", out.display()))?;
            coxa_case::case_writer::write_model_segmentation(out, &m.seg, &m.json, "labels.nii.gz").map_err(anyhow::Error::from)?;
        }
        Ok(m)
    })?;
    let record = m.json.to_string();
    let (labels, spacing, origin, direction, classes) = crate::label_parts(py, m.seg.labels);
    Ok((labels, spacing, origin, direction, classes, m.seg.entropy_nats.into_pyarray(py), record, m.test_model))
}

//! `coxa.plan` and `coxa.case` on the library (issue 58): the case planned by the program's own
//! code (`coxa_scenarios::cli::plan::run_with`) from typed keyword arguments, never from a
//! command line, with a CT handed over as an array in memory (never a scratch file), and the
//! stages told to a Python callable as they start.
//!
//! The options start from the program's defaults ([`PlanArgs::with_out`]: the parser's, written
//! once in `scenarios/src/cli/plan.rs`); each keyword argument given sets its field. Values are
//! checked where the program checks them (ranges, the side, the label map's grid), with the
//! program's messages.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::ValueEnum;
use pyo3::prelude::*;

use coxa_case::scenario::InMemoryCt;
use coxa_scenarios::cli::plan::PlanArgs;
use coxa_scenarios::cli::rom::CupDefinitionArg;
use coxa_scenarios::cli::side::SideArg;

use crate::{Failure, LabelsIn, VolumeIn, guarded, to_py};

/// A keyword argument's text value refused as the program refuses the flag's.
pub(crate) fn choice<T: ValueEnum>(name: &str, text: &str) -> Result<T, Failure> {
    T::from_str(text, true).map_err(|_| {
        let names: Vec<String> = T::value_variants().iter().filter_map(|v| v.to_possible_value()).map(|p| p.get_name().to_string()).collect();
        Failure::Argument(format!("{name}={text:?}: use one of {}", names.join(", ")))
    })
}

/// Plans one case as `coxa plan` does and returns plan.json's record (JSON text); the case
/// folder is written into `out` (a new folder).
///
/// The input is one of: `ct` (an array in memory, with `labels` in memory or none), `ct_path`
/// (a file or DICOM folder, with `labels_path`), or `meshes` (`NAME=FILE` surfaces). Every other
/// keyword argument is the flag of `coxa plan` of the same name (`liners` is `--liner` repeated);
/// left out, the program's default. `progress`, when given, is called with each stage's name as
/// it starts; an exception it raises is raised when the case has finished (the case is not
/// stopped midway).
#[pyfunction]
#[pyo3(signature = (
    out, *, side = None, ct = None, ct_path = None, labels = None, labels_path = None, meshes = Vec::new(), mesh_units = None,
    case_name = None, head_mm = None, liners = None, cup_inclination_deg = None, cup_anteversion_deg = None,
    stem_anteversion_deg = None, pelvic_tilt_deg = None, sitting_extra_tilt_deg = None, grid_step_deg = None, catalog = None,
    cup_definition = None, shape_model = None, progress = None
))]
#[allow(clippy::too_many_arguments, reason = "one keyword argument per option of `coxa plan`, as Python calls it")]
pub fn plan(
    py: Python<'_>,
    out: PathBuf,
    side: Option<String>,
    ct: Option<VolumeIn<'_>>,
    ct_path: Option<PathBuf>,
    labels: Option<LabelsIn<'_>>,
    labels_path: Option<PathBuf>,
    meshes: Vec<String>,
    mesh_units: Option<String>,
    case_name: Option<String>,
    head_mm: Option<f64>,
    liners: Option<Vec<String>>,
    cup_inclination_deg: Option<(f64, f64)>,
    cup_anteversion_deg: Option<(f64, f64)>,
    stem_anteversion_deg: Option<(f64, f64)>,
    pelvic_tilt_deg: Option<f64>,
    sitting_extra_tilt_deg: Option<f64>,
    grid_step_deg: Option<f64>,
    catalog: Option<PathBuf>,
    cup_definition: Option<String>,
    shape_model: Option<String>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let (args, memory) = (|| -> Result<(PlanArgs, Option<InMemoryCt>), Failure> {
        let mut a = PlanArgs::with_out(out).map_err(|e| Failure::Argument(e.to_string()))?;
        a.side = side.as_deref().map(|s| choice::<SideArg>("side", s)).transpose()?;
        a.meshes = meshes;
        a.mesh_units = mesh_units.as_deref().map(|u| coxa_case::bone_input::parse_units(u).map_err(|e| Failure::Argument(format!("mesh_units={u:?}: {e}")))).transpose()?;
        a.ct = ct_path;
        a.labels = labels_path;
        a.case_name = case_name;
        a.head_mm = head_mm;
        if let Some(l) = liners {
            a.liners = l;
        }
        if let Some((lo, hi)) = cup_inclination_deg {
            a.cup_inclination_deg = vec![lo, hi];
        }
        if let Some((lo, hi)) = cup_anteversion_deg {
            a.cup_anteversion_deg = vec![lo, hi];
        }
        a.stem_anteversion_deg = stem_anteversion_deg.map(|(lo, hi)| vec![lo, hi]);
        if let Some(t) = pelvic_tilt_deg {
            a.pelvic_tilt_deg = t;
        }
        if let Some(t) = sitting_extra_tilt_deg {
            a.sitting_extra_tilt_deg = t;
        }
        if let Some(g) = grid_step_deg {
            a.grid_step_deg = g;
        }
        a.catalog = catalog;
        if let Some(d) = cup_definition.as_deref() {
            a.cup_definition = choice::<CupDefinitionArg>("cup_definition", d)?;
        }
        a.shape_model = shape_model;
        let memory = match ct {
            None => {
                if labels.is_some() {
                    return Err(Failure::Argument("labels given as an array need the CT as an array too (ct=Volume)".into()));
                }
                None
            }
            Some(ct) => {
                let ct = crate::volume_of(ct, "the CT")?;
                let labels = labels.map(|m| crate::label_map_of(m, "the label map").map(Arc::new)).transpose()?;
                Some(InMemoryCt { ct: Arc::new(ct), labels })
            }
        };
        Ok((a, memory))
    })()
    .map_err(to_py)?;
    // The callable's first exception, raised when the case has finished.
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let tell = |stage: &str| {
        if let Some(cb) = &progress {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (stage,))
                    && let Ok(mut first) = raised.lock()
                {
                    first.get_or_insert(e);
                }
            });
        }
    };
    let record = guarded(py, || {
        if let Some(m) = &args.shape_model {
            coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
        }
        let record = coxa_scenarios::cli::plan::run_with(&args, memory, Some(&tell))?;
        Ok(serde_json::to_string(&record).map_err(anyhow::Error::from)?)
    })?;
    match raised.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(record),
    }
}

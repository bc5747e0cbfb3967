//! `coxa._coxa`: the compiled half of coxa's Python package (`import coxa`, issue 44). The
//! package's pure-Python half (`python/coxa/`) holds the typed results, the stubs and the
//! documentation; this module holds only what must be compiled:
//!
//! - [`read_volume`] and [`read_label_map`]: a CT or label map as coxa reads it (`coxa_io`), its
//!   voxels as a numpy array in SimpleITK's `GetArrayFromImage` order `[k, j, i]` and its grid in
//!   LPS (spacing, origin, direction row-major, as SimpleITK's `GetDirection`);
//! - [`write_volume`] and [`write_label_map`]: numpy arrays with a grid written by coxa's NIfTI
//!   writer, so that every command can take arrays where it takes files;
//! - [`read_mesh`] and [`write_mesh`]: a surface as vertex and triangle arrays, read and written
//!   by coxa's mesh readers and writers (STL, PLY; also read: VTK, VTP, STEP);
//! - [`plan::plan`]: `coxa plan` from typed keyword arguments, a CT in memory, stages told to
//!   a callable (the library's call, no command line);
//! - [`segment::segment`]: `coxa segment` on a CT array, the label map and the uncertainty
//!   handed back as arrays;
//! - [`lesions::lesions`]: `coxa lesions` (classical) on a CT array and a label map array, the
//!   record and the lesions' label map handed back;
//! - [`command`]: one `coxa` command run in this process with the command line's own argument
//!   parser and code (`coxa_scenarios::cli`), so that a result equals the program's;
//! - [`validate`]: a record (plan.json, anatomy.json, ...) read back into coxa's own type;
//! - the exceptions, every one a subclass of `CoxaError` carrying the one line the program prints.
//!
//! Nothing here panics across the boundary: every call runs under [`guarded`], which turns a
//! panic (a bug in coxa) into `CoxaError` instead of pyo3's `PanicException`.

use std::path::PathBuf;

mod anatomy;
mod lesions;
mod logging;
mod meshes;
mod plan;
mod radiomics;
mod rom;
mod segment;

use clap::Parser;
use nalgebra::{Matrix3, Vector3};
use ndarray::{Array2, Array3};
use numpy::{IntoPyArray, PyArray2, PyArray3, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use coxa_core::{ClassTable, Grid, LabelMap, Volume};
use coxa_scenarios::cli::{Cli, Command};

pyo3::create_exception!(_coxa, CoxaError, PyException, "Every error coxa raises: its message is the one line the `coxa` program prints.");
pyo3::create_exception!(_coxa, InputError, CoxaError, "Bad input: a file, a value or an option the `coxa` program refuses with exit status 2.");
pyo3::create_exception!(_coxa, ReadError, InputError, "A file coxa cannot read (missing, broken, too large, not a CT).");
pyo3::create_exception!(_coxa, ArgumentError, InputError, "An option coxa's command line refuses (unknown, missing, out of range).");
pyo3::create_exception!(_coxa, SchemaError, InputError, "A record that does not fit its JSON Schema (a plan.json or anatomy.json edited or from another coxa).");
pyo3::create_exception!(_coxa, InternalError, CoxaError, "A bug in coxa (a panic caught at the boundary); please report it.");

/// The one line the `coxa` program prints for `e` (without its `error: `): the message and every
/// cause it does not already quote, as `scenarios/src/main.rs` prints it.
pub fn one_line(e: &anyhow::Error) -> String {
    coxa_scenarios::cli::one_line(e)
}

/// What failed, for the exception's class.
enum Failure {
    Input(anyhow::Error),
    Argument(String),
    Schema(String),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Input(e)
    }
}

impl From<coxa_io::Error> for Failure {
    fn from(e: coxa_io::Error) -> Self {
        Failure::Input(e.into())
    }
}

fn to_py(f: Failure) -> PyErr {
    match f {
        Failure::Argument(m) => ArgumentError::new_err(m),
        Failure::Schema(m) => SchemaError::new_err(m),
        Failure::Input(e) => {
            let line = one_line(&e);
            if e.chain().any(|c| c.downcast_ref::<coxa_io::Error>().is_some()) { ReadError::new_err(line) } else { InputError::new_err(line) }
        }
    }
}

/// Runs `f` without the GIL (coxa's work is Rust's; other Python threads go on), a panic turned
/// into `InternalError`.
fn guarded<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Failure> + Send) -> PyResult<T> {
    let outcome = py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(f)) => Err(to_py(f)),
        Err(panic) => {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(InternalError::new_err(format!("a bug in coxa (please report it): {what}")))
        }
    }
}

/// A grid's geometry as Python gets it: spacing, origin (LPS mm), direction (row-major).
type Geometry = ([f64; 3], [f64; 3], [f64; 9]);
/// [`read_volume`]'s answer: the voxels, the geometry, the source's description (JSON).
type VolumeParts<'py> = (Bound<'py, PyAny>, [f64; 3], [f64; 3], [f64; 9], String);
/// [`read_label_map`]'s answer: the labels, the geometry, the class table.
type LabelParts<'py> = (Bound<'py, PyArray3<u16>>, [f64; 3], [f64; 3], [f64; 9], Vec<(u16, String)>);

fn geometry(g: &Grid) -> Geometry {
    let s = g.spacing_mm();
    let o = g.origin_lps_mm();
    ([s.x, s.y, s.z], [o.x, o.y, o.z], g.direction_row_major())
}

/// A label map as Python gets it ([`LabelParts`]): the ids, the geometry and the class table.
pub(crate) fn label_parts(py: Python<'_>, map: LabelMap) -> LabelParts<'_> {
    let (spacing, origin, direction) = geometry(map.grid());
    let classes = map.classes().iter().map(|(id, n)| (id, n.to_string())).collect();
    let (_, ids, _) = map.into_parts();
    (ids.into_pyarray(py), spacing, origin, direction, classes)
}

/// Refuses an `out` folder that exists: `coxa COMMAND` writes into a new folder, never over one.
pub(crate) fn refuse_existing_out(out: Option<&std::path::Path>, command: &str) -> Result<(), Failure> {
    match out {
        Some(out) if out.exists() => Err(Failure::Input(anyhow::anyhow!("{} already exists; coxa {command} writes into a new folder and never overwrites: choose another out", out.display()))),
        _ => Ok(()),
    }
}

fn grid_of(shape_kji: &[usize], spacing: [f64; 3], origin: [f64; 3], direction: [f64; 9]) -> Result<Grid, Failure> {
    let size = [shape_kji[2], shape_kji[1], shape_kji[0]];
    let d = Matrix3::from_row_slice(&direction);
    Grid::new(size, Vector3::from(spacing), Vector3::from(origin), d).map_err(|e| Failure::Argument(format!("the volume's geometry: {e}")))
}

/// The memory limit of one read: `max_memory` bytes, else the process's (`--max-memory` of an
/// earlier command, or half the memory available).
fn limits(max_memory: Option<u64>) -> coxa_io::Limits {
    let l = coxa_io::Limits::new();
    match max_memory {
        Some(m) => l.with_max_bytes(m),
        None => l,
    }
}

/// A command's `--max-memory`: as the program does, for the rest of the process.
fn set_max_memory(max_memory: Option<u64>) {
    if let Some(m) = max_memory {
        coxa_io::Limits::set_process_max_bytes(m);
    }
}

/// Reads a CT (NIfTI, NRRD, a DICOM file or a DICOM series' folder) as coxa reads it.
///
/// Returns `(array, spacing, origin, direction, info)`: the HU as int16 or float32 in
/// `[k, j, i]` order, the grid in LPS, and a JSON text with the source (`nifti`, `nrrd`,
/// `dicom`), the modality, the number of files and the reader's warnings (never patient identity).
#[pyfunction]
#[pyo3(signature = (path, any_modality = false, series = None, resample = false, max_memory = None))]
fn read_volume<'py>(py: Python<'py>, path: PathBuf, any_modality: bool, series: Option<String>, resample: bool, max_memory: Option<u64>) -> PyResult<VolumeParts<'py>> {
    let loaded = guarded(py, || {
        let mut dicom = coxa_io::dicom::ReadOptions::new().with_resample(resample);
        if let Some(s) = series {
            dicom = dicom.with_series(s);
        }
        let options = coxa_io::OpenOptions::new().with_any_modality(any_modality).with_dicom(dicom).with_limits(limits(max_memory));
        Ok(coxa_io::open(&path, &options)?)
    })?;
    let source = match &loaded.source {
        coxa_io::SourceKind::Dicom(_) => "dicom",
        coxa_io::SourceKind::Nifti => "nifti",
        coxa_io::SourceKind::Nrrd => "nrrd",
        _ => "other",
    };
    let info = serde_json::json!({ "source": source, "modality": loaded.modality, "n_files": loaded.n_files, "warnings": loaded.warnings }).to_string();
    let (spacing, origin, direction) = geometry(loaded.volume.grid());
    let (_, voxels) = loaded.volume.into_voxels();
    let array = match voxels {
        coxa_core::Voxels::I16(a) => a.into_pyarray(py).into_any(),
        coxa_core::Voxels::F32(a) => a.into_pyarray(py).into_any(),
    };
    Ok((array, spacing, origin, direction, info))
}

/// Reads a label map (NIfTI or NRRD) as coxa reads it: uint16 labels in `[k, j, i]` order, the
/// grid in LPS, and the class table (id to name) where the file holds one.
#[pyfunction]
#[pyo3(signature = (path, max_memory = None))]
fn read_label_map<'py>(py: Python<'py>, path: PathBuf, max_memory: Option<u64>) -> PyResult<LabelParts<'py>> {
    let map = guarded(py, || {
        if coxa_io::nrrd::is_nrrd_path(&path) {
            Ok(coxa_io::nrrd::read_label_map_with(&path, &limits(max_memory))?)
        } else if coxa_io::nifti::is_nifti_path(&path) {
            Ok(coxa_io::nifti::read_label_map_with(&path, &limits(max_memory))?)
        } else {
            Err(Failure::Input(anyhow::anyhow!("{}: a NIfTI (.nii, .nii.gz) or NRRD (.nrrd) label map is expected", path.display())))
        }
    })?;
    Ok(label_parts(py, map))
}

/// A volume as the package hands it over: the values (`[k, j, i]`, int16 or float32), spacing,
/// origin, direction (row-major).
pub(crate) type VolumeIn<'py> = (Bound<'py, PyAny>, [f64; 3], [f64; 3], [f64; 9]);
/// A label map as the package hands it over: the ids (`[k, j, i]`, uint16), spacing, origin,
/// direction and its class table (id, name; empty: TotalSegmentator's ids).
pub(crate) type LabelsIn<'py> = (PyReadonlyArray3<'py, u16>, [f64; 3], [f64; 3], [f64; 9], Vec<(u16, String)>);

/// The volume handed over, copied out of Python (`what` names it in the error: "the CT").
pub(crate) fn volume_of((array, spacing, origin, direction): VolumeIn<'_>, what: &str) -> Result<Volume, Failure> {
    let (voxels, shape) = voxels_of(&array)?;
    Volume::from_voxels(grid_of(&shape, spacing, origin, direction)?, voxels).map_err(|e| Failure::Argument(format!("{what}: {e}")))
}

/// The label map handed over, copied out of Python with its class table (`what` names it).
pub(crate) fn label_map_of((ids, spacing, origin, direction, classes): LabelsIn<'_>, what: &str) -> Result<LabelMap, Failure> {
    let mut table = ClassTable::new();
    for (id, name) in classes {
        table.insert(id, name);
    }
    LabelMap::new(grid_of(ids.shape(), spacing, origin, direction)?, ids.as_array().to_owned(), table).map_err(|e| Failure::Argument(format!("{what}: {e}")))
}

/// HU `array` (`[k, j, i]`, int16 or float32) copied out of Python, with its shape `[k, j, i]`.
fn voxels_of(array: &Bound<'_, PyAny>) -> Result<(coxa_core::Voxels, Vec<usize>), Failure> {
    if let Ok(a) = array.extract::<PyReadonlyArray3<'_, i16>>() {
        Ok((coxa_core::Voxels::I16(a.as_array().to_owned()), a.shape().to_vec()))
    } else if let Ok(a) = array.extract::<PyReadonlyArray3<'_, f32>>() {
        Ok((coxa_core::Voxels::F32(a.as_array().to_owned()), a.shape().to_vec()))
    } else {
        Err(Failure::Argument("the volume's array must be a 3-D numpy array of int16 or float32 (HU), in [k, j, i] order".into()))
    }
}

/// Writes HU `array` (`[k, j, i]`, float32 or int16) on the grid given as a new NIfTI file
/// `path` with coxa's writer (it never replaces a file).
#[pyfunction]
fn write_volume(py: Python<'_>, path: PathBuf, array: &Bound<'_, PyAny>, spacing: [f64; 3], origin: [f64; 3], direction: [f64; 9]) -> PyResult<()> {
    let (voxels, shape) = voxels_of(array).map_err(to_py)?;
    guarded(py, || {
        let grid = grid_of(&shape, spacing, origin, direction)?;
        let vol = Volume::from_voxels(grid, voxels).map_err(|e| Failure::Argument(format!("the volume: {e}")))?;
        Ok(coxa_io::nifti::write_volume(&vol, &path)?)
    })
}

/// Writes labels `array` (`[k, j, i]`, uint16) on the grid given as a new NIfTI file `path`.
#[pyfunction]
fn write_label_map(py: Python<'_>, path: PathBuf, array: PyReadonlyArray3<'_, u16>, spacing: [f64; 3], origin: [f64; 3], direction: [f64; 9]) -> PyResult<()> {
    let shape = array.shape().to_vec();
    let labels: Array3<u16> = array.as_array().to_owned();
    guarded(py, || {
        let grid = grid_of(&shape, spacing, origin, direction)?;
        let map = LabelMap::new(grid, labels, ClassTable::new()).map_err(|e| Failure::Argument(format!("the label map: {e}")))?;
        Ok(coxa_io::nifti::write_label_map(&map, &path)?)
    })
}

/// A mesh as [`read_mesh`] returns it: vertices and triangles.
type MeshParts<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<u32>>);

/// Reads a surface mesh as coxa reads it (`.stl`, `.ply`, `.obj`, `.vtk`, `.vtp`, `.step`/`.stp`, by
/// extension): its vertices (float64 `[n, 3]`, the file's coordinates, mm) and triangles (uint32
/// `[m, 3]`, indices into the vertices; an STL's corners welded where they coincide).
#[pyfunction]
#[pyo3(signature = (path, max_memory = None))]
fn read_mesh<'py>(py: Python<'py>, path: PathBuf, max_memory: Option<u64>) -> PyResult<MeshParts<'py>> {
    let (vertices, triangles) = guarded(py, || {
        let mesh = coxa_io::mesh::read_mesh_with(&path, &limits(max_memory))?;
        let v = Array2::from_shape_vec((mesh.vertices().len(), 3), mesh.vertices().iter().flat_map(|p| [p.x, p.y, p.z]).collect()).map_err(anyhow::Error::from)?;
        let t = Array2::from_shape_vec((mesh.triangles().len(), 3), mesh.triangles().iter().flatten().copied().collect()).map_err(anyhow::Error::from)?;
        Ok((v, t))
    })?;
    Ok((vertices.into_pyarray(py), triangles.into_pyarray(py)))
}

/// Writes the surface of `vertices` (float64 `[n, 3]`, mm) and `triangles` (uint32 `[m, 3]`) as
/// a new `.stl` (binary), `.ply` (binary, exact doubles), `.obj`, `.vtp` (binary appended, exact
/// doubles) or `.glb` (glTF binary, one node) file `path`, by extension; it never replaces a file.
#[pyfunction]
fn write_mesh(py: Python<'_>, path: PathBuf, vertices: PyReadonlyArray2<'_, f64>, triangles: PyReadonlyArray2<'_, u32>) -> PyResult<()> {
    let mesh = meshes::mesh_of("the mesh", &vertices, &triangles).map_err(to_py)?;
    guarded(py, || Ok(coxa_io::mesh::write_mesh(&mesh, &path)?))
}

/// Runs the `coxa` command `argv` (without the program's name, e.g. `["plan", "--mesh", ...]`)
/// in this process, parsed by the program's own parser. Returns the JSON text of the commands that
/// return their record (`plan`: plan.json's record; `rom`; `hcf`; `anatomy`), else an empty
/// text: their records are in the output folder (`--out`); `plan`, `rom`, `hcf`, `anatomy`,
/// `radiomics` and `lesions` print nothing. A usage error is `ArgumentError`; every other
/// refusal the one line the program prints.
#[pyfunction]
fn command(py: Python<'_>, argv: Vec<String>) -> PyResult<String> {
    guarded(py, || {
        let cli = Cli::try_parse_from(std::iter::once("coxa".to_string()).chain(argv)).map_err(|e| {
            if e.use_stderr() {
                let line = coxa_scenarios::cli::one_line_usage_error(&e);
                Failure::Argument(line.strip_prefix("error: ").unwrap_or(&line).to_string())
            } else {
                Failure::Argument(e.render().to_string())
            }
        })?;
        set_max_memory(cli.max_memory);
        let text = match cli.command {
            // The quiet paths: the record returned, nothing printed.
            Command::Plan(args) => {
                if let Some(m) = &args.shape_model {
                    coxa_case::shape_predict::set_choice(coxa_case::shape_predict::parse_choice(m));
                }
                serde_json::to_string(&coxa_scenarios::cli::plan::run(&args)?).map_err(anyhow::Error::from)?
            }
            Command::Rom(args) if args.scenario.is_none() => serde_json::to_string(&coxa_scenarios::cli::rom::run(&args)?).map_err(anyhow::Error::from)?,
            Command::Hcf(args) => serde_json::to_string(&coxa_scenarios::hcf::run(&args)?).map_err(anyhow::Error::from)?,
            Command::Anatomy(args) => serde_json::to_string(&coxa_scenarios::cli::anatomy::run(&args)?).map_err(anyhow::Error::from)?,
            Command::Radiomics(args) => {
                coxa_scenarios::cli::radiomics::run(&args)?;
                String::new()
            }
            Command::Lesions(args) => {
                coxa_scenarios::cli::lesions::run(&args)?;
                String::new()
            }
            // Every other command as the program runs it (its one summary line on stdout).
            other => {
                coxa_scenarios::cli::run(Cli { command: other, max_memory: cli.max_memory, quiet: cli.quiet, verbose: cli.verbose })?;
                String::new()
            }
        };
        Ok(text)
    })
}

/// Reads `text` (a record's JSON, with or without its `$schema` envelope) into coxa's own type of
/// record `kind` (`plan`, `anatomy`, `landmarks`, `rom`, `report`, `inputs`): `SchemaError`
/// naming the first field that does not fit.
#[pyfunction]
fn validate(py: Python<'_>, kind: String, text: String) -> PyResult<()> {
    guarded(py, || {
        let check = |r: Result<(), serde_json::Error>| r.map_err(|e| Failure::Schema(format!("not a {kind} record of this coxa ({kind}.schema.json): {e}")));
        match kind.as_str() {
            "plan" => check(serde_json::from_str::<coxa_core::PlanRecord>(&text).map(drop)),
            "anatomy" => check(serde_json::from_str::<coxa_core::AnatomyRecord>(&text).map(drop)),
            "landmarks" => check(serde_json::from_str::<coxa_core::PatientLandmarks>(&text).map(drop)),
            "rom" => check(serde_json::from_str::<coxa_core::RomRecord>(&text).map(drop)),
            "report" => check(serde_json::from_str::<coxa_core::CaseReport>(&text).map(drop)),
            "inputs" => check(serde_json::from_str::<coxa_core::CaseInputs>(&text).map(drop)),
            other => Err(Failure::Argument(format!("no record kind {other:?}: plan, anatomy, landmarks, rom, report or inputs"))),
        }
    })
}

/// The version of coxa this module was built from.
#[pyfunction]
fn version() -> String {
    coxa_scenarios::view::version().to_string()
}

/// The compiled half of `coxa` (see the package `coxa`).
#[pymodule]
fn _coxa(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    logging::install();
    m.add("CoxaError", py.get_type::<CoxaError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ReadError", py.get_type::<ReadError>())?;
    m.add("ArgumentError", py.get_type::<ArgumentError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add_function(wrap_pyfunction!(read_volume, m)?)?;
    m.add_function(wrap_pyfunction!(read_label_map, m)?)?;
    m.add_function(wrap_pyfunction!(write_volume, m)?)?;
    m.add_function(wrap_pyfunction!(write_label_map, m)?)?;
    m.add_function(wrap_pyfunction!(read_mesh, m)?)?;
    m.add_function(wrap_pyfunction!(write_mesh, m)?)?;
    m.add_function(wrap_pyfunction!(command, m)?)?;
    m.add_function(wrap_pyfunction!(plan::plan, m)?)?;
    m.add_function(wrap_pyfunction!(segment::segment, m)?)?;
    m.add_function(wrap_pyfunction!(radiomics::radiomics, m)?)?;
    m.add_function(wrap_pyfunction!(lesions::lesions, m)?)?;
    m.add_function(wrap_pyfunction!(anatomy::anatomy, m)?)?;
    m.add_function(wrap_pyfunction!(rom::rom, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}

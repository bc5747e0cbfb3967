//! `coxa.rom` on the library (issue 58): the range of motion and impingement of an implanted hip
//! as `coxa rom` computes it (`coxa_scenarios::cli::rom::run_on`), from typed keyword arguments
//! (never a command line), with bone surfaces handed over in memory or read from files as the
//! program reads `--mesh` (checked together as the program checks them). Nothing is written.

use std::path::PathBuf;

use numpy::PyReadonlyArray2;
use pyo3::prelude::*;

use coxa_core::Mesh;
use coxa_scenarios::cli::rom::{CupDefinitionArg, RomArgs};
use coxa_scenarios::cli::side::SideArg;

use crate::plan::choice;
use crate::{Failure, guarded, to_py};

/// A bone surface as the package hands it over: its name (`hip_right`, ...) and either a file or
/// its vertices (float64 `[n, 3]`, mm) and triangles (uint32 `[m, 3]`).
type MeshIn<'py> = (String, Option<PathBuf>, Option<(PyReadonlyArray2<'py, f64>, PyReadonlyArray2<'py, u32>)>);

/// The surfaces given: each name with its file or its mesh (copied out of Python).
type Given = Vec<(String, Option<PathBuf>, Option<Mesh>)>;

/// The range of motion of the hip as `coxa rom` reports it, as the JSON text of its record.
/// `meshes` are the bones (none: the implants alone); every other keyword argument is the flag
/// of `coxa rom` of the same name, left out the program's default.
#[pyfunction]
#[pyo3(signature = (
    *, meshes = Vec::new(), side = None, mesh_units = None, head_mm = None, head_offset_mm = None, neck_mm = None, liner = None,
    shell_mm = None, stem_size = None, catalog = None, cup_inclination_deg = None, cup_anteversion_deg = None, cup_definition = None,
    stem_anteversion_deg = None, pelvic_tilt_deg = None, sitting_extra_tilt_deg = None, user_cup = None, user_stem = None
))]
#[allow(clippy::too_many_arguments, reason = "one keyword argument per option of `coxa rom`, as Python calls it")]
pub fn rom(
    py: Python<'_>,
    meshes: Vec<MeshIn<'_>>,
    side: Option<String>,
    mesh_units: Option<String>,
    head_mm: Option<f64>,
    head_offset_mm: Option<f64>,
    neck_mm: Option<f64>,
    liner: Option<String>,
    shell_mm: Option<f64>,
    stem_size: Option<String>,
    catalog: Option<PathBuf>,
    cup_inclination_deg: Option<f64>,
    cup_anteversion_deg: Option<f64>,
    cup_definition: Option<String>,
    stem_anteversion_deg: Option<f64>,
    pelvic_tilt_deg: Option<f64>,
    sitting_extra_tilt_deg: Option<f64>,
    user_cup: Option<PathBuf>,
    user_stem: Option<PathBuf>,
) -> PyResult<String> {
    let (args, given) = (|| -> Result<(RomArgs, Given), Failure> {
        let mut a = RomArgs::defaults().map_err(|e| Failure::Argument(e.to_string()))?;
        a.side = side.as_deref().map(|s| choice::<SideArg>("side", s)).transpose()?;
        a.mesh_units = mesh_units.as_deref().map(|u| coxa_case::bone_input::parse_units(u).map_err(|e| Failure::Argument(format!("mesh_units={u:?}: {e}")))).transpose()?;
        let set = |to: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *to = v;
            }
        };
        set(&mut a.head_mm, head_mm);
        set(&mut a.head_offset_mm, head_offset_mm);
        set(&mut a.cup_inclination_deg, cup_inclination_deg);
        set(&mut a.cup_anteversion_deg, cup_anteversion_deg);
        set(&mut a.stem_anteversion_deg, stem_anteversion_deg);
        set(&mut a.pelvic_tilt_deg, pelvic_tilt_deg);
        set(&mut a.sitting_extra_tilt_deg, sitting_extra_tilt_deg);
        a.neck_mm = neck_mm;
        a.shell_mm = shell_mm;
        if let Some(l) = liner {
            a.liner = l;
        }
        if let Some(s) = stem_size {
            a.stem_size = s;
        }
        if let Some(d) = cup_definition.as_deref() {
            a.cup_definition = choice::<CupDefinitionArg>("cup_definition", d)?;
        }
        (a.catalog, a.user_cup, a.user_stem) = (catalog, user_cup, user_stem);
        // The arrays copied out of Python while the GIL is held.
        let mut given = Vec::with_capacity(meshes.len());
        for (name, file, arrays) in meshes {
            let mesh = match arrays {
                None => None,
                Some((vertices, triangles)) => {
                    let (v, t) = (vertices.as_array(), triangles.as_array());
                    if v.ncols() != 3 || t.ncols() != 3 {
                        return Err(Failure::Argument(format!(
                            "meshes: {name}: a mesh is vertices [n, 3] and triangles [m, 3], not [{}, {}] and [{}, {}]",
                            v.nrows(),
                            v.ncols(),
                            t.nrows(),
                            t.ncols()
                        )));
                    }
                    let points = v.rows().into_iter().map(|r| nalgebra::Point3::new(r[0], r[1], r[2])).collect();
                    let tris = t.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect();
                    Some(Mesh::new(points, tris).map_err(|e| Failure::Argument(format!("meshes: {name}: {e}")))?)
                }
            };
            given.push((name, file, mesh));
        }
        Ok((a, given))
    })()
    .map_err(to_py)?;
    guarded(py, || {
        let mut list = Vec::with_capacity(given.len());
        for (name, file, mesh) in given {
            let mesh = match (mesh, file) {
                (Some(m), None) => m,
                // A file is read as the program reads `--mesh NAME=FILE`.
                (None, Some(f)) => coxa_io::mesh::read_mesh(&f).map_err(|e| anyhow::Error::from(e).context(format!("meshes: {name}={}", f.display())))?,
                _ => return Err(Failure::Argument(format!("meshes: {name}: give the surface once, as a Mesh or as a file"))),
            };
            list.push((name, mesh));
        }
        let mut notes = Vec::new();
        let checked = coxa_case::bone_input::check_meshes(list, &coxa_case::bone_input::HIP_BONES, args.mesh_units, &mut notes).map_err(anyhow::Error::from)?;
        for n in &notes {
            eprintln!("warning: {n}");
        }
        let record = coxa_scenarios::cli::rom::run_on(&args, checked)?;
        Ok(serde_json::to_string(&record).map_err(anyhow::Error::from)?)
    })
}

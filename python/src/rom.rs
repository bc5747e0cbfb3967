//! `coxa.rom` on the library (issue 58): the range of motion and impingement of an implanted hip
//! as `coxa rom` computes it (`coxa_scenarios::cli::rom::run_on`), from typed keyword arguments
//! (never a command line), with bone surfaces handed over in memory or read from files as the
//! program reads `--mesh` (checked together as the program checks them). Nothing is written.

use std::path::PathBuf;

use pyo3::prelude::*;

use coxa_scenarios::cli::rom::{CupDefinitionArg, RomArgs};
use coxa_scenarios::cli::side::SideArg;

use crate::meshes::{MeshGiven, MeshIn};
use crate::plan::choice;
use crate::{Failure, guarded, to_py};

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
    let (args, given) = (|| -> Result<(RomArgs, Vec<MeshGiven>), Failure> {
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
        Ok((a, crate::meshes::copied(meshes)?))
    })()
    .map_err(to_py)?;
    guarded(py, || {
        let list = crate::meshes::read(given)?;
        let mut notes = Vec::new();
        let checked = coxa_case::bone_input::check_meshes(list, &coxa_case::bone_input::HIP_BONES, args.mesh_units, &mut notes).map_err(anyhow::Error::from)?;
        for n in &notes {
            eprintln!("warning: {n}");
        }
        let record = coxa_scenarios::cli::rom::run_on(&args, checked)?;
        Ok(serde_json::to_string(&record).map_err(anyhow::Error::from)?)
    })
}

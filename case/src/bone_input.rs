//! Bone surfaces from files, checked before any stage uses them (issue 16): each file read,
//! stray vertices dropped (and noted), units detected from the bone sizes or taken from
//! `--mesh-units` / `mesh_units` ([`coxa_anatomy::bone_check`]).

use std::path::PathBuf;

use crate::bail;
use crate::error::{Context, Result};
use coxa_anatomy::bone_check;
pub use coxa_anatomy::bone_check::LengthUnit;
use coxa_core::{Bone, Mesh};

/// The bones of a hip, the names `coxa plan` and `coxa rom` take with `--mesh`.
pub const HIP_BONES: [&str; 4] = [Bone::HipLeft.name(), Bone::HipRight.name(), Bone::FemurLeft.name(), Bone::FemurRight.name()];

/// The names of every [`Bone`], the names `coxa anatomy` takes with `--mesh`.
pub fn bone_names() -> Vec<&'static str> {
    Bone::ALL.iter().map(|b| b.name()).collect()
}

/// Parses the `--mesh NAME=FILE` arguments of every command: `NAME` one of `names`, each once.
///
/// # Errors
/// One line naming the argument and the fix: no `=`, an unknown name (the known ones listed), a
/// name given twice.
pub fn parse_mesh_args(args: &[String], names: &[&str]) -> Result<Vec<(String, PathBuf)>> {
    let mut list: Vec<(String, PathBuf)> = Vec::with_capacity(args.len());
    for m in args {
        let Some((name, file)) = m.split_once('=') else {
            bail!("--mesh {m:?}: write NAME=FILE, e.g. --mesh {}=bone.stl", names.first().copied().unwrap_or("hip_right"));
        };
        check_name("--mesh ", name, names, list.iter().map(|(n, _)| n.as_str()))?;
        list.push((name.to_string(), PathBuf::from(file)));
    }
    Ok(list)
}

/// `name` one of `names` and not among `earlier` (`given` names the argument in the error:
/// `--mesh ` on the command line).
fn check_name<'a>(given: &str, name: &str, names: &[&str], mut earlier: impl Iterator<Item = &'a str>) -> Result<()> {
    if !names.contains(&name) {
        let (last, rest) = names.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
        bail!("{given}{name}=...: unknown structure {name:?}; use {} or {last}", rest.join(", "));
    }
    if earlier.any(|n| n == name) {
        bail!("{given}{name} given twice");
    }
    Ok(())
}

/// Bone surfaces handed over in memory (the Python package's meshes), named and checked as
/// [`parse_mesh_args`] and [`read_bones`] check files: each name one of `names` and given once,
/// then the bones together ([`bone_check::check_bones`]); notes go to `warnings`.
///
/// # Errors
/// An unknown or repeated name, or bones that fail [`bone_check::check_bones`].
pub fn check_meshes(list: Vec<(String, Mesh)>, names: &[&str], units: Option<LengthUnit>, warnings: &mut Vec<String>) -> Result<Vec<(String, Mesh)>> {
    for (k, (name, _)) in list.iter().enumerate() {
        check_name("meshes: ", name, names, list[..k].iter().map(|(n, _)| n.as_str()))?;
    }
    let (meshes, notes) = bone_check::check_bones(list, units)?;
    warnings.extend(notes);
    Ok(meshes)
}

/// Parses `--mesh-units` (for clap).
///
/// # Errors
/// A unit coxa does not know.
pub fn parse_units(text: &str) -> Result<LengthUnit, String> {
    LengthUnit::parse(text).ok_or_else(|| format!("{text:?}: use mm, cm, m or in"))
}

/// Reads the named bone surfaces and checks them together; notes go to `warnings`.
///
/// # Errors
/// A file that cannot be read, or bones that fail [`bone_check::check_bones`].
pub fn read_bones(list: &[(String, PathBuf)], units: Option<LengthUnit>, warnings: &mut Vec<String>) -> Result<Vec<(String, Mesh)>> {
    let mut meshes = Vec::with_capacity(list.len());
    for (name, path) in list {
        let m = coxa_io::mesh::read_mesh(path).with_context(|| format!("--mesh {name}={}", path.display()))?;
        meshes.push((name.clone(), m));
    }
    let (meshes, notes) = bone_check::check_bones(meshes, units)?;
    warnings.extend(notes);
    Ok(meshes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mesh_parser_names_the_argument_and_the_fix() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let list = parse_mesh_args(&args(&["hip_right=a.stl", "femur_right=dir/b=c.stl"]), &HIP_BONES).unwrap();
        assert_eq!(list, vec![("hip_right".to_string(), PathBuf::from("a.stl")), ("femur_right".to_string(), PathBuf::from("dir/b=c.stl"))]);
        let e = parse_mesh_args(&args(&["hip_right"]), &HIP_BONES).unwrap_err().to_string();
        assert!(e.contains("NAME=FILE") && e.contains("hip_right"), "{e}");
        let e = parse_mesh_args(&args(&["pelvis=x.stl"]), &HIP_BONES).unwrap_err().to_string();
        assert!(e.contains("\"pelvis\"") && e.contains("hip_left, hip_right, femur_left or femur_right"), "{e}");
        let e = parse_mesh_args(&args(&["sacrum=x.stl"]), &HIP_BONES).unwrap_err().to_string();
        assert!(e.contains("sacrum"), "{e}");
        assert!(parse_mesh_args(&args(&["sacrum=x.stl"]), &bone_names()).is_ok());
        let e = parse_mesh_args(&args(&["hip_left=a.stl", "hip_left=b.stl"]), &HIP_BONES).unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
    }
}

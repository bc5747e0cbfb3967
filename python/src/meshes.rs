//! Bone surfaces as the package hands them to the library: each by name, a file or a
//! [`Mesh`]'s arrays, copied out of Python while the GIL is held, then read (a file as the
//! program reads `--mesh NAME=FILE`) without it. Shared by `coxa.rom` and `coxa.anatomy`.

use std::path::PathBuf;

use numpy::PyReadonlyArray2;

use coxa_core::Mesh;

use crate::Failure;

/// A bone surface as the package hands it over: its name (`hip_right`, ...) and either a file or
/// its vertices (float64 `[n, 3]`, mm) and triangles (uint32 `[m, 3]`).
pub type MeshIn<'py> = (String, Option<PathBuf>, Option<(PyReadonlyArray2<'py, f64>, PyReadonlyArray2<'py, u32>)>);

/// [`MeshIn`] copied out of Python: the name, and the file or the mesh.
pub type MeshGiven = (String, Option<PathBuf>, Option<Mesh>);

/// A mesh from its arrays (`what` names it in the error).
pub fn mesh_of(what: &str, vertices: &PyReadonlyArray2<'_, f64>, triangles: &PyReadonlyArray2<'_, u32>) -> Result<Mesh, Failure> {
    let (v, t) = (vertices.as_array(), triangles.as_array());
    if v.ncols() != 3 || t.ncols() != 3 {
        return Err(Failure::Argument(format!("{what}: a mesh is vertices [n, 3] and triangles [m, 3], not [{}, {}] and [{}, {}]", v.nrows(), v.ncols(), t.nrows(), t.ncols())));
    }
    let points = v.rows().into_iter().map(|r| nalgebra::Point3::new(r[0], r[1], r[2])).collect();
    let tris = t.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect();
    Mesh::new(points, tris).map_err(|e| Failure::Argument(format!("{what}: {e}")))
}

/// The surfaces copied out of Python (call with the GIL held).
pub fn copied(meshes: Vec<MeshIn<'_>>) -> Result<Vec<MeshGiven>, Failure> {
    meshes
        .into_iter()
        .map(|(name, file, arrays)| {
            let mesh = arrays.map(|(v, t)| mesh_of(&format!("meshes: {name}"), &v, &t)).transpose()?;
            Ok((name, file, mesh))
        })
        .collect()
}

/// Every surface as a mesh: a file read as the program reads `--mesh NAME=FILE` (no GIL needed).
pub fn read(given: Vec<MeshGiven>) -> Result<Vec<(String, Mesh)>, Failure> {
    given
        .into_iter()
        .map(|(name, file, mesh)| match (mesh, file) {
            (Some(m), None) => Ok((name, m)),
            (None, Some(f)) => {
                let m = coxa_io::mesh::read_mesh(&f).map_err(|e| anyhow::Error::from(e).context(format!("meshes: {name}={}", f.display())))?;
                Ok((name, m))
            }
            _ => Err(Failure::Argument(format!("meshes: {name}: give the surface once, as a Mesh or as a file"))),
        })
        .collect()
}

//! Triangle mesh files: STL, PLY, OBJ and VTP read and written, glTF binary written, legacy VTK
//! and STEP read, in LPS millimetres.
//!
//! - **STL** ([`read_stl`], [`write_stl`]): reading takes binary STL (told apart by its length,
//!   which must be `84 + 50 n` for the `n` triangles its header announces) and ASCII STL
//!   (`solid` … `endsolid`). STL is a triangle soup: vertices with identical coordinates (exact
//!   match, `-0` = `+0`) are welded, so a closed STL gives a watertight indexed [`Mesh`]. Writing is
//!   binary (single precision, as the format is), with facet normals from the vertices.
//! - **PLY** ([`read_ply`], [`write_ply`]): reading takes ASCII and binary (little or big endian)
//!   PLY, any scalar type for `x`, `y`, `z`, faces from a `vertex_indices` (or `vertex_index`)
//!   list (polygons are fanned into triangles), other elements and properties skipped. Writing is
//!   binary little endian with double-precision vertices, so a [`Mesh`] round-trips exactly.
//! - **Wavefront OBJ** ([`read_obj`], [`write_obj`]): `v` and `f` lines, exact decimal vertices,
//!   vertex order kept ([`obj`]'s docs).
//! - **glTF 2.0 binary** ([`write_glb`], write only): a scene of named parts, each in its own node
//!   with its material (bones, implants), LPS mm under a root node that turns them into glTF's
//!   metres, Y up ([`glb`]'s docs).
//! - **legacy VTK** ([`read_vtk`]): ASCII and BINARY `DATASET POLYDATA` (points, polygons, triangle
//!   strips), read only. The vertices keep their file order exactly (never welded), as shape
//!   models with vertex correspondence need.
//! - **VTK XML PolyData** ([`read_vtp`], [`write_vtp`]): ASCII and uncompressed base64 (inline or
//!   appended) arrays read, vertex order kept; written binary appended, exact doubles
//!   ([`vtp`]'s docs).
//! - **STEP** (ISO 10303-21, `.step`/`.stp`, read only): a CAD part's B-rep solids tessellated
//!   to a watertight mesh in millimetres; open surfaces are refused ([`step`]'s docs).
//! - [`read_mesh`] picks the format from the extension (`.stl`, `.ply`, `.obj`, `.vtk`, `.vtp`,
//!   `.step`, `.stp`, any case), [`write_mesh`] likewise (`.stl`, `.ply`, `.obj`, `.vtp`, and
//!   `.glb` as a scene of the one mesh). [`MeshFormat`] names the formats a case's meshes are
//!   written in (`--mesh-format`).
//!
//! Coordinates are taken and written as they are: coxa's meshes are LPS mm; a file from another
//! tool is in whatever frame that tool used (3D Slicer writes RAS unless told to write LPS).
//!
//! Writers never replace an existing file ([`crate::Error::WouldOverwrite`]) and remove their
//! partial file if writing fails ([`crate::Error::Write`]).

pub(crate) mod error;
#[cfg(test)]
mod export_tests;
pub mod glb;
pub mod obj;
mod ply;
#[cfg(feature = "step")]
mod step;
mod stl;
#[cfg(test)]
mod tests;
mod vtk;
pub mod vtp;

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use coxa_core::Mesh;

pub use error::MeshFileError;
pub use glb::{GlbMaterial, GlbPart, write_glb};
pub use obj::{read_obj, write_obj};
pub use ply::{read_ply, write_ply};
pub use stl::{read_stl, write_stl};
pub use vtk::read_vtk;
pub use vtp::{read_vtp, write_vtp};

use crate::{Error, Limits, Result};

/// A format coxa writes meshes in: a case's `--mesh-format` values, each its file extension.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeshFormat {
    /// Binary STL, single precision (`.stl`): what coxa's case folders always hold.
    Stl,
    /// Binary PLY, double precision (`.ply`).
    Ply,
    /// Wavefront OBJ, exact decimals (`.obj`).
    Obj,
    /// glTF 2.0 binary (`.glb`): one scene of many meshes.
    Glb,
    /// VTK XML PolyData, binary appended (`.vtp`).
    Vtp,
}

impl MeshFormat {
    /// Every format, in the order of this list.
    pub const ALL: [Self; 5] = [Self::Stl, Self::Ply, Self::Obj, Self::Glb, Self::Vtp];

    /// The file extension (and the `--mesh-format` name): `stl`, `ply`, `obj`, `glb`, `vtp`.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Stl => "stl",
            Self::Ply => "ply",
            Self::Obj => "obj",
            Self::Glb => "glb",
            Self::Vtp => "vtp",
        }
    }
}

impl std::fmt::Display for MeshFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

impl std::str::FromStr for MeshFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|f| s.eq_ignore_ascii_case(f.extension())).ok_or_else(|| format!("unknown mesh format {s:?}; coxa writes stl, ply, obj, glb and vtp"))
    }
}

/// The formats, from a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Stl,
    Ply,
    Obj,
    Glb,
    Vtk,
    Vtp,
    Step,
}

fn format_of(path: &Path) -> Result<Format> {
    match path.extension().map(|e| e.to_string_lossy().to_lowercase()).as_deref() {
        Some("stl") => Ok(Format::Stl),
        Some("ply") => Ok(Format::Ply),
        Some("obj") => Ok(Format::Obj),
        Some("glb") => Ok(Format::Glb),
        Some("vtk") => Ok(Format::Vtk),
        Some("vtp") => Ok(Format::Vtp),
        Some("step" | "stp") => Ok(Format::Step),
        _ => Err(MeshFileError::BadExtension { path: path.to_path_buf() }.into()),
    }
}

/// Reads an `.stl`, `.ply`, `.obj`, legacy `.vtk`, `.vtp` or STEP (`.step`, `.stp`) file (by
/// extension, any case), within [`Limits::new`].
pub fn read_mesh(path: &Path) -> Result<Mesh> {
    read_mesh_with(path, &Limits::new())
}

/// [`read_mesh`] with a memory limit: a file whose reading would need more than `limits`
/// (about [`MEMORY_PER_FILE_BYTE`] times its length) is [`crate::Error::TooMuchMemory`] before it
/// is read. Counts a header announces are checked against the file's length before anything is
/// allocated for them.
pub fn read_mesh_with(path: &Path, limits: &Limits) -> Result<Mesh> {
    match format_of(path)? {
        Format::Stl => stl::read_stl_with(path, limits),
        Format::Ply => ply::read_ply_with(path, limits),
        Format::Obj => obj::read_obj_with(path, limits),
        Format::Glb => Err(MeshFileError::Unsupported { path: path.to_path_buf(), why: "coxa writes glTF (.glb) but does not read it; export the mesh as .stl, .ply, .obj or .vtp".into() }.into()),
        Format::Vtk => vtk::read_vtk_with(path, limits),
        Format::Vtp => vtp::read_vtp_with(path, limits),
        #[cfg(feature = "step")]
        Format::Step => step::read_step_with(path, limits),
        #[cfg(not(feature = "step"))]
        Format::Step => {
            let _ = limits;
            Err(MeshFileError::Unsupported {
                path: path.to_path_buf(),
                why: "this build of coxa reads no STEP files (built without the `step` feature: the `coxa` program has it; for Python, install with `MATURIN_PEP517_ARGS=\"--features step\" pip install .`); export the part as .stl".into(),
            }
            .into())
        }
    }
}

/// Bytes of memory a mesh read takes per byte of file, at most: the file itself, and for binary
/// STL (the densest case, 50 bytes a triangle) a 12-byte triangle, half a 24-byte vertex and its
/// weld-table entry per triangle.
pub const MEMORY_PER_FILE_BYTE: u64 = 3;

/// Writes an `.stl` (binary), `.ply` (binary little endian), `.obj`, `.vtp` (binary appended) or
/// `.glb` (one node named after the file, [`GlbMaterial::bone`]) file, by extension; never over
/// an existing file.
pub fn write_mesh(mesh: &Mesh, path: &Path) -> Result<()> {
    match format_of(path)? {
        Format::Stl => write_stl(mesh, path),
        Format::Ply => write_ply(mesh, path),
        Format::Obj => write_obj(mesh, path),
        Format::Vtp => write_vtp(mesh, path),
        Format::Glb => {
            let name = path.file_stem().map_or_else(|| "mesh".into(), |s| s.to_string_lossy().into_owned());
            write_glb(&[GlbPart { group: "meshes", name: &name, mesh, material: GlbMaterial::bone() }], path)
        }
        Format::Vtk | Format::Step => Err(MeshFileError::Unsupported {
            path: path.to_path_buf(),
            why: "coxa reads legacy VTK (.vtk) and STEP (.step, .stp) but does not write them; write .ply (exact doubles, vertex order kept), .vtp, .obj or .stl".into(),
        }
        .into()),
    }
}

/// The whole file, once its length times [`MEMORY_PER_FILE_BYTE`] fits `limits`.
fn read_all(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let io_err = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound { path: path.to_path_buf() },
        _ => Error::Unreadable { path: path.to_path_buf(), source: e },
    };
    let len = std::fs::metadata(path).map_err(io_err)?.len();
    limits.check(path, || format!("a mesh file of {}", crate::human::human_bytes(len)), len.saturating_mul(MEMORY_PER_FILE_BYTE))?;
    std::fs::read(path).map_err(io_err)
}

/// A mesh from parsed parts, or [`MeshFileError::InvalidMesh`].
fn checked_mesh(path: &Path, vertices: Vec<nalgebra::Point3<f64>>, triangles: Vec<[u32; 3]>) -> Result<Mesh> {
    Mesh::new(vertices, triangles).map_err(|source| MeshFileError::InvalidMesh { path: path.to_path_buf(), source }.into())
}

/// Creates `path` (refusing an existing one), runs `body`, and removes the file again if
/// anything fails.
pub(crate) fn write_new(path: &Path, body: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> Result<()> {
    let file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::WouldOverwrite { path: path.to_path_buf() });
        }
        Err(e) => {
            return Err(Error::Write { path: path.to_path_buf(), source: e });
        }
    };
    let write = || -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        body(&mut out)?;
        out.flush()?;
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_data()
    };
    let result = write();
    if let Err(e) = result {
        // Best effort: the partial file is ours (create_new), so removing it loses nothing.
        let _ = std::fs::remove_file(path);
        return Err(Error::Write { path: path.to_path_buf(), source: e });
    }
    Ok(())
}

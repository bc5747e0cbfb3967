//! Wavefront OBJ: geometry (`v`, `f`) in and out.
//!
//! OBJ has no units and no coordinate system; coxa writes LPS millimetres and says so in a
//! comment. Writing: one `o` object named after the file, every vertex as `v x y z` in Rust's
//! shortest round-trip decimal form (so the doubles read back exactly), every triangle as
//! `f a b c` (1-based); no normals, texture coordinates or material library (a viewer shades
//! from the faces). Reading: `v` (a fourth, weight, value is ignored) and `f` with any of the
//! `a`, `a/t`, `a//n`, `a/t/n` forms and negative (relative) indices; polygons are fanned
//! `[p0, pk, pk+1]`. Every other statement (`vn`, `vt`, `o`, `g`, `s`, `usemtl`, `mtllib`, `l`,
//! `p`) is skipped: what coxa reads is the surface. The vertices keep their file order (never
//! welded), so a written mesh reads back as the same [`Mesh`].

use std::io::Write;
use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;

use super::{MeshFileError, checked_mesh, read_all, write_new};
use crate::{Limits, Result};

const FORMAT: &str = "Wavefront OBJ";

/// Reads a Wavefront OBJ file's vertices and faces (see the [module](self) docs).
///
/// # Errors
/// [`crate::Error::NotFound`], [`crate::Error::Unreadable`]; [`MeshFileError::Corrupt`] for a
/// bad number or index, with its line; [`MeshFileError::InvalidMesh`] for an index beyond the
/// vertices.
pub fn read_obj(path: &Path) -> Result<Mesh> {
    read_obj_with(path, &Limits::new())
}

/// [`read_obj`] within `limits` (see [`super::read_mesh_with`]).
pub(crate) fn read_obj_with(path: &Path, limits: &Limits) -> Result<Mesh> {
    let bytes = read_all(path, limits)?;
    let corrupt = |line: usize, why: String| -> crate::Error { MeshFileError::Corrupt { path: path.to_path_buf(), format: FORMAT, why: format!("line {line}: {why}") }.into() };
    let text = String::from_utf8_lossy(&bytes);
    let mut vertices = Vec::new();
    let mut triangles = Vec::new();
    for (l, line) in text.lines().enumerate() {
        let line_no = l + 1;
        let mut tok = line.split_ascii_whitespace();
        match tok.next() {
            Some("v") => {
                let mut xyz = [0.0f64; 3];
                for c in &mut xyz {
                    let s = tok.next().ok_or_else(|| corrupt(line_no, "a vertex needs three coordinates".into()))?;
                    *c = s.parse::<f64>().map_err(|_| corrupt(line_no, format!("{s:?} is not a number")))?;
                }
                vertices.push(Point3::from(xyz));
            }
            Some("f") => {
                let n = vertices.len();
                let poly = tok
                    .map(|t| {
                        let first = t.split('/').next().unwrap_or_default();
                        let i = first.parse::<i64>().map_err(|_| corrupt(line_no, format!("{t:?} is not a vertex index")))?;
                        // 1-based; negative counts back from the last vertex read so far.
                        let i = if i < 0 { n as i64 + i } else { i - 1 };
                        u32::try_from(i).map_err(|_| corrupt(line_no, format!("index {first} names no vertex (there are {n} so far)")))
                    })
                    .collect::<Result<Vec<u32>>>()?;
                if poly.len() < 3 {
                    return Err(corrupt(line_no, format!("a face with {} vertices", poly.len())));
                }
                triangles.extend((1..poly.len() - 1).map(|k| [poly[0], poly[k], poly[k + 1]]));
            }
            _ => {}
        }
    }
    checked_mesh(path, vertices, triangles)
}

/// Writes `mesh` as a Wavefront OBJ file: exact decimal vertices, 1-based triangles, one object
/// named after the file (see the [module](self) docs). Never over an existing file; no file is
/// left behind on failure.
///
/// # Errors
/// [`crate::Error::WouldOverwrite`], [`crate::Error::Write`].
pub fn write_obj(mesh: &Mesh, path: &Path) -> Result<()> {
    let name = path.file_stem().map_or_else(|| "mesh".into(), |s| s.to_string_lossy().replace(char::is_whitespace, "_"));
    write_new(path, |out| {
        writeln!(out, "# coxa {} Wavefront OBJ: LPS millimetres (x left, y posterior, z superior)", env!("CARGO_PKG_VERSION"))?;
        writeln!(out, "# {} vertices, {} triangles", mesh.vertices().len(), mesh.triangles().len())?;
        writeln!(out, "o {name}")?;
        for p in mesh.vertices() {
            writeln!(out, "v {} {} {}", p.x, p.y, p.z)?;
        }
        for [a, b, c] in mesh.triangles() {
            writeln!(out, "f {} {} {}", a + 1, b + 1, c + 1)?;
        }
        Ok(())
    })
}

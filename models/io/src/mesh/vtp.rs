//! VTK XML PolyData (`.vtp`) with ASCII data arrays, as OpenSim's geometry files are written: read
//! only.
//!
//! The XML is parsed with `roxmltree`. Read: the first `Piece`'s `Points` (a 3-component
//! `DataArray` of any numeric type; `Float32` values are rounded to single precision as VTK reads
//! them) and its `Polys` and `Strips` (`connectivity` + `offsets` arrays; polygons fanned
//! `[p0, pk, pk+1]`, strips with VTK's alternating orientation, degenerate strip triangles
//! dropped). `Verts`, `Lines`, `PointData` and `CellData` are ignored. Vertex order is kept.
//! Arrays in `binary` or `appended` format (base64 or raw, possibly zlib-compressed) are refused
//! with [`MeshFileError::Unsupported`]: none of the data coxa uses has them; re-save the file with
//! ASCII arrays (ParaView: "Data Mode: Ascii") or as legacy `.vtk`.
//! Coordinates are returned as stored: OpenSim's `.vtp` files are in metres, not mm.

use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;
use roxmltree::{Document, Node};

use super::{MeshFileError, checked_mesh, read_all};
use crate::Result;

const FORMAT: &str = "VTK XML PolyData";

/// Reads a `.vtp` file with ASCII data arrays (see the [module](self) docs).
///
/// # Errors
/// [`crate::Error::NotFound`], [`crate::Error::Unreadable`]; [`MeshFileError::Corrupt`] for bad
/// XML, a missing array or a bad value; [`MeshFileError::Unsupported`] for binary/appended arrays
/// or another dataset type; [`MeshFileError::InvalidMesh`] for an index beyond the points.
pub fn read_vtp(path: &Path) -> Result<Mesh> {
    read_vtp_with(path, &crate::Limits::new())
}

/// [`read_vtp`] within a memory limit (see [`super::read_mesh_with`]).
pub(crate) fn read_vtp_with(path: &Path, limits: &crate::Limits) -> Result<Mesh> {
    let bytes = read_all(path, limits)?;
    let corrupt = |why: String| -> crate::Error { MeshFileError::Corrupt { path: path.to_path_buf(), format: FORMAT, why }.into() };
    let unsupported = |why: String| -> crate::Error { MeshFileError::Unsupported { path: path.to_path_buf(), why }.into() };
    let text = std::str::from_utf8(&bytes).map_err(|e| corrupt(format!("not UTF-8 text ({e}); appended raw data is not read")))?;
    let doc = Document::parse(text).map_err(|e| corrupt(format!("bad XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "VTKFile" {
        return Err(corrupt(format!("the root element is <{}>, not <VTKFile>", root.tag_name().name())));
    }
    if root.attribute("type") != Some("PolyData") {
        return Err(unsupported(format!("a VTK XML file of type {:?}; coxa reads PolyData (.vtp) surfaces only", root.attribute("type").unwrap_or("(none)"))));
    }
    let piece = child(root, "PolyData").and_then(|p| child(p, "Piece")).ok_or_else(|| corrupt("no <PolyData><Piece> element".into()))?;
    let points_el = child(piece, "Points").ok_or_else(|| corrupt("the Piece has no <Points>".into()))?;
    let points_array = child(points_el, "DataArray").ok_or_else(|| corrupt("<Points> has no <DataArray>".into()))?;
    let coords = array(points_array, "Points").map_err(|e| e.into_error(corrupt, unsupported))?;
    if coords.len() % 3 != 0 {
        return Err(corrupt(format!("{} point coordinates, not a multiple of 3", coords.len())));
    }
    if let Some(n) = piece.attribute("NumberOfPoints").and_then(|n| n.parse::<usize>().ok())
        && n.checked_mul(3) != Some(coords.len())
    {
        return Err(corrupt(format!("NumberOfPoints is {n} but <Points> holds {} values", coords.len())));
    }
    let vertices: Vec<Point3<f64>> = coords.chunks_exact(3).map(|c| Point3::new(c[0], c[1], c[2])).collect();
    let mut triangles = Vec::new();
    for (section, strips) in [("Polys", false), ("Strips", true)] {
        let Some(el) = child(piece, section) else { continue };
        let named = |name: &str| el.children().find(|c| c.has_tag_name("DataArray") && c.attribute("Name") == Some(name));
        let (Some(conn), Some(offs)) = (named("connectivity"), named("offsets")) else {
            return Err(corrupt(format!("<{section}> lacks the connectivity or offsets array")));
        };
        let conn = array(conn, section).map_err(|e| e.into_error(corrupt, unsupported))?;
        let offs = array(offs, section).map_err(|e| e.into_error(corrupt, unsupported))?;
        let as_index = |v: f64| -> Result<usize> {
            if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
                #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "range and integrality checked")]
                Ok(v as usize)
            } else {
                Err(corrupt(format!("<{section}> holds {v}, not an index")))
            }
        };
        let mut start = 0usize;
        for &o in &offs {
            let end = as_index(o)?;
            let cell = conn.get(start..end).ok_or_else(|| corrupt(format!("<{section}> offsets are not increasing within the connectivity")))?;
            let cell: Vec<u32> = cell.iter().map(|&v| as_index(v).map(|i| i as u32)).collect::<Result<_>>()?;
            if strips {
                for q in 0..cell.len().saturating_sub(2) {
                    let t = if q % 2 == 0 { [cell[q], cell[q + 1], cell[q + 2]] } else { [cell[q + 1], cell[q], cell[q + 2]] };
                    if t[0] != t[1] && t[1] != t[2] && t[0] != t[2] {
                        triangles.push(t);
                    }
                }
            } else {
                if cell.len() < 3 {
                    return Err(corrupt(format!("a polygon with {} points", cell.len())));
                }
                triangles.extend((1..cell.len() - 1).map(|q| [cell[0], cell[q], cell[q + 1]]));
            }
            start = end;
        }
        if start != conn.len() {
            return Err(corrupt(format!("<{section}> offsets end at {start}, the connectivity has {} values", conn.len())));
        }
    }
    checked_mesh(path, vertices, triangles)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

/// Why an array could not be read.
enum ArrayError {
    Corrupt(String),
    Unsupported(String),
}

impl ArrayError {
    fn into_error(self, corrupt: impl Fn(String) -> crate::Error, unsupported: impl Fn(String) -> crate::Error) -> crate::Error {
        match self {
            Self::Corrupt(w) => corrupt(w),
            Self::Unsupported(w) => unsupported(w),
        }
    }
}

/// The values of an ASCII `DataArray` (Float32 rounded to single precision).
fn array(el: Node<'_, '_>, section: &str) -> Result<Vec<f64>, ArrayError> {
    let format = el.attribute("format").unwrap_or("ascii");
    if format != "ascii" {
        return Err(ArrayError::Unsupported(format!("<{section}> has a DataArray in {format:?} format; coxa reads .vtp files with ASCII arrays only (re-save with ASCII data, or as legacy .vtk)")));
    }
    let ty = el.attribute("type").unwrap_or("Float32");
    let single = ty == "Float32";
    let integer = ty.starts_with("Int") || ty.starts_with("UInt");
    if !(single || integer || ty == "Float64") {
        return Err(ArrayError::Unsupported(format!("<{section}> has a DataArray of type {ty:?}")));
    }
    let text: String = el.children().filter_map(|c| c.text()).collect();
    text.split_ascii_whitespace()
        .map(|t| {
            let bad = || ArrayError::Corrupt(format!("<{section}>: {t:?} is not a {ty} value"));
            if single {
                t.parse::<f32>().map(f64::from).map_err(|_| bad())
            } else if integer {
                #[expect(clippy::cast_precision_loss, reason = "indices beyond 2^53 are refused as beyond u32")]
                t.parse::<i128>().map(|v| v as f64).map_err(|_| bad())
            } else {
                t.parse::<f64>().map_err(|_| bad())
            }
        })
        .collect()
}

//! VTK XML PolyData (`.vtp`): read (ASCII arrays, as OpenSim's geometry; base64 binary and
//! appended arrays, as VTK writes them uncompressed) and written (binary, appended).
//!
//! The XML is parsed with `roxmltree`. Read: the first `Piece`'s `Points` (a 3-component
//! `DataArray` of any numeric type; `Float32` values are rounded to single precision as VTK reads
//! them) and its `Polys` and `Strips` (`connectivity` + `offsets` arrays; polygons fanned
//! `[p0, pk, pk+1]`, strips with VTK's alternating orientation, degenerate strip triangles
//! dropped). `Verts`, `Lines`, `PointData` and `CellData` are ignored. Vertex order is kept.
//! Arrays may be `ascii`, `binary` (base64, inline) or `appended` with `encoding="base64"`, each
//! binary block a `header_type` byte count (`UInt32` by default, or `UInt64`) and the values in
//! the file's `byte_order`. Compressed files (a `compressor` attribute) and raw appended data are
//! refused with [`MeshFileError::Unsupported`]: re-save the file without compression, or with
//! ASCII arrays (ParaView: "Data Mode: Ascii"), or as legacy `.vtk`.
//! Coordinates are returned as stored: OpenSim's `.vtp` files are in metres, not mm.
//!
//! Written ([`write_vtp`]): `Float64` points (the doubles exactly) and `Int64` `Polys`
//! (connectivity and offsets), appended as base64 after the XML (`header_type="UInt64"`, each
//! array's byte count and values encoded together, as VTK's own writer does with
//! `EncodeAppendedDataOn` and no compressor), so the file stays valid XML text. The `base64`
//! crate is the workspace's (the report embeds its pictures with it).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use coxa_core::Mesh;
use nalgebra::Point3;
use roxmltree::{Document, Node};

use super::{MeshFileError, checked_mesh, read_all, write_new};
use crate::Result;

const FORMAT: &str = "VTK XML PolyData";

/// Reads a `.vtp` file with ASCII, base64 binary or base64 appended data arrays (see the
/// [module](self) docs).
///
/// # Errors
/// [`crate::Error::NotFound`], [`crate::Error::Unreadable`]; [`MeshFileError::Corrupt`] for bad
/// XML, a missing array or a bad value; [`MeshFileError::Unsupported`] for compressed or raw
/// appended arrays or another dataset type; [`MeshFileError::InvalidMesh`] for an index beyond the points.
pub fn read_vtp(path: &Path) -> Result<Mesh> {
    read_vtp_with(path, &crate::Limits::new())
}

/// [`read_vtp`] within a memory limit (see [`super::read_mesh_with`]).
pub(crate) fn read_vtp_with(path: &Path, limits: &crate::Limits) -> Result<Mesh> {
    let bytes = read_all(path, limits)?;
    let corrupt = |why: String| -> crate::Error { MeshFileError::Corrupt { path: path.to_path_buf(), format: FORMAT, why }.into() };
    let unsupported = |why: String| -> crate::Error { MeshFileError::Unsupported { path: path.to_path_buf(), why }.into() };
    let text = std::str::from_utf8(&bytes).map_err(|e| unsupported(format!("not UTF-8 text ({e}): raw appended data, which coxa does not read; re-save with base64 or ASCII arrays")))?;
    let doc = Document::parse(text).map_err(|e| corrupt(format!("bad XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "VTKFile" {
        return Err(corrupt(format!("the root element is <{}>, not <VTKFile>", root.tag_name().name())));
    }
    if root.attribute("type") != Some("PolyData") {
        return Err(unsupported(format!("a VTK XML file of type {:?}; coxa reads PolyData (.vtp) surfaces only", root.attribute("type").unwrap_or("(none)"))));
    }
    let blocks = Blocks {
        // VTK names its compressor even when every array is ASCII (OpenSim's geometry): it
        // matters only for binary arrays.
        compressor: root.attribute("compressor"),
        appended: match child(root, "AppendedData") {
            Some(a) if a.attribute("encoding") == Some("raw") => return Err(unsupported("raw appended data; re-save with base64 encoding or ASCII arrays".into())),
            Some(a) => Some(a.text().unwrap_or_default().trim_start().strip_prefix('_').ok_or_else(|| corrupt("<AppendedData> does not start with '_'".into()))?),
            None => None,
        },
        header_bytes: match root.attribute("header_type").unwrap_or("UInt32") {
            "UInt32" => 4,
            "UInt64" => 8,
            other => return Err(corrupt(format!("header_type {other:?} is neither UInt32 nor UInt64"))),
        },
        big_endian: root.attribute("byte_order") == Some("BigEndian"),
    };
    let piece = child(root, "PolyData").and_then(|p| child(p, "Piece")).ok_or_else(|| corrupt("no <PolyData><Piece> element".into()))?;
    let points_el = child(piece, "Points").ok_or_else(|| corrupt("the Piece has no <Points>".into()))?;
    let points_array = child(points_el, "DataArray").ok_or_else(|| corrupt("<Points> has no <DataArray>".into()))?;
    let coords = array(points_array, "Points", &blocks).map_err(|e| e.into_error(corrupt, unsupported))?;
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
        let conn = array(conn, section, &blocks).map_err(|e| e.into_error(corrupt, unsupported))?;
        let offs = array(offs, section, &blocks).map_err(|e| e.into_error(corrupt, unsupported))?;
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

/// Where a file's binary arrays are: its compressor (refused), its appended data (after the `_`),
/// the byte count's size and the values' byte order.
struct Blocks<'a> {
    compressor: Option<&'a str>,
    appended: Option<&'a str>,
    header_bytes: usize,
    big_endian: bool,
}

impl Blocks<'_> {
    /// The bytes of the base64 block starting `text` (a byte count, then as many bytes), the
    /// count and values encoded together (VTK's way) or apart.
    fn block(&self, text: &str, section: &str) -> Result<Vec<u8>, ArrayError> {
        let bad = |why: String| ArrayError::Corrupt(format!("<{section}>: {why}"));
        if let Some(c) = self.compressor {
            return Err(ArrayError::Unsupported(format!("<{section}> has compressed binary data ({c}); re-save without compression, or with ASCII arrays")));
        }
        let text: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let head_chars = self.header_bytes.div_ceil(3) * 4;
        let head = BASE64.decode(text.get(..head_chars).ok_or_else(|| bad("a binary block shorter than its byte count".into()))?).map_err(|e| bad(format!("bad base64: {e}")))?;
        let mut count = [0u8; 8];
        let h = &head[..self.header_bytes];
        if self.big_endian {
            count[8 - h.len()..].copy_from_slice(h);
            count.reverse();
        } else {
            count[..h.len()].copy_from_slice(h);
        }
        let n = usize::try_from(u64::from_le_bytes(count)).map_err(|_| bad("a block beyond memory".into()))?;
        let together = (self.header_bytes + n).div_ceil(3) * 4;
        if let Some(all) = text.get(..together).and_then(|t| BASE64.decode(t).ok()).filter(|b| b.len() == self.header_bytes + n) {
            return Ok(all[self.header_bytes..].to_vec());
        }
        let data = n.div_ceil(3) * 4;
        let apart = text.get(head_chars..head_chars + data).and_then(|t| BASE64.decode(t).ok()).filter(|b| b.len() == n);
        apart.ok_or_else(|| bad(format!("a binary block announcing {n} bytes does not hold them")))
    }
}

/// The values of a `DataArray`: ASCII (Float32 rounded to single precision), or base64 binary or
/// appended ([`Blocks`]).
fn array(el: Node<'_, '_>, section: &str, blocks: &Blocks<'_>) -> Result<Vec<f64>, ArrayError> {
    let format = el.attribute("format").unwrap_or("ascii");
    let ty = el.attribute("type").unwrap_or("Float32");
    let bytes = match format {
        "ascii" => None,
        "binary" => Some(blocks.block(&el.children().filter_map(|c| c.text()).collect::<String>(), section)?),
        "appended" => {
            let offset = el.attribute("offset").and_then(|o| o.parse::<usize>().ok()).ok_or_else(|| ArrayError::Corrupt(format!("<{section}>: an appended DataArray without a numeric offset")))?;
            let data = blocks.appended.ok_or_else(|| ArrayError::Corrupt(format!("<{section}>: an appended DataArray and no <AppendedData>")))?;
            Some(blocks.block(data.get(offset..).ok_or_else(|| ArrayError::Corrupt(format!("<{section}>: offset {offset} is beyond the appended data")))?, section)?)
        }
        other => return Err(ArrayError::Unsupported(format!("<{section}> has a DataArray in {other:?} format; coxa reads ascii, binary and appended arrays"))),
    };
    if let Some(bytes) = bytes {
        return binary_values(&bytes, ty, blocks.big_endian)
            .ok_or_else(|| ArrayError::Unsupported(format!("<{section}> has a binary DataArray of type {ty:?} or a length that is not a whole number of values")));
    }
    ascii_values(el, section, ty)
}

/// Binary values of VTK type `ty`, or `None` for another type or a partial value.
#[expect(clippy::cast_precision_loss, reason = "indices beyond 2^53 are refused as beyond u32")]
fn binary_values(bytes: &[u8], ty: &str, big_endian: bool) -> Option<Vec<f64>> {
    let size = match ty {
        "Int8" | "UInt8" => 1,
        "Int16" | "UInt16" => 2,
        "Int32" | "UInt32" | "Float32" => 4,
        "Int64" | "UInt64" | "Float64" => 8,
        _ => return None,
    };
    if !bytes.len().is_multiple_of(size) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(size)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..size].copy_from_slice(c);
                if big_endian {
                    b[..size].reverse();
                }
                let signed = |bits: u32| (i64::from_le_bytes(b) << (64 - bits)) >> (64 - bits);
                match ty {
                    "Float32" => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                    "Float64" => f64::from_le_bytes(b),
                    t if t.starts_with("UInt") => u64::from_le_bytes(b) as f64,
                    _ => signed(8 * size as u32) as f64,
                }
            })
            .collect(),
    )
}

/// The values of an ASCII `DataArray` (Float32 rounded to single precision).
fn ascii_values(el: Node<'_, '_>, section: &str, ty: &str) -> Result<Vec<f64>, ArrayError> {
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

/// Writes `mesh` as VTK XML PolyData, binary appended (see the [module](self) docs): `Float64`
/// points, `Int64` triangles. Never over an existing file; no file is left behind on failure.
///
/// # Errors
/// [`crate::Error::WouldOverwrite`], [`crate::Error::Write`].
pub fn write_vtp(mesh: &Mesh, path: &Path) -> Result<()> {
    let block = |values: Vec<u8>| {
        let mut b = (values.len() as u64).to_le_bytes().to_vec();
        b.extend(values);
        BASE64.encode(b)
    };
    let points = block(mesh.vertices().iter().flat_map(|p| [p.x, p.y, p.z]).flat_map(f64::to_le_bytes).collect());
    let connectivity = block(mesh.triangles().iter().flatten().flat_map(|&i| i64::from(i).to_le_bytes()).collect());
    let offsets = block((1..=mesh.triangles().len() as i64).flat_map(|k| (3 * k).to_le_bytes()).collect());
    let (n, m) = (mesh.vertices().len(), mesh.triangles().len());
    let (at_conn, at_offs) = (points.len(), points.len() + connectivity.len());
    let xml = format!(
        r#"<?xml version="1.0"?>
<!-- coxa {}: LPS millimetres (x left, y posterior, z superior) -->
<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">
  <PolyData>
    <Piece NumberOfPoints="{n}" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="{m}">
      <Points>
        <DataArray type="Float64" Name="Points" NumberOfComponents="3" format="appended" offset="0"/>
      </Points>
      <Polys>
        <DataArray type="Int64" Name="connectivity" format="appended" offset="{at_conn}"/>
        <DataArray type="Int64" Name="offsets" format="appended" offset="{at_offs}"/>
      </Polys>
    </Piece>
  </PolyData>
  <AppendedData encoding="base64">
   _"#,
        env!("CARGO_PKG_VERSION")
    );
    write_new(path, |out| {
        out.write_all(xml.as_bytes())?;
        for b in [&points, &connectivity, &offsets] {
            out.write_all(b.as_bytes())?;
        }
        out.write_all(b"\n  </AppendedData>\n</VTKFile>\n")
    })
}

//! Legacy VTK PolyData (`.vtk`): ASCII and BINARY in; no writer.
//!
//! Hand-written: the Rust crates for VTK (`vtkio`) pull a large dependency tree (nom, XML,
//! compression) for a format whose polydata subset is one page of code, and coxa needs a
//! guarantee they do not spell out: the vertices come back exactly in file order, never welded or
//! reordered, because statistical shape models rely on vertex `i` being the same anatomical point
//! in every file.
//!
//! What is read:
//! - the header (`# vtk DataFile Version x.y`, a title line, `ASCII` or `BINARY`) and
//!   `DATASET POLYDATA` (other datasets are refused with [`MeshFileError::Unsupported`]);
//! - `POINTS n type` for any numeric type. A `float` file yields the single-precision values, as
//!   VTK, ParaView and meshio read it (ASCII text is rounded to the nearest `f32`), a `double`
//!   file the doubles;
//! - `POLYGONS` (fanned into triangles, `[p0, pk, pk+1]`) and `TRIANGLE_STRIPS` (alternating
//!   orientation as VTK does; the degenerate stitching triangles of a strip are dropped), in both
//!   cell layouts: the classic one (`n size` then `count i0 i1 ...` per cell, before file version 5)
//!   and version 5's `OFFSETS` / `CONNECTIVITY` arrays;
//! - `VERTICES`, `LINES`, `FIELD` arrays and `METADATA` blocks are read past and ignored;
//!   reading stops at `POINT_DATA` / `CELL_DATA` (attributes only follow).
//!
//! BINARY data are big endian, as the legacy format defines. Every count is checked against the
//! bytes left in the file before anything is allocated.

use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;

use super::{MeshFileError, read_all};
use crate::Result;

const FORMAT: &str = "legacy VTK";

/// A VTK data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Scalar {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "char" | "signed_char" => Self::I8,
            "unsigned_char" => Self::U8,
            "short" => Self::I16,
            "unsigned_short" => Self::U16,
            "int" => Self::I32,
            "unsigned_int" => Self::U32,
            "long" | "vtktypeint64" | "vtkidtype" => Self::I64,
            "unsigned_long" | "vtktypeuint64" => Self::U64,
            "float" => Self::F32,
            "double" => Self::F64,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::I64 | Self::U64 | Self::F64 => 8,
        }
    }
}

/// Why a run of values could not be read.
enum ValueError {
    /// The file ends.
    End,
    /// A value is malformed.
    Bad(String),
}

/// A position in the file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    binary: bool,
}

impl<'a> Cursor<'a> {
    /// The next line as it is (may be empty), without its `\n` / `\r\n`; `None` at the end.
    fn raw_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += (len + 1).min(rest.len());
        let line = &rest[..len];
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    /// The next non-blank line, trimmed; `None` at the end.
    fn keyword_line(&mut self) -> Option<&'a [u8]> {
        while let Some(line) = self.raw_line() {
            let t = line.trim_ascii();
            if !t.is_empty() {
                return Some(t);
            }
        }
        None
    }

    /// The 1-based line number of the current position (for messages only).
    fn line_no(&self) -> usize {
        1 + self.bytes[..self.pos.min(self.bytes.len())].iter().filter(|&&b| b == b'\n').count()
    }

    /// Bytes left.
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Whether `count` values of `ty` can fit in the rest of the file (each ASCII value takes at
    /// least two bytes, a digit and a separator, but the last may end the file).
    fn fits(&self, count: usize, ty: Scalar) -> bool {
        if self.binary { count.checked_mul(ty.size()).is_some_and(|b| b <= self.left()) } else { count <= self.left() / 2 + 1 }
    }

    /// The next value of type `ty`, as f64 (exact for all but 64-bit integers beyond 2^53).
    fn value(&mut self, ty: Scalar) -> Result<f64, ValueError> {
        if self.binary {
            let n = ty.size();
            let b = self.bytes.get(self.pos..self.pos + n).ok_or(ValueError::End)?;
            self.pos += n;
            let b2 = || [b[0], b[1]];
            let b4 = || [b[0], b[1], b[2], b[3]];
            let b8 = || [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
            return Ok(match ty {
                Scalar::I8 => f64::from(i8::from_be_bytes([b[0]])),
                Scalar::U8 => f64::from(b[0]),
                Scalar::I16 => f64::from(i16::from_be_bytes(b2())),
                Scalar::U16 => f64::from(u16::from_be_bytes(b2())),
                Scalar::I32 => f64::from(i32::from_be_bytes(b4())),
                Scalar::U32 => f64::from(u32::from_be_bytes(b4())),
                Scalar::F32 => f64::from(f32::from_be_bytes(b4())),
                #[expect(clippy::cast_precision_loss, reason = "indices beyond 2^53 are refused later as beyond u32")]
                Scalar::I64 => i64::from_be_bytes(b8()) as f64,
                #[expect(clippy::cast_precision_loss, reason = "indices beyond 2^53 are refused later as beyond u32")]
                Scalar::U64 => u64::from_be_bytes(b8()) as f64,
                Scalar::F64 => f64::from_be_bytes(b8()),
            });
        }
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        let start = rest.iter().position(|b| !b.is_ascii_whitespace()).ok_or(ValueError::End)?;
        let len = rest[start..].iter().position(u8::is_ascii_whitespace).unwrap_or(rest.len() - start);
        self.pos += start + len;
        let tok = std::str::from_utf8(&rest[start..start + len]).map_err(|_| ValueError::Bad("a value is not text".into()))?;
        let bad = || ValueError::Bad(format!("{tok:?} is not a {ty:?} number"));
        match ty {
            Scalar::F32 => tok.parse::<f32>().map(f64::from).map_err(|_| bad()),
            Scalar::F64 => tok.parse::<f64>().map_err(|_| bad()),
            _ => {
                let v: i128 = tok.parse().map_err(|_| bad())?;
                #[expect(clippy::cast_precision_loss, reason = "indices beyond 2^53 are refused later as beyond u32")]
                Ok(v as f64)
            }
        }
    }
}

/// Reads a legacy VTK PolyData file (see the [module](self) docs): the points in file order, and
/// the polygons and triangle strips as triangles.
///
/// # Errors
/// [`crate::Error::NotFound`], [`crate::Error::Unreadable`]; [`MeshFileError::Corrupt`] for a bad
/// header, keyword or value; [`MeshFileError::Truncated`] when the data end before a count says;
/// [`MeshFileError::Unsupported`] for a dataset other than POLYDATA, a file without POINTS or a
/// `bit` array; [`MeshFileError::InvalidMesh`] for an index beyond the points or a non-finite point.
pub fn read_vtk(path: &Path) -> Result<Mesh> {
    read_vtk_with(path, &crate::Limits::new())
}

/// [`read_vtk`] within a memory limit (see [`super::read_mesh_with`]).
pub(crate) fn read_vtk_with(path: &Path, limits: &crate::Limits) -> Result<Mesh> {
    let bytes = read_all(path, limits)?;
    parse(&bytes).map_err(|e| e.into_error(path))
}

/// A parse failure, before the path is attached.
enum Fail {
    Corrupt(String),
    Truncated(String),
    Unsupported(String),
    Mesh(coxa_core::Error),
}

impl Fail {
    fn into_error(self, path: &Path) -> crate::Error {
        let path = path.to_path_buf();
        match self {
            Self::Corrupt(why) => MeshFileError::Corrupt { path, format: FORMAT, why },
            Self::Truncated(why) => MeshFileError::Truncated { path, format: FORMAT, why },
            Self::Unsupported(why) => MeshFileError::Unsupported { path, why },
            Self::Mesh(source) => MeshFileError::InvalidMesh { path, source },
        }
        .into()
    }
}

/// What to do with the cells of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Polygons,
    Strips,
    Ignored,
}

fn parse(bytes: &[u8]) -> Result<Mesh, Fail> {
    let mut c = Cursor { bytes, pos: 0, binary: false };
    let version_line = c.raw_line().unwrap_or_default();
    let version_text = String::from_utf8_lossy(version_line);
    let Some(version) = version_text.trim().strip_prefix("# vtk DataFile Version").map(str::trim) else {
        return Err(Fail::Corrupt("line 1 is not '# vtk DataFile Version x.y'; is this an XML .vtp/.vtu file or not VTK at all?".into()));
    };
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).ok_or_else(|| Fail::Corrupt(format!("line 1: version {version:?} is not a number")))?;
    let _title = c.raw_line().ok_or_else(|| Fail::Truncated("the file ends before the title line".into()))?;
    let encoding = c.keyword_line().ok_or_else(|| Fail::Truncated("the file ends before 'ASCII' or 'BINARY'".into()))?;
    c.binary = match encoding.to_ascii_uppercase().as_slice() {
        b"ASCII" => false,
        b"BINARY" => true,
        other => {
            return Err(Fail::Corrupt(format!("line 3 is {:?}, not ASCII or BINARY", String::from_utf8_lossy(other))));
        }
    };
    let dataset = c.keyword_line().map(|l| String::from_utf8_lossy(l).to_ascii_uppercase()).unwrap_or_default();
    match dataset.split_ascii_whitespace().collect::<Vec<_>>().as_slice() {
        ["DATASET", "POLYDATA"] => {}
        ["DATASET", other] => {
            return Err(Fail::Unsupported(format!("a {other} dataset; coxa reads surfaces from POLYDATA only (extract the surface in ParaView or VTK first)")));
        }
        _ => {
            return Err(Fail::Corrupt(format!("line {}: expected 'DATASET POLYDATA', found {dataset:?}", c.line_no() - 1)));
        }
    }
    let mut vertices: Option<Vec<Point3<f64>>> = None;
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    while let Some(line) = c.keyword_line() {
        let line = String::from_utf8_lossy(line).into_owned();
        let line_no = c.line_no() - 1;
        let tok: Vec<&str> = line.split_ascii_whitespace().collect();
        let keyword = tok[0].to_ascii_uppercase();
        let count = |k: usize, what: &str| -> Result<usize, Fail> {
            tok.get(k).and_then(|t| t.parse::<usize>().ok()).ok_or_else(|| Fail::Corrupt(format!("line {line_no} {line:?}: the {what} is not a count")))
        };
        match keyword.as_str() {
            "POINTS" => {
                if vertices.is_some() {
                    return Err(Fail::Corrupt(format!("line {line_no}: a second POINTS section")));
                }
                let n = count(1, "point count")?;
                let ty = scalar(tok.get(2).copied(), line_no)?;
                let n_values = n.checked_mul(3).filter(|&v| c.fits(v, ty)).ok_or_else(|| Fail::Truncated(format!("line {line_no}: {n} points of {ty:?} cannot fit in the {} bytes left", c.left())))?;
                let values = read_values(&mut c, ty, n_values, "POINTS", line_no)?;
                vertices = Some(values.chunks_exact(3).map(|p| Point3::new(p[0], p[1], p[2])).collect());
            }
            "POLYGONS" | "TRIANGLE_STRIPS" | "LINES" | "VERTICES" => {
                let kind = match keyword.as_str() {
                    "POLYGONS" => CellKind::Polygons,
                    "TRIANGLE_STRIPS" => CellKind::Strips,
                    _ => CellKind::Ignored,
                };
                let (n, size) = (count(1, "cell count")?, count(2, "size")?);
                let cells = if major >= 5 { read_cells_v5(&mut c, n, size, &keyword, line_no)? } else { read_cells_classic(&mut c, n, size, &keyword, line_no)? };
                for cell in cells.iter() {
                    match kind {
                        CellKind::Polygons => {
                            if cell.len() < 3 {
                                return Err(Fail::Corrupt(format!("line {line_no}: a polygon with {} points", cell.len())));
                            }
                            triangles.extend((1..cell.len() - 1).map(|q| [cell[0], cell[q], cell[q + 1]]));
                        }
                        CellKind::Strips => {
                            for q in 0..cell.len().saturating_sub(2) {
                                let t = if q % 2 == 0 { [cell[q], cell[q + 1], cell[q + 2]] } else { [cell[q + 1], cell[q], cell[q + 2]] };
                                if t[0] != t[1] && t[1] != t[2] && t[0] != t[2] {
                                    triangles.push(t);
                                }
                            }
                        }
                        CellKind::Ignored => {}
                    }
                }
            }
            "METADATA" => skip_metadata(&mut c),
            "FIELD" => skip_field(&mut c, count(2, "array count")?, line_no)?,
            "POINT_DATA" | "CELL_DATA" => break,
            _ => {
                return Err(Fail::Corrupt(format!("line {line_no}: unknown or misplaced keyword {:?} in POLYDATA", tok[0])));
            }
        }
    }
    let vertices = vertices.ok_or_else(|| Fail::Unsupported("the POLYDATA has no POINTS section; nothing to read".into()))?;
    Mesh::new(vertices, triangles).map_err(Fail::Mesh)
}

fn scalar(tok: Option<&str>, line_no: usize) -> Result<Scalar, Fail> {
    match tok {
        Some(t) if t.eq_ignore_ascii_case("bit") => Err(Fail::Unsupported(format!("line {line_no}: 'bit' arrays are not read; save the file with a numeric type"))),
        Some(t) => Scalar::parse(t).ok_or_else(|| Fail::Corrupt(format!("line {line_no}: unknown data type {t:?}"))),
        None => Err(Fail::Corrupt(format!("line {line_no}: the data type is missing"))),
    }
}

/// `count` values (already checked to fit) of a section that started at `line_no`.
fn read_values(c: &mut Cursor<'_>, ty: Scalar, count: usize, what: &str, line_no: usize) -> Result<Vec<f64>, Fail> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        match c.value(ty) {
            Ok(v) => out.push(v),
            Err(ValueError::End) => {
                return Err(Fail::Truncated(format!("the {what} section of line {line_no} ends after {i} of its {count} values")));
            }
            Err(ValueError::Bad(why)) => {
                return Err(Fail::Corrupt(format!("{what} section of line {line_no}, value {i}: {why}")));
            }
        }
    }
    Ok(out)
}

/// Cells as point-index lists (flattened: `indices` split at `starts`).
struct Cells {
    indices: Vec<u32>,
    starts: Vec<usize>,
}

impl Cells {
    fn iter(&self) -> impl Iterator<Item = &[u32]> {
        self.starts.windows(2).map(|w| &self.indices[w[0]..w[1]])
    }
}

fn index(v: f64, what: &str, line_no: usize) -> Result<u32, Fail> {
    if v >= 0.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0 {
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "range and integrality checked above")]
        Ok(v as u32)
    } else {
        Err(Fail::Corrupt(format!("the {what} section of line {line_no} holds {v}, not a point index")))
    }
}

/// The classic layout: `size` integers, `count i0 .. i(count-1)` per cell.
fn read_cells_classic(c: &mut Cursor<'_>, n: usize, size: usize, what: &str, line_no: usize) -> Result<Cells, Fail> {
    if !c.fits(size, Scalar::I32) || n > size {
        return Err(Fail::Truncated(format!("line {line_no}: {n} cells in {size} integers cannot fit in the {} bytes left", c.left())));
    }
    let flat = read_values(c, Scalar::I32, size, what, line_no)?;
    let mut cells = Cells { indices: Vec::with_capacity(size - n), starts: Vec::with_capacity(n + 1) };
    cells.starts.push(0);
    let mut k = 0;
    for i in 0..n {
        let len = *flat.get(k).ok_or_else(|| Fail::Corrupt(format!("line {line_no}: the {size} integers end before cell {i} of {n}")))?;
        let len = index(len, what, line_no)? as usize;
        let items = flat.get(k + 1..k + 1 + len).ok_or_else(|| Fail::Corrupt(format!("line {line_no}: cell {i} of {n} runs past the {size} integers")))?;
        for &v in items {
            cells.indices.push(index(v, what, line_no)?);
        }
        cells.starts.push(cells.indices.len());
        k += 1 + len;
    }
    if k != size {
        return Err(Fail::Corrupt(format!("line {line_no}: the {n} cells use {k} integers, the header says {size}")));
    }
    Ok(cells)
}

/// Version 5's layout: `OFFSETS type` with `n_offsets` values, `CONNECTIVITY type` with `size`.
fn read_cells_v5(c: &mut Cursor<'_>, n_offsets: usize, size: usize, what: &str, line_no: usize) -> Result<Cells, Fail> {
    let mut arrays = Vec::with_capacity(2);
    for (name, n) in [("OFFSETS", n_offsets), ("CONNECTIVITY", size)] {
        let line = c.keyword_line().map(|l| String::from_utf8_lossy(l).into_owned()).unwrap_or_default();
        let l = c.line_no() - 1;
        let tok: Vec<&str> = line.split_ascii_whitespace().collect();
        if !tok.first().is_some_and(|t| t.eq_ignore_ascii_case(name)) {
            return Err(Fail::Corrupt(format!("line {l}: expected {name} for the {what} of line {line_no}, found {line:?}")));
        }
        let ty = scalar(tok.get(1).copied(), l)?;
        if !c.fits(n, ty) {
            return Err(Fail::Truncated(format!("line {l}: {n} {name} values cannot fit in the {} bytes left", c.left())));
        }
        let values = read_values(c, ty, n, name, l)?;
        arrays.push(values.into_iter().map(|v| index(v, name, l)).collect::<Result<Vec<u32>, Fail>>()?);
        // A METADATA block may follow each array.
        let save = c.pos;
        match c.keyword_line() {
            Some(k) if k.eq_ignore_ascii_case(b"METADATA") => skip_metadata(c),
            _ => c.pos = save,
        }
    }
    let [offsets, indices] = <[Vec<u32>; 2]>::try_from(arrays).map_err(|_| Fail::Corrupt("unreachable: two arrays".into()))?;
    let starts: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
    let ok = starts.first().is_none_or(|&s| s == 0) && starts.windows(2).all(|w| w[0] <= w[1]) && starts.last().is_none_or(|&s| s == indices.len());
    if !ok {
        return Err(Fail::Corrupt(format!("line {line_no}: the {what} OFFSETS are not increasing from 0 to the {} connectivity values", indices.len())));
    }
    Ok(Cells { indices, starts: if starts.is_empty() { vec![0] } else { starts } })
}

/// Skips a METADATA block: lines up to the first blank one.
fn skip_metadata(c: &mut Cursor<'_>) {
    while let Some(line) = c.raw_line() {
        if line.trim_ascii().is_empty() {
            break;
        }
    }
}

/// Skips the arrays of a `FIELD name n` block: `name components tuples type` then the values
/// (or `name 0 NULL_ARRAY`), each perhaps followed by METADATA.
fn skip_field(c: &mut Cursor<'_>, n_arrays: usize, line_no: usize) -> Result<(), Fail> {
    for a in 0..n_arrays {
        let line = c.keyword_line().map(|l| String::from_utf8_lossy(l).into_owned()).ok_or_else(|| Fail::Truncated(format!("the FIELD of line {line_no} ends before array {a} of {n_arrays}")))?;
        let l = c.line_no() - 1;
        let tok: Vec<&str> = line.split_ascii_whitespace().collect();
        if tok.get(2).is_some_and(|t| t.eq_ignore_ascii_case("NULL_ARRAY")) {
            continue;
        }
        let num = |k: usize| tok.get(k).and_then(|t| t.parse::<usize>().ok());
        let (Some(comps), Some(tuples)) = (num(1), num(2)) else {
            return Err(Fail::Corrupt(format!("line {l}: {line:?} is not a FIELD array header 'name components tuples type'")));
        };
        let ty = scalar(tok.get(3).copied(), l)?;
        let n = comps.checked_mul(tuples).filter(|&n| c.fits(n, ty)).ok_or_else(|| Fail::Truncated(format!("line {l}: {comps} x {tuples} values cannot fit in the {} bytes left", c.left())))?;
        for i in 0..n {
            match c.value(ty) {
                Ok(_) => {}
                Err(ValueError::End) => {
                    return Err(Fail::Truncated(format!("the FIELD array of line {l} ends after {i} of {n} values")));
                }
                Err(ValueError::Bad(why)) => {
                    return Err(Fail::Corrupt(format!("the FIELD array of line {l}, value {i}: {why}")));
                }
            }
        }
        let save = c.pos;
        match c.keyword_line() {
            Some(k) if k.eq_ignore_ascii_case(b"METADATA") => skip_metadata(c),
            _ => c.pos = save,
        }
    }
    Ok(())
}

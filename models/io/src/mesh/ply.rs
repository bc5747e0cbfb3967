//! PLY: ASCII and binary (either byte order) in, binary little endian out.

use std::io::Write;
use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;

use super::{MeshFileError, checked_mesh, read_all, write_new};
use crate::{Limits, Result};

/// A PLY scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            _ => return None,
        })
    }
    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

#[derive(Debug, Clone)]
enum Property {
    Scalar { name: String, ty: Scalar },
    List { name: String, count: Scalar, item: Scalar },
}

#[derive(Debug, Clone)]
struct Element {
    name: String,
    count: usize,
    properties: Vec<Property>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Ascii,
    Little,
    Big,
}

/// Why a value could not be read.
enum ValueError {
    /// The body ends.
    End,
    /// The value is malformed.
    Bad(String),
}

/// Reads the values of a PLY body, element by element.
trait Values {
    /// The next scalar of type `ty`, as f64 (exact for every PLY type).
    fn next(&mut self, ty: Scalar) -> Result<f64, ValueError>;
}

struct Binary<'a> {
    bytes: &'a [u8],
    pos: usize,
    big: bool,
}

impl Values for Binary<'_> {
    fn next(&mut self, ty: Scalar) -> Result<f64, ValueError> {
        let n = ty.size();
        let Some(b) = self.bytes.get(self.pos..self.pos + n) else {
            return Err(ValueError::End);
        };
        self.pos += n;
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(b);
        if self.big {
            a[..n].reverse();
        }
        Ok(match ty {
            Scalar::I8 => f64::from(a[0] as i8),
            Scalar::U8 => f64::from(a[0]),
            Scalar::I16 => f64::from(i16::from_le_bytes([a[0], a[1]])),
            Scalar::U16 => f64::from(u16::from_le_bytes([a[0], a[1]])),
            Scalar::I32 => f64::from(i32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Scalar::U32 => f64::from(u32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Scalar::F32 => f64::from(f32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Scalar::F64 => f64::from_le_bytes(a),
        })
    }
}

struct Ascii<'a> {
    tokens: std::str::SplitAsciiWhitespace<'a>,
}

impl Values for Ascii<'_> {
    fn next(&mut self, ty: Scalar) -> Result<f64, ValueError> {
        let t = self.tokens.next().ok_or(ValueError::End)?;
        let v: f64 = t.parse().map_err(|_| ValueError::Bad(format!("{t:?} is not a number")))?;
        let integer = !matches!(ty, Scalar::F32 | Scalar::F64);
        if integer && v.fract() != 0.0 {
            return Err(ValueError::Bad(format!("{t:?} is not an integer")));
        }
        Ok(v)
    }
}

/// Reads an ASCII or binary PLY file (see the [module](super) docs).
///
/// # Errors
/// [`crate::Error::NotFound`], [`crate::Error::Unreadable`]; [`MeshFileError::Corrupt`] for a bad
/// header or value, [`MeshFileError::Truncated`] when the data end before the header's counts;
/// [`MeshFileError::Unsupported`] without `x`, `y`, `z` or a face index list;
/// [`MeshFileError::InvalidMesh`] for an index beyond the vertices.
pub fn read_ply(path: &Path) -> Result<Mesh> {
    read_ply_with(path, &Limits::new())
}

/// [`read_ply`] within `limits` (see [`super::read_mesh_with`]).
pub(crate) fn read_ply_with(path: &Path, limits: &Limits) -> Result<Mesh> {
    let bytes = read_all(path, limits)?;
    let corrupt = |why: String| MeshFileError::Corrupt { path: path.to_path_buf(), format: "PLY", why };
    let (encoding, elements, body_start) = parse_header(&bytes).map_err(corrupt)?;
    let body = &bytes[body_start..];
    // Two elements of one name (found by fuzzing: a second 'vertex' with two properties was read
    // with the first one's x, y, z positions, an index out of bounds).
    if let Some((k, e)) = elements.iter().enumerate().find(|(k, e)| elements[..*k].iter().any(|f| f.name == e.name)) {
        return Err(corrupt(format!("the header declares element '{}' twice (element {} of {})", e.name, k + 1, elements.len())).into());
    }
    let vertex = elements.iter().find(|e| e.name == "vertex");
    let face = elements.iter().find(|e| e.name == "face");
    let unsupported = |why: &str| MeshFileError::Unsupported { path: path.to_path_buf(), why: why.to_string() };
    let Some(vertex) = vertex else { return Err(unsupported("no 'vertex' element; is this a point cloud or another PLY kind?").into()) };
    let xyz = ["x", "y", "z"].map(|c| vertex.properties.iter().position(|p| matches!(p, Property::Scalar { name, .. } if name == c)));
    let [Some(ix), Some(iy), Some(iz)] = xyz else {
        return Err(unsupported("the 'vertex' element lacks scalar x, y, z properties").into());
    };
    let face_list = face.map(|f| f.properties.iter().position(|p| matches!(p, Property::List { name, .. } if name == "vertex_indices" || name == "vertex_index")));
    if let Some(None) = face_list {
        return Err(unsupported("the 'face' element has no 'vertex_indices' list").into());
    }
    let text;
    let mut values: Box<dyn Values> = match encoding {
        Encoding::Ascii => {
            text = std::str::from_utf8(body).map_err(|e| corrupt(format!("ASCII body is not text: {e}")))?;
            Box::new(Ascii { tokens: text.split_ascii_whitespace() })
        }
        Encoding::Little | Encoding::Big => Box::new(Binary { bytes: body, pos: 0, big: encoding == Encoding::Big }),
    };
    // Each element announces a count; the body must hold at least its smallest record per item
    // (binary: the scalar sizes plus one count byte per list; ASCII: one digit and a separator
    // per property), checked before anything is reserved for it.
    let mut min_body = 0u64;
    for e in &elements {
        let per_item: u64 = e
            .properties
            .iter()
            .map(|p| match (encoding, p) {
                (Encoding::Ascii, _) => 2,
                (_, Property::Scalar { ty, .. }) => ty.size() as u64,
                (_, Property::List { count, .. }) => count.size() as u64,
            })
            .sum();
        min_body = min_body.saturating_add((e.count as u64).saturating_mul(per_item));
    }
    if min_body > body.len() as u64 {
        return Err(MeshFileError::Truncated {
            path: path.to_path_buf(),
            format: "PLY",
            why: format!(
                "the header announces {} which need at least {min_body} bytes, but the data are {} bytes",
                elements.iter().map(|e| format!("{} {}", e.count, e.name)).collect::<Vec<_>>().join(", "),
                body.len()
            ),
        }
        .into());
    }
    let mut vertices = Vec::new();
    let mut triangles = Vec::new();
    let truncated = |e: &Element, i: usize, err: ValueError| -> crate::Error {
        match err {
            ValueError::End => MeshFileError::Truncated { path: path.to_path_buf(), format: "PLY", why: format!("the data end inside {} {i} of the {} the header announces", e.name, e.count) }.into(),
            ValueError::Bad(why) => MeshFileError::Corrupt { path: path.to_path_buf(), format: "PLY", why: format!("{} {i}: {why}", e.name) }.into(),
        }
    };
    for e in &elements {
        if e.properties.is_empty() {
            continue; // nothing stored, whatever the count
        }
        let is_vertex = e.name == "vertex";
        let is_face = e.name == "face";
        if is_vertex {
            vertices.reserve(e.count.min(body.len()));
        }
        let mut scalars = vec![0.0f64; e.properties.len()];
        let mut poly: Vec<u32> = Vec::new();
        for i in 0..e.count {
            for (k, p) in e.properties.iter().enumerate() {
                match p {
                    Property::Scalar { ty, .. } => scalars[k] = values.next(*ty).map_err(|w| truncated(e, i, w))?,
                    Property::List { count, item, .. } => {
                        let n = values.next(*count).map_err(|w| truncated(e, i, w))?;
                        if !(0.0..=u32::MAX as f64).contains(&n) {
                            return Err(truncated(e, i, ValueError::Bad(format!("list length {n}"))));
                        }
                        let wanted = is_face && Some(Some(k)) == face_list;
                        if wanted {
                            poly.clear();
                        }
                        for _ in 0..n as usize {
                            let v = values.next(*item).map_err(|w| truncated(e, i, w))?;
                            if wanted {
                                if !(0.0..=u32::MAX as f64).contains(&v) {
                                    return Err(truncated(e, i, ValueError::Bad(format!("vertex index {v}"))));
                                }
                                poly.push(v as u32);
                            }
                        }
                        if wanted {
                            if poly.len() < 3 {
                                return Err(truncated(e, i, ValueError::Bad(format!("a face with {} vertices", poly.len()))));
                            }
                            triangles.extend((1..poly.len() - 1).map(|q| [poly[0], poly[q], poly[q + 1]]));
                        }
                    }
                }
            }
            if is_vertex {
                vertices.push(Point3::new(scalars[ix], scalars[iy], scalars[iz]));
            }
        }
    }
    checked_mesh(path, vertices, triangles)
}

/// Parses the header: encoding, elements, and where the body starts.
fn parse_header(bytes: &[u8]) -> Result<(Encoding, Vec<Element>, usize), String> {
    if !bytes.starts_with(b"ply") {
        return Err("it does not start with 'ply'".into());
    }
    let mut pos = 0;
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    let mut line_no = 0;
    loop {
        let Some(len) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            return Err("the header has no 'end_header' line".into());
        };
        let line = std::str::from_utf8(&bytes[pos..pos + len]).map_err(|_| format!("header line {} is not text", line_no + 1))?;
        pos += len + 1;
        line_no += 1;
        let bad = |what: &str| format!("header line {line_no} {line:?}: {what}");
        let tok: Vec<&str> = line.split_ascii_whitespace().collect();
        match tok.as_slice() {
            ["ply"] if line_no == 1 => {}
            ["format", f, v] => {
                if *v != "1.0" {
                    return Err(bad("only PLY version 1.0 is known"));
                }
                encoding = Some(match *f {
                    "ascii" => Encoding::Ascii,
                    "binary_little_endian" => Encoding::Little,
                    "binary_big_endian" => Encoding::Big,
                    _ => return Err(bad("unknown format")),
                });
            }
            ["comment", ..] | ["obj_info", ..] | [] => {}
            ["element", name, count] => {
                let count = count.parse().map_err(|_| bad("the element count is not a number"))?;
                elements.push(Element { name: (*name).to_string(), count, properties: Vec::new() });
            }
            ["property", "list", c, i, name] => {
                let e = elements.last_mut().ok_or_else(|| bad("a property before any element"))?;
                let (count, item) = (Scalar::parse(c).ok_or_else(|| bad("unknown type"))?, Scalar::parse(i).ok_or_else(|| bad("unknown type"))?);
                e.properties.push(Property::List { name: (*name).to_string(), count, item });
            }
            ["property", ty, name] => {
                let e = elements.last_mut().ok_or_else(|| bad("a property before any element"))?;
                e.properties.push(Property::Scalar { name: (*name).to_string(), ty: Scalar::parse(ty).ok_or_else(|| bad("unknown type"))? });
            }
            ["end_header"] => break,
            _ => return Err(bad("not a PLY header line")),
        }
    }
    let encoding = encoding.ok_or("the header has no 'format' line")?;
    Ok((encoding, elements, pos))
}

/// Writes `mesh` as binary little-endian PLY: `double` x, y, z and `uchar`/`int` (or `uint`)
/// face index lists, so the mesh reads back exactly. Never over an existing file; no file is left
/// behind on failure.
///
/// # Errors
/// [`crate::Error::WouldOverwrite`], [`crate::Error::Write`].
pub fn write_ply(mesh: &Mesh, path: &Path) -> Result<()> {
    let index_type = if mesh.vertices().len() <= i32::MAX as usize { "int" } else { "uint" };
    let header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment coxa {}, LPS mm\nelement vertex {}\nproperty double x\nproperty double y\n\
         property double z\nelement face {}\nproperty list uchar {index_type} vertex_indices\nend_header\n",
        env!("CARGO_PKG_VERSION"),
        mesh.vertices().len(),
        mesh.triangles().len()
    );
    write_new(path, |out| {
        out.write_all(header.as_bytes())?;
        for p in mesh.vertices() {
            for c in [p.x, p.y, p.z] {
                out.write_all(&c.to_le_bytes())?;
            }
        }
        let mut rec = [0u8; 13];
        rec[0] = 3;
        for t in mesh.triangles() {
            for (k, i) in t.iter().enumerate() {
                rec[1 + 4 * k..5 + 4 * k].copy_from_slice(&i.to_le_bytes());
            }
            out.write_all(&rec)?;
        }
        Ok(())
    })
}

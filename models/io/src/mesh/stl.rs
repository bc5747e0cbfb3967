//! STL: binary and ASCII in, binary out.
//!
//! STL has no coordinate system; 3D Slicer (4.11+) puts `SPACE=LPS` or `SPACE=RAS` in the
//! header (the 80 bytes of a binary file, the `solid` line of an ASCII one). coxa writes
//! `SPACE=LPS` and, reading, turns a `SPACE=RAS` file into LPS (x and y negated, a rotation,
//! so the triangles keep their winding); without the tag a file is taken as LPS, as Slicer 5
//! does.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;

use super::{MeshFileError, checked_mesh, read_all, write_new};
use crate::{Limits, Result};

const HEADER: usize = 80;
const FACET: usize = 50;

/// Reads a binary or ASCII STL file, welding identical vertices (see the [module](super) docs).
///
/// # Errors
/// [`crate::Error::NotFound`], [`crate::Error::Unreadable`]; [`MeshFileError::Truncated`] when a
/// binary file's length is not `84 + 50 n`; [`MeshFileError::Corrupt`] for a bad ASCII file.
pub fn read_stl(path: &Path) -> Result<Mesh> {
    read_stl_with(path, &Limits::new())
}

/// [`read_stl`] within `limits` (see [`super::read_mesh_with`]).
pub(crate) fn read_stl_with(path: &Path, limits: &Limits) -> Result<Mesh> {
    let bytes = read_all(path, limits)?;
    let announced = (bytes.len() >= HEADER + 4).then(|| u32::from_le_bytes([bytes[80], bytes[81], bytes[82], bytes[83]]) as u64);
    if let Some(n) = announced
        && bytes.len() as u64 == (HEADER + 4) as u64 + FACET as u64 * n
    {
        return read_binary(path, &bytes, n as usize).map(|m| in_lps(m, &bytes[..HEADER]));
    }
    if looks_ascii(&bytes) {
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let first_line = first_line.to_vec();
        return read_ascii(path, &bytes).map(|m| in_lps(m, &first_line));
    }
    let why = match announced {
        Some(n) => format!("its header announces {n} triangles, so it must be 84 + 50 x {n} = {} bytes long, but it is {} bytes", 84 + 50 * n, bytes.len()),
        None => format!("{} bytes, shorter than the 84-byte header", bytes.len()),
    };
    Err(MeshFileError::Truncated { path: path.to_path_buf(), format: "binary STL", why }.into())
}

/// Whether an STL header says `SPACE=RAS` (3D Slicer's tag).
fn header_says_ras(header: &[u8]) -> bool {
    header.windows(9).any(|w| w.eq_ignore_ascii_case(b"SPACE=RAS"))
}

/// `mesh` in LPS: x and y negated when `header` says `SPACE=RAS`.
fn in_lps(mesh: Mesh, header: &[u8]) -> Mesh {
    if !header_says_ras(header) {
        return mesh;
    }
    let vertices = mesh.vertices().iter().map(|p| Point3::new(-p.x + 0.0, -p.y + 0.0, p.z)).collect();
    // Negating two axes is a rotation: same triangles, same winding, still a valid mesh.
    Mesh::new(vertices, mesh.triangles().to_vec()).unwrap_or(mesh)
}

/// An ASCII STL starts with `solid` and holds a `facet` (or is an empty solid) and no NUL.
fn looks_ascii(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    text.starts_with(b"solid") && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok_and(|s| s.contains("facet") || s.contains("endsolid"))
}

/// Welds exactly equal positions (`-0` = `+0`).
struct Welder<K> {
    index: HashMap<K, u32>,
    vertices: Vec<Point3<f64>>,
}

impl<K: std::hash::Hash + Eq> Welder<K> {
    fn new(capacity: usize) -> Self {
        Self { index: HashMap::with_capacity(capacity), vertices: Vec::with_capacity(capacity) }
    }
    fn add(&mut self, key: K, p: Point3<f64>) -> u32 {
        let n = self.vertices.len() as u32;
        *self.index.entry(key).or_insert_with(|| {
            self.vertices.push(p);
            n
        })
    }
}

fn read_binary(path: &Path, bytes: &[u8], n: usize) -> Result<Mesh> {
    if n.checked_mul(3).is_none_or(|v| v > u32::MAX as usize) {
        return Err(MeshFileError::Unsupported { path: path.to_path_buf(), why: format!("{n} triangles exceed 32-bit vertex indices") }.into());
    }
    let mut w = Welder::<[u32; 3]>::new(n / 2 + 3);
    let mut triangles = Vec::with_capacity(n);
    for facet in bytes[HEADER + 4..].chunks_exact(FACET) {
        let mut t = [0u32; 3];
        for (c, corner) in t.iter_mut().enumerate() {
            let at = 12 + 12 * c;
            let xyz: [f32; 3] = std::array::from_fn(|k| {
                let o = at + 4 * k;
                // +0.0 for -0.0, so that the two weld (exact numeric match).
                f32::from_le_bytes([facet[o], facet[o + 1], facet[o + 2], facet[o + 3]]) + 0.0
            });
            *corner = w.add(xyz.map(f32::to_bits), Point3::new(f64::from(xyz[0]), f64::from(xyz[1]), f64::from(xyz[2])));
        }
        triangles.push(t);
    }
    checked_mesh(path, w.vertices, triangles)
}

fn read_ascii(path: &Path, bytes: &[u8]) -> Result<Mesh> {
    let corrupt = |line: usize, why: String| MeshFileError::Corrupt { path: path.to_path_buf(), format: "ASCII STL", why: format!("line {line}: {why}") };
    let text = std::str::from_utf8(bytes).map_err(|e| MeshFileError::Corrupt { path: path.to_path_buf(), format: "ASCII STL", why: e.to_string() })?;
    let mut w = Welder::<[u64; 3]>::new(1024);
    let mut triangles = Vec::new();
    let mut polygon: Option<Vec<u32>> = None;
    for (l, line) in text.lines().enumerate() {
        let line_no = l + 1;
        let mut tok = line.split_ascii_whitespace();
        match tok.next() {
            Some("outer") => {
                if polygon.is_some() {
                    return Err(corrupt(line_no, "'outer loop' inside a loop".into()).into());
                }
                polygon = Some(Vec::new());
            }
            Some("vertex") => {
                let Some(poly) = polygon.as_mut() else {
                    return Err(corrupt(line_no, "'vertex' outside 'outer loop'".into()).into());
                };
                let mut xyz = [0.0f64; 3];
                for c in &mut xyz {
                    let s = tok.next().ok_or_else(|| corrupt(line_no, "a vertex needs three coordinates".into()))?;
                    *c = s.parse::<f64>().map_err(|_| corrupt(line_no, format!("{s:?} is not a number")))? + 0.0;
                }
                poly.push(w.add(xyz.map(f64::to_bits), Point3::from(xyz)));
            }
            Some("endloop") => {
                let poly = polygon.take().ok_or_else(|| corrupt(line_no, "'endloop' without 'outer loop'".into()))?;
                if poly.len() < 3 {
                    return Err(corrupt(line_no, format!("a facet with {} vertices", poly.len())).into());
                }
                triangles.extend((1..poly.len() - 1).map(|k| [poly[0], poly[k], poly[k + 1]]));
            }
            _ => {}
        }
    }
    if polygon.is_some() {
        return Err(corrupt(text.lines().count(), "the file ends inside a facet".into()).into());
    }
    checked_mesh(path, w.vertices, triangles)
}

/// Writes `mesh` as binary STL (single precision; facet normals from the vertices), its header
/// starting `SPACE=LPS` (3D Slicer's tag). Never over an existing file; no file is left behind
/// on failure.
///
/// # Errors
/// [`crate::Error::WouldOverwrite`], [`crate::Error::Write`];
/// [`MeshFileError::NotRepresentable`] if a coordinate exceeds single precision's range or there
/// are more than 2³² − 1 triangles (nothing is written then).
pub fn write_stl(mesh: &Mesh, path: &Path) -> Result<()> {
    let n = u32::try_from(mesh.triangles().len())
        .map_err(|_| MeshFileError::NotRepresentable { path: path.to_path_buf(), why: format!("{} triangles exceed binary STL's 32-bit count; write PLY or decimate", mesh.triangles().len()) })?;
    let v32: Vec<[f32; 3]> = mesh.vertices().iter().map(|p| [p.x as f32, p.y as f32, p.z as f32]).collect();
    if let Some(p) = v32.iter().position(|p| p.iter().any(|c| !c.is_finite())) {
        return Err(MeshFileError::NotRepresentable {
            path: path.to_path_buf(),
            why: format!("vertex {p} at {:?} mm is beyond single precision's range; write PLY", mesh.vertices()[p].coords.as_slice()),
        }
        .into());
    }
    let mut header = [b' '; HEADER];
    let text = format!("SPACE=LPS coxa {} binary STL, mm", env!("CARGO_PKG_VERSION"));
    header[..text.len()].copy_from_slice(text.as_bytes());
    write_new(path, |out| {
        out.write_all(&header)?;
        out.write_all(&n.to_le_bytes())?;
        let mut facet = [0u8; FACET];
        for t in mesh.triangles() {
            let [a, b, c] = t.map(|i| v32[i as usize]);
            let (pa, pb, pc) = ([a[0], a[1], a[2]].map(f64::from), [b[0], b[1], b[2]].map(f64::from), [c[0], c[1], c[2]].map(f64::from));
            let u = [pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]];
            let v = [pc[0] - pa[0], pc[1] - pa[1], pc[2] - pa[2]];
            let nrm = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
            let len = (nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]).sqrt();
            let nrm = if len > 0.0 { nrm.map(|x| (x / len) as f32) } else { [0.0; 3] };
            for (k, x) in nrm.iter().chain(&a).chain(&b).chain(&c).enumerate() {
                facet[4 * k..4 * k + 4].copy_from_slice(&x.to_le_bytes());
            }
            out.write_all(&facet)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod space_tests {
    use super::*;

    #[test]
    fn written_stl_says_lps_and_a_ras_stl_is_turned_to_lps() {
        let tmp = tempfile::tempdir().unwrap();
        let mesh = Mesh::new(vec![Point3::new(1.0, 2.0, 3.0), Point3::new(4.0, 2.0, 3.0), Point3::new(1.0, 5.0, 3.0)], vec![[0, 1, 2]]).unwrap();
        let p = tmp.path().join("a.stl");
        write_stl(&mesh, &p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.starts_with(b"SPACE=LPS "), "{:?}", String::from_utf8_lossy(&bytes[..80]));
        assert_eq!(read_stl(&p).unwrap().vertices(), mesh.vertices());
        // The same binary file tagged RAS (as 3D Slicer writes by default before 5.0).
        let mut ras = bytes.clone();
        ras[..9].copy_from_slice(b"SPACE=RAS");
        let q = tmp.path().join("ras.stl");
        std::fs::write(&q, &ras).unwrap();
        let m = read_stl(&q).unwrap();
        let want: Vec<Point3<f64>> = mesh.vertices().iter().map(|v| Point3::new(-v.x, -v.y, v.z)).collect();
        assert_eq!(m.vertices(), want.as_slice());
        assert_eq!(m.triangles(), mesh.triangles());
        // ASCII, tag on the solid line.
        let a = tmp.path().join("ras_ascii.stl");
        std::fs::write(&a, "solid SPACE=RAS\nfacet normal 0 0 1\nouter loop\nvertex 1 2 3\nvertex 4 2 3\nvertex 1 5 3\nendloop\nendfacet\nendsolid\n").unwrap();
        assert_eq!(read_stl(&a).unwrap().vertices(), want.as_slice());
    }
}

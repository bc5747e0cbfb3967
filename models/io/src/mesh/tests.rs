use std::path::Path;

use coxa_core::Mesh;
use nalgebra::Point3;

use super::*;
use crate::Error;

/// A closed octahedron whose vertices appear in the order the triangles first name them (so an
/// STL round trip, which numbers vertices that way, gives the same mesh).
fn octahedron(scale: f64, shift: [f64; 3]) -> Mesh {
    let v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
        .map(|p| Point3::new(p[0] * scale + shift[0], p[1] * scale + shift[1], p[2] * scale + shift[2]));
    let t = vec![[0, 1, 2], [1, 3, 2], [3, 4, 2], [4, 0, 2], [1, 0, 5], [3, 1, 5], [4, 3, 5], [0, 4, 5]];
    Mesh::new(v.to_vec(), t).unwrap()
}

fn assert_file_error(r: crate::Result<Mesh>, path: &Path, what: &str) -> MeshFileError {
    match r {
        Err(Error::Mesh(e)) => {
            assert!(e.to_string().contains(&path.display().to_string()), "{what}: message does not name the file: {e}");
            e
        }
        other => panic!("{what}: expected a mesh file error, got {other:?}"),
    }
}

#[test]
fn stl_round_trip_is_exact_for_single_precision_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let m = octahedron(12.5, [-100.25, 37.0, 1024.0]);
    assert!(m.is_watertight());
    let p = dir.path().join("o.stl");
    write_stl(&m, &p).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 84 + 50 * 8);
    let back = read_stl(&p).unwrap();
    assert_eq!(back, m);
    assert!(back.is_watertight());
    assert_eq!(read_mesh(&p).unwrap(), m);
    // The header must not look like ASCII STL to other readers.
    assert!(!std::fs::read(&p).unwrap().starts_with(b"solid"));
}

#[test]
fn ply_round_trip_is_exact_in_double_precision() {
    let dir = tempfile::tempdir().unwrap();
    let m = octahedron(1.0 / 3.0, [1e-300, -123.456789012345, std::f64::consts::PI]);
    let p = dir.path().join("o.PLY");
    write_mesh(&m, &p).unwrap();
    let back = read_mesh(&p).unwrap();
    assert_eq!(back, m);
}

#[test]
fn writers_never_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let m = octahedron(1.0, [0.0; 3]);
    for name in ["a.stl", "a.ply"] {
        let p = dir.path().join(name);
        std::fs::write(&p, b"precious").unwrap();
        let r = write_mesh(&m, &p);
        assert!(matches!(r, Err(Error::WouldOverwrite { .. })), "{r:?}");
        assert_eq!(std::fs::read(&p).unwrap(), b"precious");
    }
}

#[test]
fn unrepresentable_stl_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.stl");
    let r = write_stl(&octahedron(1e300, [0.0; 3]), &p);
    assert!(matches!(r, Err(Error::Mesh(MeshFileError::NotRepresentable { .. }))), "{r:?}");
    assert!(!p.exists());
}

#[test]
fn truncated_and_corrupt_stl_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.stl");
    write_stl(&octahedron(2.0, [0.0; 3]), &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    for (name, data) in [("cut.stl", &bytes[..bytes.len() - 1]), ("header.stl", &bytes[..60]), ("long.stl", &[&bytes[..], &[0u8; 3]].concat()[..])] {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        let e = assert_file_error(read_stl(&p), &p, name);
        assert!(matches!(e, MeshFileError::Truncated { .. }), "{name}: {e}");
    }
    let p = dir.path().join("cut.stl");
    let msg = read_stl(&p).unwrap_err().to_string();
    assert!(msg.contains("84 + 50 x 8 = 484 bytes") && msg.contains("483"), "{msg}");
    let bad = dir.path().join("bad.stl");
    std::fs::write(&bad, "solid x\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 zero\n").unwrap();
    assert!(matches!(assert_file_error(read_stl(&bad), &bad, "ascii"), MeshFileError::Corrupt { .. }));
    let missing = dir.path().join("missing.stl");
    assert!(matches!(read_stl(&missing), Err(Error::NotFound { .. })));
    let txt = dir.path().join("mesh.obj");
    std::fs::write(&txt, "").unwrap();
    assert!(matches!(read_mesh(&txt), Err(Error::Mesh(MeshFileError::BadExtension { .. }))));
}

#[test]
fn ascii_stl_is_welded() {
    let dir = tempfile::tempdir().unwrap();
    let m = octahedron(1.5, [0.0, -0.0, 0.0]);
    let mut s = String::from("solid octahedron\n");
    for t in 0..m.triangles().len() {
        s.push_str(" facet normal 0 0 0\n  outer loop\n");
        for p in m.corners(t) {
            // -0 and +0 must weld.
            let z = if p.z == 0.0 { "-0".to_string() } else { p.z.to_string() };
            s.push_str(&format!("   vertex {} {} {z}\n", p.x, p.y));
        }
        s.push_str("  endloop\n endfacet\n");
    }
    s.push_str("endsolid octahedron\n");
    let p = dir.path().join("a.stl");
    std::fs::write(&p, s).unwrap();
    let back = read_stl(&p).unwrap();
    assert_eq!(back.vertices().len(), 6);
    assert!(back.is_watertight());
    assert!((back.signed_volume_mm3() - m.signed_volume_mm3()).abs() < 1e-12);
}

#[test]
fn ply_variants() {
    let dir = tempfile::tempdir().unwrap();
    // ASCII, a quad face, an extra property, an extra element, comments, CRLF.
    let ascii = "ply\r\nformat ascii 1.0\r\ncomment made by hand\r\nelement vertex 4\r\nproperty float x\r\nproperty float y\r\n\
                 property uchar red\r\nproperty float z\r\nelement face 1\r\nproperty list uchar int vertex_indices\r\n\
                 element edge 1\r\nproperty int vertex1\r\nproperty int vertex2\r\nend_header\r\n\
                 0 0 255 0\r\n1 0 255 0\r\n1 1 255 0\r\n0 1 255 0.5\r\n4 0 1 2 3\r\n0 1\r\n";
    let p = dir.path().join("quad.ply");
    std::fs::write(&p, ascii).unwrap();
    let m = read_ply(&p).unwrap();
    assert_eq!(m.triangles(), &[[0, 1, 2], [0, 2, 3]]);
    assert_eq!(m.vertices()[3], Point3::new(0.0, 1.0, 0.5));
    // Binary big endian, float coordinates, ushort list count and uint indices.
    let mut big = b"ply\nformat binary_big_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n\
                    element face 1\nproperty list ushort uint vertex_indices\nend_header\n"
        .to_vec();
    for v in [[0.0f32, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.25]] {
        for c in v {
            big.extend_from_slice(&c.to_be_bytes());
        }
    }
    big.extend_from_slice(&3u16.to_be_bytes());
    for i in [0u32, 1, 2] {
        big.extend_from_slice(&i.to_be_bytes());
    }
    let p = dir.path().join("big.ply");
    std::fs::write(&p, &big).unwrap();
    let m = read_ply(&p).unwrap();
    assert_eq!(m.vertices()[2], Point3::new(0.0, 3.0, 0.25));
    assert_eq!(m.triangles(), &[[0, 1, 2]]);
    // Truncated body.
    let p = dir.path().join("cut.ply");
    std::fs::write(&p, &big[..big.len() - 2]).unwrap();
    assert!(matches!(assert_file_error(read_ply(&p), &p, "cut"), MeshFileError::Truncated { .. }));
    // Index beyond the vertices.
    let mut bad = big.clone();
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&7u32.to_be_bytes());
    let p = dir.path().join("index.ply");
    std::fs::write(&p, &bad).unwrap();
    assert!(matches!(assert_file_error(read_ply(&p), &p, "index"), MeshFileError::InvalidMesh { .. }));
    // Not a PLY header.
    let p = dir.path().join("junk.ply");
    std::fs::write(&p, "ply\nformat ascii 1.0\nelement vertex 1\nbogus line\nend_header\n").unwrap();
    assert!(matches!(assert_file_error(read_ply(&p), &p, "junk"), MeshFileError::Corrupt { .. }));
    // No faces is fine (an empty mesh); no x, y, z is not.
    let p = dir.path().join("nox.ply");
    std::fs::write(&p, "ply\nformat ascii 1.0\nelement vertex 1\nproperty float u\nend_header\n1\n").unwrap();
    assert!(matches!(assert_file_error(read_ply(&p), &p, "nox"), MeshFileError::Unsupported { .. }));
}

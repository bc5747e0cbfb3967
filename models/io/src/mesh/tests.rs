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
    let txt = dir.path().join("mesh.off");
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

/// A legacy VTK file with `points` (as `ty`), the cells of `sections` (keyword, cells), in the
/// classic cell layout (version 4.2) or version 5.1's OFFSETS/CONNECTIVITY, ASCII or BINARY.
fn vtk_bytes(binary: bool, v5: bool, ty: &str, points: &[[f64; 3]], sections: &[(&str, Vec<Vec<u32>>)], tail: &str) -> Vec<u8> {
    let version = if v5 { "5.1" } else { "4.2" };
    let mut b = format!("# vtk DataFile Version {version}\nmade by the test\n{}\nDATASET POLYDATA\n", if binary { "BINARY" } else { "ASCII" }).into_bytes();
    // A FIELD block before the points must be read past.
    b.extend_from_slice(b"FIELD FieldData 1\nTimeValue 1 1 double\n");
    if binary {
        b.extend_from_slice(&2.5f64.to_be_bytes());
        b.push(b'\n');
    } else {
        b.extend_from_slice(b"2.5\n");
    }
    b.extend_from_slice(format!("POINTS {} {ty}\n", points.len()).as_bytes());
    for p in points {
        for &c in p {
            match (binary, ty) {
                (true, "float") => b.extend_from_slice(&(c as f32).to_be_bytes()),
                (true, _) => b.extend_from_slice(&c.to_be_bytes()),
                (false, _) => b.extend_from_slice(format!("{c} ").as_bytes()),
            }
        }
    }
    b.push(b'\n');
    let int = |b: &mut Vec<u8>, v: u32, wide: bool| match (binary, wide) {
        (true, true) => b.extend_from_slice(&i64::from(v).to_be_bytes()),
        (true, false) => b.extend_from_slice(&(v as i32).to_be_bytes()),
        (false, _) => b.extend_from_slice(format!("{v} ").as_bytes()),
    };
    for (keyword, cells) in sections {
        let size: usize = cells.iter().map(Vec::len).sum();
        if v5 {
            b.extend_from_slice(format!("{keyword} {} {size}\nOFFSETS vtktypeint64\n", cells.len() + 1).as_bytes());
            let mut o = 0;
            int(&mut b, 0, true);
            for c in cells {
                o += c.len() as u32;
                int(&mut b, o, true);
            }
            b.extend_from_slice(b"\nCONNECTIVITY vtktypeint64\n");
            for c in cells {
                for &i in c {
                    int(&mut b, i, true);
                }
            }
        } else {
            b.extend_from_slice(format!("{keyword} {} {}\n", cells.len(), size + cells.len()).as_bytes());
            for c in cells {
                int(&mut b, c.len() as u32, false);
                for &i in c {
                    int(&mut b, i, false);
                }
            }
        }
        b.push(b'\n');
    }
    b.extend_from_slice(tail.as_bytes());
    b
}

#[test]
fn vtk_polydata_in_every_layout_keeps_vertex_order() {
    let dir = tempfile::tempdir().unwrap();
    // Seven points, one unused (index 6) and two with identical coordinates (0 and 5): a VTK read
    // must keep all seven, in order.
    let pts = [[0.1, 0.2, 0.3], [10.0, 0.0, -1.0 / 3.0], [0.0, 10.0, 1e-7], [10.0, 10.0, 123.456], [5.0, 5.0, -600.25], [0.1, 0.2, 0.3], [7.0, 8.0, 9.0]];
    let sections = [("VERTICES", vec![vec![6]]), ("LINES", vec![vec![0, 1, 2]]), ("POLYGONS", vec![vec![0, 1, 3, 2], vec![1, 4, 3]]), ("TRIANGLE_STRIPS", vec![vec![0, 1, 2, 3, 4], vec![5, 5, 2]])];
    let want_tris = [[0, 1, 3], [0, 3, 2], [1, 4, 3], [0, 1, 2], [2, 1, 3], [2, 3, 4]];
    let tail = "POINT_DATA 7\nSCALARS s float 1\nLOOKUP_TABLE default\n1 2 3 4 5 6 7\n";
    for binary in [false, true] {
        for v5 in [false, true] {
            for ty in ["float", "double"] {
                let name = format!("m_{binary}_{v5}_{ty}.VTK");
                let p = dir.path().join(&name);
                std::fs::write(&p, vtk_bytes(binary, v5, ty, &pts, &sections, tail)).unwrap();
                let m = read_mesh(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
                let want: Vec<Point3<f64>> = pts.iter().map(|p| if ty == "float" { p.map(|c| f64::from(c as f32)) } else { *p }).map(Point3::from).collect();
                assert_eq!(m.vertices(), &want[..], "{name}");
                assert_eq!(m.triangles(), &want_tris[..], "{name}");
            }
        }
    }
    // Writing VTK is refused without creating a file.
    let p = dir.path().join("out.vtk");
    assert!(matches!(write_mesh(&octahedron(1.0, [0.0; 3]), &p), Err(Error::Mesh(MeshFileError::Unsupported { .. }))));
    assert!(!p.exists());
}

#[test]
fn bad_vtk_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pts = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    let good = vtk_bytes(true, false, "double", &pts, &[("POLYGONS", vec![vec![0, 1, 2]])], "");
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    // Cut inside the points, and inside the polygons.
    let points_end = good.windows(8).position(|w| w == b"POLYGONS").unwrap();
    for (name, cut) in [("points.vtk", points_end - 10), ("cells.vtk", good.len() - 3)] {
        let p = write(name, &good[..cut]);
        let e = assert_file_error(read_vtk(&p), &p, name);
        assert!(matches!(e, MeshFileError::Truncated { .. }), "{name}: {e}");
    }
    // A huge announced count fails before allocating.
    let huge = String::from_utf8_lossy(&vtk_bytes(false, false, "float", &pts, &[], "")).replace("POINTS 3", "POINTS 4000000000000");
    let p = write("huge.vtk", huge.as_bytes());
    let e = assert_file_error(read_vtk(&p), &p, "huge");
    assert!(matches!(e, MeshFileError::Truncated { .. }) && e.to_string().contains("cannot fit"), "{e}");
    // An index beyond the points.
    let p = write("index.vtk", &vtk_bytes(false, false, "float", &pts, &[("POLYGONS", vec![vec![0, 1, 3]])], ""));
    assert!(matches!(assert_file_error(read_vtk(&p), &p, "index"), MeshFileError::InvalidMesh { .. }));
    // The cell sizes do not add up to the header's size.
    let p = write("size.vtk", b"# vtk DataFile Version 3.0\nt\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 5\n3 0 1 2 7\n");
    assert!(matches!(assert_file_error(read_vtk(&p), &p, "size"), MeshFileError::Corrupt { .. }));
    // Not a number.
    let p = write("nan.vtk", b"# vtk DataFile Version 3.0\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 zero 0\n");
    let e = assert_file_error(read_vtk(&p), &p, "nan");
    assert!(matches!(e, MeshFileError::Corrupt { .. }) && e.to_string().contains("\"zero\""), "{e}");
    // Another dataset, and no points.
    let p = write("grid.vtk", b"# vtk DataFile Version 3.0\nt\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 0 float\n");
    let e = assert_file_error(read_vtk(&p), &p, "grid");
    assert!(matches!(e, MeshFileError::Unsupported { .. }) && e.to_string().contains("UNSTRUCTURED_GRID"), "{e}");
    let p = write("nopoints.vtk", b"# vtk DataFile Version 3.0\nt\nASCII\nDATASET POLYDATA\n");
    assert!(matches!(assert_file_error(read_vtk(&p), &p, "nopoints"), MeshFileError::Unsupported { .. }));
    // Not VTK at all (an XML .vtp renamed).
    let p = write("xml.vtk", b"<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\">\n");
    let e = assert_file_error(read_vtk(&p), &p, "xml");
    assert!(matches!(e, MeshFileError::Corrupt { .. }) && e.to_string().contains("XML"), "{e}");
}

#[test]
fn vtp_ascii_is_read_and_compressed_refused() {
    let dir = tempfile::tempdir().unwrap();
    let vtp = |format: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\" version=\"0.1\" byte_order=\"LittleEndian\">\n<PolyData>\n\
             <Piece NumberOfPoints=\"5\" NumberOfPolys=\"2\" NumberOfStrips=\"1\">\n<Points>\n\
             <DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"{format}\">0 0 0 1 0 0 1 1 0 0 1 0.1 0 0 0</DataArray>\n</Points>\n\
             <Polys><DataArray type=\"Int32\" Name=\"connectivity\" format=\"ascii\">0 1 2 3 1 2 3</DataArray>\n\
             <DataArray type=\"Int32\" Name=\"offsets\" format=\"ascii\">4 7</DataArray></Polys>\n\
             <Strips><DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">0 1 2 3</DataArray>\n\
             <DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">4</DataArray></Strips>\n\
             </Piece>\n</PolyData>\n</VTKFile>\n"
        )
    };
    let p = dir.path().join("quad.vtp");
    std::fs::write(&p, vtp("ascii")).unwrap();
    let m = read_mesh(&p).unwrap();
    // Point 4 repeats point 0 and is unused: kept, in order.
    assert_eq!(m.vertices().len(), 5);
    assert_eq!(m.vertices()[3], Point3::new(0.0, 1.0, 0.1));
    assert_eq!(m.triangles(), &[[0, 1, 2], [0, 2, 3], [1, 2, 3], [0, 1, 2], [2, 1, 3]]);
    let p = dir.path().join("compressed.vtp");
    std::fs::write(&p, vtp("binary").replace("byte_order=", "compressor=\"vtkZLibDataCompressor\" byte_order=")).unwrap();
    let e = assert_file_error(read_vtp(&p), &p, "compressed");
    assert!(matches!(e, MeshFileError::Unsupported { .. }) && e.to_string().contains("without compression"), "{e}");
    // A compressor named over ASCII arrays only (as VTK writes OpenSim's geometry) is no matter.
    std::fs::write(&p, vtp("ascii").replace("byte_order=", "compressor=\"vtkZLibDataCompressor\" byte_order=")).unwrap();
    assert_eq!(read_vtp(&p).unwrap().vertices().len(), 5);
    // Text that is not base64 in a binary array.
    let p = dir.path().join("binary.vtp");
    std::fs::write(&p, vtp("binary")).unwrap();
    assert!(matches!(assert_file_error(read_vtp(&p), &p, "binary"), MeshFileError::Corrupt { .. }));
    let p = dir.path().join("broken.vtp");
    std::fs::write(&p, &vtp("ascii")[..200]).unwrap();
    assert!(matches!(assert_file_error(read_vtp(&p), &p, "broken"), MeshFileError::Corrupt { .. }));
}

/// Built without the `step` feature (`cargo test -p coxa-io`; the workspace's build has it), a
/// STEP file is one line naming the feature (issue 63, item 6).
#[cfg(not(feature = "step"))]
#[test]
fn without_the_step_feature_a_step_file_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("part.step");
    std::fs::write(&p, "ISO-10303-21;\nEND-ISO-10303-21;\n").unwrap();
    let e = read_mesh(&p).unwrap_err().to_string();
    assert!(e.contains("part.step") && e.contains("`step` feature") && !e.contains('\n'), "{e}");
}

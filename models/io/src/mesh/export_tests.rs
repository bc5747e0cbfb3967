//! The formats written for other tools (OBJ, VTP, glTF binary): round trips, layout, refusals.

use std::path::Path;

use base64::Engine;
use coxa_core::Mesh;
use nalgebra::Point3;
use serde_json::Value;

use super::*;
use crate::Error;

/// A closed, outward octahedron at awkward doubles (not representable in single precision).
fn octahedron(scale: f64, shift: [f64; 3]) -> Mesh {
    let v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
        .map(|p| Point3::new(p[0] * scale + shift[0], p[1] * scale + shift[1], p[2] * scale + shift[2]));
    let t = vec![[0, 1, 2], [1, 3, 2], [3, 4, 2], [4, 0, 2], [1, 0, 5], [3, 1, 5], [4, 3, 5], [0, 4, 5]];
    Mesh::new(v.to_vec(), t).unwrap()
}

fn awkward() -> Mesh {
    octahedron(1.0 / 3.0 * 40.0, [-123.456789012345, 1e-7, std::f64::consts::PI * 100.0])
}

#[test]
fn obj_and_vtp_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let m = awkward();
    assert!(m.is_watertight() && m.signed_volume_mm3() > 0.0);
    for name in ["o.obj", "o.OBJ.vtp", "o.VTP"] {
        let p = dir.path().join(name);
        write_mesh(&m, &p).unwrap();
        assert_eq!(read_mesh(&p).unwrap(), m, "{name} does not round-trip");
    }
    assert_eq!(read_obj(&dir.path().join("o.obj")).unwrap(), m);
    // The OBJ says its units and frame; the VTP is valid XML text.
    assert!(std::fs::read_to_string(dir.path().join("o.obj")).unwrap().contains("LPS millimetres"));
    let vtp = std::fs::read_to_string(dir.path().join("o.VTP")).unwrap();
    assert!(roxmltree::Document::parse(&vtp).is_ok() && vtp.contains(r#"<AppendedData encoding="base64">"#));
}

#[test]
fn obj_faces_in_every_form_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("quad.obj");
    // A quad with texture/normal indices, then a triangle by negative (relative) indices.
    std::fs::write(&p, "# test\nmtllib x.mtl\no quad\nv 0 0 0\nv 1 0 0 1.0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvn 0 0 1\ng a\nusemtl m\nf 1/1/1 2/1/1 3//1 4/1\nf -4 -2 -1\n").unwrap();
    let m = read_mesh(&p).unwrap();
    assert_eq!(m.vertices().len(), 4);
    assert_eq!(m.triangles(), &[[0, 1, 2], [0, 2, 3], [0, 2, 3]]);
    for (text, why) in [("v 0 0\n", "three coordinates"), ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 x\n", "not a vertex index"), ("v 0 0 0\nf 1 2\n", "a face with 2")] {
        std::fs::write(&p, text).unwrap();
        let e = read_obj(&p).unwrap_err().to_string();
        assert!(e.contains(why) && e.contains("quad.obj") && e.contains("line"), "{e}");
    }
    std::fs::write(&p, "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n").unwrap();
    assert!(matches!(read_obj(&p), Err(Error::Mesh(MeshFileError::InvalidMesh { .. }))));
}

/// A VTP as VTK writes it by default (`UInt32` byte counts) with `Float32` points appended in
/// base64, the byte count encoded apart from the values, and `Int32` polygons inline binary.
#[test]
fn vtk_style_binary_arrays_are_read() {
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let with_count = |v: Vec<u8>| [(v.len() as u32).to_le_bytes().to_vec(), v].concat();
    let pts: Vec<u8> = [0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.5, 1.0, 0.25].iter().flat_map(|x| x.to_le_bytes()).collect();
    let appended = format!("{}{}", b64((pts.len() as u32).to_le_bytes().to_vec()), b64(pts));
    let conn = b64(with_count([0i32, 1, 2].iter().flat_map(|x| x.to_le_bytes()).collect()));
    let offs = b64(with_count(3i32.to_le_bytes().to_vec()));
    let text = format!(
        "<?xml version=\"1.0\"?><VTKFile type=\"PolyData\" version=\"0.1\" byte_order=\"LittleEndian\"><PolyData><Piece NumberOfPoints=\"3\" NumberOfPolys=\"1\">\
         <Points><DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"appended\" offset=\"0\"/></Points>\
         <Polys><DataArray type=\"Int32\" Name=\"connectivity\" format=\"binary\">{conn}</DataArray><DataArray type=\"Int32\" Name=\"offsets\" format=\"binary\">{offs}</DataArray></Polys>\
         </Piece></PolyData><AppendedData encoding=\"base64\">\n  _{appended}\n</AppendedData></VTKFile>"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.vtp");
    std::fs::write(&p, &text).unwrap();
    let m = read_vtp(&p).unwrap();
    assert_eq!(m.vertices(), &[Point3::new(0.0, 0.0, 0.0), Point3::new(1.0, 0.0, 0.0), Point3::new(0.5, 1.0, 0.25)]);
    assert_eq!(m.triangles(), &[[0, 1, 2]]);
    std::fs::write(&p, text.replace("encoding=\"base64\"", "encoding=\"raw\"")).unwrap();
    assert!(read_vtp(&p).unwrap_err().to_string().contains("raw appended"));
}

/// A GLB's JSON and binary chunk, checked against the container's layout.
fn glb_parts(path: &Path) -> (Value, Vec<u8>) {
    let b = std::fs::read(path).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
    assert_eq!(&b[..4], b"glTF");
    assert_eq!(u32_at(4), 2);
    assert_eq!(u32_at(8), b.len());
    let json_len = u32_at(12);
    assert_eq!(&b[16..20], b"JSON");
    assert_eq!(json_len % 4, 0);
    let bin_at = 20 + json_len;
    assert_eq!(&b[bin_at + 4..bin_at + 8], b"BIN\0");
    let bin = b[bin_at + 8..bin_at + 8 + u32_at(bin_at)].to_vec();
    assert_eq!(bin_at + 8 + bin.len(), b.len());
    (serde_json::from_slice(&b[20..bin_at]).unwrap(), bin)
}

/// The mesh of glTF mesh `k`, as stored (LPS mm, single precision).
fn glb_mesh(doc: &Value, bin: &[u8], k: usize) -> Mesh {
    let prim = &doc["meshes"][k]["primitives"][0];
    let bytes = |accessor: &Value| {
        let acc = &doc["accessors"][accessor.as_u64().unwrap() as usize];
        let view = &doc["bufferViews"][acc["bufferView"].as_u64().unwrap() as usize];
        let at = view["byteOffset"].as_u64().unwrap() as usize;
        assert_eq!(at % 4, 0);
        (&bin[at..at + view["byteLength"].as_u64().unwrap() as usize], acc["count"].as_u64().unwrap() as usize)
    };
    let (p, n) = bytes(&prim["attributes"]["POSITION"]);
    let f: Vec<f32> = p.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(f.len(), 3 * n);
    let (i, ni) = bytes(&prim["indices"]);
    let idx: Vec<u32> = i.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(idx.len(), ni);
    Mesh::new(f.chunks_exact(3).map(|c| Point3::new(f64::from(c[0]), f64::from(c[1]), f64::from(c[2]))).collect(), idx.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()).unwrap()
}

#[test]
fn glb_scene_holds_each_part_in_its_node_with_its_material() {
    let dir = tempfile::tempdir().unwrap();
    let (hip, femur, head, liner) = (awkward(), octahedron(20.0, [0.0, 0.0, -300.0]), octahedron(14.0, [5.0, 5.0, -250.0]), octahedron(16.0, [5.0, 5.0, -250.0]));
    let parts = [
        GlbPart { group: "bones", name: "hip_right", mesh: &hip, material: GlbMaterial::bone() },
        GlbPart { group: "implants", name: "head", mesh: &head, material: GlbMaterial::implant("head") },
        GlbPart { group: "bones", name: "femur_right", mesh: &femur, material: GlbMaterial::bone() },
        GlbPart { group: "implants", name: "liner", mesh: &liner, material: GlbMaterial::implant("liner") },
    ];
    let p = dir.path().join("case.glb");
    write_glb(&parts, &p).unwrap();
    let (doc, bin) = glb_parts(&p);
    assert_eq!(doc["asset"]["version"], "2.0");
    let nodes = doc["nodes"].as_array().unwrap();
    let name = |i: &Value| nodes[i.as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string();
    let root = &nodes[doc["scenes"][0]["nodes"][0].as_u64().unwrap() as usize];
    assert_eq!(root["matrix"].as_array().unwrap().len(), 16);
    let groups: Vec<String> = root["children"].as_array().unwrap().iter().map(name).collect();
    assert_eq!(groups, ["bones", "implants"]);
    let members = |g: usize| nodes[root["children"][g].as_u64().unwrap() as usize]["children"].as_array().unwrap().iter().map(name).collect::<Vec<_>>();
    assert_eq!((members(0), members(1)), (vec!["hip_right".to_string(), "femur_right".into()], vec!["head".to_string(), "liner".into()]));
    // Bones share one material; each implant has its own.
    let material_of = |k: usize| doc["materials"][doc["meshes"][k]["primitives"][0]["material"].as_u64().unwrap() as usize]["name"].as_str().unwrap().to_string();
    assert_eq!((0..4).map(material_of).collect::<Vec<_>>(), ["bone", "implant head", "bone", "implant liner"]);
    assert_eq!(doc["materials"].as_array().unwrap().len(), 3);
    for (k, part) in parts.iter().enumerate() {
        assert_eq!(doc["meshes"][k]["name"], part.name);
        let back = glb_mesh(&doc, &bin, k);
        assert_eq!(back.vertices().len(), part.mesh.vertices().len());
        assert_eq!(back.triangles(), part.mesh.triangles());
        // Single precision: each coordinate within half an f32 ulp of |x| <= 400 mm.
        let rel = (back.signed_volume_mm3() - part.mesh.signed_volume_mm3()).abs() / part.mesh.signed_volume_mm3();
        assert!(rel < 1e-6, "{}: volume off by {rel:e}", part.name);
        let acc = &doc["accessors"][doc["meshes"][k]["primitives"][0]["attributes"]["POSITION"].as_u64().unwrap() as usize];
        let (lo, hi) = back.bounds().unwrap();
        assert_eq!((acc["min"][2].as_f64().unwrap(), acc["max"][2].as_f64().unwrap()), (lo.z, hi.z));
    }
}

#[test]
fn new_formats_never_overwrite_and_leave_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let m = awkward();
    for name in ["a.obj", "a.vtp", "a.glb"] {
        let p = dir.path().join(name);
        std::fs::write(&p, b"precious").unwrap();
        assert!(matches!(write_mesh(&m, &p), Err(Error::WouldOverwrite { .. })));
        assert_eq!(std::fs::read(&p).unwrap(), b"precious");
        // A folder that does not exist: one error naming the file, nothing written.
        let q = dir.path().join("missing").join(name);
        let e = write_mesh(&m, &q).unwrap_err();
        assert!(matches!(e, Error::Write { .. }) && e.to_string().contains(&q.display().to_string()), "{e}");
        assert!(!q.exists());
    }
    assert!(matches!(write_glb(&[], &dir.path().join("none.glb")), Err(Error::Mesh(MeshFileError::NotRepresentable { .. }))));
    let far = octahedron(1e300, [0.0; 3]);
    let p = dir.path().join("far.glb");
    assert!(matches!(write_mesh(&far, &p), Err(Error::Mesh(MeshFileError::NotRepresentable { .. }))));
    assert!(!p.exists());
    assert_eq!("GLB".parse::<MeshFormat>(), Ok(MeshFormat::Glb));
    assert!("fbx".parse::<MeshFormat>().unwrap_err().contains("stl, ply, obj, glb and vtp"));
}

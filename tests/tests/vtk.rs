//! Legacy VTK surfaces read by coxa and by VTK itself (tests/peers/vtk_read.py): the 90 pelvis
//! atlas surfaces (ASCII, float) and BINARY copies the test writes; and VTK XML PolyData, the
//! OpenSim geometry files (.vtp, ASCII arrays).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use coxa_core::Mesh;

use crate::common::{peer_python, shared_data, workspace_root};

/// VTK's points and triangles of each file.
fn vtk_read(python: &Path, paths: &[PathBuf]) -> Result<Vec<(Vec<f64>, Vec<u32>)>> {
    let dir = tempfile::tempdir()?;
    let script = workspace_root().join("tests/peers/vtk_read.py");
    let out = Command::new(python).arg(&script).arg(dir.path()).args(paths).output().context("running VTK")?;
    if !out.status.success() {
        bail!("VTK failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    (0..paths.len())
        .map(|i| {
            let p = std::fs::read(dir.path().join(format!("{i}.points.f64")))?;
            let t = std::fs::read(dir.path().join(format!("{i}.triangles.u32")))?;
            Ok((p.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(), t.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()))
        })
        .collect()
}

/// `mesh` as a BINARY legacy VTK file (big-endian float points, classic polygon cells).
fn write_binary_vtk(mesh: &Mesh, path: &Path) -> Result<()> {
    let mut b = format!("# vtk DataFile Version 4.2\ncoxa test\nBINARY\nDATASET POLYDATA\nPOINTS {} float\n", mesh.vertices().len()).into_bytes();
    for p in mesh.vertices() {
        for c in [p.x, p.y, p.z] {
            b.extend_from_slice(&(c as f32).to_be_bytes());
        }
    }
    let n = mesh.triangles().len();
    b.extend_from_slice(format!("\nPOLYGONS {n} {}\n", 4 * n).as_bytes());
    for t in mesh.triangles() {
        for v in [3, t[0], t[1], t[2]] {
            b.extend_from_slice(&(v as i32).to_be_bytes());
        }
    }
    b.extend_from_slice(b"\n");
    std::fs::write(path, b)?;
    Ok(())
}

fn assert_same(mesh: &Mesh, peer: &(Vec<f64>, Vec<u32>), what: &str) {
    let ours: Vec<f64> = mesh.vertices().iter().flat_map(|p| [p.x, p.y, p.z]).collect();
    assert_eq!(ours.len(), peer.0.len(), "{what}: point count");
    let differ = ours.iter().zip(&peer.0).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{what}: {differ} coordinates differ from VTK's");
    let tris: Vec<u32> = mesh.triangles().iter().flatten().copied().collect();
    assert_eq!(tris, peer.1, "{what}: triangles differ from VTK's");
}

#[test]
fn pelvis_atlas_vtk_matches_vtk() -> Result<()> {
    let Some(dir) = shared_data("pelvis_atlas/surface") else { return Ok(()) };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "vtk"));
    paths.sort();
    assert_eq!(paths.len(), 90, "30 subjects x (left hip, right hip, sacrum)");
    let meshes = paths.iter().map(|p| coxa_io::mesh::read_mesh(p)).collect::<Result<Vec<_>, _>>()?;
    for (p, m) in paths.iter().zip(&meshes) {
        assert_eq!(m.vertices().len(), 5000, "{}", p.display());
        assert!(m.triangles().len() > 9900, "{}", p.display());
    }
    let Some(python) = peer_python() else { return Ok(()) };
    let peer = vtk_read(&python, &paths)?;
    for ((p, m), v) in paths.iter().zip(&meshes).zip(&peer) {
        assert_same(m, v, &p.display().to_string());
    }
    // BINARY copies of three of them: coxa and VTK read the same (and the same as the ASCII).
    let tmp = tempfile::tempdir()?;
    let picks = [0, 31, 89];
    let written: Vec<PathBuf> = picks.iter().map(|i| tmp.path().join(format!("b{i}.vtk"))).collect();
    for (i, w) in picks.iter().zip(&written) {
        write_binary_vtk(&meshes[*i], w)?;
    }
    let peer_bin = vtk_read(&python, &written)?;
    for ((i, w), v) in picks.iter().zip(&written).zip(&peer_bin) {
        let m = coxa_io::mesh::read_vtk(w)?;
        assert_same(&m, v, &w.display().to_string());
        assert_eq!(m, meshes[*i], "{}: binary copy differs from the ASCII file", w.display());
    }
    eprintln!("90 atlas surfaces and 3 binary copies: coxa's points and triangles equal VTK 9.7.2's exactly");
    Ok(())
}

#[test]
fn opensim_vtp_matches_vtk() -> Result<()> {
    let Some(dir) = shared_data("opensim") else { return Ok(()) };
    let mut paths = Vec::new();
    for sub in ["Geometry", "Rajagopal/Geometry"] {
        for e in std::fs::read_dir(dir.join(sub))? {
            let p = e?.path();
            if p.extension().is_some_and(|e| e == "vtp") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    assert_eq!(paths.len(), 10, "{paths:?}");
    let meshes = paths.iter().map(|p| coxa_io::mesh::read_mesh(p)).collect::<Result<Vec<_>, _>>()?;
    for (p, m) in paths.iter().zip(&meshes) {
        assert!(m.vertices().len() > 100 && !m.triangles().is_empty(), "{}", p.display());
    }
    let Some(python) = peer_python() else { return Ok(()) };
    let peer = vtk_read(&python, &paths)?;
    for ((p, m), v) in paths.iter().zip(&meshes).zip(&peer) {
        assert_same(m, v, &p.display().to_string());
    }
    eprintln!("10 OpenSim .vtp files: coxa's points and triangles equal VTK 9.7.2's exactly");
    Ok(())
}

//! A case's meshes written for other tools (`--mesh-format`, issue 63): OBJ, glTF binary and VTP of
//! a real case's bones and implants read back by the peers (trimesh for STL, OBJ and GLB; VTK's
//! `vtkXMLPolyDataReader` for VTP, scenarios/tests/peer/mesh_read.py) with the STL's vertex count
//! and volume; and a folder that may not be written refused in one line, nothing written.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cases::{coxa, ok};
use crate::common::{peer_python, shared_data};

/// The peers' reading of `files` (mesh_read.py): per file, its meshes (a GLB's by name).
fn peer_read(python: &Path, files: &[PathBuf]) -> Result<BTreeMap<String, Vec<Value>>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/mesh_read.py");
    let out = Command::new(python).arg(script).args(files).output().context("running the mesh peers")?;
    if !out.status.success() {
        bail!("the peers could not read the meshes: {}", String::from_utf8_lossy(&out.stderr));
    }
    let j: BTreeMap<String, Vec<Value>> = serde_json::from_slice(&out.stdout)?;
    Ok(j)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// `coxa plan` on z013's bone surfaces (../shared/data/vsd_bones) with `--mesh-format
/// obj,glb,vtp`: every bone and implant's OBJ (trimesh), VTP (VTK) and node of `case.glb`
/// (trimesh) has the vertex count of its STL as trimesh reads it (its vertices merged: an STL has
/// no vertex list of its own) and a volume within 1e-6 relative of the STL's. The GLB holds
/// single precision as the STL does, so its volumes are the STL's to rounding; OBJ and VTP hold
/// coxa's doubles, so they differ from the STL by the STL's own rounding (the implants, made in
/// double precision, show it). Each implant is its own node with its own material; the bones share
/// `bone`; `anatomy/meshes/bones.glb` holds the bones alone.
#[test]
fn case_meshes_read_back_by_the_peers() -> Result<()> {
    let Some(dir) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("case");
    let mesh = |name: &str, file: &str| format!("{name}={}", dir.join(format!("z013_{file}.stl")).display());
    let (hr, fr, hl, fl) = (mesh("hip_right", "Hip_R"), mesh("femur_right", "Femur_R"), mesh("hip_left", "Hip_L"), mesh("femur_left", "Femur_L"));
    let args = ["plan", "--side", "right", "--mesh", &hr, "--mesh", &fr, "--mesh", &hl, "--mesh", &fl, "--out", out.to_str().unwrap(), "--mesh-format", "obj,glb,vtp", "--quiet"];
    ok(&coxa(&args));
    let stls: Vec<PathBuf> =
        ["anatomy/meshes", "implants"].iter().flat_map(|d| std::fs::read_dir(out.join(d)).unwrap().map(|e| e.unwrap().path())).filter(|p| p.extension().is_some_and(|e| e == "stl")).collect();
    let names: Vec<String> = stls.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for want in ["hip_right", "femur_right", "hip_left", "femur_left", "shell", "liner", "head", "stem"] {
        assert!(names.iter().any(|n| n == want), "no {want}.stl among {names:?}");
    }
    let mut files: Vec<PathBuf> = stls.iter().flat_map(|s| [s.clone(), s.with_extension("obj"), s.with_extension("vtp")]).collect();
    files.extend([out.join("case.glb"), out.join("anatomy/meshes/bones.glb")]);
    let Some(python) = peer_python() else { return Ok(()) };
    let read = peer_read(&python, &files)?;
    let at = |p: &Path| read[&p.display().to_string()].clone();
    let glb = at(&out.join("case.glb"));
    let in_glb = |name: &str| glb.iter().find(|e| e["name"] == name).cloned().unwrap_or_else(|| panic!("case.glb has no mesh {name}"));
    let mut worst: BTreeMap<&str, f64> = BTreeMap::new();
    for (stl, name) in stls.iter().zip(&names) {
        let s = &at(stl)[0];
        assert!(s["watertight"].as_bool().unwrap(), "{name}.stl");
        let coxa_mesh = coxa_io::mesh::read_mesh(&stl.with_extension("obj"))?;
        for (format, e) in [("obj", at(&stl.with_extension("obj"))[0].clone()), ("vtp", at(&stl.with_extension("vtp"))[0].clone()), ("glb", in_glb(name))] {
            let (v, vol) = (e["vertices"].as_u64().unwrap(), e["volume_mm3"].as_f64().unwrap());
            let r = rel(vol, s["volume_mm3"].as_f64().unwrap());
            eprintln!("{name:12} {format}: {v} vertices (STL {}), volume {vol:.4} mm3, {r:.1e} relative to the STL's ({})", s["vertices"], e["reader"]);
            assert_eq!(v, s["vertices"].as_u64().unwrap(), "{name}.{format}: vertex count");
            assert_eq!(v as usize, coxa_mesh.vertices().len(), "{name}.{format}: coxa's own vertices");
            assert_eq!(e["triangles"], s["triangles"], "{name}.{format}: triangles");
            assert!(r < 1e-6, "{name}.{format}: volume {vol} vs the STL's {}", s["volume_mm3"]);
            if format != "glb" {
                // The doubles exactly: the peer's volume is coxa's own to summation order.
                assert!(rel(vol, coxa_mesh.signed_volume_mm3()) < 1e-12, "{name}.{format}: {vol} vs coxa's {}", coxa_mesh.signed_volume_mm3());
            }
            let w = worst.entry(format).or_insert(0.0);
            *w = w.max(r);
        }
        let material = in_glb(name)["material"].as_str().unwrap().to_string();
        let bone = stl.parent().unwrap().ends_with("meshes");
        assert_eq!(material, if bone { "bone".to_string() } else { format!("implant {name}") }, "{name}: material");
    }
    eprintln!("largest volume difference from the STL's: {worst:?}");
    let bones_glb: Vec<String> = at(&out.join("anatomy/meshes/bones.glb")).iter().map(|e| e["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(bones_glb, ["hip_right", "femur_right", "hip_left", "femur_left"]);
    Ok(())
}

/// Meshes asked for in a folder that may not be written: one line naming the folder and the
/// cause, exit status 2, nothing written. As root (who writes everywhere) coxa runs as `nobody`
/// through setpriv.
#[test]
fn unwritable_mesh_folder_fails_cleanly() -> Result<()> {
    let Some(dir) = shared_data("vsd_bones") else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked)?;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555))?;
    let out = locked.join("case");
    let args = ["anatomy", "--mesh", &format!("femur_right={}", dir.join("z013_Femur_R.stl").display()), "--out", out.to_str().unwrap(), "--mesh-format", "glb"];
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let run = if is_root { Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_coxa")]).args(args).output()? } else { coxa(&args) };
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755))?;
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    if is_root && stderr.starts_with("setpriv:") {
        eprintln!("note: skipping, setpriv cannot run coxa as nobody: {stderr}");
        return Ok(());
    }
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("locked") && lines[0].to_lowercase().contains("permission"), "{stderr}");
    assert_eq!(std::fs::read_dir(&locked)?.count(), 0, "something was written");
    Ok(())
}

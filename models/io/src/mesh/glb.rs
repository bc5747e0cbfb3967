//! glTF 2.0 binary (`.glb`): a scene of named meshes, each in its own node with its material,
//! write only.
//!
//! **Layout.** One scene; its root node holds the transform from coxa's frame to glTF's, and
//! under it one node per group (`bones`, `implants`) with one node per part (`hip_right`,
//! `shell`, ...), each its own mesh of one indexed triangle primitive: `POSITION` and `NORMAL`
//! (area-weighted vertex normals) as `FLOAT` `VEC3`, indices as `UNSIGNED_INT`, every accessor
//! in one binary chunk, 4-byte aligned. Parts of the same material name share it (the bones
//! share `bone`; each implant has its own, [`GlbMaterial::implant`]).
//!
//! **Units and frame.** The vertices are stored as coxa has them, LPS millimetres (x left,
//! y posterior, z superior), in single precision (glTF's `POSITION` is `FLOAT`); the root node's
//! matrix turns them into glTF's metres, +Y up and +Z forward: `gltf = 0.001 (x_L, z_S, −y_P)`,
//! a proper rotation (the patient faces +Z, their left is +X, as glTF's "front faces +Z"). A
//! reader that takes the meshes alone (e.g. `trimesh`'s `scene.geometry`) gets LPS mm; one that
//! applies the scene graph (web and AR viewers) gets metres, upright. The root node's `extras`
//! says so.
//!
//! **Why by hand.** The JSON is a dozen objects built with `serde_json` (already a dependency);
//! the `gltf-json` crate would add a derive crate and its own validation for that, and coxa
//! writes only this one layout. The peers check it: trimesh reads every part back with its
//! vertex count and volume (scenarios/tests/coxa/mesh_export.rs).

use std::io::Write;
use std::path::Path;

use coxa_core::Mesh;
use serde_json::{Value, json};

use super::{MeshFileError, write_new};
use crate::Result;

/// A glTF metallic-roughness material.
#[derive(Debug, Clone, PartialEq)]
pub struct GlbMaterial {
    /// Its name (parts with the same name share one material).
    pub name: String,
    /// Linear RGBA base colour, each 0..=1.
    pub base_colour: [f32; 4],
    /// Metalness, 0..=1.
    pub metallic: f32,
    /// Roughness, 0..=1.
    pub roughness: f32,
}

impl GlbMaterial {
    /// Bone: ivory, not metallic, rough.
    #[must_use]
    pub fn bone() -> Self {
        Self { name: "bone".into(), base_colour: [0.89, 0.85, 0.76, 1.0], metallic: 0.0, roughness: 0.8 }
    }

    /// The material of the implant part `part`, named `implant <part>`: titanium alloy for the
    /// shell, neck and stem, cobalt-chromium for the head, polyethylene for the liner, grey metal
    /// for any other part.
    #[must_use]
    pub fn implant(part: &str) -> Self {
        let (base_colour, metallic, roughness) = match part {
            "shell" | "neck" | "stem" => ([0.62, 0.62, 0.66, 1.0], 1.0, 0.4),
            "head" => ([0.82, 0.82, 0.84, 1.0], 1.0, 0.15),
            "liner" => ([0.94, 0.94, 0.90, 1.0], 0.0, 0.6),
            _ => ([0.7, 0.7, 0.7, 1.0], 1.0, 0.5),
        };
        Self { name: format!("implant {part}"), base_colour, metallic, roughness }
    }
}

/// One mesh of a glTF scene: its group node's name, its own node's (and mesh's) name, the
/// surface in LPS mm, and its material.
#[derive(Debug, Clone)]
pub struct GlbPart<'a> {
    /// The group node it hangs under (`bones`, `implants`); groups keep their first order.
    pub group: &'a str,
    /// The node's and the mesh's name.
    pub name: &'a str,
    /// The surface, LPS mm.
    pub mesh: &'a Mesh,
    /// Its material.
    pub material: GlbMaterial,
}

const FLOAT: u32 = 5126;
const UNSIGNED_INT: u32 = 5125;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;

/// The root node's matrix (column-major): LPS mm -> glTF metres, Y up, Z forward (module docs).
const GLTF_FROM_LPS_MM: [f64; 16] = [0.001, 0.0, 0.0, 0.0, 0.0, 0.0, -0.001, 0.0, 0.0, 0.001, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];

/// Writes `parts` as one binary glTF 2.0 scene (see the [module](self) docs). Never over an
/// existing file; no file is left behind on failure.
///
/// # Errors
/// [`crate::Error::WouldOverwrite`], [`crate::Error::Write`]; [`MeshFileError::NotRepresentable`]
/// (nothing written) for no parts, an empty mesh, a coordinate beyond single precision or a file
/// beyond glTF's 4 GiB.
pub fn write_glb(parts: &[GlbPart<'_>], path: &Path) -> Result<()> {
    let refuse = |why: String| -> crate::Error { MeshFileError::NotRepresentable { path: path.to_path_buf(), why }.into() };
    if parts.is_empty() {
        return Err(refuse("no mesh to write".into()));
    }
    if cfg!(target_endian = "big") {
        return Err(refuse("glTF is little-endian and this machine is not; write STL or PLY".into()));
    }
    let mut bin: Vec<u8> = Vec::new();
    let (mut accessors, mut views, mut meshes, mut materials, mut leaves) = (Vec::new(), Vec::new(), Vec::new(), Vec::<GlbMaterial>::new(), Vec::new());
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for part in parts {
        let m = part.mesh;
        if m.triangles().is_empty() {
            return Err(refuse(format!("the part {:?} has no triangles", part.name)));
        }
        let positions: Vec<[f32; 3]> = m.vertices().iter().map(|p| [p.x as f32, p.y as f32, p.z as f32]).collect();
        if let Some(i) = positions.iter().position(|p| p.iter().any(|c| !c.is_finite())) {
            return Err(refuse(format!("vertex {i} of {:?} is beyond single precision's range; write PLY", part.name)));
        }
        let normals: Vec<[f32; 3]> = m.vertex_normals().iter().map(|n| if n.norm() > 0.0 { [n.x as f32, n.y as f32, n.z as f32] } else { [0.0, 0.0, 1.0] }).collect();
        let (lo, hi) = positions.iter().fold(([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]), |(lo, hi), p| (std::array::from_fn(|k| lo[k].min(p[k])), std::array::from_fn(|k| hi[k].max(p[k]))));
        let mut view = |bytes: &[u8], target: u32| {
            views.push(json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len(), "target": target}));
            bin.extend_from_slice(bytes);
            views.len() - 1
        };
        let p_view = view(bytemuck::cast_slice(&positions), ARRAY_BUFFER);
        let n_view = view(bytemuck::cast_slice(&normals), ARRAY_BUFFER);
        let i_view = view(bytemuck::cast_slice(m.triangles()), ELEMENT_ARRAY_BUFFER);
        let a = accessors.len();
        accessors.push(json!({"bufferView": p_view, "componentType": FLOAT, "count": positions.len(), "type": "VEC3", "min": lo, "max": hi}));
        accessors.push(json!({"bufferView": n_view, "componentType": FLOAT, "count": normals.len(), "type": "VEC3"}));
        accessors.push(json!({"bufferView": i_view, "componentType": UNSIGNED_INT, "count": 3 * m.triangles().len(), "type": "SCALAR"}));
        let material = materials.iter().position(|x| x.name == part.material.name).unwrap_or_else(|| {
            materials.push(part.material.clone());
            materials.len() - 1
        });
        meshes.push(json!({"name": part.name, "primitives": [{"attributes": {"POSITION": a, "NORMAL": a + 1}, "indices": a + 2, "material": material, "mode": 4}]}));
        leaves.push(json!({"name": part.name, "mesh": meshes.len() - 1}));
        match groups.iter_mut().find(|(g, _)| *g == part.group) {
            Some((_, members)) => members.push(leaves.len() - 1),
            None => groups.push((part.group, vec![leaves.len() - 1])),
        }
    }
    // Nodes: the root, then the groups, then the parts.
    let first_leaf = 1 + groups.len();
    let mut nodes = vec![json!({
        "name": "coxa (LPS mm)",
        "matrix": GLTF_FROM_LPS_MM,
        "children": (1..first_leaf).collect::<Vec<_>>(),
        "extras": {"units": "mm", "frame": "DICOM LPS (x left, y posterior, z superior); this node's matrix turns it into glTF metres, +Y up, +Z forward"},
    })];
    nodes.extend(groups.iter().map(|(g, members)| json!({"name": g, "children": members.iter().map(|i| first_leaf + i).collect::<Vec<_>>()})));
    nodes.extend(leaves);
    let materials: Vec<Value> =
        materials.iter().map(|m| json!({"name": m.name, "pbrMetallicRoughness": {"baseColorFactor": m.base_colour, "metallicFactor": m.metallic, "roughnessFactor": m.roughness}})).collect();
    let scene_name = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let doc = json!({
        "asset": {"version": "2.0", "generator": format!("coxa {}", env!("CARGO_PKG_VERSION"))},
        "scene": 0,
        "scenes": [{"name": scene_name, "nodes": [0]}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": materials,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": bin.len()}],
    });
    let mut json_chunk = serde_json::to_vec(&doc).map_err(|e| refuse(format!("the glTF JSON: {e}")))?;
    json_chunk.resize(json_chunk.len().next_multiple_of(4), b' ');
    bin.resize(bin.len().next_multiple_of(4), 0);
    let total = u32::try_from(12 + 8 + json_chunk.len() + 8 + bin.len()).map_err(|_| refuse("the meshes exceed glTF's 4 GiB; write STL or PLY per mesh".into()))?;
    write_new(path, |out| {
        out.write_all(b"glTF")?;
        out.write_all(&2u32.to_le_bytes())?;
        out.write_all(&total.to_le_bytes())?;
        for (chunk, kind) in [(&json_chunk, b"JSON"), (&bin, b"BIN\0")] {
            out.write_all(&(chunk.len() as u32).to_le_bytes())?;
            out.write_all(kind)?;
            out.write_all(chunk)?;
        }
        Ok(())
    })
}

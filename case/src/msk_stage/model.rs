//! The stage's OpenSim model (read, or the built-in gait2392; written back for OpenSim) and the
//! bone surfaces it is registered with (the model's, the patient's).

use crate::error::{Context, Result};
use coxa_msk::{bone_geometry, osim};
use nalgebra::Vector3;

/// A musculoskeletal model ready to use: the model, the .osim text it was read from (for
/// exports) and how to name it in outputs.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The model.
    pub model: osim::Model,
    /// The .osim text it was read from.
    pub text: String,
    /// Its file name (`gait2392_thelen2003muscle.osim` for the built-in model).
    pub file_name: String,
    /// What ran, for people: the path, or the built-in model with its credit.
    pub label: String,
}

impl LoadedModel {
    /// Reads `path`, or takes the built-in gait2392 (CC BY 3.0, `coxa_osim::embedded`) when
    /// `path` is None.
    pub fn load(path: Option<&std::path::Path>) -> Result<Self> {
        match path {
            Some(p) => {
                let text = coxa_io::read_text_bounded(p, coxa_io::Bound::TEXT).with_context(|| format!("cannot read the musculoskeletal model {}", p.display()))?;
                let model = osim::parse_osim(&text, p)?;
                let file_name = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
                Ok(Self { model, text, file_name, label: p.display().to_string() })
            }
            None => Ok(Self {
                model: osim::embedded::gait2392()?,
                text: osim::embedded::GAIT2392_OSIM.to_string(),
                file_name: osim::embedded::GAIT2392_FILE_NAME.to_string(),
                label: osim::embedded::GAIT2392_CREDIT.to_string(),
            }),
        }
    }

    /// Writes `changed` (this model changed by coxa) as a new .osim file: everything coxa does
    /// not model is kept from this model's text. Never overwrites.
    pub fn export(&self, changed: &osim::Model, out: &std::path::Path) -> Result<()> {
        self.export_with_meshes(changed, &[], out)
    }

    /// [`Self::export`] with the listed bodies' display meshes replaced (the patient's own bone
    /// surfaces, `crate::opensim_setup::write_patient_meshes`).
    pub fn export_with_meshes(&self, changed: &osim::Model, meshes: &[(String, Vec<osim::MeshGeometry>)], out: &std::path::Path) -> Result<()> {
        let updated = osim::update_osim(&self.text, &self.file_name, changed)?;
        let updated = if meshes.is_empty() { updated } else { osim::set_body_meshes(&updated, &self.file_name, meshes)? };
        crate::atomic::write_new(out, updated.as_bytes())
    }
}

/// The model's generic bone surfaces (`pelvis`, `femur_r`, `femur_l` display meshes, m) from
/// its `Geometry` folder: `geometry`, else the folder `Geometry` beside the model file.
pub fn generic_bones(loaded: &LoadedModel, model_path: Option<&std::path::Path>, geometry: Option<&std::path::Path>) -> Result<bone_geometry::GenericBones> {
    let dir = match (geometry, model_path) {
        (Some(g), _) => g.to_path_buf(),
        (None, Some(p)) => p.parent().unwrap_or(std::path::Path::new(".")).join("Geometry"),
        (None, None) => crate::bail!(
            "the built-in model has no bone surfaces: give --bone-geometry DIR, the folder of gait2392's pelvis.vtp, l_pelvis.vtp, sacrum.vtp, femur_r.vtp, femur_l.vtp (OpenSim's Geometry folder)"
        ),
    };
    let meshes = osim::body_meshes(&loaded.text, &loaded.file_name)?;
    let bone = |body: &str| -> Result<coxa_core::Mesh> {
        let (mut v, mut f) = (Vec::new(), Vec::new());
        for m in meshes.iter().filter(|m| m.body == body) {
            let path = dir.join(&m.mesh_file);
            let mesh = coxa_io::mesh::read_mesh(&path).with_context(|| format!("the model's bone surface {} (give the model's Geometry folder with --bone-geometry)", path.display()))?;
            let base = u32::try_from(v.len())?;
            v.extend(mesh.vertices().iter().map(|p| nalgebra::Point3::from(p.coords.component_mul(&Vector3::from(m.scale_factors)))));
            f.extend(mesh.triangles().iter().map(|t| t.map(|i| i + base)));
        }
        crate::ensure!(!v.is_empty(), "the model {} attaches no display mesh to body {body}; bone registration needs its surface", loaded.label);
        Ok(coxa_core::Mesh::new(v, f)?)
    };
    Ok(bone_geometry::GenericBones { pelvis: bone("pelvis")?, femur_r: bone("femur_r")?, femur_l: bone("femur_l")? })
}

/// The patient's bones of a `coxa anatomy` meshes folder (`hip_left.stl`, `hip_right.stl`,
/// `sacrum.stl`, `femur_left.stl`, `femur_right.stl`, LPS mm; the femurs optional), mirrored
/// through the sagittal plane when `mirror` (a left hip on the model's right leg):
/// `[pelvis, femur on the model's right, femur on its left]`.
pub fn patient_bones(dir: &std::path::Path, mirror: bool) -> Result<[Option<coxa_core::Mesh>; 3]> {
    let read = |n: &str| -> Result<Option<coxa_core::Mesh>> {
        let p = dir.join(format!("{n}.stl"));
        if !p.exists() {
            return Ok(None);
        }
        Ok(Some(coxa_io::mesh::read_mesh(&p).with_context(|| format!("bone surface {}", p.display()))?))
    };
    assemble_bones(read, |n| format!("{}: no {n}.stl; give the meshes folder of coxa anatomy (hip_left, hip_right, sacrum, femur_left, femur_right .stl)", dir.display()), mirror)
}

/// `[pelvis, femur on the model's right, femur on its left]` from bone surfaces by coxa's
/// class names (`get`; `missing` words the error of a missing pelvis part), mirrored when
/// `mirror`.
fn assemble_bones(get: impl Fn(&str) -> Result<Option<coxa_core::Mesh>>, missing: impl Fn(&str) -> String, mirror: bool) -> Result<[Option<coxa_core::Mesh>; 3]> {
    let read = |n: &str| -> Result<Option<coxa_core::Mesh>> { Ok(get(n)?.map(|m| if mirror { bone_geometry::mirror_x(&m) } else { m })) };
    let mut parts = Vec::new();
    for n in ["hip_left", "hip_right", "sacrum"] {
        parts.push(read(n)?.with_context(|| missing(n))?);
    }
    let pelvis = bone_geometry::merge_meshes(&parts.iter().collect::<Vec<_>>())?;
    let (right, left) = if mirror { ("femur_left", "femur_right") } else { ("femur_right", "femur_left") };
    Ok([Some(pelvis), read(right)?, read(left)?])
}

/// The case's bones for `[msk] geometry = "bones"`: its surfaces by coxa's class names
/// (`hip_left`, `hip_right`, `sacrum`, `femur_left`, `femur_right`; LPS mm) and its landmarks.
#[derive(Debug, Clone, Copy)]
pub struct CaseBones<'a> {
    /// The anatomy stage's bone surfaces.
    pub bones: &'a [(coxa_core::Bone, coxa_core::Mesh)],
    /// The anatomy stage's landmarks (the pelvis' ASISs and pubic tubercles, both femoral heads).
    pub landmarks: &'a coxa_core::PatientLandmarks,
}

impl CaseBones<'_> {
    /// The landmarks that place the generic pelvis, mirrored (x -> -x, left <-> right) when
    /// `mirror` (a left hip on the model's right leg).
    ///
    /// # Errors
    /// Without the pelvis landmarks or a femoral head centre.
    pub fn pelvis_landmarks(&self, mirror: bool) -> Result<bone_geometry::PelvisPoints> {
        let pl = self.landmarks.pelvis.as_ref().context("[msk] geometry = \"bones\" needs the pelvis landmarks (ASISs and pubic tubercles: both hip bones imaged); use geometry = \"landmarks\"")?;
        let head = |s: coxa_core::Side| {
            self.landmarks
                .femur(s)
                .map(|f| f.head_centre.lps_mm)
                .with_context(|| format!("[msk] geometry = \"bones\" needs both femoral head centres; the {s:?} one was not found (use geometry = \"landmarks\")"))
        };
        let (hl, hr) = (head(coxa_core::Side::Left)?, head(coxa_core::Side::Right)?);
        let m = |v: nalgebra::Point3<f64>| nalgebra::Point3::new(if mirror { -v.x } else { v.x }, v.y, v.z);
        let pubis = nalgebra::center(&pl.pubic_tubercle_left.lps_mm, &pl.pubic_tubercle_right.lps_mm);
        let (hjc_left, hjc_right, asis_left, asis_right) = if mirror { (hr, hl, pl.asis_right.lps_mm, pl.asis_left.lps_mm) } else { (hl, hr, pl.asis_left.lps_mm, pl.asis_right.lps_mm) };
        Ok(bone_geometry::PelvisPoints { hjc_left: m(hjc_left), hjc_right: m(hjc_right), asis_left: m(asis_left), asis_right: m(asis_right), pubis: m(pubis) })
    }

    /// The pelvis (both hip bones and the sacrum as one mesh) and the femurs on the model's right
    /// and left legs, mirrored when `mirror` (a left hip on the model's right leg).
    ///
    /// # Errors
    /// Without a hip bone or the sacrum.
    pub fn surfaces(&self, mirror: bool) -> Result<(coxa_core::Mesh, Option<coxa_core::Mesh>, Option<coxa_core::Mesh>)> {
        let get = |n: &str| -> Result<Option<coxa_core::Mesh>> { Ok(coxa_core::Bone::from_name(n).and_then(|b| self.bones.iter().find(|(m, _)| *m == b)).map(|(_, m)| m.clone())) };
        let missing = |n: &str| format!("[msk] geometry = \"bones\" needs the case's {n} surface, which it does not have; use geometry = \"landmarks\"");
        let [pelvis, right, left] = assemble_bones(get, missing, mirror)?;
        Ok((pelvis.context("no pelvis surface")?, right, left))
    }
}

//! The realistic phantom (issue 14, part 7): a CT voxelised from the installed LLP26 adult
//! lower-limb shape model (GIAS3, `musculoskeletal-models` 0.2.4) — its mean shape or one of its
//! 26 training subjects — with the phantom's known geometry measured on the exact surfaces.
//!
//! **The bones.** LLP26 models the pelvis and the left femur of the same 26 adults together, in
//! one frame (a reference subject's CT, read as LPS). The pelvis is one part of three closed
//! surfaces: the left hip bone (largest x), the sacrum (between) and the right hip bone. The
//! pelvis is turned into its own anterior pelvic plane frame (coxa's landmarks on the exact
//! surfaces), with the origin between the two acetabular centres, so that the phantom's LPS axes
//! are its pelvic frame as for the built-in phantom. The model's own femur does not sit in its
//! socket (in the mean shape its head centre is 8.6 mm from the socket's, through the acetabular
//! roof), so both femurs are placed as a virtual population's are
//! ([`crate::population`], **Placement and size**): the left femur and its mirror image (the
//! model has no right femur of its own: its `right_mirrored` file mirrors the whole limb), each
//! head centre on its socket's centre, the femoral frame turned onto the pelvic frame (neutral
//! hip), and both scaled so that the joint space coxa measures is 3 mm (the mean shape's femur by
//! 0.90: LLP26's mean head, 22.8 mm, is larger than its mean socket, 23.6 mm, leaves room for).
//!
//! **The truth.** coxa's own landmarks on the exact surfaces (before voxelising): head centres and
//! radii, neck-shaft angle and femoral anteversion (the femurs are whole, condyles included),
//! acetabular centres, radii and radiographic angles, ASIS and pubic tubercles. The demo's CT
//! pipeline (threshold segmentation, surfaces, landmarks) is then checked against these.
//!
//! **Soft tissue.** Muscles as capsules placed from the same landmarks (gluteus medius from the
//! iliac crest's lateral side to the greater trochanter; iliopsoas from the iliac fossa, in front
//! of the hip joint, to the lesser trochanter), a body outline 40 mm around the bones with a fat
//! layer ([`coxa_anatomy::mesh_phantom`]). These are coarse stand-ins: their volumes are not
//! anatomical measurements.

use std::path::Path;

use nalgebra::{Matrix4, Point3, Vector3};
use serde_json::{Value, json};

use coxa_anatomy::landmarks::{AcetabulumLandmarks, Bones, acetabulum_landmarks, find, pelvis_landmarks};
use coxa_anatomy::mesh_phantom::{MeshBone, MeshPhantomSpec, MuscleCapsule, mesh_phantom};
use coxa_core::{CupAngleDefinition, LabelMap, Mesh, PatientLandmarks, PelvicFrame, Side, Volume};
use coxa_shape::gias::{self, Llp26Part};

use crate::population::{DEFAULT_JOINT_SPACE_MM, part_mesh, place_femurs};

/// Grid steps per LLP26 element side: a femur of about 4,100 and a pelvis of about 21,600
/// vertices, smoother than the 1.5 mm voxels they are cut into.
pub const DIVISIONS: usize = 10;

/// Which shape of the model the phantom is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhantomShape {
    /// The model's mean.
    Mean,
    /// Training subject k (1-based, 1..=26).
    Training(usize),
}

impl PhantomShape {
    /// `mean` or `training-K`.
    ///
    /// # Errors
    /// Anything else, in one line.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "mean" {
            return Ok(Self::Mean);
        }
        match s.strip_prefix("training-").map(str::parse::<usize>) {
            Some(Ok(k)) if (1..=26).contains(&k) => Ok(Self::Training(k)),
            _ => Err(format!("{s:?}: use \"mean\" or \"training-K\" (K = 1..26, LLP26's training subjects)")),
        }
    }
    /// The name `parse` reads.
    pub fn name(&self) -> String {
        match self {
            Self::Mean => "mean".into(),
            Self::Training(k) => format!("training-{k:02}"),
        }
    }
}

/// A realistic phantom: CT, label map (bones and muscles), the exact surfaces and the truth.
pub struct ShapePhantom {
    /// HU.
    pub ct: Volume,
    /// coxa's ids: bones and the stand-in muscles.
    pub labels: LabelMap,
    /// The exact surfaces, named as coxa's classes (`hip_left`, ..., `sacrum`), LPS mm.
    pub bones: Vec<(String, Mesh)>,
    /// coxa's landmarks on the exact surfaces.
    pub landmarks: PatientLandmarks,
    /// `input/phantom_truth.json`.
    pub truth: Value,
}

/// Builds the phantom of `shape` from the LLP26 folder `dir` (`musculoskeletal/models`).
///
/// # Errors
/// One line: the model cannot be read, the pelvis is not three closed surfaces, or coxa's
/// landmarks fail on the exact surfaces.
pub fn build(dir: &Path, shape: PhantomShape, spec: &MeshPhantomSpec) -> Result<ShapePhantom, String> {
    let (bones, scale) = bones(dir, shape)?;
    let (landmarks, warnings) = find(&Bones::named(&bones));
    let pelvis = landmarks.pelvis.as_ref().ok_or_else(|| format!("LLP26 {}: no anterior pelvic plane on the exact surfaces ({})", shape.name(), warnings.join("; ")))?;
    if landmarks.femurs.len() != 2 || landmarks.acetabula.len() != 2 {
        return Err(format!("LLP26 {}: landmarks not found on the exact surfaces: {}", shape.name(), warnings.join("; ")));
    }
    let id = |n: &str| coxa_anatomy::labels::coxa_classes().iter().find(|(_, c)| *c == n).map(|(i, _)| i);
    let mesh_bones: Vec<MeshBone<'_>> =
        bones.iter().map(|(n, m)| Ok(MeshBone { label: id(n).ok_or_else(|| format!("no class {n}"))?, thigh: n.starts_with("femur"), mesh: m })).collect::<Result<_, String>>()?;
    let muscles = muscles(&bones, &landmarks);
    let (ct, labels) = mesh_phantom(&mesh_bones, &muscles, spec).map_err(|e| e.to_string())?;
    let side_obj = |f: &dyn Fn(Side) -> Value| json!({"left": f(Side::Left), "right": f(Side::Right)});
    let pt = |q: &Point3<f64>| json!([q.x, q.y, q.z]);
    let fem = |s: Side| landmarks.femur(s).expect("two femurs");
    let ace = |s: Side| landmarks.acetabulum(s).expect("two acetabula");
    let radiographic = |s: Side| {
        pelvis
            .acetabular_angles
            .iter()
            .find(|(side, _)| *side == s)
            .and_then(|(_, a)| a.iter().find(|a| a.definition == CupAngleDefinition::Radiographic))
            .map_or(Value::Null, |a| json!({"inclination": a.inclination.deg(), "anteversion": a.anteversion.deg()}))
    };
    let provenance = "GIAS3 LLP26 adult lower-limb model (musculoskeletal-models 0.2.4, MPL-2.0), 26 adults, Auckland Bioengineering Institute";
    let truth = json!({
        "description": format!("a realistic phantom voxelised from the LLP26 shape model's {} (pelvis and left femur; the right femur is the left one's mirror image): the known values are coxa's landmarks on the exact surfaces; its LPS axes are its anterior pelvic plane frame", match shape { PhantomShape::Mean => "mean shape".to_string(), PhantomShape::Training(k) => format!("training subject {k}") }),
        "kind": "shape_model",
        "shape": shape.name(),
        "model": provenance,
        "head_centres_lps_mm": side_obj(&|s| pt(&fem(s).head_centre.lps_mm)),
        "head_radius_mm": side_obj(&|s| json!(fem(s).head_radius_mm)),
        "neck_shaft_angle_deg": side_obj(&|s| json!(fem(s).neck_shaft_angle_deg)),
        "neck_anteversion_deg": side_obj(&|s| json!(fem(s).anteversion_deg)),
        "acetabulum_centres_lps_mm": side_obj(&|s| pt(&ace(s).centre.lps_mm)),
        "acetabulum_radius_mm": side_obj(&|s| json!(ace(s).radius_mm)),
        "acetabulum_radiographic_deg": side_obj(&radiographic),
        "asis_lps_mm": {"left": pt(&pelvis.asis_left.lps_mm), "right": pt(&pelvis.asis_right.lps_mm)},
        "pubic_tubercles_lps_mm": {"left": pt(&pelvis.pubic_tubercle_left.lps_mm), "right": pt(&pelvis.pubic_tubercle_right.lps_mm)},
        "femur_scale": scale,
        "joint_space_mm": DEFAULT_JOINT_SPACE_MM,
        "voxel_mm": spec.voxel_mm,
    });
    Ok(ShapePhantom { ct, labels, bones, landmarks, truth })
}

/// The exact surfaces of `shape`, in the pelvis's anterior pelvic plane frame (origin between the
/// acetabular centres): hip_left, hip_right, sacrum, femur_left, femur_right; and the femurs' scale.
///
/// # Errors
/// One line: the model, the pelvis's surfaces, or its landmarks.
pub fn bones(dir: &Path, shape: PhantomShape) -> Result<(Vec<(String, Mesh)>, f64), String> {
    let (model, subjects) = gias::llp26_with_subjects(dir, false, &[Llp26Part::Pelvis, Llp26Part::Femur], DIVISIONS).map_err(|e| format!("LLP26 model: {e}"))?;
    let weights = match shape {
        PhantomShape::Mean => vec![0.0; model.n_modes()],
        PhantomShape::Training(k) => subjects.get(k - 1).cloned().ok_or_else(|| format!("LLP26 holds {} training subjects, not {k}", subjects.len()))?,
    };
    let x = model.instance_flat(&weights).map_err(|e| e.to_string())?;
    let pelvis = part_mesh(&model, "pelvis", &x)?.ok_or("LLP26: no pelvis part")?;
    let femur = part_mesh(&model, "femur_left", &x)?.ok_or("LLP26: no femur part")?;
    let mut parts = components(&pelvis)?;
    if parts.len() != 3 {
        return Err(format!("LLP26 pelvis: {} separate surfaces, expected 3 (two hip bones and the sacrum)", parts.len()));
    }
    // By centroid x: right hip (LPS x is the patient's left), sacrum, left hip.
    parts.sort_by(|a, b| centroid(a).x.total_cmp(&centroid(b).x));
    let [hip_right, sacrum, hip_left] = <[Mesh; 3]>::try_from(parts).map_err(|_| "three parts")?;
    let pelvis_frame = |hl: &Mesh, hr: &Mesh| -> Result<([AcetabulumLandmarks; 2], PelvicFrame), String> {
        let a = [
            acetabulum_landmarks(hl, Side::Left, None).map_err(|e| format!("LLP26 {}: left acetabulum: {e}", shape.name()))?,
            acetabulum_landmarks(hr, Side::Right, None).map_err(|e| format!("LLP26 {}: right acetabulum: {e}", shape.name()))?,
        ];
        let f = pelvis_landmarks(hl, hr, &a[0], &a[1]).map_err(|e| format!("LLP26 {}: anterior pelvic plane: {e}", shape.name()))?.frame;
        Ok((a, f))
    };
    // Into the anterior pelvic plane frame, the origin between the acetabular centres.
    let (a, frame) = pelvis_frame(&hip_left, &hip_right)?;
    let mid = nalgebra::center(&a[0].centre.lps_mm, &a[1].centre.lps_mm);
    let to_frame: Matrix4<f64> = frame.pelvic_from_lps().to_homogeneous() * Matrix4::new_translation(&-mid.coords);
    let (hip_left, hip_right, sacrum) = (hip_left.transformed(&to_frame), hip_right.transformed(&to_frame), sacrum.transformed(&to_frame));
    let (a, frame) = pelvis_frame(&hip_left, &hip_right)?;
    let placed = place_femurs([&hip_left, &hip_right], &a, &frame, &femur, DEFAULT_JOINT_SPACE_MM).map_err(|e| format!("LLP26 {}: {e}", shape.name()))?;
    let mut out = vec![("hip_left".to_string(), hip_left), ("hip_right".to_string(), hip_right), ("sacrum".to_string(), sacrum)];
    out.extend(placed.meshes);
    Ok((out, placed.scale))
}

/// The stand-in muscles of both sides, placed from the landmarks on the exact surfaces.
fn muscles(bones: &[(String, Mesh)], l: &PatientLandmarks) -> Vec<MuscleCapsule> {
    let mut out = Vec::new();
    for side in [Side::Left, Side::Right] {
        let s = side.lateral_sign();
        let (Some(hip), Some(f), Some(a)) = (bones.iter().find(|(n, _)| *n == format!("hip_{}", side.as_str())).map(|(_, m)| m), l.femur(side), l.acetabulum(side)) else {
            continue;
        };
        // The iliac crest's top: the centroid of the hip bone's highest 15 mm.
        let top = hip.vertices().iter().map(|p| p.z).fold(f64::NEG_INFINITY, f64::max);
        let crest: Vec<&Point3<f64>> = hip.vertices().iter().filter(|p| p.z > top - 15.0).collect();
        let crest = Point3::from(crest.iter().map(|p| p.coords).sum::<Vector3<f64>>() / crest.len().max(1) as f64);
        let (lateral, anterior, up) = (Vector3::x() * s, -Vector3::y(), Vector3::z());
        let (gm, ip) = if side == Side::Left { (82, 88) } else { (83, 89) };
        out.push(MuscleCapsule { label: gm, path_lps_mm: vec![crest + lateral * 22.0 - up * 10.0, f.greater_trochanter.lps_mm + lateral * 8.0 + up * 10.0], radius_mm: 22.0 });
        out.push(MuscleCapsule {
            label: ip,
            path_lps_mm: vec![crest - lateral * 30.0 + anterior * 10.0 - up * 15.0, a.centre.lps_mm + anterior * (a.radius_mm + 14.0) - lateral * 5.0, f.lesser_trochanter.lps_mm + anterior * 6.0],
            radius_mm: 15.0,
        });
    }
    out
}

/// The separate closed surfaces of `mesh` (triangles joined through shared vertices).
fn components(mesh: &Mesh) -> Result<Vec<Mesh>, String> {
    let n = mesh.vertices().len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for t in mesh.triangles() {
        let a = root(&mut parent, t[0] as usize);
        for &v in &t[1..] {
            let b = root(&mut parent, v as usize);
            parent[b] = a;
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| root(&mut parent, i)).collect();
    let mut ids: Vec<usize> = roots.clone();
    ids.sort_unstable();
    ids.dedup();
    ids.iter()
        .map(|&r| {
            let mut map = vec![u32::MAX; n];
            let mut v = Vec::new();
            let f: Vec<[u32; 3]> = mesh
                .triangles()
                .iter()
                .filter(|t| roots[t[0] as usize] == r)
                .map(|t| {
                    t.map(|i| {
                        let i = i as usize;
                        if map[i] == u32::MAX {
                            map[i] = v.len() as u32;
                            v.push(mesh.vertices()[i]);
                        }
                        map[i]
                    })
                })
                .collect();
            Mesh::new(v, f).map_err(|e| e.to_string())
        })
        .filter(|m| m.as_ref().map_or(true, |m| !m.triangles().is_empty()))
        .collect()
}

fn centroid(m: &Mesh) -> Point3<f64> {
    Point3::from(m.vertices().iter().map(|p| p.coords).sum::<Vector3<f64>>() / m.vertices().len().max(1) as f64)
}

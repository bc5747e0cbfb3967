//! Virtual populations (issue 14, part 6): scenario cases drawn from shape models, so that an
//! implant design is planned and its range of motion simulated on hundreds of plausible hips.
//!
//! ```toml
//! [cases_from_shape_model]      # or, inline: cases_from_shape_model = { n = 500, seed = 1, pelvis_model = "..." }
//! n = 500                       # random subjects, cases ssm-0001 ... ssm-0500
//! seed = 1                      # same seed, same subjects, same bytes
//! pelvis_model = "pelvis.ssm"   # a coxa pelvis model (`coxa shape build`), or the atlas folder itself
//! femur_model = "..."           # optional: the musculoskeletal/models folder; default the installed LLP26
//! side = "right"                # the operated side of every case (default right)
//! joint_space_mm = 3.0          # femoral head radius = socket radius minus this (default 3)
//! n_modes = 10                  # optional: draw only the first modes of each model (default all)
//! ```
//!
//! **A subject.** The pelvis (left hip, right hip and, when the model has it, the sacrum) is a
//! random shape of the pelvis model; both femurs are one random shape of the adult LLP26 femur
//! model (GIAS3, `musculoskeletal-models` 0.2.4, its left femur; the right femur is its mirror
//! image through the sagittal plane, x -> -x with the triangles turned, so both femurs of a subject
//! are the same bone). Weights are standard normal deviates truncated at ±3 SD
//! ([`ShapeModel::sample`]), from a random stream of its own per (seed, case, bone): a case is the
//! same whether it runs alone, in a shard or in the whole population.
//!
//! **The two models are independent.** The atlas pelvises and the LLP26 femurs are different
//! people; no coupled pelvis-femur model of adults is available here (the articulated SSM is
//! paediatric). So a subject's femur shape does not follow its pelvis shape, except for its size:
//!
//! **Placement and size.** On the pelvis coxa's own landmarks find both acetabula (sphere fit of
//! the lunate surface) and the anterior pelvic plane; on the femur its head, shaft and condyles.
//! The femur is scaled uniformly about its head centre (angles are unchanged by a uniform scale;
//! its length changes with it, as a larger pelvis goes with a larger femur), its head centre is put
//! on the acetabulum's centre, and it is turned so that its femoral frame (coxa's: mechanical axis
//! from the condyles' midpoint to the head, posterior condylar line) coincides with the pelvic
//! frame: every hip joint angle zero, the neutral standing position of the simulator. The scale
//! starts at (mean socket radius − `joint_space_mm`) / head radius and is then corrected over
//! three rounds in which the sockets are measured again about the placed heads, as the anatomy
//! stage will measure them: the mean of both sides' joint space (coxa's, the median distance of
//! the lunate surface from the head's sphere) becomes `joint_space_mm`, and each head centre the
//! centre of its socket as found about that head. One scale serves both femurs, so the pelvis's
//! own asymmetry remains as a left-right difference of joint space. The default joint space,
//! 3 mm, is the built-in phantom's and close to what coxa measures on the vsd CT bones (2.6 mm).
//! A draw whose landmarks coxa cannot find, or whose sockets ask for a femoral head outside the
//! published adult range ([`HEAD_RADIUS_RANGE_MM`]: a ±3 SD pelvis can be smaller than any atlas
//! pelvis), is redrawn from the next stream (at most [`MAX_DRAWS`] times; the draw used is
//! recorded, so the population is truncated to adult head sizes, by design).
//!
//! Each case's input folder holds the surfaces as STL (LPS mm) and `shape_sample.json` (models,
//! seed, draw, mode weights, scale, radii), and the case runs through anatomy, planner, range of
//! motion and report like any case of bone surfaces.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Context, Result};
use nalgebra::{Matrix4, Point3};
use serde_json::{Value, json};

use coxa_anatomy::landmarks::{acetabulum_landmarks, femur_landmarks, pelvis_landmarks};
use coxa_core::{Mesh, Side};
use coxa_shape::gias::{self, Llp26Part};
use coxa_shape::{BuildOptions, Part, Provenance, ShapeModel};

pub use crate::scenario_file::ShapeCasesSpec;
use crate::scenario_file::parse_side;

/// How many draws a case may take before it fails.
pub const MAX_DRAWS: u32 = 10;
/// The joint space between the femoral head's sphere and the socket's, mm, when not given.
pub const DEFAULT_JOINT_SPACE_MM: f64 = 3.0;
/// Grid steps per LLP26 element side: a femur of about 11,000 vertices, enough for coxa's
/// landmarks (head, neck, trochanters, condyles) at a third of the 20,000-point model's cost.
pub const FEMUR_DIVISIONS: usize = 10;
/// Published adult femoral head radii, mm (head diameter about 38-56 mm: Noble et al., Clin
/// Orthop 1988; Rubin et al., JBJS Br 1992). A draw whose sockets ask for a head outside this
/// range (a pelvis drawn smaller or larger than any adult's) is redrawn.
pub const HEAD_RADIUS_RANGE_MM: (f64, f64) = (19.0, 28.0);
/// Most subjects one scenario may draw.
pub const MAX_SUBJECTS: i64 = 100_000;

/// One subject of a population, as a case's input.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeSample {
    /// The pelvis model file or atlas folder.
    pub pelvis_model: PathBuf,
    /// The LLP26 `musculoskeletal/models` folder.
    pub femur_model: PathBuf,
    /// The population's seed.
    pub seed: u64,
    /// The subject's number in the population, from 0.
    pub index: usize,
    /// Joint space, mm.
    pub joint_space_mm: f64,
    /// Modes drawn (None: all).
    pub n_modes: Option<usize>,
    /// A training subject (pelvis `index` of the pelvis model's, femur `index` modulo LLP26's 26)
    /// instead of a random draw.
    pub training: bool,
}

/// A resolved population: its cases' names, samples and side.
pub struct Population {
    /// Every subject, named `ssm-0001`, ... (as wide as `n` needs, at least 4 digits).
    pub subjects: Vec<(String, ShapeSample)>,
    /// The operated side.
    pub side: Side,
}

/// A field error of a population spec: the span (for the line), the field and the message.
pub type SpecError = (Option<std::ops::Range<usize>>, &'static str, String);

/// Checks `spec` (paths relative to `base`) and loads its models (so that a broken model is an
/// error of the scenario, not of every case).
///
/// # Errors
/// The field and a one-line message: n or seed out of range, a missing or broken model.
pub fn resolve(spec: &ShapeCasesSpec, base: &Path) -> std::result::Result<Population, SpecError> {
    let training = match &spec.subjects {
        None => false,
        Some(s) if s.get_ref() == "random" => false,
        Some(s) if s.get_ref() == "training" => true,
        Some(s) => {
            return Err((Some(s.span()), "cases_from_shape_model.subjects", format!("{:?}: use \"random\" (n subjects drawn with seed) or \"training\" (the models' own subjects)", s.get_ref())));
        }
    };
    let n = match &spec.n {
        Some(n) if (1..=MAX_SUBJECTS).contains(n.get_ref()) => Some(*n.get_ref()),
        Some(n) => return Err((Some(n.span()), "cases_from_shape_model.n", format!("{} subjects: give 1 to {MAX_SUBJECTS}", n.get_ref()))),
        None if training => None,
        None => return Err((Some(spec.pelvis_model.span()), "cases_from_shape_model.n", "no n: give the number of random subjects (or subjects = \"training\")".to_string())),
    };
    let seed = match &spec.seed {
        Some(s) => u64::try_from(*s.get_ref()).map_err(|_| (Some(s.span()), "cases_from_shape_model.seed", format!("seed {}: give 0 or a positive integer", s.get_ref())))?,
        None if training => 0,
        None => return Err((Some(spec.pelvis_model.span()), "cases_from_shape_model.seed", "no seed: random subjects need one (0 or a positive integer)".to_string())),
    };
    let pelvis_model = base.join(spec.pelvis_model.get_ref());
    if !pelvis_model.exists() {
        return Err((
            Some(spec.pelvis_model.span()),
            "cases_from_shape_model.pelvis_model",
            format!("{} does not exist (paths are relative to the scenario file); give a pelvis .ssm from `coxa shape build` or the pelvis atlas folder", pelvis_model.display()),
        ));
    }
    let femur_model = match &spec.femur_model {
        Some(p) => crate::shape_predict::llp26_dir(&base.join(p.get_ref()), "femur_model").map_err(|e| (Some(p.span()), "cases_from_shape_model.femur_model", e))?,
        None => crate::shape_predict::installed_llp26(&[base]).ok_or_else(|| {
            (
                Some(spec.pelvis_model.span()),
                "cases_from_shape_model.femur_model",
                "no femur model: the LLP26 model (musculoskeletal-models 0.2.4) is neither installed nor in coxa's models/shape/llp26, and femur_model is not given".to_string(),
            )
        })?,
    };
    let side = match &spec.side {
        None => Side::Right,
        Some(s) => parse_side(s.get_ref()).ok_or_else(|| (Some(s.span()), "cases_from_shape_model.side", format!("{:?}: use \"left\" or \"right\"", s.get_ref())))?,
    };
    let joint_space_mm = match &spec.joint_space_mm {
        None => DEFAULT_JOINT_SPACE_MM,
        Some(j) if (0.5..=6.0).contains(&j.get_ref().0) => j.get_ref().0,
        Some(j) => return Err((Some(j.span()), "cases_from_shape_model.joint_space_mm", format!("{} mm is out of range 0.5..=6", j.get_ref().0))),
    };
    let n_modes = match &spec.n_modes {
        None => None,
        Some(k) if *k.get_ref() >= 1 => Some(usize::try_from(*k.get_ref()).unwrap_or(usize::MAX)),
        Some(k) => return Err((Some(k.span()), "cases_from_shape_model.n_modes", format!("{} modes: give 1 or more (or leave it out for all)", k.get_ref()))),
    };
    let m = models(&pelvis_model, &femur_model).map_err(|e| (Some(spec.pelvis_model.span()), "cases_from_shape_model", e))?;
    let n = if training {
        if m.pelvis_subjects.is_empty() || m.femur_subjects.is_empty() {
            return Err((
                Some(spec.pelvis_model.span()),
                "cases_from_shape_model.subjects",
                format!(
                    "\"training\": the {} model holds no training subjects (a .ssm file does not keep them); give the pelvis atlas folder as pelvis_model",
                    if m.pelvis_subjects.is_empty() { "pelvis" } else { "femur" }
                ),
            ));
        }
        let all = m.pelvis_subjects.len() as i64;
        n.map_or(all, |n| n.min(all))
    } else {
        n.unwrap_or(1)
    };
    let prefix = if training { "training" } else { "ssm" };
    let width = n.to_string().len().max(if training { 2 } else { 4 });
    let subjects = (0..n as usize)
        .map(|index| (format!("{prefix}-{:0width$}", index + 1), ShapeSample { pelvis_model: pelvis_model.clone(), femur_model: femur_model.clone(), seed, index, joint_space_mm, n_modes, training }))
        .collect();
    Ok(Population { subjects, side })
}

/// The two models of a population.
pub struct Models {
    /// The pelvis model (parts `hip_left`, `hip_right`, maybe `sacrum`).
    pub pelvis: ShapeModel,
    /// LLP26's left femur (part `femur_left`).
    pub femur: ShapeModel,
    /// The pelvis model's training subjects' mode weights (the atlas's, when built from its folder;
    /// none from a `.ssm` file).
    pub pelvis_subjects: Vec<Vec<f64>>,
    /// LLP26's 26 training subjects' weights (from its `projectedWeights`).
    pub femur_subjects: Vec<Vec<f64>>,
}

type Cache = Mutex<HashMap<(PathBuf, PathBuf), Arc<Models>>>;

/// The models at these paths, loaded once per process (the cases of a run share them).
///
/// # Errors
/// One line: the file or folder and what is wrong with it.
pub fn models(pelvis: &Path, femur: &Path) -> std::result::Result<Arc<Models>, String> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let mut map = cache.lock().map_err(|_| "the shape model cache was poisoned by a panic in another case".to_string())?;
    let key = (pelvis.to_path_buf(), femur.to_path_buf());
    if let Some(m) = map.get(&key) {
        return Ok(m.clone());
    }
    let (p, pelvis_subjects) = pelvis_model_with_subjects(pelvis)?;
    let (f, femur_subjects) = gias::llp26_with_subjects(femur, false, &[Llp26Part::Femur], FEMUR_DIVISIONS).map_err(|e| format!("femur model: {e}"))?;
    let m = Arc::new(Models { pelvis: p, femur: f, pelvis_subjects, femur_subjects });
    map.insert(key, m.clone());
    Ok(m)
}

/// A pelvis model from a `.ssm` file or built from the atlas folder, checked to have both hip bones.
///
/// # Errors
/// One line naming the file and the problem.
pub fn pelvis_model(path: &Path) -> std::result::Result<ShapeModel, String> {
    pelvis_model_with_subjects(path).map(|(m, _)| m)
}

/// [`pelvis_model`] and its training subjects' weights (none for a `.ssm` file).
///
/// # Errors
/// As [`pelvis_model`].
fn pelvis_model_with_subjects(path: &Path) -> std::result::Result<(ShapeModel, Vec<Vec<f64>>), String> {
    let (model, subjects) = if path.is_dir() {
        let built = build_pelvis_atlas_with_subjects(path)?;
        let subjects = built.aligned.iter().map(|x| built.model.project(x)).collect();
        (built.model, subjects)
    } else {
        (ShapeModel::load(path).map_err(|e| format!("pelvis model: {e}"))?, Vec::new())
    };
    for part in ["hip_left", "hip_right"] {
        if !model.parts().iter().any(|p| p.name == part) {
            return Err(format!(
                "pelvis model {}: no part {part:?} (it has {:?}); a pelvis model needs hip_left and hip_right",
                path.display(),
                model.parts().iter().map(|p| &p.name).collect::<Vec<_>>()
            ));
        }
    }
    Ok((model, subjects))
}

/// The whole-pelvis model (left hip, right hip, sacrum) of the atlas in `dir` (or `dir/surface`):
/// the subjects' surfaces must be in vertex correspondence (one mesh topology per bone). Rigid
/// Procrustes and all modes ([`coxa_shape::build`]).
///
/// # Errors
/// One line: no atlas there, fewer than 3 subjects, unreadable or non-corresponding surfaces.
pub fn build_pelvis_atlas(dir: &Path) -> std::result::Result<ShapeModel, String> {
    build_pelvis_atlas_with_subjects(dir).map(|b| b.model)
}

/// [`build_pelvis_atlas`] with the aligned training shapes.
fn build_pelvis_atlas_with_subjects(dir: &Path) -> std::result::Result<coxa_shape::Built, String> {
    let dir = if dir.join("surface").is_dir() { dir.join("surface") } else { dir.to_path_buf() };
    let mut ids: Vec<u32> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {} ({e})", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok())
        .collect();
    ids.sort_unstable();
    if ids.len() < 3 {
        return Err(format!("{}: {} atlas subjects (LeftHip<id>_cpd.vtk); a pelvis model needs at least 3", dir.display(), ids.len()));
    }
    let bones = [("LeftHip", "hip_left"), ("RightHip", "hip_right"), ("Sacrum", "sacrum")];
    let mut shapes = Vec::with_capacity(ids.len());
    let (mut faces, mut parts): (Vec<[u32; 3]>, Vec<Part>) = (Vec::new(), Vec::new());
    for (s, id) in ids.iter().enumerate() {
        let mut x: Vec<Point3<f64>> = Vec::new();
        for (file, part) in bones {
            let path = dir.join(format!("{file}{id}_cpd.vtk"));
            let mesh = coxa_io::mesh::read_vtk(&path).map_err(|e| format!("pelvis atlas: {e}"))?;
            let first = x.len() as u32;
            let theirs: Vec<[u32; 3]> = mesh.triangles().iter().map(|t| t.map(|i| i + first)).collect();
            if s == 0 {
                parts.push(Part { name: part.into(), first_vertex: x.len(), n_vertices: mesh.vertices().len(), first_face: faces.len(), n_faces: theirs.len() });
                faces.extend(theirs);
            } else {
                let p = parts.iter().find(|p| p.name == part).ok_or("pelvis atlas: part list")?;
                if p.first_vertex != x.len() || theirs[..] != faces[p.first_face..p.first_face + p.n_faces] {
                    return Err(format!("{}: its mesh differs from subject {}'s; the atlas surfaces must be in vertex correspondence", path.display(), ids[0]));
                }
            }
            x.extend_from_slice(mesh.vertices());
        }
        shapes.push(x);
    }
    let options = BuildOptions {
        frame: format!("DICOM LPS axes of atlas subject {}'s CT, origin at the mean's centroid", ids[0]),
        provenance: Provenance {
            source: format!("pelvis atlas of {} subjects (JHU I-STAR pelvis atlas, Han et al. 2019, doi 10.1088/1361-6560/ab1456)", ids.len()),
            n_subjects: ids.len(),
            licence: "CC BY 4.0".into(),
        },
        ..BuildOptions::default()
    };
    coxa_shape::build(&shapes, faces, parts, &options).map_err(|e| format!("pelvis atlas {}: {e}", dir.display()))
}

/// A subject: its surfaces (LPS mm, named as coxa's bones) and what made them.
pub struct Subject {
    /// `hip_left`, `hip_right`, `sacrum` (when the model has it), `femur_left`, `femur_right`.
    pub meshes: Vec<(String, Mesh)>,
    /// The record written as `input/shape_sample.json`.
    pub record: Value,
}

/// SplitMix64 of the seed, the subject, the bone and the draw: the stream of one bone's weights.
fn stream(seed: u64, index: usize, bone: u64, draw: u32) -> u64 {
    let mut z = seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407) ^ bone.wrapping_mul(0x9FB2_1C65_1E98_DF25) ^ u64::from(draw).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The mesh of part `name` of shape `x` of `model`.
pub(crate) fn part_mesh(model: &ShapeModel, name: &str, x: &[f64]) -> std::result::Result<Option<Mesh>, String> {
    let Some(p) = model.parts().iter().find(|p| p.name == name) else { return Ok(None) };
    let v: Vec<Point3<f64>> = (p.first_vertex..p.first_vertex + p.n_vertices).map(|i| Point3::new(x[3 * i], x[3 * i + 1], x[3 * i + 2])).collect();
    let f: Vec<[u32; 3]> = model.faces()[p.first_face..p.first_face + p.n_faces].iter().map(|t| t.map(|i| i - p.first_vertex as u32)).collect();
    Mesh::new(v, f).map(Some).map_err(|e| format!("part {name}: {e}"))
}

/// The mirror image of `mesh` through the plane x = 0 (triangles turned to keep facing outward).
pub(crate) fn mirror_x(mesh: &Mesh) -> std::result::Result<Mesh, String> {
    let v = mesh.vertices().iter().map(|p| Point3::new(-p.x, p.y, p.z)).collect();
    let f = mesh.triangles().iter().map(|t| [t[0], t[2], t[1]]).collect();
    Mesh::new(v, f).map_err(|e| e.to_string())
}

/// Subject `sample.index` of its population: the first of up to [`MAX_DRAWS`] draws whose
/// landmarks coxa finds.
///
/// # Errors
/// The models cannot be loaded, or no draw worked (the last draw's reason).
pub fn subject(sample: &ShapeSample) -> std::result::Result<Subject, String> {
    let models = models(&sample.pelvis_model, &sample.femur_model)?;
    if sample.training {
        return draw_subject(&models, sample, 0).map_err(|e| format!("training subject {}: {e}", sample.index + 1));
    }
    let mut why = String::new();
    for draw in 0..MAX_DRAWS {
        match draw_subject(&models, sample, draw) {
            Ok(s) => return Ok(s),
            Err(e) => why = e,
        }
    }
    Err(format!("subject {} of seed {}: coxa found no landmarks on {MAX_DRAWS} draws (last: {why})", sample.index + 1, sample.seed))
}

fn draw_subject(models: &Models, s: &ShapeSample, draw: u32) -> std::result::Result<Subject, String> {
    let modes = |m: &ShapeModel| s.n_modes.map(|k| k.min(m.n_modes()));
    let one = |m: &ShapeModel, bone: u64| -> std::result::Result<(Vec<f64>, Vec<f64>), String> {
        m.sample(1, modes(m), stream(s.seed, s.index, bone, draw)).map_err(|e| e.to_string())?.pop().ok_or_else(|| "no sample".to_string())
    };
    let training = |m: &ShapeModel, subjects: &[Vec<f64>], what: &str| -> std::result::Result<(Vec<f64>, Vec<f64>), String> {
        let w = subjects.get(s.index % subjects.len().max(1)).ok_or_else(|| format!("the {what} model has no training subjects"))?;
        let w = modes(m).map_or(w.clone(), |k| w[..k.min(w.len())].to_vec());
        Ok((w.clone(), m.instance_flat(&w).map_err(|e| e.to_string())?))
    };
    let (pelvis_w, pelvis_x) = if s.training {
        if s.index >= models.pelvis_subjects.len() {
            return Err(format!("the pelvis model has {} training subjects", models.pelvis_subjects.len()));
        }
        training(&models.pelvis, &models.pelvis_subjects, "pelvis")?
    } else {
        one(&models.pelvis, 1)?
    };
    let (femur_w, femur_x) = if s.training { training(&models.femur, &models.femur_subjects, "femur")? } else { one(&models.femur, 2)? };
    let need = |m: Option<Mesh>, name: &str| m.ok_or_else(|| format!("the model has no part {name}"));
    let hip_left = need(part_mesh(&models.pelvis, "hip_left", &pelvis_x)?, "hip_left")?;
    let hip_right = need(part_mesh(&models.pelvis, "hip_right", &pelvis_x)?, "hip_right")?;
    let sacrum = part_mesh(&models.pelvis, "sacrum", &pelvis_x)?;
    let acetabula = [
        acetabulum_landmarks(&hip_left, Side::Left, None).map_err(|e| format!("left acetabulum: {e}"))?,
        acetabulum_landmarks(&hip_right, Side::Right, None).map_err(|e| format!("right acetabulum: {e}"))?,
    ];
    let frame = pelvis_landmarks(&hip_left, &hip_right, &acetabula[0], &acetabula[1]).map_err(|e| format!("anterior pelvic plane: {e}"))?.frame;
    let femur_left = need(part_mesh(&models.femur, "femur_left", &femur_x)?, "femur_left")?;
    let PlacedFemurs { meshes: placed, records: femur_records, scale } = place_femurs([&hip_left, &hip_right], &acetabula, &frame, &femur_left, s.joint_space_mm)?;
    let mut meshes = vec![("hip_left".to_string(), hip_left), ("hip_right".to_string(), hip_right)];
    meshes.extend(sacrum.map(|m| ("sacrum".to_string(), m)));
    meshes.extend(placed);
    let provenance = |m: &ShapeModel| json!({"source": m.info().provenance.source, "licence": m.info().provenance.licence, "n_modes": m.n_modes()});
    let record = json!({
        "description": format!("{}; the femurs scaled so that the joint space coxa measures about the placed heads (mean of both sides) is joint_space_mm, each head centre on its acetabulum's centre, the femoral frame turned onto the pelvic frame (hip angles zero)", if s.training {
            "a training subject: the pelvis model's training pelvis `subject` and LLP26's training femur `femur_training_subject` (the right femur the left's mirror image); they are different people (no adult coupled model), paired by number"
        } else {
            "a virtual subject: a random pelvis of the pelvis model and a random LLP26 femur (the right femur the left's mirror image), drawn independently"
        }),
        "subject": s.index + 1,
        "subjects": if s.training { "training" } else { "random" },
        "femur_training_subject": s.training.then(|| s.index % models.femur_subjects.len().max(1) + 1),
        "seed": s.seed,
        "draw": draw,
        "pelvis_model": provenance(&models.pelvis),
        "femur_model": provenance(&models.femur),
        "pelvis_mode_weights_sd": pelvis_w.iter().zip(models.pelvis.variances()).map(|(w, v)| w / v.sqrt()).collect::<Vec<_>>(),
        "femur_mode_weights_sd": femur_w.iter().zip(models.femur.variances()).map(|(w, v)| w / v.sqrt()).collect::<Vec<_>>(),
        "joint_space_mm": s.joint_space_mm,
        "socket_radius_without_head_mm": {"left": acetabula[0].radius_mm, "right": acetabula[1].radius_mm},
        "femur_scale": scale,
        "femurs": femur_records,
    });
    Ok(Subject { meshes, record })
}

/// Both femurs placed in a pelvis: the left femur `femur_left` and its mirror image (the right),
/// scaled, moved and turned as the module docs say.
pub(crate) struct PlacedFemurs {
    /// `femur_left` and `femur_right`, placed.
    pub meshes: Vec<(String, Mesh)>,
    /// Per femur: its model and placed head radius, angles, head centre and joint space.
    pub records: Vec<Value>,
    /// The femurs' scale.
    pub scale: f64,
}

/// Places `femur_left` and its mirror image in the sockets of `hips` (`[left, right]`, with their
/// acetabula found without a head and the pelvic `frame`), with a joint space of `joint_space_mm`
/// (module docs: **Placement and size**).
///
/// # Errors
/// One line: landmarks not found on the femur, or a scale or head size out of range.
pub(crate) fn place_femurs(
    hips: [&Mesh; 2],
    acetabula: &[coxa_core::landmarks::AcetabulumLandmarks; 2],
    frame: &coxa_core::PelvicFrame,
    femur_left: &Mesh,
    joint_space_mm: f64,
) -> std::result::Result<PlacedFemurs, String> {
    let femurs = [(Side::Left, femur_left.clone()), (Side::Right, mirror_x(femur_left)?)];
    let mut frames = Vec::new();
    for (side, mesh) in &femurs {
        let l = femur_landmarks(mesh, *side).map_err(|e| format!("femur_{}: {e}", side.as_str()))?;
        if l.posterior_condyles.is_none() {
            return Err(format!("femur_{}: no condyles found", side.as_str()));
        }
        let femoral = l.femoral_frame().map_err(|e| e.to_string())?;
        frames.push((l, femoral));
    }
    // One scale for both femurs (the right is the left's mirror image), from the left's head.
    let head_model_mm = frames[0].0.head_radius_mm;
    let mut scale = (0.5 * (acetabula[0].radius_mm + acetabula[1].radius_mm) - joint_space_mm) / head_model_mm;
    // The socket coxa finds depends on the head it is given (the lunate surface is taken about
    // the head's sphere): place, measure the sockets about the placed heads as the anatomy stage
    // will, move each head to its socket's new centre and correct the scale by the mean joint-space
    // error; three rounds settle it to a few hundredths of a millimetre.
    let mut centres = [acetabula[0].centre.lps_mm, acetabula[1].centre.lps_mm];
    let mut measured = [None, None];
    for _ in 0..3 {
        if !(0.6..=1.6).contains(&scale) {
            return Err(format!("the femur would be scaled by {scale:.2} to fit sockets of radius {:.1}/{:.1} mm (its head {head_model_mm:.1} mm)", acetabula[0].radius_mm, acetabula[1].radius_mm));
        }
        let mut errors = Vec::new();
        for (k, side) in [Side::Left, Side::Right].into_iter().enumerate() {
            let a = acetabulum_landmarks(hips[k], side, Some((centres[k], scale * head_model_mm))).map_err(|e| format!("{} acetabulum about the placed head: {e}", side.as_str()))?;
            centres[k] = a.centre.lps_mm;
            errors.extend(a.joint_space_mm.map(|j| j - joint_space_mm));
            measured[k] = a.joint_space_mm;
        }
        if errors.is_empty() {
            break;
        }
        scale += errors.iter().sum::<f64>() / errors.len() as f64 / head_model_mm;
    }
    let head_mm = scale * head_model_mm;
    if !(HEAD_RADIUS_RANGE_MM.0..=HEAD_RADIUS_RANGE_MM.1).contains(&head_mm) {
        return Err(format!(
            "its sockets ({:.1}/{:.1} mm) ask for a femoral head of radius {head_mm:.1} mm, outside the adult range {}..{} mm",
            acetabula[0].radius_mm, acetabula[1].radius_mm, HEAD_RADIUS_RANGE_MM.0, HEAD_RADIUS_RANGE_MM.1
        ));
    }
    let mut meshes = Vec::new();
    let mut records = Vec::new();
    for (k, ((side, mesh), (l, femoral))) in femurs.into_iter().zip(&frames).enumerate() {
        // p' = socket centre + scale R (p - head), R turning the femoral frame onto the pelvic
        // frame: femur_from_lps' = femur_from_lps Rᵀ = pelvic_from_lps.
        let r = frame.pelvic_from_lps().inverse() * femoral.femur_from_lps;
        let (head, centre) = (l.head_centre.lps_mm, centres[k]);
        let m = Matrix4::new_translation(&centre.coords) * r.to_homogeneous() * Matrix4::new_scaling(scale) * Matrix4::new_translation(&-head.coords);
        meshes.push((format!("femur_{}", side.as_str()), mesh.transformed(&m)));
        records.push(json!({
            "side": side.as_str(),
            "head_radius_model_mm": l.head_radius_mm,
            "head_radius_mm": scale * l.head_radius_mm,
            "neck_shaft_angle_deg": l.neck_shaft_angle_deg,
            "anteversion_deg": l.anteversion_deg,
            "head_centre_lps_mm": [centre.x, centre.y, centre.z],
            "joint_space_mm": measured[k],
        }));
    }
    Ok(PlacedFemurs { meshes, records, scale })
}

/// Writes subject `sample`'s surfaces and record into `dir/input/` and returns the surfaces'
/// files by bone name.
///
/// # Errors
/// No subject could be drawn, or a file could not be written.
pub fn write_case_input(sample: &ShapeSample, dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let subject = subject(sample).map_err(crate::Error::msg)?;
    let input = dir.join("input");
    std::fs::create_dir_all(&input).with_context(|| format!("creating {}", input.display()))?;
    let mut files = Vec::new();
    for (name, mesh) in &subject.meshes {
        let p = input.join(format!("{name}.stl"));
        coxa_io::mesh::write_stl(mesh, &p)?;
        files.push((name.clone(), p));
    }
    crate::stamp::write(&input.join("shape_sample.json"), "shape_sample", &subject.record)?;
    Ok(files)
}

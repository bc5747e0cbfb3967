//! The 3D viewer (bevy): a case's bones, muscles, landmarks and frames, the planned implants,
//! the CT as three slice planes with the label map over it, range-of-motion playback with the
//! first contact, and live re-planning.
//!
//! - [`case`]: what is read from a case folder (plain data, LPS mm).
//! - [`live`]: the hip model rebuilt from the case (`model.json`) and re-evaluated by the
//!   simulator for new cup angles, stem version, head size and neck length; the femur's motion.
//! - [`slices`]: the CT's three orthogonal planes with the labels blended in.
//! - [`script`]: the window's scripted actions (`coxa view CASE --script FILE`).
//! - [`revision`]: Save: the surgeon's plan as a new revision of the case's plan.json.
//! - [`screenshot`] / [`frame_time`]: one frame rendered without a window (the GPU, or Mesa's
//!   software Vulkan, lavapipe, on a machine without one).
//! - [`window::run`]: the interactive window (orbit camera, on-screen planning controls, motion
//!   playback); evaluation runs on bevy's async compute pool, never on the render thread.
//!
//! # Frames
//! Everything coxa computes is in LPS mm (+x left, +y posterior, +z superior). The one
//! conversion to bevy's frame (right-handed, +y up) is [`to_bevy`]: bevy `(x, y, z)` = LPS
//! `(x, z, -y)` in metres. Seen from bevy's default camera direction (-z) the picture is a
//! radiograph's AP view: superior up, the patient's left on the right.

use std::path::{Path, PathBuf};

use nalgebra::{Point3, Vector3};

pub mod case;
pub mod case_swap;
pub mod live;
/// The window and the rendering need bevy: cargo feature `window` (default). Without it the
/// crate is the desk's plain data (the case, the live model, scripts, revisions, the case swap),
/// which the fuzz targets use without building bevy (tests/fuzz).
#[cfg(feature = "window")]
mod render;
pub mod revision;
pub mod script;
pub mod slices;
#[cfg(feature = "window")]
pub mod window;

#[cfg(feature = "window")]
pub(crate) use render::lighting;
#[cfg(feature = "window")]
pub use render::{ContactItem, LandmarkItem, SceneItem, SliceItem, frame_time, msaa_or, screenshot, screenshots, spawn_mesh, spawn_scene, to_bevy, transform_of};

pub use case::{CaseData, FrameAxes, Marker};
pub use live::{Controls, Evaluation, LiveModel, RigidMotion};
pub use slices::SlicePlane;
// The looks and cameras are coxa-core's, shared with the report's CPU pictures.
pub use coxa_core::picture::{self, BACKGROUND, BONE, CONTACT, CameraView, Framing, HEAD, LINER, Look, MARKER, SHELL, STEM, implant_look};

/// What can go wrong.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The case folder lacks what the viewer shows.
    #[error("{path}: {why}")]
    Case {
        /// The folder or file.
        path: PathBuf,
        /// What is missing and how to get it.
        why: String,
    },
    /// A JSON file of the case is not JSON (serde_json's error kept as the source).
    #[error("{path}: not valid JSON ({source}); was the case written completely?")]
    CaseJson {
        /// The file.
        path: PathBuf,
        /// serde_json's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A file of the case cannot be read (the I/O error kept as the source).
    #[error("{path}: cannot be read: {source}")]
    CaseRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A mesh file could not be read.
    #[error(transparent)]
    Io(#[from] coxa_io::Error),
    /// The picture was not produced.
    #[error("no picture was rendered into {path}: {why}")]
    Render {
        /// The output file.
        path: PathBuf,
        /// Why (e.g. no Vulkan device).
        why: String,
    },
    /// The output exists (coxa never overwrites).
    #[error("{0} already exists; coxa never overwrites: choose another file")]
    Exists(PathBuf),
    /// The simulator cannot build the hip model of the controls (its reason kept as the cause).
    #[error("live planning: {source}")]
    Model {
        /// The simulator's or the catalog's reason.
        #[source]
        source: coxa_core::ScoreError,
    },
    /// The case's implant catalog cannot be read (the catalog's error kept as the cause).
    #[error("live planning: {what}: {source}")]
    Catalog {
        /// Which catalog (`catalog DIR`, `built-in catalog`).
        what: String,
        /// The catalog's error.
        #[source]
        source: coxa_implants::ImplantError,
    },
    /// The case's own placement cannot be modelled (the simulator's reason kept as the cause).
    #[error("live planning: the case's own placement: {source}")]
    Placement {
        /// The simulator's or the catalog's reason.
        #[source]
        source: coxa_core::ScoreError,
    },
    /// Live planning cannot rebuild or evaluate the hip model.
    #[error("live planning: {why}")]
    Live {
        /// Why, and what to do.
        why: String,
    },
    /// A line of a `--script` file is wrong (line 0: the file itself).
    #[error("{}{}: {why}", file.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    Script {
        /// The script file.
        file: PathBuf,
        /// The line, 1-based.
        line: usize,
        /// What is wrong and what to write instead.
        why: String,
    },
    /// The case folder changed on disk since the viewer opened it: nothing is saved.
    #[error("{path} changed on disk since the viewer opened the case; nothing was saved: close the viewer and open the case again to plan on what is there now")]
    Changed {
        /// The file that changed.
        path: PathBuf,
    },
    /// A plan revision cannot be saved.
    #[error("save: {why}")]
    Save {
        /// Why, and what to do.
        why: String,
    },
}

/// Which body a surface moves with when a motion plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Group {
    /// Fixed: the pelvis, the cup, the other femur, muscles.
    #[default]
    Fixed,
    /// The operated femur (bone as imaged).
    Femur,
    /// The femoral implants (head, neck, stem), placed with the head at the cup centre.
    FemoralImplant,
}

/// What kind of thing a surface is (the window's show/hide toggles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// A bone.
    #[default]
    Bone,
    /// An implant.
    Implant,
    /// A muscle.
    Muscle,
}

/// One surface of the scene, LPS mm.
#[derive(Debug, Clone)]
pub struct SceneMesh {
    /// Name (file stem: `femur_right`, `shell`, ...).
    pub name: String,
    /// The surface.
    pub mesh: coxa_core::Mesh,
    /// How it is drawn.
    pub look: Look,
    /// What moves it.
    pub group: Group,
    /// What it is.
    pub kind: Kind,
    /// Its placement in the scene (identity: as in the file).
    pub motion: Option<RigidMotion>,
}

impl SceneMesh {
    /// A fixed surface drawn as `look`.
    pub fn new(name: impl Into<String>, mesh: coxa_core::Mesh, look: Look) -> Self {
        Self { name: name.into(), mesh, look, group: Group::Fixed, kind: Kind::Bone, motion: None }
    }
}

/// What the viewer shows.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// The surfaces.
    pub meshes: Vec<SceneMesh>,
    /// Landmarks (small spheres).
    pub markers: Vec<Marker>,
    /// Frames (three axes each).
    pub frames: Vec<FrameAxes>,
    /// CT slice planes.
    pub slices: Vec<SlicePlane>,
    /// A highlighted point (the first contact of a motion), LPS mm.
    pub contact_lps_mm: Option<Point3<f64>>,
    /// The hip (cup) centre, LPS mm, if known: the centre of the hip cameras.
    pub hip_centre_lps_mm: Option<Point3<f64>>,
    /// The operated side, if known (`left`/`right`): the lateral camera's side.
    pub side_is_left: bool,
}

/// A muscle's look: its label colour ([`slices::label_colour`]), semi-transparent.
pub fn muscle_look(name: &str, id: Option<u16>) -> Look {
    let id = id.unwrap_or_else(|| coxa_anatomy::labels::coxa_classes().id(name).unwrap_or(0));
    let [r, g, b] = slices::label_colour(id);
    Look { rgba: [f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0, 0.35] }
}

impl Scene {
    /// The scene of `case`: its bones, muscles and landmarks, and the implants of `eval` (the
    /// live evaluation; the case's own implant files when `None`), the operated femur placed
    /// so that the planned head sits in the cup.
    pub fn of_case(case: &CaseData, eval: Option<&Evaluation>) -> Self {
        let side = case.side.or(eval.map(|e| e.placement.side));
        let operated_femur = side.map(|s| format!("femur_{}", s.as_str()));
        let mut meshes = Vec::new();
        for (name, mesh) in &case.bones {
            let is_femur = operated_femur.as_deref() == Some(name.as_str());
            let (group, motion) = match eval {
                Some(e) if is_femur => (Group::Femur, Some(e.femur_as_planned())),
                _ => (Group::Fixed, None),
            };
            meshes.push(SceneMesh { name: name.clone(), mesh: mesh.clone(), look: BONE, group, kind: Kind::Bone, motion });
        }
        for (name, mesh) in &case.muscles {
            meshes.push(SceneMesh { name: name.clone(), mesh: mesh.clone(), look: muscle_look(name, None), group: Group::Fixed, kind: Kind::Muscle, motion: None });
        }
        let implants = eval.map_or(&case.implants, |e| &e.implants);
        for (name, mesh) in implants {
            let group = if live::moves_with_femur(name) { Group::FemoralImplant } else { Group::Fixed };
            meshes.push(SceneMesh { name: name.clone(), mesh: mesh.clone(), look: implant_look(name), group, kind: Kind::Implant, motion: None });
        }
        Scene {
            meshes,
            markers: case.markers.clone(),
            frames: case.frames.clone(),
            slices: Vec::new(),
            contact_lps_mm: None,
            hip_centre_lps_mm: eval.map(|e| e.model.hip_centre_lps_mm()).or_else(|| case.hip_centre_lps_mm()),
            side_is_left: side == Some(coxa_core::Side::Left),
        }
    }

    /// Puts the femur at the first contact of motion `name` of `eval` (the scene must have
    /// been made with `eval`) and marks the contact point.
    ///
    /// # Errors
    /// [`ViewError::Live`] when `eval` has no such motion.
    pub fn pose_at_limit(&mut self, eval: &Evaluation, name: &str) -> Result<(), ViewError> {
        let k = eval
            .motions
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| ViewError::Live { why: format!("no motion {name:?}; the case swept {}", eval.motions.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")) })?;
        let (bone, implant) = eval.femur_motion(k, eval.limit_alpha(k));
        for m in &mut self.meshes {
            match m.group {
                Group::Femur => m.motion = Some(bone),
                Group::FemoralImplant => m.motion = Some(implant),
                Group::Fixed => {}
            }
        }
        self.contact_lps_mm = eval.limits[k].contact.as_ref().map(|c| c.point_lps_mm);
        Ok(())
    }
}

/// What [`load_case`] reads besides the surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// The CT's three slice planes through the hip centre, with the labels.
    pub ct: bool,
    /// Muscle surfaces from the label map (needs `ct`).
    pub muscles: bool,
    /// The live model (rebuilt from `model.json`) and its evaluation at the case's own plan.
    pub live: bool,
}

/// What [`load_case`] returns: the case, its slice planes, the live model and its evaluation.
pub type LoadedCase = (CaseData, Vec<SlicePlane>, Option<(LiveModel, Evaluation)>);

/// A case folder read for the viewer: the case, its slice planes and the live model evaluated
/// at the case's own plan (when asked and possible; else a note in `case.notes`).
///
/// # Errors
/// As [`CaseData::load`].
pub fn load_case(path: &Path, opts: LoadOptions) -> Result<LoadedCase, ViewError> {
    let mut case = CaseData::load(path)?;
    let mut planes = Vec::new();
    if opts.ct || opts.muscles {
        if let Some(ct) = case.load_ct() {
            if opts.muscles
                && let Some(l) = &ct.labels
            {
                case.muscles_from_labels(l);
            }
            if opts.ct {
                let through = case.hip_centre_lps_mm().unwrap_or_else(|| ct.volume.grid().voxel_to_lps(Vector3::from(ct.volume.grid().size().map(|n| n as f64 / 2.0))));
                let overlays = slices::Overlays { labels: ct.labels.as_ref(), uncertainty: ct.uncertainty.as_ref(), lesions: ct.lesions.as_ref() };
                planes = slices::orthogonal_slices(&ct.volume, overlays, &through);
                if let Some(t2) = &ct.pseudo_t2 {
                    let beside = slices::pseudo_mri_slices(t2, &planes);
                    planes.extend(beside);
                }
            }
        } else if case.ct_path.is_none() {
            case.notes.push("the case was not made from a CT (inputs.json names none): no slices, no muscles".into());
        }
    }
    let live = if opts.live {
        match LiveModel::new(&case).and_then(|l| l.evaluate(&l.base_controls()).map(|e| (l, e))) {
            Ok(x) => Some(x),
            Err(e) => {
                case.notes.push(e.to_string());
                None
            }
        }
    } else {
        None
    };
    Ok((case, planes, live))
}

/// The scene of a case folder: `anatomy/meshes/*.stl` (bones), `implants/*.stl`, landmarks and
/// frames; no CT, no live model.
///
/// # Errors
/// [`ViewError::Case`] when the folder has neither; [`ViewError::Io`] for an unreadable mesh.
pub fn case_scene(dir: &Path) -> Result<Scene, ViewError> {
    Ok(Scene::of_case(&CaseData::load(dir)?, None))
}

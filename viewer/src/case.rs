//! What the viewer reads from a case folder (`coxa run` / `coxa demo`: `…/cases/NAME`) or a
//! `coxa plan` folder: surfaces, landmarks and frames, the CT and its label map, the ROM results
//! and the record from which the hip model is rebuilt for live planning (`model.json`).
//!
//! Everything here is plain data in LPS mm; nothing draws. What is missing is not an error
//! unless nothing at all can be shown: it becomes a note the viewer displays.

use std::path::{Path, PathBuf};

use coxa_core::report::MotionRecord;
use coxa_core::{CaseInputs, CaseModel, CaseReport, HipAnatomy, InputMesh, LabelMap, Mesh, PatientLandmarks, PlanRecord, Side, Volume};
use nalgebra::{Point3, Vector3};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ViewError;

/// A named point (landmark), LPS mm.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Name (`head_centre_right`, `asis_left`, ...).
    pub name: String,
    /// Position, LPS mm.
    pub lps_mm: Point3<f64>,
}

/// A named frame drawn as three axes (x red, y green, z blue), LPS.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameAxes {
    /// Name (`pelvic_frame`, ...).
    pub name: String,
    /// Origin, LPS mm.
    pub origin_lps_mm: Point3<f64>,
    /// Unit axes x, y, z in LPS.
    pub axes_lps: [Vector3<f64>; 3],
}

/// The ROM result of one motion, as the case recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct RomLine {
    /// Motion name (the simulator's).
    pub name: String,
    /// Limit of the driven angle, deg (its value at the end of the search if nothing touched).
    pub limit_deg: f64,
    /// `implant-implant`, `implant-bone`, `bone-bone` or `none`.
    pub contact: String,
    /// Which parts touched (`neck-liner_rim`, `femur-pelvis`, ...).
    pub parts: Option<String>,
    /// Where, LPS mm (the pelvis as imaged).
    pub contact_point_lps_mm: Option<Point3<f64>>,
    /// What the activity needs, deg.
    pub required_deg: Option<f64>,
}

/// The CT and, if there is one on its grid, the label map.
#[derive(Debug, Clone)]
pub struct CtData {
    /// The CT (HU).
    pub volume: Volume,
    /// The label map on the CT's grid (bones and muscles).
    pub labels: Option<LabelMap>,
    /// A learned model's per-voxel uncertainty (predictive entropy, nats) on the CT's grid
    /// (`anatomy/uncertainty.nii.gz`), when the case has one.
    pub uncertainty: Option<Volume>,
    /// The bone lesions of the case's `[lesions]` stage (`lesions/lesions.nii.gz` with the kinds
    /// of `lesions/lesions.json`), when it has them.
    pub lesions: Option<crate::slices::LesionMap>,
    /// The case's pseudo T2-weighted image (`pseudo_mri/pseudo_t2.nii.gz`), when it has one.
    pub pseudo_t2: Option<Volume>,
}

/// Where a case re-planned by a save keeps the automatic plan's `model.json` (beside it; not in
/// `plans/`, which holds plan records only): the desk opened again starts from it, its controls
/// relative to the automatic plan.
pub const AUTOMATIC_MODEL: &str = "model.automatic.json";

/// Everything the viewer shows of a case.
#[derive(Debug, Clone, Default)]
pub struct CaseData {
    /// The folder.
    pub dir: PathBuf,
    /// Operated side, if known.
    pub side: Option<Side>,
    /// Bone surfaces (`femur_right`, `hip_left`, `sacrum`, ...).
    pub bones: Vec<(String, Mesh)>,
    /// The placed implants (`shell`, `liner`, `head`, `neck`, `stem`), the femur as imaged.
    pub implants: Vec<(String, Mesh)>,
    /// Muscle surfaces from the label map (`gluteus_medius_right`, ...).
    pub muscles: Vec<(String, Mesh)>,
    /// Landmarks.
    pub markers: Vec<Marker>,
    /// Frames.
    pub frames: Vec<FrameAxes>,
    /// The ROM the case recorded.
    pub rom: Vec<RomLine>,
    /// The record to rebuild the hip model from (live planning, motion playback).
    pub model: Option<CaseModel>,
    /// Where the CT is (from `inputs.json`), if the case came from one.
    pub ct_path: Option<PathBuf>,
    /// The definition the case's report gives the cup angles in (`coxa plan --cup-definition`):
    /// the desk opens in it. `None`: radiographic.
    pub cup_definition: Option<coxa_core::CupAngleDefinition>,
    /// What could not be loaded and why (shown by the viewer).
    pub notes: Vec<String>,
}

/// Bone classes of coxa's label convention (TotalSegmentator ids): everything else is a muscle.
const BONE_IDS: [u16; 5] = [25, 75, 76, 77, 78];

fn stl_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("stl"))).collect()).unwrap_or_default();
    v.sort();
    v
}

fn read_named_meshes(dir: &Path) -> Result<Vec<(String, Mesh)>, ViewError> {
    stl_files(dir).into_iter().map(|p| Ok((p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), coxa_io::mesh::read_mesh(&p)?))).collect()
}

fn read_json(path: &Path) -> Result<Option<Value>, ViewError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|source| ViewError::CaseJson { path: path.to_path_buf(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ViewError::CaseRead { path: path.to_path_buf(), source }),
    }
}

/// A JSON file read as `T`; `Ok(None)` when it is absent, a note when it is not what this coxa
/// writes (a case of another version).
fn read_typed<T: DeserializeOwned>(path: &Path, notes: &mut Vec<String>) -> Result<Option<T>, ViewError> {
    let Some(v) = read_json(path)? else { return Ok(None) };
    match serde_json::from_value(v) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            notes.push(format!("{name} is not what this coxa writes ({e}): what it holds is not shown; run the case again"));
            Ok(None)
        }
    }
}

impl From<&MotionRecord> for RomLine {
    fn from(m: &MotionRecord) -> Self {
        Self {
            name: m.name.clone(),
            limit_deg: m.limit_deg,
            contact: m.contact.clone(),
            parts: m.parts.clone(),
            contact_point_lps_mm: m.contact_point_lps_mm.map(Point3::from),
            required_deg: m.required_deg,
        }
    }
}

impl CaseData {
    /// Reads a case folder: `anatomy/meshes/*.stl`, `implants/*.stl`, `anatomy/anatomy.json`
    /// (landmarks), `report.json` or `plan.json` (side, ROM), `model.json` (live planning),
    /// `inputs.json` (where the CT is). A `plan.json` path means its folder.
    ///
    /// The CT and muscle surfaces are read separately ([`CaseData::load_ct`],
    /// [`CaseData::muscles_from_labels`]): they take longer.
    ///
    /// # Errors
    /// [`ViewError::Case`] when the path is not a folder or shows nothing; [`ViewError::Io`]
    /// for an unreadable mesh; malformed JSON names its file.
    pub fn load(path: &Path) -> Result<Self, ViewError> {
        let dir = if path.is_file() && path.file_name().is_some_and(|n| n == "plan.json") { path.parent().unwrap_or(Path::new(".")).to_path_buf() } else { path.to_path_buf() };
        if !dir.is_dir() {
            return Err(ViewError::Case { path: dir, why: "not a folder; give a case folder of `coxa run` or `coxa demo` (…/cases/NAME), or a `coxa plan` folder or its plan.json".into() });
        }
        let mut case = CaseData { dir: dir.clone(), ..Default::default() };
        case.bones = read_named_meshes(&dir.join("anatomy").join("meshes"))?;
        if case.bones.is_empty() {
            case.bones = read_named_meshes(&dir.join("meshes"))?;
        }
        let mut notes = Vec::new();
        let inputs: Option<CaseInputs> = read_typed(&dir.join("inputs.json"), &mut notes)?;
        case.notes.append(&mut notes);
        if case.bones.is_empty()
            && let Some(inputs) = &inputs
        {
            // Bones given as files (`coxa plan --mesh`, scenario cases with meshes): read in place.
            for InputMesh { name, file } in inputs.meshes() {
                let p = if file.is_absolute() { file.clone() } else { dir.join(file) };
                match coxa_io::mesh::read_mesh(&p) {
                    Ok(mesh) => case.bones.push((name.clone(), mesh)),
                    Err(e) => case.notes.push(format!("bone {name} not shown: {e}")),
                }
            }
        }
        case.implants = read_named_meshes(&dir.join("implants"))?;
        if case.bones.is_empty() && case.implants.is_empty() {
            return Err(ViewError::Case { path: dir, why: "no anatomy/meshes/*.stl and no implants/*.stl: not a case folder of `coxa run` or `coxa demo`".into() });
        }
        // The case report (`coxa run`, `coxa demo`) or, in a `coxa plan` folder, the plan: typed.
        let mut notes = Vec::new();
        let report: Option<CaseReport> = read_typed(&dir.join("report.json"), &mut notes)?;
        let plan: Option<PlanRecord> = if report.is_none() { read_typed(&dir.join("plan.json"), &mut notes)? } else { None };
        case.notes.append(&mut notes);
        case.cup_definition = report.as_ref().and_then(|r| r.cup_definition);
        (case.side, case.rom) = match (&report, &plan) {
            (Some(r), _) => (Some(r.side), r.rom.motions.iter().map(RomLine::from).collect()),
            (None, Some(p)) => (Some(p.side), p.motions.iter().map(|m| RomLine::from(&MotionRecord::from(m))).collect()),
            (None, None) => (None, Vec::new()),
        };
        // A case re-planned by the desk's Save keeps the automatic plan's model beside its
        // plans: the desk's controls are always relative to the automatic plan.
        let kept_model = dir.join(AUTOMATIC_MODEL);
        let model_file = if kept_model.is_file() { kept_model } else { dir.join("model.json") };
        match read_json(&model_file)? {
            Some(v) => match serde_json::from_value::<CaseModel>(coxa_core::provenance::unstamped(v)) {
                Ok(m) if m.model_version == CaseModel::MODEL_VERSION => case.model = Some(m),
                Ok(m) => case.notes.push(format!("model.json has version {} (this viewer reads {}): live planning is off; run the case again", m.model_version, CaseModel::MODEL_VERSION)),
                Err(e) => case.notes.push(format!("model.json cannot be read ({e}): live planning is off")),
            },
            None => case.notes.push("no model.json (cases written before the live viewer): live planning and motion playback are off; run the case again".into()),
        }
        // The landmarks the stages used: every one the anatomy stage found, else the operated
        // hip's from the plan record.
        let mut notes = Vec::new();
        match read_typed::<PatientLandmarks>(&dir.join("anatomy").join("landmarks.json"), &mut notes)? {
            Some(l) => case.add_landmarks(&l),
            None => {
                if let Some(hip) = case.model.as_ref().and_then(|m| m.anatomy.clone()) {
                    case.add_hip_landmarks(&hip);
                }
            }
        }
        case.notes.append(&mut notes);
        if let Some(ct) = inputs.as_ref().and_then(CaseInputs::ct) {
            case.ct_path = Some(if ct.is_absolute() { ct.to_path_buf() } else { dir.join(ct) });
        }
        Ok(case)
    }

    fn add_marker(&mut self, name: String, p: Point3<f64>) {
        if p.iter().all(|x| x.is_finite()) {
            self.markers.push(Marker { name, lps_mm: p });
        }
    }

    fn add_landmarks(&mut self, l: &PatientLandmarks) {
        for f in &l.femurs {
            let side = f.side.as_str();
            for (key, m) in [("head_centre", &f.head_centre), ("greater_trochanter", &f.greater_trochanter), ("lesser_trochanter", &f.lesser_trochanter)] {
                self.add_marker(format!("{key}_{side}"), m.lps_mm);
            }
        }
        for ac in &l.acetabula {
            self.add_marker(format!("acetabulum_centre_{}", ac.side.as_str()), ac.centre.lps_mm);
        }
        if let Some(p) = &l.pelvis {
            for (key, m) in [("asis_left", &p.asis_left), ("asis_right", &p.asis_right), ("pubic_tubercle_left", &p.pubic_tubercle_left), ("pubic_tubercle_right", &p.pubic_tubercle_right)] {
                self.add_marker(key.to_string(), m.lps_mm);
            }
            self.add_frame(&p.frame);
        }
    }

    /// The operated hip's landmarks (a `coxa plan` folder made from surfaces has no anatomy stage).
    fn add_hip_landmarks(&mut self, hip: &HipAnatomy) {
        let side = hip.side.as_str();
        let f = &hip.femur;
        for (key, m) in [("head_centre", &f.head_centre), ("greater_trochanter", &f.greater_trochanter), ("lesser_trochanter", &f.lesser_trochanter)] {
            self.add_marker(format!("{key}_{side}"), m.lps_mm);
        }
        self.add_marker(format!("acetabulum_centre_{side}"), hip.acetabulum.centre.lps_mm);
        if hip.frame_is_app {
            self.add_frame(&hip.frame);
        }
    }

    fn add_frame(&mut self, frame: &coxa_core::PelvicFrame) {
        let r = frame.pelvic_from_lps();
        let axis = |k: usize| -> Vector3<f64> { r.matrix().row(k).transpose() };
        self.frames.push(FrameAxes { name: "pelvic_frame".into(), origin_lps_mm: frame.origin_lps_mm(), axes_lps: [axis(0), axis(1), axis(2)] });
    }

    /// Reads the CT named by `inputs.json` and the label map (`anatomy/labels.nii.gz`), for the
    /// slice planes. `None` (with a note) when the case has no CT or it cannot be read.
    pub fn load_ct(&mut self) -> Option<CtData> {
        let path = self.ct_path.clone()?;
        // Slices are only shown: whatever the modality (the case's own stages required a CT).
        let volume = match coxa_io::open(&path, &coxa_io::OpenOptions::new().with_any_modality(true)) {
            Ok(l) => l.volume,
            Err(e) => {
                self.notes.push(format!("the CT slices are not shown: {e}"));
                return None;
            }
        };
        let labels = self.overlay("anatomy/labels.nii.gz", "labels", volume.grid(), coxa_io::nifti::read_label_map, LabelMap::grid);
        let uncertainty = self.overlay("anatomy/uncertainty.nii.gz", "uncertainty", volume.grid(), coxa_io::nifti::read_volume, Volume::grid);
        if uncertainty.is_some() {
            self.notes.push(format!(
                "slices: voxels the learned segmentation is unsure of (predictive entropy above {} nats, anatomy/uncertainty.nii.gz) are tinted orange",
                coxa_core::report::UNCERTAIN_ENTROPY_NATS
            ));
        }
        let lesions = self.overlay("lesions/lesions.nii.gz", "lesions", volume.grid(), coxa_io::nifti::read_label_map, LabelMap::grid).map(|map| {
            let kinds = self.lesion_kinds();
            self.notes.push(format!("slices: {} bone lesion(s) of lesions/lesions.nii.gz tinted by kind: lytic cyan, blastic green, mixed violet", kinds.len()));
            crate::slices::LesionMap { map, kinds }
        });
        let pseudo_t2 = self.overlay("pseudo_mri/pseudo_t2.nii.gz", "pseudo-MRI", volume.grid(), coxa_io::nifti::read_volume, Volume::grid);
        if pseudo_t2.is_some() {
            self.notes.push("slices: the pseudo-MRI (pseudo_mri/pseudo_t2.nii.gz, derived from the CT, not for diagnosis alone) is drawn beside each CT plane, at the same slice".into());
        }
        Some(CtData { volume, labels, uncertainty, lesions, pseudo_t2 })
    }

    /// Each lesion's kind by its id in the map, from `lesions/lesions.json` (empty, with a note,
    /// when the file is missing or not a lesions record: the map is then drawn as `mixed`).
    fn lesion_kinds(&mut self) -> std::collections::BTreeMap<u16, String> {
        let path = self.dir.join("lesions").join("lesions.json");
        let record: Option<serde_json::Value> = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok());
        let kinds: Option<std::collections::BTreeMap<u16, String>> =
            record.as_ref().and_then(|r| r["lesions"].as_array()).map(|ls| ls.iter().filter_map(|l| Some((u16::try_from(l["id"].as_u64()?).ok()?, l["kind"].as_str()?.to_string()))).collect());
        kinds.unwrap_or_else(|| {
            self.notes.push(format!("{}: missing or not a lesions record; the lesions are drawn without their kinds", path.display()));
            std::collections::BTreeMap::new()
        })
    }

    /// `REL` of the case folder read by `read` when it exists and lies on the CT's `grid`; else
    /// `None`, with a note saying why the slices show no `what` (a missing file needs none).
    fn overlay<T>(&mut self, rel: &str, what: &str, grid: &coxa_core::Grid, read: impl FnOnce(&Path) -> coxa_io::Result<T>, grid_of: impl Fn(&T) -> &coxa_core::Grid) -> Option<T> {
        let path = self.dir.join(rel);
        match read(&path) {
            Ok(m) if grid_of(&m).same_as(grid, 1e-3) => Some(m),
            Ok(_) => {
                self.notes.push(format!("{}: not on the CT's grid; the slices show no {what}", path.display()));
                None
            }
            Err(_) if !path.exists() => None,
            Err(e) => {
                self.notes.push(format!("the {what} overlay is not shown: {e}"));
                None
            }
        }
    }

    /// Muscle surfaces (every class of the label map that is not a bone), for the scene.
    pub fn muscles_from_labels(&mut self, labels: &LabelMap) {
        // coxa's muscle classes (TotalSegmentator ids; a NIfTI label map carries ids only):
        // other classes a segmentation tool wrote (organs, vessels, ...) are not muscles.
        let coxa = coxa_anatomy::labels::coxa_classes();
        let ids: Vec<(u16, String)> =
            labels.counts().into_iter().filter(|(id, n)| *id != 0 && *n > 0 && !BONE_IDS.contains(id)).filter_map(|(id, _)| coxa.name(id).map(|n| (id, n.to_string()))).collect();
        let opts = coxa_anatomy::surface::SurfaceOptions::default();
        let meshes = coxa_anatomy::surface::meshes_from_labels(labels, &ids.iter().map(|(id, _)| *id).collect::<Vec<_>>(), &opts);
        for ((_, name), m) in ids.into_iter().zip(meshes) {
            match m {
                Ok(m) => self.muscles.push((name, m)),
                Err(e) => self.notes.push(format!("muscle {name}: no surface ({e})")),
            }
        }
    }

    /// The hip (cup) centre: the model's cup centre, else the implant head's centroid, else the
    /// operated side's femoral head landmark.
    pub fn hip_centre_lps_mm(&self) -> Option<Point3<f64>> {
        if let Some(m) = &self.model {
            return Some(m.placement.cup_centre_lps_mm);
        }
        if let Some((_, head)) = self.implants.iter().find(|(n, _)| n == "head") {
            return Some(head.vertex_centroid());
        }
        let side = self.side?.as_str();
        self.markers.iter().find(|m| m.name == format!("head_centre_{side}")).map(|m| m.lps_mm)
    }
}

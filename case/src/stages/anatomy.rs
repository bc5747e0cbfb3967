//! The anatomy stage: a CT read once (with its label map: given, a learned model's, or coxa's own
//! bone segmentation) or bone surfaces -> the label map, one surface per bone, the landmarks
//! (found once: every later stage reads these), frames, femoral canals, muscle measures, bone
//! quality, and the record `anatomy.json` holds. Writes no file: the case writer does
//! ([`crate::case_writer::write_anatomy`]); the file names the record gives are the writer's.

use std::path::PathBuf;

use crate::bail;
use crate::error::{Context, Result};
use coxa_anatomy::landmarks::{self, AcetabulumLandmarks, AxisLandmark, FemurLandmarks, Landmark, PatientLandmarks, PelvisLandmarks};
use coxa_anatomy::segment::{SegmentOptions, segment_bones};
use coxa_anatomy::{labels, muscles};
use coxa_core::anatomy_record::{
    AcetabulumRecord, AnatomyConventions, AnatomyRecord, AxisRecord, CondylesRecord, CtRecord, FemoralHeadRecord, FemurRecord, FrameRecord, LabelClassRecord, LabelCountRecord, LabelsRecord,
    LandmarkRecord, MuscleAsymmetryRecord, MuscleRecord, NativeAnglesRecord, PelvisRecord,
};
use coxa_core::dysplasia::DysplasiaRecord;
use coxa_core::{Bone, ClassTable, LabelMap, Mesh, PelvicFrame, Side, Volume};
use nalgebra::{Point3, Vector3};

use super::input::{AnatomySource, LoadedCt};

/// What the anatomy stage works from.
pub enum AnatomyInput<'a> {
    /// A CT (read once by the caller, [`crate::stages::input::open_ct`]) and where its label map comes from.
    Ct {
        /// The CT.
        volume: &'a Volume,
        /// Files it was read from (for `anatomy.json`).
        n_files: usize,
        /// The label map.
        labels: LabelInput,
    },
    /// Bone surfaces by class name, read and checked ([`crate::stages::input::read_meshes`]).
    Meshes(Vec<(Bone, Mesh)>),
}

impl GivenLabels {
    /// A label map handed over in memory (the Python package's arrays), named by its own class
    /// table, else by TotalSegmentator's ids ([`classes_of`]), as a file given with `--labels` is.
    pub fn in_memory(map: &LabelMap) -> Self {
        Self { classes: classes_of(map), map: map.clone(), origin: "the label map given in memory".into() }
    }
}

/// A label map handed to the anatomy stage in memory with its class names, on the CT's grid: a
/// learned model's segmentation (`coxa anatomy --model`). It takes the place of `--labels` and
/// `--label-names` without going through files.
#[derive(Debug, Clone)]
pub struct GivenLabels {
    /// The label map, on the CT's grid.
    pub map: LabelMap,
    /// Its class names by id (background left out).
    pub classes: ClassTable,
    /// What made it, for messages (e.g. `--model card.toml`).
    pub origin: String,
}

/// Where the anatomy stage's label map comes from.
pub enum LabelInput {
    /// coxa's own bone segmentation.
    Segment,
    /// A file on the CT's grid, with its class table file when given.
    File {
        /// The label map file (NIfTI or NRRD).
        labels: PathBuf,
        /// Its class table (JSON), when given.
        names: Option<PathBuf>,
    },
    /// A label map in memory.
    Given(Box<GivenLabels>),
}

/// What the anatomy stage found: the bone surfaces and their landmarks (typed, for the later
/// stages), and the record written for people and other tools.
#[derive(Debug, Clone)]
pub struct AnatomyResult {
    /// `anatomy.json`.
    pub record: AnatomyRecord,
    /// The bone surfaces, LPS mm, in [`Bone::ALL`]'s order.
    pub bones: Vec<(Bone, Mesh)>,
    /// Every landmark, found once; the planner, the simulator and the viewer use these.
    pub landmarks: PatientLandmarks,
    /// What the stage worked around or could not find (also in `record.warnings`).
    pub warnings: Vec<String>,
    /// What reading the bone surfaces changed (units scaled, stray vertices dropped): among
    /// `warnings` too, and the first of a plan's notes, since the plan rests on them.
    pub input_notes: Vec<String>,
    /// The femoral canals measured on the CT's cortical bone (none from meshes).
    pub canals: Vec<landmarks::FemoralCanal>,
    /// The label map the surfaces were made from (none from meshes), on the CT's grid: later
    /// stages (radiomics) read it here, never back from `labels.nii.gz`.
    pub labels: Option<LabelMap>,
}

impl AnatomyResult {
    /// The surface of `bone`.
    pub fn bone(&self, bone: Bone) -> Option<&Mesh> {
        self.bones.iter().find(|(b, _)| *b == bone).map(|(_, m)| m)
    }
    /// The canal of the femur on `side`, when measured on the CT.
    pub fn canal(&self, side: Side) -> Option<landmarks::FemoralCanal> {
        self.canals.iter().find(|c| c.side == side).cloned()
    }
}

/// The anatomy stage on `source`, its CT already read (`ct`: required for a CT source).
///
/// # Errors
/// The stage's; a CT source without its CT is a bug.
pub fn run_on(source: &AnatomySource, ct: Option<&LoadedCt>, given: Option<GivenLabels>) -> Result<AnatomyResult> {
    match (source, ct) {
        (AnatomySource::Meshes(list, units), _) => {
            let mut warnings = Vec::new();
            let meshes = super::input::read_meshes(list, *units, &mut warnings)?;
            let input_notes = warnings.clone();
            Ok(AnatomyResult { input_notes, ..run(AnatomyInput::Meshes(meshes), warnings)? })
        }
        (AnatomySource::Ct { labels, label_names, .. }, Some(ct)) => {
            let labels = label_input(given, labels.clone(), label_names.clone());
            run(AnatomyInput::Ct { volume: &ct.volume, n_files: ct.n_files, labels }, ct.warnings.clone())
        }
        (AnatomySource::Ct { .. }, None) => bail!("the anatomy stage was given no CT (a bug in coxa; please report it)"),
    }
}

/// Where the label map comes from: given in memory, a file (`--labels`), else coxa's segmentation.
pub fn label_input(given: Option<GivenLabels>, labels: Option<PathBuf>, names: Option<PathBuf>) -> LabelInput {
    match (given, labels) {
        (Some(g), _) => LabelInput::Given(Box::new(g)),
        (None, Some(labels)) => LabelInput::File { labels, names },
        (None, None) => LabelInput::Segment,
    }
}

/// Runs the anatomy stage on `input`; `warnings` are the input's (reading the CT or the surfaces),
/// kept first in the record's.
///
/// # Errors
/// A label map off the CT's grid or with unknown sides, a failed segmentation, a surface that
/// cannot be made.
pub fn run(input: AnatomyInput<'_>, mut warnings: Vec<String>) -> Result<AnatomyResult> {
    let mut ct_record = None;
    let (bones, label_map, ct) = match input {
        AnatomyInput::Meshes(bones) => (bones, None, None),
        AnatomyInput::Ct { volume, n_files, labels } => {
            let (map, working) = label_map_for(volume, labels, &mut warnings)?;
            // Bones segmented on a coarser working grid are meshed there (their labels on the
            // CT's grid repeat each coarse voxel; coxa_anatomy::segment's `working` module).
            let bones = bones_from_labels(working.as_ref().unwrap_or(&map), &mut warnings)?;
            drop(working);
            let sp = volume.grid().spacing_mm();
            ct_record = Some(CtRecord { size: volume.grid().size(), spacing_mm: [sp.x, sp.y, sp.z], n_files });
            (bones, Some(map), Some(volume))
        }
    };

    // Landmarks, found once: every later stage reads these (coxa_anatomy::landmarks::find).
    let (mut found, landmark_warnings) = landmarks::find(&landmarks::Bones::of(&bones));
    warnings.extend(landmark_warnings);
    // A femur without condyles: the shape model's prediction stands in for its frame (issue 14).
    let predictions = crate::shape_predict::apply_predictions(&bones, &mut found);
    warnings.extend(found.notes.iter().map(|n| format!("{n}; image the femur to the knee for a measured frame")));
    let femurs = &found.femurs;
    let acetabula = &found.acetabula;
    let pelvis = &found.pelvis;
    let frame = pelvis.as_ref().map(|p| p.frame);
    // Metal inside a fitted head: fracture fixation (a lag screw, as in the example CT) or a
    // prosthesis, whose landmarks describe the implant's surface, not a native head.
    let metal_in_head: Vec<usize> = femurs.iter().map(|f| ct.map_or(0, |v| voxels_above(v, &f.head_centre.lps_mm, f.head_radius_mm, METAL_HU))).collect();
    for (f, &n) in femurs.iter().zip(&metal_in_head) {
        if n > 0 {
            warnings.push(format!(
                "femur_{}: {n} voxels above {METAL_HU} HU inside the fitted head: a screw or an existing prosthesis; check the head landmarks (a prosthetic head's are the implant's surface, not a native head's)",
                f.side.as_str()
            ));
        }
    }

    let canals = femoral_canals(ct, label_map.as_ref(), femurs, &mut warnings);

    let femoral_heads = femurs
        .iter()
        .zip(&metal_in_head)
        .map(|(f, &n)| FemoralHeadRecord {
            side: f.side,
            centre_lps_mm: pt(&f.head_centre.lps_mm),
            centre_pelvic_mm: frame.map(|fr| pt(&fr.point_to_pelvic(&f.head_centre.lps_mm))),
            radius_mm: f.head_radius_mm,
            fit_rms_mm: f.head_fit_rms_mm,
            quality: f.head_centre.quality,
            metal_voxels_inside: ct.is_some().then_some(n),
        })
        .collect();
    let mut femur_records: Vec<FemurRecord> = femurs.iter().map(|f| femur_record(f, frame.as_ref())).collect();
    crate::shape_predict::annotate_femurs(&predictions, &mut femur_records, &mut warnings);

    let (mut muscles, mut muscle_asymmetry, mut fat_hu_range) = (None, None, None);
    if let (Some(ct), Some(map)) = (ct, &label_map) {
        let (m, a) = muscles::muscle_measures(ct, map)?;
        if m.is_empty() {
            warnings.push("no muscle labels: pass a label map with muscles (--labels, e.g. from TotalSegmentator) for muscle measures".into());
        }
        muscles = Some(m.into_iter().map(muscle_record).collect());
        muscle_asymmetry = Some(
            a.into_iter().map(|a| MuscleAsymmetryRecord { muscle: a.muscle, volume_asymmetry_percent: a.volume_asymmetry_percent, fat_fraction_difference_pp: a.fat_fraction_difference_pp }).collect(),
        );
        fat_hu_range = Some([muscles::FAT_HU.0, muscles::FAT_HU.1]);
    }
    // Bone quality (issue 22): density of each femur, and the fixation suggestion.
    let (densities, bone_density) = match (ct, &label_map) {
        (Some(ct), Some(map)) => {
            let (cal, d) = crate::bone::femur_densities(ct, map, femurs, &mut warnings);
            let records = crate::bone::bone_density_records(cal.as_ref(), &d);
            (d, Some(records))
        }
        _ => (Vec::new(), None),
    };
    let fixation = crate::bone::fixation_records(&canals, &densities, &femurs.iter().map(|f| f.side).collect::<Vec<_>>());

    // The files the case writer makes of them, by name.
    let mesh_files = bones.iter().map(|(bone, _)| (bone.name().to_string(), format!("meshes/{bone}.stl"))).collect();
    let labels_record = label_map.as_ref().map(|map| LabelsRecord {
        slicer: crate::exchange::slicer_files(),
        file: "labels.nii.gz".into(),
        classes: map.classes().iter().map(|(id, n)| LabelClassRecord { id, name: n.to_string() }).collect(),
        voxels: map.counts().into_iter().filter(|(id, _)| *id != 0).map(|(id, n)| LabelCountRecord { id, n }).collect(),
    });
    let landmark_files = crate::exchange::landmark_files(&found, &bones);
    let acetabula = acetabula.iter().map(|a| acetabulum_record(a, frame.as_ref(), dysplasia(a, frame.as_ref(), &bones, femurs, ct_record.as_ref()))).collect();
    let record = AnatomyRecord {
        coxa_version: env!("CARGO_PKG_VERSION").to_string(),
        conventions: AnatomyConventions {
            lps: "DICOM patient frame: +x patient left, +y posterior, +z superior, mm".into(),
            pelvic_frame: "origin ASIS midpoint; +x right->left ASIS; +y posterior, normal to the anterior pelvic plane (ASIS and pubic tubercles); +z superior; right-handed".into(),
            angles: "degrees; cup angles in Murray (1993) radiographic, operative and anatomic definitions".into(),
        },
        ct: ct_record,
        femoral_heads,
        femurs: femur_records,
        acetabula,
        pelvis: pelvis.as_ref().map(pelvis_record),
        femoral_canals: canals.iter().map(crate::stem_report::canal_record).collect(),
        muscles,
        muscle_asymmetry,
        fat_hu_range,
        bone_density,
        fixation,
        meshes: mesh_files,
        labels: labels_record,
        landmark_files,
        warnings: warnings.clone(),
    };
    Ok(AnatomyResult { record, bones, landmarks: found, warnings, canals, labels: label_map, input_notes: Vec::new() })
}

/// The femoral canals from the CT's cortical bone (`coxa_anatomy::landmarks::femoral_canal`);
/// none without a CT (meshes are outer surfaces only). What fails or is flagged is a warning.
fn femoral_canals(ct: Option<&Volume>, map: Option<&LabelMap>, femurs: &[FemurLandmarks], warnings: &mut Vec<String>) -> Vec<landmarks::FemoralCanal> {
    let (Some(ct), Some(map)) = (ct, map) else { return Vec::new() };
    let mut out = Vec::new();
    for f in femurs {
        let bone = Bone::femur(f.side);
        let name = bone.name();
        match landmarks::femoral_canal(ct, map, bone.label_id(), f) {
            Ok(c) => {
                warnings.extend(c.notes.iter().filter(|_| c.quality == landmarks::Quality::Uncertain).map(|n| format!("{name} canal: {n}")));
                out.push(c);
            }
            Err(e) => warnings.push(format!("{name}: no canal measure: {e}")),
        }
    }
    out
}

/// HU above which a voxel counts as metal.
const METAL_HU: f32 = 2500.0;

/// Voxels of `ct` above `threshold` within `radius_mm` of `centre`.
fn voxels_above(ct: &Volume, centre: &Point3<f64>, radius_mm: f64, threshold: f32) -> usize {
    let g = ct.grid();
    let c = g.lps_to_voxel(centre);
    let sp = g.spacing_mm();
    let size = g.size();
    let range = |a: usize| {
        let lo = (c[a] - radius_mm / sp[a]).floor().max(0.0) as usize;
        let hi = ((c[a] + radius_mm / sp[a]).ceil().max(0.0) as usize).min(size[a].saturating_sub(1));
        lo..=hi
    };
    let mut n = 0;
    for k in range(2) {
        for j in range(1) {
            for i in range(0) {
                let p = g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                if (p - centre).norm() <= radius_mm && ct.get(i, j, k).is_some_and(|v| v > threshold) {
                    n += 1;
                }
            }
        }
    }
    n
}

fn pt(p: &Point3<f64>) -> [f64; 3] {
    [p.x, p.y, p.z]
}

fn vec3(v: &Vector3<f64>) -> [f64; 3] {
    [v.x, v.y, v.z]
}

fn landmark_record(l: &Landmark, frame: Option<&PelvicFrame>) -> LandmarkRecord {
    LandmarkRecord { lps_mm: pt(&l.lps_mm), pelvic_mm: frame.map(|f| pt(&f.point_to_pelvic(&l.lps_mm))), quality: l.quality, source: l.source, note: l.note.clone() }
}

fn axis_record(a: &AxisLandmark, frame: Option<&PelvicFrame>) -> AxisRecord {
    AxisRecord {
        point_lps_mm: pt(&a.point_lps_mm),
        direction_lps: vec3(&a.direction_lps),
        direction_pelvic: frame.map(|f| vec3(&f.vector_to_pelvic(&a.direction_lps))),
        quality: a.quality,
        source: a.source,
        note: a.note.clone(),
    }
}

/// `anatomy.json`'s entry for one femur (before the shape model's annotation).
pub fn femur_record(f: &FemurLandmarks, frame: Option<&PelvicFrame>) -> FemurRecord {
    FemurRecord {
        side: f.side,
        head_centre: landmark_record(&f.head_centre, frame),
        head_radius_mm: f.head_radius_mm,
        neck_axis: axis_record(&f.neck_axis, frame),
        shaft_axis: axis_record(&f.shaft_axis, frame),
        greater_trochanter: landmark_record(&f.greater_trochanter, frame),
        lesser_trochanter: landmark_record(&f.lesser_trochanter, frame),
        neck_shaft_angle_deg: f.neck_shaft_angle_deg,
        neck_shaft_angle_sd_deg: None,
        neck_shaft_angle_source: None,
        anteversion_deg: f.anteversion_deg,
        anteversion_definition: "angle between the neck axis and the posterior condylar line seen along the shaft axis; positive = head anterior".into(),
        posterior_condyles_lps_mm: f.posterior_condyles.map(|[m, l]| CondylesRecord { medial: pt(&m), lateral: pt(&l) }),
        anteversion_source: String::new(),
        anteversion_sd_deg: None,
        anteversion_prediction: None,
    }
}

/// The dysplasia measures of `a`'s hip (issue 62); none without a pelvic frame or its hip bone.
fn dysplasia(a: &AcetabulumLandmarks, frame: Option<&PelvicFrame>, bones: &[(Bone, Mesh)], femurs: &[FemurLandmarks], ct: Option<&CtRecord>) -> Option<DysplasiaRecord> {
    let b = landmarks::Bones::of(bones);
    let hip = b.hip(a.side)?;
    let head = femurs.iter().find(|f| f.side == a.side).map(FemurLandmarks::head);
    let voxel_mm = ct.map(|c| c.spacing_mm.into_iter().fold(0.0, f64::max));
    Some(landmarks::dysplasia(&landmarks::HipSurfaces { side: a.side, hip, femur: b.femur(a.side), acetabulum: a, head, voxel_mm }, frame?))
}

fn acetabulum_record(a: &AcetabulumLandmarks, frame: Option<&PelvicFrame>, dysplasia: Option<DysplasiaRecord>) -> AcetabulumRecord {
    AcetabulumRecord {
        dysplasia,
        side: a.side,
        centre: landmark_record(&a.centre, frame),
        radius_mm: a.radius_mm,
        fit_rms_mm: a.fit_rms_mm,
        opening_axis_lps: vec3(&a.opening_axis_lps),
        rim_plane_point_lps_mm: pt(&a.rim_plane_point_lps_mm),
        n_rim_points: a.n_rim_points,
    }
}

fn pelvis_record(p: &PelvisLandmarks) -> PelvisRecord {
    let f = &p.frame;
    let axes = f.pelvic_from_lps();
    PelvisRecord {
        frame: FrameRecord {
            origin_lps_mm: pt(&f.origin_lps_mm()),
            x_axis_lps: vec3(&axes.matrix().row(0).transpose()),
            y_axis_lps: vec3(&axes.matrix().row(1).transpose()),
            z_axis_lps: vec3(&axes.matrix().row(2).transpose()),
        },
        asis_left: landmark_record(&p.asis_left, Some(f)),
        asis_right: landmark_record(&p.asis_right, Some(f)),
        pubic_tubercle_left: landmark_record(&p.pubic_tubercle_left, Some(f)),
        pubic_tubercle_right: landmark_record(&p.pubic_tubercle_right, Some(f)),
        native_acetabular_angles: p
            .acetabular_angles
            .iter()
            .flat_map(|(side, angles)| {
                angles.iter().map(move |a| NativeAnglesRecord { side: *side, definition: a.definition, inclination_deg: a.inclination.deg(), anteversion_deg: a.anteversion.deg() })
            })
            .collect(),
    }
}

fn muscle_record(m: muscles::MuscleMeasure) -> MuscleRecord {
    MuscleRecord {
        name: m.name,
        label: m.label,
        side: m.side,
        n_voxels: m.n_voxels,
        volume_cm3: m.volume_cm3,
        mean_hu: m.mean_hu,
        sd_hu: m.sd_hu,
        fat_fraction: m.fat_fraction,
        lean_fraction: m.lean_fraction,
        cut_by_scan: m.cut_by_scan,
    }
}

/// `map`, found on the CT's grid within 1e-3 mm, given the CT's grid exactly: a label map keeps
/// its geometry in another precision (a NIfTI's f32 affine beside a DICOM series' decimal
/// strings), and the surfaces and every measure on them would otherwise differ in their last
/// digits with the file the labels came in (a DICOM SEG, made on the CT, against its NIfTI).
fn on_the_cts_grid(ct: &Volume, map: LabelMap) -> Result<LabelMap> {
    let (_, labels, classes) = map.into_parts();
    Ok(LabelMap::new(ct.grid().clone(), labels, classes)?)
}

/// The label map to work from: the user's (checked to lie on the CT's grid; bones from coxa's
/// segmentation when it has none), else coxa's own bone segmentation; and, when the bones were
/// segmented on a coarser working grid, their labels there (to mesh).
fn label_map_for(ct: &Volume, input: LabelInput, warnings: &mut Vec<String>) -> Result<(LabelMap, Option<LabelMap>)> {
    let segmented = |ct: &Volume, warnings: &mut Vec<String>| -> Result<(LabelMap, Option<LabelMap>)> {
        // Its working memory within the process's limit (--max-memory; issue 16).
        let seg = segment_bones(ct, &SegmentOptions::new().with_max_memory_bytes(coxa_io::Limits::new().max_bytes))
            .context("coxa's bone segmentation failed; pass a label map on the CT's grid with --labels (e.g. TotalSegmentator's), or bone surfaces with --mesh")?;
        tracing::info!(counts = ?seg.counts.iter().map(|c| (c.name.as_str(), c.voxels)).collect::<Vec<_>>(), "bones segmented");
        warnings.extend(seg.warnings);
        Ok((seg.labels, seg.working_labels))
    };
    let (map, source, origin) = match input {
        LabelInput::Segment => return segmented(ct, warnings),
        LabelInput::File { labels: path, names } => {
            let path = path.as_path();
            let map = if coxa_io::dicom::seg::is_seg(path) {
                coxa_io::dicom::seg::read_label_map(path, ct.grid(), &coxa_io::Limits::new())?
            } else if coxa_io::label_folder::is_mask_folder(path) {
                coxa_io::label_folder::read_mask_folder(path, &coxa_io::Limits::new())?
            } else if coxa_io::nrrd::is_nrrd_path(path) {
                coxa_io::nrrd::read_label_map(path)?
            } else {
                coxa_io::nifti::read_label_map(path)?
            };
            if let Err(e) = ct.grid().check_same(map.grid(), 1e-3) {
                bail!("--labels {}: the label map is not on the CT's grid ({e}); resample it onto the CT first", path.display());
            }
            let map = on_the_cts_grid(ct, map)?;
            let source = match names.as_deref() {
                Some(table) => {
                    let text = coxa_io::read_text_bounded(table, coxa_io::Bound::TEXT).with_context(|| format!("--label-names {}", table.display()))?;
                    labels::parse_class_table(&text).with_context(|| format!("--label-names {}", table.display()))?
                }
                None => classes_of(&map),
            };
            (map, source, format!("--labels {}", path.display()))
        }
        LabelInput::Given(g) => {
            let g = *g;
            if let Err(e) = ct.grid().check_same(g.map.grid(), 1e-3) {
                bail!("{}: the label map is not on the CT's grid ({e})", g.origin);
            }
            (on_the_cts_grid(ct, g.map)?, g.classes, g.origin)
        }
    };
    let map = labels::import_label_map(map, &source).with_context(|| origin.clone())?;
    coxa_anatomy::bone_check::check_label_sides(&map).with_context(|| origin)?;
    let has_bones = map.counts().keys().any(|id| Bone::from_label_id(*id).is_some());
    if has_bones {
        return Ok((map, None));
    }
    warnings.push("the label map has no bones: bones from coxa's own segmentation, muscles from the label map".into());
    let (bones, working) = segmented(ct, warnings)?;
    let (grid, mut ids, mut classes) = map.into_parts();
    for (id, name) in bones.classes().iter() {
        classes.insert(id, name.to_string());
    }
    for (l, b) in ids.iter_mut().zip(bones.labels().iter()) {
        if *b != 0 {
            *l = *b;
        }
    }
    Ok((LabelMap::new(grid, ids, classes)?, working))
}

/// One surface per bone present in the label map.
fn bones_from_labels(map: &LabelMap, warnings: &mut Vec<String>) -> Result<Vec<(Bone, Mesh)>> {
    let present = map.counts();
    let (found, missing): (Vec<Bone>, Vec<Bone>) = Bone::ALL.into_iter().partition(|b| present.get(&b.label_id()).copied().unwrap_or(0) > 0);
    for b in missing {
        warnings.push(format!("{b} ({}) is not in the label map", b.label_id()));
    }
    let ids: Vec<u16> = found.iter().map(|b| b.label_id()).collect();
    let meshes = coxa_anatomy::surface::meshes_from_labels(map, &ids, &coxa_anatomy::surface::SurfaceOptions::default());
    found.into_iter().zip(meshes).map(|(b, m)| Ok((b, m?))).collect()
}

/// The class names of a label map given without a class table file: its own (a 3D Slicer
/// segmentation names its segments), else [`classes_by_id`].
pub fn classes_of(map: &LabelMap) -> ClassTable {
    if map.classes().is_empty() { classes_by_id(map) } else { map.classes().clone() }
}

/// The class names of a label map without its own (a label file's): TotalSegmentator's ids as
/// coxa's classes, any other id kept as `label_N`.
pub fn classes_by_id(map: &LabelMap) -> ClassTable {
    let coxa = labels::coxa_classes();
    map.counts().keys().filter(|id| **id != 0).map(|&id| (id, coxa.name(id).map_or_else(|| format!("label_{id}"), str::to_string))).collect()
}

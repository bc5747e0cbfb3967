//! Files for 3D Slicer and OpenSim written beside coxa's own (issue 18, part 5).
//!
//! - `landmarks/pelvis.{fcsv,mrk.json}` and `landmarks/femur_{left,right}.{fcsv,mrk.json}`:
//!   the anatomy stage's landmarks as Slicer markups (LPS mm), labelled as `coxa hcf` and
//!   OrthoLoad's files label them, so `coxa anatomy --out A` feeds
//!   `coxa hcf --pelvis-landmarks A/landmarks/pelvis.fcsv --femur-landmarks A/landmarks/femur_right.fcsv`.
//!   Pelvis: `HJC_L`/`HJC_R` (the femoral head centres, or the acetabulum centres without a
//!   femur), `ACC_*` (acetabulum centres), `ASIS_*`, `PT_*` (pubic tubercles). Femur: `HJC`,
//!   `P1`, `P2`, `MPC`, `LPC`, `MEC`, `LEC` (the OrthoLoad points, when the knee is imaged;
//!   `coxa_anatomy::landmarks::orthoload_femur`), `GT`, `LT`, each with the side's suffix.
//! - `labels.seg.nrrd` (the label map as a Slicer segmentation: named, coloured segments) and
//!   `labels.ctbl` (Slicer colour table for `labels.nii.gz`).
//! - `opensim/rom_<motion>.mot` and `opensim/muscle_forces_<activity>_<state>.sto` of a case;
//!   the case's OpenSim model with its set-ups, bones and implants beside them is
//!   `crate::msk_stage::export`'s.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Context, Result};
use nalgebra::Point3;

use coxa_anatomy::landmarks::{PatientLandmarks, orthoload_femur};
use coxa_core::anatomy_record::{LandmarkFilesEntry, MarkupFilesRecord, SlicerFilesRecord};
use coxa_core::report::MskRecord;
use coxa_core::{CaseReport, Mesh, RomRecord, Side};
use coxa_io::markups::{ControlPoint, write_fcsv, write_mrk_json};

fn suffix(side: Side) -> &'static str {
    if side == Side::Left { "_L" } else { "_R" }
}

fn point(label: String, description: &str, p: Point3<f64>) -> ControlPoint {
    ControlPoint { label, description: description.to_string(), lps_mm: p }
}

/// The landmark sets by file stem: `pelvis`, `femur_left`, `femur_right` (those found).
/// What could not be written goes to `notes` (a femur without its knee).
pub fn landmark_sets(found: &PatientLandmarks, bones: &[(coxa_core::Bone, Mesh)], notes: &mut Vec<String>) -> Vec<(String, Vec<ControlPoint>)> {
    let mut sets = Vec::new();
    let mut pelvis = Vec::new();
    for side in [Side::Left, Side::Right] {
        let s = suffix(side);
        let hjc = found.femur(side).map(|f| (f.head_centre.lps_mm, "hip joint centre: centre of the sphere fitted to the femoral head"));
        let hjc = hjc.or_else(|| found.acetabulum(side).map(|a| (a.centre.lps_mm, "hip joint centre: centre of the sphere fitted to the acetabulum (no femur)")));
        if let Some((p, what)) = hjc {
            pelvis.push(point(format!("HJC{s}"), what, p));
        }
        if let Some(a) = found.acetabulum(side) {
            pelvis.push(point(format!("ACC{s}"), "acetabulum centre: sphere fitted to the lunate surface", a.centre.lps_mm));
        }
    }
    if let Some(p) = &found.pelvis {
        pelvis.push(point("ASIS_L".into(), "left anterior superior iliac spine", p.asis_left.lps_mm));
        pelvis.push(point("ASIS_R".into(), "right anterior superior iliac spine", p.asis_right.lps_mm));
        pelvis.push(point("PT_L".into(), "left pubic tubercle", p.pubic_tubercle_left.lps_mm));
        pelvis.push(point("PT_R".into(), "right pubic tubercle", p.pubic_tubercle_right.lps_mm));
    }
    if !pelvis.is_empty() {
        sets.push(("pelvis".to_string(), pelvis));
    }
    for f in &found.femurs {
        let s = suffix(f.side);
        let name = format!("femur_{}", f.side.as_str());
        let mut pts = Vec::new();
        // Condyles the shape model predicted (issue 14) are flagged, and the knee points that
        // would be read off the imaged surface (P2, epicondyles) are not written: that surface
        // ends at the CT's cut, not at a knee.
        if let Some([mpc, lpc]) = f.posterior_condyles.filter(|_| crate::shape_predict::condyles_predicted(f)) {
            notes.push(format!("{name}: the knee is not imaged; MPC and LPC are PREDICTED by the shape model (placed on the shaft axis along the predicted condylar line), not measured; no P2 or epicondyles, so landmarks/{name}.fcsv cannot feed coxa hcf"));
            pts.push(point(format!("HJC{s}"), "hip joint centre: femoral head sphere centre", f.head_centre.lps_mm));
            pts.push(point(format!("MPC{s}"), "PREDICTED medial posterior condyle (shape model, not imaged)", mpc));
            pts.push(point(format!("LPC{s}"), "PREDICTED lateral posterior condyle (shape model, not imaged)", lpc));
            pts.push(point(format!("GT{s}"), "greater trochanter tip", f.greater_trochanter.lps_mm));
            pts.push(point(format!("LT{s}"), "lesser trochanter", f.lesser_trochanter.lps_mm));
            sets.push((name, pts));
            continue;
        }
        match bones.iter().find(|(b, _)| *b == coxa_core::Bone::femur(f.side)).and_then(|(_, m)| orthoload_femur(f, m)) {
            Some(o) => {
                let what = [
                    "hip joint centre: femoral head sphere centre",
                    "neck-axis point nearest the shaft axis",
                    "intercondylar notch",
                    "medial posterior condyle",
                    "lateral posterior condyle",
                    "medial epicondyle",
                    "lateral epicondyle",
                ];
                pts.extend(o.labelled().iter().zip(what).map(|((l, p), w)| point(format!("{l}{s}"), w, *p)));
            }
            None => {
                notes.push(format!("{name}: the knee is not imaged (no condyles), so landmarks/{name}.fcsv has no P2, condyles or epicondyles and cannot feed coxa hcf"));
                pts.push(point(format!("HJC{s}"), "hip joint centre: femoral head sphere centre", f.head_centre.lps_mm));
            }
        }
        pts.push(point(format!("GT{s}"), "greater trochanter tip", f.greater_trochanter.lps_mm));
        pts.push(point(format!("LT{s}"), "lesser trochanter", f.lesser_trochanter.lps_mm));
        sets.push((name, pts));
    }
    sets
}

/// The landmark files the case writer makes ([`write_landmark_markups`]), for anatomy.json's
/// `landmark_files`: per set its `.fcsv` and `.mrk.json` and labels, with `notes` on what is
/// missing; empty when no set is found.
pub fn landmark_files(found: &PatientLandmarks, bones: &[(coxa_core::Bone, Mesh)]) -> BTreeMap<String, LandmarkFilesEntry> {
    let mut notes = Vec::new();
    let sets = landmark_sets(found, bones, &mut notes);
    let mut files = BTreeMap::new();
    if sets.is_empty() {
        return files;
    }
    for (name, pts) in &sets {
        let _ = files.insert(
            name.clone(),
            LandmarkFilesEntry::Files(MarkupFilesRecord {
                fcsv: format!("landmarks/{name}.fcsv"),
                mrk_json: format!("landmarks/{name}.mrk.json"),
                labels: pts.iter().map(|p| p.label.clone()).collect(),
            }),
        );
    }
    let _ = files.insert("notes".into(), LandmarkFilesEntry::Notes(notes));
    files
}

/// Writes the landmark sets into `out/landmarks/` as `.fcsv` and `.mrk.json` (the files
/// [`landmark_files`] names).
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_landmark_markups(out: &Path, found: &PatientLandmarks, bones: &[(coxa_core::Bone, Mesh)]) -> Result<()> {
    let sets = landmark_sets(found, bones, &mut Vec::new());
    if sets.is_empty() {
        return Ok(());
    }
    let dir = out.join("landmarks");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, pts) in &sets {
        write_fcsv(pts, &dir.join(format!("{name}.fcsv")))?;
        write_mrk_json(pts, &dir.join(format!("{name}.mrk.json")))?;
    }
    Ok(())
}

/// The names of the 3D Slicer files of a label map ([`write_label_files`]).
pub fn slicer_files() -> SlicerFilesRecord {
    SlicerFilesRecord { segmentation: "labels.seg.nrrd".into(), colour_table: "labels.ctbl".into() }
}

/// Writes `labels.seg.nrrd` and `labels.ctbl` of `map` into `out` (the files [`slicer_files`] names).
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_label_files(out: &Path, map: &coxa_core::LabelMap) -> Result<()> {
    coxa_io::nrrd::write_label_map(map, &out.join("labels.seg.nrrd"), coxa_io::colour_table::colour_of)?;
    coxa_io::colour_table::write_colour_table(map.classes(), &out.join("labels.ctbl"))?;
    Ok(())
}

/// The OpenSim (gait2392 / Rajagopal) hip coordinates of `coxa_sim::joint`'s angles: the
/// femur's rotation relative to the pelvis, `R_x(tilt) · R(angles)`, decomposed again in the
/// same Grood-Suntay sequence (OpenSim's hip `CustomJoint`: flexion about the pelvis's
/// mediolateral axis, adduction about the floating anteroposterior axis, rotation about the
/// femur's long axis), then `hip_flexion = flexion`, `hip_adduction = -abduction`,
/// `hip_rotation = internal rotation`; `pelvis_tilt` is the posterior tilt (OpenSim's positive
/// sense: a rotation about the pelvis's +z (right) axis moves the ASIS up). Degrees.
pub fn opensim_hip_coordinates_deg(angles: &coxa_sim::JointAngles, posterior_tilt_deg: f64, side: Side) -> [f64; 4] {
    let tilt = coxa_core::Angle::from_deg(posterior_tilt_deg);
    let relative = coxa_sim::joint::pelvis_tilt_rotation(tilt).inverse() * angles.rotation(side);
    let a = coxa_sim::JointAngles::from_rotation(&relative, side);
    [posterior_tilt_deg, a.flexion.deg(), -a.abduction.deg(), a.internal_rotation.deg()]
}

/// Degrees of the driven angle per second in the `.mot` files (10 deg/s).
pub const MOT_DEG_PER_S: f64 = 10.0;

/// One `.mot` per ROM motion of a `coxa rom`/report `rom` JSON: the hip coordinates (and pelvis
/// tilt) of gait2392's names for the operated side, from neutral (the motion's start) to its
/// limit, every degree of the driven angle plus the limit itself, at [`MOT_DEG_PER_S`].
///
/// # Errors
/// A motion name coxa does not define, or a JSON without the fields.
pub fn rom_motion_tables(rom: &RomRecord) -> Result<Vec<coxa_msk::osim::Storage>> {
    let side = rom.side;
    let s = if side == Side::Left { "l" } else { "r" };
    let defs: Vec<coxa_sim::rom::Motion> = coxa_sim::rom::standard_motions().into_iter().chain(coxa_sim::rom::daily_life_motions()).collect();
    let mut out = Vec::new();
    for m in &rom.motions {
        let name = m.name.as_str();
        let def = defs.iter().find(|d| d.name == name).with_context(|| format!("ROM motion {name:?} is not one coxa defines"))?;
        let limit_deg = m.limit_deg;
        let tilt_deg = m.pelvic_tilt_deg;
        let alpha_limit = def.alpha_of(limit_deg).clamp(0.0, def.max_deg);
        let mut alphas: Vec<f64> = (0..=alpha_limit.floor() as usize).map(|k| k as f64).collect();
        if alpha_limit - alphas.last().copied().unwrap_or(0.0) > 1e-6 {
            alphas.push(alpha_limit);
        }
        let columns = vec!["pelvis_tilt".to_string(), format!("hip_flexion_{s}"), format!("hip_adduction_{s}"), format!("hip_rotation_{s}")];
        let mut t = coxa_msk::osim::Storage::new(name, true, columns);
        t.comments = vec![
            format!("coxa_motion={name}"),
            format!("coxa_limit_deg={limit_deg}"),
            format!("coxa_contact={}", m.contact),
            format!("coxa_side={}", side.as_str()),
            "coxa_angles=hip coordinates relative to the pelvis; pelvis_tilt = posterior tilt of the posture".into(),
        ];
        for a in alphas {
            t.rows.push((a / MOT_DEG_PER_S, opensim_hip_coordinates_deg(&def.angles(a), tilt_deg, side).to_vec()));
        }
        out.push(t);
    }
    Ok(out)
}

/// The muscle forces of the report's `msk` activities as `.sto` tables (one row at time 0,
/// one column per muscle, N), named `muscle_forces_<activity>_<native|planned>`.
pub fn muscle_force_tables(msk: &MskRecord) -> Vec<coxa_msk::osim::Storage> {
    let mut out = Vec::new();
    for a in &msk.activities {
        let activity = &a.activity;
        for (state, load) in [("native", &a.native), ("planned", &a.planned)] {
            if load.muscle_forces_n.is_empty() {
                continue;
            }
            let (names, values): (Vec<String>, Vec<f64>) = load.muscle_forces_n.iter().map(|(n, f)| (n.clone(), *f)).unzip();
            let mut t = coxa_msk::osim::Storage::new(format!("muscle_forces_{activity}_{state}"), false, names);
            t.comments = vec![format!("coxa_activity={activity}"), format!("coxa_state={state}"), "coxa_units=N (static optimisation, sum of squared activations)".into()];
            t.rows.push((0.0, values));
            out.push(t);
        }
    }
    out
}

/// Writes the OpenSim files of a case into `dir/opensim/`: `rom_<motion>.mot` per ROM motion and
/// `muscle_forces_<activity>_<state>.sto`; the relative paths written.
///
/// # Errors
/// A table that cannot be written (an existing file, I/O).
pub fn write_opensim(dir: &Path, report: &CaseReport) -> Result<Vec<String>> {
    let mut tables = rom_motion_tables(&report.rom)?;
    let n_rom = tables.len();
    tables.extend(report.msk.as_ref().map(muscle_force_tables).unwrap_or_default());
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sub = dir.join("opensim");
    std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
    let mut written = Vec::new();
    for (k, t) in tables.iter().enumerate() {
        let file = if k < n_rom { format!("rom_{}.mot", t.name) } else { format!("{}.sto", t.name) };
        t.write(&sub.join(&file))?;
        written.push(format!("opensim/{file}"));
    }
    Ok(written)
}

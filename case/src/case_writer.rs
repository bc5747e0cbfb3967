//! The case writer: every file of a case folder, written from the stages' typed results (the
//! stages write none, [`crate::stages`]). Each file is written once, new (never over another),
//! through [`crate::atomic::write_new`] or the format writers of `coxa-io`; `coxa run` writes a
//! case into a partial folder and renames it when the case is done, so a case folder is whole or
//! absent.

use std::path::Path;

use crate::error::{Context, Result};

use coxa_core::{Bone, CaseInputs, CaseReport, Mesh};
use coxa_io::mesh::{GlbMaterial, GlbPart, MeshFormat};

use crate::atomic::write_new;
use crate::stages::anatomy::AnatomyResult;
use crate::stages::pictures::Picture;
use crate::stages::sweep::PointResult;

/// Writes the anatomy stage's files into `out` (created): `meshes/*.stl`, from a CT
/// `labels.nii.gz` with its 3D Slicer files, the landmarks as Slicer markups, `landmarks.json`
/// (the landmarks every later stage used, exactly; the viewer reads them back) and
/// `anatomy.json` (the record, rounded and in both frames for people), last.
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_anatomy(out: &Path, anatomy: &AnatomyResult) -> Result<()> {
    std::fs::create_dir_all(out.join("meshes")).with_context(|| format!("creating {} (choose an output folder you may write in)", out.display()))?;
    for (bone, mesh) in &anatomy.bones {
        coxa_io::mesh::write_stl(mesh, &out.join("meshes").join(format!("{bone}.stl")))?;
    }
    if let Some(map) = &anatomy.labels {
        coxa_io::nifti::write_label_map(map, &out.join("labels.nii.gz"))?;
        crate::exchange::write_label_files(out, map)?;
    }
    crate::exchange::write_landmark_markups(out, &anatomy.landmarks, &anatomy.bones)?;
    crate::stamp::write(&out.join("landmarks.json"), "landmarks", &anatomy.landmarks)?;
    crate::stamp::write(&out.join("anatomy.json"), "anatomy", &anatomy.record)?;
    Ok(())
}

/// Writes a learned model's segmentation into the case's `dir` (`anatomy/`): its label map as
/// `labels`, `uncertainty.nii.gz` and `segment.json`.
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_model_segmentation(dir: &Path, seg: &coxa_infer::segment::Segmentation, record: &serde_json::Value, labels: &str) -> Result<()> {
    coxa_io::nifti::write_label_map(&seg.labels, &dir.join(labels))?;
    write_uncertainty(dir, seg, record)
}

/// Writes a learned model's per-voxel uncertainty (`uncertainty.nii.gz`, entropy in nats) and
/// its record (`segment.json`) into `dir` (which exists).
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_uncertainty(dir: &Path, seg: &coxa_infer::segment::Segmentation, record: &serde_json::Value) -> Result<()> {
    let unc = coxa_core::Volume::new(seg.labels.grid().clone(), seg.entropy_nats.clone()).context("uncertainty map")?;
    coxa_io::nifti::write_volume(&unc, &dir.join("uncertainty.nii.gz"))?;
    crate::stamp::write(&dir.join("segment.json"), "segment", record)?;
    Ok(())
}

/// Writes `inputs.json`: where the case's inputs are ([`CaseInputs`]).
///
/// # Errors
/// The file exists or cannot be written.
pub fn write_inputs(dir: &Path, inputs: &CaseInputs) -> Result<()> {
    crate::stamp::write(&dir.join("inputs.json"), "inputs", inputs)
}

/// Writes `value` as pretty JSON into the new file `path`.
///
/// # Errors
/// The file exists or cannot be written.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    write_new(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// Writes the sweep's files: `plans/<point>.json` and `plan.json` (the first point's) for
/// planned points, `rom/<point>.json` and `rom_sweep.csv` (a row per point: implants, angles,
/// tilts, every motion's limit and first contact).
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_sweep(dir: &Path, results: &[PointResult], motions: &[coxa_sim::rom::Motion]) -> Result<()> {
    std::fs::create_dir_all(dir.join("rom"))?;
    if results.iter().any(|r| r.plan.is_some()) {
        std::fs::create_dir_all(dir.join("plans"))?;
        for r in results {
            if let Some(p) = &r.plan {
                crate::stamp::write(&dir.join("plans").join(format!("{}.json", r.point.label())), "plan", &p.record)?;
            }
        }
        if let Some(p) = &results[0].plan {
            crate::stamp::write(&dir.join("plan.json"), "plan", &p.record)?;
        }
    }
    let mut csv: Vec<Vec<String>> = vec![
        "label,head_diameter_mm,head_offset_mm,liner,stem_size,cup_inclination_deg,cup_anteversion_deg,cup_definition,stem_anteversion_deg,standing_tilt_deg,sitting_tilt_deg,oscillation_angle_deg,min_adl_margin_deg"
            .split(',')
            .map(String::from)
            .chain(motions.iter().flat_map(|m| [format!("{}_deg", m.name), format!("{}_contact", m.name)]))
            .collect(),
    ];
    for r in results {
        crate::stamp::write(&dir.join("rom").join(format!("{}.json", r.point.label())), "rom", &r.rom)?;
        csv.push(
            [
                r.point.label(),
                r.choice.head_mm.to_string(),
                r.choice.head_offset_mm.to_string(),
                r.choice.liner.to_string(),
                r.choice.stem_size.to_string(),
                r.cup.inclination.deg().to_string(),
                r.cup.anteversion.deg().to_string(),
                crate::stages::report::definition_name(r.cup.definition).to_string(),
                r.stem_anteversion.deg().to_string(),
                r.rom.pelvic_tilt_deg.standing.to_string(),
                r.rom.pelvic_tilt_deg.sitting.to_string(),
                r.rom.oscillation_angle_deg.to_string(),
                r.rom.min_adl_margin_deg().map_or(String::new(), |v| format!("{v:.1}")),
            ]
            .into_iter()
            .chain(r.rom.motions.iter().flat_map(|m| [m.limit_deg.to_string(), m.contact.to_string()]))
            .collect(),
        );
    }
    write_new(&dir.join("rom_sweep.csv"), coxa_io::table::csv_text(&csv)?.as_bytes())?;
    Ok(())
}

/// Writes the placed implants as STL (LPS mm) into `dir/implants`, for the viewer and other
/// tools, and in each of `formats` besides ([`write_mesh_formats`]): `implants/<part>.obj|ply|vtp`,
/// and for glTF `case.glb`, the bones (`bones`) and the implants in one scene, each part its own
/// node and material.
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_implants(dir: &Path, implants: &[(&'static str, Mesh)], bones: &[(Bone, Mesh)], formats: &[MeshFormat]) -> Result<()> {
    let implant_dir = dir.join("implants");
    std::fs::create_dir_all(&implant_dir)?;
    for (name, mesh) in implants {
        coxa_io::mesh::write_stl(mesh, &implant_dir.join(format!("{name}.stl")))?;
    }
    let named: Vec<(&str, &Mesh)> = implants.iter().map(|(n, m)| (*n, m)).collect();
    write_mesh_formats(&implant_dir, &named, formats)?;
    if formats.contains(&MeshFormat::Glb) {
        let bone_names: Vec<String> = bones.iter().map(|(b, _)| b.to_string()).collect();
        let mut parts: Vec<GlbPart<'_>> = bones.iter().zip(&bone_names).map(|((_, mesh), name)| GlbPart { group: "bones", name, mesh, material: GlbMaterial::bone() }).collect();
        parts.extend(implants.iter().map(|(name, mesh)| GlbPart { group: "implants", name, mesh, material: GlbMaterial::implant(name) }));
        coxa_io::mesh::write_glb(&parts, &dir.join(CASE_GLB))?;
    }
    Ok(())
}

/// The case's glTF scene (bones and implants), in the case folder.
pub const CASE_GLB: &str = "case.glb";

/// The anatomy's glTF scene (the bones), in its `meshes/` folder.
pub const BONES_GLB: &str = "bones.glb";

/// Writes the bone surfaces into `meshes` (the anatomy's `meshes/`, which holds their STL files)
/// in each of `formats` besides STL: `<bone>.obj|ply|vtp`, and for glTF [`BONES_GLB`], every
/// bone its own node (material `bone`).
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_bone_formats(meshes: &Path, bones: &[(Bone, Mesh)], formats: &[MeshFormat]) -> Result<()> {
    let names: Vec<String> = bones.iter().map(|(b, _)| b.to_string()).collect();
    let named: Vec<(&str, &Mesh)> = names.iter().zip(bones).map(|(n, (_, m))| (n.as_str(), m)).collect();
    write_mesh_formats(meshes, &named, formats)?;
    if formats.contains(&MeshFormat::Glb) && !named.is_empty() {
        let parts: Vec<GlbPart<'_>> = named.iter().map(|(name, mesh)| GlbPart { group: "bones", name, mesh, material: GlbMaterial::bone() }).collect();
        coxa_io::mesh::write_glb(&parts, &meshes.join(BONES_GLB))?;
    }
    Ok(())
}

/// Writes each of `meshes` into `dir` as `<name>.<ext>` for every one-mesh format of `formats`
/// (OBJ, PLY, VTP); STL is the callers' (always written), glTF their scene's.
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_mesh_formats(dir: &Path, meshes: &[(&str, &Mesh)], formats: &[MeshFormat]) -> Result<()> {
    for format in formats.iter().filter(|f| !matches!(f, MeshFormat::Stl | MeshFormat::Glb)) {
        for (name, mesh) in meshes {
            coxa_io::mesh::write_mesh(mesh, &dir.join(format!("{name}.{}", format.extension())))?;
        }
    }
    Ok(())
}

/// Writes the case's OpenSim model into `dir/opensim/` (`crate::msk_stage::export`): the
/// patient's model with its bones and the placed implants (`implants`, [`write_implants`]'s, on
/// `hip`), and the one-leg stance's set-ups; what the case's warnings should say.
///
/// # Errors
/// A file that exists or cannot be written, a model the writer refuses.
pub fn write_osim_model(dir: &Path, osim: &crate::msk_stage::export::CaseOsim, hip: &coxa_sim::HipModel, implants: &[(&'static str, Mesh)]) -> Result<Vec<String>> {
    // coxa's hip model holds the femoral parts with the head at the cup centre; on the femur as
    // imaged the head is at the femoral frame's head centre.
    let shift = hip.femoral_frame().head_centre_lps_mm - hip.hip_centre_lps_mm();
    let (_, notes) = crate::msk_stage::export::write(dir, osim, implants, &shift)?;
    Ok(notes)
}

/// Writes the pictures, each at its file (relative to `dir`).
///
/// # Errors
/// A file that exists or cannot be written.
pub fn write_pictures(dir: &Path, pictures: &[Picture]) -> Result<()> {
    for p in pictures {
        let path = dir.join(&p.file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_new(&path, &p.png)?;
    }
    Ok(())
}

/// Writes the case report: `report.json`, the OpenSim tables (`opensim/`) and, with `html`,
/// `report.html` and `report.pdf` (their pictures from `pictures`, in memory).
///
/// # Errors
/// A file that exists or cannot be written, a report that cannot be rendered.
pub fn write_report(dir: &Path, report: &CaseReport, pictures: &[Picture], html: bool) -> Result<()> {
    let _ = crate::exchange::write_opensim(dir, report)?;
    write_report_documents(dir, report, pictures, html)
}

/// The report's own files: `report.json`, and with `html` `report.html` and `report.pdf` (the
/// planning desk writes these again for a revision's number and time; the OpenSim tables
/// [`write_report`] writes beside them do not change).
///
/// # Errors
/// A file exists, or the report cannot be rendered or written.
pub fn write_report_documents(dir: &Path, report: &CaseReport, pictures: &[Picture], html: bool) -> Result<()> {
    crate::stamp::write(&dir.join("report.json"), "report", report)?;
    if html {
        let pngs: Vec<(&str, &[u8])> = pictures.iter().map(|p| (p.file.as_str(), p.png.as_slice())).collect();
        let doc = coxa_report::case_document(report, coxa_report::figures(report, &pngs)?, &coxa_report::CaseOptions::for_report(report));
        write_new(&dir.join("report.html"), coxa_report::html::render(&doc)?.as_bytes())?;
        write_new(&dir.join("report.pdf"), &coxa_report::pdf::render(&doc).context("the PDF report")?.bytes)?;
    }
    Ok(())
}

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

use std::path::Path;

use anyhow::{Context, Result};
use nalgebra::Point3;
use serde_json::{Value, json};

use coxa_anatomy::landmarks::{PatientLandmarks, orthoload_femur};
use coxa_core::{Mesh, Side};
use coxa_io::markups::{ControlPoint, write_fcsv, write_mrk_json};

fn suffix(side: Side) -> &'static str {
    if side == Side::Left { "_L" } else { "_R" }
}

fn point(label: String, description: &str, p: Point3<f64>) -> ControlPoint {
    ControlPoint { label, description: description.to_string(), lps_mm: p }
}

/// The landmark sets by file stem: `pelvis`, `femur_left`, `femur_right` (those found).
pub fn landmark_sets(found: &PatientLandmarks, meshes: &[(String, Mesh)], warnings: &mut Vec<String>) -> Vec<(String, Vec<ControlPoint>)> {
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
        match meshes.iter().find(|(n, _)| *n == name).and_then(|(_, m)| orthoload_femur(f, m)) {
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
                warnings.push(format!("{name}: the knee is not imaged (no condyles), so landmarks/{name}.fcsv has no P2, condyles or epicondyles and cannot feed coxa hcf"));
                pts.push(point(format!("HJC{s}"), "hip joint centre: femoral head sphere centre", f.head_centre.lps_mm));
            }
        }
        pts.push(point(format!("GT{s}"), "greater trochanter tip", f.greater_trochanter.lps_mm));
        pts.push(point(format!("LT{s}"), "lesser trochanter", f.lesser_trochanter.lps_mm));
        sets.push((name, pts));
    }
    sets
}

/// Writes the landmark sets into `out/landmarks/` as `.fcsv` and `.mrk.json`; the JSON listing
/// the files (for anatomy.json's `landmark_files`).
pub fn write_landmark_markups(out: &Path, found: &PatientLandmarks, meshes: &[(String, Mesh)], warnings: &mut Vec<String>) -> Result<Value> {
    let sets = landmark_sets(found, meshes, warnings);
    if sets.is_empty() {
        return Ok(json!({}));
    }
    let dir = out.join("landmarks");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut files = serde_json::Map::new();
    for (name, pts) in &sets {
        write_fcsv(pts, &dir.join(format!("{name}.fcsv")))?;
        write_mrk_json(pts, &dir.join(format!("{name}.mrk.json")))?;
        let _ = files.insert(name.clone(), json!({"fcsv": format!("landmarks/{name}.fcsv"), "mrk_json": format!("landmarks/{name}.mrk.json"), "labels": pts.iter().map(|p| p.label.clone()).collect::<Vec<_>>()}));
    }
    Ok(Value::Object(files))
}

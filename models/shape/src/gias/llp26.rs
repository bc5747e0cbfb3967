//! The LLP26 femur model (GIAS3's articulated lower limb): its published spreads, the vertex bands, and the model with its training subjects.

use super::*;

pub use crate::locate::{LLP26_DIR, find_installed};

/// The model's own error, deg, in femoral anteversion predicted from a proximal femur with the
/// LLP26 femur (as coxa's landmarks measure anteversion): the SD to add, in quadrature, to the
/// posterior SD of the mode weights ([`crate::predict::Prediction::angle_sd_with`]). Calibrated by
/// leave-one-out over LLP26's 26 training subjects (each cut 30 mm below its lesser trochanter,
/// predicted by the model of the other 25: `tests/tests/shape_femur.rs`,
/// `llp26_leave_one_out_calibrates_the_anteversion_sd`, which fails when this value is more than
/// 10 % off) with [`crate::predict::model_error_sd`].
pub const LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG: f64 = 5.0;

/// The model's own error, deg, in the neck-shaft angle predicted from a proximal femur with the
/// LLP26 femur: as [`LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`], calibrated by leave-one-out over
/// LLP26's 26 training subjects each imaged to 130 mm below its top (`tests/tests/shape_femur.rs`,
/// `issue_42_neck_shaft_angle_and_anteversion_from_the_proximal_130_mm`, which fails when this
/// value is more than 10 % off).
pub const LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG: f64 = 2.7;

/// The imaged femur must reach this far below the lesser trochanter (of the predicted femur),
/// mm, for the neck-shaft angle and the offset to be predicted: where their model-error terms
/// ([`LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`], [`LLP26_FEMUR_OFFSET_MODEL_SD_MM`]) are calibrated
/// (the leave-one-out at 30 mm below the lesser trochanter; at 130 mm below the top, about
/// 60 mm below it, the same terms cover the errors). A stub that stops above it (a hip CT
/// ending at the trochanters) constrains the shaft too little.
pub const LLP26_NECK_SHAFT_MIN_BELOW_LT_MM: f64 = 30.0;

/// The model's own error, mm, in the femoral offset (head centre to shaft axis) predicted from a
/// proximal femur, calibrated as [`LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`].
pub const LLP26_FEMUR_OFFSET_MODEL_SD_MM: f64 = 3.0;

/// The upper ends of the distance bands of [`LLP26_FEMUR_VERTEX_MODEL_SD_MM`]: a vertex's distance
/// below the imaged part of the femur (the cut), mm along the shaft axis; the first band (up to 0)
/// is the imaged part itself.
pub const LLP26_FEMUR_VERTEX_BANDS_MM: [f64; 8] = [0.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, f64::INFINITY];

/// The model's own error, mm, in the position of a femur vertex predicted from a proximal femur
/// with the LLP26 femur, per band of distance below the cut ([`LLP26_FEMUR_VERTEX_BANDS_MM`]): the
/// SD to add, in quadrature, to the posterior vertex SD ([`crate::SurfaceFit::sd_mm`], root of the
/// trace, so E|e|² = SD²) with [`crate::predict::Prediction::vertex_sd_with`]. Calibrated by
/// leave-one-out over LLP26's 26 training subjects, as [`LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`]
/// (each cut 30 mm below its lesser trochanter; [`crate::predict::model_error_sd`] per band over
/// the pooled vertices): `tests/tests/shape_femur.rs`,
/// `llp26_leave_one_out_calibrates_the_vertex_sd`, which fails when a value is more than 10 % off.
/// The same test cuts at 20 mm (the example CT's stub): the bands hold there too (mean |e|²/SD²
/// of the unseen vertices 1.00, each band within −9 % to +6 %), so the term depends on the distance
/// below the cut, not on the stub's length.
pub const LLP26_FEMUR_VERTEX_MODEL_SD_MM: [f64; 8] = [1.78, 2.54, 3.87, 6.30, 9.98, 15.28, 21.29, 23.10];

/// [`LLP26_FEMUR_VERTEX_MODEL_SD_MM`] for a vertex `below_mm` below the cut (negative: imaged).
pub fn llp26_femur_vertex_model_sd_mm(below_mm: f64) -> f64 {
    LLP26_FEMUR_VERTEX_MODEL_SD_MM[vertex_band(below_mm)]
}

/// The band of [`LLP26_FEMUR_VERTEX_BANDS_MM`] that holds `below_mm`.
pub fn vertex_band(below_mm: f64) -> usize {
    LLP26_FEMUR_VERTEX_BANDS_MM.iter().position(|&hi| below_mm < hi).unwrap_or(LLP26_FEMUR_VERTEX_BANDS_MM.len() - 1)
}

/// The package-relative folder of the articulated (paediatric) model.
pub const ARTICULATED_DIR: &str = "articulated_ssm_both_sides/coupled_ssm/pel_fem_tib_fib_both_side";

/// Which LLP26 parts to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Llp26Part {
    /// The pelvis (both hip bones and the sacrum, one mesh).
    Pelvis,
    /// The femur.
    Femur,
}

/// The LLP26 adult model of one side's femur and/or pelvis, evaluated densely (`divisions`
/// grid steps per element side: 13 gives the femur about 20,000 points), from the installed
/// `musculoskeletal/models` folder `dir`. Parts are named `femur_left`/`femur_right` and `pelvis`.
///
/// # Errors
/// [`crate::ShapeError::Io`] / [`crate::ShapeError::BadFile`] for missing or broken files;
/// [`crate::ShapeError::InvalidModel`] when the files disagree (node counts).
pub fn llp26(dir: &Path, side_right: bool, parts: &[Llp26Part], divisions: usize) -> Result<ShapeModel> {
    llp26_with_subjects(dir, side_right, parts, divisions).map(|(m, _)| m)
}

/// [`llp26`] and the weights of its 26 training subjects in the returned model's modes (from the
/// file's `projectedWeights`: each subject's node shape `mean + Σ_k w_ks mode_k`, evaluated densely
/// like the mean, then projected onto the dense model's orthonormal modes; exact up to the null
/// mode GIAS3 keeps). Empty when the file holds no `projectedWeights`.
///
/// # Errors
/// As [`llp26`]; [`crate::ShapeError::InvalidModel`] when `projectedWeights` does not have one
/// row per mode.
pub fn llp26_with_subjects(dir: &Path, side_right: bool, parts: &[Llp26Part], divisions: usize) -> Result<(ShapeModel, Vec<Vec<f64>>)> {
    let pc = if side_right { "shape_models/LLP26_right_mirrored_from_left_rigid.pc" } else { "shape_models/LLP26_rigid.pc" };
    let pca = crate::pca_file::read_pc(&dir.join(pc))?;
    let nodes = model_from_pca(
        &pca,
        Layout::Blocked,
        Vec::new(),
        Vec::new(),
        ModelInfo {
            units: "mm".into(),
            frame: "LLP26 reference subject's CT frame, read as DICOM LPS (x left, y posterior, z superior)".into(),
            procrustes_scale: false,
            total_variance_mm2: 0.0,
            provenance: Provenance {
                source: format!("GIAS3 LLP26 lower-limb model (musculoskeletal-models 0.2.4, {pc}), 26 adults, Auckland Bioengineering Institute"),
                n_subjects: 26,
                licence: "MPL-2.0".into(),
            },
        },
    )?;
    if nodes.n_vertices() != 3225 {
        return Err(ShapeError::InvalidModel { why: format!("{pc}: {} nodes, LLP26 has 3225", nodes.n_vertices()) });
    }
    let side = if side_right { "right" } else { "left" };
    let (mut rows, mut faces, mut out_parts) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        let (first, mesh, name) = match part {
            Llp26Part::Pelvis => (0, "atlas_meshes/pelvis_combined_cubic_flat.mesh".to_string(), "pelvis".to_string()),
            Llp26Part::Femur => (1946, format!("atlas_meshes/femur_{side}_quartic_flat.mesh"), format!("femur_{side}")),
        };
        let mesh_path = dir.join(&mesh);
        let m = EnsembleMesh::read(&mesh_path)?;
        let want = if *part == Llp26Part::Pelvis { 1946 } else { 634 };
        if m.n_nodes() != want {
            return Err(bad(&mesh_path, format!("{} nodes, LLP26's {name} has {want}", m.n_nodes())));
        }
        let (w, f) = m.evaluate(divisions);
        let base = rows.len() as u32;
        out_parts.push(Part { name, first_vertex: rows.len(), n_vertices: w.len(), first_face: faces.len(), n_faces: f.len() });
        faces.extend(f.iter().map(|t| t.map(|i| i + base)));
        rows.extend(w.into_iter().map(|r| r.into_iter().map(|(v, x)| (v + first, x)).collect::<Vec<_>>()));
    }
    let mut model = nodes.linear_image(&rows, faces, out_parts, Vec::new(), nodes.info().clone())?;
    let subjects = match &pca.projected_weights {
        None => Vec::new(),
        Some((w, k, s)) => {
            if *k != pca.n_modes() || w.len() != k * s {
                return Err(ShapeError::InvalidModel { why: format!("{pc}: projectedWeights is {k} x {s} for {} modes", pca.n_modes()) });
            }
            (0..*s)
                .map(|subject| {
                    let mut x = pca.mean.clone();
                    for mode in 0..*k {
                        let c = w[mode * s + subject];
                        x.iter_mut().zip(pca.mode(mode)).for_each(|(xi, m)| *xi += c * m);
                    }
                    let nodes_x: Vec<f64> = (0..x.len() / 3).flat_map(|i| PcaFile::point(&x, Layout::Blocked, i)).collect();
                    model.project(&apply_rows(&rows, &nodes_x))
                })
                .collect()
        }
    };
    // Outward-facing triangles (positive volume), part by part.
    let pts: Vec<[f64; 3]> = model.mean().chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let mut faces = model.faces().to_vec();
    for p in model.parts() {
        let fs = &mut faces[p.first_face..p.first_face + p.n_faces];
        if signed_volume_mm3(&pts, fs) < 0.0 {
            fs.iter_mut().for_each(|f| f.swap(1, 2));
        }
    }
    model = ShapeModel::new(
        model.mean().to_vec(),
        (0..model.n_modes()).flat_map(|k| model.mode(k).to_vec()).collect(),
        model.variances().to_vec(),
        faces,
        model.parts().to_vec(),
        Vec::new(),
        model.info().clone(),
    )?;
    Ok((model, subjects))
}

/// The articulated paediatric model of one side (`.pc.npz` plus its mean `.ply`'s triangles,
/// which the caller reads: coxa-shape does not read meshes), turned from the ISB pelvis frame into
/// LPS, with parts `pelvis_left`, `pelvis_right`, `femur_<side>`, `fibula_<side>`, `tibia_<side>`
/// from the package's node table.
///
/// # Errors
/// As [`crate::pca_file::read_pc_npz`]; [`crate::ShapeError::BadFile`] for a broken node table.
pub fn articulated(dir: &Path, side_right: bool, faces: Vec<[u32; 3]>) -> Result<ShapeModel> {
    let side = if side_right { "right" } else { "left" };
    let npz = dir.join(format!("shape_model_{side}_side.pc.npz"));
    let pca = crate::pca_file::read_pc_npz(&npz)?;
    let table_path = dir.join(format!("Coupled_SSM_node_nrs_per_bone_mesh_{side}.txt"));
    let table = std::fs::read_to_string(&table_path).map_err(|source| ShapeError::Io { path: table_path.clone(), action: "reading", source })?;
    let mut parts = Vec::new();
    for line in table.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(a), Some(b)) = (f.first(), f.get(1).and_then(|s| s.parse::<usize>().ok()), f.get(2).and_then(|s| s.parse::<usize>().ok())) else {
            return Err(bad(&table_path, format!("line {line:?}")));
        };
        let name = match name.to_ascii_lowercase().as_str() {
            "pel_l" => "pelvis_left".to_string(),
            "pel_r" => "pelvis_right".to_string(),
            n => format!("{}_{side}", &n[..n.len().saturating_sub(2)].replace("fem", "femur").replace("tib", "tibia").replace("fib", "fibula")),
        };
        parts.push(Part { name, first_vertex: a, n_vertices: b.saturating_sub(a), first_face: 0, n_faces: 0 });
    }
    // Faces of each part: those whose corners all lie in its vertex range (they are stored in order).
    let mut faces = faces;
    faces.sort_by_key(|f| f[0]);
    for p in &mut parts {
        let inside = |f: &[u32; 3]| f.iter().all(|&v| (p.first_vertex..p.first_vertex + p.n_vertices).contains(&(v as usize)));
        p.first_face = faces.iter().position(inside).unwrap_or(0);
        p.n_faces = faces[p.first_face..].iter().take_while(|f| inside(f)).count();
    }
    let model = model_from_pca(
        &pca,
        Layout::Interleaved,
        faces,
        parts,
        ModelInfo {
            units: "mm".into(),
            frame: "DICOM LPS axes (from the ISB pelvis frame: x anterior, y superior, z right), origin of the ISB pelvis frame".into(),
            procrustes_scale: false,
            total_variance_mm2: 0.0,
            provenance: Provenance {
                source: "articulated-ssm 0.2.0 coupled pelvis-femur-tibia-fibula model (Carman et al.), 327 subjects aged 4-18".into(),
                n_subjects: 327,
                licence: "none stated (reference only)".into(),
            },
        },
    )?;
    model.transformed(&isb_to_lps(), &Vector3::zeros())
}

//! The published femur models (GIAS3 LLP26, adult; the articulated SSM, paediatric) read where
//! `pip` installed them, checked for plausibility with coxa's own landmarks; and the whole femur
//! predicted from a proximal femur (../shared/data/vsd_bones).

use std::path::PathBuf;

use anyhow::{Context, Result};
use coxa_anatomy::landmarks::{FemurLandmarks, femur_landmarks};
use coxa_core::{Mesh, Side};
use coxa_shape::ShapeModel;
use coxa_shape::gias::{self, Llp26Part};
use nalgebra::Point3;

use crate::common::workspace_root;
mod leave_one_out;
mod prediction;

/// The package folder `rel`: LLP26 ([`gias::LLP26_DIR`]) installed or, since issue 42, the copy
/// that ships inside coxa (never missing); the articulated model where pip installed it (scripts/
/// setup; outside CI a missing install skips the test with a note, in CI it fails).
pub fn installed(rel: &str) -> Option<PathBuf> {
    if rel == gias::LLP26_DIR {
        let found = coxa_shape::locate::locate_llp26(&[&workspace_root()]).map(|l| l.dir);
        assert!(found.is_some(), "the LLP26 copy bundled in models/shape/llp26 is missing");
        return found;
    }
    if let Some(p) = gias::find_installed(&workspace_root(), rel) {
        return Some(p);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{rel} is not installed; run scripts/setup (pip install --no-deps articulated-ssm==0.2.0)");
    eprintln!("note: skipping, {rel} is not installed (scripts/setup installs it)");
    None
}

/// The mesh of part `name` of a model's shape `x` (3N values).
pub fn part_mesh(model: &ShapeModel, name: &str, x: &[f64]) -> Result<Mesh> {
    let p = model.parts().iter().find(|p| p.name == name).context("no such part")?;
    let v: Vec<Point3<f64>> = (p.first_vertex..p.first_vertex + p.n_vertices).map(|i| Point3::new(x[3 * i], x[3 * i + 1], x[3 * i + 2])).collect();
    let f: Vec<[u32; 3]> = model.faces()[p.first_face..p.first_face + p.n_faces].iter().map(|t| t.map(|i| i - p.first_vertex as u32)).collect();
    Ok(Mesh::new(v, f)?)
}

fn edge_uses(faces: &[[u32; 3]]) -> (usize, usize) {
    let mut directed = std::collections::HashMap::new();
    for f in faces {
        for k in 0..3 {
            *directed.entry((f[k], f[(k + 1) % 3])).or_insert(0usize) += 1;
        }
    }
    let boundary = directed.keys().filter(|(a, b)| !directed.contains_key(&(*b, *a))).count();
    let repeated = directed.values().filter(|&&n| n > 1).count();
    (boundary, repeated)
}

#[test]
fn llp26_loads_and_is_a_closed_outward_femur() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    for (right, side) in [(false, Side::Left), (true, Side::Right)] {
        let m = gias::llp26(&dir, right, &[Llp26Part::Femur, Llp26Part::Pelvis], 13)?;
        let fem = &m.parts()[0];
        eprintln!(
            "LLP26 {side:?}: {} vertices ({} femur), {} faces, {} modes, mode SDs {:?}",
            m.n_vertices(),
            fem.n_vertices,
            m.faces().len(),
            m.n_modes(),
            m.variances().iter().take(5).map(|v| v.sqrt().round()).collect::<Vec<_>>()
        );
        let mesh = part_mesh(&m, &fem.name, m.mean())?;
        let (boundary, repeated) = edge_uses(mesh.triangles());
        eprintln!("  femur mesh: {boundary} boundary edges, {repeated} repeated directed edges, volume {:.0} cm3", mesh.signed_volume_mm3() / 1000.0);
        let l = femur_landmarks(&mesh, side)?;
        eprintln!("  mean femur: head radius {:.1} mm, NSA {:?}, anteversion {:?}, LT {:?}", l.head_radius_mm, l.neck_shaft_angle_deg, l.anteversion_deg, l.lesser_trochanter.lps_mm);
    }
    Ok(())
}

/// Both vsd femurs: (a right femur, its side, its file).
const VSD_FEMURS: [(bool, Side, &str); 2] = [(false, Side::Left, "z013_Femur_L.stl"), (true, Side::Right, "z013_Femur_R.stl")];

/// LLP26's folder and the vsd bones' folder; `None` (the test skips, with a note) where either is
/// missing outside CI.
fn llp26_and_vsd() -> Option<(PathBuf, PathBuf)> {
    Some((installed(gias::LLP26_DIR)?, crate::common::shared_data("vsd_bones")?))
}

/// The part of `mesh` whose triangles lie wholly above `level` along `axis` (a femur cut
/// perpendicular to its shaft), and that part's area.
pub fn cut_above(mesh: &Mesh, axis: &nalgebra::Vector3<f64>, level: f64) -> Result<(Mesh, f64)> {
    let cut = keep_triangles(mesh, |p| p.coords.dot(axis) >= level)?;
    let area = cut.area_mm2();
    Ok((cut, area))
}

/// A vsd femur cut `below_mm` under its lesser trochanter (perpendicular to its shaft axis): the whole
/// femur, its landmarks, the shaft direction, the cut's level along it, the part above and its area.
struct VsdCut {
    full: Mesh,
    truth: FemurLandmarks,
    u: nalgebra::Vector3<f64>,
    cut_level: f64,
    partial: Mesh,
    area: f64,
}

fn vsd_cut(vsd: &std::path::Path, file: &str, side: Side, below_mm: f64) -> Result<VsdCut> {
    let full = coxa_io::mesh::read_stl(&vsd.join(file))?;
    let truth = femur_landmarks(&full, side)?;
    let u = truth.shaft_axis.direction_lps;
    let cut_level = truth.lesser_trochanter.lps_mm.coords.dot(&u) - below_mm;
    let (partial, area) = cut_above(&full, &u, cut_level)?;
    Ok(VsdCut { full, truth, u, cut_level, partial, area })
}

/// The whole femur predicted from its proximal part (cut 30 mm below the lesser trochanter) by the
/// LLP26 adult model, on both vsd femurs: surface error over the unseen part, predicted SD, and
/// femoral anteversion against coxa's measurement on the full femur.
#[test]
fn femur_predicted_from_a_proximal_femur() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let mut results = Vec::new();
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial, area } = vsd_cut(&vsd, file, side, 30.0)?;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;

        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], 22)?;
        let name = format!("femur_{}", side.as_str());
        let mean_mesh = part_mesh(&model, &name, model.mean())?;
        let head_model = femur_landmarks(&mean_mesh, side)?.head_centre.lps_mm;
        let head_target = femur_landmarks(&partial, side)?.head_centre.lps_mm;
        let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
        let t0 = std::time::Instant::now();
        let p = coxa_shape::predict::predict_from_partial(&model, &partial, &head_model, &head_target, &measure, 30, 7)?;
        let secs = t0.elapsed().as_secs_f64();
        let (fit, pred) = (&p.fit, &p.mesh);
        let rigid = model.fit_surface(partial.vertices(), area, &fit.pose, &coxa_shape::SurfaceFitOptions { n_modes: Some(0), ..Default::default() })?;
        // Surface error over the unseen part (below the cut), both ways.
        let true_surface = coxa_shape::surface::Surface::new(full.vertices(), full.triangles());
        let pred_surface = coxa_shape::surface::Surface::new(pred.vertices(), pred.triangles());
        let below = |p: &Point3<f64>| p.coords.dot(&u) < cut_level;
        let unseen: Vec<usize> = (0..pred.vertices().len()).filter(|&i| below(&pred.vertices()[i])).collect();
        let e_pred: Vec<f64> = unseen.iter().map(|&i| true_surface.distance(&pred.vertices()[i])).collect();
        let e_true: Vec<f64> = full.vertices().iter().filter(|p| below(p)).map(|p| pred_surface.distance(p)).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
        let sd_unseen = rms(&unseen.iter().map(|&i| fit.sd_mm[i]).collect::<Vec<_>>());
        // The baseline: the mean shape posed by the rigid fit.
        let base = Mesh::new(rigid.shape.clone(), model.faces().to_vec())?;
        let e_base: Vec<f64> = base.vertices().iter().filter(|p| below(p)).map(|p| true_surface.distance(p)).collect();
        let av_base = femur_landmarks(&base, side)?.anteversion_deg.context("the mean femur has condyles")?;
        let av_pred = p.angle.context("the predicted femur has condyles")?;
        let avs = &p.measures[0].samples;
        let av_mean = mean(avs);
        let av_sd = p.angle_sd().context("posterior samples")?;
        eprintln!(
            "{side:?}: target {} pts ({:.0} cm2), prediction (14 rigid starts, fit, 30 samples) {secs:.1} s, fit {} it, residual SD {:.2} mm, RMS {:.2} mm, inliers {:.0} %",
            partial.vertices().len(),
            area / 100.0,
            fit.iterations,
            fit.residual_sd_mm,
            fit.rms_mm,
            100.0 * fit.inlier_fraction
        );
        eprintln!(
            "  unseen part: predicted->true mean {:.2} mm (RMS {:.2}), true->predicted mean {:.2} mm (RMS {:.2}); predicted SD (RMS) {sd_unseen:.2} mm",
            mean(&e_pred),
            rms(&e_pred),
            mean(&e_true),
            rms(&e_true)
        );
        eprintln!(
            "  anteversion: full femur {av_true:.1} deg, predicted {av_pred:.1} deg (error {:+.1}), posterior {av_mean:.1} +- {av_sd:.1} deg ({} samples); length true {:.0} predicted {:.0}",
            av_pred - av_true,
            avs.len(),
            extent(&full, &u),
            extent(pred, &u)
        );
        eprintln!("  baseline (mean shape, rigidly posed): unseen predicted->true mean {:.2} mm, anteversion {av_base:.1} deg (error {:+.1})", mean(&e_base), av_base - av_true);
        let pred_l = femur_landmarks(pred, side)?;
        let sd_total = p.angle_sd_with(gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG).context("SD")?;
        eprintln!(
            "  head centre: the stub's landmarks {:.1} mm from the whole femur's (radius {:.1} vs {:.1} mm), the predicted femur's {:.1} mm; predictive SD {sd_total:.1} deg (posterior {av_sd:.1}, model {:.1}): error {:.1} SD",
            (head_target - truth.head_centre.lps_mm).norm(),
            femur_landmarks(&partial, side)?.head_radius_mm,
            truth.head_radius_mm,
            (pred_l.head_centre.lps_mm - truth.head_centre.lps_mm).norm(),
            gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG,
            (av_pred - av_true).abs() / sd_total
        );
        // What holds (measured when written: left 3.4 mm / +1.5 deg, right 8.8 mm / -10.8 deg;
        // anchors 1.8 mm and < 5 deg are met on neither side for the surface, on the left for
        // the angle). The proximal surface is matched to about a millimetre:
        assert!(fit.rms_mm < 1.5 && fit.inlier_fraction > 0.9, "{side:?}: the fit does not match the proximal femur");
        assert!(mean(&e_pred) < 10.0 && (av_pred - av_true).abs() < 12.0, "{side:?}: the prediction got worse");
        // The posterior SD of the unseen part is of the size of the real error's scale, not 0.
        assert!(sd_unseen > 1.0 && av_sd > 1.0);
        results.push((mean(&e_pred), mean(&e_base)));
    }
    // Over both femurs the fitted shape predicts the unseen part better than the posed mean.
    let (fit_err, base_err): (f64, f64) = results.iter().fold((0.0, 0.0), |a, r| (a.0 + r.0, a.1 + r.1));
    assert!(fit_err < base_err, "fit {fit_err:.2} mm vs posed mean {base_err:.2} mm over both sides");
    Ok(())
}

fn extent(m: &Mesh, u: &nalgebra::Vector3<f64>) -> f64 {
    let t: Vec<f64> = m.vertices().iter().map(|p| p.coords.dot(u)).collect();
    t.iter().copied().fold(f64::NEG_INFINITY, f64::max) - t.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Summary of a sample of values: (mean, SD, min, max).
fn summary(v: &[f64]) -> (f64, f64, f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0).max(1.0)).sqrt();
    (m, sd, v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// coxa's landmarks on `n` seeded random femurs of a model: head radius, neck-shaft angle and
/// anteversion, with the number of samples where each was measured.
fn femur_plausibility(model: &ShapeModel, part: &str, side: Side, n: usize) -> Result<[Vec<f64>; 3]> {
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for (_, x) in model.sample(n, None, 2024)? {
        let Ok(l) = femur_landmarks(&part_mesh(model, part, &x)?, side) else {
            continue;
        };
        out[0].push(l.head_radius_mm);
        if let Some(a) = l.neck_shaft_angle_deg {
            out[1].push(a);
        }
        if let Some(a) = l.anteversion_deg {
            out[2].push(a);
        }
    }
    Ok(out)
}

/// Published adult ranges (individual femurs):
/// - head radius 19-28 mm: femoral head diameter about 38-56 mm, means 43-44 mm in women and
///   48-50 mm in men (Noble et al., Clin Orthop 1988;235:148-165; Rubin et al., JBJS Br
///   1992;74:28-32);
/// - neck-shaft angle 115-140 deg: mean 124.7 +- 7.4 deg (Noble 1988), 126.4 deg in a
///   meta-analysis of adults (Gilligan et al., Anat Res Int 2013);
/// - anteversion -10..+40 deg: mean about 8-15 deg, SD about 7-9 deg in dry-bone and CT series
///   (Kingsley & Olmsted, JBJS Am 1948;30:745 range -20..38; Yoshioka et al., Clin Orthop 1987;
///   Tönnis & Heinecke 1999 CT normal 15-20 deg).
#[test]
fn llp26_samples_are_plausible_adult_femurs() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let model = gias::llp26(&dir, false, &[Llp26Part::Femur], 13)?;
    let [head, nsa, av] = femur_plausibility(&model, "femur_left", Side::Left, 40)?;
    eprintln!("LLP26 left femur, 40 seeded samples (+-3 SD), coxa's landmarks:");
    eprintln!("  quantity            n   mean    SD    min    max   published adult range");
    for (name, v, range) in [("head radius mm", &head, "19-28"), ("neck-shaft deg", &nsa, "115-140"), ("anteversion deg", &av, "-10..40")] {
        let (m, sd, lo, hi) = summary(v);
        eprintln!("  {name:16} {:3} {m:6.1} {sd:5.1} {lo:6.1} {hi:6.1}   {range}", v.len());
    }
    assert!(head.len() == 40 && nsa.len() >= 36 && av.len() >= 36, "landmarks found on too few samples");
    let inside = |v: &[f64], lo: f64, hi: f64| v.iter().filter(|x| (lo..=hi).contains(*x)).count() as f64 / v.len() as f64;
    // At least 90 % of the samples in the published ranges (a ±3 SD sample may lie at the edge).
    assert!(inside(&head, 19.0, 28.0) >= 0.9, "head radii {head:?}");
    assert!(inside(&nsa, 115.0, 140.0) >= 0.9, "neck-shaft angles {nsa:?}");
    assert!(inside(&av, -10.0, 40.0) >= 0.9, "anteversions {av:?}");
    let (m_head, _, _, _) = summary(&head);
    let (m_nsa, _, _, _) = summary(&nsa);
    let (m_av, _, _, _) = summary(&av);
    assert!((21.0..=26.0).contains(&m_head) && (120.0..=132.0).contains(&m_nsa) && (5.0..=20.0).contains(&m_av));
    Ok(())
}

/// The articulated paediatric model (ages 4-18) loads from its `.pc.npz`, turns from the ISB frame
/// into LPS, and its femurs are smaller than adults' (a reference, not coxa's prior).
#[test]
fn articulated_ssm_loads_in_lps() -> Result<()> {
    let Some(dir) = installed(gias::ARTICULATED_DIR) else {
        return Ok(());
    };
    let ply = coxa_io::mesh::read_ply(&dir.join("shape_model_left_side_mean.ply"))?;
    let model = gias::articulated(&dir, false, ply.triangles().to_vec())?;
    eprintln!("articulated SSM (left): {} points, {} modes, parts {:?}", model.n_vertices(), model.n_modes(), model.parts().iter().map(|p| (&p.name, p.n_vertices, p.n_faces)).collect::<Vec<_>>());
    // The file's mean equals the packaged mean mesh (rotated into LPS).
    let r = gias::isb_to_lps();
    let worst = ply
        .vertices()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let q = r * p.coords;
            let m = &model.mean()[3 * i..3 * i + 3];
            (q - nalgebra::Vector3::new(m[0], m[1], m[2])).norm()
        })
        .fold(0.0, f64::max);
    eprintln!("  mean vs the packaged mean .ply: max {worst:.2e} mm");
    // The packaged .ply differs by up to 0.035 mm (it was written separately, in float32).
    assert!(worst < 0.1);
    let mesh = part_mesh(&model, "femur_left", model.mean())?;
    // LPS: the femur runs down (z) from the pelvis, the left femur at +x of the pelvis centre.
    let pelvis = model.parts().iter().find(|p| p.name == "pelvis_left").context("pelvis part")?;
    let cz = |a: usize, n: usize, c: usize| (a..a + n).map(|i| model.mean()[3 * i + c]).sum::<f64>() / n as f64;
    let fem = &model.parts().iter().find(|p| p.name == "femur_left").context("femur part")?;
    assert!(cz(fem.first_vertex, fem.n_vertices, 2) < cz(pelvis.first_vertex, pelvis.n_vertices, 2));
    let l = femur_landmarks(&mesh, Side::Left)?;
    eprintln!("  mean femur: head radius {:.1} mm, NSA {:?}, anteversion {:?}", l.head_radius_mm, l.neck_shaft_angle_deg, l.anteversion_deg);
    let [head, nsa, av] = femur_plausibility(&model, "femur_left", Side::Left, 20)?;
    for (name, v) in [("head radius mm", &head), ("neck-shaft deg", &nsa), ("anteversion deg", &av)] {
        if !v.is_empty() {
            let (m, sd, lo, hi) = summary(v);
            eprintln!("  {name:16} {:3} {m:6.1} {sd:5.1} {lo:6.1} {hi:6.1}", v.len());
        }
    }
    assert!(l.head_radius_mm > 12.0 && l.head_radius_mm < 26.0);
    Ok(())
}

/// The mesh subdivided 1 -> 4 (edge midpoints): 4x the triangles, no vertex order kept in common
/// with the template beyond the original corners (which the registration does not know).
fn subdivide(v: &[Point3<f64>], f: &[[u32; 3]]) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
    let mut v = v.to_vec();
    let mut mid = std::collections::HashMap::new();
    let mut out = Vec::new();
    for t in f {
        let mut m = [0u32; 3];
        for k in 0..3 {
            let (a, b) = (t[k].min(t[(k + 1) % 3]), t[k].max(t[(k + 1) % 3]));
            m[k] = *mid.entry((a, b)).or_insert_with(|| {
                v.push(nalgebra::center(&v[a as usize], &v[b as usize]));
                (v.len() - 1) as u32
            });
        }
        out.extend([[t[0], m[0], m[2]], [m[0], t[1], m[1]], [m[2], m[1], t[2]], [m[0], m[1], m[2]]]);
    }
    (v, out)
}

/// Vertex clustering on a `cell_mm` grid (a coarser mesh whose vertices are cell averages).
fn cluster(v: &[Point3<f64>], f: &[[u32; 3]], cell_mm: f64) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
    let mut id = std::collections::HashMap::new();
    let mut sum: Vec<(nalgebra::Vector3<f64>, f64)> = Vec::new();
    let map: Vec<u32> = v
        .iter()
        .map(|p| {
            let key = (p / cell_mm).map(|c| c.floor() as i64);
            let i = *id.entry((key.x, key.y, key.z)).or_insert_with(|| {
                sum.push((nalgebra::Vector3::zeros(), 0.0));
                (sum.len() - 1) as u32
            });
            sum[i as usize].0 += p.coords;
            sum[i as usize].1 += 1.0;
            i
        })
        .collect();
    let nv = sum.iter().map(|(s, n)| Point3::from(s / *n)).collect();
    let nf = f.iter().map(|t| t.map(|i| map[i as usize])).filter(|t| t[0] != t[1] && t[1] != t[2] && t[0] != t[2]).collect();
    (nv, nf)
}

/// Correspondence on the atlas: subject 0's left hip bone (5000 vertices) registered onto two
/// other subjects' left hips remeshed 4x finer (subdivision) and about 3x coarser (4 mm vertex
/// clustering); the registered vertices against the atlas's known correspondence.
#[test]
fn registration_recovers_atlas_correspondence() -> Result<()> {
    let Some(dir) = crate::common::shared_data("pelvis_atlas/surface") else {
        return Ok(());
    };
    let ids = crate::shape::subject_ids(&dir)?;
    let read = |id: u32| coxa_io::mesh::read_vtk(&dir.join(format!("LeftHip{id}_cpd.vtk")));
    let template = read(ids[0])?;
    let centroid = |v: &[Point3<f64>]| Point3::from(v.iter().map(|p| p.coords).sum::<nalgebra::Vector3<f64>>() / v.len() as f64);
    let (mut fit_err, mut base_err) = (Vec::new(), Vec::new());
    for &id in &ids[1..3] {
        let truth = read(id)?;
        let fine = subdivide(truth.vertices(), truth.triangles());
        let coarse = cluster(truth.vertices(), truth.triangles(), 4.0);
        for (name, (tv, tf)) in [("4x finer", fine), ("coarser", coarse)] {
            let init = coxa_shape::Pose { translation_mm: centroid(&tv) - centroid(template.vertices()), ..coxa_shape::Pose::identity() };
            let t0 = std::time::Instant::now();
            let r = coxa_shape::register(template.vertices(), template.triangles(), &tv, &tf, &init, &coxa_shape::RegisterOptions::default())?;
            let corr = |x: &[Point3<f64>]| x.iter().zip(truth.vertices()).map(|(a, b)| (a - b).norm()).sum::<f64>() / x.len() as f64;
            let rigid: Vec<Point3<f64>> = template.vertices().iter().map(|p| r.rigid.apply(p)).collect();
            let (e, e0) = (corr(&r.vertices), corr(&rigid));
            eprintln!(
                "subject {id} ({name}, {} vertices): correspondence error {e:.2} mm (rigid only {e0:.2} mm), registered surface distance {:.2} mm, {:.1} s",
                tv.len(),
                r.mean_distance_mm,
                t0.elapsed().as_secs_f64()
            );
            fit_err.push(e);
            base_err.push(e0);
            assert!(r.mean_distance_mm < 1.0, "the registered template does not lie on the target");
        }
    }
    let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!("mean correspondence error {:.2} mm (rigid only {:.2} mm)", m(&fit_err), m(&base_err));
    assert!(m(&fit_err) < 0.6 * m(&base_err));
    Ok(())
}

/// The vsd femurs brought into LLP26's correspondence: the model's mean femur (6931 points)
/// registered onto each full vsd femur, then the model fitted to the registered points (a whole
/// fit in correspondence): how well the adult model represents an unseen femur.
#[test]
fn vsd_femurs_in_llp26_correspondence() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    for (right, side, file) in VSD_FEMURS {
        let full = coxa_io::mesh::read_stl(&vsd.join(file))?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], 13)?;
        let truth = femur_landmarks(&full, side)?;
        let (r, _) = mean_registered_onto(&model, &full, &truth, side)?;
        let registered = Mesh::new(r.vertices.clone(), model.faces().to_vec())?;
        let reg_l = femur_landmarks(&registered, side)?;
        let fit = model.fit(&r.vertices, &coxa_shape::FitOptions::default())?;
        let surface = coxa_shape::surface::Surface::new(full.vertices(), full.triangles());
        let fit_err = fit.shape.iter().map(|p| surface.distance(p)).sum::<f64>() / fit.shape.len() as f64;
        eprintln!(
            "{side:?}: registered mean femur {:.2} mm from the vsd surface; anteversion registered {:.1} vs full {:.1} deg; LLP26 fit to it: RMS {:.2} mm to the registered points, {:.2} mm mean to the vsd surface",
            r.mean_distance_mm,
            reg_l.anteversion_deg.unwrap_or(f64::NAN),
            truth.anteversion_deg.unwrap_or(f64::NAN),
            fit.rms_mm,
            fit_err
        );
        assert!(r.mean_distance_mm < 1.0);
        assert!((reg_l.anteversion_deg.context("registered condyles")? - truth.anteversion_deg.context("vsd condyles")?).abs() < 5.0);
        assert!(fit_err < 3.0);
    }
    Ok(())
}

/// The model's mean femur registered onto the whole femur `full` (landmarks `truth`), started
/// with the femoral head centres together: `full` in the model's correspondence. Also the mean
/// femur's head centre.
fn mean_registered_onto(model: &ShapeModel, full: &Mesh, truth: &FemurLandmarks, side: Side) -> Result<(coxa_shape::Registration, Point3<f64>)> {
    let mean = model.instance(&[])?;
    let head_model = femur_landmarks(&Mesh::new(mean.clone(), model.faces().to_vec())?, side)?.head_centre.lps_mm;
    let init = coxa_shape::Pose { translation_mm: truth.head_centre.lps_mm - head_model, ..coxa_shape::Pose::identity() };
    Ok((coxa_shape::register(&mean, model.faces(), full.vertices(), full.triangles(), &init, &coxa_shape::RegisterOptions::default())?, head_model))
}

/// A held-out LLP26 training femur: the model of the other 25, the subject's whole femur (turned
/// by up to 10 deg about each axis, seeded by the subject), the part above the cut `cut_mm` below
/// its lesser trochanter, the shaft axis (up) and the cut's level along it, and the head anchors.
struct HeldOut {
    model: coxa_shape::ShapeModel,
    full: Mesh,
    truth: FemurLandmarks,
    partial: Mesh,
    area_mm2: f64,
    up: nalgebra::Vector3<f64>,
    cut_level: f64,
    head_model: Point3<f64>,
    head_target: Point3<f64>,
}

fn held_out(model: &coxa_shape::ShapeModel, subjects: &[Vec<f64>], s: usize, cut_mm: f64) -> Result<HeldOut> {
    held_out_cut(model, subjects, s, &|_, truth, up| truth.lesser_trochanter.lps_mm.coords.dot(up) - cut_mm)
}

/// The level along the shaft axis `up` (mm) a whole femur (its mesh and landmarks) is cut at.
type CutLevel<'a> = dyn Fn(&Mesh, &FemurLandmarks, &nalgebra::Vector3<f64>) -> f64 + Sync + 'a;

/// [`held_out`] cut at the level `cut_level` gives.
fn held_out_cut(model: &coxa_shape::ShapeModel, subjects: &[Vec<f64>], s: usize, cut_level: &CutLevel<'_>) -> Result<HeldOut> {
    let side = Side::Left;
    let others: Vec<Vec<f64>> = subjects.iter().enumerate().filter(|(i, _)| *i != s).map(|(_, b)| b.clone()).collect();
    let loo = model.from_subject_weights(&others)?;
    let own = model.instance(&subjects[s])?;
    let centre = Point3::from(own.iter().map(|p| p.coords).sum::<nalgebra::Vector3<f64>>() / own.len() as f64);
    let pose = jitter(100 + s as u64, 10.0, &centre);
    let full = Mesh::new(own.iter().map(|p| pose.apply(p)).collect(), model.faces().to_vec())?;
    let truth = femur_landmarks(&full, side)?;
    let up = truth.shaft_axis.direction_lps;
    let cut_level = cut_level(&full, &truth, &up);
    let (partial, area_mm2) = cut_above(&full, &up, cut_level)?;
    let head_model = femur_landmarks(&Mesh::new(loo.instance(&[])?, loo.faces().to_vec())?, side)?.head_centre.lps_mm;
    let head_target = femur_landmarks(&partial, side).map(|l| l.head_centre.lps_mm).unwrap_or(centre);
    Ok(HeldOut { model: loo, full, truth, partial, area_mm2, up, cut_level, head_model, head_target })
}

/// Grid steps per LLP26 element in the leave-one-out (13: about 20,000 femur points; the pipeline
/// evaluates 22 for a finer mesh, the same shapes).
const LOO_DIVISIONS: usize = 13;

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The surface error of a predicted femur over the part below the cut (`up`, `cut_level`), both
/// ways: the mean distance of the predicted vertices below the cut to the true surface (the
/// figure the issue asks for), and of the true vertices below the cut to the predicted surface.
/// `one(s)` for every subject `s < n`, the even subjects on one thread and the odd ones on
/// another (the leave-one-out measurements; the machine has two cores); rows in that order.
fn on_two_threads<T: Send>(n: usize, one: &(dyn Fn(usize) -> Result<T> + Sync)) -> Result<Vec<T>> {
    let halves: Vec<Result<Vec<T>>> =
        std::thread::scope(|sc| [0, 1].map(|h| sc.spawn(move || (h..n).step_by(2).map(one).collect::<Result<Vec<_>>>())).map(|t| t.join().expect("a thread panicked")).into());
    let mut rows = Vec::new();
    for h in halves {
        rows.extend(h?);
    }
    Ok(rows)
}

/// The part of `mesh` whose triangles lie wholly where `keep` holds for all three corners.
fn keep_triangles(mesh: &Mesh, keep: impl Fn(&Point3<f64>) -> bool) -> Result<Mesh> {
    let keep: Vec<bool> = mesh.vertices().iter().map(keep).collect();
    let mut map = vec![u32::MAX; keep.len()];
    let mut v = Vec::new();
    let mut f = Vec::new();
    for t in mesh.triangles().iter().filter(|t| t.iter().all(|&i| keep[i as usize])) {
        f.push(t.map(|i| {
            let i = i as usize;
            if map[i] == u32::MAX {
                map[i] = v.len() as u32;
                v.push(mesh.vertices()[i]);
            }
            map[i]
        }));
    }
    Ok(Mesh::new(v, f)?)
}

/// Anteversion (deg), neck-shaft angle (deg) and offset (mm) of a whole femur as coxa's landmarks
/// measure them, `None` each where not measured.
fn femur_measures(m: &Mesh, side: Side) -> Vec<Option<f64>> {
    match femur_landmarks(m, side) {
        Ok(l) => vec![l.anteversion_deg, l.neck_shaft_angle_deg, Some(l.offset_mm())],
        Err(_) => vec![None; 3],
    }
}

/// A rigid motion of up to `deg` about each axis (seeded), about the point `c`.
fn jitter(seed: u64, deg: f64, c: &Point3<f64>) -> coxa_shape::Pose {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut a = || rng.random_range(-deg..deg).to_radians();
    let r = nalgebra::Rotation3::from_euler_angles(a(), a(), a());
    coxa_shape::Pose { rotation: r, translation_mm: c.coords - r * c.coords, scale: 1.0 }
}

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

/// A rigid motion of up to `deg` about each axis (seeded), about the point `c`.
fn jitter(seed: u64, deg: f64, c: &Point3<f64>) -> coxa_shape::Pose {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut a = || rng.random_range(-deg..deg).to_radians();
    let r = nalgebra::Rotation3::from_euler_angles(a(), a(), a());
    coxa_shape::Pose { rotation: r, translation_mm: c.coords - r * c.coords, scale: 1.0 }
}

/// One leave-one-out prediction: (true anteversion, predicted, posterior SD, unseen-part mean
/// surface error mm).
struct LooCase {
    truth_deg: f64,
    predicted_deg: f64,
    posterior_sd_deg: f64,
    unseen_mm: f64,
}

/// The LLP26 femur's training subjects (from `projectedWeights`), each left out in turn: the
/// model rebuilt from the other 25, the subject's own femur (turned by up to 10 deg about each axis)
/// cut 30 mm below its lesser trochanter, the whole femur predicted from the cut, and the
/// predicted anteversion against coxa's measurement on the subject's whole femur. The errors
/// calibrate the model-error term of the predicted SD
/// ([`coxa_shape::gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG`]): with it, about 68 % of the
/// held-out errors must lie within 1 SD. Issue 42: the same predictions calibrate the terms of the
/// neck-shaft angle and the offset (`gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`,
/// `..._OFFSET_MODEL_SD_MM`; 30 mm below the lesser trochanter is the shortest stub they are given
/// for, `gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`, and the errors are largest there), over the
/// subjects whose stub has no neck-shaft angle of its own.
#[test]
fn llp26_leave_one_out_calibrates_the_anteversion_sd() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let side = Side::Left;
    let (model, subjects) = gias::llp26_with_subjects(&dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    assert_eq!(subjects.len(), 26, "LLP26 has 26 training subjects");
    // The subjects' weights have the model's variances (GIAS3 divides by S - 1) and mean 0.
    for k in 0..5 {
        let v = subjects.iter().map(|b| b[k] * b[k]).sum::<f64>() / 25.0;
        let m = subjects.iter().map(|b| b[k]).sum::<f64>() / 26.0;
        assert!((v / model.variances()[k] - 1.0).abs() < 0.01 && m.abs() < 0.01 * model.variances()[k].sqrt(), "mode {k}: variance {v} vs {}, mean {m}", model.variances()[k]);
    }
    let mut cases = Vec::new();
    let (mut vertex_rms, mut vertex_sd) = (Vec::new(), Vec::new());
    // Neck-shaft angle and offset: (error, posterior SD) of each subject where predicted.
    let mut neck: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let t0 = std::time::Instant::now();
    for s in 0..subjects.len() {
        let c = held_out(&model, &subjects, s, gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM)?;
        let truth_deg = c.truth.anteversion_deg.context("a training femur has condyles")?;
        let (full, u, cut_level) = (&c.full, c.up, c.cut_level);
        let p = coxa_shape::predict::predict_from_partial_measures(&c.model, &c.partial, &c.head_model, &c.head_target, &|m| femur_measures(m, side), 30, 7, &Default::default())?;
        if femur_landmarks(&c.partial, side)?.neck_shaft_angle_deg.is_none() {
            let truth = femur_measures(full, side);
            for k in 0..2 {
                if let (Some(v), Some(t), Some(sd)) = (p.measures[k + 1].value, truth[k + 1], p.measures[k + 1].sd()) {
                    neck[k].push((v - t, sd));
                }
            }
        }
        let predicted_deg = p.angle.context("the predicted femur has condyles")?;
        let true_surface = coxa_shape::surface::Surface::new(full.vertices(), full.triangles());
        let unseen: Vec<f64> = p.mesh.vertices().iter().filter(|q| q.coords.dot(&u) < cut_level).map(|q| true_surface.distance(q)).collect();
        let unseen_mm = unseen.iter().sum::<f64>() / unseen.len().max(1) as f64;
        // The per-vertex SD over the unseen part against the real vertex error there (the
        // subject's own vertices: the left-out femur is in correspondence with the model).
        let below: Vec<usize> = (0..full.vertices().len()).filter(|&v| full.vertices()[v].coords.dot(&u) < cut_level).collect();
        let nb = below.len().max(1) as f64;
        vertex_rms.push((below.iter().map(|&v| (p.fit.shape[v] - full.vertices()[v]).norm_squared()).sum::<f64>() / nb).sqrt());
        vertex_sd.push((below.iter().map(|&v| p.fit.sd_mm[v].powi(2)).sum::<f64>() / nb).sqrt());
        let case = LooCase { truth_deg, predicted_deg, posterior_sd_deg: p.angle_sd().unwrap_or(f64::NAN), unseen_mm };
        eprintln!(
            "subject {s:2}: anteversion {truth_deg:5.1} deg, predicted {predicted_deg:5.1} (error {:+5.1}), posterior SD {:.1}; unseen part {unseen_mm:.2} mm; fit RMS {:.2} mm, converged {}",
            predicted_deg - truth_deg,
            case.posterior_sd_deg,
            p.fit.rms_mm,
            p.fit.converged
        );
        cases.push(case);
    }
    let e: Vec<f64> = cases.iter().map(|c| c.predicted_deg - c.truth_deg).collect();
    let s: Vec<f64> = cases.iter().map(|c| c.posterior_sd_deg).collect();
    let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
    let max = e.iter().copied().fold(0.0, |a: f64, x| a.max(x.abs()));
    let bias = e.iter().sum::<f64>() / e.len() as f64;
    let sigma_m = coxa_shape::predict::model_error_sd(&e, &s).context("errors")?;
    let within = |extra: f64| e.iter().zip(&s).filter(|(x, si)| x.abs() <= si.hypot(extra)).count() as f64 / e.len() as f64;
    let stored = gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG;
    let unseen = cases.iter().map(|c| c.unseen_mm).sum::<f64>() / cases.len() as f64;
    let spread = {
        let m = cases.iter().map(|c| c.truth_deg).sum::<f64>() / cases.len() as f64;
        (cases.iter().map(|c| (c.truth_deg - m).powi(2)).sum::<f64>() / (cases.len() - 1) as f64).sqrt()
    };
    eprintln!("LLP26 leave-one-out, 26 subjects cut 30 mm below the LT ({:.0} s):", t0.elapsed().as_secs_f64());
    eprintln!("  anteversion error: RMS {rms:.1} deg, max {max:.1} deg, bias {bias:+.1} deg (the subjects' own anteversion SD {spread:.1} deg)");
    eprintln!("  posterior SD alone: median {:.1} deg, covers {:.0} % of the errors within 1 SD", median(&s), 100.0 * within(0.0));
    eprintln!(
        "  model error SD from the errors: {sigma_m:.1} deg (stored {stored:.1}); with it {:.0} % within 1 SD, {:.0} % within 2 SD",
        100.0 * within(stored),
        100.0 * e.iter().zip(&s).filter(|(x, si)| x.abs() <= 2.0 * si.hypot(stored)).count() as f64 / e.len() as f64
    );
    eprintln!(
        "  unseen part (below the cut): mean surface error {unseen:.2} mm; RMS vertex error {:.2} mm against an RMS predicted vertex SD of {:.2} mm (median over subjects)",
        median(&vertex_rms),
        median(&vertex_sd)
    );
    // The prediction beats guessing the population mean (the subjects' own spread).
    assert!(rms < spread, "LOO RMS {rms:.1} deg is not below the population spread {spread:.1} deg");
    // The stored constant is this calibration (to within 10 %), and with it the SD covers the
    // held-out errors as a 1-SD interval should (68 % expected; 26 cases: 50-85 %).
    assert!((stored / sigma_m - 1.0).abs() < 0.1, "recalibrate: {sigma_m:.2} deg, stored {stored:.2}");
    let covered = within(stored);
    assert!((0.5..=0.85).contains(&covered), "{:.0} % of the errors within 1 SD", 100.0 * covered);
    // Without the model term the posterior SD alone covers far fewer: that is what was wrong.
    assert!(within(0.0) < covered);
    // Issue 42: the neck-shaft angle's and the offset's terms are this calibration (to 10 %).
    for (k, (name, stored)) in [("neck-shaft angle deg", gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG), ("offset mm", gias::LLP26_FEMUR_OFFSET_MODEL_SD_MM)].into_iter().enumerate() {
        let (e, s): (Vec<f64>, Vec<f64>) = neck[k].iter().copied().unzip();
        let sigma = coxa_shape::predict::model_error_sd(&e, &s).context("errors")?;
        let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
        let within = |m: f64| neck[k].iter().filter(|(x, si)| x.abs() <= m * si.hypot(stored)).count() as f64 / e.len() as f64;
        eprintln!(
            "  {name}: {} predicted, error RMS {rms:.2}, max {:.2}; model error SD {sigma:.2} (stored {stored:.2}): {:.0} % within 1 SD, {:.0} % within 2 SD",
            e.len(),
            e.iter().fold(0.0f64, |a, x| a.max(x.abs())),
            100.0 * within(1.0),
            100.0 * within(2.0)
        );
        assert!((stored / sigma - 1.0).abs() < 0.1, "{name}: recalibrate to {sigma:.2}, stored {stored:.2}");
    }
    Ok(())
}

/// One held-out vertex: its distance below the cut (mm along the shaft; negative: imaged), its
/// error (predicted minus true, mm) and its posterior SD (mm).
struct VertexCase {
    below_mm: f64,
    error_mm: f64,
    sd_mm: f64,
}

/// Leave-one-out over LLP26's training femurs as in
/// [`llp26_leave_one_out_calibrates_the_anteversion_sd`] (the same turns, cuts `cut_mm` below the
/// lesser trochanter, the same fit), every vertex's error against its posterior SD; and per
/// subject whether the fit converged and its rounds. Two threads.
/// One held-out subject's vertices, and whether its fit converged in how many rounds.
type HeldOutVertices = (Vec<VertexCase>, (bool, usize));
/// Every held-out subject's vertices, and per subject whether its fit converged in how many rounds.
type LooVertices = (Vec<VertexCase>, Vec<(bool, usize)>);

fn loo_vertices(dir: &std::path::Path, cut_mm: f64) -> Result<LooVertices> {
    let (model, subjects) = gias::llp26_with_subjects(dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let one = |s: usize| -> Result<HeldOutVertices> {
        let c = held_out(&model, &subjects, s, cut_mm)?;
        let p = coxa_shape::predict::predict_from_partial(&c.model, &c.partial, &c.head_model, &c.head_target, &|_| None, 0, 7)?;
        let cases = (0..c.full.vertices().len())
            .map(|v| VertexCase { below_mm: c.cut_level - c.full.vertices()[v].coords.dot(&c.up), error_mm: (p.fit.shape[v] - c.full.vertices()[v]).norm(), sd_mm: p.fit.sd_mm[v] })
            .collect();
        Ok((cases, (p.fit.converged, p.fit.iterations)))
    };
    let n = subjects.len();
    let halves: Vec<Result<Vec<HeldOutVertices>>> =
        std::thread::scope(|sc| [0, 1].map(|h| sc.spawn(move || (h..n).step_by(2).map(one).collect::<Result<Vec<_>>>())).map(|t| t.join().expect("a leave-one-out thread panicked")).into());
    let (mut cases, mut fits) = (Vec::new(), Vec::new());
    for h in halves {
        for (c, f) in h? {
            cases.extend(c);
            fits.push(f);
        }
    }
    Ok((cases, fits))
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

/// Why the surface fits stop at their 40-round budget (issue 14): on 8 held-out LLP26 femurs cut
/// 30 mm below the lesser trochanter, the pipeline's fit's per-round weight change and pose move,
/// and a fit from its final pose with a budget of 200 rounds: the rounds it then takes and the
/// unseen part's RMS vertex error before and after. Measured when written: the weight change
/// falls steadily (about 5e-2 SD at round 5, 1e-2 at round 30; the test asks 1e-3) while the pose
/// still moves the far femur by 0.05-0.4 mm a round: the alternating pose and shape steps creep
/// along a direction a stub hardly constrains (a turn about the head against shape modes), not
/// an oscillation. Given 200 rounds, 2 of 8 converge; the unseen error falls on 7 of 8 (mean
/// 15.5 -> 13.6 mm) and rises on one (16.5 -> 21.1 mm). The opt-in joint pose and shape steps
/// are compared from the same pose (below).
#[test]
fn llp26_fits_converge_slowly_within_their_budget() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let (model, subjects) = gias::llp26_with_subjects(&dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    // (subject, the pipeline fit's trace, the longer fit converged, its rounds, unseen RMS vertex
    // error of both; the joint-step fit's unseen error, whether it converged, the fit RMS of the
    // joint and of the pipeline's fit)
    type Row = (usize, Vec<(f64, f64)>, bool, usize, f64, f64, (f64, bool, f64, f64));
    let one = |s: usize| -> Result<Row> {
        let c = held_out(&model, &subjects, s, 30.0)?;
        let p = coxa_shape::predict::predict_from_partial(&c.model, &c.partial, &c.head_model, &c.head_target, &|_| None, 0, 7)?;
        let long = c.model.fit_surface(c.partial.vertices(), c.area_mm2, &p.fit.pose, &coxa_shape::SurfaceFitOptions { max_iterations: 200, rigid_rounds: 0, ..Default::default() })?;
        let joint = c.model.fit_surface(c.partial.vertices(), c.area_mm2, &p.fit.pose, &coxa_shape::SurfaceFitOptions { rigid_rounds: 0, joint_steps: true, ..Default::default() })?;
        let unseen: Vec<usize> = (0..c.full.vertices().len()).filter(|&v| c.full.vertices()[v].coords.dot(&c.up) < c.cut_level).collect();
        let rms = |shape: &[Point3<f64>]| (unseen.iter().map(|&v| (shape[v] - c.full.vertices()[v]).norm_squared()).sum::<f64>() / unseen.len().max(1) as f64).sqrt();
        eprintln!(
            "  subject {s:2}: joint steps from the same pose: converged {} in {} rounds, unseen RMS vertex error {:.2} mm, fit RMS {:.2} mm (alternating {:.2}), last steps {:?}",
            joint.converged,
            joint.iterations,
            rms(&joint.shape),
            joint.rms_mm,
            p.fit.rms_mm,
            joint.trace.iter().rev().take(2).collect::<Vec<_>>()
        );
        Ok((s, p.fit.trace.clone(), long.converged, long.iterations, rms(&p.fit.shape), rms(&long.shape), (rms(&joint.shape), joint.converged, joint.rms_mm, p.fit.rms_mm)))
    };
    let picks: Vec<usize> = (0..subjects.len()).step_by(3).take(8).collect();
    let picks = &picks;
    let halves: Vec<Result<Vec<_>>> =
        std::thread::scope(|sc| [0, 1].map(|h| sc.spawn(move || picks.iter().skip(h).step_by(2).map(|&s| one(s)).collect::<Result<Vec<_>>>())).map(|t| t.join().expect("a thread panicked")).into());
    let mut rows = Vec::new();
    for h in halves {
        rows.extend(h?);
    }
    rows.sort_by_key(|r| r.0);
    eprintln!("subject | shape round: weight change (SD) / pose move (mm) at rounds 1, 5, 10, 20, 30 | continued 200: converged, rounds | unseen RMS vertex error 40 -> continued (mm)");
    for (s, trace, conv, rounds, e40, elong, _) in &rows {
        let at = |i: usize| trace.get(i - 1).map_or("-".to_string(), |(c, m)| format!("{c:.1e}/{m:.2}"));
        eprintln!("  {s:2} | {} {} {} {} {} | {conv} {rounds} | {e40:.2} -> {elong:.2}", at(1), at(5), at(10), at(20), at(30));
    }
    let n = rows.len() as f64;
    let (m40, mlong) = (rows.iter().map(|r| r.4).sum::<f64>() / n, rows.iter().map(|r| r.5).sum::<f64>() / n);
    eprintln!("  mean unseen RMS vertex error: {m40:.2} mm at 40 rounds, {mlong:.2} mm with up to 200 more");
    // Converging, slowly: each fit's weight change falls from round 5 to round 30 and none met the test in 40.
    for (s, trace, ..) in &rows {
        assert!(trace.len() == 30 && trace[29].0 < trace[4].0 && trace[29].0 > 1e-3, "subject {s}: {trace:?}");
    }
    // The budget costs accuracy: with more rounds the unseen part is predicted better on average.
    assert!(mlong < m40, "{mlong:.2} vs {m40:.2} mm");
    // Joint pose and shape steps (opt-in, `SurfaceFitOptions::joint_steps`) from the same pose, in
    // the same 40 rounds: measured when written, 3 of 8 converge (in 21-29 rounds), the unseen
    // error falls to a mean of 12.3 mm (better on 7 of 8) and the imaged part fits closer on all.
    let mjoint = rows.iter().map(|r| r.6.0).sum::<f64>() / n;
    let joint_converged = rows.iter().filter(|r| r.6.1).count();
    eprintln!("  joint steps, 40 rounds: {joint_converged} of {} converged, mean unseen RMS vertex error {mjoint:.2} mm", rows.len());
    assert!(mjoint < mlong && joint_converged >= 2, "joint steps: {mjoint:.2} mm, {joint_converged} converged");
    assert!(rows.iter().all(|r| r.6.2 <= r.6.3 + 0.01), "the joint fit matches the imaged part at least as closely");
    Ok(())
}

/// Per band of [`gias::LLP26_FEMUR_VERTEX_BANDS_MM`]: the vertices' σ_m ([`coxa_shape::predict::model_error_sd`]),
/// RMS error, RMS posterior SD, and the fractions within 1 and 2 SD without and with `stored`.
fn vertex_bands(cases: &[VertexCase], stored: &[f64]) -> Vec<[f64; 8]> {
    let nb = gias::LLP26_FEMUR_VERTEX_BANDS_MM.len();
    (0..nb)
        .map(|b| {
            let in_band: Vec<&VertexCase> = cases.iter().filter(|c| gias::vertex_band(c.below_mm) == b).collect();
            let e: Vec<f64> = in_band.iter().map(|c| c.error_mm).collect();
            let s: Vec<f64> = in_band.iter().map(|c| c.sd_mm).collect();
            let n = e.len().max(1) as f64;
            let within = |k: f64, m: f64| e.iter().zip(&s).filter(|(x, si)| **x <= k * si.hypot(m)).count() as f64 / n;
            let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
            [coxa_shape::predict::model_error_sd(&e, &s).unwrap_or(f64::NAN), rms(&e), rms(&s), within(1.0, 0.0), within(2.0, 0.0), within(1.0, stored[b]), within(2.0, stored[b]), e.len() as f64]
        })
        .collect()
}

/// The per-vertex SD of a predicted femur, calibrated like the anteversion SD: leave-one-out over
/// LLP26's 26 training femurs cut 30 mm below the lesser trochanter; per band of distance below
/// the cut, the model-error SD σ_m that makes the pooled vertex errors' |e|²/SD² average 1
/// ([`gias::LLP26_FEMUR_VERTEX_MODEL_SD_MM`], which must be this recomputation within 10 %). For an
/// isotropic Gaussian error of that SD, |e| lies within 1 SD with probability 61 % and within
/// 2 SD with 99 % (χ² with 3 degrees of freedom): coverage is reported against those. The same at
/// a 20 mm cut (the real CT's stub): the stored values must still hold there (the pooled
/// |e|²/SD² of the unseen part within 0.7-1.5), or σ_m must depend on the visible length.
#[test]
fn llp26_leave_one_out_calibrates_the_vertex_sd() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let stored = gias::LLP26_FEMUR_VERTEX_MODEL_SD_MM;
    let bands = gias::LLP26_FEMUR_VERTEX_BANDS_MM;
    let mut ratios = Vec::new();
    for cut_mm in [30.0, 20.0] {
        let t0 = std::time::Instant::now();
        let (cases, fits) = loo_vertices(&dir, cut_mm)?;
        let table = vertex_bands(&cases, &stored);
        let converged = fits.iter().filter(|f| f.0).count();
        eprintln!(
            "LLP26 leave-one-out, cut {cut_mm} mm below the LT ({:.0} s; {converged} of {} fits converged, rounds {:?}):",
            t0.elapsed().as_secs_f64(),
            fits.len(),
            fits.iter().map(|f| f.1).collect::<Vec<_>>()
        );
        eprintln!("  band below the cut (mm) | vertices | sigma_m | RMS error | RMS posterior SD | within 1/2 SD posterior | within 1/2 SD with stored");
        for (b, row) in table.iter().enumerate() {
            let lo = if b == 0 { f64::NEG_INFINITY } else { bands[b - 1] };
            eprintln!(
                "  {lo:>6.0}..{:<6.0} | {:6.0} | {:5.2} (stored {:5.2}) | {:5.2} | {:5.2} | {:3.0} % / {:3.0} % | {:3.0} % / {:3.0} %",
                bands[b],
                row[7],
                row[0],
                stored[b],
                row[1],
                row[2],
                100.0 * row[3],
                100.0 * row[4],
                100.0 * row[5],
                100.0 * row[6]
            );
        }
        // The unseen part as a whole: mean |e|²/SD² with the stored term (1 when calibrated).
        let unseen: Vec<&VertexCase> = cases.iter().filter(|c| c.below_mm >= 0.0).collect();
        let ratio = unseen.iter().map(|c| c.error_mm.powi(2) / (c.sd_mm.powi(2) + gias::llp26_femur_vertex_model_sd_mm(c.below_mm).powi(2))).sum::<f64>() / unseen.len() as f64;
        let frac = |k: f64, with: bool| {
            unseen.iter().filter(|c| c.error_mm <= k * if with { c.sd_mm.hypot(gias::llp26_femur_vertex_model_sd_mm(c.below_mm)) } else { c.sd_mm }).count() as f64 / unseen.len() as f64
        };
        eprintln!(
            "  unseen part: mean |e|^2/SD^2 {ratio:.2} with the stored term; within 1/2 SD: posterior alone {:.0} % / {:.0} %, with the stored term {:.0} % / {:.0} % (Gaussian: 61 % / 99 %)",
            100.0 * frac(1.0, false),
            100.0 * frac(2.0, false),
            100.0 * frac(1.0, true),
            100.0 * frac(2.0, true)
        );
        ratios.push((ratio, table, [frac(1.0, false), frac(2.0, false), frac(1.0, true), frac(2.0, true)]));
    }
    // Both cuts are printed before anything is asserted.
    let (_, table, cover) = &ratios[0];
    for (b, row) in table.iter().enumerate() {
        assert!((stored[b] - row[0]).abs() <= 0.1 * row[0].max(0.1), "band {b}: recalibrate: {:.2} mm, stored {:.2}", row[0], stored[b]);
    }
    // Calibrated, the unseen part's coverage is near the Gaussian's; the posterior alone was far below it.
    assert!(cover[2] > 0.45 && cover[3] > 0.85, "coverage {:.2} / {:.2}", cover[2], cover[3]);
    assert!(cover[0] < cover[2] && cover[1] < cover[3]);
    let ratios: Vec<f64> = ratios.iter().map(|r| r.0).collect();
    // At 30 mm the stored terms are the calibration; at 20 mm they must still fit.
    assert!((0.85..=1.15).contains(&ratios[0]) && (0.7..=1.5).contains(&ratios[1]), "mean |e|^2/SD^2 at 30 / 20 mm: {ratios:?}");
    Ok(())
}

/// Grid steps per LLP26 element in the leave-one-out (13: about 20,000 femur points; the pipeline
/// evaluates 22 for a finer mesh, the same shapes).
const LOO_DIVISIONS: usize = 13;

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// coxa's landmarks on stubs of both vsd femurs cut 10-60 mm below the lesser trochanter: the
/// head centre and radius as on the whole femur (issue 14: at 30 mm the left stub's head was
/// fitted to the trochanteric surface, radius 29 mm, 38 mm away).
#[test]
fn short_stub_heads_are_found() -> Result<()> {
    let Some(vsd) = crate::common::shared_data("vsd_bones") else {
        return Ok(());
    };
    let mut failures = Vec::new();
    for (side, file) in [(Side::Left, "z013_Femur_L.stl"), (Side::Right, "z013_Femur_R.stl")] {
        let full = coxa_io::mesh::read_stl(&vsd.join(file))?;
        let truth = femur_landmarks(&full, side)?;
        let u = truth.shaft_axis.direction_lps;
        for below in [10.0, 20.0, 30.0, 40.0, 60.0] {
            let (stub, _) = cut_above(&full, &u, truth.lesser_trochanter.lps_mm.coords.dot(&u) - below)?;
            let l = match femur_landmarks(&stub, side) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{side:?} cut {below:2.0} mm below the LT ({:.0} mm stub): {e}", extent(&stub, &u));
                    failures.push(format!("{side:?} {below} mm: {e}"));
                    continue;
                }
            };
            let d = (l.head_centre.lps_mm - truth.head_centre.lps_mm).norm();
            eprintln!(
                "{side:?} cut {below:2.0} mm below the LT ({:.0} mm stub): head {d:.2} mm from the whole femur's, radius {:.1} vs {:.1} mm, RMS {:.2} mm",
                extent(&stub, &u),
                l.head_radius_mm,
                truth.head_radius_mm,
                l.head_fit_rms_mm
            );
            if !(d < 2.0 && (l.head_radius_mm - truth.head_radius_mm).abs() < 1.0) {
                failures.push(format!("{side:?} {below} mm: head {d:.1} mm off"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    Ok(())
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

fn unseen_surface_error(pred: &Mesh, truth: &Mesh, up: &nalgebra::Vector3<f64>, cut_level: f64) -> (f64, f64) {
    let (ts, ps) = (coxa_shape::surface::Surface::new(truth.vertices(), truth.triangles()), coxa_shape::surface::Surface::new(pred.vertices(), pred.triangles()));
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let below = |p: &&Point3<f64>| p.coords.dot(up) < cut_level;
    (mean(pred.vertices().iter().filter(below).map(|p| ts.distance(p)).collect()), mean(truth.vertices().iter().filter(below).map(|p| ps.distance(p)).collect()))
}

/// Issue 14: the joint pose and shape steps (`SurfaceFitOptions::joint_steps`) against the default
/// alternating steps, the whole prediction (`predict_from_partial_with`) on all 26 held-out LLP26
/// femurs and on both vsd femurs, each cut 30 mm below the lesser trochanter. Measured when
/// written (debug build): leave-one-out unseen surface error mean 6.99 -> 5.55 mm (median 7.31 ->
/// 4.04), unseen RMS vertex error 17.7 -> 12.9 mm, anteversion error RMS 4.98 -> 4.00 deg,
/// converged 0 -> 8 of 26; vsd left 3.34 -> 8.61 mm / +1.6 -> +4.8 deg, right 8.81 -> 10.89 mm /
/// -10.8 -> -8.1 deg: the converged fit bends the modes to the real stub and predicts a femur
/// 16-23 mm shorter than the alternating fit (and than the truth), so the joint steps stay
/// opt-in (README, "Joint steps on the whole leave-one-out").
#[test]
#[ignore = "a measurement: 2 x 26 leave-one-out fits and 4 vsd predictions, about 10 min in a debug build; run with --ignored"]
fn joint_steps_on_the_leave_one_out_and_vsd() -> Result<()> {
    let Some(dir) = installed(gias::LLP26_DIR) else {
        return Ok(());
    };
    let joint = coxa_shape::SurfaceFitOptions { joint_steps: true, ..Default::default() };
    let alternating = coxa_shape::SurfaceFitOptions::default();
    let (model, subjects) = gias::llp26_with_subjects(&dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let measure = |m: &Mesh| femur_landmarks(m, Side::Left).ok().and_then(|l| l.anteversion_deg);
    // Per subject and fit: unseen surface error (mm), anteversion error (deg), converged.
    type Row = (usize, [(f64, f64, bool); 2]);
    let one = |s: usize| -> Result<Row> {
        let c = held_out(&model, &subjects, s, 30.0)?;
        let truth = c.truth.anteversion_deg.context("a training femur has condyles")?;
        let mut out = [(0.0, 0.0, false); 2];
        for (o, options) in out.iter_mut().zip([&alternating, &joint]) {
            let p = coxa_shape::predict::predict_from_partial_with(&c.model, &c.partial, &c.head_model, &c.head_target, &measure, 0, 7, options)?;
            let (e, _) = unseen_surface_error(&p.mesh, &c.full, &c.up, c.cut_level);
            *o = (e, p.angle.context("the predicted femur has condyles")? - truth, p.fit.converged);
        }
        Ok((s, out))
    };
    let rows = on_two_threads(subjects.len(), &one)?;
    let mut stats = Vec::new();
    for (f, name) in ["alternating", "joint"].iter().enumerate() {
        let e: Vec<f64> = rows.iter().map(|r| r.1[f].0).collect();
        let av: Vec<f64> = rows.iter().map(|r| r.1[f].1).collect();
        let converged = rows.iter().filter(|r| r.1[f].2).count();
        let mean = e.iter().sum::<f64>() / e.len() as f64;
        let av_rms = (av.iter().map(|x| x * x).sum::<f64>() / av.len() as f64).sqrt();
        eprintln!("leave-one-out, {name:11}: unseen surface error mean {mean:.2} mm, median {:.2} mm; anteversion error RMS {av_rms:.2} deg; converged {converged} of {}", median(&e), rows.len());
        stats.push((mean, av_rms, converged));
    }
    // On the held-out LLP26 femurs the joint steps predict better and converge more often.
    assert!(stats[1].0 < stats[0].0 && stats[1].1 < stats[0].1 && stats[1].2 > stats[0].2, "{stats:?}");

    let Some(vsd) = crate::common::shared_data("vsd_bones") else {
        return Ok(());
    };
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], 22)?;
        let head_model = femur_landmarks(&part_mesh(&model, &format!("femur_{}", side.as_str()), model.mean())?, side)?.head_centre.lps_mm;
        let head_target = femur_landmarks(&partial, side)?.head_centre.lps_mm;
        let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
        let mut lengths = Vec::new();
        for (name, options) in [("alternating", &alternating), ("joint", &joint)] {
            let p = coxa_shape::predict::predict_from_partial_with(&model, &partial, &head_model, &head_target, &measure, 0, 7, options)?;
            let (e, e_back) = unseen_surface_error(&p.mesh, &full, &u, cut_level);
            let av = p.angle.context("the predicted femur has condyles")? - truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
            eprintln!(
                "vsd {side:?}, {name:11}: unseen surface error {e:.2} mm (true -> predicted {e_back:.2}), anteversion error {av:+.1} deg, length {:.0} mm (true {:.0}), fit RMS {:.2} mm, converged {} in {} rounds",
                extent(&p.mesh, &u),
                extent(&full, &u),
                p.fit.rms_mm,
                p.fit.converged,
                p.fit.iterations
            );
            // Both match the imaged part.
            assert!(p.fit.rms_mm < 1.5, "{side:?} {name}: fit RMS {:.2} mm", p.fit.rms_mm);
            lengths.push(extent(&p.mesh, &u));
        }
        // Why the joint steps are not the default: on the real femurs they shorten the prediction.
        assert!(lengths[1] < lengths[0] - 5.0, "{side:?}: lengths {lengths:?}");
    }
    Ok(())
}

/// What the right vsd femur's error is made of (issue 14: 8.8 mm unseen surface error, -10.8 deg
/// anteversion error at a 30 mm cut). The model's mean femur is registered onto each whole vsd
/// femur (correspondence); the prediction's unseen vertices are compared with it before and after
/// a rigid realignment of the whole predicted femur (the rotation split into a twist about the
/// shaft axis and a tilt of it), with scale, and against the model's best fit to the whole
/// registered femur (what the model can represent at all). Measured when written: right, unseen
/// RMS vertex error 18.4 mm, 6.0 mm after a rigid realignment whose rotation is 8.9 deg (twist
/// +8.5, tilt 2.7), 4.0 mm with scale 0.974 (the prediction 2.6 % too long), 2.2 mm for the
/// whole-femur fit, whose anteversion is 22.5 deg against 27.9 on the registered femur and whose
/// Mahalanobis distance is 5.34 (a typical subject's is about 5); left 8.7, 5.8 (0.8 deg), 4.1
/// (scale 0.977), 2.2 mm, Mahalanobis 5.57.
#[test]
fn vsd_prediction_error_decomposed() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], LOO_DIVISIONS)?;
        let (r, head_model) = mean_registered_onto(&model, &full, &truth, side)?;
        let reg = r.vertices;
        let av_reg = femur_landmarks(&Mesh::new(reg.clone(), model.faces().to_vec())?, side)?.anteversion_deg.context("registered condyles")?;
        let whole = model.fit(&reg, &coxa_shape::FitOptions::default())?;
        let av_whole = femur_landmarks(&Mesh::new(whole.shape.clone(), model.faces().to_vec())?, side)?.anteversion_deg.context("fitted condyles")?;
        let head_target = femur_landmarks(&partial, side)?.head_centre.lps_mm;
        let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
        let p = coxa_shape::predict::predict_from_partial(&model, &partial, &head_model, &head_target, &measure, 0, 7)?;
        let unseen: Vec<usize> = (0..reg.len()).filter(|&v| reg[v].coords.dot(&u) < cut_level).collect();
        let err = |x: &[Point3<f64>]| rms(&unseen.iter().map(|&v| (x[v] - reg[v]).norm()).collect::<Vec<_>>());
        let rigid = coxa_shape::Pose::between(&p.fit.shape, &reg, false);
        let scaled = coxa_shape::Pose::between(&p.fit.shape, &reg, true);
        let moved = |pose: &coxa_shape::Pose| p.fit.shape.iter().map(|q| pose.apply(q)).collect::<Vec<_>>();
        let turn = rigid.rotation.scaled_axis();
        let (twist, tilt) = (turn.dot(&u).to_degrees(), (turn - u * turn.dot(&u)).norm().to_degrees());
        let (e, e_rigid, e_scaled, e_whole) = (err(&p.fit.shape), err(&moved(&rigid)), err(&moved(&scaled)), err(&whole.shape));
        eprintln!(
            "{side:?}: unseen RMS vertex error {e:.1} mm; after a rigid realignment of the whole femur {e_rigid:.1} mm (rotation {:.1} deg: twist about the shaft {twist:+.1}, tilt {tilt:.1}); with scale {e_scaled:.1} mm (scale {:.3}); the model's fit to the whole femur {e_whole:.1} mm",
            rigid.rotation.angle().to_degrees(),
            scaled.scale
        );
        eprintln!("  anteversion: whole femur {av_true:.1} deg, registered mean {av_reg:.1}, the model's whole-femur fit {av_whole:.1}, predicted {:.1}", p.angle.context("predicted condyles")?);
        // How far out the femur lies in the model: the whole-femur fit's Mahalanobis distance
        // (a typical subject's is about the root of the number of modes).
        let mahalanobis = |b: &[f64]| b.iter().zip(model.variances()).map(|(w, l)| w * w / l).sum::<f64>().sqrt();
        eprintln!(
            "  Mahalanobis distance: whole-femur fit {:.2}, prediction {:.2} ({} modes: a typical subject about {:.1})",
            mahalanobis(&whole.weights),
            mahalanobis(&p.fit.weights),
            model.n_modes(),
            (model.n_modes() as f64).sqrt()
        );
        // The model represents the whole femur closely; the prediction's error is mostly pose
        // and size of the unseen part, which a stub leaves to the prior.
        assert!(e_whole < 3.0 && e_scaled < e_rigid && e_rigid < e, "{side:?}: {e:.1} {e_rigid:.1} {e_scaled:.1} {e_whole:.1}");
        if right {
            // Right: most of the error is a twist about the shaft (the femur's torsion), and even
            // the model's whole-femur fit misses the 28 deg anteversion by more than 4 deg.
            assert!(e_rigid < 0.5 * e && twist.abs() > 2.0 * tilt && (av_whole - av_reg).abs() > 4.0, "twist {twist:.1}, tilt {tilt:.1}, anteversion {av_whole:.1} vs {av_reg:.1}");
        }
    }
    Ok(())
}

/// Issue 14, a measurement: does the pelvis, which every hip CT images, tell more about the unseen
/// femur than the stub alone? LLP26's joint model of the pelvis and one femur (its subjects' hips in
/// their CT poses) is fitted to the vsd pelvis (both hip bones and the sacrum) plus the femur cut 30 mm
/// below the lesser trochanter, and its femur part compared with the femur-only model's prediction
/// (same divisions, same steps). Measured when written (debug, 13 divisions): femur only, left
/// 3.19 mm / +1.5 deg / 430 mm long (true 419), right 8.85 mm / -10.7 deg / 433 mm (true 420); with
/// the pelvis, left 8.44 mm / +5.8 deg / 459 mm, right 168 mm / -6.9 deg / 454 mm (fit RMS 2.5-2.7
/// mm against 1.0-1.4). One rigid pose for the pelvis and the femur holds the femur where LLP26's
/// subjects held theirs in their CTs; the cadaver's hips are posed otherwise, so the modes bend to
/// reach them, and the femur comes out longer and, on the right, misplaced. An articulated fit
/// (the femur with its own pose) was not tried because the pelvis points the wrong way anyway: the
/// joint model fitted to the vsd pelvis alone gives a femur 455-461 mm long with a 22.1 mm head
/// (true 419-420 mm, 19.6-20.1 mm): by LLP26's pelvis-femur covariation this cadaver's pelvis is
/// large for its femurs.
#[test]
#[ignore = "a measurement (issue 14): 4 predictions, 2 with the pelvis, about half a minute in a debug build; run with --ignored"]
fn femur_predicted_with_the_pelvis() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let mut pelvis_v = Vec::new();
    let mut pelvis_f: Vec<[u32; 3]> = Vec::new();
    for file in ["z013_Hip_L.stl", "z013_Hip_R.stl", "z013_Sacrum.stl"] {
        let m = coxa_io::mesh::read_stl(&vsd.join(file))?;
        let o = pelvis_v.len() as u32;
        pelvis_v.extend_from_slice(m.vertices());
        pelvis_f.extend(m.triangles().iter().map(|t| t.map(|i| i + o)));
    }
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, partial: stub, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
        let mut errors = Vec::new();
        let head_target = femur_landmarks(&stub, side)?.head_centre.lps_mm;
        let name = format!("femur_{}", side.as_str());
        let mut v = pelvis_v.clone();
        let mut f = pelvis_f.clone();
        let o = v.len() as u32;
        v.extend_from_slice(stub.vertices());
        f.extend(stub.triangles().iter().map(|t| t.map(|i| i + o)));
        let with_pelvis = Mesh::new(v, f)?;
        for (label, parts, target) in [("femur only", &[Llp26Part::Femur][..], &stub), ("pelvis + femur", &[Llp26Part::Femur, Llp26Part::Pelvis][..], &with_pelvis)] {
            let model = gias::llp26(&dir, right, parts, LOO_DIVISIONS)?;
            let flat = |m: &Mesh| m.vertices().iter().flat_map(|p| [p.x, p.y, p.z]).collect::<Vec<f64>>();
            let femur_of = |m: &Mesh| part_mesh(&model, &name, &flat(m));
            let head_model = femur_landmarks(&part_mesh(&model, &name, model.mean())?, side)?.head_centre.lps_mm;
            let measure = |m: &Mesh| femur_of(m).ok().and_then(|fm| femur_landmarks(&fm, side).ok()).and_then(|l| l.anteversion_deg);
            let t0 = std::time::Instant::now();
            let p = coxa_shape::predict::predict_from_partial(&model, target, &head_model, &head_target, &measure, 0, 7)?;
            let femur = femur_of(&p.mesh)?;
            let (e, e_back) = unseen_surface_error(&femur, &full, &u, cut_level);
            eprintln!(
                "vsd {side:?}, {label:14}: unseen surface error {e:.2} mm (true -> predicted {e_back:.2}), anteversion error {:+.1} deg, length {:.0} mm (true {:.0}), fit RMS {:.2} mm, inliers {:.0} %, {} rounds, {:.0} s",
                p.angle.map_or(f64::NAN, |a| a - av_true),
                extent(&femur, &u),
                extent(&full, &u),
                p.fit.rms_mm,
                100.0 * p.fit.inlier_fraction,
                p.fit.iterations,
                t0.elapsed().as_secs_f64()
            );
            errors.push(e);
            if parts.len() == 2 {
                // What the pelvis alone says of the femur: the joint model fitted to the pelvis only.
                let pel = Mesh::new(pelvis_v.clone(), pelvis_f.clone())?;
                let fit = model.fit_surface(pel.vertices(), pel.area_mm2(), &p.fit.pose, &coxa_shape::SurfaceFitOptions::default())?;
                let femur = Mesh::new(fit.shape.clone(), model.faces().to_vec())?;
                let femur = femur_of(&femur)?;
                let l = femur_landmarks(&femur, side)?;
                eprintln!(
                    "  the joint model fitted to the pelvis alone: its femur {:.0} mm long (along the true shaft axis), anteversion {:?}, head radius {:.1} mm (true {:.1}); pelvis fit RMS {:.2} mm",
                    extent(&femur, &u),
                    l.anteversion_deg,
                    l.head_radius_mm,
                    truth.head_radius_mm,
                    fit.rms_mm
                );
            }
        }
        // The finding: a single pose for the pelvis and the femur predicts the unseen femur worse.
        assert!(errors[1] > errors[0], "{side:?}: with the pelvis {:.2} mm, femur only {:.2} mm", errors[1], errors[0]);
    }
    Ok(())
}

/// Per input (stub only, stub + knee): surface error (mm), anteversion error (deg), length (mm).
type HipKnee = [(f64, f64, f64); 2];

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

/// One femur predicted from its proximal stub alone and from the stub plus its distal end (a
/// femoral-version CT protocol: the hip and a few slices through the knee). Returns per input the
/// mean surface error of the predicted vertices between the two imaged parts (predicted -> true,
/// mm), the anteversion error of the predicted femur (deg) and its length (mm).
#[expect(clippy::too_many_arguments, reason = "the femur, its frame and the model's anchor")]
fn hip_and_knee_errors(model: &ShapeModel, full: &Mesh, side: Side, up: &nalgebra::Vector3<f64>, cut_level: f64, knee_mm: f64, head_model: &Point3<f64>, av_true: f64) -> Result<HipKnee> {
    let bottom = full.vertices().iter().map(|p| p.coords.dot(up)).fold(f64::INFINITY, f64::min);
    let knee_level = bottom + knee_mm;
    let stub = keep_triangles(full, |p| p.coords.dot(up) >= cut_level)?;
    let hip_and_knee = keep_triangles(full, |p| {
        let h = p.coords.dot(up);
        h >= cut_level || h <= knee_level
    })?;
    let head_target = femur_landmarks(&stub, side)?.head_centre.lps_mm;
    let measure = |m: &Mesh| femur_landmarks(m, side).ok().and_then(|l| l.anteversion_deg);
    let truth = coxa_shape::surface::Surface::new(full.vertices(), full.triangles());
    let mut out = [(0.0, 0.0, 0.0); 2];
    for (o, target) in out.iter_mut().zip([&stub, &hip_and_knee]) {
        let p = coxa_shape::predict::predict_from_partial(model, target, head_model, &head_target, &measure, 0, 7)?;
        let between: Vec<f64> = p
            .mesh
            .vertices()
            .iter()
            .filter(|q| {
                let h = q.coords.dot(up);
                h < cut_level && h > knee_level
            })
            .map(|q| truth.distance(q))
            .collect();
        let e = between.iter().sum::<f64>() / between.len().max(1) as f64;
        *o = (e, p.angle.context("the predicted femur has condyles")? - av_true, extent(&p.mesh, up));
    }
    Ok(out)
}

/// Issue 14's surface anchor (about 1.8 mm, Zhang and Besier 2017: "a partial proximal femur
/// surface ... in combination with morphometric and landmark data") under two inputs: the stub
/// alone (a hip CT; the pipeline's case) and the stub plus the distal 40 mm of the femur (a
/// femoral-version protocol that adds slices through the knee). Both vsd femurs and the 26
/// held-out LLP26 femurs (13 divisions), cut 30 mm below the lesser trochanter; the error is over
/// the part between the imaged ones in both inputs, so the two are compared on the same vertices.
#[test]
#[ignore = "a measurement (issue 14): 2 x 28 predictions, several minutes in a debug build; run with --ignored"]
fn femur_predicted_from_hip_and_knee() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    const KNEE_MM: f64 = 40.0;
    let mut vsd_rows = Vec::new();
    for (right, side, file) in VSD_FEMURS {
        let VsdCut { full, truth, u, cut_level, .. } = vsd_cut(&vsd, file, side, 30.0)?;
        let model = gias::llp26(&dir, right, &[Llp26Part::Femur], 22)?;
        let head_model = femur_landmarks(&part_mesh(&model, &format!("femur_{}", side.as_str()), model.mean())?, side)?.head_centre.lps_mm;
        let av_true = truth.anteversion_deg.context("the vsd femurs hold the condyles")?;
        let r = hip_and_knee_errors(&model, &full, side, &u, cut_level, KNEE_MM, &head_model, av_true)?;
        for (label, (e, av, len)) in ["stub only", "stub + knee"].iter().zip(r) {
            eprintln!("vsd {side:?}, {label:11}: surface error between the imaged parts {e:.2} mm, anteversion error {av:+.1} deg, length {len:.0} mm (true {:.0})", extent(&full, &u));
        }
        vsd_rows.push(r);
    }
    let (model, subjects) = gias::llp26_with_subjects(&dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let one = |s: usize| -> Result<HipKnee> {
        let c = held_out(&model, &subjects, s, 30.0)?;
        let av_true = c.truth.anteversion_deg.context("a training femur has condyles")?;
        hip_and_knee_errors(&c.model, &c.full, Side::Left, &c.up, c.cut_level, KNEE_MM, &c.head_model, av_true)
    };
    let rows = on_two_threads(subjects.len(), &one)?;
    let mut means = [0.0; 2];
    for (k, label) in ["stub only", "stub + knee"].iter().enumerate() {
        let e: Vec<f64> = rows.iter().map(|r| r[k].0).collect();
        let av: Vec<f64> = rows.iter().map(|r| r[k].1).collect();
        means[k] = e.iter().sum::<f64>() / e.len() as f64;
        let av_rms = (av.iter().map(|x| x * x).sum::<f64>() / av.len() as f64).sqrt();
        let av_max = av.iter().map(|x| x.abs()).fold(0.0, f64::max);
        eprintln!(
            "leave-one-out, {label:11}: surface error between the imaged parts mean {:.2} mm, median {:.2} mm, max {:.2} mm; anteversion error RMS {av_rms:.2} deg (max {av_max:.1})",
            means[k],
            median(&e),
            e.iter().copied().fold(0.0, f64::max)
        );
    }
    // The knee's slices pin the length and the torsion the stub cannot show: the error between
    // the imaged parts falls on the held-out femurs and on both vsd femurs.
    assert!(means[1] < means[0], "leave-one-out: stub + knee {:.2} mm, stub only {:.2} mm", means[1], means[0]);
    for (r, (_, side, _)) in vsd_rows.iter().zip(VSD_FEMURS) {
        assert!(r[1].0 < r[0].0, "vsd {side:?}: stub + knee {:.2} mm, stub only {:.2} mm", r[1].0, r[0].0);
    }
    Ok(())
}

/// Issue 42: how far below its top a proximal femur is imaged (the stub of the issue's held-out
/// femurs), mm along the whole femur's shaft axis.
const PROXIMAL_MM: f64 = 130.0;

/// The level `PROXIMAL_MM` below the most proximal point of `full` along `up`.
fn below_top(full: &Mesh, up: &nalgebra::Vector3<f64>) -> f64 {
    full.vertices().iter().map(|p| p.coords.dot(up)).fold(f64::NEG_INFINITY, f64::max) - PROXIMAL_MM
}

/// Anteversion (deg), neck-shaft angle (deg) and offset (mm) of a whole femur as coxa's landmarks
/// measure them, `None` each where not measured.
fn femur_measures(m: &Mesh, side: Side) -> Vec<Option<f64>> {
    match femur_landmarks(m, side) {
        Ok(l) => vec![l.anteversion_deg, l.neck_shaft_angle_deg, Some(l.offset_mm())],
        Err(_) => vec![None; 3],
    }
}

/// One femur cut and predicted: per quantity (anteversion, neck-shaft angle, offset) the whole
/// femur's value, the value the pipeline gives (`coxa anatomy`: the stub's own neck-shaft angle
/// and offset where its shaft is measured, else the prediction's) and its posterior SD (`None`
/// where measured), and how far the stub reaches below the whole femur's lesser trochanter.
struct ProximalCase {
    name: String,
    truth: [f64; 3],
    given: [f64; 3],
    posterior_sd: [Option<f64>; 3],
    below_lt_mm: f64,
}

#[expect(clippy::too_many_arguments, reason = "the femur, its frame and the model's anchor")]
fn proximal_case(name: String, model: &ShapeModel, full: &Mesh, truth: &FemurLandmarks, side: Side, head_model: &Point3<f64>, up: &nalgebra::Vector3<f64>, cut_level: f64) -> Result<ProximalCase> {
    let (partial, _) = cut_above(full, up, cut_level)?;
    let stub = femur_landmarks(&partial, side)?;
    let p = coxa_shape::predict::predict_from_partial_measures(model, &partial, head_model, &stub.head_centre.lps_mm, &|m| femur_measures(m, side), 30, 14, &coxa_shape::SurfaceFitOptions::default())?;
    let whole = femur_measures(full, side);
    let pick = |v: &[Option<f64>]| -> Result<[f64; 3]> { Ok([v[0].context("anteversion")?, v[1].context("neck-shaft angle")?, v[2].context("offset")?]) };
    let predicted = pick(&p.measures.iter().map(|m| m.value).collect::<Vec<_>>())?;
    let sd = [0, 1, 2].map(|k| p.measures[k].sd());
    let (given, posterior_sd) = match stub.neck_shaft_angle_deg {
        Some(nsa) => ([predicted[0], nsa, stub.offset_mm()], [sd[0], None, None]),
        None => (predicted, sd),
    };
    Ok(ProximalCase { name, truth: pick(&whole)?, given, posterior_sd, below_lt_mm: truth.lesser_trochanter.lps_mm.coords.dot(up) - cut_level })
}

/// The held-out femurs cut at `cut_level` and predicted: LLP26's 26 training subjects (each by the
/// model of the other 25, turned by up to 10 deg) and, with `vsd`, both vsd femurs.
fn proximal_cases(dir: &std::path::Path, vsd: Option<&std::path::Path>, cut_level: &CutLevel<'_>) -> Result<Vec<ProximalCase>> {
    let (model, subjects) = gias::llp26_with_subjects(dir, false, &[Llp26Part::Femur], LOO_DIVISIONS)?;
    let mut cases = on_two_threads(subjects.len(), &|s| {
        let c = held_out_cut(&model, &subjects, s, cut_level)?;
        proximal_case(format!("LLP26 subject {s:2}"), &c.model, &c.full, &c.truth, Side::Left, &c.head_model, &c.up, c.cut_level)
    })?;
    for (right, side, file) in VSD_FEMURS.iter().filter(|_| vsd.is_some()) {
        let model = gias::llp26(dir, *right, &[Llp26Part::Femur], 22)?;
        let full = coxa_io::mesh::read_stl(&vsd.context("vsd")?.join(file))?;
        let truth = femur_landmarks(&full, *side)?;
        let up = truth.shaft_axis.direction_lps;
        let head_model = femur_landmarks(&Mesh::new(model.instance(&[])?, model.faces().to_vec())?, *side)?.head_centre.lps_mm;
        let level = cut_level(&full, &truth, &up);
        cases.push(proximal_case(format!("vsd {file}"), &model, &full, &truth, *side, &head_model, &up, level)?);
    }
    Ok(cases)
}

/// Per quantity over `cases`: the errors and posterior SDs of the predicted ones, the model-error
/// SD they calibrate, and (with `stored`) how many errors lie within 1 and 2 predictive SDs.
fn calibration(label: &str, cases: &[ProximalCase], k: usize, stored: f64) -> Result<(f64, f64, f64)> {
    let pairs: Vec<(f64, f64)> = cases.iter().filter_map(|c| Some((c.given[k] - c.truth[k], c.posterior_sd[k]?))).collect();
    let (e, s): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let sigma = coxa_shape::predict::model_error_sd(&e, &s).context("errors")?;
    let within = |m: f64| pairs.iter().filter(|(x, si)| x.abs() <= m * si.hypot(stored)).count() as f64 / pairs.len() as f64;
    let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
    eprintln!(
        "  {label}: {} predicted, error RMS {rms:.2}, max {:.2}; model error SD calibrated {sigma:.2} (stored {stored:.2}): {:.0} % within 1 SD, {:.0} % within 2 SD",
        pairs.len(),
        e.iter().fold(0.0f64, |a, x| a.max(x.abs())),
        100.0 * within(1.0),
        100.0 * within(2.0)
    );
    Ok((sigma, within(1.0), within(2.0)))
}

/// Issue 42: the neck-shaft angle, anteversion and offset of a femur imaged only to 130 mm below
/// its top (the neck and the proximal shaft, 57-73 mm below the lesser trochanter; coxa's own
/// landmarks give no neck-shaft angle there), predicted through the LLP26 model as `coxa anatomy`
/// does, against coxa's measurement on the whole femur: the 26 held-out LLP26 femurs and both vsd
/// femurs. The model-error terms of the neck-shaft angle's and the offset's SDs
/// (`gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG`, `..._OFFSET_MODEL_SD_MM`) are calibrated at the
/// shortest stub they are given for (`gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM`, 30 mm below the
/// lesser trochanter, in llp26_leave_one_out_calibrates_the_anteversion_sd), where the errors
/// are larger (RMS 2.8 deg and 3.1 mm against 2.2 deg and 2.2 mm here).
///
/// Measured when written (debug build, 2.3 min): neck-shaft angle within 5 deg on all 28 (RMS
/// 2.2 deg, worst -4.5; one stub, subject 13, has a measured one, within 0.1 deg); anteversion
/// within 5 deg on 20 of 28 (RMS 5.4 deg; the vsd right femur -12.3, whose torsion lies 2 SD above
/// LLP26's mean: the proximal femur carries little of the torsion, issue 14); the SDs cover the
/// errors (neck-shaft 74 % / 100 % within 1 / 2 SD, anteversion 71 % / 89 %, offset 89 % / 100 %).
#[test]
fn issue_42_neck_shaft_angle_and_anteversion_from_the_proximal_130_mm() -> Result<()> {
    let Some((dir, vsd)) = llp26_and_vsd() else {
        return Ok(());
    };
    let cases = proximal_cases(&dir, Some(&vsd), &|full, _, up| below_top(full, up))?;
    eprintln!("femur cut {PROXIMAL_MM} mm below its top | below the LT mm | anteversion true/given/error/posterior SD | neck-shaft | offset mm");
    for c in &cases {
        let q = |k: usize| format!("{:6.1} {:6.1} {:+5.1} {}", c.truth[k], c.given[k], c.given[k] - c.truth[k], c.posterior_sd[k].map_or("measured".into(), |s| format!("{s:.1}")));
        eprintln!("{} | {:.0} | {} | {} | {}", c.name, c.below_lt_mm, q(0), q(1), q(2));
    }
    let stored = [gias::LLP26_FEMUR_ANTEVERSION_MODEL_SD_DEG, gias::LLP26_FEMUR_NECK_SHAFT_MODEL_SD_DEG, gias::LLP26_FEMUR_OFFSET_MODEL_SD_MM];
    let names = ["anteversion deg", "neck-shaft angle deg", "offset mm"];
    for k in 0..3 {
        eprintln!("{}:", names[k]);
        let (at_130, w1, w2) = calibration(&format!("cut {PROXIMAL_MM} mm below the top"), &cases, k, stored[k])?;
        // The SDs cover the errors (68 % within 1 SD expected of a calibrated SD, 28 cases: at
        // least 50 %; 95 % within 2 SD: at least 85 %): the stored terms, calibrated on the
        // shorter stubs (llp26_leave_one_out_calibrates_the_anteversion_sd), are no smaller than
        // what these errors ask, to 10 %.
        assert!(w1 >= 0.5 && w2 >= 0.85, "{}: {:.0} % / {:.0} % within 1 / 2 SD", names[k], 100.0 * w1, 100.0 * w2);
        assert!(at_130 <= 1.1 * stored[k], "{}: the errors at {PROXIMAL_MM} mm ask {at_130:.2}, stored {:.2}", names[k], stored[k]);
    }
    // The issue's requirement on the neck-shaft angle: within 5 deg of the whole femur's on every
    // held-out femur; the stub reaches the lesser trochanter's gate on every one.
    for c in &cases {
        assert!((c.given[1] - c.truth[1]).abs() < 5.0, "{}: neck-shaft {:.1} vs {:.1}", c.name, c.given[1], c.truth[1]);
        assert!(c.below_lt_mm >= gias::LLP26_NECK_SHAFT_MIN_BELOW_LT_MM, "{}: {:.0} mm below the LT", c.name, c.below_lt_mm);
    }
    // Anteversion: within 5 deg where the femur's torsion lies near the model's mean; the
    // prediction beats guessing the population mean (the subjects' own spread) over the
    // leave-one-out, as at 30 mm below the lesser trochanter (issue 14).
    let loo: Vec<&ProximalCase> = cases.iter().filter(|c| c.name.starts_with("LLP26")).collect();
    let mean = loo.iter().map(|c| c.truth[0]).sum::<f64>() / loo.len() as f64;
    let spread = (loo.iter().map(|c| (c.truth[0] - mean).powi(2)).sum::<f64>() / (loo.len() - 1) as f64).sqrt();
    let rms = (loo.iter().map(|c| (c.given[0] - c.truth[0]).powi(2)).sum::<f64>() / loo.len() as f64).sqrt();
    let within5 = cases.iter().filter(|c| (c.given[0] - c.truth[0]).abs() < 5.0).count();
    eprintln!("anteversion within 5 deg on {within5} of {}; leave-one-out RMS {rms:.2} deg against the subjects' spread {spread:.2} deg", cases.len());
    assert!(rms < spread, "{rms:.2} vs {spread:.2}");
    Ok(())
}

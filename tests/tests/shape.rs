//! coxa's pelvis shape models from the 30 atlas pelvises (../shared/data/pelvis_atlas: left hip,
//! right hip, sacrum S1-S3 of 30 adults, 5000 corresponding vertices each): compactness,
//! leave-one-out generalisation (point-to-point and point-to-surface) and specificity, for the
//! whole pelvis (left hip + right hip + sacrum as one model) and for each hemipelvis.

use std::path::Path;

use anyhow::{Result, ensure};
use coxa_shape::metrics::{compactness, generalisation, specificity};
use coxa_shape::{BuildOptions, Built, FitOptions, Part, Provenance, ShapeModel, build};
use nalgebra::Point3;

use crate::common::shared_data;

/// The atlas subject IDs (from the LeftHip file names), sorted numerically.
pub(crate) fn subject_ids(dir: &Path) -> Result<Vec<u32>> {
    let mut ids: Vec<u32> = std::fs::read_dir(dir)?.filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("LeftHip")?.strip_suffix("_cpd.vtk")?.parse().ok()).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Each subject's shape over `bones` (concatenated in that order), the shared faces and parts.
/// Shapes (one point list per subject), their shared faces and parts.
type Cohort = (Vec<Vec<Point3<f64>>>, Vec<[u32; 3]>, Vec<Part>);

fn cohort(dir: &Path, bones: &[(&str, &str)]) -> Result<Cohort> {
    let ids = subject_ids(dir)?;
    ensure!(ids.len() == 30, "expected 30 atlas subjects, found {}", ids.len());
    let mut shapes = Vec::new();
    let mut faces: Vec<[u32; 3]> = Vec::new();
    let mut parts = Vec::new();
    for (s, id) in ids.iter().enumerate() {
        let mut x = Vec::new();
        for (file, part) in bones {
            let mesh = coxa_io::mesh::read_vtk(&dir.join(format!("{file}{id}_cpd.vtk")))?;
            let first = x.len() as u32;
            if s == 0 {
                parts.push(Part { name: (*part).into(), first_vertex: x.len(), n_vertices: mesh.vertices().len(), first_face: faces.len(), n_faces: mesh.triangles().len() });
                faces.extend(mesh.triangles().iter().map(|t| t.map(|i| i + first)));
            } else {
                // Correspondence means one mesh topology for all subjects.
                let p = parts.iter().find(|p| p.name == *part).unwrap();
                let theirs: Vec<[u32; 3]> = mesh.triangles().iter().map(|t| t.map(|i| i + first)).collect();
                ensure!(theirs[..] == faces[p.first_face..p.first_face + p.n_faces], "{file}{id}: faces differ from subject {}'s", ids[0]);
            }
            x.extend_from_slice(mesh.vertices());
        }
        shapes.push(x);
    }
    Ok((shapes, faces, parts))
}

const MODES: [usize; 9] = [1, 2, 3, 5, 10, 15, 20, 25, 28];

struct Report {
    built: Built,
    generalised: Vec<coxa_shape::metrics::Generalisation>,
    spec: Vec<coxa_shape::metrics::Specificity>,
}

fn measure(name: &str, dir: &Path, bones: &[(&str, &str)]) -> Result<Report> {
    let (shapes, faces, parts) = cohort(dir, bones)?;
    let options = BuildOptions {
        frame: "DICOM LPS axes of atlas subject 2's CT, origin at the mean's centroid".into(),
        provenance: Provenance { source: "JHU I-STAR pelvis atlas (Han et al. 2019, doi 10.1088/1361-6560/ab1456), 30 adult pelvises".into(), n_subjects: 0, licence: "CC BY 4.0".into() },
        ..BuildOptions::default()
    };
    let built = build(&shapes, faces.clone(), parts.clone(), &options)?;
    let generalised = generalisation(&shapes, &faces, &parts, &options, &MODES)?;
    let spec = specificity(&built, &MODES, 200, 14)?;
    let c = compactness(&built.model);
    eprintln!("\n{name}: {} vertices, {} subjects, {} modes", built.model.n_vertices(), shapes.len(), built.model.n_modes());
    eprintln!("  mode SDs (mm): {}", built.model.variances().iter().take(10).map(|v| format!("{:.2}", v.sqrt())).collect::<Vec<_>>().join(" "));
    eprintln!("  compactness C(k), k = 1..: {}", c.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" "));
    eprintln!("  k   C(k)   G p2p mm (SD)   G p2s mm (SD)   S mm (SD)");
    for (g, s) in generalised.iter().zip(&spec) {
        eprintln!(
            "  {:2}  {:.3}  {:.3} ({:.3})   {:.3} ({:.3})   {:.3} ({:.3})",
            g.n_modes,
            c[g.n_modes - 1],
            g.point_to_point_mm,
            g.point_to_point_sd_mm,
            g.point_to_surface_mm,
            g.point_to_surface_sd_mm,
            s.mean_mm,
            s.sd_mm
        );
    }
    Ok(Report { built, generalised, spec })
}

#[test]
fn pelvis_atlas_shape_models() -> Result<()> {
    let Some(dir) = shared_data("pelvis_atlas/surface") else { return Ok(()) };
    let whole = measure("pelvis (left hip + right hip + sacrum)", &dir, &[("LeftHip", "hip_left"), ("RightHip", "hip_right"), ("Sacrum", "sacrum")])?;
    let left = measure("left hemipelvis", &dir, &[("LeftHip", "hip_left")])?;
    let right = measure("right hemipelvis", &dir, &[("RightHip", "hip_right")])?;
    // The whole model round-trips through its file.
    let tmp = tempfile::tempdir()?;
    let p = tmp.path().join("pelvis.ssm");
    whole.built.model.save(&p)?;
    eprintln!("pelvis.ssm: {} bytes", std::fs::metadata(&p)?.len());
    assert_eq!(ShapeModel::load(&p)?, whole.built.model);
    eprintln!("published anchor: about 1.6 mm reconstruction error for hemipelvis models");
    for (name, r) in [("whole", &whole), ("left", &left), ("right", &right)] {
        let g = &r.generalised;
        for w in g.windows(2) {
            // More modes never generalise worse (to 0.01 mm: a fit with more modes can only get closer).
            assert!(w[1].point_to_point_mm <= w[0].point_to_point_mm + 0.01, "{name}: G p2p rises from {} to {} modes", w[0].n_modes, w[1].n_modes);
            assert!(w[1].point_to_surface_mm <= w[0].point_to_surface_mm + 0.01, "{name}: G p2s rises from {} to {} modes", w[0].n_modes, w[1].n_modes);
        }
        // The nearest surface point is never farther than the corresponding vertex.
        assert!(g.iter().all(|x| x.point_to_surface_mm <= x.point_to_point_mm), "{name}");
        // Specificity: samples from more modes stray farther from the training shapes.
        assert!(r.spec.last().unwrap().mean_mm > r.spec[0].mean_mm, "{name}: specificity");
    }
    // The measured figures (deterministic: fixed data, fixed seed), to about ±5 %.
    let near = |what: &str, got: f64, want: f64| assert!((got / want - 1.0).abs() < 0.05, "{what}: {got:.3}, measured {want:.3} when this test was written");
    let last = |r: &Report| r.generalised.last().unwrap().clone();
    near("whole pelvis G p2s, 28 modes (mm)", last(&whole).point_to_surface_mm, 1.474);
    near("whole pelvis G p2p, 28 modes (mm)", last(&whole).point_to_point_mm, 3.100);
    near("left hemipelvis G p2s, 28 modes (mm)", last(&left).point_to_surface_mm, 1.214);
    near("left hemipelvis G p2p, 28 modes (mm)", last(&left).point_to_point_mm, 2.201);
    near("right hemipelvis G p2s, 28 modes (mm)", last(&right).point_to_surface_mm, 1.232);
    near("right hemipelvis G p2p, 28 modes (mm)", last(&right).point_to_point_mm, 2.252);
    near("whole pelvis C(10)", compactness(&whole.built.model)[9], 0.900);
    near("left hemipelvis C(10)", compactness(&left.built.model)[9], 0.891);
    near("whole pelvis S(10) (mm)", whole.spec[4].mean_mm, 5.713);
    near("left hemipelvis S(10) (mm)", left.spec[4].mean_mm, 4.039);
    // Against the published anchor: the hemipelvis models reconstruct an unseen pelvis's surface
    // to better than 1.6 mm with 15 modes or more.
    for r in [&left, &right] {
        assert!(r.generalised.iter().filter(|g| g.n_modes >= 15).all(|g| g.point_to_surface_mm < 1.6));
    }
    Ok(())
}

/// The partial fit on real bones, leave-one-out: each subject's sacrum (or left hip) predicted
/// from its other two bones by the whole-pelvis model of the other 29, against its true shape.
#[test]
fn pelvis_partial_fit_predicts_the_unseen_bone() -> Result<()> {
    let Some(dir) = shared_data("pelvis_atlas/surface") else { return Ok(()) };
    let (shapes, faces, parts) = cohort(&dir, &[("LeftHip", "hip_left"), ("RightHip", "hip_right"), ("Sacrum", "sacrum")])?;
    let options = FitOptions { noise_sd_mm: 2.0, ..FitOptions::default() };
    for unseen_part in ["sacrum", "hip_left"] {
        let p = parts.iter().find(|p| p.name == unseen_part).unwrap();
        let unseen: Vec<usize> = (p.first_vertex..p.first_vertex + p.n_vertices).collect();
        let known: Vec<usize> = (0..shapes[0].len()).filter(|i| !unseen.contains(i)).collect();
        let unseen_faces: Vec<[u32; 3]> = faces[p.first_face..p.first_face + p.n_faces].iter().map(|t| t.map(|i| i - p.first_vertex as u32)).collect();
        let (mut p2p, mut p2s, mut err2, mut sd2, mut mean_p2p) = (Vec::new(), Vec::new(), 0.0, 0.0, Vec::new());
        for i in 0..shapes.len() {
            let others: Vec<Vec<Point3<f64>>> = shapes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x.clone()).collect();
            let built = build(&others, faces.clone(), parts.clone(), &BuildOptions::default())?;
            let target: Vec<Point3<f64>> = known.iter().map(|&v| shapes[i][v]).collect();
            let fit = built.model.fit_partial(&known, &target, &options)?;
            let truth: Vec<Point3<f64>> = unseen.iter().map(|&v| shapes[i][v]).collect();
            let surface = coxa_shape::surface::Surface::new(&truth, &unseen_faces);
            let n = unseen.len() as f64;
            p2p.push(unseen.iter().zip(&truth).map(|(&v, t)| (fit.shape[v] - t).norm()).sum::<f64>() / n);
            p2s.push(unseen.iter().map(|&v| surface.distance(&fit.shape[v])).sum::<f64>() / n);
            err2 += unseen.iter().zip(&truth).map(|(&v, t)| (fit.shape[v] - t).norm_squared()).sum::<f64>() / n;
            sd2 += unseen.iter().map(|&v| fit.sd_mm[v] * fit.sd_mm[v]).sum::<f64>() / n;
            // The mean shape posed on the known bones: what the fit must beat.
            let mean_fit = built.model.fit_partial(&known, &target, &FitOptions { n_modes: Some(0), ..options.clone() })?;
            mean_p2p.push(unseen.iter().zip(&truth).map(|(&v, t)| (mean_fit.shape[v] - t).norm()).sum::<f64>() / n);
        }
        let m = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let s = shapes.len() as f64;
        let (rms_err, rms_sd) = ((err2 / s).sqrt(), (sd2 / s).sqrt());
        eprintln!(
            "{unseen_part} from the other bones (LOO, 29 modes, noise SD 2 mm): p2p {:.3} mm, p2s {:.3} mm (posed mean shape: p2p {:.3} mm); RMS error {rms_err:.3} mm vs RMS predicted SD {rms_sd:.3} mm",
            m(&p2p),
            m(&p2s),
            m(&mean_p2p)
        );
        assert!(m(&p2p) < m(&mean_p2p), "{unseen_part}: the fit predicts worse than the posed mean");
        assert!(m(&p2s) < m(&p2p));
        // Known limitation, printed above, not asserted: the posterior SD covers only the
        // uncertainty of the mode weights, which 10,000 known vertices pin down, and not the
        // model's incompleteness (29 subjects), which dominates the real error.
        let _ = (rms_err, rms_sd);
    }
    Ok(())
}

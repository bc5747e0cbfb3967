//! Synthetic cohorts with known modes, variances and poses: what the builder, the fits, the file
//! format and the sampler must recover.

use coxa_shape::metrics::{compactness, mean_point_distance};
use coxa_shape::surface::{Surface, closest_on_triangle};
use coxa_shape::{BuildOptions, FitOptions, Part, Pose, ShapeError, ShapeModel, SurfaceFitOptions, build};
use nalgebra::{DMatrix, Point3, Rotation3, SymmetricEigen, Vector3};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn normal(rng: &mut StdRng) -> f64 {
    let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A known model: a random mean of `n` points in a 100 mm box and `sds.len()` orthonormal modes,
/// made orthogonal to the mean's rigid motions (translations and infinitesimal rotations) so that
/// Procrustes cannot absorb any of them and they are exactly identifiable.
struct Truth {
    mean: Vec<f64>,
    modes: Vec<Vec<f64>>,
    sds: Vec<f64>,
}

impl Truth {
    fn new(rng: &mut StdRng, n: usize, sds: &[f64]) -> Self {
        let mut mean: Vec<f64> = (0..3 * n).map(|_| rng.random_range(-50.0..50.0)).collect();
        let c: Vec<f64> = (0..3).map(|a| mean.iter().skip(a).step_by(3).sum::<f64>() / n as f64).collect();
        mean.iter_mut().enumerate().for_each(|(i, v)| *v -= c[i % 3]);
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for a in 0..3 {
            basis.push((0..3 * n).map(|i| if i % 3 == a { 1.0 } else { 0.0 }).collect());
            let axis = Vector3::ith(a, 1.0);
            basis.push(
                mean.chunks_exact(3)
                    .flat_map(|p| {
                        let v = axis.cross(&Vector3::new(p[0], p[1], p[2]));
                        [v.x, v.y, v.z]
                    })
                    .collect(),
            );
        }
        let mut orth: Vec<Vec<f64>> = Vec::new();
        let push = |mut v: Vec<f64>, orth: &mut Vec<Vec<f64>>| {
            for o in orth.iter() {
                let c = dot(o, &v);
                v.iter_mut().zip(o).for_each(|(x, y)| *x -= c * y);
            }
            let norm = dot(&v, &v).sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            orth.push(v);
        };
        for b in basis {
            push(b, &mut orth);
        }
        for _ in sds {
            push((0..3 * n).map(|_| normal(rng)).collect(), &mut orth);
        }
        Self { mean, modes: orth.split_off(6), sds: sds.to_vec() }
    }

    /// A subject: weights `w`, noise of SD `noise_mm` per coordinate, then a random rigid pose.
    fn subject(&self, rng: &mut StdRng, w: &[f64], noise_mm: f64) -> Vec<Point3<f64>> {
        let mut x = self.mean.clone();
        for (m, wk) in self.modes.iter().zip(w) {
            x.iter_mut().zip(m).for_each(|(a, b)| *a += wk * b);
        }
        let r = Rotation3::from_scaled_axis(Vector3::new(normal(rng), normal(rng), normal(rng)));
        let t = Vector3::new(rng.random_range(-100.0..100.0), rng.random_range(-100.0..100.0), rng.random_range(-100.0..100.0));
        x.chunks_exact(3).map(|p| Point3::from(r * Vector3::new(p[0] + noise_mm * normal(rng), p[1] + noise_mm * normal(rng), p[2] + noise_mm * normal(rng)) + t)).collect()
    }
}

/// A closed surface is not needed for the model; a fan over consecutive vertices gives faces.
fn faces(n: usize) -> Vec<[u32; 3]> {
    (0..n as u32 - 2).map(|i| [i, i + 1, i + 2]).collect()
}

#[test]
fn known_modes_and_variances_are_recovered() {
    let mut rng = StdRng::seed_from_u64(14);
    let (n, s) = (400, 200);
    let truth = Truth::new(&mut rng, n, &[12.0, 6.0, 3.0, 1.5]);
    let mut weights = Vec::new();
    let shapes: Vec<Vec<Point3<f64>>> = (0..s)
        .map(|_| {
            let w: Vec<f64> = truth.sds.iter().map(|sd| sd * normal(&mut rng)).collect();
            let x = truth.subject(&mut rng, &w, 0.05);
            weights.push(w);
            x
        })
        .collect();
    let built = build(&shapes, faces(n), vec![], &BuildOptions::default()).unwrap();
    let m = &built.model;
    assert_eq!(m.n_modes(), s - 1, "all real modes kept by default");
    // The model keeps training shape 0's (random) orientation: turn the true modes into it.
    let to_model = Pose::between(&coxa_shape::model::to_points(&truth.mean), &coxa_shape::model::to_points(m.mean()), false);
    let turned: Vec<Vec<f64>> = truth
        .modes
        .iter()
        .map(|t| {
            t.chunks_exact(3)
                .flat_map(|v| {
                    let r = to_model.rotation * Vector3::new(v[0], v[1], v[2]);
                    [r.x, r.y, r.z]
                })
                .collect()
        })
        .collect();
    // What PCA must find exactly (up to the 0.05 mm noise): the eigen-decomposition of the true
    // weights' sample covariance (S - 1 denominator), whose eigenvalues and eigenvectors differ
    // from the true variances and axes by sampling error alone.
    let kt = truth.sds.len();
    let means: Vec<f64> = (0..kt).map(|k| weights.iter().map(|w| w[k]).sum::<f64>() / s as f64).collect();
    let cov = DMatrix::from_fn(kt, kt, |a, b| weights.iter().map(|w| (w[a] - means[a]) * (w[b] - means[b])).sum::<f64>() / (s - 1) as f64);
    let eig = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..kt).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    for (k, &e) in order.iter().enumerate() {
        let est = m.variances()[k];
        let sample_var = eig.eigenvalues[e];
        let true_var = truth.sds[k] * truth.sds[k];
        let cos_true = dot(m.mode(k), &turned[k]).abs();
        // The sample covariance's eigenvector, as a 3N direction.
        let sample_mode: Vec<f64> = (0..m.mean().len()).map(|i| (0..kt).map(|j| eig.eigenvectors[(j, e)] * turned[j][i]).sum()).collect();
        let cos_sample = dot(m.mode(k), &sample_mode).abs();
        eprintln!("mode {k}: |cos| with the true mode {cos_true:.5}, with the sample's {cos_sample:.6}; variance {est:.4} mm2 (sample {sample_var:.4}, true {true_var:.4})");
        assert!(cos_true > 0.99, "mode {k}: |cos| with the true mode {cos_true}");
        // The noise (σ = 0.05 mm on each of the 3N coordinates) tilts a mode of variance λ by
        // sin² ≈ 3N σ² / (S λ) (first-order perturbation: the noise's sample covariance with the
        // weights over the eigenvalue): allow three times that.
        let sin2_expected = (3 * n) as f64 * 0.05f64.powi(2) / (s as f64 * sample_var);
        assert!(1.0 - cos_sample * cos_sample < 3.0 * sin2_expected, "mode {k}: |cos| with the sample covariance's eigenvector {cos_sample}, expected sin² {sin2_expected}");
        // The noise adds σ² along the mode plus, to second order, 3N σ² / S from the directions
        // it tilts toward (0.0025 + 0.015 mm² here): allow three times that.
        let noise_var = 0.05f64.powi(2) * (1.0 + (3 * n) as f64 / s as f64);
        assert!((est - sample_var).abs() < 3.0 * noise_var, "mode {k}: variance {est} vs the weights' sample eigenvalue {sample_var}");
        // A sample variance of S normal draws has relative SD sqrt(2 / (S - 1)) = 0.10: 4 SDs.
        assert!((est / true_var - 1.0).abs() < 4.0 * (2.0 / (s - 1) as f64).sqrt(), "mode {k}: variance {est} vs true {true_var}");
    }
    // Beyond the 4 true modes only noise: its PCA eigenvalues are about σ²(1 + sqrt(3N/S))² = 0.03.
    assert!(m.variances()[4] < 0.05, "mode 5 variance {}", m.variances()[4]);
    // Compactness: the 4 modes' share of signal + noise (3N σ² = 3 mm² of noise in total).
    let c = compactness(m);
    let signal: f64 = order.iter().map(|&e| eig.eigenvalues[e]).sum();
    let expected = signal / (signal + (3 * n) as f64 * 0.05f64.powi(2));
    eprintln!("compactness {:?}, 4 modes expected {expected:.4}", &c[..6]);
    assert!((c[3] - expected).abs() < 0.002, "compactness with 4 modes {} vs {expected}", c[3]);
    assert!((c[kt - 1..].iter().all(|&x| x <= 1.0 + 1e-12)) && (c[s - 2] - 1.0).abs() < 1e-9);
    let kept = BuildOptions { variance_kept: expected - 0.001, ..BuildOptions::default() };
    assert_eq!(build(&shapes, faces(n), vec![], &kept).unwrap().model.n_modes(), 4);
}

#[test]
fn fits_recover_weights_pose_and_unseen_vertices() {
    let mut rng = StdRng::seed_from_u64(7);
    let n = 300;
    let truth = Truth::new(&mut rng, n, &[10.0, 5.0, 2.0]);
    let shapes: Vec<Vec<Point3<f64>>> = (0..60)
        .map(|_| {
            let w: Vec<f64> = truth.sds.iter().map(|sd| sd * normal(&mut rng)).collect();
            truth.subject(&mut rng, &w, 0.0)
        })
        .collect();
    let m = build(&shapes, faces(n), vec![], &BuildOptions { variance_kept: 0.999_999, ..BuildOptions::default() }).unwrap().model;
    assert_eq!(m.n_modes(), 3);
    let target = truth.subject(&mut rng, &[8.0, -4.0, 1.0], 0.0);
    // Whole-shape projection: exact up to round-off.
    let fit = m.fit(&target, &FitOptions { noise_sd_mm: 0.0, ..FitOptions::default() }).unwrap();
    assert!(fit.rms_mm < 1e-6, "rms {} mm after {} rounds", fit.rms_mm, fit.iterations);
    // A prior pulls the weights toward 0 by λ / (λ + σ²): small for σ = 1 mm and λ >= 4 mm².
    let prior = m.fit(&target, &FitOptions::default()).unwrap();
    assert!(prior.rms_mm > 1e-4 && prior.rms_mm < 0.5, "rms with the prior {}", prior.rms_mm);
    // Partial: the half of the vertices with the smallest x (in the target frame) known.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| target[a].x.total_cmp(&target[b].x));
    let (known, unseen) = order.split_at(n / 2);
    let pts: Vec<Point3<f64>> = known.iter().map(|&i| target[i]).collect();
    let part = m.fit_partial(known, &pts, &FitOptions { noise_sd_mm: 0.01, ..FitOptions::default() }).unwrap();
    let err = unseen.iter().map(|&i| (part.shape[i] - target[i]).norm()).sum::<f64>() / unseen.len() as f64;
    let sd = unseen.iter().map(|&i| part.sd_mm[i]).sum::<f64>() / unseen.len() as f64;
    eprintln!("partial fit: unseen error {err:.5} mm, mean SD {sd:.5} mm, known rms {:.5} mm", part.rms_known_mm);
    assert!(err < 0.01, "unseen vertices {err} mm off");
    assert!(sd < 0.05, "unseen SD {sd} mm with half the shape known and no noise");
    // Fewer known vertices, larger SD (both floored by the residual term sqrt(3) σ = 0.017 mm).
    let few = m.fit_partial(&known[..3], &pts[..3], &FitOptions { noise_sd_mm: 0.01, ..FitOptions::default() }).unwrap();
    let sd_few = unseen.iter().map(|&i| few.sd_mm[i]).sum::<f64>() / unseen.len() as f64;
    eprintln!("mean SD with 3 known vertices {sd_few:.4} mm");
    assert!(sd_few > sd * 1.2, "SD with 3 known vertices {sd_few} vs {sd} with half");
    assert!(sd > 3f64.sqrt() * 0.01, "SD {sd} below the residual floor");
    // Bad input is an error, not a panic.
    assert!(matches!(m.fit_partial(&[0, 1, n], &pts[..3], &FitOptions::default()), Err(ShapeError::Input { .. })));
    assert!(matches!(m.fit_partial(&known[..3], &pts[..3], &FitOptions { noise_sd_mm: 0.0, ..FitOptions::default() }), Err(ShapeError::Input { .. })));
    assert!(matches!(m.fit(&target[1..], &FitOptions::default()), Err(ShapeError::Input { .. })));
    assert!(matches!(build(&shapes[..2], faces(n), vec![], &BuildOptions::default()), Err(ShapeError::Input { .. })));
}

#[test]
fn samples_are_seeded_and_truncated() {
    let mut rng = StdRng::seed_from_u64(3);
    let n = 50;
    let truth = Truth::new(&mut rng, n, &[4.0, 2.0]);
    let shapes: Vec<Vec<Point3<f64>>> = (0..40)
        .map(|_| {
            let w: Vec<f64> = truth.sds.iter().map(|sd| sd * normal(&mut rng)).collect();
            truth.subject(&mut rng, &w, 0.0)
        })
        .collect();
    let m = build(&shapes, faces(n), vec![], &BuildOptions { max_modes: Some(2), ..BuildOptions::default() }).unwrap().model;
    let a = m.sample(4000, None, 99).unwrap();
    assert_eq!(a[..5], m.sample(5, None, 99).unwrap()[..]);
    assert_ne!(a[0], m.sample(1, None, 100).unwrap()[0]);
    for k in 0..2 {
        let sd = m.variances()[k].sqrt();
        let w: Vec<f64> = a.iter().map(|(w, _)| w[k]).collect();
        assert!(w.iter().all(|x| x.abs() <= 3.0 * sd));
        // A standard normal truncated at ±3 has variance 0.9733; 4000 draws: relative SD 2.2 %.
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        assert!((var / (0.9733 * sd * sd) - 1.0).abs() < 0.09, "mode {k}: sample variance {var} vs {}", 0.9733 * sd * sd);
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 4.0 * sd / (w.len() as f64).sqrt(), "mode {k}: mean {mean}");
    }
    // Each sample is the model instance of its weights.
    let (w, x) = &a[0];
    assert!(mean_point_distance(&m.instance(w).unwrap(), &coxa_shape::model::to_points(x)) == 0.0);
}

#[test]
fn model_files_round_trip_and_bad_files_are_refused() {
    let mut rng = StdRng::seed_from_u64(5);
    let n = 30;
    let truth = Truth::new(&mut rng, n, &[3.0, 1.0]);
    let shapes: Vec<Vec<Point3<f64>>> = (0..10)
        .map(|_| {
            let w = [normal(&mut rng) * 3.0, normal(&mut rng)];
            truth.subject(&mut rng, &w, 0.01)
        })
        .collect();
    let parts = vec![Part { name: "a".into(), first_vertex: 0, n_vertices: 10, first_face: 0, n_faces: 8 }, Part { name: "b".into(), first_vertex: 10, n_vertices: 20, first_face: 8, n_faces: 20 }];
    let built = build(&shapes, faces(n), parts, &BuildOptions::default()).unwrap();
    let m = built.model;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.ssm");
    m.save(&p).unwrap();
    let back = ShapeModel::load(&p).unwrap();
    assert_eq!(back, m);
    assert!(matches!(m.save(&p), Err(ShapeError::WouldOverwrite { .. })));
    let bytes = std::fs::read(&p).unwrap();
    let write = |name: &str, data: &[u8]| {
        let q = dir.path().join(name);
        std::fs::write(&q, data).unwrap();
        q
    };
    let q = write("cut.ssm", &bytes[..bytes.len() - 1]);
    let e = ShapeModel::load(&q).unwrap_err();
    assert!(matches!(e, ShapeError::BadFile { .. }) && e.to_string().contains("cut.ssm"), "{e}");
    let q = write("long.ssm", &[&bytes[..], &[0u8]].concat());
    assert!(matches!(ShapeModel::load(&q), Err(ShapeError::BadFile { .. })));
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert!(matches!(ShapeModel::load(&write("magic.ssm", &magic)), Err(ShapeError::BadFile { .. })));
    let text = String::from_utf8_lossy(&bytes[16..200]).into_owned();
    assert!(text.starts_with("{\"format_version\":1,"), "{text}");
    let mut v2 = bytes.clone();
    v2[16 + 18] = b'2';
    assert!(matches!(ShapeModel::load(&write("v2.ssm", &v2)), Err(ShapeError::Version { found: 2, .. })));
    // A NaN in the mean is caught by the model check.
    let h = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let mut nan = bytes.clone();
    nan[16 + h..16 + h + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    let e = ShapeModel::load(&write("nan.ssm", &nan)).unwrap_err();
    assert!(matches!(e, ShapeError::BadModel { .. }) && e.to_string().contains("not finite"), "{e}");
    // The model's own error is kept as the cause.
    assert!(std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("not finite")), "{e}");
}

#[test]
fn surface_distance_equals_brute_force() {
    let mut rng = StdRng::seed_from_u64(11);
    let verts: Vec<Point3<f64>> = (0..600).map(|_| Point3::new(rng.random_range(-20.0..20.0), rng.random_range(-20.0..20.0), rng.random_range(-5.0..5.0))).collect();
    let tris: Vec<[u32; 3]> = (0..500).map(|_| [rng.random_range(0..600u32), rng.random_range(0..600u32), rng.random_range(0..600u32)]).collect();
    let s = Surface::new(&verts, &tris);
    for _ in 0..300 {
        let p = Point3::new(rng.random_range(-30.0..30.0), rng.random_range(-30.0..30.0), rng.random_range(-30.0..30.0));
        let brute = tris.iter().map(|t| (closest_on_triangle(&p, &[verts[t[0] as usize], verts[t[1] as usize], verts[t[2] as usize]]) - p).norm()).fold(f64::INFINITY, f64::min);
        assert!((s.distance(&p) - brute).abs() < 1e-12, "{} vs brute force {brute}", s.distance(&p));
    }
    // Analytic: above the middle of a right triangle in z = 0, and beyond a corner.
    let t = [Point3::new(0.0, 0.0, 0.0), Point3::new(10.0, 0.0, 0.0), Point3::new(0.0, 10.0, 0.0)];
    assert_eq!(closest_on_triangle(&Point3::new(2.0, 3.0, 7.0), &t), Point3::new(2.0, 3.0, 0.0));
    assert_eq!(closest_on_triangle(&Point3::new(-1.0, -1.0, 0.0), &t), t[0]);
    assert!((closest_on_triangle(&Point3::new(10.0, 10.0, 0.0), &t) - Point3::new(5.0, 5.0, 0.0)).norm() < 1e-12);
}

/// Issue 16 (deadlines): a surface fit's cost is bounded before it starts (target points against
/// `MAX_TARGET_POINTS`, refused with the budget and the fix) and a fit that stops at its
/// iteration budget says so (`converged` false) instead of passing for a converged one.
#[test]
fn issue_16_surface_fits_have_a_budget_and_say_when_they_stop_at_it() {
    let mut rng = StdRng::seed_from_u64(11);
    let n = 200;
    let truth = Truth::new(&mut rng, n, &[10.0, 5.0]);
    let shapes: Vec<Vec<Point3<f64>>> = (0..30)
        .map(|_| {
            let w: Vec<f64> = truth.sds.iter().map(|sd| sd * normal(&mut rng)).collect();
            let mut x = truth.mean.clone();
            for (m, wk) in truth.modes.iter().zip(&w) {
                x.iter_mut().zip(m).for_each(|(a, b)| *a += wk * b);
            }
            x.chunks_exact(3).map(|p| Point3::new(p[0], p[1], p[2])).collect()
        })
        .collect();
    let m = build(&shapes, faces(n), vec![], &BuildOptions { variance_kept: 0.999_999, ..BuildOptions::default() }).unwrap().model;
    let mut target = truth.mean.clone();
    for (mode, wk) in truth.modes.iter().zip([12.0, -6.0]) {
        target.iter_mut().zip(mode).for_each(|(a, b)| *a += wk * b);
    }
    let target: Vec<Point3<f64>> = target.chunks_exact(3).map(|p| Point3::new(p[0], p[1], p[2])).collect();
    let one = m.fit_surface(&target, 1.0e4, &Pose::identity(), &SurfaceFitOptions { max_iterations: 1, ..SurfaceFitOptions::default() }).unwrap();
    assert_eq!(one.iterations, 1);
    assert!(!one.converged, "one round moves the weights from 0 to about (12, -6): not converged");
    let full = m.fit_surface(&target, 1.0e4, &Pose::identity(), &SurfaceFitOptions::default()).unwrap();
    assert!(full.converged && full.iterations < SurfaceFitOptions::default().max_iterations, "{} rounds", full.iterations);
    let many = vec![Point3::new(1.0, 2.0, 3.0); coxa_shape::MAX_TARGET_POINTS + 1];
    let e = m.fit_surface(&many, 1.0e4, &Pose::identity(), &SurfaceFitOptions::default()).unwrap_err();
    assert!(matches!(e, ShapeError::Input { .. }));
    assert_eq!(
        e.to_string(),
        format!("invalid input: {} target points, more than the fit's budget of 1000000 (each of up to 40 rounds matches every point); decimate the surface", coxa_shape::MAX_TARGET_POINTS + 1)
    );
}

/// A model rebuilt from its subjects' weights (leave-one-out without a new Procrustes): the whole
/// set gives back the built model; all but one gives the mean and total variance of the others,
/// and every remaining subject lies in its span.
#[test]
fn models_rebuilt_from_subject_weights() {
    let mut rng = StdRng::seed_from_u64(41);
    let truth = Truth::new(&mut rng, 300, &[20.0, 10.0, 5.0, 2.0]);
    let shapes: Vec<Vec<Point3<f64>>> = (0..12)
        .map(|_| {
            let w: Vec<f64> = truth.sds.iter().map(|s| s * normal(&mut rng)).collect();
            truth.subject(&mut rng, &w, 0.3)
        })
        .collect();
    let built = build(&shapes, faces(300), Vec::new(), &BuildOptions::default()).unwrap();
    let m = &built.model;
    let weights: Vec<Vec<f64>> = built.aligned.iter().map(|x| m.project(x)).collect();
    // Each aligned subject is the mean plus its projected modes (the 11 modes span the 12).
    for (x, w) in built.aligned.iter().zip(&weights) {
        let back = m.instance_flat(w).unwrap();
        let worst = back.iter().zip(x).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-8, "a subject is not in the model's span: {worst}");
    }
    let same = m.from_subject_weights(&weights).unwrap();
    for (a, b) in same.variances().iter().zip(m.variances()) {
        assert!((a - b).abs() < 1e-8 * b, "variance {a} vs {b}");
    }
    assert!(same.mean().iter().zip(m.mean()).all(|(a, b)| (a - b).abs() < 1e-8));
    for k in 0..m.n_modes() {
        assert!((dot(same.mode(k), m.mode(k)).abs() - 1.0).abs() < 1e-6, "mode {k} differs");
    }
    // Leave subject 3 out.
    let others: Vec<Vec<f64>> = weights.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, w)| w.clone()).collect();
    let loo = m.from_subject_weights(&others).unwrap();
    assert_eq!((loo.n_modes(), loo.info().provenance.n_subjects), (10, 11));
    let rest: Vec<&Vec<f64>> = built.aligned.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, x)| x).collect();
    let mean: Vec<f64> = (0..900).map(|j| rest.iter().map(|x| x[j]).sum::<f64>() / 11.0).collect();
    assert!(loo.mean().iter().zip(&mean).all(|(a, b)| (a - b).abs() < 1e-8), "the mean is the others' mean");
    let total: f64 = rest.iter().map(|x| x.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()).sum::<f64>() / 10.0;
    assert!((loo.variances().iter().sum::<f64>() - total).abs() < 1e-8 * total);
    for x in &rest {
        let back = loo.instance_flat(&loo.project(x)).unwrap();
        assert!(back.iter().zip(x.iter()).all(|(a, b)| (a - b).abs() < 1e-7));
    }
    // The held-out subject is not in the span of the others (4 true modes plus noise).
    let held = &built.aligned[3];
    let back = loo.instance_flat(&loo.project(held)).unwrap();
    assert!(back.iter().zip(held).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) > 0.1);
    assert!(m.from_subject_weights(&others[..2]).is_err());
    assert!(m.from_subject_weights(&[vec![f64::NAN], vec![0.0], vec![1.0]]).is_err());
}

/// The model error SD of held-out predictions: errors drawn with a known extra SD give it back.
#[test]
fn model_error_sd_recovers_a_known_extra_spread() {
    use coxa_shape::predict::model_error_sd;
    let mut rng = StdRng::seed_from_u64(5);
    let s: Vec<f64> = (0..4000).map(|i| 1.0 + (i % 5) as f64 * 0.25).collect();
    let e: Vec<f64> = s.iter().map(|si: &f64| si.hypot(3.0) * normal(&mut rng)).collect();
    let m = model_error_sd(&e, &s).unwrap();
    // 4000 draws: the variance is known to about 2.2 % (1 SD), the root to about 1.5 %.
    assert!((m - 3.0).abs() < 0.15, "{m}");
    // Errors within their SDs need no extra term.
    let small: Vec<f64> = s.iter().map(|si| 0.5 * si).collect();
    assert_eq!(model_error_sd(&small, &s), Some(0.0));
    // Zero posterior SD: the RMS of the errors.
    let m0 = model_error_sd(&[3.0, -4.0], &[0.0, 0.0]).unwrap();
    assert!((m0 - 12.5f64.sqrt()).abs() < 1e-9);
    assert_eq!(model_error_sd(&[f64::NAN], &[1.0]), None);
}

//! The three measures shape-model papers report (Styner et al. 2003, Davies 2002).
//!
//! - **Compactness** C(k): the fraction of the training set's total variance that the first `k`
//!   modes hold ([`compactness`]).
//! - **Generalisation** G(k): leave-one-out. For each training subject i a model is built from the
//!   others (Procrustes and PCA again), subject i is fitted with `k` modes (pose + plain
//!   projection, no prior: [`crate::FitOptions::noise_sd_mm`] = 0) and the fitted shape is compared
//!   with subject i's true shape: the mean distance between corresponding vertices
//!   (point-to-point), and the mean distance from the fitted vertices to subject i's true surface
//!   (point-to-surface, the nearest point on any of its triangles). Both in mm, averaged over the
//!   subjects ([`generalisation`]).
//! - **Specificity** S(k): random shapes from the first `k` modes ([`crate::ShapeModel::sample`]),
//!   each compared with its nearest training shape (after Procrustes, in the model frame) by the
//!   mean distance between corresponding vertices, averaged over the samples ([`specificity`]).

use nalgebra::Point3;

use crate::build::{BuildOptions, Built, build};
use crate::error::{Result, input};
use crate::fit::FitOptions;
use crate::model::{Part, ShapeModel, to_flat};
use crate::surface::Surface;

/// C(k) for k = 1..=K: cumulative variance fraction of the model's modes.
pub fn compactness(model: &ShapeModel) -> Vec<f64> {
    let total = model.info().total_variance_mm2;
    model
        .variances()
        .iter()
        .scan(0.0, |c, v| {
            *c += v;
            Some(*c / total)
        })
        .collect()
}

/// Generalisation with `n_modes` modes.
#[derive(Debug, Clone, PartialEq)]
pub struct Generalisation {
    /// Modes used.
    pub n_modes: usize,
    /// Mean over subjects of the mean corresponding-vertex distance, mm.
    pub point_to_point_mm: f64,
    /// SD over subjects of it, mm.
    pub point_to_point_sd_mm: f64,
    /// Mean over subjects of the mean fitted-vertex to true-surface distance, mm.
    pub point_to_surface_mm: f64,
    /// SD over subjects of it, mm.
    pub point_to_surface_sd_mm: f64,
    /// Per subject: (point-to-point, point-to-surface), mm.
    pub per_subject_mm: Vec<(f64, f64)>,
}

/// Leave-one-out generalisation for each mode count in `mode_counts` (each at most S - 2, the
/// modes a model of S - 1 subjects has). `faces` is the shared mesh, the true surfaces are
/// `faces` over each subject's own vertices.
///
/// # Errors
/// [`crate::ShapeError::Input`] for fewer than 4 shapes or a mode count beyond S - 2; the errors
/// of [`build`].
pub fn generalisation(shapes: &[Vec<Point3<f64>>], faces: &[[u32; 3]], parts: &[Part], options: &BuildOptions, mode_counts: &[usize]) -> Result<Vec<Generalisation>> {
    let s = shapes.len();
    if s < 4 {
        return Err(input(format!("{s} shapes; leave-one-out needs at least 4")));
    }
    if let Some(k) = mode_counts.iter().find(|&&k| k > s - 2) {
        return Err(input(format!("{k} modes: a model of {} subjects has at most {}", s - 1, s - 2)));
    }
    let opts = BuildOptions { variance_kept: 1.0, max_modes: None, ..options.clone() };
    let mut per: Vec<Vec<(f64, f64)>> = vec![Vec::with_capacity(s); mode_counts.len()];
    for i in 0..s {
        let others: Vec<Vec<Point3<f64>>> = shapes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x.clone()).collect();
        let model = build(&others, faces.to_vec(), parts.to_vec(), &opts)?.model;
        let truth = &shapes[i];
        let surface = Surface::new(truth, faces);
        for (c, &k) in mode_counts.iter().enumerate() {
            let k = k.min(model.n_modes());
            let fit = model.fit(truth, &FitOptions { n_modes: Some(k), noise_sd_mm: 0.0, ..FitOptions::default() })?;
            let n = truth.len() as f64;
            let p2p = fit.shape.iter().zip(truth).map(|(a, b)| (a - b).norm()).sum::<f64>() / n;
            let p2s = fit.shape.iter().map(|p| surface.distance(p)).sum::<f64>() / n;
            per[c].push((p2p, p2s));
        }
    }
    Ok(mode_counts
        .iter()
        .zip(per)
        .map(|(&k, v)| {
            let (m1, s1) = mean_sd(v.iter().map(|x| x.0));
            let (m2, s2) = mean_sd(v.iter().map(|x| x.1));
            Generalisation { n_modes: k, point_to_point_mm: m1, point_to_point_sd_mm: s1, point_to_surface_mm: m2, point_to_surface_sd_mm: s2, per_subject_mm: v }
        })
        .collect())
}

/// Specificity with `n_modes` modes.
#[derive(Debug, Clone, PartialEq)]
pub struct Specificity {
    /// Modes used.
    pub n_modes: usize,
    /// Mean over samples of the distance to the nearest training shape, mm.
    pub mean_mm: f64,
    /// SD over samples, mm.
    pub sd_mm: f64,
}

/// Specificity of a built model for each mode count, from `n_samples` random shapes (seeded).
///
/// # Errors
/// [`crate::ShapeError::Input`] for a mode count beyond the model's.
pub fn specificity(built: &Built, mode_counts: &[usize], n_samples: usize, seed: u64) -> Result<Vec<Specificity>> {
    mode_counts
        .iter()
        .map(|&k| {
            let samples = built.model.sample(n_samples, Some(k), seed)?;
            let d: Vec<f64> = samples.iter().map(|(_, x)| built.aligned.iter().map(|t| mean_vertex_distance(x, t)).fold(f64::INFINITY, f64::min)).collect();
            let (mean_mm, sd_mm) = mean_sd(d.into_iter());
            Ok(Specificity { n_modes: k, mean_mm, sd_mm })
        })
        .collect()
}

/// The mean distance between corresponding vertices of two 3N-value shapes, mm.
pub fn mean_vertex_distance(a: &[f64], b: &[f64]) -> f64 {
    let n = (a.len() / 3) as f64;
    a.chunks_exact(3).zip(b.chunks_exact(3)).map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()).sum::<f64>() / n
}

/// The mean distance between corresponding points, mm.
pub fn mean_point_distance(a: &[Point3<f64>], b: &[Point3<f64>]) -> f64 {
    mean_vertex_distance(&to_flat(a), &to_flat(b))
}

fn mean_sd(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = v.collect();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var.sqrt())
}

//! The whole bone predicted from a partial surface (e.g. a femur whose condyles the CT did not
//! image), with the posterior SD of every vertex and of a derived angle.
//!
//! The caller measures: `measure` turns a whole predicted bone into the angle wanted (coxa-shape
//! does not depend on coxa-anatomy, where femoral anteversion is measured). Steps:
//! 1. rigid starts: the model mean with its landmark `head_model` on the target's `head_target`,
//!    and (needing no landmark of the partial surface, which a short stub may get wrong) the
//!    centroid of the mean's top over the partial surface's height on the partial surface's
//!    centroid; each in the target's axes and turned ±15° about each axis (14 starts; CT frames
//!    share the LPS axes, but a patient's femur is rotated); the robust rigid fit with the lowest
//!    RMS plus a penalty for unmatched points wins;
//! 2. the shape fit ([`ShapeModel::fit_surface`]) from that pose;
//! 3. the angle on the predicted bone, and on `n_samples` bones drawn from the posterior (their
//!    SD is the angle's SD).

use coxa_core::Mesh;
use nalgebra::{Point3, Rotation3, Vector3};

use crate::error::{Result, ShapeError, input};
use crate::fit::Pose;
use crate::fit_surface::{SurfaceFit, SurfaceFitOptions};
use crate::model::ShapeModel;

/// One quantity measured on the predicted bone and on the posterior samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// On the predicted bone (`None` when the measure failed on it).
    pub value: Option<f64>,
    /// On each posterior sample where it was measured.
    pub samples: Vec<f64>,
}

impl Measured {
    /// The SD over the posterior samples (`None` with fewer than 2): the mode weights'
    /// uncertainty alone (see [`Self::sd_with`]).
    pub fn sd(&self) -> Option<f64> {
        let n = self.samples.len();
        (n >= 2).then(|| {
            let m = self.samples.iter().sum::<f64>() / n as f64;
            (self.samples.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        })
    }

    /// The predictive SD: [`Self::sd`] and the model's own error `model_error_sd` (calibrated on
    /// held-out subjects with [`model_error_sd`]) in quadrature. `None` as [`Self::sd`].
    pub fn sd_with(&self, model_error_sd: f64) -> Option<f64> {
        self.sd().map(|s| s.hypot(model_error_sd))
    }
}

/// A prediction of the whole bone.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The fit (weights, posterior, pose, per-vertex SD).
    pub fit: SurfaceFit,
    /// The predicted whole bone in the target frame (the model's faces).
    pub mesh: Mesh,
    /// The angle measured on the predicted bone (`None` when `measure` failed on it): the value
    /// of the first of [`Self::measures`].
    pub angle: Option<f64>,
    /// Every quantity the caller measures ([`predict_from_partial_measures`]), in its order, on
    /// the predicted bone and on the posterior samples (the angle's: the first).
    pub measures: Vec<Measured>,
}

impl Prediction {
    /// The SD of the angle over the posterior samples (`None` with fewer than 2): the
    /// uncertainty of the mode weights alone, which leaves out the model's own error (see
    /// [`Self::angle_sd_with`]).
    pub fn angle_sd(&self) -> Option<f64> {
        self.measures.first().and_then(Measured::sd)
    }

    /// The predictive SD of the angle: the posterior SD of [`Self::angle_sd`] and the model's own
    /// error `model_error_sd` (independent, so their variances add), the latter calibrated on
    /// held-out subjects with [`model_error_sd`]. `None` as [`Self::angle_sd`].
    pub fn angle_sd_with(&self, model_error_sd: f64) -> Option<f64> {
        self.measures.first().and_then(|m| m.sd_with(model_error_sd))
    }

    /// The predictive SD of every vertex, mm: the posterior SD ([`SurfaceFit::sd_mm`]) and the
    /// model's own error at that vertex, `model_error_sd_mm(predicted position)` (e.g. by distance
    /// below the imaged part, [`crate::gias::llp26_femur_vertex_model_sd_mm`]), in quadrature. The
    /// posterior alone leaves out the model's error and covered a fraction of the held-out errors.
    pub fn vertex_sd_with(&self, model_error_sd_mm: impl Fn(&Point3<f64>) -> f64) -> Vec<f64> {
        self.fit.sd_mm.iter().zip(&self.fit.shape).map(|(s, p)| s.hypot(model_error_sd_mm(p))).collect()
    }
}

/// A second anchor that needs no landmark of the partial surface (on a short stub the head may be
/// found on the wrong surface): the centroid of the partial surface's vertices, and the centroid of
/// the model mean's vertices over the same height at its top (the +z axis is superior in both,
/// as in the LPS frame of CTs and of coxa's models).
fn top_anchors(mean: &[Point3<f64>], partial: &[Point3<f64>]) -> (Point3<f64>, Point3<f64>) {
    let (lo, hi) = partial.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.z), b.max(p.z)));
    let top = mean.iter().map(|p| p.z).fold(f64::NEG_INFINITY, f64::max);
    let centroid = |v: &mut dyn Iterator<Item = &Point3<f64>>| {
        let (sum, n) = v.fold((Vector3::zeros(), 0.0), |(s, n), p| (s + p.coords, n + 1.0));
        Point3::from(sum / f64::max(n, 1.0))
    };
    let model_part = centroid(&mut mean.iter().filter(|p| p.z >= top - (hi - lo)));
    (model_part, centroid(&mut partial.iter()))
}

/// The model error SD σ_m that makes held-out prediction errors `errors` (predicted minus true)
/// with posterior SDs `posterior_sd` standard normal on average: the root of
/// `Σ e_i² / (s_i² + σ_m²) = n` (σ_m = 0 when the posterior SDs already cover the errors). The
/// errors' spread about zero is what counts, so a bias raises σ_m too. Non-finite pairs are
/// skipped; `None` without any finite pair.
pub fn model_error_sd(errors: &[f64], posterior_sd: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = errors.iter().zip(posterior_sd).filter(|(e, s)| e.is_finite() && s.is_finite()).map(|(e, s)| (e * e, s * s)).collect();
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let z2 = |m2: f64| pairs.iter().map(|(e2, s2)| e2 / (s2 + m2).max(1e-300)).sum::<f64>();
    if z2(0.0) <= n {
        return Some(0.0);
    }
    // z2 falls with m2; the largest error squared is an upper bound for the root.
    let (mut lo, mut hi) = (0.0, pairs.iter().map(|p| p.0).fold(0.0, f64::max) * n);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if z2(mid) > n { lo = mid } else { hi = mid }
    }
    Some((0.5 * (lo + hi)).sqrt())
}

/// Predicts the whole bone of `model` (one part, all faces) from the `partial` surface; see the
/// module docs.
///
/// # Errors
/// [`crate::ShapeError::Input`] for an empty partial surface or when no rigid start fits; the
/// errors of [`ShapeModel::fit_surface`].
pub fn predict_from_partial(
    model: &ShapeModel,
    partial: &Mesh,
    head_model: &Point3<f64>,
    head_target: &Point3<f64>,
    measure: &dyn Fn(&Mesh) -> Option<f64>,
    n_samples: usize,
    seed: u64,
) -> Result<Prediction> {
    predict_from_partial_with(model, partial, head_model, head_target, measure, n_samples, seed, &SurfaceFitOptions::default())
}

/// [`predict_from_partial`] with the shape fit's options `options` (step 2; the rigid starts of
/// step 1 keep theirs).
///
/// # Errors
/// As [`predict_from_partial`].
#[expect(clippy::too_many_arguments, reason = "predict_from_partial's inputs and the fit's options")]
pub fn predict_from_partial_with(
    model: &ShapeModel,
    partial: &Mesh,
    head_model: &Point3<f64>,
    head_target: &Point3<f64>,
    measure: &dyn Fn(&Mesh) -> Option<f64>,
    n_samples: usize,
    seed: u64,
    options: &SurfaceFitOptions,
) -> Result<Prediction> {
    predict_from_partial_measures(model, partial, head_model, head_target, &|m| vec![measure(m)], n_samples, seed, options)
}

/// [`predict_from_partial_with`] measuring several quantities at once: `measure` returns them
/// for one whole bone (a value or `None` each, always as many), e.g. coxa's femur landmarks'
/// anteversion, neck-shaft angle and offset from one landmark search per bone;
/// [`Prediction::measures`] holds each on the predicted bone and on the posterior samples, and
/// [`Prediction::angle`] the first.
///
/// # Errors
/// As [`predict_from_partial`].
#[expect(clippy::too_many_arguments, reason = "predict_from_partial's inputs and the fit's options")]
pub fn predict_from_partial_measures(
    model: &ShapeModel,
    partial: &Mesh,
    head_model: &Point3<f64>,
    head_target: &Point3<f64>,
    measure: &dyn Fn(&Mesh) -> Vec<Option<f64>>,
    n_samples: usize,
    seed: u64,
    options: &SurfaceFitOptions,
) -> Result<Prediction> {
    if partial.vertices().len() < 10 {
        return Err(input("the partial surface has fewer than 10 vertices"));
    }
    let area = partial.area_mm2();
    let rigid_only = SurfaceFitOptions { n_modes: Some(0), max_iterations: 60, ..SurfaceFitOptions::default() };
    let mut starts = vec![Rotation3::identity()];
    for axis in [Vector3::x_axis(), Vector3::y_axis(), Vector3::z_axis()] {
        for deg in [-15.0f64, 15.0] {
            starts.push(Rotation3::from_axis_angle(&axis, deg.to_radians()));
        }
    }
    let mean = model.instance(&[])?;
    let anchors = [(*head_model, *head_target), top_anchors(&mean, partial.vertices())];
    let mut best: Option<(f64, SurfaceFit)> = None;
    for (anchor_model, anchor_target) in anchors {
        for rotation in &starts {
            let init = Pose { rotation: *rotation, translation_mm: anchor_target.coords - rotation * anchor_model.coords, scale: 1.0 };
            let Ok(rigid) = model.fit_surface(partial.vertices(), area, &init, &rigid_only) else {
                continue;
            };
            // A start that matches few points with a small RMS is no better: the outliers count.
            let score = rigid.rms_mm + (1.0 - rigid.inlier_fraction) * rigid_only.max_distance_mm;
            if best.as_ref().is_none_or(|(b, _)| score < *b) {
                best = Some((score, rigid));
            }
        }
    }
    let best = best.map(|(_, fit)| fit);
    let rigid = best.ok_or_else(|| input("no rigid start brings the model within reach of the partial surface"))?;
    let fit = model.fit_surface(partial.vertices(), area, &rigid.pose, options)?;
    let mesh = Mesh::new(fit.shape.clone(), model.faces().to_vec()).map_err(|source| ShapeError::Mesh { what: "the predicted mesh", source })?;
    let mut measures: Vec<Measured> = measure(&mesh).into_iter().map(|value| Measured { value, samples: Vec::new() }).collect();
    for w in fit.sample_weights(n_samples, seed) {
        let x = model.instance(&w)?;
        let posed = x.iter().map(|p| fit.pose.apply(p)).collect();
        if let Ok(m) = Mesh::new(posed, model.faces().to_vec()) {
            for (k, v) in measure(&m).into_iter().enumerate() {
                if let (Some(v), Some(into)) = (v, measures.get_mut(k)) {
                    into.samples.push(v);
                }
            }
        }
    }
    let angle = measures.first().and_then(|m| m.value);
    Ok(Prediction { fit, mesh, angle, measures })
}

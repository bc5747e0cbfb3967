//! Fitting a model to a shape in correspondence, whole or partial.
//!
//! Both fits alternate two steps from the mean: the pose (rotation, translation, optionally
//! scale: the least-squares similarity of Umeyama 1991, by SVD) that maps the current model shape
//! onto the target, then the mode weights for the target mapped back into the model frame. The
//! weights are the posterior mean under the model's Gaussian prior `b_k ~ N(0, λ_k)` and
//! isotropic Gaussian noise of SD σ ([`FitOptions::noise_sd_mm`]) on each coordinate:
//! `b = (Φᵀ Φ / σ² + Λ⁻¹)⁻¹ Φᵀ (y - μ) / σ²` (Tikhonov regularisation). With all vertices known
//! Φᵀ Φ = I, so `b_k = λ_k / (λ_k + σ²) · Φ_kᵀ (y - μ)`; σ = 0 is the plain projection.
//! For a partial fit the posterior covariance `Σ = (Φ_Iᵀ Φ_I / σ² + Λ⁻¹)⁻¹` gives each predicted
//! vertex v the covariance `Φ_v Σ Φ_vᵀ + σ² I` (3 x 3: the weights' uncertainty plus the residual
//! the noise term stands for, as in probabilistic PCA); [`PartialFit::sd_mm`] is the square root of
//! its trace (the RMS of the 3D position error the model expects, mm). Pose uncertainty is not in
//! it, and with many known vertices it underestimates the real error, which is dominated by
//! correlated model mismatch (measured on the atlas pelvises: see the README).
//!
//! The known points of a partial fit may be vertices ([`ShapeModel::fit_partial`]), named model
//! landmarks ([`ShapeModel::fit_landmarks`]: a vertex or a point inside a triangle) or any fixed
//! linear combinations of vertices ([`ShapeModel::fit_points`]: e.g. a socket centre inside the
//! bone as an affine combination of four vertices); Φ_I is then the modes at those combinations.

use nalgebra::{DMatrix, DVector, Matrix3, Point3, Rotation3, Vector3};

use crate::error::{Result, input};
use crate::model::{ShapeModel, dot, to_flat, to_points};

/// A similarity transform `p -> scale · R p + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// The rotation.
    pub rotation: Rotation3<f64>,
    /// The translation, mm.
    pub translation_mm: Vector3<f64>,
    /// The scale (1 for a rigid pose).
    pub scale: f64,
}

impl Pose {
    /// The identity.
    pub fn identity() -> Self {
        Self { rotation: Rotation3::identity(), translation_mm: Vector3::zeros(), scale: 1.0 }
    }
    /// Applies the pose to a point.
    pub fn apply(&self, p: &Point3<f64>) -> Point3<f64> {
        Point3::from(self.rotation * p.coords * self.scale + self.translation_mm)
    }
    /// The least-squares pose mapping the points `from` onto their counterparts `to` (rigid, or
    /// with scale when `scale`; Umeyama 1991). Extra points of the longer slice are ignored.
    pub fn between(from: &[Point3<f64>], to: &[Point3<f64>], scale: bool) -> Self {
        let n = from.len().min(to.len());
        align(&to_flat(&from[..n]), &to_flat(&to[..n]), scale)
    }
    /// The inverse pose.
    pub fn inverse(&self) -> Self {
        let r = self.rotation.inverse();
        Self { rotation: r, translation_mm: -(r * self.translation_mm) / self.scale, scale: 1.0 / self.scale }
    }
    /// Applies the pose to 3N values.
    pub(crate) fn apply_flat(&self, x: &[f64]) -> Vec<f64> {
        let m = self.rotation.matrix() * self.scale;
        let t = self.translation_mm;
        x.chunks_exact(3)
            .flat_map(|p| {
                let q = m * Vector3::new(p[0], p[1], p[2]) + t;
                [q.x, q.y, q.z]
            })
            .collect()
    }
}

/// The least-squares pose mapping `from` onto `to` (3N values each, same N), optionally with scale
/// (Umeyama 1991).
pub(crate) fn align(from: &[f64], to: &[f64], scale: bool) -> Pose {
    let (mut cf, mut ct, mut n) = (Vector3::zeros(), Vector3::zeros(), 0.0);
    for (a, b) in from.chunks_exact(3).zip(to.chunks_exact(3)) {
        cf += Vector3::new(a[0], a[1], a[2]);
        ct += Vector3::new(b[0], b[1], b[2]);
        n += 1.0;
    }
    if n == 0.0 {
        return Pose::identity();
    }
    cf /= n;
    ct /= n;
    let mut h = Matrix3::zeros();
    let mut var_from = 0.0;
    for (a, b) in from.chunks_exact(3).zip(to.chunks_exact(3)) {
        let p = Vector3::new(a[0], a[1], a[2]) - cf;
        let q = Vector3::new(b[0], b[1], b[2]) - ct;
        h += q * p.transpose();
        var_from += p.norm_squared();
    }
    let svd = h.svd(true, true);
    let (Some(u), Some(v_t)) = (svd.u, svd.v_t) else { return Pose::identity() };
    let d = if (u * v_t).determinant() < 0.0 { -1.0 } else { 1.0 };
    let s_fix = Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, d));
    let r = u * s_fix * v_t;
    let rotation = Rotation3::from_matrix_unchecked(r);
    let scale = if scale && var_from > 0.0 { (svd.singular_values[0] + svd.singular_values[1] + d * svd.singular_values[2]) / var_from } else { 1.0 };
    Pose { rotation, translation_mm: ct - rotation * cf * scale, scale }
}

/// How to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Use the first this many modes (default: all).
    pub n_modes: Option<usize>,
    /// The SD of the target's noise per coordinate, mm: the weight of the prior (default 1 mm;
    /// 0 for a whole-shape fit is the plain projection; a partial fit needs it positive).
    pub noise_sd_mm: f64,
    /// Fit a scale too (default `false`: rigid).
    pub scale: bool,
    /// Pose/weight rounds at most (default 50; stops when the weights change by < 1e-6 SD).
    pub max_iterations: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { n_modes: None, noise_sd_mm: 1.0, scale: false, max_iterations: 50 }
    }
}

/// A whole-shape fit.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The mode weights, mm.
    pub weights: Vec<f64>,
    /// The pose mapping the model frame onto the target's.
    pub pose: Pose,
    /// The fitted shape, in the target's frame.
    pub shape: Vec<Point3<f64>>,
    /// RMS distance between fitted and target vertices, mm.
    pub rms_mm: f64,
    /// Rounds used.
    pub iterations: usize,
}

/// A partial fit: the whole shape predicted from some of its vertices.
#[derive(Debug, Clone)]
pub struct PartialFit {
    /// The posterior mean weights, mm.
    pub weights: Vec<f64>,
    /// The pose mapping the model frame onto the target's.
    pub pose: Pose,
    /// The predicted whole shape, in the target's frame (all N vertices).
    pub shape: Vec<Point3<f64>>,
    /// Per vertex, the predicted SD of its position (root of the trace of its 3x3 covariance,
    /// weights' posterior plus residual), mm.
    pub sd_mm: Vec<f64>,
    /// RMS distance between fitted and given vertices, mm.
    pub rms_known_mm: f64,
    /// Rounds used.
    pub iterations: usize,
}

impl ShapeModel {
    fn modes_for(&self, options: &FitOptions) -> Result<usize> {
        let k = options.n_modes.unwrap_or(self.n_modes());
        if k > self.n_modes() {
            return Err(input(format!("{k} modes asked of a model with {}", self.n_modes())));
        }
        if !(options.noise_sd_mm.is_finite() && options.noise_sd_mm >= 0.0) {
            return Err(input(format!("noise_sd_mm {} is not a non-negative number", options.noise_sd_mm)));
        }
        Ok(k)
    }

    /// Fits the model to a whole shape in correspondence (N points, any pose).
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] for a wrong point count, non-finite points or bad options.
    pub fn fit(&self, target: &[Point3<f64>], options: &FitOptions) -> Result<Fit> {
        let k = self.modes_for(options)?;
        if target.len() != self.n_vertices() {
            return Err(input(format!("{} target points for a model of {} vertices", target.len(), self.n_vertices())));
        }
        if target.iter().any(|p| !p.iter().all(|c| c.is_finite())) {
            return Err(input("a target point is not finite"));
        }
        let y = to_flat(target);
        let s2 = options.noise_sd_mm * options.noise_sd_mm;
        let mut b = vec![0.0; k];
        let mut x = self.mean().to_vec();
        let mut iterations = 0;
        for it in 0..options.max_iterations.max(1) {
            iterations = it + 1;
            let pose = align(&x, &y, options.scale);
            let y_model = pose.inverse().apply_flat(&y);
            let r: Vec<f64> = y_model.iter().zip(self.mean()).map(|(a, m)| a - m).collect();
            let new: Vec<f64> = (0..k).map(|j| self.variances()[j] / (self.variances()[j] + s2) * dot(self.mode(j), &r)).collect();
            let change = new.iter().zip(&b).zip(self.variances()).map(|((a, c), v)| (a - c).abs() / v.sqrt()).fold(0.0, f64::max);
            b = new;
            x = self.instance_flat(&b)?;
            if change < 1e-6 {
                break;
            }
        }
        let pose = align(&x, &y, options.scale);
        let fitted = pose.apply_flat(&x);
        let rms_mm = (fitted.iter().zip(&y).map(|(a, c)| (a - c) * (a - c)).sum::<f64>() / self.n_vertices() as f64).sqrt();
        Ok(Fit { weights: b, pose, shape: to_points(&fitted), rms_mm, iterations })
    }

    /// Fits the model to the vertices `known` (indices into the model) at `target` (same length,
    /// any pose), predicting all vertices with their posterior SD.
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] for fewer than 3 known vertices, an index out of range or
    /// repeated, lengths that differ, non-finite points, `noise_sd_mm` not positive, bad options.
    pub fn fit_partial(&self, known: &[usize], target: &[Point3<f64>], options: &FitOptions) -> Result<PartialFit> {
        let mut seen = vec![false; self.n_vertices()];
        for &i in known {
            if i >= seen.len() || seen[i] {
                return Err(input(format!("known vertex {i} is beyond the {} vertices or repeated", seen.len())));
            }
            seen[i] = true;
        }
        let points: Vec<Vec<(usize, f64)>> = known.iter().map(|&i| vec![(i, 1.0)]).collect();
        self.fit_points(&points, target, options)
    }

    /// Fits the model to landmarks: each `(name, position)` names one of the model's
    /// [`crate::Landmark`]s (a vertex or a point inside a triangle) and gives where it is on the
    /// target (any pose, at least 3 landmarks). The weights are the posterior mean under the mode
    /// prior, as in [`Self::fit_partial`], and the whole shape is predicted with every vertex's SD.
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] for a name the model does not have, fewer than 3 landmarks,
    /// and as [`Self::fit_points`].
    pub fn fit_landmarks(&self, targets: &[(&str, Point3<f64>)], options: &FitOptions) -> Result<PartialFit> {
        let points = targets
            .iter()
            .map(|(name, _)| {
                let l = self.landmarks().iter().find(|l| l.name() == *name).ok_or_else(|| input(format!("the model has no landmark {name:?}")))?;
                Ok(match l {
                    crate::model::Landmark::Vertex { vertex, .. } => vec![(*vertex, 1.0)],
                    crate::model::Landmark::Barycentric { face, weights, .. } => self.faces()[*face].iter().zip(weights).map(|(&v, &w)| (v as usize, w)).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let target: Vec<Point3<f64>> = targets.iter().map(|(_, p)| *p).collect();
        self.fit_points(&points, &target, options)
    }

    /// Fits the model to points of it that are fixed linear combinations of its vertices
    /// (`points[i]`: (vertex, weight) pairs, e.g. one vertex with weight 1, or a triangle's
    /// barycentric weights) seen at `target` (same length, any pose): the general form of
    /// [`Self::fit_partial`] and [`Self::fit_landmarks`]. See the module docs for the posterior.
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] for fewer than 3 points, a vertex out of range, an empty
    /// combination, lengths that differ, non-finite values, `noise_sd_mm` not positive, bad
    /// options.
    pub fn fit_points(&self, points: &[Vec<(usize, f64)>], target: &[Point3<f64>], options: &FitOptions) -> Result<PartialFit> {
        let k = self.modes_for(options)?;
        let n = self.n_vertices();
        let m = points.len();
        if m != target.len() || m < 3 {
            return Err(input(format!("{m} model points with {} target points; give at least 3, one target per point", target.len())));
        }
        if options.noise_sd_mm <= 0.0 {
            return Err(input("a partial fit needs noise_sd_mm > 0 (the prior's weight against the known points)"));
        }
        if points.iter().any(|c| c.is_empty() || c.iter().any(|&(v, w)| v >= n || !w.is_finite())) {
            return Err(input(format!("a model point is empty, names a vertex beyond the {n} vertices, or has a non-finite weight")));
        }
        if target.iter().any(|p| !p.iter().all(|c| c.is_finite())) {
            return Err(input("a target point is not finite"));
        }
        let combine = |x: &[f64]| -> Vec<f64> {
            points
                .iter()
                .flat_map(|c| {
                    let mut p = [0.0; 3];
                    for &(v, w) in c {
                        (0..3).for_each(|d| p[d] += w * x[3 * v + d]);
                    }
                    p
                })
                .collect()
        };
        // The mean and the modes at the points: μ_I (3M) and Φ_I (3M x K).
        let mu = combine(self.mean());
        let phi: Vec<Vec<f64>> = (0..k).map(|j| combine(self.mode(j))).collect();
        let y = to_flat(target);
        let s2 = options.noise_sd_mm * options.noise_sd_mm;
        // Φ_Iᵀ Φ_I / σ² + Λ⁻¹, and its inverse: the posterior covariance.
        let mut a = DMatrix::<f64>::zeros(k, k);
        for p in 0..k {
            for q in 0..=p {
                let v = dot(&phi[p], &phi[q]) / s2;
                a[(p, q)] = v;
                a[(q, p)] = v;
            }
            a[(p, p)] += 1.0 / self.variances()[p];
        }
        let chol = a.clone().cholesky().ok_or_else(|| input("the posterior precision is not positive definite"))?;
        let cov = chol.inverse();
        let at_points = |b: &[f64]| -> Vec<f64> {
            let mut x = mu.clone();
            for (f, w) in phi.iter().zip(b) {
                x.iter_mut().zip(f).for_each(|(xi, fi)| *xi += w * fi);
            }
            x
        };
        let mut b = vec![0.0; k];
        let mut x = mu.clone();
        let mut iterations = 0;
        for it in 0..options.max_iterations.max(1) {
            iterations = it + 1;
            let pose = align(&x, &y, options.scale);
            let y_model = pose.inverse().apply_flat(&y);
            let r: Vec<f64> = y_model.iter().zip(&mu).map(|(a, c)| a - c).collect();
            let rhs = DVector::from_iterator(k, phi.iter().map(|f| dot(f, &r) / s2));
            let new = &cov * rhs;
            let change = (0..k).map(|j| (new[j] - b[j]).abs() / self.variances()[j].sqrt()).fold(0.0, f64::max);
            b = new.iter().copied().collect();
            x = at_points(&b);
            if change < 1e-6 {
                break;
            }
        }
        let pose = align(&x, &y, options.scale);
        let fitted_points = pose.apply_flat(&x);
        let rms_known_mm = (fitted_points.iter().zip(&y).map(|(a, c)| (a - c) * (a - c)).sum::<f64>() / m as f64).sqrt();
        let fitted = pose.apply_flat(&self.instance_flat(&b)?);
        // Per-vertex SD: sqrt(Σ_c φ_vcᵀ Σ φ_vc), with Σ = L Lᵀ from the covariance's Cholesky.
        let l = cov.cholesky().ok_or_else(|| input("the posterior covariance is not positive definite"))?.l();
        let mut sd2 = vec![0.0; n];
        let mut phi_v = vec![0.0; k];
        for (row, acc) in (0..3 * n).map(|r| (r, r / 3)) {
            for (p, f) in phi_v.iter_mut().enumerate() {
                *f = self.mode(p)[row];
            }
            // ||Lᵀ φ||²
            for c in 0..k {
                let mut s = 0.0;
                for r in c..k {
                    s += l[(r, c)] * phi_v[r];
                }
                sd2[acc] += s * s;
            }
        }
        let scale2 = pose.scale;
        // Plus the residual the noise term stands for (3 σ², one per coordinate): the model's
        // mismatch applies to the unseen vertices as much as to the known ones.
        let sd_mm = sd2.into_iter().map(|v| (v + 3.0 * s2).sqrt() * scale2).collect();
        Ok(PartialFit { weights: b, pose, shape: to_points(&fitted), sd_mm, rms_known_mm, iterations })
    }
}

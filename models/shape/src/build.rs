//! Building a model: generalised Procrustes analysis, then PCA.
//!
//! **Procrustes.** Every shape is centred, then rotated (and, with
//! [`BuildOptions::procrustes_scale`], scaled) onto the current mean, the mean is recomputed, and
//! this repeats until the mean moves less than 1e-9 mm RMS (at most 100 rounds). The first
//! reference is training shape 0, and each new mean is rotated back onto the previous one, so the
//! model keeps shape 0's axes (LPS for CT-derived shapes). coxa's models use **rigid** alignment
//! (rotation + translation, no scale) by default: size is what an implant must fit, so it stays in
//! the model (it usually is the first mode) and fitted or sampled shapes come out in real mm.
//!
//! **PCA.** With D the 3N x S matrix of aligned, mean-centred shapes, the modes are the
//! eigenvectors of the covariance `D Dᵀ / (S - 1)`. With 3N (thousands) much larger than S (tens)
//! they come from the S x S Gram matrix instead (the "snapshot" method): the SVD of
//! `G = Dᵀ D / (S - 1)` gives `G v = λ v`, and `u = D v / sqrt(λ (S - 1))` is the unit mode with
//! the same variance λ. Modes are kept, largest first, until their cumulative variance reaches
//! [`BuildOptions::variance_kept`] of the total (or [`BuildOptions::max_modes`]); modes with
//! variance below 1e-12 of the largest are never kept (there are at most S - 1 real ones).

use nalgebra::{DMatrix, Point3};

use crate::error::{Result, input};
use crate::fit::{Pose, align};
use crate::model::{ModelInfo, Part, Provenance, ShapeModel, dot, to_flat};

/// How to build a model.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOptions {
    /// Remove scale in Procrustes (default `false`: rigid, size stays in the model).
    pub procrustes_scale: bool,
    /// Keep modes up to this fraction of the total variance (default 1.0: all real modes).
    pub variance_kept: f64,
    /// Keep at most this many modes (default: no limit).
    pub max_modes: Option<usize>,
    /// Frame description stored in the model.
    pub frame: String,
    /// Provenance stored in the model (`n_subjects` is filled in).
    pub provenance: Provenance,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { procrustes_scale: false, variance_kept: 1.0, max_modes: None, frame: "axes of training shape 0, origin at the mean's centroid".into(), provenance: Provenance::default() }
    }
}

/// A built model with what the metrics need from its training.
#[derive(Debug, Clone)]
pub struct Built {
    /// The model.
    pub model: ShapeModel,
    /// Each training shape after Procrustes (3N values, in the model frame).
    pub aligned: Vec<Vec<f64>>,
    /// Each training shape's pose: model frame -> its own frame.
    pub poses: Vec<Pose>,
    /// The variance of every principal component, kept or not, decreasing (mm²).
    pub all_variances_mm2: Vec<f64>,
}

/// Builds a model from `shapes` (each N points in correspondence, at least 3 shapes) with the
/// mesh `faces` and `parts` shared by all.
///
/// # Errors
/// [`crate::ShapeError::Input`] for fewer than 3 shapes, shapes of different sizes, non-finite
/// points, bad options; [`crate::ShapeError::InvalidModel`] if the result is inconsistent
/// (faces or parts out of range).
pub fn build(shapes: &[Vec<Point3<f64>>], faces: Vec<[u32; 3]>, parts: Vec<Part>, options: &BuildOptions) -> Result<Built> {
    let s = shapes.len();
    if s < 3 {
        return Err(input(format!("{s} training shapes; a shape model needs at least 3")));
    }
    let n = shapes[0].len();
    if n < 3 {
        return Err(input(format!("training shape 0 has {n} points; at least 3 are needed")));
    }
    if let Some(i) = shapes.iter().position(|x| x.len() != n) {
        return Err(input(format!("training shape {i} has {} points, shape 0 has {n}; the shapes must be in correspondence", shapes[i].len())));
    }
    if let Some(i) = shapes.iter().position(|x| x.iter().any(|p| !p.iter().all(|c| c.is_finite()))) {
        return Err(input(format!("training shape {i} has a non-finite point")));
    }
    if !(options.variance_kept > 0.0 && options.variance_kept <= 1.0) {
        return Err(input(format!("variance_kept {} is not in (0, 1]", options.variance_kept)));
    }
    let raw: Vec<Vec<f64>> = shapes.iter().map(|x| to_flat(x)).collect();
    let (mean, aligned, poses) = procrustes(&raw, options.procrustes_scale);
    let d = 3 * n;
    // Centred data, shape after shape.
    let centred: Vec<Vec<f64>> = aligned.iter().map(|x| x.iter().zip(&mean).map(|(a, m)| a - m).collect()).collect();
    let mut gram = DMatrix::<f64>::zeros(s, s);
    for i in 0..s {
        for j in 0..=i {
            let g = dot(&centred[i], &centred[j]) / (s - 1) as f64;
            gram[(i, j)] = g;
            gram[(j, i)] = g;
        }
    }
    let svd = gram.svd(true, false);
    let u = svd.u.ok_or_else(|| input("the SVD of the Gram matrix failed"))?;
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| svd.singular_values[b].total_cmp(&svd.singular_values[a]));
    let lambda: Vec<f64> = order.iter().map(|&k| svd.singular_values[k]).collect();
    let floor = lambda[0] * 1e-12;
    let real: Vec<f64> = lambda.iter().copied().filter(|&l| l > floor).collect();
    let total: f64 = real.iter().sum();
    let mut kept = 0;
    let mut cum = 0.0;
    while kept < real.len() && options.max_modes.is_none_or(|m| kept < m) && (kept == 0 || cum < options.variance_kept * total * (1.0 - 1e-12)) {
        cum += real[kept];
        kept += 1;
    }
    let mut modes = vec![0.0; kept * d];
    for (k, &col) in order.iter().take(kept).enumerate() {
        let m = &mut modes[k * d..(k + 1) * d];
        for (i, c) in centred.iter().enumerate() {
            let w = u[(i, col)];
            for (mj, cj) in m.iter_mut().zip(c) {
                *mj += w * cj;
            }
        }
        let norm = dot(m, m).sqrt();
        m.iter_mut().for_each(|v| *v /= norm);
    }
    // Re-orthonormalise (Gram-Schmidt) against round-off: SVD vectors of a nearly singular Gram
    // matrix lose orthogonality after multiplying by D.
    for k in 0..kept {
        for j in 0..k {
            let (a, b) = modes.split_at_mut(k * d);
            let pj = &a[j * d..(j + 1) * d];
            let mk = &mut b[..d];
            let c = dot(pj, mk);
            mk.iter_mut().zip(pj).for_each(|(x, y)| *x -= c * y);
        }
        let mk = &mut modes[k * d..(k + 1) * d];
        let norm = dot(mk, mk).sqrt();
        mk.iter_mut().for_each(|v| *v /= norm);
    }
    let info = ModelInfo {
        units: "mm".into(),
        frame: options.frame.clone(),
        procrustes_scale: options.procrustes_scale,
        total_variance_mm2: total,
        provenance: Provenance { n_subjects: s, ..options.provenance.clone() },
    };
    let model = ShapeModel::new(mean, modes, real[..kept].to_vec(), faces, parts, Vec::new(), info)?;
    Ok(Built { model, aligned, poses, all_variances_mm2: real })
}

/// Generalised Procrustes analysis: the mean, each shape aligned to it, and each shape's pose
/// (model frame -> its own frame).
fn procrustes(raw: &[Vec<f64>], scale: bool) -> (Vec<f64>, Vec<Vec<f64>>, Vec<Pose>) {
    let centre = |x: &[f64]| -> Vec<f64> {
        let n = (x.len() / 3) as f64;
        let mut c = [0.0; 3];
        x.chunks_exact(3).for_each(|p| (0..3).for_each(|a| c[a] += p[a] / n));
        x.chunks_exact(3).flat_map(|p| [p[0] - c[0], p[1] - c[1], p[2] - c[2]]).collect()
    };
    let mut mean = centre(&raw[0]);
    let size0 = dot(&mean, &mean).sqrt();
    for _ in 0..100 {
        let aligned: Vec<Vec<f64>> = raw.iter().map(|x| align(x, &mean, scale).apply_flat(x)).collect();
        let mut new = vec![0.0; mean.len()];
        for a in &aligned {
            new.iter_mut().zip(a).for_each(|(m, v)| *m += v / raw.len() as f64);
        }
        let mut new = centre(&new);
        // Keep the frame (and, with scale, the size) of the previous mean.
        let back = align(&new, &mean, false);
        new = back.apply_flat(&new);
        if scale {
            let f = size0 / dot(&new, &new).sqrt();
            new.iter_mut().for_each(|v| *v *= f);
        }
        let change = (new.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / (new.len() / 3) as f64).sqrt();
        mean = new;
        if change < 1e-9 {
            break;
        }
    }
    let aligned = raw.iter().map(|x| align(x, &mean, scale).apply_flat(x)).collect();
    let poses = raw.iter().map(|x| align(&mean, x, scale)).collect();
    (mean, aligned, poses)
}

impl ShapeModel {
    /// The weights of the shape `x` (3N values in the model frame): `Φᵀ (x − μ)`, the modes being
    /// orthonormal (the least-squares weights without a prior or a pose).
    pub fn project(&self, x: &[f64]) -> Vec<f64> {
        let r: Vec<f64> = x.iter().zip(self.mean()).map(|(a, m)| a - m).collect();
        (0..self.n_modes()).map(|k| dot(self.mode(k), &r)).collect()
    }

    /// The model of the subjects whose weights in this model are `subjects` (at least 3 vectors of
    /// at most K weights; e.g. all training subjects but one, for leave-one-out): mean `μ + Φ b̄`,
    /// modes `Φ v` and variances `λ` from the eigen-decomposition of the subjects' weight covariance
    /// `Σ (b − b̄)(b − b̄)ᵀ / (S − 1)`, modes below 1e-12 of the largest dropped. The subjects keep
    /// this model's frame (no new Procrustes: right for a rigidly aligned model, whose training
    /// shapes are already aligned); faces, parts and info are kept, `n_subjects` set to S.
    ///
    /// # Errors
    /// [`crate::ShapeError::Input`] for fewer than 3 subjects, more weights than modes or a
    /// non-finite weight.
    pub fn from_subject_weights(&self, subjects: &[Vec<f64>]) -> Result<ShapeModel> {
        let s = subjects.len();
        let k = self.n_modes();
        if s < 3 {
            return Err(input(format!("{s} subjects; a shape model needs at least 3")));
        }
        if subjects.iter().any(|b| b.len() > k || b.iter().any(|w| !w.is_finite())) {
            return Err(input(format!("a subject has more than the model's {k} weights, or a non-finite one")));
        }
        let b = DMatrix::from_fn(k, s, |j, i| subjects[i].get(j).copied().unwrap_or(0.0));
        let mean_b: Vec<f64> = (0..k).map(|j| b.row(j).sum() / s as f64).collect();
        let centred = DMatrix::from_fn(k, s, |j, i| b[(j, i)] - mean_b[j]);
        let cov = &centred * centred.transpose() / (s - 1) as f64;
        let eig = nalgebra::SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&x, &y| eig.eigenvalues[y].total_cmp(&eig.eigenvalues[x]));
        let top = order.first().map_or(0.0, |&i| eig.eigenvalues[i]);
        let keep: Vec<usize> = order.into_iter().filter(|&c| eig.eigenvalues[c] > 1e-12 * top && top > 0.0).collect();
        let d = self.mean().len();
        let mean = self.instance_flat(&mean_b)?;
        let mut modes = vec![0.0; keep.len() * d];
        for (m, &c) in modes.chunks_exact_mut(d).zip(&keep) {
            for j in 0..k {
                let w = eig.eigenvectors[(j, c)];
                m.iter_mut().zip(self.mode(j)).for_each(|(x, y)| *x += w * y);
            }
        }
        let variances = keep.iter().map(|&c| eig.eigenvalues[c]).collect::<Vec<_>>();
        let mut info = self.info().clone();
        info.provenance.n_subjects = s;
        info.total_variance_mm2 = variances.iter().sum();
        ShapeModel::new(mean, modes, variances, self.faces().to_vec(), self.parts().to_vec(), self.landmarks().to_vec(), info)
    }
}

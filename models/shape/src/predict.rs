//! The whole bone predicted from a partial surface (e.g. a femur whose condyles the CT did not
//! image), with the posterior SD of every vertex and of a derived angle.
//!
//! The caller measures: `measure` turns a whole predicted bone into the angle wanted (coxa-shape
//! does not depend on coxa-anatomy, where femoral anteversion is measured). Steps:
//! 1. rigid starts: the model mean with its landmark `head_model` on the target's `head_target`,
//!    in the target's axes and turned ±15° about each axis (7 starts; CT frames share the LPS
//!    axes, but a patient's femur is rotated); the robust rigid fit with the lowest RMS wins;
//! 2. the shape fit ([`ShapeModel::fit_surface`]) from that pose;
//! 3. the angle on the predicted bone, and on `n_samples` bones drawn from the posterior (their
//!    SD is the angle's SD).

use coxa_core::Mesh;
use nalgebra::{Point3, Rotation3, Vector3};

use crate::error::{Result, ShapeError, input};
use crate::fit::Pose;
use crate::fit_surface::{SurfaceFit, SurfaceFitOptions};
use crate::model::ShapeModel;

/// A prediction of the whole bone.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The fit (weights, posterior, pose, per-vertex SD).
    pub fit: SurfaceFit,
    /// The predicted whole bone in the target frame (the model's faces).
    pub mesh: Mesh,
    /// The angle measured on the predicted bone (`None` when `measure` failed on it).
    pub angle: Option<f64>,
    /// The angle on each posterior sample where it was measured.
    pub angle_samples: Vec<f64>,
}

impl Prediction {
    /// The SD of the angle over the posterior samples (`None` with fewer than 2).
    pub fn angle_sd(&self) -> Option<f64> {
        let n = self.angle_samples.len();
        (n >= 2).then(|| {
            let m = self.angle_samples.iter().sum::<f64>() / n as f64;
            (self.angle_samples.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        })
    }
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
    let mut best: Option<SurfaceFit> = None;
    for rotation in starts {
        let init = Pose { rotation, translation_mm: head_target.coords - rotation * head_model.coords, scale: 1.0 };
        let Ok(rigid) = model.fit_surface(partial.vertices(), area, &init, &rigid_only) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| rigid.rms_mm < b.rms_mm) {
            best = Some(rigid);
        }
    }
    let rigid = best.ok_or_else(|| input("no rigid start brings the model within reach of the partial surface"))?;
    let fit = model.fit_surface(partial.vertices(), area, &rigid.pose, &SurfaceFitOptions::default())?;
    let mesh = Mesh::new(fit.shape.clone(), model.faces().to_vec()).map_err(|source| ShapeError::Mesh { what: "the predicted mesh", source })?;
    let angle = measure(&mesh);
    let mut angle_samples = Vec::new();
    for w in fit.sample_weights(n_samples, seed) {
        let x = model.instance(&w)?;
        let posed = x.iter().map(|p| fit.pose.apply(p)).collect();
        if let Ok(m) = Mesh::new(posed, model.faces().to_vec())
            && let Some(a) = measure(&m)
        {
            angle_samples.push(a);
        }
    }
    Ok(Prediction { fit, mesh, angle, angle_samples })
}

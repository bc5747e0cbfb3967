//! Statistical shape models (point-distribution models) for coxa.
//!
//! A [`ShapeModel`] is a mean shape plus orthonormal modes of variation with their variances,
//! over meshes whose vertices are in correspondence (vertex `i` is the same anatomical point in
//! every training shape). The crate builds one from training shapes ([`build()`]: generalised
//! Procrustes analysis, then PCA), measures it as the field reports models ([`metrics`]:
//! compactness, leave-one-out generalisation, specificity), fits it to a whole or partial shape
//! ([`ShapeModel::fit`], [`ShapeModel::fit_partial`], with a Gaussian prior on the mode weights and
//! the posterior SD of the predicted vertices), draws random shapes ([`ShapeModel::sample`]) and
//! stores it in a documented file format ([`ShapeModel::save`], [`ShapeModel::load`]; see
//! [`model`]).
//!
//! Units are mm; a model keeps its training shapes' frame up to the Procrustes alignment (see
//! [`ModelInfo::frame`]). The crate depends on `coxa-core`, `nalgebra`, `serde`(`_json`) and `rand`
//! only: reading meshes is `coxa-io`'s job.
//!
//! Hand-written parts and why: Procrustes and PCA are a few lines over nalgebra's SVD; the
//! point-to-triangle distance tree ([`surface`]) avoids pulling parry3d into a model crate; the
//! normal deviates of [`ShapeModel::sample`] use Box-Muller rather than one more crate
//! (`rand_distr`).

pub mod build;
mod error;
mod fit;
mod fit_surface;
pub mod gias;
pub mod locate;
pub mod metrics;
pub mod model;
pub mod pca_file;
pub mod predict;
pub mod register;
pub mod surface;

pub use build::{BuildOptions, Built, build};
pub use error::{Result, ShapeError};
pub use fit::{Fit, FitOptions, PartialFit, Pose};
pub use fit_surface::{MAX_TARGET_POINTS, SurfaceFit, SurfaceFitOptions};
pub use model::{Landmark, ModelInfo, Part, Provenance, ShapeModel};
pub use register::{RegisterOptions, Registration, register, register_onto};

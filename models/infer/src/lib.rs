//! Learned models for coxa on ONNX Runtime (through the `ort` crate, `load-dynamic`): finding
//! the runtime library, model cards with a pinned SHA-256, nnU-Net v2 style sliding-window
//! segmentation of a CT and per-voxel uncertainty (mirroring and Monte Carlo dropout).
//!
//! ```no_run
//! use coxa_infer::{InferenceOptions, Model, SessionConfig, segment};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ct = coxa_io::open(std::path::Path::new("ct.nii.gz"), &coxa_io::OpenOptions::default())?.volume;
//! let mut model = Model::load("model.toml".as_ref(), &SessionConfig::default())?;
//! let seg = segment(&mut model, &ct, &InferenceOptions { mirror_axes: vec![0, 1, 2], ..Default::default() })?;
//! for c in &seg.summary { println!("{} {:.1} ml, entropy {:.3}", c.name, c.volume_ml, c.mean_entropy_nats); }
//! # Ok(()) }
//! ```
//!
//! (`coxa_io::open` returns a `Loaded` whose `.volume` is the CT.)
//!
//! nnU-Net v2 models come through `python/nnunet_export.py` (a results folder to ONNX files and
//! a card); with the card's `[nnunet]` table they run as `nnUNetPredictor` runs them
//! (tests/nnunet_equality.rs compares with nnunetv2 itself).
//!
//! [`image`] runs classifiers and regressors over one plain radiograph (fracture, BMD, OA grade).
//!
//! [`tabular`] runs classifiers over named features (e.g. a prognosis model on radiomics).
//!
//! [`runtime`] explains where ONNX Runtime is looked for; [`card`] the model card format;
//! [`window`] what of nnU-Net is reproduced and how; [`segment`](mod@segment) the whole pipeline.

pub mod card;
mod error;
pub mod image;
mod model;
mod prediction;
pub mod resample;
pub mod runtime;
pub mod segment;
mod slabs;
pub mod tabular;
pub mod translation;
mod voxel;
pub mod window;

pub use card::ModelCard;
pub use error::{Error, Result};
pub use image::{ImageCard, ImageModel, ImagePrediction};
pub use model::{Model, Optimisation, SessionConfig, sha256_hex};
pub use runtime::{FoundLibrary, Runtime, RuntimeSearch};
pub use segment::{ClassSummary, InferenceOptions, Prediction, Segmentation, predict, predict_full, segment};
pub use tabular::{TabularCard, TabularModel};
pub use window::{NnunetWindow, WindowOptions, WindowTiming};

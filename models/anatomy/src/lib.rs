//! Anatomy from CT: bones segmented, surfaces, landmarks and frames, muscle measures.
//!
//! - [`segment`]: classical (model-free) bone segmentation of pelvis halves, sacrum and femurs.
//! - [`surface`]: label masks to watertight, smoothed, decimated triangle meshes.
//!
//! Works on the plain types of `coxa-core`; no file I/O (see `coxa-io`).

pub mod landmarks;
pub mod segment;
pub mod surface;

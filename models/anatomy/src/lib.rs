//! Anatomy from CT: bones segmented, surfaces, landmarks and frames, muscle measures.
//!
//! - [`segment`]: classical (model-free) bone segmentation of pelvis halves, sacrum and femurs.
//! - [`surface`]: label masks to watertight, smoothed, decimated triangle meshes.
//! - [`bone_check`]: bone surfaces from files checked for stray vertices and length units.
//! - [`labels`]: coxa's label convention (TotalSegmentator's ids) and import of other tools' maps by name.
//! - [`landmarks`]: head, neck, shaft, trochanters, condyles, acetabulum, ASIS, pubic tubercles,
//!   the anterior pelvic plane frame and native angles, each with a quality flag.
//! - [`ct_render`]: test-data generation: CTs with a known truth rendered from bone surfaces
//!   at clinical grids (tissues, joint space, tilt, metal, scanner blur and noise).
//! - [`phantom`]: a deterministic phantom CT of a hip with its exact geometry.
//! - [`muscles`]: per-muscle volume, HU, fat fraction and left/right asymmetry.
//!
//! Works on the plain types of `coxa-core`; no file I/O (see `coxa-io`).

pub mod bone_check;
pub mod ct_render;
pub mod labels;
pub mod landmarks;
pub mod mesh_phantom;
pub mod muscles;
pub mod phantom;
pub mod segment;
pub mod surface;

//! One case from its spec to its folder: the scenario spec as typed values, the input (CT, label
//! maps, surfaces, PACS pull records, phantoms, population draws), every stage (anatomy,
//! segmentation with models, plan, sweep, ROM, musculoskeletal model, radiomics, lesions,
//! pseudo-MRI, radiograph, pictures, report document), the pipeline, the writer of the case
//! folder, and the run machinery (shards, merges, cohort tables).
//!
//! This crate knows no command line and no window: the `coxa` program (`scenarios/`) parses its
//! arguments into the values this crate takes, calls it and prints; the Python package calls it
//! the same way.

pub mod anatomy;
pub mod atomic;
pub mod bone;
pub mod bone_input;
pub mod case_writer;
pub mod checked;
pub mod cohort;
pub mod error;
pub mod estimate;
pub mod exchange;
pub mod landmark_check;
pub mod lesions;
pub mod manifest;
pub mod memo;
pub mod merge;
pub mod msk_stage;
pub mod opensim_setup;
pub mod pacs;
pub mod pipeline;
pub mod population;
pub mod pseudo_mri;
pub mod radiomics;
pub mod records;
pub mod render;
pub mod rom;
pub mod run;
pub mod scenario;
pub mod scenario_checks;
pub mod scenario_file;
pub mod segment;
pub mod shape_phantom;
pub mod shape_predict;
pub mod shard;
pub mod stages;
pub mod stamp;
pub mod stem_report;
pub mod summary;
pub mod xray;

pub use error::{Error, ErrorKind, Result};

//! Scenario files and the `coxa` command-line program.
//!
//! The program's subcommands live in [`cli`]; each is a thin shell over the library crates.

pub mod anatomy;
pub mod atomic;
pub mod bone;
pub mod bone_input;
pub mod case_writer;
pub mod cli;
pub mod cohort;
pub mod estimate;
pub mod exchange;
pub mod hcf;
pub mod landmark_check;
pub mod manifest;
pub mod merge;
pub mod msk_stage;
pub mod opensim_setup;
pub mod pacs;
pub mod pipeline;
pub mod population;
pub mod radiomics;
pub mod records;
pub mod render;
#[cfg(feature = "window")]
pub mod revision;
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
pub mod view;
pub mod xray;

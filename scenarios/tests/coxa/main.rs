//! The `coxa` program as a user runs it, one test binary (parry's `tests/lib.rs` pattern): the
//! demo's phantom and the real CT go through the pipeline once per test run ([`cases`]) and
//! every test that needs such a case folder reads the same one.

#[path = "../../../tests/tests/common.rs"]
#[allow(dead_code, reason = "shared with the e2e tests, which use other helpers")]
mod common;

mod cases;

mod anatomy;
mod bad_input;
mod bone;
mod cli;
mod cohort;
#[cfg(feature = "window")]
mod consistency;
mod contacts;
mod corpus;
mod dysplasia;
mod exchange;
mod lesions;
mod lesions_learned;
mod mesh_export;
mod msk;
mod neighbours;
mod opensim_setup;
// The heavy group (`--features coxa-scenarios/heavy-tests`; scripts/test runs it).
#[cfg(feature = "heavy-tests")]
mod pacs;
mod plan;
mod plan_grid;
mod population;
mod pseudo_mri;
mod pseudo_mri_learned;
mod radiograph;
mod radiomics;
mod records;
mod report;
#[cfg(feature = "heavy-tests")]
mod robust;
mod run;
mod segment;
mod shape_phantom;
mod shape_plan;
mod sizing;
#[cfg(feature = "heavy-tests")]
mod slurm;
mod user_implants;
#[cfg(feature = "window")]
mod view;
#[cfg(feature = "window")]
mod view_desk;
#[cfg(feature = "window")]
mod xvfb;

//! The stages of a case, apart from the commands and from files: each takes typed inputs (the CT
//! as a `&Volume`, read once by [`input::open_ct`]) and returns a typed result; none writes a
//! file (the case writer does, [`crate::case_writer`]).
//!
//! - [`input`]: the CT opened once, or the bone surfaces read and checked;
//! - [`anatomy`]: label map, surfaces, landmarks, canals, muscles, bone quality (`anatomy.json`'s record);
//! - [`plan`]: the planner's input, the simulator as its scorer, the plan's record (`plan.json`);
//! - [`plan_intervals`]: the plan's inputs' uncertainty and its intervals (`plan.json`'s `intervals`);
//! - [`sweep`]: every sweep point planned or placed, its range of motion; the safe-zone map;
//! - [`msk`]: abductors and hip load before and after the plan;
//! - [`pictures`]: the report's pictures and the simulated radiograph, as PNG bytes;
//! - [`pseudo_mri`]: the CT as a pseudo T2-weighted image (`[pseudo_mri]`);
//! - [`lesions`]: the `[lesions]` stage, bone lesion candidates (`lesions/`);
//! - [`report`]: the case report (`report.json`) and the summary row.
//!
//! The radiomics stage is [`crate::radiomics::RadiomicsStage::run`] and the learned segmentation
//! [`crate::segment`] (both also commands of their own).

pub mod anatomy;
pub mod input;
pub mod lesions;
pub mod msk;
pub mod pictures;
pub mod plan;
pub mod plan_intervals;
pub mod pseudo_mri;
pub mod report;
pub mod sweep;

/// Progress callback: a short message per step.
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

//! End-to-end tests of coxa, built as one binary (as parry does).

mod common;
mod dicom;
mod nifti;
mod landmarks;
mod muscles;
mod surface;
mod vtk;
mod shape;
mod rom;
mod phantom;
mod segment;
mod msk;
mod plan;
mod sizing;
mod shape_femur;

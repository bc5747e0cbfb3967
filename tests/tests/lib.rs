//! End-to-end tests of coxa, built as one binary (as parry does).

mod book;
mod common;
mod dicom;
mod file_circles;
mod file_sizes;
mod landmarks;
mod layering;
mod licences;
mod msk;
mod msk_geometry;
mod msk_motion;
mod msk_strength;
mod muscles;
mod nifti;
mod phantom;
mod plan;
mod plan_grid;
mod python_features;
mod rom;
mod segment;
mod shape;
mod shape_femur;
mod sizing;
mod surface;
mod vtk;

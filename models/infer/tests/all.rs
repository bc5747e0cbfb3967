//! coxa-infer's integration tests in one binary (docs/TESTING.md: one test binary per crate, each
//! linking the whole dependency tree once): one module per subject, the helpers in `common`.
//! `runtime_load_failure` stays a binary of its own: a process loads ONNX Runtime once, so the
//! broken library must be refused before any successful load.

mod common;

mod errors;
mod fixed_size;
mod nnunet_equality;
mod phantom_model;
mod python_tables;
mod resample_vs_scipy;
mod segment;
mod side_by_side;
mod slabs;
mod tabular;
mod translation;
mod uncertainty;
mod window_vs_python;
mod xray;

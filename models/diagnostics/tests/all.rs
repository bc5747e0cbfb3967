//! coxa-diagnostics' integration tests in one binary (docs/TESTING.md: one test binary per crate,
//! each linking the whole dependency tree once): one module per subject; the lesion trials shared
//! with the `lesion_sweep` example are `support/lesion_trials.rs`.

mod bone_density;
mod drr;
mod ibsi_phantom;
mod lesions_real;
mod pseudo_mri;
mod pyradiomics_peer;

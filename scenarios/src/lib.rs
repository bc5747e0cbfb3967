//! The `coxa` command-line program: one file per command in [`cli`], each parsing its arguments
//! into the typed values of [`coxa_case`] (the library of one case), calling it and printing.

pub mod cli;
pub mod hcf;
#[cfg(feature = "window")]
pub mod replan;
#[cfg(feature = "window")]
pub mod revision;
pub mod view;

//! Scenario files and the `coxa` command-line program.
//!
//! The program's subcommands live in [`cli`]; each is a thin shell over the library crates.

pub mod anatomy;
pub mod cli;
pub mod rom;

//! Implant geometry of coxa as data: acetabular shells, liners, femoral heads and stems.
//!
//! - [`catalog`]: the open catalog, one TOML file per product family (`catalog/*.toml` in this
//!   crate holds the built-in families, [`Catalog::builtin`]). Files are parsed with unknown
//!   fields refused, carry a `schema_version`, use unit-suffixed fields and are validated with
//!   errors naming the file and the field.
//! - [`parts`]: sized parts ([`Shell`], [`Liner`], [`Head`], [`Stem`]) and the assembled
//!   [`Construct`], each with its documented local frame, an analytic description for collision
//!   code (spheres, the liner's rim curve, the neck cone) and a triangle mesh ([`coxa_core::Mesh`]).
//! - [`user`]: an implant engineer's own geometry: an STL file plus a small TOML file declaring
//!   its frame (parsed and validated here; reading the STL is the caller's job).
//!
//! Units: millimetres and radians (degrees only in file fields named `*_deg`).

pub mod catalog;
mod error;
mod mesh;
pub mod parts;
mod read;
pub mod user;

pub use catalog::{Catalog, CatalogFile, StemSizeRule};
pub use error::{ImplantError, Result};
pub use parts::{Construct, Head, Liner, Neck, Rim, Shell, Stem};
pub use user::{UserGeometry, UserGeometrySpec, UserPartKind};

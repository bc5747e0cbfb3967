//! PACS exchange for coxa.
//!
//! - [`server`]: addresses (`http(s)://...` DICOMweb, `dicom://AET@host:port` DIMSE), the
//!   search model and the [`Pacs`] trait both clients implement; [`connect`] opens the client an
//!   address names.
//! - [`dicomweb`]: QIDO-RS, WADO-RS, STOW-RS over HTTP(S), with a bearer token and a hospital CA.
//! - [`dimse`]: C-ECHO, C-FIND, C-GET (+ C-STORE sub-operations), C-MOVE (to coxa's own storage
//!   SCP) and C-STORE over dicom-rs' `dicom-ul`.
//! - [`pull`]: a study's series into folders, each written whole or not at all.
//! - [`choose`]: the planning series (the thinnest axial CT covering both hips), with the reason.
//! - [`results`]: a case's results as DICOM objects in the source study: segmentation (SEG),
//!   the plan's measurements (Comprehensive SR, TID 1500), the report (encapsulated PDF) and the
//!   pictures (secondary capture), with stable UIDs.
//! - [`pseudo_mr`]: a pseudo-MRI made from the CT as an MR series (derived) in the CT's study.
//! - [`lesion_seg`]: the bone lesion candidates of `coxa lesions` as a SEG in the CT's study.
//! - [`case`]: every result object a case folder supports, for `coxa pacs push`.

pub mod case;
pub mod choose;
mod connect;
pub mod dicomweb;
pub mod dimse;
mod error;
pub mod lesion_seg;
pub mod pseudo_mr;
pub mod pull;
pub mod results;
pub mod server;

pub use connect::connect;
pub use error::{Error, Result};
pub use server::{Address, ConnectOptions, FindQuery, Pacs, Retrieve, Secret, SeriesMatch, StoreReport, StudyMatch};

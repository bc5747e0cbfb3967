//! PACS addresses, the query model and the client trait both protocols implement.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::{Error, Result};

/// Where the PACS is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// DICOMweb: the service root, e.g. `http://127.0.0.1:8042/dicom-web` (no trailing slash).
    Web {
        /// Service root URL.
        base: String,
    },
    /// DIMSE: `dicom://AET@host:port`.
    Dimse {
        /// Called AE title (the PACS's).
        called_aet: String,
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

impl Address {
    /// Parses `http(s)://...` (DICOMweb) or `dicom://AET@host:port` (DIMSE).
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| Error::BadAddress { url: url.to_string(), why: why.to_string() };
        let url_t = url.trim();
        if url_t.starts_with("http://") || url_t.starts_with("https://") {
            let base = url_t.trim_end_matches('/').to_string();
            if base.split("://").nth(1).is_none_or(str::is_empty) {
                return Err(bad("no host"));
            }
            return Ok(Address::Web { base });
        }
        let Some(rest) = url_t.strip_prefix("dicom://") else {
            return Err(bad("unknown scheme"));
        };
        let Some((aet, hostport)) = rest.split_once('@') else {
            return Err(bad("no AE title (dicom://AET@host:port)"));
        };
        let hostport = hostport.trim_end_matches('/');
        let Some((host, port)) = hostport.rsplit_once(':') else {
            return Err(bad("no port (dicom://AET@host:port)"));
        };
        if aet.is_empty() || aet.len() > 16 || !aet.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(bad("the AE title must be 1-16 printable ASCII characters"));
        }
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port: u16 = port.parse().map_err(|_| bad("the port is not a number 1-65535"))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(Address::Dimse { called_aet: aet.to_string(), host: host.to_string(), port })
    }

    /// The address for messages: no user name or password.
    pub fn display(&self) -> String {
        match self {
            Address::Web { base } => match base.split_once("://") {
                Some((scheme, rest)) => format!("{scheme}://{}", rest.rsplit_once('@').map_or(rest, |(_, r)| r)),
                None => base.clone(),
            },
            Address::Dimse { called_aet, host, port } => format!("dicom://{called_aet}@{host}:{port}"),
        }
    }
}

/// How a DIMSE client retrieves a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retrieve {
    /// C-GET: the instances come back on coxa's own association (the PACS needs no entry for
    /// coxa). The default.
    #[default]
    Get,
    /// C-MOVE to coxa's AE title: the PACS sends the instances to the host and port its list of
    /// modalities gives for that title, where coxa listens (on every interface) during the move.
    Move {
        /// The port coxa listens on.
        port: u16,
    },
}

/// A secret (a bearer token): its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` (surrounding white space, e.g. a file's last newline, is dropped).
    pub fn new(value: &str) -> Self {
        Self(value.trim().to_string())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// How to connect: timeouts, coxa's own AE title and retrieve, DICOMweb credentials and CAs.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connect, read and write timeout. Default 30 s.
    pub timeout: Duration,
    /// coxa's calling AE title for DIMSE (and the move destination of a C-MOVE). Default `COXA`.
    pub calling_aet: String,
    /// Largest DICOM instance accepted, bytes (checked before it is held in memory). Default 2 GiB.
    pub max_instance_bytes: u64,
    /// DIMSE: C-GET (default) or C-MOVE.
    pub retrieve: Retrieve,
    /// DICOMweb: a bearer token, sent as `Authorization: Bearer ...` with every request.
    pub token: Option<Secret>,
    /// DICOMweb over https: a PEM file of CA certificates trusted besides the public web roots
    /// (a hospital's own CA).
    pub ca_bundle: Option<PathBuf>,
    /// DICOMweb: where the token came from, for messages (e.g. "--token-file t.txt").
    pub token_source: Option<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), calling_aet: "COXA".into(), max_instance_bytes: 2 << 30, retrieve: Retrieve::Get, token: None, ca_bundle: None, token_source: None }
    }
}

/// Search keys of `coxa pacs find` (DICOM matching: `*` wildcards, `YYYYMMDD-YYYYMMDD` date ranges).
#[derive(Debug, Clone, Default)]
pub struct FindQuery {
    /// PatientID.
    pub patient_id: Option<String>,
    /// AccessionNumber.
    pub accession: Option<String>,
    /// StudyDate or a range.
    pub study_date: Option<String>,
    /// A modality the study holds (ModalitiesInStudy).
    pub modality: Option<String>,
    /// StudyInstanceUID.
    pub study_uid: Option<String>,
}

/// One study found. The patient's name and ID are only for `--show-phi`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StudyMatch {
    /// StudyInstanceUID.
    pub study_uid: String,
    /// StudyDate (YYYYMMDD).
    pub study_date: Option<String>,
    /// ModalitiesInStudy.
    pub modalities: Vec<String>,
    /// NumberOfStudyRelatedSeries.
    pub n_series: Option<u32>,
    /// NumberOfStudyRelatedInstances.
    pub n_instances: Option<u32>,
    /// PatientName (identity: shown only when asked).
    #[serde(skip)]
    pub patient_name: Option<String>,
    /// PatientID (identity: shown only when asked).
    #[serde(skip)]
    pub patient_id: Option<String>,
    /// AccessionNumber (identifying: shown only when asked).
    #[serde(skip)]
    pub accession: Option<String>,
}

/// One series of a study.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SeriesMatch {
    /// StudyInstanceUID.
    pub study_uid: String,
    /// SeriesInstanceUID.
    pub series_uid: String,
    /// Modality.
    pub modality: String,
    /// SeriesNumber.
    pub series_number: Option<i64>,
    /// NumberOfSeriesRelatedInstances.
    pub n_instances: Option<u32>,
}

/// Outcome of a store (STOW-RS or C-STORE).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StoreReport {
    /// Objects sent.
    pub sent: usize,
    /// Objects the server confirmed.
    pub stored: usize,
    /// Warnings the server gave (e.g. an instance it already had).
    pub warnings: Vec<String>,
}

/// A PACS client: DICOMweb ([`crate::dicomweb::WebClient`]) or DIMSE ([`crate::dimse::DimseClient`]).
pub trait Pacs {
    /// The address for messages.
    fn server(&self) -> String;
    /// Studies matching `query`.
    fn find_studies(&mut self, query: &FindQuery) -> Result<Vec<StudyMatch>>;
    /// The series of a study (empty when the study is not there).
    fn find_series(&mut self, study_uid: &str) -> Result<Vec<SeriesMatch>>;
    /// Retrieves every instance of a series; `sink` gets each as a DICOM Part 10 file.
    /// Returns the number of instances delivered.
    fn retrieve_series(&mut self, study_uid: &str, series_uid: &str, sink: &mut dyn FnMut(Vec<u8>) -> Result<()>) -> Result<usize>;
    /// Stores Part 10 files in the PACS.
    fn store(&mut self, files: &[Vec<u8>]) -> Result<StoreReport>;
    /// Checks that the PACS answers (and accepts coxa): C-ECHO over DIMSE, an authenticated
    /// one-study search over DICOMweb.
    fn echo(&mut self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes_and_names_bad_ones() {
        assert_eq!(Address::parse("http://h:8042/dicom-web/").unwrap(), Address::Web { base: "http://h:8042/dicom-web".into() });
        assert_eq!(Address::parse("dicom://ORTHANC@127.0.0.1:4242").unwrap(), Address::Dimse { called_aet: "ORTHANC".into(), host: "127.0.0.1".into(), port: 4242 });
        for bad in ["ftp://x", "dicom://127.0.0.1:4242", "dicom://A@host", "dicom://A@host:99999", "dicom://@h:1", "http://"] {
            let e = Address::parse(bad).unwrap_err().to_string();
            assert!(e.contains("bad PACS address"), "{bad}: {e}");
        }
        assert_eq!(Address::parse("https://user:pw@h/dw").unwrap().display(), "https://h/dw");
    }
}

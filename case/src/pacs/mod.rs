//! The hospital's PACS over DICOMweb or DIMSE ([`coxa_pacs`]) for `coxa pacs echo | find | pull |
//! push` and for scenario cases naming a study.
//!
//! - `echo` checks that the PACS answers and accepts coxa (C-ECHO; over DICOMweb a one-study
//!   search with the credentials), with the round trip time.
//! - `find` lists studies matching patient ID, accession number, study date (range) and
//!   modality, and their series; patient names and IDs only with `--show-phi`.
//! - `pull` retrieves a study's CT series into a new folder (each series whole or not at all),
//!   chooses the series to plan on (the thinnest axial CT that covers both hips, judged by coxa's
//!   bone segmentation finding both femoral heads inside the scan) and says which and why; it
//!   writes `pacs.json` (server, study, series, the choice) last, so a folder with `pacs.json`
//!   is a complete pull, and `--ct` of that folder plans on the chosen series ([`planning_ct`]).
//!   Over DIMSE it retrieves with C-GET, or with `--retrieve move` by C-MOVE to coxa's own
//!   storage SCP (for PACS that allow only C-MOVE).
//! - `push` builds the case's DICOM results (SEG, SR, encapsulated PDF, secondary capture; see
//!   [`coxa_pacs::results`]) in the source study and stores them; the same case pushed twice
//!   sends the same UIDs. The source series is found from the case ([`source_of`]): no UID to type.
//!
//! DICOMweb credentials never go on the command line (other users see it in `ps`): the bearer
//! token is read from `--token-file` or `COXA_PACS_TOKEN`; `--ca-bundle` adds a hospital CA.

pub(crate) mod record;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bail;
use crate::error::Context;

use coxa_pacs::pull::Which;
use coxa_pacs::{Address, ConnectOptions, Retrieve, Secret};

pub use record::{PassedOver, PlanningSeries, PullRecord, PulledSeriesRecord, planning_ct, read_record, source_of};

/// How to reach the PACS (the program's `--server`, `--timeout-s`, `--aet`, `--token-file`,
/// `--ca-bundle`).
#[derive(Debug, Clone)]
pub struct Server {
    /// The PACS: http(s)://host:port/dicom-web (DICOMweb) or dicom://AET@host:port (DIMSE).
    pub server: String,
    /// Seconds to wait for the PACS to connect or answer.
    pub timeout_s: u64,
    /// coxa's own AE title for DIMSE: the calling AE title the PACS must know, and the move
    /// destination of a C-MOVE.
    pub aet: String,
    /// DICOMweb: a file holding the bearer token, sent as `Authorization: Bearer`. Without it the
    /// environment variable COXA_PACS_TOKEN is used when set.
    pub token_file: Option<PathBuf>,
    /// DICOMweb over https: a PEM file of CA certificates trusted besides the public web roots.
    pub ca_bundle: Option<PathBuf>,
}

/// What to pull (`coxa pacs pull`'s flags).
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// StudyInstanceUID of the study to pull.
    pub study: String,
    /// The folder to pull into; one sub-folder per series. Series already there are never replaced.
    pub out: PathBuf,
    /// Pull only these series. Empty: every CT series of the study.
    pub series: Vec<String>,
    /// Do not choose a planning series (just pull).
    pub no_choose: bool,
    /// DIMSE: `get` (C-GET) or `move` (C-MOVE to coxa's own storage SCP on `move_port`).
    pub retrieve: String,
    /// The port coxa listens on during a C-MOVE. `None`: 11112.
    pub move_port: Option<u16>,
}

impl Server {
    /// The server at `server` with the defaults (`coxa run`'s PACS cases).
    pub fn plain(server: &str, timeout_s: u64) -> Self {
        Self { server: server.to_string(), timeout_s, aet: "COXA".into(), token_file: None, ca_bundle: None }
    }

    /// Connects (C-GET retrieval over DIMSE).
    ///
    /// # Errors
    /// A bad address or timeout, an unreadable token file, a PACS that does not answer.
    pub fn connect(&self) -> crate::Result<Box<dyn coxa_pacs::Pacs>> {
        self.connect_with(Retrieve::Get)
    }

    /// Connects with the retrieval `retrieve`.
    ///
    /// # Errors
    /// As [`Server::connect`].
    pub fn connect_with(&self, retrieve: Retrieve) -> crate::Result<Box<dyn coxa_pacs::Pacs>> {
        if self.timeout_s == 0 || self.timeout_s > 86_400 {
            bail!("--timeout-s {} is out of range: give 1 to 86400 seconds", self.timeout_s);
        }
        let address = Address::parse(&self.server)?;
        let web = matches!(address, Address::Web { .. });
        if !web && (self.token_file.is_some() || self.ca_bundle.is_some()) {
            bail!("--token-file and --ca-bundle are for DICOMweb (https://...) servers, not {}: leave them out", address.display());
        }
        let (token, token_source) = if web { self.token()? } else { (None, None) };
        if let (Some(source), Address::Web { base }) = (&token_source, &address)
            && let Some(w) = cleartext_token_warning(base, source)
        {
            eprintln!("warning: {w}");
        }
        let options =
            ConnectOptions { timeout: Duration::from_secs(self.timeout_s), calling_aet: self.aet.clone(), retrieve, token, token_source, ca_bundle: self.ca_bundle.clone(), ..Default::default() };
        Ok(coxa_pacs::connect(&address, &options)?)
    }

    /// The bearer token (and where it came from): `--token-file`, else `COXA_PACS_TOKEN`.
    fn token(&self) -> crate::Result<(Option<Secret>, Option<String>)> {
        if let Some(f) = &self.token_file {
            let text = coxa_io::read_text_bounded(f, coxa_io::Bound::TEXT).map_err(|e| crate::err!("cannot read --token-file {}: {e}; give a file holding the PACS's bearer token", f.display()))?;
            let token = Secret::new(&text);
            if token.expose().is_empty() {
                bail!("--token-file {} is empty; put the PACS's bearer token in it", f.display());
            }
            if token.expose().contains(['\n', '\r']) {
                bail!("--token-file {} holds more than one line; put only the bearer token in it", f.display());
            }
            return Ok((Some(token), Some(format!("--token-file {}", f.display()))));
        }
        match std::env::var("COXA_PACS_TOKEN") {
            Ok(t) if !t.trim().is_empty() => Ok((Some(Secret::new(&t)), Some("COXA_PACS_TOKEN".into()))),
            _ => Ok((None, None)),
        }
    }
}

/// Whether a CT covers both hips: coxa's bone segmentation finds both femoral heads, each
/// sphere whole inside the scanned slices.
pub fn covers_both_hips(ct: &coxa_core::Volume) -> Result<(), String> {
    let seg = coxa_anatomy::segment::segment_bones(ct, &coxa_anatomy::segment::SegmentOptions::default().with_max_memory_bytes(coxa_io::Limits::new().max_bytes)).map_err(|e| e.to_string())?;
    let grid = ct.grid();
    let nk = grid.size()[2] as f64;
    let dz = grid.spacing_mm().z;
    for head in &seg.femoral_heads {
        let k = grid.lps_to_voxel(&head.centre_lps_mm).z;
        let r = head.radius_mm / dz;
        if k - r < -0.5 || k + r > nk - 0.5 {
            return Err(format!("the {:?} femoral head is cut by the end of the scan", head.side).to_lowercase());
        }
    }
    Ok(())
}

fn folder_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Pulls the study into `a.out` and chooses the planning series; writes `pacs.json` last and
/// returns what it holds and its text.
///
/// # Errors
/// The PACS's, an existing `pacs.json`, a retrieval option that does not fit the server.
pub fn pull(server: &Server, a: &PullRequest) -> crate::Result<(PullRecord, String)> {
    let retrieve = match (a.retrieve.as_str(), a.move_port) {
        ("move", port) => Retrieve::Move { port: port.unwrap_or(11112) },
        (_, Some(_)) => bail!("--move-port is for --retrieve move"),
        _ => Retrieve::Get,
    };
    if retrieve != Retrieve::Get && !matches!(Address::parse(&server.server)?, Address::Dimse { .. }) {
        bail!("--retrieve move is for DIMSE servers (dicom://AET@host:port); DICOMweb retrieves over HTTP");
    }
    if retrieve == (Retrieve::Move { port: 0 }) {
        bail!("--move-port 0: give the port the PACS's entry for coxa names (1-65535)");
    }
    let mut client = server.connect_with(retrieve)?;
    let record_path = a.out.join("pacs.json");
    if record_path.exists() {
        bail!("{} exists: {} already holds a pull; choose another --out", record_path.display(), a.out.display());
    }
    let which = if a.series.is_empty() { Which::AllCt } else { Which::Series(a.series.clone()) };
    let pulled = coxa_pacs::pull::pull(client.as_mut(), &a.study, &a.out, &which)?;
    for p in &pulled {
        eprintln!("pulled series {} ({}, {} instances) into {}", p.series.series_uid, p.series.modality, p.n_files, p.dir.display());
    }
    let mut record = PullRecord {
        planning: None,
        series: pulled
            .iter()
            .map(|p| PulledSeriesRecord {
                dir: folder_name(&p.dir),
                modality: p.series.modality.clone(),
                n_files: p.n_files,
                series_number: p.series.series_number,
                series_uid: p.series.series_uid.clone(),
            })
            .collect(),
        server: client.server(),
        study_uid: a.study.clone(),
    };
    if !a.no_choose {
        let dirs: Vec<PathBuf> = pulled.iter().map(|p| p.dir.clone()).collect();
        let choice = coxa_pacs::choose::choose(&a.study, &dirs, &mut covers_both_hips)?;
        println!("planning series: {}", choice.reason);
        record.planning = Some(PlanningSeries {
            dir: folder_name(&choice.chosen.dir),
            passed_over: choice.passed_over.into_iter().map(|(series_uid, why)| PassedOver { series_uid, why }).collect(),
            reason: choice.reason,
            series_uid: choice.chosen.series_uid,
        });
    }
    let text = crate::stamp::text("pacs", &record)?;
    crate::atomic::write_new(&record_path, text.as_bytes())?;
    Ok((record, text))
}

/// A scenario case naming a study on a PACS: pulled into `dir` (or, when `dir/pacs.json` shows
/// an earlier complete pull, taken from there) and turned into a CT case on the planning series.
pub fn resolve_case(case: &crate::scenario::Case, server: &str, study: &str, dir: &Path) -> crate::Result<crate::scenario::Case> {
    let record_path = dir.join("pacs.json");
    // An earlier run's pull (the file is the edge between the two runs).
    let record = if let Some(record) = read_record(dir)? {
        record
    } else {
        let request = PullRequest { retrieve: "get".into(), move_port: None, study: study.to_string(), out: dir.to_path_buf(), series: Vec::new(), no_choose: false };
        pull(&Server::plain(server, 60), &request).with_context(|| format!("case {}: pulling study {study}", case.name))?.0
    };
    if record.study_uid != study {
        bail!("{} holds study {:?} but case {} names {study}; move the folder away", record_path.display(), record.study_uid, case.name);
    }
    let series = record.planning.as_ref().and_then(|p| p.dir.as_deref()).with_context(|| format!("{} has no planning series", record_path.display()))?;
    let mut out = case.clone();
    out.input = crate::scenario::CaseInput::Ct { ct: dir.join(series), labels: None };
    Ok(out)
}

/// A warning when a bearer token would cross the network unencrypted: an `http://` service root
/// on another machine (on the loopback address the token stays on this machine). `None` for
/// `https://` and for loopback.
fn cleartext_token_warning(base: &str, token_source: &str) -> Option<String> {
    let rest = base.strip_prefix("http://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| {
        format!(
            "the bearer token from {token_source} goes unencrypted over plain http to {host}: anyone on the network can read it; use the PACS's https:// address (and --ca-bundle for a hospital CA)"
        )
    })
}

#[cfg(test)]
mod token_tests {
    use super::cleartext_token_warning;

    #[test]
    fn a_token_over_plain_http_to_another_machine_is_warned_about() {
        let w = cleartext_token_warning("http://pacs.hospital.example:8042/dicom-web", "COXA_PACS_TOKEN").expect("warned");
        assert!(w.contains("COXA_PACS_TOKEN") && w.contains("pacs.hospital.example") && w.contains("https://"), "{w}");
        assert!(cleartext_token_warning("http://10.1.2.3/dicom-web", "--token-file t").is_some());
        for quiet in ["https://pacs.hospital.example/dicom-web", "http://127.0.0.1:8042/dicom-web", "http://localhost:8042/dicom-web", "http://[::1]:8042/dicom-web"] {
            assert_eq!(cleartext_token_warning(quiet, "COXA_PACS_TOKEN"), None, "{quiet}");
        }
    }
}

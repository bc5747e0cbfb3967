//! `coxa pacs echo | find | pull | push`: the hospital's PACS over DICOMweb or DIMSE ([`coxa_pacs`]).
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

mod record;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use coxa_pacs::pull::Which;
use coxa_pacs::{Address, ConnectOptions, FindQuery, Retrieve, Secret};

pub use record::{PassedOver, PlanningSeries, PullRecord, PulledSeriesRecord, planning_ct, read_record, source_of};

/// Arguments of `coxa pacs`.
#[derive(Debug, Args)]
pub struct PacsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PacsCommand,
}

/// The `coxa pacs` subcommands.
#[derive(Debug, Subcommand)]
pub enum PacsCommand {
    /// Check that the PACS answers and accepts coxa (C-ECHO, or an authenticated DICOMweb search).
    Echo(EchoArgs),
    /// Search the PACS for studies (and list their series).
    Find(FindArgs),
    /// Retrieve a study's CT series into a new folder and choose the series to plan on.
    Pull(PullArgs),
    /// Store a case's results in the source study: SEG, SR, encapsulated PDF, secondary capture.
    Push(PushArgs),
}

/// How to reach the PACS.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The PACS: http(s)://host:port/dicom-web (DICOMweb) or dicom://AET@host:port (DIMSE).
    #[arg(long)]
    pub server: String,
    /// Seconds to wait for the PACS to connect or answer.
    #[arg(long, default_value_t = 30)]
    pub timeout_s: u64,
    /// coxa's own AE title for DIMSE: the calling AE title the PACS must know, and the move
    /// destination of `--retrieve move`.
    #[arg(long, default_value = "COXA")]
    pub aet: String,
    /// DICOMweb: a file holding the bearer token, sent as `Authorization: Bearer`. Without it the
    /// environment variable COXA_PACS_TOKEN is used when set. The token itself is never an
    /// argument: other users of the computer would see it in `ps`.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// DICOMweb over https: a PEM file of CA certificates trusted besides the public web roots
    /// (the hospital's own CA).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
}

impl ServerArgs {
    /// The server at `server` with the defaults (`coxa run`'s PACS cases).
    fn plain(server: &str, timeout_s: u64) -> Self {
        Self { server: server.to_string(), timeout_s, aet: "COXA".into(), token_file: None, ca_bundle: None }
    }

    fn connect(&self) -> anyhow::Result<Box<dyn coxa_pacs::Pacs>> {
        self.connect_with(Retrieve::Get)
    }

    fn connect_with(&self, retrieve: Retrieve) -> anyhow::Result<Box<dyn coxa_pacs::Pacs>> {
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
    fn token(&self) -> anyhow::Result<(Option<Secret>, Option<String>)> {
        if let Some(f) = &self.token_file {
            let text =
                coxa_io::read_text_bounded(f, coxa_io::Bound::TEXT).map_err(|e| anyhow::anyhow!("cannot read --token-file {}: {e}; give a file holding the PACS's bearer token", f.display()))?;
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

/// Arguments of `coxa pacs echo`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    #[command(flatten)]
    #[allow(missing_docs, reason = "flattened")]
    pub server: ServerArgs,
}

/// Arguments of `coxa pacs find`.
#[derive(Debug, Args)]
pub struct FindArgs {
    #[command(flatten)]
    #[allow(missing_docs, reason = "flattened")]
    pub server: ServerArgs,
    /// PatientID (wildcards * and ? allowed).
    #[arg(long)]
    pub patient_id: Option<String>,
    /// AccessionNumber.
    #[arg(long)]
    pub accession: Option<String>,
    /// StudyDate: YYYYMMDD or a range YYYYMMDD-YYYYMMDD.
    #[arg(long)]
    pub study_date: Option<String>,
    /// A modality the study holds (CT, MR, ...).
    #[arg(long)]
    pub modality: Option<String>,
    /// StudyInstanceUID.
    #[arg(long)]
    pub study: Option<String>,
    /// Also list each study's series.
    #[arg(long)]
    pub series: bool,
    /// One JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Show the patient's name, ID and the accession number (left out unless asked).
    #[arg(long)]
    pub show_phi: bool,
}

/// Arguments of `coxa pacs pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    #[command(flatten)]
    #[allow(missing_docs, reason = "flattened")]
    pub server: ServerArgs,
    /// StudyInstanceUID of the study to pull.
    #[arg(long)]
    pub study: String,
    /// The folder to pull into; one sub-folder per series. Series already there are never replaced.
    #[arg(long)]
    pub out: PathBuf,
    /// Pull only this series (repeat for several). Default: every CT series of the study.
    #[arg(long = "series", value_name = "UID")]
    pub series: Vec<String>,
    /// Do not choose a planning series (just pull).
    #[arg(long)]
    pub no_choose: bool,
    /// DIMSE: `get` (C-GET: the series comes back on coxa's own connection) or `move` (C-MOVE
    /// for PACS that refuse C-GET: coxa listens on --move-port, and the PACS must list coxa's
    /// --aet with this computer's address and that port).
    #[arg(long, value_parser = ["get", "move"], default_value = "get")]
    pub retrieve: String,
    /// The port coxa listens on during a C-MOVE (all interfaces). Default 11112.
    #[arg(long, value_name = "PORT")]
    pub move_port: Option<u16>,
    /// Print pacs.json to stdout as well.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `coxa pacs push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    #[allow(missing_docs, reason = "flattened")]
    pub server: ServerArgs,
    /// The case folder (as `coxa demo` or `coxa run` write it: anatomy/labels.nii.gz, plan.json,
    /// pictures/*.png, report.pdf).
    pub case: PathBuf,
    /// The source series folder the case was planned on (or the pull folder). Default: found
    /// from the case: the CT its inputs.json names, a series folder or a `coxa pacs pull` folder.
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// Also write the objects as DICOM files into this new folder.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Build the objects (and --keep them) without sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON summary instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs `coxa pacs ...`.
pub fn cli(args: &PacsArgs) -> anyhow::Result<()> {
    match &args.command {
        PacsCommand::Echo(a) => echo(a),
        PacsCommand::Find(a) => find(a),
        PacsCommand::Pull(a) => pull(a).map(drop),
        PacsCommand::Push(a) => push(a),
    }
}

fn echo(a: &EchoArgs) -> anyhow::Result<()> {
    let mut client = a.server.connect()?;
    let how = if matches!(Address::parse(&a.server.server)?, Address::Web { .. }) { "QIDO-RS search, limit=1" } else { "C-ECHO" };
    let t = Instant::now();
    client.echo()?;
    println!("{} answered ({how}) in {:.0} ms", client.server(), t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

fn find(a: &FindArgs) -> anyhow::Result<()> {
    let mut client = a.server.connect()?;
    let query = FindQuery { patient_id: a.patient_id.clone(), accession: a.accession.clone(), study_date: a.study_date.clone(), modality: a.modality.clone(), study_uid: a.study.clone() };
    let studies = client.find_studies(&query)?;
    let mut out = Vec::new();
    for s in &studies {
        let series = if a.series { client.find_series(&s.study_uid)? } else { Vec::new() };
        let mut v = json!({ "study_uid": s.study_uid, "study_date": s.study_date, "modalities": s.modalities, "n_series": s.n_series, "n_instances": s.n_instances, "series": series });
        if a.show_phi {
            v["patient_name"] = json!(s.patient_name);
            v["patient_id"] = json!(s.patient_id);
            v["accession"] = json!(s.accession);
        }
        out.push(v);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json!({ "server": client.server(), "studies": out }))?);
        return Ok(());
    }
    println!("{} stud{} on {}", studies.len(), if studies.len() == 1 { "y" } else { "ies" }, client.server());
    for v in &out {
        let mut line = format!(
            "study {} date={} modalities={} series={} instances={}",
            v["study_uid"].as_str().unwrap_or(""),
            v["study_date"].as_str().unwrap_or("-"),
            v["modalities"].as_array().map(|m| m.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(",")).unwrap_or_default(),
            v["n_series"].as_u64().map_or("?".into(), |n| n.to_string()),
            v["n_instances"].as_u64().map_or("?".into(), |n| n.to_string()),
        );
        if a.show_phi {
            line.push_str(&format!(" patient={:?} id={:?} accession={:?}", v["patient_name"].as_str().unwrap_or(""), v["patient_id"].as_str().unwrap_or(""), v["accession"].as_str().unwrap_or("")));
        }
        println!("{line}");
        for s in v["series"].as_array().into_iter().flatten() {
            println!(
                "  series {} {} number={} instances={}",
                s["series_uid"].as_str().unwrap_or(""),
                s["modality"].as_str().unwrap_or(""),
                s["series_number"].as_i64().map_or("-".into(), |n| n.to_string()),
                s["n_instances"].as_u64().map_or("?".into(), |n| n.to_string())
            );
        }
    }
    Ok(())
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
/// returns what it holds.
fn pull(a: &PullArgs) -> anyhow::Result<PullRecord> {
    let retrieve = match (a.retrieve.as_str(), a.move_port) {
        ("move", port) => Retrieve::Move { port: port.unwrap_or(11112) },
        (_, Some(_)) => bail!("--move-port is for --retrieve move"),
        _ => Retrieve::Get,
    };
    if retrieve != Retrieve::Get && !matches!(Address::parse(&a.server.server)?, Address::Dimse { .. }) {
        bail!("--retrieve move is for DIMSE servers (dicom://AET@host:port); DICOMweb retrieves over HTTP");
    }
    if retrieve == (Retrieve::Move { port: 0 }) {
        bail!("--move-port 0: give the port the PACS's entry for coxa names (1-65535)");
    }
    let mut client = a.server.connect_with(retrieve)?;
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
    if a.json {
        println!("{text}");
    }
    Ok(record)
}

/// A scenario case naming a study on a PACS: pulled into `dir` (or, when `dir/pacs.json` shows
/// an earlier complete pull, taken from there) and turned into a CT case on the planning series.
pub fn resolve_case(case: &crate::scenario::Case, server: &str, study: &str, dir: &Path) -> anyhow::Result<crate::scenario::Case> {
    let record_path = dir.join("pacs.json");
    // An earlier run's pull (the file is the edge between the two runs).
    let record = if let Some(record) = read_record(dir)? {
        record
    } else {
        let args = PullArgs {
            server: ServerArgs::plain(server, 60),
            retrieve: "get".into(),
            move_port: None,
            study: study.to_string(),
            out: dir.to_path_buf(),
            series: Vec::new(),
            no_choose: false,
            json: false,
        };
        pull(&args).with_context(|| format!("case {}: pulling study {study}", case.name))?
    };
    if record.study_uid != study {
        bail!("{} holds study {:?} but case {} names {study}; move the folder away", record_path.display(), record.study_uid, case.name);
    }
    let series = record.planning.as_ref().and_then(|p| p.dir.as_deref()).with_context(|| format!("{} has no planning series", record_path.display()))?;
    let mut out = case.clone();
    out.input = crate::scenario::CaseInput::Ct { ct: dir.join(series), labels: None };
    Ok(out)
}

fn push(a: &PushArgs) -> anyhow::Result<()> {
    let source_dir = source_of(&a.case, a.source.as_deref())?;
    let source = coxa_pacs::results::Source::read(&source_dir)?;
    let objects = coxa_pacs::case::build_case(&a.case, &source)?;
    if let Some(keep) = &a.keep {
        if keep.exists() {
            bail!("--keep {} exists; coxa never overwrites: choose a new folder", keep.display());
        }
        std::fs::create_dir_all(keep).with_context(|| format!("cannot create {}", keep.display()))?;
        for (i, o) in objects.objects.iter().enumerate() {
            let kind = serde_json::to_value(o.kind)?.as_str().unwrap_or("obj").to_string();
            crate::atomic::write_new(&keep.join(format!("{:02}_{kind}.dcm", i + 1)), &o.bytes)?;
        }
    }
    for n in &objects.notes {
        eprintln!("note: {n}");
    }
    let report = if a.dry_run {
        None
    } else {
        let mut client = a.server.connect()?;
        Some((client.server(), coxa_pacs::results::push(client.as_mut(), &objects)?))
    };
    let kinds = |k: coxa_pacs::results::Kind| objects.objects.iter().filter(|o| o.kind == k).count();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "study_uid": source.study_uid(), "source_series_uid": source.series_uid(), "objects": objects.objects, "notes": objects.notes, "stored": report.as_ref().map(|r| &r.1) })
            )?
        );
        return Ok(());
    }
    use coxa_pacs::results::Kind;
    let what = format!("{} SEG, {} SR, {} PDF, {} secondary capture", kinds(Kind::Seg), kinds(Kind::Sr), kinds(Kind::Pdf), kinds(Kind::Sc));
    match report {
        Some((server, r)) => {
            println!("pushed {} objects ({what}) into study {} on {server}: {} stored", r.sent, source.study_uid(), r.stored);
            for w in &r.warnings {
                println!("  warning: {w}");
            }
        }
        None => println!("built {} objects ({what}) for study {} (dry run: nothing sent)", objects.objects.len(), source.study_uid()),
    }
    Ok(())
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

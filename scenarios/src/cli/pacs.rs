//! `coxa pacs echo | find | pull | push`: the hospital's PACS over DICOMweb or DIMSE; the
//! connection and the pull are [`coxa_case::pacs`]'s.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use coxa_case::pacs::{PullRequest, Server, source_of};
use coxa_pacs::{Address, FindQuery};

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
    /// The library's value of these flags.
    pub fn server(&self) -> Server {
        Server { server: self.server.clone(), timeout_s: self.timeout_s, aet: self.aet.clone(), token_file: self.token_file.clone(), ca_bundle: self.ca_bundle.clone() }
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
        PacsCommand::Pull(a) => pull(a),
        PacsCommand::Push(a) => push(a),
    }
}

fn echo(a: &EchoArgs) -> anyhow::Result<()> {
    let mut client = a.server.server().connect()?;
    let how = if matches!(Address::parse(&a.server.server)?, Address::Web { .. }) { "QIDO-RS search, limit=1" } else { "C-ECHO" };
    let t = Instant::now();
    client.echo()?;
    println!("{} answered ({how}) in {:.0} ms", client.server(), t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

fn find(a: &FindArgs) -> anyhow::Result<()> {
    let mut client = a.server.server().connect()?;
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

/// Pulls the study and chooses the planning series ([`coxa_case::pacs::pull`]).
fn pull(a: &PullArgs) -> anyhow::Result<()> {
    let request = PullRequest { study: a.study.clone(), out: a.out.clone(), series: a.series.clone(), no_choose: a.no_choose, retrieve: a.retrieve.clone(), move_port: a.move_port };
    let (_, text) = coxa_case::pacs::pull(&a.server.server(), &request)?;
    if a.json {
        println!("{text}");
    }
    Ok(())
}

fn push(a: &PushArgs) -> anyhow::Result<()> {
    // Its records checked against the manifest and their schemas before any is used (issue 61).
    coxa_case::checked::case_records(&a.case)?;
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
            coxa_case::atomic::write_new(&keep.join(format!("{:02}_{kind}.dcm", i + 1)), &o.bytes)?;
        }
    }
    for n in &objects.notes {
        eprintln!("note: {n}");
    }
    let report = if a.dry_run {
        None
    } else {
        let mut client = a.server.server().connect()?;
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

//! `coxa run`: a scenario file run (or merged) into its results folder, and what it prints.

use std::path::{Path, PathBuf};

use clap::Args;
use coxa_case::merge::CaseState;
use coxa_case::scenario::Scenario;

/// Arguments of `coxa run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML, schema_version = 1).
    pub scenario: PathBuf,
    /// Results folder instead of the scenario's `output_dir`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Start even when the run's estimate (time, memory, disk; printed for large sweeps) is past
    /// a limit.
    #[arg(long)]
    pub yes: bool,
    /// Run only shard I of N (0 <= I < N): cases I, I+N, ... of the scenario (or of
    /// --cases-file); shards share one results folder and never write the same file.
    #[arg(long, value_name = "I/N", value_parser = coxa_case::shard::Shard::parse, conflicts_with = "merge")]
    pub shard: Option<coxa_case::shard::Shard>,
    /// Only the cases named in this file (one per line).
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub cases_file: Option<PathBuf>,
    /// Run nothing: build summary.json, summary.csv and index.html from whatever finished, and
    /// list the cases missing, failed or half-written.
    #[arg(long)]
    pub merge: bool,
    /// The meshes' formats (`--mesh-format`).
    #[command(flatten)]
    pub meshes_out: super::MeshFormatArgs,
}

/// The run's outcome, a line per case.
pub(super) fn print_outcome(o: &coxa_case::run::RunOutcome) {
    println!("results in {}", o.out.display());
    for c in &o.finished {
        println!("done       {c}  {}", o.out.join("cases").join(c).join("report.html").display());
    }
    for c in &o.skipped {
        println!("skipped    {c} (finished earlier)");
    }
    for (c, e) in &o.failed {
        println!("FAILED     {c}: {e}");
    }
}

/// Runs `coxa run`.
pub fn cli(args: &RunArgs) -> anyhow::Result<()> {
    let mut scn = coxa_case::scenario::Scenario::load(&args.scenario)?;
    scn.mesh_formats.clone_from(&args.meshes_out.mesh_format);
    if args.merge {
        return merge(&scn, args.out.as_deref());
    }
    coxa_case::estimate::check(&scn, args.yes)?;
    let selection = coxa_case::run::Selection { cases: args.cases_file.as_deref().map(coxa_case::shard::read_case_list).transpose()?, shard: args.shard };
    let outcome = coxa_case::run::run_selected(&scn, args.out.as_deref(), !super::progress::quiet(), &selection)?;
    print_outcome(&outcome);
    if !outcome.failed.is_empty() {
        let of = outcome.finished.len() + outcome.skipped.len() + outcome.failed.len();
        // The work ran and some of it failed: exit status 1, not 2 (issue 58).
        let why = format!("{} of {of} cases failed (see failed/*.json in {}); run the same command again to retry them", outcome.failed.len(), outcome.out.display());
        return Err(coxa_case::Error::failed(why).into());
    }
    Ok(())
}

/// `coxa run SCENARIO --merge`: merges, prints what is not done, and fails (exit 1: the work ran, some of it failed) unless
/// every case is done.
///
/// # Errors
/// As [`coxa_case::merge::merge`]; some case is not done (after the summary is written).
fn merge(scn: &Scenario, out: Option<&Path>) -> anyhow::Result<()> {
    let out = out.map_or_else(|| scn.output_dir.clone(), Path::to_path_buf);
    let m = coxa_case::merge::merge(scn, &out)?;
    println!("merged {}: {} of {} cases done", out.display(), m.cases_in("done").len(), m.states.len());
    for (name, state) in &m.states {
        match state {
            CaseState::Done => {}
            CaseState::Failed(e) | CaseState::Damaged(e) => println!("{:<11}{name}: {e}", state.name().to_uppercase()),
            _ => println!("{:<11}{name}", state.name().to_uppercase()),
        }
    }
    for h in &m.half_written {
        println!("half-written (ignored): {h}");
    }
    let not_done = m.states.len() - m.cases_in("done").len();
    if not_done > 0 {
        return Err(coxa_case::Error::failed(format!(
            "{not_done} of {} cases are not done (summary.json lists them); run the scenario again, or `coxa submit {} --slurm --out {}` to submit only those",
            m.states.len(),
            scn.file.display(),
            out.display()
        ))
        .into());
    }
    Ok(())
}

//! `coxa run`: a scenario file run (or merged) into its results folder, and what it prints.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `coxa run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML, schema_version = 1).
    pub scenario: PathBuf,
    /// Results folder instead of the scenario's `output_dir`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Start even when the run's estimate (time, memory, disk; printed for large sweeps) is past
    /// a limit.
    #[arg(long)]
    pub yes: bool,
    /// Run only shard I of N (0 <= I < N): cases I, I+N, ... of the scenario (or of
    /// --cases-file); shards share one results folder and never write the same file.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::Shard::parse, conflicts_with = "merge")]
    pub shard: Option<crate::shard::Shard>,
    /// Only the cases named in this file (one per line).
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub cases_file: Option<PathBuf>,
    /// Run nothing: build summary.json, summary.csv and index.html from whatever finished, and
    /// list the cases missing, failed or half-written.
    #[arg(long)]
    pub merge: bool,
}

/// The run's outcome, a line per case.
pub(super) fn print_outcome(o: &crate::run::RunOutcome) {
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
    let scn = crate::scenario::Scenario::load(&args.scenario)?;
    if args.merge {
        return crate::merge::cli(&scn, args.out.as_deref());
    }
    crate::estimate::check(&scn, args.yes)?;
    let selection = crate::run::Selection { cases: args.cases_file.as_deref().map(crate::shard::read_case_list).transpose()?, shard: args.shard };
    let outcome = crate::run::run_selected(&scn, args.out.as_deref(), !args.quiet, &selection)?;
    print_outcome(&outcome);
    if !outcome.failed.is_empty() {
        let of = outcome.finished.len() + outcome.skipped.len() + outcome.failed.len();
        anyhow::bail!("{} of {of} cases failed (see failed/*.json in {}); run the same command again to retry them", outcome.failed.len(), outcome.out.display());
    }
    Ok(())
}

//! `coxa shape build`: coxa's whole-pelvis shape model of an atlas; the work is
//! [`coxa_case::population`]'s.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use coxa_case::population::build_pelvis_atlas;

/// `coxa shape`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ShapeArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ShapeCommand,
}

/// `coxa shape` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ShapeCommand {
    /// Build coxa's whole-pelvis shape model (left hip, right hip, sacrum) from a pelvis atlas of
    /// corresponding surfaces, for `cases_from_shape_model.pelvis_model`.
    Build(BuildArgs),
}

/// `coxa shape build`'s arguments.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The pelvis atlas folder (LeftHip<id>_cpd.vtk, RightHip<id>_cpd.vtk, Sacrum<id>_cpd.vtk, in it or in surface/).
    #[arg(long)]
    pub atlas: PathBuf,
    /// The model file to write (.ssm; never over an existing file).
    #[arg(long)]
    pub out: PathBuf,
}

/// `coxa shape build --atlas DIR --out FILE.ssm`: coxa's whole-pelvis model of the atlas.
///
/// # Errors
/// No atlas, broken surfaces, an existing output file.
pub fn cli(args: &ShapeArgs) -> Result<()> {
    let ShapeCommand::Build(args) = &args.command;
    if args.out.exists() {
        bail!("{} already exists; coxa never overwrites: choose another --out", args.out.display());
    }
    let model = build_pelvis_atlas(&args.atlas).map_err(anyhow::Error::msg)?;
    model.save(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} vertices, {} modes, parts {}, from {} subjects ({})",
        args.out.display(),
        model.n_vertices(),
        model.n_modes(),
        model.parts().iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
        model.info().provenance.n_subjects,
        model.info().provenance.licence
    );
    Ok(())
}

//! Features of one label as CSV lines (`name,value`), with the wall time on stderr:
//! `cargo run --release -p coxa-diagnostics --example radiomics -- IMAGE MASK LABEL [PARAMS.yaml]`.
//! (`coxa radiomics` is the command for users.)

use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    anyhow::ensure!(a.len() >= 4, "usage: radiomics IMAGE MASK LABEL [PARAMS.yaml]");
    let read = |p: &str| -> anyhow::Result<coxa_core::Volume> {
        Ok(if coxa_io::nrrd::is_nrrd_path(Path::new(p)) { coxa_io::nrrd::read_volume(Path::new(p))? } else { coxa_io::nifti::read_volume(Path::new(p))? })
    };
    let read_mask = |p: &str| -> anyhow::Result<coxa_core::LabelMap> {
        Ok(if coxa_io::nrrd::is_nrrd_path(Path::new(p)) { coxa_io::nrrd::read_label_map(Path::new(p))? } else { coxa_io::nifti::read_label_map(Path::new(p))? })
    };
    let (image, mask) = (read(&a[1])?, read_mask(&a[2])?);
    let mut params = match a.get(4) {
        Some(p) => coxa_diagnostics::Params::from_yaml(&std::fs::read_to_string(p)?)?,
        None => coxa_diagnostics::Params::default(),
    };
    params.settings.label = a[3].parse()?;
    let t = Instant::now();
    let mut f = coxa_diagnostics::extract(&image, &mask, &params)?;
    let n = 20;
    for _ in 1..n {
        f = coxa_diagnostics::extract(&image, &mask, &params)?;
    }
    eprintln!("{} features, {:.1} ms per extraction (mean of {n})", f.len(), t.elapsed().as_secs_f64() * 1e3 / f64::from(n));
    for (name, v) in f {
        println!("{name},{v}");
    }
    Ok(())
}

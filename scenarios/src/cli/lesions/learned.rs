//! `coxa lesions --model CARD`: bone lesions marked by a learned model; the search and the files
//! are [`coxa_case::lesions::learned`]'s.

use std::path::Path;

use anyhow::{Context, bail};
use coxa_case::lesions::learned::{PROBABILITY, UNCERTAINTY, search, write};
use coxa_case::lesions::{JSON, MAP, file_name, read_labels, write_seg};
use coxa_diagnostics::lesions::learned::LearnedSettings;
use coxa_diagnostics::lesions::{self, MIN_SLICES};

use super::LesionsArgs;

/// Runs `coxa lesions --model CARD` (the output folder checked by [`super::run`]):
/// the lines the command line prints.
pub fn run(args: &LesionsArgs, card: &Path) -> anyhow::Result<Vec<String>> {
    let settings = LearnedSettings { threshold: args.threshold.unwrap_or(LearnedSettings::default().threshold), ..Default::default() };
    if !(settings.threshold > 0.0 && settings.threshold < 1.0) {
        bail!("--threshold {}: give a lesion probability between 0 and 1 (exclusive), e.g. 0.5", settings.threshold);
    }
    let loaded = crate::cli::open_ct(&args.ct, "lesions")?;
    let is_dicom = matches!(loaded.source, coxa_io::SourceKind::Dicom(_));
    let ct = loaded.volume;
    let slices = ct.grid().shape_kji()[0];
    if slices < MIN_SLICES {
        bail!("--ct {}: {}", args.ct.display(), lesions::LesionError::TooFewSlices(slices));
    }
    let (bones, names, bones_from) = match &args.labels {
        Some(p) => {
            let (b, n) = read_labels(p, args.label_names.as_deref(), &ct)?;
            (b, n, format!("label map {}", file_name(p)))
        }
        None => {
            let (b, n) = lesions::threshold_bone_mask(&ct, lesions::LesionSettings::default().metal_hu);
            (b, n, format!("threshold mask (HU >= {} closed by one voxel)", lesions::BONE_THRESHOLD_HU))
        }
    };
    if !bones.iter().any(|l| *l != 0) {
        bail!("--ct {}: {}", args.ct.display(), lesions::LesionError::NoBone);
    }
    let s = search(&ct, &bones, &names, card, &args.run.to_run(), settings)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    write(&args.out, &ct, &s, &file_name(&args.ct), &bones_from)?;
    let seg_file = if is_dicom { write_seg(&args.ct, &args.out)? } else { None };
    let (c, found) = (s.model.card(), &s.found);
    let mut lines = vec![format!(
        "wrote {} ({JSON}, {MAP}, {PROBABILITY}, {UNCERTAINTY}{}): {} lesion(s) marked by {} {}{}",
        args.out.display(),
        seg_file.map_or(String::new(), |s| format!(", {s}")),
        found.len(),
        c.name,
        c.version,
        if c.test_model { " (a TEST model, not for clinical use)" } else { "" }
    )];
    for l in found {
        let x = l.centre_lps_mm;
        lines.push(format!(
            "  {} {} in {}: {:.2} ml at LPS ({:.0}, {:.0}, {:.0}) mm, slices {}-{}, probability {:.2}",
            l.id, l.kind, l.bone, l.volume_ml, x[0], x[1], x[2], l.slices[0], l.slices[1], l.probability
        ));
    }
    Ok(lines)
}

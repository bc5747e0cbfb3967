//! `coxa pseudo-mri --model CARD`: the pseudo T2-weighted image made by a learned
//! image-to-image model; the image and its files are [`coxa_case::pseudo_mri::learned`]'s.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use coxa_case::pseudo_mri::learned::{make, write};
use coxa_case::pseudo_mri::{NOTE, ct_json};
use serde_json::Value;

use super::PseudoMriArgs;

/// Runs `coxa pseudo-mri --model CARD` (the output folder checked by [`super::run`]); returns the
/// record written.
pub fn run(args: &PseudoMriArgs, card: &Path) -> Result<Value> {
    let start = Instant::now();
    let d = coxa_diagnostics::pseudo_mri::Sequence::default();
    if args.tr_ms != d.tr_ms || args.te_ms != d.te_ms {
        bail!("--tr-ms/--te-ms: a learned model gives the contrast it was trained on (its card's output.tr_ms and te_ms); leave them out with --model");
    }
    if args.steps == Some(0) {
        bail!("--steps 0: give 1 or more network calls per slice (1 for a one-pass generator; a stepped graph's card says its default)");
    }
    let loaded = crate::cli::open_ct(&args.ct, "pseudo-mri")?;
    let is_dicom = matches!(loaded.source, coxa_io::SourceKind::Dicom(_));
    if args.dicom && !is_dicom {
        bail!("--dicom: {} is not a DICOM series; a DICOM MR series is derived from a DICOM CT (its study, frame of reference and images): give the CT's DICOM folder", args.ct.display());
    }
    let ct = &loaded.volume;
    coxa_diagnostics::pseudo_mri::check_ct(ct).with_context(|| format!("--ct {}", args.ct.display()))?;
    let learned = make(ct, card, args.steps, args.seed, args.threads)?;
    let (model, t, image) = (&learned.model, &learned.translation, &learned.image);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let dicom = if is_dicom && !args.no_dicom {
        let c = model.card();
        let info = coxa_pacs::pseudo_mr::PseudoMrInfo {
            note: NOTE.to_string(),
            method: format!("learned model {} {} (sha256 {}), {} step(s), seed {}", c.name, c.version, model.sha256(), t.steps, t.seed),
            tr_ms: c.output.tr_ms,
            te_ms: c.output.te_ms,
            field_t: c.output.field_t,
            contrast: coxa_pacs::pseudo_mr::Contrast::Imitated,
        };
        Some(coxa_case::pseudo_mri::dicom::write_image(&args.ct, &args.out.join("dicom"), image, &info)?)
    } else {
        None
    };
    Ok(write(&args.out, &learned, ct_json(&args.ct, &loaded), dicom, Some(start))?)
}

//! The `[pseudo_mri]` stage (issue 43): the case's CT as a pseudo T2-weighted image
//! ([`coxa_diagnostics::pseudo_mri`], as `coxa pseudo-mri` makes it), written to the case's
//! `pseudo_mri/` folder (`pseudo_t2.nii.gz`, `pseudo_mri.json`), with a picture of the middle
//! slice, CT beside pseudo-MRI (`pictures/pseudo_mri.png`, in the report), a line in the summary
//! and a section of the report ([`coxa_core::report::PseudoMriSummary`]).
//!
//! ```toml
//! [pseudo_mri]
//! tr_ms = 4000   # optional, the spin echo's repetition time
//! te_ms = 100    # optional, its echo time
//! # or the learned path (`coxa pseudo-mri --model`), instead of tr_ms/te_ms:
//! # model = "pseudo_t2.toml"   # an image-translation card, relative to the scenario
//! # steps = 4                  # optional, network calls per slice (default: the card's)
//! # seed = 7                   # optional, the noise's seed (default: the card's)
//! ```

use std::path::Path;

use crate::error::{Context, Result};
use coxa_core::Volume;
use coxa_core::report::PseudoMriSummary;
use coxa_diagnostics::pseudo_mri::{PseudoMri, Sequence};
use serde_json::json;

use crate::pseudo_mri as cmd;
use crate::scenario::PseudoMriStage;

/// The case's folder of the stage.
pub const FOLDER: &str = "pseudo_mri";
/// The picture of the middle slice, as the case folder names it.
pub const PICTURE: &str = "pictures/pseudo_mri.png";

/// The sequence `stage` asks for (the defaults where it says nothing).
pub fn sequence(stage: &PseudoMriStage) -> Sequence {
    let d = Sequence::default();
    Sequence { tr_ms: stage.tr_ms.unwrap_or(d.tr_ms), te_ms: stage.te_ms.unwrap_or(d.te_ms), ..d }
}

/// The image the stage made, by either path.
pub enum Made {
    /// The model-free path's image and record.
    ModelFree(Box<PseudoMri>),
    /// A learned model's image, with the model and how it ran.
    Learned(Box<cmd::learned::Learned>),
}

/// The stage's result: the image, and its picture's PNG.
pub struct Outcome {
    /// The pseudo-MRI.
    pub made: Made,
    /// CT beside pseudo-MRI, the middle slice (PNG bytes).
    pub picture: Vec<u8>,
    /// What the report and the summary say.
    pub summary: PseudoMriSummary,
}

/// Grey values 0..255 of `v` in the window `[lo, hi]`.
fn grey(v: f32, lo: f32, hi: f32) -> u8 {
    (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
}

/// The middle slice (array axis 0) of the CT (window -160..240 HU) beside the pseudo-MRI (0 to
/// its 99.5th percentile), as an 8-bit grey PNG, rows flipped so that anterior is up for an LPS
/// grid whose rows run posterior.
fn picture(ct: &Volume, pm: &Volume) -> Result<Vec<u8>> {
    let [ni, nj, nk] = ct.grid().size();
    let k = nk / 2;
    let (hu, img) = (ct.hu(), pm.hu());
    let mut sorted: Vec<f32> = img.iter().copied().collect();
    sorted.sort_by(f32::total_cmp);
    let top = sorted[(sorted.len() as f64 * 0.995) as usize].max(1.0);
    let flip = ct.grid().direction()[(1, 1)] < 0.0;
    let (w, h) = (2 * ni + 4, nj);
    let mut px = vec![0u8; w * h];
    for j in 0..nj {
        let row = if flip { nj - 1 - j } else { j };
        for i in 0..ni {
            px[row * w + i] = grey(hu[[k, j, i]], -160.0, 240.0);
            px[row * w + ni + 4 + i] = grey(img[[k, j, i]], 0.0, top);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&px)?;
    }
    Ok(out)
}

/// Runs the stage on the case's CT: the learned path with the stage's model card, else the
/// model-free one.
///
/// # Errors
/// The CT cannot give a pseudo-MRI (too small, NaN, not HU), the sequence is out of range, or
/// the model's card, weights or graph do not fit.
pub fn run(stage: &PseudoMriStage, ct: &Volume) -> Result<Outcome> {
    if let Some(card) = &stage.model {
        let l = cmd::learned::make(ct, card, stage.steps, stage.seed, None).context("[pseudo_mri] model")?;
        let picture = picture(ct, &l.image).context("the pseudo-MRI picture")?;
        let c = l.model.card();
        let summary = PseudoMriSummary {
            folder: FOLDER.to_string(),
            image: format!("{FOLDER}/{}", cmd::IMAGE),
            tr_ms: c.output.tr_ms,
            te_ms: c.output.te_ms,
            method: format!("learned model {} {}{}, {} step(s), seed {}", c.name, c.version, if c.test_model { " (a TEST MODEL)" } else { "" }, l.translation.steps, l.translation.seed),
            canal_found: false,
            canal_length_mm: 0.0,
            tissue_values: Vec::new(),
            note: cmd::NOTE.to_string(),
        };
        return Ok(Outcome { made: Made::Learned(Box::new(l)), picture, summary });
    }
    let seq = sequence(stage);
    seq.check().map_err(|e| crate::err!("[pseudo_mri] tr_ms/te_ms: {e}"))?;
    let pm = cmd::make(ct, &seq, "the case's CT")?;
    let picture = picture(ct, &pm.image).context("the pseudo-MRI picture")?;
    let c = &pm.record.canal;
    let summary = PseudoMriSummary {
        folder: FOLDER.to_string(),
        image: format!("{FOLDER}/{}", cmd::IMAGE),
        tr_ms: seq.tr_ms,
        te_ms: seq.te_ms,
        method: "model-free".to_string(),
        canal_found: c.found,
        canal_length_mm: c.length_mm,
        tissue_values: pm.record.tissues.iter().map(|t| (serde_json::to_value(t.tissue).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(), t.value)).collect(),
        note: cmd::NOTE.to_string(),
    };
    Ok(Outcome { made: Made::ModelFree(Box::new(pm)), picture, summary })
}

/// Writes `pseudo_mri/` (the image and the record) into the case folder `dir`.
///
/// # Errors
/// The folder or a file cannot be written (or exists).
pub fn write(dir: &Path, o: &Outcome) -> Result<()> {
    let folder = dir.join(FOLDER);
    std::fs::create_dir(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let ct = json!({"file": "the case's CT", "format": "case"});
    match &o.made {
        Made::ModelFree(pm) => {
            cmd::write(&folder, pm, ct, None)?;
        }
        Made::Learned(l) => {
            cmd::learned::write(&folder, l, ct, None, None)?;
        }
    }
    Ok(())
}

/// The summary's line.
pub fn summary_line(s: &PseudoMriSummary) -> String {
    if s.method != "model-free" {
        return format!("{} ({})", s.image, s.method);
    }
    format!("{} (TR {} ms, TE {} ms; spinal canal {})", s.image, s.tr_ms, s.te_ms, if s.canal_found { format!("found over {:.0} mm", s.canal_length_mm) } else { "not found".to_string() })
}

/// The stage in a case: with a `[pseudo_mri]` section and a CT, the image written into the case
/// folder `dir`, its summary and its picture returned; a warning (and nothing) for a case
/// without a CT (bone surfaces as input).
///
/// # Errors
/// [`run`]'s and [`write`]'s.
pub fn in_case(
    stage: Option<&PseudoMriStage>,
    ct: Option<&Volume>,
    dir: &Path,
    progress: super::Progress<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<(PseudoMriSummary, super::pictures::Picture)>> {
    let Some(stage) = stage else { return Ok(None) };
    let Some(ct) = ct else {
        warnings.push("pseudo-MRI: none, this case has no CT (bone surfaces as input)".into());
        return Ok(None);
    };
    progress("pseudo-MRI");
    let o = run(stage, ct).context("pseudo-MRI stage")?;
    write(dir, &o)?;
    let picture = super::pictures::Picture { view: "pseudo_mri (CT | pseudo-T2 MRI, middle slice; not for diagnosis alone)".into(), file: PICTURE.into(), png: o.picture };
    Ok(Some((o.summary, picture)))
}

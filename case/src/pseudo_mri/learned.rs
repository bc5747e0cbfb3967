//! The pseudo T2-weighted image made by a learned image-to-image
//! model ([`coxa_infer::translation`]: a card with `task = "image-translation"`, the user's own
//! slice-wise generator or diffusion step exported to ONNX), run on every axial slice of the CT,
//! on the CT's grid. Writes what the model-free path writes (`pseudo_t2.nii.gz`: the model's
//! values rounded to int16 and kept within 0..32767; `pseudo_mri.json`; for a DICOM CT the MR
//! series in `dicom/`, derived and not for diagnosis alone), the record naming the model (name,
//! version, SHA-256, test model or not, card), the sampling (steps and seed, which reproduce the
//! image bit for bit) and the seconds (ONNX Runtime's own and the whole path's).
//!
//! Refusals (one line, exit status 2, nothing written): a card of another task, missing weights,
//! weights whose SHA-256 is not the card's, a graph that does not match the card (rank,
//! channels, inputs), `--steps 0` or several steps for a one-pass graph; a non-CT input, a CT of
//! fewer than 5 voxels along an axis, NaN voxels.

use std::path::Path;
use std::time::Instant;

use crate::error::{Context, Result};
use coxa_core::{Volume, Voxels};
use coxa_infer::SessionConfig;
use coxa_infer::translation::{Translation, TranslationModel, TranslationOptions};
use serde_json::{Value, json};

use super::{IMAGE, NOTE, RECORD, grid_json};

/// The largest value the image holds (int16).
const MAX_VALUE: f32 = 32767.0;

/// A learned pseudo-MRI: the model, how it ran, the image on the CT's grid.
pub struct Learned {
    /// The model (card, weights' SHA-256).
    pub model: TranslationModel,
    /// The model's values, steps, seed and time.
    pub translation: Translation,
    /// The values rounded to int16 within 0..32767 ([`to_image`]).
    pub image: Volume,
    /// Voxels whose values were outside 0..32767.
    pub clamped: usize,
}

/// The learned pseudo-MRI of `ct` (checked by [`coxa_diagnostics::pseudo_mri::check_ct`] first)
/// by the model of `card`, with `steps` and `seed` (default: the card's) on `threads` ONNX
/// Runtime threads (default: every core); for the command and the `[pseudo_mri]` stage.
///
/// # Errors
/// The CT's refusals, the card's and the model's (one line each).
pub fn make(ct: &Volume, card: &Path, steps: Option<u32>, seed: Option<u64>, threads: Option<usize>) -> Result<Learned> {
    coxa_diagnostics::pseudo_mri::check_ct(ct)?;
    let mut config = SessionConfig::default();
    if let Some(t) = threads {
        config.intra_threads = t.max(1);
    }
    let mut model = TranslationModel::load(card, &config).with_context(|| format!("--model {}", card.display()))?;
    let options = TranslationOptions { steps, seed, ..TranslationOptions::default() };
    let translation = model.translate(ct, &options).with_context(|| format!("--model {}", card.display()))?;
    let (image, clamped) = to_image(ct, &translation)?;
    Ok(Learned { model, translation, image, clamped })
}

/// Writes `pseudo_t2.nii.gz` and `pseudo_mri.json` of `l` into the existing folder `dir`; `ct`
/// describes the CT read (no patient identity), `dicom` the series written; with `started`, the
/// record's `seconds.command` is the time since. Returns the record.
pub fn write(dir: &Path, l: &Learned, ct: Value, dicom: Option<Value>, started: Option<Instant>) -> Result<Value> {
    coxa_io::nifti::write_volume(&l.image, &dir.join(IMAGE)).with_context(|| format!("writing {}", dir.join(IMAGE).display()))?;
    let t = &l.translation;
    let record = json!({
        "coxa_version": env!("CARGO_PKG_VERSION"),
        "note": NOTE,
        "image": IMAGE,
        "ct": ct,
        "grid": grid_json(&l.image),
        "method": "learned",
        "model": model_record(&l.model),
        "model_free": Value::Null,
        "learned": learned_record(&l.model, t, l.clamped),
        "seconds": {
            "onnx_runtime": t.timing.onnx_runtime_s,
            "translation": t.timing.translation_s,
            "command": started.map(|s| s.elapsed().as_secs_f64()),
            "network_calls": t.timing.calls,
        },
        "dicom": dicom,
    });
    crate::stamp::write(&dir.join(RECORD), "pseudo_mri", &record)?;
    Ok(record)
}

/// The model's values rounded to int16 on the CT's grid, kept within 0..32767 (a magnitude
/// image, as MR's); the count of voxels that were outside.
pub fn to_image(ct: &Volume, t: &Translation) -> Result<(Volume, usize)> {
    let mut clamped = 0;
    let values = t.values.mapv(|v| {
        let r = v.round();
        if !(0.0..=MAX_VALUE).contains(&r) {
            clamped += 1;
        }
        r.clamp(0.0, MAX_VALUE) as i16
    });
    Ok((Volume::from_voxels(ct.grid().clone(), Voxels::I16(values))?, clamped))
}

/// The model as `pseudo_mri.json`'s `model` names it.
pub fn model_record(model: &TranslationModel) -> Value {
    let c = model.card();
    json!({
        "name": c.name,
        "version": c.version,
        "sha256": model.sha256(),
        "test_model": c.test_model,
        "task": c.task,
        "card": model.card_path().file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        "description": c.description,
    })
}

/// How the learned image was made: enough to make it again bit for bit.
pub fn learned_record(model: &TranslationModel, t: &Translation, clamped: usize) -> Value {
    let c = model.card();
    let s = &c.sampling;
    json!({
        "slice_wise": "every axial slice (the CT's third index) on its own, at the CT's own pixels",
        "steps": t.steps,
        "seed": t.seed,
        "batch": t.batch,
        "canvas": t.canvas.map(|[rows, cols]| json!({"rows": rows, "cols": cols, "what": "the graph takes slices of this fixed size: each slice was placed in its middle on air (the input clip range's low end) and the output cropped back"})),
        "noise": if t.draws_noise {
            json!("standard normal: per slice k, SplitMix64 seeded with the (k+1)-th output of SplitMix64(seed), Box-Muller in f64 rounded to f32 (coxa_infer::translation)")
        } else {
            Value::Null
        },
        "inputs": {"slice": c.input.name, "state": s.state_input, "init": s.state_input.as_ref().map(|_| s.init), "noise": s.noise_input, "step": s.step_input, "steps": s.steps_input},
        "input_scaling": {"clip_hu": c.input.clip_hu, "scaled_to": c.input.scaled_to},
        "output_scaling": {"from": c.output.from, "to": c.output.to, "unit": c.output.unit, "rounded": "to int16", "clamped_voxels": clamped, "clamped_to": [0.0, MAX_VALUE]},
        "sequence": {"tr_ms": c.output.tr_ms, "te_ms": c.output.te_ms, "field_t": c.output.field_t, "what": "the sequence of the MR images the model was trained to give, as its card states it"},
    })
}

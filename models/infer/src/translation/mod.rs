//! Image-to-image translation models (`task = "image-translation"`, `coxa pseudo-mri --model`):
//! a user's own slice-wise generator exported to ONNX (a pix2pix generator, one pass; or one step
//! of a diffusion sampler, called `steps` times), run on every axial slice of a CT, its output on
//! the CT's own grid (no resampling: the model sees the CT's own pixels).
//!
//! ```toml
//! card_version = 1
//! name = "my-pseudo-t2"
//! version = "1.0.0"
//! task = "image-translation"
//! test_model = false                 # true: a test model, never clinical (say so in the description)
//! description = "what it was trained on, how it was validated"
//! weights = "pseudo_t2.onnx"         # relative to the card
//! sha256 = "..."                     # of the weights file, lower-case hex
//!
//! [input]
//! name = "ct"                        # the ONNX input: float32 [N, 1, rows, cols], one axial slice
//! modality = "CT"                    # rows along j (the CT's second index), cols along i
//! clip_hu = [-1000.0, 1500.0]        # HU clipped to this range ...
//! scaled_to = [-1.0, 1.0]            # ... then mapped linearly onto this one
//!
//! [output]
//! name = "t2"                        # the ONNX output: float32 [N, 1, rows, cols]
//! from = [-1.0, 1.0]                 # the network's values from[0]..from[1] ...
//! to = [0.0, 1000.0]                 # ... map linearly onto the image's values to[0]..to[1]
//! unit = "1000 S"                    # what the image's values are
//! tr_ms = 4000.0                     # the sequence of the MR images the model was trained to give
//! te_ms = 100.0                      # (written into the DICOM MR series)
//! field_t = 3.0
//!
//! [sampling]                         # optional; absent: one pass
//! steps = 1                          # calls per slice (`--steps` overrides); > 1 needs state_input
//! seed = 0                           # the noise generator's seed (`--seed` overrides)
//! state_input = "x_t"                # optional: float32 [N, 1, rows, cols], the current image
//! init = "noise"                     # the first state: "noise" (standard normal) or "zeros"
//! noise_input = "noise"              # optional: float32 [N, 1, rows, cols], fresh noise each call
//! step_input = "t"                   # optional: int64 or float32 [N], the step index
//! steps_input = "steps"              # optional: int64 or float32 [N], the number of steps
//! ```
//!
//! # Sampling
//! A one-pass generator takes only the slice: `output = G(slice)`. A stepped graph (one step of
//! a diffusion or flow sampler, exported with its schedule inside) also takes the current state:
//! for call `n = 0 .. steps-1` coxa feeds the slice, the state (the first: noise or zeros, as
//! `init` says; later: the previous call's output), the step index `steps - 1 - n` (counting down
//! to 0 on the last call, as a sampler's timestep index does), the number of steps, and fresh
//! noise; the last call's output is the image.
//!
//! # Noise
//! Each slice `k` (0-based, the CT's third index) draws from its own generator, so a slice's
//! noise does not depend on the batch or on which slices ran before: SplitMix64 (Steele, Lea and
//! Flood, OOPSLA 2014) seeded with the `(k+1)`-th output of SplitMix64 seeded with `seed`. Normal
//! values come in pairs from two outputs `a`, `b`: `u1 = ((a >> 11) + 1) / 2^53` (in (0, 1]),
//! `u2 = (b >> 11) / 2^53`, `r = sqrt(-2 ln u1)`, `z0 = r cos(2 pi u2)`, `z1 = r sin(2 pi u2)`
//! (Box-Muller), computed in f64 and rounded to f32. A slice draws its first state (with `init =
//! "noise"`), then each call's noise image, each image row-major (rows j, then columns i) and
//! drawn whole in pairs (an odd pixel count drops the last `z1`). [`noise`] holds the generator;
//! `models/infer/tests/peer_translation.py` reproduces it in ten lines of numpy.
//!
//! Why SplitMix64 and Box-Muller, hand-written: the same seed must give the same image on every
//! coxa and every machine, and a user must be able to draw the same noise in Python to check a
//! result. `rand`'s `StdRng` may change its algorithm between versions (its docs say so) and
//! `rand_distr`'s normal uses a ziggurat whose tables a user would have to copy; SplitMix64 is
//! six lines and Box-Muller two, both in every textbook. (numpy and Rust may differ in the last
//! bit of `ln`, `cos`, `sin` in f64, which almost never survives the rounding to f32.)

mod noise;
mod run;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use noise::{SliceNoise, SplitMix64};
pub use run::{Translation, TranslationModel, TranslationOptions, TranslationTiming};

use crate::{Error, Result};

/// The task of translation cards.
pub const TASK: &str = "image-translation";

/// Most calls per slice a card or `--steps` may ask for.
pub const MAX_STEPS: u32 = 1000;

/// A translation model card (see the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslationCard {
    /// Must be [`crate::card::CARD_VERSION`].
    pub card_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Must be [`TASK`].
    pub task: String,
    /// True for test models (not for clinical use).
    #[serde(default)]
    pub test_model: bool,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The ONNX file, relative to the card.
    pub weights: PathBuf,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// What the model takes.
    pub input: TranslationInput,
    /// What the model gives.
    pub output: TranslationOutput,
    /// How it is called.
    #[serde(default)]
    pub sampling: Sampling,
}

/// `[input]` of a translation card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslationInput {
    /// The ONNX input taking the slice.
    pub name: String,
    /// The imaging modality it takes (`"CT"`).
    pub modality: String,
    /// HU clipped to this range.
    pub clip_hu: [f64; 2],
    /// The clipped range mapped linearly onto this one.
    pub scaled_to: [f64; 2],
}

/// `[output]` of a translation card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslationOutput {
    /// The ONNX output giving the image (or the next state).
    pub name: String,
    /// The network's range ...
    pub from: [f64; 2],
    /// ... mapped linearly onto the image's values.
    pub to: [f64; 2],
    /// The image's unit.
    pub unit: String,
    /// Repetition time of the MR images the model imitates, ms.
    pub tr_ms: f64,
    /// Echo time of the MR images the model imitates, ms.
    pub te_ms: f64,
    /// Their field strength, T.
    pub field_t: f64,
}

/// The first state of a stepped graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Standard normal noise from the slice's generator.
    #[default]
    Noise,
    /// Zeros.
    Zeros,
}

/// `[sampling]` of a translation card.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// Calls per slice.
    #[serde(default = "one")]
    pub steps: u32,
    /// The noise generator's seed.
    #[serde(default)]
    pub seed: u64,
    /// The ONNX input taking the current state.
    #[serde(default)]
    pub state_input: Option<String>,
    /// The first state.
    #[serde(default)]
    pub init: Init,
    /// The ONNX input taking fresh noise each call.
    #[serde(default)]
    pub noise_input: Option<String>,
    /// The ONNX input taking the step index.
    #[serde(default)]
    pub step_input: Option<String>,
    /// The ONNX input taking the number of steps.
    #[serde(default)]
    pub steps_input: Option<String>,
}

fn one() -> u32 {
    1
}

impl Default for Sampling {
    fn default() -> Self {
        Self { steps: 1, seed: 0, state_input: None, init: Init::Noise, noise_input: None, step_input: None, steps_input: None }
    }
}

impl Sampling {
    /// The ONNX inputs besides the slice, in the order (state, noise, step, steps).
    pub fn extra_inputs(&self) -> [Option<&str>; 4] {
        [self.state_input.as_deref(), self.noise_input.as_deref(), self.step_input.as_deref(), self.steps_input.as_deref()]
    }

    /// True when the graph draws noise (a noise input, or a state that starts as noise).
    pub fn draws_noise(&self) -> bool {
        self.noise_input.is_some() || (self.state_input.is_some() && self.init == Init::Noise)
    }
}

/// Why `steps` cannot be used with `sampling`, if it cannot.
pub fn steps_problem(steps: u32, sampling: &Sampling) -> Option<String> {
    if steps == 0 || steps > MAX_STEPS {
        return Some(format!("{steps} steps; give 1..={MAX_STEPS} calls per slice (1 for a one-pass generator)"));
    }
    if steps > 1 && sampling.state_input.is_none() {
        return Some(format!(
            "{steps} steps, but the card names no sampling.state_input: a one-pass generator gives the same image at every call; give 1 step, or export a graph that takes its state"
        ));
    }
    None
}

impl TranslationCard {
    /// Reads and checks a card (the weights are checked by [`TranslationModel::load`]).
    pub fn read(path: &Path) -> Result<Self> {
        let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).map_err(|source| Error::CardRead { path: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// Parses and checks card text; `path` names it in errors. A card of another task is refused
    /// by its task before its other fields are read.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        if let Some(task) = crate::card::task_of(text).filter(|t| t != TASK) {
            return Err(Error::CardInvalid {
                path: path.to_path_buf(),
                field: "task".into(),
                problem: format!("is {task:?}, not {TASK:?}: this is not an image-to-image model card (a segmentation card goes to `coxa segment`, a lesion card to `coxa lesions`)"),
            });
        }
        let card: TranslationCard = toml::from_str(text).map_err(|source| Error::CardParse { path: path.to_path_buf(), source })?;
        card.check(path)?;
        Ok(card)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::CardInvalid { path: path.to_path_buf(), field: field.into(), problem });
        if self.card_version != crate::card::CARD_VERSION {
            return bad("card_version", format!("is {}, this coxa reads version {}", self.card_version, crate::card::CARD_VERSION));
        }
        if let Some(problem) = crate::card::weights_outside(&self.weights) {
            return bad("weights", problem);
        }
        if self.sha256.len() != 64 || !self.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return bad("sha256", format!("is {:?}; it must be 64 hex digits (`sha256sum MODEL.onnx`)", self.sha256));
        }
        if self.input.modality != "CT" {
            return bad("input.modality", format!("is {:?}; coxa translates CT (\"CT\")", self.input.modality));
        }
        let range = |r: [f64; 2]| r.iter().all(|v| v.is_finite()) && r[0] != r[1];
        if !range(self.input.clip_hu) || self.input.clip_hu[0] > self.input.clip_hu[1] {
            return bad("input.clip_hu", format!("is {:?}; give [low, high] HU, finite, low < high", self.input.clip_hu));
        }
        for (field, r) in [("input.scaled_to", self.input.scaled_to), ("output.from", self.output.from), ("output.to", self.output.to)] {
            if !range(r) {
                return bad(field, format!("is {r:?}; give two different finite numbers"));
            }
        }
        let o = &self.output;
        if !(o.tr_ms.is_finite() && o.tr_ms > 0.0 && o.te_ms.is_finite() && o.te_ms > 0.0 && o.field_t.is_finite() && o.field_t > 0.0) {
            return bad("output.tr_ms", format!("TR {} ms, TE {} ms, field {} T: give the sequence of the MR images the model was trained on (all > 0)", o.tr_ms, o.te_ms, o.field_t));
        }
        if let Some(problem) = steps_problem(self.sampling.steps, &self.sampling) {
            return bad("sampling.steps", problem);
        }
        let mut names: Vec<&str> = self.sampling.extra_inputs().into_iter().flatten().collect();
        names.push(&self.input.name);
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) || names.iter().any(|n| n.is_empty()) {
            return bad("sampling", format!("names the inputs {names:?}; each ONNX input once, none empty"));
        }
        Ok(())
    }

    /// Maps HU to the network's input (see [`TranslationInput`]): `(a, b)` of `a * clip(hu) + b`.
    pub fn input_affine(&self) -> (f32, f32, f32, f32) {
        let [lo, hi] = self.input.clip_hu;
        let [s0, s1] = self.input.scaled_to;
        let a = (s1 - s0) / (hi - lo);
        (lo as f32, hi as f32, a as f32, (s0 - a * lo) as f32)
    }

    /// Maps the network's output to the image's values: `(a, b)` of `a * y + b`.
    pub fn output_affine(&self) -> (f64, f64) {
        let [f0, f1] = self.output.from;
        let [t0, t1] = self.output.to;
        let a = (t1 - t0) / (f1 - f0);
        (a, t0 - a * f0)
    }
}

#[cfg(test)]
mod tests;

//! Loading a translation model and running it on every axial slice of a CT (the parent module's
//! docs say how).

use std::path::{Path, PathBuf};
use std::time::Instant;

use coxa_core::{HuValue, Volume};
use ndarray::Array3;
use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, TensorElementType, TensorRef, ValueType};

use super::{SliceNoise, TranslationCard, steps_problem};
use crate::model::{SessionConfig, make_session, sha256_hex};
use crate::runtime::runtime;
use crate::{Error, Result};

/// How a translation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslationOptions {
    /// Calls per slice; `None`: the card's `sampling.steps`.
    pub steps: Option<u32>,
    /// The noise seed; `None`: the card's `sampling.seed`.
    pub seed: Option<u64>,
    /// Slices per call (the graph's own where it fixes one). The result does not depend on it
    /// beyond ONNX Runtime's own batching (each slice has its own noise).
    pub batch: usize,
}

impl Default for TranslationOptions {
    fn default() -> Self {
        Self { steps: None, seed: None, batch: 4 }
    }
}

/// Where the time went.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct TranslationTiming {
    /// Inside ONNX Runtime's `Session::run`, s.
    pub onnx_runtime_s: f64,
    /// The whole translation (normalising, noise, the calls, mapping the output), s.
    pub translation_s: f64,
    /// Calls of the network.
    pub calls: usize,
}

/// The translated image and how it was made.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The image's values (the card's `output.to` unit), `[k, j, i]` on the CT's grid, unrounded.
    pub values: Array3<f32>,
    /// Calls per slice used.
    pub steps: u32,
    /// The noise seed used (recorded even when the graph draws no noise).
    pub seed: u64,
    /// True when noise was drawn.
    pub draws_noise: bool,
    /// Slices per call.
    pub batch: usize,
    /// The rows and columns of a fixed-size graph's canvas, when larger than the CT's slices
    /// (which were placed in its middle on air, the output cropped back); `None` when each slice
    /// was fed as it is.
    pub canvas: Option<[usize; 2]>,
    /// Time taken.
    pub timing: TranslationTiming,
}

/// A step input's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I64,
    F32,
}

/// A translation model: its card, checked weights and a session.
#[derive(Debug)]
pub struct TranslationModel {
    card: TranslationCard,
    card_path: PathBuf,
    weights: PathBuf,
    sha256: String,
    session: Session,
    /// The graph's fixed batch, rows and cols (`None`: dynamic).
    fixed: [Option<usize>; 3],
    /// The element types of the step and steps inputs.
    scalars: [Scalar; 2],
}

impl TranslationModel {
    /// Reads the card, checks the weights' SHA-256, makes a session with `config` and checks the
    /// graph's inputs and outputs against the card.
    pub fn load(card_path: &Path, config: &SessionConfig) -> Result<Self> {
        let card = TranslationCard::read(card_path)?;
        let weights = card_path.parent().unwrap_or(Path::new(".")).join(&card.weights);
        let bytes = coxa_io::read_bounded(&weights, coxa_io::Bound::WEIGHTS).map_err(|source| Error::WeightsRead { path: weights.clone(), card: card_path.to_path_buf(), source })?;
        let found = sha256_hex(&bytes);
        if !found.eq_ignore_ascii_case(&card.sha256) {
            return Err(Error::Sha256Mismatch { path: weights, card: card_path.to_path_buf(), expected: card.sha256.clone(), found });
        }
        let session = make_session(runtime()?, &bytes, config, false)?;
        coxa_core::provenance::note_use(coxa_core::provenance::ModelUse { kind: "onnx_model".into(), name: card.name.clone(), version: Some(card.version.clone()), sha256: Some(found.clone()) });
        let (fixed, scalars) = check_graph(&session, &card).map_err(|what| Error::ModelMismatch { weights: weights.clone(), card: card_path.to_path_buf(), what })?;
        Ok(Self { card, card_path: card_path.to_path_buf(), weights, sha256: found, session, fixed, scalars })
    }

    /// The card.
    pub fn card(&self) -> &TranslationCard {
        &self.card
    }
    /// The card file.
    pub fn card_path(&self) -> &Path {
        &self.card_path
    }
    /// The weights file.
    pub fn weights_path(&self) -> &Path {
        &self.weights
    }
    /// The weights' SHA-256 (lower-case hex).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Translates every axial slice of `ct` (see the module docs).
    ///
    /// # Errors
    /// Steps out of range or more than one without a state input, a CT with non-finite voxels,
    /// slices larger than a fixed-size graph takes (smaller ones are placed in the middle of its
    /// canvas on air, and the output cropped back), a failed call, an output of another shape
    /// than the input's or holding a non-finite value.
    pub fn translate(&mut self, ct: &Volume, options: &TranslationOptions) -> Result<Translation> {
        let start = Instant::now();
        let sampling = self.card.sampling.clone();
        let steps = options.steps.unwrap_or(sampling.steps);
        let seed = options.seed.unwrap_or(sampling.seed);
        if let Some(problem) = steps_problem(steps, &sampling) {
            return Err(Error::BadInput { what: format!("model {}: {problem}", self.card.name) });
        }
        let [nk, nj, ni] = ct.grid().shape_kji();
        // A fixed-size graph's canvas: smaller slices are placed in its middle on air (the clip
        // range's low end) and the output cropped back; larger ones are refused.
        let (rows, cols) = match self.fixed {
            [_, Some(r), Some(c)] if r < nj || c < ni => {
                return Err(Error::BadInput {
                    what: format!(
                        "model {} takes slices of {r} rows x {c} columns; the CT's are {nj} x {ni}, larger: crop the CT's slices to at most that, or export the graph with dynamic rows and columns",
                        self.card.name
                    ),
                });
            }
            [_, Some(r), Some(c)] => (r, c),
            _ => (nj, ni),
        };
        let (oj, oi) = ((rows - nj) / 2, (cols - ni) / 2);
        let (nan, inf) = ct.non_finite_counts();
        if nan + inf > 0 {
            return Err(Error::BadInput { what: format!("the CT has {} voxels that are not numbers; replace them (e.g. with -1024, air) first", nan + inf) });
        }
        // A graph exported with a fixed batch takes exactly that many slices a call: a last batch
        // of fewer is filled with copies of its last slice (zero state and noise), whose outputs
        // are dropped.
        let batch = self.fixed[0].unwrap_or(options.batch.max(1).min(nk.max(1)));
        let plane = rows * cols;
        let (lo, hi, a, b) = self.card.input_affine();
        let (oa, ob) = self.card.output_affine();
        // The image's values, a batch of slices at a time as the last call of each gives them
        // (mapped straight from ONNX Runtime's output buffer, no zeroed buffer first).
        let mut values: Vec<f32> = Vec::with_capacity(nk * plane);
        let mut timing = TranslationTiming::default();
        let mut x = Vec::with_capacity(batch * plane);
        let (mut state, mut noise, mut next) = (Vec::new(), Vec::new(), Vec::new());
        for k0 in (0..nk).step_by(batch) {
            let n = batch.min(nk - k0);
            // Slices fed a call: `n`, or the graph's fixed batch.
            let m = self.fixed[0].unwrap_or(n);
            // The slices' HU read in the type the CT stores them (`i16` or `f32`, exact as `f32`).
            // Each slice's rows onto its canvas (the canvas is the slice unless the graph's size
            // is fixed and larger).
            x.clear();
            x.resize(n * plane, a * lo + b);
            coxa_core::with_hu!(ct, |hu| {
                for (canvas, slice) in x.chunks_mut(plane).zip(hu.slice(ndarray::s![k0..k0 + n, .., ..]).outer_iter()) {
                    for (j, row) in slice.outer_iter().enumerate() {
                        let out = &mut canvas[(j + oj) * cols + oi..][..ni];
                        out.iter_mut().zip(row).for_each(|(o, &h)| *o = a * h.hu_f32().clamp(lo, hi) + b);
                    }
                }
            });
            let last = (n - 1) * plane..n * plane;
            for _ in n..m {
                x.extend_from_within(last.clone());
            }
            let mut gens: Vec<SliceNoise> = (k0..k0 + n).map(|k| SliceNoise::new(seed, k)).collect();
            if sampling.state_input.is_some() {
                state.clear();
                state.resize(m * plane, 0.0);
                if sampling.init == super::Init::Noise {
                    gens.iter_mut().zip(state.chunks_mut(plane)).for_each(|(g, s)| g.fill_normal(s));
                }
            }
            for call in 0..steps {
                if sampling.noise_input.is_some() {
                    noise.resize(m * plane, 0.0);
                    gens.iter_mut().zip(noise.chunks_mut(plane)).for_each(|(g, s)| g.fill_normal(s));
                    noise[n * plane..].fill(0.0);
                }
                let feed = Feed { n: m, rows, cols, slice: &x, state: &state, noise: &noise, step: steps - 1 - call, steps };
                if call + 1 == steps {
                    // The slice's rows back from each canvas.
                    self.call(&feed, &mut timing, |y| {
                        for canvas in y[..n * plane].chunks(plane) {
                            (0..nj).for_each(|j| values.extend(canvas[(j + oj) * cols + oi..][..ni].iter().map(|&y| (oa * f64::from(y) + ob) as f32)));
                        }
                    })?;
                } else {
                    next.clear();
                    self.call(&feed, &mut timing, |y| next.extend_from_slice(y))?;
                    std::mem::swap(&mut state, &mut next);
                }
            }
        }
        timing.translation_s = start.elapsed().as_secs_f64();
        let values = Array3::from_shape_vec((nk, nj, ni), values).expect("one value a voxel");
        let canvas = (rows, cols) != (nj, ni);
        Ok(Translation { values, steps, seed, draws_noise: sampling.draws_noise(), batch, canvas: canvas.then_some([rows, cols]), timing })
    }
}

/// What one call of the network is fed.
struct Feed<'a> {
    n: usize,
    rows: usize,
    cols: usize,
    slice: &'a [f32],
    state: &'a [f32],
    noise: &'a [f32],
    step: u32,
    steps: u32,
}

impl TranslationModel {
    /// One call: the inputs the card names, the output checked (shape, finite values) and handed
    /// to `take` where ONNX Runtime wrote it.
    fn call(&mut self, f: &Feed<'_>, timing: &mut TranslationTiming, take: impl FnOnce(&[f32])) -> Result<()> {
        let shape = [f.n, 1, f.rows, f.cols];
        let s = &self.card.sampling;
        fn image(shape: [usize; 4], data: &[f32]) -> Result<SessionInputValue<'_>> {
            Ok(TensorRef::from_array_view((shape, data)).map_err(|e| Error::ort("wrapping an input", e))?.into())
        }
        let scalar = |ty: Scalar, v: u32| -> Result<SessionInputValue<'static>> {
            Ok(match ty {
                Scalar::I64 => Tensor::from_array(([f.n], vec![i64::from(v); f.n])).map_err(|e| Error::ort("making the step input", e))?.into(),
                Scalar::F32 => Tensor::from_array(([f.n], vec![v as f32; f.n])).map_err(|e| Error::ort("making the step input", e))?.into(),
            })
        };
        let mut inputs: Vec<(String, SessionInputValue<'_>)> = vec![(self.card.input.name.clone(), image(shape, f.slice)?)];
        if let Some(name) = &s.state_input {
            inputs.push((name.clone(), image(shape, f.state)?));
        }
        if let Some(name) = &s.noise_input {
            inputs.push((name.clone(), image(shape, f.noise)?));
        }
        if let Some(name) = &s.step_input {
            inputs.push((name.clone(), scalar(self.scalars[0], f.step)?));
        }
        if let Some(name) = &s.steps_input {
            inputs.push((name.clone(), scalar(self.scalars[1], f.steps)?));
        }
        let t = Instant::now();
        let outputs = self.session.run(inputs).map_err(|e| Error::ort("running the translation model", e))?;
        timing.onnx_runtime_s += t.elapsed().as_secs_f64();
        timing.calls += 1;
        let (got, y) = outputs[self.card.output.name.as_str()].try_extract_tensor::<f32>().map_err(|e| Error::ort("reading the output", e))?;
        let got: Vec<i64> = got.iter().copied().collect();
        let problem = if got != shape.map(|d| d as i64) {
            Some(format!("for a batch of {} slices of {} x {} the output is {got:?}; the card's model gives [N, 1, rows, cols] of its input's size", f.n, f.rows, f.cols))
        } else if let Some(bad) = y.iter().find(|v| !v.is_finite()) {
            Some(format!("the output holds a non-finite value ({bad})"))
        } else {
            take(y);
            None
        };
        drop(outputs);
        problem.map_or(Ok(()), |what| Err(Error::ModelMismatch { weights: self.weights.clone(), card: self.card_path.clone(), what }))
    }
}

/// Checks the graph's inputs and outputs against the card: the fixed batch, rows and cols, and
/// the step inputs' element types; else what differs.
fn check_graph(session: &Session, card: &TranslationCard) -> std::result::Result<([Option<usize>; 3], [Scalar; 2]), String> {
    let names = |o: &[ort::value::Outlet]| o.iter().map(|x| x.name().to_string()).collect::<Vec<_>>().join(", ");
    let s = &card.sampling;
    let wanted: Vec<&str> = std::iter::once(card.input.name.as_str()).chain(s.extra_inputs().into_iter().flatten()).collect();
    for i in session.inputs() {
        if !wanted.contains(&i.name()) {
            return Err(format!(
                "the graph takes an input {:?} the card does not name (its inputs: {}); name it in [sampling] (state_input, noise_input, step_input, steps_input) or export without it",
                i.name(),
                names(session.inputs())
            ));
        }
    }
    let find = |name: &str| session.inputs().iter().find(|i| i.name() == name);
    let mut fixed = [None; 3];
    let image_names = [Some(card.input.name.as_str()), s.state_input.as_deref(), s.noise_input.as_deref()];
    for name in image_names.into_iter().flatten() {
        let input = find(name).ok_or_else(|| format!("the graph has no input {name:?} (the card names it); its inputs: {}", names(session.inputs())))?;
        let dims = image_dims(input.dtype(), &format!("input {name:?}"))?;
        if name == card.input.name {
            fixed = dims;
        }
    }
    let output = session
        .outputs()
        .iter()
        .find(|o| o.name() == card.output.name)
        .ok_or_else(|| format!("the graph has no output {:?} (card output.name); its outputs: {}", card.output.name, names(session.outputs())))?;
    image_dims(output.dtype(), &format!("output {:?}", card.output.name))?;
    let mut scalars = [Scalar::I64; 2];
    for (slot, name) in [s.step_input.as_deref(), s.steps_input.as_deref()].into_iter().enumerate() {
        let Some(name) = name else { continue };
        let input = find(name).ok_or_else(|| format!("the graph has no input {name:?} (the card names it); its inputs: {}", names(session.inputs())))?;
        scalars[slot] = match input.dtype() {
            ValueType::Tensor { ty: TensorElementType::Int64, shape, .. } if shape.len() == 1 => Scalar::I64,
            ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } if shape.len() == 1 => Scalar::F32,
            other => return Err(format!("the input {name:?} is {other:?}; coxa feeds the step as int64 or float32 [N]")),
        };
    }
    Ok((fixed, scalars))
}

/// The fixed batch, rows and cols of a float32 `[N, 1, rows, cols]` tensor, or what is wrong.
fn image_dims(ty: &ValueType, what: &str) -> std::result::Result<[Option<usize>; 3], String> {
    match ty {
        ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } if shape.len() == 4 => {
            if shape[1] >= 0 && shape[1] != 1 {
                return Err(format!("the {what} has {} channels ({:?}); coxa feeds one axial slice, [N, 1, rows, cols]", shape[1], &shape[..]));
            }
            let fixed = |d: i64| (d > 0).then_some(d as usize);
            Ok([fixed(shape[0]), fixed(shape[2]), fixed(shape[3])])
        }
        ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } => {
            Err(format!("the {what} has rank {} ({:?}); coxa feeds and reads float32 [N, 1, rows, cols] (rank 4)", shape.len(), &shape[..]))
        }
        other => Err(format!("the {what} is {other:?}; coxa feeds and reads float32 [N, 1, rows, cols]")),
    }
}

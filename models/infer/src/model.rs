//! A model: its card, its checked weights and an ONNX Runtime session.

use std::path::{Path, PathBuf};

use ndarray::{Array5, ArrayView5, Axis, CowArray, Ix5, s};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, TensorRef, ValueType};
use sha2::{Digest, Sha256};

use crate::card::ModelCard;
use crate::runtime::{Runtime, runtime};
use crate::{Error, Result};

/// ONNX Runtime graph optimisation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Optimisation {
    /// No graph optimisation.
    Disable,
    /// Constant folding and redundant node removal.
    Basic,
    /// Basic plus node fusions.
    Extended,
    /// Everything (ONNX Runtime's default).
    #[default]
    All,
}

/// How sessions are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Threads inside one operator (ONNX Runtime's intra-op pool). Default: the machine's cores.
    pub intra_threads: usize,
    /// ONNX Runtime's deterministic compute (same input, same output bits). Default: true.
    pub deterministic: bool,
    /// Graph optimisation. Default: [`Optimisation::All`]. Models whose card says
    /// `stochastic = true` always run with [`Optimisation::Disable`] (see `make_session`).
    pub optimisation: Optimisation,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { intra_threads: std::thread::available_parallelism().map_or(1, |n| n.get()), deterministic: true, optimisation: Optimisation::All }
    }
}

/// A model loaded from its card: the weights' SHA-256 and the graph's inputs and outputs were
/// checked against the card. An ensemble card (one weights file per fold) holds one session per
/// fold.
#[derive(Debug)]
pub struct Model {
    card: ModelCard,
    card_path: PathBuf,
    weights_paths: Vec<PathBuf>,
    bytes: Vec<Vec<u8>>,
    config: SessionConfig,
    sessions: Vec<Session>,
    max_batch: Option<usize>,
    /// Seconds inside the last `Session::run` (ONNX Runtime's own time of the last call).
    last_run_s: f64,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Model {
    /// Reads the card at `card_path`, checks the weights' SHA-256, makes a session with `config`
    /// (finding and loading ONNX Runtime on first use) and checks the model against the card.
    pub fn load(card_path: &Path, config: &SessionConfig) -> Result<Self> {
        let card = ModelCard::read(card_path)?;
        let mut weights = Vec::new();
        for file in &card.weights {
            let weights_path = card_path.parent().unwrap_or(Path::new(".")).join(file);
            let bytes = coxa_io::read_bounded(&weights_path, coxa_io::Bound::WEIGHTS).map_err(|source| Error::WeightsRead { path: weights_path.clone(), card: card_path.to_path_buf(), source })?;
            weights.push((weights_path, bytes));
        }
        Self::from_parts(card, card_path, weights, config)
    }

    /// A model from a card's text and its weights' bytes held in memory (e.g. built into the
    /// program), checked as [`Model::load`] checks files; `card_path` and the weights' paths
    /// only name them in errors.
    pub fn from_memory(card_text: &str, card_path: &Path, weights: Vec<(PathBuf, Vec<u8>)>, config: &SessionConfig) -> Result<Self> {
        let card = ModelCard::parse(card_text, card_path)?;
        if weights.len() != card.weights.len() {
            return Err(Error::BadInput { what: format!("card {} names {} weights files, {} were given", card_path.display(), card.weights.len(), weights.len()) });
        }
        Self::from_parts(card, card_path, weights, config)
    }

    fn from_parts(card: ModelCard, card_path: &Path, weights: Vec<(PathBuf, Vec<u8>)>, config: &SessionConfig) -> Result<Self> {
        let mut weights_paths = Vec::new();
        let mut all_bytes = Vec::new();
        for ((weights_path, bytes), expected) in weights.into_iter().zip(&card.sha256) {
            let found = sha256_hex(&bytes);
            if !found.eq_ignore_ascii_case(expected) {
                return Err(Error::Sha256Mismatch { path: weights_path, card: card_path.to_path_buf(), expected: expected.clone(), found });
            }
            weights_paths.push(weights_path);
            all_bytes.push(bytes);
        }
        let rt = runtime()?;
        coxa_core::provenance::note_use(coxa_core::provenance::ModelUse {
            kind: "onnx_model".into(),
            name: card.name.clone(),
            version: Some(card.version.clone()),
            sha256: Some(card.sha256.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>().join("+")),
        });
        let mut sessions = Vec::new();
        let mut max_batch: Option<usize> = None;
        for (bytes, weights_path) in all_bytes.iter().zip(&weights_paths) {
            let session = make_session(rt, bytes, config, card.output.stochastic)?;
            if let Some(b) = check_against_card(&session, &card, card_path, weights_path)? {
                max_batch = Some(max_batch.map_or(b, |m| m.min(b)));
            }
            sessions.push(session);
        }
        Ok(Self { card, card_path: card_path.to_path_buf(), weights_paths, bytes: all_bytes, config: config.clone(), sessions, max_batch, last_run_s: 0.0 })
    }

    /// The card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }
    /// The card file.
    pub fn card_path(&self) -> &Path {
        &self.card_path
    }
    /// The (first) weights file.
    pub fn weights_path(&self) -> &Path {
        &self.weights_paths[0]
    }
    /// Every weights file, one per fold.
    pub fn weights_paths(&self) -> &[PathBuf] {
        &self.weights_paths
    }
    /// Folds (weights files) of the model; 1 for a single network.
    pub fn folds(&self) -> usize {
        self.sessions.len()
    }
    /// The batch the graph was exported with, where it fixes one (`None`: any). Such a graph
    /// takes exactly that many patches a call: [`Model::run_fold_with`] fills a smaller batch
    /// with copies of its last patch and drops their outputs.
    pub fn max_batch(&self) -> Option<usize> {
        self.max_batch
    }
    /// Patches per call for a window that asks for `asked`: the graph's fixed batch where it has
    /// one (fewer would only be filled up to it), else `asked` (at least 1).
    pub fn batch_for(&self, asked: usize) -> usize {
        self.max_batch.unwrap_or(asked.max(1))
    }
    /// Seconds ONNX Runtime took inside the last [`Model::run_fold_with`] (its `Session::run`
    /// alone: not the wrapping of the input, the reading and checking of the output, or what
    /// the caller does with it); 0 before the first call.
    pub fn last_run_s(&self) -> f64 {
        self.last_run_s
    }

    /// Makes a fresh session from the same checked bytes. A stochastic model's random generator
    /// (ONNX `Dropout` with a `seed`) starts again from its seed, so what follows is reproducible.
    pub fn reset(&mut self) -> Result<()> {
        for (session, bytes) in self.sessions.iter_mut().zip(&self.bytes) {
            *session = make_session(runtime()?, bytes, &self.config, self.card.output.stochastic)?;
        }
        Ok(())
    }

    /// Runs the (first) network on a batch `[N, channels, k, j, i]` and returns `[N, classes, k, j, i]`.
    pub fn run(&mut self, input: ArrayView5<'_, f32>) -> Result<Array5<f32>> {
        self.run_fold(0, input)
    }

    /// Runs fold `fold`'s network on a batch `[N, channels, k, j, i]` and returns `[N, classes, k, j, i]`.
    pub fn run_fold(&mut self, fold: usize, input: ArrayView5<'_, f32>) -> Result<Array5<f32>> {
        self.run_fold_with(fold, input, |y| y.to_owned())
    }

    /// Runs fold `fold`'s network on a batch `[N, channels, k, j, i]` and hands its output
    /// `[N, classes, k, j, i]` to `consume` where ONNX Runtime wrote it (no copy); returns what
    /// `consume` returns. The output is checked against the card first.
    pub fn run_fold_with<R>(&mut self, fold: usize, input: ArrayView5<'_, f32>, consume: impl FnOnce(ArrayView5<'_, f32>) -> R) -> Result<R> {
        if fold >= self.sessions.len() {
            return Err(Error::BadInput { what: format!("fold {fold} asked, model {} has {} fold(s)", self.card.name, self.sessions.len()) });
        }
        let (n, c) = (input.shape()[0], input.shape()[1]);
        if c != self.card.input.channels {
            return Err(Error::BadInput { what: format!("the input has {c} channels, model {} takes {}", self.card.name, self.card.input.channels) });
        }
        if self.max_batch.is_some_and(|m| n > m) || n == 0 {
            return Err(Error::BadInput { what: format!("batch of {n} patches; model {} takes 1..={:?}", self.card.name, self.max_batch) });
        }
        // A graph with a fixed batch runs full batches: the last patch repeated, its outputs
        // dropped below.
        let filled = self.max_batch.filter(|&m| m > n).map(|m| {
            let mut full = Array5::<f32>::zeros((m, c, input.shape()[2], input.shape()[3], input.shape()[4]));
            full.slice_mut(s![..n, .., .., .., ..]).assign(&input);
            for b in n..m {
                full.index_axis_mut(Axis(0), b).assign(&input.index_axis(Axis(0), n - 1));
            }
            full
        });
        let contiguous = match &filled {
            Some(full) => CowArray::from(full.view()),
            None => input.as_standard_layout(),
        };
        let tensor = TensorRef::from_array_view(contiguous.view()).map_err(|e| Error::ort("wrapping the input", e))?;
        let input_name = self.card.input.name.clone();
        let output_name = self.card.output.name.clone();
        let weights = self.weights_paths[fold].clone();
        let inputs = ort::inputs![input_name => tensor];
        let t0 = std::time::Instant::now();
        let outputs = self.sessions[fold].run(inputs).map_err(|e| Error::ort("running the model", e))?;
        self.last_run_s = t0.elapsed().as_secs_f64();
        let y = outputs[output_name.as_str()].try_extract_array::<f32>().map_err(|e| Error::ort("reading the output", e))?;
        let rank = y.ndim();
        let y = y.into_dimensionality::<Ix5>().map_err(|_| Error::BadInput { what: format!("model {} returned a tensor of rank {rank}, its card says 5", self.card.name) })?;
        let want = self.card.output.classes.len();
        let fed = contiguous.shape()[0];
        if y.shape()[0] != fed || y.shape()[1] != want || y.shape()[2..] != input.shape()[2..] {
            return Err(Error::ModelMismatch {
                weights,
                card: self.card_path.clone(),
                what: format!("for input {:?} the output is {:?}; the card says [N, {want}, same spatial size]", contiguous.shape(), y.shape()),
            });
        }
        Ok(consume(y.slice_move(s![..n, .., .., .., ..])))
    }
}

/// The weights named by a single-file card (`weights`, relative to the card), their SHA-256
/// checked against the card's, and a one-thread deterministic session on them (tabular and image
/// models: one row or one image at a time).
pub(crate) fn checked_small_session(card_path: &Path, weights: &Path, sha256: &str) -> Result<(PathBuf, Session)> {
    if let Some(problem) = crate::card::weights_outside(weights) {
        return Err(Error::CardInvalid { path: card_path.to_path_buf(), field: "weights".into(), problem });
    }
    let path = card_path.parent().unwrap_or(Path::new(".")).join(weights);
    let bytes = coxa_io::read_bounded(&path, coxa_io::Bound::WEIGHTS).map_err(|source| Error::WeightsRead { path: path.clone(), card: card_path.to_path_buf(), source })?;
    let found = sha256_hex(&bytes);
    if !found.eq_ignore_ascii_case(sha256) {
        return Err(Error::Sha256Mismatch { path, card: card_path.to_path_buf(), expected: sha256.to_string(), found });
    }
    let config = SessionConfig { intra_threads: 1, deterministic: true, optimisation: Optimisation::All };
    let session = make_session(runtime()?, &bytes, &config, false)?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    coxa_core::provenance::note_use(coxa_core::provenance::ModelUse { kind: "onnx_model".into(), name, version: None, sha256: Some(found) });
    Ok((path, session))
}

pub(crate) fn make_session(rt: &Runtime, bytes: &[u8], config: &SessionConfig, stochastic: bool) -> Result<Session> {
    // ONNX Runtime 1.31's optimiser (basic level and up) removes a Dropout whose training_mode
    // is a constant true, which silently turns MC dropout off: stochastic models run unoptimised.
    let optimisation = if stochastic { Optimisation::Disable } else { config.optimisation };
    let level = match optimisation {
        Optimisation::Disable => GraphOptimizationLevel::Disable,
        Optimisation::Basic => GraphOptimizationLevel::Level1,
        Optimisation::Extended => GraphOptimizationLevel::Level2,
        Optimisation::All => GraphOptimizationLevel::All,
    };
    let ctx = |what: &str| format!("making a session ({what})");
    Session::builder(rt.environment())
        .map_err(|e| Error::ort(ctx("builder"), e))?
        .with_intra_threads(config.intra_threads.max(1))
        .map_err(|e| Error::ort(ctx("intra-op threads"), e))?
        .with_inter_threads(1)
        .map_err(|e| Error::ort(ctx("inter-op threads"), e))?
        .with_deterministic_compute(config.deterministic)
        .map_err(|e| Error::ort(ctx("deterministic compute"), e))?
        .with_optimization_level(level)
        .map_err(|e| Error::ort(ctx("optimisation level"), e))?
        .commit_from_memory(bytes)
        .map_err(|e| Error::ort(ctx("loading the ONNX graph"), e))
}

/// Checks names, element type, rank and channels of the one input and the named output.
/// Returns the fixed batch size, if any.
fn check_against_card(session: &Session, card: &ModelCard, card_path: &Path, weights: &Path) -> Result<Option<usize>> {
    let mismatch = |what: String| Error::ModelMismatch { weights: weights.to_path_buf(), card: card_path.to_path_buf(), what };
    let names = |o: &[ort::value::Outlet]| o.iter().map(|x| x.name().to_string()).collect::<Vec<_>>().join(", ");
    if session.inputs().len() != 1 {
        return Err(mismatch(format!("the model has {} inputs ({}); coxa feeds exactly one", session.inputs().len(), names(session.inputs()))));
    }
    let input = &session.inputs()[0];
    if input.name() != card.input.name {
        return Err(mismatch(format!("the model's input is named {:?}, the card says input.name = {:?}", input.name(), card.input.name)));
    }
    let Some(output) = session.outputs().iter().find(|o| o.name() == card.output.name) else {
        return Err(mismatch(format!("the model has no output {:?} (card output.name); its outputs: {}", card.output.name, names(session.outputs()))));
    };
    let [pk, pj, pi] = card.patch_size_kji();
    let check = |what: &str, ty: &ValueType, channels: usize| -> Result<Option<usize>> {
        let ValueType::Tensor { ty, shape, .. } = ty else {
            return Err(mismatch(format!("the {what} is not a tensor")));
        };
        if *ty != TensorElementType::Float32 {
            return Err(mismatch(format!("the {what} is {ty:?}; coxa feeds and reads float32")));
        }
        if shape.len() != 5 {
            return Err(mismatch(format!("the {what} has rank {} ({:?}); the card's model takes [N, C, k, j, i] (rank 5)", shape.len(), &shape[..])));
        }
        if shape[1] >= 0 && shape[1] as usize != channels {
            return Err(mismatch(format!("the {what} has {} channels, the card says {channels}", shape[1])));
        }
        for (axis, (&dim, want)) in shape[2..].iter().zip([pk, pj, pi]).enumerate() {
            if dim >= 0 && dim as usize != want {
                return Err(mismatch(format!("the {what}'s spatial size is {:?} (k, j, i), the card's patch is {:?} (axis {axis})", &shape[2..], [pk, pj, pi])));
            }
        }
        Ok((shape[0] > 0).then_some(shape[0] as usize))
    };
    let batch_in = check("input", input.dtype(), card.input.channels)?;
    let batch_out = check("output", output.dtype(), card.output.classes.len())?;
    Ok(batch_in.or(batch_out))
}

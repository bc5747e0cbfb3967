//! Model cards: a TOML file beside the `.onnx` weights that says what the model expects and gives.
//!
//! ```toml
//! card_version = 1
//! name = "threshold3"            # free text
//! version = "1.0.0"
//! task = "segmentation"          # or "lesion-segmentation" (`coxa lesions --model`, see below)
//! test_model = true              # true for coxa's own test models (never clinical)
//! description = "..."
//! weights = "threshold3.onnx"    # relative to the card; a list for an ensemble (one file per fold)
//! sha256 = "184072f3..."         # of the weights file, lower-case hex (a list: one per file)
//! mirror_axes = [0, 1]           # optional: mirroring allowed along these array axes (k, j, i);
//!                                # default all three ([nnunet] cards give theirs in that table)
//!
//! [input]
//! name = "image"                 # the ONNX input, shape [N, channels, k, j, i]
//! modality = "CT"
//! channels = 1
//! patch_size_ijk = [32, 32, 32]  # voxels along i, j, k (nnU-Net's plans list them k, j, i);
//!                                # k = 1: a slice-wise (2D) model, see below
//! target_spacing_mm_ijk = [1.5, 1.5, 1.5]  # a slice-wise model's k spacing is not used
//!
//! [input.normalisation]          # nnU-Net's CTNormalization: clip, then z-score with dataset values
//! scheme = "ct"                  # or "zscore" (the image's own mean/std) or "none"
//! percentile_00_5_hu = -1000.0
//! percentile_99_5_hu = 1500.0
//! mean_hu = 100.0
//! std_hu = 400.0
//!
//! [output]
//! name = "logits"                # the ONNX output, shape [N, classes, k, j, i]
//! kind = "logits"                # or "probabilities"
//! activation = "softmax"         # or "sigmoid"
//! stochastic = false             # true: dropout active at inference (MC dropout)
//!
//! [[output.classes]]             # one per output channel, in channel order
//! name = "background"
//! label = 0                      # the id written to the label map (coxa uses TotalSegmentator ids)
//! totalseg_id = 77               # optional: the TotalSegmentator class id
//! coxa_class = "hip_left"        # optional: the coxa class (coxa_core::labels::COXA_CLASSES)
//!                                # this output is, when `name` is not coxa's; `coxa anatomy
//!                                # --model` measures muscles and meshes bones by coxa's classes
//!
//! [nnunet]                       # optional: the model is an nnU-Net v2 export (python/nnunet_export.py)
//! float16_accumulation = true    # reproduce nnUNetPredictor's float16 logit sums (see crate::window)
//! mirror_axes = [0, 1, 2]        # the checkpoint's inference_allowed_mirroring_axes (array axes k, j, i)
//! step_fraction = 0.5            # nnU-Net's tile_step_size
//!
//! [nnunet.resampling_data]       # optional: the plans' resampling_fn_data_kwargs (crate::resample)
//! order = 3                      # spline order (in-plane under the separate-z rule)
//! order_z = 0                    # along the anisotropic axis under the separate-z rule
//! # force_separate_z = false     # absent: nnU-Net's rule (spacing ratio above 3)
//!
//! [nnunet.resampling_probabilities]  # optional: resampling_fn_probabilities_kwargs
//! order = 1
//! order_z = 0
//! ```
//!
//! **Slice-wise (2D) models**: a card whose patch is one slice thick (`patch_size_ijk = [P, Q,
//! 1]`) is run on axial slices: the CT is resampled in-plane to the card's i and j spacing only,
//! never across slices (its third spacing is not used), and the sliding window moves within each
//! slice. The ONNX graph still takes `[N, channels, 1, Q, P]` and gives `[N, classes, 1, Q, P]`:
//! a 2D network exported with its input's third axis squeezed and its output's put back (see
//! `models/infer/python/train_lesion_model.py`, class `Slices`).
//!
//! **Lesion models** (`task = "lesion-segmentation"`, `coxa lesions --model`): a segmentation
//! whose first class is background and whose other classes are lesions; classes named `lytic`
//! and `blastic` give the lesions' kind. `coxa segment` refuses them and `coxa lesions` refuses
//! every other task.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::resample::Resampling;
use crate::{Error, Result};

/// The tasks of segmentation cards: anatomy (`coxa segment`, `coxa anatomy --model`) and bone
/// lesions (`coxa lesions --model`).
pub const TASKS: [&str; 2] = ["segmentation", "lesion-segmentation"];

/// The card format this crate reads.
pub const CARD_VERSION: u32 = 1;

/// A model card (see the module docs for the file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Must be [`CARD_VERSION`].
    pub card_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// What the model does: `"segmentation"` or `"lesion-segmentation"`.
    pub task: String,
    /// True for test models (hand-set weights, not for clinical use).
    #[serde(default)]
    pub test_model: bool,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The ONNX files, relative to the card: one, or one per fold of an ensemble (a string or a
    /// list in the file).
    #[serde(deserialize_with = "one_or_many")]
    pub weights: Vec<PathBuf>,
    /// SHA-256 of each ONNX file, hex, in the order of `weights`.
    #[serde(deserialize_with = "one_or_many")]
    pub sha256: Vec<String>,
    /// What the model takes.
    pub input: InputSpec,
    /// What the model gives.
    pub output: OutputSpec,
    /// The mirror axes the model allows for mirroring test-time augmentation (array axes 0 = k,
    /// 1 = j, 2 = i), for a card without an `[nnunet]` table (which has its own); absent: all
    /// three. A model that tells left from right by position must leave out axis 2.
    #[serde(default)]
    pub mirror_axes: Option<Vec<usize>>,
    /// Present for an nnU-Net v2 export: how nnUNetPredictor runs it.
    #[serde(default)]
    pub nnunet: Option<NnunetSpec>,
}

/// How nnU-Net v2's `nnUNetPredictor` runs the model (written by `python/nnunet_export.py`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NnunetSpec {
    /// Reproduce nnU-Net's float16 accumulation of the Gaussian-weighted logits (its
    /// `predicted_logits` and `n_predictions` are `torch.half`); false: float32 throughout.
    #[serde(default = "yes")]
    pub float16_accumulation: bool,
    /// The mirror axes the checkpoint allows (array axes 0 = k, 1 = j, 2 = i).
    #[serde(default = "all_axes")]
    pub mirror_axes: Vec<usize>,
    /// nnU-Net's `tile_step_size`.
    #[serde(default = "half_step")]
    pub step_fraction: f64,
    /// The plans' `resampling_fn_data_kwargs`: the CT to the configuration's spacing
    /// ([`crate::resample`]; default order 3, order_z 0, the separate-z rule).
    #[serde(default = "data_resampling")]
    pub resampling_data: Resampling,
    /// The plans' `resampling_fn_probabilities_kwargs`: the logits back to the CT's grid
    /// (default order 1, order_z 0, the separate-z rule).
    #[serde(default = "probabilities_resampling")]
    pub resampling_probabilities: Resampling,
}

fn yes() -> bool {
    true
}
fn all_axes() -> Vec<usize> {
    vec![0, 1, 2]
}
fn half_step() -> f64 {
    0.5
}
fn data_resampling() -> Resampling {
    Resampling::DATA
}
fn probabilities_resampling() -> Resampling {
    Resampling::PROBABILITIES
}

/// A TOML string or a list of them.
pub(crate) fn one_or_many<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(v) => v,
    })
}

/// The model's input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// ONNX input name.
    pub name: String,
    /// Imaging modality (`"CT"`).
    pub modality: String,
    /// Input channels.
    pub channels: usize,
    /// Patch size in voxels, `[i, j, k]`.
    pub patch_size_ijk: [usize; 3],
    /// The spacing the model was trained at, mm, `[i, j, k]`.
    pub target_spacing_mm_ijk: [f64; 3],
    /// Intensity normalisation.
    pub normalisation: Normalisation,
}

/// Intensity normalisation before the network (nnU-Net's schemes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase", deny_unknown_fields)]
pub enum Normalisation {
    /// nnU-Net's CTNormalization: clip to the dataset's foreground percentiles 0.5 / 99.5, then
    /// `(x - mean) / std` with the dataset's foreground mean and std.
    Ct {
        /// 0.5th percentile of the training foreground, HU.
        percentile_00_5_hu: f64,
        /// 99.5th percentile of the training foreground, HU.
        percentile_99_5_hu: f64,
        /// Mean of the training foreground, HU.
        mean_hu: f64,
        /// Standard deviation of the training foreground, HU.
        std_hu: f64,
    },
    /// nnU-Net's ZScoreNormalization: `(x - mean) / std` with the image's own mean and std.
    Zscore,
    /// The values go in unchanged.
    None,
}

/// Whether the output is logits or probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Raw scores; the activation is applied after averaging (as nnU-Net does).
    Logits,
    /// Already activated.
    Probabilities,
}

/// How channels become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// One class per voxel (softmax over channels).
    Softmax,
    /// Each channel on its own (sigmoid); the label is the most probable channel above 0.5.
    Sigmoid,
}

/// The model's output.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// ONNX output name.
    pub name: String,
    /// Logits or probabilities.
    pub kind: OutputKind,
    /// Softmax or sigmoid.
    pub activation: Activation,
    /// True when the model is stochastic at inference (dropout active): Monte Carlo passes differ.
    #[serde(default)]
    pub stochastic: bool,
    /// One per output channel, in channel order.
    pub classes: Vec<ClassSpec>,
}

/// One output channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// Class name (coxa's class names, e.g. `hip_left`).
    pub name: String,
    /// Label id written to the label map.
    pub label: u16,
    /// The TotalSegmentator class id, when the class is one of theirs.
    #[serde(default)]
    pub totalseg_id: Option<u16>,
    /// The coxa class this output is (a name of `coxa_core::labels::COXA_CLASSES`, e.g.
    /// `gluteus_medius_left`), when `name` is the model's own (e.g. nnU-Net's `GluteusMed_L`).
    /// The anatomy stage maps the model's classes to coxa's by this name, else by
    /// `totalseg_id`, else by `name`; checked there (this crate does not hold coxa's classes).
    #[serde(default)]
    pub coxa_class: Option<String>,
}

/// Why a card's `weights` entry is refused, if it is: it must name a file inside the card's folder
/// (a relative path without `..`), so a card copied from elsewhere cannot make coxa read any file
/// on the machine. Weights kept elsewhere are used on purpose by putting a link to them in the
/// card's folder.
pub(crate) fn weights_outside(file: &Path) -> Option<String> {
    use std::path::Component;
    let inside = file.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) && file.components().any(|c| matches!(c, Component::Normal(_)));
    (!inside).then(|| {
        format!(
            "names {}, which is not inside the card's folder; weights must lie in the card's folder (a path relative to it, without `..`): copy the file there, or put a link to it there",
            file.display()
        )
    })
}

/// A card's `task`, read before the rest so that a card of another kind is refused by its task
/// rather than by the first field this kind does not have.
pub(crate) fn task_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Task {
        task: String,
    }
    toml::from_str::<Task>(text).ok().map(|t| t.task)
}

impl ModelCard {
    /// Reads and checks a card (the weights are checked by [`crate::Model::load`]).
    pub fn read(path: &Path) -> Result<Self> {
        let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).map_err(|source| Error::CardRead { path: path.to_path_buf(), source })?;
        Self::parse(&text, path)
    }

    /// Parses and checks card text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        if let Some(task) = task_of(text).filter(|t| !TASKS.contains(&t.as_str())) {
            let hint = if task == "image-translation" { " (an image-to-image card: run it with `coxa pseudo-mri --model`)" } else { "" };
            return Err(Error::CardInvalid { path: path.to_path_buf(), field: "task".into(), problem: format!("is {task:?}; a segmentation card's task is one of {TASKS:?}{hint}") });
        }
        let card: ModelCard = toml::from_str(text).map_err(|source| Error::CardParse { path: path.to_path_buf(), source })?;
        card.check(path)?;
        Ok(card)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::CardInvalid { path: path.to_path_buf(), field: field.into(), problem });
        if self.card_version != CARD_VERSION {
            return bad("card_version", format!("is {}, this coxa reads version {CARD_VERSION}", self.card_version));
        }
        if !TASKS.contains(&self.task.as_str()) {
            return bad("task", format!("is {:?}; a segmentation card's task is one of {TASKS:?}", self.task));
        }
        if self.weights.is_empty() || self.weights.len() > 64 {
            return bad("weights", format!("names {} files; give one .onnx file, or one per fold (at most 64)", self.weights.len()));
        }
        if self.sha256.len() != self.weights.len() {
            return bad("sha256", format!("has {} hashes for {} weights files; give one per file, in the same order", self.sha256.len(), self.weights.len()));
        }
        if let Some(problem) = self.weights.iter().find_map(|w| weights_outside(w.as_path())) {
            return bad("weights", problem);
        }
        if let Some(h) = self.sha256.iter().find(|h| h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit())) {
            return bad("sha256", format!("has {h:?}; each must be 64 hex digits (`sha256sum MODEL.onnx`)"));
        }
        if let Some(axes) = &self.mirror_axes {
            if self.nnunet.is_some() {
                return bad("mirror_axes", "is given beside an [nnunet] table; give the axes once, as nnunet.mirror_axes".into());
            }
            if axes.iter().any(|&a| a > 2) || axes.len() > 3 || (1..axes.len()).any(|n| axes[..n].contains(&axes[n])) {
                return bad("mirror_axes", format!("is {axes:?}; axes are 0 (k), 1 (j), 2 (i), each once"));
            }
        }
        if let Some(nn) = &self.nnunet {
            if nn.mirror_axes.iter().any(|&a| a > 2) || nn.mirror_axes.len() > 3 {
                return bad("nnunet.mirror_axes", format!("is {:?}; axes are 0 (k), 1 (j), 2 (i), each once", nn.mirror_axes));
            }
            if !(nn.step_fraction > 0.0 && nn.step_fraction <= 1.0) {
                return bad("nnunet.step_fraction", format!("is {}; it must be in (0, 1] (nnU-Net: 0.5)", nn.step_fraction));
            }
            for (key, r) in [("nnunet.resampling_data", &nn.resampling_data), ("nnunet.resampling_probabilities", &nn.resampling_probabilities)] {
                if r.order > 3 || r.order_z > 3 {
                    return bad(
                        key,
                        format!("has order {} and order_z {}; coxa reproduces nnU-Net's spline orders 0 to 3 (its plans: 3 and 0 for the data, 1 and 0 for the probabilities)", r.order, r.order_z),
                    );
                }
            }
        }
        if self.input.channels == 0 {
            return bad("input.channels", "is 0; a model takes at least one channel".into());
        }
        if self.input.patch_size_ijk.iter().any(|&p| p == 0 || p > 4096) {
            return bad("input.patch_size_ijk", format!("is {:?}; each must be 1..=4096 voxels", self.input.patch_size_ijk));
        }
        if self.input.target_spacing_mm_ijk.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return bad("input.target_spacing_mm_ijk", format!("is {:?}; spacings must be finite and > 0 mm", self.input.target_spacing_mm_ijk));
        }
        if let Normalisation::Ct { percentile_00_5_hu: lo, percentile_99_5_hu: hi, mean_hu, std_hu } = self.input.normalisation {
            if ![lo, hi, mean_hu, std_hu].iter().all(|v| v.is_finite()) || lo > hi {
                return bad("input.normalisation", format!("percentiles {lo}..{hi}, mean {mean_hu}, std {std_hu}: all finite and percentile_00_5_hu <= percentile_99_5_hu"));
            }
            if std_hu <= 0.0 {
                return bad("input.normalisation.std_hu", format!("is {std_hu}; it must be > 0"));
            }
        }
        if self.output.classes.len() < 2 && self.output.activation == Activation::Softmax {
            return bad("output.classes", format!("has {} class(es); a softmax output needs at least 2 (background first)", self.output.classes.len()));
        }
        if self.output.classes.is_empty() {
            return bad("output.classes", "is empty".into());
        }
        if let Some(c) = self.output.classes.iter().find(|c| c.coxa_class.as_ref().is_some_and(|n| n.trim().is_empty() || n.trim() != n)) {
            return bad("output.classes.coxa_class", format!("of class {:?} is {:?}; give a coxa class name such as \"gluteus_medius_left\", or leave it out", c.name, c.coxa_class));
        }
        let coxa = coxa_core::labels::coxa_classes();
        if let Some((c, n)) = self.output.classes.iter().find_map(|c| c.coxa_class.as_ref().filter(|n| coxa.id(n).is_none()).map(|n| (c, n))) {
            let known: Vec<&str> = coxa.iter().map(|(_, n)| n).collect();
            return bad("output.classes.coxa_class", format!("of class {:?} is {n:?}, which is not a coxa class; use one of {}, or leave it out", c.name, known.join(", ")));
        }
        let mut labels: Vec<u16> = self.output.classes.iter().map(|c| c.label).collect();
        labels.sort_unstable();
        if labels.windows(2).any(|w| w[0] == w[1]) {
            return bad("output.classes", "gives two classes the same label".into());
        }
        Ok(())
    }

    /// The model is slice-wise: its patch is one slice thick (see the module docs).
    pub fn slice_wise(&self) -> bool {
        self.input.patch_size_ijk[2] == 1
    }

    /// The card's patch size in array order `[k, j, i]`.
    pub fn patch_size_kji(&self) -> [usize; 3] {
        let [i, j, k] = self.input.patch_size_ijk;
        [k, j, i]
    }
}

//! What a segmentation model is asked to run ([`InferenceOptions`]) and what its members give on
//! the model's grid ([`Prediction`]): shared by the sliding-window paths (`segment`) and the
//! slab-by-slab one (`slabs`), so that neither file needs the other's.

use ndarray::{Array3, Array4};

use crate::card::ModelCard;
use crate::window::{WindowOptions, WindowTiming};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceOptions {
    /// Mirroring test-time augmentation along these array axes (0 = k, 1 = j, 2 = i); empty: none.
    /// nnU-Net's default for 3D models is all three.
    pub mirror_axes: Vec<usize>,
    /// Stochastic passes (MC dropout); more than 1 needs a card with `stochastic = true`.
    pub mc_passes: usize,
    /// The sliding window.
    pub window: WindowOptions,
    /// The folds of an ensemble card to run (indices into its `weights`); empty: every fold.
    pub folds: Vec<usize>,
    /// For nnU-Net cards: nnUNetPredictor's float16 accumulation (`Some(true)`), float32
    /// (`Some(false)`), or the card's `[nnunet] float16_accumulation` (`None`).
    pub float16_accumulation: Option<bool>,
    /// Compute the uncertainty (every member's probabilities and entropy, the predictive entropy
    /// and the members' disagreement); true by default. False: only the mean output, its
    /// probabilities and labels (nnUNetPredictor's own work); the entropy and disagreement maps
    /// are then empty and the summaries' means NaN.
    pub uncertainty: bool,
    /// Keep the class probabilities on the CT's grid; true by default. False, for softmax
    /// models: the segmentation's `probabilities` are empty and the labels are the argmax of the
    /// members' mean logits (the softmax's argmax; the softmax itself is skipped where the
    /// uncertainty does not need it). Other models ignore it.
    pub probabilities: bool,
}

impl Default for InferenceOptions {
    fn default() -> Self {
        Self { mirror_axes: Vec::new(), mc_passes: 1, window: WindowOptions::default(), folds: Vec::new(), float16_accumulation: None, uncertainty: true, probabilities: true }
    }
}

impl InferenceOptions {
    /// The card's own way of running: for an nnU-Net card its mirror axes (when `mirror`) and
    /// step; otherwise the card's `mirror_axes` (default all three) when `mirror`, nnU-Net's step 0.5.
    pub fn for_card(card: &ModelCard, mirror: bool) -> Self {
        let (axes, step) = match &card.nnunet {
            Some(nn) => (nn.mirror_axes.clone(), nn.step_fraction),
            None => (card.mirror_axes.clone().unwrap_or_else(|| vec![0, 1, 2]), 0.5),
        };
        Self { mirror_axes: if mirror { axes } else { Vec::new() }, window: WindowOptions { step_fraction: step, ..Default::default() }, ..Default::default() }
    }
}

/// What [`predict_full`](crate::predict_full) gives, on the model's grid.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The members' mean output `[classes, k, j, i]` in the card's kind (logits or probabilities).
    pub output: Array4<f32>,
    /// Predictive entropy `H(mean_m p_m)`, nats.
    pub entropy_nats: Array3<f32>,
    /// The members' disagreement, nats: the mutual information `H(mean_m p_m) - mean_m H(p_m)`
    /// (BALD). 0 where every member gives the same probabilities, however uncertain they are;
    /// it grows as they move apart.
    pub disagreement_nats: Array3<f32>,
    /// Members averaged.
    pub members: usize,
    /// Time in the sliding windows.
    pub timing: WindowTiming,
    /// The activation of `output` (`[classes, k, j, i]`), when it was computed on the way (one
    /// member: with its entropy, in the same pass).
    pub probabilities: Option<Array4<f32>>,
}

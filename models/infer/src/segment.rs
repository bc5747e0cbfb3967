//! Segmenting a CT with a model: nnU-Net's preprocessing, the sliding window over every member
//! (mirrors x Monte Carlo passes), the label map back on the CT's grid, and the uncertainty.
//!
//! The order is nnU-Net v2's: normalise on the CT's grid, resample to the card's spacing, sliding
//! window, then the averaged output (logits, or probabilities for a probability model) is
//! resampled back to the CT grid, the activation applied, and the argmax taken there
//! (probabilities are resampled, never labels).
//!
//! Cards with an `[nnunet]` table first crop the CT as nnU-Net's `crop_to_nonzero` does
//! ([`nonzero_box`]: the box of the voxels that are not exactly 0), run everything below on that
//! box, and put the result back with background outside it (probability 1 for the first class,
//! entropy and disagreement 0). A CT with air at its border loses nothing; one padded with 0 HU
//! is predicted on its contents only, as nnUNetPredictor predicts it.
//!
//! Cards with an `[nnunet]` table resample as nnU-Net does ([`crate::resample`]): the shape
//! `round(spacing / target * size)`, a third-order spline for the CT and a linear one for the
//! logits (the plans' orders, from the card), the separate-z rule for anisotropic spacings, no
//! resampling at all when the shapes are equal; the logits come back cast to float16 when
//! nnUNetPredictor's float16 sums are reproduced, as its half tensors are. The entropy and
//! disagreement maps take the logits' resampling, in float32. Other cards resample trilinearly
//! over the same extent and origin ([`coxa_core::Volume::resampled`]), on the model's grid when
//! the spacings are equal.
//!
//! A slice-wise card (a patch one slice thick, [`crate::card`]) keeps the CT's slice spacing: it
//! is resampled within slices only.
//!
//! Uncertainty: each member `m` (one mirror set in one stochastic pass) gives probabilities
//! `p_m`; the uncertainty is the predictive entropy `H(mean_m p_m)` in nats (softmax; for a
//! sigmoid model the mean binary entropy over channels), computed on the model's grid and
//! resampled to the CT grid. It is 0 where every member is certain and agrees, and at most
//! `ln(classes)`. The members' disagreement is the mutual information `H(mean p) - mean H(p_m)`
//! (BALD): 0 where every member gives the same probabilities, growing as they move apart.
//!
//! Ensemble cards (one weights file per fold) average their folds as further members. Cards with
//! an `[nnunet]` table run in nnUNetPredictor's arithmetic ([`crate::window`]): per tile the
//! mirrors are averaged, the tiles summed with float16 rounding, the folds summed and divided in
//! float16, then softmax; there the per-member probabilities and entropies for the uncertainty
//! are Gaussian-weighted means over tiles and mirrors.
//!
//! One member (one fold, no mirroring, one pass) takes a short way with the same values: its
//! output is the mean, its probabilities and entropy come in one pass over the patch (and are
//! kept as the result's probabilities when the model's grid is the CT's), its disagreement is 0.
//!
//! Several members of a deterministic softmax model whose tiles do not overlap (a slice-wise
//! model, or an image within one tile along the slices) are run tile by tile and finished per
//! voxel as each tile's last member comes back (the `slabs` module): the same values, without the
//! members' volume-sized maps. On the CT's own grid (the card's spacing, no `[nnunet]` table, a
//! normalisation per voxel) that path reads the CT's rows as it fills its tiles, normalising them
//! as they are read (the same arithmetic as [`normalise_view`]): no normalised copy of the CT.

use std::time::Instant;

use coxa_core::{ClassTable, Grid, HuValue, LabelMap, Volume, grid_with_spacing};
use nalgebra::Vector3;
use ndarray::{Array3, Array4, ArrayView3, ArrayView4, Axis, Zip, s};
use rayon::prelude::*;

use crate::card::ModelCard;
use crate::card::{Activation, Normalisation, OutputKind};
use crate::model::Model;
use crate::resample::{Resampling, compute_new_shape, resample_channel};
use crate::window::{NnunetSumsOptions, OneTileOutputs, WindowTiming, checked_floats, mirror_members, nnunet_sliding_window, one_tile_fold, round_f16, round_f16_in_place, sliding_window_fold};
use crate::{Error, Result};

pub use crate::prediction::{InferenceOptions, Prediction};

mod predict;

use predict::*;

/// Per-class result.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSummary {
    /// Class name (from the card).
    pub name: String,
    /// Label id in the label map.
    pub label: u16,
    /// Voxels with this label.
    pub voxels: usize,
    /// Their volume, ml.
    pub volume_ml: f64,
    /// Mean predictive entropy over them, nats (NaN when there are none).
    pub mean_entropy_nats: f64,
    /// Mean disagreement of the members (mutual information) over them, nats (NaN when none).
    pub mean_disagreement_nats: f64,
}

/// A structure whose mean predictive entropy over its voxels is above this is flagged as
/// uncertain (see [`UNCERTAIN_RULE`]).
pub const UNCERTAIN_MEAN_ENTROPY_NATS: f64 = coxa_core::report::UNCERTAIN_ENTROPY_NATS;

/// Why [`UNCERTAIN_MEAN_ENTROPY_NATS`].
pub const UNCERTAIN_RULE: &str = "flagged when the structure's mean predictive entropy is above 0.325 nats, the entropy of a voxel split 90 % / 10 % between two classes: on average the members give its voxels less than 90 % to one class (a structure without voxels is flagged too)";

impl ClassSummary {
    /// Its mean uncertainty is above [`UNCERTAIN_MEAN_ENTROPY_NATS`], or it has no voxels.
    pub fn uncertain(&self) -> bool {
        self.mean_entropy_nats.is_nan() || self.mean_entropy_nats > UNCERTAIN_MEAN_ENTROPY_NATS
    }
}

/// A segmentation on the CT's grid.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Labels (the card's `label` ids), with the card's class names.
    pub labels: LabelMap,
    /// Probabilities `[class, k, j, i]` on the CT grid (channel order of the card).
    pub probabilities: Array4<f32>,
    /// Predictive entropy, nats, `[k, j, i]` on the CT grid (empty without
    /// [`InferenceOptions::uncertainty`]).
    pub entropy_nats: Array3<f32>,
    /// The members' disagreement (mutual information), nats, `[k, j, i]` on the CT grid (empty
    /// without [`InferenceOptions::uncertainty`]).
    pub disagreement_nats: Array3<f32>,
    /// Per class: voxels, volume and mean entropy.
    pub summary: Vec<ClassSummary>,
    /// Members averaged (mirror sets x passes).
    pub members: usize,
    /// Time in the sliding windows.
    pub timing: WindowTiming,
    /// Seconds for the whole segmentation.
    pub total_s: f64,
}

/// Applies the card's normalisation to HU values (nnU-Net's CTNormalization / ZScoreNormalization).
pub fn normalise(hu: &Array3<f32>, scheme: &Normalisation) -> Array3<f32> {
    normalise_view(hu.view(), scheme)
}

/// [`normalise`] of a view (e.g. the CT cropped to nnU-Net's non-zero box; the z-score then
/// takes the box's own mean and standard deviation, as nnU-Net's does), of HU in either type a
/// volume stores them (`i16` or `f32`, read exactly as `f32`).
pub fn normalise_view<T: HuValue>(hu: ArrayView3<'_, T>, scheme: &Normalisation) -> Array3<f32> {
    match *scheme {
        Normalisation::Ct { percentile_00_5_hu: lo, percentile_99_5_hu: hi, mean_hu, std_hu } => {
            let (lo, hi, mean, std) = ct_constants(lo, hi, mean_hu, std_hu);
            par_mapv(hu, |v| ct_normalised(v.hu_f32(), lo, hi, mean, std))
        }
        Normalisation::Zscore => {
            let n = hu.len().max(1) as f64;
            let mean = hu.iter().map(|&v| v.hu_f32() as f64).sum::<f64>() / n;
            let var = hu.iter().map(|&v| (v.hu_f32() as f64 - mean).powi(2)).sum::<f64>() / n;
            let (mean, std) = (mean as f32, var.sqrt().max(1e-8) as f32);
            hu.mapv(|v| (v.hu_f32() - mean) / std)
        }
        Normalisation::None => hu.mapv(HuValue::hu_f32),
    }
}

/// nnU-Net's CTNormalization of one value: `(clamp(v, lo, hi) - mean) / std`.
#[inline(always)]
fn ct_normalised(v: f32, lo: f32, hi: f32, mean: f32, std: f32) -> f32 {
    (v.clamp(lo, hi) - mean) / std
}

/// The card's CTNormalization constants in `f32` (the standard deviation at least 1e-8).
fn ct_constants(lo: f64, hi: f64, mean: f64, std: f64) -> (f32, f32, f32, f32) {
    (lo as f32, hi as f32, mean as f32, std.max(1e-8) as f32)
}

/// A normalisation that takes each value alone (nnU-Net's CTNormalization, or none; the z-score
/// needs the whole image's mean and standard deviation first).
#[derive(Debug, Clone, Copy)]
pub(crate) enum PerVoxel {
    /// [`ct_normalised`] with these constants.
    Ct { lo: f32, hi: f32, mean: f32, std: f32 },
    /// The value itself.
    Identity,
}

impl PerVoxel {
    /// The card's normalisation, when it is per voxel.
    pub(crate) fn of(scheme: &Normalisation) -> Option<Self> {
        match *scheme {
            Normalisation::Ct { percentile_00_5_hu, percentile_99_5_hu, mean_hu, std_hu } => {
                let (lo, hi, mean, std) = ct_constants(percentile_00_5_hu, percentile_99_5_hu, mean_hu, std_hu);
                Some(Self::Ct { lo, hi, mean, std })
            }
            Normalisation::None => Some(Self::Identity),
            Normalisation::Zscore => None,
        }
    }

    /// `out[i]` = `src[i]` normalised ([`normalise_view`]'s arithmetic), the case taken once for
    /// the row so that the loop vectorises.
    pub(crate) fn row<'a, T: HuValue>(self, src: impl Iterator<Item = &'a T>, out: &mut [f32]) {
        match self {
            Self::Ct { lo, hi, mean, std } => out.iter_mut().zip(src).for_each(|(o, &v)| *o = ct_normalised(v.hu_f32(), lo, hi, mean, std)),
            Self::Identity => out.iter_mut().zip(src).for_each(|(o, &v)| *o = v.hu_f32()),
        }
    }
}

/// `f` of every value of `hu`, in parallel over pieces of a contiguous array (rayon; ndarray's
/// own parallel `mapv` needs its `rayon` feature), else value by value; the same values either way.
fn par_mapv<T: HuValue>(hu: ArrayView3<'_, T>, f: impl Fn(T) -> f32 + Sync) -> Array3<f32> {
    let Some(src) = hu.as_slice() else { return hu.mapv(f) };
    let mut out = vec![0f32; src.len()];
    out.par_chunks_mut(1 << 16).zip(src.par_chunks(1 << 16)).for_each(|(o, s)| o.iter_mut().zip(s).for_each(|(o, &v)| *o = f(v)));
    Array3::from_shape_vec(hu.raw_dim(), out).expect("the view's shape")
}

/// nnU-Net v2's `crop_to_nonzero` box of a CT (`[k, j, i]` HU): per array axis the half-open
/// range of the slices that hold a voxel other than exactly 0 (acvl_utils' `get_bbox_from_mask`
/// of `create_nonzero_mask`, `data != 0`; a NaN counts as non-zero, -0.0 as zero), the whole
/// image when every voxel is 0. nnU-Net fills the mask's holes first; that cannot widen the box
/// (a zero voxel outside the box lies in an all-zero slab that reaches the image's border, so it
/// is no hole), so it is not done here.
pub fn nonzero_box<T: HuValue>(hu: ArrayView3<'_, T>) -> [std::ops::Range<usize>; 3] {
    let (nk, nj, ni) = hu.dim();
    // Per k plane: (any non-zero, min j, max j, min i, max i).
    let planes: Vec<Option<[usize; 4]>> = (0..nk)
        .into_par_iter()
        .map(|k| {
            let plane = hu.index_axis(Axis(0), k);
            let mut b: Option<[usize; 4]> = None;
            for (j, row) in plane.outer_iter().enumerate() {
                let first = row.iter().position(|&v| v.hu_f32() != 0.0);
                if let Some(lo) = first {
                    let hi = row.iter().rposition(|&v| v.hu_f32() != 0.0).unwrap_or(lo);
                    b = Some(match b {
                        None => [j, j, lo, hi],
                        Some([j0, _, i0, i1]) => [j0, j, i0.min(lo), i1.max(hi)],
                    });
                }
            }
            b
        })
        .collect();
    let k_lo = planes.iter().position(Option::is_some);
    let (Some(k_lo), Some(k_hi)) = (k_lo, planes.iter().rposition(Option::is_some)) else {
        return [0..nk, 0..nj, 0..ni];
    };
    let mut b = [usize::MAX, 0, usize::MAX, 0];
    for p in planes.iter().flatten() {
        b = [b[0].min(p[0]), b[1].max(p[1]), b[2].min(p[2]), b[3].max(p[3])];
    }
    [k_lo..k_hi + 1, b[0]..b[1] + 1, b[2]..b[3] + 1]
}

/// Puts outputs predicted inside nnU-Net's box back onto the whole CT, as nnU-Net does
/// (`revert_cropping_on_probabilities`, `insert_crop_into_image`): outside the box the
/// probabilities are background's (1 for the first class of a softmax model, 0 for every
/// channel of a sigmoid one; the label map then gives background there) and the entropy and
/// disagreement 0 (certain, agreed).
fn uncrop(p: Array4<f32>, h: Array3<f32>, mi: Array3<f32>, b: &[std::ops::Range<usize>; 3], full: [usize; 3], act: Activation) -> (Array4<f32>, Array3<f32>, Array3<f32>) {
    let inside = s![b[0].clone(), b[1].clone(), b[2].clone()];
    let mut probabilities = Array4::<f32>::zeros((p.shape()[0], full[0], full[1], full[2]));
    if act == Activation::Softmax && p.shape()[0] > 0 {
        probabilities.index_axis_mut(Axis(0), 0).fill(1.0);
    }
    probabilities.slice_mut(s![.., b[0].clone(), b[1].clone(), b[2].clone()]).assign(&p);
    let back = |x: Array3<f32>| {
        if x.is_empty() {
            return x;
        }
        let mut y = Array3::<f32>::zeros(full);
        y.slice_mut(inside).assign(&x);
        y
    };
    (probabilities, back(h), back(mi))
}

/// Whether only the labels are wanted of a softmax model ([`InferenceOptions::probabilities`]).
fn labels_only(card: &ModelCard, options: &InferenceOptions) -> bool {
    !options.probabilities && (card.output.kind, card.output.activation) == (OutputKind::Logits, Activation::Softmax)
}

/// The activation of outputs `x` (`[C, k, j, i]` in the card's kind): probabilities.
pub(crate) fn activate(x: Array4<f32>, kind: OutputKind, act: Activation) -> Array4<f32> {
    if kind == OutputKind::Logits { crate::voxel::probabilities_and_entropy(x.view(), kind, act, false).0 } else { x }
}

/// Predictive entropy (nats) of probabilities `[C, ...]`.
pub(crate) fn entropy(p: &Array4<f32>, act: Activation) -> Array3<f32> {
    crate::voxel::entropy_map(p.view(), act)
}

/// Every member's sliding-window output, averaged, and the predictive entropy, on the model's
/// grid. `image` is `[C, k, j, i]`, normalised, at the card's spacing. Returns
/// (mean output in the card's kind, entropy, members, timing); [`predict_full`] gives the
/// members' disagreement too.
pub fn predict(model: &mut Model, image: ArrayView4<'_, f32>, options: &InferenceOptions) -> Result<(Array4<f32>, Array3<f32>, usize, WindowTiming)> {
    let p = predict_full(model, image, options)?;
    Ok((p.output, p.entropy_nats, p.members, p.timing))
}

/// [`predict`] with the members' disagreement.
pub fn predict_full(model: &mut Model, image: ArrayView4<'_, f32>, options: &InferenceOptions) -> Result<Prediction> {
    predict_inner(model, image, options, true).map(|(p, _)| p)
}

/// How the model's outputs come back to the CT's grid.
enum Back {
    /// The model ran on the CT's grid.
    Same,
    /// coxa's trilinear resampling from this grid (cards without `[nnunet]`).
    Trilinear(Grid),
    /// nnU-Net's (the card's `resampling_probabilities`), casting the logits to float16 when
    /// nnUNetPredictor's float16 accumulation is reproduced.
    Nnunet(Resampling, bool),
}

/// Segments `ct` with `model` (see the module docs): the label map, probabilities and entropy on
/// the CT's grid, and a per-class summary.
pub fn segment(model: &mut Model, ct: &Volume, options: &InferenceOptions) -> Result<Segmentation> {
    let start = Instant::now();
    let card = model.card().clone();
    if !card.input.modality.eq_ignore_ascii_case("CT") {
        return Err(Error::BadInput { what: format!("model {} takes {} images (card input.modality), the input is a CT; use a CT model", card.name, card.input.modality) });
    }
    if card.input.channels != 1 {
        return Err(Error::BadInput { what: format!("model {} takes {} channels; a CT gives one", card.name, card.input.channels) });
    }
    let (nan, infinite) = ct.non_finite_counts();
    if nan + infinite > 0 {
        return Err(Error::BadInput { what: format!("the CT has {} voxels that are not numbers ({nan} NaN, {infinite} infinite); replace them (e.g. with -1024, air) first", nan + infinite) });
    }
    let classes = card.output.classes.len();
    let ct_grid = ct.grid().clone();
    let [si, sj, sk] = ct_grid.size();
    let _ = checked_floats(&[classes * 3 + 2, si, sj, sk], "CT-grid outputs")?;
    let mut target = Vector3::from(card.input.target_spacing_mm_ijk);
    if card.slice_wise() {
        // Slice-wise models are resampled within slices only (crate::card).
        target[2] = ct_grid.spacing_mm()[2];
    }
    let kji = |v: Vector3<f64>| [v[2], v[1], v[0]];
    let (ct_kji, target_kji) = (kji(ct_grid.spacing_mm()), kji(target));
    let full_shape = [sk, sj, si];
    // nnU-Net crops the CT to the box of its non-zero voxels before normalising and resampling,
    // predicts inside and puts background outside (`crop_to_nonzero`); other cards use the whole
    // CT. Both read the HU in the type the CT stores them (no `f32` copy of an `i16` CT).
    let crop = if card.nnunet.is_some() { coxa_core::with_hu!(ct, |hu| nonzero_box(hu.view())) } else { [0..sk, 0..sj, 0..si] };
    let cropped = crop.iter().zip(full_shape).any(|(r, n)| r.len() != n);
    let ct_shape = [crop[0].len(), crop[1].len(), crop[2].len()];
    let inside = s![crop[0].clone(), crop[1].clone(), crop[2].clone()];
    let only_labels = labels_only(&card, options);
    // On the CT's own grid, a model of slabs (crate::slabs) fills its tiles from the CT's rows,
    // normalised as they are read: no normalised copy of the CT. Otherwise the CT is normalised
    // (and resampled) first.
    let same_grid = card.nnunet.is_none() && !card.output.stochastic && (ct_grid.spacing_mm() - target).abs().max() < 1e-9;
    let direct = match PerVoxel::of(&card.input.normalisation).filter(|_| same_grid) {
        Some(norm) => coxa_core::with_hu!(ct, |hu| slabs_of_ct(model, hu.view(), norm, options, only_labels))?,
        None => None,
    };
    let ((Prediction { output: mean, entropy_nats: h, disagreement_nats: mi, members, timing, probabilities }, best), back) = match direct {
        Some(done) => (done, Back::Same),
        None => {
            let normalised = coxa_core::with_hu!(ct, |hu| normalise_view(hu.slice(inside), &card.input.normalisation));
            // To the model's spacing, and how to come back.
            let (at_model, back) = if let Some(nn) = &card.nnunet {
                // nnU-Net's shape and resampling (crate::resample); none when the shapes are equal.
                let new_shape = compute_new_shape(ct_shape, ct_kji, target_kji);
                let _ = checked_floats(&[classes * 3 + 2, new_shape[0], new_shape[1], new_shape[2]], "model-grid buffers")?;
                if new_shape == ct_shape {
                    (normalised, Back::Same)
                } else {
                    let float16 = options.float16_accumulation.unwrap_or(nn.float16_accumulation);
                    (resample_channel(normalised.view(), new_shape, ct_kji, target_kji, &nn.resampling_data).mapv(|v| v as f32), Back::Nnunet(nn.resampling_probabilities, float16))
                }
            } else {
                let model_grid = grid_with_spacing(&ct_grid, target).map_err(|source| Error::Core { what: "model", source })?;
                let [mi, mj, mk] = model_grid.size();
                let _ = checked_floats(&[classes * 3 + 2, mi, mj, mk], "model-grid buffers")?;
                if (ct_grid.spacing_mm() - target).abs().max() < 1e-9 {
                    (normalised, Back::Same)
                } else {
                    let v = Volume::new(ct_grid.clone(), normalised).map_err(|source| Error::Core { what: "normalised", source })?;
                    (v.resampled(target).map_err(|source| Error::Core { what: "model", source })?.into_parts().1, Back::Trilinear(model_grid))
                }
            };
            let image = at_model.view().insert_axis(Axis(0));
            // The mean output is needed when it is resampled, or (labels only) when the labels are
            // taken after the crop is undone.
            let need_output = !matches!(back, Back::Same) || (only_labels && cropped);
            (predict_inner(model, image, options, need_output)?, back)
        }
    };
    // Labels only: the logits stand in for the probabilities (their argmax is the softmax's).
    let activate = |x: Array4<f32>, kind: OutputKind, act: Activation| if only_labels { x } else { activate(x, kind, act) };
    // The argmax taken with the probabilities holds on the CT's grid when nothing was resampled or cropped.
    let best = if matches!(back, Back::Same) && !cropped { best } else { None };
    let (probabilities, h_ct, mi_ct) = match back {
        // On the model's grid already: the activation of the mean output, computed on the way or now.
        Back::Same => (probabilities.unwrap_or_else(|| activate(mean, card.output.kind, card.output.activation)), h, mi),
        Back::Trilinear(model_grid) => {
            drop(probabilities);
            let back = |x: Array3<f32>| if x.is_empty() { x } else { resample_channels(&x.insert_axis(Axis(0)), &model_grid, &ct_grid).index_axis_move(Axis(0), 0) };
            (activate(resample_channels(&mean, &model_grid, &ct_grid), card.output.kind, card.output.activation), back(h), back(mi))
        }
        Back::Nnunet(r, float16) => {
            drop(probabilities);
            // nnU-Net resamples its logits (float16 in nnUNetPredictor: the result is cast back
            // to float16), then applies the softmax; coxa's maps take the same resampling.
            let back = |x: ArrayView3<'_, f32>, f16: bool| {
                let y = resample_channel(x, ct_shape, target_kji, ct_kji, &r);
                if f16 { y.mapv(|v| half::f16::from_f64(v).to_f32()) } else { y.mapv(|v| v as f32) }
            };
            let planes: Vec<Array3<f32>> = mean.axis_iter(Axis(0)).map(|c| back(c, float16)).collect();
            drop(mean);
            let views: Vec<_> = planes.iter().map(|p| p.view()).collect();
            let logits = ndarray::stack(Axis(0), &views).expect("planes of one shape");
            drop(planes);
            (activate(logits, card.output.kind, card.output.activation), back(h.view(), false), back(mi.view(), false))
        }
    };
    let (probabilities, h_ct, mi_ct) = if cropped { uncrop(probabilities, h_ct, mi_ct, &crop, full_shape, card.output.activation) } else { (probabilities, h_ct, mi_ct) };
    let ids: Vec<u16> = card.output.classes.iter().map(|c| c.label).collect();
    let labels = match best {
        Some(mut best) => {
            best.mapv_inplace(|c| ids[c as usize]);
            best
        }
        None => crate::voxel::label_map(probabilities.view(), &ids, card.output.activation),
    };
    let probabilities = if only_labels { Array4::zeros((0, 0, 0, 0)) } else { probabilities };
    let table: ClassTable = card.output.classes.iter().map(|c| (c.label, c.name.clone())).collect();
    let voxel_ml = ct_grid.spacing_mm().iter().product::<f64>() / 1000.0;
    let mut counts = vec![0usize; classes];
    let mut hsum = vec![0f64; classes];
    let mut misum = vec![0f64; classes];
    // Label id -> first channel with that id (`ids.iter().position`), by table.
    let mut channel_of = vec![usize::MAX; ids.iter().map(|&l| l as usize + 1).max().unwrap_or(0)];
    for (ch, &l) in ids.iter().enumerate().rev() {
        channel_of[l as usize] = ch;
    }
    let channel = |l: u16| channel_of.get(l as usize).copied().filter(|&ch| ch != usize::MAX);
    if options.uncertainty {
        Zip::from(&labels).and(&h_ct).and(&mi_ct).for_each(|&l, &e, &d| {
            if let Some(ch) = channel(l) {
                counts[ch] += 1;
                hsum[ch] += e as f64;
                misum[ch] += d as f64;
            }
        });
    } else {
        labels.iter().for_each(|&l| {
            if let Some(ch) = channel(l) {
                counts[ch] += 1;
            }
        });
        hsum.fill(f64::NAN);
        misum.fill(f64::NAN);
    }
    let summary = card
        .output
        .classes
        .iter()
        .enumerate()
        .map(|(ch, c)| ClassSummary {
            name: c.name.clone(),
            label: c.label,
            voxels: counts[ch],
            volume_ml: counts[ch] as f64 * voxel_ml,
            mean_entropy_nats: if counts[ch] == 0 { f64::NAN } else { hsum[ch] / counts[ch] as f64 },
            mean_disagreement_nats: if counts[ch] == 0 { f64::NAN } else { misum[ch] / counts[ch] as f64 },
        })
        .collect();
    let labels = LabelMap::new(ct_grid, labels, table).map_err(|source| Error::Core { what: "label map", source })?;
    Ok(Segmentation { labels, probabilities, entropy_nats: h_ct, disagreement_nats: mi_ct, summary, members, timing, total_s: start.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonzero_box_is_nnunets_bounding_box() {
        let mut hu = Array3::<f32>::zeros((5, 6, 7));
        // Nothing non-zero: the whole image (acvl_utils keeps its initial bounds).
        assert_eq!(nonzero_box(hu.view()), [0..5, 0..6, 0..7]);
        hu[[1, 2, 3]] = -1000.0;
        assert_eq!(nonzero_box(hu.view()), [1..2, 2..3, 3..4]);
        hu[[3, 5, 0]] = f32::NAN; // NaN != 0 in numpy too
        hu[[4, 0, 6]] = -0.0; // -0.0 == 0
        assert_eq!(nonzero_box(hu.view()), [1..4, 2..6, 0..4]);
        hu[[4, 0, 6]] = 1e-30;
        assert_eq!(nonzero_box(hu.view()), [1..5, 0..6, 0..7]);
    }

    #[test]
    fn uncrop_puts_background_outside_the_box() {
        let b = [1..2, 1..3, 0..1];
        let p = Array4::from_elem((3, 1, 2, 1), 0.25f32);
        let h = Array3::from_elem((1, 2, 1), 0.5f32);
        let (p, h, mi) = uncrop(p, h.clone(), h, &b, [2, 3, 2], Activation::Softmax);
        assert_eq!(p.dim(), (3, 2, 3, 2));
        assert_eq!((p[[0, 1, 1, 0]], p[[0, 0, 0, 0]], p[[1, 0, 0, 0]], p[[2, 1, 2, 1]]), (0.25, 1.0, 0.0, 0.0));
        assert_eq!((h[[1, 2, 0]], h[[0, 0, 0]], mi[[1, 1, 1]]), (0.5, 0.0, 0.0));
        let (p, ..) = uncrop(Array4::from_elem((2, 1, 2, 1), 0.7f32), Array3::zeros((0, 0, 0)), Array3::zeros((0, 0, 0)), &b, [2, 3, 2], Activation::Sigmoid);
        assert_eq!((p[[0, 0, 0, 0]], p[[1, 1, 2, 0]]), (0.0, 0.7));
    }
}

//! [`nnunet_sliding_window`]: nnUNetPredictor's exact arithmetic (float16 rounding as torch
//! stores into `torch.half`, its Gaussian, its sums); see the parent module's docs.

use std::time::Instant;

use ndarray::{Array3, Array4, ArrayView4, s};
use rayon::prelude::*;

use super::{Job, Layout, Tiled, WindowOptions, WindowTiming, Work, pipelined, tile_image};
use crate::card::{Activation, OutputKind};
use crate::model::Model;
use crate::{Error, Result};

/// Rounds to the nearest float16 (ties to even) and back, as a store into a `torch.half` tensor.
///
/// In float16's normal range (2^-14 <= |x| < 65520) the float32 mantissa is rounded to 10 bits
/// in place (a few integer operations, inlined: this runs per class for every voxel of every
/// tile); elsewhere (subnormals, overflow to infinity, NaN) `half` converts. Equal to
/// `half::f16::from_f32(x).to_f32()` for every float32 (unit test).
#[inline(always)]
pub fn round_f16(x: f32) -> f32 {
    if f16_fast_range(x) {
        return round_f16_normal(x);
    }
    round_f16_slow(x)
}

/// `x` is in float16's normal range, where [`round_f16_normal`] is exact.
#[inline(always)]
fn f16_fast_range(x: f32) -> bool {
    (x.to_bits() & 0x7FFF_FFFF).wrapping_sub(0x3880_0000) < 0x477F_F000 - 0x3880_0000
}

/// [`round_f16`] in float16's normal range: the mantissa rounded to 10 bits, ties to even.
#[inline(always)]
fn round_f16_normal(x: f32) -> f32 {
    let b = x.to_bits();
    f32::from_bits(b.wrapping_add(0x0FFF + ((b >> 13) & 1)) & !0x1FFF)
}

/// [`round_f16`] outside float16's normal range.
#[cold]
#[inline(never)]
fn round_f16_slow(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}

/// [`round_f16`] of every value of `x`, in place, vectorised: pieces of 64 values whose values
/// are all in float16's normal range take the integer rounding lane by lane, the others
/// [`round_f16`] value by value. The same values as [`round_f16`].
pub fn round_f16_in_place(x: &mut [f32]) {
    for piece in x.chunks_mut(64) {
        let outside = piece.iter().fold(0u32, |acc, &v| acc | u32::from(!f16_fast_range(v)));
        if outside == 0 {
            for v in piece.iter_mut() {
                *v = round_f16_normal(*v);
            }
        } else {
            for v in piece.iter_mut() {
                *v = round_f16(*v);
            }
        }
    }
}

/// nnU-Net's Gaussian importance map as nnUNetPredictor uses it: scipy's `gaussian_filter` of a
/// centred delta (sampled kernels normalised to sum 1, radius `int(4 sigma + 0.5)`), divided by
/// its maximum over 10, stored in float16, zeros replaced by the smallest non-zero value.
pub fn gaussian_importance_nnunet(patch_kji: [usize; 3]) -> Array3<f32> {
    let kernel = |n: usize| -> Vec<f64> {
        let sigma = n as f64 / 8.0;
        let sigma2 = sigma * sigma;
        let radius = (4.0 * sigma + 0.5) as i64;
        let phi: Vec<f64> = (-radius..=radius).map(|x| (-0.5 / sigma2 * (x * x) as f64).exp()).collect();
        let sum: f64 = phi.iter().sum();
        let c = (n / 2) as i64;
        (0..n as i64).map(|x| if (x - c).abs() > radius { 0.0 } else { phi[(x - c + radius) as usize] / sum }).collect()
    };
    let (kk, kj, ki) = (kernel(patch_kji[0]), kernel(patch_kji[1]), kernel(patch_kji[2]));
    let max = kk[patch_kji[0] / 2] * kj[patch_kji[1] / 2] * ki[patch_kji[2] / 2];
    let scale = max / 10.0;
    let mut g = Array3::from_shape_fn(patch_kji, |(k, j, i)| half::f16::from_f64(kk[k] * kj[j] * ki[i] / scale).to_f32());
    let min_nonzero = g.iter().copied().filter(|&v| v > 0.0).fold(f32::INFINITY, f32::min);
    g.mapv_inplace(|v| if v == 0.0 { min_nonzero } else { v });
    g
}

/// What [`nnunet_sliding_window`] sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NnunetSumsOptions {
    /// nnUNetPredictor's float16 sums of logits and weights (false: float32).
    pub float16: bool,
    /// Also every member's probabilities and entropy, for the uncertainty.
    pub uncertainty: bool,
}

/// One fold's window in nnUNetPredictor's arithmetic (module docs).
#[derive(Debug, Clone)]
pub struct NnunetWindow {
    /// Gaussian-weighted mean logits `[classes, k, j, i]`; float16 values when accumulated in float16.
    pub logits: Array4<f32>,
    /// Gaussian-weighted mean over tiles and mirrors of each output's probabilities (float32),
    /// the members' predictive distribution for the uncertainty (empty without the uncertainty).
    pub probabilities: Array4<f32>,
    /// Gaussian-weighted mean over tiles and mirrors of each output's own entropy, nats (empty
    /// without the uncertainty).
    pub member_entropy: Array3<f32>,
}

/// The running sums of nnU-Net's window over the padded image, flat (`[classes, k, j, i]` and
/// `[k, j, i]`, standard layout), and one tile's sums over its mirrors.
struct NnunetSums {
    classes: usize,
    float16: bool,
    /// Whether the members' probabilities and entropies are summed (the uncertainty) besides the
    /// logits.
    uncertainty: bool,
    n_mirrors: usize,
    /// Padded image size and patch, `[k, j, i]`.
    padded: [usize; 3],
    patch: [usize; 3],
    /// nnU-Net's float16 Gaussian, flat over the patch.
    gauss: Vec<f32>,
    logits: Vec<f32>,
    weight: Vec<f32>,
    probs: Vec<f32>,
    prob_weight: Vec<f32>,
    entropy: Vec<f32>,
    /// One tile's outputs, probabilities and entropies summed over the mirrors done so far (in
    /// the tile's unflipped frame), when there is more than one mirror.
    tile_sum: Vec<f32>,
    tile_prob: Vec<f32>,
    tile_ent: Vec<f32>,
}

impl NnunetSums {
    fn new(classes: usize, float16: bool, uncertainty: bool, n_mirrors: usize, padded: [usize; 3], patch: [usize; 3]) -> Self {
        let (np, pv) = (padded.iter().product::<usize>(), patch.iter().product::<usize>());
        let tile = if n_mirrors > 1 { pv } else { 0 };
        let (unp, utile) = if uncertainty { (np, tile) } else { (0, 0) };
        Self {
            classes,
            float16,
            uncertainty,
            n_mirrors,
            padded,
            patch,
            gauss: gaussian_importance_nnunet(patch).iter().copied().collect(),
            logits: vec![0.0; classes * np],
            weight: vec![0.0; np],
            probs: vec![0.0; classes * unp],
            prob_weight: vec![0.0; unp],
            entropy: vec![0.0; unp],
            tile_sum: vec![0.0; classes * tile],
            tile_prob: vec![0.0; classes * utile],
            tile_ent: vec![0.0; utile],
        }
    }

    /// Adds mirror `m` of the tile at `t` (the network's output `y`, `[classes, k, j, i]`
    /// flattened, still flipped along `flip`) in one pass over its voxels: its probabilities
    /// and entropy, the sums over the tile's mirrors, and after the last mirror the tile's
    /// Gaussian-weighted mean into the running sums. Per voxel this is the arithmetic of
    /// nnUNetPredictor (module docs), in the same order.
    fn add(&mut self, y: &[f32], t: [usize; 3], flip: [bool; 3], m: usize, kind: OutputKind, act: Activation) {
        let (c, [pk, pj, pi], [_, nj, ni]) = (self.classes, self.patch, self.padded);
        let (pv, np) = (pk * pj * pi, self.weight.len());
        let last = m + 1 == self.n_mirrors;
        let single = self.n_mirrors == 1;
        let n_mirrors = self.n_mirrors as f32;
        let uncertainty = self.uncertainty;
        if single && !uncertainty {
            self.add_logits_only(y, t, flip);
            return;
        }
        // One row of the tile at a time (in the tile's unflipped frame): every class's outputs,
        // probabilities and the entropy, then the sums row by row and class by class.
        let (mut x, mut p, mut h) = (vec![vec![0f32; pi]; c], vec![vec![0f32; pi]; c], vec![0f32; pi]);
        for k in 0..pk {
            let sk = if flip[0] { pk - 1 - k } else { k };
            for j in 0..pj {
                let sj = if flip[1] { pj - 1 - j } else { j };
                let src_row = (sk * pj + sj) * pi;
                let tr = (k * pj + j) * pi;
                let dst_row = ((t[0] + k) * nj + t[1] + j) * ni + t[2];
                for (ch, xc) in x.iter_mut().enumerate() {
                    let yc = &y[ch * pv + src_row..ch * pv + src_row + pi];
                    if flip[2] {
                        for (a, &v) in xc.iter_mut().zip(yc.iter().rev()) {
                            *a = v;
                        }
                    } else {
                        xc.copy_from_slice(yc);
                    }
                }
                if uncertainty {
                    crate::voxel::probabilities_span(&x, 0, &mut p, 0, pi, kind, act, Some(&mut h));
                }
                if !single {
                    let first = m == 0;
                    let add = |dst: &mut [f32], src: &[f32]| {
                        if first {
                            dst.copy_from_slice(src);
                        } else {
                            for (a, &v) in dst.iter_mut().zip(src) {
                                *a += v;
                            }
                        }
                    };
                    for (ch, xc) in x.iter().enumerate() {
                        add(&mut self.tile_sum[ch * pv + tr..ch * pv + tr + pi], xc);
                    }
                    if uncertainty {
                        for (ch, pc) in p.iter().enumerate() {
                            add(&mut self.tile_prob[ch * pv + tr..ch * pv + tr + pi], pc);
                        }
                        add(&mut self.tile_ent[tr..tr + pi], &h);
                    }
                    if !last {
                        continue;
                    }
                    // nnU-Net: prediction /= (len(axes_combinations) + 1).
                    for (ch, xc) in x.iter_mut().enumerate() {
                        for (v, &a) in xc.iter_mut().zip(&self.tile_sum[ch * pv + tr..ch * pv + tr + pi]) {
                            *v = a / n_mirrors;
                        }
                    }
                    if uncertainty {
                        for (ch, pc) in p.iter_mut().enumerate() {
                            pc.copy_from_slice(&self.tile_prob[ch * pv + tr..ch * pv + tr + pi]);
                        }
                        h.copy_from_slice(&self.tile_ent[tr..tr + pi]);
                    }
                }
                // prediction *= gaussian; predicted_logits[sl] += prediction (half);
                // n_predictions[sl[1:]] += gaussian (half).
                let g = &self.gauss[tr..tr + pi];
                for (ch, xc) in x.iter().enumerate() {
                    let acc = &mut self.logits[ch * np + dst_row..ch * np + dst_row + pi];
                    for ((a, &v), &g) in acc.iter_mut().zip(xc).zip(g) {
                        *a += v * g;
                    }
                    if self.float16 {
                        round_f16_in_place(acc);
                    }
                }
                let w = &mut self.weight[dst_row..dst_row + pi];
                for (w, &g) in w.iter_mut().zip(g) {
                    *w += g;
                }
                if self.float16 {
                    round_f16_in_place(w);
                }
                if uncertainty {
                    for (ch, pc) in p.iter().enumerate() {
                        for ((a, &q), &g) in self.probs[ch * np + dst_row..ch * np + dst_row + pi].iter_mut().zip(pc).zip(g) {
                            *a += q / n_mirrors * g;
                        }
                    }
                    for ((w, e), (&g, &hv)) in self.prob_weight[dst_row..dst_row + pi].iter_mut().zip(&mut self.entropy[dst_row..dst_row + pi]).zip(g.iter().zip(&h)) {
                        *w += g;
                        *e += hv / n_mirrors * g;
                    }
                }
            }
        }
    }

    /// [`NnunetSums::add`] of a tile's one output when only the logits are summed (one mirror set,
    /// no uncertainty): row by row and class by class over contiguous slices, the same
    /// arithmetic per voxel (`a = a + o g`, `w = w + g`, rounded to float16 when nnU-Net's sums
    /// are reproduced).
    fn add_logits_only(&mut self, y: &[f32], t: [usize; 3], flip: [bool; 3]) {
        let ([pk, pj, pi], [_, nj, ni]) = (self.patch, self.padded);
        let (pv, np, float16) = (pk * pj * pi, self.weight.len(), self.float16);
        // `a = a + b` in float32, then rounded to float16 (the same as `round_f16(a + b)`).
        let round = |row: &mut [f32]| {
            if float16 {
                round_f16_in_place(row);
            }
        };
        for k in 0..pk {
            let sk = if flip[0] { pk - 1 - k } else { k };
            for j in 0..pj {
                let sj = if flip[1] { pj - 1 - j } else { j };
                let src_row = (sk * pj + sj) * pi;
                let tile_row = (k * pj + j) * pi;
                let dst_row = ((t[0] + k) * nj + t[1] + j) * ni + t[2];
                let g = &self.gauss[tile_row..tile_row + pi];
                for ch in 0..self.classes {
                    let src = &y[ch * pv + src_row..ch * pv + src_row + pi];
                    let dst = &mut self.logits[ch * np + dst_row..ch * np + dst_row + pi];
                    if flip[2] {
                        for ((a, &v), &g) in dst.iter_mut().zip(src.iter().rev()).zip(g) {
                            *a += v * g;
                        }
                    } else {
                        for ((a, &v), &g) in dst.iter_mut().zip(src).zip(g) {
                            *a += v * g;
                        }
                    }
                    round(dst);
                }
                let w = &mut self.weight[dst_row..dst_row + pi];
                for (w, &g) in w.iter_mut().zip(g) {
                    *w += g;
                }
                round(w);
            }
        }
    }

    /// The sums divided by their weights (in float16 for nnU-Net's logits), cropped to the
    /// image at `lo` of size `size`.
    fn finish(mut self, lo: [usize; 3], size: [usize; 3]) -> NnunetWindow {
        let np = self.weight.len();
        let (float16, weight, prob_weight) = (self.float16, &self.weight, &self.prob_weight);
        self.logits.par_chunks_mut(np).for_each(|plane| {
            for (a, &w) in plane.iter_mut().zip(weight) {
                *a /= w;
            }
            if float16 {
                round_f16_in_place(plane);
            }
        });
        self.probs.par_chunks_mut(np.max(1)).for_each(|plane| {
            for (a, &w) in plane.iter_mut().zip(prob_weight) {
                *a /= w;
            }
        });
        for (e, &w) in self.entropy.iter_mut().zip(prob_weight) {
            *e /= w;
        }
        let [nk, nj, ni] = self.padded;
        let shape4 = (self.classes, nk, nj, ni);
        let crop = s![.., lo[0]..lo[0] + size[0], lo[1]..lo[1] + size[1], lo[2]..lo[2] + size[2]];
        let crop3 = s![lo[0]..lo[0] + size[0], lo[1]..lo[1] + size[1], lo[2]..lo[2] + size[2]];
        // Not padded (the image is at least the patch): the sums are the result, no copy.
        let whole = size == self.padded;
        let logits = Array4::from_shape_vec(shape4, self.logits).expect("padded shape");
        let logits = if whole { logits } else { logits.slice(crop).to_owned() };
        if !self.uncertainty {
            return NnunetWindow { logits, probabilities: Array4::zeros((0, 0, 0, 0)), member_entropy: Array3::zeros((0, 0, 0)) };
        }
        let probabilities = Array4::from_shape_vec(shape4, self.probs).expect("padded shape");
        let member_entropy = Array3::from_shape_vec((nk, nj, ni), self.entropy).expect("padded shape");
        if whole {
            return NnunetWindow { logits, probabilities, member_entropy };
        }
        NnunetWindow { logits, probabilities: probabilities.slice(crop).to_owned(), member_entropy: member_entropy.slice(crop3).to_owned() }
    }
}

/// Fold `fold`'s sliding window over `image` (`[C, k, j, i]`, normalised, at the model's
/// spacing) with the mirror sets `mirrors` (first: none), in nnUNetPredictor's arithmetic when
/// `sums.float16` is true (module docs), with float32 sums otherwise (nnU-Net's float16 Gaussian either way).
/// With `sums.uncertainty` false only the logits are summed (nnUNetPredictor's own work).
///
/// Each network output is taken in one pass over its voxels ([`NnunetSums`]), while the next
/// batch runs in ONNX Runtime ([`pipelined`]).
pub fn nnunet_sliding_window(
    model: &mut Model,
    fold: usize,
    image: ArrayView4<'_, f32>,
    mirrors: &[[bool; 3]],
    options: &WindowOptions,
    sums: NnunetSumsOptions,
    timing: &mut WindowTiming,
) -> Result<NnunetWindow> {
    let NnunetSumsOptions { float16, uncertainty } = sums;
    let start = Instant::now();
    let (kind, activation) = (model.card().output.kind, model.card().output.activation);
    let patch = model.card().patch_size_kji();
    let classes = model.card().output.classes.len();
    if mirrors.is_empty() {
        return Err(Error::BadInput { what: "no mirror set: the first member is the unflipped image".into() });
    }
    let Tiled { padded, layout: Layout { lo, size, padded_size, tiles } } =
        tile_image(image, patch, options.step_fraction, image.shape()[0] + if uncertainty { 2 * classes + 2 } else { classes + 1 })?;
    let jobs: Vec<Job> = tiles.iter().flat_map(|&t| mirrors.iter().map(move |&m| (t, m))).collect();
    let batch = model.batch_for(options.batch_size);
    let mut sums = NnunetSums::new(classes, float16, uncertainty, mirrors.len(), padded_size, patch);
    let mut member = 0usize;
    let per_output = classes * patch.iter().product::<usize>();
    pipelined(model, fold, Work { padded: padded.view(), jobs: &jobs, batch, patch }, timing, |y, chunk| {
        let ys = y.as_slice().ok_or_else(|| Error::BadInput { what: "the model's output is not contiguous".into() })?;
        for (b, (t, flip)) in chunk.iter().enumerate() {
            let m = member % mirrors.len();
            member += 1;
            sums.add(&ys[b * per_output..(b + 1) * per_output], *t, *flip, m, kind, activation);
        }
        Ok(())
    })?;
    let out = sums.finish(lo, size);
    if out.logits.iter().any(|v| !v.is_finite()) {
        return Err(Error::BadInput {
            what: format!("model {}'s logits overflowed float16 in nnU-Net's accumulation; set float16_accumulation = false in the card's [nnunet] table", model.card().name),
        });
    }
    timing.total_s += start.elapsed().as_secs_f64();
    Ok(out)
}

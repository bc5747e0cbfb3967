//! Several members (mirror sets, folds) of a softmax model whose tiles do not overlap: each tile
//! a slab of whole slices (a slice-wise model's one-slice patch, or one tile along k), spanning
//! the whole (padded) image across the slice. Every voxel then lies in exactly one tile per
//! member, so a tile's members can be run one after the other and the voxel's results finished
//! right away: per voxel the same arithmetic as [`crate::segment`]'s members' path
//! ([`crate::window::sliding_window_fold`] per member, then the members' sums, mean, predictive
//! entropy, disagreement, the mean's softmax and its argmax), in the same order, bit for bit,
//! without any volume-sized sum, per-member map or copy of a network output: each output is
//! read where ONNX Runtime wrote it. Row by row on the calling thread: a call's rows are a few
//! tens of thousands of voxels (about 0.1 ms of work), too little to hand to other threads
//! (rayon) without waiting for them on a loaded machine, where ONNX Runtime's own threads spin
//! between calls.
//!
//! Per voxel and member `m` (output `o_m` in the tile's unflipped frame, Gaussian `g`): the
//! window's `(0 + o_m g) / (0 + g)` (its sums start at 0), its softmax `p_m` and entropy `h_m`;
//! the sums `s = x_0 + x_1 + ...` in member order (likewise `p` and `h`); then `mean = s inv`,
//! `pbar = P inv`, `hbar = H inv` with `inv = 1 / members`, the entropy of `pbar`, the
//! disagreement `max(H(pbar) - hbar, 0)`, and `softmax(mean)` with its first argmax.
//!
//! Stochastic models (their dropout draws in the order of the calls) and nnU-Net cards take the
//! general paths.

use std::time::Instant;

use ndarray::{Array3, Array4, Array5, ArrayView4};

use crate::Result;
use crate::card::{Activation, OutputKind};
use crate::model::Model;
use crate::prediction::{InferenceOptions, Prediction};
use crate::voxel::{argmax_span, plane_chunks_of, probabilities_span, softmax_entropy_span};
use crate::window::{Tiled, WindowTiming, gather_tiles, gaussian_importance, tile_image};

/// Where one image row's results go (each empty when not wanted).
#[derive(Default)]
struct RowOut<'a> {
    mean: Vec<&'a mut [f32]>,
    probs: Vec<&'a mut [f32]>,
    entropy: &'a mut [f32],
    disagreement: &'a mut [f32],
    best: &'a mut [u16],
}

/// What [`members_over_slabs`] is asked for.
pub(crate) struct SlabRun<'a> {
    pub folds: &'a [usize],
    pub mirrors: &'a [[bool; 3]],
    /// Keep the members' mean output (else only the softmax of it and its argmax).
    pub need_output: bool,
    /// Labels only: the argmax of the mean logits, no probability map.
    pub only_labels: bool,
}

/// The members' prediction over non-overlapping slabs (module docs), or `None` when the model or
/// the image does not fit this path. With `need_output` the mean output, entropy and
/// disagreement (no probabilities, no argmax); otherwise the softmax of the mean (unless
/// `only_labels`), the argmax, entropy and disagreement, and an empty output.
pub(crate) fn members_over_slabs(model: &mut Model, image: ArrayView4<'_, f32>, options: &InferenceOptions, run: &SlabRun<'_>) -> Result<Option<(Prediction, Option<Array3<u16>>)>> {
    let start = Instant::now();
    let card = model.card();
    let (kind, act, classes) = (card.output.kind, card.output.activation, card.output.classes.len());
    let patch = card.patch_size_kji();
    let channels = image.shape()[0];
    let size = [image.shape()[1], image.shape()[2], image.shape()[3]];
    let padded: [usize; 3] = std::array::from_fn(|a| size[a].max(patch[a]));
    let slabs = padded[1] == patch[1] && padded[2] == patch[2] && (patch[0] == 1 || padded[0] == patch[0]);
    let members = run.folds.len() * run.mirrors.len();
    if card.nnunet.is_some()
        || card.output.stochastic
        || options.mc_passes != 1
        || (kind, act) != (OutputKind::Logits, Activation::Softmax)
        || classes == 0
        || classes > usize::from(u16::MAX)
        || members < 2
        || !slabs
        || size.contains(&0)
    {
        return Ok(None);
    }
    let Tiled { padded, lo, tiles, .. } = tile_image(image, patch, options.window.step_fraction, channels + classes + 3)?;
    let [pk, pj, pi] = patch;
    let [nk, nj, ni] = size;
    let n = nk * nj * ni;
    let gauss = gaussian_importance(patch);
    let gs = gauss.as_slice().expect("standard layout");
    let uncertainty = options.uncertainty;
    let labels = !run.need_output;
    let with_probs = labels && !run.only_labels;
    let mut mean = if run.need_output { vec![0f32; classes * n] } else { Vec::new() };
    let mut probs = if with_probs { vec![0f32; classes * n] } else { Vec::new() };
    let (mut entropy, mut disagreement) = if uncertainty { (vec![0f32; n], vec![0f32; n]) } else { (Vec::new(), Vec::new()) };
    let mut best = if labels { vec![0u16; n] } else { Vec::new() };
    {
        let mut means = plane_chunks_of(&mut mean, classes, ni).into_iter();
        let mut ps = plane_chunks_of(&mut probs, classes, ni).into_iter();
        let (mut hs, mut mis, mut bs) = (entropy.chunks_mut(ni), disagreement.chunks_mut(ni), best.chunks_mut(ni));
        let mut outs: Vec<RowOut<'_>> = (0..nk * nj)
            .map(|_| RowOut {
                mean: means.next().unwrap_or_default(),
                probs: ps.next().unwrap_or_default(),
                entropy: hs.next().unwrap_or_default(),
                disagreement: mis.next().unwrap_or_default(),
                best: bs.next().unwrap_or_default(),
            })
            .collect();
        let batch = model.batch_for(options.window.batch_size);
        let inv = 1.0 / members as f32;
        let mut timing = WindowTiming::default();
        // A group's sums, one block per image row: every class's row, then the next row.
        let (mut sum, mut psum, mut hsum) = (Vec::new(), Vec::new(), Vec::new());
        for group in tiles.chunks(batch) {
            // The image slices of each tile (tiles follow k; each spans the slice).
            let planes: Vec<(usize, usize, usize)> = group.iter().enumerate().flat_map(|(b, t)| (t[0].max(lo[0])..(t[0] + pk).min(lo[0] + nk)).map(move |pk_| (b, pk_ - t[0], pk_ - lo[0]))).collect();
            let (Some(&(_, _, ka)), rows) = (planes.first(), planes.len() * nj) else { continue };
            sum.resize(rows * classes * ni, 0.0);
            psum.resize(rows * classes * ni, 0.0);
            hsum.resize(rows * ni, 0.0);
            let mut x = Array5::<f32>::zeros((group.len(), channels, pk, pj, pi));
            let mut first = true;
            for &fold in run.folds {
                for &flip in run.mirrors {
                    gather_tiles(padded.view(), patch, group.iter().map(|&t| (t, flip)), &mut x);
                    let add = Add { classes, patch, lo, ni, nj, flip, first, uncertainty, kind, act, gs, planes: &planes };
                    model.run_fold_with(fold, x.view(), |y| {
                        let y = y.as_standard_layout();
                        add.rows(y.as_slice().expect("standard layout"), &mut sum, &mut psum, &mut hsum);
                    })?;
                    timing.network_s += model.last_run_s();
                    timing.network_calls += 1;
                    first = false;
                }
            }
            let fin = Finish { classes, ni, inv, uncertainty, with_probs, labels, need_output: run.need_output, kind, act };
            fin.rows(&sum, &psum, &hsum, &mut outs[ka * nj..ka * nj + rows]);
        }
        timing.total_s = start.elapsed().as_secs_f64();
        let shape = (classes, nk, nj, ni);
        let map = |v: Vec<f32>| if v.is_empty() { Array3::zeros((0, 0, 0)) } else { Array3::from_shape_vec((nk, nj, ni), v).expect("the image's shape") };
        drop(outs);
        let prediction = Prediction {
            output: if run.need_output { Array4::from_shape_vec(shape, mean).expect("the image's shape") } else { Array4::zeros((0, 0, 0, 0)) },
            entropy_nats: map(entropy),
            disagreement_nats: map(disagreement),
            members,
            timing,
            probabilities: with_probs.then(|| Array4::from_shape_vec(shape, probs).expect("the image's shape")),
        };
        let best = labels.then(|| Array3::from_shape_vec((nk, nj, ni), best).expect("the image's shape"));
        Ok(Some((prediction, best)))
    }
}

/// Adds one member's outputs of a group of tiles to the group's sums, row by row.
struct Add<'a> {
    classes: usize,
    patch: [usize; 3],
    lo: [usize; 3],
    ni: usize,
    nj: usize,
    flip: [bool; 3],
    /// The first member: the sums start as its values.
    first: bool,
    uncertainty: bool,
    kind: OutputKind,
    act: Activation,
    /// The window's Gaussian, flat over the patch.
    gs: &'a [f32],
    /// Per image slice of the group: its tile in the batch, its slice in the tile, its k.
    planes: &'a [(usize, usize, usize)],
}

impl Add<'_> {
    fn rows(&self, ys: &[f32], sum: &mut [f32], psum: &mut [f32], hsum: &mut [f32]) {
        let Self { classes, patch: [pk, pj, pi], lo, ni, nj, flip, first, uncertainty, kind, act, gs, planes } = *self;
        let block = classes * ni;
        let pv = pk * pj * pi;
        let bufs = || (vec![vec![0f32; ni]; classes], vec![vec![0f32; ni]; classes], vec![0f32; ni]);
        let add = |acc: &mut [f32], v: &[f32]| {
            if first {
                acc.copy_from_slice(v);
            } else {
                acc.iter_mut().zip(v).for_each(|(a, &v)| *a += v);
            }
        };
        let (mut xr, mut pr, mut hr) = bufs();
        sum.chunks_mut(block).zip(psum.chunks_mut(block)).zip(hsum.chunks_mut(ni)).enumerate().for_each(|(r, ((srow, prow), hrow))| {
            let (b, tk, _) = planes[r / nj];
            let tj = lo[1] + r % nj;
            let sk = if flip[0] { pk - 1 - tk } else { tk };
            let sj = if flip[1] { pj - 1 - tj } else { tj };
            let g = &gs[(tk * pj + tj) * pi + lo[2]..(tk * pj + tj) * pi + lo[2] + ni];
            for (c, xc) in xr.iter_mut().enumerate() {
                let base = (b * classes + c) * pv + (sk * pj + sj) * pi;
                // The window's sums start at 0: acc = 0 + o g, weight = 0 + g.
                if flip[2] {
                    let src = &ys[base + pi - lo[2] - ni..base + pi - lo[2]];
                    xc.iter_mut().zip(src.iter().rev()).zip(g).for_each(|((x, &o), &g)| *x = (0.0f32 + o * g) / (0.0f32 + g));
                } else {
                    let src = &ys[base + lo[2]..base + lo[2] + ni];
                    xc.iter_mut().zip(src).zip(g).for_each(|((x, &o), &g)| *x = (0.0f32 + o * g) / (0.0f32 + g));
                }
                add(&mut srow[c * ni..(c + 1) * ni], xc);
            }
            if uncertainty {
                probabilities_span(&xr, 0, &mut pr, 0, ni, kind, act, Some(hr.as_mut_slice()));
                for (c, pc) in pr.iter().enumerate() {
                    add(&mut prow[c * ni..(c + 1) * ni], pc);
                }
                add(hrow, &hr);
            }
        });
    }
}

/// Finishes a group's rows from its sums (module docs) into the image's rows.
struct Finish {
    classes: usize,
    ni: usize,
    inv: f32,
    uncertainty: bool,
    with_probs: bool,
    labels: bool,
    need_output: bool,
    kind: OutputKind,
    act: Activation,
}

impl Finish {
    fn rows(&self, sum: &[f32], psum: &[f32], hsum: &[f32], outs: &mut [RowOut<'_>]) {
        let Self { classes, ni, inv, uncertainty, with_probs, labels, need_output, kind, act } = *self;
        let block = classes * ni;
        let bufs = || (vec![vec![0f32; ni]; classes], vec![vec![0f32; ni]; classes], vec![0f32; ni]);
        let (mut mr, mut pbar, mut hr) = bufs();
        sum.chunks(block).zip(psum.chunks(block)).zip(hsum.chunks(ni)).zip(outs.iter_mut()).for_each(|(((s, ps), hs), out)| {
            for (c, m) in mr.iter_mut().enumerate() {
                m.iter_mut().zip(&s[c * ni..(c + 1) * ni]).for_each(|(m, &v)| *m = v * inv);
            }
            if need_output {
                out.mean.iter_mut().zip(mr.iter()).for_each(|(o, m)| o.copy_from_slice(m));
            }
            if uncertainty {
                for (c, p) in pbar.iter_mut().enumerate() {
                    p.iter_mut().zip(&ps[c * ni..(c + 1) * ni]).for_each(|(p, &v)| *p = v * inv);
                }
                softmax_entropy_span(&pbar, 0, out.entropy);
                hr.iter_mut().zip(hs).for_each(|(h, &v)| *h = v * inv);
                out.disagreement.iter_mut().zip(out.entropy.iter()).zip(hr.iter()).for_each(|((d, &h), &hm)| *d = (h - hm).max(0.0));
            }
            if with_probs {
                probabilities_span(&mr, 0, &mut out.probs, 0, ni, kind, act, None);
                argmax_span(&out.probs, 0, out.best);
            } else if labels {
                argmax_span(&mr, 0, out.best);
            }
        });
    }
}

//! Several members (mirror sets, folds) of a softmax model whose tiles do not overlap: each tile
//! a slab of whole slices (a slice-wise model's one-slice patch, or one tile along k), spanning
//! the whole (padded) image across the slice. Every voxel then lies in exactly one tile per
//! member, so a tile's members can be run one after the other and the voxel's results finished
//! right away: per voxel the same arithmetic as [`crate::segment`]'s members' path
//! ([`crate::window::sliding_window_fold`] per member, then the members' sums, mean, predictive
//! entropy, disagreement, the mean's softmax and its argmax), in the same order, bit for bit,
//! without any volume-sized sum, per-member map or copy of a network output: each output is
//! read where ONNX Runtime wrote it, and the tiles are filled from the image itself (no padded
//! copy of it), or from a CT's rows normalised as they are read ([`SlabImage`]: no normalised
//! copy either).
//!
//! **How the work is laid out.** On the calling thread (a call's voxels are about 0.1 ms of
//! work, too little to hand to other threads (rayon) without waiting for them on a loaded
//! machine, where ONNX Runtime's own threads spin between calls), span by span: a span is a run
//! of whole rows of one slice, about [`SPAN`] voxels, so that every vectorised loop runs over
//! full blocks and a span's classes stay in cache. The first member's values, probabilities and
//! entropies are written straight into the group's sums; a middle member's are added to them;
//! the last member adds its values and finishes the span at once (mean, entropy of the mean
//! probabilities, disagreement, the mean's softmax and argmax) while the span is in cache. The
//! kernels run in AVX2 where the CPU has it ([`crate::voxel::with_widest_vectors`]: the same
//! operations in wider vectors, the same bits).
//!
//! On the real CT with coxa's lesion test model this part takes about 40 % less time than one
//! pass per image row in SSE2 did (the book's benchmarks page has the figures).
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

use ndarray::{Array3, Array4, Array5, CowArray, Ix4, s};

use crate::Result;
use crate::card::{Activation, OutputKind};
use crate::model::Model;
use crate::prediction::{InferenceOptions, Prediction};
use crate::voxel::{argmax_span, probabilities_span, softmax_entropy_span, with_widest_vectors};
use crate::window::{Layout, WindowTiming, gaussian_importance, tile_layout};

/// Voxels per span, about: a span of whole rows of one slice (at least one row) is the unit of
/// work, long enough that the vectorised loops run over full blocks of [`crate::voxel::BLOCK`]
/// voxels (rows of 122 voxels left a remainder in every loop), short enough that a span's
/// classes stay in the first two cache levels.
const SPAN: usize = 4096;

/// Where one span's results go: its part of each output (empty when not wanted).
#[derive(Default)]
struct SpanOut<'a> {
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
pub(crate) fn members_over_slabs(model: &mut Model, image: SlabImage<'_>, options: &InferenceOptions, run: &SlabRun<'_>) -> Result<Option<(Prediction, Option<Array3<u16>>)>> {
    let start = Instant::now();
    let card = model.card();
    let (kind, act, classes) = (card.output.kind, card.output.activation, card.output.classes.len());
    let patch = card.patch_size_kji();
    let (channels, size) = (image.channels(), image.size());
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
    let Layout { lo, tiles, .. } = tile_layout(size, patch, options.window.step_fraction, channels + classes + 3)?;
    let [pk, pj, pi] = patch;
    let [nk, nj, ni] = size;
    let n = nk * nj * ni;
    // Rows per span, and the spans of a slice (the last may be shorter).
    let span_rows = (SPAN / ni).clamp(1, nj);
    let spans: Vec<std::ops::Range<usize>> = (0..nj).step_by(span_rows).map(|j| j..(j + span_rows).min(nj)).collect();
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
        // Each slice's spans, slice after slice, as the outputs' pieces.
        let lens: Vec<usize> = spans.iter().map(|r| r.len() * ni).collect();
        let mut means = span_chunks(&mut mean, classes, &lens).into_iter();
        let mut ps = span_chunks(&mut probs, classes, &lens).into_iter();
        let (mut hs, mut mis, mut bs) = (pieces(&mut entropy, &lens).into_iter(), pieces(&mut disagreement, &lens).into_iter(), pieces(&mut best, &lens).into_iter());
        let mut outs: Vec<SpanOut<'_>> = (0..nk * spans.len())
            .map(|_| SpanOut {
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
        let mut sums = Sums::default();
        // One span's values, probabilities and entropies (a member's, then the members' means).
        let span_len = span_rows * ni;
        let mut scratch = Scratch { x: vec![vec![0f32; span_len]; classes], p: vec![vec![0f32; span_len]; classes], h: vec![0f32; span_len] };
        let fin = Finish { uncertainty, with_probs, labels, need_output: run.need_output, kind, act };
        // A group's tiles (the last group's may be fewer: the first of them are run).
        let mut x = Array5::<f32>::zeros((batch.min(tiles.len()), channels, pk, pj, pi));
        for group in tiles.chunks(batch) {
            // The image slices of each tile (tiles follow k; each spans the slice).
            let planes: Vec<(usize, usize, usize)> = group.iter().enumerate().flat_map(|(b, t)| (t[0].max(lo[0])..(t[0] + pk).min(lo[0] + nk)).map(move |pk_| (b, pk_ - t[0], pk_ - lo[0]))).collect();
            let Some(&(_, _, ka)) = planes.first() else { continue };
            sums.x.resize(planes.len() * classes * nj * ni, 0.0);
            if uncertainty {
                sums.p.resize(planes.len() * classes * nj * ni, 0.0);
                sums.h.resize(planes.len() * nj * ni, 0.0);
            }
            let group_outs = &mut outs[ka * spans.len()..(ka + planes.len()) * spans.len()];
            let mut member = 0;
            for &fold in run.folds {
                for &flip in run.mirrors {
                    gather_slabs(&image, lo, patch, group, flip, &mut x);
                    let (first, last) = (member == 0, member + 1 == members);
                    let add = Add { classes, patch, lo, ni, nj, flip, first, last, inv, uncertainty, kind, act, gs, planes: &planes, spans: &spans };
                    model.run_fold_with(fold, x.slice(s![..group.len(), .., .., .., ..]), |y| {
                        let y = y.as_standard_layout();
                        add.slices(y.as_slice().expect("standard layout"), &mut sums, &mut scratch, &fin, group_outs);
                    })?;
                    timing.network_s += model.last_run_s();
                    timing.network_calls += 1;
                    member += 1;
                }
            }
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

/// `data` (`[C, k, j, i]`, C planes of `nk` slices, each the sum of `lens`; empty: none) cut
/// into pieces of `lens` slice after slice: per piece, its part of every class's plane.
fn span_chunks<'a, T>(data: &'a mut [T], classes: usize, lens: &[usize]) -> Vec<Vec<&'a mut [T]>> {
    let per_class: Vec<Vec<&mut [T]>> = if data.is_empty() { Vec::new() } else { data.chunks_mut(data.len() / classes).map(|plane| pieces(plane, lens)).collect() };
    let count = per_class.first().map_or(0, Vec::len);
    let mut iters: Vec<_> = per_class.into_iter().map(Vec::into_iter).collect();
    (0..count).map(|_| iters.iter_mut().map(|it| it.next().expect("every class has the same pieces")).collect()).collect()
}

/// `data` (slices of `lens.iter().sum()` values, one after the other) cut into pieces of
/// `lens`, slice after slice.
fn pieces<'a, T>(mut data: &'a mut [T], lens: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::new();
    while !data.is_empty() {
        for &len in lens {
            let (piece, rest) = std::mem::take(&mut data).split_at_mut(len);
            out.push(piece);
            data = rest;
        }
    }
    out
}

/// One span's scratch: values per class, probabilities per class, entropies.
struct Scratch {
    x: Vec<Vec<f32>>,
    p: Vec<Vec<f32>>,
    h: Vec<f32>,
}

/// What the slab path fills its tiles from.
pub(crate) enum SlabImage<'a> {
    /// The model's input `[C, k, j, i]`.
    Normalised(CowArray<'a, f32, Ix4>),
    /// A one-channel image of `size` (k, j, i), row by row: `row(k, j, out)` writes row `(k, j)`
    /// (`size[2]` values) into `out` (a CT's HU, normalised as they are read: no normalised copy
    /// of the CT).
    Rows { size: [usize; 3], row: &'a dyn Fn(usize, usize, &mut [f32]) },
}

impl SlabImage<'_> {
    fn channels(&self) -> usize {
        match self {
            Self::Normalised(v) => v.shape()[0],
            Self::Rows { .. } => 1,
        }
    }

    fn size(&self) -> [usize; 3] {
        match self {
            Self::Normalised(v) => [v.shape()[1], v.shape()[2], v.shape()[3]],
            Self::Rows { size, .. } => *size,
        }
    }

    /// Row `(k, j)` of channel `c` into `out`.
    fn row(&self, c: usize, k: usize, j: usize, out: &mut [f32]) {
        match self {
            Self::Normalised(v) => {
                let row = v.slice(s![c, k, j, ..]);
                match row.as_slice() {
                    Some(row) => out.copy_from_slice(row),
                    None => out.iter_mut().zip(row.iter()).for_each(|(o, &v)| *o = v),
                }
            }
            Self::Rows { row, .. } => row(k, j, out),
        }
    }
}

/// The tiles `group` (start corners on the padded grid, where the image starts at `lo`) of
/// `image`, flipped along the axes of `flip`, into `x` (`[N, C, k, j, i]`, `N` at least the
/// group's length): what [`crate::window::gather_tiles`] takes from the image padded with zeros,
/// read row by row from the image itself, so that no padded copy of it is made (7 MB for a CT
/// of 122 x 101 x 112 voxels on 128 x 128 slices).
fn gather_slabs(image: &SlabImage<'_>, lo: [usize; 3], patch: [usize; 3], group: &[[usize; 3]], flip: [bool; 3], x: &mut Array5<f32>) {
    let [pk, pj, pi] = patch;
    let (channels, [nk, nj, ni]) = (image.channels(), image.size());
    let xs = x.as_slice_mut().expect("a new array");
    xs.fill(0.0);
    let mut reversed = vec![0f32; if flip[2] { ni } else { 0 }];
    for (b, t) in group.iter().enumerate() {
        for tk in 0..pk {
            // The tile's slice `tk` (flipped: the tile's last) is the padded grid's `t[0] + ..`.
            let Some(k) = (t[0] + if flip[0] { pk - 1 - tk } else { tk }).checked_sub(lo[0]).filter(|&k| k < nk) else { continue };
            for c in 0..channels {
                for j in 0..nj {
                    // Image row `j` is the tile's row `lo[1] + j - t[1]`, and its voxels the tile's
                    // `lo[2] - t[2] ..` (flipped: counted from the tile's other end).
                    let tj = lo[1] + j - t[1];
                    let tj = if flip[1] { pj - 1 - tj } else { tj };
                    let ti = lo[2] - t[2];
                    let at = (((b * channels + c) * pk + tk) * pj + tj) * pi;
                    if flip[2] {
                        image.row(c, k, j, &mut reversed);
                        xs[at + pi - ti - ni..at + pi - ti].iter_mut().zip(reversed.iter().rev()).for_each(|(x, &v)| *x = v);
                    } else {
                        image.row(c, k, j, &mut xs[at + ti..at + ti + ni]);
                    }
                }
            }
        }
    }
}

/// Adds one member's outputs of a group of tiles to the group's sums, span by span; the last
/// member finishes each span as it goes ([`Finish`]), while the span's sums are in cache.
struct Add<'a> {
    classes: usize,
    patch: [usize; 3],
    lo: [usize; 3],
    ni: usize,
    nj: usize,
    flip: [bool; 3],
    /// The first member: its values are the sums.
    first: bool,
    /// The last member: the sums' last term, then the span is finished.
    last: bool,
    inv: f32,
    uncertainty: bool,
    kind: OutputKind,
    act: Activation,
    /// The window's Gaussian, flat over the patch.
    gs: &'a [f32],
    /// Per image slice of the group: its tile in the batch, its slice in the tile, its k.
    planes: &'a [(usize, usize, usize)],
    /// The rows of each span of a slice.
    spans: &'a [std::ops::Range<usize>],
}

impl Add<'_> {
    /// `ys`: the member's outputs of the group's tiles; `outs`: the group's spans, slice after
    /// slice (written by the last member).
    fn slices(&self, ys: &[f32], sums: &mut Sums, scratch: &mut Scratch, fin: &Finish, outs: &mut [SpanOut<'_>]) {
        with_widest_vectors(|| self.slices_any(ys, sums, scratch, fin, outs));
    }

    #[inline(always)]
    fn slices_any(&self, ys: &[f32], sums: &mut Sums, scratch: &mut Scratch, fin: &Finish, outs: &mut [SpanOut<'_>]) {
        let Self { classes, ni, nj, flip, first, last, inv, uncertainty, kind, act, planes, spans, .. } = *self;
        let plane = nj * ni;
        let block = classes * plane;
        let [pk, ..] = self.patch;
        let Sums { x: sum, p: psum, h: hsum } = sums;
        let Scratch { x: xr, p: pr, h: hr } = scratch;
        let mut outs = outs.iter_mut();
        for (q, &(b, tk, _)) in planes.iter().enumerate() {
            let sk = if flip[0] { pk - 1 - tk } else { tk };
            for rows in spans {
                let (at, len, h_at) = (q * block + rows.start * ni, rows.len() * ni, q * plane + rows.start * ni);
                if first {
                    // The first member's values, probabilities and entropies are the sums.
                    for (c, xc) in sum[at..].chunks_mut(plane).take(classes).enumerate() {
                        self.window(ys, b, tk, sk, c, rows.clone(), &mut xc[..len]);
                    }
                    if uncertainty {
                        let x: Vec<&[f32]> = sum[at..].chunks(plane).take(classes).map(|xc| &xc[..len]).collect();
                        let mut p: Vec<&mut [f32]> = psum[at..].chunks_mut(plane).take(classes).map(|pc| &mut pc[..len]).collect();
                        probabilities_span(&x, 0, &mut p, 0, len, kind, act, Some(&mut hsum[h_at..h_at + len]));
                    }
                    continue;
                }
                for (c, xc) in xr.iter_mut().enumerate() {
                    self.window(ys, b, tk, sk, c, rows.clone(), &mut xc[..len]);
                }
                if uncertainty {
                    probabilities_span(xr, 0, pr, 0, len, kind, act, Some(&mut hr[..len]));
                }
                // `s + x` (in member order), then, after the last member, times 1/members.
                let add = |acc: &mut [f32], v: &mut [f32]| {
                    if last {
                        v.iter_mut().zip(acc.iter()).for_each(|(v, &s)| *v = (s + *v) * inv);
                    } else {
                        acc.iter_mut().zip(v.iter()).for_each(|(s, &v)| *s += v);
                    }
                };
                for (c, xc) in xr.iter_mut().enumerate() {
                    add(&mut sum[at + c * plane..at + c * plane + len], &mut xc[..len]);
                }
                if uncertainty {
                    for (c, pc) in pr.iter_mut().enumerate() {
                        add(&mut psum[at + c * plane..at + c * plane + len], &mut pc[..len]);
                    }
                    add(&mut hsum[h_at..h_at + len], &mut hr[..len]);
                }
                if last {
                    fin.span(xr, pr, hr, len, outs.next().expect("a span's output"));
                }
            }
        }
    }

    /// The window's value `(0 + o g) / (0 + g)` (its sums start at 0) of class `c` over the
    /// image rows `rows` of the group's slice from batch tile `b`, its slice `tk` (`sk` in the
    /// member's flipped output), into `x`.
    #[inline(always)]
    #[expect(clippy::too_many_arguments, reason = "the tile, its slice both ways, the class, the rows and the destination")]
    fn window(&self, ys: &[f32], b: usize, tk: usize, sk: usize, c: usize, rows: std::ops::Range<usize>, x: &mut [f32]) {
        let Self { classes, patch: [pk, pj, pi], lo, ni, flip, gs, .. } = *self;
        let pv = pk * pj * pi;
        for (r, j) in rows.enumerate() {
            let tj = lo[1] + j;
            let sj = if flip[1] { pj - 1 - tj } else { tj };
            let g = &gs[(tk * pj + tj) * pi + lo[2]..(tk * pj + tj) * pi + lo[2] + ni];
            let base = (b * classes + c) * pv + (sk * pj + sj) * pi;
            let x = &mut x[r * ni..(r + 1) * ni];
            if flip[2] {
                let src = &ys[base + pi - lo[2] - ni..base + pi - lo[2]];
                x.iter_mut().zip(src.iter().rev()).zip(g).for_each(|((x, &o), &g)| *x = (0.0f32 + o * g) / (0.0f32 + g));
            } else {
                let src = &ys[base + lo[2]..base + lo[2] + ni];
                x.iter_mut().zip(src).zip(g).for_each(|((x, &o), &g)| *x = (0.0f32 + o * g) / (0.0f32 + g));
            }
        }
    }
}

/// A group's sums: values and probabilities (one block per image slice: every class's plane,
/// then the next slice) and entropies (a plane per slice).
#[derive(Default)]
struct Sums {
    x: Vec<f32>,
    p: Vec<f32>,
    h: Vec<f32>,
}

/// Finishes a span from its members' means (module docs) into the image.
struct Finish {
    uncertainty: bool,
    with_probs: bool,
    labels: bool,
    need_output: bool,
    kind: OutputKind,
    act: Activation,
}

impl Finish {
    /// `mean`, `pbar` (per class) and `hbar`: the span's mean output, probabilities and
    /// entropies over its `len` voxels.
    #[inline(always)]
    fn span(&self, mean: &[Vec<f32>], pbar: &[Vec<f32>], hbar: &[f32], len: usize, out: &mut SpanOut<'_>) {
        let Self { uncertainty, with_probs, labels, need_output, kind, act } = *self;
        if need_output {
            out.mean.iter_mut().zip(mean).for_each(|(o, m)| o.copy_from_slice(&m[..len]));
        }
        if uncertainty {
            softmax_entropy_span(pbar, 0, out.entropy);
            out.disagreement.iter_mut().zip(out.entropy.iter()).zip(hbar).for_each(|((d, &h), &hm)| *d = (h - hm).max(0.0));
        }
        if with_probs {
            probabilities_span(mean, 0, &mut out.probs, 0, len, kind, act, None);
            argmax_span(&out.probs, 0, out.best);
        } else if labels {
            argmax_span(mean, 0, out.best);
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array4, Array5};

    use crate::window::{gather_tiles, tile_image};

    use super::{SlabImage, gather_slabs};

    /// Read from the image itself, the tiles are those of the padded copy, for every flip, with
    /// padding on either side uneven (k 5 in 8, j 4 in 7, i 3 in 6 on slabs of 8 x 7 x 6 and of
    /// one slice).
    #[test]
    fn slabs_gathered_from_the_image_equal_the_padded_copys_tiles() {
        let image = Array4::from_shape_fn((2, 5, 4, 3), |(c, k, j, i)| 1.0 + (c * 1000 + k * 100 + j * 10 + i) as f32);
        for patch in [[8, 7, 6], [1, 7, 6]] {
            let tiled = tile_image(image.view(), patch, 0.5, 1).unwrap();
            let (tiles, lo) = (&tiled.layout.tiles, tiled.layout.lo);
            for flip in (0..8).map(|m| [m & 1 != 0, m & 2 != 0, m & 4 != 0]) {
                let group = &tiles[..];
                let shape = (group.len(), 2, patch[0], patch[1], patch[2]);
                let (mut want, mut got) = (Array5::<f32>::zeros(shape), Array5::<f32>::from_elem(shape, f32::NAN));
                gather_tiles(tiled.padded.view(), patch, group.iter().map(|&t| (t, flip)), &mut want);
                gather_slabs(&SlabImage::Normalised(image.view().into()), lo, patch, group, flip, &mut got);
                assert_eq!(got, want, "patch {patch:?}, flip {flip:?}");
            }
        }
    }
}

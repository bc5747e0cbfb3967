//! nnU-Net v2's sliding window, re-implemented: its tile steps, its Gaussian importance map and
//! its mirroring test-time augmentation, with a stochastic pass loop (MC dropout) around it.
//!
//! Hand-written because no crate does this; it follows nnU-Net v2 (Apache-2.0,
//! `nnunetv2/inference/sliding_window_prediction.py` and `predict_from_raw_data.py`):
//! - the image (channels first, `[C, k, j, i]`) is padded with zeros, symmetrically, to at least
//!   the patch size (`pad_nd_image`, the lower side gets `diff / 2`);
//! - tiles start at `round(s * (size - patch) / (n - 1))`, `s = 0..n`, with
//!   `n = ceil((size - patch) / (step * patch)) + 1` per axis (`compute_steps_for_sliding_window`);
//! - each tile's output is weighted by a Gaussian (sigma = patch / 8, truncated at 4 sigma like
//!   scipy's `gaussian_filter`, scaled to 1 at the centre, zeros replaced by the smallest value) and
//!   the sum is divided by the summed weights (`compute_gaussian`). nnU-Net keeps that map in
//!   float16; here it is float32 (a difference below 1e-3 relative in the weights, which cancels
//!   where tiles agree);
//! - mirroring: the network also sees the tile flipped along every non-empty subset of the mirror
//!   axes, and its output is flipped back; nnU-Net averages those logits per tile, here each
//!   flip set is one *member* and members are averaged after the window, which is the same sum
//!   (linear) but also gives each member's probabilities for the uncertainty.
//!
//! [`nnunet_sliding_window`] is the same window in nnUNetPredictor's exact arithmetic, for models
//! exported from nnU-Net (cards with an `[nnunet]` table): per tile, the mirrored outputs are summed
//! in float32 in nnU-Net's order and divided by their count, multiplied by the Gaussian in float16
//! (`compute_gaussian(..., value_scaling_factor=10, dtype=torch.float16)`), and added into float16
//! sums of logits and weights (`predicted_logits`, `n_predictions` are `torch.half` in
//! `_internal_predict_sliding_window_return_logits`), each addition rounded to float16 as torch
//! does, then divided in float16. Folds are added and divided in float16 too
//! (`predict_logits_from_preprocessed_data`). With float32 accumulation instead, the result would
//! be closer to the exact mean but differ from nnU-Net's by up to a float16 step (|logit| x 2^-11).

use std::time::Instant;

use ndarray::{Array3, Array4, Array5, ArrayView3, ArrayView4, ArrayViewMut3, Axis, CowArray, Ix4, s};
use rayon::prelude::*;

use crate::card::{Activation, OutputKind};
use crate::model::Model;
use crate::{Error, Result};

mod nnunet;

pub use nnunet::{NnunetSumsOptions, NnunetWindow, gaussian_importance_nnunet, nnunet_sliding_window, round_f16, round_f16_in_place};

/// Tile start positions along one axis, as nnU-Net's `compute_steps_for_sliding_window`
/// (`[0]` when `size <= patch`: the image is padded to the patch first). A patch one voxel
/// long (a slice-wise model's k) visits each position once: nnU-Net's rule would visit each
/// twice at step 0.5 (its rounded starts land on every index twice), doubling the work for the
/// same average; nnU-Net's own 2D predictor runs each slice once.
pub fn tile_starts(size: usize, patch: usize, step_fraction: f64) -> Vec<usize> {
    if size <= patch || patch == 0 || step_fraction.is_nan() || step_fraction <= 0.0 {
        return vec![0];
    }
    if patch == 1 {
        return (0..size).collect();
    }
    let step = patch as f64 * step_fraction;
    let n = ((size - patch) as f64 / step).ceil() as usize + 1;
    let max_start = (size - patch) as f64;
    if n <= 1 {
        return vec![0];
    }
    let actual = max_start / (n - 1) as f64;
    // numpy's round is half-to-even.
    (0..n).map(|s| (actual * s as f64).round_ties_even() as usize).collect()
}

/// nnU-Net's Gaussian importance map for a patch `[k, j, i]`.
pub fn gaussian_importance(patch_kji: [usize; 3]) -> Array3<f32> {
    let axis = |n: usize| -> Vec<f64> {
        let sigma = n as f64 / 8.0;
        let radius = (4.0 * sigma + 0.5) as i64; // scipy: int(truncate * sd + 0.5)
        let c = (n / 2) as i64;
        (0..n as i64)
            .map(|x| {
                let d = x - c;
                if d.abs() > radius { 0.0 } else { (-0.5 * (d * d) as f64 / (sigma * sigma)).exp() }
            })
            .collect()
    };
    let (gk, gj, gi) = (axis(patch_kji[0]), axis(patch_kji[1]), axis(patch_kji[2]));
    // Row by row (the same products, `(gk gj) gi`, as element by element).
    let mut g = Vec::with_capacity(patch_kji.iter().product());
    for &a in &gk {
        for &b in &gj {
            let ab = a * b;
            g.extend(gi.iter().map(|&c| (ab * c) as f32));
        }
    }
    let mut g = Array3::from_shape_vec(patch_kji, g).expect("the patch's shape");
    let min_nonzero = g.iter().copied().filter(|&v| v > 0.0).fold(f32::INFINITY, f32::min);
    g.mapv_inplace(|v| if v == 0.0 { min_nonzero } else { v });
    g
}

/// The mirror members nnU-Net uses for `mirror_axes` (array axes 0 = k, 1 = j, 2 = i): no flip
/// first, then every non-empty subset in `itertools.combinations` order.
pub fn mirror_members(mirror_axes: &[usize]) -> Vec<[bool; 3]> {
    let mut out = vec![[false; 3]];
    let n = mirror_axes.len();
    for r in 1..=n {
        // combinations of r out of n, lexicographic like itertools.
        let mut idx: Vec<usize> = (0..r).collect();
        loop {
            let mut f = [false; 3];
            for &t in &idx {
                f[mirror_axes[t]] = true;
            }
            out.push(f);
            let mut p = r;
            while p > 0 && idx[p - 1] == p - 1 + n - r {
                p -= 1;
            }
            if p == 0 {
                break;
            }
            idx[p - 1] += 1;
            for q in p..r {
                idx[q] = idx[q - 1] + 1;
            }
        }
    }
    out
}

/// Options of the sliding window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOptions {
    /// Tile step as a fraction of the patch (nnU-Net: 0.5).
    pub step_fraction: f64,
    /// Patches per network call; a model exported with a fixed batch runs its own
    /// ([`Model::batch_for`]).
    pub batch_size: usize,
}

impl Default for WindowOptions {
    fn default() -> Self {
        Self { step_fraction: 0.5, batch_size: 1 }
    }
}

/// Time spent, for the overhead figure.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowTiming {
    /// Network calls made.
    pub network_calls: usize,
    /// Seconds inside ONNX Runtime's `Session::run` calls alone ([`Model::last_run_s`]).
    pub network_s: f64,
    /// Seconds in the whole window (tiling, weighting, network).
    pub total_s: f64,
}

/// Checked product of sizes, as an error naming `what` when it overflows or exceeds 64 GiB.
pub(crate) fn checked_floats(dims: &[usize], what: &str) -> Result<usize> {
    let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match n {
        Some(n) if n.saturating_mul(4) <= 64 << 30 => Ok(n),
        _ => Err(Error::BadInput { what: format!("the {what} ({dims:?} floats) would need more than 64 GiB; crop the CT or use a coarser target spacing") }),
    }
}

/// Where an image of `size` (k, j, i) lies on its padded grid and the tiles over that grid: the
/// grid is at least the patch, the lower side getting `diff / 2` (nnU-Net's `pad_nd_image`), and
/// the tiles' start corners are in nnU-Net's order (k, then j, then i).
pub(crate) struct Layout {
    pub(crate) lo: [usize; 3],
    pub(crate) size: [usize; 3],
    pub(crate) padded_size: [usize; 3],
    pub(crate) tiles: Vec<[usize; 3]>,
}

/// The image padded with zeros to its [`Layout`]'s grid, and the layout.
pub(crate) struct Tiled<'a> {
    /// The image itself when it needs no padding.
    pub(crate) padded: CowArray<'a, f32, Ix4>,
    pub(crate) layout: Layout,
}

/// Lays the tiles of an image of `size` (k, j, i); `buffers` is how many padded-size float
/// planes the caller will hold (checked against the memory limit).
pub(crate) fn tile_layout(size: [usize; 3], patch: [usize; 3], step_fraction: f64, buffers: usize) -> Result<Layout> {
    if !(step_fraction > 0.0 && step_fraction <= 1.0) {
        return Err(Error::BadInput { what: format!("step_fraction is {step_fraction}; it must be in (0, 1] (nnU-Net: 0.5)") });
    }
    let padded_size: [usize; 3] = std::array::from_fn(|a| size[a].max(patch[a]));
    let lo: [usize; 3] = std::array::from_fn(|a| (padded_size[a] - size[a]) / 2);
    let _ = checked_floats(&[buffers, padded_size[0], padded_size[1], padded_size[2]], "sliding-window buffers")?;
    let starts: Vec<Vec<usize>> = (0..3).map(|a| tile_starts(padded_size[a], patch[a], step_fraction)).collect();
    let mut tiles = Vec::new();
    for &k in &starts[0] {
        for &j in &starts[1] {
            for &i in &starts[2] {
                tiles.push([k, j, i]);
            }
        }
    }
    Ok(Layout { lo, size, padded_size, tiles })
}

/// Pads `image` (`[C, k, j, i]`) and lays the tiles ([`tile_layout`]).
pub(crate) fn tile_image<'a>(image: ArrayView4<'a, f32>, patch: [usize; 3], step_fraction: f64, buffers: usize) -> Result<Tiled<'a>> {
    let channels = image.shape()[0];
    let layout = tile_layout([image.shape()[1], image.shape()[2], image.shape()[3]], patch, step_fraction, buffers)?;
    let Layout { lo, size, padded_size, .. } = layout;
    let padded = if padded_size == size {
        CowArray::from(image)
    } else {
        let mut padded = Array4::<f32>::zeros((channels, padded_size[0], padded_size[1], padded_size[2]));
        padded.slice_mut(s![.., lo[0]..lo[0] + size[0], lo[1]..lo[1] + size[1], lo[2]..lo[2] + size[2]]).assign(&image);
        CowArray::from(padded)
    };
    Ok(Tiled { padded, layout })
}

/// `v` (`[C, k, j, i]`) flipped along the spatial axes where `flip` is true.
pub(crate) fn flipped<'a>(mut v: ArrayView4<'a, f32>, flip: [bool; 3]) -> ArrayView4<'a, f32> {
    for (a, &f) in flip.iter().enumerate() {
        if f {
            v.invert_axis(Axis(a + 1));
        }
    }
    v
}

/// A tile to run: its start corner and the axes it is flipped along.
pub(crate) type Job = ([usize; 3], [bool; 3]);

/// Copies the tiles `jobs` (corner, flip) of `padded`, each of size `patch` and flipped, into
/// the batch `x` (`[N, C, k, j, i]`), in order.
pub(crate) fn gather_tiles(padded: ArrayView4<'_, f32>, patch: [usize; 3], jobs: impl Iterator<Item = Job>, x: &mut Array5<f32>) {
    for (b, (t, flip)) in jobs.enumerate() {
        let src = padded.slice(s![.., t[0]..t[0] + patch[0], t[1]..t[1] + patch[1], t[2]..t[2] + patch[2]]);
        x.index_axis_mut(Axis(0), b).assign(&flipped(src, flip));
    }
}

/// Runs fold `fold` on the tiles `jobs` (corner, flip) of `padded` in one batch; the outputs
/// `[N, classes, k, j, i]` are still flipped.
fn run_tiles(model: &mut Model, fold: usize, padded: ArrayView4<'_, f32>, jobs: &[Job], patch: [usize; 3], timing: &mut WindowTiming) -> Result<Array5<f32>> {
    let mut x = Array5::<f32>::zeros((jobs.len(), padded.shape()[0], patch[0], patch[1], patch[2]));
    gather_tiles(padded, patch, jobs.iter().copied(), &mut x);
    let y = model.run_fold(fold, x.view())?;
    timing.network_s += model.last_run_s();
    timing.network_calls += 1;
    Ok(y)
}

/// Most finished batches that wait for [`pipelined`]'s consumer.
const PIPELINE_DEPTH: usize = 4;

/// Most bytes of finished outputs that wait for [`pipelined`]'s consumer (beyond one batch).
const PIPELINE_BYTES: usize = 64 << 20;

/// What [`pipelined`] runs: the tiles `jobs` of `padded`, `batch` per network call.
#[derive(Clone, Copy)]
struct Work<'a> {
    padded: ArrayView4<'a, f32>,
    jobs: &'a [Job],
    batch: usize,
    patch: [usize; 3],
}

/// Runs the batches of `jobs` through fold `fold` on this thread while `consume` takes each
/// batch's outputs, in order, on a second one: the next network call overlaps the accumulation
/// of the last. The network stays on the caller's thread, which keeps ONNX Runtime's per-thread
/// scratch buffers warm from call to call (with a network thread spawned per member, its calls
/// inside `segment` took 121-123 ms where the same tiles took 115-116 ms in a plain loop; with
/// it here, 116-118 ms in half the runs, 120-122 in the others). Up to [`PIPELINE_DEPTH`]
/// finished batches wait (fewer when a batch's output is large: their outputs together stay
/// within [`PIPELINE_BYTES`], at least one), so that a
/// consumer thread the scheduler leaves waiting on a loaded machine does not stall ONNX Runtime;
/// it catches up when it runs. The order of the batches, and so every sum, is that of a
/// sequential loop.
fn pipelined<F>(model: &mut Model, fold: usize, work: Work<'_>, timing: &mut WindowTiming, consume: F) -> Result<()>
where
    F: FnMut(&Array5<f32>, &[Job]) -> Result<()> + Send,
{
    let Work { padded, jobs, batch, patch } = work;
    let out_bytes = 4 * batch * patch.iter().product::<usize>() * model.card().output.classes.len();
    let depth = (PIPELINE_BYTES / out_bytes.max(1)).clamp(1, PIPELINE_DEPTH);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Array5<f32>>(depth);
        // The network runs on this thread, the accumulation on a second one: ONNX Runtime's
        // kernels keep their per-thread scratch buffers (MLAS's thread-local packing buffers),
        // which a thread spawned per call would have to allocate and fault in again.
        let consumer = scope.spawn(move || {
            let mut consume = consume;
            for chunk in jobs.chunks(batch) {
                let Ok(y) = rx.recv() else { return Ok(()) };
                consume(&y, chunk)?;
            }
            Ok(())
        });
        let mut result = Ok(());
        for chunk in jobs.chunks(batch) {
            match run_tiles(model, fold, padded, chunk, patch, timing) {
                Ok(y) => {
                    if tx.send(y).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(tx);
        let consumed = consumer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        result.and(consumed)
    })
}

/// One member's sliding-window output over `image` (`[C, k, j, i]`, already normalised and at
/// the model's spacing): `[classes, k, j, i]`, Gaussian-weighted mean of the tiles, with the
/// tiles flipped along the axes where `flip` is true (and flipped back).
pub fn sliding_window(model: &mut Model, image: ArrayView4<'_, f32>, flip: [bool; 3], options: &WindowOptions, timing: &mut WindowTiming) -> Result<Array4<f32>> {
    sliding_window_fold(model, 0, image, flip, options, timing)
}

/// [`sliding_window`] with fold `fold` of an ensemble model.
pub fn sliding_window_fold(model: &mut Model, fold: usize, image: ArrayView4<'_, f32>, flip: [bool; 3], options: &WindowOptions, timing: &mut WindowTiming) -> Result<Array4<f32>> {
    let start = Instant::now();
    let patch = model.card().patch_size_kji();
    let classes = model.card().output.classes.len();
    let Tiled { padded, layout: Layout { lo, size, padded_size, tiles } } = tile_image(image, patch, options.step_fraction, image.shape()[0].max(classes) + 1)?;
    let gauss = gaussian_importance(patch);
    let batch = model.batch_for(options.batch_size);
    // One plane of Gaussian-weighted sums per class (flat, `[classes, k, j, i]`), added up in
    // parallel over the classes; every voxel's arithmetic is the same as one plane at a time.
    let np: usize = padded_size.iter().product();
    let mut acc = vec![0f32; classes * np];
    let mut weight = Array3::<f32>::zeros(padded_size);
    let jobs: Vec<Job> = tiles.iter().map(|&t| (t, flip)).collect();
    let tile = |t: &[usize; 3]| s![t[0]..t[0] + patch[0], t[1]..t[1] + patch[1], t[2]..t[2] + patch[2]];
    pipelined(model, fold, Work { padded: padded.view(), jobs: &jobs, batch, patch }, timing, |y, chunk| {
        for (b, (t, _)) in chunk.iter().enumerate() {
            let out = flipped(y.index_axis(Axis(0), b), flip);
            acc.par_chunks_mut(np.max(1)).enumerate().for_each(|(c, plane)| {
                let mut plane = ArrayViewMut3::from_shape(padded_size, plane).expect("a class plane of the padded image");
                ndarray::Zip::from(plane.slice_mut(tile(t))).and(out.index_axis(Axis(0), c)).and(&gauss).for_each(|d, &o, &g| *d += o * g);
            });
            let mut w = weight.slice_mut(tile(t));
            w += &gauss;
        }
        Ok(())
    })?;
    // The weighted mean, cropped to the image, in one pass per class plane.
    let crop = s![lo[0]..lo[0] + size[0], lo[1]..lo[1] + size[1], lo[2]..lo[2] + size[2]];
    let nv: usize = size.iter().product();
    let mut out = vec![0f32; classes * nv];
    let w = weight.slice(crop);
    out.par_chunks_mut(nv.max(1)).zip(acc.par_chunks(np.max(1))).for_each(|(o, a)| {
        let mut o = ArrayViewMut3::from_shape(size, o).expect("a class plane of the image");
        let a = ArrayView3::from_shape(padded_size, a).expect("a class plane of the padded image");
        ndarray::Zip::from(&mut o).and(a.slice(crop)).and(&w).for_each(|o, &a, &w| *o = a / w);
    });
    let out = Array4::from_shape_vec((classes, size[0], size[1], size[2]), out).expect("the image's shape");
    timing.total_s += start.elapsed().as_secs_f64();
    Ok(out)
}

/// [`one_tile_fold`]'s member output (empty unless asked), probabilities, entropy, and for
/// softmax outputs each voxel's most probable channel (the first on ties; the label map's
/// argmax, taken in the same pass).
pub(crate) type OneTile = (Array4<f32>, Array4<f32>, Array3<f32>, Option<Array3<u16>>);

/// What [`one_tile_fold`] returns besides the probabilities.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OneTileOutputs {
    /// The member's output (else an empty array).
    pub output: bool,
    /// The member's entropy (else zeros).
    pub entropy: bool,
    /// The member's probabilities (else an empty array and, for softmax logits, the argmax of
    /// the logits: the labels without the softmax).
    pub probabilities: bool,
}

/// One member's window when the image fits one tile (every axis at most the patch), taken
/// straight from ONNX Runtime's output buffer in one parallel pass: the member's output (the
/// Gaussian-weighted mean of [`sliding_window_fold`], computed the same way: `(0 + o g) / (0 + g)`),
/// its probabilities and, `with_entropy`, its entropy (zeros otherwise), the values of
/// [`sliding_window_fold`] followed by [`crate::voxel::probabilities_and_entropy`] bit for bit,
/// without the padded sums, their division and the output's copy. `None` when the image needs
/// more than one tile.
pub(crate) fn one_tile_fold(model: &mut Model, fold: usize, image: ArrayView4<'_, f32>, options: &WindowOptions, timing: &mut WindowTiming, wanted: OneTileOutputs) -> Result<Option<OneTile>> {
    let OneTileOutputs { output: with_output, entropy: with_entropy, probabilities: with_probs } = wanted;
    let start = Instant::now();
    let patch = model.card().patch_size_kji();
    let (classes, kind, act) = (model.card().output.classes.len(), model.card().output.kind, model.card().output.activation);
    let channels = image.shape()[0];
    let size = [image.shape()[1], image.shape()[2], image.shape()[3]];
    if (0..3).any(|a| size[a] > patch[a]) {
        return Ok(None);
    }
    if !(options.step_fraction > 0.0 && options.step_fraction <= 1.0) {
        return Err(Error::BadInput { what: format!("step_fraction is {}; it must be in (0, 1] (nnU-Net: 0.5)", options.step_fraction) });
    }
    let _ = checked_floats(&[channels + 2 * classes + 1, patch[0], patch[1], patch[2]], "sliding-window buffers")?;
    // The tile: the image padded with zeros to the patch (lower side `diff / 2`); the image
    // itself when it is the patch and contiguous.
    let lo: [usize; 3] = std::array::from_fn(|a| (patch[a] - size[a]) / 2);
    let owned;
    let x = if size == patch && image.is_standard_layout() {
        image.insert_axis(Axis(0))
    } else {
        let mut padded = Array4::<f32>::zeros((channels, patch[0], patch[1], patch[2]));
        padded.slice_mut(s![.., lo[0]..lo[0] + size[0], lo[1]..lo[1] + size[1], lo[2]..lo[2] + size[2]]).assign(&image);
        owned = padded.insert_axis(Axis(0));
        owned.view()
    };
    let gauss = gaussian_importance(patch);
    let gs = gauss.as_slice().expect("standard layout");
    let [pk, pj, pi] = patch;
    let [nk, nj, ni] = size;
    let (nv, pv, row) = (nk * nj * ni, pk * pj * pi, nj * ni);
    let mut out = if with_output { vec![0f32; classes * nv] } else { Vec::new() };
    let softmax = (kind, act) == (OutputKind::Logits, Activation::Softmax) && classes <= usize::from(u16::MAX);
    let with_probs = with_probs || !softmax;
    let mut p = if with_probs { vec![0f32; classes * nv] } else { Vec::new() };
    let mut h = vec![0f32; nv];
    let mut best = vec![0u16; if softmax { nv } else { 0 }];
    model.run_fold_with(fold, x, |y| {
        let y = y.as_standard_layout();
        let ys = y.as_slice().expect("standard layout");
        // One k slice of the image per task: every class plane's piece of it.
        let mut outs = crate::voxel::plane_chunks_of(&mut out, classes, row).into_iter();
        let mut ps = crate::voxel::plane_chunks_of(&mut p, classes, row).into_iter();
        let slices: Vec<_> = (0..nk).map(|_| (outs.next().unwrap_or_default(), ps.next().unwrap_or_default())).collect();
        let mut bests: Vec<&mut [u16]> = best.chunks_mut(row.max(1)).collect();
        bests.resize_with(nk, Default::default);
        h.par_chunks_mut(row.max(1)).zip(slices).zip(bests).enumerate().for_each(|(k, ((hk, (mut ok, mut pk_)), bk))| {
            let tk = lo[0] + k;
            // One row of the image at a time: every class's piece of it, then its probabilities.
            let mut xr = vec![vec![0f32; ni]; classes];
            // Without the probability map: one row's probabilities, for the entropy.
            let mut pr = if with_probs || !with_entropy { Vec::new() } else { vec![vec![0f32; ni]; classes] };
            for j in 0..nj {
                let src = (tk * pj + lo[1] + j) * pi + lo[2];
                let g = &gs[src..src + ni];
                for (c, xc) in xr.iter_mut().enumerate() {
                    let yc = &ys[c * pv + src..c * pv + src + ni];
                    // The window's sums start at 0: acc = 0 + o g, weight = 0 + g.
                    for ((x, &o), &g) in xc.iter_mut().zip(yc).zip(g) {
                        *x = (0.0f32 + o * g) / (0.0f32 + g);
                    }
                }
                for (plane, xc) in ok.iter_mut().zip(&xr) {
                    plane[j * ni..(j + 1) * ni].copy_from_slice(xc);
                }
                let hr = if with_entropy { Some(&mut hk[j * ni..(j + 1) * ni]) } else { None };
                if with_probs {
                    crate::voxel::probabilities_span(&xr, 0, &mut pk_, j * ni, ni, kind, act, hr);
                    if softmax {
                        crate::voxel::argmax_span(&pk_, j * ni, &mut bk[j * ni..(j + 1) * ni]);
                    }
                } else {
                    // Softmax logits, labels only: the argmax of the logits is the softmax's.
                    if hr.is_some() {
                        crate::voxel::probabilities_span(&xr, 0, &mut pr, 0, ni, kind, act, hr);
                    }
                    crate::voxel::argmax_span(&xr, 0, &mut bk[j * ni..(j + 1) * ni]);
                }
            }
        });
    })?;
    timing.network_s += model.last_run_s();
    timing.network_calls += 1;
    let shape = (classes, nk, nj, ni);
    let out = if with_output { Array4::from_shape_vec(shape, out).expect("the image's shape") } else { Array4::zeros((0, 0, 0, 0)) };
    let p = if with_probs { Array4::from_shape_vec(shape, p).expect("the image's shape") } else { Array4::zeros((0, 0, 0, 0)) };
    let h = Array3::from_shape_vec((nk, nj, ni), h).expect("the image's shape");
    let best = if softmax { Some(Array3::from_shape_vec((nk, nj, ni), best).expect("the image's shape")) } else { None };
    timing.total_s += start.elapsed().as_secs_f64();
    Ok(Some((out, p, h, best)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_match_nnunet() {
        // Values from nnU-Net's compute_steps_for_sliding_window (tests/nnunet_window.py):
        // 45 voxels, patch 32: n = ceil(13 / 16) + 1 = 2, starts 0 and 13.
        assert_eq!(tile_starts(45, 32, 0.5), vec![0, 13]);
        assert_eq!(tile_starts(37, 32, 0.5), vec![0, 5]);
        // 100 voxels, patch 32: n = ceil(68 / 16) + 1 = 6, step 68 / 5 = 13.6.
        assert_eq!(tile_starts(100, 32, 0.5), vec![0, 14, 27, 41, 54, 68]);
        assert_eq!(tile_starts(32, 32, 0.5), vec![0]);
        assert_eq!(tile_starts(20, 32, 0.5), vec![0]);
        assert_eq!(tile_starts(4, 1, 0.5), vec![0, 1, 2, 3], "a one-voxel patch visits each position once");
    }

    #[test]
    fn gaussian_is_one_at_the_centre_and_follows_sigma() {
        let g = gaussian_importance([32, 20, 9]);
        assert_eq!(g[[16, 10, 4]], 1.0);
        // exp(-0.5 (d / sigma)^2) per axis, sigma = patch / 8 (nnU-Net's map: 0.13533528 here).
        let want = (-0.5f64 * (8.0f64 / 4.0).powi(2)).exp() as f32;
        assert!((g[[24, 10, 4]] - want).abs() < 1e-7 && (g[[8, 10, 4]] - want).abs() < 1e-7);
        assert!(g.iter().all(|&v| v > 0.0));
    }

    #[test]
    fn nnunet_gaussian_is_float16_scaled_to_ten() {
        let g = gaussian_importance_nnunet([24, 32, 28]);
        assert_eq!(g[[12, 16, 14]], 10.0);
        // One step of sigma along k (sigma = 3): 10 exp(-1/2) = 6.0653, as float16 6.0664.
        assert_eq!(g[[15, 16, 14]], half::f16::from_f64(10.0 * (-0.5f64).exp()).to_f32());
        assert!(g.iter().all(|&v| v > 0.0 && round_f16(v) == v));
    }

    #[test]
    fn round_f16_equals_half_for_every_float32() {
        // Every 97th bit pattern, plus the edges of the fast path and their neighbours.
        let edges = [0x3880_0000u32, 0x477F_E000, 0x477F_F000, 0x7F80_0000, 0x3F80_1000, 0x3F80_3000];
        let near = edges.iter().flat_map(|&e| (0..64u32).flat_map(move |d| [e.wrapping_sub(d), e + d, (e + d) | 0x8000_0000]));
        for b in (0..=u32::MAX).step_by(97).chain(near) {
            let x = f32::from_bits(b);
            let (ours, theirs) = (round_f16(x), half::f16::from_f32(x).to_f32());
            assert!(ours.to_bits() == theirs.to_bits() || (ours.is_nan() && theirs.is_nan()), "{x:e} ({b:#x}): {ours:e} vs {theirs:e}");
        }
    }

    #[test]
    fn round_f16_in_place_equals_round_f16() {
        // Pieces all in float16's normal range, and pieces with a subnormal, a zero, an overflow
        // or a NaN among them.
        let mut x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.731 - 300.0) * 1.000_37f32.powi(i)).collect();
        x[70] = 1e-6;
        x[200] = 0.0;
        x[333] = 7e4;
        x[600] = f32::NAN;
        x[900] = -6.1e-5;
        let want: Vec<f32> = x.iter().map(|&v| round_f16(v)).collect();
        round_f16_in_place(&mut x);
        for (i, (a, b)) in x.iter().zip(&want).enumerate() {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{i}: {a:e} vs {b:e}");
        }
    }

    #[test]
    fn mirror_members_follow_itertools_order() {
        let m = mirror_members(&[0, 1, 2]);
        assert_eq!(m.len(), 8);
        assert_eq!(m[0], [false; 3]);
        assert_eq!(m[1], [true, false, false]);
        assert_eq!(m[4], [true, true, false]);
        assert_eq!(m[7], [true, true, true]);
        assert_eq!(mirror_members(&[]), vec![[false; 3]]);
    }
}

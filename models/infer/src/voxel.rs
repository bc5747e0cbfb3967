//! Per-voxel kernels shared by the sliding window and the segmentation: one voxel's class
//! probabilities from the network's outputs and their entropy, and whole-volume versions that
//! run in parallel (rayon) over chunks of voxels.
//!
//! The arithmetic of a voxel is fixed (the softmax's sum is sequential over the classes from
//! 0.0, the entropy summed in f64 in class order), so a result never depends on how the voxels
//! were chunked or on the number of threads.

use ndarray::{Array3, Array4, ArrayView4};
use rayon::prelude::*;

use crate::card::{Activation, OutputKind};

/// Voxels per parallel chunk.
const CHUNK: usize = 8192;

/// One voxel's probabilities `p` from its outputs `x` (one value per class, in the card's kind).
#[inline]
pub(crate) fn probabilities(x: &[f32], kind: OutputKind, act: Activation, p: &mut [f32]) {
    match (kind, act) {
        (OutputKind::Logits, Activation::Softmax) => {
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut s = 0.0f32;
            for (q, &v) in p.iter_mut().zip(x) {
                *q = (v - m).exp();
                s += *q;
            }
            for q in p.iter_mut() {
                *q /= s;
            }
        }
        (OutputKind::Logits, Activation::Sigmoid) => {
            for (q, &v) in p.iter_mut().zip(x) {
                *q = 1.0 / (1.0 + (-v).exp());
            }
        }
        (OutputKind::Probabilities, _) => p.copy_from_slice(x),
    }
}

/// Predictive entropy (nats) of one voxel's probabilities: `-sum p ln p` (softmax), the mean
/// binary entropy over the channels (sigmoid).
#[inline]
pub(crate) fn entropy(p: &[f32], act: Activation) -> f32 {
    let h = |q: f32| {
        if q > 0.0 { -(q as f64) * (q as f64).ln() } else { 0.0 }
    };
    match act {
        Activation::Softmax => p.iter().map(|&q| h(q)).sum::<f64>() as f32,
        Activation::Sigmoid => (p.iter().map(|&q| h(q) + h(1.0 - q)).sum::<f64>() / p.len() as f64) as f32,
    }
}

/// One voxel's probabilities `p` from its outputs `x` (as [`probabilities`], the same values) and
/// their predictive entropy, nats.
///
/// For softmax logits the entropy takes one logarithm instead of one per class: with
/// `e_c = exp(x_c - max)` (the softmax's own float32 exponentials) and `S = sum e_c`,
/// `H = -sum p_c ln p_c = ln S - sum e_c (x_c - max) / S`, in float64. This equals [`entropy`]
/// of the float32 probabilities up to their rounding (a few 1e-8 nats), is exactly 0 for a
/// one-hot voxel and never below 0. Other outputs: [`probabilities`], then [`entropy`].
#[inline]
pub(crate) fn probabilities_with_entropy(x: &[f32], kind: OutputKind, act: Activation, p: &mut [f32]) -> f32 {
    if (kind, act) != (OutputKind::Logits, Activation::Softmax) {
        probabilities(x, kind, act, p);
        return entropy(p, act);
    }
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0f32;
    let (mut s64, mut dot) = (0.0f64, 0.0f64);
    for (q, &v) in p.iter_mut().zip(x) {
        let d = v - m;
        *q = d.exp();
        s += *q;
        s64 += *q as f64;
        dot += *q as f64 * d as f64;
    }
    for q in p.iter_mut() {
        *q /= s;
    }
    (s64.ln() - dot / s64).max(0.0) as f32
}

/// `data` (`classes` planes of `n` voxels) cut into chunks of [`CHUNK`] voxels: per chunk, the
/// piece of every plane.
fn plane_chunks(data: &mut [f32], classes: usize) -> Vec<Vec<&mut [f32]>> {
    plane_chunks_of(data, classes, CHUNK)
}

/// `data` (`classes` planes of `n` voxels) cut into chunks of `chunk` voxels: per chunk, the
/// piece of every plane.
pub(crate) fn plane_chunks_of(data: &mut [f32], classes: usize, chunk: usize) -> Vec<Vec<&mut [f32]>> {
    let n = data.len() / classes.max(1);
    if n == 0 || chunk == 0 {
        return Vec::new();
    }
    let mut planes: Vec<std::slice::ChunksMut<'_, f32>> = data.chunks_mut(n).map(|plane| plane.chunks_mut(chunk)).collect();
    (0..n.div_ceil(chunk)).map(|_| planes.iter_mut().filter_map(Iterator::next).collect()).collect()
}

/// Every voxel's probabilities (`[C, k, j, i]`) and, `with_entropy`, entropy (`[k, j, i]`;
/// zeros otherwise) from outputs `x` (`[C, k, j, i]` in the card's kind), in parallel.
pub(crate) fn probabilities_and_entropy(x: ArrayView4<'_, f32>, kind: OutputKind, act: Activation, with_entropy: bool) -> (Array4<f32>, Array3<f32>) {
    let shape = x.raw_dim();
    let (c, nk, nj, ni) = x.dim();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let n = nk * nj * ni;
    let mut p = vec![0f32; c * n];
    let mut h = vec![0f32; n];
    h.par_chunks_mut(CHUNK).zip(plane_chunks(&mut p, c)).enumerate().for_each(|(chunk, (hc, mut pc))| {
        let base = chunk * CHUNK;
        let (mut xv, mut pv) = (vec![0f32; c], vec![0f32; c]);
        for (v, hv) in hc.iter_mut().enumerate() {
            for (ch, xc) in xv.iter_mut().enumerate() {
                *xc = xs[ch * n + base + v];
            }
            if with_entropy {
                *hv = probabilities_with_entropy(&xv, kind, act, &mut pv);
            } else {
                probabilities(&xv, kind, act, &mut pv);
            }
            for (plane, &q) in pc.iter_mut().zip(&pv) {
                plane[v] = q;
            }
        }
    });
    let p = Array4::from_shape_vec(shape, p).expect("shape of the outputs");
    let h = Array3::from_shape_vec((nk, nj, ni), h).expect("shape of the outputs");
    (p, h)
}

/// Every voxel's entropy (`[k, j, i]`) from probabilities `p` (`[C, k, j, i]`), in parallel.
pub(crate) fn entropy_map(p: ArrayView4<'_, f32>, act: Activation) -> Array3<f32> {
    let (c, nk, nj, ni) = p.dim();
    let p = p.as_standard_layout();
    let ps = p.as_slice().expect("standard layout");
    let n = nk * nj * ni;
    let mut h = vec![0f32; n];
    h.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, hc)| {
        let base = chunk * CHUNK;
        let mut pv = vec![0f32; c];
        for (v, hv) in hc.iter_mut().enumerate() {
            for (ch, q) in pv.iter_mut().enumerate() {
                *q = ps[ch * n + base + v];
            }
            *hv = entropy(&pv, act);
        }
    });
    Array3::from_shape_vec((nk, nj, ni), h).expect("shape of the probabilities")
}

/// Every voxel's label from probabilities `p` (`[C, k, j, i]`), in parallel: the id of the
/// most probable channel (the first on ties); for sigmoid outputs 0 where that is below 0.5.
pub(crate) fn label_map(p: ArrayView4<'_, f32>, ids: &[u16], act: Activation) -> Array3<u16> {
    let (c, nk, nj, ni) = p.dim();
    let p = p.as_standard_layout();
    let ps = p.as_slice().expect("standard layout");
    let n = nk * nj * ni;
    let mut labels = vec![0u16; n];
    labels.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, lc)| {
        let base = chunk * CHUNK;
        for (v, l) in lc.iter_mut().enumerate() {
            let mut best = 0usize;
            let mut best_p = f32::NEG_INFINITY;
            for ch in 0..c {
                let q = ps[ch * n + base + v];
                if q > best_p {
                    best_p = q;
                    best = ch;
                }
            }
            *l = match act {
                Activation::Softmax => ids[best],
                Activation::Sigmoid if best_p >= 0.5 => ids[best],
                Activation::Sigmoid => 0,
            };
        }
    });
    Array3::from_shape_vec((nk, nj, ni), labels).expect("shape of the probabilities")
}

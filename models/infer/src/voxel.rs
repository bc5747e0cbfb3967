//! Per-voxel kernels shared by the sliding window and the segmentation: the class
//! probabilities from the network's outputs, their entropy and the label map, and whole-volume
//! versions that run in parallel (rayon) over chunks of voxels.
//!
//! Softmax outputs (every model coxa ships, and nnU-Net's) go through block kernels: the classes
//! are planes, so a block of [`BLOCK`] voxels is taken class plane by class plane (every plane's
//! piece of the block stays in L1) and each inner loop runs over contiguous voxels with the same
//! operations, which LLVM turns into SIMD code (SSE2 on the x86-64 baseline, 4 lanes; AVX2, 8
//! lanes, inside [`with_widest_vectors`] where the CPU has it, with the same bits). The
//! exponential and logarithm there are [`exp_f32`] and [`ln_f32`], polynomials on the float's
//! exponent bits (Cephes' `expf` and `logf`), within 1 ulp of libm's `expf` and `logf` where the
//! softmax and the entropy call them, where libm's scalar calls cannot be vectorised;
//! probabilities move by at most 2.4e-7 against libm's (28 cases of `dump_maps`), labels not at
//! all. Sigmoid and probability outputs keep the per-voxel path with libm.
//!
//! The arithmetic of a voxel is fixed (the softmax's sum is sequential over the classes from
//! 0.0, the entropy summed in class order), so a result never depends on how the voxels were
//! chunked or on the number of threads.

use ndarray::{Array3, Array4, ArrayView4};
use rayon::prelude::*;

use crate::card::{Activation, OutputKind};

/// Runs `f` compiled for AVX2 (8 float32 lanes) where the CPU has it, else as built (SSE2 on
/// the x86-64 baseline, 4 lanes). The same IEEE operations in wider vectors (no fused multiply-add:
/// Rust never contracts `a * b + c`), so the results are the same bits either way. `f` (a
/// closure, called once, so inlined) and what it calls must be `#[inline(always)]` to be compiled
/// into the AVX2 copy; a function it calls that is not inlined runs as built.
#[inline(always)]
pub(crate) fn with_widest_vectors<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has AVX2, checked just above (`avx2`'s only requirement).
        #[expect(unsafe_code, reason = "calling a #[target_feature] function after checking the CPU's features (std::arch's runtime dispatch)")]
        return unsafe { avx2(f) };
    }
    f()
}

/// Voxels per parallel chunk.
const CHUNK: usize = 8192;

/// Voxels per block of the vectorised kernels (10 classes of input and output: 20 kB, in L1).
pub(crate) const BLOCK: usize = 256;

/// `e^x` in float32 for the softmax (`x <= 0` there), vectorisable: Cephes' `expf`
/// (`x = n ln 2 + r`, `|r| <= ln 2 / 2`, `e^r` by a degree-7 polynomial, `2^n` added to the exponent bits).
/// Within 1 ulp of libm's `expf` on every float32 of `[-87.3, 0]` (6e-8 absolute; checked once
/// over all of them, the unit test checks 2 ulp on a sample up to 88); 0 below -87.3 (libm gives
/// subnormals there, below 1.2e-38), `x` clamped to 88 above (about 1.65e38; the softmax never
/// asks), NaN for NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LO: f32 = -87.33654; // ln of the smallest normal float32
    const HI: f32 = 88.0;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer in the mantissa
    let small = x < LO;
    let x = if x > HI { HI } else { x };
    let x = if small { 0.0 } else { x };
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let shift = (t.to_bits().wrapping_sub(MAGIC.to_bits()) as i32) << 23;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut y = 1.987_569_1e-4f32;
    y = y * r + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 0.5;
    let y = y * r * r + r + 1.0;
    let e = f32::from_bits((y.to_bits() as i32).wrapping_add(shift) as u32);
    let e = if t.is_nan() { t } else { e };
    if small { 0.0 } else { e }
}

/// `ln x` in float32 for positive normal `x` (probabilities, softmax sums), vectorisable:
/// Cephes' `logf` (`x = m 2^e`, `sqrt(1/2) <= m < sqrt 2`, `ln m` by a polynomial in
/// `m - 1`). Within 1 ulp of libm's `logf` on every positive normal float32 up to 10 (checked
/// once; the unit test checks 2 ulp on a sample of all of them); exactly 0 at 1.
/// Subnormals and 0 give finite garbage (about -87 to -104 for subnormals, -88 for 0) and
/// callers weight them by `x` itself (`x ln x`), so it vanishes; infinities and NaN are not
/// handled.
#[inline(always)]
pub(crate) fn ln_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xFF) as i32 - 126;
    let mut m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F00_0000); // in [0.5, 1)
    let low = m < std::f32::consts::FRAC_1_SQRT_2;
    e = if low { e - 1 } else { e };
    m = if low { m + m - 1.0 } else { m - 1.0 };
    let e = e as f32;
    let z = m * m;
    let mut y = 7.037_683_6e-2f32;
    y = y * m - 1.151_461e-1;
    y = y * m + 1.167_699_9e-1;
    y = y * m - 1.242_014_1e-1;
    y = y * m + 1.424_932_3e-1;
    y = y * m - 1.666_805_8e-1;
    y = y * m + 2.000_071_5e-1;
    y = y * m - 2.499_999_4e-1;
    y = y * m + 3.333_333e-1;
    let y = y * m * z + e * -2.121_944_4e-4 - 0.5 * z;
    m + y + e * 0.693_359_4
}

/// The softmax of one block of `n <= BLOCK` voxels: class `c`'s logits are `x[c][x_at..x_at + n]`,
/// its probabilities go to `p[c][p_at..p_at + n]`, and `h`, when given (`n` long), receives each
/// voxel's entropy, nats: `ln S - sum e_c (x_c - max) / S` with `e_c = exp(x_c - max)` and
/// `S = sum e_c`, one logarithm a voxel; both terms are non-negative, so float32 keeps it within
/// a few 1e-7 relative; 0 where every other class is below the float range, never below 0.
/// Per voxel: the maximum, then `e_c` and the sums in class order from 0, then `e_c / S`; the
/// same values as [`probabilities_with_entropy`].
#[inline(always)]
pub(crate) fn softmax_block<X: AsRef<[f32]>, P: AsMut<[f32]>>(x: &[X], x_at: usize, p: &mut [P], p_at: usize, n: usize, h: Option<&mut [f32]>) {
    let n = n.min(BLOCK);
    let mut m = [f32::NEG_INFINITY; BLOCK];
    let (mut s, mut dot) = ([0f32; BLOCK], [0f32; BLOCK]);
    let (m, s, dot) = (&mut m[..n], &mut s[..n], &mut dot[..n]);
    for xc in x {
        let xc = &xc.as_ref()[x_at..x_at + n];
        for (m, &v) in m.iter_mut().zip(xc) {
            *m = m.max(v);
        }
    }
    for (xc, pc) in x.iter().zip(p.iter_mut()) {
        let (xc, pc) = (&xc.as_ref()[x_at..x_at + n], &mut pc.as_mut()[p_at..p_at + n]);
        for v in 0..n {
            let d = xc[v] - m[v];
            let e = exp_f32(d);
            pc[v] = e;
            s[v] += e;
            dot[v] += e * d;
        }
    }
    for pc in p.iter_mut() {
        let pc = &mut pc.as_mut()[p_at..p_at + n];
        for v in 0..n {
            pc[v] /= s[v];
        }
    }
    if let Some(h) = h {
        let h = &mut h[..n];
        for v in 0..n {
            h[v] = softmax_entropy(s[v], dot[v]);
        }
    }
}

/// The entropy of a softmax from its sums (see [`softmax_block`]), never below 0.
#[inline(always)]
fn softmax_entropy(s: f32, dot: f32) -> f32 {
    let e = ln_f32(s) - dot / s;
    if e > 0.0 { e } else { 0.0 }
}

/// One span of `len` voxels' probabilities (any length; [`softmax_block`] for softmax logits,
/// voxel by voxel otherwise): class `c`'s outputs are `x[c][x_at..x_at + len]`, its
/// probabilities go to `p[c][p_at..p_at + len]`, the entropies (when `h` is given) to `h`.
#[expect(clippy::too_many_arguments, reason = "two sets of planes with their offsets, the span, the output's kind and the entropy")]
#[inline(always)]
pub(crate) fn probabilities_span<X: AsRef<[f32]>, P: AsMut<[f32]>>(x: &[X], x_at: usize, p: &mut [P], p_at: usize, len: usize, kind: OutputKind, act: Activation, mut h: Option<&mut [f32]>) {
    if (kind, act) == (OutputKind::Logits, Activation::Softmax) {
        for b in (0..len).step_by(BLOCK) {
            let n = BLOCK.min(len - b);
            softmax_block(x, x_at + b, p, p_at + b, n, h.as_deref_mut().map(|h| &mut h[b..b + n]));
        }
        return;
    }
    let c = x.len();
    let (mut xv, mut pv) = (vec![0f32; c], vec![0f32; c]);
    for v in 0..len {
        for (xc, plane) in xv.iter_mut().zip(x) {
            *xc = plane.as_ref()[x_at + v];
        }
        match h.as_deref_mut() {
            Some(h) => h[v] = probabilities_with_entropy(&xv, kind, act, &mut pv),
            None => probabilities(&xv, kind, act, &mut pv),
        }
        for (plane, &q) in p.iter_mut().zip(&pv) {
            plane.as_mut()[p_at + v] = q;
        }
    }
}

/// [`softmax_entropy_block`] over a span of any length: the entropies of the voxels whose class
/// `c`'s probabilities are `p[c][p_at..p_at + h.len()]`, into `h`.
#[inline(always)]
pub(crate) fn softmax_entropy_span<P: AsRef<[f32]>>(p: &[P], p_at: usize, h: &mut [f32]) {
    for (b, hb) in h.chunks_mut(BLOCK).enumerate() {
        softmax_entropy_block(p, p_at + b * BLOCK, hb);
    }
}

/// The entropy `-sum p_c ln p_c`, nats, of one block of voxels' softmax probabilities (class
/// `c`'s are `p[c][at..at + h.len()]`, `h.len() <= BLOCK`), vectorised, summed in class order in
/// float32.
#[inline(always)]
fn softmax_entropy_block<P: AsRef<[f32]>>(p: &[P], at: usize, h: &mut [f32]) {
    let n = h.len().min(BLOCK);
    let h = &mut h[..n];
    h.fill(0.0);
    for pc in p {
        let pc = &pc.as_ref()[at..at + n];
        for v in 0..n {
            let q = pc[v];
            let t = q * ln_f32(q);
            h[v] -= if q > 0.0 { t } else { 0.0 };
        }
    }
    for v in h.iter_mut() {
        *v = if *v > 0.0 { *v } else { 0.0 };
    }
}

/// One voxel's probabilities `p` from its outputs `x` (one value per class, in the card's kind).
#[inline]
pub(crate) fn probabilities(x: &[f32], kind: OutputKind, act: Activation, p: &mut [f32]) {
    match (kind, act) {
        (OutputKind::Logits, Activation::Softmax) => {
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut s = 0.0f32;
            for (q, &v) in p.iter_mut().zip(x) {
                *q = exp_f32(v - m);
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
/// their predictive entropy, nats; for softmax logits the values of [`softmax_block`] (one
/// logarithm a voxel), otherwise [`probabilities`], then [`entropy`].
#[inline]
pub(crate) fn probabilities_with_entropy(x: &[f32], kind: OutputKind, act: Activation, p: &mut [f32]) -> f32 {
    if (kind, act) != (OutputKind::Logits, Activation::Softmax) {
        probabilities(x, kind, act, p);
        return entropy(p, act);
    }
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut s, mut dot) = (0.0f32, 0.0f32);
    for (q, &v) in p.iter_mut().zip(x) {
        let d = v - m;
        *q = exp_f32(d);
        s += *q;
        dot += *q * d;
    }
    for q in p.iter_mut() {
        *q /= s;
    }
    softmax_entropy(s, dot)
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
/// zeros otherwise) from outputs `x` (`[C, k, j, i]` in the card's kind), in parallel; softmax
/// logits by [`softmax_block`], the rest voxel by voxel.
pub(crate) fn probabilities_and_entropy(x: ArrayView4<'_, f32>, kind: OutputKind, act: Activation, with_entropy: bool) -> (Array4<f32>, Array3<f32>) {
    let shape = x.raw_dim();
    let (c, nk, nj, ni) = x.dim();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let n = nk * nj * ni;
    let mut p = vec![0f32; c * n];
    let mut h = vec![0f32; n];
    let softmax = (kind, act) == (OutputKind::Logits, Activation::Softmax);
    h.par_chunks_mut(CHUNK).zip(plane_chunks(&mut p, c)).enumerate().for_each(|(chunk, (hc, mut pc))| {
        let base = chunk * CHUNK;
        if softmax {
            let planes: Vec<&[f32]> = xs.chunks(n.max(1)).collect();
            with_widest_vectors(|| {
                for (b, hb) in hc.chunks_mut(BLOCK).enumerate() {
                    let (lo, len) = (base + b * BLOCK, hb.len());
                    softmax_block(&planes, lo, &mut pc, b * BLOCK, len, if with_entropy { Some(hb) } else { None });
                }
            });
            return;
        }
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

/// Every voxel's entropy (`[k, j, i]`) from probabilities `p` (`[C, k, j, i]`), in parallel
/// (softmax: [`softmax_entropy_block`]).
pub(crate) fn entropy_map(p: ArrayView4<'_, f32>, act: Activation) -> Array3<f32> {
    let (c, nk, nj, ni) = p.dim();
    let p = p.as_standard_layout();
    let ps = p.as_slice().expect("standard layout");
    let n = nk * nj * ni;
    let mut h = vec![0f32; n];
    h.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, hc)| {
        let base = chunk * CHUNK;
        if act == Activation::Softmax {
            with_widest_vectors(|| {
                for (b, hb) in hc.chunks_mut(BLOCK).enumerate() {
                    let (lo, len) = (base + b * BLOCK, hb.len());
                    let pb: Vec<&[f32]> = (0..c).map(|ch| &ps[ch * n + lo..ch * n + lo + len]).collect();
                    softmax_entropy_block(&pb, 0, hb);
                }
            });
            return;
        }
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

/// The most probable channel (the first on ties) of `len` voxels whose class `c`'s
/// probabilities are `p[c][p_at..p_at + len]`, into `best`, in blocks (vectorised): the argmax
/// of [`label_map`].
#[inline(always)]
pub(crate) fn argmax_span<P: AsRef<[f32]>>(p: &[P], p_at: usize, best: &mut [u16]) {
    let len = best.len();
    let (mut best_p, mut bi) = ([0f32; BLOCK], [0u32; BLOCK]);
    for b in (0..len).step_by(BLOCK) {
        let n = BLOCK.min(len - b);
        argmax_block(p, p_at + b, &mut best_p[..n], &mut bi[..n]);
        for (o, &i) in best[b..b + n].iter_mut().zip(&bi[..n]) {
            *o = i as u16;
        }
    }
}

/// The argmax of one block of voxels: per voxel, the largest of `p[c][at..at + n]` over the
/// classes into `best_p` and its class (the first on ties) into `best` (both `n <= BLOCK` long).
#[inline(always)]
fn argmax_block<P: AsRef<[f32]>>(p: &[P], at: usize, best_p: &mut [f32], best: &mut [u32]) {
    best_p.fill(f32::NEG_INFINITY);
    best.fill(0);
    let n = best.len();
    for (ch, pc) in p.iter().enumerate() {
        argmax_step(best_p, best, &pc.as_ref()[at..at + n], ch as u32);
    }
}

/// One class's step of the running argmax: `if q > best_p { best_p = q; best = ch }`,
/// branch-free so that it vectorises.
#[inline(always)]
fn argmax_step(best_p: &mut [f32], best: &mut [u32], pc: &[f32], ch: u32) {
    for ((bp, bi), &q) in best_p.iter_mut().zip(best.iter_mut()).zip(pc) {
        let gt = (q > *bp) as u32;
        *bi = (*bi & gt.wrapping_sub(1)) | (ch & gt.wrapping_neg());
        *bp = bp.max(q);
    }
}

/// Every voxel's label from probabilities `p` (`[C, k, j, i]`), in parallel: the id of the
/// most probable channel (the first on ties); for sigmoid outputs 0 where that is below 0.5.
/// Taken class plane by class plane over blocks of voxels (vectorised).
pub(crate) fn label_map(p: ArrayView4<'_, f32>, ids: &[u16], act: Activation) -> Array3<u16> {
    let (c, nk, nj, ni) = p.dim();
    let p = p.as_standard_layout();
    let ps = p.as_slice().expect("standard layout");
    let n = nk * nj * ni;
    let mut labels = vec![0u16; n];
    let planes: Vec<&[f32]> = ps.chunks(n.max(1)).take(c).collect();
    labels.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, lc)| {
        let base = chunk * CHUNK;
        let (mut best_p, mut best) = ([0f32; BLOCK], [0u32; BLOCK]);
        for (b, lb) in lc.chunks_mut(BLOCK).enumerate() {
            let len = lb.len();
            argmax_block(&planes, base + b * BLOCK, &mut best_p[..len], &mut best[..len]);
            for ((l, &bi), &bp) in lb.iter_mut().zip(&best[..len]).zip(&best_p[..len]) {
                *l = match act {
                    Activation::Softmax => ids[bi as usize],
                    Activation::Sigmoid if bp >= 0.5 => ids[bi as usize],
                    Activation::Sigmoid => 0,
                };
            }
        }
    });
    Array3::from_shape_vec((nk, nj, ni), labels).expect("shape of the probabilities")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite float32 of one sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        // Every 31st float32 in [-87.3, 0] and in (0, 88], where the softmax calls it.
        let mut worst = 0;
        for b in (0u32..=0xFF80_0000).step_by(31) {
            let x = f32::from_bits(b);
            if !(-87.3..=88.0).contains(&x) {
                continue;
            }
            let u = ulps(exp_f32(x), x.exp());
            assert!(u <= 2, "exp({x:e}): {:e} against libm's {:e}", exp_f32(x), x.exp());
            worst = worst.max(u);
        }
        assert!(worst >= 1, "the polynomial is not libm");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-88.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-87.33).is_normal());
    }

    #[test]
    fn ln_is_within_two_ulp_of_libm() {
        // Every 31st positive normal float32.
        for b in (0x0080_0000u32..0x7F80_0000).step_by(31) {
            let x = f32::from_bits(b);
            let (ours, libm) = (ln_f32(x), x.ln());
            assert!(ulps(ours, libm) <= 2 || (ours - libm).abs() <= 1e-7, "ln({x:e}): {ours:e} against libm's {libm:e}");
        }
        assert_eq!(ln_f32(1.0), 0.0);
        assert!((0.0 * ln_f32(0.0)).abs() == 0.0 && ln_f32(1e-40).is_finite());
    }

    /// The softmax and its entropy in float64 with libm, for comparison.
    fn reference(x: &[f32]) -> (Vec<f64>, f64) {
        let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
        let s: f64 = e.iter().sum();
        let p: Vec<f64> = e.iter().map(|v| v / s).collect();
        let h = -p.iter().map(|&q| if q > 0.0 { q * q.ln() } else { 0.0 }).sum::<f64>();
        (p, h)
    }

    #[test]
    fn blocks_equal_the_voxel_kernel_and_float64() {
        // 10 classes over 600 voxels (two full blocks and a part): certain, split and spread voxels.
        let (c, n) = (10, 600);
        let x: Vec<Vec<f32>> =
            (0..c).map(|ch| (0..n).map(|v| ((ch * 37 + v * 11) % 23) as f32 * 0.37 * (v % 7) as f32 - 3.0 + if ch == v % c && v % 5 == 0 { 200.0 } else { 0.0 }).collect()).collect();
        let mut p = vec![vec![0f32; n]; c];
        let mut h = vec![0f32; n];
        probabilities_span(&x, 0, &mut p, 0, n, OutputKind::Logits, Activation::Softmax, Some(&mut h));
        let mut hb = vec![0f32; n];
        for b in (0..n).step_by(BLOCK) {
            let len = BLOCK.min(n - b);
            softmax_entropy_block(&p.iter().map(|pc| &pc[b..b + len]).collect::<Vec<_>>(), 0, &mut hb[b..b + len]);
        }
        let mut labels_p = Vec::new();
        for v in 0..n {
            let xv: Vec<f32> = x.iter().map(|xc| xc[v]).collect();
            let mut pv = vec![0f32; c];
            let hv = probabilities_with_entropy(&xv, OutputKind::Logits, Activation::Softmax, &mut pv);
            assert_eq!(hv.to_bits(), h[v].to_bits(), "voxel {v}");
            let (pr, hr) = reference(&xv);
            for ch in 0..c {
                assert_eq!(pv[ch].to_bits(), p[ch][v].to_bits(), "voxel {v} class {ch}");
                assert!((p[ch][v] as f64 - pr[ch]).abs() < 2e-7, "voxel {v} class {ch}: {} against {}", p[ch][v], pr[ch]);
            }
            assert!((h[v] as f64 - hr).abs() < 1e-6 && (hb[v] as f64 - hr).abs() < 1e-6, "voxel {v}: {} and {} against {hr}", h[v], hb[v]);
            if v % 5 == 0 {
                assert_eq!(h[v], 0.0, "a one-hot voxel");
            }
            labels_p.push(pv);
        }
        // The label map takes the first most probable class.
        let flat: Vec<f32> = p.iter().flatten().copied().collect();
        let pa = Array4::from_shape_vec((c, 1, 1, n), flat).expect("shape");
        let ids: Vec<u16> = (0..c as u16).map(|l| l * 2).collect();
        let labels = label_map(pa.view(), &ids, Activation::Softmax);
        for (v, pv) in labels_p.iter().enumerate() {
            let best = (0..c).fold(0, |b, ch| if pv[ch] > pv[b] { ch } else { b });
            assert_eq!(labels[[0, 0, v]], ids[best]);
        }
    }

    /// The kernels compiled for AVX2 (where this CPU has it: every machine coxa's CI runs on)
    /// give the same bits as the baseline build: 3 and 10 classes over 1,000 voxels, logits from
    /// -90 to 90 (some below the exponential's range, some one-hot).
    #[test]
    fn widest_vectors_give_the_same_bits() {
        let n = 1000;
        for c in [3, 10] {
            let x: Vec<Vec<f32>> = (0..c).map(|ch| (0..n).map(|v| (((ch * 7919 + v * 104_729) % 18_001) as f32 / 100.0 - 90.0) * if v % 3 == 0 { 1.0 } else { 0.05 }).collect()).collect();
            // One inlined copy of the kernels in each build (a closure called from both would be
            // compiled once, for the baseline).
            #[inline(always)]
            fn kernels(x: &[Vec<f32>], n: usize) -> (Vec<Vec<f32>>, Vec<f32>, Vec<f32>, Vec<u16>) {
                let (mut p, mut h, mut hp, mut best) = (vec![vec![0f32; n]; x.len()], vec![0f32; n], vec![0f32; n], vec![0u16; n]);
                probabilities_span(x, 0, &mut p, 0, n, OutputKind::Logits, Activation::Softmax, Some(&mut h));
                softmax_entropy_span(&p, 0, &mut hp);
                argmax_span(&p, 0, &mut best);
                (p, h, hp, best)
            }
            let run = |wide: bool| if wide { with_widest_vectors(|| kernels(&x, n)) } else { kernels(&x, n) };
            let (wide, base) = (run(true), run(false));
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            for ch in 0..c {
                assert_eq!(bits(&wide.0[ch]), bits(&base.0[ch]), "{c} classes: probabilities of class {ch}");
            }
            assert_eq!(bits(&wide.1), bits(&base.1), "{c} classes: entropy from the logits");
            assert_eq!(bits(&wide.2), bits(&base.2), "{c} classes: entropy from the probabilities");
            assert_eq!(wide.3, base.3, "{c} classes: labels");
        }
    }
}

//! Laplacian of Gaussian as pyradiomics computes it: SimpleITK's
//! `LaplacianRecursiveGaussianImageFilter` with `NormalizeAcrossScale` on.
//!
//! ITK approximates the Gaussian and its second derivative by Deriche's fourth-order recursive
//! (IIR) filters, run causally and anti-causally along each line with the border value taken as
//! extending to infinity. For each axis `d` it filters with the second derivative along `d`,
//! then smooths along the two other axes in increasing order; the three results, each divided
//! by the spacing of `d` squared, are summed. Every intermediate image is 32-bit float (ITK's
//! `InternalRealType`), each line is filtered in double; the output is float. This module
//! reproduces those steps and roundings, so its values equal SimpleITK's to float precision.
//!
//! # Why hand-written
//! No Rust crate implements ITK's recursive Gaussian (its coefficients, normalisation and border
//! rule); a different Gaussian (FFT or sampled kernel) would differ from pyradiomics by far more
//! than 1e-4. The filter is written here from ITK's documented algorithm (Deriche 1993; ITK's
//! `RecursiveGaussianImageFilter`), and only the voxels the ROI's box needs are filtered after
//! the first pass of each axis.

use rayon::prelude::*;

use super::lines;
use crate::roi::Source;

/// The coefficients of one recursive filter (ITK's `N`, `D`, `M`, `BN`, `BM`).
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    n: [f64; 4],
    d: [f64; 4],
    m: [f64; 4],
    bn: [f64; 4],
    bm: [f64; 4],
}

/// The terms of an exponential series (Deriche's `a`, `b` for one order).
struct Terms {
    a1: f64,
    b1: f64,
    a2: f64,
    b2: f64,
}

const W1: f64 = 0.6681;
const L1: f64 = -1.3932;
const W2: f64 = 2.0787;
const L2: f64 = -1.3732;
const ORDER0: Terms = Terms { a1: 1.3530, b1: 1.8151, a2: -0.3531, b2: 0.0902 };
const ORDER2: Terms = Terms { a1: -1.3563, b1: 5.2318, a2: 0.3446, b2: -2.2355 };

/// `N0..N3` and their sums `SN`, `DN`, `EN` for one order.
fn n_coefficients(sigmad: f64, t: &Terms) -> ([f64; 4], f64, f64, f64) {
    let (sin1, sin2) = ((W1 / sigmad).sin(), (W2 / sigmad).sin());
    let (cos1, cos2) = ((W1 / sigmad).cos(), (W2 / sigmad).cos());
    let (exp1, exp2) = ((L1 / sigmad).exp(), (L2 / sigmad).exp());
    let n0 = t.a1 + t.a2;
    let mut n1 = exp2 * (t.b2 * sin2 - (t.a2 + 2.0 * t.a1) * cos2);
    n1 += exp1 * (t.b1 * sin1 - (t.a1 + 2.0 * t.a2) * cos1);
    let mut n2 = (t.a1 + t.a2) * cos2 * cos1;
    n2 -= t.b1 * cos2 * sin1 + t.b2 * cos1 * sin2;
    n2 *= 2.0 * exp1 * exp2;
    n2 += t.a2 * exp1 * exp1 + t.a1 * exp2 * exp2;
    let mut n3 = exp2 * exp1 * exp1 * (t.b2 * sin2 - t.a2 * cos2);
    n3 += exp1 * exp2 * exp2 * (t.b1 * sin1 - t.a1 * cos1);
    let sn = n0 + n1 + n2 + n3;
    let dn = n1 + 2.0 * n2 + 3.0 * n3;
    let en = n1 + 4.0 * n2 + 9.0 * n3;
    ([n0, n1, n2, n3], sn, dn, en)
}

/// The coefficients of the Gaussian (`second_order` false) or its second derivative, normalised
/// across scale, for `sigma_mm` on a line of `spacing_mm`.
fn coefficients(sigma_mm: f64, spacing_mm: f64, second_order: bool) -> Coefficients {
    let sigmad = sigma_mm / spacing_mm;
    let (cos1, cos2) = ((W1 / sigmad).cos(), (W2 / sigmad).cos());
    let (exp1, exp2) = ((L1 / sigmad).exp(), (L2 / sigmad).exp());
    let d4 = exp1 * exp1 * exp2 * exp2;
    let d3 = -2.0 * cos1 * exp1 * exp2 * exp2 + -2.0 * cos2 * exp2 * exp1 * exp1;
    let d2 = 4.0 * cos2 * cos1 * exp1 * exp2 + (exp1 * exp1 + exp2 * exp2);
    let d1 = -2.0 * (exp2 * cos2 + exp1 * cos1);
    let d = [d1, d2, d3, d4];
    let sd = 1.0 + d1 + d2 + d3 + d4;
    let dd = d1 + 2.0 * d2 + 3.0 * d3 + 4.0 * d4;
    let ed = d1 + 4.0 * d2 + 9.0 * d3 + 16.0 * d4;
    let n = if second_order {
        let (n_0, sn0, dn0, en0) = n_coefficients(sigmad, &ORDER0);
        let (n_2, sn2, dn2, en2) = n_coefficients(sigmad, &ORDER2);
        let beta = -(2.0 * sn2 - sd * n_2[0]) / (2.0 * sn0 - sd * n_0[0]);
        let n: [f64; 4] = std::array::from_fn(|i| n_2[i] + beta * n_0[i]);
        let (sn, dn, en) = (sn2 + beta * sn0, dn2 + beta * dn0, en2 + beta * en0);
        let alpha2 = (en * sd * sd - ed * sn * sd - 2.0 * dn * dd * sd + 2.0 * dd * dd * sn) / (sd * sd * sd);
        let scale = sigma_mm * sigma_mm;
        n.map(|v| v * (scale / alpha2))
    } else {
        let (n, sn, _, _) = n_coefficients(sigmad, &ORDER0);
        let alpha0 = 2.0 * sn / sd - n[0];
        n.map(|v| v * (1.0 / alpha0))
    };
    // Both orders are symmetric filters.
    let m = [n[1] - d1 * n[0], n[2] - d2 * n[0], n[3] - d3 * n[0], -d4 * n[0]];
    let sn: f64 = n.iter().sum();
    let sm: f64 = m.iter().sum();
    let bn = d.map(|v| v * sn / sd);
    let bm = d.map(|v| v * sm / sd);
    Coefficients { n, d, m, bn, bm }
}

#[inline]
fn dot4(a: [f64; 4], b: [f64; 4]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
}

/// Lines filtered together by [`filter_lines`]: the recursions of one line are a chain of
/// dependent multiply-adds, so interleaving independent lines keeps the processor's pipelines
/// (and vector lanes) busy.
const LANES: usize = 8;

/// [`LANES`] lines through the causal and anti-causal recursions (ITK's `FilterDataArray`),
/// interleaved: value `k` of lane `l` at `k * LANES + l`; each line has at least 4 values. Each
/// lane's arithmetic is ITK's, operation by operation, so every line gives the bits one line
/// alone would.
fn filter_lines(c: &Coefficients, data: &[f64], out: &mut [f64], s: &mut [f64]) {
    const L: usize = LANES;
    let ln = data.len() / L;
    let at = |k: usize, l: usize| data[k * L + l];
    for l in 0..L {
        let v1 = at(0, l);
        let (d1, d2, d3) = (at(1, l), at(2, l), at(3, l));
        let o0 = dot4([v1; 4], c.n) - dot4([v1; 4], c.bn);
        let o1 = dot4([d1, v1, v1, v1], c.n) - dot4([o0, v1, v1, v1], [c.d[0], c.bn[1], c.bn[2], c.bn[3]]);
        let o2 = dot4([d2, d1, v1, v1], c.n) - dot4([o1, o0, v1, v1], [c.d[0], c.d[1], c.bn[2], c.bn[3]]);
        let o3 = dot4([d3, d2, d1, v1], c.n) - dot4([o2, o1, o0, v1], [c.d[0], c.d[1], c.d[2], c.bn[3]]);
        (out[l], out[L + l], out[2 * L + l], out[3 * L + l]) = (o0, o1, o2, o3);
    }
    for i in 4..ln {
        let (o, rest) = out[(i - 4) * L..(i + 1) * L].split_at_mut(4 * L);
        let x = &data[(i - 3) * L..(i + 1) * L];
        for l in 0..L {
            let v = dot4([x[3 * L + l], x[2 * L + l], x[L + l], x[l]], c.n);
            rest[l] = v - dot4([o[3 * L + l], o[2 * L + l], o[L + l], o[l]], c.d);
        }
    }
    for l in 0..L {
        let v2 = at(ln - 1, l);
        let (e1, e2, e3) = (at(ln - 1, l), at(ln - 2, l), at(ln - 3, l));
        let s1 = dot4([v2; 4], c.m) - dot4([v2; 4], c.bm);
        let s2 = dot4([e1, v2, v2, v2], c.m) - dot4([s1, v2, v2, v2], [c.d[0], c.bm[1], c.bm[2], c.bm[3]]);
        let s3 = dot4([e2, e1, v2, v2], c.m) - dot4([s2, s1, v2, v2], [c.d[0], c.d[1], c.bm[2], c.bm[3]]);
        let s4 = dot4([e3, e2, e1, v2], c.m) - dot4([s3, s2, s1, v2], [c.d[0], c.d[1], c.d[2], c.bm[3]]);
        (s[(ln - 1) * L + l], s[(ln - 2) * L + l], s[(ln - 3) * L + l], s[(ln - 4) * L + l]) = (s1, s2, s3, s4);
    }
    for i in (1..=ln - 4).rev() {
        let (head, tail) = s[(i - 1) * L..(i + 4) * L].split_at_mut(L);
        let x = &data[i * L..(i + 4) * L];
        for l in 0..L {
            let v = dot4([x[l], x[L + l], x[2 * L + l], x[3 * L + l]], c.m);
            head[l] = v - dot4([tail[l], tail[L + l], tail[2 * L + l], tail[3 * L + l]], c.d);
        }
    }
    for (o, v) in out.iter_mut().zip(s.iter()) {
        *o += v;
    }
}

/// A block of a volume: values `v` (`x` fastest) of size `n` starting at voxel `lo`.
struct Block<V> {
    lo: [usize; 3],
    n: [usize; 3],
    v: V,
}

impl Block<Vec<f32>> {
    fn view(&self) -> Block<&[f32]> {
        Block { lo: self.lo, n: self.n, v: &self.v }
    }
}

/// Filters `src` (whole along `axis`) along `axis`, keeping `keep` (`[first, count]`, voxels)
/// of that axis; the result is rounded to float as ITK's internal images. Lines go through
/// [`filter_lines`] [`LANES`] at a time, neighbours along the block's fastest other axis (the
/// last group padded with its last line).
fn pass<T: Copy + Into<f64> + Sync>(src: Block<&[T]>, axis: usize, keep: [usize; 2], c: &Coefficients) -> Block<Vec<f32>> {
    let (starts, stride) = lines(src.n, axis);
    let ln = src.n[axis];
    let kept: Vec<Vec<f32>> = starts
        .par_chunks(LANES)
        .map_init(
            || (vec![0.0; ln * LANES], vec![0.0; ln * LANES], vec![0.0; ln * LANES]),
            |(data, out, scratch), group| {
                for l in 0..LANES {
                    let s0 = group[l.min(group.len() - 1)];
                    for k in 0..ln {
                        data[k * LANES + l] = src.v[s0 + k * stride].into();
                    }
                }
                filter_lines(c, data, out, scratch);
                (0..group.len()).map(|l| (keep[0]..keep[0] + keep[1]).map(|k| out[k * LANES + l] as f32).collect::<Vec<f32>>()).collect::<Vec<_>>()
            },
        )
        .flatten()
        .collect();
    let mut n = src.n;
    n[axis] = keep[1];
    let mut lo = src.lo;
    lo[axis] = keep[0];
    let mut v = vec![0f32; n.iter().product()];
    let (out_starts, out_stride) = lines(n, axis);
    for (line, o0) in kept.iter().zip(out_starts) {
        for (k, x) in line.iter().enumerate() {
            v[o0 + k * out_stride] = *x;
        }
    }
    Block { lo, n, v }
}

/// Whether pyradiomics applies the LoG of `sigma_mm` to an image of `size` and `spacing_mm`
/// (`getLoGImage`: every side at least 4 voxels and at least `ceil(sigma / spacing) + 1`;
/// otherwise it logs a warning and computes nothing for that sigma).
pub(crate) fn applies(size: [usize; 3], spacing_mm: [f64; 3], sigma_mm: f64) -> bool {
    sigma_mm > 0.0 && (0..3).all(|a| size[a] >= 4 && size[a] as f64 >= (sigma_mm / spacing_mm[a]).ceil() + 1.0)
}

/// The LoG image of `src` in its ROI box (`[z, y, x]` order, `x` fastest), as float values.
pub(crate) fn log_box(src: &Source, sigma_mm: f64) -> Vec<f64> {
    let whole = Block { lo: [0; 3], n: src.size, v: src.values.as_slice() };
    let keep = |a: usize| [src.box_lo[a], src.box_size[a]];
    let mut cumulative = vec![0f32; src.box_size.iter().product()];
    for dim in 0..3 {
        let others: Vec<usize> = (0..3).filter(|a| *a != dim).collect();
        let d = pass(Block { ..whole }, dim, keep(dim), &coefficients(sigma_mm, src.spacing_mm[dim], true));
        let s0 = pass(d.view(), others[0], keep(others[0]), &coefficients(sigma_mm, src.spacing_mm[others[0]], false));
        let s1 = pass(s0.view(), others[1], keep(others[1]), &coefficients(sigma_mm, src.spacing_mm[others[1]], false));
        debug_assert_eq!(s1.lo, src.box_lo);
        let scale = 1.0 / (src.spacing_mm[dim] * src.spacing_mm[dim]);
        for (c, v) in cumulative.iter_mut().zip(&s1.v) {
            *c = (f64::from(*c) + f64::from(*v) * scale) as f32;
        }
    }
    cumulative.into_iter().map(f64::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// One line through the causal and anti-causal recursions (ITK's `FilterDataArray`), line
    /// by line: the reference the interleaved lines must equal.
    fn filter_line(c: &Coefficients, data: &[f64], out: &mut [f64], scratch: &mut [f64]) {
        let ln = data.len();
        let v1 = data[0];
        out[0] = dot4([v1; 4], c.n);
        out[1] = dot4([data[1], v1, v1, v1], c.n);
        out[2] = dot4([data[2], data[1], v1, v1], c.n);
        out[3] = dot4([data[3], data[2], data[1], v1], c.n);
        out[0] -= dot4([v1; 4], c.bn);
        out[1] -= dot4([out[0], v1, v1, v1], [c.d[0], c.bn[1], c.bn[2], c.bn[3]]);
        out[2] -= dot4([out[1], out[0], v1, v1], [c.d[0], c.d[1], c.bn[2], c.bn[3]]);
        out[3] -= dot4([out[2], out[1], out[0], v1], [c.d[0], c.d[1], c.d[2], c.bn[3]]);
        for i in 4..ln {
            out[i] = dot4([data[i], data[i - 1], data[i - 2], data[i - 3]], c.n);
            out[i] -= dot4([out[i - 1], out[i - 2], out[i - 3], out[i - 4]], c.d);
        }
        let v2 = data[ln - 1];
        let s = scratch;
        s[ln - 1] = dot4([v2; 4], c.m);
        s[ln - 2] = dot4([data[ln - 1], v2, v2, v2], c.m);
        s[ln - 3] = dot4([data[ln - 2], data[ln - 1], v2, v2], c.m);
        s[ln - 4] = dot4([data[ln - 3], data[ln - 2], data[ln - 1], v2], c.m);
        s[ln - 1] -= dot4([v2; 4], c.bm);
        s[ln - 2] -= dot4([s[ln - 1], v2, v2, v2], [c.d[0], c.bm[1], c.bm[2], c.bm[3]]);
        s[ln - 3] -= dot4([s[ln - 2], s[ln - 1], v2, v2], [c.d[0], c.d[1], c.bm[2], c.bm[3]]);
        s[ln - 4] -= dot4([s[ln - 3], s[ln - 2], s[ln - 1], v2], [c.d[0], c.d[1], c.d[2], c.bm[3]]);
        for i in (1..=ln - 4).rev() {
            s[i - 1] = dot4([data[i], data[i + 1], data[i + 2], data[i + 3]], c.m);
            s[i - 1] -= dot4([s[i], s[i + 1], s[i + 2], s[i + 3]], c.d);
        }
        for (o, v) in out.iter_mut().zip(s.iter()) {
            *o += v;
        }
    }

    /// The interleaved recursions give every line the bits the line-by-line filter gives it
    /// (both orders, several lengths, random data), so the LoG images are unchanged.
    #[test]
    fn interleaved_lines_equal_one_line_at_a_time() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for (sigma, spacing) in [(1.0, 3.0), (3.0, 0.8), (5.0, 1.3)] {
            for second in [false, true] {
                let c = coefficients(sigma, spacing, second);
                for ln in [4usize, 5, 17, 112] {
                    let lines: Vec<Vec<f64>> = (0..LANES).map(|_| (0..ln).map(|_| rng.random_range(-1000.0..2000.0)).collect()).collect();
                    let mut data = vec![0.0; ln * LANES];
                    for (l, line) in lines.iter().enumerate() {
                        for (k, v) in line.iter().enumerate() {
                            data[k * LANES + l] = *v;
                        }
                    }
                    let (mut out, mut scratch) = (vec![0.0; ln * LANES], vec![0.0; ln * LANES]);
                    filter_lines(&c, &data, &mut out, &mut scratch);
                    for (l, line) in lines.iter().enumerate() {
                        let (mut one, mut s1) = (vec![0.0; ln], vec![0.0; ln]);
                        filter_line(&c, line, &mut one, &mut s1);
                        assert!((0..ln).all(|k| out[k * LANES + l].to_bits() == one[k].to_bits()), "sigma {sigma}, spacing {spacing}, second {second}, length {ln}, lane {l}");
                    }
                }
            }
        }
    }
}

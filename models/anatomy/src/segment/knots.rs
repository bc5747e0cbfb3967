//! Interpolated CTs (issue 42): a CT resampled by linear interpolation from a coarser series is
//! found out, and the series' own voxels are recovered to segment on.
//!
//! A CT is often handed on resampled: made isotropic, or onto a finer grid for another tool.
//! Linear (trilinear) interpolation makes every line of voxels along an axis piecewise linear
//! between the source's voxel centres (the *knots*): between two knots the second difference
//! `v[n-1] - 2 v[n] + v[n+1]` is zero, up to the rounding of the stored HU (at most 2 HU for
//! integers), and only the one or two voxels beside each knot carry the kink. So the fine voxels
//! hold nothing that the knots do not: the finest grid worth working on is the knots', and their
//! values can be had back exactly. A CT reconstructed by the scanner at its own slice spacing
//! has noise of some HU in every second difference, and no such lattice is found.
//!
//! # Finding the knots, per axis
//! 1. The mean absolute second difference at every position along the axis, over lines of
//!    voxels (every 4th or 8th line across the other two axes) where the body is (one of the
//!    three voxels above -900 HU).
//! 2. Its peaks above the baseline (the 20th percentile) by more than ten times the spread about
//!    it (the 20th percentile of the distances to it; and 0.5 HU): each with its larger
//!    neighbour, one knot between them.
//! 3. Each knot placed between its two voxels `n`, `n + 1`: per line, the kink of slope `a` at
//!    `t` gives second differences `a (n + 1 - t)` at `n` and `a (t - n)` at `n + 1`; summed
//!    over the lines whose kink is well above rounding (`|D[n] + D[n+1]| > 8` HU), signed by
//!    the kink's sign, `t = n + B / (A + B)`.
//! 4. The knots fitted as a lattice `t = first + m step` (least squares, weighted by the kinks'
//!    strength): at least 6 knots, a step of at least 2.9 voxels, no knot more than 0.1 voxel
//!    off.
//! 5. The check that the lattice explains the data: every position not beside a knot (at least
//!    a quarter of them) has a mean second difference of at most 1 HU (rounding alone).
//!
//! # Recovering the knots' values
//! Along a knot axis each knot's value is the straight line through the voxels of the cell on
//! either side (least squares over the cell's voxels, which damps the HU's rounding), evaluated
//! at the knot; the two sides' values averaged, weighted by their voxels. A lattice whose knots
//! all lie on voxels (within 0.01 voxel: a whole multiple of the series' resolution over the
//! same centres) takes those voxels as they are. This is a fixed linear map per axis, applied axis by axis: exact for a
//! trilinear interpolation, which is linear along each axis separately.

use coxa_core::HuValue;
use rayon::prelude::*;

/// Lines sampled across the other two axes: every 4th along `i` (contiguous), every 8th along
/// `j` and `k`.
const LINE_STRIDE: [usize; 3] = [4, 8, 8];
/// The baseline of the second differences and their spread about it are this quantile: a
/// lattice of step 4 on half voxels puts half the positions beside a knot, so the median would
/// be a kink's.
const BASE_QUANTILE: f64 = 0.2;
/// Voxels above this are body (HU).
const BODY_HU: f32 = -900.0;
/// A line's kink counts in a knot's placement above this (HU): the rounding of integer HU moves
/// `D[n] + D[n+1]` by at most 2.
const KINK_HU: f32 = 8.0;
/// Positions away from the knots have a mean absolute second difference at most this (HU).
const FLAT_HU: f64 = 1.0;
/// Fewest knots found for a lattice.
const MIN_KNOTS: usize = 6;
/// Smallest lattice step, voxels: below about 3 most voxels lie beside a knot and step 5 can't
/// tell (a CT interpolated to 3 times its series' resolution has steps of 3 within rounding).
const MIN_STEP: f64 = 2.9;
/// Largest distance of a found knot from the fitted lattice, voxels.
const MAX_OFF: f64 = 0.1;
/// A lattice whose knots all lie this close to voxels (voxels) takes those voxels as they are:
/// at the steepest bone edge (some 300 HU a voxel) that is a 3 HU error at most.
const ON_VOXEL: f64 = 0.01;
/// Shortest axis looked at, voxels.
const MIN_LEN: usize = 16;

/// The knots along one axis, in CT voxel indices: `first + m step` for `m` in `0..count`, all
/// within `[0, n - 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Knots {
    /// The first knot's index (fractional).
    pub first: f64,
    /// Voxels from knot to knot.
    pub step: f64,
    /// Knots within the axis.
    pub count: usize,
}

impl Knots {
    /// The index of knot `m`.
    #[inline]
    pub fn at(&self, m: usize) -> f64 {
        self.first + m as f64 * self.step
    }

    /// The nearest knot to CT voxel `n`.
    #[inline]
    pub fn nearest(&self, n: usize) -> usize {
        (((n as f64 - self.first) / self.step).round().max(0.0) as usize).min(self.count - 1)
    }

    /// Whether every knot lies on a voxel (within [`ON_VOXEL`]): a CT interpolated to a whole
    /// multiple of its series' resolution over the same voxel centres, whose voxels there are
    /// the series' own.
    pub fn on_voxels(&self) -> bool {
        (0..self.count).all(|m| (self.at(m) - self.at(m).round()).abs() < ON_VOXEL)
    }

    /// Each knot's value as weights on the axis's `n` voxels (see the module docs).
    pub fn taps(&self, n: usize) -> Vec<Vec<(usize, f32)>> {
        let on_voxels = self.on_voxels();
        (0..self.count)
            .map(|m| {
                let t = self.at(m);
                let r = t.round();
                if on_voxels && r >= 0.0 && (r as usize) < n {
                    return vec![(r as usize, 1.0)];
                }
                let mut taps: Vec<(usize, f64)> = Vec::new();
                let mut sides = 0usize;
                for (lo, hi) in [(t - self.step, t), (t, t + self.step)] {
                    let from = (lo.floor().max(0.0) as usize).min(n - 1);
                    let to = (hi.ceil().max(0.0) as usize).min(n - 1);
                    let cell: Vec<usize> = (from..=to).filter(|&i| (i as f64) > lo && (i as f64) < hi).collect();
                    if cell.len() < 2 {
                        continue;
                    }
                    // Least-squares line through (x = i - t, v_i), evaluated at x = 0: weights
                    // (Sxx - x_i Sx) / (k Sxx - Sx^2), times k (this side's voxels) for the mean.
                    let k = cell.len() as f64;
                    let sx: f64 = cell.iter().map(|&i| i as f64 - t).sum();
                    let sxx: f64 = cell.iter().map(|&i| (i as f64 - t).powi(2)).sum();
                    let det = k * sxx - sx * sx;
                    for &i in &cell {
                        taps.push((i, k * (sxx - (i as f64 - t) * sx) / det));
                    }
                    sides += cell.len();
                }
                taps.into_iter().map(|(i, w)| (i, (w / sides as f64) as f32)).collect()
            })
            .collect()
    }
}

/// The knot lattice along `axis` of the CT `flat` (`[k, j, i]` order, `size` `[ni, nj, nk]`),
/// if it is an interpolation along that axis (see the module docs).
pub(super) fn find<T: HuValue>(flat: &[T], size: [usize; 3], axis: usize) -> Option<Knots> {
    let n = size[axis];
    if n < MIN_LEN {
        return None;
    }
    let lines = lines(size, axis);
    let stride = [1, size[0], size[0] * size[1]][axis];
    let v = |line: usize, p: usize| flat[line + p * stride].hu_f32();
    let d = |line: usize, p: usize| v(line, p - 1) - 2.0 * v(line, p) + v(line, p + 1);

    // 1. Mean absolute second difference at each position 1..n-1, over body lines.
    let (sum, count) = lines
        .par_iter()
        .fold(
            || (vec![0.0f64; n], vec![0usize; n]),
            |(mut s, mut c), &line| {
                for p in 1..n - 1 {
                    if v(line, p - 1).max(v(line, p)).max(v(line, p + 1)) > BODY_HU {
                        s[p] += f64::from(d(line, p).abs());
                        c[p] += 1;
                    }
                }
                (s, c)
            },
        )
        .reduce(|| (vec![0.0; n], vec![0; n]), |(a, b), (x, y)| (a.iter().zip(x).map(|(a, x)| a + x).collect(), b.iter().zip(y).map(|(b, y)| b + y).collect()));
    let mut profile = vec![0.0f64; n];
    for p in 1..n - 1 {
        profile[p] = if count[p] > 0 { sum[p] / count[p] as f64 } else { 0.0 };
    }
    let inner = &profile[1..n - 1];

    // 2. Peaks above the baseline, each with its larger neighbour.
    let base = quantile(inner.to_vec(), BASE_QUANTILE);
    let spread = quantile(inner.iter().map(|x| (x - base).abs()).collect(), BASE_QUANTILE);
    let thr = (10.0 * spread).max(0.5);
    let e: Vec<f64> = profile.iter().enumerate().map(|(p, x)| if p == 0 || p == n - 1 { 0.0 } else { (x - base).max(0.0) }).collect();
    let mut pairs: Vec<usize> = Vec::new(); // knot between pairs[q] and pairs[q] + 1
    for p in 1..n - 1 {
        if e[p] > thr && e[p] >= e[p - 1] && e[p] > e[p + 1] {
            let lo = if e[p - 1] > e[p + 1] { p - 1 } else { p };
            if pairs.last() != Some(&lo) {
                pairs.push(lo);
            }
        }
    }
    if pairs.len() < MIN_KNOTS {
        return None;
    }

    // 3. Each knot placed from the lines' signed kinks.
    let (ab, _) = lines
        .par_iter()
        .fold(
            || (vec![[0.0f64; 2]; pairs.len()], ()),
            |(mut ab, ()), &line| {
                for (q, &p) in pairs.iter().enumerate() {
                    let (a, b) = (if p >= 1 { d(line, p) } else { 0.0 }, if p + 2 < n { d(line, p + 1) } else { 0.0 });
                    if (a + b).abs() > KINK_HU {
                        let s = (a + b).signum();
                        ab[q][0] += f64::from(s * a);
                        ab[q][1] += f64::from(s * b);
                    }
                }
                (ab, ())
            },
        )
        .reduce(|| (vec![[0.0; 2]; pairs.len()], ()), |(a, ()), (b, ())| (a.iter().zip(b).map(|(x, y)| [x[0] + y[0], x[1] + y[1]]).collect(), ()));
    let knots: Vec<(f64, f64)> = pairs.iter().zip(&ab).filter(|(_, [a, b])| a + b > 0.0).map(|(&p, [a, b])| (p as f64 + (b / (a + b)).clamp(0.0, 1.0), a + b)).collect();
    if knots.len() < MIN_KNOTS {
        return None;
    }

    // 4. The lattice: integer places from the median spacing, then weighted least squares.
    let step0 = median(knots.windows(2).map(|w| w[1].0 - w[0].0).collect());
    if step0.is_nan() || step0 < MIN_STEP {
        return None;
    }
    let t0 = knots[0].0;
    let m: Vec<f64> = knots.iter().map(|(t, _)| ((t - t0) / step0).round()).collect();
    if m.windows(2).any(|w| w[1] <= w[0]) {
        return None;
    }
    let (mut sw, mut sm, mut st, mut smm, mut smt) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&mi, &(t, w)) in m.iter().zip(&knots) {
        sw += w;
        sm += w * mi;
        st += w * t;
        smm += w * mi * mi;
        smt += w * mi * t;
    }
    let det = sw * smm - sm * sm;
    if det.abs() < 1e-12 {
        return None;
    }
    let step = (sw * smt - sm * st) / det;
    let origin = (st - step * sm) / sw;
    if step.is_nan() || step < MIN_STEP || m.iter().zip(&knots).any(|(&mi, &(t, _))| (origin + mi * step - t).abs() > MAX_OFF) {
        return None;
    }
    let first_m = (-origin / step).ceil();
    let first = origin + first_m * step;
    let count = ((n - 1) as f64 - first) / step;
    if count < 2.0 {
        return None;
    }
    let knots = Knots { first, step, count: count.floor() as usize + 1 };

    // 5. Away from the knots the lines are straight.
    let beside: Vec<bool> = {
        let mut b = vec![false; n];
        for q in 0..knots.count {
            let t = knots.at(q);
            for p in [t.floor(), t.ceil()] {
                if p >= 0.0 && (p as usize) < n {
                    b[p as usize] = true;
                }
            }
        }
        b
    };
    let away: Vec<usize> = (1..n - 1).filter(|&p| !beside[p]).collect();
    (away.len() * 4 >= n && away.iter().all(|&p| profile[p] <= FLAT_HU)).then_some(knots)
}

/// Whether the integer CT `flat` was converted from interpolated values by truncation (towards
/// zero, as ITK's and NumPy's casts do) rather than rounding: truncation sends every value in
/// `(-1, 1)` to 0, so 0 HU is about twice as frequent as -1 and 1 HU (soft tissue gives all
/// three plenty of voxels); rounding leaves them alike. Truncation lowers the magnitude of every
/// value by half a HU on average, which the recovery undoes before rounding.
pub(super) fn truncated<T: HuValue>(flat: &[T]) -> bool {
    let [minus, zero, plus] = flat
        .par_iter()
        .fold(
            || [0usize; 3],
            |mut c, &v| {
                let v = v.hu_f32();
                if v == -1.0 || v == 0.0 || v == 1.0 {
                    c[(v + 1.0) as usize] += 1;
                }
                c
            },
        )
        .reduce(|| [0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]]);
    minus + plus >= 1000 && zero as f64 > 0.75 * (minus + plus) as f64
}

/// The first voxel of each sampled line along `axis`.
fn lines(size: [usize; 3], axis: usize) -> Vec<usize> {
    let [ni, nj, nk] = size;
    let (si, sj, sk) = (if axis == 0 { 1 } else { LINE_STRIDE[0] }, if axis == 1 { 1 } else { LINE_STRIDE[1] }, if axis == 2 { 1 } else { LINE_STRIDE[2] });
    let (ri, rj, rk) = (if axis == 0 { 1 } else { ni }, if axis == 1 { 1 } else { nj }, if axis == 2 { 1 } else { nk });
    let mut out = Vec::new();
    for k in (0..rk).step_by(sk) {
        for j in (0..rj).step_by(sj) {
            for i in (0..ri).step_by(si) {
                out.push((k * nj + j) * ni + i);
            }
        }
    }
    out
}

/// The `q` quantile of `v` (the nearest value below; 0 when empty).
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let at = ((v.len() - 1) as f64 * q) as usize;
    let (_, m, _) = v.select_nth_unstable_by(at, f64::total_cmp);
    *m
}

fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

/// `src` (`[k, j, i]` order, `size` `[ni, nj, nk]`) mapped along `axis` by `taps` (one list of
/// `(voxel, weight)` per output voxel): the output and its size.
/// Each source value is read through `read`.
pub(super) fn apply<T: Copy + Sync>(src: &[T], size: [usize; 3], axis: usize, taps: &[Vec<(usize, f32)>], read: impl Fn(T) -> f32 + Sync) -> (Vec<f32>, [usize; 3]) {
    let [ni, nj, _] = size;
    let mut out_size = size;
    out_size[axis] = taps.len();
    let [oi, oj, ok] = out_size;
    let mut out = vec![0.0f32; oi * oj * ok];
    out.par_chunks_mut(oi * oj).enumerate().for_each(|(k, plane)| match axis {
        2 => {
            for &(n, w) in &taps[k] {
                let src_plane = &src[n * ni * nj..(n + 1) * ni * nj];
                for (o, &s) in plane.iter_mut().zip(src_plane) {
                    *o += w * read(s);
                }
            }
        }
        1 => {
            for (j, row) in plane.chunks_mut(oi).enumerate() {
                for &(n, w) in &taps[j] {
                    let src_row = &src[(k * nj + n) * ni..(k * nj + n + 1) * ni];
                    for (o, &s) in row.iter_mut().zip(src_row) {
                        *o += w * read(s);
                    }
                }
            }
        }
        _ => {
            for (j, row) in plane.chunks_mut(oi).enumerate() {
                let src_row = &src[(k * nj + j) * ni..(k * nj + j + 1) * ni];
                for (o, tap) in row.iter_mut().zip(taps) {
                    *o = tap.iter().map(|&(n, w)| w * read(src_row[n])).sum();
                }
            }
        }
    });
    (out, out_size)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A deterministic pseudo-random HU in `[-800, 1500)` for coarse voxel `n`.
    fn hu(n: usize) -> f32 {
        let x = (n as u64).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        -800.0 + ((x >> 33) % 2300) as f32
    }

    /// `coarse` (`[ci, cj, ck]` voxels) sampled by trilinear interpolation at fine voxel `x`
    /// along each axis at coarse index `(x - first) / step`, clamped at the ends as ITK does,
    /// plus `noise(n)` at fine voxel `n`, the result rounded to integer HU (or truncated towards
    /// zero, as SimpleITK's `Resample` to `sitkInt16` and NumPy's `astype` do).
    pub(in crate::segment) fn upsample(coarse: &[f32], c: [usize; 3], fine: [usize; 3], first: [f64; 3], step: [f64; 3], noise: impl Fn(usize) -> f32, truncate: bool) -> Vec<i16> {
        let at = |a: usize, x: usize| -> (usize, usize, f32) {
            let u = ((x as f64 - first[a]) / step[a]).clamp(0.0, (c[a] - 1) as f64);
            let lo = (u.floor() as usize).min(c[a] - 2);
            (lo, lo + 1, (u - lo as f64) as f32)
        };
        let mut out = Vec::with_capacity(fine.iter().product());
        for k in 0..fine[2] {
            let (k0, k1, wk) = at(2, k);
            for j in 0..fine[1] {
                let (j0, j1, wj) = at(1, j);
                for i in 0..fine[0] {
                    let (i0, i1, wi) = at(0, i);
                    let v = |i, j, k| coarse[(k * c[1] + j) * c[0] + i];
                    let lerp = |a: f32, b: f32, w: f32| a + (b - a) * w;
                    let y0 = lerp(lerp(v(i0, j0, k0), v(i1, j0, k0), wi), lerp(v(i0, j1, k0), v(i1, j1, k0), wi), wj);
                    let y1 = lerp(lerp(v(i0, j0, k1), v(i1, j0, k1), wi), lerp(v(i0, j1, k1), v(i1, j1, k1), wi), wj);
                    let n = out.len();
                    let v = lerp(y0, y1, wk) + noise(n);
                    out.push(if truncate { v as i16 } else { v.round() as i16 });
                }
            }
        }
        out
    }

    const C: [usize; 3] = [14, 12, 10];
    const FIRST: [f64; 3] = [1.598, 2.035, 3.964];
    const STEP: [f64; 3] = [4.1967, 5.0693, 8.9286];

    fn fine_size() -> [usize; 3] {
        std::array::from_fn(|a| (FIRST[a] * 2.0 + STEP[a] * (C[a] - 1) as f64).round() as usize + 1)
    }

    /// A CT interpolated from a coarser one (as `benches/make_full_length_ct.py` makes the
    /// full-length CT: 3 mm to 0.71 x 0.59 x 0.34 mm, rounded to integer HU): each axis's
    /// lattice is found, and the coarse CT recovered within the rounding.
    #[test]
    fn an_interpolated_ct_gives_back_its_source() {
        let coarse: Vec<f32> = (0..C.iter().product()).map(hu).collect();
        let fine = fine_size();
        let ct = upsample(&coarse, C, fine, FIRST, STEP, |_| 0.0, false);
        let mut values: Option<(Vec<f32>, [usize; 3])> = None;
        for a in [2, 1, 0] {
            let k = find(&ct, fine, a).unwrap_or_else(|| panic!("axis {a}: no lattice"));
            assert_eq!(k.count, C[a], "axis {a}: {k:?}");
            assert!((k.step - STEP[a]).abs() < 2e-3 && (k.first - FIRST[a]).abs() < 0.02, "axis {a}: {k:?}");
            let taps = k.taps(fine[a]);
            values = Some(match &values {
                None => apply(&ct, fine, a, &taps, |v: i16| f32::from(v)),
                Some((v, s)) => apply(v, *s, a, &taps, |v| v),
            });
        }
        let (values, size) = values.unwrap();
        assert_eq!(size, C);
        let worst = values.iter().zip(&coarse).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1.5, "recovered within {worst} HU");
    }

    /// Noise of some HU on every voxel (a CT reconstructed at its own slices, or interpolated
    /// and then filtered): no lattice, on any axis.
    #[test]
    fn a_noisy_ct_has_no_knots() {
        let coarse: Vec<f32> = (0..C.iter().product()).map(hu).collect();
        let fine = fine_size();
        let noise = |n: usize| (hu(n + 7919) + 800.0) / 2300.0 * 12.0 - 6.0;
        let ct = upsample(&coarse, C, fine, FIRST, STEP, noise, false);
        for a in 0..3 {
            assert_eq!(find(&ct, fine, a), None, "axis {a}");
        }
        // Native noise alone, no interpolation.
        let native: Vec<i16> = (0..fine.iter().product()).map(|n| (hu(n) / 10.0) as i16).collect();
        for a in 0..3 {
            assert_eq!(find(&native, fine, a), None, "axis {a}");
        }
    }

    /// Truncation to integers is told from rounding by the excess of 0 HU.
    #[test]
    fn truncation_is_told_from_rounding() {
        let values: Vec<f32> = (0..200_000).map(|n| (n as f32 * 0.013_7) % 100.0 - 50.0).collect();
        let truncated: Vec<i16> = values.iter().map(|&v| v as i16).collect();
        let rounded: Vec<i16> = values.iter().map(|&v| v.round() as i16).collect();
        assert!(super::truncated(&truncated));
        assert!(!super::truncated(&rounded));
        // Too few voxels near 0 HU to tell: taken as rounded.
        assert!(!super::truncated(&truncated[..1000]));
    }
}

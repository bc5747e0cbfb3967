//! The row kernel of the plane-by-plane cast ([`super::planes`]) for rays sampled several times
//! per plane (oblique views, issue 42).
//!
//! A ray steeper than [`super::oblique`]'s sub-slope gets `m - 1` trilinear samples between
//! each pair of planes. The sample at `q + t/m` (`0 < t < m`) blends plane `q` with weight
//! `1 - t/m` and plane `q + 1` with weight `t/m`, both bilinear at the sample's row position
//! (and at each plane's own column position). Gathered by plane, plane `q` is read at the rows
//! `r(q) + t dr / m` for `t = -(m-1)..=(m-1)` with weights `1 - |t| / m` (a tent along the
//! plane's rows): for one detector row this is a fixed combination of at most
//! [`MAX_LINES`] consecutive lines of the plane (its rows interpolated at every detector
//! column), the same for every column. So a ray's samples of a plane cost a few multiply-adds
//! over contiguous lines, instead of one blend of two planes' lines and one interpolation per
//! sample. The first and last planes of a ray take only one side of the tent:
//! [`end_correction`] takes the other side off.

/// Most consecutive plane lines a row kernel spans: the tent spans `2 (m - 1) / m |dr| < 3`
/// rows for the steepest slope [`super::oblique`] allows (1.5 per plane), so 4 lower corners
/// and their upper neighbour.
pub(in crate::drr) const MAX_LINES: usize = 5;

/// The combination of consecutive lines `k..k + n` a ray's samples of one plane make.
#[derive(Debug, Clone, Copy)]
pub(in crate::drr) struct Kernel {
    pub k: usize,
    pub n: usize,
    pub w: [f32; MAX_LINES],
}

/// The rows a ray at row `rq` of a plane is sampled at, by the tent of `m` samples per plane
/// step of `dr` rows, with their weights: `(position, weight)`, positions in order of `t`.
pub(in crate::drr) fn tent(rq: f32, dr: f32, m: usize) -> impl Iterator<Item = (f32, f32)> {
    let (step, mf) = (dr / m as f32, m as f32);
    let m = m as i32;
    (1 - m..m).map(move |t| (rq + t as f32 * step, 1.0 - t.unsigned_abs() as f32 / mf))
}

/// The lower corner row and fraction of a position, clamped to the plane (`rtop` its last row,
/// `rmax` the last lower corner), as [`super::Caster::bilinear`] takes them.
fn cell(r: f32, rtop: f32, rmax: f32) -> (usize, f32) {
    let r = r.clamp(0.0, rtop);
    let f = super::floor_nonneg(r).min(rmax);
    (f as usize, r - f)
}

impl Kernel {
    /// The kernel of a ray at row `rq` of a plane stepping `dr` rows per plane, `m` samples per
    /// step; `None` when it spans more than [`MAX_LINES`] (a slope the casts refuse).
    pub(in crate::drr) fn new(rq: f32, dr: f32, m: usize, rtop: f32, rmax: f32) -> Option<Self> {
        let k = tent(rq, dr, m).map(|(r, _)| cell(r, rtop, rmax).0).min()?;
        let mut w = [0f32; MAX_LINES];
        let mut n = 0;
        for (r, weight) in tent(rq, dr, m) {
            let (f, fr) = cell(r, rtop, rmax);
            let i = f - k;
            if i + 1 >= MAX_LINES {
                return None;
            }
            w[i] += weight * (1.0 - fr);
            w[i + 1] += weight * fr;
            n = n.max(i + 2);
        }
        Some(Self { k, n, w })
    }

    /// Adds the kernel's combination of `lines` (the plane's lines from row `k0`, `cols` each;
    /// their columns `span`) to `acc` where the ray samples plane `q` (`q0 <= q <= q1`).
    #[expect(clippy::too_many_arguments, reason = "the band's slices and the plane")]
    pub(in crate::drr) fn add(&self, acc: &mut [f32], lines: &[f32], k0: usize, cols: usize, span: std::ops::Range<usize>, (q0s, q1s): (&[i32], &[i32]), q: i32) {
        let line = |i: usize| &lines[(self.k + i - k0) * cols..(self.k + i - k0 + 1) * cols][span.clone()];
        let w = self.w;
        let on = |q0: i32, q1: i32, v: f32| if q0 <= q && q <= q1 { v } else { 0.0 };
        let acc = acc.iter_mut().zip(q0s).zip(q1s);
        match self.n {
            2 => {
                for ((((a, &q0), &q1), &x0), &x1) in acc.zip(line(0)).zip(line(1)) {
                    *a += on(q0, q1, w[0] * x0 + w[1] * x1);
                }
            }
            3 => {
                for (((((a, &q0), &q1), &x0), &x1), &x2) in acc.zip(line(0)).zip(line(1)).zip(line(2)) {
                    *a += on(q0, q1, w[0] * x0 + w[1] * x1 + w[2] * x2);
                }
            }
            4 => {
                for ((((((a, &q0), &q1), &x0), &x1), &x2), &x3) in acc.zip(line(0)).zip(line(1)).zip(line(2)).zip(line(3)) {
                    *a += on(q0, q1, w[0] * x0 + w[1] * x1 + w[2] * x2 + w[3] * x3);
                }
            }
            n => {
                for (col, ((a, &q0), &q1)) in acc.enumerate() {
                    let v: f32 = (0..n).map(|i| w[i] * line(i)[col]).sum();
                    *a += on(q0, q1, v);
                }
            }
        }
    }
}

/// The part of a ray's tents outside its planes `q0..=q1`, for [`Kernel::add`]'s sums: the
/// samples before its first plane and after its last, by `bilinear(q, r, c)`; the rows and
/// columns `r0 + q dr`, `c0 + q dc` as the cast computes them.
pub(in crate::drr) fn end_correction(bilinear: impl Fn(usize, f32, f32) -> f32, (q0, q1): (usize, usize), (r0, dr, c0, dc): (f32, f32, f32, f32), m: usize) -> f32 {
    let mut sum = 0f32;
    for (q, before) in [(q0, true), (q1, false)] {
        let (rq, cq) = (r0 + q as f32 * dr, c0 + q as f32 * dc);
        for (t, (r, weight)) in (1 - m as i32..m as i32).zip(tent(rq, dr, m)) {
            if (before && t < 0) || (!before && t > 0) {
                sum += weight * bilinear(q, r, cq);
            }
        }
    }
    sum
}

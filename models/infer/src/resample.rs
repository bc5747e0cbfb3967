//! nnU-Net v2's resampling, exactly: `resample_data_or_seg_to_shape` of
//! `nnunetv2/preprocessing/resampling/default_resampling.py` (nnunetv2 2.8.1), for images
//! (`is_seg = False`).
//!
//! What nnU-Net does, and what is reproduced here (arrays are `[k, j, i]`, spacings `(k, j, i)`,
//! nnU-Net's axis order after SimpleITK's transpose):
//! - **The new shape** ([`compute_new_shape`]): `int(round(old_spacing / new_spacing * old_shape))`
//!   per axis, in float64, Python's `round` (ties to even).
//! - **No resampling** when the new shape equals the old one: the data are returned unchanged
//!   (whatever the spacings).
//! - **Separate z** ([`separate_z_axis`]): when the current spacing's largest/smallest ratio is
//!   above [`ANISO_THRESHOLD`] (3), else the new spacing's, and exactly one axis has the largest
//!   spacing (`max(spacing) / spacing == 1`), that axis is resampled apart: each slice across it
//!   in-plane with `order`, then along it with `order_z` (scipy's `map_coordinates`, mode
//!   `'nearest'`, no clipping). A card's `force_separate_z` overrides the rule as in nnU-Net.
//! - **Otherwise** skimage's `resize(x, new_shape, order, mode='edge', anti_aliasing=False)` of the
//!   whole channel.
//! - **skimage's `resize`** (0.26) is `scipy.ndimage.zoom(x, grid_mode=True, mode='nearest')` in
//!   float64, then clipped to the input's min and max. For `order > 1` scipy pads the input by 12
//!   edge values per side, prefilters it with the B-spline poles along every axis (the recursive
//!   filter's boundary is scipy 1.17's for `'nearest'`: the "reflect" initialisation) and
//!   interpolates at `(o + 0.5) * in / out - 0.5 + 12`; for `order <= 1` there is no prefilter or
//!   padding and the coordinate is clamped to the line. The weights are scipy's
//!   (`get_spline_interpolation_weights`: the last weight is 1 minus the others). Order 0 takes
//!   `floor(c + 0.5)`.
//! - **Types**: nnU-Net computes in float64 and casts the result to the input's dtype (float32
//!   for the image; float16 for nnUNetPredictor's logits); [`resample_channel`] returns float64
//!   and the caller casts.
//!
//! The one deliberate difference: the prefilter and the interpolation are applied one axis at a
//! time (scipy prefilters every axis, then sums the 4 x 4 x 4 tensor-product taps). It is the
//! same linear map, rounded differently in float64 (about 1e-15 relative), far below the float32
//! (or float16) the result is cast to. `tests/resample_vs_scipy.rs` compares with skimage and
//! scipy themselves.
//!
//! Written here rather than taken from a crate: `ndarray-ndimage` 0.6 (the scipy port) has
//! `zoom` only with aligned corners (scipy's `grid_mode=False`), for 3D arrays only and returning
//! the input's type, while nnU-Net needs `grid_mode=True`, 2D slices for the separate-z rule,
//! float64 results and skimage's clipping. The filter and the weights are a few dozen lines.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;
use serde::Deserialize;

/// nnU-Net's `ANISO_THRESHOLD`: a spacing is anisotropic when its largest/smallest ratio is above it.
pub const ANISO_THRESHOLD: f64 = 3.0;

/// scipy's padding for `order > 1` and mode `'nearest'` (`_prepad_for_spline_filter`).
const PREPAD: usize = 12;

/// The keyword arguments of one of the plans' `resample_data_or_seg_to_shape` calls
/// (`resampling_fn_data_kwargs`, `resampling_fn_probabilities_kwargs`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resampling {
    /// Spline order (0 to 3): in-plane under the separate-z rule, everywhere otherwise.
    pub order: usize,
    /// Spline order along the out-of-plane axis under the separate-z rule (0 to 3).
    #[serde(default)]
    pub order_z: usize,
    /// nnU-Net's `force_separate_z`: absent (`None`) applies the anisotropy rule.
    #[serde(default)]
    pub force_separate_z: Option<bool>,
}

impl Resampling {
    /// The plans' default for the image: order 3, order_z 0, the anisotropy rule.
    pub const DATA: Self = Self { order: 3, order_z: 0, force_separate_z: None };
    /// The plans' default for the logits back to the CT's grid: order 1, order_z 0, the rule.
    pub const PROBABILITIES: Self = Self { order: 1, order_z: 0, force_separate_z: None };
}

/// nnU-Net's `compute_new_shape`: `int(round(old_spacing / new_spacing * old_shape))` per axis
/// (float64, ties to even as Python's `round`).
pub fn compute_new_shape(old_shape: [usize; 3], old_spacing: [f64; 3], new_spacing: [f64; 3]) -> [usize; 3] {
    std::array::from_fn(|a| (old_spacing[a] / new_spacing[a] * old_shape[a] as f64).round_ties_even().max(0.0) as usize)
}

fn anisotropic(spacing: [f64; 3]) -> bool {
    let (max, min) = spacing.iter().fold((f64::MIN, f64::MAX), |(a, b), &s| (a.max(s), b.min(s)));
    max / min > ANISO_THRESHOLD
}

/// nnU-Net's `get_lowres_axis`: the axes whose spacing is the largest (`max / s == 1`).
fn lowres_axes(spacing: [f64; 3]) -> Vec<usize> {
    let max = spacing.iter().copied().fold(f64::MIN, f64::max);
    (0..3).filter(|&a| max / spacing[a] == 1.0).collect()
}

/// nnU-Net's `determine_do_sep_z_and_axis`: the axis resampled apart, if any.
pub fn separate_z_axis(force_separate_z: Option<bool>, current_spacing: [f64; 3], new_spacing: [f64; 3]) -> Option<usize> {
    let axes = match force_separate_z {
        Some(true) => lowres_axes(current_spacing),
        Some(false) => return None,
        None if anisotropic(current_spacing) => lowres_axes(current_spacing),
        None if anisotropic(new_spacing) => lowres_axes(new_spacing),
        None => return None,
    };
    // Two or three axes with the largest spacing: nnU-Net resamples all axes together.
    if axes.len() == 1 { Some(axes[0]) } else { None }
}

/// scipy's B-spline prefilter poles (`get_filter_poles`).
fn poles(order: usize) -> &'static [f64] {
    match order {
        2 => &[-0.171_572_875_253_809_9],
        3 => &[-0.267_949_192_431_122_7],
        _ => &[],
    }
}

/// scipy's `spline_filter1d` of one line in place, boundary as for mode `'nearest'` (scipy 1.17:
/// the "reflect" initialisations).
fn prefilter_line(c: &mut [f64], order: usize) {
    let n = c.len();
    let zs = poles(order);
    if n < 2 || zs.is_empty() {
        return;
    }
    let gain: f64 = zs.iter().map(|&z| (1.0 - z) * (1.0 - 1.0 / z)).product();
    c.iter_mut().for_each(|v| *v *= gain);
    for &z in zs {
        // Causal initialisation (reflect).
        let z_n = z.powi(n as i32);
        let c0 = c[0];
        let mut acc = c[0] + z_n * c[n - 1];
        let mut z_i = z;
        for i in 1..n {
            acc += z_i * (c[i] + z_n * c[n - 1 - i]);
            z_i *= z;
        }
        c[0] = acc * (z / (1.0 - z_n * z_n)) + c0;
        for i in 1..n {
            c[i] += z * c[i - 1];
        }
        // Anti-causal initialisation (reflect).
        c[n - 1] *= z / (z - 1.0);
        for i in (0..n - 1).rev() {
            c[i] = z * (c[i + 1] - c[i]);
        }
    }
}

/// scipy's `get_spline_interpolation_weights` (orders 0 to 3).
fn weights(x: f64, order: usize) -> [f64; 4] {
    let x = x - if order & 1 == 1 { x } else { x + 0.5 }.floor();
    let (y, z) = (x, 1.0 - x);
    let mut w = [0.0; 4];
    match order {
        1 => w[0] = 1.0 - x,
        2 => {
            w[1] = 0.75 - x * x;
            let y = 0.5 - x;
            w[0] = 0.5 * y * y;
        }
        3 => {
            w[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
            w[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
            w[0] = z * z * z / 6.0;
        }
        _ => {}
    }
    w[order] = 1.0;
    for i in 0..order {
        w[order] -= w[i];
    }
    w
}

/// One output sample of a line: the first of its `order + 1` taps (index into the padded line) and
/// their weights.
#[derive(Clone, Copy)]
struct Tap {
    start: usize,
    w: [f64; 4],
}

/// The taps of a resize of a line of `n_in` samples (plus `pad` per side) to `n_out`:
/// scipy's zoom coordinate `(o + 0.5) * n_in / n_out - 0.5 + pad`, clamped to the padded line
/// (mode `'nearest'`), and the spline's first tap (`floor(c)` for odd orders, `floor(c + 0.5)`
/// for even ones, minus `order / 2`; never below 0 here: orders above 1 are padded). A tap past
/// the line's end happens only at the clamped end, with weight 0; it reads the last sample.
fn taps(n_in: usize, n_out: usize, order: usize, pad: usize) -> Vec<Tap> {
    let len = n_in + 2 * pad;
    let zoom = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|o| {
            let cc = ((o as f64 + 0.5) * zoom - 0.5 + pad as f64).clamp(0.0, (len - 1) as f64);
            let first = if order & 1 == 1 { cc.floor() } else { (cc + 0.5).floor() } - (order / 2) as f64;
            Tap { start: first.max(0.0) as usize, w: weights(cc, order) }
        })
        .collect()
}

/// Resizes every line of `x` along `axis` to `n_out` samples with spline `order` (scipy's zoom
/// along that axis, grid mode, mode `'nearest'`), in float64. Lines along the contiguous axis (2)
/// are read and written in place; along the others the array is transposed around the work.
fn resize_axis<T: Copy + Into<f64> + Send + Sync>(x: ArrayView3<'_, T>, axis: usize, n_out: usize, order: usize) -> Array3<f64> {
    let mut perm = [0usize, 1, 2];
    perm.swap(axis, 2);
    let moved = x.permuted_axes(perm);
    let moved = moved.as_standard_layout();
    let src = moved.as_slice().expect("standard layout");
    let n_in = moved.shape()[2];
    let pad = if order > 1 { PREPAD } else { 0 };
    let taps = taps(n_in, n_out, order, pad);
    let (d0, d1) = (moved.shape()[0], moved.shape()[1]);
    let mut out = vec![0f64; d0 * d1 * n_out];
    if n_in > 0 && n_out > 0 {
        out.par_chunks_mut(n_out).zip(src.par_chunks(n_in)).for_each_init(
            || vec![0f64; n_in + 2 * pad],
            |line, (dst, row)| {
                for (t, v) in line.iter_mut().enumerate() {
                    *v = row[t.saturating_sub(pad).min(n_in - 1)].into();
                }
                prefilter_line(line, order);
                let last = line.len() - 1;
                for (o, tap) in dst.iter_mut().zip(&taps) {
                    let mut acc = 0.0;
                    for h in 0..=order {
                        acc += tap.w[h] * line[(tap.start + h).min(last)];
                    }
                    *o = acc;
                }
            },
        );
    }
    let out = Array3::from_shape_vec((d0, d1, n_out), out).expect("resized shape");
    if axis == 2 { out } else { out.permuted_axes(perm).as_standard_layout().into_owned() }
}

/// Resizes `x` along `axes` in turn (at least one), the contiguous axis last when it is one of
/// them, so that the full-size result is never transposed.
fn resize_axes(x: ArrayView3<'_, f32>, axes: &[usize], new_shape: [usize; 3], order: usize) -> Array3<f64> {
    let mut axes = axes.to_vec();
    // Shrinking axes first (smaller intermediates), the contiguous one last.
    axes.sort_by(|&a, &b| (a == 2).cmp(&(b == 2)).then((new_shape[a] * x.shape()[b]).cmp(&(new_shape[b] * x.shape()[a]))));
    let mut y = resize_axis(x, axes[0], new_shape[axes[0]], order);
    for &a in &axes[1..] {
        y = resize_axis(y.view(), a, new_shape[a], order);
    }
    y
}

/// The smallest and largest value of `x` (skimage's clip range).
fn range<'a>(x: impl IntoIterator<Item = &'a f32>) -> (f64, f64) {
    x.into_iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(f64::from(v)), hi.max(f64::from(v))))
}

/// nnU-Net's `resample_data_or_seg_to_shape` of one channel (`is_seg = False`; see the module
/// docs), in float64: cast the result to the input's float type as nnU-Net does.
pub fn resample_channel(x: ArrayView3<'_, f32>, new_shape: [usize; 3], current_spacing: [f64; 3], new_spacing: [f64; 3], r: &Resampling) -> Array3<f64> {
    let shape: [usize; 3] = [x.shape()[0], x.shape()[1], x.shape()[2]];
    if shape == new_shape || x.is_empty() {
        return x.mapv(f64::from);
    }
    match separate_z_axis(r.force_separate_z, current_spacing, new_spacing) {
        Some(z) => {
            // skimage's resize of each slice across `z`, clipped to that slice's range.
            let ranges: Vec<(f64, f64)> = x.axis_iter(Axis(z)).map(|s| range(s.iter())).collect();
            let plane: Vec<usize> = (0..3).filter(|&a| a != z).collect();
            let mut y = resize_axes(x, &plane, new_shape, r.order);
            if r.order > 0 {
                for (mut s, &(lo, hi)) in y.axis_iter_mut(Axis(z)).zip(&ranges) {
                    s.mapv_inplace(|v| v.clamp(lo, hi));
                }
            }
            // map_coordinates along `z` (the in-plane coordinates are the samples themselves).
            if shape[z] != new_shape[z] {
                y = resize_axis(y.view(), z, new_shape[z], r.order_z);
            }
            y
        }
        None => {
            let (lo, hi) = range(x.iter());
            let mut y = resize_axes(x, &[0, 1, 2], new_shape, r.order);
            if r.order > 0 {
                y.mapv_inplace(|v| v.clamp(lo, hi));
            }
            y
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_shape_rounds_half_to_even_as_python() {
        // 22.5 -> 22, 24.5 -> 24, 27.5 -> 28 (Python's round), 10 * 1.5 / 2 = 7.5 -> 8.
        assert_eq!(compute_new_shape([20, 28, 30], [2.75, 1.75, 1.5], [2.0, 2.0, 2.0]), [28, 24, 22]);
        assert_eq!(compute_new_shape([10, 10, 10], [1.5, 2.0, 2.0], [2.0, 2.0, 2.0]), [8, 10, 10]);
    }

    #[test]
    fn separate_z_follows_nnunet_rule() {
        assert_eq!(separate_z_axis(None, [6.5, 1.6, 1.6], [2.0, 2.0, 2.0]), Some(0));
        assert_eq!(separate_z_axis(None, [2.0, 2.0, 2.0], [1.6, 1.6, 6.5]), Some(2));
        assert_eq!(separate_z_axis(None, [2.5, 1.75, 1.5], [2.0, 2.0, 2.0]), None);
        // Two axes share the largest spacing: no separate z.
        assert_eq!(separate_z_axis(None, [5.0, 5.0, 1.0], [2.0, 2.0, 2.0]), None);
        assert_eq!(separate_z_axis(Some(false), [6.5, 1.6, 1.6], [2.0, 2.0, 2.0]), None);
        assert_eq!(separate_z_axis(Some(true), [2.5, 1.6, 1.6], [2.0, 2.0, 2.0]), Some(0));
    }

    #[test]
    fn weights_sum_to_one_and_prefilter_interpolates() {
        for order in 0..=3 {
            for x in [0.0, 0.25, 0.5, 0.99, 7.3] {
                let w = weights(x, order);
                assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15, "order {order} x {x}: {w:?}");
            }
        }
        // Same-size order-3 resize reproduces the samples (the interpolating spline).
        let x = Array3::from_shape_fn((5, 6, 7), |(k, j, i)| ((k * 31 + j * 7 + i * 3) % 11) as f32 - 5.0);
        let y = resample_channel(x.view(), [5, 6, 8], [1.0; 3], [1.0; 3], &Resampling::DATA);
        let same = resize_axis(x.view(), 1, 6, 3);
        for (a, b) in same.iter().zip(x.iter()) {
            assert!((a - f64::from(*b)).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(y.shape(), &[5, 6, 8]);
    }

    #[test]
    fn equal_shapes_are_returned_unchanged() {
        let x = Array3::from_shape_fn((3, 4, 5), |(k, j, i)| (k + 2 * j + 3 * i) as f32 * 0.1);
        let y = resample_channel(x.view(), [3, 4, 5], [3.0, 1.0, 1.0], [1.0, 1.0, 1.0], &Resampling::DATA);
        assert_eq!(y, x.mapv(f64::from));
    }
}

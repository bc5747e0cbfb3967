//! The region of interest as pyradiomics prepares it: label, geometry check, resampling, mask
//! checks, resegmentation, crop to the bounding box and discretisation.

use coxa_core::{Grid, LabelMap, Volume};
use nalgebra::{Matrix3, Vector3};

use crate::settings::{Interpolator, ResegmentMode, Settings};
use crate::{Error, Result};

/// Largest texture matrix an extraction may allocate (bytes).
pub(crate) const MAX_MATRIX_BYTES: u64 = 2 << 30;

/// The image and masks cropped to the ROI's bounding box, arrays in `[z, y, x]` order (`x` fastest).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Box size `[z, y, x]`.
    pub dims: [usize; 3],
    /// Spacing `[z, y, x]`, mm.
    pub spacing_zyx_mm: [f64; 3],
    /// Image values in the box.
    pub values: Vec<f64>,
    /// The label's mask (before resegmentation), cropped to the same box.
    pub label_mask: Vec<bool>,
    /// The ROI (after resegmentation).
    pub roi_mask: Vec<bool>,
}

impl Prepared {
    /// Flat index of `(z, y, x)`.
    pub fn at(&self, z: usize, y: usize, x: usize) -> usize {
        (z * self.dims[1] + y) * self.dims[2] + x
    }
}

/// The whole image the ROI was cut from (after resampling, if any), for the filters (LoG,
/// wavelet) that need the voxels around the ROI: pyradiomics filters the whole image, then crops.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// Size `[x, y, z]`.
    pub size: [usize; 3],
    /// Spacing `[x, y, z]`, mm.
    pub spacing_mm: [f64; 3],
    /// Values, `x` fastest.
    pub values: Vec<f64>,
    /// First voxel `[x, y, z]` of [`Prepared`]'s box in this image.
    pub box_lo: [usize; 3],
    /// Size `[x, y, z]` of [`Prepared`]'s box.
    pub box_size: [usize; 3],
}

/// Gray levels of the ROI after discretisation: 0 outside the ROI, 1.. inside.
#[derive(Debug, Clone)]
pub struct Levels {
    /// One level per voxel of the box.
    pub gl: Vec<u32>,
    /// The levels present, increasing.
    pub present: Vec<u32>,
    /// Largest level (pyradiomics' `Ng`).
    pub ng: u32,
    /// Index of each level in `present` (`index[level]`, `u32::MAX` where absent).
    pub index: Vec<u32>,
}

/// The ROI of `s.label`; with `keep_source`, also the whole image it was cut from.
pub(crate) fn prepare(image: &Volume, mask: &LabelMap, s: &Settings, keep_source: bool) -> Result<(Prepared, Option<Source>)> {
    let label = s.label;
    let labels = mask.labels();
    let mut seen = vec![false; usize::from(u16::MAX) + 1];
    for &l in labels.iter() {
        seen[usize::from(l)] = true;
    }
    let present: Vec<usize> = (1..seen.len()).filter(|l| seen[*l]).collect();
    if present.is_empty() {
        return Err(Error::EmptyMask);
    }
    if !u16::try_from(label).is_ok_and(|l| seen[usize::from(l)]) || label == 0 {
        return Err(Error::LabelAbsent { label, present: present.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ") });
    }
    check_geometry(image.grid(), mask.grid(), s.geometry_tolerance)?;
    let grid = image.grid().clone();
    let (mut size, mut spacing) = (grid.size(), grid.spacing_mm());
    let (mut values, mut lab): (Vec<f64>, Vec<bool>) = if s.resampled_pixel_spacing_mm.is_some() || keep_source {
        (image.hu().iter().map(|v| f64::from(*v)).collect(), labels.iter().map(|l| u32::from(*l) == label).collect())
    } else {
        // Without resampling only the label's bounding box is needed: crop before converting.
        let (bb, _) = label_box(labels.iter().map(|l| u32::from(*l) == label), size);
        let (lo, hi) = ([bb[0], bb[2], bb[4]], [bb[1], bb[3], bb[5]]);
        let hu = image.hu();
        let mut v = Vec::new();
        let mut m = Vec::new();
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    v.push(f64::from(hu[[k, j, i]]));
                    m.push(u32::from(labels[[k, j, i]]) == label);
                }
            }
        }
        size = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        (v, m)
    };
    if let Some(target) = s.resampled_pixel_spacing_mm {
        let r = resample(&grid, &values, &lab, target, s)?;
        if let Some((sz, sp, v, m)) = r {
            size = sz;
            spacing = sp;
            values = v;
            lab = m;
        }
    }
    let (bb, _) = check_mask(&lab, size, s)?;
    let mut roi = lab.clone();
    let mut bb_final = bb;
    if let Some(range) = &s.resegment_range {
        let inside: Vec<f64> = values.iter().zip(&lab).filter(|(_, m)| **m).map(|(v, _)| *v).collect();
        let mut th: Vec<f64> = range.clone();
        th.sort_by(f64::total_cmp);
        let th: Vec<f64> = match s.resegment_mode {
            ResegmentMode::Absolute => th,
            ResegmentMode::Relative => {
                let max = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                th.iter().map(|t| max * t).collect()
            }
            ResegmentMode::Sigma => {
                let n = inside.len() as f64;
                let mean = inside.iter().sum::<f64>() / n;
                let sd = (inside.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                th.iter().map(|t| mean + sd * t).collect()
            }
        };
        for (m, v) in roi.iter_mut().zip(&values) {
            if *m && (*v < th[0] || (th.len() == 2 && *v > th[1])) {
                *m = false;
            }
        }
        let kept = roi.iter().filter(|m| **m).count();
        if kept <= 1 {
            return Err(Error::RoiTooSmall { label, reason: format!("resegmentation excluded too many voxels (retained {kept} voxel(s)); widen resegmentRange") });
        }
        bb_final = check_mask(&roi, size, s)?.0;
    }
    // Crop to the final bounding box ([x0, x1, y0, y1, z0, z1] inclusive, pyradiomics' order).
    let dims = [bb_final[5] - bb_final[4] + 1, bb_final[3] - bb_final[2] + 1, bb_final[1] - bb_final[0] + 1];
    let n = dims.iter().product();
    let (mut v, mut lm, mut rm) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for z in bb_final[4]..=bb_final[5] {
        for y in bb_final[2]..=bb_final[3] {
            let row = (z * size[1] + y) * size[0];
            for x in bb_final[0]..=bb_final[1] {
                v.push(values[row + x]);
                lm.push(lab[row + x]);
                rm.push(roi[row + x]);
            }
        }
    }
    let prepared = Prepared { dims, spacing_zyx_mm: [spacing.z, spacing.y, spacing.x], values: v, label_mask: lm, roi_mask: rm };
    let source = keep_source.then(|| Source { size, spacing_mm: [spacing.x, spacing.y, spacing.z], values, box_lo: [bb_final[0], bb_final[2], bb_final[4]], box_size: [dims[2], dims[1], dims[0]] });
    Ok((prepared, source))
}

/// Bounding box `[x0, x1, y0, y1, z0, z1]` (inclusive) and voxel count of a mask in `x`-fastest order.
fn label_box(m: impl Iterator<Item = bool>, size: [usize; 3]) -> ([usize; 6], usize) {
    let mut bb = [usize::MAX, 0, usize::MAX, 0, usize::MAX, 0];
    let mut count = 0usize;
    for (flat, inside) in m.enumerate() {
        if inside {
            count += 1;
            let c = [flat % size[0], (flat / size[0]) % size[1], flat / (size[0] * size[1])];
            for a in 0..3 {
                bb[2 * a] = bb[2 * a].min(c[a]);
                bb[2 * a + 1] = bb[2 * a + 1].max(c[a]);
            }
        }
    }
    (bb, count)
}

/// pyradiomics' `checkMask`: the bounding box `[x0, x1, y0, y1, z0, z1]` and the voxel count.
fn check_mask(m: &[bool], size: [usize; 3], s: &Settings) -> Result<([usize; 6], usize)> {
    let (bb, count) = label_box(m.iter().copied(), size);
    let label = s.label;
    if count == 0 {
        return Err(Error::RoiTooSmall { label, reason: "no voxel left in the ROI".into() });
    }
    let ndims = (0..3).filter(|a| bb[2 * a + 1] > bb[2 * a]).count();
    if ndims == 0 {
        return Err(Error::RoiTooSmall { label, reason: "the mask holds 1 voxel; features cannot be computed on a single voxel".into() });
    }
    if ndims < s.minimum_roi_dimensions {
        return Err(Error::RoiTooSmall { label, reason: format!("the mask has too few dimensions ({ndims}, minimumROIDimensions {})", s.minimum_roi_dimensions) });
    }
    if let Some(min) = s.minimum_roi_size
        && count <= min
    {
        return Err(Error::RoiTooSmall { label, reason: format!("{count} voxels, not more than minimumROISize {min}") });
    }
    Ok((bb, count))
}

/// SimpleITK's same-physical-space check (`LabelStatisticsImageFilter`): size equal, origin,
/// spacing and direction within the coordinate/direction tolerance.
fn check_geometry(a: &Grid, b: &Grid, tolerance: Option<f64>) -> Result<()> {
    if a.size() != b.size() {
        return Err(Error::GeometryMismatch { what: format!("size {:?} vs {:?}", a.size(), b.size()) });
    }
    // ITK: coordinate tolerance 1e-6 x the first spacing, direction tolerance 1e-6.
    let coord_tol = tolerance.unwrap_or(1e-6) * a.spacing_mm().x;
    let dir_tol = tolerance.unwrap_or(1e-6);
    if (a.origin_lps_mm() - b.origin_lps_mm()).abs().max() > coord_tol {
        return Err(Error::GeometryMismatch { what: format!("origin {:?} vs {:?} mm", a.origin_lps_mm().as_slice(), b.origin_lps_mm().as_slice()) });
    }
    if (a.spacing_mm() - b.spacing_mm()).abs().max() > coord_tol {
        return Err(Error::GeometryMismatch { what: format!("spacing {:?} vs {:?} mm", a.spacing_mm().as_slice(), b.spacing_mm().as_slice()) });
    }
    if (a.direction() - b.direction()).abs().max() > dir_tol {
        return Err(Error::GeometryMismatch { what: "direction".into() });
    }
    Ok(())
}

type Resampled = ([usize; 3], Vector3<f64>, Vec<f64>, Vec<bool>);

/// pyradiomics' `resampleImage`: the output grid around the ROI's bounding box plus `padDistance`,
/// image by the interpolator (cast back to integers when the image holds only integers, as
/// SimpleITK keeps the pixel type), mask by nearest neighbour. `None` when the spacing is already
/// the target.
fn resample(grid: &Grid, values: &[f64], lab: &[bool], target: [f64; 3], s: &Settings) -> Result<Option<Resampled>> {
    let size = grid.size();
    let sp = grid.spacing_mm();
    let (bb, _) = check_mask(lab, size, &Settings { minimum_roi_dimensions: 0, minimum_roi_size: None, ..s.clone() })?;
    let mut new_sp = Vector3::zeros();
    for a in 0..3 {
        let t = if target[a] == 0.0 { sp[a] } else { target[a] };
        // An axis the ROI spans with one voxel keeps its spacing.
        new_sp[a] = if bb[2 * a + 1] == bb[2 * a] { sp[a] } else { t };
    }
    if (0..3).all(|a| (sp[a] - new_sp[a]).abs() <= 1e-8 + 1e-5 * new_sp[a].abs()) {
        return Ok(None);
    }
    let coefficients = (s.interpolator == Interpolator::BSpline).then(|| bspline_coefficients(values, size));
    let pad = s.pad_distance as f64;
    let mut lo = [0.0; 3];
    let mut new_size = [0usize; 3];
    for a in 0..3 {
        let ratio = sp[a] / new_sp[a];
        let l = ((bb[2 * a] as f64 - 0.5) * ratio - pad).floor().max(0.0);
        let max_u = (size[a] as f64 * ratio).ceil() - 1.0;
        let u = ((bb[2 * a + 1] as f64 + 1.0 - 0.5) * ratio + pad).ceil().min(max_u);
        lo[a] = l / ratio;
        new_size[a] = (u - l + 1.0) as usize;
    }
    let origin_index = Vector3::from_fn(|a, _| 0.5 * (new_sp[a] - sp[a]) / sp[a] + lo[a]);
    let m: Matrix3<f64> = grid.direction() * Matrix3::from_diagonal(&sp);
    let new_origin = grid.origin_lps_mm() + m * origin_index;
    let out_m = grid.direction() * Matrix3::from_diagonal(&new_sp);
    let inv = m.try_inverse().ok_or_else(|| Error::GeometryMismatch { what: "singular grid".into() })?;
    let integer = values.iter().all(|v| v.fract() == 0.0);
    let n: usize = new_size.iter().product();
    let bytes = n as u64 * 9;
    if bytes > MAX_MATRIX_BYTES {
        return Err(Error::TooLarge { what: "the resampled image".into(), bytes, limit: MAX_MATRIX_BYTES });
    }
    let (mut v, mut lm) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let get = |x: usize, y: usize, z: usize| (z * size[1] + y) * size[0] + x;
    for k in 0..new_size[2] {
        for j in 0..new_size[1] {
            for i in 0..new_size[0] {
                let p = new_origin + out_m * Vector3::new(i as f64, j as f64, k as f64);
                let c = inv * (p - grid.origin_lps_mm());
                let inside = (0..3).all(|a| c[a] >= -0.5 && c[a] < size[a] as f64 - 0.5);
                let nn = || {
                    let r: Vec<usize> = (0..3).map(|a| ((c[a] + 0.5).floor().max(0.0) as usize).min(size[a] - 1)).collect();
                    get(r[0], r[1], r[2])
                };
                lm.push(inside && lab[nn()]);
                let val = if !inside {
                    0.0
                } else if s.interpolator == Interpolator::NearestNeighbor {
                    values[nn()]
                } else if let Some(coef) = &coefficients {
                    let v = bspline_value(coef, size, [c[0], c[1], c[2]]);
                    if integer { v.trunc() } else { v }
                } else {
                    // ITK's LinearInterpolateImageFunction: neighbours clamped to the buffer.
                    let f: Vec<(usize, usize, f64)> = (0..3)
                        .map(|a| {
                            let b = c[a].floor();
                            let t = c[a] - b;
                            let i0 = (b.max(0.0) as usize).min(size[a] - 1);
                            let i1 = ((b + 1.0).max(0.0) as usize).min(size[a] - 1);
                            (i0, i1, t)
                        })
                        .collect();
                    let mut acc = 0.0;
                    for dz in 0..2 {
                        for dy in 0..2 {
                            for dx in 0..2 {
                                let w = [(dx, 0), (dy, 1), (dz, 2)].iter().map(|&(d, a)| if d == 0 { 1.0 - f[a].2 } else { f[a].2 }).product::<f64>();
                                if w != 0.0 {
                                    let pick = |d: usize, a: usize| if d == 0 { f[a].0 } else { f[a].1 };
                                    acc += w * values[get(pick(dx, 0), pick(dy, 1), pick(dz, 2))];
                                }
                            }
                        }
                    }
                    if integer { acc.trunc() } else { acc }
                };
                v.push(val);
            }
        }
    }
    Ok(Some((new_size, new_sp, v, lm)))
}

/// pyradiomics' `binImage` on the ROI: bin edges from `binWidth` (`numpy.arange(min - min % w,
/// max + 2 w, w)`) or `binCount` (`numpy.histogram`'s edges, the last one + 1), levels by
/// `numpy.digitize`.
/// Most gray levels a discretisation may make: 2^20. An HU range a CT can hold makes at most a few
/// thousand at pyradiomics' default binWidth 25 (2^20 levels of 25 HU span 26 million HU). Beyond
/// it the texture classes' passes over the levels cost seconds on a ROI of eight voxels (found by
/// fuzz_float_image: 2^24 levels took 3-5 s of CPU per extraction).
const MAX_GRAY_LEVELS: usize = 1 << 20;

pub(crate) fn discretize(values: &[f64], roi: &[bool], s: &Settings) -> Result<Levels> {
    let inside: Vec<f64> = values.iter().zip(roi).filter(|(_, m)| **m).map(|(v, _)| *v).collect();
    let min = inside.iter().copied().fold(f64::INFINITY, f64::min);
    let max = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Checked before any edge is allocated: an image whose values span 1e38 (finite, but no CT's)
    // asked for 1e36 gray levels and aborted on the allocation (issue 45, found by fuzz_float_image).
    let too_many = |levels: f64| Error::TooLarge {
        what: format!("{levels:.3e} gray levels (the ROI's values span {min:.3e} to {max:.3e})"),
        bytes: (levels * 8.0).min(u64::MAX as f64) as u64,
        limit: (MAX_GRAY_LEVELS * 8) as u64,
    };
    let edges: Vec<f64> = match s.bin_count {
        Some(count) if count > MAX_GRAY_LEVELS => return Err(too_many(count as f64)),
        Some(count) => {
            let (lo, hi) = if min == max { (min - 0.5, max + 0.5) } else { (min, max) };
            let step = (hi - lo) / count as f64;
            let mut e: Vec<f64> = (0..=count).map(|i| i as f64 * step + lo).collect();
            e[count] = hi + 1.0;
            e
        }
        None => {
            let w = s.bin_width;
            let low = min - min.rem_euclid(w);
            let high = max + 2.0 * w;
            let levels = ((high - low) / w).ceil();
            if levels.is_nan() || levels > MAX_GRAY_LEVELS as f64 {
                return Err(too_many(levels));
            }
            let n = levels as usize;
            let mut e: Vec<f64> = (0..n).map(|i| low + i as f64 * w).collect();
            if e.len() == 1 {
                e = vec![e[0] - 0.5, e[0] + 0.5];
            }
            e
        }
    };
    let mut gl = vec![0u32; values.len()];
    let mut seen = vec![false; edges.len() + 1];
    for ((g, v), m) in gl.iter_mut().zip(values).zip(roi) {
        if *m {
            // numpy.digitize (increasing bins): i such that edges[i-1] <= v < edges[i].
            let i = edges.partition_point(|e| *e <= *v) as u32;
            *g = i;
            seen[i as usize] = true;
        }
    }
    let present: Vec<u32> = (0..seen.len() as u32).filter(|i| seen[*i as usize]).collect();
    let ng = *present.last().unwrap_or(&0);
    let mut index = vec![u32::MAX; ng as usize + 1];
    for (k, l) in present.iter().enumerate() {
        index[*l as usize] = k as u32;
    }
    Ok(Levels { gl, present, ng, index })
}

/// The pole of the cubic B-spline prefilter.
const Z: f64 = -0.267_949_192_431_122_7; // sqrt(3) - 2

/// ITK's `BSplineDecompositionImageFilter` (order 3, mirror boundaries, tolerance 1e-10): the
/// interpolating B-spline coefficients of `values` (`x` fastest) on a grid of `size` `[x, y, z]`.
fn bspline_coefficients(values: &[f64], size: [usize; 3]) -> Vec<f64> {
    let mut c = values.to_vec();
    let strides = [1, size[0], size[0] * size[1]];
    let mut line = Vec::new();
    for axis in 0..3 {
        let n = size[axis];
        if n == 1 {
            continue;
        }
        let (o1, o2) = ((axis + 1) % 3, (axis + 2) % 3);
        for a in 0..size[o1] {
            for b in 0..size[o2] {
                let base = a * strides[o1] + b * strides[o2];
                line.clear();
                line.extend((0..n).map(|k| c[base + k * strides[axis]]));
                filter_line(&mut line);
                for (k, v) in line.iter().enumerate() {
                    c[base + k * strides[axis]] = *v;
                }
            }
        }
    }
    c
}

/// The recursive cubic B-spline prefilter of one line, as ITK computes it.
fn filter_line(s: &mut [f64]) {
    let n = s.len();
    let gain = (1.0 - Z) * (1.0 - 1.0 / Z);
    s.iter_mut().for_each(|v| *v *= gain);
    // initial causal coefficient (mirror boundaries)
    let horizon = (1e-10f64.ln() / Z.abs().ln()).ceil() as usize;
    if horizon < n {
        let (mut zn, mut sum) = (Z, s[0]);
        for v in s.iter().take(horizon).skip(1) {
            sum += zn * v;
            zn *= Z;
        }
        s[0] = sum;
    } else {
        let iz = 1.0 / Z;
        let mut zn = Z;
        let mut z2n = Z.powi(n as i32 - 1);
        let mut sum = s[0] + z2n * s[n - 1];
        z2n = z2n * z2n * iz;
        for v in s.iter().take(n - 1).skip(1) {
            sum += (zn + z2n) * v;
            zn *= Z;
            z2n *= iz;
        }
        s[0] = sum / (1.0 - zn * zn);
    }
    for k in 1..n {
        s[k] += Z * s[k - 1];
    }
    s[n - 1] = (Z / (Z * Z - 1.0)) * (Z * s[n - 2] + s[n - 1]);
    for k in (0..n - 1).rev() {
        s[k] = Z * (s[k + 1] - s[k]);
    }
}

/// ITK's `BSplineInterpolateImageFunction` (order 3) at continuous index `x` (`[x, y, z]`).
fn bspline_value(coef: &[f64], size: [usize; 3], x: [f64; 3]) -> f64 {
    let mut idx = [[0usize; 4]; 3];
    let mut w = [[0.0; 4]; 3];
    for a in 0..3 {
        let start = x[a].floor() as i64 - 1;
        let t = x[a] - (start + 1) as f64;
        let w3 = t * t * t / 6.0;
        let w0 = 1.0 / 6.0 + 0.5 * t * (t - 1.0) - w3;
        let w2 = t + w0 - 2.0 * w3;
        w[a] = [w0, 1.0 - w0 - w2 - w3, w2, w3];
        let len = size[a] as i64;
        let period = 2 * (len - 1);
        for (k, slot) in idx[a].iter_mut().enumerate() {
            let mut i = start + k as i64;
            if len == 1 {
                i = 0;
            } else {
                i = if i < 0 { -i - period * ((-i) / period) } else { i - period * (i / period) };
                if len <= i {
                    i = period - i;
                }
            }
            *slot = i as usize;
        }
    }
    let mut v = 0.0;
    for (kz, wz) in w[2].iter().enumerate() {
        for (ky, wy) in w[1].iter().enumerate() {
            let row = (idx[2][kz] * size[1] + idx[1][ky]) * size[0];
            let mut acc = 0.0;
            for (kx, wx) in w[0].iter().enumerate() {
                acc += wx * coef[row + idx[0][kx]];
            }
            v += wz * wy * acc;
        }
    }
    v
}

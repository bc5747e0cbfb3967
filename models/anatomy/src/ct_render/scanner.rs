//! What the scanner adds: a metal stem with streaks, the point spread function (separable
//! Gaussian), white Gaussian noise, and HU stored as i16 in the 12-bit range.

use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use rayon::prelude::*;

use coxa_core::Grid;

use crate::landmarks::FemurLandmarks;

/// HU of metal: the top of the 12-bit CT scale, where titanium and cobalt-chromium implants
/// clip on standard reconstructions (Barrett & Keat, RadioGraphics 24:1679, 2004).
pub(super) const METAL_HU: f32 = 3071.0;
/// The stored range of a 12-bit CT, HU.
pub(super) const HU_RANGE: (f32, f32) = (-1024.0, 3071.0);
/// Streaks per slice, their width (mm) and decay length (mm), and their amplitude range (HU):
/// bright and dark streaks radiating from metal, several hundred HU (Barrett & Keat 2004; Boas &
/// Fleischmann, Imaging Med 4:229, 2012). A simple stand-in for the physics (beam hardening,
/// photon starvation), not a simulation of it.
const STREAKS: usize = 6;
const STREAK_WIDTH_MM: f64 = 1.0;
const STREAK_DECAY_MM: f64 = 60.0;
const STREAK_HU: (f64, f64) = (200.0, 500.0);

/// Puts a stem-like metal solid into the femur `f` (down its neck from near the head centre to
/// the shaft axis at the lesser trochanter, then 110 mm down the shaft, radius 7 tapering to 4 mm)
/// and streaks around it in every slice it crosses. Returns the metal voxels.
pub(super) fn metal_stem(grid: &Grid, hu: &mut Array3<f32>, f: &FemurLandmarks, seed: u64) -> usize {
    let c = f.head_centre.lps_mm;
    let mut axis = f.shaft_axis.direction_lps.normalize();
    if axis.z > 0.0 {
        axis = -axis;
    }
    let on_axis = |q: &Point3<f64>| f.shaft_axis.point_lps_mm + axis * (q - f.shaft_axis.point_lps_mm).dot(&axis);
    let knee = on_axis(&f.lesser_trochanter.lps_mm);
    let start = c + (knee - c).normalize() * (0.5 * f.head_radius_mm);
    let tip = knee + axis * 110.0;
    let path = [(start, 7.0), (knee, 6.5), (tip, 4.0)];
    let (nk, nj, ni) = hu.dim();
    let lo = grid.lps_to_voxel(&Point3::from(path.iter().map(|p| p.0.coords).fold(Vector3::repeat(f64::INFINITY), |a, b| a.inf(&b)) - Vector3::repeat(8.0)));
    let hi = grid.lps_to_voxel(&Point3::from(path.iter().map(|p| p.0.coords).fold(Vector3::repeat(f64::NEG_INFINITY), |a, b| a.sup(&b)) + Vector3::repeat(8.0)));
    let range = |a: usize, n: usize| (lo[a].min(hi[a]).floor().max(0.0) as usize)..((lo[a].max(hi[a]).ceil().max(0.0) as usize + 1).min(n));
    let mut n = 0;
    let mut per_slice: Vec<(usize, f64, f64, usize)> = Vec::new();
    for k in range(2, nk) {
        let (mut sx, mut sy, mut m) = (0.0, 0.0, 0usize);
        for j in range(1, nj) {
            for i in range(0, ni) {
                let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                if path.windows(2).any(|w| {
                    let (a, b) = (w[0].0, w[1].0);
                    let ab = b - a;
                    let t = ((p - a).dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0);
                    (p - (a + ab * t)).norm() <= w[0].1 + t * (w[1].1 - w[0].1)
                }) {
                    hu[[k, j, i]] = METAL_HU;
                    sx += p.x;
                    sy += p.y;
                    m += 1;
                }
            }
        }
        if m > 0 {
            per_slice.push((k, sx / m as f64, sy / m as f64, m));
            n += m;
        }
    }
    // Streaks: per slice, STREAKS lines through the metal's centroid at seeded angles.
    for &(k, cx, cy, _) in &per_slice {
        let mut rng = Rng::new(seed ^ 0x5EED_0000_0000 ^ k as u64);
        let lines: Vec<(f64, f64, f64)> = (0..STREAKS)
            .map(|_| {
                let th = std::f64::consts::PI * rng.uniform();
                let a = (STREAK_HU.0 + (STREAK_HU.1 - STREAK_HU.0) * rng.uniform()) * if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
                (th.cos(), th.sin(), a)
            })
            .collect();
        let mut slice = hu.index_axis_mut(ndarray::Axis(0), k);
        for ((j, i), h) in slice.indexed_iter_mut() {
            if *h >= METAL_HU {
                continue;
            }
            let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
            let (dx, dy) = (p.x - cx, p.y - cy);
            let rho = (dx * dx + dy * dy).sqrt();
            let add: f64 = lines.iter().map(|&(ux, uy, a)| a * (-(dx * uy - dy * ux).powi(2) / (2.0 * STREAK_WIDTH_MM * STREAK_WIDTH_MM)).exp()).sum::<f64>() * (-rho / STREAK_DECAY_MM).exp();
            *h += add as f32;
        }
    }
    n
}

/// Blurs `hu` (`[k, j, i]`, contiguous) with a separable Gaussian of full width at half maximum
/// `fwhm_mm` (x, y, z) on voxels of `spacing_mm`; edges replicate. A zero FWHM leaves that axis.
pub(super) fn gaussian_blur(hu: &mut Array3<f32>, spacing_mm: [f64; 3], fwhm_mm: [f64; 3]) {
    let (nk, nj, ni) = hu.dim();
    let Some(data) = hu.as_slice_mut() else { return };
    let plane = nj * ni;
    let kernels: Vec<Vec<f32>> = (0..3).map(|a| kernel(fwhm_mm[a] / (8.0 * 2f64.ln()).sqrt() / spacing_mm[a])).collect();
    // x: along each row.
    if kernels[0].len() > 1 {
        let w = &kernels[0];
        data.par_chunks_mut(ni).for_each(|row| {
            let src = row.to_vec();
            convolve(&src, row, 1, ni, w);
        });
    }
    // y: within each slice, column by column.
    if kernels[1].len() > 1 {
        let w = &kernels[1];
        data.par_chunks_mut(plane).for_each(|slice| {
            let src = slice.to_vec();
            for i in 0..ni {
                convolve_strided(&src, slice, i, ni, nj, w);
            }
        });
    }
    // z: slice by slice, from the originals of the slices below (kept) and above (not yet written).
    if kernels[2].len() > 1 && nk > 1 {
        let w = &kernels[2];
        let r = w.len() / 2;
        let mut kept: std::collections::VecDeque<Vec<f32>> = std::collections::VecDeque::new();
        for k in 0..nk {
            let cur = data[k * plane..(k + 1) * plane].to_vec();
            let out: Vec<f32> = {
                let d: &[f32] = data;
                let kept = &kept;
                let cur = &cur;
                (0..plane)
                    .into_par_iter()
                    .map(|v| {
                        let mut s = 0.0f32;
                        for (t, wt) in w.iter().enumerate() {
                            let kk = (k + t).saturating_sub(r).min(nk - 1);
                            let x = match kk.cmp(&k) {
                                std::cmp::Ordering::Less => kept[kept.len() - (k - kk)][v],
                                std::cmp::Ordering::Equal => cur[v],
                                std::cmp::Ordering::Greater => d[kk * plane + v],
                            };
                            s += wt * x;
                        }
                        s
                    })
                    .collect()
            };
            data[k * plane..(k + 1) * plane].copy_from_slice(&out);
            kept.push_back(cur);
            if kept.len() > r {
                kept.pop_front();
            }
        }
    }
}

/// A normalised Gaussian kernel of `sigma` voxels, radius ceil(4 sigma); `[1]` for sigma 0.
fn kernel(sigma: f64) -> Vec<f32> {
    if sigma < 1e-6 {
        return vec![1.0];
    }
    let r = (4.0 * sigma).ceil() as i64;
    let w: Vec<f64> = (-r..=r).map(|t| (-(t * t) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let s: f64 = w.iter().sum();
    w.iter().map(|x| (x / s) as f32).collect()
}

/// `out[n] = sum_t w[t] src[clamp(n + t - r)]` along a line of `len` values, `stride` apart from `start`.
fn convolve(src: &[f32], out: &mut [f32], stride: usize, len: usize, w: &[f32]) {
    let r = w.len() / 2;
    for n in 0..len {
        let mut s = 0.0f32;
        for (t, wt) in w.iter().enumerate() {
            let m = (n + t).saturating_sub(r).min(len - 1);
            s += wt * src[m * stride];
        }
        out[n * stride] = s;
    }
}

/// [`convolve`] on the column `start, start + stride, ...` of a slice.
fn convolve_strided(src: &[f32], out: &mut [f32], start: usize, stride: usize, len: usize, w: &[f32]) {
    convolve(&src[start..], &mut out[start..], stride, len, w);
}

/// Adds white Gaussian noise of SD `sd_hu` (seeded, slice by slice) and stores HU as i16, rounded
/// and clamped to the 12-bit range.
pub(super) fn noise_to_i16(hu: Array3<f32>, sd_hu: f64, seed: u64) -> Array3<i16> {
    let (nk, nj, ni) = hu.dim();
    let mut out = Array3::<i16>::zeros((nk, nj, ni));
    let plane = nj * ni;
    let src = hu.as_standard_layout();
    let src = src.as_slice().unwrap_or_default();
    if let Some(o) = out.as_slice_mut() {
        o.par_chunks_mut(plane).enumerate().for_each(|(k, slice)| {
            let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
            for (v, x) in slice.iter_mut().enumerate() {
                let h = src[k * plane + v] + (sd_hu * rng.gauss()) as f32;
                *x = h.round().clamp(HU_RANGE.0, HU_RANGE.1) as i16;
            }
        });
    }
    out
}

/// A small seeded generator: splitmix64, uniform in (0, 1), standard normal by Box-Muller.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub(super) fn gauss(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

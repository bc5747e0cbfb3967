//! Gray level co-occurrence matrix (pyradiomics `RadiomicsGLCM`): one matrix per direction of
//! distance 1 (13 in 3D), symmetrical by default, features per direction then averaged over the
//! directions whose matrix is not empty. Levels absent from the ROI are left out of the matrix,
//! and `i`, `j` are the levels' values.

use nalgebra::DMatrix;
use rayon::prelude::*;

use super::{EPS, PaddedLevels, directions13, mean};
use crate::roi::{Levels, Prepared};
use crate::settings::Settings;

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &[
    "Autocorrelation",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "Id",
    "Idm",
    "Idmn",
    "Idn",
    "Imc1",
    "Imc2",
    "InverseVariance",
    "JointAverage",
    "JointEnergy",
    "JointEntropy",
    "MCC",
    "MaximumProbability",
    "SumAverage",
    "SumEntropy",
    "SumSquares",
];

/// Counts of one direction, `n x n` over the present levels (row = centre voxel).
fn matrix(pl: &PaddedLevels, lv: &Levels, d: [isize; 3]) -> Vec<f64> {
    let n = lv.present.len();
    let mut m = vec![0.0; n * n];
    let off = pl.offset(d);
    for &i in &pl.roi {
        let gj = pl.level[i.wrapping_add_signed(off)];
        if gj != 0 {
            let a = lv.index[pl.level[i] as usize] as usize;
            let b = lv.index[gj as usize] as usize;
            m[a * n + b] += 1.0;
        }
    }
    m
}

/// The GLCM features.
pub fn compute(p: &Prepared, lv: &Levels, s: &Settings) -> Vec<(&'static str, f64)> {
    let n = lv.present.len();
    let pl = PaddedLevels::new(p, lv);
    let per_dir: Vec<[f64; 24]> = directions13()
        .into_par_iter()
        .filter_map(|d| {
            let mut m = matrix(&pl, lv, d);
            if s.symmetrical_glcm {
                for a in 0..n {
                    for b in a..n {
                        let v = m[a * n + b] + m[b * n + a];
                        m[a * n + b] = v;
                        m[b * n + a] = v;
                    }
                }
            }
            let sum: f64 = m.iter().sum();
            if sum == 0.0 {
                return None;
            }
            m.iter_mut().for_each(|v| *v /= sum);
            Some(features(&m, n, lv))
        })
        .collect();
    (0..24).map(|k| (NAMES[k], mean(&per_dir.iter().map(|f| f[k]).collect::<Vec<_>>()))).collect()
}

fn features(pm: &[f64], n: usize, lv: &Levels) -> [f64; 24] {
    let g: Vec<f64> = lv.present.iter().map(|v| f64::from(*v)).collect();
    let ng = lv.ng as usize;
    let (mut px, mut py) = (vec![0.0; n], vec![0.0; n]);
    let (mut ux, mut uy) = (0.0, 0.0);
    let mut sum_k = vec![0.0; 2 * ng + 1];
    let mut diff_k = vec![0.0; ng];
    let (mut hxy, mut auto, mut contrast, mut energy, mut maxp) = (0.0, 0.0, 0.0, 0.0, 0.0f64);
    for a in 0..n {
        for b in 0..n {
            let v = pm[a * n + b];
            px[a] += v;
            py[b] += v;
            ux += g[a] * v;
            uy += g[b] * v;
            sum_k[lv.present[a] as usize + lv.present[b] as usize] += v;
            diff_k[lv.present[a].abs_diff(lv.present[b]) as usize] += v;
            hxy -= v * (v + EPS).log2();
            auto += v * g[a] * g[b];
            contrast += v * (g[a] - g[b]).powi(2);
            energy += v * v;
            maxp = maxp.max(v);
        }
    }
    let (mut cp, mut cs, mut ct, mut sigx2, mut sigy2, mut corm, mut ss, mut hxy1, mut hxy2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for a in 0..n {
        for b in 0..n {
            let v = pm[a * n + b];
            let t = g[a] + g[b] - ux - uy;
            cp += v * t.powi(4);
            cs += v * t.powi(3);
            ct += v * t * t;
            sigx2 += v * (g[a] - ux).powi(2);
            sigy2 += v * (g[b] - uy).powi(2);
            corm += v * (g[a] - ux) * (g[b] - uy);
            ss += v * (g[a] - ux).powi(2);
            let pp = px[a] * py[b];
            hxy1 -= v * (pp + EPS).log2();
            hxy2 -= pp * (pp + EPS).log2();
        }
    }
    let sig = sigx2.sqrt() * sigy2.sqrt();
    let corr = if sig == 0.0 { 1.0 } else { corm / (sig + EPS) };
    let ent = |q: &[f64]| -q.iter().map(|v| v * (v + EPS).log2()).sum::<f64>();
    let (hx, hy) = (ent(&px), ent(&py));
    let div = hx.max(hy);
    let imc1 = if div != 0.0 { (hxy - hxy1) / div } else { 0.0 };
    let imc2 = if hxy2 == hxy { 0.0 } else { (1.0 - (-2.0 * (hxy2 - hxy)).exp()).sqrt() };
    let kd = |k: usize| k as f64;
    let diff_avg: f64 = diff_k.iter().enumerate().map(|(k, v)| kd(k) * v).sum();
    let diff_var: f64 = diff_k.iter().enumerate().map(|(k, v)| v * (kd(k) - diff_avg).powi(2)).sum();
    let ngf = ng as f64;
    let id: f64 = diff_k.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k))).sum();
    let idm: f64 = diff_k.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k).powi(2))).sum();
    let idmn: f64 = diff_k.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k).powi(2) / (ngf * ngf))).sum();
    let idn: f64 = diff_k.iter().enumerate().map(|(k, v)| v / (1.0 + kd(k) / ngf)).sum();
    let inv_var: f64 = diff_k.iter().enumerate().skip(1).map(|(k, v)| v / kd(k).powi(2)).sum();
    let sum_avg: f64 = sum_k.iter().enumerate().skip(2).map(|(k, v)| kd(k) * v).sum();
    let sum_ent = ent(&sum_k[2..]);
    let mcc = mcc(pm, n, &px, &py);
    [auto, cp, cs, ct, contrast, corr, diff_avg, ent(&diff_k), diff_var, id, idm, idmn, idn, imc1, imc2, inv_var, ux, energy, hxy, mcc, maxp, sum_avg, sum_ent, ss]
}

/// Maximal correlation coefficient: the square root of the second largest eigenvalue of
/// `Q(i, j) = sum_k p(i, k) p(j, k) / (px(i) py(k) + eps)`, 1 with fewer than two levels.
///
/// `Q` is similar to the symmetric `S = A A^T` with `A(i, k) = p(i, k) / sqrt(px(i) py(k))` over
/// the levels with `px`, `py` > 0 (a row with `px(i) = 0` is zero in `Q`: an eigenvalue 0), so
/// its eigenvalues are real and non-negative and come from a symmetric solver, several times
/// faster than pyradiomics' general `eigvals` (the `eps` term changes them by ~1e-16 / (px py)).
fn mcc(pm: &[f64], n: usize, px: &[f64], py: &[f64]) -> f64 {
    if n < 2 {
        return 1.0;
    }
    let rows: Vec<usize> = (0..n).filter(|i| px[*i] > 0.0).collect();
    let cols: Vec<usize> = (0..n).filter(|k| py[*k] > 0.0).collect();
    let a = DMatrix::from_fn(rows.len(), cols.len(), |i, k| pm[rows[i] * n + cols[k]] / (px[rows[i]] * py[cols[k]]).sqrt());
    let s = &a * a.transpose();
    let mut ev: Vec<f64> = s.symmetric_eigenvalues().iter().copied().collect();
    ev.resize(n, 0.0);
    ev.sort_by(f64::total_cmp);
    // numpy.sqrt of the (complex) eigenvalue, real part: 0 for a rounding-negative one.
    ev[n - 2].max(0.0).sqrt()
}

//! First-order statistics (pyradiomics `RadiomicsFirstOrder`): on the ROI's intensities, the
//! histogram ones (Entropy, Uniformity) on the discretised levels.

use crate::roi::{Levels, Prepared};
use crate::settings::Settings;

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &[
    "10Percentile",
    "90Percentile",
    "Energy",
    "Entropy",
    "InterquartileRange",
    "Kurtosis",
    "Maximum",
    "MeanAbsoluteDeviation",
    "Mean",
    "Median",
    "Minimum",
    "Range",
    "RobustMeanAbsoluteDeviation",
    "RootMeanSquared",
    "Skewness",
    "TotalEnergy",
    "Uniformity",
    "Variance",
];

/// numpy's `percentile` (0..=100) with linear interpolation on sorted values, bit for bit
/// (numpy's `_lerp` turns round at t = 0.5); also the cohort tables' percentiles.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let idx = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = idx.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = idx - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's _lerp: a + (b - a) t, from the other end when t >= 0.5
    if t >= 0.5 { b - (b - a) * (1.0 - t) } else { a + (b - a) * t }
}

/// The first-order features.
pub fn compute(p: &Prepared, levels: &Levels, s: &Settings) -> Vec<(&'static str, f64)> {
    let mut x: Vec<f64> = p.values.iter().zip(&p.roi_mask).filter(|(_, m)| **m).map(|(v, _)| *v).collect();
    let n = x.len() as f64;
    let shift = s.voxel_array_shift;
    let energy: f64 = x.iter().map(|v| (v + shift) * (v + shift)).sum();
    let voxel_mm3: f64 = p.spacing_zyx_mm.iter().product();
    let mean = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let m3 = x.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / n;
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    let mad = x.iter().map(|v| (v - mean).abs()).sum::<f64>() / n;
    x.sort_by(f64::total_cmp);
    let (min, max) = (x[0], x[x.len() - 1]);
    let p10 = percentile(&x, 10.0);
    let p90 = percentile(&x, 90.0);
    let iqr = percentile(&x, 75.0) - percentile(&x, 25.0);
    let median = percentile(&x, 50.0);
    let robust: Vec<f64> = x.iter().copied().filter(|v| *v >= p10 && *v <= p90).collect();
    let rmean = robust.iter().sum::<f64>() / robust.len() as f64;
    let rmad = robust.iter().map(|v| (v - rmean).abs()).sum::<f64>() / robust.len() as f64;
    let mut counts = vec![0usize; levels.present.len()];
    for (g, m) in levels.gl.iter().zip(&p.roi_mask) {
        if *m {
            counts[levels.index[*g as usize] as usize] += 1;
        }
    }
    let probs: Vec<f64> = counts.iter().map(|c| *c as f64 / n).collect();
    let entropy = -probs.iter().map(|q| q * (q + super::EPS).log2()).sum::<f64>();
    let uniformity = probs.iter().map(|q| q * q).sum::<f64>();
    let (skew, kurt) = if m2 == 0.0 { (0.0, 0.0) } else { (m3 / m2.powf(1.5), m4 / (m2 * m2)) };
    let var = m2.sqrt().powi(2);
    vec![
        ("10Percentile", p10),
        ("90Percentile", p90),
        ("Energy", energy),
        ("Entropy", entropy),
        ("InterquartileRange", iqr),
        ("Kurtosis", kurt),
        ("Maximum", max),
        ("MeanAbsoluteDeviation", mad),
        ("Mean", mean),
        ("Median", median),
        ("Minimum", min),
        ("Range", max - min),
        ("RobustMeanAbsoluteDeviation", rmad),
        ("RootMeanSquared", (energy / n).sqrt()),
        ("Skewness", skew),
        ("TotalEnergy", energy * voxel_mm3),
        ("Uniformity", uniformity),
        ("Variance", var),
    ]
}

//! Neighbouring gray tone difference matrix (pyradiomics `RadiomicsNGTDM`): for each ROI voxel,
//! the absolute difference between its level and the mean level of its ROI neighbours (26, 0 when
//! it has none), summed per level.

use super::{PaddedLevels, neighbours26};
use crate::roi::{Levels, Prepared};

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &["Busyness", "Coarseness", "Complexity", "Contrast", "Strength"];

/// The NGTDM features.
pub fn compute(p: &Prepared, lv: &Levels) -> Vec<(&'static str, f64)> {
    let n = lv.present.len();
    let pl = PaddedLevels::new(p, lv);
    let offsets: Vec<isize> = neighbours26().into_iter().map(|d| pl.offset(d)).collect();
    let (mut cnt, mut s) = (vec![0.0; n], vec![0.0; n]);
    for &i in &pl.roi {
        let (mut c, mut sum) = (0.0, 0.0);
        for &o in &offsets {
            let gj = pl.level[i.wrapping_add_signed(o)];
            if gj != 0 {
                c += 1.0;
                sum += f64::from(gj);
            }
        }
        let gi = pl.level[i];
        let diff = if c == 0.0 { 0.0 } else { (f64::from(gi) - sum / c).abs() };
        let a = lv.index[gi as usize] as usize;
        cnt[a] += 1.0;
        s[a] += diff;
    }
    let nvp: f64 = cnt.iter().sum();
    let pi: Vec<f64> = cnt.iter().map(|c| c / nvp).collect();
    let g: Vec<f64> = lv.present.iter().map(|v| f64::from(*v)).collect();
    let ngp = pi.iter().filter(|v| **v > 0.0).count() as f64;
    let sum_s: f64 = s.iter().sum();
    let pisi: f64 = pi.iter().zip(&s).map(|(a, b)| a * b).sum();
    let coarseness = if pisi != 0.0 { 1.0 / pisi } else { 1e6 };
    let (mut con, mut absdiff, mut complexity, mut strength) = (0.0, 0.0, 0.0, 0.0);
    for a in 0..n {
        for b in 0..n {
            let d = g[a] - g[b];
            con += pi[a] * pi[b] * d * d;
            absdiff += (g[a] * pi[a] - g[b] * pi[b]).abs();
            let div = pi[a] + pi[b];
            complexity += d.abs() * (pi[a] * s[a] + pi[b] * s[b]) / if div == 0.0 { 1.0 } else { div };
            strength += (pi[a] + pi[b]) * d * d;
        }
    }
    let div = ngp * (ngp - 1.0);
    let contrast = if div != 0.0 { con * sum_s / nvp / div } else { 0.0 };
    let busyness = if absdiff != 0.0 { pisi / absdiff } else { 0.0 };
    let strength = if sum_s != 0.0 { strength / sum_s } else { 0.0 };
    vec![("Busyness", busyness), ("Coarseness", coarseness), ("Complexity", complexity / nvp), ("Contrast", contrast), ("Strength", strength)]
}

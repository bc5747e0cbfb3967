//! Gray level dependence matrix (pyradiomics `RadiomicsGLDM`): for each ROI voxel, how many of
//! its 26 neighbours in the ROI differ by at most `gldm_a` levels; the dependence is that count
//! plus one.

use super::{EPS, PaddedLevels, neighbours26, weighted_variance};
use crate::roi::{Levels, Prepared};
use crate::settings::Settings;

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &[
    "DependenceEntropy",
    "DependenceNonUniformity",
    "DependenceNonUniformityNormalized",
    "DependenceVariance",
    "GrayLevelNonUniformity",
    "GrayLevelVariance",
    "HighGrayLevelEmphasis",
    "LargeDependenceEmphasis",
    "LargeDependenceHighGrayLevelEmphasis",
    "LargeDependenceLowGrayLevelEmphasis",
    "LowGrayLevelEmphasis",
    "SmallDependenceEmphasis",
    "SmallDependenceHighGrayLevelEmphasis",
    "SmallDependenceLowGrayLevelEmphasis",
];

/// The GLDM features.
pub fn compute(p: &Prepared, lv: &Levels, s: &Settings) -> Vec<(&'static str, f64)> {
    let n = lv.present.len();
    let pl = PaddedLevels::new(p, lv);
    let offsets: Vec<isize> = neighbours26().into_iter().map(|d| pl.offset(d)).collect();
    let nd = offsets.len() + 1;
    let mut m = vec![0.0; n * nd];
    // pyradiomics compares integer level differences with an integer alpha
    let alpha = s.gldm_a.trunc() as i64;
    for &i in &pl.roi {
        let gi = i64::from(pl.level[i]);
        let dep = offsets
            .iter()
            .filter(|&&o| {
                let gj = pl.level[i.wrapping_add_signed(o)];
                gj != 0 && (gi - i64::from(gj)).abs() <= alpha
            })
            .count();
        m[lv.index[gi as usize] as usize * nd + dep] += 1.0;
    }
    let g: Vec<f64> = lv.present.iter().map(|v| f64::from(*v)).collect();
    let mut pd = vec![0.0; nd];
    let mut pg = vec![0.0; n];
    for a in 0..n {
        for k in 0..nd {
            pd[k] += m[a * nd + k];
            pg[a] += m[a * nd + k];
        }
    }
    let nz = pd.iter().sum::<f64>().max(1.0);
    let j = |k: usize| (k + 1) as f64;
    let dn = pd.iter().map(|v| v * v).sum::<f64>();
    let gln = pg.iter().map(|v| v * v).sum::<f64>();
    let glv = weighted_variance(&pg.iter().zip(&g).map(|(v, gi)| (*v, *gi)).collect::<Vec<_>>(), nz);
    let dv = weighted_variance(&pd.iter().enumerate().map(|(k, v)| (*v, j(k))).collect::<Vec<_>>(), nz);
    let (mut de, mut ldhg, mut ldlg, mut sdhg, mut sdlg) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for a in 0..n {
        for k in 0..nd {
            let v = m[a * nd + k];
            if v == 0.0 {
                continue;
            }
            let q = v / nz;
            de -= q * (q + EPS).log2();
            let (gi2, j2) = (g[a] * g[a], j(k) * j(k));
            ldhg += v * j2 * gi2;
            ldlg += v * j2 / gi2;
            sdhg += v * gi2 / j2;
            sdlg += v / (gi2 * j2);
        }
    }
    vec![
        ("DependenceEntropy", de),
        ("DependenceNonUniformity", dn / nz),
        ("DependenceNonUniformityNormalized", dn / (nz * nz)),
        ("DependenceVariance", dv),
        ("GrayLevelNonUniformity", gln / nz),
        ("GrayLevelVariance", glv),
        ("HighGrayLevelEmphasis", pg.iter().zip(&g).map(|(v, gi)| v * gi * gi).sum::<f64>() / nz),
        ("LargeDependenceEmphasis", pd.iter().enumerate().map(|(k, v)| v * j(k) * j(k)).sum::<f64>() / nz),
        ("LargeDependenceHighGrayLevelEmphasis", ldhg / nz),
        ("LargeDependenceLowGrayLevelEmphasis", ldlg / nz),
        ("LowGrayLevelEmphasis", pg.iter().zip(&g).map(|(v, gi)| v / (gi * gi)).sum::<f64>() / nz),
        ("SmallDependenceEmphasis", pd.iter().enumerate().map(|(k, v)| v / (j(k) * j(k))).sum::<f64>() / nz),
        ("SmallDependenceHighGrayLevelEmphasis", sdhg / nz),
        ("SmallDependenceLowGrayLevelEmphasis", sdlg / nz),
    ]
}

//! Gray level size zone matrix (pyradiomics `RadiomicsGLSZM`): zones of 26-connected ROI voxels
//! of equal level, counted by level and size.

use super::{EPS, PaddedLevels, neighbours26, weighted_variance};
use crate::roi::{Levels, Prepared};

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &[
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "GrayLevelVariance",
    "HighGrayLevelZoneEmphasis",
    "LargeAreaEmphasis",
    "LargeAreaHighGrayLevelEmphasis",
    "LargeAreaLowGrayLevelEmphasis",
    "LowGrayLevelZoneEmphasis",
    "SizeZoneNonUniformity",
    "SizeZoneNonUniformityNormalized",
    "SmallAreaEmphasis",
    "SmallAreaHighGrayLevelEmphasis",
    "SmallAreaLowGrayLevelEmphasis",
    "ZoneEntropy",
    "ZonePercentage",
    "ZoneVariance",
];

/// The zones as `(level index, size)`, in the order of their first voxel. Flooded on the padded
/// levels ([`PaddedLevels`]: the 26 neighbours are fixed offsets), each voxel's level cleared
/// when it joins its zone.
pub(crate) fn zones(p: &Prepared, lv: &Levels) -> Vec<(usize, usize)> {
    let pl = PaddedLevels::new(p, lv);
    let offsets: Vec<isize> = neighbours26().into_iter().map(|d| pl.offset(d)).collect();
    let PaddedLevels { mut level, roi, .. } = pl;
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in roi {
        let g = level[start];
        if g == 0 {
            continue;
        }
        // A voxel joins its zone once: its level is cleared when it is pushed.
        level[start] = 0;
        stack.push(start);
        let mut size = 0usize;
        while let Some(k) = stack.pop() {
            size += 1;
            for &o in &offsets {
                let j = k.wrapping_add_signed(o);
                if level[j] == g {
                    level[j] = 0;
                    stack.push(j);
                }
            }
        }
        out.push((lv.index[g as usize] as usize, size));
    }
    out
}

/// The GLSZM features.
pub fn compute(p: &Prepared, lv: &Levels) -> Vec<(&'static str, f64)> {
    let mut zs = zones(p, lv);
    zs.sort_unstable();
    let n = lv.present.len();
    let g: Vec<f64> = lv.present.iter().map(|v| f64::from(*v)).collect();
    // (level, size) -> count, in sorted order so that sums are deterministic
    let mut cells: Vec<((usize, usize), f64)> = Vec::new();
    for z in &zs {
        match cells.last_mut() {
            Some((k, c)) if k == z => *c += 1.0,
            _ => cells.push((*z, 1.0)),
        }
    }
    let mut pg = vec![0.0; n];
    let max_size = zs.iter().map(|z| z.1).max().unwrap_or(0);
    let mut dense = vec![0.0; max_size + 1];
    for &((a, s), c) in &cells {
        pg[a] += c;
        dense[s] += c;
    }
    let ps: Vec<(usize, f64)> = dense.into_iter().enumerate().filter(|(_, v)| *v > 0.0).collect();
    let nz = (zs.len() as f64).max(1.0);
    let np = ps.iter().map(|(s, v)| *s as f64 * v).sum::<f64>().max(1.0);
    let gln = pg.iter().map(|v| v * v).sum::<f64>();
    let szn = ps.iter().map(|(_, v)| v * v).sum::<f64>();
    let glv = weighted_variance(&pg.iter().zip(&g).map(|(v, gi)| (*v, *gi)).collect::<Vec<_>>(), nz);
    let zv = weighted_variance(&ps.iter().map(|(s, v)| (*v, *s as f64)).collect::<Vec<_>>(), nz);
    let (mut ze, mut lahg, mut lalg, mut sahg, mut salg) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &((a, s), v) in &cells {
        let q = v / nz;
        ze -= q * (q + EPS).log2();
        let (gi2, j2) = (g[a] * g[a], (s * s) as f64);
        lahg += v * gi2 * j2;
        lalg += v * j2 / gi2;
        sahg += v * gi2 / j2;
        salg += v / (gi2 * j2);
    }
    vec![
        ("GrayLevelNonUniformity", gln / nz),
        ("GrayLevelNonUniformityNormalized", gln / (nz * nz)),
        ("GrayLevelVariance", glv),
        ("HighGrayLevelZoneEmphasis", pg.iter().zip(&g).map(|(v, gi)| v * gi * gi).sum::<f64>() / nz),
        ("LargeAreaEmphasis", ps.iter().map(|(s, v)| v * (*s as f64).powi(2)).sum::<f64>() / nz),
        ("LargeAreaHighGrayLevelEmphasis", lahg / nz),
        ("LargeAreaLowGrayLevelEmphasis", lalg / nz),
        ("LowGrayLevelZoneEmphasis", pg.iter().zip(&g).map(|(v, gi)| v / (gi * gi)).sum::<f64>() / nz),
        ("SizeZoneNonUniformity", szn / nz),
        ("SizeZoneNonUniformityNormalized", szn / (nz * nz)),
        ("SmallAreaEmphasis", ps.iter().map(|(s, v)| v / (*s as f64).powi(2)).sum::<f64>() / nz),
        ("SmallAreaHighGrayLevelEmphasis", sahg / nz),
        ("SmallAreaLowGrayLevelEmphasis", salg / nz),
        ("ZoneEntropy", ze),
        ("ZonePercentage", nz / np),
        ("ZoneVariance", zv),
    ]
}

//! Gray level run length matrix (pyradiomics `RadiomicsGLRLM`): runs of equal level along each of
//! the 13 directions; a masked-out voxel ends a run. A direction in which no line holds two ROI
//! voxels is dropped (pyradiomics zeroes it), as is a direction without runs; features per
//! direction, averaged.

use rayon::prelude::*;

use super::{EPS, directions13, mean, weighted_variance};
use crate::roi::{Levels, Prepared};

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &[
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "GrayLevelVariance",
    "HighGrayLevelRunEmphasis",
    "LongRunEmphasis",
    "LongRunHighGrayLevelEmphasis",
    "LongRunLowGrayLevelEmphasis",
    "LowGrayLevelRunEmphasis",
    "RunEntropy",
    "RunLengthNonUniformity",
    "RunLengthNonUniformityNormalized",
    "RunPercentage",
    "RunVariance",
    "ShortRunEmphasis",
    "ShortRunHighGrayLevelEmphasis",
    "ShortRunLowGrayLevelEmphasis",
];

/// Run counts of one direction as `(level index, run length) -> count`, dense `n x max_run`,
/// or `None` when the direction has no line with two ROI voxels. Each line is walked from its
/// first voxel (the one whose predecessor along `d` is outside the box) for its known length,
/// without a bounds check per step.
fn matrix(p: &Prepared, lv: &Levels, d: [isize; 3], nr: usize) -> Option<Vec<f64>> {
    let n = lv.present.len();
    let dims = p.dims;
    let mut m = vec![0.0; n * nr];
    let mut multi = false;
    // flat offset of one step along d
    let off = (d[0] * dims[1] as isize + d[1]) * dims[2] as isize + d[2];
    // Steps a line from `c` takes inside the box along axis `a`.
    let reach = |a: usize, c: usize| match d[a] {
        0 => usize::MAX,
        1 => dims[a] - c,
        _ => c + 1,
    };
    // Whether the voxel before `c` along axis `a` is inside the box.
    let before = |a: usize, c: usize| match d[a] {
        0 => true,
        1 => c > 0,
        _ => c + 1 < dims[a],
    };
    let mut count = |rg: u32, len: usize| m[lv.index[rg as usize] as usize * nr + len - 1] += 1.0;
    for z in 0..dims[0] {
        for y in 0..dims[1] {
            for x in 0..dims[2] {
                // a line starts where the previous voxel along d is outside the box
                if before(0, z) && before(1, y) && before(2, x) {
                    continue;
                }
                let steps = reach(0, z).min(reach(1, y)).min(reach(2, x));
                let (mut i, mut elements) = (p.at(z, y, x), 0usize);
                // The run under way: its level and length (0: none).
                let (mut rg, mut rl) = (0u32, 0usize);
                for _ in 0..steps {
                    if p.roi_mask[i] {
                        elements += 1;
                        let g = lv.gl[i];
                        if rl > 0 && g == rg {
                            rl += 1;
                        } else {
                            if rl > 0 {
                                count(rg, rl);
                            }
                            (rg, rl) = (g, 1);
                        }
                    } else if rl > 0 {
                        count(rg, rl);
                        rl = 0;
                    }
                    i = i.wrapping_add_signed(off);
                }
                if rl > 0 {
                    count(rg, rl);
                }
                multi |= elements > 1;
            }
        }
    }
    multi.then_some(m)
}

/// The GLRLM features.
pub fn compute(p: &Prepared, lv: &Levels) -> Vec<(&'static str, f64)> {
    let nr = *p.dims.iter().max().unwrap_or(&1);
    let n = lv.present.len();
    let g: Vec<f64> = lv.present.iter().map(|v| f64::from(*v)).collect();
    let per_dir: Vec<[f64; 16]> = directions13()
        .into_par_iter()
        .filter_map(|d| {
            let m = matrix(p, lv, d, nr)?;
            let total: f64 = m.iter().sum();
            if total == 0.0 {
                return None;
            }
            let mut pr = vec![0.0; nr];
            let mut pg = vec![0.0; n];
            for a in 0..n {
                for r in 0..nr {
                    pr[r] += m[a * nr + r];
                    pg[a] += m[a * nr + r];
                }
            }
            let j = |r: usize| (r + 1) as f64;
            let nruns = total;
            let np: f64 = pr.iter().enumerate().map(|(r, v)| v * j(r)).sum();
            let gln = pg.iter().map(|v| v * v).sum::<f64>();
            let rln = pr.iter().map(|v| v * v).sum::<f64>();
            let glv = weighted_variance(&pg.iter().zip(&g).map(|(v, gi)| (*v, *gi)).collect::<Vec<_>>(), nruns);
            let rv = weighted_variance(&pr.iter().enumerate().map(|(r, v)| (*v, j(r))).collect::<Vec<_>>(), nruns);
            let (mut re, mut lrhg, mut lrlg, mut srhg, mut srlg) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for a in 0..n {
                for r in 0..nr {
                    let v = m[a * nr + r];
                    if v == 0.0 {
                        continue;
                    }
                    let q = v / nruns;
                    re -= q * (q + EPS).log2();
                    let (gi2, j2) = (g[a] * g[a], j(r) * j(r));
                    lrhg += v * j2 * gi2;
                    lrlg += v * j2 / gi2;
                    srhg += v * gi2 / j2;
                    srlg += v / (gi2 * j2);
                }
            }
            Some([
                gln / nruns,
                gln / (nruns * nruns),
                glv,
                pg.iter().zip(&g).map(|(v, gi)| v * gi * gi).sum::<f64>() / nruns,
                pr.iter().enumerate().map(|(r, v)| v * j(r) * j(r)).sum::<f64>() / nruns,
                lrhg / nruns,
                lrlg / nruns,
                pg.iter().zip(&g).map(|(v, gi)| v / (gi * gi)).sum::<f64>() / nruns,
                re,
                rln / nruns,
                rln / (nruns * nruns),
                nruns / np,
                rv,
                pr.iter().enumerate().map(|(r, v)| v / (j(r) * j(r))).sum::<f64>() / nruns,
                srhg / nruns,
                srlg / nruns,
            ])
        })
        .collect();
    (0..16).map(|k| (NAMES[k], mean(&per_dir.iter().map(|f| f[k]).collect::<Vec<_>>()))).collect()
}

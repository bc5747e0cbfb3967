//! The feature classes, each returning its features in pyradiomics' order (its `get*FeatureValue`
//! methods sorted by name, deprecated ones left out).

pub mod firstorder;
pub mod glcm;
pub mod gldm;
pub mod glrlm;
pub mod glszm;
mod marching;
pub mod ngtdm;
pub mod shape;

/// The (non-deprecated) features of a class in pyradiomics' order; empty for an unknown class.
pub fn feature_names(class: &str) -> &'static [&'static str] {
    match class {
        "shape" => shape::NAMES,
        "firstorder" => firstorder::NAMES,
        "glcm" => glcm::NAMES,
        "gldm" => gldm::NAMES,
        "glrlm" => glrlm::NAMES,
        "glszm" => glszm::NAMES,
        "ngtdm" => ngtdm::NAMES,
        _ => &[],
    }
}

/// `numpy.spacing(1)`, the `eps` pyradiomics adds inside logarithms and divisions.
pub(crate) const EPS: f64 = f64::EPSILON;

/// The 13 directions of distance 1 with one of each opposite pair (`[dz, dy, dx]`).
pub(crate) fn directions13() -> Vec<[isize; 3]> {
    let mut v = Vec::with_capacity(13);
    for dz in -1..=1isize {
        for dy in -1..=1isize {
            for dx in -1..=1isize {
                let d = [dz, dy, dx];
                // keep the lexicographically positive half
                if d > [0, 0, 0] {
                    v.push(d);
                }
            }
        }
    }
    v
}

/// The 26 neighbours of distance 1 (`[dz, dy, dx]`).
pub(crate) fn neighbours26() -> Vec<[isize; 3]> {
    let mut v = directions13();
    let neg: Vec<[isize; 3]> = v.iter().map(|d| [-d[0], -d[1], -d[2]]).collect();
    v.extend(neg);
    v
}

/// Mean over directions, as pyradiomics' `nanmean` over angles.
pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The levels of a ROI box padded by one voxel of 0 (outside the ROI) on every side: a
/// neighbour along `d` is then a fixed flat offset ([`PaddedLevels::offset`]) with no bounds
/// check, and level 0 says "not in the ROI".
pub(crate) struct PaddedLevels {
    /// The level of every padded voxel (`x` fastest), 0 outside the ROI.
    pub level: Vec<u32>,
    /// The padded box's size `[z, y, x]`.
    pub dims: [usize; 3],
    /// The padded flat index of every ROI voxel, in the box's order.
    pub roi: Vec<usize>,
}

impl PaddedLevels {
    pub(crate) fn new(p: &crate::roi::Prepared, lv: &crate::roi::Levels) -> Self {
        let d = p.dims;
        let pd = [d[0] + 2, d[1] + 2, d[2] + 2];
        let mut level = vec![0u32; pd.iter().product()];
        let mut roi = Vec::new();
        for (z, y, x, i) in roi_voxels(p) {
            let k = ((z + 1) * pd[1] + y + 1) * pd[2] + x + 1;
            level[k] = lv.gl[i];
            roi.push(k);
        }
        Self { level, dims: pd, roi }
    }

    /// The flat offset of one step along `d`.
    pub(crate) fn offset(&self, d: [isize; 3]) -> isize {
        (d[0] * self.dims[1] as isize + d[1]) * self.dims[2] as isize + d[2]
    }
}

/// The ROI voxels of a box as `(z, y, x, flat index)`, `x` fastest.
pub(crate) fn roi_voxels(p: &crate::roi::Prepared) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
    let [nz, ny, nx] = p.dims;
    (0..nz).flat_map(move |z| (0..ny).flat_map(move |y| (0..nx).map(move |x| (z, y, x, p.at(z, y, x))))).filter(|v| p.roi_mask[v.3])
}

/// Variance of `value` weighted by `count / total` (pyradiomics' gray level, run, zone and
/// dependence variances): `sum p (v - sum p v)^2`.
pub(crate) fn weighted_variance(pairs: &[(f64, f64)], total: f64) -> f64 {
    let mean: f64 = pairs.iter().map(|(c, v)| c / total * v).sum();
    pairs.iter().map(|(c, v)| c / total * (v - mean).powi(2)).sum()
}

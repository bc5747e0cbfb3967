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

/// The flat index of `(z, y, x) + d` inside a box of `dims`, or `None` outside.
#[inline]
pub(crate) fn step(dims: [usize; 3], z: usize, y: usize, x: usize, d: [isize; 3]) -> Option<usize> {
    let nz = z.checked_add_signed(d[0])?;
    let ny = y.checked_add_signed(d[1])?;
    let nx = x.checked_add_signed(d[2])?;
    (nz < dims[0] && ny < dims[1] && nx < dims[2]).then(|| (nz * dims[1] + ny) * dims[2] + nx)
}

/// Mean over directions, as pyradiomics' `nanmean` over angles.
pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
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

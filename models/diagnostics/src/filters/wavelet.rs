//! The undecimated wavelet decomposition as pyradiomics computes it (`getWaveletImage`,
//! `_swt3`): PyWavelets' `swtn(level=1)` along x, then y, then z, repeated on the approximation
//! for each level, each time with the same (not upsampled) filters; an axis of odd length is
//! first padded by one voxel wrapping around (`numpy.pad(..., 'wrap')`) and the result cut back.
//!
//! PyWavelets' level-1 stationary transform of a line of (even) length `N` with a filter `f`
//! of (even) length `F` is the periodic convolution `y[o] = sum_j f[j] x[(o + F/2 - j) mod N]`
//! (`downsampling_convolution_periodization` with step 1); the low-pass output uses `dec_lo`, the
//! high-pass `dec_hi`. The decomposition `LLH` is low-pass along x and y, high-pass along z (the
//! first letter is x: pyradiomics passes the axes as `(2, 1, 0)` of the `[z, y, x]` array).
//!
//! # Why hand-written
//! The Rust wavelet crates compute decimated transforms or use other border and shift
//! conventions; pyradiomics' values depend on PyWavelets' exact periodic shift (`F/2`) and its
//! own wrap padding. The convolution is a few lines; writing it here also lets it compute only
//! the ROI's box plus the filter's reach (periodic indices), not the whole image eight times.

use std::f64::consts::FRAC_1_SQRT_2;

use super::flat;
use crate::roi::Source;
use crate::{Error, Result};

/// The decomposition (low-pass) filters of the orthogonal wavelets supported, as PyWavelets
/// 1.8 holds them (`pywt.Wavelet(name).dec_lo`); the high-pass filter is the quadrature mirror.
const WAVELETS: &[(&str, &[f64])] = &[
    ("haar", &[FRAC_1_SQRT_2, FRAC_1_SQRT_2]),
    ("db1", &[FRAC_1_SQRT_2, FRAC_1_SQRT_2]),
    ("db2", &[-0.12940952255126037, 0.2241438680420134, 0.8365163037378079, 0.48296291314453416]),
    ("db3", &[0.03522629188570953, -0.08544127388202666, -0.13501102001025458, 0.45987750211849154, 0.8068915093110925, 0.33267055295008263]),
    ("sym2", &[-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025]),
    ("sym3", &[0.035226291882100656, -0.08544127388224149, -0.13501102001039084, 0.4598775021193313, 0.8068915093133388, 0.3326705529509569]),
    ("coif1", &[-0.015655728135791993, -0.07273261951252645, 0.3848648468648578, 0.8525720202116004, 0.3378976624574818, -0.07273261951252645]),
    (
        "coif2",
        &[
            -0.000720549445520347,
            -0.0018232088709110323,
            0.005611434819368834,
            0.02368017194684777,
            -0.05943441864643109,
            -0.07648859907828076,
            0.4170051844232391,
            0.8127236354494135,
            0.3861100668227629,
            -0.0673725547237256,
            -0.04146493678687178,
            0.01638733646320364,
        ],
    ),
];

/// The low- and high-pass decomposition filters of `name`.
pub fn filter(name: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let lo = WAVELETS.iter().find(|(n, _)| *n == name).map(|(_, f)| f.to_vec()).ok_or_else(|| {
        let known: Vec<&str> = WAVELETS.iter().map(|(n, _)| *n).collect();
        Error::Params(format!("imageType Wavelet: wavelet {name} is not implemented; known: {}", known.join(", ")))
    })?;
    let f = lo.len();
    // PyWavelets' orthogonal dec_hi: dec_hi[j] = (-1)^(j+1) dec_lo[F-1-j].
    let hi = (0..f).map(|j| if j % 2 == 0 { -lo[f - 1 - j] } else { lo[f - 1 - j] }).collect();
    Ok((lo, hi))
}

/// Filters `v` (size `n`) along `axis` with `f`, keeping the "valid" part: the result is
/// `F - 1` shorter along `axis`, `y[k] = sum_j f[j] v[k + F - 1 - j]`.
fn pass(v: &[f64], n: [usize; 3], axis: usize, f: &[f64]) -> (Vec<f64>, [usize; 3]) {
    let mut m = n;
    m[axis] = n[axis] + 1 - f.len();
    let stride = [1, n[0], n[0] * n[1]][axis];
    let mut out = vec![0.0; m.iter().product()];
    let mut o = 0;
    for z in 0..m[2] {
        for y in 0..m[1] {
            for x in 0..m[0] {
                let base = flat(n, x, y, z) + (f.len() - 1) * stride;
                let mut sum = 0.0;
                for (j, c) in f.iter().enumerate() {
                    sum += c * v[base - j * stride];
                }
                out[o] = sum;
                o += 1;
            }
        }
    }
    (out, m)
}

/// The wavelet images of `src` in its ROI box (`x` fastest), named as pyradiomics names them
/// (`wavelet-LLH`, ..., `wavelet-HHH`, level 2 `wavelet2-LLH`, ..., then the last approximation
/// `wavelet-LLL`), in pyradiomics' order.
pub(crate) fn wavelet_boxes(src: &Source, wavelet: &str, level: usize, start_level: usize) -> Result<Vec<(String, Vec<f64>)>> {
    let (lo_f, hi_f) = filter(wavelet)?;
    let f = lo_f.len();
    let passes = start_level + level;
    let left = f / 2 - 1;
    // The window of each axis: the box plus the filters' reach over all passes, read
    // periodically over the padded (even) length.
    let mut n = [0usize; 3];
    let mut index: [Vec<usize>; 3] = Default::default();
    for a in 0..3 {
        let len = src.size[a];
        let period = len + len % 2;
        let first = src.box_lo[a] as i64 - (passes * left) as i64;
        n[a] = src.box_size[a] + passes * (f - 1);
        index[a] = (0..n[a] as i64)
            .map(|k| {
                let g = (first + k).rem_euclid(period as i64) as usize;
                if g == len { 0 } else { g }
            })
            .collect();
    }
    let bytes = n.iter().product::<usize>() as u64 * 8 * 10;
    if bytes > crate::roi::MAX_MATRIX_BYTES {
        return Err(Error::TooLarge { what: "the wavelet decomposition".into(), bytes, limit: crate::roi::MAX_MATRIX_BYTES });
    }
    let mut data = Vec::with_capacity(n.iter().product());
    for &z in &index[2] {
        for &y in &index[1] {
            for &x in &index[0] {
                data.push(src.values[flat(src.size, x, y, z)]);
            }
        }
    }
    let mut out = Vec::new();
    for p in 0..passes {
        // Every subband of this pass, keyed by its letters (x first), in PyWavelets' order.
        let mut bands = vec![(String::new(), data, n)];
        for axis in 0..3 {
            bands = bands
                .into_iter()
                .flat_map(|(name, v, m)| {
                    let (a, ma) = pass(&v, m, axis, &lo_f);
                    let (d, md) = pass(&v, m, axis, &hi_f);
                    [(format!("{name}L"), a, ma), (format!("{name}H"), d, md)]
                })
                .collect();
        }
        let (_, approx, m) = bands.remove(0);
        let kept = p + 1 - start_level.min(p + 1);
        if p >= start_level {
            let prefix = if kept == 1 { "wavelet-".to_string() } else { format!("wavelet{kept}-") };
            let remaining = passes - p - 1;
            for (name, v, m) in bands {
                out.push((format!("{prefix}{name}"), crop(&v, m, remaining * left, src.box_size)));
            }
        }
        data = approx;
        n = m;
    }
    let last = if level == 1 { "wavelet-LLL".to_string() } else { format!("wavelet{level}-LLL") };
    out.push((last, data));
    Ok(out)
}

/// The block of `size` at offset `off` on every axis of `v` (size `n`).
fn crop(v: &[f64], n: [usize; 3], off: usize, size: [usize; 3]) -> Vec<f64> {
    let mut out = Vec::with_capacity(size.iter().product());
    for z in 0..size[2] {
        for y in 0..size[1] {
            let row = flat(n, off, off + y, off + z);
            out.extend_from_slice(&v[row..row + size[0]]);
        }
    }
    out
}

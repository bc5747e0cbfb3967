//! pyradiomics' image types other than the original: Laplacian of Gaussian ([`log`]) and the
//! undecimated wavelet decomposition ([`wavelet`]). Each filters the whole image (after
//! resampling, if any) as pyradiomics does and returns only the values in the ROI's box, the
//! only ones the features read.

pub mod log;
pub mod wavelet;

/// Flat index of `[x, y, z]` in a block of size `n` (`x` fastest).
#[inline]
fn flat(n: [usize; 3], x: usize, y: usize, z: usize) -> usize {
    (z * n[1] + y) * n[0] + x
}

/// The lines of a block of size `n` along `axis`: `(first flat index, stride)` of each, in the
/// block's order of the two other axes.
fn lines(n: [usize; 3], axis: usize) -> (Vec<usize>, usize) {
    let stride = [1, n[0], n[0] * n[1]][axis];
    let (a, b) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let mut starts = Vec::with_capacity(n[a] * n[b]);
    for j in 0..n[b] {
        for i in 0..n[a] {
            let mut c = [0usize; 3];
            c[a] = i;
            c[b] = j;
            starts.push(flat(n, c[0], c[1], c[2]));
        }
    }
    (starts, stride)
}

//! Separable Gaussian smoothing on an anisotropic grid (sigma in mm), lines in parallel.

use rayon::prelude::*;

use super::lattice::Lattice;

/// `data` smoothed with a Gaussian of `sigma_mm` (per axis in voxels: `sigma_mm / spacing`),
/// in place (a CT's bone region can hold 56 million voxels: no second copy); edges are clamped
/// (the border voxel repeats). Axes whose sigma is below 0.1 voxel are left.
pub(crate) fn gaussian(lat: &Lattice, data: Vec<f32>, sigma_mm: f64) -> Vec<f32> {
    let mut out = data;
    let [ni, nj, nk] = lat.dims;
    for axis in 0..3 {
        let s = sigma_mm / lat.spacing_mm[axis];
        if s < 0.1 {
            continue;
        }
        let radius = (3.0 * s).ceil() as isize;
        let mut kernel: Vec<f32> = (-radius..=radius).map(|x| (-(x as f64).powi(2) / (2.0 * s * s)).exp() as f32).collect();
        let sum: f32 = kernel.iter().sum();
        kernel.iter_mut().for_each(|w| *w /= sum);
        let n = lat.dims[axis];
        let convolve = |line: &[f32], out: &mut [f32]| {
            for (x, o) in out.iter_mut().enumerate() {
                let mut acc = 0.0f32;
                for (t, w) in kernel.iter().enumerate() {
                    let y = (x as isize + t as isize - radius).clamp(0, n as isize - 1) as usize;
                    acc += w * line[y];
                }
                *o = acc;
            }
        };
        match axis {
            0 => out.par_chunks_mut(ni).for_each_init(
                || (vec![0.0; n], vec![0.0; n]),
                |(a, b), line| {
                    a.copy_from_slice(line);
                    convolve(a, b);
                    line.copy_from_slice(b);
                },
            ),
            1 => out.par_chunks_mut(ni * nj).for_each_init(
                || (vec![0.0; n], vec![0.0; n]),
                |(a, b), slab| {
                    for i in 0..ni {
                        for j in 0..nj {
                            a[j] = slab[j * ni + i];
                        }
                        convolve(a, b);
                        for j in 0..nj {
                            slab[j * ni + i] = b[j];
                        }
                    }
                },
            ),
            _ => {
                let mut by_j: Vec<Vec<&mut [f32]>> = (0..nj).map(|_| Vec::with_capacity(nk)).collect();
                for (r, row) in out.chunks_mut(ni).enumerate() {
                    by_j[r % nj].push(row);
                }
                by_j.into_par_iter().for_each_init(
                    || (vec![0.0; n], vec![0.0; n]),
                    |(a, b), mut rows| {
                        for i in 0..ni {
                            for (k, row) in rows.iter().enumerate() {
                                a[k] = row[i];
                            }
                            convolve(a, b);
                            for (k, row) in rows.iter_mut().enumerate() {
                                row[i] = b[k];
                            }
                        }
                    },
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_constants_and_mass() {
        let lat = Lattice::test([7, 6, 5], [1.0, 2.0, 3.0]);
        let c = vec![5.0f32; lat.len()];
        assert!(gaussian(&lat, c, 2.0).iter().all(|v| (v - 5.0).abs() < 1e-4));
        let mut d = vec![0.0f32; lat.len()];
        d[lat.idx(3, 3, 2)] = 1.0;
        let s = gaussian(&lat, d, 1.0);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-3);
        assert!(s[lat.idx(3, 3, 2)] < 1.0 && s[lat.idx(3, 3, 2)] > s[lat.idx(4, 3, 2)]);
    }
}

//! Exact Euclidean distance transform on an anisotropic grid (Felzenszwalb & Huttenlocher 2012,
//! "Distance transforms of sampled functions"): one lower-envelope-of-parabolas pass per axis,
//! O(n) per line, lines in parallel.

use rayon::prelude::*;

use super::lattice::Lattice;

/// Squared distance (mm²) from every voxel to the nearest voxel where `site` is true, on a grid
/// with the spacing of `lat`. Voxels outside the grid are not sites. `f32::INFINITY` when the
/// grid holds no site at all.
pub(crate) fn squared_distance_to(lat: &Lattice, site: impl Fn(usize) -> bool + Sync) -> Vec<f32> {
    let mut d: Vec<f32> = (0..lat.len()).into_par_iter().map(|v| if site(v) { 0.0 } else { f32::INFINITY }).collect();
    for axis in 0..3 {
        transform_axis(&mut d, lat.dims, axis, lat.spacing_mm[axis]);
    }
    d
}

/// Distance (mm) from every voxel inside `mask` to the nearest voxel outside it; 0 outside.
pub(crate) fn inside_distance(lat: &Lattice, mask: &[bool]) -> Vec<f32> {
    let mut d = squared_distance_to(lat, |v| !mask[v]);
    let cap = lat.diagonal_mm() as f32;
    d.par_iter_mut().for_each(|x| *x = if x.is_finite() { x.sqrt() } else { cap });
    d
}

/// One FH pass along `axis` (0 = i, 1 = j, 2 = k) of an array indexed `[k][j][i]`.
fn transform_axis(d: &mut [f32], dims: [usize; 3], axis: usize, spacing: f64) {
    let [ni, nj, nk] = dims;
    match axis {
        0 => d.par_chunks_mut(ni).for_each_init(
            || Scratch::new(ni),
            |s, line| {
                s.f[..ni].copy_from_slice(line);
                s.run(ni, spacing);
                line.copy_from_slice(&s.out[..ni]);
            },
        ),
        1 => d.par_chunks_mut(ni * nj).for_each_init(
            || Scratch::new(nj),
            |s, slab| {
                for i in 0..ni {
                    for j in 0..nj {
                        s.f[j] = slab[j * ni + i];
                    }
                    s.run(nj, spacing);
                    for j in 0..nj {
                        slab[j * ni + i] = s.out[j];
                    }
                }
            },
        ),
        _ => {
            // Give each task every row (fixed j) of every slice, so it owns whole k-lines.
            let mut by_j: Vec<Vec<&mut [f32]>> = (0..nj).map(|_| Vec::with_capacity(nk)).collect();
            for (r, row) in d.chunks_mut(ni).enumerate() {
                by_j[r % nj].push(row);
            }
            by_j.into_par_iter().for_each_init(
                || Scratch::new(nk),
                |s, mut rows| {
                    for i in 0..ni {
                        for (k, row) in rows.iter().enumerate() {
                            s.f[k] = row[i];
                        }
                        s.run(nk, spacing);
                        for (k, row) in rows.iter_mut().enumerate() {
                            row[i] = s.out[k];
                        }
                    }
                },
            );
        }
    }
}

struct Scratch {
    f: Vec<f32>,
    out: Vec<f32>,
    v: Vec<usize>,
    z: Vec<f64>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self { f: vec![0.0; n], out: vec![0.0; n], v: vec![0; n], z: vec![0.0; n + 1] }
    }

    /// `out[q] = min_p (s (q - p))² + f[p]` over the first `n` samples.
    fn run(&mut self, n: usize, s: f64) {
        let (f, v, z) = (&self.f, &mut self.v, &mut self.z);
        let mut k = 0usize;
        let mut any = false;
        for q in 0..n {
            let fq = f[q];
            if !fq.is_finite() {
                continue;
            }
            if !any {
                v[0] = q;
                z[0] = f64::NEG_INFINITY;
                z[1] = f64::INFINITY;
                any = true;
                continue;
            }
            let xq = q as f64 * s;
            let gq = f64::from(fq) + xq * xq;
            loop {
                let p = v[k];
                let xp = p as f64 * s;
                let x = (gq - (f64::from(f[p]) + xp * xp)) / (2.0 * (xq - xp));
                if x <= z[k] {
                    // z[0] is -inf, so k never underflows here.
                    k -= 1;
                } else {
                    k += 1;
                    v[k] = q;
                    z[k] = x;
                    z[k + 1] = f64::INFINITY;
                    break;
                }
            }
        }
        if !any {
            self.out[..n].fill(f32::INFINITY);
            return;
        }
        k = 0;
        for q in 0..n {
            let x = q as f64 * s;
            while z[k + 1] < x {
                k += 1;
            }
            let dx = x - v[k] as f64 * s;
            self.out[q] = (dx * dx + f64::from(f[v[k]])) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force_on_anisotropic_grid() {
        let lat = Lattice::test([9, 7, 5], [0.7, 1.3, 2.9]);
        let sites: Vec<usize> = vec![3, 40, 101, 250, 311];
        let d = squared_distance_to(&lat, |v| sites.contains(&v));
        for (v, dv) in d.iter().enumerate() {
            let a = lat.ijk(v);
            let best = sites
                .iter()
                .map(|&s| {
                    let b = lat.ijk(s);
                    (0..3).map(|c| ((a[c] as f64 - b[c] as f64) * lat.spacing_mm[c]).powi(2)).sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min);
            assert!((f64::from(*dv) - best).abs() < 1e-3, "voxel {v}: {dv} vs {best}");
        }
    }

    #[test]
    fn no_site_is_infinite() {
        let lat = Lattice::test([4, 3, 2], [1.0, 1.0, 1.0]);
        assert!(squared_distance_to(&lat, |_| false).iter().all(|x| x.is_infinite()));
    }
}

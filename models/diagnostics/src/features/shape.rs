//! 3D shape (pyradiomics `RadiomicsShape`): the mesh surface and volume of marching cubes at the
//! midpoints between voxel centres (the mask padded by one voxel), the maximum diameters between
//! mesh vertices, and the principal axes of the voxel centres.
//!
//! The marching-cubes cases are pyradiomics' own triangulation, derived from the cube's
//! geometry in [`super::marching`] (its docs say how): area and volume equal pyradiomics' for
//! every configuration. As in pyradiomics, a cube with its corner `(z+1, y+1, x)` inside is
//! handled as its complement and its volume sign is flipped.
//!
//! The diameters are those of pyradiomics (the largest distance between two mesh vertices, in 3D
//! and within a slice, column or row plane), found on convex hulls instead of all pairs.

use nalgebra::{Matrix3, SymmetricEigen};
use rayon::prelude::*;

use super::marching::{cases, corner};

/// Feature names in pyradiomics' order.
pub const NAMES: &[&str] = &[
    "Elongation",
    "Flatness",
    "LeastAxisLength",
    "MajorAxisLength",
    "Maximum2DDiameterColumn",
    "Maximum2DDiameterRow",
    "Maximum2DDiameterSlice",
    "Maximum3DDiameter",
    "MeshVolume",
    "MinorAxisLength",
    "Sphericity",
    "SurfaceArea",
    "SurfaceVolumeRatio",
    "VoxelVolume",
];

/// The shape features of `mask` (a box `[z, y, x]` of `dims`) with `spacing` `[z, y, x]` mm.
pub fn compute(mask: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Vec<(&'static str, f64)> {
    // Pad by one voxel, as pyradiomics does.
    let pd = [dims[0] + 2, dims[1] + 2, dims[2] + 2];
    let mut pm = vec![false; pd.iter().product()];
    let mut np = 0usize;
    let mut sums = [0.0f64; 3];
    let mut coords = Vec::new();
    for z in 0..dims[0] {
        for y in 0..dims[1] {
            for x in 0..dims[2] {
                if mask[(z * dims[1] + y) * dims[2] + x] {
                    pm[((z + 1) * pd[1] + y + 1) * pd[2] + x + 1] = true;
                    np += 1;
                    let c = [(z + 1) as f64 * spacing[0], (y + 1) as f64 * spacing[1], (x + 1) as f64 * spacing[2]];
                    for k in 0..3 {
                        sums[k] += c[k];
                    }
                    coords.push(c);
                }
            }
        }
    }
    let (area, signed) = marching_cubes(&pm, pd, spacing);
    let volume = signed.abs();
    let [d_slice, d_column, d_row, d_3d] = diameters(&pm, pd, spacing);
    // principal axes: covariance of the centred voxel coordinates / Np
    let n = np as f64;
    let mean = [sums[0] / n, sums[1] / n, sums[2] / n];
    let mut cov = Matrix3::<f64>::zeros();
    for c in &coords {
        let d = [(c[0] - mean[0]) / n.sqrt(), (c[1] - mean[1]) / n.sqrt(), (c[2] - mean[2]) / n.sqrt()];
        for r in 0..3 {
            for k in 0..3 {
                cov[(r, k)] += d[r] * d[k];
            }
        }
    }
    let mut ev: Vec<f64> = SymmetricEigen::new(cov).eigenvalues.iter().map(|e| if *e < 0.0 && *e > -1e-10 { 0.0 } else { *e }).collect();
    ev.sort_by(f64::total_cmp);
    let axis = |e: f64| if e < 0.0 { f64::NAN } else { e.sqrt() * 4.0 };
    let ratio = |a: f64, b: f64| {
        if a < 0.0 || b < 0.0 { f64::NAN } else { (a / b).sqrt() }
    };
    let voxel_volume = n * (spacing[0] * spacing[2] * spacing[1]);
    vec![
        ("Elongation", ratio(ev[1], ev[2])),
        ("Flatness", ratio(ev[0], ev[2])),
        ("LeastAxisLength", axis(ev[0])),
        ("MajorAxisLength", axis(ev[2])),
        ("Maximum2DDiameterColumn", d_column),
        ("Maximum2DDiameterRow", d_row),
        ("Maximum2DDiameterSlice", d_slice),
        ("Maximum3DDiameter", d_3d),
        ("MeshVolume", volume),
        ("MinorAxisLength", axis(ev[1])),
        ("Sphericity", (36.0 * std::f64::consts::PI * volume * volume).powf(1.0 / 3.0) / area),
        ("SurfaceArea", area),
        ("SurfaceVolumeRatio", area / volume),
        ("VoxelVolume", voxel_volume),
    ]
}

/// Surface area (mm²) and signed volume (mm³, positive when the mask is closed inside the box)
/// of pyradiomics' marching-cubes mesh of `mask`, a box `[z, y, x]` of `dims` with `spacing`
/// `[z, y, x]` mm, taken as it is (pad it with background for a closed surface, as
/// [`compute`] does). The signed volume is pyradiomics' `MeshVolume` before its sign is dropped.
pub fn marching_cubes(mask: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> (f64, f64) {
    let (pm, pd, sp) = (mask, dims, spacing);
    let (table, edges) = cases();
    let vert: Vec<[f64; 3]> = edges
        .iter()
        .map(|&(a, b)| {
            let (ca, cb) = (corner(a), corner(b));
            [(ca[0] + cb[0]) as f64 * 0.5, (ca[1] + cb[1]) as f64 * 0.5, (ca[2] + cb[2]) as f64 * 0.5]
        })
        .collect();
    let at = |z: usize, y: usize, x: usize| pm[(z * pd[1] + y) * pd[2] + x];
    // Per slice in parallel, summed in slice order: rayon's `reduce` adds in the order its work
    // stealing happened to split, and two runs on the same mask differed in the last digit.
    let slices: Vec<(f64, f64)> = (0..pd[0] - 1)
        .into_par_iter()
        .map(|iz| {
            let (mut area, mut vol) = (0.0, 0.0);
            for iy in 0..pd[1] - 1 {
                for ix in 0..pd[2] - 1 {
                    let mut config = 0usize;
                    for c in 0..8 {
                        let o = corner(c);
                        if at(iz + o[0], iy + o[1], ix + o[2]) {
                            config |= 1 << c;
                        }
                    }
                    if config == 0 || config == 0xff {
                        continue;
                    }
                    let case = &table[config];
                    let base = [iz as f64, iy as f64, ix as f64];
                    for t in &case.triangles {
                        let p = |e: u8| {
                            let v = vert[e as usize];
                            [(base[0] + v[0]) * sp[0], (base[1] + v[1]) * sp[1], (base[2] + v[2]) * sp[2]]
                        };
                        let (a, b, c) = (p(t[0]), p(t[1]), p(t[2]));
                        let ab = cross(a, b);
                        vol += case.sign * (ab[0] * c[0] + ab[1] * c[1] + ab[2] * c[2]);
                        let (u, w) = ([a[0] - c[0], a[1] - c[1], a[2] - c[2]], [b[0] - c[0], b[1] - c[1], b[2] - c[2]]);
                        let n = cross(u, w);
                        area += 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                    }
                }
            }
            (area, vol)
        })
        .collect();
    let (area, vol6) = slices.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    (area, vol6 / 6.0)
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - b[1] * a[2], a[2] * b[0] - b[2] * a[0], a[0] * b[1] - b[0] * a[1]]
}

/// Largest vertex distances `[slice, column, row, 3D]`, mm. Vertices sit at the midpoints of the
/// edges between an inside and an outside voxel, in half-voxel units here.
fn diameters(pm: &[bool], pd: [usize; 3], sp: [f64; 3]) -> [f64; 4] {
    let at = |z: usize, y: usize, x: usize| pm[(z * pd[1] + y) * pd[2] + x];
    let mut pts: Vec<[i64; 3]> = Vec::new();
    for z in 0..pd[0] {
        for y in 0..pd[1] {
            for x in 0..pd[2] {
                let here = at(z, y, x);
                let h = [2 * z as i64, 2 * y as i64, 2 * x as i64];
                if z + 1 < pd[0] && at(z + 1, y, x) != here {
                    pts.push([h[0] + 1, h[1], h[2]]);
                }
                if y + 1 < pd[1] && at(z, y + 1, x) != here {
                    pts.push([h[0], h[1] + 1, h[2]]);
                }
                if x + 1 < pd[2] && at(z, y, x + 1) != here {
                    pts.push([h[0], h[1], h[2] + 1]);
                }
            }
        }
    }
    let mm = |p: &[i64; 3]| [(p[0] as f64 * 0.5) * sp[0], (p[1] as f64 * 0.5) * sp[1], (p[2] as f64 * 0.5) * sp[2]];
    let d2 = |a: [f64; 3], b: [f64; 3]| {
        let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    };
    let max_pairs = |h: &[[i64; 3]]| -> f64 {
        let m: Vec<[f64; 3]> = h.iter().map(mm).collect();
        (0..m.len()).into_par_iter().map(|i| m[i + 1..].iter().map(|b| d2(m[i], *b)).fold(0.0, f64::max)).reduce(|| 0.0, f64::max)
    };
    let mut out = [0.0; 4];
    let mut union = Vec::new();
    for axis in 0..3 {
        let mut groups = std::collections::BTreeMap::<i64, Vec<[i64; 3]>>::new();
        for p in &pts {
            groups.entry(p[axis]).or_default().push(*p);
        }
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let hulls: Vec<Vec<[i64; 3]>> = groups.into_values().collect::<Vec<_>>().into_par_iter().map(|g| hull2d(g, u, v)).collect();
        out[axis] = hulls.par_iter().map(|h| max_pairs(h)).reduce(|| 0.0, f64::max).sqrt();
        if axis == 0 {
            union = hulls.concat();
        }
    }
    out[3] = max_pairs(&union).sqrt();
    out
}

/// Convex hull (Andrew's monotone chain) of points in the plane of coordinates `u`, `v`.
fn hull2d(mut p: Vec<[i64; 3]>, u: usize, v: usize) -> Vec<[i64; 3]> {
    p.sort_by_key(|q| (q[u], q[v]));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: &[i64; 3], a: &[i64; 3], b: &[i64; 3]| (a[u] - o[u]) * (b[v] - o[v]) - (a[v] - o[v]) * (b[u] - o[u]);
    let mut h: Vec<[i64; 3]> = Vec::with_capacity(2 * p.len());
    for q in &p {
        while h.len() >= 2 && cross(&h[h.len() - 2], &h[h.len() - 1], q) <= 0 {
            h.pop();
        }
        h.push(*q);
    }
    let lower = h.len() + 1;
    for q in p.iter().rev().skip(1) {
        while h.len() >= lower && cross(&h[h.len() - 2], &h[h.len() - 1], q) <= 0 {
            h.pop();
        }
        h.push(*q);
    }
    h.pop();
    h
}

//! Iso-surface extraction from a padded binary mask, in parallel over slabs of cube layers.
//!
//! Vertices sit at the midpoints of the voxel-centre edges whose two ends differ; each is made
//! once, found again through per-plane edge-index arrays (no hash maps). Slabs are stitched by
//! the plane they share: both enumerate its crossings in the same order, so the result does not
//! depend on the number of slabs or threads.

use nalgebra::Point3;
use rayon::prelude::*;

use super::table::{EDGE_CORNERS, case_volumes, flat};

/// A binary mask with its geometry in voxel index space.
pub(crate) struct Padded {
    /// 0/1 per voxel, `[k][j][i]` flattened, at least one zero voxel on every side.
    pub data: Vec<u8>,
    /// Size `[nx, ny, nz]` (i fastest).
    pub dims: [usize; 3],
    /// Index of padded voxel (0, 0, 0) in the original grid (may be -1).
    pub offset: [i64; 3],
}

/// Index-space triangle mesh (`[i, j, k]` voxel coordinates of the original grid).
pub(crate) struct RawMesh {
    pub vertices: Vec<Point3<f64>>,
    pub triangles: Vec<[u32; 3]>,
    /// Volume of the trilinear interpolant's `{f >= 1/2}` region, in voxels.
    pub trilinear_voxels: f64,
}

const NONE: u32 = u32::MAX;

/// Output of one slab.
struct Slab {
    vertices: Vec<Point3<f64>>,
    triangles: Vec<[u32; 3]>,
    /// Vertices of the slab's first plane (they come first in `vertices`).
    bottom: usize,
    /// Start of the vertices of the slab's last plane in `vertices`.
    top_start: usize,
    /// Cubes per case.
    histogram: [u64; 256],
}

/// Marching cubes over `mask` (see [`super::table`] for the case rule).
pub(crate) fn extract(mask: &Padded) -> RawMesh {
    let [_, _, nz] = mask.dims;
    let layers = nz.saturating_sub(1);
    if layers == 0 {
        return RawMesh { vertices: Vec::new(), triangles: Vec::new(), trilinear_voxels: 0.0 };
    }
    // Enough slabs to balance the threads; at least a few layers each.
    let n_slabs = (rayon::current_num_threads() * 4).min(layers.div_ceil(4)).max(1);
    let per = layers.div_ceil(n_slabs);
    let ranges: Vec<(usize, usize)> = (0..layers).step_by(per).map(|k0| (k0, (k0 + per).min(layers))).collect();
    let slabs: Vec<Slab> = ranges.par_iter().map(|&(k0, k1)| slab(mask, k0, k1)).collect();

    // Stitch: slab s > 0 drops its bottom plane, which is slab s - 1's top plane, same order.
    let total_v: usize = slabs.iter().enumerate().map(|(s, sl)| sl.vertices.len() - if s > 0 { sl.bottom } else { 0 }).sum();
    let total_t: usize = slabs.iter().map(|sl| sl.triangles.len()).sum();
    let mut vertices = Vec::with_capacity(total_v);
    let mut triangles = Vec::with_capacity(total_t);
    let mut histogram = [0u64; 256];
    for sl in &slabs {
        for (h, c) in histogram.iter_mut().zip(&sl.histogram) {
            *h += c;
        }
    }
    let trilinear_voxels = histogram.iter().zip(case_volumes()).map(|(&n, v)| n as f64 * v).sum();
    let mut prev_top_global = 0u32;
    for (s, sl) in slabs.into_iter().enumerate() {
        let offset = vertices.len() as u32;
        let bottom = if s > 0 { sl.bottom as u32 } else { 0 };
        let top_global = offset + sl.top_start as u32 - bottom;
        vertices.extend_from_slice(&sl.vertices[bottom as usize..]);
        triangles.extend(sl.triangles.iter().map(|t| t.map(|v| if v < bottom { prev_top_global + v } else { offset + v - bottom })));
        prev_top_global = top_global;
    }
    RawMesh { vertices, triangles, trilinear_voxels }
}

/// Per-plane vertex indices of the x and y edges starting at each voxel.
struct Plane {
    x: Vec<u32>,
    y: Vec<u32>,
}

fn slab(mask: &Padded, k0: usize, k1: usize) -> Slab {
    let [nx, ny, _] = mask.dims;
    let n = nx * ny;
    let m = &mask.data;
    let off = mask.offset.map(|o| o as f64);
    let table = flat();
    let mut vertices: Vec<Point3<f64>> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let mut cur = Plane { x: vec![NONE; n], y: vec![NONE; n] };
    let mut nxt = Plane { x: vec![NONE; n], y: vec![NONE; n] };
    let mut z = vec![NONE; n];
    let mut histogram = [0u64; 256];
    let at = |i: usize, j: usize, k: usize| -> Point3<f64> { Point3::new(i as f64 + off[0], j as f64 + off[1], k as f64 + off[2]) };

    let fill_plane = |k: usize, p: &mut Plane, vertices: &mut Vec<Point3<f64>>| {
        let base = k * n;
        for j in 0..ny {
            let row = base + j * nx;
            for i in 0..nx {
                let v = m[row + i];
                p.x[j * nx + i] = if i + 1 < nx && v != m[row + i + 1] {
                    vertices.push(at(i, j, k) + nalgebra::Vector3::new(0.5, 0.0, 0.0));
                    (vertices.len() - 1) as u32
                } else {
                    NONE
                };
                p.y[j * nx + i] = if j + 1 < ny && v != m[row + nx + i] {
                    vertices.push(at(i, j, k) + nalgebra::Vector3::new(0.0, 0.5, 0.0));
                    (vertices.len() - 1) as u32
                } else {
                    NONE
                };
            }
        }
    };

    fill_plane(k0, &mut cur, &mut vertices);
    let bottom = vertices.len();
    let mut top_start = 0;
    for k in k0..k1 {
        top_start = vertices.len();
        fill_plane(k + 1, &mut nxt, &mut vertices);
        // z edges of this layer.
        let (lo, hi) = (k * n, (k + 1) * n);
        for idx in 0..n {
            z[idx] = if m[lo + idx] != m[hi + idx] {
                let (i, j) = (idx % nx, idx / nx);
                vertices.push(at(i, j, k) + nalgebra::Vector3::new(0.0, 0.0, 0.5));
                (vertices.len() - 1) as u32
            } else {
                NONE
            };
        }
        // Cubes of this layer.
        for j in 0..ny - 1 {
            let r00 = lo + j * nx; // (j, k)
            let r10 = r00 + nx; // (j + 1, k)
            let r01 = hi + j * nx; // (j, k + 1)
            let r11 = r01 + nx;
            for i in 0..nx - 1 {
                let case = (m[r00 + i] as usize)
                    | (m[r00 + i + 1] as usize) << 1
                    | (m[r10 + i] as usize) << 2
                    | (m[r10 + i + 1] as usize) << 3
                    | (m[r01 + i] as usize) << 4
                    | (m[r01 + i + 1] as usize) << 5
                    | (m[r11 + i] as usize) << 6
                    | (m[r11 + i + 1] as usize) << 7;
                histogram[case] += 1;
                if case == 0 || case == 255 {
                    continue;
                }
                let vid = |e: u8| -> u32 {
                    let e = e as usize;
                    let [a, _] = EDGE_CORNERS[e];
                    let (dx, dy, dz) = (a & 1, (a >> 1) & 1, (a >> 2) & 1);
                    let at = (j + dy) * nx + i + dx;
                    match e / 4 {
                        0 => {
                            if dz == 0 {
                                cur.x[at]
                            } else {
                                nxt.x[at]
                            }
                        }
                        1 => {
                            if dz == 0 {
                                cur.y[at]
                            } else {
                                nxt.y[at]
                            }
                        }
                        _ => z[at],
                    }
                };
                let (s, e) = (table.start[case] as usize, table.start[case + 1] as usize);
                for t in &table.tris[s..e] {
                    triangles.push([vid(t[0]), vid(t[1]), vid(t[2])]);
                }
            }
        }
        std::mem::swap(&mut cur, &mut nxt);
    }
    Slab { vertices, triangles, bottom, top_start, histogram }
}

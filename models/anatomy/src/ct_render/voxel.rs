//! Bones filled by ray parity on an anisotropic grid, their voxels given a tissue by depth, and
//! the body around them (soft tissue, fat, skin, air).

use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use rayon::prelude::*;

use coxa_core::{Grid, Mesh};

use super::{Tissue, filled};
use crate::labels::{FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM};
use crate::landmarks::FemurLandmarks;
use crate::segment::{edt, lattice::Lattice};

/// The bone labels and HU (bones by tissue, then the body) of `posed` on `grid`.
pub(super) fn bones_and_body(grid: &Grid, posed: &[(u16, Mesh)], femurs: &[(u16, FemurLandmarks)], t: &Tissue) -> (Array3<f32>, Array3<u16>) {
    let mut labels = filled(grid, 0u16);
    // Pelvis first, femurs last (a femur pressed into its socket keeps its head).
    let mut order: Vec<&(u16, Mesh)> = posed.iter().collect();
    order.sort_by_key(|(l, _)| u8::from(*l == FEMUR_LEFT || *l == FEMUR_RIGHT));
    for (l, m) in &order {
        fill_parity(&mut labels, grid, *l, m);
    }
    sacroiliac_seam(&mut labels, grid, posed);
    let mut hu = filled(grid, f32::NAN);
    let sp = grid.spacing_mm();
    let half = (sp.x + sp.y + sp.z) / 6.0;
    for (label, mesh) in posed {
        let Some((lo, hi)) = index_box(grid, mesh, 2) else { continue };
        let lat = Lattice::crop(grid, lo, hi);
        let [bi, bj, bk] = lat.dims;
        let mask: Vec<bool> = (0..lat.len())
            .map(|v| {
                let [i, j, k] = lat.ijk(v);
                labels[[k + lo[2], j + lo[1], i + lo[0]]] == *label
            })
            .collect();
        let depth = edt::inside_distance(&lat, &mask);
        let zone = Zone::of(*label, femurs, mesh);
        for k in 0..bk {
            for j in 0..bj {
                for i in 0..bi {
                    let v = lat.idx(i, j, k);
                    if !mask[v] {
                        continue;
                    }
                    let p = grid.voxel_to_lps(Vector3::new((i + lo[0]) as f64, (j + lo[1]) as f64, (k + lo[2]) as f64));
                    hu[[k + lo[2], j + lo[1], i + lo[0]]] = zone.hu(&p, f64::from(depth[v]) - half, t);
                }
            }
        }
    }
    body(grid, &labels, &mut hu, femurs, t);
    (hu, labels)
}

/// What a bone's voxels are made of, by position.
enum Zone {
    /// A femur: head centre and radius, unit shaft axis (distal), where the diaphysis begins and
    /// ends along it (mm from the head centre).
    Femur { c: Point3<f64>, r: f64, axis: Vector3<f64>, shaft: (f64, f64) },
    /// A hip bone with its femoral head (the socket), if any.
    Hip(Option<(Point3<f64>, f64)>),
    /// The sacrum or another bone.
    Other,
}

impl Zone {
    fn of(label: u16, femurs: &[(u16, FemurLandmarks)], mesh: &Mesh) -> Self {
        let femur = |l: u16| femurs.iter().find(|(id, _)| *id == l).map(|(_, f)| f);
        match label {
            FEMUR_LEFT | FEMUR_RIGHT => match femur(label) {
                Some(f) => {
                    let c = f.head_centre.lps_mm;
                    let mut axis = f.shaft_axis.direction_lps.normalize();
                    if axis.z > 0.0 {
                        axis = -axis;
                    }
                    let lt = (f.lesser_trochanter.lps_mm - c).dot(&axis);
                    let end = mesh.vertices().iter().map(|v| (v - c).dot(&axis)).fold(f64::NEG_INFINITY, f64::max);
                    Zone::Femur { c, r: f.head_radius_mm, axis, shaft: (lt + 15.0, end - 80.0) }
                }
                None => Zone::Other,
            },
            HIP_LEFT | HIP_RIGHT => {
                let f = femur(if label == HIP_LEFT { FEMUR_LEFT } else { FEMUR_RIGHT });
                Zone::Hip(f.map(|f| (f.head_centre.lps_mm, f.head_radius_mm)))
            }
            _ => Zone::Other,
        }
    }

    /// HU of a bone voxel at `p`, `depth_mm` under the bone's surface.
    fn hu(&self, p: &Point3<f64>, depth_mm: f64, t: &Tissue) -> f32 {
        let (cortex, inner) = match *self {
            Zone::Femur { c, r, axis, shaft } => {
                if (p - c).norm() < r + 1.0 {
                    (t.subchondral_mm, t.trabecular_head_hu)
                } else {
                    let s = (p - c).dot(&axis);
                    let w = ramp(s, shaft.0, shaft.0 + 30.0) * (1.0 - ramp(s, shaft.1 - 30.0, shaft.1));
                    (t.femur_cortex_mm + w * (t.diaphysis_cortex_mm - t.femur_cortex_mm), t.trabecular_hu + w as f32 * (t.marrow_hu - t.trabecular_hu))
                }
            }
            Zone::Hip(Some((c, r))) if (p - c).norm() < r + 8.0 => (t.subchondral_mm, t.trabecular_hu),
            Zone::Hip(_) | Zone::Other => (t.pelvis_cortex_mm, t.trabecular_hu),
        };
        if depth_mm <= cortex { t.cortical_hu } else { inner }
    }
}

/// 0 below `a`, 1 above `b`, linear between.
fn ramp(x: f64, a: f64, b: f64) -> f64 {
    ((x - a) / (b - a)).clamp(0.0, 1.0)
}

/// The index box `[lo, hi)` (`[i, j, k]`) of `mesh` on `grid`, grown by `pad` voxels; `None` off the grid.
pub(super) fn index_box(grid: &Grid, mesh: &Mesh, pad: usize) -> Option<([usize; 3], [usize; 3])> {
    let (a, b) = mesh.bounds()?;
    let (va, vb) = (grid.lps_to_voxel(&a), grid.lps_to_voxel(&b));
    let size = grid.size();
    let mut lo = [0; 3];
    let mut hi = [0; 3];
    for x in 0..3 {
        let (l, h) = (va[x].min(vb[x]).floor() - pad as f64, va[x].max(vb[x]).ceil() + 1.0 + pad as f64);
        lo[x] = l.max(0.0) as usize;
        hi[x] = (h.max(0.0) as usize).min(size[x]);
        if lo[x] >= hi[x] {
            return None;
        }
    }
    Some((lo, hi))
}

/// Sets `label` in every voxel whose centre is inside the closed surface `mesh`: crossings of each
/// x row through voxel centres, filled between pairs (rows a few nanometres off the centres, so
/// that none passes exactly through a vertex or an edge). Axis-aligned grids.
pub(super) fn fill_parity(labels: &mut Array3<u16>, grid: &Grid, label: u16, mesh: &Mesh) {
    let (nk, nj, ni) = labels.dim();
    let (o, s) = (grid.voxel_to_lps(Vector3::zeros()), grid.spacing_mm());
    let (dy, dz) = (3.1416e-6, 2.7183e-6);
    let mut hits: Vec<Vec<f64>> = vec![Vec::new(); nj * nk];
    let vs = mesh.vertices();
    for tri in mesh.triangles() {
        let [a, b, c] = tri.map(|i| vs[i as usize]);
        let det = (b.y - a.y) * (c.z - a.z) - (c.y - a.y) * (b.z - a.z);
        if det.abs() < 1e-18 {
            continue;
        }
        let (ymin, ymax) = (a.y.min(b.y).min(c.y), a.y.max(b.y).max(c.y));
        let (zmin, zmax) = (a.z.min(b.z).min(c.z), a.z.max(b.z).max(c.z));
        let j0 = ((ymin - o.y - dy) / s.y).ceil().max(0.0) as usize;
        let j1 = ((ymax - o.y - dy) / s.y).floor().min(nj as f64 - 1.0);
        let k0 = ((zmin - o.z - dz) / s.z).ceil().max(0.0) as usize;
        let k1 = ((zmax - o.z - dz) / s.z).floor().min(nk as f64 - 1.0);
        if j1 < 0.0 || k1 < 0.0 {
            continue;
        }
        for k in k0..=k1 as usize {
            let z = o.z + k as f64 * s.z + dz;
            for j in j0..=j1 as usize {
                let y = o.y + j as f64 * s.y + dy;
                let u = ((y - a.y) * (c.z - a.z) - (c.y - a.y) * (z - a.z)) / det;
                let w = ((b.y - a.y) * (z - a.z) - (y - a.y) * (b.z - a.z)) / det;
                if u >= 0.0 && w >= 0.0 && u + w <= 1.0 {
                    hits[k * nj + j].push(a.x + u * (b.x - a.x) + w * (c.x - a.x));
                }
            }
        }
    }
    for (row, xs) in hits.iter_mut().enumerate() {
        if xs.len() < 2 {
            continue;
        }
        xs.sort_by(f64::total_cmp);
        let (k, j) = (row / nj, row % nj);
        for pair in xs.chunks_exact(2) {
            let i0 = ((pair[0] - o.x) / s.x).ceil().max(0.0) as usize;
            let i1 = ((pair[1] - o.x) / s.x).floor();
            if i1 < 0.0 {
                continue;
            }
            for i in i0..=(i1 as usize).min(ni - 1) {
                labels[[k, j, i]] = label;
            }
        }
    }
}

/// Where the sacrum touches a hip bone (the model's sacroiliac joints are a few tenths of a
/// millimetre wide), the voxels of either with a voxel of the other among their 26 neighbours
/// become soft tissue: a seam about two voxels wide, as the joint shows on CT.
fn sacroiliac_seam(labels: &mut Array3<u16>, grid: &Grid, posed: &[(u16, Mesh)]) {
    let Some((lo, hi)) = posed.iter().find(|(l, _)| *l == SACRUM).and_then(|(_, m)| index_box(grid, m, 2)) else { return };
    let pelvic = |l: u16| l == SACRUM || l == HIP_LEFT || l == HIP_RIGHT;
    let (nk, nj, ni) = labels.dim();
    let mut seam = Vec::new();
    for k in lo[2]..hi[2] {
        for j in lo[1]..hi[1] {
            for i in lo[0]..hi[0] {
                let own = labels[[k, j, i]];
                if !pelvic(own) {
                    continue;
                }
                let other = (0..27).any(|n| {
                    let (kk, jj, ii) = ((k + n / 9).wrapping_sub(1), (j + (n / 3) % 3).wrapping_sub(1), (i + n % 3).wrapping_sub(1));
                    kk < nk && jj < nj && ii < ni && {
                        let l = labels[[kk, jj, ii]];
                        pelvic(l) && l != own && (l == SACRUM || own == SACRUM)
                    }
                });
                if other {
                    seam.push([k, j, i]);
                }
            }
        }
    }
    for ijk in seam {
        labels[ijk] = 0;
    }
}

/// The body: per axial slice an ellipse around the slice's bones (one around everything where a
/// pelvic bone is, else one per femur: the thighs), grown by the soft tissue; skin at its edge,
/// fat under the skin, muscle inside; air outside. The joint space (within 6 mm of a femoral
/// head's sphere) is `joint_hu`.
fn body(grid: &Grid, labels: &Array3<u16>, hu: &mut Array3<f32>, femurs: &[(u16, FemurLandmarks)], t: &Tissue) {
    let (_, nj, ni) = labels.dim();
    let heads: Vec<(Point3<f64>, f64)> = femurs.iter().map(|(_, f)| (f.head_centre.lps_mm, f.head_radius_mm)).collect();
    let (lab, out) = (labels.as_slice().unwrap_or_default(), hu.as_slice_mut().unwrap_or_default());
    out.par_chunks_mut(nj * ni).enumerate().for_each(|(k, slice)| {
        let ls = &lab[k * nj * ni..(k + 1) * nj * ni];
        // Boxes (x0, x1, y0, y1) in voxels: [trunk, femur left, femur right].
        let mut boxes = [[usize::MAX, 0, usize::MAX, 0]; 3];
        for (v, &l) in ls.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let g = match l {
                FEMUR_LEFT => 1,
                FEMUR_RIGHT => 2,
                _ => 0,
            };
            let (i, j) = (v % ni, v / ni);
            let b = &mut boxes[g];
            *b = [b[0].min(i), b[1].max(i), b[2].min(j), b[3].max(j)];
        }
        let ok = |b: &[usize; 4]| b[0] <= b[1];
        let merged: Vec<[usize; 4]> = if ok(&boxes[0]) {
            vec![boxes.iter().filter(|b| ok(b)).fold([usize::MAX, 0, usize::MAX, 0], |a, b| [a[0].min(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].max(b[3])])]
        } else {
            boxes[1..].iter().filter(|b| ok(b)).copied().collect()
        };
        let ellipses: Vec<[f64; 4]> = merged
            .iter()
            .map(|b| {
                let p0 = grid.voxel_to_lps(Vector3::new(b[0] as f64, b[2] as f64, k as f64));
                let p1 = grid.voxel_to_lps(Vector3::new(b[1] as f64, b[3] as f64, k as f64));
                [0.5 * (p0.x + p1.x), 0.5 * (p0.y + p1.y), 0.5 * (p1.x - p0.x).abs() + t.soft_tissue_mm, 0.5 * (p1.y - p0.y).abs() + t.soft_tissue_mm]
            })
            .collect();
        for (v, h) in slice.iter_mut().enumerate() {
            if !h.is_nan() {
                continue;
            }
            let p = grid.voxel_to_lps(Vector3::new((v % ni) as f64, (v / ni) as f64, k as f64));
            let inside = |shrink: f64| ellipses.iter().any(|e| ((p.x - e[0]) / (e[2] - shrink)).powi(2) + ((p.y - e[1]) / (e[3] - shrink)).powi(2) <= 1.0);
            *h = if heads.iter().any(|(c, r)| (p - c).norm() < r + 6.0) {
                t.joint_hu
            } else if inside(t.fat_mm + t.skin_mm) {
                t.muscle_hu
            } else if inside(t.skin_mm) {
                t.fat_hu
            } else if inside(0.0) {
                t.skin_hu
            } else {
                t.air_hu
            };
        }
    });
}

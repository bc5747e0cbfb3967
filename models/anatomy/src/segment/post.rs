//! Per-bone clean-up after the split: closing (fills cortex gaps of partial volume) and filling
//! of marrow cavities, each bone on its own so that no two bones are bridged.

use super::edt::squared_distance_to;
use super::lattice::Lattice;
use super::mask::{fill_cavities, fill_small_slice_holes};
use super::sphere::{self, Sphere};

/// Closes class `c` of `class` with a ball of `radius_mm` (dilation then erosion, exact
/// Euclidean, anisotropic) and fills its cavities and its small holes in slices along each of
/// the three index axes; only unlabelled voxels are added. Returns the number of voxels added.
pub(crate) fn close_and_fill(lat: &Lattice, class: &mut [u8], c: u8, radius_mm: f64, max_hole_mm2: f64) -> usize {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (v, _) in class.iter().enumerate().filter(|(_, k)| **k == c) {
        let ijk = lat.ijk(v);
        for a in 0..3 {
            lo[a] = lo[a].min(ijk[a]);
            hi[a] = hi[a].max(ijk[a] + 1);
        }
    }
    if lo[0] == usize::MAX {
        return 0;
    }
    for a in 0..3 {
        let m = (radius_mm / lat.spacing_mm[a]).ceil() as usize + 1;
        lo[a] = lo[a].saturating_sub(m);
        hi[a] = (hi[a] + m).min(lat.dims[a]);
    }
    let sub = lat.sub(lo, hi);
    let to_outer = |v: usize| sub.index_in(lat, v);
    let r2 = (radius_mm * radius_mm) as f32;
    let own: Vec<bool> = (0..sub.len()).map(|v| class[to_outer(v)] == c).collect();
    let grown = squared_distance_to(&sub, |v| own[v]);
    let dilated: Vec<bool> = grown.iter().map(|&d| d <= r2).collect();
    let shrunk = squared_distance_to(&sub, |v| !dilated[v]);
    let mut closed: Vec<bool> = (0..sub.len()).map(|v| own[v] || (dilated[v] && shrunk[v] > r2)).collect();
    let _ = fill_cavities(&sub, &mut closed);
    // Axial slices first (a shaft's marrow is closed there), then the other two, whose slices
    // see that marrow closed from below.
    let axial = sub.axial_axis();
    for axis in [axial, (axial + 1) % 3, (axial + 2) % 3] {
        let _ = fill_small_slice_holes(&sub, &mut closed, max_hole_mm2, axis);
    }
    let mut added = 0;
    for (v, _) in closed.iter().enumerate().filter(|(_, k)| **k) {
        let w = to_outer(v);
        if class[w] == 0 {
            class[w] = c;
            added += 1;
        }
    }
    added
}

/// The largest island of a bone [`merge_islands`] gives to another bone, mm³ (5 ml): a spur of a
/// few voxels, never a bone's own fragment of that size.
pub(crate) const MAX_ISLAND_MM3: f64 = 5000.0;

/// Each bone is one piece: a part of class `c` (for each of `classes`) not 26-connected to the
/// class's largest part, of at most `max_island_mm3`, that touches another bone (face
/// neighbours) becomes the bone it touches most; an island that touches no other bone stays.
/// Such islands are what the seeded split leaves where a bone's flood enters its neighbour
/// through a narrow seam and is cut off from it (issue 60): on the real example CT, 19 voxels
/// (0.5 ml) of the right hip bone inside the femoral neck at the CT's lowest slices, which
/// TotalSegmentator labels femur and which stopped adduction at 11.5 deg (69.1 with
/// TotalSegmentator's bones). Returns the number of voxels moved.
pub(crate) fn merge_islands(lat: &Lattice, class: &mut [u8], classes: &[u8], max_island_mm3: f64) -> usize {
    let voxel_mm3: f64 = lat.spacing_mm.iter().product();
    let max_voxels = (max_island_mm3 / voxel_mm3).floor() as usize;
    let mut moved = 0;
    for &c in classes {
        // The parts of class c, each a list of voxels (26-connected).
        let mut seen = vec![false; lat.len()];
        let mut parts: Vec<Vec<usize>> = Vec::new();
        for start in 0..lat.len() {
            if class[start] != c || seen[start] {
                continue;
            }
            seen[start] = true;
            let mut part = vec![start];
            let mut next = 0;
            while next < part.len() {
                let v = part[next];
                next += 1;
                lat.for_neighbours(v, true, |w| {
                    if class[w] == c && !seen[w] {
                        seen[w] = true;
                        part.push(w);
                    }
                });
            }
            parts.push(part);
        }
        let Some(main) = parts.iter().enumerate().max_by_key(|(_, p)| p.len()).map(|(n, _)| n) else { continue };
        for (n, part) in parts.iter().enumerate() {
            if n == main || part.len() > max_voxels {
                continue;
            }
            let mut touches = [0usize; 256];
            for &v in part {
                lat.for_neighbours(v, false, |w| {
                    if class[w] != 0 && class[w] != c {
                        touches[class[w] as usize] += 1;
                    }
                });
            }
            let (other, count) = touches.iter().enumerate().max_by_key(|(_, n)| **n).map_or((0, 0), |(k, n)| (k, *n));
            if count > 0 {
                for &v in part {
                    class[v] = other as u8;
                }
                moved += part.len();
            }
        }
    }
    moved
}

/// One femoral head for [`fit_head`] and [`apply_head`].
pub(crate) struct HeadJob<'a> {
    /// Bone mask.
    pub bone: &'a [bool],
    /// Femur and hip class of this side.
    pub femur: u8,
    /// Hip class of this side.
    pub hip: u8,
    /// A voxel inside the head (its deepest point).
    pub start: usize,
    /// Unit vector pointing lateral on this side (LPS).
    pub lateral: [f64; 3],
    /// Unit vector pointing superior (LPS).
    pub superior: [f64; 3],
}

/// The voxels within `search_mm` of the head's start voxel.
pub(crate) fn head_box(lat: &Lattice, job: &HeadJob<'_>, search_mm: f64) -> Vec<usize> {
    let c0 = lat.ijk(job.start);
    let mut lo = [0usize; 3];
    let mut hi = [0usize; 3];
    for a in 0..3 {
        let m = (search_mm / lat.spacing_mm[a]).ceil() as usize;
        lo[a] = c0[a].saturating_sub(m);
        hi[a] = (c0[a] + m + 1).min(lat.dims[a]);
    }
    let start = lat.lps(job.start);
    (lo[2]..hi[2])
        .flat_map(|k| (lo[1]..hi[1]).flat_map(move |j| (lo[0]..hi[0]).map(move |i| (i, j, k))))
        .map(|(i, j, k)| lat.idx(i, j, k))
        .filter(|&v| dist(&lat.lps(v), &start) <= search_mm)
        .collect()
}

/// Fits a sphere (RANSAC) to the interface between femur and acetabulum near the head: femur
/// voxels touching the hip, away from metal (`near_metal`). The radius lies in `radius_mm`, the
/// centre within `max_shift_mm` of `around` (LPS). The fitted radius is grown by half a voxel:
/// the interface voxels' centres lie half a voxel inside the surface.
#[expect(clippy::too_many_arguments, reason = "internal helper called from one place with the pipeline's state")]
pub(crate) fn fit_head(lat: &Lattice, class: &[u8], job: &HeadJob<'_>, in_box: &[usize], near_metal: &[bool], radius_mm: (f64, f64), around: [f64; 3], max_shift_mm: f64) -> Option<Sphere> {
    let pts: Vec<[f64; 3]> = in_box
        .iter()
        .copied()
        .filter(|&v| {
            let mut touches = false;
            if class[v] == job.femur && !near_metal[v] {
                lat.for_neighbours(v, true, |w| touches |= class[w] == job.hip);
            }
            touches
        })
        .map(|v| lat.lps(v))
        .collect();
    let smax = lat.spacing_mm.iter().copied().fold(0.0, f64::max);
    let half_voxel = 0.5 * lat.spacing_mm.iter().product::<f64>().cbrt();
    let band = (0.8 * smax).max(1.5);
    let accept = |c: &[f64; 3], r: f64| (radius_mm.0..=radius_mm.1).contains(&r) && dist(c, &around) <= max_shift_mm;
    sphere::ransac(&pts, band, 1500, accept).map(|s| Sphere { radius: s.radius + half_voxel, ..s })
}

/// Inside `s`, hip voxels become femur, and unlabelled ones inside the head's surface; femur
/// voxels just outside it (up to 12 mm) on the acetabular side (not towards the neck: lateral
/// component at most 0.3, or superior component at least 0.6 of the offset) become hip (bone) or
/// background. With `space = Some(h)` (`s` the middle of a joint space of half width `h`, found
/// along rays), the space itself (within `h` of the sphere, on the acetabular side) becomes
/// background, the head's surface lies `h` inside `s` and femur becomes hip from `h` outside it;
/// with `None` (`s` fitted to the label interface) the head's surface is `s` and femur becomes
/// hip from a voxel outside it.
pub(crate) fn apply_head(lat: &Lattice, class: &mut [u8], job: &HeadJob<'_>, in_box: &[usize], s: &Sphere, space: Option<f64>) {
    let smax = lat.spacing_mm.iter().copied().fold(0.0, f64::max);
    let half = space.unwrap_or(0.0);
    let beyond = space.unwrap_or(smax);
    for &v in in_box {
        let p = lat.lps(v);
        let d: Vec<f64> = (0..3).map(|a| p[a] - s.centre[a]).collect();
        let r = d.iter().map(|x| x * x).sum::<f64>().sqrt();
        let lateral = (0..3).map(|a| d[a] * job.lateral[a]).sum::<f64>();
        let superior = (0..3).map(|a| d[a] * job.superior[a]).sum::<f64>();
        let socket_side = lateral <= 0.3 * r || superior >= 0.6 * r;
        if space.is_some() && socket_side && (r - s.radius).abs() < half {
            if class[v] == job.femur || class[v] == job.hip {
                class[v] = 0;
            }
        } else if r < s.radius {
            if class[v] == job.hip || (class[v] == 0 && r < s.radius - half) {
                class[v] = job.femur;
            }
        } else if class[v] == job.femur && r > s.radius + beyond && r < s.radius + 12.0 && socket_side {
            class[v] = if job.bone[v] { job.hip } else { 0 };
        }
    }
}

fn dist(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bone's island inside its neighbour joins the neighbour; an island touching no other bone,
    /// and an island larger than the bound, stay; the main part is never moved.
    #[test]
    fn a_bones_islands_join_the_bone_they_touch() {
        let lat = Lattice::test([12, 6, 6], [1.0, 1.0, 1.0]);
        let mut class = vec![0u8; lat.len()];
        for k in 0..6 {
            for j in 0..6 {
                for i in 0..12 {
                    let v = lat.idx(i, j, k);
                    class[v] = if i < 5 {
                        1
                    } else if i < 9 {
                        2
                    } else {
                        0
                    };
                }
            }
        }
        // A two-voxel island of class 1 inside class 2, one voxel of class 1 alone in the air,
        // and a block of class 1 (8 voxels) inside class 2 that is over a 7 mm3 bound.
        let island = [lat.idx(7, 2, 2), lat.idx(7, 3, 2)];
        for &v in &island {
            class[v] = 1;
        }
        let alone = lat.idx(11, 5, 5);
        class[alone] = 1;
        let mut big = class.clone();
        for k in 4..6 {
            for j in 4..6 {
                for i in 6..8 {
                    big[lat.idx(i, j, k)] = 1;
                }
            }
        }
        let moved = merge_islands(&lat, &mut class, &[1, 2], 7.0);
        assert_eq!(moved, 2);
        assert!(island.iter().all(|&v| class[v] == 2));
        assert_eq!(class[alone], 1);
        assert_eq!(class.iter().filter(|&&c| c == 1).count(), 5 * 36 + 1);
        let before = big.clone();
        assert_eq!(merge_islands(&lat, &mut big, &[1, 2], 7.0), 2, "only the two-voxel island moves");
        assert_eq!(big.iter().zip(&before).filter(|(a, b)| a != b).count(), 2);
    }
}

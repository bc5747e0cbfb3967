//! The spinal canal in a CT: the CSF/cord-density region enclosed by vertebral bone.
//!
//! On CT the canal's contents (CSF 0-15 HU, cord 30-40 HU, some epidural fat) have the density of
//! muscle, so the canal cannot be told from muscle by HU; it is told by where it is: inside a ring
//! of bone. Per axial slice (the index axis closest to the patient's head-foot axis):
//!
//! 1. bone is HU >= [`BONE_HU`];
//! 2. the bone is dilated by a disc of [`CLOSE_MM`] (bridging the gaps of a partial ring: the
//!    narrow clefts between lamina and pedicle, partial volume of thin cortex), and the regions
//!    of non-bone that are not connected to the slice's border (4-connectivity) are the holes;
//! 3. the holes are grown back by the same disc inside non-bone voxels of canal density
//!    ([`CONTENT_WINDOW_HU`]), undoing the dilation (together: a morphological closing);
//! 4. a hole counts when its area is that of a spinal canal ([`AREA_MM2`]) and its median HU is
//!    that of CSF and cord ([`MEDIAN_WINDOW_HU`]): the fatty marrow of a femoral shaft (below
//!    -30 HU) and the cancellous bone of a vertebral body (above 70 HU) are not canal.
//!
//! Across slices the holes are linked into tracks (a hole joins the track whose last hole lies
//! at most [`MAX_GAP_MM`] above it and whose centre is within [`LINK_MM`] in the slice plane).
//! At the levels of the discs and foramina the bony ring is open; a track bridges such slices,
//! and the canal there is the part of its neighbours' footprint (the intersection of the hole
//! above and the hole below) that is of canal density. The canal is the longest track, if it is
//! at least [`MIN_LENGTH_MM`] long (a CT without a spine has no canal).
//!
//! Written here: the steps are a few loops over slices, in parallel with rayon; a morphology
//! crate would add a dependency for a dilation and a flood fill.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;
use serde::Serialize;

/// Bone for the ring: HU at or above this (cortical bone and dense cancellous bone).
pub const BONE_HU: f32 = 180.0;
/// Radius of the closing disc, mm.
pub const CLOSE_MM: f64 = 4.5;
/// HU a canal voxel may have (CSF, cord, epidural fat in partial volume).
pub const CONTENT_WINDOW_HU: [f32; 2] = [-80.0, 100.0];
/// The median HU of a canal cross-section (CSF and cord).
pub const MEDIAN_WINDOW_HU: [f32; 2] = [-30.0, 70.0];
/// Cross-section area of a spinal canal, mm² (cervical to lumbar, stenotic to wide, with the
/// partial-volume rim).
pub const AREA_MM2: [f64; 2] = [40.0, 800.0];
/// Most distance between the centres of holes on consecutive canal slices, mm.
pub const LINK_MM: f64 = 12.0;
/// Longest stretch without a closed ring a track bridges, mm.
pub const MAX_GAP_MM: f64 = 15.0;
/// Shortest canal, mm.
pub const MIN_LENGTH_MM: f64 = 20.0;

/// What was found of the canal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanalSummary {
    /// Whether a canal was found.
    pub found: bool,
    /// Slices holding canal voxels (bridged slices included).
    pub slices: usize,
    /// Slices where bone closes the ring.
    pub enclosed_slices: usize,
    /// From the first to the last canal slice, mm.
    pub length_mm: f64,
    /// Canal voxels.
    pub voxels: usize,
}

/// One hole of one slice: its pixels (flat, sorted) and centre (mm in the slice plane).
struct Hole {
    pixels: Vec<usize>,
    centre_mm: [f64; 2],
}

/// The canal mask (1 inside) of `hu` (array order `[k, j, i]`), slices along array axis `axis`,
/// `spacing_mm` in array order.
pub(crate) fn find(hu: ArrayView3<'_, f32>, axis: usize, spacing_mm: [f64; 3]) -> (Array3<u8>, CanalSummary) {
    let plane: Vec<usize> = (0..3).filter(|&a| a != axis).collect();
    let ps = [spacing_mm[plane[0]], spacing_mm[plane[1]]];
    let dz = spacing_mm[axis];
    let n = hu.len_of(Axis(axis));
    let holes: Vec<Vec<Hole>> = (0..n).into_par_iter().map(|s| slice_holes(hu.index_axis(Axis(axis), s), ps)).collect();
    let mut mask = Array3::<u8>::zeros(hu.raw_dim());
    let track = longest_track(&holes, dz);
    let Some(track) = track.filter(|t| (t.last().map_or(0, |m| m.0) - t[0].0) as f64 * dz >= MIN_LENGTH_MM) else {
        return (mask, CanalSummary { found: false, slices: 0, enclosed_slices: 0, length_mm: 0.0, voxels: 0 });
    };
    let width = hu.len_of(Axis(plane[1]));
    let mut slices = 0;
    for (w, &(s, h)) in track.iter().enumerate() {
        let mut put = |slice: usize, pixels: &[usize]| {
            let mut m = mask.index_axis_mut(Axis(axis), slice);
            for &p in pixels {
                m[[p / width, p % width]] = 1;
            }
        };
        put(s, &holes[s][h].pixels);
        slices += 1;
        if let Some(&(s2, h2)) = track.get(w + 1) {
            let common = intersect(&holes[s][h].pixels, &holes[s2][h2].pixels);
            for between in s + 1..s2 {
                let view = hu.index_axis(Axis(axis), between);
                let keep: Vec<usize> = common.iter().copied().filter(|&p| in_window(view[[p / width, p % width]], CONTENT_WINDOW_HU)).collect();
                put(between, &keep);
                slices += usize::from(!keep.is_empty());
            }
        }
    }
    let voxels = mask.iter().filter(|&&v| v == 1).count();
    let length_mm = (track[track.len() - 1].0 - track[0].0 + 1) as f64 * dz;
    (mask, CanalSummary { found: true, slices, enclosed_slices: track.len(), length_mm, voxels })
}

fn in_window(v: f32, w: [f32; 2]) -> bool {
    v >= w[0] && v <= w[1]
}

fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Offsets of a disc of `radius_mm` on pixels of `ps` (at least the 4-neighbours).
fn disc(radius_mm: f64, ps: [f64; 2]) -> Vec<(isize, isize)> {
    let r0 = (radius_mm / ps[0]).floor().max(1.0) as isize;
    let r1 = (radius_mm / ps[1]).floor().max(1.0) as isize;
    let mut out = Vec::new();
    for d0 in -r0..=r0 {
        for d1 in -r1..=r1 {
            let (a, b) = (d0 as f64 * ps[0], d1 as f64 * ps[1]);
            if a * a + b * b <= radius_mm.max(ps[0]).max(ps[1]).powi(2) + 1e-9 {
                out.push((d0, d1));
            }
        }
    }
    out
}

fn dilate(m: &Array2<bool>, offsets: &[(isize, isize)]) -> Array2<bool> {
    let (n0, n1) = m.dim();
    let mut out = Array2::from_elem((n0, n1), false);
    for ((a, b), &v) in m.indexed_iter() {
        if v {
            for &(d0, d1) in offsets {
                let (x, y) = (a as isize + d0, b as isize + d1);
                if x >= 0 && y >= 0 && (x as usize) < n0 && (y as usize) < n1 {
                    out[[x as usize, y as usize]] = true;
                }
            }
        }
    }
    out
}

/// 4-connected components of `m` (labels from 1; 0 outside).
fn components(m: &Array2<bool>) -> (Array2<u32>, u32) {
    let (n0, n1) = m.dim();
    let mut lab = Array2::<u32>::zeros((n0, n1));
    let mut next = 0;
    let mut stack = Vec::new();
    for a in 0..n0 {
        for b in 0..n1 {
            if !m[[a, b]] || lab[[a, b]] != 0 {
                continue;
            }
            next += 1;
            lab[[a, b]] = next;
            stack.push((a, b));
            while let Some((x, y)) = stack.pop() {
                let mut visit = |x: usize, y: usize| {
                    if m[[x, y]] && lab[[x, y]] == 0 {
                        lab[[x, y]] = next;
                        stack.push((x, y));
                    }
                };
                if x > 0 {
                    visit(x - 1, y);
                }
                if x + 1 < n0 {
                    visit(x + 1, y);
                }
                if y > 0 {
                    visit(x, y - 1);
                }
                if y + 1 < n1 {
                    visit(x, y + 1);
                }
            }
        }
    }
    (lab, next)
}

/// The canal-like holes of one slice.
fn slice_holes(hu: ArrayView2<'_, f32>, ps: [f64; 2]) -> Vec<Hole> {
    let (n0, n1) = hu.dim();
    let bone = hu.mapv(|v| v >= BONE_HU);
    if !bone.iter().any(|&b| b) {
        return Vec::new();
    }
    let offsets = disc(CLOSE_MM, ps);
    let closed = dilate(&bone, &offsets);
    // Non-bone regions touching the border are outside; the rest are holes.
    let (lab, count) = components(&closed.mapv(|b| !b));
    let mut outside = vec![false; count as usize + 1];
    for a in 0..n0 {
        for b in 0..n1 {
            if a == 0 || b == 0 || a + 1 == n0 || b + 1 == n1 {
                outside[lab[[a, b]] as usize] = true;
            }
        }
    }
    let holes = lab.mapv(|l| l != 0 && !outside[l as usize]);
    if !holes.iter().any(|&h| h) {
        return Vec::new();
    }
    let grown = dilate(&holes, &offsets);
    let region = ndarray::Zip::from(&grown).and(&bone).and(&hu).map_collect(|&g, &b, &v| g && !b && in_window(v, CONTENT_WINDOW_HU));
    let (lab, count) = components(&region);
    let mut pixels: Vec<Vec<usize>> = vec![Vec::new(); count as usize + 1];
    for ((a, b), &l) in lab.indexed_iter() {
        if l != 0 {
            pixels[l as usize].push(a * n1 + b);
        }
    }
    let pixel_mm2 = ps[0] * ps[1];
    pixels
        .into_iter()
        .skip(1)
        .filter_map(|px| {
            let area = px.len() as f64 * pixel_mm2;
            if !(AREA_MM2[0]..=AREA_MM2[1]).contains(&area) {
                return None;
            }
            let mut values: Vec<f32> = px.iter().map(|&p| hu[[p / n1, p % n1]]).collect();
            values.sort_by(f32::total_cmp);
            let median = values[values.len() / 2];
            if !in_window(median, MEDIAN_WINDOW_HU) {
                return None;
            }
            let (s0, s1) = px.iter().fold((0.0, 0.0), |(a, b), &p| (a + (p / n1) as f64, b + (p % n1) as f64));
            let centre_mm = [s0 / px.len() as f64 * ps[0], s1 / px.len() as f64 * ps[1]];
            Some(Hole { pixels: px, centre_mm })
        })
        .collect()
}

/// The longest chain of linked holes: `(slice, hole index)` in slice order.
fn longest_track(holes: &[Vec<Hole>], dz: f64) -> Option<Vec<(usize, usize)>> {
    let max_skip = (MAX_GAP_MM / dz).floor() as usize + 1;
    let mut tracks: Vec<Vec<(usize, usize)>> = Vec::new();
    for (s, hs) in holes.iter().enumerate() {
        let mut taken = vec![false; tracks.len()];
        for (h, hole) in hs.iter().enumerate() {
            let mut best: Option<(usize, f64)> = None;
            for (t, track) in tracks.iter().enumerate() {
                let &(ls, lh) = track.last().expect("tracks are never empty");
                if taken[t] || ls >= s || s - ls > max_skip {
                    continue;
                }
                let c = holes[ls][lh].centre_mm;
                let d = ((c[0] - hole.centre_mm[0]).powi(2) + (c[1] - hole.centre_mm[1]).powi(2)).sqrt();
                if d <= LINK_MM && best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((t, d));
                }
            }
            match best {
                Some((t, _)) => {
                    tracks[t].push((s, h));
                    taken[t] = true;
                }
                None => {
                    tracks.push(vec![(s, h)]);
                    taken.push(true);
                }
            }
        }
    }
    let extent = |t: &Vec<(usize, usize)>| (t[t.len() - 1].0 - t[0].0, t.iter().map(|&(s, h)| holes[s][h].pixels.len()).sum::<usize>());
    tracks.into_iter().max_by_key(extent)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic spine: a bone ring (vertebral body in front, arch behind) around a CSF canal
    /// on every slice but every fourth (a disc level, the arch open), in muscle; a femur-like ring
    /// of fatty marrow beside it.
    fn phantom(n: usize) -> Array3<f32> {
        let mut hu = Array3::<f32>::from_elem((n, 40, 50), 40.0);
        for k in 0..n {
            for j in 0..40 {
                for i in 0..50 {
                    let (y, x) = (j as f64 - 20.0, i as f64 - 13.0);
                    let r = (x * x + y * y).sqrt();
                    let disc_level = k % 4 == 3;
                    if r < 7.0 {
                        hu[[k, j, i]] = 10.0; // CSF
                    } else if r < 10.0 && !(disc_level && y > 0.0) {
                        hu[[k, j, i]] = 700.0; // ring
                    }
                    let (y2, x2) = (j as f64 - 20.0, i as f64 - 38.0);
                    let r2 = (x2 * x2 + y2 * y2).sqrt();
                    if r2 < 6.0 {
                        hu[[k, j, i]] = -80.0; // fatty marrow
                    } else if r2 < 9.0 {
                        hu[[k, j, i]] = 900.0;
                    }
                }
            }
        }
        hu
    }

    #[test]
    fn the_canal_is_found_through_open_levels_and_the_marrow_is_not() {
        let hu = phantom(20);
        let (mask, summary) = find(hu.view(), 0, [3.0, 1.0, 1.0]);
        assert!(summary.found, "{summary:?}");
        // Slices 0..=18: the open levels 3, 7, 11, 15 bridged; the open last slice is past the
        // canal's end (nothing below it to bridge to).
        assert_eq!((summary.slices, summary.enclosed_slices), (19, 15), "{summary:?}");
        for k in 0..20 {
            assert_eq!(mask[[k, 20, 13]], u8::from(k < 19), "canal centre on slice {k}");
            assert_eq!(mask[[k, 20, 38]], 0, "marrow on slice {k}");
            assert_eq!(mask[[k, 2, 2]], 0, "muscle on slice {k}");
        }
        // Only CSF voxels (within the ring) are canal.
        assert!(mask.indexed_iter().all(|((k, j, i), &m)| m == 0 || hu[[k, j, i]] == 10.0));
    }

    #[test]
    fn a_short_ring_or_no_bone_is_no_canal() {
        let hu = phantom(5);
        let (_, summary) = find(hu.view(), 0, [3.0, 1.0, 1.0]);
        assert!(!summary.found, "15 mm is shorter than a canal: {summary:?}");
        let flat = Array3::<f32>::from_elem((10, 20, 20), 30.0);
        let (mask, summary) = find(flat.view(), 0, [3.0, 1.0, 1.0]);
        assert!(!summary.found && mask.iter().all(|&m| m == 0));
    }
}

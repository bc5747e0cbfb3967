//! The lumbar spine, which the sacrum's flood also reaches through facet joints and bridged
//! discs, is cut off above the sacrum.
//!
//! A vertebral body is a thick block: with its marrow filled its core lies deeper than
//! [`CORE_DEPTH_MM`], which no part of the sacrum below S1 does. Midline core voxels above the
//! top of the sacroiliac joints (the highest sacrum voxel within 8 mm of a hip bone) seed the
//! lumbar spine; core voxels below it, and the sacrum's own seeds, seed the sacrum. A
//! breadth-first flood inside the sacrum's region gives every voxel to the nearer seed along the
//! bone; what the lumbar seeds get is dropped. The cut thus falls between the lowest lumbar body
//! and the sacroiliac joints, near the L5/S1 disc.

use super::anatomy::{HipFrame, class};
use super::lattice::Lattice;
use super::{edt, flood, mask};

/// A vertebral body's core (marrow filled) lies at least this deep, mm: a lumbar body is
/// 25-35 mm tall and 35-50 mm across; the sacrum below S1 and a disc are thinner.
pub(crate) const CORE_DEPTH_MM: f64 = 6.0;
/// Largest slice hole filled when looking for vertebral bodies, mm² (a lumbar body's section).
const HOLE_MM2: f64 = 2500.0;
/// Smallest volume of a core component, mm³.
const CORE_MIN_MM3: f64 = 100.0;
/// Sacrum voxels at most this far from a hip bone face it across a sacroiliac joint, mm.
const SI_JOINT_MM: f64 = 8.0;
/// Class code of the lumbar spine while it is cut off.
const LUMBAR: u8 = 6;

/// What [`drop_lumbar`] did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LumbarCut {
    /// Height of the top of the sacroiliac joints above the heads, mm (hip frame).
    pub si_top_mm: f64,
    /// Voxels taken from the sacrum.
    pub dropped: usize,
}

/// Removes the lumbar spine from the sacrum class of `class` (see the module docs). `seeds` are
/// the sacrum's seed voxels (class [`class::SACRUM`]). `None` (and nothing removed) when no
/// sacrum voxel faces a hip bone: without sacroiliac joints there is no level to cut at.
///
/// Works in the sacrum's bounding box grown by the sacroiliac reach (and one voxel): every step
/// gives there what it gives on the whole lattice (hip voxels farther than the reach do not count,
/// the box's rim is background that reaches the lattice's sides, and components are numbered in
/// the same order), at a fraction of the cost on a CT from the pelvis to the knees.
pub(crate) fn drop_lumbar(lat: &Lattice, class: &mut [u8], seeds: &[u8], frame: &HipFrame) -> Option<LumbarCut> {
    if !class.contains(&class::SACRUM) {
        return None;
    }
    let finest = lat.spacing_mm.iter().copied().fold(f64::INFINITY, f64::min);
    let margin = (SI_JOINT_MM / finest).ceil() as usize + 1;
    let (lo, hi) = super::lattice::bounding_box(lat, |v| class[v] == class::SACRUM, margin);
    let sub = lat.sub(lo, hi);
    let to_outer = |v: usize| sub.index_in(lat, v);
    let mut class_sub: Vec<u8> = (0..sub.len()).map(|v| class[to_outer(v)]).collect();
    let seeds_sub: Vec<u8> = (0..sub.len()).map(|v| seeds[to_outer(v)]).collect();
    let cut = drop_lumbar_in(&sub, &mut class_sub, &seeds_sub, frame);
    for (v, &c) in class_sub.iter().enumerate() {
        class[to_outer(v)] = c;
    }
    cut
}

/// [`drop_lumbar`] on the lattice as given.
fn drop_lumbar_in(lat: &Lattice, class: &mut [u8], seeds: &[u8], frame: &HipFrame) -> Option<LumbarCut> {
    let region: Vec<bool> = class.iter().map(|&c| c == class::SACRUM).collect();
    let to_hip = edt::squared_distance_to(lat, |v| matches!(class[v], class::HIP_L | class::HIP_R));
    let reach = (SI_JOINT_MM * SI_JOINT_MM) as f32;
    let mut si_top = f64::NEG_INFINITY;
    for v in 0..lat.len() {
        if region[v] && to_hip[v] <= reach {
            si_top = si_top.max(frame.local(lat.lps(v))[2]);
        }
    }
    drop(to_hip);
    if !si_top.is_finite() {
        return None;
    }
    let mut filled = region.clone();
    let _ = mask::fill_cavities(lat, &mut filled);
    let axial = lat.axial_axis();
    for axis in [axial, (axial + 1) % 3, (axial + 2) % 3] {
        let _ = mask::fill_small_slice_holes(lat, &mut filled, HOLE_MM2, axis);
    }
    let depth = edt::inside_distance(lat, &filled);
    drop(filled);
    let (comp, sizes) = mask::components(lat, |v| f64::from(depth[v]) >= CORE_DEPTH_MM, true);
    drop(depth);
    let voxel_mm3: f64 = lat.spacing_mm.iter().product();
    let mut lateral_sum = vec![0.0f64; sizes.len()];
    for v in 0..lat.len() {
        if comp[v] != u32::MAX {
            lateral_sum[comp[v] as usize] += frame.local(lat.lps(v))[0];
        }
    }
    let midline: Vec<bool> = sizes.iter().zip(&lateral_sum).map(|(&n, &s)| n as f64 * voxel_mm3 >= CORE_MIN_MM3 && (s / n as f64).abs() <= 0.3 * frame.half_mm).collect();
    let mut second: Vec<u8> = (0..lat.len())
        .map(|v| {
            if !region[v] {
                return 0;
            }
            if comp[v] != u32::MAX && midline[comp[v] as usize] {
                if frame.local(lat.lps(v))[2] > si_top { LUMBAR } else { class::SACRUM }
            } else if seeds[v] == class::SACRUM {
                class::SACRUM
            } else {
                0
            }
        })
        .collect();
    drop(comp);
    let flat = vec![0u16; lat.len()];
    flood::seeded_flood(lat, &flat, &region, &mut second, true);
    let mut dropped = 0;
    for v in 0..lat.len() {
        if region[v] && second[v] == LUMBAR {
            class[v] = 0;
            dropped += 1;
        }
    }
    Some(LumbarCut { si_top_mm: si_top, dropped })
}

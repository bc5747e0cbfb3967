//! Flooding over a mask: the regional maxima of an elevation ([`peaks`]), and the seeded
//! watershed that grows labels over a mask ([`seeded_flood`]).

use super::lattice::Lattice;

/// The regional maxima of an elevation over a mask.
pub(crate) struct Peaks {
    /// The peak voxel of every basin (its first, highest voxel).
    pub voxel: Vec<usize>,
    /// Elevation at each peak.
    pub value: Vec<f32>,
}

/// Floods the voxels of `mask` in order of decreasing `elevation` (>= 0; ordered in steps of
/// `1 / per_unit`): a voxel with no flooded neighbour (26-connected) starts a basin and is its
/// peak; any other joins the basin of its highest flooded neighbour.
pub(crate) fn peaks(lat: &Lattice, elevation: &[f32], mask: &[bool], per_unit: f32) -> Peaks {
    let key = |d: f32| (d.max(0.0) * per_unit) as usize;
    let max_key = (0..lat.len()).filter(|&v| mask[v]).map(|v| key(elevation[v])).max().unwrap_or(0);
    // Counting sort, highest first.
    let mut counts = vec![0usize; max_key + 2];
    for v in 0..lat.len() {
        if mask[v] {
            counts[max_key - key(elevation[v]) + 1] += 1;
        }
    }
    for b in 1..counts.len() {
        counts[b] += counts[b - 1];
    }
    let mut order = vec![0u32; counts[max_key + 1]];
    for v in 0..lat.len() {
        if mask[v] {
            let slot = &mut counts[max_key - key(elevation[v])];
            order[*slot] = v as u32;
            *slot += 1;
        }
    }
    let mut flooded = vec![false; lat.len()];
    let mut out = Peaks { voxel: Vec::new(), value: Vec::new() };
    for &v in &order {
        let v = v as usize;
        let mut any = false;
        lat.for_neighbours(v, true, |w| any |= flooded[w]);
        if !any {
            out.voxel.push(v);
            out.value.push(elevation[v]);
        }
        flooded[v] = true;
    }
    out
}

/// Seeded watershed by flooding (Meyer): voxels of `mask` are reached from the labelled voxels
/// (`labels != 0`) in order of increasing `key` (brightest first when the key is an inverted
/// intensity); a voxel takes the label of the voxel that reaches it first. Neighbours are
/// 26-connected when `full`, else 6. Voxels no label can reach stay 0.
pub(crate) fn seeded_flood(lat: &Lattice, key: &[u16], mask: &[bool], labels: &mut [u8], full: bool) {
    let max_key = key.iter().copied().max().unwrap_or(0) as usize;
    // One FIFO per level: a vector and a read position (ties are taken first come, first served).
    let mut buckets: Vec<(Vec<u32>, usize)> = vec![(Vec::new(), 0); max_key + 1];
    for v in 0..lat.len() {
        if labels[v] != 0 && mask[v] {
            buckets[key[v] as usize].0.push(v as u32);
        }
    }
    let mut reached = Vec::with_capacity(26);
    let mut level = 0usize;
    while level <= max_key {
        let (queue, head) = &mut buckets[level];
        if *head == queue.len() {
            *queue = Vec::new();
            *head = 0;
            level += 1;
            continue;
        }
        let v = queue[*head] as usize;
        *head += 1;
        let l = labels[v];
        reached.clear();
        lat.for_neighbours(v, full, |w| {
            if labels[w] == 0 && mask[w] {
                labels[w] = l;
                reached.push(w);
            }
        });
        for &w in &reached {
            buckets[(key[w] as usize).max(level)].0.push(w as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two deep blobs joined by a thin bridge: two peaks.
    #[test]
    fn two_blobs_two_peaks() {
        let lat = Lattice::test([12, 1, 1], [1.0; 3]);
        let depth = [1.0, 2.0, 3.0, 2.0, 1.0, 0.5, 1.0, 2.0, 3.0, 4.0, 2.0, 1.0];
        let p = peaks(&lat, &depth, &[true; 12], 16.0);
        assert_eq!(p.voxel, vec![9, 2]);
        assert_eq!(p.value, vec![4.0, 3.0]);
    }

    #[test]
    fn flood_meets_at_the_dark_seam() {
        // Two bright plateaus joined through a dark voxel at 4: labels meet there.
        let lat = Lattice::test([9, 1, 1], [1.0; 3]);
        let key = [0u16, 1, 1, 2, 9, 3, 1, 1, 0];
        let mask = [true, true, true, true, true, true, true, true, false];
        let mut labels = [1u8, 0, 0, 0, 0, 0, 0, 2, 0];
        seeded_flood(&lat, &key, &mask, &mut labels, false);
        assert_eq!(labels, [1, 1, 1, 1, 1, 2, 2, 2, 0]);
    }
}

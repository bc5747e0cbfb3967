//! Connected components of a padded binary mask.

use super::march::Padded;

/// Keeps only the largest 18-connected foreground component (the connectivity the surface
/// extraction gives the foreground, so the kept voxels are exactly those inside one closed
/// surface and its cavities). Ties go to the component met first in memory order.
pub(crate) fn keep_largest(mask: &mut Padded) {
    let [nx, ny, nz] = mask.dims;
    let (sx, sy) = (1isize, nx as isize);
    let sz = (nx * ny) as isize;
    // 18-neighbourhood offsets (faces and edges, no corners).
    let mut offs = Vec::with_capacity(18);
    for dz in -1isize..=1 {
        for dy in -1isize..=1 {
            for dx in -1isize..=1 {
                let nonzero = (dx != 0) as u8 + (dy != 0) as u8 + (dz != 0) as u8;
                if (1..=2).contains(&nonzero) {
                    offs.push(dx * sx + dy * sy + dz * sz);
                }
            }
        }
    }
    let _ = nz;
    // The mask is padded with background on every side, so a foreground voxel's neighbours are
    // all inside the array.
    let data = &mask.data;
    let mut comp = vec![0u32; data.len()];
    let mut sizes = vec![0usize]; // component 0 = background
    let mut stack = Vec::new();
    for start in 0..data.len() {
        if data[start] == 0 || comp[start] != 0 {
            continue;
        }
        let id = sizes.len() as u32;
        let mut size = 0usize;
        comp[start] = id;
        stack.push(start);
        while let Some(v) = stack.pop() {
            size += 1;
            for &o in &offs {
                let w = (v as isize + o) as usize;
                if data[w] != 0 && comp[w] == 0 {
                    comp[w] = id;
                    stack.push(w);
                }
            }
        }
        sizes.push(size);
    }
    if sizes.len() <= 2 {
        return;
    }
    let best = (1..sizes.len()).fold(1, |b, c| if sizes[c] > sizes[b] { c } else { b }) as u32;
    for (d, c) in mask.data.iter_mut().zip(&comp) {
        if *c != best {
            *d = 0;
        }
    }
}

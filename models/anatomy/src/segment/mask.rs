//! Binary masks on a [`Lattice`]: cavity filling and connected components.

use super::lattice::Lattice;

/// Fills every background region of `mask` that cannot reach the box faces along the two
/// non-axial index axes (6-connected background, so 26-connected bone walls close it). Faces
/// across the axial axis do not count as outside: a femoral shaft cut by the scan's last slice
/// keeps a closed marrow cavity. Returns the number of voxels filled.
pub(crate) fn fill_cavities(lat: &Lattice, mask: &mut [bool]) -> usize {
    let axial = lat.axial_axis();
    let mut outside = vec![false; lat.len()];
    let mut stack = Vec::new();
    let [ni, nj, nk] = lat.dims;
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let ijk = [i, j, k];
                let on_face = (0..3).any(|a| a != axial && (ijk[a] == 0 || ijk[a] + 1 == lat.dims[a]));
                let v = lat.idx(i, j, k);
                if on_face && !mask[v] && !outside[v] {
                    outside[v] = true;
                    stack.push(v);
                }
            }
        }
    }
    while let Some(v) = stack.pop() {
        lat.for_neighbours(v, false, |w| {
            if !mask[w] && !outside[w] {
                outside[w] = true;
                stack.push(w);
            }
        });
    }
    let mut filled = 0;
    for (m, o) in mask.iter_mut().zip(&outside) {
        if !*m && !*o {
            *m = true;
            filled += 1;
        }
    }
    filled
}

/// Fills, slice by slice across index axis `axial`, every 4-connected background hole of the
/// slice whose area is at most `max_area_mm2` (marrow cavities that leak in 3D through thin
/// cortex at the scan's resolution). Returns the number of voxels filled.
pub(crate) fn fill_small_slice_holes(lat: &Lattice, mask: &mut [bool], max_area_mm2: f64, axial: usize) -> usize {
    use rayon::prelude::*;
    let (a, b) = match axial {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let (na, nb, nc) = (lat.dims[a], lat.dims[b], lat.dims[axial]);
    let pixel_mm2 = lat.spacing_mm[a] * lat.spacing_mm[b];
    let max_pixels = (max_area_mm2 / pixel_mm2).floor() as usize;
    if max_pixels == 0 {
        return 0;
    }
    let at = |c: usize, x: usize, y: usize| {
        let mut ijk = [0; 3];
        ijk[axial] = c;
        ijk[a] = x;
        ijk[b] = y;
        lat.idx(ijk[0], ijk[1], ijk[2])
    };
    let to_fill: Vec<Vec<usize>> = (0..nc)
        .into_par_iter()
        .map(|c| {
            let mut seen = vec![false; na * nb];
            let mut out = Vec::new();
            let mut region = Vec::new();
            let mut stack = Vec::new();
            for y0 in 0..nb {
                for x0 in 0..na {
                    let p0 = y0 * na + x0;
                    if seen[p0] || mask[at(c, x0, y0)] {
                        continue;
                    }
                    seen[p0] = true;
                    stack.push((x0, y0));
                    region.clear();
                    let mut touches_border = false;
                    while let Some((x, y)) = stack.pop() {
                        region.push((x, y));
                        if x == 0 || y == 0 || x + 1 == na || y + 1 == nb {
                            touches_border = true;
                        }
                        let mut visit = |xx: usize, yy: usize| {
                            let p = yy * na + xx;
                            if !seen[p] && !mask[at(c, xx, yy)] {
                                seen[p] = true;
                                stack.push((xx, yy));
                            }
                        };
                        if x > 0 {
                            visit(x - 1, y);
                        }
                        if x + 1 < na {
                            visit(x + 1, y);
                        }
                        if y > 0 {
                            visit(x, y - 1);
                        }
                        if y + 1 < nb {
                            visit(x, y + 1);
                        }
                    }
                    if !touches_border && region.len() <= max_pixels {
                        out.extend(region.iter().map(|&(x, y)| at(c, x, y)));
                    }
                }
            }
            out
        })
        .collect();
    let mut n = 0;
    for v in to_fill.into_iter().flatten() {
        mask[v] = true;
        n += 1;
    }
    n
}

/// Connected components (26-connected when `full`, else 6) of the voxels where `member` holds.
/// Returns the component of every voxel (`u32::MAX` outside) and each component's size.
pub(crate) fn components(lat: &Lattice, member: impl Fn(usize) -> bool, full: bool) -> (Vec<u32>, Vec<usize>) {
    let mut comp = vec![u32::MAX; lat.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for v0 in 0..lat.len() {
        if comp[v0] != u32::MAX || !member(v0) {
            continue;
        }
        let id = sizes.len() as u32;
        comp[v0] = id;
        stack.push(v0);
        let mut size = 0;
        while let Some(v) = stack.pop() {
            size += 1;
            lat.for_neighbours(v, full, |w| {
                if comp[w] == u32::MAX && member(w) {
                    comp[w] = id;
                    stack.push(w);
                }
            });
        }
        sizes.push(size);
    }
    (comp, sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_box_is_filled_open_tube_along_axial_axis_too() {
        // A hollow box inside a 9x9x9 grid: its inside is a cavity.
        let lat = Lattice::test([9, 9, 9], [1.0; 3]);
        let mut m = vec![false; lat.len()];
        for (v, mv) in m.iter_mut().enumerate() {
            let [i, j, k] = lat.ijk(v);
            let shell = |x: usize| x == 2 || x == 6;
            let inside = |x: usize| (2..=6).contains(&x);
            *mv = inside(i) && inside(j) && inside(k) && (shell(i) || shell(j) || shell(k));
        }
        assert_eq!(fill_cavities(&lat, &mut m), 27);
        // A tube along k cut by both end slices: marrow not reachable through the i/j faces.
        let mut t = vec![false; lat.len()];
        for (v, tv) in t.iter_mut().enumerate() {
            let [i, j, _] = lat.ijk(v);
            *tv = (2..=6).contains(&i) && (2..=6).contains(&j) && (i == 2 || i == 6 || j == 2 || j == 6);
        }
        assert_eq!(fill_cavities(&lat, &mut t), 9 * 9);
    }

    #[test]
    fn counts_components() {
        let lat = Lattice::test([5, 1, 1], [1.0; 3]);
        let on = [true, true, false, true, false];
        let (c, s) = components(&lat, |v| on[v], true);
        assert_eq!(s, vec![2, 1]);
        assert_eq!(c[4], u32::MAX);
    }
}

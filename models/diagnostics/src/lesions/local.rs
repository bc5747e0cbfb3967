//! The local lytic cue (see the parent module's docs, "Local lytic cue"): a core voxel whose
//! smoothed HU lie well below its own surroundings (the median of the bone's interior in a shell
//! around it), whose 3x3x3 neighbourhood holds soft tissue (not fat) and is homogeneous like soft
//! tissue (not the mix of trabeculae and marrow), is lytic.

use ndarray::{Array3, Zip};

use super::{LesionSettings, median, neighbours26, shifted};

/// Fewest shell voxels a local background needs.
const MIN_SHELL_VOXELS: usize = 10;
/// Fewest voxels of a local lytic component.
pub(super) const MIN_VOXELS: usize = 2;

/// The local cue's maps: each core voxel's score (its drop below the local background in units
/// of its seed threshold: 1 at a seed, 0 where the cue does not hold), and its seeds.
pub(super) struct Local {
    pub score: Array3<f32>,
    pub seeds: Array3<bool>,
    /// Every core voxel's drop relative to its seed threshold, whatever its texture.
    pub relative: Array3<f32>,
}

/// Mean and (population) standard deviation of raw HU over each voxel's 3x3x3 interior
/// neighbours (itself included).
fn texture(hu: &Array3<f32>, interior: &Array3<bool>, core: &Array3<bool>) -> (Array3<f32>, Array3<f32>) {
    let shape = hu.shape().to_vec();
    let mut mean = Array3::<f32>::zeros(hu.dim());
    let mut sd = Array3::<f32>::from_elem(hu.dim(), f32::INFINITY);
    Zip::indexed(&mut mean).and(&mut sd).for_each(|(k, j, i), m, s| {
        let idx = [k, j, i];
        if !core[idx] {
            return;
        }
        let (mut n, mut a, mut a2) = (0.0f64, 0.0, 0.0);
        for nb in neighbours26().filter_map(|o| shifted(idx, o, &shape)).chain([idx]) {
            if interior[nb] {
                let v = f64::from(hu[nb]);
                n += 1.0;
                a += v;
                a2 += v * v;
            }
        }
        let mu = a / n;
        *m = mu as f32;
        *s = (a2 / n - mu * mu).max(0.0).sqrt() as f32;
    });
    (mean, sd)
}

/// The local cue on smoothed HU `fine` (the small scale) and raw `hu`, over the bones' interior
/// (its voxels make the backgrounds) and core (searched); `sp` the grid's `(k, j, i)` spacing, mm.
#[allow(clippy::too_many_arguments, reason = "the search's maps, passed once")]
pub(super) fn local_lytic(hu: &Array3<f32>, fine: &Array3<f32>, interior: &Array3<bool>, core: &Array3<bool>, bones: &Array3<u16>, sp: [f64; 3], s: &LesionSettings) -> Local {
    let (mean, sd) = texture(hu, interior, core);
    let r = sp.map(|v| (s.local_outer_mm / v).ceil() as isize);
    let mut shell = Vec::new();
    for a in -r[0]..=r[0] {
        for b in -r[1]..=r[1] {
            for c in -r[2]..=r[2] {
                let d = ((a as f64 * sp[0]).powi(2) + (b as f64 * sp[1]).powi(2) + (c as f64 * sp[2]).powi(2)).sqrt();
                if d >= s.local_inner_mm && d <= s.local_outer_mm {
                    shell.push([a, b, c]);
                }
            }
        }
    }
    let shape = hu.shape().to_vec();
    // The shell as offsets into the arrays' memory, for the voxels whose whole shell lies inside
    // the grid (all but a rim of `r` voxels): the same neighbours in the same order as
    // `shifted`, without its three range checks and the arrays' index arithmetic per neighbour
    // (this loop is the lesion search's cost: thousands of shell voxels for each core voxel).
    let (fine_c, interior_c, bones_c) = (fine.as_standard_layout(), interior.as_standard_layout(), bones.as_standard_layout());
    let flat = fine_c.as_slice().zip(interior_c.as_slice()).zip(bones_c.as_slice());
    let strides = [(shape[1] * shape[2]) as isize, shape[2] as isize, 1];
    let linear: Vec<isize> = shell.iter().map(|o| o[0] * strides[0] + o[1] * strides[1] + o[2]).collect();
    let rim = r.map(|v| v.max(0) as usize);
    let whole_shell = |idx: [usize; 3]| (0..3).all(|a| idx[a] >= rim[a] && idx[a] + rim[a] < shape[a]);
    let mut score = Array3::<f32>::zeros(hu.dim());
    let mut seeds = Array3::from_elem(hu.dim(), false);
    let mut relative = Array3::<f32>::zeros(hu.dim());
    let mut ring: Vec<f32> = Vec::with_capacity(shell.len());
    let mut dev: Vec<f32> = Vec::with_capacity(shell.len());
    Zip::indexed(&mut score).and(&mut seeds).and(&mut relative).for_each(|(k, j, i), out, seed, rel| {
        let idx = [k, j, i];
        let l = bones[idx];
        if !core[idx] {
            return;
        }
        ring.clear();
        match flat {
            Some(((fine_s, interior_s), bones_s)) if whole_shell(idx) => {
                let at = (k * shape[1] * shape[2] + j * shape[2] + i) as isize;
                ring.extend(linear.iter().map(|d| (at + d) as usize).filter(|&n| interior_s[n] && bones_s[n] == l).map(|n| fine_s[n]));
            }
            _ => ring.extend(shell.iter().filter_map(|o| shifted(idx, *o, &shape)).filter(|nb| interior[*nb] && bones[*nb] == l).map(|nb| fine[nb])),
        }
        if ring.len() < MIN_SHELL_VOXELS {
            return;
        }
        let bg = median(&mut ring);
        let drop = bg - f64::from(fine[idx]);
        dev.clear();
        dev.extend(ring.iter().map(|v| (f64::from(*v) - bg).abs() as f32));
        let sd_ring = (1.4826 * median(&mut dev)).max(s.min_sigma_hu);
        // Seed and growth thresholds: so many of the shell's spreads, or an absolute drop where the
        // shell is heterogeneous (the hips, the femoral head).
        let seed_at = (s.local_seed_z * sd_ring).min(s.local_seed_drop_hu).max(s.local_min_drop_hu);
        let grow_at = (s.local_grow_z * sd_ring).min(s.local_grow_drop_hu);
        *rel = (drop / seed_at) as f32;
        let m = f64::from(mean[idx]);
        if f64::from(sd[idx]) > s.local_max_texture_hu || m < s.local_min_hu || m > s.local_max_hu {
            return;
        }
        if drop >= grow_at {
            *out = *rel;
            *seed = drop >= seed_at;
        }
    });
    Local { score, seeds, relative }
}

/// A local lytic lesion's extent: its `voxels` and the core voxels of its bone connected to them
/// (26-neighbours) whose drop is at least half its peak drop (both relative to their seed
/// thresholds), within [`MAX_RADIUS_MM`] of its peak (the texture and HU window keep a lesion's
/// partial-volume rim out of its voxels, which moved its centre towards its most homogeneous side).
pub(super) fn extent(voxels: &[[usize; 3]], local: &Local, bones: &Array3<u16>, sp: [f64; 3]) -> Vec<[usize; 3]> {
    let rel = &local.relative;
    let Some(peak) = voxels.iter().copied().max_by(|a, b| rel[*a].total_cmp(&rel[*b])) else { return Vec::new() };
    let keep = 0.5 * rel[peak];
    let shape = rel.shape().to_vec();
    let mut seen: std::collections::HashSet<[usize; 3]> = voxels.iter().copied().collect();
    let mut stack = voxels.to_vec();
    let mut out = voxels.to_vec();
    while let Some(p) = stack.pop() {
        for n in neighbours26().filter_map(|o| shifted(p, o, &shape)) {
            let d2: f64 = (0..3).map(|a| ((n[a] as f64 - peak[a] as f64) * sp[a]).powi(2)).sum();
            if bones[n] == bones[peak] && rel[n] >= keep && d2 <= MAX_RADIUS_MM * MAX_RADIUS_MM && seen.insert(n) {
                out.push(n);
                stack.push(n);
            }
        }
    }
    out
}

/// A lesion's largest radius the extent grows to, mm (the largest lesion sought is 20 mm across).
const MAX_RADIUS_MM: f64 = 10.0;

//! The search itself (see the parent module's docs).

use std::collections::BTreeMap;

use coxa_core::Volume;
use nalgebra::Vector3;
use ndarray::{Array3, Zip};

use super::{Detection, Kind, Lesion, LesionError, LesionSettings, MIN_SLICES, bone_group, chamfer, median, neighbours26, normalised_gaussian, shifted, spacing_kji};

/// Fewest interior voxels a bone needs for its own reference.
const MIN_CORE_VOXELS: usize = 20;
/// The second smoothing scale, times [`LesionSettings::smooth_sigma_mm`] (large lesions).
const LARGE_SCALE: f64 = 2.0;
/// Residuals beyond this many spreads are left out of the reference (sigma clipping).
const CLIP: f64 = 2.5;
/// Rounds of clipping.
const CLIP_ROUNDS: usize = 4;
/// MAD of a normal distribution truncated at +-2.5 sigma is 0.984 of the untruncated one's.
const CLIP_MAD_CORRECTION: f64 = 1.016;

/// One component before it becomes a [`Lesion`].
struct Component {
    voxels: Vec<[usize; 3]>,
    kind: Kind,
    label: u16,
    peak_z: f64,
    /// A fitted ball's centre, `(k, j, i)` (else the departure-weighted mean of the voxels).
    centre: Option<[f64; 3]>,
}

/// Searches `bones` (a label array on `ct`'s grid, 0 = not bone; `names` by label) for lesions.
pub fn detect(ct: &Volume, bones: &Array3<u16>, names: &BTreeMap<u16, String>, s: &LesionSettings) -> Result<Detection, LesionError> {
    let grid = ct.grid();
    let shape = grid.shape_kji();
    if shape[0] < MIN_SLICES {
        return Err(LesionError::TooFewSlices(shape[0]));
    }
    if bones.shape() != shape {
        let b = bones.shape();
        return Err(LesionError::GridMismatch([b[2], b[1], b[0]], grid.size()));
    }
    if !bones.iter().any(|l| *l != 0) {
        return Err(LesionError::NoBone);
    }
    let sp = spacing_kji(grid);
    let hu = ct.hu();
    let metal = hu.mapv(|v| f64::from(v) > s.metal_hu);
    let near_metal: Option<Array3<f32>> = metal.iter().any(|m| *m).then(|| chamfer(|i| !metal[i], |_, b| metal[b], false, shape, sp).mapv(|d| if d as f64 <= s.metal_margin_mm { 1.0 } else { 0.0 }));
    let depth = chamfer(|i| bones[i] != 0, |a, b| bones[a] != bones[b], true, shape, sp);
    let voxel_ml = sp.iter().product::<f64>() / 1000.0;
    let mut lost: BTreeMap<u16, usize> = BTreeMap::new();
    let interior = Zip::indexed(bones).and(&depth).map_collect(|idx, l, d| {
        let inside = *l != 0 && f64::from(*d) >= s.interior_depth_mm;
        let zone = near_metal.as_ref().is_some_and(|m| m[idx] > 0.0);
        if inside && zone && f64::from(*d) >= s.core_depth_mm {
            *lost.entry(*l).or_default() += 1;
        }
        inside && !zone
    });
    let core = Zip::from(&interior).and(&depth).map_collect(|i, d| *i && f64::from(*d) >= s.core_depth_mm);
    // What is searched: each bone's core. None at all (a head CT, thin bones only) is an error,
    // not "no lesion" (issue 61).
    let mut searched_voxels: BTreeMap<u16, usize> = BTreeMap::new();
    Zip::from(&core).and(bones).for_each(|c, l| {
        if *c {
            *searched_voxels.entry(*l).or_default() += 1;
        }
    });
    if searched_voxels.is_empty() {
        let deepest_mm = depth.iter().copied().fold(0.0f32, f32::max);
        return Err(LesionError::NothingSearchable { deepest_mm: f64::from(deepest_mm), core_depth_mm: s.core_depth_mm });
    }
    let weight = interior.mapv(|c| if c { 1.0f32 } else { 0.0 });
    let name = |l: u16| names.get(&l).cloned().unwrap_or_else(|| format!("label_{l}"));
    // The two scales' smoothed HU; the bones' references from their interior without dense bone
    // (see the module docs: a sclerotic lesion that fills much of a small bone moves its mode).
    let sms: Vec<Array3<f32>> = [1.0, LARGE_SCALE].iter().map(|scale| normalised_gaussian(&hu, &weight, sp.map(|v| scale * s.smooth_sigma_mm / v))).collect();
    let sample = reference_sample(&sms[0], &interior, s);
    let Scan { seeds, fine, reference: med } = scan(&sms, &sample, &core, bones, &name, s);
    let local = super::local::local_lytic(&hu, &sms[0], &interior, &core, bones, sp, s);
    let grow = s.grow_z as f32;

    let mut comps = Vec::new();
    for (n, kind) in [Kind::Lytic, Kind::Blastic].into_iter().enumerate() {
        // Lesions grow through the small scale's departures (the large scale blurs their edges
        // outwards) and their seeds of either scale.
        let seed = &seeds[n];
        let dep = Zip::from(&fine[n]).and(seed).map_collect(|d, s| if *s { d.max(grow) } else { *d });
        comps.extend(components(&dep, bones, grow, |i| seed[i]).into_iter().map(|(voxels, peak)| Component { label: bones[voxels[0]], voxels, kind, peak_z: peak, centre: None }));
    }
    // A lesion's extent: its voxels at least half its peak departure (the edge of a blurred step
    // lies at half its height; growing down to grow_z alone would take a sclerotic lesion's halo).
    for c in &mut comps {
        let n = usize::from(c.kind == Kind::Blastic);
        let peak = c.voxels.iter().map(|v| fine[n][*v]).fold(0.0f32, f32::max);
        let keep = grow.max(0.5 * peak);
        let kept: Vec<[usize; 3]> = c.voxels.iter().copied().filter(|v| fine[n][*v] >= keep).collect();
        if !kept.is_empty() {
            c.voxels = kept;
        }
    }
    let min_voxels = (s.min_volume_ml / voxel_ml).ceil().max(1.0) as usize;
    comps.retain(|c| c.voxels.len() >= min_voxels);
    // The local lytic cue's lesions: its voxels (score > 0) that hold a seed of its own.
    let seeded = &local.seeds;
    let local_comps = components(&local.score, bones, f32::MIN_POSITIVE, |i| seeded[i]).into_iter().filter(|(v, _)| v.len() >= super::local::MIN_VOXELS);
    comps.extend(local_comps.map(|(voxels, peak)| Component {
        label: bones[voxels[0]],
        voxels: super::local::extent(&voxels, &local, bones, sp),
        kind: Kind::Lytic,
        peak_z: peak * s.lytic_seed_z,
        centre: None,
    }));
    let maps = super::fit::Maps { hu: &hu, fine: &sms[0], interior: &interior, core: &core, bones, sp };
    let candidate = |kind: Kind| {
        let (local, fine) = (&local.relative, &sms[0]);
        move |i: [usize; 3]| if kind == Kind::Lytic { f64::from(local[i]) >= s.fit_min_relative } else { f64::from(fine[i]) >= s.fit_blastic_min_hu }
    };
    for kind in [Kind::Lytic, Kind::Blastic] {
        let z = if kind == Kind::Lytic { s.lytic_seed_z } else { s.seed_z };
        comps.extend(super::fit::fitted(&maps, kind, candidate(kind), s).into_iter().map(|f| Component {
            label: bones[f.voxels[0]],
            voxels: f.voxels,
            kind,
            peak_z: f.relative * z,
            centre: Some(f.centre_kji),
        }));
    }
    let comps = merge_touching(comps, shape);

    let mut lesions: Vec<Lesion> = comps
        .iter()
        .map(|c| {
            let (mut wsum, mut acc, mut husum) = (0.0, Vector3::zeros(), 0.0);
            for idx in &c.voxels {
                let w = f64::from(fine[0][*idx].max(fine[1][*idx]).max(local.relative[*idx] * s.lytic_seed_z as f32).max(0.0));
                wsum += w;
                acc += w * Vector3::new(idx[2] as f64, idx[1] as f64, idx[0] as f64);
                husum += f64::from(hu[*idx]);
            }
            let centre = match c.centre {
                Some([k, j, i]) => grid.voxel_to_lps(Vector3::new(i, j, k)),
                None => grid.voxel_to_lps(acc / wsum.max(1e-9)),
            };
            let ks = c.voxels.iter().map(|v| v[0]);
            Lesion {
                id: 0,
                centre_lps_mm: [centre.x, centre.y, centre.z],
                volume_ml: c.voxels.len() as f64 * voxel_ml,
                kind: c.kind,
                bone: name(c.label),
                bone_label: c.label,
                probability: 1.0 / (1.0 + (-(c.peak_z - if c.kind == Kind::Lytic { s.lytic_seed_z } else { s.seed_z })).exp()),
                slices: [ks.clone().min().unwrap_or(0), ks.max().unwrap_or(0)],
                peak_z: c.peak_z,
                mean_hu: husum / c.voxels.len() as f64,
                reference_hu: med[&c.label],
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..lesions.len()).collect();
    order.sort_by(|a, b| lesions[*b].peak_z.total_cmp(&lesions[*a].peak_z));
    let mut map = Array3::<u16>::zeros(hu.dim());
    let mut sorted = Vec::with_capacity(lesions.len());
    for (n, i) in order.into_iter().enumerate() {
        let id = u16::try_from(n + 1).unwrap_or(u16::MAX);
        for v in &comps[i].voxels {
            map[*v] = id;
        }
        lesions[i].id = id;
        sorted.push(lesions[i].clone());
    }
    let not_searched = lost.into_iter().map(|(l, n)| (name(l), n as f64 * voxel_ml)).collect();
    let references = med.iter().map(|(l, m)| (name(*l), *m)).collect();
    let searched = searched_voxels.into_iter().map(|(l, n)| (name(l), n as f64 * voxel_ml)).collect();
    Ok(Detection { lesions: sorted, map, not_searched, references, searched })
}

/// One pass of departures: seeds (lytic, blastic) at either scale, the fine scale's departures
/// (`max(-z, 0)`, `max(z, 0)`) and the bones' references.
struct Scan {
    seeds: [Array3<bool>; 2],
    fine: [Array3<f32>; 2],
    reference: BTreeMap<u16, f64>,
}

/// Departures of the smoothed HU `sms` (fine, large) from the references of the interior voxels
/// in `sample`, in the core.
fn scan(sms: &[Array3<f32>], sample: &Array3<bool>, core: &Array3<bool>, bones: &Array3<u16>, name: &dyn Fn(u16) -> String, s: &LesionSettings) -> Scan {
    let dim = sms[0].dim();
    let mut seeds = [Array3::from_elem(dim, false), Array3::from_elem(dim, false)];
    let mut out: Option<Scan> = None;
    for sm in sms {
        let mut departure = [Array3::<f32>::zeros(dim), Array3::<f32>::zeros(dim)];
        let (med, spread) = references(sm, sample, core, bones, name, s.min_sigma_hu);
        let sd_of = |l: u16| spread[bone_group(&name(l))];
        for (n, sign) in [-1.0f64, 1.0].into_iter().enumerate() {
            Zip::indexed(&mut departure[n]).and(&mut seeds[n]).for_each(|(k, j, i), d, seed| {
                let idx = [k, j, i];
                let l = bones[idx];
                let Some(m) = med.get(&l).filter(|_| core[idx]) else { return };
                let dep = sign * (f64::from(sm[idx]) - m);
                let z = dep / sd_of(l);
                *d = d.max(z as f32);
                let enough = if sign < 0.0 { z >= s.lytic_seed_z && dep >= s.lytic_min_drop_hu } else { z >= s.seed_z && dep >= s.blastic_min_rise_hu && f64::from(sm[idx]) >= s.blastic_min_hu };
                *seed |= enough;
            });
        }
        if out.is_none() {
            out = Some(Scan { seeds: [Array3::from_elem(dim, false), Array3::from_elem(dim, false)], fine: departure, reference: med });
        }
    }
    let mut out = out.unwrap_or_else(|| Scan { seeds: [Array3::from_elem(dim, false), Array3::from_elem(dim, false)], fine: [Array3::zeros(dim), Array3::zeros(dim)], reference: BTreeMap::new() });
    out.seeds = seeds;
    out
}

/// The interior voxels a second pass takes its references from: not dense bone (a fine smoothed HU
/// of at least [`LesionSettings::blastic_min_hu`]: sclerosis, not healthy trabecular bone), nor
/// within one voxel of it (its blurred edge). Lytic lesions are not left out: a mode pulled down
/// by one makes blastic false positives only where the bone rises by
/// [`LesionSettings::blastic_min_rise_hu`], which healthy bone does not; and leaving out the
/// first pass's lytic candidates moved S1's mode up by 50 HU on the example CT (its low-density
/// parts by the foramina are a second mode).
fn reference_sample(fine_hu: &Array3<f32>, interior: &Array3<bool>, s: &LesionSettings) -> Array3<bool> {
    let dense = super::dilate(&fine_hu.mapv(|v| f64::from(v) >= s.blastic_min_hu));
    Zip::from(interior).and(&dense).map_collect(|i, d| *i && !*d)
}

/// 26-connected components of `z >= grow` within one bone label that hold a seed:
/// `(voxels, peak |z|)`.
fn components(z: &Array3<f32>, bones: &Array3<u16>, grow: f32, seed: impl Fn([usize; 3]) -> bool) -> Vec<(Vec<[usize; 3]>, f64)> {
    let shape = z.shape().to_vec();
    let mut seen = Array3::from_elem(z.dim(), false);
    let mut out = Vec::new();
    for ((k, j, i), v) in z.indexed_iter() {
        let start = [k, j, i];
        if seen[start] || *v < grow {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut voxels = Vec::new();
        let (mut has_seed, mut peak) = (false, 0.0f64);
        while let Some(p) = stack.pop() {
            voxels.push(p);
            has_seed |= seed(p);
            peak = peak.max(f64::from(z[p]));
            for o in neighbours26() {
                if let Some(n) = shifted(p, o, &shape)
                    && !seen[n]
                    && bones[n] == bones[start]
                    && z[n] >= grow
                {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        if has_seed {
            out.push((voxels, peak));
        }
    }
    out
}

/// The half-sample mode (Bickel & Fruehwirth, Comput Stat Data Anal 2006;50:3500-3530): the
/// densest value of `v` (sorted here), found by keeping, again and again, the half of the sorted
/// values with the smallest range. Healthy bone is the densest part of a bone's HU as long as
/// lesions take less than about half of it, and unlike the median a large lesion does not pull it
/// (a 20 mm lesion is 40 % of S1's interior).
pub(super) fn half_sample_mode(v: &mut [f32]) -> f64 {
    v.sort_by(f32::total_cmp);
    let mut s: &[f32] = v;
    while s.len() > 3 {
        let h = s.len().div_ceil(2);
        let best = (0..=s.len() - h).min_by(|a, b| (s[a + h - 1] - s[*a]).total_cmp(&(s[b + h - 1] - s[*b]))).unwrap_or(0);
        s = &s[best..best + h];
    }
    match s.len() {
        0 => f64::NAN,
        3 if s[1] - s[0] < s[2] - s[1] => f64::from(s[0] + s[1]) / 2.0,
        3 if s[1] - s[0] > s[2] - s[1] => f64::from(s[1] + s[2]) / 2.0,
        3 => f64::from(s[1]),
        n => s.iter().map(|x| f64::from(*x)).sum::<f64>() / n as f64,
    }
}

/// The reference (each bone's half-sample mode over its interior) and the spread (each group's
/// clipped MAD of its core's residuals) of smoothed HU `sm`.
fn references(sm: &Array3<f32>, interior: &Array3<bool>, core: &Array3<bool>, bones: &Array3<u16>, name: &dyn Fn(u16) -> String, min_sigma_hu: f64) -> (BTreeMap<u16, f64>, BTreeMap<String, f64>) {
    let mut values: BTreeMap<u16, Vec<f32>> = BTreeMap::new();
    let mut core_values: BTreeMap<u16, Vec<f32>> = BTreeMap::new();
    Zip::from(interior).and(core).and(bones).and(sm).for_each(|i, c, l, v| {
        if *i {
            values.entry(*l).or_default().push(*v);
        }
        if *c {
            core_values.entry(*l).or_default().push(*v);
        }
    });
    core_values.retain(|_, v| v.len() >= MIN_CORE_VOXELS);
    values.retain(|l, v| core_values.contains_key(l) && v.len() >= MIN_CORE_VOXELS);
    core_values.retain(|l, _| values.contains_key(l));
    let med: BTreeMap<u16, f64> = values.iter_mut().map(|(l, v)| (*l, half_sample_mode(v))).collect();
    // Sigma clipping: the group's spread from the residuals within CLIP spreads of the bones'
    // modes, repeated, so that lesions (a fifth of a vertebra's interior) do not widen it.
    let mut spread: BTreeMap<String, f64> = BTreeMap::new();
    for round in 0..CLIP_ROUNDS {
        let mut residuals: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for (l, v) in &core_values {
            let g = bone_group(&name(*l)).to_string();
            let cut = spread.get(&g).map_or(f64::INFINITY, |sd| CLIP * sd);
            residuals.entry(g).or_default().extend(v.iter().map(|x| f64::from(*x) - med[l]).filter(|r| r.abs() <= cut).map(|r| r as f32));
        }
        spread = residuals
            .into_iter()
            .map(|(g, r)| {
                let mut dev: Vec<f32> = r.iter().map(|x| x.abs()).collect();
                let correction = if round == 0 { 1.0 } else { CLIP_MAD_CORRECTION };
                (g, (1.4826 * correction * median(&mut dev)).max(min_sigma_hu))
            })
            .collect();
    }
    (med, spread)
}

/// Joins a lytic and a blastic component of one bone that touch (26-neighbours) into a mixed one.
fn merge_touching(comps: Vec<Component>, shape: [usize; 3]) -> Vec<Component> {
    let mut owner = Array3::<u32>::zeros(shape);
    for (n, c) in comps.iter().enumerate() {
        for v in &c.voxels {
            owner[*v] = n as u32 + 1;
        }
    }
    let mut parent: Vec<usize> = (0..comps.len()).collect();
    fn root(p: &mut [usize], mut a: usize) -> usize {
        while p[a] != a {
            p[a] = p[p[a]];
            a = p[a];
        }
        a
    }
    for (n, c) in comps.iter().enumerate() {
        for v in &c.voxels {
            for o in neighbours26() {
                if let Some(nb) = shifted(*v, o, &shape) {
                    let m = owner[nb];
                    if m != 0 && m as usize - 1 != n && comps[m as usize - 1].label == c.label {
                        let (a, b) = (root(&mut parent, n), root(&mut parent, m as usize - 1));
                        parent[a] = b;
                    }
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Component> = BTreeMap::new();
    for (n, c) in comps.into_iter().enumerate() {
        let r = root(&mut parent, n);
        match groups.get_mut(&r) {
            None => {
                groups.insert(r, c);
            }
            Some(g) => {
                if g.kind != c.kind {
                    g.kind = Kind::Mixed;
                }
                g.peak_z = g.peak_z.max(c.peak_z);
                // A fitted ball's centre stands for a lesion of one kind only.
                g.centre = if g.kind == Kind::Mixed { None } else { g.centre.or(c.centre) };
                g.voxels.extend(c.voxels);
                g.voxels.sort_unstable();
                g.voxels.dedup();
            }
        }
    }
    groups.into_values().collect()
}

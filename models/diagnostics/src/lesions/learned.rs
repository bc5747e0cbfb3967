//! Lesions from a learned model's per-voxel probabilities (`coxa lesions --model`): the voxels
//! of the bone region whose lesion probability is at least a threshold, grouped into
//! 26-connected components, each a lesion of at least [`LearnedSettings::min_volume_ml`].
//!
//! **The bone region** ([`bone_region`]): the bone mask as the classical search gets it (a label
//! map's bones, or [`super::threshold_bone_mask`]) with, per bone label and per axial slice, its
//! holes filled (the pixels not of that bone that no 4-connected path of such pixels joins to the
//! slice's border, `scipy.ndimage.binary_fill_holes` per slice). A lytic lesion replaces bone by
//! soft tissue: the threshold mask loses it, and a label map made on the diseased CT may too,
//! but the cortex around it still encloses it within its slice.
//!
//! **A lesion's record**: its centre (the probability-weighted mean of its voxels' centres, LPS
//! mm), volume, the first and last slice it spans, its peak probability, its bone (the label
//! most of its voxels lie in, after filling) and its kind: when the model gives lytic and blastic
//! channels, `lytic` or `blastic` if at least 80 % of its probability mass is of that class,
//! else `mixed`; `lesion` when the model has one lesion class. The record has the fields of the
//! classical search's ([`super::Lesion`]: `id`, `centre_lps_mm`, `volume_ml`, `kind`, `bone`,
//! `bone_label`, `probability`, `slices`, `mean_hu`), with `mean_probability` for its mean.
//!
//! Written here: a flood fill and a connected-component pass are a few lines each.

use std::collections::{BTreeMap, VecDeque};

use coxa_core::Volume;
use nalgebra::Vector3;
use ndarray::{Array2, Array3, ArrayView3};
use serde::{Deserialize, Serialize};

use super::{neighbours26, shifted};

/// Settings of the learned path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedSettings {
    /// A voxel is lesion where its lesion probability is at least this.
    pub threshold: f64,
    /// Smallest lesion, ml.
    pub min_volume_ml: f64,
}

impl Default for LearnedSettings {
    fn default() -> Self {
        Self { threshold: 0.5, min_volume_ml: 0.05 }
    }
}

/// One lesion of the learned path (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedLesion {
    /// Its value in the lesions' label map (1, 2, ...).
    pub id: u16,
    /// Centre (probability-weighted), LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Volume, ml.
    pub volume_ml: f64,
    /// `lytic`, `blastic`, `mixed`, or `lesion` (a model with one lesion class).
    pub kind: String,
    /// The bone's name.
    pub bone: String,
    /// The bone's label value.
    pub bone_label: u16,
    /// Its peak lesion probability.
    pub probability: f64,
    /// Its mean lesion probability.
    pub mean_probability: f64,
    /// First and last slice (k index) it spans.
    pub slices: [usize; 2],
    /// Mean HU of its voxels.
    pub mean_hu: f64,
}

/// The bone region of a bone label map (see the module docs).
pub fn bone_region(bones: &Array3<u16>) -> Array3<u16> {
    let mut out = bones.clone();
    let (nk, nj, ni) = bones.dim();
    let labels: Vec<u16> = {
        let mut v: Vec<u16> = bones.iter().copied().filter(|l| *l != 0).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for k in 0..nk {
        let slice = bones.index_axis(ndarray::Axis(0), k);
        for &l in &labels {
            if !slice.iter().any(|v| *v == l) {
                continue;
            }
            // Pixels not of label l reached from the border through 4-neighbours.
            let mut outside = Array2::from_elem((nj, ni), false);
            let mut queue = VecDeque::new();
            for j in 0..nj {
                for i in 0..ni {
                    if (j == 0 || i == 0 || j + 1 == nj || i + 1 == ni) && slice[[j, i]] != l {
                        outside[[j, i]] = true;
                        queue.push_back((j, i));
                    }
                }
            }
            while let Some((j, i)) = queue.pop_front() {
                let mut visit = |a: usize, b: usize| {
                    if !outside[[a, b]] && slice[[a, b]] != l {
                        outside[[a, b]] = true;
                        queue.push_back((a, b));
                    }
                };
                if j > 0 {
                    visit(j - 1, i);
                }
                if j + 1 < nj {
                    visit(j + 1, i);
                }
                if i > 0 {
                    visit(j, i - 1);
                }
                if i + 1 < ni {
                    visit(j, i + 1);
                }
            }
            for ((j, i), o) in outside.indexed_iter() {
                if !o && out[[k, j, i]] == 0 {
                    out[[k, j, i]] = l;
                }
            }
        }
    }
    out
}

/// The lesions of `lesion_p` (lesion probability per voxel, `[k, j, i]` on `ct`'s grid) within
/// `region` ([`bone_region`]; bone names by label in `names`), with their label map (0 none, else
/// the lesion's id). `kinds`: the lytic and blastic probabilities, when the model gives them.
pub fn lesions_from_probability(
    ct: &Volume,
    lesion_p: ArrayView3<'_, f32>,
    kinds: Option<(ArrayView3<'_, f32>, ArrayView3<'_, f32>)>,
    region: &Array3<u16>,
    names: &BTreeMap<u16, String>,
    s: &LearnedSettings,
) -> (Vec<LearnedLesion>, Array3<u16>) {
    let shape = lesion_p.dim();
    let grid = ct.grid();
    let hu = ct.hu();
    let voxel_ml = grid.spacing_mm().iter().product::<f64>() / 1000.0;
    let t = s.threshold as f32;
    let on = |idx: [usize; 3]| region[idx] != 0 && lesion_p[idx] >= t;
    let mut seen = Array3::from_elem(shape, false);
    let mut comps: Vec<Vec<[usize; 3]>> = Vec::new();
    let dims = [shape.0, shape.1, shape.2];
    for ((k, j, i), _) in lesion_p.indexed_iter() {
        let start = [k, j, i];
        if seen[start] || !on(start) {
            continue;
        }
        seen[start] = true;
        let mut voxels = vec![start];
        let mut next = 0;
        while next < voxels.len() {
            let v = voxels[next];
            next += 1;
            for o in neighbours26() {
                if let Some(n) = shifted(v, o, &dims)
                    && !seen[n]
                    && on(n)
                {
                    seen[n] = true;
                    voxels.push(n);
                }
            }
        }
        if voxels.len() as f64 * voxel_ml >= s.min_volume_ml - 1e-12 {
            comps.push(voxels);
        }
    }
    let mut lesions: Vec<LearnedLesion> = comps.iter().map(|c| describe(c, ct, &hu, lesion_p, kinds, region, names, voxel_ml)).collect();
    // Most probable first, then by place; ids in that order.
    let mut order: Vec<usize> = (0..lesions.len()).collect();
    order.sort_by(|&a, &b| lesions[b].probability.total_cmp(&lesions[a].probability).then(lesions[a].slices.cmp(&lesions[b].slices)));
    let mut map = Array3::<u16>::zeros(shape);
    let mut sorted = Vec::with_capacity(lesions.len());
    for (n, &c) in order.iter().enumerate() {
        let id = u16::try_from(n + 1).unwrap_or(u16::MAX);
        for v in &comps[c] {
            map[*v] = id;
        }
        let mut l = lesions[c].clone();
        l.id = id;
        sorted.push(l);
    }
    lesions.clear();
    (sorted, map)
}

#[allow(clippy::too_many_arguments, reason = "one component's description from the maps it is read from")]
fn describe(
    c: &[[usize; 3]],
    ct: &Volume,
    hu: &Array3<f32>,
    p: ArrayView3<'_, f32>,
    kinds: Option<(ArrayView3<'_, f32>, ArrayView3<'_, f32>)>,
    region: &Array3<u16>,
    names: &BTreeMap<u16, String>,
    voxel_ml: f64,
) -> LearnedLesion {
    let grid = ct.grid();
    let (mut w, mut centre, mut peak, mut hu_sum) = (0.0f64, Vector3::zeros(), 0.0f64, 0.0f64);
    let (mut lytic, mut blastic) = (0.0f64, 0.0f64);
    let mut votes: BTreeMap<u16, usize> = BTreeMap::new();
    let (mut k0, mut k1) = (usize::MAX, 0);
    for &v in c {
        let pv = f64::from(p[v]);
        w += pv;
        centre += grid.voxel_to_lps(Vector3::new(v[2] as f64, v[1] as f64, v[0] as f64)).coords * pv;
        peak = peak.max(pv);
        hu_sum += f64::from(hu[v]);
        *votes.entry(region[v]).or_default() += 1;
        (k0, k1) = (k0.min(v[0]), k1.max(v[0]));
        if let Some((a, b)) = kinds {
            lytic += f64::from(a[v]);
            blastic += f64::from(b[v]);
        }
    }
    let centre = centre / w.max(1e-12);
    let kind = match kinds {
        None => "lesion",
        Some(_) if lytic >= 0.8 * (lytic + blastic) => "lytic",
        Some(_) if blastic >= 0.8 * (lytic + blastic) => "blastic",
        Some(_) => "mixed",
    };
    let bone_label = votes.iter().max_by_key(|(l, n)| (**n, std::cmp::Reverse(**l))).map_or(0, |(l, _)| *l);
    LearnedLesion {
        id: 0,
        centre_lps_mm: [centre[0], centre[1], centre[2]],
        volume_ml: c.len() as f64 * voxel_ml,
        kind: kind.to_string(),
        bone: names.get(&bone_label).cloned().unwrap_or_else(|| format!("label_{bone_label}")),
        bone_label,
        probability: peak,
        mean_probability: w / c.len() as f64,
        slices: [k0, k1],
        mean_hu: hu_sum / c.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use coxa_core::Grid;

    use super::*;

    #[test]
    fn holes_are_filled_per_slice_and_label() {
        // A ring of label 3 in slice 1 encloses a hole; label 5 beside it does not close it.
        let mut b = Array3::<u16>::zeros((3, 7, 7));
        for j in 1..6 {
            for i in 1..6 {
                if j == 1 || j == 5 || i == 1 || i == 5 {
                    b[[1, j, i]] = 3;
                }
            }
        }
        b[[1, 3, 6]] = 5;
        let r = bone_region(&b);
        assert_eq!(r[[1, 3, 3]], 3);
        assert_eq!(r[[1, 0, 0]], 0);
        assert_eq!(r[[0, 3, 3]], 0);
        // Open the ring: no hole.
        b[[1, 1, 3]] = 0;
        assert_eq!(bone_region(&b)[[1, 3, 3]], 0);
    }

    #[test]
    fn components_become_lesions_within_bone() {
        let grid = Grid::axis_aligned([10, 10, 10], Vector3::new(2.0, 2.0, 2.0), Vector3::zeros()).unwrap();
        let ct = Volume::new(grid, Array3::from_elem((10, 10, 10), 300.0f32)).unwrap();
        let mut region = Array3::<u16>::zeros((10, 10, 10));
        region.slice_mut(ndarray::s![.., .., 0..6]).fill(7);
        let mut p = Array3::<f32>::zeros((10, 10, 10));
        // A 3x3x3 block in bone (p 0.9 at its centre, 0.6 elsewhere), one voxel outside bone.
        p.slice_mut(ndarray::s![2..5, 2..5, 2..5]).fill(0.6);
        p[[3, 3, 3]] = 0.9;
        p[[3, 3, 8]] = 0.99;
        let blastic = p.mapv(|v| v * 0.9);
        let lytic = p.mapv(|v| v * 0.1);
        let names = BTreeMap::from([(7, "sacrum".to_string())]);
        let s = LearnedSettings { threshold: 0.5, min_volume_ml: 0.0 };
        let (l, map) = lesions_from_probability(&ct, p.view(), Some((lytic.view(), blastic.view())), &region, &names, &s);
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!((l[0].kind.as_str(), l[0].bone.as_str(), l[0].slices), ("blastic", "sacrum", [2, 4]));
        assert!((l[0].volume_ml - 27.0 * 0.008).abs() < 1e-12);
        assert!((l[0].centre_lps_mm[0] - 6.0).abs() < 1e-9 && (l[0].probability - 0.9).abs() < 1e-6);
        assert_eq!(map.iter().filter(|v| **v == 1).count(), 27);
        // Too small: none.
        let (l, _) = lesions_from_probability(&ct, p.view(), None, &region, &names, &LearnedSettings { threshold: 0.5, min_volume_ml: 0.3 });
        assert!(l.is_empty());
    }
}

//! Random lesion trials on a real CT, for training and evaluating a learned lesion model: lesions
//! of [`insert`] placed at random points of chosen bones, and their ground-truth mask. The
//! training-set writer (the example `lesion_training_data`) and the learned model's held-out test
//! (`scenarios/tests/coxa/lesions_learned.rs`) draw their trials here, so both insert the same
//! kind of lesion; they differ by seed and by the bones they allow (see [`TRAINING_BONES`] and
//! [`HELD_OUT_BONES`]).
//!
//! A trial draws `count` lesions, each in a bone picked at random among the allowed ones: lytic
//! or blastic with equal odds, a diameter of 8..20 mm, a CT number from [`LYTIC_HU`] or
//! [`BLASTIC_HU`], a centre at a random voxel of that bone at least `max(3, radius - 2)` mm deep
//! (its distance to another label, [`super::depth_mm`]), at least 30 mm from metal (> 2500 HU)
//! and at least the sum of both radii plus 6 mm from the trial's other lesions (up to 400 draws
//! per lesion; fewer lesions when none fits). Tissue noise 20 HU, as the classical tests use.

use std::collections::BTreeMap;

use coxa_core::Volume;
use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::Kind;
use super::insert::{BLASTIC_HU, Inserted, LYTIC_HU, insert};

/// The bones training lesions go into (TotalSegmentator names).
pub const TRAINING_BONES: [&str; 10] = ["vertebrae_T12", "vertebrae_L1", "vertebrae_L2", "vertebrae_L4", "vertebrae_L5", "vertebrae_S1", "sacrum", "hip_left", "femur_right", "femur_left"];

/// The bones held-out lesions go into: no training lesion was ever placed in them (they appear
/// in the training slices only healthy).
pub const HELD_OUT_BONES: [&str; 2] = ["vertebrae_L3", "hip_right"];

/// Tissue noise of the inserted lesions, HU.
pub const NOISE_SD_HU: f64 = 20.0;

/// One lesion of a trial: what was inserted, and into which bone.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The lesion.
    pub lesion: Inserted,
    /// Its bone's name.
    pub bone: String,
}

/// Where lesions may go: the CT's bones (label map and names), their depth, and the voxels far
/// from metal.
pub struct Sites<'a> {
    ct: &'a Volume,
    /// Bone voxels (k, j, i) that may hold a centre, per bone name, with their depth (mm).
    candidates: BTreeMap<String, Vec<([usize; 3], f32)>>,
}

impl<'a> Sites<'a> {
    /// The candidate centres of every bone of `names` in `bones` (a label map on `ct`'s grid)
    /// whose `depth` (mm, [`super::depth_mm`]) is at least 3 mm and that lie 30 mm or more from
    /// metal.
    pub fn new(ct: &'a Volume, bones: &Array3<u16>, names: &BTreeMap<u16, String>, depth: &Array3<f32>) -> Self {
        let hu = ct.hu();
        let s = ct.grid().spacing_mm();
        let sp = [s[2], s[1], s[0]];
        let metal: Vec<[usize; 3]> = hu.indexed_iter().filter(|(_, v)| **v > 2500.0).map(|((k, j, i), _)| [k, j, i]).collect();
        let far = |p: [usize; 3]| metal.iter().all(|m| (0..3).map(|a| ((m[a] as f64 - p[a] as f64) * sp[a]).powi(2)).sum::<f64>() > 30.0f64.powi(2));
        let mut candidates: BTreeMap<String, Vec<([usize; 3], f32)>> = BTreeMap::new();
        for ((k, j, i), &l) in bones.indexed_iter() {
            if l == 0 || depth[[k, j, i]] < 3.0 {
                continue;
            }
            let Some(name) = names.get(&l) else { continue };
            if far([k, j, i]) {
                candidates.entry(name.clone()).or_default().push(([k, j, i], depth[[k, j, i]]));
            }
        }
        Self { ct, candidates }
    }

    /// The bones that have candidate centres.
    pub fn bones(&self) -> impl Iterator<Item = &str> {
        self.candidates.keys().map(String::as_str)
    }

    /// Draws up to `count` lesions in the bones `allowed` (see the module docs) from `seed`.
    pub fn draw(&self, allowed: &[&str], count: usize, seed: u64) -> Vec<Placed> {
        let mut rng = StdRng::seed_from_u64(seed);
        let bones: Vec<&str> = allowed.iter().copied().filter(|b| self.candidates.contains_key(*b)).collect();
        let grid = self.ct.grid();
        let mut out: Vec<Placed> = Vec::new();
        if bones.is_empty() {
            return out;
        }
        for _ in 0..count {
            let kind = if rng.random_bool(0.5) { Kind::Lytic } else { Kind::Blastic };
            let diameter_mm: f64 = rng.random_range(8.0..20.0);
            let range = if kind == Kind::Lytic { LYTIC_HU } else { BLASTIC_HU };
            let hu = rng.random_range(range.0..range.1);
            let min_depth = (diameter_mm / 2.0 - 2.0).max(3.0) as f32;
            for _ in 0..400 {
                let bone = bones[rng.random_range(0..bones.len())];
                let list = &self.candidates[bone];
                let (v, d) = list[rng.random_range(0..list.len())];
                if d < min_depth {
                    continue;
                }
                let centre: Point3<f64> = grid.voxel_to_lps(Vector3::new(v[2] as f64, v[1] as f64, v[0] as f64));
                let apart = out.iter().all(|o| (o.lesion.centre_lps_mm - centre).norm() >= (o.lesion.diameter_mm + diameter_mm) / 2.0 + 6.0);
                if apart {
                    out.push(Placed { lesion: Inserted { centre_lps_mm: centre, diameter_mm, hu, kind }, bone: bone.to_string() });
                    break;
                }
            }
        }
        out
    }
}

/// `ct` with `lesions` inserted (noise [`NOISE_SD_HU`], drawn from `seed` and the lesion's index).
pub fn with_lesions(ct: &Volume, lesions: &[Placed], seed: u64) -> Volume {
    let mut out = ct.clone();
    for (n, p) in lesions.iter().enumerate() {
        insert(&mut out, &p.lesion, NOISE_SD_HU, seed.wrapping_mul(1000).wrapping_add(n as u64));
    }
    out
}

/// The ground truth on `ct`'s grid: each voxel whose centre lies within a lesion's radius takes
/// that lesion's index + 1 (0 elsewhere).
pub fn truth_map(ct: &Volume, lesions: &[Placed]) -> Array3<u16> {
    let grid = ct.grid();
    let [ni, nj, nk] = grid.size();
    let mut map = Array3::<u16>::zeros((nk, nj, ni));
    let s = grid.spacing_mm();
    for (n, p) in lesions.iter().enumerate() {
        let c = grid.lps_to_voxel(&p.lesion.centre_lps_mm);
        let r = p.lesion.diameter_mm / 2.0;
        let range = |a: usize, len: usize| {
            let lo = (c[a] - r / s[a] - 1.0).floor().max(0.0) as usize;
            let hi = ((c[a] + r / s[a] + 1.0).ceil().max(0.0) as usize + 1).min(len);
            lo..hi
        };
        for k in range(2, nk) {
            for j in range(1, nj) {
                for i in range(0, ni) {
                    let q = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                    if (q - p.lesion.centre_lps_mm).norm() <= r {
                        map[[k, j, i]] = n as u16 + 1;
                    }
                }
            }
        }
    }
    map
}

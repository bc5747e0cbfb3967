//! Shared by the lesion test and the `lesion_sweep` example: the real CT, its bones, the sites
//! where lesions are inserted, trials and their figures.
//!
//! Sites: the deepest interior point (farthest from the bone's surface) of each lumbar vertebra,
//! S1, both hips (the acetabular region) and the right femur (its head); the left femur holds a
//! screw and is left out (no site within 30 mm of metal).
//!
//! Lesion CT numbers are drawn from published ranges (`coxa_diagnostics::lesions::insert`):
//! lytic 10..60 HU, soft tissue ("higher than fatty tissue, from -30 HU", Radiopaedia, Lytic bone
//! metastases); blastic 478..830 HU, the mean +- 1 SD of untreated osteoblastic metastases
//! (654 +- 176 HU, Ulano et al., AJR 2016;207:362-368). Diameters 8..20 mm, edges blurred by a
//! Gaussian whose FWHM is the voxel (3 mm), tissue noise 20 HU. Kinds alternate between sites,
//! shifted by one each trial.

#![allow(dead_code, reason = "shared by the test and the lesion_sweep example, which use different parts")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use coxa_core::Volume;
use coxa_diagnostics::lesions::insert::{BLASTIC_HU, Inserted, LYTIC_HU, insert};
use coxa_diagnostics::lesions::{Detection, Kind, Lesion, LesionSettings, bones_of, depth_mm, detect};
use nalgebra::Vector3;
use ndarray::Array3;
use rand::{Rng, SeedableRng, rngs::StdRng};

pub fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/totalseg")
}

pub struct Case {
    pub ct: Volume,
    pub bones: Array3<u16>,
    pub names: BTreeMap<u16, String>,
    pub sites: Vec<(String, Vector3<f64>)>,
    /// Each bone voxel's depth (distance to another label), mm.
    pub depth: Array3<f32>,
}

pub fn case() -> Case {
    let ct = coxa_io::nifti::read_volume(&data().join("example_ct.nii.gz")).unwrap();
    let labels = coxa_io::nifti::read_label_map(&data().join("example_seg_fast_force_split.nii.gz")).unwrap();
    let json: BTreeMap<String, String> = serde_json::from_str(&std::fs::read_to_string(data().join("labels_total_v2.json")).unwrap()).unwrap();
    let names: BTreeMap<u16, String> = json.into_iter().map(|(k, v)| (k.parse().unwrap(), v)).collect();
    let (bones, bone_names) = bones_of(&labels, &names);
    let depth = depth_mm(&bones, ct.grid());
    let hu = ct.hu();
    let metal: Vec<[usize; 3]> = hu.indexed_iter().filter(|(_, v)| **v > 2500.0).map(|((k, j, i), _)| [k, j, i]).collect();
    let far_from_metal = |p: [usize; 3]| metal.iter().all(|m| (0..3).map(|a| ((m[a] as f64 - p[a] as f64) * 3.0).powi(2)).sum::<f64>() > 30.0f64.powi(2));
    let mut sites = Vec::new();
    for want in ["vertebrae_L5", "vertebrae_L4", "vertebrae_L3", "vertebrae_L2", "vertebrae_L1", "vertebrae_S1", "hip_left", "hip_right", "femur_right"] {
        let id = *bone_names.iter().find(|(_, n)| *n == want).unwrap().0;
        let best = depth.indexed_iter().filter(|((k, j, i), _)| bones[[*k, *j, *i]] == id && far_from_metal([*k, *j, *i])).max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let p = ct.grid().voxel_to_lps(Vector3::new(best.2 as f64, best.1 as f64, best.0 as f64));
        sites.push((want.to_string(), p.coords));
    }
    Case { ct, bones, names: bone_names, sites, depth }
}

fn dist(l: &Lesion, t: &Inserted) -> f64 {
    (Vector3::from(l.centre_lps_mm) - t.centre_lps_mm.coords).norm()
}

/// A detected lesion matches an inserted one when its centre lies within the inserted radius + 5 mm.
fn near(l: &Lesion, t: &Inserted) -> bool {
    dist(l, t) <= t.diameter_mm / 2.0 + 5.0
}

/// The CT of one trial (lesions at every site) and what was inserted.
pub fn trial_ct(c: &Case, seed: u64) -> (Volume, Vec<Inserted>) {
    trial_ct_moved(c, seed, &c.sites)
}

/// Held-out placements: each site moved by a random offset of up to `jitter_mm` along each axis
/// (drawn from `seed`), to a voxel of the same bone at least `min_depth_mm` deep (up to 200 draws;
/// the site itself if none fits).
pub fn moved_sites(c: &Case, seed: u64, jitter_mm: f64, min_depth_mm: f64) -> Vec<(String, Vector3<f64>)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0f5e_u64);
    let grid = c.ct.grid();
    c.sites
        .iter()
        .map(|(name, p)| {
            let home = grid.lps_to_voxel(&(*p).into());
            let label = c.bones[[home[2].round() as usize, home[1].round() as usize, home[0].round() as usize]];
            for _ in 0..200 {
                let q = p + Vector3::new(rng.random_range(-jitter_mm..=jitter_mm), rng.random_range(-jitter_mm..=jitter_mm), rng.random_range(-jitter_mm..=jitter_mm));
                let v = grid.lps_to_voxel(&q.into());
                let idx = [v[2].round(), v[1].round(), v[0].round()];
                if idx.iter().zip(c.bones.shape()).any(|(x, n)| *x < 0.0 || *x >= *n as f64) {
                    continue;
                }
                let idx = idx.map(|x| x as usize);
                if c.bones[idx] == label && f64::from(c.depth[idx]) >= min_depth_mm {
                    return (name.clone(), q);
                }
            }
            (name.clone(), *p)
        })
        .collect()
}

/// The CT of one trial with lesions at `sites`, and what was inserted.
pub fn trial_ct_moved(c: &Case, seed: u64, sites: &[(String, Vector3<f64>)]) -> (Volume, Vec<Inserted>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ct = Volume::new(c.ct.grid().clone(), c.ct.hu().into_owned()).unwrap();
    let mut truth = Vec::new();
    for (n, (_, centre)) in sites.iter().enumerate() {
        let kind = if (n as u64 + seed).is_multiple_of(2) { Kind::Lytic } else { Kind::Blastic };
        let range = if kind == Kind::Lytic { LYTIC_HU } else { BLASTIC_HU };
        let lesion = Inserted { centre_lps_mm: (*centre).into(), diameter_mm: rng.random_range(8.0..20.0), hu: rng.random_range(range.0..range.1), kind };
        insert(&mut ct, &lesion, 20.0, seed * 100 + n as u64);
        truth.push(lesion);
    }
    (ct, truth)
}

#[derive(Debug, Default)]
pub struct Figures {
    pub found_lytic: usize,
    pub lytic: usize,
    pub found_blastic: usize,
    pub blastic: usize,
    pub false_positives: usize,
    /// Centre error of each lesion found, mm.
    pub errors_mm: Vec<f64>,
}

impl Figures {
    pub fn max_error_mm(&self) -> f64 {
        self.errors_mm.iter().copied().fold(0.0, f64::max)
    }
    pub fn sensitivity(&self) -> f64 {
        (self.found_lytic + self.found_blastic) as f64 / (self.lytic + self.blastic) as f64
    }
}

/// Adds one detection's figures: an inserted lesion is found by a lesion of its kind (or mixed)
/// near it; a detected lesion near no inserted one is a false positive.
pub fn score(f: &mut Figures, d: &Detection, truth: &[Inserted]) {
    for t in truth {
        let hit = d.lesions.iter().filter(|l| near(l, t) && (l.kind == t.kind || l.kind == Kind::Mixed)).map(|l| dist(l, t)).min_by(f64::total_cmp);
        let lytic = t.kind == Kind::Lytic;
        if lytic {
            f.lytic += 1
        } else {
            f.blastic += 1
        }
        if let Some(e) = hit {
            if lytic {
                f.found_lytic += 1
            } else {
                f.found_blastic += 1
            }
            f.errors_mm.push(e);
        }
    }
    f.false_positives += d.lesions.iter().filter(|l| truth.iter().all(|t| !near(l, t))).count();
}

/// Figures over `trials` CTs (seeds 0..trials).
pub fn figures(c: &Case, s: &LesionSettings, trials: u64) -> Figures {
    let mut f = Figures::default();
    for seed in 0..trials {
        let (ct, truth) = trial_ct(c, seed);
        let d = detect(&ct, &c.bones, &c.names, s).unwrap();
        score(&mut f, &d, &truth);
    }
    f
}

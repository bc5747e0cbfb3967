//! Bone metastasis candidates on CT, the classical path (no weights): voxels whose HU depart from
//! what their own bone's healthy distribution predicts, or, for lytic lesions, from their own
//! surroundings (see "Local lytic cue"), grouped into lesions; and balls of lesion tissue fitted
//! to the HU around the smoothed HU's extremes (see "Fitted cue").
//!
//! # Bones and regions
//! The bones come from a label map (TotalSegmentator's ids: vertebrae, sacrum, hips, femurs, ribs,
//! ...; [`is_bone_name`]) or, without one, from [`threshold_bone_mask`] (HU >= 200 closed by one
//! voxel, one label). Each voxel's depth is its distance to the nearest voxel of another label
//! (a 3x3x3 chamfer distance with the grid's spacings, between voxel centres as
//! `scipy.ndimage.distance_transform_edt` counts it). Three regions by depth:
//! - the **cortical shell** (depth < [`LesionSettings::interior_depth_mm`], 4 mm): cortex and the
//!   partial-volume edge, whose HU say little (cortex blurred with what surrounds it); not searched;
//! - the **interior** (depth >= 4 mm): trabecular bone and marrow; its smoothed HU make the bone's
//!   reference;
//! - the **core** (depth >= [`LesionSettings::core_depth_mm`], 10 mm): where lesions are sought.
//!   Pedicles, laminae, the iliac wing and the endplates' dense rims reach 4-6 mm deep on a 3 mm
//!   grid and looked like sclerosis when the search went shallower (11 candidates on the clean
//!   example CT at 6.5 mm, 4 at 9 mm, none at 10 mm: the two low-density spots by S1's foramina,
//!   small low-density spots in L4 and L5 and a dense spot in L1, likely a bone island, lie
//!   9-9.5 mm deep). A lesion whose centre lies less than 10 mm from the bone's surface is not
//!   found: this method's limit.
//!
//! # Statistics
//! HU are smoothed over the interior only (a Gaussian normalised by the interior's weight, so
//! cortex and soft tissue do not leak in), at two scales: [`LesionSettings::smooth_sigma_mm`]
//! (2.1 mm, small lesions) and twice that (large lesions, less noise). At each scale, a bone's
//! healthy reference is the **half-sample mode** of its interior's smoothed HU (Bickel &
//! Fruehwirth 2006: the densest value; the median moved by 50 HU when a 20 mm lesion filled 40 %
//! of S1's interior, the mode does not), taken without dense voxels (a fine smoothed HU of at
//! least [`LesionSettings::blastic_min_hu`], 400, and one voxel around them: sclerosis, not
//! healthy trabecular bone; a sclerotic lesion filling half of S1 moved its mode up and made the
//! rest of S1 a "lytic" false positive). The spread is 1.4826 x the MAD of the core's residuals
//! pooled over the bone's group ([`bone_group`]: vertebrae, hips, femurs, ribs), sigma-clipped
//! at 2.5 spreads for 4 rounds so that lesions do not widen it, floored at
//! [`LesionSettings::min_sigma_hu`]. A voxel's departure is `z = (smoothed - reference) /
//! spread`, the larger of the two scales'. On the example CT (the clean CT, fine scale): the
//! lumbar vertebrae's references are 96-126 HU and S1's 151 HU with a spread of 15 HU (the
//! floor; the clipped MAD gives 14-16); the hips' references 111-148 HU and the right femur's 73
//! HU (its fatty shaft; the head is 250-350 HU) with spreads of 60-140 HU: their interiors mix
//! fatty marrow (-25..60 HU) and dense trabecular bone (200-350 HU) within 10 mm, so one
//! reference per bone does not fit them (see below).
//!
//! # Lesions
//! Seeds: `z <= -lytic_seed_z` (3.5) and at least [`LesionSettings::lytic_min_drop_hu`] below
//! the reference (lytic: trabecular loss), or `z >= seed_z` (2.5), at least
//! [`LesionSettings::blastic_min_rise_hu`] above it and a smoothed HU of at least
//! [`LesionSettings::blastic_min_hu`] (blastic: sclerosis; the HU bounds, not z, keep healthy bone
//! out, so z may be low where a bone's spread is wide). A lesion is the 26-connected component of
//! core voxels with `|z| >= grow_z` of the same sign and bone that holds a seed (hysteresis), of
//! at least [`LesionSettings::min_volume_ml`] (0.2 ml, three quarters of an 8 mm sphere). A
//! lytic and a blastic lesion that touch become one `mixed` lesion. Its probability is
//! `1 / (1 + exp(-(peak |z| - seed z)))` with its kind's seed z, a monotone score of the
//! departure (0.5 at the seed threshold), not a calibrated probability.
//!
//! # Local lytic cue
//! Beside the per-bone reference, a core voxel is lytic when it departs from its own
//! surroundings (`local.rs`): its **background** is the median of the fine
//! smoothed HU of its bone's interior in a shell 12-18 mm away
//! ([`LesionSettings::local_inner_mm`], [`LesionSettings::local_outer_mm`]: beyond the edge of a
//! 20 mm lesion blurred by the scanner), the shell's **spread** 1.4826 x its MAD (at least
//! [`LesionSettings::min_sigma_hu`]). A seed lies below its background by
//! `max(40, min(3 x spread, 110))` HU ([`LesionSettings::local_seed_z`],
//! [`LesionSettings::local_seed_drop_hu`], [`LesionSettings::local_min_drop_hu`]): 3 spreads in a
//! homogeneous vertebra, 110 HU where the shell mixes fat and dense bone (the hips and the
//! femoral head, whose shells spread by 55-80 HU); a lesion grows through voxels at least
//! `min(3 x spread, 60)` HU below theirs. Two tissue conditions, both physical, keep healthy
//! marrow out: the voxel's 3x3x3 neighbours hold **soft tissue, not fat** (their mean HU within
//! -30..100, [`LesionSettings::local_min_hu`]: tumour is "higher than fatty tissue, from -30
//! HU"; the hips' healthy low-density pockets are fatty marrow, smoothed -30..-100 HU, their
//! lowest voxels -70..-160 HU) and are **homogeneous**
//! (their standard deviation at most [`LesionSettings::local_max_texture_hu`], 30 HU: on the
//! example CT soft tissue's 3x3x3 SD is 10-17 HU (liver, spleen, muscle), an inserted lesion's
//! about 20 HU (its 20 HU tissue noise), while trabecular bone and marrow give 30 HU (vertebrae)
//! to 45-65 HU (hips, femoral head) at the median). Components of at least 2 voxels that hold
//! a seed are lesions; each grows, for its extent and centre, through the core voxels of its
//! bone connected to it whose drop (relative to their seed threshold) is at least half its peak,
//! within 10 mm of the peak (the tissue conditions keep a lesion's blurred rim out, which moved
//! the centre of small hip lesions by up to 6.2 mm). Touching lytic components of both cues
//! merge. A local lesion's `peak_z` is its peak drop over its seed threshold times
//! [`LesionSettings::lytic_seed_z`] (so its probability is 0.5 at the seed threshold, as for
//! the per-bone cue). Tried and dropped (figures on trials 100-105): the bone group's clipped MAD
//! (the per-bone cue's spread) instead of the shell's (lytic 16/27: the inserted lesions fill a
//! large part of the vertebrae's cores and widened it from 15 to 22 HU in trial 102), the background without dense bone (lytic 13/27:
//! it lowered the hips' backgrounds by about 50 HU), a high-passed texture (`HU - smoothed HU`:
//! 2.5-12 false positives per CT for bounds of 20-32 HU: fat is as homogeneous), a texture bound that widens with the
//! drop (a lesion's blurred edge inside dense bone raises its SD: no lesion more, 1-4 more false
//! positives per CT), the 75th percentile of the shell as background (in a Python prototype: 0-3 lytic lesions
//! more for 2.5-10 false positives per CT more), seed bounds of 90-100 HU (1.5-4.5 false positives per CT).
//!
//! # Fitted cue (`fit.rs`)
//! At each core voxel that is a local minimum (lytic) or maximum (blastic) of the fine smoothed
//! HU among its bone's core neighbours (lytic: its drop below the local background at least
//! [`LesionSettings::fit_min_relative`] of its seed threshold; blastic: a smoothed HU of at least
//! [`LesionSettings::fit_blastic_min_hu`]), its sub-voxel extremum (a parabola per axis) is the
//! centre of a ball fitted to the raw HU of its bone's interior within the ball's reach (its radius
//! plus 2 blur sigmas plus one voxel): `HU = b + (L - b) f`, `f` the ball's fraction at each voxel,
//! blurred as [`insert`] blurs (a Gaussian point-spread function of FWHM the largest spacing,
//! with the voxel's box added in quadrature), `b` and `L - b` by least squares (closed form), for
//! diameters of 8-20 mm in 2 mm steps; the diameter with the largest F statistic (the ball
//! against a constant) is kept. A lytic fit is kept when `L` is soft tissue
//! ([`LesionSettings::local_min_hu`]..[`LesionSettings::local_max_hu`]) at least
//! [`LesionSettings::fit_min_drop_hu`] (60) below `b`; a blastic one when `L` is at least
//! [`LesionSettings::blastic_min_hu`] and [`LesionSettings::blastic_min_rise_hu`] above `b`;
//! both need the RMS residual over the voxels with `f >= 0.6` (`fit::INNER_FRACTION`) at most
//! [`LesionSettings::fit_max_rms_hu`] (30: the tumour's own texture, not trabeculae and marrow)
//! and `F >= `[`LesionSettings::fit_min_f`] (12). Overlapping fits keep the largest F. The
//! fitted lesion is the ball's voxels of its bone, its centre the fitted centre (unless it joins
//! a lesion of the other kind). Unlike the local cue's 3x3x3 conditions, the fit separates the
//! lesion's tissue from its blurred rim, so 9-13 mm lesions in the hips' and the femoral head's
//! dense bone are found. It is a blob detector with a spherical template; the inserted lesions
//! are spheres, real metastases are not, and these figures do not measure that difference.
//! Settings chosen on trials 100-111 (moved by up to 4 mm; the inner fraction's figures are in
//! `fit.rs`): with a plane for the background
//! (drifting trabecular density) lytic fell from 22/27 to 20/27 on 100-105 and false positives
//! doubled, so the background is a constant; an inner RMS bound of 33 HU found one lytic lesion
//! more in 12 trials for 1.3 false positives per CT more and 3 on the clean CT.
//!
//! # What it finds (the test `tests/lesions_real.rs` and the example `lesion_sweep`)
//! Lesions of 8-20 mm inserted into the real example CT (lytic 10-60 HU, blastic 478-830 HU;
//! see `tests/support/lesion_trials.rs`) at the deepest point of L1-L5, S1, both hips and the
//! right femur (9 per CT, 27 of each kind per 6 CTs). The settings were chosen on trials
//! 100-111 with every site moved by up to 4 mm: lytic 50/54, blastic 53/54 (95.4 %), 0.25 false
//! positives per CT, none on the clean CT. Held out: the test's trials 0-5 at the sites
//! themselves, lytic 19/27, blastic 26/27 (83.3 %), 0.5 false positives per CT, none on the clean
//! CT, centres within 2.6 mm; trials 200-205 moved by up to 4 mm, lytic 21/27, blastic 25/27
//! (85.2 %), 0.33 per CT, centres within 4.3 mm; trials 300-311 moved by up to 4 mm, lytic
//! 39/54, blastic 50/54 (82.4 %), 0.83 per CT, centres within 3.5 mm. Before the fitted cue, on
//! the same trials: 75.9 %, 79.6 % and 75.0 % (the last with a centre 5.6 mm off, placed by the
//! local cue's extent); before the local cue, 67 % and 72 % on 0-5 and 200-205. Still missed:
//! lytic lesions of 8-11 mm in the hips and the femoral head (the fit's inner residual above 30
//! HU where the bone is dense and heterogeneous) and blastic lesions of 8-9 mm. The search takes
//! 1.3 s on the real CT (release build, best of 5, the `lesion_sweep` example with
//! `LESION_TIME=1`, on 2 cores shared with another run), the fitted cue under 0.05 s of it.
//!
//! # Metal
//! Voxels above [`LesionSettings::metal_hu`] and every voxel within
//! [`LesionSettings::metal_margin_mm`] of them (streaks: bright and dark bands that would be
//! called blastic and lytic) are not searched; [`Detection::not_searched`] says which bones lost
//! how much.
//!
//! Written here: no Rust crate does lesion detection; the pieces (chamfer distance, separable
//! Gaussian, connected components) are short.

mod fit;
pub mod insert;
pub mod learned;
mod local;
pub mod sample;

use std::collections::BTreeMap;

use coxa_core::{Grid, LabelMap, Volume};
use nalgebra::Vector3;
use ndarray::{Array3, Zip};
use serde::{Deserialize, Serialize};

/// What a lesion looks like on CT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Loss of bone density.
    Lytic,
    /// Sclerotic (dense) bone.
    Blastic,
    /// Both, touching.
    Mixed,
}

/// Settings of the classical search (defaults: see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LesionSettings {
    /// Depth from which a voxel is interior (its HU make the bone's reference), mm.
    pub interior_depth_mm: f64,
    /// Depth from the bone's surface below which a voxel is cortical shell, mm.
    pub core_depth_mm: f64,
    /// Gaussian smoothing of the interior's HU (sigma), mm.
    pub smooth_sigma_mm: f64,
    /// z of a blastic seed.
    pub seed_z: f64,
    /// |z| of a lytic seed (below the reference).
    pub lytic_seed_z: f64,
    /// |z| a lesion grows through.
    pub grow_z: f64,
    /// Smallest spread, HU (a very uniform bone would otherwise make noise a lesion).
    pub min_sigma_hu: f64,
    /// A lytic seed lies at least this far below the bone's median, HU.
    pub lytic_min_drop_hu: f64,
    /// A blastic seed lies at least this far above the bone's median, HU.
    pub blastic_min_rise_hu: f64,
    /// A blastic seed's smoothed HU is at least this.
    pub blastic_min_hu: f64,
    /// HU above which a voxel is metal.
    pub metal_hu: f64,
    /// Bone within this distance of metal is not searched, mm.
    pub metal_margin_mm: f64,
    /// Smallest lesion, ml.
    pub min_volume_ml: f64,
    /// Inner radius of the shell a voxel's local background is taken from, mm.
    pub local_inner_mm: f64,
    /// Outer radius of that shell, mm.
    pub local_outer_mm: f64,
    /// Largest standard deviation of raw HU over a local lytic voxel's 3x3x3 neighbours, HU.
    pub local_max_texture_hu: f64,
    /// Lowest mean HU over those neighbours (below: fat, not tumour), HU.
    pub local_min_hu: f64,
    /// Highest mean HU over those neighbours, HU.
    pub local_max_hu: f64,
    /// A local lytic seed lies at least `min(lytic_seed_z x spread, this)` below its background, HU.
    pub local_seed_drop_hu: f64,
    /// ... and at least this, HU.
    pub local_min_drop_hu: f64,
    /// A local lytic lesion grows through voxels at least `min(local_grow_z x spread, this)` below their background, HU.
    pub local_grow_drop_hu: f64,
    /// See [`LesionSettings::local_grow_drop_hu`].
    pub local_grow_z: f64,
    /// See [`LesionSettings::local_seed_drop_hu`].
    pub local_seed_z: f64,
    /// The fitted cue's candidates drop below their local background by at least this fraction
    /// of their seed threshold.
    pub fit_min_relative: f64,
    /// A fitted ball's tissue lies at least this far below its background, HU.
    pub fit_min_drop_hu: f64,
    /// Largest RMS residual inside a fitted ball, HU.
    pub fit_max_rms_hu: f64,
    /// Smallest F statistic of a fitted ball against a constant.
    pub fit_min_f: f64,
    /// The fitted cue's blastic candidates have a smoothed HU of at least this.
    pub fit_blastic_min_hu: f64,
}

impl Default for LesionSettings {
    fn default() -> Self {
        Self {
            interior_depth_mm: 4.0,
            core_depth_mm: 10.0,
            smooth_sigma_mm: 2.1,
            seed_z: 2.5,
            lytic_seed_z: 3.5,
            grow_z: 2.5,
            min_sigma_hu: 15.0,
            lytic_min_drop_hu: 50.0,
            blastic_min_rise_hu: 200.0,
            blastic_min_hu: 400.0,
            metal_hu: 2500.0,
            metal_margin_mm: 20.0,
            min_volume_ml: 0.2,
            local_inner_mm: 12.0,
            local_outer_mm: 18.0,
            local_max_texture_hu: 30.0,
            local_min_hu: -30.0,
            local_max_hu: 100.0,
            local_seed_drop_hu: 110.0,
            local_min_drop_hu: 40.0,
            local_grow_drop_hu: 60.0,
            local_grow_z: 3.0,
            local_seed_z: 3.0,
            fit_min_relative: 0.5,
            fit_min_drop_hu: 60.0,
            fit_max_rms_hu: 30.0,
            fit_min_f: 12.0,
            fit_blastic_min_hu: 250.0,
        }
    }
}

/// One lesion found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lesion {
    /// Its value in [`Detection::map`] (1, 2, ...).
    pub id: u16,
    /// Centre (departure-weighted), LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Volume, ml.
    pub volume_ml: f64,
    /// Lytic, blastic or mixed.
    pub kind: Kind,
    /// The bone's name (the label map's, or `bone` for a threshold mask).
    pub bone: String,
    /// The bone's label value.
    pub bone_label: u16,
    /// Score of the departure, 0.5..1 (see the module docs).
    pub probability: f64,
    /// First and last slice (k index) it spans.
    pub slices: [usize; 2],
    /// Largest |z|.
    pub peak_z: f64,
    /// Mean HU of its voxels.
    pub mean_hu: f64,
    /// The bone's reference median, HU.
    pub reference_hu: f64,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The lesions, largest departure first.
    pub lesions: Vec<Lesion>,
    /// A label map of the lesions on the CT's grid: 0 none, else [`Lesion::id`].
    pub map: Array3<u16>,
    /// Bones (by name) whose interior was not searched near metal, with the volume left out, ml.
    pub not_searched: Vec<(String, f64)>,
    /// The bones searched, by name, with their reference (healthy interior) HU.
    pub references: Vec<(String, f64)>,
    /// The bones searched, by name, with the volume searched (their core, deeper than
    /// [`LesionSettings::core_depth_mm`] and away from metal), ml.
    pub searched: Vec<(String, f64)>,
}

/// Why a search cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LesionError {
    /// The bone mask is empty.
    #[error("the bone mask is empty (no voxel of a bone): give a label map with bones (TotalSegmentator ids) or a CT that holds bone")]
    NoBone,
    /// No bone is deep enough to be searched.
    #[error(
        "nothing searchable: no bone is deeper than {core_depth_mm} mm from its surface (the deepest reaches {deepest_mm:.1} mm), so no bone could be searched and \"no lesion\" would mean nothing; give a CT of the trunk or pelvis with its bones' label map"
    )]
    NothingSearchable {
        /// The deepest bone voxel's distance from the bone's surface, mm.
        deepest_mm: f64,
        /// The depth the search needs ([`LesionSettings::core_depth_mm`]), mm.
        core_depth_mm: f64,
    },
    /// Too few slices.
    #[error("the CT has {0} slices; the lesion search needs at least {MIN_SLICES}")]
    TooFewSlices(usize),
    /// The label map is on another grid.
    #[error("the label map's grid ({0:?}) is not the CT's ({1:?}); resample it onto the CT first")]
    GridMismatch([usize; 3], [usize; 3]),
}

/// Fewest slices a CT must have.
pub const MIN_SLICES: usize = 5;

/// TotalSegmentator's bone classes (`labels_total_v2.json`), by name.
pub fn is_bone_name(name: &str) -> bool {
    name.starts_with("vertebrae_")
        || name.starts_with("rib_")
        || name.starts_with("hip_")
        || name.starts_with("femur_")
        || name.starts_with("humerus_")
        || name.starts_with("scapula_")
        || name.starts_with("clavicula_")
        || ["sacrum", "skull", "sternum"].contains(&name)
}

/// TotalSegmentator's bone classes (`total` task, v2 ids, `labels_total_v2.json`): the names a
/// label map without its own class file is read with.
pub const TOTALSEG_BONES: [(u16, &str); 62] = [
    (25, "sacrum"),
    (26, "vertebrae_S1"),
    (27, "vertebrae_L5"),
    (28, "vertebrae_L4"),
    (29, "vertebrae_L3"),
    (30, "vertebrae_L2"),
    (31, "vertebrae_L1"),
    (32, "vertebrae_T12"),
    (33, "vertebrae_T11"),
    (34, "vertebrae_T10"),
    (35, "vertebrae_T9"),
    (36, "vertebrae_T8"),
    (37, "vertebrae_T7"),
    (38, "vertebrae_T6"),
    (39, "vertebrae_T5"),
    (40, "vertebrae_T4"),
    (41, "vertebrae_T3"),
    (42, "vertebrae_T2"),
    (43, "vertebrae_T1"),
    (44, "vertebrae_C7"),
    (45, "vertebrae_C6"),
    (46, "vertebrae_C5"),
    (47, "vertebrae_C4"),
    (48, "vertebrae_C3"),
    (49, "vertebrae_C2"),
    (50, "vertebrae_C1"),
    (69, "humerus_left"),
    (70, "humerus_right"),
    (71, "scapula_left"),
    (72, "scapula_right"),
    (73, "clavicula_left"),
    (74, "clavicula_right"),
    (75, "femur_left"),
    (76, "femur_right"),
    (77, "hip_left"),
    (78, "hip_right"),
    (91, "skull"),
    (92, "rib_left_1"),
    (93, "rib_left_2"),
    (94, "rib_left_3"),
    (95, "rib_left_4"),
    (96, "rib_left_5"),
    (97, "rib_left_6"),
    (98, "rib_left_7"),
    (99, "rib_left_8"),
    (100, "rib_left_9"),
    (101, "rib_left_10"),
    (102, "rib_left_11"),
    (103, "rib_left_12"),
    (104, "rib_right_1"),
    (105, "rib_right_2"),
    (106, "rib_right_3"),
    (107, "rib_right_4"),
    (108, "rib_right_5"),
    (109, "rib_right_6"),
    (110, "rib_right_7"),
    (111, "rib_right_8"),
    (112, "rib_right_9"),
    (113, "rib_right_10"),
    (114, "rib_right_11"),
    (115, "rib_right_12"),
    (116, "sternum"),
];

/// [`TOTALSEG_BONES`] as a map.
pub fn totalseg_bone_names() -> BTreeMap<u16, String> {
    TOTALSEG_BONES.iter().map(|(id, n)| (*id, (*n).to_string())).collect()
}

/// The group whose interiors share one spread: vertebrae, hips, femurs, ribs, else the bone itself.
pub fn bone_group(name: &str) -> &str {
    for p in ["vertebrae_", "rib_", "hip_", "femur_", "humerus_", "scapula_", "clavicula_"] {
        if name.starts_with(p) {
            return p;
        }
    }
    name
}

/// A whole-skeleton bone mask without a label map: HU >= [`BONE_THRESHOLD_HU`], closed by one
/// voxel (dilate then erode, 3x3x3), metal kept out; one label, 1, named `bone`.
pub fn threshold_bone_mask(ct: &Volume, metal_hu: f64) -> (Array3<u16>, BTreeMap<u16, String>) {
    let hu = ct.hu();
    let raw = hu.mapv(|v| f64::from(v) >= BONE_THRESHOLD_HU && f64::from(v) < metal_hu);
    let closed = erode(&dilate(&raw));
    let map = Zip::from(&closed).and(&raw).map_collect(|c, r| u16::from(*c || *r));
    (map, BTreeMap::from([(1, "bone".to_string())]))
}

/// HU of the threshold bone mask (cortical and dense trabecular bone).
pub const BONE_THRESHOLD_HU: f64 = 200.0;

fn neighbours26() -> impl Iterator<Item = [isize; 3]> {
    (-1..=1).flat_map(|a| (-1..=1).flat_map(move |b| (-1..=1).map(move |c| [a, b, c]))).filter(|o| *o != [0, 0, 0])
}

fn shifted(idx: [usize; 3], o: [isize; 3], shape: &[usize]) -> Option<[usize; 3]> {
    let mut out = [0; 3];
    for a in 0..3 {
        let v = idx[a] as isize + o[a];
        if v < 0 || v >= shape[a] as isize {
            return None;
        }
        out[a] = v as usize;
    }
    Some(out)
}

fn dilate(m: &Array3<bool>) -> Array3<bool> {
    let shape = m.shape().to_vec();
    Array3::from_shape_fn(m.dim(), |(k, j, i)| m[[k, j, i]] || neighbours26().any(|o| shifted([k, j, i], o, &shape).is_some_and(|n| m[n])))
}

fn erode(m: &Array3<bool>) -> Array3<bool> {
    let shape = m.shape().to_vec();
    Array3::from_shape_fn(m.dim(), |(k, j, i)| m[[k, j, i]] && neighbours26().all(|o| shifted([k, j, i], o, &shape).is_none_or(|n| m[n])))
}

/// Chamfer distance (mm) of every voxel with `inside` to the nearest voxel without, over the
/// 26 neighbours with the grid's spacings; with `border_is_outside`, voxels at the volume's border
/// count the outside as not inside (a bone cut by the scan has a surface there; metal outside
/// the scan is not known to exist). Two passes (forward, backward), repeated until nothing changes (at most 4).
fn chamfer(inside: impl Fn([usize; 3]) -> bool, boundary: impl Fn([usize; 3], [usize; 3]) -> bool, border_is_outside: bool, shape: [usize; 3], spacing_kji: [f64; 3]) -> Array3<f32> {
    let mut d = Array3::from_shape_fn(shape, |(k, j, i)| if inside([k, j, i]) { f32::INFINITY } else { 0.0 });
    let offs: Vec<([isize; 3], f32)> = neighbours26().map(|o| (o, (0..3).map(|a| (o[a] as f64 * spacing_kji[a]).powi(2)).sum::<f64>().sqrt() as f32)).collect();
    let (fwd, bwd): (Vec<_>, Vec<_>) = offs.iter().partition(|(o, _)| (o[0], o[1], o[2]) < (0, 0, 0));
    let n = shape[0] * shape[1] * shape[2];
    let at = |f: usize| [f / (shape[1] * shape[2]), (f / shape[2]) % shape[1], f % shape[2]];
    for _ in 0..4 {
        let mut changed = false;
        for pass in 0..2 {
            let list = if pass == 0 { &fwd } else { &bwd };
            for f in 0..n {
                let idx = at(if pass == 0 { f } else { n - 1 - f });
                if d[idx] == 0.0 {
                    continue;
                }
                let mut best = d[idx];
                for (o, w) in list.iter() {
                    let Some(nb) = shifted(idx, *o, &shape) else {
                        if border_is_outside {
                            best = best.min(*w);
                        }
                        continue;
                    };
                    let cand = if boundary(idx, nb) { *w } else { d[nb] + w };
                    best = best.min(cand);
                }
                if best < d[idx] {
                    d[idx] = best;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    d
}

/// Separable Gaussian of `values * weight` and `weight`, their ratio where `weight` > 0.
fn normalised_gaussian(values: &Array3<f32>, weight: &Array3<f32>, sigma_kji: [f64; 3]) -> Array3<f32> {
    let mut num = values * weight;
    let mut den = weight.clone();
    for (axis, s) in sigma_kji.iter().enumerate() {
        if *s <= 0.0 {
            continue;
        }
        let r = (2.5 * s).ceil() as isize;
        let kernel: Vec<f32> = (-r..=r).map(|x| (-(x as f64).powi(2) / (2.0 * s * s)).exp() as f32).collect();
        for a in [&mut num, &mut den] {
            let src = a.clone();
            let len = src.shape()[axis] as isize;
            ndarray::Zip::indexed(&mut *a).for_each(|(k, j, i), out| {
                let mut acc = 0.0;
                for (t, w) in (-r..=r).zip(&kernel) {
                    let mut idx = [k, j, i];
                    let v = idx[axis] as isize + t;
                    if v < 0 || v >= len {
                        continue;
                    }
                    idx[axis] = v as usize;
                    acc += w * src[idx];
                }
                *out = acc;
            });
        }
    }
    Zip::from(&num).and(&den).and(weight).map_collect(|n, d, w| if *w > 0.0 && *d > 1e-6 { n / d } else { 0.0 })
}

fn median(v: &mut [f32]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    f64::from(*m)
}

mod search;

pub use search::detect;

#[cfg(test)]
mod tests;

/// A label map's bones as the search takes them: the map's array and the bones' names.
pub fn bones_of(labels: &LabelMap, names: &BTreeMap<u16, String>) -> (Array3<u16>, BTreeMap<u16, String>) {
    let bones: BTreeMap<u16, String> = names.iter().filter(|(_, n)| is_bone_name(n)).map(|(id, n)| (*id, n.clone())).collect();
    let map = labels.labels().mapv(|l| if bones.contains_key(&l) { l } else { 0 });
    (map, bones)
}

/// Depth of every bone voxel (its distance to the nearest voxel of another label, mm; 0 outside
/// bone), as the search computes it.
pub fn depth_mm(bones: &Array3<u16>, grid: &Grid) -> Array3<f32> {
    let shape = [bones.shape()[0], bones.shape()[1], bones.shape()[2]];
    chamfer(|i| bones[i] != 0, |a, b| bones[a] != bones[b], true, shape, spacing_kji(grid))
}

/// `(k, j, i)` spacing of a grid, mm.
fn spacing_kji(grid: &Grid) -> [f64; 3] {
    let s: Vector3<f64> = grid.spacing_mm();
    [s[2], s[1], s[0]]
}

//! Classical (model-free) bone segmentation of the hip region: sacrum, hip bones and femurs.
//!
//! [`segment_bones`] needs no model weights and no GPU. It labels a CT with coxa's classes
//! (TotalSegmentator's ids and names, see [`crate::labels`]): `sacrum` 25, `femur_left` 75,
//! `femur_right` 76, `hip_left` 77, `hip_right` 78. Everything else (lumbar vertebrae, ribs,
//! soft tissue, bowel) stays 0. Left and right are the patient's, from LPS x (+x = left).
//!
//! # Algorithm (in the order it runs)
//! 0. **Working grid.** A CT finer than [`SegmentOptions::working_voxel_mm`] (1 mm) along an
//!    axis is segmented with that axis's voxels merged (mean HU), and the labels carried back
//!    onto the CT's grid (the `working` module; issue 42). A CT interpolated from a coarser
//!    series (linear interpolation: every line of voxels piecewise linear between the series'
//!    voxels) is segmented on that series' grid, its voxels recovered from the interpolation
//!    (the `knots` module), with a warning.
//! 1. **Checks.** Options in range, at least 3 voxels per axis, no NaN or infinite voxel, some
//!    bone, not more than half the volume bone (values not in HU).
//! 2. **Bone mask.** `HU >= bone_threshold_hu` (default 150: above muscle, fat and unenhanced
//!    blood, below most cancellous bone). Within 40 mm of metal (`>= metal_threshold_hu`, default
//!    2500, above any bone) the threshold is 50 HU higher: streaks and beam hardening brighten
//!    the muscle around an implant. Metal itself is bone, so an implant stays with its bone.
//!    Work continues in the mask's bounding box.
//! 3. **Femoral heads.** The depth of every bone voxel (exact Euclidean distance to the nearest
//!    non-bone voxel, anisotropic, Felzenszwalb-Huttenlocher) is flooded deepest first into
//!    basins; their peaks are candidates (a femoral head holds the region's densest cancellous
//!    bone, so its depth peaks inside it). The heads are the best pair that lies side by side
//!    (100-300 mm apart, mostly along x, heights within 60 mm), both wrapped in dense bone
//!    (half the rays from the peak meet >= 350 HU within the largest head radius), scored by
//!    depth less 0.1 per mm of height and depth difference, each within 35 mm of its joint (the
//!    same pair on the mask with its cavities and slice holes filled, where a porous head is
//!    solid, the deepest bone of its side: `anatomy::joints`). The larger LPS x is left, wherever
//!    the patient lies. No pair: [`SegmentError::NoPelvis`]. Each head's core (bone >= 4.5 mm
//!    deep connected to its peak) seeds its femur.
//! 4. **Seeds**, in the frame the heads span (h = half the head distance): each trochanter and
//!    shaft (lateral of the head by 0.45 h, below 0.1 h above it), each ilium (lateral of 0.8 h,
//!    0.25-0.9 h above the heads), the sacrum (within 0.35 h of the midline, 0.35-0.9 h above
//!    and 0.2 h behind the heads).
//! 5. **Watershed.** Seeded flooding of the smoothed HU (Gaussian, sigma 0.7 voxel), brightest
//!    first, in two phases: along the dense cortex alone (>= 350 HU, 26-connected), so that each
//!    bone claims its cortex through cortex, then into all bone (6-connected) with the head
//!    cores: two bones meet at the darkest seam between them (joint space, sacroiliac joint)
//!    and a femoral head stops under the acetabulum's subchondral plate.
//! 6. **Lumbar spine.** The sacrum's flood also runs up the spine through facet joints and
//!    bridged discs; vertebral bodies (cores >= 6 mm deep once their marrow is filled) above the
//!    top of the sacroiliac joints seed the spine, which is cut off (see `vertebrae.rs`).
//! 7. **Marrow.** Per bone (so no two bones are bridged): closing with a ball of
//!    `closing_radius_mm` (exact distance transforms), then its cavities and its holes of at most
//!    `max_hole_area_mm2` in axial, then coronal and sagittal slices are filled.
//! 8. **Heads as spheres.** First the joint space is looked for along rays from each head's
//!    deepest point over the acetabular side (the `gap` module, issue 59): the dip between the
//!    head's and the acetabulum's subchondral plates, which the scanner's blur cannot remove even
//!    where a narrow (arthritic) space reads above the bone threshold. A sphere through the dips
//!    (RANSAC, at least 60 rays) is the space's middle; the space's median half width h puts
//!    the head's surface h inside it. Before step 5 the head's bone seeds its femur and the bone
//!    up to 4 mm beyond the middle (acetabular side) its hip bone, and the head's core is cleared
//!    beyond the middle. After step 7, inside the sphere hip voxels become femur (and unlabelled
//!    ones inside the head's surface), the space (within h of the sphere, acetabular side)
//!    background, femur beyond it on the acetabular side hip. Where no such sphere is found
//!    (a space too blurred to dip, as on 3 mm slices), a sphere is fitted (RANSAC) to the
//!    femur-acetabulum label interface away from metal; the two radii are kept within 2.5 mm of
//!    their mean; inside it hip and unlabelled voxels become femur, femur just outside it on the
//!    acetabular side hip; refitted once. Then step 7 is repeated; a bone's islands go to the bone they touch.
//! 9. **Report.** Per-class voxel counts, metal per class with a warning, the head spheres, and
//!    optionally the distance of each bone voxel to the nearest voxel of another bone (an
//!    uncertainty: small at a joint).
//!
//! # Known limits
//! - The sacrum follows TotalSegmentator's convention only roughly: TotalSegmentator labels the
//!   body of S1 `vertebrae_S1`; here the cut falls between the lowest lumbar body and the top of
//!   the sacroiliac joints. An osteoporotic sacrum (cancellous below the bone threshold) is only
//!   partly filled, and a bridged sacroiliac joint can give part of an ala to the hip bone.
//! - A hip joint with no joint space (bone on bone, no dip between the plates) relies on the
//!   sphere fit to the label interface, which can take the acetabular wall into the femur.
//! - Where the CT does not resolve the joint space (about one voxel or less), the split between
//!   femoral head and acetabulum, and with it the head sphere, moves by millimetres with the
//!   grid and the noise: the real 3 mm example CT taken again at 1.5 and 2 mm (cubic B-spline,
//!   noise added, `scripts/real-ct-resamples`) moves its right head by 2.3 mm (radius -2.3 and
//!   -2.6 mm), and at 1 mm the right head's surface is not found. Where the space is resolved,
//!   the heads hold within 0.5 mm over grids of 1-2 mm (the phantom, whose space is 3 mm).
//! - Adult heads are assumed (`head_radius_range_mm`).

mod anatomy;
pub(crate) mod edt;
mod flood;
mod gap;
mod knots;
pub(crate) mod lattice;
mod mask;
mod options;
mod post;
mod smooth;
mod sphere;
#[cfg(test)]
mod tests;
mod vertebrae;
mod working;

use coxa_core::{ClassTable, Grid, HuValue, LabelMap, Side, Volume};
use nalgebra::Point3;
use ndarray::Array3;
use rayon::prelude::*;

use crate::labels;
use anatomy::class;
use lattice::{Lattice, bounding_box};
pub use options::SegmentOptions;

/// Voxels of one class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassCount {
    /// Label id.
    pub id: u16,
    /// Class name.
    pub name: String,
    /// Number of voxels.
    pub voxels: usize,
    /// Volume, mm³.
    pub volume_mm3: f64,
    /// Voxels at or above the metal threshold inside this class.
    pub metal_voxels: usize,
}

/// A femoral head as the segmentation found it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FemoralHead {
    /// Side (left: the larger LPS x).
    pub side: Side,
    /// Centre of the sphere fitted to the head surface, LPS mm; without a fit, the deepest bone
    /// point of the head.
    pub centre_lps_mm: Point3<f64>,
    /// Radius of that sphere, mm: with the joint space found along rays (the middle of the
    /// space less its half width at the head's side), the head's surface; else the boundary
    /// between the femur and hip labels, in the joint space; without a fit, the depth of the
    /// deepest point (an underestimate).
    pub radius_mm: f64,
    /// Whether a sphere was fitted (else the head was split by intensity alone).
    pub sphere_fitted: bool,
}

/// The result of [`segment_bones`].
#[derive(Debug, Clone)]
pub struct BoneSegmentation {
    /// Labels on the CT's grid: 25 sacrum, 75/76 femur left/right, 77/78 hip left/right, 0 else.
    pub labels: LabelMap,
    /// Voxel count of each of the five classes (in id order), zero counts included.
    pub counts: Vec<ClassCount>,
    /// Voxels at or above the metal threshold in the whole volume.
    pub metal_voxels: usize,
    /// The two femoral heads, left then right.
    pub femoral_heads: [FemoralHead; 2],
    /// Things a user should know: metal, a missing bone, a seed not found.
    pub warnings: Vec<String>,
    /// With [`SegmentOptions::uncertainty`]: for each bone voxel, the distance (mm) to the nearest
    /// voxel of another bone, i.e. to the decision boundary between two bones (small at a joint,
    /// where the labels are least certain); 0 outside the bones; the volume's diagonal where a
    /// bone touches no other. Indexed `[k, j, i]` like the labels.
    pub boundary_distance_mm: Option<Array3<f32>>,
    /// The labels on the working grid, when the CT was segmented on a coarser one
    /// ([`SegmentOptions::working_voxel_mm`]): mesh these, not [`BoneSegmentation::labels`]
    /// (the coarse voxels carried onto the CT's grid, whose surface steps).
    pub working_labels: Option<LabelMap>,
}

impl BoneSegmentation {
    /// The count of class `id`, if it is one of the five.
    pub fn count(&self, id: u16) -> Option<&ClassCount> {
        self.counts.iter().find(|c| c.id == id)
    }
}

/// Why a CT could not be segmented.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// An option is out of range.
    #[error("invalid segmentation options: {why}")]
    InvalidOptions {
        /// What is wrong.
        why: String,
    },
    /// The volume is too small to hold anything.
    #[error("volume of {size:?} voxels is empty or too thin: segmentation needs at least 3 voxels per axis")]
    EmptyVolume {
        /// Size `[i, j, k]`.
        size: [usize; 3],
    },
    /// Voxels that are NaN or infinite.
    #[error("{count} voxels are NaN or infinite (first at [i, j, k] = {first:?}); fix or mask them before segmenting")]
    NonFinite {
        /// How many.
        count: usize,
        /// Index `[i, j, k]` of the first one.
        first: [usize; 3],
    },
    /// No pelvis in the volume (or not in HU).
    #[error("no pelvis found: {why}")]
    NoPelvis {
        /// What was looked for and not found.
        why: String,
    },
    /// The bone's bounding box is larger than the segmentation may take (issue 16), checked
    /// before any mask is allocated.
    #[error(
        "segmenting the bone's {dims:?}-voxel bounding box ({voxels} voxels) {why}; crop the CT to the hips (or resample it \
         coarser){more}"
    )]
    TooLarge {
        /// The bounding box, `[i, j, k]` voxels.
        dims: [usize; 3],
        /// Its voxels.
        voxels: u64,
        /// Which budget it exceeds.
        why: String,
        /// A further fix, if any (", or raise --max-memory").
        more: &'static str,
    },
    /// The label map could not be built (a bug: the grid comes from the CT).
    #[error("cannot build the label map: {source}")]
    Geometry {
        /// The data-type error.
        #[source]
        source: coxa_core::Error,
    },
}

/// At or above this HU bone is dense cortex (subchondral plates, shaft cortex).
const DENSE_HU: f32 = 350.0;
/// Smallest depth of a femoral head candidate's deepest point, mm (the thresholded head is
/// porous, so its depth underestimates its radius).
const HEAD_MIN_DEPTH_MM: f64 = 6.0;
/// Bone at least this deep around a head's deepest point is the head's core (a femur seed), mm.
const CORE_DEPTH_MM: f64 = 4.5;
/// Bone within this distance of metal is thresholded higher, mm.
const METAL_ZONE_MM: f64 = 40.0;
/// How much higher, HU: streaks and beam hardening brighten the soft tissue around an implant
/// by some tens of HU, enough to lift the muscle next to the bone over the bone threshold.
const METAL_ZONE_EXTRA_HU: f32 = 50.0;
/// No point of a head's sphere fit is taken this close to metal, mm.
const METAL_GAP_MM: f64 = 6.0;
/// The two femoral heads' radii may differ from their mean by at most this, mm.
const HEAD_RADIUS_SPREAD_MM: f64 = 2.5;
/// A head's sphere centre may lie this far from the head's deepest point, mm.
const HEAD_SHIFT_MM: f64 = 25.0;
/// A joint sphere's centre may lie this far from the head's deepest point, mm.
const JOINT_SHIFT_MM: f64 = 12.0;

/// Working memory of the segmentation per voxel of the bone's bounding box, bytes: the buffers
/// alive at its peak (the watershed, step 5): HU (4), metal mask and distance (1 + 4), bone (1),
/// seeds, cores and classes (3), dense mask (1), clamped and smoothed HU (4 + 4 + 4 of the
/// Gaussian's pass) and the watershed's key and queues (2 + 4), rounded up.
pub const SEGMENT_BYTES_PER_VOXEL: u64 = 32;
/// Most voxels the bone's bounding box may have: the flooding indexes voxels with `u32`.
pub const MAX_SEGMENT_VOXELS: u64 = u32::MAX as u64;
/// The default working voxel, mm ([`SegmentOptions::working_voxel_mm`]).
pub const WORKING_VOXEL_MM: f64 = 1.0;

/// The bone class codes, their label ids and names.
const CLASSES: [(u8, u16); 5] =
    [(class::SACRUM, labels::SACRUM), (class::FEMUR_L, labels::FEMUR_LEFT), (class::FEMUR_R, labels::FEMUR_RIGHT), (class::HIP_L, labels::HIP_LEFT), (class::HIP_R, labels::HIP_RIGHT)];

/// Bounded cost (issue 16): the bone's bounding box of `dims` voxels within
/// [`MAX_SEGMENT_VOXELS`] and its working memory within `max_bytes`, before anything of its size
/// is allocated.
fn check_budget(dims: [usize; 3], max_bytes: Option<u64>) -> Result<(), SegmentError> {
    let voxels = dims.iter().map(|&n| n as u64).product::<u64>();
    if voxels > MAX_SEGMENT_VOXELS {
        return Err(SegmentError::TooLarge { dims, voxels, why: format!("is more than the {MAX_SEGMENT_VOXELS} voxels it can index"), more: "" });
    }
    let need = voxels * SEGMENT_BYTES_PER_VOXEL;
    match max_bytes {
        Some(limit) if need > limit => Err(SegmentError::TooLarge {
            dims,
            voxels,
            why: format!("needs about {} MiB of working memory ({SEGMENT_BYTES_PER_VOXEL} bytes a voxel), more than the limit of {} MiB", need.div_ceil(1 << 20), limit >> 20),
            more: ", or raise --max-memory",
        }),
        _ => Ok(()),
    }
}

/// Segments sacrum, hip bones and femurs in a CT (HU, any grid orientation). See the module docs
/// for the algorithm.
///
/// # Errors
/// [`SegmentError::InvalidOptions`], [`SegmentError::EmptyVolume`] (fewer than 3 voxels along an
/// axis), [`SegmentError::NonFinite`] (NaN voxels), [`SegmentError::NoPelvis`] (no bone, not in
/// HU, or no pair of femoral heads: a head or chest CT), [`SegmentError::TooLarge`] (the bone's
/// bounding box past [`MAX_SEGMENT_VOXELS`] or its working memory past
/// [`SegmentOptions::max_memory_bytes`], before anything of its size is allocated).
pub fn segment_bones(ct: &Volume, opts: &SegmentOptions) -> Result<BoneSegmentation, SegmentError> {
    opts.validate()?;
    let grid = ct.grid();
    let size = grid.size();
    if size.iter().any(|&n| n < 3) {
        return Err(SegmentError::EmptyVolume { size });
    }
    // The CT in its own type (i16 or f32), read as f32 voxel by voxel: no f32 copy of an i16 CT.
    coxa_core::with_hu!(ct, |a| {
        let standard = a.as_standard_layout();
        let flat = standard.as_slice().unwrap_or_default();
        match working::Working::of(grid, flat, opts.working_voxel_mm, opts.source_grid) {
            Some(w) => working::segment(&w, grid, flat, opts),
            None => segment_flat(grid, flat, opts),
        }
    })
}

/// [`segment_bones`] on the CT's voxels in `[k, j, i]` order.
fn segment_flat<T: HuValue>(grid: &Grid, flat: &[T], opts: &SegmentOptions) -> Result<BoneSegmentation, SegmentError> {
    let size = grid.size();
    let full = Lattice::crop(grid, [0; 3], size);

    // 1. Checks.
    let bad = flat.par_iter().filter(|&&v| !v.hu_f32().is_finite()).count();
    if bad > 0 {
        let first = flat.iter().position(|&v| !v.hu_f32().is_finite()).unwrap_or(0);
        return Err(SegmentError::NonFinite { count: bad, first: full.ijk(first) });
    }
    let t_bone = opts.bone_threshold_hu;
    let t_metal = opts.metal_threshold_hu;
    let n_bone = flat.par_iter().filter(|&&v| v.hu_f32() >= t_bone).count();
    let metal_voxels = flat.par_iter().filter(|&&v| v.hu_f32() >= t_metal).count();
    if n_bone == 0 {
        return Err(SegmentError::NoPelvis { why: format!("no voxel reaches {t_bone} HU, so the volume holds no bone (all air or soft tissue, or not in HU)") });
    }
    if n_bone * 2 > flat.len() {
        return Err(SegmentError::NoPelvis {
            why: format!(
                "{:.0}% of the voxels are >= {t_bone} HU, which no CT of a body is; are the values in HU (rescale \
                 slope and intercept applied)?",
                100.0 * n_bone as f64 / flat.len() as f64
            ),
        });
    }

    // 2. Bone mask, in the bounding box of the bone.
    let (lo, hi) = bounding_box(&full, |v| flat[v].hu_f32() >= t_bone, 2);
    let lat = Lattice::crop(grid, lo, hi);
    check_budget(lat.dims, opts.max_memory_bytes)?;
    let to_full = |v: usize| {
        let [i, j, k] = lat.ijk(v);
        full.idx(i + lo[0], j + lo[1], k + lo[2])
    };
    // The bone box's HU read from the CT where needed, not copied (4 bytes a voxel less at the
    // segmentation's peak; a 512 x 512 x 1000 CT's box holds 56 million voxels).
    let hu = |v: usize| -> f32 { flat[to_full(v)].hu_f32() };
    let metal: Vec<bool> = (0..lat.len()).into_par_iter().map(|v| hu(v) >= t_metal).collect();
    let metal_dist2: Option<Vec<f32>> = (metal_voxels > 0).then(|| edt::squared_distance_to(&lat, |v| metal[v]));
    let near = |d2: &Option<Vec<f32>>, r_mm: f64| -> Vec<bool> {
        match d2 {
            Some(d2) => d2.par_iter().map(|&d| f64::from(d) <= r_mm * r_mm).collect(),
            None => vec![false; lat.len()],
        }
    };
    let metal_zone = near(&metal_dist2, METAL_ZONE_MM);
    // The distances are needed only as these two masks: kept as masks (1 byte a voxel, not 4)
    // through the distance transform below, the peak of the segmentation's memory.
    let near_metal = near(&metal_dist2, METAL_GAP_MM);
    drop(metal_dist2);
    let bone: Vec<bool> = (0..lat.len()).into_par_iter().map(|v| hu(v) >= if metal_zone[v] { t_bone + METAL_ZONE_EXTRA_HU } else { t_bone }).collect();
    drop(metal_zone);
    let smax = lat.spacing_mm.iter().copied().fold(0.0, f64::max);

    // 3. Femoral heads and their cores, looked for in the joints.
    let range = (HEAD_MIN_DEPTH_MM, opts.head_radius_range_mm.1);
    let sockets = anatomy::joints(&lat, &bone, hu, range, DENSE_HU, opts.max_hole_area_mm2);
    let depth = edt::inside_distance(&lat, &bone);
    let heads = {
        let cands = anatomy::head_candidates(&lat, &flood::peaks(&lat, &depth, &bone, 16.0), hu, range, DENSE_HU);
        anatomy::heads_in_joints(&cands, sockets).ok_or_else(|| {
            let dense = cands.iter().filter(|c| c.shell_dense >= anatomy::MIN_SHELL_DENSE).count();
            SegmentError::NoPelvis {
                why: format!(
                    "no pair of femoral heads: of {} bone regions at least {HEAD_MIN_DEPTH_MM} mm deep, {dense} are wrapped in \
                     dense bone and no two of them lie side by side 100-300 mm apart, each near a hip joint; does the CT cover the hips?",
                    cands.len(),
                ),
            }
        })?
    };
    let heads = [(heads.0, class::FEMUR_L), (heads.1, class::FEMUR_R)];
    let mut core = anatomy::head_cores(&lat, &depth, &heads, CORE_DEPTH_MM, opts.head_radius_range_mm.1);
    drop(depth);
    let frame = anatomy::frame(heads[0].0.lps_mm, heads[1].0.lps_mm);
    tracing::debug!(left = ?heads[0].0.lps_mm.as_slice(), right = ?heads[1].0.lps_mm.as_slice(), "femoral heads");

    // 4. Seeds.
    let (mut seeds, mut warnings) = anatomy::seeds(&lat, &bone, &frame, &heads);
    // The joint space along rays from each head (the `gap` module): where found, the head's
    // bone seeds its femur and the bone just beyond the space its hip bone (step 5 then cannot
    // carry the femur across a narrow space into the socket), and its sphere splits them (step 8).
    let superior = [frame.ez.x, frame.ez.y, frame.ez.z];
    let lateral = |sign: f64| [frame.ex.x * sign, frame.ex.y * sign, frame.ex.z * sign];
    let sides = [(1.0, class::FEMUR_L, class::HIP_L), (-1.0, class::FEMUR_R, class::HIP_R)];
    let joints: Vec<Option<gap::Joint>> = (0..2)
        .map(|n| {
            let (sign, femur, hip) = sides[n];
            let deepest = lat.lps(heads[n].0.voxel);
            let found = opts.joint_rays.then(|| gap::joint_sphere(&lat, &hu, deepest, heads[n].0.depth_mm, lateral(sign), superior, opts.head_radius_range_mm, JOINT_SHIFT_MM)).flatten();
            // A sphere inconsistent with the bone mask or the head found before it is refused:
            // the split by the label interface runs instead (gap::check).
            let found = found.filter(|j| match gap::check(j, t_bone, deepest) {
                Ok(()) => true,
                Err(why) => {
                    tracing::debug!(?why, centre = ?j.sphere.centre, radius = j.sphere.radius, "joint sphere refused");
                    false
                }
            });
            if let Some(j) = &found {
                tracing::debug!(centre = ?j.sphere.centre, radius = j.sphere.radius, half_width = j.half_mm, inliers = j.sphere.inliers, "joint sphere");
                gap::seed_across(&lat, &bone, &mut seeds, &mut core, j, (femur, hip));
            }
            found
        })
        .collect();

    // 5. Two-phase seeded watershed of the smoothed HU, brightest first.
    let clamped: Vec<f32> = (0..lat.len()).into_par_iter().map(|v| hu(v).clamp(-200.0, 1500.0)).collect();
    let key: Vec<u16> = smooth::gaussian(&lat, clamped, 0.7 * smax).into_par_iter().map(|h| (1500.0 - h).clamp(0.0, 1700.0) as u16).collect();
    let dense: Vec<bool> = (0..lat.len()).into_par_iter().map(|v| hu(v) >= DENSE_HU).collect();
    let mut class_crop: Vec<u8> = (0..lat.len()).into_par_iter().map(|v| if dense[v] { seeds[v] } else { 0 }).collect();
    flood::seeded_flood(&lat, &key, &dense, &mut class_crop, true);
    drop(dense);
    for v in 0..lat.len() {
        if class_crop[v] == 0 {
            class_crop[v] = if core[v] != 0 { core[v] } else { seeds[v] };
        }
    }
    drop(core);
    flood::seeded_flood(&lat, &key, &bone, &mut class_crop, false);
    drop(key);

    // 6. Lumbar spine.
    match vertebrae::drop_lumbar(&lat, &mut class_crop, &seeds, &frame) {
        Some(cut) => tracing::debug!(si_top_mm = cut.si_top_mm, dropped = cut.dropped, "lumbar spine cut off"),
        None if class_crop.contains(&class::SACRUM) => warnings.push(
            "sacroiliac joints not found (no sacrum voxel within 8 mm of a hip bone): lumbar vertebrae joined to the sacrum \
             are not cut off"
                .into(),
        ),
        None => {}
    }
    drop(seeds);

    // 7. Marrow.
    let close_mm = opts.closing_radius_mm.max(smax);
    let bones = [class::FEMUR_L, class::FEMUR_R, class::HIP_L, class::HIP_R, class::SACRUM];
    for c in bones {
        let _ = post::close_and_fill(&lat, &mut class_crop, c, close_mm, opts.max_hole_area_mm2);
    }

    // 8. Heads as spheres.
    let jobs = [
        post::HeadJob { bone: &bone, femur: class::FEMUR_L, hip: class::HIP_L, start: heads[0].0.voxel, lateral: lateral(1.0), superior },
        post::HeadJob { bone: &bone, femur: class::FEMUR_R, hip: class::HIP_R, start: heads[1].0.voxel, lateral: lateral(-1.0), superior },
    ];
    let range = opts.head_radius_range_mm;
    let boxes: Vec<Vec<usize>> = jobs.iter().map(|j| post::head_box(&lat, j, range.1 + 10.0)).collect();
    let starts = [lat.lps(heads[0].0.voxel), lat.lps(heads[1].0.voxel)];
    let fit = |n: usize, class_crop: &[u8], range: (f64, f64), around: [f64; 3], shift: f64| post::fit_head(&lat, class_crop, &jobs[n], &boxes[n], &near_metal, range, around, shift);
    let mut fits: Vec<Option<sphere::Sphere>> = (0..2).map(|n| fit(n, &class_crop, range, starts[n], HEAD_SHIFT_MM)).collect();
    if let [Some(a), Some(b)] = [fits[0], fits[1]] {
        let mean = 0.5 * (a.radius + b.radius);
        let narrow = (range.0.max(mean - HEAD_RADIUS_SPREAD_MM), range.1.min(mean + HEAD_RADIUS_SPREAD_MM));
        for n in 0..2 {
            if fits[n].is_some_and(|s| (s.radius - mean).abs() > HEAD_RADIUS_SPREAD_MM - 0.5) {
                fits[n] = fit(n, &class_crop, narrow, starts[n], HEAD_SHIFT_MM).or(fits[n]);
            }
        }
    }
    // Where the joint space was found (step 4), its sphere splits head from socket.
    let mut spheres: [Option<sphere::Sphere>; 2] = [None, None];
    for n in 0..2 {
        if let Some(gap::Joint { sphere: s, half_mm: half, .. }) = joints[n] {
            post::apply_head(&lat, &mut class_crop, &jobs[n], &boxes[n], &s, Some(half));
            // Reported: the head's surface, half the space inside the split.
            spheres[n] = Some(sphere::Sphere { radius: s.radius - half, ..s });
            continue;
        }
        let Some(first) = fits[n] else { continue };
        post::apply_head(&lat, &mut class_crop, &jobs[n], &boxes[n], &first, None);
        let second = fit(n, &class_crop, (first.radius - 1.5, first.radius + 1.5), first.centre, 3.0).unwrap_or(first);
        post::apply_head(&lat, &mut class_crop, &jobs[n], &boxes[n], &second, None);
        spheres[n] = Some(second);
    }
    drop((near_metal, boxes));
    for (n, side) in ["left", "right"].iter().enumerate() {
        if spheres[n].is_none() {
            warnings.push(format!("{side} femoral head: no sphere fits the joint between femur and acetabulum; the head is split by intensity alone"));
        }
    }
    for c in bones {
        let _ = post::close_and_fill(&lat, &mut class_crop, c, close_mm, opts.max_hole_area_mm2);
    }
    let _ = post::merge_islands(&lat, &mut class_crop, &bones, post::MAX_ISLAND_MM3);

    // 9. Report.
    let labels_full = {
        let mut out = Array3::<u16>::zeros(grid.shape_kji());
        if let Some(out_flat) = out.as_slice_mut() {
            for v in 0..lat.len() {
                if class_crop[v] != 0 {
                    out_flat[to_full(v)] = label_id(class_crop[v]);
                }
            }
        }
        out
    };
    let counts = count_classes(&lat, &class_crop, hu, &metal, grid.spacing_mm().iter().product(), &frame, t_metal, &mut warnings);
    let boundary_distance_mm = opts.uncertainty.then(|| {
        let interface: Vec<bool> = (0..lat.len())
            .into_par_iter()
            .map(|v| {
                let c = class_crop[v];
                let mut other = false;
                if c != 0 {
                    lat.for_neighbours(v, true, |w| other |= class_crop[w] != 0 && class_crop[w] != c);
                }
                other
            })
            .collect();
        let d2 = edt::squared_distance_to(&lat, |v| interface[v]);
        let cap = full.diagonal_mm() as f32;
        let mut u = Array3::<f32>::zeros(grid.shape_kji());
        if let Some(u_flat) = u.as_slice_mut() {
            for v in 0..lat.len() {
                if class_crop[v] != 0 {
                    u_flat[to_full(v)] = if d2[v].is_finite() { d2[v].sqrt() } else { cap };
                }
            }
        }
        u
    });
    let labels = LabelMap::new(grid.clone(), labels_full, labels::bone_classes()).map_err(|source| SegmentError::Geometry { source })?;
    let head = |n: usize, side| {
        let h = &heads[n].0;
        match &spheres[n] {
            Some(s) => FemoralHead { side, centre_lps_mm: Point3::from(s.centre), radius_mm: s.radius, sphere_fitted: true },
            None => FemoralHead { side, centre_lps_mm: Point3::from(h.lps_mm), radius_mm: h.depth_mm, sphere_fitted: false },
        }
    };
    Ok(BoneSegmentation { labels, counts, metal_voxels, femoral_heads: [head(0, Side::Left), head(1, Side::Right)], warnings, boundary_distance_mm, working_labels: None })
}

/// The label id of a class code (0 for none).
fn label_id(c: u8) -> u16 {
    CLASSES.iter().find(|(k, _)| *k == c).map_or(0, |(_, id)| *id)
}

/// Voxel and metal counts per class, with a warning per class that holds metal (where it is)
/// and one for metal outside the bones.
#[expect(clippy::too_many_arguments, reason = "one call site; the arguments are the pipeline's state")]
fn count_classes(lat: &Lattice, class_crop: &[u8], hu: impl Fn(usize) -> f32, metal: &[bool], voxel_mm3: f64, frame: &anatomy::HipFrame, t_metal: f32, warnings: &mut Vec<String>) -> Vec<ClassCount> {
    // Per class: voxels, metal voxels, highest metal HU, sum of metal heights (hip frame).
    let mut per = [(0usize, 0usize, 0.0f64, 0.0f64); class::N];
    let mut metal_unlabelled = 0usize;
    for v in 0..lat.len() {
        let c = class_crop[v] as usize;
        per[c].0 += 1;
        if metal[v] {
            if c == 0 {
                metal_unlabelled += 1;
            } else {
                per[c].1 += 1;
                per[c].2 = per[c].2.max(f64::from(hu(v)));
                per[c].3 += frame.local(lat.lps(v))[2];
            }
        }
    }
    let table: ClassTable = labels::bone_classes();
    let mut counts = Vec::new();
    for (c, id) in CLASSES {
        let (voxels, metal, max_hu, sup_sum) = per[c as usize];
        let name = table.name(id).unwrap_or("?").to_string();
        if voxels == 0 {
            warnings.push(format!("{name} not found: no voxel was labelled {name}"));
        }
        if metal > 0 {
            let side = match anatomy::side_of(c) {
                Some(s) if s > 0.0 => "left ",
                Some(_) => "right ",
                None => "",
            };
            let part = match c {
                class::FEMUR_L | class::FEMUR_R if sup_sum / metal as f64 > -0.8 * frame.half_mm => "proximal femur",
                class::FEMUR_L | class::FEMUR_R => "femoral shaft",
                class::HIP_L | class::HIP_R => "hip bone",
                _ => "sacrum",
            };
            warnings.push(format!(
                "metal in the {side}{part}: {metal} voxels >= {t_metal} HU (up to {max_hu:.0} HU), included in {name}; \
                 streak artefacts around it may blur its surface"
            ));
        }
        counts.push(ClassCount { id, name, voxels, volume_mm3: voxels as f64 * voxel_mm3, metal_voxels: metal });
    }
    if metal_unlabelled > 0 {
        warnings.push(format!("{metal_unlabelled} metal voxels (>= {t_metal} HU) lie outside the five bones and are left unlabelled"));
    }
    counts
}

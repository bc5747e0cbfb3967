//! Bone density of the proximal femur from a CT without a calibration phantom: internal
//! calibration from the patient's own fat and muscle, volumetric BMD (vBMD, mg/cm³) of the
//! femoral neck, trochanter and total hip, and a DXA-equivalent areal BMD (aBMD, g/cm²) by
//! projecting the calibrated femur onto the plane of its neck, as CT-based DXA does.
//!
//! # Internal calibration
//! A CT number is linear in the bone-mineral-equivalent density of the material:
//! `HU = intercept_hu + slope_hu_per_mg_cm3 x rho` (the line a phantom of hydroxyapatite inserts
//! gives). Phantomless ("internal", "asynchronous-free") calibration replaces the phantom by two
//! (or more) of the patient's own tissues whose equivalent densities are assumed known: the
//! patient's subcutaneous fat and skeletal muscle (Boden et al., J Digit Imaging 1989;2:31-38;
//! Gudmundsdottir et al., Osteoporos Int 1993;3:84-89), and in later work air, adipose tissue and
//! blood (Lee et al., Bone 2017;103:325-333; Michalski et al., Med Eng Phys 2020;78:55-63;
//! Winsor et al., Bone 2021;143:115759 for the femur). coxa samples fat and muscle in the hip
//! region ([`sample_tissues`]): fat is the median of voxels whose whole 3x3x3 neighbourhood lies
//! in [`CalibrationSettings::fat_range_hu`]; muscle the median of the muscle labels' voxels when a
//! label map has them (gluteal muscles and iliopsoas), else of voxels whose neighbourhood lies in
//! [`CalibrationSettings::muscle_range_hu`]. The homogeneity test keeps partial-volume voxels at
//! tissue borders out.
//!
//! **Equivalent densities.** The defaults ([`CalibrationSettings::default`]) are *nominal*: fat
//! -100 and muscle +50 mg/cm³ hydroxyapatite-equivalent, i.e. the tissues' usual CT numbers at
//! 120 kVp on a scanner whose hydroxyapatite line is 1 HU per mg/cm³ through water at 0 HU. They
//! are coxa's assumption, not values taken from the papers above (whose tables could not be
//! checked offline); a site that has scanned a phantom once should set its own. The calibration
//! then corrects a scanner's offset and gain as seen in the patient's tissues, which is what the
//! method can do; it cannot know the true mineral equivalence of fat and muscle better than the
//! values it is given. Every output carries the fat and muscle HU, their spread and the line.
//!
//! # Regions (CT-based DXA)
//! The femur's frame: `n` the neck axis (from the head centre towards the shaft), `s` the shaft
//! axis (proximal), the projection direction `d = n x s` (normal to the plane of neck and shaft),
//! and `e2 = d x n`. Each femur voxel is split into sub-voxels that are projected along `d` onto
//! a 0.25-0.5 mm grid in `(t, w)` = coordinates along `n` and `e2` (CTXA: Cann et al., PLoS One
//! 2014;9:e91904, projects the calibrated femur so that the neck lies in the image plane, then
//! applies DXA's regions). A pixel is bone when at least 1 mm of femur lies on its ray. Regions,
//! in that image (the DXA convention of Hologic, whose numbers the reference population uses):
//! - **neck**: a box [`NECK_BOX_MM`] long along the neck axis at its narrowest (the run of bone
//!   pixels across the axis within 10 mm of it, from one head radius to 5 mm short of the shaft
//!   axis);
//! - **total hip**: every bone pixel from the neck box's medial edge outwards (the head left
//!   out) and no lower than [`TOTAL_HIP_BELOW_LT_MM`] below the lesser trochanter;
//! - **trochanter**: the total hip's pixels lateral to the neck box and above the lesser
//!   trochanter (the intertrochanteric region is the rest).
//!
//! aBMD = mineral mass projected into the region / the region's bone area (g/cm²); vBMD = the
//! mineral mass of the femur voxels whose centres project into the region / their volume (an
//! integral, cortical plus trabecular, vBMD). The mass includes the partial-volume voxels just
//! outside the femur's label (their mineral above the surrounding soft tissue): without them a
//! thin cortex loses 2-3 % of its mass at 0.6 mm voxels.
//!
//! # Scores
//! T-score = (aBMD - young mean) / young SD against NHANES III white women aged 20-29 (Looker et
//! al., Osteoporos Int 1998;8:468-489: femoral neck 0.858 +- 0.120, total hip 0.942 +- 0.122
//! g/cm², Hologic), the reference the ISCD recommends for women and men (ISCD Official Positions
//! 2019). YAM % = aBMD / young adult mean x 100, classified by the Japanese criteria (Soen et al.,
//! J Bone Miner Metab 2013;31:247-257: YAM <= 70 % osteoporosis, 70-80 % low bone mass, >= 80 %
//! normal). The Japanese criteria use the young adult mean of Japanese women; that table could not
//! be checked here, so coxa's default YAM is the NHANES III young mean above
//! ([`ReferencePopulation::nhanes3`]) and the output says so; set a Japanese table with
//! [`ReferencePopulation`].
//!
//! # Metal and a cut femur
//! A femur with a voxel above [`METAL_HU`] within the proximal femur's region (the screw of the
//! example CT, a nail, a prosthesis) is not measured: its values are `None` and it carries
//! [`DensityFlag::Metal`]. A femur that the scan cuts above the total hip's lower edge, or whose
//! label touches the scan's border in the region, carries [`DensityFlag::Cut`]; the regions the
//! scan holds completely are still measured.
//!
//! Written here, not taken from a crate: no Rust crate does QCT; the steps are a projection by
//! sub-voxel splatting, region masks and sums.

use coxa_core::{FemurLandmarks, LabelMap, Side, Volume};
use nalgebra::{Point3, Vector3};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// HU above which a voxel counts as metal.
pub const METAL_HU: f32 = 2500.0;
/// Length of the DXA femoral-neck box along the neck axis, mm.
pub const NECK_BOX_MM: f64 = 15.0;
/// The total hip region reaches this far below the lesser trochanter, mm.
pub const TOTAL_HIP_BELOW_LT_MM: f64 = 10.0;
/// A projected pixel is bone when at least this much femur lies on its ray, mm.
pub const MIN_BONE_PATH_MM: f64 = 1.0;

/// Why bone density could not be measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DensityError {
    /// Too few voxels of a reference tissue.
    #[error(
        "internal calibration: only {n} homogeneous {tissue} voxels in the hip region (need {need}); the CT may not show subcutaneous fat or muscle (a cropped field of view), or its HU are not a CT's"
    )]
    TooFewTissueVoxels {
        /// Which tissue.
        tissue: &'static str,
        /// Voxels found.
        n: usize,
        /// Voxels needed.
        need: usize,
    },
    /// The two reference tissues do not give a usable line.
    #[error("internal calibration: fat at {fat_hu:.1} HU and muscle at {muscle_hu:.1} HU give no rising calibration line (muscle must be denser than fat); check the CT's rescale slope and intercept")]
    BadLine {
        /// Fat HU.
        fat_hu: f64,
        /// Muscle HU.
        muscle_hu: f64,
    },
    /// Settings out of range.
    #[error("bone density settings: {0}")]
    Settings(String),
    /// CT and labels on different grids.
    #[error("the label map is not on the CT's grid; resample it onto the CT (nearest neighbour) first")]
    GridMismatch,
    /// The CT holds NaN or infinite voxels.
    #[error("the CT has {} voxels that are not numbers ({nan} NaN, {infinite} infinite); replace them (e.g. with -1024, air) first", nan + infinite)]
    NonFinite {
        /// NaN voxels.
        nan: usize,
        /// Infinite voxels.
        infinite: usize,
    },
    /// The femur has no voxel or its landmarks are degenerate.
    #[error("femur_{side}: {why}")]
    Femur {
        /// Which femur.
        side: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// Settings of the internal calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSettings {
    /// HU range of fat voxels. Default -190..-30 HU.
    pub fat_range_hu: [f64; 2],
    /// HU range of muscle voxels (without muscle labels). Default 0..100 HU.
    pub muscle_range_hu: [f64; 2],
    /// Fat's bone-mineral-equivalent density, mg/cm³ hydroxyapatite. Default -100 (nominal).
    pub fat_equivalent_mg_cm3: f64,
    /// Muscle's bone-mineral-equivalent density, mg/cm³ hydroxyapatite. Default +50 (nominal).
    pub muscle_equivalent_mg_cm3: f64,
    /// Fewest homogeneous voxels of each tissue. Default 200.
    pub min_voxels: usize,
}

impl Default for CalibrationSettings {
    fn default() -> Self {
        Self { fat_range_hu: [-190.0, -30.0], muscle_range_hu: [0.0, 100.0], fat_equivalent_mg_cm3: -100.0, muscle_equivalent_mg_cm3: 50.0, min_voxels: 200 }
    }
}

/// One reference tissue as sampled in the CT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceTissue {
    /// `fat` or `muscle`.
    pub name: String,
    /// Median HU of its homogeneous voxels.
    pub hu: f64,
    /// Interquartile range of those voxels, HU.
    pub iqr_hu: f64,
    /// How many voxels.
    pub n_voxels: usize,
    /// Where they came from (`muscle labels`, `HU range`).
    pub source: String,
    /// The equivalent density assumed, mg/cm³.
    pub equivalent_mg_cm3: f64,
}

/// The calibration line `HU = intercept_hu + slope_hu_per_mg_cm3 x rho`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Gain, HU per mg/cm³.
    pub slope_hu_per_mg_cm3: f64,
    /// HU of zero mineral density.
    pub intercept_hu: f64,
    /// The reference tissues (fat, muscle).
    pub references: Vec<ReferenceTissue>,
    /// The method, cited.
    pub method: String,
}

impl Calibration {
    /// A line from two reference tissues.
    pub fn from_references(fat: ReferenceTissue, muscle: ReferenceTissue) -> Result<Self, DensityError> {
        let d_rho = muscle.equivalent_mg_cm3 - fat.equivalent_mg_cm3;
        let slope = (muscle.hu - fat.hu) / d_rho;
        if !(d_rho > 0.0 && slope.is_finite() && slope > 0.05) {
            return Err(DensityError::BadLine { fat_hu: fat.hu, muscle_hu: muscle.hu });
        }
        let intercept = fat.hu - slope * fat.equivalent_mg_cm3;
        Ok(Self {
            slope_hu_per_mg_cm3: slope,
            intercept_hu: intercept,
            references: vec![fat, muscle],
            method: "internal calibration from the patient's subcutaneous fat and skeletal muscle (Boden et al. 1989; Gudmundsdottir et al. 1993; see Michalski et al. 2020, Winsor et al. 2021)"
                .into(),
        })
    }
    /// A known line (a phantom-calibrated scanner).
    pub fn known(slope_hu_per_mg_cm3: f64, intercept_hu: f64) -> Self {
        Self { slope_hu_per_mg_cm3, intercept_hu, references: Vec::new(), method: "given".into() }
    }
    /// Equivalent mineral density of a CT number, mg/cm³.
    pub fn mg_cm3(&self, hu: f64) -> f64 {
        (hu - self.intercept_hu) / self.slope_hu_per_mg_cm3
    }
}

/// TotalSegmentator ids of the hip muscles used as muscle reference when labelled (gluteus
/// maximus, medius, minimus left/right; iliopsoas left/right).
pub const MUSCLE_LABELS: [u16; 8] = [80, 81, 82, 83, 84, 85, 88, 89];

/// [`DensityError::NonFinite`] when `ct` holds NaN or infinite voxels.
fn finite(ct: &Volume) -> Result<(), DensityError> {
    match ct.non_finite_counts() {
        (0, 0) => Ok(()),
        (nan, infinite) => Err(DensityError::NonFinite { nan, infinite }),
    }
}

/// Samples fat and muscle in the box `roi` (LPS corners; `None`: the whole CT) of `ct`, voxels of
/// bone labels (any label outside the muscles) left out. See the module docs.
pub fn sample_tissues(ct: &Volume, labels: Option<&LabelMap>, roi: Option<(Point3<f64>, Point3<f64>)>, settings: &CalibrationSettings) -> Result<(ReferenceTissue, ReferenceTissue), DensityError> {
    if settings.fat_range_hu[0] >= settings.fat_range_hu[1] || settings.muscle_range_hu[0] >= settings.muscle_range_hu[1] {
        return Err(DensityError::Settings("each HU range must be [low, high] with low < high".into()));
    }
    finite(ct)?;
    if let Some(l) = labels
        && !l.grid().same_as(ct.grid(), 1e-3)
    {
        return Err(DensityError::GridMismatch);
    }
    let [ni, nj, nk] = ct.grid().size();
    let (lo, hi) = match roi {
        Some((a, b)) => {
            let (va, vb) = (ct.grid().lps_to_voxel(&a), ct.grid().lps_to_voxel(&b));
            let lo: Vec<usize> = (0..3).map(|x| va[x].min(vb[x]).floor().max(1.0) as usize).collect();
            let hi: Vec<usize> = (0..3).map(|x| (va[x].max(vb[x]).ceil().max(0.0) as usize).min([ni, nj, nk][x].saturating_sub(2))).collect();
            ([lo[0], lo[1], lo[2]], [hi[0], hi[1], hi[2]])
        }
        None => ([1, 1, 1], [ni.saturating_sub(2), nj.saturating_sub(2), nk.saturating_sub(2)]),
    };
    // HU voxel by voxel in the CT's own type (no f32 copy of an i16 CT: 1 GB at 512 x 512 x 1000).
    let hu = |k: usize, j: usize, i: usize| ct.hu_at([k, j, i]);
    let lab = labels.map(|l| l.labels());
    let homogeneous = |i: usize, j: usize, k: usize, r: [f64; 2]| -> bool {
        for dk in 0..3 {
            for dj in 0..3 {
                for di in 0..3 {
                    let v = f64::from(hu(k + dk - 1, j + dj - 1, i + di - 1));
                    if !(v >= r[0] && v <= r[1]) {
                        return false;
                    }
                }
            }
        }
        true
    };
    let has_muscle_labels = lab.is_some_and(|l| l.iter().any(|v| MUSCLE_LABELS.contains(v)));
    // Slices in parallel, each slice's samples in order: the same lists as one serial pass.
    let per_slice: Vec<(Vec<f64>, Vec<f64>)> = (lo[2]..=hi[2])
        .into_par_iter()
        .map(|k| {
            let (mut fat, mut muscle) = (Vec::new(), Vec::new());
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    let l = lab.map_or(0, |l| l[[k, j, i]]);
                    let v = f64::from(hu(k, j, i));
                    let is_muscle_label = MUSCLE_LABELS.contains(&l);
                    if l != 0 && !is_muscle_label {
                        continue;
                    }
                    if v >= settings.fat_range_hu[0] && v <= settings.fat_range_hu[1] && !is_muscle_label && homogeneous(i, j, k, settings.fat_range_hu) {
                        fat.push(v);
                    }
                    let in_muscle = if has_muscle_labels { is_muscle_label } else { l == 0 };
                    if in_muscle && v >= settings.muscle_range_hu[0] && v <= settings.muscle_range_hu[1] && homogeneous(i, j, k, settings.muscle_range_hu) {
                        muscle.push(v);
                    }
                }
            }
            (fat, muscle)
        })
        .collect();
    let (mut fat, mut muscle) = (Vec::new(), Vec::new());
    for (f, m) in per_slice {
        fat.extend(f);
        muscle.extend(m);
    }
    let summarise = |name: &'static str, mut v: Vec<f64>, source: &str, eq: f64| -> Result<ReferenceTissue, DensityError> {
        if v.len() < settings.min_voxels {
            return Err(DensityError::TooFewTissueVoxels { tissue: name, n: v.len(), need: settings.min_voxels });
        }
        v.sort_by(f64::total_cmp);
        let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
        Ok(ReferenceTissue { name: name.into(), hu: q(0.5), iqr_hu: q(0.75) - q(0.25), n_voxels: v.len(), source: source.into(), equivalent_mg_cm3: eq })
    };
    let fat = summarise("fat", fat, "HU range, homogeneous 3x3x3", settings.fat_equivalent_mg_cm3)?;
    let muscle = summarise("muscle", muscle, if has_muscle_labels { "hip muscle labels, homogeneous 3x3x3" } else { "HU range, homogeneous 3x3x3" }, settings.muscle_equivalent_mg_cm3)?;
    Ok((fat, muscle))
}

/// [`sample_tissues`] then [`Calibration::from_references`].
pub fn internal_calibration(ct: &Volume, labels: Option<&LabelMap>, roi: Option<(Point3<f64>, Point3<f64>)>, settings: &CalibrationSettings) -> Result<Calibration, DensityError> {
    let (fat, muscle) = sample_tissues(ct, labels, roi, settings)?;
    Calibration::from_references(fat, muscle)
}

/// Young-adult reference values of areal BMD (g/cm², DXA Hologic-equivalent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePopulation {
    /// Name and source.
    pub name: String,
    /// Femoral neck young mean and SD, g/cm².
    pub neck_g_cm2: [f64; 2],
    /// Total hip young mean and SD, g/cm².
    pub total_hip_g_cm2: [f64; 2],
    /// Young adult mean for YAM %: femoral neck, total hip, g/cm².
    pub yam_g_cm2: [f64; 2],
    /// Where the YAM comes from.
    pub yam_source: String,
}

impl ReferencePopulation {
    /// NHANES III white women 20-29 y (Looker et al. 1998), as the ISCD recommends for T-scores.
    pub fn nhanes3() -> Self {
        Self {
            name: "NHANES III white women 20-29 y (Looker et al., Osteoporos Int 1998;8:468-489), the ISCD's reference for women and men".into(),
            neck_g_cm2: [0.858, 0.120],
            total_hip_g_cm2: [0.942, 0.122],
            yam_g_cm2: [0.858, 0.942],
            yam_source: "the NHANES III young mean (a Japanese young-adult-mean table was not available here); thresholds of the Japanese criteria (Soen et al. 2013)".into(),
        }
    }
    /// The T-score of an areal BMD (g/cm²) of the femoral neck (`total_hip` false) or the
    /// total hip: its distance from the young mean in young SDs.
    pub fn t_score(&self, total_hip: bool, abmd_g_cm2: f64) -> f64 {
        let [mean, sd] = if total_hip { self.total_hip_g_cm2 } else { self.neck_g_cm2 };
        (abmd_g_cm2 - mean) / sd
    }
    /// The YAM % of an areal BMD (g/cm²) of the femoral neck or the total hip.
    pub fn yam_percent(&self, total_hip: bool, abmd_g_cm2: f64) -> f64 {
        100.0 * abmd_g_cm2 / self.yam_g_cm2[usize::from(total_hip)]
    }
}

/// A femur flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DensityFlag {
    /// Metal in the proximal femur: not measured.
    Metal,
    /// The scan cuts the femur in or above the total hip region.
    Cut,
}

/// The Japanese criteria's category of a YAM % (Soen et al. 2013).
pub fn japanese_category(yam_percent: f64) -> &'static str {
    if yam_percent <= 70.0 {
        "osteoporosis"
    } else if yam_percent < 80.0 {
        "low bone mass"
    } else {
        "normal"
    }
}

/// The WHO category of a T-score.
pub fn who_category(t: f64) -> &'static str {
    if t <= -2.5 {
        "osteoporosis"
    } else if t < -1.0 {
        "osteopenia"
    } else {
        "normal"
    }
}

/// One value per DXA region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Regions {
    /// Femoral neck.
    pub neck: Option<f64>,
    /// Trochanter.
    pub trochanter: Option<f64>,
    /// Total hip.
    pub total_hip: Option<f64>,
}

/// Bone density of one femur.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FemurDensity {
    /// Which femur.
    pub side: Side,
    /// Integral vBMD, mg/cm³ hydroxyapatite-equivalent.
    pub vbmd_mg_cm3: Regions,
    /// DXA-equivalent aBMD, g/cm².
    pub abmd_g_cm2: Regions,
    /// T-scores (neck, total hip; trochanter has no reference here).
    pub t_score: Regions,
    /// YAM % (neck, total hip).
    pub yam_percent: Regions,
    /// Japanese criteria on the lower YAM % of neck and total hip, when measured.
    pub category: Option<String>,
    /// WHO category on the lower T-score.
    pub who_category: Option<String>,
    /// Metal or cut.
    pub flags: Vec<DensityFlag>,
    /// What was measured how, what was left out and why.
    pub notes: Vec<String>,
    /// Neck box centre along the neck axis from the head centre, mm.
    pub neck_box_centre_mm: Option<f64>,
    /// The neck's narrowest projected width, mm.
    pub neck_width_mm: Option<f64>,
    /// Bone areas of the regions, cm².
    pub area_cm2: Regions,
}

/// Settings of the femur measure.
#[derive(Debug, Clone, PartialEq)]
pub struct FemurDensitySettings {
    /// Pixel size of the projection, mm (0 = a quarter of the smallest voxel spacing, within
    /// 0.2..0.5 mm).
    pub pixel_mm: f64,
    /// The reference population.
    pub reference: ReferencePopulation,
    /// Mineral-equivalent density of the soft tissue around the bone, mg/cm³, subtracted from
    /// the partial-volume voxels just outside the label (`None`: the calibration's muscle
    /// equivalent, 0 without one).
    pub soft_tissue_mg_cm3: Option<f64>,
}

impl Default for FemurDensitySettings {
    fn default() -> Self {
        Self { pixel_mm: 0.0, reference: ReferencePopulation::nhanes3(), soft_tissue_mg_cm3: None }
    }
}

/// The voxel index ranges `[i, j, k]` (end exclusive, within the grid) of the box holding the
/// ball of `radius` mm about `centre`.
fn ball_box(g: &coxa_core::Grid, centre: &Point3<f64>, radius: f64) -> [(usize, usize); 3] {
    let size = g.size();
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for corner in 0..8 {
        let d = Vector3::new(if corner & 1 == 0 { -radius } else { radius }, if corner & 2 == 0 { -radius } else { radius }, if corner & 4 == 0 { -radius } else { radius });
        let v = g.lps_to_voxel(&(centre + d));
        for a in 0..3 {
            lo[a] = lo[a].min(v[a]);
            hi[a] = hi[a].max(v[a]);
        }
    }
    std::array::from_fn(|a| {
        let n = size[a] as f64;
        ((lo[a].floor().max(0.0).min(n)) as usize, ((hi[a].ceil() + 1.0).max(0.0).min(n)) as usize)
    })
}

/// Measures the femur labelled `femur_id` in `labels` (on `ct`'s grid) with landmarks `femur`.
/// See the module docs.
pub fn femur_density(ct: &Volume, labels: &LabelMap, femur_id: u16, femur: &FemurLandmarks, cal: &Calibration, settings: &FemurDensitySettings) -> Result<FemurDensity, DensityError> {
    let side = femur.side.as_str();
    let fail = |why: String| DensityError::Femur { side, why };
    if !labels.grid().same_as(ct.grid(), 1e-3) {
        return Err(DensityError::GridMismatch);
    }
    finite(ct)?;
    let h = femur.head_centre.lps_mm;
    let s = femur.shaft_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| fail("zero shaft axis".into()))?;
    let mut n = femur.neck_axis.direction_lps.try_normalize(1e-9).ok_or_else(|| fail("zero neck axis".into()))?;
    if (femur.shaft_axis.point_lps_mm - h).dot(&n) < 0.0 {
        n = -n;
    }
    let d = n.cross(&s).try_normalize(1e-6).ok_or_else(|| fail("neck and shaft axes are parallel".into()))?;
    let e2 = d.cross(&n);
    // Where the neck axis passes the shaft axis (closest approach), along n from the head centre.
    let a = femur.shaft_axis.point_lps_mm;
    let (b, c_, dd, e) = (n.dot(&s), n.dot(&(h - a)), s.dot(&(h - a)), 1.0 - n.dot(&s).powi(2));
    let t_shaft = if e > 1e-9 { (b * dd - c_) / e } else { 60.0 };
    let r_head = femur.head_radius_mm.max(5.0);
    let lt = femur.lesser_trochanter.lps_mm;
    let height = |p: &Point3<f64>| (p - lt).dot(&s);

    let g = ct.grid();
    let sp = g.spacing_mm();
    let pixel = if settings.pixel_mm > 0.0 { settings.pixel_mm } else { (sp.min() / 4.0).clamp(0.2, 0.5) };
    // The region of interest: within a box around the head, neck and trochanters.
    let extent = (t_shaft + 40.0).max(r_head + 60.0);
    let voxel_vol_mm3 = sp.x * sp.y * sp.z;
    let lab = labels.labels();
    // HU voxel by voxel in the CT's own type (no f32 copy of an i16 CT: 1 GB at 512 x 512 x 1000).
    let hu = |k: usize, j: usize, i: usize| ct.hu_at([k, j, i]);
    let [ni, nj, nk] = g.size();
    let mut flags = Vec::new();
    let mut notes = Vec::new();
    // Voxels of the femur near the hip: (centre, mineral density mg/cm³).
    let mut vox: Vec<(Point3<f64>, f64)> = Vec::new();
    let mut metal = 0usize;
    let mut touches_border = false;
    // Partial-volume voxels just outside the label (6-neighbours of it, unlabelled): their mineral
    // above the soft tissue around the bone, `shell`, belongs to the bone's mass.
    let baseline = settings.soft_tissue_mg_cm3.unwrap_or_else(|| cal.references.iter().find(|r| r.name == "muscle").map_or(0.0, |r| r.equivalent_mg_cm3));
    let mut shell: Vec<(Point3<f64>, f64)> = Vec::new();
    // Only voxels within `extent` of the head centre are taken: the loops run over the box of
    // that ball (a full-length CT holds a billion voxels; the ball some millions).
    let [(i0, i1), (j0, j1), (k0, k1)] = ball_box(g, &h, extent + sp.max());
    for k in k0..k1 {
        for j in j0..j1 {
            for i in i0..i1 {
                let l = lab[[k, j, i]];
                if l != femur_id {
                    if l == 0 || MUSCLE_LABELS.contains(&l) {
                        let next = [(1i64, 0i64, 0i64), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)].iter().any(|&(di, dj, dk)| {
                            let (a, b, c) = (i as i64 + di, j as i64 + dj, k as i64 + dk);
                            a >= 0 && b >= 0 && c >= 0 && (a as usize) < ni && (b as usize) < nj && (c as usize) < nk && lab[[c as usize, b as usize, a as usize]] == femur_id
                        });
                        if next {
                            let p = g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                            let v = hu(k, j, i);
                            let rho = cal.mg_cm3(f64::from(v)) - baseline;
                            if rho > 0.0 && (p - h).norm() <= extent && v <= METAL_HU {
                                shell.push((p, rho));
                            }
                        }
                    }
                    continue;
                }
                let p = g.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
                let r = p - h;
                if r.norm() > extent || height(&p) < -TOTAL_HIP_BELOW_LT_MM - 15.0 {
                    continue;
                }
                let v = hu(k, j, i);
                if v > METAL_HU {
                    metal += 1;
                }
                if i == 0 || j == 0 || k == 0 || i + 1 == ni || j + 1 == nj || k + 1 == nk {
                    touches_border = true;
                }
                vox.push((p, cal.mg_cm3(f64::from(v))));
            }
        }
    }
    if vox.is_empty() {
        return Err(fail(format!("no voxel of label {femur_id} near the femoral head")));
    }
    let empty = FemurDensity {
        side: femur.side,
        vbmd_mg_cm3: Regions::default(),
        abmd_g_cm2: Regions::default(),
        t_score: Regions::default(),
        yam_percent: Regions::default(),
        category: None,
        who_category: None,
        flags: Vec::new(),
        notes: Vec::new(),
        neck_box_centre_mm: None,
        neck_width_mm: None,
        area_cm2: Regions::default(),
    };
    if metal > 0 {
        return Ok(FemurDensity {
            flags: vec![DensityFlag::Metal],
            notes: vec![format!(
                "{metal} femur voxels above {METAL_HU} HU in the proximal femur (a screw, nail, plate or prosthesis): metal and its streaks falsify the density, so this femur is not measured"
            )],
            ..empty
        });
    }
    // The scan must reach below the total hip's lower edge on the shaft axis.
    let low = a + s * ((lt - a).dot(&s) - TOTAL_HIP_BELOW_LT_MM);
    let vlow = g.lps_to_voxel(&low);
    let low_inside = (0..3).all(|x| vlow[x] >= 0.0 && vlow[x] <= ([ni, nj, nk][x] - 1) as f64);
    let cut = !low_inside || touches_border;
    if cut {
        flags.push(DensityFlag::Cut);
        notes.push(if low_inside {
            "the femur touches the scan's border near the hip: regions reaching the border are incomplete".into()
        } else {
            format!("the scan ends above {TOTAL_HIP_BELOW_LT_MM} mm below the lesser trochanter: no total hip")
        });
    }

    // Projection onto (t, w): t along n from the head centre, w along e2.
    let t_min = -r_head - 5.0;
    let t_max = extent;
    let w_half = extent;
    let nt = ((t_max - t_min) / pixel).ceil() as usize + 1;
    let nw = (2.0 * w_half / pixel).ceil() as usize + 1;
    if nt.saturating_mul(nw) > 64_000_000 {
        return Err(fail(format!("the projection would need {nt} x {nw} pixels; use a larger pixel size")));
    }
    let sub = ((sp.max() / pixel).ceil() as usize).clamp(1, 8);
    let dirs = g.direction();
    let axes: Vec<Vector3<f64>> = (0..3).map(|x| dirs.column(x) * sp[x]).collect();
    let mut mass = vec![0.0f64; nt * nw]; // mg
    let mut path = vec![0.0f64; nt * nw]; // mm
    let sub_vol = voxel_vol_mm3 / (sub * sub * sub) as f64;
    let pix_area = pixel * pixel;
    let to_pixel = |p: &Point3<f64>| -> Option<usize> {
        let r = p - h;
        let (t, w) = (r.dot(&n), r.dot(&e2));
        let it = ((t - t_min) / pixel).floor();
        let iw = ((w + w_half) / pixel).floor();
        (it >= 0.0 && iw >= 0.0 && (it as usize) < nt && (iw as usize) < nw).then(|| it as usize * nw + iw as usize)
    };
    for (is_bone, (p, rho)) in vox.iter().map(|v| (true, v)).chain(shell.iter().map(|v| (false, v))) {
        let m = rho * 1e-3 * sub_vol; // mg/cm³ -> mg/mm³, times mm³
        for a3 in 0..sub {
            for a2 in 0..sub {
                for a1 in 0..sub {
                    let f = |q: usize| (q as f64 + 0.5) / sub as f64 - 0.5;
                    let q = p + axes[0] * f(a1) + axes[1] * f(a2) + axes[2] * f(a3);
                    if let Some(ix) = to_pixel(&q) {
                        mass[ix] += m;
                        if is_bone {
                            path[ix] += sub_vol / pix_area;
                        }
                    }
                }
            }
        }
    }
    let bone = |ix: usize| path[ix] >= MIN_BONE_PATH_MM;
    let t_of = |it: usize| t_min + (it as f64 + 0.5) * pixel;
    let w_of = |iw: usize| -w_half + (iw as f64 + 0.5) * pixel;
    let iw0 = ((w_half) / pixel).floor() as usize;
    // The run of bone pixels across the neck axis at column it.
    let run = |it: usize| -> Option<(usize, usize)> {
        let base = it * nw;
        let reach = ((10.0 / pixel).ceil() as usize).min(iw0);
        let start = (0..=reach).flat_map(|o| [iw0 - o, iw0 + o]).find(|&iw| iw < nw && bone(base + iw))?;
        let mut lo = start;
        while lo > 0 && bone(base + lo - 1) {
            lo -= 1;
        }
        let mut hi = start;
        while hi + 1 < nw && bone(base + hi + 1) {
            hi += 1;
        }
        Some((lo, hi))
    };
    let search_lo = r_head;
    let search_hi = t_shaft - 5.0;
    let half = NECK_BOX_MM / 2.0;
    let mut best: Option<(f64, f64)> = None; // (width, centre t)
    if search_hi - search_lo >= NECK_BOX_MM {
        let widths: Vec<(f64, f64)> = (0..nt).filter(|&it| t_of(it) >= search_lo && t_of(it) <= search_hi).filter_map(|it| run(it).map(|(lo, hi)| (t_of(it), (hi - lo + 1) as f64 * pixel))).collect();
        // Narrowest box-averaged width with the whole box inside the search range.
        for &(tc, _) in &widths {
            if tc - half < search_lo || tc + half > search_hi {
                continue;
            }
            let inside: Vec<f64> = widths.iter().filter(|(t, _)| (t - tc).abs() <= half).map(|(_, w)| *w).collect();
            if inside.is_empty() {
                continue;
            }
            let mean = inside.iter().sum::<f64>() / inside.len() as f64;
            if best.is_none_or(|(bw, _)| mean < bw) {
                best = Some((mean, tc));
            }
        }
    }
    let Some((neck_width, tc)) = best else {
        notes.push(format!("no femoral neck {NECK_BOX_MM} mm long between the head and the shaft (neck axis {:.0} mm from the head centre to the shaft axis)", t_shaft));
        return Ok(FemurDensity { flags, notes, ..empty });
    };
    // Region masks over the projection.
    let (box_lo, box_hi) = (tc - half, tc + half);
    let mut region = vec![0u8; nt * nw]; // 0 none, 1 neck, 2 trochanter, 3 intertrochanteric
    for it in 0..nt {
        let t = t_of(it);
        if t < box_lo {
            continue;
        }
        let neck_run = if t <= box_hi { run(it) } else { None };
        for iw in 0..nw {
            let ix = it * nw + iw;
            if !bone(ix) {
                continue;
            }
            let q = h + n * t + e2 * w_of(iw);
            let z = height(&q);
            if z < -TOTAL_HIP_BELOW_LT_MM {
                continue;
            }
            region[ix] = if t <= box_hi {
                if neck_run.is_some_and(|(lo, hi)| (lo..=hi).contains(&iw)) { 1 } else { 3 }
            } else if z >= 0.0 {
                2
            } else {
                3
            };
        }
    }
    // aBMD and area per region (total hip = 1 + 2 + 3).
    let mut m_r = [0.0f64; 4];
    let mut a_r = [0.0f64; 4];
    for ix in 0..nt * nw {
        let r = region[ix] as usize;
        if r > 0 {
            m_r[r] += mass[ix];
            a_r[r] += pix_area;
        }
    }
    // vBMD: voxels whose centres project into a region.
    let mut vm = [0.0f64; 4];
    let mut vv = [0.0f64; 4];
    for (is_bone, (p, rho)) in vox.iter().map(|v| (true, v)).chain(shell.iter().map(|v| (false, v))) {
        if let Some(ix) = to_pixel(p) {
            let r = region[ix] as usize;
            if r > 0 {
                vm[r] += rho * voxel_vol_mm3;
                if is_bone {
                    vv[r] += voxel_vol_mm3;
                }
            }
        }
    }
    let total = |x: &[f64; 4]| x[1] + x[2] + x[3];
    // mg/mm² -> g/cm²: x 100 / 1000.
    let abmd = |m: f64, a: f64| (a > 0.0).then(|| m / a * 0.1);
    let vbmd = |m: f64, v: f64| (v > 0.0).then(|| m / v);
    let total_hip_ok = !cut;
    let reference = &settings.reference;
    let abmd_r = Regions { neck: abmd(m_r[1], a_r[1]), trochanter: abmd(m_r[2], a_r[2]), total_hip: if total_hip_ok { abmd(total(&m_r), total(&a_r)) } else { None } };
    let vbmd_r = Regions { neck: vbmd(vm[1], vv[1]), trochanter: vbmd(vm[2], vv[2]), total_hip: if total_hip_ok { vbmd(total(&vm), total(&vv)) } else { None } };
    let t_score = Regions { neck: abmd_r.neck.map(|v| reference.t_score(false, v)), trochanter: None, total_hip: abmd_r.total_hip.map(|v| reference.t_score(true, v)) };
    let yam = Regions { neck: abmd_r.neck.map(|v| reference.yam_percent(false, v)), trochanter: None, total_hip: abmd_r.total_hip.map(|v| reference.yam_percent(true, v)) };
    let lowest = |r: &Regions| [r.neck, r.total_hip].into_iter().flatten().reduce(f64::min);
    notes.push(format!(
        "neck box {NECK_BOX_MM} mm at {tc:.1} mm from the head centre (narrowest neck {neck_width:.1} mm); projection along n x s, {pixel:.2} mm pixels; T-score against {}; YAM against {}",
        reference.name, reference.yam_source
    ));
    Ok(FemurDensity {
        side: femur.side,
        vbmd_mg_cm3: vbmd_r,
        abmd_g_cm2: abmd_r,
        t_score,
        yam_percent: yam,
        category: lowest(&yam).map(|v| japanese_category(v).to_string()),
        who_category: lowest(&t_score).map(|v| who_category(v).to_string()),
        flags,
        notes,
        neck_box_centre_mm: Some(tc),
        neck_width_mm: Some(neck_width),
        area_cm2: Regions { neck: Some(a_r[1] / 100.0), trochanter: Some(a_r[2] / 100.0), total_hip: total_hip_ok.then(|| total(&a_r) / 100.0) },
    })
}

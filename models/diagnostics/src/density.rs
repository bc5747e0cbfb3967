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

mod femur;

pub use femur::*;

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

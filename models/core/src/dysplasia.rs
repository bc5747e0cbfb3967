//! The dysplasia and osteoarthritis measures of one hip (issue 62), as `anatomy.json` records
//! them under each acetabulum's `dysplasia` block: the radiographic measures a hip surgeon
//! reads first on an AP pelvis, taken in 3D on the bone surfaces in the pelvic frame, with the
//! points they were taken from and the cited ranges they are graded by.

use serde::{Deserialize, Serialize};

use crate::Side;

/// Wiberg's lateral centre-edge angle below which a hip is dysplastic, deg (Wiberg 1939;
/// Tannast, Hanke, Zheng et al., Clin Orthop Relat Res 2015;473:1234-46).
pub const LCE_DYSPLASTIC_BELOW_DEG: f64 = 20.0;
/// ... and below which (down to the dysplastic limit) it is borderline, deg (same sources).
pub const LCE_BORDERLINE_BELOW_DEG: f64 = 25.0;
/// ... and above which the acetabulum over-covers the head, deg (Tannast et al. 2015).
pub const LCE_OVERCOVERAGE_ABOVE_DEG: f64 = 40.0;
/// Minimum joint space width at or below which a hip counts as osteoarthritic, mm (Jacobsen,
/// Sonne-Holm, Søballe et al., Acta Orthop Scand 2004;75:713-20: the Copenhagen study's
/// threshold).
pub const JSW_OA_AT_MOST_MM: f64 = 2.0;
/// ... and at or below which (above the OA threshold) osteoarthritis is possible, mm (Croft,
/// Cooper, Wickham, Coggon, Am J Epidemiol 1990;132:514-22).
pub const JSW_POSSIBLE_OA_AT_MOST_MM: f64 = 2.5;

/// How the socket covers the head, by the lateral centre-edge angle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// LCE below [`LCE_DYSPLASTIC_BELOW_DEG`].
    Dysplastic,
    /// LCE from [`LCE_DYSPLASTIC_BELOW_DEG`] to [`LCE_BORDERLINE_BELOW_DEG`].
    Borderline,
    /// LCE from [`LCE_BORDERLINE_BELOW_DEG`] to [`LCE_OVERCOVERAGE_ABOVE_DEG`].
    Normal,
    /// LCE above [`LCE_OVERCOVERAGE_ABOVE_DEG`].
    Overcovered,
}

impl Coverage {
    /// The class of a lateral centre-edge angle, deg.
    pub fn of_lce(lce_deg: f64) -> Self {
        if lce_deg < LCE_DYSPLASTIC_BELOW_DEG {
            Self::Dysplastic
        } else if lce_deg < LCE_BORDERLINE_BELOW_DEG {
            Self::Borderline
        } else if lce_deg <= LCE_OVERCOVERAGE_ABOVE_DEG {
            Self::Normal
        } else {
            Self::Overcovered
        }
    }
}

/// Osteoarthritis by the minimum joint space width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OaGrade {
    /// Wider than [`JSW_POSSIBLE_OA_AT_MOST_MM`].
    None,
    /// Above [`JSW_OA_AT_MOST_MM`], at most [`JSW_POSSIBLE_OA_AT_MOST_MM`].
    Possible,
    /// At most [`JSW_OA_AT_MOST_MM`].
    Osteoarthritis,
}

impl OaGrade {
    /// The grade of a minimum joint space width, mm.
    pub fn of_jsw(jsw_mm: f64) -> Self {
        if jsw_mm <= JSW_OA_AT_MOST_MM {
            Self::Osteoarthritis
        } else if jsw_mm <= JSW_POSSIBLE_OA_AT_MOST_MM {
            Self::Possible
        } else {
            Self::None
        }
    }
}

/// One hip's dysplasia and osteoarthritis measures. Angles in degrees, lengths in mm, points in
/// the pelvic frame (mm). A measure is absent where what it needs was not found (said in
/// `notes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DysplasiaRecord {
    /// The side.
    pub side: Side,
    /// Lateral centre-edge angle (Wiberg): from the vertical through the femoral head's centre
    /// to the lateral edge of the acetabular roof; negative when the roof ends medial of it.
    pub lce_deg: Option<f64>,
    /// Coverage class by `lce_deg` (Wiberg 1939; Tannast et al. 2015); absent where the
    /// surfaces' joint space is closed (the angle then uncertain).
    pub coverage: Option<Coverage>,
    /// Sharp's angle: from the horizontal through the teardrop's tip to the lateral edge of the
    /// acetabular roof (adults about 33-38, above 42-45 dysplastic: Sharp, J Bone Joint Surg Br
    /// 1961;43:268-72).
    pub sharp_deg: Option<f64>,
    /// Tönnis' angle (acetabular index of the weight-bearing zone): from the horizontal to the
    /// line from the sourcil's medial edge to the roof's lateral edge (0-10 normal, above 10
    /// dysplastic, below 0 over-covered: Tönnis, Congenital Dysplasia and Dislocation of the
    /// Hip, Springer 1987; Tannast et al. 2015).
    pub tonnis_deg: Option<f64>,
    /// Femoral head extrusion index: the head's width lateral of the roof's edge over the
    /// head's width, percent (normal below about 25: Tannast et al. 2015).
    pub extrusion_index_percent: Option<f64>,
    /// The socket's version on the axial section half a head radius above the head's centre,
    /// deg: the line from the posterior to the anterior rim against the sagittal direction,
    /// positive anteverted (a negative cranial version is the crossover sign's retroversion).
    pub version_cranial_deg: Option<f64>,
    /// ... at the head's centre, deg.
    pub version_central_deg: Option<f64>,
    /// ... half a head radius below it, deg.
    pub version_caudal_deg: Option<f64>,
    /// Crowe's class, 1-4, by `crowe_subluxation_percent` (below 50, 50-75, 75-100, above 100:
    /// Crowe, Mani, Ranawat, J Bone Joint Surg Am 1979;61:15-23).
    pub crowe: Option<u8>,
    /// The head's proximal migration above the teardrop, over the head's diameter, percent.
    pub crowe_subluxation_percent: Option<f64>,
    /// Minimum 3D width of the joint space: the 5th percentile of the distances from the
    /// femoral head's surface facing the socket to the acetabulum's (bone surfaces: narrower than
    /// a radiograph's by up to a voxel).
    pub min_joint_space_mm: Option<f64>,
    /// Where on the head it is (the mean of the head's points at or below it), LPS mm.
    pub min_joint_space_at_lps_mm: Option<[f64; 3]>,
    /// Osteoarthritis by `min_joint_space_mm` (Croft et al. 1990; Jacobsen et al. 2004), given
    /// where the CT's voxels are at most 1 mm (or for surfaces); not validated against
    /// radiographs.
    pub oa_grade: Option<OaGrade>,
    /// The roof's lateral edge, pelvic frame mm.
    pub lateral_edge_pelvic_mm: Option<[f64; 3]>,
    /// The sourcil's medial edge, pelvic frame mm.
    pub sourcil_medial_edge_pelvic_mm: Option<[f64; 3]>,
    /// The teardrop's tip, pelvic frame mm.
    pub teardrop_pelvic_mm: Option<[f64; 3]>,
    /// How the measures are taken.
    pub method: String,
    /// What was worked around or not found.
    pub notes: Vec<String>,
}

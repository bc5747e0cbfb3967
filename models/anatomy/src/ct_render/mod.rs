//! **Test-data generation**: CTs with a known truth rendered from closed bone surfaces (issue 59,
//! part 1). Nothing here is tuned to coxa's segmenter; every value below is taken from the
//! literature (cited where it is set) or is a stated choice, so that the renders stand in for the
//! CTs surgeons take, not for what the segmenter finds easy.
//!
//! What a render is, in the order it is made:
//! 1. **Joint.** Each femur is placed so that the smallest distance between its head and the hip
//!    bone in the weight-bearing dome (a 30 deg cone around the superolateral direction) is the
//!    requested width ([`joint`]): narrower than the subject's (arthritic, 0-2 mm) by moving the
//!    femur superolaterally (the usual direction of migration in hip osteoarthritis), wider
//!    (normal, 4-5 mm) by scaling it down about its head centre, which widens the joint alike in
//!    every direction. A placement whose femur would enter the hip bone near the joint is
//!    refused ([`RenderError::Geometry`]): its truth would be a collision.
//! 2. **Pose.** The whole body is turned about the midpoint of the femoral heads (tilt, up to
//!    10 deg) and the grid laid axis-aligned around it: [`RenderTruth::ct_from_source`].
//! 3. **Bones** are filled by ray parity at the voxel centres (as `mesh_phantom`), each bone's
//!    voxels then taking a tissue by their depth under its surface ([`voxel`]): cortex (thin in
//!    the pelvis and the proximal femur, thick in the femoral diaphysis), a subchondral plate at
//!    the femoral head and the acetabulum, trabecular bone inside, fatty marrow in the diaphysis.
//!    Where two bones other than femur and hip bone touch (the sacroiliac joints), a seam of soft
//!    tissue is left, as in `mesh_phantom`.
//! 4. **Body:** soft tissue (muscle) around the bones, a subcutaneous fat layer, skin, air.
//! 5. **Metal** (optional) in one femur: a stem-like solid down the canal with streaks.
//! 6. **Scanner:** a separable Gaussian point spread function (in-plane and along z apart),
//!    white Gaussian noise of a stated SD, HU rounded to i16 within the 12-bit range.
//!
//! The truth beside the volume: the bone labels on the same grid, the transform applied, the
//! posed surfaces (CT frame) and per hip the femoral head and acetabulum as coxa's mesh path finds
//! them on those surfaces ([`HipTruth`]). Partial volume: voxels are sampled at their centres
//! and then blurred by the PSF, whose FWHM is at least about a voxel; there is no supersampling.

pub mod joint;
mod scanner;
pub mod sets;
#[cfg(test)]
mod tests;
mod voxel;

use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use ndarray::Array3;

use coxa_core::{ClassTable, Grid, LabelMap, Mesh, Side, Volume};

use crate::labels::{FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, coxa_classes};
use crate::landmarks::{acetabulum_landmarks, femur_landmarks};

/// Tissue values (HU) and thicknesses (mm) of a render. Defaults from the literature:
/// - Cortical bone 1,000-1,900 HU; compact bone measured at about 1,440 HU (Buzug, *Computed
///   Tomography*, Springer 2008, bone 700-3,000 HU; Prokop & Galanski, *Spiral and Multislice CT
///   of the Body*, Thieme 2003). Default 1,500.
/// - Trabecular bone 100-400 HU, the femoral head's the densest (Schreiber et al., J Bone Joint
///   Surg Am 93:1057, 2011: trabecular HU 100-250 in adults; femoral head cancellous bone about
///   300-400). Defaults 300 (head) and 200 (elsewhere).
/// - Fatty (yellow) marrow of the adult femoral diaphysis: mostly fat, -100..0 HU. Default -50.
/// - Skeletal muscle 40-60 HU, fat -100..-80 HU, air -1,000 HU (Prokop & Galanski 2003; Buzug
///   2008). Skin: soft tissue, 40 HU.
/// - Joint space (cartilage and synovial fluid, not separable on unenhanced CT): soft-tissue
///   density, 60 HU (a choice within the soft-tissue range).
/// - Cortex: pelvis about 1-1.5 mm (Anderson et al., J Biomech Eng 127:364, 2005: 0.4-4 mm,
///   thin over most of the ilium); proximal femur 1-3 mm (Treece et al., Med Image Anal 14:276,
///   2010); femoral diaphysis 4-7 mm. Subchondral plate of head and acetabulum 1-2 mm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Tissue {
    /// Cortical bone, HU.
    pub cortical_hu: f32,
    /// Trabecular bone of the femoral head, HU.
    pub trabecular_head_hu: f32,
    /// Trabecular bone elsewhere, HU.
    pub trabecular_hu: f32,
    /// Fatty marrow of the femoral canal, HU.
    pub marrow_hu: f32,
    /// Muscle and other soft tissue, HU.
    pub muscle_hu: f32,
    /// Joint space (cartilage, fluid), HU.
    pub joint_hu: f32,
    /// Subcutaneous fat, HU.
    pub fat_hu: f32,
    /// Skin, HU.
    pub skin_hu: f32,
    /// Air, HU.
    pub air_hu: f32,
    /// Cortex of the hip bones and sacrum, mm.
    pub pelvis_cortex_mm: f64,
    /// Cortex of the proximal and distal femur, mm.
    pub femur_cortex_mm: f64,
    /// Cortex of the femoral diaphysis, mm.
    pub diaphysis_cortex_mm: f64,
    /// Subchondral plate of the femoral head and the acetabulum, mm.
    pub subchondral_mm: f64,
    /// Soft tissue from the bones to the skin, mm.
    pub soft_tissue_mm: f64,
    /// Subcutaneous fat, mm (part of `soft_tissue_mm`).
    pub fat_mm: f64,
    /// Skin, mm.
    pub skin_mm: f64,
}

impl Default for Tissue {
    fn default() -> Self {
        Self {
            cortical_hu: 1500.0,
            trabecular_head_hu: 300.0,
            trabecular_hu: 200.0,
            marrow_hu: -50.0,
            muscle_hu: 50.0,
            joint_hu: 60.0,
            fat_hu: -90.0,
            skin_hu: 40.0,
            air_hu: -1000.0,
            pelvis_cortex_mm: 1.5,
            femur_cortex_mm: 2.0,
            diaphysis_cortex_mm: 5.5,
            subchondral_mm: 1.5,
            soft_tissue_mm: 45.0,
            fat_mm: 15.0,
            skin_mm: 2.0,
        }
    }
}

/// How far down the CT reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// From above the iliac crests to below the femoral condyles (pelvis to knee).
    FullLength,
    /// From above the iliac crests to 40 mm below the lower of the lesser trochanters (as the
    /// abdominal-pelvic CTs coxa was first tuned on).
    CutBelowTrochanters,
}

/// A render's design. Defaults: a 0.8 x 0.8 x 1.0 mm CT cut below the trochanters, the subject's
/// own joints, no tilt, no metal, a bone kernel's blur and 25 HU noise.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RenderSpec {
    /// Voxel size, mm: in-plane (x, y) and slice (z). Clinical planning CTs: in-plane 0.6-0.98,
    /// slices 0.6-1.25 mm.
    pub spacing_mm: [f64; 3],
    /// How far down the CT reaches.
    pub extent: Extent,
    /// Joint space in the weight-bearing dome, mm, `[left, right]`; `None` keeps the subject's.
    /// Normal 4-5 mm (Lequesne et al., Ann Rheum Dis 63:1145, 2004: superior joint space of
    /// normal hips about 4 mm); osteoarthritis at or under 2.5 mm (Croft et al., Am J Epidemiol
    /// 132:514, 1990).
    pub joint_space_mm: [Option<f64>; 2],
    /// Rotation of the whole body about x (sagittal, pelvic tilt), y (coronal, obliquity) and z
    /// (axial), deg, applied in that order. At most 10 deg each here.
    pub tilt_deg: [f64; 3],
    /// Gaussian PSF full width at half maximum, mm: in-plane and along z. Bone kernels of
    /// clinical MDCT: about 0.6-1.2 mm in-plane (Pakdel et al., Med Phys 41:011906, 2014,
    /// Gaussian PSFs measured separately in-plane and along z); along z the slice sensitivity
    /// profile's FWHM is within 0.1 mm of the nominal slice width on 64-slice scanners (Liu et
    /// al., Chin J Radiol 2007; Polacin et al., Radiology 185:29, 1992).
    pub psf_fwhm_mm: [f64; 2],
    /// SD of the added white Gaussian noise, HU. Body CT with a bone kernel and thin slices:
    /// about 15-50 HU (noise grows as one over the square root of slice width and dose; Kalender,
    /// *Computed Tomography*, 3rd ed., 2011).
    pub noise_sd_hu: f64,
    /// A metal stem in this femur (the other hip's, in a planning CT), with streaks.
    pub metal: Option<Side>,
    /// Tissue values and thicknesses.
    pub tissue: Tissue,
    /// Seed of the noise and the streaks.
    pub seed: u64,
}

impl Default for RenderSpec {
    fn default() -> Self {
        Self {
            spacing_mm: [0.8, 0.8, 1.0],
            extent: Extent::CutBelowTrochanters,
            joint_space_mm: [None, None],
            tilt_deg: [0.0; 3],
            psf_fwhm_mm: [0.9, 1.0],
            noise_sd_hu: 25.0,
            metal: None,
            tissue: Tissue::default(),
            seed: 1,
        }
    }
}

/// One bone to render: coxa's label id and its closed, outward surface (LPS mm, source frame).
#[derive(Debug, Clone, Copy)]
pub struct SourceBone<'a> {
    /// 25 sacrum, 75/76 femur left/right, 77/78 hip left/right.
    pub label: u16,
    /// The surface.
    pub mesh: &'a Mesh,
}

/// The truth of one hip, in the CT frame, as coxa's mesh path finds it on the posed surfaces.
#[derive(Debug, Clone, PartialEq)]
pub struct HipTruth {
    /// Side.
    pub side: Side,
    /// Femoral head centre, LPS mm.
    pub head_centre_lps_mm: Point3<f64>,
    /// Femoral head radius, mm.
    pub head_radius_mm: f64,
    /// Acetabular centre, LPS mm (none when the hip bone's acetabulum was not found).
    pub acetabulum_centre_lps_mm: Option<Point3<f64>>,
    /// Acetabular radius, mm.
    pub acetabulum_radius_mm: Option<f64>,
    /// The femur's move (source frame, mm) that narrowed the joint space; zero when kept.
    pub femur_shift_mm: Vector3<f64>,
    /// The femur's scale about its head centre that widened the joint space; 1 when kept.
    pub femur_scale: f64,
    /// Joint space in the weight-bearing dome after the move, mm.
    pub dome_gap_mm: f64,
    /// Smallest distance from the femur near the joint (head, neck, trochanters) to the hip
    /// bone, mm; never negative (a render that would collide is refused).
    pub min_gap_mm: f64,
}

/// What is known about a render.
#[derive(Debug, Clone)]
pub struct RenderTruth {
    /// The rigid transform from the source frame (after the femurs' moves) to the CT's.
    pub ct_from_source: Isometry3<f64>,
    /// Per hip with a femur and a hip bone, left first.
    pub hips: Vec<HipTruth>,
    /// The surfaces as rendered (CT frame): label id and mesh.
    pub posed_bones: Vec<(u16, Mesh)>,
    /// Voxels of metal (none without [`RenderSpec::metal`]).
    pub metal_voxels: usize,
}

/// A rendered CT, its bone labels (same grid) and its truth.
#[derive(Debug, Clone)]
pub struct RenderedCt {
    /// HU (i16).
    pub ct: Volume,
    /// Bone labels: 25, 75-78; 0 elsewhere.
    pub labels: LabelMap,
    /// The truth.
    pub truth: RenderTruth,
}

/// What can stop [`render_ct`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A spec value out of range, or no bones.
    #[error("CT render: {0}")]
    Invalid(String),
    /// A joint or a femur's landmarks that the render needs could not be made.
    #[error("CT render: {0}")]
    Geometry(String),
    /// The grid would be too large.
    #[error("CT render: {voxels} voxels exceed the limit of {limit} (about 8 bytes a voxel while rendering); use larger voxels or a cut CT")]
    TooLarge {
        /// Voxels asked for.
        voxels: usize,
        /// The limit.
        limit: usize,
    },
}

/// Most voxels a render may have: 200 M voxels, about 1.6 GB while rendering (f32 HU, u16
/// labels, then i16 HU).
pub const MAX_RENDER_VOXELS: usize = 200_000_000;

/// Renders `bones` (source frame) into a CT as `spec` says. Deterministic for a given spec.
///
/// # Errors
/// [`RenderError::Invalid`] (no bones, spec out of range), [`RenderError::Geometry`] (a femur
/// without landmarks, a joint width that cannot be reached), [`RenderError::TooLarge`].
pub fn render_ct(bones: &[SourceBone<'_>], spec: &RenderSpec) -> Result<RenderedCt, RenderError> {
    check_spec(bones, spec)?;
    // 1. Joints: each femur moved in the source frame.
    let mut meshes: Vec<(u16, Mesh)> = bones.iter().map(|b| (b.label, b.mesh.clone())).collect();
    let mut shifts = [Vector3::zeros(); 2];
    let mut scales = [1.0; 2];
    let mut gaps = [(f64::NAN, f64::NAN); 2];
    let mut heads = Vec::new();
    for (n, side) in [Side::Left, Side::Right].into_iter().enumerate() {
        let (fl, hl) = if side == Side::Left { (FEMUR_LEFT, HIP_LEFT) } else { (FEMUR_RIGHT, HIP_RIGHT) };
        let (Some(fi), Some(hi)) = (meshes.iter().position(|m| m.0 == fl), meshes.iter().position(|m| m.0 == hl)) else { continue };
        let head = femur_landmarks(&meshes[fi].1, side).map_err(|e| RenderError::Geometry(format!("femur_{}: {e}", side.as_str())))?;
        let (c, r) = (head.head_centre.lps_mm, head.head_radius_mm);
        let placed = joint::place_femur(&meshes[fi].1, &meshes[hi].1, side, c, r, spec.joint_space_mm[n]).map_err(RenderError::Geometry)?;
        meshes[fi].1 = meshes[fi].1.transformed(&placed.transform());
        (shifts[n], scales[n]) = (placed.shift_mm, placed.scale);
        gaps[n] = (placed.dome_gap_mm, placed.min_gap_mm);
        heads.push(c + placed.shift_mm);
    }
    // 2. Pose: the tilt about the heads' midpoint (else the bones' centre).
    let pts: Vec<Point3<f64>> = if heads.is_empty() { meshes.iter().map(|(_, m)| m.vertex_centroid()).collect() } else { heads };
    let centre = Point3::from(pts.iter().map(|p| p.coords).sum::<Vector3<f64>>() / pts.len() as f64);
    let [ax, ay, az] = spec.tilt_deg.map(f64::to_radians);
    let rot = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), az) * UnitQuaternion::from_axis_angle(&Vector3::y_axis(), ay) * UnitQuaternion::from_axis_angle(&Vector3::x_axis(), ax);
    let ct_from_source = Isometry3::from_parts(Translation3::from(centre.coords - rot * centre.coords), rot);
    let m4 = ct_from_source.to_homogeneous();
    let posed: Vec<(u16, Mesh)> = meshes.iter().map(|(l, m)| (*l, m.transformed(&m4))).collect();
    // Truth per hip, on the posed surfaces: coxa's mesh path.
    let mut hips = Vec::new();
    let mut femurs = Vec::new();
    for (n, side) in [Side::Left, Side::Right].into_iter().enumerate() {
        let (fl, hl) = if side == Side::Left { (FEMUR_LEFT, HIP_LEFT) } else { (FEMUR_RIGHT, HIP_RIGHT) };
        let Some(fm) = posed.iter().find(|m| m.0 == fl) else { continue };
        let f = femur_landmarks(&fm.1, side).map_err(|e| RenderError::Geometry(format!("posed femur_{}: {e}", side.as_str())))?;
        if let Some(hm) = posed.iter().find(|m| m.0 == hl) {
            let a = acetabulum_landmarks(&hm.1, side, Some((f.head_centre.lps_mm, f.head_radius_mm))).ok();
            hips.push(HipTruth {
                side,
                head_centre_lps_mm: f.head_centre.lps_mm,
                head_radius_mm: f.head_radius_mm,
                acetabulum_centre_lps_mm: a.as_ref().map(|a| a.centre.lps_mm),
                acetabulum_radius_mm: a.as_ref().map(|a| a.radius_mm),
                femur_shift_mm: shifts[n],
                femur_scale: scales[n],
                dome_gap_mm: gaps[n].0,
                min_gap_mm: gaps[n].1,
            });
        }
        femurs.push((fl, f));
    }
    // 3.-4. Grid, bones, tissues and body.
    let grid = grid_for(&posed, &femurs, spec)?;
    let (mut hu, labels) = voxel::bones_and_body(&grid, &posed, &femurs, &spec.tissue);
    // 5. Metal.
    let metal_voxels = match spec.metal {
        Some(side) => {
            let l = if side == Side::Left { FEMUR_LEFT } else { FEMUR_RIGHT };
            let f = femurs.iter().find(|(id, _)| *id == l).map(|(_, f)| f).ok_or_else(|| RenderError::Invalid(format!("metal asked in femur_{} but there is no such femur", side.as_str())))?;
            scanner::metal_stem(&grid, &mut hu, f, spec.seed)
        }
        None => 0,
    };
    // 6. Scanner.
    let sp = grid.spacing_mm();
    scanner::gaussian_blur(&mut hu, [sp.x, sp.y, sp.z], [spec.psf_fwhm_mm[0], spec.psf_fwhm_mm[0], spec.psf_fwhm_mm[1]]);
    let ct = scanner::noise_to_i16(hu, spec.noise_sd_hu, spec.seed);
    let classes: ClassTable = coxa_classes().iter().filter(|(id, _)| posed.iter().any(|(l, _)| l == id)).map(|(id, n)| (id, n.to_string())).collect();
    let volume = Volume::from_i16(grid.clone(), ct).map_err(|e| RenderError::Invalid(e.to_string()))?;
    let labels = LabelMap::new(grid, labels, classes).map_err(|e| RenderError::Invalid(e.to_string()))?;
    Ok(RenderedCt { ct: volume, labels, truth: RenderTruth { ct_from_source, hips, posed_bones: posed, metal_voxels } })
}

fn check_spec(bones: &[SourceBone<'_>], spec: &RenderSpec) -> Result<(), RenderError> {
    let bad = |w: String| Err(RenderError::Invalid(w));
    if bones.is_empty() || bones.iter().any(|b| b.mesh.vertices().is_empty()) {
        return bad("no bone surfaces".into());
    }
    if spec.spacing_mm.iter().any(|s| !(0.2..=5.0).contains(s)) {
        return bad(format!("spacing {:?} mm outside 0.2-5", spec.spacing_mm));
    }
    if spec.tilt_deg.iter().any(|t| !t.is_finite() || t.abs() > 10.0) {
        return bad(format!("tilt {:?} deg: at most 10 deg about each axis", spec.tilt_deg));
    }
    if spec.psf_fwhm_mm.iter().any(|f| !(0.0..=5.0).contains(f)) || !(0.0..=500.0).contains(&spec.noise_sd_hu) {
        return bad(format!("PSF {:?} mm (0-5) or noise {} HU (0-500) out of range", spec.psf_fwhm_mm, spec.noise_sd_hu));
    }
    if spec.joint_space_mm.iter().flatten().any(|w| !(0.0..=10.0).contains(w)) {
        return bad(format!("joint space {:?} mm: 0-10", spec.joint_space_mm));
    }
    if let Some(side) = spec.metal {
        let l = if side == Side::Left { FEMUR_LEFT } else { FEMUR_RIGHT };
        if !bones.iter().any(|b| b.label == l) {
            return bad(format!("metal asked in femur_{} but there is no such femur", side.as_str()));
        }
    }
    let t = &spec.tissue;
    if [t.pelvis_cortex_mm, t.femur_cortex_mm, t.diaphysis_cortex_mm, t.subchondral_mm].iter().any(|x| !(0.0..=15.0).contains(x)) || t.fat_mm + t.skin_mm > t.soft_tissue_mm {
        return bad("tissue thicknesses out of range (cortex 0-15 mm; fat and skin within the soft tissue)".into());
    }
    Ok(())
}

/// The CT's axis-aligned grid around the posed bones: soft tissue and 10 mm of air around them
/// in-plane; from 15 mm above the highest bone down to the extent's end.
fn grid_for(posed: &[(u16, Mesh)], femurs: &[(u16, crate::landmarks::FemurLandmarks)], spec: &RenderSpec) -> Result<Grid, RenderError> {
    let (mut lo, mut hi) = (Vector3::repeat(f64::INFINITY), Vector3::repeat(f64::NEG_INFINITY));
    for p in posed.iter().flat_map(|(_, m)| m.vertices()) {
        lo = lo.inf(&p.coords);
        hi = hi.sup(&p.coords);
    }
    let pad = spec.tissue.soft_tissue_mm + 10.0;
    lo.x -= pad;
    lo.y -= pad;
    hi.x += pad;
    hi.y += pad;
    hi.z += 15.0;
    lo.z -= 15.0;
    if spec.extent == Extent::CutBelowTrochanters {
        let lt = femurs.iter().map(|(_, f)| f.lesser_trochanter.lps_mm.z).fold(f64::INFINITY, f64::min);
        if lt.is_finite() {
            lo.z = lo.z.max(lt - 40.0);
        }
    }
    let s = Vector3::from(spec.spacing_mm);
    let n = (hi - lo).component_div(&s).map(|x| x.ceil() as usize + 1);
    let voxels = n.x.saturating_mul(n.y).saturating_mul(n.z);
    if voxels > MAX_RENDER_VOXELS {
        return Err(RenderError::TooLarge { voxels, limit: MAX_RENDER_VOXELS });
    }
    Grid::axis_aligned([n.x, n.y, n.z], s, lo).map_err(|e| RenderError::Invalid(e.to_string()))
}

/// `Array3` shape `[nk, nj, ni]` of a grid.
pub(crate) fn shape_of(grid: &Grid) -> (usize, usize, usize) {
    let [ni, nj, nk] = grid.size();
    (nk, nj, ni)
}

/// An all-`v` array on `grid`.
pub(crate) fn filled<T: Clone>(grid: &Grid, v: T) -> Array3<T> {
    Array3::from_elem(shape_of(grid), v)
}

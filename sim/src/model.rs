//! The hip model: pelvis and femur surfaces (optional) plus placed implants.
//!
//! Frames: the *hip frame* has the pelvic frame's axes (`coxa_core::PelvicFrame`) and its origin
//! at the hip centre (the cup centre). The *femoral frame* ([`FemoralFrame`]) moves with the
//! femur; at zero joint angles it is parallel to the hip frame with the (prosthetic) head centre
//! at the hip centre. A pose is the rotation femoral -> hip frame (see [`crate::joint`]).

use std::sync::Arc;

use coxa_core::FemurLandmarks;
use coxa_core::{Angle, ContactAnatomy, ContactStructures, CupAngleDefinition, CupAngles, FemoralFrame, Mesh, PelvicFrame, Side, name_contact};
use coxa_implants::Construct;
use nalgebra::{Matrix3, Point3, Rotation3, Unit, Vector3};
use serde::Serialize;

use crate::bones::{DistanceField, PointClusters};
use crate::error::finite_in;
use crate::user_parts::{UserCup, UserStem};
use crate::{Result, SimError};

mod builder;

/// Options of the bone collision geometry.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BoneOptions {
    /// Voxel of the pelvis distance field, mm. Default 1.0.
    pub voxel_mm: f64,
    /// Radius around the hip centre kept of both bones, mm. Default 100.
    pub reach_mm: f64,
    /// Femoral neck osteotomy: plane perpendicular to the native neck axis this far from the
    /// native head centre, mm; `None` (default) cuts at the stem shoulder (the construct's neck end).
    pub neck_cut_mm: Option<f64>,
}

impl Default for BoneOptions {
    fn default() -> Self {
        Self { voxel_mm: 1.0, reach_mm: 100.0, neck_cut_mm: None }
    }
}

impl BoneOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// With a voxel size.
    pub fn with_voxel_mm(mut self, v: f64) -> Self {
        self.voxel_mm = v;
        self
    }
    /// With a neck cut distance.
    pub fn with_neck_cut_mm(mut self, v: f64) -> Self {
        self.neck_cut_mm = Some(v);
        self
    }
}

/// Triangles by their corners, mm.
type Triangles = Vec<[Vector3<f64>; 3]>;

/// The reamed pelvis of one cup (shell size and centre): its distance field in the hip frame, and
/// its triangles for the exact check (the parry mesh built on first use).
#[derive(Debug)]
pub struct PelvisBone {
    field: DistanceField,
    frame: PelvicFrame,
    hip_centre_pelvic_mm: Point3<f64>,
    tris: Triangles,
    parry: std::sync::OnceLock<Option<parry3d::shape::TriMesh>>,
}

impl PelvisBone {
    /// `pelvis` (the hip bone, LPS) carved by a ball of `carve_radius_mm` (the shell's outer
    /// radius) at `hip_centre_lps_mm`, kept within `opts.reach_mm` of it.
    ///
    /// # Errors
    /// Options out of range, a non-finite centre, no surface within reach.
    pub fn new(pelvis: &Mesh, frame: &PelvicFrame, hip_centre_lps_mm: Point3<f64>, carve_radius_mm: f64, opts: &BoneOptions) -> Result<Self> {
        finite_in("voxel_mm", opts.voxel_mm, 0.2, 5.0)?;
        finite_in("reach_mm", opts.reach_mm, 40.0, 250.0)?;
        if hip_centre_lps_mm.iter().any(|v| !v.is_finite()) {
            return Err(SimError::InvalidInput { what: "hip centre".into(), value: f64::NAN, why: "must be finite".into() });
        }
        let c_pel = frame.point_to_pelvic(&hip_centre_lps_mm);
        let verts: Vec<Point3<f64>> = pelvis.vertices().iter().map(|p| Point3::from(frame.point_to_pelvic(p) - c_pel)).collect();
        if !verts.iter().any(|p| p.coords.norm() < opts.reach_mm) {
            return Err(SimError::Bone { bone: "pelvis", why: format!("no part of the surface lies within {} mm of the hip centre; is it the hip bone of this side?", opts.reach_mm) });
        }
        let field = DistanceField::from_mesh(&verts, pelvis.triangles(), opts.reach_mm, opts.voxel_mm, carve_radius_mm);
        let tris: Triangles =
            pelvis.triangles().iter().map(|t| t.map(|i| verts[i as usize].coords)).filter(|t| t.iter().all(|p| p.norm() > carve_radius_mm) && t.iter().any(|p| p.norm() < opts.reach_mm)).collect();
        Ok(Self { field, frame: *frame, hip_centre_pelvic_mm: c_pel, tris, parry: std::sync::OnceLock::new() })
    }
}

/// The resected proximal femur: its surface points in the femoral frame in clusters, and its
/// triangles for the exact check (the parry mesh built on first use).
#[derive(Debug)]
pub struct FemurBone {
    points: PointClusters,
    femoral: FemoralFrame,
    tris: Triangles,
    parry: std::sync::OnceLock<Option<parry3d::shape::TriMesh>>,
}

impl FemurBone {
    /// `femur` (LPS) cut at the neck osteotomy `cut_mm` from the native head centre of
    /// `femur_landmarks` along its neck axis, kept within `opts.reach_mm` of that centre, long
    /// edges densified, in the femoral frame with the head centre at its origin.
    ///
    /// # Errors
    /// Unusable landmarks, a cut out of range, nothing left after the cut.
    pub fn new(femur: &Mesh, femur_landmarks: &FemurLandmarks, cut_mm: f64, opts: &BoneOptions) -> Result<Self> {
        let femoral = femur_landmarks.femoral_frame().map_err(|e| match e {
            coxa_core::Error::InvalidLandmarks { why } => SimError::Bone { bone: "femur", why },
            other => SimError::Bone { bone: "femur", why: other.to_string() },
        })?;
        let head = femur_landmarks.head_centre.lps_mm;
        let neck_dir = femur_landmarks.neck_axis.direction_lps.normalize();
        finite_in("neck_cut_mm", cut_mm, 0.0, 120.0)?;
        let keep = |p: &Point3<f64>| (p - head).dot(&neck_dir) > cut_mm && (p - head).norm() < opts.reach_mm;
        let mut pts: Vec<Point3<f64>> = femur.vertices().iter().filter(|p| keep(p)).copied().collect();
        for t in 0..femur.triangles().len() {
            let [a, b, c] = femur.corners(t);
            let centroid = Point3::from((a.coords + b.coords + c.coords) / 3.0);
            if keep(&centroid) && ((b - a).norm() > 1.5 || (c - b).norm() > 1.5 || (a - c).norm() > 1.5) {
                pts.push(centroid);
            }
        }
        if pts.is_empty() {
            return Err(SimError::Bone { bone: "femur", why: format!("nothing of the surface is left after the neck cut at {cut_mm} mm within {} mm of the head", opts.reach_mm) });
        }
        let in_frame: Vec<Vector3<f64>> = pts.iter().map(|p| femoral.femur_from_lps * (p - head)).collect();
        let tris: Triangles = (0..femur.triangles().len()).map(|t| femur.corners(t)).filter(|c| c.iter().all(keep)).map(|c| c.map(|p| femoral.femur_from_lps * (p - head))).collect();
        Ok(Self { points: PointClusters::new(&in_frame, 6.0), femoral, tris, parry: std::sync::OnceLock::new() })
    }
}

/// Bone collision geometry prepared for one hip: the reamed pelvis as a distance field and the
/// resected proximal femur as clustered surface points. The two parts are prepared apart
/// ([`PelvisBone`] depends on the cup's size and centre, [`FemurBone`] on where the stem puts
/// the head) so that a change of one reuses the other ([`crate::score::SimScorer`] caches both).
#[derive(Debug, Clone)]
pub struct BoneGeometry {
    pelvis: Arc<PelvisBone>,
    femur: Arc<FemurBone>,
}

impl BoneGeometry {
    /// Prepares the bones of a hip on `side`: `pelvis` (the hip bone of that side, LPS) carved by
    /// a ball of the shell's outer radius at `hip_centre_lps_mm` (the reamed acetabulum);
    /// `femur` (LPS) cut at the neck osteotomy and moved so that its head centre sits at the
    /// hip centre. Both are kept within `opts.reach_mm` of the centre.
    pub fn new(pelvis: &Mesh, femur: &Mesh, femur_landmarks: &FemurLandmarks, frame: &PelvicFrame, hip_centre_lps_mm: Point3<f64>, construct: &Construct, opts: &BoneOptions) -> Result<Self> {
        Self::check(femur_landmarks, hip_centre_lps_mm, opts)?;
        let pelvis = PelvisBone::new(pelvis, frame, hip_centre_lps_mm, construct.shell.outer_diameter_mm / 2.0, opts)?;
        let femur = FemurBone::new(femur, femur_landmarks, opts.neck_cut_mm.unwrap_or(construct.neck().end_mm), opts)?;
        Ok(Self::from_parts(Arc::new(pelvis), Arc::new(femur)))
    }
    /// What is checked before any bone is prepared, in this order: the options, the centre, the
    /// femur's landmarks (its femoral frame).
    ///
    /// # Errors
    /// The first that fails.
    pub fn check(femur_landmarks: &FemurLandmarks, hip_centre_lps_mm: Point3<f64>, opts: &BoneOptions) -> Result<()> {
        finite_in("voxel_mm", opts.voxel_mm, 0.2, 5.0)?;
        finite_in("reach_mm", opts.reach_mm, 40.0, 250.0)?;
        if hip_centre_lps_mm.iter().any(|v| !v.is_finite()) {
            return Err(SimError::InvalidInput { what: "hip centre".into(), value: f64::NAN, why: "must be finite".into() });
        }
        femur_landmarks.femoral_frame().map(|_| ()).map_err(|e| match e {
            coxa_core::Error::InvalidLandmarks { why } => SimError::Bone { bone: "femur", why },
            other => SimError::Bone { bone: "femur", why: other.to_string() },
        })
    }
    /// The geometry of two parts prepared apart (shared, not copied).
    pub fn from_parts(pelvis: Arc<PelvisBone>, femur: Arc<FemurBone>) -> Self {
        Self { pelvis, femur }
    }
    /// The femoral frame used.
    pub fn femoral_frame(&self) -> &FemoralFrame {
        &self.femur.femoral
    }
    /// Surface points of the resected femur kept for collision.
    pub fn n_femur_points(&self) -> usize {
        self.femur.points.points.len()
    }
}

/// What touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContactKind {
    /// Neck against liner rim.
    ImplantImplant,
    /// Femur against pelvis.
    BoneBone,
    /// Neck against pelvis, or femur against the cup.
    ImplantBone,
}

impl ContactKind {
    /// `implant-implant`, `bone-bone` or `implant-bone`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::ImplantImplant => "implant-implant",
            ContactKind::BoneBone => "bone-bone",
            ContactKind::ImplantBone => "implant-bone",
        }
    }
}

/// A contact found at a pose.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contact {
    /// What touched.
    pub kind: ContactKind,
    /// Which parts: `neck-liner_rim`, `neck-pelvis`, `femur-cup`, `femur-pelvis`.
    pub parts: &'static str,
    /// Where, LPS mm of the pelvis as imaged.
    pub point_lps_mm: Point3<f64>,
    /// The touching point of the femur (or of its implant's neck) before the motion: in the
    /// femoral frame, mm from the prosthetic head centre (the femur as imaged is
    /// `h + femur_from_lps⁻¹ p`, `h` the head centre on the imaged femur). What names the
    /// femoral structure (`coxa_core::name_contact`).
    pub femur_point_femoral_mm: Vector3<f64>,
}

impl Contact {
    /// The touching point of the femur on the femur as imaged, LPS mm, for `model` with the
    /// prosthetic head centre at `head_on_femur_lps_mm` on that femur.
    pub fn femur_point_lps_mm(&self, model: &HipModel, head_on_femur_lps_mm: &Point3<f64>) -> Point3<f64> {
        head_on_femur_lps_mm + model.femoral.femur_from_lps.inverse() * self.femur_point_femoral_mm
    }
    /// The structures that touch ([`coxa_core::name_contact`]) for `model`, named from `naming`:
    /// the operated hip's landmarks and the prosthetic head centre on the femur as imaged (LPS
    /// mm). Without it only a contact between implants is named (no femoral point is read).
    pub fn structures(&self, model: &HipModel, naming: Option<(&ContactAnatomy, &Point3<f64>)>) -> Option<ContactStructures> {
        match naming {
            Some((anatomy, head)) => name_contact(self.parts, &self.point_lps_mm, &self.femur_point_lps_mm(model, head), Some(anatomy)),
            None => name_contact(self.parts, &self.point_lps_mm, &self.point_lps_mm, None),
        }
    }
}

/// The assembled hip: implants placed in the pelvis and femur, and optionally the bones.
#[derive(Debug, Clone)]
pub struct HipModel {
    side: Side,
    frame: PelvicFrame,
    hip_centre_pelvic_mm: Point3<f64>,
    construct: Construct,
    cup: CupAngles,
    stem_anteversion: Angle,
    /// Rows: liner frame axes in the hip frame.
    liner_from_hip: Matrix3<f64>,
    /// Neck direction (head -> stem) in the femoral frame.
    neck_dir_femoral: Vector3<f64>,
    neck_points: PointClusters,
    femoral: FemoralFrame,
    bones: Option<Arc<BoneGeometry>>,
    pub(crate) exact: Option<ExactImplants>,
    user_stem: Option<Arc<UserStem>>,
    /// The catalog stem's frame (gauge point at the origin, +z the neck towards the stem, +x
    /// the shaft's side) -> femoral frame.
    femoral_from_catalog_stem: Matrix3<f64>,
}

/// Builds a [`HipModel`] (rapier-style builder; every setter states its default).
#[derive(Debug, Clone)]
pub struct HipModelBuilder {
    side: Side,
    construct: Construct,
    /// Default: radiographic 40/20.
    cup: CupAngles,
    /// Default: 15 deg.
    stem_anteversion: Angle,
    /// Default: the LPS-aligned pelvic frame at the origin.
    frame: PelvicFrame,
    /// Default: the pelvic frame's origin (implants alone) or the bones' hip centre.
    hip_centre_lps_mm: Option<Point3<f64>>,
    /// Default: the bones' femoral frame, else LPS-aligned.
    femoral: Option<FemoralFrame>,
    bones: Option<Arc<BoneGeometry>>,
    /// Default: the catalog liner.
    user_cup: Option<Arc<UserCup>>,
    /// Default: the catalog stem's neck.
    user_stem: Option<Arc<UserStem>>,
}

/// Implants tested as meshes (when a user part is in the model): the fast path of
/// [`crate::fast_contact`], parry3d's exact test where it cannot decide.
#[derive(Clone)]
pub(crate) struct ExactImplants {
    cup: Arc<UserCup>,
    neck: Arc<parry3d::shape::ConvexPolyhedron>,
    pub(crate) fast: Arc<crate::fast_contact::FastPair>,
    /// Stem frame -> femoral frame.
    pub(crate) femoral_from_stem: Matrix3<f64>,
}

impl std::fmt::Debug for ExactImplants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactImplants").field("cup", &self.cup).finish()
    }
}

impl HipModel {
    /// A builder for a hip on `side` with `construct`.
    pub fn builder(side: Side, construct: Construct) -> HipModelBuilder {
        HipModelBuilder {
            side,
            construct,
            cup: CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(40.0), anteversion: Angle::from_deg(20.0) },
            stem_anteversion: Angle::from_deg(15.0),
            frame: PelvicFrame::aligned_with_lps(Point3::origin()),
            hip_centre_lps_mm: None,
            femoral: None,
            bones: None,
            user_cup: None,
            user_stem: None,
        }
    }
    /// Side of the hip.
    pub fn side(&self) -> Side {
        self.side
    }
    /// The implants.
    pub fn construct(&self) -> &Construct {
        &self.construct
    }
    /// The cup orientation in the pelvic frame, in `definition` (Murray 1993).
    pub fn cup_angles(&self, definition: CupAngleDefinition) -> CupAngles {
        self.cup.to_definition(definition, self.side)
    }
    /// The cup orientation relative to the standing body for a posterior pelvic tilt `tilt`
    /// (functional angles), in `definition`.
    pub fn functional_cup_angles(&self, tilt: Angle, definition: CupAngleDefinition) -> CupAngles {
        let axis = crate::joint::pelvis_tilt_rotation(tilt) * self.cup.axis(self.side);
        CupAngles::from_axis(&axis, self.side, definition).expect("unit axis")
    }
    /// The pelvic frame the cup angles are in.
    pub fn pelvic_frame(&self) -> &PelvicFrame {
        &self.frame
    }
    /// Stem anteversion relative to the femoral frame's condylar line.
    pub fn stem_anteversion(&self) -> Angle {
        self.stem_anteversion
    }
    /// The femoral frame (from the bones, or LPS-aligned for implants alone).
    pub fn femoral_frame(&self) -> FemoralFrame {
        self.femoral
    }
    /// The joint angles (pelvis-relative) of the femur as imaged, when bones are present:
    /// how far the CT's pose is from the model's neutral.
    pub fn imaged_pose(&self) -> Option<crate::JointAngles> {
        self.bones.as_ref()?;
        let r = self.frame.pelvic_from_lps() * self.femoral.femur_from_lps.inverse();
        Some(crate::JointAngles::from_rotation(&r, self.side))
    }
    /// A point of the hip frame (pelvic axes, origin at the hip centre) in LPS mm.
    pub fn hip_to_lps(&self, p_hip: &Vector3<f64>) -> Point3<f64> {
        self.to_lps(p_hip)
    }
    /// Neck against liner (liner frame point of contact), for models with user parts: the fast
    /// path ([`crate::fast_contact`]), parry3d's exact test where it cannot decide.
    fn exact_implant_contact(&self, e: &ExactImplants, femur_to_pelvis: &Matrix3<f64>) -> Option<Vector3<f64>> {
        let m = self.liner_from_hip * femur_to_pelvis * e.femoral_from_stem;
        match e.fast.classify(&m) {
            crate::fast_contact::Verdict::Contact(q) => Some(q),
            crate::fast_contact::Verdict::Free => None,
            crate::fast_contact::Verdict::Unsure(q) => self.parry_implant_contact(e, &m).then_some(q),
        }
    }
    /// parry3d's exact intersection test of the liner mesh and the neck hull at `m` (stem frame
    /// -> liner frame).
    fn parry_implant_contact(&self, e: &ExactImplants, m: &Matrix3<f64>) -> bool {
        let pose = parry3d::math::Pose::from_rotation(crate::convert::rotation_to_parry(&Rotation3::from_matrix_unchecked(*m)));
        parry3d::query::intersection_test(&parry3d::math::Pose::IDENTITY, &e.cup.shape, &pose, e.neck.as_ref()).is_ok_and(|i| i.intersecting)
    }
    /// Whether the liner and the neck intersect at pose `femur_to_pelvis` by parry3d's exact
    /// mesh test alone (`None` without user parts): the reference the fast path is tested against.
    pub fn implant_implant_exact(&self, femur_to_pelvis: &Rotation3<f64>) -> Option<bool> {
        let e = self.exact.as_ref()?;
        Some(self.parry_implant_contact(e, &(self.liner_from_hip * femur_to_pelvis.matrix() * e.femoral_from_stem)))
    }
    /// The signed distance between the liner and the neck at `femur_to_pelvis` by parry3d, mm
    /// (negative: penetration depth); `None` without user parts. Slow (milliseconds): for tests.
    pub fn implant_implant_distance_mm(&self, femur_to_pelvis: &Rotation3<f64>) -> Option<f64> {
        let e = self.exact.as_ref()?;
        let m = self.liner_from_hip * femur_to_pelvis.matrix() * e.femoral_from_stem;
        let pose = parry3d::math::Pose::from_rotation(crate::convert::rotation_to_parry(&Rotation3::from_matrix_unchecked(m)));
        let id = parry3d::math::Pose::IDENTITY;
        if parry3d::query::intersection_test(&id, &e.cup.shape, &pose, e.neck.as_ref()).ok()?.intersecting {
            let c = parry3d::query::contact(&id, &e.cup.shape, &pose, e.neck.as_ref(), 0.0).ok()?;
            Some(c.map_or(0.0, |c| f64::from(c.dist)))
        } else {
            parry3d::query::distance(&id, &e.cup.shape, &pose, e.neck.as_ref()).ok().map(|d| f64::from(d.distance))
        }
    }
    /// Whether the fast path answers this model's implant queries (true without user parts;
    /// false when a user neck is too wide for it, see [`crate::fast_contact`]).
    pub fn implant_fast_path(&self) -> bool {
        self.exact.as_ref().is_none_or(|e| e.fast.is_fast())
    }
    /// `c` (found at pose `femur_to_pelvis`) with its point from parry3d's exact contact query,
    /// when it is a neck-liner contact of user parts (the liner triangles next to the point
    /// the fast path found); otherwise `c` unchanged.
    pub fn refine_contact(&self, femur_to_pelvis: &Rotation3<f64>, c: Contact) -> Contact {
        let Some(e) = &self.exact else { return c };
        if c.parts != "neck-liner" {
            return c;
        }
        let m = self.liner_from_hip * femur_to_pelvis.matrix() * e.femoral_from_stem;
        let near = self.liner_from_hip * self.lps_to_hip(&c.point_lps_mm);
        match e.fast.exact_contact_near(&m, &near) {
            Some(q) => Contact { point_lps_mm: self.to_lps(&(self.liner_from_hip.transpose() * q)), ..c },
            None => c,
        }
    }
    /// The oscillation angle of the implant pair: closed form for catalog parts; with a user
    /// part, found by bisection of the neck tilted from the cup axis in 36 planes through it
    /// (the smallest sum of the two opposite limits), to 0.01 deg.
    pub fn oscillation_angle(&self) -> Angle {
        let Some(e) = &self.exact else { return self.construct.oscillation_angle() };
        // Femur orientations in the liner frame: the neck along the cup axis, tilted by `t`
        // towards azimuth `phi`.
        let base = Rotation3::rotation_between(&(e.femoral_from_stem * Vector3::z()), &Vector3::z()).unwrap_or_else(Rotation3::identity);
        let free = |phi: f64, t: f64| {
            let axis = Unit::new_normalize(Vector3::new(-phi.sin(), phi.cos(), 0.0));
            let m = Rotation3::from_axis_angle(&axis, t) * base;
            // In the hip frame for exact_implant_contact (which maps back into the liner frame).
            let femur_to_pelvis = self.liner_from_hip.transpose() * m.matrix();
            self.exact_implant_contact(e, &femur_to_pelvis).is_none()
        };
        let limit = |phi: f64| {
            let (mut lo, mut hi) = (0.0, std::f64::consts::PI);
            if !free(phi, 0.0) {
                return 0.0;
            }
            while hi - lo > 1e-4 {
                let mid = 0.5 * (lo + hi);
                if free(phi, mid) { lo = mid } else { hi = mid }
            }
            lo
        };
        let sums = (0..18).map(|k| {
            let phi = std::f64::consts::PI * k as f64 / 18.0;
            limit(phi) + limit(phi + std::f64::consts::PI)
        });
        Angle::from_rad(sums.fold(f64::INFINITY, f64::min))
    }
    /// The implants as placed, LPS mm, with the femur as imaged (for pictures): `shell`,
    /// `liner` and `head` at the hip centre in the cup's orientation; `neck` along the stem's
    /// neck direction carried by the imaged femur and the catalog's generic `stem` body
    /// ([`coxa_implants::Stem::body_mesh`]), or the user's whole `stem`.
    pub fn implant_meshes_lps(&self) -> Vec<(&'static str, Mesh)> {
        let place = |mesh: Mesh, hip_from_local: &Matrix3<f64>| -> Mesh {
            let (v, t) = mesh.into_parts();
            let v = v.into_iter().map(|p| self.to_lps(&(hip_from_local * p.coords))).collect();
            Mesh::new(v, t).expect("a rigid motion keeps a valid mesh valid")
        };
        let cup = self.liner_from_hip.transpose();
        let c = self.construct();
        // The neck direction in the hip frame, the femur as imaged.
        let neck_hip = self.frame.vector_to_pelvic(&self.neck_axis_lps());
        let z = neck_hip.normalize();
        let x = z.cross(&if z.x.abs() < 0.9 { Vector3::x() } else { Vector3::y() }).normalize();
        let neck_to_hip = Matrix3::from_columns(&[x, z.cross(&x), z]);
        let liner = self.exact.as_ref().map_or_else(|| c.liner.mesh(), |e| e.cup.mesh.clone());
        // Stem frame -> femoral frame -> LPS (femur as imaged) -> hip frame.
        let hip_from_femoral = self.frame.pelvic_from_lps().matrix() * self.femoral.femur_from_lps.inverse().matrix();
        let mut parts = vec![("shell", place(c.shell.mesh(), &cup)), ("liner", place(liner, &cup)), ("head", place(c.head.mesh(), &Matrix3::identity()))];
        match (&self.user_stem, &self.exact) {
            (Some(u), Some(e)) => parts.push(("stem", place(u.mesh.clone(), &(hip_from_femoral * e.femoral_from_stem)))),
            _ => {
                parts.push(("neck", place(c.neck().mesh(), &neck_to_hip)));
                // The catalog body, its gauge point the head offset beyond the head centre.
                let (v, t) = c.stem.body_mesh().into_parts();
                let o = c.head.neck_length_offset_mm;
                let body = Mesh::new(v.into_iter().map(|p| Point3::new(p.x, p.y, p.z + o)).collect(), t).expect("a shifted valid mesh");
                parts.push(("stem", place(body, &(hip_from_femoral * self.femoral_from_catalog_stem))));
            }
        }
        parts
    }
    /// The hip (cup) centre, LPS mm of the pelvis as imaged.
    pub fn hip_centre_lps_mm(&self) -> Point3<f64> {
        self.to_lps(&Vector3::zeros())
    }
    /// How the femur moves at pose `femur_to_pelvis` (femoral -> hip frame), the pelvis held as
    /// imaged: the linear part `M = Pᵀ · R · F` of a motion of LPS, with `P` the pelvic frame's
    /// rotation (LPS -> pelvic), `R` the pose and `F` the femoral frame's (LPS -> femoral). A
    /// point `p` of the femur as imaged goes to `c + M (p - h)`, with `c` the hip centre
    /// ([`Self::hip_centre_lps_mm`]) and `h` the prosthetic head centre on the imaged femur;
    /// the femoral implants of [`Self::implant_meshes_lps`] (head at `c`) go to `c + M (s - c)`.
    /// At the identity pose the femoral frame is parallel to the pelvic frame (the model's neutral).
    pub fn femur_motion_lps(&self, femur_to_pelvis: &Rotation3<f64>) -> Matrix3<f64> {
        self.frame.pelvic_from_lps().inverse().matrix() * femur_to_pelvis.matrix() * self.femoral.femur_from_lps.matrix()
    }
    /// The neck's direction from the head towards the stem, LPS, the femur as imaged.
    pub fn neck_axis_lps(&self) -> Vector3<f64> {
        self.femoral.femur_from_lps.inverse() * self.neck_dir_femoral
    }
    /// An LPS point in the hip frame, mm.
    pub fn lps_to_hip(&self, p: &Point3<f64>) -> Vector3<f64> {
        self.frame.point_to_pelvic(p) - self.hip_centre_pelvic_mm
    }
    /// Whether the femur and pelvis surfaces intersect at pose `femur_to_pelvis`, by parry's
    /// exact triangle-mesh test (f32, mm): a slow cross-check of the distance-field query
    /// (`None` without bones). The pelvis lacks the reamed ball, as in the fast query.
    pub fn bone_bone_exact(&self, femur_to_pelvis: &Rotation3<f64>) -> Option<bool> {
        let b = self.bones.as_ref()?;
        let pelvis = b.pelvis.parry.get_or_init(|| crate::convert::triangles_to_parry(&b.pelvis.tris)).as_ref()?;
        let femur = b.femur.parry.get_or_init(|| crate::convert::triangles_to_parry(&b.femur.tris)).as_ref()?;
        let pose = parry3d::math::Pose::from_rotation(crate::convert::rotation_to_parry(femur_to_pelvis));
        parry3d::query::intersection_test(&parry3d::math::Pose::IDENTITY, pelvis, &pose, femur).ok().map(|i| i.intersecting)
    }
    /// The bones, if any.
    pub fn bones(&self) -> Option<&Arc<BoneGeometry>> {
        self.bones.as_ref()
    }
    fn to_lps(&self, p_hip: &Vector3<f64>) -> Point3<f64> {
        self.frame.point_to_lps(&(self.hip_centre_pelvic_mm + p_hip))
    }
    /// The first contact at pose `femur_to_pelvis` (femoral frame -> hip frame), if any: checks
    /// neck vs liner rim (exact), then neck vs pelvis and femur vs cup, then femur vs pelvis.
    pub fn contact(&self, femur_to_pelvis: &Rotation3<f64>) -> Option<Contact> {
        let r = femur_to_pelvis.matrix();
        if let Some(e) = &self.exact {
            if let Some(q) = self.exact_implant_contact(e, r) {
                let q_hip = self.liner_from_hip.transpose() * q;
                return Some(Contact { kind: ContactKind::ImplantImplant, parts: "neck-liner", point_lps_mm: self.to_lps(&q_hip), femur_point_femoral_mm: r.transpose() * q_hip });
            }
        } else {
            let d_liner = self.liner_from_hip * (r * self.neck_dir_femoral);
            if let Some(q) = self.construct.neck_rim_contact(&d_liner) {
                let q_hip = self.liner_from_hip.transpose() * q;
                return Some(Contact { kind: ContactKind::ImplantImplant, parts: "neck-liner_rim", point_lps_mm: self.to_lps(&q_hip), femur_point_femoral_mm: r.transpose() * q_hip });
            }
        }
        let bones = self.bones.as_ref()?;
        let field = &bones.pelvis.field;
        let margin = field.voxel_mm();
        let may_pelvis = |c: &Vector3<f64>, rad: f64| field.at(c) <= rad + margin;
        let in_pelvis = |q: &Vector3<f64>| field.at(q) < 0.0;
        let map = |p: &Vector3<f64>| r * p;
        if let Some(q) = self.neck_points.find(map, may_pelvis, in_pelvis) {
            return Some(Contact { kind: ContactKind::ImplantBone, parts: "neck-pelvis", point_lps_mm: self.to_lps(&q), femur_point_femoral_mm: r.transpose() * q });
        }
        let ro = self.construct.shell.outer_diameter_mm / 2.0;
        let may_cup = |c: &Vector3<f64>, rad: f64| c.norm() <= ro + rad;
        let in_cup = |q: &Vector3<f64>| self.construct.liner.solid_contains(&(self.liner_from_hip * q), ro);
        if let Some(q) = bones.femur.points.find(map, may_cup, in_cup) {
            return Some(Contact { kind: ContactKind::ImplantBone, parts: "femur-cup", point_lps_mm: self.to_lps(&q), femur_point_femoral_mm: r.transpose() * q });
        }
        bones.femur.points.find(map, may_pelvis, in_pelvis).map(|q| Contact {
            kind: ContactKind::BoneBone,
            parts: "femur-pelvis",
            point_lps_mm: self.to_lps(&q),
            femur_point_femoral_mm: r.transpose() * q,
        })
    }
}

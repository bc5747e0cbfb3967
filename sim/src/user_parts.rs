//! An implant engineer's own geometry in the simulation: a cup (liner) and/or a stem from STL
//! files with their frame files ([`coxa_implants::UserGeometry`]).
//!
//! - **Cup**: the STL, moved into the liner frame of [`crate::HipModel`] (bearing centre at the
//!   origin, `cup_axis` along +z, `superior_axis` (if given) along +x, the superior direction
//!   in the face plane; without it the roll about the cup axis is arbitrary, which matters only
//!   for an asymmetric rim). Its bearing diameter must equal the head's.
//! - **Stem**: the STL, moved into its stem frame (head centre at the origin, `neck_axis`
//!   (head -> stem) along +z, the shaft's distal direction in the x-z plane towards +x); its CCD
//!   angle is `180 deg - angle(neck_axis, shaft_axis)`. What can meet the cup is its neck: the
//!   convex hull of the mesh between the head sphere (radius + 0.02 mm; edges crossing that
//!   sphere are cut there) and 40 mm from the head centre.
//! - Implant-implant contact with a user part is parry3d's exact test between the liner mesh
//!   (the user's, or the catalog liner's) and the neck hull (the user's, or the catalog neck's),
//!   instead of the closed-form neck-rim test; the oscillation angle is then found numerically
//!   ([`crate::HipModel::oscillation_angle`]).
//! - Both go through the fast path of [`crate::fast_contact`]: what does not change between
//!   poses is precomputed once per cup and neck ([`UserCup::fast_pair`]), and parry3d's exact
//!   test is kept for the final contact point and where the fast path cannot decide.
//! - **Cache**: [`UserCup::shared`], [`UserStem::shared`] and [`UserCup::shared_liner`] return
//!   the same `Arc` for the same content (the mesh's coordinates and triangles and the frame,
//!   hashed), so the cases and sweep points of a scenario, on any thread, prepare a part and
//!   each cup-neck pair once. The caches keep the last [`CACHE_PARTS`] parts.
//!   The key is std's `DefaultHasher` of that content: a key within one process, never written
//!   anywhere, so that its values may change between Rust releases does not matter.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use coxa_core::{Angle, Mesh};
use coxa_implants::{UserGeometry, UserPartKind};
use nalgebra::{Matrix3, Point3, Vector3};
use parry3d::shape::{ConvexPolyhedron, TriMesh};

use crate::convert::{mesh_to_parry, vector_to_sim};
use crate::fast_contact::FastPair;
use crate::{Result, SimError};

/// How far beyond the head sphere the neck hull starts, mm: just outside the bearing, so that
/// the hull's start face (where the neck leaves the head) stays within 0.02 deg of the sphere's
/// circle (at 0.02 mm it moved the rim contact of a 32 mm head by 0.2 deg).
const NECK_START_GAP_MM: f64 = 0.001;
/// Parts (and cup-neck pairs per cup) kept by the caches.
pub const CACHE_PARTS: usize = 8;

/// A process-wide cache of parts by content hash (the last [`CACHE_PARTS`]).
struct Cache<T>(Mutex<Vec<(u64, Arc<T>)>>);

impl<T> Cache<T> {
    const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }
    /// The part with `key`, made by `make` on a miss (under the lock: one thread makes it).
    fn get_or_make(&self, key: u64, make: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let mut v = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = v.iter().position(|(k, _)| *k == key) {
            let e = v.remove(i);
            let part = e.1.clone();
            v.push(e);
            return Ok(part);
        }
        let part = Arc::new(make()?);
        if v.len() >= CACHE_PARTS {
            v.remove(0);
        }
        v.push((key, part.clone()));
        Ok(part)
    }
}

static CUPS: Cache<UserCup> = Cache::new();
static STEMS: Cache<UserStem> = Cache::new();

/// A hash of a mesh's coordinates (bits) and triangles.
fn hash_mesh(h: &mut impl Hasher, mesh: &Mesh) {
    for p in mesh.vertices() {
        p.coords.iter().for_each(|c| c.to_bits().hash(h));
    }
    mesh.triangles().hash(h);
}

fn hash_frame(h: &mut impl Hasher, g: &UserGeometry) {
    (g.part == UserPartKind::Cup).hash(h);
    g.centre_mm.coords.iter().chain(g.axis.iter()).chain(g.reference_axis.iter().flatten()).for_each(|c| c.to_bits().hash(h));
    g.diameter_mm.to_bits().hash(h);
    g.mesh_path.hash(h);
}

/// A hash of a neck hull's points.
pub(crate) fn hash_hull(hull: &ConvexPolyhedron) -> u64 {
    let mut h = DefaultHasher::new();
    for p in hull.points() {
        [p.x.to_bits(), p.y.to_bits(), p.z.to_bits()].hash(&mut h);
    }
    h.finish()
}
/// How far from the head centre the neck hull reaches, mm.
const NECK_REACH_MM: f64 = 40.0;

fn bad(what: &str, why: String) -> SimError {
    SimError::InvalidInput { what: what.into(), value: f64::NAN, why }
}

/// A rotation (rows: the frame's axes in mesh coordinates) with `z` as +z and `x_hint`'s part
/// perpendicular to it as +x (any perpendicular when absent).
pub(crate) fn frame_from(z: &Vector3<f64>, x_hint: Option<&Vector3<f64>>) -> Matrix3<f64> {
    let z = z.normalize();
    let x = x_hint.and_then(|h| (h - z * h.dot(&z)).try_normalize(1e-9)).unwrap_or_else(|| z.cross(&if z.x.abs() < 0.9 { Vector3::x() } else { Vector3::y() }).normalize());
    let y = z.cross(&x);
    Matrix3::from_rows(&[x.transpose(), y.transpose(), z.transpose()])
}

/// A user cup (liner) in the liner frame.
pub struct UserCup {
    /// The liner surface, liner frame, mm.
    pub mesh: Mesh,
    /// Bearing radius, mm.
    pub inner_radius_mm: f64,
    pub(crate) shape: TriMesh,
    /// Prepared pairs with the necks this cup met (by hull hash; the last [`CACHE_PARTS`]).
    pairs: Cache<FastPair>,
}

impl Clone for UserCup {
    fn clone(&self) -> Self {
        Self { mesh: self.mesh.clone(), inner_radius_mm: self.inner_radius_mm, shape: self.shape.clone(), pairs: Cache::new() }
    }
}

impl std::fmt::Debug for UserCup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCup").field("inner_radius_mm", &self.inner_radius_mm).field("triangles", &self.mesh.triangles().len()).finish()
    }
}

impl UserCup {
    /// Moves `mesh` (the STL, mesh coordinates) into the liner frame by `frame` (a cup frame file).
    ///
    /// # Errors
    /// `frame` is not a cup; the mesh is empty or degenerate for parry3d.
    pub fn new(mesh: &Mesh, frame: &UserGeometry) -> Result<Self> {
        if frame.part != UserPartKind::Cup {
            return Err(bad("user cup", format!("{} declares part = \"stem\"; a cup needs part = \"cup\"", frame.mesh_path.display())));
        }
        let r = frame_from(&frame.axis, frame.reference_axis.as_ref());
        let (v, t) = mesh.clone().into_parts();
        let v: Vec<Point3<f64>> = v.into_iter().map(|p| Point3::from(r * (p - frame.centre_mm))).collect();
        let mesh = Mesh::new(v, t).map_err(|source| SimError::Mesh { what: "user cup mesh".into(), source })?;
        let shape = mesh_to_parry(&mesh).ok_or_else(|| bad("user cup mesh", format!("{}: empty or degenerate", frame.mesh_path.display())))?;
        Ok(Self { mesh, inner_radius_mm: frame.diameter_mm / 2.0, shape, pairs: Cache::new() })
    }
    /// [`UserCup::new`] through the process-wide cache: the same mesh and frame give the same
    /// `Arc` (and the pairs prepared with it) on every call and thread.
    pub fn shared(mesh: &Mesh, frame: &UserGeometry) -> Result<Arc<Self>> {
        let mut h = DefaultHasher::new();
        hash_mesh(&mut h, mesh);
        hash_frame(&mut h, frame);
        CUPS.get_or_make(h.finish(), || Self::new(mesh, frame))
    }
    /// A catalog liner as a "user" cup (the same contact test as user geometry).
    pub fn from_liner(liner: &coxa_implants::Liner) -> Result<Self> {
        let mesh = liner.mesh();
        let shape = mesh_to_parry(&mesh).ok_or_else(|| bad("liner mesh", "degenerate".into()))?;
        Ok(Self { mesh, inner_radius_mm: liner.inner_diameter_mm / 2.0, shape, pairs: Cache::new() })
    }
    /// [`UserCup::from_liner`] through the process-wide cache.
    pub fn shared_liner(liner: &coxa_implants::Liner) -> Result<Arc<Self>> {
        let mut h = DefaultHasher::new();
        "catalog liner".hash(&mut h);
        hash_mesh(&mut h, &liner.mesh());
        CUPS.get_or_make(h.finish(), || Self::from_liner(liner))
    }
    /// This cup prepared against the neck `hull` (stem frame) whose [`hash_hull`] is
    /// `hull_hash`, made on first use and kept with the cup.
    pub(crate) fn fast_pair(&self, hull: &ConvexPolyhedron, hull_hash: u64) -> Arc<FastPair> {
        let made = self.pairs.get_or_make(hull_hash, || Ok(FastPair::new(self.mesh.vertices(), self.mesh.triangles(), hull)));
        made.unwrap_or_else(|_: SimError| Arc::new(FastPair::new(self.mesh.vertices(), self.mesh.triangles(), hull)))
    }
}

/// A user stem in its stem frame.
#[derive(Clone)]
pub struct UserStem {
    /// [`hash_hull`] of the neck hull.
    pub(crate) hull_hash: u64,
    /// The whole stem surface, stem frame, mm.
    pub mesh: Mesh,
    /// The neck hull's points, stem frame, mm.
    pub neck_points: Vec<Vector3<f64>>,
    /// The stem's CCD angle.
    pub ccd: Angle,
    /// Neck diameter next to the head (as declared), mm.
    pub neck_diameter_mm: f64,
    /// Distal shaft direction, stem frame (in the x-z plane, +x component).
    pub shaft_distal: Vector3<f64>,
    pub(crate) hull: ConvexPolyhedron,
}

impl std::fmt::Debug for UserStem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStem").field("ccd_deg", &self.ccd.deg()).field("neck_points", &self.neck_points.len()).finish()
    }
}

impl UserStem {
    /// Moves `mesh` into the stem frame by `frame` (a stem frame file) and cuts the neck out
    /// for a head of `head_radius_mm`.
    ///
    /// # Errors
    /// `frame` is not a stem; no mesh between the head and 40 mm from its centre; a flat neck.
    pub fn new(mesh: &Mesh, frame: &UserGeometry, head_radius_mm: f64) -> Result<Self> {
        if frame.part != UserPartKind::Stem {
            return Err(bad("user stem", format!("{} declares part = \"cup\"; a stem needs part = \"stem\"", frame.mesh_path.display())));
        }
        let shaft = frame.reference_axis.ok_or_else(|| bad("user stem", "the frame file has no shaft_axis".into()))?;
        let r = frame_from(&frame.axis, Some(&shaft));
        let (v, t) = mesh.clone().into_parts();
        let v: Vec<Point3<f64>> = v.into_iter().map(|p| Point3::from(r * (p - frame.centre_mm))).collect();
        let mesh = Mesh::new(v, t).map_err(|source| SimError::Mesh { what: "user stem mesh".into(), source })?;
        let lo = head_radius_mm + NECK_START_GAP_MM;
        let inside = |p: &Vector3<f64>| (lo..=NECK_REACH_MM).contains(&p.norm());
        let mut pts: Vec<Vector3<f64>> = mesh.vertices().iter().map(|p| p.coords).filter(inside).collect();
        // Edges crossing the start sphere are cut on it (a coarse mesh may have no vertex there).
        for tri in mesh.triangles() {
            for (a, b) in [(tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])] {
                let (p, q) = (mesh.vertices()[a as usize].coords, mesh.vertices()[b as usize].coords);
                let (np, nq) = (p.norm(), q.norm());
                if (np - lo) * (nq - lo) < 0.0 {
                    // |p + s (q - p)| = lo, s in (0, 1).
                    let d = q - p;
                    let (aa, bb, cc) = (d.norm_squared(), 2.0 * p.dot(&d), p.norm_squared() - lo * lo);
                    let disc = (bb * bb - 4.0 * aa * cc).max(0.0).sqrt();
                    for s in [(-bb + disc) / (2.0 * aa), (-bb - disc) / (2.0 * aa)] {
                        if (0.0..=1.0).contains(&s) {
                            pts.push(p + d * s);
                        }
                    }
                }
            }
        }
        if pts.len() < 4 {
            return Err(bad(
                "user stem mesh",
                format!(
                    "{}: no neck between {lo:.1} mm (the {:.0} mm head) and {NECK_REACH_MM} mm from the head centre; check head_centre_mm and the units",
                    frame.mesh_path.display(),
                    2.0 * head_radius_mm
                ),
            ));
        }
        let hull = ConvexPolyhedron::from_convex_hull(&pts.iter().map(vector_to_sim).collect::<Vec<_>>()).ok_or_else(|| bad("user stem neck", "its convex hull is flat".into()))?;
        let shaft_distal = r * shaft;
        let ccd = Angle::from_deg(180.0 - shaft_distal.angle(&Vector3::z()).to_degrees());
        Ok(Self { hull_hash: hash_hull(&hull), mesh, neck_points: pts, ccd, neck_diameter_mm: frame.diameter_mm, shaft_distal, hull })
    }
    /// [`UserStem::new`] through the process-wide cache (see [`UserCup::shared`]).
    pub fn shared(mesh: &Mesh, frame: &UserGeometry, head_radius_mm: f64) -> Result<Arc<Self>> {
        let mut h = DefaultHasher::new();
        hash_mesh(&mut h, mesh);
        hash_frame(&mut h, frame);
        head_radius_mm.to_bits().hash(&mut h);
        STEMS.get_or_make(h.finish(), || Self::new(mesh, frame, head_radius_mm))
    }

    /// The rotation from the stem frame to the femoral frame that puts the neck along
    /// `neck_dir_femoral` and the shaft's distal direction along `-shaft_proximal_femoral`.
    pub fn femoral_from_stem(&self, neck_dir_femoral: &Vector3<f64>, shaft_proximal_femoral: &Vector3<f64>) -> Matrix3<f64> {
        let fem = frame_from(neck_dir_femoral, Some(&-shaft_proximal_femoral));
        let stem = frame_from(&Vector3::z(), Some(&self.shaft_distal));
        fem.transpose() * stem
    }
}

/// The catalog neck of a construct as a hull in its stem frame (+z the neck, head -> stem).
pub(crate) fn catalog_neck_hull(construct: &coxa_implants::Construct) -> Result<ConvexPolyhedron> {
    let neck = construct.neck();
    // From where it leaves the head sphere's 0.02 mm shell, as for a user stem.
    let (rh, rn) = (construct.head.diameter_mm / 2.0 + NECK_START_GAP_MM, neck.radius_mm);
    let start = (rh * rh - rn * rn).max(0.0).sqrt().max(neck.start_mm);
    let mut pts = Vec::new();
    for s in [start, neck.end_mm] {
        let rr = neck.radius_at(s);
        for k in 0..96 {
            let t = std::f64::consts::TAU * k as f64 / 96.0;
            pts.push(vector_to_sim(&Vector3::new(rr * t.cos(), rr * t.sin(), s)));
        }
    }
    ConvexPolyhedron::from_convex_hull(&pts).ok_or_else(|| bad("catalog neck", "its hull is flat".into()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use coxa_core::Side;
    use coxa_implants::Construct;
    use nalgebra::{Rotation3, Unit};

    use super::*;
    use crate::HipModel;
    use crate::rom::{self, PelvicTilts, SweepOptions};
    use crate::tests::{construct, radiographic};

    /// The catalog's own liner and neck written as user parts (tessellated with `n_azimuth`
    /// steps), moved by `motion` in mesh coordinates (the frame files move with them).
    fn as_user_parts(c: &Construct, motion: &nalgebra::Isometry3<f64>, n_azimuth: usize) -> (UserCup, UserStem) {
        let moved = |m: Mesh| {
            let (v, t) = m.into_parts();
            Mesh::new(v.into_iter().map(|p| motion * p).collect(), t).unwrap()
        };
        let r = c.head.diameter_mm / 2.0;
        let cup_frame = UserGeometry {
            part: UserPartKind::Cup,
            mesh_path: PathBuf::from("cup.stl"),
            centre_mm: motion * Point3::origin(),
            axis: motion * Vector3::z(),
            diameter_mm: 2.0 * r,
            reference_axis: Some(motion * Vector3::x()),
        };
        let cup = UserCup::new(&moved(c.liner.mesh_with_segments(n_azimuth)), &cup_frame).unwrap();
        // The stem frame: +z the neck (head -> stem); the shaft's distal direction at the CCD.
        let a = std::f64::consts::PI - c.stem.ccd.rad();
        let shaft = Vector3::new(a.sin(), 0.0, a.cos());
        let stem_frame = UserGeometry {
            part: UserPartKind::Stem,
            mesh_path: PathBuf::from("stem.stl"),
            centre_mm: motion * Point3::origin(),
            axis: motion * Vector3::z(),
            diameter_mm: c.stem.neck_diameter_mm,
            reference_axis: Some(motion * shaft),
        };
        let stem = UserStem::new(&moved(c.neck().mesh_with_segments(n_azimuth)), &stem_frame, r).unwrap();
        (cup, stem)
    }

    fn limits(m: &HipModel) -> Vec<(String, f64, String)> {
        let rep = rom::report(m, &rom::all_motions(), &PelvicTilts::default(), &SweepOptions::default());
        rep.motions.iter().map(|l| (l.name.to_string(), l.limit_deg, l.contact.map_or("none".into(), |c| c.kind.as_str().to_string()))).collect()
    }

    /// The catalog's liner and neck as user meshes (STL-like, 360 steps around) reproduce the
    /// closed-form model: all 14 motions within 0.1 deg, the oscillation angle within 0.05 deg,
    /// for a hemispherical and an elevated liner; the parts' placement in their mesh coordinates
    /// does not matter. (The limits are searched to 0.05 deg; a 360-gon's chords lie 0.0006 mm
    /// inside the circle.)
    #[test]
    fn catalog_parts_as_user_meshes_match_the_closed_form() {
        let moves = [nalgebra::Isometry3::identity(), nalgebra::Isometry3::new(Vector3::new(40.0, -12.0, 300.0), Vector3::new(0.3, -1.1, 0.7))];
        for liner in ["neutral", "elevated rim 4 mm posterosuperior"] {
            let c = construct(32.0, liner);
            let analytic = HipModel::builder(Side::Right, c.clone()).cup(radiographic(40.0, 20.0)).stem_anteversion(Angle::from_deg(15.0)).build().unwrap();
            let want = limits(&analytic);
            for mv in &moves {
                let (cup, stem) = as_user_parts(&c, mv, 360);
                let user =
                    HipModel::builder(Side::Right, c.clone()).cup(radiographic(40.0, 20.0)).stem_anteversion(Angle::from_deg(15.0)).user_cup(Arc::new(cup)).user_stem(Arc::new(stem)).build().unwrap();
                assert!(user.implant_fast_path());
                let (uo, ao) = (user.oscillation_angle().deg(), analytic.oscillation_angle().deg());
                eprintln!("{liner}: oscillation {uo:.3} vs closed form {ao:.3}");
                assert!((uo - ao).abs() < 0.05, "{liner}: oscillation {uo} vs {ao}");
                for (w, g) in want.iter().zip(limits(&user)) {
                    eprintln!("  {:<30} {:>8.3} vs closed form {:>8.3} ({})", w.0, g.1, w.1, g.2);
                    assert!((w.1 - g.1).abs() < 0.1, "{liner} {}: {} vs closed form {}", w.0, g.1, w.1);
                    assert_eq!(w.2, g.2, "{liner} {}", w.0);
                }
            }
        }
    }

    /// The same parts read twice share one prepared part, and one prepared pair across models.
    #[test]
    fn shared_parts_are_prepared_once() {
        let c = construct(32.0, "neutral");
        let mesh = c.liner.mesh();
        let frame =
            UserGeometry { part: UserPartKind::Cup, mesh_path: PathBuf::from("cup.stl"), centre_mm: Point3::origin(), axis: Vector3::z(), diameter_mm: 32.0, reference_axis: Some(Vector3::x()) };
        let (a, b) = (UserCup::shared(&mesh, &frame).unwrap(), UserCup::shared(&mesh.clone(), &frame).unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        let other = UserGeometry { axis: Vector3::new(0.0, 0.1, 1.0).normalize(), ..frame.clone() };
        assert!(!Arc::ptr_eq(&a, &UserCup::shared(&mesh, &other).unwrap()));
        let hull = catalog_neck_hull(&c).unwrap();
        let h = hash_hull(&hull);
        assert!(Arc::ptr_eq(&a.fast_pair(&hull, h), &b.fast_pair(&hull, h)));
        // Two models (different placements) of the same parts on two threads: one pair.
        let model = |av: f64| HipModel::builder(Side::Right, c.clone()).cup(radiographic(40.0, av)).user_cup(a.clone()).build().unwrap();
        let (m1, m2) = std::thread::scope(|s| {
            let t = s.spawn(|| model(10.0));
            (model(25.0), t.join().unwrap())
        });
        assert!(Arc::ptr_eq(&m1.exact.as_ref().unwrap().fast, &m2.exact.as_ref().unwrap().fast));
    }

    /// A user stem brings its own CCD angle: with the cup at 40 deg inclination a valgus neck
    /// (140 deg, pointing down the cup axis) abducts further before its neck meets the superior
    /// rim than a varus one (125 deg, 15 deg nearer the horizontal), and adducts less.
    #[test]
    fn a_user_stem_brings_its_own_ccd() {
        let c = construct(32.0, "neutral");
        let stem_with = |ccd: f64| {
            let a = (180.0 - ccd).to_radians();
            let frame = UserGeometry {
                part: UserPartKind::Stem,
                mesh_path: PathBuf::from("s.stl"),
                centre_mm: Point3::origin(),
                axis: Vector3::z(),
                diameter_mm: 12.25,
                reference_axis: Some(Vector3::new(a.sin(), 0.0, a.cos())),
            };
            UserStem::new(&c.neck().mesh(), &frame, 16.0).unwrap()
        };
        let model = |ccd: f64| HipModel::builder(Side::Right, c.clone()).user_stem(Arc::new(stem_with(ccd))).build().unwrap();
        let lim = |m: &HipModel, name: &str| limits(m).into_iter().find(|l| l.0 == name).unwrap().1;
        let (varus, valgus) = (model(125.0), model(140.0));
        assert!((stem_with(125.0).ccd.deg() - 125.0).abs() < 1e-9);
        let (av, ag) = (lim(&varus, "abduction"), lim(&valgus, "abduction"));
        let (dv, dg) = (lim(&varus, "adduction"), lim(&valgus, "adduction"));
        assert!(ag > av + 10.0 && dv > dg + 10.0, "abduction varus {av} valgus {ag}; adduction varus {dv} valgus {dg}");
        // The same neck in the same cup: the same oscillation angle.
        assert!((varus.oscillation_angle().deg() - valgus.oscillation_angle().deg()).abs() < 0.1);
    }

    #[test]
    fn bad_user_parts_are_clear_errors() {
        let c = construct(32.0, "neutral");
        let (cup, stem) = as_user_parts(&c, &nalgebra::Isometry3::identity(), 48);
        // A 36 mm head in a 32 mm cup.
        let c36 = construct(36.0, "neutral");
        let e = HipModel::builder(Side::Right, c36).user_cup(Arc::new(cup)).build().unwrap_err().to_string();
        assert!(e.contains("does not fit") && e.contains("36"), "{e}");
        // Part kinds swapped.
        let frame =
            UserGeometry { part: UserPartKind::Stem, mesh_path: PathBuf::from("x.stl"), centre_mm: Point3::origin(), axis: Vector3::z(), diameter_mm: 32.0, reference_axis: Some(Vector3::x()) };
        let e = UserCup::new(&c.liner.mesh(), &frame).unwrap_err().to_string();
        assert!(e.contains("part = \"cup\""), "{e}");
        // A stem mesh given in metres: nothing lies where the neck should be.
        let (v, t) = c.neck().mesh().into_parts();
        let metres = Mesh::new(v.into_iter().map(|p| Point3::from(p.coords / 1000.0)).collect(), t).unwrap();
        let sf = UserGeometry {
            part: UserPartKind::Stem,
            mesh_path: PathBuf::from("m.stl"),
            centre_mm: Point3::origin(),
            axis: Vector3::z(),
            diameter_mm: 12.0,
            reference_axis: Some(Vector3::new(0.8, 0.0, -0.6)),
        };
        let e = UserStem::new(&metres, &sf, 16.0).unwrap_err().to_string();
        assert!(e.contains("no neck") && e.contains("units"), "{e}");
        let _ = (stem, Rotation3::<f64>::identity(), Unit::new_normalize(Vector3::<f64>::x()));
    }
}

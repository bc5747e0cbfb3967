//! The one place where coxa's millimetre f64 geometry becomes the solvers' f32.
//!
//! Collision geometry stays in millimetres (docs/STACK.md: at metre scale in f32 parry's GJK gave
//! wrong answers); only the number type changes here.

use coxa_core::Mesh;
use parry3d::math::Vector;
use parry3d::shape::TriMesh;

/// A length in mm as f32 (saturating at the f32 range).
#[inline]
pub fn mm_to_f32(v: f64) -> f32 {
    v.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32
}

/// A parry triangle mesh in mm (f32) from a coxa mesh; `None` if parry refuses it (empty or
/// degenerate).
pub fn mesh_to_parry(mesh: &Mesh) -> Option<TriMesh> {
    let v: Vec<Vector> = mesh.vertices().iter().map(|p| Vector::new(mm_to_f32(p.x), mm_to_f32(p.y), mm_to_f32(p.z))).collect();
    TriMesh::new(v, mesh.triangles().to_vec()).ok()
}

/// A rotation as parry's (f32 quaternion).
pub fn rotation_to_parry(r: &nalgebra::Rotation3<f64>) -> parry3d::math::Rotation {
    let a = r.scaled_axis();
    parry3d::math::Rotation::from_scaled_axis(Vector::new(mm_to_f32(a.x), mm_to_f32(a.y), mm_to_f32(a.z)))
}

/// Triangles (by corner points, any frame in mm) as a parry mesh, welding nothing; `None` if empty.
pub fn triangles_to_parry(tris: &[[nalgebra::Vector3<f64>; 3]]) -> Option<TriMesh> {
    let mut v = Vec::with_capacity(tris.len() * 3);
    let mut idx = Vec::with_capacity(tris.len());
    for (k, t) in tris.iter().enumerate() {
        for p in t {
            v.push(Vector::new(mm_to_f32(p.x), mm_to_f32(p.y), mm_to_f32(p.z)));
        }
        let b = 3 * k as u32;
        idx.push([b, b + 1, b + 2]);
    }
    TriMesh::new(v, idx).ok()
}

// ---- rapier3d (dislocation dynamics): mm, kg, s in f32 ----
//
// The dynamics world keeps lengths in mm (`length_unit = 10`, docs/STACK.md), masses in kg and time
// in s, so its force unit is kg mm s^-2 = 1 mN and its torque unit kg mm^2 s^-2 = 1 uN m.

/// Solver force units (kg mm s^-2) per newton.
pub const SIM_FORCE_PER_NEWTON: f64 = 1e3;
/// Newton-metres per solver torque unit (kg mm^2 s^-2).
pub const NEWTON_METRES_PER_SIM_TORQUE: f64 = 1e-6;

/// A vector (mm, or a unit direction) as rapier's f32 vector.
pub fn vector_to_sim(v: &nalgebra::Vector3<f64>) -> Vector {
    Vector::new(mm_to_f32(v.x), mm_to_f32(v.y), mm_to_f32(v.z))
}

/// A rapier f32 vector as f64.
pub fn vector_from_sim(v: Vector) -> nalgebra::Vector3<f64> {
    nalgebra::Vector3::new(f64::from(v.x), f64::from(v.y), f64::from(v.z))
}

/// A pose (rotation, then translation in mm) as rapier's.
pub fn pose_to_sim(r: &nalgebra::Rotation3<f64>, t_mm: &nalgebra::Vector3<f64>) -> parry3d::math::Pose {
    parry3d::math::Pose::from_parts(vector_to_sim(t_mm), rotation_to_parry(r))
}

/// A force in newtons as a solver force vector (kg mm s^-2) along the unit `direction`.
pub fn force_to_sim(newtons: f64, direction: &nalgebra::Vector3<f64>) -> Vector {
    vector_to_sim(&(direction * (newtons * SIM_FORCE_PER_NEWTON)))
}

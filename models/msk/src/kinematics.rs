//! Forward kinematics of an OpenSim model: every body's pose in the ground for given coordinate
//! values (SI: metres, radians).

use coxa_osim::{Model, SpatialTransform};
use nalgebra::{Isometry3, Rotation3, Translation3, UnitQuaternion, Vector3};

use super::{MskError, Result};

/// A model ready for kinematics: the joints in an order where every parent body comes first.
#[derive(Debug, Clone)]
pub struct Kinematics {
    /// Joint indices, parents before children.
    order: Vec<usize>,
    n_bodies: usize,
}

/// Pose of a `PhysicalOffsetFrame`-like fixed frame in its body.
fn frame_iso(t: &Vector3<f64>, r: &Rotation3<f64>) -> Isometry3<f64> {
    Isometry3::from_parts(Translation3::from(*t), UnitQuaternion::from_rotation_matrix(r))
}

/// `X_FM(q)` of a spatial transform: body-fixed rotations about the axes in order, then the
/// translations along their axes in the parent frame `F` (OpenSim's `CustomJoint`, Simbody's
/// `FunctionBased` mobilizer).
pub fn spatial_transform(st: &SpatialTransform, q: &[f64]) -> Isometry3<f64> {
    let mut r = UnitQuaternion::identity();
    for a in &st.rotations {
        let angle = a.value(q);
        if angle != 0.0 {
            r *= UnitQuaternion::from_axis_angle(&nalgebra::Unit::new_unchecked(a.axis), angle);
        }
    }
    let mut p = Vector3::zeros();
    for a in &st.translations {
        p += a.axis * a.value(q);
    }
    Isometry3::from_parts(Translation3::from(p), r)
}

impl Kinematics {
    /// Orders the joints so that every joint's parent body is placed before it. Fails if a body
    /// has two parent joints or a joint's parent is never reached from the ground.
    pub fn new(model: &Model) -> Result<Self> {
        let n = model.bodies.len();
        if n == 0 {
            return Err(MskError::Model { what: "the model has no bodies (not even the ground)".into() });
        }
        for j in &model.joints {
            if j.parent.body >= n || j.child.body >= n {
                return Err(MskError::Model { what: format!("joint '{}' refers to a body that does not exist", j.name) });
            }
        }
        let mut placed = vec![false; n];
        placed[0] = true;
        let mut child_seen = vec![false; n];
        for j in &model.joints {
            if child_seen[j.child.body] || j.child.body == 0 {
                return Err(MskError::Model { what: format!("body '{}' is the child of more than one joint (closed loops are not supported)", model.bodies[j.child.body].name) });
            }
            child_seen[j.child.body] = true;
        }
        let mut order = Vec::with_capacity(model.joints.len());
        let mut done = vec![false; model.joints.len()];
        loop {
            let mut progress = false;
            for (k, j) in model.joints.iter().enumerate() {
                if !done[k] && placed[j.parent.body] {
                    placed[j.child.body] = true;
                    done[k] = true;
                    order.push(k);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        if let Some(k) = done.iter().position(|d| !d) {
            return Err(MskError::Model { what: format!("joint '{}' is not connected to the ground", model.joints[k].name) });
        }
        Ok(Self { order, n_bodies: n })
    }

    /// Poses of all bodies in the ground (`ground_from_body`, metres) for coordinate values `q`
    /// (one per [`Model::coordinates`]; a missing value makes the poses NaN). Coupled
    /// coordinates are not changed here: apply [`apply_couplers`] first.
    pub fn body_poses(&self, model: &Model, q: &[f64]) -> Vec<Isometry3<f64>> {
        let mut x = vec![Isometry3::identity(); self.n_bodies];
        for &k in &self.order {
            let j = &model.joints[k];
            let parent = x[j.parent.body] * frame_iso(&j.parent.translation_m, &j.parent.rotation);
            let child_in_body = frame_iso(&j.child.translation_m, &j.child.rotation);
            x[j.child.body] = parent * spatial_transform(&j.transform, q) * child_in_body.inverse();
        }
        x
    }
}

/// Clamps every coordinate marked `clamped` to its range (OpenSim's assembler does the same).
pub fn clamp_coordinates(model: &Model, q: &mut [f64]) {
    for (v, c) in q.iter_mut().zip(&model.coordinates) {
        if c.clamped {
            *v = v.clamp(c.range[0].min(c.range[1]), c.range[1].max(c.range[0]));
        }
    }
}

/// The coordinates `q` with coordinate `c` moved by `+h` and by `-h`, each with the couplers
/// applied (for central differences: `(f(plus) - f(minus)) / 2h`).
pub fn perturbed(model: &Model, q: &[f64], c: usize, h: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut plus, mut minus) = (q.to_vec(), q.to_vec());
    plus[c] += h;
    minus[c] -= h;
    apply_couplers(model, &mut plus);
    apply_couplers(model, &mut minus);
    (plus, minus)
}

/// Sets every enforced coupler's dependent coordinate from its independent one.
pub fn apply_couplers(model: &Model, q: &mut [f64]) {
    for c in model.couplers.iter().filter(|c| c.enforced) {
        let v = q.get(c.independent).map(|&x| c.function.value(x));
        if let (Some(v), Some(d)) = (v, q.get_mut(c.dependent)) {
            *d = v;
        }
    }
}

//! Triangle surface meshes in LPS millimetres.

use nalgebra::{Matrix4, Point3, Vector3};

use crate::{Error, Result};

/// A triangle mesh: vertices in LPS mm and triangles as vertex index triples, counter-clockwise
/// seen from outside (so face normals `(b - a) × (c - a)` point outward on a closed surface).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mesh {
    vertices: Vec<Point3<f64>>,
    triangles: Vec<[u32; 3]>,
}

impl Mesh {
    /// A mesh from vertices and triangles; every index must name a vertex and every vertex be finite.
    pub fn new(vertices: Vec<Point3<f64>>, triangles: Vec<[u32; 3]>) -> Result<Self> {
        let n = vertices.len();
        if let Some(t) = triangles.iter().find(|t| t.iter().any(|&i| i as usize >= n)) {
            return Err(Error::InvalidMesh { why: format!("triangle {t:?} names a vertex beyond the {n} vertices") });
        }
        if let Some(v) = vertices.iter().find(|v| v.iter().any(|c| !c.is_finite())) {
            return Err(Error::InvalidMesh { why: format!("vertex {v:?} is not finite") });
        }
        Ok(Self { vertices, triangles })
    }

    /// The closed box between the corners `lo` and `hi` (LPS mm), 12 outward triangles; vertex
    /// `k` takes `hi` on axis `a` where bit `a` of `k` is set. An error if a corner is not finite.
    pub fn cuboid(lo: Point3<f64>, hi: Point3<f64>) -> Result<Self> {
        let vertices = (0..8).map(|k| Point3::from(Vector3::from_fn(|a, _| if k & (1 << a) == 0 { lo[a] } else { hi[a] }))).collect();
        let triangles = vec![[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]];
        Self::new(vertices, triangles)
    }
    /// The vertices, LPS mm.
    pub fn vertices(&self) -> &[Point3<f64>] {
        &self.vertices
    }
    /// The triangles (vertex indices, counter-clockwise from outside).
    pub fn triangles(&self) -> &[[u32; 3]] {
        &self.triangles
    }
    /// Splits into vertices and triangles.
    pub fn into_parts(self) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
        (self.vertices, self.triangles)
    }
    /// Whether the mesh has no triangle.
    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }
    /// The three corners of triangle `t`.
    pub fn corners(&self, t: usize) -> [Point3<f64>; 3] {
        let [a, b, c] = self.triangles[t];
        [self.vertices[a as usize], self.vertices[b as usize], self.vertices[c as usize]]
    }
    /// Area-weighted normal of triangle `t` (length = twice its area).
    pub fn face_normal_scaled(&self, t: usize) -> Vector3<f64> {
        let [a, b, c] = self.corners(t);
        (b - a).cross(&(c - a))
    }
    /// Surface area, mm².
    pub fn area_mm2(&self) -> f64 {
        (0..self.triangles.len()).map(|t| 0.5 * self.face_normal_scaled(t).norm()).sum()
    }
    /// Enclosed volume by the divergence theorem, mm³: positive for a closed mesh with outward
    /// normals, negative if it is inside out. Meaningless for an open mesh.
    pub fn signed_volume_mm3(&self) -> f64 {
        // Relative to the centroid of the vertices, for precision far from the origin.
        let c = self.vertex_centroid().coords;
        (0..self.triangles.len())
            .map(|t| {
                let [a, b, d] = self.corners(t);
                (a.coords - c).dot(&(b.coords - c).cross(&(d.coords - c))) / 6.0
            })
            .sum()
    }
    /// Mean of the vertices (not the volume centroid).
    pub fn vertex_centroid(&self) -> Point3<f64> {
        if self.vertices.is_empty() {
            return Point3::origin();
        }
        let s: Vector3<f64> = self.vertices.iter().map(|p| p.coords).sum();
        Point3::from(s / self.vertices.len() as f64)
    }
    /// Axis-aligned bounds `(min, max)`, LPS mm, or `None` for an empty mesh.
    pub fn bounds(&self) -> Option<(Point3<f64>, Point3<f64>)> {
        let first = *self.vertices.first()?;
        Some(self.vertices.iter().fold((first, first), |(lo, hi), p| (lo.inf(p), hi.sup(p))))
    }
    /// Whether every edge is shared by exactly two triangles that traverse it in opposite
    /// directions (closed, consistently oriented, edge-manifold).
    pub fn is_watertight(&self) -> bool {
        use std::collections::HashMap;
        let mut directed: HashMap<(u32, u32), u32> = HashMap::with_capacity(self.triangles.len() * 3);
        for t in &self.triangles {
            for e in 0..3 {
                let (a, b) = (t[e], t[(e + 1) % 3]);
                if a == b {
                    return false;
                }
                *directed.entry((a, b)).or_insert(0) += 1;
            }
        }
        !self.triangles.is_empty() && directed.iter().all(|(&(a, b), &n)| n == 1 && directed.get(&(b, a)) == Some(&1))
    }
    /// Vertex normals: unit area-weighted mean of the adjacent face normals.
    pub fn vertex_normals(&self) -> Vec<Vector3<f64>> {
        let mut n = vec![Vector3::zeros(); self.vertices.len()];
        for (t, tri) in self.triangles.iter().enumerate() {
            let f = self.face_normal_scaled(t);
            for &i in tri {
                n[i as usize] += f;
            }
        }
        n.into_iter().map(|v| v.try_normalize(0.0).unwrap_or_else(Vector3::zeros)).collect()
    }
    /// The mesh moved by a homogeneous transform. A reflection (negative determinant) also
    /// reverses the triangles so that normals keep pointing outward.
    pub fn transformed(&self, m: &Matrix4<f64>) -> Self {
        let vertices = self.vertices.iter().map(|p| m.transform_point(p)).collect();
        let flip = m.fixed_view::<3, 3>(0, 0).determinant() < 0.0;
        let triangles = if flip { self.triangles.iter().map(|[a, b, c]| [*a, *c, *b]).collect() } else { self.triangles.clone() };
        Self { vertices, triangles }
    }
}

/// The closest point to `p` on triangle `t` (Ericson, Real-Time Collision Detection, 5.1.5).
pub fn closest_on_triangle(p: &Point3<f64>, t: &[Point3<f64>; 3]) -> Point3<f64> {
    let [a, b, c] = *t;
    let (ab, ac, ap) = (b - a, c - a, p - a);
    let (d1, d2) = (ab.dot(&ap), ac.dot(&ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = p - b;
    let (d3, d4) = (ab.dot(&bp), ac.dot(&bp));
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return a + ab * (d1 / (d1 - d3));
    }
    let cp = p - c;
    let (d5, d6) = (ab.dot(&cp), ac.dot(&cp));
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return a + ac * (d2 / (d2 - d6));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)));
    }
    let denom = va + vb + vc;
    if denom.abs() < f64::MIN_POSITIVE {
        // A degenerate triangle: its nearest edge point.
        return [a + ab * (d1 / ab.norm_squared().max(f64::MIN_POSITIVE)).clamp(0.0, 1.0), a + ac * (d2 / ac.norm_squared().max(f64::MIN_POSITIVE)).clamp(0.0, 1.0)]
            .into_iter()
            .min_by(|x, y| (x - p).norm_squared().total_cmp(&(y - p).norm_squared()))
            .unwrap_or(a);
    }
    let (v, w) = (vb / denom, vc / denom);
    a + ab * v + ac * w
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// A cube of side `s` at `o`, outward triangles.
    pub(crate) fn cube(o: [f64; 3], s: f64) -> Mesh {
        Mesh::cuboid(Point3::from(o), Point3::new(o[0] + s, o[1] + s, o[2] + s)).unwrap()
    }

    #[test]
    fn cube_volume_area_and_closure() {
        let m = cube([100.0, -50.0, 1000.0], 2.0);
        assert_relative_eq!(m.signed_volume_mm3(), 8.0, epsilon = 1e-9);
        assert_relative_eq!(m.area_mm2(), 24.0, epsilon = 1e-9);
        assert!(m.is_watertight());
        let mut open = m.clone();
        let _ = open.triangles.pop();
        assert!(!open.is_watertight());
    }

    #[test]
    fn mirroring_keeps_normals_outward() {
        let m = cube([1.0, 2.0, 3.0], 3.0);
        let mirror = Matrix4::from_diagonal(&nalgebra::Vector4::new(-1.0, 1.0, 1.0, 1.0));
        let mm = m.transformed(&mirror);
        assert_relative_eq!(mm.signed_volume_mm3(), 27.0, epsilon = 1e-9);
        assert!(mm.is_watertight());
    }

    #[test]
    fn rejects_bad_indices_and_nan() {
        assert!(Mesh::new(vec![Point3::origin()], vec![[0, 0, 1]]).is_err());
        assert!(Mesh::new(vec![Point3::new(f64::NAN, 0.0, 0.0)], vec![]).is_err());
    }
}

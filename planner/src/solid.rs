//! Inside/outside of a closed bone surface near a point, by ray parity along columns.
//!
//! The surface is taken into a local frame (a rotation and an origin); columns parallel to the
//! local z axis on a square grid of `spacing_mm` around the origin collect the heights at which
//! they cross the surface (columns nudged off the grid by an irrational fraction so that no ray
//! meets an edge or a vertex). A point is inside when an odd number of crossings of its nearest
//! column lie below it: exact for a closed surface up to the column spacing in x and y.

use coxa_core::Mesh;
use nalgebra::{Point3, Rotation3};

/// Crossing heights of columns around a centre.
#[derive(Debug, Clone)]
pub struct SolidColumns {
    origin: Point3<f64>,
    local_from_lps: Rotation3<f64>,
    half_mm: f64,
    spacing_mm: f64,
    n: usize,
    hits: Vec<Vec<f64>>,
}

impl SolidColumns {
    /// Columns of `mesh` (LPS) within `half_mm` of `origin` (LPS) in x and y of the local frame
    /// `local_from_lps`, spaced `spacing_mm`.
    pub fn new(mesh: &Mesh, origin: Point3<f64>, local_from_lps: Rotation3<f64>, half_mm: f64, spacing_mm: f64) -> Self {
        let n = ((2.0 * half_mm / spacing_mm).ceil() as usize).max(1);
        let h = spacing_mm;
        let (ex, ey) = (h * 1.234_567e-4, h * 2.718_281e-4);
        let coord = |i: usize| -half_mm + (i as f64 + 0.5) * h;
        let local: Vec<Point3<f64>> = mesh.vertices().iter().map(|p| Point3::from(local_from_lps * (p - origin))).collect();
        let mut hits: Vec<Vec<f64>> = vec![Vec::new(); n * n];
        for t in mesh.triangles() {
            let [a, b, c] = t.map(|i| local[i as usize]);
            let (lo_x, hi_x) = (a.x.min(b.x).min(c.x), a.x.max(b.x).max(c.x));
            let (lo_y, hi_y) = (a.y.min(b.y).min(c.y), a.y.max(b.y).max(c.y));
            if lo_x > half_mm || hi_x < -half_mm || lo_y > half_mm || hi_y < -half_mm {
                continue;
            }
            let det = (b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y);
            if det.abs() < 1e-18 {
                continue;
            }
            let idx = |v: f64, up: bool| {
                let g = (v + half_mm) / h - 0.5;
                let g = if up { g.ceil() } else { g.floor() };
                (g.max(0.0) as usize).min(n - 1)
            };
            for j in idx(lo_y, false)..=idx(hi_y, true) {
                for i in idx(lo_x, false)..=idx(hi_x, true) {
                    let (x, y) = (coord(i) + ex, coord(j) + ey);
                    let u = ((x - a.x) * (c.y - a.y) - (c.x - a.x) * (y - a.y)) / det;
                    let v = ((b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y)) / det;
                    if u >= 0.0 && v >= 0.0 && u + v <= 1.0 {
                        hits[j * n + i].push(a.z + u * (b.z - a.z) + v * (c.z - a.z));
                    }
                }
            }
        }
        for col in &mut hits {
            col.sort_by(f64::total_cmp);
        }
        Self { origin, local_from_lps, half_mm, spacing_mm, n, hits }
    }

    /// Whether the LPS point `p` is inside the surface (`false` outside the columns' reach).
    pub fn contains_lps(&self, p: &Point3<f64>) -> bool {
        self.contains_local(&Point3::from(self.local_from_lps * (p - self.origin)))
    }

    /// Whether the local point `q` (local frame, relative to the origin) is inside.
    pub fn contains_local(&self, q: &Point3<f64>) -> bool {
        let g = |v: f64| ((v + self.half_mm) / self.spacing_mm - 0.5).round();
        let (gi, gj) = (g(q.x), g(q.y));
        if !(gi >= 0.0 && gj >= 0.0 && gi < self.n as f64 && gj < self.n as f64) {
            return false;
        }
        let col = &self.hits[gj as usize * self.n + gi as usize];
        col.partition_point(|&z| z < q.z) % 2 == 1
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A closed box mesh (outward triangles), LPS mm.
    pub(crate) fn cuboid(lo: [f64; 3], hi: [f64; 3]) -> Mesh {
        Mesh::cuboid(Point3::from(lo), Point3::from(hi)).unwrap()
    }

    #[test]
    fn box_inside_and_outside() {
        let m = cuboid([0.0, -50.0, -50.0], [40.0, 50.0, 50.0]);
        let s = SolidColumns::new(&m, Point3::new(0.0, 0.0, 0.0), Rotation3::identity(), 60.0, 0.5);
        assert!(s.contains_lps(&Point3::new(1.0, 0.0, 0.0)));
        assert!(s.contains_lps(&Point3::new(39.0, 10.0, -49.0)));
        assert!(!s.contains_lps(&Point3::new(-1.0, 0.0, 0.0)));
        assert!(!s.contains_lps(&Point3::new(41.0, 0.0, 0.0)));
        assert!(!s.contains_lps(&Point3::new(10.0, 0.0, 51.0)));
        // A rotated local frame sees the same solid.
        let r = Rotation3::from_euler_angles(0.3, -0.2, 0.5);
        let s = SolidColumns::new(&m, Point3::new(5.0, 1.0, 2.0), r, 80.0, 0.5);
        assert!(s.contains_lps(&Point3::new(20.0, 0.0, 0.0)) && !s.contains_lps(&Point3::new(-3.0, 0.0, 0.0)));
    }
}

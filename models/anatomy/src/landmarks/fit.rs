//! Least-squares fits of spheres, lines and planes to points.

use nalgebra::{Matrix3, Matrix4, Point3, SymmetricEigen, Vector3, Vector4};

/// A fitted sphere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sphere {
    /// Centre, LPS mm.
    pub centre: Point3<f64>,
    /// Radius, mm.
    pub radius_mm: f64,
    /// Root-mean-square distance of the fitted points from the sphere, mm.
    pub rms_mm: f64,
}

fn mean(points: &[Point3<f64>]) -> Point3<f64> {
    let s: Vector3<f64> = points.iter().map(|p| p.coords).sum();
    Point3::from(s / points.len().max(1) as f64)
}

fn rms(points: &[Point3<f64>], centre: &Point3<f64>, r: f64) -> f64 {
    (points.iter().map(|p| ((p - centre).norm() - r).powi(2)).sum::<f64>() / points.len().max(1) as f64).sqrt()
}

/// Algebraic sphere fit (linear least squares on `|p|² = 2 c·p + k`), then Gauss-Newton on the
/// geometric distances. `None` for fewer than 4 points or a degenerate (planar) set.
pub fn fit_sphere(points: &[Point3<f64>]) -> Option<Sphere> {
    if points.len() < 4 {
        return None;
    }
    let m = mean(points);
    let mut ata = Matrix4::zeros();
    let mut atb = Vector4::zeros();
    for p in points {
        let q = p - m;
        let row = Vector4::new(2.0 * q.x, 2.0 * q.y, 2.0 * q.z, 1.0);
        ata += row * row.transpose();
        atb += row * q.norm_squared();
    }
    let sol = ata.try_inverse()? * atb;
    let mut c = Vector3::new(sol[0], sol[1], sol[2]);
    let r2 = sol[3] + c.norm_squared();
    if !(r2.is_finite() && r2 > 0.0) {
        return None;
    }
    let mut r = r2.sqrt();
    // Gauss-Newton on f_i = |q_i - c| - r.
    for _ in 0..20 {
        let mut jtj = Matrix4::zeros();
        let mut jtf = Vector4::zeros();
        for p in points {
            let d = (p - m) - c;
            let n = d.norm();
            if n < 1e-12 {
                continue;
            }
            let f = n - r;
            let j = Vector4::new(-d.x / n, -d.y / n, -d.z / n, -1.0);
            jtj += j * j.transpose();
            jtf += j * f;
        }
        let Some(inv) = jtj.try_inverse() else { break };
        let step = inv * jtf;
        c -= step.xyz();
        r -= step[3];
        if step.norm() < 1e-10 {
            break;
        }
    }
    let centre = m + c;
    (r.is_finite() && r > 0.0).then(|| Sphere { centre, radius_mm: r, rms_mm: rms(points, &centre, r) })
}

/// Principal axes of a point set: mean and eigenvectors of the covariance, by decreasing
/// eigenvalue (columns 0, 1, 2), with the eigenvalues.
pub fn principal_axes(points: &[Point3<f64>]) -> (Point3<f64>, Matrix3<f64>, Vector3<f64>) {
    let m = mean(points);
    let mut cov = Matrix3::zeros();
    for p in points {
        let d = p - m;
        cov += d * d.transpose();
    }
    cov /= points.len().max(1) as f64;
    let eig = SymmetricEigen::new(cov);
    let mut idx = [0usize, 1, 2];
    idx.sort_by(|a, b| eig.eigenvalues[*b].total_cmp(&eig.eigenvalues[*a]));
    let axes = Matrix3::from_columns(&[eig.eigenvectors.column(idx[0]), eig.eigenvectors.column(idx[1]), eig.eigenvectors.column(idx[2])]);
    let vals = Vector3::new(eig.eigenvalues[idx[0]], eig.eigenvalues[idx[1]], eig.eigenvalues[idx[2]]);
    (m, axes, vals)
}

/// Best-fit line: a point on it (the mean) and its unit direction.
pub fn fit_line(points: &[Point3<f64>]) -> Option<(Point3<f64>, Vector3<f64>)> {
    if points.len() < 2 {
        return None;
    }
    let (m, axes, _) = principal_axes(points);
    Some((m, axes.column(0).into_owned()))
}

/// Best-fit plane: a point on it (the mean) and its unit normal.
pub fn fit_plane(points: &[Point3<f64>]) -> Option<(Point3<f64>, Vector3<f64>)> {
    if points.len() < 3 {
        return None;
    }
    let (m, axes, _) = principal_axes(points);
    Some((m, axes.column(2).into_owned()))
}

/// Circle fitted to points projected onto the plane through `point` with unit normal `normal`:
/// algebraic (Kåsa) fit in an orthonormal basis of the plane. Returns the centre (in the plane,
/// LPS mm) and the radius, mm; `None` for fewer than 3 points or collinear ones.
pub fn fit_circle_in_plane(points: &[Point3<f64>], point: &Point3<f64>, normal: &Vector3<f64>) -> Option<(Point3<f64>, f64)> {
    if points.len() < 3 {
        return None;
    }
    let e1 = super::perpendicular(&Vector3::z(), normal).or_else(|| super::perpendicular(&Vector3::x(), normal))?;
    let e2 = normal.cross(&e1);
    let uv: Vec<(f64, f64)> = points.iter().map(|p| ((p - point).dot(&e1), (p - point).dot(&e2))).collect();
    // |q|^2 = 2 a u + 2 b v + k, least squares.
    let mut ata = Matrix3::zeros();
    let mut atb = Vector3::zeros();
    for &(u, v) in &uv {
        let row = Vector3::new(2.0 * u, 2.0 * v, 1.0);
        ata += row * row.transpose();
        atb += row * (u * u + v * v);
    }
    let sol = ata.try_inverse()? * atb;
    let r2 = sol[2] + sol[0] * sol[0] + sol[1] * sol[1];
    (r2.is_finite() && r2 > 0.0).then(|| (point + e1 * sol[0] + e2 * sol[1], r2.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn sphere_points(c: Point3<f64>, r: f64, cap_deg: f64) -> Vec<Point3<f64>> {
        let mut out = Vec::new();
        for i in 0..40 {
            let theta = (i as f64 + 0.5) / 40.0 * cap_deg.to_radians();
            for j in 0..60 {
                let phi = j as f64 / 60.0 * std::f64::consts::TAU;
                out.push(c + r * Vector3::new(theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()));
            }
        }
        out
    }

    #[test]
    fn sphere_fit_is_exact_on_a_cap() {
        let c = Point3::new(-300.5, 280.25, -600.0);
        for cap in [180.0, 90.0, 50.0] {
            let s = fit_sphere(&sphere_points(c, 23.4, cap)).unwrap();
            assert_relative_eq!(s.centre, c, epsilon = 1e-8);
            assert_relative_eq!(s.radius_mm, 23.4, epsilon = 1e-8);
            assert!(s.rms_mm < 1e-8);
        }
    }

    #[test]
    fn degenerate_sets_fail() {
        assert!(fit_sphere(&[Point3::origin(); 3]).is_none());
        let planar: Vec<_> = (0..20).map(|i| Point3::new(i as f64, (i * i) as f64, 0.0)).collect();
        assert!(fit_sphere(&planar).is_none_or(|s| s.radius_mm > 1e6 || s.rms_mm > 0.0));
    }

    #[test]
    fn line_and_plane() {
        let d = Vector3::new(1.0, 2.0, -2.0).normalize();
        let pts: Vec<_> = (0..10).map(|i| Point3::new(1.0, 1.0, 1.0) + d * i as f64).collect();
        let (_, dir) = fit_line(&pts).unwrap();
        assert_relative_eq!(dir.dot(&d).abs(), 1.0, epsilon = 1e-12);
        let pts: Vec<_> = (0..25).map(|i| Point3::new((i % 5) as f64, (i / 5) as f64, 3.0)).collect();
        let (p, n) = fit_plane(&pts).unwrap();
        assert_relative_eq!(n.z.abs(), 1.0, epsilon = 1e-12);
        assert_relative_eq!(p.z, 3.0, epsilon = 1e-12);
    }
}

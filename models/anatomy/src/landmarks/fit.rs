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

/// Standard errors of a sphere fit's centre and radius, from its residuals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SphereErrors {
    /// Standard error of the centre along each LPS axis, mm.
    pub centre_sd_mm: [f64; 3],
    /// Standard error of the radius, mm.
    pub radius_sd_mm: f64,
    /// Points fitted.
    pub n_points: usize,
    /// Independent points they count as (at most `n_points`).
    pub n_effective: f64,
}

/// The standard errors of `sphere` fitted to `points` ([`fit_sphere`]): the Gauss-Newton
/// covariance at the solution, `s² (JᵀJ)⁻¹` with `J` the rows `(-(p - c)/|p - c|, -1)` and
/// `s² = Σ r² / (n - 4)` the residuals' variance, which is exact to first order for independent
/// errors of equal variance along the surface normal (a nonlinear least-squares fit's usual
/// covariance: Seber and Wild, Nonlinear Regression, 1989, 2.1). Errors correlated between
/// neighbouring points (a surface from a blurred image) make the points count as fewer:
/// `n_effective` below `n` scales the covariance by `n / n_effective`. `None` for fewer than 5
/// points or a singular fit.
pub fn sphere_errors(points: &[Point3<f64>], sphere: &Sphere, n_effective: Option<f64>) -> Option<SphereErrors> {
    let n = points.len();
    if n < 5 {
        return None;
    }
    let mut jtj = Matrix4::zeros();
    let mut ss = 0.0;
    for p in points {
        let d = p - sphere.centre;
        let l = d.norm();
        if l < 1e-12 {
            continue;
        }
        let j = Vector4::new(-d.x / l, -d.y / l, -d.z / l, -1.0);
        jtj += j * j.transpose();
        ss += (l - sphere.radius_mm).powi(2);
    }
    let cov = jtj.try_inverse()? * (ss / (n - 4) as f64);
    let n_eff = n_effective.map_or(n as f64, |e| e.clamp(5.0, n as f64));
    let scale = n as f64 / n_eff;
    let sd = |i: usize| (cov[(i, i)].max(0.0) * scale).sqrt();
    Some(SphereErrors { centre_sd_mm: [sd(0), sd(1), sd(2)], radius_sd_mm: sd(3), n_points: n, n_effective: n_eff })
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
    use coxa_core::rng::SplitMix64;

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

    /// Points uniform on the whole sphere (`cap_deg` 180) or on a cap about +z, each moved
    /// along its normal by a normal error of SD `sigma`.
    fn noisy(g: &mut SplitMix64, c: Point3<f64>, r: f64, n: usize, cap_deg: f64, sigma: f64) -> Vec<Point3<f64>> {
        let z_min = cap_deg.to_radians().cos();
        (0..n)
            .map(|_| {
                let z = z_min + (1.0 - z_min) * g.next_f64();
                let phi = std::f64::consts::TAU * g.next_f64();
                let s = (1.0 - z * z).sqrt();
                let u = Vector3::new(s * phi.cos(), s * phi.sin(), z);
                c + u * (r + sigma * g.normal())
            })
            .collect()
    }

    /// Issue 59: the fit's standard errors are the theory's. On a whole sphere with N uniform
    /// points and radial noise σ, Var(centre_x) = 3 σ²/N and Var(r) = σ²/N exactly to first
    /// order (Σ n_x² = N/3); on a 60 deg cap (no closed form) the predicted errors match the
    /// spread of 400 repeated fits, within that spread's own sampling error (an SD from 400
    /// values is good to about 1/√800 = 3.5 %: 4 of those are allowed).
    #[test]
    fn issue_59_sphere_fit_standard_errors_are_the_theorys() {
        let mut g = SplitMix64(59);
        let (c, r, sigma, n) = (Point3::new(-100.0, 50.0, -700.0), 24.0, 0.3, 3000);
        let pts = noisy(&mut g, c, r, n, 180.0, sigma);
        let s = fit_sphere(&pts).unwrap();
        let e = sphere_errors(&pts, &s, None).unwrap();
        let (theory_c, theory_r) = (sigma * (3.0 / n as f64).sqrt(), sigma / (n as f64).sqrt());
        for v in e.centre_sd_mm {
            assert!((v / theory_c - 1.0).abs() < 0.1, "centre SE {v} vs {theory_c}");
        }
        assert!((e.radius_sd_mm / theory_r - 1.0).abs() < 0.1, "radius SE {} vs {theory_r}", e.radius_sd_mm);
        // Counting the points as a quarter as many doubles every error.
        let q = sphere_errors(&pts, &s, Some(n as f64 / 4.0)).unwrap();
        assert_relative_eq!(q.radius_sd_mm, 2.0 * e.radius_sd_mm, epsilon = 1e-12);
        assert_relative_eq!(q.centre_sd_mm[2], 2.0 * e.centre_sd_mm[2], epsilon = 1e-12);

        // A 60 deg cap, 400 repetitions.
        let reps = 400;
        let (mut cz, mut cx, mut rr, mut pred) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let pts = noisy(&mut g, c, r, 800, 60.0, sigma);
            let s = fit_sphere(&pts).unwrap();
            let e = sphere_errors(&pts, &s, None).unwrap();
            cx.push(s.centre.x);
            cz.push(s.centre.z);
            rr.push(s.radius_mm);
            pred.push([e.centre_sd_mm[0], e.centre_sd_mm[2], e.radius_sd_mm]);
        }
        let spread = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        let mean_pred = |i: usize| pred.iter().map(|p| p[i]).sum::<f64>() / reps as f64;
        for (name, v, i) in [("centre x", &cx, 0), ("centre z", &cz, 1), ("radius", &rr, 2)] {
            let (observed, predicted) = (spread(v), mean_pred(i));
            assert!((predicted / observed - 1.0).abs() < 4.0 / (2.0 * reps as f64).sqrt(), "{name}: predicted {predicted:.4} mm, observed {observed:.4} mm");
        }
        assert!(sphere_errors(&pts[..4], &s, None).is_none());
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

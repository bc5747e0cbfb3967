//! Sphere fits (algebraic least squares, and RANSAC with a fixed seed so results repeat).

use nalgebra::{Matrix4, Vector4};

/// A sphere, mm, in whatever frame its points were given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sphere {
    /// Centre.
    pub centre: [f64; 3],
    /// Radius.
    pub radius: f64,
    /// Points within the inlier band.
    pub inliers: usize,
    /// RMS distance of the inliers from the sphere.
    pub rms: f64,
}

/// Algebraic least-squares sphere through `pts` (`|p|² = 2 c·p + d`, `r² = d + |c|²`).
pub(crate) fn fit(pts: &[[f64; 3]]) -> Option<([f64; 3], f64)> {
    let mut ata = Matrix4::<f64>::zeros();
    let mut atb = Vector4::<f64>::zeros();
    for p in pts {
        let row = Vector4::new(2.0 * p[0], 2.0 * p[1], 2.0 * p[2], 1.0);
        let b = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
        ata += row * row.transpose();
        atb += row * b;
    }
    let x = ata.lu().solve(&atb)?;
    let c = [x[0], x[1], x[2]];
    let r2 = x[3] + c.iter().map(|v| v * v).sum::<f64>();
    (r2 > 0.0 && r2.is_finite()).then(|| (c, r2.sqrt()))
}

fn dist(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// RANSAC: spheres through 4 random points, kept if `accept(centre, radius)`; the one with most
/// points within `band` of its surface is refitted to those points. `None` with fewer than 8
/// points or no acceptable sphere.
pub(crate) fn ransac(pts: &[[f64; 3]], band: f64, iterations: usize, accept: impl Fn(&[f64; 3], f64) -> bool) -> Option<Sphere> {
    if pts.len() < 8 {
        return None;
    }
    let count = |c: &[f64; 3], r: f64| pts.iter().filter(|p| (dist(p, c) - r).abs() < band).count();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut best: Option<(usize, [f64; 3], f64)> = None;
    for _ in 0..iterations {
        let pick: Vec<[f64; 3]> = (0..4).map(|_| pts[rng.below(pts.len())]).collect();
        let Some((c, r)) = fit(&pick) else { continue };
        if !accept(&c, r) {
            continue;
        }
        let n = count(&c, r);
        if best.is_none_or(|(m, _, _)| n > m) {
            best = Some((n, c, r));
        }
    }
    let (_, c, r) = best?;
    let inl: Vec<[f64; 3]> = pts.iter().copied().filter(|p| (dist(p, &c) - r).abs() < band).collect();
    let (c, r) = fit(&inl).filter(|(c, r)| accept(c, *r)).unwrap_or((c, r));
    let on: Vec<f64> = pts.iter().map(|p| dist(p, &c) - r).filter(|e| e.abs() < band).collect();
    let rms = (on.iter().map(|e| e * e).sum::<f64>() / on.len().max(1) as f64).sqrt();
    Some(Sphere { centre: c, radius: r, inliers: on.len(), rms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ransac_finds_sphere_among_outliers() {
        let c = [10.0, -5.0, 30.0];
        let mut pts = Vec::new();
        for i in 0..200 {
            let t = i as f64 * 0.7;
            let z = (i as f64 / 100.0) - 1.0;
            let rho = (1.0 - z * z).max(0.0).sqrt();
            pts.push([c[0] + 22.0 * rho * t.cos(), c[1] + 22.0 * rho * t.sin(), c[2] + 22.0 * z]);
        }
        for i in 0..80 {
            pts.push([100.0 + i as f64, 2.0 * i as f64 - 40.0, 10.0 + (i % 7) as f64 * 9.0]);
        }
        let s = ransac(&pts, 1.0, 500, |_, r| (10.0..40.0).contains(&r)).unwrap();
        assert!(dist(&s.centre, &c) < 1e-6 && (s.radius - 22.0).abs() < 1e-6, "{s:?}");
        assert_eq!(s.inliers, 200);
    }
}

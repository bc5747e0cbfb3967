//! How uncertain the head and socket sphere fits are (issue 59, item 3): the standard errors of
//! each fit's centre and radius from its residuals ([`super::fit::sphere_errors`]), the fitted
//! points found again on the surface exactly as the fit selected them (the vertices on the fitted
//! sphere's shell that face like its surface: [`super::femur`]'s `on_shell`).
//!
//! **Correlated points.** A surface from a CT is a blurred image's isosurface: its error at one
//! vertex is shared with the vertices around it, over about a voxel (the marching-cubes surface
//! interpolates along voxel edges, and the scanner's blur is of that size). So the fitted patch
//! counts as `n_effective = area / ℓ²` independent points (`ℓ` the correlation length the caller
//! gives: the CT's largest voxel spacing; for surfaces given as meshes, their mean edge length),
//! never more than its vertices. This is a stated model, not a measurement: the coverage of the
//! intervals it leads to is what checks it.

use coxa_core::Mesh;
use coxa_core::landmarks::{AcetabulumLandmarks, FemurLandmarks};
use nalgebra::Point3;

use super::Surface;
use super::femur::on_shell;
use super::fit::{Sphere, sphere_errors};

/// A sphere fit's uncertainty.
#[derive(Debug, Clone, PartialEq)]
pub struct FitUncertainty {
    /// Standard error of the centre per LPS axis, mm.
    pub centre_sd_mm: [f64; 3],
    /// Standard error of the radius, mm.
    pub radius_sd_mm: f64,
    /// Vertices the sphere is fitted to.
    pub n_points: usize,
    /// Independent points they count as.
    pub n_effective: f64,
    /// Area of the fitted patch, mm².
    pub area_mm2: f64,
    /// The fit's RMS residual, mm.
    pub rms_mm: f64,
    /// How it was found, in words.
    pub origin: String,
}

/// The uncertainty of a sphere (`centre`, `radius_mm`) fitted to `mesh`'s convex (a head) or
/// concave (a socket) vertices on its shell, with correlation length `correlation_mm`.
pub fn sphere_fit_uncertainty(mesh: &Mesh, centre: Point3<f64>, radius_mm: f64, convex: bool, correlation_mm: f64) -> Option<FitUncertainty> {
    let s = Surface::new(mesh);
    let sph = Sphere { centre, radius_mm, rms_mm: 0.0 };
    let on: Vec<bool> = s.p.iter().zip(&s.n).map(|(p, n)| on_shell(&sph, p, n, convex)).collect();
    let pts: Vec<Point3<f64>> = s.p.iter().zip(&on).filter(|(_, o)| **o).map(|(p, _)| *p).collect();
    // Each vertex owns a third of its triangles' area.
    let mut area = 0.0;
    for (t, tri) in mesh.triangles().iter().enumerate() {
        let c = mesh.corners(t);
        let a = 0.5 * (c[1] - c[0]).cross(&(c[2] - c[0])).norm();
        area += a / 3.0 * tri.iter().filter(|&&v| on[v as usize]).count() as f64;
    }
    let l = correlation_mm.max(1e-3);
    let n_eff = area / (l * l);
    let e = sphere_errors(&pts, &sph, Some(n_eff))?;
    let rms = (pts.iter().map(|p| ((p - centre).norm() - radius_mm).powi(2)).sum::<f64>() / pts.len() as f64).sqrt();
    let what = if convex { "femoral head" } else { "socket (lunate surface)" };
    Some(FitUncertainty {
        centre_sd_mm: e.centre_sd_mm,
        radius_sd_mm: e.radius_sd_mm,
        n_points: e.n_points,
        n_effective: e.n_effective,
        area_mm2: area,
        rms_mm: rms,
        origin: format!(
            "{what} sphere fit: {} vertices, RMS residual {rms:.2} mm, {area:.0} mm² counted as {:.0} independent points (correlation length {l:.2} mm); covariance s²(JᵀJ)⁻¹ scaled by n/n_eff",
            e.n_points, e.n_effective
        ),
    })
}

/// [`sphere_fit_uncertainty`] of a femur's head sphere.
pub fn head_fit_uncertainty(femur: &Mesh, f: &FemurLandmarks, correlation_mm: f64) -> Option<FitUncertainty> {
    sphere_fit_uncertainty(femur, f.head_centre.lps_mm, f.head_radius_mm, true, correlation_mm)
}

/// [`sphere_fit_uncertainty`] of a hip bone's socket sphere.
pub fn socket_fit_uncertainty(hip: &Mesh, a: &AcetabulumLandmarks, correlation_mm: f64) -> Option<FitUncertainty> {
    sphere_fit_uncertainty(hip, a.centre.lps_mm, a.radius_mm, false, correlation_mm)
}

/// Mean edge length of a mesh, mm (the correlation length of a surface given as a mesh).
pub fn mean_edge_mm(mesh: &Mesh) -> f64 {
    let n = mesh.triangles().len();
    if n == 0 {
        return 1.0;
    }
    (0..n)
        .map(|t| {
            let c = mesh.corners(t);
            ((c[1] - c[0]).norm() + (c[2] - c[1]).norm() + (c[0] - c[2]).norm()) / 3.0
        })
        .sum::<f64>()
        / n as f64
}

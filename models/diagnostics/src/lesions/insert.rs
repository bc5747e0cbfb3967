//! Synthetic bone lesions inserted into a real CT at known places: the ground truth of the lesion
//! tests and of a training-set generator (shared here so that both insert the same lesions).
//!
//! A lesion is a sphere of `diameter_mm` whose tissue has `hu` (plus Gaussian noise of
//! `noise_sd_hu`, the texture of the tumour tissue): each voxel takes the fraction `f` of the
//! lesion that lies in it, `HU' = (1 - f) HU + f (hu + noise)`. The sphere's edge is blurred as a
//! scanner blurs it: `f` is the sphere convolved with a Gaussian point-spread function whose FWHM
//! is the CT's largest voxel spacing (the exact convolution of a ball with an isotropic Gaussian,
//! [`blurred_ball`]), averaged over 3x3x3 points in each voxel (the voxel's own average); the HU
//! added over the volume equal the sphere's volume times its contrast.
//!
//! Written here: it is a few lines of arithmetic; `erfc` is Abramowitz & Stegun 7.1.26 (error
//! below 1.5e-7), std has no `erf`.

use coxa_core::Volume;
use nalgebra::{Point3, Vector3};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::Kind;

/// One lesion to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    /// Centre, LPS mm.
    pub centre_lps_mm: Point3<f64>,
    /// Diameter, mm.
    pub diameter_mm: f64,
    /// The lesion tissue's mean HU.
    pub hu: f64,
    /// Lytic or blastic (what the tests expect back).
    pub kind: Kind,
}

/// Published CT numbers the tests and the generator draw lesions from. Lytic: destroyed bone
/// replaced by tumour of soft-tissue density, "higher than fatty tissue, from -30 HU" (Radiopaedia,
/// Lytic bone metastases, rev. 2024); the generator uses 10..60 HU, soft tissue. Blastic: untreated
/// osteoblastic metastases 654 +- 176 HU mean attenuation (Ulano et al., AJR 2016;207:362-368,
/// doi 10.2214/AJR.15.15559); the generator uses the mean +- 1 SD, 478..830 HU.
pub const LYTIC_HU: (f64, f64) = (10.0, 60.0);
/// See [`LYTIC_HU`].
pub const BLASTIC_HU: (f64, f64) = (478.0, 830.0);

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let e = poly * (-z * z).exp();
    if x >= 0.0 { e } else { 2.0 - e }
}

/// The fraction of a ball of radius `radius` blurred by a Gaussian of `sigma` at distance `r` from
/// its centre: `[erf((R-r)/(s sqrt2)) + erf((R+r)/(s sqrt2))]/2 - s/(r sqrt(2 pi)) [exp(-(r-R)^2/2s^2)
/// - exp(-(r+R)^2/2s^2)]` (the radial integral of the Gaussian over the ball).
pub fn blurred_ball(r: f64, radius: f64, sigma: f64) -> f64 {
    let r = r.max(1e-6);
    let s2 = std::f64::consts::SQRT_2 * sigma;
    let erf = |x: f64| 1.0 - erfc(x);
    let g = |x: f64| (-(x * x) / (2.0 * sigma * sigma)).exp();
    0.5 * (erf((radius - r) / s2) + erf((radius + r) / s2)) - sigma / (r * (2.0 * std::f64::consts::PI).sqrt()) * (g(r - radius) - g(r + radius))
}

/// The scanner's point-spread function (a Gaussian whose FWHM is the largest voxel spacing):
/// its sigma, mm.
pub(super) fn psf_sigma_mm(largest_spacing_mm: f64) -> f64 {
    largest_spacing_mm / 2.354_820_045
}

/// The voxel indices along one axis within `reach_mm` of the continuous index `centre` (voxels
/// of `spacing_mm`, `n` along the axis).
pub(super) fn voxels_within(centre: f64, reach_mm: f64, spacing_mm: f64, n: usize) -> std::ops::Range<usize> {
    let lo = (centre - reach_mm / spacing_mm).floor().max(0.0) as usize;
    let hi = ((centre + reach_mm / spacing_mm).ceil().max(0.0) as usize + 1).min(n);
    lo..hi
}

/// Inserts `lesion` into `ct` (in place), its noise drawn from `seed`.
pub fn insert(ct: &mut Volume, lesion: &Inserted, noise_sd_hu: f64, seed: u64) {
    let grid = ct.grid().clone();
    let spacing = grid.spacing_mm();
    let sigma = psf_sigma_mm(spacing.max());
    let radius = lesion.diameter_mm / 2.0;
    let c = grid.lps_to_voxel(&lesion.centre_lps_mm);
    let reach = radius + 4.0 * sigma + spacing.max();
    let [ni, nj, nk] = grid.size();
    let range = |a: usize, n: usize| voxels_within(c[a], reach, spacing[a], n);
    let (ri, rj, rk) = (range(0, ni), range(1, nj), range(2, nk));
    let mut rng = StdRng::seed_from_u64(seed);
    let hu = ct.hu_mut();
    let sub = [-1.0 / 3.0, 0.0, 1.0 / 3.0];
    for k in rk {
        for j in rj.clone() {
            for i in ri.clone() {
                let mut f = 0.0;
                for a in sub {
                    for b in sub {
                        for d in sub {
                            let p = grid.voxel_to_lps(Vector3::new(i as f64 + a, j as f64 + b, k as f64 + d));
                            let r = (p - lesion.centre_lps_mm).norm();
                            f += blurred_ball(r, radius, sigma);
                        }
                    }
                }
                f /= 27.0;
                if f < 1e-3 {
                    continue;
                }
                // Box-Muller: one normal draw.
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                let noise = noise_sd_hu * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let v = &mut hu[[k, j, i]];
                *v = ((1.0 - f) * f64::from(*v) + f * (lesion.hu + noise)) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use coxa_core::Grid;
    use ndarray::Array3;

    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [(0.0, 1.0), (0.5, 0.479_500_122), (1.0, 0.157_299_207), (-1.0, 1.842_700_793), (2.0, 0.004_677_735)] {
            assert!((erfc(x) - want).abs() < 2e-7, "erfc({x})");
        }
    }

    /// A lesion inserted into a uniform volume: its centre takes the lesion's HU, far voxels keep
    /// theirs, and the HU added equals the sphere's volume times the contrast (partial volume kept).
    #[test]
    fn an_inserted_sphere_keeps_its_volume() {
        let grid = Grid::axis_aligned([40, 40, 40], Vector3::new(1.0, 1.0, 2.0), Vector3::zeros()).unwrap();
        let mut ct = Volume::new(grid.clone(), Array3::from_elem((40, 40, 40), 100.0f32)).unwrap();
        let centre = grid.voxel_to_lps(Vector3::new(20.0, 20.0, 20.0));
        insert(&mut ct, &Inserted { centre_lps_mm: centre, diameter_mm: 12.0, hu: 600.0, kind: Kind::Blastic }, 0.0, 1);
        let hu = ct.hu();
        assert!((hu[[20, 20, 20]] - 600.0).abs() < 1.0, "{}", hu[[20, 20, 20]]);
        assert_eq!(hu[[0, 0, 0]], 100.0);
        let added_mm3: f64 = hu.iter().map(|v| f64::from(*v - 100.0) / 500.0 * 2.0).sum();
        let sphere = 4.0 / 3.0 * std::f64::consts::PI * 6.0f64.powi(3);
        assert!((added_mm3 / sphere - 1.0).abs() < 0.03, "{added_mm3} vs {sphere}");
    }
}

//! The fitted cue (see the parent module's docs, "Fitted cue"): at each local minimum (lytic) or
//! maximum (blastic) of the smoothed HU, a ball blurred by the scanner is fitted to the raw HU
//! around it, `HU = b + (L - b) f`, with `f` the ball's blurred fraction at each voxel (the
//! forward model of [`super::insert`]); a fit whose tissue `L` is lesion tissue (soft tissue well
//! below its background `b`, or sclerotic bone well above it), homogeneous inside the ball and
//! significant, is a lesion.

use ndarray::Array3;

use super::insert::{blurred_ball, psf_sigma_mm, voxels_within};
use super::{Kind, LesionSettings, neighbours26, shifted};

/// The voxels whose blurred fraction is at least this make a ball's inside, whose residuals must
/// be homogeneous. Chosen on trials 100-111 (lytic found at 0.5 / 0.6 / 0.7 / 0.75 / 0.85: 49 /
/// 50 / 50 / 50 / 46 of 54, blastic 52 / 53 / 52 / 52 / 50, false positives per CT 0.25 / 0.25
/// / 0.25 / 0.33 / 1.83): at 0.5 the blurred rim's mix with dense, heterogeneous bone (the hips,
/// the femoral head) raised the residuals of 9-11 mm lesions above the bound.
const INNER_FRACTION: f64 = 0.6;

/// Diameters tried, mm (the lesions sought are 8-20 mm across).
const DIAMETERS_MM: [f64; 7] = [8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0];

/// One fitted lesion.
#[derive(Debug, Clone)]
pub(super) struct Fitted {
    /// The ball's voxels (blurred fraction at least a half), of its bone.
    pub voxels: Vec<[usize; 3]>,
    /// The ball's centre, `(k, j, i)` voxel coordinates.
    pub centre_kji: [f64; 3],
    /// Its contrast (a lytic ball's drop below its background, a blastic one's rise above it)
    /// over its kind's threshold.
    pub relative: f64,
}

/// What one fit gives.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fit {
    /// The ball's diameter, mm.
    pub diameter_mm: f64,
    /// Background HU.
    pub background: f64,
    /// The ball's tissue, HU.
    pub tissue: f64,
    /// RMS of the residuals of the voxels whose fraction is at least [`INNER_FRACTION`], HU.
    pub inner_rms: f64,
    /// The F statistic of the ball against a constant.
    pub f_stat: f64,
}

/// The maps the fit reads.
pub(super) struct Maps<'a> {
    pub hu: &'a Array3<f32>,
    pub fine: &'a Array3<f32>,
    pub interior: &'a Array3<bool>,
    pub core: &'a Array3<bool>,
    pub bones: &'a Array3<u16>,
    /// `(k, j, i)` spacing, mm.
    pub sp: [f64; 3],
}

impl Maps<'_> {
    /// The blur of a voxel's value: the scanner's point-spread function (FWHM the largest spacing)
    /// and the voxel's own box, in quadrature.
    fn sigma(&self) -> f64 {
        let m = self.sp.iter().copied().fold(0.0, f64::max);
        (psf_sigma_mm(m).powi(2) + m * m / 12.0).sqrt()
    }

    /// Fits a ball of diameter `d` centred at `c` (`(k, j, i)`, voxels) over the interior voxels of
    /// bone `label` within its reach.
    fn fit(&self, c: [f64; 3], d: f64, label: u16) -> Option<Fit> {
        let sigma = self.sigma();
        let radius = d / 2.0;
        let reach = radius + 2.0 * sigma + self.sp.iter().copied().fold(0.0, f64::max);
        let shape = self.hu.shape();
        let range = |a: usize| voxels_within(c[a], reach, self.sp[a], shape[a]);
        // Least squares of HU = b + slope f over the window (b the background, slope the ball's
        // contrast), in closed form.
        let (mut n, mut sf, mut sff, mut sv, mut sfv, mut svv) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
        let mut inner: Vec<(f64, f64)> = Vec::new();
        for k in range(0) {
            for j in range(1) {
                for i in range(2) {
                    let idx = [k, j, i];
                    if !self.interior[idx] || self.bones[idx] != label {
                        continue;
                    }
                    let r = ((k as f64 - c[0]) * self.sp[0]).hypot((j as f64 - c[1]) * self.sp[1]).hypot((i as f64 - c[2]) * self.sp[2]);
                    if r > reach {
                        continue;
                    }
                    let f = blurred_ball(r, radius, sigma);
                    let v = f64::from(self.hu[idx]);
                    n += 1.0;
                    sf += f;
                    sff += f * f;
                    sv += v;
                    sfv += f * v;
                    svv += v * v;
                    if f >= INNER_FRACTION {
                        inner.push((f, v));
                    }
                }
            }
        }
        let sxx = sff - sf * sf / n;
        if n < 8.0 || sxx <= 1e-9 || inner.is_empty() {
            return None;
        }
        let sxy = sfv - sf * sv / n;
        let syy = svv - sv * sv / n;
        let slope = sxy / sxx;
        let background = (sv - slope * sf) / n;
        let rss = (syy - slope * sxy).max(0.0);
        let inner_rms = (inner.iter().map(|(f, v)| (v - background - slope * f).powi(2)).sum::<f64>() / inner.len() as f64).sqrt();
        Some(Fit { diameter_mm: d, background, tissue: background + slope, inner_rms, f_stat: slope * sxy / (rss / (n - 2.0)).max(1e-9) })
    }

    /// The best diameter's fit at `c` (the largest F statistic).
    pub(super) fn best(&self, c: [f64; 3], label: u16) -> Option<Fit> {
        DIAMETERS_MM.iter().filter_map(|d| self.fit(c, *d, label)).max_by(|a, b| a.f_stat.total_cmp(&b.f_stat))
    }

    /// Sub-voxel extremum of the smoothed HU at voxel `idx` (a parabola along each axis).
    fn refine(&self, idx: [usize; 3]) -> [f64; 3] {
        let shape = self.fine.shape().to_vec();
        let l = self.bones[idx];
        let mut c = idx.map(|v| v as f64);
        for a in 0..3 {
            let mut o = [0isize; 3];
            o[a] = -1;
            let lo = shifted(idx, o, &shape);
            o[a] = 1;
            let hi = shifted(idx, o, &shape);
            if let (Some(lo), Some(hi)) = (lo, hi)
                && self.interior[lo]
                && self.interior[hi]
                && self.bones[lo] == l
                && self.bones[hi] == l
            {
                let (m, p, v0) = (f64::from(self.fine[lo]), f64::from(self.fine[hi]), f64::from(self.fine[idx]));
                let curv = m - 2.0 * v0 + p;
                if curv.abs() > 1e-6 {
                    c[a] += (0.5 * (m - p) / curv).clamp(-0.5, 0.5);
                }
            }
        }
        c
    }
}

/// The fitted lesions of `kind` (lytic or blastic): candidates are core voxels at a local
/// minimum (lytic) or maximum (blastic) of the smoothed HU among their bone's core neighbours
/// for which `candidate` holds. A lytic fit's tissue is soft tissue
/// ([`LesionSettings::local_min_hu`]..[`LesionSettings::local_max_hu`]) at least
/// [`LesionSettings::fit_min_drop_hu`] below its background; a blastic fit's tissue is at least
/// [`LesionSettings::blastic_min_hu`] and [`LesionSettings::blastic_min_rise_hu`] above its
/// background; both homogeneous inside the ball ([`LesionSettings::fit_max_rms_hu`]) and
/// significant ([`LesionSettings::fit_min_f`]).
pub(super) fn fitted(m: &Maps, kind: Kind, candidate: impl Fn([usize; 3]) -> bool, s: &LesionSettings) -> Vec<Fitted> {
    let shape = m.hu.shape().to_vec();
    let lytic = kind == Kind::Lytic;
    let mut out: Vec<(Fitted, Fit)> = Vec::new();
    for ((k, j, i), core) in m.core.indexed_iter() {
        let idx = [k, j, i];
        if !*core || !candidate(idx) {
            continue;
        }
        let l = m.bones[idx];
        let v = m.fine[idx];
        let beyond = |n: [usize; 3]| if lytic { m.fine[n] < v } else { m.fine[n] > v };
        if neighbours26().filter_map(|o| shifted(idx, o, &shape)).any(|n| m.core[n] && m.bones[n] == l && beyond(n)) {
            continue;
        }
        let c = m.refine(idx);
        let Some(fit) = m.best(c, l) else { continue };
        let (contrast, tissue_ok) = if lytic {
            (fit.background - fit.tissue, fit.tissue >= s.local_min_hu && fit.tissue <= s.local_max_hu && fit.background - fit.tissue >= s.fit_min_drop_hu)
        } else {
            (fit.tissue - fit.background, fit.tissue >= s.blastic_min_hu && fit.tissue - fit.background >= s.blastic_min_rise_hu)
        };
        let ok = tissue_ok && fit.inner_rms <= s.fit_max_rms_hu && fit.f_stat >= s.fit_min_f;
        if !ok {
            continue;
        }
        let voxels = ball_voxels(m, c, fit.diameter_mm / 2.0, l);
        let threshold = if lytic { s.fit_min_drop_hu } else { s.blastic_min_rise_hu };
        out.push((Fitted { voxels, centre_kji: c, relative: contrast / threshold }, fit));
    }
    // Overlapping fits: a fit whose centre lies within the mean of the two radii plus 2 mm of a
    // stronger one (a larger F) is dropped.
    out.sort_by(|a, b| b.1.f_stat.total_cmp(&a.1.f_stat));
    let mut kept: Vec<(Fitted, Fit)> = Vec::new();
    for (f, fit) in out {
        let far = kept.iter().all(|(g, gf)| {
            let d = (0..3).map(|a| ((f.centre_kji[a] - g.centre_kji[a]) * m.sp[a]).powi(2)).sum::<f64>().sqrt();
            d > 0.5 * (fit.diameter_mm + gf.diameter_mm) / 2.0 + 2.0
        });
        if far {
            kept.push((f, fit));
        }
    }
    kept.into_iter().map(|(f, _)| f).collect()
}

/// The voxels of bone `label` within `radius` of `c`.
fn ball_voxels(m: &Maps, c: [f64; 3], radius: f64, label: u16) -> Vec<[usize; 3]> {
    let shape = m.hu.shape();
    let mut out = Vec::new();
    let range = |a: usize| voxels_within(c[a], radius, m.sp[a], shape[a]);
    for k in range(0) {
        for j in range(1) {
            for i in range(2) {
                let r2 = ((k as f64 - c[0]) * m.sp[0]).powi(2) + ((j as f64 - c[1]) * m.sp[1]).powi(2) + ((i as f64 - c[2]) * m.sp[2]).powi(2);
                if r2 <= radius * radius && m.bones[[k, j, i]] == label {
                    out.push([k, j, i]);
                }
            }
        }
    }
    if out.is_empty() {
        out.push(c.map(|v| v.round() as usize));
    }
    out
}

#[cfg(test)]
mod tests {
    use coxa_core::{Grid, Volume};
    use nalgebra::Vector3;
    use ndarray::Array3;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::super::insert::{Inserted, insert};
    use super::*;

    /// A 10 mm ball of 30 HU inserted (blurred, 20 HU noise) into a 250 HU bone with 40 HU noise, on
    /// 3 mm voxels, off the voxel grid: the fit at the true centre gives back its size and its
    /// tissue (within its noise's standard errors), and the lesion search's fitted cue finds it
    /// there; on the clean bone it finds nothing.
    #[test]
    fn a_fitted_ball_gives_back_the_inserted_lesion() {
        let n = 24;
        let grid = Grid::axis_aligned([n, n, n], Vector3::new(3.0, 3.0, 3.0), Vector3::zeros()).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let hu = Array3::from_shape_fn((n, n, n), |_| {
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            (250.0 + 40.0 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        });
        let clean = Volume::new(grid.clone(), hu).unwrap();
        let bones = Array3::from_shape_fn((n, n, n), |(k, j, i)| u16::from([k, j, i].iter().all(|v| (2..n - 2).contains(v))));
        let interior = bones.mapv(|b| b != 0);
        let s = LesionSettings::default();
        let centre_kji = [11.4, 12.3, 11.8];
        let lesion = Inserted { centre_lps_mm: grid.voxel_to_lps(Vector3::new(centre_kji[2], centre_kji[1], centre_kji[0])), diameter_mm: 10.0, hu: 30.0, kind: Kind::Lytic };
        let mut ct = clean.clone();
        insert(&mut ct, &lesion, 20.0, 9);
        for (volume, found) in [(&clean, false), (&ct, true)] {
            let hu = volume.hu().into_owned();
            let fine = super::super::normalised_gaussian(&hu, &interior.mapv(f32::from), [0.7; 3]);
            let maps = Maps { hu: &hu, fine: &fine, interior: &interior, core: &interior, bones: &bones, sp: [3.0; 3] };
            if found {
                let fit = maps.best(centre_kji, 1).unwrap();
                assert!((fit.diameter_mm - 10.0).abs() <= 2.0, "{fit:?}");
                // About 13 inside voxels of 20 HU noise: the tissue's standard error is about 6 HU;
                // a few hundred background voxels of 40 HU noise: about 3 HU.
                assert!((fit.tissue - 30.0).abs() <= 15.0 && (fit.background - 250.0).abs() <= 8.0, "{fit:?}");
                assert!((fit.inner_rms - 20.0).abs() <= 8.0, "the inside's residual is the tumour's own 20 HU noise: {fit:?}");
            }
            let relative = Array3::from_elem(hu.dim(), 1.0f32);
            let lesions = fitted(&maps, Kind::Lytic, |i| relative[i] >= 0.5, &s);
            if found {
                assert_eq!(lesions.len(), 1, "{lesions:?}");
                let off = (0..3).map(|a| ((lesions[0].centre_kji[a] - centre_kji[a]) * 3.0).powi(2)).sum::<f64>().sqrt();
                assert!(off <= 2.0, "centre off by {off} mm");
            } else {
                assert!(lesions.is_empty(), "{lesions:?}");
            }
        }
    }
}

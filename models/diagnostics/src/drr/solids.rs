//! Implants and the calibration marker added to an image analytically, and measurements on it.

use nalgebra::{Point3, Vector3};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::*;

/// A solid the implants and the marker are made of, with its attenuation relative to water.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Solid {
    /// A ball.
    Sphere {
        /// Centre, LPS mm.
        centre: Point3<f64>,
        /// Radius, mm.
        radius_mm: f64,
    },
    /// A hemispherical shell: between two spheres about `centre`, on the side of `-axis`
    /// (the cup's dome; `axis` is the cup's opening direction).
    HemiShell {
        /// Centre, LPS mm.
        centre: Point3<f64>,
        /// Unit opening axis.
        axis: Vector3<f64>,
        /// Outer radius, mm.
        outer_mm: f64,
        /// Inner radius, mm.
        inner_mm: f64,
    },
    /// A cylinder with flat ends from `a` to `b`.
    Rod {
        /// One end, LPS mm.
        a: Point3<f64>,
        /// The other end.
        b: Point3<f64>,
        /// Radius, mm.
        radius_mm: f64,
    },
}

/// Ray-sphere entry and exit parameters (ray `o + t d`, `d` unit).
fn sphere_interval(o: &Point3<f64>, d: &Vector3<f64>, c: &Point3<f64>, r: f64) -> Option<(f64, f64)> {
    let oc = o - c;
    let b = oc.dot(d);
    let disc = b * b - (oc.norm_squared() - r * r);
    (disc > 0.0).then(|| (-b - disc.sqrt(), -b + disc.sqrt()))
}

/// Length of the part of an interval on the half-space `(x - c) . n <= 0`.
fn clip_half(o: &Point3<f64>, d: &Vector3<f64>, c: &Point3<f64>, n: &Vector3<f64>, (t0, t1): (f64, f64)) -> f64 {
    let f0 = (o - c).dot(n);
    let fd = d.dot(n);
    let (mut a, mut b) = (t0, t1);
    if fd.abs() < 1e-12 {
        return if f0 <= 0.0 { t1 - t0 } else { 0.0 };
    }
    let tc = -f0 / fd;
    if fd > 0.0 {
        b = b.min(tc);
    } else {
        a = a.max(tc);
    }
    (b - a).max(0.0)
}

impl Solid {
    /// Chord length of the ray `o + t d` (`d` unit) through the solid, mm.
    pub fn chord_mm(&self, o: &Point3<f64>, d: &Vector3<f64>) -> f64 {
        match self {
            Solid::Sphere { centre, radius_mm } => sphere_interval(o, d, centre, *radius_mm).map_or(0.0, |(a, b)| b - a),
            Solid::HemiShell { centre, axis, outer_mm, inner_mm } => {
                let outer = sphere_interval(o, d, centre, *outer_mm).map_or(0.0, |i| clip_half(o, d, centre, axis, i));
                let inner = sphere_interval(o, d, centre, *inner_mm).map_or(0.0, |i| clip_half(o, d, centre, axis, i));
                (outer - inner).max(0.0)
            }
            Solid::Rod { a, b, radius_mm } => {
                let axis = b - a;
                let len = axis.norm();
                if len < 1e-9 {
                    return 0.0;
                }
                let e = axis / len;
                // Infinite cylinder interval, then the slab 0 <= (x - a) . e <= len.
                let (dp, op) = (d - e * d.dot(&e), (o - a) - e * (o - a).dot(&e));
                let qa = dp.norm_squared();
                let (mut t0, mut t1) = if qa < 1e-12 {
                    if op.norm() > *radius_mm {
                        return 0.0;
                    }
                    (f64::NEG_INFINITY, f64::INFINITY)
                } else {
                    let qb = op.dot(&dp);
                    let disc = qb * qb - qa * (op.norm_squared() - radius_mm * radius_mm);
                    if disc <= 0.0 {
                        return 0.0;
                    }
                    ((-qb - disc.sqrt()) / qa, (-qb + disc.sqrt()) / qa)
                };
                let (f0, fd) = ((o - a).dot(&e), d.dot(&e));
                if fd.abs() < 1e-12 {
                    if !(0.0..=len).contains(&f0) {
                        return 0.0;
                    }
                } else {
                    let (sa, sb) = (-f0 / fd, (len - f0) / fd);
                    t0 = t0.max(sa.min(sb));
                    t1 = t1.min(sa.max(sb));
                }
                (t1 - t0).max(0.0)
            }
        }
    }
}

/// Adds `w_rel x chord` of each solid to the line integrals `img` (`[row, col]` of `g`).
pub fn add_solids(img: &mut Array2<f32>, g: &XrayGeometry, solids: &[(Solid, f64)]) {
    let cols = g.cols;
    if let Some(s) = img.as_slice_mut() {
        s.par_chunks_mut(cols).enumerate().for_each(|(row, line)| {
            for (col, px) in line.iter_mut().enumerate() {
                let p = g.pixel_lps(col as f64, row as f64);
                let Some(d) = (p - g.source_lps_mm).try_normalize(1e-12) else { continue };
                let add: f64 = solids.iter().map(|(s, w)| w * s.chord_mm(&g.source_lps_mm, &d)).sum();
                *px += add as f32;
            }
        });
    }
}

/// The points of a circle (centre, unit normal, radius), `n` of them.
pub fn circle_points(centre: &Point3<f64>, normal: &Vector3<f64>, radius_mm: f64, n: usize) -> Vec<Point3<f64>> {
    let a = if normal.x.abs() < 0.9 { Vector3::x() } else { Vector3::y() };
    let e1 = normal.cross(&a).normalize();
    let e2 = normal.cross(&e1);
    (0..n).map(|k| std::f64::consts::TAU * k as f64 / n as f64).map(|t| centre + (e1 * t.cos() + e2 * t.sin()) * radius_mm).collect()
}

/// The longest chord of a set of 2D points (the major axis of a projected circle): its two ends.
pub fn longest_chord(pts: &[[f64; 2]]) -> Option<([f64; 2], [f64; 2])> {
    let mut best: Option<(f64, [f64; 2], [f64; 2])> = None;
    for (i, a) in pts.iter().enumerate() {
        for b in &pts[i + 1..] {
            let d = (a[0] - b[0]).hypot(a[1] - b[1]);
            if best.is_none_or(|(bd, _, _)| d > bd) {
                best = Some((d, *a, *b));
            }
        }
    }
    best.map(|(_, a, b)| (a, b))
}

/// The angle (deg, 0..90) between the line `a`-`b` and the line `c`-`d`.
pub fn angle_between_lines_deg(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> f64 {
    let (u, v) = ([b[0] - a[0], b[1] - a[1]], [d[0] - c[0], d[1] - c[1]]);
    let cos = (u[0] * v[0] + u[1] * v[1]).abs() / (u[0].hypot(u[1]) * v[0].hypot(v[1]));
    cos.clamp(0.0, 1.0).acos().to_degrees()
}

/// The radius of a ball of known attenuation measured on a DRR: in a window of `half` pixels
/// around `centre_px`, the pixels whose value exceeds the window border's median by more than
/// half the peak excess (a ball's chord is at least half its largest within `sqrt(3)/2` of its
/// radius) give the area `pi (sqrt(3)/2 r)²`. Returns the radius in pixels.
pub fn measure_ball_radius_px(img: &Array2<f32>, centre_px: [f64; 2], half: usize) -> Option<f64> {
    let (rows, cols) = img.dim();
    let (c0, r0) = (centre_px[0].round() as i64, centre_px[1].round() as i64);
    let h = half as i64;
    if c0 - h < 0 || r0 - h < 0 || c0 + h >= cols as i64 || r0 + h >= rows as i64 {
        return None;
    }
    let mut border = Vec::new();
    let mut peak = f32::NEG_INFINITY;
    for r in r0 - h..=r0 + h {
        for c in c0 - h..=c0 + h {
            let v = img[[r as usize, c as usize]];
            if r == r0 - h || r == r0 + h || c == c0 - h || c == c0 + h {
                border.push(v);
            }
            peak = peak.max(v);
        }
    }
    border.sort_by(f32::total_cmp);
    let base = border[border.len() / 2];
    let thr = base + 0.5 * (peak - base);
    let n = (r0 - h..=r0 + h).flat_map(|r| (c0 - h..=c0 + h).map(move |c| (r, c))).filter(|&(r, c)| img[[r as usize, c as usize]] > thr).count();
    Some((n as f64 / std::f64::consts::PI).sqrt() / (3f64.sqrt() / 2.0))
}

/// 8-bit display of line integrals: the water-equivalent path (the log of the transmitted
/// intensity, as film density shows it) windowed between the 2nd and 98th percentile of the
/// pixels the patient covers (metal saturates white), bone bright.
pub fn to_display(img: &Array2<f32>) -> Array2<u8> {
    let mut vals: Vec<f32> = img.iter().copied().filter(|&v| v > 1.0).collect();
    vals.sort_by(f32::total_cmp);
    let (lo, hi) = if vals.is_empty() { (0.0, 1.0) } else { (vals[vals.len() * 2 / 100], vals[(vals.len() * 98 / 100).min(vals.len() - 1)]) };
    let span = (hi - lo).max(1e-6);
    img.mapv(|v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8)
}

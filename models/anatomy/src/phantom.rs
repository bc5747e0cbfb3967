//! A deterministic phantom CT of a hip, with its exact geometry: femurs (spherical heads,
//! cylindrical necks and shafts, greater trochanters; cortical shell over cancellous bone),
//! hip bones (acetabular cups at known angles, iliac plates with ASIS knobs, pubic rami with
//! tubercle knobs), a sacrum, gluteus medius and iliopsoas muscles, subcutaneous fat, air, and
//! seeded noise. The label map uses coxa's (TotalSegmentator's) ids.

use nalgebra::{Point3, Vector3};
use ndarray::Array3;

use coxa_core::{Angle, ClassTable, CupAngleDefinition, CupAngles, Grid, LabelMap, Side, Volume};

use crate::labels::coxa_classes;

/// HU of the phantom's tissues.
pub mod hu {
    /// Air.
    pub const AIR: f32 = -1000.0;
    /// Subcutaneous fat.
    pub const FAT: f32 = -100.0;
    /// Muscle and other soft tissue.
    pub const MUSCLE: f32 = 50.0;
    /// Cortical bone.
    pub const CORTICAL: f32 = 1200.0;
    /// Cancellous bone.
    pub const CANCELLOUS: f32 = 250.0;
}

/// The phantom's design. Defaults give an adult-sized, symmetric hip.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PhantomSpec {
    /// Voxel size, mm (isotropic). Default 1.5.
    pub voxel_mm: f64,
    /// Femoral head radius, mm. Default 24.
    pub head_radius_mm: f64,
    /// Joint space between head and socket, mm. Default 3.
    pub joint_space_mm: f64,
    /// Hip centres at ±this x from the midline, mm. Default 90.
    pub half_hip_distance_mm: f64,
    /// Radiographic cup (acetabular opening) inclination and anteversion, deg. Default 45, 20.
    pub acetabulum_deg: (f64, f64),
    /// Neck-shaft angle, deg. Default 130.
    pub neck_shaft_deg: f64,
    /// Femoral neck anteversion, deg. Default 15.
    pub neck_anteversion_deg: f64,
    /// Standard deviation of the added noise, HU. Default 15.
    pub noise_hu: f64,
    /// Noise seed. Default 1.
    pub seed: u64,
}

impl Default for PhantomSpec {
    fn default() -> Self {
        Self {
            voxel_mm: 1.5,
            head_radius_mm: 24.0,
            joint_space_mm: 3.0,
            half_hip_distance_mm: 90.0,
            acetabulum_deg: (45.0, 20.0),
            neck_shaft_deg: 130.0,
            neck_anteversion_deg: 15.0,
            noise_hu: 15.0,
            seed: 1,
        }
    }
}

/// What the phantom is, exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomTruth {
    /// Femoral head centres (= acetabular centres), LPS mm, `[left, right]`.
    pub head_centres_lps_mm: [Point3<f64>; 2],
    /// Head radius, mm.
    pub head_radius_mm: f64,
    /// Acetabular opening axes (unit, LPS = pelvic frame here), `[left, right]`.
    pub acetabular_axes_lps: [Vector3<f64>; 2],
    /// ASIS, `[left, right]`, LPS mm.
    pub asis_lps_mm: [Point3<f64>; 2],
    /// Pubic tubercles, `[left, right]`, LPS mm.
    pub pubic_tubercles_lps_mm: [Point3<f64>; 2],
    /// Unit neck axes (head towards trochanter), `[left, right]`.
    pub neck_axes_lps: [Vector3<f64>; 2],
}

/// A phantom CT, its label map and its truth.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// HU.
    pub ct: Volume,
    /// Labels (coxa's ids).
    pub labels: LabelMap,
    /// Exact geometry.
    pub truth: PhantomTruth,
}

/// Radius of the femoral neck and shaft cylinders, mm.
pub const SHAFT_RADIUS_MM: f64 = 15.0;
/// Thickness of the cortical shell over the cancellous (canal) bone, mm.
pub const CORTEX_MM: f64 = 3.0;

/// Signed distance-like value of the femur (negative inside): the minimum of the head sphere's,
/// the neck's and shaft's cylinders' (radius [`SHAFT_RADIUS_MM`]) and the greater trochanter
/// ball's signed distances. Bone is `<= 0`, cortex `> -CORTEX_MM`, the canal (cancellous bone)
/// `<= -CORTEX_MM`.
fn femur_distance_mm(p: &Point3<f64>, c: &Point3<f64>, neck: &Vector3<f64>, head_radius_mm: f64) -> f64 {
    let neck_end = c + neck * 55.0;
    let shaft_bottom = Point3::new(neck_end.x, neck_end.y, -260.0);
    let gt = Point3::new(neck_end.x + (neck_end.x - c.x).signum() * 6.0, neck_end.y, c.z - 2.0);
    let d_head = (p - c).norm() - head_radius_mm;
    let d_neck = seg_dist(p, c, &neck_end) - SHAFT_RADIUS_MM;
    let d_shaft = seg_dist(p, &neck_end, &shaft_bottom) - SHAFT_RADIUS_MM;
    let d_gt = (p - gt).norm() - 14.0;
    d_head.min(d_neck).min(d_shaft).min(d_gt)
}

impl PhantomTruth {
    /// The exact canal (cancellous bone inside the cortex) along the line through `centre` in
    /// the unit direction `dir` on the femur of `side`: the distances from `centre` to the
    /// endosteal surface towards `dir` and `-dir` (their sum is the canal's width on that line),
    /// to 1e-6 mm; `None` when `centre` is not in the canal. Below the neck (the shaft's
    /// straight part, z < -55 mm) every line through the shaft axis normal to it gives
    /// [`PhantomTruth::shaft_canal_diameter_mm`].
    pub fn canal_chord_mm(&self, side: Side, centre: &Point3<f64>, dir: &Vector3<f64>) -> Option<(f64, f64)> {
        let n = usize::from(side == Side::Right);
        let (c, neck, r) = (self.head_centres_lps_mm[n], self.neck_axes_lps[n], self.head_radius_mm);
        let inside = |t: f64, d: &Vector3<f64>| femur_distance_mm(&(centre + d * t), &c, &neck, r) <= -CORTEX_MM;
        if !inside(0.0, dir) {
            return None;
        }
        let edge = |d: Vector3<f64>| {
            // March 0.05 mm to the first point outside, then bisect.
            let mut t = 0.0;
            while inside(t + 0.05, &d) && t < 400.0 {
                t += 0.05;
            }
            let (mut lo, mut hi) = (t, t + 0.05);
            while hi - lo > 1e-7 {
                let m = 0.5 * (lo + hi);
                if inside(m, &d) { lo = m } else { hi = m }
            }
            lo
        };
        Some((edge(*dir), edge(-dir)))
    }
    /// The canal's diameter in the straight shaft: 2 x (shaft radius - cortex), mm.
    pub fn shaft_canal_diameter_mm(&self) -> f64 {
        2.0 * (SHAFT_RADIUS_MM - CORTEX_MM)
    }
}

/// Distance from `p` to the segment `a`-`b`.
fn seg_dist(p: &Point3<f64>, a: &Point3<f64>, b: &Point3<f64>) -> f64 {
    let ab = b - a;
    let t = ((p - a).dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0);
    (p - (a + ab * t)).norm()
}

/// Builds the phantom. Deterministic: the same spec gives the same voxels.
pub fn hip_phantom(spec: &PhantomSpec) -> Phantom {
    let v = spec.voxel_mm;
    let (ni, nj, nk) = ((300.0 / v) as usize, (200.0 / v) as usize, (330.0 / v) as usize);
    // LPS: x left, y posterior, z superior; origin so that the hip centres sit at z = 0, y = 0.
    let grid = Grid::axis_aligned([ni, nj, nk], Vector3::repeat(v), Vector3::new(-150.0, -100.0, -200.0)).expect("valid phantom grid");
    let r = spec.head_radius_mm;
    let mut truth_parts = Vec::new();
    for side in [Side::Left, Side::Right] {
        let s = side.lateral_sign();
        let c = Point3::new(s * spec.half_hip_distance_mm, 0.0, 0.0);
        let cup = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(spec.acetabulum_deg.0), anteversion: Angle::from_deg(spec.acetabulum_deg.1) };
        let axis = cup.axis(side);
        // Neck: from the head centre, lateral and down at the neck-shaft angle, turned posterior
        // by the anteversion (the head then points anterior).
        let (nsa, av) = (spec.neck_shaft_deg.to_radians(), spec.neck_anteversion_deg.to_radians());
        let horizontal = Vector3::new(s * av.cos(), av.sin(), 0.0);
        let neck = (horizontal * nsa.sin() + Vector3::z() * nsa.cos()).normalize(); // cos < 0: downward
        let asis = Point3::new(s * 115.0, -55.0, 75.0);
        let tubercle = Point3::new(s * 18.0, -60.0, -35.0);
        truth_parts.push((c, axis, neck, asis, tubercle));
    }
    let truth = PhantomTruth {
        head_centres_lps_mm: [truth_parts[0].0, truth_parts[1].0],
        head_radius_mm: r,
        acetabular_axes_lps: [truth_parts[0].1, truth_parts[1].1],
        asis_lps_mm: [truth_parts[0].3, truth_parts[1].3],
        pubic_tubercles_lps_mm: [truth_parts[0].4, truth_parts[1].4],
        neck_axes_lps: [truth_parts[0].2, truth_parts[1].2],
    };

    // Per-voxel classification: (label, hu) — bones first, then muscles, then the body.
    let classify = |p: Point3<f64>| -> (u16, f32) {
        for (n, &(c, axis, neck, asis, tubercle)) in truth_parts.iter().enumerate() {
            let (femur_id, hip_id) = if n == 0 { (75u16, 77u16) } else { (76, 78) };
            let d_femur = femur_distance_mm(&p, &c, &neck, r);
            if d_femur <= 0.0 {
                return (femur_id, if d_femur > -CORTEX_MM { hu::CORTICAL } else { hu::CANCELLOUS });
            }
            // Hip bone: a cup shell (inner radius r + joint space, 12 mm thick) cut by the rim
            // plane through the centre, an iliac plate up to the ASIS knob, a pubic ramus to
            // the tubercle knob.
            let inner = r + spec.joint_space_mm;
            let d_c = (p - c).norm();
            let behind_rim = (p - c).dot(&axis) < 0.0;
            let d_cup = if behind_rim { (d_c - (inner + 6.0)).abs() - 6.0 } else { f64::INFINITY };
            let iliac_base = c + Vector3::new((asis.x - c.x) * 0.3, 25.0, 40.0);
            let d_ilium = seg_dist(&p, &iliac_base, &asis) - 9.0;
            let d_asis = (p - asis).norm() - 8.0;
            let ramus_start = c + Vector3::new(0.0, -15.0, -30.0) + Vector3::new((tubercle.x - c.x) * 0.3, 0.0, 0.0);
            let d_ramus = seg_dist(&p, &ramus_start, &tubercle) - 8.0;
            let d_tub = (p - tubercle).norm() - 7.0;
            let d_hip = d_cup.min(d_ilium).min(d_asis).min(d_ramus).min(d_tub);
            if d_hip <= 0.0 && d_c > inner {
                return (hip_id, if d_hip > -3.0 { hu::CORTICAL } else { hu::CANCELLOUS });
            }
        }
        // Sacrum: a box between the iliac plates, posterior.
        if p.x.abs() < 40.0 && (10.0..70.0).contains(&p.y) && (30.0..110.0).contains(&p.z) {
            let inner = p.x.abs() < 37.0 && (13.0..67.0).contains(&p.y) && (33.0..107.0).contains(&p.z);
            return (25, if inner { hu::CANCELLOUS } else { hu::CORTICAL });
        }
        // Muscles: gluteus medius lateral of each ilium, iliopsoas anterior-medial.
        for (n, s) in [(0usize, 1.0f64), (1, -1.0)] {
            let gm = Point3::new(s * 125.0, 20.0, 60.0);
            let q = p - gm;
            if (q.x / 18.0).powi(2) + (q.y / 40.0).powi(2) + (q.z / 45.0).powi(2) <= 1.0 {
                return (if n == 0 { 82 } else { 83 }, hu::MUSCLE);
            }
            if seg_dist(&p, &Point3::new(s * 55.0, -20.0, 100.0), &Point3::new(s * 70.0, -45.0, -30.0)) < 16.0 {
                return (if n == 0 { 88 } else { 89 }, hu::MUSCLE + 5.0);
            }
        }
        // Body: an elliptic cylinder of soft tissue with a 12 mm fat layer.
        let e = (p.x / 145.0).powi(2) + (p.y / 95.0).powi(2);
        if e <= 1.0 {
            let inner = (p.x / 133.0).powi(2) + (p.y / 83.0).powi(2) <= 1.0;
            return (0, if inner { hu::MUSCLE } else { hu::FAT });
        }
        (0, hu::AIR)
    };

    let mut labels = Array3::<u16>::zeros((nk, nj, ni));
    let mut ct = Array3::<f32>::zeros((nk, nj, ni));
    let mut gauss = gauss_stream(spec.seed);
    for ((k, j, i), l) in labels.indexed_iter_mut() {
        let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
        let (label, h) = classify(p);
        *l = label;
        ct[[k, j, i]] = h + (spec.noise_hu * gauss()) as f32;
    }
    let classes: ClassTable = coxa_classes().iter().filter(|(id, _)| labels.iter().any(|l| l == id)).map(|(id, n)| (id, n.to_string())).collect();
    Phantom { ct: Volume::new(grid.clone(), ct).expect("shape follows grid"), labels: LabelMap::new(grid, labels, classes).expect("shape follows grid"), truth }
}

/// The phantoms' noise: standard normal deviates from `seed` (xorshift64* and Box-Muller).
pub(crate) fn gauss_stream(seed: u64) -> impl FnMut() -> f64 {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        let mut next = || {
            rng ^= rng >> 12;
            rng ^= rng << 25;
            rng ^= rng >> 27;
            ((rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (next(), next());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phantom_is_deterministic_and_labelled() {
        let spec = PhantomSpec { voxel_mm: 3.0, ..PhantomSpec::default() };
        let a = hip_phantom(&spec);
        let b = hip_phantom(&spec);
        assert_eq!(a.ct, b.ct);
        let counts = a.labels.counts();
        for id in [25u16, 75, 76, 77, 78, 82, 83, 88, 89] {
            assert!(counts.get(&id).copied().unwrap_or(0) > 50, "label {id}: {counts:?}");
        }
        // The head is a ball of radius 24 mm: its voxel volume is within a few % of 4/3 pi r^3.
        let c = a.truth.head_centres_lps_mm[0];
        let g = a.labels.grid();
        let n_in_head = a.labels.labels().indexed_iter().filter(|((k, j, i), l)| **l == 75 && (g.voxel_to_lps(Vector3::new(*i as f64, *j as f64, *k as f64)) - c).norm() < 24.0).count();
        let vol = n_in_head as f64 * 27.0;
        let want = 4.0 / 3.0 * std::f64::consts::PI * 24f64.powi(3);
        assert!((vol / want - 1.0).abs() < 0.06, "{vol} vs {want}");
    }
}

//! The hip joint space found along rays from the femoral head (issue 59): where the space is
//! narrow (arthritic, under about 3 mm) the scanner's blur lifts it above the bone threshold, so
//! femur and acetabulum touch in the bone mask and a split by the label interface can give the
//! femur the acetabular wall. The blur cannot remove the *dip* between the two subchondral plates:
//! along a ray from inside the head outward the HU rises to the head's plate, falls into the
//! joint space and rises again to the acetabulum's plate. The lowest point of that dip is the
//! middle of the joint space, whatever its HU.
//!
//! [`gap_points`] casts rays from a point inside the head over the acetabular side (not towards
//! the neck) and keeps, per ray, the dip between two plates (each at least [`PLATE_HU`], the dip
//! at least [`DIP_HU`] below the lower of them, the plates at most [`MAX_SPAN_MM`] apart), with
//! the half width of the space on the head's side (from the dip back to where the HU is midway
//! between the head's plate and the dip). A sphere fitted to the dips (RANSAC, `sphere.rs`) is the
//! joint's middle surface; less the median half width, the head's surface.
//!
//! [`check`] keeps a sphere only where it is needed and consistent: its space must read as bone
//! on at least [`MIN_BRIDGED_RAYS`] rays (else femur and acetabulum are apart in the bone mask
//! and a sphere split would only cut the aspherical parts of a real head and socket), at least
//! half the dips found must lie on it, and the head's deepest point (found before the rays)
//! must lie inside it. A refused sphere leaves the split to the label interface's sphere.

use super::lattice::Lattice;
use super::sphere::{self, Sphere};

/// Lowest peak HU of a subchondral plate along a ray: well above trabecular bone (100-400 HU,
/// Schreiber et al., J Bone Joint Surg Am 93:1057, 2011) and below a 1 mm plate of cortical bone
/// (about 1,000-1,900 HU, Buzug, *Computed Tomography*, 2008) blurred by a bone kernel of about
/// 1 mm FWHM (its peak keeps at least half its HU).
pub(crate) const PLATE_HU: f32 = 550.0;
/// Least depth of the dip below the lower of its two plates, HU: several times the noise SD of a
/// CT (10-40 HU) after the averaging along the ray.
pub(crate) const DIP_HU: f32 = 100.0;
/// Largest distance between the two plates' peaks along a ray, mm: a normal joint space is 3-5 mm
/// wide (Lequesne et al., Ann Rheum Dis 63:1145, 2004) and the plates' peaks lie about a plate's
/// thickness apart beyond it; farther, the second bone is not the acetabulum facing the head.
pub(crate) const MAX_SPAN_MM: f64 = 9.0;
/// Step along a ray, mm.
const STEP_MM: f64 = 0.2;

/// The joint space on one ray.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GapPoint {
    /// The middle of the space (the dip), LPS mm.
    pub lps_mm: [f64; 3],
    /// From the dip back to the head's edge (midway between its plate and the dip), mm.
    pub half_width_mm: f64,
    /// The ray's direction (unit).
    pub dir: [f64; 3],
    /// HU at the dip (smoothed profile): at or above the bone threshold, the space reads as
    /// bone and femur and acetabulum touch in the bone mask along this ray.
    pub dip_hu: f32,
}

/// `n` directions spread evenly over the unit sphere (a Fibonacci lattice).
pub(crate) fn directions(n: usize) -> Vec<[f64; 3]> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|m| {
            let z = 1.0 - 2.0 * (m as f64 + 0.5) / n as f64;
            let rho = (1.0 - z * z).max(0.0).sqrt();
            let t = golden * m as f64;
            [rho * t.cos(), rho * t.sin(), z]
        })
        .collect()
}

/// HU at LPS point `p` by trilinear interpolation of `hu` (voxel values of `lat`), `None`
/// outside the lattice.
pub(crate) fn sample(lat: &Lattice, hu: &impl Fn(usize) -> f32, p: [f64; 3]) -> Option<f32> {
    let x = lat.index_of(p);
    let mut base = [0usize; 3];
    let mut frac = [0.0f64; 3];
    for a in 0..3 {
        if !(x[a] >= 0.0 && x[a] <= (lat.dims[a] - 1) as f64) {
            return None;
        }
        let b = (x[a].floor() as usize).min(lat.dims[a].saturating_sub(2));
        base[a] = b;
        frac[a] = x[a] - b as f64;
    }
    let mut acc = 0.0f64;
    for corner in 0..8usize {
        let mut w = 1.0;
        let mut ijk = [0usize; 3];
        for a in 0..3 {
            let up = (corner >> a) & 1 == 1;
            w *= if up { frac[a] } else { 1.0 - frac[a] };
            ijk[a] = (base[a] + usize::from(up)).min(lat.dims[a] - 1);
        }
        if w > 0.0 {
            acc += w * f64::from(hu(lat.idx(ijk[0], ijk[1], ijk[2])));
        }
    }
    Some(acc as f32)
}

/// The dip between two plates in profile `f` (samples [`STEP_MM`] apart, smoothed), as (index
/// of the dip, half width on the first plate's side in samples, HU at the dip), or `None`.
pub(crate) fn profile_dip(f: &[f32]) -> Option<(f64, f64, f32)> {
    let n = f.len();
    let span = (MAX_SPAN_MM / STEP_MM).round() as usize;
    // The first plate: the first sample at PLATE_HU, then up to its peak.
    let mut i1 = f.iter().position(|&v| v >= PLATE_HU)?;
    while i1 + 1 < n && f[i1 + 1] >= f[i1] {
        i1 += 1;
    }
    let p1 = f[i1];
    let (mut m, mut im) = (p1, i1);
    for j in i1 + 1..n.min(i1 + span + 1) {
        if f[j] < m {
            (m, im) = (f[j], j);
        }
        // The second plate: risen again to PLATE_HU and DIP_HU above the dip; its peak.
        if f[j] >= PLATE_HU && f[j] - m >= DIP_HU && p1 - m >= DIP_HU {
            let mut i2 = j;
            while i2 + 1 < n && i2 < i1 + span && f[i2 + 1] >= f[i2] {
                i2 += 1;
            }
            // The dip's own low point, refined by a parabola through its neighbours.
            let (a, b, c) = (f64::from(f[im - 1]), f64::from(f[im]), f64::from(f[im + 1]));
            let den = a - 2.0 * b + c;
            let sub = if den > 0.0 { (0.5 * (a - c) / den).clamp(-0.5, 0.5) } else { 0.0 };
            // Back from the dip to where the head's plate is halfway down to it.
            let half = 0.5 * (p1 + m);
            let mut e = im as f64 + sub;
            for k in (i1..im).rev() {
                if f[k] >= half {
                    let t = f64::from((f[k] - half) / (f[k] - f[k + 1]).max(1e-3));
                    e = k as f64 + t;
                    break;
                }
            }
            return Some((im as f64 + sub, (im as f64 + sub - e).max(0.0), m));
        }
    }
    None
}

/// Joint-space points on rays from `centre` (LPS mm, inside the head), starting `r_start_mm` out
/// and going to `r_end_mm`, over the directions facing the acetabulum: lateral component (on
/// `lateral`) at most 0.3, or superior component (on `superior`) at least 0.6, as
/// [`super::post::apply_head`] relabels.
pub(crate) fn gap_points(lat: &Lattice, hu: &impl Fn(usize) -> f32, centre: [f64; 3], r_start_mm: f64, r_end_mm: f64, lateral: [f64; 3], superior: [f64; 3]) -> Vec<GapPoint> {
    let dot = |a: &[f64; 3], b: &[f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let steps = ((r_end_mm - r_start_mm) / STEP_MM).max(0.0) as usize + 1;
    let mut out = Vec::new();
    for u in directions(1200) {
        if dot(&u, &lateral) > 0.3 && dot(&u, &superior) < 0.6 {
            continue;
        }
        let at = |r: f64| [centre[0] + r * u[0], centre[1] + r * u[1], centre[2] + r * u[2]];
        // Up to where the ray leaves the lattice.
        let raw: Vec<f32> = (0..steps).map_while(|s| sample(lat, hu, at(r_start_mm + s as f64 * STEP_MM))).collect();
        if raw.len() < 3 {
            continue;
        }
        // A three-sample mean (0.6 mm) against the noise.
        let f: Vec<f32> = (0..raw.len()).map(|s| (raw[s.saturating_sub(1)] + raw[s] + raw[(s + 1).min(raw.len() - 1)]) / 3.0).collect();
        if let Some((d, w, dip_hu)) = profile_dip(&f) {
            out.push(GapPoint { lps_mm: at(r_start_mm + d * STEP_MM), half_width_mm: w * STEP_MM, dir: u, dip_hu });
        }
    }
    out
}

/// Fewest rays whose dips lie on the joint sphere for it to be taken (of the about 700 rays cast
/// over the acetabular side; a socket covers about half of them).
pub(crate) const MIN_GAP_RAYS: usize = 60;

/// The joint sphere of one head: a sphere (RANSAC) through the joint-space points on rays from
/// `centre` (LPS mm, the head's deepest point, `depth_mm` deep), its radius in `radius_mm`
/// widened by the joint space, its centre within `max_shift_mm` of `centre`; with the median
/// half width of the space at its inliers, mm, and the inliers. `None` with fewer than
/// [`MIN_GAP_RAYS`] inliers.
#[expect(clippy::too_many_arguments, reason = "one call site with the pipeline's state")]
pub(crate) fn joint_sphere(
    lat: &Lattice,
    hu: &impl Fn(usize) -> f32,
    centre: [f64; 3],
    depth_mm: f64,
    lateral: [f64; 3],
    superior: [f64; 3],
    radius_mm: (f64, f64),
    max_shift_mm: f64,
) -> Option<Joint> {
    let r_end = radius_mm.1 + max_shift_mm + MAX_SPAN_MM;
    let pts = gap_points(lat, hu, centre, (0.5 * depth_mm).max(3.0), r_end, lateral, superior);
    let xyz: Vec<[f64; 3]> = pts.iter().map(|g| g.lps_mm).collect();
    let smax = lat.spacing_mm.iter().copied().fold(0.0, f64::max);
    let band = (0.5 * smax).max(0.75);
    let dist = |a: &[f64; 3], b: &[f64; 3]| (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt();
    let accept = |c: &[f64; 3], r: f64| r >= radius_mm.0 && r <= radius_mm.1 + 0.5 * MAX_SPAN_MM && dist(c, &centre) <= max_shift_mm;
    let s = sphere::ransac(&xyz, band, 2000, accept)?;
    if s.inliers < MIN_GAP_RAYS {
        return None;
    }
    let on: Vec<GapPoint> = pts.into_iter().filter(|g| (dist(&g.lps_mm, &s.centre) - s.radius).abs() < band).collect();
    let mut half: Vec<f64> = on.iter().map(|g| g.half_width_mm).collect();
    half.sort_by(f64::total_cmp);
    // At most the half of the widest normal space (Lequesne et al. 2004: 3-5 mm).
    let half_mm = half.get(half.len() / 2).copied().unwrap_or(0.0).min(2.5);
    Some(Joint { sphere: s, half_mm, dips: xyz.len(), on })
}

/// A joint sphere ([`joint_sphere`]).
#[derive(Debug, Clone)]
pub(crate) struct Joint {
    /// The space's middle.
    pub sphere: Sphere,
    /// The space's median half width, mm.
    pub half_mm: f64,
    /// The rays' dips on the sphere.
    pub on: Vec<GapPoint>,
    /// Rays on which a dip was found (on the sphere or not).
    pub dips: usize,
}

/// Fewest rays on a joint sphere along which the space reads as bone (its dip at or above the
/// bone threshold) for the sphere to split head from socket: a tenth of [`MIN_GAP_RAYS`]. Where
/// the space reads below the threshold everywhere (a joint 3 mm wide or more on a sharp CT, as
/// on coxa's voxelised phantoms) femur and acetabulum are apart in the bone mask already, and a
/// sphere split would only relabel the parts of a real, aspherical head and socket that leave
/// the sphere (issue 59: on `coxa demo`'s LLP26 phantom it moved the left acetabulum's
/// inclination by 21.7 deg).
pub(crate) const MIN_BRIDGED_RAYS: usize = MIN_GAP_RAYS / 10;

/// Why a joint sphere is not used (the split of coxa before issue 59 runs instead).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refused {
    /// The space reads below the bone threshold on all but `bridged` of the sphere's rays: the
    /// bone mask separates head and socket, nothing is to be split.
    Open { bridged: usize },
    /// Fewer than half the rays that found a dip (`dips`) have it on the sphere (`inliers`):
    /// the dips are not one joint surface.
    Scattered { inliers: usize, dips: usize },
    /// The head's deepest bone point (found before the rays: the old method's head) lies
    /// `off_mm` from the sphere's centre, outside the head's surface of radius `head_mm`: the
    /// sphere is not around this head.
    NotTheHead { off_mm: f64, head_mm: f64 },
}

/// Checks joint sphere `j` against the bone mask's threshold `bone_hu` and the head found
/// before it (its deepest bone point `deepest`, LPS mm). A consistent sphere: at least
/// [`MIN_BRIDGED_RAYS`] of its rays cross a space that reads as bone; at least half the dips
/// found lie on it; the deepest point lies inside the head's surface (`radius - half width`).
pub(crate) fn check(j: &Joint, bone_hu: f32, deepest: [f64; 3]) -> Result<(), Refused> {
    let bridged = j.on.iter().filter(|g| g.dip_hu >= bone_hu).count();
    if bridged < MIN_BRIDGED_RAYS {
        return Err(Refused::Open { bridged });
    }
    if 2 * j.sphere.inliers < j.dips {
        return Err(Refused::Scattered { inliers: j.sphere.inliers, dips: j.dips });
    }
    let head_mm = j.sphere.radius - j.half_mm;
    let off_mm = (0..3).map(|a| (deepest[a] - j.sphere.centre[a]).powi(2)).sum::<f64>().sqrt();
    if off_mm >= head_mm {
        return Err(Refused::NotTheHead { off_mm, head_mm });
    }
    Ok(())
}

/// How far beyond the joint space's middle bone seeds the hip bone, mm: the acetabulum's
/// subchondral plate (1-2 mm) and some bone behind it.
pub(crate) const HIP_SEED_MM: f64 = 4.0;
/// How far out from a joint sphere the head's core is cleared, mm.
const CORE_CLEAR_MM: f64 = 15.0;

/// Seeds for the watershed from a joint `j`: bone inside the head's surface (the sphere less
/// the half width and half a voxel) seeds `classes.0` (the femur, in `core`); along each ray
/// whose dip lies on the sphere, bone from half a voxel to [`HIP_SEED_MM`] beyond the dip seeds
/// `classes.1` (the hip bone, in `seeds`) and the head's core is cleared up to
/// [`CORE_CLEAR_MM`] beyond it (a core grown across a space that reads as bone reaches into the
/// socket). Only along those rays: elsewhere beyond the sphere may lie the femoral neck.
pub(crate) fn seed_across(lat: &Lattice, bone: &[bool], seeds: &mut [u8], core: &mut [u8], j: &Joint, classes: (u8, u8)) {
    let smax = lat.spacing_mm.iter().copied().fold(0.0, f64::max);
    let s = &j.sphere;
    let r_in = s.radius - j.half_mm - 0.5 * smax;
    let c = lat.index_of(s.centre);
    let mut lo = [0usize; 3];
    let mut hi = [0usize; 3];
    for a in 0..3 {
        let m = r_in.max(0.0) / lat.spacing_mm[a];
        lo[a] = (c[a] - m).floor().max(0.0) as usize;
        hi[a] = ((c[a] + m).ceil().max(0.0) as usize + 1).min(lat.dims[a]);
    }
    for k in lo[2]..hi[2] {
        for jj in lo[1]..hi[1] {
            for i in lo[0]..hi[0] {
                let v = lat.idx(i, jj, k);
                let p = lat.lps(v);
                let r = (0..3).map(|a| (p[a] - s.centre[a]).powi(2)).sum::<f64>().sqrt();
                if r < r_in && bone[v] {
                    core[v] = classes.0;
                }
            }
        }
    }
    let smin = lat.spacing_mm.iter().copied().fold(f64::INFINITY, f64::min);
    for g in &j.on {
        let mut t = 0.5 * smax;
        while t <= CORE_CLEAR_MM {
            let p = [g.lps_mm[0] + t * g.dir[0], g.lps_mm[1] + t * g.dir[1], g.lps_mm[2] + t * g.dir[2]];
            let x = lat.index_of(p);
            if (0..3).any(|a| !(x[a] > -0.5 && x[a] < lat.dims[a] as f64 - 0.5)) {
                break;
            }
            let v = lat.idx(x[0].round() as usize, x[1].round() as usize, x[2].round() as usize);
            if core[v] == classes.0 {
                core[v] = 0;
            }
            if bone[v] && t <= HIP_SEED_MM {
                seeds[v] = classes.1;
            }
            t += 0.5 * smin;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::smooth;

    /// A head of radius 22 mm (trabecular 300 HU, a 1.5 mm plate of 1,500 HU) under a socket
    /// over its upper half (a 1.5 mm plate, then 200 HU), a joint space `space_mm` wide of 60 HU
    /// between, blurred by a Gaussian of 1 mm FWHM on 0.6 mm voxels, with a hashed +-30 HU noise.
    fn two_sphere_joint(centre: [f64; 3], space_mm: f64) -> (Lattice, Vec<f32>) {
        let (a, b) = (22.0 + space_mm, 23.5 + space_mm);
        let n = 110;
        let lat = Lattice::test([n, n, n], [0.6; 3]);
        let hu: Vec<f32> = (0..lat.len())
            .map(|v| {
                let p = lat.lps(v);
                let d = [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]];
                let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                let noise = ((v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as f32 - 32.0;
                let socket = d[2] > -0.2 * r;
                noise
                    + match r {
                        r if r < 20.5 => 300.0,
                        r if r < 22.0 => 1500.0,
                        r if r < a => 60.0,
                        r if r < b && socket => 1500.0,
                        r if r < 34.0 && socket => 200.0,
                        _ => 40.0,
                    }
            })
            .collect();
        let sigma = 1.0 / (8.0 * 2f64.ln()).sqrt();
        (lat.clone(), smooth::gaussian(&lat, hu, sigma))
    }

    #[test]
    fn a_blurred_one_millimetre_joint_space_is_found_within_a_voxel() {
        let centre = [33.1, 32.7, 31.9];
        let (lat, hu) = two_sphere_joint(centre, 1.0);
        let at = |v: usize| hu[v];
        // The space reads above a bone threshold of 150 HU: a threshold cannot split it.
        let low = (0..100).map(|s| sample(&lat, &at, [centre[0], centre[1], centre[2] + 22.0 + 0.01 * s as f64]).unwrap()).fold(f32::MAX, f32::min);
        assert!(low > 150.0, "the blurred space's lowest HU {low} should be above the bone threshold");
        // Rays from a point 4 mm off the centre (a head's deepest point is not its centre).
        let start = [centre[0] + 2.0, centre[1] - 3.0, centre[2] - 2.0];
        let j = joint_sphere(&lat, &at, start, 18.0, [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], (17.0, 32.0), 12.0).expect("a joint sphere");
        let (s, half) = (j.sphere, j.half_mm);
        let off = (0..3).map(|a| (s.centre[a] - centre[a]).powi(2)).sum::<f64>().sqrt();
        assert!(off < 0.6, "centre {:?} is {off:.2} mm off", s.centre);
        assert!((s.radius - 22.5).abs() < 0.6, "the space's middle at {:.2} mm, not 22.5", s.radius);
        assert!((s.radius - half - 22.0).abs() < 0.6, "the head's surface at {:.2} mm, not 22", s.radius - half);
        assert!(s.inliers >= 200, "{} rays on the sphere", s.inliers);
        // The space reads as bone on the rays: the sphere is kept, from the head's deepest point.
        assert_eq!(check(&j, 150.0, start), Ok(()));
    }

    #[test]
    fn a_joint_sphere_is_refused_where_the_space_is_open_or_the_sphere_misses_the_head() {
        let centre = [33.1, 32.7, 31.9];
        let start = [centre[0] + 2.0, centre[1] - 3.0, centre[2] - 2.0];
        // A 3 mm space: the same sphere is found (its middle 23.5 mm out), but the space reads
        // below the bone threshold on every ray, the bones are apart in the mask: refused.
        let (lat, hu) = two_sphere_joint(centre, 3.0);
        let at = |v: usize| hu[v];
        let j = joint_sphere(&lat, &at, start, 18.0, [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], (17.0, 32.0), 12.0).expect("a joint sphere");
        assert!((j.sphere.radius - 23.5).abs() < 0.6 && j.sphere.inliers >= 200, "{:?}", j.sphere);
        assert!(j.on.iter().all(|g| g.dip_hu < 150.0));
        assert_eq!(check(&j, 150.0, start), Err(Refused::Open { bridged: 0 }));
        // With a threshold below the space's HU it would be kept.
        assert_eq!(check(&j, 40.0, start), Ok(()));
        // The 1 mm space, but the head found before the rays lies 30 mm away (another bone's
        // deepest point): the sphere is not around that head.
        let (lat, hu) = two_sphere_joint(centre, 1.0);
        let at = |v: usize| hu[v];
        let j = joint_sphere(&lat, &at, start, 18.0, [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], (17.0, 32.0), 12.0).expect("a joint sphere");
        let far = [centre[0], centre[1], centre[2] - 30.0];
        assert!(matches!(check(&j, 150.0, far), Err(Refused::NotTheHead { off_mm, head_mm }) if off_mm > 29.0 && (head_mm - 22.0).abs() < 0.6));
        // Dips scattered off the sphere: the same joint with as many dips again elsewhere.
        let mut scattered = j.clone();
        scattered.dips = 2 * j.sphere.inliers + 1;
        assert_eq!(check(&scattered, 150.0, start), Err(Refused::Scattered { inliers: j.sphere.inliers, dips: 2 * j.sphere.inliers + 1 }));
    }

    #[test]
    fn a_ray_through_head_and_soft_tissue_alone_has_no_dip() {
        // Plate then soft tissue: no second plate, no joint space.
        let f: Vec<f32> = (0..100)
            .map(|s| {
                if (20..28).contains(&s) {
                    1200.0
                } else if s < 20 {
                    300.0
                } else {
                    40.0
                }
            })
            .collect();
        assert_eq!(profile_dip(&f), None);
        // Two plates 2 mm apart with a 700 HU floor between them: the dip's middle.
        let g: Vec<f32> = (0..100)
            .map(|s| {
                if (20..28).contains(&s) || (38..46).contains(&s) {
                    1200.0
                } else if (28..38).contains(&s) {
                    700.0
                } else {
                    300.0
                }
            })
            .collect();
        let (d, _, dip_hu) = profile_dip(&g).expect("a dip");
        assert!((690.0..=710.0).contains(&dip_hu), "{dip_hu}");
        assert!((28.0..38.0).contains(&d), "{d}");
    }
}

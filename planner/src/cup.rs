//! Cup sizing: shell size from the acetabular diameter, cup centre near the native centre of
//! rotation with a medialisation limit, and host-bone coverage of the shell on the pelvis surface.
//!
//! - **Size rule**: the smallest catalog shell whose outer diameter is at least the native
//!   acetabular diameter (the sphere fitted to the socket) plus the reaming allowance
//!   ([`crate::SizingRules::ream_allowance_mm`], 2 mm: 1 mm of subchondral bone each side); the
//!   last reamer is [`crate::SizingRules::press_fit_mm`] (1 mm) smaller: a 1 mm under-ream press fit.
//! - **Coverage**: the fraction of the shell's back hemisphere (the directions `u` with
//!   `u · axis < 0`, 2000 near-uniform directions) at which bone lies 1 mm outside the shell
//!   surface (ray-parity inside test of the closed pelvis surface, 0.5 mm columns).
//! - **Centre**: the native centre (fitted socket sphere), moved medially (pelvic -x on the right,
//!   +x on the left) in 0.5 mm steps up to [`crate::SizingRules::max_medialisation_mm`]: the
//!   least medialisation reaching the coverage target at the reference orientation
//!   (radiographic 40/15), else the most coverage, always keeping at least
//!   [`crate::SizingRules::min_medial_wall_mm`] of bone medial to the shell.

use coxa_core::{Angle, CupAngleDefinition, CupAngles, PelvicFrame, Side};
use coxa_implants::Catalog;
use nalgebra::{Point3, Vector3};
use serde::Serialize;

use crate::error::{PlanError, Result};
use crate::input::{PlanAnatomy, SizingRules};
use crate::solid::SolidColumns;

/// Directions sampled on the sphere for coverage.
const COVERAGE_DIRECTIONS: usize = 2000;
/// Bone is looked for this far outside the shell surface, mm.
const COVERAGE_GAP_MM: f64 = 1.0;

/// Which directions around a cup centre have bone just outside the shell.
#[derive(Debug, Clone)]
pub struct CoverageMap {
    /// Unit directions, pelvic frame.
    dirs: Vec<Vector3<f64>>,
    /// Bone at `centre + (R + gap) u`.
    covered: Vec<bool>,
}

impl CoverageMap {
    /// The map of a shell of `outer_radius_mm` at `centre_lps_mm` in `solid`.
    pub fn new(solid: &SolidColumns, frame: &PelvicFrame, centre_lps_mm: &Point3<f64>, outer_radius_mm: f64) -> Self {
        let dirs = fibonacci_sphere(COVERAGE_DIRECTIONS);
        let r = outer_radius_mm + COVERAGE_GAP_MM;
        let covered = dirs.iter().map(|u| solid.contains_lps(&(centre_lps_mm + frame.vector_to_lps(&(u * r))))).collect();
        Self { dirs, covered }
    }
    /// Covered fraction of the back hemisphere of a cup whose opening faces `axis_pelvic`.
    pub fn coverage(&self, axis_pelvic: &Vector3<f64>) -> f64 {
        let (mut n, mut c) = (0usize, 0usize);
        for (u, &b) in self.dirs.iter().zip(&self.covered) {
            if u.dot(axis_pelvic) < 0.0 {
                n += 1;
                c += usize::from(b);
            }
        }
        if n == 0 { 0.0 } else { c as f64 / n as f64 }
    }
}

/// `n` near-uniform unit directions (Fibonacci lattice; deterministic).
fn fibonacci_sphere(n: usize) -> Vec<Vector3<f64>> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - (2.0 * i as f64 + 1.0) / n as f64;
            let r = (1.0 - z * z).sqrt();
            let phi = golden * i as f64;
            Vector3::new(r * phi.cos(), r * phi.sin(), z)
        })
        .collect()
}

/// The reference orientation coverage is judged at: radiographic 40/15 (the Lewinnek centre).
pub fn reference_cup() -> CupAngles {
    CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(40.0), anteversion: Angle::from_deg(15.0) }
}

/// The cup's size and centre.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CupSizing {
    /// Native acetabular diameter (fitted socket sphere), mm.
    pub acetabular_diameter_mm: f64,
    /// Diameter the rule asks for: acetabular diameter + reaming allowance, mm.
    pub rule_diameter_mm: f64,
    /// Shell outer diameter chosen: the smallest catalog size >= the rule diameter, mm.
    pub outer_diameter_mm: f64,
    /// Last reamer (press fit), mm.
    pub last_reamer_mm: f64,
    /// Native centre of rotation (fitted socket sphere), LPS mm.
    pub native_centre_lps_mm: [f64; 3],
    /// Cup centre, LPS mm.
    pub centre_lps_mm: [f64; 3],
    /// Cup centre in the pelvic frame, mm.
    pub centre_pelvic_mm: [f64; 3],
    /// Medial shift of the cup centre from the native centre, mm.
    pub medialisation_mm: f64,
    /// Bone medial to the shell along the medial axis, mm.
    pub medial_wall_mm: f64,
    /// Coverage at the reference orientation (radiographic 40/15), fraction.
    pub reference_coverage: f64,
    /// Every centre tried: (medialisation mm, coverage, medial wall mm).
    pub centres_tried: Vec<[f64; 3]>,
    /// What the sizing could not satisfy.
    pub notes: Vec<String>,
}

/// Every shell outer diameter of the catalog, ascending.
pub fn shell_sizes(catalog: &Catalog) -> Vec<f64> {
    let mut v: Vec<f64> = Vec::new();
    for s in &catalog.shells {
        let n = ((s.outer_diameter_max_mm - s.outer_diameter_min_mm) / s.outer_diameter_step_mm).round().max(0.0) as usize;
        v.extend((0..=n).map(|k| s.outer_diameter_min_mm + k as f64 * s.outer_diameter_step_mm));
    }
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    v
}

/// Bone thickness along the medial ray from the shell surface: the first bone interval met
/// within 30 mm, mm (0 when none).
fn medial_wall_mm(solid: &SolidColumns, frame: &PelvicFrame, side: Side, centre: &Point3<f64>, radius_mm: f64) -> f64 {
    let medial = frame.vector_to_lps(&Vector3::new(-side.lateral_sign(), 0.0, 0.0));
    let step = 0.25;
    let mut entered: Option<f64> = None;
    let mut t = radius_mm;
    while t <= radius_mm + 30.0 {
        let inside = solid.contains_lps(&(centre + medial * t));
        match (entered, inside) {
            (None, true) => entered = Some(t),
            (Some(t0), false) => return t - t0,
            _ => {}
        }
        t += step;
    }
    entered.map_or(0.0, |t0| t - t0)
}

/// Sizes the cup and places its centre; returns the sizing and the coverage map at that centre.
pub fn size_cup(anatomy: &PlanAnatomy, catalog: &Catalog, rules: &SizingRules) -> Result<(CupSizing, CoverageMap)> {
    let acetabulum = &anatomy.operated.acetabulum;
    let d_a = 2.0 * acetabulum.radius_mm;
    if !(d_a.is_finite() && d_a > 10.0) {
        return Err(PlanError::Anatomy { structure: "acetabulum", why: format!("fitted diameter {d_a} mm is not usable; check the acetabulum landmarks") });
    }
    let rule = d_a + rules.ream_allowance_mm;
    let sizes = shell_sizes(catalog);
    let od = sizes.iter().copied().find(|s| *s >= rule - 1e-9).ok_or_else(|| PlanError::NoFit {
        why: format!("the acetabulum ({d_a:.1} mm) needs a shell of at least {rule:.1} mm; the catalog's largest is {:?} mm", sizes.last()),
    })?;
    let r = od / 2.0;
    let native = acetabulum.centre.lps_mm;
    let frame = &anatomy.frame;
    let side = anatomy.side;
    let medial = frame.vector_to_lps(&Vector3::new(-side.lateral_sign(), 0.0, 0.0));
    let solid = SolidColumns::new(&anatomy.pelvis, native, frame.pelvic_from_lps(), r + rules.max_medialisation_mm + 40.0, 0.5);
    let reference_axis = reference_cup().axis(side);
    let n_steps = (rules.max_medialisation_mm / 0.5).floor() as usize;
    let tried: Vec<(f64, f64, f64, CoverageMap)> = (0..=n_steps)
        .map(|k| {
            let m = 0.5 * k as f64;
            let c = native + medial * m;
            let map = CoverageMap::new(&solid, frame, &c, r);
            (m, map.coverage(&reference_axis), medial_wall_mm(&solid, frame, side, &c, r), map)
        })
        .collect();
    let mut notes = Vec::new();
    let feasible: Vec<usize> = (0..tried.len()).filter(|&i| tried[i].2 >= rules.min_medial_wall_mm).collect();
    let pick = if feasible.is_empty() {
        notes.push(format!("less than {} mm of medial wall even at the native centre ({:.1} mm): cup left at the native centre", rules.min_medial_wall_mm, tried[0].2));
        0
    } else if let Some(&i) = feasible.iter().find(|&&i| tried[i].1 >= rules.coverage_target) {
        i
    } else {
        let best = feasible.iter().copied().fold(feasible[0], |b, i| if tried[i].1 > tried[b].1 + 1e-12 { i } else { b });
        notes.push(format!("coverage {:.0} % stays below the {:.0} % target within {} mm of medialisation", 100.0 * tried[best].1, 100.0 * rules.coverage_target, rules.max_medialisation_mm));
        best
    };
    let (m, cov, wall, _) = &tried[pick];
    let centre = native + medial * *m;
    let p = |q: &Point3<f64>| [q.x, q.y, q.z];
    let sizing = CupSizing {
        acetabular_diameter_mm: d_a,
        rule_diameter_mm: rule,
        outer_diameter_mm: od,
        last_reamer_mm: od - rules.press_fit_mm,
        native_centre_lps_mm: p(&native),
        centre_lps_mm: p(&centre),
        centre_pelvic_mm: p(&frame.point_to_pelvic(&centre)),
        medialisation_mm: *m,
        medial_wall_mm: *wall,
        reference_coverage: *cov,
        centres_tried: tried.iter().map(|(m, c, w, _)| [*m, *c, *w]).collect(),
        notes,
    };
    let map = tried.into_iter().nth(pick).map(|t| t.3).ok_or_else(|| PlanError::Anatomy { structure: "acetabulum", why: "no cup centre tried".into() })?;
    Ok((sizing, map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solid::tests::cuboid;

    /// A cup centred on the face of a half-space of bone: its back hemisphere is covered over
    /// the lune between the face and the hemisphere, 1 - theta/180 with theta the angle between
    /// the cup axis and the face normal.
    #[test]
    fn coverage_of_a_cup_on_a_flat_face_is_the_lune() {
        // Bone medial of x = 0 for a right hip (lateral = -x): the box x in [0, 100].
        let m = cuboid([0.0, -100.0, -100.0], [100.0, 100.0, 100.0]);
        let frame = PelvicFrame::aligned_with_lps(Point3::origin());
        let solid = SolidColumns::new(&m, Point3::origin(), frame.pelvic_from_lps(), 60.0, 0.5);
        let map = CoverageMap::new(&solid, &frame, &Point3::origin(), 26.0);
        for (inc, av) in [(40.0, 15.0), (55.0, 0.0), (30.0, 25.0)] {
            let a = CupAngles { definition: CupAngleDefinition::Radiographic, inclination: Angle::from_deg(inc), anteversion: Angle::from_deg(av) }.axis(Side::Right);
            let theta = (a.dot(&Vector3::new(-1.0, 0.0, 0.0))).acos().to_degrees();
            let c = map.coverage(&a);
            assert!((c - (1.0 - theta / 180.0)).abs() < 0.01, "{inc}/{av}: {c} vs {}", 1.0 - theta / 180.0);
        }
        assert!((medial_wall_mm(&solid, &frame, Side::Right, &Point3::origin(), 26.0) - 30.0).abs() < 0.5);
    }

    #[test]
    fn catalog_shell_sizes() {
        let s = shell_sizes(&Catalog::builtin().unwrap());
        assert_eq!(s.first(), Some(&40.0));
        assert_eq!(s.last(), Some(&70.0));
        assert_eq!(s.len(), 16);
    }
}

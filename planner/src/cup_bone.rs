//! The host bone around a cup placed by hand: coverage and the medial wall measured again when
//! the surgeon moves or resizes the cup in the planning desk, by the planner's own rules.
//!
//! The planner measures bone on ray-parity columns ([`SolidColumns`]) laid out from the native
//! acetabulum centre in the pelvic frame at 0.5 mm. [`CupBone`] lays out the same lattice (same
//! origin, rotation and spacing, a reach that is a multiple of the spacing), so that for the
//! automatic plan's cup it gives the plan's own coverage and medial wall, and for any other cup
//! the numbers the planner would have given there.

use coxa_core::{Mesh, PelvicFrame, Side};
use nalgebra::{Point3, Vector3};

use crate::cup::{CoverageMap, medial_wall_mm, reference_cup};
use crate::solid::SolidColumns;

/// The planner's column spacing, mm.
const SPACING_MM: f64 = 0.5;

/// Bone around one cup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CupBoneMeasure {
    /// Covered fraction of the shell's back hemisphere at the cup's own orientation.
    pub coverage: f64,
    /// The same at the reference orientation (radiographic 40/15), as the sizing table gives it.
    pub reference_coverage: f64,
    /// Bone medial to the shell along the pelvic medial axis, mm.
    pub medial_wall_mm: f64,
}

/// A hip bone prepared for measuring cups near its native acetabulum centre.
#[derive(Debug, Clone)]
pub struct CupBone {
    solid: SolidColumns,
    frame: PelvicFrame,
    side: Side,
}

impl CupBone {
    /// Prepares `pelvis` (LPS) for cups whose shell surface lies within `reach_mm` of the native
    /// acetabulum centre `native_centre_lps_mm`, with 30 mm beyond for the medial wall's ray
    /// (the reach is rounded up to the spacing, keeping the planner's lattice).
    pub fn new(pelvis: &Mesh, frame: &PelvicFrame, side: Side, native_centre_lps_mm: Point3<f64>, reach_mm: f64) -> Self {
        let half = ((reach_mm.max(1.0) + 40.0) / SPACING_MM).ceil() * SPACING_MM;
        Self { solid: SolidColumns::new(pelvis, native_centre_lps_mm, frame.pelvic_from_lps(), half, SPACING_MM), frame: *frame, side }
    }

    /// Coverage and medial wall of a shell of `outer_diameter_mm` at `centre_lps_mm` opening
    /// along `axis_pelvic` (unit, pelvic frame).
    pub fn measure(&self, centre_lps_mm: &Point3<f64>, outer_diameter_mm: f64, axis_pelvic: &Vector3<f64>) -> CupBoneMeasure {
        let r = outer_diameter_mm / 2.0;
        let map = CoverageMap::new(&self.solid, &self.frame, centre_lps_mm, r);
        CupBoneMeasure {
            coverage: map.coverage(axis_pelvic),
            reference_coverage: map.coverage(&reference_cup().axis(self.side)),
            medial_wall_mm: medial_wall_mm(&self.solid, &self.frame, self.side, centre_lps_mm, r),
        }
    }
}

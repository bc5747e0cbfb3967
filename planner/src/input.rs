//! What the planner works from: the anatomy (plain data) and the surgeon's options.

use coxa_core::FemoralCanal;
use coxa_core::landmarks::{AcetabulumLandmarks, FemurLandmarks};
use coxa_core::{Angle, Mesh, PelvicFrame, PostureTilts, Side};
use nalgebra::Rotation3;
use serde::Serialize;

use crate::error::{PlanError, Result, check};

/// Landmarks of one hip.
#[derive(Debug, Clone)]
pub struct HipLandmarks {
    /// The acetabulum (its fitted sphere is the native centre of rotation).
    pub acetabulum: AcetabulumLandmarks,
    /// The femur.
    pub femur: FemurLandmarks,
    /// Rotation LPS -> femoral frame (rows: the frame's axes in LPS), the frame of
    /// `coxa_core::FemoralFrame::femur_from_lps` (+z mechanical axis towards the head, +x along
    /// the posterior condylar line towards the patient's left). At zero joint angles the
    /// femoral frame is parallel to the pelvic frame: leg length and offset are compared there.
    pub femur_from_lps: Rotation3<f64>,
}

/// The anatomy of a planned hip.
#[derive(Debug, Clone)]
pub struct PlanAnatomy {
    /// Operated side.
    pub side: Side,
    /// The pelvic frame (anterior pelvic plane when both hip bones are imaged).
    pub frame: PelvicFrame,
    /// Hip bone of the operated side, LPS mm (closed surface: coverage is tested by ray parity).
    pub pelvis: Mesh,
    /// Femur of the operated side, LPS mm (its periosteal surface).
    pub femur: Mesh,
    /// Landmarks of the operated hip.
    pub operated: HipLandmarks,
    /// Landmarks of the other hip, when imaged: leg length and offset are then restored to it.
    pub contralateral: Option<HipLandmarks>,
    /// The operated femur's canal measured on the CT's cortical bone
    /// (`coxa_anatomy::landmarks::femoral_canal`); `None` from surfaces alone: the stem is then
    /// sized from the outer width ([`crate::stem_fill`]).
    pub canal: Option<FemoralCanal>,
}

impl PlanAnatomy {
    /// The operated hip's landmarks a contact is named from (`coxa_core::name_contact`).
    pub fn contact_anatomy(&self) -> coxa_core::ContactAnatomy<'_> {
        coxa_core::ContactAnatomy { frame: &self.frame, acetabulum: &self.operated.acetabulum, femur: &self.operated.femur }
    }
}

/// Sizing rules. Defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SizingRules {
    /// Reaming allowance: the shell's outer diameter is the smallest catalog size at least the
    /// bony socket's diameter (see [`crate::cup::SocketMeasure`]) plus this, mm [2: 1 mm of
    /// subchondral bone each side, reamed to bleeding bone]. The last reamer is the shell's
    /// series' press fit smaller (`press_fit_mm` in the catalog's shell file).
    pub ream_allowance_mm: f64,
    /// The CT resolves the joint space when the bony socket lies at least this far outside the
    /// femoral head's sphere (median over the lunate surface), mm [1]. Below it the
    /// segmentation has closed the joint space: the "socket" surface is the head's own.
    pub min_joint_space_mm: f64,
    /// Joint space assumed between the bony head and the bony socket where the CT does not
    /// resolve it, mm [2: both cartilage layers of a hip that comes to arthroplasty; a minimum
    /// joint space width of 2 mm or less is the usual radiographic definition of hip
    /// osteoarthritis, e.g. Jacobsen and Sonne-Holm, Rheumatology 2005]. The socket is then
    /// sized as the head's diameter plus twice this.
    pub assumed_joint_space_mm: f64,
    /// Largest medial shift of the cup centre from the native centre of rotation, mm [5].
    pub max_medialisation_mm: f64,
    /// Thinnest bone left medial to the cup, mm [2].
    pub min_medial_wall_mm: f64,
    /// Host-bone coverage of the shell the cup centre is moved medially to reach (at the
    /// reference orientation, radiographic 40/15), fraction [0.75].
    pub coverage_target: f64,
    /// Cortical thickness as a fraction of the outer width, each side, used to estimate the
    /// canal from a periosteal surface when the CT's cortical bone is not available (a mesh
    /// input, or metal in the femur): canal = outer x (1 - 2 ratio) [0.225]. The stem's size
    /// rules themselves are the catalog's (`size_rule` of each stem series).
    pub cortical_ratio: f64,
    /// Distal level below the lesser trochanter of the outer-width profile reported in
    /// `Plan::canal`, mm [60].
    pub distal_level_mm: f64,
    /// How far the stem may sit proud (+) or deep (-) of the height that puts a 0 mm offset head
    /// at the native head's height (the neck cut adjusted), mm [4].
    pub seat_range_mm: f64,
    /// Leg length and offset must be restored to within this of their targets, mm: femoral
    /// reconstructions beyond it are searched only when none at the nominal stem version is
    /// within, and then no worse than the best there ([`crate::space`]) [2].
    pub restore_tolerance_mm: f64,
}

impl Default for SizingRules {
    fn default() -> Self {
        Self {
            ream_allowance_mm: 2.0,
            min_joint_space_mm: 1.0,
            assumed_joint_space_mm: 2.0,
            max_medialisation_mm: 5.0,
            min_medial_wall_mm: 2.0,
            coverage_target: 0.75,
            cortical_ratio: 0.225,
            distal_level_mm: 60.0,
            seat_range_mm: 4.0,
            restore_tolerance_mm: 2.0,
        }
    }
}

/// Weights of the objective terms, in degrees of ROM margin per unit. Defaults in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Weights {
    /// Ratio of successive rank weights of the margins, worst first (1, r, r², ...) [0.5].
    pub rom_rank_ratio: f64,
    /// Per mm of leg-length error [2].
    pub leg_length_per_mm: f64,
    /// Per mm of offset error [1].
    pub offset_per_mm: f64,
    /// Per percent of coverage below the target [0.5].
    pub coverage_per_pct: f64,
    /// Per degree outside the safe zone [0.5].
    pub safe_zone_per_deg: f64,
    /// Per degree from the combined-anteversion target (Widmer and Zurfluh 2004: radiographic cup
    /// inclination 40, cup anteversion + 0.7 x stem anteversion = 37), a tie-break among
    /// placements of equal range of motion, e.g. when bone on bone limits every motion [0.05].
    pub combined_target_per_deg: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self { rom_rank_ratio: 0.5, leg_length_per_mm: 2.0, offset_per_mm: 1.0, coverage_per_pct: 0.5, safe_zone_per_deg: 0.5, combined_target_per_deg: 0.05 }
    }
}

/// The safe zone, radiographic definition in the pelvic frame (Lewinnek 1978: 40 +- 10 deg
/// inclination, 15 +- 10 deg anteversion).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SafeZone {
    /// Inclination range (radiographic).
    pub inclination: (Angle, Angle),
    /// Anteversion range (radiographic).
    pub anteversion: (Angle, Angle),
}

impl Default for SafeZone {
    fn default() -> Self {
        Self { inclination: (Angle::from_deg(30.0), Angle::from_deg(50.0)), anteversion: (Angle::from_deg(5.0), Angle::from_deg(25.0)) }
    }
}

/// The stem versions the planner ever places, deg: a native version outside is clamped to them
/// (with a note), and the default search window stays within them.
pub const STEM_VERSION_LIMITS_DEG: (f64, f64) = (-10.0, 40.0);

/// The surgeon's constraints and the optimiser's settings (dicom-rs style: `PlanOptions::new()`
/// then `with_*`). Defaults in brackets. Cup angles are **radiographic** (Murray 1993) in the
/// pelvic frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Fixed head diameter, mm [none: every catalog head >= 28 mm the shell holds].
    pub head_diameter_mm: Option<f64>,
    /// Liners to consider, by catalog name or geometry keyword [`neutral`].
    pub liners: Vec<String>,
    /// Cup inclination range, radiographic [30..55 deg].
    pub inclination: (Angle, Angle),
    /// Cup anteversion range, radiographic [0..35 deg].
    pub anteversion: (Angle, Angle),
    /// Stem anteversion range searched, the surgeon's constraint [none: the native version
    /// (the one that keeps the head on its native azimuth about the shaft,
    /// `stem::native_stem_version`) +- [`Self::stem_version_window`]].
    pub stem_anteversion: Option<(Angle, Angle)>,
    /// Without [`Self::stem_anteversion`], the stem version is searched this far either side of
    /// the native version, within [`STEM_VERSION_LIMITS_DEG`] [10 deg; 0: the native version
    /// only]. A cementless stem follows its canal, but not exactly: the final implant's version
    /// differed from the native femoral version by 1.9 +- 9.5 deg (SD; range -20.7..21.5) with a
    /// straight tapered stem (Worlicek et al., BMC Musculoskelet Disord 2016;17:399) and by
    /// +8.1 +- 7.4 deg with canal-filling press-fit stems (Emerson, Clin Orthop Relat Res
    /// 2012;470:477-481): 10 deg is about one SD of what broaching changes.
    pub stem_version_window: Angle,
    /// Coarse grid step of the angles [2.5 deg].
    pub grid_step: Angle,
    /// The local search stops at this step [0.25 deg].
    pub refine_step: Angle,
    /// Pelvic tilt standing and sitting [0 and 20 deg].
    pub tilts: PostureTilts,
    /// Motions the margin is taken over [none: the scorer's daily-life motions].
    pub motions: Option<Vec<String>>,
    /// Margins above this count as this, deg [30].
    pub margin_cap_deg: f64,
    /// Resolution of the limits during the search, deg [0.5]; the final plan is re-scored at 0.05.
    pub resolution_deg: f64,
    /// Femoral reconstructions (stem series, size, head offset, seat) searched at each stem
    /// version, the best that restore leg length and offset there ([`crate::space`]) [3].
    pub femoral_options: usize,
    /// Pareto set size reported at most [20].
    pub pareto_max: usize,
    /// Sizing rules.
    pub sizing: SizingRules,
    /// Objective weights.
    pub weights: Weights,
    /// The safe zone.
    pub safe_zone: SafeZone,
    /// Choices the surgeon fixed (the planning desk's revision, `coxa plan`'s flags); each
    /// `None` is the planner's [all `None`].
    pub fixed: FixedChoices,
}

/// Implant choices a surgeon fixes, beside the angle ranges ([`PlanOptions::inclination`],
/// [`PlanOptions::anteversion`], [`PlanOptions::stem_anteversion`] with equal ends fix the
/// angles, [`PlanOptions::head_diameter_mm`] the head). A plan with every choice fixed is the
/// evaluation of that one plan by the planner's own code (issue 60: the desk's revision is
/// evaluated so, not patched from the automatic plan).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FixedChoices {
    /// Shell outer diameter, mm (a catalog size) [the sizing rule's].
    pub shell_outer_diameter_mm: Option<f64>,
    /// The cup centre moved from the one the sizing chose, pelvic frame, mm: medial, superior,
    /// anterior (the desk's cup shift) [none].
    pub cup_shift_mm: Option<[f64; 3]>,
    /// Stem series (catalog name) [every series of the catalog].
    pub stem_series: Option<String>,
    /// Stem size (its catalog label) [each series' canal-fill size].
    pub stem_size: Option<String>,
    /// Head neck-length offset, mm (a catalog value) [the one that restores leg length and offset].
    pub head_offset_mm: Option<f64>,
}

impl FixedChoices {
    /// Whether nothing is fixed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The grid steps a user may choose for the cup angles, deg (`[min, max]`): finer than 0.5 deg
/// scores tens of thousands of candidates for nothing a surgeon can place; coarser than 20 deg
/// leaves two or three points across a safe zone.
pub const GRID_STEP_RANGE_DEG: (f64, f64) = (0.5, 20.0);

/// The step the best grid point is refined at, deg (or the grid step, if finer).
pub const REFINE_STEP_DEG: f64 = 0.25;

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            head_diameter_mm: None,
            liners: vec!["neutral".into()],
            inclination: (Angle::from_deg(30.0), Angle::from_deg(55.0)),
            anteversion: (Angle::from_deg(0.0), Angle::from_deg(35.0)),
            stem_anteversion: None,
            stem_version_window: Angle::from_deg(10.0),
            grid_step: Angle::from_deg(2.5),
            refine_step: Angle::from_deg(REFINE_STEP_DEG),
            tilts: PostureTilts::default(),
            motions: None,
            margin_cap_deg: 30.0,
            resolution_deg: 0.5,
            femoral_options: 3,
            pareto_max: 20,
            sizing: SizingRules::default(),
            weights: Weights::default(),
            safe_zone: SafeZone::default(),
            fixed: FixedChoices::default(),
        }
    }
}

impl PlanOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// A fixed head diameter, mm.
    pub fn with_head_diameter_mm(mut self, d: f64) -> Self {
        self.head_diameter_mm = Some(d);
        self
    }
    /// Liners to consider.
    pub fn with_liners(mut self, liners: Vec<String>) -> Self {
        self.liners = liners;
        self
    }
    /// Cup inclination range (radiographic).
    pub fn with_inclination(mut self, lo: Angle, hi: Angle) -> Self {
        self.inclination = (lo, hi);
        self
    }
    /// Cup anteversion range (radiographic).
    pub fn with_anteversion(mut self, lo: Angle, hi: Angle) -> Self {
        self.anteversion = (lo, hi);
        self
    }
    /// Search stem anteversion over a range.
    pub fn with_stem_anteversion(mut self, lo: Angle, hi: Angle) -> Self {
        self.stem_anteversion = Some((lo, hi));
        self
    }
    /// Search the stem version this far either side of the native version (when no range is given).
    pub fn with_stem_version_window(mut self, window: Angle) -> Self {
        self.stem_version_window = window;
        self
    }
    /// The stem at its native version only (no stem version search), unless a range is given.
    pub fn with_native_stem_version(mut self) -> Self {
        self.stem_version_window = Angle::from_deg(0.0);
        self
    }
    /// Coarse grid step.
    pub fn with_grid_step(mut self, step: Angle) -> Self {
        self.grid_step = step;
        self
    }
    /// Final local-search step.
    pub fn with_refine_step(mut self, step: Angle) -> Self {
        self.refine_step = step;
        self
    }
    /// Pelvic tilts.
    pub fn with_tilts(mut self, tilts: PostureTilts) -> Self {
        self.tilts = tilts;
        self
    }
    /// Motions to take the margin over.
    pub fn with_motions(mut self, motions: Vec<String>) -> Self {
        self.motions = Some(motions);
        self
    }
    /// Femoral reconstructions kept for the search.
    pub fn with_femoral_options(mut self, n: usize) -> Self {
        self.femoral_options = n;
        self
    }
    /// Sizing rules.
    pub fn with_sizing(mut self, sizing: SizingRules) -> Self {
        self.sizing = sizing;
        self
    }
    /// Objective weights.
    pub fn with_weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }
    /// Choices the surgeon fixed.
    pub fn with_fixed(mut self, fixed: FixedChoices) -> Self {
        self.fixed = fixed;
        self
    }

    /// Checks every value (finite, in range, ranges ordered).
    pub fn validate(&self) -> Result<()> {
        if let Some(h) = self.head_diameter_mm {
            let (lo, hi) = coxa_core::plan_ranges::PlanValue::HeadDiameterMm.range();
            check("head_diameter_mm", h, lo, hi)?;
        }
        if self.liners.is_empty() {
            return Err(PlanError::InvalidOption { what: "liners".into(), value: "[]".into(), why: "name at least one liner, e.g. neutral".into() });
        }
        let range = |what: &str, (lo, hi): (Angle, Angle), min: f64, max: f64| -> Result<()> {
            check(&format!("{what} (low, deg)"), lo.deg(), min, max)?;
            check(&format!("{what} (high, deg)"), hi.deg(), lo.deg(), max)
        };
        range("cup inclination", self.inclination, 0.0, 80.0)?;
        range("cup anteversion", self.anteversion, -30.0, 60.0)?;
        if let Some(s) = self.stem_anteversion {
            range("stem anteversion", s, -30.0, 60.0)?;
        }
        check("stem_version_window (deg)", self.stem_version_window.deg(), 0.0, 30.0)?;
        check("grid_step (deg)", self.grid_step.deg(), 0.1, 20.0)?;
        check("refine_step (deg)", self.refine_step.deg(), 0.01, self.grid_step.deg())?;
        check("standing tilt (deg)", self.tilts.standing.deg(), -45.0, 45.0)?;
        check("sitting tilt (deg)", self.tilts.sitting.deg(), -45.0, 80.0)?;
        check("margin_cap_deg", self.margin_cap_deg, 0.0, 180.0)?;
        check("resolution_deg", self.resolution_deg, 0.01, 5.0)?;
        let f = &self.fixed;
        if let Some(d) = f.shell_outer_diameter_mm {
            let (lo, hi) = coxa_core::plan_ranges::PlanValue::ShellOuterDiameterMm.range();
            check("fixed shell outer diameter (mm)", d, lo, hi)?;
        }
        if let Some(o) = f.head_offset_mm {
            let (lo, hi) = coxa_core::plan_ranges::PlanValue::HeadOffsetMm.range();
            check("fixed head offset (mm)", o, lo, hi)?;
        }
        for (k, v) in f.cup_shift_mm.iter().flatten().enumerate() {
            let (lo, hi) = coxa_core::plan_ranges::PlanValue::CupShiftMm.range();
            check(["cup shift medial (mm)", "cup shift superior (mm)", "cup shift anterior (mm)"][k], *v, lo, hi)?;
        }
        if self.femoral_options == 0 {
            return Err(PlanError::InvalidOption { what: "femoral_options".into(), value: "0".into(), why: "keep at least one".into() });
        }
        let s = &self.sizing;
        check("ream_allowance_mm", s.ream_allowance_mm, 0.0, 10.0)?;
        check("min_joint_space_mm", s.min_joint_space_mm, 0.0, 10.0)?;
        check("assumed_joint_space_mm", s.assumed_joint_space_mm, 0.0, 10.0)?;
        check("max_medialisation_mm", s.max_medialisation_mm, 0.0, 20.0)?;
        check("min_medial_wall_mm", s.min_medial_wall_mm, 0.0, 20.0)?;
        check("coverage_target", s.coverage_target, 0.0, 1.0)?;
        check("cortical_ratio", s.cortical_ratio, 0.0, 0.45)?;
        check("distal_level_mm", s.distal_level_mm, 10.0, 200.0)?;
        check("seat_range_mm", s.seat_range_mm, 0.0, 20.0)?;
        check("restore_tolerance_mm", s.restore_tolerance_mm, 0.0, 50.0)?;
        let w = &self.weights;
        check("weights.rom_rank_ratio", w.rom_rank_ratio, 0.0, 1.0)?;
        for (n, v) in [
            ("leg_length_per_mm", w.leg_length_per_mm),
            ("offset_per_mm", w.offset_per_mm),
            ("coverage_per_pct", w.coverage_per_pct),
            ("safe_zone_per_deg", w.safe_zone_per_deg),
            ("combined_target_per_deg", w.combined_target_per_deg),
        ] {
            check(&format!("weights.{n}"), v, 0.0, 1000.0)?;
        }
        Ok(())
    }
}

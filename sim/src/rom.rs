//! Range-of-motion sweeps: standard motions and daily-life paths, each under the pelvic tilt of
//! its posture, to the first contact (coarse steps, then bisection).
//!
//! A [`Motion`] is a path in joint angles (see [`crate::joint`]; world reference, pelvis tilted
//! by its posture): `angles(α) = base + α · drive` for α from 0 to `max_deg`. Its limit is the
//! largest α free of contact, found by stepping `coarse_step_deg` and bisecting the first
//! bracket down to `tolerance_deg` (default 0.05, so limits are good to 0.1 deg). A contact
//! region narrower than the coarse step can be stepped over.

use coxa_core::Angle;
use rayon::prelude::*;
use serde::Serialize;

use crate::joint::{JointAngles, pelvis_tilt_rotation};
use crate::model::{Contact, HipModel};

/// The posture a motion is performed in; it sets the pelvic tilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Posture {
    /// Standing (or supine, as in a clinical examination).
    Standing,
    /// Sitting (the pelvis tilts posterior).
    Sitting,
}

impl Posture {
    /// `standing` or `sitting` (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standing => "standing",
            Self::Sitting => "sitting",
        }
    }
}

/// Posterior pelvic tilt per posture, relative to the anterior pelvic plane being vertical.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PelvicTilts {
    /// Standing tilt. Default 0.
    pub standing: Angle,
    /// Sitting tilt. Default standing + 20 deg (sitting tilts the pelvis back by 20-30 deg).
    pub sitting: Angle,
}

impl PelvicTilts {
    /// Standing tilt `standing`, sitting 20 deg more posterior.
    pub fn from_standing(standing: Angle) -> Self {
        Self { standing, sitting: Angle::from_rad(standing.rad() + 20f64.to_radians()) }
    }
    /// The tilt of `posture`.
    pub fn of(&self, posture: Posture) -> Angle {
        match posture {
            Posture::Standing => self.standing,
            Posture::Sitting => self.sitting,
        }
    }
}

impl Default for PelvicTilts {
    fn default() -> Self {
        Self::from_standing(Angle::from_deg(0.0))
    }
}

/// A motion path to sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Motion {
    /// Name (`flexion`, `internal_rotation_90_flexion`, `sit_to_stand`, ...).
    pub name: &'static str,
    /// The posture (pelvic tilt).
    pub posture: Posture,
    /// Joint angles at α = 0, deg (flexion, abduction, internal rotation).
    pub base_deg: [f64; 3],
    /// Change per degree of α (flexion, abduction, internal rotation).
    pub drive: [f64; 3],
    /// Largest α searched, deg.
    pub max_deg: f64,
    /// α the activity needs, deg (daily-life paths), if known.
    pub required_deg: Option<f64>,
}

impl Motion {
    /// The driven angle's value in the motion's own sense at `alpha_deg` (e.g. flexion for
    /// `sit_to_stand`, external rotation for `external_rotation_0_flexion`): `base · sign + α`.
    pub fn driven_deg(&self, alpha_deg: f64) -> f64 {
        let i = self.driven_index();
        self.base_deg[i] * self.drive[i].signum() + alpha_deg * self.drive[i].abs()
    }
    /// The `α` at which the driven angle ([`Motion::driven_deg`]) is `driven_deg`.
    pub fn alpha_of(&self, driven_deg: f64) -> f64 {
        let i = self.driven_index();
        let rate = self.drive[i].abs();
        if rate > 0.0 { (driven_deg - self.base_deg[i] * self.drive[i].signum()) / rate } else { 0.0 }
    }
    /// Which angle the motion drives most (flexion 0, abduction 1, internal rotation 2).
    fn driven_index(&self) -> usize {
        (0..3).max_by(|&a, &b| self.drive[a].abs().total_cmp(&self.drive[b].abs())).unwrap_or(0)
    }
    /// Joint angles at `alpha_deg`.
    pub fn angles(&self, alpha_deg: f64) -> JointAngles {
        let a = |i: usize| self.base_deg[i] + alpha_deg * self.drive[i];
        JointAngles::from_deg(a(0), a(1), a(2))
    }
}

const fn motion(name: &'static str, posture: Posture, base_deg: [f64; 3], drive: [f64; 3], max_deg: f64, required_deg: Option<f64>) -> Motion {
    Motion { name, posture, base_deg, drive, max_deg, required_deg }
}

/// The standard motions: flexion, extension, abduction, adduction, and internal/external
/// rotation at 0 and 90 deg flexion, standing.
pub fn standard_motions() -> Vec<Motion> {
    use Posture::Standing as S;
    vec![
        motion("flexion", S, [0.0; 3], [1.0, 0.0, 0.0], 170.0, None),
        motion("extension", S, [0.0; 3], [-1.0, 0.0, 0.0], 90.0, None),
        motion("abduction", S, [0.0; 3], [0.0, 1.0, 0.0], 90.0, None),
        motion("adduction", S, [0.0; 3], [0.0, -1.0, 0.0], 90.0, None),
        motion("internal_rotation_0_flexion", S, [0.0; 3], [0.0, 0.0, 1.0], 120.0, None),
        motion("external_rotation_0_flexion", S, [0.0; 3], [0.0, 0.0, -1.0], 120.0, None),
        motion("internal_rotation_90_flexion", S, [90.0, 0.0, 0.0], [0.0, 0.0, 1.0], 120.0, None),
        motion("external_rotation_90_flexion", S, [90.0, 0.0, 0.0], [0.0, 0.0, -1.0], 120.0, None),
    ]
}

/// The right hip's coordinates (flexion, adduction, rotation; OpenSim's senses, deg) at the end
/// of the `sit_to_stand` path (its `required_deg`), relative to the sitting pelvis (default
/// tilts): the seat-off posture from which the musculoskeletal model rises from a chair
/// (`coxa_msk::rising::rising_from_chair`).
pub fn seat_off_hip_deg() -> [f64; 3] {
    let tilts = PelvicTilts::default();
    let path = daily_life_motions().into_iter().find(|m| m.name == "sit_to_stand");
    // The path is defined in this crate; its absence would be a programming error caught by
    // the tests, so fall back to plain flexion rather than fail.
    let Some(path) = path else { return [95.0, 0.0, 0.0] };
    let alpha = path.alpha_of(path.required_deg.unwrap_or(path.base_deg[0]));
    let tilt: Angle = tilts.of(path.posture);
    let relative = pelvis_tilt_rotation(tilt).inverse() * path.angles(alpha).rotation(coxa_core::Side::Right);
    let a = JointAngles::from_rotation(&relative, coxa_core::Side::Right);
    [a.flexion.deg(), -a.abduction.deg(), a.internal_rotation.deg()]
}

/// Daily-life paths and the two dislocation positions, as thigh angles relative to the
/// standing body (world), with the pelvis tilted by the posture. Seated activities start from
/// sitting (90 deg world flexion, thigh horizontal) and drive one angle; the terminal angles
/// (`required_deg`, of the driven angle) are round numbers of the order reported for these
/// activities (Nadzadi et al. 2003; Hemmerich et al. 2006) and are illustrative, not normative.
pub fn daily_life_motions() -> Vec<Motion> {
    use Posture::{Sitting, Standing};
    vec![
        // Rising from a low chair: the trunk leans forward, the hip flexes further.
        motion("sit_to_stand", Sitting, [90.0, -5.0, 5.0], [1.0, 0.0, 0.0], 80.0, Some(115.0)),
        // Deep squat: flexion with abduction and external rotation.
        motion("squatting", Sitting, [90.0, 10.0, -10.0], [1.0, 0.0, 0.0], 80.0, Some(130.0)),
        // Tying a shoe seated, reaching to the foot: flexion with adduction and internal rotation.
        motion("shoe_tying", Sitting, [90.0, -10.0, 15.0], [1.0, 0.0, 0.0], 80.0, Some(120.0)),
        // Crossing the legs seated: adduction at 80 deg flexion with slight external rotation.
        motion("crossing_legs", Sitting, [80.0, 0.0, -5.0], [0.0, -1.0, 0.0], 90.0, Some(25.0)),
        // Posterior dislocation position: 90 flexion + 10 adduction, internal rotation driven.
        motion("posterior_dislocation", Sitting, [90.0, -10.0, 0.0], [0.0, 0.0, 1.0], 120.0, Some(30.0)),
        // Anterior dislocation position: 10 extension, external rotation driven.
        motion("anterior_dislocation", Standing, [-10.0, 0.0, 0.0], [0.0, 0.0, -1.0], 120.0, Some(30.0)),
    ]
}

/// Finest coarse step a sweep takes, deg (smaller or NaN steps are raised to it).
pub const MIN_COARSE_STEP_DEG: f64 = 1e-3;
/// Finest bisection bracket, deg (smaller, zero, negative or NaN tolerances are raised to it).
pub const MIN_TOLERANCE_DEG: f64 = 1e-6;
/// Farthest a motion is swept, deg (a larger or non-finite `max_deg` is cut to it).
pub const MAX_SWEEP_DEG: f64 = 360.0;

/// Search options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SweepOptions {
    /// Coarse step, deg. Default 2.
    pub coarse_step_deg: f64,
    /// Bisection stops at this bracket width, deg. Default 0.05.
    pub tolerance_deg: f64,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self { coarse_step_deg: 2.0, tolerance_deg: 0.05 }
    }
}

impl SweepOptions {
    /// The options a sweep actually uses (issue 16: bounded cost) and one note per option that
    /// was raised to its bound: a step below [`MIN_COARSE_STEP_DEG`] or a tolerance below
    /// [`MIN_TOLERANCE_DEG`] (zero, negative and NaN included). No notes for options within the
    /// bounds (the defaults and every option the planner gives).
    pub fn bounded(&self) -> (SweepOptions, Vec<String>) {
        let mut notes = Vec::new();
        let mut raise = |what: &str, value: f64, bound: f64| {
            if value >= bound {
                return value;
            }
            notes.push(format!(
                "{what} = {value} deg is below the sweep's bound of {bound} deg (its cost would be unbounded): the sweep used {bound} deg; \
                 give {what} >= {bound}"
            ));
            bound
        };
        let coarse_step_deg = raise("coarse_step_deg", self.coarse_step_deg, MIN_COARSE_STEP_DEG);
        let tolerance_deg = raise("tolerance_deg", self.tolerance_deg, MIN_TOLERANCE_DEG);
        (SweepOptions { coarse_step_deg, tolerance_deg }, notes)
    }
}

/// The limit of one motion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MotionLimit {
    /// The motion's name.
    pub name: &'static str,
    /// Its posture.
    pub posture: Posture,
    /// The posterior pelvic tilt used, deg.
    pub pelvic_tilt_deg: f64,
    /// The driven angle at the last pose free of contact, deg ([`Motion::driven_deg`]; for the
    /// standard motions simply the angle from neutral). If nothing touched: its value at
    /// `max_deg`; if the start is in contact: its value at the start.
    pub limit_deg: f64,
    /// Whether the motion's start posture is already in contact.
    pub start_in_contact: bool,
    /// First contact beyond the limit; `None` if nothing touched up to `max_deg`.
    pub contact: Option<Contact>,
    /// What the activity needs, deg.
    pub required_deg: Option<f64>,
    /// Pose queries spent.
    pub queries: usize,
    /// What the sweep changed to keep its cost bounded (issue 16), each with its fix: an option
    /// raised to its bound ([`SweepOptions::bounded`]) or a `max_deg` over [`MAX_SWEEP_DEG`] cut
    /// to it. Empty (and not serialised) for every motion and option coxa defines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The pose (femoral -> hip frame) of `motion` at `alpha_deg` on `side`, the pelvis tilted by
/// the posture's tilt in `tilts`: `R_x(tilt)⁻¹ · R(angles)` (see [`crate::joint`]).
pub fn pose(motion: &Motion, alpha_deg: f64, tilts: &PelvicTilts, side: coxa_core::Side) -> nalgebra::Rotation3<f64> {
    pelvis_tilt_rotation(tilts.of(motion.posture)).inverse() * motion.angles(alpha_deg).rotation(side)
}

/// Sweeps `motion` on `model` with pelvic `tilts`.
pub fn sweep(model: &HipModel, motion: &Motion, tilts: &PelvicTilts, opts: &SweepOptions) -> MotionLimit {
    let tilt = tilts.of(motion.posture);
    // Bounded cost (issue 16): at most MAX_SWEEP_DEG / step coarse queries and
    // log2(step / MIN_TOLERANCE_DEG) bisections, whatever the options and the motion say (a
    // tolerance of 0 bisected forever between two adjacent floats; an infinite max_deg never
    // ended without a contact). Options and ranges past the bounds are raised or cut to them,
    // and the limit's notes say so.
    let (bounded, mut notes) = opts.bounded();
    let (step, tolerance) = (bounded.coarse_step_deg, bounded.tolerance_deg);
    let max_deg = if motion.max_deg <= MAX_SWEEP_DEG {
        motion.max_deg
    } else {
        notes.push(format!("{}: max_deg = {} deg is over the sweep's bound of {MAX_SWEEP_DEG} deg: swept to {MAX_SWEEP_DEG} deg; give max_deg <= {MAX_SWEEP_DEG}", motion.name, motion.max_deg));
        MAX_SWEEP_DEG
    };
    let mut queries = 0;
    let mut at = |alpha: f64| {
        queries += 1;
        model.contact(&pose(motion, alpha, tilts, model.side()))
    };
    let done = |alpha: f64, contact: Option<Contact>, queries: usize, start: bool| MotionLimit {
        notes: notes.clone(),
        name: motion.name,
        posture: motion.posture,
        pelvic_tilt_deg: tilt.deg(),
        limit_deg: motion.driven_deg(alpha),
        start_in_contact: start,
        contact,
        required_deg: motion.required_deg,
        queries,
    };
    if let Some(c) = at(0.0) {
        let c = model.refine_contact(&pose(motion, 0.0, tilts, model.side()), c);
        return done(0.0, Some(c), queries, true);
    }
    let mut lo = 0.0;
    loop {
        let hi = (lo + step).min(max_deg);
        if hi <= lo || hi.is_nan() {
            return done(max_deg, None, queries, false);
        }
        if let Some(mut c) = at(hi) {
            let (mut a, mut b) = (lo, hi);
            while b - a > tolerance {
                let m = 0.5 * (a + b);
                match at(m) {
                    Some(cm) => {
                        b = m;
                        c = cm;
                    }
                    None => a = m,
                }
            }
            // The contact at the first pose in contact, its point by parry3d's exact query.
            let c = model.refine_contact(&pose(motion, b, tilts, model.side()), c);
            return done(a, Some(c), queries, false);
        }
        lo = hi;
    }
}

pub use coxa_core::CupAnglesDeg;

/// A full ROM report of one hip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RomReport {
    /// Oscillation angle of the implant pair, deg.
    pub oscillation_angle_deg: f64,
    /// Cup orientation in the pelvic frame (anterior pelvic plane).
    pub cup_pelvic_deg: CupAnglesDeg,
    /// Cup orientation relative to the standing body (functional, with the standing tilt).
    pub cup_functional_standing_deg: CupAnglesDeg,
    /// Cup orientation relative to the body when sitting.
    pub cup_functional_sitting_deg: CupAnglesDeg,
    /// Stem anteversion, deg.
    pub stem_anteversion_deg: f64,
    /// The tilts used.
    pub pelvic_tilts: PelvicTilts,
    /// Every motion's limit.
    pub motions: Vec<MotionLimit>,
    /// Every note of the motions' limits, once each ([`MotionLimit::notes`]): empty (and not
    /// serialised) unless an option or a motion's range was past the sweep's bounds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Sweeps `motions` in parallel (rayon), beside the oscillation angle (a search of its own
/// with user parts), and assembles the report.
pub fn report(model: &HipModel, motions: &[Motion], tilts: &PelvicTilts, opts: &SweepOptions) -> RomReport {
    let (oscillation, limits): (_, Vec<MotionLimit>) = rayon::join(|| model.oscillation_angle(), || motions.par_iter().map(|m| sweep(model, m, tilts, opts)).collect());
    let mut notes: Vec<String> = Vec::new();
    for n in limits.iter().flat_map(|l| &l.notes) {
        if !notes.contains(n) {
            notes.push(n.clone());
        }
    }
    RomReport {
        notes,
        oscillation_angle_deg: oscillation.deg(),
        cup_pelvic_deg: CupAnglesDeg::of(|d| model.cup_angles(d)),
        cup_functional_standing_deg: CupAnglesDeg::of(|d| model.functional_cup_angles(tilts.standing, d)),
        cup_functional_sitting_deg: CupAnglesDeg::of(|d| model.functional_cup_angles(tilts.sitting, d)),
        stem_anteversion_deg: model.stem_anteversion().deg(),
        pelvic_tilts: *tilts,
        motions: limits,
    }
}

/// Every standard and daily-life motion.
pub fn all_motions() -> Vec<Motion> {
    let mut m = standard_motions();
    m.extend(daily_life_motions());
    m
}

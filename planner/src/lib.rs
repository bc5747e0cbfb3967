//! Implant sizing and placement for total hip arthroplasty.
//!
//! From the anatomy of one hip ([`PlanAnatomy`]: hip bone and femur surfaces, their landmarks,
//! the pelvic frame, the other hip when imaged), an implant [`coxa_implants::Catalog`] and a
//! range-of-motion scorer ([`coxa_core::RomScorer`], implemented by `coxa-sim`; this crate never
//! depends on the simulator), [`plan`] returns the best [`Plan`] and the Pareto set:
//!
//! 1. [`cup`]: shell size from the acetabular diameter (stated reaming and press-fit rule), cup
//!    centre near the native centre of rotation with a medialisation limit, host-bone coverage
//!    computed on the pelvis surface.
//! 2. [`stem_fill`]: stem size by canal fill, each series by its catalog size rule, against the
//!    endosteal canal measured on the CT (or estimated from the outer width); [`stem`]: head
//!    offset, stem series and seat to restore leg length and offset (against the other hip).
//! 3. [`space`]: the declared search space (cup inclination and anteversion, **radiographic**,
//!    Murray 1993, pelvic frame; stem version, by default the native version +- 10 deg; liners,
//!    heads, femoral reconstructions) and its one evaluator; [`optimise`]: an exhaustive coarse
//!    grid over every dimension, then a pattern search from the grid's best local maxima; every
//!    candidate scored over the daily-life motions at standing and sitting pelvic tilt
//!    ([`objective`]); parallel (rayon) and deterministic. [`closest`]: when the plan misses a
//!    daily-life need, the candidate that comes closest and what it changes.
//!
//! Units: mm, radians ([`coxa_core::Angle`]); degrees only in fields named `*_deg`.

pub mod closest;
pub mod cup;
pub mod cup_bone;
mod error;
mod input;
pub mod intervals;
pub mod objective;
pub mod optimise;
mod solid;
pub mod space;
pub mod stem;
pub mod stem_fill;

pub use closest::{ClosestChange, DailyLife, MotionMargin};
pub use error::{PlanError, Result};
pub use input::{FixedChoices, GRID_STEP_RANGE_DEG, HipLandmarks, PlanAnatomy, PlanOptions, REFINE_STEP_DEG, STEM_VERSION_LIMITS_DEG, SafeZone, SizingRules, Weights};
pub use objective::ObjectiveTerms;
pub use optimise::{ParetoPoint, Plan, plan};
pub use space::{Choice, Combo, PlanSpace};

pub use intervals::{InputUncertainty, Interval, PlanIntervals, SizeProbability};
pub use optimise::ScoredAngles;

/// The types most users of this crate need.
pub mod prelude {
    pub use crate::{HipLandmarks, Plan, PlanAnatomy, PlanError, PlanOptions, plan};
}
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_search;

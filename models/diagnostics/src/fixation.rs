//! A femoral fixation suggestion (cemented or cementless stem) from the bone's shape and density.
//!
//! The rule, each part cited:
//! - **Dorr type C** (canal-calcar ratio > 0.75: thin cortices, a stovepipe canal) -> cemented:
//!   Dorr et al., Bone 1993;14:231-242, who proposed the types to choose the fixation and found
//!   type C bone poorly suited to press-fit stems.
//! - **Cortical thickness index** (Dorr's CTI 100 mm below the lesser trochanter) below 0.40 ->
//!   cemented: a thin diaphyseal cortex marks poor bone stock (Dorr 1993; Sah et al.,
//!   Osteoporos Int 2007;18:1119-1126 relate low cortical indices to low BMD).
//! - **Osteoporosis by density** (T-score <= -2.5 at the femoral neck or total hip, WHO 1994; or
//!   YAM <= 70 %, Soen et al. 2013) -> cemented: osteoporotic bone raises the risk of
//!   intraoperative and early periprosthetic fracture with cementless stems (joint registries
//!   report more early revisions for periprosthetic fracture with cementless than cemented
//!   stems in older patients).
//! - **Canal flare index** < 3 (a stovepipe, Noble et al., Clin Orthop 1988;235:148-165) ->
//!   cemented preferred: a proximally wedging stem cannot fill a canal without flare.
//! - otherwise cementless.
//!
//! A criterion that cannot be measured (no CT, metal, a femur the scan cuts) is named as missing;
//! with none measured the suggestion is `None`.

use coxa_core::FemoralCanal;
use serde::{Deserialize, Serialize};

use crate::density::FemurDensity;

/// Cemented or cementless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fixation {
    /// Cemented stem.
    Cemented,
    /// Cementless (press-fit) stem.
    Cementless,
}

/// The suggestion with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixationSuggestion {
    /// The suggestion, when any criterion was measured.
    pub suggestion: Option<Fixation>,
    /// The criteria that speak for cemented fixation, with their values.
    pub reasons: Vec<String>,
    /// The criteria measured and within the cementless range.
    pub within: Vec<String>,
    /// The criteria that could not be measured.
    pub missing: Vec<String>,
    /// The rule, cited.
    pub rule: String,
}

/// The rule's text.
pub const RULE: &str = "cemented if Dorr type C (Dorr 1993), cortical thickness index < 0.40 (Dorr 1993; Sah 2007), T-score <= -2.5 or YAM <= 70 % (WHO 1994; Soen 2013) or canal flare index < 3 (Noble 1988); otherwise cementless";

/// Suggests a fixation from the femur's canal and density (either may be absent).
pub fn suggest(canal: Option<&FemoralCanal>, density: Option<&FemurDensity>) -> FixationSuggestion {
    let (mut reasons, mut within, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let mut check = |name: &str, value: Option<f64>, bad: &dyn Fn(f64) -> bool, fmt: &dyn Fn(f64) -> String| match value {
        Some(v) if bad(v) => reasons.push(format!("{name} {}", fmt(v))),
        Some(v) => within.push(format!("{name} {}", fmt(v))),
        None => missing.push(name.to_string()),
    };
    let dorr = canal.and_then(|c| c.canal_calcar_ratio);
    check("Dorr canal-calcar ratio", dorr, &|r| r > 0.75, &|r| format!("{r:.2} (type {:?})", coxa_core::DorrType::from_ratio(r)));
    check("cortical thickness index", canal.and_then(|c| c.cortical_index), &|v| v < 0.40, &|v| format!("{v:.2}"));
    let t = density.and_then(|d| [d.t_score.neck, d.t_score.total_hip].into_iter().flatten().reduce(f64::min));
    check("lowest hip T-score", t, &|v| v <= -2.5, &|v| format!("{v:.1}"));
    let yam = density.and_then(|d| [d.yam_percent.neck, d.yam_percent.total_hip].into_iter().flatten().reduce(f64::min));
    check("lowest hip YAM", yam, &|v| v <= 70.0, &|v| format!("{v:.0} %"));
    check("canal flare index", canal.and_then(|c| c.canal_flare_index), &|v| v < 3.0, &|v| format!("{v:.2}"));
    let suggestion = if !reasons.is_empty() {
        Some(Fixation::Cemented)
    } else if !within.is_empty() {
        Some(Fixation::Cementless)
    } else {
        None
    };
    FixationSuggestion { suggestion, reasons, within, missing, rule: RULE.into() }
}

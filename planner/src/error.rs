//! Errors of the planner.

/// Why a plan cannot be made.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// An option or constraint is NaN, infinite, empty or out of range.
    #[error("plan option {what} = {value} is invalid: {why}")]
    InvalidOption {
        /// Which option.
        what: String,
        /// Its value, as written.
        value: String,
        /// What is allowed.
        why: String,
    },
    /// The anatomy cannot be sized (no bone around the acetabulum, no femoral canal).
    #[error("{structure}: {why}")]
    Anatomy {
        /// Which structure.
        structure: &'static str,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// The catalog has nothing that fits (no shell that large, no head for the liner).
    #[error("no implant fits: {why}")]
    NoFit {
        /// What is missing, with the sizes wanted and available.
        why: String,
    },
    /// Every candidate failed to score.
    #[error("no candidate could be scored ({n} tried); first failure: {}", first.as_ref().map(ToString::to_string).unwrap_or_default())]
    NoFeasibleCandidate {
        /// Candidates tried.
        n: usize,
        /// The first scorer error (`None` when the grid held no candidate), kept as the source.
        #[source]
        first: Option<coxa_core::ScoreError>,
    },
    /// The placement search would score more candidates than its budget.
    #[error("the placement search would score {candidates} candidates ({dimensions}), more than its budget of {limit}: raise grid_step (or the scenario's step) or narrow the angle ranges")]
    SearchTooLarge {
        /// Candidates the grid holds.
        candidates: usize,
        /// The budget ([`crate::optimise::MAX_GRID_CANDIDATES`]).
        limit: usize,
        /// The grid's dimensions.
        dimensions: String,
    },
    /// The catalog refused a part.
    #[error(transparent)]
    Implant(#[from] coxa_implants::ImplantError),
    /// The scorer failed on the final plan.
    #[error(transparent)]
    Score(#[from] coxa_core::ScoreError),
}

/// Result with [`PlanError`].
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

/// Checks that `v` is finite and in `lo..=hi`.
pub(crate) fn check(what: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && (lo..=hi).contains(&v) { Ok(()) } else { Err(PlanError::InvalidOption { what: what.into(), value: v.to_string(), why: format!("must be a finite number in {lo}..={hi}") }) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::PlanError>();
    }
}

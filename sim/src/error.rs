//! Errors of the simulator.

/// Why a hip model or a sweep cannot be built.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An angle or length given to the model is NaN, infinite or out of range.
    #[error("{what} = {value} is invalid: {why}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// Its value.
        value: f64,
        /// What is allowed.
        why: String,
    },
    /// A bone surface is unusable (empty, or nothing of it near the hip).
    #[error("{bone}: {why}")]
    Bone {
        /// Which bone.
        bone: &'static str,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// A mesh that cannot be built (e.g. a user implant after its frame is applied).
    #[error("{what}: {source}")]
    Mesh {
        /// Which mesh.
        what: String,
        /// Why.
        #[source]
        source: coxa_core::Error,
    },
    /// The physics engine refused a collision mesh (rapier's error kept as the source).
    #[error("{what}: rapier refused it: {source}")]
    Collider {
        /// Which mesh.
        what: &'static str,
        /// rapier's (parry's) error.
        #[source]
        source: rapier3d::parry::shape::TriMeshBuilderError,
    },
    /// The implants are invalid or do not fit.
    #[error(transparent)]
    Implant(#[from] coxa_implants::ImplantError),
}

/// Result with [`SimError`].
pub type Result<T, E = SimError> = std::result::Result<T, E>;

/// Checks that `value` is finite and within `lo..=hi`.
pub(crate) fn finite_in(what: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && (lo..=hi).contains(&value) { Ok(()) } else { Err(SimError::InvalidInput { what: what.into(), value, why: format!("must be a finite number in {lo}..={hi}") }) }
}

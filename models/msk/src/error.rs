//! Errors of the musculoskeletal model.

/// Why a musculoskeletal computation cannot be done.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MskError {
    /// The model cannot be simulated as it is.
    #[error("the model cannot be simulated: {what}")]
    Model {
        /// What is wrong and how to fix it.
        what: String,
    },
    /// A name given by the caller is not in the model.
    #[error("'{name}' is not a {kind} of the model; check the spelling (names are case-sensitive)")]
    UnknownName {
        /// What kind of thing (body, coordinate, muscle).
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A motion lacks columns for coordinates of the model that are free to move.
    #[error(
        "the motion has no column for {} coordinate(s) of the model: {}; a missing coordinate is never taken as its default (the force would be wrong, not refused): give the inverse kinematics output of this model (OpenSim writes every coordinate) or add the column",
        names.len(),
        names.join(", ")
    )]
    MissingCoordinates {
        /// The coordinates without a column (unlocked, not set by a coupler).
        names: Vec<String>,
    },
    /// A motion has columns that are no coordinate of the model.
    #[error(
        "the motion has {} column(s) that are no coordinate of the model: {}; a column coxa does not read is never ignored in silence: give the model the motion was made for, or correct or remove the column(s)",
        names.len(),
        names.join(", ")
    )]
    UnknownColumns {
        /// The column labels no coordinate has.
        names: Vec<String>,
    },
    /// A muscle wraps over a shape coxa does not wrap yet.
    #[error(
        "muscle {muscle} wraps over {wrap_object}, a shape coxa cannot wrap (coxa wraps WrapCylinder, WrapSphere, WrapEllipsoid and WrapTorus); set the wrap object inactive or replace it with one of these"
    )]
    UnsupportedWrap {
        /// The muscle.
        muscle: String,
        /// The wrap object.
        wrap_object: String,
    },
    /// A number given is NaN, infinite or out of range.
    #[error("{what} = {value} is invalid: {why}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// Its value.
        value: f64,
        /// What is allowed.
        why: String,
    },
    /// The muscles cannot produce the joint moments the posture needs.
    #[error("static optimisation failed: {why}")]
    Infeasible {
        /// Which moments could not be balanced, and by how much.
        why: String,
    },
    /// Landmarks are missing or degenerate.
    #[error("landmarks: {why}")]
    Landmarks {
        /// What is missing and how to fix it.
        why: String,
    },
}

/// Result with [`MskError`].
pub type Result<T, E = MskError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::MskError>();
    }
}

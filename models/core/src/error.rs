//! Errors of the plain data types.

/// An invalid value handed to a constructor of this crate.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A voxel spacing is zero, negative or not finite.
    #[error("voxel spacing {spacing_mm:?} mm is invalid: every spacing must be finite and > 0")]
    InvalidSpacing {
        /// The offending spacing.
        spacing_mm: [f64; 3],
    },
    /// The direction matrix is not a rotation (orthonormal columns, determinant +-1).
    #[error(
        "direction matrix {direction:?} is not orthonormal (max deviation {deviation:.2e}); \
         sheared grids must be resampled first"
    )]
    NonOrthonormalDirection {
        /// Row-major direction matrix.
        direction: [f64; 9],
        /// Largest deviation of `D^T D` from the identity.
        deviation: f64,
    },
    /// A non-finite origin.
    #[error("grid origin {origin_lps_mm:?} is not finite")]
    InvalidOrigin {
        /// The offending origin.
        origin_lps_mm: [f64; 3],
    },
    /// The array shape does not match the grid size.
    #[error("voxel array has shape {array_shape:?} ([k, j, i]) but the grid has size {size:?} ([i, j, k])")]
    ShapeMismatch {
        /// Shape of the array, `[k, j, i]`.
        array_shape: [usize; 3],
        /// Size of the grid, `[i, j, k]`.
        size: [usize; 3],
    },
    /// A grid with no voxels.
    #[error("grid size {size:?} has an empty axis; a volume needs at least one voxel per axis")]
    EmptyGrid {
        /// The offending size.
        size: [usize; 3],
    },
    /// Landmarks that cannot define what is asked of them.
    #[error("invalid landmarks: {why}")]
    InvalidLandmarks {
        /// What is wrong.
        why: String,
    },
    /// A mesh with out-of-range indices or non-finite vertices.
    #[error("invalid mesh: {why}")]
    InvalidMesh {
        /// What is wrong.
        why: String,
    },
    /// A result that would exceed a size budget (issue 16: checked before allocating).
    #[error("{what} would have {count} {unit}, more than the budget of {limit}; {fix}")]
    TooLarge {
        /// What would be built, with its size.
        what: String,
        /// How many elements it would have (saturating at `u64::MAX`).
        count: u64,
        /// What is counted (e.g. "voxels").
        unit: &'static str,
        /// The budget.
        limit: u64,
        /// How to stay within it.
        fix: String,
    },
    /// Two objects that must share a grid do not.
    #[error("grids differ: {what}; resample one onto the other first")]
    GridMismatch {
        /// Which property differs, with the two values.
        what: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }
}

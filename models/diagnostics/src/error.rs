//! Errors of the radiomics extraction: each names the cause and, where there is one, the fix.

/// What went wrong in an extraction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The parameter file or settings ask for something wrong or not implemented.
    #[error("radiomics parameters: {0}")]
    Params(String),
    /// The mask holds no label at all.
    #[error("the mask is empty (no voxel is labelled): nothing to compute")]
    EmptyMask,
    /// The label is not in the mask.
    #[error("label {label} is not present in the mask; present labels: {present}")]
    LabelAbsent {
        /// The label asked for.
        label: u32,
        /// The labels the mask has, as a list.
        present: String,
    },
    /// Image and mask are on different grids.
    #[error("image and mask grids differ ({what}); resample the mask onto the image grid (nearest neighbour) first")]
    GeometryMismatch {
        /// What differs.
        what: String,
    },
    /// The ROI is too small to compute features on (pyradiomics' mask checks).
    #[error("label {label}: {reason}")]
    RoiTooSmall {
        /// The label.
        label: u32,
        /// Why (one voxel, too few dimensions, fewer voxels than minimumROISize, resegmentation kept <= 1 voxel).
        reason: String,
    },
    /// The image holds NaN or infinite voxels: they have no gray level (coxa's readers refuse
    /// such files; this guards images made by a caller).
    #[error("the image has {} voxels that are not numbers ({nan} NaN, {infinite} infinite); replace them (e.g. with -1024, air) first", nan + infinite)]
    NonFiniteImage {
        /// NaN voxels.
        nan: usize,
        /// Infinite voxels.
        infinite: usize,
    },
    /// A matrix would take more memory than allowed.
    #[error("{what} would need {bytes} bytes (over the {limit} byte limit); use a larger binWidth or a smaller binCount")]
    TooLarge {
        /// Which matrix.
        what: String,
        /// Bytes needed.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

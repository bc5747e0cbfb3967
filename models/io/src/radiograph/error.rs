//! Radiograph errors: each names the file, the cause, and what to do.
//!
//! A leaf: [`crate::Error`] wraps it, and nothing here uses the rest of the crate (no file circle).

use std::path::PathBuf;

/// Why a radiograph cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RadiographError {
    /// The file is an image, but not a plain radiograph.
    #[error("{path}: {what}, not a plain radiograph (CR or DX); {fix}")]
    NotRadiograph {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: String,
        /// What to do instead.
        fix: &'static str,
    },
    /// Neither the file nor the caller gives a pixel spacing.
    #[error(
        "{path}: no pixel spacing ({why}); pass --pixel-spacing-mm with the detector's pixel size in mm \
         (for a scanned film the scanner's), and --magnification if you know it"
    )]
    NoSpacing {
        /// The file.
        path: PathBuf,
        /// Why none is known.
        why: &'static str,
    },
    /// The image is of a kind coxa does not read.
    #[error("{path}: {what}; {fix}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: String,
        /// What to do.
        fix: &'static str,
    },
    /// A number is outside anything a radiograph has.
    #[error("{path}: {what} is {value}, outside {range}; {fix}")]
    Implausible {
        /// The file.
        path: PathBuf,
        /// Which value (`ImagerPixelSpacing`, `--pixel-spacing-mm`, `Rows`).
        what: &'static str,
        /// The value.
        value: String,
        /// The accepted range.
        range: String,
        /// What to do.
        fix: &'static str,
    },
    /// A PNG file that does not decode.
    #[error("{path}: not a readable PNG image ({source}); re-export it as an 8- or 16-bit greyscale PNG")]
    Png {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: png::DecodingError,
    },
}

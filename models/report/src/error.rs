//! The report's errors.

use std::path::PathBuf;

/// What can go wrong making a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A picture the report lists cannot be read.
    #[error("cannot read the report's picture {path}: {source}; rerun the case to make its pictures")]
    ReadPicture {
        /// The picture.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A picture is not a PNG file the PDF can hold.
    #[error("the picture \"{caption}\" is not a PNG file the PDF can hold: {reason}")]
    Picture {
        /// Its caption.
        caption: String,
        /// Why.
        reason: String,
    },
    /// The bundled fonts cannot be read (a damaged build).
    #[error("the report's bundled font {name} cannot be read; rebuild coxa")]
    BundledFont {
        /// The font.
        name: &'static str,
    },
    /// The template engine failed.
    #[error("the HTML report could not be written: {0}")]
    Template(#[from] askama::Error),
    /// The PDF library refused the document.
    #[error("the PDF report could not be written: {0}")]
    Pdf(String),
}

/// The report's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }
}

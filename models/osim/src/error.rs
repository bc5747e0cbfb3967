//! Errors of the .osim reader and writer.

use std::path::PathBuf;

/// Why an .osim model cannot be read or written.
///
/// Every variant names the file and, where there is one, the element (`<Tag name="..">` and its
/// line) so that the cause can be found in the XML.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum OsimError {
    /// The file cannot be read or written.
    #[error("cannot access {file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not well-formed XML.
    #[error("{file} is not well-formed XML: {source}")]
    Xml {
        /// The file.
        file: PathBuf,
        /// The parser's error (with its line and column).
        #[source]
        source: roxmltree::Error,
    },
    /// The XML is not an OpenSim 4 model document.
    #[error("{file}: {why}")]
    NotAModel {
        /// The file.
        file: PathBuf,
        /// What was found instead, and what to do.
        why: String,
    },
    /// A required child element or value is missing.
    #[error("{file}: {element} has no <{child}>; add it (see the OpenSim 4 model format)")]
    Missing {
        /// The file.
        file: PathBuf,
        /// The element lacking the child, as `<Tag name="..."> (line N)`.
        element: String,
        /// The missing child's tag.
        child: String,
    },
    /// A value cannot be parsed or is out of its domain (NaN, wrong count, negative length).
    #[error("{file}: {element}: {why}")]
    BadValue {
        /// The file.
        file: PathBuf,
        /// The element holding the value, as `<Tag name="..."> (line N)`.
        element: String,
        /// What is wrong with it.
        why: String,
    },
    /// A socket or name refers to a body, frame, coordinate or wrap object that does not exist.
    #[error("{file}: {element} refers to '{reference}', which is not in the model")]
    UnknownReference {
        /// The file.
        file: PathBuf,
        /// The referring element, as `<Tag name="..."> (line N)`.
        element: String,
        /// The reference as written.
        reference: String,
    },
    /// The element is valid OpenSim but coxa does not model it.
    #[error("{file}: {element}: {what} is not supported by coxa; {hint}")]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// The element, as `<Tag name="..."> (line N)`.
        element: String,
        /// What is unsupported.
        what: String,
        /// What to do instead.
        hint: String,
    },
    /// The output file exists already: coxa never overwrites.
    #[error("{file} exists already; coxa never overwrites, choose a new name")]
    Exists {
        /// The file.
        file: PathBuf,
    },
}

/// Result with [`OsimError`].
pub type Result<T, E = OsimError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::OsimError>();
    }
}

//! The errors of coxa-pacs: one per cause, each naming the server or file and the fix.

use std::path::PathBuf;

/// What went wrong talking to a PACS or writing results.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `--server` value is not a DICOMweb or DIMSE address.
    #[error("bad PACS address {url:?}: {why}; use http(s)://host:port/dicom-web or dicom://AET@host:port")]
    BadAddress {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// Nothing answers at the address (server down, wrong host or port).
    #[error("cannot reach the PACS at {server}: {why}; is it running, and are host and port right?")]
    Unreachable {
        /// The server (no credentials).
        server: String,
        /// The transport's message.
        why: String,
    },
    /// The server took longer than the timeout to answer.
    #[error("the PACS at {server} did not answer within {timeout_s} s ({during}); try again later or raise --timeout-s")]
    Timeout {
        /// The server.
        server: String,
        /// The timeout, seconds.
        timeout_s: u64,
        /// What coxa was waiting for.
        during: String,
    },
    /// The DICOM server rejected the association (AE titles, or no common SOP class).
    #[error("the PACS at {server} refused the association: {why}; check the called AE title (dicom://AET@host:port) and that the PACS knows coxa's calling AE title")]
    AssociationRejected {
        /// The server.
        server: String,
        /// The rejection reason.
        why: String,
    },
    /// The PACS refused this way of retrieving (e.g. C-GET not allowed for coxa).
    #[error("the PACS at {server} refused {how} ({why}); many hospital PACS allow only C-MOVE: try --retrieve move (or --retrieve get if this was the move)")]
    RetrieveRefused {
        /// The server.
        server: String,
        /// "C-GET" or "C-MOVE".
        how: String,
        /// The status or the missing presentation context.
        why: String,
    },
    /// The PACS answered the C-MOVE with a failure and sent nothing: most often it does not
    /// know coxa's AE title as a move destination (0xA801; Orthanc answers 0xC000).
    #[error(
        "the PACS at {server} answered the C-MOVE with status 0x{status:04X} ({meaning}) and sent nothing; check that it lists coxa's AE title {aet} as a destination with this computer's address and port {port} (its administrator adds it), or use --retrieve get"
    )]
    MoveRefused {
        /// The server.
        server: String,
        /// The DIMSE status.
        status: u16,
        /// What the status means.
        meaning: String,
        /// coxa's AE title.
        aet: String,
        /// The port coxa listened on.
        port: u16,
    },
    /// coxa could not listen for a C-MOVE.
    #[error("cannot listen on port {port} for the C-MOVE: {why}; choose another --move-port (the PACS's entry for coxa must name the same port)")]
    MoveListen {
        /// The port.
        port: u16,
        /// The system's reason.
        why: String,
    },
    /// The PACS's TLS certificate is not trusted (or the TLS handshake failed).
    #[error("the PACS at {server} presented a TLS certificate coxa does not trust ({why}); {fix}")]
    Tls {
        /// The server.
        server: String,
        /// The TLS library's reason.
        why: String,
        /// What to do: name the hospital CA with --ca-bundle, or check the one named.
        fix: String,
    },
    /// A CA bundle that cannot be used.
    #[error("cannot use the CA bundle {path}: {why}; give --ca-bundle a PEM file holding the certificate(s) of the CA that signs the PACS's certificate")]
    CaBundle {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// HTTP 401 or 403: no token, or one the PACS does not accept.
    #[error("the PACS at {server} answered HTTP {status} ({meaning}) to {what}; {fix}")]
    Unauthorized {
        /// The server.
        server: String,
        /// The request.
        what: String,
        /// 401 or 403.
        status: u16,
        /// "unauthorized" or "forbidden".
        meaning: String,
        /// What to do about the token.
        fix: String,
    },
    /// An HTTP status that is not success.
    #[error("the PACS answered {status} to {what} at {server}: {body}")]
    Http {
        /// The server.
        server: String,
        /// The request, e.g. "QIDO-RS series search".
        what: String,
        /// HTTP status code.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// A DIMSE operation ended with a failure status.
    #[error("the PACS at {server} answered {what} with status 0x{status:04X} ({meaning})")]
    DimseStatus {
        /// The server.
        server: String,
        /// The operation.
        what: String,
        /// The DIMSE status.
        status: u16,
        /// What the status means.
        meaning: String,
    },
    /// The server broke the protocol or sent something coxa cannot read.
    #[error("unexpected answer from the PACS at {server}: {why}")]
    Protocol {
        /// The server.
        server: String,
        /// What was wrong.
        why: String,
    },
    /// The study is not on the server.
    #[error("study {study} is not on the PACS at {server}; list the studies with `coxa pacs find --server ...`")]
    StudyNotFound {
        /// The server.
        server: String,
        /// StudyInstanceUID.
        study: String,
    },
    /// A series named with `--series` is not in the study.
    #[error("series {series} is not in study {study} on {server}; the study's series: {listing}")]
    SeriesNotFound {
        /// The server.
        server: String,
        /// StudyInstanceUID.
        study: String,
        /// The series asked for.
        series: String,
        /// The series there are.
        listing: String,
    },
    /// A series arrived with fewer instances than the server announced (a transfer cut short).
    #[error("series {series} arrived incomplete from {server}: {got} of {expected} instances ({why}); nothing of it was kept, pull again")]
    Incomplete {
        /// Why the transfer stopped.
        why: String,
        /// The server.
        server: String,
        /// SeriesInstanceUID.
        series: String,
        /// Instances received whole.
        got: usize,
        /// Instances the server announced.
        expected: usize,
    },
    /// Some objects were not stored.
    #[error("the PACS at {server} did not store {failed} of {total} objects ({why})")]
    StoreFailed {
        /// The server.
        server: String,
        /// How many failed.
        failed: usize,
        /// How many were sent.
        total: usize,
        /// The server's reason.
        why: String,
    },
    /// No series of the study can be planned on.
    #[error("no series of study {study} is an axial CT covering both hips: {listing}")]
    NoPlanningSeries {
        /// StudyInstanceUID.
        study: String,
        /// Each series and why it was not taken.
        listing: String,
    },
    /// A case folder lacks what a result needs, or holds something unreadable.
    #[error("case {path}: {why}")]
    Case {
        /// The file or folder.
        path: PathBuf,
        /// What is missing or wrong, and the fix.
        why: String,
    },
    /// A file would be overwritten.
    #[error("{path} exists; coxa never overwrites: choose another --out or move it away")]
    WouldOverwrite {
        /// The existing file or folder.
        path: PathBuf,
    },
    /// Something not coxa's at the path of a temporary folder (never removed).
    #[error(transparent)]
    Scratch(#[from] coxa_io::scratch::ScratchError),
    /// A file system error.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What coxa was doing ("write", "read", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A DICOM object could not be read or built.
    #[error("DICOM {what}: {why}")]
    Dicom {
        /// The object or file.
        what: String,
        /// The cause.
        why: String,
    },
    /// Reading the CT or the label map failed.
    #[error(transparent)]
    Read(#[from] coxa_io::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { action, path, source }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }
}

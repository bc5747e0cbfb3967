//! The case library's error: one message naming the cause and the fix, the errors under it (each
//! stage adds what it was doing, as `context`), and its [`ErrorKind`], which decides the program's
//! exit status (2: the input or the request is wrong; 1: the work ran but some of it failed).
//!
//! Written here rather than taken from `anyhow` (which the program and the tests use): a library's
//! error is a type its callers can match on ([`Error::kind`]) and convert (`std::error::Error`),
//! and the kind has to travel with every message. The shape is anyhow's, so that every message
//! and its chain of causes read as they did before the library was split from the program (issue
//! 58): [`Context::context`], [`bail!`](crate::bail), [`ensure!`](crate::ensure) and
//! [`err!`](crate::err) take the places of anyhow's `context`, `bail!`, `ensure!` and `anyhow!`.

use std::error::Error as StdError;
use std::fmt;

/// What kind of failure an [`Error`] is: the program's exit status follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input or the request is wrong (a broken file, a missing tag, NaN in a scenario, an
    /// output folder that exists): the user fixes it and runs again. The program exits with 2.
    Input,
    /// The work ran but some of it failed (cases of a run, an internal error such as a caught
    /// panic): retry the failed part or report it. The program exits with 1.
    Failed,
}

impl ErrorKind {
    /// The program's exit status for this kind: 2 for [`ErrorKind::Input`], 1 for
    /// [`ErrorKind::Failed`].
    pub fn exit_status(self) -> u8 {
        match self {
            Self::Input => 2,
            Self::Failed => 1,
        }
    }
}

/// What an [`Error`] holds.
enum Repr {
    /// A message of coxa's own.
    Message(String),
    /// Another crate's error, shown as it shows itself.
    Wrapped(Box<dyn StdError + Send + Sync + 'static>),
    /// What coxa was doing when the error under it happened.
    Context { message: String, source: Box<Error> },
}

/// An error of the case library: see the module docs.
pub struct Error {
    kind: ErrorKind,
    repr: Repr,
}

/// The case library's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of bad input with `message` (which names the cause and the fix).
    pub fn msg(message: impl fmt::Display) -> Self {
        Self { kind: ErrorKind::Input, repr: Repr::Message(message.to_string()) }
    }

    /// An error of work that ran and failed (exit status 1), with `message`.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self { kind: ErrorKind::Failed, repr: Repr::Message(message.to_string()) }
    }

    /// Another crate's error, as bad input.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self { kind: ErrorKind::Input, repr: Repr::Wrapped(Box::new(error)) }
    }

    /// This error under `message` (what coxa was doing); the kind is kept.
    pub fn context(self, message: impl fmt::Display) -> Self {
        Self { kind: self.kind, repr: Repr::Context { message: message.to_string(), source: Box::new(self) } }
    }

    /// The same error as the kind `kind`.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// This error and every error under it, outermost first.
    pub fn chain(&self) -> Chain<'_> {
        Chain { next: Some(self) }
    }
}

/// An error and the errors under it, outermost first ([`Error::chain`]).
pub struct Chain<'a> {
    next: Option<&'a (dyn StdError + 'static)>,
}

impl<'a> Iterator for Chain<'a> {
    type Item = &'a (dyn StdError + 'static);

    fn next(&mut self) -> Option<Self::Item> {
        let e = self.next?;
        self.next = e.source();
        Some(e)
    }
}

impl fmt::Display for Error {
    /// The message; with `{:#}`, every cause after it, joined by `: ` (as `anyhow` does).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Message(m) | Repr::Context { message: m, .. } => f.write_str(m)?,
            Repr::Wrapped(e) => write!(f, "{e}")?,
        }
        if f.alternate() {
            for cause in self.chain().skip(1) {
                write!(f, ": {cause}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    /// The message, then each cause on its own line (as `anyhow` prints an error that ends
    /// `main`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let causes: Vec<String> = self.chain().skip(1).map(ToString::to_string).collect();
        if !causes.is_empty() {
            write!(f, "\n\nCaused by:")?;
            for (i, c) in causes.iter().enumerate() {
                write!(f, "\n    {i}: {c}")?;
            }
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.repr {
            Repr::Message(_) => None,
            Repr::Wrapped(e) => e.source(),
            Repr::Context { source, .. } => Some(source.as_ref()),
        }
    }
}

/// `From` for the errors of the crates under coxa-case (each wrapped as bad input), so that `?`
/// converts them.
macro_rules! from_errors {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::new(e)
            }
        })*
    };
}

from_errors!(
    std::io::Error,
    std::fmt::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::num::TryFromIntError,
    std::string::FromUtf8Error,
    std::path::StripPrefixError,
    std::time::SystemTimeError,
    serde_json::Error,
    toml::de::Error,
    toml::ser::Error,
    csv::Error,
    png::EncodingError,
    png::DecodingError,
    coxa_core::Error,
    coxa_core::ScoreError,
    coxa_io::Error,
    coxa_io::scratch::ScratchError,
    coxa_anatomy::bone_check::BoneCheckError,
    coxa_anatomy::landmarks::LandmarkError,
    coxa_anatomy::segment::SegmentError,
    coxa_anatomy::mesh_phantom::MeshPhantomError,
    coxa_anatomy::labels::LabelError,
    coxa_anatomy::surface::SurfaceError,
    coxa_anatomy::muscles::MuscleError,
    coxa_implants::ImplantError,
    coxa_planner::PlanError,
    coxa_sim::SimError,
    coxa_msk::MskError,
    coxa_msk::osim::OsimError,
    coxa_shape::ShapeError,
    coxa_infer::Error,
    coxa_diagnostics::Error,
    coxa_diagnostics::drr::DrrError,
    coxa_diagnostics::pseudo_mri::PseudoMriError,
    coxa_pacs::Error,
    coxa_report::Error,
);

/// Adds what coxa was doing to an error (anyhow's `Context`, for this crate's [`Error`]).
pub trait Context<T> {
    /// The error (or `None`) under `message`.
    ///
    /// # Errors
    /// `self`'s error, or `message` for `None`.
    fn context<C: fmt::Display>(self, message: C) -> Result<T>;

    /// The error (or `None`) under the message `f` makes (only made when there is an error).
    ///
    /// # Errors
    /// As [`Context::context`].
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context<C: fmt::Display>(self, message: C) -> Result<T> {
        self.map_err(|e| e.into().context(message))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context<C: fmt::Display>(self, message: C) -> Result<T> {
        self.ok_or_else(|| Error::msg(message))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.ok_or_else(|| Error::msg(f()))
    }
}

/// An [`Error`] of bad input from a format string (anyhow's `anyhow!`).
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::error::Error::msg(format!($($arg)*))
    };
}

/// Returns an [`Error`] of bad input from a format string (anyhow's `bail!`).
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::err!($($arg)*).into())
    };
}

/// Returns an [`Error`] of bad input unless the condition holds (anyhow's `ensure!`).
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_chain_reads_as_anyhows() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e: Error = Err::<(), _>(io).context("reading ct.nii").context("case a").unwrap_err();
        let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
        assert_eq!(chain, ["case a", "reading ct.nii", "no such file"]);
        assert_eq!(e.kind(), ErrorKind::Input);
        assert_eq!(format!("{e:#}"), "case a: reading ct.nii: no such file");
        assert_eq!(format!("{e:?}"), "case a\n\nCaused by:\n    0: reading ct.nii\n    1: no such file");
    }

    #[test]
    fn the_kind_travels_under_context_and_sets_the_exit_status() {
        let e = Error::failed("2 of 3 cases failed").context("coxa run");
        assert_eq!(e.kind(), ErrorKind::Failed);
        assert_eq!(e.kind().exit_status(), 1);
        assert_eq!(Error::msg("bad").kind().exit_status(), 2);
        let none: Option<u8> = None;
        assert_eq!(none.context("no planning series").unwrap_err().to_string(), "no planning series");
    }

    #[test]
    fn the_macros_make_input_errors() {
        fn f(x: f64) -> Result<f64> {
            ensure!(x.is_finite(), "x = {x}: give a finite number");
            if x < 0.0 {
                bail!("x = {x} is negative");
            }
            Ok(x)
        }
        assert_eq!(f(f64::NAN).unwrap_err().to_string(), "x = NaN: give a finite number");
        assert_eq!(f(-1.0).unwrap_err().to_string(), "x = -1 is negative");
        assert_eq!(err!("{} cases", 3).to_string(), "3 cases");
    }
}

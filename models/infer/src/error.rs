//! The errors of coxa-infer: each names what was wrong and how to fix it.

use std::path::PathBuf;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while finding ONNX Runtime, reading a model card or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No ONNX Runtime library anywhere coxa looks.
    #[error(
        "ONNX Runtime was not found (looked at: {searched}). Install it with `pip install onnxruntime==1.31.1` \
         (scripts/setup puts it in the project's .venv), or set ORT_DYLIB_PATH to the library file \
         (onnxruntime/capi/libonnxruntime.so.1.31.1 inside the wheel)"
    )]
    RuntimeNotFound {
        /// Every place looked at, in order.
        searched: String,
    },
    /// `ORT_DYLIB_PATH` names a file that does not exist.
    #[error("ORT_DYLIB_PATH is {path} but no such file exists; point it at libonnxruntime.so.1.31.1 (onnxruntime/capi in the PyPI wheel) or unset it")]
    RuntimeEnvMissing {
        /// The value of ORT_DYLIB_PATH.
        path: PathBuf,
    },
    /// The library found is not the version coxa is built for.
    #[error(
        "ONNX Runtime at {path} is version {found}, but coxa is built for 1.{required}.x (ort api-{required}); \
         install `pip install onnxruntime==1.31.1` or set ORT_DYLIB_PATH to a 1.{required} library"
    )]
    RuntimeVersion {
        /// The library file.
        path: PathBuf,
        /// The version found.
        found: String,
        /// The minor version required.
        required: u32,
    },
    /// The library file exists but does not load.
    #[error("cannot load ONNX Runtime from {path}; reinstall it (`pip install --force-reinstall onnxruntime==1.31.1`) or set ORT_DYLIB_PATH to a working libonnxruntime")]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// Why it did not load.
        #[source]
        source: ort::LoadDynamicError,
    },
    /// An ONNX Runtime call failed.
    #[error("ONNX Runtime failed while {context}: {source}")]
    Ort {
        /// What coxa was doing.
        context: String,
        /// ONNX Runtime's error.
        #[source]
        source: ort::Error,
    },
    /// A model card cannot be read.
    #[error("cannot read model card {path}: {source}; check the path")]
    CardRead {
        /// The card.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A model card is not valid TOML or has unknown / missing fields.
    #[error("model card {path} is not valid: {source}; the README section \"Learned segmentation\" lists the fields a card has")]
    CardParse {
        /// The card.
        path: PathBuf,
        /// The parser's message (line, column, field).
        #[source]
        source: toml::de::Error,
    },
    /// A model card has a field with a wrong value.
    #[error("model card {path}: field `{field}` {problem}")]
    CardInvalid {
        /// The card.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// The weights named by a card cannot be read.
    #[error("cannot read the weights {path} named by card {card}: {source}; put the .onnx file beside the card or fix `weights`")]
    WeightsRead {
        /// The weights file.
        path: PathBuf,
        /// The card.
        card: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The weights' SHA-256 is not the card's.
    #[error(
        "weights {path} have SHA-256 {found} but card {card} says {expected}: the file is not the model the card \
         describes; get the right file, or if you changed the model on purpose, update `sha256` in the card"
    )]
    Sha256Mismatch {
        /// The weights file.
        path: PathBuf,
        /// The card.
        card: PathBuf,
        /// The card's hash.
        expected: String,
        /// The file's hash.
        found: String,
    },
    /// The ONNX model's inputs or outputs are not what its card says.
    #[error("model {weights} does not match its card {card}: {what}; fix the card or export the model again")]
    ModelMismatch {
        /// The weights file.
        weights: PathBuf,
        /// The card.
        card: PathBuf,
        /// What differs.
        what: String,
    },
    /// The input volume or the options cannot be used with this model.
    #[error("{what}")]
    BadInput {
        /// What is wrong and how to fix it.
        what: String,
    },
    /// A grid or volume could not be built.
    #[error("building the {what} grid failed: {source}")]
    Core {
        /// Which grid.
        what: &'static str,
        /// The cause.
        #[source]
        source: coxa_core::Error,
    },
}

impl Error {
    pub(crate) fn ort(context: impl Into<String>, source: impl Into<ort::Error>) -> Self {
        Self::Ort { context: context.into(), source: source.into() }
    }
}

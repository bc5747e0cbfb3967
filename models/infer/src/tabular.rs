//! Tabular models: a classifier over named features (e.g. radiomics features, a prognosis
//! model) exported to ONNX, with its own card. scikit-learn pipelines exported by skl2onnx
//! (with `zipmap` off) fit as they are.
//!
//! ```toml
//! card_version = 1
//! name = "my-prognosis"
//! version = "1.0.0"
//! task = "tabular-classification"
//! test_model = false              # true: a test model (say so in the description)
//! description = "what it predicts, on which population, how it was validated"
//! weights = "my_prognosis.onnx"   # relative to the card
//! sha256 = "..."                  # of the weights file, lower-case hex
//!
//! [input]
//! name = "features"               # the ONNX input: float32 [N, features]
//! features = ["original_firstorder_Mean", "original_glcm_Contrast"]  # column names, in the model's order
//!
//! [output]
//! name = "probabilities"          # the ONNX output: float32 [N, classes]
//! classes = ["poor", "good"]      # one name per output column
//! ```
//!
//! The feature names are the columns of the table the model is applied to (for `coxa radiomics`,
//! pyradiomics' names); a name the table lacks is an error naming it, never a zero.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use crate::model::checked_small_session;
use crate::{Error, Result};

/// The card of a tabular model (see the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabularCard {
    /// Must be [`crate::card::CARD_VERSION`].
    pub card_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Must be `"tabular-classification"`.
    pub task: String,
    /// True for test models (not for clinical use).
    #[serde(default)]
    pub test_model: bool,
    /// Free text: what it predicts and from what.
    #[serde(default)]
    pub description: String,
    /// The ONNX file, relative to the card.
    pub weights: PathBuf,
    /// SHA-256 of the ONNX file, hex.
    pub sha256: String,
    /// What the model takes.
    pub input: TabularInput,
    /// What the model gives.
    pub output: TabularOutput,
}

/// `[input]` of a tabular card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabularInput {
    /// The ONNX input's name.
    pub name: String,
    /// The features, in the model's column order.
    pub features: Vec<String>,
}

/// `[output]` of a tabular card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabularOutput {
    /// The ONNX output's name (the probabilities).
    pub name: String,
    /// Class names, one per output column.
    pub classes: Vec<String>,
}

/// A tabular model: its card, checked weights and a session.
#[derive(Debug)]
pub struct TabularModel {
    card: TabularCard,
    card_path: PathBuf,
    session: Session,
}

impl TabularModel {
    /// Reads the card, checks the weights' SHA-256 and the graph's input and output names, and
    /// makes a session (one thread: a few rows).
    pub fn load(card_path: &Path) -> Result<Self> {
        let text = coxa_io::read_text_bounded(card_path, coxa_io::Bound::TEXT).map_err(|source| Error::CardRead { path: card_path.to_path_buf(), source })?;
        let card: TabularCard = toml::from_str(&text).map_err(|source| Error::CardParse { path: card_path.to_path_buf(), source })?;
        let bad = |field: &str, problem: String| Error::CardInvalid { path: card_path.to_path_buf(), field: field.into(), problem };
        if card.card_version != crate::card::CARD_VERSION {
            return Err(bad("card_version", format!("is {}, this coxa reads version {}", card.card_version, crate::card::CARD_VERSION)));
        }
        if card.task != "tabular-classification" {
            return Err(bad("task", format!("is {:?}; a tabular card has \"tabular-classification\"", card.task)));
        }
        if card.input.features.is_empty() {
            return Err(bad("input.features", "is empty: name the model's input columns".into()));
        }
        if card.output.classes.is_empty() {
            return Err(bad("output.classes", "is empty: name the model's output columns".into()));
        }
        let (weights, session) = checked_small_session(card_path, &card.weights, &card.sha256)?;
        let mismatch = |what: String| Error::ModelMismatch { weights: weights.clone(), card: card_path.to_path_buf(), what };
        if !session.inputs().iter().any(|i| i.name() == card.input.name) {
            return Err(mismatch(format!("no input named {:?} (the graph has {:?})", card.input.name, session.inputs().iter().map(|i| i.name().to_string()).collect::<Vec<_>>())));
        }
        if !session.outputs().iter().any(|o| o.name() == card.output.name) {
            return Err(mismatch(format!("no output named {:?} (the graph has {:?})", card.output.name, session.outputs().iter().map(|o| o.name().to_string()).collect::<Vec<_>>())));
        }
        Ok(Self { card, card_path: card_path.to_path_buf(), session })
    }

    /// The card.
    pub fn card(&self) -> &TabularCard {
        &self.card
    }

    /// The model's input row from a table row given as `(column name, value)`: the card's
    /// features picked by name. A feature the row lacks is an error naming it and the card.
    pub fn row_from(&self, columns: &[(String, f64)]) -> Result<Vec<f32>> {
        self.card
            .input
            .features
            .iter()
            .map(|f| {
                columns.iter().find(|(n, _)| n == f).map(|(_, v)| *v as f32).ok_or_else(|| Error::BadInput {
                    what: format!(
                        "model card {} needs the feature {f}, which the table has no column for (columns are named as pyradiomics names them, e.g. original_firstorder_Mean; enable its class and image type in the parameters)",
                        self.card_path.display()
                    ),
                })
            })
            .collect()
    }

    /// The class probabilities of each row (`rows[i]` in the card's feature order).
    pub fn predict(&mut self, rows: &[Vec<f32>]) -> Result<Vec<Vec<f64>>> {
        let nf = self.card.input.features.len();
        if let Some(r) = rows.iter().find(|r| r.len() != nf) {
            return Err(Error::BadInput { what: format!("a row has {} values, the model {} features", r.len(), nf) });
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let x = Array2::from_shape_vec((rows.len(), nf), rows.concat()).map_err(|e| Error::BadInput { what: format!("the input rows: {e}") })?;
        let input = TensorRef::from_array_view(x.view()).map_err(|e| Error::ort("making the input tensor", e))?;
        let outputs = self.session.run(ort::inputs![self.card.input.name.as_str() => input]).map_err(|e| Error::ort("running the tabular model", e))?;
        let y = outputs[self.card.output.name.as_str()].try_extract_array::<f32>().map_err(|e| Error::ort("reading the probabilities", e))?;
        let shape = y.shape().to_vec();
        let nc = self.card.output.classes.len();
        if shape.len() != 2 || shape[0] != rows.len() || shape[1] != nc {
            return Err(Error::ModelMismatch {
                weights: self.card.weights.clone(),
                card: self.card_path.clone(),
                what: format!("the output {} has shape {shape:?}, the card says [{}, {nc}] (one column per class)", self.card.output.name, rows.len()),
            });
        }
        Ok(y.rows().into_iter().map(|r| r.iter().map(|v| f64::from(*v)).collect()).collect())
    }
}

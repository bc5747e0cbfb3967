//! Image models: a classifier or regressor over one plain radiograph (hip fracture probability,
//! bone mineral density, Kellgren-Lawrence grade, ...) exported to ONNX, with its own card.
//!
//! ```toml
//! card_version = 1
//! name = "hip-fracture"
//! version = "1.0.0"
//! task = "image-classification"     # or "image-regression"
//! test_model = false                # true: a test model, never clinical (say so in the description)
//! description = "what it predicts, from which view, on which population, how it was validated"
//! weights = "hip_fracture.onnx"     # relative to the card
//! sha256 = "..."                    # of the weights file, lower-case hex
//!
//! [input]
//! name = "image"                    # the ONNX input: float32 [N, channels, rows, cols]
//! channels = 1                      # 1, or 3 (the grey image repeated, for ImageNet-style networks)
//! rows = 256
//! cols = 256
//! resize = "spacing"                # "spacing": to pixel_spacing_mm, then centred crop or pad
//!                                   # "stretch": the whole image to rows x cols (aspect not kept)
//! pixel_spacing_mm = 0.8            # with resize = "spacing"
//! plane = "detector"                # the spacing's plane: "detector" (ImagerPixelSpacing) or
//!                                   # "patient" (calibrated, or over the magnification)
//! pad_value = 0.0                   # presentation value of padding (0 black, 1 white)
//!
//! [input.normalisation]             # on presentation values (0 black .. 1 white)
//! scheme = "fixed"                  # (x - mean) / std; or "zscore" (the image's own), or "none"
//! mean = [0.5]                      # one per channel (or one number)
//! std = [0.25]
//!
//! [output]
//! name = "probabilities"            # the ONNX output: float32 [N, classes] or [N, targets]
//! kind = "probabilities"            # classification: "probabilities" or "logits" (softmax applied)
//! classes = ["no fracture", "fracture"]
//! # regression instead: kind = "values" and one [[output.targets]] per column:
//! # [[output.targets]]
//! # name = "neck_abmd"
//! # unit = "g/cm2"
//! ```
//!
//! **The pixels the model sees** ([`preprocess`]): the radiograph's presentation values (0 black,
//! 1 white: after the VOI window and, for MONOCHROME1, the inversion; see
//! `coxa_io::radiograph`), resized with antialiased bilinear interpolation (the triangle filter
//! widened by the shrink factor, weights normalised over the pixels inside the image, pixel
//! centres at half-integers: what Pillow's `Image.resize(.., BILINEAR)` computes, written here
//! because no image crate here resamples `f32` this way), then cropped or padded about the
//! centre to `rows x cols` (offset `(difference) / 2` rounded down), then normalised. With
//! `resize = "spacing"` the scale along each axis is the integer size nearest `n x spacing /
//! target` (halves rounded up) over `n`, so the spacing reached is within half a pixel of the card's and is reported.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array4, ArrayView2};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use serde::{Deserialize, Serialize};

use crate::model::checked_small_session;
use crate::{Error, Result};

/// What an image model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum ImageTask {
    /// Class probabilities (e.g. fracture / no fracture, Kellgren-Lawrence grade 0-4).
    #[serde(rename = "image-classification")]
    Classification,
    /// Numbers with units (e.g. areal BMD in g/cm², YAM %).
    #[serde(rename = "image-regression")]
    Regression,
}

/// How the radiograph becomes the model's rows x cols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resize {
    /// To the card's pixel spacing, then a centred crop or pad.
    Spacing,
    /// The whole image to rows x cols.
    Stretch,
}

/// In which plane a pixel spacing is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// At the detector (ImagerPixelSpacing): objects magnified.
    Detector,
    /// At the patient (calibrated, or the detector's over the magnification).
    Patient,
}

/// Intensity normalisation of the presentation values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase", deny_unknown_fields)]
pub enum ImageNormalisation {
    /// `(x - mean) / std`, one value per channel or one for all.
    Fixed {
        /// Mean(s).
        #[serde(deserialize_with = "crate::card::one_or_many")]
        mean: Vec<f64>,
        /// Standard deviation(s).
        #[serde(deserialize_with = "crate::card::one_or_many")]
        std: Vec<f64>,
    },
    /// `(x - mean) / std` with the model input's own mean and (population) standard deviation.
    Zscore,
    /// The presentation values as they are.
    None,
}

/// `[input]` of an image card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageInput {
    /// The ONNX input's name.
    pub name: String,
    /// 1, or 3 (grey repeated).
    #[serde(default = "one")]
    pub channels: usize,
    /// Rows the model takes.
    pub rows: usize,
    /// Columns the model takes.
    pub cols: usize,
    /// How the image is brought to rows x cols.
    pub resize: Resize,
    /// The spacing the model was trained at, mm (with `resize = "spacing"`).
    #[serde(default)]
    pub pixel_spacing_mm: Option<f64>,
    /// The plane of `pixel_spacing_mm`. Default: detector.
    #[serde(default = "detector")]
    pub plane: Plane,
    /// Presentation value of padding. Default 0 (black).
    #[serde(default)]
    pub pad_value: f64,
    /// Intensity normalisation.
    pub normalisation: ImageNormalisation,
}

fn one() -> usize {
    1
}
fn detector() -> Plane {
    Plane::Detector
}

/// One regression output column.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Name (`neck_abmd`).
    pub name: String,
    /// Unit (`g/cm2`, `%`).
    #[serde(default)]
    pub unit: String,
}

/// `[output]` of an image card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageOutput {
    /// The ONNX output's name.
    pub name: String,
    /// `probabilities`, `logits` (classification) or `values` (regression).
    pub kind: String,
    /// Class names, one per output column (classification).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Targets, one per output column (regression).
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// The card of an image model (see the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageCard {
    /// Must be [`crate::card::CARD_VERSION`].
    pub card_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Classification or regression.
    pub task: ImageTask,
    /// True for test and demonstration models (not for clinical use).
    #[serde(default)]
    pub test_model: bool,
    /// Free text: what it predicts, from what, how validated.
    #[serde(default)]
    pub description: String,
    /// The ONNX file, relative to the card.
    pub weights: PathBuf,
    /// SHA-256 of the ONNX file, hex.
    pub sha256: String,
    /// What the model takes.
    pub input: ImageInput,
    /// What the model gives.
    pub output: ImageOutput,
}

impl ImageCard {
    /// Reads and checks a card; `path` names it in errors.
    pub fn read(path: &Path) -> Result<Self> {
        let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).map_err(|source| Error::CardRead { path: path.to_path_buf(), source })?;
        let card: ImageCard = toml::from_str(&text).map_err(|source| Error::CardParse { path: path.to_path_buf(), source })?;
        card.check(path)?;
        Ok(card)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::CardInvalid { path: path.to_path_buf(), field: field.into(), problem });
        if self.card_version != crate::card::CARD_VERSION {
            return bad("card_version", format!("is {}, this coxa reads version {}", self.card_version, crate::card::CARD_VERSION));
        }
        if self.sha256.len() != 64 || !self.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return bad("sha256", format!("is {:?}; it must be 64 hex digits (`sha256sum MODEL.onnx`)", self.sha256));
        }
        let i = &self.input;
        if !(i.channels == 1 || i.channels == 3) {
            return bad("input.channels", format!("is {}; give 1 (grey) or 3 (grey repeated)", i.channels));
        }
        if !(1..=4096).contains(&i.rows) || !(1..=4096).contains(&i.cols) {
            return bad("input.rows/cols", format!("are {} x {}; each must be 1..=4096", i.rows, i.cols));
        }
        match (i.resize, i.pixel_spacing_mm) {
            (Resize::Spacing, None) => return bad("input.pixel_spacing_mm", "is missing; resize = \"spacing\" needs the spacing the model was trained at".into()),
            (Resize::Spacing, Some(s)) if !(s.is_finite() && (0.01..=10.0).contains(&s)) => return bad("input.pixel_spacing_mm", format!("is {s}; give 0.01..10 mm")),
            (Resize::Stretch, Some(_)) => return bad("input.pixel_spacing_mm", "is given but resize = \"stretch\" ignores it; remove it or use resize = \"spacing\"".into()),
            _ => {}
        }
        if !i.pad_value.is_finite() {
            return bad("input.pad_value", format!("is {}; give a finite presentation value (0 black, 1 white)", i.pad_value));
        }
        if let ImageNormalisation::Fixed { mean, std } = &i.normalisation {
            for (name, v) in [("mean", mean), ("std", std)] {
                if !(v.len() == 1 || v.len() == i.channels) || v.iter().any(|x| !x.is_finite()) {
                    return bad(&format!("input.normalisation.{name}"), format!("is {v:?}; give one finite number, or one per channel ({})", i.channels));
                }
            }
            if std.iter().any(|s| *s <= 0.0) {
                return bad("input.normalisation.std", format!("is {std:?}; each must be > 0"));
            }
        }
        let o = &self.output;
        match self.task {
            ImageTask::Classification => {
                if !(o.kind == "probabilities" || o.kind == "logits") {
                    return bad("output.kind", format!("is {:?}; a classifier gives \"probabilities\" or \"logits\" (softmax applied)", o.kind));
                }
                if o.classes.len() < 2 || !o.targets.is_empty() {
                    return bad("output.classes", format!("has {} class(es); a classifier names at least 2 (and no targets)", o.classes.len()));
                }
            }
            ImageTask::Regression => {
                if o.kind != "values" {
                    return bad("output.kind", format!("is {:?}; a regression gives \"values\"", o.kind));
                }
                if o.targets.is_empty() || !o.classes.is_empty() {
                    return bad("output.targets", "is empty; a regression names one [[output.targets]] per output column (and no classes)".into());
                }
            }
        }
        Ok(())
    }

    /// Output columns: classes or targets.
    pub fn columns(&self) -> usize {
        match self.task {
            ImageTask::Classification => self.output.classes.len(),
            ImageTask::Regression => self.output.targets.len(),
        }
    }
}

/// What [`preprocess`] did, for the record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preprocessing {
    /// The radiograph's size, rows x cols.
    pub input_size: [usize; 2],
    /// Its pixel spacing used, mm (rows, cols), when one was.
    pub input_spacing_mm: Option<[f64; 2]>,
    /// The size after resizing, before the crop or pad.
    pub resized_size: [usize; 2],
    /// The pixel spacing after resizing, mm, when known.
    pub resized_spacing_mm: Option<[f64; 2]>,
    /// Rows and columns cropped (positive) or padded (negative) before the first row/column.
    pub offset_px: [i64; 2],
    /// The mean and std used by the normalisation (z-score: the image's).
    pub mean_std: Option<[f64; 2]>,
}

/// Antialiased bilinear weights of one axis (see the module docs): for each output pixel, the
/// first input pixel and the weights.
fn axis_weights(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = n_in as f64 / n_out as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale;
    (0..n_out)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let lo = ((centre - support + 0.5) as i64).max(0) as usize;
            let hi = ((centre + support + 0.5) as i64).min(n_in as i64) as usize;
            let mut w: Vec<f64> = (lo..hi).map(|x| (1.0 - ((x as f64 - centre + 0.5) / filterscale).abs()).max(0.0)).collect();
            let total: f64 = w.iter().sum();
            if total > 0.0 {
                w.iter_mut().for_each(|v| *v /= total);
            }
            (lo, w)
        })
        .collect()
}

/// Resizes `img` to `rows x cols` with antialiased bilinear interpolation (columns first, then
/// rows, as Pillow does).
pub fn resize_bilinear_aa(img: ArrayView2<'_, f32>, rows: usize, cols: usize) -> Array2<f32> {
    let (n_r, n_c) = img.dim();
    let wc = axis_weights(n_c, cols);
    let mut tmp = Array2::<f32>::zeros((n_r, cols));
    for r in 0..n_r {
        for (c, (lo, w)) in wc.iter().enumerate() {
            let s: f64 = w.iter().enumerate().map(|(k, wk)| wk * f64::from(img[[r, lo + k]])).sum();
            tmp[[r, c]] = s as f32;
        }
    }
    let wr = axis_weights(n_r, rows);
    let mut out = Array2::<f32>::zeros((rows, cols));
    for (r, (lo, w)) in wr.iter().enumerate() {
        for c in 0..cols {
            let s: f64 = w.iter().enumerate().map(|(k, wk)| wk * f64::from(tmp[[lo + k, c]])).sum();
            out[[r, c]] = s as f32;
        }
    }
    out
}

/// The model's input `[1, channels, rows, cols]` from a radiograph's presentation values
/// (`[row, col]`, 0 black .. 1 white) with their pixel spacing in the card's plane (mm, rows and
/// cols; needed for `resize = "spacing"`).
pub fn preprocess(card: &ImageCard, presentation: ArrayView2<'_, f32>, spacing_mm: Option<[f64; 2]>) -> Result<(Array4<f32>, Preprocessing)> {
    let i = &card.input;
    let (n_r, n_c) = presentation.dim();
    if n_r == 0 || n_c == 0 {
        return Err(Error::BadInput { what: "the radiograph has no pixels".into() });
    }
    let (size, resized_spacing) = match i.resize {
        Resize::Stretch => ([i.rows, i.cols], spacing_mm.map(|s| [s[0] * n_r as f64 / i.rows as f64, s[1] * n_c as f64 / i.cols as f64])),
        Resize::Spacing => {
            let target = i.pixel_spacing_mm.unwrap_or(1.0);
            let s = spacing_mm.ok_or_else(|| Error::BadInput {
                what: format!("model {} resamples to {target} mm pixels ({:?} plane) but the radiograph's spacing in that plane is not known", card.name, i.plane),
            })?;
            let n = |len: usize, sp: f64| ((len as f64 * sp / target).round() as usize).max(1);
            let (r, c) = (n(n_r, s[0]), n(n_c, s[1]));
            if r > 16384 || c > 16384 {
                return Err(Error::BadInput { what: format!("resampling to {target} mm would make {r} x {c} pixels; the radiograph's spacing {s:?} mm looks wrong") });
            }
            ([r, c], Some([s[0] * n_r as f64 / r as f64, s[1] * n_c as f64 / c as f64]))
        }
    };
    let resized = if size == [n_r, n_c] { presentation.to_owned() } else { resize_bilinear_aa(presentation, size[0], size[1]) };
    let off = |have: usize, want: usize| (have as i64 - want as i64).div_euclid(2);
    let offset = [off(size[0], i.rows), off(size[1], i.cols)];
    let pad = i.pad_value as f32;
    let mut img = Array2::<f32>::from_elem((i.rows, i.cols), pad);
    for r in 0..i.rows {
        let sr = r as i64 + offset[0];
        if sr < 0 || sr >= size[0] as i64 {
            continue;
        }
        for c in 0..i.cols {
            let sc = c as i64 + offset[1];
            if sc >= 0 && sc < size[1] as i64 {
                img[[r, c]] = resized[[sr as usize, sc as usize]];
            }
        }
    }
    let mut x = Array4::<f32>::zeros((1, i.channels, i.rows, i.cols));
    let mut mean_std = None;
    for ch in 0..i.channels {
        let (m, s) = match &i.normalisation {
            ImageNormalisation::None => (0.0, 1.0),
            ImageNormalisation::Fixed { mean, std } => (mean[ch.min(mean.len() - 1)], std[ch.min(std.len() - 1)]),
            ImageNormalisation::Zscore => {
                let n = img.len() as f64;
                let m = img.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = img.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / n;
                (m, var.sqrt().max(1e-8))
            }
        };
        if ch == 0 && !matches!(i.normalisation, ImageNormalisation::None) {
            mean_std = Some([m, s]);
        }
        x.slice_mut(ndarray::s![0, ch, .., ..]).assign(&img.mapv(|v| ((f64::from(v) - m) / s) as f32));
    }
    Ok((x, Preprocessing { input_size: [n_r, n_c], input_spacing_mm: spacing_mm, resized_size: size, resized_spacing_mm: resized_spacing, offset_px: offset, mean_std }))
}

/// One class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassProbability {
    /// Class name.
    pub name: String,
    /// Probability, 0..1.
    pub probability: f64,
}

/// One regressed value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetValue {
    /// Target name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Value.
    pub value: f64,
}

/// What an image model predicted for one radiograph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImagePrediction {
    /// The card's name.
    pub model: String,
    /// The card's version.
    pub version: String,
    /// The card's task.
    pub task: ImageTask,
    /// True for test and demonstration models: not for clinical use.
    pub test_model: bool,
    /// The card's description.
    pub description: String,
    /// SHA-256 of the weights (checked against the card).
    pub sha256: String,
    /// Classification: every class's probability, in the card's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<ClassProbability>>,
    /// Classification: the most probable class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_class: Option<String>,
    /// Regression: the values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<TargetValue>>,
    /// The raw output row as the network gave it.
    pub raw_output: Vec<f64>,
    /// How the radiograph was brought to the network.
    pub preprocessing: Preprocessing,
}

/// An image model: its card, checked weights and a session.
#[derive(Debug)]
pub struct ImageModel {
    card: ImageCard,
    card_path: PathBuf,
    weights: PathBuf,
    session: Session,
}

impl ImageModel {
    /// Reads the card, checks the weights' SHA-256 and the graph's input and output against the
    /// card, and makes a session (one thread, deterministic).
    pub fn load(card_path: &Path) -> Result<Self> {
        let card = ImageCard::read(card_path)?;
        let (weights, session) = checked_small_session(card_path, &card.weights, &card.sha256)?;
        let mismatch = |what: String| Error::ModelMismatch { weights: weights.clone(), card: card_path.to_path_buf(), what };
        let names = |o: &[ort::value::Outlet]| o.iter().map(|x| x.name().to_string()).collect::<Vec<_>>().join(", ");
        let Some(input) = session.inputs().iter().find(|i| i.name() == card.input.name) else {
            return Err(mismatch(format!("no input named {:?} (the graph's inputs: {})", card.input.name, names(session.inputs()))));
        };
        if session.inputs().len() != 1 {
            return Err(mismatch(format!("the graph has {} inputs ({}); coxa feeds exactly one", session.inputs().len(), names(session.inputs()))));
        }
        let Some(output) = session.outputs().iter().find(|o| o.name() == card.output.name) else {
            return Err(mismatch(format!("no output named {:?} (the graph's outputs: {})", card.output.name, names(session.outputs()))));
        };
        let want_in = [card.input.channels, card.input.rows, card.input.cols];
        match input.dtype() {
            ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } if shape.len() == 4 => {
                for (axis, (&d, w)) in shape[1..].iter().zip(want_in).enumerate() {
                    if d >= 0 && d as usize != w {
                        return Err(mismatch(format!(
                            "the input is {:?} (N, channels, rows, cols); the card says [N, {}, {}, {}] (axis {})",
                            &shape[..],
                            want_in[0],
                            want_in[1],
                            want_in[2],
                            axis + 1
                        )));
                    }
                }
            }
            other => return Err(mismatch(format!("the input is {other:?}; coxa feeds float32 [N, channels, rows, cols]"))),
        }
        match output.dtype() {
            ValueType::Tensor { ty: TensorElementType::Float32, shape, .. } if shape.len() == 2 => {
                if shape[1] >= 0 && shape[1] as usize != card.columns() {
                    return Err(mismatch(format!("the output has {} columns; the card names {}", shape[1], card.columns())));
                }
            }
            other => return Err(mismatch(format!("the output is {other:?}; coxa reads float32 [N, columns]"))),
        }
        Ok(Self { card, card_path: card_path.to_path_buf(), weights, session })
    }

    /// The card.
    pub fn card(&self) -> &ImageCard {
        &self.card
    }

    /// Runs the network on an input made by [`preprocess`]; returns the raw output row.
    pub fn run(&mut self, x: &Array4<f32>) -> Result<Vec<f64>> {
        let input = TensorRef::from_array_view(x.view()).map_err(|e| Error::ort("making the input tensor", e))?;
        let outputs = self.session.run(ort::inputs![self.card.input.name.as_str() => input]).map_err(|e| Error::ort("running the image model", e))?;
        let y = outputs[self.card.output.name.as_str()].try_extract_array::<f32>().map_err(|e| Error::ort("reading the output", e))?;
        let n = self.card.columns();
        if y.shape() != [1, n] {
            return Err(Error::ModelMismatch {
                weights: self.weights.clone(),
                card: self.card_path.clone(),
                what: format!("the output {} has shape {:?}; the card says [1, {n}]", self.card.output.name, y.shape()),
            });
        }
        Ok(y.iter().map(|v| f64::from(*v)).collect())
    }

    /// Preprocesses the radiograph (presentation values, spacing in the card's plane) and
    /// predicts.
    pub fn predict(&mut self, presentation: ArrayView2<'_, f32>, spacing_mm: Option<[f64; 2]>) -> Result<ImagePrediction> {
        let (x, preprocessing) = preprocess(&self.card, presentation, spacing_mm)?;
        let raw = self.run(&x)?;
        if raw.iter().any(|v| !v.is_finite()) {
            return Err(Error::ModelMismatch { weights: self.weights.clone(), card: self.card_path.clone(), what: format!("the output holds a non-finite value ({raw:?})") });
        }
        let c = &self.card;
        let (mut probabilities, mut predicted_class, mut values) = (None, None, None);
        match c.task {
            ImageTask::Classification => {
                let p: Vec<f64> = if c.output.kind == "logits" {
                    let m = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = raw.iter().map(|v| (v - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    e.iter().map(|v| v / s).collect()
                } else {
                    raw.clone()
                };
                let best = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(k, _)| k);
                predicted_class = Some(c.output.classes[best].clone());
                probabilities = Some(c.output.classes.iter().zip(&p).map(|(name, &probability)| ClassProbability { name: name.clone(), probability }).collect());
            }
            ImageTask::Regression => {
                values = Some(c.output.targets.iter().zip(&raw).map(|(t, &value)| TargetValue { name: t.name.clone(), unit: t.unit.clone(), value }).collect());
            }
        }
        Ok(ImagePrediction {
            model: c.name.clone(),
            version: c.version.clone(),
            task: c.task,
            test_model: c.test_model,
            description: c.description.clone(),
            sha256: c.sha256.to_ascii_lowercase(),
            probabilities,
            predicted_class,
            values,
            raw_output: raw,
            preprocessing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_a_constant_and_averages_when_halving() {
        let img = Array2::<f32>::from_elem((10, 12), 0.25);
        let r = resize_bilinear_aa(img.view(), 7, 5);
        assert!(r.iter().all(|v| (v - 0.25).abs() < 1e-6));
        // Halving: each output pixel is a triangle of width 4 input pixels centred between two
        // pixels: weights 1/8, 3/8, 3/8, 1/8 inside the image.
        let ramp = Array2::from_shape_fn((1, 8), |(_, c)| c as f32);
        let h = resize_bilinear_aa(ramp.view(), 1, 4);
        // Inside: the mean of a linear ramp around x = 1.5, 3.5, 5.5 (symmetric weights).
        assert!((h[[0, 1]] - 2.5).abs() < 1e-6 && (h[[0, 2]] - 4.5).abs() < 1e-6, "{h:?}");
        // At the edge the weights outside are dropped: (0*3/8 + 1*3/8 + 2*1/8) / (7/8).
        assert!((h[[0, 0]] - (3.0 / 8.0 + 2.0 / 8.0) / (7.0 / 8.0)).abs() < 1e-6, "{h:?}");
    }

    #[test]
    fn errors_are_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}

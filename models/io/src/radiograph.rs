//! Plain radiographs in: CR and DX DICOM images (for presentation or for processing) and PNG
//! files (8 or 16 bit), as a [`Radiograph`]: the modality values, the presentation values a
//! viewer would show (0 black, 1 white) and the pixel spacing with where it came from.
//!
//! **DICOM** (PS3.3). The file's element lengths are checked first (the same pre-scan as a CT
//! slice), then its kind: Modality CR or DX (a CT slice, an MR, a secondary capture or anything
//! else is refused naming what it is), one frame, one sample per pixel, monochrome. The pixels are
//! decoded by dicom-pixeldata (uncompressed, RLE, JPEG, JPEG 2000) with the modality LUT
//! (RescaleSlope/RescaleIntercept; a Modality LUT Sequence is refused). Then, as a display does
//! (PS3.3 C.11): the VOI LUT function of the first WindowCenter/WindowWidth pair (LINEAR,
//! LINEAR_EXACT or SIGMOID, C.11.2.1.2), or the first VOI LUT Sequence item (C.11.2.1.1; preferred
//! to a window where both are present, as pydicom and dicom-pixeldata do), or without either the
//! image's own minimum to maximum; then the presentation: MONOCHROME1 (the minimum shown white) is
//! inverted so that 1 is always white.
//!
//! **Pixel spacing** (PS3.3 10.7.1.1 and C.8.11.4): ImagerPixelSpacing is the detector's pixel
//! size at its front face; objects at the patient are magnified onto it by
//! EstimatedRadiographicMagnificationFactor (source-to-image over source-to-object distance), so
//! the spacing at the patient is ImagerPixelSpacing / magnification. A PixelSpacing with a
//! PixelSpacingCalibrationType (GEOMETRY, FIDUCIAL) is already calibrated to the patient. A
//! PixelSpacing without one that equals ImagerPixelSpacing is the detector's; one that differs is
//! taken as corrected to the patient (with a warning), and a PixelSpacing alone (older CR) as the
//! detector's (with a warning). Both planes are kept ([`Spacing`]) with their source; a model card
//! says which plane it resamples in. `--pixel-spacing-mm` (and `--magnification`) replace the
//! file's values, with a warning.
//!
//! **PNG** has no pixel spacing: the caller must give it ([`RadiographOptions::pixel_spacing_mm`],
//! the detector's or the scanned film's pixel size). Grey 8 or 16 bit (and RGB whose channels are
//! equal) are read; the presentation value is the sample over its maximum (255 or 65535).
//!
//! Sizes are checked before anything is allocated: 16..16384 pixels a side, the decoded image
//! against [`crate::Limits`], a spacing of 0.01..5 mm and a magnification of 1..3.

pub(crate) mod error;

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use ndarray::Array2;
use serde::Serialize;

pub use error::RadiographError;

use crate::dicom::PatientIdentity;
use crate::{Error, Limits, Result};
mod from_dicom;
pub use from_dicom::*;

/// Smallest and largest side of a radiograph, pixels.
pub const SIDE_RANGE_PX: (u32, u32) = (16, 16384);
/// Accepted pixel spacing, mm.
pub const SPACING_RANGE_MM: (f64, f64) = (0.01, 5.0);
/// Accepted radiographic magnification.
pub const MAGNIFICATION_RANGE: (f64, f64) = (1.0, 3.0);

/// Options of [`read_radiograph`].
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct RadiographOptions {
    /// The detector's (imager) pixel spacing, mm, square pixels; required for PNG, replaces the
    /// file's for DICOM. Default `None`.
    pub pixel_spacing_mm: Option<f64>,
    /// The estimated radiographic magnification at the object (source-to-image over
    /// source-to-object distance); replaces the file's. Default `None`.
    pub magnification: Option<f64>,
    /// How much memory the read may take. Default: [`Limits::new`].
    pub limits: Limits,
}

impl RadiographOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the detector pixel spacing, mm.
    pub fn with_pixel_spacing_mm(mut self, mm: Option<f64>) -> Self {
        self.pixel_spacing_mm = mm;
        self
    }
    /// Sets the magnification.
    pub fn with_magnification(mut self, m: Option<f64>) -> Self {
        self.magnification = m;
        self
    }
    /// Sets the memory limit.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The pixel spacing of a radiograph in the detector's plane and at the patient, mm, as
/// `[between rows, between columns]` (DICOM's order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spacing {
    /// At the detector (ImagerPixelSpacing, or the caller's).
    pub detector_mm: [f64; 2],
    /// At the patient (calibrated, or the detector's over the magnification); `None` when not known.
    pub patient_mm: Option<[f64; 2]>,
    /// The magnification used for `patient_mm`, when one was.
    pub magnification: Option<f64>,
    /// Where `detector_mm` came from.
    pub detector_source: String,
    /// Where `patient_mm` came from.
    pub patient_source: Option<String>,
}

/// The VOI transform applied to get the presentation values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Voi {
    /// A window (PS3.3 C.11.2.1.2).
    Window {
        /// WindowCenter.
        center: f64,
        /// WindowWidth.
        width: f64,
        /// VOILUTFunction: LINEAR, LINEAR_EXACT or SIGMOID.
        function: String,
    },
    /// The first item of the VOI LUT Sequence (PS3.3 C.11.2.1.1): a value below the first mapped
    /// one takes the first entry, above the last the last; the entry over its largest value
    /// (`2^bits - 1`). Preferred to a window where both are present, as pydicom and
    /// dicom-pixeldata do.
    Lut {
        /// The modality value mapped to the first entry.
        first_mapped: i64,
        /// Bits of an entry (8 or 10..16).
        bits: u16,
        /// Number of entries.
        entries: usize,
        /// The entries.
        #[serde(skip)]
        data: Vec<u16>,
    },
    /// The image's minimum to maximum (no window in the file).
    MinMax {
        /// The minimum modality value.
        min: f64,
        /// The maximum.
        max: f64,
    },
    /// The sample over its largest value (PNG).
    FullRange {
        /// 255 or 65535.
        max: f64,
    },
}

/// What the file said about itself (no patient identity).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RadiographInfo {
    /// `DICOM` or `PNG`.
    pub format: &'static str,
    /// Modality (CR, DX); empty for PNG.
    pub modality: String,
    /// SOPClassUID; empty for PNG.
    pub sop_class_uid: String,
    /// PresentationIntentType (FOR PRESENTATION, FOR PROCESSING), when given.
    pub presentation_intent: Option<String>,
    /// PhotometricInterpretation (MONOCHROME1, MONOCHROME2); `MONOCHROME2` for PNG.
    pub photometric: String,
    /// Whether the values were inverted for presentation (MONOCHROME1).
    pub inverted: bool,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Bits per stored sample.
    pub bits_stored: u16,
    /// RescaleSlope and RescaleIntercept applied (1, 0 when absent).
    pub rescale: [f64; 2],
    /// The VOI transform applied.
    pub voi: Voi,
    /// ViewPosition (AP, PA, LL, ...), when given.
    pub view_position: Option<String>,
    /// BodyPartExamined, when given.
    pub body_part: Option<String>,
}

/// A radiograph read by [`read_radiograph`].
#[derive(Debug, Clone)]
pub struct Radiograph {
    /// Modality values (stored values through the modality LUT), `[row, column]`.
    pub values: Array2<f32>,
    /// Presentation values, `[row, column]`: 0 black, 1 white, as a viewer shows it (VOI applied,
    /// MONOCHROME1 inverted).
    pub presentation: Array2<f32>,
    /// The pixel spacing.
    pub spacing: Spacing,
    /// What the file said.
    pub info: RadiographInfo,
    /// What was noticed and worked around, one sentence each.
    pub warnings: Vec<String>,
    /// Patient identity (DICOM); keep it out of outputs unless asked.
    pub patient: PatientIdentity,
}

/// Reads a CR/DX DICOM file or a PNG file (by its content: a DICOM file has `DICM` at byte 128,
/// a PNG its signature).
pub fn read_radiograph(path: &Path, options: &RadiographOptions) -> Result<Radiograph> {
    if !path.exists() {
        return Err(Error::NotFound { path: path.to_path_buf() });
    }
    if path.is_dir() {
        return Err(RadiographError::Unsupported { path: path.to_path_buf(), what: "is a folder".into(), fix: "give one radiograph file (.dcm or .png)" }.into());
    }
    let mut head = [0u8; 132];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|source| Error::Unreadable { path: path.to_path_buf(), source })?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::Unreadable { path: path.to_path_buf(), source }),
            }
        }
        n
    };
    if n >= 8 && head[..8] == *b"\x89PNG\r\n\x1a\n" {
        read_png(path, options)
    } else if n == 132 && head[128..132] == *b"DICM" {
        read_dicom(path, options)
    } else {
        Err(RadiographError::Unsupported { path: path.to_path_buf(), what: "neither a DICOM file (no 'DICM' at byte 128) nor a PNG image".into(), fix: "give a CR/DX DICOM file or a PNG" }.into())
    }
}

fn implausible(path: &Path, what: &'static str, value: impl std::fmt::Display, range: (impl std::fmt::Display, impl std::fmt::Display), fix: &'static str) -> Error {
    RadiographError::Implausible { path: path.to_path_buf(), what, value: value.to_string(), range: format!("{}..{}", range.0, range.1), fix }.into()
}

fn check_size(path: &Path, rows: u32, cols: u32, bytes_per_sample: u64, limits: &Limits) -> Result<()> {
    for (what, v) in [("Rows", rows), ("Columns", cols)] {
        if !(SIDE_RANGE_PX.0..=SIDE_RANGE_PX.1).contains(&v) {
            return Err(implausible(path, what, v, SIDE_RANGE_PX, "a radiograph is 16 to 16384 pixels a side: the header is corrupt, or this is not a radiograph"));
        }
    }
    let px = u64::from(rows) * u64::from(cols);
    // The stored samples, the modality values, the presentation values and the model's copy.
    let need = crate::limits::product(&[px, bytes_per_sample + 12]);
    limits.check(path, || format!("a {cols}x{rows} radiograph"), need)
}

fn check_spacing(path: &Path, what: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && (SPACING_RANGE_MM.0..=SPACING_RANGE_MM.1).contains(&v) {
        Ok(())
    } else {
        Err(implausible(path, what, v, SPACING_RANGE_MM, "give the pixel size in mm (a digital detector has 0.1-0.2 mm)"))
    }
}

fn check_magnification(path: &Path, what: &'static str, m: f64) -> Result<()> {
    if m.is_finite() && (MAGNIFICATION_RANGE.0..=MAGNIFICATION_RANGE.1).contains(&m) {
        Ok(())
    } else {
        Err(implausible(path, what, m, MAGNIFICATION_RANGE, "the magnification is source-to-image over source-to-object distance, at least 1 (about 1.1-1.3 for a hip)"))
    }
}

/// The caller's spacing and magnification over the file's (`file`), with warnings.
fn apply_caller(path: &Path, file: Option<Spacing>, options: &RadiographOptions, warnings: &mut Vec<String>, no_spacing_why: &'static str) -> Result<Spacing> {
    if let Some(m) = options.magnification {
        check_magnification(path, "--magnification", m)?;
    }
    let mut s = match (options.pixel_spacing_mm, file) {
        (Some(mm), file) => {
            check_spacing(path, "--pixel-spacing-mm", mm)?;
            if let Some(f) = &file {
                warnings.push(format!("--pixel-spacing-mm {mm} replaces the file's detector spacing {:?} mm ({})", f.detector_mm, f.detector_source));
            }
            let patient = file.as_ref().and_then(|f| f.magnification).filter(|_| options.magnification.is_none());
            Spacing {
                detector_mm: [mm, mm],
                patient_mm: patient.map(|m| [mm / m, mm / m]),
                magnification: patient,
                detector_source: "--pixel-spacing-mm".into(),
                patient_source: patient.map(|_| "--pixel-spacing-mm / the file's EstimatedRadiographicMagnificationFactor".into()),
            }
        }
        (None, Some(f)) => f,
        (None, None) => return Err(RadiographError::NoSpacing { path: path.to_path_buf(), why: no_spacing_why }.into()),
    };
    if let Some(m) = options.magnification {
        if s.patient_source.as_deref().is_some_and(|src| src.starts_with("PixelSpacing")) {
            warnings.push(format!("--magnification {m} replaces the file's calibrated PixelSpacing at the patient"));
        }
        s.magnification = Some(m);
        s.patient_mm = Some([s.detector_mm[0] / m, s.detector_mm[1] / m]);
        s.patient_source = Some(format!("detector spacing ({}) / --magnification", s.detector_source));
    }
    Ok(s)
}

fn read_png(path: &Path, options: &RadiographOptions) -> Result<Radiograph> {
    let png_err = |source| -> Error { RadiographError::Png { path: path.to_path_buf(), source }.into() };
    let file = std::fs::File::open(path).map_err(|source| Error::Unreadable { path: path.to_path_buf(), source })?;
    let mut dec = png::Decoder::new_with_limits(std::io::BufReader::new(file), png::Limits { bytes: usize::MAX });
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().map_err(png_err)?;
    let (w, h) = reader.info().size();
    let (colour, depth) = reader.output_color_type();
    let channels = match colour {
        png::ColorType::Grayscale => 1,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha | png::ColorType::Rgba => {
            return Err(RadiographError::Unsupported {
                path: path.to_path_buf(),
                what: format!("a PNG with an alpha channel ({colour:?})"),
                fix: "save the radiograph as a greyscale PNG without transparency",
            }
            .into());
        }
        png::ColorType::Indexed => 3,
    };
    let bytes_per = if depth == png::BitDepth::Sixteen { 2 } else { 1 };
    check_size(path, h, w, bytes_per * channels, &options.limits)?;
    let mut warnings = Vec::new();
    let spacing = apply_caller(path, None, options, &mut warnings, "a PNG file does not record one")?;
    let size = reader.output_buffer_size().ok_or_else(|| implausible(path, "the decoded size", "too large", (0, usize::MAX), "re-export the image"))?;
    let mut buf = vec![0u8; size];
    let out = reader.next_frame(&mut buf).map_err(png_err)?;
    let (rows, cols) = (h as usize, w as usize);
    let stride = out.line_size;
    let ch = channels as usize;
    let sample = |r: usize, c: usize, k: usize| -> f32 {
        let o = r * stride + (c * ch + k) * bytes_per as usize;
        if bytes_per == 2 { f32::from(u16::from_be_bytes([buf[o], buf[o + 1]])) } else { f32::from(buf[o]) }
    };
    let mut values = Array2::<f32>::zeros((rows, cols));
    let mut unequal = 0usize;
    for r in 0..rows {
        for c in 0..cols {
            let v = sample(r, c, 0);
            if ch == 3 && (sample(r, c, 1) != v || sample(r, c, 2) != v) {
                unequal += 1;
            }
            values[[r, c]] = v;
        }
    }
    if unequal > 0 {
        return Err(RadiographError::Unsupported {
            path: path.to_path_buf(),
            what: format!("a colour PNG ({unequal} pixels whose red, green and blue differ)"),
            fix: "a radiograph is greyscale: save it as a greyscale PNG (with annotations removed)",
        }
        .into());
    }
    if ch == 3 {
        warnings.push("an RGB PNG whose channels are equal: read as greyscale".into());
    }
    let max = if bytes_per == 2 { 65535.0 } else { 255.0 };
    let presentation = values.mapv(|v| v / max);
    let bits = if bytes_per == 2 { 16 } else { 8 };
    let info = RadiographInfo {
        format: "PNG",
        modality: String::new(),
        sop_class_uid: String::new(),
        presentation_intent: None,
        photometric: "MONOCHROME2".into(),
        inverted: false,
        rows,
        cols,
        bits_stored: bits,
        rescale: [1.0, 0.0],
        voi: Voi::FullRange { max: f64::from(max) },
        view_position: None,
        body_part: None,
    };
    Ok(Radiograph { values, presentation, spacing, info, warnings, patient: PatientIdentity::default() })
}

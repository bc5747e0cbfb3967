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

mod error;

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use ndarray::Array2;
use serde::Serialize;

pub use error::RadiographError;

use crate::dicom::PatientIdentity;
use crate::{Error, Limits, Result};

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

fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let t = crate::dicom::scan::text(obj, tag);
    (!t.is_empty()).then_some(t)
}

fn floats(path: &Path, obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<Vec<f64>>> {
    let Some(e) = obj.element_opt(tag).ok().flatten() else { return Ok(None) };
    let raw = e.to_str().map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).unwrap_or_default();
    if raw.is_empty() {
        return Ok(None);
    }
    let v = e.to_multi_float64().map_err(|_| implausible(path, name, format!("{raw:?}"), ("numbers", "numbers"), "the header is corrupt: re-export the image"))?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(implausible(path, name, format!("{raw:?}"), ("finite", "finite"), "the header is corrupt: re-export the image"));
    }
    Ok(Some(v))
}

fn pair(path: &Path, obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<[f64; 2]>> {
    match floats(path, obj, tag, name)? {
        None => Ok(None),
        Some(v) if v.len() == 2 => {
            for x in &v {
                check_spacing(path, name, *x)?;
            }
            Ok(Some([v[0], v[1]]))
        }
        Some(v) => Err(implausible(path, name, format!("{v:?}"), ("2 numbers", "2 numbers"), "the header is corrupt: re-export the image")),
    }
}

fn single(path: &Path, obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<f64>> {
    Ok(floats(path, obj, tag, name)?.and_then(|v| v.first().copied()))
}

/// The file's spacing (see the module docs); `None` when it has none.
fn dicom_spacing(path: &Path, obj: &DefaultDicomObject, warnings: &mut Vec<String>) -> Result<Option<Spacing>> {
    let imager = pair(path, obj, tags::IMAGER_PIXEL_SPACING, "ImagerPixelSpacing")?;
    let pixel = pair(path, obj, tags::PIXEL_SPACING, "PixelSpacing")?;
    let calibration = text(obj, tags::PIXEL_SPACING_CALIBRATION_TYPE);
    let ermf = single(path, obj, tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR, "EstimatedRadiographicMagnificationFactor")?;
    if let Some(m) = ermf {
        check_magnification(path, "EstimatedRadiographicMagnificationFactor", m)?;
    }
    let (detector_mm, detector_source) = match (imager, pixel) {
        (Some(i), _) => (i, "ImagerPixelSpacing".to_string()),
        (None, Some(p)) if calibration.is_none() => {
            warnings.push("PixelSpacing without ImagerPixelSpacing or a PixelSpacingCalibrationType: taken as the detector's pixel spacing".into());
            (p, "PixelSpacing (taken as the detector's)".to_string())
        }
        (None, Some(p)) => {
            warnings.push("no ImagerPixelSpacing: the detector's spacing is taken from the calibrated PixelSpacing times the magnification (1 where none is given)".into());
            let m = ermf.unwrap_or(1.0);
            ([p[0] * m, p[1] * m], "PixelSpacing x magnification".to_string())
        }
        (None, None) => return Ok(None),
    };
    let (patient_mm, magnification, patient_source) = match (pixel, &calibration, ermf) {
        (Some(p), Some(cal), _) => (Some(p), ermf, Some(format!("PixelSpacing, calibrated ({cal})"))),
        (Some(p), None, _) if imager.is_some_and(|i| (i[0] - p[0]).abs() > 1e-6 || (i[1] - p[1]).abs() > 1e-6) => {
            warnings.push(format!("PixelSpacing {p:?} differs from ImagerPixelSpacing {:?} without a PixelSpacingCalibrationType: taken as corrected to the patient", imager.unwrap_or(p)));
            (Some(p), ermf, Some("PixelSpacing (differs from ImagerPixelSpacing: taken as at the patient)".into()))
        }
        (_, _, Some(m)) => (Some([detector_mm[0] / m, detector_mm[1] / m]), Some(m), Some(format!("{detector_source} / EstimatedRadiographicMagnificationFactor"))),
        _ => (None, None, None),
    };
    Ok(Some(Spacing { detector_mm, patient_mm, magnification, detector_source, patient_source }))
}

fn not_radiograph(path: &Path, what: String, fix: &'static str) -> Error {
    RadiographError::NotRadiograph { path: path.to_path_buf(), what, fix }.into()
}

fn read_dicom(path: &Path, options: &RadiographOptions) -> Result<Radiograph> {
    use crate::dicom::scan;
    let pixel_data = crate::dicom::prescan::prescan(path)?;
    let obj = OpenFileOptions::new().open_file(path).map_err(|e| scan::open_err(path, e))?;
    let modality = text(&obj, tags::MODALITY).unwrap_or_default();
    let sop_class = text(&obj, tags::SOP_CLASS_UID).unwrap_or_default();
    match modality.as_str() {
        "CR" | "DX" => {}
        "CT" => return Err(not_radiograph(path, "a CT slice (Modality CT)".into(), "to see a CT as a radiograph, simulate one: `coxa xray --ct CT --out F.dcm`")),
        "" => return Err(not_radiograph(path, "an image without a Modality".into(), "export the radiograph from the PACS as CR or DX, or as a PNG with --pixel-spacing-mm")),
        m => return Err(not_radiograph(path, format!("an image of Modality {m}"), "give a CR or DX radiograph, or a PNG of one with --pixel-spacing-mm")),
    }
    let h = scan::header_from(path, &obj)?;
    if h.frames > 1 {
        return Err(RadiographError::Unsupported {
            path: path.to_path_buf(),
            what: format!("a multi-frame image ({} frames)", h.frames),
            fix: "give one radiograph per file (export the frame you mean)",
        }
        .into());
    }
    let spp = obj.element_opt(tags::SAMPLES_PER_PIXEL).ok().flatten().and_then(|e| e.to_int::<u32>().ok()).unwrap_or(1);
    let photometric = text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    if spp != 1 || !(photometric == "MONOCHROME1" || photometric == "MONOCHROME2") {
        return Err(RadiographError::Unsupported {
            path: path.to_path_buf(),
            what: format!("{spp} sample(s) per pixel, PhotometricInterpretation {photometric:?}"),
            fix: "a radiograph is MONOCHROME1 or MONOCHROME2 with one sample per pixel",
        }
        .into());
    }
    if obj.element_opt(tags::MODALITY_LUT_SEQUENCE).ok().flatten().is_some() {
        return Err(RadiographError::Unsupported {
            path: path.to_path_buf(),
            what: "a Modality LUT Sequence".into(),
            fix: "coxa applies RescaleSlope/RescaleIntercept only: export the image with the LUT applied",
        }
        .into());
    }
    check_size(path, h.rows, h.cols, u64::from(h.bits_allocated / 8).max(1), &options.limits)?;
    scan::check_pixel_layout(path, &obj, &h, pixel_data)?;
    let mut warnings = Vec::new();
    let file_spacing = dicom_spacing(path, &obj, &mut warnings)?;
    let spacing = apply_caller(path, file_spacing, options, &mut warnings, "the file has neither ImagerPixelSpacing nor PixelSpacing")?;
    let slope = single(path, &obj, tags::RESCALE_SLOPE, "RescaleSlope")?.unwrap_or(1.0);
    let intercept = single(path, &obj, tags::RESCALE_INTERCEPT, "RescaleIntercept")?.unwrap_or(0.0);
    if slope == 0.0 || slope.abs() > 1e6 || intercept.abs() > 1e9 {
        return Err(implausible(path, "RescaleSlope, RescaleIntercept", format!("{slope}, {intercept}"), ("a non-zero slope", "|intercept| 1e9"), "the header is corrupt: re-export the image"));
    }
    let ts = h.transfer_syntax.clone();
    let decoder_err = |source: dicom_pixeldata::Error| -> Error {
        crate::dicom::DicomError::Decoder { path: path.to_path_buf(), transfer_syntax: crate::dicom::decode::transfer_syntax_name(&ts), source: Box::new(source), hint: String::new() }.into()
    };
    let pixels = obj.decode_pixel_data().map_err(decoder_err)?;
    let (rows, cols) = (h.rows as usize, h.cols as usize);
    let flat: Vec<f32> = pixels.to_vec_frame(0).map_err(decoder_err)?;
    let values =
        Array2::from_shape_vec((rows, cols), flat).map_err(|e| implausible(path, "the decoded pixels", e, ("Rows x Columns", "Rows x Columns"), "the pixel data is truncated: re-export the image"))?;
    let window = match (floats(path, &obj, tags::WINDOW_CENTER, "WindowCenter")?, floats(path, &obj, tags::WINDOW_WIDTH, "WindowWidth")?) {
        (Some(c), Some(w)) if !c.is_empty() && !w.is_empty() => Some((c[0], w[0])),
        _ => None,
    };
    let function = text(&obj, tags::VOILUT_FUNCTION).unwrap_or_else(|| "LINEAR".into());
    let lut = voi_lut(path, &obj)?;
    if lut.is_some() && window.is_some() {
        warnings.push("the file has both a VOI LUT Sequence and a window: the LUT is used (as pydicom and dicom-pixeldata do)".into());
    }
    let voi = match (lut, window) {
        (Some(lut), _) => lut,
        (None, Some((center, width))) => {
            let width_ok = if function == "LINEAR" { width >= 1.0 } else { width > 0.0 };
            if !width_ok {
                return Err(implausible(path, "WindowWidth", width, (if function == "LINEAR" { ">= 1" } else { "> 0" }, "any"), "the header is corrupt: re-export the image"));
            }
            if !matches!(function.as_str(), "LINEAR" | "LINEAR_EXACT" | "SIGMOID") {
                return Err(RadiographError::Unsupported { path: path.to_path_buf(), what: format!("VOILUTFunction {function:?}"), fix: "PS3.3 defines LINEAR, LINEAR_EXACT and SIGMOID" }.into());
            }
            Voi::Window { center, width, function }
        }
        (None, None) => {
            let (min, max) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            Voi::MinMax { min: f64::from(min), max: f64::from(max) }
        }
    };
    let shape = text(&obj, tags::PRESENTATION_LUT_SHAPE);
    let inverted = photometric == "MONOCHROME1" || shape.as_deref() == Some("INVERSE");
    if photometric == "MONOCHROME2" && inverted {
        warnings.push("MONOCHROME2 with Presentation LUT Shape INVERSE: inverted for presentation".into());
    }
    let presentation = values.mapv(|x| {
        let y = voi_value(&voi, f64::from(x));
        (if inverted { 1.0 - y } else { y }) as f32
    });
    let intent = text(&obj, tags::PRESENTATION_INTENT_TYPE);
    if intent.as_deref() == Some("FOR PROCESSING") {
        warnings.push("a DX image FOR PROCESSING (raw detector values): models trained on images for presentation may not apply".into());
    }
    let bits_stored = obj.element_opt(tags::BITS_STORED).ok().flatten().and_then(|e| e.to_int::<u16>().ok()).unwrap_or(h.bits_allocated);
    let info = RadiographInfo {
        format: "DICOM",
        modality,
        sop_class_uid: sop_class,
        presentation_intent: intent,
        photometric,
        inverted,
        rows,
        cols,
        bits_stored,
        rescale: [slope, intercept],
        voi,
        view_position: text(&obj, tags::VIEW_POSITION),
        body_part: text(&obj, tags::BODY_PART_EXAMINED),
    };
    Ok(Radiograph { values, presentation, spacing, info, warnings, patient: h.patient })
}

/// The first item of the VOI LUT Sequence, when the file has one.
fn voi_lut(path: &Path, obj: &DefaultDicomObject) -> Result<Option<Voi>> {
    let Some(seq) = obj.element_opt(tags::VOILUT_SEQUENCE).ok().flatten() else { return Ok(None) };
    let Some(item) = seq.items().and_then(|items| items.first()) else { return Ok(None) };
    let bad = |what: String| -> Error { RadiographError::Unsupported { path: path.to_path_buf(), what, fix: "re-export the image with a window (WindowCenter/WindowWidth) instead" }.into() };
    let desc: Vec<i64> = item.element(tags::LUT_DESCRIPTOR).ok().and_then(|e| e.to_multi_int::<i64>().ok()).ok_or_else(|| bad("a VOI LUT without a readable LUTDescriptor".into()))?;
    let [n, first, bits] = desc[..] else { return Err(bad(format!("a VOI LUT whose LUTDescriptor is {desc:?} (three numbers expected)"))) };
    let entries = if n == 0 { 65536 } else { n as usize };
    if !(bits == 8 || (10..=16).contains(&bits)) || n < 0 {
        return Err(bad(format!("a VOI LUT of {n} entries of {bits} bits (PS3.3: 8 or 10-16 bits)")));
    }
    let data: Vec<u16> = item.element(tags::LUT_DATA).ok().and_then(|e| e.to_multi_int::<u16>().ok()).ok_or_else(|| bad("a VOI LUT without readable LUTData".into()))?;
    if data.len() != entries {
        return Err(bad(format!("a VOI LUT whose LUTData has {} entries, its LUTDescriptor {entries}", data.len())));
    }
    Ok(Some(Voi::Lut { first_mapped: first, bits: bits as u16, entries, data }))
}

/// The VOI transform of a modality value to 0..1 (PS3.3 C.11.2.1.2 with y_min 0, y_max 1).
pub fn voi_value(voi: &Voi, x: f64) -> f64 {
    match voi {
        Voi::Window { center: c, width: w, function } => match function.as_str() {
            "LINEAR_EXACT" => {
                if x <= c - w / 2.0 {
                    0.0
                } else if x > c + w / 2.0 {
                    1.0
                } else {
                    (x - c) / w + 0.5
                }
            }
            "SIGMOID" => 1.0 / (1.0 + (-4.0 * (x - c) / w).exp()),
            _ => {
                if x <= c - 0.5 - (w - 1.0) / 2.0 {
                    0.0
                } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                    1.0
                } else {
                    (x - (c - 0.5)) / (w - 1.0) + 0.5
                }
            }
        },
        Voi::Lut { first_mapped, bits, entries, data } => {
            let idx = if x < *first_mapped as f64 { 0 } else { ((x - *first_mapped as f64).trunc() as usize).min(entries - 1) };
            f64::from(data[idx]) / ((1u32 << bits) - 1) as f64
        }
        Voi::MinMax { min, max } => {
            if max > min {
                ((x - min) / (max - min)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }
        Voi::FullRange { max } => x / max,
    }
}

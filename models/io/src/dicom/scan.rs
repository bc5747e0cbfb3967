//! Discovery and header scanning: which files are DICOM, and which series they form.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use rayon::prelude::*;
use serde::Serialize;

pub(crate) use super::slice::SliceHeader;
use super::slice::{bad_tag, check_rescale_values};
use super::{DicomError, PatientIdentity};
use crate::{Error, Result};

/// One series found on disk.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Display key: the SeriesInstanceUID, or a geometry key where the UID is empty.
    pub key: String,
    pub slices: Vec<SliceHeader>,
    pub warnings: Vec<String>,
    pub patient: PatientIdentity,
}

/// What a series is, without its pixels (safe to print: no patient identity).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesSummary {
    /// SeriesInstanceUID, `None` where the files leave it empty.
    pub series_uid: Option<String>,
    /// StudyInstanceUID, `None` where empty.
    pub study_uid: Option<String>,
    /// FrameOfReferenceUID, `None` where empty.
    pub frame_of_reference_uid: Option<String>,
    /// Modality (CT, MR, ...). (SeriesDescription is free text that can hold a name: it is in
    /// [`PatientIdentity::other`], not here.)
    pub modality: String,
    /// SeriesNumber.
    pub series_number: Option<i64>,
    /// Number of files in the series.
    pub n_files: usize,
    /// Rows x columns of the first file.
    pub rows: u32,
    /// Columns of the first file.
    pub cols: u32,
    /// Transfer syntax UIDs present.
    pub transfer_syntaxes: Vec<String>,
}

impl Series {
    pub fn summary(&self) -> SeriesSummary {
        let first = &self.slices[0];
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut ts: Vec<String> = self.slices.iter().map(|s| s.transfer_syntax.clone()).collect();
        ts.sort();
        ts.dedup();
        SeriesSummary {
            series_uid: nonempty(&first.series_uid),
            study_uid: nonempty(&first.study_uid),
            frame_of_reference_uid: nonempty(&first.frame_of_reference_uid),
            modality: first.modality.clone(),
            series_number: first.series_number,
            n_files: self.n_files(),
            rows: first.rows,
            cols: first.cols,
            transfer_syntaxes: ts,
        }
    }

    /// Files of the series (an Enhanced CT's frames are slices of one file).
    pub fn n_files(&self) -> usize {
        let mut paths: Vec<&Path> = self.slices.iter().map(|s| s.path.as_path()).collect();
        paths.sort();
        paths.dedup();
        paths.len()
    }

    fn listing_entry(&self, index: usize) -> String {
        let s = self.summary();
        format!("[{index}] {} number={} modality={} {} files {}x{}", self.key, s.series_number.map_or("-".to_string(), |n| n.to_string()), s.modality, s.n_files, s.cols, s.rows)
    }
}

/// The DICOM files found under some paths, grouped into series.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The first path given (named in errors).
    pub root: PathBuf,
    pub(crate) series: Vec<Series>,
    /// Notes on what was skipped or worked around.
    pub warnings: Vec<String>,
    /// Number of DICOM files found.
    pub n_files: usize,
}

impl Discovery {
    /// Summaries of every series found, in discovery order.
    pub fn summaries(&self) -> Vec<SeriesSummary> {
        self.series.iter().map(Series::summary).collect()
    }

    fn listing(&self, which: &[&Series]) -> String {
        which
            .iter()
            .map(|s| {
                let idx = self.series.iter().position(|x| std::ptr::eq(x, *s)).unwrap_or(0) + 1;
                s.listing_entry(idx)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Picks the series to read: the one `wanted` names (UID, SeriesNumber or 1-based index),
    /// else the only CT series (else the only series).
    pub(crate) fn pick(&self, wanted: Option<&str>) -> Result<&Series> {
        let all: Vec<&Series> = self.series.iter().collect();
        if let Some(w) = wanted {
            let w = w.trim();
            let by_uid = self.series.iter().find(|s| s.key == w || s.slices[0].series_uid == w);
            let by_number = || {
                let n: i64 = w.parse().ok()?;
                let hits: Vec<&Series> = self.series.iter().filter(|s| s.slices[0].series_number == Some(n)).collect();
                (hits.len() == 1).then(|| hits[0])
            };
            let by_index = || {
                let i: usize = w.parse().ok()?;
                self.series.get(i.checked_sub(1)?)
            };
            return by_uid.or_else(by_number).or_else(by_index).ok_or_else(|| DicomError::SeriesNotFound { path: self.root.clone(), wanted: w.to_string(), listing: self.listing(&all) }.into());
        }
        let ct: Vec<&Series> = self.series.iter().filter(|s| s.slices[0].modality.eq_ignore_ascii_case("CT")).collect();
        let candidates = if ct.is_empty() { all } else { ct };
        match candidates.as_slice() {
            [one] => Ok(one),
            _ => Err(DicomError::SeveralSeries { path: self.root.clone(), n: candidates.len(), listing: self.listing(&candidates) }.into()),
        }
    }
}

/// Finds the DICOM files under `paths` (folders recursively, files as given), reads their headers
/// in parallel and groups them into series.
pub fn discover(paths: &[PathBuf]) -> Result<Discovery> {
    let Some(root) = paths.first().cloned() else {
        return Err(DicomError::NoDicomFiles { path: PathBuf::from("."), skipped_note: String::new() }.into());
    };
    let mut files = Vec::new();
    let mut explicit = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| io_error(p, e))?;
        if meta.is_dir() {
            walk(p, &mut files)?;
        } else {
            explicit.push(p.clone());
        }
    }
    files.sort();
    // Explicit files must be DICOM; files found in folders are filtered by the marker.
    let mut dicom_files = Vec::with_capacity(files.len() + explicit.len());
    for p in &explicit {
        if !has_dicm_marker(p)? {
            return Err(DicomError::NotDicom { path: p.clone() }.into());
        }
        dicom_files.push(p.clone());
    }
    let marks: Vec<Result<bool>> = files.par_iter().map(|p| has_dicm_marker(p)).collect();
    let mut n_skipped = 0usize;
    for (p, m) in files.iter().zip(marks) {
        if m? {
            dicom_files.push(p.clone());
        } else {
            n_skipped += 1;
        }
    }
    let mut warnings = Vec::new();
    if dicom_files.is_empty() {
        let skipped_note = if n_skipped > 0 { format!(", {n_skipped} other files skipped") } else { String::new() };
        return Err(DicomError::NoDicomFiles { path: root, skipped_note }.into());
    }
    if n_skipped > 0 {
        warnings.push(format!("skipped {n_skipped} non-DICOM file(s) (no 'DICM' marker)"));
    }
    let headers: Vec<Vec<SliceHeader>> = dicom_files.par_iter().map(|p| read_header(p)).collect::<Result<_>>()?;
    let n_files = headers.len();
    let n_not_images = headers.iter().filter(|h| h.is_empty()).count();
    if n_not_images == n_files {
        return Err(DicomError::NoDicomFiles { path: root, skipped_note: format!(", only {n_files} DICOM files that hold no image (a DICOMDIR, reports, presentation states)") }.into());
    }
    if n_not_images > 0 {
        warnings.push(format!("skipped {n_not_images} DICOM file(s) that are no images (a DICOMDIR, reports, presentation states, documents, segmentations)"));
    }
    let headers = headers.into_iter().flatten().collect();
    let series = group(headers);
    Ok(Discovery { root, series, warnings, n_files })
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound { Error::NotFound { path: path.to_path_buf() } } else { Error::Unreadable { path: path.to_path_buf(), source: e } }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|e| io_error(&path, e))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether the file has the 128-byte preamble followed by `DICM` (PS3.10 7.1).
pub(crate) fn has_dicm_marker(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut buf = [0u8; 132];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path, e)),
        }
    }
    Ok(n == 132 && &buf[128..132] == b"DICM")
}

pub(crate) fn open_err(path: &Path, e: dicom_object::ReadError) -> Error {
    DicomError::ReadFile { path: path.to_path_buf(), source: Box::new(e) }.into()
}

/// SOP Class UID of the Segmentation Storage.
pub const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";
/// SOP Class UID of the Label Map Segmentation Storage (2024: LABELMAP segmentations).
pub const LABEL_MAP_SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.7";
/// The segmentations' SOP classes (read by [`super::seg`], never stacked).
pub(crate) const SEG_CLASSES: [&str; 2] = [SEGMENTATION_STORAGE, LABEL_MAP_SEGMENTATION_STORAGE];

/// SOP classes (and families: a class under one of these) of DICOM files that are no images and
/// sit beside series on CDs and in study folders: the DICOMDIR (Media Storage Directory),
/// structured reports and key object selections, presentation states, encapsulated documents, RT
/// structure sets; and segmentations ([`super::seg`]: a SEG beside its CT is read as labels, not
/// stacked: its frames would be taken for an Enhanced CT's). Skipped with a warning; any other
/// file without Rows is an error.
const NOT_IMAGES: [&str; 5] = ["1.2.840.10008.1.3.10", "1.2.840.10008.5.1.4.1.1.88", "1.2.840.10008.5.1.4.1.1.11", "1.2.840.10008.5.1.4.1.1.104", "1.2.840.10008.5.1.4.1.1.481.3"];

/// The slice headers of one file: one, or one per frame of an Enhanced CT; none for a file that
/// is no image (see [`NOT_IMAGES`]).
fn read_header(path: &Path) -> Result<Vec<SliceHeader>> {
    // Every announced length is checked against the file before dicom-object allocates it.
    let pixel_data = super::prescan::prescan(path)?;
    let obj = OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(path).map_err(|e| open_err(path, e))?;
    let class = obj.meta().media_storage_sop_class_uid();
    if SEG_CLASSES.contains(&class) || NOT_IMAGES.iter().any(|c| class == *c || class.strip_prefix(c).is_some_and(|rest| rest.starts_with('.'))) {
        return Ok(Vec::new());
    }
    let mut h = header_from(path, &obj)?;
    h.file_len = std::fs::metadata(path).map_err(|e| io_error(path, e))?.len();
    check_pixel_layout(path, &obj, &h, pixel_data)?;
    check_rescale(path, &obj)?;
    h.native = super::native::native_pixels(&obj, &h.transfer_syntax, pixel_data, h.rows, h.cols);
    super::enhanced::frames(path, &obj, h, pixel_data)
}

/// Checks the pixel layout: BitsAllocated 8, 16 or 32, BitsStored within it, PixelRepresentation
/// 0 or 1, Rows and Columns > 0, and native pixel data exactly as long as the header describes
/// (one padding byte allowed), so that 16-bit pixels under an 8-bit header, or a header
/// announcing 65535x65535 pixels over a small image, are refused before anything is decoded.
pub(crate) fn check_pixel_layout(path: &Path, obj: &DefaultDicomObject, h: &SliceHeader, pixel_data: super::prescan::PixelData) -> Result<()> {
    use super::prescan::PixelData;
    if h.rows == 0 || h.cols == 0 {
        return Err(bad_tag(path, "Rows/Columns", (h.rows, h.cols), "an image needs at least one row and column"));
    }
    let bits_stored = uint(obj, tags::BITS_STORED).unwrap_or(u32::from(h.bits_allocated));
    if !matches!(h.bits_allocated, 8 | 16 | 32) {
        return Err(bad_tag(path, "BitsAllocated", h.bits_allocated, "a CT image has 8, 16 or 32 bits per pixel"));
    }
    if bits_stored == 0 || bits_stored > u32::from(h.bits_allocated) {
        return Err(bad_tag(path, "BitsStored", bits_stored, format!("must be 1..={} (BitsAllocated)", h.bits_allocated)));
    }
    if let Some(pr) = uint(obj, tags::PIXEL_REPRESENTATION)
        && pr > 1
    {
        return Err(bad_tag(path, "PixelRepresentation", pr, "must be 0 (unsigned) or 1 (signed)"));
    }
    let spp = uint(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if let PixelData::Native { len: found, .. } = pixel_data {
        let expected = crate::limits::product(&[u64::from(h.rows), u64::from(h.cols), u64::from(h.frames.max(1)), u64::from(spp), u64::from(h.bits_allocated) / 8]);
        if found != expected && found != expected.saturating_add(1) {
            let hint = if found == expected.saturating_mul(2) {
                " (twice as long: 16-bit pixels under an 8-bit header?)".to_string()
            } else if found.saturating_mul(2) == expected {
                " (half as long: 8-bit pixels under a 16-bit header?)".to_string()
            } else if found < expected {
                " (Rows or Columns too large, or the pixel data truncated)".to_string()
            } else {
                String::new()
            };
            return Err(DicomError::PixelDataLength {
                path: path.to_path_buf(),
                found,
                expected,
                layout: format!("Rows x Columns x NumberOfFrames x SamplesPerPixel x BitsAllocated/8 = {}x{}x{}x{spp}x{}/8", h.rows, h.cols, h.frames.max(1), h.bits_allocated),
                hint,
            }
            .into());
        }
    }
    Ok(())
}

/// Checks RescaleSlope and RescaleIntercept: absent (slope 1, intercept 0), or one finite number
/// each, the slope within [`MIN_RESCALE_SLOPE`](super::slice::MIN_RESCALE_SLOPE)..=[`MAX_RESCALE_SLOPE`](super::slice::MAX_RESCALE_SLOPE) in magnitude and the
/// intercept within [`MAX_RESCALE_INTERCEPT_HU`](super::slice::MAX_RESCALE_INTERCEPT_HU).
fn check_rescale(path: &Path, obj: &DefaultDicomObject) -> Result<()> {
    let one = |tag, name: &'static str| -> Result<Option<f64>> {
        let Some(e) = obj.get(tag) else { return Ok(None) };
        let raw = e.to_str().map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).unwrap_or_default();
        if raw.is_empty() {
            return Ok(None);
        }
        let v: Vec<f64> = e.to_multi_float64().map_err(|_| bad_tag(path, name, &raw, "not a number"))?;
        match v.as_slice() {
            [x] if x.is_finite() => Ok(Some(*x)),
            [_] => Err(bad_tag(path, name, &raw, "not finite, so no pixel has a Hounsfield value; the export is broken, re-export the series")),
            _ => Err(bad_tag(path, name, &raw, "expected one number")),
        }
    };
    check_rescale_values(path, one(tags::RESCALE_SLOPE, "RescaleSlope")?, one(tags::RESCALE_INTERCEPT, "RescaleIntercept")?)
}

/// A trimmed string value, empty where absent.
pub(crate) fn text(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> String {
    obj.get(tag).and_then(|e| e.to_str().ok().map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string())).unwrap_or_default()
}

fn floats(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> Option<Vec<f64>> {
    obj.get(tag).and_then(|e| e.to_multi_float64().ok())
}

fn fixed<const N: usize>(path: &Path, obj: &DefaultDicomObject, tag: dicom_object::Tag, name: &'static str) -> Result<Option<[f64; N]>> {
    let Some(v) = floats(obj, tag) else { return Ok(None) };
    if v.is_empty() {
        return Ok(None);
    }
    let arr: [f64; N] = v.as_slice().try_into().map_err(|_| DicomError::BadTag { path: path.to_path_buf(), tag_name: name, value: format!("{v:?}"), why: format!("expected {N} numbers") })?;
    if arr.iter().any(|x| !x.is_finite()) {
        return Err(DicomError::BadTag { path: path.to_path_buf(), tag_name: name, value: format!("{v:?}"), why: "not finite".into() }.into());
    }
    Ok(Some(arr))
}

fn uint(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> Option<u32> {
    obj.get(tag).and_then(|e| e.to_int::<u32>().ok())
}

pub(crate) fn header_from(path: &Path, obj: &DefaultDicomObject) -> Result<SliceHeader> {
    let missing = |tag_name: &'static str, tag: dicom_object::Tag| DicomError::MissingTag { path: path.to_path_buf(), tag_name, tag: format!("({:04X},{:04X})", tag.group(), tag.element()) };
    let rows = uint(obj, tags::ROWS).ok_or_else(|| missing("Rows", tags::ROWS))?;
    let cols = uint(obj, tags::COLUMNS).ok_or_else(|| missing("Columns", tags::COLUMNS))?;
    let name = text(obj, tags::PATIENT_NAME);
    let id = text(obj, tags::PATIENT_ID);
    Ok(SliceHeader {
        path: path.to_path_buf(),
        series_uid: text(obj, tags::SERIES_INSTANCE_UID),
        study_uid: text(obj, tags::STUDY_INSTANCE_UID),
        sop_uid: text(obj, tags::SOP_INSTANCE_UID),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        modality: text(obj, tags::MODALITY),
        series_number: text(obj, tags::SERIES_NUMBER).parse().ok(),
        ipp: fixed::<3>(path, obj, tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient")?,
        iop: fixed::<6>(path, obj, tags::IMAGE_ORIENTATION_PATIENT, "ImageOrientationPatient")?,
        pixel_spacing: fixed::<2>(path, obj, tags::PIXEL_SPACING, "PixelSpacing")?,
        rows,
        cols,
        frames: text(obj, tags::NUMBER_OF_FRAMES).parse().unwrap_or(1),
        frame: None,
        gantry_tilt_deg: floats(obj, tags::GANTRY_DETECTOR_TILT).and_then(|v| v.first().copied()),
        transfer_syntax: obj.meta().transfer_syntax().trim_end_matches('\0').to_string(),
        patient: PatientIdentity {
            name: (!name.is_empty()).then_some(name),
            id: (!id.is_empty()).then_some(id),
            other: super::IDENTIFYING_FIELDS.iter().map(|(k, tag, _)| (k.to_string(), text(obj, *tag))).filter(|(_, v)| !v.trim().is_empty()).collect(),
        },
        bits_allocated: obj.get(tags::BITS_ALLOCATED).and_then(|e| e.to_int::<u16>().ok()).unwrap_or(16),
        file_len: 0,
        native: None,
    })
}

/// Groups headers into series: by SeriesInstanceUID, or by frame of reference + orientation +
/// image size where the UID is empty.
fn group(headers: Vec<SliceHeader>) -> Vec<Series> {
    let mut groups: BTreeMap<String, Vec<SliceHeader>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for h in headers {
        let key = if h.series_uid.is_empty() {
            let iop = h.iop.map_or("no-orientation".to_string(), |o| o.iter().map(|x| format!("{:.4}", x + 0.0)).collect::<Vec<_>>().join(","));
            let for_uid = if h.frame_of_reference_uid.is_empty() { "-" } else { &h.frame_of_reference_uid };
            format!("(no SeriesInstanceUID: frame of reference {for_uid}, orientation {iop}, {}x{})", h.cols, h.rows)
        } else {
            h.series_uid.clone()
        };
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(h);
    }
    order
        .into_iter()
        .map(|key| {
            let slices = groups.remove(&key).unwrap_or_default();
            let mut warnings = Vec::new();
            let n_empty = |f: fn(&SliceHeader) -> &str| slices.iter().filter(|s| f(s).is_empty()).count();
            let empties: Vec<String> = [("StudyInstanceUID", n_empty(|s| &s.study_uid)), ("SeriesInstanceUID", n_empty(|s| &s.series_uid)), ("SOPInstanceUID", n_empty(|s| &s.sop_uid))]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| format!("{t} in {n}"))
                .collect();
            if !empties.is_empty() {
                warnings.push(format!(
                    "empty UIDs ({} of {} files): grouped the series by frame of reference, orientation and image size instead; a PACS will refuse these files",
                    empties.join(", "),
                    slices.len()
                ));
            }
            let patient = slices[0].patient.clone();
            Series { key, slices, warnings, patient }
        })
        .collect()
}

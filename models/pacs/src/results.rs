//! A case's results as DICOM objects in the source study, each referencing the source series
//! and carrying the source patient's identity (the one place coxa writes it):
//!
//! - **SEG** (Segmentation Storage, binary): every bone and muscle of `anatomy/labels.nii.gz`
//!   that coxa has a code for, as one segment each, with SNOMED CT anatomy and laterality; one
//!   frame per segment and source slice that holds it, each frame derived from its source image.
//!   The label map must lie on the source series' grid (it does when the case was planned on
//!   that series).
//! - **SR** (Comprehensive SR, TID 1500 Measurement Report): the plan's measurements (cup size
//!   and angles in Murray's three definitions, head, stem, leg length and offset changes,
//!   combined anteversion, and the range-of-motion limit of every motion) in one TID 1501
//!   measurement group, UCUM units; the concepts have no standard codes, so they use coxa's
//!   private coding scheme `99COXA` (code meanings spelled out).
//! - **Encapsulated PDF**: the case's report PDF (`report.pdf`, else the first `*.pdf` of the
//!   case folder), bytes unchanged.
//! - **Secondary Capture**: every `pictures/*.png`, as 8-bit RGB.
//!
//! UIDs are stable ([`coxa_io::dicom::stable_uid`]): `2.25.` + 127 bits of SHA-256 over the source series UID, the object kind
//! and the bytes it is made from, so pushing the same case twice sends the same UIDs (the PACS
//! keeps one copy) while a changed plan gets new ones.
//!
//! Written here with dicom-object rather than a SEG/SR library: no Rust crate builds these
//! IODs (highdicom, the reference, is Python; the tests check these objects with it).

use std::path::{Path, PathBuf};

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use nalgebra::{Point3, Vector3};
use serde::Serialize;
use sha2::{Digest, Sha256};

use coxa_core::PlanRecord;
use coxa_io::dicom::{ds, ds_multi};

use crate::error::io;
use crate::{Error, Result};

mod seg;
mod sr;

pub use seg::*;
pub use sr::*;

/// The kind of a result object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Segmentation.
    Seg,
    /// Structured report of the plan's measurements.
    Sr,
    /// The report as encapsulated PDF.
    Pdf,
    /// A picture as secondary capture.
    Sc,
    /// A pseudo-MRI slice as an MR image (derived from the CT).
    Mr,
}

/// One DICOM object built from a case.
#[derive(Debug, Clone, Serialize)]
pub struct ResultObject {
    /// What it is.
    pub kind: Kind,
    /// Where it came from (a file of the case).
    pub from: String,
    /// SOPClassUID.
    pub sop_class: String,
    /// SOPInstanceUID (stable).
    pub sop_instance: String,
    /// SeriesInstanceUID (stable).
    pub series_uid: String,
    /// The Part 10 file.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Everything built from a case, and what was left out and why.
#[derive(Debug, Clone, Serialize)]
pub struct CaseObjects {
    /// The objects.
    pub objects: Vec<ResultObject>,
    /// What was not built, one sentence each (e.g. no PDF in the case).
    pub notes: Vec<String>,
}

/// One source image.
#[derive(Debug, Clone)]
pub(crate) struct SourceImage {
    pub(crate) sop_class: String,
    pub(crate) sop_instance: String,
    pub(crate) position: Vector3<f64>,
}

/// The source series: its images (in slice order), geometry and the patient/study attributes to
/// carry over.
#[derive(Debug, Clone)]
pub struct Source {
    pub(crate) series_uid: String,
    pub(crate) study_uid: String,
    pub(crate) frame_of_reference_uid: String,
    pub(crate) rows: u32,
    pub(crate) cols: u32,
    /// (0028,0030): [between rows, between columns], mm.
    pub(crate) pixel_spacing: [f64; 2],
    /// Row direction, column direction (LPS unit vectors).
    pub(crate) orientation: [Vector3<f64>; 2],
    pub(crate) slice_spacing_mm: f64,
    pub(crate) images: Vec<SourceImage>,
    /// Patient and study elements, copied as they are.
    pub(crate) carried: Vec<DataElement<InMemDicomObject>>,
}

/// Patient and study attributes carried from the source into every result.
const CARRIED: [Tag; 14] = [
    tags::SPECIFIC_CHARACTER_SET,
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_SEX,
    tags::STUDY_INSTANCE_UID,
    tags::STUDY_DATE,
    tags::STUDY_TIME,
    tags::STUDY_ID,
    tags::ACCESSION_NUMBER,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::STUDY_DESCRIPTION,
    tags::PATIENT_AGE,
];

pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.element(tag).ok()?.to_str().ok()?.trim_end_matches(['\0', ' ']).to_string();
    (!s.is_empty()).then_some(s)
}

fn floats(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    obj.element(tag).ok()?.to_multi_float64().ok()
}

impl Source {
    /// Reads the headers of the source series in `dir` (one series; the case's CT).
    pub fn read(dir: &Path) -> Result<Source> {
        let bad = |why: String| Error::Case { path: dir.to_path_buf(), why };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).map_err(io("read", dir))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        paths.sort();
        let mut images = Vec::new();
        let mut first: Option<InMemDicomObject> = None;
        for p in &paths {
            let Ok(obj) = dicom_object::OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(p) else { continue };
            let ipp = floats(&obj, tags::IMAGE_POSITION_PATIENT).filter(|v| v.len() == 3).ok_or_else(|| bad(format!("{} has no ImagePositionPatient", p.display())))?;
            let image = SourceImage {
                sop_class: text(&obj, tags::SOP_CLASS_UID).unwrap_or_default(),
                sop_instance: text(&obj, tags::SOP_INSTANCE_UID).ok_or_else(|| bad(format!("{} has no SOPInstanceUID", p.display())))?,
                position: Vector3::new(ipp[0], ipp[1], ipp[2]),
            };
            images.push(image);
            if first.is_none() {
                first = Some(obj.into_inner());
            }
        }
        let first = first.ok_or_else(|| bad("no DICOM file: --source must be the folder of the series the case was planned on".into()))?;
        let series_uid = text(&first, tags::SERIES_INSTANCE_UID).ok_or_else(|| bad("no SeriesInstanceUID".into()))?;
        let study_uid = text(&first, tags::STUDY_INSTANCE_UID).ok_or_else(|| bad("no StudyInstanceUID".into()))?;
        let iop = floats(&first, tags::IMAGE_ORIENTATION_PATIENT).filter(|v| v.len() == 6).ok_or_else(|| bad("no ImageOrientationPatient".into()))?;
        let ps = floats(&first, tags::PIXEL_SPACING).filter(|v| v.len() == 2).ok_or_else(|| bad("no PixelSpacing".into()))?;
        let row = Vector3::new(iop[0], iop[1], iop[2]);
        let col = Vector3::new(iop[3], iop[4], iop[5]);
        let normal = row.cross(&col);
        images.sort_by(|a, b| a.position.dot(&normal).total_cmp(&b.position.dot(&normal)));
        let slice_spacing_mm = if images.len() > 1 { (images[images.len() - 1].position - images[0].position).dot(&normal) / (images.len() - 1) as f64 } else { 1.0 };
        let rows = first.element(tags::ROWS).ok().and_then(|e| e.to_int::<u32>().ok()).ok_or_else(|| bad("no Rows".into()))?;
        let cols = first.element(tags::COLUMNS).ok().and_then(|e| e.to_int::<u32>().ok()).ok_or_else(|| bad("no Columns".into()))?;
        let carried = CARRIED.iter().filter_map(|t| first.element(*t).ok().cloned()).collect();
        Ok(Source {
            series_uid,
            study_uid,
            frame_of_reference_uid: text(&first, tags::FRAME_OF_REFERENCE_UID).unwrap_or_default(),
            rows,
            cols,
            pixel_spacing: [ps[0], ps[1]],
            orientation: [row, col],
            slice_spacing_mm,
            images,
            carried,
        })
    }

    /// SeriesInstanceUID of the source.
    pub fn series_uid(&self) -> &str {
        &self.series_uid
    }
    /// StudyInstanceUID of the source.
    pub fn study_uid(&self) -> &str {
        &self.study_uid
    }
}

/// A stable `2.25.` UID from the given parts (coxa's one UID generator, in coxa-io).
pub use coxa_io::dicom::stable_uid;

pub(crate) fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub(crate) fn el(tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, v.into())
}

pub(crate) fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

pub(crate) fn obj(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// A code sequence item.
fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    obj(vec![el(tags::CODE_VALUE, VR::SH, value), el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme), el(tags::CODE_MEANING, VR::LO, meaning)])
}

/// When the objects are made (ContentDate, ContentTime).
fn now_da_tm() -> (String, String) {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86400) as i64;
    let (y, m, d) = civil_from_days(days);
    let t = secs % 86400;
    (format!("{y:04}{m:02}{d:02}"), format!("{:02}{:02}{:02}", t / 3600, (t / 60) % 60, t % 60))
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The modules every result shares: patient and study (carried), series, equipment, SOP common.
pub(crate) fn base(src: &Source, sop_class: &str, sop_instance: &str, series_uid: &str, modality: &str, series_number: i32, description: &str) -> InMemDicomObject {
    let (date, time) = now_da_tm();
    let mut o = obj(src.carried.clone());
    if o.element(tags::SPECIFIC_CHARACTER_SET).is_err() {
        o.put(el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    }
    // Type 2: present, empty when the source has no value.
    for (t, vr) in [
        (tags::PATIENT_NAME, VR::PN),
        (tags::PATIENT_ID, VR::LO),
        (tags::PATIENT_BIRTH_DATE, VR::DA),
        (tags::PATIENT_SEX, VR::CS),
        (tags::STUDY_DATE, VR::DA),
        (tags::STUDY_TIME, VR::TM),
        (tags::STUDY_ID, VR::SH),
        (tags::ACCESSION_NUMBER, VR::SH),
        (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
    ] {
        if o.element(t).is_err() {
            o.put(DataElement::new(t, vr, PrimitiveValue::Empty));
        }
    }
    for e in [
        el(tags::SOP_CLASS_UID, VR::UI, sop_class),
        el(tags::SOP_INSTANCE_UID, VR::UI, sop_instance),
        el(tags::STUDY_INSTANCE_UID, VR::UI, src.study_uid.as_str()),
        el(tags::SERIES_INSTANCE_UID, VR::UI, series_uid),
        el(tags::MODALITY, VR::CS, modality),
        el(tags::SERIES_NUMBER, VR::IS, series_number.to_string()),
        el(tags::INSTANCE_NUMBER, VR::IS, "1"),
        el(tags::SERIES_DESCRIPTION, VR::LO, description),
        el(tags::MANUFACTURER, VR::LO, "coxa"),
        el(tags::MANUFACTURER_MODEL_NAME, VR::LO, "coxa"),
        el(tags::DEVICE_SERIAL_NUMBER, VR::LO, "0"),
        el(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        el(tags::CONTENT_DATE, VR::DA, date.as_str()),
        el(tags::CONTENT_TIME, VR::TM, time.as_str()),
        el(tags::INSTANCE_CREATION_DATE, VR::DA, date.as_str()),
        el(tags::INSTANCE_CREATION_TIME, VR::TM, time.as_str()),
    ] {
        o.put(e);
    }
    o
}

fn source_refs(src: &Source) -> Vec<InMemDicomObject> {
    src.images.iter().map(|i| obj(vec![el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, i.sop_class.as_str()), el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, i.sop_instance.as_str())])).collect()
}

pub(crate) fn referenced_series(src: &Source) -> DataElement<InMemDicomObject> {
    seq(tags::REFERENCED_SERIES_SEQUENCE, vec![obj(vec![el(tags::SERIES_INSTANCE_UID, VR::UI, src.series_uid.as_str()), seq(tags::REFERENCED_INSTANCE_SEQUENCE, source_refs(src))])])
}

pub(crate) fn part10(o: InMemDicomObject, what: &str) -> Result<Vec<u8>> {
    let class = text(&o, tags::SOP_CLASS_UID).unwrap_or_default();
    let inst = text(&o, tags::SOP_INSTANCE_UID).unwrap_or_default();
    let file = o
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN).media_storage_sop_class_uid(class).media_storage_sop_instance_uid(inst))
        .map_err(|e| Error::Dicom { what: what.to_string(), why: e.to_string() })?;
    let mut out = Vec::new();
    file.write_all(&mut out).map_err(|e| Error::Dicom { what: what.to_string(), why: e.to_string() })?;
    Ok(out)
}

/// Wraps a PDF as Encapsulated PDF Storage (the bytes unchanged; how the PDF is made does not
/// matter here).
pub fn build_pdf(src: &Source, pdf_path: &Path) -> Result<ResultObject> {
    let pdf = std::fs::read(pdf_path).map_err(io("read", pdf_path))?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(Error::Case { path: pdf_path.to_path_buf(), why: "not a PDF file (no %PDF- header)".into() });
    }
    if pdf.len() as u64 >= u64::from(u32::MAX) - 1 {
        return Err(Error::Case { path: pdf_path.to_path_buf(), why: "larger than DICOM can encapsulate (4 GiB)".into() });
    }
    let series_uid = stable_uid(&[b"pdf-series", src.series_uid.as_bytes(), &sha(&pdf)]);
    let sop_instance = stable_uid(&[b"pdf", src.series_uid.as_bytes(), &sha(&pdf)]);
    let mut o = base(src, uids::ENCAPSULATED_PDF_STORAGE, &sop_instance, &series_uid, "DOC", 9103, "coxa plan report");
    let len = pdf.len() as u32;
    for e in [
        el(tags::CONVERSION_TYPE, VR::CS, "WSD"),
        el(tags::BURNED_IN_ANNOTATION, VR::CS, "YES"),
        el(tags::DOCUMENT_TITLE, VR::ST, "coxa total hip arthroplasty plan"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code("18748-4", "LN", "Diagnostic imaging report")]),
        el(tags::ACQUISITION_DATE_TIME, VR::DT, PrimitiveValue::Empty),
        el(tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT, VR::LO, "application/pdf"),
        el(tags::ENCAPSULATED_DOCUMENT_LENGTH, VR::UL, dicom_value!(U32, [len])),
        seq(tags::SOURCE_INSTANCE_SEQUENCE, source_refs(src)),
        DataElement::new(tags::ENCAPSULATED_DOCUMENT, VR::OB, PrimitiveValue::U8(even(pdf).into())),
    ] {
        o.put(e);
    }
    let bytes = part10(o, "encapsulated PDF")?;
    Ok(ResultObject { kind: Kind::Pdf, from: pdf_path.display().to_string(), sop_class: uids::ENCAPSULATED_PDF_STORAGE.into(), sop_instance, series_uid, bytes })
}

/// Reads a PNG as 8-bit RGB.
fn png_rgb(path: &Path) -> Result<(u32, u32, Vec<u8>)> {
    let bad = |why: String| Error::Case { path: path.to_path_buf(), why };
    let file = std::fs::File::open(path).map_err(io("read", path))?;
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| bad(format!("unreadable PNG: {e}")))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if u64::from(w) * u64::from(h) > 64 << 20 || w > 65535 || h > 65535 {
        return Err(bad(format!("a {w}x{h} picture is too large for a secondary capture")));
    }
    let mut buf = vec![0u8; reader.output_buffer_size().ok_or_else(|| bad("unreadable PNG size".into()))?];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(format!("unreadable PNG: {e}")))?;
    let data = &buf[..info.buffer_size()];
    let px = (w * h) as usize;
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Rgb => data.to_vec(),
        png::ColorType::Rgba => data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => data.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => data.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        png::ColorType::Indexed => return Err(bad("indexed PNG not expanded".into())),
    };
    if rgb.len() != px * 3 {
        return Err(bad("PNG size does not match its pixels".into()));
    }
    Ok((w, h, rgb))
}

/// Builds one secondary capture per picture.
pub fn build_sc(src: &Source, pictures: &[PathBuf]) -> Result<Vec<ResultObject>> {
    let mut all = Vec::new();
    for p in pictures {
        all.extend_from_slice(&sha(&std::fs::read(p).map_err(io("read", p))?));
    }
    let series_uid = stable_uid(&[b"sc-series", src.series_uid.as_bytes(), &all]);
    let mut out = Vec::new();
    for (n, p) in pictures.iter().enumerate() {
        let (w, h, rgb) = png_rgb(p)?;
        let name = p.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let sop_instance = stable_uid(&[b"sc", src.series_uid.as_bytes(), name.as_bytes(), &sha(&rgb)]);
        let mut o = base(src, uids::SECONDARY_CAPTURE_IMAGE_STORAGE, &sop_instance, &series_uid, "OT", 9104, "coxa plan pictures");
        for e in [
            el(tags::INSTANCE_NUMBER, VR::IS, (n + 1).to_string()),
            el(tags::CONVERSION_TYPE, VR::CS, "WSD"),
            el(tags::IMAGE_TYPE, VR::CS, dicom_value!(Strs, ["DERIVED".to_string(), "SECONDARY".to_string()])),
            el(tags::PATIENT_ORIENTATION, VR::CS, PrimitiveValue::Empty),
            // Type 2C (a hip is a paired structure); a picture may show both sides.
            el(tags::LATERALITY, VR::CS, PrimitiveValue::Empty),
            el(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
            el(tags::DERIVATION_DESCRIPTION, VR::ST, format!("coxa plan picture {name}")),
            el(tags::IMAGE_COMMENTS, VR::LT, name.as_str()),
            seq(tags::SOURCE_IMAGE_SEQUENCE, source_refs(src)),
            el(tags::SAMPLES_PER_PIXEL, VR::US, dicom_value!(U16, [3])),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB"),
            el(tags::PLANAR_CONFIGURATION, VR::US, dicom_value!(U16, [0])),
            el(tags::ROWS, VR::US, dicom_value!(U16, [h as u16])),
            el(tags::COLUMNS, VR::US, dicom_value!(U16, [w as u16])),
            el(tags::BITS_ALLOCATED, VR::US, dicom_value!(U16, [8])),
            el(tags::BITS_STORED, VR::US, dicom_value!(U16, [8])),
            el(tags::HIGH_BIT, VR::US, dicom_value!(U16, [7])),
            el(tags::PIXEL_REPRESENTATION, VR::US, dicom_value!(U16, [0])),
            DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(even(rgb).into())),
        ] {
            o.put(e);
        }
        let bytes = part10(o, "secondary capture")?;
        out.push(ResultObject { kind: Kind::Sc, from: p.display().to_string(), sop_class: uids::SECONDARY_CAPTURE_IMAGE_STORAGE.into(), sop_instance, series_uid: series_uid.clone(), bytes });
    }
    Ok(out)
}

/// Stores the objects in the PACS (all in one STOW-RS request or one association).
pub fn push(client: &mut dyn crate::Pacs, objects: &CaseObjects) -> Result<crate::StoreReport> {
    let files: Vec<Vec<u8>> = objects.objects.iter().map(|o| o.bytes.clone()).collect();
    client.store(&files)
}

#[cfg(test)]
mod tests;

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

fn even(mut b: Vec<u8>) -> Vec<u8> {
    if !b.len().is_multiple_of(2) {
        b.push(0);
    }
    b
}

/// A coded structure coxa segments: label id (TotalSegmentator's), label, SNOMED CT type code
/// and meaning, laterality (SNOMED CT 7771000 left, 24028007 right).
struct Coded {
    id: u16,
    label: &'static str,
    code: &'static str,
    meaning: &'static str,
    left: Option<bool>,
}

/// SNOMED CT type code and meaning of each structure coxa's label maps hold
/// ([`coxa_anatomy::labels::COXA_CLASSES`], whose ids and names the segments take), by name
/// without its side. The hip bone has no SNOMED CT concept of its own in the DICOM anatomy lists,
/// so it takes "Structure of innominate bone and/or sacrum and/or coccyx" (118645006) with
/// laterality, as the DICOM/Slicer anatomy mappings do for a half pelvis.
///
/// Checked against (offline copies; no SNOMED CT browser here): pydicom 3's SR concept dictionary
/// (`pydicom/sr/_concepts_dict.py`: 54735007 "Bone structure of sacrum", 71341001 "Bone structure
/// of femur", 118645006 "Pelvis", in CIDs 7304 and 8134) for the bones; the SNOMED CT mapping of
/// TotalSegmentator's classes (as copied into public 3D Slicer modules and a harmonised catalogue
/// that follows TotalSegmentator's repository CSV) for the muscles: 206007 gluteus maximus (that
/// CSV; a spreadsheet version has 181674001), 78333006 gluteus medius, 75297007 gluteus minimus
/// (the spreadsheet repeats gluteus medius's code there, an erratum), 68455001 iliopsoas.
/// TotalSegmentator codes the hip bone as 29836001 "Hip" (a region); coxa keeps 118645006.
const STRUCTURE_CODES: [(&str, &str, &str); 7] = [
    ("sacrum", "54735007", "Sacrum"),
    ("femur", "71341001", "Femur"),
    ("hip", "118645006", "Pelvis"),
    ("gluteus_maximus", "206007", "Gluteus maximus muscle"),
    ("gluteus_medius", "78333006", "Gluteus medius muscle"),
    ("gluteus_minimus", "75297007", "Gluteus minimus muscle"),
    ("iliopsoas", "68455001", "Iliopsoas muscle"),
];

/// The coded structure of label `id`: its name from coxa's classes, its side from the name.
fn coded(id: u16) -> Option<Coded> {
    let &(id, label) = coxa_anatomy::labels::COXA_CLASSES.iter().find(|(i, _)| *i == id)?;
    let (base, left) = match (label.strip_suffix("_left"), label.strip_suffix("_right")) {
        (Some(base), _) => (base, Some(true)),
        (_, Some(base)) => (base, Some(false)),
        _ => (label, None),
    };
    let &(_, code, meaning) = STRUCTURE_CODES.iter().find(|(b, _, _)| *b == base)?;
    Some(Coded { id, label, code, meaning, left })
}

/// The segments of a SEG: label, SNOMED code and laterality, for tests and listings.
pub fn coded_label(id: u16) -> Option<(&'static str, &'static str, Option<bool>)> {
    coded(id).map(|c| (c.label, c.code, c.left))
}

/// How the label map's voxels map onto the source's pixels: index = o + c * dc + r * dr.
struct PixelMap {
    /// Per source slice, the label index of its pixel (row 0, column 0).
    origins: Vec<[i64; 3]>,
    dc: [i64; 3],
    dr: [i64; 3],
}

fn pixel_map(src: &Source, grid: &coxa_core::Grid, path: &Path) -> Result<PixelMap> {
    let bad = |why: String| Error::Case {
        path: path.to_path_buf(),
        why: format!("{why}; the label map must lie on the source series' grid (plan the case on this series, or give --source the series it was planned on)"),
    };
    let to_idx = |p: Vector3<f64>| grid.lps_to_voxel(&Point3::from(p));
    let [row, col] = src.orientation;
    let integral = |v: Vector3<f64>, what: &str| -> Result<[i64; 3]> {
        let r = v.map(f64::round);
        if (v - r).amax() > 1e-3 {
            return Err(bad(format!("{what} falls between label voxels ({:.3}, {:.3}, {:.3})", v.x, v.y, v.z)));
        }
        Ok([r.x as i64, r.y as i64, r.z as i64])
    };
    let p0 = src.images[0].position;
    let o0 = to_idx(p0);
    let dc = integral(to_idx(p0 + row * src.pixel_spacing[1]) - o0, "one column step")?;
    let dr = integral(to_idx(p0 + col * src.pixel_spacing[0]) - o0, "one row step")?;
    if dc.iter().map(|x| x.abs()).sum::<i64>() != 1 || dr.iter().map(|x| x.abs()).sum::<i64>() != 1 {
        return Err(bad("the source's pixel steps are not single label voxels (different pixel spacing)".into()));
    }
    let size = grid.size();
    let mut origins = Vec::new();
    for im in &src.images {
        let o = integral(to_idx(im.position), "a source slice")?;
        for (r, c) in [(0i64, 0i64), (i64::from(src.rows) - 1, i64::from(src.cols) - 1)] {
            for a in 0..3 {
                let v = o[a] + c * dc[a] + r * dr[a];
                if v < 0 || v >= size[a] as i64 {
                    return Err(bad(format!("source slice {} reaches outside the label map", im.sop_instance)));
                }
            }
        }
        origins.push(o);
    }
    Ok(PixelMap { origins, dc, dr })
}

/// Builds the SEG from `labels` (a NIfTI label map on the source grid).
pub fn build_seg(src: &Source, labels_path: &Path) -> Result<Option<ResultObject>> {
    let bytes = std::fs::read(labels_path).map_err(io("read", labels_path))?;
    let map = coxa_io::nifti::read_label_map(labels_path)?;
    let present: std::collections::BTreeSet<u16> = map.labels().iter().copied().filter(|&v| v != 0).collect();
    let segments: Vec<Segment> = present
        .iter()
        .filter_map(|&id| coded(id))
        .map(|c| Segment { id: c.id, label: c.label.to_string(), description: None, category: ("123037004", "SCT", "Anatomical Structure"), type_code: (c.code, "SCT", c.meaning), left: c.left })
        .collect();
    if segments.is_empty() {
        return Ok(None);
    }
    let series = SegSeries { key: "seg", series_number: 9101, description: "coxa segmentation", content_label: "COXA_SEG", content_description: "bones and muscles segmented by coxa" };
    seg_object(src, &map, labels_path, &bytes, &segments, &series).map(Some)
}

/// One segment of a SEG: its value in the label map, label, category and type codes
/// (value, scheme, meaning), laterality (left: true).
pub(crate) struct Segment {
    pub(crate) id: u16,
    pub(crate) label: String,
    pub(crate) description: Option<String>,
    pub(crate) category: (&'static str, &'static str, &'static str),
    pub(crate) type_code: (&'static str, &'static str, &'static str),
    pub(crate) left: Option<bool>,
}

/// What tells one SEG series from another: the UIDs' key, series number and descriptions.
pub(crate) struct SegSeries {
    pub(crate) key: &'static str,
    pub(crate) series_number: i32,
    pub(crate) description: &'static str,
    pub(crate) content_label: &'static str,
    pub(crate) content_description: &'static str,
}

/// A binary SEG of `segments` of `map` (read from `path`, whose `bytes` make the UIDs), one frame
/// per segment and source slice that holds it.
pub(crate) fn seg_object(src: &Source, map: &coxa_core::LabelMap, path: &Path, bytes: &[u8], segments: &[Segment], series: &SegSeries) -> Result<ResultObject> {
    let pm = pixel_map(src, map.grid(), path)?;
    let lab = map.labels();
    let (rows, cols) = (src.rows as usize, src.cols as usize);
    let key = series.key.as_bytes();
    let series_uid = stable_uid(&[&[key, b"-series"].concat(), src.series_uid.as_bytes(), &sha(bytes)]);
    let sop_instance = stable_uid(&[key, src.series_uid.as_bytes(), &sha(bytes)]);
    let dim_uid = stable_uid(&[&[key, b"-dimensions"].concat(), sop_instance.as_bytes()]);
    let mut frames: Vec<InMemDicomObject> = Vec::new();
    let mut bits: Vec<u8> = Vec::new();
    let mut nbits: usize = 0;
    let mut segment_items = Vec::new();
    for (s_idx, seg) in segments.iter().enumerate() {
        let number = (s_idx + 1) as u16;
        let mut type_code = code(seg.type_code.0, seg.type_code.1, seg.type_code.2);
        if let Some(left) = seg.left {
            type_code.put(seq(tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE, vec![if left { code("7771000", "SCT", "Left") } else { code("24028007", "SCT", "Right") }]));
        }
        let mut item = obj(vec![
            el(tags::SEGMENT_NUMBER, VR::US, dicom_value!(U16, [number])),
            el(tags::SEGMENT_LABEL, VR::LO, seg.label.as_str()),
            el(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "AUTOMATIC"),
            el(tags::SEGMENT_ALGORITHM_NAME, VR::LO, "coxa"),
            seq(tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE, vec![code(seg.category.0, seg.category.1, seg.category.2)]),
            seq(tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![type_code]),
        ]);
        if let Some(d) = &seg.description {
            item.put(el(tags::SEGMENT_DESCRIPTION, VR::ST, d.as_str()));
        }
        segment_items.push(item);
        for (k, im) in src.images.iter().enumerate() {
            let o = pm.origins[k];
            let mut frame = vec![false; rows * cols];
            let mut any = false;
            for r in 0..rows {
                for c in 0..cols {
                    let idx = |a: usize| (o[a] + c as i64 * pm.dc[a] + r as i64 * pm.dr[a]) as usize;
                    if lab[[idx(2), idx(1), idx(0)]] == seg.id {
                        frame[r * cols + c] = true;
                        any = true;
                    }
                }
            }
            if !any {
                continue;
            }
            for on in frame {
                if nbits.is_multiple_of(8) {
                    bits.push(0);
                }
                if on {
                    *bits.last_mut().expect("a byte was pushed") |= 1 << (nbits % 8);
                }
                nbits += 1;
            }
            frames.push(obj(vec![
                seq(tags::FRAME_CONTENT_SEQUENCE, vec![obj(vec![el(tags::DIMENSION_INDEX_VALUES, VR::UL, dicom_value!(U32, [u32::from(number), (k + 1) as u32]))])]),
                seq(tags::PLANE_POSITION_SEQUENCE, vec![obj(vec![el(tags::IMAGE_POSITION_PATIENT, VR::DS, ds_multi(&[im.position.x, im.position.y, im.position.z]))])]),
                seq(tags::SEGMENT_IDENTIFICATION_SEQUENCE, vec![obj(vec![el(tags::REFERENCED_SEGMENT_NUMBER, VR::US, dicom_value!(U16, [number]))])]),
                seq(
                    tags::DERIVATION_IMAGE_SEQUENCE,
                    vec![obj(vec![
                        seq(
                            tags::SOURCE_IMAGE_SEQUENCE,
                            vec![obj(vec![
                                el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, im.sop_class.as_str()),
                                el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, im.sop_instance.as_str()),
                                seq(tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE, vec![code("121322", "DCM", "Source image for image processing operation")]),
                                // Frame pixel (r, c) is source pixel (r, c).
                                el(tags::SPATIAL_LOCATIONS_PRESERVED, VR::CS, "YES"),
                            ])],
                        ),
                        seq(tags::DERIVATION_CODE_SEQUENCE, vec![code("113076", "DCM", "Segmentation")]),
                    ])],
                ),
            ]));
        }
    }
    let n_frames = frames.len();
    let mut o = base(src, uids::SEGMENTATION_STORAGE, &sop_instance, &series_uid, "SEG", series.series_number, series.description);
    let [row, col] = src.orientation;
    for e in [
        el(tags::IMAGE_TYPE, VR::CS, dicom_value!(Strs, ["DERIVED".to_string(), "PRIMARY".to_string()])),
        el(tags::SEGMENTATION_TYPE, VR::CS, "BINARY"),
        el(tags::CONTENT_LABEL, VR::CS, series.content_label),
        el(tags::CONTENT_DESCRIPTION, VR::LO, series.content_description),
        el(tags::CONTENT_CREATOR_NAME, VR::PN, "coxa"),
        el(tags::FRAME_OF_REFERENCE_UID, VR::UI, src.frame_of_reference_uid.as_str()),
        el(tags::POSITION_REFERENCE_INDICATOR, VR::LO, PrimitiveValue::Empty),
        el(tags::SAMPLES_PER_PIXEL, VR::US, dicom_value!(U16, [1])),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::ROWS, VR::US, dicom_value!(U16, [src.rows as u16])),
        el(tags::COLUMNS, VR::US, dicom_value!(U16, [src.cols as u16])),
        el(tags::BITS_ALLOCATED, VR::US, dicom_value!(U16, [1])),
        el(tags::BITS_STORED, VR::US, dicom_value!(U16, [1])),
        el(tags::HIGH_BIT, VR::US, dicom_value!(U16, [0])),
        el(tags::PIXEL_REPRESENTATION, VR::US, dicom_value!(U16, [0])),
        el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        el(tags::NUMBER_OF_FRAMES, VR::IS, n_frames.to_string()),
        seq(tags::SEGMENT_SEQUENCE, segment_items),
        seq(tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![obj(vec![el(tags::DIMENSION_ORGANIZATION_UID, VR::UI, dim_uid.as_str())])]),
        seq(
            tags::DIMENSION_INDEX_SEQUENCE,
            vec![
                obj(vec![
                    el(tags::DIMENSION_ORGANIZATION_UID, VR::UI, dim_uid.as_str()),
                    el(tags::DIMENSION_INDEX_POINTER, VR::AT, dicom_value!(Tags, [tags::REFERENCED_SEGMENT_NUMBER])),
                    el(tags::FUNCTIONAL_GROUP_POINTER, VR::AT, dicom_value!(Tags, [tags::SEGMENT_IDENTIFICATION_SEQUENCE])),
                    el(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, "ReferencedSegmentNumber"),
                ]),
                obj(vec![
                    el(tags::DIMENSION_ORGANIZATION_UID, VR::UI, dim_uid.as_str()),
                    el(tags::DIMENSION_INDEX_POINTER, VR::AT, dicom_value!(Tags, [tags::IMAGE_POSITION_PATIENT])),
                    el(tags::FUNCTIONAL_GROUP_POINTER, VR::AT, dicom_value!(Tags, [tags::PLANE_POSITION_SEQUENCE])),
                    el(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, "ImagePositionPatient"),
                ]),
            ],
        ),
        seq(
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            vec![obj(vec![
                seq(
                    tags::PIXEL_MEASURES_SEQUENCE,
                    vec![obj(vec![
                        el(tags::PIXEL_SPACING, VR::DS, ds_multi(&src.pixel_spacing)),
                        el(tags::SLICE_THICKNESS, VR::DS, ds(src.slice_spacing_mm)),
                        el(tags::SPACING_BETWEEN_SLICES, VR::DS, ds(src.slice_spacing_mm)),
                    ])],
                ),
                seq(tags::PLANE_ORIENTATION_SEQUENCE, vec![obj(vec![el(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds_multi(&[row.x, row.y, row.z, col.x, col.y, col.z]))])]),
            ])],
        ),
        seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, frames),
        referenced_series(src),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(even(bits).into())),
    ] {
        o.put(e);
    }
    let out = part10(o, "SEG")?;
    Ok(ResultObject { kind: Kind::Seg, from: path.display().to_string(), sop_class: uids::SEGMENTATION_STORAGE.into(), sop_instance, series_uid, bytes: out })
}

/// One measurement of the plan for the SR: code, meaning, value, UCUM unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// Code value in coxa's scheme `99COXA`.
    pub code: String,
    /// Code meaning.
    pub meaning: String,
    /// The value.
    pub value: f64,
    /// UCUM unit (`mm`, `deg`).
    pub unit: &'static str,
}

/// The plan's measurements (from plan.json) in the order the SR lists them.
pub fn plan_measurements(plan: &PlanRecord) -> Vec<Measurement> {
    let mut out = Vec::new();
    let mut add = |code: &str, meaning: &str, value: Option<f64>, unit: &'static str| {
        if let Some(value) = value.filter(|x| x.is_finite()) {
            out.push(Measurement { code: code.into(), meaning: meaning.into(), value, unit });
        }
    };
    let cup = &plan.cup;
    add("cup-od", "Acetabular cup outer diameter", Some(cup.outer_diameter_mm), "mm");
    add("cup-reamer", "Last reamer diameter", Some(cup.last_reamer_mm), "mm");
    let angles = &cup.angles_deg;
    for (def, name, a) in [("radiographic", "radiographic", &angles.radiographic), ("operative", "operative", &angles.operative), ("anatomic", "anatomic", &angles.anatomic)] {
        add(&format!("cup-inc-{}", &def[..3]), &format!("Cup inclination, {name} (Murray 1993)"), Some(a.inclination_deg), "deg");
        add(&format!("cup-av-{}", &def[..3]), &format!("Cup anteversion, {name} (Murray 1993)"), Some(a.anteversion_deg), "deg");
    }
    add("cup-coverage", "Cup coverage fraction", Some(cup.coverage).filter(|c| c.is_finite()).map(|c| c * 100.0), "%");
    add("head-d", "Femoral head diameter", Some(plan.head.diameter_mm), "mm");
    add("head-neck-off", "Head neck length offset", Some(plan.head.neck_length_offset_mm), "mm");
    add("stem-av", "Stem anteversion", Some(plan.stem.anteversion_deg), "deg");
    add("stem-offset", "Stem offset", plan.stem.offset_mm, "mm");
    add("stem-ccd", "Stem CCD angle", plan.stem.ccd_deg, "deg");
    add("comb-av", "Combined anteversion, Widmer (radiographic cup + 0.7 x stem)", Some(plan.combined_anteversion_deg), "deg");
    add("leg-length", "Leg length change", Some(plan.leg_length_change_mm), "mm");
    add("offset", "Offset change", Some(plan.offset_change_mm), "mm");
    for (i, m) in plan.motions.iter().enumerate() {
        let name = if m.name.is_empty() { "motion" } else { m.name.as_str() };
        let label = if m.posture.is_empty() { name.replace('_', " ") } else { format!("{}, {}", name.replace('_', " "), m.posture) };
        add(&format!("rom-{:02}", i + 1), &format!("Range of motion limit, {label}"), Some(m.limit_deg), "deg");
    }
    out
}

fn unit_code(unit: &str) -> InMemDicomObject {
    match unit {
        "mm" => code("mm", "UCUM", "millimeter"),
        "deg" => code("deg", "UCUM", "degree"),
        _ => code("%", "UCUM", "percent"),
    }
}

fn item(rel: &str, value_type: &str, concept: InMemDicomObject, rest: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    let mut o = obj(vec![el(tags::RELATIONSHIP_TYPE, VR::CS, rel), el(tags::VALUE_TYPE, VR::CS, value_type), seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept])]);
    for e in rest {
        o.put(e);
    }
    o
}

fn container(rel: &str, concept: InMemDicomObject, children: Vec<InMemDicomObject>) -> InMemDicomObject {
    item(rel, "CONTAINER", concept, vec![el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"), seq(tags::CONTENT_SEQUENCE, children)])
}

/// Builds the SR of the plan's measurements (TID 1500).
pub fn build_sr(src: &Source, plan_path: &Path) -> Result<Option<ResultObject>> {
    let bytes = std::fs::read(plan_path).map_err(io("read", plan_path))?;
    let plan: PlanRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Case { path: plan_path.to_path_buf(), why: format!("not a plan.json of this coxa ({e}); plan the case again") })?;
    let measurements = plan_measurements(&plan);
    if measurements.is_empty() {
        return Ok(None);
    }
    let side = plan.side.as_str();
    let series_uid = stable_uid(&[b"sr-series", src.series_uid.as_bytes(), &sha(&bytes)]);
    let sop_instance = stable_uid(&[b"sr", src.series_uid.as_bytes(), &sha(&bytes)]);
    let tracking_uid = stable_uid(&[b"sr-tracking", sop_instance.as_bytes()]);
    let device_uid = stable_uid(&[b"coxa-device"]);
    let mut group = vec![
        item("HAS OBS CONTEXT", "TEXT", code("112039", "DCM", "Tracking Identifier"), vec![el(tags::TEXT_VALUE, VR::UT, format!("coxa THA plan, {side} hip"))]),
        item("HAS OBS CONTEXT", "UIDREF", code("112040", "DCM", "Tracking Unique Identifier"), vec![el(tags::UID, VR::UI, tracking_uid.as_str())]),
    ];
    group.push(item("CONTAINS", "TEXT", code("stem-size", "99COXA", "Stem size"), vec![el(tags::TEXT_VALUE, VR::UT, format!("{} size {}", plan.stem.catalog, plan.stem.size))]));
    for m in &measurements {
        group.push(item(
            "CONTAINS",
            "NUM",
            code(&m.code, "99COXA", &m.meaning),
            vec![seq(tags::MEASURED_VALUE_SEQUENCE, vec![obj(vec![el(tags::NUMERIC_VALUE, VR::DS, ds(m.value)), seq(tags::MEASUREMENT_UNITS_CODE_SEQUENCE, vec![unit_code(m.unit)])])])],
        ));
    }
    let images: Vec<InMemDicomObject> = src
        .images
        .iter()
        .map(|i| {
            obj(vec![
                el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                el(tags::VALUE_TYPE, VR::CS, "IMAGE"),
                seq(
                    tags::REFERENCED_SOP_SEQUENCE,
                    vec![obj(vec![el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, i.sop_class.as_str()), el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, i.sop_instance.as_str())])],
                ),
            ])
        })
        .collect();
    let content = vec![
        item("HAS CONCEPT MOD", "CODE", code("121049", "DCM", "Language of Content Item and Descendants"), vec![seq(tags::CONCEPT_CODE_SEQUENCE, vec![code("eng", "RFC5646", "English")])]),
        item("HAS OBS CONTEXT", "CODE", code("121005", "DCM", "Observer Type"), vec![seq(tags::CONCEPT_CODE_SEQUENCE, vec![code("121007", "DCM", "Device")])]),
        item("HAS OBS CONTEXT", "UIDREF", code("121012", "DCM", "Device Observer UID"), vec![el(tags::UID, VR::UI, device_uid.as_str())]),
        item("HAS OBS CONTEXT", "TEXT", code("121013", "DCM", "Device Observer Name"), vec![el(tags::TEXT_VALUE, VR::UT, "coxa")]),
        item("HAS CONCEPT MOD", "CODE", code("121058", "DCM", "Procedure reported"), vec![seq(tags::CONCEPT_CODE_SEQUENCE, vec![code("52734007", "SCT", "Total replacement of hip")])]),
        container("CONTAINS", code("111028", "DCM", "Image Library"), vec![container("CONTAINS", code("126200", "DCM", "Image Library Group"), images)]),
        container("CONTAINS", code("126010", "DCM", "Imaging Measurements"), vec![container("CONTAINS", code("125007", "DCM", "Measurement Group"), group)]),
    ];
    let mut o = base(src, uids::COMPREHENSIVE_SR_STORAGE, &sop_instance, &series_uid, "SR", 9102, "coxa plan measurements");
    for e in [
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code("126000", "DCM", "Imaging Measurement Report")]),
        el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        seq(tags::CONTENT_TEMPLATE_SEQUENCE, vec![obj(vec![el(tags::MAPPING_RESOURCE, VR::CS, "DCMR"), el(tags::TEMPLATE_IDENTIFIER, VR::CS, "1500")])]),
        el(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
        el(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"),
        seq(tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE, vec![]),
        seq(tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]),
        seq(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![obj(vec![
                el(tags::STUDY_INSTANCE_UID, VR::UI, src.study_uid.as_str()),
                seq(tags::REFERENCED_SERIES_SEQUENCE, vec![obj(vec![el(tags::SERIES_INSTANCE_UID, VR::UI, src.series_uid.as_str()), seq(tags::REFERENCED_SOP_SEQUENCE, source_refs(src))])]),
            ])],
        ),
        seq(tags::CONTENT_SEQUENCE, content),
        // Declares the private scheme of the measurement concepts (PS3.3 C.12.1.1.2).
        seq(
            tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
            vec![obj(vec![
                el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "99COXA"),
                el(tags::CODING_SCHEME_NAME, VR::ST, "coxa total hip arthroplasty plan measurements"),
                el(tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION, VR::ST, "coxa"),
            ])],
        ),
    ] {
        o.put(e);
    }
    let bytes = part10(o, "SR")?;
    Ok(Some(ResultObject { kind: Kind::Sr, from: plan_path.display().to_string(), sop_class: uids::COMPREHENSIVE_SR_STORAGE.into(), sop_instance, series_uid, bytes }))
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
mod tests {
    use super::*;

    #[test]
    fn every_class_of_coxa_is_coded_with_its_side() {
        for (id, label) in coxa_anatomy::labels::COXA_CLASSES {
            let (l, code, left) = coded_label(id).unwrap_or_else(|| panic!("{label} has no SNOMED code"));
            assert_eq!(l, label);
            assert!(code.chars().all(|c| c.is_ascii_digit()), "{label}: {code}");
            assert_eq!(
                left,
                if label.ends_with("_left") {
                    Some(true)
                } else if label.ends_with("_right") {
                    Some(false)
                } else {
                    None
                }
            );
        }
        assert_eq!(coded_label(78), Some(("hip_right", "118645006", Some(false))));
        assert_eq!(coded_label(25), Some(("sacrum", "54735007", None)));
        assert_eq!(coded_label(1), None);
    }

    #[test]
    fn stable_uids_are_valid_and_depend_on_every_part() {
        let a = stable_uid(&[b"seg", b"1.2.3", b"x"]);
        assert_eq!(a, stable_uid(&[b"seg", b"1.2.3", b"x"]));
        assert_ne!(a, stable_uid(&[b"seg", b"1.2.3", b"y"]));
        assert_ne!(stable_uid(&[b"ab", b"c"]), stable_uid(&[b"a", b"bc"]));
        assert!(a.len() <= 64 && a.starts_with("2.25.") && a[5..].chars().all(|c| c.is_ascii_digit()) && !a[5..].starts_with('0'));
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_510), (2026, 2, 26));
    }
}

//! A pseudo-MRI (issue 43: a pseudo T2-weighted image made from a CT, on the CT's grid) as a
//! DICOM MR series in the CT's study, for the PACS: one MR Image Storage object per slice,
//! ImageType `DERIVED\SECONDARY`, a SeriesDescription and a DerivationDescription and
//! ImageComments that say it is a pseudo-MRI derived from the CT and not for diagnosis alone,
//! the CT's frame of reference, and each slice's Source Image Sequence naming the CT image it was
//! made from. The patient and study attributes are copied from the CT (the one place they go).
//! Pixel values are the image's (unsigned 16 bit, `1000 S`); TR, TE and the field strength are
//! those of the spin echo the model-free path simulates, or those of the images a learned model
//! was trained to imitate (its card's), and the DerivationDescription says which ([`Contrast`]).
//!
//! UIDs are stable (as [`crate::results`]'): over the CT series' UID, the sequence and the image.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use nalgebra::Vector3;

use coxa_core::Volume;
use coxa_io::dicom::{ds, ds_multi};

use crate::results::{Kind, ResultObject, Source, base, el, obj, part10, referenced_series, sha, stable_uid};
use crate::{Error, Result};

/// Series number of the pseudo-MRI series.
pub const SERIES_NUMBER: i32 = 9201;
/// SeriesDescription.
pub const SERIES_DESCRIPTION: &str = "pseudo-T2 MRI from CT (coxa)";

/// Where the series' TR, TE and field strength come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contrast {
    /// A spin echo simulated from tissue relaxation values at the field strength (the model-free
    /// path).
    Simulated,
    /// The acquisition of the MR images a learned model was trained to imitate (its card's): no
    /// relaxation values are involved.
    Imitated,
}

/// What the series says of itself, with the sequence.
#[derive(Debug, Clone)]
pub struct PseudoMrInfo {
    /// The derivation, e.g. "pseudo-MRI derived from CT by coxa; not for diagnosis alone".
    pub note: String,
    /// How it was made (model-free or the model's name), for the DerivationDescription.
    pub method: String,
    /// Simulated repetition time, ms.
    pub tr_ms: f64,
    /// Simulated echo time, ms.
    pub te_ms: f64,
    /// Field strength the relaxation values are for (or of the imitated images), T.
    pub field_t: f64,
    /// Whether TR, TE and the field strength are simulated or imitated.
    pub contrast: Contrast,
}

/// The MR series of `image` (on the source CT's grid; `k` the slice axis), one object a slice.
///
/// # Errors
/// The image is not on the source series' slice grid (rows, columns, slice count), a value
/// outside 0..65535, or an object that cannot be encoded.
pub fn build(src: &Source, image: &Volume, info: &PseudoMrInfo) -> Result<Vec<ResultObject>> {
    let g = image.grid();
    let [ni, nj, nk] = g.size();
    let bad = |why: String| Error::Dicom { what: "pseudo-MR series".into(), why };
    if (nj as u32, ni as u32) != (src.rows, src.cols) || nk != src.images.len() {
        return Err(bad(format!("the image is {ni} x {nj} x {nk}, the source series {} x {} x {}: it must lie on the CT series' own grid", src.cols, src.rows, src.images.len())));
    }
    let hu = image.hu();
    if hu.iter().any(|&v| !(0.0..=65535.0).contains(&v) || v.fract() != 0.0) {
        return Err(bad("pixel values must be whole numbers in 0..65535".into()));
    }
    // In `[k, j, i]` order: slice k is the k-th run of rows x columns values.
    let values: Vec<u16> = hu.iter().map(|&v| v as u16).collect();
    let all: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let params = format!("{} {} {}", ds(info.tr_ms), ds(info.te_ms), info.method);
    let series_uid = stable_uid(&[b"pseudo-mr-series", src.series_uid.as_bytes(), params.as_bytes(), &sha(&all)]);
    let frame_uid = if src.frame_of_reference_uid.is_empty() { stable_uid(&[b"pseudo-mr-frame", src.series_uid.as_bytes()]) } else { src.frame_of_reference_uid.clone() };
    let d = g.direction();
    let sp = g.spacing_mm();
    let (row, col, normal) = (d.column(0).into_owned(), d.column(1).into_owned(), d.column(2).into_owned());
    let (min, max) = hu.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (tr, te, field) = (ds(info.tr_ms), ds(info.te_ms), ds(info.field_t));
    let derivation = match info.contrast {
        Contrast::Simulated => format!("{}; {}; spin echo TR {tr} ms, TE {te} ms, relaxation values at {field} T", info.note, info.method),
        Contrast::Imitated => format!("{}; {}; the MR images it was trained to imitate: TR {tr} ms, TE {te} ms, {field} T", info.note, info.method),
    };
    let mut out = Vec::with_capacity(nk);
    for k in 0..nk {
        let position: Vector3<f64> = g.origin_lps_mm() + normal * (k as f64 * sp[2]);
        let pixels: Vec<u16> = values[k * ni * nj..(k + 1) * ni * nj].to_vec();
        let bytes: Vec<u8> = pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
        let sop_instance = stable_uid(&[b"pseudo-mr", series_uid.as_bytes(), &(k as u64).to_le_bytes(), &sha(&bytes)]);
        let mut o = base(src, uids::MR_IMAGE_STORAGE, &sop_instance, &series_uid, "MR", SERIES_NUMBER, SERIES_DESCRIPTION);
        // The CT image at this slice's position (within half a slice), as the source.
        let source = src.images.iter().min_by(|a, b| (a.position - position).norm().total_cmp(&(b.position - position).norm())).filter(|s| (s.position - position).norm() <= 0.5 * sp[2].max(1e-3));
        let mut refs = Vec::new();
        if let Some(s) = source {
            refs.push(obj(vec![el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, s.sop_class.as_str()), el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, s.sop_instance.as_str())]));
        }
        for e in [
            el(tags::INSTANCE_NUMBER, VR::IS, (k + 1).to_string()),
            el(tags::IMAGE_TYPE, VR::CS, dicom_value!(Strs, ["DERIVED".to_string(), "SECONDARY".to_string()])),
            el(tags::DERIVATION_DESCRIPTION, VR::ST, derivation.as_str()),
            el(tags::IMAGE_COMMENTS, VR::LT, info.note.as_str()),
            DataElement::new(tags::SOURCE_IMAGE_SEQUENCE, VR::SQ, DataSetSequence::from(refs)),
            referenced_series(src),
            el(tags::FRAME_OF_REFERENCE_UID, VR::UI, frame_uid.as_str()),
            el(tags::POSITION_REFERENCE_INDICATOR, VR::LO, PrimitiveValue::Empty),
            el(tags::PATIENT_POSITION, VR::CS, PrimitiveValue::Empty),
            el(tags::IMAGE_POSITION_PATIENT, VR::DS, ds_multi(&[position.x, position.y, position.z])),
            el(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds_multi(&[row.x, row.y, row.z, col.x, col.y, col.z])),
            el(tags::PIXEL_SPACING, VR::DS, ds_multi(&[sp[1], sp[0]])),
            el(tags::SLICE_THICKNESS, VR::DS, ds(sp[2])),
            el(tags::SPACING_BETWEEN_SLICES, VR::DS, ds(sp[2])),
            el(tags::SLICE_LOCATION, VR::DS, ds(position.dot(&normal))),
            el(tags::SCANNING_SEQUENCE, VR::CS, "SE"),
            el(tags::SEQUENCE_VARIANT, VR::CS, "NONE"),
            el(tags::SCAN_OPTIONS, VR::CS, PrimitiveValue::Empty),
            el(tags::MR_ACQUISITION_TYPE, VR::CS, PrimitiveValue::Empty),
            el(tags::REPETITION_TIME, VR::DS, ds(info.tr_ms)),
            el(tags::ECHO_TIME, VR::DS, ds(info.te_ms)),
            el(tags::ECHO_TRAIN_LENGTH, VR::IS, PrimitiveValue::Empty),
            el(tags::MAGNETIC_FIELD_STRENGTH, VR::DS, ds(info.field_t)),
            el(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
            el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
            el(tags::SAMPLES_PER_PIXEL, VR::US, dicom_value!(U16, [1])),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            el(tags::ROWS, VR::US, dicom_value!(U16, [nj as u16])),
            el(tags::COLUMNS, VR::US, dicom_value!(U16, [ni as u16])),
            el(tags::BITS_ALLOCATED, VR::US, dicom_value!(U16, [16])),
            el(tags::BITS_STORED, VR::US, dicom_value!(U16, [16])),
            el(tags::HIGH_BIT, VR::US, dicom_value!(U16, [15])),
            el(tags::PIXEL_REPRESENTATION, VR::US, dicom_value!(U16, [0])),
            el(tags::WINDOW_CENTER, VR::DS, ds(f64::from(min + max) / 2.0)),
            el(tags::WINDOW_WIDTH, VR::DS, ds(f64::from(max - min).max(1.0))),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
        ] {
            o.put(e);
        }
        let bytes = part10(o, "pseudo-MR image")?;
        out.push(ResultObject { kind: Kind::Mr, from: format!("slice {k}"), sop_class: uids::MR_IMAGE_STORAGE.into(), sop_instance, series_uid: series_uid.clone(), bytes });
    }
    Ok(out)
}

//! Writing a volume as an uncompressed CT series (explicit VR little endian, one file per slice).

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use coxa_core::Volume;

use super::uid::{stable_uid, unique_uid};
use super::{DicomError, PatientIdentity};
use crate::{Error, Result};

/// Options of [`write_series`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct WriteSeriesOptions {
    /// SeriesDescription. Default `"coxa export"`.
    pub description: String,
    /// Seed of the generated UIDs (`2.25.<n>`); the same seed and volume give the same UIDs.
    /// Default `None`: seeded from the clock and process id.
    pub uid_seed: Option<u64>,
    /// File name prefix; files are `<prefix><k:04>.dcm`. Default `"slice_"`.
    pub file_prefix: String,
    /// PatientName and PatientID to write. Default: both empty (de-identified).
    pub patient: PatientIdentity,
}

impl Default for WriteSeriesOptions {
    fn default() -> Self {
        Self { description: "coxa export".into(), uid_seed: None, file_prefix: "slice_".into(), patient: PatientIdentity::default() }
    }
}

impl WriteSeriesOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the SeriesDescription.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// Makes the UIDs reproducible.
    pub fn with_uid_seed(mut self, seed: u64) -> Self {
        self.uid_seed = Some(seed);
        self
    }
    /// Sets the file name prefix.
    pub fn with_file_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.file_prefix = prefix.into();
        self
    }
    /// Writes this patient identity (default: none).
    pub fn with_patient(mut self, patient: PatientIdentity) -> Self {
        self.patient = patient;
        self
    }
}

/// A `2.25.` UID ([`stable_uid`]) from `seed` and `salt`.
fn uid(seed: &[u8], salt: &str) -> String {
    stable_uid(&[seed, salt.as_bytes()])
}

/// A decimal string (DS) of at most 16 characters (the DS limit), as precise as fits.
pub fn ds(x: f64) -> String {
    let x = if x == 0.0 { 0.0 } else { x }; // no "-0"
    for prec in (0..=10).rev() {
        let s = format!("{x:.prec$}");
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.6e}")
}

/// Several decimal strings, backslash-separated (a multi-valued DS).
pub fn ds_multi(v: &[f64]) -> String {
    v.iter().map(|x| ds(*x)).collect::<Vec<_>>().join("\\")
}

/// How stored 16-bit values map to HU: `hu = stored * slope + intercept`.
fn choose_rescale(vol: &Volume) -> (f64, f64) {
    let s = vol.stats();
    let integral = vol.hu().iter().all(|v| v.fract() == 0.0);
    if integral && s.min_hu >= f64::from(i16::MIN) && s.max_hu <= f64::from(i16::MAX) {
        return (1.0, 0.0);
    }
    let span = (s.max_hu - s.min_hu).max(f64::EPSILON);
    let slope = span / 65535.0;
    (slope, s.min_hu + 32768.0 * slope)
}

/// Writes `vol` as a CT series into the folder `dir` (created if missing), one uncompressed file
/// per slice, and returns the files in slice order. Nothing is overwritten: an existing file of
/// the same name is an error, before anything is written.
///
/// Stored values are signed 16-bit; integral HU within the i16 range are kept exactly (slope 1),
/// anything else is scaled linearly to the 16-bit range (quantisation at most span / 131070).
/// A left-handed grid is written as is; a reader stacking along the slice normal returns the
/// same image on the equivalent right-handed grid (slice order reversed).
pub fn write_series(vol: &Volume, dir: &Path, options: &WriteSeriesOptions) -> Result<Vec<PathBuf>> {
    let grid = vol.grid();
    let [ni, nj, nk] = grid.size();
    let wrerr = |why: String| -> Error { DicomError::WriteSeries { path: dir.to_path_buf(), why }.into() };
    if ni > usize::from(u16::MAX) || nj > usize::from(u16::MAX) {
        return Err(wrerr(format!("slices of {ni}x{nj} exceed the 65535 rows/columns DICOM allows")));
    }
    // (An i16 volume is converted once here, not per slice.)
    let hu = vol.hu();
    if hu.iter().any(|v| !v.is_finite()) {
        return Err(wrerr("the volume has NaN or infinite voxels, which DICOM cannot store".into()));
    }
    let paths: Vec<PathBuf> = (0..nk).map(|k| dir.join(format!("{}{k:04}.dcm", options.file_prefix))).collect();
    if let Some(p) = paths.iter().find(|p| p.exists()) {
        return Err(Error::WouldOverwrite { path: p.clone() });
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_path_buf(), source })?;

    // Without a seed, one from the clock, the process and the folder ([`unique_uid`]).
    let seed = options.uid_seed.map_or_else(|| unique_uid(&[dir.as_os_str().as_encoded_bytes()]).into_bytes(), |s| s.to_le_bytes().to_vec());
    let seed = seed.as_slice();
    let study_uid = uid(seed, "study");
    let series_uid = uid(seed, "series");
    let for_uid = uid(seed, "frame-of-reference");
    let (slope, intercept) = choose_rescale(vol);
    let d = grid.direction();
    let sp = grid.spacing_mm();
    let iop = [d[(0, 0)], d[(1, 0)], d[(2, 0)], d[(0, 1)], d[(1, 1)], d[(2, 1)]];

    let mut written = Vec::with_capacity(nk);
    for (k, path) in paths.iter().enumerate() {
        let sop_uid = uid(seed, &format!("sop-{}-{k}", options.file_prefix));
        let ipp = grid.voxel_to_lps(nalgebra::Vector3::new(0.0, 0.0, k as f64));
        let mut obj = InMemDicomObject::new_empty();
        let mut put = |tag, vr, v: PrimitiveValue| {
            let _ = obj.put(DataElement::new(tag, vr, v));
        };
        put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100".into());
        put(tags::IMAGE_TYPE, VR::CS, "DERIVED\\SECONDARY\\AXIAL".into());
        put(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE.into());
        put(tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str().into());
        put(tags::MODALITY, VR::CS, "CT".into());
        put(tags::SERIES_DESCRIPTION, VR::LO, options.description.as_str().into());
        put(tags::PATIENT_NAME, VR::PN, options.patient.name.as_deref().unwrap_or("").into());
        put(tags::PATIENT_ID, VR::LO, options.patient.id.as_deref().unwrap_or("").into());
        // The Patient, General Study and General Equipment modules' type 2 attributes: present,
        // empty unless given (highdicom and other conformant readers require them).
        for (tag, vr) in [
            (tags::PATIENT_BIRTH_DATE, VR::DA),
            (tags::PATIENT_SEX, VR::CS),
            (tags::STUDY_DATE, VR::DA),
            (tags::STUDY_TIME, VR::TM),
            (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
            (tags::STUDY_ID, VR::SH),
            (tags::ACCESSION_NUMBER, VR::SH),
            (tags::MANUFACTURER, VR::LO),
        ] {
            put(tag, vr, PrimitiveValue::Empty);
        }
        for (keyword, tag, vr) in super::IDENTIFYING_FIELDS {
            // SeriesDescription has its own option; a value in `patient.other` wins.
            if let Some((_, v)) = options.patient.other.iter().find(|(k, _)| k == keyword) {
                put(tag, vr, v.as_str().into());
            }
        }
        put(tags::SLICE_THICKNESS, VR::DS, ds(sp[2]).into());
        put(tags::STUDY_INSTANCE_UID, VR::UI, study_uid.as_str().into());
        put(tags::SERIES_INSTANCE_UID, VR::UI, series_uid.as_str().into());
        put(tags::SERIES_NUMBER, VR::IS, "1".into());
        put(tags::INSTANCE_NUMBER, VR::IS, (k + 1).to_string().into());
        put(tags::IMAGE_POSITION_PATIENT, VR::DS, ds_multi(ipp.coords.as_slice()).into());
        put(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds_multi(&iop).into());
        put(tags::FRAME_OF_REFERENCE_UID, VR::UI, for_uid.as_str().into());
        put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
        put(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2".into());
        put(tags::ROWS, VR::US, PrimitiveValue::from(nj as u16));
        put(tags::COLUMNS, VR::US, PrimitiveValue::from(ni as u16));
        put(tags::PIXEL_SPACING, VR::DS, ds_multi(&[sp[1], sp[0]]).into());
        put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16));
        put(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16));
        put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16));
        put(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(1u16));
        put(tags::RESCALE_INTERCEPT, VR::DS, ds(intercept).into());
        put(tags::RESCALE_SLOPE, VR::DS, ds(slope).into());
        put(tags::RESCALE_TYPE, VR::LO, "HU".into());
        let plane = hu.index_axis(ndarray::Axis(0), k);
        let stored: Vec<u16> = plane.iter().map(|&v| ((f64::from(v) - intercept) / slope).round().clamp(-32768.0, 32767.0) as i16 as u16).collect();
        put(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(stored.into()));
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new().media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE).media_storage_sop_instance_uid(sop_uid.as_str()).transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN),
            )
            .map_err(|source| -> Error { DicomError::WriteMeta { path: dir.to_path_buf(), source: Box::new(source) }.into() })?;
        let out = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|source| Error::Write { path: path.clone(), source })?;
        if let Err(e) = file.write_all(out) {
            let _ = std::fs::remove_file(path);
            return Err(DicomError::WriteSlice { path: dir.to_path_buf(), file: path.clone(), source: Box::new(e) }.into());
        }
        written.push(path.clone());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_sixteen_characters() {
        for x in [0.0, -0.0, 1.0, -123.456789012345, 1e-9, 98765.4321987654, -1e7 / 3.0] {
            let s = ds(x);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - x).abs() <= 1e-6 * x.abs().max(1.0), "{x} -> {s}");
        }
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(2.5), "2.5");
    }

    #[test]
    fn uids_are_valid_and_reproducible() {
        let a = uid(&7u64.to_le_bytes(), "series");
        assert_eq!(a, uid(&7u64.to_le_bytes(), "series"));
        assert_ne!(a, uid(&8u64.to_le_bytes(), "series"));
        assert_ne!(a, uid(&7u64.to_le_bytes(), "study"));
        assert!(a.len() <= 64 && a.starts_with("2.25.") && a[5..].chars().all(|c| c.is_ascii_digit()));
    }
}

//! Enhanced (multi-frame) CT: one file whose frames are the slices (issue 63).
//!
//! An Enhanced CT Image (and any multi-frame image carrying functional groups, as highdicom and
//! the scanners write them) keeps what a classic slice carries at its top level in functional
//! groups: per frame in the PerFrameFunctionalGroupsSequence, or once for every frame in the
//! SharedFunctionalGroupsSequence (PS3.3 C.7.6.16). Each frame becomes one slice header here,
//! with
//! - ImagePositionPatient from its PlanePositionSequence,
//! - ImageOrientationPatient from its PlaneOrientationSequence,
//! - PixelSpacing from its PixelMeasuresSequence,
//! - RescaleSlope and RescaleIntercept from its PixelValueTransformationSequence,
//!
//! each taken from the frame's own group first, then from the shared group (as dicom-pixeldata
//! takes the rescale). The frames are then stacked, checked and decoded as classic slices are:
//! uncompressed 16-bit frames straight from the file at their offset in the pixel data
//! (`native.rs`), every other file decoded once for all its frames (`decode.rs`).

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_object::mem::{InMemDicomObject, InMemElement};

use super::DicomError;
use super::prescan::PixelData;
use super::slice::SliceHeader;
use crate::Result;

/// The slices of `h`'s file: one per frame when it is a multi-frame image with functional
/// groups, else `h` itself (a multi-frame image without them is refused when it is stacked).
///
/// # Errors
/// The functional groups do not describe every frame (a missing position, orientation or
/// spacing, a per-frame sequence of another length), or a frame's rescale is absurd.
pub(crate) fn frames(path: &Path, obj: &DefaultDicomObject, h: SliceHeader, pixel_data: PixelData) -> Result<Vec<SliceHeader>> {
    let Some(per_frame) = obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE) else {
        return Ok(vec![h]);
    };
    if h.frames <= 1 && per_frame.items().is_none_or(|i| i.len() <= 1) && h.ipp.is_some() {
        return Ok(vec![h]);
    }
    let bad = |tag_name: &'static str, value: String, why: String| -> crate::Error { DicomError::BadTag { path: path.to_path_buf(), tag_name, value, why }.into() };
    let items = per_frame.items().unwrap_or_default();
    if items.len() != h.frames as usize {
        return Err(bad(
            "PerFrameFunctionalGroupsSequence",
            format!("{} items", items.len()),
            format!("NumberOfFrames is {}: each frame needs its own item; the file is damaged, re-export the series", h.frames),
        ));
    }
    let shared = obj.get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items()).and_then(|i| i.first());
    let native = super::native::native_frames(obj, &h.transfer_syntax, pixel_data, h.rows, h.cols, h.frames);
    let mut out = Vec::with_capacity(items.len());
    for (k, item) in items.iter().enumerate() {
        let group = FrameGroups { item, shared };
        let numbers = |sequence: Tag, attribute: Tag, name: &'static str, n: usize| -> Result<Option<Vec<f64>>> {
            group.numbers(sequence, attribute, n).map_err(|(value, why)| bad(name, value, format!("frame {}: {why}", k + 1)))
        };
        let missing = |name: &'static str, sequence: &str| -> crate::Error {
            DicomError::MissingTag { path: path.to_path_buf(), tag_name: name, tag: format!("in the {sequence} of frame {} (functional groups)", k + 1) }.into()
        };
        let ipp = numbers(tags::PLANE_POSITION_SEQUENCE, tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient", 3)?.ok_or_else(|| missing("ImagePositionPatient", "PlanePositionSequence"))?;
        let iop =
            numbers(tags::PLANE_ORIENTATION_SEQUENCE, tags::IMAGE_ORIENTATION_PATIENT, "ImageOrientationPatient", 6)?.ok_or_else(|| missing("ImageOrientationPatient", "PlaneOrientationSequence"))?;
        let spacing = numbers(tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING, "PixelSpacing", 2)?.ok_or_else(|| missing("PixelSpacing", "PixelMeasuresSequence"))?;
        let slope = numbers(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, tags::RESCALE_SLOPE, "RescaleSlope", 1)?.map(|v| v[0]);
        let intercept = numbers(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, tags::RESCALE_INTERCEPT, "RescaleIntercept", 1)?.map(|v| v[0]);
        super::slice::check_rescale_values(path, slope, intercept)?;
        let mut f = h.clone();
        f.frame = Some(k as u32);
        f.ipp = Some([ipp[0], ipp[1], ipp[2]]);
        f.iop = Some([iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]]);
        f.pixel_spacing = Some([spacing[0], spacing[1]]);
        f.native = native.map(|mut px| {
            px.offset += k as u64 * u64::from(h.rows) * u64::from(h.cols) * 2;
            px.slope = slope.unwrap_or(1.0);
            px.intercept = intercept.unwrap_or(0.0);
            px
        });
        out.push(f);
    }
    Ok(out)
}

/// One frame's functional groups (PS3.3 C.7.6.16): its own item of the
/// PerFrameFunctionalGroupsSequence, and the SharedFunctionalGroupsSequence's item that holds
/// what every frame shares. Read by Enhanced CT's frames and by a SEG's ([`super::seg`]).
#[derive(Clone, Copy)]
pub(crate) struct FrameGroups<'a> {
    /// The frame's own item.
    pub item: &'a InMemDicomObject,
    /// The shared item, where the file has one.
    pub shared: Option<&'a InMemDicomObject>,
}

impl<'a> FrameGroups<'a> {
    /// `attribute` inside the first item of `sequence`: the frame's own group first, then the
    /// shared one.
    pub fn find(&self, sequence: Tag, attribute: Tag) -> Option<&'a InMemElement> {
        let in_group = |g: &'a InMemDicomObject| g.get(sequence)?.items()?.first()?.get(attribute);
        in_group(self.item).or_else(|| self.shared.and_then(in_group))
    }

    /// [`FrameGroups::find`]'s `n` finite numbers, `None` where absent; `Err((value, why))` for
    /// anything else.
    pub fn numbers(&self, sequence: Tag, attribute: Tag, n: usize) -> std::result::Result<Option<Vec<f64>>, (String, String)> {
        let Some(e) = self.find(sequence, attribute) else { return Ok(None) };
        let v = e.to_multi_float64().map_err(|_| (format!("{:?}", e.to_str().unwrap_or_default()), "not numbers".to_string()))?;
        if v.len() != n || v.iter().any(|x| !x.is_finite()) {
            return Err((format!("{v:?}"), format!("expected {n} finite numbers")));
        }
        Ok(Some(v))
    }
}

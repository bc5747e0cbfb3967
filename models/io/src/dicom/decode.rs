//! Pixel decoding: each slice to HU with the modality LUT, in parallel.

use std::collections::BTreeMap;
use std::path::Path;

use dicom_object::OpenFileOptions;
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use ndarray::Array3;
use rayon::prelude::*;

use coxa_core::Volume;

use super::DicomError;
use super::scan::{SliceHeader, open_err};
use super::stack::StackPlan;
use crate::{Error, Result};

/// Decodes every slice of the plan and assembles (or resamples) the volume.
///
/// A series of uncompressed slices with an integer rescale whose HU all fit 16 bits (every CT
/// stored as 12 or 16 bits with slope 1) is kept as `i16`; any other as `f32` (the same values).
pub(crate) fn decode_volume(plan: &StackPlan) -> Result<Volume> {
    let grid = plan.grid.clone();
    let path = plan.slices[0].path.clone();
    if plan.resample.is_none() && plan.slices.iter().all(|s| s.native.as_ref().is_some_and(|px| super::native::integer_rescale(px).is_some())) {
        let [ni, nj, nk] = grid.size();
        let mut buf = vec![0i16; ni * nj * nk];
        let fits = buf
            .par_chunks_mut(ni * nj)
            .zip(plan.slices.par_iter())
            .map_init(Vec::new, |bytes, (dst, s)| match &s.native {
                Some(px) if dst.len() == s.rows as usize * s.cols as usize => super::native::read_into_i16(&s.path, px, dst, bytes),
                _ => Ok(false),
            })
            .try_reduce(|| true, |a, b| Ok(a && b))?;
        if fits {
            let hu = Array3::from_shape_vec((nk, nj, ni), buf).expect("buffer follows the grid");
            return Volume::from_i16(grid, hu).map_err(|source| Error::Geometry { path, source });
        }
    }
    let hu = match &plan.resample {
        None => {
            let [ni, nj, nk] = grid.size();
            let mut buf = vec![0f32; ni * nj * nk];
            decode_into(plan.slices.iter().zip(buf.chunks_mut(ni * nj)).collect())?;
            Array3::from_shape_vec((nk, nj, ni), buf).expect("buffer follows the grid")
        }
        Some(resample) => {
            let mut data: Vec<Vec<f32>> = plan.slices.iter().map(|s| vec![0f32; s.rows as usize * s.cols as usize]).collect();
            decode_into(plan.slices.iter().zip(data.iter_mut().map(Vec::as_mut_slice)).collect())?;
            resample.execute(&plan.slices, &data, &grid)
        }
    };
    Volume::new(grid, hu).map_err(|source| Error::Geometry { path, source })
}

/// Human name of a transfer syntax, for messages.
pub(crate) fn transfer_syntax_name(uid: &str) -> String {
    TransferSyntaxRegistry.get(uid).map_or_else(|| uid.to_string(), |ts| format!("{uid} ({})", ts.name()))
}

fn decode_hint(uid: &str) -> String {
    match uid {
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => "; JPEG-LS is not supported: transcode the series to uncompressed or JPEG 2000 (e.g. gdcmconv --raw)".into(),
        "1.2.840.10008.1.2.4.51" => "; 12-bit extended JPEG is not supported: transcode the series (e.g. gdcmconv --raw)".into(),
        _ => String::new(),
    }
}

/// Decodes each slice into its place (`rows * cols` HU, row-major), in parallel: uncompressed
/// 16-bit slices straight from the file ([`super::native`], one read buffer per worker), every
/// other file through dicom-pixeldata, once for all its frames (an Enhanced CT's slices are the
/// frames of one file).
fn decode_into(places: Vec<(&SliceHeader, &mut [f32])>) -> Result<()> {
    let mut native = Vec::new();
    let mut by_file: BTreeMap<&Path, Vec<(&SliceHeader, &mut [f32])>> = BTreeMap::new();
    for (s, dst) in places {
        match &s.native {
            Some(px) if dst.len() == s.rows as usize * s.cols as usize => native.push((s, px, dst)),
            _ => by_file.entry(s.path.as_path()).or_default().push((s, dst)),
        }
    }
    native.into_par_iter().try_for_each_init(Vec::new, |bytes, (s, px, dst)| super::native::read_into(&s.path, px, dst, bytes))?;
    by_file.into_par_iter().try_for_each(|(path, frames)| decode_file_into(path, frames))
}

/// Decodes the file at `path` once and writes the frame of each slice of it into its place.
fn decode_file_into(path: &Path, frames: Vec<(&SliceHeader, &mut [f32])>) -> Result<()> {
    let Some((s, _)) = frames.first() else { return Ok(()) };
    let s = *s;
    let obj = OpenFileOptions::new().open_file(path).map_err(|e| open_err(path, e))?;
    let decode_err =
        |detail: String| -> Error { DicomError::Decode { path: path.to_path_buf(), transfer_syntax: transfer_syntax_name(&s.transfer_syntax), detail, hint: decode_hint(&s.transfer_syntax) }.into() };
    let decoder_err = |source: dicom_pixeldata::Error| -> Error {
        DicomError::Decoder { path: path.to_path_buf(), transfer_syntax: transfer_syntax_name(&s.transfer_syntax), source: Box::new(source), hint: decode_hint(&s.transfer_syntax) }.into()
    };
    let pixels = obj.decode_pixel_data().map_err(decoder_err)?;
    if pixels.samples_per_pixel() != 1 || !pixels.photometric_interpretation().is_monochrome() {
        return Err(DicomError::UnsupportedPixels {
            path: path.to_path_buf(),
            what: format!("{} sample(s) per pixel, photometric interpretation {}", pixels.samples_per_pixel(), pixels.photometric_interpretation()),
        }
        .into());
    }
    if (pixels.rows(), pixels.columns()) != (s.rows, s.cols) {
        return Err(decode_err(format!("decoded {}x{} pixels, the header says {}x{}", pixels.columns(), pixels.rows(), s.cols, s.rows)));
    }
    for (f, dst) in frames {
        let hu: Vec<f32> = pixels.to_vec_frame(f.frame.unwrap_or(0)).map_err(decoder_err)?;
        if hu.len() != dst.len() {
            return Err(decode_err(format!("{} values decoded, {} expected (truncated pixel data?)", hu.len(), dst.len())));
        }
        dst.copy_from_slice(&hu);
    }
    Ok(())
}

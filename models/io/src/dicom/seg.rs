//! A DICOM Segmentation (SEG) read as a label map on the CT's grid (issue 63): what PACS, IDC
//! and other AI products hand over instead of a NIfTI label map.
//!
//! A SEG (PS3.3 A.51, C.8.20) stores, for each segment (SegmentSequence: its SegmentNumber and
//! SegmentLabel), one frame per image plane it covers; each frame's functional groups give its
//! segment (SegmentIdentificationSequence), its position (PlanePositionSequence), and, shared or
//! per frame, its orientation and pixel spacing. Frames are
//! - BINARY: one bit a pixel, packed across frames without padding, the first pixel in the lowest
//!   bit (PS3.5 8.1.1);
//! - FRACTIONAL: one byte a pixel, inside where the value is at least half of
//!   MaximumFractionalValue (as highdicom and dcmqi binarise);
//! - LABELMAP (2024): the segment number as the pixel value.
//!
//! Each frame must lie on a plane of the CT's grid (the same orientation, spacing and image size,
//! its position a slice's origin); segments are named by their SegmentLabel (coxa's classes
//! matched by name, also when written with spaces or capitals: "Femur left" is femur_left) and
//! merged as a folder of masks is ([`crate::label_folder`]). Compressed frames are decoded by
//! dicom-pixeldata.
//!
//! Written here rather than taken from a crate: no Rust crate reads SEG; it is the functional
//! group walk of Enhanced CT (`enhanced.rs`) and a bit unpacking.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, FileMetaTable, OpenFileOptions};
use nalgebra::{Point3, Vector3};

use coxa_core::{Grid, LabelMap};

use super::enhanced::FrameGroups;
use super::prescan::PixelData;
use crate::label_folder::Masks;
use crate::{Error, Limits, Result};

use super::scan::SEG_CLASSES;
pub use super::scan::{LABEL_MAP_SEGMENTATION_STORAGE, SEGMENTATION_STORAGE};

/// Largest distance of a frame's position from a plane of the CT's grid, mm.
const ON_GRID_MM: f64 = 1e-2;

fn bad(path: &Path, why: impl Into<String>) -> Error {
    Error::Seg { path: path.to_path_buf(), why: why.into() }
}

/// Whether `path` is a DICOM file whose SOP class is a segmentation's (Segmentation Storage or
/// Label Map Segmentation Storage; from its file meta information, nothing else is read).
pub fn is_seg(path: &Path) -> bool {
    if !path.is_file() || !super::scan::has_dicm_marker(path).unwrap_or(false) {
        return false;
    }
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    // The file meta group follows the 128-byte preamble; 64 KiB bound whatever it announces.
    file.seek(SeekFrom::Start(128)).is_ok() && FileMetaTable::from_reader(file.take(1 << 16)).is_ok_and(|m| SEG_CLASSES.contains(&m.media_storage_sop_class_uid()))
}

/// How a frame holds its pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Binary,
    Fractional(u8),
    LabelMap,
}

/// Reads the SEG at `path` as a label map on `grid` (the CT's), its classes the segments' labels.
///
/// # Errors
/// [`Error::Seg`] (one line naming the cause): not a SEG, a frame off the CT's grid or without
/// its position or segment, pixel data of another length than the frames need, segments that
/// overlap; [`Error::TooMuchMemory`] beyond `limits`; the DICOM reader's errors.
pub fn read_label_map(path: &Path, grid: &Grid, limits: &Limits) -> Result<LabelMap> {
    let pixel_data = super::prescan::prescan(path)?;
    let obj = OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(path).map_err(|e| super::scan::open_err(path, e))?;
    let text = |tag| super::scan::text(&obj, tag);
    if !SEG_CLASSES.contains(&text(tags::SOP_CLASS_UID).as_str()) {
        return Err(bad(path, format!("not a DICOM segmentation (SOP class {:?}); pass a SEG, a label map or a folder of masks", text(tags::SOP_CLASS_UID))));
    }
    let uint = |tag| obj.get(tag).and_then(|e| e.to_int::<u32>().ok());
    let (rows, cols) = (uint(tags::ROWS).unwrap_or(0), uint(tags::COLUMNS).unwrap_or(0));
    let frames = text(tags::NUMBER_OF_FRAMES).parse::<u32>().unwrap_or(1);
    let bits = uint(tags::BITS_ALLOCATED).unwrap_or(0);
    let kind = match (text(tags::SEGMENTATION_TYPE).as_str(), bits) {
        ("BINARY", 1) => Kind::Binary,
        ("FRACTIONAL", 8) => Kind::Fractional(uint(tags::MAXIMUM_FRACTIONAL_VALUE).and_then(|m| u8::try_from(m).ok()).filter(|m| *m > 0).unwrap_or(255)),
        ("LABELMAP", 8 | 16) => Kind::LabelMap,
        (t, b) => return Err(bad(path, format!("SegmentationType {t:?} with BitsAllocated {b} is not a segmentation coxa reads (BINARY 1, FRACTIONAL 8, LABELMAP 8 or 16)"))),
    };
    let [ni, nj, nk] = grid.size();
    if (cols as usize, rows as usize) != (ni, nj) {
        return Err(bad(path, format!("its frames are {cols}x{rows} pixels, the CT's slices {ni}x{nj}: the SEG was made on another series; pass the SEG of this CT")));
    }
    // The label map (u16), and the frames as held: packed bits, bytes or words as stored; a
    // compressed file decoded whole by dicom-pixeldata and copied.
    let pixels = crate::limits::product(&[u64::from(rows), u64::from(cols), u64::from(frames)]);
    let held = match (pixel_data, kind, bits) {
        (PixelData::Native { .. }, Kind::Binary, _) => pixels.div_ceil(8),
        (PixelData::Native { .. }, _, 8) => pixels,
        (PixelData::Native { .. }, _, _) => pixels.saturating_mul(2),
        _ => pixels.saturating_mul(4),
    };
    let need = crate::limits::product(&[ni as u64, nj as u64, nk as u64, 2]).saturating_add(held);
    limits.check(path, || format!("a {cols}x{rows} segmentation of {frames} frames on a {ni}x{nj}x{nk} grid"), need)?;

    // Segments: number -> label.
    let mut segments: Vec<(u32, String)> = Vec::new();
    for item in obj.get(tags::SEGMENT_SEQUENCE).and_then(|e| e.items()).unwrap_or_default() {
        let number = item.get(tags::SEGMENT_NUMBER).and_then(|e| e.to_int::<u32>().ok()).ok_or_else(|| bad(path, "a segment without its SegmentNumber"))?;
        let label = item.get(tags::SEGMENT_LABEL).and_then(|e| e.to_str().ok()).map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).unwrap_or_default();
        let label = if label.is_empty() { format!("segment_{number}") } else { label };
        segments.push((number, label));
    }
    if segments.is_empty() {
        return Err(bad(path, "its SegmentSequence is empty: no segment to read"));
    }
    let mut masks = Masks::new(grid.shape_kji());
    let mut ids = Vec::with_capacity(segments.len());
    for (number, label) in &segments {
        ids.push((*number, masks.class(&class_name(label)).map_err(|why| bad(path, why))?));
    }
    let id_of = |number: u32| ids.iter().find(|(n, _)| *n == number).map(|(_, id)| *id);

    // Frames: their plane on the CT's grid and their segment.
    let per_frame = obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items()).unwrap_or_default();
    if per_frame.len() != frames as usize {
        return Err(bad(path, format!("{} per-frame functional groups for {frames} frames: the file is damaged", per_frame.len())));
    }
    let shared = obj.get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items()).and_then(|i| i.first());
    let direction = grid.direction();
    let (row, col) = (direction.column(0).into_owned(), direction.column(1).into_owned());
    let spacing = grid.spacing_mm();
    let mut planes = Vec::with_capacity(per_frame.len());
    for (f, item) in per_frame.iter().enumerate() {
        let group = FrameGroups { item, shared };
        let numbers = |sequence, attribute, name: &str, n: usize| -> Result<Vec<f64>> {
            match group.numbers(sequence, attribute, n) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(bad(path, format!("frame {} has no {name}", f + 1))),
                Err((value, why)) => Err(bad(path, format!("frame {}: {name} {value}: {why}", f + 1))),
            }
        };
        let ipp = numbers(tags::PLANE_POSITION_SEQUENCE, tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient", 3)?;
        let iop = numbers(tags::PLANE_ORIENTATION_SEQUENCE, tags::IMAGE_ORIENTATION_PATIENT, "ImageOrientationPatient", 6)?;
        let ps = numbers(tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING, "PixelSpacing", 2)?;
        let off = |why: String| bad(path, format!("frame {} is not on the CT's grid ({why}): the SEG was made on another series or resampled; pass the SEG of this CT", f + 1));
        let (r, c) = (Vector3::new(iop[0], iop[1], iop[2]), Vector3::new(iop[3], iop[4], iop[5]));
        if (r - row).norm() > 1e-4 || (c - col).norm() > 1e-4 {
            return Err(off(format!("orientation {iop:?}")));
        }
        if (ps[0] - spacing.y).abs() > 1e-4 || (ps[1] - spacing.x).abs() > 1e-4 {
            return Err(off(format!("pixel spacing {ps:?} mm, the CT's [{}, {}]", spacing.y, spacing.x)));
        }
        // The frame's first pixel must be a voxel of the CT's first column and row.
        let v = grid.lps_to_voxel(&Point3::new(ipp[0], ipp[1], ipp[2]));
        let k = v.z.round();
        let off_mm = Vector3::new(v.x, v.y, v.z - k).component_mul(&spacing).norm();
        if off_mm > ON_GRID_MM || k < 0.0 || k >= nk as f64 {
            return Err(off(format!("position {ipp:?}")));
        }
        let segment = match kind {
            Kind::LabelMap => 0,
            _ => match group.find(tags::SEGMENT_IDENTIFICATION_SEQUENCE, tags::REFERENCED_SEGMENT_NUMBER).and_then(|e| e.to_int::<u32>().ok()) {
                Some(n) if id_of(n).is_some() => n,
                Some(n) => return Err(bad(path, format!("frame {} names segment {n}, which the SegmentSequence does not hold", f + 1))),
                None => return Err(bad(path, format!("frame {} names no segment (SegmentIdentificationSequence)", f + 1))),
            },
        };
        planes.push((k as usize, segment));
    }

    // Pixels.
    let px = rows as usize * cols as usize;
    let frame_values = frame_values(path, &obj, pixel_data, kind, px, frames as usize)?;
    for (f, (k, segment)) in planes.iter().enumerate() {
        let frame_id = id_of(*segment);
        for p in 0..px {
            let v = frame_values(f, p);
            let id = match kind {
                Kind::Binary => frame_id.filter(|_| v != 0),
                Kind::Fractional(max) => frame_id.filter(|_| v != 0 && u32::from(v) * 2 >= u32::from(max)),
                Kind::LabelMap if v == 0 => None,
                Kind::LabelMap => Some(id_of(u32::from(v)).ok_or_else(|| bad(path, format!("frame {} holds the value {v}, which names no segment", f + 1)))?),
            };
            if let Some(id) = id {
                masks.set((*k, p / cols as usize, p % cols as usize), id).map_err(|why| bad(path, why))?;
            }
        }
    }
    let (labels, classes) = masks.into_parts();
    LabelMap::new(grid.clone(), labels, classes).map_err(|source| Error::Geometry { path: path.to_path_buf(), source })
}

/// A segment's label as a class name: coxa's own class when the label is one written with spaces
/// or capitals ("Femur left"), else the label as it is.
fn class_name(label: &str) -> String {
    let snake = label.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    if coxa_core::labels::coxa_classes().id(&snake).is_some() { snake } else { label.to_string() }
}

/// The frames' pixel values, `(frame, pixel) -> value`: native data read from the file as stored
/// (bits kept packed), compressed data decoded by dicom-pixeldata.
fn frame_values(path: &Path, obj: &DefaultDicomObject, pixel_data: PixelData, kind: Kind, px: usize, frames: usize) -> Result<impl Fn(usize, usize) -> u16> {
    let bytes_per = match kind {
        Kind::Binary => 0,
        Kind::Fractional(_) => 1,
        Kind::LabelMap => obj.get(tags::BITS_ALLOCATED).and_then(|e| e.to_int::<usize>().ok()).unwrap_or(8) / 8,
    };
    let values = match pixel_data {
        PixelData::Native { len, offset } => {
            let need = if bytes_per == 0 { (px * frames).div_ceil(8) } else { px * frames * bytes_per };
            if len < need as u64 {
                return Err(bad(path, format!("its pixel data has {len} bytes, its {frames} frames of {px} pixels need {need}: the file is truncated")));
            }
            let mut raw = vec![0u8; need];
            let unreadable = |source| Error::Unreadable { path: path.to_path_buf(), source };
            let mut file = std::fs::File::open(path).map_err(unreadable)?;
            let _ = file.seek(SeekFrom::Start(offset)).map_err(unreadable)?;
            file.read_exact(&mut raw).map_err(unreadable)?;
            match bytes_per {
                0 => Values::Bits(raw),
                1 => Values::Bytes(raw),
                _ => Values::Words(raw.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect()),
            }
        }
        PixelData::Encapsulated => {
            use dicom_pixeldata::PixelDecoder;
            let whole = OpenFileOptions::new().open_file(path).map_err(|e| super::scan::open_err(path, e))?;
            let decoded = whole.decode_pixel_data().map_err(|e| bad(path, format!("its compressed frames cannot be decoded ({e}); re-export it uncompressed")))?;
            let mut all = Vec::with_capacity(px * frames);
            for f in 0..frames {
                let v: Vec<u16> = decoded.to_vec_frame(f as u32).map_err(|e| bad(path, format!("frame {} cannot be decoded ({e})", f + 1)))?;
                if v.len() != px {
                    return Err(bad(path, format!("frame {} decodes to {} pixels, not {px}", f + 1, v.len())));
                }
                all.extend(v);
            }
            Values::Words(all)
        }
        PixelData::Absent | PixelData::Unknown => return Err(bad(path, "it has no pixel data coxa can read")),
    };
    Ok(move |f: usize, p: usize| values.get(f * px + p))
}

/// The frames' pixels as held: packed bits (BINARY, the first pixel in the lowest bit), bytes, or
/// 16-bit words, all frames one after the other.
enum Values {
    Bits(Vec<u8>),
    Bytes(Vec<u8>),
    Words(Vec<u16>),
}

impl Values {
    fn get(&self, n: usize) -> u16 {
        match self {
            Values::Bits(b) => u16::from((b[n / 8] >> (n % 8)) & 1),
            Values::Bytes(b) => u16::from(b[n]),
            Values::Words(w) => w[n],
        }
    }
}

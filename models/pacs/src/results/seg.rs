//! The segmentation object (DICOM SEG): coded structures, pixel maps, segments and series.

use super::*;

pub(super) fn even(mut b: Vec<u8>) -> Vec<u8> {
    if !b.len().is_multiple_of(2) {
        b.push(0);
    }
    b
}

/// A coded structure coxa segments: label id (TotalSegmentator's), label, SNOMED CT type code
/// and meaning, laterality (SNOMED CT 7771000 left, 24028007 right).
pub(super) struct Coded {
    id: u16,
    label: &'static str,
    code: &'static str,
    meaning: &'static str,
    left: Option<bool>,
}

/// SNOMED CT type code and meaning of each structure coxa's label maps hold
/// ([`coxa_core::labels::COXA_CLASSES`], whose ids and names the segments take), by name
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
pub(super) const STRUCTURE_CODES: [(&str, &str, &str); 7] = [
    ("sacrum", "54735007", "Sacrum"),
    ("femur", "71341001", "Femur"),
    ("hip", "118645006", "Pelvis"),
    ("gluteus_maximus", "206007", "Gluteus maximus muscle"),
    ("gluteus_medius", "78333006", "Gluteus medius muscle"),
    ("gluteus_minimus", "75297007", "Gluteus minimus muscle"),
    ("iliopsoas", "68455001", "Iliopsoas muscle"),
];

/// The coded structure of label `id`: its name from coxa's classes, its side from the name.
pub(super) fn coded(id: u16) -> Option<Coded> {
    let &(id, label) = coxa_core::labels::COXA_CLASSES.iter().find(|(i, _)| *i == id)?;
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
pub(super) struct PixelMap {
    /// Per source slice, the label index of its pixel (row 0, column 0).
    origins: Vec<[i64; 3]>,
    dc: [i64; 3],
    dr: [i64; 3],
}

pub(super) fn pixel_map(src: &Source, grid: &coxa_core::Grid, path: &Path) -> Result<PixelMap> {
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

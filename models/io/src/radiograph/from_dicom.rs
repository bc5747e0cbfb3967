//! A radiograph from DICOM: its tags, pixel spacing (imager or detector), and the VOI LUT or window applied to its pixels.

use super::*;

pub(super) fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let t = crate::dicom::scan::text(obj, tag);
    (!t.is_empty()).then_some(t)
}

pub(super) fn floats(path: &Path, obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<Vec<f64>>> {
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

pub(super) fn pair(path: &Path, obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<[f64; 2]>> {
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

pub(super) fn single(path: &Path, obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<f64>> {
    Ok(floats(path, obj, tag, name)?.and_then(|v| v.first().copied()))
}

/// The file's spacing (see the module docs); `None` when it has none.
pub(super) fn dicom_spacing(path: &Path, obj: &DefaultDicomObject, warnings: &mut Vec<String>) -> Result<Option<Spacing>> {
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

pub(super) fn not_radiograph(path: &Path, what: String, fix: &'static str) -> Error {
    RadiographError::NotRadiograph { path: path.to_path_buf(), what, fix }.into()
}

pub(super) fn read_dicom(path: &Path, options: &RadiographOptions) -> Result<Radiograph> {
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
pub(super) fn voi_lut(path: &Path, obj: &DefaultDicomObject) -> Result<Option<Voi>> {
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

//! `coxa xray`: a simulated radiograph (DRR, `coxa_diagnostics::drr`) of a CT in a real X-ray
//! geometry, with the planned implants projected on it, a calibration ball, and the 2D measures
//! surgeons template with; written as PNG (with the measures drawn) or as a DICOM DX image
//! (16-bit, with its geometry: ImagerPixelSpacing, DistanceSourceToDetector,
//! DistanceSourceToPatient, EstimatedRadiographicMagnificationFactor), and the measures as JSON
//! beside it (`F.json`).
//!
//! **Views.** `ap-pelvis`: the patient supine, the beam anteroposterior, centred between the hip
//! centres, the detector behind the table ([`coxa_diagnostics::drr::ap_pelvis`]); `--align
//! table` (default) takes the CT's axes as the table's (a real supine radiograph: the pelvic
//! tilt shows), `--align pelvis` the anterior pelvic plane's (the radiograph Murray's
//! radiographic cup angles are defined on). `--centre hip` puts the central ray on the operated
//! hip (an AP hip view) instead of between the hips: off the central ray the beam's divergence
//! tilts the cup's rim on the image (about 1 deg at 100 mm). `lateral-hip`: a cross-table
//! lateral of `--side`. With `--plan` of a case that has `anatomy/landmarks.json`, the view and
//! the measures use those landmarks, the frame the plan was made in; otherwise coxa finds them.
//!
//! **Measures** (AP only; distances in mm at the depth of the hips, from the calibration ball):
//! the inter-teardrop line (each teardrop approximated by the lowest point on the image of the
//! acetabular rim coxa found: the acetabular teardrop is not a coxa landmark), leg-length
//! difference at the lesser trochanters (right minus left distance below the teardrop line;
//! positive: the right leg longer), femoral offset (the head centre to the shaft axis), the head
//! centre to the midline between the teardrops, and with `--plan` the cup's inclination on the
//! image (the angle between the projected rim's major axis and the teardrop line) beside the
//! plan's radiographic inclination, and the planned leg-length difference and offset.
//!
//! **Implants** (with `--plan`): the shell (titanium), the head (cobalt-chromium) on the stem and
//! the stem (titanium) as a neck rod at the series' neck-shaft angle (plan.json's `stem.ccd_deg`)
//! to the shaft axis and a body rod down it, on the femur as
//! imaged (the head drawn where the plan puts it on the femur, `head.centre_on_femur_lps_mm`;
//! its distance to the cup centre is the planned change of leg length and offset).

use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use crate::{bail, ensure};
use coxa_core::{PatientLandmarks, Side, Volume};

use crate::stages::input::{AnatomySource, LoadedCt};
use coxa_diagnostics::drr::{self, DrrVolume, Solid, View, XrayGeometry};
use nalgebra::{Point3, Vector3};
use ndarray::Array2;
use serde_json::{Value, json};

/// Attenuation relative to water at about 60 keV: titanium alloy.
const W_TITANIUM: f64 = 6.0;
/// Cobalt-chromium.
const W_COCR: f64 = 20.0;
/// The calibration ball (stainless steel).
const W_STEEL: f64 = 18.0;
/// The neck-shaft angle drawn for a stem whose plan names none, deg.
const DEFAULT_CCD_DEG: f64 = 135.0;
/// Diameter of the calibration ball, mm (the usual 25 mm templating marker).
pub const MARKER_DIAMETER_MM: f64 = 25.0;

/// What `coxa xray` is asked to make (the program's flags as values).
#[derive(Debug, Clone)]
pub struct XrayRequest {
    /// The CT: DICOM folder or file, or NIfTI.
    pub ct: PathBuf,
    /// A label map on the CT's grid (TotalSegmentator ids) for the landmarks; `None`: coxa
    /// segments the bones.
    pub labels: Option<PathBuf>,
    /// A `coxa plan` folder: its implants are projected and its cup measured.
    pub plan: Option<PathBuf>,
    /// The output image: .png (measures drawn) or .dcm (DICOM DX); must not exist. The measures
    /// go to the same name with .json.
    pub out: PathBuf,
    /// The view and the detector.
    pub view: ViewOptions,
}

/// Parses a view's name: `ap-pelvis` or `lateral-hip`.
///
/// # Errors
/// Any other name, with the two choices.
pub fn parse_view(s: &str) -> std::result::Result<View, String> {
    match s {
        "ap-pelvis" => Ok(View::ApPelvis),
        "lateral-hip" => Ok(View::LateralHip),
        _ => Err(format!("unknown view {s:?}: use ap-pelvis or lateral-hip")),
    }
}

/// The planned implants read from `plan.json`.
#[derive(Debug, Clone)]
struct PlannedImplants {
    side: Side,
    cup_centre: Point3<f64>,
    cup_axis: Vector3<f64>,
    shell_outer_mm: f64,
    head_mm: f64,
    head_on_femur: Point3<f64>,
    radiographic_inclination_deg: f64,
    leg_length_change_mm: f64,
    offset_change_mm: f64,
    /// The stem series' neck-shaft (CCD) angle, deg.
    ccd_deg: Option<f64>,
}

fn read_plan(dir: &Path) -> Result<PlannedImplants> {
    let path = dir.join("plan.json");
    crate::checked::case_records(dir)?;
    let text = coxa_io::read_text_bounded(&path, coxa_io::Bound::TEXT).with_context(|| format!("--plan {}: no plan.json there; give a folder `coxa plan` wrote", dir.display()))?;
    let j: coxa_core::PlanRecord = serde_json::from_str(&text).with_context(|| format!("{}: not a plan.json of this coxa (run `coxa plan` again)", path.display()))?;
    planned(&j)
}

/// The implants of a plan, as the radiograph draws and measures them.
fn planned(j: &coxa_core::PlanRecord) -> Result<PlannedImplants> {
    let axis = Vector3::from(j.cup.axis_lps);
    Ok(PlannedImplants {
        side: j.side,
        cup_centre: Point3::from(j.cup.centre_lps_mm),
        cup_axis: axis.try_normalize(1e-9).context("zero cup axis in plan.json")?,
        shell_outer_mm: j.cup.outer_diameter_mm,
        head_mm: j.head.diameter_mm,
        head_on_femur: Point3::from(j.head.centre_on_femur_lps_mm),
        radiographic_inclination_deg: j.cup.radiographic_inclination_deg,
        leg_length_change_mm: j.leg_length_change_mm,
        offset_change_mm: j.offset_change_mm,
        ccd_deg: j.stem.ccd_deg,
    })
}

/// The report's radiograph (issue 22): the plan on a simulated AP pelvis, as the supine
/// radiograph shows it (the table's axes, centred between the hips, the default detector), with
/// the templating measures drawn: the PNG (`pictures/xray_ap.png`) and its measures
/// (`pictures/xray_ap.json`), which the case writer writes. `ct` is the case's CT (read once by the case; its last use), `lm` the landmarks the plan used.
pub fn report_picture(ct: Volume, lm: &PatientLandmarks, plan: &coxa_core::PlanRecord) -> Result<(Vec<u8>, Value)> {
    let options = ViewOptions { view: View::ApPelvis, side: Some(plan.side), align: "table".into(), centre: "pelvis".into(), sid_mm: drr::DEFAULT_SID_MM, pixel_mm: 0.42, size: 1024 };
    let vol = DrrVolume::from_volume(ct).context("the case's CT")?;
    let pic = picture(&vol, lm, Some(&planned(plan)?), &options, Vec::new(), "the case's anatomy stage")?;
    Ok((png_bytes(&pic)?, pic.measures))
}

/// Landmarks from the anatomy stage, on the CT already read (no files written).
fn landmarks(ct_path: &Path, ct: &LoadedCt, labels: Option<&Path>) -> Result<(PatientLandmarks, Vec<String>)> {
    let source = AnatomySource::Ct { ct: ct_path.to_path_buf(), labels: labels.map(Path::to_path_buf), label_names: None, dicom: coxa_io::dicom::ReadOptions::new(), any_modality: false };
    let r = crate::stages::anatomy::run_on(&source, Some(ct), None)?;
    Ok((r.landmarks, r.warnings))
}

/// The posterior-most LPS y of the patient (voxels above -300 HU, every third) and their
/// extent along `d` from `from` (largest), mm. Read from the projection's weights (the CT itself
/// is not kept: a large CT would be held twice): HU above -299.5, which for the integer HU of a
/// CT is above -300 without f32 rounding at the boundary.
fn body_extent(vol: &DrrVolume, from: &Point3<f64>, d: &Vector3<f64>) -> (f64, f64) {
    let (mut back, mut far) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    vol.for_each_voxel_above(1.0 - 0.2995, |[i, j, k]| {
        if (i + j + k) % 3 == 0 {
            let p = vol.voxel_to_lps([i, j, k]);
            back = back.max(p.y);
            far = far.max((p - from).dot(d));
        }
    });
    (back, far)
}

/// What the projection shows and measures.
struct Picture {
    geometry: XrayGeometry,
    image: Array2<f32>,
    measures: Value,
    /// Lines to draw: (from, to) pixel coordinates, RGB.
    lines: Vec<([f64; 2], [f64; 2], [u8; 3])>,
}

fn make(args: &XrayRequest) -> Result<Picture> {
    let options = &args.view;
    ensure!(options.size >= 64 && options.size <= 4096, "--size {}: give 64..4096 pixels", options.size);
    ensure!(options.align == "table" || options.align == "pelvis", "--align {:?}: use table or pelvis", options.align);
    let plan = args.plan.as_deref().map(read_plan).transpose()?;
    // The CT, read once: projected, and (without the plan's landmarks) the anatomy stage's input.
    let ct = crate::stages::input::open_ct(&args.ct, &coxa_io::dicom::ReadOptions::new(), false)?;
    let vol = DrrVolume::from_volume(ct.volume.clone()).with_context(|| args.ct.display().to_string())?;
    ensure!(options.centre == "pelvis" || options.centre == "hip", "--centre {:?}: use pelvis or hip", options.centre);
    // The plan's own landmarks when its case has them: the frame it planned in (issue 13: found
    // once); otherwise coxa finds them in this CT.
    let plan_landmarks = args.plan.as_deref().map(|d| d.join("anatomy").join("landmarks.json")).filter(|p| p.is_file());
    let (lm, mut warnings, landmarks_from) = match &plan_landmarks {
        Some(path) => {
            let text = coxa_io::read_text_bounded(path, coxa_io::Bound::TEXT).with_context(|| format!("{}: cannot read the plan's landmarks", path.display()))?;
            let lm: PatientLandmarks = serde_json::from_str(&text).with_context(|| format!("{}: not a landmarks.json of this coxa (run the case again)", path.display()))?;
            (lm, Vec::new(), "the plan's case (anatomy/landmarks.json)")
        }
        None => {
            let (lm, w) = landmarks(&args.ct, &ct, args.labels.as_deref())?;
            (lm, w, "found in this CT")
        }
    };
    drop(ct);
    if plan_landmarks.is_some() && args.labels.is_some() {
        warnings.push("--labels was not used: the plan's own landmarks (its anatomy/landmarks.json) place the view and the measures".into());
    }
    picture(&vol, &lm, plan.as_ref(), options, warnings, landmarks_from)
}

/// The view `coxa xray` takes beside its files.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// AP pelvis or cross-table lateral.
    pub view: View,
    /// The hip of a lateral view and of `centre = "hip"` (default: the plan's side, else right).
    pub side: Option<Side>,
    /// `table` or `pelvis`.
    pub align: String,
    /// `pelvis` or `hip`.
    pub centre: String,
    /// Source-to-image distance, mm.
    pub sid_mm: f64,
    /// Detector pixel size, mm.
    pub pixel_mm: f64,
    /// Detector columns and rows.
    pub size: usize,
}

/// The simulated radiograph of `ct` (prepared for projection as `vol`) with `lm`'s landmarks
/// and `plan`'s implants, its measures (`warnings` and where the landmarks came from go with
/// them) and the lines to draw.
fn picture(vol: &DrrVolume, lm: &PatientLandmarks, plan: Option<&PlannedImplants>, args: &ViewOptions, warnings: Vec<String>, landmarks_from: &str) -> Result<Picture> {
    let (lo, hi) = vol.bounds_lps();
    let heads: Vec<Point3<f64>> = lm.femurs.iter().map(|f| f.head_centre.lps_mm).collect();
    let mut centre = if heads.is_empty() { Point3::from((lo.coords + hi.coords) / 2.0) } else { Point3::from(heads.iter().map(|p| p.coords).sum::<Vector3<f64>>() / heads.len() as f64) };
    let side = match (args.side, plan) {
        (Some(s), _) => s,
        (None, Some(p)) => p.side,
        _ => Side::Right,
    };
    let (x_axis, z_axis) = match (args.align.as_str(), &lm.pelvis) {
        ("pelvis", Some(p)) => (p.frame.vector_to_lps(&Vector3::x()), p.frame.vector_to_lps(&Vector3::z())),
        ("pelvis", None) => bail!("--align pelvis: no anterior pelvic plane was found in this CT; use --align table"),
        _ => (Vector3::x(), Vector3::z()),
    };
    let hip = lm.femurs.iter().find(|f| f.side == side).map(|f| f.head_centre.lps_mm);
    if args.centre == "hip" {
        centre = match (&plan, hip) {
            (Some(p), _) => p.cup_centre,
            (None, Some(h)) => h,
            (None, None) => bail!("--centre hip: the {} femoral head was not found and no --plan gives a cup", side.as_str()),
        };
    }
    let geometry = match args.view {
        View::ApPelvis => {
            let (back, _) = body_extent(vol, &centre, &Vector3::y());
            drr::ap_pelvis(centre, x_axis, z_axis, back, args.sid_mm, args.size, args.size, args.pixel_mm)?
        }
        View::LateralHip => {
            let hip = hip.with_context(|| format!("lateral-hip: the {} femoral head was not found", side.as_str()))?;
            let d = drr::lateral_hip_direction(side);
            let (_, far) = body_extent(vol, &hip, &d);
            drr::lateral_hip(hip, side, far + 50.0, args.sid_mm, args.size, args.size, args.pixel_mm)?
        }
    };
    let mut image = vol.project(&geometry);
    // The calibration ball at the hips' depth: AP 90 mm below the image centre (between the
    // thighs); lateral beside the hip.
    let depth_point = hip.unwrap_or(centre);
    // On the detector's normal through the image centre, at the hips' distance from the source.
    let nrm = geometry.normal();
    let at_depth = centre + nrm * (depth_point - centre).dot(&nrm);
    let marker = match args.view {
        View::ApPelvis => at_depth + geometry.v * 90.0,
        View::LateralHip => depth_point + geometry.u * 90.0,
    };
    let mut solids = vec![(Solid::Sphere { centre: marker, radius_mm: MARKER_DIAMETER_MM / 2.0 }, W_STEEL)];
    if let Some(p) = &plan {
        let r = p.shell_outer_mm / 2.0;
        solids.push((Solid::HemiShell { centre: p.cup_centre, axis: p.cup_axis, outer_mm: r, inner_mm: (r - 4.0).max(1.0) }, W_TITANIUM));
        solids.push((Solid::Sphere { centre: p.head_on_femur, radius_mm: p.head_mm / 2.0 }, W_COCR));
        if let Some(f) = lm.femurs.iter().find(|f| f.side == p.side) {
            let s = f.shaft_axis.direction_lps.normalize();
            let a = f.shaft_axis.point_lps_mm;
            let h = p.head_on_femur;
            let foot = a + s * (h - a).dot(&s);
            // The neck along the series' neck-shaft angle: from the head to where its axis meets
            // the shaft axis, (180 - CCD) deg from the shaft's distal direction (-s), so below the
            // head's foot on the axis by offset / tan(180 - CCD); the body from just above there
            // down the shaft.
            let ccd = p.ccd_deg.unwrap_or(DEFAULT_CCD_DEG).clamp(100.0, 170.0).to_radians();
            let junction = foot - s * ((h - foot).norm() / (std::f64::consts::PI - ccd).tan());
            solids.push((Solid::Rod { a: h, b: junction, radius_mm: 6.0 }, W_TITANIUM));
            let top = junction + s * 10.0;
            solids.push((Solid::Rod { a: top, b: top - s * 130.0, radius_mm: 7.0 }, W_TITANIUM));
        }
    }
    drr::add_solids(&mut image, &geometry, &solids);

    let px = |p: &Point3<f64>| geometry.project(p);
    let marker_px = px(&marker).context("the calibration ball is behind the source")?;
    let r_px = drr::measure_ball_radius_px(&image, marker_px, (MARKER_DIAMETER_MM / geometry.pixel_mm).ceil() as usize + 4);
    let magnification = r_px.map(|r| r * geometry.pixel_mm / (MARKER_DIAMETER_MM / 2.0));
    let mm_per_px = magnification.map(|m| geometry.pixel_mm / m);
    let (sid, sod) = geometry.distances_mm(&depth_point);
    let mut measures = json!({
        "view": args.view,
        "align": args.align,
        "centre": args.centre,
        "landmarks": landmarks_from,
        "geometry": {
            "source_to_image_mm": sid,
            "source_to_hips_mm": sod,
            "magnification_at_hips": sid / sod,
            "imager_pixel_spacing_mm": geometry.pixel_mm,
            "columns": geometry.cols, "rows": geometry.rows,
            "source_lps_mm": geometry.source_lps_mm.coords.as_slice(),
            "pixel_0_0_lps_mm": geometry.origin_lps_mm.coords.as_slice(),
            "column_direction_lps": geometry.u.as_slice(),
            "row_direction_lps": geometry.v.as_slice(),
        },
        "calibration_ball": {
            "diameter_mm": MARKER_DIAMETER_MM,
            "centre_px": marker_px,
            "measured_diameter_px": r_px.map(|r| 2.0 * r),
            "magnification": magnification,
            "mm_per_pixel_at_hips": mm_per_px,
        },
        "warnings": warnings,
    });
    let mut lines = Vec::new();
    if args.view == View::ApPelvis
        && let Some(mm) = mm_per_px
    {
        measure_ap(lm, plan, &geometry, mm, &mut measures, &mut lines);
    }
    Ok(Picture { geometry, image, measures, lines })
}

/// The AP templating measures (see the module docs).
fn measure_ap(lm: &PatientLandmarks, plan: Option<&PlannedImplants>, g: &XrayGeometry, mm: f64, out: &mut Value, lines: &mut Vec<([f64; 2], [f64; 2], [u8; 3])>) {
    let px = |p: &Point3<f64>| g.project(p);
    // Teardrops: the lowest image point of each acetabular rim.
    let teardrop = |side: Side| -> Option<[f64; 2]> {
        let a = lm.acetabula.iter().find(|a| a.side == side)?;
        a.rim_points_lps_mm.iter().filter_map(px).max_by(|p, q| p[1].total_cmp(&q[1]))
    };
    let (Some(tr), Some(tl)) = (teardrop(Side::Right), teardrop(Side::Left)) else {
        out["measures_note"] = json!("both acetabula are needed for the teardrop line: no leg-length or offset measures");
        return;
    };
    lines.push((tr, tl, [255, 220, 0]));
    let (dx, dy) = (tl[0] - tr[0], tl[1] - tr[1]);
    let len = dx.hypot(dy);
    // Signed distance below the teardrop line (image rows grow downwards), mm.
    let below = |p: [f64; 2]| ((p[0] - tr[0]) * (-dy) + (p[1] - tr[1]) * dx) / len * mm;
    let mid = [(tr[0] + tl[0]) / 2.0, (tr[1] + tl[1]) / 2.0];
    let along = |p: [f64; 2]| ((p[0] - mid[0]) * dx + (p[1] - mid[1]) * dy) / len * mm;
    let mut sides = serde_json::Map::new();
    let mut lt_below = [None, None];
    for f in &lm.femurs {
        let (Some(lt), Some(head)) = (px(&f.lesser_trochanter.lps_mm), px(&f.head_centre.lps_mm)) else { continue };
        let a = px(&f.shaft_axis.point_lps_mm);
        let b = px(&(f.shaft_axis.point_lps_mm - f.shaft_axis.direction_lps.normalize() * 100.0));
        let offset = match (a, b) {
            (Some(a), Some(b)) => {
                let (ux, uy) = (b[0] - a[0], b[1] - a[1]);
                lines.push((a, b, [0, 200, 255]));
                Some(((head[0] - a[0]) * uy - (head[1] - a[1]) * ux).abs() / ux.hypot(uy) * mm)
            }
            _ => None,
        };
        lines.push(([lt[0] - 15.0, lt[1]], [lt[0] + 15.0, lt[1]], [255, 80, 80]));
        let k = usize::from(f.side == Side::Left);
        lt_below[k] = Some(below(lt));
        let _ = sides.insert(
            f.side.as_str().into(),
            json!({
                "lesser_trochanter_below_teardrop_line_mm": below(lt),
                "femoral_offset_mm": offset,
                "head_centre_to_midline_mm": along(head).abs(),
                "head_centre_px": head,
            }),
        );
    }
    out["teardrop_line"] = json!({"right_px": tr, "left_px": tl, "note": "each teardrop approximated by the lowest image point of the acetabular rim coxa found"});
    out["sides"] = Value::Object(sides);
    let lld = match lt_below {
        [Some(r), Some(l)] => Some(r - l),
        _ => None,
    };
    out["leg_length_difference_mm"] = json!({"right_minus_left": lld, "definition": "right minus left distance of the lesser trochanter below the teardrop line; positive: the right leg is longer"});
    if let Some(p) = plan {
        let rim: Vec<[f64; 2]> = drr::circle_points(&p.cup_centre, &p.cup_axis, p.shell_outer_mm / 2.0, 360).iter().filter_map(px).collect();
        if let Some((a, b)) = drr::longest_chord(&rim) {
            let inc = drr::angle_between_lines_deg(a, b, tr, tl);
            let horizontal = ([0.0, 0.0], [1.0, 0.0]);
            let inc_horizontal = drr::angle_between_lines_deg(a, b, horizontal.0, horizontal.1);
            lines.push((a, b, [80, 255, 80]));
            let sign = if p.side == Side::Right { 1.0 } else { -1.0 };
            out["cup"] = json!({
                "inclination_on_radiograph_deg": inc,
                "inclination_to_image_horizontal_deg": inc_horizontal,
                "teardrop_line_tilt_deg": drr::angle_between_lines_deg(tr, tl, horizontal.0, horizontal.1),
                "plan_radiographic_inclination_deg": p.radiographic_inclination_deg,
                "note": "inclination_on_radiograph_deg is measured to the teardrop line as a surgeon does, inclination_to_image_horizontal_deg to the image's rows (the pelvic transverse axis with --align pelvis, the table's with --align table); the plan's angle is Murray's radiographic inclination in the anterior pelvic plane frame; on a table-aligned view the pelvic tilt and the beam's divergence change the angle seen (--align pelvis shows the plan's frame)",
            });
            out["planned"] = json!({
                "leg_length_difference_mm": lld.map(|v| v + sign * p.leg_length_change_mm),
                "operated_offset_change_mm": p.offset_change_mm,
            });
        }
    }
}

/// Writes a PNG (RGB, measures drawn).
fn write_png(pic: &Picture, path: &Path) -> Result<()> {
    crate::atomic::write_new(path, &png_bytes(pic)?)
}

/// The picture as a PNG (RGB, measures drawn).
fn png_bytes(pic: &Picture) -> Result<Vec<u8>> {
    let gray = drr::to_display(&pic.image);
    let (rows, cols) = gray.dim();
    let mut rgb = vec![0u8; rows * cols * 3];
    for ((r, c), &v) in gray.indexed_iter() {
        let o = (r * cols + c) * 3;
        rgb[o..o + 3].copy_from_slice(&[v, v, v]);
    }
    for (a, b, colour) in &pic.lines {
        let n = ((b[0] - a[0]).hypot(b[1] - a[1]) * 2.0).ceil().max(1.0) as usize;
        for k in 0..=n {
            let t = k as f64 / n as f64;
            let (c, r) = ((a[0] + t * (b[0] - a[0])).round(), (a[1] + t * (b[1] - a[1])).round());
            if c >= 0.0 && r >= 0.0 && (c as usize) < cols && (r as usize) < rows {
                let o = (r as usize * cols + c as usize) * 3;
                rgb[o..o + 3].copy_from_slice(colour);
            }
        }
    }
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, cols as u32, rows as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&rgb)?;
    }
    Ok(buf)
}

/// A DICOM UID from the image size, the time and the process ([`coxa_io::dicom::unique_uid`]).
fn uid(salt: &str, pic: &Picture) -> String {
    coxa_io::dicom::unique_uid(&[salt.as_bytes(), &(pic.image.len() as u64).to_le_bytes()])
}

/// Writes a DICOM Digital X-Ray Image (for presentation), 16-bit MONOCHROME2, no patient identity.
fn write_dicom(pic: &Picture, path: &Path) -> Result<()> {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::{tags, uids};
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let (rows, cols) = pic.image.dim();
    ensure!(rows <= 65535 && cols <= 65535, "image too large for DICOM");
    let g = &pic.geometry;
    let m = &pic.measures;
    let sop = uid("sop", pic);
    let ds = |x: f64| format!("{x:.6}").trim_end_matches('0').trim_end_matches('.').chars().take(16).collect::<String>();
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: PrimitiveValue| {
        let _ = obj.put(DataElement::new(tag, vr, v));
    };
    put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100".into());
    put(tags::IMAGE_TYPE, VR::CS, "DERIVED\\SECONDARY".into());
    put(tags::SOP_CLASS_UID, VR::UI, uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, sop.as_str().into());
    put(tags::STUDY_INSTANCE_UID, VR::UI, uid("study", pic).as_str().into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, uid("series", pic).as_str().into());
    put(tags::MODALITY, VR::CS, "DX".into());
    put(tags::PATIENT_NAME, VR::PN, "".into());
    put(tags::PATIENT_ID, VR::LO, "".into());
    put(tags::SERIES_NUMBER, VR::IS, "1".into());
    put(tags::INSTANCE_NUMBER, VR::IS, "1".into());
    put(tags::DERIVATION_DESCRIPTION, VR::ST, "coxa DRR: simulated radiograph from CT (line integrals of attenuation relative to water)".into());
    put(tags::VIEW_POSITION, VR::CS, (if m["view"] == "ap-pelvis" { "AP" } else { "LL" }).into());
    put(tags::PRESENTATION_INTENT_TYPE, VR::CS, "FOR PRESENTATION".into());
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
    put(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2".into());
    put(tags::ROWS, VR::US, PrimitiveValue::from(rows as u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(cols as u16));
    put(tags::IMAGER_PIXEL_SPACING, VR::DS, format!("{}\\{}", ds(g.pixel_mm), ds(g.pixel_mm)).into());
    put(tags::DISTANCE_SOURCE_TO_DETECTOR, VR::DS, ds(g.sid_mm()).into());
    if let Some(sod) = m["geometry"]["source_to_hips_mm"].as_f64() {
        put(tags::DISTANCE_SOURCE_TO_PATIENT, VR::DS, ds(sod).into());
        put(tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR, VR::DS, ds(g.sid_mm() / sod).into());
    }
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16));
    put(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16));
    put(tags::PIXEL_INTENSITY_RELATIONSHIP, VR::CS, "LIN".into());
    put(tags::RESCALE_INTERCEPT, VR::DS, "0".into());
    put(tags::RESCALE_SLOPE, VR::DS, "0.1".into());
    put(tags::RESCALE_TYPE, VR::LO, "WEPL_MM".into());
    // The window is in output units (after the rescale: mm of water, PS3.3 C.11.2.1.2): the
    // image's range.
    let (lo, hi) = pic.image.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = (f64::from(lo.max(0.0)), f64::from(hi.max(lo + 1.0)));
    put(tags::WINDOW_CENTER, VR::DS, ds((lo + hi) / 2.0).into());
    put(tags::WINDOW_WIDTH, VR::DS, ds(hi - lo).into());
    // Stored value = water-equivalent path length x 10 (0.1 mm steps): bone bright.
    let stored: Vec<u16> = pic.image.iter().map(|&v| (f64::from(v) * 10.0).round().clamp(0.0, 65535.0) as u16).collect();
    put(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(stored.into()));
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION)
                .media_storage_sop_instance_uid(sop.as_str())
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN),
        )
        .map_err(|e| crate::err!("{}: {e}", path.display()))?;
    let mut buf = Vec::new();
    file.write_all(&mut buf).map_err(|e| crate::err!("{}: {e}", path.display()))?;
    crate::atomic::write_new(path, &buf)
}

/// Runs `coxa xray`; returns the measures written beside the image.
pub fn run(args: &XrayRequest) -> Result<Value> {
    let ext = args.out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    ensure!(matches!(ext.as_deref(), Some("png" | "dcm")), "--out {}: name a .png or .dcm file", args.out.display());
    let json_path = args.out.with_extension("json");
    for p in [&args.out, &json_path] {
        ensure!(!p.exists(), "{} already exists; coxa never overwrites: choose another --out", p.display());
    }
    let pic = make(args)?;
    if ext.as_deref() == Some("png") {
        write_png(&pic, &args.out)?;
    } else {
        write_dicom(&pic, &args.out)?;
    }
    crate::stamp::write(&json_path, "xray", &pic.measures)?;
    Ok(pic.measures)
}

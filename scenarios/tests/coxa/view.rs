//! The viewer on real case folders: live planning (the hip model rebuilt from the case agrees
//! with the case's own ROM, and responds to the controls as the simulator does), the motion
//! played to its first contact, the CT slices, and the interactive window under Xvfb.

use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::Result;
use coxa_viewer::{Controls, LoadOptions, load_case};

use crate::cases::{coxa, ok, read_json};
use crate::common::in_ci;
use serde_json::Value;

fn decode(p: &Path) -> (usize, usize, Vec<[u8; 3]>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    (info.width as usize, info.height as usize, buf[..info.buffer_size()].chunks(step).map(|c| [c[0], c[1], c[2]]).collect())
}

/// The contact marker's magenta (unlit, through the tonemapper): no other colour of the scene
/// is this red and this blue at once.
fn is_magenta(c: [u8; 3]) -> bool {
    c[0] > 180 && c[2] > 120 && c[1] < 90
}

fn near(p: [u8; 3], c: [u8; 3], tol: i32) -> bool {
    (0..3).all(|k| (i32::from(p[k]) - i32::from(c[k])).abs() <= tol)
}

/// A render that failed for want of a Vulkan device (skipped outside CI).
fn no_vulkan(out: &Output) -> bool {
    !out.status.success() && !in_ci() && String::from_utf8_lossy(&out.stderr).contains("Vulkan")
}

#[test]
fn live_model_reproduces_the_case_and_follows_the_controls() -> Result<()> {
    let case_dir = crate::cases::demo_phantom();
    let (case, _, live) = load_case(case_dir, LoadOptions { ct: false, muscles: false, live: true })?;
    assert!(case.model.is_some(), "the pipeline writes model.json: {:?}", case.notes);
    let (live, base) = live.unwrap_or_else(|| panic!("live model: {:?}", case.notes));
    // The rebuilt model (landmarks found again on the written STL surfaces) gives the case's
    // own ROM.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(case_dir.join("report.json"))?)?;
    let mut worst: f64 = 0.0;
    for m in report["rom"]["motions"].as_array().unwrap() {
        let k = base.limits.iter().position(|l| l.name == m["name"].as_str().unwrap()).unwrap();
        let d = (base.limits[k].limit_deg - m["limit_deg"].as_f64().unwrap()).abs();
        worst = worst.max(d);
    }
    eprintln!("live model vs the case's ROM: worst difference {worst:.2} deg over {} motions", base.limits.len());
    assert!(worst <= 0.5, "rebuilt model differs from the case by {worst:.2} deg");

    let c0 = live.base_controls();
    let limit = |e: &coxa_viewer::Evaluation, name: &str| e.limits.iter().find(|l| l.name == name).unwrap().limit_deg;
    // More cup anteversion: more flexion-side freedom, less extension (implant-limited motions).
    let more_av = live.evaluate(&Controls { cup_anteversion_deg: c0.cup_anteversion_deg + 10.0, ..c0 })?;
    let less_av = live.evaluate(&Controls { cup_anteversion_deg: c0.cup_anteversion_deg - 10.0, ..c0 })?;
    // More cup anteversion never takes flexion-side range away nor gives extension-side range;
    // which motions respond depends on the plan (a bone-limited one keeps its limit), and at
    // least one must respond by more than a degree.
    let mut moved = 0;
    for (name, more_is_larger) in [("internal_rotation_90_flexion", true), ("flexion", true), ("external_rotation_0_flexion", false), ("extension", false)] {
        let (a, b, c) = (limit(&less_av, name), limit(&base, name), limit(&more_av, name));
        eprintln!("{name}: cup anteversion -10/0/+10 -> {a:.1} / {b:.1} / {c:.1} deg");
        if more_is_larger {
            assert!(a <= b + 0.1 && b <= c + 0.1, "{name}: {a} {b} {c}");
            moved += usize::from(c > a + 1.0);
        } else {
            assert!(a + 0.1 >= b && b + 0.1 >= c, "{name}: {a} {b} {c}");
            moved += usize::from(a > c + 1.0);
        }
    }
    assert!(moved > 0, "the cup anteversion control moved no motion's limit");
    // The cup angles asked are the cup angles simulated (radiographic, pelvic frame).
    let radio = more_av.model.cup_angles(coxa_core::CupAngleDefinition::Radiographic);
    assert!((radio.anteversion.deg() - (c0.cup_anteversion_deg + 10.0)).abs() < 1e-6);
    // A larger head raises the oscillation angle (same shell).
    let heads = live.head_diameters_mm();
    let d = heads.iter().copied().rfind(|&d| d < c0.head_diameter_mm).expect("the catalog has a smaller head than the plan's");
    let e = live.evaluate(&Controls { head_diameter_mm: d, head_offset_mm: 0.0, ..c0 })?;
    eprintln!("head {d} mm: oscillation {:.1} deg vs {:.1} deg with {} mm", e.oscillation_angle_deg, base.oscillation_angle_deg, c0.head_diameter_mm);
    assert!(e.oscillation_angle_deg < base.oscillation_angle_deg);
    // Neck length: the head centre on the femur moves along the neck by the offset change.
    let offsets = live.head_offsets_mm(c0.head_diameter_mm);
    let o = *offsets.iter().find(|&&o| (o - c0.head_offset_mm).abs() > 1.0).expect("the catalog has another neck length");
    let p = live.placement(&Controls { head_offset_mm: o, ..c0 })?;
    let moved = (p.head_centre_on_femur_lps_mm - base.placement.head_centre_on_femur_lps_mm).norm();
    assert!((moved - (o - c0.head_offset_mm).abs()).abs() < 1e-9, "moved {moved} for {o}");
    // Stem version turns the head centre about the shaft: its distance to the shaft axis is kept.
    let p = live.placement(&Controls { stem_anteversion_deg: c0.stem_anteversion_deg + 15.0, ..c0 })?;
    assert!((p.head_centre_on_femur_lps_mm - base.placement.head_centre_on_femur_lps_mm).norm() > 1.0, "the head moves with the stem version");
    // Bad input is a clear error, not a panic.
    let e = live.evaluate(&Controls { cup_inclination_deg: f64::NAN, ..c0 }).unwrap_err().to_string();
    assert!(e.contains("cup inclination") && e.contains("finite"), "{e}");
    let e = live.evaluate(&Controls { head_diameter_mm: 99.0, ..c0 }).unwrap_err().to_string();
    assert!(e.contains("99"), "{e}");
    let e = live.evaluate(&Controls { stem_size: 99.0, ..c0 }).unwrap_err().to_string();
    assert!(e.contains("stem size 99 is not in the catalog") && e.contains("choose one of"), "{e}");
    // A neighbouring stem size (more or less offset) moves the femur laterally or medially by
    // about the sizes' offset difference (less by the stem's version: the head moves
    // perpendicular to the shaft, not along the pelvic medial axis).
    let sizes = live.stem_sizes();
    let k = sizes.iter().position(|z| (z.0 - c0.stem_size).abs() < 1e-9).expect("the plan's stem size is in the list");
    let next = sizes.get(k + 1).or_else(|| k.checked_sub(1).and_then(|j| sizes.get(j))).expect("the series has another size");
    let other = live.evaluate(&Controls { stem_size: next.0, ..c0 })?;
    let (d_offset, d_case) = (next.2 - sizes[k].2, other.offset_change_mm - base.offset_change_mm);
    eprintln!("stem size {} -> {}: offset {:+.1} mm, the femur's offset change {d_case:+.2} mm", sizes[k].1, next.1, d_offset);
    assert!(d_offset.abs() > 0.5 && d_case * d_offset > 0.0 && d_case.abs() > 0.5 * d_offset.abs() && d_case.abs() <= d_offset.abs() + 1e-9, "offset change {d_case} for {d_offset}");
    assert_eq!(other.placement.stem_size, next.1);
    // The femur's motion keeps the head in the cup: the head centre goes to the cup centre, and
    // at zero angles of flexion the femoral frame is the pelvic frame.
    let k = base.motions.iter().position(|m| m.name == "flexion").unwrap();
    let (bone, implant) = base.femur_motion(k, 37.0);
    let c = base.model.hip_centre_lps_mm();
    assert!((bone.apply(&base.placement.head_centre_on_femur_lps_mm) - c).norm() < 1e-9);
    assert!((implant.apply(&c) - c).norm() < 1e-9);
    assert!((bone.m.determinant() - 1.0).abs() < 1e-9);
    Ok(())
}

#[test]
fn screenshot_at_the_first_contact_marks_it() -> Result<()> {
    let case = crate::cases::demo_phantom();
    let tmp = tempfile::tempdir()?;
    let rest = tmp.path().join("rest.png");
    let posed = tmp.path().join("posed.png");
    let a = coxa(&["view", case.to_str().unwrap(), "--screenshot", rest.to_str().unwrap(), "--camera", "hip_lateral", "--width", "240", "--height", "240"]);
    if no_vulkan(&a) {
        eprintln!("note: no Vulkan device here; skipped (scripts/setup installs mesa-vulkan-drivers)");
        return Ok(());
    }
    ok(&a);
    ok(&coxa(&["view", case.to_str().unwrap(), "--screenshot", posed.to_str().unwrap(), "--camera", "hip_lateral", "--width", "240", "--height", "240", "--play", "flexion"]));
    if let Some(keep) = std::env::var_os("COXA_KEEP_SCREENSHOT") {
        std::fs::copy(&posed, PathBuf::from(&keep).with_extension("flexion.png"))?;
    }
    let (_, _, r) = decode(&rest);
    let (_, _, p) = decode(&posed);
    let magenta = |px: &[[u8; 3]]| px.iter().filter(|&&c| is_magenta(c)).count();
    let changed = r.iter().zip(&p).filter(|(a, b)| !near(**a, **b, 10)).count();
    eprintln!("contact marker pixels: rest {}, at the flexion limit {}; pixels changed by the motion {changed}", magenta(&r), magenta(&p));
    assert_eq!(magenta(&r), 0, "no contact marker at rest");
    assert!(magenta(&p) > 20, "the first contact is marked at the flexion limit");
    assert!(changed > 2000, "the femur moved");
    // A motion the case does not know is a clear error.
    let bad = coxa(&["view", case.to_str().unwrap(), "--screenshot", tmp.path().join("x.png").to_str().unwrap(), "--play", "cartwheel"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("cartwheel"));
    Ok(())
}

/// A case with the CT diagnostics' stages: its lesions tinted on the CT planes (none on the
/// phantom's clean CT: the planes are those without the overlay) and the pseudo-MRI beside each
/// plane at the same slice, grey in proportion to `pseudo_t2.nii.gz`.
#[test]
fn slices_show_the_lesions_and_the_pseudo_mri_beside_the_ct() -> Result<()> {
    let case = crate::cases::diagnostics_phantom().join("out/cases/phantom");
    let (data, planes, _) = load_case(&case, LoadOptions { ct: true, muscles: false, live: false })?;
    let names: Vec<&str> = planes.iter().map(|p| p.name).collect();
    assert_eq!(names, ["axial", "coronal", "sagittal", "axial pseudo-MRI", "coronal pseudo-MRI", "sagittal pseudo-MRI"], "{:?}", data.notes);
    assert!(data.notes.iter().any(|n| n.contains("tinted by kind")) && data.notes.iter().any(|n| n.contains("beside each CT plane")), "{:?}", data.notes);
    let ct = coxa_viewer::CaseData::load(&case)?.load_ct().expect("the CT");
    let lesions = ct.lesions.as_ref().expect("the lesion map on the CT's grid");
    let lesion_voxels = lesions.map.labels().iter().filter(|&&id| id != 0).count();
    let found = read_json(&case.join("lesions/lesions.json"))["lesions"].as_array().map_or(0, Vec::len);
    assert_eq!(lesions.kinds.len(), found);
    let centre = data.hip_centre_lps_mm().unwrap();
    // The planes without the lesions differ from the case's exactly at the lesions' voxels.
    let without = coxa_viewer::slices::Overlays { labels: ct.labels.as_ref(), uncertainty: ct.uncertainty.as_ref(), lesions: None };
    let plain = coxa_viewer::slices::orthogonal_slices(&ct.volume, without, &centre);
    for (s, p) in planes.iter().zip(&plain) {
        let tinted = s.rgba.chunks(4).zip(p.rgba.chunks(4)).filter(|(a, b)| a != b).count();
        let on_plane = lesions.map.labels().indexed_iter().filter(|&((k, j, i), &id)| [i, j, k][s.fixed.0] == s.fixed.1 && id != 0).count();
        assert_eq!(tinted, on_plane, "{}: pixels tinted as lesions ({lesion_voxels} lesion voxels in all)", s.name);
    }
    let t2 = ct.pseudo_t2.as_ref().expect("the pseudo-MRI");
    for (m, c) in planes[3..].iter().zip(&plain) {
        assert_eq!((m.fixed, m.width, m.height), (c.fixed, c.width, c.height));
        let across = (c.corners_lps_mm[1] - c.corners_lps_mm[0]) * 1.1;
        assert!((m.corners_lps_mm[0] - (c.corners_lps_mm[0] + across)).norm() < 1e-6, "{} beside its CT plane", m.name);
        // Brighter signal, brighter pixel: the plane's greys rank as the image's values do.
        let values: Vec<f32> = t2.hu().indexed_iter().filter(|&((k, j, i), _)| [i, j, k][m.fixed.0] == m.fixed.1).map(|(_, &v)| v).collect();
        assert_eq!(values.len(), (m.width * m.height) as usize);
        let (lo, hi) = values.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(hi > lo, "{}: a flat pseudo-MRI plane", m.name);
        assert!(m.rgba.chunks(4).all(|p| p[0] == p[1] && p[1] == p[2]), "{}: grey", m.name);
    }
    Ok(())
}

#[test]
fn slices_of_the_ct_with_labels() -> Result<()> {
    let case = crate::cases::demo_phantom();
    let (data, planes, _) = load_case(case, LoadOptions { ct: true, muscles: true, live: false })?;
    assert_eq!(planes.len(), 3, "three planes: {:?}", data.notes);
    assert!(!data.muscles.is_empty(), "the phantom's muscles are meshed from its label map: {:?}", data.notes);
    // Each plane passes through the hip centre and carries labelled (coloured) pixels.
    let centre = data.hip_centre_lps_mm().unwrap();
    for s in &planes {
        let [o, u, v, _] = s.corners_lps_mm;
        let n = (u - o).cross(&(v - o)).normalize();
        let voxel = (u - o).norm() / f64::from(s.width);
        assert!((centre - o).dot(&n).abs() < voxel.max(2.0), "{} plane off the hip centre", s.name);
        let coloured = s.rgba.chunks(4).filter(|c| c[0] != c[1] || c[1] != c[2]).count();
        assert!(coloured > 50, "{}: {coloured} labelled pixels", s.name);
    }
    // Where the demo's learned model was unsure (with ONNX Runtime here), exactly the planes'
    // voxels above the threshold are tinted.
    if case.join("anatomy").join("uncertainty.nii.gz").is_file() {
        assert!(data.notes.iter().any(|n| n.contains("tinted orange")), "{:?}", data.notes);
        let ct = coxa_viewer::CaseData::load(case)?.load_ct().expect("the CT");
        let unc = ct.uncertainty.as_ref().expect("the uncertainty map on the CT's grid");
        let plain = coxa_viewer::slices::orthogonal_slices(&ct.volume, coxa_viewer::slices::Overlays { labels: ct.labels.as_ref(), ..Default::default() }, &centre);
        let threshold = coxa_core::report::UNCERTAIN_ENTROPY_NATS as f32;
        for (s, p) in planes.iter().zip(&plain) {
            let tinted = s.rgba.chunks(4).zip(p.rgba.chunks(4)).filter(|(a, b)| a != b).count();
            let above = unc.hu().indexed_iter().filter(|&((k, j, i), &e)| [i, j, k][s.fixed.0] == s.fixed.1 && e > threshold).count();
            eprintln!("{}: {tinted} pixels tinted as uncertain", s.name);
            assert_eq!(tinted, above, "{}", s.name);
        }
        assert!(planes.iter().zip(&plain).any(|(s, p)| s.rgba != p.rgba), "the model is unsure somewhere on the planes");
    }
    let tmp = tempfile::tempdir()?;
    let shot = tmp.path().join("slices.png");
    let out = coxa(&["view", case.to_str().unwrap(), "--screenshot", shot.to_str().unwrap(), "--camera", "pelvis_ap", "--slices", "--width", "240", "--height", "240"]);
    if no_vulkan(&out) {
        return Ok(());
    }
    ok(&out);
    let (w, h, px) = decode(&shot);
    // The coronal plane fills most of the AP picture with CT grey instead of the background.
    let bg = coxa_viewer::BACKGROUND.map(|c| (c * 255.0).round() as u8);
    let background = px.iter().filter(|&&c| near(c, bg, 3)).count();
    eprintln!("slices picture: {background} of {} pixels background", w * h);
    assert!(background < w * h / 3, "the slices cover the picture");
    Ok(())
}

/// The interactive window under Xvfb (Mesa lavapipe): it opens the demo case, plays flexion to
/// its first contact, and its picture shows the panel and the contact marker.
#[test]
fn window_opens_the_demo_case() -> Result<()> {
    let case = crate::cases::demo_phantom();
    let Some(x) = crate::xvfb::Display::start() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let shot = tmp.path().join("window.png");
    let out = x
        .command(env!("CARGO_BIN_EXE_coxa"))
        .args(["view", case.to_str().unwrap(), "--width", "1100", "--height", "720", "--play", "flexion", "--window-screenshot", shot.to_str().unwrap(), "--close-after-s", "240"])
        .output()?;
    if no_vulkan(&out) {
        return Ok(());
    }
    ok(&out);
    if let Some(keep) = std::env::var_os("COXA_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, PathBuf::from(&keep).with_extension("window.png"))?;
    }
    let (w, h, px) = decode(&shot);
    eprintln!("window picture {w}x{h}");
    assert!(w >= 1000 && h >= 700);
    // The panel (dark) on the left, the scene's background on the right, the contact marker.
    // Sampled in the panel's right padding (the panel is 390 px wide, its buttons on the left).
    let dark = (0..h).step_by(8).filter(|&y| px[y * w + 385].iter().all(|&c| c < 80)).count();
    let magenta = px.iter().filter(|&&c| is_magenta(c)).count();
    eprintln!("dark panel rows {dark} of {}, contact marker pixels {magenta}", h / 8);
    assert!(dark > h / 8 / 2, "the control panel is drawn");
    assert!(magenta > 20, "the first contact of flexion is marked");
    Ok(())
}

/// The viewer on the real-CT case: slices through the hip with coxa's bone labels, the live
/// model agreeing with the case, a picture with the slices.
#[test]
fn real_ct_case_opens() -> Result<()> {
    let Some(case) = crate::cases::demo_real_ct() else { return Ok(()) };
    let tmp = tempfile::tempdir()?;
    let (data, planes, live) = load_case(case, LoadOptions { ct: true, muscles: true, live: true })?;
    eprintln!("real CT case: {} bones, {} muscles, {} landmarks, notes {:?}", data.bones.len(), data.muscles.len(), data.markers.len(), data.notes);
    assert_eq!(planes.len(), 3);
    assert!(planes.iter().all(|s| s.rgba.chunks(4).any(|c| c[0] != c[1])), "the bone labels show on every plane");
    let (_, base) = live.unwrap_or_else(|| panic!("live model on the real CT: {:?}", data.notes));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(case.join("report.json"))?)?;
    let worst = report["rom"]["motions"].as_array().unwrap().iter().map(|m| {
        let l = base.limits.iter().find(|l| l.name == m["name"].as_str().unwrap()).unwrap();
        (l.limit_deg - m["limit_deg"].as_f64().unwrap()).abs()
    });
    let worst = worst.fold(0.0, f64::max);
    eprintln!("real CT: live model vs the case's ROM, worst {worst:.2} deg");
    assert!(worst <= 0.5, "{worst}");
    let shot = tmp.path().join("ct.png");
    let v = coxa(&[
        "view",
        case.to_str().unwrap(),
        "--screenshot",
        shot.to_str().unwrap(),
        "--camera",
        "hip_ap",
        "--slices",
        "--play",
        "internal_rotation_90_flexion",
        "--width",
        "300",
        "--height",
        "300",
    ]);
    if no_vulkan(&v) {
        return Ok(());
    }
    ok(&v);
    if let Some(keep) = std::env::var_os("COXA_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, PathBuf::from(&keep).with_extension("ct.png"))?;
    }
    let (_, _, px) = decode(&shot);
    let grey = px.iter().filter(|c| c[0] == c[1] && c[1] == c[2] && c[0] < 200).count();
    eprintln!("real CT picture: {grey} grey CT pixels, {} contact-marker pixels", px.iter().filter(|&&c| is_magenta(c)).count());
    assert!(grey > 5000, "the CT slices show");
    Ok(())
}

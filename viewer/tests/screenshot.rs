//! A known scene rendered headless (GPU or Mesa lavapipe): a red head-coloured cube at the hip
//! centre, a translucent bone slab to its left (patient's right), nothing elsewhere. The
//! picture must show the implant colour where the cube projects and the background elsewhere.

use std::path::Path;

use coxa_viewer::{BACKGROUND, BONE, CameraView, HEAD, Scene, SceneMesh, ViewError, screenshot};
use nalgebra::{Point3, Vector3};

fn cuboid(centre: Point3<f64>, half: Vector3<f64>) -> coxa_core::Mesh {
    coxa_core::Mesh::cuboid(centre - half, centre + half).unwrap()
}

fn decode(p: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    (info.width, info.height, buf[..info.buffer_size()].chunks(step).map(|c| [c[0], c[1], c[2]]).collect())
}

#[test]
fn known_scene_pixels() {
    let scene = Scene {
        meshes: vec![
            SceneMesh::new("head", cuboid(Point3::new(0.0, 0.0, 0.0), Vector3::new(15.0, 15.0, 15.0)), HEAD),
            SceneMesh::new("hip_right", cuboid(Point3::new(-40.0, 0.0, 0.0), Vector3::new(10.0, 30.0, 40.0)), BONE),
        ],
        hip_centre_lps_mm: Some(Point3::origin()),
        side_is_left: false,
        ..Default::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("known.png");
    match screenshot(&scene, CameraView::HipAp, 240, 240, &out) {
        Ok(()) => {}
        Err(ViewError::Render { why, .. }) if std::env::var("CI").map_or(true, |v| v != "true") => {
            eprintln!("note: no Vulkan device here ({why}); scripts/setup installs mesa-vulkan-drivers");
            return;
        }
        Err(e) => panic!("{e}"),
    }
    if let Some(keep) = std::env::var_os("COXA_KEEP_SCREENSHOT") {
        std::fs::copy(&out, keep).unwrap();
    }
    let (w, h, px) = decode(&out);
    assert_eq!((w, h), (240, 240));
    let at = |x: u32, y: u32| px[(y * w + x) as usize];
    // 120 mm tall picture: the 30 mm cube covers the middle quarter; the slab lies at
    // x = -50..-30 mm (patient's right = picture's left) and is 80 mm tall.
    let centre = at(120, 120);
    eprintln!("centre {centre:?}, corner {:?}, slab {:?}", at(5, 5), at(40, 120));
    assert!(centre[0] > centre[1] + 60 && centre[0] > centre[2] + 60, "the implant's red at the centre: {centre:?}");
    let bg = BACKGROUND.map(|c| (c * 255.0).round() as i32);
    for (x, y) in [(5, 5), (234, 5), (5, 234), (234, 234), (200, 120)] {
        let p = at(x, y);
        assert!((0..3).all(|k| (i32::from(p[k]) - bg[k]).abs() <= 6), "background at ({x}, {y}): {p:?} vs {bg:?}");
    }
    let slab = at(40, 120);
    assert!((0..3).any(|k| (i32::from(slab[k]) - bg[k]).abs() > 6), "the translucent bone on the picture's left: {slab:?}");
}

#[test]
fn not_a_case_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let e = coxa_viewer::case_scene(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("not a case folder"), "{e}");
    let e = coxa_viewer::case_scene(&tmp.path().join("nope")).unwrap_err().to_string();
    assert!(e.contains("not a folder"), "{e}");
}

/// Frame time with a case loaded (software rendering is slow; this prints it):
/// `COXA_VIEW_CASE=DIR/cases/NAME cargo test -p coxa-viewer --release frame_time -- --ignored --nocapture`.
#[test]
#[ignore = "needs COXA_VIEW_CASE; prints the frame time"]
fn frame_time_of_a_case() {
    let Some(dir) = std::env::var_os("COXA_VIEW_CASE") else { return };
    let (case, planes, _) = coxa_viewer::load_case(Path::new(&dir), coxa_viewer::LoadOptions { ct: true, muscles: true, live: false }).unwrap();
    let mut scene = coxa_viewer::Scene::of_case(&case, None);
    scene.slices = planes;
    eprintln!("{} muscles, {} slice planes", case.muscles.len(), scene.slices.len());
    let triangles: usize = scene.meshes.iter().map(|m| m.mesh.triangles().len()).sum();
    for (w, h) in [(800, 600), (1280, 720)] {
        let t = coxa_viewer::frame_time(&scene, CameraView::PelvisAp, w, h, 20);
        eprintln!("{} meshes, {triangles} triangles, {w}x{h}: {:.1} ms per frame", scene.meshes.len(), t.as_secs_f64() * 1000.0);
    }
}

//! The report's four pictures of a plan (pelvis AP, hip AP, lateral, superior), drawn by
//! coxa-core's CPU rasteriser ([`coxa_core::picture`]) in every build, with or without the
//! window: the bones translucent, the implants solid, the operated femur moved so that the
//! planned head sits in the cup, framed and coloured as the viewer frames and colours them;
//! and a motion at its limit with its first contact marked ([`motion_picture`], issue 41).
//! The views are drawn in parallel; PNG out.

use coxa_core::picture::{self, BONE, CameraView, Item, Picture, implant_look};
use coxa_core::{Bone, Mesh, Side};
use nalgebra::{Matrix3, Matrix4, Point3, Vector3};
use rayon::prelude::*;

/// What the pictures show.
#[derive(Debug, Clone, Copy)]
pub struct PlanScene<'a> {
    /// The case's bone surfaces (hip bones, femurs and sacrum), drawn translucent.
    pub bones: &'a [(Bone, Mesh)],
    /// The placed implants by part (`shell`, `liner`, `head`, `neck`, `stem`), LPS mm.
    pub implants: &'a [(&'static str, Mesh)],
    /// The operated side.
    pub side: Side,
    /// The cup centre, LPS mm: the hip views' centre.
    pub hip_centre_lps_mm: Point3<f64>,
    /// The planned head centre on the femur as imaged, LPS mm: the operated femur is moved so
    /// that it lands on the cup centre.
    pub head_on_femur_lps_mm: Point3<f64>,
}

/// Whether an implant part is fixed to the pelvis (the cup's parts) rather than to the femur.
fn is_pelvic_part(name: &str) -> bool {
    matches!(name, "shell" | "liner" | "cup")
}

/// What `scene` draws, the operated femur and the femoral implants rotated by `femur_rotation`
/// about the hip centre (`HipModel::femur_motion_lps`; the identity: as planned, standing).
fn items<'a>(scene: &PlanScene<'a>, femur_rotation: &Matrix3<f64>) -> Vec<Item<'a>> {
    let operated = Bone::femur(scene.side);
    let c = scene.hip_centre_lps_mm.coords;
    let rotate_about = |pivot: &Vector3<f64>| Matrix4::new_translation(&c) * femur_rotation.to_homogeneous() * Matrix4::new_translation(&-pivot);
    // A point p of the femur as imaged goes to c + M (p - h); a femoral implant part (placed
    // with the head at c) to c + M (s - c).
    let femur_moved = rotate_about(&scene.head_on_femur_lps_mm.coords);
    let femoral_parts = (*femur_rotation != Matrix3::identity()).then(|| rotate_about(&c));
    let mut items: Vec<Item<'a>> = Vec::new();
    for (bone, mesh) in scene.bones {
        items.push(Item { mesh, look: BONE, lps_from_mesh: (*bone == operated).then_some(femur_moved) });
    }
    for (name, mesh) in scene.implants {
        items.push(Item { mesh, look: implant_look(name), lps_from_mesh: if is_pelvic_part(name) { None } else { femoral_parts } });
    }
    items
}

/// The four views of `scene`, `size` x `size` pixels each, in [`CameraView::ALL`]'s order.
pub fn report_pictures(scene: &PlanScene<'_>, size: usize) -> Vec<(CameraView, Picture)> {
    let items = items(scene, &Matrix3::identity());
    // Framed on the surfaces as they are in their files, as the viewer frames them.
    let bounds = picture::bounds(items.iter().map(|i| i.mesh));
    CameraView::ALL
        .par_iter()
        .map(|&view| {
            let framing = picture::framing(view, bounds, Some(scene.hip_centre_lps_mm), None, scene.side);
            (view, picture::render(&items, &framing, size, size))
        })
        .collect()
}

/// A motion of the plan at its limit: what [`motion_picture`] draws.
#[derive(Debug, Clone)]
pub struct MotionPose {
    /// The femur's rotation at the limit about the hip centre, LPS
    /// (`HipModel::femur_motion_lps` of the motion's pose).
    pub femur_rotation_lps: Matrix3<f64>,
    /// The first contact, LPS mm of the pelvis as imaged (none: nothing touched).
    pub contact_lps_mm: Option<Point3<f64>>,
    /// The camera.
    pub view: CameraView,
}

/// Radius of the ball that marks a first contact, mm: larger than the liner's rim is thick, so
/// that it shows where the contact lies inside an opaque part.
const CONTACT_BALL_MM: f64 = 3.5;

/// `scene` with the operated femur at a motion's limit and its first contact marked by a
/// magenta ball ([`picture::CONTACT`], the viewer's colour), framed as the report's views are.
pub fn motion_picture(scene: &PlanScene<'_>, pose: &MotionPose, size: usize) -> Picture {
    let mut items = items(scene, &pose.femur_rotation_lps);
    let bounds = picture::bounds(items.iter().map(|i| i.mesh));
    let ball = pose.contact_lps_mm.map(|p| ball(p, CONTACT_BALL_MM));
    if let Some(mesh) = &ball {
        items.push(Item { mesh, look: picture::CONTACT, lps_from_mesh: None });
    }
    let framing = picture::framing(pose.view, bounds, Some(scene.hip_centre_lps_mm), None, scene.side);
    picture::render(&items, &framing, size, size)
}

/// A ball of `radius` mm about `centre`: a latitude-longitude sphere (12 x 24 facets), fine
/// enough for a marker a few pixels wide.
fn ball(centre: Point3<f64>, radius: f64) -> Mesh {
    const N_LAT: u32 = 12;
    const N_LON: u32 = 24;
    let mut vertices = vec![centre + Vector3::z() * radius];
    for i in 1..N_LAT {
        let theta = std::f64::consts::PI * f64::from(i) / f64::from(N_LAT);
        for j in 0..N_LON {
            let phi = std::f64::consts::TAU * f64::from(j) / f64::from(N_LON);
            vertices.push(centre + radius * Vector3::new(theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()));
        }
    }
    vertices.push(centre - Vector3::z() * radius);
    let south = vertices.len() as u32 - 1;
    let at = |i: u32, j: u32| 1 + (i - 1) * N_LON + j % N_LON;
    let mut triangles = Vec::new();
    for j in 0..N_LON {
        triangles.push([0, at(1, j), at(1, j + 1)]);
        for i in 1..N_LAT - 1 {
            triangles.push([at(i, j), at(i + 1, j), at(i + 1, j + 1)]);
            triangles.push([at(i, j), at(i + 1, j + 1), at(i, j + 1)]);
        }
        triangles.push([at(N_LAT - 1, j), south, at(N_LAT - 1, j + 1)]);
    }
    Mesh::new(vertices, triangles).expect("a ball's indices are in range")
}

/// PNG bytes of a picture.
///
/// # Errors
/// The encoder's (not expected for an in-memory picture).
pub fn png(pic: &Picture) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, pic.width as u32, pic.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(std::io::Error::other)?;
        w.write_image_data(&pic.rgb).map_err(std::io::Error::other)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube(centre: Point3<f64>, half: f64) -> Mesh {
        let h = Vector3::repeat(half);
        Mesh::cuboid(centre - h, centre + h).unwrap()
    }

    #[test]
    fn the_operated_femur_is_moved_to_the_cup_and_the_other_is_not() {
        // A head (red) at the cup centre; the right femur imaged 40 mm lower than planned; the
        // left femur, not operated, stays where it was imaged.
        let cup = Point3::new(-80.0, 0.0, 0.0);
        let bones = vec![(Bone::FemurRight, cube(Point3::new(-80.0, 0.0, -40.0), 8.0)), (Bone::FemurLeft, cube(Point3::new(-80.0, -40.0, 30.0), 8.0))];
        let implants = vec![("head", cube(cup, 5.0))];
        let scene = PlanScene { bones: &bones, implants: &implants, side: Side::Right, hip_centre_lps_mm: cup, head_on_femur_lps_mm: Point3::new(-80.0, 0.0, -40.0) };
        let pics = report_pictures(&scene, 120);
        assert_eq!(pics.iter().map(|(v, _)| *v).collect::<Vec<_>>(), CameraView::ALL.to_vec());
        let (_, hip_ap) = &pics[1];
        // 60 mm half-height about the cup: 1 px = 1 mm. The femur (translucent bone over the
        // red head) is at the centre, not 40 mm below it; the other femur stays 30 mm up.
        let centre = hip_ap.at(60, 60);
        let below = hip_ap.at(60, 100);
        let other = hip_ap.at(60, 30);
        let bg = hip_ap.at(5, 5);
        assert!(centre[0] > centre[1] + 40, "head under the moved femur: {centre:?}");
        assert_eq!(below, bg, "nothing left where the femur was imaged");
        assert_ne!(other, bg, "the other femur where it was imaged");
        assert_eq!(&png(hip_ap).unwrap()[1..4], b"PNG");
    }

    /// Issue 41: a motion at its limit: the operated femur swung about the hip centre, the first
    /// contact marked in magenta.
    #[test]
    fn a_motion_picture_swings_the_femur_and_marks_the_contact() {
        // The head at the cup centre, the shaft 20-60 mm below it; the hip AP view is 1 px = 1 mm
        // about the cup (120 px: the cup at the centre).
        let cup = Point3::origin();
        let bones = vec![(Bone::FemurRight, Mesh::cuboid(Point3::new(-5.0, -5.0, -60.0), Point3::new(5.0, 5.0, -20.0)).unwrap())];
        let scene = PlanScene { bones: &bones, implants: &[], side: Side::Right, hip_centre_lps_mm: cup, head_on_femur_lps_mm: cup };
        let still = MotionPose { femur_rotation_lps: Matrix3::identity(), contact_lps_mm: None, view: CameraView::HipAp };
        let a = motion_picture(&scene, &still, 120);
        let bg = a.at(5, 5);
        assert_ne!(a.at(60, 100), bg, "the shaft below the head");
        assert_eq!((a.at(20, 60), a.at(100, 60)), (bg, bg));
        // 90 deg about the anteroposterior axis: the shaft lies across, the contact 15 mm above the centre.
        let swung = MotionPose {
            femur_rotation_lps: *nalgebra::Rotation3::from_axis_angle(&Vector3::y_axis(), std::f64::consts::FRAC_PI_2).matrix(),
            contact_lps_mm: Some(Point3::new(0.0, 0.0, 15.0)),
            view: CameraView::HipAp,
        };
        let b = motion_picture(&scene, &swung, 120);
        assert_eq!(b.at(60, 100), bg, "the shaft moved away");
        assert!(b.at(20, 60) != bg || b.at(100, 60) != bg, "the shaft lies across");
        let ball = b.at(60, 45);
        assert!(ball[0] > 180 && ball[1] < 90 && ball[2] > 120, "the contact in magenta: {ball:?}");
    }
}

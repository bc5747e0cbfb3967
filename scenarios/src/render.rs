//! The report's four pictures of a plan (pelvis AP, hip AP, lateral, superior), drawn by
//! coxa-core's CPU rasteriser ([`coxa_core::picture`]) in every build, with or without the
//! window: the bones translucent, the implants solid, the operated femur moved so that the
//! planned head sits in the cup, framed and coloured as the viewer frames and colours them.
//! The views are drawn in parallel; PNG out.

use coxa_core::picture::{self, BONE, CameraView, Item, Picture, implant_look};
use coxa_core::{Mesh, Side};
use nalgebra::{Matrix4, Point3};
use rayon::prelude::*;

/// What the pictures show.
#[derive(Debug, Clone, Copy)]
pub struct PlanScene<'a> {
    /// The case's surfaces by name (`hip_right`, `femur_left`, `sacrum`, muscles, ...): the hip
    /// bones, femurs and sacrum are drawn.
    pub bones: &'a [(String, Mesh)],
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

/// Whether a surface of the case is one of the drawn bones.
fn is_drawn_bone(name: &str) -> bool {
    name.starts_with("hip_") || name.starts_with("femur_") || name == "sacrum"
}

/// The four views of `scene`, `size` x `size` pixels each, in [`CameraView::ALL`]'s order.
pub fn report_pictures(scene: &PlanScene<'_>, size: usize) -> Vec<(CameraView, Picture)> {
    let operated = format!("femur_{}", scene.side.as_str());
    let femur_moved = Matrix4::new_translation(&(scene.hip_centre_lps_mm - scene.head_on_femur_lps_mm));
    let mut items: Vec<Item<'_>> = Vec::new();
    for (name, mesh) in scene.bones.iter().filter(|(n, _)| is_drawn_bone(n)) {
        items.push(Item { mesh, look: BONE, lps_from_mesh: (*name == operated).then_some(femur_moved) });
    }
    for (name, mesh) in scene.implants {
        items.push(Item { mesh, look: implant_look(name), lps_from_mesh: None });
    }
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
    use nalgebra::Vector3;

    fn cube(centre: Point3<f64>, half: f64) -> Mesh {
        let h = Vector3::repeat(half);
        Mesh::cuboid(centre - h, centre + h).unwrap()
    }

    #[test]
    fn the_operated_femur_is_moved_to_the_cup_and_others_are_not_drawn() {
        // A head (red) at the cup centre; the right femur imaged 40 mm lower than planned; a
        // muscle that must not be drawn.
        let cup = Point3::new(-80.0, 0.0, 0.0);
        let bones = vec![("femur_right".to_string(), cube(Point3::new(-80.0, 0.0, -40.0), 8.0)), ("gluteus_medius_right".to_string(), cube(Point3::new(-80.0, -40.0, 30.0), 8.0))];
        let implants = vec![("head", cube(cup, 5.0))];
        let scene = PlanScene { bones: &bones, implants: &implants, side: Side::Right, hip_centre_lps_mm: cup, head_on_femur_lps_mm: Point3::new(-80.0, 0.0, -40.0) };
        let pics = report_pictures(&scene, 120);
        assert_eq!(pics.iter().map(|(v, _)| *v).collect::<Vec<_>>(), CameraView::ALL.to_vec());
        let (_, hip_ap) = &pics[1];
        // 60 mm half-height about the cup: 1 px = 1 mm. The femur (translucent bone over the
        // red head) is at the centre, not 40 mm below it; where the muscle would be (30 mm up),
        // there is background.
        let centre = hip_ap.at(60, 60);
        let below = hip_ap.at(60, 100);
        let muscle = hip_ap.at(60, 30);
        let bg = hip_ap.at(5, 5);
        assert!(centre[0] > centre[1] + 40, "head under the moved femur: {centre:?}");
        assert_eq!(below, bg, "nothing left where the femur was imaged");
        assert_eq!(muscle, bg, "muscles are not drawn");
        assert_eq!(&png(hip_ap).unwrap()[1..4], b"PNG");
    }
}

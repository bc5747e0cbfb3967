//! The CT as three orthogonal slice planes through a point (the hip centre), with the label map
//! blended over it and, where a learned model was unsure, its uncertainty: plain RGBA images and
//! the LPS corners of the quads they are drawn on.

use coxa_core::{LabelMap, Volume};
use nalgebra::{Point3, Vector3};

/// HU window of the slices: level and width (bone and soft tissue both readable).
pub const WINDOW_LEVEL_HU: f32 = 250.0;
/// Window width, HU.
pub const WINDOW_WIDTH_HU: f32 = 1600.0;
/// Opacity of the label colours over the CT.
pub const LABEL_ALPHA: f32 = 0.45;
/// Colour of the voxels a learned segmentation is unsure of (entropy above
/// [`coxa_core::report::UNCERTAIN_ENTROPY_NATS`]); the contact marker is magenta, labels are
/// ivory, reds, yellows and blues.
pub const UNCERTAIN_COLOUR: [u8; 3] = [255, 110, 0];
/// Opacity of [`UNCERTAIN_COLOUR`] at the threshold; it rises to 0.85 at 1 nat and above.
pub const UNCERTAIN_ALPHA: f32 = 0.5;

/// One slice plane: an image and where it lies.
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePlane {
    /// `axial`, `coronal` or `sagittal` (by the plane's normal, the nearest LPS axis).
    pub name: &'static str,
    /// The index axis held fixed (0 = i, 1 = j, 2 = k) and its index.
    pub fixed: (usize, usize),
    /// Pixels across (`u`) and down (`v`).
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// sRGB + alpha, row-major, `v` rows of `u` pixels.
    pub rgba: Vec<u8>,
    /// LPS mm of the image's corners: `(u, v)` = (0, 0), (w, 0), (0, h), (w, h) (pixel edges).
    pub corners_lps_mm: [Point3<f64>; 4],
}

/// Colour of a label id (coxa's convention, TotalSegmentator ids): bones ivory, each muscle
/// its own hue, left and right alike.
pub fn label_colour(id: u16) -> [u8; 3] {
    match id {
        25 | 75..=78 => [240, 226, 180],
        80 | 81 => [214, 69, 65],
        82 | 83 => [232, 140, 48],
        84 | 85 => [228, 200, 60],
        88 | 89 => [80, 160, 220],
        0 => [0, 0, 0],
        _ => {
            // Any other class: a hue from the id.
            coxa_io::colour_table::hsv_rgb(f64::from(id.wrapping_mul(47) % 360), 0.65, 0.9)
        }
    }
}

/// Grey value of `hu` in the window.
pub fn window(hu: f32) -> u8 {
    let t = (hu - (WINDOW_LEVEL_HU - WINDOW_WIDTH_HU / 2.0)) / WINDOW_WIDTH_HU;
    (t.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// The three planes through `through_lps_mm` (clamped into the volume), labels blended in
/// when given, and over them the voxels whose `uncertainty` (predictive entropy, nats) is above
/// [`coxa_core::report::UNCERTAIN_ENTROPY_NATS`] (both on the volume's grid).
pub fn orthogonal_slices(volume: &Volume, labels: Option<&LabelMap>, uncertainty: Option<&Volume>, through_lps_mm: &Point3<f64>) -> Vec<SlicePlane> {
    let threshold = coxa_core::report::UNCERTAIN_ENTROPY_NATS as f32;
    let grid = volume.grid();
    let size = grid.size();
    let v = grid.lps_to_voxel(through_lps_mm);
    let d = grid.direction();
    (0..3)
        .rev()
        .map(|axis| {
            let index = (v[axis].round().max(0.0) as usize).min(size[axis] - 1);
            let (a, b) = match axis {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            let (w, h) = (size[a], size[b]);
            let mut rgba = vec![0u8; w * h * 4];
            for vb in 0..h {
                for ua in 0..w {
                    let mut ijk = [0usize; 3];
                    ijk[axis] = index;
                    ijk[a] = ua;
                    ijk[b] = vb;
                    let hu = volume.get(ijk[0], ijk[1], ijk[2]).unwrap_or(-1000.0);
                    let g = f32::from(window(hu));
                    let mut rgb = [g, g, g];
                    if let Some(l) = labels {
                        let id = l.labels()[[ijk[2], ijk[1], ijk[0]]];
                        if id != 0 {
                            let c = label_colour(id);
                            for k in 0..3 {
                                rgb[k] = rgb[k] * (1.0 - LABEL_ALPHA) + f32::from(c[k]) * LABEL_ALPHA;
                            }
                        }
                    }
                    if let Some(e) = uncertainty.and_then(|u| u.get(ijk[0], ijk[1], ijk[2]))
                        && e > threshold
                    {
                        let alpha = UNCERTAIN_ALPHA + (0.85 - UNCERTAIN_ALPHA) * ((e - threshold) / (1.0 - threshold)).clamp(0.0, 1.0);
                        for k in 0..3 {
                            rgb[k] = rgb[k] * (1.0 - alpha) + f32::from(UNCERTAIN_COLOUR[k]) * alpha;
                        }
                    }
                    let o = (vb * w + ua) * 4;
                    rgba[o..o + 3].copy_from_slice(&rgb.map(|x| x.round().clamp(0.0, 255.0) as u8));
                    rgba[o + 3] = 255;
                }
            }
            let corner = |ua: f64, vb: f64| {
                let mut ijk = Vector3::zeros();
                ijk[axis] = index as f64;
                ijk[a] = ua - 0.5;
                ijk[b] = vb - 0.5;
                grid.voxel_to_lps(ijk)
            };
            let normal = d.column(axis).into_owned();
            let name = match normal.iamax() {
                0 => "sagittal",
                1 => "coronal",
                _ => "axial",
            };
            SlicePlane {
                name,
                fixed: (axis, index),
                width: w as u32,
                height: h as u32,
                rgba,
                corners_lps_mm: [corner(0.0, 0.0), corner(w as f64, 0.0), corner(0.0, h as f64), corner(w as f64, h as f64)],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_core::{ClassTable, Grid};
    use ndarray::Array3;

    #[test]
    fn planes_cross_at_the_point_and_show_the_labels() {
        // 20 x 10 x 6 voxels of 2 x 1 x 3 mm; HU = 100 i; label 83 where i >= 10.
        let grid = Grid::axis_aligned([20, 10, 6], Vector3::new(2.0, 1.0, 3.0), Vector3::new(-10.0, 5.0, 100.0)).unwrap();
        let hu = Array3::from_shape_fn((6, 10, 20), |(_, _, i)| 100.0 * i as f32 - 800.0);
        let vol = Volume::new(grid.clone(), hu).unwrap();
        let mut classes = ClassTable::new();
        classes.insert(83, "gluteus_medius_right");
        let ids = Array3::from_shape_fn((6, 10, 20), |(_, _, i)| if i >= 10 { 83 } else { 0 });
        let labels = LabelMap::new(grid.clone(), ids, classes).unwrap();
        let p = grid.voxel_to_lps(Vector3::new(7.0, 4.0, 2.0));
        let planes = orthogonal_slices(&vol, Some(&labels), None, &p);
        assert_eq!(planes.iter().map(|s| s.name).collect::<Vec<_>>(), ["axial", "coronal", "sagittal"]);
        assert_eq!(planes.iter().map(|s| s.fixed).collect::<Vec<_>>(), [(2, 2), (1, 4), (0, 7)]);
        let axial = &planes[0];
        assert_eq!((axial.width, axial.height), (20, 10));
        // Corners: pixel edges of the plane through k = 2.
        assert!((axial.corners_lps_mm[0] - Point3::new(-11.0, 4.5, 106.0)).norm() < 1e-9);
        assert!((axial.corners_lps_mm[3] - Point3::new(29.0, 14.5, 106.0)).norm() < 1e-9);
        // Pixel (u = 3, v = 0): HU -500, unlabelled: grey 94; (u = 12): labelled, reddish-orange.
        let px = |u: usize, v: usize| &axial.rgba[(v * 20 + u) * 4..(v * 20 + u) * 4 + 4];
        assert_eq!(px(3, 0), [window(-500.0); 3].iter().copied().chain([255]).collect::<Vec<_>>().as_slice());
        let lab = px(12, 0);
        assert!(lab[0] > lab[2] + 40, "label colour blended: {lab:?}");
        // Sagittal plane at i = 7: unlabelled everywhere.
        assert!(planes[2].rgba.chunks(4).all(|c| c[0] == c[1] && c[1] == c[2]));
    }

    #[test]
    fn voxels_the_model_is_unsure_of_are_tinted_and_the_rest_unchanged() {
        // 8 x 6 x 4 voxels at 1 mm, HU 0; entropy 0.1 nats, 0.4 at (2, 3, 1), 1.5 at (5, 3, 1).
        let grid = Grid::axis_aligned([8, 6, 4], Vector3::new(1.0, 1.0, 1.0), Vector3::zeros()).unwrap();
        let vol = Volume::new(grid.clone(), Array3::zeros((4, 6, 8))).unwrap();
        let mut e = Array3::from_elem((4, 6, 8), 0.1f32);
        e[[1, 3, 2]] = 0.4;
        e[[1, 3, 5]] = 1.5;
        let unc = Volume::new(grid.clone(), e).unwrap();
        let p = grid.voxel_to_lps(Vector3::new(2.0, 3.0, 1.0));
        let plain = orthogonal_slices(&vol, None, None, &p);
        let tinted = orthogonal_slices(&vol, None, Some(&unc), &p);
        let axial = (&plain[0], &tinted[0]);
        assert_eq!(axial.1.fixed, (2, 1));
        let px = |s: &SlicePlane, u: usize, v: usize| -> [u8; 3] { s.rgba[(v * 8 + u) * 4..(v * 8 + u) * 4 + 3].try_into().unwrap() };
        // Below the threshold: the CT grey, as without the map.
        let changed: Vec<(usize, usize)> = (0..6).flat_map(|v| (0..8).map(move |u| (u, v))).filter(|&(u, v)| px(axial.0, u, v) != px(axial.1, u, v)).collect();
        assert_eq!(changed, [(2, 3), (5, 3)]);
        // Above it: orange, stronger where the entropy is higher.
        let (weak, strong, grey) = (px(axial.1, 2, 3), px(axial.1, 5, 3), px(axial.0, 2, 3));
        assert!(weak[0] > grey[0] && weak[2] < grey[2], "{weak:?} over {grey:?}");
        assert!(strong[0] >= weak[0] && strong[2] < weak[2], "{strong:?} vs {weak:?}");
        let expect = |alpha: f32| std::array::from_fn::<u8, 3, _>(|k| (f32::from(grey[k]) * (1.0 - alpha) + f32::from(UNCERTAIN_COLOUR[k]) * alpha).round() as u8);
        assert_eq!(strong, expect(0.85));
        let a = UNCERTAIN_ALPHA + (0.85 - UNCERTAIN_ALPHA) * (0.4 - 0.325) / (1.0 - 0.325);
        assert_eq!(weak, expect(a));
    }
}

//! The CT as three orthogonal slice planes through a point (the hip centre), with the label map
//! blended over it, where a learned model was unsure its uncertainty, and the bone lesions
//! `coxa lesions` found: plain RGBA images and the LPS corners of the quads they are drawn on.
//! A pseudo-MRI of the CT (`coxa pseudo-mri`) is drawn as three more planes at the same indices,
//! each beside its CT plane (issue 43: CT and pseudo-MRI side by side, slices linked).

use std::collections::BTreeMap;

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

/// Opacity of a lesion's colour over the CT.
pub const LESION_ALPHA: f32 = 0.7;

/// What `coxa lesions` found, on the CT's grid: its label map (0 none, else the lesion's id) and
/// each id's kind (`lytic`, `blastic`, `mixed`, from `lesions.json`).
#[derive(Debug, Clone)]
pub struct LesionMap {
    /// The lesions' label map.
    pub map: LabelMap,
    /// Kind by lesion id.
    pub kinds: BTreeMap<u16, String>,
}

/// Colour of a lesion of `kind`: lytic cyan, blastic green, mixed violet (none of the labels'
/// ivory, reds, yellows and blues, nor the uncertainty's orange).
pub fn lesion_colour(kind: &str) -> [u8; 3] {
    match kind {
        "lytic" => [0, 225, 235],
        "blastic" => [70, 235, 70],
        _ => [175, 95, 255],
    }
}

/// What is drawn over the CT, each on the CT's grid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overlays<'a> {
    /// The label map (bones and muscles), blended in.
    pub labels: Option<&'a LabelMap>,
    /// A learned model's predictive entropy, nats: tinted above
    /// [`coxa_core::report::UNCERTAIN_ENTROPY_NATS`].
    pub uncertainty: Option<&'a Volume>,
    /// Bone lesions, tinted by kind.
    pub lesions: Option<&'a LesionMap>,
}

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

/// The three planes through `through_lps_mm` (clamped into the volume) in the HU window, the
/// overlays drawn over them (see [`Overlays`]).
pub fn orthogonal_slices(volume: &Volume, overlays: Overlays<'_>, through_lps_mm: &Point3<f64>) -> Vec<SlicePlane> {
    slices_of(volume, through_lps_mm, |hu| f32::from(window(hu)), overlays)
}

/// The pseudo-MRI `t2` (on the CT's grid) as three planes at the indices of `ct_planes`, each
/// moved beside its CT plane along the plane's own width (plus a 10 % gap), grey from 0 to the
/// image's 99.5th percentile; named `<plane> pseudo-MRI`.
pub fn pseudo_mri_slices(t2: &Volume, ct_planes: &[SlicePlane]) -> Vec<SlicePlane> {
    let top = percentile(t2, 0.995).max(f32::EPSILON);
    ct_planes
        .iter()
        .filter_map(|ct| {
            // The point of the CT plane's own index along its fixed axis.
            let mut ijk = Vector3::from(t2.grid().size().map(|n| n as f64 / 2.0));
            ijk[ct.fixed.0] = ct.fixed.1 as f64;
            let through = t2.grid().voxel_to_lps(ijk);
            let mut p = slices_of(t2, &through, |v| (v / top).clamp(0.0, 1.0) * 255.0, Overlays::default()).into_iter().find(|p| p.fixed.0 == ct.fixed.0)?;
            let across = (ct.corners_lps_mm[1] - ct.corners_lps_mm[0]) * 1.1;
            p.corners_lps_mm = ct.corners_lps_mm.map(|c| c + across);
            p.name = match p.name {
                "axial" => "axial pseudo-MRI",
                "coronal" => "coronal pseudo-MRI",
                _ => "sagittal pseudo-MRI",
            };
            Some(p)
        })
        .collect()
}

/// The `q`-quantile of a volume's values (a sample of at most a million voxels, evenly spaced).
fn percentile(v: &Volume, q: f64) -> f32 {
    let data = v.hu();
    let step = (data.len() / 1_000_000).max(1);
    let mut sample: Vec<f32> = data.iter().step_by(step).copied().filter(|x| x.is_finite()).collect();
    if sample.is_empty() {
        return 0.0;
    }
    let k = ((sample.len() - 1) as f64 * q).round() as usize;
    *sample.select_nth_unstable_by(k, f32::total_cmp).1
}

fn slices_of(volume: &Volume, through_lps_mm: &Point3<f64>, grey: impl Fn(f32) -> f32, overlays: Overlays<'_>) -> Vec<SlicePlane> {
    let Overlays { labels, uncertainty, lesions } = overlays;
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
                    let g = grey(hu);
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
                    if let Some(l) = lesions {
                        let id = l.map.labels()[[ijk[2], ijk[1], ijk[0]]];
                        if id != 0 {
                            let c = lesion_colour(l.kinds.get(&id).map_or("mixed", String::as_str));
                            for k in 0..3 {
                                rgb[k] = rgb[k] * (1.0 - LESION_ALPHA) + f32::from(c[k]) * LESION_ALPHA;
                            }
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
        let planes = orthogonal_slices(&vol, Overlays { labels: Some(&labels), ..Overlays::default() }, &p);
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
        let plain = orthogonal_slices(&vol, Overlays::default(), &p);
        let tinted = orthogonal_slices(&vol, Overlays { uncertainty: Some(&unc), ..Overlays::default() }, &p);
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

    #[test]
    fn lesions_are_tinted_by_kind_and_the_pseudo_mri_lies_beside_the_ct() {
        // 8 x 6 x 4 voxels of 1 x 1 x 2 mm, HU 0; lesion 1 (lytic) at (2, 3, 1), 2 (blastic) at
        // (5, 3, 1), 3 (no record) at (6, 1, 1).
        let grid = Grid::axis_aligned([8, 6, 4], Vector3::new(1.0, 1.0, 2.0), Vector3::zeros()).unwrap();
        let vol = Volume::new(grid.clone(), Array3::zeros((4, 6, 8))).unwrap();
        let mut ids = Array3::zeros((4, 6, 8));
        ids[[1, 3, 2]] = 1u16;
        ids[[1, 3, 5]] = 2;
        ids[[1, 1, 6]] = 3;
        let map = LabelMap::new(grid.clone(), ids, ClassTable::new()).unwrap();
        let lesions = LesionMap { map, kinds: [(1, "lytic".to_string()), (2, "blastic".to_string())].into() };
        let p = grid.voxel_to_lps(Vector3::new(2.0, 3.0, 1.0));
        let plain = orthogonal_slices(&vol, Overlays::default(), &p);
        let tinted = orthogonal_slices(&vol, Overlays { lesions: Some(&lesions), ..Overlays::default() }, &p);
        let px = |s: &SlicePlane, u: usize, v: usize| -> [u8; 3] { s.rgba[(v * 8 + u) * 4..(v * 8 + u) * 4 + 3].try_into().unwrap() };
        let changed: Vec<(usize, usize)> = (0..6).flat_map(|v| (0..8).map(move |u| (u, v))).filter(|&(u, v)| px(&plain[0], u, v) != px(&tinted[0], u, v)).collect();
        assert_eq!(changed, [(6, 1), (2, 3), (5, 3)]);
        let grey = px(&plain[0], 2, 3);
        let expect = |c: [u8; 3]| std::array::from_fn::<u8, 3, _>(|k| (f32::from(grey[k]) * (1.0 - LESION_ALPHA) + f32::from(c[k]) * LESION_ALPHA).round() as u8);
        assert_eq!(px(&tinted[0], 2, 3), expect(lesion_colour("lytic")));
        assert_eq!(px(&tinted[0], 5, 3), expect(lesion_colour("blastic")));
        assert_eq!(px(&tinted[0], 6, 1), expect(lesion_colour("mixed")));

        // A pseudo-T2 of 10 i + 100 j (0..570): planes at the CT planes' indices, beside them.
        let t2 = Volume::new(grid.clone(), Array3::from_shape_fn((4, 6, 8), |(_, j, i)| 10.0 * i as f32 + 100.0 * j as f32)).unwrap();
        let mri = pseudo_mri_slices(&t2, &plain);
        assert_eq!(mri.iter().map(|s| (s.name, s.fixed)).collect::<Vec<_>>(), [("axial pseudo-MRI", (2, 1)), ("coronal pseudo-MRI", (1, 3)), ("sagittal pseudo-MRI", (0, 2))]);
        for (m, c) in mri.iter().zip(&plain) {
            assert_eq!((m.width, m.height), (c.width, c.height));
            let across = (c.corners_lps_mm[1] - c.corners_lps_mm[0]) * 1.1;
            for (a, b) in m.corners_lps_mm.iter().zip(&c.corners_lps_mm) {
                assert!((a - (b + across)).norm() < 1e-9, "{a} beside {b}");
            }
        }
        // Grey in proportion to the signal, 0 black, the 99.5th percentile (570, the top slices) white.
        let top = percentile(&t2, 0.995);
        assert_eq!(top, 570.0);
        assert_eq!(px(&mri[0], 0, 0), [0; 3]);
        assert_eq!(px(&mri[0], 7, 5), [255; 3]);
        assert_eq!(px(&mri[0], 3, 2), [((230.0 / 570.0) * 255.0f32).round() as u8; 3]);
    }
}

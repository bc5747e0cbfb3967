//! The radiographic teardrop (Köhler's teardrop) of one acetabulum, found on the hip bone's
//! surface as an AP radiograph shows it (issue 60: surgeons place the centre of rotation against
//! the teardrop, and coxa had no such landmark).
//!
//! On an AP pelvis radiograph the teardrop is the U-shaped shadow medial to the acetabulum: its
//! lateral limb the acetabular fossa's floor, its medial limb the quadrilateral plate, its
//! inferior tip where the two meet above the obturator foramen. coxa finds the tip on the hip
//! bone's surface in the AP projection of the pelvic frame (the anterior pelvic plane facing the
//! film): the bone's shadow is drawn on a 0.5 mm grid; in each column up to [`SEARCH_MEDIAL_MM`]
//! medial of the socket's sphere the shadow is followed down from the socket's centre to the
//! obturator foramen's radiolucency (a clear stretch at least [`MIN_FORAMEN_MM`] tall with the
//! rami's shadow below it, within three socket radii; a shadow that just ends is where the CT
//! ends, not the foramen). The
//! teardrop sits over the foramen's superolateral corner: its tip is the median height of the
//! foramen's top over the [`EDGE_BAND_MM`] medial of the foramen's lateral edge, at the band's
//! middle.
//!
//! It is an approximation of a radiographic landmark, not an anatomical point: the
//! radiograph's beam diverges and the pelvis may be tilted against the film, and the fossa's
//! floor and the plate are not separately resolved. Its pelvic-frame depth (y) is the socket
//! centre's. Written by hand: no crate computes a projected teardrop.

use nalgebra::Point3;

use coxa_core::{AcetabulumLandmarks, Mesh, PelvicFrame, Side};

/// How far medial of the socket's sphere the foramen is looked for, mm.
pub const SEARCH_MEDIAL_MM: f64 = 30.0;
/// The tip: the columns this wide from the foramen's lateral edge, mm.
pub const EDGE_BAND_MM: f64 = 6.0;
/// The shortest clear stretch taken for the foramen, mm (the obturator foramen is 30-50 mm tall;
/// a few millimetres are a notch, or a CT cut just below a ramus).
pub const MIN_FORAMEN_MM: f64 = 8.0;
/// Grid step of the drawn shadow, mm.
const STEP_MM: f64 = 0.5;
/// How far below the socket's centre the foramen and the bone below it are looked for, in
/// socket radii.
const DEPTH_RADII: f64 = 3.0;

/// The teardrop's inferior tip of `side`'s acetabulum on `hip` (that side's hip bone, LPS mm),
/// in the pelvic frame `frame` (mm), or `None` when the shadow below the socket has no
/// radiolucency with bone below it in reach (the obturator foramen not imaged: a CT that ends
/// below the acetabulum; or closed by the segmentation).
pub fn teardrop_pelvic_mm(hip: &Mesh, frame: &PelvicFrame, acetabulum: &AcetabulumLandmarks, side: Side) -> Option<Point3<f64>> {
    let c = frame.point_to_pelvic(&acetabulum.centre.lps_mm);
    let r = acetabulum.radius_mm;
    if !(r.is_finite() && r > 0.0) {
        return None;
    }
    let s = side.lateral_sign();
    // The drawn region: lateral coordinate u (from the socket centre, + lateral) and height w.
    let (u0, u1) = (-(r + SEARCH_MEDIAL_MM), -r);
    let (w0, w1) = (-DEPTH_RADII * r, 0.0);
    let (nu, nw) = (((u1 - u0) / STEP_MM).ceil() as usize + 1, ((w1 - w0) / STEP_MM).ceil() as usize + 1);
    let mut shadow = vec![false; nu * nw];
    let to_uw = |p: &Point3<f64>| {
        let q = frame.point_to_pelvic(p);
        (s * (q.x - c.x), q.z - c.z)
    };
    for t in 0..hip.triangles().len() {
        let [a, b, d] = hip.corners(t).map(|p| to_uw(&p));
        let (lo_u, hi_u) = (a.0.min(b.0).min(d.0), a.0.max(b.0).max(d.0));
        let (lo_w, hi_w) = (a.1.min(b.1).min(d.1), a.1.max(b.1).max(d.1));
        if hi_u < u0 || lo_u > u1 || hi_w < w0 || lo_w > w1 {
            continue;
        }
        let area = (b.0 - a.0) * (d.1 - a.1) - (d.0 - a.0) * (b.1 - a.1);
        let i_range = ((lo_u - u0) / STEP_MM).floor().max(0.0) as usize..=(((hi_u - u0) / STEP_MM).ceil() as usize).min(nu - 1);
        let j_range = ((lo_w - w0) / STEP_MM).floor().max(0.0) as usize..=(((hi_w - w0) / STEP_MM).ceil() as usize).min(nw - 1);
        for i in i_range {
            for j in j_range.clone() {
                let (pu, pw) = (u0 + i as f64 * STEP_MM, w0 + j as f64 * STEP_MM);
                // Inside (or on) the projected triangle, or the pixel the sliver passes through.
                let e = |p: (f64, f64), q: (f64, f64)| (q.0 - p.0) * (pw - p.1) - (pu - p.0) * (q.1 - p.1);
                let (e0, e1, e2) = (e(a, b), e(b, d), e(d, a));
                let inside = area.abs() >= 1e-12 && ((e0 >= 0.0 && e1 >= 0.0 && e2 >= 0.0) || (e0 <= 0.0 && e1 <= 0.0 && e2 <= 0.0));
                let near_vertex = [a, b, d].iter().any(|v| (v.0 - pu).abs() <= STEP_MM / 2.0 && (v.1 - pw).abs() <= STEP_MM / 2.0);
                if inside || near_vertex {
                    shadow[i * nw + j] = true;
                }
            }
        }
    }
    // Per column: from the centre's height down through shadow to the first clear pixel.
    let tips: Vec<(f64, f64)> = (0..nu)
        .filter_map(|i| {
            let col = &shadow[i * nw..(i + 1) * nw];
            // The socket's own level must be in shadow (the column passes through the bone).
            if !col[nw - 1] {
                return None;
            }
            let gap = (0..nw - 1).rev().find(|&j| !col[j])?;
            // A foramen is a clear stretch at least MIN_FORAMEN_MM tall with bone below it (the
            // rami); a shadow that just ends is the CT's end, a short clear stretch a notch.
            let below = (0..gap).rev().find(|&j| col[j])?;
            ((gap - below) as f64 * STEP_MM >= MIN_FORAMEN_MM).then(|| (u0 + i as f64 * STEP_MM, w0 + (gap + 1) as f64 * STEP_MM))
        })
        .collect();
    // The foramen's lateral edge, and the tip over the band medial of it.
    let edge = tips.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
    let mut band: Vec<f64> = tips.iter().filter(|t| t.0 >= edge - EDGE_BAND_MM).map(|t| t.1).collect();
    if band.len() < (EDGE_BAND_MM / STEP_MM) as usize / 2 {
        return None;
    }
    band.sort_by(f64::total_cmp);
    let w = band[band.len() / 2];
    let u = edge - EDGE_BAND_MM / 2.0;
    Some(Point3::new(c.x + s * u, c.y, c.z + w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_core::Landmark;

    /// A closed box, LPS mm.
    fn boxed(min: [f64; 3], max: [f64; 3]) -> (Vec<Point3<f64>>, Vec<[u32; 3]>) {
        let v: Vec<Point3<f64>> = (0..8).map(|k| Point3::new(if k & 1 == 0 { min[0] } else { max[0] }, if k & 2 == 0 { min[1] } else { max[1] }, if k & 4 == 0 { min[2] } else { max[2] })).collect();
        let t = vec![[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]];
        (v, t)
    }

    /// A right "hip bone": a block above and, with `rami`, a bar below, a 10 mm gap between
    /// them (the foramen) whose top lies `gap_top` mm from the socket centre at x = -100; the
    /// foramen's lateral edge at x = -75, where a column of bone closes it.
    fn hip(gap_top: f64, rami: bool) -> (Mesh, PelvicFrame, AcetabulumLandmarks) {
        let mut boxes = vec![([-160.0, -20.0, gap_top], [-60.0, 20.0, 40.0])];
        if rami {
            boxes.push(([-160.0, -20.0, gap_top - 40.0], [-60.0, 20.0, gap_top - 10.0]));
            boxes.push(([-160.0, -20.0, gap_top - 40.0], [-75.0, 20.0, gap_top]));
        }
        let (mut v, mut t) = (Vec::new(), Vec::new());
        for (lo, hi) in boxes {
            let (v2, t2) = boxed(lo, hi);
            let n = v.len() as u32;
            v.extend(v2);
            t.extend(t2.into_iter().map(|f| f.map(|i| i + n)));
        }
        let frame = PelvicFrame::from_landmarks(Point3::new(120.0, 0.0, 60.0), Point3::new(-120.0, 0.0, 60.0), Point3::new(20.0, 0.0, -40.0), Point3::new(-20.0, 0.0, -40.0)).unwrap();
        let acetabulum = AcetabulumLandmarks {
            side: Side::Right,
            centre: Landmark::good(Point3::new(-100.0, 0.0, 0.0)),
            radius_mm: 25.0,
            fit_rms_mm: 0.5,
            opening_axis_lps: nalgebra::Vector3::new(-1.0, 0.0, -1.0).normalize(),
            rim_plane_point_lps_mm: Point3::new(-110.0, 0.0, -10.0),
            n_rim_points: 0,
            rim_points_lps_mm: Vec::new(),
            rim_diameter_mm: 50.0,
            n_lunate_vertices: 0,
            n_fossa_vertices: 0,
            joint_space_mm: None,
        };
        (Mesh::new(v, t).unwrap(), frame, acetabulum)
    }

    #[test]
    fn the_tip_is_the_shadow_above_the_foramen_medial_to_the_socket() {
        let (mesh, frame, a) = hip(-18.0, true);
        let tip = teardrop_pelvic_mm(&mesh, &frame, &a, Side::Right).expect("a foramen below the socket");
        let c = frame.point_to_pelvic(&a.centre.lps_mm);
        // The foramen's lateral edge is 25 mm medial of the centre (right side: medial is +x);
        // the first column clear of the closing bone is 25.5 mm, the band's middle 3 mm further.
        // Its top 18 mm below the centre (to the grid's step).
        assert!((tip.x - c.x - 28.5).abs() < 1e-9, "{tip} vs {c}");
        assert!((tip.z - c.z + 18.0).abs() <= STEP_MM, "{tip} vs {c}");
        assert_eq!(tip.y, c.y);
    }

    #[test]
    fn no_foramen_in_reach_is_none() {
        // The gap's top 80 mm below the centre: beyond three socket radii.
        let (mesh, frame, a) = hip(-80.0, true);
        assert_eq!(teardrop_pelvic_mm(&mesh, &frame, &a, Side::Right), None);
        // A CT that ends 18 mm below the socket's centre: a shadow that ends is not a foramen.
        let (mesh, frame, a) = hip(-18.0, false);
        assert_eq!(teardrop_pelvic_mm(&mesh, &frame, &a, Side::Right), None);
    }
}

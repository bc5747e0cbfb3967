//! Pictures of a plan: the report's four camera views (shared with the viewer's cameras), the
//! looks of bones and implants, and a CPU rasteriser that draws them without a GPU.
//!
//! The report's pictures used to be rendered by the bevy viewer on a software Vulkan device
//! (lavapipe): 12 s of a 13.5 s release case on the real CT on 2 cores (issue 17) and three
//! quarters of a debug demo's time, most of it lavapipe shading fragments with 4x multisampling. The meshes are small
//! (the real CT's five bones hold 16,000 triangles), so a direct rasteriser over them is far
//! cheaper and needs neither a GPU nor a window.
//!
//! Why written here rather than taken from a crate: the pictures need orthographic projection
//! of `f64` LPS meshes, a z-buffer for the implants, two-sided translucent bones composited in
//! any triangle order, smooth shading (per pixel for the implants; at the vertices for the
//! translucent bones, whose many layers are most of the fragments) and supersampling. 2D crates (tiny-skia) have
//! no depth; the Rust software 3D renderers (euc) bring their own pipeline model, with
//! order-dependent blending. The whole method is below, about 200 lines.
//!
//! The look follows the viewer's: the same colours and alpha, orthographic cameras framing the
//! same centres and extents ([`framing`]), a directional light over the camera's shoulder and an
//! ambient term, shading in linear light and output in sRGB. Translucent surfaces are blended
//! with weighted blended order-independent transparency (McGuire and Bavoil 2013): coverage is
//! exact (each layer keeps `1 - alpha` of what lies behind it, as alpha blending does) and the
//! layers' colours are mixed with weights that favour the nearer ones, instead of bevy's
//! per-mesh sort. One deliberate difference: the light follows each camera (bevy lights all
//! views from the first camera's side, which leaves the lateral view in shadow).

use nalgebra::{Matrix4, Point3, Vector3};

use crate::{Mesh, Side};

/// How a surface is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// sRGB colour and alpha (below 1: translucent, both faces drawn).
    pub rgba: [f32; 4],
}

impl Look {
    /// Whether the surface is blended over what lies behind it.
    pub fn is_translucent(&self) -> bool {
        self.rgba[3] < 1.0
    }
}

/// Bone (translucent, so that the implants show through).
pub const BONE: Look = Look { rgba: [0.84, 0.80, 0.70, 0.45] };
/// Acetabular shell.
pub const SHELL: Look = Look { rgba: [0.59, 0.63, 0.69, 1.0] };
/// Liner.
pub const LINER: Look = Look { rgba: [0.24, 0.47, 0.86, 1.0] };
/// Femoral head.
pub const HEAD: Look = Look { rgba: [0.78, 0.24, 0.20, 1.0] };
/// Neck and stem.
pub const STEM: Look = Look { rgba: [0.47, 0.49, 0.53, 1.0] };
/// Landmark spheres.
pub const MARKER: Look = Look { rgba: [0.10, 0.65, 0.35, 1.0] };
/// The first contact of a motion.
pub const CONTACT: Look = Look { rgba: [1.0, 0.05, 0.75, 1.0] };
/// Background (sRGB).
pub const BACKGROUND: [f32; 3] = [0.98, 0.98, 0.97];

/// An implant part's look by name (`shell`, `liner`, `head`; anything else is neck or stem).
pub fn implant_look(name: &str) -> Look {
    match name {
        "shell" => SHELL,
        "liner" => LINER,
        "head" => HEAD,
        _ => STEM,
    }
}

/// A camera of the report and of `coxa view --screenshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraView {
    /// The whole scene from the front (AP radiograph orientation).
    PelvisAp,
    /// The hip from the front.
    HipAp,
    /// The hip from its lateral side.
    HipLateral,
    /// The hip from above.
    HipSuperior,
}

impl CameraView {
    /// The report's four views, in the report's order.
    pub const ALL: [Self; 4] = [Self::PelvisAp, Self::HipAp, Self::HipLateral, Self::HipSuperior];

    /// From `pelvis_ap`, `hip_ap`, `hip_lateral`, `hip_superior` (or `ap`, `lateral`, `superior`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pelvis_ap" | "ap" => Some(Self::PelvisAp),
            "hip_ap" => Some(Self::HipAp),
            "hip_lateral" | "lateral" => Some(Self::HipLateral),
            "hip_superior" | "superior" => Some(Self::HipSuperior),
            _ => None,
        }
    }

    /// The view's name, which is also its picture's file stem.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PelvisAp => "pelvis_ap",
            Self::HipAp => "hip_ap",
            Self::HipLateral => "hip_lateral",
            Self::HipSuperior => "hip_superior",
        }
    }
}

/// What an orthographic camera shows: `centre` ± `half_mm` vertically, seen from `eye_dir`
/// (unit, from the scene towards the eye, LPS) with `up` on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    /// Centre of the picture, LPS mm.
    pub centre: Point3<f64>,
    /// Half the picture's height, mm.
    pub half_mm: f64,
    /// From the scene towards the eye, LPS.
    pub eye_dir: Vector3<f64>,
    /// Screen up, LPS.
    pub up: Vector3<f64>,
}

/// The bounding box of `meshes` (`None` when they hold no vertex).
pub fn bounds<'a>(meshes: impl IntoIterator<Item = &'a Mesh>) -> Option<(Point3<f64>, Point3<f64>)> {
    meshes.into_iter().filter_map(Mesh::bounds).reduce(|(lo, hi), (l, h)| (lo.inf(&l), hi.sup(&h)))
}

/// The camera of `view`. `bounds` are those of the scene's bones and implants (the pelvis view
/// frames them all), `hip` is the hip (cup) centre the hip views centre on (the scene's centre
/// when unknown), `contact` a marked first contact the hip views widen to include, and `side`
/// the operated side the lateral view looks at.
pub fn framing(view: CameraView, bounds: Option<(Point3<f64>, Point3<f64>)>, hip: Option<Point3<f64>>, contact: Option<Point3<f64>>, side: Side) -> Framing {
    let centre = bounds.map_or_else(Point3::origin, |(lo, hi)| nalgebra::center(&lo, &hi));
    let hip = hip.unwrap_or(centre);
    // The hip views show 60 mm about the hip centre, more when a marked contact lies further.
    let reach = contact.map_or(60.0, |c| (1.25 * (c - hip).abs().max()).max(60.0));
    let anterior = -Vector3::y();
    let lateral = Vector3::x() * side.lateral_sign();
    let (centre, half_mm, eye_dir, up) = match view {
        CameraView::PelvisAp => (centre, bounds.map_or(60.0, |(lo, hi)| 0.55 * (hi - lo).x.max((hi - lo).z).max(1.0)), anterior, Vector3::z()),
        CameraView::HipAp => (hip, reach, anterior, Vector3::z()),
        CameraView::HipLateral => (hip, reach, lateral, Vector3::z()),
        CameraView::HipSuperior => (hip, reach, Vector3::z(), anterior),
    };
    Framing { centre, half_mm, eye_dir, up }
}

/// A surface to draw.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The surface, LPS mm (or in its own frame, moved by `lps_from_mesh`).
    pub mesh: &'a Mesh,
    /// Its colour and opacity.
    pub look: Look,
    /// Where the surface is placed (identity when `None`).
    pub lps_from_mesh: Option<Matrix4<f64>>,
}

/// An RGB picture (sRGB, 8 bits).
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// Row-major RGB, top row first.
    pub rgb: Vec<u8>,
}

impl Picture {
    /// The colour at pixel `(x, y)` (y down from the top).
    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * self.width + x);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Samples per pixel along each axis (2: four samples, as the viewer's 4x multisampling).
const SUPERSAMPLE: usize = 2;
/// Ambient and diffuse light, and the specular highlight (roughness 0.6 looks broad and dim).
const AMBIENT: f32 = 0.38;
const DIFFUSE: f32 = 0.72;
const SPECULAR: f32 = 0.12;
const SHININESS: i32 = 12;
/// Depth (mm) over which a translucent layer's weight falls by e in the blend of layers.
const LAYER_DEPTH_MM: f64 = 25.0;

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

fn linear_to_srgb8(c: f32) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let s = if c <= 0.003_130_8 { 12.92 * c } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 };
    (s * 255.0).round() as u8
}

/// A vertex on the (supersampled) screen: x, y in pixels, z in mm along the view direction
/// (larger is farther), and its normal.
#[derive(Clone, Copy)]
struct ScreenVertex {
    p: [f64; 3],
    n: Vector3<f64>,
}

/// Draws `items` seen through `framing` into a `width` x `height` picture.
pub fn render(items: &[Item<'_>], framing: &Framing, width: usize, height: usize) -> Picture {
    let (w, h) = (width * SUPERSAMPLE, height * SUPERSAMPLE);
    let eye = framing.eye_dir.try_normalize(1e-12).unwrap_or_else(|| -Vector3::y());
    let forward = -eye;
    let up = (framing.up - forward * framing.up.dot(&forward)).try_normalize(1e-12).unwrap_or_else(|| eye.cross(&Vector3::x()).normalize());
    // Facing the patient (forward +y, up +z), the patient's left (+x) is on the right.
    let right = forward.cross(&up);
    let scale = h as f64 / (2.0 * framing.half_mm.max(1e-6));
    let light = (eye + up * 0.3).normalize();
    let half = (light + eye).normalize();
    let n_px = w * h;
    let mut solid_z = vec![f32::INFINITY; n_px];
    let mut solid_rgb = vec![[0.0f32; 3]; n_px];
    // Translucent layers: weighted colour sum and weight (premultiplied by alpha), and the share
    // of what lies behind that shows through (the product of 1 - alpha).
    let mut glass = vec![[0.0f32; 4]; n_px];
    let mut reveal = vec![1.0f32; n_px];

    let shade = |base: [f32; 3], n: Vector3<f64>| -> [f32; 3] {
        let diffuse = n.dot(&light).max(0.0) as f32;
        let spec = (n.dot(&half).max(0.0) as f32).powi(SHININESS);
        base.map(|c| c * (AMBIENT + DIFFUSE * diffuse) + SPECULAR * spec)
    };

    // Solids first (their depth limits the translucent layers), then the translucent layers.
    for pass_translucent in [false, true] {
        for item in items.iter().filter(|i| i.look.is_translucent() == pass_translucent) {
            let moved;
            let mesh = match &item.lps_from_mesh {
                Some(m) => {
                    moved = item.mesh.transformed(m);
                    &moved
                }
                None => item.mesh,
            };
            let normals = mesh.vertex_normals();
            let screen: Vec<ScreenVertex> = mesh
                .vertices()
                .iter()
                .zip(&normals)
                .map(|(p, n)| {
                    let d = p - framing.centre;
                    ScreenVertex { p: [w as f64 / 2.0 + d.dot(&right) * scale, h as f64 / 2.0 - d.dot(&up) * scale, d.dot(&forward)], n: *n }
                })
                .collect();
            let [r, g, b, alpha] = item.look.rgba;
            let base = [r, g, b].map(srgb_to_linear);
            // Translucent layers cover most of the pictures many times over: they are shaded at
            // their vertices (colour and blend weight interpolated, Gouraud); the solids, a small
            // share of the fragments, per pixel.
            let lit: Vec<[f32; 4]> = if pass_translucent {
                screen
                    .iter()
                    .map(|sv| {
                        let n = if sv.n.dot(&eye) < 0.0 { -sv.n } else { sv.n };
                        let [cr, cg, cb] = shade(base, n);
                        let weight = alpha * ((-sv.p[2] / LAYER_DEPTH_MM).clamp(-30.0, 30.0).exp() as f32);
                        [cr * weight, cg * weight, cb * weight, weight]
                    })
                    .collect()
            } else {
                Vec::new()
            };
            for (t, tri) in mesh.triangles().iter().enumerate() {
                let v = tri.map(|i| screen[i as usize]);
                let face = mesh.face_normal_scaled(t).try_normalize(1e-12);
                let Some(face) = face else { continue };
                if pass_translucent {
                    let l = tri.map(|i| lit[i as usize]);
                    raster(&v, w, h, |idx, bary, z| {
                        if z as f32 >= solid_z[idx] {
                            return;
                        }
                        let s = &mut glass[idx];
                        for (k, sk) in s.iter_mut().enumerate() {
                            *sk += bary[0] as f32 * l[0][k] + bary[1] as f32 * l[1][k] + bary[2] as f32 * l[2][k];
                        }
                        reveal[idx] *= 1.0 - alpha;
                    });
                } else {
                    raster(&v, w, h, |idx, bary, z| {
                        let z32 = z as f32;
                        if z32 >= solid_z[idx] {
                            return;
                        }
                        let mut n = (bary[0] * v[0].n + bary[1] * v[1].n + bary[2] * v[2].n).try_normalize(1e-9).unwrap_or(face);
                        // Two-sided: the side facing the eye is lit (bevy's double-sided faces).
                        if n.dot(&eye) < 0.0 {
                            n = -n;
                        }
                        solid_z[idx] = z32;
                        solid_rgb[idx] = shade(base, n);
                    });
                }
            }
        }
    }

    // Composite and average the samples of each pixel (in linear light), then encode sRGB.
    let bg = BACKGROUND.map(srgb_to_linear);
    let mut rgb = Vec::with_capacity(3 * width * height);
    let samples = (SUPERSAMPLE * SUPERSAMPLE) as f32;
    for y in 0..height {
        for x in 0..width {
            let mut sum = [0.0f32; 3];
            for sy in 0..SUPERSAMPLE {
                for sx in 0..SUPERSAMPLE {
                    let idx = (y * SUPERSAMPLE + sy) * w + x * SUPERSAMPLE + sx;
                    let under = if solid_z[idx].is_finite() { solid_rgb[idx] } else { bg };
                    let g = glass[idx];
                    let keep = reveal[idx];
                    for k in 0..3 {
                        let layer = if g[3] > 0.0 { g[k] / g[3] } else { 0.0 };
                        sum[k] += layer * (1.0 - keep) + under[k] * keep;
                    }
                }
            }
            rgb.extend(sum.map(|s| linear_to_srgb8(s / samples)));
        }
    }
    Picture { width, height, rgb }
}

/// Calls `fragment(pixel index, barycentric weights, depth)` for every pixel centre of a `w` x
/// `h` screen covered by the triangle `v`. Edges follow the top-left rule, so that a pixel on the
/// edge two triangles share is drawn once (a translucent surface shows no seams).
fn raster(v: &[ScreenVertex; 3], w: usize, h: usize, mut fragment: impl FnMut(usize, [f64; 3], f64)) {
    let (a, mut b, mut c) = (v[0].p, v[1].p, v[2].p);
    let mut area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    let mut order = [0, 1, 2];
    if area < 0.0 {
        std::mem::swap(&mut b, &mut c);
        order = [0, 2, 1];
        area = -area;
    }
    if area < 1e-12 || !area.is_finite() {
        return;
    }
    let x0 = a[0].min(b[0]).min(c[0]).floor().max(0.0);
    let y0 = a[1].min(b[1]).min(c[1]).floor().max(0.0);
    let x1 = a[0].max(b[0]).max(c[0]).ceil().min(w as f64);
    let y1 = a[1].max(b[1]).max(c[1]).ceil().min(h as f64);
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    // Edge function of p against the edge from p0 to p1 (positive inside, y down, counter-clockwise on screen).
    let edge = |p0: [f64; 3], p1: [f64; 3], x: f64, y: f64| (p1[0] - p0[0]) * (y - p0[1]) - (p1[1] - p0[1]) * (x - p0[0]);
    // Top-left rule: a pixel exactly on an edge belongs to the triangle only for top or left edges.
    let owns = |p0: [f64; 3], p1: [f64; 3]| {
        let (dx, dy) = (p1[0] - p0[0], p1[1] - p0[1]);
        (dy == 0.0 && dx < 0.0) || dy > 0.0
    };
    let edges = [(b, c, owns(b, c)), (c, a, owns(c, a)), (a, b, owns(a, b))];
    for y in (y0 as usize)..(y1 as usize) {
        let py = y as f64 + 0.5;
        for x in (x0 as usize)..(x1 as usize) {
            let px = x as f64 + 0.5;
            let mut bary = [0.0; 3];
            let mut inside = true;
            for (k, (p0, p1, top_left)) in edges.iter().enumerate() {
                let e = edge(*p0, *p1, px, py);
                if e < 0.0 || (e == 0.0 && !top_left) {
                    inside = false;
                    break;
                }
                bary[k] = e / area;
            }
            if !inside {
                continue;
            }
            let z = bary[0] * a[2] + bary[1] * b[2] + bary[2] * c[2];
            let mut weights = [0.0; 3];
            for k in 0..3 {
                weights[order[k]] = bary[k];
            }
            fragment(y * w + x, weights, z);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube(centre: Point3<f64>, half: f64) -> Mesh {
        let h = Vector3::repeat(half);
        Mesh::cuboid(centre - h, centre + h).unwrap()
    }

    fn ap(half_mm: f64) -> Framing {
        Framing { centre: Point3::origin(), half_mm, eye_dir: -Vector3::y(), up: Vector3::z() }
    }

    const RED: Look = Look { rgba: [0.86, 0.12, 0.12, 1.0] };
    const GREY: Look = Look { rgba: [0.5, 0.5, 0.5, 0.45] };

    #[test]
    fn orientation_background_and_translucency() {
        // A red solid cube on the patient's left (+x), a translucent grey one on the right: the
        // AP view puts the patient's left on the picture's right.
        let red = cube(Point3::new(30.0, 0.0, 0.0), 10.0);
        let grey = cube(Point3::new(-30.0, -50.0, 0.0), 10.0);
        let items = [Item { mesh: &red, look: RED, lps_from_mesh: None }, Item { mesh: &grey, look: GREY, lps_from_mesh: None }];
        let pic = render(&items, &ap(50.0), 100, 100);
        let right = pic.at(80, 50);
        assert!(right[0] > 150 && right[1] < 90, "red on the picture's right: {right:?}");
        let left = pic.at(20, 50);
        assert!(left[0] == left[1] && left[0] < 230, "grey on the left: {left:?}");
        assert_eq!(pic.at(50, 5), BACKGROUND.map(|c| linear_to_srgb8(srgb_to_linear(c))));
        // Two layers of a closed translucent box (front and back faces) hide 1 - 0.55² of the
        // background, whatever the triangle order.
        let bg = f64::from(srgb_to_linear(BACKGROUND[0]));
        let seen = f64::from(srgb_to_linear(f32::from(left[0]) / 255.0));
        let grey_lit = seen - bg * 0.55 * 0.55;
        assert!(grey_lit > 0.0 && grey_lit < 0.7 * 0.5, "grey layers {grey_lit}");
        // Glass in front of a solid mixes the two; behind it, it is hidden.
        let front = cube(Point3::new(30.0, -40.0, 0.0), 12.0);
        let items = [Item { mesh: &red, look: RED, lps_from_mesh: None }, Item { mesh: &front, look: GREY, lps_from_mesh: None }];
        let mixed = render(&items, &ap(50.0), 100, 100).at(80, 50);
        assert!(mixed[0] > mixed[1] + 30 && mixed[1] > right[1] + 10, "translucent grey over red: {mixed:?} vs {right:?}");
        let behind = cube(Point3::new(30.0, 40.0, 0.0), 12.0);
        let items = [Item { mesh: &red, look: RED, lps_from_mesh: None }, Item { mesh: &behind, look: GREY, lps_from_mesh: None }];
        assert_eq!(render(&items, &ap(50.0), 100, 100).at(80, 50), right, "a layer behind the solid does not show");
    }

    #[test]
    fn shared_edges_are_drawn_once_and_placement_moves() {
        // A translucent square of two triangles sharing a diagonal: every covered pixel has
        // exactly one layer, so the diagonal shows no seam.
        let sq = Mesh::new(vec![Point3::new(-20.0, 0.0, -20.0), Point3::new(20.0, 0.0, -20.0), Point3::new(20.0, 0.0, 20.0), Point3::new(-20.0, 0.0, 20.0)], vec![[0, 1, 2], [0, 2, 3]]).unwrap();
        let pic = render(&[Item { mesh: &sq, look: GREY, lps_from_mesh: None }], &ap(50.0), 100, 100);
        let on_diagonal = pic.at(50, 50);
        let off = pic.at(40, 60);
        assert_eq!(on_diagonal, off, "one layer everywhere");
        // The same cube moved 30 mm to the patient's left lands on the picture's right.
        let red = cube(Point3::origin(), 10.0);
        let m = Matrix4::new_translation(&Vector3::new(30.0, 0.0, 0.0));
        let pic = render(&[Item { mesh: &red, look: RED, lps_from_mesh: Some(m) }], &ap(50.0), 100, 100);
        assert!(pic.at(80, 50)[1] < 90 && pic.at(50, 50) == pic.at(50, 5));
    }

    #[test]
    fn framing_follows_the_viewer() {
        let b = Some((Point3::new(-100.0, -50.0, -200.0), Point3::new(100.0, 50.0, 100.0)));
        let hip = Point3::new(-60.0, 0.0, 0.0);
        let f = framing(CameraView::PelvisAp, b, Some(hip), None, Side::Right);
        assert_eq!((f.centre, f.half_mm), (Point3::new(0.0, 0.0, -50.0), 0.55 * 300.0));
        let f = framing(CameraView::HipLateral, b, Some(hip), Some(Point3::new(-60.0, 0.0, 80.0)), Side::Right);
        assert_eq!((f.centre, f.half_mm, f.eye_dir), (hip, 100.0, -Vector3::x()));
        assert_eq!(framing(CameraView::HipLateral, b, Some(hip), None, Side::Left).eye_dir, Vector3::x());
        for v in CameraView::ALL {
            assert_eq!(CameraView::parse(v.as_str()), Some(v));
        }
    }
}

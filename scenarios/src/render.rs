//! Pictures of a plan for the report: a small CPU rasteriser (orthographic, z-buffered,
//! Lambert-shaded) that draws the implants opaque and the bones translucent over them, so the
//! cup is seen inside the acetabulum. PNG out. The bevy viewer will take over the report's
//! pictures when it renders headless; until then this needs no GPU and no window.

use coxa_core::Mesh;
use nalgebra::{Point3, Vector3};

/// How a mesh is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layer {
    /// Opaque (implants).
    Solid,
    /// Translucent over solids (bones).
    Translucent,
}

/// A mesh to draw, with its colour (sRGB) and layer.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The surface, LPS mm.
    pub mesh: &'a Mesh,
    /// Colour.
    pub rgb: [u8; 3],
    /// Layer.
    pub layer: Layer,
}

/// A camera looking along `view` (LPS) with `up` on screen, framing `centre` ± `half_mm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Direction the camera looks in (from the eye into the scene), LPS.
    pub view: Vector3<f64>,
    /// Screen up, LPS.
    pub up: Vector3<f64>,
    /// Centre of the picture, LPS mm.
    pub centre: Point3<f64>,
    /// Half the picture's height, mm.
    pub half_mm: f64,
}

impl Camera {
    /// Anterior-posterior view, as a radiograph is read: the eye in front of the patient
    /// looking posteriorly (+y), superior up, the patient's right on the picture's left.
    pub fn anterior(centre: Point3<f64>, half_mm: f64) -> Self {
        Self { view: Vector3::y(), up: Vector3::z(), centre, half_mm }
    }
    /// Lateral view of the `side` hip: the eye lateral of it looking medially, superior up.
    pub fn lateral(side: coxa_core::Side, centre: Point3<f64>, half_mm: f64) -> Self {
        Self { view: Vector3::x() * -side.lateral_sign(), up: Vector3::z(), centre, half_mm }
    }
    /// Superior view (looking down, -z), anterior up.
    pub fn superior(centre: Point3<f64>, half_mm: f64) -> Self {
        Self { view: -Vector3::z(), up: -Vector3::y(), centre, half_mm }
    }
}

/// An RGB picture.
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
    /// PNG bytes.
    ///
    /// # Errors
    /// The encoder's (not expected for an in-memory picture).
    pub fn png(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().map_err(std::io::Error::other)?;
            w.write_image_data(&self.rgb).map_err(std::io::Error::other)?;
        }
        Ok(out)
    }
}

/// Background colour.
pub const BACKGROUND: [u8; 3] = [250, 250, 247];
/// Opacity of the translucent layer.
const BONE_ALPHA: f64 = 0.55;

/// Draws `items` seen by `camera` into a `width` x `height` picture.
pub fn render(items: &[Item<'_>], camera: &Camera, width: usize, height: usize) -> Picture {
    let f = camera.view.normalize();
    let up = (camera.up - f * camera.up.dot(&f)).normalize();
    // Screen right: facing the patient (view +y, up +z) the patient's left (+x) is on the right.
    let right = f.cross(&up);
    let scale = height as f64 / (2.0 * camera.half_mm);
    let (w, h) = (width as f64, height as f64);
    let n = width * height;
    // Nearest solid and nearest translucent fragment per pixel: depth and shaded colour.
    let mut solid = vec![(f64::INFINITY, [0.0f64; 3]); n];
    let mut glass = vec![(f64::INFINITY, [0.0f64; 3]); n];
    let light = (-f + up * 0.6 - right * 0.3).normalize();
    for item in items {
        let buf = match item.layer {
            Layer::Solid => &mut solid,
            Layer::Translucent => &mut glass,
        };
        let v = item.mesh.vertices();
        let proj: Vec<[f64; 3]> = v
            .iter()
            .map(|p| {
                let d = p - camera.centre;
                [w / 2.0 + d.dot(&right) * scale, h / 2.0 - d.dot(&up) * scale, d.dot(&f)]
            })
            .collect();
        let base = item.rgb.map(|c| f64::from(c) / 255.0);
        for t in item.mesh.triangles() {
            let [a, b, c] = t.map(|i| i as usize);
            let normal = (v[b] - v[a]).cross(&(v[c] - v[a]));
            let Some(normal) = normal.try_normalize(1e-12) else { continue };
            // Two-sided lighting: a translucent bone shows its back faces too.
            let lambert = normal.dot(&light).abs();
            let shade = 0.35 + 0.65 * lambert;
            let col = base.map(|x| x * shade);
            let (p0, p1, p2) = (proj[a], proj[b], proj[c]);
            let area = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p1[1] - p0[1]) * (p2[0] - p0[0]);
            if area.abs() < 1e-12 {
                continue;
            }
            let x0 = p0[0].min(p1[0]).min(p2[0]).floor().max(0.0) as usize;
            let x1 = (p0[0].max(p1[0]).max(p2[0]).ceil().max(0.0) as usize).min(width);
            let y0 = p0[1].min(p1[1]).min(p2[1]).floor().max(0.0) as usize;
            let y1 = (p0[1].max(p1[1]).max(p2[1]).ceil().max(0.0) as usize).min(height);
            for y in y0..y1 {
                for x in x0..x1 {
                    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                    let w0 = ((p1[0] - px) * (p2[1] - py) - (p1[1] - py) * (p2[0] - px)) / area;
                    let w1 = ((p2[0] - px) * (p0[1] - py) - (p2[1] - py) * (p0[0] - px)) / area;
                    let w2 = 1.0 - w0 - w1;
                    if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                        continue;
                    }
                    let z = w0 * p0[2] + w1 * p1[2] + w2 * p2[2];
                    let slot = &mut buf[y * width + x];
                    if z < slot.0 {
                        *slot = (z, col);
                    }
                }
            }
        }
    }
    let bg = BACKGROUND.map(|c| f64::from(c) / 255.0);
    let mut rgb = Vec::with_capacity(3 * n);
    for (s, g) in solid.iter().zip(&glass) {
        let under = if s.0.is_finite() { s.1 } else { bg };
        let c = if g.0 < s.0 { [0, 1, 2].map(|k| under[k] * (1.0 - BONE_ALPHA) + g.1[k] * BONE_ALPHA) } else { under };
        rgb.extend(c.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8));
    }
    Picture { width, height, rgb }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube(centre: Point3<f64>, half: f64) -> Mesh {
        let mut v = Vec::new();
        for k in 0..8 {
            v.push(centre + Vector3::new(if k & 1 == 0 { -half } else { half }, if k & 2 == 0 { -half } else { half }, if k & 4 == 0 { -half } else { half }));
        }
        let t = vec![[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6], [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7], [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5]];
        Mesh::new(v, t).unwrap()
    }

    #[test]
    fn solid_behind_glass_and_orientation() {
        // A red solid cube on the patient's left (+x), a translucent grey one in front of
        // everything on the right; AP view puts the patient's left on the picture's right.
        let red = cube(Point3::new(30.0, 0.0, 0.0), 10.0);
        let grey = cube(Point3::new(-30.0, -50.0, 0.0), 10.0);
        let items = [Item { mesh: &red, rgb: [220, 30, 30], layer: Layer::Solid }, Item { mesh: &grey, rgb: [128, 128, 128], layer: Layer::Translucent }];
        let pic = render(&items, &Camera::anterior(Point3::origin(), 50.0), 100, 100);
        let right = pic.at(80, 50);
        assert!(right[0] > 100 && right[1] < 60, "red on the picture's right: {right:?}");
        let left = pic.at(20, 50);
        assert!(left[0] == left[1] && left[0] < 200, "grey on the left: {left:?}");
        assert_eq!(pic.at(50, 5), BACKGROUND);
        // Glass over a solid mixes the two.
        let over = cube(Point3::new(30.0, -40.0, 0.0), 12.0);
        let items = [Item { mesh: &red, rgb: [220, 30, 30], layer: Layer::Solid }, Item { mesh: &over, rgb: [128, 128, 128], layer: Layer::Translucent }];
        let pic = render(&items, &Camera::anterior(Point3::origin(), 50.0), 100, 100);
        let mixed = pic.at(80, 50);
        assert!(mixed[0] > mixed[1] + 20 && mixed[1] > 40, "translucent grey over red: {mixed:?}");
        let png = pic.png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}

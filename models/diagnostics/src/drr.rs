//! Digitally reconstructed radiographs (DRR): a simulated X-ray of a CT with a real projection
//! geometry (a point source, a flat detector, the source-to-image distance, magnification and
//! pixel spacing), implants and a calibration marker added analytically, and the projection of
//! 3D points onto the image.
//!
//! # Physics
//! Each voxel's linear attenuation relative to water is `w = max(0, 1 + HU / 1000)` (HU are
//! defined by water = 0 and air = -1000, so `w` is 1 in water and 0 in air). A pixel holds the
//! line integral of `w` along the ray from the source to the pixel's centre: the water-equivalent
//! path length (WEPL, mm). Beer-Lambert gives the transmitted fraction `exp(-mu_water x WEPL)`
//! ([`MU_WATER_PER_MM`] at about 60 keV, an effective energy of a 120 kVp beam); a radiograph
//! shows `1 - exp(..)` (bone bright). Beam hardening and scatter are not modelled.
//!
//! # Ray sum (Joseph's method)
//! Joseph (IEEE Trans Med Imaging 1982;1:192-196): the ray is sampled where it crosses each
//! plane of voxel centres along the axis it runs most along (in voxel index space), with bilinear
//! interpolation inside the plane; the sum is weighted by the ray length between planes (the
//! end planes by half, the trapezoid rule, plus the part-steps from where the ray enters the grid
//! to the first plane and from the last plane to its exit). A ray that crosses more than half a
//! voxel in-plane per plane (an oblique view) is sampled trilinearly several times per plane, so
//! that every ray integrates the CT's trilinear interpolant. For a fixed ray the in-plane coordinates are linear
//! in the plane index, so a sample costs two multiply-adds and a bilinear lookup. Rays run in
//! tiles of 4 x 64 detector pixels, in parallel over bands of rows (rayon); inside a tile the
//! planes are the outer loop, so the tile's rays read the same few cache lines of a plane
//! together (ray by ray, each ray would pull a megabyte-scale stripe through the cache). Outside the CT the attenuation is 0 (the CT's field of view bounds the
//! patient).
//!
//! # Geometry
//! [`XrayGeometry`] holds the source, the centre of pixel (0, 0), the unit column (`u`) and row
//! (`v`) directions and the pixel size on the detector. [`XrayGeometry::project`] maps an LPS
//! point to continuous pixel coordinates (pixel centres at integers). [`ap_pelvis`] and
//! [`lateral_hip`] build the two views; [`XrayGeometry::magnification_at`] is SID over the
//! source-to-point distance along the central ray.
//!
//! Written here rather than taken from a crate: no Rust crate computes DRRs (ITK's
//! `SiddonJacobsRayCastInterpolateImageFunction` and plastimatch are C++).

use coxa_core::{Side, Volume};
use nalgebra::{Point3, Vector3};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Linear attenuation of water at about 60 keV, per mm.
pub const MU_WATER_PER_MM: f64 = 0.0206;
/// Default source-to-image distance, mm (115 cm, a usual AP pelvis distance).
pub const DEFAULT_SID_MM: f64 = 1150.0;
/// The detector lies this far behind the patient's back (table and grid), mm.
pub const TABLE_GAP_MM: f64 = 60.0;
/// Most pixels a DRR may have.
pub const MAX_PIXELS: usize = 64 * 1024 * 1024;

/// Why a DRR could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrrError {
    /// A geometry parameter is out of range.
    #[error("X-ray geometry: {0}")]
    Geometry(String),
}

/// A point-source, flat-detector projection geometry (LPS mm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XrayGeometry {
    /// The focal spot.
    pub source_lps_mm: Point3<f64>,
    /// Centre of pixel (column 0, row 0).
    pub origin_lps_mm: Point3<f64>,
    /// Unit direction of increasing column.
    pub u: Vector3<f64>,
    /// Unit direction of increasing row.
    pub v: Vector3<f64>,
    /// Pixel size on the detector (imager pixel spacing), mm.
    pub pixel_mm: f64,
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
}

impl XrayGeometry {
    /// A detector of `cols x rows` pixels of `pixel_mm`, perpendicular to the central ray from
    /// `source` through `target`, at `sid_mm` from the source; columns run along `u_hint` (made
    /// perpendicular to the ray), rows along `ray x u`... chosen so that `u x v` is the ray.
    pub fn centred(source: Point3<f64>, target: Point3<f64>, u_hint: Vector3<f64>, sid_mm: f64, cols: usize, rows: usize, pixel_mm: f64) -> Result<Self, DrrError> {
        if !(sid_mm.is_finite() && sid_mm > 100.0 && sid_mm < 5000.0) {
            return Err(DrrError::Geometry(format!("source-to-image distance {sid_mm} mm is outside 100..5000 mm")));
        }
        if !(pixel_mm.is_finite() && pixel_mm > 0.01 && pixel_mm < 10.0) {
            return Err(DrrError::Geometry(format!("pixel size {pixel_mm} mm is outside 0.01..10 mm")));
        }
        if cols == 0 || rows == 0 || cols.saturating_mul(rows) > MAX_PIXELS {
            return Err(DrrError::Geometry(format!("{cols} x {rows} pixels: give 1..{MAX_PIXELS} pixels")));
        }
        let d = (target - source).try_normalize(1e-9).ok_or_else(|| DrrError::Geometry("the target is at the source".into()))?;
        if (target - source).norm() >= sid_mm {
            return Err(DrrError::Geometry("the patient must lie between the source and the detector: increase the source-to-image distance".into()));
        }
        let u = (u_hint - d * u_hint.dot(&d)).try_normalize(1e-9).ok_or_else(|| DrrError::Geometry("the column direction is along the ray".into()))?;
        let v = d.cross(&u);
        let centre = source + d * sid_mm;
        let origin = centre - u * (pixel_mm * (cols as f64 - 1.0) / 2.0) - v * (pixel_mm * (rows as f64 - 1.0) / 2.0);
        Ok(Self { source_lps_mm: source, origin_lps_mm: origin, u, v, pixel_mm, cols, rows })
    }
    /// Unit normal of the detector, from the source towards it (`u x v`).
    pub fn normal(&self) -> Vector3<f64> {
        self.u.cross(&self.v)
    }
    /// Source-to-image distance (to the detector plane), mm.
    pub fn sid_mm(&self) -> f64 {
        (self.origin_lps_mm - self.source_lps_mm).dot(&self.normal())
    }
    /// Magnification of an object at `p`: SID / source-to-object distance along the normal.
    pub fn magnification_at(&self, p: &Point3<f64>) -> f64 {
        self.sid_mm() / (p - self.source_lps_mm).dot(&self.normal())
    }
    /// LPS centre of pixel `(col, row)` (continuous).
    pub fn pixel_lps(&self, col: f64, row: f64) -> Point3<f64> {
        self.origin_lps_mm + self.u * (col * self.pixel_mm) + self.v * (row * self.pixel_mm)
    }
    /// Continuous pixel coordinates `[col, row]` of the projection of `p`; `None` when `p` is
    /// not between the source's plane and beyond (behind the source).
    pub fn project(&self, p: &Point3<f64>) -> Option<[f64; 2]> {
        let nrm = self.normal();
        let den = (p - self.source_lps_mm).dot(&nrm);
        if den <= 1e-9 {
            return None;
        }
        let t = (self.origin_lps_mm - self.source_lps_mm).dot(&nrm) / den;
        let x = self.source_lps_mm + (p - self.source_lps_mm) * t;
        let r = x - self.origin_lps_mm;
        Some([r.dot(&self.u) / self.pixel_mm, r.dot(&self.v) / self.pixel_mm])
    }
    /// Source-to-image distance, source-to-patient distance to `p` and the detector's pixel
    /// spacing, for DICOM (DistanceSourceToDetector, DistanceSourceToPatient, ImagerPixelSpacing).
    pub fn distances_mm(&self, p: &Point3<f64>) -> (f64, f64) {
        (self.sid_mm(), (p - self.source_lps_mm).dot(&self.normal()))
    }
}

/// The views coxa simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Anteroposterior pelvis, patient supine: source anterior, detector under the table.
    ApPelvis,
    /// Cross-table lateral of one hip.
    LateralHip,
}

/// An AP pelvis: the patient supine, the beam from anterior (-y) to posterior through `centre`,
/// perpendicular to `coronal` (`x` = patient left, `z` = superior: the CT's axes for a supine
/// table radiograph, or the pelvic frame's to align with the anterior pelvic plane). Columns run
/// to the patient's left (the patient's right on the viewer's left, as radiographs are read),
/// rows inferior. The detector lies [`TABLE_GAP_MM`] behind `back_y_mm` (the posterior-most LPS
/// y of the patient), the source `sid_mm` in front of it.
#[expect(clippy::too_many_arguments, reason = "the view's plain geometry: centre, axes, table, distance, detector")]
pub fn ap_pelvis(centre: Point3<f64>, x_axis: Vector3<f64>, z_axis: Vector3<f64>, back_y_mm: f64, sid_mm: f64, cols: usize, rows: usize, pixel_mm: f64) -> Result<XrayGeometry, DrrError> {
    let x = x_axis.try_normalize(1e-9).ok_or_else(|| DrrError::Geometry("zero x axis".into()))?;
    let y = z_axis.cross(&x).try_normalize(1e-9).ok_or_else(|| DrrError::Geometry("x and z axes are parallel".into()))?; // posterior
    // Distance from the centre back to the detector plane along +y.
    let to_detector = (back_y_mm - centre.y).max(0.0) / y.y.abs().max(0.5) + TABLE_GAP_MM;
    let source = centre - y * (sid_mm - to_detector);
    XrayGeometry::centred(source, centre, x, sid_mm, cols, rows, pixel_mm)
}

/// The beam direction of [`lateral_hip`] for `side`.
pub fn lateral_hip_direction(side: Side) -> Vector3<f64> {
    (Vector3::new(side.lateral_sign(), 0.0, 0.0) + Vector3::z()).normalize()
}

/// A cross-table lateral of the `side` hip: the beam horizontal (in the LPS x-z plane), from the
/// other side's thigh towards the operated hip's lateral-superior side at 45 deg to the body's
/// long axis (Johnson's cross-table lateral), the detector `beyond_mm` beyond the hip centre
/// `hip` (outside the patient: rays end at the detector). Rows run posterior (anterior at the
/// top).
pub fn lateral_hip(hip: Point3<f64>, side: Side, beyond_mm: f64, sid_mm: f64, cols: usize, rows: usize, pixel_mm: f64) -> Result<XrayGeometry, DrrError> {
    let d = lateral_hip_direction(side);
    let source = hip + d * beyond_mm - d * sid_mm;
    // v (rows) = posterior; u = v x d.
    let v = Vector3::y();
    let u = v.cross(&d);
    XrayGeometry::centred(source, hip, u, sid_mm, cols, rows, pixel_mm)
}

/// A CT prepared for projection: relative attenuation `w` per voxel and the grid's mapping.
#[derive(Debug, Clone)]
pub struct DrrVolume {
    w: Vec<f32>,
    size: [usize; 3],
    voxel_from_lps: nalgebra::Matrix4<f64>,
    lps_from_voxel: nalgebra::Matrix4<f64>,
}

impl DrrVolume {
    /// `w = max(0, 1 + HU / 1000)` of every voxel (in parallel).
    pub fn new(ct: &Volume) -> Self {
        let hu = ct.hu();
        let w: Vec<f32> = match hu.as_slice() {
            Some(s) => s.par_iter().map(|&h| (1.0 + h / 1000.0).max(0.0)).collect(),
            None => hu.iter().map(|&h| (1.0 + h / 1000.0).max(0.0)).collect(),
        };
        Self { w, size: ct.grid().size(), voxel_from_lps: ct.grid().voxel_from_lps(), lps_from_voxel: ct.grid().lps_from_voxel() }
    }
    /// LPS bounds of the voxel centres: (min, max) corners of the box.
    pub fn bounds_lps(&self) -> (Point3<f64>, Point3<f64>) {
        let mut lo = Vector3::repeat(f64::INFINITY);
        let mut hi = Vector3::repeat(f64::NEG_INFINITY);
        for c in 0..8usize {
            let ijk = Vector3::new(
                if c & 1 == 1 { (self.size[0] - 1) as f64 } else { 0.0 },
                if c & 2 == 2 { (self.size[1] - 1) as f64 } else { 0.0 },
                if c & 4 == 4 { (self.size[2] - 1) as f64 } else { 0.0 },
            );
            let p = self.lps_from_voxel.transform_point(&Point3::from(ijk));
            lo = lo.inf(&p.coords);
            hi = hi.sup(&p.coords);
        }
        (Point3::from(lo), Point3::from(hi))
    }

    /// The line integrals (WEPL, mm) of every pixel of `g`, indexed `[row, col]`.
    pub fn project(&self, g: &XrayGeometry) -> Array2<f32> {
        let (cols, rows) = (g.cols, g.rows);
        let m = &self.voxel_from_lps;
        let to_vox = |p: &Point3<f64>| m.transform_point(p).coords;
        let s = to_vox(&g.source_lps_mm);
        // The dominant axis: the one the central ray crosses most planes of.
        let centre = g.pixel_lps((cols as f64 - 1.0) / 2.0, (rows as f64 - 1.0) / 2.0);
        let dc = to_vox(&centre) - s;
        let ax = (0..3).max_by(|&a, &b| dc[a].abs().total_cmp(&dc[b].abs())).unwrap_or(2);
        let (ra, ca) = match ax {
            0 => (2, 1),
            1 => (2, 0),
            _ => (1, 0),
        };
        let strides = [1usize, self.size[0], self.size[0] * self.size[1]];
        let (nm, nr, nc) = (self.size[ax], self.size[ra], self.size[ca]);
        let (sm, sr, sc) = (strides[ax], strides[ra], strides[ca]);
        let w = &self.w;
        let mut out = vec![0f32; cols * rows];
        // Tiles of TILE_ROWS x TILE_COLS rays, planes outermost: the rays of a tile sample the
        // same few cache lines of a plane together, then move on.
        const TILE_ROWS: usize = 4;
        const TILE_COLS: usize = 64;
        let (rmax, cmax) = ((nr.max(2) - 2) as f32, (nc.max(2) - 2) as f32);
        let (rtop, ctop) = ((nr - 1) as f32, (nc - 1) as f32);
        // Bilinear value in plane `q` at in-plane coordinates (r, c).
        let bilinear = |q: usize, r: f32, c: f32| -> f32 {
            let (r, c) = (r.clamp(0.0, rtop), c.clamp(0.0, ctop));
            let (rf, cf) = (r.floor().min(rmax), c.floor().min(cmax));
            let (fr, fc) = (r - rf, c - cf);
            let base = q * sm + rf as usize * sr + cf as usize * sc;
            let (a, b) = (w[base], w[base + sc]);
            let (cc, dd) = (w[base + sr], w[base + sr + sc]);
            let top = a + (b - a) * fc;
            let bot = cc + (dd - cc) * fc;
            top + (bot - top) * fr
        };
        /// One ray: in-plane coordinates r0 + q dr, c0 + q dc; planes lo..hi (fractional).
        struct Ray {
            r0: f64,
            dr: f64,
            c0: f64,
            dc: f64,
            lo: f64,
            hi: f64,
            step_mm: f64,
        }
        out.par_chunks_mut(cols * TILE_ROWS).enumerate().for_each(|(band, chunk)| {
            let row0 = band * TILE_ROWS;
            let band_rows = chunk.len() / cols;
            for col0 in (0..cols).step_by(TILE_COLS) {
                let tile_cols = TILE_COLS.min(cols - col0);
                // The tile's rays (None: misses the grid).
                let mut rays: Vec<Option<Ray>> = Vec::with_capacity(band_rows * tile_cols);
                for dr_ in 0..band_rows {
                    for dc_ in 0..tile_cols {
                        let p = g.pixel_lps((col0 + dc_) as f64, (row0 + dr_) as f64);
                        let pv = to_vox(&p);
                        let d = pv - s;
                        if d[ax].abs() < 1e-9 {
                            rays.push(None);
                            continue;
                        }
                        let dr = d[ra] / d[ax];
                        let dc = d[ca] / d[ax];
                        let r0 = s[ra] - s[ax] * dr;
                        let c0 = s[ca] - s[ax] * dc;
                        let step_mm = (p - g.source_lps_mm).norm() / d[ax].abs();
                        // Planes where the ray is inside the grid, between source and detector.
                        let (mut lo, mut hi) = (0.0f64, (nm - 1) as f64);
                        for (x0, dx, n) in [(r0, dr, nr), (c0, dc, nc)] {
                            let top = (n - 1) as f64;
                            if dx.abs() < 1e-12 {
                                if !(0.0..=top).contains(&x0) {
                                    lo = 1.0;
                                    hi = 0.0;
                                }
                            } else {
                                let (a, b) = ((0.0 - x0) / dx, (top - x0) / dx);
                                lo = lo.max(a.min(b));
                                hi = hi.min(a.max(b));
                            }
                        }
                        lo = lo.max(s[ax].min(pv[ax]));
                        hi = hi.min(s[ax].max(pv[ax]));
                        rays.push((lo <= hi).then_some(Ray { r0, dr, c0, dc, lo, hi, step_mm }));
                    }
                }
                // Trilinear value of a ray at a fractional plane position.
                let at = |ray: &Ray, qf: f64| -> f32 {
                    let q = (qf.floor().max(0.0) as usize).min(nm.saturating_sub(2));
                    let a = (qf - q as f64).clamp(0.0, 1.0) as f32;
                    let (r, c) = ((ray.r0 + qf * ray.dr) as f32, (ray.c0 + qf * ray.dc) as f32);
                    let v0 = bilinear(q, r, c);
                    if nm < 2 { v0 } else { v0 + (bilinear(q + 1, r, c) - v0) * a }
                };
                let mut sums = vec![0f32; rays.len()];
                // Rays steeper than 1:2 to the planes: trilinear samples, 4 per voxel crossed,
                // so that they integrate the same trilinear interpolant.
                let steep = |r: &Ray| r.dr.abs().max(r.dc.abs()) > 0.5;
                for (ray, sum) in rays.iter().zip(sums.iter_mut()) {
                    if let Some(ray) = ray.as_ref().filter(|r| steep(r)) {
                        let n_sub = (4.0 * ray.dr.abs().max(ray.dc.abs())).ceil();
                        let n = ((ray.hi - ray.lo) * n_sub).ceil().max(1.0) as usize;
                        let h = (ray.hi - ray.lo) / n as f64;
                        let mut acc = 0.5 * (at(ray, ray.lo) + at(ray, ray.hi));
                        for k in 1..n {
                            acc += at(ray, ray.lo + k as f64 * h);
                        }
                        *sum = (f64::from(acc) * h * ray.step_mm) as f32;
                    }
                }
                // The others: Joseph's samples on whole planes, planes outermost.
                let planes: Vec<(usize, usize, f32, f32, f32, f32)> = rays
                    .iter()
                    .map(|r| match r.as_ref().filter(|r| !steep(r)) {
                        Some(r) => (r.lo.ceil() as usize, (r.hi.floor() as usize).min(nm - 1), r.r0 as f32, r.dr as f32, r.c0 as f32, r.dc as f32),
                        None => (1, 0, 0.0, 0.0, 0.0, 0.0),
                    })
                    .collect();
                let q_first = planes.iter().filter(|p| p.0 <= p.1).map(|p| p.0).min();
                let q_last = planes.iter().filter(|p| p.0 <= p.1).map(|p| p.1).max();
                if let (Some(qa), Some(qb)) = (q_first, q_last) {
                    let mut acc = vec![0f32; rays.len()];
                    for q in qa..=qb {
                        let qf = q as f32;
                        let plane = &w[q * sm..];
                        for (a, &(q0, q1, r0, dr, c0, dc)) in acc.iter_mut().zip(&planes) {
                            if q >= q0 && q <= q1 {
                                // Inside the grid by construction (q0..=q1): no clamping but
                                // against rounding at the edges.
                                let (r, c) = ((r0 + qf * dr).max(0.0), (c0 + qf * dc).max(0.0));
                                let (rf, cf) = (r.floor().min(rmax), c.floor().min(cmax));
                                let (fr, fc) = (r - rf, c - cf);
                                let base = rf as usize * sr + cf as usize * sc;
                                let (p00, p01, p10, p11) = (plane[base], plane[base + sc], plane[base + sr], plane[base + sr + sc]);
                                let top = p00 + (p01 - p00) * fc;
                                let bot = p10 + (p11 - p10) * fc;
                                *a += top + (bot - top) * fr;
                            }
                        }
                    }
                    for ((sum, a), (ray, &(q0, q1, r0, dr, c0, dc))) in sums.iter_mut().zip(acc).zip(rays.iter().zip(&planes)) {
                        let Some(ray) = ray.as_ref().filter(|r| !steep(r)) else { continue };
                        if q0 > q1 {
                            continue;
                        }
                        let sample = |q: usize| bilinear(q, r0 + q as f32 * dr, c0 + q as f32 * dc);
                        // Trapezoid rule between planes, and the part-steps from the entry to
                        // the first plane and from the last plane to the exit.
                        let (f0, f1) = (sample(q0), sample(q1));
                        let mut t = a - 0.5 * (f0 + f1);
                        t += 0.5 * (q0 as f64 - ray.lo) as f32 * (at(ray, ray.lo) + f0);
                        t += 0.5 * (ray.hi - q1 as f64) as f32 * (f1 + at(ray, ray.hi));
                        *sum = t * ray.step_mm as f32;
                    }
                }
                for dr_ in 0..band_rows {
                    chunk[dr_ * cols + col0..dr_ * cols + col0 + tile_cols].copy_from_slice(&sums[dr_ * tile_cols..(dr_ + 1) * tile_cols]);
                }
            }
        });
        Array2::from_shape_vec((rows, cols), out).unwrap_or_else(|_| Array2::zeros((rows, cols)))
    }
}

/// A solid the implants and the marker are made of, with its attenuation relative to water.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Solid {
    /// A ball.
    Sphere {
        /// Centre, LPS mm.
        centre: Point3<f64>,
        /// Radius, mm.
        radius_mm: f64,
    },
    /// A hemispherical shell: between two spheres about `centre`, on the side of `-axis`
    /// (the cup's dome; `axis` is the cup's opening direction).
    HemiShell {
        /// Centre, LPS mm.
        centre: Point3<f64>,
        /// Unit opening axis.
        axis: Vector3<f64>,
        /// Outer radius, mm.
        outer_mm: f64,
        /// Inner radius, mm.
        inner_mm: f64,
    },
    /// A cylinder with flat ends from `a` to `b`.
    Rod {
        /// One end, LPS mm.
        a: Point3<f64>,
        /// The other end.
        b: Point3<f64>,
        /// Radius, mm.
        radius_mm: f64,
    },
}

/// Ray-sphere entry and exit parameters (ray `o + t d`, `d` unit).
fn sphere_interval(o: &Point3<f64>, d: &Vector3<f64>, c: &Point3<f64>, r: f64) -> Option<(f64, f64)> {
    let oc = o - c;
    let b = oc.dot(d);
    let disc = b * b - (oc.norm_squared() - r * r);
    (disc > 0.0).then(|| (-b - disc.sqrt(), -b + disc.sqrt()))
}

/// Length of the part of an interval on the half-space `(x - c) . n <= 0`.
fn clip_half(o: &Point3<f64>, d: &Vector3<f64>, c: &Point3<f64>, n: &Vector3<f64>, (t0, t1): (f64, f64)) -> f64 {
    let f0 = (o - c).dot(n);
    let fd = d.dot(n);
    let (mut a, mut b) = (t0, t1);
    if fd.abs() < 1e-12 {
        return if f0 <= 0.0 { t1 - t0 } else { 0.0 };
    }
    let tc = -f0 / fd;
    if fd > 0.0 {
        b = b.min(tc);
    } else {
        a = a.max(tc);
    }
    (b - a).max(0.0)
}

impl Solid {
    /// Chord length of the ray `o + t d` (`d` unit) through the solid, mm.
    pub fn chord_mm(&self, o: &Point3<f64>, d: &Vector3<f64>) -> f64 {
        match self {
            Solid::Sphere { centre, radius_mm } => sphere_interval(o, d, centre, *radius_mm).map_or(0.0, |(a, b)| b - a),
            Solid::HemiShell { centre, axis, outer_mm, inner_mm } => {
                let outer = sphere_interval(o, d, centre, *outer_mm).map_or(0.0, |i| clip_half(o, d, centre, axis, i));
                let inner = sphere_interval(o, d, centre, *inner_mm).map_or(0.0, |i| clip_half(o, d, centre, axis, i));
                (outer - inner).max(0.0)
            }
            Solid::Rod { a, b, radius_mm } => {
                let axis = b - a;
                let len = axis.norm();
                if len < 1e-9 {
                    return 0.0;
                }
                let e = axis / len;
                // Infinite cylinder interval, then the slab 0 <= (x - a) . e <= len.
                let (dp, op) = (d - e * d.dot(&e), (o - a) - e * (o - a).dot(&e));
                let qa = dp.norm_squared();
                let (mut t0, mut t1) = if qa < 1e-12 {
                    if op.norm() > *radius_mm {
                        return 0.0;
                    }
                    (f64::NEG_INFINITY, f64::INFINITY)
                } else {
                    let qb = op.dot(&dp);
                    let disc = qb * qb - qa * (op.norm_squared() - radius_mm * radius_mm);
                    if disc <= 0.0 {
                        return 0.0;
                    }
                    ((-qb - disc.sqrt()) / qa, (-qb + disc.sqrt()) / qa)
                };
                let (f0, fd) = ((o - a).dot(&e), d.dot(&e));
                if fd.abs() < 1e-12 {
                    if !(0.0..=len).contains(&f0) {
                        return 0.0;
                    }
                } else {
                    let (sa, sb) = (-f0 / fd, (len - f0) / fd);
                    t0 = t0.max(sa.min(sb));
                    t1 = t1.min(sa.max(sb));
                }
                (t1 - t0).max(0.0)
            }
        }
    }
}

/// Adds `w_rel x chord` of each solid to the line integrals `img` (`[row, col]` of `g`).
pub fn add_solids(img: &mut Array2<f32>, g: &XrayGeometry, solids: &[(Solid, f64)]) {
    let cols = g.cols;
    if let Some(s) = img.as_slice_mut() {
        s.par_chunks_mut(cols).enumerate().for_each(|(row, line)| {
            for (col, px) in line.iter_mut().enumerate() {
                let p = g.pixel_lps(col as f64, row as f64);
                let Some(d) = (p - g.source_lps_mm).try_normalize(1e-12) else { continue };
                let add: f64 = solids.iter().map(|(s, w)| w * s.chord_mm(&g.source_lps_mm, &d)).sum();
                *px += add as f32;
            }
        });
    }
}

/// The points of a circle (centre, unit normal, radius), `n` of them.
pub fn circle_points(centre: &Point3<f64>, normal: &Vector3<f64>, radius_mm: f64, n: usize) -> Vec<Point3<f64>> {
    let a = if normal.x.abs() < 0.9 { Vector3::x() } else { Vector3::y() };
    let e1 = normal.cross(&a).normalize();
    let e2 = normal.cross(&e1);
    (0..n).map(|k| std::f64::consts::TAU * k as f64 / n as f64).map(|t| centre + (e1 * t.cos() + e2 * t.sin()) * radius_mm).collect()
}

/// The longest chord of a set of 2D points (the major axis of a projected circle): its two ends.
pub fn longest_chord(pts: &[[f64; 2]]) -> Option<([f64; 2], [f64; 2])> {
    let mut best: Option<(f64, [f64; 2], [f64; 2])> = None;
    for (i, a) in pts.iter().enumerate() {
        for b in &pts[i + 1..] {
            let d = (a[0] - b[0]).hypot(a[1] - b[1]);
            if best.is_none_or(|(bd, _, _)| d > bd) {
                best = Some((d, *a, *b));
            }
        }
    }
    best.map(|(_, a, b)| (a, b))
}

/// The angle (deg, 0..90) between the line `a`-`b` and the line `c`-`d`.
pub fn angle_between_lines_deg(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> f64 {
    let (u, v) = ([b[0] - a[0], b[1] - a[1]], [d[0] - c[0], d[1] - c[1]]);
    let cos = (u[0] * v[0] + u[1] * v[1]).abs() / (u[0].hypot(u[1]) * v[0].hypot(v[1]));
    cos.clamp(0.0, 1.0).acos().to_degrees()
}

/// The radius of a ball of known attenuation measured on a DRR: in a window of `half` pixels
/// around `centre_px`, the pixels whose value exceeds the window border's median by more than
/// half the peak excess (a ball's chord is at least half its largest within `sqrt(3)/2` of its
/// radius) give the area `pi (sqrt(3)/2 r)²`. Returns the radius in pixels.
pub fn measure_ball_radius_px(img: &Array2<f32>, centre_px: [f64; 2], half: usize) -> Option<f64> {
    let (rows, cols) = img.dim();
    let (c0, r0) = (centre_px[0].round() as i64, centre_px[1].round() as i64);
    let h = half as i64;
    if c0 - h < 0 || r0 - h < 0 || c0 + h >= cols as i64 || r0 + h >= rows as i64 {
        return None;
    }
    let mut border = Vec::new();
    let mut peak = f32::NEG_INFINITY;
    for r in r0 - h..=r0 + h {
        for c in c0 - h..=c0 + h {
            let v = img[[r as usize, c as usize]];
            if r == r0 - h || r == r0 + h || c == c0 - h || c == c0 + h {
                border.push(v);
            }
            peak = peak.max(v);
        }
    }
    border.sort_by(f32::total_cmp);
    let base = border[border.len() / 2];
    let thr = base + 0.5 * (peak - base);
    let n = (r0 - h..=r0 + h).flat_map(|r| (c0 - h..=c0 + h).map(move |c| (r, c))).filter(|&(r, c)| img[[r as usize, c as usize]] > thr).count();
    Some((n as f64 / std::f64::consts::PI).sqrt() / (3f64.sqrt() / 2.0))
}

/// 8-bit display of line integrals: the water-equivalent path (the log of the transmitted
/// intensity, as film density shows it) windowed between the 2nd and 98th percentile of the
/// pixels the patient covers (metal saturates white), bone bright.
pub fn to_display(img: &Array2<f32>) -> Array2<u8> {
    let mut vals: Vec<f32> = img.iter().copied().filter(|&v| v > 1.0).collect();
    vals.sort_by(f32::total_cmp);
    let (lo, hi) = if vals.is_empty() { (0.0, 1.0) } else { (vals[vals.len() * 2 / 100], vals[(vals.len() * 98 / 100).min(vals.len() - 1)]) };
    let span = (hi - lo).max(1e-6);
    img.mapv(|v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// The synthetic CT of the DRR benchmark and timing example: `ni x nj x nk` voxels of 0.8 x 0.8
/// x 1 mm, an elliptic body (40 HU, 340 x 240 mm) with two bone rods (900 HU) in air.
pub fn benchmark_ct(ni: usize, nj: usize, nk: usize) -> Volume {
    let sp = Vector3::new(0.8, 0.8, 1.0);
    let origin = Vector3::new(-(ni as f64 - 1.0) * 0.4, -(nj as f64 - 1.0) * 0.4, -(nk as f64) / 2.0);
    let grid = coxa_core::Grid::axis_aligned([ni, nj, nk], sp, origin).unwrap_or_else(|_| unreachable!("positive spacing and size"));
    let hu = ndarray::Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
        let (x, y) = (origin.x + i as f64 * sp.x, origin.y + j as f64 * sp.y);
        let r = ((x / 170.0).powi(2) + (y / 120.0).powi(2)).sqrt();
        let bone = ((x.abs() - 90.0).powi(2) + (y - 10.0).powi(2)).sqrt() < 20.0 + (k % 7) as f64;
        if bone {
            900.0
        } else if r < 1.0 {
            40.0
        } else {
            -1000.0
        }
    });
    Volume::new(grid, hu).unwrap_or_else(|_| unreachable!("the array has the grid's shape"))
}

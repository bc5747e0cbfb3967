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
//! in the plane index, so a sample costs two multiply-adds and a bilinear lookup.
//!
//! The first two casts sum the same samples in the same order (bit for bit, tested):
//! - **Plane by plane**, when the detector is parallel to the CT's planes with its columns
//!   along the CT's rows (the AP view of a CT in its own axes, `coxa xray`'s default): every
//!   plane then maps onto the detector by a scale and a shift per axis, so a ray's in-plane row
//!   depends only on its detector row and its column only on its detector column. The bilinear
//!   samples of a plane separate: first along the plane's rows at every detector column, then
//!   between two of those lines at every detector row, in contiguous loops. In parallel over
//!   bands of 32 detector rows (rayon).
//! - **Through a virtual detector** for the other views (a lateral hip, an AP tilted to a
//!   pelvic frame; issue 42): the rays are cast plane by plane to a detector parallel to the
//!   planes, then the real image is warped from it, rays the warp cannot interpolate safely
//!   integrated directly (`caster/oblique.rs`, shear-warp). Not bit for bit the tile-by-tile sums: within
//!   1 % of them and within 0.3 % of the same rays cast one by one (tested), at about the
//!   plane-by-plane cast's speed: a lateral view's sagittal planes are copied 32 at a time into
//!   contiguous lines (`caster/planes.rs`), and rays sampled twice per plane step take a fixed
//!   combination of a few lines per detector row (`caster/steep.rs`).
//! - **Tile by tile** otherwise (a steep cone, a source inside the volume's slab): rays in
//!   tiles of 4 x 64 detector pixels, in parallel over bands of rows; inside a tile the planes
//!   are the outer loop, so the tile's rays read the same few cache lines of a plane together
//!   (ray by ray, each ray would pull a megabyte-scale stripe through the cache).
//!
//! Outside the CT the attenuation is 0 (the CT's field of view bounds the patient). A CT with a
//! single voxel along any axis is refused: there is no plane pair to interpolate between.
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

use coxa_core::{Side, Volume, Voxels};
use nalgebra::{Point3, Vector3};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod caster;
mod solids;
#[cfg(test)]
mod tests;

use caster::{Caster, oblique};
pub use solids::{Solid, add_solids, angle_between_lines_deg, circle_points, longest_chord, measure_ball_radius_px, to_display};

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
    /// The CT is a single voxel thick along an axis: no plane pair to interpolate between.
    #[error("the CT is {} x {} x {} voxels; a radiograph needs a volume at least 2 voxels along every axis", .0[0], .0[1], .0[2])]
    TooThin([usize; 3]),
    /// The CT holds NaN or infinite voxels: no attenuation to integrate.
    #[error("the CT has {} voxels that are not numbers ({nan} NaN, {infinite} infinite); replace them (e.g. with -1024, air) first", nan + infinite)]
    NonFinite {
        /// NaN voxels.
        nan: usize,
        /// Infinite voxels.
        infinite: usize,
    },
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
    w: Weights,
    size: [usize; 3],
    voxel_from_lps: nalgebra::Matrix4<f64>,
    lps_from_voxel: nalgebra::Matrix4<f64>,
}

/// The attenuation weights: made from an `f32` CT in place, or read from an `i16` CT's HU
/// sample by sample (no 4-byte copy of a 2-byte CT: 1 GB against 0.5 GB at 512 x 512 x 1000).
#[derive(Debug, Clone)]
enum Weights {
    Made(Vec<f32>),
    Hu(Vec<i16>, Box<HuWeights>),
}

/// The weight of every `i16` HU, indexed by its bits as `u16` (256 KB): a table lookup per
/// sample instead of a division, with the bits of [`weight`].
type HuWeights = [f32; 65536];

fn hu_weights() -> Box<HuWeights> {
    let mut t = Box::new([0f32; 65536]);
    for (b, w) in t.iter_mut().enumerate() {
        *w = weight(f32::from(b as u16 as i16));
    }
    t
}

/// A voxel value the rays sample: a weight, or an `i16` HU turned into its weight
/// `max(0, 1 + HU / 1000)` by the table of [`hu_weights`], so both give the same bits.
trait Sample: Copy + Send + Sync {
    fn w(self, table: &HuWeights) -> f32;
}
impl Sample for f32 {
    #[inline(always)]
    fn w(self, _: &HuWeights) -> f32 {
        self
    }
}
impl Sample for i16 {
    #[inline(always)]
    fn w(self, table: &HuWeights) -> f32 {
        table[usize::from(self as u16)]
    }
}

/// The table [`Sample::w`] ignores for `f32` weights.
static EMPTY_TABLE: HuWeights = [0.0; 65536];

/// `max(0, 1 + HU / 1000)`.
#[inline(always)]
fn weight(hu: f32) -> f32 {
    (1.0 + hu / 1000.0).max(0.0)
}

impl DrrVolume {
    /// `w = max(0, 1 + HU / 1000)` of every voxel (in parallel); a CT one voxel thick along any
    /// axis is refused ([`DrrError::TooThin`]).
    pub fn new(ct: &Volume) -> Result<Self, DrrError> {
        Self::from_volume(ct.clone())
    }
    /// As [`DrrVolume::new`], consuming the CT: an `f32` array becomes the weights in place, an
    /// `i16` one is kept and its weights computed per sample, so a large CT is not held twice
    /// (a 512 x 512 x 1000 CT is 1 GB as `f32`, 0.5 GB as `i16`).
    pub fn from_volume(ct: Volume) -> Result<Self, DrrError> {
        let size = ct.grid().size();
        if size.iter().any(|&n| n < 2) {
            return Err(DrrError::TooThin(size));
        }
        let (nan, infinite) = ct.non_finite_counts();
        if nan + infinite > 0 {
            return Err(DrrError::NonFinite { nan, infinite });
        }
        let (voxel_from_lps, lps_from_voxel) = (ct.grid().voxel_from_lps(), ct.grid().lps_from_voxel());
        let n: usize = size.iter().product();
        let w = match ct.into_voxels().1 {
            Voxels::I16(hu) => Weights::Hu(standard_vec(hu, n), hu_weights()),
            Voxels::F32(hu) => {
                let mut w = standard_vec(hu, n);
                w.par_iter_mut().for_each(|h| *h = weight(*h));
                Weights::Made(w)
            }
        };
        Ok(Self { w, size, voxel_from_lps, lps_from_voxel })
    }
    /// Calls `f` with the index `[i, j, k]` of every voxel whose weight is above `w_min`
    /// (`1 + HU / 1000`: 0.7 is -300 HU, the body's outline).
    pub fn for_each_voxel_above(&self, w_min: f32, mut f: impl FnMut([usize; 3])) {
        fn each<T: Sample>(w: &[T], table: &HuWeights, size: [usize; 3], w_min: f32, f: &mut impl FnMut([usize; 3])) {
            let [ni, nj, _] = size;
            for (v, &w) in w.iter().enumerate() {
                if w.w(table) > w_min {
                    f([v % ni, (v / ni) % nj, v / (ni * nj)]);
                }
            }
        }
        match &self.w {
            Weights::Made(w) => each(w, &EMPTY_TABLE, self.size, w_min, &mut f),
            Weights::Hu(w, t) => each(w, t, self.size, w_min, &mut f),
        }
    }
    /// The LPS position of voxel `[i, j, k]`, mm.
    pub fn voxel_to_lps(&self, ijk: [usize; 3]) -> Point3<f64> {
        self.lps_from_voxel.transform_point(&Point3::new(ijk[0] as f64, ijk[1] as f64, ijk[2] as f64))
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
    ///
    /// A detector parallel to the CT's planes with its columns along the CT's rows (the AP view
    /// of a CT in its own axes, the default) is cast plane by plane ([`Caster::parallel`]); any
    /// other geometry tile by tile ([`Caster::tiled`]). Both sum the same samples in the same
    /// order.
    pub fn project(&self, g: &XrayGeometry) -> Array2<f32> {
        let (cols, rows) = (g.cols, g.rows);
        let mut out = vec![0f32; cols * rows];
        fn cast<T: Sample>(caster: Caster<'_, T>, out: &mut [f32]) {
            match caster.parallel_axes() {
                Some(axes) => caster.parallel(&axes, out),
                None if oblique::cast(&caster, out) => {}
                None => caster.tiled(out),
            }
        }
        match &self.w {
            Weights::Made(w) => cast(Caster::new(self, w, &EMPTY_TABLE, g), &mut out),
            Weights::Hu(w, t) => cast(Caster::new(self, w, t, g), &mut out),
        }
        Array2::from_shape_vec((rows, cols), out).unwrap_or_else(|_| Array2::zeros((rows, cols)))
    }
}

/// The array's elements in `[k, j, i]` order as a vector of `n`, without a copy when the
/// array owns exactly them in that order (coxa's readers make such arrays).
fn standard_vec<T: Clone>(a: ndarray::Array3<T>, n: usize) -> Vec<T> {
    let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
    let (mut w, offset) = a.into_raw_vec_and_offset();
    if offset.unwrap_or(0) != 0 || w.len() != n {
        // An array that does not own exactly its elements from the start: its elements in order.
        let start = offset.unwrap_or(0);
        w = w[start..start + n].to_vec();
    }
    w
}

/// `x.floor()` for `0 <= x < 2^24` (voxel indices), by truncation: the same value, without the
/// call to `floorf` that the baseline x86-64 target (no SSE4.1 `roundss`) makes for `floor`.
#[inline]
fn floor_nonneg(x: f32) -> f32 {
    (x as u32) as f32
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

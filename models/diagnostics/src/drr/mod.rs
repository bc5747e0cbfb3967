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
//!   integrated directly ([`oblique`], shear-warp). Not bit for bit the tile-by-tile sums: within
//!   1 % of them and within 0.3 % of the same rays cast one by one (tested), at about the
//!   plane-by-plane cast's speed: a lateral view's sagittal planes are copied 32 at a time into
//!   contiguous lines ([`planes`]), and rays sampled twice per plane step take a fixed
//!   combination of a few lines per detector row ([`steep`]).
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

mod oblique;
mod planes;
mod steep;

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

/// One ray in voxel space: in-plane coordinates `r0 + q dr`, `c0 + q dc` at plane `q` of the
/// dominant axis; inside the grid and between source and detector for planes `lo..=hi`
/// (fractional); `step_mm` is the ray's length per plane.
struct Ray {
    r0: f64,
    dr: f64,
    c0: f64,
    dc: f64,
    lo: f64,
    hi: f64,
    step_mm: f64,
}

impl Ray {
    /// Steeper than 1:2 to the planes: sampled trilinearly several times per plane.
    fn steep(&self) -> bool {
        self.dr.abs().max(self.dc.abs()) > 0.5
    }
    /// The whole planes the ray samples, `q0..=q1` (empty when `q0 > q1`).
    fn planes(&self, nm: usize) -> (usize, usize) {
        (self.lo.ceil() as usize, (self.hi.floor() as usize).min(nm - 1))
    }
}

/// The per-row and per-column ray coefficients of a detector parallel to the planes (the real
/// one, or the virtual one of an oblique view).
struct ParallelAxes {
    /// Per row: `(r0, dr)`.
    rows: Vec<(f64, f64)>,
    /// Per column: `(c0, dc)`.
    cols: Vec<(f64, f64)>,
    /// Where the rays end.
    ends: Ends,
    /// Samples per plane step: 1 (Joseph's, on whole planes), or more for rays steeper than
    /// half a voxel per plane along the rows (`m - 1` trilinear samples between planes, the
    /// columns taken at the planes' own positions: the rows' slope is the steep one).
    m: usize,
    /// Per row, the columns `lo..hi` whose rays are needed (a virtual detector's rows need
    /// only what the real detector's pixels land near); `None`: all.
    needed: Option<Vec<(usize, usize)>>,
}

/// Where the rays of a plane-by-plane cast end.
enum Ends {
    /// At the detector's pixels: every ray between the source and the detector, planes `lo..=hi`.
    Detector {
        /// `(lo, hi)`.
        between: (f64, f64),
    },
    /// At the pixels of a virtual detector in a plane of the volume ([`oblique`]); each ray
    /// stops where it meets the real detector's plane.
    Virtual(oblique::Virtual),
}

/// The ray sum of one volume in one geometry (Joseph's method, see the module docs). The grid
/// has at least 2 voxels along every axis ([`DrrVolume::new`] refuses others).
struct Caster<'a, T: Sample> {
    w: &'a [T],
    /// The weights of `i16` samples (unused for `f32` weights).
    table: &'a HuWeights,
    g: &'a XrayGeometry,
    voxel_from_lps: &'a nalgebra::Matrix4<f64>,
    lps_from_voxel: &'a nalgebra::Matrix4<f64>,
    /// The source in voxel indices.
    s: Vector3<f64>,
    /// The dominant axis (planes), the in-plane row and column axes.
    ax: usize,
    ra: usize,
    ca: usize,
    /// Sizes and strides along them.
    nm: usize,
    nr: usize,
    nc: usize,
    sm: usize,
    sr: usize,
    sc: usize,
    /// Largest lower corner index of a bilinear cell, and the last index, per in-plane axis.
    rmax: f32,
    cmax: f32,
    rtop: f32,
    ctop: f32,
}

impl<'a, T: Sample> Caster<'a, T> {
    fn new(vol: &'a DrrVolume, w: &'a [T], table: &'a HuWeights, g: &'a XrayGeometry) -> Self {
        let m = &vol.voxel_from_lps;
        let s = m.transform_point(&g.source_lps_mm).coords;
        // The dominant axis: the one the central ray crosses most planes of.
        let centre = g.pixel_lps((g.cols as f64 - 1.0) / 2.0, (g.rows as f64 - 1.0) / 2.0);
        let dc = m.transform_point(&centre).coords - s;
        let ax = (0..3).max_by(|&a, &b| dc[a].abs().total_cmp(&dc[b].abs())).unwrap_or(2);
        let (ra, ca) = match ax {
            0 => (2, 1),
            1 => (2, 0),
            _ => (1, 0),
        };
        let strides = [1usize, vol.size[0], vol.size[0] * vol.size[1]];
        let (nm, nr, nc) = (vol.size[ax], vol.size[ra], vol.size[ca]);
        Self {
            w,
            table,
            g,
            voxel_from_lps: m,
            lps_from_voxel: &vol.lps_from_voxel,
            s,
            ax,
            ra,
            ca,
            nm,
            nr,
            nc,
            sm: strides[ax],
            sr: strides[ra],
            sc: strides[ca],
            rmax: (nr - 2) as f32,
            cmax: (nc - 2) as f32,
            rtop: (nr - 1) as f32,
            ctop: (nc - 1) as f32,
        }
    }

    fn to_vox(&self, p: &Point3<f64>) -> Vector3<f64> {
        self.voxel_from_lps.transform_point(p).coords
    }

    /// The in-plane coefficients `(r0, dr, c0, dc)` of the ray to pixel `(col, row)`, the
    /// pixel in voxel indices and in LPS; `None` when the ray runs within the source's plane.
    fn coefficients(&self, col: usize, row: usize) -> Option<([f64; 4], Vector3<f64>, Point3<f64>)> {
        let p = self.g.pixel_lps(col as f64, row as f64);
        let pv = self.to_vox(&p);
        let d = pv - self.s;
        if d[self.ax].abs() < 1e-9 {
            return None;
        }
        let dr = d[self.ra] / d[self.ax];
        let dc = d[self.ca] / d[self.ax];
        Some(([self.s[self.ra] - self.s[self.ax] * dr, dr, self.s[self.ca] - self.s[self.ax] * dc, dc], pv, p))
    }

    /// Planes `(lo, hi)` where in-plane coordinate `x0 + q dx` lies within `0..=n-1`.
    fn inside(x0: f64, dx: f64, n: usize) -> (f64, f64) {
        let top = (n - 1) as f64;
        if dx.abs() < 1e-12 {
            if (0.0..=top).contains(&x0) { (f64::NEG_INFINITY, f64::INFINITY) } else { (1.0, 0.0) }
        } else {
            let (a, b) = ((0.0 - x0) / dx, (top - x0) / dx);
            (a.min(b), a.max(b))
        }
    }

    /// The ray to pixel `(col, row)`; `None` when it misses the grid.
    fn ray(&self, col: usize, row: usize) -> Option<Ray> {
        let ([r0, dr, c0, dc], pv, p) = self.coefficients(col, row)?;
        let pv = pv[self.ax];
        let step_mm = (p - self.g.source_lps_mm).norm() / (pv - self.s[self.ax]).abs();
        // Planes where the ray is inside the grid, between source and detector.
        let (mut lo, mut hi) = (0.0f64, (self.nm - 1) as f64);
        for (a, b) in [Self::inside(r0, dr, self.nr), Self::inside(c0, dc, self.nc)] {
            lo = lo.max(a);
            hi = hi.min(b);
        }
        lo = lo.max(self.s[self.ax].min(pv));
        hi = hi.min(self.s[self.ax].max(pv));
        (lo <= hi).then_some(Ray { r0, dr, c0, dc, lo, hi, step_mm })
    }

    /// Bilinear value in plane `q` at in-plane coordinates (r, c).
    fn bilinear(&self, q: usize, r: f32, c: f32) -> f32 {
        let w = self.w;
        let (r, c) = (r.clamp(0.0, self.rtop), c.clamp(0.0, self.ctop));
        let (rf, cf) = (floor_nonneg(r).min(self.rmax), floor_nonneg(c).min(self.cmax));
        let (fr, fc) = (r - rf, c - cf);
        let base = q * self.sm + rf as usize * self.sr + cf as usize * self.sc;
        let t = self.table;
        let (a, b) = (w[base].w(t), w[base + self.sc].w(t));
        let (cc, dd) = (w[base + self.sr].w(t), w[base + self.sr + self.sc].w(t));
        let top = a + (b - a) * fc;
        let bot = cc + (dd - cc) * fc;
        top + (bot - top) * fr
    }

    /// Trilinear value of a ray at a fractional plane position.
    fn at(&self, ray: &Ray, qf: f64) -> f32 {
        let q = (qf.max(0.0) as usize).min(self.nm - 2);
        let a = (qf - q as f64).clamp(0.0, 1.0) as f32;
        let (r, c) = ((ray.r0 + qf * ray.dr) as f32, (ray.c0 + qf * ray.dc) as f32);
        let v0 = self.bilinear(q, r, c);
        v0 + (self.bilinear(q + 1, r, c) - v0) * a
    }

    /// A steep ray's integral: trilinear samples, 4 per voxel crossed, so that it integrates
    /// the same trilinear interpolant.
    fn steep_sum(&self, ray: &Ray) -> f32 {
        let n_sub = (4.0 * ray.dr.abs().max(ray.dc.abs())).ceil();
        let n = ((ray.hi - ray.lo) * n_sub).ceil().max(1.0) as usize;
        let h = (ray.hi - ray.lo) / n as f64;
        let mut acc = 0.5 * (self.at(ray, ray.lo) + self.at(ray, ray.hi));
        for k in 1..n {
            acc += self.at(ray, ray.lo + k as f64 * h);
        }
        (f64::from(acc) * h * ray.step_mm) as f32
    }

    /// A ray's integral from `a`, the sum of its bilinear samples on the whole planes
    /// `q0..=q1`: the trapezoid rule between planes, and the part-steps from the entry to the
    /// first plane and from the last plane to the exit. 0 when it crosses no whole plane.
    fn finish(&self, ray: &Ray, a: f32) -> f32 {
        self.finish_m(ray, a, 1)
    }

    /// [`Caster::finish`] for `a` summed over `m` samples per plane step (the whole planes and
    /// `m - 1` between each pair): the trapezoid rule of step `1 / m`.
    fn finish_m(&self, ray: &Ray, a: f32, m: usize) -> f32 {
        let (q0, q1) = ray.planes(self.nm);
        if q0 > q1 {
            return 0.0;
        }
        let (r0, dr, c0, dc) = (ray.r0 as f32, ray.dr as f32, ray.c0 as f32, ray.dc as f32);
        let sample = |q: usize| self.bilinear(q, r0 + q as f32 * dr, c0 + q as f32 * dc);
        let (f0, f1) = (sample(q0), sample(q1));
        let m = m as f32;
        let mut t = a / m - 0.5 * (f0 + f1) / m;
        // The part-steps, where the ray does not enter or leave on a whole plane (a lateral
        // view's rays mostly do: a sample fewer to look up).
        if (q0 as f64) > ray.lo {
            t += 0.5 * (q0 as f64 - ray.lo) as f32 * (self.at(ray, ray.lo) + f0);
        }
        if ray.hi > q1 as f64 {
            t += 0.5 * (ray.hi - q1 as f64) as f32 * (f1 + self.at(ray, ray.hi));
        }
        t * ray.step_mm as f32
    }

    /// Any geometry: tiles of `TILE_ROWS x TILE_COLS` rays, in parallel over bands of rows,
    /// planes outermost inside a tile: the tile's rays sample the same few cache lines of a
    /// plane together, then move on.
    fn tiled(&self, out: &mut [f32]) {
        const TILE_ROWS: usize = 4;
        const TILE_COLS: usize = 64;
        let (cols, w) = (self.g.cols, self.w);
        out.par_chunks_mut(cols * TILE_ROWS).enumerate().for_each(|(band, chunk)| {
            let row0 = band * TILE_ROWS;
            let band_rows = chunk.len() / cols;
            for col0 in (0..cols).step_by(TILE_COLS) {
                let tile_cols = TILE_COLS.min(cols - col0);
                let rays: Vec<Option<Ray>> = (0..band_rows).flat_map(|dr_| (0..tile_cols).map(move |dc_| (col0 + dc_, row0 + dr_))).map(|(c, r)| self.ray(c, r)).collect();
                let mut sums: Vec<f32> = rays.iter().map(|r| r.as_ref().filter(|r| r.steep()).map_or(0.0, |r| self.steep_sum(r))).collect();
                // The others: Joseph's samples on whole planes, planes outermost.
                let planes: Vec<(usize, usize, f32, f32, f32, f32)> = rays
                    .iter()
                    .map(|r| match r.as_ref().filter(|r| !r.steep()) {
                        Some(r) => {
                            let (q0, q1) = r.planes(self.nm);
                            (q0, q1, r.r0 as f32, r.dr as f32, r.c0 as f32, r.dc as f32)
                        }
                        None => (1, 0, 0.0, 0.0, 0.0, 0.0),
                    })
                    .collect();
                let q_first = planes.iter().filter(|p| p.0 <= p.1).map(|p| p.0).min();
                let q_last = planes.iter().filter(|p| p.0 <= p.1).map(|p| p.1).max();
                if let (Some(qa), Some(qb)) = (q_first, q_last) {
                    let mut acc = vec![0f32; rays.len()];
                    for q in qa..=qb {
                        let qf = q as f32;
                        let plane = &w[q * self.sm..];
                        for (a, &(q0, q1, r0, dr, c0, dc)) in acc.iter_mut().zip(&planes) {
                            if q >= q0 && q <= q1 {
                                // Inside the grid by construction (q0..=q1): no clamping but
                                // against rounding at the edges.
                                let (r, c) = ((r0 + qf * dr).max(0.0), (c0 + qf * dc).max(0.0));
                                let (rf, cf) = (floor_nonneg(r).min(self.rmax), floor_nonneg(c).min(self.cmax));
                                let (fr, fc) = (r - rf, c - cf);
                                let base = rf as usize * self.sr + cf as usize * self.sc;
                                let t = self.table;
                                let (p00, p01, p10, p11) = (plane[base].w(t), plane[base + self.sc].w(t), plane[base + self.sr].w(t), plane[base + self.sr + self.sc].w(t));
                                let top = p00 + (p01 - p00) * fc;
                                let bot = p10 + (p11 - p10) * fc;
                                *a += top + (bot - top) * fr;
                            }
                        }
                    }
                    for ((sum, a), ray) in sums.iter_mut().zip(acc).zip(&rays) {
                        if let Some(ray) = ray.as_ref().filter(|r| !r.steep()) {
                            *sum = self.finish(ray, a);
                        }
                    }
                }
                for dr_ in 0..band_rows {
                    chunk[dr_ * cols + col0..dr_ * cols + col0 + tile_cols].copy_from_slice(&sums[dr_ * tile_cols..(dr_ + 1) * tile_cols]);
                }
            }
        });
    }

    /// The per-row and per-column coefficients when the detector is parallel to the planes,
    /// its columns along the contiguous in-plane axis and its rows along the other, and no ray
    /// is steep; `None` otherwise. Parallel means the detector's directions have no component
    /// (beyond 1e-9 voxel per pixel) along the axes they must not move along.
    fn parallel_axes(&self) -> Option<ParallelAxes> {
        if self.sc != 1 {
            return None;
        }
        let m = self.voxel_from_lps;
        let (u, v) = (m.transform_vector(&(self.g.u * self.g.pixel_mm)), m.transform_vector(&(self.g.v * self.g.pixel_mm)));
        let tol = 1e-9;
        if u[self.ax].abs() > tol || u[self.ra].abs() > tol || v[self.ax].abs() > tol || v[self.ca].abs() > tol {
            return None;
        }
        let rows: Option<Vec<(f64, f64)>> = (0..self.g.rows).map(|r| self.coefficients(0, r).map(|(k, ..)| (k[0], k[1]))).collect();
        let cols: Option<Vec<(f64, f64)>> = (0..self.g.cols).map(|c| self.coefficients(c, 0).map(|(k, ..)| (k[2], k[3]))).collect();
        let (rows, cols) = (rows?, cols?);
        if rows.iter().chain(&cols).any(|&(_, d)| d.abs() > 0.5) {
            return None;
        }
        let pv = self.to_vox(&self.g.origin_lps_mm)[self.ax];
        let between = (self.s[self.ax].min(pv), self.s[self.ax].max(pv));
        Some(ParallelAxes { rows, cols, ends: Ends::Detector { between }, m: 1, needed: None })
    }

    /// The planes `(lo, hi)` between the source and the end of the ray to pixel `(col, row)`
    /// and the ray's length per plane, mm.
    fn ray_end(&self, ends: &Ends, col: usize, row: usize) -> ((f64, f64), f64) {
        let (p, between) = match ends {
            Ends::Detector { between } => (self.g.pixel_lps(col as f64, row as f64), *between),
            Ends::Virtual(v) => v.ray_end(self, col, row),
        };
        let d = self.to_vox(&p)[self.ax] - self.s[self.ax];
        (between, (p - self.g.source_lps_mm).norm() / d.abs())
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

#[cfg(test)]
mod tests {
    use super::*;
    use coxa_core::Grid;
    use nalgebra::Matrix3;
    use rand::{Rng, SeedableRng};

    /// A small CT of random attenuation on a grid flipped like a RAS NIfTI (LPS directions
    /// diag(-1, -1, 1)), with anisotropic voxels.
    fn random_ct() -> Volume {
        let (ni, nj, nk) = (47usize, 39usize, 33usize);
        let grid = Grid::new([ni, nj, nk], Vector3::new(1.7, 1.9, 2.5), Vector3::new(40.0, 37.0, -41.0), Matrix3::from_diagonal(&Vector3::new(-1.0, -1.0, 1.0))).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let hu = ndarray::Array3::from_shape_fn((nk, nj, ni), |_| rng.random_range(-1000.0f32..2000.0));
        Volume::new(grid, hu).unwrap()
    }

    /// Issue 45: NaN or infinite voxels (a float image made by a caller; the readers refuse such
    /// files) are refused by count, never integrated into a radiograph; and so are they by
    /// radiomics, whose GLCM indexed out of bounds on NaN, and by the density calibration.
    #[test]
    fn issue_45_non_finite_voxels_are_refused_by_count() {
        let mut ct = random_ct();
        ct.hu_mut()[[3, 4, 5]] = f32::NAN;
        ct.hu_mut()[[6, 7, 8]] = f32::INFINITY;
        ct.hu_mut()[[6, 7, 9]] = f32::NEG_INFINITY;
        assert_eq!(ct.non_finite_counts(), (1, 2));
        let e = DrrVolume::new(&ct).unwrap_err();
        assert_eq!(e.to_string(), "the CT has 3 voxels that are not numbers (1 NaN, 2 infinite); replace them (e.g. with -1024, air) first");
        let labels = ndarray::Array3::from_shape_fn(ct.hu().raw_dim(), |(k, j, i)| u16::from((2..9).contains(&k) && (2..9).contains(&j) && (2..9).contains(&i)));
        let mask = coxa_core::LabelMap::new(ct.grid().clone(), labels, coxa_core::ClassTable::new()).unwrap();
        let mut params = crate::Params::default();
        params.settings.label = 1;
        let e = crate::extract(&ct, &mask, &params).unwrap_err();
        assert!(matches!(e, crate::Error::NonFiniteImage { nan: 1, infinite: 2 }), "{e}");
        let e = crate::density::sample_tissues(&ct, None, None, &crate::density::CalibrationSettings::default()).unwrap_err();
        assert!(matches!(e, crate::density::DensityError::NonFinite { nan: 1, infinite: 2 }), "{e}");
        // Finite but no CT's: values spanning 2e38 asked for 8e36 gray levels, an allocation that
        // aborted the process (found by fuzz_float_image); now refused before allocating.
        ct.hu_mut()[[3, 4, 5]] = 0.0;
        ct.hu_mut()[[6, 7, 9]] = 0.0;
        ct.hu_mut()[[6, 7, 8]] = 1e38;
        ct.hu_mut()[[6, 7, 7]] = -1e38;
        let e = crate::extract(&ct, &mask, &params).unwrap_err();
        assert!(matches!(e, crate::Error::TooLarge { .. }) && e.to_string().contains("gray levels (the ROI's values span -1.000e38 to 1.000e38)"), "{e}");
    }

    #[test]
    fn weights_made_in_place_equal_the_copied_ones() {
        let ct = random_ct();
        // The weights by their formula, voxel by voxel in [k, j, i] order.
        let formula: Vec<f32> = ct.hu().iter().map(|&h| (1.0 + h / 1000.0).max(0.0)).collect();
        let copied = DrrVolume::new(&ct).unwrap();
        // The same CT in column-major memory: not the readers' layout, the weights keep the order.
        let fortran = {
            let mut a = ndarray::Array3::<f32>::zeros(ndarray::ShapeBuilder::f(ct.hu().raw_dim()));
            a.assign(&*ct.hu());
            DrrVolume::from_volume(Volume::new(ct.grid().clone(), a).unwrap()).unwrap()
        };
        let mut body = Vec::new();
        for ((k, j, i), &h) in ct.hu().indexed_iter() {
            if h > -299.5 && (i + j * 47 + k * 47 * 39) % 3 == 0 {
                body.push(ct.grid().voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)));
            }
        }
        let in_place = DrrVolume::from_volume(ct).unwrap();
        let (copied_w, in_place_w, fortran_w) = (weights(&copied), weights(&in_place), weights(&fortran));
        assert!(copied_w.iter().zip(&in_place_w).all(|(a, b)| a.to_bits() == b.to_bits()) && copied_w.len() == in_place_w.len());
        assert!(formula.iter().zip(&in_place_w).all(|(a, b)| a.to_bits() == b.to_bits()) && formula.len() == in_place_w.len());
        assert!(formula.iter().zip(&fortran_w).all(|(a, b)| a.to_bits() == b.to_bits()) && formula.len() == fortran_w.len());
        assert_eq!((in_place.size, in_place.lps_from_voxel), (copied.size, copied.lps_from_voxel));
        let mut seen = Vec::new();
        in_place.for_each_voxel_above(0.7005, |[i, j, k]| {
            if (i + j * 47 + k * 47 * 39) % 3 == 0 {
                seen.push(in_place.voxel_to_lps([i, j, k]));
            }
        });
        assert_eq!(seen.len(), body.len());
        assert!(seen.iter().zip(&body).all(|(a, b)| (a - b).norm() < 1e-9));
    }

    /// Both casts of every pixel, the plane-by-plane one only where the geometry allows it.
    fn both(vol: &DrrVolume, g: &XrayGeometry) -> (Option<Vec<f32>>, Vec<f32>) {
        match &vol.w {
            Weights::Made(w) => both_with(vol, w, &EMPTY_TABLE, g),
            Weights::Hu(w, t) => both_with(vol, w, t, g),
        }
    }

    fn both_with<T: Sample>(vol: &DrrVolume, w: &[T], t: &HuWeights, g: &XrayGeometry) -> (Option<Vec<f32>>, Vec<f32>) {
        let caster = Caster::new(vol, w, t, g);
        let mut tiled = vec![0f32; g.cols * g.rows];
        caster.tiled(&mut tiled);
        let parallel = caster.parallel_axes().map(|axes| {
            let mut out = vec![0f32; g.cols * g.rows];
            caster.parallel(&axes, &mut out);
            out
        });
        (parallel, tiled)
    }

    /// The plane-by-plane cast of a detector parallel to the planes sums the same samples in
    /// the same order as the tiled one: the same values, bit for bit, including rays that
    /// enter or leave through the grid's sides (a detector wider than the CT's shadow, off
    /// centre) and band and tile edges (sizes that are not multiples of 32 or 64).
    #[test]
    fn parallel_cast_equals_the_tiled_cast() {
        let vol = DrrVolume::new(&random_ct()).unwrap();
        for (centre, cols, rows, pixel) in [(Point3::new(0.0, 0.0, 0.0), 150, 131, 0.9), (Point3::new(-23.0, 5.0, 17.0), 203, 77, 0.55), (Point3::new(5.0, -3.0, -2.0), 64, 420, 0.3)] {
            let g = ap_pelvis(centre, Vector3::x(), Vector3::z(), 40.0, 700.0, cols, rows, pixel).unwrap();
            let (parallel, tiled) = both(&vol, &g);
            let parallel = parallel.expect("an AP view in the CT's axes is parallel to its planes");
            let hit = tiled.iter().filter(|&&v| v > 0.0).count();
            assert!(hit > cols * rows / 4 && hit < cols * rows, "{hit} of {} rays hit: the edges are not exercised", cols * rows);
            let differ = parallel.iter().zip(&tiled).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
            assert_eq!(differ, 0, "{differ} of {} pixels differ", tiled.len());
        }
    }

    /// Every weight, whatever the storage.
    fn weights(v: &DrrVolume) -> Vec<f32> {
        match &v.w {
            Weights::Made(w) => w.clone(),
            Weights::Hu(h, t) => h.iter().map(|&h| h.w(t)).collect(),
        }
    }

    /// Issue 17: an integer CT kept as `i16` is cast from its HU sample by sample (no `f32`
    /// weights) and gives the same pictures, bit for bit, as the same CT in `f32`, in the
    /// parallel and the tiled casts, and the same body outline.
    #[test]
    fn an_i16_ct_projects_as_its_f32_copy() {
        let f = random_ct();
        let ints = f.hu().mapv(|v| v.round() as i16);
        let (as_f32, as_i16) = (Volume::new(f.grid().clone(), ints.mapv(f32::from)).unwrap(), Volume::from_i16(f.grid().clone(), ints).unwrap());
        let (a, b) = (DrrVolume::from_volume(as_f32).unwrap(), DrrVolume::from_volume(as_i16).unwrap());
        assert!(matches!((&a.w, &b.w), (Weights::Made(_), Weights::Hu(..))));
        assert!(weights(&a).iter().zip(&weights(&b)).all(|(x, y)| x.to_bits() == y.to_bits()));
        let ap = ap_pelvis(Point3::new(-23.0, 5.0, 17.0), Vector3::x(), Vector3::z(), 40.0, 700.0, 203, 77, 0.55).unwrap();
        let lateral = lateral_hip(Point3::origin(), Side::Right, 100.0, 700.0, 100, 100, 0.8).unwrap();
        for g in [ap, lateral] {
            let (pa, ta) = both(&a, &g);
            let (pb, tb) = both(&b, &g);
            assert!(ta.iter().filter(|&&v| v > 0.0).count() > 100);
            assert!(ta.iter().zip(&tb).all(|(x, y)| x.to_bits() == y.to_bits()));
            assert_eq!(pa.is_some(), pb.is_some());
            if let (Some(pa), Some(pb)) = (pa, pb) {
                assert!(pa.iter().zip(&pb).all(|(x, y)| x.to_bits() == y.to_bits()));
            }
            assert_eq!(a.project(&g), b.project(&g));
        }
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        a.for_each_voxel_above(0.7005, |ijk| sa.push(ijk));
        b.for_each_voxel_above(0.7005, |ijk| sb.push(ijk));
        assert!(!sa.is_empty() && sa == sb);
    }

    /// A phantom with smooth and sharp structures: a water ellipsoid (partial volume at its
    /// skin) holding two bone balls and a bone rod, in air, on a flipped anisotropic grid.
    pub(super) fn phantom_ct() -> Volume {
        let (ni, nj, nk) = (90usize, 70usize, 60usize);
        let grid = Grid::new([ni, nj, nk], Vector3::new(1.1, 1.3, 1.7), Vector3::new(49.0, 45.0, -50.0), Matrix3::from_diagonal(&Vector3::new(-1.0, -1.0, 1.0))).unwrap();
        let hu = ndarray::Array3::from_shape_fn((nk, nj, ni), |(k, j, i)| {
            let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
            let body = ((p.x / 42.0).powi(2) + (p.y / 34.0).powi(2) + (p.z / 44.0).powi(2)).sqrt();
            let skin = (1.0 - (body - 1.0) * 20.0).clamp(0.0, 1.0) as f32;
            let bone = [Point3::new(-15.0, 3.0, 8.0), Point3::new(17.0, -6.0, -12.0)].iter().any(|c| (p - c).norm() < 9.0) || (p.x.hypot(p.y + 10.0) < 4.0 && p.z.abs() < 30.0);
            if bone { 1200.0 } else { -1000.0 + 1040.0 * skin }
        });
        Volume::new(grid, hu).unwrap()
    }

    /// The oblique cast of `g` (through its virtual detector), if the geometry allows it.
    fn oblique_of(vol: &DrrVolume, g: &XrayGeometry) -> Option<Vec<f32>> {
        let Weights::Made(w) = &vol.w else { unreachable!("f32 phantoms") };
        let mut out = vec![0f32; g.cols * g.rows];
        oblique::cast(&Caster::new(vol, w, &EMPTY_TABLE, g), &mut out).then_some(out)
    }

    /// The line integral of the CT's trilinear interpolant (0 outside the grid) from the source
    /// to pixel `(col, row)`, sampled every 0.02 mm (the trapezoid rule): the reference the casts
    /// approximate, as the numpy peer of `tests/drr.rs` computes it.
    fn brute_force(vol: &DrrVolume, w: &[f32], g: &XrayGeometry, col: usize, row: usize) -> f64 {
        let [ni, nj, nk] = vol.size;
        let at = |i: usize, j: usize, k: usize| f64::from(w[(k * nj + j) * ni + i]);
        let trilinear = |p: Vector3<f64>| -> f64 {
            let top = [(ni - 1) as f64, (nj - 1) as f64, (nk - 1) as f64];
            if (0..3).any(|a| p[a] < 0.0 || p[a] > top[a]) {
                return 0.0;
            }
            let f = p.map(|x| x.floor());
            let (i, j, k) = ((f.x as usize).min(ni - 2), (f.y as usize).min(nj - 2), (f.z as usize).min(nk - 2));
            let (u, v, t) = (p.x - i as f64, p.y - j as f64, p.z - k as f64);
            let plane = |k: usize| (at(i, j, k) * (1.0 - u) + at(i + 1, j, k) * u) * (1.0 - v) + (at(i, j + 1, k) * (1.0 - u) + at(i + 1, j + 1, k) * u) * v;
            plane(k) * (1.0 - t) + plane(k + 1) * t
        };
        let (a, b) = (g.source_lps_mm, g.pixel_lps(col as f64, row as f64));
        let len = (b - a).norm();
        let n = (len / 0.02).ceil() as usize;
        let mut sum = 0.0;
        for s in 0..=n {
            let p = vol.voxel_from_lps.transform_point(&(a + (b - a) * (s as f64 / n as f64))).coords;
            sum += trilinear(p) * if s == 0 || s == n { 0.5 } else { 1.0 };
        }
        sum * len / n as f64
    }

    /// Issue 42: a tilted AP and lateral views (the beam's dominant axis along the CT's rows:
    /// its planes are sagittal, its columns strided) are cast through a virtual detector. Against
    /// the exact line integral of the CT's trilinear interpolant, on every 5th ray through more
    /// than 20 mm of water equivalent, they are within 1 % (the numpy peer's bound in
    /// `tests/drr.rs`), as the tile-by-tile cast is; the detector cutting through the CT stops
    /// the rays there too. `project` takes this cast; a steep cone keeps the tiled cast.
    #[test]
    fn oblique_views_equal_the_tiled_cast() {
        let vol = DrrVolume::new(&phantom_ct()).unwrap();
        let tilt = nalgebra::Rotation3::from_axis_angle(&Vector3::z_axis(), 0.14) * nalgebra::Rotation3::from_axis_angle(&Vector3::x_axis(), 0.1);
        let tilted = ap_pelvis(Point3::new(3.0, 0.0, -2.0), tilt * Vector3::x(), tilt * Vector3::z(), 40.0, 700.0, 160, 150, 0.7).unwrap();
        let lateral = lateral_hip(Point3::new(-10.0, 0.0, 5.0), Side::Right, 100.0, 700.0, 150, 140, 0.8).unwrap();
        let left = lateral_hip(Point3::new(12.0, 4.0, 0.0), Side::Left, 100.0, 900.0, 131, 97, 1.1).unwrap();
        // The detector 20 mm beyond the centre: inside the body.
        let cut = lateral_hip(Point3::origin(), Side::Right, 20.0, 700.0, 120, 120, 0.8).unwrap();
        let w = weights(&vol);
        for (name, g) in [("tilted", tilted), ("lateral", lateral), ("left lateral", left), ("cut", cut)] {
            let (parallel, tiled) = both(&vol, &g);
            assert!(parallel.is_none(), "{name}");
            let oblique = oblique_of(&vol, &g).unwrap_or_else(|| panic!("{name}: cast obliquely"));
            assert_eq!(vol.project(&g).as_slice().unwrap(), oblique.as_slice(), "{name}: project casts obliquely");
            let (mut n, mut worst, mut worst_tiled) = (0usize, 0.0f64, 0.0f64);
            for k in (0..g.cols * g.rows).step_by(5) {
                let exact = brute_force(&vol, &w, &g, k % g.cols, k / g.cols);
                if exact > 20.0 {
                    n += 1;
                    worst = worst.max((f64::from(oblique[k]) - exact).abs() / exact);
                    worst_tiled = worst_tiled.max((f64::from(tiled[k]) - exact).abs() / exact);
                }
            }
            eprintln!("{name}: {n} rays, worst relative difference to the exact integral {worst:.2e} (the tiled cast: {worst_tiled:.2e})");
            assert!(n > g.cols * g.rows / 25, "{name}: {n} rays through the body");
            assert!(worst < 0.01, "{name}: worst relative difference {worst}");
        }
        let steep = ap_pelvis(Point3::origin(), Vector3::x(), Vector3::z(), 40.0, 150.0, 400, 400, 0.8).unwrap();
        assert!(oblique_of(&vol, &steep).is_none(), "a steep cone is cast tile by tile");
        let (_, tiled) = both(&vol, &steep);
        assert_eq!(vol.project(&steep).as_slice().unwrap(), tiled.as_slice());
    }
}

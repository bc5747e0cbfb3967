//! The options of [`segment_bones`](super::segment_bones): thresholds, sizes and the working
//! grid, with their defaults and checks.

use super::{SegmentError, WORKING_VOXEL_MM};

/// Options of [`segment_bones`](super::segment_bones). Build with [`SegmentOptions::new`] and the `with_*` setters;
/// the module docs give the order the steps run in.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentOptions {
    /// Lowest HU counted as bone. Default 150.
    pub bone_threshold_hu: f32,
    /// Lowest HU counted as metal (reported, and kept with the bone around it). Default 2500.
    pub metal_threshold_hu: f32,
    /// Largest hole in a slice (axial, coronal or sagittal) of one bone that is filled as
    /// marrow, mm². Default 1500: a femoral neck's or an acetabulum's marrow, not the pelvic
    /// inlet or an obturator foramen.
    pub max_hole_area_mm2: f64,
    /// Range of femoral head radii, mm. Default (17, 32), adult heads (40-60 mm across); set it
    /// lower for children.
    pub head_radius_range_mm: (f64, f64),
    /// Radius of the per-bone closing after the split (fills partial-volume gaps in the cortex),
    /// mm; at least one voxel. Default 3.
    pub closing_radius_mm: f64,
    /// Whether to compute [`BoneSegmentation::boundary_distance_mm`](super::BoneSegmentation::boundary_distance_mm). Default false.
    pub uncertainty: bool,
    /// Most working memory the segmentation may take, bytes (issue 16): the bone's bounding box
    /// times [`SEGMENT_BYTES_PER_VOXEL`](super::SEGMENT_BYTES_PER_VOXEL) is checked against it before any mask is allocated.
    /// Default `None`: only [`MAX_SEGMENT_VOXELS`](super::MAX_SEGMENT_VOXELS) bounds it. The CLI passes its memory limit
    /// (`--max-memory`, else half the memory available).
    pub max_memory_bytes: Option<u64>,
    /// The working voxel, mm (issue 42): along an axis whose spacing is at most two thirds of
    /// it, CT voxels are merged into voxels of about this size before segmenting, and the labels
    /// carried back onto the CT's grid (the `working` module). Default
    /// [`WORKING_VOXEL_MM`]; `0.0` segments on the CT's own grid.
    pub working_voxel_mm: f64,
    /// Whether a CT interpolated from a coarser series is segmented on that series' grid,
    /// recovered from the interpolation (the `knots` module; issue 42). Default true; off, such a
    /// CT is segmented as any other (on its own grid or merged per
    /// [`SegmentOptions::working_voxel_mm`]).
    pub source_grid: bool,
    /// Whether the femoral heads are split from their sockets at the joint space found along
    /// rays from the head (the `gap` module; issue 59). Default true: on the thin-slice test
    /// renders it brings the head radii within 1 mm (11 of 12 hips, from 3 of 10). A joint
    /// sphere is used only where the space reads as bone (femur and acetabulum touch in the
    /// bone mask) and it agrees with the head found before it (`gap::check`); else, and off,
    /// the sphere fitted to the femur-acetabulum label interface splits them (coxa before
    /// issue 59). Without that check, on the realistic phantom of `coxa demo` (1.5 mm voxels,
    /// a 3 mm space below the bone threshold) the sphere split moved the left acetabulum's
    /// inclination by +21.7 deg and the neck-shaft angles by -2.6 deg.
    pub joint_rays: bool,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            bone_threshold_hu: 150.0,
            metal_threshold_hu: 2500.0,
            max_hole_area_mm2: 1500.0,
            head_radius_range_mm: (17.0, 32.0),
            closing_radius_mm: 3.0,
            uncertainty: false,
            max_memory_bytes: None,
            working_voxel_mm: WORKING_VOXEL_MM,
            source_grid: true,
            joint_rays: true,
        }
    }
}

impl SegmentOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`SegmentOptions::bone_threshold_hu`].
    pub fn with_bone_threshold_hu(mut self, hu: f32) -> Self {
        self.bone_threshold_hu = hu;
        self
    }
    /// Sets [`SegmentOptions::metal_threshold_hu`].
    pub fn with_metal_threshold_hu(mut self, hu: f32) -> Self {
        self.metal_threshold_hu = hu;
        self
    }
    /// Sets [`SegmentOptions::max_hole_area_mm2`].
    pub fn with_max_hole_area_mm2(mut self, area: f64) -> Self {
        self.max_hole_area_mm2 = area;
        self
    }
    /// Sets [`SegmentOptions::head_radius_range_mm`].
    pub fn with_head_radius_range_mm(mut self, min_mm: f64, max_mm: f64) -> Self {
        self.head_radius_range_mm = (min_mm, max_mm);
        self
    }
    /// Sets [`SegmentOptions::closing_radius_mm`].
    pub fn with_closing_radius_mm(mut self, radius_mm: f64) -> Self {
        self.closing_radius_mm = radius_mm;
        self
    }
    /// Sets [`SegmentOptions::uncertainty`].
    pub fn with_uncertainty(mut self, on: bool) -> Self {
        self.uncertainty = on;
        self
    }
    /// Sets [`SegmentOptions::working_voxel_mm`] (0 segments on the CT's own grid).
    pub fn with_working_voxel_mm(mut self, mm: f64) -> Self {
        self.working_voxel_mm = mm;
        self
    }
    /// Sets [`SegmentOptions::source_grid`].
    pub fn with_source_grid(mut self, on: bool) -> Self {
        self.source_grid = on;
        self
    }
    /// Sets [`SegmentOptions::joint_rays`].
    pub fn with_joint_rays(mut self, on: bool) -> Self {
        self.joint_rays = on;
        self
    }
    /// Sets [`SegmentOptions::max_memory_bytes`].
    pub fn with_max_memory_bytes(mut self, bytes: u64) -> Self {
        self.max_memory_bytes = Some(bytes);
        self
    }

    pub(super) fn validate(&self) -> Result<(), SegmentError> {
        let bad = |why: String| Err(SegmentError::InvalidOptions { why });
        if !self.bone_threshold_hu.is_finite() || !self.metal_threshold_hu.is_finite() {
            return bad("HU thresholds must be finite".into());
        }
        if self.metal_threshold_hu <= self.bone_threshold_hu {
            return bad(format!("metal threshold {} HU must be above the bone threshold {} HU", self.metal_threshold_hu, self.bone_threshold_hu));
        }
        if !(self.max_hole_area_mm2 >= 0.0 && self.max_hole_area_mm2.is_finite()) {
            return bad(format!("max_hole_area_mm2 = {} must be finite and >= 0", self.max_hole_area_mm2));
        }
        if !(self.closing_radius_mm >= 0.0 && self.closing_radius_mm <= 50.0) {
            return bad(format!("closing_radius_mm = {} must be in [0, 50]", self.closing_radius_mm));
        }
        if !(self.working_voxel_mm >= 0.0 && self.working_voxel_mm <= 10.0) {
            return bad(format!("working_voxel_mm = {} must be in [0, 10] (0: the CT's own grid)", self.working_voxel_mm));
        }
        let (lo, hi) = self.head_radius_range_mm;
        if !(lo > 0.0 && hi > lo && hi.is_finite()) {
            return bad(format!("head_radius_range_mm = ({lo}, {hi}) must satisfy 0 < min < max < inf"));
        }
        Ok(())
    }
}

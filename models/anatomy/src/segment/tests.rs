//! Segmentation of synthetic phantoms built here with known geometry, mirror invariance, and bad
//! inputs.

use nalgebra::{Point3, Vector3};
use ndarray::Array3;

use coxa_core::{Grid, Side, Volume};

use super::*;
use crate::labels::{FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM};

/// Voxel size of the phantom, mm.
const VOXEL_MM: f64 = 2.0;
/// Femoral head radius, mm.
const HEAD_MM: f64 = 22.0;
/// Joint space between head and socket, mm (1.5 voxels).
const GAP_MM: f64 = 3.0;
/// Soft tissue HU.
const SOFT: f32 = 40.0;

/// What each phantom voxel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    Soft,
    Femur(Side),
    Hip(Side),
    Sacrum,
    Vertebra,
}

/// The true label id of a phantom voxel (vertebrae are not labelled).
fn truth_id(t: Truth) -> u16 {
    match t {
        Truth::Femur(Side::Left) => FEMUR_LEFT,
        Truth::Femur(Side::Right) => FEMUR_RIGHT,
        Truth::Hip(Side::Left) => HIP_LEFT,
        Truth::Hip(Side::Right) => HIP_RIGHT,
        Truth::Sacrum => SACRUM,
        Truth::Soft | Truth::Vertebra => 0,
    }
}

/// Distance from `p` to the segment `a`-`b`.
fn seg_dist(p: &Point3<f64>, a: &Point3<f64>, b: &Point3<f64>) -> f64 {
    let ab = b - a;
    let t = ((p - a).dot(&ab) / ab.norm_squared()).clamp(0.0, 1.0);
    (p - (a + ab * t)).norm()
}

/// Whether `p` lies in the axis-aligned box `lo..hi`, and its depth inside the box.
fn in_box(p: &Point3<f64>, lo: [f64; 3], hi: [f64; 3]) -> Option<f64> {
    let d = (0..3).map(|a| (p[a] - lo[a]).min(hi[a] - p[a])).fold(f64::INFINITY, f64::min);
    (d >= 0.0).then_some(d)
}

/// The phantom at point `p` (LPS mm): its truth and HU. Head centres at (±85, 0, 0).
///
/// - femurs: head sphere (radius 22, cancellous 300 HU in a 2 mm cortex of 800 HU), neck down
///   and out at 45° to a vertical shaft; neck and shaft are cortical tubes (3 mm, 800 HU) with
///   marrow (0 HU) inside, and end at the volume's last slice;
/// - hip bones (400 HU): a 10 mm shell round a socket 3 mm wider than the head (subchondral
///   plate of 900 HU), open below and out for the neck, with an 18 mm iliac plate above it, a
///   posterior plate out to the sacroiliac joint and a pubic-ischial bar below;
/// - sacrum: a block between the hip bones, 3 mm from each (sacroiliac joints), bridged
///   to each near the top (250 HU: a bridge across a joint is a partial-volume seam);
/// - a lumbar vertebra: a hollow block above the sacrum across an 8 mm disc, joined to it by two
///   bridged facet joints (250 HU).
fn phantom_at(p: Point3<f64>) -> (Truth, f32) {
    for side in [Side::Left, Side::Right] {
        let s = side.lateral_sign();
        let c = Point3::new(s * 85.0, 0.0, 0.0);
        let dir = Vector3::new(s, 0.0, -1.0).normalize();
        let neck_end = c + dir * 45.0;
        let shaft_bottom = Point3::new(neck_end.x, neck_end.y, -200.0);
        let d_head = (p - c).norm();
        let d_tube = seg_dist(&p, &c, &neck_end).min(seg_dist(&p, &neck_end, &shaft_bottom));
        if d_head < HEAD_MM {
            return (Truth::Femur(side), if d_head > HEAD_MM - 2.0 { 800.0 } else { 300.0 });
        }
        if d_tube < 12.0 {
            return (Truth::Femur(side), if d_tube > 9.0 { 800.0 } else { 0.0 });
        }
        // Hip bone: an acetabular shell round the socket (open below and out for the neck), an
        // iliac plate above it, a posterior plate to the sacroiliac joint, a pubic-ischial bar.
        let x = p.x * s;
        let q = Point3::new(x, p.y, p.z);
        let socket = HEAD_MM + GAP_MM;
        let opening = p.z < -8.0 && x > 80.0;
        let shell = (socket..socket + 10.0).contains(&d_head) && !opening;
        let ilium = in_box(&q, [45.0, -9.0, 5.0], [115.0, 9.0, 110.0]).is_some();
        let posterior = in_box(&q, [40.0, 9.0, 30.0], [60.0, 55.0, 110.0]).is_some();
        let pubis = in_box(&q, [40.0, -9.0, -60.0], [70.0, 9.0, -15.0]).is_some();
        if (shell || ilium || posterior || pubis) && d_head >= socket && d_tube >= 12.0 + GAP_MM {
            return (Truth::Hip(side), if d_head < socket + 3.0 { 900.0 } else { 400.0 });
        }
        // A bony bridge across the sacroiliac joint, near its top.
        if in_box(&Point3::new(x, p.y, p.z), [36.0, 30.0, 95.0], [41.0, 40.0, 105.0]).is_some() {
            return (Truth::Hip(side), 250.0);
        }
        // A bridged facet joint between sacrum and vertebra.
        if in_box(&Point3::new(x, p.y, p.z), [10.0, 45.0, 109.0], [20.0, 55.0, 119.0]).is_some() {
            return (Truth::Vertebra, 250.0);
        }
    }
    if let Some(depth) = in_box(&p, [-37.0, 15.0, 30.0], [37.0, 60.0, 110.0]) {
        return (Truth::Sacrum, if depth < 3.0 { 650.0 } else { 200.0 });
    }
    if let Some(depth) = in_box(&p, [-22.0, 18.0, 118.0], [22.0, 55.0, 148.0]) {
        return (Truth::Vertebra, if depth < 3.0 { 650.0 } else { 180.0 });
    }
    (Truth::Soft, SOFT)
}

/// The phantom CT (2 mm voxels, LPS axis-aligned, patient left = +x) with the patient moved by
/// `shift_mm` (off-centre on the table), and its truth per voxel `[k, j, i]`.
fn phantom(shift_mm: Vector3<f64>) -> (Volume, Array3<u16>) {
    let size = [180, 110, 190];
    let origin = Vector3::new(-179.0, -109.0, -219.0);
    phantom_on(Grid::axis_aligned(size, Vector3::repeat(VOXEL_MM), origin).unwrap(), shift_mm)
}

/// [`phantom`] sampled on `grid`.
fn phantom_on(grid: Grid, shift_mm: Vector3<f64>) -> (Volume, Array3<u16>) {
    let mut hu = Array3::<f32>::zeros(grid.shape_kji());
    let mut truth = Array3::<u16>::zeros(grid.shape_kji());
    for ((k, j, i), h) in hu.indexed_iter_mut() {
        let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
        let (t, v) = phantom_at(p - shift_mm);
        *h = v;
        truth[[k, j, i]] = truth_id(t);
    }
    (Volume::new(grid, hu).unwrap(), truth)
}

/// Dice of label `a` in `ours` against label `b` in `truth`.
fn dice(ours: &Array3<u16>, a: u16, truth: &Array3<u16>, b: u16) -> f64 {
    let (mut both, mut n1, mut n2) = (0usize, 0usize, 0usize);
    for (&x, &y) in ours.iter().zip(truth.iter()) {
        n1 += usize::from(x == a);
        n2 += usize::from(y == b);
        both += usize::from(x == a && y == b);
    }
    2.0 * both as f64 / (n1 + n2).max(1) as f64
}

#[test]
fn phantom_bones_sides_and_joints() {
    let (ct, truth) = phantom(Vector3::zeros());
    let seg = segment_bones(&ct, &SegmentOptions::new().with_uncertainty(true)).unwrap();
    let labels = seg.labels.labels();
    for id in [FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM] {
        let d = dice(labels, id, &truth, id);
        assert!(d >= 0.93, "Dice of {id} on the phantom: {d:.3}; counts {:?}", seg.counts);
    }
    // Nothing of the vertebra is kept.
    let grid = ct.grid();
    for ((k, j, i), &l) in labels.indexed_iter() {
        let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
        if p.z > 116.0 {
            assert_eq!(l, 0, "voxel above the disc at {p:?} labelled {l}");
        }
    }
    // Heads: at the true centres, and the socket is not femur nor the head hip.
    for (h, (side, x)) in seg.femoral_heads.iter().zip([(Side::Left, 85.0), (Side::Right, -85.0)]) {
        assert_eq!(h.side, side);
        assert!(h.sphere_fitted);
        assert!((h.centre_lps_mm - Point3::new(x, 0.0, 0.0)).norm() < 2.0, "{h:?}");
        assert!((h.radius_mm - (HEAD_MM + 0.5 * GAP_MM)).abs() < 2.5, "{h:?}");
    }
    for ((k, j, i), &l) in labels.indexed_iter() {
        let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
        for (c, femur, hip) in [(85.0, FEMUR_LEFT, HIP_LEFT), (-85.0, FEMUR_RIGHT, HIP_RIGHT)] {
            let d = (p - Point3::new(c, 0.0, 0.0)).norm();
            if d < HEAD_MM - VOXEL_MM {
                assert_eq!(l, femur, "head voxel at {p:?}");
            }
            if (HEAD_MM + GAP_MM + VOXEL_MM..HEAD_MM + GAP_MM + 3.0).contains(&d) && p.z > 5.0 {
                assert_eq!(l, hip, "socket voxel at {p:?}");
            }
        }
    }
    // The uncertainty is small at the joint and large far from it.
    let u = seg.boundary_distance_mm.as_ref().unwrap();
    let at = |p: Point3<f64>| {
        let ijk = grid.lps_to_voxel(&p).map(|x| x.round() as usize);
        u[[ijk.z, ijk.y, ijk.x]]
    };
    assert!(at(Point3::new(85.0, 0.0, HEAD_MM - 1.0)) <= 6.0);
    assert!(at(Point3::new(85.0 + 45.0 / 2f64.sqrt(), 0.0, -150.0)) > 30.0);
    assert!(seg.warnings.is_empty(), "{:?}", seg.warnings);
    assert_eq!(seg.metal_voxels, 0);
}

/// Issue 42: a CT with slices finer than the working voxel is segmented on a coarser grid (two
/// slices merged), and its labels carried back onto the CT's grid agree with the truth as the
/// phantom's own grid's do; the surfaces' labels are the coarse ones.
#[test]
fn thin_slices_are_segmented_on_the_working_grid() {
    let grid = Grid::axis_aligned([180, 110, 380], Vector3::new(VOXEL_MM, VOXEL_MM, 1.0), Vector3::new(-179.0, -109.0, -219.5)).unwrap();
    let (ct, truth) = phantom_on(grid, Vector3::zeros());
    let opts = SegmentOptions::new().with_working_voxel_mm(2.0).with_uncertainty(true);
    let seg = segment_bones(&ct, &opts).unwrap();
    let working = seg.working_labels.as_ref().expect("merged slices");
    assert_eq!(working.grid().size(), [180, 110, 190]);
    assert!((working.grid().spacing_mm() - Vector3::repeat(2.0)).norm() < 1e-12);
    // The first coarse voxel's centre is the mean of its two slices' centres.
    assert!((working.grid().origin_lps_mm() - Vector3::new(-179.0, -109.0, -219.0)).norm() < 1e-12);
    assert_eq!(seg.labels.grid(), ct.grid());
    assert_eq!(seg.boundary_distance_mm.as_ref().unwrap().shape(), seg.labels.labels().shape());
    for id in [FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM] {
        let d = dice(seg.labels.labels(), id, &truth, id);
        assert!(d >= 0.93, "Dice of {id} on thin slices: {d:.3}");
        let fine = seg.labels.labels().iter().filter(|&&l| l == id).count();
        assert_eq!(seg.count(id).unwrap().voxels, fine, "counts on the CT's grid");
        let coarse = working.labels().iter().filter(|&&l| l == id).count();
        assert_eq!(fine, 2 * coarse, "every coarse voxel is two slices");
    }
    for (h, x) in seg.femoral_heads.iter().zip([85.0, -85.0]) {
        assert!(h.sphere_fitted);
        assert!((h.centre_lps_mm - Point3::new(x, 0.0, 0.0)).norm() < 2.0, "{h:?}");
    }
    // The same CT on its own grid: no working labels.
    let own = segment_bones(&ct, &opts.clone().with_working_voxel_mm(0.0).with_uncertainty(false));
    assert!(own.is_ok_and(|s| s.working_labels.is_none()));
}

#[test]
fn phantom_off_centre_gives_the_same_labels() {
    let (ct, _) = phantom(Vector3::zeros());
    let (shifted, _) = phantom(Vector3::new(27.0, -11.0, 13.0));
    let a = segment_bones(&ct, &SegmentOptions::new()).unwrap();
    let b = segment_bones(&shifted, &SegmentOptions::new()).unwrap();
    for (x, y) in a.counts.iter().zip(&b.counts) {
        let rel = (x.voxels as f64 - y.voxels as f64).abs() / x.voxels.max(1) as f64;
        assert!(rel < 0.03, "{} changes from {} to {} voxels when the patient moves", x.name, x.voxels, y.voxels);
    }
}

#[test]
fn mirrored_phantom_swaps_sides() {
    // Mirror the anatomy in x: reverse the i axis (which runs along +x) of the HU array.
    let (ct, truth) = phantom(Vector3::zeros());
    let (grid, hu) = ct.into_parts();
    let mirror = |a: &Array3<u16>| {
        let mut m = a.clone();
        m.invert_axis(ndarray::Axis(2));
        m
    };
    let mut hu_m = hu;
    hu_m.invert_axis(ndarray::Axis(2));
    let ct_m = Volume::new(grid, hu_m.as_standard_layout().into_owned()).unwrap();
    let seg = segment_bones(&ct_m, &SegmentOptions::new()).unwrap();
    let truth_m = mirror(&truth);
    // The truth was built with left at +x; mirrored, the left femur's voxels hold the right one.
    for (ours, theirs) in [(FEMUR_RIGHT, FEMUR_LEFT), (FEMUR_LEFT, FEMUR_RIGHT), (HIP_RIGHT, HIP_LEFT), (HIP_LEFT, HIP_RIGHT)] {
        let d = dice(seg.labels.labels(), ours, &truth_m, theirs);
        assert!(d >= 0.93, "mirrored: Dice of {ours} vs mirrored {theirs} = {d:.3}");
    }
    assert!(seg.femoral_heads[0].centre_lps_mm.x > 0.0, "left head at +x");
}

#[test]
fn metal_in_a_femur_is_kept_and_reported() {
    let (ct, _) = phantom(Vector3::zeros());
    let (grid, mut hu) = ct.into_parts();
    // A screw along the left neck, 3000 HU.
    let c = Point3::new(85.0, 0.0, 0.0);
    let dir = Vector3::new(1.0, 0.0, -1.0).normalize();
    let (a, b) = (c + dir * 5.0, c + dir * 40.0);
    for ((k, j, i), h) in hu.indexed_iter_mut() {
        let p = grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64));
        if seg_dist(&p, &a, &b) < 3.0 {
            *h = 3000.0;
        }
    }
    let ct = Volume::new(grid, hu).unwrap();
    let seg = segment_bones(&ct, &SegmentOptions::new()).unwrap();
    assert!(seg.metal_voxels > 0);
    assert_eq!(seg.count(FEMUR_LEFT).unwrap().metal_voxels, seg.metal_voxels);
    assert!(seg.warnings.iter().any(|w| w.starts_with("metal in the left proximal femur")), "{:?}", seg.warnings);
}

fn volume(size: [usize; 3], spacing_mm: f64, f: impl Fn(Point3<f64>) -> f32) -> Volume {
    let grid = Grid::axis_aligned(size, Vector3::repeat(spacing_mm), Vector3::zeros()).unwrap();
    let mut hu = Array3::<f32>::zeros(grid.shape_kji());
    for ((k, j, i), h) in hu.indexed_iter_mut() {
        *h = f(grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)));
    }
    Volume::new(grid, hu).unwrap()
}

#[test]
fn bad_inputs_give_clear_errors() {
    let opts = SegmentOptions::new();
    // Too thin to hold anything.
    let thin = volume([2, 40, 40], 2.0, |_| 0.0);
    assert!(matches!(segment_bones(&thin, &opts), Err(SegmentError::EmptyVolume { size: [2, 40, 40] })));
    // NaN voxels.
    let mut nan = volume([20, 20, 20], 2.0, |_| 0.0);
    nan.hu_mut()[[3, 4, 5]] = f32::NAN;
    let err = segment_bones(&nan, &opts).unwrap_err();
    assert!(matches!(err, SegmentError::NonFinite { count: 1, first: [5, 4, 3] }), "{err}");
    // All air.
    let air = volume([30, 30, 30], 3.0, |_| -1000.0);
    let err = segment_bones(&air, &opts).unwrap_err();
    assert!(matches!(err, SegmentError::NoPelvis { .. }) && err.to_string().starts_with("no pelvis found:"), "{err}");
    // Not in HU (raw detector values).
    let raw = volume([30, 30, 30], 3.0, |_| 1024.0);
    assert!(matches!(segment_bones(&raw, &opts), Err(SegmentError::NoPelvis { .. })));
    // A head: a skull (bone shell) round a brain.
    let head = volume([50, 50, 50], 4.0, |p| {
        let r = (p - Point3::new(100.0, 100.0, 100.0)).norm();
        if (80.0..87.0).contains(&r) {
            900.0
        } else if r < 80.0 {
            35.0
        } else {
            -1000.0
        }
    });
    let err = segment_bones(&head, &opts).unwrap_err();
    assert!(matches!(err, SegmentError::NoPelvis { .. }), "{err}");
    // A chest: a spine and ribs, no hips.
    let chest = volume([60, 50, 60], 4.0, |p| {
        let spine = (p.x - 120.0).hypot(p.y - 140.0) < 20.0;
        let rib = ((p.z as i64 / 24) % 2 == 0) && {
            let r = (p.x - 120.0).hypot((p.y - 100.0) * 1.3);
            (95.0..103.0).contains(&r)
        };
        if spine || rib { 400.0 } else { 40.0 }
    });
    let err = segment_bones(&chest, &opts).unwrap_err();
    assert!(matches!(err, SegmentError::NoPelvis { .. }), "{err}");
    // Options out of range.
    let bad = SegmentOptions::new().with_metal_threshold_hu(100.0);
    assert!(matches!(segment_bones(&air, &bad), Err(SegmentError::InvalidOptions { .. })));
    let bad = SegmentOptions::new().with_head_radius_range_mm(30.0, 20.0);
    assert!(matches!(segment_bones(&air, &bad), Err(SegmentError::InvalidOptions { .. })));
}

#[test]
fn error_is_send_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<SegmentError>();
}

/// The crate's own hip phantom (`crate::phantom`): realistic shapes, noise, muscles and fat.
#[test]
fn crate_hip_phantom() {
    // Another module's phantom: noise, muscles, fat, tilted cups and necks. Its pubic rami do not
    // touch the acetabulum (so no seed reaches them) and its sacrum touches no hip bone (so no
    // sacroiliac joint is found, which is reported).
    let ph = crate::phantom::hip_phantom(&crate::phantom::PhantomSpec::default());
    let seg = segment_bones(&ph.ct, &SegmentOptions::new()).unwrap();
    for (id, min) in [(FEMUR_LEFT, 0.97), (FEMUR_RIGHT, 0.97), (HIP_LEFT, 0.85), (HIP_RIGHT, 0.85), (SACRUM, 0.9)] {
        let d = dice(seg.labels.labels(), id, ph.labels.labels(), id);
        assert!(d >= min, "crate phantom: Dice of {id} = {d:.3} < {min}");
    }
    for (h, c) in seg.femoral_heads.iter().zip(&ph.truth.head_centres_lps_mm) {
        assert!((h.centre_lps_mm - c).norm() < 1.5, "{h:?} vs {c:?}");
        assert!((h.radius_mm - ph.truth.head_radius_mm).abs() < 1.5, "{h:?}");
    }
    assert!(seg.warnings.iter().any(|w| w.starts_with("sacroiliac joints not found")), "{:?}", seg.warnings);
}

/// Issue 16 (deadlines): the segmentation's working memory is checked against its limit before
/// any mask is allocated, and the error names the box, the need, the limit and the fix; a limit
/// it fits gives the same segmentation as none; a box the flooding cannot index is refused too.
#[test]
fn issue_16_segmentation_over_its_memory_limit_is_refused_before_it_starts() {
    let (ct, _) = phantom(Vector3::zeros());
    let free = segment_bones(&ct, &SegmentOptions::new()).unwrap();
    let e = segment_bones(&ct, &SegmentOptions::new().with_max_memory_bytes(1 << 20)).unwrap_err();
    let SegmentError::TooLarge { dims, voxels, .. } = &e else { panic!("{e}") };
    assert_eq!(*voxels, dims.iter().map(|&n| n as u64).product::<u64>());
    let need_mb = (voxels * SEGMENT_BYTES_PER_VOXEL).div_ceil(1 << 20);
    assert_eq!(
        e.to_string(),
        format!(
            "segmenting the bone's {dims:?}-voxel bounding box ({voxels} voxels) needs about {need_mb} MiB of working memory (32 bytes a voxel), \
             more than the limit of 1 MiB; crop the CT to the hips (or resample it coarser), or raise --max-memory"
        )
    );
    let fits = segment_bones(&ct, &SegmentOptions::new().with_max_memory_bytes(voxels * SEGMENT_BYTES_PER_VOXEL)).unwrap();
    assert_eq!(fits.labels.labels(), free.labels.labels(), "a limit it fits changes nothing");
    let huge = check_budget([70_000, 70_000, 1], None).unwrap_err();
    assert_eq!(
        huge.to_string(),
        "segmenting the bone's [70000, 70000, 1]-voxel bounding box (4900000000 voxels) is more than the 4294967295 voxels it can index; crop the CT to the hips (or resample it coarser)"
    );
}

/// Issue 42: the femoral heads do not move with the CT's grid where the CT resolves the joint
/// space. The phantom (3 mm joint space, heads of 22 mm at x = +-85 mm) sampled on isotropic
/// grids of 1, 1.5 and 2 mm over the same box, and moved by sub-voxel offsets: every head centre
/// lies within 0.5 mm of the truth (measured: 0.1 mm at 1 and 1.5 mm, 0.42 mm at 2 mm), and the
/// radii within 1 mm of each other (21.3-21.8 mm). Where the joint space is about one voxel (2.5
/// and 3 mm here, or the real 3 mm CT), the split between femur and acetabulum is not resolved
/// and heads move by millimetres with the grid (the module's known limits).
#[test]
fn heads_do_not_move_with_the_grid_where_the_joint_space_is_resolved() {
    let mut radii = Vec::new();
    for (s, shift) in [(1.0f64, [0.3, -0.7, 0.4]), (1.5, [0.3, -0.7, 0.4]), (1.5, [-0.6, 0.2, 0.7]), (2.0, [0.3, -0.7, 0.4]), (2.0, [0.9, 0.5, -0.8])] {
        let size = [360.0, 220.0, 380.0].map(|mm: f64| (mm / s).round() as usize);
        let origin = Vector3::new(-180.0, -110.0, -220.0).add_scalar(s / 2.0);
        let grid = Grid::axis_aligned(size, Vector3::repeat(s), origin).unwrap();
        let shift = Vector3::from(shift);
        let (ct, _) = phantom_on(grid, shift);
        let seg = segment_bones(&ct, &SegmentOptions::new()).unwrap();
        assert!(seg.working_labels.is_none(), "{s} mm is segmented on its own grid");
        for (h, x) in seg.femoral_heads.iter().zip([85.0, -85.0]) {
            let off = (h.centre_lps_mm - (Point3::new(x, 0.0, 0.0) + shift)).norm();
            assert!(h.sphere_fitted && off < 0.5, "{s} mm grid, shift {shift:?}: {:?} head {off:.2} mm from the truth ({h:?})", h.side);
            radii.push(h.radius_mm);
        }
    }
    let (lo, hi) = radii.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &r| (a.min(r), b.max(r)));
    assert!(hi - lo < 1.0, "head radii {lo:.2}-{hi:.2} mm over the grids");
}

/// Issue 42: a CT interpolated from a coarser one (the phantom on 3 mm voxels, resampled
/// trilinearly to 0.94 x 0.97 x 0.6 mm and truncated to integer HU, as SimpleITK does) is
/// segmented on the coarser
/// one's grid, recovered from the interpolation: the same grid, labels and heads as the 3 mm CT
/// segmented directly, and a warning naming the series' spacing.
#[test]
fn an_interpolated_ct_is_segmented_on_its_source_grid() {
    let size = [120, 74, 127];
    let grid = Grid::axis_aligned(size, Vector3::repeat(3.0), Vector3::new(-178.5, -108.5, -218.5)).unwrap();
    let shift = Vector3::new(0.3, -0.7, 0.4);
    let (source, _) = phantom_on(grid.clone(), shift);
    let own = segment_bones(&source, &SegmentOptions::new()).unwrap();
    assert!(own.working_labels.is_none());

    let step = [3.2, 3.1, 5.0];
    let first = step.map(|s| (s - 1.0) / 2.0);
    let fine_size: [usize; 3] = std::array::from_fn(|a| (size[a] as f64 * step[a]).round() as usize);
    let values = match source.voxels() {
        coxa_core::Voxels::F32(a) => a.as_slice().unwrap().to_vec(),
        coxa_core::Voxels::I16(_) => unreachable!(),
    };
    let fine = super::knots::tests::upsample(&values, size, fine_size, first, step, |_| 0.0, true);
    let spacing = Vector3::new(3.0 / step[0], 3.0 / step[1], 3.0 / step[2]);
    let origin = Vector3::new(-180.0, -110.0, -220.0) + spacing / 2.0;
    let fine_grid = Grid::axis_aligned(fine_size, spacing, origin).unwrap();
    let [ni, nj, nk] = fine_size;
    let ct = Volume::from_i16(fine_grid, Array3::from_shape_vec([nk, nj, ni], fine).unwrap()).unwrap();
    let seg = segment_bones(&ct, &SegmentOptions::new()).unwrap();

    let working = seg.working_labels.as_ref().expect("segmented on the source's grid");
    assert_eq!(working.grid().size(), size);
    assert!((working.grid().spacing_mm() - Vector3::repeat(3.0)).amax() < 2e-3, "{:?}", working.grid().spacing_mm());
    assert!((working.grid().origin_lps_mm() - grid.origin_lps_mm()).amax() < 0.05, "{:?}", working.grid().origin_lps_mm());
    let differ = working.labels().iter().zip(own.labels.labels().iter()).filter(|(a, b)| a != b).count();
    // 68 of 1.13 million differ (where truncation near 0 HU is not undone exactly).
    assert!(differ * 10_000 <= own.labels.labels().len(), "{differ} of {} voxels labelled otherwise", own.labels.labels().len());
    for (h, o) in seg.femoral_heads.iter().zip(&own.femoral_heads) {
        let off = (h.centre_lps_mm - o.centre_lps_mm).norm();
        assert!(off < 0.1 && (h.radius_mm - o.radius_mm).abs() < 0.1, "{:?} head {off:.3} mm off: {h:?} against {o:?}", h.side);
    }
    assert!(seg.warnings.iter().any(|w| w.starts_with("the CT was interpolated from a coarser series (i 3.00 mm, j 3.00 mm, k 3.00 mm)")), "{:?}", seg.warnings);
    assert_eq!(seg.labels.grid(), ct.grid());
}

/// The head candidates of the real example CT taken at 1 mm (stop 77; `scripts/real-ct-resamples`,
/// noise 42.6 HU): with noise the heads' cancellous bone is porous and only 6-7.6 mm deep, while
/// the bone round the left femur's lag screw and barrel is 10 mm deep. The deepest pair is the
/// barrel and a right head; with the joints (the filled bone's deepest pair) each head is
/// looked for within reach of its joint, and the heads are the pair found on the 3 mm CT
/// (left 84.9, -137.3, 133.3; right -80.0, -137.3, 136.3) within 6 mm.
#[test]
fn heads_are_looked_for_in_their_joints() {
    use anatomy::{Head, head_pair, heads_in_joints};
    let head = |x: f64, y: f64, z: f64, depth_mm: f64, shell_dense: f64| Head { voxel: 0, lps_mm: Vector3::new(x, y, z), depth_mm, shell_dense };
    let cands = [
        head(124.96, -121.32, 93.30, 10.05, 0.55),
        head(124.96, -118.32, 100.30, 10.05, 1.0),
        head(125.96, -113.32, 112.30, 9.49, 1.0),
        head(126.96, -109.32, 120.30, 9.43, 1.0),
        head(116.96, -135.32, 93.30, 8.37, 0.56),
        head(-71.04, -132.32, 131.30, 7.62, 0.88),
        head(-79.04, -141.32, 133.30, 7.48, 0.91),
        head(-83.04, -147.32, 132.30, 7.21, 0.87),
        head(-72.04, -112.32, 171.30, 6.16, 0.98),
        head(84.96, -141.32, 130.30, 6.16, 1.0),
    ];
    let (l, r) = head_pair(&cands).unwrap();
    assert!(l.lps_mm.x > 120.0, "without the joints the barrel is the left head: {l:?} {r:?}");
    // The joints as found on that CT: the filled bone's deepest pair.
    let joints = (head(76.96, -144.32, 147.30, 20.49, 0.80), head(-77.04, -143.32, 147.30, 20.62, 0.70));
    let (l, r) = heads_in_joints(&cands, Some(joints)).unwrap();
    assert!((l.lps_mm - Vector3::new(84.96, -137.32, 133.30)).norm() < 6.0, "{l:?}");
    assert!((r.lps_mm - Vector3::new(-80.04, -137.32, 136.30)).norm() < 6.0, "{r:?}");
    // A pair already in its joints is kept as it is.
    let (kept, deepest) = (heads_in_joints(&cands[5..], Some(joints)).unwrap(), head_pair(&cands[5..]).unwrap());
    assert_eq!((kept.0.lps_mm, kept.1.lps_mm), (deepest.0.lps_mm, deepest.1.lps_mm));
}

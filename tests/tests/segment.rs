//! coxa's classical bone segmentation on a real CT (../shared/data/totalseg/example_ct.nii.gz,
//! 3 mm, screws in the left proximal femur) against TotalSegmentator's labels of the same CT
//! (fast model, `example_seg_fast_force_split.nii.gz`). The reference is a model's output at
//! 3 mm, not manual truth; what the two disagree on is described at each assertion.
//!
//! Set `COXA_DUMP_DIR` to write coxa's label map there (NIfTI) for viewing.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use coxa_anatomy::labels::{self, FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM};
use coxa_anatomy::segment::{BoneSegmentation, SegmentOptions, segment_bones};
use coxa_core::{LabelMap, Volume};

use crate::common::shared_data;

/// TotalSegmentator's id of the first sacral segment, which it labels apart from the sacrum.
const VERTEBRA_S1: u16 = 26;

/// Dice of `ours == a` against `theirs` in `b` (a set of reference ids).
fn dice(ours: &LabelMap, a: u16, theirs: &LabelMap, b: &[u16]) -> f64 {
    let (mut both, mut n_ours, mut n_theirs) = (0usize, 0usize, 0usize);
    for (&x, &y) in ours.labels().iter().zip(theirs.labels().iter()) {
        let (p, q) = (x == a, b.contains(&y));
        n_ours += usize::from(p);
        n_theirs += usize::from(q);
        both += usize::from(p && q);
    }
    if n_ours + n_theirs == 0 { 1.0 } else { 2.0 * both as f64 / (n_ours + n_theirs) as f64 }
}

/// Segments `ct`, prints the time, counts, warnings and head spheres, and writes the labels to
/// `$COXA_DUMP_DIR` if set.
fn segment_and_print(ct: &Volume) -> Result<BoneSegmentation> {
    let t0 = Instant::now();
    let seg = segment_bones(ct, &SegmentOptions::new().with_uncertainty(true))?;
    eprintln!("segment_bones on {:?} voxels: {:.2} s (this build profile)", ct.grid().size(), t0.elapsed().as_secs_f64());
    for c in &seg.counts {
        eprintln!("  {:<12} {:>9} voxels {:>9.1} ml, {:>6} metal", c.name, c.voxels, c.volume_mm3 / 1000.0, c.metal_voxels);
    }
    for h in &seg.femoral_heads {
        eprintln!("  head {:?}: centre {:?} radius {:.1} mm (sphere fitted: {})", h.side, h.centre_lps_mm.coords.as_slice(), h.radius_mm, h.sphere_fitted);
    }
    for w in &seg.warnings {
        eprintln!("  warning: {w}");
    }
    if let Some(dir) = std::env::var_os("COXA_DUMP_DIR") {
        let p = Path::new(&dir).join(format!("coxa_seg_{}.nii.gz", std::process::id()));
        coxa_io::nifti::write_label_map(&seg.labels, &p)?;
        eprintln!("  wrote {}", p.display());
    }
    Ok(seg)
}

/// Dice of the five bones against `reference` (coxa ids), printed; then of the sacrum against
/// TotalSegmentator's sacrum and S1 together. Returns `[femur L, femur R, hip L, hip R, sacrum,
/// sacrum + S1]`.
fn dice_table(seg: &LabelMap, reference: &LabelMap) -> [f64; 6] {
    let mut d = [0.0; 6];
    for (n, id) in [FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM].into_iter().enumerate() {
        d[n] = dice(seg, id, reference, &[id]);
        eprintln!("Dice {:<12} {:.3}", seg.classes().name(id).unwrap_or("?"), d[n]);
    }
    d[5] = dice(seg, SACRUM, reference, &[SACRUM, VERTEBRA_S1]);
    eprintln!("Dice sacrum vs TotalSegmentator sacrum + vertebrae_S1: {:.3}", d[5]);
    d
}

/// Voxels of label `id` outside its largest 26-connected part, in parts that touch (face
/// neighbours) another non-zero label.
fn islands_touching_another_bone(labels: &LabelMap, id: u16) -> usize {
    let a = labels.labels();
    let (nk, nj, ni) = a.dim();
    let mut seen = ndarray::Array3::<bool>::from_elem((nk, nj, ni), false);
    let mut parts: Vec<(usize, bool)> = Vec::new();
    for ((k, j, i), &l) in a.indexed_iter() {
        if l != id || seen[(k, j, i)] {
            continue;
        }
        seen[(k, j, i)] = true;
        let (mut stack, mut size, mut touches) = (vec![(k, j, i)], 0usize, false);
        while let Some((k, j, i)) = stack.pop() {
            size += 1;
            for (dk, dj, di) in (-1i64..=1).flat_map(|a| (-1i64..=1).flat_map(move |b| (-1i64..=1).map(move |c| (a, b, c)))) {
                let (kk, jj, ii) = (k as i64 + dk, j as i64 + dj, i as i64 + di);
                if (dk, dj, di) == (0, 0, 0) || kk < 0 || jj < 0 || ii < 0 || kk >= nk as i64 || jj >= nj as i64 || ii >= ni as i64 {
                    continue;
                }
                let w = (kk as usize, jj as usize, ii as usize);
                let face = dk.abs() + dj.abs() + di.abs() == 1;
                if a[w] == id && !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                } else if face && a[w] != id && a[w] != 0 {
                    touches = true;
                }
            }
        }
        parts.push((size, touches));
    }
    let largest = parts.iter().map(|p| p.0).max().unwrap_or(0);
    let mut skipped = false;
    parts
        .iter()
        .filter(|p| {
            let main = p.0 == largest && !skipped;
            skipped |= main;
            !main && p.1
        })
        .map(|p| p.0)
        .sum()
}

#[test]
fn totalseg_example_ct_dice() -> Result<()> {
    let (Some(ct_path), Some(ref_path), Some(classes_path)) =
        (shared_data("totalseg/example_ct.nii.gz"), shared_data("totalseg/example_seg_fast_force_split.nii.gz"), shared_data("totalseg/labels_total_v2.json"))
    else {
        return Ok(());
    };
    let ct = coxa_io::nifti::read_volume(&ct_path)?;
    let source = labels::parse_totalseg_classes(&std::fs::read_to_string(&classes_path)?)?;
    let reference = labels::import_ct_label_map(coxa_io::nifti::read_label_map(&ref_path)?, &source, ct.grid())?;
    assert_eq!(reference.classes().name(HIP_LEFT), Some("hip_left"));
    assert_eq!(reference.classes().name(VERTEBRA_S1), Some("vertebrae_S1"), "unknown classes keep their name");

    let seg = segment_and_print(&ct)?;
    let d = dice_table(&seg.labels, &reference);

    // Femurs and hip bones: where the two disagree it is mostly the outer surface (one 3 mm
    // voxel of partial volume), the head-acetabulum line (within a voxel), and around the
    // screws of the left femur, where streaks brighten the muscle (coxa raises its threshold
    // there; TotalSegmentator keeps a smoother outline).
    for (v, name) in d.iter().zip(["femur_left", "femur_right", "hip_left", "hip_right"]) {
        assert!(*v >= 0.90, "Dice {name} = {v:.3} < 0.90");
    }
    // Sacrum: not at TotalSegmentator's level. This sacrum's cancellous bone is mostly below the
    // bone threshold (median 100 HU), so only its cortex and what the marrow fill closes is
    // found; TotalSegmentator labels the body of S1 apart (`vertebrae_S1`), while coxa cuts the
    // lumbar spine off near the top of the sacroiliac joints. A floor against regressions only.
    assert!(d[5] >= 0.45, "Dice sacrum (vs sacrum + S1) = {:.3} fell below its floor 0.45", d[5]);

    // Each bone is one piece (issue 60): no part of a bone cut off from its body inside another
    // bone. Before the islands were merged, 19 voxels of the right hip bone sat inside the
    // femoral neck at the CT's lowest slices (TotalSegmentator: femur) and stopped adduction at
    // 11.5 deg where TotalSegmentator's bones give 69.1.
    for id in [FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM] {
        let stray = islands_touching_another_bone(&seg.labels, id);
        assert_eq!(stray, 0, "{} has {stray} voxels in islands inside another bone", seg.labels.classes().name(id).unwrap_or("?"));
    }

    // Each femur holds its own head, left at +x.
    let [l, r] = &seg.femoral_heads;
    assert!(l.centre_lps_mm.x > r.centre_lps_mm.x);
    assert!(l.sphere_fitted && r.sphere_fitted);
    for h in [l, r] {
        assert!((18.0..30.0).contains(&h.radius_mm), "head radius {:.1} mm", h.radius_mm);
    }
    assert_eq!(seg.count(FEMUR_LEFT).map(|c| c.metal_voxels), Some(seg.metal_voxels), "the screws belong to the left femur");
    assert!(seg.warnings.iter().any(|w| w.contains("metal in the left proximal femur")), "{:?}", seg.warnings);
    // The uncertainty is smallest at the joints.
    let u = seg.boundary_distance_mm.as_ref().expect("asked for");
    assert_eq!(u.shape(), seg.labels.labels().shape());
    Ok(())
}

#[test]
fn mirrored_ct_swaps_sides() -> Result<()> {
    // The same CT mirrored left-right (the i axis runs along -x here): what was left is right.
    let Some(ct_path) = shared_data("totalseg/example_ct.nii.gz") else { return Ok(()) };
    let ct = coxa_io::nifti::read_volume(&ct_path)?;
    let seg = segment_bones(&ct, &SegmentOptions::new())?;
    let (grid, mut hu) = ct.into_parts();
    hu.invert_axis(ndarray::Axis(2));
    let mirrored = Volume::new(grid, hu.as_standard_layout().into_owned())?;
    let seg_m = segment_bones(&mirrored, &SegmentOptions::new())?;
    let (g, mut back, classes) = seg_m.labels.into_parts();
    back.invert_axis(ndarray::Axis(2));
    let swap = |l: u16| match l {
        FEMUR_LEFT => FEMUR_RIGHT,
        FEMUR_RIGHT => FEMUR_LEFT,
        HIP_LEFT => HIP_RIGHT,
        HIP_RIGHT => HIP_LEFT,
        other => other,
    };
    let back = LabelMap::new(g, back.mapv(swap), classes)?;
    for id in [FEMUR_LEFT, FEMUR_RIGHT, HIP_LEFT, HIP_RIGHT, SACRUM] {
        let d = dice(&seg.labels, id, &back, &[id]);
        eprintln!("mirror Dice {id}: {d:.3}");
        // Not exactly 1: the metal zone, ties in the flood and the fits are not mirror-exact.
        assert!(d >= 0.95, "label {id} changes under mirroring: Dice {d:.3}");
    }
    Ok(())
}

/// Timing (and Dice, if a reference is given) on any CT:
/// `COXA_SEGMENT_CT=ct.nii.gz [COXA_SEGMENT_REF=labels.nii.gz] cargo test --release -p coxa-tests
/// --test e2e segment_timing -- --ignored --nocapture`. The reference is taken to use
/// TotalSegmentator's ids. Speed goals live in benchmarks; this only prints.
#[test]
#[ignore = "needs COXA_SEGMENT_CT; run by hand in release"]
fn segment_timing() -> Result<()> {
    let Some(ct_path) = std::env::var_os("COXA_SEGMENT_CT").filter(|p| !p.is_empty()) else { return Ok(()) };
    let t0 = Instant::now();
    let ct = coxa_io::nifti::read_volume(Path::new(&ct_path))?;
    eprintln!("read: {:.2} s", t0.elapsed().as_secs_f64());
    let seg = segment_and_print(&ct)?;
    if let Some(ref_path) = std::env::var_os("COXA_SEGMENT_REF").filter(|p| !p.is_empty()) {
        let reference = coxa_io::nifti::read_label_map(Path::new(&ref_path))?;
        let _ = dice_table(&seg.labels, &reference);
    }
    Ok(())
}

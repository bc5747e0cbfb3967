//! Anatomy at 1 mm on 2 cores (issue 3's goal: < 20 s for segmentation + meshes + landmarks):
//! - `ct_1mm_segment_surfaces_landmarks`: the real CT resampled to 1 mm (trilinear, 366 x 303 x
//!   334 voxels), coxa's bone segmentation, the five bone surfaces and every landmark (femurs,
//!   acetabula, anterior pelvic plane);
//! - `labels_1mm_surfaces_landmarks`: the same from TotalSegmentator's labels (nearest
//!   neighbour to 1 mm), surfaces and landmarks only.
//! - `full_length_ct_anatomy_stage` (issue 42): the real CT resampled to 512 x 512 x 1000 voxels
//!   of 0.715 x 0.592 x 0.336 mm over the same box (trilinear, rounded to int16 as a scanner
//!   writes it; anatomy in every slice, as `benches/make_full_length_ct.py` makes it for
//!   `coxa plan --ct`), through `coxa plan`'s anatomy stage: the segmentation (on its working
//!   grid), the bone surfaces, every landmark and the femoral canals. The goal: < 30 s for the
//!   whole `coxa plan --ct` on 2 cores.
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::Vector3;

use coxa_anatomy::segment::{SegmentOptions, segment_bones};
use coxa_anatomy::{landmarks, surface};
use coxa_benches::{bench, shared_data};
use coxa_case::stages::anatomy::{AnatomyInput, LabelInput, run as anatomy_stage};
use coxa_core::{LabelMap, Side, Volume};

fn labels_1mm() -> Option<LabelMap> {
    let p = shared_data("totalseg/example_seg_fast_force_split.nii.gz");
    let map = coxa_io::nifti::read_label_map(&p).ok()?;
    map.resampled(Vector3::new(1.0, 1.0, 1.0)).ok()
}

fn ct_1mm() -> Option<Volume> {
    let p = shared_data("totalseg/example_ct.nii.gz");
    let ct = coxa_io::nifti::read_volume(&p).ok()?;
    ct.resampled(Vector3::new(1.0, 1.0, 1.0)).ok()
}

/// The real CT on the full-length grid (see the module docs).
fn full_length_ct() -> Option<Volume> {
    let p = shared_data("totalseg/example_ct.nii.gz");
    let ct = coxa_io::nifti::read_volume(&p).ok()?;
    let g = ct.grid();
    let (size, sp) = (g.size(), g.spacing_mm());
    let new = [512usize, 512, 1000];
    let spacing = Vector3::from_fn(|a, _| size[a] as f64 * sp[a] / new[a] as f64);
    // The same box: the outer faces of the first and last voxels stay.
    let origin = g.origin_lps_mm() + g.direction() * (spacing - sp) / 2.0;
    let grid = coxa_core::Grid::new(new, spacing, origin, g.direction()).ok()?;
    let hu = ct.hu();
    let at = |p: Vector3<f64>| -> f32 {
        let v = g.lps_to_voxel(&nalgebra::Point3::from(p));
        let c = |a: usize| -> (usize, usize, f32) {
            let x = v[a].clamp(0.0, (size[a] - 1) as f64);
            let lo = x.floor() as usize;
            (lo, (lo + 1).min(size[a] - 1), (x - lo as f64) as f32)
        };
        let ((i0, i1, fi), (j0, j1, fj), (k0, k1, fk)) = (c(0), c(1), c(2));
        let l = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let plane = |k: usize| l(l(hu[[k, j0, i0]], hu[[k, j0, i1]], fi), l(hu[[k, j1, i0]], hu[[k, j1, i1]], fi), fj);
        l(plane(k0), plane(k1), fk)
    };
    let voxels = ndarray::Array3::from_shape_fn((new[2], new[1], new[0]), |(k, j, i)| at(grid.voxel_to_lps(Vector3::new(i as f64, j as f64, k as f64)).coords).round() as i16);
    Volume::from_i16(grid, voxels).ok()
}

fn segment_meshes_and_landmarks(ct: &Volume) -> usize {
    // The CT is the 3 mm one interpolated: segmented at 1 mm, not on the 3 mm series' grid
    // recovered (the `source_grid` option), so that this measures a 1 mm segmentation.
    let seg = segment_bones(ct, &SegmentOptions::new().with_source_grid(false)).expect("segmentation");
    meshes_and_landmarks(&seg.labels)
}

fn meshes_and_landmarks(map: &LabelMap) -> usize {
    let ids = [25u16, 75, 76, 77, 78];
    let m: Vec<_> = surface::meshes_from_labels(map, &ids, &surface::SurfaceOptions::default()).into_iter().map(|m| m.expect("mesh")).collect();
    let fl = landmarks::femur_landmarks(&m[1], Side::Left).expect("left femur");
    let fr = landmarks::femur_landmarks(&m[2], Side::Right).expect("right femur");
    let al = landmarks::acetabulum_landmarks(&m[3], Side::Left, Some((fl.head_centre.lps_mm, fl.head_radius_mm))).expect("left acetabulum");
    let ar = landmarks::acetabulum_landmarks(&m[4], Side::Right, Some((fr.head_centre.lps_mm, fr.head_radius_mm))).expect("right acetabulum");
    let p = landmarks::pelvis_landmarks(&m[3], &m[4], &al, &ar).expect("pelvis");
    m.iter().map(|x| x.triangles().len()).sum::<usize>() + p.acetabular_angles.len()
}

fn anatomy(c: &mut Criterion) {
    let Some(map) = labels_1mm() else {
        eprintln!("note: ../shared/data/totalseg missing, anatomy bench skipped");
        return;
    };
    eprintln!("label map at 1 mm: {:?} voxels", map.grid().size());
    let mut g = c.benchmark_group("anatomy");
    let _ = g.sample_size(10);
    let _ = g.bench_function(bench!("labels_1mm_surfaces_landmarks"), |b| b.iter(|| meshes_and_landmarks(std::hint::black_box(&map))));
    if let Some(ct) = ct_1mm() {
        eprintln!("CT at 1 mm: {:?} voxels", ct.grid().size());
        let _ = g.bench_function(bench!("ct_1mm_segment_surfaces_landmarks"), |b| b.iter(|| segment_meshes_and_landmarks(std::hint::black_box(&ct))));
    }
    g.finish();
    if let Some(ct) = full_length_ct() {
        eprintln!("full-length CT: {:?} voxels", ct.grid().size());
        let mut g = c.benchmark_group("anatomy_full_length");
        let _ = g.sample_size(10);
        let _ = g.bench_function(bench!("full_length_ct_anatomy_stage"), |b| {
            b.iter(|| {
                let input = AnatomyInput::Ct { volume: std::hint::black_box(&ct), n_files: 1, labels: LabelInput::Segment };
                anatomy_stage(input, Vec::new()).expect("the anatomy stage").bones.len()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, anatomy);
criterion_main!(benches);

//! Anatomy at 1 mm on 2 cores (issue 3's goal: < 20 s for segmentation + meshes + landmarks):
//! - `ct_1mm_segment_surfaces_landmarks`: the real CT resampled to 1 mm (trilinear, 366 x 303 x
//!   334 voxels), coxa's bone segmentation, the five bone surfaces and every landmark (femurs,
//!   acetabula, anterior pelvic plane);
//! - `labels_1mm_surfaces_landmarks`: the same from TotalSegmentator's labels (nearest
//!   neighbour to 1 mm), surfaces and landmarks only.
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::Vector3;

use coxa_anatomy::segment::{SegmentOptions, segment_bones};
use coxa_anatomy::{landmarks, surface};
use coxa_benches::{bench, shared_data};
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

fn segment_meshes_and_landmarks(ct: &Volume) -> usize {
    let seg = segment_bones(ct, &SegmentOptions::new()).expect("segmentation");
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
}

criterion_group!(benches, anatomy);
criterion_main!(benches);

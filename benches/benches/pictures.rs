//! The report's four pictures (issue 17: "the report's pictures in < 1 s in all on 2 cores").
//!
//! Setup runs the real CT (`../shared/data/totalseg/example_ct.nii.gz`) through the pipeline
//! once, headless, and reads back the case's bone surfaces, placed implants and plan; the
//! benchmark then draws the four 480 x 480 pictures from them, as the pipeline's picture stage
//! does (`coxa_case::render::report_pictures`, the views in parallel), and encodes the
//! PNG files. Before this renderer the pictures came from the bevy viewer on lavapipe: 12 s of a
//! 13.5 s release case on this CT (issue 17's measurement).
//!
//! Skipped without ../shared/data.
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};

use coxa_benches::{bench, find_shared_data};
use coxa_case::render::{PlanScene, png, report_pictures};
use coxa_case::scenario::Scenario;
use coxa_core::{CaseModel, Mesh, Side};
use criterion::{Criterion, criterion_group, criterion_main};

fn shared_ct() -> Option<PathBuf> {
    find_shared_data("totalseg/example_ct.nii.gz")
}

fn surfaces(dir: &Path) -> Vec<(String, Mesh)> {
    let mut out: Vec<(String, Mesh)> = std::fs::read_dir(dir)
        .expect("surfaces")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "stl"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), coxa_io::mesh::read_mesh(&p).expect("an STL the pipeline wrote")))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn pictures(c: &mut Criterion) {
    let Some(ct) = shared_ct() else {
        eprintln!("note: ../shared/data/totalseg/example_ct.nii.gz missing, pictures bench skipped");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("ct.toml");
    std::fs::write(&file, format!("schema_version = 1\n[[cases]]\nname = \"ct\"\nct = {:?}\n[report]\npictures = false\nsafe_zone_map = false\n", ct.display().to_string())).expect("scenario");
    let scn = Scenario::load(&file).expect("the scenario");
    let catalog = coxa_implants::Catalog::builtin().expect("catalog");
    let case = tmp.path().join("case");
    std::fs::create_dir_all(&case).expect("case dir");
    let _ = coxa_case::pipeline::run_case(&scn, &scn.cases[0], &catalog, &case, &|_: &str| {}).expect("the real CT plans");
    let bones: Vec<(coxa_core::Bone, Mesh)> = surfaces(&case.join("anatomy/meshes")).into_iter().map(|(n, m)| (coxa_core::Bone::from_name(&n).expect("a bone the pipeline wrote"), m)).collect();
    let implants: Vec<(&'static str, Mesh)> =
        surfaces(&case.join("implants")).into_iter().map(|(n, m)| (["shell", "liner", "head", "neck", "stem"].into_iter().find(|k| *k == n).expect("an implant part"), m)).collect();
    let model: CaseModel = coxa_core::provenance::from_stamped_str(&std::fs::read_to_string(case.join("model.json")).expect("model.json")).expect("the case's model.json");
    let scene =
        PlanScene { bones: &bones, implants: &implants, side: Side::Right, hip_centre_lps_mm: model.placement.cup_centre_lps_mm, head_on_femur_lps_mm: model.placement.head_centre_on_femur_lps_mm };
    let triangles: usize = bones.iter().map(|(_, m)| m.triangles().len()).chain(implants.iter().map(|(_, m)| m.triangles().len())).sum();
    eprintln!("real CT scene: {} bones, {} implant parts, {triangles} triangles", bones.len(), implants.len());
    let mut g = c.benchmark_group("pictures");
    let _ = g.sample_size(20);
    let _ = g.bench_function(bench!("report_four_views_480px_real_ct"), |b| {
        b.iter(|| {
            let pics = report_pictures(&scene, 480);
            pics.iter().map(|(_, p)| png(p).expect("PNG").len()).sum::<usize>()
        });
    });
    g.finish();
}

criterion_group!(benches, pictures);
criterion_main!(benches);

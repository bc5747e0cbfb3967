//! A virtual population (issue 14, part 6) through the pipeline without pictures: each iteration
//! draws one subject of a `cases_from_shape_model` scenario (atlas pelvis model + installed LLP26
//! femur), then runs anatomy (landmarks on the surfaces), the planner (sizes and angles against
//! the simulator), the range of motion and report.json/report.html — everything `coxa run` does
//! for the case but the pictures and the safe-zone map. The subjects cycle through a population
//! of 12, so every iteration plans a different hip. Cases per minute = 60 / the time per case
//! (the stages use both cores where they run in parallel).
//!
//! Needs ../shared/data/pelvis_atlas and musculoskeletal-models (scripts/setup); skipped without.
#![allow(missing_docs, reason = "criterion_group! generates undocumented functions")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use coxa_benches::{bench, find_shared_data};
use coxa_case::scenario::Scenario;

/// `shared/data/pelvis_atlas` beside the repository or further up (git worktrees).
fn atlas() -> Option<PathBuf> {
    find_shared_data("pelvis_atlas")
}

fn population(c: &mut Criterion) {
    let Some(atlas) = atlas() else {
        eprintln!("note: ../shared/data/pelvis_atlas missing, population bench skipped");
        return;
    };
    if coxa_case::shape_predict::installed_llp26(&[Path::new(env!("CARGO_MANIFEST_DIR"))]).is_none() {
        eprintln!("note: musculoskeletal-models (LLP26) not installed, population bench skipped");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("population.toml");
    let text = format!("schema_version = 1\n[cases_from_shape_model]\nn = 12\nseed = 1\npelvis_model = {:?}\n[report]\npictures = false\nsafe_zone_map = false\n", atlas.display().to_string());
    std::fs::write(&file, &text).expect("scenario");
    let scn = Scenario::load(&file).expect("the population scenario");
    let catalog = coxa_implants::Catalog::builtin().expect("catalog");
    let next = AtomicUsize::new(0);
    let quiet = |_: &str| {};
    let mut g = c.benchmark_group("population");
    let _ = g.sample_size(10);
    let _ = g.bench_function(bench!("case_plan_rom_report_no_pictures"), |b| {
        b.iter_batched(
            || {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let dir = tmp.path().join(format!("run-{i}"));
                std::fs::create_dir_all(&dir).expect("case dir");
                (i % scn.cases.len(), dir)
            },
            |(i, dir)| coxa_case::pipeline::run_case(&scn, &scn.cases[i], &catalog, &dir, &quiet).expect("the case runs"),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, population);
criterion_main!(benches);
